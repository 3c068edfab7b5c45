"""Threshold checks: is each community ``ok``, ``small``, ``may_split`` or ``must_split``?

Each status comes with reasons that cite the rule that decided it (Kunming 2024 by
default), in the planner's language.

Examples
--------
>>> from planning.rules import get_preset
>>> status, reasons = classify(9_762, residents=25_381, rules=get_preset())
>>> status
'may_split'
>>> print(reasons[0])
9762 households is more than 5000: the community may be split (Kunming 2024: a community of more than 5,000 households may be split).
"""

from __future__ import annotations

import pandas as pd

from gis.i18n import N_, translator
from planning.rules import RuleSet, get_preset
from planning.staffing import staffing_table

__all__ = ["STATUSES", "check_communities", "classify"]

STATUSES: tuple[str, ...] = ("ok", "small", "may_split", "must_split")


def classify(
    households: int,
    *,
    residents: int | None = None,
    rules: RuleSet | None = None,
    lang: str = "en",
) -> tuple[str, list[str]]:
    """Return a community's status and the reasons for it, each citing its rule."""
    rules = rules or get_preset()
    tr = translator(lang).gettext
    reasons: list[str] = []
    status = "ok"
    if residents is not None and residents >= rules.must_split_residents:
        status = "must_split"
        msg = N_(
            "{residents} residents is at least {limit}: the community must be split ({source})."
        )
        reasons.append(
            tr(msg).format(
                residents=int(residents),
                limit=rules.must_split_residents,
                source=rules.cite("must_split_residents", lang=lang),
            )
        )
    if households > rules.split_households:
        status = "must_split" if status == "must_split" else "may_split"
        msg = N_(
            "{households} households is more than {limit}: the community may be split ({source})."
        )
        reasons.append(
            tr(msg).format(
                households=int(households),
                limit=rules.split_households,
                source=rules.cite("split_households", lang=lang),
            )
        )
    elif households < rules.min_households:
        status = "must_split" if status == "must_split" else "small"
        msg = N_(
            "{households} households is fewer than {limit}: the community is small ({source})."
        )
        reasons.append(
            tr(msg).format(
                households=int(households),
                limit=rules.min_households,
                source=rules.cite("min_households", lang=lang),
            )
        )
    if not reasons:
        msg = N_("{households} households is within {low}–{high} ({source}).")
        reasons.append(
            tr(msg).format(
                households=int(households),
                low=rules.min_households,
                high=rules.split_households,
                source=rules.cite("split_households", lang=lang),
            )
        )
    return status, reasons


def check_communities(
    communities: pd.DataFrame, *, rules: RuleSet | None = None, lang: str = "en"
) -> pd.DataFrame:
    """Check every community against the rules.

    Parameters
    ----------
    communities
        One row per community with ``households`` and optionally ``residents``,
        ``staff``, ``community_id`` and ``name`` (see :func:`planning.communities.summarize`).
    rules
        The rule set (the default preset if omitted).
    lang
        Language of the reasons (``en`` or ``zh_CN``).

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``status``, ``reasons`` and the staffing columns, on the
        same index.

    Examples
    --------
    >>> import pandas as pd
    >>> t = check_communities(pd.DataFrame({"households": [2_000, 4_000, 6_000]}))
    >>> t["status"].tolist()
    ['small', 'ok', 'may_split']
    """
    rules = rules or get_preset()
    out = communities.copy()
    residents = out["residents"] if "residents" in out else pd.Series(None, index=out.index)
    results = [
        classify(
            int(h),
            residents=None if pd.isna(r) else int(r),
            rules=rules,
            lang=lang,
        )
        for h, r in zip(out["households"], residents, strict=True)
    ]
    out["status"] = [status for status, _ in results]
    out["reasons"] = [reasons for _, reasons in results]
    staffing = staffing_table(out, rules=rules)
    for column in staffing.columns:
        out[column] = staffing[column]
    return out
