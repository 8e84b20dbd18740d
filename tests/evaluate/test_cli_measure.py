"""``emodirector analyze``, ``evaluate`` and ``edit --report`` through the real command line."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from tests._cli import call_cli, run_cli
from tests._media import make_clip

_TIMEOUT_S = 300
_PNG = b"\x89PNG\r\n\x1a\n"


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=_TIMEOUT_S, cwd=cwd)


def _call(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``_run`` in this process (for errors)."""
    with contextlib.chdir(cwd):
        return call_cli(*args)


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("emodirector: error:")]
    assert len(errors) == 1, proc.stderr


def test_analyze_names_the_acted_emotion_and_plots(mead_dir: Path, tmp_path: Path) -> None:
    clip = mead_dir / "M030_front_happy_level3_001.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip.name} is missing")
    proc = _run("analyze", clip, "--json", "a.json", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dominant emotion: happy" in proc.stdout
    png = tmp_path / "M030_front_happy_level3_001_emotions.png"
    assert png.read_bytes().startswith(_PNG) and png.stat().st_size > 20_000
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["dominant"] == "happy" and data["frames"] == len(data["per_frame"])


@pytest.mark.slow
def test_evaluate_writes_json_and_html(grid_clip: Path, tmp_path: Path) -> None:
    proc = _run(
        "evaluate", grid_clip, grid_clip, "--emotion", "sad", "--report", "r.html", "-q",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["target"] == "sad" and data["identity"]["mean_distance"] == 0.0
    assert data["speed"]["edit_fps"] is None
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert page.count("data:image/jpeg;base64,") >= 2


@pytest.mark.slow
def test_edit_report_carries_speed(grid_clip: Path, tmp_path: Path) -> None:
    proc = _run(
        "edit", grid_clip, "--emotion", "happy", "-o", "out.mp4", "--report", "e.html", "-q",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "e.json").read_text())
    # the report carries the speed of this edit, as the command printed it
    assert f"edit speed: {data['speed']['edit_fps']:.1f} fps" in proc.stdout
    assert data["identity"]["same_person"] is True
    assert data["speech"]["lip_correlation"] > 0.8
    assert data["outside_face"]["changed_pixel_share"] < 0.01


def test_analyze_missing_input(tmp_path: Path) -> None:
    _one_line_error(_call("analyze", tmp_path / "nope.mp4", cwd=tmp_path), 3)


def test_analyze_without_a_face(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "texture.mp4", audio=False)
    _one_line_error(_call("analyze", clip, cwd=tmp_path), 6)


def test_evaluate_report_folder_missing(grid_clip: Path, tmp_path: Path) -> None:
    proc = _call(
        "evaluate", grid_clip, grid_clip, "--emotion", "happy", "--report", "no/r.html",
        cwd=tmp_path,
    )  # fmt: skip
    _one_line_error(proc, 5)
