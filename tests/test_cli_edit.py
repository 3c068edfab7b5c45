"""``gridplan edit --project``: scripted corrections saved as project versions."""

from __future__ import annotations

import json

import pytest

from cli import main
from gis.datasets.synthetic import make_district
from planning.edit import GridPlan
from planning.grids import make_grids


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A workspace with project 测试 holding a 1,500-household district and its grids."""
    from planning.projects import create_project, workspace

    folder = tmp_path_factory.mktemp("home")
    layers = make_district(1_500, seed=2)
    source = folder / "district.gpkg"
    for name in ("buildings", "communities", "roads", "compounds"):
        layers[name].to_file(source, layer=name, driver="GPKG")
    ws = workspace(folder / "ws")
    project = create_project(ws, "测试", source, author="tester")
    result = make_grids(
        layers["buildings"],
        communities=layers["communities"],
        roads=layers["roads"],
        compounds=layers["compounds"],
    )
    project.save(
        layers={"grids": result.grids, "grid_members": result.grid_members},
        action="grids",
        author="tester",
    )
    project.close()
    return folder / "ws", GridPlan.from_result(result, buildings=layers["buildings"])


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_merge_lock_and_assign_are_saved_as_versions(home, capsys):
    ws, plan = home
    codes = plan.grids["grid_code"].tolist()
    a = codes[0]
    geom = plan.grid(a).geometry
    b = next(
        c for c in codes[1:] if plan.grid(c).geometry.intersection(geom).length > 1e-6
    )
    code, out, err = _run(
        capsys, "edit", "--project", "测试", "--home", str(ws), "--merge", a, b, "--json",
        "--lang", "en", "--author", "wang",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["removed"] == [b]
    assert [g["grid_code"] for g in payload["grids"]] == [a]
    merged = int(plan.grid(a)["households"]) + int(plan.grid(b)["households"])
    assert payload["grids"][0]["households"] == merged
    version = payload["version"]
    code, out, _ = _run(capsys, "edit", "--project", "测试", "--home", str(ws), "--lock", a, "--json")
    assert code == 0 and json.loads(out)["version"] == version + 1
    code, out, err = _run(
        capsys, "edit", "--project", "测试", "--home", str(ws), "--assign", a,
        "--worker", "王芳", "--phone", "13800000000", "--json",
    )
    assert code == 0, err
    code, out, _ = _run(capsys, "projects", "history", "测试", "--home", str(ws), "--json")
    history = json.loads(out)["versions"]
    assert [v["action"] for v in history[-3:]] == ["edit", "edit", "edit"]
    assert "Merged" in history[-3]["note"] or "合并" in history[-3]["note"]
    # a locked grid refuses a merge: one line, non-zero, nothing saved
    code, out, err = _run(
        capsys, "edit", "--project", "测试", "--home", str(ws), "--merge", a, codes[2], "--lang", "en",
    )
    assert code != 0 and err.count("\n") == 1 and "locked" in err and "Traceback" not in err
    code, out, _ = _run(capsys, "projects", "history", "测试", "--home", str(ws), "--json")
    assert len(json.loads(out)["versions"]) == len(history)


def test_a_code_that_does_not_exist(home, capsys):
    ws, _plan = home
    code, out, err = _run(
        capsys, "edit", "--project", "测试", "--home", str(ws), "--move", "B000001",
        "--to", "110108001001999", "--json", "--lang", "en",
    )
    assert code != 0
    assert json.loads(out)["error"]["message"].startswith("There is no grid 110108001001999")


def test_regrid_keeps_the_locked_grid_and_saves_the_crosswalk(home, capsys):
    from planning.projects import workspace

    ws, plan = home
    code = plan.grids["grid_code"].iloc[-1]
    assert _run(capsys, "edit", "--project", "测试", "--home", str(ws), "--lock", code)[0] == 0
    before = workspace(ws).open("测试").load(layers=["grids"])["grids"].set_index("grid_code")
    status, out, err = _run(
        capsys, "edit", "--project", "测试", "--home", str(ws), "--regrid", "--json", "--lang", "en"
    )
    assert status == 0, err
    assert json.loads(out)["change"].startswith("Grids made again")
    with workspace(ws).open("测试") as project:
        layers = project.load(layers=["grids", "grid_crosswalk"])
    walk = layers["grid_crosswalk"]
    row = walk[walk["old_code"] == code].iloc[0]
    assert row["new_code"] == code and row["overlap_share"] == 1.0
    after = layers["grids"].set_index("grid_code")
    assert after.loc[code].geometry.equals_exact(before.loc[code].geometry, 1e-12)
    assert int(after["households"].sum()) == int(before["households"].sum())
    # the crosswalk goes out with the plan's Excel report
    import pandas as pd

    from gis.export import export_plan

    path = export_plan(layers, ws.parent / "plan.xlsx", lang="en")[0]
    assert "Grid code crosswalk" in pd.ExcelFile(path, engine="calamine").sheet_names


def test_import_a_citys_grid_layer_and_audit_it(tmp_path, capsys):
    """A GBK shapefile zip of grids (网格编码, 网格员), one grid damaged: audited and kept."""
    import zipfile

    from planning.projects import create_project, workspace

    layers = make_district(1_500, seed=2)
    source = tmp_path / "district.gpkg"
    for name in ("buildings", "communities", "roads"):
        layers[name].to_file(source, layer=name, driver="GPKG")
    ws = tmp_path / "ws"
    create_project(workspace(ws), "导入", source, author="tester").close()
    grids = make_grids(
        layers["buildings"], communities=layers["communities"], roads=layers["roads"]
    ).grids[["grid_code", "geometry"]]
    grids = grids.rename(columns={"grid_code": "网格编码"}).assign(网格员="王芳")
    grids.loc[0, "网格编码"] = None
    grids.to_file(tmp_path / "网格.shp", encoding="gbk")
    with zipfile.ZipFile(tmp_path / "grids.zip", "w") as z:
        for part in tmp_path.glob("网格.*"):
            z.write(part, part.name)
    code, out, err = _run(
        capsys, "edit", "--project", "导入", "--home", str(ws), "--import",
        str(tmp_path / "grids.zip"), "--json", "--lang", "en",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["grids"] == len(grids)
    assert payload["households"] == int(layers["buildings"]["households"].sum())
    assert payload["problems"].get("no_code") == 1
    with workspace(ws).open("导入") as project:
        saved = project.load(layers=["grids", "grid_audit"])
    assert (saved["grids"]["worker"] == "王芳").all()
    assert len(saved["grid_audit"]) == len(payload["audit"])


def test_grids_on_a_project_with_grids_reruns_around_the_planners_locks(tmp_path, capsys, monkeypatch):
    """``gridplan grids --project`` on a project that has grids goes through the re-run: the
    locked grid stays as the planner left it, codes of grids that barely change are kept,
    new ones come after the highest, and the crosswalk is saved with the version."""
    from planning.projects import workspace

    layers = make_district(1_500, seed=2)
    source = tmp_path / "district.gpkg"
    for name in ("buildings", "communities", "roads", "compounds"):
        layers[name].to_file(source, layer=name, driver="GPKG")
    monkeypatch.setenv("GRIDPLAN_HOME", str(tmp_path / "home"))
    opts = ["--json", "--lang", "en", "--quiet"]
    assert main(["projects", "create", "重跑", "--from", str(source), *opts]) == 0
    capsys.readouterr()
    assert main(["grids", "--project", "重跑", *opts]) == 0
    first = json.loads(capsys.readouterr().out)
    assert "grids_kept" not in first  # the first run makes the grids afresh
    with workspace().open("重跑") as project:
        grids = project.load(layers=["grids"])["grids"]
    codes = grids["grid_code"].tolist()
    a = codes[len(codes) // 2]
    b = next(c for c in codes if c != a and grids.set_index("grid_code").geometry[c].intersection(
        grids.set_index("grid_code").geometry[a]).length > 1e-6)
    # the planner merges two grids and locks the result
    assert main(["edit", "--project", "重跑", "--merge", a, b, *opts]) == 0
    assert main(["edit", "--project", "重跑", "--lock", a, *opts]) == 0
    capsys.readouterr()
    with workspace().open("重跑") as project:
        edited = project.load(layers=["grids"])["grids"].set_index("grid_code")
    assert main(["grids", "--project", "重跑", *opts]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["locked_kept"] == 1 and again["grids_kept"] == 1
    with workspace().open("重跑") as project:
        saved = project.load(layers=["grids", "grid_crosswalk", "patches"])
        history = project.history()["action"].tolist()
    after = saved["grids"].set_index("grid_code")
    assert after.loc[a].geometry.equals_exact(edited.loc[a].geometry, 1e-12)
    assert int(after.loc[a, "households"]) == int(edited.loc[a, "households"]) and bool(after.loc[a, "locked"])
    assert b not in after.index or after.loc[b].geometry.intersection(after.loc[a].geometry).area < 1e-12
    assert int(after["households"].sum()) == int(layers["buildings"]["households"].sum())
    walk = saved["grid_crosswalk"]
    assert walk.loc[walk["old_code"] == a, "new_code"].tolist() == [a]
    kept = walk[(walk["old_code"] == walk["new_code"]) & (walk["old_code"] != a)]
    assert again["codes_kept"] == len(kept) >= 0.5 * (len(edited) - 1)
    assert (kept["overlap_share"] >= 0.8).all()
    new_codes = set(after.index) - set(edited.index)
    assert again["codes_new"] == len(new_codes) and all(c > max(edited.index) for c in new_codes)
    assert set(saved["patches"]["patch_id"]) == set(after["patch_id"]) and "" not in set(after["patch_id"])
    assert history == ["create", "grids", "edit", "edit", "grids"]
