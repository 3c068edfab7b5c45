"""Tables that read like a report: blanks as "—", thousands separators, codes as text.

Every table the app shows goes through :func:`report_view` (``ui.widgets.show_table`` calls
it). The data under the table keeps its types, so a column still sorts by number; only what
the planner reads is formatted (a pandas ``Styler``, which ``st.dataframe`` draws as is).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"community_id": [110108001001, None], "households": [9762, None],
...                       "staff": [None, 3.0], "share": [0.395, float("nan")]})
>>> view = prepare(frame)
>>> view["community_id"].tolist(), view["households"].tolist(), view["staff"].tolist()
(['110108001001', '—'], ['9,762', '—'], ['—', '3'])
>>> prepare(frame.dropna())["households"].dtype  # without gaps a column keeps its numbers
dtype('float64')
>>> format_cell(0.395), format_cell("None"), format_cell(2026, plain=True), format_cell(-0.004)
('0.40', '—', '2026', '0.00')
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

import pandas as pd
from pandas.io.formats.style import Styler

__all__ = [
    "MISSING",
    "format_cell",
    "format_time",
    "is_code_column",
    "is_plain_column",
    "is_time_column",
    "prepare",
    "report_view",
]

#: What a missing value reads as.
MISSING = "—"

# Strings that are a missing value written out by some earlier ``str()``.
_MISSING_TEXT = frozenset({"", "none", "nan", "nat", "<na>", "null"})

# Columns holding codes (community, grid, building, patch …): shown as text, never "1.1e+11"
# or "110,108,001,001".
_CODE_NAMES = frozenset({"code", "id", "grid", "patch", "building", "phone", "tel"})
_CODE_SUFFIXES = ("_id", "_code", "_phone", "_tel", "编码", "代码", "编号", "电话")
# Whole numbers that are not quantities: no thousands separator (2026, not 2,026).
_PLAIN_WORDS = ("year", "version", "rank", "part", "floor", "unit", "zone", "epsg", "年")


def is_code_column(name: object) -> bool:
    """Whether a column holds codes (shown as text).

    >>> is_code_column("grid_code"), is_code_column("households")
    (True, False)
    """
    text = str(name).lower()
    return text in _CODE_NAMES or text.endswith(_CODE_SUFFIXES)


def is_plain_column(name: object) -> bool:
    """Whether a column's whole numbers are labels (years, versions, ranks): no separators.

    >>> is_plain_column("year"), is_plain_column("households")
    (True, False)
    """
    text = str(name).lower()
    return any(word in text for word in _PLAIN_WORDS)


def is_time_column(name: object) -> bool:
    """Whether a column holds moments (``at``, ``updated_at``): shown as "2026-12-02 19:39".

    >>> is_time_column("updated_at"), is_time_column("households")
    (True, False)
    """
    text = str(name).lower()
    return text == "at" or text.endswith("_at")


def format_time(value: object, tz: str | None = None) -> str:
    """A stored moment (ISO 8601 text or a timestamp) as a report shows it: date, hours and
    minutes, in ``tz`` (the planner's browser's time zone) when given, else as stored.

    >>> format_time("2026-12-02T11:39:50+00:00", "Asia/Shanghai")
    '2026-12-02 19:39'
    >>> format_time("2026-12-02T19:39:50+08:00"), format_time(None), format_time("soon")
    ('2026-12-02 19:39', '—', 'soon')
    """
    if _missing(value):
        return MISSING
    try:
        moment = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return str(value)
    if tz and moment.tzinfo is not None:
        try:
            moment = moment.tz_convert(tz)
        except (ValueError, TypeError, KeyError):
            pass  # an unknown zone name: as stored
    return moment.strftime("%Y-%m-%d %H:%M")


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip().lower() in _MISSING_TEXT
    try:
        return bool(pd.isna(value)) if not isinstance(value, Iterable) else False
    except (TypeError, ValueError):
        return False


def _code_text(value: object) -> object:
    """A code as text: 110108001001.0 → "110108001001"; missing stays missing."""
    if _missing(value):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        as_float = float(value)
        if as_float.is_integer():
            return str(int(as_float))
    return str(value)


def format_cell(value: object, *, plain: bool = False) -> str:
    """One cell as a report prints it.

    Parameters
    ----------
    value
        The cell.
    plain
        Whole numbers without a thousands separator (years, versions, ranks).

    Returns
    -------
    str
        ``"—"`` for a missing value (``None``, NaN, ``pd.NA``, or the text "None"/"nan");
        numbers with thousands separators, whole numbers without decimals, other numbers
        with two decimals (one from 100 up); lists joined by "; "; anything else as text.
    """
    if isinstance(value, list | tuple | set):
        parts = [format_cell(v, plain=plain) for v in value if not _missing(v)]
        return "; ".join(parts) if parts else MISSING
    if _missing(value):
        return MISSING
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, numbers.Integral):
        return str(int(value)) if plain else f"{int(value):,}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isinf(number):
            return "∞" if number > 0 else "-∞"
        if number.is_integer():
            return str(int(number)) if plain else f"{int(number):,}"
        text = f"{number:,.1f}" if abs(number) >= 100 else f"{number:,.2f}"
        return text.lstrip("-") if text.strip("-0.,") == "" else text  # -0.004 → "0.00"
    return str(value)


def prepare(frame: pd.DataFrame, *, tz: str | None = None) -> pd.DataFrame:
    """A copy of ``frame`` for display: no geometry, codes as text, lists joined.

    Numbers keep their type (so the table still sorts by them); codes are turned into
    text, because a code is a name, not a quantity, and so is a column with gaps, because
    ``st.dataframe`` draws a missing cell as "None" whatever the styler says.
    """
    view = pd.DataFrame(frame.drop(columns=[c for c in ("geometry",) if c in frame.columns]))
    view = view.copy()
    for column in view.columns:
        series = view[column]
        if is_time_column(column):
            texts = [format_time(v, tz) for v in series]
            view[column] = pd.Series(texts, index=series.index, dtype=object)
        elif is_code_column(column):
            texts = [MISSING if _missing(v) else _code_text(v) for v in series]
            view[column] = pd.Series(texts, index=series.index, dtype=object)
        elif series.dtype == object and series.map(lambda v: isinstance(v, list | tuple | set)).any():
            view[column] = series.map(format_cell).astype(object)
        elif series.map(_missing).any():
            # st.dataframe draws a missing cell as "None" whatever a styler says: a column
            # with gaps is shown as its report text (it then sorts as text)
            plain = is_plain_column(column)
            view[column] = series.map(lambda v, _p=plain: format_cell(v, plain=_p)).astype(object)
    return view


def report_view(
    frame: pd.DataFrame, *, rename: Callable[[str], str] | None = None, tz: str | None = None
) -> Styler:
    """``frame`` ready for ``st.dataframe``: the data kept, every cell shown as a report shows it.

    Parameters
    ----------
    frame
        The table, with the contract's column names (they decide which columns are codes).
    rename
        Turns a column name into its header (``ui.widgets.column_label``); applied after the
        codes are found.
    tz
        The planner's time zone (``Asia/Shanghai``), for the moments in ``at`` columns.
    """
    view = prepare(frame, tz=tz)
    plain = [is_plain_column(c) for c in view.columns]
    if rename is not None:
        view.columns = [rename(str(c)) for c in view.columns]
    if not view.index.is_unique:
        view = view.reset_index(drop=True)
    styler = view.style
    if not view.columns.is_unique:  # a header translated twice alike: one format for all
        return styler.format(format_cell, na_rep=MISSING)
    for column, flag in zip(view.columns, plain, strict=True):
        styler = styler.format(
            lambda v, _plain=flag: format_cell(v, plain=_plain), subset=[column], na_rep=MISSING
        )
    return styler
