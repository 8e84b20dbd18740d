"""Acceptance run: edit every test clip to every emotion with the real CLI and check the output.

For each clip in ``$EMODIRECTOR_DATA/videos`` (default ``../shared/data`` beside the repository)
and each emotion and intensity, ``python -m emodirector.cli edit`` is run into a temporary folder
and the result is checked against the input:

- the CLI exits with 0;
- the output has as many decoded video frames as the input;
- the output's video lasts as long as the input's, within one frame period (presentation span:
  last frame's timestamp plus one frame period minus the first frame's timestamp);
- every audio stream's packets are byte-identical to the input's (packets with data, in order);
- the lip aperture of the output correlates with the input's (Pearson r over frames with a face
  in both; the acceptance threshold is r >= 0.95).

Writes ``acceptance.json`` and ``acceptance.md`` into ``benchmarks/results`` (or ``--out``).
The JSON is rewritten after every run, so an interrupted run keeps what it measured.

Usage::

    .venv/bin/python benchmarks/acceptance.py
    .venv/bin/python benchmarks/acceptance.py --clips 'grid_*' --emotions happy,sad --keep
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

import emodirector
from emodirector.evaluate.lips import compare_apertures, track_lip_aperture

EMOTIONS = tuple(e.value for e in emodirector.Emotion)
VIDEO_SUFFIXES = {".mp4", ".mpg", ".mpeg", ".mov", ".mkv", ".m4v", ".avi", ".webm"}
LIP_THRESHOLD = 0.95
#: Seconds one edit may take before it is killed and recorded as failed.
RUN_TIMEOUT_S = 1800

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class VideoMeasure:
    """What is compared between input and output.

    Attributes:
        frames: Decoded video frames.
        duration: Presentation span of the video stream in seconds.
        container_duration: Duration the container declares (all streams), seconds; NaN if none.
        frame_period: One frame period (1 / average frame rate) in seconds.
        audio: Per audio stream, the bytes of its packets that carry data, in file order.
    """

    frames: int
    duration: float
    container_duration: float
    frame_period: float
    audio: tuple[tuple[bytes, ...], ...]


@dataclass
class RunResult:
    """One row of the results; the first fields are the stable keys of acceptance.json."""

    clip: str
    emotion: str
    intensity: float
    exit_code: int | None
    seconds: float
    fps: float | None
    frames_in: int
    frames_out: int | None
    duration_in: float
    duration_out: float | None
    audio_identical: bool | None
    lip_correlation: float | None
    lip_mean_abs_difference: float | None
    lip_frames: int | None = None
    container_duration_in: float | None = None
    container_duration_out: float | None = None
    frames_ok: bool = False
    duration_ok: bool = False
    lip_ok: bool = False
    error: str | None = None


def measure_video(path: Path) -> VideoMeasure:
    """Decode ``path``'s first video stream and demux its audio streams."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise ValueError(f"{path}: frame rate unknown")
        period = 1.0 / float(rate)
        tb = Fraction(stream.time_base) if stream.time_base else None
        frames = 0
        times: list[float] = []
        for frame in container.decode(stream):
            frames += 1
            if frame.pts is not None and tb is not None:
                times.append(float(frame.pts * tb))
        duration = (max(times) - min(times) + period) if times else frames * period
        declared = float(container.duration / av.time_base) if container.duration else math.nan
    audio: list[tuple[bytes, ...]] = []
    with av.open(str(path)) as container:
        streams = list(container.streams.audio)
        if streams:
            packets: dict[int, list[bytes]] = {s.index: [] for s in streams}
            for packet in container.demux(streams):
                if packet.size > 0:
                    packets[packet.stream_index].append(bytes(packet))
            audio = [tuple(packets[s.index]) for s in streams]
    return VideoMeasure(frames, duration, declared, period, tuple(audio))


def audio_identical(a: VideoMeasure, b: VideoMeasure) -> bool | None:
    """Whether every audio stream's packets match; None if neither file has audio."""
    if not a.audio and not b.audio:
        return None
    return a.audio == b.audio


def _tail(text: str, lines: int = 20) -> str:
    """The last lines of ``text``, without MediaPipe's log noise."""
    noise = ("W0000 ", "I0000 ", "INFO: Created TensorFlow", "WARNING: All log messages")
    kept = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(noise)]
    return "\n".join(kept[-lines:])


