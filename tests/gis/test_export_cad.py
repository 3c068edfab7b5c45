"""CAD out, projected output and styles in exports: DXF, --out-crs, layer_styles, .qml."""

from __future__ import annotations

import zipfile
import xml.etree.ElementTree as ET

import ezdxf
import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from gis.cad import read_dxf
from gis.errors import CRSError, GridplanError
from gis.export import export_plan
from gis.export.qgis import read_layer_styles


@pytest.fixture(scope="module")
def plan():
    """Grids, patches and communities of a generated 1,200-household district."""
    from gis.datasets.synthetic import make_district
    from planning.grids import make_grids

    layers = make_district(1200, seed=3)
    result = make_grids(
        layers["buildings"],
        communities=layers["communities"],
        roads=layers["roads"],
        compounds=layers["compounds"],
    )
    return {
        "grids": result.grids,
        "grid_members": result.grid_members,
        "patches": result.patches,
        "communities": layers["communities"].assign(status="ok"),
    }


def _coords(frame: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(frame.geometry.values)


def _furthest(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest distance from a written vertex to the nearest transformed one.

    Writers may start a ring elsewhere or turn it round (shapefiles go clockwise), and
    GDAL's GeoJSON writer drops a zero-width spike, so vertices are compared as sets.
    """
    assert len(got) >= 0.9 * len(expected)  # a DXF ring does not repeat its first vertex
    a, b = shapely.points(got), shapely.points(expected)
    _, there = shapely.STRtree(b).query_nearest(a, return_distance=True)
    return float(there.max())


def test_dxf_export_reads_back_with_ezdxf_gdal_and_gridplan(plan, tmp_path):
    (out,) = export_plan(plan, tmp_path / "plan.dxf", lang="zh_CN")
    grids_m = plan["grids"].to_crs(4548)  # the district lies at 117°E
    doc = ezdxf.readfile(out)
    assert doc.header["$PROJECTNAME"] == "EPSG:4548" and doc.header["$INSUNITS"] == 6
    layers = {layer.dxf.name for layer in doc.layers}
    assert {"网格边界", "网格边界-标注", "片区边界", "社区边界"} <= layers
    rings = doc.modelspace().query('LWPOLYLINE[layer=="网格边界"]')
    assert all(p.closed for p in rings)
    assert len(rings) == sum(1 + len(g.interiors) for g in grids_m.geometry)
    texts = [m.plain_text() for m in doc.modelspace().query('MTEXT[layer=="网格边界-标注"]')]
    expected = [f"{c}\n{h}户" for c, h in zip(grids_m["grid_code"], grids_m["households"], strict=True)]
    assert sorted(texts) == sorted(expected)

    # GDAL (QGIS's reader): the same grids, to the millimetre, and Chinese layer names.
    pyogrio.set_gdal_config_options({"DXF_CLOSED_LINE_AS_POLYGON": "TRUE"})
    try:
        back = pyogrio.read_dataframe(out)
    finally:
        pyogrio.set_gdal_config_options({"DXF_CLOSED_LINE_AS_POLYGON": None})
    polygons = back[back["Layer"] == "网格边界"].geometry
    labels = back[back["Layer"] == "网格边界-标注"]
    assert len(labels) == len(grids_m)
    for code, geom in zip(grids_m["grid_code"], grids_m.geometry, strict=True):
        (label,) = labels[labels["Text"].str.startswith(code)].geometry
        assert geom.contains(shapely.Point(label.x, label.y))  # the code is written inside
        outline = shapely.Polygon(geom.exterior)
        differences = polygons.symmetric_difference(outline, align=False).area
        assert differences.min() < 1e-3  # the grid's outline is drawn, to the millimetre

    # gridplan reads its own drawing back: grid codes as names, households from "40户".
    drawing = read_dxf(out, layer_map="网格边界=buildings")
    b = drawing.layers["buildings"].sort_values("name").reset_index(drop=True)
    assert b["name"].tolist() == sorted(grids_m["grid_code"])
    assert b["households"].astype(int).tolist() == grids_m.sort_values("grid_code")[
        "households"
    ].astype(int).tolist()


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson", "dxf"])
def test_out_crs_lands_within_a_centimetre_of_pyproj(plan, tmp_path, fmt):
    target = "EPSG:4547"  # another Gauss–Krüger zone than the plan's own (114°E, not 117°E)
    written = export_plan(plan, tmp_path / f"plan.{fmt}", format=fmt, out_crs=target)
    transformer = Transformer.from_crs(4490, target, always_xy=True)
    expected = np.column_stack(transformer.transform(*_coords(plan["grids"]).T))
    if fmt == "gpkg":
        back = gpd.read_file(written[0], layer="grids")
    elif fmt == "shp":
        back = gpd.read_file(f"zip://{written[0]}!grids.shp")
    elif fmt == "geojson":
        back = gpd.read_file(written[0])
    else:
        doc = ezdxf.readfile(written[0])
        rings = doc.modelspace().query('LWPOLYLINE[layer=="网格边界"]')
        got = np.vstack([np.array([(x, y) for x, y, *_ in p.get_points()]) for p in rings])
        assert _furthest(got, expected) < 0.01
        return
    assert back.crs.to_epsg() == 4547
    assert _furthest(_coords(back), expected) < 0.01


def test_out_crs_refusals(plan, tmp_path):
    with pytest.raises(GridplanError, match="KML"):
        export_plan(plan, tmp_path / "p.kml", out_crs="EPSG:4547")
    with pytest.raises(GridplanError, match="metres"):
        export_plan(plan, tmp_path / "p.dxf", out_crs="EPSG:4490")
    with pytest.raises(CRSError, match="EPSG:4534"):
        export_plan(plan, tmp_path / "p.gpkg", out_crs="EPSG:99999")


def test_out_crs_takes_a_local_grid_as_proj_string(plan, tmp_path):
    local = "+proj=tmerc +lat_0=0 +lon_0=116.35 +k=1 +x_0=50000 +y_0=-4000000 +ellps=GRS80 +units=m"
    (out,) = export_plan(plan, tmp_path / "plan.gpkg", out_crs=local)
    back = gpd.read_file(out, layer="grids")
    expected = np.column_stack(
        Transformer.from_crs(4490, local, always_xy=True).transform(*_coords(plan["grids"]).T)
    )
    assert _furthest(_coords(back), expected) < 0.01


def test_gpkg_export_carries_layer_styles(plan, tmp_path):
    (out,) = export_plan(plan, tmp_path / "plan.gpkg")
    names = [str(n) for n, _ in pyogrio.list_layers(out)]
    assert "layer_styles" in names
    styles = pyogrio.read_dataframe(out, layer="layer_styles", read_geometry=False)
    assert sorted(styles["f_table_name"]) == ["communities", "grids", "patches"]
    from gis.store import read_exported

    back = read_exported(out)  # the styles table is not a plan layer
    assert "layer_styles" not in back and len(back["grids"]) == len(plan["grids"])
    assert len(read_layer_styles(out)) == 3


def test_shapefile_zip_carries_qml_sidecars_with_short_field_names(plan, tmp_path):
    (out,) = export_plan(plan, tmp_path / "plan.zip", format="shp")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"grids.qml", "patches.qml", "communities.qml"} <= names
        assert "grid_members.qml" not in names
        qml = zf.read("communities.qml").decode("utf-8")
    root = ET.fromstring(qml.split("\n", 1)[1])
    # community_id is comm_id in the .dbf: the label must use the short name
    assert "comm_id" in root.find("labeling/settings/text-style").get("fieldName")
    from gis.store import read_exported

    assert len(read_exported(out)["grids"]) == len(plan["grids"])


def test_xlsx_report_is_ready_to_print(plan, tmp_path):
    import re

    (out,) = export_plan(plan, tmp_path / "plan.xlsx", lang="zh_CN")
    (a3,) = export_plan(plan, tmp_path / "plan_a3.xlsx", lang="zh_CN", paper="a3")
    with zipfile.ZipFile(out) as zf:
        workbook = zf.read("xl/workbook.xml").decode("utf-8")
        sheets = {
            name: zf.read(name).decode("utf-8")
            for name in zf.namelist()
            if name.startswith("xl/worksheets/sheet")
        }
    assert sheets
    for xml in sheets.values():
        assert 'paperSize="9"' in xml  # A4
        assert 'fitToWidth="1"' in xml or "fitToPage" in xml
        assert 'fitToHeight="0"' in xml  # as many pages down as needed, one across
    orientations = [re.search(r'orientation="(\w+)"', xml).group(1) for xml in sheets.values()]
    assert "landscape" in orientations and "portrait" in orientations  # the wide grids sheet turns
    assert workbook.count("_xlnm.Print_Titles") == len(sheets)  # the header row on every page
    with zipfile.ZipFile(a3) as zf:
        assert all(
            'paperSize="8"' in zf.read(n).decode("utf-8")
            for n in zf.namelist()
            if n.startswith("xl/worksheets/sheet")
        )
    with pytest.raises(GridplanError, match="a4 or a3"):
        export_plan(plan, tmp_path / "p.xlsx", paper="letter")


def test_csv_keeps_long_codes_as_text(plan):
    import io

    import pandas as pd

    from gis.export.tables import csv_for_excel

    table = pd.DataFrame(plan["grids"].drop(columns="geometry"))
    data = csv_for_excel(table)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel and WPS open it as UTF-8
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert back["grid_code"].tolist() == [f'="{c}"' for c in table["grid_code"]]
    assert back["community_id"].str.fullmatch(r'="\d{12}"').all()
    assert back["households"].tolist() == table["households"].astype(str).tolist()  # numbers stay


@pytest.mark.parametrize(("paper", "landscape", "points"), [("a3", True, (1190.88, 841.68)), ("a4", True, (841.68, 595.44))])
def test_atlas_on_a3_and_landscape(plan, tmp_path, paper, landscape, points):
    import re

    (out,) = export_plan(plan, tmp_path / "atlas.pdf", paper=paper, landscape=landscape)
    boxes = re.findall(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+) ?\]", out.read_bytes())
    assert boxes and {(float(w), float(h)) for w, h in boxes} == {points}


def test_handover_shows_one_plan_and_keeps_the_history(plan, tmp_path):
    from gis.store import PlanStore

    path = tmp_path / "plan.gpkg"
    first = {k: plan[k] for k in ("grids", "patches", "grid_members")}
    second = {**first, "grids": plan["grids"].assign(worker="王芳")}
    with PlanStore(path) as store:
        store.save(first, author="王芳", note="第一稿")
        store.save(second, author="李强", note="第二稿")
        store.set_status(2, "accepted", author="张伟", comment="同意")
    (out,) = export_plan(path, tmp_path / "交接.gpkg", format="handover")
    layers = {str(n): t for n, t in pyogrio.list_layers(out)}
    assert layers["grids"] == "MultiPolygon" and layers["patches"] == "MultiPolygon"
    spatial = {n for n, t in layers.items() if t is not None}
    assert spatial == {"grids", "patches"}  # QGIS draws one plan: no history layer on the map
    grids = gpd.read_file(out, layer="grids")
    assert len(grids) == len(plan["grids"])  # one row per grid, not one per version
    assert set(grids["worker"]) == {"王芳"}  # the latest version
    assert grids["grid_code"].is_unique
    history = pyogrio.read_dataframe(out, layer="history_grids", read_geometry=False)
    assert sorted(history["version"].unique()) == [1, 2]
    assert len(history) == 2 * len(plan["grids"])
    back = gpd.GeoSeries.from_wkt(history.loc[history["version"] == 1, "geometry_wkt"], crs=4490)
    assert back.reset_index(drop=True).geom_equals_exact(
        plan["grids"].geometry.reset_index(drop=True), tolerance=1e-7
    ).all()
    plans = pyogrio.read_dataframe(out, layer="versions", read_geometry=False)
    assert plans["note"].tolist() == ["第一稿", "第二稿"] and plans["status"].tolist()[-1] == "accepted"
    assert sorted(read_layer_styles(out)["f_table_name"]) == ["grids", "patches"]
    with pytest.raises(GridplanError, match="plan store"):
        export_plan(plan, tmp_path / "x.gpkg", format="handover")
    from gis.store import is_plan_store, read_exported

    assert not is_plan_store(out)  # a plain GeoPackage: it reads back as one
    assert len(read_exported(out)["grids"]) == len(plan["grids"])
