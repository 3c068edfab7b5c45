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
    # a grid of walk-ups (units left blank): its member table reads "—", never "None"
    blank = result.grid_members[result.grid_members["unit_from"].isna()]
    assert len(blank), "the sample has walk-ups without units"
    app.selectbox(key="w_edit_grid").set_value(str(blank["grid_code"].iloc[0])).run()
    shown = [getattr(t.value, "data", t.value) for t in app.dataframe]  # a Styler's data
    cells = next(frame for frame in shown if zh("from unit") in frame.columns)
    assert "—" in set(cells[zh("from unit")]), cells
    assert not cells[[zh("from unit"), zh("to unit")]].isna().any().any()
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


@pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS")
def test_buildings_selected_by_a_drawn_rectangle_move_together(app):
    """A rectangle drawn on the grids map selects the buildings whose point it holds, in
    several grids; the preview says each grid's households after; the move is applied,
    its figures shown with the change, and undone."""
    import shapely

    from planning.edit import GridPlan, move

    app.switch_page("ui/pages/grids.py").run()
    _button(app, zh("Generate grids")).click().run()
    _ok(app)
    result = app.session_state["grids"]
    from planning.communities import load
    from gis import datasets

    buildings = load(datasets.get_path("beijing")).buildings
    plan = GridPlan.from_result(result, buildings=buildings)
    # two buildings of two grids, both able to go to a grid touching the first
    grids = plan.grids.set_index("grid_code")
    chosen = None
    for a in grids.index:
        ids_a = plan.members_of(a)["building_id"].unique()
        near = [c for c in grids.index if c != a and grids.geometry[c].intersection(grids.geometry[a]).length > 1e-7]
        for to in near:
            ids_to = plan.members_of(to)["building_id"].unique()
            for b in ids_a:
                if len(ids_a) < 2:
                    break
                if plan.grid_members.loc[plan.grid_members["building_id"] == b, "grid_code"].nunique() > 1:
                    continue  # a building divided between grids: a whole one here
                try:
                    move(plan, [b], to)
                except Exception:
                    continue
                chosen = (a, to, b)
                break
            if chosen:
                break
        if chosen:
            break
    assert chosen, "no movable building in the sample"
    a, to, b = chosen
    footprint = buildings.set_index("building_id").geometry[b]
    point = footprint.representative_point()
    others = buildings[buildings["building_id"] != b].geometry.representative_point()
    gap = float(others.distance(point).min())  # degrees: the box holds no other building's point
    box = shapely.box(point.x - gap / 2, point.y - gap / 2, point.x + gap / 2, point.y + gap / 2)
    drawing = {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(box)}
    app.session_state["grid_pick"] = {
        "map": app.session_state["grid_map_key"], "value": {"all_drawings": [drawing]}
    }
    app.run()
    _ok(app)
    households_b = int(plan.members_of(a).set_index("building_id").loc[[b], "households"].sum())
    heading = zh("{n} buildings selected on the map ({households} households) in grids {codes}").format(
        n=1, households=f"{households_b:,}", codes=a)
    assert any(heading in m.value for m in app.markdown)
    app.selectbox(key="w_sel_target").set_value(to).run()
    preview = next(t.value for t in app.dataframe if zh("households after") in t.value.columns)
    after = dict(zip(preview.iloc[:, 0].astype(str), preview[zh("households after")], strict=True))
    now_a, now_to = int(grids.loc[a, "households"]), int(grids.loc[to, "households"])
    assert after == {a: now_a - households_b, to: now_to + households_b}
    app.button(key="w_sel_move").click().run()
    _ok(app)
    moved = app.session_state["grids"]
    members = moved.grid_members
    assert set(members.loc[members["building_id"] == b, "grid_code"]) == {to}
    new = moved.grids.set_index("grid_code")["households"]
    assert (int(new[a]), int(new[to])) == (now_a - households_b, now_to + households_b)
    effect = {m.label.split(" ")[0]: m for m in app.metric if m.label.split(" ")[0] in (a, to)}
    assert effect[to].value == f"{now_to + households_b:,}"
    words = zh("{n} buildings selected on the map ({households} households) in grids {codes}")
    words = words.split("{n}")[1].split("{")[0]
    assert words.strip() and not any(words in m.value for m in app.markdown)  # selection cleared
    app.button(key="w_edit_undo").click().run()
    _ok(app)
    back = app.session_state["grids"].grid_members
    assert set(back.loc[back["building_id"] == b, "grid_code"]) == {a}
