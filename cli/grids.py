"""``gridplan grids`` and ``gridplan split``: divide communities into grids, propose splits.

Both run one community in the process, or every community as a batch (``--jobs``,
``--scheduler``, ``--resume``) through :func:`planning.batch.run_batch`; both write a plan
GeoPackage (``--out``) and/or a new version in a PostGIS plan database (``--db``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from cli._inputs import check_destination, find_community, load_input, rules_of, save_to_db
from cli._output import bar as progress_bar
from cli._output import emit, progress
from gis.i18n import N_, translator

__all__ = ["run_grids", "run_split"]

# the summary's keys in the planner's words (``--json`` keeps the keys)
_GRID_SUMMARY_LABELS = {
    "grids": N_("Grids"),
    "in_range_share": N_("Household grids within the band"),
    "min_households": N_("Fewest households in a grid"),
    "max_households": N_("Most households in a grid"),
    "contiguous_share": N_("Grids in one piece"),
    "dedicated_grids": N_("Dedicated grids (no households)"),
    "bound_out_of_range": N_("Grids outside the band no grouping can avoid"),
    "zones_alone_out_of_range": N_("Grids outside the band with each compound grouped alone"),
    "locked_kept": N_("Locked grids kept"),
    "codes_kept": N_("Grid codes kept"),
    "grids_kept": N_("Grids kept as drawn"),
    "codes_new": N_("New grid codes"),
    "seconds": N_("Seconds"),
    "out": N_("Plan written to"),
    "project": N_("Project"),
    "version": N_("Version"),
}
_SHARES = {"in_range_share", "contiguous_share"}


def _summary_lines(summary: dict[str, Any], tr: Any, *, skip: set[str]) -> list[str]:
    """The summary as ``label: value`` lines in the planner's language, shares in per cent.

    Examples
    --------
    >>> _summary_lines({"grids": 3, "in_range_share": 0.9798, "notes": []}, str, skip={"notes"})
    ['Grids: 3', 'Household grids within the band: 97.98 %']
    """
    lines = []
    for key, value in summary.items():
        if key in skip or value is None:
            continue
        shown = f"{100 * value:.2f} %" if key in _SHARES else value
        lines.append(f"{tr(_GRID_SUMMARY_LABELS.get(key, key))}: {shown}")
    return lines


def run_grids(args: argparse.Namespace) -> int:
    """Divide the communities of ``input`` into grids; write the plan (``--out``/``--db``)."""
    from gis.store import write_plan
    from planning.grids import make_grids

    started = time.perf_counter()
    check_destination(args)
    rules = rules_of(args)
    changes = {}
    if args.min_households is not None:
        changes["grid_min_households"] = args.min_households
    if args.max_households is not None:
        changes["grid_max_households"] = args.max_households
    rules = rules.with_values(**changes) if changes else rules
    progress(args, "reading layers…")
    loaded = load_input(args, rules=rules)
    project = loaded.project
    communities = loaded.communities
    wanted = [args.community] if args.community else None
    if wanted and args.community not in set(communities["community_id"].astype(str)):
        from gis.errors import InfeasibleError
        from gis.i18n import N_

        msg = N_("There is no community {community} in this project. Communities: {ids}.")
        raise InfeasibleError(
            msg,
            community=args.community,
            ids=", ".join(communities["community_id"].astype(str)[:20]),
        )
    previous = _project_grids(args, loaded, rules)
    if previous is not None:
        return _regrid(args, loaded, rules, previous, wanted, started)
    total = len(wanted) if wanted else len(communities)
    bar = progress_bar(args, total=total, desc="communities", unit="community")
    result = (
        _batch(args, loaded, rules, wanted, bar).grids
        if _batched(args)
        else make_grids(
            project.buildings,
            communities=communities,
            roads=project.roads,
            waterways=project.waterways,
            barriers=project.barriers,
            compounds=project.compounds,
            landuse=project.landuse,
            rules=rules,
            community_ids=wanted,
            lang=args.lang,
            progress=lambda _c: bar.update(1),
        )
    )
    bar.close()
    members = _with_households_source(result.grid_members, project.buildings)
    layers = {"grids": result.grids, "grid_members": members, "patches": result.patches}
    if args.out is not None:
        progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = save_to_db(args, layers, rules=rules)
    summary = result.summary(low=rules.grid_min_households, high=rules.grid_max_households)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["out"] = None if args.out is None else str(args.out)
    summary.update(saved)
    summary["notes"] = list(result.notes)
    out_of_range = result.grids[result.grids["status"] == "out_of_range"]
    summary["out_of_range"] = [
        {"grid_code": row.grid_code, "households": int(row.households), "reason": row.reason}
        for row in out_of_range.itertuples()
    ]
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = _summary_lines(summary, tr, skip={"out_of_range", "notes"})
        lines.extend(f"· {n}" for n in summary["notes"])
        lines.extend(
            f"! {g['grid_code']} ({g['households']}): {g['reason']}"
            for g in summary["out_of_range"]
        )
        return "\n".join(lines)

    emit(args, summary, human)
    return 0


def _project_grids(args: argparse.Namespace, loaded: Any, rules: Any) -> Any:
    """The grids ``--project`` already holds, as a plan to re-run; ``None`` when it has none."""
    if not getattr(args, "project", None):
        return None
    from cli._inputs import open_project
    from planning.edit import GridPlan

    with open_project(args) as project:
        if not {"grids", "grid_members"} <= set(project.layer_names()):
            return None
        layers = project.load(layers=["grids", "grid_members"])
    if layers["grids"] is None or not len(layers["grids"]):
        return None
    return GridPlan(
        grids=layers["grids"],
        grid_members=layers["grid_members"],
        buildings=loaded.project.buildings,
        communities=loaded.communities,
        rules=rules,
    )


def _regrid(
    args: argparse.Namespace, loaded: Any, rules: Any, plan: Any, wanted: Any, started: float
) -> int:
    """Re-run the engine on a project's grids: locked grids and hand edits of the communities
    not asked for stay, grids that barely change keep their codes, the crosswalk is saved."""
    from planning.edit import refresh_patches, rerun

    project = loaded.project
    progress(args, N_("re-running the engine around the project's grids…"))
    out = rerun(
        plan,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
        landuse=project.landuse,
        community_ids=wanted,
        lang=args.lang,
        n_jobs=args.jobs,
    )
    new, patches = refresh_patches(out.plan, lang=args.lang)
    walk = out.crosswalk
    layers = {
        "grids": new.grids,
        "grid_members": _with_households_source(new.grid_members, loaded.project.buildings),
        "patches": patches,
        "grid_crosswalk": walk,
    }
    if args.out is not None:
        from gis.store import write_plan

        progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = save_to_db(args, layers, rules=rules)
    result = out.result
    summary: dict[str, Any] = result.summary(
        low=rules.grid_min_households, high=rules.grid_max_households
    )
    locked = new.grids["locked"].fillna(False).astype(bool)
    moved = walk[walk["old_code"] != walk["new_code"]]
    summary["locked_kept"] = int(locked.sum())
    summary["codes_kept"] = int(
        (walk["old_code"] == walk["new_code"]).sum() - len(out.kept)
    )
    summary["grids_kept"] = len(out.kept)
    summary["codes_new"] = int(len(set(new.grids["grid_code"]) - set(plan.grids["grid_code"])))
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["out"] = None if args.out is None else str(args.out)
    summary.update(saved)
    summary["notes"] = list(result.notes)
    summary["crosswalk"] = [
        {"old_code": r.old_code, "new_code": r.new_code, "overlap_share": float(r.overlap_share)}
        for r in moved.itertuples()
    ]
    out_of_range = new.grids[new.grids["status"] == "out_of_range"]
    summary["out_of_range"] = [
        {"grid_code": row.grid_code, "households": int(row.households), "reason": row.reason}
        for row in out_of_range.itertuples()
    ]
    tr = translator(args.lang).gettext
    listed = {"out_of_range", "notes", "crosswalk"}

    def human() -> str:
        lines = _summary_lines(summary, tr, skip=listed)
        lines.extend(f"· {n}" for n in summary["notes"])
        lines.extend(
            f"! {g['grid_code']} ({g['households']}): {g['reason']}"
            for g in summary["out_of_range"]
        )
        return "\n".join(lines)

    emit(args, summary, human)
    return 0


def _with_households_source(members: Any, buildings: Any) -> Any:
    """Members with their building's ``households_source`` (``estimated``, ``given``,
    ``roster``), so the plan's reports mark estimated households without the project."""
    if members is None or not len(members) or "households_source" not in buildings:
        return members
    if "building_id" not in buildings or "building_id" not in members:
        return members
    source = dict(
        zip(
            buildings["building_id"].astype(str),
            buildings["households_source"].astype("string").fillna(""),
            strict=True,
        )
    )
    out = members.copy()
    out["households_source"] = out["building_id"].astype(str).map(source).fillna("")
    return out


