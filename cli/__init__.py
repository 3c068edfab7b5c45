"""``gridplan``: the command line over the gis/ and planning/ libraries.

=============  =================================================================
``_parser``    every command and option, declared in one place
``_output``    exit codes, ``--json`` or human output, progress on stderr, labels
``_inputs``    rule set, reading options and save destination from the arguments
``check``      ``gridplan staff`` and ``gridplan check``
``grids``      ``gridplan grids`` and ``gridplan split`` (one community or a batch)
``compare``    ``gridplan compare``
``export``     ``gridplan export``
``users``      ``gridplan users add|remove|list``
=============  =================================================================

A new command group is a module here with a ``run_…(args) -> int`` function per command
(printing through :func:`cli._output.emit`, raising :class:`~gis.errors.GridplanError` for
bad input) and its ``sub.add_parser`` block in :mod:`cli._parser`.

Every command takes ``--json`` to print one JSON object on stdout; progress goes to
stderr. Bad input ends with a one-line message in the planner's language and a non-zero
exit, never a traceback (set ``GRIDPLAN_DEBUG=1`` to see one).

Examples
--------
>>> main(["staff", "--households", "9762", "--staff", "12", "--json", "--lang", "en"])
{"households": 9762, "residents": null, "staff": 12, "required_staff": 40, "shortfall": 28, "households_per_worker": 813.5, "residents_per_worker": null, "funds_yuan": 2733360.0, "service_space_m2": 3904.8, "min_grids": 196, "max_grids": 325}
0
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from cli._output import EXIT_BAD_INPUT, EXIT_INTERNAL, progress
from cli._parser import argv_language, build_parser
from gis.errors import GridplanError, Problems
from gis.i18n import N_, translator

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "main"]


_ERROR_KINDS = {
    "LayerReadError": "layer_read",
    "CRSError": "crs",
    "FieldError": "field",
    "GeometryError": "geometry",
    "RulesError": "rules",
    "InfeasibleError": "infeasible",
    "ValidationError": "validation",
    "Problems": "several",
}


def _report_error(args: Any, exc: GridplanError) -> None:
    """Say what is wrong: every problem, on stderr (and as ``{"error": …}`` with ``--json``).

    The first line is the message as before; each further problem of the same run (a
    project's validation errors, several problems of ``--out``) follows on its own line.
    """
    import json

    lang = args.lang
    from gis.validate import ValidationError

    if isinstance(exc, ValidationError):
        problems = [p.render(lang) for p in exc.report.errors]
    elif isinstance(exc, Problems):
        problems = [e.render(lang) for e in exc.errors]
    else:
        problems = [exc.render(lang)]
    first = exc.render(lang) if not isinstance(exc, Problems) else problems[0]
    print(f"gridplan: {first}", file=sys.stderr)
    for more in problems[1:]:
        print(f"gridplan: {more}", file=sys.stderr)
    if getattr(args, "json", False):
        payload = {
            "error": {
                "kind": _ERROR_KINDS.get(type(exc).__name__, "input"),
                "message": first,
                "problems": problems,
            }
        }
        print(json.dumps(payload, ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv_language(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if hasattr(args, "lang"):  # --lang before the command or after it: the last one wins
        args.lang = argv_language(argv)
    started = time.perf_counter()
    try:
        code = int(args.func(args))
    except GridplanError as exc:
        _report_error(args, exc)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"gridplan: {translator(args.lang).gettext(N_('interrupted'))}", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("GRIDPLAN_DEBUG"):
            raise
        msg = translator(args.lang).gettext(
            N_(
                "internal error ({error}); please report it with the command you ran "
                "(GRIDPLAN_DEBUG=1 shows details)."
            )
        )
        print(f"gridplan: {msg.format(error=type(exc).__name__)}", file=sys.stderr)
        return EXIT_INTERNAL
    if time.perf_counter() - started > 5:
        progress(args, N_("done"))
    return code
