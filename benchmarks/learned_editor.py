"""Learned editor against the prototype editor, on held-out MEAD actors (leave one actor out).

For each of the three shared MEAD actors: the manipulator is trained on the other two
(``train-manipulator --labels`` of their clips, same seed and steps as the shipped one, made
beforehand: ``--models DIR`` holds ``without_<ACTOR>.pt``), and the held-out actor's neutral take
is edited towards each emotion at intensity 1 with both editors. The prototype editor uses the
packaged prototypes and detail, which were calibrated with all three actors, the held-out one
included: that favours the prototype editor (``--held-out-prototypes`` calibrates them from the
other two, which needs every clip tracked: three times the time). Per edit:

- ``p``: evaluate's classifier, mean target probability over every ``--step``-th frame of the
  rendered edit (the acted take of the same actor and emotion is read the same way: ``acted``);
- speech: ``fit.speech.speech_check`` of the planned output against the input (timing r,
  closures kept, amplitude);
- dynamics: median frame-to-frame change of the edited face's expression landmarks (canonical
  units), against the same of the actor's acted take of that emotion.

    python benchmarks/learned_editor.py --models /tmp/loao [--step 4]

Writes ``benchmarks/results/learned_editor.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector.calibrate.detail import calibrate_detail  # noqa: E402
from emodirector.calibrate.prototypes import (  # noqa: E402
    calibrate_prototypes,
    find_mead_clips,
    fit_labeled_clips,
)
from emodirector.calibrate.strength import _read, _sampled  # noqa: E402
from emodirector.emotion import EXPRESSIVE, Emotion  # noqa: E402
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier  # noqa: E402
from emodirector.fit.expression import emotion_feature_indices  # noqa: E402
from emodirector.fit.speech import speech_check  # noqa: E402
from emodirector.manipulate.editor import PrototypeEditor  # noqa: E402
from emodirector.manipulate.emotions import EmotionTarget  # noqa: E402
from emodirector.manipulate.learned.editor import LearnedEditor  # noqa: E402
from emodirector.manipulate.prototypes import EmotionPrototypes  # noqa: E402
from emodirector.pipeline import (  # noqa: E402
    VideoAnalysis,
    edited_landmarks,
    plan_edit,
    render_frame,
)
from emodirector.video.reader import iter_frames, probe  # noqa: E402


def _dynamics(canonical: np.ndarray) -> float:
    """Median over frames of the RMS frame-to-frame change of the expression landmarks."""
    idx = emotion_feature_indices(include_eyelids=False)
    c = np.asarray(canonical, np.float64)[:, idx]
    step = np.sqrt((np.diff(c, axis=0) ** 2).sum(-1).mean(-1))
    return float(np.nanmedian(step))


def talking(names: list[str], step: int) -> None:
    """The shipped manipulator and the packaged prototypes on shared talking clips (neither was
    trained on them): target p, speech check, per clip and emotion; ``learned_talking.json``."""
    from emodirector.pipeline import analyze_video

    rows = []
    editors = {"prototype": PrototypeEditor(), "learned": LearnedEditor()}
    with EmotionClassifier() as clf:
        for name in names:
            path = data_dir() / "videos" / name
            analysis = analyze_video(path)
            vinfo, track = analysis.info, analysis.track
            frames = [(f.index, f.image) for f in iter_frames(vinfo, "yuv420p")
                      if f.index % step == 0 and f.index < track.n_frames
                      and track.present[f.index]]  # fmt: skip
            canonical = np.asarray(analysis.fit.canonical)
            for e in EXPRESSIVE:
                k = EMOTION_CLASSES.index(e.value)
                row: dict[str, Any] = {"clip": name, "emotion": e.value}
                for ename, editor in editors.items():
                    edit = plan_edit(analysis, EmotionTarget(e, 1.0), editor)
                    faces = []
                    for t, img in frames:
                        moved = edited_landmarks(analysis, edit, t)
                        faces.append((render_frame(img, t, analysis, edit),
                                      track.landmarks[t] if moved is None else moved))  # fmt: skip
                    row[f"{ename}_p"] = _read(clf, faces, vinfo.rotation, k)
                    out = canonical + edit.offsets(slice(None))
                    row[f"{ename}_speech"] = speech_check(
                        canonical, out, analysis.fit.segment
                    ).to_dict()
                rows.append(row)
                print(f"{name} {e.value}: prototype {row['prototype_p']:.3f} learned "
                      f"{row['learned_p']:.3f}", flush=True)  # fmt: skip
    write_json(RESULTS_DIR / "learned_talking.json", {"rows": rows, "step": step})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, help="folder of without_<ACTOR>.pt")
    ap.add_argument("--step", type=int, default=4, help="read every STEP-th frame")
    ap.add_argument("--wait", action="store_true", help="wait for models still being trained")
    ap.add_argument("--held-out-prototypes", action="store_true",
                    help="calibrate the prototype editor's data from the other actors too")
    ap.add_argument("--actors", nargs="*", help="held-out actors (all by default; the rows of "
                    "other actors already in the results are kept)")  # fmt: skip
    ap.add_argument("--talking", nargs="*", help="instead: shared talking clips (file names)")
    args = ap.parse_args()
    if args.talking:
        talking(args.talking, args.step)
        return
    start = time.perf_counter()
    info = machine_info()
    clips = find_mead_clips(data_dir() / "labeled" / "mead")
    if args.actors and not args.held_out_prototypes:
        clips = [c for c in clips if c.actor in args.actors]
    fits = fit_labeled_clips(clips, print)
    packaged = EmotionPrototypes.load_default()
    by_actor: dict[str, dict[Emotion, Any]] = {}
    for f in fits:
        by_actor.setdefault(f.clip.actor, {})[f.clip.emotion] = f
    actors = args.actors or sorted(by_actor)
    rows: list[dict[str, Any]] = []
    with EmotionClassifier() as clf:
        for held in actors:
            protos, detail = packaged, None
            if args.held_out_prototypes:
                rest = [f for f in fits if f.clip.actor != held]
                protos = calibrate_prototypes(rest)
                strength = np.array([packaged.strength[packaged.index(e)]
                                     for e in protos.emotions], np.float32)  # fmt: skip
                protos = dataclasses.replace(protos, strength=strength)
                detail = calibrate_detail(rest)
            model = args.models / f"without_{held}.pt"
            while args.wait and not model.is_file():  # still training
                time.sleep(10)
            editors = {"prototype": PrototypeEditor(protos), "learned": LearnedEditor(model)}
            neutral = by_actor[held][Emotion.NEUTRAL]
            vinfo = probe(neutral.clip.path)
            analysis = VideoAnalysis(info=vinfo, track=neutral.track, fit=neutral.fit)
            frames = _sampled(neutral, vinfo, args.step)
            canonical = np.asarray(neutral.fit.canonical)
            for e in EXPRESSIVE:
                k = EMOTION_CLASSES.index(e.value)
                acted = by_actor[held][e]
                ainfo = probe(acted.clip.path)
                acted_faces = [(img, acted.track.landmarks[t])
                               for t, img in _sampled(acted, ainfo, args.step)]  # fmt: skip
                row: dict[str, Any] = {
                    "actor": held, "emotion": e.value,
                    "acted_p": _read(clf, acted_faces, ainfo.rotation, k),
                    "acted_dynamics": _dynamics(acted.fit.canonical),
                    "input_p": _read(clf, [(img, neutral.track.landmarks[t]) for t, img in frames],
                                     vinfo.rotation, k),
                }  # fmt: skip
                for name, editor in editors.items():
                    t0 = time.perf_counter()
                    edit = plan_edit(analysis, EmotionTarget(e, 1.0), editor, prototypes=protos)
                    row[f"{name}_plan_ms_per_frame"] = (
                        1000 * (time.perf_counter() - t0) / neutral.fit.n_frames
                    )
                    faces = []
                    for t, img in frames:
                        moved = edited_landmarks(analysis, edit, t)
                        out = render_frame(img, t, analysis, edit, detail=detail)
                        faces.append((out, neutral.track.landmarks[t] if moved is None else moved))
                    row[f"{name}_p"] = _read(clf, faces, vinfo.rotation, k)
                    output = canonical + edit.offsets(slice(None))
                    check = speech_check(canonical, output, neutral.fit.segment)
                    row[f"{name}_speech"] = check.to_dict()
                    row[f"{name}_dynamics"] = _dynamics(output)
                rows.append(row)
                print(f"{held} {e.value}: acted {row['acted_p']:.3f} prototype "
                      f"{row['prototype_p']:.3f} learned {row['learned_p']:.3f}",
                      flush=True)  # fmt: skip
    old = RESULTS_DIR / "learned_editor.json"
    if args.actors and old.is_file():  # a run for some actors keeps the others' rows
        kept = [r for r in json.loads(old.read_text())["rows"] if r["actor"] not in actors]
        rows = kept + rows
        actors = sorted({r["actor"] for r in rows})
    summary = {}
    for e in EXPRESSIVE:
        sel = [r for r in rows if r["emotion"] == e.value]
        summary[e.value] = {
            key: float(np.mean([r[key] for r in sel]))
            for key in ("acted_p", "input_p", "prototype_p", "learned_p", "acted_dynamics",
                        "prototype_dynamics", "learned_dynamics")
        }  # fmt: skip
        for name in ("prototype", "learned"):
            summary[e.value][f"{name}_speech_passed"] = sum(
                bool(r[f"{name}_speech"]["passed"]) for r in sel
            )
            summary[e.value][f"{name}_min_timing_r"] = min(
                min(x for x in r[f"{name}_speech"]["timing_r"] if x is not None) for r in sel
            )
    result = {"machine": info, "step": args.step, "actors": actors, "rows": rows,
              "held_out_prototypes": bool(args.held_out_prototypes),
              "summary": summary, "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    write_json(RESULTS_DIR / "learned_editor.json", result)
    table = markdown_table(
        ["emotion", "acted p", "input p", "prototype p", "learned p", "speech ok (proto/learned)",
         "min timing r (proto/learned)", "dynamics acted/proto/learned"],
        [[e, f"{s['acted_p']:.3f}", f"{s['input_p']:.3f}", f"{s['prototype_p']:.3f}",
          f"{s['learned_p']:.3f}",
          f"{s['prototype_speech_passed']}/{len(actors)}, "
          f"{s['learned_speech_passed']}/{len(actors)}",
          f"{s['prototype_min_timing_r']:.3f} / {s['learned_min_timing_r']:.3f}",
          f"{s['acted_dynamics']:.4f} / {s['prototype_dynamics']:.4f} / "
          f"{s['learned_dynamics']:.4f}"]
         for e, s in summary.items()],
    )  # fmt: skip
    md = (f"# Learned vs prototype editor, leave one MEAD actor out\n\nHeld-out actors: "
          f"{', '.join(actors)}; every {args.step}th frame read; load at start "
          f"{info['loadavg_at_start'][0]:.1f}; {result['seconds']} s.\n\n{table}\n")  # fmt: skip
    (RESULTS_DIR / "learned_editor.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
