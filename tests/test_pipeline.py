"""The end-to-end edit through the public API (emodirector.pipeline)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emodirector import (
    EditOptions,
    EditResult,
    EmotionTarget,
    EncodeOptions,
    InputNotFoundError,
    InvalidOptionError,
    OutputError,
    RenderOptions,
    UnsupportedVideoError,
    VideoAnalysis,
    edit_video,
    plan_edit,
    render_frame,
)
from emodirector.pipeline import FaceFrames, face_frame
from emodirector.provenance.options import ProvenanceOptions
from emodirector.render import anchor_ring
from emodirector.track import FaceTracker
from emodirector.video import VideoWriter, iter_frames, probe
from tests._media import (
    audio_packets,
    decoded_yuv,
    frame_count,
    lip_aperture,
    make_clip,
    sha256,
    video_times,
)
from tests.provenance._expect import edit_id_of, with_mark

_GRID_FRAMES = 75
#: Intensity 0 against a pass-through encode with the same settings: mean and largest absolute
#: difference of the decoded luma (8-bit levels). Both runs feed x264 the same frames.
_INTENSITY0_MEAN_DIFF_MAX = 0.05
_INTENSITY0_MAX_DIFF = 2
#: The edited clip's face must differ from the input by at least this mean luma difference
#: (levels, inside the face oval) on most frames: the edit is visible.
_FACE_CHANGE_MIN = 0.5
#: Margin (pixels) past the anchor ring where the coarsely interpolated mask may still reach.
_RING_MARGIN_PX = 8
_LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")
#: The invisible watermark changes every pixel's luminance a little; the tests that compare
#: pixels outside the face turn it off (tests/provenance checks that it is exactly added).
_NO_MARK = ProvenanceOptions(watermark=False)


@pytest.fixture(scope="module")
def lossless_happy(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path_factory: pytest.TempPathFactory
) -> tuple[EditResult, str, str]:
    """The GRID clip edited to happy, encoded losslessly; with the input's checksum before/after."""
    before = sha256(grid_clip)
    out = tmp_path_factory.mktemp("pipeline") / "happy.mp4"
    result = edit_video(
        grid_clip,
        out,
        EmotionTarget.from_label("happy", 1.0),
        EditOptions(encode=_LOSSLESS, provenance=_NO_MARK),
        analysis=grid_analysis,
    )
    return result, before, sha256(grid_clip)


def test_edit_result(lossless_happy: tuple[EditResult, str, str]) -> None:
    result, _, _ = lossless_happy
    assert result.frames == _GRID_FRAMES
    assert result.frames_with_face == _GRID_FRAMES
    assert result.output.is_file()
    assert {"render", "encode"} <= set(result.seconds)
    # the stages are laps of one clock inside the edit, its speed is frames over its whole time
    assert 0.0 < sum(result.seconds.values()) <= result.total_seconds
    assert result.fps == pytest.approx(_GRID_FRAMES / result.total_seconds)


def test_edit_keeps_frames_timestamps_and_audio(
    grid_clip: Path, lossless_happy: tuple[EditResult, str, str]
) -> None:
    out = lossless_happy[0].output
    assert frame_count(out) == _GRID_FRAMES
    assert video_times(out) == video_times(grid_clip)
    expected = audio_packets(grid_clip)
    assert expected
    assert audio_packets(out) == expected


def test_edit_leaves_input_unchanged(lossless_happy: tuple[EditResult, str, str]) -> None:
    _, before, after = lossless_happy
    assert after == before


def _face_masks(analysis: VideoAnalysis, index: int) -> tuple[np.ndarray, np.ndarray]:
    """``(inside face oval, outside anchor ring + margin)`` luma masks of one frame."""
    w, h = analysis.track.frame_size
    lm = analysis.track.landmarks[index]
    face = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(lm[:, :2].astype(np.int32)), 1)
    ring = np.zeros((h, w), np.uint8)
    cv2.fillPoly(ring, [np.round(anchor_ring(lm)).astype(np.int32)], 1)
    k = 2 * _RING_MARGIN_PX + 1
    ring = cv2.dilate(ring, np.ones((k, k), np.uint8))
    return face.astype(bool), ~ring.astype(bool)


