"""Evaluation: measurements that check an edit kept what it must keep.

``lips`` measures whether the lip motion of speech survived an edit.
"""

from emodirector.evaluate.lips import (
    LipSyncReport,
    compare_apertures,
    compare_lips,
    lip_aperture,
    lip_correlation,
    track_lip_aperture,
)

__all__ = [
    "LipSyncReport",
    "compare_apertures",
    "compare_lips",
    "lip_aperture",
    "lip_correlation",
    "track_lip_aperture",
]
