"""Rule sets: presets and their citations, TOML round trips, rejected values, edits."""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis.errors import RulesError
from planning.rules import (
    PRESETS,
    Citation,
    RuleSet,
    get_preset,
    load_rules,
    preset_names,
    save_rules,
)

NUMERIC_RULES = [
    f.name for f in dataclasses.fields(RuleSet) if f.name not in {"name", "title", "citations"}
]
KNOWN = ", ".join(sorted(f.name for f in dataclasses.fields(RuleSet) if f.name != "citations"))


def _states(statement: str, value: float) -> bool:
    """True if ``statement`` writes ``value`` (3000 as 3000 or 3,000; 40.0 as 40; 2.62)."""
    spellings = {repr(value), f"{value:g}"}
    if float(value).is_integer():
        spellings |= {str(int(value)), f"{int(value):,}"}
    return any(
        re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d]|[.,]\d)", statement) for s in spellings
    )


# --------------------------------------------------------------------------------------
# presets and citations
# --------------------------------------------------------------------------------------
def test_preset_names():
    assert preset_names() == ["default", "kunming", "baoshan", "ningbo"]
    for name in preset_names():
        assert get_preset(name).name == name


def test_default_preset_holds_the_published_numbers():
    r = get_preset()
    assert (r.min_households, r.split_households, r.must_split_residents) == (3000, 5000, 50_000)
    assert (r.grid_min_households, r.grid_max_households) == (30, 50)
    assert r.households_per_worker == 250
    assert r.funds_yuan_per_1000_households == 280_000
    assert r.service_space_m2_per_100_households == 40
    assert get_preset("baoshan").patch_households == 350
    assert get_preset("ningbo").households_per_worker == 300


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_numeric_rule_of_every_preset_is_cited(name):
    rules = get_preset(name)
    cited = [c.rule for c in rules.citations]
    assert sorted(cited) == sorted(NUMERIC_RULES), "each numeric rule needs exactly one citation"
    for citation in rules.citations:
        assert isinstance(citation, Citation)
        assert citation.source.strip() and citation.statement.strip()
        # A citation must state the number it stands behind (3,000 households, 40 m², 2.62 …):
        # a preset that changes a number without a new citation fails here.
        value = getattr(rules, citation.rule)
        assert _states(citation.statement, value), f"{name}.{citation.rule}={value}: {citation}"
        assert rules.cite(citation.rule) == f"{citation.source}: {citation.statement}"


@pytest.mark.parametrize(
    ("name", "rule", "source"),
    [
        ("default", "min_households", "Kunming 2024"),
        ("default", "split_households", "Kunming 2024"),
        ("default", "must_split_residents", "Kunming 2024"),
        ("default", "grid_min_households", "Gaoping 2024"),
        ("default", "grid_max_households", "Gaoping 2024"),
        ("default", "households_per_worker", "Ningbo 2013"),
        ("default", "funds_yuan_per_1000_households", "Ningbo 2013"),
        ("default", "service_space_m2_per_100_households", "Ningbo 2013"),
        ("baoshan", "patch_households", "Shanghai Baoshan"),
        ("ningbo", "households_per_worker", "Ningbo 2013"),
    ],
)
def test_published_rules_cite_their_city(name, rule, source):
    assert get_preset(name).cite(rule).startswith(source + ": ")


def test_sources_has_one_row_per_numeric_rule():
    rows = get_preset("baoshan").sources()
    assert [row["rule"] for row in rows] == NUMERIC_RULES
    by_rule = {row["rule"]: row for row in rows}
    assert by_rule["patch_households"] == {
        "rule": "patch_households",
        "value": "350",
        "source": "Shanghai Baoshan: a social worker's patch of about 350 households",
    }


def test_presets_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_preset().households_per_worker = 1  # type: ignore[misc]
    assert get_preset().households_per_worker == 250


def test_unknown_preset_is_rejected():
    with pytest.raises(RulesError) as err:
        get_preset("shenzhen")
    assert str(err.value) == (
        "There is no rule preset called 'shenzhen'. "
        "Choose one of: default, kunming, baoshan, ningbo."
    )


# --------------------------------------------------------------------------------------
# TOML
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PRESETS))
def test_toml_round_trip_of_every_preset(name, tmp_path):
    rules = get_preset(name)
    path = save_rules(rules, tmp_path / f"{name}.toml")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["preset"] == name
    loaded = load_rules(path)
    assert loaded == rules
    assert loaded.values() == rules.values()
    assert loaded.citations == rules.citations
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed into place"


