"""Command-line front end: a thin layer over the public API.

Exit codes: 0 success, 1 unexpected internal error, 2 invalid option, 3 input not found,
4 unsupported or corrupt video, 5 output cannot be written, 6 no usable face, 7 ``verify``: no
emodirector mark found, 8 ``verify``: a manifest is present but invalid, 130 interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from emodirector.emotion import EMOTION_NAMES
from emodirector.errors import EmodirectorError, InputNotFoundError, InvalidOptionError

if TYPE_CHECKING:
    from emodirector import ActionUnitTarget, EditOptions, ReferenceExpression
    from emodirector.direct import Direction
    from emodirector.manipulate import EmotionPrototypes
    from emodirector.manipulate.interface import Editor

EMOTIONS = EMOTION_NAMES
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


def _edit_id(text: str) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a hexadecimal number: {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be 0..ffffffff, got {text!r}")
    return value


def _face(text: str) -> str | int:
    if text in ("largest", "all"):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'largest', 'all' or a number from 1, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"face numbers start at 1 (the leftmost), got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0.0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a non-negative number of seconds, got {text}")
    return value


def _parser(
    parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    p = parser_class(
        prog="emodirector",
        description="Change the emotion shown on a face in a video; speech, identity, head "
        "motion and audio stay as they were.",
        epilog="Exit codes: 0 ok, 1 internal error, 2 invalid option, 3 input not found, "
        "4 unsupported/corrupt video, 5 output not writable, 6 no usable face, 7 verify: no "
        "mark found, 8 verify: manifest invalid (tampered), 130 interrupted.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("edit", help="edit the emotion of the largest face in a video")
    e.add_argument("input", type=Path, help="video to edit (never modified)")
    e.add_argument("-o", "--output", type=Path, required=True, help="edited video (.mp4/.mov/.mkv)")
    how = e.add_argument_group("what the face should show (exactly one)")
    direction = how.add_mutually_exclusive_group(required=True)
    direction.add_argument(
        "--emotion",
        choices=EMOTIONS,
        metavar="EMOTION",
        help=f"target emotion: {', '.join(EMOTIONS)}",
    )
    direction.add_argument(
        "--reference",
        type=Path,
        metavar="PHOTO_OR_CLIP",
        help="take on the emotion of the face in this photo or short clip (anyone's face; its "
        "emotion is copied, not its face shape)",
    )
    direction.add_argument(
        "--au",
        metavar="AU12=0.7,AU6=0.5,...",
        help="set FACS action units to intensities 0..1 (0 removes one); others are left "
        "alone. 'emodirector aus' lists them; lips part and jaw drop are refused (speech owns "
        "them), lip units are limited",
    )
    direction.add_argument(
        "--timeline",
        metavar="SPEC_OR_JSON",
        help="keyframes 'SECONDS:EMOTION[@0..1]' or 'SECONDS:ref=PHOTO[@0..1]', comma-separated, "
        "e.g. '0:neutral, 2.5:happy@0.8, 6:sad'; or a .json file; the face holds each keyframe "
        "until the next and is unchanged before the first",
    )
    e.add_argument(
        "--intensity",
        type=_intensity,
        default=1.0,
        help="0 = unchanged, 1 = strong, like acted MEAD level 3 (default 1); scales a "
        "reference's or the action units' change too",
    )
    e.add_argument(
        "--ramp",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="length of each timeline transition (default 0.5; a JSON timeline may set it)",
    )
    _add_output_options(e)
    e.add_argument(
        "--report",
        type=Path,
        metavar="REPORT.html",
        help="after the edit, evaluate it (see 'evaluate') and write this HTML report and a "
        "JSON beside it; the edit's speed (fps) is included",
    )
    data = e.add_argument_group("editor and data files (default: the packaged ones)")
    data.add_argument(
        "--prototypes",
        type=Path,
        metavar="FILE.npz",
        help="emotion prototypes made by 'emodirector calibrate -o FILE.npz'",
    )
    data.add_argument(
        "--detail",
        type=Path,
        metavar="FILE.npz",
        help="expression detail made by 'emodirector calibrate --detail FILE.npz'",
    )
    data.add_argument(
        "--editor",
        default="prototype",
        metavar="NAME",
        help="the expression editor: prototype (measured offsets, action units) or learned "
        "(NED's sequence manipulator; needs emodirector[learned])",
    )
    data.add_argument(
        "--manipulator",
        type=Path,
        metavar="FILE.pt",
        help="the learned editor's model, made by 'emodirector train-manipulator' (implies "
        "--editor learned)",
    )

    sub.add_parser(
        "aus",
        help="list the facial action units --au accepts, with what each does",
        description="FACS action units for 'edit --au'. Weight 1 is the unit as strongly as "
        "MEAD's level-3 actors showed it. Units that would open or close the lips or jaw "
        "against the speech are refused, lip units are limited to what speech allows.",
    )

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
    c.add_argument(
        "--detail",
        type=Path,
        help="also measure the expression detail (ratio images) and write it here (.npz)",
    )
    c.add_argument(
        "--no-strength",
        action="store_true",
        help="skip the held-out steps (combination, contrast, complement, strength): plain "
        "median prototypes, every strength 1",
    )

    tm = sub.add_parser(
        "train-manipulator",
        help="train the learned editor on labelled clips (needs emodirector[learned])",
    )
    tm.add_argument("data", type=Path, help="folder of clips (MEAD names, or with --labels)")
    tm.add_argument("-o", "--output", type=Path, required=True, help="manipulator file (.pt)")
    tm.add_argument("--labels", type=Path, help="CSV of path,emotion rows (paths from DATA)")
    tm.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    tm.add_argument("--seed", type=int, default=0)
    tm.add_argument("--threads", type=int, default=1, help="CPU threads (the result depends on it)")
    tm.add_argument("--resume", action="store_true", help="continue from the output's checkpoint")
    tm.add_argument("--gpu", action="store_true", help="train on the GPU if torch sees one")

    a = sub.add_parser("analyze", help="measure the emotion shown on the face over time")
    a.add_argument("input", type=Path, help="video to analyse")
    a.add_argument(
        "--plot", type=Path, help="PNG plot of the 7 emotion probabilities over time "
        "(default: INPUT_STEM_emotions.png in the current folder)"
    )  # fmt: skip
    a.add_argument("--json", type=Path, help="also write per-frame probabilities as JSON")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    v = sub.add_parser("evaluate", help="measure what an edit changed and kept")
    v.add_argument("original", type=Path, help="the input video")
    v.add_argument("edited", type=Path, help="the edited video (same frames)")
    v.add_argument("--emotion", required=True, choices=EMOTIONS, metavar="EMOTION",
                   help="the target emotion of the edit")  # fmt: skip
    v.add_argument("--report", type=Path, metavar="REPORT.html", help="HTML report to write")
    v.add_argument(
        "--json", type=Path, help="JSON to write (default: the report's path with .json, "
        "else EDITED_STEM_evaluation.json in the current folder)"
    )  # fmt: skip
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    u = sub.add_parser("ui", help="start the local web UI and print its address")
    u.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only)")  # fmt: skip
    u.add_argument("--port", type=int, default=7860, help="TCP port (default 7860)")
    u.add_argument("--max-upload-mb", type=int, default=500,
                   help="largest upload accepted, in MB (default 500)")  # fmt: skip

    vf = sub.add_parser(
        "verify",
        help="is this video an emodirector edit? checks its C2PA manifest and watermark",
        description="Reads the video's C2PA manifest (none, valid, valid with an untrusted "
        "signer, invalid) and the edit it records, and looks for emodirector's invisible "
        "watermark (it survives re-encoding, downscaling and trimming). Exit 0: an emodirector "
        "edit; 7: no mark found; 8: a manifest is present but invalid (the file was changed).",
    )
    vf.add_argument("video", type=Path, help="the video to check")
    vf.add_argument("--json", action="store_true", help="print the result as JSON")

    b = sub.add_parser(
        "batch",
        help="run the edits of a jobs file on Ray (a local one, or a cluster); "
        "'batch status OUT' shows what a batch did",
        description="Run one edit per row of a jobs file (.csv or .jsonl: columns input, "
        "output, then the edit options emotion, intensity, reference, au, timeline, ramp, face, "
        "crf, preset, editor, no_detail, no_eyes, no_mouth) on Ray workers. The journal in the "
        "output folder records every job; --resume continues an interrupted batch.",
    )
    b.add_argument("jobs", help="jobs file (.csv or .jsonl), or 'status' followed by a folder")
    b.add_argument("folder", nargs="?", type=Path, help=argparse.SUPPRESS)
    b.add_argument("-o", "--output", type=Path, help="output folder (created if missing)")
    b.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="jobs run at once (default: CPU cores / --cpus-per-job, at least 1)",
    )
    b.add_argument(
        "--cpus-per-job",
        type=_positive_int,
        default=2,
        help="CPU cores one edit is given (tracking and rendering, the encoder's threads; "
        "default 2)",
    )
    b.add_argument(
        "--address",
        metavar="auto|ray://HOST:10001",
        help="run on this Ray cluster instead of a local Ray started for the batch",
    )
    b.add_argument(
        "--resume",
        action="store_true",
        help="continue the batch journalled in the output folder: done jobs are skipped, "
        "interrupted and failed ones run again",
    )
    b.add_argument(
        "--retries",
        type=int,
        default=2,
        help="times a job is retried when its worker process dies (default 2)",
    )
    b.add_argument(
        "--range-seconds",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="a longer video is tracked once, then rendered in ranges of about this length on "
        "several workers and joined (default 300; 0: never)",
    )
    b.add_argument(
        "--overwrite",
        action="store_true",
        help="replace output files that exist but were not written by this batch",
    )
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return p


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--face",
        type=_face,
        default="largest",
        metavar="largest|all|N",
        help="which face to edit: the largest (default), all faces (up to 4), or the N-th from "
        "the left (1 = leftmost, counted when a face is first found, then followed)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument(
        "--crf", type=int, default=18, help="x264 quality, 0 lossless .. 51 (default 18)"
    )
    p.add_argument("--preset", default="veryfast", help="x264 speed preset (default veryfast)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--no-detail",
        action="store_true",
        help="do not add the expression detail (wrinkles, the frown, folds): geometry only",
    )
    p.add_argument(
        "--no-eyes",
        action="store_true",
        help="do not redraw the eyes (the warp then stretches or squashes them)",
    )
    p.add_argument(
        "--no-mouth",
        action="store_true",
        help="do not draw the mouth interior from the actor's own frames where the edit opens "
        "the lips more (the warp then stretches the teeth)",
    )
    p.add_argument(
        "--no-glasses",
        action="store_true",
        help="do not keep the frames of glasses rigid (the warp then bends them with the skin)",
    )
    p.add_argument(
        "--sign-cert",
        type=Path,
        metavar="CHAIN.pem",
        help="sign the C2PA manifest with this certificate (then its issuers), PEM; default: "
        "the config file's, else a key and certificate made once in the config folder",
    )
    p.add_argument("--sign-key", type=Path, metavar="KEY.pem",
                   help="the private key of --sign-cert (PEM, unencrypted)")  # fmt: skip
    p.add_argument(
        "--no-manifest",
        action="store_true",
        help="write no C2PA manifest (the invisible watermark is still added)",
    )
    p.add_argument(
        "--edit-id",
        type=_edit_id,
        metavar="HEX",
        help="the edit id the watermark and the manifest carry, up to 8 hex digits (default: a "
        "random one per edit), e.g. to tie an output to a shot in an asset system",
    )


class _RaisingParser(argparse.ArgumentParser):
    """An argument parser that raises InvalidOptionError instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise InvalidOptionError(message)


