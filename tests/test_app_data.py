"""The Data page offers every fix its messages promise: the CRS (proposed, with its reason)
and the text encoding, kept with the project's source."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.i18n import translator
from gk_upload import GK_CRS, gk_zip_without_prj

REPO = Path(__file__).resolve().parents[1]


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch):
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()


def test_a_gk_shapefile_without_prj_is_read_with_the_proposed_crs(app, tmp_path):
    path, households = gk_zip_without_prj(tmp_path)
    app.switch_page("ui/pages/data.py").run()
    app.file_uploader[0].set_value((path.name, path.read_bytes(), "application/zip"))
    app.run()
    next(b for b in app.button if b.label == zh("Read the uploaded files")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.error, "the missing CRS is said"
    # the sample that loaded before lies near 116.3°E: the 117°E zone is proposed, with why
    token = app.session_state["source"].token
    picker = app.selectbox(key=f"w_read_crs_pick_{token}.zh_CN")
    assert picker.value == GK_CRS
    assert any("117" in i.value and "°E" in i.value for i in app.info), [i.value for i in app.info]
    encoding = app.selectbox(key=f"w_read_encoding_{token}.zh_CN")
    encoding.set_value("utf-8")
    next(b for b in app.button if b.label == zh("Read again with these settings")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    loaded = app.session_state["loaded"]
    assert len(loaded.communities) == 2
    assert int(loaded.communities["households"].sum()) == households
    # where it lies: Haidian, not the Gulf of Guinea
    minx, miny, maxx, maxy = loaded.communities.to_crs(4326).total_bounds
    assert 116.0 < minx < maxx < 116.7 and 39.8 < miny < maxy < 40.2
    options = app.session_state["source"].overrides_dict()["_read"]
    assert options == {"crs": GK_CRS, "encoding": "utf-8"}  # kept with the project's source


def _ambiguous_zip(folder: Path) -> tuple[Path, int]:
    """The district sample's second community as a surveyor might name it: ``layer_a``
    (the buildings) and ``边界`` (the community), with the sample's 花名册.xlsx."""
    import zipfile

    import geopandas as gpd

    from gis.datasets import get_path

    sample = get_path("beijing_district")
    communities = gpd.read_file(sample / "beijing_district.gpkg", layer="communities")
    one = communities[communities["community_id"] == "110108900002"]
    buildings = gpd.read_file(sample / "beijing_district.gpkg", layer="buildings")
    inside = buildings[buildings.representative_point().within(one.geometry.iloc[0])]
    one.to_file(folder / "边界.geojson")
    inside.to_file(folder / "layer_a.geojson")
    path = folder / "成果.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("边界.geojson", "layer_a.geojson"):
            zf.write(folder / name, arcname=name)
        zf.write(sample / "花名册.xlsx", arcname="花名册.xlsx")
    return path, len(inside)


