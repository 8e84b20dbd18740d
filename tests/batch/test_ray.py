"""Batches on a real local Ray cluster of two worker slots, shared by the tests of this module.

Real clips: the two GRID clips (75 frames each, MPEG-1 video and MP2 audio), the shortest shared
footage; a long video is one of them looped to 60 s.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emodirector import EditOptions, EmotionTarget, EncodeOptions, analyze_video, edit_video
from emodirector.batch.journal import JOURNAL_NAME, Journal, read_records
from emodirector.batch.runner import TEMP_FOLDER, BatchOptions, run_batch
from tests._cli import CLI_TIMEOUT_S, cli_command
from tests._media import (
    audio_packets,
    decoded_yuv,
    frame_count,
    looped_clip,
    sha256,
    video_times,
)

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

#: Worker slots of the test cluster: two tasks of 2 CPUs each run at once.
WORKERS, CPUS_PER_JOB = 2, 2
REFERENCE = "references/angry__mead_M030_level3_256_frame041.png"
#: A joined long video against the single-worker edit: encoder noise only.
MIN_PSNR_DB = 45.0
#: Length of the looped long video, and of the ranges it is rendered in (two ranges and one
#: join: what the test is about; 20 s keeps the suite's time in CI's budget).
LONG_SECONDS, RANGE_SECONDS = 20, 10
#: x264 quality of the long-video comparison. Each range is a fresh encode, and x264's rate
#: control carries a history of the frames before, so a range differs from the same frames of
#: one continuous encode by encoder noise only (bit-identical pictures go in): about 46-47 dB at
#: the default crf 18 on this grainy MPEG-1 clip, close to the bar; a finer crf keeps the
#: comparison about the join rather than the encoder's grain.
LONG_CRF = 14


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A local Ray of 2 x 2 CPU slots for the module; its address, for CLI drivers to join."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        num_cpus=WORKERS * CPUS_PER_JOB,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=128 * 1024 * 1024,
        namespace="emodirector-batch-tests",
    )
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _jobs(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _options(**kwargs: Any) -> BatchOptions:
    defaults: dict[str, Any] = dict(workers=WORKERS, cpus_per_job=CPUS_PER_JOB, progress=False)
    return BatchOptions(**{**defaults, **kwargs})


def _leftovers(out: Path, expected: set[str]) -> list[str]:
    """Files or folders in ``out`` other than the outputs, the journal and the summary."""
    keep = expected | {JOURNAL_NAME, "batch-summary.md", "batch-summary.csv"}
    return sorted(p.name for p in out.iterdir() if p.name not in keep)


def _most_at_once(out: Path) -> int:
    """The most jobs the journal shows running at the same time."""
    changes = []
    for record in read_records(out / JOURNAL_NAME):
        if record["state"] == "running":
            changes.append((record["time"], 1))
        elif record["state"] in ("done", "failed") and "seconds" in record:
            changes.append((record["time"], -1))
    level = most = 0
    for _, step in sorted(changes):
        level += step
        most = max(most, level)
    return most


def test_six_jobs_with_every_direction_and_a_bad_row(
    cluster: str, tmp_path: Path, data_dir: Path, grid_clip: Path, grid_clip_2: Path
) -> None:
    reference = data_dir / REFERENCE
    header = "input,output,emotion,intensity,reference,au,timeline,crf"
    jobs = _jobs(tmp_path / "jobs.csv", header, [
        f"{grid_clip},happy.mp4,happy,0.8,,,,",
        f"{grid_clip_2},sad.mkv,sad,,,,,",
        f"{grid_clip},reference.mp4,,,{reference},,,",
        f'{grid_clip_2},au.mp4,,,,"AU12=0.7,AU6=0.5,AU4=0",,23',
        f'{grid_clip},timeline.mp4,,,,,"0:neutral, 1:happy@0.8, 2:sad",',
        f"{grid_clip_2},surprised.mov,surprised,0.6,,,,",
        f"{grid_clip},bad.mp4,joyful,,,,,",
    ])  # fmt: skip
    out = tmp_path / "out"
    events: list[tuple[Any, ...]] = []
    result = run_batch(jobs, out, _options(), on_event=events.append)

    journal = Journal(out)
    outputs = [j.output for j in result.jobs[:6]]
    for job in result.jobs[:6]:
        state = journal.jobs[job.output]
        assert state.state == "done", state.message
        path = out / job.output
        assert state.sha256 == sha256(path)
        assert frame_count(path) == 75 == state.frames
        assert audio_packets(path) == audio_packets(job.input)  # byte for byte
    bad = journal.jobs["bad.mp4"]
    assert (bad.state, bad.exit_code, bad.attempts) == ("failed", 2, 0)
    assert bad.message.startswith("argument --emotion: invalid choice: 'joyful'")
    assert "\n" not in bad.message
    assert [j.output for j in result.failed] == ["bad.mp4"]
    assert len([e for e in events if e[0] == "start"]) == 6
    assert 1 <= _most_at_once(out) <= WORKERS
    assert _leftovers(out, set(outputs)) == []
    summary = (out / "batch-summary.csv").read_text().splitlines()
    assert len(summary) == 8 and summary[7].startswith("7,")


def test_a_killed_worker_is_retried_and_leaves_no_partial_file(
    cluster: str, tmp_path: Path, grid_clip: Path
) -> None:
    # 10 s (250 frames): the progress event that triggers the kill reaches this process well
    # before the edit ends (on the 3 s clip it once came after the output had been renamed)
    clip = looped_clip(grid_clip, tmp_path / "clip.mp4", RANGE_SECONDS)
    jobs = _jobs(tmp_path / "jobs.csv", "input,output,emotion", [f"{clip},happy.mp4,happy"])
    out = tmp_path / "out"
    pids: list[int] = []
    killed: list[int] = []
    partial: list[list[str]] = []

    def on_event(event: tuple[Any, ...]) -> None:
        if event[0] == "start":
            pids.append(event[3])
        elif event[0] == "frames" and not killed and event[5] >= 5:
            # mid-edit: the encoder's temporary file exists; kill the worker process
            partial.append([p.name for p in (out / TEMP_FOLDER).rglob("*.part.*")])
            os.kill(pids[-1], signal.SIGKILL)
            killed.append(pids[-1])

    run_batch(jobs, out, _options(retries=2), on_event=on_event)
    state = Journal(out).jobs["happy.mp4"]
    assert killed and partial[0], "the worker was not killed mid-edit"
    assert state.state == "done" and state.attempts == 2
    assert len(pids) == 2 and pids[1] != killed[0]
    assert frame_count(out / "happy.mp4") == RANGE_SECONDS * 25
    assert _leftovers(out, {"happy.mp4"}) == []


def test_a_job_whose_worker_dies_more_often_than_allowed_fails_alone(
    cluster: str, tmp_path: Path, grid_clip: Path
) -> None:
    # 10 s, as above: on the 3 s clip the start event once reached this process after the edit
    # had finished (the job read 'done')
    clip = looped_clip(grid_clip, tmp_path / "clip.mp4", RANGE_SECONDS)
    jobs = _jobs(tmp_path / "jobs.csv", "input,output,emotion", [f"{clip},happy.mp4,happy"])
    out = tmp_path / "out"

    def on_event(event: tuple[Any, ...]) -> None:
        if event[0] == "start":
            os.kill(event[3], signal.SIGKILL)

    result = run_batch(jobs, out, _options(retries=0), on_event=on_event)
    state = Journal(out).jobs["happy.mp4"]
    assert (state.state, state.exit_code, state.attempts) == ("failed", 1, 1)
    assert state.message.startswith("the worker process died on each of 1 attempts")
    assert [j.output for j in result.failed] == ["happy.mp4"]
    assert _leftovers(out, set()) == []


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.is_file() and text in path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_an_interrupted_driver_is_resumed(
    cluster: str, tmp_path: Path, grid_clip: Path, grid_clip_2: Path
) -> None:
    rows = [f"{grid_clip},a.mp4,happy", f"{grid_clip_2},b.mp4,sad", f"{grid_clip},c.mp4,angry"]
    jobs = _jobs(tmp_path / "jobs.csv", "input,output,emotion", rows)
    out = tmp_path / "out"
    args = ("batch", jobs, "-o", out, "--address", cluster, "--workers", "1", "-q")
    # SIGINT as in a terminal's foreground job (a background test run would ignore it)
    proc = subprocess.Popen(
        cli_command(*args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for(out / JOURNAL_NAME, '"state": "done"', proc, CLI_TIMEOUT_S)
        proc.send_signal(signal.SIGINT)
        stderr = proc.communicate(timeout=CLI_TIMEOUT_S)[1].decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "batch interrupted" in stderr and "--resume" in stderr
    journal = Journal(out)
    assert journal.jobs["a.mp4"].state == "done"
    assert journal.jobs["b.mp4"].state == "pending"  # it was running: back to pending
    assert journal.jobs["c.mp4"].state == "pending"
    assert _leftovers(out, {"a.mp4"}) == []
    first = (out / "a.mp4").stat().st_mtime_ns

    done = subprocess.run(cli_command(*args, "--resume"), capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S * 2, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    journal = Journal(out)
    assert {k: j.state for k, j in journal.jobs.items()} == dict.fromkeys(
        ["a.mp4", "b.mp4", "c.mp4"], "done"
    )
    assert journal.jobs["a.mp4"].attempts == 1  # not run again
    assert (out / "a.mp4").stat().st_mtime_ns == first
    assert all(frame_count(out / name) == 75 for name in ("b.mp4", "c.mp4"))
    status = subprocess.run(cli_command("batch", "status", out), capture_output=True, text=True,
                            timeout=CLI_TIMEOUT_S, check=False)  # fmt: skip
    assert "3 jobs: 3 done, 0 running, 0 pending, 0 failed" in status.stdout


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_a_long_video_over_two_workers_matches_the_single_worker_edit(
    cluster: str, tmp_path: Path, grid_clip: Path
) -> None:
    long = looped_clip(grid_clip, tmp_path / "long.mp4", LONG_SECONDS)
    rows = [f"{long},long_sad.mp4,sad,{LONG_CRF}"]
    jobs = _jobs(tmp_path / "jobs.csv", "input,output,emotion,crf", rows)
    out = tmp_path / "out"
    events: list[tuple[Any, ...]] = []
    run_batch(jobs, out, _options(range_seconds=RANGE_SECONDS), on_event=events.append)
    parts = sorted({e[2] for e in events if e[0] == "start"})
    assert parts == ["analyze", "range 0", "range 1"]
    joined = out / "long_sad.mp4"
    state = Journal(out).jobs["long_sad.mp4"]
    assert state.state == "done"

    # the single-worker edit, with the batch's edit id: the same watermark on every frame
    options = EditOptions(encode=EncodeOptions(crf=LONG_CRF))
    if state.edit_id:
        provenance = dataclasses.replace(options.provenance, edit_id=int(state.edit_id, 16))
        options = dataclasses.replace(options, provenance=provenance)
    target = EmotionTarget.from_label("sad")
    # analysed first, as the batch analyses a long video once for its ranges: the mouth's bank
    # is then gathered from the analysis (``render.mouth.replay``) in both, not while tracking
    single = edit_video(
        long, tmp_path / "single.mp4", target, options, analysis=analyze_video(long)
    ).output
    n = LONG_SECONDS * 25
    assert frame_count(joined) == frame_count(single) == n
    assert video_times(joined) == video_times(single) == video_times(long)
    assert audio_packets(joined) == audio_packets(long)
    psnr = [_psnr(a, b) for a, b in zip(decoded_yuv(joined), decoded_yuv(single), strict=True)]
    assert min(psnr) >= MIN_PSNR_DB, (int(np.argmin(psnr)), min(psnr))
    assert _leftovers(out, {"long_sad.mp4"}) == []
    if state.edit_id:  # the joined file is signed once, with the id all ranges' watermark carry
        from emodirector.provenance.verify import verify_video

        found = verify_video(joined, max_frames=250).to_dict()
        assert found["verdict"] == "recognised"
        assert found["manifest"]["edit"]["edit_id"] == state.edit_id
        assert found["watermark"]["payload"]["edit_id"] == state.edit_id