def parse_edit(argv: Sequence[str]) -> argparse.Namespace:
    """Parse the ``edit`` command's arguments (``INPUT -o OUTPUT ...``) exactly as the command
    line does, for front ends that run edits themselves (``emodirector batch``).

    Raises:
        InvalidOptionError: What the command line would reject, as a one-line message.
    """
    return _parser(_RaisingParser).parse_args(["edit", *argv])


def edit_options(args: argparse.Namespace) -> EditOptions:
    """The EditOptions the ``edit`` command's parsed arguments name (all but the direction).

    Raises:
        InvalidOptionError, InputNotFoundError: An unknown editor, a bad or missing data file.
    """
    from emodirector import EditOptions, EncodeOptions, RenderOptions
    from emodirector.manipulate.prototypes import EmotionPrototypes
    from emodirector.provenance.options import ProvenanceOptions
    from emodirector.provenance.signing import SigningOptions
    from emodirector.render.detail import ExpressionDetail
    from emodirector.track import TrackerOptions

    prototypes, detail = getattr(args, "prototypes", None), getattr(args, "detail", None)
    provenance = ProvenanceOptions(
        manifest=not getattr(args, "no_manifest", False),
        signing=SigningOptions(getattr(args, "sign_cert", None), getattr(args, "sign_key", None)),
        edit_id=getattr(args, "edit_id", None),
    )
    return EditOptions(
        tracker=TrackerOptions(face=args.face),
        editor=_editor(args),
        render=RenderOptions(
            detail=not args.no_detail,
            eyes=not args.no_eyes,
            mouth=not getattr(args, "no_mouth", False),
            glasses=not getattr(args, "no_glasses", False),
        ),
        encode=EncodeOptions(crf=args.crf, preset=args.preset),
        overwrite=args.overwrite,
        prototypes=EmotionPrototypes.load(prototypes) if prototypes is not None else None,
        detail=ExpressionDetail.load(detail) if detail is not None else None,
        provenance=provenance,
    )


