"""The jobs file, the journal, the summary and the command's front door: no Ray needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emodirector.batch.jobs import read_jobs
from emodirector.batch.journal import JOURNAL_NAME, Journal, status_text
from emodirector.batch.ranges import plan_ranges
from emodirector.batch.summary import write_summary
from emodirector.errors import InvalidOptionError
from tests._cli import run_cli


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_rows_become_edit_arguments(tmp_path: Path, grid_clip: Path) -> None:
    (tmp_path / "clip.mpg").symlink_to(grid_clip)
    jobs = read_jobs(_write(tmp_path / "jobs.csv", (
        "input,output,emotion,intensity,reference,au,timeline,face,crf,editor,no_eyes\n"
        "clip.mpg,a.mp4,happy,0.8,,,,,,,\n"
        "clip.mpg,b.mp4,,,ref.png,,,2,23,prototype,yes\n"
        "\n"
        "clip.mpg,c.mp4,,,,\"AU12=0.7,AU6=0.5\",,,,,\n"
    )))  # fmt: skip
    assert [j.output for j in jobs] == ["a.mp4", "b.mp4", "c.mp4"]
    assert [j.row for j in jobs] == [1, 2, 3]
    assert all(j.error is None for j in jobs)
    assert jobs[0].input == tmp_path / "clip.mpg"
    assert jobs[0].argv == ("--emotion", "happy", "--intensity", "0.8")
    # relative paths are read from the jobs file's folder; switches are flags
    assert jobs[1].argv == ("--reference", str(tmp_path / "ref.png"), "--face", "2", "--crf",
                            "23", "--editor", "prototype", "--no-eyes")  # fmt: skip
    assert jobs[2].argv == ("--au", "AU12=0.7,AU6=0.5")
    assert jobs[0].direction == "emotion=happy@0.8"
    assert jobs[2].direction == "au=AU12=0.7,AU6=0.5"


def test_jsonl_rows(tmp_path: Path, grid_clip: Path) -> None:
    rows = [
        {"input": str(grid_clip), "output": "t.mp4", "timeline": "0:neutral, 1:happy@0.8"},
        {"input": str(grid_clip), "output": "n.mkv", "emotion": "sad", "crf": 20, "au": None},
    ]
    path = _write(tmp_path / "jobs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    jobs = read_jobs(path)
    assert jobs[0].argv == ("--timeline", "0:neutral, 1:happy@0.8")
    assert jobs[1].argv == ("--emotion", "sad", "--crf", "20")


def test_a_wrong_row_fails_alone(tmp_path: Path, grid_clip: Path) -> None:
    jobs = read_jobs(_write(tmp_path / "jobs.csv", (
        "input,output,emotion\n"
        f"{grid_clip},ok.mp4,happy\n"
        "missing.mp4,missing.mp4,happy\n"
        f"{grid_clip},sub/dir.mp4,happy\n"
        f"{grid_clip},ok.mp4,sad\n"
        f"{grid_clip},,sad\n"
    )))  # fmt: skip
    assert jobs[0].error is None
    assert (jobs[1].exit_code, "missing.mp4: no such file") == (3, jobs[1].error.split("/")[-1])
    assert jobs[2].exit_code == 5 and "file name inside the output folder" in str(jobs[2].error)
    assert jobs[3].exit_code == 5 and "already the output of an earlier row" in str(jobs[3].error)
    assert jobs[4].exit_code == 5 and "no output" in str(jobs[4].error)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("jobs.csv", "input,output,emotoin\na.mp4,b.mp4,happy\n", "unknown column 'emotoin'"),
        ("jobs.csv", "input,emotion\na.mp4,happy\n", "no 'output' column"),
        ("jobs.jsonl", '{"input": "a.mp4", "output": "b.mp4"}\nnot json\n', "line 2 is not JSON"),
        ("jobs.txt", "input,output\n", "a jobs file is .csv or .jsonl"),
    ],
)
def test_an_unreadable_jobs_file_is_refused(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        read_jobs(_write(tmp_path / name, text))


def test_plan_ranges_cover_every_frame_once() -> None:
    for n, fps, seconds in [(1500, 25.0, 30.0), (1501, 25.0, 30.0), (7, 30.0, 0.1), (0, 25, 5)]:
        ranges = plan_ranges(n, fps, seconds)
        covered = [i for a, b in ranges for i in range(a, b)]
        assert covered == list(range(n))
        assert all(b - a <= max(1, seconds * fps) + 1 for a, b in ranges)
    assert plan_ranges(1500, 25.0, 0) == [(0, 1500)]


def test_journal_replays_states_and_skips_a_torn_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    assert not journal.exists
    journal.record("a.mp4", "pending", row=1, input="in.mp4", direction="emotion=happy")
    journal.record("a.mp4", "running", pid=11)
    journal.record("a.mp4", "running", pid=12)  # Ray retried it after its worker died
    journal.record("a.mp4", "done", frames=75, fps=7.5, seconds=10.0, sha256="ab" * 32)
    journal.record("b.mp4", "pending", row=2)
    journal.record("b.mp4", "running", pid=13)
    journal.record("c.mp4", "failed", row=3, exit_code=2, message="unknown emotion")
    with (tmp_path / JOURNAL_NAME).open("a") as f:
        f.write('{"job": "b.mp4", "state": "do')  # the driver died while writing
    again = Journal(tmp_path)
    assert {k: (j.state, j.attempts) for k, j in again.jobs.items()} == {
        "a.mp4": ("done", 2),
        "b.mp4": ("running", 1),
        "c.mp4": ("failed", 0),
    }
    assert again.jobs["c.mp4"].exit_code == 2
    assert again.counts() == {"done": 1, "running": 1, "pending": 0, "failed": 1}
    text = status_text(again)
    assert text.splitlines()[0] == "3 jobs: 1 done, 1 running, 0 pending, 1 failed"
    assert "exit 2: unknown emotion" in text


def test_summary_lists_every_job(tmp_path: Path, grid_clip: Path) -> None:
    jobs = read_jobs(_write(tmp_path / "jobs.csv", (
        f"input,output,emotion\n{grid_clip},a.mp4,happy\n{grid_clip},b.mp4,joyful\n"
    )))  # fmt: skip
    journal = Journal(tmp_path)
    journal.record("a.mp4", "done", frames=75, fps=7.5, seconds=10.0)
    journal.record("b.mp4", "failed", exit_code=2, message="argument --emotion: invalid choice")
    md, csv_path = write_summary(tmp_path, jobs, journal)
    lines = md.read_text().splitlines()
    assert lines[2] == "2 jobs: 1 done, 0 running, 0 pending, 1 failed"
    assert "| 1 | " in lines[6] and "| 75 | 7.5 |" in lines[6] and "| done |" in lines[6]
    assert "failed (exit 2) | argument --emotion: invalid choice |" in lines[7]
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "row,input,output,direction,frames,fps,seconds,attempts,result,message"
    assert len(rows) == 3


def test_status_command(tmp_path: Path) -> None:
    Journal(tmp_path).record("a.mp4", "failed", row=1, exit_code=3, message="x.mp4: no such file")
    done = run_cli("batch", "status", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 done, 0 running, 0 pending, 1 failed" in done.stdout
    assert "exit 3: x.mp4: no such file" in done.stdout
    empty = run_cli("batch", "status", tmp_path / "nothing")
    assert empty.returncode == 3
    assert empty.stderr.count("\n") == 1 and "no batch journal" in empty.stderr


def test_without_ray_the_command_says_how_to_install_it(tmp_path: Path, grid_clip: Path) -> None:
    jobs = _write(tmp_path / "jobs.csv", f"input,output,emotion\n{grid_clip},a.mp4,happy\n")
    code = (
        "import sys; sys.modules['ray'] = None  # as if the batch extra were not installed\n"
        "from emodirector.cli import main\n"
        f"sys.exit(main(['batch', {str(jobs)!r}, '-o', {str(tmp_path / 'out')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        'emodirector: error: emodirector batch needs Ray: pip install "emodirector[batch]"'
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("cpus", "parallel"), [(1, False), (2, True)])
def test_a_job_tracks_in_two_halves_only_with_two_cpus(
    tmp_path: Path, grid_clip: Path, cpus: int, parallel: bool
) -> None:
    from emodirector.batch.worker import _request

    (tmp_path / "clip.mpg").symlink_to(grid_clip)
    (job,) = read_jobs(_write(tmp_path / "jobs.csv", "input,output,emotion\nclip.mpg,a.mp4,sad\n"))
    _, options = _request(job, tmp_path / "a.mp4", cpus)
    assert options.encode.threads == cpus
    assert options.tracker.parallel is parallel
