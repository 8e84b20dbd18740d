"""Training data errors: one line, a non-zero exit, and nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from emodirector.cli import main


def _train(tmp_path: Path, folder: Path, *extra: str) -> int:
    return main(["train-manipulator", str(folder), "-o", str(tmp_path / "out" / "m.pt"), *extra])


@pytest.fixture
def out(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def _check_one_line_error(code: int, capsys: pytest.CaptureFixture[str], match: str,
                          out: Path) -> None:  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and match in err, err
    assert "Traceback" not in err
    assert [p.name for p in out.iterdir() if not p.name.startswith(".emodirector-fits")] == []


def _clip(folder: Path, name: str, content: bytes = b"not a video") -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(content)


def test_empty_folder(torch, tmp_path, out, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    _check_one_line_error(_train(tmp_path, tmp_path / "empty"), capsys, "no video clips", out)


def test_no_labels(torch, tmp_path, out, capsys) -> None:  # type: ignore[no-untyped-def]
    _clip(tmp_path / "d", "talk.mp4")
    _check_one_line_error(_train(tmp_path, tmp_path / "d"), capsys, "no labelled clips", out)


def test_one_emotion_only(torch, tmp_path, out, capsys) -> None:  # type: ignore[no-untyped-def]
    _clip(tmp_path / "d", "M030_front_happy_level3_001.mp4")
    _clip(tmp_path / "d", "W009_front_happy_level3_001.mp4")
    _check_one_line_error(_train(tmp_path, tmp_path / "d"), capsys, "at least two emotions", out)


def test_labels_csv_without_the_columns(torch, tmp_path, out, capsys) -> None:  # type: ignore[no-untyped-def]
    _clip(tmp_path / "d", "a.mp4")
    (tmp_path / "labels.csv").write_text("name,feeling\na.mp4,happy\n")
    code = _train(tmp_path, tmp_path / "d", "--labels", str(tmp_path / "labels.csv"))
    _check_one_line_error(code, capsys, "'emotion'", out)


def test_unreadable_clips(torch, tmp_path, out, capsys) -> None:  # type: ignore[no-untyped-def]
    _clip(tmp_path / "d", "M030_front_happy_level3_001.mp4")
    _clip(tmp_path / "d", "M030_front_neutral_level1_001.mp4")
    _check_one_line_error(_train(tmp_path, tmp_path / "d"), capsys, "cannot be read", out)


def test_csv_labels_are_read(tmp_path: Path) -> None:
    from emodirector.calibrate.clips import find_training_clips
    from emodirector.emotion import Emotion

    _clip(tmp_path / "d", "a.mp4")
    _clip(tmp_path / "d", "b.mp4")
    (tmp_path / "d" / "labels.csv").write_text("file,label\na.mp4,Happy\nb.mp4,fear\nc.jpg,sad\n")
    clips = find_training_clips(tmp_path / "d", tmp_path / "d" / "labels.csv")
    assert [(c.path.name, c.emotion) for c in clips] == [
        ("a.mp4", Emotion.HAPPY), ("b.mp4", Emotion.FEARFUL)
    ]  # fmt: skip
