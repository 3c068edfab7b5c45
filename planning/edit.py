"""Hand edits of a grid plan: move buildings or tower pieces, merge, split, lock, assign.

No engine's first answer is the plan a street office signs: planners know which gate a
building's residents use and which units of a tower belong across the lane. Each edit here
is a pure function on a :class:`GridPlan` (the ``grids`` layer and ``grid_members`` table of
a plan, with the buildings and communities they were made from) that returns the new plan
and a :class:`Change` recording what changed (enough to undo it). Every edit

- keeps the grids tiling their community exactly (land only moves between the grids an edit
  touches, cut out of one and added to the other);
- conserves households (member rows are moved or divided, never created);
- keeps each grid one piece: an edit that would break a grid, or give a grid land it does
  not touch, is refused with a message naming the building and the grid;
- leaves the codes, shapes and attributes of the grids it does not touch unchanged;
- refuses to touch a locked grid (lock it to keep it through edits and re-runs).

:func:`regrid` runs the grid engine again around the locked grids: they stay as they are,
grids that barely change keep their codes, new ones are numbered after the highest code,
and a crosswalk (``old_code``, ``new_code``, ``overlap_share``) says which is which.

Territory without households follows its buildings: a grid's land is divided among its
buildings by a Voronoi tessellation of their footprints (the engine's enclosed
tessellation, limited to the grid), and a building moves with its share of the land. A
piece of a tower (a unit, or a floor range of a unit) moves with an equal-area share of the
tower's land when the target grid holds nothing of that tower yet; otherwise the floors
stack and the land stays where it is.

Refusals are :class:`EditRefusedError` (a :class:`gis.errors.GridplanError`) with the message
in English (``str(err)``) and in the planner's language (``err.render("zh_CN")``).

Examples
--------
>>> from gis.datasets.synthetic import make_district
>>> from planning.grids import make_grids
>>> layers = make_district(1_500, seed=2)
>>> result = make_grids(layers["buildings"], communities=layers["communities"],
...                     roads=layers["roads"], compounds=layers["compounds"])
>>> plan = GridPlan.from_result(result, buildings=layers["buildings"],
...                             communities=layers["communities"])
>>> a, b = sorted(plan.grids["grid_code"])[:2]
>>> merged, change = merge(plan, a, b)
>>> change.removed == (b,) and len(merged.grids) == len(plan.grids) - 1
True
>>> int(merged.grids["households"].sum()) == int(plan.grids["households"].sum())
True
>>> bool((undo(merged, change).grids["grid_code"] == plan.grids["grid_code"]).all())
True
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity

from gis.crs import STORAGE_CRS
from gis.errors import InfeasibleError
from gis.i18n import N_, translator
from planning.partition import components, exactly_k, partition, rook_neighbours
from planning.rules import RuleSet, get_preset
from planning.territory import split_equal_area

__all__ = [
    "DETAIL_COLUMNS",
    "Change",
    "EditRefusedError",
    "GridPlan",
    "Piece",
    "Rerun",
    "assign",
    "lock",
    "merge",
    "move",
    "patch_text",
    "redo",
    "refresh_patches",
    "regrid",
    "rerun",
    "split",
    "undo",
]

DETAIL_COLUMNS: tuple[str, ...] = ("name", "worker", "phone", "note")
"""The grid attributes a planner writes by hand (:func:`assign`)."""

Row = dict[str, Any]
"""A row of the grids layer or of the members table, as a plain dict."""

MEMBER_COLUMNS: list[str] = [
    "grid_code",
    "building_id",
    "unit_from",
    "unit_to",
    "floor_from",
    "floor_to",
    "households",
]

_SEGMENT_M = 2.0  # footprints seed the tessellation by a vertex every this many metres
_SHRINK_M = 0.4  # footprints shrunk this much first, so touching buildings seed apart (momepy)
_TOUCH_M = 0.5  # two areas touch when they share this much boundary (rook, as the engine)
_SLIVER_M2 = 0.01  # a part this small left by floating-point overlay is a sliver, not a piece
_M_PER_DEG = 111_320.0  # metres per degree of latitude (about); only for tolerances
_GRID_DEG = 1e-10  # edited grids are snap-rounded to this (about 0.01 mm): an overlay in floating
# point leaves near-coincident vertices that turn invalid once projected to metres


class EditRefusedError(InfeasibleError):
    """A hand edit that cannot hold; the plan is unchanged."""


def _refuse_geometry_failures(edit: Any) -> Any:
    """Turn a GEOS failure on a degenerate shape into a refusal (the plan is unchanged)."""

    @functools.wraps(edit)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return edit(*args, **kwargs)
        except shapely.errors.GEOSException as err:
            msg = N_(
                "The shapes of these grids could not be cut ({error}). The plan is unchanged; "
                "try the edit on a neighbouring grid, or repair the grid's shape in your GIS."
            )
            raise EditRefusedError(msg, error=str(err).split(" at ")[0]) from err

    return guarded


# --------------------------------------------------------------------------------------
# the plan and the record of a change
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridPlan:
    """A grid plan being edited: grids, their members, and what they were made from.

    Attributes
    ----------
    grids
        The ``grids`` layer (SCHEMA.md) in EPSG:4490, with ``locked`` and the detail
        columns (:data:`DETAIL_COLUMNS`) added when missing.
    grid_members
        ``grid_code``, ``building_id``, ``unit_from``, ``unit_to``, ``floor_from``,
        ``floor_to``, ``households``.
    buildings
        Buildings with ``building_id``, ``households`` (and ``residents``,
        ``special_service_households``, ``units``, ``floors`` when known).
    communities
        Community polygons (for audits); optional.
    rules
        The band and the special-service weight the grids are judged by.
    """

    grids: gpd.GeoDataFrame
    grid_members: pd.DataFrame
    buildings: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None = None
    rules: RuleSet = field(default_factory=get_preset)

    def __post_init__(self) -> None:
        grids = self.grids
        if grids.crs is None:
            grids = grids.set_crs(STORAGE_CRS)
        elif grids.crs != STORAGE_CRS:
            grids = grids.to_crs(STORAGE_CRS)
        missing = [c for c in ("locked", *DETAIL_COLUMNS) if c not in grids]
        if missing or grids is not self.grids:
            grids = grids.copy()
            if "locked" not in grids:
                grids["locked"] = False
            for column in DETAIL_COLUMNS:
                if column not in grids:
                    grids[column] = ""
            object.__setattr__(self, "grids", grids)
        buildings = self.buildings
        if buildings.crs is not None and buildings.crs != STORAGE_CRS:
            buildings = buildings.to_crs(STORAGE_CRS)
        if "building_id" in buildings and buildings["building_id"].dtype != object:
            buildings = buildings.assign(building_id=buildings["building_id"].astype(str))
        object.__setattr__(self, "buildings", buildings)
        if not isinstance(self.grid_members.index, pd.RangeIndex) or (
            len(self.grid_members) and self.grid_members.index[0] != 0
        ):
            object.__setattr__(self, "grid_members", self.grid_members.reset_index(drop=True))

    @classmethod
    def from_result(
        cls,
        result: Any,
        *,
        buildings: gpd.GeoDataFrame,
        communities: gpd.GeoDataFrame | None = None,
        rules: RuleSet | None = None,
    ) -> GridPlan:
        """The plan of a :class:`planning.grids.GridResult` (or anything with ``grids``
        and ``grid_members``)."""
        return cls(
            grids=result.grids,
            grid_members=result.grid_members,
            buildings=buildings,
            communities=communities,
            rules=rules or get_preset(),
        )

    @cached_property
    def _footprints(self) -> dict[str, shapely.Geometry]:
        ids = self.buildings["building_id"].astype(str).tolist()
        return dict(zip(ids, self.buildings.geometry.values, strict=True))

    @cached_property
    def _units(self) -> dict[str, int | None]:
        ids = self.buildings["building_id"].astype(str).tolist()
        if "units" not in self.buildings:
            return {}
        return {b: _int(u) for b, u in zip(ids, self.buildings["units"].tolist(), strict=True)}

    @cached_property
    def _building_stats(self) -> dict[str, tuple[float, float, float]]:
        frame = self.buildings

        def column(name: str) -> np.ndarray:
            if name not in frame:
                return np.zeros(len(frame))
            return np.nan_to_num(pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float))

        ids = frame["building_id"].astype(str).tolist()
        return dict(
            zip(
                ids,
                zip(
                    column("households").tolist(),
                    column("residents").tolist(),
                    column("special_service_households").tolist(),
                    strict=True,
                ),
                strict=True,
            )
        )

    @cached_property
    def _schema(self) -> _Schema:
        return _Schema.of(self)

    @cached_property
    def _records(self) -> list[dict[str, Any]]:
        return self.grids.to_dict("records")

    @cached_property
    def _grid_position(self) -> dict[str, int]:
        return {str(c): i for i, c in enumerate(self.grids["grid_code"])}

    @cached_property
    def _member_positions(self) -> dict[str, np.ndarray]:
        return _positions(self._member_records, "grid_code")

    @cached_property
    def _building_positions(self) -> dict[str, np.ndarray]:
        return _positions(self._member_records, "building_id")

    @property
    def _geometry(self) -> str:
        return self._schema.geometry  # (grids.geometry makes a GeoSeries each time)

    def _row(self, code: str) -> dict[str, Any]:
        position = self._grid_position.get(str(code))
        if position is None:
            msg = N_("There is no grid {code} in this plan. Check the code (15 digits).")
            raise EditRefusedError(msg, code=code)
        return dict(self._records[position])

    @cached_property
    def _member_records(self) -> list[dict[str, Any]]:
        return self.grid_members.to_dict("records")

    def _rows_of(self, code: str) -> list[dict[str, Any]]:
        records = self._member_records
        return [dict(records[i]) for i in self._member_positions.get(str(code), ())]

    def grid(self, code: str) -> pd.Series:
        """The row of grid ``code`` (refused with a message when there is none)."""
        return pd.Series(self._row(code))

    def members_of(self, code: str) -> pd.DataFrame:
        """The member rows of grid ``code``."""
        positions = self._member_positions.get(str(code), np.zeros(0, dtype=int))
        return self.grid_members.iloc[positions]


def _positions(records: Sequence[Row], column: str) -> dict[str, np.ndarray]:
    """Row positions of each value of ``column`` (as text)."""
    out: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        out.setdefault(str(record[column]), []).append(i)
    return {key: np.array(value, dtype=int) for key, value in out.items()}


_CARRIED = ("_footprints", "_units", "_building_stats", "_schema")
"""Caches of what an edit never changes (the buildings, the columns), carried to the edited plan."""


def _derive(
    plan: GridPlan, records: list[Row], member_records: list[Row]
) -> GridPlan:
    """The plan with these grid and member rows (grids sorted by code), built incrementally.

    The frames are made column by column from the rows in the dtypes of ``plan``'s (no
    concatenation, no sort of the frames), the fields are not normalised again (they came
    from a normalised plan), and the rows and the caches of the buildings are carried over,
    so the next edit starts without converting the frames back to rows.
    """
    schema = plan._schema
    grids = schema.grids(records)
    members = schema.members(member_records)
    new = object.__new__(GridPlan)
    for name, value in (
        ("grids", grids),
        ("grid_members", members),
        ("buildings", plan.buildings),
        ("communities", plan.communities),
        ("rules", plan.rules),
    ):
        object.__setattr__(new, name, value)
    cache = new.__dict__
    for name in _CARRIED:
        if name in plan.__dict__:
            cache[name] = plan.__dict__[name]
    cache["_records"] = records
    cache["_member_records"] = member_records
    return new


def _frame(
    records: Sequence[Row],
    dtypes: Sequence[tuple[str, Any]],
    *,
    geometry: str | None = None,
    crs: Any = None,
) -> Any:
    """A frame of ``records`` with these columns and dtypes (a GeoDataFrame with ``geometry``)."""
    data: dict[str, Any] = {}
    for column, dtype in dtypes:
        values = [record.get(column) for record in records]
        if column == geometry:
            data[column] = gpd.array.from_shapely(values, crs=crs)
            continue
        try:
            if isinstance(dtype, np.dtype):
                data[column] = np.asarray(values, dtype=dtype)
            else:
                data[column] = pd.array(values, dtype=dtype)
        except (TypeError, ValueError):
            data[column] = pd.array(values) if values else np.asarray(values, dtype=object)
    if geometry is None:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=geometry)


def _replace_rows(
    plan: GridPlan, codes: Iterable[str], rows: Sequence[Row], members: Sequence[Row]
) -> tuple[GridPlan, list[Row], list[Row]]:
    """The plan with grids ``codes`` (and their members) replaced by ``rows`` and ``members``;
    also the rows and members replaced."""
    code_set = {str(c) for c in codes}
    out_positions = {plan._grid_position[c] for c in code_set if c in plan._grid_position}
    records = plan._records
    gone = [records[i] for i in sorted(out_positions)]
    kept = [r for i, r in enumerate(records) if i not in out_positions]
    fresh = [dict(r) for r in rows]
    merged = sorted(kept + fresh, key=lambda r: str(r["grid_code"]))
    member_records = plan._member_records
    out_members: set[int] = set()
    for c in code_set:
        out_members.update(int(i) for i in plan._member_positions.get(c, ()))
    gone_members = [member_records[i] for i in sorted(out_members)]
    kept_members = [m for i, m in enumerate(member_records) if i not in out_members]
    new_members = [
        {column: m.get(column) for column in plan.grid_members.columns} for m in members
    ]
    return _derive(plan, merged, kept_members + new_members), gone, gone_members


@dataclass(frozen=True)
class _Schema:
    """The columns and dtypes of a plan's grids and members (to rebuild frames of rows)."""

    grid_dtypes: tuple[tuple[str, Any], ...]
    member_dtypes: tuple[tuple[str, Any], ...]
    geometry: str
    crs: Any

    @classmethod
    def of(cls, plan: GridPlan) -> _Schema:
        return cls(
            tuple(plan.grids.dtypes.items()),
            tuple(plan.grid_members.dtypes.items()),
            str(plan.grids.geometry.name),
            plan.grids.crs,
        )

    def grids(self, records: Sequence[Row]) -> gpd.GeoDataFrame:
        return _frame(records, self.grid_dtypes, geometry=self.geometry, crs=self.crs)

    def members(self, records: Sequence[Row]) -> pd.DataFrame:
        return _frame(records, self.member_dtypes)


