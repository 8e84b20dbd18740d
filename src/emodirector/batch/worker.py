"""What a Ray worker runs for a batch: one whole edit, pass 1 of a long video, or one range.

Plain functions (the runner wraps them as Ray tasks), so that they can be called and tested
without Ray. Each one calls the same library function as ``emodirector edit`` with the options
parsed by the command line's own parser, writes only inside its own temporary folder (emptied
first, so what a killed attempt left is gone) and reports to the driver through ``events``:
``("start", job, part, pid, host)`` when it starts (once per attempt) and
``("frames", job, part, stage, done, total)`` as it goes. A user error (a bad row) is returned
as a failed ``TaskResult``, not raised, so that Ray does not retry it; a worker process that dies
is retried by Ray.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emodirector.batch.jobs import Job
from emodirector.errors import EmodirectorError
from emodirector.provenance.manifest import sha256_file

if TYPE_CHECKING:
    from emodirector import EditOptions
    from emodirector.direct import Direction

#: Seconds between two progress reports of one task.
_REPORT_EVERY_S = 0.5
#: Pass 1 of a long video: the request every range is rendered with.
_REQUEST_NAME = "request.pickle"

Report = Callable[[tuple[Any, ...]], None]


@dataclass(frozen=True)
class TaskResult:
    """What one task did.

    Attributes:
        job: The job's key (its output name).
        part: ``"edit"``, ``"analyze"`` or ``"range N"``.
        ok: It succeeded.
        exit_code: The exit code class of its error (0 when ok).
        message: The one-line error (empty when ok).
        frames: Frames written (or tracked, for pass 1).
        seconds: Wall time.
        cpu_seconds: CPU time of the worker process (all its threads).
        sha256: Checksum of the finished output (whole edits).
        n_frames: Pass 1: frames of the video.
        fps: Pass 1: the video's frame rate; otherwise frames per second of the work.
        audio_streams: Pass 1: the input's audio streams.
        rotation: Pass 1: the input's display rotation.
        edit_id: The edit id the output's watermark (and manifest) carry, 8 hex digits.
    """

    job: str
    part: str
    ok: bool
    exit_code: int = 0
    message: str = ""
    frames: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    sha256: str = ""
    n_frames: int = 0
    fps: float = 0.0
    audio_streams: tuple[int, ...] = ()
    rotation: int = 0
    edit_id: str = ""


def fresh_folder(path: Path) -> Path:
    """``path`` as a new empty folder (whatever an earlier attempt left there is removed)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@contextlib.contextmanager
def _in_folder(path: Path) -> Iterator[None]:
    """Run with ``path`` as the current folder: relative paths of a row (a timeline's
    references) are read from the jobs file's folder. A worker runs one task at a time."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _progress(report: Report, job: str, part: str) -> Callable[[str, int, int], None]:
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= _REPORT_EVERY_S or done == total:
            last[0] = now
            report(("frames", job, part, stage, done, total))

    return progress


def _request(job: Job, output: Path, cpus: int) -> tuple[Direction, EditOptions]:
    """The row's direction and options, read by the command line's own parser; the encoder gets
    the job's CPU share, and a job of one CPU tracks its clip in one pass, not two at once."""
    from emodirector.cli import edit_request, parse_edit

    args = parse_edit([str(job.input), "-o", str(output), *job.argv, "--quiet"])
    target, options = edit_request(args)
    encode = dataclasses.replace(options.encode, threads=cpus)
    tracker = dataclasses.replace(options.tracker, parallel=options.tracker.parallel and cpus > 1)
    return target, dataclasses.replace(options, encode=encode, tracker=tracker, overwrite=True)


def _failure(job: Job, part: str, exc: BaseException, start: float, cpu: float) -> TaskResult:
    if isinstance(exc, EmodirectorError):
        code, message = exc.exit_code, str(exc)
    else:  # a bug: reported on the job, not raised (a retry would fail the same way)
        code, message = 1, f"internal error: {type(exc).__name__}: {exc}"
    return TaskResult(job.output, part, False, code, message.splitlines()[0] if message else "",
                      seconds=time.monotonic() - start,
                      cpu_seconds=time.process_time() - cpu)  # fmt: skip


def _started(report: Report, job: Job, part: str) -> tuple[float, float]:
    report(("start", job.output, part, os.getpid(), socket.gethostname()))
    return time.monotonic(), time.process_time()


