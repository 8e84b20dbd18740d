"""Fuzzing the container and frame-decoding path: mutated bytes of a real clip, run through the
real CLI in a subprocess. Whatever the damage, the process must end in time with success or a
documented error (one line, no traceback), leave no partial output and not touch its input.

Bounded to a few examples (about half a minute, for the suite's time budget);
``benchmarks/fuzz.py`` runs the same check for as long as asked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._media import sha256, transcode

#: Exit codes a damaged input may produce: success (the damage was harmless), unsupported or
#: corrupt video, no usable face.
_ALLOWED = {0, 4, 6}
#: A run on a 10-frame clip that takes longer than this counts as a hang.
_HANG_S = 90
_EXAMPLES = 8


@pytest.fixture(scope="module")
def seed_clip(grid_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Ten frames of the GRID clip with audio, as H.264 + MP2 in MP4 (a few tens of KB)."""
    path = transcode(grid_clip, tmp_path_factory.mktemp("seed") / "seed.mp4", max_frames=10)
    return path.read_bytes()


def check_mutant(data: bytes, folder: Path) -> int:
    """Run ``emodirector edit`` on ``data``; assert the contract; return the exit code."""
    for old in folder.iterdir():
        old.unlink()
    src = folder / "in.mp4"
    src.write_bytes(data)
    before = sha256(src)
    out = folder / "out.mp4"
    proc = subprocess.run(
        [sys.executable, "-m", "emodirector.cli", "edit", str(src), "-o", str(out),
         "--emotion", "happy", "-q", "--preset", "ultrafast"],
        capture_output=True, text=True, timeout=_HANG_S, check=False,
    )  # fmt: skip
    assert proc.returncode in _ALLOWED, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert sha256(src) == before
    left = {p.name for p in folder.iterdir()}
    if proc.returncode == 0:
        assert left == {"in.mp4", "out.mp4"}
    else:
        assert left == {"in.mp4"}
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("emodirector: error:")]
        assert len(errors) == 1, proc.stderr[-2000:]
    return proc.returncode


@st.composite
def mutations(draw: st.DrawFn, size: int) -> tuple[list[tuple[int, int]], int]:
    """Up to 40 byte overwrites anywhere, and a length to truncate to (``size`` = none)."""
    flips = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)), max_size=40))
    cut = draw(st.one_of(st.just(size), st.integers(0, size)))
    return flips, cut


def mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        buf[pos] = value
    return bytes(buf[:cut])


@pytest.mark.slow
def test_mutated_clip_never_crashes_or_hangs(seed_clip: bytes, tmp_path: Path) -> None:
    size = len(seed_clip)

    @settings(
        max_examples=_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(mutations(size))
    def run(m: tuple[list[tuple[int, int]], int]) -> None:
        check_mutant(mutate(seed_clip, *m), tmp_path)

    run()
