"""The signed C2PA manifest (Content Credentials) of an edited video: written and read.

Written with ``c2pa-python`` (the Content Authenticity Initiative's bindings; the native library
ships in the wheel and signs offline). The manifest records two actions: ``c2pa.opened`` on the
input (an ingredient, with the input's SHA-256) and ``c2pa.edited`` with a human description
("facial expression changed: happy, intensity 0.8") and the edit's parameters (direction,
editor, tool version, edit id; the watermark carries the same edit id). A hash of the whole file
except the manifest box is signed with it: changing one byte of the video data makes the
manifest invalid.

MP4, MOV and M4V outputs get a manifest; Matroska (``.mkv``) has no C2PA binding in the
library, so an MKV output carries the watermark only.

Memory: signing and reading stream the file through in blocks, whatever the video's length.
Hashed as one piece (C2PA's BMFF hash without a Merkle tree), the library holds a copy of the
whole ``mdat`` box (all the coded frames) in memory, in signing and again in validating: 108
MiB more for a 10-minute 1080p output. A file with one ``mdat`` box and no fragments, which is
what our writer makes, is therefore hashed in 1 MiB chunks under a Merkle tree
(``_MERKLE_CHUNK_KB``): 6 MiB whatever its length, and 245 bytes more in the file per MiB of
video. Any other layout is hashed as one piece (the library's Merkle tree does not validate on
fragmented MP4 or beside a second ``mdat``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from emodirector.errors import InvalidOptionError, OutputError
from emodirector.files import replacing
from emodirector.provenance.signing import SignerCredentials

#: Output suffixes that carry a manifest, and their MIME types.
MANIFEST_FORMATS = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
#: Name of the tool in the manifest's claim generator and software agent.
TOOL = "emodirector"
#: Label of the ingredient (the input) that ``c2pa.opened`` refers to.
_INPUT_LABEL = "input"
#: Validation failure codes that do not make a manifest invalid, only its signer untrusted.
_UNTRUSTED_CODES = {"signingCredential.untrusted"}
#: Settings of the reader and builder: nothing is fetched from the network, and signing keeps
#: its working copy of the video in a temporary file (by default a second copy of the whole
#: output in memory).
_SETTINGS = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "core": {"backing_store_memory_threshold_in_mb": 1},
}
#: Chunk of the Merkle tree that a single-``mdat`` MP4's video data is hashed in (KiB); see the
#: module docstring. 256 and 1024 need the same memory; 1024 adds a quarter of the bytes.
_MERKLE_CHUNK_KB = 1024


def supports_manifest(path: Path) -> bool:
    """Whether a video at ``path`` (by its suffix) can carry a manifest."""
    return path.suffix.lower() in MANIFEST_FORMATS


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class EditRecord:
    """What the manifest says about an edit.

    Attributes:
        description: One line for people: ``"facial expression changed: happy, intensity 0.8"``.
        direction: The direction as given (``"emotion happy@0.8"``, ``"reference angry.jpg"``,
            ``"action units AU12=0.7"``, ``"timeline 0:neutral, 2:happy"``).
        editor: The editor that planned the change (``"prototype"``).
        version: emodirector's version.
        edit_id: 8 hex digits; the watermark in the picture carries the same id.
        input_name: File name of the input (no folders).
        input_sha256: Hex SHA-256 of the input file.
    """

    description: str
    direction: str
    editor: str
    version: str
    edit_id: str
    input_name: str
    input_sha256: str

    def actions(self) -> list[dict[str, Any]]:
        """The ``c2pa.actions.v2`` actions: opened (the input) and edited."""
        agent = {"name": TOOL, "version": self.version}
        return [
            {
                "action": "c2pa.opened",
                "softwareAgent": agent,
                "parameters": {
                    "ingredientIds": [_INPUT_LABEL],
                    "org.emodirector.sha256": self.input_sha256,
                },
            },
            {
                "action": "c2pa.edited",
                "softwareAgent": agent,
                "description": self.description,
                "parameters": {
                    "org.emodirector.direction": self.direction,
                    "org.emodirector.editor": self.editor,
                    "org.emodirector.version": self.version,
                    "org.emodirector.edit_id": self.edit_id,
                },
            },
        ]

    @classmethod
    def from_actions(cls, actions: list[dict[str, Any]], input_name: str = "") -> EditRecord | None:
        """The record in a manifest's actions, or None if it holds no emodirector edit."""
        opened = next((a for a in actions if a.get("action") == "c2pa.opened"), {})
        edited = next((a for a in actions if a.get("action") == "c2pa.edited"), None)
        if edited is None:
            return None
        p = edited.get("parameters") or {}
        if "org.emodirector.edit_id" not in p:
            return None
        return cls(
            description=str(edited.get("description", "")),
            direction=str(p.get("org.emodirector.direction", "")),
            editor=str(p.get("org.emodirector.editor", "")),
            version=str(p.get("org.emodirector.version", "")),
            edit_id=str(p.get("org.emodirector.edit_id", "")),
            input_name=input_name,
            input_sha256=str((opened.get("parameters") or {}).get("org.emodirector.sha256", "")),
        )


