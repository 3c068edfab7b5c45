"""Chinese numerals in names and counts (issue 17): 三号楼 = 3号楼, 十二号楼, 二单元.

Each case is checked where the name is used: roster matching, the units a roster gives
a building, counts typed as words (and the household accounting that reads them), CAD labels.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from gis.cad import parse_label
from gis.io import Project
from gis.numerals import arabic_numerals, chinese_number, parse_counts
from planning.communities import prepare
from planning.households import match_roster, normalise_key, unit_number


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("九", 9), ("十", 10), ("十一", 11), ("十二", 12), ("二十", 20), ("二十三", 23),
     ("一百", 100), ("一百零五", 105), ("一百一十", 110), ("两百", 200), ("九百九十九", 999),
     ("两千零二十六", 2026), ("一万二千", 12_000), ("二〇二六", 2026), ("零", 0)],
)  # fmt: skip
def test_chinese_number(text: str, value: int) -> None:
    assert chinese_number(text) == value


@pytest.mark.parametrize("text", ["", "三里", "3", "三四十", "号"])
def test_not_a_number(text: str) -> None:
    assert chinese_number(text) is None


def test_numbers_in_names_only_before_a_counter_word() -> None:
    assert arabic_numerals("朝阳区三里屯西五街五号院十二号楼二单元三〇一室") == (
        "朝阳区三里屯西五街5号院12号楼2单元301室"
    )
    assert arabic_numerals("五道口") == "五道口"
    assert arabic_numerals("第十二网格") == "第12网格"


def test_building_names_match_whatever_the_numerals() -> None:
    forms = ["3号楼", "三号楼", "3栋", "三栋", "三幢", "3#", "003号楼"]
    assert {normalise_key(f) for f in forms} == {"3-栋"}
    assert normalise_key("十二号楼") == normalise_key("12号楼") != normalise_key("1-2号楼")
    assert normalise_key("十二号楼") != normalise_key("2号楼")
    assert normalise_key("三里屯3号楼") != normalise_key("3里屯3号楼")  # place names kept


def _buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"building_id": ["3号楼", "12号楼", "20号楼"], "units": [None, None, 4]},
        geometry=[box(116.3 + i * 1e-3, 40.0, 116.3 + i * 1e-3 + 3e-4, 40.0002) for i in range(3)],
        crs=4490,
    )


def test_a_roster_in_chinese_numerals_fills_households_and_units() -> None:
    roster = pd.DataFrame(
        {
            "building_id": ["三号楼"] * 4 + ["十二号楼"] * 6 + ["二十号楼"] * 2,
            "unit": ["一单元", "二单元", "2单元", "1"]
            + ["1单元", "二单元", "三单元", "3", "4", "第四单元"]
            + ["1", "2"],
        }
    )
    out, warnings = match_roster(_buildings(), roster)
    assert not [w for w in warnings if w.kind.startswith("roster_")]
    assert out["households"].tolist() == [4, 6, 2]
    # units: distinct units named (二单元 = 2单元 = 2); a building's own figure is kept
    assert out["units"].tolist() == [2, 4, 4]


@pytest.mark.parametrize(("value", "unit"), [("2单元", 2), ("二单元", 2), ("02", 2), (3.0, 3), ("第十单元", 10), ("东单元", None)])
def test_unit_number(value: object, unit: int | None) -> None:
    assert unit_number(value) == unit


def test_counts_typed_in_words_are_read_and_accounted() -> None:
    assert parse_counts(pd.Series(["十二", "两百", "１２", "三号"])).tolist()[:3] == [12, 200, 12]
    buildings = _buildings().assign(households=["三十", "一百二十", "48"], floors=["六", "十八", 6])
    loaded = prepare(Project(buildings=buildings, source_crs={"buildings": "EPSG:4490"}))
    assert loaded.households_in == 30 + 120 + 48
    assert int(loaded.communities["households"].sum()) == 198
    assert loaded.project.buildings["floors"].tolist() == [6, 18, 6]


def test_cad_labels_in_chinese_numerals() -> None:
    assert parse_label("三号楼 十八层 一百二十户") == {"households": 120, "floors": 18, "name": "三号楼"}
    assert parse_label("十二号楼 6F 48户") == {"households": 48, "floors": 6, "name": "十二号楼"}
