"""Start from the grids a city already has: import a hand-drawn grid layer and audit it.

Most communities already have a grid layer, drawn by hand years ago. :func:`import_grids`
takes it (any format the readers take; codes, names, workers and phones under their usual
Chinese or English field names), gives each building to the grid holding most of its
footprint, and returns a :class:`planning.edit.GridPlan` that can be edited
(:mod:`planning.edit`) or re-run keeping the codes of grids that barely change
(:func:`planning.edit.regrid`). :func:`audit_grids` says what breaks the rules, each with
its reason:

==================  ===============================================================
``out_of_band``     households outside the band (30–50 by default)
``pieces``          a grid in several pieces
``overlap``         two grids covering the same land
``gap``             community land no grid covers
``cuts_building``   a grid boundary through a building the rules keep whole
``outside``         a grid (or its part) outside every community
``no_code``         a grid without a code, or with a code used twice
==================  ===============================================================

Examples
--------
>>> from gis.datasets.synthetic import make_district
>>> from planning.grids import make_grids
>>> layers = make_district(1_500, seed=2)
>>> drawn = make_grids(layers["buildings"], communities=layers["communities"],
...                    roads=layers["roads"]).grids[["grid_code", "geometry"]]
>>> plan, problems = import_grids(drawn, buildings=layers["buildings"],
...                               communities=layers["communities"])
>>> int(plan.grids["households"].sum()) == int(layers["buildings"]["households"].sum())
True
>>> sorted(set(problems["kind"]) - {"out_of_band", "cuts_building"})
[]
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import STORAGE_CRS, to_metric
from gis.errors import FieldError
from gis.i18n import N_, translator
from planning.edit import GridPlan, patch_text
from planning.rules import RuleSet, get_preset

__all__ = ["AUDIT_KINDS", "FIELD_ALIASES", "audit_grids", "import_grids"]

AUDIT_KINDS: tuple[str, ...] = (
    "out_of_band",
    "pieces",
    "overlap",
    "gap",
    "cuts_building",
    "outside",
    "no_code",
)
"""What :func:`audit_grids` reports (the ``kind`` column)."""

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "grid_code": ("grid_code", "code", "网格编码", "网格代码", "网格编号", "编码", "编号"),
    "name": ("name", "grid_name", "网格名称", "名称"),
    "worker": ("worker", "网格员", "网格长", "负责人"),
    "phone": ("phone", "tel", "联系电话", "电话", "手机"),
}
"""A grid layer's usual field names (Chinese or English) for each column gridplan keeps."""

_MIN_AREA_M2 = 1.0  # overlaps and gaps smaller than this are drawing noise, not a problem
_CUT_SHARE = 0.05  # a building is cut when at least this share of its footprint is elsewhere


