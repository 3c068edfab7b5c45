"""Before and after: the service ratios planners compare when a community is split.

:func:`compare_plans` turns two community tables (before and after) into the ratio table:
households and residents per worker, required versus actual staff, special-service
households per worker, grids per community (household grids, and dedicated grids 专属网格
without households apart) and households per grid, and the household
distance to the service centre (straight, and walking along the roads with the shares within
the 5-, 10- and 15-minute life circles when :mod:`planning.access` measured them) — for the
whole area and per community.

Examples
--------
>>> import pandas as pd
>>> before = pd.DataFrame({"community_id": ["A"], "households": [9_000], "residents": [23_000],
...                        "staff": [12], "special_service_households": [270]})
>>> after = pd.DataFrame({"community_id": ["A-1", "A-2"], "households": [4_500, 4_500],
...                       "residents": [11_500, 11_500], "staff": [18, 18],
...                       "special_service_households": [135, 135]})
>>> table = compare_plans(before, after)
>>> table.loc["households_per_worker", ["before", "after"]].tolist()
[750.0, 250.0]
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.fields import numeric_column
from planning.rules import RuleSet, get_preset

__all__ = [
    "METRICS",
    "WALK_COLUMNS",
    "communities_after_split",
    "compare_plans",
    "mean_distance_to_centres",
    "ratios",
]

METRICS: tuple[str, ...] = (
    "communities",
    "households",
    "residents",
    "staff",
    "required_staff",
    "shortfall",
    "households_per_worker",
    "residents_per_worker",
    "special_service_per_worker",
    "largest_community_households",
    "grids",
    "dedicated_grids",
    "households_per_grid",
    "mean_distance_m",
    "mean_walk_m",
    "share_within_5min",
    "share_within_10min",
    "share_within_15min",
)
WALK_COLUMNS: tuple[str, ...] = (
    "mean_walk_m",
    "share_within_5min",
    "share_within_10min",
    "share_within_15min",
)
"""Walking figures (:mod:`planning.access`) compared when the community tables carry them."""


def ratios(communities: pd.DataFrame, *, rules: RuleSet | None = None) -> pd.DataFrame:
    """Per-community ratios (one row per community, same index)."""
    rules = rules or get_preset()
    c = communities
    households = pd.to_numeric(c["households"]).astype(float)
    staff = numeric_column(c, "staff")
    residents = numeric_column(c, "residents")
    special = numeric_column(c, "special_service_households")
    grids = numeric_column(c, "grids")
    required = np.ceil(households / rules.households_per_worker)
    workers = staff.where(staff > 0)
    out = pd.DataFrame(index=c.index)
    out["community_id"] = c["community_id"] if "community_id" in c else c.index.astype(str)
    out["households"] = households
    out["residents"] = residents
    out["staff"] = staff
    out["required_staff"] = required
    out["shortfall"] = (required - staff).clip(lower=0)
    out["households_per_worker"] = (households / workers).round(1)
    out["residents_per_worker"] = (residents / workers).round(1)
    out["special_service_per_worker"] = (special / workers).round(2)
    out["grids"] = grids
    out["dedicated_grids"] = numeric_column(c, "dedicated_grids")
    out["households_per_grid"] = (households / grids.where(grids > 0)).round(1)
    out["mean_distance_m"] = (
        pd.to_numeric(c["mean_distance_m"], errors="coerce") if "mean_distance_m" in c else np.nan
    )
    for column in WALK_COLUMNS:
        out[column] = pd.to_numeric(c[column], errors="coerce") if column in c else np.nan
    return out


def _whole(r: pd.DataFrame) -> dict[str, float]:
    def total(column: str) -> float:
        values = r[column]
        return float(values.sum()) if values.notna().any() else math.nan

    staff = total("staff")
    grids = total("grids")
    distance = math.nan
    if r["mean_distance_m"].notna().any():
        w = r["households"].where(r["mean_distance_m"].notna(), 0)
        distance = float((r["mean_distance_m"].fillna(0) * w).sum() / max(w.sum(), 1))
    walking = {}
    for column in WALK_COLUMNS:  # household-weighted over the communities measured
        known = r[column].notna() & (r["households"] > 0)
        w = r["households"].where(known, 0)
        walking[column] = (
            round(float((r[column].fillna(0) * w).sum() / w.sum()), 4 if "share" in column else 1)
            if w.sum() > 0
            else math.nan
        )
    return {
        **walking,
        "communities": float(len(r)),
        "households": total("households"),
        "residents": total("residents"),
        "staff": staff,
        "required_staff": total("required_staff"),
        "shortfall": total("shortfall"),
        "households_per_worker": round(total("households") / staff, 1)
        if staff and staff > 0
        else math.nan,
        "residents_per_worker": round(total("residents") / staff, 1)
        if staff and staff > 0
        else math.nan,
        "special_service_per_worker": math.nan,
        "largest_community_households": float(r["households"].max()) if len(r) else math.nan,
        "grids": grids,
        "dedicated_grids": total("dedicated_grids"),
        "households_per_grid": round(total("households") / grids, 1)
        if grids and grids > 0
        else math.nan,
        "mean_distance_m": round(distance, 1) if not math.isnan(distance) else math.nan,
    }


def compare_plans(
    before: pd.DataFrame, after: pd.DataFrame, *, rules: RuleSet | None = None
) -> pd.DataFrame:
    """Return the whole-area ratio table: one row per metric, columns before, after, change.

    Parameters
    ----------
    before, after
        Community tables with ``households`` and, where known, ``residents``, ``staff``,
        ``special_service_households``, ``grids`` (household grids), ``dedicated_grids``
        (专属网格, no households), ``mean_distance_m`` and the walking
        figures of :data:`WALK_COLUMNS`.
    rules
        For the required staff.
    """
    rules = rules or get_preset()
    rb, ra = ratios(before, rules=rules), ratios(after, rules=rules)
    wb, wa = _whole(rb), _whole(ra)
    for whole, frame, source in ((wb, rb, before), (wa, ra, after)):
        staff = whole["staff"]
        if "special_service_households" in source and staff and staff > 0:
            whole["special_service_per_worker"] = round(
                float(source["special_service_households"].sum()) / staff, 2
            )
        del frame
    table = pd.DataFrame({"before": pd.Series(wb), "after": pd.Series(wa)}).reindex(list(METRICS))
    table["change"] = table["after"] - table["before"]
    table.index.name = "metric"
    return table


def communities_after_split(
    before: pd.DataFrame,
    parts: pd.DataFrame,
    *,
    parent_id: str,
) -> pd.DataFrame:
    """The community table after replacing ``parent_id`` by its new ``parts``.

    The parent's current staff are shared among the parts in proportion to households
    (nobody is hired by a split); special-service households come with the parts.
    """
    parent = before[before["community_id"].astype(str) == str(parent_id)]
    rest = before[before["community_id"].astype(str) != str(parent_id)]
    new = parts.copy()
    new["community_id"] = [f"{parent_id}-{int(p)}" for p in new["part"]]
    staff = pd.to_numeric(parent["staff"], errors="coerce").sum() if "staff" in parent else math.nan
    if staff and not math.isnan(staff) and new["households"].sum() > 0:
        share = new["households"] / new["households"].sum() * staff
        base = np.floor(share).astype(int)
        remainder = int(round(staff)) - int(base.sum())
        order = np.argsort(-(share - base).to_numpy(), kind="stable")
        base.iloc[order[:remainder]] += 1
        new["staff"] = base.to_numpy()
    keep = [
        c
        for c in (
            "community_id",
            "households",
            "residents",
            "staff",
            "special_service_households",
            "grids",
            "mean_distance_m",
            *WALK_COLUMNS,
        )
        if c in new.columns
    ]
    return pd.concat([rest, new[keep]], ignore_index=True)


def mean_distance_to_centres(
    buildings: gpd.GeoDataFrame, centres: gpd.GeoDataFrame, *, by: str = "community_id"
) -> pd.Series:
    """Household-weighted mean distance (m) from buildings to their own community's centre.

    A building whose community has no centre is measured to the nearest centre.
    """
    from gis.crs import to_metric

    b = to_metric(buildings)
    c = centres.to_crs(b.crs)
    # plain object arrays: a GeometryArray cannot be indexed [:, None] to broadcast
    points = np.asarray(b.geometry.representative_point().values, dtype=object)
    geoms = np.asarray(c.geometry.values, dtype=object)
    nearest = (
        shapely.distance(points[:, None], geoms[None, :]).min(axis=1)
        if len(geoms)
        else np.full(len(b), np.nan)
    )
    own = pd.Series(nearest, index=b.index)
    if by in c and by in b:
        for community, group in b.groupby(by):
            mine = geoms[c[by].astype(str).to_numpy() == str(community)]
            if len(mine):
                pts = np.asarray(group.geometry.representative_point().values, dtype=object)
                own.loc[group.index] = shapely.distance(pts[:, None], mine[None, :]).min(axis=1)
    w = b["households"].astype(float)
    frame = pd.DataFrame({"d": own * w, "w": w, "key": b[by] if by in b else "all"})
    sums = frame.groupby("key")[["d", "w"]].sum()
    return (sums["d"] / sums["w"].replace(0, np.nan)).round(1)
