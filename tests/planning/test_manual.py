"""planning.manual: a drawn polygon snapped to atoms, so drawn parts tile the community."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import box

from gis.errors import GeometryError, InfeasibleError
from planning.manual import PROPOSAL_COLUMNS, snap_to_atoms
from planning.rules import get_preset


@pytest.fixture
def atoms() -> gpd.GeoDataFrame:
    """A 4 × 3 block of 100 m atoms in a metric CRS::

    y=200 +----+----+----+----+
          | 8  | 9  | 10 | 11 |
    y=100 +----+----+----+----+
          | 4  | 5  | 6  | 7  |
    y=0   +----+----+----+----+
          | 0  | 1  | 2  | 3  |     (row 0 sits at y = -100 … 0)
          x=0  100  200  300  400
    """
    geoms = [box(x, y, x + 100, y + 100) for y in (-100, 0, 100) for x in (0, 100, 200, 300)]
    households = [300, 500, 0, 700, 400, 400, 600, 100, 200, 900, 800, 500]
    return gpd.GeoDataFrame(
        {
            "households": households,
            "residents": [h * 2.5 for h in households],
            "special": [i % 3 for i in range(12)],
            "compound": [None] * 12,
            "buildings": [[(f"B{i:02d}", h)] if h else [] for i, h in enumerate(households)],
        },
        geometry=geoms,
        crs=4548,
    )


def test_a_polygon_takes_the_atoms_whose_point_it_holds(atoms):
    snapped = snap_to_atoms(atoms, box(-10, -110, 210, 210), crs=4548, community_id="X")
    assert snapped.labels.tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]
    parts = snapped.parts
    assert parts["part"].tolist() == [1, 2]
    assert parts["drawn"].tolist() == [True, False]
    assert parts["households"].tolist() == [2700, 2700]
    assert parts["residents"].tolist() == [6750, 6750]
    assert parts["required_staff"].tolist() == [11, 11]
    assert parts["deviation"].tolist() == [0.0, 0.0]
    assert parts["pieces"].tolist() == [1, 1]
    assert snapped.contiguous and snapped.max_deviation == 0.0


def test_the_parts_tile_the_community_exactly(atoms, rng):
    community = shapely.union_all(atoms.geometry.values)
    for _ in range(20):
        x0, y0 = rng.uniform(-50, 250, 2)
        polygon = box(x0, y0 - 100, x0 + rng.uniform(80, 250), y0 + rng.uniform(50, 200))
        try:
            snapped = snap_to_atoms(atoms, polygon, crs=4548)
        except InfeasibleError:
            continue  # a box that held no atom, or all of them
        parts = snapped.parts
        assert parts["households"].sum() == atoms["households"].sum()
        assert shapely.union_all(parts.geometry.values).symmetric_difference(community).area < 1e-6
        assert sum(shapely.area(parts.geometry.values)) == pytest.approx(community.area)
        assert snapped.labels.min() == 0 and snapped.labels.max() == len(parts) - 1


def test_lon_lat_drawings_are_reprojected(atoms):
    polygon = gpd.GeoSeries([box(-10, -110, 210, 210)], crs=4548).to_crs(4326).iloc[0]
    snapped = snap_to_atoms(atoms, polygon)  # lon/lat, as drawn on the map
    assert snapped.labels.tolist() == [0, 0, 1, 1] * 3


def test_several_polygons_make_several_parts_and_the_rest(atoms):
    drawn = gpd.GeoSeries([box(-10, -110, 110, 210), box(190, -110, 310, 210)], crs=4548)
    snapped = snap_to_atoms(atoms, drawn)
    assert snapped.labels.tolist() == [0, 2, 1, 2] * 3  # columns 1 and 3 are the rest
    assert snapped.parts["drawn"].tolist() == [True, True, False]
    assert snapped.parts["households"].tolist() == [900, 1400, 3100]
    mean = 5400 / 3
    assert snapped.parts["deviation"].tolist() == pytest.approx(
        [(h - mean) / mean for h in (900, 1400, 3100)]
    )


def test_two_polygons_covering_everything_leave_no_rest(atoms):
    drawn = gpd.GeoSeries([box(-10, -110, 210, 210), box(190, -110, 410, 210)], crs=4548)
    snapped = snap_to_atoms(atoms, drawn)
    assert snapped.parts["part"].tolist() == [1, 2]
    assert snapped.parts["drawn"].all()


def test_a_part_in_two_pieces_is_reported(atoms):
    snapped = snap_to_atoms(atoms, box(-10, -10, 410, 90), crs=4548)  # the middle row only
    assert snapped.parts["pieces"].tolist() == [1, 2]
    assert not snapped.contiguous
    assert any("several pieces" in r for r in snapped.reasons())


def test_reasons_are_translated(atoms):
    snapped = snap_to_atoms(atoms, box(-10, -110, 210, 210), crs=4548)
    en = snapped.reasons(rules=get_preset(), lang="en")
    assert en[0] == "drawn by hand"
    assert en[1] == "parts of 2700, 2700 households; the largest is 0.0% from the mean"
    assert "some parts fall outside the normal 3000–5000 households" in en


def test_proposals_and_lineage(atoms):
    snapped = snap_to_atoms(atoms, box(-10, -110, 210, 210), crs=4548, community_id="110108001001")
    layer = snapped.proposals("110108001001-D1")
    assert list(layer.columns) == PROPOSAL_COLUMNS
    assert layer.crs.to_epsg() == 4490
    assert layer["rank"].tolist() == [0, 0]
    assert set(layer["parent_community_id"]) == {"110108001001"}
    lineage = snapped.lineage(atoms)
    assert len(lineage) == 11  # every building with households, once
    assert lineage.groupby("to_community_id")["households"].sum().to_dict() == {
        "110108001001-1": 2700,
        "110108001001-2": 2700,
    }


def test_the_real_sample(beijing_loaded):
    """The sample's study area, divided along a north–south line through its middle."""
    from planning.split import propose_splits

    project = beijing_loaded.project
    result = propose_splits(
        beijing_loaded.buildings,
        community=beijing_loaded.communities.iloc[0],
        compounds=project.compounds,
    )
    minx, miny, maxx, maxy = beijing_loaded.communities.to_crs(4326).total_bounds
    west = box(minx - 0.001, miny - 0.001, (minx + maxx) / 2, maxy + 0.001)
    snapped = snap_to_atoms(result.atoms, west, community_id="000000000000")
    assert snapped.parts["households"].sum() == 9762
    lineage = snapped.lineage(result.atoms)
    assert lineage["households"].sum() == 9762  # every household moves to one new community
    assert set(lineage["building_id"]) <= set(beijing_loaded.buildings["building_id"])
    assert not lineage["building_id"].duplicated().any()
    assert snapped.parts["required_staff"].tolist() == [
        int(np.ceil(h / 250)) for h in snapped.parts["households"]
    ]


