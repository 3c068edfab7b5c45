"""Estimated households are marked in the Excel report and the PDF atlas (issue 17).

A generated district where every third building has no household count: those are
estimated from footprint × floors (``households_source = "estimated"``, as ``check --json``
and the app say). The reports must carry the same figures, counted independently here
from the grid members.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from gis.export import export_plan
from gis.io import Project
from planning.communities import prepare
from planning.grids import make_grids


@pytest.fixture(scope="module")
def plan():
    from gis.datasets.synthetic import make_district

    district = make_district(1_200, seed=1)
    buildings = district["buildings"].copy()
    buildings.loc[buildings.index[::3], "households"] = np.nan
    layers = {k: district[k] for k in ("communities", "roads", "compounds")}
    layers["buildings"] = buildings
    loaded = prepare(Project(**layers, source_crs={k: "EPSG:4490" for k in layers}))
    result = make_grids(
        loaded.buildings,
        communities=loaded.communities,
        roads=loaded.project.roads,
        compounds=loaded.project.compounds,
        rules=loaded.rules,
    )
    estimated_ids = set(loaded.buildings.loc[loaded.buildings["households_source"] == "estimated", "building_id"])
    members = result.grid_members
    flagged = members["building_id"].isin(estimated_ids)
    expected = members[flagged].groupby("grid_code")["households"].sum().astype(int).to_dict()
    assert expected, "the fixture must have estimated grids"
    return loaded, result, expected, estimated_ids, layers


def test_xlsx_marks_estimated_households(plan, tmp_path):
    loaded, result, expected, estimated_ids, _ = plan
    layers = {"grids": result.grids, "grid_members": result.grid_members, "communities": loaded.communities}
    (out,) = export_plan(
        layers, tmp_path / "plan.xlsx", lang="en", rules=loaded.rules,
        context={"buildings": loaded.buildings},
    )  # fmt: skip
    sheets = pd.read_excel(out, sheet_name=None, engine="calamine")
    grids = sheets["Grids"].set_index("grid code")
    got = grids["of which estimated"]
    assert {str(k): int(v) for k, v in got[got > 0].items()} == expected
    assert (got <= grids["households"]).all()
    summary = dict(zip(sheets["Plan"].iloc[:, 0], sheets["Plan"].iloc[:, 1], strict=True))
    total = sum(expected.values())
    assert int(summary["of which estimated"]) == total
    assert "footprint × floors ÷ 90 m²" in summary["estimated"]
    assert f"{total} of the {int(result.grids['households'].sum())}" in summary["estimated"]
    members = sheets["Grid members"]
    basis = members["households counted or estimated"]
    assert set(members.loc[basis == "estimated", "building"]) == estimated_ids & set(members["building"])
    assert (basis[~members["building"].isin(estimated_ids)] == "counted").all()
    before = sheets["Communities before"]
    assert int(before["of which estimated"].sum()) == int(
        loaded.buildings.loc[loaded.buildings["building_id"].isin(estimated_ids), "households"].sum()
    )


def test_a_plan_file_alone_marks_them_from_its_members(plan, tmp_path, capsys):
    """``gridplan grids`` keeps each member's households_source, so ``export`` of the plan
    file marks estimates without the project."""
    from gis.datasets.synthetic import write_district
    import cli

    *_, raw = plan
    src = write_district(raw, tmp_path / "d.gpkg")
    assert cli.main(["grids", str(src), "--out", str(tmp_path / "p.gpkg"), "--quiet", "--json"]) == 0
    assert cli.main(["export", str(tmp_path / "p.gpkg"), "--out", str(tmp_path / "p.xlsx"), "--quiet", "--json", "--lang", "zh_CN"]) == 0
    capsys.readouterr()
    sheets = pd.read_excel(tmp_path / "p.xlsx", sheet_name=None, engine="calamine")
    members = sheets["网格楼栋"]
    assert set(members["户数来源（实有/估算）"]) == {"估算", "实有"}
    assert int(sheets["网格"]["其中估算"].sum()) > 0


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_atlas_marks_estimated_households(plan, tmp_path):
    loaded, result, expected, *_ = plan
    layers = {"grids": result.grids, "grid_members": result.grid_members}
    (out,) = export_plan(
        layers, tmp_path / "atlas.pdf", lang="zh_CN", rules=loaded.rules,
        context={"buildings": loaded.buildings},
    )  # fmt: skip

    def page(n: int) -> str:
        return subprocess.run(
            ["pdftotext", "-f", str(n), "-l", str(n), str(out), "-"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    cover = page(1)
    total = sum(expected.values())
    assert f"其中估算 {total}" in cover and "按占地面积 × 层数 ÷ 每户 90 m² 估算" in cover
    codes = sorted(result.grids["grid_code"])
    for code in codes:
        text = page(3 + codes.index(code))  # cover, one community, then the grids in order
        assert code in text
        if code in expected:
            assert f"其中估算 {expected[code]}" in text and "* 估算" in text
        else:
            assert "估算" not in text
