"""The batch driver: jobs scheduled as Ray tasks, a journal kept, a summary written.

By default the command starts its own local Ray (no dashboard, no usage statistics) sized to
``workers x cpus_per_job`` CPU slots, and shuts it down at the end; with an ``address`` it
submits to that cluster instead (whose nodes must have emodirector installed and see the input
and output folders at the same paths). At most ``workers`` tasks run at once, each holding
``cpus_per_job`` CPU slots, which is what an edit uses: the decode, tracking and rendering
thread, and the encoder's threads (the encoder is given that many).

A video whose frames cover more than one range of ``range_seconds`` is split: pass 1 (tracking
and fitting) runs as one task, then each range is rendered by its own task, and the driver
joins the range files by remuxing. Ranges of a started video are scheduled before new jobs.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from emodirector.batch.jobs import Job, read_jobs
from emodirector.batch.journal import Journal
from emodirector.batch.ranges import join_ranges, plan_ranges
from emodirector.batch.summary import write_summary
from emodirector.batch.worker import (
    TaskResult,
    fresh_folder,
    load_request,
    range_path,
    run_analysis,
    run_edit,
    run_range,
)
from emodirector.errors import EmodirectorError, OutputError
from emodirector.provenance.manifest import sha256_file

#: Hidden folder inside the output folder for the work of running jobs (removed at the end).
TEMP_FOLDER = ".batch-work"
#: Object store of a local Ray: tasks exchange only small results (videos go through files).
_OBJECT_STORE_BYTES = 128 * 1024 * 1024
#: Seconds an interrupted batch waits for its cancelled tasks to end.
_STOP_WAIT_S = 10.0
#: The one line that says how to get Ray.
INSTALL_HINT = 'emodirector batch needs Ray: pip install "emodirector[batch]"'


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs.

    Attributes:
        workers: Tasks at once (default: CPU cores / ``cpus_per_job``, at least 1).
        cpus_per_job: CPU slots one task holds (and the encoder's thread count).
        address: A Ray cluster (``auto``, ``ray://host:10001``); None starts a local Ray.
        resume: Continue the batch journalled in the output folder.
        retries: Times a task is retried when its worker process dies.
        range_seconds: Split a video into ranges of about this length (0: never).
        overwrite: Replace outputs that exist but were not written by this batch.
        progress: Show progress bars (jobs and frames) on stderr.
    """

    workers: int | None = None
    cpus_per_job: int = 2
    address: str | None = None
    resume: bool = False
    retries: int = 2
    range_seconds: float = 300.0
    overwrite: bool = False
    progress: bool = True


@dataclass
class BatchResult:
    """What a batch did.

    Attributes:
        jobs: The jobs file's jobs.
        journal: The journal after the run.
        summary: The Markdown and CSV summary.
        ran: Keys of the jobs this run started (others were done before, or not runnable).
    """

    jobs: list[Job]
    journal: Journal
    summary: tuple[Path, Path]
    ran: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Job]:
        """Jobs the journal says failed, in file order."""
        return [j for j in self.jobs if self.journal.jobs[j.output].state == "failed"]


