"""Growth ahead: planned and delivering housing added to today's households, year by year.

A deliveries layer (buildings or points of new housing with ``households`` and ``year``;
aliases 交付年份, 预计交付; ``community_id`` if known, otherwise found by location) is
added to each community year by year. For every year the planner sees each community's
households, status and required staff, the first year each becomes ``may_split``, and the
grids of today's plan that will overflow the band's maximum (50 households).

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> from shapely import Point, box
>>> communities = gpd.GeoDataFrame({"community_id": ["A"], "households": [4_800]},
...                                geometry=[box(0, 0, 1000, 1000)], crs=3857)
>>> deliveries = gpd.GeoDataFrame({"households": [100, 150], "交付年份": ["2027年", "2028"]},
...                               geometry=[Point(10, 10), Point(500, 500)], crs=3857)
>>> result = project_growth(communities, deliveries, base_year=2026)
>>> [(int(y), int(h)) for y, h in result.table[["year", "households"]].values]
[(2026, 4800), (2027, 4900), (2028, 5050)]
>>> result.first_crossing
{'A': 2028}
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import FieldError
from gis.fields import map_fields, numeric_column
from gis.i18n import N_, translator
from planning.rules import RuleSet, get_preset
from planning.thresholds import check_communities

__all__ = ["GrowthResult", "project_growth", "read_years"]

_SPLIT_STATUSES = ("may_split", "must_split")


def read_years(values: pd.Series) -> pd.Series:
    """Delivery years from what planners write: ``2027``, ``2027.0``, ``2027年``, ``2027-06``.

    Examples
    --------
    >>> read_years(pd.Series(["2027年6月", 2028, "2029-12-31", "待定"])).tolist()
    [2027, 2028, 2029, <NA>]
    """
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").round().astype("Int64")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year.astype("Int64")
    found = values.astype("string").str.extract(r"((?:19|20|21)\d\d)", expand=False)
    return pd.to_numeric(found, errors="coerce").astype("Int64")


@dataclass(frozen=True)
class GrowthResult:
    """Households, status and staff per community and year.

    Attributes
    ----------
    table
        One row per community and year: ``year``, ``community_id``, ``households``,
        ``added`` (delivered that year), ``residents``, ``status``, ``required_staff``,
        ``staff``, ``shortfall``.
    first_crossing
        ``{community_id: first year it is may_split or must_split}`` (``None`` if never in
        the years shown; the base year if it already is).
    grids
        When grids were given: ``grid_code``, ``community_id``, ``households`` (today),
        ``added`` (all deliveries), ``households_final``, ``overflow_year`` (first year above
        ``grid_max_households``; ``<NA>`` if never).
    deliveries
        The deliveries as read: ``year``, ``households``, ``residents``, ``community_id``,
        ``grid_code``.
    notes
        ``(msgid, params)`` messages for the planner; render with :meth:`messages`.
    """

    table: pd.DataFrame
    first_crossing: dict[str, int | None]
    grids: pd.DataFrame | None
    deliveries: pd.DataFrame
    notes: tuple[tuple[str, dict[str, Any]], ...]

    @property
    def years(self) -> list[int]:
        """The years of the table, base year first."""
        return sorted(int(y) for y in self.table["year"].unique())

    def year(self, year: int) -> pd.DataFrame:
        """Return the community table of one year."""
        return self.table[self.table["year"] == year].reset_index(drop=True)

    def messages(self, lang: str | None = "en") -> list[str]:
        """Return the notes in ``lang``."""
        t = translator(lang)
        return [t.gettext(msgid).format(**params) for msgid, params in self.notes]


def _read_deliveries(deliveries: pd.DataFrame) -> pd.DataFrame:
    mapped, _ = map_fields(deliveries, layer="deliveries")
    if "year" not in mapped or "households" not in mapped:
        missing = [c for c in ("year", "households") if c not in mapped]
        msg = N_(
            "The deliveries layer has no {fields} column. Add the delivery year "
            "(交付年份/预计交付) and the households (户数) of each project."
        )
        raise FieldError(msg, fields=", ".join(missing))
    out = mapped.copy()
    out["year"] = read_years(mapped["year"])
    out["households"] = pd.to_numeric(mapped["households"], errors="coerce")
    bad = out["year"].isna() | out["households"].isna() | (out["households"] < 0)
    if bad.any():
        rows = ", ".join(str(i) for i in out.index[bad][:20])
        msg = N_(
            "{n} deliveries have no readable year or households (rows {rows}). Give each a "
            "year such as 2027 and a number of households of 0 or more."
        )
        raise FieldError(msg, n=int(bad.sum()), rows=rows)
    return out


def _locate(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, column: str) -> pd.Series:
    pts = gpd.GeoDataFrame(geometry=points.geometry.representative_point(), crs=points.crs)
    hit = gpd.sjoin(pts, areas[[column, "geometry"]].to_crs(points.crs), predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    return hit[column].astype(str).reindex(points.index)


def project_growth(
    communities: pd.DataFrame,
    deliveries: pd.DataFrame,
    *,
    grids: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    base_year: int | None = None,
    lang: str = "en",
) -> GrowthResult:
    """Add deliveries to today's communities (and grids) year by year.

    Parameters
    ----------
    communities
        Today's communities with ``community_id``, ``households`` and, where known,
        ``residents`` and ``staff`` (polygons to place deliveries without a
        ``community_id``), as in ``planning.communities.load(...).communities``.
    deliveries
        Buildings or points (or a table with ``community_id``) with ``households`` and
        ``year`` (aliases 交付年份, 预计交付), and optionally ``residents``.
    grids
        Today's grids (``grid_code``, ``community_id``, ``households``, polygons) to find
        the grids that will overflow.
    rules
        Thresholds, staffing and persons per household (for residents not given).
    base_year
        The year of today's data (the current year by default, or the year before the first
        delivery if that is earlier).
    lang
        Language of the status reasons.

    Returns
    -------
    GrowthResult
    """
    rules = rules or get_preset()
    d = _read_deliveries(deliveries)
    notes: list[tuple[str, dict[str, Any]]] = []
    if "residents" in d:
        d["residents"] = pd.to_numeric(d["residents"], errors="coerce")
    else:
        d["residents"] = np.nan
    d["residents"] = d["residents"].fillna(d["households"] * rules.persons_per_household)
    base = communities.copy()
    base["community_id"] = base["community_id"].astype(str)
    spatial = isinstance(d, gpd.GeoDataFrame) and d.crs is not None and "geometry" in d
    given = d["community_id"].astype("string") if "community_id" in d else None
    if given is None or given.isna().any():
        located = (
            _locate(d, gpd.GeoDataFrame(base, geometry="geometry"), "community_id")
            if spatial and isinstance(base, gpd.GeoDataFrame)
            else pd.Series(pd.NA, index=d.index)
        )
        given = located.astype("string") if given is None else given.fillna(located)
    d["community_id"] = given
    outside = d["community_id"].isna() | ~d["community_id"].isin(set(base["community_id"]))
    if outside.any():
        notes.append(
            (
                N_(
                    "{n} deliveries ({households} households) lie in no community of the plan "
                    "and are left out. Give them a community_id or check their location."
                ),
                {"n": int(outside.sum()), "households": int(d.loc[outside, "households"].sum())},
            )
        )
    d = d[~outside]
    first = int(d["year"].min()) if len(d) else _dt.date.today().year
    if base_year is None:
        base_year = min(_dt.date.today().year, first - 1)
    early = d["year"] <= base_year
    if early.any():
        notes.append(
            (
                N_(
                    "{n} deliveries are due in {year} or earlier; they are counted in {year}, "
                    "on top of today's households. Leave them out if today's data hold them."
                ),
                {"n": int(early.sum()), "year": base_year},
            )
        )
    d["year"] = d["year"].clip(lower=base_year)
    last = int(d["year"].max()) if len(d) else base_year
    years = list(range(base_year, last + 1))
    added = (
        d.groupby(["community_id", "year"])[["households", "residents"]]
        .sum()
        .reindex(
            pd.MultiIndex.from_product(
                [base["community_id"], years], names=["community_id", "year"]
            ),
            fill_value=0,
        )
    )
    cum = added.groupby(level="community_id").cumsum()
    today_res = numeric_column(base, "residents")
    keep = [c for c in ("community_id", "name", "staff") if c in base]
    frames = []
    for year in years:
        step = base[keep].copy()
        idx = pd.MultiIndex.from_arrays([base["community_id"], [year] * len(base)])
        step["households"] = (
            (
                pd.to_numeric(base["households"]).to_numpy()
                + cum["households"].reindex(idx).to_numpy()
            )
            .round()
            .astype(int)
        )
        step["added"] = added["households"].reindex(idx).to_numpy().round().astype(int)
        step["residents"] = (
            today_res.to_numpy() + cum["residents"].reindex(idx).to_numpy()
        ).round()
        step = check_communities(step, rules=rules, lang=lang)
        step.insert(0, "year", year)
        frames.append(step)
    table = pd.concat(frames, ignore_index=True)
    crossing: dict[str, int | None] = {}
    for cid, rows in table.groupby("community_id", sort=False):
        hit = rows[rows["status"].isin(_SPLIT_STATUSES)]
        crossing[str(cid)] = int(hit["year"].min()) if len(hit) else None
    grid_table = None
    d["grid_code"] = pd.NA
    if grids is not None and len(grids):
        grid_table, d = _grid_growth(grids, d, years, rules, spatial, notes)
    columns = [
        c
        for c in ("year", "households", "residents", "community_id", "grid_code", "name")
        if c in d
    ]
    return GrowthResult(
        table=table,
        first_crossing=crossing,
        grids=grid_table,
        deliveries=pd.DataFrame(d[columns]),
        notes=tuple(notes),
    )


def _grid_growth(
    grids: gpd.GeoDataFrame,
    d: pd.DataFrame,
    years: list[int],
    rules: RuleSet,
    spatial: bool,
    notes: list[tuple[str, dict[str, Any]]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = d.copy()
    if spatial:
        d["grid_code"] = _locate(gpd.GeoDataFrame(d, geometry="geometry"), grids, "grid_code")
    unplaced = d["grid_code"].isna()
    if unplaced.any():
        notes.append(
            (
                N_(
                    "{n} deliveries ({households} households) have no place in today's grids "
                    "(no location, or outside every grid); they count for their community only."
                ),
                {"n": int(unplaced.sum()), "households": int(d.loc[unplaced, "households"].sum())},
            )
        )
    codes = grids["grid_code"].astype(str)
    today = pd.to_numeric(grids["households"], errors="coerce").fillna(0).to_numpy()
    per_year = (
        d[~unplaced]
        .groupby(["grid_code", "year"])["households"]
        .sum()
        .unstack(fill_value=0)
        .reindex(index=codes, columns=years, fill_value=0)
    )
    running = today[:, None] + per_year.cumsum(axis=1).to_numpy()
    over = running > rules.grid_max_households
    first = np.where(over.any(axis=1), np.asarray(years)[over.argmax(axis=1)], -1)
    table = pd.DataFrame(
        {
            "grid_code": codes.to_numpy(),
            "community_id": grids["community_id"].astype(str).to_numpy()
            if "community_id" in grids
            else None,
            "households": today.round().astype(int),
            "added": per_year.sum(axis=1).to_numpy().round().astype(int),
            "households_final": running[:, -1].round().astype(int),
            "overflow_year": pd.array([y if y >= 0 else pd.NA for y in first], dtype="Int64"),
        }
    )
    return table, d