def edit_request(args: argparse.Namespace) -> tuple[Direction, EditOptions]:
    """The direction and the options of an edit, from the ``edit`` command's parsed arguments.

    Raises:
        InvalidOptionError, InputNotFoundError, NoFaceFoundError: A bad direction.
    """
    from emodirector.manipulate.prototypes import EmotionPrototypes

    if getattr(args, "au", None) and (
        getattr(args, "editor", "prototype") == "learned" or getattr(args, "manipulator", None)
    ):
        raise InvalidOptionError(
            "--au needs the prototype editor: the learned editor edits emotions (a label, a "
            "reference, a timeline)"
        )
    options = edit_options(args)
    prototypes = options.prototypes if isinstance(options.prototypes, EmotionPrototypes) else None
    return _direction(args, prototypes), options


def _run_edit(args: argparse.Namespace, input_path: Path) -> None:
    from emodirector import edit_video

    target, options = edit_request(args)
    if getattr(args, "report", None) is not None and _report_emotion(args, target) is None:
        raise InvalidOptionError(
            "--report needs one target emotion: use it with --emotion or --reference, or run "
            "'emodirector evaluate' afterwards with the emotion to measure"
        )
    if getattr(args, "report", None) is not None:  # its models are missing: say so before editing
        from emodirector.evaluate.dlibface import require_dlib_models
        from emodirector.evaluate.emotion import emotion_model_path

        emotion_model_path()
        require_dlib_models()
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
        signed = "signed C2PA manifest and " if result.signed else ""
        print(f"provenance: {signed}invisible watermark, edit id {result.edit_id} "
              f"('emodirector verify {result.output.name}' reads them)")  # fmt: skip
    if result.frames_with_face == 0:
        print("warning: no face was found; the video was passed through unchanged",
              file=sys.stderr)  # fmt: skip
    if result.frames_small_face:
        print(f"warning: on {result.frames_small_face} frames the only faces were too small to "
              "edit; they were passed through unchanged", file=sys.stderr)  # fmt: skip
    for note in result.notes:
        print(f"warning: {note}", file=sys.stderr)
    if getattr(args, "report", None) is not None:
        _evaluate(input_path, result.output, str(_report_emotion(args, target)), args.report,
                  None, args.quiet, result.fps)  # fmt: skip


