"""Enclosed tessellation: every block divided among its footprints, exactly and validly."""

from __future__ import annotations

import warnings

import geopandas as gpd
import momepy
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.datasets.synthetic import make_district
from planning.territory import barrier_lines, enclosed_tessellation, enclosures, territories

CRS = "EPSG:4548"


def _frame(geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=geoms, crs=CRS)


def _tiles(cells: gpd.GeoDataFrame, blocks: gpd.GeoDataFrame) -> None:
    """The cells are valid polygons, cover every block and overlap nowhere."""
    assert cells.is_valid.all()
    assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}
    for b, block in enumerate(blocks.geometry.values):
        mine = cells.geometry.values[cells["enclosure_index"].to_numpy() == b]
        assert abs(shapely.area(mine).sum() - block.area) < 1e-3 * block.area
        assert (
            shapely.area(shapely.symmetric_difference(shapely.union_all(mine), block))
            < 1e-3 * block.area
        )


def test_awkward_footprints_still_tile_their_blocks() -> None:
    # axis-aligned boxes (co-circular vertices that make GEOS return overlapping cells
    # without the jitter), footprints thinner than the shrink, and a duplicated footprint
    blocks = _frame(
        [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100), shapely.box(0, 100, 100, 200)]
    )
    footprints = _frame(
        [
            shapely.box(10, 10, 10.5, 10.5),
            shapely.box(50, 50, 50.6, 50.6),
            shapely.box(110, 10, 130, 30),
            shapely.box(150, 50, 170, 90),
            shapely.box(20, 120, 20.5, 120.5),
            shapely.box(20, 120, 20.5, 120.5),
        ]
    )
    cells = enclosed_tessellation(footprints, blocks)
    _tiles(cells, blocks)
    # the two thin footprints of block 0 each got a cell of their own
    assert sorted(cells.index[cells["enclosure_index"] == 0]) == [0, 1]


def test_a_block_without_footprints_is_a_cell_of_its_own() -> None:
    blocks = _frame([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    footprints = _frame([shapely.box(10, 10, 30, 30), shapely.box(60, 60, 80, 80)])
    cells = enclosed_tessellation(footprints, blocks)
    _tiles(cells, blocks)
    assert (cells.index[cells["enclosure_index"] == 1] < 0).all()


def test_same_cells_as_momepy_on_buildings() -> None:
    """The algorithm is momepy's: on ordinary footprints the cells are momepy's cells."""
    layers = make_district(3_000, seed=4)
    community = layers["communities"].to_crs(CRS)
    blocks = momepy.enclosures(layers["roads"].to_crs(CRS), limit=community, clip=True)
    blocks = blocks[blocks.area > 1e-6].reset_index(drop=True)
    footprints = _frame(list(layers["buildings"].to_crs(CRS).geometry.values))
    ours = enclosed_tessellation(footprints, blocks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # momepy's FutureWarnings about its defaults
        theirs = momepy.enclosed_tessellation(footprints, blocks, segment=1.0, n_jobs=1)
    _tiles(ours, blocks)
    mine, other = ours[ours.index >= 0], theirs[theirs.index >= 0]
    assert sorted(mine.index) == sorted(other.index)
    moved = shapely.area(
        shapely.symmetric_difference(mine.geometry.values, other.loc[mine.index].geometry.values)
    )
    assert moved.sum() / 2 < 1e-3 * blocks.area.sum()


def test_same_blocks_as_momepy() -> None:
    """The blocks are momepy's, in its order: roads and rivers of the generated district
    and the Beijing sample, compound edges and walls as additional barriers."""
    from gis.io import read_project
    from planning.communities import prepare

    cases = [make_district(3_000, seed=s) for s in (1, 4)]
    beijing = prepare(read_project("data/beijing.gpkg"))
    names = ("roads", "waterways", "compounds", "barriers")
    cases.append({name: getattr(beijing.project, name) for name in names})
    cases[-1]["communities"] = beijing.communities
    for layers in cases:
        community = layers["communities"].to_crs(CRS)
        limit = gpd.GeoSeries([shapely.union_all(community.geometry.values)], crs=CRS)
        primary = gpd.GeoSeries(
            barrier_lines([layers["roads"], layers.get("waterways")], CRS), crs=CRS
        )
        extra = gpd.GeoSeries(
            barrier_lines([layers.get("barriers"), layers.get("compounds")], CRS)
            + list(shapely.boundary(community.geometry.values)),
            crs=CRS,
        )
        for additional in ([], [extra]):
            theirs = momepy.enclosures(
                primary, limit=limit, additional_barriers=additional or None, clip=True
            )
            ours = enclosures(primary, limit=limit, additional=additional, clip=True)
            assert len(ours) > (5 if additional else 0)
            assert ours.index.tolist() == theirs.index.tolist()
            assert ours["eID"].tolist() == theirs["eID"].tolist()
            assert all(
                a.equals_exact(b, 0) for a, b in zip(ours.geometry, theirs.geometry, strict=True)
            )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(2, 90),
            st.floats(2, 90),
            st.floats(0.3, 25),
            st.floats(0.3, 25),
            st.floats(0, 90),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_random_footprints_tile_the_block(
    boxes: list[tuple[float, float, float, float, float]],
) -> None:
    block = shapely.box(0, 0, 100, 100)
    geoms = []
    for x, y, w, h, angle in boxes:
        footprint = shapely.affinity.rotate(
            shapely.box(x, y, min(x + w, 99), min(y + h, 99)), angle
        )
        footprint = shapely.intersection(footprint, block)
        if footprint.area > 0.01:
            geoms.append(footprint)
    if not geoms:
        return
    # overlapping footprints are cut apart first in ``territories``; here too
    kept: list[shapely.Geometry] = []
    for g in geoms:
        rest = shapely.difference(g, shapely.union_all(kept)) if kept else g
        if rest.area > 0.01 and rest.geom_type == "Polygon":
            kept.append(rest)
    if not kept:
        return
    blocks = _frame([block])
    cells = enclosed_tessellation(_frame(kept), blocks)
    _tiles(cells, blocks)
    # every footprint seeds one cell
    assert sorted(cells.index[cells.index >= 0]) == list(range(len(kept)))


def test_territories_tile_the_communities() -> None:
    layers = make_district(3_000, seed=5)
    cells = territories(
        layers["buildings"],
        communities=layers["communities"],
        roads=layers["roads"],
        compounds=layers["compounds"],
    )
    total = layers["communities"].to_crs(cells.crs).area.sum()
    assert abs(cells.area.sum() - total) < 1.0
    assert cells.is_valid.all()


def test_polygons_nested_in_a_collection_are_kept() -> None:
    from planning.territory import _polygonal

    nested = shapely.GeometryCollection(
        [
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]),
            shapely.LineString([(0, 0), (5, 5)]),
        ]
    )
    [kept] = _polygonal(np.array([nested], dtype=object))
    assert kept.area == 2.0 and kept.geom_type == "MultiPolygon"
