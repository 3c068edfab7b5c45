"""Importing a city's existing grid layer: every rule it breaks is found, with its reason."""

from __future__ import annotations

import pytest

from gis.datasets.synthetic import make_district
from planning.edit import merge, regrid
from planning.existing import AUDIT_KINDS, import_grids
from planning.grids import make_grids


@pytest.fixture(scope="module")
def layers():
    return make_district(1_500, seed=2)


@pytest.fixture(scope="module")
def drawn(layers):
    """The engine's grids as a hand-drawn layer (Chinese field name, metric CRS), damaged."""
    result = make_grids(
        layers["buildings"],
        communities=layers["communities"],
        roads=layers["roads"],
        compounds=layers["compounds"],
    )
    grids = result.grids[["grid_code", "geometry"]].to_crs(4548).reset_index(drop=True)
    return grids.rename(columns={"grid_code": "网格编码"})


def test_a_clean_layer_has_no_tiling_problems(layers, drawn):
    plan, problems = import_grids(
        drawn, buildings=layers["buildings"], communities=layers["communities"]
    )
    assert not set(problems["kind"]) & {"overlap", "gap", "pieces", "outside", "no_code"}
    assert int(plan.grids["households"].sum()) == int(layers["buildings"]["households"].sum())
    assert set(plan.grids["grid_code"]) == set(drawn["网格编码"])


def test_each_kind_of_problem_is_found_with_its_reason(layers, drawn):
    bad = drawn.copy()
    codes = bad["网格编码"].tolist()
    bad.loc[0, "网格编码"] = None  # no code
    bad.loc[3, "网格编码"] = codes[2]  # a code used twice
    bad.loc[5, "geometry"] = bad.geometry.iloc[5].buffer(3)  # overlaps its neighbours
    # leaves a gap (in the largest grid: a narrow one would vanish)
    k = max((i for i in range(len(bad)) if i not in {0, 2, 3, 5, 10, 30}), key=lambda i: bad.geometry.iloc[i].area)
    bad.loc[k, "geometry"] = bad.geometry.iloc[k].buffer(-4)
    bad.loc[10, "geometry"] = bad.geometry.iloc[10].union(bad.geometry.iloc[30])  # two pieces
    bad = bad.drop(index=30)
    plan, problems = import_grids(
        bad, buildings=layers["buildings"], communities=layers["communities"], lang="zh_CN"
    )
    kinds = set(problems["kind"])
    assert {"no_code", "overlap", "gap", "pieces", "out_of_band"} <= kinds <= set(AUDIT_KINDS)
    assert problems["reason"].str.len().gt(0).all()
    assert problems.loc[problems["kind"] == "pieces", "grid_code"].tolist() == [codes[10]]
    gap = problems[problems["kind"] == "gap"].iloc[0]
    assert gap["other"] == codes[k] and gap["area_m2"] > 100
    # the grids without a code, or with a used one, are numbered after the highest code
    fresh = problems.loc[problems["kind"] == "no_code", "grid_code"]
    assert len(fresh) == 2 and all(c > max(codes) for c in fresh)
    assert int(plan.grids["households"].sum()) == int(layers["buildings"]["households"].sum())


def test_an_imported_plan_can_be_edited_and_rerun_keeping_codes(layers, drawn):
    plan, _ = import_grids(drawn, buildings=layers["buildings"], communities=layers["communities"])
    a = plan.grids["grid_code"].iloc[0]
    geom = plan.grid(a).geometry
    b = next(
        c for c in plan.grids["grid_code"][1:] if plan.grid(c).geometry.intersection(geom).length > 0
    )
    merged, _ = merge(plan, a, b)
    assert int(merged.grids["households"].sum()) == int(plan.grids["households"].sum())
    again, walk = regrid(plan, roads=layers["roads"], compounds=layers["compounds"])
    kept = walk[walk["old_code"] == walk["new_code"]]
    assert len(kept) >= 0.5 * len(plan.grids)  # the engine's own grids barely change
    assert int(again.grids["households"].sum()) == int(plan.grids["households"].sum())


def test_an_imported_layers_missing_patches_are_blank_and_refreshed(layers, drawn):
    """Patch ids as a GIS leaves them (NULL, NaN, the text 'nan', numbers) read as text; the
    grids without one join a neighbour's patch, and none is left in a patch called ''."""
    import numpy as np

    from planning.edit import merge, refresh_patches

    engine = make_grids(
        layers["buildings"], communities=layers["communities"], roads=layers["roads"],
        compounds=layers["compounds"],
    ).grids
    given = drawn.assign(patch_id=engine["patch_id"].to_numpy()).astype({"patch_id": object})
    given.loc[::3, "patch_id"] = np.nan
    given.loc[1::7, "patch_id"] = None
    given.loc[2, "patch_id"] = "nan"
    plan, _ = import_grids(given, buildings=layers["buildings"], communities=layers["communities"])
    ids = plan.grids["patch_id"]
    assert ids.notna().all() and not ids.isin(["nan", "None"]).any()
    assert (ids == "").sum() == int(given["patch_id"].isin(["nan"]).sum() + given["patch_id"].isna().sum())
    refreshed, patches = refresh_patches(plan)
    assert (refreshed.grids["patch_id"] != "").all()
    assert "" not in set(patches["patch_id"])
    assert set(patches["patch_id"]) <= set(engine["patch_id"])  # they joined existing patches
    assert int(patches["households"].sum()) == int(plan.grids["households"].sum())
    # all missing (a float column of NaN, as a GIS reads an empty field): grouped afresh
    bare, _ = import_grids(
        drawn.assign(patch_id=np.nan), buildings=layers["buildings"], communities=layers["communities"]
    )
    assert (bare.grids["patch_id"] == "").all()
    a = bare.grids["grid_code"].iloc[0]
    b = next(c for c in bare.grids["grid_code"][1:]
             if bare.grid(c).geometry.intersection(bare.grid(a).geometry).length > 0)
    edited, _ = merge(bare, a, b)
    regrouped, fresh = refresh_patches(edited)
    assert (regrouped.grids["patch_id"] != "").all() and "" not in set(fresh["patch_id"])
    # a grid no patched neighbour reaches (the others' patches only) gets a patch of its own
    from shapely import affinity

    from planning.edit import GridPlan

    lonely = plan.grids.assign(patch_id=np.where(np.arange(len(plan.grids)) == 0, "", "X"))
    lonely.loc[0, "geometry"] = affinity.translate(lonely.geometry.iloc[0], xoff=0.05)
    island = GridPlan(grids=lonely, grid_members=plan.grid_members, buildings=plan.buildings,
                      communities=plan.communities, rules=plan.rules)
    alone, own = refresh_patches(island)
    assert "" not in set(own["patch_id"])
    first = alone.grids["patch_id"].iloc[0]
    assert first not in {"", "X"} and (alone.grids["patch_id"].iloc[1:] == "X").all()
