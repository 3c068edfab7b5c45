"""gridplan's small error hierarchy.

Every error a planner can cause is a :class:`GridplanError` (a ``ValueError``) whose
message says what is wrong and how to fix it, in English (``str(err)``) or in the
planner's language (``err.render("zh_CN")``). The message template is a gettext
``msgid`` so the same text is translated in the CLI, the app and the exports.

====================  ==========================================================
``LayerReadError``    a file or layer cannot be read (format, zip, encoding)
``CRSError``          missing or unsupported coordinate reference system
``FieldError``        missing or malformed attribute columns
``GeometryError``     geometry that cannot be used even after repair
``RulesError``        a rule set with unknown keys or impossible values
``InfeasibleError``   a planning request the data cannot satisfy
``PlanStoreError``    a plan store that cannot be used as asked
``PlanConflictError`` a save based on a version someone has since superseded
====================  ==========================================================

Examples
--------
>>> err = CRSError(N_("Layer {layer} has no coordinate reference system."), layer="roads")
>>> str(err)
'Layer roads has no coordinate reference system.'
"""

from __future__ import annotations

from typing import Any

from gis.i18n import N_, translator  # noqa: F401 - N_ is used by the module's doctest

__all__ = [
    "CRSError",
    "FieldError",
    "GeometryError",
    "GridplanError",
    "InfeasibleError",
    "LayerReadError",
    "PlanConflictError",
    "PlanStoreError",
    "RulesError",
]


class GridplanError(ValueError):
    """A problem with the planner's input, with a translatable message.

    Parameters
    ----------
    msgid
        The English message template (marked with ``N_`` for extraction); ``{name}``
        placeholders are filled from ``params``.
    **params
        Values for the placeholders.
    """

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(self.render("en"))

    def render(self, lang: str | None = None) -> str:
        """Return the message in ``lang`` (zh-CN by default)."""
        return translator(lang).gettext(self.msgid).format(**self.params)


class LayerReadError(GridplanError):
    """A file or layer could not be read."""


class CRSError(GridplanError):
    """A layer's coordinate reference system is missing or unsupported."""


class FieldError(GridplanError):
    """Attribute columns are missing or malformed."""


class GeometryError(GridplanError):
    """Geometry that cannot be used, even after repair."""


class RulesError(GridplanError):
    """A rule set with unknown keys or impossible values."""


class InfeasibleError(GridplanError):
    """A planning request that the data cannot satisfy."""


class PlanStoreError(GridplanError):
    """A plan store that cannot be used as asked (unknown version, busy, damaged)."""


class PlanConflictError(PlanStoreError):
    """Someone else saved a newer version after the version this save started from.

    Raised by ``save(..., base_version=N)`` when the store's latest version is no longer
    ``N``; nothing is written. ``params`` holds ``latest``, ``base``, ``plan_id``,
    ``author`` and ``at`` (who saved the newer version, and when).
    """


class Problems(GridplanError):
    """Several problems found together (every one is listed, not only the first).

    Examples
    --------
    >>> both = Problems([RulesError(N_("a")), CRSError(N_("b"))])
    >>> str(both), [type(e).__name__ for e in both.errors]
    ('a b', ['RulesError', 'CRSError'])
    """

    def __init__(self, errors: list[GridplanError]) -> None:
        self.errors = list(errors)
        super().__init__("{text}", text=" ".join(e.render("en") for e in self.errors))

    def render(self, lang: str | None = None) -> str:
        """Return every problem in ``lang``, one after the other."""
        return " ".join(e.render(lang) for e in self.errors)
