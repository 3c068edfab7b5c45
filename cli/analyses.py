"""``gridplan access``, ``gridplan overlap`` and ``gridplan growth``: the analyses.

Private to :mod:`cli`. Each reads the project (and a plan or another layer), calls the
library (:mod:`planning.access`, :mod:`planning.overlap`, :mod:`planning.growth`) and prints
the figures of SCHEMA.md "Analyses" with ``--json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from cli._inputs import read_options, rules_of
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


def access_figures(loaded: Any, plan: dict[str, Any] | None) -> Any:
    """Measure walking access of a project, or after the split proposed in ``plan``."""
    from planning.access import access_after_split, access_for

    if plan and "proposals" in plan and len(plan["proposals"]):
        return access_after_split(loaded, plan["proposals"], lineage=plan.get("lineage"))
    return access_for(loaded)


def run_access(args: argparse.Namespace) -> int:
    """Print walking distances to the service centres, per community."""
    from planning.communities import load

    rules = rules_of(args)
    progress(args, N_("reading layers…"))
    loaded = load(args.input, rules=rules, lang=args.lang, **read_options(args))
    plan = _read_plan_layers(args.plan) if args.plan else None
    progress(args, N_("measuring walks along the roads…"))
    result = access_figures(loaded, plan)
    table = result.communities
    notes = result.messages(args.lang)
    if args.out:
        import geopandas as gpd

        from gis.crs import STORAGE_CRS

        buildings = gpd.GeoDataFrame(
            result.buildings,
            geometry=loaded.project.buildings.geometry.to_crs(STORAGE_CRS).values,
            crs=STORAGE_CRS,
        )
        from gis.store import write_plan

        write_plan(
            args.out,
            {"access": table, "access_buildings": buildings, "access_centres": result.centres},
        )
    payload = {
        "communities": _records(table),
        "centres": _records(result.centres.drop(columns="geometry")),
        "notes": notes,
        "written": [str(args.out)] if args.out else [],
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

    rules = rules_of(args)
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
    if args.snap:
        from planning.communities import load
        from planning.overlap import snap_grids

        progress(args, N_("re-making the grids along the other system's boundaries…"))
        loaded = load(args.snap, rules=rules, lang=args.lang, **read_options(args))
        snap = snap_grids(loaded, other, before=grids, other_id=args.other_id, rules=rules)
        payload["snap"] = {
            k: {"before": clean(r["before"]), "after": clean(r["after"])}
            for k, r in snap.cost.iterrows()
        }
        if args.out:
            from gis.store import write_plan

            write_plan(
                args.out, {"grids": snap.result.grids, "grid_members": snap.result.grid_members}
            )
            payload["written"] = [str(args.out)]
        snap_text = "\n" + snap.cost.to_string()
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
    from planning.communities import load
    from planning.growth import project_growth

    rules = rules_of(args)
    progress(args, N_("reading layers…"))
    loaded = load(args.input, rules=rules, lang=args.lang, **read_options(args))
    deliveries = _read_deliveries(args)
    grids = None
    if args.plan:
        grids = _read_plan_layers(args.plan).get("grids")
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
