"""Projects that last: names, the list, versions, restore, compare, roles, crashes, teams.

The workspace runs on both stores: a folder of GeoPackages and a PostGIS database (the
server is started by ``tests/pg_server.py``; those cases skip only where PostgreSQL or
PostGIS is not installed). The crash test kills a real process with SIGKILL while it
saves; the team tests run real processes against one project.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:  # when run as the writer script
        sys.path.insert(0, str(extra))

from gis.users import PermissionDenied, User, add_user, load_users  # noqa: E402
from gis.store import PlanConflictError, PlanStoreError  # noqa: E402
from planning.projects import workspace  # noqa: E402
from gis.store.workspace import (  # noqa: E402
    MAX_NAME_CHARS,
    ProjectError,
    Workspace,
    check_project_name,
)

OUTPUT = ROOT / "test-output"


# --------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------
def city(n_communities: int = 3, per_side: int = 4, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Buildings and communities of a small generated district, in EPSG:4490."""
    rng = np.random.default_rng(seed)
    rows, communities = [], []
    for c in range(n_communities):
        cid = f"110108001{c + 1:03d}"
        x0 = 116.30 + c * 0.01
        communities.append((cid, f"社区{c + 1}", shapely.box(x0, 40.0, x0 + 0.009, 40.009)))
        for i in range(per_side * per_side):
            x = x0 + 0.0005 + (i % per_side) * 0.002
            y = 40.0005 + (i // per_side) * 0.002
            rows.append(
                (f"B{c}-{i}", cid, int(rng.integers(20, 120)), shapely.box(x, y, x + 0.001, y + 0.001))
            )
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [r[0] for r in rows],
            "community_id": [r[1] for r in rows],
            "households": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=4490,
    )
    comms = gpd.GeoDataFrame(
        {"community_id": [c[0] for c in communities], "name": [c[1] for c in communities]},
        geometry=[c[2] for c in communities],
        crs=4490,
    )
    return {"buildings": buildings, "communities": comms}


