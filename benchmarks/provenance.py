"""Provenance on every shared talking clip: the watermark after a re-upload, its cost, its false
alarms, and the manifest.

For each clip in ``$EMODIRECTOR_DATA/videos`` (default ``../shared/data/videos``):

* the clip is analysed once and edited to ``happy`` at 0.8 twice: as delivered (CRF 18, watermark
  and signed manifest) and watermark-free, lossless (CRF 0). The cost of the mark is the PSNR of
  that watermark-free edit's frames against the same frames with the mark added exactly as the
  pipeline adds it (``tests/provenance`` checks it is exact), luminance only, and of the
  delivered file against the watermark-free lossless edit (which includes x264's own loss);
* ``verify`` on the delivered file (manifest status, watermark), then on four re-uploads made with
  PyAV (``tests/provenance/_attacks.py``): H.264 CRF 28; downscaled to 360 px high (and for a
  portrait clip also to 360 px wide, "360p"); the middle 3 s; all three (CRF 28, 360 px high,
  3 s);
* the unedited clip, and the unedited clip re-encoded at CRF 28 and as all three: ``verify``
  must find no watermark; on each, 64 other keys' sync patterns give an empirical null of ``z``.

Also the per-frame cost of adding the mark at 720p (median of 200). Writes
``benchmarks/results/provenance.json`` and ``provenance.md``, and stills of flat and dark crops
(marked and unmarked, and their difference amplified 20x) to ``/tmp/emodirector-provenance``
(``--stills``) to look at. Run from the repository root::

    .venv/bin/python benchmarks/provenance.py [--clips NAME ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from _common import RESULTS_DIR, code_state, data_dir, machine_info, markdown_table, write_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.provenance._attacks import attack  # noqa: E402

from emodirector import EditOptions, EmotionTarget, EncodeOptions, analyze_video, edit_video  # noqa: E402
from emodirector.provenance.options import ProvenanceOptions  # noqa: E402
from emodirector.provenance.verify import (  # noqa: E402
    _lumas,
    threshold_false_positive_rate,
    verify_video,
)
from emodirector.provenance.watermark import (  # noqa: E402
    Z_THRESHOLD,
    Detector,
    Embedder,
    Payload,
)
from emodirector.video import iter_frames, probe  # noqa: E402

_EDIT_ID = 0x5EED1234
_NULL_PER_VIDEO = 64


def _clips(names: list[str] | None) -> list[Path]:
    folder = data_dir() / "videos"
    if names:
        return [folder / n for n in names]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mp4", ".mpg", ".mov"))


def _null(path: Path) -> list[float]:
    detector: Detector | None = None
    for luma in _lumas(path, 1500, []):
        if detector is None:
            detector = Detector(luma.shape[1], luma.shape[0])
        detector.add(np.ascontiguousarray(luma))
    assert detector is not None
    return [float(z) for z in detector.null_z(_NULL_PER_VIDEO)]


def _psnr(mse: float) -> float:
    return float(10 * np.log10(255**2 / mse)) if mse > 0 else float("inf")


def _mark_cost(lossless: Path, delivered: Path, stills: Path | None, name: str) -> dict[str, Any]:
    """PSNR of the watermark alone, and of the delivered file, against the unmarked edit."""
    info = probe(lossless)
    embedder: Embedder | None = None
    se_mark = se_delivered = 0.0
    n = 0
    with av.open(str(delivered)) as c:
        delivered_frames = (
            f.reformat(format="yuv420p").to_ndarray()[: f.height] for f in c.decode(video=0)
        )
        for frame, got in zip(iter_frames(info, "yuv420p"), delivered_frames, strict=False):
            image = frame.image
            h = image.shape[0] * 2 // 3
            if embedder is None:
                embedder = Embedder.for_frame(Payload(_EDIT_ID), image[:h])
            marked = embedder.apply(image)
            d = marked[:h].astype(np.float64) - image[:h]
            se_mark += float(np.mean(d * d))
            e = got[: info.height, : info.width].astype(np.float64) - image[: info.height,
                                                                          : info.width]  # fmt: skip
            se_delivered += float(np.mean(e * e))
            if stills is not None and n == 10:
                _write_stills(stills, name, image[:h], marked[:h])
            n += 1
    return {
        "psnr_mark_db": round(_psnr(se_mark / n), 2),
        "psnr_delivered_vs_unmarked_lossless_db": round(_psnr(se_delivered / n), 2),
        "frames": n,
    }


def _write_stills(folder: Path, name: str, before: np.ndarray, after: np.ndarray) -> None:
    """The flattest and the darkest 160x160 crop: unmarked, marked, difference x20 (+128)."""
    folder.mkdir(parents=True, exist_ok=True)
    h, w = before.shape
    k = min(160, h // 2, w // 2)
    best: dict[str, tuple[float, int, int]] = {}
    for y in range(0, h - k + 1, k // 2):
        for x in range(0, w - k + 1, k // 2):
            crop = before[y : y + k, x : x + k].astype(np.float32)
            flat = float(np.std(crop - cv2.blur(crop, (9, 9))))
            dark = float(crop.mean())
            for key, score in (("flat", flat), ("dark", dark)):
                if key not in best or score < best[key][0]:
                    best[key] = (score, y, x)
    for key, (_, y, x) in best.items():
        a, b = before[y : y + k, x : x + k], after[y : y + k, x : x + k]
        diff = np.clip((b.astype(np.int16) - a) * 20 + 128, 0, 255).astype(np.uint8)
        big = [cv2.resize(im, (3 * k, 3 * k), interpolation=cv2.INTER_NEAREST) for im in (a, b)]
        row = np.concatenate([*big, cv2.resize(diff, (3 * k, 3 * k))], axis=1)
        cv2.imwrite(str(folder / f"{Path(name).stem}_{key}.png"), row)
        stretch = [cv2.normalize(im, None, 0, 255, cv2.NORM_MINMAX) for im in big]
        cv2.imwrite(str(folder / f"{Path(name).stem}_{key}_stretched.png"),
                    np.concatenate(stretch, axis=1))  # fmt: skip


def _apply_ms() -> float:
    rng = np.random.default_rng(0)
    y = cv2.GaussianBlur(rng.integers(0, 255, (720, 1280), dtype=np.uint8), (0, 0), 3)
    frame = np.concatenate([y, np.full((360, 1280), 128, np.uint8)])
    embedder = Embedder.for_frame(Payload(1), y)
    for _ in range(20):
        embedder.apply(frame)
    times = []
    for _ in range(200):
        t = time.perf_counter()
        embedder.apply(frame)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _check(video: Path) -> dict[str, Any]:
    r = verify_video(video)
    w = r.watermark
    return {
        "manifest": r.manifest.status.value,
        "found": w.found,
        "z": round(w.z, 2),
        "payload_read": w.payload is not None and w.payload.edit_id == _EDIT_ID,
        "frames": w.frames,
        "verdict": r.verdict.name.lower(),
    }


def run_clip(clip: Path, tmp: Path, stills: Path | None) -> dict[str, Any]:
    info = probe(clip)
    t0 = time.perf_counter()
    analysis = analyze_video(clip)
    target = EmotionTarget.from_label("happy", 0.8)
    delivered = tmp / "delivered.mp4"
    lossless = tmp / "unmarked_lossless.mp4"
    marked = EditOptions(overwrite=True, provenance=ProvenanceOptions(edit_id=_EDIT_ID))
    edit_video(clip, delivered, target, marked, analysis=analysis)
    unmarked = EditOptions(
        overwrite=True,
        encode=EncodeOptions(crf=0, preset="ultrafast"),
        provenance=ProvenanceOptions(watermark=False, manifest=False),
    )
    edit_video(clip, lossless, target, unmarked, analysis=analysis)
    row: dict[str, Any] = {"clip": clip.name, "size": [info.width, info.height]}
    row.update(_mark_cost(lossless, delivered, stills, clip.name))
    row["delivered"] = _check(delivered)
    attacks: dict[str, dict[str, Any]] = {
        "crf28": {"crf": 28},
        "height360": {"height": 360},
        "trim3s": {"trim_seconds": 3.0},
        "all_three": {"crf": 28, "height": 360, "trim_seconds": 3.0},
    }
    if info.height > info.width:  # portrait: "360p" is 360 px wide
        attacks["portrait_360p"] = {"height": int(round(360 * info.height / info.width / 2)) * 2}
        attacks["portrait_360p_all"] = {**attacks["portrait_360p"], "crf": 28, "trim_seconds": 3.0}
    row["attacked"] = {}
    for name, kwargs in attacks.items():
        row["attacked"][name] = _check(attack(delivered, tmp / f"{name}.mp4", **kwargs))
    row["unedited"] = {}
    nulls: list[float] = []
    for name, video in [
        ("original", clip),
        ("crf28", attack(clip, tmp / "clean28.mp4", crf=28)),
        ("all_three", attack(clip, tmp / "clean_all.mp4", crf=28, height=360, trim_seconds=3.0)),
    ]:
        row["unedited"][name] = _check(video)
        nulls += _null(video)
    row["null_z"] = nulls
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", nargs="*", help="file names in <data>/videos (default: all)")
    ap.add_argument("--stills", type=Path, default=Path("/tmp/emodirector-provenance"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as config:
        os.environ["EMODIRECTOR_CONFIG_DIR"] = config  # a throwaway default signer
        for clip in _clips(args.clips):
            with tempfile.TemporaryDirectory() as tmp:
                row = run_clip(clip, Path(tmp), args.stills)
            print(clip.name, {k: v for k, v in row.items() if k != "null_z"}, flush=True)
            rows.append(row)
    nulls = np.array([z for r in rows for z in r.pop("null_z")])
    attacked = [a for r in rows for a in r["attacked"].values()]
    clean = [u for r in rows for u in r["unedited"].values()]
    summary = {
        "clips": len(rows),
        "threshold_z": Z_THRESHOLD,
        "threshold_false_positive_rate_t_dist": threshold_false_positive_rate(),
        "null_patterns": int(nulls.size),
        "null_z_max": round(float(nulls.max()), 2),
        "null_z_std": round(float(nulls.std()), 3),
        "null_at_or_above_threshold": int((nulls >= Z_THRESHOLD).sum()),
        "null_at_or_above_3": int((nulls >= 3).sum()),
        "attacked_found": f"{sum(a['found'] for a in attacked)}/{len(attacked)}",
        "attacked_payload_read": f"{sum(a['payload_read'] for a in attacked)}/{len(attacked)}",
        "attacked_min_z": min(a["z"] for a in attacked),
        "unedited_found": f"{sum(u['found'] for u in clean)}/{len(clean)}",
        "unedited_max_z": max(u["z"] for u in clean),
        "psnr_mark_min_db": min(r["psnr_mark_db"] for r in rows),
        "apply_ms_720p": round(_apply_ms(), 3),
    }
    data = {"summary": summary, "clips": rows, "machine": machine_info(), "code": code_state()}
    write_json(RESULTS_DIR / "provenance.json", data)
    header = ["clip", "PSNR mark", "delivered", "CRF 28", "360 px", "3 s", "all three", "clean max"]
    table = []
    for r in rows:
        a = r["attacked"]

        def cell(x: dict[str, Any]) -> str:
            return (
                f"{x['z']:.1f}{'' if x['found'] else ' MISSED'}{' id' if x['payload_read'] else ''}"
            )

        table.append([r["clip"], f"{r['psnr_mark_db']:.1f}", cell(r["delivered"]),
                      cell(a["crf28"]), cell(a["height360"]), cell(a["trim3s"]),
                      cell(a["all_three"]),
                      f"{max(u['z'] for u in r['unedited'].values()):.1f}"])  # fmt: skip
    md = ["# Provenance: watermark z after re-uploads (threshold "
          f"{Z_THRESHOLD:g}; 'id' = payload read)", "",
          markdown_table(header, table), "", "```", *(f"{k}: {v}" for k, v in summary.items()),
          "```", ""]  # fmt: skip
    (RESULTS_DIR / "provenance.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
