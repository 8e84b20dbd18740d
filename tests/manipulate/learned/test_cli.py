"""The command line's choice of the learned editor: one-line errors where it cannot serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from emodirector.cli import main


def _edit(tmp_path: Path, *extra: str) -> list[str]:
    return ["edit", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "out.mp4"), *extra]


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_action_units_with_the_learned_editor(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(_edit(tmp_path, "--au", "AU12=0.5", "--editor", "learned"))
    assert code != 0 and "prototype editor" in _one_line(capsys)


def test_a_missing_manipulator_file(torch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(_edit(tmp_path, "--emotion", "happy", "--manipulator", str(tmp_path / "no.pt")))
    assert code != 0 and "no.pt" in _one_line(capsys)


def test_the_learned_editor_by_name(torch) -> None:  # type: ignore[no-untyped-def]
    from emodirector.manipulate.interface import make_editor

    assert make_editor("learned").name == "learned"