def test_lossless_edit_changes_only_the_face(
    grid_clip: Path, grid_analysis: VideoAnalysis, lossless_happy: tuple[EditResult, str, str]
) -> None:
    out = lossless_happy[0].output
    h = probe(grid_clip).height
    changed_frames = 0
    for i, (a, b) in enumerate(zip(decoded_yuv(grid_clip), decoded_yuv(out), strict=True)):
        face, outside = _face_masks(grid_analysis, i)
        assert outside.sum() > 0.3 * outside.size
        np.testing.assert_array_equal(b[:h][outside], a[:h][outside], err_msg=f"frame {i}")
        diff = np.abs(b[:h].astype(int) - a[:h])[face].mean()
        changed_frames += diff > _FACE_CHANGE_MIN
    assert changed_frames > 0.9 * _GRID_FRAMES


@pytest.fixture(scope="module")
def zero_and_pass_through(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, list[tuple[str, int, int]]]:
    """Intensity 0 through the whole pipeline (its own tracking), and a plain re-encode with
    the same watermark added (the edit's id, as its manifest records it)."""
    folder = tmp_path_factory.mktemp("zero")
    calls: list[tuple[str, int, int]] = []
    zero = edit_video(
        grid_clip,
        folder / "zero.mp4",
        EmotionTarget.from_label("angry", 0.0),
        progress=lambda *a: calls.append(a),
    ).output
    info = probe(grid_clip)
    plain = folder / "plain.mp4"
    frames = (f.image for f in iter_frames(info, "yuv420p"))
    marked = with_mark(frames, edit_id_of(zero), grid_analysis)
    with VideoWriter(plain, info, EditOptions().encode) as writer:
        for frame, image in zip(iter_frames(info, "yuv420p"), marked, strict=True):
            writer.write(image, frame.pts)
    return zero, plain, calls


def test_intensity_zero_matches_pass_through_encode(
    zero_and_pass_through: tuple[Path, Path, list[tuple[str, int, int]]],
) -> None:
    zero, plain, _ = zero_and_pass_through
    n = 0
    for a, b in zip(decoded_yuv(plain), decoded_yuv(zero), strict=True):
        diff = np.abs(a.astype(int) - b)
        assert diff.mean() < _INTENSITY0_MEAN_DIFF_MAX
        assert diff.max() <= _INTENSITY0_MAX_DIFF
        n += 1
    assert n == _GRID_FRAMES


def test_progress_reports_both_passes(
    zero_and_pass_through: tuple[Path, Path, list[tuple[str, int, int]]],
) -> None:
    calls = zero_and_pass_through[2]
    track = [done for stage, done, _ in calls if stage == "track"]
    render = [done for stage, done, _ in calls if stage == "render"]
    assert track == list(range(1, _GRID_FRAMES + 1))
    assert render == list(range(1, _GRID_FRAMES + 1))
    assert calls.index(("render", 1, _GRID_FRAMES)) > len(track) - 1  # tracking comes first


def test_render_frame_passes_through_when_nothing_to_do(
    grid_clip: Path, grid_analysis: VideoAnalysis
) -> None:
    edit = plan_edit(grid_analysis, EmotionTarget.from_label("happy", 0.0))
    frames = iter_frames(probe(grid_clip), "yuv420p")
    frame = next(frames)
    frames.close()
    assert render_frame(frame.image, 0, grid_analysis, edit) is frame.image


#: FaceFrames computes a block of frames in one call: float32 rounding only (pixels).
_FACE_FRAMES_TOL_PX = 1e-3