def _direction(args: argparse.Namespace, prototypes: EmotionPrototypes | None = None) -> Direction:
    """The target the edit options name (label, reference, action units or timeline).

    A reference is read against ``prototypes`` (the packaged ones by default).
    """
    from emodirector import (
        ActionUnitTarget,
        EmotionTarget,
        ReferenceTarget,
        Timeline,
        read_reference,
    )
    from emodirector.direct import DEFAULT_RAMP_SECONDS

    def read(path: Path) -> ReferenceExpression:
        from emodirector.evaluate.emotion import EmotionClassifier

        with EmotionClassifier() as classifier:
            reference = read_reference(path, prototypes, classifier=classifier)
        if not args.quiet:
            print(f"reference {reference.summary()}")
        return reference

    if getattr(args, "reference", None) is not None:
        return ReferenceTarget(read(args.reference), args.intensity)
    if getattr(args, "au", None) is not None:
        target = ActionUnitTarget.parse(args.au, args.intensity)
        _note_limited_units(target, args.quiet)
        return target
    if getattr(args, "timeline", None) is not None:
        spec = Path(args.timeline)
        if spec.suffix.lower() == ".json":
            if not spec.is_file():
                raise InputNotFoundError(f"timeline {spec}: no such file")
            timeline = Timeline.load(spec, read)
            if args.ramp is not None:
                timeline = Timeline(timeline.keyframes, args.ramp)
        else:
            ramp = DEFAULT_RAMP_SECONDS if args.ramp is None else args.ramp
            timeline = Timeline.parse(args.timeline, read, ramp)
        if args.intensity != 1.0:
            raise InvalidOptionError("with --timeline, give each keyframe its own @intensity")
        return timeline
    return EmotionTarget.from_label(args.emotion, args.intensity)


