"""Expression run: is every emotion readable, against real acted footage measured the same way?

The measurement for "make every emotion readable". For each talking clip in
``$EMODIRECTOR_DATA/videos`` (default ``../shared/data``; tracked once with ``analyze_video`` and
reused for every edit; the original measured once with ``measure_clip``) and each emotion at
intensity 1, the clip is edited twice, with the default renderer and with the mesh warp only
(``RenderOptions(detail=False, eyes=False)``), and each edit is compared with the original by
``compare_clips``: the target probability of the FER2013 classifier (mean over frames with a face),
dlib identity distance to the input, dlib lip-aperture correlation, flicker inside the face.

The bar is set by MEAD, measured in the same run with the same classifier: per emotion, the mean
over the actors (M030, W009, W011) of each level-3 clip's mean target probability; and, for
identity, the dlib distance between each actor's acted and neutral takes (distance of the clips'
mean descriptors over the frames ``measure_clip`` samples). An edit passes when:

- happy, angry, sad, surprised: ``p_after`` >= the MEAD reference of the emotion (fearful and
  disgusted are reported, not judged: the classifier reads them poorly even on MEAD);
- lip correlation >= 0.95; identity distance <= the MEAD reference of the emotion (mean over the
  actors); flicker inside the face <= the input's.

Speed: per clip, ``surprised`` is edited with the warp only, with detail, with eyes and with both
(the default), back to back, and the per-stage wall time of ``EditResult.seconds`` is reported in
ms per frame, so that the cost of detail and eyes can be read off.

Stills: per clip, the input face crop and the six emotions (default renderer) at the middle frame
with a face, into ``<out>/stills/expression/<clip-stem>.png``.

Writes ``expression.json`` (rewritten after every clip) and ``expression.md`` into
``benchmarks/results`` (or ``--out``). If ``benchmarks/results/quality.json`` (``--previous``)
exists, its intensity-1 ``p_after`` is shown as "previous". With ``--no-mead`` the MEAD reference
of the ``expression.json`` already in ``--out`` (if any) is reused, and the report says so.

Usage::

    .venv/bin/python benchmarks/expression.py
    .venv/bin/python benchmarks/expression.py --clips 'grid_bbaf2n*' --emotions happy,surprised
    .venv/bin/python benchmarks/expression.py --no-mead --no-timing --no-stills
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import inspect
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    RESULTS_DIR,
    CpuMeter,
    data_dir,
    machine_info,
    markdown_table,
    write_json,
)
from directing import _face_crop, _label, _num  # noqa: E402
from emodirector import (  # noqa: E402
    EditOptions,
    EditResult,
    Emotion,
    EmotionTarget,
    RenderOptions,
    VideoAnalysis,
    analyze_video,
    edit_video,
    plan_edit,
    render_frame,
)
from emodirector.calibrate.ceiling import (  # noqa: E402
    FRAME_STEP,
    Take,
    read_take,
    speech_kept_reading,
)
from emodirector.emotion import EXPRESSIVE  # noqa: E402
from emodirector.errors import InvalidOptionError  # noqa: E402
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier  # noqa: E402
from emodirector.evaluate.measure import measure_clip  # noqa: E402
from emodirector.track.tracker import FaceTracker, TrackerOptions  # noqa: E402
from emodirector.video.reader import iter_frames  # noqa: E402
from emodirector.video.rotation import to_upright, upright  # noqa: E402
from harness import Case, CaseRow, run_cases  # noqa: E402

VIDEO_SUFFIXES = {".mp4", ".mpg", ".mpeg", ".mov", ".mkv", ".m4v", ".avi", ".webm"}
EMOTIONS = tuple(e.value for e in EXPRESSIVE)
#: Emotions judged against MEAD (the classifier reads the other two poorly even on MEAD).
JUDGED = tuple(e.value for e in (Emotion.HAPPY, Emotion.ANGRY, Emotion.SAD, Emotion.SURPRISED))
MEAD_ACTORS = ("M030", "W009", "W011")
INTENSITY = 1.0
LIP_R_MIN = 0.95
#: The renderer variants: quality is measured for the first two, speed for all four.
VARIANTS: dict[str, RenderOptions] = {
    "warp": RenderOptions(detail=False, eyes=False),
    "default": RenderOptions(),
    "detail": RenderOptions(detail=True, eyes=False),
    "eyes": RenderOptions(detail=False, eyes=True),
}
QUALITY_VARIANTS = ("warp", "default")
TIMING_VARIANTS = ("warp", "detail", "eyes", "default")
TIMING_EMOTION = "surprised"
#: Stages of ``EditResult.seconds`` that are not the per-frame face work.
IO_STAGES = ("track", "fit", "manipulate", "decode", "encode")
STILL_TILE_PX = 240
#: Stills larger than this are written again with smaller tiles.
STILL_MAX_BYTES = 400_000
#: Timed edits per renderer variant (interleaved; the one with the least face time is kept).
TIMING_REPEATS = 3


# ---------------------------------------------------------------------------------------------
# helpers (no data, no models)


def mead_label(path: Path) -> tuple[str, str] | None:
    """``(actor, emotion)`` of a MEAD file name (``M030_front_fear_level3_001.mp4``).

    None for contempt (the classifier has no such class) and for names that do not parse.

    >>> mead_label(Path("M030_front_fear_level3_001.mp4"))
    ('M030', 'fearful')
    >>> mead_label(Path("W009_front_contempt_level3_001.mp4")) is None
    True
    """
    parts = path.stem.split("_")
    if len(parts) < 3:
        return None
    try:
        return parts[0], Emotion.parse(parts[2]).value
    except InvalidOptionError:
        return None


def previous_p(quality: dict[str, Any] | None, clip: str, emotion: str) -> float | None:
    """``p_after`` at intensity 1 of ``clip`` x ``emotion`` in a ``quality.json`` (or None).

    >>> q = {"edits": [{"clip": "a.mp4", "emotion": "sad", "intensity": 1.0, "p_after": 0.4}]}
    >>> previous_p(q, "a.mp4", "sad"), previous_p(q, "a.mp4", "happy")
    (0.4, None)
    """
    for row in (quality or {}).get("edits", []):
        if (
            row.get("clip") == clip
            and row.get("emotion") == emotion
            and abs(float(row.get("intensity", 0.0)) - INTENSITY) < 1e-9
        ):
            return row.get("p_after")
    return None


def stage_ms(seconds: dict[str, float], frames: int) -> dict[str, float | None]:
    """Per-stage wall time in ms per frame, plus ``face``: every stage that is not I/O.

    >>> stage_ms({"decode": 0.1, "render": 0.2, "blend": 0.1, "eyes": 0.1}, 100)["face"]
    4.0
    """
    if frames <= 0:
        return {}
    out: dict[str, float | None] = {k: _num(1000.0 * v / frames, 3) for k, v in seconds.items()}
    out["face"] = _num(
        1000.0 * sum(v for k, v in seconds.items() if k not in IO_STAGES) / frames, 3
    )
    return out


def checks(
    row: dict[str, Any], p_ref: float | None, id_ref: float | None, kept_ref: float | None = None
) -> dict[str, bool | None]:
    """The four acceptance checks of one edit (None where not judged or not measurable).

    ``read`` is against MEAD's acted takes, ``read_kept`` against the same takes with the
    neutral take's mouth pasted in (the ceiling of an edit that keeps the speech mouth).

    The identity check is like for like: the distance between the mean dlib descriptors of the
    edit and its input, against the same distance between a MEAD actor's acted and neutral takes.

    ``flicker`` compares the raw frame-to-frame change inside the face (which also counts
    texture moving with the face); ``flicker_mc`` the motion-compensated one.

    >>> r = {"emotion": "sad", "p_after": 0.5, "lip_r": 0.96, "identity_mean_descriptor": 0.2,
    ...      "flicker_before": 2.0, "flicker_after": 2.1,
    ...      "flicker_mc_before": 1.0, "flicker_mc_after": 0.9}
    >>> checks(r, 0.4, 0.3, 0.6)
    {'read': True, 'read_kept': False, 'lips': True, 'identity': True, 'flicker': False, \
'flicker_mc': True}
    """

    def at_least(a: float | None, b: float | None) -> bool | None:
        return None if a is None or b is None else bool(a >= b)

    return {
        "read": at_least(row["p_after"], p_ref) if row["emotion"] in JUDGED else None,
        "read_kept": at_least(row["p_after"], kept_ref) if row["emotion"] in JUDGED else None,
        "lips": at_least(row["lip_r"], LIP_R_MIN),
        "identity": at_least(id_ref, row["identity_mean_descriptor"]),
        "flicker": at_least(row["flicker_before"], row["flicker_after"]),
        "flicker_mc": at_least(row.get("flicker_mc_before"), row.get("flicker_mc_after")),
    }


def mean_descriptor_distance(a: np.ndarray, b: np.ndarray) -> float | None:
    """Distance of the mean dlib descriptors of two ``(K, 128)`` samples (None if one is empty).

    >>> mean_descriptor_distance(np.zeros((2, 128)), np.ones((3, 128)))
    11.3137
    """
    if len(a) == 0 or len(b) == 0:
        return None
    return _num(float(np.linalg.norm(a.mean(axis=0) - b.mean(axis=0))))


def pairwise_distance(a: np.ndarray, b: np.ndarray) -> float | None:
    """Mean dlib distance over all pairs of frames of two samples (None if one is empty).

    >>> pairwise_distance(np.zeros((2, 128)), np.ones((3, 128)))
    11.3137
    """
    if len(a) == 0 or len(b) == 0:
        return None
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    return _num(float(d.mean()))


def _mean(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return _num(float(np.mean(v))) if v else None


def _max(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return _num(float(np.max(v))) if v else None


# ---------------------------------------------------------------------------------------------
# MEAD reference


def mead_reference(folder: Path, ceiling: bool = True) -> dict[str, Any]:
    """Measure the MEAD clips: per emotion the target probability and the identity distance of
    each actor's acted take to their neutral take (and the speech-keeping ceiling, if
    ``ceiling``)."""
    t0 = time.perf_counter()
    clips: list[dict[str, Any]] = []
    descriptors: dict[tuple[str, str], np.ndarray] = {}
    for path in sorted(folder.glob("*_front_*.mp4")):
        parsed = mead_label(path)
        if parsed is None:
            continue
        actor, label = parsed
        m = measure_clip(path)
        mean = m.emotion.mean
        clips.append(
            {
                "clip": path.name,
                "actor": actor,
                "emotion": label,
                "p_target": _num(float(mean[EMOTION_CLASSES.index(label)])),
                "dominant": m.emotion.dominant(),
                "mean": {c: _num(float(v)) for c, v in zip(EMOTION_CLASSES, mean, strict=True)},
                "frames": m.n_frames,
                "frames_with_face": int(m.emotion.present.sum()),
                "identity_frames": len(m.descriptors),
            }
        )
        descriptors[(actor, label)] = m.descriptors
        print(json.dumps({"mead": clips[-1]["clip"], "p_target": clips[-1]["p_target"]}))
    actors = sorted({c["actor"] for c in clips})
    emotions = [e for e in EMOTION_CLASSES if any(c["emotion"] == e for c in clips)]
    prob: dict[str, Any] = {}
    for e in emotions:
        per = {c["actor"]: c["p_target"] for c in clips if c["emotion"] == e}
        prob[e] = {"mean": _mean(list(per.values())), "per_actor": per}
    identity: dict[str, Any] = {}
    for e in emotions:
        if e == "neutral":
            continue
        per: dict[str, Any] = {}
        for a in actors:
            acted, neutral = descriptors.get((a, e)), descriptors.get((a, "neutral"))
            if acted is None or neutral is None:
                continue
            per[a] = {
                "mean_descriptor": mean_descriptor_distance(acted, neutral),
                "pairwise": pairwise_distance(acted, neutral),
            }
        md = [v["mean_descriptor"] for v in per.values()]
        identity[e] = {
            "mean": _mean(md),
            "max": _max(md),
            "pairwise_mean": _mean([v["pairwise"] for v in per.values()]),
            "per_actor": per,
        }
    all_md = [v["mean_descriptor"] for e in identity.values() for v in e["per_actor"].values()]
    return {
        "speech_kept": speech_kept_reference(folder, actors, emotions) if ceiling else None,
        "folder": str(folder),
        "actors": actors,
        "clips": clips,
        "probability": prob,
        "identity": identity,
        "identity_overall": {"mean": _mean(all_md), "max": _max(all_md)},
        "seconds": _num(time.perf_counter() - t0, 1),
    }


def speech_kept_reference(folder: Path, actors: list[str], emotions: list[str]) -> dict[str, Any]:
    """Per emotion: the classifier on each actor's acted take with their neutral take's lower
    face pasted in (``calibrate.ceiling``), the most a speech-keeping edit can reach."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    neutrals: dict[str, Take] = {}  # each neutral take is read once, for every emotion
    with EmotionClassifier() as clf, FaceTracker(TrackerOptions()) as tracker:
        for e in emotions:
            if e == "neutral":
                continue
            per: dict[str, Any] = {}
            for a in actors:
                acted = _mead_path(folder, a, e)
                neutral = _mead_path(folder, a, "neutral")
                if acted is None or neutral is None:
                    continue
                if a not in neutrals:
                    neutrals[a] = read_take(neutral, FRAME_STEP // 2, tracker)
                take = read_take(acted, FRAME_STEP, tracker)
                r = speech_kept_reading(take, neutrals[a], e, clf)
                per[a] = {
                    "acted": _num(r.acted),
                    "speech_kept": _num(r.speech_kept),
                    "mouth_only": _num(r.mouth_only),
                    "frames": r.frames,
                }
            out[e] = {
                k: _mean([v[k] for v in per.values()])
                for k in ("acted", "speech_kept", "mouth_only")
            } | {"per_actor": per}
    out["seconds"] = _num(time.perf_counter() - t0, 1)
    return out


def _mead_path(folder: Path, actor: str, emotion: str) -> Path | None:
    """The actor's take of ``emotion`` (level 3, or level 1 for neutral), if present."""
    for path in sorted(folder.glob(f"{actor}_front_*.mp4")):
        parsed = mead_label(path)
        if parsed is not None and parsed[1] == emotion:
            return path
    return None


def _p_ref(mead: dict[str, Any] | None, emotion: str) -> float | None:
    return ((mead or {}).get("probability", {}).get(emotion) or {}).get("mean")


def _kept_ref(mead: dict[str, Any] | None, emotion: str) -> float | None:
    return ((mead or {}).get("speech_kept", {}).get(emotion) or {}).get("speech_kept")


def _id_ref(mead: dict[str, Any] | None, emotion: str) -> float | None:
    return ((mead or {}).get("identity", {}).get(emotion) or {}).get("mean")


# ---------------------------------------------------------------------------------------------
# edits


def _options(variant: str) -> EditOptions:
    return EditOptions(overwrite=True, render=VARIANTS[variant])


def _metered_edit(
    clip: Path, out: Path, analysis: VideoAnalysis, emotion: str, variant: str
) -> tuple[EditResult, dict[str, Any]]:
    """Edit at intensity 1 with a renderer variant; the result and the CPU load meanwhile."""
    meter = CpuMeter()
    result = edit_video(
        clip,
        out,
        EmotionTarget.from_label(emotion, INTENSITY),
        _options(variant),
        analysis=analysis,
    )
    return result, meter.stop()


def edit_row(r: CaseRow, variant: str) -> dict[str, Any]:
    """The row of one quality edit (``emotion`` at intensity 1 with a renderer variant)."""
    s, ev = r.summary, r.evaluation
    return {
        "emotion": s.target,
        "variant": variant,
        "p_before": _num(s.p_before, 6),
        "p_after": _num(s.p_after, 6),
        "top_before": _num(s.top_before, 6),
        "top_after": _num(s.top_after, 6),
        "dominant_after": s.dominant_after,
        "identity_distance": _num(s.identity_distance, 6),
        "identity_mean_descriptor": mean_descriptor_distance(
            ev.original.descriptors, ev.edited.descriptors
        ),
        "lip_r": _num(s.lip_correlation, 6),
        "jitter_before": _num(s.jitter_before, 6),
        "jitter_after": _num(s.jitter_after, 6),
        "flicker_before": _num(s.flicker_before, 6),
        "flicker_after": _num(s.flicker_after, 6),
        "flicker_mc_before": _num(s.flicker_compensated_before, 6),
        "flicker_mc_after": _num(s.flicker_compensated_after, 6),
        "outside_mean_abs": _num(s.outside_mean_abs, 6),
        # tracked once per clip, so this is the render + encode pass, not a whole edit
        "render_fps": _num(r.result.fps, 2),
        "ms_per_frame": stage_ms(r.result.seconds, r.result.frames),
        "other_cores": r.other_cores,
        # edit + measure + compare
        "wall_seconds": _num(r.seconds, 2),
    }


def timing_row(clip: Path, out: Path, analysis: VideoAnalysis, variant: str) -> dict[str, Any]:
    """One timed edit (``TIMING_EMOTION``) with a renderer variant; nothing is measured."""
    result, load = _metered_edit(clip, out, analysis, TIMING_EMOTION, variant)
    out.unlink(missing_ok=True)
    return {
        "variant": variant,
        "frames": result.frames,
        "frames_with_face": result.frames_with_face,
        "seconds": {k: _num(v, 4) for k, v in result.seconds.items()},
        "total_seconds": _num(result.total_seconds, 3),
        "render_fps": _num(result.fps, 2),
        "ms_per_frame": stage_ms(result.seconds, result.frames),
        "other_cores": load["other_cores"],
    }


def timings(clip: Path, work: Path, analysis: VideoAnalysis, repeats: int) -> dict[str, Any]:
    """Per renderer variant, the timed edit (of ``repeats``) with the least face time per frame
    (variants interleaved, so that a change in the machine's load does not fall on one only)."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in TIMING_VARIANTS}
    for _ in range(repeats):
        for v in TIMING_VARIANTS:
            runs[v].append(timing_row(clip, work / f"{clip.stem}_timing_{v}.mp4", analysis, v))
    out = {}
    for v, rs in runs.items():
        best = min(rs, key=lambda r: (r["ms_per_frame"].get("face") or 0.0, r["total_seconds"]))
        faces = [r["ms_per_frame"].get("face") for r in rs]
        out[v] = {**best, "runs": len(rs), "face_ms_all_runs": faces}
    return out


def _render_kwargs(render: RenderOptions) -> dict[str, Any]:
    """``render=`` for ``render_frame`` if it takes it (older versions do not)."""
    return {"render": render} if "render" in inspect.signature(render_frame).parameters else {}


def write_still(analysis: VideoAnalysis, emotions: list[str], path: Path) -> dict[str, Any] | None:
    """Input face crop and one crop per emotion (default renderer) at the middle face frame."""
    track = analysis.track
    idx = np.flatnonzero(track.present)
    if idx.size == 0:
        return None
    at = int(idx[idx.size // 2])
    info = analysis.info
    frames = iter_frames(info, "yuv420p")
    with contextlib.closing(frames):  # type: ignore[type-var]
        image = next((f.image for f in frames if f.index == at), None)
    if image is None:
        return None
    pts = to_upright(track.landmarks[at], info.rotation, track.frame_size)
    kwargs = _render_kwargs(RenderOptions())

    def crop(yuv: np.ndarray, text: str, size: int) -> np.ndarray:
        rgb = upright(cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420), info.rotation)
        return _label(_face_crop(rgb, pts, size), text)

    images = [image]
    for e in emotions:
        edit = plan_edit(analysis, EmotionTarget.from_label(e, INTENSITY))
        images.append(render_frame(image, at, analysis, edit, **kwargs))
    path.parent.mkdir(parents=True, exist_ok=True)
    size = STILL_TILE_PX
    while True:
        tiles = [
            crop(im, text, size) for im, text in zip(images, ["input", *emotions], strict=True)
        ]
        bgr = cv2.cvtColor(np.hstack(tiles), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(path), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if path.stat().st_size <= STILL_MAX_BYTES or size <= 120:
            break
        size -= 40
    return {
        "path": str(path),
        "frame": at,
        "tile_px": size,
        "render_options_passed": bool(kwargs),
        "bytes": path.stat().st_size,
    }


def run_clip(
    clip: Path,
    emotions: list[str],
    work: Path,
    mead: dict[str, Any] | None,
    quality: dict[str, Any] | None,
    timing_repeats: int,
    stills: Path | None,
) -> dict[str, Any]:
    """All edits, timings (``timing_repeats`` runs per variant, 0: none) and the still."""
    t0 = time.perf_counter()
    analysis = analyze_video(clip)
    t_analyze = time.perf_counter() - t0
    original = measure_clip(clip)
    t_measure = time.perf_counter() - t0 - t_analyze
    row: dict[str, Any] = {
        "clip": clip.name,
        "frames": int(analysis.track.n_frames),
        "frames_with_face": int(analysis.track.present.sum()),
        "duration": _num(float(analysis.info.duration), 3),
        "size": [analysis.info.width, analysis.info.height],
        "analyze_seconds": _num(t_analyze, 2),
        "measure_seconds": _num(t_measure, 2),
        "edits": [],
    }
    cases = [
        Case(f"{emotion}/{variant}", EmotionTarget.from_label(emotion, INTENSITY),
             Emotion.parse(emotion), _options(variant))
        for emotion in emotions
        for variant in QUALITY_VARIANTS
    ]  # fmt: skip
    for case_row in run_cases(clip, cases, work, analysis=analysis, original=original):
        variant = case_row.case.name.split("/")[1]
        r = edit_row(case_row, variant)
        emotion = r["emotion"]
        r["previous"] = previous_p(quality, clip.name, emotion)
        r["mead_p"] = _p_ref(mead, emotion)
        r["mead_kept_p"] = _kept_ref(mead, emotion)
        r["mead_identity"] = _id_ref(mead, emotion)
        r["checks"] = checks(r, r["mead_p"], r["mead_identity"], r["mead_kept_p"])
        row["edits"].append(r)
        print(json.dumps({"clip": clip.name, **r}), flush=True)
    if timing_repeats > 0:
        row["timing"] = timings(clip, work, analysis, timing_repeats)
        print(json.dumps({"clip": clip.name, "timing": row["timing"]}), flush=True)
    if stills is not None:
        row["still"] = write_still(analysis, list(EMOTIONS), stills / f"{clip.stem}.png")
    row["clip_seconds"] = _num(time.perf_counter() - t0, 1)
    return row


# ---------------------------------------------------------------------------------------------
# summary and markdown


def summarise(clips: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of passed checks per renderer variant."""
    out: dict[str, Any] = {}
    for variant in QUALITY_VARIANTS:
        rows = [r for c in clips for r in c.get("edits", []) if r["variant"] == variant]
        s: dict[str, Any] = {"edits": len(rows)}
        for key in ("read", "read_kept", "lips", "identity", "flicker", "flicker_mc"):
            judged = [r["checks"].get(key) for r in rows if r["checks"].get(key) is not None]
            s[key] = {"passed": sum(judged), "judged": len(judged)}
        judged_rows = [r for r in rows if r["emotion"] in JUDGED]
        for name, keys in (
            ("all_four", ("read", "lips", "identity", "flicker")),
            ("all_four_mc", ("read", "lips", "identity", "flicker_mc")),
        ):
            s[name] = {
                "passed": sum(all(r["checks"].get(k) is True for k in keys) for r in judged_rows),
                "judged": len(judged_rows),
            }
        out[variant] = s
    return out


#: One letter per check in the tables' checks column.
_CHECK_LETTER = {
    "read": "r",
    "read_kept": "k",
    "lips": "l",
    "identity": "i",
    "flicker": "f",
    "flicker_mc": "m",
}


def _f(v: Any, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ok(v: bool | None) -> str:
    return "–" if v is None else "pass" if v else "**FAIL**"


def markdown(result: dict[str, Any]) -> str:
    """The report."""
    mead = result.get("mead")
    lines = [
        "# Expression readability",
        "",
        f"Measured {result['date']} (`{' '.join(['benchmarks/expression.py', *result['argv']])}`"
        f", commit {str(result['machine'].get('git_commit'))[:10]}"
        f"{', src modified' if result['machine'].get('src_modified') else ''}; "
        f"{result['machine']['cpus_usable']} cores usable). Intensity {INTENSITY}. "
        f"Run time {_f(result.get('total_seconds'), 0)} s.",
        "",
    ]
    if mead:
        src = result.get("mead_source", "measured in this run")
        lines += [
            "## MEAD reference",
            "",
            f"FER2013 target probability (mean over frames with a face) of MEAD's acted level-3 "
            f"clips, {src} ({_f(mead.get('seconds'), 0)} s): mean over the actors and per actor.",
            "",
            markdown_table(
                ["emotion", "mean p", *mead["actors"]],
                [
                    [
                        e,
                        _f(v["mean"]),
                        *(_f(v["per_actor"].get(a)) for a in mead["actors"]),
                    ]
                    for e, v in mead["probability"].items()
                ],
            ),
            "",
            "Identity reference: dlib distance between each actor's acted take and their neutral "
            "take (distance of the mean descriptors over the frames `measure_clip` samples; "
            "'pairwise' is the mean over all pairs of those frames). An edit passes identity "
            "when the same distance between its input and itself (mean descriptors; the paired "
            "per-frame distance of `compare_clips` is shown too) is at most the emotion's mean.",
            "",
            markdown_table(
                ["emotion", "mean", "max", "pairwise mean", *mead["actors"]],
                [
                    [
                        e,
                        _f(v["mean"]),
                        _f(v["max"]),
                        _f(v["pairwise_mean"]),
                        *(
                            _f((v["per_actor"].get(a) or {}).get("mean_descriptor"))
                            for a in mead["actors"]
                        ),
                    ]
                    for e, v in mead["identity"].items()
                ],
            ),
            "",
            f"Over all emotions and actors: mean {_f(mead['identity_overall']['mean'])}, "
            f"max {_f(mead['identity_overall']['max'])}.",
            "",
        ]
        kept = mead.get("speech_kept")
        if kept:
            emos = [e for e in kept if e != "seconds"]
            lines += [
                "Speech-keeping ceiling (`calibrate.ceiling`, "
                f"{_f(kept.get('seconds'), 0)} s): every 6th frame of each acted take, as it is "
                "(acted), with the same actor's neutral take's lower face pasted in (kept: the "
                "upper face acted, the mouth real speech, which is the most an edit that keeps "
                "the lips on the speech can show), and the neutral take with the acted lower "
                "face pasted in (mouth only). Mean over the actors; per actor acted / kept.",
                "",
                markdown_table(
                    ["emotion", "acted", "kept", "mouth only", *mead["actors"]],
                    [
                        [
                            e,
                            _f(kept[e]["acted"]),
                            _f(kept[e]["speech_kept"]),
                            _f(kept[e]["mouth_only"]),
                            *(
                                "–"
                                if a not in kept[e]["per_actor"]
                                else f"{_f(kept[e]['per_actor'][a]['acted'], 2)} / "
                                f"{_f(kept[e]['per_actor'][a]['speech_kept'], 2)}"
                                for a in mead["actors"]
                            ),
                        ]
                        for e in emos
                    ],
                ),
                "",
            ]
    else:
        lines += ["No MEAD reference (`--no-mead` and none from an earlier run).", ""]
    summary = result.get("summary", {})
    if summary:
        lines += ["## Summary", ""]
        for variant, s in summary.items():
            parts = ", ".join(
                f"{k} {s[k]['passed']}/{s[k]['judged']}"
                for k in (
                    "read",
                    "read_kept",
                    "lips",
                    "identity",
                    "flicker",
                    "flicker_mc",
                    "all_four",
                    "all_four_mc",
                )
                if k in s
            )
            lines.append(f"- **{variant}**: {s['edits']} edits; passed {parts}.")
        lines += [
            "",
            f"read: p_after ≥ MEAD for {', '.join(JUDGED)}; read_kept: p_after ≥ MEAD with the "
            "neutral mouth pasted in (the speech-keeping ceiling); "
            f"lips: r ≥ {LIP_R_MIN}; identity: "
            "distance ≤ MEAD's; flicker: ≤ the input's (raw frame-to-frame change inside the face, "
            "which also counts texture that moves with the face); flicker_mc: the same after the "
            "previous frame is warped onto this frame's face (change that does not follow the "
            "face); all_four / all_four_mc: read, lips, identity and flicker / flicker_mc on the "
            "judged emotions.",
            "",
        ]
    for c in result["clips"]:
        lines += [f"## {c['clip']}", ""]
        if "error" in c:
            lines += [f"Error: {c['error']}", ""]
            continue
        lines += [
            f"{c['frames']} frames ({c['frames_with_face']} with a face), "
            f"{c['size'][0]}x{c['size'][1]}, {c['clip_seconds']} s in all.",
            "",
        ]
        by = {(r["emotion"], r["variant"]): r for r in c["edits"]}
        table = []
        for e in dict.fromkeys(r["emotion"] for r in c["edits"]):
            w, d = by.get((e, "warp")), by.get((e, "default"))
            ref = d or w
            if ref is None:
                continue
            table.append(
                [
                    e,
                    _f(ref["p_before"]),
                    _f(ref["previous"]),
                    _f(w["p_after"]) if w else "–",
                    _f(d["p_after"]) if d else "–",
                    _f(ref["mead_p"]),
                    _f(ref.get("mead_kept_p")),
                    _ok(d["checks"]["read"]) if d else "–",
                    _f(d["lip_r"]) if d else "–",
                    _f(d["identity_mean_descriptor"]) if d else "–",
                    _f(d["identity_distance"]) if d else "–",
                    _f(ref["mead_identity"]),
                    _f(ref["flicker_before"], 2),
                    _f(w["flicker_after"], 2) if w else "–",
                    _f(d["flicker_after"], 2) if d else "–",
                    _f(ref.get("flicker_mc_before"), 2),
                    _f(d.get("flicker_mc_after"), 2) if d else "–",
                    " ".join(
                        f"{_CHECK_LETTER.get(k, k[0])}{'+' if v else '-'}"
                        for k, v in d["checks"].items()
                        if v is not None
                    )
                    if d
                    else "–",
                ]
            )
        lines += [
            markdown_table(
                [
                    "emotion",
                    "p input",
                    "previous",
                    "p warp",
                    "p default",
                    "MEAD p",
                    "MEAD kept p",
                    "read",
                    "lip r",
                    "id dist (mean desc.)",
                    "id dist (paired)",
                    "MEAD id",
                    "flicker in",
                    "flicker warp",
                    "flicker default",
                    "mc flicker in",
                    "mc flicker default",
                    "checks",
                ],
                table,
            ),
            "",
        ]
        if c.get("still"):
            rel = Path(c["still"]["path"])
            with contextlib.suppress(ValueError):
                rel = rel.relative_to(Path(result["out"]))
            lines += [f"![{c['clip']}]({rel.as_posix()})", ""]
    timed = [c for c in result["clips"] if c.get("timing")]
    if timed:
        rows = []
        for c in timed:
            t = c["timing"]
            face = {v: t[v]["ms_per_frame"].get("face") for v in TIMING_VARIANTS}

            def plus(v: str, face: dict[str, Any] = face) -> str:
                a, b = face.get(v), face.get("warp")
                return "–" if a is None or b is None else f"{a - b:+.2f}"

            rows.append(
                [
                    c["clip"],
                    str(t["warp"]["frames"]),
                    _f(t["warp"]["ms_per_frame"].get("render"), 2),
                    _f(t["warp"]["ms_per_frame"].get("blend"), 2),
                    _f(face["warp"], 2),
                    plus("detail"),
                    plus("eyes"),
                    _f(face["default"], 2),
                    plus("default"),
                    ", ".join(
                        f"{k} {_f(ms, 2)}"
                        for k, ms in t["default"]["ms_per_frame"].items()
                        if k not in (*IO_STAGES, "face")
                    ),
                    " / ".join(_f(t[v]["render_fps"], 0) for v in TIMING_VARIANTS),
                    _f(max((t[v]["other_cores"] or 0.0) for v in TIMING_VARIANTS), 2),
                ]
            )
        lines += [
            "## Speed per render stage",
            "",
            f"`{TIMING_EMOTION}` edited with each renderer variant, interleaved, the run with the "
            "least face time of each kept (tracking reused). "
            "ms per frame (all frames) from `EditResult.seconds`; face = every stage but "
            f"{', '.join(IO_STAGES)} (render + blend and any stage the renderer adds); "
            "+detail / +eyes / +both: face ms more than warp only; default stages: the face "
            "stages of the default renderer. fps: whole render pass "
            "(decode, face, encode) for warp / detail / eyes / default. other cores: most CPU "
            "used by other processes during a timed edit (timings are noisy when > 0.3).",
            "",
            markdown_table(
                [
                    "clip",
                    "frames",
                    "warp render",
                    "warp blend",
                    "warp face",
                    "+detail",
                    "+eyes",
                    "default face",
                    "+both",
                    "default stages",
                    "fps w/d/e/default",
                    "other cores",
                ],
                rows,
            ),
            "",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def main() -> None:
    """Run the expression benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--clips", default="*", help="glob of clip names (default all)")
    ap.add_argument("--emotions", default=",".join(EMOTIONS), help="comma-separated")
    ap.add_argument(
        "--no-mead",
        action="store_true",
        help="do not measure MEAD (its reference is taken from <out>/expression.json if there)",
    )
    ap.add_argument("--no-timing", action="store_true", help="skip the per-stage speed runs")
    ap.add_argument(
        "--timing-repeats",
        type=int,
        default=TIMING_REPEATS,
        help="timed edits per renderer variant (the one with the least face time is kept)",
    )
    ap.add_argument(
        "--previous",
        type=Path,
        default=RESULTS_DIR / "quality.json",
        help="quality.json whose intensity-1 p_after is shown as 'previous'",
    )
    ap.add_argument(
        "--stills",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write <out>/stills/expression/<clip>.png (default on)",
    )
    args = ap.parse_args()
    emotions = [e.strip() for e in args.emotions.split(",") if e.strip()]
    unknown = [e for e in emotions if e not in EMOTIONS]
    if unknown:
        ap.error(f"unknown emotions {unknown}; choose from {', '.join(EMOTIONS)}")
    clips = sorted(
        p
        for p in (args.data / "videos").iterdir()
        if p.suffix.lower() in VIDEO_SUFFIXES and fnmatch.fnmatch(p.name, args.clips)
    )
    if not clips:
        ap.error(f"no clip matches {args.clips!r} in {args.data / 'videos'}")
    t0 = time.perf_counter()
    json_path, md_path = args.out / "expression.json", args.out / "expression.md"
    previous_run = _load_json(json_path)
    quality = _load_json(args.previous)
    result: dict[str, Any] = {
        "schema": "emodirector.bench.expression/1",
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "out": str(args.out),
        "intensity": INTENSITY,
        "emotions": emotions,
        "judged": list(JUDGED),
        "lip_r_min": LIP_R_MIN,
        "previous_from": str(args.previous) if quality else None,
    }
    if args.no_mead:
        mead = (previous_run or {}).get("mead")
        if mead:
            result["mead_source"] = "from the run of " + str(previous_run.get("date"))  # type: ignore[union-attr]
    else:
        mead = mead_reference(args.data / "labeled" / "mead")
        result["mead_source"] = "measured in this run"
    result["mead"] = mead
    result["clips"] = []
    stills = args.out / "stills" / "expression" if args.stills else None

    def save() -> None:
        result["summary"] = summarise(result["clips"])
        result["total_seconds"] = _num(time.perf_counter() - t0, 1)
        write_json(json_path, result)
        md_path.write_text(markdown(result))

    with tempfile.TemporaryDirectory(prefix="emodirector-expression-") as tmp:
        for clip in clips:
            try:
                repeats = 0 if args.no_timing else max(1, args.timing_repeats)
                row = run_clip(clip, emotions, Path(tmp), mead, quality, repeats, stills)
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                row = {"clip": clip.name, "error": f"{type(exc).__name__}: {exc}"}
                print(json.dumps(row), flush=True)
            result["clips"].append(row)
            save()
    save()
    print(f"wrote {md_path} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
