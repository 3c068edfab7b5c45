"""What the commands read from their arguments: the rule set, reading options, where to save.

Private to :mod:`cli`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli._output import progress
from gis.errors import GridplanError
from gis.i18n import N_

__all__ = ["check_destination", "find_community", "read_options", "rules_of", "save_to_db"]


def rules_of(args: argparse.Namespace) -> Any:
    from planning.rules import get_preset, load_rules

    if getattr(args, "rules", None):
        return load_rules(args.rules)
    return get_preset(args.preset)


def check_destination(args: argparse.Namespace) -> None:
    """Fail early (before any work) when a plan would be saved nowhere."""
    if args.out is None and not args.db:
        msg = N_(
            "Say where to save the plan: --out PLAN.gpkg, --db URL (or the GRIDPLAN_DB "
            "variable), or both."
        )
        raise GridplanError(msg)


def save_to_db(args: argparse.Namespace, layers: dict[str, Any], *, rules: Any) -> dict[str, Any]:
    """Save ``layers`` as a new version of plan ``--plan-id`` in ``--db``; describe it."""
    if not args.db:
        return {}
    import getpass

    from gis.store import open_store

    try:
        author = getpass.getuser()
    except (KeyError, OSError):
        author = "gridplan"
    plan_id = args.plan_id or Path(args.input).stem
    progress(args, N_("saving the plan in the database…"))
    with open_store(args.db, plan_id=plan_id) as store:
        version = store.save(
            layers,
            author=author,
            note=f"gridplan {args.command} {Path(args.input).name}",
            rules=rules,
        )
        url = getattr(store, "url", None)  # a GeoPackage path works too
        where = str(args.db) if url is None else url.render_as_string(hide_password=True)
    return {"db": where, "plan_id": plan_id, "version": version}


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"encoding": args.encoding, "crs": args.crs}


def find_community(loaded: Any, community: str | None) -> Any:
    from gis.errors import InfeasibleError
    from gis.i18n import N_

    table = loaded.communities
    ids = table["community_id"].astype(str)
    if community is None:
        if len(table) == 1:
            return table.iloc[0]
        msg = N_("Name the community to split with --community. Communities: {ids}.")
        raise InfeasibleError(msg, ids=", ".join(ids[:20]))
    if community not in set(ids):
        msg = N_("There is no community {community} in this project. Communities: {ids}.")
        raise InfeasibleError(msg, community=community, ids=", ".join(ids[:20]))
    return table[ids == community].iloc[0]
