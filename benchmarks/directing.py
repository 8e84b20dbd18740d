"""Directing run: edit clips by a reference photo, by FACS action units and by a timeline.

For each talking clip in ``$EMODIRECTOR_DATA/videos`` (default ``../shared/data``; tracked once per
clip with ``analyze_video`` and reused for every edit):

- reference mode: what ``read_reference`` reads from every photo in ``<data>/references``
  (named ``EMOTION__source``) against its label; then the clip is edited towards each of four
  references of other identities at intensity 1 and compared with the original (the comparison
  ``evaluate_edit`` makes; the original is measured once per clip): the label's probability
  before and after, dlib identity distance of the output to the input, lip-aperture correlation
  (dlib, as the evaluation reports it, and MediaPipe on the same tracks), and the dlib identity
  distance of the input and of the output to the reference photo (mean descriptor over the
  sampled frames), which shows whether the actor took on the reference's face;
- action-unit mode: ``AU12=0.8,AU6=0.6`` (happy) and ``AU4=0.8,AU7=0.6`` (angry);
- timeline mode: ``0:neutral, 1.5:happy@0.9, 3.5:sad`` with 0.5 s ramps (times scaled down on
  clips too short for it): the largest frame-to-frame jump of the edit's landmark offsets near
  each keyframe against the clip's own frame-to-frame landmark motion.

It also writes side-by-side face crops (input | each reference edit, the reference photos above)
for a few clips into ``--stills``.

Writes ``directing.json`` and ``directing.md`` into ``benchmarks/results`` (or ``--out``); the
JSON is rewritten after every clip, so an interrupted run keeps what it measured.

Usage::

    .venv/bin/python benchmarks/directing.py
    .venv/bin/python benchmarks/directing.py --clips 'grid_*' --no-timeline
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector import (  # noqa: E402
    ActionUnitTarget,
    Emotion,  # noqa: E402
    ReferenceExpression,
    ReferenceTarget,
    Timeline,
    VideoAnalysis,
    analyze_video,
    plan_edit,
    read_reference,
)
from emodirector.direct import Direction  # noqa: E402
from emodirector.errors import InvalidOptionError  # noqa: E402
from emodirector.evaluate.compare import EditEvaluation  # noqa: E402
from emodirector.evaluate.dlibface import DlibFace, dlib_box
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier  # noqa: E402
from emodirector.evaluate.lips import MIN_FRAMES, lip_aperture, lip_correlation  # noqa: E402
from emodirector.evaluate.measure import ClipMeasurements, measure_clip  # noqa: E402
from emodirector.pipeline import edited_landmarks  # noqa: E402
from emodirector.track.tracker import FaceTracker, TrackerOptions  # noqa: E402
from emodirector.video.reader import iter_frames, probe  # noqa: E402
from emodirector.video.rotation import to_upright, upright  # noqa: E402
from harness import Case, run_cases  # noqa: E402

VIDEO_SUFFIXES = {".mp4", ".mpg", ".mpeg", ".mov", ".mkv", ".m4v", ".avi", ".webm"}
#: References of identities other than the clips' actors, one per emotion.
REFERENCES = (
    "angry__mead_W009_level3_256_frame000.png",
    "happy__pyfeat_0-f15-hao-ph_woman_512.jpg",
    "sad__mead_M030_level3_256_frame040.png",
    "surprised__liveportrait_d19_man_720.jpg",
)
#: ``(name, spec, emotion it should raise)`` of the action-unit edits.
AU_SPECS = (
    ("au_happy", "AU12=0.8,AU6=0.6", "happy"),
    ("au_angry", "AU4=0.8,AU7=0.6", "angry"),
)
TIMELINE = "0:neutral, 1.5:happy@0.9, 3.5:sad"
TIMELINE_KEYS = ((0.0, "neutral", 1.0), (1.5, "happy", 0.9), (3.5, "sad", 1.0))
RAMP_SECONDS = 0.5
#: Seconds either side of a keyframe in which the edit's jump is measured.
KEY_WINDOW_S = 0.5
#: Clips (globs) of which side-by-side stills are written.
STILL_CLIPS = "grid_bbaf2n*,sadtalker_*,videoretalking_face3*"


@dataclass
class Reference:
    """A reference photo, what was read from it and its dlib descriptor."""

    path: Path
    label: str
    read: ReferenceExpression
    descriptor: np.ndarray | None


def label_of(path: Path) -> str:
    """The emotion a reference file is named after (``EMOTION__source.png``)."""
    return path.name.split("__", 1)[0]


def _num(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def photo_descriptor(path: Path, tracker: FaceTracker, dlib: DlibFace) -> np.ndarray | None:
    """dlib descriptor of the largest face in a photo (box from its MediaPipe landmarks)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    faces = tracker.detect_image(rgb)
    if not faces:
        return None
    return dlib.descriptor(rgb, dlib_box(faces[0]))