def test_face_frames_equal_face_frame_in_any_order(grid_analysis: VideoAnalysis) -> None:
    """The block-wise faces are the per-frame ones, asked in order, backwards or past the end
    of the clip; an edit of intensity 0 has no face to draw on any frame."""
    edit = plan_edit(grid_analysis, EmotionTarget.from_label("angry", 1.0))
    n = grid_analysis.track.n_frames
    faces = FaceFrames(grid_analysis, edit, block=16)
    order = [*range(n), *range(n - 1, -1, -7), n, n + 5]
    compared = 0
    for index in order:
        want, got = face_frame(grid_analysis, edit, index), faces(index)
        assert (want is None) == (got is None), index
        if want is None or got is None:
            continue
        np.testing.assert_array_equal(got.source, want.source)
        np.testing.assert_allclose(got.target, want.target, atol=_FACE_FRAMES_TOL_PX)
        np.testing.assert_allclose(got.weights, want.weights, rtol=1e-6)
        compared += 1
    assert compared >= n  # every frame of the clip has a face to edit
    nothing = plan_edit(grid_analysis, EmotionTarget.from_label("angry", 0.0))
    assert all(FaceFrames(grid_analysis, nothing)(i) is None for i in range(n))


def test_render_frame_edits_face_only(grid_clip: Path, grid_analysis: VideoAnalysis) -> None:
    edit = plan_edit(grid_analysis, EmotionTarget.from_label("surprised", 1.0))
    assert edit.n_frames == _GRID_FRAMES
    frames = iter_frames(probe(grid_clip), "yuv420p")
    frame = next(frames)
    frames.close()
    before = frame.image.copy()
    out = render_frame(frame.image, 0, grid_analysis, edit)
    np.testing.assert_array_equal(frame.image, before)  # the input frame is not modified
    face, outside = _face_masks(grid_analysis, 0)
    h = before.shape[0] * 2 // 3
    np.testing.assert_array_equal(out[:h][outside], before[:h][outside])
    assert np.abs(out[:h].astype(int) - before[:h])[face].mean() > _FACE_CHANGE_MIN


def test_clip_without_face_is_passed_through(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "noface.mp4", n_frames=15)
    result = edit_video(
        src, tmp_path / "out.mp4", EmotionTarget.from_label("sad"),
        EditOptions(encode=_LOSSLESS, provenance=_NO_MARK),
    )  # fmt: skip
    assert result.frames == 15
    assert result.frames_with_face == 0
    h = probe(src).height
    for a, b in zip(decoded_yuv(src), decoded_yuv(result.output), strict=True):
        np.testing.assert_array_equal(b[:h], a[:h])
    assert audio_packets(result.output) == audio_packets(src)


# --- errors, raised before any work -------------------------------------------------------------


def test_edit_refuses_existing_output_before_tracking(grid_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"keep")
    calls: list[tuple[str, int, int]] = []
    with pytest.raises(OutputError, match="already exists"):
        edit_video(
            grid_clip, out, EmotionTarget.from_label("happy"), progress=lambda *a: calls.append(a)
        )
    assert calls == []
    assert out.read_bytes() == b"keep"


def test_edit_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        edit_video(tmp_path / "absent.mp4", tmp_path / "out.mp4", EmotionTarget.from_label("happy"))
    assert not (tmp_path / "out.mp4").exists()


