"""The split engine: tiling, sums, contiguity, balance, barriers, lineage, determinism."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import box

from cli import main
from gis.datasets.synthetic import make_district, write_district
from gis.errors import InfeasibleError
from planning.compare import communities_after_split, compare_plans
from planning.rules import get_preset
from planning.split import bootstrap_communities, choose_parts, propose_splits

METRIC = 4548


def _split(layers, i=0, **kwargs):
    return propose_splits(
        layers["buildings"],
        community=layers["communities"].iloc[[i]],
        roads=layers["roads"],
        waterways=layers["waterways"],
        barriers=layers["barriers"],
        compounds=layers["compounds"],
        service_centres=layers["service_centres"],
        **kwargs,
    )


@pytest.fixture(scope="module")
def oversized():
    return make_district(12_000, n_communities=1, seed=2)


@pytest.fixture(scope="module")
def result(oversized):
    return _split(oversized)


def _assert_tiles(parts: gpd.GeoDataFrame, community: shapely.Geometry) -> None:
    union = shapely.union_all(parts.geometry.values)
    assert community.difference(union).area < 1.0
    assert parts.area.sum() - union.area < 1.0
    assert union.difference(community).area < 1.0
    assert (shapely.get_num_geometries(parts.geometry.values) == 1).all()


def test_alternatives_are_ranked_distinct_balanced_and_follow_barriers(result):
    alts = result.alternatives
    assert len(alts) >= 3
    assert [a.rank for a in alts] == list(range(1, len(alts) + 1))
    assert len({tuple(a.labels) for a in alts}) == len(alts)
    best = alts[0]
    assert best.max_deviation <= 0.10
    assert best.barrier_share >= 0.90
    assert best.compounds_cut == 0
    assert all(a.reasons for a in alts)


def test_parts_tile_the_community_and_keep_sums(oversized, result):
    community = oversized["communities"].to_crs(METRIC).geometry.iloc[0]
    total = oversized["buildings"]["households"].sum()
    for alt in result.alternatives:
        parts = alt.parts.to_crs(METRIC)
        _assert_tiles(parts, community)
        assert parts["households"].sum() == total
        assert parts["residents"].sum() == pytest.approx(oversized["buildings"]["residents"].sum(), abs=2)


def test_default_k_puts_every_part_in_the_normal_range(result):
    rules = get_preset()
    best = result.alternatives[0]
    assert best.parts["households"].between(rules.min_households, rules.split_households).all()
    assert result.k == 3


def test_required_staff_per_part(result):
    parts = result.alternatives[0].parts
    assert (parts["required_staff"] == np.ceil(parts["households"] / 250)).all()


def test_lineage_moves_every_building_once(oversized, result):
    lineage = result.lineage(1)
    buildings = oversized["buildings"]
    assert sorted(lineage["building_id"]) == sorted(buildings["building_id"])
    assert lineage["households"].sum() == buildings["households"].sum()
    best = result.alternatives[0].parts
    per_part = lineage.groupby("to_community_id")["households"].sum()
    expected = {f"{result.community_id}-{int(p)}": int(h) for p, h in zip(best["part"], best["households"], strict=True)}
    assert per_part.to_dict() == expected


def test_proposals_layer_matches_schema(result):
    proposals = result.proposals()
    for column in ("proposal_id", "rank", "part", "parent_community_id", "households", "residents", "required_staff", "reasons"):
        assert column in proposals
    assert proposals.crs.to_epsg() == 4490


def test_deterministic_for_a_seed(oversized, result):
    again = _split(oversized)
    assert [tuple(a.labels) for a in again.alternatives] == [tuple(a.labels) for a in result.alternatives]


def test_parts_override_and_infeasible_requests(oversized):
    four = _split(oversized, parts=4)
    assert len(four.alternatives[0].parts) == 4
    with pytest.raises(InfeasibleError, match="cannot be divided into 500 parts"):
        _split(oversized, parts=500)


def test_small_community_needs_no_split():
    layers = make_district(3_000, seed=1)
    with pytest.raises(InfeasibleError, match="within the normal range; it needs no split"):
        _split(layers)


def test_oversized_compound_is_cut_and_said_so():
    # one compound of 6,000 households in a single block: it must be cut between buildings
    towers = [box(20 + 60 * (i % 5), 20 + 60 * (i // 5), 60 + 60 * (i % 5), 45 + 60 * (i // 5)) for i in range(20)]
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"T{i}" for i in range(20)], "households": [300] * 20, "residents": [780] * 20},
        geometry=towers,
        crs=METRIC,
    )
    compound = gpd.GeoDataFrame({"compound_id": ["C1"]}, geometry=[box(10, 10, 330, 260)], crs=METRIC)
    community = gpd.GeoDataFrame({"community_id": ["110108001001"]}, geometry=[box(0, 0, 340, 270)], crs=METRIC)
    result = propose_splits(buildings, community=community, compounds=compound)
    best = result.alternatives[0]
    assert best.parts["households"].sum() == 6_000
    assert any("alone exceeds 5000" in r for r in best.reasons)


def test_choose_parts_follows_the_rules():
    rules = get_preset()
    assert choose_parts(5_001, None, rules=rules) == 2
    assert choose_parts(12_000, None, rules=rules) == 3
    assert choose_parts(8_000, 60_000, rules=rules) == 2


def test_beijing_bootstraps_into_two_communities(beijing_loaded):
    p = beijing_loaded.project
    communities = bootstrap_communities(
        p.buildings, study_area=beijing_loaded.communities.geometry.iloc[0], roads=p.roads,
        waterways=p.waterways, compounds=p.compounds,
    )
    assert len(communities) == 2
    assert communities["households"].sum() == 9_762
    assert communities["households"].between(3_000, 5_000).all()
    assert communities["community_id"].str.fullmatch(r"\d{12}").all()


def test_compare_before_after(oversized, result):
    before = oversized["communities"].drop(columns="geometry")
    parts = result.alternatives[0].parts.drop(columns="geometry")
    after = communities_after_split(before, parts, parent_id=result.community_id)
    assert after["staff"].sum() == before["staff"].sum()
    table = compare_plans(before, after)
    assert table.loc["communities", "after"] == 3
    assert table.loc["households", "after"] == table.loc["households", "before"]
    assert table.loc["largest_community_households", "after"] < table.loc["largest_community_households", "before"]
    assert table.loc["required_staff", "after"] >= table.loc["required_staff", "before"]


def test_cli_split_and_compare(tmp_path, capsys, oversized):
    source = write_district(oversized, tmp_path / "district.gpkg")
    out = tmp_path / "plan.gpkg"
    assert main(["split", str(source), "--out", str(out), "--json", "--lang", "en", "--quiet"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["parts"] == 3 and len(payload["alternatives"]) >= 3
    best = payload["alternatives"][0]
    assert set(best) >= {"rank", "parts", "max_deviation", "cuts_compounds", "reasons"}
    assert sum(p["households"] for p in best["parts"]) == 12_000
    assert main(["compare", str(source), str(out), "--json", "--lang", "en", "--quiet"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["before"]["communities"] == 1 and compared["after"]["communities"] == 3
    assert main(["split", str(source), "--out", str(out), "--parts", "999", "--lang", "en", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gridplan: Community") and "Traceback" not in err


def test_cli_grids(tmp_path, capsys):
    layers = make_district(3_000, seed=4)
    source = write_district(layers, tmp_path / "d.gpkg")
    out = tmp_path / "grids.gpkg"
    assert main(["grids", str(source), "--out", str(out), "--json", "--lang", "en", "--quiet"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) >= {"grids", "in_range_share", "min_households", "max_households", "contiguous_share", "seconds"}
    written = gpd.read_file(out, layer="grids")
    assert len(written) == payload["grids"] and written["households"].sum() == 3_000


@given(st.integers(0, 10_000), st.sampled_from([7_000, 11_000]))
@settings(max_examples=5, deadline=None)
def test_properties_tiling_sums_contiguity(seed, households):
    layers = make_district(households, n_communities=1, seed=seed)
    r = _split(layers, alternatives=2, seed=seed)
    community = layers["communities"].to_crs(METRIC).geometry.iloc[0]
    for alt in r.alternatives:
        parts = alt.parts.to_crs(METRIC)
        _assert_tiles(parts, community)
        assert parts["households"].sum() == households
    assert [tuple(a.labels) for a in _split(layers, alternatives=2, seed=seed).alternatives] == [
        tuple(a.labels) for a in r.alternatives
    ]