def grids_of(buildings: gpd.GeoDataFrame, size: int = 2) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Group buildings in runs of ``size`` per community: grids and their members."""
    codes, members = [], []
    for cid, group in buildings.groupby("community_id"):
        for k, start in enumerate(range(0, len(group), size)):
            part = group.iloc[start : start + size]
            code = f"{cid}{k + 1:03d}"
            x0, y0, x1, y1 = part.total_bounds
            codes.append((code, cid, int(part["households"].sum()), shapely.box(x0, y0, x1, y1)))
            members += [(code, b, h) for b, h in zip(part["building_id"], part["households"])]
    grids = gpd.GeoDataFrame(
        {
            "grid_code": [c[0] for c in codes],
            "community_id": [c[1] for c in codes],
            "households": [c[2] for c in codes],
        },
        geometry=[c[3] for c in codes],
        crs=4490,
    )
    table = pd.DataFrame(members, columns=["grid_code", "building_id", "households"])
    return grids, table


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg():
    import pg_server

    try:
        server = pg_server.start()
    except pg_server.Unavailable as exc:
        pytest.skip(f"no PostgreSQL server with PostGIS can be started here: {exc}")
    yield server
    pg_server.stop(server.folder, server.bindir)


@pytest.fixture(params=["gpkg", "postgis"])
def ws(request, tmp_path) -> Workspace:
    if request.param == "gpkg":
        return workspace(tmp_path / "home")
    return workspace(tmp_path / "home", db=request.getfixturevalue("pg").url())


def unique(prefix: str = "项目") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../x", "'/' or '..'"),
        ("a/b", "'/' or '..'"),
        ("a\\b", "'/' or '..'"),
        ("..", "'/' or '..'"),
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 200, "at most 60 characters"),
        ("清" * (MAX_NAME_CHARS + 1), "at most 60 characters"),
        ("a:b", "holds ':'"),
        ("a\x00b", "control characters"),
        ("a\tb", "control characters"),
        (".hidden", "Start and end it"),
        ("CON", "Start and end it"),
    ],
)
def test_bad_project_names_are_refused_with_a_reason(name, match, tmp_path):
    with pytest.raises(ProjectError, match=match) as err:
        check_project_name(name)
    assert err.value.render("zh_CN") != ""  # translated, not a traceback
    ws = Workspace(tmp_path)
    with pytest.raises(ProjectError):
        ws.create(name, layers=city(1), author="王芳")
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.rglob("*.gpkg")) == []  # nothing written anywhere


def test_chinese_names_and_the_longest_name_are_kept(tmp_path):
    ws = Workspace(tmp_path)
    longest = "清" * MAX_NAME_CHARS
    for name in ("海淀区 清华园街道（2026）", longest, "Haidian_2026.v2"):
        assert check_project_name(name) == name
        ws.create(name, layers=city(1), author="王芳")
    assert ws.names() == sorted(["海淀区 清华园街道（2026）", longest, "Haidian_2026.v2"])
    assert (tmp_path / "projects" / f"{longest}.gpkg").exists()


def test_the_default_home_is_the_user_data_folder(monkeypatch, tmp_path):
    import platformdirs

    from gis.store.workspace import default_home

    monkeypatch.delenv("GRIDPLAN_HOME", raising=False)
    assert default_home() == Path(platformdirs.user_data_dir("gridplan", appauthor=False))
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "shared"))
    assert Workspace.from_env().home == tmp_path / "shared"
    monkeypatch.setenv("GRIDPLAN_DB", "sqlite:///x.db")
    with pytest.raises(ProjectError, match="not a database URL"):
        Workspace.from_env()


# --------------------------------------------------------------------------------------
# the list, rename, duplicate, archive
# --------------------------------------------------------------------------------------
def test_list_rename_duplicate_archive_and_restore(ws):
    data = city(3)
    name, copy, renamed = unique(), unique("副本"), unique("改名")
    project = ws.create(name, layers=data, author="王芳", note="区里给的数据")
    grids, members = grids_of(data["buildings"])
    project.save(layers={"grids": grids, "grid_members": members}, action="grids", author="李强")

    listed = {s.name: s for s in ws.list()}
    line = listed[name]
    assert (line.version, line.author, line.action) == (2, "李强", "grids")
    assert line.communities == 3
    assert line.households == int(data["buildings"]["households"].sum())
    assert line.grids == len(grids)
    metric = data["communities"].to_crs(32650)
    assert line.area_km2 == pytest.approx(metric.area.sum() / 1e6, rel=0.01)

    dup = ws.duplicate(name, copy, author="王芳")
    assert dup.history()["action"].tolist() == ["create"]
    assert set(dup.load()) == {"buildings", "communities", "grids", "grid_members", "plans"}
    assert len(dup.load()["grids"]) == len(grids)

    ws.rename(copy, renamed, author="王芳")
    assert renamed in ws.names() and copy not in ws.names()
    assert ws.open(renamed).history()["version"].tolist() == [1]
    assert ws.open(renamed).store.plan_id == renamed
    with pytest.raises(ProjectError, match="no project called"):
        ws.open(copy)
    with pytest.raises(ProjectError, match="already a project"):
        ws.rename(renamed, name, author="王芳")

    ws.archive(name, author="王芳")
    assert name not in ws.names() and name in ws.names(archived=True)
    assert name in [s.name for s in ws.list(archived=True)]
    archived = ws.open(name)
    assert archived.read_only and len(archived.load()["grids"]) == len(grids)
    with pytest.raises(ProjectError, match="archived"):
        archived.save(layers={"grids": grids}, action="grids", author="王芳")
    with pytest.raises(ProjectError, match="already a project"):
        ws.create(name, layers=data, author="王芳")  # an archived name stays taken
    ws.unarchive(name, author="王芳")
    back = ws.open(name)
    assert not back.read_only and back.latest_version() == 2
    assert "archive" in back.audit()["action"].tolist()


def test_the_bundled_sample_is_read_only_and_can_be_duplicated(tmp_path, beijing_loaded):
    from planning.projects import community_table

    ws = workspace(tmp_path)
    sample = ws.open("sample:beijing")
    assert sample.read_only
    with pytest.raises(ProjectError, match="bundled sample"):
        sample.save(layers=city(1), action="data", author="王芳")
    expected = int(beijing_loaded.communities["households"].sum())
    assert int(community_table(sample)["households"].sum()) == expected
    mine = ws.duplicate("sample:beijing", "我的清华园", author="王芳")
    assert not mine.read_only
    assert [s.name for s in ws.list()] == ["我的清华园"]
    assert ws.list()[0].households == expected
    assert [s.name for s in ws.list(samples=True)][-2:] == ["sample:beijing", "sample:shanghai"]


# --------------------------------------------------------------------------------------
# versions: history, old versions, restore, compare
# --------------------------------------------------------------------------------------
def test_versions_keep_unchanged_layers_without_copying_them(ws):
    data = city(2)
    project = ws.create(unique(), layers=data, author="王芳")
    grids, members = grids_of(data["buildings"])
    v2 = project.save(
        layers={"grids": grids, "grid_members": members},
        action="grids",
        author="李强",
        note="第一次划分",
    )
    assert v2 == 2
    info = project.info()
    assert info["layers"]["buildings"]["same_as"] == 1  # not written again
    assert "same_as" not in info["layers"]["grids"]
    loaded = project.load()
    pd.testing.assert_series_equal(
        loaded["buildings"]["households"].astype(int),
        data["buildings"]["households"].astype(int),
        check_names=False,
    )
    history = project.history()
    assert history[["version", "author", "action", "note"]].to_dict("records") == [
        {"version": 1, "author": "王芳", "action": "create", "note": ""},
        {"version": 2, "author": "李强", "action": "grids", "note": "第一次划分"},
    ]
    assert history["at"].str.match(r"\d{4}-\d\d-\d\dT").all()


def test_an_old_version_opens_read_only_and_restores_as_a_new_version(ws):
    data = city(2)
    project = ws.create(unique(), layers=data, author="王芳")
    grids, members = grids_of(data["buildings"], size=2)
    project.save(layers={"grids": grids, "grid_members": members}, action="grids", author="王芳")
    bigger, big_members = grids_of(data["buildings"], size=4)
    project.save(
        layers={"grids": bigger, "grid_members": big_members}, action="grids", author="李强"
    )

    old = project.at(2)
    assert old.read_only and old.version == 2
    assert len(old.load()["grids"]) == len(grids)
    with pytest.raises(ProjectError, match="old version"):
        old.save(layers={"grids": grids}, action="edit", author="王芳")
    with pytest.raises(PlanStoreError, match="no version 9"):
        project.at(9)

    v4 = project.restore(2, author="王芳")
    assert v4 == 4
    restored = project.load()
    assert sorted(restored["grids"]["grid_code"]) == sorted(grids["grid_code"])
    assert restored["grids"]["households"].sum() == grids["households"].sum()
    assert project.history().iloc[-1][["action", "note"]].tolist() == [
        "restore",
        "restored version 2",
    ]
    info = project.info()
    assert {e["same_as"] for e in info["layers"].values()} == {1, 2}  # no rows copied
    assert project.compare(2, 4).grids.empty
    # a restore from a page that showed version 3 is refused: version 4 is not buried
    with pytest.raises(PlanConflictError) as refused:
        project.restore(1, author="李强", base_version=3)
    assert refused.value.params["latest"] == 4 and project.latest_version() == 4
    assert project.restore(1, author="李强", base_version=4) == 5


def test_the_database_is_checked_once_per_workspace(pg, tmp_path, monkeypatch):
    """Opening a project, listing, saving and loading check PostGIS and make the schema
    once per workspace object, not on every open (the app opens one on every page)."""
    from gis.store.postgis import PostGISPlanStore

    calls: list[str] = []
    real = PostGISPlanStore._setup

    def counted(self: PostGISPlanStore) -> None:
        calls.append(str(self.url.database))
        real(self)

    monkeypatch.setattr(PostGISPlanStore, "_setup", counted)
    ws = workspace(tmp_path / "home", db=pg.url())
    name = unique()
    data = city(1)
    ws.create(name, layers=data, author="王芳").close()
    for _ in range(3):
        with ws.open(name) as project:
            project.save(layers={"lineage": pd.DataFrame({"building_id": ["B1"]})},
                         action="edit", author="王芳")
            assert len(project.load(layers=["buildings"])["buildings"]) == len(data["buildings"])
        assert name in [line.name for line in ws.list()]
    assert len(calls) == 1
    # another workspace object (another server) checks once for itself
    other = workspace(tmp_path / "home", db=pg.url())
    with other.open(name) as project:
        assert project.latest_version() == 4
    assert len(calls) == 2


def test_compare_two_versions_names_the_changed_grids_and_buildings(ws):
    data = city(2, seed=3)
    project = ws.create(unique(), layers=data, author="王芳")
    grids, members = grids_of(data["buildings"])
    project.save(layers={"grids": grids, "grid_members": members}, action="grids", author="王芳")
    # move one building to the next grid; drop one grid's code for a new one
    moved = members.copy()
    first, second = grids["grid_code"].iloc[0], grids["grid_code"].iloc[1]
    mover = moved.index[moved["grid_code"] == first][0]
    moved.loc[mover, "grid_code"] = second
    edited = grids.copy()
    edited["households"] = (
        moved.groupby("grid_code")["households"].sum().reindex(edited["grid_code"]).fillna(0)
    ).astype(int).to_numpy()
    edited = edited[edited["households"] > 0]
    last = edited.index[-1]
    new_code = "999999999999001"
    moved.loc[moved["grid_code"] == edited.at[last, "grid_code"], "grid_code"] = new_code
    old_code = edited.at[last, "grid_code"]
    edited.loc[last, "grid_code"] = new_code
    v3 = project.save(
        layers={"grids": edited, "grid_members": moved}, action="edit", author="李强"
    )
    diff = project.compare(2, v3)
    changes = dict(zip(diff.grids["grid_code"], diff.grids["change"]))
    assert changes[second] == "changed"
    assert changes[new_code] == "added" and changes[old_code] == "removed"
    moved_id = members.at[mover, "building_id"]
    assert moved_id in set(diff.buildings["building_id"])
    row = diff.buildings.set_index("building_id").loc[moved_id]
    assert (row["grids_a"], row["grids_b"]) == (first, second)
    assert diff.households["buildings"]["a"] == diff.households["buildings"]["b"]
    assert diff.households["grids"] == {
        "a": int(grids["households"].sum()),
        "b": int(edited["households"].sum()),
    }
    unchanged = set(grids["grid_code"]) - {first, second, old_code}
    assert not unchanged & set(diff.grids["grid_code"])  # only what changed is listed


def test_one_community_loads_alone(ws):
    data = city(3)
    project = ws.create(unique(), layers=data, author="王芳")
    one = project.load(community="110108001002")
    assert set(one["buildings"]["community_id"]) == {"110108001002"}
    assert len(one["buildings"]) == 16
    assert len(one["communities"]) == 1
    both = project.load(layers=["buildings"], community=["110108001001", "110108001003"])
    assert set(both) == {"buildings", "plans"} and len(both["buildings"]) == 32


# --------------------------------------------------------------------------------------
# roles
# --------------------------------------------------------------------------------------
def test_roles_hold_for_every_project_action(tmp_path):
    ws = Workspace(tmp_path)
    viewer, editor, approver = (
        User("zs", "张三", "viewer"),
        User("wf", "王芳", "editor"),
        User("lq", "李强", "approver"),
    )
    with pytest.raises(PermissionDenied):
        ws.create("甲", layers=city(1), author="张三", user=viewer)
    assert ws.names() == []
    ws.create("甲", layers=city(1), author="王芳", user=editor)
    as_viewer = ws.open("甲", user=viewer)
    assert len(as_viewer.load()["buildings"]) == 16  # viewers view
    with pytest.raises(PermissionDenied, match="viewer"):
        as_viewer.save(layers=city(1), action="data")
    for act in (
        lambda: ws.rename("甲", "乙", author="张三", user=viewer),
        lambda: ws.duplicate("甲", "乙", author="张三", user=viewer),
        lambda: ws.archive("甲", author="张三", user=viewer),
    ):
        with pytest.raises(PermissionDenied):
            act()
    assert ws.names() == ["甲"]
    as_editor = ws.open("甲", user=editor)
    version = as_editor.save(layers=city(1, seed=1), action="data")
    assert as_editor.history().iloc[-1]["author"] == "王芳 (wf)"
    with pytest.raises(PermissionDenied, match="approver"):
        as_editor.review(version, "accepted")
    ws.open("甲", user=approver).review(version, "accepted", comment="同意")
    assert ws.open("甲").reviews().iloc[-1][["status", "author", "comment"]].tolist() == [
        "accepted",
        "李强 (lq)",
        "同意",
    ]
    audit = ws.open("甲").audit()
    refused = audit[~audit["allowed"]]
    assert {"save", "review"} <= set(refused["action"])
    assert set(refused["user"]) == {"zs", "wf"}


# --------------------------------------------------------------------------------------
# TOML written by a library
# --------------------------------------------------------------------------------------
def test_a_display_name_with_control_characters_keeps_the_users_file_readable(tmp_path):
    path = tmp_path / "users.toml"
    odd = 'Wang\x7f\x1b[31m"Fang"\\\n\u2028王芳'
    add_user(path, "wangfang", password="correct horse", role="editor", display_name=odd)
    add_user(path, "李强", password="battery staple", role="approver", display_name="李强")
    tomllib.loads(path.read_text(encoding="utf-8"))  # valid TOML
    users = load_users(path)
    assert users["wangfang"].user.display_name == odd
    assert users["李强"].user.role == "approver"


def test_rule_presets_are_written_with_a_toml_library(tmp_path):
    from planning.rules import get_preset, load_rules, save_rules

    for name in ("default", "baoshan", "ningbo"):
        path = save_rules(get_preset(name), tmp_path / f"{name}.toml")
        assert tomllib.loads(path.read_text(encoding="utf-8"))["preset"] == name
        assert load_rules(path) == get_preset(name)


# --------------------------------------------------------------------------------------
# crashes and teams: real processes
# --------------------------------------------------------------------------------------
def _saver(home: str, name: str, rounds: int, db: str | None) -> None:
    """Save big versions in a loop, printing each committed version (killed by the test)."""
    ws = Workspace(home, db=db)
    project = ws.open(name)
    data = city(6, per_side=20, seed=1)
    grids, members = grids_of(data["buildings"], size=3)
    print("ready", flush=True)
    for r in range(rounds):
        grids = grids.assign(households=grids["households"] + r)
        version = project.save(
            layers={"grids": grids, "grid_members": members, "buildings": data["buildings"]},
            action="grids",
            author=f"writer-{os.getpid()}",
            note=f"round {r}",
        )
        print(version, flush=True)


def _team(home: str, name: str, who: str, count: int, db: str | None) -> None:
    """Save ``count`` versions from the version last seen; retry on a conflict."""
    ws = Workspace(home, db=db)
    project = ws.open(name)
    conflicts = saved = 0
    while saved < count:
        base = project.latest_version()
        grids, members = grids_of(city(2, seed=saved)["buildings"])
        try:
            project.save(
                layers={"grids": grids.assign(name=who), "grid_members": members},
                action="grids",
                author=who,
                base_version=base,
            )
            saved += 1
        except PlanConflictError:
            conflicts += 1
    print(json.dumps({"saved": saved, "conflicts": conflicts}), flush=True)


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_sigkill_during_a_save_leaves_the_last_version_whole(ws):
    name = unique()
    home = str(ws.home)
    project = ws.create(name, layers=city(2), author="王芳")
    kills = inside = 0
    committed: list[int] = []
    rng = np.random.default_rng(7)
    # at least four kills, and more (up to 16) until one lands between a save's layer rows
    # and its commit: where a kill lands is up to the machine's timing (CI once had none
    # of four inside a save), and a kill inside a save is what this test is about
    while kills < 4 or (not ws.db and inside == 0 and kills < 16):
        proc = _spawn("--saver", home, name, "50", ws.db or "")
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.3, 2.0)))
        os.kill(proc.pid, signal.SIGKILL)
        out, _err = proc.communicate(timeout=30)
        kills += 1
        printed = [int(v) for v in out.split()]
        committed += printed
        latest = project.latest_version()
        assert latest is not None and latest >= max(committed, default=1)
        if not ws.db:
            inside += _orphans(ws.path(name)) > 0  # the kill landed inside a save
        # every committed version is whole: its layers hold the rows saved with them
        layers = project.load()
        if latest > 1:
            assert len(layers["grid_members"]) == len(layers["buildings"])
        info = project.info()
        for layer, entry in info["layers"].items():
            assert len(layers[layer]) == entry["rows"], layer
    history = project.history()
    assert history["version"].tolist() == list(range(1, len(history) + 1))
    assert set(committed) <= set(history["version"])
    after = project.save(layers={"grids": grids_of(city(2)["buildings"])[0]}, action="grids",
                         author="after")
    assert after == history["version"].max() + 1
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"workspace-kill-{'pg' if ws.db else 'gpkg'}.json").write_text(
        json.dumps({"kills": kills, "versions": len(history), "kills_inside_a_save": inside})
    )
    assert kills >= 4
    if not ws.db:
        assert inside >= 1  # kills landed mid-save, and still nothing was lost
        assert _orphans(ws.path(name)) == 0  # the next save cleaned up after them


def _orphans(path: Path) -> int:
    """Rows of versions that were never committed (a killed writer's)."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]
        return sum(
            con.execute(
                f'SELECT COUNT(*) FROM "{t}" WHERE version NOT IN (SELECT version FROM plans)'
            ).fetchone()[0]
            for t in tables
            if t not in {"plans", "reviews", "audit"}
        )
    finally:
        con.close()


@pytest.mark.slow
def test_two_planners_on_one_project_take_turns_and_lose_nothing(ws):
    name = unique()
    ws.create(name, layers=city(2), author="王芳")
    procs = [_spawn("--team", str(ws.home), name, who, "3", ws.db or "") for who in ("甲", "乙")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert [r["saved"] for r in results] == [3, 3]
    history = ws.open(name).history()
    assert history["version"].tolist() == list(range(1, 8))
    assert sorted(history["author"].tolist()[1:]) == ["乙"] * 3 + ["甲"] * 3
    project = ws.open(name)
    for version in history["version"][1:]:
        layers = project.load(int(version))
        assert set(layers["grids"]["name"]) == {history.set_index("version").at[version, "author"]}


if __name__ == "__main__":
    if sys.argv[1] == "--saver":
        _saver(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] or None)
    elif sys.argv[1] == "--team":
        _team(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6] or None)
