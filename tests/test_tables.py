"""Tables read like a report (ui.tables): no "None"/"nan", thousands separators, codes as text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from ui.tables import MISSING, format_cell, report_view

_MISSING_WORDS = ("None", "nan", "NaN", "<NA>", "NaT")


def _shown(frame: pd.DataFrame, **kwargs: object) -> list[list[str]]:
    """The cells as the styler displays them."""
    styler = report_view(frame, **kwargs)
    translated = styler._translate(False, False)  # what st.dataframe sends as display values
    return [[cell["display_value"] for cell in row[1:]] for row in translated["body"]]


def test_missing_values_read_as_a_dash_and_numbers_with_separators():
    frame = pd.DataFrame(
        {
            "community_id": [110108001001.0, np.nan, 110108001003.0],
            "name": ["清华园社区", None, "nan"],
            "households": pd.array([9762, pd.NA, 1200], dtype="Int64"),
            "staff": [None, 3.0, 12.5],
            "year": [2026, 2027, 2028],
            "reasons": [["a", None], [], None],
        }
    )
    cells = _shown(frame)
    assert cells[0] == ["110108001001", "清华园社区", "9,762", MISSING, "2026", "a"]
    assert cells[1] == [MISSING, MISSING, MISSING, "3", "2027", MISSING]
    assert cells[2] == ["110108001003", MISSING, "1,200", "12.50", "2028", MISSING]


def test_headers_are_renamed_after_the_codes_are_found():
    frame = pd.DataFrame({"grid_code": [1101080010010001], "households": [45]})
    styler = report_view(frame, rename=lambda c: c.upper())
    assert list(styler.data.columns) == ["GRID_CODE", "HOUSEHOLDS"]
    assert styler.data["GRID_CODE"].tolist() == ["1101080010010001"]  # text, not 1.1e15
    assert styler.data["HOUSEHOLDS"].tolist() == [45]  # still a number: sorts as one


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=False),
            st.integers(min_value=-(10**12), max_value=10**12),
            st.sampled_from(["None", "nan", "NaN", "<NA>", "社区", ""]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_no_cell_ever_reads_none_or_nan(values):
    frame = pd.DataFrame({"value": pd.Series(values, dtype=object), "households": values})
    for row in _shown(frame):
        for text in row:
            assert text not in _MISSING_WORDS and "nan" not in text.lower().split(), text


@given(st.integers(min_value=1000, max_value=10**12))
def test_whole_numbers_have_thousands_separators(n):
    text = format_cell(n)
    assert int(text.replace(",", "")) == n
    groups = text.lstrip("-").split(",")
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_fractions_round_to_what_they_are(x):
    text = format_cell(x)
    assert math.isclose(float(text.replace(",", "")), x, abs_tol=0.051 if abs(x) >= 100 else 0.0051)


@given(
    st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9) | st.just(float("nan"))), min_size=1, max_size=12),
    st.sampled_from(["households", "staff", "year", "grid_code", "备注"]),
)
def test_no_cell_sent_to_the_browser_is_missing(values, column):
    """``st.dataframe`` draws a missing cell as "None" whatever the styler displays, so no
    cell of the frame under the table may be missing: a column with gaps is shown as its
    report text, a column without keeps its numbers (so it sorts by them)."""
    from ui.tables import prepare

    frame = pd.DataFrame({column: pd.Series(values, dtype=float)})
    view = prepare(frame)
    assert not view[column].isna().any()
    gaps = frame[column].isna()
    assert (view.loc[gaps, column] == MISSING).all()
    if not gaps.any() and column not in ("grid_code",):
        assert pd.api.types.is_float_dtype(view[column])


def test_a_change_that_rounds_to_nothing_has_no_sign():
    """Compare's change column read "-0.00" for a share that fell by 0.004."""
    assert [format_cell(v) for v in (-0.004, -0.0, 0.004, -0.006, -150.04)] == [
        "0.00", "0", "0.00", "-0.01", "-150.0"
    ]


def test_moments_read_as_date_and_time_in_the_planners_zone():
    """History, the review trail and the projects list showed '2026-12-02T19:39:50+00:00'."""
    frame = pd.DataFrame(
        {"version": [1, 2], "at": ["2026-12-02T11:39:50+00:00", None],
         "updated_at": ["2026-12-02T19:39:50+08:00", "2026-12-03T08:05:00+08:00"]}
    )
    cells = _shown(frame, tz="Asia/Shanghai")
    assert cells == [["1", "2026-12-02 19:39", "2026-12-02 19:39"],
                     ["2", MISSING, "2026-12-03 08:05"]]
    assert _shown(frame)[0][1] == "2026-12-02 11:39"  # no zone known: as stored
