"""``gridplan access | overlap | growth --project NAME`` read a project and save a version
(SCHEMA.md "Projects": every command that reads INPUT also takes ``--project``)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

import cli


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from gis.datasets.synthetic import make_district, write_district

    folder = tmp_path_factory.mktemp("analyses")
    district = write_district(make_district(1_200, seed=1), folder / "d.gpkg")
    return folder, district


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_analyses_read_a_project_and_save_versions(home, capsys, monkeypatch):
    folder, district = home
    monkeypatch.setenv("GRIDPLAN_HOME", str(folder / "home"))
    opts = ["--json", "--lang", "en", "--quiet"]
    assert run(capsys, "projects", "create", "区", "--from", district, *opts)[0] == 0

    # access: the same figures as from the file, saved as version 2
    code, from_file, _ = run(capsys, "access", district, *opts)
    assert code == 0
    code, from_project, _ = run(capsys, "access", "--project", "区", *opts)
    assert code == 0 and from_project["version"] == 2 and from_project["project"] == "区"
    assert from_project["communities"] == from_file["communities"]
    from planning.projects import workspace

    project = workspace().open("区")
    saved = project.load(layers=["access", "access_buildings"])
    assert len(saved["access"]) == len(from_file["communities"])
    households = sum(c["households"] for c in from_file["communities"])
    assert int(saved["access_buildings"]["households"].sum()) == households

    # overlap needs the project's grids: a clear message first, then figures and a version
    code, _, err = run(capsys, "overlap", "--project", "区", "--other", folder / "o.gpkg", *opts)
    assert code != 0 and "no grids yet" in err and "gridplan grids --project 区" in err
    assert run(capsys, "grids", "--project", "区", *opts)[0] == 0  # version 3
    grids = project.load(layers=["grids"])["grids"]
    x0, y0, x1, y1 = grids.to_crs(4548).total_bounds
    step = (x1 - x0) / 4
    cells = [
        box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
        for i in range(4)
        for j in range(int((y1 - y0) / step) + 1)
    ]
    gpd.GeoDataFrame({"unit_code": range(len(cells))}, geometry=cells, crs=4548).to_file(
        folder / "o.gpkg"
    )
    code, overlap, _ = run(
        capsys, "overlap", "--project", "区", "--other", folder / "o.gpkg", "--other-id",
        "unit_code", *opts,
    )  # fmt: skip
    assert code == 0 and overlap["version"] == 4
    assert len(overlap["grids"]) == len(grids)
    kept = project.load(layers=["grid_overlap"])["grid_overlap"]
    assert sorted(kept["grid_code"]) == sorted(g["grid_code"] for g in overlap["grids"])
    assert kept["max_share"].between(0, 1).all()

    # growth over the project's grids
    first = str(grids["community_id"].iloc[0])
    pd.DataFrame({"community_id": [first], "year": [2030], "households": [6_000]}).to_csv(
        folder / "deliveries.csv", index=False
    )
    code, growth, _ = run(
        capsys, "growth", "--project", "区", "--deliveries", folder / "deliveries.csv",
        "--base-year", 2026, *opts,
    )  # fmt: skip
    assert code == 0 and growth["version"] == 5
    assert growth["first_crossing"][first] == 2030
    table = project.load(layers=["growth"])["growth"]
    assert set(table["year"]) >= {2026, 2030}
    actions = project.history()["action"].tolist()
    assert actions == ["create", "access", "grids", "overlap", "growth"]


def test_input_and_project_together_or_neither_are_refused(home, capsys, monkeypatch):
    folder, district = home
    monkeypatch.setenv("GRIDPLAN_HOME", str(folder / "home"))
    code, _, err = run(capsys, "access", district, "--project", "区", "--lang", "en")
    assert code != 0 and "not both" in err
    code, _, err = run(capsys, "growth", "--deliveries", folder / "x.csv", "--lang", "en")
    assert code != 0 and "--project NAME" in err
