"""Smoke tests of the helpers of ``benchmarks/expression.py`` (no footage, no models)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests._benchmarks import load_benchmark


@pytest.fixture(scope="module")
def ex() -> ModuleType:
    return load_benchmark("expression")


def _edit(emotion: str, variant: str, p_after: float) -> dict[str, object]:
    return {
        "emotion": emotion,
        "variant": variant,
        "p_before": 0.01,
        "p_after": p_after,
        "previous": 0.02,
        "mead_p": 0.45,
        "mead_identity": 0.3,
        "identity_distance": 0.25,
        "identity_mean_descriptor": 0.2,
        "lip_r": 0.97,
        "flicker_before": 2.0,
        "flicker_after": 1.5,
    }


def test_mead_label(ex: ModuleType) -> None:
    assert ex.mead_label(Path("W011_front_fear_level3_001.mp4")) == ("W011", "fearful")
    assert ex.mead_label(Path("M030_front_neutral_level1_001.mp4")) == ("M030", "neutral")
    assert ex.mead_label(Path("M030_front_contempt_level3_001.mp4")) is None
    assert ex.mead_label(Path("odd.mp4")) is None


def test_previous_takes_intensity_one_only(ex: ModuleType) -> None:
    q = {
        "edits": [
            {"clip": "a.mpg", "emotion": "sad", "intensity": 0.5, "p_after": 0.1},
            {"clip": "a.mpg", "emotion": "sad", "intensity": 1.0, "p_after": 0.3},
        ]
    }
    assert ex.previous_p(q, "a.mpg", "sad") == 0.3
    assert ex.previous_p(None, "a.mpg", "sad") is None


def test_stage_ms_and_checks(ex: ModuleType) -> None:
    ms = ex.stage_ms({"decode": 0.5, "encode": 0.5, "render": 0.2, "blend": 0.1}, 100)
    assert ms["render"] == 2.0 and ms["face"] == 3.0
    assert ex.stage_ms({"render": 1.0}, 0) == {}
    r = _edit("fearful", "default", 0.1)
    c = ex.checks(r, 0.5, 0.3)
    assert c == {
        "read": None,
        "read_kept": None,
        "lips": True,
        "identity": True,
        "flicker": True,
        "flicker_mc": None,
    }
    r["emotion"] = "happy"
    assert ex.checks(r, 0.05, 0.3, 0.5)["read"] is True
    assert ex.checks(r, 0.05, 0.3, 0.5)["read_kept"] is False
    r["lip_r"] = None
    assert ex.checks(r, 0.5, None)["lips"] is None


def test_identity_distances(ex: ModuleType) -> None:
    a = np.zeros((3, 128))
    b = np.full((2, 128), 0.5)
    assert ex.mean_descriptor_distance(a, b) == pytest.approx(np.sqrt(128) / 2, abs=1e-4)
    assert ex.pairwise_distance(a, b[:0]) is None


def test_summary_and_markdown(ex: ModuleType, tmp_path: Path) -> None:
    edits = []
    for e, p in (("happy", 0.9), ("surprised", 0.2), ("fearful", 0.3)):
        for v in ex.QUALITY_VARIANTS:
            r = _edit(e, v, p)
            r["checks"] = ex.checks(r, 0.45, 0.3)
            edits.append(r)
    timing = {
        v: {
            "frames": 10,
            "render_fps": 100.0,
            "other_cores": 0.0,
            "ms_per_frame": {"render": 2.0, "blend": 0.5, "face": 2.5 + i},
        }
        for i, v in enumerate(ex.TIMING_VARIANTS)
    }
    clip = {
        "clip": "a.mpg",
        "frames": 10,
        "frames_with_face": 10,
        "size": [360, 288],
        "clip_seconds": 1.0,
        "edits": edits,
        "timing": timing,
    }
    summary = ex.summarise([clip])
    assert summary["default"]["read"] == {"passed": 1, "judged": 2}
    assert summary["default"]["all_four"] == {"passed": 1, "judged": 2}
    result = {
        "date": "today",
        "argv": [],
        "machine": {"git_commit": "abc", "src_modified": False, "cpus_usable": 2},
        "out": str(tmp_path),
        "mead": None,
        "clips": [clip, {"clip": "b.mp4", "error": "NoFaceFoundError: none"}],
        "summary": summary,
        "total_seconds": 1.0,
    }
    md = ex.markdown(result)
    assert "| happy" in md and "**FAIL**" in md and "Speed per render stage" in md
    assert "Speech-keeping ceiling" not in md
    kept = {"acted": 0.8, "speech_kept": 0.45, "mouth_only": 0.7}
    result["mead"] = {
        "seconds": 1.0,
        "actors": ["A"],
        "probability": {"happy": {"mean": 0.8, "per_actor": {"A": 0.8}}},
        "identity": {
            "happy": {
                "mean": 0.3,
                "max": 0.3,
                "pairwise_mean": 0.3,
                "per_actor": {"A": {"mean_descriptor": 0.3}},
            }
        },
        "identity_overall": {"mean": 0.3, "max": 0.3},
        "speech_kept": {"happy": {**kept, "per_actor": {"A": {**kept, "frames": 3}}}, "seconds": 2},
    }
    md = ex.markdown(result)
    assert "Speech-keeping ceiling" in md
    row = next(line for line in md.splitlines() if "0.80 / 0.45" in line)
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "happy",
        "0.800",
        "0.450",
        "0.700",
        "0.80 / 0.45",
    ]
    assert "+1.00" in md  # detail costs 1 ms per frame more than the warp in the fake timing
