"""Prototype files compared: one emotion edited on the talking clips with each of several
prototype files (``EditOptions.prototypes``), everything else the same, read by evaluate.

To find where an emotion's reading comes from: a file from an earlier calibration, or one the
calibration wrote with another rule, against the packaged one. With ``--halves``, each file that
is not the first is also split at the subnasale (``face_model.SUBNASALE``, blended over
``HALF_BLEND`` canonical units): its face above the mouth with the first file's lower face
(``<label>/upper``), and the first file's upper face with its lower face (``<label>/lower``),
the emotion's strength that of the first file, each half scaled to it.

Per edit: evaluate's probability of the emotion, dlib's lip r, the input's closed frames kept
closed and its open frames closed, as ``benchmarks/mouth.py`` counts them. Each edit carries
the watermark id 1 (the id moves dlib a little). The talking clips are the judge here: a file
should be chosen by the calibration's own held-out MEAD reading, not by this table.

Writes ``prototype_files.json`` and ``prototype_files.md`` into ``benchmarks/results`` (or
``--out``).

Usage::

    git show 2807b30b05:src/emodirector/data/prototypes.npz > /tmp/before.npz
    .venv/bin/python benchmarks/prototype_files.py --emotion sad \\
        --file before=/tmp/before.npz --halves --clips 'grid*' --clips 'liveportrait_d20*'
    .venv/bin/python benchmarks/prototype_files.py --emotion sad --file before=/tmp/before.npz \
        --videos ../shared/data/labeled/mead --clips '*neutral*'
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector import EditOptions, Emotion, EmotionTarget  # noqa: E402
from emodirector.face_model import SUBNASALE, load_face_model  # noqa: E402
from emodirector.manipulate.prototypes import EmotionPrototypes  # noqa: E402
from emodirector.provenance.options import ProvenanceOptions  # noqa: E402
from emodirector.ramps import smoothstep  # noqa: E402
from expression import VIDEO_SUFFIXES  # noqa: E402
from harness import Case, num, run_cases  # noqa: E402

EDIT_ID = 1
#: Width (canonical units) over which ``--halves`` blends the upper face into the lower one,
#: ending at the subnasale.
HALF_BLEND = 0.3


def lower_face_weight() -> np.ndarray:
    """``(478, 1)`` 0 on the face above the mouth, 1 from the subnasale down."""
    y = load_face_model().template[:, 1]
    return smoothstep((y - (y[SUBNASALE] - HALF_BLEND)) / HALF_BLEND)[:, None]


def halves(
    base: EmotionPrototypes, other: EmotionPrototypes, emotion: Emotion
) -> dict[str, EmotionPrototypes]:
    """``base`` with ``emotion``'s upper face (``upper``) or lower face (``lower``) taken from
    ``other``, at ``base``'s strength (``other``'s offsets scaled to it)."""
    j, k = base.index(emotion), other.index(emotion)
    ours = base.offsets[j].astype(np.float64)
    theirs = other.offsets[k] * (float(other.strength[k]) / float(base.strength[j]))
    lower = lower_face_weight()
    out = {}
    for name, offset in (
        ("upper", lower * ours + (1 - lower) * theirs),
        ("lower", lower * theirs + (1 - lower) * ours),
    ):
        offsets, plain = base.offsets.copy(), base.plain_offsets.copy()
        offsets[j] = plain[j] = offset
        out[name] = dataclasses.replace(base, offsets=offsets, plain_offsets=plain)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--emotion", required=True)
    ap.add_argument("--file", action="append", default=[], metavar="LABEL=PATH",
                    help="a prototype file to compare with the packaged one")  # fmt: skip
    ap.add_argument("--halves", action="store_true", help="also each file's upper/lower face")
    ap.add_argument("--clips", action="append", default=None, help="glob (repeatable; all)")
    ap.add_argument("--videos", type=Path, default=None,
                    help="folder of the clips (default: <data>/videos)")  # fmt: skip
    args = ap.parse_args()
    emotion = Emotion.parse(args.emotion)
    files: dict[str, EmotionPrototypes] = {"packaged": EditOptions().load_prototypes()}
    for spec in args.file:
        label, _, path = spec.partition("=")
        if not path:
            ap.error(f"--file wants LABEL=PATH, got {spec!r}")
        files[label] = EditOptions(prototypes=path).load_prototypes()
    variants = dict(files)
    if args.halves:
        for label, protos in files.items():
            if label != "packaged":
                for half, p in halves(files["packaged"], protos, emotion).items():
                    variants[f"{label}/{half}"] = p
    globs = args.clips or ["*"]
    clips = sorted(
        p
        for p in (args.videos or args.data / "videos").iterdir()
        if p.suffix.lower() in VIDEO_SUFFIXES and any(fnmatch.fnmatch(p.name, g) for g in globs)
    )
    if not clips:
        ap.error(f"no clip matches {globs}")
    provenance = ProvenanceOptions(edit_id=EDIT_ID)
    cases = [
        Case(
            label,
            EmotionTarget(emotion, 1.0),
            emotion,
            EditOptions(prototypes=p, provenance=provenance),
        )  # fmt: skip
        for label, p in variants.items()
    ]
    data: dict[str, Any] = {
        "schema": "emodirector.bench.prototype_files/1",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "emotion": emotion.value,
        "files": {s.partition("=")[0]: s.partition("=")[2] for s in args.file},
        "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="emodirector-protos-") as tmp:
        for clip in clips:
            for r in run_cases(clip, cases, Path(tmp)):
                s = r.summary
                row = {
                    "clip": clip.name,
                    "variant": r.case.name,
                    "p_after": num(s.p_after),
                    "dominant_after": s.dominant_after,
                    "lip_r": num(s.lip_correlation),
                    "closures_kept": num(s.closures_kept),
                    "wrongly_closed": num(s.wrongly_closed),
                }
                data["rows"].append(row)
                print(row, flush=True)
                write_json(args.out / "prototype_files.json", data)
    (args.out / "prototype_files.md").write_text(markdown(data))


def markdown(data: dict[str, Any]) -> str:
    header = ["clip", "variant", "p", "dominant", "lip r", "closed kept", "wrongly closed"]
    rows = [
        [
            r["clip"][:28],
            r["variant"],
            str(r["p_after"]),
            r["dominant_after"],
            str(r["lip_r"]),
            str(r["closures_kept"]),
            str(r["wrongly_closed"]),
        ]  # fmt: skip
        for r in data["rows"]
    ]
    commit = (data["machine"]["git_commit"] or "unknown")[:10]
    return "\n".join(
        [
            f"# Prototype files compared: {data['emotion']}",
            "",
            f"Measured {data['date']} (`benchmarks/prototype_files.py {' '.join(data['argv'])}`, "
            f"commit {commit}). Intensity 1, full render, edit id {EDIT_ID}. Files: "
            + ", ".join(f"{k} = `{v}`" for k, v in data["files"].items()),
            "",
            markdown_table(header, rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()
