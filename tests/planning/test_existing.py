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
