"""Plots, summaries and the HTML report of ``emodirector analyze`` and ``evaluate``.

matplotlib runs on its Agg backend (no display); figures are written as PNG files or embedded in
the HTML as base64 so that a report is one self-contained file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from emodirector.evaluate.compare import EditEvaluation, Still
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionSeries
from emodirector.evaluate.lips import lip_closures

#: One colour per class, the same in every plot.
EMOTION_COLOURS = {
    "angry": "#d62728",
    "disgusted": "#8c564b",
    "fearful": "#9467bd",
    "happy": "#ff9f1c",
    "sad": "#1f77b4",
    "surprised": "#17becf",
    "neutral": "#7f7f7f",
}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def summary_text(series: EmotionSeries, name: str) -> str:
    """Lines of text: frames with a face, dominant emotion, mean and top share per class."""
    n = int(series.present.size)
    k = int(series.present.sum())
    lines = [f"{name}: face on {k} of {n} frames"]
    dom = series.dominant()
    if dom is None:
        lines.append("no face: no emotion measured")
        return "\n".join(lines)
    mean = series.mean
    lines.append(
        f"dominant emotion: {dom} (mean probability {mean[EMOTION_CLASSES.index(dom)]:.2f})"
    )
    lines.append(f"{'emotion':10s} {'mean p':>7s} {'top share':>9s}")
    for i in np.argsort(-mean):
        c = EMOTION_CLASSES[int(i)]
        lines.append(f"{c:10s} {mean[i]:7.2f} {series.share_top(c):9.2f}")
    return "\n".join(lines)


def analysis_dict(series: EmotionSeries, path: str) -> dict[str, object]:
    """JSON-ready analysis with stable keys (per-frame probabilities included)."""

    def num(x: float) -> float | None:
        return None if not np.isfinite(x) else round(float(x), 6)

    return {
        "schema": "emodirector.analyze/1",
        "video": path,
        "frames": int(series.present.size),
        "frames_with_face": int(series.present.sum()),
        "classes": list(EMOTION_CLASSES),
        "dominant": series.dominant(),
        "mean": [num(v) for v in series.mean.tolist()],
        "top_share": [num(series.share_top(c)) for c in EMOTION_CLASSES],
        "times": [round(float(t), 6) for t in series.times.tolist()],
        "per_frame": [[num(v) for v in row] for row in series.probabilities.tolist()],
    }


def _emotion_axes(ax: Any, series: EmotionSeries, title: str, highlight: str | None = None) -> None:
    t = series.times
    for i, c in enumerate(EMOTION_CLASSES):
        bold = highlight is None or c == highlight
        ax.plot(
            t,
            series.probabilities[:, i],
            color=EMOTION_COLOURS[c],
            lw=2.2 if (highlight and c == highlight) else 1.4,
            alpha=1.0 if bold else 0.55,
            label=c,
        )
    absent = ~series.present
    if absent.any():
        ax.fill_between(t, 0, 1, where=absent, color="#000000", alpha=0.08, step="mid",
                        label="no face")  # fmt: skip
    ax.set_ylim(0, 1)
    ax.set_xlim(float(t[0]) if t.size else 0, float(t[-1]) if t.size > 1 else 1)
    ax.set_ylabel("probability")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)


def plot_emotions(series: EmotionSeries, title: str) -> bytes:
    """PNG of the seven class probabilities over time, with the mean of each in the legend."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=100)
    _emotion_axes(ax, series, title)
    mean = series.mean
    handles, labels = ax.get_legend_handles_labels()
    labels = [
        f"{lab} ({mean[EMOTION_CLASSES.index(lab)]:.2f})" if lab in EMOTION_CLASSES else lab
        for lab in labels
    ]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
              title="emotion (mean)", title_fontsize=9)  # fmt: skip
    ax.set_xlabel("time (s)")
    fig.tight_layout()
    return _png(fig)


