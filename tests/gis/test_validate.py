"""Validation: one report listing every problem at once — what, which rows, how to fix."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gis import datasets
from gis.errors import GridplanError
from gis.io import Project, read_project
from gis.validate import Problem, ValidationError, ValidationReport, validate_project

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


import bad_inputs.make_corpus as mc  # tests/ is on pytest's pythonpath


def _everything_wrong(tmp_path: Path) -> Path:
    """Buildings and communities with one of each problem, in two CRSs."""
    folder = tmp_path / "项目"
    b = mc.buildings(
        9,
        楼栋编号=[
            "HD-001",
            "HD-002",
            "HD-003",
            "HD-003",
            "HD-005",
            "HD-006",
            "HD-007",
            "HD-008",
            "HD-009",
        ],
        户数=["48", "约50户", "36", "-6", "42", "60", "54", "48", "36"],
    )
    b.loc[1, "geometry"] = mc.bowtie(1, 0)
    b.loc[5, "geometry"] = None
    b.loc[8, "geometry"] = mc.box(0, 6)  # north of every community
    mc.gpkg(folder / "楼栋.gpkg", {"楼栋": b})
    comm = mc.communities(crs=4548, overlap=True, gap=True, 社工人数=["12", "九人"])
    mc.write_shp(comm, folder, "社区")
    return folder


def test_every_problem_is_reported_at_once(tmp_path: Path):
    _, report = validate_project(read_project(_everything_wrong(tmp_path)))
    frame = report.to_frame("en")
    assert list(frame.columns) == ["severity", "layer", "code", "message", "rows"]
    assert list(zip(frame["layer"], frame["code"], frame["severity"], strict=True)) == [
        ("buildings", "empty_geometry", "warning"),
        ("buildings", "invalid_geometry", "warning"),
        ("buildings", "not_numeric", "error"),
        ("buildings", "negative", "error"),
        ("buildings", "duplicate_id", "warning"),
        ("communities", "not_numeric", "error"),
        ("communities", "overlap", "error"),
        ("communities", "gap", "warning"),
        ("buildings", "outside", "warning"),
        ("project", "mixed_crs", "warning"),
    ]
    assert frame["rows"].tolist()[:6] == [
        ["HD-006"],
        ["HD-002"],
        ["HD-002"],
        ["HD-003"],
        ["HD-003"],
        ["110108008002"],
    ]
    assert frame["rows"].iloc[8] == ["HD-009"]
    assert frame["rows"].iloc[9] == ["buildings: EPSG:4490", "communities: EPSG:4548"]
    # Every entry says what, which rows and how to fix: "layer: what (rows: …). Fix."
    for problem, message in zip(report.problems, frame["message"], strict=True):
        assert message.startswith(f"{problem.layer}: ")
        assert "(rows: " in message
        assert message.endswith(".")
        assert problem.render("zh_CN").strip()
    assert not report.ok
    assert [p.code for p in report.errors] == ["not_numeric", "negative", "not_numeric", "overlap"]
    assert len(report.warnings) == 6


def test_the_repaired_project(tmp_path: Path):
    project, _ = validate_project(read_project(_everything_wrong(tmp_path)))
    b = project.buildings
    assert len(b) == 8  # the row without a shape is left out
    assert shapely.is_valid(b.geometry.values).all()
    assert b["building_id"].is_unique
    assert {"HD-003-1", "HD-003-2"} <= set(b["building_id"])
    assert pd.api.types.is_numeric_dtype(b["households"])
    assert b.set_index("building_id")["households"].isna().tolist()[1]  # '约50户' became empty
    assert pd.api.types.is_numeric_dtype(project.communities["staff"])


def test_validation_error_carries_the_whole_report(tmp_path: Path):
    _, report = validate_project(read_project(_everything_wrong(tmp_path)))
    with pytest.raises(ValidationError) as info:
        report.raise_for_errors()
    err = info.value
    assert isinstance(err, GridplanError)
    assert err.report is report
    assert str(err) == report.errors[0].render("en") + " (4 problems in all)"
    assert err.render("zh_CN").strip()


def test_a_clean_project_passes(tmp_path: Path):
    path = mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": mc.buildings(), "社区": mc.communities()})
    project, report = validate_project(read_project(path))
    assert report.problems == ()
    assert report.ok
    report.raise_for_errors()  # nothing to raise
    assert report.to_frame().empty
    assert project.buildings["households"].tolist() == mc.buildings()["户数"].tolist()


@pytest.mark.parametrize("name", ["beijing", "shanghai"])
def test_bundled_samples_are_clean(name: str):
    _, report = validate_project(read_project(datasets.get_path(name)))
    assert report.ok
    # The Shanghai extract has one building mapped twice in OpenStreetMap (two ways, one
    # footprint): the copy is left out, and said so.
    expected = [("duplicate_building", ("way/-2376366",))] if name == "shanghai" else []
    assert [(p.code, p.rows) for p in report.problems] == expected


def test_numbers_as_planners_type_them_are_accepted(tmp_path: Path):
    # Full-width digits from a Chinese input method, thousands separators, spaces, blanks.
    b = mc.buildings(6, 户数=["４８", "1,200", " 36 ", "", None, "54"])
    path = mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": b})
    project, report = validate_project(read_project(path))
    assert report.problems == ()
    values = project.buildings["households"].tolist()
    assert (
        values[:3] == [48, 1200, 36]
        and pd.isna(values[3])
        and pd.isna(values[4])
        and values[5] == 54
    )


def test_long_row_lists_are_shortened(tmp_path: Path):
    n = 14
    b = mc.buildings(n, 户数=["多"] * n)
    project = read_project(mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": b}))
    _, report = validate_project(project)
    (problem,) = report.problems
    assert len(problem.rows) == n
    assert problem.render("en") == (
        "buildings: column households holds text that is not a number ('多') (rows: HD-001, HD-002, "
        "HD-003, HD-004, HD-005, HD-006, HD-007, HD-008, HD-009, HD-010 and 4 more). Write plain "
        "numbers in households (no units or words); leave a cell empty if unknown."
    )


def test_rows_without_ids_are_numbered(tmp_path: Path):
    b = mc.buildings(3, 户数=["48", "-1", "36"]).drop(columns="楼栋编号")
    _, report = validate_project(read_project(mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": b})))
    (problem,) = report.problems
    assert problem.rows == ("#1",)


def test_checks_limits_the_layers(tmp_path: Path):
    project = read_project(mc.make_staff_text(tmp_path))
    _, everything = validate_project(project)
    _, buildings_only = validate_project(project, checks=["buildings"])
    assert [p.code for p in everything.problems] == ["not_numeric"]
    assert buildings_only.problems == ()


def test_source_crs_can_be_given(tmp_path: Path):
    project = read_project(
        mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": mc.buildings(), "社区": mc.communities()})
    )
    _, report = validate_project(
        project, source_crs={"buildings": "EPSG:4490", "communities": "EPSG:4527"}
    )
    assert [p.code for p in report.problems] == ["mixed_crs"]


def test_overlap_rows_name_the_pair_and_the_area(tmp_path: Path):
    _, report = validate_project(read_project(mc.make_overlapping_communities(tmp_path)))
    (problem,) = report.errors
    assert problem.rows == ("110108008001×110108008002 (5689 m²)",)


def test_touching_communities_do_not_overlap(tmp_path: Path):
    _, report = validate_project(
        read_project(
            mc.gpkg(tmp_path / "p.gpkg", {"楼栋": mc.buildings(), "社区": mc.communities()})
        )
    )
    assert not [p for p in report.problems if p.code in {"overlap", "gap"}]


def test_a_polygon_layer_of_lines_does_not_crash_the_community_checks(tmp_path: Path):
    _, report = validate_project(read_project(mc.make_communities_as_lines(tmp_path)))
    assert [p.code for p in report.problems] == ["geometry_type"]


def test_problem_render_and_report_frame_in_chinese():
    problem = Problem(
        "negative",
        "buildings",
        "error",
        "column {column} has negative values",
        "Counts cannot be negative: correct {column} in these rows.",
        ("HD-003",),
        {"column": "households"},
    )
    assert problem.render("en") == (
        "buildings: column households has negative values (rows: HD-003). Counts cannot be negative: "
        "correct households in these rows."
    )
    report = ValidationReport((problem,))
    assert report.to_frame("zh_CN")["message"].iloc[0].strip()
    assert str(ValidationError(report)) == problem.render("en")


def test_project_without_buildings_shapes_is_an_error():
    empty = gpd.GeoDataFrame({"building_id": ["HD-001"]}, geometry=[None], crs=4490)
    _, report = validate_project(Project(buildings=empty))
    assert [(p.code, p.severity) for p in report.problems] == [
        ("empty_geometry", "warning"),
        ("no_buildings", "error"),
    ]
