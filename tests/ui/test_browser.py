"""The real page in headless Chromium, served by the real ``emodirector ui`` command.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright's Python client. Without them
the tests are skipped, unless ``EMODIRECTOR_REQUIRE_BROWSER`` is set (as CI does): then they
fail. Screenshots of each step go to ``$EMODIRECTOR_UI_SHOTS`` if set (else a temporary folder).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._media import audio_packets, frame_count

CHROMIUM = Path("/usr/bin/chromium")
#: Seconds to wait for the server to print its address.
SERVER_START_S = 60
#: Seconds to wait for each step in the page (analysis, render, measurement of a 5 s clip).
STEP_S = 120
#: Preview of one frame, as the page reports it, must take less than this (milliseconds).
PREVIEW_BUDGET_MS = 500

pytestmark = pytest.mark.slow


def _browser_or_skip() -> Any:
    """Playwright's sync API, or skip (fail when EMODIRECTOR_REQUIRE_BROWSER is set)."""
    required = bool(os.environ.get("EMODIRECTOR_REQUIRE_BROWSER"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed (pip install -r requirements.lock)")
        pytest.skip("playwright is not installed")
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} missing (apt-get install -y --no-install-recommends chromium)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``emodirector ui`` in a subprocess, its workspace under ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        env = {**os.environ, "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "emodirector.cli", "ui", "--port", str(_free_port()),
               "--max-upload-mb", "20"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.url = self._wait_for_address()

    def _wait_for_address(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + SERVER_START_S
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"running at (http://\S+)", line)
            if found:
                return found.group(1).rstrip("/")
        self.proc.kill()
        raise AssertionError("server did not start:\n" + "".join(lines))

    def workspaces(self) -> list[Path]:
        return sorted(self.tmp.glob("emodirector-ui-*"))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    return _browser_or_skip()


@pytest.fixture(scope="module")
def server(playwright_api: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("ui-server"))
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


@pytest.fixture(scope="module")
def browser(playwright_api: Any) -> Iterator[Any]:
    with playwright_api() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EMODIRECTOR_UI_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text())


def _wait_text(page: Any, selector: str, pattern: str) -> str:
    """Wait until the element's text matches ``pattern`` (regex); return the text."""
    page.wait_for_function(
        "([sel, pat]) => new RegExp(pat).test(document.querySelector(sel)?.innerText ?? '')",
        arg=[selector, pattern],
        timeout=STEP_S * 1000,
    )
    return _text(page, selector)


def _open(browser: Any, server: Server) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(server.url)
    page.wait_for_selector("#video-in input[type=file]", state="attached")
    return page


def test_upload_preview_render_download_plot(
    browser: Any, server: Server, face3_clip: Path, shots: Path, tmp_path: Path
) -> None:
    page = _open(browser, server)
    page.locator("#video-in input[type=file]").set_input_files(str(face3_clip))
    status = _wait_text(page, "#status", r"Ready|not a video|No face")
    assert "Ready" in status and "125 frames" in status, status
    info = _wait_text(page, "#preview-info", r"rendered in \d+ ms")
    page.screenshot(path=str(shots / "01_upload.png"), full_page=True)

    page.get_by_label("sad").check()
    info = _wait_text(page, "#preview-info", r"sad\W+rendered in \d+ ms")
    assert int(re.search(r"rendered in (\d+) ms", info).group(1)) < PREVIEW_BUDGET_MS  # type: ignore[union-attr]
    after = page.locator("#after img")
    assert after.count() == 1 and page.locator("#before img").count() == 1
    page.screenshot(path=str(shots / "02_preview.png"), full_page=True)

    page.locator("#render").click()
    done = _wait_text(page, "#render-status", r"Done|failed|cancelled")
    assert "Done" in done and "125 frames" in done, done
    assert "manifest, valid" in done and "watermark found" in done, done  # verify's result
    page.wait_for_selector("#after-video video", state="attached", timeout=STEP_S * 1000)
    page.screenshot(path=str(shots / "03_render_done.png"), full_page=True)
    with page.expect_download(timeout=STEP_S * 1000) as download:
        page.locator("#download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.endswith("_sad.mp4")
    assert frame_count(saved) == frame_count(face3_clip)
    assert audio_packets(saved) == audio_packets(face3_clip) != []

    page.locator("#measure").click()
    measured = _wait_text(page, "#measure-info", r"Mean probability of|Could not")
    assert "Mean probability of **sad**" in measured or "sad" in measured, measured
    page.wait_for_selector("#plot img", timeout=STEP_S * 1000)
    page.locator("#plot").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "04_plot.png"), full_page=True)
    page.close()


def test_non_video_upload_is_refused(
    browser: Any, server: Server, tmp_path: Path, shots: Path
) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("not a video, just text\n" * 200)
    page = _open(browser, server)
    page.locator("#video-in input[type=file]").set_input_files(str(fake))
    status = _wait_text(page, "#status", r"Ready|not a video|No face")
    assert "holiday.mp4 is not a video this tool can read" in status, status
    assert page.locator("#render").is_disabled()
    page.screenshot(path=str(shots / "05_refused.png"), full_page=True)
    for ws in server.workspaces():  # the refused upload is deleted from the server
        assert not list(ws.rglob("holiday.mp4"))
    page.close()


def test_server_sends_no_file_from_outside_its_workspace(server: Server, face3_clip: Path) -> None:
    (workspace,) = server.workspaces()
    for path in ("/etc/passwd", str(face3_clip), f"{workspace}/../../../../etc/passwd"):
        url = f"{server.url}/gradio_api/file={path}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code in (403, 404), path


def test_server_binds_to_localhost_and_cleans_up_on_exit(server: Server) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert len(server.workspaces()) == 1
    assert server.stop() == 0
    assert server.workspaces() == []
