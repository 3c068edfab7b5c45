"""The app's first hour on the bundled district sample (AppTest): the Projects page opens
it, every page runs on it with something to show, and no table cell reads None or nan."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from gis.i18n import translator
from planning.projects import workspace

REPO = Path(__file__).resolve().parents[1]
PAGES = (
    "ui/pages/overview.py",
    "ui/pages/data.py",
    "ui/pages/split.py",
    "ui/pages/review.py",
    "ui/pages/grids.py",
    "ui/pages/compare.py",
    "ui/pages/analyses.py",
    "ui/pages/export.py",
    "ui/pages/history.py",
    "ui/pages/projects.py",
)
BAD_CELLS = {"None", "nan", "NaN", "<NA>", "NaT"}


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRIDPLAN_DB", raising=False)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=240).run()


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _bad_cells(at: AppTest) -> list[str]:
    """Every cell of every table on the page that reads None, nan… as the planner sees it."""
    bad = []
    for table in at.dataframe:
        value = table.value
        frame = value.data if hasattr(value, "data") else value  # a Styler or a frame
        if hasattr(value, "data"):  # a Styler: the formatted text is what is shown
            ctx = value._translate(False, False)  # noqa: SLF001 - the rendered cells
            texts = [c.get("display_value") for row in ctx["body"] for c in row if c.get("type") == "td"]
        else:
            texts = [str(v) for v in pd.DataFrame(frame).to_numpy().ravel()]
        bad.extend(str(t) for t in texts if str(t).strip() in BAD_CELLS)
    return bad


def test_the_district_sample_opens_from_the_projects_page_and_every_page_has_something(app):
    _ok(app)
    assert [t.value for t in app.title] == [zh("Projects")]
    assert any(s.value == zh("Bundled samples") for s in app.subheader)
    next(b for b in app.button if b.key == "w_open_sample_beijing_district").click().run()
    _ok(app)
    assert [t.value for t in app.title] == [zh("Communities")]
    loaded = app.session_state["loaded"]
    table = loaded.communities
    assert len(table) == 3
    assert int(table["households"].sum()) == 9762
    assert sorted(table["status"]) == ["may_split", "small", "small"]
    assert table["staff"].notna().all() and (table["shortfall"].fillna(0) >= 0).all()
    assert int(table["special_service_households"].sum()) == 11  # the roster's flagged flats
    assert len(loaded.project.service_centres) == 3
    illustrative = zh(
        "Illustrative sample: the buildings are OpenStreetMap's, but the communities, their "
        "codes and staff, the service centres and the roster are made up to show the app "
        "at work. They are not official figures."
    )
    assert any(w.value == illustrative for w in app.warning)
    for page in PAGES:
        app.switch_page(page).run()
        _ok(app)
        assert not _bad_cells(app), (page, _bad_cells(app))


def test_archiving_and_restoring_ask_first(app):
    """Destructive actions open a dialog: Cancel keeps everything, the confirm button acts."""
    app.text_input(key="w_project_new").set_value("甲项目").run()
    next(b for b in app.button if b.key == "w_project_create").click().run()
    app.switch_page("ui/pages/grids.py").run()
    next(b for b in app.button if b.label == zh("Generate grids")).click().run()  # version 2
    _ok(app)
    # restore version 1: asked first; Cancel leaves the project at version 2
    app.switch_page("ui/pages/history.py").run()
    app.selectbox(key="w_history_restore").set_value(1).run()
    next(b for b in app.button if b.key == "w_history_restore_go").click().run()
    _ok(app)
    assert any(b.key == "w_restore_yes" for b in app.button)  # the dialog, nothing done yet
    ws = workspace(os.environ["GRIDPLAN_HOME"])  # the app's (the fixture's tmp_path)
    with ws.open("甲项目") as proj:
        assert proj.latest_version() == 2
    next(b for b in app.button if b.key == "w_restore_no").click().run()
    assert not any(b.key == "w_restore_yes" for b in app.button)
    with ws.open("甲项目") as proj:
        assert proj.latest_version() == 2
    next(b for b in app.button if b.key == "w_history_restore_go").click().run()
    next(b for b in app.button if b.key == "w_restore_yes").click().run()
    _ok(app)
    with ws.open("甲项目") as proj:
        assert proj.latest_version() == 3
        assert "grids" not in proj.layer_names()  # version 1 again: no grids
        assert proj.history()["note"].iloc[-1] == "restored version 1"  # stored neutral
    history = next(t.value for t in app.dataframe if zh("note") in t.value.columns)
    assert history[zh("note")].iloc[0] == zh("restored version {version}").format(version=1)
    assert history[zh("note")].iloc[0] != "restored version 1"  # shown in the planner's language
    # archive: asked first, then gone from the list (kept in the archive)
    app.switch_page("ui/pages/projects.py").run()
    next(b for b in app.button if b.key == "w_project_archive").click().run()
    assert ws.names() == ["甲项目"]
    next(b for b in app.button if b.key == "w_archive_yes").click().run()
    _ok(app)
    assert ws.names() == [] and ws.names(archived=True) == ["甲项目"]