def _definition(record: EditRecord, title: str, mime: str) -> dict[str, Any]:
    return {
        "claim_generator_info": [{"name": TOOL, "version": record.version}],
        "title": title,
        "format": mime,
        "ingredients": [
            {
                "title": record.input_name,
                "relationship": "parentOf",
                "label": _INPUT_LABEL,
                "format": "application/octet-stream",
            }
        ],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": record.actions()}}],
    }


def _top_level_boxes(path: Path) -> list[bytes]:
    """The types of the top-level ISO BMFF boxes of ``path``, in order, read from their headers
    only (an unreadable tail ends the list)."""
    kinds = []
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        at = 0
        while at + 8 <= size:
            f.seek(at)
            head = f.read(16)
            length, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if length == 1 and len(head) == 16:
                length = int.from_bytes(head[8:16], "big")
            elif length == 0:
                length = size - at
            kinds.append(kind)
            if length < 8:
                break
            at += length
    return kinds


def _merkle_hashed(path: Path) -> bool:
    """Whether ``path``'s video data can be hashed in chunks: one ``mdat``, no fragments."""
    kinds = _top_level_boxes(path)
    return kinds.count(b"mdat") == 1 and b"moof" not in kinds


def _context(merkle: bool = False) -> Any:
    import c2pa

    settings = _SETTINGS
    if merkle:
        settings = {
            **_SETTINGS,
            "core": {**_SETTINGS["core"], "merkle_tree_chunk_size_in_kb": _MERKLE_CHUNK_KB},
        }
    return c2pa.Context(settings=c2pa.Settings.from_dict(settings))


def embed_manifest(
    video: Path,
    record: EditRecord,
    credentials: SignerCredentials,
    title: str | os.PathLike[str] | None = None,
) -> None:
    """Sign ``record`` into the finished video at ``video``, in place.

    The signed copy is streamed from ``video`` to a hidden temporary file in the same folder
    (no copy of the video is held in memory; see the module docstring), then renamed over
    ``video``: ``video`` is either the unsigned or the signed file, never half of one. Call it
    on a temporary file before renaming that to the final output, so that no unsigned file is
    ever at the output path.

    Args:
        video: A finished MP4/MOV/M4V file (``supports_manifest``).
        record: What the manifest records.
        credentials: Certificate chain and key (``resolve_credentials``).
        title: The title recorded (default: ``video``'s file name).

    Raises:
        InvalidOptionError: The container cannot carry a manifest, or C2PA refuses the
            certificate (for example a missing key usage).
        OutputError: The signed file cannot be written.
    """
    import c2pa

    mime = MANIFEST_FORMATS.get(video.suffix.lower())
    if mime is None:
        raise InvalidOptionError(f"{video}: {video.suffix} cannot carry a C2PA manifest")
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(credentials.alg, credentials.chain_pem, credentials.key_pem, None)
        )
        definition = _definition(record, Path(title).name if title else video.name, mime)
        with (
            replacing(video, "sign") as temp,
            c2pa.Builder(definition, _context(merkle=_merkle_hashed(video))) as builder,
            open(video, "rb") as src,
            open(temp, "w+b") as dst,
        ):
            builder.sign(signer, mime, src, dst)
    except c2pa.C2paError as exc:
        raise InvalidOptionError(
            f"signing with {credentials.source} was refused by C2PA: {exc}"
        ) from None
    except OSError as exc:
        raise OutputError(f"{video}: cannot write the signed video ({exc})") from None