def run_one(
    clip: Path,
    emotion: str,
    intensity: float,
    out_dir: Path,
    reference: VideoMeasure,
    aperture_in: np.ndarray | None,
    keep: bool,
) -> RunResult:
    """Edit ``clip`` with the CLI, measure the output and delete it unless ``keep``."""
    out = out_dir / f"{clip.stem}__{emotion}_{intensity:g}.mp4"
    cmd = [
        sys.executable, "-m", "emodirector.cli", "edit", str(clip),
        "--emotion", emotion, "--intensity", str(intensity),
        "-o", str(out), "--quiet", "--overwrite",
    ]  # fmt: skip
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )
        exit_code: int | None = proc.returncode
        stderr = proc.stderr
    except subprocess.TimeoutExpired as exc:
        exit_code = None
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        stderr = f"timed out after {RUN_TIMEOUT_S} s\n{err}"
    seconds = time.perf_counter() - start
    row = RunResult(
        clip=clip.name,
        emotion=emotion,
        intensity=intensity,
        exit_code=exit_code,
        seconds=round(seconds, 3),
        fps=round(reference.frames / seconds, 2) if seconds > 0 else None,
        frames_in=reference.frames,
        frames_out=None,
        duration_in=round(reference.duration, 4),
        duration_out=None,
        audio_identical=None,
        lip_correlation=None,
        lip_mean_abs_difference=None,
        container_duration_in=_finite(reference.container_duration),
    )
    errors: list[str] = []
    if exit_code != 0:
        errors.append(f"exit code {exit_code}: {_tail(stderr)}")
    try:
        if out.is_file():
            got = measure_video(out)
            row.frames_out = got.frames
            row.duration_out = round(got.duration, 4)
            row.container_duration_out = _finite(got.container_duration)
            row.frames_ok = got.frames == reference.frames
            row.duration_ok = (
                abs(got.duration - reference.duration) <= reference.frame_period + 1e-6
            )
            row.audio_identical = audio_identical(reference, got)
            if aperture_in is None:
                errors.append("lip aperture of the input could not be measured")
            else:
                try:
                    lips = compare_apertures(aperture_in, track_lip_aperture(out))
                    row.lip_correlation = _finite(lips.correlation)
                    row.lip_mean_abs_difference = _finite(lips.mean_abs_difference)
                    row.lip_frames = lips.frames
                    row.lip_ok = lips.correlation >= LIP_THRESHOLD
                except ValueError as exc:
                    errors.append(f"lip comparison: {exc}")
        elif exit_code == 0:
            errors.append(f"exit code 0 but no output at {out}")
    except Exception as exc:  # a broken output must not stop the whole benchmark
        errors.append(f"measuring the output failed: {type(exc).__name__}: {exc}")
    finally:
        if not keep:
            out.unlink(missing_ok=True)
    row.error = "\n".join(errors) or None
    return row


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def passed(row: RunResult) -> bool:
    """Every check of one run passed (no audio counts as passing the audio check)."""
    return (
        row.exit_code == 0
        and row.frames_ok
        and row.duration_ok
        and row.audio_identical is not False
        and row.lip_ok
    )


def find_clips(data: Path, pattern: str) -> list[Path]:
    """Video files of ``data/videos`` whose name matches ``pattern``, sorted."""
    folder = data / "videos"
    if not folder.is_dir():
        raise SystemExit(f"no videos folder at {folder} (set EMODIRECTOR_DATA)")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and fnmatch.fnmatch(p.name, pattern)
    )


def _fmt(x: float | None, digits: int) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _yes(x: bool | None, none: str = "n/a") -> str:
    return none if x is None else ("yes" if x else "**NO**")


@dataclass(frozen=True)
class Meta:
    """How and on what the benchmark ran."""

    date: str
    commit: str
    machine: str
    data: str
    clips: list[str]
    emotions: list[str]
    intensities: list[float]
    package: str = str(Path(emodirector.__file__).parent)
    lip_threshold: float = LIP_THRESHOLD


