"""Command-line front end: a thin layer over the public API.

Exit codes: 0 success, 1 unexpected internal error, 2 invalid option, 3 input not found,
4 unsupported or corrupt video, 5 output cannot be written, 6 no usable face, 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from emodirector.errors import EmodirectorError

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")
EXIT_INTERRUPTED = 130


class _ProgressBars:
    """tqdm bars, one per pipeline pass, fed by the library's progress callback."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            self.close()  # one pass at a time: finish the previous bar first
            label = {"track": "tracking", "render": "rendering"}.get(stage, stage)
            bar = tqdm(total=total or None, desc=f"{label:9s}", unit="frame", leave=True)
            self._bars[stage] = bar
        bar.update(done - bar.n)  # type: ignore[attr-defined]

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()  # type: ignore[attr-defined]
        self._bars.clear()


def _intensity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="emodirector",
        description="Change the emotion shown on a face in a video; speech, identity, head "
        "motion and audio stay as they were.",
        epilog="Exit codes: 0 ok, 1 internal error, 2 invalid option, 3 input not found, "
        "4 unsupported/corrupt video, 5 output not writable, 6 no usable face, 130 interrupted.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("edit", help="edit the emotion of the largest face in a video")
    e.add_argument("input", type=Path, help="video to edit (never modified)")
    e.add_argument("-o", "--output", type=Path, required=True, help="edited video (.mp4/.mov/.mkv)")
    e.add_argument(
        "--emotion",
        required=True,
        choices=EMOTIONS,
        metavar="EMOTION",
        help=f"target emotion: {', '.join(EMOTIONS)}",
    )
    e.add_argument(
        "--intensity",
        type=_intensity,
        default=1.0,
        help="0 = unchanged, 1 = strong, like acted MEAD level 3 (default 1)",
    )
    _add_output_options(e)

    d = sub.add_parser("demo", help="edit a clip that ships with the installation")
    d.add_argument("-o", "--output", type=Path, default=Path("emodirector_demo_happy.mp4"))
    d.add_argument("--emotion", default="happy", choices=EMOTIONS, metavar="EMOTION")
    d.add_argument("--intensity", type=_intensity, default=1.0)
    _add_output_options(d)

    c = sub.add_parser("calibrate", help="measure emotion prototypes from labelled MEAD clips")
    c.add_argument(
        "folder", type=Path, help="folder of MEAD clips (ACTOR_front_EMOTION_levelN_*.mp4)"
    )
    c.add_argument("-o", "--output", type=Path, required=True, help="prototype file (.npz)")
    return p


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument(
        "--crf", type=int, default=18, help="x264 quality, 0 lossless .. 51 (default 18)"
    )
    p.add_argument("--preset", default="veryfast", help="x264 speed preset (default veryfast)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _run_edit(args: argparse.Namespace, input_path: Path) -> None:
    from emodirector import EditOptions, EmotionTarget, EncodeOptions, edit_video

    options = EditOptions(
        encode=EncodeOptions(crf=args.crf, preset=args.preset), overwrite=args.overwrite
    )
    target = EmotionTarget.from_label(args.emotion, args.intensity)
    bars = _ProgressBars(enabled=not args.quiet)
    try:
        result = edit_video(input_path, args.output, target, options, progress=bars)
    finally:
        bars.close()
    if not args.quiet:
        print(
            f"wrote {result.output}: {result.frames} frames, face on {result.frames_with_face}, "
            f"{result.fps:.1f} fps"
        )
    if result.frames_with_face == 0:
        print("warning: no face was found; the video was passed through unchanged",
              file=sys.stderr)  # fmt: skip


def _run_calibrate(args: argparse.Namespace) -> None:
    from emodirector.errors import InvalidOptionError
    from emodirector.manipulate import calibrate_prototypes, find_mead_clips

    if not args.folder.is_dir():
        raise InvalidOptionError(f"{args.folder}: not a folder")
    clips = find_mead_clips(args.folder)
    prototypes = calibrate_prototypes(clips, progress=print)
    prototypes.save(args.output)
    print(f"wrote {args.output}: {', '.join(e.value for e in prototypes.emotions)} "
          f"from actors {', '.join(prototypes.actors)}")  # fmt: skip


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``emodirector`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if args.command == "edit":
            _run_edit(args, args.input)
        elif args.command == "demo":
            from emodirector.demo import demo_clip

            _run_edit(args, demo_clip())
        elif args.command == "calibrate":
            _run_calibrate(args)
    except EmodirectorError as exc:
        print(f"emodirector: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("emodirector: interrupted; no output was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
