"""Write before/after stills of every emotion for a clip, to look at.

Usage:
    python scripts/stills.py CLIP [--frames 10 60] [--intensity 1.0] [-o out/stills]

One PNG per chosen frame: the input face crop first, then one crop per emotion.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from emodirector import Emotion, EmotionTarget, analyze_video, plan_edit, render_frame
from emodirector.video import iter_frames


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clip", type=Path)
    ap.add_argument("--frames", type=int, nargs="+", default=None)
    ap.add_argument("--intensity", type=float, default=1.0)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("-o", "--out", type=Path, default=Path("out/stills"))
    args = ap.parse_args()
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
