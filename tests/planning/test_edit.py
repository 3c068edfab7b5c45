"""Hand edits of a grid plan: every edit keeps tiling, households, one piece per grid and
the codes of the grids it did not touch; a refused edit changes nothing."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString

from gis.datasets.synthetic import make_district
from gis.errors import GridplanError
from planning.edit import (
    EditRefusedError,
    GridPlan,
    Piece,
    assign,
    lock,
    merge,
    move,
    redo,
    refresh_patches,
    regrid,
    split,
    undo,
)
from planning.grids import make_grids

METRIC = 4548


@pytest.fixture(scope="module")
def layers():
    return make_district(1_500, seed=2)


@pytest.fixture(scope="module")
def plan(layers):
    result = make_grids(
        layers["buildings"],
        communities=layers["communities"],
        roads=layers["roads"],
        compounds=layers["compounds"],
    )
    return GridPlan.from_result(
        result, buildings=layers["buildings"], communities=layers["communities"]
    )


def _neighbours(plan: GridPlan, code: str) -> list[str]:
    geom = plan.grid(code).geometry
    grids = plan.grids
    touching = grids[grids.geometry.intersects(geom) & (grids["grid_code"] != code)]
    metric = touching.to_crs(METRIC)
    shared = metric.geometry.intersection(gpd.GeoSeries([geom], crs=4490).to_crs(METRIC).iloc[0].boundary.buffer(0.01)).length
    return touching["grid_code"][shared.to_numpy() > 0.5].tolist()


def _assert_plan_holds(plan: GridPlan, total: int, buildings: pd.DataFrame) -> None:
    grids = plan.grids
    assert int(grids["households"].sum()) == total
    per_grid = plan.grid_members.groupby("grid_code")["households"].sum()
    assert per_grid.reindex(grids["grid_code"]).fillna(0).astype(int).tolist() == grids[
        "households"
    ].astype(int).tolist()
    per_building = plan.grid_members.groupby("building_id")["households"].sum()
    expected = buildings.set_index("building_id")["households"]
    expected = expected[expected > 0]
    assert per_building.reindex(expected.index).fillna(0).astype(int).equals(expected.astype(int))
    assert (plan.grid_members["households"] > 0).all()
    assert (shapely.get_num_geometries(grids.geometry.values) == 1).all()
    assert grids["grid_code"].is_unique
    metric = grids.to_crs(METRIC)
    community = plan.communities.to_crs(METRIC).geometry.union_all()
    union = shapely.union_all(shapely.make_valid(metric.geometry.values))
    assert community.symmetric_difference(union).area < 1.0
    assert metric.area.sum() - union.area < 1.0


def _assert_untouched(before: GridPlan, after: GridPlan, change) -> None:
    assert change.grids_after.geometry.is_valid.all()  # (the engine's own grids may not be)
    kept = before.grids[~before.grids["grid_code"].isin(change.codes)].set_index("grid_code")
    now = after.grids.set_index("grid_code")
    assert set(kept.index) <= set(now.index)
    for code, row in kept.iterrows():
        assert now.loc[code, "households"] == row["households"]
        assert now.loc[code].geometry.equals_exact(row.geometry, 0)
    members_before = before.grid_members[~before.grid_members["grid_code"].isin(change.codes)]
    members_after = after.grid_members[after.grid_members["grid_code"].isin(kept.index)]
    key = ["grid_code", "building_id", "unit_from", "floor_from"]
    pd.testing.assert_frame_equal(
        members_before.sort_values(key).reset_index(drop=True),
        members_after.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )


def _whole_building_move(plan: GridPlan) -> tuple[str, str, str]:
    """A grid, one of its buildings and a neighbouring grid that can take it."""
    for code in plan.grids["grid_code"]:
        for building in plan.members_of(code)["building_id"].unique():
            for to in _neighbours(plan, code):
                try:
                    move(plan, [building], to)
                except EditRefusedError:
                    continue
                return code, building, to
    raise AssertionError("no building can move in the fixture")


def test_move_a_building(plan, layers):
    code, building, to = _whole_building_move(plan)
    total = int(plan.grids["households"].sum())
    after, change = move(plan, [building], to)
    assert change.action == "move" and to in change.codes and code in change.codes
    assert set(after.grid_members.loc[after.grid_members["building_id"] == building, "grid_code"]) == {to}
    _assert_plan_holds(after, total, layers["buildings"])
    _assert_untouched(plan, after, change)
    # the target grid grew by the building's households and its land
    moved = int(layers["buildings"].set_index("building_id").loc[building, "households"])
    assert change.households == moved
    assert int(after.grid(to)["households"]) == int(plan.grid(to)["households"]) + moved
    assert after.grid(to).geometry.area > plan.grid(to).geometry.area
    assert "B" in change.describe("en") and change.describe("zh_CN") != change.describe("en")


def test_undo_and_redo(plan):
    code, building, to = _whole_building_move(plan)
    after, change = move(plan, [building], to)
    back = undo(after, change)
    pd.testing.assert_frame_equal(
        back.grids.drop(columns="geometry"), plan.grids.drop(columns="geometry"), check_dtype=False
    )
    assert back.grids.geometry.geom_equals_exact(plan.grids.geometry, 0).all()
    again = redo(back, change)
    assert again.grids["grid_code"].tolist() == after.grids["grid_code"].tolist()
    with pytest.raises(EditRefusedError):
        undo(plan, change)  # the change's grids are not in the plan as it left them


def test_move_a_unit_of_a_tower(plan, layers):
    buildings = layers["buildings"].set_index("building_id")
    total = int(plan.grids["households"].sum())
    tried = 0
    for row in plan.grid_members.itertuples():
        if pd.isna(row.unit_from) or buildings.loc[row.building_id, "households"] <= 50:
            continue
        # the last unit of a piece of several units, or the whole piece (units and floors)
        piece = (
            f"{row.building_id}:{int(row.unit_to)}"
            if row.unit_to > row.unit_from
            else f"{row.building_id}:{int(row.unit_from)}:{int(row.floor_from)}-{int(row.floor_to)}"
        )
        for to in _neighbours(plan, row.grid_code):
            tried += 1
            try:
                after, change = move(plan, [piece], to)
            except EditRefusedError:
                continue
            pieces = after.grid_members[after.grid_members["building_id"] == row.building_id]
            assert to in set(pieces["grid_code"])
            assert int(pieces["households"].sum()) == int(buildings.loc[row.building_id, "households"])
            _assert_plan_holds(after, total, layers["buildings"])
            _assert_untouched(plan, after, change)
            return
    pytest.fail(f"no unit of a tower could move ({tried} tries)")


def test_refusals_name_the_building_and_grid(plan):
    codes = plan.grids["grid_code"].tolist()
    small = plan.grid_members.merge(
        plan.buildings[["building_id", "households"]].rename(columns={"households": "total"}),
        on="building_id",
    )
    small = small[(small["total"] <= 50) & small["unit_from"].notna()]
    small = small[small["unit_to"] > small["unit_from"]]
    with pytest.raises(EditRefusedError, match="no grid 110"):
        move(plan, ["B000001"], "110108000000999")
    with pytest.raises(EditRefusedError, match="no building NOPE"):
        move(plan, ["NOPE"], codes[0])
    # a building far from the target
    code = codes[0]
    far = next(
        c for c in codes[::-1] if plan.grid(c).geometry.distance(plan.grid(code).geometry) > 0
    )
    building = plan.members_of(code)["building_id"].iloc[0]
    with pytest.raises(EditRefusedError) as err:
        move(plan, [building], far)
    assert building in str(err.value) and far in str(err.value)
    assert building in err.value.render("zh_CN") and err.value.render("zh_CN") != str(err.value)
    assert isinstance(err.value, GridplanError)
    if len(small):
        row = small.iloc[0]
        with pytest.raises(EditRefusedError, match="never divided"):
            move(plan, [f"{row.building_id}:1"], _neighbours(plan, row.grid_code)[0])
    with pytest.raises(EditRefusedError, match="not a building"):
        Piece.parse("B1:x")


def test_locked_grids_refuse_edits_but_take_a_worker(plan):
    code, building, to = _whole_building_move(plan)
    locked, change = lock(plan, [to])
    assert bool(locked.grid(to)["locked"]) and change.action == "lock"
    with pytest.raises(EditRefusedError, match="locked"):
        move(locked, [building], to)
    with pytest.raises(EditRefusedError, match="locked"):
        merge(locked, code, to)
    named, _ = assign(locked, to, worker="王芳", phone="138 0000 0000", name="北区一网格")
    assert named.grid(to)["worker"] == "王芳" and named.grid(to)["name"] == "北区一网格"
    with pytest.raises(EditRefusedError, match="phone"):
        assign(locked, to, phone="call me")
    unlocked, _ = lock(named, [to], locked=False)
    move(unlocked, [building], to)


def test_merge_two_touching_grids(plan, layers):
    code = plan.grids["grid_code"].iloc[0]
    other = _neighbours(plan, code)[0]
    total = int(plan.grids["households"].sum())
    after, change = merge(plan, code, other)
    assert change.removed == (other,) and len(after.grids) == len(plan.grids) - 1
    assert int(after.grid(code)["households"]) == int(plan.grid(code)["households"]) + int(
        plan.grid(other)["households"]
    )
    _assert_plan_holds(after, total, layers["buildings"])
    _assert_untouched(plan, after, change)
    far = next(c for c in plan.grids["grid_code"][::-1] if c not in _neighbours(plan, code) and c != code)
    with pytest.raises(EditRefusedError, match="do not touch"):
        merge(plan, code, far)


def test_split_by_the_engine_and_along_a_line(plan, layers):
    total = int(plan.grids["households"].sum())
    several = [
        c for c in plan.grids["grid_code"] if plan.members_of(c)["building_id"].nunique() >= 2
    ]
    code = several[0]
    after, change = split(plan, code)
    assert len(change.added) == 1 and change.added[0] > plan.grids["grid_code"].max()
    _assert_plan_holds(after, total, layers["buildings"])
    _assert_untouched(plan, after, change)
    # along a line through the middle of the grid, across its long side
    geom = plan.grid(code).geometry
    minx, miny, maxx, maxy = geom.bounds
    if maxx - minx > maxy - miny:
        mid = (minx + maxx) / 2
        line = LineString([(mid, miny - 1e-3), (mid, maxy + 1e-3)])
    else:
        mid = (miny + maxy) / 2
        line = LineString([(minx - 1e-3, mid), (maxx + 1e-3, mid)])
    try:
        by_line, change = split(plan, code, line=line)
    except EditRefusedError as err:  # a line through a building's middle may be refused
        assert code in str(err)
    else:
        _assert_plan_holds(by_line, total, layers["buildings"])
        _assert_untouched(plan, by_line, change)
    with pytest.raises(EditRefusedError, match="cross grid"):
        split(plan, code, line=LineString([(minx - 1, miny - 1), (minx - 0.5, miny - 1)]))


# --------------------------------------------------------------------------------------
# properties: random sequences of edits
# --------------------------------------------------------------------------------------
_EDIT = st.tuples(
    st.sampled_from(["move", "piece", "merge", "split", "lock"]),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
)


def _snapshot(plan: GridPlan) -> tuple[pd.DataFrame, pd.DataFrame]:
    return plan.grids.copy(), plan.grid_members.copy()


def _apply(plan: GridPlan, edit: tuple[str, int, int, int]):
    kind, a, b, c = edit
    codes = plan.grids["grid_code"].tolist()
    code = codes[a % len(codes)]
    members = plan.members_of(code)
    near = _neighbours(plan, code)
    # an invalid target now and then: a grid that does not touch
    targets = near if c % 4 else [x for x in codes if x not in near and x != code] or near
    if kind == "move" and targets:
        building = members["building_id"].unique()[b % members["building_id"].nunique()]
        return move(plan, [building], targets[c % len(targets)])
    if kind == "piece" and targets:
        row = members.iloc[b % len(members)]
        unit = 1 if pd.isna(row["unit_from"]) else int(row["unit_to"])
        return move(plan, [f"{row['building_id']}:{unit}"], targets[c % len(targets)])
    if kind == "merge" and targets:
        return merge(plan, code, targets[c % len(targets)])
    if kind == "split":
        return split(plan, code)
    if kind == "lock":
        return lock(plan, [code], locked=bool(b % 2))
    return None


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(_EDIT, min_size=1, max_size=4))
def test_random_edits_keep_the_plan_whole(plan, layers, edits):
    total = int(plan.grids["households"].sum())
    current = plan
    for edit in edits:
        grids, members = _snapshot(current)
        try:
            done = _apply(current, edit)
        except EditRefusedError:
            # a refused edit changes nothing
            pd.testing.assert_frame_equal(current.grids, grids)
            pd.testing.assert_frame_equal(current.grid_members, members)
            continue
        if done is None:
            continue
        after, change = done
        _assert_untouched(current, after, change)
        current = after
    _assert_plan_holds(current, total, layers["buildings"])


def test_regrid_keeps_locked_grids_and_stable_codes(plan, layers):
    codes = plan.grids["grid_code"].tolist()
    first = codes[3]
    merged, _ = merge(plan, first, _neighbours(plan, first)[0])
    locked, _ = lock(merged, [first, codes[10]])
    named, _ = assign(locked, first, worker="王芳")
    total = int(plan.grids["households"].sum())
    after, walk = regrid(named, roads=layers["roads"], compounds=layers["compounds"])
    _assert_plan_holds(after, total, layers["buildings"])
    for code in (first, codes[10]):  # locked grids: the same land, households, details
        assert after.grid(code).geometry.equals_exact(named.grid(code).geometry, 0)
        assert int(after.grid(code)["households"]) == int(named.grid(code)["households"])
    assert after.grid(first)["worker"] == "王芳" and bool(after.grid(first)["locked"])
    locked_rows = walk[walk["old_code"].isin([first, codes[10]])]
    assert (locked_rows["old_code"] == locked_rows["new_code"]).all()
    assert (locked_rows["overlap_share"] == 1.0).all()
    # new codes come after the highest old code; kept codes barely changed
    highest = max(codes)
    new_codes = set(after.grids["grid_code"]) - set(codes)
    assert all(c > highest for c in new_codes)
    kept = walk[(walk["old_code"] == walk["new_code"]) & ~walk["old_code"].isin([first, codes[10]])]
    assert len(kept) and (kept["overlap_share"] >= 0.8).all()
    assert set(walk["new_code"]) == set(after.grids["grid_code"])


def test_patches_follow_the_edits_and_far_ones_are_flagged(plan):
    total = int(plan.grids["households"].sum())
    kept, patches = refresh_patches(plan)
    assert int(patches["households"].sum()) == total
    assert set(patches["patch_id"]) == set(kept.grids["patch_id"])
    # merge every grid of one patch into its neighbours' patch: that patch grows far beyond
    # its target and is flagged with the reason
    grids = kept.grids.assign(patch_id=kept.grids["patch_id"].where(
        kept.grids["patch_id"] != patches["patch_id"].iloc[0], patches["patch_id"].iloc[1]
    ))
    crowded = GridPlan(grids=grids, grid_members=kept.grid_members, buildings=kept.buildings,
                       communities=kept.communities, rules=kept.rules)
    _, after = refresh_patches(crowded, lang="zh_CN")
    big = after.set_index("patch_id").loc[patches["patch_id"].iloc[1]]
    assert big["status"] == "out_of_range" and big["reason"]
    # an imported layer without patches is grouped afresh: one per required worker
    bare = GridPlan(grids=kept.grids.assign(patch_id=""), grid_members=kept.grid_members,
                    buildings=kept.buildings, communities=kept.communities, rules=kept.rules)
    regrouped, fresh = refresh_patches(bare)
    assert len(fresh) == max(1, -(-total // kept.rules.patch_households))
    assert (regrouped.grids["patch_id"] != "").all()


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_patches_of_the_touched_grids_only_match_a_full_refresh(plan):
    """refresh_patches(previous=, change=) remakes only the patches an edit touched (the
    Grids page does this after each edit), and gives what a full refresh gives: same ids,
    households, grids, targets, status and reasons, and the same shapes."""
    rng = np.random.default_rng(5)
    current, patches = refresh_patches(plan)
    checked = {"move": 0, "merge": 0, "split": 0, "undo": 0}
    for _ in range(60):
        code = str(rng.choice(current.grids["grid_code"].to_numpy()))
        near = _neighbours(current, code)
        members = current.members_of(code)
        if not near or members.empty:
            continue
        kind = str(rng.choice(list(checked)))
        try:
            if kind == "move":
                edited, change = move(current, [str(members["building_id"].iloc[0])], near[0])
            elif kind == "merge":
                edited, change = merge(current, code, near[0])
            elif kind == "split":
                edited, change = split(current, code)
            else:
                moved, change = move(current, [str(members["building_id"].iloc[0])], near[0])
                current, patches = refresh_patches(moved, previous=patches, change=change)
                edited = undo(current, change)
        except EditRefusedError:
            continue
        full_plan, full = refresh_patches(edited, lang="zh_CN")
        quick_plan, quick = refresh_patches(edited, lang="zh_CN", previous=patches, change=change)
        assert quick_plan.grids["patch_id"].tolist() == full_plan.grids["patch_id"].tolist()
        assert list(quick.columns) == list(full.columns)
        pd.testing.assert_frame_equal(
            quick.drop(columns="geometry"), full.drop(columns="geometry"), check_dtype=False
        )
        assert float(quick.geometry.symmetric_difference(full.geometry).area.max()) < 1e-12
        current, patches = full_plan, full
        checked[kind] += 1
    assert all(n > 0 for n in checked.values()), checked
