"""``import emodirector`` and ``emodirector --help`` load none of the heavy libraries.

Checked in a fresh interpreter (the test process itself has imported everything already). How
fast ``--help`` answers is measured by ``benchmarks/startup.py``, not here.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import emodirector

#: Libraries that take a second or more to import, or are optional (ui).
HEAVY = ("cv2", "av", "mediapipe", "scipy", "matplotlib", "torch", "gradio", "ai_edge_litert")
#: The commands whose ``--help`` is checked.
COMMANDS = ("edit", "demo", "calibrate", "analyze", "evaluate", "aus", "ui")

_PROBE = """
import json, sys
heavy = {heavy!r}
loaded = {{}}
import emodirector
loaded["import emodirector"] = [m for m in heavy if m in sys.modules]
from emodirector.cli import main
for argv in {argvs!r}:
    try:
        main(argv)
    except SystemExit:
        pass
    loaded[" ".join(argv)] = [m for m in heavy if m in sys.modules]
sys.stdout = sys.__stdout__
print("LOADED " + json.dumps(loaded))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """Heavy modules in ``sys.modules`` after each step, in a fresh interpreter."""
    argvs = [["--help"], *([c, "--help"] for c in COMMANDS)]
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY, argvs=argvs)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED "))


def test_import_loads_no_heavy_library(loaded: dict[str, list[str]]) -> None:
    assert loaded["import emodirector"] == []


def test_help_loads_no_heavy_library(loaded: dict[str, list[str]]) -> None:
    assert loaded["--help"] == []


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_loads_no_heavy_library(loaded: dict[str, list[str]], command: str) -> None:
    assert loaded[f"{command} --help"] == []


def _type_checking_names(init: Path) -> dict[str, str]:
    """``name -> module`` of the imports in the ``if TYPE_CHECKING:`` block of ``init``."""
    names: dict[str, str] = {}
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module is not None
                names.update({a.name: imp.module for a in imp.names})
    return names


def test_lazy_table_matches_the_type_checking_imports() -> None:
    init = Path(emodirector.__file__)
    assert _type_checking_names(init) == emodirector._LAZY


def test_every_public_name_resolves() -> None:
    for name in emodirector.__all__:
        value = getattr(emodirector, name)
        module = emodirector._LAZY.get(name)
        if module is not None:
            assert value is getattr(sys.modules[module], name)
    assert set(emodirector._LAZY) <= set(emodirector.__all__)
    assert set(emodirector._LAZY) <= set(dir(emodirector))


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        emodirector.no_such_name  # noqa: B018
