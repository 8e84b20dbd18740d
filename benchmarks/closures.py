"""Closures, a second reader: the input's closed-lip frames that an edit loses by dlib (as
``benchmarks/mouth.py`` counts them), read again by MediaPipe re-tracking the edited video.

dlib places a mouth's inner-lip points from the whole mouth's shape, and a wider or curved
mouth (a smile, a pressed angry mouth) may move them apart where the lips still touch. On every
lost frame this asks MediaPipe, tracking the edited video afresh (not the track the edit was made
from): is the inner-lip aperture (``evaluate.lips.lip_aperture``) within the input's own closed
frames' (at most their 90th percentile, ``CLOSED_PERCENTILE``)? MediaPipe's mesh has its own
shape prior, the one the editor works in, so this is a second opinion, not a judge.

As a check of that reading, per clip: the share of the input's clearly open frames (dlib gap
>= ``OPEN_GAP`` of the mouth width) that MediaPipe reads within the same closed range (where it
would take parted lips for touching ones).

Each edit has a fixed edit id (``EDIT_ID``: the watermark moves dlib a little). Writes
``closures.json`` and ``closures.md`` into ``benchmarks/results`` (or ``--out``). With
``--crops``, also one PNG per edit with lost frames, to look at: per lost frame (the first
``CROP_FRAMES``), the input's mouth and the edit's, enlarged, each plain and with dlib's inner-lip
points, in ``<out>/stills/closures/``; and the same of the open frames the edit closes, as dlib
reads it (``*_closed.png``).

Usage::

    .venv/bin/python benchmarks/closures.py [--clips '*'] [--emotions happy,angry,disgusted]
        [--crops]
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector import EditOptions, EmotionTarget, analyze_video, edit_video  # noqa: E402
from emodirector.evaluate.lips import (  # noqa: E402
    CLOSED_LIP_GAP,
    lip_aperture,
    lip_closures,
    lip_gap_ratio,
)
from emodirector.evaluate.measure import measure_clip  # noqa: E402
from emodirector.provenance.options import ProvenanceOptions  # noqa: E402
from emodirector.video import iter_frames, probe  # noqa: E402
from emodirector.video.rotation import upright  # noqa: E402

EDIT_ID = 1
#: dlib gap over mouth width from which an input frame counts as clearly open (the check).
OPEN_GAP = 0.075
#: MediaPipe reads a frame closed at most at this percentile of the input's closed frames.
CLOSED_PERCENTILE = 90
#: Frames shown per sheet with ``--crops``, the width each mouth is shown at (pixels), and
#: the margin around the input's dlib mouth (share of its width).
CROP_FRAMES = 6
CROP_TILE_W = 360
CROP_MARGIN = 0.25


def crop_sheets(
    clip: Path,
    edited: Path,
    before: np.ndarray,
    after: np.ndarray,
    sheets: dict[Path, np.ndarray],
) -> None:
    """Per ``sheets`` item ``(png, frames)``, one row per frame (the first ``CROP_FRAMES``): the
    input's mouth and the edit's, plain, then with dlib's inner-lip points (``before``/``after``:
    ``(T, 68, 2)``), each ``CROP_TILE_W`` wide. Each video is decoded once for all sheets."""
    shown = {png: [int(i) for i in frames[:CROP_FRAMES]] for png, frames in sheets.items()}
    wanted = {i for frames in shown.values() for i in frames}
    if not wanted:
        return
    images: dict[tuple[Path, int], np.ndarray] = {}
    for path in (clip, edited):
        info = probe(path)
        for frame in iter_frames(info, "rgb24"):
            if frame.index in wanted:
                images[path, frame.index] = upright(frame.image, info.rotation)
            if frame.index >= max(wanted):
                break
    for png, frames in shown.items():
        if frames:
            _write_sheet(clip, edited, before, after, frames, images, png)


def _write_sheet(
    clip: Path,
    edited: Path,
    before: np.ndarray,
    after: np.ndarray,
    frames: list[int],
    images: dict[tuple[Path, int], np.ndarray],
    out: Path,
) -> None:
    import cv2

    rows = []
    for i in frames:
        mouth = before[i, 48:68]
        (x0, y0), (x1, y1) = mouth.min(axis=0), mouth.max(axis=0)
        pad = CROP_MARGIN * (x1 - x0)
        box = (max(0, int(x0 - pad)), max(0, int(y0 - pad)), int(x1 + pad), int(y1 + pad))
        scale = CROP_TILE_W / (box[2] - box[0])
        tiles = []
        for path in (clip, edited):
            image = images[path, i][box[1] : box[3], box[0] : box[2]]
            tiles.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC))
        for tile, points in zip(list(tiles), (before[i], after[i]), strict=True):
            marked = tile.copy()
            for x, y in points[60:68]:
                centre = (int((x - box[0]) * scale), int((y - box[1]) * scale))
                cv2.circle(marked, centre, 3, (0, 255, 0), -1)
            tiles.append(marked)
        h = min(t.shape[0] for t in tiles)
        rows.append(np.hstack([t[:h] for t in tiles]))
    width = rows[0].shape[1]
    rows = [cv2.resize(r, (width, round(r.shape[0] * width / r.shape[1]))) for r in rows]
    image = np.vstack(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def run_clip(clip: Path, emotions: list[str], crops_to: Path | None = None) -> dict[str, Any]:
    analysis = analyze_video(clip)
    before = measure_clip(clip, compensated=False)
    gap = lip_gap_ratio(before.landmarks68)
    aperture_in = lip_aperture(before.track.landmarks)
    seen = np.isfinite(gap) & np.isfinite(aperture_in)
    closed_in = seen & (gap < CLOSED_LIP_GAP)
    open_in = seen & (gap >= OPEN_GAP)
    if not closed_in.any():
        return {"clip": clip.name, "closed_frames": 0, "edits": []}
    closed_up_to = float(np.percentile(aperture_in[closed_in], CLOSED_PERCENTILE))
    rows = []
    for emotion in emotions:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="emodirector-closures-") as tmp:
            out = Path(tmp) / "edit.mp4"
            options = EditOptions(provenance=ProvenanceOptions(edit_id=EDIT_ID))
            target = EmotionTarget.from_label(emotion, 1.0)
            edit_video(clip, out, target, options, analysis=analysis)
            after = measure_clip(out, compensated=False, identity_frames=before.identity_frames)
            closures = lip_closures(before.landmarks68, after.landmarks68)
            if crops_to is not None:
                sheets = {
                    crops_to / f"{clip.stem}_{emotion}{suffix}.png": np.flatnonzero(frames)
                    for frames, suffix in ((closures.lost, ""), (closures.added, "_closed"))
                }
                crop_sheets(clip, out, before.landmarks68, after.landmarks68, sheets)
        gap_out = lip_gap_ratio(after.landmarks68, before.landmarks68)
        aperture_out = lip_aperture(after.track.landmarks)
        frames = [
            {
                "frame": int(i),
                "dlib_gap_in": round(float(gap[i]), 4),
                "dlib_gap_out": round(float(gap_out[i]), 4),
                "mediapipe_in": round(float(aperture_in[i]), 4),
                "mediapipe_out": round(float(aperture_out[i]), 4),
            }
            for i in np.flatnonzero(closures.lost)
        ]
        rows.append(
            {
                "emotion": emotion,
                "closed_frames": closures.closed_frames,
                "kept": round(closures.kept, 4),
                "lost": len(frames),
                "lost_read_closed": sum(f["mediapipe_out"] <= closed_up_to for f in frames),
                "frames": frames,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        print(f"{clip.name} {emotion}: kept {closures.kept:.3f}, lost {len(frames)}", flush=True)
    return {
        "clip": clip.name,
        "closed_frames": int(closed_in.sum()),
        "mediapipe_closed_up_to": round(closed_up_to, 4),
        "open_frames": int(open_in.sum()),
        "open_read_closed": round(float((aperture_in[open_in] <= closed_up_to).mean()), 3)
        if open_in.any()
        else None,
        "edits": rows,
    }


def markdown(data: dict[str, Any]) -> str:
    header = ["clip", "emotion", "closed", "kept (dlib)", "lost", "lost, MediaPipe closed",
              "open read closed"]  # fmt: skip
    rows, lost, read_closed = [], 0, 0
    for clip in data["clips"]:
        for e in clip["edits"]:
            rows.append([clip["clip"][:28], e["emotion"], str(e["closed_frames"]),
                         f"{e['kept']:.3f}", str(e["lost"]), str(e["lost_read_closed"]),
                         str(clip["open_read_closed"])])  # fmt: skip
            lost += e["lost"]
            read_closed += e["lost_read_closed"]
    commit = (data["machine"]["git_commit"] or "unknown")[:10]
    return "\n".join(
        [
            "# Closures lost by dlib, read again by MediaPipe",
            "",
            f"Measured {data['date']} (`benchmarks/closures.py {' '.join(data['argv'])}`, "
            f"commit {commit}). Intensity 1, full render, edit id {EDIT_ID}.",
            "",
            f"Of {lost} closed frames lost by dlib, MediaPipe re-tracking the edit reads "
            f"{read_closed} within the input's closed frames' apertures (up to their "
            f"{CLOSED_PERCENTILE}th percentile). open read closed: the share of the input's "
            f"clearly open frames (dlib gap >= {OPEN_GAP}) MediaPipe reads in that range.",
            "",
            markdown_table(header, rows),
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--clips", default="*", help="glob of clip names (default all)")
    ap.add_argument("--emotions", default="happy,angry,disgusted", help="comma-separated")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--crops", action="store_true", help="PNGs of the lost frames' mouths")
    args = ap.parse_args()
    crops_to = args.out / "stills" / "closures" if args.crops else None
    clips = sorted(
        p
        for p in (args.data / "videos").iterdir()
        if p.suffix != ".wav" and fnmatch.fnmatch(p.name, args.clips)
    )
    data: dict[str, Any] = {
        "schema": "emodirector.bench.closures/1",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "clips": [],
    }
    for clip in clips:
        data["clips"].append(run_clip(clip, args.emotions.split(","), crops_to))
        write_json(args.out / "closures.json", data)
    (args.out / "closures.md").write_text(markdown(data))


if __name__ == "__main__":
    main()
