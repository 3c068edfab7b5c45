"""``gridplan access``, ``gridplan overlap`` and ``gridplan growth``: the analyses.

Private to :mod:`cli`. Each reads the project (and a plan or another layer), calls the
library (:mod:`planning.access`, :mod:`planning.overlap`, :mod:`planning.growth`) and prints
the figures of SCHEMA.md "Analyses" with ``--json``. With ``--project NAME`` each reads the
project's current layers (its grids, for ``overlap`` and ``growth``) instead of files and
saves what it found in the project as a new version (``access``, ``access_buildings`` and
``access_centres``; ``grid_overlap``, and the snapped ``grids`` with ``--snap``;
``growth``), as ``check``, ``grids`` and ``split`` do.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from cli._inputs import load_input, open_project, read_options, rules_of, save_to_db
from cli._output import clean, display_width, emit, progress
from gis.errors import GridplanError, LayerReadError
from gis.i18n import N_, translator

__all__ = ["access_figures", "run_access", "run_growth", "run_overlap"]

ACCESS_LABELS: tuple[str, ...] = (
    N_("community_id"),
    N_("centre_source"),
    N_("mean_walk_m"),
    N_("p90_walk_m"),
    N_("share_within_5min"),
    N_("share_within_10min"),
    N_("share_within_15min"),
    N_("straight_mean_m"),
    N_("given"),
    N_("recommended"),
    N_("none"),
)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _cell(value: Any, tr: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
    return tr(value) if isinstance(value, str) else str(value)


def _table(frame: pd.DataFrame, columns: list[str], lang: str) -> str:
    """Return a plain text table, CJK-aware, with translated headers."""
    tr = translator(lang).gettext
    cells = [[tr(c) for c in columns]]
    cells += [[_cell(v, tr) for v in row] for row in frame[columns].itertuples(index=False)]
    widths = [max(display_width(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=True))
        for r in cells
    )


def _read_plan_layers(path: Path) -> dict[str, Any]:
    from gis.store import read_plan

    if not str(path).lower().endswith(".gpkg"):
        msg = N_("The plan {file} is not a GeoPackage. Give the plan written by gridplan (.gpkg).")
        raise LayerReadError(msg, file=str(path))
    return read_plan(path)


def _one_source(args: argparse.Namespace, given: Any, what: str) -> None:
    """Refuse INPUT and ``--project`` together, or neither (say which to give)."""
    if given is not None and args.project:
        msg = N_("Give {what} or --project NAME, not both.")
        raise GridplanError(msg, what=what)
    if given is None and not args.project:
        msg = N_("Say what to read: {what} or a project (--project NAME).")
        raise GridplanError(msg, what=what)


def _project_grids(args: argparse.Namespace) -> Any:
    """The current grids of ``--project`` (an error that says how to make them if none)."""
    with open_project(args) as project:
        grids = (
            project.load(layers=["grids"]).get("grids")
            if "grids" in project.layer_names()
            else None
        )
    if grids is None or not len(grids):
        msg = N_(
            "The project {project} has no grids yet. Make them first: gridplan grids "
            "--project {project}."
        )
        raise GridplanError(msg, project=args.project)
    return grids


def access_figures(loaded: Any, plan: dict[str, Any] | None) -> Any:
    """Measure walking access of a project, or after the split proposed in ``plan``."""
    from planning.access import access_after_split, access_for

    if plan and "proposals" in plan and len(plan["proposals"]):
        return access_after_split(loaded, plan["proposals"], lineage=plan.get("lineage"))
    return access_for(loaded)


def run_access(args: argparse.Namespace) -> int:
    """Print walking distances to the service centres, per community."""
    _one_source(args, args.input, "INPUT")
    rules = rules_of(args)
    progress(args, N_("reading layers…"))
    loaded = load_input(args, rules=rules)
    plan = _read_plan_layers(args.plan) if args.plan else None
    progress(args, N_("measuring walks along the roads…"))
    result = access_figures(loaded, plan)
    table = result.communities
    notes = result.messages(args.lang)
    layers: dict[str, Any] = {}
    if args.out or args.project:
        import geopandas as gpd

        from gis.crs import STORAGE_CRS

        buildings = gpd.GeoDataFrame(
            result.buildings,
            geometry=loaded.project.buildings.geometry.to_crs(STORAGE_CRS).values,
            crs=STORAGE_CRS,
        )
        layers = {"access": table, "access_buildings": buildings, "access_centres": result.centres}
    if args.out:
        from gis.store import write_plan

        write_plan(args.out, layers)
    saved = save_to_db(args, layers, rules=rules) if args.project else {}
    payload = {
        "communities": _records(table),
        "centres": _records(result.centres.drop(columns="geometry")),
        "notes": notes,
        "written": [str(args.out)] if args.out else [],
        **saved,
    }

    def human() -> str:
        columns = [
            "community_id",
            "households",
            "centre_source",
            "mean_walk_m",
            "p90_walk_m",
            "share_within_5min",
            "share_within_10min",
            "share_within_15min",
        ]
        return "\n".join([_table(table, columns, args.lang), *notes])

    emit(args, payload, human)
    return 0


def _read_other(args: argparse.Namespace) -> Any:
    from gis.io import read_layer

    other, _, _ = read_layer(
        args.other, layer=args.other_layer, role="other_grids", **read_options(args)
    )
    return other


def run_overlap(args: argparse.Namespace) -> int:
    """Print how the plan's grids sit on another grid system; optionally snap to it."""
    from planning.overlap import grid_overlap

    _one_source(args, args.plan, "PLAN")
    rules = rules_of(args)
    if args.project:
        grids = _project_grids(args)
    else:
        plan = _read_plan_layers(args.plan)
        if "grids" not in plan or not len(plan["grids"]):
            msg = N_("The plan {file} has no grids. Make them first with gridplan grids.")
            raise GridplanError(msg, file=str(args.plan))
        grids = plan["grids"]
    progress(args, N_("reading layers…"))
    other = _read_other(args)
    result = grid_overlap(grids, other, other_id=args.other_id, rules=rules)
    summary = result.summary
    payload: dict[str, Any] = {
        "grids": _records(result.grids[["grid_code", "units", "max_share", "aligned"]]),
        "aligned_share": summary["aligned_share"],
        "boundary_coincidence": summary["boundary_coincidence"],
        "mean_max_share": summary["mean_max_share"],
        "units_touched": int(summary["units"]),
        "units_cut": _records(
            result.units[result.units["cut"]][["id", "n_grids", "largest_share", "cut_share"]]
        ),
    }
    snap_text = ""
    saving: dict[str, Any] = {"grid_overlap": _overlap_table(result.grids)}
    if args.snap is not None:
        from planning.communities import load
        from planning.overlap import snap_grids

        progress(args, N_("re-making the grids along the other system's boundaries…"))
        if args.project and args.snap == Path():
            loaded = load_input(args, rules=rules)
        elif args.snap == Path():
            msg = N_("Name the project's layers to snap: --snap INPUT (or use --project NAME).")
            raise GridplanError(msg)
        else:
            loaded = load(args.snap, rules=rules, lang=args.lang, **read_options(args))
        snap = snap_grids(loaded, other, before=grids, other_id=args.other_id, rules=rules)
        payload["snap"] = {
            k: {"before": clean(r["before"]), "after": clean(r["after"])}
            for k, r in snap.cost.iterrows()
        }
        saving.update({"grids": snap.result.grids, "grid_members": snap.result.grid_members})
        if args.out:
            from gis.store import write_plan

            write_plan(
                args.out, {"grids": snap.result.grids, "grid_members": snap.result.grid_members}
            )
            payload["written"] = [str(args.out)]
        snap_text = "\n" + snap.cost.to_string()
    if args.project:
        payload.update(save_to_db(args, saving, rules=rules))
    tr = translator(args.lang).gettext

    def human() -> str:
        s = result.summary
        lines = [
            tr(N_("grids aligned with the other system: {share:.0%}")).format(
                share=s["aligned_share"]
            ),
            tr(N_("grid boundary on the other system's boundaries: {share:.0%}")).format(
                share=s["boundary_coincidence"]
            ),
            tr(N_("other units cut by our grids: {n} of {total}")).format(
                n=int(s["units_cut"]), total=int(s["units"])
            ),
        ]
        return "\n".join(lines) + snap_text

    emit(args, payload, human)
    return 0


