"""How a grid plan sits on another grid system (多网合一): overlaps, alignment, cuts, snap.

Cities are merging the grids of civil affairs, urban management (城管单元网格), policing and
comprehensive governance into one. Before a grid plan is adopted the planner sees, against
another system's units:

- for each of our grids, the units it overlaps and the share of its area in each, its
  ``max_share`` and whether it is **aligned** (at least ``RuleSet.aligned_share`` of it in one
  unit);
- the share of our grid boundaries that run within ``RuleSet.boundary_tolerance_m`` of the
  other system's boundaries (**boundary coincidence**);
- the other system's units that our grids **cut**, and by how much.

Overlaps smaller than ``RuleSet.overlap_sliver_share`` of a grid are digitising slivers and
are not listed (they still count in ``max_share``'s denominator, the grid's area).

:func:`snap_grids` re-runs the grid engine with the other system's boundaries as block
boundaries (as roads are) and reports what that costs in the 30–50 band and in compactness.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> ours = gpd.GeoDataFrame({"grid_code": ["g1", "g2"]},
...                         geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=3857)
>>> other = gpd.GeoDataFrame({"unit_id": ["U1", "U2"]},
...                          geometry=[box(0, 0, 130, 100), box(130, 0, 260, 100)], crs=3857)
>>> result = grid_overlap(ours, other)
>>> result.grids[["grid_code", "max_share", "aligned"]].values.tolist()
[['g1', 1.0, True], ['g2', 0.7, False]]
>>> result.summary["aligned_share"]
0.5
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import to_metric
from gis.errors import FieldError, GeometryError
from gis.i18n import N_
from planning.partition import polsby_popper
from planning.rules import RuleSet, get_preset

if TYPE_CHECKING:
    from planning.communities import Loaded
    from planning.grids import GridResult

__all__ = ["ID_CANDIDATES", "OverlapResult", "SnapResult", "grid_overlap", "snap_grids"]

ID_CANDIDATES: tuple[str, ...] = (
    "unit_id",
    "grid_code",
    "code",
    "id",
    "网格编码",
    "网格编号",
    "单元编码",
    "单元编号",
    "编码",
    "编号",
    "bm",
    "name",
    "网格名称",
    "名称",
)
"""Columns tried, in order, for the other system's unit ids when none is named."""


@dataclass(frozen=True)
class OverlapResult:
    """Our grids against another system's units.

    Attributes
    ----------
    grids
        One row per grid: ``grid_code``, ``units`` (a list of ``{"id", "share"}``, largest
        first), ``n_units``, ``max_share``, ``main_unit``, ``aligned``,
        ``boundary_coincidence``.
    units
        One row per other unit our grids touch: ``id``, ``covered_m2`` (its area inside our
        grids), ``grids`` (codes holding more than a sliver of it), ``n_grids``,
        ``largest_share`` (of its covered area in one grid), ``cut_share``
        (1 − largest_share), ``cut`` (more than one grid holds a real part of it).
    summary
        ``grids``, ``aligned_share``, ``boundary_coincidence`` (over the plan's grid
        boundaries, each line once), ``units``, ``units_cut``, ``mean_max_share``.
    """

    grids: pd.DataFrame
    units: pd.DataFrame
    summary: dict[str, float]


def _other_ids(other: gpd.GeoDataFrame, other_id: str | None) -> pd.Series:
    if other_id is not None:
        if other_id not in other:
            msg = N_(
                "The other grid layer has no column {column!r} (its columns: {columns}). "
                "Choose the column that holds the unit codes."
            )
            columns = ", ".join(str(c) for c in other.columns if c != other.geometry.name)
            raise FieldError(msg, column=other_id, columns=columns or "none")
        return other[other_id].astype(str)
    lower = {str(c).lower(): c for c in other.columns}
    for name in ID_CANDIDATES:
        column = lower.get(name.lower())
        if column is not None and other[column].notna().all() and other[column].is_unique:
            return other[column].astype(str)
    return pd.Series([f"U{i + 1}" for i in range(len(other))], index=other.index)


def _polygons(frame: gpd.GeoDataFrame, role: str) -> gpd.GeoDataFrame:
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    polygonal = shapely.get_type_id(frame.geometry.values) >= 3
    if not polygonal.any():
        msg = N_(
            "The {role} layer has no polygons, so areas cannot be compared. "
            "Give the grid units as polygons (面)."
        )
        raise GeometryError(msg, role=role)
    frame = frame[polygonal].copy()
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame


