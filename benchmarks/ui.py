"""Speed of the web UI on a real clip: analysis, preview latency, render, emotion measurement.

Two rounds on the same clip (default ``videoretalking_face3_woman_flagbg_590x590_speech.mp4``,
125 frames):

* ``jobs``: the functions the page's handlers call (``emodirector.ui.jobs``), timed directly:
  analysis, ``--previews`` previews (emotions in turn, frames spread over the clip; the first,
  which plans the edit, reported apart), a render, the emotion measurement of input and output.
* ``browser``: the real page (``emodirector ui`` in a subprocess, headless Chromium at
  ``/usr/bin/chromium``): upload, then ``--previews`` clicks on an emotion, each timed from the
  click until the page's caption under the images names it (the images arrive in the same
  update; network, Gradio's queue and the image transfer included), then a render timed from
  the click until "Done". Skipped if Chromium or Playwright is missing.

Writes ``benchmarks/results/ui.json``. Run from the repository root::

    .venv/bin/python benchmarks/ui.py
    .venv/bin/python benchmarks/ui.py --clip grid_bbaf2n_man_360x288_speech.mpg --previews 20
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, CpuMeter, machine_info, resolve_clip, write_json

DEFAULT_CLIP = "videoretalking_face3_woman_flagbg_590x590_speech.mp4"
EMOTIONS = ("happy", "sad", "angry", "surprised", "fearful", "disgusted", "neutral")
CHROMIUM = Path("/usr/bin/chromium")
STEP_TIMEOUT_MS = 300_000


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "n": len(values),
    }


def bench_jobs(clip: Path, previews: int) -> dict[str, Any]:
    from emodirector.ui import EmotionPanel, Workspace
    from emodirector.ui.jobs import ClipCache, SessionStore, measure, preview

    panel = EmotionPanel()
    with tempfile.TemporaryDirectory() as tmp, Workspace(tmp) as ws:
        store = SessionStore(ws, ClipCache(ws, 150))
        session = store.get("bench")
        meter = CpuMeter()
        t0 = time.perf_counter()
        c = store.cache.acquire(clip)
        analysis_s = time.perf_counter() - t0
        session.set_clip(c, store.cache)
        first: list[float] = []
        cached: list[float] = []
        for k in range(previews):
            emotion = EMOTIONS[k % len(EMOTIONS)]
            index = int(k * (c.n_frames - 1) / max(previews - 1, 1))
            direction = panel.direction([emotion, 0.8])
            (first if k < len(EMOTIONS) else cached).append(preview(c, direction, index).seconds)
        render = session.render(panel.direction(["happy", 1.0]))
        t0 = time.perf_counter()
        measure(clip)
        measure_input_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        measure(render.output)
        measure_output_s = time.perf_counter() - t0
        cpu = meter.stop()
        store.close_all()
    return {
        "frames": c.n_frames,
        "analysis_seconds": round(analysis_s, 3),
        "preview_seconds_all": _stats(first + cached),
        "preview_seconds_first_per_emotion": _stats(first),
        "preview_seconds_planned_before": _stats(cached) if cached else None,
        "render_fps": round(render.fps, 2),
        "render_seconds": round(render.total_seconds, 3),
        "measure_input_seconds": round(measure_input_s, 3),
        "measure_output_seconds": round(measure_output_s, 3),
        "cpu": cpu,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_browser(clip: Path, previews: int) -> dict[str, Any] | str:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "skipped: playwright is not installed"
    if not CHROMIUM.is_file():
        return f"skipped: {CHROMIUM} missing"
    cmd = [sys.executable, "-m", "emodirector.cli", "ui", "--port", str(_free_port())]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        assert proc.stdout is not None
        url = ""
        while not url:
            line = proc.stdout.readline()
            if not line:
                return "failed: the server did not start"
            found = re.search(r"running at (http://\S+)", line)
            url = found.group(1) if found else ""
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            t0 = time.perf_counter()
            page.locator("#video-in input[type=file]").set_input_files(str(clip))
            page.wait_for_function(
                "document.querySelector('#preview-info')?.innerText.includes('rendered in')",
                timeout=STEP_TIMEOUT_MS,
            )
            upload_s = time.perf_counter() - t0
            latencies: list[float] = []
            server_ms: list[float] = []
            order = [e for e in EMOTIONS if e != "happy"] + ["happy"]
            for k in range(previews):
                emotion = order[k % len(order)]
                t0 = time.perf_counter()
                page.get_by_label(emotion, exact=True).check()
                page.wait_for_function(
                    "p => new RegExp(p).test(document.querySelector('#preview-info').innerText)",
                    arg=emotion + r"\W+rendered in",
                    timeout=STEP_TIMEOUT_MS,
                )
                latencies.append(time.perf_counter() - t0)
                text = page.locator("#preview-info").inner_text()
                found = re.search(r"rendered in (\d+) ms", text)
                if found:
                    server_ms.append(float(found.group(1)))
            t0 = time.perf_counter()
            page.locator("#render").click()
            page.wait_for_function(
                "/Done|failed/.test(document.querySelector('#render-status').innerText)",
                timeout=STEP_TIMEOUT_MS,
            )
            render_wall = time.perf_counter() - t0
            status = page.locator("#render-status").inner_text()
            browser.close()
        frames = re.search(r"(\d+) frames", status)
        reported = re.search(r"\((\d+) frames/s\)", status)
        n = int(frames.group(1)) if frames else 0
        return {
            "upload_to_first_preview_seconds": round(upload_s, 3),
            "preview_click_to_image_seconds": _stats(latencies),
            "preview_server_ms": _stats(server_ms) if server_ms else None,
            "render_click_to_done_seconds": round(render_wall, 3),
            "render_fps_click_to_done": round(n / render_wall, 2) if render_wall > 0 else None,
            "render_fps_reported": float(reported.group(1)) if reported else None,
            "render_status": status,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=DEFAULT_CLIP, help="path or file name in <data>/videos")
    ap.add_argument("--previews", type=int, default=10, help="previews timed per round")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser round")
    args = ap.parse_args()
    clip = resolve_clip(args.clip)
    result: dict[str, Any] = {
        "benchmark": "ui",
        "clip": clip.name,
        "machine": machine_info(),
        "jobs": bench_jobs(clip, args.previews),
        "browser": (
            "skipped: --no-browser" if args.no_browser else bench_browser(clip, args.previews)
        ),
    }
    write_json(RESULTS_DIR / "ui.json", result)
    jobs = result["jobs"]
    print(f"{clip.name}: analysis {jobs['analysis_seconds']} s, preview median "
          f"{jobs['preview_seconds_all']['median'] * 1000:.0f} ms, render {jobs['render_fps']} fps,"
          f" measure input {jobs['measure_input_seconds']} s")  # fmt: skip
    if isinstance(result["browser"], dict):
        b = result["browser"]
        print(f"browser: preview click-to-image median "
              f"{b['preview_click_to_image_seconds']['median'] * 1000:.0f} ms, render "
              f"{b['render_fps_click_to_done']} fps click-to-done")  # fmt: skip
    else:
        print(f"browser: {result['browser']}")
    print(f"wrote {RESULTS_DIR / 'ui.json'}")


if __name__ == "__main__":
    main()