@dataclass(frozen=True)
class Change:
    """What one edit changed: enough to describe it, save it and undo it.

    Attributes
    ----------
    action
        ``move``, ``merge``, ``split``, ``lock``, ``unlock`` or ``assign``.
    codes
        The grids the edit touched, before and after (sorted).
    removed, added
        Grid codes that disappeared, and codes that are new.
    buildings
        Buildings (or tower pieces, ``B:unit:floors``) moved.
    households
        Households that changed grid.
    rows_before, rows_after
        The touched rows of the ``grids`` layer before and after, as dicts
        (:attr:`grids_before`, :attr:`grids_after` as frames).
    member_rows_before, member_rows_after
        The member rows of the touched grids before and after
        (:attr:`members_before`, :attr:`members_after` as frames).
    """

    action: str
    codes: tuple[str, ...]
    removed: tuple[str, ...]
    added: tuple[str, ...]
    buildings: tuple[str, ...]
    households: int
    rows_before: tuple[Row, ...]
    rows_after: tuple[Row, ...]
    member_rows_before: tuple[Row, ...]
    member_rows_after: tuple[Row, ...]
    schema: _Schema = field(repr=False, compare=False)

    @classmethod
    def of_frames(
        cls,
        *,
        action: str,
        codes: Sequence[str],
        removed: Sequence[str],
        added: Sequence[str],
        grids_before: gpd.GeoDataFrame,
        grids_after: gpd.GeoDataFrame,
        members_before: pd.DataFrame,
        members_after: pd.DataFrame,
        buildings: Sequence[str] = (),
        households: int = 0,
    ) -> Change:
        """A change described by frames of the rows before and after (a re-run, say)."""
        schema = _Schema(
            tuple(grids_after.dtypes.items()),
            tuple(members_after.dtypes.items()),
            str(grids_after.geometry.name),
            grids_after.crs,
        )
        return cls(
            action=action,
            codes=tuple(codes),
            removed=tuple(removed),
            added=tuple(added),
            buildings=tuple(buildings),
            households=int(households),
            rows_before=tuple(grids_before.to_dict("records")),
            rows_after=tuple(grids_after.to_dict("records")),
            member_rows_before=tuple(members_before.to_dict("records")),
            member_rows_after=tuple(members_after.to_dict("records")),
            schema=schema,
        )

    @cached_property
    def grids_before(self) -> gpd.GeoDataFrame:
        """The touched rows of the ``grids`` layer before the edit."""
        return self.schema.grids(self.rows_before)

    @cached_property
    def grids_after(self) -> gpd.GeoDataFrame:
        """The touched rows of the ``grids`` layer after the edit."""
        return self.schema.grids(self.rows_after)

    @cached_property
    def members_before(self) -> pd.DataFrame:
        """The member rows of the touched grids before the edit."""
        return self.schema.members(self.member_rows_before)

    @cached_property
    def members_after(self) -> pd.DataFrame:
        """The member rows of the touched grids after the edit."""
        return self.schema.members(self.member_rows_after)

    def describe(self, lang: str | None = None) -> str:
        """One line saying what the edit did, in ``lang`` (zh-CN by default)."""
        tr = translator(lang).gettext
        after = ", ".join(f"{r['grid_code']} ({int(r['households'])})" for r in self.rows_after)
        if self.action == "move":
            text = tr(N_("Moved {what} ({n} households); now {after}."))
            return text.format(what=", ".join(self.buildings), n=self.households, after=after)
        if self.action == "merge":
            return tr(N_("Merged {codes} into {after}.")).format(
                codes=" + ".join(self.codes), after=after
            )
        if self.action == "split":
            return tr(N_("Split {code} into {after}.")).format(
                code=self.rows_before[0]["grid_code"], after=after
            )
        if self.action in ("lock", "unlock"):
            msgid = N_("Locked {codes}.") if self.action == "lock" else N_("Unlocked {codes}.")
            return tr(msgid).format(codes=", ".join(self.codes))
        if self.action == "regrid":
            msgid = N_("Grids made again around the locked ones: {changed} changed, {new} new codes.")
            return tr(msgid).format(changed=len(self.rows_after), new=len(self.added))
        return tr(N_("Changed the details of {codes}.")).format(codes=", ".join(self.codes))


def undo(plan: GridPlan, change: Change) -> GridPlan:
    """The plan as it was before ``change`` (which must be the last change applied to it)."""
    return _swap(plan, change.rows_after, change.rows_before, change.member_rows_before, change.codes)


def redo(plan: GridPlan, change: Change) -> GridPlan:
    """Apply ``change`` again to the plan it was undone on."""
    return _swap(plan, change.rows_before, change.rows_after, change.member_rows_after, change.codes)


def _swap(
    plan: GridPlan,
    out_rows: Sequence[Row],
    in_rows: Sequence[Row],
    in_members: Sequence[Row],
    codes: Sequence[str],
) -> GridPlan:
    differ = []
    geometry = plan._geometry
    for row in out_rows:
        code = str(row["grid_code"])
        position = plan._grid_position.get(code)
        now = plan._records[position] if position is not None else None
        if (
            now is None
            or int(now["households"]) != int(row["households"])
            or not shapely.equals_exact(now[geometry], row[geometry], 0)
        ):
            differ.append(code)
    if differ:
        msg = N_(
            "This change cannot be undone here: grids {codes} are not in the plan as the change "
            "left them. Undo the later changes first."
        )
        raise EditRefusedError(msg, codes=", ".join(sorted(differ)))
    new, _, _ = _replace_rows(plan, codes, in_rows, in_members)
    return new


