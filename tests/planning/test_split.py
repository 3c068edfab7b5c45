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
    # "grids" counts household grids; dedicated grids (专属网格, no households) apart
    assert len(written) == payload["grids"] + payload["dedicated_grids"]
    assert (written["kind"] == "residential").sum() == payload["grids"] and written["households"].sum() == 3_000


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


# --------------------------------------------------------------------------------------
# new boundaries counted by class (issue 15 point 7)
# --------------------------------------------------------------------------------------
_CELL = 50.0
_X0, _Y0 = 500_000.0, 4_400_000.0


def _at(x: float, y: float) -> tuple[float, float]:
    return (_X0 + x * _CELL, _Y0 + y * _CELL)


def _campus(zigzag_class: str = "service") -> dict[str, gpd.GeoDataFrame]:
    """A campus of 8 × 4 plots of 50 m, one 150-household building on each::

        y=4 +---+---+---+---+---+---+---+---+
            |               :   :           |      S  street (dead end, x = 4, y 0–2)
        y=3 +               :   Z           +      Z  campus road or footway: a
            |               :   Z           |         staircase x = 3 (y 0–2),
        y=2 +           ZZZZZZZZZ           +         y = 2 (x 3–5), x = 5 (y 2–4)
            |           Z   S               |
        y=1 +           Z   S               +      The straight cut x = 4 is half on
            |           Z   S               |      the street, the staircase all on Z.
        y=0 +---+---+---+---+---+---+---+---+
            x=0         3   4   5           8
    """
    geoms, ids = [], []
    for i in range(8):
        for j in range(4):
            cx, cy = _at(i + 0.5, j + 0.5)
            geoms.append(box(cx - 12, cy - 12, cx + 12, cy + 12))
            ids.append(f"B{i}{j}")
    buildings = gpd.GeoDataFrame(
        {"building_id": ids, "households": 150}, geometry=geoms, crs=METRIC
    )
    community = gpd.GeoDataFrame(
        {"community_id": ["campus"]}, geometry=[box(*_at(0, 0), *_at(8, 4))], crs=METRIC
    )
    roads = gpd.GeoDataFrame(
        {"road_class": ["residential", zigzag_class, zigzag_class, zigzag_class]},
        geometry=[
            shapely.LineString([_at(4, 0), _at(4, 2)]),
            shapely.LineString([_at(3, 0), _at(3, 2)]),
            shapely.LineString([_at(3, 2), _at(5, 2)]),
            shapely.LineString([_at(5, 2), _at(5, 4)]),
        ],
        crs=METRIC,
    )
    return {"buildings": buildings, "community": community, "roads": roads}


def _campus_split(layers, rules, **kwargs):
    return propose_splits(
        layers["buildings"],
        community=layers["community"],
        roads=layers["roads"],
        parts=2,
        rules=rules,
        **kwargs,
    )


def _share(alt, name):
    return alt.boundary_classes[name] / alt.new_boundary_m


def test_a_zigzag_along_campus_roads_loses_to_a_compact_split_along_a_street():
    layers = _campus()
    unweighted = get_preset().with_values(
        boundary_weight_service_road=1.0, boundary_weight_path=1.0
    )
    # every class counted in full: the staircase along the campus roads (all "on roads",
    # Polsby–Popper 0.62) beats the straight cut (half on the street, 0.79)
    before = _campus_split(layers, unweighted).alternatives
    assert _share(before[0], "service_road") > 0.9
    assert before[0].compactness < 0.65
    # counted by class (a campus road 0.5): the straight cut along the street wins, and the
    # staircase is still proposed, below it
    after = _campus_split(layers, get_preset()).alternatives
    best = after[0]
    assert best.compactness > 0.75
    assert _share(best, "street") > 0.5
    assert best.boundary_score == pytest.approx(best.barrier_share)
    zigzag = next(a for a in after if _share(a, "service_road") > 0.9)
    assert zigzag.rank > best.rank
    assert zigzag.barrier_share == pytest.approx(1.0)
    assert zigzag.boundary_score == pytest.approx(
        0.5 * _share(zigzag, "service_road") + _share(zigzag, "street")
    )
    # the same divisions were found either way: only their order changed
    assert {tuple(a.labels) for a in before} == {tuple(a.labels) for a in after}


