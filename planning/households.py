"""Households per building: from the data, a roster, or an estimate that says so.

Where ``households`` is missing, residential buildings are estimated as
``floor(footprint × floors ÷ area_per_dwelling)`` (90 m² by default). Floors come from
the data, from a height ÷ storey height, or from an assumed default; every row says
where its figure came from (``households_source``, ``floors_source``), so the app and
the CLI can say how many rows rest on assumptions.

A figure no residential building holds (1,200 households on one footprint: usually a
compound or a campus mapped as one building) is flagged by :func:`implausible_buildings`
and reported by :func:`implausible_warning` (kind ``implausible_building`` in ``check``).

Examples
--------
>>> from gis import datasets
>>> from gis.io import read_project
>>> from planning.rules import get_preset
>>> b = estimate_households(read_project(datasets.get_path("beijing")).buildings, rules=get_preset())
>>> int(b["households"].sum()), int((b["households_source"] == "estimated").sum())
(9762, 153)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

from gis.i18n import N_
from gis.validate import Problem
from planning.rules import RuleSet, get_preset

__all__ = [
    "apply_roster",
    "estimate_households",
    "footprint_area_m2",
    "implausible_buildings",
    "implausible_warning",
]

_GEOD = Geod(ellps="GRS80")


def footprint_area_m2(buildings: gpd.GeoDataFrame) -> pd.Series:
    """Geodesic footprint area in m² (on the CGCS2000/GRS80 ellipsoid), rounded to 0.1 m²."""
    geographic = (
        buildings.to_crs(4490)
        if buildings.crs is not None and not buildings.crs.is_geographic
        else buildings
    )
    areas = [
        abs(_GEOD.geometry_area_perimeter(g)[0]) if g is not None else 0.0
        for g in geographic.geometry
    ]
    return pd.Series(np.round(areas, 1), index=buildings.index, name="footprint_m2")


def estimate_households(
    buildings: gpd.GeoDataFrame, *, rules: RuleSet | None = None
) -> gpd.GeoDataFrame:
    """Fill ``households``, ``residents`` and ``special_service_households`` for every building.

    Parameters
    ----------
    buildings
        The buildings layer (contract names). ``households`` given in the data are kept.
    rules
        For the area per dwelling, the storey height, the default floors and the
        persons per household.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``households`` (int), ``households_source`` (``given``, ``roster``,
        ``estimated``, ``non_residential``), ``floors``, ``floors_source`` (``given``,
        ``height``, ``osm_building_levels``, ``osm_height``, ``assumed_default``),
        ``footprint_m2``, ``residents`` and ``special_service_households``.
    """
    rules = rules or get_preset()
    out = buildings.copy()
    index = out.index
    given = (
        pd.to_numeric(out["households"], errors="coerce")
        if "households" in out
        else pd.Series(np.nan, index=index)
    )
    if "is_residential" in out:
        residential = out["is_residential"].map(_truthy).fillna(False).astype(bool)
    else:
        residential = pd.Series(True, index=index)
    floors = (
        pd.to_numeric(out["floors"], errors="coerce")
        if "floors" in out
        else pd.Series(np.nan, index=index)
    )
    if "floors_source" in out:
        floors_source = out["floors_source"].astype("string")
    else:
        floors_source = pd.Series(pd.NA, index=index, dtype="string").mask(floors.notna(), "given")
    if "height" in out:
        height = pd.to_numeric(out["height"], errors="coerce")
        from_height = (height / rules.storey_height_m).round().clip(lower=1)
        floors_source = floors_source.mask(floors.isna() & from_height.notna(), "height")
        floors = floors.fillna(from_height)
    floors_source = floors_source.mask(floors.isna(), "assumed_default")
    floors = floors.fillna(rules.default_floors).clip(lower=1)
    out["footprint_m2"] = footprint_area_m2(out)
    estimate = np.floor(out["footprint_m2"] * floors / rules.area_per_dwelling_m2)
    source = pd.Series("given", index=index, dtype="string")
    if "households_source" in out:
        source = out["households_source"].astype("string").fillna("given")
    missing = given.isna()
    households = given.copy()
    households[missing & residential] = estimate[missing & residential]
    households[missing & ~residential] = 0
    source[missing & residential] = "estimated"
    source[missing & ~residential] = "non_residential"
    out["households"] = households.round().astype(int)
    out["households_source"] = source
    out["floors"] = floors.astype(int)
    out["floors_source"] = floors_source.fillna("given")
    residents = (
        pd.to_numeric(out["residents"], errors="coerce")
        if "residents" in out
        else pd.Series(np.nan, index=index)
    )
    out["residents"] = residents.fillna(
        np.round(out["households"] * rules.persons_per_household)
    ).astype(int)
    special = (
        pd.to_numeric(out["special_service_households"], errors="coerce")
        if "special_service_households" in out
        else pd.Series(0, index=index)
    )
    out["special_service_households"] = special.fillna(0).astype(int)
    out["is_residential"] = residential | (out["households"] > 0)
    return out


def implausible_buildings(
    buildings: gpd.GeoDataFrame, *, rules: RuleSet | None = None
) -> pd.DataFrame:
    """The buildings whose households no residential building plausibly holds.

    A building is flagged when it holds more than ``plausible_households_per_building``
    households, more than ``plausible_households_per_floor`` a floor, or less than
    ``plausible_floor_area_per_household_m2`` of floor area (footprint × floors) a
    household. Given, roster and estimated figures are all checked: an estimate is only
    as good as its footprint, and an OSM area mapped as a building gives a huge one.

    Parameters
    ----------
    buildings
        Buildings after :func:`estimate_households` (``households``, ``floors``,
        ``footprint_m2``).
    rules
        For the three thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per flagged building, most households first, indexed like ``buildings``:
        ``building_id``, ``name``, ``households``, ``floors``, ``footprint_m2``,
        ``per_floor``, ``floor_area_per_household_m2``, ``households_source`` and
        ``reasons`` (a tuple of ``households``, ``per_floor``, ``floor_area``).

    Examples
    --------
    >>> from gis import datasets
    >>> from planning.communities import load
    >>> flagged = implausible_buildings(load(datasets.get_path("beijing")).buildings)
    >>> [(r.name, r.households, r.per_floor) for r in flagged.itertuples()]
    [('普吉院', 1200, 200.0), ('专家公寓', 635, 105.8), ('胜因院', 369, 61.5)]
    """
    rules = rules or get_preset()
    households = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
    floors = (
        pd.to_numeric(buildings["floors"], errors="coerce")
        if "floors" in buildings
        else pd.Series(np.nan, index=buildings.index)
    ).fillna(rules.default_floors).clip(lower=1)
    footprint = (
        pd.to_numeric(buildings["footprint_m2"], errors="coerce")
        if "footprint_m2" in buildings
        else footprint_area_m2(buildings)
    )
    homes = households > 0
    per_floor = (households / floors).where(homes)
    area_each = (footprint * floors / households).where(homes)
    too_many = homes & (households > rules.plausible_households_per_building)
    too_dense = homes & (per_floor > rules.plausible_households_per_floor)
    too_small = homes & (area_each < rules.plausible_floor_area_per_household_m2)
    flagged = too_many | too_dense | too_small
    reasons = [
        tuple(
            name
            for name, hit in (("households", a), ("per_floor", b), ("floor_area", c))
            if hit
        )
        for a, b, c in zip(too_many[flagged], too_dense[flagged], too_small[flagged], strict=True)
    ]
    ids = (
        buildings["building_id"].astype(str)
        if "building_id" in buildings
        else pd.Series(buildings.index.astype(str), index=buildings.index)
    )
    out = pd.DataFrame(
        {
            "building_id": ids[flagged],
            "name": buildings["name"][flagged] if "name" in buildings else None,
            "households": households[flagged].astype(int),
            "floors": floors[flagged].astype(int),
            "footprint_m2": footprint[flagged],
            "per_floor": per_floor[flagged].round(1),
            "floor_area_per_household_m2": area_each[flagged].round(1),
            "households_source": buildings["households_source"][flagged]
            if "households_source" in buildings
            else "given",
            "reasons": pd.Series(reasons, index=flagged[flagged].index, dtype=object),
        },
        index=flagged[flagged].index,
    )
    return out.sort_values("households", ascending=False, kind="stable")


def implausible_warning(
    buildings: gpd.GeoDataFrame, *, rules: RuleSet | None = None
) -> Problem | None:
    """The warning of kind ``implausible_building`` for ``check``, or None if none is flagged.

    Its rows are the flagged buildings' ids, most households first; the message names the
    largest and the thresholds, and says what to do.

    Examples
    --------
    >>> from gis import datasets
    >>> from planning.communities import load
    >>> w = implausible_warning(load(datasets.get_path("beijing")).buildings).as_warning("en")
    >>> w["kind"], w["count"], w["rows"][0]
    ('implausible_building', 3, 'way/409368388')
    """
    rules = rules or get_preset()
    flagged = implausible_buildings(buildings, rules=rules)
    if flagged.empty:
        return None
    top = flagged.iloc[0]
    name = top["name"] if isinstance(top["name"], str) and top["name"].strip() else None
    return Problem(
        "implausible_building",
        "buildings",
        "warning",
        N_(
            "{n} buildings hold more households than a residential building plausibly does "
            "(the largest, {name}: {households} households on a {footprint} m² footprint × "
            "{floors} floors, {per_floor} a floor)"
        ),
        N_(
            "More than {max_building} households, more than {max_floor} a floor or less than "
            "{min_area} m² of floor area a household is beyond an ordinary residential "
            "building: check whether it is an area (a compound, a campus) drawn as one "
            "building, then give its floors or households, or mark it non-residential."
        ),
        tuple(flagged["building_id"]),
        {
            "name": f"{name} ({top['building_id']})" if name else top["building_id"],
            "households": f"{int(top['households']):,}",
            "footprint": f"{float(top['footprint_m2']):,.0f}",
            "floors": int(top["floors"]),
            "per_floor": f"{float(top['per_floor']):g}",
            "max_building": f"{rules.plausible_households_per_building:,}",
            "max_floor": f"{rules.plausible_households_per_floor:g}",
            "min_area": f"{rules.plausible_floor_area_per_household_m2:g}",
        },
    )


def _truthy(value: object) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "t", "是", "住宅", "residential"}:
        return True
    if text in {"0", "false", "no", "n", "f", "否", "非住宅"}:
        return False
    return None


def apply_roster(buildings: gpd.GeoDataFrame, roster: pd.DataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Fill households, residents and special-service counts from a roster (花名册).

    The roster has one row per household (``building_id`` or ``address``, ``unit``,
    ``floor``, ``room``…) or one row per building with a ``households`` column. Rows are
    matched to buildings by ``building_id``, else by a normalised ``address``. A blank
    key, or a key that several buildings share (an address that names only the street),
    matches nothing and its rows count as unmatched: the roster's households are never
    copied onto several buildings.

    Returns
    -------
    (GeoDataFrame, int)
        The buildings with ``households_source = "roster"`` where matched, and the number
        of roster rows that matched no building.
    """
    out = buildings.copy()
    key = "building_id" if "building_id" in roster and "building_id" in out else "address"
    if key not in roster or key not in out:
        return out, len(roster)
    norm = _normalise_key
    roster_key = roster[key].map(norm)
    building_key = out[key].map(norm)
    building_key = building_key.where(~building_key.duplicated(keep=False))
    per_row = (
        pd.to_numeric(roster["households"], errors="coerce")
        if "households" in roster
        else pd.Series(1, index=roster.index)
    )
    table = pd.DataFrame({"key": roster_key, "households": per_row.fillna(1)})
    if "residents" in roster:
        table["residents"] = pd.to_numeric(roster["residents"], errors="coerce")
    if "special_service" in roster:
        table["special"] = roster["special_service"].map(_truthy).fillna(False).astype(int)
    sums = table.groupby("key").sum(min_count=1)
    matched = building_key.notna() & building_key.isin(sums.index)
    unmatched_rows = int((~roster_key.isin(set(building_key.dropna()))).sum())
    out.loc[matched, "households"] = building_key[matched].map(sums["households"]).astype(int)
    out.loc[matched, "households_source"] = "roster"
    if "residents" in sums:
        out.loc[matched, "residents"] = building_key[matched].map(sums["residents"])
    if "special" in sums:
        out.loc[matched, "special_service_households"] = building_key[matched].map(sums["special"])
    return out, unmatched_rows


def _normalise_key(value: object) -> str | None:
    import unicodedata

    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-_#号栋幢") or None
