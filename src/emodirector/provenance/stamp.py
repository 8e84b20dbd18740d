"""The provenance of one edit: the watermark on every output frame, the manifest on the file.

``edit_video`` makes one ``Stamp`` per edit: ``mark`` adds the watermark to each frame after the
blend, before the encoder; ``finalize`` signs the manifest into the finished temporary file
before it is renamed to the output. A video rendered in pieces (frame ranges, joined later) gives
every piece the same ``ProvenanceOptions.edit_id`` and signs the joined file once with
``sign_video``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from emodirector.provenance.manifest import (
    EditRecord,
    embed_manifest,
    sha256_file,
    supports_manifest,
)
from emodirector.provenance.options import ProvenanceOptions, describe_direction
from emodirector.provenance.signing import (
    SignerCredentials,
    SigningOptions,
    resolve_credentials,
)
from emodirector.provenance.watermark import Embedder, Payload


def editor_name(editor: object) -> str:
    """A short name for an editor object (``PrototypeEditor`` -> ``"prototype"``).

    >>> class PrototypeEditor: ...
    >>> editor_name(PrototypeEditor())
    'prototype'
    """
    name = getattr(editor, "name", None)
    if isinstance(name, str) and name:
        return name
    cls = type(editor).__name__
    return re.sub(r"Editor$", "", cls).lower() or cls.lower()


def edit_record(
    input_path: Path, target: object, editor: str, edit_id: int, version: str | None = None
) -> EditRecord:
    """What the manifest of an edit of ``input_path`` towards ``target`` records.

    Reads the whole input once (its SHA-256).
    """
    if version is None:
        from emodirector import __version__

        version = __version__
    description, direction = describe_direction(target)
    return EditRecord(
        description=description,
        direction=direction,
        editor=editor,
        version=version,
        edit_id=f"{edit_id:08x}",
        input_name=input_path.name,
        input_sha256=sha256_file(input_path),
    )


def sign_video(
    video: Path,
    record: EditRecord,
    signing: SigningOptions | None = None,
    title: str | os.PathLike[str] = "",
) -> None:
    """Sign ``record`` into a finished MP4/MOV/M4V file, in place (atomically).

    For a file assembled outside ``edit_video`` (pieces joined): call it on the joined
    temporary file, then rename that to the output.

    Args:
        video: The finished video (``.mp4``, ``.mov``, ``.m4v``).
        record: From ``edit_record``, with the edit id the pieces' watermark carries.
        signing: The user's certificate and key, or None for the config file / default signer.
        title: Title recorded in the manifest (a file name; of a path, its name; default:
            ``video``'s name): the final output's when signing a temporary file.

    Raises:
        InvalidOptionError, InputNotFoundError: Bad signing certificate or key, or a container
            that cannot carry a manifest.
        OutputError: The signed file cannot be written, or the default key cannot be created.
    """
    embed_manifest(video, record, resolve_credentials(signing or SigningOptions()), title or None)


def face_region(
    tracks: list[tuple[np.ndarray, np.ndarray]], step: int = 10, margin: float = 0.15
) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` pixels around every followed face, from every ``step``-th frame.

    Args:
        tracks: ``(landmarks (T, 478, 3), present (T,))`` of each followed face.
        step: Frames between the ones read (the landmarks are disk-backed).
        margin: Added on each side, as a fraction of the box's size.

    Returns:
        The box, or None if no face was present.
    """
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for landmarks, present in tracks:
        index = np.flatnonzero(present)[::step]
        if len(index) == 0:
            continue
        xy = np.asarray(landmarks[index])[..., :2]
        lo = np.minimum(lo, np.nanmin(xy, axis=(0, 1)))
        hi = np.maximum(hi, np.nanmax(xy, axis=(0, 1)))
    if not np.all(np.isfinite(lo)):
        return None
    pad = (hi - lo) * margin
    (x0, y0), (x1, y1) = np.floor(lo - pad), np.ceil(hi + pad)
    return int(x0), int(y0), int(x1), int(y1)


class Stamp:
    """Watermark and manifest of one edit.

    Args:
        options: What to write.
        input_path: The edited video.
        output: The final output path (decides whether a manifest fits, and its title).
        target: The edit's direction (described in the manifest).
        editor: The editor's name.
        sign: Sign a manifest (False for a piece of a video rendered in pieces).

    The signing credentials are resolved and the input hashed here, before the long passes:
    a bad certificate fails at once.
    """

    def __init__(
        self,
        options: ProvenanceOptions,
        input_path: Path,
        output: Path,
        target: object,
        editor: str,
        sign: bool = True,
    ) -> None:
        self.options = options
        self.payload: Payload = options.payload()
        self.output = output
        self._embedder: Embedder | None = None
        self._calm: tuple[int, int, int, int] | None = None
        self._credentials: SignerCredentials | None = None
        self.record: EditRecord | None = None
        if sign and options.manifest and supports_manifest(output):
            self._credentials = resolve_credentials(options.signing)
            self.record = edit_record(input_path, target, editor, self.payload.edit_id)

    @property
    def edit_id(self) -> str:
        """The edit id, 8 hex digits."""
        return self.payload.edit_id_hex

    @property
    def signs(self) -> bool:
        """Whether ``finalize`` signs a manifest."""
        return self._credentials is not None

    def mark(self, frame: np.ndarray) -> np.ndarray:
        """The ``(H * 3 // 2, W) uint8`` yuv420p frame with the watermark, added in place:
        ``frame`` must be the caller's own array, not needed unmarked afterwards.

        Call it on every frame of the video, from the first (index 0) on, even on frames not
        written: the first one fixes the mark's perceptual mask for the whole video, so that
        pieces of one video rendered apart carry the same mark.
        """
        self.prepare(frame)
        return frame if self._embedder is None else self._embedder.apply(frame, inplace=True)

    def calm(self, box: tuple[int, int, int, int] | None) -> None:
        """Lower the mark inside ``(x0, y0, x1, y1)`` pixels (the face); before the first frame."""
        self._calm = box

    def prepare(self, frame: np.ndarray) -> None:
        """Fix the mask from a frame that is decoded but not written (see ``mark``)."""
        if self.options.watermark and self._embedder is None:
            h = frame.shape[0] * 2 // 3
            self._embedder = Embedder.for_frame(
                self.payload, frame[:h], self.options.watermark_strength, self._calm
            )

    def finalize(self, temp: Path) -> None:
        """Sign the manifest into the finished temporary file ``temp`` (if it gets one)."""
        if self._credentials is not None and self.record is not None:
            embed_manifest(temp, self.record, self._credentials, title=self.output.name)


__all__ = ["Stamp", "edit_record", "editor_name", "face_region", "sign_video"]
