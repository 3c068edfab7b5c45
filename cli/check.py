"""``gridplan staff`` and ``gridplan check``: staffing figures, communities against the rules."""

from __future__ import annotations

import argparse

from cli._inputs import load_input, rules_of
from cli._output import clean, display_width, emit, progress
from gis.i18n import N_, translator

__all__ = ["run_check", "run_staff"]


def run_staff(args: argparse.Namespace) -> int:
    """Print the staffing figures for ``--households`` (and ``--staff`` in post)."""
    from planning.staffing import staffing

    result = staffing(
        args.households, residents=args.residents, staff=args.staff, rules=rules_of(args)
    )
    tr = translator(args.lang).gettext

    def human() -> str:
        rows = [
            (tr(key), "—" if value is None else value) for key, value in result.as_dict().items()
        ]
        width = max(display_width(k) for k, _ in rows)
        return "\n".join(f"{k}{' ' * (width - display_width(k))}  {v}" for k, v in rows)

    emit(args, result.as_dict(), human)
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check every community of ``input`` against the rules; print each one's status."""

    progress(args, N_("reading layers…"))
    loaded = load_input(args, rules=rules_of(args))
    progress(args, N_("checking communities…"))
    columns = [
        "community_id",
        "name",
        "households",
        "residents",
        "status",
        "reasons",
        "required_staff",
        "staff",
        "shortfall",
        "households_official",
        "households_buildings",
        "households_source",
    ]
    table = loaded.communities
    communities = [
        {c: clean(row.get(c)) for c in columns if c != "households_official" or c in table}
        for _, row in table.iterrows()
    ]
    tr = translator(args.lang).gettext
    payload = {
        "communities": communities,
        "rules": loaded.rules.name,
        "estimated_buildings": loaded.estimated_rows(),
        "assumed_floor_buildings": loaded.assumed_floor_rows(),
        "problems": [p.render(args.lang) for p in loaded.report.problems],
        "notes": [n.render(args.lang) for n in loaded.project.notes],
        "warnings": loaded.warnings(args.lang),
        "accounting": loaded.accounting(),
    }

    def human() -> str:
        lines = []
        for c in communities:
            households = tr(N_("{households} households")).format(households=c["households"])
            lines.append(f"{c['community_id']}  {c['name']}  {households}  [{tr(c['status'])}]")
            lines.extend(f"    - {reason}" for reason in c["reasons"])
        estimated = loaded.estimated_rows()
        if estimated:
            msg = tr(
                N_(
                    "{n} buildings' households are estimated from footprint × floors "
                    "({m} with assumed floors)."
                )
            )
            lines.append(msg.format(n=estimated, m=loaded.assumed_floor_rows()))
        books = payload["accounting"]
        if books["excluded"] or books["added"]:
            msg = tr(
                N_(
                    "Households: {households_in} in the data, {added} estimated, {in_totals} in "
                    "the totals, {excluded} left out (see the warnings)."
                )
            )
            lines.append(msg.format(**books))
        lines.extend(f"! {w['kind']}: {w['message']}" for w in payload["warnings"])
        shown = {w["message"] for w in payload["warnings"]}
        lines.extend(f"! {p}" for p in payload["problems"] if not any(p.endswith(m) for m in shown))
        lines.extend(f"· {n}" for n in payload["notes"])
        return "\n".join(lines)

    emit(args, payload, human)
    return 0