def grid_overlap(
    grids: gpd.GeoDataFrame,
    other: gpd.GeoDataFrame,
    *,
    other_id: str | None = None,
    rules: RuleSet | None = None,
) -> OverlapResult:
    """Measure how our grids sit on another grid system's units.

    Parameters
    ----------
    grids
        Our grids (polygons with ``grid_code``; any CRS).
    other
        The other system's units (polygons; any CRS).
    other_id
        The column of ``other`` holding unit codes (found among :data:`ID_CANDIDATES`
        when omitted; numbered ``U1``, ``U2`` … when none fits).
    rules
        ``aligned_share``, ``boundary_tolerance_m`` and ``overlap_sliver_share``.

    Returns
    -------
    OverlapResult
    """
    rules = rules or get_preset()
    ours = _polygons(to_metric(grids), "grids")
    crs = ours.crs
    if other.crs is None:
        other = other.set_crs(grids.crs)
    theirs = _polygons(other.to_crs(crs), "other")
    ids = _other_ids(theirs, other_id).to_numpy(dtype=object)
    codes = (
        ours["grid_code"].astype(str).to_numpy(dtype=object)
        if "grid_code" in ours
        else np.array([f"G{i + 1}" for i in range(len(ours))], dtype=object)
    )
    g = np.asarray(ours.geometry.values, dtype=object)
    o = np.asarray(theirs.geometry.values, dtype=object)
    gi, oi = shapely.STRtree(o).query(g, predicate="intersects")
    inter = shapely.area(shapely.intersection(g[gi], o[oi])) if len(gi) else np.zeros(0)
    garea = shapely.area(g)
    share = np.where(garea[gi] > 0, inter / np.where(garea[gi] > 0, garea[gi], 1), 0.0)
    sliver = rules.overlap_sliver_share
    # boundary coincidence: our boundary within the tolerance of theirs
    tol = rules.boundary_tolerance_m
    near = shapely.buffer(shapely.union_all(shapely.boundary(o)), tol)
    shapely.prepare(near)
    edges = shapely.boundary(g)
    total = shapely.length(edges)
    within = shapely.length(shapely.intersection(edges, near))
    coincide = np.where(total > 0, within / np.where(total > 0, total, 1), 0.0)
    rows = []
    for k in range(len(g)):
        mine = gi == k
        s, u = share[mine], oi[mine]
        order = np.argsort(-s, kind="stable")
        listed = [
            {"id": str(ids[u[j]]), "share": round(float(s[j]), 4)} for j in order if s[j] >= sliver
        ]
        best = float(s.max()) if len(s) else 0.0
        rows.append(
            {
                "grid_code": codes[k],
                "units": listed,
                "n_units": len(listed),
                "max_share": round(best, 4),
                "main_unit": listed[0]["id"] if listed else None,
                "aligned": best >= rules.aligned_share,
                "boundary_coincidence": round(float(coincide[k]), 4),
            }
        )
    per_grid = pd.DataFrame(rows)
    # the other system's units, seen from our grids
    unit_rows = []
    for j in np.unique(oi):
        mine = oi == j
        areas, holders = inter[mine], gi[mine]
        covered = float(areas.sum())
        if covered <= 0:
            continue
        part = areas / covered
        real = part >= sliver
        largest = float(part.max())
        unit_rows.append(
            {
                "id": str(ids[j]),
                "covered_m2": round(covered, 1),
                "grids": [str(codes[h]) for h in holders[real][np.argsort(-part[real])]],
                "n_grids": int(real.sum()),
                "largest_share": round(largest, 4),
                "cut_share": round(1 - largest, 4),
                "cut": bool(real.sum() > 1),
            }
        )
    units = pd.DataFrame(
        unit_rows,
        columns=["id", "covered_m2", "grids", "n_grids", "largest_share", "cut_share", "cut"],
    )
    network = shapely.union_all(edges)  # shared edges once
    net_len = float(shapely.length(network))
    summary = {
        "grids": float(len(per_grid)),
        "aligned_share": round(float(per_grid["aligned"].mean()), 4) if len(per_grid) else 0.0,
        "boundary_coincidence": round(
            float(shapely.length(shapely.intersection(network, near))) / net_len, 4
        )
        if net_len > 0
        else 0.0,
        "mean_max_share": round(float(per_grid["max_share"].mean()), 4) if len(per_grid) else 0.0,
        "units": float(len(units)),
        "units_cut": float(units["cut"].sum()) if len(units) else 0.0,
    }
    return OverlapResult(grids=per_grid, units=units, summary=summary)