def test_edit_input_not_a_video(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("hello\n")
    with pytest.raises(UnsupportedVideoError):
        edit_video(fake, tmp_path / "out.mp4", EmotionTarget.from_label("happy"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake.mp4"]


# --- lip motion for a strong edit ---------------------------------------------------------------

#: Pearson correlation of the re-detected inner-lip aperture with the input's (as in test_cli).
_LIP_CORR_MIN = 0.95


def test_surprised_edit_keeps_lip_motion(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    out = edit_video(
        grid_clip,
        tmp_path / "surprised.mp4",
        EmotionTarget.from_label("surprised", 1.0),
        analysis=grid_analysis,
    ).output
    with FaceTracker() as tracker:
        edited = tracker.track_video(probe(out))
    assert edited.present.all()
    original = lip_aperture(np.asarray(grid_analysis.track.landmarks))
    r = np.corrcoef(original, lip_aperture(np.asarray(edited.landmarks)))[0, 1]
    assert r >= _LIP_CORR_MIN


def test_analysis_of_another_video_is_refused(grid_analysis: VideoAnalysis, tmp_path: Path) -> None:
    other = make_clip(tmp_path / "other.mp4", n_frames=3)
    with pytest.raises(InvalidOptionError, match="analysis"):
        edit_video(
            other,
            tmp_path / "out.mp4",
            EmotionTarget.from_label("happy"),
            analysis=grid_analysis,
        )
    assert not (tmp_path / "out.mp4").exists()


#: Mean luminance change (levels) the angry detail must add between the brows beyond the warp.
_FROWN_DETAIL_MIN = 3.0  # measured 4.9 on frame 30 (a smile adds 1.7 there)


def test_detail_and_eyes_add_to_the_warp_inside_the_face_only(
    grid_clip: Path, grid_analysis: VideoAnalysis
) -> None:
    """The full render differs from the warp alone between the brows (the frown's detail) and
    nowhere outside the face; both leave the input frame alone."""
    edit = plan_edit(grid_analysis, EmotionTarget.from_label("angry", 1.0))
    frames = iter_frames(probe(grid_clip), "yuv420p")
    frame = next(f for f in frames if f.index == 30)
    frames.close()
    before = frame.image.copy()
    warp = render_frame(frame.image, 30, grid_analysis, edit, render=RenderOptions(False, False))
    full = render_frame(frame.image, 30, grid_analysis, edit)
    np.testing.assert_array_equal(frame.image, before)
    face, outside = _face_masks(grid_analysis, 30)
    h = before.shape[0] * 2 // 3
    np.testing.assert_array_equal(full[:h][outside], before[:h][outside])
    lm = grid_analysis.track.landmarks[30]
    x0, y0 = lm[[107, 9], :2].min(axis=0).astype(int)  # between the inner brow ends
    x1, y1 = lm[[336, 168], :2].max(axis=0).astype(int) + 1
    between = np.abs(full[y0:y1, x0:x1].astype(int) - warp[y0:y1, x0:x1])
    assert between.mean() > _FROWN_DETAIL_MIN
    with pytest.raises(InvalidOptionError, match="detail_gain"):
        RenderOptions(detail_gain=5.0)


#: A blink: the lid gap below this fraction of the clip's median gap.
_BLINK_FRACTION = 0.45
#: Surprise widens the open eyes by at least this factor (median lid gap, re-detected).
_WIDER_MIN = 1.05


def test_blinks_survive_a_widening_edit(
    grid_clip: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    """Surprise widens the eyes, yet the GRID man's blinks (frames 43-44, 51-53) still close
    them: landmarks re-detected on the (lossless) output."""
    from emodirector.fit import fit_track
    from emodirector.manipulate.editor import _eye_openness

    def openness(video: Path) -> np.ndarray:
        with FaceTracker() as tracker:
            fit = fit_track(tracker.track_video(probe(video)))
        return _eye_openness(np.nan_to_num(fit.canonical[:])).mean(axis=1)

    before = openness(grid_clip)
    blinks = np.flatnonzero(before < _BLINK_FRACTION * np.median(before))
    assert len(blinks) >= 3
    options = EditOptions(encode=_LOSSLESS, overwrite=True)
    out = edit_video(
        grid_clip, tmp_path / "s.mp4", EmotionTarget.from_label("surprised"), options,
        analysis=grid_analysis,
    ).output  # fmt: skip
    after = openness(out)
    open_ = np.setdiff1d(np.arange(len(before)), np.concatenate([blinks - 1, blinks, blinks + 1]))
    assert np.median(after[open_]) > _WIDER_MIN * np.median(before[open_])
    assert (after[blinks] < _BLINK_FRACTION * np.median(after[open_])).all()
