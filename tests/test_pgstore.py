"""The PostGIS plan store against a real PostgreSQL + PostGIS server, and the version check.

The server is started by the tests themselves (``tests/pg_server.py``: one per pytest-xdist
worker, in a temporary folder, on a free port) and the tests skip only when PostgreSQL or
PostGIS is not installed (``scripts/setup.sh test`` installs both on Debian). Every test
uses its own plan id, so they share one database the way a team's plans do.

The conflict tests (``base_version``, two writers, a real race) run against both stores.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pg_server
import pyogrio
import pytest
import shapely
import sqlalchemy as sa

from gis.errors import FieldError
from gis.store.postgis import PlanDatabaseError, PostGISPlanStore
from gis.store import (
    AUDIT_COLUMNS,
    PlanConflictError,
    PlanStore,
    PlanStoreError,
    open_store,
)

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg():
    try:
        server = pg_server.start()
    except pg_server.Unavailable as exc:
        pytest.skip(f"no PostgreSQL server with PostGIS can be started here: {exc}")
    yield server
    pg_server.stop(server.folder, server.bindir)


@pytest.fixture
def url(pg) -> str:
    return pg.url()


@pytest.fixture
def plan_id() -> str:
    return f"plan-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["gpkg", "postgis"])
def location(request, tmp_path) -> str:
    """Where a store lives: a GeoPackage path or the test database's URL."""
    if request.param == "gpkg":
        return str(tmp_path / "plan.gpkg")
    return request.getfixturevalue("pg").url()


