"""The Grids page's hand editing (AppTest): move, merge, undo, redo; refusals as messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.i18n import translator

REPO = Path(__file__).resolve().parents[1]


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch):
    monkeypatch.chdir(REPO)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_edit_merge_undo_redo_on_the_grids_page(app):
    app.switch_page("ui/pages/grids.py").run()
    _button(app, zh("Generate grids")).click().run()
    _ok(app)
    result = app.session_state["grids"]
    before = len(result.grids)
    total = int(result.grids["households"].sum())
    # choose a grid with a neighbour and merge them
    app.radio(key="w_edit_action").set_value("merge").run()
    _ok(app)
    code = app.selectbox(key="w_edit_grid").value
    partner = app.selectbox(key="w_edit_merge").value
    assert partner and partner != code
    expected = int(result.grids.set_index("grid_code").loc[[code, partner], "households"].sum())
    _button(app, zh("Apply")).click().run()
    _ok(app)
    merged = app.session_state["grids"].grids
    assert len(merged) == before - 1 and int(merged["households"].sum()) == total
    assert int(merged.set_index("grid_code").loc[code, "households"]) == expected
    assert partner not in set(merged["grid_code"])
    # undo brings both grids back; redo merges again
    app.button(key="w_edit_undo").click().run()
    _ok(app)
    assert len(app.session_state["grids"].grids) == before
    app.button(key="w_edit_redo").click().run()
    _ok(app)
    assert len(app.session_state["grids"].grids) == before - 1
    # a refused edit: a message in the planner's language, the grids unchanged
    app.radio(key="w_edit_action").set_value("move").run()
    app.text_input(key="w_edit_extra").set_value("NO-SUCH-BUILDING")
    _button(app, zh("Apply")).click().run()
    _ok(app)
    assert app.error and "NO-SUCH-BUILDING" in app.error[0].value
    assert len(app.session_state["grids"].grids) == before - 1


def test_a_click_on_the_map_picks_the_grid_once(monkeypatch):
    """A click selects the grid under it; the same click coming back again does not."""
    import geopandas as gpd
    import streamlit as st
    from shapely import box

    from ui import grid_edit

    grids = gpd.GeoDataFrame(
        {"grid_code": ["A", "B"]},
        geometry=[box(116.30, 40, 116.31, 40.01), box(116.31, 40, 116.32, 40.01)],
        crs=4490,
    )
    state: dict = {}
    monkeypatch.setattr(st, "session_state", state)
    click = {"last_object_clicked": {"lat": 40.005, "lng": 116.315}}
    assert grid_edit.select_clicked(grids, click, gcj02=False) == "B"
    assert state["w_edit_grid"] == "B"
    state["w_edit_grid"] = "A"  # the planner then picks another grid in the list
    assert grid_edit.select_clicked(grids, click, gcj02=False) is None
    assert state["w_edit_grid"] == "A"
    outside = {"last_object_clicked": {"lat": 41.0, "lng": 116.315}}
    assert grid_edit.select_clicked(grids, outside, gcj02=False) is None
    assert grid_edit.select_clicked(grids, None, gcj02=False) is None
