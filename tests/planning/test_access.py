"""Walking access: answers known by construction on a street lattice.

A lattice of streets every 100 m (CGCS2000 / GK CM 117E, so metres are metres)::

    y=400  +----+----+----+----+
           |    |    |    |    |
    y=300  +----+----+----+----+
           |    |    |    |    |
    y=200  +----+----C----+----+      C: the service centre at (200, 200)
           |    |    |    |    |
    y=100  +----+----+----+----+
           |    |    |    |    |
    y=0    +----+----+----+----+
          x=0  100  200  300  400

On it the walk from a point on a street to a junction is the Manhattan distance.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point, box

from gis.errors import InfeasibleError, RulesError
from planning.access import p_median, walking_access, walking_network, weighted_quantile
from planning.rules import get_preset

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_400_000.0  # on the central meridian: no scale error to speak of
STEP, N = 100.0, 4


def lattice(extra: list[LineString] | None = None, classes: list[str] | None = None):
    lines = [
        LineString([(X0, Y0 + i * STEP), (X0 + N * STEP, Y0 + i * STEP)]) for i in range(N + 1)
    ]
    lines += [
        LineString([(X0 + i * STEP, Y0), (X0 + i * STEP, Y0 + N * STEP)]) for i in range(N + 1)
    ]
    road_class = ["residential"] * len(lines)
    if extra:
        lines += extra
        road_class += classes or ["footway"] * len(extra)
    return gpd.GeoDataFrame({"road_class": road_class}, geometry=lines, crs=CRS)


def dot(x: float, y: float, half: float = 0.01):
    """A tiny building centred at lattice coordinates (x, y)."""
    return box(X0 + x - half, Y0 + y - half, X0 + x + half, Y0 + y + half)


def buildings(points, households, community="A"):
    return gpd.GeoDataFrame(
        {
            "building_id": [f"B{i}" for i in range(len(points))],
            "households": households,
            "community_id": community if isinstance(community, list) else [community] * len(points),
        },
        geometry=[dot(x, y) for x, y in points],
        crs=CRS,
    )


def centre(x, y, community="A", name="中心"):
    return gpd.GeoDataFrame(
        {"community_id": [community], "name": [name]}, geometry=[Point(X0 + x, Y0 + y)], crs=CRS
    )


# points on the lattice's streets: junctions and points along the streets
street_point = st.one_of(
    st.tuples(st.integers(0, N).map(lambda i: i * STEP), st.floats(0, N * STEP)),
    st.tuples(st.floats(0, N * STEP), st.integers(0, N).map(lambda i: i * STEP)),
)


@settings(max_examples=25, deadline=None)
@given(
    points=st.lists(street_point, min_size=1, max_size=12),
    cx=st.integers(0, N),
    cy=st.integers(0, N),
    data=st.data(),
)
def test_walk_on_a_lattice_is_the_manhattan_distance(points, cx, cy, data):
    households = data.draw(
        st.lists(st.integers(0, 400), min_size=len(points), max_size=len(points))
    )
    b = buildings(points, households)
    r = walking_access(b, roads=lattice(), service_centres=centre(cx * STEP, cy * STEP))
    expected = np.array([abs(x - cx * STEP) + abs(y - cy * STEP) for x, y in points])
    np.testing.assert_allclose(r.buildings["walk_m"].to_numpy(), expected, atol=0.1)
    row = r.communities.iloc[0]
    h = np.array(households, dtype=float)
    if h.sum() > 0:
        assert row["mean_walk_m"] == pytest.approx((expected * h).sum() / h.sum(), abs=0.1)
        if not np.any(np.abs(expected - 300) < 0.2):  # no walk on the threshold itself
            share = h[expected <= 300].sum() / h.sum()
            assert row["share_within_5min"] == pytest.approx(share, abs=1e-4)
    assert row["centre_source"] == "given"


def test_shares_mean_and_p90_on_known_buildings():
    # walks 0, 100, 300, 500, 800 m with 10, 20, 30, 20, 20 households
    pts = [(200, 200), (300, 200), (400, 300), (100, 0), (0, 0)]
    walks = [0.0, 100.0, 300.0, 300.0, 400.0]
    hh = [10, 20, 30, 20, 20]
    r = walking_access(buildings(pts, hh), roads=lattice(), service_centres=centre(200, 200))
    np.testing.assert_allclose(r.buildings["walk_m"], walks, atol=0.1)
    row = r.communities.iloc[0]
    assert row["mean_walk_m"] == pytest.approx(
        (0 * 10 + 100 * 20 + 300 * 50 + 400 * 20) / 100, abs=0.1
    )
    assert row["share_within_5min"] == pytest.approx(0.8)  # 300 m counts as within
    assert row["share_within_10min"] == pytest.approx(1.0)
    assert row["p90_walk_m"] == pytest.approx(400.0, abs=0.1)
    # the thresholds are the rules': a 200 m "5 minutes" changes the share
    rules = get_preset().with_values(walk_5min_m=200.0)
    r2 = walking_access(
        buildings(pts, hh), roads=lattice(), service_centres=centre(200, 200), rules=rules
    )
    assert r2.communities.iloc[0]["share_within_5min"] == pytest.approx(0.3)


def test_a_building_off_the_street_walks_its_connector_first():
    b = gpd.GeoDataFrame(
        {"households": [40], "community_id": ["A"]},
        geometry=[box(X0 + 329.95, Y0 + 218, X0 + 330.05, Y0 + 222)],  # 18 m north of y=200
        crs=CRS,
    )
    r = walking_access(b, roads=lattice(), service_centres=centre(200, 200))
    assert r.buildings["connector_m"].iloc[0] == pytest.approx(18.0, abs=0.01)
    assert r.buildings["walk_m"].iloc[0] == pytest.approx(18 + 130, abs=0.1)
    assert r.communities.iloc[0]["straight_mean_m"] == pytest.approx(np.hypot(130, 20), abs=0.1)


def test_each_community_walks_to_its_own_centre():
    pts = [(100, 200), (300, 200)]
    b = buildings(pts, [50, 50], community=["W", "E"])
    centres = gpd.pd.concat([centre(0, 200, "W", "西"), centre(400, 400, "E", "东")])
    centres = gpd.GeoDataFrame(centres, crs=CRS)
    r = walking_access(b, roads=lattice(), service_centres=centres)
    # the east building's own centre is 300 m away, although the west one is 300 m as well
    # and the west building's is 100 m
    assert r.buildings["walk_m"].tolist() == pytest.approx([100.0, 300.0], abs=0.1)
    assert r.buildings["centre"].tolist() == ["西", "东"]


def test_the_nearest_of_a_communitys_centres():
    centres = gpd.GeoDataFrame(
        gpd.pd.concat([centre(0, 0, name="一"), centre(400, 400, name="二")]), crs=CRS
    )
    r = walking_access(
        buildings([(300, 400), (0, 100)], [1, 1]), roads=lattice(), service_centres=centres
    )
    assert r.buildings["walk_m"].tolist() == pytest.approx([100.0, 100.0], abs=0.1)
    assert r.buildings["centre"].tolist() == ["二", "一"]


def test_a_community_without_centre_gets_the_best_site_and_is_told():
    rng = np.random.default_rng(7)
    pts = [(float(x), float(y)) for x, y in rng.integers(0, N + 1, size=(15, 2)) * STEP]
    hh = rng.integers(1, 200, size=15).tolist()
    r = walking_access(buildings(pts, hh), roads=lattice())
    row = r.communities.iloc[0]
    assert row["centre_source"] == "recommended"
    # brute force: the household-weighted Manhattan mean of every junction
    h = np.array(hh, dtype=float)
    xy = np.array(pts)
    best = (
        min(
            float(h @ (np.abs(xy[:, 0] - i * STEP) + np.abs(xy[:, 1] - j * STEP)))
            for i, j in itertools.product(range(N + 1), repeat=2)
        )
        / h.sum()
    )
    assert row["mean_walk_m"] == pytest.approx(best, abs=0.1)
    assert any("no service centre" in m for m in r.messages("en"))
    assert any("党群服务中心" in m for m in r.messages("zh_CN"))
    assert r.centres["source"].tolist() == ["recommended"]


def test_a_non_residential_building_can_be_the_recommended_site():
    # all households at the middle of a street edge; a public building sits right there
    b = gpd.GeoDataFrame(
        {
            "households": [100, 0],
            "community_id": ["A", "A"],
            "is_residential": [True, False],
        },
        geometry=[dot(150, 200), dot(152, 200)],
        crs=CRS,
    )
    r = walking_access(b, roads=lattice())
    assert r.communities.iloc[0]["mean_walk_m"] == pytest.approx(2.0, abs=0.1)
    assert "-B" in r.centres["centre"].iloc[0]


def test_railways_are_not_walked_and_islands_are_left_out_with_a_note():
    shortcut = LineString([(X0, Y0), (X0 + 200, Y0 + 200)])  # a diagonal railway
    island = LineString([(X0 + 1000, Y0), (X0 + 1500, Y0)])  # a path drawn apart
    roads = lattice([shortcut, island], ["rail", "footway"])
    r = walking_access(buildings([(0, 0)], [10]), roads=roads, service_centres=centre(200, 200))
    assert r.buildings["walk_m"].iloc[0] == pytest.approx(400.0, abs=0.1)
    assert r.network.dropped_length_m == pytest.approx(500.0, abs=0.1)
    assert any("do not connect" in m for m in r.messages("en"))


def test_crossing_paths_are_junctions():
    # a footpath crossing the lattice diagonally without a shared vertex is joined where it crosses
    diagonal = LineString([(X0 - 50, Y0 - 50), (X0 + 450, Y0 + 450)])
    net = walking_network(lattice([diagonal]), crs=CRS)
    r = walking_access(
        buildings([(0, 0)], [10]), roads=lattice([diagonal]), service_centres=centre(400, 400)
    )
    assert r.buildings["walk_m"].iloc[0] == pytest.approx(400 * np.sqrt(2), abs=0.1)
    assert net.n_nodes == 25 + 2  # the diagonal meets the lattice at its junctions


def test_no_walkable_road_is_a_clear_error():
    roads = lattice()
    roads["road_class"] = "rail"
    with pytest.raises(InfeasibleError, match="walk"):
        walking_access(buildings([(0, 0)], [1]), roads=roads)


def test_life_circle_rules_are_cited_and_must_grow():
    rules = get_preset()
    assert (rules.walk_5min_m, rules.walk_10min_m, rules.walk_15min_m) == (300, 500, 1000)
    assert "GB/T 50180-2018" in rules.cite("walk_15min_m")
    with pytest.raises(RulesError):
        rules.with_values(walk_10min_m=200.0)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 6),
    m=st.integers(2, 5),
    p=st.integers(1, 3),
    seed=st.integers(0, 10_000),
)
def test_p_median_is_optimal(n, m, p, seed):
    p = min(p, m)
    rng = np.random.default_rng(seed)
    costs = rng.integers(0, 100, size=(n, m)).astype(float)
    weights = rng.integers(1, 10, size=n).astype(float)
    chosen = p_median(costs, weights, p=p)
    assert len(chosen) == p

    def value(cols):
        return float(weights @ costs[:, list(cols)].min(axis=1))

    best = min(value(c) for c in itertools.combinations(range(m), p))
    assert value(chosen) == pytest.approx(best)


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(0, 1e4), min_size=1, max_size=20),
    q=st.floats(0.01, 1.0),
    data=st.data(),
)
def test_weighted_quantile_splits_the_weight(values, q, data):
    weights = data.draw(st.lists(st.integers(1, 50), min_size=len(values), max_size=len(values)))
    v, w = np.array(values), np.array(weights, dtype=float)
    x = weighted_quantile(v, w, q)
    assert w[v <= x].sum() >= q * w.sum() - 1e-6
    assert w[v < x].sum() < q * w.sum() + 1e-6


def test_a_face_along_the_street_joins_it_all_along():
    # a 60 m slab whose south face runs 18 m from street y=200, from x=300 to x=360: its
    # residents step out at the west end of that stretch, 100 m from the centre at (200, 200)
    b = gpd.GeoDataFrame(
        {"households": [40], "community_id": ["A"]},
        geometry=[box(X0 + 300, Y0 + 218, X0 + 360, Y0 + 230)],
        crs=CRS,
    )
    r = walking_access(b, roads=lattice(), service_centres=centre(200, 200))
    assert r.buildings["walk_m"].iloc[0] == pytest.approx(18 + 100, abs=0.3)


def test_walks_do_not_depend_on_how_densely_the_roads_are_drawn():
    import shapely

    rng = np.random.default_rng(3)
    boxes = []
    for x, y in rng.uniform(5, 395, size=(30, 2)):
        w, h = rng.uniform(5, 40, size=2)
        boxes.append(box(X0 + x, Y0 + y, X0 + min(x + w, 399), Y0 + min(y + h, 399)))
    b = gpd.GeoDataFrame(
        {"households": 10, "community_id": "A"}, index=range(30), geometry=boxes, crs=CRS
    )
    roads = lattice()
    dense = roads.copy()
    dense["geometry"] = shapely.segmentize(dense.geometry.values, 3.0)
    sparse_walks = walking_access(b, roads=roads, service_centres=centre(200, 200)).buildings
    dense_walks = walking_access(b, roads=dense, service_centres=centre(200, 200)).buildings
    np.testing.assert_allclose(dense_walks["walk_m"], sparse_walks["walk_m"], atol=0.3)
