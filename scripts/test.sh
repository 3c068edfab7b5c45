#!/usr/bin/env bash
# Install the test extras and run the whole suite (unit, property, doctest, notebook, app, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,city,oidc
exec .venv/bin/python -m pytest -n 2 "$@"
