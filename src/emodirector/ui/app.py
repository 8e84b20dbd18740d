"""The page: upload a clip, try emotions on single frames, render, compare, download.

Built by ``build_app(options, workspace)``; ``serve(options)`` runs it until interrupted. All the
work is done by ``emodirector.ui.jobs`` on Gradio's worker threads, so the page stays responsive
while a clip is analysed or rendered; each browser tab is its own session with its own folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from emodirector import EmodirectorError, InvalidOptionError, NoFaceFoundError
from emodirector.demo import demo_clip
from emodirector.evaluate import EMOTION_CLASSES, EmotionSeries
from emodirector.manipulate.interface import DEFAULT_EDITOR, EDITORS
from emodirector.ui.directing import Direction, DirectionPanel, default_panels
from emodirector.ui.jobs import (
    Clip,
    ClipCache,
    JobCancelledError,
    Progress,
    Session,
    SessionStore,
    Workspace,
    measure,
    preview,
    provenance_status,
)
from emodirector.ui.plots import emotion_figure
from emodirector.video import probe

#: How long a warning toast stays on the page (seconds).
_TOAST_SECONDS = 12

_CSS = """
#title h1 {margin-bottom: 0.1em;}
#title p {margin-top: 0;}
#status, #render-status, #preview-info, #measure-info {min-height: 1.6em;}
"""

_INTRO = """\
<div id="title">

# emodirector

Change the emotion on the face in a video. The person, the head motion, the lip movements of the
speech and the sound stay as they were.

</div>

