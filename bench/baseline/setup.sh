#!/usr/bin/env bash
# Create (or bring up to date) the virtualenv of the FastAPI reference, .venv/baseline: inside
# the project's ignored .venv/, apart from the package's own environment, whose dependencies it
# leaves as they are. Usage: bench/baseline/setup.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${1:-python3}"
VENV=.venv/baseline
STAMP="$VENV/.installed"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$STAMP" -nt bench/baseline/requirements.txt ]; then
    exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r bench/baseline/requirements.txt
touch "$STAMP"