def test_campus_footways_count_a_quarter_of_a_street():
    layers = _campus("footway")
    result = _campus_split(layers, get_preset(), alternatives=5)
    for alt in result.alternatives:
        shares = {name: _share(alt, name) for name in alt.boundary_classes}
        assert alt.barrier_share == pytest.approx(sum(shares.values()), abs=1e-6)
        assert alt.boundary_score == pytest.approx(
            shares["street"] + 0.25 * shares["path"], abs=1e-6
        )
    assert _share(result.alternatives[0], "street") > 0.5


def test_reasons_say_which_classes_the_boundary_follows():
    layers = _campus()
    en = _campus_split(layers, get_preset(), alternatives=2, lang="en").alternatives
    assert "the new boundary (200 m) follows streets 53%; 47% follows no road, river or wall" in (
        en[0].reasons
    )
    assert any(
        r.startswith("the new boundary (300 m) follows streets 4%, service roads 96%")
        for r in en[1].reasons
    )
    assert any(
        "a service road counts 0.5, a footway or path 0.25 of a street" in r for r in en[1].reasons
    )
    zh = _campus_split(layers, get_preset(), alternatives=2, lang="zh_CN").alternatives
    assert any("城市道路 53%" in r for r in zh[0].reasons)
    assert any("内部道路 96%" in r for r in zh[1].reasons)
    payload = en[1].as_dict()
    assert payload["boundary_classes"]["service_road"] == pytest.approx(0.96, abs=0.01)
    assert payload["boundary_score"] == pytest.approx(0.52, abs=0.01)


def test_a_boundary_near_two_classes_counts_once_for_the_stronger():
    from planning.split import _near_length

    # a measured line along y = 1 from x = 0 to 200; a street along y = 0 (x 0–100), a
    # footway along y = 2 (x 50–150), a wall far away
    barriers = np.array(
        [
            shapely.LineString([(0, 0), (100, 0)]),
            shapely.LineString([(50, 2), (150, 2)]),
            shapely.LineString([(0, 50), (200, 50)]),
        ],
        dtype=object,
    )
    classes = np.array([0, 5, 3])  # street, path, wall
    line = np.array([shapely.LineString([(0, 1), (200, 1)])], dtype=object)
    weights = get_preset().boundary_weights()
    (metres,) = _near_length(line, barriers, classes, weights)
    near_any = shapely.length(
        shapely.intersection(line[0], shapely.buffer(shapely.union_all(barriers[:2]), 5.0))
    )
    assert metres.sum() == pytest.approx(near_any)  # exact in total
    assert metres[0] == pytest.approx(104.9, abs=2.0)  # the street, where both are near
    assert metres[5] == pytest.approx(near_any - metres[0])  # the footway beyond it
    assert metres[[1, 2, 3, 4]].sum() == 0
    # the footway weighted above the street: the shared stretch goes to the footway
    (swapped,) = _near_length(line, barriers, classes, np.array([0.2, 1, 1, 1, 0.5, 1.0]))
    assert swapped.sum() == pytest.approx(near_any)
    assert swapped[5] == pytest.approx(109.8, abs=2.0)  # x 45.1–154.9
    assert swapped[0] == pytest.approx(45.1, abs=2.0)


def test_boundary_weights_are_rules_between_0_and_1():
    from gis.errors import RulesError

    rules = get_preset()
    assert rules.boundary_weights().tolist() == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
    assert "0.25" in rules.cite("boundary_weight_path")
    with pytest.raises(RulesError, match="boundary_weight_path"):
        rules.with_values(boundary_weight_path=1.5)
    with pytest.raises(RulesError, match="boundary_weight_street"):
        rules.with_values(boundary_weight_street=-0.1)


