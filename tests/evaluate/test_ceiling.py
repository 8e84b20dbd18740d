"""The speech-keeping ceiling (emodirector.calibrate.ceiling): acted takes, mouth put back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.calibrate.ceiling import lower_face_mask, speech_kept_reading, with_mouth_of
from emodirector.face_model import CHIN, LIP_CORNERS, load_face_model

SIZE = (400, 400)
#: Levels of the two synthetic frames.
UPPER, LOWER = 60, 200
#: Pixels of the soft edge allowed between "fully one frame" and "fully the other".
EDGE_TOLERANCE = 2


def _face(scale: float = 100.0, shift: tuple[float, float] = (200.0, 200.0)) -> np.ndarray:
    """``(478, 2)`` the canonical face as pixels."""
    return load_face_model().template[:, :2].astype(np.float64) * scale + np.asarray(shift)


def _at(image: np.ndarray, point: np.ndarray) -> int:
    return int(image[int(round(point[1])), int(round(point[0]))])


def test_mask_covers_mouth_and_chin_not_eyes_or_background() -> None:
    lm = _face()
    mask = lower_face_mask(SIZE, lm)
    assert mask.shape == SIZE and mask.dtype == np.float32
    for i in (*LIP_CORNERS, 13, 14):
        assert mask[int(lm[i, 1]), int(lm[i, 0])] > 0.95
    for i in (33, 263, 168, 10):  # eye corners, bridge, forehead
        assert mask[int(lm[i, 1]), int(lm[i, 0])] < 0.05
    assert mask[5, 5] == 0.0 and mask[-5, 200] < 0.05  # background, below the chin


def test_mask_follows_a_tilted_head() -> None:
    lm = _face()
    angle = np.deg2rad(30)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    tilted = (lm - 200.0) @ rot.T + 200.0
    mask = lower_face_mask(SIZE, tilted)
    for i in (*LIP_CORNERS, CHIN):
        p = tilted[i] + (tilted[168] - tilted[i]) * 0.12  # inside the face, past the soft edge
        assert mask[int(p[1]), int(p[0])] > 0.9, i
    for i in (33, 263):
        assert mask[int(tilted[i, 1]), int(tilted[i, 0])] < 0.05


def test_pasted_mouth_comes_from_the_donor_aligned_on_the_face() -> None:
    lm = _face()
    image = np.full(SIZE, UPPER, np.uint8)
    # the donor's face sits elsewhere and smaller; its lower face carries a pattern
    donor_lm = _face(scale=80.0, shift=(180.0, 230.0))
    donor = np.full(SIZE, LOWER, np.uint8)
    corner = donor_lm[LIP_CORNERS[0]]
    donor[int(corner[1]) - 3 : int(corner[1]) + 4, int(corner[0]) - 3 : int(corner[0]) + 4] = 0
    out = with_mouth_of(image, lm, donor, donor_lm)
    assert out.shape == image.shape and out.dtype == np.uint8
    # the donor's dark mark lands on this face's mouth corner, not where it was in the donor
    assert _at(out, lm[LIP_CORNERS[0]]) < LOWER // 2
    assert _at(out, lm[LIP_CORNERS[1]]) >= LOWER - EDGE_TOLERANCE
    for i in (33, 263, 10):
        assert abs(_at(out, lm[i]) - UPPER) <= EDGE_TOLERANCE
    assert out[5, 5] == UPPER
    colour = with_mouth_of(np.dstack([image] * 3), lm, np.dstack([donor] * 3), donor_lm)
    np.testing.assert_array_equal(colour[..., 0], out)


def test_a_frame_given_its_own_mouth_is_unchanged() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, SIZE, dtype=np.uint8)
    lm = _face()
    out = with_mouth_of(image, lm, image, lm)
    assert np.abs(out.astype(int) - image.astype(int)).max() <= 1


def test_smile_lives_in_the_mouth_on_mead(mead_dir: Path) -> None:
    """W009's acted happiness reads from her mouth: with her neutral mouth it almost vanishes."""
    r = speech_kept_reading(
        mead_dir / "W009_front_happy_level3_001.mp4",
        mead_dir / "W009_front_neutral_level1_001.mp4",
        "happy",
        step=12,
    )
    assert r.frames >= 5
    # measured: acted 0.67, kept 0.07, mouth only 0.75
    assert r.acted > 0.4
    assert r.mouth_only - r.speech_kept > 0.3


def test_unknown_emotion_is_refused(mead_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown emotion"):
        speech_kept_reading(mead_dir / "x.mp4", mead_dir / "y.mp4", "bored")
