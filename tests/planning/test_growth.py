"""Growth ahead: a community crossing 5,000 households in a known year."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point, box

from gis.errors import FieldError
from planning.growth import project_growth, read_years
from planning.rules import get_preset

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_400_000.0


def communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "community_id": ["110108001001", "110108001002"],
            "households": [4_700, 2_900],
            "residents": [12_000, 7_500],
            "staff": [18, 12],
        },
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs=CRS,
    )


def deliveries() -> gpd.GeoDataFrame:
    # community 1: +120 in 2027 (4,820), +180 in 2029 (5,000: not above), +1 in 2030 (5,001)
    # community 2: +200 in 2028 (3,100: from small to ok); one point outside both
    return gpd.GeoDataFrame(
        {
            "户数": [120, 180, 1, 200, 50],
            "预计交付": ["2027年底", "2029", "2030-06", 2028, "2028"],
        },
        geometry=[
            Point(X0 + 100, Y0 + 100),
            Point(X0 + 500, Y0 + 500),
            Point(X0 + 900, Y0 + 900),
            Point(X0 + 1500, Y0 + 500),
            Point(X0 + 5000, Y0 + 5000),
        ],
        crs=CRS,
    )


def test_a_community_crosses_5000_in_the_known_year():
    r = project_growth(communities(), deliveries(), base_year=2026)
    assert r.years == [2026, 2027, 2028, 2029, 2030]
    one = r.table[r.table["community_id"] == "110108001001"].set_index("year")
    assert one["households"].tolist() == [4_700, 4_820, 4_820, 5_000, 5_001]
    assert one["status"].tolist() == ["ok", "ok", "ok", "ok", "may_split"]
    assert r.first_crossing == {"110108001001": 2030, "110108001002": None}
    two = r.table[r.table["community_id"] == "110108001002"].set_index("year")
    assert two["status"].tolist() == ["small", "small", "ok", "ok", "ok"]
    # required staff follow the households (1 per 250)
    assert one["required_staff"].tolist() == [math.ceil(h / 250) for h in one["households"]]
    # residents grow by the delivered households × persons per household
    assert one.loc[2027, "residents"] == pytest.approx(12_000 + 120 * 2.62, abs=1)
    # the point outside both communities is said and left out
    assert any("no community" in m for m in r.messages("en"))
    assert int(r.table.groupby("year")["households"].sum().iloc[-1]) == 4_700 + 2_900 + 501


def test_a_lower_threshold_moves_the_crossing_year():
    rules = get_preset().with_values(split_households=4_800)
    r = project_growth(communities(), deliveries(), base_year=2026, rules=rules)
    assert r.first_crossing["110108001001"] == 2027


def test_deliveries_by_community_id_without_location():
    table = pd.DataFrame({"社区编码": ["110108001002"], "households": [2_200], "交付年份": [2031]})
    r = project_growth(communities(), table, base_year=2030)
    assert r.first_crossing == {"110108001001": None, "110108001002": 2031}


def test_grids_that_will_overflow():
    grids = gpd.GeoDataFrame(
        {"grid_code": ["g1", "g2"], "community_id": ["110108001001"] * 2, "households": [45, 30]},
        geometry=[box(X0, Y0, X0 + 300, Y0 + 300), box(X0 + 300, Y0, X0 + 1000, Y0 + 1000)],
        crs=CRS,
    )
    d = gpd.GeoDataFrame(
        {"households": [3, 3, 10], "year": [2027, 2028, 2029]},
        geometry=[Point(X0 + 10, Y0 + 10), Point(X0 + 20, Y0 + 20), Point(X0 + 500, Y0 + 500)],
        crs=CRS,
    )
    r = project_growth(communities(), d, grids=grids, base_year=2026)
    g = r.grids.set_index("grid_code")
    assert g.loc["g1", "households_final"] == 51
    assert g.loc["g1", "overflow_year"] == 2028
    assert pd.isna(g.loc["g2", "overflow_year"])
    assert g.loc["g2", "households_final"] == 40


def test_unreadable_deliveries_are_refused_with_the_rows():
    bad = pd.DataFrame({"households": [10, "x"], "year": [2027, "待定"]})
    with pytest.raises(FieldError, match="rows 1"):
        project_growth(communities(), bad)
    with pytest.raises(FieldError, match="year"):
        project_growth(communities(), pd.DataFrame({"households": [1]}))


def test_years_as_planners_write_them():
    assert read_years(pd.Series(["2027年", "2028.0", "预计2029年交付"])).tolist() == [
        2027,
        2028,
        2029,
    ]
    assert read_years(pd.Series([2027.0, None])).tolist()[0] == 2027