def write_results(out_dir: Path, rows: list[RunResult], meta: Meta) -> None:
    """Write acceptance.json and acceptance.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"meta": asdict(meta), "runs": [asdict(r) for r in rows]}
    (out_dir / "acceptance.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out_dir / "acceptance.md").write_text(markdown(rows, meta))


def markdown(rows: list[RunResult], meta: Meta) -> str:
    """The results as a markdown report."""
    lines = [
        "# Acceptance run",
        "",
        f"- Date: {meta.date}; commit {meta.commit} (package imported from `{meta.package}`); "
        f"{meta.machine}",
        f"- Data: `{meta.data}`; emotions {', '.join(meta.emotions)} at intensity "
        f"{', '.join(f'{i:g}' for i in meta.intensities)}",
        f"- Lip-sync threshold: r >= {LIP_THRESHOLD}. `s` is the wall time of the whole CLI "
        "process (start-up and model loading included), `fps` = input frames / `s`.",
        "- Duration is the video stream's presentation span; `ok` means every check passed: "
        "exit 0, equal frame count, duration within one frame period, audio packets identical "
        "(or no audio), lip r >= threshold.",
        "",
        "| clip | emotion | int. | exit | s | fps | frames in/out | duration in/out (s) "
        "| audio identical | lip r | lip MAD | ok |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in rows:
        frames = f"{r.frames_in}/{r.frames_out if r.frames_out is not None else '–'}"
        if r.frames_out is not None and not r.frames_ok:
            frames = f"**{frames}**"
        dur = f"{r.duration_in:.3f}/{_fmt(r.duration_out, 3)}"
        if r.duration_out is not None and not r.duration_ok:
            dur = f"**{dur}**"
        r_txt = _fmt(r.lip_correlation, 3)
        if r.lip_correlation is not None and not r.lip_ok:
            r_txt = f"**{r_txt}**"
        lines.append(
            f"| {r.clip} | {r.emotion} | {r.intensity:g} | {r.exit_code} | {r.seconds:.1f} "
            f"| {_fmt(r.fps, 1)} | {frames} | {dur} | {_yes(r.audio_identical, 'n/a (no audio)')} "
            f"| {r_txt} | {_fmt(r.lip_mean_abs_difference, 4)} "
            f"| {'PASS' if passed(r) else '**FAIL**'} |"
        )
    lines += [
        "",
        "## Per clip",
        "",
        f"| clip | runs | min lip r | lip r >= {LIP_THRESHOLD} | all checks |",
        "|---|---:|---:|---|---|",
    ]
    by_clip: dict[str, list[RunResult]] = {}
    for r in rows:
        by_clip.setdefault(r.clip, []).append(r)
    for clip, rs in by_clip.items():
        rs_r = [r.lip_correlation for r in rs]
        known = [x for x in rs_r if x is not None]
        min_r = min(known) if known else None
        lip_pass = len(known) == len(rs) and all(r.lip_ok for r in rs)
        all_pass = all(passed(r) for r in rs)
        n_fail = sum(not passed(r) for r in rs)
        missing = "" if len(known) == len(rs) else f" ({len(rs) - len(known)} missing)"
        lines.append(
            f"| {clip} | {len(rs)} | {_fmt(min_r, 3)}{missing} "
            f"| {'PASS' if lip_pass else '**FAIL**'} "
            f"| {'PASS' if all_pass else f'**FAIL** ({n_fail} of {len(rs)} runs)'} |"
        )
    failures = [r for r in rows if r.error]
    if failures:
        lines += ["", "## Errors", ""]
        for r in failures:
            lines += [
                f"### {r.clip} / {r.emotion} / {r.intensity:g}",
                "",
                "```",
                r.error or "",
                "```",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _git_commit() -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        return proc.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _floats(text: str) -> list[float]:
    values = [float(t) for t in text.split(",") if t.strip()]
    if not values or any(not 0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"intensities must be within 0..1: {text!r}")
    return values


def _emotions(text: str) -> list[str]:
    values = [t.strip() for t in text.split(",") if t.strip()]
    bad = [v for v in values if v not in EMOTIONS]
    if not values or bad:
        raise argparse.ArgumentTypeError(f"unknown emotion(s) {bad}; choose from {EMOTIONS}")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """Run the acceptance benchmark; returns 0 if every run passed every check, else 1."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", default="*", help="glob on the clip file name (default: all)")
    p.add_argument("--emotions", type=_emotions, default=list(EMOTIONS), help="comma-separated")
    p.add_argument("--intensities", type=_floats, default=[1.0], help="comma-separated, 0..1")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the result files")
    p.add_argument("--keep", action="store_true", help="keep the edited videos (in OUT/videos)")
    args = p.parse_args(argv)

    data = Path(os.environ.get("EMODIRECTOR_DATA", DEFAULT_DATA))
    clips = find_clips(data, args.clips)
    if not clips:
        raise SystemExit(f"no clips in {data / 'videos'} match {args.clips!r}")
    meta = Meta(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        commit=_git_commit(),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        data=str(data),
        clips=[c.name for c in clips],
        emotions=args.emotions,
        intensities=args.intensities,
    )
    rows: list[RunResult] = []
    total = len(clips) * len(args.emotions) * len(args.intensities)
    with tempfile.TemporaryDirectory(prefix="emodirector_acceptance_") as tmp:
        work = args.out / "videos" if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for clip in clips:
            reference = measure_video(clip)
            try:
                aperture_in: np.ndarray | None = track_lip_aperture(clip)
            except Exception as exc:
                print(f"{clip.name}: tracking the input failed: {exc}", file=sys.stderr)
                aperture_in = None
            for emotion in args.emotions:
                for intensity in args.intensities:
                    row = run_one(clip, emotion, intensity, work, reference, aperture_in, args.keep)
                    rows.append(row)
                    write_results(args.out, rows, meta)
                    print(
                        f"[{len(rows)}/{total}] {clip.name} {emotion} {intensity:g}: "
                        f"exit {row.exit_code}, {row.seconds:.1f} s, frames "
                        f"{row.frames_in}/{row.frames_out}, audio {row.audio_identical}, "
                        f"lip r {_fmt(row.lip_correlation, 3)} -> "
                        f"{'PASS' if passed(row) else 'FAIL'}",
                        flush=True,
                    )
                    if row.error:
                        print("    " + row.error.replace("\n", "\n    "), flush=True)
    write_results(args.out, rows, meta)
    print(f"wrote {args.out / 'acceptance.json'} and {args.out / 'acceptance.md'}")
    return 0 if all(passed(r) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
