"""A building's ``community_id`` governs where it is counted and gridded (issue 17).

Two street-block communities side by side, 32 buildings of 20 households; building B20
lies in the eastern community but its attribute names the western one. ``check`` and
``grids`` must both put it in the western one, say so, and lose no household.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from gis.geometry import points_in_areas
from gis.io import Project
from planning.communities import prepare
from planning.grids import buildings_by_community, community_conflicts, make_grids

D = 1 / 100_000  # about a metre in degrees at 40°N (enough for a layout)
WEST, EAST = "110108001001", "110108001002"


@pytest.fixture(scope="module")
def layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    communities = gpd.GeoDataFrame(
        {"community_id": [WEST, EAST]},
        geometry=[box(116, 40, 116 + 200 * D, 40 + 200 * D), box(116 + 200 * D, 40, 116 + 400 * D, 40 + 200 * D)],
        crs=4490,
    )
    geoms, ids = [], []
    for i in range(8):
        for j in range(4):
            x, y = 116 + (10 + i * 48) * D, 40 + (10 + j * 45) * D
            geoms.append(box(x, y, x + 25 * D, y + 12 * D))
            ids.append(WEST if x < 116 + 200 * D else EAST)
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"B{i}" for i in range(len(geoms))], "households": 20, "community_id": ids},
        geometry=geoms,
        crs=4490,
    )
    buildings.loc[20, "community_id"] = WEST  # drawn in the east
    return buildings, communities


def test_attribute_governs_and_conflicts_are_named(layers) -> None:
    buildings, communities = layers
    owner = buildings_by_community(buildings, communities)
    assert owner[20] == 0
    assert community_conflicts(buildings, communities).tolist() == [i == 20 for i in range(32)]
    # without the attribute, location decides
    assert buildings_by_community(buildings.drop(columns="community_id"), communities)[20] == 1


def test_a_community_outside_the_run_takes_its_buildings_away(layers) -> None:
    buildings, communities = layers
    east_only = communities.iloc[[1]].reset_index(drop=True)
    owner = buildings_by_community(buildings, east_only, others=[WEST, EAST])
    assert owner[20] == -1  # it is the western community's, gridded with it
    assert (owner == 0).sum() == 15


def test_check_and_grids_agree_and_conserve(layers) -> None:
    buildings, communities = layers
    loaded = prepare(
        Project(
            buildings=buildings,
            communities=communities,
            source_crs={"buildings": "EPSG:4490", "communities": "EPSG:4490"},
        )
    )
    counted = loaded.communities.set_index("community_id")["households"]
    assert counted.to_dict() == {WEST: 340, EAST: 300}
    [warning] = [w for w in loaded.data_warnings if w.kind == "community_id_differs"]
    assert warning.rows == ("B20",) and warning.households_excluded == 0
    assert "20 户" in warning.render("zh_CN") and "community_id" in warning.render("en")

    result = make_grids(buildings, communities=communities)
    gridded = result.grids.groupby("community_id")["households"].sum()
    assert gridded.to_dict() == counted.to_dict()
    members = result.grid_members.set_index("building_id")
    assert members.loc["B20", "grid_code"].startswith(WEST)
    assert any("B20" in n for n in result.notes)
    # the grid holding it lies in its community (a stand-in footprint just inside the edge)
    west = communities.geometry.iloc[0]
    holder = result.grids.set_index("grid_code").geometry[members.loc["B20", "grid_code"]]
    assert shapely.area(shapely.difference(holder, west)) < 1e-12

    # a run of the eastern community alone does not grid B20 there
    alone = make_grids(buildings, communities=communities, community_ids=[EAST])
    assert int(alone.grids["households"].sum()) == 300
    assert "B20" not in set(alone.grid_members["building_id"])


def test_points_in_areas_matches_the_plain_query() -> None:
    rng = np.random.default_rng(3)
    t = np.linspace(0, 2 * np.pi, 5_000, endpoint=False)
    r = 100 + 5 * np.sin(t * 37)
    ring = shapely.Polygon(np.c_[r * np.cos(t), r * np.sin(t)])
    areas = np.array([ring, box(-150, -150, 0, 0), box(0, 0, 150, 150)], dtype=object)
    xy = rng.uniform(-160, 160, (3_000, 2))
    points = shapely.points(xy)
    points[:3] = shapely.points([[0, 0], [0, 50], [200, 200]])  # shared corner, edge, none
    for predicate in ("intersects", "within"):
        expected = shapely.STRtree(areas).query(points, predicate=predicate)
        order = np.lexsort((expected[1], expected[0]))
        got = points_in_areas(points, areas, predicate=predicate)
        assert got[0].tolist() == expected[0][order].tolist()
        assert got[1].tolist() == expected[1][order].tolist()
