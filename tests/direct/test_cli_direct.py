"""``emodirector edit --reference / --au / --timeline`` and ``emodirector aus``: whole edits as
subprocesses, errors and the listing through ``cli.main`` in this process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from emodirector.track import FaceTracker
from emodirector.video import probe
from tests._cli import call_cli, run_cli
from tests._media import audio_packets, frame_count, lip_aperture, sha256

_GRID_FRAMES = 75
#: Pearson correlation of the inner-lip aperture (re-detected on the output) with the input's:
#: a guard against losing the speech, not the lip bar (that is judged with dlib by
#: benchmarks/mouth.py, where GRID's man is still short of it for every emotion: 0.92-0.93
#: against his re-encode's 0.956). Re-detected by MediaPipe with the pinned id: at least 0.95 before
#: the mouth interior's parting threshold, the parting gate and angry's contrast, 0.940 (AU mode)
#: and 0.940 (timeline) after; the same edits read dlib r 0.967 and 0.918.
_LIP_CORR_MIN = 0.93
#: The edit id (watermark payload) of the whole-clip edits: any id, fixed for reproducibility.
_EDIT_ID = "00000001"
_TIMEOUT_S = 180
_EXIT_INVALID_OPTION = 2
_EXIT_NO_FACE = 6


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=_TIMEOUT_S)


_call = call_cli  # in this process


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if "error" in line]
    assert len(lines) == 1 and lines[0].startswith("emodirector: error: "), proc.stderr
    return lines[0]


def _reference(data_dir: Path, name: str) -> Path:
    path = data_dir / "references" / name
    if not path.is_file():
        pytest.skip(f"{name} is missing")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode",
    ["reference", "au", "timeline"],
)
def test_each_mode_edits_the_whole_clip_and_keeps_speech(
    mode: str, grid_clip: Path, data_dir: Path, tmp_path: Path
) -> None:
    before = sha256(grid_clip)
    out = tmp_path / f"{mode}.mp4"
    angry = _reference(data_dir, "angry__mead_W009_level3_256_frame000.png")
    how = {
        "reference": ["--reference", angry],
        "au": ["--au", "AU12=0.8,AU6=0.6,AU4=0"],
        "timeline": ["--timeline", f"0:neutral, 1:happy@0.8, 2:ref={angry}"],
    }[mode]
    # A fixed edit id: the watermark's noise moves the re-detected lips a little, differently for
    # each id (AU mode over 12 ids: r 0.944..0.966; 0.952 with no mark), so the id is pinned to
    # keep this check reproducible. The mark's effect on the lips is a known limitation.
    proc = _run("edit", grid_clip, "-o", out, *how, "--edit-id", _EDIT_ID)
    assert proc.returncode == 0, proc.stderr
    assert sha256(grid_clip) == before
    assert frame_count(out) == _GRID_FRAMES
    assert audio_packets(out) == audio_packets(grid_clip)
    with FaceTracker() as tracker:
        edited = tracker.track_video(probe(out))
        original = tracker.track_video(probe(grid_clip))
    assert edited.present.all()
    r = np.corrcoef(
        lip_aperture(np.asarray(original.landmarks)), lip_aperture(np.asarray(edited.landmarks))
    )[0, 1]
    assert r >= _LIP_CORR_MIN
    # the edit is visible: the face moved somewhere by more than a pixel on average
    moved = np.abs(np.asarray(edited.landmarks) - np.asarray(original.landmarks))[..., :2]
    assert float(moved.max(axis=(1, 2)).mean()) > 1.0
    if mode == "reference":
        assert "reads as angry" in proc.stdout


def test_aus_lists_units_and_their_limits() -> None:
    proc = _call("aus")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("AU12") and "lip corner puller" in line for line in lines)
    assert any(line.startswith("AU26") and "limited" in line for line in lines)
    assert any(line.startswith("AU23") and "full" in line for line in lines)


def test_reference_without_face(grid_clip: Path, tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    out = tmp_path / "out.mp4"
    line = _one_line_error(_call("edit", grid_clip, "-o", out, "--reference", blank), _EXIT_NO_FACE)
    assert "no face found" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--au", "AU99=1"], "unknown action unit"),
        (["--au", "AU12=3"], "within 0..1"),
        (["--timeline", "2:happy, 1:sad"], "increasing time order"),
        (["--timeline", "0:happy, 60:sad"], "after the video's end"),
        (["--timeline", "0:glee"], "unknown emotion"),
        (["--timeline", "0:happy", "--intensity", "0.5"], "@intensity"),
        (["--au", "AU12=1", "--report", "r.html"], "--report needs one target emotion"),
    ],
)
def test_invalid_direction(args: list[str], message: str, grid_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    line = _one_line_error(_call("edit", grid_clip, "-o", out, *args), _EXIT_INVALID_OPTION)
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_two_directions_at_once(grid_clip: Path, tmp_path: Path) -> None:
    proc = _call("edit", grid_clip, "-o", tmp_path / "o.mp4", "--emotion", "sad", "--au", "AU4=1")
    assert proc.returncode == _EXIT_INVALID_OPTION
    assert "not allowed with argument" in proc.stderr and "Traceback" not in proc.stderr


def test_no_direction(grid_clip: Path, tmp_path: Path) -> None:
    proc = _call("edit", grid_clip, "-o", tmp_path / "o.mp4")
    assert proc.returncode == _EXIT_INVALID_OPTION
    assert "one of the arguments" in proc.stderr and "Traceback" not in proc.stderr