def _batched(args: argparse.Namespace) -> bool:
    """Whether to run one task per community (``--jobs``, ``--scheduler``, ``--resume``)."""
    return args.jobs != 1 or bool(args.scheduler) or args.resume is not None


def _batch(
    args: argparse.Namespace, loaded: Any, rules: Any, wanted: Any, bar: Any, *, task: str = "grids"
) -> Any:
    """Run ``task`` per community with joblib or dask; say how many were resumed."""
    from planning.batch import run_batch

    backend = "dask" if args.scheduler else ("joblib" if args.jobs != 1 else "serial")
    result = run_batch(
        loaded,
        task=task,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
        n_jobs=args.jobs,
        scheduler=args.scheduler,
        checkpoint=args.resume,
        progress=bar,
        rules=rules,
        lang=args.lang,
        community_ids=wanted,
        **(
            {"parts": args.parts, "alternatives": args.alternatives, "seed": args.seed}
            if task == "split"
            else {}
        ),
    )
    bar.close()
    if args.resume is not None and not args.quiet:
        msg = translator(args.lang).gettext(
            N_("{resumed} of {total} communities resumed from {folder}.")
        )
        total = len(result.community_ids)
        print(
            f"gridplan: {msg.format(resumed=len(result.resumed), total=total, folder=args.resume)}",
            file=sys.stderr,
        )
    return result


