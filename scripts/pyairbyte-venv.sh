#!/usr/bin/env bash
# Creates .venv-pyairbyte: a virtual environment of its own for PyAirbyte (package `airbyte`),
# which pins its own versions of libraries the connector also uses, so it stays apart from .venv.
# Idempotent: does nothing when the pinned version is already installed.
#   scripts/pyairbyte-venv.sh            # create or check
#   PYTHON=python3.11 scripts/pyairbyte-venv.sh
# About 780 MB and a few minutes on a first run (55 s here with a warm pip cache; 2 min 43 s measured
# on a newcomer's machine). PyAirbyte needs Python below 3.13.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PYAIRBYTE_VENV:-$ROOT/.venv-pyairbyte}"
AIRBYTE_VERSION="0.71.3"
PYTHON="${PYTHON:-python3}"
MARKER="$VENV/.airbyte-$AIRBYTE_VERSION"

if [[ -f "$MARKER" && -x "$VENV/bin/python" ]]; then
  echo "PyAirbyte $AIRBYTE_VERSION is installed in $VENV"
  exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 13) else 1)'; then
  echo "PyAirbyte $AIRBYTE_VERSION needs Python 3.10 to 3.12; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=..." >&2
  exit 2
fi

echo "Creating $VENV with PyAirbyte $AIRBYTE_VERSION (about 780 MB; this takes a few minutes)..."
LOG="$(mktemp -t pyairbyte-venv.XXXXXX.log)"
# The example imports the simulator from this repository (stdlib, orjson, numpy) to have a Halo to read.
if ! { "$PYTHON" -m venv "$VENV" \
       && "$VENV/bin/python" -m pip install --quiet --upgrade pip \
       && "$VENV/bin/python" -m pip install --quiet "airbyte==$AIRBYTE_VERSION" orjson numpy; } >"$LOG" 2>&1; then
  tail -n 40 "$LOG" >&2
  echo "Installing PyAirbyte failed; the whole log is $LOG" >&2
  exit 1
fi
rm -f "$LOG"
AIRBYTE_OFFLINE_MODE=1 DO_NOT_TRACK=1 "$VENV/bin/python" -W ignore -c 'import airbyte, orjson, numpy' 2>/dev/null \
  || { echo "PyAirbyte was installed in $VENV but does not import" >&2; exit 1; }
touch "$MARKER"
echo "PyAirbyte $AIRBYTE_VERSION is installed in $VENV"
