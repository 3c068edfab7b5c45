"""``gridplan access | overlap | growth`` and the walking figures of ``compare`` (SCHEMA.md
"Analyses"), called through :func:`cli.main` as a planner would."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely import box

import cli
from gis import datasets
from gis.store import write_plan

CRS = "EPSG:4548"
X0, Y0 = 441_000.0, 4_428_800.0  # over the Beijing sample


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("GRIDPLAN_LANG", "en")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_access_prints_the_schema_figures(capsys):
    code, out, _ = run(capsys, "access", datasets.get_path("beijing"), "--json", "--quiet")
    assert code == 0
    data = json.loads(out)
    (row,) = data["communities"]
    for key in (
        "community_id",
        "households",
        "mean_walk_m",
        "share_within_5min",
        "share_within_10min",
        "share_within_15min",
    ):
        assert key in row
    assert row["households"] == 9762
    assert row["centre_source"] == "recommended"  # the sample has no service centre
    assert row["mean_walk_m"] >= row["straight_mean_m"]  # a walk is never shorter
    assert 0 <= row["share_within_5min"] <= row["share_within_10min"] <= row["share_within_15min"]
    assert any("no service centre" in n for n in data["notes"])


def fishnet(step: float, n: int, code: str, dx: float = 0.0) -> gpd.GeoDataFrame:
    cells = [
        box(X0 + dx + i * step, Y0 + j * step, X0 + dx + (i + 1) * step, Y0 + (j + 1) * step)
        for j in range(n)
        for i in range(n)
    ]
    return gpd.GeoDataFrame(
        {code: [f"{k:03d}" for k in range(len(cells))]}, geometry=cells, crs=CRS
    ).to_crs("EPSG:4490")


def test_overlap_on_fishnets(capsys, tmp_path):
    grids = fishnet(100.0, 4, "grid_code")
    grids["community_id"], grids["households"] = "110108001001", 40
    plan = tmp_path / "plan.gpkg"
    write_plan(plan, {"grids": grids})
    other = tmp_path / "城管网格.gpkg"
    fishnet(200.0, 2, "单元编码", dx=30.0).to_file(other, layer="units")
    code, out, _ = run(capsys, "overlap", plan, "--other", other, "--json", "--quiet")
    assert code == 0
    data = json.loads(out)
    assert len(data["grids"]) == 16
    # their edges at x = 30, 230, 430 m: our columns [0, 100] and [200, 300] hold 70 % in one
    # unit (30 % outside or in the next), [100, 200] and [300, 400] lie inside one unit
    expected = {0: 0.7, 1: 1.0, 2: 0.7, 3: 1.0}
    for k, g in enumerate(data["grids"]):
        assert g["max_share"] == pytest.approx(expected[k % 4], abs=1e-3)
    assert data["aligned_share"] == 0.5
    # every 200 m unit holds pieces of several grids: the western one's largest piece is one
    # whole grid (100 × 100) of the 200 × 200 our grids cover; the eastern one's, of 170 × 200
    cut = {u["id"]: u for u in data["units_cut"]}
    assert set(cut) == {"000", "001", "002", "003"}
    assert cut["000"]["largest_share"] == pytest.approx(0.25, abs=1e-3)
    assert cut["001"]["largest_share"] == pytest.approx(10_000 / 34_000, abs=1e-3)


def test_overlap_refuses_a_missing_file_in_one_line(capsys, tmp_path):
    grids = fishnet(100.0, 2, "grid_code")
    plan = tmp_path / "plan.gpkg"
    write_plan(plan, {"grids": grids.assign(households=40, community_id="1")})
    code, _, err = run(capsys, "overlap", plan, "--other", tmp_path / "nope.gpkg", "--quiet")
    assert code == 2
    assert err.strip().count("\n") == 0 and "nope.gpkg" in err


def test_growth_year_by_year(capsys, tmp_path):
    buildings = gpd.read_file(datasets.get_path("beijing"), layer="buildings")
    points = buildings.geometry.representative_point().iloc[[10, 100]]
    deliveries = gpd.GeoDataFrame(
        {"户数": [300, 500], "预计交付": ["2028年", "2030-06"]},
        geometry=points.to_numpy(),
        crs=buildings.crs,
    )
    path = tmp_path / "交付.geojson"
    deliveries.to_file(path)
    code, out, _ = run(
        capsys,
        "growth",
        datasets.get_path("beijing"),
        "--deliveries",
        path,
        "--base-year",
        "2026",
        "--json",
        "--quiet",
    )
    assert code == 0
    data = json.loads(out)
    years = {y["year"]: y["communities"][0] for y in data["years"]}
    assert sorted(years) == [2026, 2027, 2028, 2029, 2030]
    assert [years[y]["households"] for y in sorted(years)] == [9762, 9762, 10062, 10062, 10562]
    assert years[2030]["required_staff"] == 43  # ceil(10,562 / 250)
    assert data["first_crossing"] == {"000000000000": 2026}  # already over 5,000 today


def test_growth_says_what_is_missing(capsys, tmp_path):
    path = tmp_path / "deliveries.csv"
    path.write_text("名称,户数\n一期,300\n", encoding="utf-8")
    code, _, err = run(capsys, "growth", datasets.get_path("beijing"), "--deliveries", path)
    assert code == 2
    assert "year" in err


def test_compare_prints_walking_figures_before_and_after(capsys, tmp_path):
    from shapely import box as rect

    from planning.communities import load

    loaded = load(datasets.get_path("beijing"))
    area = loaded.communities.to_crs(CRS).geometry.iloc[0]
    x0, y0, x1, y1 = area.bounds
    mid = (y0 + y1) / 2
    halves = [area.intersection(rect(x0, mid, x1, y1)), area.intersection(rect(x0, y0, x1, mid))]
    proposals = gpd.GeoDataFrame(
        {
            "proposal_id": "R1",
            "rank": 1,
            "part": [1, 2],
            "parent_community_id": "000000000000",
            "households": [4881, 4881],
        },
        geometry=halves,
        crs=CRS,
    ).to_crs("EPSG:4490")
    plan = tmp_path / "split.gpkg"
    write_plan(plan, {"proposals": proposals})
    code, out, _ = run(capsys, "compare", datasets.get_path("beijing"), plan, "--json", "--quiet")
    assert code == 0
    data = json.loads(out)
    before, after = data["before"], data["after"]
    for key in ("mean_walk_m", "share_within_15min", "mean_distance_m"):
        assert before[key] is not None and after[key] is not None
    # two centres, each in its own half, bring households closer than one for the whole
    assert after["mean_walk_m"] < before["mean_walk_m"]
    assert after["mean_walk_m"] >= after["mean_distance_m"]
    assert {r["community_id"] for r in data["communities_after"]} == {
        "000000000000-1",
        "000000000000-2",
    }


def test_access_out_feeds_the_excel_report(capsys, tmp_path):
    import pandas as pd

    out = tmp_path / "access.gpkg"
    code, _, _ = run(
        capsys, "access", datasets.get_path("beijing"), "--out", out, "--json", "--quiet"
    )
    assert code == 0
    xlsx = tmp_path / "access.xlsx"
    code, _, _ = run(
        capsys, "export", out, "--format", "xlsx", "--out", xlsx, "--lang", "en", "--quiet"
    )
    assert code == 0
    sheets = pd.read_excel(xlsx, sheet_name=None, engine="calamine")
    assert {"Walking access", "Walk of each building"} <= set(sheets)
    walks = sheets["Walk of each building"]
    assert len(walks) == 521 and (walks["walk (m)"] >= walks["to the road (m)"]).all()
