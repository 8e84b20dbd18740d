"""The speech constraint (emodirector.fit.speech) on synthetic tracks: each clause holds for an
edit made to keep it, and each clause's check fails when that clause is violated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from emodirector.face_model import (
    CHIN,
    LIPS_INNER_UPPER,
    LIPS_OUTER_UPPER,
    N_LANDMARKS,
    SUBNASALE,
    load_face_model,
)
from emodirector.fit.speech import (
    AMPLITUDE_BAND,
    ARCH_OPENING,
    BOW_CLOSED,
    BOW_PER_GAP,
    CLOSED_APERTURE,
    INNER_PAIRS,
    KEEP_AREA,
    KEEP_GAP,
    LEAST_WIDTH,
    MIN_TIMING_R,
    OPEN_APERTURE,
    PARTING_APERTURE,
    closure_gate,
    keep_speech,
    lip_aperture,
    lip_gaps,
    lip_thickness,
    mouth_split,
    mouth_width,
    plan_speech,
    speech_check,
)

#: Linear-algebra tolerance (canonical units; float32 fields).
_TOL = 1e-5
#: Inner and outer edge of a lip move alike within this share of a pair's parting (their
#: columns differ by a few thousandths).
_WHOLE_LIP_TOL = 1e-3
#: Frames of the synthetic track (25 fps: 6 s of speech).
_T = 150
#: An amplitude factor inside the band, and the slack of its measured slope.
_SCALE = 1.25
_SLOPE_TOL = 0.02
#: Lip separation of the synthetic emotion (canonical units; MEAD's prototypes: 0.03-0.13).
_RAISE = 0.06


def _track() -> np.ndarray:
    """``(T, 478, 3)`` the template speaking: the inner lower lip (and the lower face with it)
    opens and closes, with closures (m, b, p) held for a few frames between syllables."""
    template = load_face_model().template.astype(np.float64)
    closed = template.copy()
    for up, lo in INNER_PAIRS:
        closed[lo, 1] = closed[up, 1]
    t = np.arange(_T)
    aperture = np.clip(0.3 * np.sin(2 * np.pi * t / 20.0) + 0.1 * np.sin(t / 7.0), 0.0, None)
    opening = mouth_split().opening.astype(np.float64)
    return closed[None] + aperture[:, None, None] * opening[None]


def _emotion() -> np.ndarray:
    """``(478, 3)`` a smile that raises the whole upper lip (parting the lips by ``_RAISE``) and
    widens the mouth."""
    template = load_face_model().template.astype(np.float64)
    field = np.zeros((N_LANDMARKS, 3))
    upper = [up for up, _ in INNER_PAIRS] + list(LIPS_OUTER_UPPER[1:-1])
    field[upper, 1] = -_RAISE
    field[:, 0] = 0.1 * template[:, 0] * (template[:, 1] > template[1, 1])
    return field


@pytest.fixture(scope="module")
def track() -> np.ndarray:
    return _track()


def test_split_fields_part_one_pair_each() -> None:
    split = mouth_split()
    np.testing.assert_allclose(lip_gaps(split.separation), np.eye(len(INNER_PAIRS)), atol=_TOL)
    assert float(lip_aperture(split.opening)) == pytest.approx(1.0, abs=_TOL)
    # a lip moves as a whole: parting the central pair moves the inner and outer edge of each
    # lip alike (gating a separation neither thickens nor thins the lips), not the nose or chin
    centre = split.separation[len(INNER_PAIRS) // 2, :, 1]
    assert centre[13] == pytest.approx(centre[0], abs=_WHOLE_LIP_TOL)  # upper: inner, outer
    assert centre[14] == pytest.approx(centre[17], abs=_WHOLE_LIP_TOL)  # lower lip
    assert centre[14] - centre[13] == pytest.approx(1.0, abs=_TOL)
    assert abs(centre[2]) < _TOL and abs(centre[CHIN]) < _TOL
    # the jaw opens downwards: the upper lip stays, the chin goes down with the lower lip
    assert np.abs(split.opening[[up for up, _ in INNER_PAIRS]]).max() < _TOL
    assert split.opening[CHIN, 1] > 0.5


def test_free_part_leaves_every_inner_gap() -> None:
    offsets = np.random.default_rng(0).normal(scale=0.05, size=(3, N_LANDMARKS, 3))
    split = mouth_split()
    np.testing.assert_allclose(lip_gaps(split.free_part(offsets)), 0.0, atol=_TOL)
    np.testing.assert_allclose(
        split.free_part(offsets) + split.separation_part(offsets), offsets, atol=1e-12
    )


def test_closure_gate_is_zero_closed_one_open_and_monotone() -> None:
    a = np.linspace(0.0, 0.2, 201)
    g = closure_gate(a)
    assert (g[a <= CLOSED_APERTURE] == 0).all() and (g[a >= OPEN_APERTURE] == 1).all()
    assert (np.diff(g) >= 0).all()


def test_kept_edit_meets_every_clause(track: np.ndarray) -> None:
    offsets = np.repeat(_emotion()[None], _T, axis=0)
    out = track + keep_speech(track, offsets, _SCALE)
    check = speech_check(track, out)
    assert check.n_closed > 10 and check.n_open > 10  # the track has both
    assert check.passed
    assert float(check.timing_r.min()) >= MIN_TIMING_R
    assert check.closures_kept == 1.0 and check.wrongly_closed == 0
    assert check.amplitude == pytest.approx(_SCALE, abs=_SLOPE_TOL)
    # the rest of the edit (the widening) is applied as it is
    np.testing.assert_allclose(out[:, :, 0] - track[:, :, 0], offsets[:, :, 0], atol=_TOL)
    # and the lips part by the smile's raise wherever the mouth is clearly open
    wide = lip_aperture(track) >= PARTING_APERTURE[1]
    raised = lip_aperture(out)[wide] - _SCALE * lip_aperture(track)[wide]
    np.testing.assert_allclose(raised, _RAISE, atol=_TOL)


def test_raw_edit_fails_closures(track: np.ndarray) -> None:
    offsets = np.repeat(_emotion()[None], _T, axis=0)
    check = speech_check(track, track + offsets)
    assert check.closures_kept == 0.0
    assert not check.closures_ok and not check.passed


def test_press_that_closes_open_lips_fails_and_is_limited(track: np.ndarray) -> None:
    press = -0.3 * mouth_split().separation.sum(axis=0)
    offsets = np.repeat(press[None], _T, axis=0)
    raw = speech_check(track, track + offsets)
    assert raw.wrongly_closed > 0 and not raw.closures_ok
    kept = track + keep_speech(track, offsets)
    assert speech_check(track, kept).passed
    own, out = lip_gaps(track), lip_gaps(kept)
    assert (out >= KEEP_GAP * own - _TOL).all()


def test_timing_fails_when_the_track_is_shuffled(track: np.ndarray) -> None:
    order = np.random.default_rng(1).permutation(_T)
    check = speech_check(track, track[order])
    assert float(check.timing_r[0]) < MIN_TIMING_R
    assert not check.timing_ok and not check.passed


@pytest.mark.parametrize("factor", [AMPLITUDE_BAND[0] - 0.2, AMPLITUDE_BAND[1] + 0.3])
def test_amplitude_fails_outside_the_band(track: np.ndarray, factor: float) -> None:
    scaled = track + (factor - 1.0) * lip_aperture(track)[:, None, None] * mouth_split().opening
    check = speech_check(track, scaled)
    assert check.amplitude == pytest.approx(factor, abs=_SLOPE_TOL)
    assert check.timing_ok and check.closures_ok
    assert not check.amplitude_ok and not check.passed


def test_plan_keeps_the_scale_in_the_band(track: np.ndarray) -> None:
    gaps = lip_gaps(track)
    plan = plan_speech(gaps, np.zeros_like(gaps), np.linspace(0.0, 3.0, _T))
    assert plan.scale.min() == pytest.approx(AMPLITUDE_BAND[0])
    assert plan.scale.max() == pytest.approx(AMPLITUDE_BAND[1])
    closed = lip_aperture(track) < CLOSED_APERTURE
    assert (plan.opening[closed] == 0).all() and (plan.separation[closed] == 0).all()


def test_segments_are_checked_apart(track: np.ndarray) -> None:
    out = track.copy()
    out[_T // 2 :] = track[_T // 2 :][::-1]  # the second segment's timing is lost
    segment = (np.arange(_T) >= _T // 2).astype(int)
    check = speech_check(track, out, segment)
    assert check.timing_r.shape == (2,)
    assert check.timing_r[0] == pytest.approx(1.0) and check.timing_r[1] < MIN_TIMING_R


def test_thickening_is_gated_on_closed_lips_and_thinning_is_left_out(track: np.ndarray) -> None:
    """Outer lip edges moved apart (what MediaPipe shows of lips parted over the teeth) thicken
    closed lips only as far as the closure gate lets them; a thinning is not applied (dlib, and
    the eye, read a thinner lip as a narrower opening)."""
    split = mouth_split()
    n = len(INNER_PAIRS)
    thicken = split.thickening[:n].sum(axis=0) * 0.05  # every upper lip column 0.05 thicker
    thin = -split.thickening[n:].sum(axis=0) * 0.03  # every lower lip column 0.03 thinner
    offsets = np.repeat((thicken + thin)[None], _T, axis=0)
    out = keep_speech(track, offsets)
    thickness = lip_thickness(out)
    closed = lip_aperture(track) < CLOSED_APERTURE
    wide = lip_aperture(track) >= PARTING_APERTURE[1]
    np.testing.assert_allclose(thickness[closed][:, :n], 0.0, atol=_TOL)
    np.testing.assert_allclose(thickness[wide][:, :n], 0.05, atol=_TOL)
    np.testing.assert_allclose(thickness[:, n:], 0.0, atol=_TOL)
    np.testing.assert_allclose(lip_gaps(out), 0.0, atol=_TOL)


#: Share of an upper lip's held-back raise that the skin between the nose and that lip may still
#: lag behind it on closed lips (all of it, 1.0, before the skin was carried with the lip; 0.6
#: measured).
_SKIN_LAG_MAX = 0.7
#: The nose's lowest point (subnasale): the skin carried with the lips ends there.
_SUBNASALE = 2


def test_a_held_back_parting_takes_the_skin_above_the_lip_with_it(track: np.ndarray) -> None:
    """An upper lip raised with the skin above it (anger's, disgust's raise) is held down on
    closed lips; the skin between the nose and the lip comes down with it instead of being
    stretched over the closed lip (which dlib reads as parted lips). The nose stays free."""
    template = load_face_model().template.astype(np.float64)
    x, y = template[:, 0], template[:, 1]
    skin = (y > y[_SUBNASALE]) & (y < y[LIPS_OUTER_UPPER[5]]) & (np.abs(x) < 0.5)
    raise_ = np.zeros((N_LANDMARKS, 3))
    upper = [up for up, _ in INNER_PAIRS] + list(LIPS_OUTER_UPPER[1:-1])
    raise_[np.flatnonzero(skin), 1] = -_RAISE
    raise_[upper, 1] = -_RAISE
    raise_[_SUBNASALE, 1] = -_RAISE
    out = keep_speech(track, np.repeat(raise_[None], _T, axis=0))
    closed = lip_aperture(track) < CLOSED_APERTURE
    lip = out[closed][:, [LIPS_OUTER_UPPER[5]], 1]
    held_back = np.abs(lip + _RAISE).mean()  # what the gate took from the lip
    assert held_back == pytest.approx(_RAISE / 2, rel=0.1)  # the lips meet halfway
    lag = np.abs(out[closed][:, skin, 1] - lip).mean()
    assert lag < _SKIN_LAG_MAX * held_back
    np.testing.assert_allclose(out[:, _SUBNASALE, 1], -_RAISE, atol=_TOL)


def test_a_held_back_depression_is_taken_from_the_lower_lip(track: np.ndarray) -> None:
    """A lower lip depressed under an upper lip that moves down less (disgust's, on GRID's
    man: 0.25 and 0.05) comes back to the upper lip on closed lips; the two meeting halfway
    pulled the closed mouth down by half the depression, which dlib read as parted lips (0.45
    of his closures kept, mesh warp; 1.0 taken from the lower lip)."""
    split = mouth_split()
    upper = split.upper_separation.sum(axis=0) * -_DOWN_UPPER  # the upper lip down
    lower = split.lower_separation.sum(axis=0) * _DOWN_LOWER  # the lower lip down, more
    out = keep_speech(track, np.repeat((upper + lower)[None], _T, axis=0))
    closed = lip_aperture(track) < CLOSED_APERTURE
    up, lo = (list(i) for i in zip(*INNER_PAIRS, strict=True))
    np.testing.assert_allclose(lip_gaps(out[closed]), 0.0, atol=_TOL)
    np.testing.assert_allclose(out[closed][:, up + lo, 1], _DOWN_UPPER, atol=_TOL)


#: The downward moves of the upper and the lower lip in the test above (canonical units).
_DOWN_UPPER, _DOWN_LOWER = 0.05, 0.25


def _bow_field(sign: float) -> np.ndarray:
    """``(478, 3)`` both lips and the skin around them moved by ``sign * _RAISE`` at the mouth's
    centre, tapering to nothing at the corners: an arch (sign -1, sadness's frown) or a bowl."""
    template = load_face_model().template.astype(np.float64)
    split = mouth_split()
    corners = template[[LIPS_INNER_UPPER[0], LIPS_INNER_UPPER[-1]], 0]
    u = (template[:, 0] - corners.mean()) / (np.ptp(corners) / 2)
    field = np.zeros((N_LANDMARKS, 3))
    field[:, 1] = sign * _RAISE * np.clip(1.0 - u**2, 0.0, None) * split.stretch_reach
    return field


def _kept_with_and_without_bow_limit(
    track: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``offsets`` made to keep the speech, with the plan's bow limit and without it (neither
    opening the lips by the arch, ``test_an_arch_opens_parted_lips_within_the_band``)."""
    plan = plan_speech(lip_gaps(track), lip_gaps(offsets), 1.0, lip_thickness(offsets))
    plan = dataclasses.replace(plan, arch_room=None)
    free = dataclasses.replace(plan, bow_limit=None)
    return plan.apply(offsets, slice(None)), free.apply(offsets, slice(None))


def test_an_arch_is_held_to_the_gap_and_keeps_every_gap(track: np.ndarray) -> None:
    """An arch of the mouth line larger than ``BOW_PER_GAP`` of the lips' gap (``BOW_CLOSED``
    on closed lips) is straightened to it (the slit of barely parted lips stays open, as dlib
    reads it); the gaps stay."""
    split = mouth_split()
    arch = np.repeat(_bow_field(-1.0)[None], _T, axis=0)
    out, free = _kept_with_and_without_bow_limit(track, arch)
    own = np.clip(lip_aperture(track), 0.0, None)
    limit = BOW_PER_GAP * own + BOW_CLOSED * (1.0 - closure_gate(own))
    raw = np.clip(-split.bow(free), 0.0, None).max(axis=-1)
    held = np.clip(-split.bow(out), 0.0, None).max(axis=-1)
    assert (raw > limit + 0.01).any() and (raw < limit).any()
    np.testing.assert_allclose(held, np.minimum(raw, limit), atol=_TOL)
    np.testing.assert_allclose(lip_gaps(out), lip_gaps(free), atol=_TOL)


def test_a_bowl_is_left_as_it_is(track: np.ndarray) -> None:
    bowl = np.repeat(_bow_field(1.0)[None], _T, axis=0)
    out, free = _kept_with_and_without_bow_limit(track, bowl)
    assert mouth_split().bow(free).max() > 0.5 * _RAISE
    np.testing.assert_allclose(out, free, atol=_TOL)


#: The synthetic arch itself changes the lips' gap by a few thousandths of the aperture.
_ARCH_GAP_TOL = 0.005
#: Room left to an edit that parts the lips: the parting gate rises later than the closure
#: gate, so lips just apart keep a few 1e-4 (canonical units).
_NO_ROOM_TOL = 1e-3


def test_an_arch_opens_parted_lips_within_the_band(track: np.ndarray) -> None:
    """What is left of the lower lip's arch after the mouth line's limit opens parted lips by
    ``ARCH_OPENING`` of it
    (the jaw's opening, the lower lip down), up to the top of the amplitude band; closed lips
    get nothing, and the timing holds (sadness's frown hid the slit of GRID's talkers' barely
    parted lips: tests/manipulate/test_editor_lips.py)."""
    split = mouth_split()
    arch = np.repeat(_bow_field(-1.0)[None], _T, axis=0)
    plan = plan_speech(lip_gaps(track), lip_gaps(arch), 1.0, lip_thickness(arch))
    out = plan.apply(arch, slice(None))
    without = dataclasses.replace(plan, arch_room=None).apply(arch, slice(None))
    own = lip_aperture(track)
    added = lip_aperture(track + out) - lip_aperture(track + without)
    left = np.clip(-split.lower_bow(without), 0.0, None).max(axis=-1)
    room = (AMPLITUDE_BAND[1] - 1.0) * closure_gate(own) * np.clip(own, 0.0, None)
    room = np.clip(room - np.clip(plan.separation.mean(axis=1), 0.0, None), 0.0, None)
    np.testing.assert_allclose(added, np.minimum(ARCH_OPENING * left, room), atol=_TOL)
    closed, parted = own < CLOSED_APERTURE, own >= OPEN_APERTURE
    assert np.abs(added[closed]).max() < _TOL
    assert (added[parted] > 0.0).all()
    ratio = lip_aperture(track + out)[parted] / own[parted]
    assert ratio.max() <= AMPLITUDE_BAND[1] + _ARCH_GAP_TOL
    assert speech_check(track, track + out).passed
    # an edit that parts the lips up to the band's top already (anger's) gets no more
    parted_arch = arch + 0.5 * split.separation.sum(axis=0)[None]
    plan = plan_speech(lip_gaps(track), lip_gaps(parted_arch), 1.0, lip_thickness(parted_arch))
    assert plan.arch_room.max() < _NO_ROOM_TOL


#: The jaw opening's profile moves the lower lip's columns a little apart from the corners'
#: line: the mean gap it adds lands within this share of the asked one.
_AREA_RTOL = 1e-3


def _narrowing(share: float) -> np.ndarray:
    """``(478, 3)`` the lower face drawn in towards the mouth's centre line, the inner mouth
    narrowed to ``1 - share`` of its width (surprise rounds it to 0.72-0.73)."""
    template = load_face_model().template.astype(np.float64)
    field = np.zeros((N_LANDMARKS, 3))
    centre = (template[LIPS_INNER_UPPER[0], 0] + template[LIPS_INNER_UPPER[-1], 0]) / 2
    below = template[:, 1] > template[SUBNASALE, 1]
    field[below, 0] = -share * (template[below, 0] - centre)
    return field


@pytest.mark.parametrize("share", [0.2, 0.4])
def test_a_narrowed_mouth_keeps_its_opening_area_within_the_band(
    track: np.ndarray, share: float
) -> None:
    """Where an edit narrows the mouth, parted lips open by as much more (``KEEP_AREA``: width
    times gap kept), within the amplitude band, and the mouth narrows no further than the band
    can open for (``LEAST_WIDTH``); closed lips stay closed and the timing holds (surprise's
    rounding thinned GRID's talkers' slits until dlib read them shut: 0.20-0.25 of their open
    frames)."""
    offsets = np.repeat(_narrowing(share)[None], _T, axis=0)
    out = track + keep_speech(track, offsets)
    own, edited = lip_aperture(track), lip_aperture(out)
    narrowed = mouth_width(out) / mouth_width(track)
    width = max(1.0 - share, LEAST_WIDTH)
    np.testing.assert_allclose(narrowed, width, atol=_TOL)
    parted = own >= OPEN_APERTURE
    grow = min(1.0 + KEEP_AREA * (1.0 / width - 1.0), AMPLITUDE_BAND[1])
    np.testing.assert_allclose(edited[parted] / own[parted], grow, rtol=_AREA_RTOL)
    closed = own < CLOSED_APERTURE
    np.testing.assert_allclose(edited[closed], own[closed], atol=_TOL)
    check = speech_check(track, out)
    assert check.passed and check.closures_kept == 1.0 and check.wrongly_closed == 0
    # without the input's width the plan keeps no area: the narrowed mouth's gap stays
    plan = plan_speech(lip_gaps(track), lip_gaps(offsets), 1.0, lip_thickness(offsets))
    kept = lip_aperture(track + plan.apply(offsets, slice(None)))
    np.testing.assert_allclose(kept, own, atol=_TOL)
