"""The CLI's output plumbing, once: exit codes, JSON or human output, progress, labels.

Private to :mod:`cli`. Every command prints through :func:`emit` (one JSON object with
``--json``, a human summary otherwise) and reports progress on stderr through
:func:`progress`; :func:`cli.main` turns every :class:`~gis.errors.GridplanError` into one
line in the planner's language and exit code :data:`EXIT_BAD_INPUT`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import unicodedata
from collections.abc import Callable
from typing import Any

from gis.i18n import N_, translator

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "LABELS",
    "STATUS_LABELS",
    "bar",
    "clean",
    "display_width",
    "emit",
    "json_default",
    "progress",
]


EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

# Labels of the human (non --json) output: the JSON keys and status values, marked here so
# that ``scripts/i18n.sh`` extracts them (the CLI translates them through a variable).
LABELS: tuple[str, ...] = (
    N_("households"),
    N_("residents"),
    N_("staff"),
    N_("required_staff"),
    N_("shortfall"),
    N_("households_per_worker"),
    N_("residents_per_worker"),
    N_("funds_yuan"),
    N_("service_space_m2"),
    N_("min_grids"),
    N_("max_grids"),
)
STATUS_LABELS: tuple[str, ...] = (N_("ok"), N_("small"), N_("may_split"), N_("must_split"))


def display_width(text: str) -> int:
    """Return how many columns ``text`` takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def progress(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(f"gridplan: {translator(args.lang).gettext(message)}", file=sys.stderr, flush=True)


def bar(args: argparse.Namespace, **options: Any) -> Any:
    """A tqdm progress bar on stderr (hidden with ``--quiet``) that starts no thread.

    tqdm's monitor thread is left out: a batch forks its workers only from a process that
    runs one thread (:mod:`planning.batch`), and the bar refreshes on every update anyway.
    """
    from tqdm import tqdm

    class _Bar(tqdm):  # type: ignore[type-arg]
        monitor_interval = 0

    return _Bar(file=sys.stderr, disable=args.quiet, **options)


def emit(args: argparse.Namespace, payload: dict[str, Any], human: Callable[[], str]) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, default=json_default))
    else:
        print(human())


def json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def clean(value: Any) -> Any:
    try:
        import pandas as pd

        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
    except ImportError:  # pragma: no cover
        pass
    return value.item() if hasattr(value, "item") else value