**1.** Drop a video in (or take the demo clip). **2.** Pick an emotion and look at it on one
frame. **3.** Render the whole video, compare, download. **4.** Optionally, measure the emotion
over time.
"""


@dataclass(frozen=True)
class UIOptions:
    """How the web UI runs.

    Attributes:
        host: Address to listen on; ``127.0.0.1`` keeps the page to this computer.
        port: TCP port.
        max_upload_mb: Largest upload accepted, in megabytes.
        preview_frames: Frames of a clip kept for previews (every frame of a shorter clip).
        max_renders: Renders that may run at the same time (across all tabs).
        workspace_parent: Folder for the private temporary workspace (default: system temp).
    """

    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 500
    preview_frames: int = 150
    max_renders: int = 2
    workspace_parent: Path | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidOptionError(f"port must be within 0..65535, got {self.port}")
        if self.max_upload_mb < 1:
            raise InvalidOptionError(f"max upload must be at least 1 MB, got {self.max_upload_mb}")
        if self.preview_frames < 1 or self.max_renders < 1:
            raise InvalidOptionError("preview_frames and max_renders must be at least 1")


def _clip_summary(clip: Clip) -> str:
    info = clip.info
    w, h = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    seconds = clip.n_frames / float(info.fps)
    sound = "with sound" if info.has_audio else "no sound"
    return (
        f"**Ready.** {clip.path.name}: {w}×{h}, {clip.n_frames} frames, {seconds:.1f} s, "
        f"{sound}; face found on {clip.frames_with_face} frames (analysed in "
        f"{clip.seconds:.1f} s). Now pick an emotion."
    )


def _measure_text(before: EmotionSeries, after: EmotionSeries | None, target: str | None) -> str:
    dominant = before.dominant()
    text = f"Input: mostly **{dominant}**." if dominant else "Input: no face measured."
    if after is not None and target in EMOTION_CLASSES:
        k = EMOTION_CLASSES.index(str(target))
        b, a = float(before.mean[k]), float(after.mean[k])
        text += f" Mean probability of **{target}**: {b:.2f} in the input, {a:.2f} after the edit."
    return text


def _remove_upload(path: Path, workspace: Workspace) -> None:
    """Delete a refused upload (and its folder, if now empty), only ever inside the workspace."""
    path = path.resolve()
    if not path.is_relative_to(workspace.root):
        return
    path.unlink(missing_ok=True)
    if path.parent != workspace.root:
        with contextlib.suppress(OSError):
            path.parent.rmdir()


def _constant(value: int) -> Callable[[], int]:
    """A function of no arguments that returns ``value``."""
    return lambda: value


@dataclass
class DirectorApp:
    """The web UI: its sessions, its clip cache and its Gradio page (``blocks``).

    Args:
        options: How it runs.
        workspace: Where every file it writes goes.
        panels: Ways of directing, one tab each (default: ``default_panels()``).
    """

    options: UIOptions
    workspace: Workspace
    panels: list[DirectionPanel] = field(default_factory=default_panels)

    def __post_init__(self) -> None:
        self.cache = ClipCache(self.workspace, self.options.preview_frames)
        self.sessions = SessionStore(self.workspace, self.cache)
        self._panel_inputs: list[list[Any]] = []
        self._mode: Any = None
        self._frame: Any = None
        self._editor: Any = None
        self._video_in: Any = None
        self._reset: list[Any] = []
        self.blocks = self._build()

    # ----- handlers: run on Gradio's worker threads, one session per browser tab -----

    def _session(self, request: Any) -> Session:
        return self.sessions.get(str(request.session_hash))

    def _direction(self, data: dict[Any, Any]) -> Direction:
        mode = int(data.get(self._mode) or 0)
        direction = self.panels[mode].direction([data[c] for c in self._panel_inputs[mode]])
        editor = str(data.get(self._editor) or DEFAULT_EDITOR)
        return replace(direction, editor=editor, key=f"{editor}|{direction.key}")

    def load_clip(self, path: str | None, session: Session, progress: Progress) -> tuple[str, Any]:
        """Analyse an upload for ``session``: ``(status markdown, frame slider update)``."""
        import gradio as gr

        if not path:
            session.set_clip(None, self.cache)
            return "Drop a video in to start.", gr.update(maximum=1, value=0, interactive=False)
        file = Path(path)
        try:
            probe(file)  # a typed error, before anything slow, for a file that is not a video
            clip = self.cache.acquire(file, progress)
        except NoFaceFoundError:
            session.set_clip(None, self.cache)
            gr.Warning(f"No face found in {file.name}.", duration=_TOAST_SECONDS)
            status = f"**No face found** in {file.name}: there is nothing to edit."
            return status, gr.update(interactive=False)
        except EmodirectorError as exc:
            session.set_clip(None, self.cache)
            _remove_upload(file, self.workspace)
            message = f"{file.name} is not a video this tool can read"
            gr.Warning(f"{message}.", duration=_TOAST_SECONDS)
            reason = str(exc).replace(str(file), file.name)  # no server paths on the page
            status = f"**{message}.** Try an .mp4, .mov or .mkv file. ({reason})"
            return status, gr.update(interactive=False)
        session.set_clip(clip, self.cache)
        kept = clip.frames.indices
        step = int(np.diff(kept).min()) if kept.size > 1 else 1
        last = max(clip.n_frames - 1, 0)
        slider = gr.update(minimum=0, maximum=last, step=step, interactive=True,
                           value=clip.frames.nearest(last // 2))  # fmt: skip
        return _clip_summary(clip), slider

    def _reset_outputs(self, session: Session) -> list[Any]:
        """Values of ``self._reset`` for a new clip: players, download, plot, buttons."""
        import gradio as gr

        clip = session.clip
        ready = clip is not None
        return [
            str(clip.playable) if clip is not None else None,  # before player
            None,  # after player
            gr.update(value=None, visible=False),  # download
            None,  # plot
            "",  # measure info
            "",  # render status
            gr.update(interactive=ready),  # render button
            gr.update(interactive=ready),  # measure button
        ]

    def on_upload(self, data: dict[Any, Any], request: Any, progress: Progress) -> list[Any]:
        session = self._session(request)
        status, slider = self.load_clip(data[self._video_in], session, progress)
        return [status, slider, *self._reset_outputs(session)]

    def on_demo(self, request: Any, progress: Progress) -> list[Any]:
        import gradio as gr

        session = self._session(request)
        try:
            source = demo_clip()
        except EmodirectorError as exc:
            gr.Warning(str(exc), duration=_TOAST_SECONDS)
            return [gr.update(), f"**Error:** {exc}", gr.update(), *self._reset_outputs(session)]
        demo_dir = self.workspace.root / "demo"
        demo_dir.mkdir(exist_ok=True)
        copy = demo_dir / source.name
        if not copy.exists():
            shutil.copyfile(source, copy)
        status, slider = self.load_clip(str(copy), session, progress)
        shown = str(session.clip.playable) if session.clip is not None else None
        return [shown, status, slider, *self._reset_outputs(session)]

    def on_preview(self, data: dict[Any, Any], request: Any) -> list[Any]:
        import gradio as gr

        clip = self._session(request).clip
        if clip is None:
            return [None, None, ""]
        try:
            direction = self._direction(data)
            shown = preview(clip, direction, int(data[self._frame] or 0))
        except EmodirectorError as exc:
            gr.Warning(str(exc), duration=_TOAST_SECONDS)
            return [gr.update(), gr.update(), f"**Error:** {exc}"]
        info = (
            f"Frame {shown.index} of {clip.n_frames}, **{direction.label}**: "
            f"rendered in {shown.seconds * 1000:.0f} ms."
        )
        return [shown.before, shown.after, info]

    def on_render(self, data: dict[Any, Any], request: Any, progress: Progress) -> list[Any]:
        import gradio as gr

        session = self._session(request)
        unchanged = [gr.update(), gr.update()]
        try:
            direction = self._direction(data)
            result = session.render(direction, progress)
        except JobCancelledError:
            return [*unchanged, "**Render cancelled.** Nothing was written."]
        except RuntimeError as exc:  # no clip, or this tab is already rendering
            return [*unchanged, f"**{str(exc).capitalize()}.**"]
        except EmodirectorError as exc:
            return [*unchanged, f"**Render failed:** {exc}. Nothing was written."]
        status = (
            f"**Done:** {result.frames} frames, **{direction.label}**, in "
            f"{result.total_seconds:.1f} s ({result.fps:.0f} frames/s). Compare below, then "
            "download.\n\n" + provenance_status(result.output)
        )
        download = gr.update(value=str(result.output), visible=True,
                             label=f"Download {result.output.name}")  # fmt: skip
        return [str(result.output), download, status]

    def on_cancel(self, request: Any) -> str:
        session = self._session(request)
        if not session.rendering:
            return "Nothing to cancel."
        session.cancel.set()
        return "Cancelling…"

    def on_measure(self, request: Any, progress: Progress) -> list[Any]:
        session = self._session(request)
        clip = session.clip
        if clip is None:
            return [None, "Load a video first."]
        result, direction = session.result, session.result_direction
        share = 0.5 if result is not None else 1.0
        try:
            before = clip.emotion(lambda f, m: progress(share * f, f"Input: {m}"))
            after = None
            if result is not None:
                after = measure(result.output, lambda f, m: progress(0.5 + 0.5 * f, f"Edit: {m}"))
        except EmodirectorError as exc:
            return [None, f"**Could not measure:** {exc}"]
        label = direction.label if after is not None and direction is not None else None
        return [emotion_figure(before, after, label), _measure_text(before, after, label)]

    def on_unload(self, request: Any) -> None:
        self.sessions.close(str(request.session_hash))

    # ----- layout -----

    def _build(self) -> Any:
        import gradio as gr

        from emodirector.ui.handlers import wrap

        with gr.Blocks(title="emodirector", analytics_enabled=False) as blocks:
            gr.Markdown(_INTRO)
            mode = gr.State(0)
            with gr.Row(equal_height=False):
                with gr.Column(scale=1):
                    gr.Markdown("### 1 · Your video")
                    video_in = gr.Video(label="Video", sources=["upload"], include_audio=True,
                                        height=320, elem_id="video-in")  # fmt: skip
                    demo = gr.Button("Use the demo clip", size="sm", elem_id="demo")
                    status = gr.Markdown("Drop a video in to start.", elem_id="status")
                with gr.Column(scale=1):
                    gr.Markdown("### 2 · Direct the emotion")
                    values: list[Any] = []
                    tabs: list[Any] = []
                    with gr.Tabs():
                        for panel in self.panels:
                            with gr.Tab(panel.title) as tab:
                                own = panel.build()
                            self._panel_inputs.append(own)
                            values.extend(own)
                            tabs.append(tab)
                    editor = gr.Radio(
                        choices=list(EDITORS), value=DEFAULT_EDITOR, label="Editor",
                        info="prototype: measured offsets (action units too); learned: NED's "
                        "sequence manipulator", elem_id="editor",
                    )  # fmt: skip
                    values.append(editor)
                    frame = gr.Slider(0, 1, value=0, step=1, label="Frame to preview",
                                      interactive=False, elem_id="frame")  # fmt: skip
                    preview_btn = gr.Button("Preview this frame", elem_id="preview")
            with gr.Row():
                before_img = gr.Image(label="Before", interactive=False, height=380,
                                      elem_id="before", buttons=["fullscreen"])  # fmt: skip
                after_img = gr.Image(label="After", interactive=False, height=380,
                                     elem_id="after", buttons=["fullscreen"])  # fmt: skip
            preview_info = gr.Markdown("", elem_id="preview-info")

            gr.Markdown("### 3 · Render the whole video")
            with gr.Row():
                render_btn = gr.Button("Render video", variant="primary", interactive=False,
                                       elem_id="render")  # fmt: skip
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel")
            render_status = gr.Markdown("", elem_id="render-status")
            with gr.Row():
                before_vid = gr.Video(label="Before", interactive=False, height=380,
                                      elem_id="before-video")  # fmt: skip
                after_vid = gr.Video(label="After", interactive=False, height=380,
                                     elem_id="after-video")  # fmt: skip
            download = gr.DownloadButton("Download", visible=False, variant="primary",
                                         elem_id="download")  # fmt: skip

            gr.Markdown("### 4 · Emotion over time")
            gr.Markdown(
                "An independent classifier reads the emotion on every frame of the input and, "
                "after a render, of the edited video. It takes about as long as the analysis."
            )
            measure_btn = gr.Button("Measure emotion over time", interactive=False,
                                    elem_id="measure")  # fmt: skip
            measure_info = gr.Markdown("", elem_id="measure-info")
            plot = gr.Image(label="Emotion over time", show_label=False, interactive=False,
                            elem_id="plot", buttons=["download", "fullscreen"])  # fmt: skip

            self._mode, self._frame, self._video_in = mode, frame, video_in
            self._editor = editor
            self._reset = [before_vid, after_vid, download, plot, measure_info, render_status,
                           render_btn, measure_btn]  # fmt: skip
            loaded_out = [status, frame, *self._reset]
            directing = {frame, mode, *values}
            preview_out = [before_img, after_img, preview_info]
            preview_fn = wrap(self.on_preview, inputs=True, progress=False)
            preview_kw: dict[str, Any] = dict(
                trigger_mode="always_last", concurrency_limit=4, concurrency_id="preview",
                show_progress="minimal",
            )  # fmt: skip
            analyse_kw: dict[str, Any] = dict(concurrency_limit=2, concurrency_id="analyse")

            upload_fn = wrap(self.on_upload, inputs=True, progress=True)
            loaded = video_in.upload(upload_fn, {video_in}, loaded_out, **analyse_kw)
            loaded.success(preview_fn, directing, preview_out, **preview_kw)
            video_in.clear(upload_fn, {video_in}, loaded_out, **analyse_kw)
            demo_fn = wrap(self.on_demo, inputs=False, progress=True)
            demo_loaded = demo.click(demo_fn, None, [video_in, *loaded_out], **analyse_kw)
            demo_loaded.success(preview_fn, directing, preview_out, **preview_kw)
            preview_btn.click(preview_fn, directing, preview_out, **preview_kw)
            frame.release(preview_fn, directing, preview_out, **preview_kw)
            for k, tab in enumerate(tabs):
                chosen = tab.select(_constant(k), None, mode, queue=False)
                chosen.then(preview_fn, directing, preview_out, **preview_kw)
            for control in values:
                if isinstance(control, gr.Slider):
                    events = [control.release]
                elif isinstance(control, gr.Textbox):
                    events = [control.submit, control.blur]
                else:
                    events = [control.change]
                for event in events:
                    event(preview_fn, directing, preview_out, **preview_kw)

            started = render_btn.click(
                lambda: (gr.update(interactive=False), "Rendering…"), None,
                [render_btn, render_status], queue=False,
            )  # fmt: skip
            rendered = started.then(
                wrap(self.on_render, inputs=True, progress=True),
                {mode, *values}, [after_vid, download, render_status],
                concurrency_limit=self.options.max_renders, concurrency_id="render",
            )  # fmt: skip
            rendered.then(lambda: gr.update(interactive=True), None, render_btn, queue=False)
            cancel_fn = wrap(self.on_cancel, inputs=False, progress=False)
            cancel_btn.click(cancel_fn, None, render_status, queue=False)
            measure_btn.click(
                wrap(self.on_measure, inputs=False, progress=True), None,
                [plot, measure_info], concurrency_limit=1, concurrency_id="measure",
            )  # fmt: skip
            blocks.unload(wrap(self.on_unload, inputs=False, progress=False))
        return blocks


def build_app(options: UIOptions, workspace: Workspace) -> DirectorApp:
    """The web UI over ``workspace``; its ``blocks`` is the Gradio page to launch."""
    return DirectorApp(options=options, workspace=workspace)


def serve(options: UIOptions, announce: Callable[[str], None] = print) -> None:
    """Run the web UI until interrupted (Ctrl-C or SIGTERM), then remove every file it wrote.

    Gradio keeps uploads in the folder named by the ``GRADIO_TEMP_DIR`` environment variable and
    serves files only from there; it is set to this run's private workspace, so the server
    sends nothing else from the disk.

    Args:
        options: Address, port, upload limit.
        announce: Called once with a line giving the page's address, when it is ready.

    Raises:
        EmodirectorError: Gradio is not installed.
    """
    try:
        import gradio as gr
    except ImportError:
        raise EmodirectorError("the web UI needs Gradio: pip install gradio==6.31.0") from None

    with Workspace(options.workspace_parent) as workspace:
        os.environ["GRADIO_TEMP_DIR"] = str(workspace.root)
        app = build_app(options, workspace)
        theme = gr.themes.Soft(
            primary_hue="orange",
            font=("ui-sans-serif", "system-ui", "sans-serif"),
            font_mono=("ui-monospace", "monospace"),
        )
        try:
            _, url, _ = app.blocks.launch(
                server_name=options.host,
                server_port=options.port,
                max_file_size=f"{options.max_upload_mb}mb",
                prevent_thread_lock=True,
                quiet=True,
                show_error=True,
                ssr_mode=False,
                share=False,
                allowed_paths=[],
                theme=theme,
                css=_CSS,
                footer_links=[],
            )
            announce(f"emodirector UI running at {url} (Ctrl-C to stop)")
            app.blocks.block_thread()
        finally:
            app.sessions.close_all()
            app.blocks.close()


__all__ = ["DirectorApp", "UIOptions", "build_app", "serve"]
