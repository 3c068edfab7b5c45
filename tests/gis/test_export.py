"""Exports: every format round-trips (GBK shapefiles included) and writes atomically."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

import cli
from gis.errors import FieldError, GridplanError, LayerReadError
from gis.export import (
    communities_before_after,
    export_plan,
    read_shapefile_zip,
    shorten_field_names,
    to_shp_zip,
)
from gis.store import read_plan
from gis.store import PlanStore, read_exported


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory) -> Path:
    """A saved plan of a synthetic 3,000-household community: grids, a split, lineage."""
    from gis.datasets.synthetic import make_district
    from planning.grids import make_grids
    from planning.rules import get_preset
    from planning.split import propose_splits

    layers = make_district(3000, seed=1)
    result = make_grids(
        layers["buildings"],
        communities=layers["communities"],
        roads=layers["roads"],
        compounds=layers["compounds"],
    )
    split = propose_splits(
        layers["buildings"],
        community=layers["communities"].iloc[[0]],
        roads=layers["roads"],
        compounds=layers["compounds"],
        parts=2,
        alternatives=2,
    )
    path = tmp_path_factory.mktemp("plan") / "plan.gpkg"
    with PlanStore(path) as store:
        store.save(
            {
                "grids": result.grids,
                "grid_members": result.grid_members,
                "patches": result.patches,
                "proposals": split.proposals(),
                "lineage": split.lineage(1),
                "communities": layers["communities"],
            },
            author="王芳",
            status="proposed",
            note="第一稿",
            rules=get_preset("default"),
        )
    return path


@pytest.fixture(scope="module")
def plan(plan_path) -> dict[str, pd.DataFrame]:
    return PlanStore(plan_path).load()


def _same_grids(back: pd.DataFrame, plan: dict[str, pd.DataFrame]) -> None:
    grids = plan["grids"]
    assert back["grid_code"].tolist() == grids["grid_code"].tolist()
    assert back["households"].astype(int).tolist() == grids["households"].astype(int).tolist()
    assert len(back) == len(grids)


def test_gpkg_export_is_one_version_that_loads_back(plan, tmp_path):
    out = export_plan(plan, tmp_path / "plan.gpkg")[0]
    back = read_exported(out)
    _same_grids(back["grids"], plan)
    assert back["plans"]["version"].iloc[0] == 1
    assert back["plans"]["status"].iloc[0] == "proposed"
    assert back["plans"]["author"].iloc[0] == "王芳"
    assert back["plans"]["plan_id"].iloc[0] == plan["plans"]["plan_id"].iloc[0]
    pd.testing.assert_frame_equal(back["grid_members"], plan["grid_members"])
    pd.testing.assert_frame_equal(back["lineage"], plan["lineage"])
    assert read_plan(out)["grids"].geometry.geom_equals_exact(plan["grids"].geometry, 1e-9).all()
    assert out.read_bytes()[18:20] == b"\x01\x01"  # a single file, no WAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]


def _dbf_field_names(raw: bytes, encoding: str) -> list[bytes]:
    header_length = struct.unpack("<H", raw[8:10])[0]
    names = []
    for offset in range(32, header_length - 1, 32):
        names.append(raw[offset : offset + 11].split(b"\x00")[0])
    return [n for n in names if n]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_shapefile_zip_round_trip(plan, tmp_path, encoding):
    out = export_plan(plan, tmp_path / "plan.zip", format="shp", encoding=encoding)[0]
    codec = {"utf-8": "UTF-8", "gbk": "GBK"}[encoding]
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {
            "grids.shp",
            "grids.shx",
            "grids.dbf",
            "grids.prj",
            "grids.cpg",
            "grid_members.dbf",
            "lineage.dbf",
            "field_names.csv",
            "plan.json",
        } <= names
        assert zf.read("grids.cpg").decode().strip() == codec
        mapping = list(csv.DictReader(io.StringIO(zf.read("field_names.csv").decode("utf-8-sig"))))
        for member in (n for n in names if n.endswith(".dbf")):
            for field in _dbf_field_names(zf.read(member), codec):
                assert len(field) <= 10
                field.decode(codec)  # valid in the declared encoding
        community = zf.read("communities.dbf")
    short = {(r["layer"], r["name"]): r["field"] for r in mapping}
    assert short["grids", "special_service_households"] == "special_hh"
    assert short["lineage", "from_community_id"] == "from_comm"
    name = plan["communities"]["name"].iloc[0]
    assert (
        name.encode("gbk" if encoding == "gbk" else "utf-8") in community
    )  # the text really is in that encoding
    back = read_exported(out)
    _same_grids(back["grids"], plan)
    assert back["communities"]["name"].tolist() == plan["communities"]["name"].tolist()
    assert (
        back["grids"]["special_service_households"].tolist()
        == plan["grids"]["special_service_households"].tolist()
    )
    pd.testing.assert_frame_equal(back["grid_members"], plan["grid_members"])
    pd.testing.assert_frame_equal(back["lineage"], plan["lineage"])
    assert back["plans"]["author"].iloc[0] == "王芳"
    assert back["grids"].crs.to_epsg() == 4490
    assert shapely.equals_exact(
        shapely.normalize(back["grids"].geometry.values),
        shapely.normalize(plan["grids"].geometry.values),
        1e-9,
    ).all()


def test_gbk_field_names_are_cut_to_ten_bytes_in_gbk(tmp_path):
    frame = pd.DataFrame({"楼栋名称及地址": ["清华园1号楼"], "备注": ["无"]})
    assert shorten_field_names(frame.columns, encoding="gbk") == {
        "楼栋名称及地址": "楼栋名称及",
        "备注": "备注",
    }
    assert shorten_field_names(frame.columns, encoding="utf-8") == {
        "楼栋名称及地址": "楼栋名",
        "备注": "备注",
    }
    out = to_shp_zip({"roster": frame}, tmp_path / "r.zip", encoding="gbk")
    with zipfile.ZipFile(out) as zf:
        assert _dbf_field_names(zf.read("roster.dbf"), "GBK") == [
            "楼栋名称及".encode("gbk"),
            "备注".encode("gbk"),
        ]
    assert read_shapefile_zip(out)["roster"].to_dict("records") == frame.to_dict("records")


def test_text_that_gbk_cannot_hold_is_refused_and_nothing_is_left_behind(tmp_path):
    out = tmp_path / "plan.zip"
    out.write_bytes(b"the old export")
    frame = pd.DataFrame({"name": ["𠀋家园"]})  # a CJK Extension B character, outside GBK
    with pytest.raises(
        FieldError, match=r"cannot be written in GBK\. Export with the UTF-8 encoding"
    ):
        to_shp_zip({"lineage": frame}, out, encoding="gbk")
    assert out.read_bytes() == b"the old export"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.zip"]


def test_geojson_in_wgs84_with_the_other_map_layers_beside_it(plan, tmp_path):
    written = export_plan(plan, tmp_path / "plan.geojson")
    assert [p.name for p in written] == [
        "plan.geojson",
        "plan_patches.geojson",
        "plan_proposals.geojson",
        "plan_communities.geojson",
    ]
    back = pyogrio.read_dataframe(written[0])
    _same_grids(back, plan)
    assert back.crs.to_epsg() == 4326
    assert json.loads(written[0].read_text())["features"][0]["geometry"]["type"] in {
        "Polygon",
        "MultiPolygon",
    }


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_kml_opens_in_gdal_with_codes_as_names_and_chinese_text(plan, tmp_path, suffix):
    out = export_plan(plan, tmp_path / f"plan{suffix}", lang="zh_CN")[0]
    source = f"/vsizip/{out}/doc.kml" if suffix == ".kmz" else out
    layers = [name for name, _ in pyogrio.list_layers(source)]
    assert len(layers) == 4
    back = pyogrio.read_dataframe(source, layer=layers[0])
    assert back["Name"].tolist() == plan["grids"]["grid_code"].tolist()
    _same_grids(back.assign(grid_code=back["grid_code"], households=back["households"]), plan)
    community = plan["communities"]["name"].iloc[0]
    assert community in back["description"].iloc[0]
    assert "户数" in back["description"].iloc[0]
    text = (
        zipfile.ZipFile(out).read("doc.kml").decode()
        if suffix == ".kmz"
        else out.read_text(encoding="utf-8")
    )
    assert "<displayName>户数</displayName>" in text
    if suffix == ".kmz":
        assert (
            pyogrio.read_dataframe(out, layer=layers[0])["Name"].iloc[0]
            == plan["grids"]["grid_code"].iloc[0]
        )


def _sheet_xml(book: zipfile.ZipFile, n: int) -> str:
    return book.read(f"xl/worksheets/sheet{n}.xml").decode()


def test_excel_report_sheets_and_formatting(plan, tmp_path):
    out = export_plan(plan, tmp_path / "plan.xlsx", lang="en")[0]
    sheets = pd.read_excel(out, sheet_name=None, engine="calamine")
    assert list(sheets) == [
        "Plan",
        "Communities before",
        "Communities after",
        "Grids",
        "Grid members",
        "Lineage",
        "Worker patches",
        "Split proposals",
        "Rules and their sources",
    ]
    grids = sheets["Grids"]
    assert grids["grid code"].astype(str).tolist() == plan["grids"]["grid_code"].tolist()
    assert (grids["area (m²)"] > 0).all()
    before, after = sheets["Communities before"], sheets["Communities after"]
    assert (
        before["households"].sum()
        == after["households"].sum()
        == plan["lineage"]["households"].sum()
    )
    assert len(after) == 2 and after["community code"].tolist() == [
        f"{before['community code'][0]}-1",
        f"{before['community code'][0]}-2",
    ]
    rules = sheets["Rules and their sources"]
    assert "Gaoping 2024" in " ".join(rules["source"].astype(str))
    assert len(sheets["Grid members"]) == len(plan["grid_members"])
    with zipfile.ZipFile(out) as book:
        for n in range(1, 10):
            xml = _sheet_xml(book, n)
            assert 'state="frozen"' in xml and "<col " in xml and "autoFilter" in xml
        styles = book.read("xl/styles.xml").decode()
        assert "<b/>" in styles


def test_excel_report_in_chinese(plan, tmp_path):
    out = export_plan(plan, tmp_path / "plan.xlsx", lang="zh_CN")[0]
    sheets = pd.read_excel(out, sheet_name=None, engine="calamine")
    assert list(sheets)[-1] == "规则及其依据"
    # the plan keeps its rules' sources in English; the Chinese report shows them in Chinese
    sources = " ".join(list(sheets.values())[-1].iloc[:, 2].astype(str))
    assert "Gaoping 2024" not in sources and "高平" in sources
    grids = list(sheets.values())[3]
    assert "户数" in grids.columns and "常住人口" in grids.columns
    assert grids["户数"].sum() == plan["grids"]["households"].sum()


def test_communities_before_and_after_from_grids_only():
    grids = gpd.GeoDataFrame(
        {
            "grid_code": ["a1", "a2", "b1"],
            "community_id": ["A", "A", "B"],
            "households": [40, 35, 30],
        },
        geometry=[shapely.box(0, 0, 1, 1)] * 3,
        crs=4490,
    )
    before, after = communities_before_after({"grids": grids})
    assert before[["community_id", "households", "n_grids"]].to_dict("records") == [
        {"community_id": "A", "households": 75, "n_grids": 2},
        {"community_id": "B", "households": 30, "n_grids": 1},
    ]
    pd.testing.assert_frame_equal(before, after)


def test_cli_export_prints_the_written_files(plan_path, tmp_path, capsys):
    out = tmp_path / "exports" / "plan.zip"
    out.parent.mkdir()  # a missing folder is refused before the work starts (issue 17)
    code = cli.main(
        [
            "export",
            str(plan_path),
            "--format",
            "shp",
            "--out",
            str(out),
            "--encoding",
            "gbk",
            "--json",
            "--quiet",
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"written": [str(out)]}
    assert read_exported(out)["grids"]["grid_code"].str.len().eq(15).all()
    code = cli.main(
        [
            "export",
            str(plan_path),
            "--format",
            "xlsx",
            "--out",
            str(tmp_path / "r.xlsx"),
            "--json",
            "--quiet",
            "--version",
            "1",
        ]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["written"][0].endswith("r.xlsx")


def test_cli_export_bad_input_is_one_line(tmp_path, capsys):
    code = cli.main(
        [
            "export",
            str(tmp_path / "missing.gpkg"),
            "--out",
            str(tmp_path / "x.kml"),
            "--lang",
            "en",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "does not exist" in err[0]
    code = cli.main(["export", str(tmp_path / "missing.gpkg"), "--format", "docx", "--out", "x"])
    assert code == 2


def test_unknown_format_and_unreadable_exports(plan, tmp_path):
    with pytest.raises(GridplanError, match="is not an export format"):
        export_plan(plan, tmp_path / "plan.docx")
    (tmp_path / "plan.txt").write_text("x")
    with pytest.raises(LayerReadError, match="Use the GeoPackage"):
        read_exported(tmp_path / "plan.txt")
    assert re.fullmatch(r"\d{15}", plan["grids"]["grid_code"].iloc[0])
