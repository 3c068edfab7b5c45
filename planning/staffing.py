"""Staffing arithmetic: required workers, shortfall, ratios, funds, space and grid counts.

All figures follow the :class:`~planning.rules.RuleSet` passed in (Ningbo 2013 by
default: 1 worker per 250 households, 280,000 yuan per 1,000 households a year, 40 m²
per 100 households; Gaoping 2024: grids of 30–50 households).

Examples
--------
>>> from planning.rules import get_preset
>>> s = staffing(9_762, residents=25_000, staff=12, rules=get_preset())
>>> s.required_staff, s.shortfall, s.min_grids, s.max_grids
(40, 28, 196, 325)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from gis.errors import FieldError
from gis.fields import numeric_column
from gis.i18n import N_
from planning.rules import RuleSet, get_preset

__all__ = ["Staffing", "grid_count_range", "required_staff", "staffing", "staffing_table"]


@dataclass(frozen=True)
class Staffing:
    """One community's staffing figures (the ``gridplan staff`` output)."""

    households: int
    residents: int | None
    staff: int | None
    required_staff: int
    shortfall: int | None
    households_per_worker: float | None
    residents_per_worker: float | None
    funds_yuan: float
    service_space_m2: float
    min_grids: int
    max_grids: int

    def as_dict(self) -> dict[str, float | int | None]:
        """Return the figures as a plain dict (for JSON)."""
        return asdict(self)


def _check_count(value: float | int | None, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        msg = N_("{name} must be a whole number, not {value!r}.")
        raise FieldError(msg, name=name, value=value)
    if not math.isfinite(value) or value < 0:
        msg = N_("{name} must be zero or more (it is {value}).")
        raise FieldError(msg, name=name, value=value)


def required_staff(households: int, *, rules: RuleSet | None = None) -> int:
    """Return the number of community workers the rules require: ceil(households / per_worker).

    Examples
    --------
    >>> required_staff(250), required_staff(251), required_staff(0)
    (1, 2, 0)
    """
    rules = rules or get_preset()
    _check_count(households, "households")
    return math.ceil(households / rules.households_per_worker)


def grid_count_range(households: int, *, rules: RuleSet | None = None) -> tuple[int, int]:
    """Return the fewest and the most basic grids that ``households`` can be divided into.

    The fewest fills every grid to the maximum; the most keeps every grid at the minimum.
    A community smaller than one grid's minimum still needs one grid. Some counts cannot
    be divided within the band at all (51–59 households with grids of 30–50: one grid is
    too big, two are too small); then both numbers are the fewest grids that stay within
    the maximum, and those grids fall below the minimum.

    Examples
    --------
    >>> grid_count_range(1_000)
    (20, 33)
    >>> grid_count_range(20)
    (1, 1)
    >>> grid_count_range(55)
    (2, 2)
    """
    rules = rules or get_preset()
    if households <= 0:
        return (0, 0)
    fewest = math.ceil(households / rules.grid_max_households)
    most = max(1, households // rules.grid_min_households)
    return (fewest, max(fewest, most))


def staffing(
    households: int,
    *,
    residents: int | None = None,
    staff: int | None = None,
    rules: RuleSet | None = None,
) -> Staffing:
    """Compute the staffing figures for one community.

    Ratios are per actual worker when ``staff`` is known and positive, otherwise per
    required worker.
    """
    rules = rules or get_preset()
    _check_count(households, "households")
    _check_count(residents, "residents")
    _check_count(staff, "staff")
    households = int(households)
    required = required_staff(households, rules=rules)
    workers = staff if staff else required
    per_worker = round(households / workers, 1) if workers else None
    res_per_worker = round(residents / workers, 1) if workers and residents is not None else None
    fewest, most = grid_count_range(households, rules=rules)
    return Staffing(
        households=households,
        residents=None if residents is None else int(residents),
        staff=None if staff is None else int(staff),
        required_staff=required,
        shortfall=None if staff is None else max(0, required - int(staff)),
        households_per_worker=per_worker,
        residents_per_worker=res_per_worker,
        funds_yuan=round(households / 1000 * rules.funds_yuan_per_1000_households, 2),
        service_space_m2=round(households / 100 * rules.service_space_m2_per_100_households, 2),
        min_grids=fewest,
        max_grids=most,
    )


def staffing_table(communities: pd.DataFrame, *, rules: RuleSet | None = None) -> pd.DataFrame:
    """Add staffing columns to a table of communities (aligned to its index).

    ``communities`` needs ``households``; ``residents`` and ``staff`` are used when present.

    Examples
    --------
    >>> import pandas as pd
    >>> t = staffing_table(pd.DataFrame({"households": [4_000, 6_001], "staff": [10, 30]}))
    >>> t[["required_staff", "shortfall"]].to_dict("list")
    {'required_staff': [16, 25], 'shortfall': [6, 0]}
    """
    rules = rules or get_preset()
    households = pd.to_numeric(communities["households"]).fillna(0)
    required = np.ceil(households / rules.households_per_worker).astype(int)
    staff = numeric_column(communities, "staff")
    residents = numeric_column(communities, "residents")
    workers = staff.where(staff > 0, required).replace(0, np.nan)
    out = pd.DataFrame(index=communities.index)
    out["required_staff"] = required
    out["shortfall"] = (required - staff).clip(lower=0).astype("Int64")
    out["households_per_worker"] = _round(households / workers, 1)
    out["residents_per_worker"] = _round(residents / workers, 1)
    out["funds_yuan"] = _round(households / 1000 * rules.funds_yuan_per_1000_households, 2)
    space = households / 100 * rules.service_space_m2_per_100_households
    out["service_space_m2"] = _round(space, 2)
    out["min_grids"] = np.ceil(households / rules.grid_max_households).astype(int)
    out["max_grids"] = np.maximum(
        out["min_grids"],
        np.where(households > 0, np.maximum(1, households // rules.grid_min_households), 0),
    ).astype(int)
    return out


def _round(values: pd.Series, ndigits: int) -> pd.Series:
    """Round each value with :func:`round`, as :func:`staffing` does, keeping NaN.

    ``Series.round`` rounds ``x × 10ⁿ`` in binary, so 9,762 households ÷ 40 workers
    (244.05) came out as 244.0 in the table but 244.1 from :func:`staffing`.
    """
    return values.astype(float).map(lambda v: v if np.isnan(v) else round(v, ndigits))