def test_toml_round_trip_of_an_edited_rule_set(tmp_path):
    edited = get_preset("baoshan").with_values(households_per_worker=200, title="宝山 试算")
    loaded = load_rules(save_rules(edited, tmp_path / "r.toml"))
    assert loaded == edited
    assert loaded.title == "宝山 试算"
    assert (
        loaded.cite("households_per_worker") == "households_per_worker = 200 (set by the planner)"
    )
    assert loaded.cite("patch_households").startswith("Shanghai Baoshan: ")


# Valid rule sets: every band non-empty, every number positive (funds and space may be 0).
valid_values = st.fixed_dictionaries(
    {
        "grid_min_households": st.integers(1, 100),
        "grid_extra": st.integers(0, 100),
        "min_households": st.integers(1, 10_000),
        "split_extra": st.integers(0, 10_000),
        "households_per_worker": st.integers(1, 5_000),
        "funds_yuan_per_1000_households": st.floats(0, 1e7, allow_nan=False),
        "service_space_m2_per_100_households": st.floats(0, 1e3, allow_nan=False),
        "area_per_dwelling_m2": st.floats(1e-3, 1e3, allow_nan=False),
        "persons_per_household": st.floats(0.01, 10, allow_nan=False),
        "special_service_weight": st.floats(1, 10, allow_nan=False),
        "title": st.text(max_size=30),
    }
)


@given(values=valid_values)
def test_toml_round_trip_of_any_valid_rule_set(values, tmp_path_factory):
    values = dict(values)
    values["grid_max_households"] = values["grid_min_households"] + values.pop("grid_extra")
    values["split_households"] = values["min_households"] + values.pop("split_extra")
    rules = get_preset().with_values(**values)
    path = save_rules(rules, tmp_path_factory.mktemp("rules") / "r.toml")
    loaded = load_rules(path)
    assert loaded == rules
    assert loaded.values() == rules.values()  # floats survive exactly, text is escaped


