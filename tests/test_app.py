"""The Streamlit app with AppTest: every page, the split page's drawing, review, grids, exports.

AppTest does not run custom components (the maps come back as ``UnknownElement``), so a
drawing is injected the way the map's ``all_drawings`` arrive: copied into session state
under ``drawing`` (``ui.session.drawing``), which the split page reads.
"""

from __future__ import annotations

import dataclasses

import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.datasets.synthetic import make_district, write_district
from gis.i18n import DEFAULT_LANGUAGE, translator

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "ui/pages/overview.py": "Communities",
    "ui/pages/data.py": "Data",
    "ui/pages/split.py": "Split",
    "ui/pages/review.py": "Review",
    "ui/pages/grids.py": "Grids",
    "ui/pages/compare.py": "Compare",
    "ui/pages/export.py": "Export",
    "ui/pages/projects.py": "Projects",
    "ui/pages/history.py": "History",
}


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)  # st.Page paths are relative to the repo root
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))  # never the planner's own
    monkeypatch.delenv("GRIDPLAN_DB", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    assert [t.value for t in at.title] == [zh("Projects")]  # the app opens on the projects
    return at.switch_page("ui/pages/overview.py").run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table_with(at: AppTest, column: str):
    tables = [t.value for t in at.dataframe if column in t.value.columns]
    assert tables, f"no table with a {column!r} column"
    return tables[0]


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _metrics(at: AppTest, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def _number(text: str) -> int:
    return int(text.replace(",", "").replace("+", ""))


def _rule_inputs(at: AppTest) -> dict:
    """The rule editor's number inputs by rule name (their keys are ``w_rule_<rule>_<version>``)."""
    return {
        n.key[len("w_rule_") :].rsplit("_", 1)[0]: n
        for n in at.number_input
        if n.key.startswith("w_rule_")
    }


def _sample_drawing(at: AppTest) -> list[dict]:
    """A polygon over the western half of the sample's study area, as Leaflet.draw returns it."""
    minx, miny, maxx, maxy = at.session_state["loaded"].communities.to_crs(4326).total_bounds
    mid = (minx + maxx) / 2
    ring = [
        [minx - 0.001, miny - 0.001],
        [mid, miny - 0.001],
        [mid, maxy + 0.001],
        [minx - 0.001, maxy + 0.001],
    ]
    ring.append(ring[0])
    return [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
    ]


# -- the first page ------------------------------------------------------------------------------
def test_first_run(app):
    _ok(app)
    assert app.session_state["lang"] == DEFAULT_LANGUAGE == "zh_CN"
    assert [t.value for t in app.title] == [zh("Communities")]
    radio = app.sidebar.radio[0]
    assert radio.value == "zh_CN"
    assert list(radio.options) == ["中文", "English"]
    table = _table_with(app, zh("status"))
    assert len(table) == 1
    row = table.iloc[0]
    assert row[zh("community code")] == "000000000000"
    assert row[zh("households")] == 9762
    assert row[zh("status")] == zh("may_split")
    assert row[zh("required_staff")] == 40
    # The selected community's figures; the rules and their citations.
    assert _metrics(app, zh("households")) == ["9,762"]
    assert _metrics(app, zh("required_staff")) == ["40"]
    assert _metrics(app, zh("shortfall")) == ["—"]  # the sample has no staff numbers
    assert any("default" in c.value for c in app.caption)
    sources = _table_with(app, zh("source"))
    # the citations in the planner's language (the rule presets carry zh and en)
    assert sources[zh("source")].str.contains(zh("Kunming 2024")).any()
    assert zh("Kunming 2024") != "Kunming 2024"
    assert not sources[zh("source")].str.contains("Kunming 2024").any()


def test_switch_to_english(app):
    app.sidebar.radio[0].set_value("en").run()
    _ok(app)
    assert app.session_state["lang"] == "en"
    assert app.sidebar.radio[0].value == "en"
    assert [t.value for t in app.title] == ["Communities"]
    row = _table_with(app, "status").iloc[0]
    assert row["status"] == "may_split"
    assert row["reasons"].startswith(
        "9762 households is more than 5000: the community may be split (Kunming 2024"
    )
    assert any("153 buildings' households are estimated" in info.value for info in app.info)


def test_switch_page_works_with_navigation_and_every_page_runs(app):
    for path, title in PAGES.items():
        app.switch_page(path).run()
        _ok(app)
        assert [t.value for t in app.title] == [zh(title)], path
    assert not app.error


def test_base_maps_every_page_runs_on_amap_and_offline(app):
    for kind in ("amap", "none", "tianditu", "custom"):
        app.sidebar.selectbox[0].set_value(kind).run()
        _ok(app)
        for path in ("ui/pages/overview.py", "ui/pages/split.py"):
            app.switch_page(path).run()
            _ok(app)
    assert app.session_state["basemap_kind"] == "custom"
    app.sidebar.radio[0].set_value("en").run()  # the choice survives a change of language
    _ok(app)
    assert app.sidebar.selectbox[0].value == "custom"


# -- data: rules, uploads, mapping --------------------------------------------------------------
def test_rule_edit_is_checked_and_applied(app):
    app.switch_page("ui/pages/data.py").run()
    _ok(app)
    by_label = _rule_inputs(app)
    by_label["grid_min_households"].set_value(60)  # above the maximum of 50
    _button(app, zh("Apply rules")).click().run()
    _ok(app)
    assert any("grid_min_households" in e.value and "60" in e.value for e in app.error)
    assert app.session_state["rules"].grid_min_households == 30  # unchanged
    by_label = _rule_inputs(app)
    by_label["grid_min_households"].set_value(30)
    by_label["households_per_worker"].set_value(300)
    _button(app, zh("Apply rules")).click().run()
    _ok(app)
    assert not app.error
    assert app.session_state["rules"].households_per_worker == 300
    app.switch_page("ui/pages/overview.py").run()
    assert _metrics(app, zh("required_staff")) == ["33"]  # ceil(9762 / 300)


def test_upload_a_project_and_fix_its_mapping(app, tmp_path):
    layers = make_district(3_000, seed=1)
    buildings = layers["buildings"].rename(columns={"households": "户数_登记"})  # no alias matches
    layers = {**layers, "buildings": buildings}
    gpkg = write_district(layers, tmp_path / "海淀区.gpkg")
    app.switch_page("ui/pages/data.py").run()
    app.file_uploader[0].set_value(
        ("海淀区.gpkg", gpkg.read_bytes(), "application/geopackage+sqlite3")
    )
    app.run()
    _button(app, zh("Read the uploaded files")).click().run()
    _ok(app)
    # Households are estimated while the column is unmapped; the planner maps it by hand.
    assert app.session_state["source"].kind == "upload"
    assert app.session_state["loaded"].estimated_rows() > len(buildings) // 2
    app.selectbox(key="w_map_layer.zh_CN").set_value("buildings").run()
    token = app.session_state["source"].token
    app.selectbox(key=f"w_map_buildings_households_{token}.zh_CN").set_value("户数_登记")
    _button(app, zh("Read again with this mapping")).click().run()
    _ok(app)
    loaded = app.session_state["loaded"]
    assert loaded.estimated_rows() == 0
    assert int(loaded.communities["households"].sum()) == 3000
    assert app.session_state["source"].overrides_dict() == {
        "buildings": {"户数_登记": "households"}
    }
    app.switch_page("ui/pages/overview.py").run()
    _ok(app)
    table = _table_with(app, zh("status"))
    assert len(table) == len(loaded.communities)
    assert _metrics(app, zh("staff")) != ["—"]  # the synthetic communities carry staff numbers


def test_a_broken_upload_shows_the_error_and_keeps_the_sample(app):
    app.switch_page("ui/pages/data.py").run()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "no layers here")
    app.file_uploader[0].set_value(("layers.zip", buffer.getvalue(), "application/zip"))
    app.run()
    _button(app, zh("Read the uploaded files")).click().run()
    _ok(app)
    assert app.error, "the planner sees what is wrong"
    assert "layers.zip" in app.error[0].value
    assert (
        app.session_state["loaded"].communities["households"].iloc[0] == 9762
    )  # still planning on the sample


def test_an_upload_that_fails_validation_shows_every_problem(app):
    import geopandas as gpd
    from shapely import box

    buildings = gpd.GeoDataFrame(
        {"楼栋编号": ["1", "2"], "户数": ["四十多", "30"]},
        geometry=[box(116.3, 39.99, 116.3003, 39.9903), box(116.301, 39.99, 116.3013, 39.9903)],
        crs=4490,
    )
    app.switch_page("ui/pages/data.py").run()
    app.file_uploader[0].set_value(
        ("楼栋.geojson", buildings.to_json().encode(), "application/geo+json")
    )
    app.run()
    _button(app, zh("Read the uploaded files")).click().run()
    _ok(app)
    assert any(
        "四十多" in e.value for e in app.error
    )  # the offending value (四十 alone now reads as 40), in the planner's language
    report = _table_with(app, zh("severity"))
    assert report[zh("severity")].tolist() == ["error"]
    mapping = _table_with(app, zh("gridplan field"))  # the mapping is shown, so it can be fixed
    assert set(mapping[zh("gridplan field")]) == {"building_id", "households"}
    assert app.session_state["loaded_source"].is_sample  # still planning on the sample


# -- split, drawing, review, compare, export ------------------------------------------------------
def test_split_drawn_by_hand_reviewed_compared_and_exported(app):
    app.switch_page("ui/pages/split.py").run()
    _button(app, zh("Propose splits")).click().run()
    _ok(app)
    assert not app.error
    result_tables = [t.value for t in app.dataframe if zh("part") in t.value.columns]
    assert len(result_tables) >= 2  # the engine's alternatives, side by side
    for table in result_tables:
        assert table[zh("households")].sum() == 9762
    assert not _metrics(app, zh("deviation from the mean"))  # nothing drawn yet

    app.session_state["drawing"] = _sample_drawing(app)
    app.run()
    _ok(app)
    households = [_number(v) for v in _metrics(app, zh("households"))]
    assert len(households) == 2 and sum(households) == 9762  # the drawn parts tile the community
    required = [_number(v) for v in _metrics(app, zh("required_staff"))]
    assert required == [-(-h // 250) for h in households]
    deviations = _metrics(app, zh("deviation from the mean"))
    assert deviations[0].startswith("+") and deviations[1].startswith("-")
    # On AMap the display copies are shifted to GCJ-02; the drawing (kept in WGS84) is not.
    app.sidebar.selectbox[0].set_value("amap").run()
    _ok(app)
    assert [_number(v) for v in _metrics(app, zh("households"))] == households
    app.sidebar.selectbox[0].set_value("osm").run()

    _button(app, zh("Save the drawn split as a proposal")).click().run()
    _ok(app)
    next(b for b in app.button if b.key == "w_save_alt_1").click().run()
    _ok(app)
    ids = [p.proposal_id for p in app.session_state["proposals"]]
    assert ids == ["000000000000-D1", "000000000000-R1"]
    # discarding the drawing asks first: Cancel keeps it, Discard throws it away
    next(b for b in app.button if b.key == "w_clear_drawing").click().run()
    assert any(b.key == "w_clear_yes" for b in app.button)
    next(b for b in app.button if b.key == "w_clear_no").click().run()
    assert len(app.session_state["drawing"]) == 1
    assert not any(b.key == "w_clear_yes" for b in app.button)
    next(b for b in app.button if b.key == "w_clear_drawing").click().run()
    next(b for b in app.button if b.key == "w_clear_yes").click().run()
    _ok(app)
    assert app.session_state["drawing"] == []
    assert not _metrics(app, zh("deviation from the mean"))

    app.switch_page("ui/pages/review.py").run()
    _ok(app)
    app.text_input(key="w_reviewer").set_value("王芳").run()
    assert not any(t.key.startswith("w_comment_") for t in app.text_area)  # in the dialogs
    # Accept opens a dialog with the comment box; Cancel records nothing
    next(b for b in app.button if b.key == "w_accept_000000000000-D1").click().run()
    _ok(app)
    assert [t.key for t in app.text_area] == ["w_comment_000000000000-D1"]
    assert len(_table_with(app, zh("comment"))) == 2  # nothing decided yet
    next(b for b in app.button if b.key == "w_review_no").click().run()
    assert not any(b.key == "w_review_yes" for b in app.button)
    assert len(_table_with(app, zh("comment"))) == 2
    next(b for b in app.button if b.key == "w_accept_000000000000-D1").click().run()
    app.text_area(key="w_comment_000000000000-D1").set_value("同意")
    next(b for b in app.button if b.key == "w_review_yes").click().run()
    _ok(app)
    assert not any(b.key == "w_review_yes" for b in app.button)  # answered: closed
    next(b for b in app.button if b.key == "w_return_000000000000-R1").click().run()
    next(b for b in app.button if b.key == "w_review_yes").click().run()
    assert app.error  # sending back needs a comment; the dialog stays open
    assert len(_table_with(app, zh("comment"))) == 3
    app.text_area(key="w_comment_000000000000-R1").set_value("沿河划界")
    next(b for b in app.button if b.key == "w_review_yes").click().run()
    _ok(app)
    trail = _table_with(app, zh("comment"))
    assert trail[zh("status")].tolist() == [
        zh("proposed"),
        zh("proposed"),
        zh("accepted"),
        zh("sent back"),
    ]
    assert trail[zh("by")].tolist()[-2:] == ["王芳", "王芳"]
    assert trail[zh("comment")].tolist()[-2:] == ["同意", "沿河划界"]

    # grids: the Grids page and Compare count household grids and dedicated grids apart, alike
    app.switch_page("ui/pages/grids.py").run()
    _button(app, zh("Generate grids")).click().run()
    _ok(app)
    shown = {
        m.label: int(str(m.value).replace(",", ""))
        for m in app.metric
        if m.label in (zh("grids"), zh("dedicated grids"))
    }
    kinds = app.session_state["grids"].grids["kind"].ne("residential").value_counts()
    assert (shown[zh("grids")], shown[zh("dedicated grids")]) == (kinds[False], kinds[True])

    app.switch_page("ui/pages/compare.py").run()
    _ok(app)
    assert app.selectbox(key="w_compare_plan.zh_CN").value.startswith("000000000000-D1")
    whole = _table_with(app, zh("measure"))
    communities = whole[whole[zh("measure")] == zh("communities")].iloc[0]
    assert (_number(str(communities[zh("before")])), _number(str(communities[zh("after")]))) == (1, 2)
    counts = whole.set_index(zh("measure"))
    for label in (zh("grids"), zh("dedicated grids")):
        assert int(float(str(counts.loc[label, zh("before")]).replace(",", ""))) == shown[label]
        assert int(float(str(counts.loc[label, zh("after")]).replace(",", ""))) == shown[label]
    per = _table_with(app, zh("plan"))
    assert len(per) == 3

    app.switch_page("ui/pages/export.py").run()
    _ok(app)
    layers = _table_with(app, zh("layer"))
    # the planner's word beside the layer's name in the files: 社区 (communities)
    names = {str(v).rsplit("(", 1)[-1].rstrip(")") for v in layers[zh("layer")]}
    assert {"communities", "proposals", "lineage", "review_trail"} <= names
    assert f"{zh('Review trail')} (review_trail)" in set(layers[zh("layer")])
    _button(app, zh("Prepare the file")).click().run()
    _ok(app)
    assert any(d.key == "w_download_plan" for d in app.get("download_button"))


def test_grids_page_generates_grids(app):
    app.switch_page("ui/pages/grids.py").run()
    _button(app, zh("Generate grids")).click().run()
    _ok(app)
    assert not app.error
    grids = int(_metrics(app, zh("grids"))[0].replace(",", ""))
    assert grids > 150
    result, scope = app.session_state["grids"], app.session_state["grids_scope"]
    households_grids = result.grids[result.grids["kind"] == "residential"]  # 专属网格 apart
    assert scope is None and len(households_grids) == grids
    divided = _table_with(app, zh("from floor"))
    assert len(divided) > 0
    patches = _table_with(app, zh("patch"))
    assert len(patches) == len(result.patches)
    # a 专属网格 has no household band to miss: not listed as outside it, nor drawn red
    dedicated = set(result.grids.loc[result.grids["kind"] != "residential", "grid_code"])
    assert dedicated
    # the sample's land use names its campus and park: their grids say what they are
    assert {"campus", "park"} <= set(result.grids["kind"])
    # the histogram counts household grids only (a 专属网格 is no 0-household grid out of band)
    import pyarrow as pa

    chart = next(e for e in app.main if getattr(e, "type", "") == "vega_lite_chart")
    frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
    bars = next(f for f in frames if "grids" in f.columns)
    assert bars["households"].min() > 0
    assert int(bars["grids"].sum()) == grids
    # the map marks buildings divided between grids, and says which grids hold which units
    import json

    from planning.grids import shared_buildings

    shared = shared_buildings(result.grid_members)
    assert len(shared)
    layers = next(e for e in app.main if getattr(e, "type", "") == "component_instance")
    sent = json.dumps(json.loads(layers.proto.json_args), ensure_ascii=False)
    assert sent.count("#6a51a3") == 2 * shared["building_id"].nunique()  # outline and fill
    first = shared.iloc[0]
    assert f"{first['grid_code'][-3:]}: {first['units']}单元" in sent
    for table in (t.value for t in app.dataframe if zh("reason") in t.value.columns):
        assert not dedicated & {str(v) for v in table.to_numpy().ravel()}
    # the edit picker starts on the first household grid, even when the list starts with
    # 专属网格 (as the district sample's does): a new session shown the grids dedicated first
    assert app.selectbox(key="w_edit_grid").value == str(households_grids["grid_code"].iloc[0])
    first_dedicated = result.grids["kind"].ne("residential").sort_values(ascending=False).index
    other = AppTest.from_file(str(REPO / "app.py"), default_timeout=180).run()
    other.session_state["grids"] = dataclasses.replace(
        result, grids=result.grids.loc[first_dedicated]
    )
    other.session_state["grids_scope"] = None
    other.switch_page("ui/pages/grids.py").run()
    _ok(other)
    picker = other.selectbox(key="w_edit_grid")
    assert picker.options[0] in dedicated
    assert picker.value == next(c for c in picker.options if c not in dedicated)


def test_base_map_tiles_and_local_leaflet():
    """Tile sources per base map; Leaflet and Leaflet.draw come from the app, not a CDN."""
    from ui.maps import base_map, draw_control
    from ui.session import Basemap

    bounds = (116.30, 39.98, 116.34, 40.01)

    def html(basemap: Basemap, *, draw: bool = False) -> str:
        m = base_map(bounds, basemap=basemap)
        if draw:
            draw_control(m)
        return m.get_root().render()

    tianditu = html(Basemap(kind="tianditu", tk="KEY123"))
    assert "t{s}.tianditu.gov.cn/vec_w/wmts" in tianditu and "cva_w" in tianditu
    assert "tk=KEY123" in tianditu and "TILEMATRIXSET=w" in tianditu
    assert "tianditu" not in html(Basemap(kind="tianditu", tk=""))  # no key yet: no tiles
    assert "autonavi.com" in html(Basemap(kind="amap"))
    assert "tiles.example.gov.cn" in html(
        Basemap(kind="custom", url="https://tiles.example.gov.cn/{z}/{x}/{y}.png")
    )
    assert "tile.openstreetmap.org" in html(Basemap(kind="osm"))
    offline = html(Basemap(kind="none"), draw=True)
    assert "openstreetmap.org/{z}" not in offline
    assert "../ui.maps.assets/leaflet/leaflet.js" in offline
    assert "../ui.maps.assets/leaflet-draw/leaflet.draw.js" in offline
    assert "cdn.jsdelivr.net" not in offline and "cdnjs.cloudflare.com" not in offline
    assert (REPO / "ui" / "assets" / "leaflet" / "leaflet.js").is_file()
    assert (REPO / "ui" / "assets" / "leaflet-draw" / "images" / "spritesheet.svg").is_file()
    # On AMap the map is centred on the GCJ-02 position of the same place.
    amap = base_map(bounds, basemap=Basemap(kind="amap"))
    osm = base_map(bounds, basemap=Basemap(kind="osm"))
    assert amap.location[1] - osm.location[1] == pytest.approx(0.0061, abs=0.0005)


def test_a_sessions_temporary_folders_go_when_the_session_does(monkeypatch):
    """Uploads and the session's plan store live in folders deleted with the session."""
    import gc

    def script():
        import streamlit as st

        from ui import session

        st.session_state["seen"] = str(session.session_dir("w_test_dir", prefix="gridplan-test-"))
        session.upload_dir()

    monkeypatch.chdir(REPO)
    at = AppTest.from_function(script, default_timeout=120).run()
    _ok(at)
    folder = Path(at.session_state["seen"])
    assert folder.is_dir() and folder.name.startswith("gridplan-test-")
    (folder / "upload.gpkg").write_bytes(b"x")
    at.run()  # a rerun keeps the same folder and what is in it
    assert Path(at.session_state["seen"]) == folder and (folder / "upload.gpkg").exists()
    del at
    gc.collect()
    assert not folder.exists()


def test_a_project_keeps_proposals_grids_and_reviews_for_the_next_session(monkeypatch, tmp_path):
    """Create a project from the sample, save a proposal and grids; a new session (another
    planner's tab, or the same after a restart) opening ?project=NAME sees all of it."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRIDPLAN_DB", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    _ok(at)
    at.text_input(key="w_project_new").set_value("清华园项目").run()
    _button(at, zh("Create")).click().run()
    _ok(at)
    assert at.query_params["project"] in ("清华园项目", ["清华园项目"])
    # split: save the engine's best alternative
    at.switch_page("ui/pages/split.py").run()
    _ok(at)
    _button(at, zh("Propose splits")).click().run()
    _ok(at)
    next(b for b in at.button if b.key == "w_save_alt_1").click().run()
    _ok(at)
    at.switch_page("ui/pages/review.py").run()
    _ok(at)
    next(b for b in at.button if b.key == "w_accept_000000000000-R1").click().run()
    next(b for b in at.button if b.key == "w_review_yes").click().run()
    _ok(at)
    # grids
    at.switch_page("ui/pages/grids.py").run()
    _button(at, zh("Generate grids")).click().run()
    _ok(at)
    saved = zh("saved, version {version}, {at}").split("{")[0]
    assert any(c.value.startswith(saved) and "3" in c.value for c in at.sidebar.caption), [
        c.value for c in at.sidebar.caption
    ]

    # another planner's session (or this one after a restart) on the same project
    other = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    other.query_params["project"] = "清华园项目"
    other.run()
    _ok(other)
    other.switch_page("ui/pages/review.py").run()
    _ok(other)
    assert any("000000000000-R1" in e.label for e in other.expander)
    trail = _table_with(other, zh("status"))
    assert zh("accepted") in set(trail[zh("status")])
    other.switch_page("ui/pages/grids.py").run()
    _ok(other)
    assert not any(zh("Choose the communities and press “Generate grids”.") in i.value
                   for i in other.info)  # the grids are there
    other.switch_page("ui/pages/history.py").run()
    _ok(other)
    table = _table_with(other, zh("action"))  # what made each version, in the planner's words
    assert list(table[zh("action")])[::-1] == [
        zh("created"), zh("split proposal"), zh("grids generated")
    ]


def test_generating_again_without_a_project_asks_first(app):
    """No project open: the grids live in the tab only, so new grids are generated only
    after the planner confirms; Cancel keeps the grids shown (#21)."""
    app.switch_page("ui/pages/grids.py").run()
    _button(app, zh("Generate grids")).click().run()
    _ok(app)
    first = app.session_state["grids"]
    assert not any(b.key == "w_regrid_yes" for b in app.button)  # nothing to lose yet
    community = str(first.grids["community_id"].iloc[0])
    app.selectbox(key="w_grid_scope.zh_CN").set_value(community)
    _button(app, zh("Generate grids")).click().run()
    _ok(app)
    assert any(b.key == "w_regrid_yes" for b in app.button)  # asked, not done
    assert app.session_state["grids"] is first
    next(b for b in app.button if b.key == "w_regrid_no").click().run()
    _ok(app)
    assert not any(b.key == "w_regrid_yes" for b in app.button)
    assert app.session_state["grids"] is first and app.session_state["grids_scope"] is None
    _button(app, zh("Generate grids")).click().run()
    next(b for b in app.button if b.key == "w_regrid_yes").click().run()
    _ok(app)
    assert app.session_state["grids_scope"] == (community,)
    assert set(app.session_state["grids"].grids["community_id"].astype(str)) == {community}


def test_the_sidebar_names_the_sample_by_its_title(app):
    """The sidebar read "项目：样例 beijing"; a bundled sample is named by its title."""
    captions = [c.value for c in app.sidebar.caption]
    assert any(zh("Beijing, OpenStreetMap as is") in c for c in captions), captions
    assert not any("beijing ·" in c for c in captions), captions
