"""Running the ``emodirector`` command for the CLI tests: as a real subprocess (end to end:
start-up, signals, exit status), or in this process through ``cli.main`` (argument and input
errors, which need no new interpreter and no second import of the libraries)."""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from emodirector.cli import main

#: Seconds a subprocess may take before a test gives up on it.
CLI_TIMEOUT_S = 120


def cli_command(*args: str | Path) -> list[str]:
    """The argument list that runs ``emodirector ARGS`` with this interpreter."""
    return [sys.executable, "-m", "emodirector.cli", *map(str, args)]


def run_cli(
    *args: str | Path, timeout: float = CLI_TIMEOUT_S, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``emodirector ARGS`` to the end, capturing its text output."""
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
    )


def call_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``emodirector ARGS`` in this process: ``main``'s exit code and what it printed.

    An exception ``main`` lets escape (a traceback, in a real run) fails the test. The SIGTERM
    handler ``main`` installs is put back afterwards.
    """
    out, err = io.StringIO(), io.StringIO()
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    return subprocess.CompletedProcess(cli_command(*args), code, out.getvalue(), err.getvalue())


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_cli(
    args: tuple[str | Path, ...],
    when: bytes,
    sig: signal.Signals,
    before_signal: Callable[[], None] | None = None,
    timeout: float = CLI_TIMEOUT_S,
) -> tuple[int, str]:
    """Start ``emodirector ARGS``, send ``sig`` once ``when`` appears on its stderr.

    Args:
        args: The command's arguments.
        when: Bytes of stderr (e.g. a progress bar's label) to wait for.
        sig: The signal to send.
        before_signal: Called after ``when`` appeared, just before the signal.
        timeout: Seconds to wait for ``when``, and then for the process to end.

    Returns:
        The exit code and the whole stderr.
    """
    # As in a terminal's foreground job: a test run started in the background of a
    # non-interactive shell ignores SIGINT, and a child would inherit that and never see Ctrl-C.
    proc = subprocess.Popen(
        cli_command(*args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_default_sigint,
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while when not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        assert when in seen, seen.decode(errors="replace")
        if before_signal is not None:
            before_signal()
        proc.send_signal(sig)
        rest = proc.communicate(timeout=timeout)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, (seen + rest).decode(errors="replace")