def run_edit(job: Job, out_dir: str, tmp_dir: str, cpus: int, report: Report) -> TaskResult:
    """Edit one job's video into ``out_dir`` (through ``tmp_dir``, renamed when complete)."""
    from emodirector import edit_video

    start, cpu = _started(report, job, "edit")
    try:
        tmp = fresh_folder(Path(tmp_dir))
        with _in_folder(job.base):
            target, options = _request(job, tmp / job.output, cpus)
            progress = _progress(report, job.output, "edit")
            result = edit_video(job.input, tmp / job.output, target, options, progress)
        digest = sha256_file(result.output)
        os.replace(result.output, Path(out_dir) / job.output)
        seconds = time.monotonic() - start
        return TaskResult(job.output, "edit", True, frames=result.frames, seconds=seconds,
                          cpu_seconds=time.process_time() - cpu, sha256=digest,
                          fps=result.frames / seconds if seconds > 0 else 0.0,
                          edit_id=getattr(result, "edit_id", ""))  # fmt: skip
    except Exception as exc:
        return _failure(job, "edit", exc, start, cpu)


def run_analysis(job: Job, tmp_dir: str, cpus: int, report: Report) -> TaskResult:
    """Pass 1 of a long video: track and fit once; save the analysis and the request (one
    options object for every range) into ``tmp_dir``."""
    from emodirector import analyze_video
    from emodirector.batch.ranges import save_analysis

    start, cpu = _started(report, job, "analyze")
    try:
        folder = fresh_folder(Path(tmp_dir))
        with _in_folder(job.base):
            target, options = _request(job, folder / job.output, cpus)
            options, edit_id = with_edit_id(options)
            progress = _progress(report, job.output, "analyze")
            analysis = analyze_video(job.input, options.tracker, progress)
        save_analysis(analysis, folder)
        with (folder / _REQUEST_NAME).open("wb") as f:
            pickle.dump((target, options), f)
        info = analysis.info
        return TaskResult(job.output, "analyze", True, frames=analysis.track.n_frames,
                          seconds=time.monotonic() - start,
                          cpu_seconds=time.process_time() - cpu,
                          n_frames=analysis.track.n_frames, fps=float(info.fps),
                          audio_streams=info.audio_streams, rotation=info.rotation,
                          edit_id=edit_id)  # fmt: skip
    except Exception as exc:
        return _failure(job, "analyze", exc, start, cpu)


def with_edit_id(options: EditOptions) -> tuple[EditOptions, str]:
    """``options`` with one fixed edit id (drawn now if none was given), so that every range
    of a video carries the same watermark and the joined file's manifest names it."""
    provenance = getattr(options, "provenance", None)
    if provenance is None:
        return options, ""
    if provenance.edit_id is None:
        provenance = dataclasses.replace(provenance, edit_id=secrets.randbits(32))
    return dataclasses.replace(options, provenance=provenance), f"{provenance.edit_id:08x}"


def load_request(analysis_dir: Path) -> tuple[Direction, EditOptions]:
    """The direction and the one options object pass 1 saved for every range."""
    with (analysis_dir / _REQUEST_NAME).open("rb") as f:
        target, options = pickle.load(f)
    return target, options


def range_path(tmp_dir: str, job: Job, index: int) -> Path:
    """Where range ``index`` of ``job`` is written."""
    return Path(tmp_dir) / f"range{index:04d}" / f"range{Path(job.output).suffix}"


def run_range(
    job: Job,
    analysis_dir: str,
    tmp_dir: str,
    index: int,
    frames: tuple[int, int],
    report: Report,
) -> TaskResult:
    """Render frames ``frames[0] <= i < frames[1]`` of a long video into its range file."""
    from emodirector import edit_video
    from emodirector.batch.ranges import load_analysis

    part = f"range {index}"
    start, cpu = _started(report, job, part)
    try:
        out = range_path(tmp_dir, job, index)
        fresh_folder(out.parent)
        analysis = load_analysis(Path(analysis_dir))
        target, options = load_request(Path(analysis_dir))
        progress = _progress(report, job.output, part)
        result = edit_video(job.input, out, target, options, progress, analysis=analysis,
                            frame_range=frames)  # fmt: skip
        seconds = time.monotonic() - start
        return TaskResult(job.output, part, True, frames=result.frames, seconds=seconds,
                          cpu_seconds=time.process_time() - cpu,
                          fps=result.frames / seconds if seconds > 0 else 0.0)  # fmt: skip
    except Exception as exc:
        return _failure(job, part, exc, start, cpu)


__all__ = ["TaskResult", "fresh_folder", "load_request", "range_path", "run_analysis", "run_edit",
           "run_range", "with_edit_id"]  # fmt: skip
