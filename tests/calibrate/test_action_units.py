"""Building the action units (emodirector.calibrate.action_units) from the prototypes."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.calibrate.action_units import (
    ALTERNATES,
    PRESS_GAP,
    SOURCES,
    build_action_units,
    cut_unit,
)
from emodirector.fit.speech import lip_aperture
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


#: The lip corners (MediaPipe) whose vertical motion AU15 is checked on.
_CORNERS = [61, 291]


@pytest.mark.slow
def test_a_unit_its_source_moves_the_wrong_way_is_cut_from_its_alternate() -> None:
    """The packaged sad lifts its lip corners a little (MEAD's actors disagree on them): AU15
    is then cut from its alternate source, and lowers the corners as FACS has it."""
    prototypes = EmotionPrototypes.load_default()
    sad = prototypes.plain_offsets[prototypes.index(SOURCES["AU15"][0])]
    assert float(sad[_CORNERS, 1].mean()) < 0.0  # y down: sad lifts them
    alternate = prototypes.plain_offsets[prototypes.index(ALTERNATES["AU15"])]
    assert float(alternate[_CORNERS, 1].mean()) > 0.0
    units = build_action_units(prototypes, progress=lambda line: None)
    au15 = units.offsets[units.codes.index("AU15")]
    assert float(au15[_CORNERS, 1].mean()) > 0.01


def test_lip_pressor_is_the_press_itself() -> None:
    units = ActionUnits.load_default()
    au24 = units.offsets[units.codes.index("AU24")].astype(np.float64)
    assert float(lip_aperture(au24)) == pytest.approx(-PRESS_GAP, abs=_REBUILD_TOL)
