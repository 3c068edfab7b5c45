"""The overlap audit on fishnets whose shares are known by construction.

Our grids: a 4 × 4 fishnet of 100 m cells. The other system: a fishnet of 200 m cells
shifted east by ``dx``::

    ours   |----|----|----|----|        each of our cells has (100 - dx) % of its area
    theirs    |---------|---------|     in one unit and dx % in the next (dx < 100)
           0  dx        200+dx
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import box

from gis.errors import FieldError, GeometryError
from planning.overlap import grid_overlap
from planning.rules import get_preset

CRS = "EPSG:4548"
X0, Y0 = 500_000.0, 4_400_000.0


def ours(n: int = 4, step: float = 100.0) -> gpd.GeoDataFrame:
    cells = [
        (f"G{r}{c}", box(X0 + c * step, Y0 + r * step, X0 + (c + 1) * step, Y0 + (r + 1) * step))
        for r in range(n)
        for c in range(n)
    ]
    return gpd.GeoDataFrame(
        {"grid_code": [c for c, _ in cells]}, geometry=[g for _, g in cells], crs=CRS
    )


def theirs(dx: float, step: float = 200.0) -> gpd.GeoDataFrame:
    cells = [
        (
            f"U{r}{c}",
            box(X0 + dx + c * step, Y0 + r * step, X0 + dx + (c + 1) * step, Y0 + (r + 1) * step),
        )
        for r in range(2)
        for c in range(-1, 3)
    ]
    return gpd.GeoDataFrame(
        {"网格编码": [c for c, _ in cells]}, geometry=[g for _, g in cells], crs=CRS
    )


@settings(max_examples=20, deadline=None)
@given(dx=st.floats(2.0, 98.0))
def test_shares_on_a_shifted_fishnet(dx):
    r = grid_overlap(ours(), theirs(dx))
    g = r.grids.set_index("grid_code")
    for code, row in g.iterrows():
        col = int(code[2])
        # our cell [100c, 100c+100] against their edges at dx + 200k
        edge = X0 + dx + 200 * ((col * 100 - dx) // 200 + 1)  # first edge east of our west side
        left = min(max(edge - (X0 + col * 100), 0), 100)
        shares = sorted([left / 100, 1 - left / 100], reverse=True)
        shares = [s for s in shares if s >= 0.01]
        assert [u["share"] for u in row["units"]] == pytest.approx(shares, abs=1e-4)
        assert row["max_share"] == pytest.approx(shares[0], abs=1e-4)
        assert row["aligned"] == (shares[0] >= 0.9)
    # each of our columns holds the same split, so the aligned share is all or nothing
    assert r.summary["aligned_share"] == pytest.approx(
        float(np.mean([row["max_share"] >= 0.9 for _, row in g.iterrows()]))
    )


def test_an_aligned_fishnet_and_its_boundaries():
    r = grid_overlap(ours(), theirs(0.0))
    assert r.summary["aligned_share"] == 1.0
    assert (r.grids["max_share"] == 1.0).all()
    assert r.grids["n_units"].eq(1).all()
    # our boundary network: 5 vertical + 5 horizontal lines of 400 m = 4,000 m; theirs runs
    # along x = 0, 200, 400 (3 × 400 m) and y = 0, 200, 400 (3 × 400 m): 2,400 m; our four
    # other lines come within 5 m of theirs where they cross them: 5 + 10 + 5 m each
    assert r.summary["boundary_coincidence"] == pytest.approx((2400 + 4 * 20) / 4000, abs=1e-4)
    # a corner cell has two sides on theirs (200 m) and 5 m of each other side near them
    corner = r.grids.set_index("grid_code").loc["G00"]
    assert corner["boundary_coincidence"] == pytest.approx(210 / 400, abs=1e-4)
    # each of their units holds four of our grids: cut, the largest piece a quarter
    units = r.units.set_index("id")
    assert units.loc["U00", "n_grids"] == 4
    assert units.loc["U00", "cut_share"] == pytest.approx(0.75)
    assert r.summary["units_cut"] == 4


def test_boundaries_within_the_tolerance_coincide():
    near = grid_overlap(ours(), theirs(4.0))  # 4 m off: within 5 m
    far = grid_overlap(ours(), theirs(6.0))
    assert near.summary["boundary_coincidence"] == pytest.approx((2400 + 80) / 4000, abs=1e-4)
    assert far.summary["boundary_coincidence"] < 0.35  # only the horizontal lines
    strict = grid_overlap(
        ours(), theirs(4.0), rules=get_preset().with_values(boundary_tolerance_m=1.0)
    )
    assert strict.summary["boundary_coincidence"] < 0.35
    # a 4 m shift leaves slivers of 4 %: listed; 0.5 m leaves 0.5 %: not
    assert grid_overlap(ours(), theirs(4.0)).grids["n_units"].max() == 2
    assert grid_overlap(ours(), theirs(0.5)).grids["n_units"].max() == 1


def test_a_unit_inside_one_grid_is_not_cut():
    mine = ours(1, 400.0)
    r = grid_overlap(mine, theirs(0.0))
    assert not r.units["cut"].any()
    assert r.grids["n_units"].iloc[0] == 4  # four 200 m units inside our one 400 m grid
    assert r.grids["max_share"].iloc[0] == pytest.approx(0.25)


def test_other_ids_are_found_or_named_or_refused():
    other = theirs(0.0).rename(columns={"网格编码": "whatever"})
    r = grid_overlap(ours(), other)
    assert r.grids["main_unit"].str.startswith("U").all()
    r = grid_overlap(ours(), other, other_id="whatever")
    assert set(r.units["id"]) <= set(other["whatever"])
    with pytest.raises(FieldError, match="no column"):
        grid_overlap(ours(), other, other_id="编码")
    lines = gpd.GeoDataFrame(geometry=other.boundary, crs=CRS)
    with pytest.raises(GeometryError, match="polygons"):
        grid_overlap(ours(), lines)


def _grids(loaded, **kwargs):
    """The grid engine's grids for a prepared district (``community_ids``… as given)."""
    from planning.grids import make_grids

    p = loaded.project
    return make_grids(
        p.buildings,
        communities=loaded.communities,
        roads=p.roads,
        waterways=p.waterways,
        barriers=p.barriers,
        compounds=p.compounds,
        **kwargs,
    ).grids


