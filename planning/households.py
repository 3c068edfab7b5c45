"""Households per building: from the data, a roster, or an estimate that says so.

Where ``households`` is missing, residential buildings are estimated as
``floor(footprint × floors ÷ area_per_dwelling)`` (90 m² by default). Floors come from
the data, from a height ÷ storey height, or from an assumed default; every row says
where its figure came from (``households_source``, ``floors_source``), so the app and
the CLI can say how many rows rest on assumptions.

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

from planning.rules import RuleSet, get_preset

__all__ = ["apply_roster", "estimate_households", "footprint_area_m2"]

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
