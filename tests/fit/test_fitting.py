"""Rigid pose, neutral shape and expression fitting (emodirector.fit.fitting)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from emodirector import VideoAnalysis
from emodirector.face_model import N_LANDMARKS, STABLE, load_face_model
from emodirector.fit import FaceFit, fit_track, similarity_align
from emodirector.track import FaceTrack

#: Recovery of a known similarity transform from exact points.
_EXACT_TOL = 1e-6
#: float32 round trip through fit_track (canonical units; the face is ~3 units tall).
_FLOAT32_TOL = 1e-4
#: RMS distance (canonical units) of a real face's stable points from the template; the
#: template's stable points have an RMS radius of ~1.3, so this is ~15% (identity differences).
_STABLE_RMS_MAX = 0.2
#: Landmarks re-projected from the fit agree with the tracked ones within this many pixels.
_REPROJECTION_TOL_PX = 1e-2
#: Head angles recovered from a synthetic pose (degrees).
_ANGLE_TOL_DEG = 0.01
#: The fitted scale of the rotated copy equals the upright clip's within this relative error.
_ROTATED_SCALE_REL_TOL = 0.01


def _synthetic_track(
    scales: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    present: np.ndarray | None = None,
) -> FaceTrack:
    """A track whose frame t is exactly ``s[t] R[t] template + t[t]`` (NaN where absent)."""
    tpl = load_face_model().template.astype(np.float64)
    lm = scales[:, None, None] * np.einsum("tij,nj->tni", rotations, tpl) + translations[:, None]
    t = len(scales)
    present = np.ones(t, bool) if present is None else present
    lm[~present] = np.nan
    return FaceTrack(
        landmarks=lm.astype(np.float32),
        present=present,
        segment=np.where(present, 0, -1).astype(np.int32),
        times=np.arange(t) / 25.0,
        frame_size=(640, 480),
    )


# --- similarity_align ---------------------------------------------------------------------------


def test_similarity_align_recovers_known_transform() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(36, 3))
    s = np.array([2.5, 0.7, 40.0])
    R = Rotation.random(3, random_state=1).as_matrix()
    t = rng.normal(scale=100.0, size=(3, 3))
    points = s[:, None, None] * np.einsum("tij,nj->tni", R, reference) + t[:, None]
    s_hat, R_hat, t_hat = similarity_align(points, reference)
    np.testing.assert_allclose(s_hat, s, rtol=_EXACT_TOL)
    np.testing.assert_allclose(R_hat, R, atol=_EXACT_TOL)
    np.testing.assert_allclose(t_hat, t, atol=_EXACT_TOL * 100.0)


def test_similarity_align_returns_proper_rotation_for_mirrored_points() -> None:
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(30, 3))
    mirrored = (reference * np.array([-1.0, 1.0, 1.0]))[None]
    _, R, _ = similarity_align(mirrored, reference)
    assert np.linalg.det(R[0]) == pytest.approx(1.0, abs=_EXACT_TOL)
    np.testing.assert_allclose(R[0] @ R[0].T, np.eye(3), atol=_EXACT_TOL)


def test_similarity_align_tolerates_small_noise() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(200, 3))
    points = 5.0 * reference[None] + rng.normal(scale=0.01, size=(1, 200, 3))
    s, _, _ = similarity_align(points, reference)
    assert s[0] == pytest.approx(5.0, rel=1e-2)


# --- fit_track on synthetic tracks --------------------------------------------------------------


def test_fit_track_recovers_template_and_pose() -> None:
    t = 6
    s = np.linspace(30.0, 60.0, t)
    R = Rotation.from_euler(
        "yxz", np.linspace(-20, 20, t * 3).reshape(t, 3), degrees=True
    ).as_matrix()
    tr = np.stack([np.linspace(100, 300, t), np.linspace(200, 150, t), np.zeros(t)], axis=1)
    fit = fit_track(_synthetic_track(s, R, tr))
    tpl = load_face_model().template
    np.testing.assert_allclose(fit.canonical, np.repeat(tpl[None], t, 0), atol=_FLOAT32_TOL)
    np.testing.assert_allclose(fit.scale, s, rtol=_FLOAT32_TOL)
    np.testing.assert_allclose(fit.rotation, R, atol=_FLOAT32_TOL)
    np.testing.assert_allclose(fit.neutral[0], tpl, atol=_FLOAT32_TOL)
    assert np.abs(fit.expression()).max() < _FLOAT32_TOL


@pytest.mark.parametrize(
    ("axis", "column"), [("y", 0), ("x", 1), ("z", 2)], ids=["yaw", "pitch", "roll"]
)
def test_yaw_pitch_roll_of_single_axis_rotation(axis: str, column: int) -> None:
    angle = 17.0
    R = Rotation.from_euler(axis, angle, degrees=True).as_matrix()[None]
    fit = fit_track(_synthetic_track(np.array([50.0]), R, np.array([[320.0, 240.0, 0.0]])))
    expected = np.zeros(3)
    expected[column] = angle
    np.testing.assert_allclose(fit.yaw_pitch_roll()[0], expected, atol=_ANGLE_TOL_DEG)


def test_fit_track_marks_absent_frames() -> None:
    t = 5
    present = np.array([True, True, False, True, True])
    fit = fit_track(
        _synthetic_track(np.full(t, 40.0), np.tile(np.eye(3), (t, 1, 1)), np.zeros((t, 3)), present)
    )
    np.testing.assert_array_equal(fit.present, present)
    assert np.isnan(fit.scale[2]) and np.isnan(fit.canonical[2]).all()
    assert np.isnan(fit.expression()[2]).all()
    assert np.isfinite(fit.expression()[present]).all()
    assert fit.neutral.shape == (1, N_LANDMARKS, 3)


def test_fit_track_neutral_is_segment_median() -> None:
    t = 5
    track = _synthetic_track(np.full(t, 40.0), np.tile(np.eye(3), (t, 1, 1)), np.zeros((t, 3)))
    lm = track.landmarks.copy()
    lm[:2, 14, 1] += 40.0  # the lower lip drops on 2 of 5 frames: the median ignores it
    track = FaceTrack(lm, track.present, track.segment, track.times, track.frame_size)
    fit = fit_track(track)
    tpl = load_face_model().template
    assert fit.neutral[0, 14, 1] == pytest.approx(tpl[14, 1], abs=_FLOAT32_TOL)
    assert fit.expression()[0, 14, 1] == pytest.approx(1.0, abs=1e-3)  # 40 px / scale 40


def test_to_image_maps_canonical_offsets_to_pixels() -> None:
    R = Rotation.from_euler("z", 90, degrees=True).as_matrix()[None]
    fit = fit_track(_synthetic_track(np.array([10.0]), R, np.array([[50.0, 50.0, 0.0]])))
    offsets = np.zeros((1, N_LANDMARKS, 3), np.float32)
    offsets[0, 0] = [1.0, 0.0, 0.0]
    px = fit.to_image(offsets, np.array([0]))
    np.testing.assert_allclose(px[0, 0], [0.0, 10.0, 0.0], atol=1e-3)


def test_face_fit_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="rotation"):
        FaceFit(
            scale=np.ones(2, np.float32),
            rotation=np.zeros((3, 3, 3), np.float32),
            translation=np.zeros((2, 3), np.float32),
            canonical=np.zeros((2, N_LANDMARKS, 3), np.float32),
            neutral=np.zeros((1, N_LANDMARKS, 3), np.float32),
            segment=np.zeros(2, np.int32),
        )


# --- fit_track on a real clip -------------------------------------------------------------------


def test_fit_real_clip_scale_positive(grid_analysis: VideoAnalysis) -> None:
    fit = grid_analysis.fit
    assert fit.n_frames == 75
    assert np.isfinite(fit.scale).all() and (fit.scale > 0).all()
    # a rigid head: the scale (face size in pixels) barely changes over 3 s of a frontal speaker
    assert np.ptp(fit.scale) / np.median(fit.scale) < 0.1


def test_fit_real_clip_stable_points_close_to_template(grid_analysis: VideoAnalysis) -> None:
    fit = grid_analysis.fit
    stable = list(STABLE)
    tpl = load_face_model().template[stable]
    rms = np.sqrt(((fit.canonical[:, stable] - tpl) ** 2).sum(axis=2).mean(axis=1))
    assert rms.max() < _STABLE_RMS_MAX


def test_fit_real_clip_reprojects_to_tracked_points(grid_analysis: VideoAnalysis) -> None:
    fit, track = grid_analysis.fit, grid_analysis.track
    image = (
        fit.scale[:, None, None] * np.einsum("tij,tnj->tni", fit.rotation, fit.canonical)
        + fit.translation[:, None]
    )
    np.testing.assert_allclose(image, track.landmarks, atol=_REPROJECTION_TOL_PX)


def test_fit_real_clip_head_is_frontal(grid_analysis: VideoAnalysis) -> None:
    angles = grid_analysis.fit.yaw_pitch_roll()
    assert np.abs(angles).max() < 20.0


def test_fit_rotated_clip_scale_matches_upright(
    grid_analysis: VideoAnalysis, rotated_grid_analysis: VideoAnalysis
) -> None:
    a = np.median(grid_analysis.fit.scale)
    b = np.median(rotated_grid_analysis.fit.scale)
    assert b == pytest.approx(a, rel=_ROTATED_SCALE_REL_TOL)
