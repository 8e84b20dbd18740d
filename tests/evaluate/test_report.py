"""Plots and summaries (emodirector.evaluate.report) of synthetic series."""

from __future__ import annotations

import numpy as np

from emodirector.evaluate.emotion import EmotionSeries
from emodirector.evaluate.report import analysis_dict, plot_emotions, summary_text


def _series() -> EmotionSeries:
    t = 50
    probs = np.full((t, 7), 0.05, np.float32)
    probs[:, 3] = 0.7  # happy
    present = np.ones(t, bool)
    present[20:30] = False
    probs[~present] = np.nan
    return EmotionSeries(probs, present, np.arange(t) / 25.0)


def test_plot_with_gaps_is_a_png() -> None:
    png = plot_emotions(_series(), "synthetic")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_summary_names_the_dominant_emotion() -> None:
    text = summary_text(_series(), "clip.mp4")
    assert "face on 40 of 50 frames" in text
    assert "dominant emotion: happy (mean probability 0.70)" in text


def test_analysis_json_marks_missing_frames() -> None:
    d = analysis_dict(_series(), "clip.mp4")
    assert d["frames"] == 50 and d["frames_with_face"] == 40
    assert d["per_frame"][25] == [None] * 7
    assert d["top_share"][3] == 1.0