def read_references(
    folder: Path, wanted: tuple[str, ...] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Reference]]:
    """Read every reference photo; returns the accuracy rows and the ``wanted`` (default all)
    ``Reference``s by file name."""
    rows: list[dict[str, Any]] = []
    refs: dict[str, Reference] = {}
    with (
        FaceTracker(TrackerOptions()) as tracker,
        DlibFace() as dlib,
        EmotionClassifier() as classifier,
    ):
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".jpg"}):
            label = label_of(path)
            try:
                read = read_reference(path, classifier=classifier)
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                rows.append({"reference": path.name, "label": label, "error": str(exc)})
                continue
            weights = {
                e.value: _num(float(w), 3) for e, w in zip(read.emotions, read.weights, strict=True)
            }
            rows.append(
                {
                    "reference": path.name,
                    "label": label,
                    "read": read.dominant.value,
                    "correct": read.dominant.value == label,
                    "weights": weights,
                    "appearance": [_num(float(v), 3) for v in read.appearance],
                    "geometry": {
                        e.value: _num(float(w), 3)
                        for e, w in zip(read.emotions, read.geometry, strict=True)
                    },
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            if wanted is None or path.name in wanted:
                refs[path.name] = Reference(
                    path, label, read, photo_descriptor(path, tracker, dlib)
                )
    return rows, refs


def _mp_lip_r(a: ClipMeasurements, b: ClipMeasurements) -> float | None:
    """Lip-aperture correlation on the MediaPipe tracks both measurements already hold."""
    x = lip_aperture(np.asarray(a.track.landmarks, np.float64))
    y = lip_aperture(np.asarray(b.track.landmarks, np.float64))
    if int((np.isfinite(x) & np.isfinite(y)).sum()) < MIN_FRAMES:
        return None
    return _num(lip_correlation(x, y))


def _mean_descriptor(m: ClipMeasurements) -> np.ndarray | None:
    return m.descriptors.mean(axis=0) if len(m.descriptors) else None


def _dist(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    return None if a is None or b is None else _num(float(np.linalg.norm(a - b)))


def _scored(label: str) -> Emotion:
    """The emotion an edit towards ``label`` is evaluated against (neutral if unclassified)."""
    try:
        return Emotion.parse(label)
    except InvalidOptionError:
        return Emotion.NEUTRAL


def _summary(ev: EditEvaluation, emotion: str) -> dict[str, Any]:
    """The numbers of an evaluation that the tables show (no p for an unclassified label)."""
    s = ev.summary()
    p = s.probability(emotion) if emotion in EMOTION_CLASSES else (None, None)
    return {
        "target": emotion,
        "p_before": _num(p[0]),
        "p_after": _num(p[1]),
        "dominant_before": s.dominant_before,
        "dominant_after": s.dominant_after,
        "identity_to_input": _num(s.identity_distance, 6),
        "lip_r_dlib": _num(s.lip_correlation, 6),
        "lip_r_mediapipe": _mp_lip_r(ev.original, ev.edited),
    }


def _face_crop(rgb: np.ndarray, landmarks: np.ndarray, size: int = 256) -> np.ndarray:
    """A square crop around the face (1.3 x its landmark extent), resized to ``size``."""
    x0, y0 = np.nanmin(landmarks[:, :2], axis=0)
    x1, y1 = np.nanmax(landmarks[:, :2], axis=0)
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.65 * max(x1 - x0, y1 - y0)
    h, w = rgb.shape[:2]
    pad = int(half) + 2
    big = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
    a, b = int(cx - half) + pad, int(cy - half) + pad
    crop = big[b : b + int(2 * half), a : a + int(2 * half)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _frame(path: Path, index: int) -> np.ndarray | None:
    """Upright RGB frame ``index`` of a video."""
    info = probe(path)
    for f in iter_frames(info, "rgb24"):
        if f.index == index:
            return upright(f.image, info.rotation)
    return None


def _photo_crop(path: Path, size: int = 256) -> np.ndarray:
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    with FaceTracker(TrackerOptions()) as tracker:
        faces = tracker.detect_image(rgb)
    return _face_crop(rgb, faces[0], size) if faces else cv2.resize(rgb, (size, size))


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 2)
    return out


def natural_motion(analysis: VideoAnalysis) -> np.ndarray:
    """Per frame, the max landmark displacement (px) from the previous frame (NaN if unknown)."""
    lm = np.asarray(analysis.track.landmarks[:, :, :2], np.float64)
    present = analysis.track.present
    out = np.full(len(lm), np.nan)
    both = present[1:] & present[:-1]
    step = np.linalg.norm(lm[1:] - lm[:-1], axis=-1).max(axis=-1)
    out[1:][both] = step[both]
    return out


def timeline_jumps(analysis: VideoAnalysis, timeline: Timeline) -> np.ndarray:
    """Per frame, the max landmark change (px) of the edit's offsets from the previous frame."""
    edit = plan_edit(analysis, timeline)
    track = analysis.track
    n = track.n_frames
    offsets = np.full((n, track.landmarks.shape[1], 2), np.nan)
    for i in range(n):
        if not track.present[i]:
            continue
        dst = edited_landmarks(analysis, edit, i)
        offsets[i] = 0.0 if dst is None else dst[:, :2] - track.landmarks[i, :, :2]
    jump = np.full(n, np.nan)
    step = np.linalg.norm(offsets[1:] - offsets[:-1], axis=-1).max(axis=-1)
    jump[1:] = step
    return jump


def _timeline_for(duration: float) -> tuple[Timeline, float]:
    """The timeline, its times scaled down if the clip ends before the last keyframe + window."""
    last = TIMELINE_KEYS[-1][0]
    scale = 1.0 if duration >= last + KEY_WINDOW_S else (duration - KEY_WINDOW_S) / last
    text = ", ".join(
        f"{t * scale:.3f}:{e}" + (f"@{v:g}" if v != 1.0 else "") for t, e, v in TIMELINE_KEYS
    )
    return Timeline.parse(text, read_reference, ramp_seconds=RAMP_SECONDS), scale


def _edit_and_compare(
    clip: Path,
    out: Path,
    target: Direction,
    analysis: VideoAnalysis,
    original: ClipMeasurements,
    emotion: str,
    keep: Callable[[Path], None] | None = None,
) -> tuple[EditEvaluation, float]:
    """One case of ``run_cases`` (its file is ``out``, passed to ``keep`` before deletion);
    the evaluation and the seconds of edit, measure and compare."""
    case = Case(out.stem.removeprefix(f"{clip.stem}__"), target, _scored(emotion))
    [row] = run_cases(
        clip,
        [case],
        out.parent,
        analysis=analysis,
        original=original,
        keep=None if keep is None else lambda _, path: keep(path),
    )
    return row.evaluation, row.seconds


def run_clip(
    clip: Path,
    refs: dict[str, Reference],
    work: Path,
    stills: Path | None,
    modes: set[str],
    all_refs: dict[str, Reference] | None = None,
) -> dict[str, Any]:
    """All edits of one clip (``all_refs``: also towards each of these); returns its results."""
    t0 = time.perf_counter()
    analysis = analyze_video(clip)
    original = measure_clip(clip)
    in_desc = _mean_descriptor(original)
    row: dict[str, Any] = {
        "clip": clip.name,
        "frames": int(analysis.track.n_frames),
        "seconds": _num(float(analysis.info.duration), 3),
        "reference": {},
        "action_units": {},
    }
    still_at = int(original.identity_frames[len(original.identity_frames) // 2])
    crops: list[np.ndarray] = []
    if stills is not None:
        rgb = _frame(clip, still_at)
        pts = to_upright(
            analysis.track.landmarks[still_at], analysis.info.rotation, analysis.track.frame_size
        )
        if rgb is not None:
            crops.append(_label(_face_crop(rgb, pts), "input"))
    if "reference" in modes:
        for name, ref in refs.items():
            out = work / f"{clip.stem}__{ref.label}.mp4"
            shown: list[np.ndarray | None] = []  # the still frame of the edit, read before deletion
            grab = (lambda p, s=shown: s.append(_frame(p, still_at))) if stills and crops else None
            ev, t_edit = _edit_and_compare(
                clip, out, ReferenceTarget(ref.read, 1.0), analysis, original, ref.label, grab
            )
            r = _summary(ev, ref.label)
            r["reference"] = name
            r["identity_to_reference_input"] = _dist(in_desc, ref.descriptor)
            r["identity_to_reference_output"] = _dist(_mean_descriptor(ev.edited), ref.descriptor)
            r["edit_seconds"] = _num(t_edit, 2)
            row["reference"][ref.label] = r
            print(json.dumps({"clip": clip.name, **r}), flush=True)
            if shown:
                rgb = shown[0]
                pts = to_upright(
                    analysis.track.landmarks[still_at],
                    analysis.info.rotation,
                    analysis.track.frame_size,
                )
                if rgb is not None:
                    crops.append(_label(_face_crop(rgb, pts), f"-> {ref.label}"))
            out.unlink(missing_ok=True)
    if all_refs:
        row["reference_all"] = {}
        for name, ref in all_refs.items():
            out = work / f"{clip.stem}__all.mp4"
            ev, t_edit = _edit_and_compare(
                clip, out, ReferenceTarget(ref.read, 1.0), analysis, original, _scored(ref.label)
            )
            out.unlink(missing_ok=True)
            r = _summary(ev, ref.label)
            r["read"] = ref.read.dominant.value
            r["identity_to_reference_input"] = _dist(in_desc, ref.descriptor)
            r["identity_to_reference_output"] = _dist(_mean_descriptor(ev.edited), ref.descriptor)
            row["reference_all"][name] = r
            print(json.dumps({"clip": clip.name, "reference": name, **r}), flush=True)
    if "au" in modes:
        for key, spec, emotion in AU_SPECS:
            out = work / f"{clip.stem}__{key}.mp4"
            ev, t_edit = _edit_and_compare(
                clip, out, ActionUnitTarget.parse(spec), analysis, original, emotion
            )
            r = {"spec": spec, **_summary(ev, emotion), "edit_seconds": _num(t_edit, 2)}
            row["action_units"][key] = r
            print(json.dumps({"clip": clip.name, **r}), flush=True)
            out.unlink(missing_ok=True)
    if "timeline" in modes:
        row["timeline"] = run_timeline(clip, analysis, original, work)
        print(json.dumps({"clip": clip.name, "timeline": row["timeline"]}), flush=True)
    if stills is not None and len(crops) > 1:
        top = [np.zeros_like(crops[0])] + [
            _label(_photo_crop(ref.path), f"ref {ref.label}") for ref in refs.values()
        ]
        grid = np.vstack([np.hstack(top[: len(crops)]), np.hstack(crops)])
        stills.mkdir(parents=True, exist_ok=True)
        png = stills / f"{clip.stem}_f{still_at}.png"
        cv2.imwrite(str(png), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        row["still"] = str(png)
    row["clip_seconds"] = _num(time.perf_counter() - t0, 1)
    return row


def run_timeline(
    clip: Path, analysis: VideoAnalysis, original: ClipMeasurements, work: Path
) -> dict[str, Any]:
    """The timeline edit of one clip: jumps near keyframes against natural motion, lips."""
    duration = float(analysis.info.duration)
    timeline, scale = _timeline_for(duration)
    jump = timeline_jumps(analysis, timeline)
    natural = natural_motion(analysis)
    times = np.asarray(analysis.track.times, np.float64)
    nat_p95 = float(np.nanpercentile(natural, 95))
    nat_med = float(np.nanmedian(natural))
    keys = []
    for k in timeline.keyframes:
        near = np.abs(times - k.time) <= KEY_WINDOW_S
        vals = jump[near]
        worst = float(np.nanmax(vals)) if np.isfinite(vals).any() else float("nan")
        keys.append(
            {
                "time": _num(k.time, 3),
                "target": getattr(k.target, "emotion", Emotion.NEUTRAL).value,
                "intensity": _num(float(k.target.intensity), 3),
                "max_jump_px": _num(worst, 3),
            }
        )
    worst_all = max((k["max_jump_px"] or 0.0) for k in keys)
    out = work / f"{clip.stem}__timeline.mp4"
    ev, t_edit = _edit_and_compare(clip, out, timeline, analysis, original, "happy")
    out.unlink(missing_ok=True)
    s = _summary(ev, "happy")
    # the emotion in each held stretch (after its ramp), before and after the edit
    probs_b, probs_a = ev.original.emotion.probabilities, ev.edited.emotion.probabilities
    classes = list(EMOTION_CLASSES)  # the columns of the probabilities
    held = []
    bounds = [k.time for k in timeline.keyframes] + [duration + 1.0]
    for i, k in enumerate(timeline.keyframes):
        name = keys[i]["target"]
        sel = (times >= k.time) & (times < bounds[i + 1])
        c = classes.index(name)
        held.append(
            {
                "target": name,
                "from": _num(k.time, 3),
                "p_before": _num(float(np.nanmean(probs_b[sel, c]))) if sel.any() else None,
                "p_after": _num(float(np.nanmean(probs_a[sel, c]))) if sel.any() else None,
            }
        )
    return {
        "spec": ", ".join(f"{k['time']}:{k['target']}@{k['intensity']}" for k in keys),
        "time_scale": _num(scale, 3),
        "ramp_seconds": RAMP_SECONDS,
        "keyframes": keys,
        "max_jump_near_keyframes_px": _num(worst_all, 3),
        "edit_jump_p95_px": _num(float(np.nanpercentile(jump, 95)), 3),
        "natural_motion_median_px": _num(nat_med, 3),
        "natural_motion_p95_px": _num(nat_p95, 3),
        "smooth": bool(worst_all <= nat_p95),
        "held": held,
        "lip_r_dlib": s["lip_r_dlib"],
        "lip_r_mediapipe": s["lip_r_mediapipe"],
        "identity_to_input": s["identity_to_input"],
        "edit_seconds": _num(t_edit, 2),
    }


def _f(x: object, digits: int = 3) -> str:
    return "n/a" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def markdown(result: dict[str, Any]) -> str:
    """The report: one table per mode."""
    lines = [
        "# Directing: reference photo, action units, timeline",
        "",
        f"Measured {result['date']} on {result['machine']['cpu_model']} "
        f"({result['machine']['cpus_usable']} cores, shared; load at start "
        f"{result['machine']['loadavg_at_start'][0]:.1f}). Identity: dlib descriptor distance "
        "(same person below 0.6). Lip r: Pearson r of the inner-lip aperture, output vs input "
        "(dlib 68-point, as `evaluate` reports it; MediaPipe on the same tracks).",
        "",
        "## What `read_reference` reads from each photo",
        "",
    ]
    reads = result["reference_reads"]
    scored = [r for r in reads if "read" in r]
    hits = sum(r["correct"] for r in scored)
    lines.append(f"Dominant read equals the label on {hits} of {len(reads)} photos.")
    lines.append("")
    rows = []
    for r in reads:
        if "read" not in r:
            rows.append([r["reference"], r["label"], "error", "no", r["error"]])
            continue
        top = sorted(r["weights"].items(), key=lambda kv: -(kv[1] or 0))[:3]
        rows.append(
            [
                r["reference"],
                r["label"],
                r["read"],
                "yes" if r["correct"] else "**no**",
                ", ".join(f"{k} {v:.2f}" for k, v in top),
            ]
        )
    lines += [markdown_table(["photo", "label", "read", "correct", "weights (top 3)"], rows), ""]
    clips = result["clips"]
    ref_rows = []
    for c in clips:
        for label, r in c.get("reference", {}).items():
            ref_rows.append(
                [
                    c["clip"][:40],
                    label,
                    f"{_f(r['p_before'])} → {_f(r['p_after'])}",
                    _f(r["identity_to_input"]),
                    f"{_f(r['identity_to_reference_input'])} → "
                    f"{_f(r['identity_to_reference_output'])}",
                    _f(r["lip_r_dlib"]),
                    _f(r["lip_r_mediapipe"]),
                ]
            )
    if ref_rows:
        lines += [
            "## Reference mode (intensity 1)",
            "",
            "References: " + ", ".join(f"`{n}`" for n in result["references"]) + ".",
            "p: the reference label's probability (mean over frames). Identity to reference: "
            "distance of the input's, then the output's, mean descriptor to the photo's.",
            "",
            markdown_table(
                [
                    "clip",
                    "reference",
                    "p before → after",
                    "identity to input",
                    "identity to reference (in → out)",
                    "lip r dlib",
                    "lip r MP",
                ],
                ref_rows,
            ),
            "",
        ]
    for c in clips:
        if not c.get("reference_all"):
            continue
        all_rows = [
            [
                name,
                r["read"],
                f"{_f(r['p_before'])} → {_f(r['p_after'])}",
                _f(r["identity_to_input"]),
                f"{_f(r['identity_to_reference_input'])} → {_f(r['identity_to_reference_output'])}",
                _f(r["lip_r_dlib"]),
                _f(r["lip_r_mediapipe"]),
            ]
            for name, r in c["reference_all"].items()
        ]
        lines += [
            f"### Every reference photo on `{c['clip']}`",
            "",
            "p: the photo's label (none for contempt, which the classifier lacks).",
            "",
            markdown_table(
                [
                    "reference",
                    "read as",
                    "label p before → after",
                    "identity to input",
                    "identity to reference (in → out)",
                    "lip r dlib",
                    "lip r MP",
                ],
                all_rows,
            ),
            "",
        ]
    au_rows = []
    for c in clips:
        for r in c.get("action_units", {}).values():
            au_rows.append(
                [
                    c["clip"][:40],
                    r["spec"],
                    r["target"],
                    f"{_f(r['p_before'])} → {_f(r['p_after'])}",
                    _f(r["identity_to_input"]),
                    _f(r["lip_r_dlib"]),
                    _f(r["lip_r_mediapipe"]),
                ]
            )
    if au_rows:
        lines += [
            "## Action-unit mode",
            "",
            markdown_table(
                [
                    "clip",
                    "units",
                    "emotion",
                    "p before → after",
                    "identity to input",
                    "lip r dlib",
                    "lip r MP",
                ],
                au_rows,
            ),
            "",
        ]
    tl_rows = []
    for c in clips:
        t = c.get("timeline")
        if not t:
            continue
        tl_rows.append(
            [
                c["clip"][:40],
                _f(t["time_scale"], 2),
                " / ".join(_f(k["max_jump_px"], 2) for k in t["keyframes"]),
                _f(t["natural_motion_median_px"], 2),
                _f(t["natural_motion_p95_px"], 2),
                "yes" if t["smooth"] else "**no**",
                " ".join(
                    f"{h['target'][:3]} {_f(h['p_before'], 2)}→{_f(h['p_after'], 2)}"
                    for h in t["held"]
                ),
                _f(t["lip_r_dlib"]),
                _f(t["lip_r_mediapipe"]),
            ]
        )
    if tl_rows:
        lines += [
            "## Timeline mode",
            "",
            f"`{TIMELINE}`, ramps {RAMP_SECONDS} s (times scaled by the given factor on clips "
            f"shorter than {TIMELINE_KEYS[-1][0] + KEY_WINDOW_S} s). Edit jump: max over "
            "landmarks of the change of the edit's offset from the previous frame, worst frame "
            f"within ±{KEY_WINDOW_S} s of each keyframe (px). Natural motion: max landmark "
            "displacement between consecutive tracked frames of the input. Smooth: worst jump "
            "≤ natural p95. Held: the keyframe emotion's probability while it is held.",
            "",
            markdown_table(
                [
                    "clip",
                    "scale",
                    "max jump at keys (px)",
                    "natural median",
                    "natural p95",
                    "smooth",
                    "held p before→after",
                    "lip r dlib",
                    "lip r MP",
                ],
                tl_rows,
            ),
            "",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the directing benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--clips", default="*", help="glob of clip names (default all)")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--no-au", action="store_true")
    ap.add_argument("--no-timeline", action="store_true")
    ap.add_argument("--stills", type=Path, default=Path("/tmp/directing_stills"))
    ap.add_argument(
        "--all-refs",
        default="",
        help="comma-separated clip globs also edited towards every reference photo",
    )
    ap.add_argument("--still-clips", default=STILL_CLIPS, help="comma-separated clip globs")
    args = ap.parse_args()
    modes = {"reference", "au", "timeline"} - {
        m
        for m, off in (
            ("reference", args.no_reference),
            ("au", args.no_au),
            ("timeline", args.no_timeline),
        )
        if off
    }
    clips = sorted(
        p
        for p in (args.data / "videos").iterdir()
        if p.suffix.lower() in VIDEO_SUFFIXES and fnmatch.fnmatch(p.name, args.clips)
    )
    t0 = time.perf_counter()
    reads, every = read_references(args.data / "references")
    refs = {name: every[name] for name in REFERENCES}
    result: dict[str, Any] = {
        "schema": "emodirector.bench.directing/1",
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine_info(),
        "references": list(REFERENCES),
        "reference_reads": reads,
        "reference_read_correct": sum(bool(r.get("correct")) for r in reads),
        "reference_read_total": len(reads),
        "clips": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            pick = any(fnmatch.fnmatch(clip.name, g) for g in args.still_clips.split(",") if g)
            stills = args.stills if pick else None
            full = args.all_refs and any(
                fnmatch.fnmatch(clip.name, g) for g in args.all_refs.split(",") if g
            )
            result["clips"].append(
                run_clip(clip, refs, Path(tmp), stills, modes, every if full else None)
            )
            result["total_seconds"] = _num(time.perf_counter() - t0, 1)
            write_json(args.out / "directing.json", result)
            (args.out / "directing.md").write_text(markdown(result))
    write_json(args.out / "directing.json", result)
    (args.out / "directing.md").write_text(markdown(result))
    print(f"wrote {args.out / 'directing.md'} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
