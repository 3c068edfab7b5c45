"""Warnings that account for every household: what was left out, guessed or repaired, and why.

A planner acts on the totals, so every household of the input is either in a community's
total or named in a :class:`DataWarning` with its reason. Each warning has a stable English
``kind`` (``roster_unmatched``, ``non_residential_excluded``, ``overlap_repaired``…), the
number of features or rows it concerns (``count``), their ids (``rows``, at most
:data:`MAX_ROWS` of them in the JSON), a message in the planner's language and
``households_excluded``: the households it takes out of the totals (0 for a warning that
only flags a figure, such as an estimate). The contract is in SCHEMA.md, "Warnings in
check --json".

Examples
--------
>>> w = DataWarning(
...     "roster_unmatched",
...     N_("{count} roster rows match no building ({households} households)"),
...     rows=("3栋", "9栋"),
...     count=2,
...     households_excluded=96,
... )
>>> w.render("en")
'2 roster rows match no building (96 households)'
>>> sorted(w.to_dict("en"))
['count', 'households', 'kind', 'message', 'rows']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gis.i18n import N_, translator

__all__ = ["MAX_ROWS", "DataWarning", "households_added", "households_excluded", "merge_warnings"]

MAX_ROWS = 50
"""At most this many ids are listed in a warning's ``rows`` (SCHEMA.md)."""


@dataclass(frozen=True)
class DataWarning:
    """One thing about the data a planner must know before acting on the totals.

    Parameters
    ----------
    kind
        A stable English word (``roster_unmatched``…), for programs.
    msgid
        The English message template (marked with ``N_``); ``{count}``, ``{households}``
        and the ``params`` are filled in.
    rows
        The ids (building ids, roster rows, community pairs) the warning is about.
    count
        How many features or rows it concerns (``len(rows)`` when omitted).
    households_excluded
        Households of the input the warning takes out of the totals (0 when it only flags
        a figure).
    households_added
        Households in the totals that are not in the input (estimates), 0 otherwise. For
        every project: households in the input + added = in the totals + excluded.
    params
        Other values for the message.
    layer
        The layer it is about.
    fix
        What the planner can do about it (a message template too), or ``""``.
    """

    kind: str
    msgid: str
    rows: tuple[Any, ...] = ()
    count: int = -1
    households_excluded: int = 0
    households_added: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    layer: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        if self.count < 0:
            object.__setattr__(self, "count", len(self.rows))

    def render(self, lang: str | None = "en") -> str:
        """Return the message in ``lang`` (zh-CN by default)."""
        tr = translator(lang).gettext
        values = {"count": self.count, "n": self.count, "households": self.households_excluded}
        values.update(self.params)
        text = tr(self.msgid).format(**values)
        if self.fix:
            text = f"{text}. {tr(self.fix).format(**values)}"
        return text

    def to_dict(self, lang: str | None = "en") -> dict[str, Any]:
        """Return the SCHEMA.md record: ``kind``, ``count``, ``message``, ``rows``, ``households``."""
        return {
            "kind": self.kind,
            "count": int(self.count),
            "message": self.render(lang),
            "rows": [_plain(r) for r in self.rows[:MAX_ROWS]],
            "households": int(self.households_excluded),
        }


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value if isinstance(value, int | float | str) else str(value)


def households_excluded(warnings: Iterable[DataWarning]) -> int:
    """Return the households the warnings take out of the totals.

    Examples
    --------
    >>> households_excluded([DataWarning("a", N_("x"), households_excluded=5)] * 2)
    10
    """
    return int(sum(w.households_excluded for w in warnings))


def households_added(warnings: Iterable[DataWarning]) -> int:
    """Return the households the warnings add to the totals (estimates)."""
    return int(sum(w.households_added for w in warnings))


def merge_warnings(*groups: Sequence[DataWarning]) -> tuple[DataWarning, ...]:
    """Concatenate warning lists, dropping exact repeats (the same warning from two steps)."""
    seen: set[tuple[str, str, tuple[Any, ...]]] = set()
    out: list[DataWarning] = []
    for group in groups:
        for w in group:
            key = (w.kind, w.msgid, tuple(map(str, w.rows)))
            if key in seen:
                continue
            seen.add(key)
            out.append(w)
    return tuple(out)
