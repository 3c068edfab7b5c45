"""``gridplan compare``: service ratios before and after a split."""

from __future__ import annotations

import argparse

from pathlib import Path

from cli._inputs import open_project, read_options, rules_of
from cli._output import clean, emit, progress
from gis.errors import GridplanError
from gis.i18n import N_, translator

__all__ = ["WALK_LABELS", "run_compare"]

WALK_LABELS: tuple[str, ...] = (
    N_("mean_walk_m"),
    N_("share_within_5min"),
    N_("share_within_10min"),
    N_("share_within_15min"),
)


def _from_project(
    args: argparse.Namespace, rules: object
) -> tuple[object, dict[str, object], list[str], Path | None]:
    """Before: the project's data. After: AFTER when given, else the project's split (per
    community its accepted proposal, else its best one not rejected), said in a note."""
    from gis.store import read_plan
    from planning.projects import chosen_split, open_loaded

    tr = translator(args.lang).gettext
    # with --project one positional is AFTER (argparse gives it to BEFORE)
    after = args.after if args.after is not None else args.before
    with open_project(args) as project:
        before = open_loaded(project, rules=rules, lang=args.lang)
        if after is not None:
            plan = read_plan(after) if str(after).lower().endswith(".gpkg") else {}
            return before, plan, [], Path(after)
        plan, chosen = chosen_split(project)
    if not chosen:
        note = tr(N_("Project {name} has no split proposal yet: before and after are the same."))
        return before, {}, [note.format(name=args.project)], None
    status = {"accepted": tr(N_("accepted")), "proposed": tr(N_("not reviewed yet"))}
    listed = ", ".join(f"{c['proposal_id']} ({status[c['status']]})" for c in chosen)
    note = tr(N_("After: project {name}'s proposals {proposals}."))
    return before, dict(plan), [note.format(name=args.project, proposals=listed)], None


def run_compare(args: argparse.Namespace) -> int:
    """Print the service ratios of the communities before and after a split."""
    from gis.store import read_plan
    from planning.communities import load
    from planning.compare import communities_after_split, compare_plans, ratios

    rules = rules_of(args)
    progress(args, "reading layers…")
    notes: list[str] = []
    if getattr(args, "project", None):
        before, plan, notes, after_path = _from_project(args, rules)
    else:
        if args.before is None or args.after is None:
            msg = N_(
                "Say what to compare: BEFORE (layers) and AFTER (a split plan or layers), or "
                "--project NAME."
            )
            raise GridplanError(msg)
        before = load(args.before, rules=rules, lang=args.lang, **read_options(args))
        after_path = args.after
        plan = read_plan(after_path) if str(after_path).lower().endswith(".gpkg") else {}
    before_table = before.communities.drop(columns="geometry")
    if "proposals" in plan:
        proposals = plan["proposals"]
        best = proposals[proposals["rank"] == proposals["rank"].min()]
        after_table = before_table
        for parent, parts in best.groupby("parent_community_id"):
            after_table = communities_after_split(
                after_table, parts.drop(columns="geometry"), parent_id=str(parent)
            )
    elif after_path is None:
        after_table = before_table  # a project without proposals: nothing split
    else:
        after_table = load(
            after_path, rules=rules, lang=args.lang, **read_options(args)
        ).communities.drop(columns="geometry")
    if before.project.roads is not None and len(before.project.roads):
        from cli.analyses import access_figures

        progress(args, N_("measuring walks along the roads…"))
        walk_before = access_figures(before, None)
        before_table = walk_before.add_to(before_table)
        if "proposals" in plan or after_path is None:
            walk_after = access_figures(before, plan)
            after_table = walk_after.add_to(after_table)
        else:
            after_loaded = load(after_path, rules=rules, lang=args.lang, **read_options(args))
            walk_after = access_figures(after_loaded, None)
            after_table = walk_after.add_to(after_table)
        notes += [*walk_before.messages(args.lang), *walk_after.messages(args.lang)]
    else:
        notes += [
            translator(args.lang).gettext(
                N_("No roads layer: walking distances are not measured (add 道路 to the project).")
            )
        ]
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
        "notes": list(dict.fromkeys(notes)),
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        width = max(len(tr(m)) for m in table.index)
        lines = [f"{'':<{width}}  {tr('before'):>12}  {tr('after'):>12}"]
        for metric, r in table.iterrows():
            digits = 3 if str(metric).startswith("share") else 1
            lines.append(
                f"{tr(metric):<{width}}  {r['before']:>12.{digits}f}  {r['after']:>12.{digits}f}"
            )
        return "\n".join([*lines, *payload["notes"]])

    emit(args, payload, human)
    return 0
