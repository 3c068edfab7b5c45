"""Dedicated grids from the layers' land use (issue 15, point 4)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from gis.io import read_project
from planning.grids import make_grids
from planning.landuse import GRID_KINDS, kind_label, land_use_areas, land_use_kind

METRIC = 4548
DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("university", "campus"),
        ("A31 高等院校用地", "campus"),
        ("中小学用地", "school"),
        ("kindergarten", "school"),
        ("A5医疗卫生用地", "hospital"),
        ("hospital", "hospital"),
        ("industrial", "enterprise"),
        ("B1商业用地", "enterprise"),
        ("M1", "enterprise"),
        ("retail", "enterprise"),
        ("leisure park", "park"),
        ("公园绿地", "park"),
        ("recreation_ground", "park"),
        ("R2", None),
        ("二类居住用地", None),
        ("residential", None),
        ("forest", None),
        ("pitch", None),
        ("", None),
    ],
)
def test_land_use_values_name_their_kind(value, kind):
    assert land_use_kind(value) == kind


def test_every_kind_has_a_label_in_both_languages():
    for kind in GRID_KINDS:
        zh, en = kind_label(kind, "zh_CN"), kind_label(kind, "en")
        assert zh != en and "网格" in zh and "grid" in en


def _homes_and_campus():
    """Four 20-household walk-ups in the south; a 6 ha hospital compound in the north with
    its hospital buildings and one staff-housing building of 35 households inside it."""
    homes = [box(10 + 30 * i, 10, 30 + 30 * i, 22) for i in range(4)] + [box(300, 270, 330, 282)]
    wards = [box(x, y, x + 40, y + 20) for x in (90, 170, 250) for y in (130, 200)]
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [*"ABCDS", *(f"H{i}" for i in range(len(wards)))],
            "households": [20, 20, 20, 20, 35, *([0] * len(wards))],
        },
        geometry=homes + wards,
        crs=METRIC,
    )
    roads = gpd.GeoDataFrame(
        {"road_class": ["primary"]}, geometry=[shapely.LineString([(-10, 60), (500, 60)])], crs=METRIC
    )
    community = gpd.GeoDataFrame({"community_id": ["110108001001"]}, geometry=[box(0, 0, 400, 400)], crs=METRIC)
    landuse = gpd.GeoDataFrame(
        {"用地性质": ["医疗卫生用地"], "name": ["海淀医院"]}, geometry=[box(60, 100, 360, 300)], crs=METRIC
    )
    return buildings, roads, community, landuse


def test_a_hospital_from_the_land_use_layer_is_a_dedicated_grid_of_its_kind():
    buildings, roads, community, landuse = _homes_and_campus()
    landuse = landuse.rename(columns={"用地性质": "land_use"})
    result = make_grids(buildings, communities=community, roads=roads, landuse=landuse)
    grids = result.grids.to_crs(METRIC)
    hospital = grids[grids["kind"] == "hospital"]
    assert len(hospital) == 1
    row = hospital.iloc[0]
    assert row["households"] == 0 and row["status"] == "dedicated"
    assert "海淀医院" in row["reason"]
    # the hospital grid holds the hospital's land (cells across its edge are cut along it)
    site = landuse.geometry.iloc[0]
    assert row.geometry.intersection(site).area > 0.8 * site.area  # less the staff housing
    # the staff housing stays in a household grid, with its households
    members = result.grid_members
    staff = members[members["building_id"] == "S"]
    assert staff["households"].sum() == 35
    assert set(grids.set_index("grid_code").loc[staff["grid_code"], "kind"]) == {"residential"}
    assert int(grids["households"].sum()) == 115
    # tiles the community; codes are 15 digits and unique
    assert abs(shapely.union_all(grids.geometry.values).area - 160_000) < 1.0
    assert grids["grid_code"].str.fullmatch(r"\d{15}").all() and grids["grid_code"].is_unique
    assert result.summary()["dedicated_grids"] == (grids["kind"] != "residential").sum()


def test_without_land_use_the_same_land_is_a_plain_dedicated_grid():
    buildings, roads, community, _ = _homes_and_campus()
    grids = make_grids(buildings, communities=community, roads=roads).grids
    assert not grids["kind"].isin(["hospital", "campus", "school", "enterprise", "park"]).any()


def test_a_small_unit_stays_shared_by_the_rule_setting():
    from planning.rules import get_preset

    buildings, roads, community, landuse = _homes_and_campus()
    landuse = landuse.rename(columns={"用地性质": "land_use"})
    rules = get_preset().with_values(dedicated_land_use_min_area_m2=100_000.0, dedicated_grid_min_area_m2=500_000.0)
    grids = make_grids(buildings, communities=community, roads=roads, landuse=landuse, rules=rules).grids
    assert not (grids["kind"] == "hospital").any()


def test_a_land_use_field_on_the_compounds_counts_too():
    buildings, roads, community, landuse = _homes_and_campus()
    compounds = landuse.rename(columns={"用地性质": "land_use"}).assign(compound_id=["H1"])
    grids = make_grids(buildings, communities=community, roads=roads, compounds=compounds).grids
    assert (grids["kind"] == "hospital").sum() == 1


def test_chinese_layer_and_field_names_are_read(tmp_path):
    buildings, roads, community, landuse = _homes_and_campus()
    path = tmp_path / "project.gpkg"
    for frame, name in ((buildings, "楼栋"), (community, "社区"), (landuse, "用地")):
        frame.set_geometry(frame.translate(441_000, 4_429_000)).to_file(path, layer=name)
    project = read_project(path)
    assert project.landuse is not None and "land_use" in project.landuse
    assert land_use_areas(project.landuse)["kind"].tolist() == ["hospital"]


def test_the_beijing_sample_has_its_campus_and_park_as_dedicated_grids():
    project = read_project(DATA / "beijing.gpkg")
    areas = land_use_areas(project.landuse)
    named = dict(zip(areas["name"], areas["kind"], strict=False))
    assert named["清华大学"] == "campus" and named["圆明园"] == "park" and named["清华科技园"] == "enterprise"


def test_a_divided_tower_in_a_deep_cell_is_cut_in_sectors_not_strips():
    """Seven 45-household units of a tower alone in a deep block (Lujiazui): cut side by side,
    each unit's grid was a strip 6 m wide and 300 m long (Polsby–Popper 0.06); cut in
    sectors about the tower, each is compact and still holds its slice of the tower."""
    tower = gpd.GeoDataFrame(
        {"building_id": ["T"], "households": [315], "floors": [15], "units": [7]},
        geometry=[box(80, 140, 120, 156)],
        crs=METRIC,
    )
    community = gpd.GeoDataFrame({"community_id": ["110108001001"]}, geometry=[box(0, 0, 200, 300)], crs=METRIC)
    result = make_grids(tower, communities=community)
    grids = result.grids.to_crs(METRIC)
    assert sorted(grids["households"]) == [45] * 7
    pp = 4 * np.pi * grids.area / grids.length**2
    assert pp.min() > 0.3, pp.round(2).tolist()
    footprint = tower.geometry.iloc[0]
    for geom in grids.geometry:
        assert geom.intersection(footprint).area > 0.05 * footprint.area
    # they tile the block: areas add up, no overlaps (a snapped union: the seven pieces meet
    # in one point, where GEOS's unsnapped union of the reprojected pieces loses a piece)
    assert abs(grids.area.sum() - 60_000) < 1.0
    assert abs(shapely.union_all(grids.geometry.values, grid_size=0.01).area - 60_000) < 1.0
    members = result.grid_members
    assert sorted(members["unit_from"].astype(int)) == list(range(1, 8))