def _report_emotion(args: argparse.Namespace, target: Direction) -> str | None:
    """The emotion an edit's report measures: the label, or what the reference read as."""
    from emodirector import ReferenceTarget

    if isinstance(target, ReferenceTarget):
        return target.reference.dominant.value
    return getattr(args, "emotion", None)


def _note_limited_units(target: ActionUnitTarget, quiet: bool) -> None:
    from emodirector.manipulate import ActionUnits, UnitStatus

    units = ActionUnits.load_default()
    for code, _ in target.units:
        if units.status(code) is UnitStatus.LIMITED and not quiet:
            note = dict((c, n) for c, _, n in units.describe())[code]
            print(f"note: {code} is {note}", file=sys.stderr)


def _run_aus() -> None:
    from emodirector.manipulate import ActionUnits

    for code, name, note in ActionUnits.load_default().describe():
        label = code.replace("AU0", "AU")
        print(f"{label:5s} {name:48s} {note}")


def _writable(path: Path) -> Path:
    from emodirector.errors import OutputError

    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder does not exist")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder")
    return path


def _run_analyze(args: argparse.Namespace) -> None:
    import json

    from emodirector.evaluate.measure import measure_clip
    from emodirector.evaluate.report import analysis_dict, summary_text, write_analysis

    plot = _writable(args.plot or Path(f"{args.input.stem}_emotions.png"))
    if args.json is not None:
        _writable(args.json)
    bars = _ProgressBars(enabled=not args.quiet)
    try:
        clip = measure_clip(args.input, dlib_measures=False, progress=bars)
    finally:
        bars.close()
    print(summary_text(clip.emotion, args.input.name))
    write_analysis(clip.emotion, str(args.input), plot)
    print(f"wrote {plot}")
    if args.json is not None:
        data = analysis_dict(clip.emotion, str(args.input))
        args.json.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.json}")


