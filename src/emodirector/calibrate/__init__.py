"""Calibration: building the data files the stages read, from labelled footage.

It may use the whole pipeline (it edits held-out actors to measure strength) and the measuring
package; no stage imports it.

- ``prototypes``: the emotion prototypes (``prototypes.npz``) from MEAD clips.
- ``detail``: the expression detail (ratio images, ``expression_detail.npz``).
- ``action_units``: FACS action units cut from the prototypes (``action_units.npz``;
  ``scripts/build_action_units.py``).
- ``combine``: which emotions' actors are averaged rather than median-combined, read on the
  actors' own neutral takes.
- ``contrast``: each prototype made discriminative against the emotion it is read as, chosen
  on held-out actors.
- ``complement``: a FACS unit a prototype lacks (cut from another emotion's), added where
  held-out actors read the emotion better with it.
- ``strength``: each emotion's strength at intensity 1, measured on held-out actors.
- ``ceiling``: how far an edit that keeps the speech mouth can go (acted takes with their
  neutral mouth pasted back), for the benchmarks.
- ``run``: ``emodirector calibrate``, all of the above into files ``edit --prototypes
  --detail`` uses.
"""