def test_layer_roles_and_the_rosters_sheet_and_header_are_chosen_and_kept(
    app, tmp_path, monkeypatch
):
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    path, n_buildings = _ambiguous_zip(tmp_path)
    app.switch_page("ui/pages/data.py").run()
    app.file_uploader[0].set_value((path.name, path.read_bytes(), "application/zip"))
    app.run()
    next(b for b in app.button if b.label == zh("Read the uploaded files")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.error  # no layer is named buildings: the error says so
    token = app.session_state["source"].token
    roles = {s.label: s for s in app.selectbox if (s.key or "").startswith("w_role_") and token in s.key}
    assert set(roles) == {"边界.geojson", "layer_a.geojson", "花名册.xlsx"}
    assert roles["花名册.xlsx"].value == "roster" and roles["layer_a.geojson"].value == ""
    roles["layer_a.geojson"].set_value("buildings")
    roles["边界.geojson"].set_value("communities")
    next(b for b in app.button if b.label == zh("Read again with these roles")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    loaded = app.session_state["loaded"]
    assert len(loaded.buildings) == n_buildings
    assert loaded.communities["community_id"].tolist() == ["110108900002"]
    assert (loaded.buildings["households_source"] == "roster").sum() == 1  # the roster matched
    source = app.session_state["source"]
    assert source.overrides_dict()["_roles"] == {
        "layer_a.geojson": "buildings",
        "边界.geojson": "communities",
    }

    # the roster: its sheet and header line found, shown, and changeable
    token = source.token
    sheet = app.selectbox(key=f"w_roster_sheet_{token}.zh_CN")
    assert sheet.value == "花名册" and list(sheet.options) == ["说明", "花名册"]
    header = app.number_input(key=f"w_roster_header_{token}_花名册.zh_CN")
    assert header.value == 2
    shown = [t.value for t in app.dataframe]
    assert any("楼栋编号" in t.columns for t in shown), "the first rows as read"
    assert not any(zh("No column of this header names") in w.value for w in app.warning)
    header.set_value(1).run()  # the title line as header: nothing to match buildings on
    assert any(
        zh(
            "No column of this header names an address or a building id, so no row can be "
            "matched to a building: choose another sheet or header line, or map a column below."
        )
        == w.value
        for w in app.warning
    )
    app.number_input(key=f"w_roster_header_{token}_花名册.zh_CN").set_value(2).run()
    next(b for b in app.button if b.key == "w_roster_apply").click().run()
    assert not app.exception, [e.value for e in app.exception]
    options = app.session_state["source"].overrides_dict()["_read"]
    assert options == {"sheet": "花名册", "header_line": "2"}

    # kept as a project: the choices are in its history
    form_input = next(t for t in app.text_input if t.label == zh("Project name"))
    form_input.set_value("角色测试")
    next(b for b in app.button if b.label == zh("Save as a new project")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    from planning.projects import workspace

    with workspace(str(tmp_path / "home")).open("角色测试") as proj:
        note = str(proj.history().iloc[0]["note"])
        meta = proj.info()["meta"]["read_options"]
    assert "layer_a.geojson" in note and "边界.geojson" in note and "花名册" in note
    assert meta["roles"] == {"layer_a.geojson": "buildings", "边界.geojson": "communities"}
    assert meta["sheet"] == "花名册" and meta["header_line"] == 2


def test_reading_other_data_asks_before_throwing_away_what_no_project_keeps(app):
    """Without a project, proposals, grids and a drawing live only in the tab: reading other
    data asks first (Cancel keeps them); with nothing made, it reads at once."""
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[116.32, 39.99], [116.33, 39.99], [116.33, 40.0], [116.32, 39.99]]],
        },
    }
    app.session_state["drawing"] = [feature]
    app.switch_page("ui/pages/data.py").run()
    app.selectbox(key="w_sample").set_value("shanghai")
    next(b for b in app.button if b.label == zh("Use the sample")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any(b.key == "w_replace_data_yes" for b in app.button)  # asked, nothing read yet
    assert app.session_state["loaded_source"].name == "beijing"
    next(b for b in app.button if b.key == "w_replace_data_no").click().run()
    assert not any(b.key == "w_replace_data_yes" for b in app.button)
    assert app.session_state["loaded_source"].name == "beijing"
    assert app.session_state["drawing"] == [feature]
    next(b for b in app.button if b.label == zh("Use the sample")).click().run()
    next(b for b in app.button if b.key == "w_replace_data_yes").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state["loaded_source"].name == "shanghai"
    assert "drawing" not in app.session_state or app.session_state["drawing"] == []
    # nothing made on Shanghai: Beijing again is read without a question
    app.selectbox(key="w_sample").set_value("beijing")
    next(b for b in app.button if b.label == zh("Use the sample")).click().run()
    assert not any(b.key == "w_replace_data_yes" for b in app.button)
    assert app.session_state["loaded_source"].name == "beijing"
