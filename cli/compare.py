"""``gridplan compare``: service ratios before and after a split."""

from __future__ import annotations

import argparse

from cli._inputs import read_options, rules_of
from cli._output import clean, emit, progress
from gis.i18n import translator

__all__ = ["run_compare"]


def run_compare(args: argparse.Namespace) -> int:
    """Print the service ratios of the communities before and after a split."""
    from gis.store import read_plan
    from planning.communities import load
    from planning.compare import communities_after_split, compare_plans, ratios

    rules = rules_of(args)
    progress(args, "reading layers…")
    before = load(args.before, rules=rules, lang=args.lang, **read_options(args))
    before_table = before.communities.drop(columns="geometry")
    plan = read_plan(args.after) if str(args.after).lower().endswith(".gpkg") else {}
    if "proposals" in plan:
        proposals = plan["proposals"]
        best = proposals[proposals["rank"] == proposals["rank"].min()]
        after_table = before_table
        for parent, parts in best.groupby("parent_community_id"):
            after_table = communities_after_split(
                after_table, parts.drop(columns="geometry"), parent_id=str(parent)
            )
    else:
        after_table = load(
            args.after, rules=rules, lang=args.lang, **read_options(args)
        ).communities.drop(columns="geometry")
    table = compare_plans(before_table, after_table, rules=rules)
    payload = {
        "before": {k: clean(v) for k, v in table["before"].items()},
        "after": {k: clean(v) for k, v in table["after"].items()},
        "communities_before": [
            {k: clean(v) for k, v in r.items()}
            for r in ratios(before_table, rules=rules).to_dict("records")
        ],
        "communities_after": [
            {k: clean(v) for k, v in r.items()}
            for r in ratios(after_table, rules=rules).to_dict("records")
        ],
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        width = max(len(tr(m)) for m in table.index)
        lines = [f"{'':<{width}}  {tr('before'):>12}  {tr('after'):>12}"]
        for metric, r in table.iterrows():
            lines.append(f"{tr(metric):<{width}}  {r['before']:>12.1f}  {r['after']:>12.1f}")
        return "\n".join(lines)

    emit(args, payload, human)
    return 0