def _rename(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    lower = {str(c).strip().lower(): c for c in frame.columns}
    renames = {}
    for column, names in FIELD_ALIASES.items():
        if column in frame:
            continue
        for name in names:
            if name.lower() in lower:
                renames[lower[name.lower()]] = column
                break
    return frame.rename(columns=renames)


def _codes(grids: gpd.GeoDataFrame, community_of: np.ndarray, ids: np.ndarray) -> list[str]:
    """Codes for grids that have none: community + sequence, north→south, west→east."""
    cent = to_metric(grids).geometry.centroid
    out = grids["grid_code"].astype(object).where(grids["grid_code"].notna(), None).tolist()
    used = {str(c) for c in out if c}
    for community in np.unique(community_of):
        rows = np.flatnonzero(community_of == community)
        prefix = (str(ids[community]) if community >= 0 else "0" * 12)[:12].ljust(12, "0")
        taken = [int(c[12:]) for c in used if c[:12] == prefix and c[12:].isdigit()]
        seq = max(taken, default=0)
        order = rows[np.lexsort((cent.x.values[rows], -np.round(cent.y.values[rows], 0)))]
        for i in order:
            if not out[i]:
                seq += 1
                out[i] = f"{prefix}{seq:03d}"
    return [str(c) for c in out]


def import_grids(
    grids: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    rules: RuleSet | None = None,
    lang: str = "en",
) -> tuple[GridPlan, pd.DataFrame]:
    """Read an existing grid layer into a plan, and audit it.

    Parameters
    ----------
    grids
        The planner's grid polygons (any CRS); codes, names, workers and phones are found
        under :data:`FIELD_ALIASES`. Grids without a code are numbered after the highest
        code of their community.
    buildings
        Buildings with ``building_id`` and ``households``.
    communities
        Community polygons with ``community_id``.
    rules
        The band the grids are judged by.
    lang
        Language of the audit's reasons.

    Returns
    -------
    (GridPlan, pandas.DataFrame)
        The plan (each building whole in the grid holding most of its footprint) and
        :func:`audit_grids`'s table.
    """
    rules = rules or get_preset()
    if grids.crs is None:
        msg = N_("The grid layer has no coordinate reference system. Declare it (e.g. EPSG:4490).")
        raise FieldError(msg)
    frame = _rename(grids.to_crs(STORAGE_CRS)).reset_index(drop=True)
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()].reset_index(drop=True)
    frame["_row"] = np.arange(len(frame))
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    frame = frame.set_geometry("geometry")
    if "grid_code" not in frame:
        frame["grid_code"] = None
    frame["grid_code"] = [
        None if pd.isna(c) or not str(c).strip() else str(c).strip().split(".")[0]
        for c in frame["grid_code"]
    ]
    original_codes = frame["grid_code"].copy()
    duplicated = frame["grid_code"].notna() & frame["grid_code"].duplicated(keep="first")
    frame.loc[duplicated, "grid_code"] = None
    comms = communities.to_crs(STORAGE_CRS).reset_index(drop=True)
    ids = comms["community_id"].astype(str).to_numpy()
    points = frame.geometry.representative_point()
    community_of = np.full(len(frame), -1)
    left, right = comms.sindex.query(points.values, predicate="within")
    community_of[left] = right
    frame["community_id"] = [ids[c] if c >= 0 else None for c in community_of]
    frame["grid_code"] = _codes(frame, community_of, ids)
    buildings = buildings.to_crs(STORAGE_CRS).reset_index(drop=True)
    if "building_id" not in buildings:
        buildings["building_id"] = [f"B{i + 1:06d}" for i in range(len(buildings))]
    buildings["building_id"] = buildings["building_id"].astype(str)
    hh = pd.to_numeric(buildings["households"], errors="coerce").fillna(0).astype(int)
    members = _members(buildings, frame, hh.to_numpy(), rules.grid_max_households)
    per_grid = members.groupby("grid_code")["households"].sum()
    frame["households"] = per_grid.reindex(frame["grid_code"]).fillna(0).astype(int).to_numpy()
    frame["n_buildings"] = (
        members.groupby("grid_code")["building_id"].nunique().reindex(frame["grid_code"])
        .fillna(0).astype(int).to_numpy()
    )
    low, high = rules.grid_min_households, rules.grid_max_households
    frame["status"] = np.where(frame["households"].between(low, high), "ok", "out_of_range")
    frame["reason"] = ""
    frame["kind"] = frame.get("kind", "residential")
    frame["patch_id"] = patch_text(frame["patch_id"] if "patch_id" in frame else None, len(frame))
    for column in ("name", "worker", "phone", "note"):
        frame[column] = frame[column].fillna("").astype(str) if column in frame else ""
    frame["locked"] = False
    keep = [
        "grid_code", "community_id", "households", "n_buildings", "status", "reason", "kind",
        "patch_id", "name", "worker", "phone", "note", "locked", "geometry",
    ]
    codes_by_row = dict(zip(frame["_row"], frame["grid_code"], strict=True))
    frame = frame[keep].sort_values("grid_code").reset_index(drop=True)
    plan = GridPlan(
        grids=gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS),
        grid_members=members,
        buildings=buildings,
        communities=comms,
        rules=rules,
    )
    problems = audit_grids(
        plan, lang=lang, original_codes=original_codes, codes_now=codes_by_row
    )
    return plan, problems


def _members(
    buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, households: np.ndarray, high: int
) -> pd.DataFrame:
    """Each building whole in the grid holding most of its footprint; a building of more
    than ``high`` households drawn across grids is shared by footprint area (its units are
    not known)."""
    left, right = grids.sindex.query(buildings.geometry.values, predicate="intersects")
    shared = shapely.area(
        shapely.intersection(buildings.geometry.values[left], grids.geometry.values[right])
    )
    table = pd.DataFrame({"b": left, "g": right, "a": shared})
    table = table[table["a"] > 0]
    total = shapely.area(buildings.geometry.values)
    rows = []
    codes = grids["grid_code"].to_numpy()
    ids = buildings["building_id"].to_numpy()
    for b, part in table.groupby("b"):
        n = int(households[b])
        if n <= 0:
            continue
        part = part[part["a"] >= _CUT_SHARE * max(total[b], 1e-30)]
        if len(part) > 1 and n > high:
            weights = part["a"].to_numpy(dtype=float)
            counts = np.floor(n * weights / weights.sum()).astype(int)
            counts[np.argsort(-(n * weights / weights.sum() - counts))[: n - counts.sum()]] += 1
            rows += [(codes[g], ids[b], c) for g, c in zip(part["g"], counts, strict=True) if c > 0]
        elif len(part):
            rows.append((codes[int(part.sort_values("a")["g"].iloc[-1])], ids[b], n))
    members = pd.DataFrame(rows, columns=["grid_code", "building_id", "households"])
    for column in ("unit_from", "unit_to", "floor_from", "floor_to"):
        members[column] = pd.array([None] * len(members), dtype="Int64")
    columns = ["grid_code", "building_id", "unit_from", "unit_to", "floor_from", "floor_to",
               "households"]
    return members[columns]


