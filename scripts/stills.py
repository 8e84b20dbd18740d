"""Write before/after stills of every emotion for a clip, to look at.

Usage:
    python scripts/stills.py CLIP [--frames 10 60] [--intensity 1.0] [-o out/stills]
    python scripts/stills.py CLIP --strips [--region mouth|eyes] [--emotions happy,angry]

One PNG per chosen frame: the input face crop first, then one crop per emotion.

With ``--strips``, each emotion is edited through the whole pipeline (``edit_video``, as a user
gets it) and one PNG is written per clip and region: 12 consecutive frames (the stretch where
the input's lips open and close the most) of a fixed close-up, the input in the first row and
one row per emotion, to look at the teeth, the lips and rigid things (glasses) frame by frame.
``benchmarks/mouth.py`` writes the same strips from its own edits with ``strip_window``,
``region_box``, ``crops`` and ``write_strip``.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emodirector import (
    Emotion,
    EmotionTarget,
    VideoAnalysis,
    analyze_video,
    edit_video,
    plan_edit,
    render_frame,
)
from emodirector.evaluate.lips import lip_aperture
from emodirector.face_model import (
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
)
from emodirector.video import iter_frames, probe
from emodirector.video.rotation import upright

#: Frames in a strip.
STRIP_FRAMES = 12
#: Width of one frame's tile in a strip (pixels).
STRIP_TILE_W = 160
#: A strip larger than this as a full-colour PNG is written with a 256-colour palette of its own.
STRIP_MAX_BYTES = 450_000
#: Landmarks framing each strip region, and the margin around them (share of their width).
STRIP_REGIONS: dict[str, tuple[tuple[int, ...], float]] = {
    "mouth": (LIPS_OUTER_UPPER + LIPS_OUTER_LOWER, 0.35),
    "eyes": (RIGHT_BROW + LEFT_BROW + RIGHT_EYE_LOWER + LEFT_EYE_LOWER, 0.12),
}


def yuv_to_bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_YUV2BGR_I420)


def face_crop(analysis, index: int, margin: float = 0.35) -> tuple[slice, slice]:
    lm = analysis.track.landmarks[index]
    w, h = analysis.track.frame_size
    if not analysis.track.present[index]:
        return slice(0, h), slice(0, w)
    (x0, y0), (x1, y1) = lm[:, :2].min(axis=0), lm[:, :2].max(axis=0)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    return (
        slice(max(0, int(y0 - my)), min(h, int(y1 + my))),
        slice(max(0, int(x0 - mx)), min(w, int(x1 + mx))),
    )


def strip_window(analysis: VideoAnalysis, n: int = STRIP_FRAMES) -> list[int]:
    """``n`` consecutive frames with a face where the input's lips open and close the most
    (largest range of MediaPipe's inner-lip aperture); the first ``n`` if none is complete."""
    present = analysis.track.present
    aperture = lip_aperture(analysis.track.landmarks)
    best, best_range = 0, -1.0
    for start in range(max(1, len(present) - n + 1)):
        window = slice(start, start + n)
        if not present[window].all() or len(present[window]) < n:
            continue
        a = aperture[window]
        if np.isfinite(a).all() and float(a.max() - a.min()) > best_range:
            best, best_range = start, float(a.max() - a.min())
    return list(range(best, min(best + n, len(present))))


def region_box(
    analysis: VideoAnalysis, frames: Sequence[int], region: str
) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` coded-frame pixels holding ``region`` in every one of ``frames``."""
    points, margin = STRIP_REGIONS[region]
    lm = analysis.track.landmarks[list(frames)][:, list(points), :2]
    (x0, y0), (x1, y1) = np.nanmin(lm, axis=(0, 1)), np.nanmax(lm, axis=(0, 1))
    pad = margin * (x1 - x0)
    w, h = analysis.track.frame_size
    return (
        max(0, int(x0 - pad)),
        max(0, int(y0 - pad)),
        min(w, int(np.ceil(x1 + pad))),
        min(h, int(np.ceil(y1 + pad))),
    )


def crops(
    path: Path, frames: Sequence[int], box: tuple[int, int, int, int], rotation: int = 0
) -> list[np.ndarray]:
    """The ``box`` of each of ``frames`` of the video at ``path``, upright RGB."""
    x0, y0, x1, y1 = box
    wanted = set(frames)
    out: dict[int, np.ndarray] = {}
    for frame in iter_frames(probe(path), "rgb24"):
        if frame.index in wanted:
            out[frame.index] = upright(frame.image[y0:y1, x0:x1].copy(), rotation)
        if frame.index >= max(frames):
            break
    return [out[i] for i in frames if i in out]


def write_strip(
    rows: Sequence[tuple[str, Sequence[np.ndarray]]], path: Path, tile_w: int = STRIP_TILE_W
) -> int:
    """One labelled row of tiles per ``(label, crops)``, as a PNG; returns its size in bytes."""
    first = rows[0][1][0]
    tile_h = max(1, round(tile_w * first.shape[0] / first.shape[1]))
    lines = []
    for label, images in rows:
        tiles = [cv2.resize(im, (tile_w, tile_h), interpolation=cv2.INTER_AREA) for im in images]
        tiles += [np.zeros_like(tiles[0])] * (len(rows[0][1]) - len(tiles))
        line = np.hstack(tiles)
        for colour, thickness in (((0, 0, 0), 3), ((255, 255, 0), 1)):
            cv2.putText(line, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thickness)
        lines.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.vstack(lines)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if path.stat().st_size > STRIP_MAX_BYTES:
        from PIL import Image

        palette = Image.fromarray(image).quantize(256, dither=Image.Dither.NONE)
        palette.save(path, optimize=True)
    return path.stat().st_size


def strips(
    clip: Path, emotions: list[Emotion], intensity: float, regions: list[str], out: Path
) -> None:
    """Edit ``clip`` to each emotion (whole pipeline) and write one strip PNG per region."""
    analysis = analyze_video(clip)
    frames = strip_window(analysis)
    boxes = {r: region_box(analysis, frames, r) for r in regions}
    rot = analysis.info.rotation
    rows = {r: [("input", crops(clip, frames, boxes[r], rot))] for r in regions}
    with tempfile.TemporaryDirectory(prefix="emodirector-strips-") as tmp:
        for e in emotions:
            edited = Path(tmp) / f"{e.value}.mp4"
            edit_video(clip, edited, EmotionTarget(e, intensity), analysis=analysis)
            for r in regions:
                rows[r].append((e.value, crops(edited, frames, boxes[r], rot)))
    for r in regions:
        path = out / f"{clip.stem}_{r}.png"
        write_strip(rows[r], path)
        print(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clip", type=Path)
    ap.add_argument("--strips", action="store_true", help="12-frame close-up strips, edited")
    ap.add_argument("--region", action="append", choices=sorted(STRIP_REGIONS), default=None)
    ap.add_argument("--emotions", default=None, help="comma-separated (default: all)")
    ap.add_argument("--frames", type=int, nargs="+", default=None)
    ap.add_argument("--intensity", type=float, default=1.0)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("-o", "--out", type=Path, default=Path("out/stills"))
    args = ap.parse_args()
    if args.strips:
        chosen = (
            [Emotion.parse(e) for e in args.emotions.split(",")] if args.emotions else list(Emotion)
        )
        strips(args.clip, chosen, args.intensity, args.region or ["mouth"], args.out)
        return
    analysis = analyze_video(args.clip)
    n = analysis.track.n_frames
    frames = args.frames or [n // 4, n // 2, (3 * n) // 4]
    emotions = list(Emotion)
    edits = [plan_edit(analysis, EmotionTarget(e, args.intensity)) for e in emotions]
    args.out.mkdir(parents=True, exist_ok=True)
    for frame in iter_frames(analysis.info, "yuv420p"):
        if frame.index not in frames:
            continue
        rows, cols = face_crop(analysis, frame.index)
        tiles = [yuv_to_bgr(frame.image)[rows, cols]]
        for edit in edits:
            tiles.append(
                yuv_to_bgr(render_frame(frame.image, frame.index, analysis, edit))[rows, cols]
            )
        scale = args.height / tiles[0].shape[0]
        tiles = [
            cv2.resize(t, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for t in tiles
        ]
        for t, label in zip(tiles, ["input"] + [e.value for e in emotions], strict=True):
            cv2.putText(t, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        out = args.out / f"{args.clip.stem}_f{frame.index:04d}_i{args.intensity:.1f}.png"
        cols_n = 4
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % cols_n)
        rows_img = [
            np.concatenate(tiles[i : i + cols_n], axis=1) for i in range(0, len(tiles), cols_n)
        ]
        cv2.imwrite(str(out), np.concatenate(rows_img, axis=0))
        print(out)


if __name__ == "__main__":
    main()