@pytest.fixture(scope="module")
def campus_scoring():
    """The campus's atoms, edges by class and a few divisions of it, to score again."""
    from planning.split import _boundary_lines, _edge_table

    layers = _campus("footway")
    result = _campus_split(layers, get_preset(), alternatives=5)
    lines, classes = _boundary_lines(layers["roads"], None, None, METRIC)
    nb, edges, by_class = _edge_table(result.atoms, lines, classes, get_preset().boundary_weights())
    return result, nb, edges, by_class


@given(weights=st.lists(st.floats(0, 1), min_size=6, max_size=6))
@settings(max_examples=50, deadline=None)
def test_class_weights_never_raise_the_share(campus_scoring, weights):
    from planning.split import _score

    result, nb, edges, by_class = campus_scoring
    w = np.array(weights)
    for alt in result.alternatives:
        s = _score(alt.labels, result.atoms, edges, 2, None, nb, by_class, w)
        along = np.array([s[f"on_{n}"] for n in alt.boundary_classes])
        assert along.sum() == pytest.approx(s["barrier_share"] * s["new_boundary_m"], abs=1e-6)
        assert s["boundary_score"] == pytest.approx(along @ w / s["new_boundary_m"], abs=1e-9)
        assert s["boundary_score"] <= s["barrier_share"] + 1e-9
        assert s["barrier_share"] == pytest.approx(alt.barrier_share)  # weights change no share


def test_parts_keep_real_holes_and_lose_cracks():
    from planning.split import _without_cracks

    # a part around a 10 m courtyard (a real hole: another part's plot) with a 1 mm × 20 m
    # crack inside it, as tessellation cells that do not quite meet leave
    courtyard = box(45, 45, 55, 55)
    crack = box(20, 20, 20.001, 40)
    cracked = shapely.Polygon(
        box(0, 0, 100, 100).exterior, [courtyard.exterior.coords, crack.exterior.coords]
    )
    clean = _without_cracks(cracked)
    assert [shapely.Polygon(r).area for r in clean.interiors] == pytest.approx([100.0])
    assert clean.area == pytest.approx(cracked.area, abs=0.1)
    assert clean.length == pytest.approx(cracked.length - 40.002)  # the crack's sides are gone
    # a part in two pieces keeps both
    two = shapely.MultiPolygon([cracked, box(200, 0, 210, 10)])
    assert shapely.get_num_geometries(_without_cracks(two)) == 2


def test_a_crumb_between_crossing_roads_does_not_break_the_community_into_pieces():
    """Three roads crossing nearly at one point leave a 0.02 m² triangle whose sides are
    all under the 0.5 m a neighbour needs (as on the district sample's community
    110108900001, where the split had to drop its roads). The crumb joins a block: the
    community is one piece, the split follows the roads and its parts still tile it."""
    community = gpd.GeoDataFrame(
        {"community_id": ["110108001001"]}, geometry=[box(0, 0, 200, 200)], crs=METRIC
    )
    roads = gpd.GeoDataFrame(
        {"road_class": ["residential"] * 3},
        geometry=[
            shapely.LineString([(-10, 100), (210, 100)]),
            shapely.LineString([(100, -10), (100, 210)]),
            shapely.LineString([(-9.8, 210), (210.2, -10)]),  # through (100, 100.2), (100.2, 100)
        ],
        crs=METRIC,
    )
    corners = [(x, y) for x in (5, 45, 105, 145) for y in (5, 45, 105, 145)]
    buildings = gpd.GeoDataFrame(
        {"building_id": [f"B{i}" for i in range(16)], "households": [400] * 16},
        geometry=[box(x, y, x + 30, y + 30) for x, y in corners],
        crs=METRIC,
    )
    buildings = buildings[~buildings.intersects(roads.union_all())]
    result = propose_splits(buildings, community=community, roads=roads, parts=2)
    best = result.alternatives[0]
    assert best.parts["households"].sum() == buildings["households"].sum()
    _assert_tiles(best.parts.to_crs(METRIC), community.geometry.iloc[0])
    assert any("follows streets" in r for r in best.reasons), best.reasons
