"""``emodirector verify``: is this video an emodirector edit? The manifest and the watermark.

The manifest says what was done and is signed, but a re-upload usually strips it; the watermark
survives re-encoding, downscaling and trimming, and carries the edit id. A video is recognised
as an emodirector edit when its manifest is valid (whoever signed it) or the watermark is found.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import av
import numpy as np

from emodirector.errors import UnsupportedVideoError
from emodirector.provenance.manifest import ManifestCheck, ManifestStatus, read_manifest
from emodirector.provenance.watermark import (
    MATCH_BITS,
    N_DECOYS,
    Z_THRESHOLD,
    Detection,
    Detector,
    Payload,
    false_positive_rate,
)

#: Most frames the watermark detector reads (evenly from the start; about a minute at 25 fps).
MAX_FRAMES = 1500


class Verdict(Enum):
    """The overall answer, with the CLI's exit code for each."""

    RECOGNISED = 0
    NO_MARK = 7
    TAMPERED = 8


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify_video`` found.

    Attributes:
        path: The video.
        manifest: The C2PA manifest's check.
        watermark: The watermark detection.
        matches_manifest: The watermark carries the manifest's edit id (None when there is no
            manifest edit id to compare with, or no watermark).
        decode_error: Why the picture could not be read to the end ("" if it could).
    """

    path: Path
    manifest: ManifestCheck
    watermark: Detection
    matches_manifest: bool | None
    decode_error: str = ""

    @property
    def verdict(self) -> Verdict:
        """Tampered (a manifest that does not validate) wins; then recognised; else no mark."""
        if self.manifest.status is ManifestStatus.INVALID:
            return Verdict.TAMPERED
        valid = self.manifest.status in (ManifestStatus.VALID, ManifestStatus.UNTRUSTED)
        if (valid and self.manifest.record is not None) or self.watermark.found:
            return Verdict.RECOGNISED
        return Verdict.NO_MARK

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (stable keys)."""
        m, w, r = self.manifest, self.watermark, self.manifest.record
        payload = w.payload
        return {
            "path": str(self.path),
            "verdict": self.verdict.name.lower(),
            "exit_code": self.verdict.value,
            "manifest": {
                "status": m.status.value,
                "reason": m.reason,
                "signer": m.signer,
                "generator": m.generator,
                "edit": None if r is None else {
                    "description": r.description,
                    "direction": r.direction,
                    "editor": r.editor,
                    "version": r.version,
                    "edit_id": r.edit_id,
                    "input": r.input_name,
                    "input_sha256": r.input_sha256,
                },
                "note": _SIGNER_NOTE if m.status is ManifestStatus.UNTRUSTED else "",
            },
            "watermark": {
                "found": w.found,
                "z": _finite(w.z),
                "threshold": Z_THRESHOLD,
                "false_positive_rate": w.false_positive_rate,
                "frames": w.frames,
                "payload": None if payload is None else {
                    "tool": "emodirector",
                    "version": payload.version,
                    "edit_id": payload.edit_id_hex,
                },
                "matches_manifest": self.matches_manifest,
                "decode_error": self.decode_error,
            },
        }  # fmt: skip

    def summary(self) -> str:
        """Lines for people."""
        m, w = self.manifest, self.watermark
        lines = [f"{self.path.name}:"]
        if m.status is ManifestStatus.NONE:
            lines.append(f"  manifest: none ({m.reason})")
        elif m.status is ManifestStatus.INVALID:
            lines.append(f"  manifest: INVALID, the file changed after signing ({m.reason})")
        else:
            trust = "trusted signer" if m.status is ManifestStatus.VALID else "signer not trusted"
            lines.append(f"  manifest: valid, {trust}: {m.signer}")
            if m.status is ManifestStatus.UNTRUSTED:
                lines.append(f"    {_SIGNER_NOTE}")
        if m.record is not None:
            r = m.record
            lines.append(f"  edit: {r.description} ({r.editor} editor, emodirector {r.version}, "
                         f"edit id {r.edit_id}, input {r.input_name})")  # fmt: skip
        elif m.status is not ManifestStatus.NONE:
            lines.append("  edit: the manifest records no emodirector edit")
        if w.found:
            p = w.payload
            what = (f"edit id {p.edit_id_hex}, format {p.version}" if p is not None
                    else "payload unreadable (too weak to read every bit)")  # fmt: skip
            lines.append(f"  watermark: found (z = {w.z:.1f} over {w.frames} frames; an "
                         f"unmarked video reaches the threshold {Z_THRESHOLD:g} with probability "
                         f"about {threshold_false_positive_rate():.0e}): emodirector, "
                         f"{what}")  # fmt: skip
        else:
            lines.append(f"  watermark: not found (z = {_finite(w.z) or 0:.1f} over {w.frames} "
                         f"frames, threshold {Z_THRESHOLD:g})")  # fmt: skip
        if self.matches_manifest is not None:
            lines.append("  the watermark carries the manifest's edit id" if self.matches_manifest
                         else "  the watermark does NOT carry the manifest's edit id")  # fmt: skip
        if self.decode_error:
            lines.append(f"  note: the picture could not be read to the end ({self.decode_error})")
        verdict = {
            Verdict.RECOGNISED: "an emodirector edit",
            Verdict.NO_MARK: "no emodirector mark found",
            Verdict.TAMPERED: "tampered: a manifest is present but does not validate",
        }[self.verdict]
        lines.append(f"  verdict: {verdict}")
        return "\n".join(lines)


