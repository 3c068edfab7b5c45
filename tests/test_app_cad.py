"""The app's Data page with a CAD drawing: declare its CRS, map its layers, read it."""

from __future__ import annotations

from pathlib import Path

import ezdxf
import geopandas as gpd
import pytest
from streamlit.testing.v1 import AppTest

from gis.datasets.synthetic import make_district
from gis.i18n import translator

REPO = Path(__file__).resolve().parents[1]
GK = "EPSG:4548"


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch):
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()


def _drawing(tmp_path: Path) -> tuple[Path, int]:
    layers = make_district(1000, seed=2)
    buildings = layers["buildings"].to_crs(GK).explode(ignore_index=True)
    doc = ezdxf.new("R2013")
    msp = doc.modelspace()
    total = 0
    for i, row in buildings.iterrows():
        msp.add_lwpolyline(list(row.geometry.exterior.coords)[:-1], close=True, dxfattribs={"layer": "楼栋"})
        p = row.geometry.representative_point()
        hh = int(row["households"])
        total += hh
        msp.add_text(f"{i + 1}号楼 {hh}户", dxfattribs={"layer": "文字", "insert": (p.x, p.y)})
    for geom in layers["communities"].to_crs(GK).geometry:
        msp.add_lwpolyline(list(geom.exterior.coords)[:-1], close=True, dxfattribs={"layer": "社区边界"})
    path = tmp_path / "总平面.dxf"
    doc.saveas(path)
    return path, total


def test_upload_a_dxf_declare_its_crs_and_read_it(app, tmp_path):
    path, total = _drawing(tmp_path)
    app.switch_page("ui/pages/data.py").run()
    app.file_uploader[0].set_value(("总平面.dxf", path.read_bytes(), "application/dxf"))
    app.run()
    next(b for b in app.button if b.label == zh("Read the uploaded files")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    # The drawing has no CRS: the page says so and offers the coordinates and layer form.
    assert any("CAD" in e.value for e in app.error)
    token = app.session_state["source"].token
    app.text_input(key=f"w_read_crs_{token}.zh_CN").set_value(GK)
    next(b for b in app.button if b.label == zh("Read again with these settings")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    source = app.session_state["source"]
    assert source.overrides_dict()["_read"]["crs"] == GK
    assert "楼栋=buildings" in source.overrides_dict()["_read"]["layer_map"]
    loaded = app.session_state["loaded"]
    assert int(loaded.communities["households"].sum()) == total
    assert loaded.estimated_rows() == 0  # every household came from the drawing's labels
    assert any(b.label == zh("Download the roster template (花名册模板.xlsx)") for b in app.get("download_button"))
