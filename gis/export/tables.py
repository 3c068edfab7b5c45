"""Tables as planners open them: CSV that Excel and WPS read without mangling codes.

Excel and WPS read a CSV cell of digits as a number: a 15-digit grid code turns into
``1.10108E+14`` and a 12-digit community code loses its leading zeros or shows in
scientific notation. :func:`csv_for_excel` writes such codes as ``="110108001001001"``,
which both read as text, and puts a byte-order mark first so the Chinese text opens as
UTF-8.

Examples
--------
>>> import io, pandas as pd
>>> data = csv_for_excel(pd.DataFrame({"grid_code": ["110108001001001"], "households": [40]}))
>>> pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str).iloc[0].tolist()
['="110108001001001"', '40']
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["LONG_DIGITS", "csv_for_excel"]

LONG_DIGITS = 11
"""Digit strings at least this long are written as text: Excel shows numbers of 12 digits
or more in scientific notation (and keeps only 15 significant digits), so 12-digit
community codes, 15-digit grid codes and 18-digit ID numbers all need it; an 11-digit
mobile number is kept whole too."""

_DIGITS = re.compile(r"^0\d*$|^\d{%d,}$" % LONG_DIGITS)


def _protect(value: object) -> object:
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        return f'="{value.strip()}"'
    return value


def csv_for_excel(frame: pd.DataFrame) -> bytes:
    """Return ``frame`` as UTF-8 CSV (with BOM) whose long or zero-led digit codes stay text.

    Only text cells are protected (a code read as text stays a code; a count stays a
    number), so sums still work on the numeric columns.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[column] = series.map(_protect)
    return out.to_csv(index=False).encode("utf-8-sig")