def layers(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Every kind of plan layer, with Chinese text, lists, missing values and multi-parts."""
    rng = np.random.default_rng(seed)
    n = 6
    x = 116.30 + np.arange(n) * 0.001
    codes = [f"110108001001{i + 1:03d}" for i in range(n)]
    households = rng.integers(30, 51, n)
    geometries = list(shapely.box(x, 40.0, x + 0.001, 40.001))
    geometries[1] = shapely.MultiPolygon([geometries[1], shapely.box(116.4, 40.1, 116.401, 40.101)])
    grids = gpd.GeoDataFrame(
        {
            "grid_code": codes,
            "community_id": ["110108001001"] * n,
            "households": households,
            "residents": (households * 2.6).round(1),
            "patch_id": pd.array([1, 1, None, 2, 2, None], dtype="Int64"),
            "name": [f"清华园第{i + 1}网格" for i in range(n)],
            "备注": ["", "含商铺", None, "五道口", "", "双清路"],
            "in_range": [True, True, False, True, True, True],
        },
        geometry=geometries,
        crs=4490,
    )
    members = pd.DataFrame(
        {
            "grid_code": np.repeat(codes, 2),
            "building_id": [f"B{seed}-{i}" for i in range(2 * n)],
            "unit_from": pd.array([1, None] * n, dtype="Int64"),
            "unit_to": pd.array([2, None] * n, dtype="Int64"),
            "floor_from": pd.array([1, 7] * n, dtype="Int64"),
            "floor_to": pd.array([6, 12] * n, dtype="Int64"),
            "households": np.repeat(households, 2) // 2,
        }
    )
    proposals = gpd.GeoDataFrame(
        {
            "proposal_id": ["000000000000-R1", "000000000000-R1"],
            "rank": [1, 1],
            "part": [1, 2],
            "parent_community_id": ["000000000000"] * 2,
            "households": [4890, 4872],
            "required_staff": [20, 20],
            "reasons": [["沿成府路切分", "不切小区"], []],
        },
        geometry=[
            shapely.box(116.30, 40.0, 116.31, 40.01),
            shapely.box(116.31, 40.0, 116.32, 40.01),
        ],
        crs=4490,
    )
    lineage = pd.DataFrame(
        {
            "building_id": members["building_id"],
            "households": members["households"],
            "from_community_id": "000000000000",
            "to_community_id": ["000000000000-1", "000000000000-2"] * n,
        }
    )
    return {"grids": grids, "grid_members": members, "proposals": proposals, "lineage": lineage}


def assert_same_layers(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert sorted(k for k in got if k != "plans") == sorted(expected)
    for name, frame in expected.items():
        back = got[name]
        assert list(back.columns) == list(frame.columns), name
        if isinstance(frame, gpd.GeoDataFrame):
            assert back.crs == frame.crs, name
            assert back.geometry.geom_equals_exact(frame.geometry, tolerance=1e-12).all(), name
            back, frame = (
                pd.DataFrame(back.drop(columns="geometry")),
                pd.DataFrame(frame.drop(columns="geometry")),
            )
        pd.testing.assert_frame_equal(back, frame, check_dtype=False, obj=name)
        for column in frame.columns:  # the kind of each column survives
            assert back[column].dtype.kind == frame[column].dtype.kind or (
                frame[column].dtype == object
            ), (name, column, back[column].dtype, frame[column].dtype)


def table_rows(url: str, table: str, plan: str, version: int) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            return int(
                con.execute(
                    sa.text(
                        f'SELECT COUNT(*) FROM gridplan."{table}" '
                        "WHERE plan_id = :p AND version = :v"
                    ),
                    {"p": plan, "v": version},
                ).scalar()
            )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------
# the PostGIS store
# --------------------------------------------------------------------------------------
def test_round_trip_of_every_layer_kind_matches_the_geopackage_store(url, plan_id, tmp_path):
    plan = layers(1)
    with open_store(url, plan_id=plan_id) as store:
        assert isinstance(store, PostGISPlanStore)
        assert (
            store.save(plan, author="王芳", note="第一版", rules={"grid_max_households": 50}) == 1
        )
        back = store.load()
    assert_same_layers(back, plan)
    assert back["grids"].crs.to_epsg() == 4490
    notes = back["grids"]["备注"].tolist()
    assert notes[:2] == ["", "含商铺"] and pd.isna(notes[2])  # "" stays "", missing stays missing
    assert back["proposals"]["reasons"].tolist() == [["沿成府路切分", "不切小区"], []]
    assert back["plans"][["plan_id", "version", "author", "note"]].to_dict("records") == [
        {"plan_id": plan_id, "version": 1, "author": "王芳", "note": "第一版"}
    ]
    with PlanStore(tmp_path / "plan.gpkg", plan_id=plan_id) as gpkg:
        gpkg.save(plan, author="王芳")
        from_file = gpkg.load()
    for name in plan:  # the same frames, column for column, from both stores
        assert list(back[name].columns) == list(from_file[name].columns)
        pd.testing.assert_frame_equal(
            pd.DataFrame(back[name]).drop(columns="geometry", errors="ignore"),
            pd.DataFrame(from_file[name]).drop(columns="geometry", errors="ignore"),
            check_dtype=False,
            obj=name,
        )


def test_versions_info_and_an_old_version_with_another_schema(url, plan_id):
    first = layers(1)
    second = layers(2)
    # a later version drops a column, adds one, turns an integer column into decimals and
    # a boolean column into text (the store widens the database columns)
    second["grids"] = (
        second["grids"]
        .drop(columns=["备注"])
        .assign(households=lambda g: g["households"] + 0.5, in_range="是", 片区负责人="李强")
    )
    second["grids"] = second["grids"][[*second["grids"].columns.drop("geometry"), "geometry"]]
    with open_store(url, plan_id=plan_id) as store:
        assert store.latest_version() is None
        assert store.versions().empty
        store.save(first, author="王芳", note="v1", rules={"grid_max_households": 50})
        store.save(second, author="李强", status="proposed", note="v2")
        assert store.latest_version() == 2
        versions = store.versions()
        assert versions.columns.tolist() == [
            "plan_id",
            "version",
            "status",
            "author",
            "created_at",
            "note",
            "rules",
            "n_grids",
            "action",
        ]
        assert versions[["version", "status", "author", "n_grids"]].to_dict("records") == [
            {"version": 1, "status": "draft", "author": "王芳", "n_grids": 6},
            {"version": 2, "status": "proposed", "author": "李强", "n_grids": 6},
        ]
        info = store.info(1)
        assert info["rules"] == {"grid_max_households": 50}
        assert info["layers"]["grids"]["rows"] == 6
        assert_same_layers(store.load(1), first)
        assert_same_layers(store.load(2), second)
        third = {"grids": first["grids"].rename(columns={"name": "Name"})}  # case of a column
        assert store.save(third, author="王芳") == 3
        assert_same_layers(store.load(3), third)
        with pytest.raises(PlanStoreError, match=r"has no version 7\. Its versions are: 1, 2"):
            store.load(7)


def test_status_reviews_and_audit(url, plan_id):
    with open_store(url, plan_id=plan_id) as store:
        assert store.audit().columns.tolist() == list(AUDIT_COLUMNS)
        store.save(layers(), author="王芳", note="初稿")
        store.set_status(1, "proposed", author="王芳", comment="请审核")
        store.set_status(1, "accepted", author="李强", comment="同意")
        store.record("sign_in", user="lq", role="approver")
        store.record(
            "set_status",
            user="wf",
            role="editor",
            allowed=False,
            target="version 1",
            detail="只有审批人可以批准",
        )
        assert store.versions()["status"].tolist() == ["accepted"]
        assert store.reviews()[["version", "status", "author", "comment"]].to_dict("records") == [
            {"version": 1, "status": "draft", "author": "王芳", "comment": "初稿"},
            {"version": 1, "status": "proposed", "author": "王芳", "comment": "请审核"},
            {"version": 1, "status": "accepted", "author": "李强", "comment": "同意"},
        ]
        audit = store.audit()
        assert audit.columns.tolist() == list(AUDIT_COLUMNS)
        assert audit[["user", "role", "action", "allowed", "target"]].to_dict("records") == [
            {"user": "lq", "role": "approver", "action": "sign_in", "allowed": True, "target": ""},
            {
                "user": "wf",
                "role": "editor",
                "action": "set_status",
                "allowed": False,
                "target": "version 1",
            },
        ]
        assert (audit["plan_id"] == plan_id).all()
        with pytest.raises(PlanStoreError, match="not a plan status"):
            store.set_status(1, "approved", author="李强")
        with pytest.raises(PlanStoreError, match="has no version 5"):
            store.set_status(5, "accepted", author="李强")
    with open_store(url, plan_id=f"{plan_id}-other") as other:  # trails are per plan
        assert other.reviews().empty and other.audit().empty


def test_handover_copy_of_a_database_plan_is_a_plan_geopackage(url, plan_id, tmp_path):
    with open_store(url, plan_id=plan_id) as store:
        store.save(layers(1), author="王芳", rules={"name": "default"})
        store.save(layers(2), author="李强")
        store.set_status(2, "accepted", author="张伟", comment="同意")
        store.record("export", user="zw", role="approver", target="handover")
        out = store.handover_copy(tmp_path / "交接.gpkg")
        reviews, audit, versions = store.reviews(), store.audit(), store.versions()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["交接.gpkg"]
    with PlanStore(out) as copy:
        assert copy.plan_id == plan_id
        pd.testing.assert_frame_equal(copy.versions(), versions)
        pd.testing.assert_frame_equal(copy.reviews(), reviews, check_dtype=False)
        pd.testing.assert_frame_equal(copy.audit(), audit, check_dtype=False)
        assert_same_layers(copy.load(1), layers(1))


def test_open_store_dispatch_and_the_plan_to_open(pg, url, tmp_path):
    path = tmp_path / "plan.gpkg"
    assert type(open_store(path)) is PlanStore
    assert type(open_store(str(path))) is PlanStore
    database = f"one_plan_{uuid.uuid4().hex[:8]}"
    one = pg.create_database(database)
    plain = one.replace("postgresql+psycopg://", "postgresql://")
    with open_store(plain, plan_id="haidian") as store:
        assert type(store) is PostGISPlanStore
        assert store.url.drivername == "postgresql+psycopg"
        store.save(layers(), author="王芳")
    with open_store(one) as store:  # the database's only plan
        assert store.plan_id == "haidian"
        assert store.latest_version() == 1
    with open_store(one, plan_id="chaoyang") as store:
        store.save(layers(), author="李强")
    with pytest.raises(PlanStoreError, match=r"holds several plans \(chaoyang, haidian\)"):
        open_store(one)


def test_unreachable_database_says_what_to_do():
    with pytest.raises(PlanDatabaseError) as caught:
        open_store("postgresql://planner:s3cret@127.0.0.1:1/plans", plan_id="p")
    message = str(caught.value)
    assert message.startswith("Cannot reach the plan database postgresql+psycopg://planner:***@")
    assert "s3cret" not in message
    assert "GRIDPLAN_DB" in message
    with pytest.raises(PlanDatabaseError, match="is not a database URL"):
        PostGISPlanStore("postgresql://", plan_id="p")


def test_database_without_postgis_says_what_to_do(pg):
    bare = pg.create_database(f"bare_{uuid.uuid4().hex[:8]}", postgis=False)
    with pytest.raises(
        PlanDatabaseError,
        match=r"has no PostGIS\. Ask its administrator to run "
        r"CREATE EXTENSION postgis",
    ):
        open_store(bare, plan_id="p")


def test_failed_save_leaves_the_last_version_intact(url, plan_id, monkeypatch):
    with open_store(url, plan_id=plan_id) as store:
        store.save(layers(1), author="王芳")

        def broken(*args, **kwargs):  # fails after every layer's rows were inserted
            raise RuntimeError("power cut")

        monkeypatch.setattr(PostGISPlanStore, "_review", broken)
        with pytest.raises(RuntimeError, match="power cut"):
            store.save(layers(2), author="李强")
        monkeypatch.undo()
        assert store.latest_version() == 1
        for table in ("grids", "grid_members", "proposals", "lineage"):
            assert table_rows(url, table, plan_id, 2) == 0
        assert_same_layers(store.load(), layers(1))
        bad = layers(3)
        bad["grids"] = bad["grids"].rename(columns={"name": "version"})  # refused before writing
        with pytest.raises(FieldError, match="reserved"):
            store.save(bad, author="李强")
        assert store.save(layers(2), author="李强") == 2


def _save_forever(url: str, plan: str) -> None:
    store = PostGISPlanStore(url, plan_id=plan)
    seed = 10
    while True:
        store.save(layers(seed), author="writer", note=f"seed={seed}")
        seed += 1


def test_killed_writer_never_leaves_a_half_saved_version(url, plan_id):
    with open_store(url, plan_id=plan_id) as store:
        store.save(layers(1), author="王芳", note="seed=1")
    writer = multiprocessing.get_context("fork").Process(target=_save_forever, args=(url, plan_id))
    writer.start()
    try:
        deadline = time.monotonic() + 20
        with open_store(url, plan_id=plan_id) as store:
            while (store.latest_version() or 0) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(0.07)  # most likely in the middle of a save now
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(10)
    with open_store(url, plan_id=plan_id) as store:
        versions = store.versions()
        assert versions["version"].tolist() == list(range(1, len(versions) + 1))
        assert len(versions) >= 3
        for row in versions.itertuples():
            seed = int(str(row.note).split("=")[1])
            assert_same_layers(store.load(row.version), layers(seed))
        latest = store.latest_version()
        for table in ("grids", "grid_members", "proposals", "lineage"):
            assert table_rows(url, table, plan_id, latest + 1) == 0
        assert store.save(layers(99), author="王芳", base_version=latest) == latest + 1


# --------------------------------------------------------------------------------------
# the version check, in both stores
# --------------------------------------------------------------------------------------
def test_second_writer_from_an_old_version_is_refused(location, plan_id):
    first = open_store(location, plan_id=plan_id)
    assert first.save(layers(1), author="王芳", base_version=0) == 1
    second = open_store(location, plan_id=plan_id)
    base = first.latest_version()
    assert base == second.latest_version() == 1  # both planners open version 1
    assert first.save(layers(2), author="王芳", base_version=base) == 2
    with pytest.raises(PlanConflictError) as caught:
        second.save(layers(3), author="李强", base_version=base)
    err = caught.value
    assert isinstance(err, PlanStoreError)
    assert str(err).startswith(
        f"Someone saved version 2 of plan {plan_id} (王芳, {first.info(2)['created_at']}) "
        "after you opened version 1. Your work is not lost: reload the plan"
    )
    assert err.params["latest"] == 2 and err.params["base"] == 1
    assert first.latest_version() == 2  # nothing was written
    assert_same_layers(first.load(), layers(2))
    assert second.save(layers(3), author="李强", base_version=2) == 3  # after reloading
    assert second.save(layers(4), author="李强") == 4  # no check asked
    with pytest.raises(PlanConflictError, match="after you opened version 0"):
        open_store(location, plan_id=plan_id).save(layers(5), author="张伟", base_version=0)
    first.close()
    second.close()


def test_two_writers_racing_from_the_same_version_exactly_one_wins(location, plan_id):
    with open_store(location, plan_id=plan_id) as store:
        store.save(layers(0), author="王芳")
    writers = 3
    for round_ in range(2):
        base = round_ + 1
        barrier = threading.Barrier(writers)
        results: list[object] = [None] * writers

        def write(i: int, base: int, barrier: threading.Barrier, results: list[object]) -> None:
            store = open_store(location, plan_id=plan_id)
            try:
                barrier.wait(10)
                results[i] = store.save(layers(10 * base + i), author=f"w{i}", base_version=base)
            except PlanConflictError as exc:
                results[i] = exc
            finally:
                store.close()

        threads = [
            threading.Thread(target=write, args=(i, base, barrier, results)) for i in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        wins = [r for r in results if isinstance(r, int)]
        assert wins == [base + 1], results
        assert sum(isinstance(r, PlanConflictError) for r in results) == writers - 1
    with open_store(location, plan_id=plan_id) as store:
        assert store.versions()["version"].tolist() == [1, 2, 3]


# --------------------------------------------------------------------------------------
# the command line and the app
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_beijing(tmp_path_factory) -> Path:
    """The south-west corner of the Beijing sample (fast to tile, same layers)."""
    from gis import datasets

    source = datasets.get_path("beijing")
    buildings = gpd.read_file(source, layer="buildings")
    x0, y0, x1, y1 = buildings.total_bounds
    corner = shapely.box(x0, y0, x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3)
    out = tmp_path_factory.mktemp("beijing") / "beijing.gpkg"
    for name, _kind in pyogrio.list_layers(source):
        frame = gpd.read_file(source, layer=name)
        frame = frame[frame.intersects(corner)]
        if len(frame):
            frame.to_file(out, layer=name, driver="GPKG")
    return out


def test_cli_grids_into_the_database_then_export(url, plan_id, small_beijing, tmp_path, capsys):
    from cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--quiet", "--lang", "en"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    gpkg = tmp_path / "plan.gpkg"
    code, out, _ = run("grids", str(small_beijing), "--db", url, "--plan-id", plan_id, "--json",
                       "--out", str(gpkg))  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    assert payload["plan_id"] == plan_id and payload["version"] == 1
    assert payload["db"].endswith("/gridplan_test") and payload["out"] == str(gpkg)
    assert set(pyogrio.list_layers(gpkg)[:, 0]) == {"grids", "grid_members", "patches"}
    export = tmp_path / "export.gpkg"
    code, out, _ = run("export", "--db", url, "--plan-id", plan_id, "--version", "1",
                       "--out", str(export), "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out) == {"written": [str(export)]}
    exported = gpd.read_file(export, layer="grids")
    written = gpd.read_file(gpkg, layer="grids")
    # payload["grids"] counts household grids; dedicated grids (专属网格) are counted apart
    assert len(exported) == len(written) == payload["grids"] + payload["dedicated_grids"] > 0
    assert sorted(exported["grid_code"]) == sorted(written["grid_code"])
    with open_store(url, plan_id=plan_id) as store:
        assert store.versions()["note"].tolist() == ["gridplan grids beijing.gpkg"]
        assert len(store.load()["grid_members"]) == len(gpd.read_file(gpkg, layer="grid_members"))
    # without --out and --db: one line saying what to do, exit 2, before any work
    code, _, err = run("grids", str(small_beijing))
    assert code == 2 and "Say where to save the plan: --out PLAN.gpkg, --db URL" in err
    code, _, err = run("export", "--out", str(export))
    assert code == 2 and "Name the plan to export" in err
    code, _, err = run("export", "--db", "postgresql://u:pw@127.0.0.1:1/x", "--plan-id", "p",
                       "--out", str(export))  # fmt: skip
    assert code == 2 and err.startswith("gridplan: Cannot reach the plan database")
    assert ":pw@" not in err


def test_cli_db_defaults_to_gridplan_db(url, monkeypatch):
    from cli._parser import build_parser as _parser

    monkeypatch.delenv("GRIDPLAN_DB", raising=False)
    assert _parser("en").parse_args(["grids", "x.gpkg", "--out", "p.gpkg"]).db is None
    monkeypatch.setenv("GRIDPLAN_DB", url)
    for argv in (["grids", "x.gpkg"], ["split", "x.gpkg"], ["export", "--out", "x.kml"]):
        args = _parser("en").parse_args(argv)
        assert args.db == url and args.plan_id is None


def test_app_plan_store_uses_the_configured_database(url, monkeypatch, tmp_path):
    import streamlit as st

    from ui import project

    monkeypatch.setenv("GRIDPLAN_DB", url)
    st.session_state["plan_id"] = f"app-{uuid.uuid4().hex[:6]}"
    try:
        with project.plan_store() as store:
            assert isinstance(store, PostGISPlanStore)
            assert store.plan_id == st.session_state["plan_id"]
        monkeypatch.delenv("GRIDPLAN_DB")
        with project.plan_store() as store:
            assert isinstance(store, PlanStore)
    finally:
        del st.session_state["plan_id"]
