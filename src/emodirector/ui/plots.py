"""The emotion-over-time figure of the page: input above, edited output below."""

from __future__ import annotations

import numpy as np

from emodirector.evaluate import EMOTION_CLASSES, EMOTION_COLOURS, EmotionSeries


def emotion_figure(
    before: EmotionSeries, after: EmotionSeries | None, target: str | None
) -> np.ndarray:
    """The seven class probabilities over time of the input (and of the edit, if given).

    Args:
        before: The input's per-frame probabilities.
        after: The edited video's, or None for the input alone.
        target: The emotion the edit aimed at, drawn bold (None: all alike).

    Returns:
        ``(H, W, 3) uint8`` RGB image of the figure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [("input", before)] + ([("edited", after)] if after is not None else [])
    fig = Figure(figsize=(10, 2.4 * len(panels) + 0.6), dpi=100)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, series) in zip(axes, panels, strict=True):
        mean = series.mean
        for k, label in enumerate(EMOTION_CLASSES):
            strong = target is None or label == target
            ax.plot(
                series.times,
                series.probabilities[:, k],
                color=EMOTION_COLOURS.get(label, "#000000"),
                lw=2.4 if target is not None and label == target else 1.3,
                alpha=1.0 if strong else 0.5,
                label=f"{label} ({mean[k]:.2f})" if np.isfinite(mean[k]) else label,
            )
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        title = name if name == "input" or target is None else f"{name} (target: {target})"
        ax.set_title(title, fontsize=11, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  title="emotion (mean)", title_fontsize=8)  # fmt: skip
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


__all__ = ["emotion_figure"]
