#!/usr/bin/env bash
# Re-extract the message template (gis/locale/gridplan.pot) from the code and merge it
# into every catalog (gis/locale/<lang>/LC_MESSAGES/gridplan.po).
# New messages arrive with an empty msgstr: translate them (tests/test_i18n.py fails until
# every message has a zh_CN translation). Messages no longer in the code are kept as
# obsolete (#~) entries so their translations can be reused; delete them when done.
# Usage: scripts/i18n.sh
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel=.venv/bin/pybabel
[ -x "$pybabel" ] || pybabel=pybabel
"$pybabel" extract -F babel.cfg -k N_ -k _ -k gettext \
  -o gis/locale/gridplan.pot --no-location --sort-output --omit-header .
"$pybabel" update -i gis/locale/gridplan.pot -d gis/locale -D gridplan \
  --no-fuzzy-matching --ignore-pot-creation-date