def _fishnet(grids, step: float = 170.0):
    """An urban-management fishnet over ``grids`` that follows no road."""
    x0, y0, x1, y1 = grids.to_crs(CRS).total_bounds
    return gpd.GeoDataFrame(
        geometry=[
            box(x, y, x + step, y + step)
            for x in np.arange(x0 - 13, x1, step)
            for y in np.arange(y0 - 29, y1, step)
        ],
        crs=CRS,
    )


def test_snap_regrids_along_the_other_boundaries_and_reports_the_cost():
    from gis.datasets.synthetic import make_district
    from gis.io import Project
    from planning.communities import prepare
    from planning.overlap import snap_grids

    layers = make_district(3_000, seed=5)
    names = ("buildings", "communities", "compounds", "roads", "waterways", "barriers")
    loaded = prepare(Project(**{k: layers[k] for k in names}))
    before = _grids(loaded)
    other = _fishnet(before)
    snap = snap_grids(loaded, other, before=before)
    cost = snap.cost
    assert set(cost.index) >= {"in_band_share", "mean_polsby_popper", "aligned_share"}
    assert (
        cost.loc["aligned_share", "before"] == grid_overlap(before, other).summary["aligned_share"]
    )
    # the boundaries became barriers: more of our grids sit in one unit, more edges coincide
    assert cost.loc["aligned_share", "after"] > cost.loc["aligned_share", "before"]
    assert cost.loc["boundary_coincidence", "after"] > cost.loc["boundary_coincidence", "before"]
    # households are kept
    assert snap.result.grids["households"].sum() == before["households"].sum()
    assert cost.loc["in_band_share", "change"] == pytest.approx(
        cost.loc["in_band_share", "after"] - cost.loc["in_band_share", "before"], abs=1e-4
    )


def test_snap_keeps_to_the_communities_the_grids_were_made_for():
    """Grids made for one community (as the app makes them for a split part) are snapped
    in that community only: the other communities are not re-gridded, and the cost
    compares grids of the same community before and after."""
    from gis.datasets.synthetic import make_district
    from gis.io import Project
    from planning.communities import prepare
    from planning.overlap import snap_grids

    layers = make_district(3_000, n_communities=2, seed=5)
    names = ("buildings", "communities", "compounds", "roads", "waterways", "barriers")
    loaded = prepare(Project(**{k: layers[k] for k in names}))
    assert len(loaded.communities) > 1
    first = str(loaded.communities["community_id"].iloc[0])
    before = _grids(loaded, community_ids=[first])
    other = _fishnet(before)
    snap = snap_grids(loaded, other, before=before)
    assert set(snap.result.grids["community_id"].astype(str)) == {first}
    assert snap.cost.loc["grids", "before"] == len(before)
    assert snap.cost.loc["grids", "after"] == len(snap.result.grids)
    assert snap.result.grids["households"].sum() == before["households"].sum()