# --------------------------------------------------------------------------------------
# pieces of buildings
# --------------------------------------------------------------------------------------
_PIECE = re.compile(r"^(?P<b>[^:]+)(?::(?P<u>\d+(?:-\d+)?)(?::(?P<f>\d+(?:-\d+)?))?)?$")


@dataclass(frozen=True)
class Piece:
    """A building, or a piece of a tower: a unit range and optionally a floor range.

    Examples
    --------
    >>> Piece.parse("B000012:2:5-10")
    Piece(building_id='B000012', unit_from=2, unit_to=2, floor_from=5, floor_to=10)
    >>> str(Piece.parse("B7"))
    'B7'
    """

    building_id: str
    unit_from: int | None = None
    unit_to: int | None = None
    floor_from: int | None = None
    floor_to: int | None = None

    @classmethod
    def parse(cls, text: str) -> Piece:
        """``ID``, ``ID:unit``, ``ID:unit_from-unit_to`` or ``ID:unit:floor_from-floor_to``."""
        match = _PIECE.match(str(text).strip())
        if not match:
            msg = N_(
                "{text} is not a building or a piece of one. Write a building id (B12), a unit "
                "(B12:2) or a unit and floor range (B12:2:5-10)."
            )
            raise EditRefusedError(msg, text=text)

        def span(value: str | None) -> tuple[int | None, int | None]:
            if value is None:
                return None, None
            lo, _, hi = value.partition("-")
            return int(lo), int(hi or lo)

        u0, u1 = span(match["u"])
        f0, f1 = span(match["f"])
        if (u0 is not None and u1 is not None and u1 < u0) or (
            f0 is not None and f1 is not None and f1 < f0
        ):
            msg = N_("{text}: a range must run from low to high (2-3, not 3-2).")
            raise EditRefusedError(msg, text=text)
        return cls(match["b"], u0, u1, f0, f1)

    @property
    def whole(self) -> bool:
        """Whether this is a whole building."""
        return self.unit_from is None and self.floor_from is None

    def __str__(self) -> str:
        text = self.building_id
        if self.unit_from is not None:
            text += f":{self.unit_from}" + (
                f"-{self.unit_to}" if self.unit_to != self.unit_from else ""
            )
        if self.floor_from is not None:
            text += f":{self.floor_from}-{self.floor_to}"
        return text


