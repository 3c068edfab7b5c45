"""Staffing arithmetic: exact integer properties under any preset edit, table vs scalar."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gis.errors import FieldError
from planning.rules import PRESETS, get_preset
from planning.staffing import grid_count_range, required_staff, staffing, staffing_table

households = st.integers(0, 2_000_000)
staff_counts = st.none() | st.integers(0, 20_000)
resident_counts = st.none() | st.integers(0, 5_000_000)


@st.composite
def edited_rules(draw):
    """Any preset with its staffing, grid, funds and space numbers edited."""
    base = get_preset(draw(st.sampled_from(list(PRESETS))))
    low = draw(st.integers(1, 120))
    return base.with_values(
        households_per_worker=draw(st.integers(1, 5_000)),
        grid_min_households=low,
        grid_max_households=low + draw(st.integers(0, 150)),
        funds_yuan_per_1000_households=draw(st.floats(0, 2e6, allow_nan=False)),
        service_space_m2_per_100_households=draw(st.floats(0, 500, allow_nan=False)),
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)  # exact integer ceiling, no floats


# --------------------------------------------------------------------------------------
# staff
# --------------------------------------------------------------------------------------
@given(h=households, rules=edited_rules())
def test_required_staff_is_the_ceiling(h, rules):
    assert required_staff(h, rules=rules) == _ceil_div(h, rules.households_per_worker)
    assert staffing(h, rules=rules).required_staff == _ceil_div(h, rules.households_per_worker)


@given(h=households, staff=staff_counts, rules=edited_rules())
def test_shortfall_is_required_minus_staff_never_negative(h, staff, rules):
    s = staffing(h, staff=staff, rules=rules)
    if staff is None:
        assert s.shortfall is None
    else:
        assert s.shortfall == max(0, _ceil_div(h, rules.households_per_worker) - staff)


@given(h=households, staff=staff_counts, residents=resident_counts, rules=edited_rules())
def test_ratios_are_per_actual_worker_else_per_required_worker(h, staff, residents, rules):
    s = staffing(h, staff=staff, residents=residents, rules=rules)
    workers = staff or s.required_staff
    if workers == 0:
        assert s.households_per_worker is None and s.residents_per_worker is None
        return
    assert s.households_per_worker == pytest.approx(h / workers, abs=0.0501)
    if residents is None:
        assert s.residents_per_worker is None
    else:
        assert s.residents_per_worker == pytest.approx(residents / workers, abs=0.0501)


@pytest.mark.parametrize(
    ("h", "expected"), [(0, 0), (1, 1), (249, 1), (250, 1), (251, 2), (500, 2), (9_762, 40)]
)
def test_required_staff_anchors(h, expected):
    assert required_staff(h) == expected


def test_beijing_study_area_anchor():
    # 9,762 estimated households of the Beijing sample, the CLI example's 12 workers
    s = staffing(9_762, staff=12)
    assert (s.required_staff, s.shortfall, s.min_grids, s.max_grids) == (40, 28, 196, 325)
    assert s.households_per_worker == 813.5
    assert (s.funds_yuan, s.service_space_m2) == (2_733_360.0, 3_904.8)
    assert staffing(9_762, rules=get_preset("ningbo")).required_staff == 33  # 1 per 300
    # 9,762 / 40 = 244.05 (244.050000000000011 in binary): 244.1 in the scalar and the table alike
    assert staffing(9_762).households_per_worker == 244.1
    assert (
        staffing_table(pd.DataFrame({"households": [9_762]}))["households_per_worker"].iloc[0]
        == 244.1
    )


# --------------------------------------------------------------------------------------
# grids
# --------------------------------------------------------------------------------------
@given(h=households, rules=edited_rules())
def test_fewest_grids_fill_every_grid_to_the_maximum(h, rules):
    fewest, most = grid_count_range(h, rules=rules)
    high = rules.grid_max_households
    if h == 0:
        assert (fewest, most) == (0, 0)
        return
    assert fewest * high >= h
    assert (fewest - 1) * high < h
    assert most >= fewest >= 1


@given(h=households, rules=edited_rules())
def test_most_grids_keep_every_grid_at_the_minimum(h, rules):
    low, high = rules.grid_min_households, rules.grid_max_households
    assume(h >= low)
    fewest, most = grid_count_range(h, rules=rules)
    if _ceil_div(h, high) <= h // low:  # some count of grids fits the band
        assert most * low <= h
        assert (most + 1) * low > h
    else:  # e.g. 51–59 households, grids of 30–50: no count fits, stay within the maximum
        assert most == fewest == _ceil_div(h, high)
        assert most * low > h


@given(h=st.integers(0, 3_000), low=st.integers(1, 60), extra=st.integers(0, 60))
def test_grid_range_matches_brute_force(h, low, extra):
    rules = get_preset().with_values(grid_min_households=low, grid_max_households=low + extra)
    feasible = [k for k in range(1, h + 1) if k * low <= h <= k * (low + extra)]
    fewest, most = grid_count_range(h, rules=rules)
    if h == 0:
        assert (fewest, most) == (0, 0)
    elif feasible:
        assert (fewest, most) == (min(feasible), max(feasible))
    else:
        assert fewest == most == _ceil_div(h, low + extra)


def test_band_gaps_with_default_grids():
    gaps = [h for h in range(30, 2_000) if grid_count_range(h)[1] * 30 > h]
    assert gaps == list(range(51, 60))  # one grid is too big, two are too small
    assert grid_count_range(20) == (1, 1)  # smaller than a grid: still one grid


# --------------------------------------------------------------------------------------
# funds and space
# --------------------------------------------------------------------------------------
@given(h=households, rules=edited_rules())
def test_funds_and_space_are_proportional(h, rules):
    s = staffing(h, rules=rules)
    funds = h * rules.funds_yuan_per_1000_households / 1000
    space = h * rules.service_space_m2_per_100_households / 100
    assert s.funds_yuan == pytest.approx(funds, abs=0.0051, rel=1e-12)
    assert s.service_space_m2 == pytest.approx(space, abs=0.0051, rel=1e-12)
    double = staffing(2 * h, rules=rules)
    assert double.funds_yuan == pytest.approx(2 * s.funds_yuan, abs=0.011, rel=1e-12)
    assert double.service_space_m2 == pytest.approx(2 * s.service_space_m2, abs=0.011, rel=1e-12)


@given(h=st.integers(0, 1_000_000))
def test_default_funds_and_space(h):
    s = staffing(h)
    assert s.funds_yuan == pytest.approx(280 * h)  # 280,000 yuan per 1,000 households
    assert s.service_space_m2 == pytest.approx(0.4 * h)  # 40 m² per 100 households


# --------------------------------------------------------------------------------------
# the table agrees with the scalar, row by row
# --------------------------------------------------------------------------------------
rows = st.lists(st.tuples(households, staff_counts, resident_counts), min_size=1, max_size=8)


def _same(table_value, scalar_value):
    if scalar_value is None:
        return pd.isna(table_value)
    return not pd.isna(table_value) and table_value == scalar_value


@given(rows=rows, rules=edited_rules())
def test_staffing_table_agrees_with_staffing_row_by_row(rows, rules):
    frame = pd.DataFrame(
        {
            "households": [h for h, _, _ in rows],
            "staff": pd.array([s for _, s, _ in rows], dtype="Int64"),
            "residents": pd.array([r for _, _, r in rows], dtype="Int64"),
        },
        index=[f"c{i}" for i in range(len(rows))][::-1],  # any index, kept in order
    )
    table = staffing_table(frame, rules=rules)
    assert list(table.index) == list(frame.index)
    for label, (h, staff, residents) in zip(frame.index, rows, strict=True):
        expected = staffing(h, staff=staff, residents=residents, rules=rules).as_dict()
        got = table.loc[label]
        for column in [
            "required_staff",
            "shortfall",
            "households_per_worker",
            "residents_per_worker",
            "funds_yuan",
            "service_space_m2",
            "min_grids",
            "max_grids",
        ]:
            assert _same(got[column], expected[column]), (
                label,
                column,
                got[column],
                expected[column],
            )


def test_staffing_table_without_staff_or_residents_columns():
    table = staffing_table(pd.DataFrame({"households": [0, 250, 251]}))
    assert table["required_staff"].tolist() == [0, 1, 2]
    assert table["shortfall"].isna().all()
    assert table["residents_per_worker"].isna().all()
    assert table["households_per_worker"].tolist()[1:] == [250.0, 125.5]
    assert np.isnan(table["households_per_worker"].iloc[0])


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"households": -1}, "households must be zero or more (it is -1)."),
        ({"households": math.nan}, "households must be zero or more (it is nan)."),
        ({"households": "9762"}, "households must be a whole number, not '9762'."),
        ({"households": True}, "households must be a whole number, not True."),
        ({"households": 10, "staff": -2}, "staff must be zero or more (it is -2)."),
        ({"households": 10, "residents": math.inf}, "residents must be zero or more (it is inf)."),
    ],
)
def test_bad_counts_are_rejected(kwargs, message):
    with pytest.raises(FieldError) as err:
        staffing(**kwargs)
    assert str(err.value) == message


def test_numpy_counts_are_accepted():
    s = staffing(np.int64(9_762), staff=np.int64(12), residents=np.float64(25_000))
    assert (s.households, s.staff, s.residents, s.shortfall) == (9_762, 12, 25_000, 28)
    assert type(s.households) is int