class ManifestStatus(Enum):
    """What the manifest check found."""

    NONE = "none"
    VALID = "valid"
    UNTRUSTED = "valid-untrusted-signer"
    INVALID = "invalid"


@dataclass(frozen=True)
class ManifestCheck:
    """A video's manifest, read and validated by c2pa.

    Attributes:
        status: none, valid (signer on a trust list), valid with an untrusted signer, invalid.
        reason: Why invalid (the failing checks), or why none; empty when valid.
        record: The emodirector edit it records (None if none, or not an emodirector edit).
        signer: The signing certificate's common name and issuer, as c2pa reports them.
        signed_at: Signing time, if recorded.
        generator: The claim generator (tool name and version).
    """

    status: ManifestStatus
    reason: str = ""
    record: EditRecord | None = None
    signer: str = ""
    signed_at: str = ""
    generator: str = ""


def read_manifest(video: Path) -> ManifestCheck:
    """Read and validate the C2PA manifest of ``video`` (any format c2pa reads)."""
    import c2pa

    try:
        with open(video, "rb") as f, c2pa.Reader(video, f, None, _context()) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or ""
            results = reader.get_validation_results() or {}
    except c2pa.C2paError as exc:
        text = str(exc)
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in text:
            return ManifestCheck(ManifestStatus.NONE, "no C2PA manifest in the file")
        if "NotSupported" in type(exc).__name__:
            return ManifestCheck(ManifestStatus.NONE, f"C2PA cannot read {video.suffix} files")
        return ManifestCheck(ManifestStatus.INVALID, f"the manifest cannot be read: {text}")
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    record = None
    for assertion in active.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            record = EditRecord.from_actions(
                assertion.get("data", {}).get("actions", []),
                input_name=next((i.get("title", "") for i in active.get("ingredients", [])), ""),
            )
            if record is not None:
                break
    info = active.get("signature_info", {})
    signer = ", ".join(
        x for x in (info.get("common_name", ""), f"issued by {info.get('issuer', '')}") if x
    )
    generator = ", ".join(
        f"{g.get('name', '')} {g.get('version', '')}".strip()
        for g in active.get("claim_generator_info", [])
        if g.get("name") == TOOL
    )
    failures = [
        f for f in results.get("activeManifest", {}).get("failure", [])
        if f.get("code") not in _UNTRUSTED_CODES
    ]  # fmt: skip
    reason = ""
    if state == "Invalid" or failures:
        status = ManifestStatus.INVALID
        reason = "; ".join(f"{f.get('code')}: {f.get('explanation', '')}" for f in failures)
        reason = reason or "validation failed"
    elif state == "Trusted":
        status = ManifestStatus.VALID
    else:
        status = ManifestStatus.UNTRUSTED
    signed_at = str(info.get("time", ""))
    return ManifestCheck(status, reason, record, signer, signed_at, generator)


__all__ = [
    "MANIFEST_FORMATS",
    "EditRecord",
    "ManifestCheck",
    "ManifestStatus",
    "embed_manifest",
    "read_manifest",
    "sha256_file",
    "supports_manifest",
]
