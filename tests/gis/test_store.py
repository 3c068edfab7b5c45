"""The plan store: append-only versions, atomic saves, WAL, locking, hand-over copies.

The crash test forks writer processes from a "zygote" (this file run as a script, with
everything imported once) and kills them with SIGKILL at random moments while they save
versions back to back; after every kill the last committed version must load intact.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # when run as the zygote script
    sys.path.insert(0, str(ROOT))

from gis.errors import FieldError  # noqa: E402
from gis.store import read_plan  # noqa: E402
from gis.store import (  # noqa: E402
    PlanStore,
    PlanStoreError,
    handover_copy,
    is_plan_store,
    read_exported,
)

OUTPUT = ROOT / "test-output"


def plan_layers(seed: int) -> dict[str, pd.DataFrame]:
    """A deterministic plan of 120–180 grids (the note of each version carries its seed)."""
    rng = np.random.default_rng(seed)
    n = 120 + seed % 61
    x = 116.30 + (np.arange(n) % 15) * 0.001
    y = 40.00 + (np.arange(n) // 15) * 0.001
    codes = [f"110108001001{i + 1:03d}" for i in range(n)]
    households = rng.integers(30, 51, n)
    grids = gpd.GeoDataFrame(
        {
            "grid_code": codes,
            "community_id": ["110108001001"] * n,
            "households": households,
            "name": [f"第{i + 1}网格" for i in range(n)],
        },
        geometry=shapely.box(x, y, x + 0.001, y + 0.001),
        crs=4490,
    )
    members = pd.DataFrame(
        {
            "grid_code": np.repeat(codes, 3),
            "building_id": [f"B{seed}-{i}" for i in range(3 * n)],
            "unit_from": pd.array([1, None, 2] * n, dtype="Int64"),
            "households": np.repeat(households, 3) // 3,
        }
    )
    lineage = pd.DataFrame(
        {"building_id": members["building_id"], "to_community_id": "110108001001-1"}
    )
    return {"grids": grids, "grid_members": members, "lineage": lineage}


def check_version(store: PlanStore, version: int) -> None:
    """Assert that ``version`` loads with exactly the data its writer saved."""
    row = store.versions().set_index("version").loc[version]
    seed = int(str(row["note"]).split("=")[1])
    expected = plan_layers(seed)
    loaded = store.load(version)
    assert loaded["grids"]["grid_code"].tolist() == expected["grids"]["grid_code"].tolist()
    assert loaded["grids"]["households"].tolist() == expected["grids"]["households"].tolist()
    assert loaded["grids"]["name"].tolist() == expected["grids"]["name"].tolist()
    assert (
        loaded["grids"].geometry.geom_equals_exact(expected["grids"].geometry, tolerance=1e-9).all()
    )
    pd.testing.assert_frame_equal(
        loaded["grid_members"], expected["grid_members"], check_dtype=True
    )
    assert loaded["lineage"]["building_id"].tolist() == expected["lineage"]["building_id"].tolist()


# --------------------------------------------------------------------------------------
# the zygote: forks writers on request (run as a script by the tests below)
# --------------------------------------------------------------------------------------
def _writer(path: str, base: int, count: int | None) -> None:
    store = PlanStore(path, timeout=120)
    i = 0
    while count is None or i < count:
        seed = base * 1000 + i
        store.save(plan_layers(seed), author=f"writer-{base}", note=f"seed={seed}")
        i += 1


def _zygote(path: str) -> None:
    for line in sys.stdin:
        command, *args = line.split()
        if command == "write":  # one writer that saves until it is killed
            pid = os.fork()
            if pid == 0:
                try:
                    _writer(path, int(args[0]), None)
                finally:
                    os._exit(0)
            print(pid, flush=True)
            os.waitpid(pid, 0)
            print("reaped", flush=True)
        elif command == "burst":  # two writers at once, each saving N versions
            n = int(args[0])
            pids = []
            for base in (int(args[1]), int(args[1]) + 1):
                pid = os.fork()
                if pid == 0:
                    code = 0
                    try:
                        _writer(path, base, n)
                    except BaseException:
                        code = 1
                    finally:
                        os._exit(code)
                pids.append(pid)
            codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
            print(json.dumps(codes), flush=True)


@pytest.fixture
def zygote(tmp_path):
    path = tmp_path / "plan.gpkg"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--zygote", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    yield proc, path
    proc.stdin.close()
    proc.wait(timeout=30)


def _orphans(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]
        total = 0
        for table in tables:
            if table in {"plans", "reviews"}:
                continue
            total += con.execute(
                f'SELECT COUNT(*) FROM "{table}" WHERE version NOT IN (SELECT version FROM plans)'
            ).fetchone()[0]
        return total
    finally:
        con.close()


def _wait_for_a_version(path: Path, timeout: float = 120.0) -> None:
    """Wait until the plan at *path* holds a committed version (a loaded machine is slow)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
                try:
                    if con.execute("SELECT COUNT(*) FROM plans").fetchone()[0] > 0:
                        return
                finally:
                    con.close()
            except sqlite3.Error:
                pass  # not created yet, or locked by the writer
        time.sleep(0.1)
    raise AssertionError(f"no version was committed to {path} within {timeout} s")


