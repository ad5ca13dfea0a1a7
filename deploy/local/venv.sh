#!/usr/bin/env bash
# Create or update .venv/ in the repository root from pyproject.toml. Re-running is cheap: it reinstalls
# only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Python 3.11 first: on this project's machines its torch wheel lies on local disk; 3.12 and 3.13 download theirs.
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)}
stamp=.venv/.installed
want=$(sha256sum pyproject.toml | cut -c1-16)

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), "found " + sys.version' \
        || { echo "ERROR: SMGeo needs Python 3.11, 3.12 or 3.13: set PYTHON to one" >&2; exit 2; }
    echo "Creating .venv/ with $PYTHON"
    "$PYTHON" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing the project into .venv/ (torch comes from local disk; about two minutes the first time)"
    .venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
    .venv/bin/python -m pip install --quiet --editable ".[dev]"
    echo "$want" > "$stamp"
fi