def _split_batch(args: argparse.Namespace, loaded: Any, rules: Any, started: float) -> int:
    """Split every oversized community (``may_split``/``must_split``) in one batch, one plan."""
    import json as _json

    from gis.store import write_plan

    progress(args, "proposing splits…")
    bar = progress_bar(args, desc="communities", unit="community")
    result = _batch(args, loaded, rules, None, bar, task="split")
    layers = result.layers()
    if args.out is not None and layers:
        progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = save_to_db(args, layers, rules=rules) if layers else {}
    alternatives = result.alternatives if result.alternatives is not None else None
    communities = []
    for community_id in result.community_ids:
        rows = (
            []
            if alternatives is None
            else alternatives[alternatives["community_id"] == community_id]
        )
        communities.append(
            {
                "community_id": community_id,
                "parts": int(rows["k"].iloc[0]) if len(rows) else None,
                "alternatives": [
                    _json.loads(text) for text in (rows["summary"] if len(rows) else [])
                ],
            }
        )
    errors = result.errors
    payload = {
        "communities": communities,
        "errors": [] if errors is None else errors.to_dict("records"),
        "resumed": len(result.resumed),
        "seconds": round(time.perf_counter() - started, 2),
        "out": None if args.out is None else str(args.out),
        **saved,
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = []
        for community in communities:
            lines.append(str(community["community_id"]))
            for alt in community["alternatives"]:
                sizes = ", ".join(str(p["households"]) for p in alt["parts"])
                lines.append(f"  #{alt['rank']}: {sizes}")
        lines.extend(f"! {e['community_id']}: {e['message']}" for e in payload["errors"])
        lines.append(f"{tr('seconds')}: {payload['seconds']}")
        return "\n".join(lines)

    emit(args, payload, human)
    return 0


def run_split(args: argparse.Namespace) -> int:
    """Propose ranked ways to split an oversized community (or all of them, batched)."""
    from gis.store import write_plan
    from planning.split import propose_splits

    started = time.perf_counter()
    check_destination(args)
    rules = rules_of(args)
    progress(args, "reading layers…")
    loaded = load_input(args, rules=rules)
    project = loaded.project
    if args.community is None and _batched(args) and len(loaded.communities) > 1:
        return _split_batch(args, loaded, rules, started)
    row = find_community(loaded, args.community)
    progress(args, "proposing splits…")
    community = loaded.communities[loaded.communities["community_id"] == row["community_id"]]
    result = propose_splits(
        project.buildings,
        community=community,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
        service_centres=project.service_centres,
        rules=rules,
        parts=args.parts,
        alternatives=args.alternatives,
        seed=args.seed,
        lang=args.lang,
    )
    layers = {"proposals": result.proposals(), "lineage": result.lineage(1)}
    if args.out is not None:
        progress(args, "writing the plan…")
        write_plan(args.out, layers)
    saved = save_to_db(args, layers, rules=rules)
    payload = {
        "community_id": result.community_id,
        "parts": result.k,
        "alternatives": [alt.as_dict() for alt in result.alternatives],
        "seconds": round(time.perf_counter() - started, 2),
        "out": None if args.out is None else str(args.out),
        **saved,
    }
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = []
        for alt in payload["alternatives"]:
            sizes = ", ".join(str(p["households"]) for p in alt["parts"])
            lines.append(f"#{alt['rank']}: {sizes}")
            lines.extend(f"    - {reason}" for reason in alt["reasons"])
        lines.append(f"{tr('seconds')}: {payload['seconds']}")
        if saved:
            lines.append(f"{saved['db']}: {saved['plan_id']} v{saved['version']}")
        return "\n".join(lines)

    emit(args, payload, human)
    return 0
