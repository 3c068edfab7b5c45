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
# Debian packages, installed once when we are root: the CJK font the PDF atlas embeds
# (fonts-noto-cjk) and, for the tests, poppler-utils (pdffonts, pdftoppm), chromium for
# the real-browser test, PostgreSQL 15 with PostGIS 3 for the plan-database tests and
# QGIS (python3-qgis) to check that exported styles open in QGIS.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
  if [[ ",$extras," == *",test,"* ]]; then
    command -v pdffonts >/dev/null 2>&1 || need+=(poppler-utils)
    [ -x /usr/bin/chromium ] || need+=(chromium)
    # tests/test_pgstore.py starts its own PostgreSQL server with PostGIS
    command -v pg_ctl >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null \
      || need+=(postgresql)
    [ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
    # tests/gis/test_qgis.py opens the exported GeoPackage's styles with QGIS itself
    /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || need+=(python3-qgis qgis-providers)
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    echo "gridplan setup: installing ${need[*]} (Debian packages)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
