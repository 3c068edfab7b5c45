"""``gridplan template roster``: the household roster template (花名册模板.xlsx)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli._output import emit, progress
from gis.i18n import N_, translator

__all__ = ["run_template"]


def run_template(args: argparse.Namespace) -> int:
    """Write the template named by the sub-command (``roster``)."""
    from gis.export.roster import write_roster_template

    tr = translator(args.lang).gettext
    out = args.out or Path(f"{tr(N_('roster template'))}.xlsx")
    progress(args, N_("writing the template…"))
    written = write_roster_template(out, lang=args.lang)
    payload = {"written": [str(written)]}
    emit(args, payload, lambda: str(written))
    return 0