def _int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer in proportion to weights (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        w = np.ones(len(w))
    raw = total * w / w.sum()
    base = np.floor(raw).astype(int)
    order = np.argsort(-(raw - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base.tolist()


def _cut_row(row: Mapping[str, Any], piece: Piece) -> tuple[dict | None, list[dict]]:
    """Divide a member row by ``piece``: the part inside it (or None) and the rest."""
    whole = dict(row)
    if piece.whole:
        return whole, []
    u0, u1 = _int(row["unit_from"]), _int(row["unit_to"])
    f0, f1 = _int(row["floor_from"]), _int(row["floor_to"])
    if u0 is None or u1 is None:
        msg = N_(
            "Building {building} has no unit numbers in the plan, so unit {unit} cannot be "
            "found. Move the building whole."
        )
        raise EditRefusedError(msg, building=piece.building_id, unit=piece.unit_from)
    pu0 = piece.unit_from if piece.unit_from is not None else u0
    pu1 = piece.unit_to if piece.unit_to is not None else u1
    iu0, iu1 = max(u0, pu0), min(u1, pu1)
    if iu0 > iu1:
        return None, [whole]
    if piece.floor_from is not None and (f0 is None or f1 is None):
        msg = N_(
            "Building {building} has no floor numbers in the plan, so floors {floors} cannot "
            "be found. Move whole units instead."
        )
        raise EditRefusedError(
            msg, building=piece.building_id, floors=f"{piece.floor_from}-{piece.floor_to}"
        )
    if f0 is None or f1 is None or piece.floor_from is None:
        if0, if1 = f0, f1
    else:
        if0, if1 = max(f0, piece.floor_from), min(f1, piece.floor_to or f1)
        if if0 > if1:
            return None, [whole]
    boxes = [(iu0, iu1, if0, if1)]  # the part inside first
    if u0 < iu0:
        boxes.append((u0, iu0 - 1, f0, f1))
    if iu1 < u1:
        boxes.append((iu1 + 1, u1, f0, f1))
    if f0 is not None and if0 is not None and f0 < if0:
        boxes.append((iu0, iu1, f0, if0 - 1))
    if f1 is not None and if1 is not None and if1 < f1:
        boxes.append((iu0, iu1, if1 + 1, f1))
    if len(boxes) == 1:
        return whole, []
    sizes = [
        (b[1] - b[0] + 1) * ((b[3] - b[2] + 1) if b[2] is not None and b[3] is not None else 1)
        for b in boxes
    ]
    counts = _apportion(int(row["households"]), sizes)
    rows = [
        {
            **whole,
            "unit_from": b[0],
            "unit_to": b[1],
            "floor_from": b[2],
            "floor_to": b[3],
            "households": n,
        }
        for b, n in zip(boxes, counts, strict=True)
    ]
    inside = rows[0] if rows[0]["households"] > 0 else None
    return inside, [r for r in rows[1:] if r["households"] > 0]


# --------------------------------------------------------------------------------------
# geometry helpers: a local metric frame, cells of buildings inside a grid
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    """An affine map from degrees to local metres (for tessellating and measuring only).

    Cells are computed in metres and mapped back; the land an edit moves is always cut out
    of the grid's own polygon in degrees, so untouched edges keep their exact coordinates.
    """

    x0: float
    y0: float
    kx: float
    ky: float

    @classmethod
    def around(cls, geom: shapely.Geometry) -> _Frame:
        minx, miny, maxx, maxy = geom.bounds
        lat = math.radians((miny + maxy) / 2)
        return cls(minx, miny, _M_PER_DEG * math.cos(lat), _M_PER_DEG)

    def to_m(self, geom: Any) -> Any:
        return shapely.transform(
            geom, lambda c: np.column_stack([(c[:, 0] - self.x0) * self.kx, (c[:, 1] - self.y0) * self.ky])
        )

    def to_deg(self, geom: Any) -> Any:
        return shapely.transform(
            geom, lambda c: np.column_stack([c[:, 0] / self.kx + self.x0, c[:, 1] / self.ky + self.y0])
        )

    def length_m(self, geom: shapely.Geometry) -> float:
        return float(shapely.length(self.to_m(geom)))

    def area_m2(self, geom: shapely.Geometry) -> float:
        return float(shapely.area(self.to_m(geom)))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of an overlay result (lines and points it left dropped)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = shapely.get_parts(geom)
    while (nested := shapely.get_type_id(parts) == 7).any():
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    parts = shapely.get_parts(parts)
    polys = parts[shapely.get_type_id(parts) == 3]
    return shapely.union_all(polys) if len(polys) else shapely.Polygon()


def _pieces(geom: shapely.Geometry, frame: _Frame) -> list[shapely.Geometry]:
    """The parts of a polygonal geometry larger than a floating-point sliver."""
    parts = shapely.get_parts(_polygonal(geom))
    return [p for p in parts if frame.area_m2(p) > _SLIVER_M2]


def _difference(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    return _overlay(shapely.difference, a, b)


def _union(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    return _overlay(shapely.union, a, b)


def _intersection(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """The polygons two areas share (on repaired inputs where GEOS fails)."""
    try:
        return _polygonal(shapely.intersection(a, b))
    except shapely.errors.GEOSException:
        return _polygonal(shapely.intersection(shapely.make_valid(a), shapely.make_valid(b)))


def _overlay(op: Any, a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """``op`` snap-rounded to :data:`_GRID_DEG`; in floating point where snap-rounding fails
    (GEOS can miss a ring edge), then on repaired inputs."""
    a, b = _polygonal(a), _polygonal(b)
    try:
        return _clean(op(a, b, grid_size=_GRID_DEG))
    except shapely.errors.GEOSException:
        pass
    try:
        return _clean(op(a, b))
    except shapely.errors.GEOSException:
        return _clean(op(_polygonal(shapely.make_valid(a)), _polygonal(shapely.make_valid(b))))


def _clean(geom: shapely.Geometry) -> shapely.Geometry:
    """An overlay's polygons, valid."""
    geom = _polygonal(geom)
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    return _polygonal(geom)


def _divide(
    total: shapely.Geometry, part: shapely.Geometry, frame: _Frame
) -> tuple[shapely.Geometry, shapely.Geometry] | None:
    """``part`` and the rest of ``total``, each one polygon, tiling ``total``; or None.

    Floating-point overlay can leave slivers as separate parts: a sliver of the rest joins
    ``part`` and a sliver of ``part`` joins the rest, so no land is lost.
    """
    rest = _difference(total, part)
    rest_parts = shapely.get_parts(_polygonal(rest))
    small = np.array([frame.area_m2(p) <= _SLIVER_M2 for p in rest_parts], dtype=bool)
    if small.any():
        part = _union(part, shapely.union_all(rest_parts[small]))
        rest = shapely.union_all(rest_parts[~small]) if (~small).any() else shapely.Polygon()
    part_parts = shapely.get_parts(_polygonal(part))
    if len(part_parts) > 1:
        small = np.array([frame.area_m2(p) <= _SLIVER_M2 for p in part_parts], dtype=bool)
        if small.any() and (~small).any() and not rest.is_empty:
            rest = _union(rest, shapely.union_all(part_parts[small]))
            part = shapely.union_all(part_parts[~small])
    one, two = _one_piece(part, frame), _one_piece(rest, frame)
    if one is None or two is None:
        return None
    return one, two


def _one_piece(geom: shapely.Geometry, frame: _Frame) -> shapely.Geometry | None:
    """``geom`` as one polygon (slivers dropped), or None when it is in several pieces."""
    parts = _pieces(geom, frame)
    if len(parts) != 1:
        return None
    if len(shapely.get_parts(_polygonal(geom))) == 1:
        return _polygonal(geom)
    return parts[0]


def _shared_m(a: shapely.Geometry, b: shapely.Geometry, frame: _Frame) -> float:
    """Length (metres) of the boundary two areas share."""
    if a.is_empty or b.is_empty:
        return 0.0
    tol = 0.01 / _M_PER_DEG
    if not shapely.dwithin(a, b, tol):
        return 0.0
    return frame.length_m(shapely.intersection(shapely.boundary(a), shapely.buffer(b, tol, quad_segs=2)))


def _seeds(plan: GridPlan, grid_geom: shapely.Geometry, building_ids: Sequence[str]) -> list[shapely.Geometry]:
    """Each building's footprint inside the grid (a point of the grid nearest to it when none)."""
    out = []
    for b in building_ids:
        footprint = plan._footprints.get(b)
        if footprint is None or footprint.is_empty:
            out.append(shapely.point_on_surface(grid_geom))
            continue
        inside = _intersection(footprint, grid_geom)
        if inside.is_empty:
            out.append(shapely.ops.nearest_points(grid_geom, footprint)[0])
        else:
            out.append(inside)
    return out


def _cells(grid_geom: shapely.Geometry, seeds: Sequence[shapely.Geometry], frame: _Frame) -> list[shapely.Geometry]:
    """Divide a grid among its buildings: each building's land (one piece each), tiling it.

    A Voronoi diagram of the footprints' vertices (shrunk and densified as in the engine's
    enclosed tessellation) in local metres, mapped back and intersected with the grid. A
    part of a cell cut off from its building goes to the cell it shares most boundary with.
    """
    n = len(seeds)
    if n == 1:
        return [grid_geom]
    seeds_m = [frame.to_m(s) for s in seeds]
    points = []
    owner = []
    for i, s in enumerate(seeds_m):
        if shapely.get_type_id(s) in (3, 6):
            shrunk = shapely.buffer(s, -_SHRINK_M, join_style="mitre")
            dense = shapely.segmentize(shrunk if not shrunk.is_empty else s, _SEGMENT_M)
            coords = shapely.get_coordinates(dense)
            if not len(coords):
                coords = shapely.get_coordinates(shapely.point_on_surface(s))
        else:
            coords = shapely.get_coordinates(s)
        points.append(coords)
        owner.append(np.full(len(coords), i))
    coords = np.concatenate(points)
    who = np.concatenate(owner)
    coords, first = np.unique(coords, axis=0, return_index=True)
    who = who[first]
    coords = coords + np.random.default_rng(0).uniform(-1e-6, 1e-6, coords.shape)
    envelope = shapely.buffer(shapely.envelope(frame.to_m(grid_geom)), 10.0)
    regions = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(coords), extend_to=envelope, ordered=True)
    )
    if len(regions) != len(coords):
        regions = None
    cells: list[shapely.Geometry] = []
    for i in range(n):
        if regions is None:
            mine = envelope if i == int(who[0]) else shapely.Polygon()
        else:
            mine = shapely.union_all(shapely.make_valid(regions[who == i]))
        cells.append(
            _intersection(frame.to_deg(mine), grid_geom) if not mine.is_empty else shapely.Polygon()
        )
    # an exact partition: each cell less the ones before it; what no cell took (a floating-point
    # seam) joins the cell it shares most boundary with
    covered = shapely.Polygon()
    for i in range(n):
        if not cells[i].is_empty:
            cells[i] = _polygonal(shapely.difference(cells[i], covered))
            covered = shapely.union(covered, cells[i])
    for seam in shapely.get_parts(_polygonal(shapely.difference(grid_geom, covered))):
        shares = [(_shared_m(seam, cells[k], frame), k) for k in range(n)]
        k = max(shares)[1]
        cells[k] = _polygonal(shapely.union(cells[k], seam))
    # the part of each cell holding its seed stays; the rest join the neighbour they share most with
    for _ in range(3):
        moved = False
        for i in range(n):
            parts = shapely.get_parts(cells[i])
            if len(parts) <= 1:
                continue
            touching = shapely.intersects(parts, seeds[i]) if not seeds[i].is_empty else np.zeros(len(parts), bool)
            keep = int(np.argmax(touching)) if touching.any() else int(np.argmax(shapely.area(parts)))
            cells[i] = parts[keep]
            for j, stray in enumerate(parts):
                if j == keep:
                    continue
                shares = [(_shared_m(stray, cells[k], frame), k) for k in range(n) if k != i]
                best = max(shares, default=(0.0, i))
                target = best[1] if best[0] > 0 else i
                cells[target] = shapely.union(cells[target], stray)
                moved = True
        if not moved:
            break
    return cells


def _long_axis(geom: shapely.Geometry) -> float:
    rect = shapely.minimum_rotated_rectangle(geom)
    coords = np.asarray(getattr(rect, "exterior", rect).coords)
    if len(coords) < 3:
        return 0.0
    edges = np.diff(coords[:3], axis=0)
    e = edges[int(np.argmax(np.hypot(edges[:, 0], edges[:, 1])))]
    return math.degrees(math.atan2(e[1], e[0]))


def _share_of_cell(
    cell: shapely.Geometry,
    footprint: shapely.Geometry,
    fraction: float,
    toward: shapely.Geometry | None,
    frame: _Frame,
) -> list[shapely.Geometry]:
    """Equal-area cuts of a tower's land: candidates for the ``fraction`` that moves.

    Cut across and along the tower's long axis, the moving share at either end; the
    candidates sharing most boundary with ``toward`` come first.
    """
    cell_m = frame.to_m(cell)
    angle = _long_axis(frame.to_m(footprint) if footprint is not None else cell_m)
    out = []
    for a in (angle, angle + 90):
        for first in (True, False):
            weights = [fraction, 1 - fraction] if first else [1 - fraction, fraction]
            try:
                strips = split_equal_area(cell_m, weights, angle=a)
            except shapely.errors.GEOSException:
                strips = split_equal_area(shapely.make_valid(cell_m), weights, angle=a)
            share = strips[0] if first else strips[1]
            piece = _intersection(frame.to_deg(share), cell)
            if not piece.is_empty:
                out.append(piece)
    if toward is not None:
        out.sort(key=lambda p: -_shared_m(p, toward, frame))
    return out


# --------------------------------------------------------------------------------------
# grid rows
# --------------------------------------------------------------------------------------
def _refresh(
    plan: GridPlan, row: Mapping[str, Any], members: Sequence[Row], geom: shapely.Geometry, *, lang: str
) -> Row:
    """A grid row with its figures recomputed from its members."""
    rules = plan.rules
    stats = plan._building_stats
    ids = [str(m["building_id"]) for m in members]
    counts = [float(m["households"]) for m in members]
    hh = int(sum(counts))
    residents = special = 0.0
    for b, n in zip(ids, counts, strict=True):
        total, res, spec = stats.get(b, (0.0, 0.0, 0.0))
        if total > 0:
            residents += res * n / total
            special += spec * n / total

    def spread(column: str) -> float:
        return residents if column == "residents" else special

    special = spread("special_service_households")
    low, high = rules.grid_min_households, rules.grid_max_households
    out = dict(row)
    out.update(
        households=hh,
        n_buildings=len({b for b, n in zip(ids, counts, strict=True) if n > 0}),
    )
    if "residents" in out:
        out["residents"] = int(round(spread("residents")))
    if "special_service_households" in out:
        out["special_service_households"] = int(round(special))
    if "workload" in out:
        out["workload"] = round(hh + (rules.special_service_weight - 1) * special, 1)
    in_band = low <= hh <= high
    if "status" in out:
        out["status"] = "ok" if in_band else "out_of_range"
    if "reason" in out:
        out["reason"] = (
            ""
            if in_band
            else translator(lang)
            .gettext(N_("{n} households after a hand edit, outside the band of {low}–{high}"))
            .format(n=hh, low=low, high=high)
        )
    for column in ("crossed_zones", "crossing_reason"):
        if column in out:
            out[column] = ""
    out[plan.grids.geometry.name] = geom
    return out


def _next_code(plan: GridPlan, like: str, taken: Iterable[str] = ()) -> str:
    """A fresh code after the highest code of ``like``'s community."""
    prefix = str(like)[:12]
    codes = [c for c in [*plan.grids["grid_code"].astype(str), *taken] if c[:12] == prefix]
    seq = max((int(c[12:]) for c in codes if c[12:].isdigit()), default=0) + 1
    return f"{prefix}{seq:03d}"


def _check_unlocked(plan: GridPlan, *codes: str) -> None:
    for code in codes:
        if bool(plan._row(code).get("locked", False)):
            msg = N_("Grid {code} is locked. Unlock it first to change it.")
            raise EditRefusedError(msg, code=code)


def _check_same_community(plan: GridPlan, a: str, b: str) -> None:
    ca, cb = plan._row(a).get("community_id"), plan._row(b).get("community_id")
    if ca is not None and cb is not None and str(ca) != str(cb):
        msg = N_(
            "Grids {a} and {b} are in different communities ({ca}, {cb}). Moving households "
            "between communities is a split of the community (the Split page), not a grid edit."
        )
        raise EditRefusedError(msg, a=a, b=b, ca=ca, cb=cb)


def _commit(
    plan: GridPlan,
    action: str,
    before_codes: Sequence[str],
    new_rows: list[dict[str, Any]],
    new_members: Sequence[Row],
    *,
    buildings: Sequence[str] = (),
    households: int = 0,
) -> tuple[GridPlan, Change]:
    """The edited plan and the record of the change: only the touched rows are rebuilt."""
    codes = [str(c) for c in before_codes]
    rows = sorted(new_rows, key=lambda r: str(r["grid_code"]))
    new_plan, gone, gone_members = _replace_rows(plan, codes, rows, new_members)
    after_codes = [str(r["grid_code"]) for r in rows]
    change = Change(
        action=action,
        codes=tuple(sorted(set(codes) | set(after_codes))),
        removed=tuple(sorted(set(codes) - set(after_codes))),
        added=tuple(sorted(set(after_codes) - set(codes))),
        buildings=tuple(buildings),
        households=int(households),
        rows_before=tuple(gone),
        rows_after=tuple(new_plan._records[new_plan._grid_position[c]] for c in after_codes),
        member_rows_before=tuple(gone_members),
        member_rows_after=tuple(
            new_plan._member_records[len(new_plan._member_records) - len(new_members):]
        ),
        schema=plan._schema,
    )
    return new_plan, change


# --------------------------------------------------------------------------------------
# the edits
# --------------------------------------------------------------------------------------
@_refuse_geometry_failures
def move(
    plan: GridPlan,
    pieces: Iterable[str | Piece],
    to: str,
    *,
    lang: str = "en",
) -> tuple[GridPlan, Change]:
    """Move buildings, or pieces of towers, to a grid they touch.

    Parameters
    ----------
    plan
        The plan.
    pieces
        Building ids, or :class:`Piece` / ``"B:unit"`` / ``"B:unit:floor_from-floor_to"``
        for a unit or floor range of a tower.
    to
        The code of the grid that takes them.
    lang
        Language of the reasons written on edited grids.

    Returns
    -------
    (GridPlan, Change)

    Raises
    ------
    EditRefusedError
        A building or grid that does not exist; a locked grid; a building that does not
        touch the target grid; a grid the move would break in two; a piece that would
        divide a building or unit the rules keep whole.
    """
    to = str(to)
    target = plan._row(to)
    wanted = [p if isinstance(p, Piece) else Piece.parse(p) for p in pieces]
    if not wanted:
        msg = N_("Nothing to move: name at least one building.")
        raise EditRefusedError(msg)
    high = plan.rules.grid_max_households
    records = plan._member_records
    # which member rows move, grid by grid
    moving: dict[str, list[Row]] = {}
    staying: dict[str, list[Row]] = {}
    touched_rows: set[int] = set()
    for piece in wanted:
        rows = plan._building_positions.get(piece.building_id, ())
        if piece.building_id not in plan._footprints or not len(rows):
            msg = N_("There is no building {building} among the grids' members.")
            raise EditRefusedError(msg, building=piece.building_id)
        found = False
        for r in rows:
            if int(r) in touched_rows:
                continue
            row = dict(records[r])
            code = str(row["grid_code"])
            if code == to:
                continue
            inside, rest = _cut_row(row, piece)
            if inside is None:
                continue
            found = True
            touched_rows.add(int(r))
            moving.setdefault(code, []).append(inside)
            staying.setdefault(code, []).extend(rest)
            if rest:
                _check_divisible(plan, piece, row, high)
        if not found:
            msg = N_("{piece} is not in any grid other than {code}: there is nothing to move.")
            raise EditRefusedError(msg, piece=str(piece), code=to)
    sources = sorted(moving)
    for code in sources:
        _check_same_community(plan, code, to)
    _check_unlocked(plan, to, *sources)
    target_geom = target[plan._geometry]
    frame = _Frame.around(target_geom)
    new_target = target_geom
    new_rows: list[Row] = []
    new_members: list[Row] = []
    target_buildings = {str(m["building_id"]) for m in plan._rows_of(to)}
    pieces_moved: list[tuple[str, shapely.Geometry]] = []
    for code in sources:
        grid = plan._row(code)
        geom = grid[plan._geometry]
        positions = plan._member_positions.get(code, ())
        own = [dict(records[i]) for i in positions]
        remaining = [
            dict(records[i]) for i in positions if int(i) not in touched_rows
        ] + staying.get(code, [])
        moved = moving[code]
        ids = list(dict.fromkeys(str(m["building_id"]) for m in own))
        cells = _cells(geom, _seeds(plan, geom, ids), frame)
        cell_of = dict(zip(ids, cells, strict=True))
        land = []
        left_ids = {str(m["building_id"]) for m in remaining}
        for b in dict.fromkeys(str(m["building_id"]) for m in moved):
            if b not in left_ids:
                land.append((b, cell_of[b]))
            elif b not in target_buildings:
                fraction = _households(moved, b) / max(_households(own, b), 1)
                footprint = plan._footprints.get(b)
                options = _share_of_cell(cell_of[b], footprint, fraction, target_geom, frame)
                choice = None
                for option in options:
                    pair = _divide(geom, option, frame)
                    if pair is not None and _shared_m(pair[0], target_geom, frame) >= _TOUCH_M:
                        choice = pair[0]
                        break
                if choice is None:
                    msg = N_(
                        "Building {building}'s share of land cannot go to grid {to}: it does not "
                        "touch it, or taking it would break grid {code} in two. Move the whole "
                        "building, or a piece next to grid {to}."
                    )
                    raise EditRefusedError(msg, building=b, to=to, code=code)
                land.append((b, choice))
        moving_land = shapely.union_all([g for _, g in land]) if land else shapely.Polygon()
        if remaining:
            pair = _divide(geom, moving_land, frame) if land else (moving_land, geom)
            rest = None if pair is None else pair[1]
            if pair is not None:
                moving_land = pair[0]
            if rest is None:
                msg = N_(
                    "Moving {buildings} out of grid {code} would break grid {code} in two. Move "
                    "the buildings between them too, or merge the grids."
                )
                raise EditRefusedError(msg, buildings=", ".join(b for b, _ in land), code=code)
            new_rows.append(_refresh(plan, grid, remaining, rest, lang=lang))
            new_members.extend(remaining)
        else:  # the grid's last households leave: all its land goes with them
            moving_land = geom
            land = [(", ".join(dict.fromkeys(str(m["building_id"]) for m in moved)), geom)]
        pieces_moved.extend(land)
        new_target = _union(new_target, moving_land)
    joined = _one_piece(new_target, frame)
    if joined is None:
        far = [b for b, g in pieces_moved if _shared_m(g, target_geom, frame) < _TOUCH_M]
        msg = N_(
            "Building {buildings} does not touch grid {to}. Choose a grid next to it, or move "
            "the buildings between them too."
        )
        names = list(dict.fromkeys(far or [b for b, _ in pieces_moved]))
        raise EditRefusedError(msg, buildings=", ".join(names), to=to)
    arriving = [{**m, "grid_code": to} for c in sources for m in moving[c]]
    target_members = _coalesce(plan._rows_of(to) + arriving)
    new_rows.append(_refresh(plan, target, target_members, joined, lang=lang))
    new_members.extend(target_members)
    return _commit(
        plan,
        "move",
        [to, *sources],
        new_rows,
        new_members,
        buildings=[str(p) for p in wanted],
        households=sum(int(m["households"]) for m in arriving),
    )


def _households(rows: Iterable[Row], building: str) -> int:
    return sum(int(m["households"]) for m in rows if str(m["building_id"]) == building)


def _check_divisible(plan: GridPlan, piece: Piece, row: Mapping[str, Any], high: int) -> None:
    """Refuse a piece that divides a building (or a unit) the rules keep whole."""
    total = int(plan._building_stats.get(piece.building_id, (0.0, 0.0, 0.0))[0])
    if total <= high:
        msg = N_(
            "Building {building} has {n} households, no more than a grid's maximum of {high}: "
            "it is never divided. Move it whole."
        )
        raise EditRefusedError(msg, building=piece.building_id, n=total, high=high)
    if piece.floor_from is not None:
        units = plan._units.get(piece.building_id)
        u0, u1 = _int(row["unit_from"]), _int(row["unit_to"])
        units = units or ((u1 - u0 + 1) if u0 is not None and u1 is not None else 1)
        per_unit = total / max(units, 1)
        if per_unit <= high:
            msg = N_(
                "A unit of building {building} has about {n} households, no more than a grid's "
                "maximum of {high}: a unit is divided by floors only when it alone is larger. "
                "Move whole units."
            )
            raise EditRefusedError(msg, building=piece.building_id, n=round(per_unit), high=high)


def _coalesce(members: Sequence[Row]) -> list[Row]:
    """Join member rows of one building that fit together again (same units, adjacent floors,
    or same floors, adjacent units)."""
    rows = [dict(m) for m in members]
    if len({str(m["building_id"]) for m in rows}) == len(rows):
        return rows
    changed = True
    while changed:
        changed = False
        for i in range(len(rows)):
            for j in range(len(rows)):
                a, b = rows[i], rows[j]
                if i == j or a["building_id"] != b["building_id"] or a["grid_code"] != b["grid_code"]:
                    continue
                same_units = (_int(a["unit_from"]), _int(a["unit_to"])) == (_int(b["unit_from"]), _int(b["unit_to"]))
                same_floors = (_int(a["floor_from"]), _int(a["floor_to"])) == (_int(b["floor_from"]), _int(b["floor_to"]))
                if same_units and _int(a["floor_to"]) is not None and _int(b["floor_from"]) == _int(a["floor_to"]) + 1:
                    a["floor_to"] = b["floor_to"]
                elif same_floors and _int(a["unit_to"]) is not None and _int(b["unit_from"]) == _int(a["unit_to"]) + 1:
                    a["unit_to"] = b["unit_to"]
                else:
                    continue
                a["households"] = int(a["households"]) + int(b["households"])
                rows.pop(j)
                changed = True
                break
            if changed:
                break
    return rows


@_refuse_geometry_failures
def merge(plan: GridPlan, a: str, b: str, *, lang: str = "en") -> tuple[GridPlan, Change]:
    """Merge two touching grids; the merged grid keeps ``a``'s code and details.

    Raises
    ------
    EditRefusedError
        A grid that does not exist or is locked; grids that do not touch, or lie in
        different communities.
    """
    a, b = str(a), str(b)
    if a == b:
        msg = N_("Grid {code} cannot be merged with itself. Choose two different grids.")
        raise EditRefusedError(msg, code=a)
    ga, gb = plan._row(a), plan._row(b)
    _check_same_community(plan, a, b)
    _check_unlocked(plan, a, b)
    frame = _Frame.around(ga[plan._geometry])
    if _shared_m(ga[plan._geometry], gb[plan._geometry], frame) < _TOUCH_M:
        msg = N_("Grids {a} and {b} do not touch, so they cannot be merged. Choose neighbouring grids.")
        raise EditRefusedError(msg, a=a, b=b)
    joined = _one_piece(_union(ga[plan._geometry], gb[plan._geometry]), frame)
    if joined is None:  # pragma: no cover - touching grids make one piece
        msg = N_("Grids {a} and {b} do not touch, so they cannot be merged. Choose neighbouring grids.")
        raise EditRefusedError(msg, a=a, b=b)
    members = _coalesce([{**m, "grid_code": a} for m in plan._rows_of(a) + plan._rows_of(b)])
    row = _refresh(plan, ga, members, joined, lang=lang)
    for column in DETAIL_COLUMNS:
        if not str(row.get(column) or "") and str(gb.get(column) or ""):
            row[column] = gb[column]
    return _commit(
        plan, "merge", [a, b], [row], members, households=sum(int(m["households"]) for m in plan._rows_of(b))
    )


@_refuse_geometry_failures
def split(
    plan: GridPlan,
    code: str,
    *,
    line: shapely.Geometry | None = None,
    lang: str = "en",
) -> tuple[GridPlan, Change]:
    """Split a grid in two: along a drawn ``line`` (EPSG:4490), or by the engine's best cut.

    The engine's cut divides the grid's buildings into two connected groups as balanced as
    the band allows (:func:`planning.partition.partition`); a grid of one tower is divided
    by unit, or by floors when the rules allow. Along a line, each building goes to the
    side holding most of its footprint and takes its land with it; the empty land follows
    the line. The part with more households keeps the code; the other is numbered after
    the highest code of the community.

    Raises
    ------
    EditRefusedError
        A locked or unknown grid; a line that does not cross the grid, or crosses it more
        than once; a side with no households; a grid that cannot be divided further.
    """
    code = str(code)
    grid = plan._row(code)
    _check_unlocked(plan, code)
    geom = grid[plan._geometry]
    frame = _Frame.around(geom)
    own = plan._rows_of(code)
    ids = list(dict.fromkeys(str(m["building_id"]) for m in own))
    seeds = _seeds(plan, geom, ids)
    if line is not None:
        parts, groups = _split_by_line(plan, code, geom, ids, seeds, line, frame)
        first = [m for m in own if str(m["building_id"]) in groups[0]]
        second = [m for m in own if str(m["building_id"]) in groups[1]]
    elif len(ids) >= 2:
        cells = _cells(geom, seeds, frame)
        parts, groups = _split_by_engine(plan, code, ids, cells, frame)
        first = [m for m in own if str(m["building_id"]) in groups[0]]
        second = [m for m in own if str(m["building_id"]) in groups[1]]
    else:
        parts, first, second = _split_tower(plan, code, geom, own, frame)
    if sum(int(m["households"]) for m in first) < sum(int(m["households"]) for m in second):
        parts = parts[::-1]
        first, second = second, first
    fresh = _next_code(plan, code)
    first = _coalesce([{**m, "grid_code": code} for m in first])
    second = _coalesce([{**m, "grid_code": fresh} for m in second])
    row_a = _refresh(plan, grid, first, parts[0], lang=lang)
    row_b = _refresh(plan, grid, second, parts[1], lang=lang)
    row_b["grid_code"] = fresh
    for column in DETAIL_COLUMNS:
        row_b[column] = ""
    return _commit(
        plan, "split", [code], [row_a, row_b], first + second,
        households=sum(int(m["households"]) for m in second),
    )


def _split_by_engine(
    plan: GridPlan, code: str, ids: list[str], cells: list[shapely.Geometry], frame: _Frame
) -> tuple[list[shapely.Geometry], list[set[str]]]:
    own = plan._rows_of(code)
    weights = np.array([_households(own, b) for b in ids], dtype=float)
    cells_m = np.array([frame.to_m(c) for c in cells], dtype=object)
    nb = rook_neighbours(cells_m)
    cent = shapely.centroid(cells_m)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    rules = plan.rules
    low, high = rules.grid_min_households, rules.grid_max_households
    total = float(weights.sum())
    half = total / 2
    lab = partition(weights, x, y, nb, low=min(low, half * 0.5), high=max(half * 1.5, 1.0), target=half)
    lab = exactly_k(lab, 2, weights, x, y, nb)
    if lab.max(initial=0) != 1 or any(
        len(components(np.flatnonzero(lab == g), nb)) != 1 for g in (0, 1)
    ):
        msg = N_(
            "Grid {code} cannot be divided into two connected parts of its buildings. Draw the "
            "line to split it along, or move buildings out of it instead."
        )
        raise EditRefusedError(msg, code=code)
    parts = []
    groups = []
    for g in (0, 1):
        idx = np.flatnonzero(lab == g)
        groups.append({ids[i] for i in idx})
        parts.append(shapely.union_all([cells[i] for i in idx]))
    pair = _divide(plan._row(code)[plan._geometry], parts[0], frame)
    first, second = pair if pair is not None else (None, None)
    if first is None or second is None:
        msg = N_(
            "Grid {code} cannot be divided into two connected parts of its buildings. Draw the "
            "line to split it along, or move buildings out of it instead."
        )
        raise EditRefusedError(msg, code=code)
    return [first, second], groups


def _split_by_line(
    plan: GridPlan,
    code: str,
    geom: shapely.Geometry,
    ids: list[str],
    seeds: list[shapely.Geometry],
    line: shapely.Geometry,
    frame: _Frame,
) -> tuple[list[shapely.Geometry], list[set[str]]]:
    pieces = _pieces(shapely.ops.split(geom, line) if line.intersects(geom) else geom, frame)
    if len(pieces) != 2:
        msg = N_(
            "The line must cross grid {code} once, from edge to edge (it makes {n} parts). "
            "Draw it again across the grid."
        )
        raise EditRefusedError(msg, code=code, n=len(pieces))
    side: dict[str, int] = {}
    crossed: set[str] = set()
    for b, seed in zip(ids, seeds, strict=True):
        if shapely.get_type_id(seed) in (3, 6):
            areas = [float(shapely.area(shapely.intersection(seed, p))) for p in pieces]
            side[b] = int(np.argmax(areas))
            if min(areas) > 0.01 * max(sum(areas), 1e-30):
                crossed.add(b)
        else:
            side[b] = 0 if pieces[0].distance(seed) <= pieces[1].distance(seed) else 1
    groups = [{b for b in ids if side[b] == s} for s in (0, 1)]
    if not groups[0] or not groups[1]:
        msg = N_(
            "The line leaves no building on one side of grid {code}. Draw it between buildings."
        )
        raise EditRefusedError(msg, code=code)
    first = pieces[0]
    if crossed:
        cells = dict(zip(ids, _cells(geom, seeds, frame), strict=True))
        add = [cells[b] for b in crossed if side[b] == 0]
        cut = [cells[b] for b in crossed if side[b] == 1]
        if add:
            first = _union(first, shapely.union_all(add))
        if cut:
            first = _difference(first, shapely.union_all(cut))
    pair = _divide(geom, first, frame)
    one, two = pair if pair is not None else (None, None)
    if one is None or two is None:
        msg = N_(
            "Along this line a building on the edge would leave grid {code}'s parts in several "
            "pieces. Draw the line around the buildings, not through them."
        )
        raise EditRefusedError(msg, code=code)
    return [one, two], groups


def _split_tower(
    plan: GridPlan, code: str, geom: shapely.Geometry, own: list[Row], frame: _Frame
) -> tuple[list[shapely.Geometry], list[Row], list[Row]]:
    """Split a grid holding one building: its rows in two, or its one row by unit or floors."""
    high = plan.rules.grid_max_households
    rows = sorted(own, key=lambda m: (_int(m["unit_from"]) or 0, _int(m["floor_from"]) or 0))
    b = str(own[0]["building_id"]) if own else "?"
    if len(rows) == 1:
        row = rows[0]
        u0, u1 = _int(row["unit_from"]), _int(row["unit_to"])
        f0, f1 = _int(row["floor_from"]), _int(row["floor_to"])
        if u0 is not None and u1 is not None and u1 > u0:
            mid = (u0 + u1) // 2
            piece = Piece(b, u0, mid)
        elif f0 is not None and f1 is not None and f1 > f0:
            mid = (f0 + f1) // 2
            piece = Piece(b, u0, u1, f0, mid)
        else:
            msg = N_(
                "Grid {code} holds one building part ({building}, {n} households) that cannot be "
                "divided further."
            )
            raise EditRefusedError(msg, code=code, building=b, n=int(row["households"]))
        _check_divisible(plan, piece, row, high)
        inside, rest = _cut_row(row, piece)
        rows = [r for r in [inside, *rest] if r is not None]
    if len(rows) < 2:
        msg = N_(
            "Grid {code} holds one building part ({building}, {n} households) that cannot be "
            "divided further."
        )
        raise EditRefusedError(msg, code=code, building=b, n=_households(own, b))
    counts = np.cumsum([int(r["households"]) for r in rows])
    k = int(np.argmin(np.abs(counts[:-1] - counts[-1] / 2))) + 1
    first, second = rows[:k], rows[k:]
    fraction = sum(int(m["households"]) for m in second) / float(counts[-1])
    footprint = plan._footprints.get(b)
    for option in _share_of_cell(geom, footprint, fraction, None, frame):
        pair = _divide(geom, option, frame)
        if pair is not None:
            return [pair[1], pair[0]], first, second
    msg = N_(
        "Grid {code} holds one building part ({building}, {n} households) that cannot be "
        "divided further."
    )
    raise EditRefusedError(msg, code=code, building=b, n=_households(own, b))


def lock(plan: GridPlan, codes: Iterable[str], *, locked: bool = True) -> tuple[GridPlan, Change]:
    """Lock grids (or unlock them with ``locked=False``): a locked grid is kept as it is by
    edits and by re-running the engine."""
    codes = [str(c) for c in codes]
    rows = []
    for code in codes:
        row = plan._row(code)
        row["locked"] = bool(locked)
        rows.append(row)
    members = [m for code in codes for m in plan._rows_of(code)]
    return _commit(plan, "lock" if locked else "unlock", codes, rows, members)


def assign(
    plan: GridPlan,
    code: str,
    *,
    name: str | None = None,
    worker: str | None = None,
    phone: str | None = None,
    note: str | None = None,
) -> tuple[GridPlan, Change]:
    """Set a grid's name, worker, phone or note (``None`` leaves a field as it is).

    Allowed on a locked grid: a lock keeps the grid's land and households, not who works it.
    """
    code = str(code)
    row = plan._row(code)
    values = {"name": name, "worker": worker, "phone": phone, "note": note}
    if phone is not None and phone.strip() and not re.fullmatch(r"[0-9+\-() ]{3,20}", phone.strip()):
        msg = N_("{phone} is not a phone number. Write digits, with + - ( ) or spaces if needed.")
        raise EditRefusedError(msg, phone=phone)
    for column, value in values.items():
        if value is not None:
            row[column] = value.strip()
    return _commit(plan, "assign", [code], [row], plan._rows_of(code))


# --------------------------------------------------------------------------------------
# re-running the engine around the planner's locks
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rerun:
    """The grid engine run again on a plan (:func:`rerun`).

    Attributes
    ----------
    plan
        The new plan: the kept grids and the engine's new ones.
    crosswalk
        ``old_code``, ``new_code``, ``overlap_share`` (kept grids map to themselves, 1).
    result
        The engine's :class:`planning.grids.GridResult` with the whole plan's grids,
        members and patches (its ``zones`` and ``notes`` for the re-run communities).
    kept
        The codes of the grids kept as they were: locked ones, and those of the communities
        not re-run.
    """

    plan: GridPlan
    crosswalk: pd.DataFrame
    result: Any
    kept: tuple[str, ...]


def regrid(
    plan: GridPlan,
    *,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    landuse: gpd.GeoDataFrame | None = None,
    keep_share: float = 0.8,
    community_ids: Sequence[str] | None = None,
    lang: str = "en",
) -> tuple[GridPlan, pd.DataFrame]:
    """Run the grid engine again, keeping locked grids and the codes of grids that barely change.

    :func:`rerun` without the engine's result: ``(plan, crosswalk)``.
    """
    out = rerun(
        plan,
        roads=roads,
        waterways=waterways,
        barriers=barriers,
        compounds=compounds,
        landuse=landuse,
        keep_share=keep_share,
        community_ids=community_ids,
        lang=lang,
    )
    return out.plan, out.crosswalk


def rerun(
    plan: GridPlan,
    *,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    landuse: gpd.GeoDataFrame | None = None,
    keep_share: float = 0.8,
    community_ids: Sequence[str] | None = None,
    lang: str = "en",
    n_jobs: int = 1,
) -> Rerun:
    """Run the grid engine again, keeping locked grids and the codes of grids that barely change.

    Locked grids stay exactly as they are (land, members, code, details); the engine grids
    the rest of each community (the community less its locked grids) with the buildings'
    remaining households. A new grid keeps the code of the old grid it barely changed from
    (each covers at least ``keep_share`` of the other, :func:`planning.grids.stable_codes`);
    the others are numbered after the highest code of their community, locked ones included.

    Parameters
    ----------
    plan
        The plan, with its ``communities``.
    roads, waterways, barriers, compounds, landuse
        What bounds blocks and zones, as for :func:`planning.grids.make_grids`.
    keep_share
        How much two grids must overlap (each of the other) for the new one to keep the code.
    community_ids
        Re-run only these communities; the grids of the others stay as they are.
    lang
        Language of the reasons.
    n_jobs
        Processes that grid the communities (see :func:`planning.grids.make_grids`).

    Returns
    -------
    Rerun
        The new plan, the crosswalk ``old_code``, ``new_code``, ``overlap_share`` (kept
        grids map to themselves with share 1), the engine's result and the kept codes.
    """
    from planning.grids import make_grids

    if plan.communities is None:
        msg = N_("Re-running the engine needs the communities layer of the plan.")
        raise EditRefusedError(msg)
    locked_mask = plan.grids["locked"].fillna(False).astype(bool).to_numpy()
    communities = plan.communities.to_crs(STORAGE_CRS).copy()
    communities["community_id"] = communities["community_id"].astype(str)
    wanted = None
    if community_ids is not None:
        wanted = [str(c) for c in community_ids]
        unknown = sorted(set(wanted) - set(communities["community_id"]))
        if unknown:
            msg = N_("There is no community {community} in this project. Communities: {ids}.")
            raise EditRefusedError(
                msg, community=", ".join(unknown), ids=", ".join(communities["community_id"][:20])
            )
        others = ~plan.grids["community_id"].astype(str).isin(wanted).to_numpy()
    else:
        others = np.zeros(len(plan.grids), dtype=bool)
    kept_grids = plan.grids[locked_mask | others]
    kept_codes = set(kept_grids["grid_code"].astype(str))
    locked = plan.grids[locked_mask & ~others]
    if len(locked):
        held = locked.groupby(locked["community_id"].astype(str)).geometry.apply(
            lambda s: shapely.union_all(s.values)
        )
        communities["geometry"] = [
            _difference(geom, held[c]) if c in held.index else geom
            for c, geom in zip(communities["community_id"], communities.geometry.values, strict=True)
        ]
    # the households that locked grids hold are taken out of their buildings
    members = plan.grid_members
    in_locked = members["grid_code"].astype(str).isin(kept_codes)
    taken = members[in_locked].groupby(members["building_id"].astype(str))["households"].sum()
    buildings = plan.buildings.copy()
    ids = buildings["building_id"].astype(str)
    left = buildings["households"].to_numpy(dtype=float) - taken.reindex(ids).fillna(0).to_numpy()
    buildings["households"] = np.maximum(left, 0).astype(int)
    if len(locked):
        # footprints (their parts outside the locked grids) must lie in the land left to grid
        hole = shapely.union_all(locked.geometry.values)
        geoms = buildings.geometry.values.copy()
        for i in np.flatnonzero((left > 0) & shapely.intersects(geoms, hole)):
            clipped = _polygonal(shapely.difference(geoms[i], hole))
            if clipped.is_empty or shapely.area(clipped) < 0.05 * shapely.area(geoms[i]):
                # all inside a locked grid: a small square just outside it, where it is nearest
                point = shapely.ops.nearest_points(shapely.boundary(hole), geoms[i])[0]
                side = 2.0 / _M_PER_DEG
                outside = _polygonal(shapely.difference(shapely.buffer(point, side, cap_style="square"), hole))
                clipped = outside if not outside.is_empty else clipped
            geoms[i] = clipped
        buildings = buildings.set_geometry(gpd.GeoSeries(geoms, index=buildings.index, crs=buildings.crs))
    buildings = buildings[(buildings["households"] > 0) | ~ids.isin(taken.index)]
    previous = plan.grids[["grid_code", plan._geometry]]
    result = make_grids(
        buildings,
        communities=communities,
        roads=roads,
        waterways=waterways,
        barriers=barriers,
        compounds=compounds,
        landuse=landuse,
        rules=plan.rules,
        community_ids=wanted,
        lang=lang,
        previous=gpd.GeoDataFrame(previous, geometry=plan._geometry, crs=plan.grids.crs),
        n_jobs=n_jobs,
    )
    fresh = result.grids.copy()
    for column in plan.grids.columns:
        if column not in fresh:
            fresh[column] = False if column == "locked" else ""
    grids = pd.concat([kept_grids, fresh[plan.grids.columns]], ignore_index=True)
    grids = grids.sort_values("grid_code", kind="stable").reset_index(drop=True)
    new_members = pd.concat(
        [members[in_locked], result.grid_members.reindex(columns=plan.grid_members.columns)], ignore_index=True
    )
    walk = result.crosswalk
    walk = (
        # a kept grid is its own successor: the engine's best overlap for it (a new grid
        # touching it along an edge) would give its code a second successor
        walk.loc[
            ~walk["old_code"].astype(str).isin(kept_codes), ["old_code", "new_code", "overlap_share"]
        ]
        if len(walk)
        else pd.DataFrame(columns=["old_code", "new_code", "overlap_share"])
    )
    kept = pd.DataFrame(
        {"old_code": sorted(kept_codes), "new_code": sorted(kept_codes), "overlap_share": 1.0}
    )
    walk = pd.concat([kept, walk], ignore_index=True)
    new_plan = replace(
        plan,
        grids=gpd.GeoDataFrame(grids, geometry=plan._geometry, crs=plan.grids.crs),
        grid_members=new_members,
    )
    whole = replace(
        result, grids=new_plan.grids, grid_members=new_plan.grid_members, crosswalk=walk
    )
    return Rerun(plan=new_plan, crosswalk=walk, result=whole, kept=tuple(sorted(kept_codes)))


# --------------------------------------------------------------------------------------
# worker patches after edits
# --------------------------------------------------------------------------------------
_NO_PATCH = frozenset({"", "nan", "none", "null", "<na>"})


def patch_text(values: Iterable[Any] | None, n: int) -> np.ndarray:
    """Patch ids as text, ``""`` for a grid without one.

    An imported layer gives missing ids as NaN or None (a GIS writes empty cells as NULL),
    or as the text ``nan``; numbered patches read as 3.0. All become ``""`` or ``"3"``.

    Examples
    --------
    >>> patch_text([None, float("nan"), "nan", 3.0, " P01 "], 5).tolist()
    ['', '', '', '3', 'P01']
    >>> patch_text(None, 2).tolist()
    ['', '']
    """
    if values is None:
        return np.full(n, "", dtype=object)
    out = []
    for value in values:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            out.append("")
            continue
        if value is pd.NA or value is pd.NaT:
            out.append("")
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        out.append("" if text.lower() in _NO_PATCH else text)
    return np.array(out, dtype=object)


def _groups(nodes: Sequence[int], neighbours: Mapping[int, set[int]]) -> list[list[int]]:
    """Connected groups of ``nodes`` (each in the order first met)."""
    seen: set[int] = set()
    out = []
    for start in nodes:
        if start in seen:
            continue
        group, stack = [], [start]
        seen.add(start)
        while stack:
            node = stack.pop()
            group.append(node)
            for other in sorted(neighbours.get(node, ())):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        out.append(sorted(group))
    return out


def refresh_patches(
    plan: GridPlan,
    *,
    lang: str = "en",
    previous: gpd.GeoDataFrame | None = None,
    change: Change | None = None,
) -> tuple[GridPlan, gpd.GeoDataFrame]:
    """Worker patches (片区) of the plan's grids as they are now, each checked against its target.

    A grid keeps its patch through edits (the parts of a split grid stay in its patch, a
    merged grid keeps the first one's); a grid without a patch (an imported layer) joins
    the patch of the neighbour it shares most boundary with, or, in a community where no
    grid has one, the community's grids are grouped afresh like the engine does
    (:func:`planning.partition.partition`, one contiguous patch per required worker). Each
    patch is the union of its grids, with its households, and ``status`` ``ok`` or
    ``out_of_range`` when it is more than ``rules.patch_tolerance`` away from the
    community's households divided by its patches (``reason`` says by how much).

    Parameters
    ----------
    plan
        The grids as they are now.
    lang
        The language of the patches' ``reason``.
    previous, change
        The patches before ``change`` (an edit, or its undo or redo, just applied to the
        plan): only the patches of the grids it touched are made again, the others are
        kept (an edit on a city's plan costs its own patches, not the city's). The result
        is the one a full refresh gives. Without them, or when a touched grid has no
        patch yet, every patch is made again.

    Returns
    -------
    (GridPlan, geopandas.GeoDataFrame)
        The plan (``patch_id`` filled in) and the patches: ``patch_id``, ``community_id``,
        ``households``, ``n_grids``, ``target``, ``status``, ``reason``.
    """
    if previous is not None and change is not None:
        quick = _refresh_touched(plan, previous, change, lang=lang)
        if quick is not None:
            return quick
    rules = plan.rules
    grids = plan.grids.copy()
    grids["patch_id"] = patch_text(grids["patch_id"] if "patch_id" in grids else None, len(grids))
    metric_frame = _Frame.around(shapely.union_all(grids.geometry.values))
    geoms_m = np.array([metric_frame.to_m(g) for g in grids.geometry.values], dtype=object)
    nb = rook_neighbours(geoms_m)
    community = grids["community_id"].astype(str).to_numpy()
    for c in np.unique(community):
        rows = np.flatnonzero(community == c)
        if not (grids["patch_id"].iloc[rows] != "").any():
            weights = grids["households"].to_numpy(dtype=float)[rows]
            total = float(weights.sum())
            k = max(1, math.ceil(total / rules.patch_households)) if total > 0 else 1
            target = total / k if total > 0 else float(rules.patch_households)
            local = {int(r): i for i, r in enumerate(rows)}
            local_nb = [{local[b] for b in nb[r] if b in local} for r in rows]
            cent = shapely.centroid(geoms_m[rows])
            x, y = shapely.get_x(cent), shapely.get_y(cent)
            labels = partition(weights, x, y, local_nb, low=target * 0.6, high=target * 1.4, target=target)
            labels = exactly_k(labels, k, weights, x, y, local_nb)
            prefix = str(grids["grid_code"].iloc[rows[0]])[:12]
            grids.iloc[rows, grids.columns.get_loc("patch_id")] = [
                f"{prefix}P{int(label) + 1:02d}" for label in labels
            ]
            continue
        for _ in range(len(rows)):  # grids without a patch join their neighbour's
            missing = [r for r in rows if grids["patch_id"].iloc[r] == ""]
            if not missing:
                break
            for r in missing:
                options = [b for b in nb[r] if grids["patch_id"].iloc[b] != "" and community[b] == c]
                if options:
                    best = max(options, key=lambda b: _shared_m(geoms_m[r], geoms_m[b], _Frame(0, 0, 1, 1)))
                    grids.iloc[r, grids.columns.get_loc("patch_id")] = grids["patch_id"].iloc[best]
        # grids no patched neighbour reaches (an island of the community): a patch of their own
        # per connected group, numbered after the community's highest patch
        missing = [int(r) for r in rows if grids["patch_id"].iloc[r] == ""]
        if missing:
            prefix = str(grids["grid_code"].iloc[rows[0]])[:12]
            taken = set(grids["patch_id"].iloc[rows])
            numbers = [int(p[13:]) for p in taken if p.startswith(prefix + "P") and p[13:].isdigit()]
            seq = max(numbers, default=0)
            local_nb = {r: {b for b in nb[r] if b in set(missing)} for r in missing}
            for group in _groups(missing, local_nb):
                seq += 1
                for r in group:
                    grids.iloc[r, grids.columns.get_loc("patch_id")] = f"{prefix}P{seq:02d}"
    patches = _dissolve_patches(grids, grids["patch_id"].to_numpy(), community)
    return replace(plan, grids=grids), _judge_patches(patches, rules, lang)


def _dissolve_patches(
    grids: gpd.GeoDataFrame, patch_ids: np.ndarray, community: np.ndarray
) -> gpd.GeoDataFrame:
    """One row a patch: the union of its grids, their community, households and count."""
    frame = gpd.GeoDataFrame(
        {
            "patch_id": patch_ids,
            "community_id": community,
            "households": grids["households"].to_numpy(dtype=float),
            "n_grids": 1,
        },
        geometry=grids.geometry.values,
        crs=grids.crs,
    )
    return frame.dissolve(
        "patch_id", aggfunc={"community_id": "first", "households": "sum", "n_grids": "sum"}
    ).reset_index()


def _refresh_touched(
    plan: GridPlan, previous: gpd.GeoDataFrame, change: Change, *, lang: str
) -> tuple[GridPlan, gpd.GeoDataFrame] | None:
    """:func:`refresh_patches` for the patches ``change`` touched only (``None``: do all)."""
    grids = plan.grids
    if "patch_id" not in grids or "patch_id" not in previous or previous.empty:
        return None
    ids = patch_text(grids["patch_id"], len(grids))
    rows = [*change.rows_before, *change.rows_after]
    touched = set(patch_text([r.get("patch_id") for r in rows], len(rows)).tolist())
    codes = {str(r["grid_code"]) for r in change.rows_after}
    now = ids[grids["grid_code"].astype(str).isin(codes).to_numpy()]
    if "" in touched or (now == "").any():
        return None  # a grid without a patch: it joins a neighbour's, or the community regroups
    kept = previous[~previous["patch_id"].astype(str).isin(touched)]
    mine = np.isin(ids, sorted(touched))
    part = grids.loc[mine]
    remade = _dissolve_patches(part, ids[mine], part["community_id"].astype(str).to_numpy())
    columns = list(remade.columns)  # the order dissolve gives (patch_id, geometry, …)
    kept = kept.rename_geometry(remade.geometry.name) if kept.geometry.name != remade.geometry.name else kept
    patches = pd.concat([kept[columns], remade[columns]], ignore_index=True)
    patches = gpd.GeoDataFrame(patches, geometry=remade.geometry.name, crs=grids.crs)
    patches["households"] = patches["households"].astype(float)
    patches = patches.sort_values("patch_id", kind="stable").reset_index(drop=True)
    out = grids if (grids["patch_id"].astype(str).to_numpy() == ids).all() else grids.assign(patch_id=ids)
    return replace(plan, grids=out), _judge_patches(patches, plan.rules, lang)


def _judge_patches(patches: gpd.GeoDataFrame, rules: RuleSet, lang: str) -> gpd.GeoDataFrame:
    """Each patch's target (its community's households per patch) and status."""
    tr = translator(lang).gettext
    per_community = patches.groupby("community_id")["households"].transform("sum")
    count = patches.groupby("community_id")["patch_id"].transform("count")
    patches["target"] = (per_community / count).round(1)
    off = (patches["households"] - patches["target"]) / patches["target"].where(patches["target"] > 0)
    bad = off.abs() > rules.patch_tolerance
    patches["status"] = np.where(bad, "out_of_range", "ok")
    patches["reason"] = [
        tr(
            N_("{n} households, {share:.0%} from the patch's target of {target}: regroup the grids")
        ).format(n=int(h), share=abs(o), target=int(round(t)))
        if b
        else ""
        for h, o, t, b in zip(patches["households"], off.fillna(0), patches["target"], bad, strict=True)
    ]
    patches["households"] = patches["households"].astype(int)
    return patches