def _png(fig: Any) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_analysis(series: EmotionSeries, video: str, plot_path: Path) -> None:
    """Write the emotion plot of ``analyze`` as PNG."""
    plot_path.write_bytes(plot_emotions(series, f"Emotion over time: {Path(video).name}"))


def plot_evaluation(ev: EditEvaluation) -> dict[str, bytes]:
    """The evaluation's figures as PNG bytes, by name."""
    plt = _pyplot()
    out: dict[str, bytes] = {}
    k = EMOTION_CLASSES.index(ev.target)
    eo, ee = ev.original.emotion, ev.edited.emotion

    fig, axes = plt.subplots(2, 1, figsize=(10, 6.5), dpi=100, sharex=True)
    _emotion_axes(axes[0], eo, "original", ev.target)
    _emotion_axes(axes[1], ee, f"edited (target: {ev.target})", ev.target)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    axes[1].set_xlabel("time (s)")
    fig.tight_layout()
    out["emotions"] = _png(fig)

    fig, axes = plt.subplots(3, 1, figsize=(10, 8), dpi=100, sharex=True)
    t = eo.times
    axes[0].plot(t, eo.probabilities[:, k], color="#555555", lw=1.5, label="original")
    axes[0].plot(t, ee.probabilities[:, k], color=EMOTION_COLOURS[ev.target], lw=2, label="edited")
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel(f"p({ev.target})")
    axes[0].set_title("target emotion probability", fontsize=11)
    axes[1].plot(t, ev.original.lip_aperture, color="#555555", lw=1.5, label="original")
    axes[1].plot(t, ev.edited.lip_aperture, color="#2ca02c", lw=1.5, ls="--", label="edited")
    r = ev.lips.correlation if ev.lips else float("nan")
    closures = lip_closures(ev.original.landmarks68, ev.edited.landmarks68)
    for where, colour, label in (
        (closures.original & closures.measured, "#555555", "lips closed (original)"),
        (closures.lost, "#d62728", "closure lost in the edit"),
        (closures.added, "#9467bd", "closed by the edit"),
    ):
        if where.any():
            axes[1].fill_between(t, 0, 1, where=where, color=colour, alpha=0.15, step="mid",
                                 transform=axes[1].get_xaxis_transform(), label=label)  # fmt: skip
    kept = ev.lips.closures_kept if ev.lips else float("nan")
    axes[1].set_ylabel("aperture / eye dist.")
    axes[1].set_title(
        f"inner-lip aperture (dlib 68-point), r = {r:.3f}; closures kept {kept:.0%}", fontsize=11
    )
    axes[2].plot(t, ev.original.flicker, color="#555555", lw=1.2, label="original")
    axes[2].plot(t, ev.edited.flicker, color="#d62728", lw=1.2, ls="--", label="edited")
    axes[2].set_ylabel("mean |dY| in face")
    axes[2].set_title("frame-to-frame flicker inside the face", fontsize=11)
    axes[2].set_xlabel("time (s)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=9)
    fig.tight_layout()
    out["measures"] = _png(fig)

    fig, ax = plt.subplots(figsize=(10, 3), dpi=100)
    ax.plot(t, ev.outside.mean_abs, color="#1f77b4", lw=1.5, label="outside the face")
    ax.plot(t, ev.outside.inside_mean_abs, color="#ff7f0e", lw=1.5, label="inside the face")
    ax.set_ylabel("mean |Y edit - Y orig|")
    ax.set_xlabel("time (s)")
    ax.set_title("pixel difference, edited vs original (luma 0..255)", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    fig.tight_layout()
    out["difference"] = _png(fig)
    return out


def _jpeg_b64(rgb: np.ndarray, max_side: int = 480) -> str:
    import cv2

    h, w = rgb.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s < 1.0:
        rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    if not ok:  # pragma: no cover - OpenCV cannot fail on a valid image
        raise RuntimeError("JPEG encoding failed")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def _still_html(s: Still) -> str:
    return (
        f"<figure><figcaption>frame {s.index} ({s.time:.2f} s)</figcaption>"
        f'<img alt="original" src="data:image/jpeg;base64,{_jpeg_b64(s.original)}">'
        f'<img alt="edited" src="data:image/jpeg;base64,{_jpeg_b64(s.edited)}">'
        "<div>original | edited</div></figure>"
    )


def _fmt(v: object) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def evaluation_html(ev: EditEvaluation, data: dict[str, Any]) -> str:
    """A self-contained HTML report: headline numbers, plots and before/after stills."""
    figs = plot_evaluation(ev)
    rows = []
    for section in ("emotion", "identity", "speech", "stability", "outside_face", "speed"):
        for key, value in data[section].items():
            if isinstance(value, list):
                continue
            rows.append(f"<tr><td>{section}</td><td>{key}</td><td>{_fmt(value)}</td></tr>")
    imgs = "".join(
        f'<h2>{name}</h2><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}">'
        for name, png in figs.items()
    )
    stills = "".join(_still_html(s) for s in ev.stills)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>emodirector evaluation</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
td{{padding:2px 10px;border-bottom:1px solid #ddd}} img{{max-width:100%}}
figure{{display:inline-block;margin:0 1em 1em 0}} figure img{{max-height:360px}}</style>
</head><body>
<h1>Edit evaluation: {html.escape(Path(data["original"]).name)} &rarr;
{html.escape(Path(data["edited"]).name)}</h1>
<p>Target emotion: <b>{html.escape(ev.target)}</b>; {data["frames"]} frames.</p>
<table><tr><th>measure</th><th>key</th><th>value</th></tr>{"".join(rows)}</table>
{imgs}
<h2>Before / after</h2>{stills}
</body></html>
"""


def write_evaluation(
    ev: EditEvaluation,
    json_path: str | os.PathLike[str] | None,
    html_path: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    """Write the JSON and/or the HTML report; returns the JSON data."""
    data = ev.to_dict()
    if json_path is not None:
        Path(json_path).write_text(json.dumps(data, indent=1) + "\n")
    if html_path is not None:
        Path(html_path).write_text(evaluation_html(ev, data))
    return data


def evaluation_summary(data: dict[str, Any]) -> str:
    """A few lines of the headline numbers."""
    e, i, s, st, o = (data[k] for k in ("emotion", "identity", "speech", "stability",
                                        "outside_face"))  # fmt: skip
    return "\n".join(
        [
            f"target {data['target']}: p {_fmt(e['target_probability_before'])} -> "
            f"{_fmt(e['target_probability_after'])}, top-class share "
            f"{_fmt(e['target_top_share_before'])} -> {_fmt(e['target_top_share_after'])} "
            f"(dominant {e['dominant_before']} -> {e['dominant_after']})",
            f"identity: dlib distance {_fmt(i['mean_distance'])} (same person < "
            f"{i['same_person_threshold']}), cosine {_fmt(i['mean_cosine_similarity'])}",
            f"speech: lip aperture r = {_fmt(s['lip_correlation'])}, mean |diff| "
            f"{_fmt(s['lip_mean_abs_difference'])}; closed-lip frames kept closed "
            f"{_fmt(s['closures_kept'])} (of {s['closed_frames']}), open frames closed "
            f"{_fmt(s['wrongly_closed'])} (of {s['open_frames']})",
            f"stability: jitter {_fmt(st['jitter_before'])} -> {_fmt(st['jitter_after'])}, "
            f"face flicker {_fmt(st['face_flicker_before'])} -> {_fmt(st['face_flicker_after'])}",
            f"face flicker, motion compensated {_fmt(st['face_flicker_compensated_before'])} -> "
            f"{_fmt(st['face_flicker_compensated_after'])}",
            f"outside face: mean |diff| {_fmt(o['mean_abs_difference'])}, changed pixels "
            f"{_fmt(o['changed_pixel_share'])}",
        ]
    )


__all__ = [
    "EMOTION_COLOURS",
    "analysis_dict",
    "evaluation_html",
    "evaluation_summary",
    "plot_emotions",
    "plot_evaluation",
    "summary_text",
    "write_analysis",
    "write_evaluation",
]