def _evaluate(
    original: Path,
    edited: Path,
    emotion: str,
    report: Path | None,
    json_path: Path | None,
    quiet: bool,
    edit_fps: float | None = None,
) -> None:
    from emodirector.evaluate.compare import evaluate_edit
    from emodirector.evaluate.report import evaluation_summary, write_evaluation

    if json_path is None:
        json_path = (
            report.with_suffix(".json")
            if report is not None
            else Path(f"{edited.stem}_evaluation.json")
        )
    _writable(json_path)
    if report is not None:
        _writable(report)
    bars = _ProgressBars(enabled=not quiet)
    try:
        ev = evaluate_edit(original, edited, emotion, progress=bars, edit_fps=edit_fps)
    finally:
        bars.close()
    data = write_evaluation(ev, json_path, report)
    print(evaluation_summary(data))
    if edit_fps is not None:
        print(f"edit speed: {edit_fps:.1f} fps")
    print(f"wrote {json_path}" + (f" and {report}" if report is not None else ""))


def _run_evaluate(args: argparse.Namespace) -> None:
    _evaluate(args.original, args.edited, args.emotion, args.report, args.json, args.quiet)


def _editor(args: argparse.Namespace) -> Editor:
    """The editor ``--editor`` and ``--manipulator`` name."""
    from emodirector.manipulate.interface import make_editor

    manipulator = getattr(args, "manipulator", None)
    name = getattr(args, "editor", "prototype")
    if manipulator is None:
        return make_editor(name)
    if name not in ("prototype", "learned"):
        return make_editor(name)  # the unknown name's error
    return make_editor("learned", manipulator=manipulator)


def _run_train_manipulator(args: argparse.Namespace) -> None:
    from emodirector.calibrate.manipulator import TrainOptions, train_manipulator

    _require_torch()
    options = TrainOptions(steps=args.steps, seed=args.seed, threads=args.threads,
                           device=None if args.gpu else "cpu")  # fmt: skip
    train_manipulator(args.data, args.output, args.labels, options, resume=args.resume)


def _require_torch() -> None:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise InvalidOptionError(
            "the learned editor needs PyTorch: pip install 'emodirector[learned]' "
            "(or torch==2.13.0)"
        )


def _run_calibrate(args: argparse.Namespace) -> None:
    from emodirector.calibrate.run import run_calibration

    run_calibration(args.folder, args.output, args.detail, strength=not args.no_strength)


def _run_verify(args: argparse.Namespace) -> int:
    """Print what ``verify`` found; the exit code says it (0, 7 no mark, 8 tampered)."""
    import json

    from emodirector.errors import NoProvenanceMarkError, TamperedManifestError
    from emodirector.provenance.verify import Verdict, verify_video

    result = verify_video(args.video)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.summary())
    if result.verdict is Verdict.TAMPERED:
        error: Exception = TamperedManifestError(
            f"{args.video}: the C2PA manifest does not validate: the file was changed after "
            "it was signed"
        )
    elif result.verdict is Verdict.NO_MARK:
        error = NoProvenanceMarkError(f"{args.video}: no emodirector manifest or watermark found")
    else:
        return 0
    print(f"emodirector: {error}", file=sys.stderr)
    return result.verdict.value


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``emodirector`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # at exit, spare the interpreter's shutdown the collector's walks over everything imported
    # (0.27 of 0.40 s CPU after an edit); where main is called in a longer-lived process,
    # that is when the process ends
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        if args.command == "edit":
            _run_edit(args, args.input)
        elif args.command == "aus":
            _run_aus()
        elif args.command == "demo":
            from emodirector.demo import demo_clip

            _run_edit(args, demo_clip())
        elif args.command == "calibrate":
            _run_calibrate(args)
        elif args.command == "train-manipulator":
            _run_train_manipulator(args)
        elif args.command == "analyze":
            _run_analyze(args)
        elif args.command == "evaluate":
            _run_evaluate(args)
        elif args.command == "verify":
            return _run_verify(args)
        elif args.command == "batch":
            from emodirector.batch.command import run_batch_command

            return run_batch_command(args)
        elif args.command == "ui":
            from emodirector.ui import UIOptions, serve

            options = UIOptions(host=args.host, port=args.port, max_upload_mb=args.max_upload_mb)
            serve(options, announce=lambda line: print(line, flush=True))
    except EmodirectorError as exc:
        print(f"emodirector: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("emodirector: interrupted; no output was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