def audit_grids(
    plan: GridPlan,
    *,
    lang: str = "en",
    original_codes: pd.Series | None = None,
    codes_now: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Check a plan's grids against the rules; one row per problem, with its reason.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (:data:`AUDIT_KINDS`), ``grid_code`` (``None`` for a gap), ``other`` (the
        other grid or the building concerned), ``households``, ``area_m2`` and ``reason``
        (in ``lang``).
    """
    tr = translator(lang).gettext
    rules = plan.rules
    low, high = rules.grid_min_households, rules.grid_max_households
    grids = to_metric(plan.grids).reset_index(drop=True)
    crs = grids.crs
    rows: list[dict[str, Any]] = []

    def add(kind: str, code: Any, reason: str, *, other: Any = None, households: Any = None,
            area: float | None = None) -> None:
        rows.append({"kind": kind, "grid_code": code, "other": other, "households": households,
                     "area_m2": None if area is None else round(float(area), 1),
                     "reason": reason})

    for row in grids.itertuples():
        hh = int(row.households)
        if not low <= hh <= high:
            add("out_of_band", row.grid_code, tr(
                N_("{n} households, outside the band of {low}–{high}")
            ).format(n=hh, low=low, high=high), households=hh)
        parts = shapely.get_parts(row.geometry)
        big = [p for p in parts if p.area >= _MIN_AREA_M2]
        if len(big) > 1:
            add("pieces", row.grid_code, tr(
                N_("in {n} separate pieces; a grid must be one piece (join them or give each its own code)")
            ).format(n=len(big)), area=sum(p.area for p in big[1:]))
    if original_codes is not None:
        blank = original_codes.isna()
        dup = original_codes.notna() & original_codes.duplicated(keep="first")
        for i in np.flatnonzero((blank | dup).to_numpy()):
            code = (codes_now or {}).get(int(i))
            msg = (
                N_("had no code; numbered {code} after the highest code of its community")
                if blank.iloc[i]
                else N_("its code {old} was used twice; numbered {code} instead")
            )
            add("no_code", code, tr(msg).format(code=code, old=original_codes.iloc[i]))
    geoms = grids.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pair = left < right
    for a, b in zip(left[pair], right[pair], strict=True):
        area = shapely.area(shapely.intersection(geoms[a], geoms[b]))
        if area >= _MIN_AREA_M2:
            add("overlap", grids["grid_code"].iloc[a], tr(
                N_("overlaps grid {other} by {area} m²; land must belong to one grid")
            ).format(other=grids["grid_code"].iloc[b], area=round(float(area))),
                other=grids["grid_code"].iloc[b], area=area)
    communities = plan.communities.to_crs(crs) if plan.communities is not None else None
    union = shapely.union_all(geoms)
    if communities is not None and len(communities):
        area_all = shapely.union_all(communities.geometry.values)
        for gap in shapely.get_parts(shapely.difference(area_all, union)):
            if gap.area >= _MIN_AREA_M2:
                # the grid it borders longest (the one drawn short of its edge); the
                # nearest one when it borders none
                edge = shapely.boundary(gap)
                close = tree.query(gap, predicate="dwithin", distance=0.05)
                shared = shapely.length(
                    shapely.intersection(edge, shapely.buffer(geoms[close], 0.05))
                )
                if len(close) and shared.max() > 0:
                    nearest = int(close[int(np.argmax(shared))])
                else:
                    nearest = int(np.argmin(shapely.distance(geoms, gap.representative_point())))
                near = grids["grid_code"].iloc[nearest]
                add("gap", None, tr(
                    N_("{area} m² of the community is in no grid (near grid {near}); coverage must be seamless")
                ).format(area=round(gap.area), near=near), other=near, area=gap.area)
        for i, geom in enumerate(geoms):
            outside = shapely.difference(geom, area_all)
            if outside.area >= max(_MIN_AREA_M2, 0.01 * geom.area):
                add("outside", grids["grid_code"].iloc[i], tr(
                    N_("{area} m² of it lies outside every community")
                ).format(area=round(outside.area)), area=outside.area)
    buildings = plan.buildings.to_crs(crs)
    hh = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
    b_idx, g_idx = grids.sindex.query(buildings.geometry.values, predicate="intersects")
    if len(b_idx):
        inside = shapely.area(shapely.intersection(buildings.geometry.values[b_idx], geoms[g_idx]))
        share = inside / np.maximum(shapely.area(buildings.geometry.values[b_idx]), 1e-9)
        table = pd.DataFrame({"b": b_idx, "g": g_idx, "share": share})
        table = table[table["share"] >= _CUT_SHARE]
        for b, part in table.groupby("b"):
            if len(part) < 2:
                continue
            n = int(hh.iloc[b])
            if n > high:
                continue  # a tower may be divided between grids by unit and floor
            codes = [str(grids["grid_code"].iloc[g]) for g in part["g"]]
            add("cuts_building", codes[0], tr(
                N_("cuts building {building} ({n} households, never divided) with grid {other}; "
                   "give the whole building to one grid")
            ).format(building=buildings["building_id"].iloc[b], n=n, other=", ".join(codes[1:])),
                other=str(buildings["building_id"].iloc[b]), households=n)
    out = pd.DataFrame(rows, columns=["kind", "grid_code", "other", "households", "area_m2", "reason"])
    order = {k: i for i, k in enumerate(AUDIT_KINDS)}
    return out.sort_values(["kind", "grid_code"], key=lambda s: s.map(order) if s.name == "kind" else s,
                           na_position="last").reset_index(drop=True)