def test_sigkill_at_random_points_never_loses_a_committed_version(zygote):
    proc, path = zygote
    rng = random.Random(2018)
    kills = lost = interrupted = 0
    committed: set[int] = set()
    scale = 1.0
    started = time.perf_counter()
    for round_ in range(40):
        proc.stdin.write(f"write {round_}\n")
        proc.stdin.flush()
        pid = int(proc.stdout.readline())
        if round_:
            # kill at a random point of the next saves; on a loaded machine a save takes
            # longer, so the window scales with how long the first one took
            time.sleep(rng.uniform(0.05, 0.6) * scale)
        else:  # the first writer creates the file: kill it once it has committed a version
            first = time.perf_counter()
            _wait_for_a_version(path)
            scale = max(1.0, (time.perf_counter() - first) / 1.5)
        os.kill(pid, signal.SIGKILL)
        assert proc.stdout.readline().strip() == "reaped"
        kills += 1
        if not path.exists():
            continue
        store = PlanStore(path)
        versions = set(store.versions()["version"])
        lost += len(committed - versions)
        committed |= versions
        if versions:
            check_version(store, max(versions))  # the last committed version is intact
        interrupted += _orphans(path) > 0  # the kill landed inside a save
    seconds = time.perf_counter() - started
    store = PlanStore(path)
    for version in sorted(committed):
        check_version(store, version)
    assert store.save(plan_layers(7), author="after", note="seed=7") == max(committed) + 1
    assert _orphans(path) == 0
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    report = {
        "kills": kills,
        "plans_lost": lost,
        "kills_inside_a_save": interrupted,
        "versions_committed": len(committed),
        "seconds": round(seconds, 1),
    }
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "store-kill.json").write_text(json.dumps(report, indent=1))
    print(f"\nplan store crash test: {report}")
    assert kills == 40
    assert lost == 0
    assert interrupted >= 5  # the kills did land mid-save


