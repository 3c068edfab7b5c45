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

from cli._output import EXIT_BAD_INPUT, EXIT_INTERNAL, progress
from cli._parser import argv_language, build_parser
from gis.errors import GridplanError
from gis.i18n import N_, translator

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv_language(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    started = time.perf_counter()
    try:
        code = int(args.func(args))
    except GridplanError as exc:
        print(f"gridplan: {exc.render(args.lang)}", file=sys.stderr)
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
