"""Building the action units (emodirector.calibrate.action_units) from the prototypes."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.calibrate.action_units import SOURCES, build_action_units, cut_unit
from emodirector.manipulate.action_units import ACTION_UNIT_DETAIL, ActionUnits
from emodirector.manipulate.prototypes import EmotionPrototypes

#: Rebuilding from the packaged prototypes reproduces the packaged units this closely
#: (canonical units; float32 rounding of a differently ordered sum).
_REBUILD_TOL = 1e-6


def test_a_units_detail_comes_from_the_emotion_its_geometry_is_cut_from() -> None:
    assert set(ACTION_UNIT_DETAIL) <= set(SOURCES)
    for code, (emotion, _) in ACTION_UNIT_DETAIL.items():
        assert SOURCES[code][0] is emotion, code


@pytest.mark.slow
def test_rebuild_matches_the_packaged_units() -> None:
    packaged = ActionUnits.load_default()
    built = build_action_units(progress=lambda line: None)
    assert built.codes == packaged.codes
    np.testing.assert_allclose(built.offsets, packaged.offsets, atol=_REBUILD_TOL)
    np.testing.assert_allclose(built.speech_share, packaged.speech_share, atol=_REBUILD_TOL)


def test_one_unit_is_cut_as_the_whole_set_cuts_it() -> None:
    # benchmarks/complement.py adds one unit cut from held-out prototypes: it must be the unit
    # build_action_units would make from them (AU05 has no speech split to differ by)
    prototypes = EmotionPrototypes.load_default()
    packaged = ActionUnits.load_default()
    field = cut_unit(prototypes, "AU05")
    np.testing.assert_allclose(
        field, packaged.offsets[packaged.codes.index("AU05")], atol=_REBUILD_TOL
    )
    assert float(np.abs(field).max()) > 0.01  # the upper lids move