def test_two_sessions_saving_at_once_take_turns(zygote):
    proc, path = zygote
    proc.stdin.write("burst 4 500\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline()) == [0, 0]
    store = PlanStore(path)
    versions = store.versions()
    assert versions["version"].tolist() == list(range(1, 9))
    assert sorted(versions["author"].unique()) == ["writer-500", "writer-501"]
    for version in versions["version"]:
        check_version(store, int(version))


# --------------------------------------------------------------------------------------
# behaviour
# --------------------------------------------------------------------------------------
def test_versions_are_append_only_and_keep_their_data(tmp_path):
    path = tmp_path / "plan.gpkg"
    with PlanStore(path) as store:
        assert (
            store.save(
                plan_layers(1), author="王芳", note="seed=1", rules={"grid_max_households": 50}
            )
            == 1
        )
        assert store.save(plan_layers(2), author="李强", note="seed=2") == 2
        check_version(store, 1)
        check_version(store, 2)
        versions = store.versions()
    assert versions["version"].tolist() == [1, 2]
    assert versions["status"].tolist() == ["draft", "draft"]
    assert versions["n_grids"].tolist() == [
        len(plan_layers(1)["grids"]),
        len(plan_layers(2)["grids"]),
    ]
    assert json.loads(versions["rules"].iloc[0]) == {"grid_max_households": 50}
    latest = PlanStore(path).load()
    assert latest["plans"]["version"].iloc[0] == 2
    assert (
        read_plan(path)["grids"]["grid_code"].tolist()
        == plan_layers(2)["grids"]["grid_code"].tolist()
    )
    assert read_plan(path, version=1)["plans"]["author"].iloc[0] == "王芳"
    con = sqlite3.connect(path)
    keys = con.execute("SELECT DISTINCT plan_id, version FROM grids ORDER BY version").fetchall()
    con.close()
    assert [v for _, v in keys] == [1, 2] and len({p for p, _ in keys}) == 1


def test_round_trip_keeps_types_lists_and_chinese_text(tmp_path):
    grids = gpd.GeoDataFrame(
        {
            "grid_code": ["110108001001001", "110108001001002"],
            "households": [40, 36],
            "reasons": [["太大", "跨小区"], []],
            "share": [0.5, 0.25],
            "ok": [True, False],
            "note": ["东区", None],
        },
        geometry=[
            shapely.box(0, 0, 1, 1),
            shapely.MultiPolygon([shapely.box(2, 2, 3, 3), shapely.box(4, 4, 5, 5)]),
        ],
        crs=4490,
    )
    members = pd.DataFrame(
        {"grid_code": ["110108001001001"], "floor_to": pd.array([None], dtype="Int64")}
    )
    with PlanStore(tmp_path / "p.gpkg") as store:
        store.save({"grids": grids, "grid_members": members}, author="a")
        back = store.load()
    assert back["grids"]["reasons"].tolist() == [["太大", "跨小区"], []]
    assert back["grids"]["households"].dtype == np.int64
    assert back["grids"]["ok"].tolist() == [True, False]
    assert back["grids"]["note"].iloc[0] == "东区"
    assert back["grids"].geometry.iloc[1].geom_type == "MultiPolygon"
    assert back["grid_members"]["floor_to"].dtype == "Int64"
    assert back["grid_members"]["floor_to"].isna().all()


def test_a_later_version_may_add_columns_and_older_versions_stay_as_saved(tmp_path):
    layers = plan_layers(3)
    with PlanStore(tmp_path / "p.gpkg") as store:
        store.save(layers, author="a", note="seed=3")
        grids = layers["grids"].assign(patch_id="P01")
        store.save({**layers, "grids": grids}, author="a", note="seed=3")
        assert "patch_id" not in store.load(1)["grids"]
        assert set(store.load(2)["grids"]["patch_id"]) == {"P01"}


def test_status_reviews_and_their_trail(tmp_path):
    with PlanStore(tmp_path / "p.gpkg") as store:
        store.save(plan_layers(4), author="王芳", note="seed=4")
        store.set_status(1, "proposed", author="王芳", comment="请街道审核")
        store.set_status(1, "accepted", author="街道办", comment="同意")
        assert store.versions()["status"].tolist() == ["accepted"]
        trail = store.reviews()
    assert trail["status"].tolist() == ["draft", "proposed", "accepted"]
    assert trail["comment"].tolist()[-1] == "同意"
    with pytest.raises(
        PlanStoreError, match=r"not a plan status\. Use one of: draft, proposed, accepted, rejected"
    ):
        PlanStore(tmp_path / "p.gpkg").set_status(1, "approved", author="x")
    with pytest.raises(PlanStoreError, match=r"has no version 9\. Its versions are: 1"):
        PlanStore(tmp_path / "p.gpkg").load(9)


def test_wal_while_writing_and_a_single_file_after_close(tmp_path):
    path = tmp_path / "p.gpkg"
    store = PlanStore(path)
    store.save(plan_layers(5), author="a")
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    assert not Path(f"{path}-wal").exists()


def test_handover_copy_is_one_clean_file_without_uncommitted_rows(tmp_path):
    path = tmp_path / "p.gpkg"
    with PlanStore(path) as store:
        store.save(plan_layers(6), author="a", note="seed=6")
        store._open_wal()
    # rows a killed writer would leave: a version with no plans row
    orphan = plan_layers(8)["lineage"].assign(plan_id="x", version=99)
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO lineage (building_id, to_community_id, plan_id, version) VALUES (?, ?, ?, ?)",
        orphan[["building_id", "to_community_id", "plan_id", "version"]].itertuples(index=False),
    )
    con.commit()
    con.close()
    out = handover_copy(path, tmp_path / "out" / "handover.gpkg")
    assert out.read_bytes()[18:20] == b"\x01\x01"  # rollback journal, not WAL
    assert sorted(p.name for p in out.parent.iterdir()) == ["handover.gpkg"]
    assert _orphans(out) == 0 and _orphans(path) > 0
    copy = PlanStore(out)
    assert copy.versions()["version"].tolist() == [1]
    check_version(copy, 1)
    assert is_plan_store(out)
    assert (
        read_exported(out)["grids"]["grid_code"].tolist()
        == plan_layers(6)["grids"]["grid_code"].tolist()
    )


