"""Every household accounted for: in a community's total, or in a warning with its reason.

Each case builds a project with ``tests/bad_inputs/make_households.py`` into ``tmp_path``,
loads it as ``gridplan check`` does, and asserts the per-community totals and every warning
(kind → households it leaves out), plus the accounting identity: households in the input +
households estimated = households in the totals + households reported as left out. Refused
inputs compare their message in full. A Hypothesis property checks the identity on random
projects with every kind of loss at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bad_inputs.make_households as mh  # tests/ is on pytest's pythonpath
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.errors import CRSError, FieldError, GridplanError, LayerReadError
from gis.io import read_project
from gis.validate import ValidationError
from planning.communities import load, prepare

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

W, E = mh.WEST, mh.EAST


@dataclass(frozen=True)
class Accounted:
    """A project that loads: its totals per community and its warnings (kind → households)."""

    id: str
    make: Callable[[Path], Any]
    totals: dict[str, int]
    warnings: dict[str, int]
    check: Callable[[Any], Any] = lambda loaded: None
    kwargs: dict[str, Any] = field(default_factory=dict)


def _kinds(loaded) -> dict[str, int]:
    return {w.kind: w.households_excluded for w in loaded.data_warnings}


def _b(loaded) -> pd.DataFrame:
    return loaded.buildings.set_index("building_id")


def _message(kind: str) -> Callable[[Any], str]:
    def get(loaded) -> str:
        (w,) = [w for w in loaded.warnings("en") if w["kind"] == kind]
        return w["message"]

    return get


def _expect(kind: str, text: str) -> Callable[[Any], None]:
    def check(loaded) -> None:
        assert _message(kind)(loaded) == text

    return check


def _all(*checks: Callable[[Any], None]) -> Callable[[Any], None]:
    def check(loaded) -> None:
        for c in checks:
            c(loaded)

    return check


def _sources(**expected: str) -> Callable[[Any], None]:
    def check(loaded) -> None:
        b = _b(loaded)
        for building, source in expected.items():
            assert b.loc[building.replace("_", "-"), "households_source"] == source

    return check


ROSTER_ALL = mh.households_roster(
    ["HD-001", "HD-002", "HD-003", "HD-004", "HD-005", "HD-006"], [10, 11, 12, 13, 14, 15]
)
"""A household roster: 10 + 13 = 23 in the west, 11 + 12 + 14 + 15 = 52 in the east."""

CASES: list[Accounted] = [
    # -- shapes that lose their households ------------------------------------------------------
    Accounted("base_project", lambda d: mh.project(d), mh.BASE, {}),
    Accounted(
        "zero_area_building",
        mh.make_zero_area_building,
        {W: 114, E: 162},
        {"unusable_geometry": 54},
        _expect(
            "unusable_geometry",
            "1 features have no area (a line or a point drawn as a polygon) and were left out. "
            "Redraw these shapes in your GIS.",
        ),
    ),
    Accounted("nan_vertex", mh.make_nan_vertex, {W: 114, E: 162}, {"bad_coordinates": 54}),
    Accounted("infinite_vertex", mh.make_infinite_vertex, {W: 114, E: 162}, {"bad_coordinates": 54}),
    Accounted(
        "same_building_twice_same_id",
        mh.make_same_building_twice,
        mh.BASE,
        {"duplicate_building": 60},
        lambda loaded: len(loaded.buildings) == 6,
    ),
    Accounted(
        "same_building_twice_other_id",
        lambda d: mh.make_same_building_twice(d, same_id=False),
        mh.BASE,
        {"duplicate_building": 60},
        _expect(
            "duplicate_building",
            "1 buildings are drawn twice (the same footprint as another building); the copies "
            "were left out so their households count once. Delete the copies in your GIS (or "
            "correct the footprint if they are different buildings).",
        ),
    ),
    Accounted(
        "same_building_twice_10cm_apart",
        lambda d: mh.make_same_building_twice(d, same_id=False, shift=0.000001),
        mh.BASE,
        {"duplicate_building": 60},
    ),
    Accounted(
        "two_halves_of_a_slab_are_two_buildings",
        mh.make_touching_neighbours,
        {W: 114, E: 246},
        {},
    ),
    Accounted(
        "building_outside_every_community",
        mh.make_outside,
        {W: 114, E: 162},
        {"outside": 54},
        _expect(
            "outside",
            "1 buildings (54 households) lie outside every community and are left out of "
            "community totals. Extend the community boundaries to cover them, correct their "
            "community_id, or delete buildings outside the study area",
        ),
    ),
    Accounted(
        "building_names_an_unknown_community",
        mh.make_unknown_community,
        {W: 114, E: 162},
        {"unknown_community": 54},
    ),
    Accounted(
        "point_among_buildings",
        mh.make_point_among_buildings,
        None,  # type: ignore[arg-type]  # totals checked by the identity
        {"wrong_geometry_dropped": 66},
        lambda loaded: len(loaded.buildings) == 29,
    ),
    Accounted(
        "collection_with_a_polygon",
        mh.make_collection_with_polygon,
        mh.BASE,
        {"geometry_collection": 0},
        lambda loaded: _b(loaded).loc["HD-002"].geometry.geom_type == "Polygon",
    ),
    # -- numbers as offices write them ------------------------------------------------------------
    Accounted(
        "fractional_counts_rounded_not_cut",
        mh.make_fractional,
        {W: 115, E: 216},
        {"households_rounded": 0},
        lambda loaded: _b(loaded)["households"].tolist() == [49, 54, 60, 66, 48, 54],
    ),
    Accounted(
        "implausible_count_replaced_by_estimate",
        lambda d: mh.make_households(d, 48, 54, 60, 66, 48, 50_000),
        None,  # type: ignore[arg-type]
        {"implausible_households": 50_000, "no_residential_flag": 0, "households_estimated": 0},
        _sources(HD_006="estimated", HD_005="given"),
    ),
    Accounted(
        "empty_households_column_does_not_win",
        mh.make_empty_households_column,
        mh.BASE,
        {},
    ),
    Accounted("unit_in_brackets", mh.make_unit_in_brackets, mh.BASE, {}),
    Accounted(
        "floors_in_brackets_used_for_the_estimate",
        mh.make_floors_in_brackets_only,
        None,  # type: ignore[arg-type]
        {"no_residential_flag": 0, "households_estimated": 0},
        lambda loaded: _b(loaded)["floors"].tolist() == [18, 6, 6, 18, 6, 6]
        and (_b(loaded)["floors_source"] == "given").all(),
    ),
    Accounted("kml_extended_data", mh.make_kml, mh.BASE, {}),
    Accounted("kml_in_gbk", lambda d: mh.make_kml(d, encoding="GBK"), mh.BASE, {}),
    Accounted("geojson_in_gbk_detected", mh.make_geojson_gbk, mh.BASE, {}),
    Accounted(
        "geojson_in_gbk_declared",
        mh.make_geojson_gbk,
        mh.BASE,
        {},
        kwargs={"encoding": "gbk"},
    ),
    # -- residential or not --------------------------------------------------------------------
    Accounted(
        "ticks_and_crosses",
        lambda d: mh.make_flag(d, ["√", "×", "√", "√", "×", "√"]),
        None,  # type: ignore[arg-type]
        {"non_residential_excluded": 0, "households_estimated": 0},
        lambda loaded: _b(loaded)["households_source"].tolist()
        == ["estimated", "non_residential", "estimated", "estimated", "non_residential", "estimated"],
    ),
    Accounted(
        "yes_only_where_housing",
        lambda d: mh.make_flag(d, ["是", None, "是", "是", None, None]),
        None,  # type: ignore[arg-type]
        {"non_residential_excluded": 0, "households_estimated": 0},
        lambda loaded: (_b(loaded)["households"] > 0).tolist() == [True, False, True, True, False, False],
    ),
    Accounted(
        "given_count_kept_on_a_shop_with_flats",
        lambda d: mh.make_flag(d, ["√", "×", "√", "√", "×", "√"], [48, 20, 60, 66, None, 54]),
        {W: 114, E: 134},
        {"non_residential_excluded": 0},
    ),
    Accounted(
        "chinese_use_field",
        lambda d: mh.make_use(d, "用途", ["住宅", "商业", "住宅", "商住楼", "办公", "宿舍"]),
        None,  # type: ignore[arg-type]
        {"non_residential_excluded": 0, "households_estimated": 0},
        lambda loaded: _b(loaded)["households_source"].tolist()
        == ["estimated", "non_residential", "estimated", "estimated", "non_residential", "estimated"],
    ),
    Accounted(
        "osm_building_tags",
        lambda d: mh.make_use(
            d, "building", ["apartments", "retail", "hotel", "residential", "train_station", "yes"]
        ),
        None,  # type: ignore[arg-type]
        {"non_residential_excluded": 0, "households_estimated": 0},
        lambda loaded: (_b(loaded)["households"] > 0).tolist()
        == [True, False, False, True, False, True],
    ),
    Accounted(
        "tilezen_kind_detail",
        lambda d: mh.make_use(
            d, "kind_detail", ["apartments", "commercial", "school", "house", None, "office"]
        ),
        None,  # type: ignore[arg-type]
        {"non_residential_excluded": 0, "households_estimated": 0},
        lambda loaded: (_b(loaded)["households"] > 0).tolist()
        == [True, False, False, True, True, False],
    ),
    Accounted(
        "property_field_xingzhi",
        lambda d: mh.make_use(d, "房屋性质", ["成套住宅", "厂房", "仓库", "住宅", "学校", "住宅"]),
        None,  # type: ignore[arg-type]
        {"non_residential_excluded": 0, "households_estimated": 0},
        lambda loaded: (_b(loaded)["households"] > 0).sum() == 3,
    ),
    Accounted(
        "nothing_says_what_a_building_is",
        mh.make_no_use_at_all,
        None,  # type: ignore[arg-type]
        {"no_residential_flag": 0, "households_estimated": 0},
        lambda loaded: _message("no_residential_flag")(loaded).startswith(
            "The buildings say nothing about their use"
        ),
    ),
    # -- official counts ---------------------------------------------------------------------------
    Accounted(
        "official_counts_govern_and_differ",
        lambda d: mh.make_official(d, [3200, 216]),
        {W: 3200, E: 216},
        {"official_households_differ": 0},
        _all(
            lambda loaded: loaded.communities["households_buildings"].tolist() == [114, 216],
            lambda loaded: loaded.communities["households_source"].tolist()
            == ["official", "official"],
            _expect(
                "official_households_differ",
                "1 communities have an official household count that differs from the sum of "
                "their buildings by more than 10% (official / buildings); the official count is "
                "used. Check the buildings' counts and the official figure; choose which governs "
                "with --households-from official|buildings",
            ),
        ),
    ),
    Accounted(
        "buildings_govern_when_asked",
        lambda d: mh.make_official(d, [3200, 216]),
        {W: 114, E: 216},
        {"official_households_differ": 0},
        lambda loaded: loaded.communities["households_official"].tolist() == [3200, 216],
        kwargs={"households_from": "buildings"},
    ),
    Accounted(
        "official_counts_that_agree",
        lambda d: mh.make_official(d, [110, 220]),
        {W: 110, E: 220},
        {},
    ),
    Accounted(
        "official_count_missing_for_one",
        lambda d: mh.make_official(d, [None, 200]),
        {W: 114, E: 200},
        {},
        lambda loaded: loaded.communities["households_source"].tolist()
        == ["buildings", "official"],
    ),
    # -- rosters -----------------------------------------------------------------------------------
    Accounted("roster_per_household", lambda d: mh.make_roster(d, ROSTER_ALL), {W: 23, E: 52}, {}),
    Accounted(
        "roster_rows_for_no_building",
        lambda d: mh.make_roster(d, ROSTER_ALL + [["HD-099", "101", 2], ["HD-099", "102", 3]]),
        {W: 23, E: 52},
        {"roster_unmatched": 2},
        _expect(
            "roster_unmatched",
            "2 roster rows (2 households) name a building_id that no building has; they are "
            "left out of the totals",
        ),
    ),
    Accounted(
        "roster_rows_without_key",
        lambda d: mh.make_roster(d, ROSTER_ALL + [[None, "909", 2]]),
        {W: 23, E: 52},
        {"roster_blank_key": 1},
        lambda loaded: [w["rows"] for w in loaded.warnings("en") if w["kind"] == "roster_blank_key"]
        == [["77"]],
    ),
    Accounted(
        "roster_ids_as_spreadsheet_numbers",
        lambda d: mh.make_roster(
            d,
            [["楼栋编号", "房号"]] + [[float(i % 6 + 1), "101"] for i in range(12)],
            ids=["1", "2", "3", "4", "5", "6"],
        ),
        {W: 4, E: 8},
        {},
    ),
    Accounted(
        "roster_ids_lost_leading_zeros",
        lambda d: mh.make_roster(
            d,
            [["楼栋编号", "房号"]] + [[i % 6 + 1, "101"] for i in range(12)],
            ids=["001", "002", "003", "004", "005", "006"],
        ),
        {W: 4, E: 8},
        {},
    ),
    Accounted(
        "roster_building_words",
        lambda d: mh.make_roster(
            d,
            [["楼栋编号", "户数"], ["1号楼", 10], ["2栋", 11], ["3幢", 12], ["4#", 13], ["5#楼", 14], ["6座", 15]],
            ids=["1栋", "2号楼", "3号楼", "4栋", "5幢", "6号楼"],
        ),
        {W: 23, E: 52},
        {},
    ),
    Accounted(
        "roster_keeps_1_23_apart_from_12_3",
        lambda d: mh.make_roster(
            d,
            [["楼栋编号", "户数"], ["1-23", 10], ["12-3", 11], ["1-2", 12], ["12", 13], ["3", 14], ["123", 15]],
            ids=["1-23", "12-3", "1-2", "12", "3", "123"],
        ),
        {W: 23, E: 52},
        {},
    ),
    Accounted(
        "roster_merged_cells",
        lambda d: mh.make_roster(
            d,
            [["楼栋编号", "房号"]]
            + [["HD-001", f"10{i}"] if i == 0 else [None, f"10{i}"] for i in range(4)]
            + [["HD-003", f"20{i}"] if i == 0 else [None, f"20{i}"] for i in range(3)],
            merges=("A2:A5", "A6:A8"),
        ),
        None,  # type: ignore[arg-type]
        {"no_residential_flag": 0, "households_estimated": 0},
        lambda loaded: _b(loaded).loc[["HD-001", "HD-003"], "households"].tolist() == [4, 3]
        and any("merged" in n.render("en") for n in loaded.project.notes),
    ),
    Accounted(
        "roster_below_a_title",
        lambda d: mh.make_roster(
            d, [["清华园街道2024年住户花名册", None, None], ["制表：王芳", None, None], *ROSTER_ALL]
        ),
        {W: 23, E: 52},
        {},
    ),
    Accounted(
        "roster_on_the_second_sheet",
        lambda d: mh.make_roster(d, ROSTER_ALL, sheets=("封面",)),
        {W: 23, E: 52},
        {},
        lambda loaded: any("sheet 花名册" in n.render("en") for n in loaded.project.notes),
    ),
    Accounted(
        "roster_csv_below_a_title",
        lambda d: mh.make_roster_csv(
            d, "五道口社区住户花名册\n\n楼栋编号,户数\nHD-001,10\nHD-004,13\nHD-002,52\n"
        ),
        None,  # type: ignore[arg-type]
        {"no_residential_flag": 0, "households_estimated": 0},
        lambda loaded: _b(loaded).loc[["HD-001", "HD-004", "HD-002"], "households"].tolist()
        == [10, 13, 52],
    ),
    Accounted(
        "roster_csv_bom_then_gbk",
        lambda d: mh.make_roster_csv(
            d,
            "楼栋编号,户数\n" + "".join(f"HD-00{i},{9 + i}\n" for i in range(1, 7)),
            encoding="gbk",
            bom=True,
        ),
        {W: 23, E: 52},
        {},
    ),
    Accounted(
        "roster_blank_lines_are_not_households",
        lambda d: mh.make_roster(d, ROSTER_ALL[:11] + [[None, None, None]] * 3 + ROSTER_ALL[11:]),
        {W: 23, E: 52},
        {},
    ),
    Accounted(
        "roster_blank_household_count",
        lambda d: mh.make_roster(
            d,
            [["楼栋编号", "户数"], ["HD-001", 10], ["HD-002", None], ["HD-003", 12], ["HD-004", 13], ["HD-005", 14], ["HD-006", 15]],
        ),
        None,  # type: ignore[arg-type]
        {"roster_blank_households": 0, "no_residential_flag": 0, "households_estimated": 0},
        _sources(HD_002="estimated", HD_001="roster"),
    ),
    Accounted(
        "roster_replaces_a_given_count",
        mh.make_roster_over_given,
        {W: 116, E: 216},
        {"roster_replaces_given": 48},
    ),
    Accounted(
        "roster_address_shared_by_two_buildings",
        mh.make_several_buildings_one_address,
        None,  # type: ignore[arg-type]
        {"roster_ambiguous": 40, "no_residential_flag": 0, "households_estimated": 0},
        lambda loaded: loaded.buildings["households_source"].tolist()
        == ["estimated", "estimated", "roster", "estimated", "estimated", "estimated"],
    ),
    # -- places ------------------------------------------------------------------------------------
    Accounted(
        "building_on_a_boundary_counted_once",
        mh.make_boundary_building,
        mh.BASE,
        {},
        lambda loaded: _b(loaded).loc["HD-002", "community_id"] == E,
    ),
    Accounted(
        "sliver_overlap_repaired",
        lambda d: mh.make_sliver_overlap(d, metres=2),
        mh.BASE,
        {"overlap_repaired": 0},
        lambda loaded: loaded.warnings("en")[0]["rows"][0].startswith(f"{W}×{E} ("),
    ),
    Accounted(
        "sliver_gap_repaired",
        lambda d: mh.make_sliver_gap(d, metres=3),
        mh.BASE,
        {"gap_repaired": 0},
    ),
    Accounted(
        "wide_gap_only_reported",
        lambda d: mh.make_sliver_gap(d, metres=30),
        mh.BASE,
        {"gap": 0},
    ),
    Accounted(
        "zero_area_community_reported",
        mh.make_zero_area_community,
        mh.BASE,
        {"unusable_geometry": 0},
        lambda loaded: len(loaded.communities) == 2,
    ),
    Accounted(
        "gcj02_buildings_detected",
        mh.make_gcj_buildings,
        None,  # type: ignore[arg-type]
        {"gcj02_suspected": 0, "outside": None},  # type: ignore[dict-item]
        lambda loaded: "--crs buildings=GCJ-02" in _message("gcj02_suspected")(loaded),
    ),
    Accounted(
        "gcj02_buildings_read_as_declared",
        mh.make_gcj_buildings,
        None,  # type: ignore[arg-type]
        {"mixed_crs": 0},  # said: the buildings came in GCJ-02, the communities in EPSG:4490
        lambda loaded: loaded.communities["households"].sum() == 60 * 48 + 15 * (6 + 12 + 18),
        kwargs={"crs": {"buildings": "GCJ-02"}},
    ),
    Accounted(
        "no_gcj02_warning_for_true_positions",
        lambda d: mh.make_gcj_buildings(d, shifted=False),
        None,  # type: ignore[arg-type]
        {},
    ),
    Accounted(
        "clinic_and_gates_layers_are_not_communities_or_compounds",
        lambda d: mh.make_extra_layers(d, "社区卫生服务中心", "小区出入口"),
        mh.BASE,
        {},
        lambda loaded: loaded.project.compounds is None,
    ),
    Accounted(
        "layer_named_after_its_district",
        lambda d: mh.make_layer_named(d, "海淀区楼栋"),
        mh.BASE,
        {},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_household_is_accounted_for(case: Accounted, tmp_path: Path):
    loaded = load(case.make(tmp_path), lang="en", **case.kwargs)
    totals = dict(zip(loaded.communities["community_id"], loaded.communities["households"], strict=True))
    if case.totals is not None:
        assert totals == case.totals
    kinds = _kinds(loaded)
    assert set(kinds) == set(case.warnings), loaded.warnings("en")
    for kind, households in case.warnings.items():
        if households is not None:  # None: any number
            assert kinds[kind] == households, kind
    books = loaded.accounting()
    assert books["households_in"] + books["added"] == books["in_totals"] + books["excluded"]
    for w in loaded.warnings("zh_CN"):
        assert w["message"].strip() and "{" not in w["message"]
        assert len(w["rows"]) <= 50 and w["count"] >= len(w["rows"])
    assert case.check(loaded) is not False


@dataclass(frozen=True)
class Refused:
    id: str
    make: Callable[[Path], Any]
    error: type[GridplanError]
    message: str


REFUSED: list[Refused] = [
    Refused(
        "households_beyond_china",
        lambda d: mh.make_households(d, 48, 54, 1e19, 66, 48, 54),
        ValidationError,
        "buildings: column households has values larger than all the households of China "
        "(1e+19; 494 million in the 2020 census) (rows: HD-003). Correct households in these "
        "rows (a unit or an id in the wrong column?).",
    ),
    Refused(
        "a_billion_households",
        lambda d: mh.make_households(d, 48, 54, 1e9, 66, 48, 54),
        ValidationError,
        "buildings: column households has values larger than all the households of China "
        "(1e+09; 494 million in the 2020 census) (rows: HD-003). Correct households in these "
        "rows (a unit or an id in the wrong column?).",
    ),
    Refused(
        "prj_says_metres_numbers_are_degrees",
        mh.make_prj_says_metres,
        CRSError,
        "Layer buildings says it is in CGCS2000 / 3-degree Gauss-Kruger CM 117E (metres), but "
        "its coordinates are degrees (x 116.3000 to 116.3024, y 40.0000 to 40.0014), "
        "longitude/latitude over China. Its .prj does not belong to it: set its real CRS in "
        "your GIS, or delete the .prj and declare --crs EPSG:4490.",
    ),
    Refused(
        "web_mercator_without_prj",
        mh.make_web_mercator_without_prj,
        CRSError,
        "Layer buildings has no coordinate reference system (no .prj or CRS). Declare it: for "
        "longitude/latitude use EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84); these coordinates "
        "look like EPSG:3857. In the CLI add --crs EPSG:3857; in the app choose it on the Data "
        "page.",
    ),
    Refused(
        "empty_communities_layer",
        mh.make_empty_communities,
        ValidationError,
        "communities: the communities layer has no features. Export it again with its "
        "communities (check that no selection or filter was active), or leave it out to treat "
        "the whole area as one community.",
    ),
    Refused(
        "overlap_beyond_a_sliver",
        lambda d: mh.make_sliver_overlap(d, metres=20),
        ValidationError,
        "communities: 1 pairs of communities overlap (rows: 110108008001×110108008002 (6693 "
        "m²)). Each place must belong to one community: remove the overlaps in your GIS.",
    ),
    Refused(
        "two_household_fields_of_one_name",
        mh.make_duplicate_dbf_field,
        FieldError,
        "楼栋.shp has 2 columns named 户数, so gridplan cannot tell which one holds the "
        "households. Rename or delete the extra ones in your GIS.",
    ),
    Refused(
        "gbk_geojson_declared_utf8",
        lambda d: mh.make_geojson_gbk(d) / "楼栋.geojson",
        LayerReadError,
        "The text in 楼栋.geojson is not in the encoding utf-8. Try --encoding gbk or utf-8 (in the app: the text encoding on the Data page).",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_refused_with_one_clear_message(case: Refused, tmp_path: Path):
    kwargs = {"encoding": "utf-8"} if case.id == "gbk_geojson_declared_utf8" else {}
    with pytest.raises(GridplanError) as info:
        load(case.make(tmp_path), lang="en", **kwargs)
    assert type(info.value) is case.error
    assert str(info.value) == case.message
    assert info.value.render("zh_CN").strip()


def test_repeated_column_that_is_no_field_is_numbered(tmp_path: Path):
    loaded = load(mh.make_duplicate_dbf_field(tmp_path, second="备注"), lang="en")
    assert int(loaded.communities["households"].sum()) == 330
    assert any("several columns named" in n.render("en") for n in loaded.project.notes)


def test_contents_passed_as_a_path_are_not_echoed(tmp_path: Path):
    text = mh.make_json_as_path(tmp_path)
    with pytest.raises(LayerReadError) as info:
        read_project(text)
    assert len(str(info.value)) < 300
    assert f"({len(text):,} characters)" in str(info.value)


def test_shanghai_buildings_drawn_twice_are_named(shanghai_path):
    loaded = load(shanghai_path)
    (dup,) = [w for w in loaded.warnings("en") if w["kind"] == "duplicate_building"]
    assert dup["rows"] == ["way/-2376366"]


# -- the identity on random projects ------------------------------------------------------------
@st.composite
def _projects(draw):
    n = draw(st.integers(3, 14))
    counts = draw(st.lists(st.integers(0, 90), min_size=n, max_size=n))
    fate = draw(
        st.lists(
            st.sampled_from(["ok", "ok", "ok", "outside", "empty", "copy", "frac", "unknown"]),
            min_size=n,
            max_size=n,
        )
    )
    roster = draw(
        st.lists(
            st.tuples(st.sampled_from(["match", "nobody", "blank"]), st.integers(1, 4)),
            max_size=6,
        )
    )
    return counts, fate, roster


@settings(max_examples=30, deadline=None)
@given(data=_projects())
def test_households_in_equal_households_out_plus_reported(data):
    counts, fate, roster_rows = data
    from bad_inputs.make_corpus import box, buildings, communities

    n = len(counts)
    b = buildings(n)
    b["户数"] = [float(c) + (0.4 if f == "frac" else 0.0) for c, f in zip(counts, fate, strict=True)]
    b.geometry = [box(i % 3, i // 3, size=0.0003) for i in range(n)]  # rows 3+ lie outside
    b["社区编码"] = [None] * n
    extra = []
    for i, f in enumerate(fate):
        if f == "outside":
            b.loc[i, "geometry"] = box(i % 3, 7)
        elif f == "empty":
            b.loc[i, "geometry"] = shapely.Polygon()
        elif f == "unknown":
            b.loc[i, "社区编码"] = "999"
        elif f == "copy":
            extra.append(b.iloc[[i]].assign(楼栋编号=f"X{i}"))
    if extra:
        b = pd.concat([b, *extra], ignore_index=True)
    from gis.io import Project
    from gis.fields import map_fields

    mapped, _ = map_fields(b, layer="buildings")
    mapped = gpd.GeoDataFrame(mapped, geometry="geometry", crs=4490)
    comm, _ = map_fields(communities(), layer="communities")
    comm = gpd.GeoDataFrame(comm, geometry="geometry", crs=4490)
    keys = {"match": "HD-001", "nobody": "HD-999", "blank": None}
    roster = pd.DataFrame(
        {"building_id": [keys[k] for k, _ in roster_rows], "households": [h for _, h in roster_rows]}
    )
    project = Project(
        buildings=mapped,
        communities=comm,
        roster=roster if len(roster) else None,
        source_crs={"buildings": "EPSG:4490", "communities": "EPSG:4490"},
    )
    try:
        loaded = prepare(project)
    except ValidationError as err:  # every shape empty: refused, nothing to account for
        assert [p.code for p in err.report.errors] == ["no_buildings"]
        assert set(fate) == {"empty"}
        return
    books = loaded.accounting()
    assert books["households_in"] + books["added"] == books["in_totals"] + books["excluded"]
    assert books["in_totals"] == int(loaded.communities["households_buildings"].sum())


# -- the CLI: warnings and accounting in check --json, refusals before any work ------------------
def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    import cli

    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_lists_warnings_with_their_households(tmp_path: Path, capsys):
    import json

    source = mh.make_roster(tmp_path, ROSTER_ALL + [["HD-099", "101", 2]])
    code, out, err = _cli(["check", str(source), "--json", "--lang", "en", "--quiet"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    (w,) = [w for w in payload["warnings"] if w["kind"] == "roster_unmatched"]
    assert w == {
        "kind": "roster_unmatched",
        "count": 1,
        "message": "1 roster rows (1 households) name a building_id that no building has; they "
        "are left out of the totals",
        "rows": ["77 (HD-099)"],
        "households": 1,
    }
    assert payload["accounting"] == {"households_in": 76, "added": 0, "in_totals": 75, "excluded": 1}
    assert [c["households_source"] for c in payload["communities"]] == ["buildings", "buildings"]


def test_check_households_from_buildings(tmp_path: Path, capsys):
    import json

    source = mh.make_official(tmp_path, [3200, 216])
    argv = ["check", str(source), "--json", "--lang", "en", "--quiet"]
    official = json.loads(_cli(argv, capsys)[1])["communities"]
    summed = json.loads(_cli([*argv, "--households-from", "buildings"], capsys)[1])["communities"]
    assert [c["households"] for c in official] == [3200, 216]
    assert [c["households"] for c in summed] == [114, 216]
    assert [c["households_official"] for c in summed] == [3200, 216]
    assert official[0]["status"] == "ok" and summed[0]["status"] == "small"


def test_json_error_on_stdout_lists_every_problem(tmp_path: Path, capsys):
    import json

    import bad_inputs.make_corpus as mc

    source = mc.make_several_value_problems(tmp_path)
    code, out, err = _cli(["check", str(source), "--json", "--lang", "en", "--quiet"], capsys)
    assert code == 2
    error = json.loads(out)["error"]
    assert error["kind"] == "validation"
    assert len(error["problems"]) == 3 == len(err.splitlines())
    assert err.splitlines()[0] == f"gridplan: {error['message']}"


def test_out_equal_to_input_is_refused_before_any_work(tmp_path: Path, capsys):
    source = mh.project(tmp_path)
    before = source.read_bytes()
    code, out, err = _cli(["grids", str(source), "--out", str(source), "--lang", "en"], capsys)
    assert code == 2
    assert err == (
        f"gridplan: --out {source} is the input itself: writing the plan there would destroy "
        "your layers. Choose another file name.\n"
    )
    assert source.read_bytes() == before


def test_out_with_a_shapefile_name_in_a_missing_folder(tmp_path: Path, capsys):
    import json

    source = mh.project(tmp_path)
    out_path = tmp_path / "nowhere" / "plan.shp"
    argv = ["grids", str(source), "--out", str(out_path), "--lang", "en", "--json"]
    code, out, err = _cli(argv, capsys)
    assert code == 2
    assert json.loads(out)["error"]["problems"] == [
        f"--out {out_path} would hold a GeoPackage under a .shp name, which GIS software would "
        "then misread. Name it plan.gpkg (gridplan export writes other formats).",
        f"The folder {out_path.parent} of --out does not exist. Create it, or choose another.",
    ]
    assert not out_path.parent.exists()


def test_out_that_is_a_folder(tmp_path: Path, capsys):
    source = mh.project(tmp_path)
    code, _, err = _cli(["split", str(source), "--out", str(tmp_path), "--lang", "en"], capsys)
    assert code == 2
    assert err == (
        f"gridplan: --out {tmp_path} is a folder. Name the file to write, e.g. "
        f"{tmp_path / 'plan.gpkg'}.\n"
    )


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes anywhere")
def test_out_in_a_read_only_folder(tmp_path: Path, capsys):
    source = mh.project(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = _cli(["grids", str(source), "--out", str(locked / "p.gpkg")], capsys)
    finally:
        locked.chmod(0o755)
    assert code == 2 and "read-only" in err


def test_export_refuses_to_overwrite_its_plan(tmp_path: Path, capsys):
    plan = mh.project(tmp_path)  # any GeoPackage stands for the plan: nothing is read
    before = plan.read_bytes()
    code, _, err = _cli(["export", str(plan), "--out", str(plan), "--lang", "en"], capsys)
    assert code == 2 and "is the input itself" in err
    assert plan.read_bytes() == before
