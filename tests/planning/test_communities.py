"""From buildings to communities: the Beijing study area, community layers, Shanghai."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from gis.io import read_project
from planning.communities import STUDY_AREA_ID, assign_by_location, load, prepare, summarize
from planning.households import estimate_households
from planning.rules import get_preset
from planning.staffing import staffing
from planning.thresholds import STATUSES

KUNMING_MAY = "Kunming 2024: a community of more than 5,000 households may be split"


# --------------------------------------------------------------------------------------
# Beijing: no community layer, so the study area is one community
# --------------------------------------------------------------------------------------
def test_beijing_is_one_community(beijing_loaded):
    communities = beijing_loaded.communities
    assert len(communities) == 1
    row = communities.iloc[0]
    assert row["community_id"] == STUDY_AREA_ID == "000000000000"
    assert int(row["households"]) == 9762
    assert row["status"] == "may_split"
    assert row["reasons"] == [
        f"9762 households is more than 5000: the community may be split ({KUNMING_MAY})."
    ]
    assert (row["n_buildings"], row["estimated_buildings"]) == (521, 153)
    assert beijing_loaded.report.ok
    assert beijing_loaded.rules == get_preset()


def test_beijing_totals_are_the_buildings_totals(beijing_loaded):
    b = beijing_loaded.buildings
    row = beijing_loaded.communities.iloc[0]
    assert (b["community_id"] == STUDY_AREA_ID).all()
    assert row["households"] == b["households"].sum()
    assert row["residents"] == b["residents"].sum() == 25_563
    assert beijing_loaded.estimated_rows() == 153
    assert beijing_loaded.assumed_floor_rows() == 153
    s = staffing(9762, residents=25_563)
    assert (row["required_staff"], row["min_grids"], row["max_grids"]) == (
        s.required_staff,
        s.min_grids,
        s.max_grids,
    )
    assert row["households_per_worker"] == s.households_per_worker == 244.1
    # the study area is the export's bounds; OSM exports keep whole ways, so 10 buildings
    # stick out of it: the community grows to the hull of both, so every building lies
    # whole inside it (and gets its territory) and the export bounds stay covered
    assert shapely.covers(row.geometry.buffer(1e-7), beijing_loaded.project.study_area)
    assert shapely.covers(row.geometry.buffer(1e-7), shapely.union_all(b.geometry.values))
    study_area = beijing_loaded.project.study_area
    assert (~b.representative_point().within(study_area)).sum() == 10
    assert b.representative_point().within(row.geometry).all()


def test_beijing_compounds_are_assigned_by_location(beijing_loaded):
    b = beijing_loaded.buildings
    compounds = beijing_loaded.project.compounds
    assert len(compounds) == 6
    points = b.representative_point()
    for _, compound in compounds.iterrows():
        inside = points.within(compound.geometry)
        assert (b.loc[inside, "compound_id"] == compound["compound_id"]).all()
    outside = ~points.within(shapely.union_all(compounds.geometry.values))
    assert b.loc[outside, "compound_id"].isna().all()
    assert b["compound_id"].notna().sum() > 0


def test_rules_and_language_reach_the_check(beijing_path):
    loaded = load(
        beijing_path, rules=get_preset().with_values(split_households=10_000), lang="zh_CN"
    )
    row = loaded.communities.iloc[0]
    assert row["status"] == "ok"
    assert "9762" in row["reasons"][0]
    assert row["reasons"][0] != (
        "9762 households is within 3000–10000 (split_households = 10000 (set by the planner))."
    )


# --------------------------------------------------------------------------------------
# communities given as a layer: buildings assigned by location
# --------------------------------------------------------------------------------------
def test_beijing_split_into_two_communities_by_a_layer(beijing_path):
    project = read_project(beijing_path)
    minx, miny, maxx, maxy = project.study_area.bounds
    mid = (minx + maxx) / 2
    halves = gpd.GeoDataFrame(
        {"community_id": ["W", "E"], "name": ["西", "东"], "staff": [10, 30]},
        geometry=[box(minx, miny, mid, maxy), box(mid, miny, maxx, maxy)],
        crs=project.buildings.crs,
    )
    loaded = prepare(project.replace(communities=halves))
    b = loaded.buildings
    # independent: which half each building's representative point lies in; 10 buildings
    # stick out of the export bounds with their point outside both halves: they go to the
    # half their footprint overlaps most, as the grid engine places them
    points = project.buildings.representative_point()
    west = points.within(halves.geometry.iloc[0]).to_numpy().copy()
    east = points.within(halves.geometry.iloc[1]).to_numpy().copy()
    assert (west & east).sum() == 0 and (~west & ~east).sum() == 10
    stray = ~west & ~east
    overlap = np.array(
        [[g.intersection(h).area for h in halves.geometry] for g in project.buildings.geometry]
    )
    west |= stray & (overlap[:, 0] > 0) & (overlap[:, 0] >= overlap[:, 1])
    east |= stray & (overlap[:, 1] > overlap[:, 0])
    assert (b.loc[west, "community_id"] == "W").all() and (b.loc[east, "community_id"] == "E").all()
    assert b.loc[~west & ~east, "community_id"].isna().all()
    from planning.grids import buildings_by_community

    engine = buildings_by_community(project.buildings, halves)
    assert (np.where(engine == 0, "W", np.where(engine == 1, "E", None)) == b["community_id"].where(b["community_id"].notna(), None).to_numpy()).all()
    estimated = estimate_households(project.buildings)["households"].to_numpy()
    table = loaded.communities.set_index("community_id")
    assert table.loc["W", "households"] == estimated[west].sum()
    assert table.loc["E", "households"] == estimated[east].sum()
    assert table["households"].sum() == 9762 - estimated[~west & ~east].sum()
    assert table.loc["W", "n_buildings"] + table.loc["E", "n_buildings"] == (west | east).sum()
    for cid, staff in [("W", 10), ("E", 30)]:
        s = staffing(int(table.loc[cid, "households"]), staff=staff)
        assert table.loc[cid, "shortfall"] == s.shortfall
        assert table.loc[cid, "status"] in STATUSES


@pytest.fixture
def two_communities(tmp_path):
    """Two communities side by side and four buildings, as files with Chinese names::

    +-----------+-----------+
    |  1 西社区  |  2 东社区  |
    |  [A]      |  [B]  [C] |
    +-----------+-----------+   [D] outside both
    """
    x0, y0 = 116.30, 40.00
    communities = gpd.GeoDataFrame(
        {"社区编码": [1, 2], "社区名称": ["西社区", "东社区"], "社工人数": [10, 3]},
        geometry=[box(x0, y0, x0 + 0.01, y0 + 0.01), box(x0 + 0.01, y0, x0 + 0.02, y0 + 0.01)],
        crs=4490,
    )
    buildings = gpd.GeoDataFrame(
        {"楼栋编号": ["A", "B", "C", "D"], "户数": [3200, None, 40, 500], "层数": [30, 10, None, 6]},
        geometry=[
            box(x0 + 0.001, y0 + 0.001, x0 + 0.0015, y0 + 0.0015),
            box(x0 + 0.011, y0 + 0.001, x0 + 0.0115, y0 + 0.0015),
            box(x0 + 0.012, y0 + 0.002, x0 + 0.0125, y0 + 0.0025),
            box(x0 + 0.03, y0 + 0.002, x0 + 0.0305, y0 + 0.0025),
        ],
        crs=4490,
    )
    communities.to_file(tmp_path / "社区.gpkg")
    return tmp_path, buildings


def test_communities_layer_from_files(two_communities):
    folder, buildings = two_communities
    buildings.to_file(folder / "楼栋.gpkg")
    loaded = load(folder)
    b = loaded.buildings.set_index("building_id")
    assert b["community_id"].tolist()[:3] == ["1", "2", "2"]
    assert pd.isna(b.loc["D", "community_id"])  # outside every community
    assert any("outside every community" in p.what for p in loaded.report.warnings)
    table = loaded.communities.set_index("community_id")
    assert table.loc["1", "households"] == 3200
    assert table.loc["2", "households"] == b.loc["B", "households"] + 40
    assert table.loc["1", "name"] == "西社区"
    assert table.loc["1", "status"] == "ok" and table.loc["2", "status"] == "small"
    assert (table.loc["1", "required_staff"], table.loc["2", "required_staff"]) == (13, 2)
    assert (table.loc["1", "shortfall"], table.loc["2", "shortfall"]) == (3, 0)  # 10 and 3 staff


def test_buildings_with_numeric_community_ids_match_the_layer(two_communities):
    # shapefiles and GPKGs often carry 社区编码 as integers on both layers
    folder, buildings = two_communities
    buildings.assign(社区编码=[1, 2, 2, 2]).to_file(folder / "楼栋.gpkg")
    loaded = load(folder)
    table = loaded.communities.set_index("community_id")
    # ids given in the data win over location: D lies outside both but is coded 2
    assert table.loc["1", "households"] == 3200
    assert table.loc["2", "households"] == loaded.buildings["households"].iloc[1:].sum()
    assert table.loc["2", "n_buildings"] == 3


def test_assign_by_location_is_aligned_to_the_buildings():
    areas = gpd.GeoDataFrame(
        {"cid": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4490
    )
    buildings = gpd.GeoDataFrame(
        geometry=[box(1.2, 0.2, 1.3, 0.3), box(0.2, 0.2, 0.3, 0.3), box(5, 5, 6, 6)],
        index=[7, 3, 9],
        crs=4490,
    )
    ids = assign_by_location(buildings, areas, id_column="cid")
    assert list(ids.index) == [7, 3, 9]
    assert ids.tolist()[:2] == ["b", "a"] and pd.isna(ids.iloc[2])


def test_summarize_keeps_given_residents():
    buildings = pd.DataFrame(
        {
            "community_id": ["a", "a", "b"],
            "households": [10, 20, 5],
            "residents": [30, 50, 13],
            "special_service_households": [1, 0, 2],
            "households_source": ["given", "estimated", "estimated"],
        }
    )
    communities = gpd.GeoDataFrame(
        {"community_id": ["a", "b"], "residents": [100, None]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=4490,
    )
    out = summarize(buildings, communities).set_index("community_id")
    assert out["households"].tolist() == [30, 5]
    assert out["residents"].tolist() == [100, 13]  # the community's own figure wins
    assert out["special_service_households"].tolist() == [1, 2]
    assert out["estimated_buildings"].tolist() == [1, 1]


# --------------------------------------------------------------------------------------
# Shanghai
# --------------------------------------------------------------------------------------
def test_shanghai_sample_loads(shanghai_path):
    loaded = load(shanghai_path)
    b = loaded.buildings
    assert len(b) == 1320  # one of 1,321 is a copy of another (left out, reported)
    assert loaded.report.ok
    assert len(loaded.communities) == 1
    row = loaded.communities.iloc[0]
    assert row["community_id"] == STUDY_AREA_ID
    assert row["households"] == b["households"].sum()
    # heights come from Tilezen (height = levels × 3 + 2)
    assert b["floors_source"].value_counts().to_dict() == {
        "assumed_default": 738,
        "osm_height": 582,
    }
    est = b["households_source"] == "estimated"
    assert (
        b.loc[est, "households"] == np.floor(b.loc[est, "footprint_m2"] * b.loc[est, "floors"] / 90)
    ).all()
    # anchors measured 2026-11-24: 69 buildings read as residential (the sample's own
    # est_is_residential marks 26), 5,066 households: just over 5,000, so may_split
    assert (int(est.sum()), int(row["households"]), row["status"]) == (69, 5066, "may_split")