def test_bad_inputs_say_what_to_do(tmp_path, beijing_path):
    with pytest.raises(PlanStoreError, match="not a gridplan plan store"):
        PlanStore(beijing_path)
    with pytest.raises(FieldError, match="reserved"):
        PlanStore(tmp_path / "p.gpkg").save(
            {"grids": plan_layers(1)["grids"].assign(version=1)}, author="a"
        )
    with pytest.raises(PlanStoreError, match="cannot be a plan layer name"):
        PlanStore(tmp_path / "p.gpkg").save({"网格": plan_layers(1)["grids"]}, author="a")
    with pytest.raises(PlanStoreError, match="author cannot be empty"):
        PlanStore(tmp_path / "p.gpkg").save(plan_layers(1), author=" ")
    with pytest.raises(PlanStoreError, match="no saved version yet"):
        PlanStore(tmp_path / "empty.gpkg").load()
    store = PlanStore(tmp_path / "p.gpkg")
    assert store.save({**plan_layers(1), "plans": pd.DataFrame({"x": [1]})}, author="a") == 1
    assert "plans" not in store.info()["layers"]


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--zygote":
    _zygote(sys.argv[2])


def test_a_version_with_other_columns_reads_back_in_its_own_columns(tmp_path):
    """GDAL appends fields by position: a later version whose layer has more columns, in
    another order, must not land shifted (a project's upload after a sample did)."""
    store = PlanStore(tmp_path / "columns.gpkg")
    box = shapely.box(116.3, 39.98, 116.31, 39.99)
    first = gpd.GeoDataFrame(
        {"community_id": ["A"], "name": ["甲"], "households": [900], "staff": [3]},
        geometry=[box],
        crs=4490,
    )
    second = gpd.GeoDataFrame(
        {"community_id": ["B"], "name": ["乙"], "street": ["香山街道"], "staff": [4], "households": [1574]},
        geometry=[box],
        crs=4490,
    )
    assert store.save({"communities": first}, author="王芳") == 1
    assert store.save({"communities": second}, author="王芳") == 2
    back = store.load(2)["communities"]
    assert back.iloc[0][["community_id", "name", "street", "staff", "households"]].tolist() == [
        "B", "乙", "香山街道", 4, 1574,
    ]
    assert store.load(1)["communities"].iloc[0][["community_id", "name", "staff"]].tolist() == [
        "A", "甲", 3,
    ]