def test_toml_file_may_start_from_a_preset_and_override(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('preset = "baoshan"\nhouseholds_per_worker = 200\n', encoding="utf-8")
    rules = load_rules(path)
    assert rules.name == "baoshan"
    assert (rules.patch_households, rules.households_per_worker) == (350, 200)


def test_toml_file_with_its_own_name_starts_from_default(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('name = "haidian-2025"\nhouseholds_per_worker = 200\n', encoding="utf-8")
    rules = load_rules(path)
    assert rules.name == "haidian-2025"
    assert rules.households_per_worker == 200
    assert rules.split_households == get_preset().split_households


def test_missing_and_broken_rule_files(tmp_path):
    with pytest.raises(RulesError) as err:
        load_rules(tmp_path / "nope.toml")
    assert str(err.value) == f"The rule file {tmp_path / 'nope.toml'} does not exist."
    broken = tmp_path / "broken.toml"
    broken.write_text("households_per_worker = = 3\n", encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_rules(broken)
    assert str(err.value).startswith(f"The rule file {broken} is not valid TOML (")
    assert str(err.value).endswith("). Save it as UTF-8 TOML.")
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes('title = "昆明"\n'.encode("gbk"))
    with pytest.raises(RulesError, match="is not valid TOML"):
        load_rules(gbk)


# --------------------------------------------------------------------------------------
# impossible values, with the exact message
# --------------------------------------------------------------------------------------
REJECTED = [
    ({"households_per_worker": 0}, "Rule households_per_worker must be greater than 0 (it is 0)."),
    (
        {"households_per_worker": -250},
        "Rule households_per_worker must be greater than 0 (it is -250).",
    ),
    ({"min_households": -1}, "Rule min_households must be greater than 0 (it is -1)."),
    (
        {"area_per_dwelling_m2": 0.0},
        "Rule area_per_dwelling_m2 must be greater than 0 (it is 0.0).",
    ),
    ({"storey_height_m": -3.0}, "Rule storey_height_m must be greater than 0 (it is -3.0)."),
    (
        {"funds_yuan_per_1000_households": -1.0},
        "Rule funds_yuan_per_1000_households cannot be negative (it is -1.0).",
    ),
    (
        {"service_space_m2_per_100_households": -40},
        "Rule service_space_m2_per_100_households cannot be negative (it is -40).",
    ),
    ({"households_per_worker": math.nan}, "Rule households_per_worker must be a number, not nan."),
    ({"persons_per_household": math.inf}, "Rule persons_per_household must be a number, not inf."),
    ({"households_per_worker": "250"}, "Rule households_per_worker must be a number, not '250'."),
    ({"grid_max_households": True}, "Rule grid_max_households must be a number, not True."),
    (
        {"special_service_weight": "high"},
        "Rule special_service_weight must be a number, not 'high'.",
    ),
    (
        {"special_service_weight": 0.5},
        "Rule special_service_weight must be at least 1 (it is 0.5).",
    ),
    (
        {"grid_min_households": 60},
        "The grid band is empty: grid_min_households (60) is larger than grid_max_households (50). "
        "Make the minimum smaller than the maximum.",
    ),
    (
        {"min_households": 6000},
        "min_households (6000) is larger than split_households (5000): no community could be the "
        "right size. Make the normal minimum smaller than the split threshold.",
    ),
    (
        {"househods_per_worker": 300, "grid_size": 40},
        f"Unknown rule grid_size, househods_per_worker. Known rules are: {KNOWN}. "
        "Check the spelling in the rule file.",
    ),
]


@pytest.mark.parametrize(("values", "message"), REJECTED)
def test_with_values_rejects_with_the_exact_message(values, message):
    with pytest.raises(RulesError) as err:
        get_preset().with_values(**values)
    assert str(err.value) == message


@pytest.mark.parametrize(("values", "message"), [r for r in REJECTED if "Unknown" not in r[1]])
def test_constructor_rejects_with_the_exact_message(values, message):
    with pytest.raises(RulesError) as err:
        RuleSet(**values)
    assert str(err.value) == message


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return repr(value)


@pytest.mark.parametrize(("values", "message"), REJECTED)
def test_rule_files_are_rejected_with_the_exact_message(values, message, tmp_path):
    path = tmp_path / "rules.toml"
    text = 'preset = "default"\n' + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items())
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_rules(path)
    assert str(err.value) == message


def test_rejection_is_translatable():
    with pytest.raises(RulesError) as err:
        get_preset().with_values(households_per_worker=0)
    assert err.value.msgid == "Rule {rule} must be greater than 0 (it is {value})."
    assert err.value.params == {"rule": "households_per_worker", "value": 0}
    assert isinstance(err.value, ValueError)


# --------------------------------------------------------------------------------------
# with_values
# --------------------------------------------------------------------------------------
def test_with_values_returns_an_edited_copy():
    base = get_preset("baoshan")
    edited = base.with_values(households_per_worker=300, split_households=6000)
    assert (edited.households_per_worker, edited.split_households) == (300, 6000)
    assert (base.households_per_worker, base.split_households) == (250, 5000)
    assert edited.name == "baoshan" and edited.patch_households == 350
    assert edited != base
    changed = {k for k, v in edited.values().items() if base.values()[k] != v}
    assert changed == {"households_per_worker", "split_households"}


def test_with_values_uncites_only_the_numbers_it_changes():
    base = get_preset()
    edited = base.with_values(split_households=6000, households_per_worker=250)
    assert edited.cite("split_households") == "split_households = 6000 (set by the planner)"
    # unchanged (even if passed again) and untouched numbers keep their published source
    assert edited.cite("households_per_worker") == base.cite("households_per_worker")
    assert edited.cite("min_households") == base.cite("min_households")
    assert {c.rule for c in base.citations} - {c.rule for c in edited.citations} == {
        "split_households"
    }


def test_with_values_without_changes_is_equal():
    assert get_preset("ningbo").with_values() == get_preset("ningbo")


def test_with_values_takes_numpy_numbers_as_plain_numbers(tmp_path):
    # numbers coming from pandas / a data editor are NumPy scalars
    edited = get_preset().with_values(
        households_per_worker=np.int64(300), area_per_dwelling_m2=np.float64(95.5)
    )
    assert type(edited.households_per_worker) is int and edited.households_per_worker == 300
    assert type(edited.area_per_dwelling_m2) is float and edited.area_per_dwelling_m2 == 95.5
    assert load_rules(save_rules(edited, tmp_path / "r.toml")) == edited