@dataclass(frozen=True)
class SnapResult:
    """Grids re-made with another system's boundaries as block boundaries, and the cost.

    Attributes
    ----------
    result
        The new grids (:class:`planning.grids.GridResult`).
    overlap
        The new grids against the other system.
    cost
        One row per measure (``grids``, ``in_band_share``, ``mean_polsby_popper``,
        ``aligned_share``, ``boundary_coincidence``, ``units_cut``); columns ``before``,
        ``after``, ``change``.
    """

    result: GridResult
    overlap: OverlapResult
    cost: pd.DataFrame


def _plan_figures(
    grids: gpd.GeoDataFrame, overlap: OverlapResult, rules: RuleSet
) -> dict[str, Any]:
    hh = pd.to_numeric(grids["households"], errors="coerce")
    in_band = hh.between(rules.grid_min_households, rules.grid_max_households)
    pp = polsby_popper(to_metric(grids).geometry.values)
    return {
        "grids": float(len(grids)),
        "in_band_share": round(float(in_band.mean()), 4) if len(grids) else 0.0,
        "mean_polsby_popper": round(float(np.mean(pp)), 4) if len(grids) else 0.0,
        "aligned_share": overlap.summary["aligned_share"],
        "boundary_coincidence": overlap.summary["boundary_coincidence"],
        "units_cut": overlap.summary["units_cut"],
    }


def snap_grids(
    loaded: Loaded,
    other: gpd.GeoDataFrame,
    *,
    before: gpd.GeoDataFrame,
    other_id: str | None = None,
    rules: RuleSet | None = None,
    community_ids: list[str] | None = None,
    lang: str = "en",
) -> SnapResult:
    """Re-grid with the other system's unit boundaries as barriers, and say what it costs.

    The other system's boundaries bound street blocks exactly as roads and rivers do, so
    no new grid crosses them unless a block could not be divided otherwise.

    Parameters
    ----------
    loaded
        The project (:func:`planning.communities.load`).
    other
        The other system's units (polygons).
    before
        Today's grids (as made by :func:`planning.grids.make_grids`), for the comparison.
    other_id, rules
        As in :func:`grid_overlap`.
    community_ids
        Only these communities; by default those of ``before`` (all communities when
        ``before`` has no ``community_id``), so grids made for one community are snapped
        there and compared with grids of the same communities.
    lang
        Language of the grid reasons.

    Returns
    -------
    SnapResult
    """
    from planning.grids import make_grids

    rules = rules or loaded.rules
    project = loaded.project
    if community_ids is None and "community_id" in before and len(before):
        community_ids = sorted(set(before["community_id"].astype(str)))
    units = _polygons(other if other.crs is not None else other.set_crs(before.crs), "other")
    lines = gpd.GeoDataFrame(
        {"name": "other_system"},
        index=range(len(units)),
        geometry=shapely.boundary(units.geometry.values),
        crs=units.crs,
    ).explode(ignore_index=True)
    water = project.waterways
    waterways = (
        lines
        if water is None or water.empty
        else gpd.GeoDataFrame(
            pd.concat([water.to_crs(lines.crs)[["geometry"]], lines[["geometry"]]]),
            crs=lines.crs,
        )
    )
    communities = loaded.communities
    result = make_grids(
        project.buildings,
        communities=communities,
        roads=project.roads,
        waterways=waterways,
        barriers=project.barriers,
        compounds=project.compounds,
        landuse=project.landuse,
        rules=rules,
        community_ids=community_ids,
        lang=lang,
    )
    if community_ids is not None:
        wanted = {str(c) for c in community_ids}
        before = before[before["community_id"].astype(str).isin(wanted)]
    old = grid_overlap(before, other, other_id=other_id, rules=rules)
    new = grid_overlap(result.grids, other, other_id=other_id, rules=rules)
    b, a = _plan_figures(before, old, rules), _plan_figures(result.grids, new, rules)
    cost = pd.DataFrame({"before": pd.Series(b), "after": pd.Series(a)})
    cost["change"] = (cost["after"] - cost["before"]).round(4)
    cost.index.name = "measure"
    return SnapResult(result=result, overlap=new, cost=cost)