_SIGNER_NOTE = (
    "(a self-issued or unlisted certificate proves the file is unchanged since it was signed "
    "with this key, not who holds the key)"
)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _lumas(path: Path, limit: int, errors: list[str]) -> Any:
    """Luminance planes ``(H, W) uint8`` of up to ``limit`` frames; stops at a decode error."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnsupportedVideoError(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for n, frame in enumerate(container.decode(stream), start=1):
                yield frame.to_ndarray(format="gray")
                if n >= limit:
                    return
    except av.error.FFmpegError as exc:
        errors.append(str(exc))


def detect_watermark(
    path: Path, expected: Payload | None = None, max_frames: int = MAX_FRAMES
) -> tuple[Detection, str]:
    """The watermark detection over a video's frames, and a decode error ("" if none).

    Raises:
        UnsupportedVideoError: Not a video, or no frame decodes.
    """
    errors: list[str] = []
    detector: Detector | None = None
    try:
        for luma in _lumas(path, max_frames, errors):
            if detector is None:
                detector = Detector(luma.shape[1], luma.shape[0])
            detector.add(np.ascontiguousarray(luma))
    except av.error.FFmpegError as exc:
        errors.append(str(exc))
    if detector is None:
        reason = errors[0] if errors else "no frame decodes"
        raise UnsupportedVideoError(f"{path}: not a readable video ({reason})")
    return detector.result(expected), (errors[0] if errors else "")


def verify_video(path: str | os.PathLike[str], max_frames: int = MAX_FRAMES) -> VerifyResult:
    """Check a video's C2PA manifest and look for the watermark.

    Raises:
        InputNotFoundError: No such file.
        UnsupportedVideoError: Not a readable video.
    """
    from emodirector.video.reader import check_input_path

    src = check_input_path(path)
    manifest = read_manifest(src)
    expected = None
    record = manifest.record
    if record is not None:
        try:
            expected = Payload(edit_id=int(record.edit_id, 16))
        except ValueError:
            expected = None
    detection, error = detect_watermark(src, expected, max_frames)
    matches = None
    if expected is not None and detection.found:
        matches = (
            detection.payload == expected
            if detection.payload is not None
            else detection.expected_bits >= MATCH_BITS
        )
    return VerifyResult(src, manifest, detection, matches, error)


def threshold_false_positive_rate() -> float:
    """The false-positive rate the detector's threshold implies (Student's t, ``N_DECOYS`` dof)."""
    return false_positive_rate(Z_THRESHOLD, N_DECOYS)


__all__ = [
    "threshold_false_positive_rate",
    "VerifyResult",
    "Verdict",
    "detect_watermark",
    "verify_video",
]
