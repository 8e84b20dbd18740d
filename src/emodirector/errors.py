"""Typed errors of emodirector.

Every error a user can cause is one of these; the CLI prints the message on one line and exits
with the class's ``exit_code``. Anything else escaping the library is a bug.
"""

from __future__ import annotations


class EmodirectorError(Exception):
    """Base class of every error emodirector raises on purpose."""

    exit_code: int = 1


class InvalidOptionError(EmodirectorError, ValueError):
    """An option value is out of range or malformed (unknown emotion, intensity outside 0..1)."""

    exit_code = 2


class InputNotFoundError(EmodirectorError, FileNotFoundError):
    """The input path does not exist or is not a regular file."""

    exit_code = 3


class UnsupportedVideoError(EmodirectorError):
    """The input cannot be decoded as a video (not a video, no video stream, corrupt)."""

    exit_code = 4


class OutputError(EmodirectorError):
    """The output cannot be written (exists without overwrite, same as input, bad folder)."""

    exit_code = 5


class NoFaceFoundError(EmodirectorError):
    """An image or clip that must show a face shows none (or several where one is needed)."""

    exit_code = 6


class NoProvenanceMarkError(EmodirectorError):
    """``verify``: neither a valid emodirector manifest nor the watermark was found."""

    exit_code = 7


class TamperedManifestError(EmodirectorError):
    """``verify``: a C2PA manifest is present but does not validate (the file was changed)."""

    exit_code = 8
