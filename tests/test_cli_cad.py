"""The CLI's CAD and template commands: check FILE.dxf, export --format dxf/--out-crs, template."""

from __future__ import annotations

import json
import re
import zipfile

import ezdxf
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import cli

GK = "EPSG:4548"


def run(capsys, *argv: str) -> tuple[int, dict, str]:
    code = cli.main([*argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


@pytest.fixture(scope="module")
def site_dxf(tmp_path_factory, beijing_path):
    """Sixty real Beijing buildings drawn in CAD with household labels, and a boundary."""
    b = gpd.read_file(beijing_path, layer="buildings").to_crs(GK).explode(ignore_index=True)
    b = b[b.geometry.interiors.map(len) == 0].head(60).reset_index(drop=True)
    doc = ezdxf.new("R2013")
    msp = doc.modelspace()
    households = np.random.default_rng(3).integers(20, 200, len(b))
    for i, geom in enumerate(b.geometry):
        msp.add_lwpolyline(list(geom.exterior.coords)[:-1], close=True, dxfattribs={"layer": "建筑"})
        p = geom.representative_point()
        msp.add_text(f"{i + 1}号楼 {households[i]}户", dxfattribs={"layer": "注记", "insert": (p.x, p.y)})
    hull = shapely.unary_union(b.geometry.values).convex_hull.buffer(20)
    msp.add_lwpolyline(list(hull.exterior.coords)[:-1], close=True, dxfattribs={"layer": "社区边界"})
    path = tmp_path_factory.mktemp("cad") / "site.dxf"
    doc.saveas(path)
    return path, int(households.sum())


def test_check_a_dxf_with_crs_and_layer_map(capsys, site_dxf):
    path, total = site_dxf
    code, payload, _ = run(
        capsys, "check", str(path), "--crs", GK, "--layer-map", "建筑=buildings,社区边界=communities",
        "--lang", "en",
    )
    assert code == 0
    (community,) = payload["communities"]
    assert community["households"] == total
    assert any("建筑 → buildings" in note for note in payload["notes"])


def test_check_a_dxf_without_crs_says_which_to_declare(capsys, site_dxf):
    path, _ = site_dxf
    code, payload, err = run(capsys, "check", str(path), "--layer-map", "建筑=buildings", "--lang", "en")
    assert code != 0
    assert "EPSG:4548" in err and "CAD" in err and "Traceback" not in err


def test_export_dxf_and_out_crs(capsys, site_dxf, tmp_path):
    path, total = site_dxf
    plan = tmp_path / "plan.gpkg"
    code, _, _ = run(
        capsys, "grids", str(path), "--crs", GK, "--layer-map", "建筑=buildings,社区边界=communities",
        "--out", str(plan),
    )
    assert code == 0
    code, payload, _ = run(capsys, "export", str(plan), "--out", str(tmp_path / "plan.dxf"))
    assert code == 0 and payload["written"] == [str(tmp_path / "plan.dxf")]
    doc = ezdxf.readfile(tmp_path / "plan.dxf")
    texts = [m.plain_text() for m in doc.modelspace().query("MTEXT")]
    households = [int(t.split("\n")[1].rstrip("户")) for t in texts if "户" in t and "\n" in t]
    assert sum(households) == total  # every household is in one grid's label
    code, payload, _ = run(
        capsys, "export", str(plan), "--out", str(tmp_path / "p4547.gpkg"), "--out-crs", "EPSG:4547"
    )
    assert code == 0
    assert gpd.read_file(tmp_path / "p4547.gpkg", layer="grids").crs.to_epsg() == 4547
    code, payload, err = run(
        capsys, "export", str(plan), "--out", str(tmp_path / "p.kml"), "--out-crs", "EPSG:4547"
    )
    assert code != 0 and "KML" in err


def test_template_roster(capsys, tmp_path):
    out = tmp_path / "花名册模板.xlsx"
    code, payload, _ = run(capsys, "template", "roster", "--out", str(out), "--lang", "zh_CN")
    assert code == 0 and payload["written"] == [str(out)]
    headers = pd.read_excel(out, engine="calamine").columns.tolist()
    assert headers == ["地址", "楼栋编号", "单元", "楼层", "房号", "常住人口", "民政对象"]
    with zipfile.ZipFile(out) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
        workbook = zf.read("xl/workbook.xml").decode("utf-8")
    kinds = sheet.count("<dataValidation ")
    by_column = {col: kind for kind, col in re.findall(r'<dataValidation type="(\w+)"[^>]*sqref="([A-G])2:', sheet)}
    assert by_column == {"C": "whole", "D": "whole", "F": "whole", "G": "list"}, kinds
    assert '<formula1>"是,否"</formula1>' in sheet
    assert 'orientation="landscape"' in sheet and 'paperSize="9"' in sheet  # A4 landscape
    assert 'fitToHeight="0"' in sheet  # fit to the page width
    assert "_xlnm.Print_Titles" in workbook and "$1:$1" in workbook  # header repeated
    # The example row reads as a roster row: its columns map onto gridplan's fields.
    from gis.fields import map_fields

    table = pd.read_excel(out, engine="calamine")
    mapped, _ = map_fields(table, layer="roster")
    assert {"address", "building_id", "unit", "floor", "room", "residents", "special_service"} <= set(
        mapped.columns
    )
    assert len(table) == 1 and mapped["building_id"].iloc[0] == "3号楼"
    code, payload, _ = run(capsys, "template", "roster", "--out", str(tmp_path / "r.xlsx"), "--lang", "en")
    assert pd.read_excel(tmp_path / "r.xlsx", engine="calamine").columns.tolist()[:2] == [
        "address", "building_id"
    ]
