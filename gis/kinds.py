"""Grid kinds: the values of a plan's ``kind`` column and their labels.

A household grid is ``residential``; a dedicated grid (专属网格) is ``dedicated``
(large land without households whose use the layers do not say) or names what it is:
``campus``, ``school``, ``hospital``, ``enterprise``, ``park`` (from the layers' land use,
:mod:`planning.landuse`). Exports and maps show the label, not the value.

Examples
--------
>>> kind_label("campus", "zh_CN"), kind_label("campus", "en")
('校园专属网格', 'campus grid')
"""

from __future__ import annotations

import pandas as pd

from gis.i18n import N_, translator

__all__ = ["GRID_KINDS", "kind_label", "kind_labels"]

GRID_KINDS: dict[str, str] = {
    "residential": N_("household grid"),
    "dedicated": N_("dedicated grid"),
    "campus": N_("campus grid"),
    "school": N_("school grid"),
    "hospital": N_("hospital grid"),
    "enterprise": N_("enterprise grid"),
    "park": N_("park grid"),
}
"""Every value of the grids' ``kind`` column and its label (a gettext msgid)."""


def kind_label(kind: object, lang: str | None = "zh_CN") -> str:
    """The label of a grid kind in ``lang`` (the value itself when unknown).

    Examples
    --------
    >>> kind_label("dedicated", "zh_CN"), kind_label("park", "en"), kind_label("x", "en")
    ('专属网格', 'park grid', 'x')
    """
    msgid = GRID_KINDS.get(str(kind))
    return translator(lang).gettext(msgid) if msgid else str(kind)


def kind_labels(frame: pd.DataFrame, lang: str | None = "zh_CN") -> pd.DataFrame:
    """A copy of a grids frame with ``kind_label`` (the kind's label) after ``kind``;
    the frame itself when it has no ``kind`` column.

    Examples
    --------
    >>> kind_labels(pd.DataFrame({"kind": ["residential", "hospital"]}), "en")["kind_label"].tolist()
    ['household grid', 'hospital grid']
    """
    if "kind" not in frame or "kind_label" in frame:
        return frame
    out = frame.copy()
    out.insert(list(out.columns).index("kind") + 1, "kind_label", [kind_label(k, lang) for k in out["kind"]])
    return out
