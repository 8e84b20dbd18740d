"""Build the learned editor's expression basis (``src/emodirector/data/expression_params.npz``).

Principal components of canonical expression over the shared MEAD clips (offsets from each
actor's neutral take) and the shared talking clips (offsets from each segment's resting face).

    python scripts/build_expression_params.py [DATA] [-o FILE]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from emodirector.calibrate.clips import find_training_clips, fit_training_clips
from emodirector.calibrate.manipulator import expression_offsets
from emodirector.manipulate.learned.params import N_COMPONENTS, ExpressionParams
from emodirector.pipeline import analyze_video

ROOT = Path(__file__).resolve().parents[1]
#: The talking clips used (the small ones: tracking the large ones costs minutes each).
TALKING = (
    "videos/grid_bbaf2n_man_360x288_speech.mpg",
    "videos/grid_brbk7n_woman_360x288_speech.mpg",
    "videos/sadtalker_WDA_KatieHill_512x512_speech.mp4",
    "videos/styletalk_feifeili_clip1_nonfrontal_256x256_noaudio.mp4",
)


def main() -> None:
    default = Path(os.environ.get("EMODIRECTOR_DATA", ROOT.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="?", default=default)
    ap.add_argument("-o", type=Path, default=ROOT / "src/emodirector/data/expression_params.npz")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/emodirector-fits"))
    args = ap.parse_args()
    fits = fit_training_clips(find_training_clips(args.data / "labeled/mead"), args.cache, print)
    parts = [np.concatenate(expression_offsets(fits))]
    for rel in TALKING:
        fit = analyze_video(args.data / rel).fit
        parts.append(fit.expression()[fit.present])
        print(f"{rel}: {int(fit.present.sum())} frames")
    params = ExpressionParams.fit(np.concatenate(parts), N_COMPONENTS)
    params.save(args.o)
    print(f"wrote {args.o}: {params.size} components over {sum(len(p) for p in parts)} frames, "
          f"rms error {params.rms_error:.5f} of rms {params.rms_signal:.5f}")


if __name__ == "__main__":
    main()
