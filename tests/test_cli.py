"""The ``gridplan`` command line: JSON on stdout, progress on stderr, one-line errors.

Most tests call :func:`cli.main` in-process (with ``capsys``); two run the installed
console script, as a planner would. Expected figures are computed here from the published
rules (DOMAIN.md), not with the library.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

import cli
from gis import datasets

# What `gridplan staff --json` prints (SCHEMA.md), after the three inputs it echoes.
STAFF_SCHEMA = [
    "required_staff",
    "shortfall",
    "households_per_worker",
    "residents_per_worker",
    "funds_yuan",
    "service_space_m2",
    "min_grids",
    "max_grids",
]
STAFF_KEYS = ["households", "residents", "staff", *STAFF_SCHEMA]
# What each community of `gridplan check --json` carries (SCHEMA.md).
COMMUNITY_KEYS = [
    "community_id",
    "name",
    "households",
    "residents",
    "status",
    "reasons",
    "required_staff",
    "staff",
    "shortfall",
    "households_buildings",
    "households_source",
]

# The default rules as published (DOMAIN.md): Ningbo 2013 staffing, Gaoping 2024 grids.
HOUSEHOLDS_PER_WORKER = 250
FUNDS_PER_1000_HOUSEHOLDS = 280_000
SPACE_M2_PER_100_HOUSEHOLDS = 40
GRID_MIN, GRID_MAX = 30, 50

BEIJING_HOUSEHOLDS = 9762
STUDY_AREA_ID = "000000000000"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for variable in ("GRIDPLAN_LANG", "GRIDPLAN_DEBUG", "LC_ALL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(scope="module")
def beijing() -> str:
    return str(datasets.get_path("beijing"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def single_json(stdout: str) -> dict:
    """stdout must be exactly one JSON object on one line."""
    assert stdout.endswith("\n") and stdout.count("\n") == 1, stdout
    payload = json.loads(stdout)
    assert isinstance(payload, dict)
    return payload


def expected_staffing(households: int, residents: int | None, staff: int | None) -> dict:
    required = math.ceil(households / HOUSEHOLDS_PER_WORKER)
    workers = staff if staff else required  # ratios per actual worker, else per required one
    fewest = math.ceil(households / GRID_MAX)
    most = max(fewest, max(1, households // GRID_MIN)) if households else 0
    return {
        "households": households,
        "residents": residents,
        "staff": staff,
        "required_staff": required,
        "shortfall": None if staff is None else max(0, required - staff),
        "households_per_worker": round(households / workers, 1) if workers else None,
        "residents_per_worker": (
            round(residents / workers, 1) if workers and residents is not None else None
        ),
        "funds_yuan": households * FUNDS_PER_1000_HOUSEHOLDS / 1000,
        "service_space_m2": households * SPACE_M2_PER_100_HOUSEHOLDS / 100,
        "min_grids": fewest,
        "max_grids": most,
    }


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# -- gridplan staff -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("households", "residents", "staff"),
    [
        (9762, None, 12),
        (9762, 25_000, 12),
        (250, None, None),
        (251, 700, 0),
        (20, 52, 3),
        (0, None, None),
        (50_001, 131_000, 150),
    ],
)
def test_staff_json_matches_the_published_rules(capsys, households, residents, staff):
    argv = ["staff", "--households", str(households), "--json", "--lang", "en"]
    if residents is not None:
        argv += ["--residents", str(residents)]
    if staff is not None:
        argv += ["--staff", str(staff)]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    payload = single_json(out)
    assert list(payload) == STAFF_KEYS
    expected = expected_staffing(households, residents, staff)
    for key in STAFF_KEYS:
        if expected[key] is None:
            assert payload[key] is None, key
        else:
            assert payload[key] == pytest.approx(expected[key], abs=0.01), key
    assert err == ""  # no progress for a computation this quick


def test_staff_json_anchor(capsys):
    # The figures of the cli package's docstring: 9,762 households, 12 workers.
    code, out, _ = run(capsys, "staff", "--households", "9762", "--staff", "12", "--json")
    assert code == 0
    payload = single_json(out)
    assert {k: payload[k] for k in ("required_staff", "shortfall", "min_grids", "max_grids")} == {
        "required_staff": 40,
        "shortfall": 28,
        "min_grids": 196,
        "max_grids": 325,
    }
    assert payload["households_per_worker"] == 813.5
    assert payload["funds_yuan"] == pytest.approx(2_733_360.0)
    assert payload["service_space_m2"] == pytest.approx(3_904.8)


def test_staff_preset_changes_the_figures(capsys):
    # The ningbo preset's stretched scenario: one worker per 300 households.
    code, out, _ = run(capsys, "staff", "--households", "9762", "--preset", "ningbo", "--json")
    assert code == 0
    assert single_json(out)["required_staff"] == math.ceil(9762 / 300)


def test_staff_rules_file(capsys, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text('preset = "default"\nhouseholds_per_worker = 200\n', encoding="utf-8")
    code, out, _ = run(capsys, "staff", "--households", "1000", "--rules", str(rules), "--json")
    assert code == 0
    assert single_json(out)["required_staff"] == 5


def test_staff_human_output_is_translated_and_aligned(capsys):
    code, out, err = run(
        capsys, "staff", "--households", "9762", "--staff", "12", "--lang", "zh_CN"
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    labels = [line.split()[0] for line in lines]
    assert labels[:5] == ["户数", "常住人口", "现有工作人员", "应配工作人员", "人员缺口"]
    assert len(lines) == len(STAFF_KEYS)
    assert not any(key in out for key in STAFF_KEYS)  # no English field names left
    assert "40" in lines[3] and "28" in lines[4] and "—" in lines[1]
    # Values start in one column on a terminal, where a Chinese character takes two.
    starts = {display_width(line[: len(line) - len(line.split()[-1])]) for line in lines}
    assert len(starts) == 1


def test_staff_human_output_in_english(capsys):
    code, out, _ = run(capsys, "staff", "--households", "9762", "--lang", "en")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == STAFF_KEYS
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in out)


@pytest.mark.parametrize(
    ("environment", "english"),
    [
        ({"GRIDPLAN_LANG": "en"}, True),
        ({"GRIDPLAN_LANG": "zh-CN", "LANG": "en_US.UTF-8"}, False),
        ({"LANG": "en_US.UTF-8"}, True),
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, False),
        ({"LANG": "C.UTF-8"}, False),  # no language set: zh_CN
    ],
)
def test_default_language_comes_from_the_environment(capsys, monkeypatch, environment, english):
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    code, out, _ = run(capsys, "staff", "--households", "100")
    assert code == 0
    assert out.split()[0] == ("households" if english else "户数")


# -- gridplan check -------------------------------------------------------------------------------
def test_check_beijing_json_en(capsys, beijing):
    code, out, err = run(capsys, "check", beijing, "--json", "--lang", "en")
    assert code == 0, err
    payload = single_json(out)
    assert payload["rules"] == "default"
    (community,) = payload["communities"]  # no community layer: the study area is one
    assert list(community) == COMMUNITY_KEYS
    assert community["community_id"] == STUDY_AREA_ID
    assert community["households"] == BEIJING_HOUSEHOLDS
    assert community["status"] == "may_split"
    assert community["required_staff"] == math.ceil(BEIJING_HOUSEHOLDS / HOUSEHOLDS_PER_WORKER)
    (reason,) = community["reasons"]
    assert reason.startswith(f"{BEIJING_HOUSEHOLDS} households is more than 5000")
    assert "may be split" in reason
    assert "Kunming 2024" in reason
    assert payload["estimated_buildings"] > 0
    # the only problem: three OSM areas drawn as buildings (普吉院: 1,200 households)
    (problem,) = payload["problems"]
    assert problem.startswith("buildings: 3 buildings hold more households than")
    (implausible,) = [w for w in payload["warnings"] if w["kind"] == "implausible_building"]
    assert implausible["count"] == 3
    assert implausible["rows"] == ["way/409368388", "way/226671070", "way/226671071"]
    assert "1,200 households" in implausible["message"]
    # Progress goes to stderr, in the planner's language, never to stdout.
    assert err.splitlines()[0] == "gridplan: reading layers…"
    assert all(line.startswith("gridplan: ") for line in err.splitlines())


def test_check_beijing_json_zh_cn(capsys, beijing):
    code, out, err = run(capsys, "check", beijing, "--json", "--lang", "zh_CN")
    assert code == 0, err
    (community,) = single_json(out)["communities"]
    assert community["households"] == BEIJING_HOUSEHOLDS
    assert community["status"] == "may_split"  # a machine value: not translated in JSON
    (reason,) = community["reasons"]
    assert reason.startswith(f"{BEIJING_HOUSEHOLDS} 户，多于 5000 户：该社区可拆分（依据：")
    assert "households is more than" not in reason
    assert err.splitlines()[0] == "gridplan: 正在读取图层…"


def test_check_human_output_zh_cn(capsys, beijing):
    code, out, err = run(capsys, "check", beijing, "--lang", "zh_CN", "--quiet")
    assert code == 0
    assert err == ""  # --quiet: no progress
    first = out.splitlines()[0]
    assert first.startswith(STUDY_AREA_ID)
    assert f"{BEIJING_HOUSEHOLDS} 户" in first and first.endswith("[可拆分]")
    assert "may_split" not in out
    reason = out.splitlines()[1]
    assert reason.startswith(f"    - {BEIJING_HOUSEHOLDS} 户，多于 5000 户：该社区可拆分")
    assert "户数是按基底面积 × 层数估算的" in out


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_grids_human_summary_reads_in_the_planners_words(capsys, tmp_path, beijing, lang):
    # the summary's keys (in_range_share, zones_alone_out_of_range …) were printed raw
    plan = str(tmp_path / "plan.gpkg")
    code, out, _ = run(capsys, "grids", beijing, "--out", plan, "--lang", lang, "--quiet")
    assert code == 0
    summary = [line for line in out.splitlines() if not line.startswith(("·", "!"))]
    assert len(summary) >= 8
    assert not [line for line in summary if re.match(r"^[a-z_]+:", line)], summary
    shares = [line for line in summary if line.endswith(" %")]
    assert len(shares) == 2 and all(0 <= float(line.split(": ")[1][:-2]) <= 100 for line in shares)
    if lang == "zh_CN":
        assert all(re.search(r"[\u4e00-\u9fff]", line.split(":")[0]) for line in summary), summary


def test_check_human_output_en(capsys, beijing):
    code, out, _ = run(capsys, "check", beijing, "--lang", "en", "--quiet")
    assert code == 0
    first = out.splitlines()[0]
    assert f"{BEIJING_HOUSEHOLDS} households" in first and first.endswith("[may_split]")
    assert "Kunming 2024" in out


# -- bad input ------------------------------------------------------------------------------------
def _rules_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_INPUTS = {
    "missing file": lambda tmp, sample: ["check", str(tmp / "nowhere.gpkg")],
    "negative households": lambda tmp, sample: ["staff", "--households", "-5"],
    "negative staff": lambda tmp, sample: ["staff", "--households", "100", "--staff", "-1"],
    "unknown preset": lambda tmp, sample: ["staff", "--households", "100", "--preset", "atlantis"],
    "unknown rule key": lambda tmp, sample: [
        "staff",
        "--households",
        "100",
        "--rules",
        _rules_file(tmp, 'preset = "default"\nhouseholds_per_wroker = 200\n'),
    ],
    "unknown rule key (check)": lambda tmp, sample: [
        "check",
        sample,
        "--rules",
        _rules_file(tmp, "households_per_wroker = 200\n"),
    ],
    "impossible rule": lambda tmp, sample: [
        "staff",
        "--households",
        "100",
        "--rules",
        _rules_file(tmp, "grid_min_households = 60\n"),
    ],
    "rules not TOML": lambda tmp, sample: [
        "staff",
        "--households",
        "100",
        "--rules",
        _rules_file(tmp, "households_per_worker = = 200\n"),
    ],
    "missing rules file": lambda tmp, sample: [
        "staff",
        "--households",
        "100",
        "--rules",
        str(tmp / "none.toml"),
    ],
    "households not a number": lambda tmp, sample: ["staff", "--households", "many"],
    "households missing": lambda tmp, sample: ["staff"],
    "unknown command": lambda tmp, sample: ["plan-everything"],
}
# Part of the English message, to be sure the right error was reported.
BAD_INPUT_WORDS = {
    "missing file": "nowhere.gpkg",
    "negative households": "households",
    "negative staff": "staff",
    "unknown preset": "atlantis",
    "unknown rule key": "households_per_wroker",
    "unknown rule key (check)": "households_per_wroker",
    "impossible rule": "grid_min_households",
    "rules not TOML": "TOML",
    "missing rules file": "none.toml",
    "households not a number": "many",
    "households missing": "--households",
    "unknown command": "plan-everything",
}


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, beijing, case, lang):
    argv = [*BAD_INPUTS[case](tmp_path, beijing), "--quiet", "--lang", lang]
    code, out, err = run(capsys, *argv)
    assert code == cli.EXIT_BAD_INPUT
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gridplan: ")
    assert "Traceback" not in err
    assert BAD_INPUT_WORDS[case] in lines[0]
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in lines[0])
    assert has_chinese == (lang == "zh_CN")


def test_bad_input_after_progress(capsys, tmp_path):
    # Without --quiet the progress lines come first; the error is still one last line.
    code, out, err = run(capsys, "check", str(tmp_path / "nowhere.gpkg"), "--lang", "en")
    assert code == cli.EXIT_BAD_INPUT and out == ""
    lines = err.splitlines()
    assert lines[0] == "gridplan: reading layers…"
    assert all(line.startswith("gridplan: ") for line in lines)
    assert "nowhere.gpkg" in lines[-1] and "does not exist" in lines[-1]
    assert "Traceback" not in err


def test_internal_error_is_one_line_and_exit_3(capsys, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("planning.staffing.staffing", broken)
    code, out, err = run(capsys, "staff", "--households", "100", "--lang", "en")
    assert code == cli.EXIT_INTERNAL and out == ""
    assert err.splitlines() == [
        "gridplan: internal error (RuntimeError); please report it with the command you ran "
        "(GRIDPLAN_DEBUG=1 shows details)."
    ]
    monkeypatch.setenv("GRIDPLAN_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["staff", "--households", "100"])


def test_help_is_translated_and_exits_0(capsys):
    code, out, _ = run(capsys, "staff", "--help", "--lang", "zh_CN")
    assert code == 0
    assert "社区户数" in out and "规则预设" in out
    code, out, _ = run(capsys, "staff", "--help", "--lang", "en")
    assert code == 0
    assert "households in the community" in out


# -- the installed console script -----------------------------------------------------------------
def _console_script() -> Path:
    beside = Path(sys.executable).parent / ("gridplan.exe" if os.name == "nt" else "gridplan")
    found = beside if beside.exists() else shutil.which("gridplan")
    assert found, "the gridplan console script is not installed (pip install -e .)"
    return Path(found)


def _run_script(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"GRIDPLAN_DEBUG", "GRIDPLAN_LANG"}}
    env["PYTHONUTF8"] = "1"
    return subprocess.run(
        [str(_console_script()), *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=300,
        check=False,
    )


def test_console_script_check(beijing):
    done = _run_script("check", beijing, "--json", "--lang", "en")
    assert done.returncode == 0, done.stderr
    (community,) = single_json(done.stdout)["communities"]
    assert community["community_id"] == STUDY_AREA_ID
    assert community["households"] == BEIJING_HOUSEHOLDS
    assert community["status"] == "may_split"
    assert "Kunming 2024" in community["reasons"][0]
    assert done.stderr.splitlines()[0] == "gridplan: reading layers…"
    assert "Traceback" not in done.stderr


def test_console_script_bad_input_exit_code():
    done = _run_script("staff", "--households", "-5", "--lang", "en")
    assert done.returncode == cli.EXIT_BAD_INPUT
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["gridplan: households must be zero or more (it is -5)."]