def import_ray() -> ModuleType:
    """The ``ray`` module, with usage statistics off; one-line error if it is not installed."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise EmodirectorError(INSTALL_HINT) from None
    return ray


@contextlib.contextmanager
def ray_session(options: BatchOptions, workers: int | None) -> Iterator[ModuleType]:
    """Ray, connected: an already initialised one is used as it is (and left running), else a
    local Ray is started (or the cluster at ``options.address`` joined) and shut down after."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = dict(
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        namespace="emodirector-batch",
    )
    if options.address is None:
        slots = (workers or default_workers(options.cpus_per_job)) * options.cpus_per_job
        kwargs.update(num_cpus=slots, object_store_memory=_OBJECT_STORE_BYTES)
    else:
        kwargs.update(address=options.address)
    try:
        ray.init(**kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = options.address or "a local Ray"
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EmodirectorError(f"cannot start or reach {where}: {message}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def default_workers(cpus_per_job: int) -> int:
    """Tasks at once on this machine: its cores over the cores one edit uses."""
    return max(1, (os.cpu_count() or 1) // cpus_per_job)


class Events:
    """A Ray actor the tasks report to (start, frames); the driver drains it."""

    def __init__(self) -> None:
        self._items: list[tuple[Any, ...]] = []

    def put(self, item: tuple[Any, ...]) -> None:
        self._items.append(item)

    def drain(self) -> list[tuple[Any, ...]]:
        items, self._items = self._items, []
        return items


class Reporter:
    """The ``report`` callable handed to tasks: fire-and-forget messages to the Events actor."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def __call__(self, item: tuple[Any, ...]) -> None:
        self.actor.put.remote(item)


def _check_row(job: Job) -> Job:
    """The row as the ``edit`` command's parser reads it (cheap: no video is opened)."""
    from emodirector.cli import parse_edit

    try:
        parse_edit([str(job.input), "-o", job.output, *job.argv])
    except EmodirectorError as exc:
        return job.failed(exc)
    return job


def _frames_of(job: Job) -> tuple[int, float]:
    """Frames and fps of a job's input, from its header (UnsupportedVideoError if unreadable)."""
    from emodirector.video.reader import probe

    info = probe(job.input)
    n = info.frame_count or round(info.duration * float(info.fps))
    return n, float(info.fps)


class _Progress:
    """Two tqdm bars: jobs finished, and frames rendered over all running jobs."""

    def __init__(self, enabled: bool, jobs: int) -> None:
        self.enabled = enabled
        self._frames: dict[tuple[str, str], tuple[int, int]] = {}
        self.jobs_bar: Any = None
        self.frames_bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.jobs_bar = tqdm(total=jobs, desc="jobs     ", unit="job", position=0)
            self.frames_bar = tqdm(total=0, desc="frames   ", unit="frame", position=1)

    def job_done(self) -> None:
        if self.jobs_bar is not None:
            self.jobs_bar.update(1)

    def frames(self, job: str, part: str, stage: str, done: int, total: int) -> None:
        if stage != "render" or self.frames_bar is None:
            return
        self._frames[(job, part)] = (done, total)
        self.frames_bar.total = sum(t for _, t in self._frames.values())
        self.frames_bar.n = sum(d for d, _ in self._frames.values())
        self.frames_bar.refresh()

    def write(self, line: str) -> None:
        if self.jobs_bar is not None:
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        for bar in (self.frames_bar, self.jobs_bar):
            if bar is not None:
                bar.close()


@dataclass
class _Long:
    """A video rendered in ranges: its pass 1 result, its ranges and what they returned."""

    analysis: TaskResult
    ranges: list[tuple[int, int]]
    results: dict[int, TaskResult] = field(default_factory=dict)


def run_batch(
    jobs_file: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: BatchOptions | None = None,
    on_event: Callable[[tuple[Any, ...]], None] | None = None,
) -> BatchResult:
    """Run every job of a jobs file on Ray; journal, summary and outputs go to ``out_dir``.

    Args:
        jobs_file: ``.csv`` or ``.jsonl`` (see ``emodirector.batch.jobs``).
        out_dir: Output folder (created if missing).
        options: How to run.
        on_event: Called in the driver with every event a task reports (tests, front ends).

    Returns:
        The BatchResult; a wrong row is a failed job in it, not an exception.

    Raises:
        EmodirectorError: Ray is missing or cannot start; the jobs file is unreadable
            (InvalidOptionError, InputNotFoundError); the output folder is unusable or holds a
            journal without ``resume`` (OutputError).
        KeyboardInterrupt: Ctrl-C: running jobs were stopped, journalled as pending, and their
            partial files removed; ``resume`` continues.
    """
    options = options or BatchOptions()
    import_ray()  # before any work: says how to install it
    jobs = read_jobs(jobs_file)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise OutputError(f"{out}: output folder is not writable")
    journal = Journal(out)
    if journal.exists and not options.resume:
        raise OutputError(f"{out}: holds a batch already ({journal.path.name}); pass --resume "
                          "to continue it, or choose another folder")  # fmt: skip
    work = out / TEMP_FOLDER
    todo = _prepare(jobs, out, journal, options)
    ran: list[str] = []
    try:
        if todo:
            with ray_session(options, options.workers) as ray:
                workers = options.workers or _cluster_workers(ray, options.cpus_per_job)
                ran = _Scheduler(ray, todo, out, work, journal, options, workers, on_event).run()
    finally:  # interrupted too: what was done so far is summarised
        shutil.rmtree(work, ignore_errors=True)
        summary = write_summary(out, jobs, journal)
    return BatchResult(jobs, journal, summary, ran)


def _cluster_workers(ray: ModuleType, cpus_per_job: int) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus // cpus_per_job)


def _prepare(
    jobs: list[Job], out: Path, journal: Journal, options: BatchOptions
) -> list[tuple[Job, list[tuple[int, int]] | None]]:
    """The jobs to run (with their planned ranges, None for a whole edit); the others are
    journalled as failed (a wrong row) or left done (resume, output unchanged)."""
    todo = []
    for job in jobs:
        fields = dict(row=job.row, input=str(job.input), direction=job.direction)
        before = journal.jobs.get(job.output)
        target = out / job.output
        if (
            options.resume
            and before is not None
            and before.state == "done"
            and target.is_file()
            and sha256_file(target) == before.sha256
        ):
            continue
        checked = _check_row(job) if job.error is None else job
        ranges = None
        if checked.error is None and target.exists() and not options.overwrite:
            ours = before is not None and before.state != "pending"
            if not ours:
                checked = checked.failed(OutputError(
                    f"{target}: already exists (pass --overwrite to replace it)"))  # fmt: skip
        if checked.error is None:
            try:
                n, fps = _frames_of(checked)
                planned = plan_ranges(n, fps, options.range_seconds)
                ranges = planned if len(planned) > 1 else None
            except EmodirectorError as exc:
                checked = checked.failed(exc)
        if checked.error is not None:
            journal.record(job.output, "failed", exit_code=checked.exit_code,
                           message=checked.error, **fields)  # fmt: skip
            continue
        journal.record(job.output, "pending", **fields)
        todo.append((checked, ranges))
    return todo


class _Scheduler:
    """Keeps at most ``workers`` tasks in flight and journals what they report."""

    def __init__(
        self,
        ray: ModuleType,
        todo: list[tuple[Job, list[tuple[int, int]] | None]],
        out: Path,
        work: Path,
        journal: Journal,
        options: BatchOptions,
        workers: int,
        on_event: Callable[[tuple[Any, ...]], None] | None,
    ) -> None:
        self.ray = ray
        self.out, self.work, self.journal, self.options = out, work, journal, options
        self.workers = workers
        self.on_event = on_event
        self.queue: collections.deque[tuple[str, Job, int]] = collections.deque(
            ("analyze" if ranges else "edit", job, 0) for job, ranges in todo
        )
        self.inflight: dict[Any, tuple[str, Job, int]] = {}
        self.long: dict[str, _Long] = {}
        self.started: dict[tuple[str, str], int] = {}
        self.begun: dict[str, float] = {}  # when a long video's pass 1 was submitted
        self.failed_parts: set[str] = set()
        self.progress = _Progress(options.progress, len(todo))
        task = dict(num_cpus=options.cpus_per_job, max_retries=options.retries,
                    retry_exceptions=False)  # fmt: skip
        self.tasks = {
            "edit": ray.remote(run_edit).options(**task),
            "analyze": ray.remote(run_analysis).options(**task),
            "range": ray.remote(run_range).options(**task),
        }
        self.events = ray.remote(num_cpus=0)(Events).remote()
        self.report = Reporter(self.events)

    def run(self) -> list[str]:
        ran = [job.output for _, job, _ in self.queue]
        try:
            while self.queue or self.inflight:
                while self.queue and len(self.inflight) < self.workers:
                    self._submit(*self.queue.popleft())
                ready, _ = self.ray.wait(list(self.inflight), num_returns=1, timeout=0.25)
                self._drain()
                for ref in ready:
                    self._finished(ref)
            self._drain()
        except BaseException:
            self._stop()
            raise
        finally:
            self.progress.close()
        return ran

    def _folder(self, job: Job, part: str = "") -> Path:
        return self.work / f"row{job.row:05d}" / part

    def _submit(self, kind: str, job: Job, index: int) -> None:
        cpus = self.options.cpus_per_job
        if kind == "edit":
            ref = self.tasks["edit"].remote(job, str(self.out), str(self._folder(job, "edit")),
                                            cpus, self.report)  # fmt: skip
        elif kind == "analyze":
            self.begun[job.output] = time.monotonic()
            ref = self.tasks["analyze"].remote(job, str(self._folder(job, "analysis")), cpus,
                                               self.report)  # fmt: skip
        else:
            frames = self.long[job.output].ranges[index]
            analysis, folder = str(self._folder(job, "analysis")), str(self._folder(job))
            ref = self.tasks["range"].remote(job, analysis, folder, index, frames, self.report)
        self.inflight[ref] = (kind, job, index)

    def _drain(self) -> None:
        for item in self.ray.get(self.events.drain.remote()):
            if self.on_event is not None:
                self.on_event(item)
            if item[0] == "start":
                _, key, part, pid, host = item
                if key in self.failed_parts:
                    continue
                retry = (key, part) in self.started  # Ray runs a part again: a new attempt
                first = not any(k == key for k, _ in self.started)
                self.started[(key, part)] = self.started.get((key, part), 0) + 1
                self.journal.record(key, "running", pid=pid, host=host, part=part,
                                    message=f"{part} on {host}, pid {pid}",
                                    new_attempt=retry or first)  # fmt: skip
            elif item[0] == "frames":
                self.progress.frames(*item[1:])

    def _finished(self, ref: Any) -> None:
        kind, job, index = self.inflight.pop(ref)
        try:
            result: TaskResult = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            name = type(exc).__name__
            result = TaskResult(job.output, kind, False, 1,
                                f"the worker process died on each of {self.options.retries + 1} "
                                f"attempts (killed, or out of memory): {name}")  # fmt: skip
        if job.output in self.failed_parts:
            return
        if not result.ok:
            self._fail(job, result)
        elif kind == "edit":
            self._done(job, result.frames, result.seconds, result.cpu_seconds, result.sha256,
                       result.edit_id)  # fmt: skip
        elif kind == "analyze":
            ranges = plan_ranges(result.n_frames, result.fps, self.options.range_seconds)
            self.long[job.output] = _Long(result, ranges)
            for i in reversed(range(len(ranges))):
                self.queue.appendleft(("range", job, i))
        else:
            long = self.long[job.output]
            long.results[index] = result
            if len(long.results) == len(long.ranges):
                self._join(job, long)

    def _join(self, job: Job, long: _Long) -> None:
        parts = [range_path(str(self._folder(job)), job, i) for i in range(len(long.ranges))]
        joined = fresh_folder(self._folder(job, "joined")) / job.output
        try:
            join_ranges(parts, job.input, joined, long.analysis.audio_streams,
                        long.analysis.rotation)  # fmt: skip
            finish_output(joined, job, self._folder(job, "analysis"))
            digest = sha256_file(joined)
            os.replace(joined, self.out / job.output)
        except EmodirectorError as exc:
            self._fail(job, TaskResult(job.output, "join", False, exc.exit_code, str(exc)))
            return
        results = [long.analysis, *long.results.values()]
        frames = sum(r.frames for r in long.results.values())
        seconds = time.monotonic() - self.begun[job.output]  # pass 1, the ranges, the join
        cpu = sum(r.cpu_seconds for r in results)
        self._done(job, frames, seconds, cpu, digest, long.analysis.edit_id)

    def _done(
        self, job: Job, frames: int, seconds: float, cpu: float, digest: str, edit_id: str
    ) -> None:
        self.journal.record(job.output, "done", frames=frames, seconds=round(seconds, 3),
                            fps=round(frames / seconds, 2) if seconds > 0 else 0.0,
                            cpu_seconds=round(cpu, 3), sha256=digest, edit_id=edit_id)  # fmt: skip
        shutil.rmtree(self._folder(job), ignore_errors=True)
        self.progress.job_done()

    def _fail(self, job: Job, result: TaskResult) -> None:
        self.journal.record(job.output, "failed", exit_code=result.exit_code,
                            message=result.message, seconds=round(result.seconds, 3))  # fmt: skip
        self.progress.write(f"failed: row {job.row} ({job.output}): {result.message}")
        if job.output in self.long:  # its other ranges are of no use now
            self.failed_parts.add(job.output)
            for ref, (_, other, _) in list(self.inflight.items()):
                if other.output == job.output:
                    self.ray.cancel(ref, force=True)
                    del self.inflight[ref]
            self.queue = collections.deque(t for t in self.queue if t[1].output != job.output)
        shutil.rmtree(self._folder(job), ignore_errors=True)
        self.progress.job_done()

    def _stop(self) -> None:
        """Interrupted: stop running tasks; their jobs go back to pending, partial files go."""
        running = {job.output: job for _, job, _ in self.inflight.values()}
        refs = list(self.inflight)
        for ref in refs:
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        with contextlib.suppress(Exception):  # let the killed workers stop writing first
            self.ray.wait(refs, num_returns=len(refs), timeout=_STOP_WAIT_S)
        self.inflight.clear()
        for key, job in running.items():
            if key not in self.failed_parts:
                self.journal.record(key, "pending", message="interrupted")
            shutil.rmtree(self._folder(job), ignore_errors=True)


def finish_output(path: Path, job: Job, analysis_dir: Path) -> None:
    """The last step on a joined video before it is renamed into place: its C2PA manifest,
    signed as ``edit_video`` signs a whole edit's output, naming the edit id that the ranges'
    watermark carries (MKV cannot carry a manifest)."""
    target, options = load_request(analysis_dir)
    provenance = getattr(options, "provenance", None)
    if provenance is None or not provenance.manifest or provenance.edit_id is None:
        return
    from emodirector.provenance.manifest import supports_manifest
    from emodirector.provenance.stamp import edit_record, editor_name, sign_video

    if supports_manifest(path):
        record = edit_record(job.input, target, editor_name(options.editor), provenance.edit_id)
        sign_video(path, record, provenance.signing, title=job.output)


__all__ = ["INSTALL_HINT", "BatchOptions", "BatchResult", "default_workers", "import_ray",
           "ray_session", "run_batch"]  # fmt: skip