def _overlap_table(grids: pd.DataFrame) -> pd.DataFrame:
    """The overlap per grid as a plain table a project can keep (units as JSON text)."""
    import json

    table = pd.DataFrame(grids[["grid_code", "max_share", "aligned"]]).copy()
    def plain(value: Any) -> Any:
        return value.item() if hasattr(value, "item") else str(value)

    table["units"] = [json.dumps(u, ensure_ascii=False, default=plain) for u in grids["units"]]
    return table


def _read_deliveries(args: argparse.Namespace) -> Any:
    from gis.io import TABLE_SUFFIXES, read_layer, read_table

    path = Path(args.deliveries)
    if path.suffix.lower() in TABLE_SUFFIXES:
        return read_table(path)
    frame, _, _ = read_layer(
        path, layer=args.deliveries_layer, role="deliveries", **read_options(args)
    )
    return frame


def run_growth(args: argparse.Namespace) -> int:
    """Print each community's households, status and staff per year as housing is delivered."""
    from planning.growth import project_growth

    _one_source(args, args.input, "INPUT")
    rules = rules_of(args)
    progress(args, N_("reading layers…"))
    loaded = load_input(args, rules=rules)
    deliveries = _read_deliveries(args)
    grids = None
    if args.plan:
        grids = _read_plan_layers(args.plan).get("grids")
    elif args.project:
        with open_project(args) as project:
            if "grids" in project.layer_names():
                grids = project.load(layers=["grids"]).get("grids")
    result = project_growth(
        loaded.communities,
        deliveries,
        grids=grids,
        rules=rules,
        base_year=args.base_year,
        lang=args.lang,
    )
    columns = ["community_id", "households", "status", "required_staff"]
    payload: dict[str, Any] = {
        "years": [
            {"year": year, "communities": _records(result.year(year)[columns])}
            for year in result.years
        ],
        "first_crossing": result.first_crossing,
        "notes": result.messages(args.lang),
    }
    if result.grids is not None:
        over = result.grids[result.grids["overflow_year"].notna()]
        payload["grids_overflowing"] = _records(over)
    if args.project:
        saving = {"growth": pd.DataFrame(result.table)}
        if result.grids is not None:
            saving["growth_grids"] = pd.DataFrame(result.grids)
        payload.update(save_to_db(args, saving, rules=rules))
    tr = translator(args.lang).gettext

    def human() -> str:
        lines = []
        for year in result.years:
            lines.append(str(year))
            lines.append(_table(result.year(year), columns, args.lang))
        for cid, year in result.first_crossing.items():
            if year is not None:
                lines.append(
                    tr(N_("{community} may be split from {year}")).format(community=cid, year=year)
                )
        if result.grids is not None:
            n = int(result.grids["overflow_year"].notna().sum())
            lines.append(tr(N_("grids that will exceed the band: {n}")).format(n=n))
        return "\n".join([*lines, *result.messages(args.lang)])

    emit(args, payload, human)
    return 0