@pytest.mark.parametrize(
    ("polygon", "error", "match"),
    [
        (box(1000, 1000, 1100, 1100), InfeasibleError, "holds none"),
        (box(-500, -500, 900, 900), InfeasibleError, "holds all"),
        (shapely.LineString([(0, 0), (100, 100)]), GeometryError, "not a polygon"),
        ([], InfeasibleError, "Draw a polygon"),
    ],
)
def test_drawings_that_divide_nothing(atoms, polygon, error, match):
    with pytest.raises(error, match=match):
        snap_to_atoms(atoms, polygon, crs=4548)


def test_no_atoms(atoms):
    with pytest.raises(InfeasibleError, match="Run the split first"):
        snap_to_atoms(atoms.iloc[0:0], box(0, 0, 1, 1), crs=4548)


def test_an_alternative_adjusted_by_hand(atoms):
    """An engine alternative opened as labels; moving atoms between parts keeps the parts
    tiling the community, households conserved, staff recomputed, a broken part reported."""
    from planning.manual import from_labels, labels_from_parts, reassign

    labels = np.array([0, 0, 1, 1] * 3)  # west half, east half
    split = from_labels(atoms, labels, community_id="C", source="alternative 1")
    assert split.parts["households"].tolist() == [300 + 500 + 400 + 400 + 200 + 900, 0 + 700 + 600 + 100 + 800 + 500]
    assert split.reasons()[0] == "adjusted by hand from alternative 1"
    moved = reassign(split, atoms, [2, 6], 1)  # two atoms of the east column 2 go west
    assert moved.parts["households"].tolist() == [2700 + 600, 2700 - 600]
    assert moved.parts["required_staff"].tolist() == [int(np.ceil(h / 250)) for h in (3300, 2100)]
    assert moved.contiguous
    community = shapely.union_all(atoms.geometry.values)
    union = shapely.union_all(moved.parts.geometry.values)
    assert community.symmetric_difference(union).area < 1e-6
    assert moved.parts.geometry.area.sum() - community.area < 1e-6
    assert (moved.labels[[2, 6]] == 0).all() and (split.labels[[2, 6]] == 1).all()  # a new split
    # the east part's middle row (6, 7) taken: east is cut in two pieces, said so
    broken = reassign(split, atoms, [6, 7], 1)
    assert not broken.contiguous and "several pieces" in " ".join(broken.reasons())
    # a saved proposal opens with the same labels (its parts in EPSG:4490)
    props = moved.proposals("C-D1")
    assert labels_from_parts(atoms, props).tolist() == moved.labels.tolist()
    with pytest.raises(InfeasibleError, match="no part 3"):
        reassign(split, atoms, [0], 3)
    with pytest.raises(InfeasibleError, match="do not match"):
        from_labels(atoms, [0, 1], community_id="C")
    # every atom moved out of a part: the part is kept, empty
    emptied = reassign(split, atoms, np.flatnonzero(labels == 1), 1)
    assert emptied.parts["households"].tolist() == [5400, 0] and len(emptied.parts) == 2
