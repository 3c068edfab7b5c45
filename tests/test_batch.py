"""planning.batch: a city in one batch gives the plan of one whole-project run.

A small generated city (two districts, six communities) is gridded serially, with joblib
on two processes and on a dask cluster; every result must equal ``make_grids`` on the
whole project (same codes, households and members; geometry equal as point sets). A run
interrupted after two communities resumes from its checkpoint without recomputing them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import planning.batch as batch
from gis.datasets.synthetic import make_city, write_district
from gis.io import Project
from gis.store import read_plan
from planning.batch import (
    BatchOptions,
    DependencyMissingError,
    SchedulerError,
    community_tasks,
    run_batch,
)
from planning.communities import prepare
from planning.grids import GridResult, make_grids

METRIC = "EPSG:4548"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def city() -> dict[str, gpd.GeoDataFrame]:
    return make_city(9_000, n_communities=6, communities_per_district=3, seed=5)


@pytest.fixture(scope="module")
def loaded(city):
    return prepare(Project(**city))


@pytest.fixture(scope="module")
def reference(loaded) -> GridResult:
    project = loaded.project
    return make_grids(
        project.buildings,
        communities=loaded.communities,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
    )


def assert_same_geometry(left: gpd.GeoDataFrame, right: gpd.GeoDataFrame) -> None:
    """Equal as point sets: symmetric difference under 1e-6 m² (vertex order may differ)."""
    a = left.to_crs(METRIC).geometry.values
    b = right.to_crs(METRIC).geometry.values
    assert len(a) == len(b)
    assert shapely.area(shapely.symmetric_difference(a, b)).max(initial=0.0) < 1e-6


def assert_same_frames(left: pd.DataFrame, right: pd.DataFrame) -> None:
    if isinstance(left, gpd.GeoDataFrame):
        assert_same_geometry(left, right)
        left, right = left.drop(columns=left.geometry.name), right.drop(columns=right.geometry.name)
    pd.testing.assert_frame_equal(pd.DataFrame(left), pd.DataFrame(right), check_dtype=False)


def assert_same_plan(expected: GridResult, got: GridResult) -> None:
    for name in ("grids", "grid_members", "patches"):
        assert_same_frames(getattr(expected, name), getattr(got, name))
    pd.testing.assert_frame_equal(
        expected.divided_buildings.reset_index(drop=True), got.divided_buildings, check_dtype=False
    )


def test_tasks_hold_only_their_community(loaded):
    tasks = community_tasks(loaded)
    assert len(tasks) == 6
    assert [t.households for t in tasks] == sorted((t.households for t in tasks), reverse=True)
    assert sum(t.households for t in tasks) == 9_000
    ids = pd.concat([t.buildings["building_id"] for t in tasks])
    assert ids.is_unique and len(ids) == len(loaded.buildings)
    for task in tasks:
        assert (task.buildings["community_id"] == task.community_id).all()
        assert len(task.roads) < len(loaded.project.roads)


def test_serial_matches_make_grids(loaded, reference):
    result = run_batch(loaded, backend="serial")
    assert result.community_ids == tuple(sorted(loaded.communities["community_id"]))
    assert len(result.computed) == 6 and not result.resumed
    assert_same_plan(reference, result.grids)


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "loky"])
def test_joblib_matches_make_grids(loaded, reference, monkeypatch, fork):
    monkeypatch.setattr(batch, "_can_fork", lambda: fork)
    result = run_batch(loaded, backend="joblib", n_jobs=2)
    assert result.backend == "joblib"
    assert_same_plan(reference, result.grids)


def test_workers_are_forked_only_from_a_process_of_one_thread():
    # a fresh process of one thread (the CLI's) forks its workers ...
    probe = "import planning.batch as b; print(b._can_fork())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "True", out.stderr
    # ... and one running another thread (the app's, a notebook's) starts fresh workers
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not batch._can_fork()
    finally:
        stop.set()
        other.join()


def test_the_cli_progress_bar_starts_no_thread():
    from tqdm import tqdm

    from cli._output import bar

    before = threading.active_count()
    shown = bar(argparse.Namespace(quiet=False), total=3, desc="communities")
    shown.update(1)
    assert threading.active_count() == before  # tqdm's own bar starts a monitor thread
    shown.close()
    plain = tqdm(total=3, disable=False, file=sys.stderr)
    assert tqdm.monitor is not None and tqdm.monitor.is_alive()  # what ``bar`` leaves out
    plain.close()


def test_make_grids_in_two_processes_is_one_process(loaded, reference):
    project = loaded.project
    seen: list[str] = []
    got = make_grids(
        project.buildings,
        communities=loaded.communities,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
        n_jobs=2,
        progress=seen.append,
    )
    assert seen == sorted(loaded.communities["community_id"].astype(str))
    assert_same_plan(reference, got)


def test_rerun_in_two_processes_is_one_process(loaded, reference):
    """The re-run around a planner's locked grid (``gridplan grids --project --jobs``)
    gives the same plan, codes and crosswalk in two processes as in one."""
    from dataclasses import replace

    from planning.edit import GridPlan, rerun

    plan = GridPlan.from_result(
        reference, buildings=loaded.project.buildings, communities=loaded.communities
    )
    grids = plan.grids.copy()
    grids.loc[grids.index[3], "locked"] = True
    plan = replace(plan, grids=grids)
    project = loaded.project
    lines = {"roads": project.roads, "waterways": project.waterways,
             "barriers": project.barriers, "compounds": project.compounds}  # fmt: skip
    one = rerun(plan, **lines)
    two = rerun(plan, **lines, n_jobs=2)
    assert_same_frames(one.plan.grids, two.plan.grids)
    assert_same_frames(one.plan.grid_members, two.plan.grid_members)
    pd.testing.assert_frame_equal(one.crosswalk, two.crosswalk)
    assert one.kept == two.kept and len(one.kept) == 1


def test_dask_matches_make_grids(loaded, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        seen: list[str] = []
        result = run_batch(loaded, scheduler=cluster.scheduler_address, progress=seen.append)
    assert result.backend == "dask"
    assert sorted(seen) == list(result.community_ids)
    assert_same_plan(reference, result.grids)


def test_resume_after_an_interruption(loaded, reference, tmp_path):
    class Stop(Exception):
        pass

    done: list[str] = []

    def stop_after_two(community_id: str) -> None:
        done.append(community_id)
        if len(done) == 2:
            raise Stop

    with pytest.raises(Stop):
        run_batch(loaded, checkpoint=tmp_path, progress=stop_after_two)
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 2
    again: list[str] = []
    result = run_batch(loaded, checkpoint=tmp_path, progress=again.append)
    assert sorted(result.resumed) == sorted(done)
    assert set(again).isdisjoint(done) and len(again) == 4
    assert_same_plan(reference, result.grids)
    third = run_batch(loaded, checkpoint=tmp_path)
    assert len(third.resumed) == 6 and not third.computed


def test_checkpoint_key_follows_inputs_and_rules(loaded):
    task = community_tasks(loaded)[0]
    options = BatchOptions()
    key = task.key("grids", options)
    assert key == community_tasks(loaded)[0].key("grids", options)
    narrower = BatchOptions(rules=options.rules.with_values(grid_max_households=45))
    assert task.key("grids", narrower) != key
    moved = task.buildings.copy()
    moved["households"] = moved["households"] + 1
    assert batch.CommunityTask(**{**task.__dict__, "buildings": moved}).key("grids", options) != key


def test_split_matches_propose_splits():
    from planning.split import propose_splits

    loaded = prepare(Project(**make_city(7_000, n_communities=1, seed=2)))
    oversized = loaded.communities[loaded.communities["status"].isin(["may_split", "must_split"])]
    assert len(oversized) == 1
    result = run_batch(loaded, task="split")
    assert result.community_ids == tuple(oversized["community_id"])
    direct = propose_splits(
        loaded.buildings,
        community=oversized,
        roads=loaded.project.roads,
        waterways=loaded.project.waterways,
        barriers=loaded.project.barriers,
        compounds=loaded.project.compounds,
        service_centres=loaded.project.service_centres,
    )
    assert_same_frames(direct.proposals(), result.proposals)
    pd.testing.assert_frame_equal(direct.lineage(1), result.lineage)
    assert [json.loads(s) for s in result.alternatives["summary"]] == [a.as_dict() for a in direct.alternatives]


def test_check_is_one_table(loaded):
    result = run_batch(loaded, task="check", backend="joblib")
    assert result.backend == "serial" and result.grids is None
    assert set(result.communities["status"]) <= {"ok", "small", "may_split", "must_split"}


def test_unreachable_scheduler_says_how_to_fix(loaded):
    pytest.importorskip("distributed")
    with pytest.raises(SchedulerError, match="Cannot reach the dask scheduler at tcp://127.0.0.1:9"):
        run_batch(loaded, scheduler="tcp://127.0.0.1:9", connect_timeout=1)


def test_missing_dask_says_how_to_install(loaded, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DependencyMissingError, match=r"pip install 'gridplan\[city\]'") as info:
        run_batch(loaded, backend="dask")
    assert "gridplan[city]" in info.value.render("zh_CN")


# -- the CLI -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def city_file(city, tmp_path_factory) -> Path:
    return write_district(city, tmp_path_factory.mktemp("city") / "city.gpkg")


def _grids_cli(capsys, *args: str) -> tuple[int, dict, str]:
    from cli import main

    code = main(["grids", *map(str, args), "--json", "--lang", "en"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_cli_jobs_and_resume(city_file, tmp_path, capsys):
    code, one, _ = _grids_cli(capsys, city_file, "--out", tmp_path / "one.gpkg", "--quiet")
    assert code == 0
    code, two, err = _grids_cli(
        capsys, city_file, "--out", tmp_path / "two.gpkg", "--jobs", "2", "--resume", tmp_path / "ck"
    )
    assert code == 0, err
    assert "0 of 6 communities resumed" in err
    assert {k: v for k, v in two.items() if k not in {"seconds", "out"}} == {
        k: v for k, v in one.items() if k not in {"seconds", "out"}
    }
    plan_one, plan_two = read_plan(tmp_path / "one.gpkg"), read_plan(tmp_path / "two.gpkg")
    for name in ("grids", "grid_members"):
        assert_same_frames(plan_one[name], plan_two[name])
    code, _, err = _grids_cli(capsys, city_file, "--out", tmp_path / "three.gpkg", "--resume", tmp_path / "ck")
    assert code == 0 and "6 of 6 communities resumed" in err


def test_cli_project_rerun_honours_jobs(city_file, tmp_path, capsys, monkeypatch):
    """``gridplan grids --project NAME --jobs 2`` on a project with grids re-runs the engine
    in two processes (it ran in one whatever --jobs said)."""
    import planning.grids
    from cli import main

    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    opts = ["--json", "--lang", "en", "--quiet"]
    assert main(["projects", "create", "城", "--from", str(city_file), *opts]) == 0
    assert main(["grids", "--project", "城", "--jobs", "2", *opts]) == 0
    capsys.readouterr()
    asked: list[int] = []
    original = planning.grids.make_grids

    def spy(*args, **kwargs):
        asked.append(kwargs.get("n_jobs", 1))
        return original(*args, **kwargs)

    monkeypatch.setattr(planning.grids, "make_grids", spy)
    assert main(["grids", "--project", "城", "--jobs", "2", *opts]) == 0
    again = json.loads(capsys.readouterr().out)
    assert asked == [2]
    assert again["grids_kept"] == 0 and again["grids"] > 0


def test_cli_unreachable_scheduler(city_file, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(batch, "run_batch", partial(run_batch, connect_timeout=1))
    code, _, err = _grids_cli(
        capsys, city_file, "--out", tmp_path / "p.gpkg", "--scheduler", "tcp://127.0.0.1:9", "--quiet"
    )
    assert code == 2
    assert err.startswith("gridplan: Cannot reach the dask scheduler") and "--scheduler" in err
    assert "Traceback" not in err
