"""QGIS styles: layer_styles rows in exported GeoPackages, .qml sidecars, planners' own styles."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import textwrap
import xml.etree.ElementTree as ET

import geopandas as gpd
import pyogrio
import pytest
import shapely

from gis.io import read_project
from gis.export.qgis import STYLED_LAYERS, layer_qml, read_layer_styles, write_layer_styles, write_qml


@pytest.fixture
def plan_gpkg(tmp_path):
    """A small plan: two communities, four grids (one out of range), a patch."""
    grids = gpd.GeoDataFrame(
        {
            "grid_code": [f"11010800100100{i}" for i in range(1, 5)],
            "community_id": ["110108001001"] * 4,
            "households": [40, 36, 48, 12],
            "status": ["ok", "ok", "ok", "out_of_range"],
        },
        geometry=[shapely.box(116.30 + 0.001 * i, 40.0, 116.301 + 0.001 * i, 40.001) for i in range(4)],
        crs=4490,
    )
    communities = gpd.GeoDataFrame(
        {"community_id": ["110108001001", "110108001002"], "name": ["荷清苑社区", "东王庄社区"],
         "status": ["ok", "must_split"]},
        geometry=[shapely.box(116.30, 40.0, 116.304, 40.001), shapely.box(116.304, 40.0, 116.31, 40.001)],
        crs=4490,
    )
    patches = gpd.GeoDataFrame(
        {"patch_id": ["P1"]}, geometry=[shapely.box(116.30, 40.0, 116.304, 40.001)], crs=4490
    )
    path = tmp_path / "plan.gpkg"
    for name, frame in (("grids", grids), ("communities", communities), ("patches", patches)):
        frame.to_file(path, layer=name)
    return path


def test_layer_styles_rows_for_each_layer(plan_gpkg):
    assert write_layer_styles(plan_gpkg, lang="zh_CN") == ["grids", "patches", "communities"]
    names = [str(n) for n, _ in pyogrio.list_layers(plan_gpkg)]
    assert "layer_styles" in names
    rows = pyogrio.read_dataframe(plan_gpkg, layer="layer_styles", read_geometry=False)
    assert sorted(rows["f_table_name"]) == ["communities", "grids", "patches"]
    assert set(rows["f_geometry_column"]) == {"geom"}  # the GeoPackage default
    assert rows["useAsDefault"].astype(bool).all()
    con = sqlite3.connect(plan_gpkg)
    (kind,) = con.execute(
        "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
    ).fetchone()
    assert kind == "attributes"
    grids_qml = rows.loc[rows["f_table_name"] == "grids", "styleQML"].iloc[0]
    root = ET.fromstring(grids_qml.split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "status"
    values = {c.get("value") for c in renderer.iter("category")}
    assert values == {"ok", "out_of_range"}
    label = root.find("labeling/settings/text-style")
    assert "grid_code" in label.get("fieldName") and "households" in label.get("fieldName")
    community = ET.fromstring(
        rows.loc[rows["f_table_name"] == "communities", "styleQML"].iloc[0].split("\n", 1)[1]
    )
    assert {c.get("value") for c in community.iter("category")} == {
        "ok", "small", "may_split", "must_split"
    }
    patch = ET.fromstring(rows.loc[rows["f_table_name"] == "patches", "styleQML"].iloc[0].split("\n", 1)[1])
    props = {p.get("k"): p.get("v") for p in patch.iter("prop")}
    assert props["style"] == "no" and props["outline_style"] == "dash"  # outlined, not filled


def test_planners_own_styles_are_kept_and_the_file_reads_without_a_note(plan_gpkg):
    # The planner saved a style of their own in QGIS first.
    con = sqlite3.connect(plan_gpkg)
    write_layer_styles(plan_gpkg, layers=["grids"])
    with con:
        con.execute(
            "INSERT INTO layer_styles (f_table_name, f_geometry_column, styleName, styleQML, "
            "styleSLD, useAsDefault) VALUES ('grids', 'geom', '我的样式', '<qgis/>', '', 1)"
        )
    write_layer_styles(plan_gpkg)  # a second export replaces only gridplan's own style
    styles = read_layer_styles(plan_gpkg)
    grids = styles[styles["f_table_name"] == "grids"]
    assert sorted(grids["styleName"]) == ["gridplan", "我的样式"]
    assert grids.set_index("styleName")["useAsDefault"].to_dict() == {"gridplan": 1, "我的样式": 0}
    # Read as a planner's project (the grids stand in for buildings): no note about layer_styles.
    shutil.copy(plan_gpkg, plan_gpkg.with_name("楼栋.gpkg"))
    buildings = gpd.read_file(plan_gpkg, layer="grids")
    own = plan_gpkg.with_name("own.gpkg")
    buildings.to_file(own, layer="buildings")
    write_layer_styles(own)
    project = read_project(own)
    assert len(project.buildings) == 4
    assert not [n for n in project.notes if "layer_styles" in n.render("en")]


def test_qml_sidecar(tmp_path):
    out = write_qml(tmp_path / "grids.shp", "grids", lang="en", columns=["grid_code", "status"])
    assert out.name == "grids.qml"
    root = ET.fromstring(out.read_text(encoding="utf-8").split("\n", 1)[1])
    labels = [c.get("label") for c in root.iter("category")]
    assert labels == ["within the household band", "outside the household band"]
    assert write_qml(tmp_path / "roads.shp", "roads") is None


@pytest.mark.parametrize("layer", STYLED_LAYERS)
def test_every_style_is_well_formed_xml(layer):
    for lang in ("zh_CN", "en"):
        qml = layer_qml(layer, lang=lang)
        ET.fromstring(qml.split("\n", 1)[1])


_QGIS_CHECK = textwrap.dedent(
    """
    import sys
    from qgis.core import QgsApplication, QgsVectorLayer
    app = QgsApplication([], False)
    app.initQgis()
    for name in ("grids", "communities", "patches"):
        layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
        assert layer.isValid(), name
        print(name, layer.renderer().type(), layer.labelsEnabled())
    """
)


@pytest.mark.skipif(
    subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"], capture_output=True).returncode != 0
    if shutil.which("/usr/bin/python3")
    else True,
    reason="QGIS (Debian python3-qgis) is not installed",
)
def test_qgis_applies_the_default_styles(plan_gpkg):
    write_layer_styles(plan_gpkg)
    done = subprocess.run(
        ["/usr/bin/python3", "-c", _QGIS_CHECK, str(plan_gpkg)],
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(plan_gpkg.parent)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert lines == {
        "grids": "categorizedSymbol True",
        "communities": "categorizedSymbol True",
        "patches": "singleSymbol True",
    }
