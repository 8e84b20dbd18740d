"""The learned editor (NED's emotion manipulator): torch is imported only by its modules.

- ``params``: the expression basis the model works on (NumPy only).
- ``model``: the networks; ``training``: their losses and steps; ``checkpoint``: the file.
- ``editor``: ``LearnedEditor``, chosen with ``edit --editor learned``.

Importing this package imports nothing heavy; its modules but ``params`` need torch.
"""
