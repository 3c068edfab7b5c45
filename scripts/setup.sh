#!/usr/bin/env bash
# Create .venv and install gridplan with the pinned versions of requirements.lock.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh test   or   scripts/setup.sh test,bench
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
fi
spec="."
[ -n "$extras" ] && spec=".[$extras]"
.venv/bin/uv pip install --quiet --python .venv/bin/python -c requirements.lock -e "$spec"
# System packages (Debian, as root) join here when a feature needs them: the CJK font for the
# PDF atlas and chromium for the browser tests.
