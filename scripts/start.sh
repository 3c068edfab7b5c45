#!/usr/bin/env bash
# Set up (first run only takes a while) and start the gridplan app on the bundled Beijing sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run app.py "$@"
