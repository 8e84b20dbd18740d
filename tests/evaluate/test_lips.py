"""Lip-sync measurement (emodirector.evaluate.lips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector import Emotion, EmotionTarget, VideoAnalysis, edit_video
from emodirector.evaluate import compare_apertures, lip_aperture, lip_correlation
from emodirector.evaluate.lips import compare_lips, track_lip_aperture
from emodirector.face_model import LIPS_INNER_LOWER, N_LANDMARKS, load_face_model
from emodirector.pipeline import EditOptions
from emodirector.provenance.options import ProvenanceOptions

#: Aperture of the same clip tracked twice must agree this closely (MediaPipe is deterministic).
_RETRACK_CORR_MIN = 0.999


def _faces(openings: list[float]) -> np.ndarray:
    """``(T, 478, 3)`` template faces whose inner lower lip is lowered by each opening."""
    tpl = load_face_model().template.astype(np.float64) * 50.0
    lm = np.repeat(tpl[None], len(openings), axis=0)
    lm[:, list(LIPS_INNER_LOWER[1:-1]), 1] += np.asarray(openings)[:, None]
    return lm


def test_aperture_grows_with_mouth_opening() -> None:
    a = lip_aperture(_faces([0.0, 2.0, 4.0, 8.0]))
    assert (np.diff(a) > 0).all()


def test_aperture_does_not_depend_on_face_size() -> None:
    lm = _faces([0.0, 3.0, 6.0])
    np.testing.assert_allclose(lip_aperture(lm * 2.5), lip_aperture(lm), rtol=1e-9)


def test_aperture_nan_without_face() -> None:
    lm = _faces([1.0, 2.0])
    lm[1] = np.nan
    a = lip_aperture(lm)
    assert np.isfinite(a[0]) and np.isnan(a[1])


def test_aperture_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="478"):
        lip_aperture(np.zeros((2, N_LANDMARKS, 2)))


def test_correlation_of_scaled_series_is_one() -> None:
    a = np.array([0.01, 0.05, 0.02, 0.08, 0.03])
    assert lip_correlation(a, 2 * a + 0.1) == pytest.approx(1.0)


def test_correlation_skips_unknown_frames() -> None:
    a = np.array([0.01, np.nan, 0.02, 0.08, 0.03])
    b = np.array([0.01, 0.9, 0.02, 0.08, np.nan])
    assert lip_correlation(a, b) == pytest.approx(1.0)


def test_correlation_of_constant_series_is_nan() -> None:
    assert np.isnan(lip_correlation(np.ones(5), np.arange(5.0)))


def test_correlation_needs_three_common_frames() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        lip_correlation(np.array([1.0, 2.0, np.nan]), np.array([1.0, 2.0, 3.0]))


def test_correlation_needs_equal_lengths() -> None:
    with pytest.raises(ValueError, match="equal length"):
        lip_correlation(np.zeros(4), np.zeros(5))


def test_compare_apertures_report() -> None:
    a = np.array([0.01, 0.05, 0.02, 0.08])
    report = compare_apertures(a, a + 0.01)
    assert report.frames == 4
    assert report.correlation == pytest.approx(1.0)
    assert report.mean_abs_difference == pytest.approx(0.01)


def test_track_lip_aperture_of_real_clip(grid_clip: Path, grid_analysis: VideoAnalysis) -> None:
    retracked = track_lip_aperture(grid_clip)
    assert retracked.shape == (75,)
    assert np.isfinite(retracked).all()
    assert np.ptp(retracked) > 0.02  # the speaker opens and closes the mouth
    assert lip_correlation(retracked, lip_aperture(grid_analysis.track.landmarks)) > (
        _RETRACK_CORR_MIN
    )


#: A talker whose mouth opens wide: a whole-mouth shift disturbs its re-tracked lip motion most.
WIDE_MOUTH_CLIP = "videos/liveportrait_d20_young_man_outdoor_headmotion_480x480_speech.mp4"
#: The acceptance threshold of lip-sync (README): measured r 0.972 for a sad edit (0.934 when
#: sad's downward move of the whole mouth was applied).
_LIP_R_MIN = 0.95


#: The edit id of the sad edit below (the watermark moves the re-tracked r by a few thousandths:
#: 0.952-0.960 over five ids at the commit that opened parted lips by the lower lip's arch,
#: ``fit.speech.ARCH_OPENING``; 0.913 before it, 0.85-0.87 after the speech constraint came).
_SAD_EDIT_ID = 1


@pytest.mark.slow
def test_sad_edit_keeps_a_wide_mouthed_speakers_lip_motion(data_dir: Path, tmp_path: Path) -> None:
    clip = data_dir / WIDE_MOUTH_CLIP
    if not clip.is_file():
        pytest.skip(f"{WIDE_MOUTH_CLIP} is missing from {data_dir}")
    out = tmp_path / "sad.mp4"
    options = EditOptions(provenance=ProvenanceOptions(edit_id=_SAD_EDIT_ID))
    edit_video(clip, out, EmotionTarget(Emotion.SAD, 1.0), options)
    report = compare_lips(clip, out)
    assert report.frames > 100
    assert report.correlation >= _LIP_R_MIN
