"""Invariants of the synthetic district generator (``gis.datasets.synthetic``)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.datasets.synthetic import (
    GEOGRAPHIC_CRS,
    LAYER_NAMES,
    METRIC_CRS,
    make_district,
    write_district,
)

SIZES = (3_000, 12_000, 100_000)
FLOORS = {
    "tower": (18, 33),
    "slab": (9, 12),
    "walkup": (5, 7),
    "lowrise": (2, 3),
    "school": (3, 5),
    "shop": (1, 3),
    "office": (5, 20),
}
GEOMETRY_TYPES = {
    "buildings": "Polygon",
    "communities": "Polygon",
    "compounds": "Polygon",
    "roads": "LineString",
    "waterways": "LineString",
    "barriers": "LineString",
    "service_centres": "Point",
}
HAN = re.compile(r"^[\u4e00-\u9fff0-9]+$")


@dataclass(frozen=True)
class District:
    households: int
    layers: dict[str, gpd.GeoDataFrame]  # as returned, EPSG:4490
    metric: dict[str, gpd.GeoDataFrame]  # the same, in EPSG:4548


@functools.cache
def _district(households: int, seed: int = 0) -> District:
    """Generate (once per session) a district; treat its frames as read-only."""
    layers = make_district(households, seed=seed)
    metric = {name: frame.to_crs(METRIC_CRS) for name, frame in layers.items()}
    return District(households, layers, metric)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n // 1000}k")
def district(request: pytest.FixtureRequest) -> District:
    return _district(request.param)


@pytest.fixture
def large() -> District:
    return _district(100_000)


def _check_geometry(d: District) -> None:
    """Topological invariants, in the metric CRS."""
    buildings, compounds, communities = (
        d.metric["buildings"],
        d.metric["compounds"],
        d.metric["communities"],
    )
    # Buildings: valid, pairwise disjoint, inside their own compound.
    footprints = buildings.geometry.values
    assert shapely.is_valid(footprints).all()
    i, j = shapely.STRtree(footprints).query(footprints, predicate="intersects")
    overlap = shapely.area(shapely.intersection(footprints[i[i < j]], footprints[j[i < j]]))
    assert overlap.sum() < 1e-6
    compound = compounds.set_index("compound_id").geometry
    assert shapely.within(footprints, compound.loc[buildings["compound_id"]].values).all()
    # Compounds: inside the community they name, touching no other.
    community = communities.set_index("community_id").geometry
    assert shapely.within(
        compounds.geometry.values, community.loc[compounds["community_id"]].values
    ).all()
    hits = shapely.STRtree(communities.geometry.values).query(
        compounds.geometry.values, predicate="intersects"
    )
    assert np.bincount(hits[0], minlength=len(compounds)).max() == 1
    # Communities: single polygons tiling a rectangle, vertex-matched.
    areas = communities.area
    union = shapely.union_all(communities.geometry.values)
    assert (communities.geom_type == "Polygon").all()
    assert abs(union.area - areas.sum()) < 1.0
    assert abs(union.envelope.area - union.area) < 1.0
    assert shapely.coverage_is_valid(communities.geometry.values)


# --------------------------------------------------------------------------
# Layers, totals, determinism
# --------------------------------------------------------------------------


def test_layers_crs_and_geometry_types(district: District) -> None:
    assert tuple(district.layers) == LAYER_NAMES
    for name, frame in district.layers.items():
        assert frame.crs == GEOGRAPHIC_CRS, name
        assert set(frame.geom_type) <= {GEOMETRY_TYPES[name]}, name
    assert len(district.layers["buildings"]) > 0


def test_households_total_is_exact(district: District) -> None:
    total = int(district.layers["buildings"]["households"].sum())
    assert abs(total - district.households) <= 0.02 * district.households
    assert total == district.households


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    first, again, other = (make_district(3_000, seed=s) for s in (7, 7, 8))
    for name in LAYER_NAMES:
        assert_geodataframe_equal(first[name], again[name], check_less_precise=False)
    assert not first["buildings"].to_wkb().equals(other["buildings"].to_wkb())


def test_origin_is_the_south_west_corner() -> None:
    communities = make_district(3_000, seed=2, origin=(116.5, 39.9))["communities"]
    xmin, ymin, _, _ = communities.to_crs(METRIC_CRS).total_bounds
    corner = gpd.GeoSeries([shapely.Point(xmin, ymin)], crs=METRIC_CRS).to_crs(GEOGRAPHIC_CRS)
    assert (corner.x[0], corner.y[0]) == pytest.approx((116.5, 39.9), abs=1e-9)


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------


def test_geometry_invariants(district: District) -> None:
    _check_geometry(district)


@settings(max_examples=12, deadline=None)
@given(households=st.integers(1_000, 15_000), seed=st.integers(0, 2**32 - 1))
def test_any_seed_and_size_holds_the_invariants(households: int, seed: int) -> None:
    d = _district(households, seed)
    assert int(d.layers["buildings"]["households"].sum()) == households
    _check_geometry(d)


def test_roads_run_between_compounds(district: District) -> None:
    roads, compounds = district.metric["roads"], district.metric["compounds"]
    assert set(roads["road_class"]) <= {"primary", "secondary", "residential"}
    primary = roads["road_class"] == "primary"
    assert roads.loc[primary, "width_m"].between(30, 40).all()
    assert roads.loc[~primary, "width_m"].between(10, 20).all()
    assert roads["name"].str.match(HAN).all()
    # Centre lines never enter a compound: compounds sit back from the kerb.
    crossing = shapely.STRtree(compounds.geometry.values).query(
        roads.geometry.values, predicate="intersects"
    )
    assert crossing.size == 0
    # Noded network: segments only meet at their end points.
    segments = roads.geometry.values
    assert shapely.STRtree(segments).query(segments, predicate="crosses").size == 0


def test_river_replaces_a_road_line() -> None:
    d = next(d for d in (_district(12_000, s) for s in range(10)) if len(d.layers["waterways"]))
    river = d.metric["waterways"]
    assert len(river) == 1
    assert river["kind"].eq("river").all()
    assert river["width_m"].between(20, 40).all()
    assert not shapely.intersects(
        river.geometry.iloc[0], d.metric["compounds"].geometry.values
    ).any()
    assert not shapely.contains(
        river.geometry.iloc[0].buffer(1e-6), d.metric["roads"].geometry.values
    ).any()


def test_walls_trace_walled_compounds(district: District) -> None:
    barriers, compounds = district.metric["barriers"], district.metric["compounds"]
    walled = compounds[compounds["walled"]].set_index("compound_id")
    assert barriers["kind"].eq("wall").all()
    assert sorted(barriers["compound_id"]) == sorted(walled.index)
    boundary = walled.geometry.loc[barriers["compound_id"]].boundary.values
    assert (shapely.hausdorff_distance(barriers.geometry.values, boundary) < 1e-6).all()
    assert walled.shape[0] >= 0.5 * len(compounds)


def test_service_centre_inside_each_community(district: District) -> None:
    centres, communities = district.metric["service_centres"], district.metric["communities"]
    assert list(centres["community_id"]) == list(communities["community_id"])
    assert shapely.within(centres.geometry.values, communities.geometry.values).all()
    assert centres["name"].str.endswith("社区党群服务中心").all()
    assert (centres["floor_area_m2"] > 0).all()


def test_density_is_urban(district: District) -> None:
    area_km2 = district.metric["communities"].area.sum() / 1e6
    assert 10_000 <= district.households / area_km2 <= 30_000


# --------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------


def test_building_kinds_floors_and_households(large: District) -> None:
    b = large.layers["buildings"]
    assert set(b["kind"]) == set(FLOORS)
    for kind, (low, high) in FLOORS.items():
        assert b.loc[b["kind"] == kind, "floors"].between(low, high).all(), kind
    homes = b[b["is_residential"]]
    other = b[~b["is_residential"]]
    assert set(homes["kind"]) == {"tower", "slab", "walkup", "lowrise"}
    assert (other["households"] == 0).all() and (other["units"] == 0).all()
    assert (homes["households"] > 0).all()
    for kind, units in {"tower": (2, 4), "slab": (2, 4), "walkup": (1, 4)}.items():
        assert homes.loc[homes["kind"] == kind, "units"].between(*units).all(), kind
    lattice = homes[homes["kind"].isin(["walkup", "slab"])]
    assert (lattice["households"] == 2 * lattice["units"] * lattice["floors"]).all()
    towers = homes[homes["kind"] == "tower"]
    assert towers["households"].between(72, 396).all()
    assert (towers["households"] <= 4 * towers["units"] * towers["floors"]).all()
    assert homes.loc[homes["kind"] == "lowrise", "households"].between(6, 30).all()


def test_building_roster_fields(district: District) -> None:
    b = district.layers["buildings"]
    assert b["building_id"].is_unique and b["building_id"].str.fullmatch(r"B\d{6}").all()
    assert b["households_source"].eq("roster").all()
    assert b["name"].str.contains("号").all()
    homes = b[b["households"] > 0]
    ratio = homes["residents"] / homes["households"]
    assert ratio.between(2.4 - 0.5 / 6, 2.8 + 0.5 / 6).all()
    assert (b["special_service_households"] <= b["households"]).all()
    share = b["special_service_households"].sum() / b["households"].sum()
    assert 0.01 < share < 0.05
    compounds = district.layers["compounds"].set_index("compound_id")
    assert (
        b["community_id"].values == compounds.loc[b["compound_id"], "community_id"].values
    ).all()


def test_compounds(district: District) -> None:
    compounds, buildings = district.layers["compounds"], district.layers["buildings"]
    assert compounds["compound_id"].str.fullmatch(r"C\d{4}").all()
    assert compounds["name"].str.match(HAN).all()
    per_block = compounds.groupby("block_id").size()
    assert per_block.between(1, 4).all()
    totals = buildings.groupby("compound_id")["households"].sum()
    expected = totals.reindex(compounds["compound_id"], fill_value=0).to_numpy()
    assert (compounds["households"].to_numpy() == expected).all()
    empty_blocks = compounds.groupby("block_id")["households"].sum().eq(0).mean()
    if district.households >= 12_000:
        assert 0.02 <= empty_blocks <= 0.25  # parks, schools, offices
        assert compounds["households"].max() >= 1_000


@pytest.mark.parametrize("households", [12_000, 100_000])
def test_tiny_walled_compound_exists(households: int) -> None:
    compounds = _district(households).layers["compounds"]
    tiny = compounds["walled"] & compounds["households"].between(1, 29)
    assert tiny.any()


def test_communities(district: District) -> None:
    c, b = district.layers["communities"], district.layers["buildings"]
    expected = max(1, round(district.households / 5300))
    assert len(c) == expected
    assert c["community_id"].is_unique
    assert c["community_id"].str.fullmatch(r"110108\d{6}").all()
    assert (c["community_id"].str[6:9] == c["street_code"]).all()
    assert c["district_code"].eq("110108").all()
    assert c["name"].str.endswith("社区").all() and c["street"].str.endswith("街道").all()
    assert c.groupby("street_code")["street"].nunique().eq(1).all()
    by_building = b.groupby("community_id")[["households", "residents"]].sum()
    summed = by_building.loc[c["community_id"]]
    assert (summed["households"].to_numpy() == c["households"].to_numpy()).all()
    assert (summed["residents"].to_numpy() == c["residents"].to_numpy()).all()
    assert (c["households"] > 0).all()
    assert (c["staff"] >= np.floor(c["households"] / 400)).all()
    assert (c["staff"] <= np.ceil(c["households"] / 300)).all()


def test_community_sizes_vary(large: District) -> None:
    sizes = large.layers["communities"]["households"]
    assert len(sizes) == 19
    assert sizes.between(3_000, 6_000).mean() > 0.5
    assert (sizes > 6_000).any()  # oversized, for the split engine
    assert (sizes < 3_000).any()


def test_n_communities_can_be_chosen() -> None:
    layers = make_district(12_000, n_communities=4, seed=3)
    assert len(layers["communities"]) == 4
    assert layers["buildings"]["community_id"].nunique() == 4


# --------------------------------------------------------------------------
# Validation and output
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"households": 999},
        {"households": 12_000, "n_communities": 0},
        {"households": 3_000, "n_communities": 400},
        {"households": 3_000, "district_code": "1101"},
        {"households": 3_000, "origin": (121.47, 31.23)},
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_district(**kwargs)  # type: ignore[arg-type]


def test_write_district_round_trip(tmp_path) -> None:
    layers = make_district(3_000, seed=4)
    path = tmp_path / "district.gpkg"
    path.write_bytes(b"stale")
    assert write_district(layers, str(path)) == path
    assert dict(pyogrio.list_layers(path)) == GEOMETRY_TYPES
    buildings = gpd.read_file(path, layer="buildings")
    assert buildings.crs == GEOGRAPHIC_CRS
    assert len(buildings) == len(layers["buildings"])
    assert buildings["households"].sum() == 3_000
    assert buildings["is_residential"].dtype == bool
