"""Rebuild ``src/emodirector/data/action_units.npz`` from the packaged emotion prototypes.

Each FACS action unit is the part of one measured prototype where that unit moves the skin
(``emodirector.calibrate.action_units``); the build checks each moves its landmarks in the FACS
direction.

Usage:
    python scripts/build_action_units.py
"""

from __future__ import annotations

from pathlib import Path

from emodirector.calibrate.action_units import build_action_units

OUT = Path(__file__).resolve().parents[1] / "src" / "emodirector" / "data" / "action_units.npz"


def main() -> None:
    build_action_units().save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
