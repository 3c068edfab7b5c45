"""The app on a project (AppTest): field mapping, rule edits, uploads and worker assignments
are saved as versions and open again as left; a save from an outdated page is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gis.datasets.synthetic import make_district, write_district
from gis.i18n import translator

REPO = Path(__file__).resolve().parents[1]
NAME = "海淀-测试"


def zh(msgid: str) -> str:
    return translator("zh_CN").gettext(msgid)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _session(name: str = NAME) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.query_params["project"] = name
    return _ok(at.run())


def _actions(name: str = NAME) -> list[str]:
    from planning.projects import workspace

    with workspace().open(name) as project:
        return project.history()["action"].tolist()


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)  # st.Page paths are relative to the repo root
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRIDPLAN_DB", raising=False)
    return tmp_path


def _district(folder: Path, households: int, *, seed: int, name: str) -> Path:
    layers = make_district(households, seed=seed)
    # a households column no alias knows: estimated until the planner maps it
    buildings = layers["buildings"].rename(columns={"households": "户数_登记"})
    return write_district({**layers, "buildings": buildings}, folder / name)


def test_mapping_rules_and_an_upload_are_versions_that_open_as_left(home):
    from planning.projects import create_project, workspace

    first = _district(home, 1_500, seed=1, name="海淀区.gpkg")
    create_project(workspace(), NAME, first, author="王芳")
    at = _session()
    at.switch_page("ui/pages/data.py").run()
    _ok(at)
    assert at.session_state["loaded"].estimated_rows() > 0
    # field mapping: the households column mapped by hand is saved as version 2
    at.selectbox(key="w_map_layer.zh_CN").set_value("buildings").run()
    token = at.session_state["source"].token
    at.selectbox(key=f"w_map_buildings_households_{token}.zh_CN").set_value("户数_登记")
    _button(at, zh("Read again with this mapping")).click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["loaded"].estimated_rows() == 0
    assert int(at.session_state["loaded"].communities["households"].sum()) == 1_500
    assert _actions() == ["create", "mapping"]
    # a rule edit: version 3
    inputs = {n.key[len("w_rule_"):].rsplit("_", 1)[0]: n for n in at.number_input
              if n.key.startswith("w_rule_")}
    inputs["households_per_worker"].set_value(300)
    _button(at, zh("Apply rules")).click().run()
    _ok(at)
    assert _actions() == ["create", "mapping", "rules"]

    # tomorrow (a new session): the mapping and the rules are there
    again = _session()
    assert again.session_state["rules"].households_per_worker == 300
    assert again.session_state["loaded"].estimated_rows() == 0
    again.switch_page("ui/pages/data.py").run()
    _ok(again)
    mapped = [t.value for t in again.dataframe if "户数_登记" in set(t.value.iloc[:, 0])]
    assert mapped, "the Data page shows the mapping as the planner left it"

    # an upload with the project open is saved into it (version 4), mapped as read
    second = _district(home, 1_100, seed=2, name="新数据.gpkg")
    again.file_uploader[0].set_value(
        ("新数据.gpkg", second.read_bytes(), "application/geopackage+sqlite3")
    )
    again.run()
    _button(again, zh("Read the uploaded files")).click().run()
    _ok(again)
    assert again.session_state["source"].kind == "project"
    assert _actions() == ["create", "mapping", "rules", "data"]
    third = _session()
    loaded = third.session_state["loaded"]
    assert len(loaded.buildings) == len(make_district(1_100, seed=2)["buildings"])
    assert third.session_state["rules"].households_per_worker == 300  # the rules stayed
    third.switch_page("ui/pages/history.py").run()
    _ok(third)
    table = next(t.value for t in third.dataframe if zh("action") in t.value.columns)
    assert list(table[zh("action")])[::-1] == [
        zh("created"), zh("field mapping"), zh("rules changed"), zh("new data")
    ]


def test_an_outdated_save_is_refused_and_worker_assignments_are_versions(home):
    from planning.projects import create_project, workspace

    data = write_district(make_district(1_200, seed=3), home / "d.gpkg")
    create_project(workspace(), NAME, data, author="王芳")
    a, b = _session(), _session()
    for at in (a, b):
        at.switch_page("ui/pages/grids.py").run()
        _ok(at)
    # B generates grids first (version 2); A's page still shows version 1
    _button(b, zh("Generate grids")).click().run()
    _ok(b)
    assert _actions() == ["create", "grids"]
    _button(a, zh("Generate grids")).click().run()
    _ok(a)
    assert a.error, "A is told that B saved first"
    assert "第 2 版" in a.error[0].value and "第 1 版" in a.error[0].value
    hint = zh("The page now shows version {latest}, with their changes. Look them over, "
              "then make your change again: it will be saved on top of theirs.")
    assert any(i.value == hint.format(latest=2) for i in a.info)  # what to do, in the app
    assert _actions() == ["create", "grids"]  # nothing laid over B's grids
    # A's page now shows B's grids; the same press saves on top of them
    _button(a, zh("Generate grids")).click().run()
    _ok(a)
    assert not a.error, [e.value for e in a.error]
    assert _actions() == ["create", "grids", "grids"]
    # a worker assigned on the Grids page: its own version, kept for the next session
    a.radio(key="w_edit_action").set_value("assign").run()
    code = a.selectbox(key="w_edit_grid").value
    a.text_input(key="w_edit_worker").set_value("王芳")
    a.text_input(key="w_edit_phone").set_value("13800000000")
    _button(a, zh("Apply")).click().run()
    _ok(a)
    assert _actions()[-1] == "assign"
    with workspace().open(NAME) as project:
        grids = project.load(layers=["grids"])["grids"].set_index("grid_code")
    assert (grids.at[code, "worker"], str(grids.at[code, "phone"])) == ("王芳", "13800000000")


def test_a_city_opens_on_its_communities_without_preparing_every_building(home):
    """A project too big to draw its buildings opens on the Communities page from its
    community table; its buildings are prepared when a page needs them (Split)."""
    from gis.datasets.synthetic import make_city
    from gis.io import Project
    from planning.communities import prepare
    from planning.projects import project_layers, workspace

    loaded = prepare(Project(**make_city(360_000, n_communities=30, seed=4)))
    assert len(loaded.buildings) > 5_000  # more than the map draws
    workspace().create(NAME, layers=project_layers(loaded), author="王芳", rules=loaded.rules)
    at = _session()
    assert [t.value for t in at.title] == [zh("Communities")]
    assert at.session_state["loaded_pending"] is not None  # no building prepared yet
    table = next(t.value for t in at.dataframe if zh("status") in t.value.columns)
    assert len(table) == 30
    assert int(table[zh("households")].sum()) == int(loaded.communities["households"].sum())
    caption = zh("{n} buildings: too many to draw on this map, so only the communities are shown.")
    assert any(c.value == caption.format(n=len(loaded.buildings)) for c in at.caption)
    at.switch_page("ui/pages/split.py").run()
    _ok(at)
    assert "loaded_pending" not in at.session_state
    assert len(at.session_state["loaded"].buildings) == len(loaded.buildings)


def _unpreparable_project(name: str) -> None:
    """A project whose buildings layer holds points: it is listed and opens, but its data
    cannot be prepared when a page needs them."""
    from gis.io import Project
    from planning.communities import prepare
    from planning.projects import project_layers, workspace

    loaded = prepare(Project(**make_district(1_200, seed=1)))
    layers = project_layers(loaded)
    points = layers["buildings"].assign(geometry=layers["buildings"].geometry.representative_point())
    workspace().create(
        name, layers={**layers, "buildings": points}, author="王芳", rules=loaded.rules
    )


def _says_it_failed(at: AppTest, name: str) -> None:
    head = zh(
        "Project {name} could not be prepared: {error} Its figures are not shown, because those "
        "on screen would be another project's. Fix its data on the Data page, or open another "
        "project on the Projects page."
    ).split("{error}")[0].format(name=name)
    shown = [e.value for e in at.error]
    assert any(text.startswith(head) and "Point" in text for text in shown), shown
    # nothing else: no figures, tables or maps of the data still in memory
    assert not at.metric and not at.dataframe, [m.label for m in at.metric]


def test_a_project_that_cannot_be_prepared_says_so_and_shows_no_other_figures(home):
    """Opened after the sample (the sample's data still in memory) and opened from a link
    (nothing in memory): every page that shows figures says the project could not be
    prepared, in the planner's language, and shows none of the sample's figures as the
    project's; the Data page shows the error and what it means."""
    _unpreparable_project(NAME)
    at = _ok(AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run())
    at.switch_page("ui/pages/split.py").run()
    _ok(at)
    assert at.metric or at.selectbox  # the sample itself plans
    at.query_params["project"] = NAME
    at.run()
    for page in ("ui/pages/split.py", "ui/pages/compare.py", "ui/pages/overview.py"):
        at.switch_page(page).run()
        _says_it_failed(_ok(at), NAME)
    at.switch_page("ui/pages/data.py").run()
    _ok(at)
    assert any("Point" in e.value for e in at.error)
    assert any(NAME in w.value for w in at.warning)

    fresh = _session()  # ?project=NAME: the sample is loaded only as a stand-in
    _says_it_failed(fresh, NAME)
    fresh.switch_page("ui/pages/grids.py").run()
    _says_it_failed(_ok(fresh), NAME)
