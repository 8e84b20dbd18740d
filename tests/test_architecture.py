"""The stages depend only forward: no module imports a module of a later stage.

Every module under ``src/emodirector`` is read (``ast``, not imported) and each of its imports
of ``emodirector`` (at module level or inside a function, ``TYPE_CHECKING`` blocks included) is
checked against ``LAYERS``: a module may import its own layer and earlier ones, never a later
one. A new package goes into ``LAYERS`` where it belongs; one that is not listed fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "emodirector"

#: The layers in order; the names of one layer (packages or modules directly under
#: ``emodirector``) may import each other. ``emodirector`` itself is the public API, which
#: re-exports the pipeline's level.
LAYERS: tuple[tuple[str, ...], ...] = (
    # below the stages: errors, the emotion vocabulary, the face model, small helpers, the
    # installed data wheels, the version
    ("errors", "emotion", "closing", "ramps", "framearrays", "datafiles", "files", "face_model",
     "demo")
    + ("wheels", "__version__"),
    ("video",),
    ("track",),
    ("fit",),
    # the editor and the data it reads (prototypes, action units); ``direct`` makes its goal
    ("manipulate",),
    ("direct",),
    ("render",),
    ("blend",),
    ("provenance",),
    ("pipeline", "emodirector"),
    # measuring, building the data files, and the front ends: never imported by a stage
    ("evaluate",),
    ("calibrate",),
    ("ui", "batch", "cli"),
)
_RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _component(module: str) -> str | None:
    """The top-level name under ``emodirector`` of a dotted module name (None if not ours)."""
    parts = module.split(".")
    if parts[0] != "emodirector":
        return None
    return parts[1] if len(parts) > 1 else "emodirector"


def _owner(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    if rel.parts == ("__init__.py",):
        return "emodirector"
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, dotted module)`` of every import in ``path`` (relative ones resolved)."""
    package = ["emodirector", *path.relative_to(root).parent.parts]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module == "emodirector":
                # ``from emodirector import video`` names a subpackage, ``import X`` the API
                out += [
                    (node.lineno, f"emodirector.{a.name}" if a.name in _RANK else module)
                    for a in node.names
                ]
            else:
                out.append((node.lineno, module))
    return sorted(out)


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def backward_imports(path: Path, root: Path = SRC) -> list[str]:
    """What ``path`` (a module under ``root``, the ``emodirector`` folder) imports from a later
    layer, or from a package missing from ``LAYERS``."""
    owner = _owner(path, root)
    where = path.relative_to(root)
    problems = []
    for line, module in _imports(path, root):
        target = _component(module)
        if target is None or target == owner:
            continue
        if target not in _RANK:
            problems.append(f"{where}:{line} imports {module}: not in LAYERS")
        elif _RANK[target] > _RANK[owner]:
            problems.append(f"{where}:{line} imports {module} (a later layer)")
    return problems


def test_every_package_has_a_layer() -> None:
    missing = sorted({_owner(p, SRC) for p in _modules()} - set(_RANK) - {"data"})
    assert not missing, f"add these to LAYERS in {Path(__file__).name}: {missing}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_of_a_later_layer(path: Path) -> None:
    assert not backward_imports(path), "\n".join(backward_imports(path))


def test_the_check_sees_a_backward_import(tmp_path: Path) -> None:
    """Imports inside functions, relative ones and ``from emodirector import X`` are all seen."""
    root = tmp_path / "emodirector"
    module = root / "direct" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from emodirector.manipulate.basis import EditGoal\n"
        "from . import targets\n"
        "def f():\n    from emodirector.evaluate.emotion import EmotionClassifier\n"
        "from ..calibrate import run\nfrom emodirector import cli\n"
    )
    found = [p.split(" imports ")[1].split()[0] for p in backward_imports(module, root)]
    assert found == ["emodirector.evaluate.emotion", "emodirector.calibrate", "emodirector.cli"]


#: A literal naming this many of the seven emotions is a vocabulary of its own.
_NAMES_IN_A_LIST = 3


def test_one_emotion_vocabulary() -> None:
    """Emotions are named through ``emodirector.emotion.Emotion``, never by a list of strings."""
    from emodirector.emotion import Emotion
    from emodirector.evaluate.emotion import FER2013_CLASSES

    assert sorted(e.value for e in FER2013_CLASSES) == sorted(e.value for e in Emotion)
    names = {e.value for e in Emotion}
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                items = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if len(items & names) >= _NAMES_IN_A_LIST:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not found, f"emotion names written out (use Emotion): {found}"
