"""A plan store that never loses a plan: one GeoPackage per plan, append-only versions.

Every :meth:`PlanStore.save` adds a new version; nothing already saved is overwritten.

How a save stays atomic
-----------------------
Each layer of the plan (``grids``, ``grid_members``, ``proposals``, ``lineage``,
``patches``, or any other) is one GeoPackage table shared by all versions and keyed by
``plan_id`` and ``version``. A save, holding the store's lock (:mod:`filelock`, so
concurrent sessions take turns), appends the rows of every layer, each layer in its own
SQLite transaction (pyogrio wraps every layer write in one), and **then** commits the
version's row in the ``plans`` table, with the row count of each layer. A version exists
only once that row is committed: readers read only the versions listed in ``plans`` and
check the counts, so a writer killed halfway leaves the last committed version intact.
Rows left behind by a killed writer are removed by the next save, under the lock.

The file is in SQLite's WAL mode while the store is open (readers never block the
writer) and goes back to a single file (``journal_mode=DELETE``) when it is closed.
:func:`handover_copy` writes a clean single-file copy to hand on.

==========  ==================================================================
``plans``   ``plan_id``, ``version``, ``status`` (draft, proposed, accepted,
            rejected), ``author``, ``created_at``, ``note``, ``rules`` (JSON),
            ``layers`` (JSON: rows and column types of each layer)
``reviews`` the review trail: ``plan_id``, ``version``, ``status``, ``author``,
            ``at``, ``comment``
``audit``   the audit trail (:meth:`PlanStore.record`): ``plan_id``, ``at``,
            ``user``, ``role``, ``action``, ``target``, ``allowed``, ``detail``
==========  ==================================================================

A save may name the version the planner's work started from (``base_version``): if
someone saved a newer one meanwhile, :class:`PlanConflictError` says so and nothing is
written. :func:`open_store` opens this store or, for a ``postgresql://`` URL, the same
store in a team's PostGIS database (:mod:`gis.pgstore`).

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
>>> members = pd.DataFrame({"grid_code": ["110108001001001"], "building_id": ["B1"],
...                         "households": [40]})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
>>> with PlanStore(path) as store:
...     store.save({"grids": grids, "grid_members": members}, author="王芳", note="first cut")
...     store.save({"grids": grids.assign(households=42), "grid_members": members}, author="王芳")
...     store.set_status(2, "proposed", author="李强", comment="ready for the street office")
...     store.versions()[["version", "status", "author"]].to_dict("records")
1
2
[{'version': 1, 'status': 'draft', 'author': '王芳'},
 {'version': 2, 'status': 'proposed', 'author': '王芳'}]
>>> int(PlanStore(path).load(1)["grids"]["households"].iloc[0])
40
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import filelock
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gis.errors import FieldError, GridplanError, LayerReadError
from gis.i18n import N_
from gis.plan import atomic_path

if TYPE_CHECKING:
    from gis.pgstore import PostGISPlanStore

__all__ = [
    "AUDIT_COLUMNS",
    "PLAN_STATUSES",
    "RESERVED_LAYERS",
    "PlanConflictError",
    "PlanStore",
    "PlanStoreError",
    "handover_copy",
    "is_database_url",
    "is_plan_store",
    "open_store",
    "read_exported",
    "rules_json",
    "write_version",
]

PLAN_STATUSES: tuple[str, ...] = ("draft", "proposed", "accepted", "rejected")
"""The review states of a plan version, in workflow order."""

STATUS_LABELS: tuple[str, ...] = (N_("draft"), N_("proposed"), N_("accepted"), N_("rejected"))

RESERVED_LAYERS: frozenset[str] = frozenset({"plans", "reviews", "audit"})
"""Tables the store keeps itself; :meth:`PlanStore.save` skips layers of these names."""

AUDIT_COLUMNS: tuple[str, ...] = (
    "plan_id",
    "at",
    "user",
    "role",
    "action",
    "target",
    "allowed",
    "detail",
)
"""The columns of the audit trail (:meth:`PlanStore.audit`), in order."""

_KEY_COLUMNS = ("plan_id", "version")
_LAYER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_PLANS_COLUMNS = ("plan_id", "version", "status", "author", "created_at", "note", "rules", "layers")
_REVIEW_COLUMNS = ("plan_id", "version", "status", "author", "at", "comment")


class PlanStoreError(GridplanError):
    """A plan store that cannot be used as asked (unknown version, busy, damaged)."""


class PlanConflictError(PlanStoreError):
    """Someone else saved a newer version after the version this save started from.

    Raised by ``save(..., base_version=N)`` when the store's latest version is no longer
    ``N``; nothing is written. ``params`` holds ``latest``, ``base``, ``plan_id``,
    ``author`` and ``at`` (who saved the newer version, and when).
    """


_CONFLICT = N_(
    "Someone saved version {latest} of plan {plan_id} ({author}, {at}) after you opened "
    "version {base}. Your work is not lost: reload the plan to see their changes, then "
    "save again (your layers are kept in this session)."
)


def _check_base(
    base_version: int | None, latest: Mapping[str, Any] | None, *, plan_id: str
) -> None:
    """Raise :class:`PlanConflictError` unless ``latest`` is the version the save began from.

    ``latest`` is the newest committed ``plans`` row (``None`` for an empty plan, which
    matches ``base_version=0``); ``base_version=None`` skips the check.
    """
    if base_version is None:
        return
    have = 0 if latest is None else int(latest["version"])
    if have == int(base_version):
        return
    raise PlanConflictError(
        _CONFLICT,
        latest=have,
        plan_id=plan_id,
        author=(latest or {}).get("author", ""),
        at=(latest or {}).get("created_at", ""),
        base=int(base_version),
    )


def _check_kind(name: str, *, spatial_table: bool, spatial: bool) -> None:
    """Refuse layer ``name`` with shapes when its table has none, or the other way round."""
    if spatial_table == spatial:
        return
    if spatial_table:
        msg = N_(
            "Layer {layer} was saved with shapes before and now comes as a table. "
            "Save it under another name."
        )
    else:
        msg = N_(
            "Layer {layer} was saved as a table before and now comes with shapes. "
            "Save it under another name."
        )
    raise PlanStoreError(msg, layer=name)


def _check_action(action: str, user: str) -> None:
    if not str(action).strip() or not str(user).strip():
        msg = N_("An audit entry needs an action and a user (got {action!r} by {user!r}).")
        raise PlanStoreError(msg, action=action, user=user)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def rules_json(rules: Any) -> str:
    """Return a rule set as the JSON kept in ``plans.rules``.

    ``rules`` may be a :class:`planning.rules.RuleSet` (its values and their sources are
    kept), a mapping (kept as it is), or ``None`` (an empty object).

    Examples
    --------
    >>> from planning.rules import get_preset
    >>> data = json.loads(rules_json(get_preset("default")))
    >>> data["values"]["grid_max_households"], data["sources"][0]["rule"]
    (50, 'min_households')
    """
    if rules is None:
        return "{}"
    if isinstance(rules, str):
        json.loads(rules)  # must already be JSON
        return rules
    if isinstance(rules, Mapping):
        return json.dumps(dict(rules), ensure_ascii=False, default=str)
    values = getattr(rules, "values", None)
    sources = getattr(rules, "sources", None)
    if callable(values) and callable(sources):
        data = {
            "name": getattr(rules, "name", ""),
            "title": getattr(rules, "title", ""),
            "values": values(),
            "sources": sources(),
        }
        return json.dumps(data, ensure_ascii=False, default=str)
    msg = N_("Rules must be a rule set, a mapping or JSON text, not {kind}.")
    raise PlanStoreError(msg, kind=type(rules).__name__)


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(con: sqlite3.Connection) -> dict[str, str]:
    """Return ``{table: data_type}`` of the GeoPackage's contents."""
    rows = con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in con.execute(f"PRAGMA table_info({_quote(table)})")]


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, list | tuple | dict | set | np.ndarray)


def _sql_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(series):
        return "INTEGER"
    if pd.api.types.is_float_dtype(series):
        return "REAL"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "DATETIME"
    return "TEXT"


def _prepare(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return ``frame`` ready for the GeoPackage and its manifest entry."""
    if not _LAYER_NAME.match(name) or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")):
        msg = N_(
            "{name!r} cannot be a plan layer name. Use letters, digits and underscores, "
            "starting with a letter (e.g. grids, grid_members)."
        )
        raise PlanStoreError(msg, name=name)
    if not isinstance(frame, pd.DataFrame):
        msg = N_("Layer {layer} is not a table (it is {kind}). Pass a DataFrame or GeoDataFrame.")
        raise PlanStoreError(msg, layer=name, kind=type(frame).__name__)
    spatial = isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name is not None
    geometry = frame.active_geometry_name if spatial else None
    columns = [c for c in frame.columns if c != geometry]
    clashes = [c for c in columns if str(c).lower() in {*_KEY_COLUMNS, "fid", "geom"}]
    duplicated = pd.Index([str(c).lower() for c in columns]).duplicated()
    if clashes or duplicated.any():
        bad = clashes or [c for c, d in zip(columns, duplicated, strict=True) if d]
        msg = N_(
            "Layer {layer} has columns the plan store keeps for itself or twice ({columns}). "
            "Rename them (plan_id, version, fid and geom are reserved; names ignore case)."
        )
        raise FieldError(msg, layer=name, columns=", ".join(map(str, bad)))
    out = pd.DataFrame(frame[columns]).copy()
    out.columns = [str(c) for c in columns]
    out.index = pd.RangeIndex(len(out))
    json_columns: list[str] = []
    dtypes: dict[str, str] = {}
    for column in out.columns:
        series = out[column]
        dtypes[column] = str(series.dtype)
        if isinstance(series.dtype, pd.CategoricalDtype):
            out[column] = series.astype(object).where(series.notna(), None)
        elif series.dtype == object and not all(_is_scalar(v) for v in series):
            out[column] = [
                None if v is None else json.dumps(_plain(v), ensure_ascii=False, default=str)
                for v in series
            ]
            json_columns.append(column)
    entry: dict[str, Any] = {
        "rows": len(out),
        "geometry": spatial,
        "columns": list(out.columns),
        "dtypes": dtypes,
        "json": json_columns,
    }
    if spatial:
        assert isinstance(frame, gpd.GeoDataFrame)
        crs = frame.crs
        entry["crs"] = crs.to_string() if crs is not None else None
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=crs)
    return out, entry


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, set):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def _restore(frame: pd.DataFrame, entry: Mapping[str, Any]) -> pd.DataFrame:
    """Undo what :func:`_prepare` did: JSON columns, column order and nullable dtypes."""
    frame = frame.drop(columns=[c for c in _KEY_COLUMNS if c in frame])
    for column in entry.get("json", []):
        if column in frame:
            frame[column] = [json.loads(v) if isinstance(v, str) else v for v in frame[column]]
    dtypes: Mapping[str, str] = entry.get("dtypes", {})
    for column, dtype in dtypes.items():
        if column not in frame or column in entry.get("json", []):
            continue
        if str(frame[column].dtype) == dtype:
            continue
        with contextlib.suppress(TypeError, ValueError):
            if dtype in {
                "Int8",
                "Int16",
                "Int32",
                "Int64",
                "UInt8",
                "UInt16",
                "UInt32",
                "UInt64",
                "boolean",
            } or (dtype.startswith(("int", "uint")) and frame[column].notna().all()):
                frame[column] = frame[column].astype(dtype)
            elif dtype == "bool" and frame[column].notna().all():
                frame[column] = frame[column].astype(bool)
            elif dtype.startswith("float"):
                frame[column] = frame[column].astype(dtype)
    listed = entry.get("columns")
    if listed is None:
        return frame
    order = [c for c in listed if c in frame]
    geometry = [frame.geometry.name] if isinstance(frame, gpd.GeoDataFrame) else []
    return frame[order + [g for g in geometry if g not in order]]


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _empty_frame(columns: tuple[str, ...], **dtypes: Any) -> pd.DataFrame:
    """An empty table with ``columns`` (text unless ``dtypes`` says otherwise)."""
    return pd.DataFrame(
        {column: pd.Series([], dtype=dtypes.get(column, object)) for column in columns}
    )


@contextlib.contextmanager
def _transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on ``path``: committed at the end of the block,
    rolled back on any error."""
    con = _connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


_INSERT_REVIEW = f"INSERT INTO reviews ({', '.join(_REVIEW_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"


def _audit_frame(rows: list[Any]) -> pd.DataFrame:
    """Return audit rows as the :data:`AUDIT_COLUMNS` frame (``allowed`` as bool)."""
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["allowed"] = frame["allowed"].astype(bool)
    return frame


_DATABASE_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def is_database_url(location: str | Path) -> bool:
    """Return whether ``location`` names a PostGIS database rather than a file.

    Only text starting with ``postgresql://``, ``postgresql+psycopg://`` or
    ``postgres://`` counts; a :class:`~pathlib.Path` is always a file.

    Examples
    --------
    >>> is_database_url("postgresql://planner@db.example.cn/plans"), is_database_url("plan.gpkg")
    (True, False)
    """
    return isinstance(location, str) and location.strip().lower().startswith(_DATABASE_SCHEMES)


def open_store(
    location: str | Path, *, plan_id: str | None = None, timeout: float = 60.0
) -> PlanStore | PostGISPlanStore:
    """Open the plan store at ``location``: a PostGIS database URL or a GeoPackage path.

    Both stores have the same API (``save``, ``versions``, ``latest_version``, ``info``,
    ``load``, ``set_status``, ``reviews``, ``record``, ``audit``, ``handover_copy``)
    and the same semantics: append-only versions, a review trail, an audit trail and a
    version check on save.

    Parameters
    ----------
    location
        ``postgresql://user:password@host:5432/dbname`` (or ``postgresql+psycopg://…``)
        for a team's PostGIS database (:class:`gis.pgstore.PostGISPlanStore`, which can
        hold many plans); anything else is the path of the plan's ``.gpkg``
        (:class:`PlanStore`, one plan per file).
    plan_id
        The plan to open. In a database, ``None`` opens its only plan (or starts a new
        one when it holds none); for a GeoPackage it names a new store's plan.
    timeout
        Seconds to wait for another session's save before giving up.

    Returns
    -------
    PlanStore or PostGISPlanStore
        The store (use it as a context manager to release it when done).

    Raises
    ------
    PlanStoreError
        When the file is not a plan store, or holds another plan; for a database, when
        it cannot be reached or has no PostGIS (:class:`gis.pgstore.PlanDatabaseError`).

    See Also
    --------
    is_database_url : which locations are databases.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> with open_store(path, plan_id="haidian-2026") as store:
    ...     store.save({"lineage": pd.DataFrame({"building_id": ["B1"]})}, author="王芳")
    ...     type(store).__name__, store.plan_id, store.latest_version()
    1
    ('PlanStore', 'haidian-2026', 1)
    """
    if is_database_url(location):
        from gis.pgstore import PostGISPlanStore

        return PostGISPlanStore(str(location).strip(), plan_id=plan_id, timeout=timeout)
    return PlanStore(location, plan_id=plan_id, timeout=timeout)


def is_plan_store(path: str | Path) -> bool:
    """Return whether ``path`` is a GeoPackage with a ``plans`` table of versions.

    Examples
    --------
    >>> from gis import datasets
    >>> is_plan_store(datasets.get_path("beijing"))
    False
    """
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".gpkg":
        return False
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        try:
            if "plans" not in _tables(con):
                return False
            return "version" in _columns(con, "plans")
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return False


# --------------------------------------------------------------------------------------
# what both stores share
# --------------------------------------------------------------------------------------
class _StoreCommon:
    """The public API of a plan store, with what does not depend on where plans are kept.

    :class:`PlanStore` (a GeoPackage) and :class:`gis.pgstore.PostGISPlanStore` (a
    PostGIS database) share the checks, the choice of a version, the frames built from
    rows and the docstrings kept here; each supplies only its I/O, the hooks declared
    first below.
    """

    # -- I/O each store supplies ---------------------------------------------------------
    @property
    def plan_id(self) -> str:
        """The plan's id."""
        raise NotImplementedError

    @property
    def _file(self) -> str:
        """How messages name the plan (``{file}``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the store holds."""
        raise NotImplementedError

    def _plans_rows(self) -> list[dict[str, Any]]:
        """Return the plan's committed ``plans`` rows, oldest first (none before a save)."""
        raise NotImplementedError

    _save: Callable[..., int]
    """Write a new version from the arguments of :meth:`save`; return its number."""

    def _read_layers(self, version: int, manifest: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
        """Return the layers of committed ``version``, each checked against its row count."""
        raise NotImplementedError

    def _write_status(self, version: int, status: str, author: str, comment: str) -> None:
        """Set ``version``'s status and append the review to the trail, together."""
        raise NotImplementedError

    def _review_rows(self) -> list[tuple[Any, ...]]:
        """Return the review trail's rows (columns ``_REVIEW_COLUMNS``), oldest first."""
        raise NotImplementedError

    def _write_audit(self, entry: dict[str, Any]) -> None:
        """Append one checked audit entry (keyed by :data:`AUDIT_COLUMNS`)."""
        raise NotImplementedError

    def _audit_rows(self) -> list[tuple[Any, ...]]:
        """Return the audit trail's rows (columns :data:`AUDIT_COLUMNS`), oldest first."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _row(self, version: int | None) -> dict[str, Any]:
        """Return the committed ``plans`` row of ``version`` (the latest for ``None``)."""
        rows = self._plans_rows()
        if not rows:
            msg = N_("The plan {file} has no saved version yet. Save the plan first.")
            raise PlanStoreError(msg, file=self._file)
        if version is None:
            return rows[-1]
        for row in rows:
            if int(row["version"]) == int(version):
                return row
        msg = N_("The plan {file} has no version {version}. Its versions are: {versions}.")
        raise PlanStoreError(
            msg,
            file=self._file,
            version=version,
            versions=", ".join(str(r["version"]) for r in rows),
        )

    @staticmethod
    def _checked_layers(
        layers: Mapping[str, pd.DataFrame], *, author: str, status: str, rules: Any
    ) -> tuple[dict[str, tuple[pd.DataFrame, dict[str, Any]]], str]:
        """Check a save's arguments; return ``{layer: (frame, manifest entry)}`` and the rules.

        Layers named in :data:`RESERVED_LAYERS` are skipped.
        """
        _check_status(status)
        if not str(author).strip():
            msg = N_("Say who saves the plan: author cannot be empty.")
            raise PlanStoreError(msg)
        prepared = {
            name: _prepare(name, frame)
            for name, frame in layers.items()
            if name not in RESERVED_LAYERS
        }
        if not prepared:
            msg = N_("There is nothing to save: pass at least one layer (e.g. grids).")
            raise PlanStoreError(msg)
        return prepared, rules_json(rules)

    # -- public API ---------------------------------------------------------------------
    def save(
        self,
        layers: Mapping[str, pd.DataFrame],
        *,
        author: str,
        status: str = "draft",
        note: str = "",
        rules: Any = None,
        base_version: int | None = None,
    ) -> int:
        """Save ``layers`` as a new version; return its number (1, 2, …).

        Parameters
        ----------
        layers
            ``{name: GeoDataFrame or DataFrame}``, e.g. ``grids``, ``grid_members``,
            ``proposals``, ``lineage``, ``patches``; other layers (``communities``,
            ``buildings``…) may be kept with the plan too. ``plans`` and ``reviews`` are
            skipped (the store writes them).
        author
            Who saves it.
        status
            One of :data:`PLAN_STATUSES`.
        note
            What changed, in the planner's words.
        rules
            The rule set the plan was made with (:func:`rules_json`).
        base_version
            The version the planner's work started from (``0`` for an empty plan). When
            given, the save is refused if someone else has saved a newer version since;
            the check and the append happen under the same lock (a database store: in
            one transaction, under the plan's advisory lock), so of two sessions that
            started from the same version exactly one saves. ``None`` saves regardless.

        Returns
        -------
        int
            The new version.

        Raises
        ------
        PlanConflictError
            When ``base_version`` is given and is no longer the latest version.
        PlanStoreError
            On an unknown status or layer name, or when another session holds the store
            for longer than ``timeout``.
        FieldError
            When a layer uses a reserved column name.

        Examples
        --------
        >>> import tempfile, pathlib, pandas as pd
        >>> store = PlanStore(pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg", plan_id="p1")
        >>> lineage = {"lineage": pd.DataFrame({"building_id": ["B1"]})}
        >>> store.save(lineage, author="王芳", base_version=0)
        1
        >>> store.save(lineage, author="李强", base_version=1)
        2
        >>> try:
        ...     store.save(lineage, author="王芳", base_version=1)
        ... except PlanConflictError as err:
        ...     print(err.params["latest"], err.params["author"])
        2 李强
        """
        return self._save(
            layers,
            author=author,
            status=status,
            note=note,
            rules=rules,
            base_version=base_version,
        )

    def versions(self) -> pd.DataFrame:
        """Return one row per committed version.

        Columns: ``plan_id``, ``version``, ``status``, ``author``, ``created_at``,
        ``note``, ``rules`` (JSON) and ``n_grids``.
        """
        columns = [*_PLANS_COLUMNS[:-1], "n_grids"]
        rows = []
        for row in self._plans_rows():
            layers = json.loads(row.pop("layers") or "{}")
            row["n_grids"] = int(layers.get("grids", {}).get("rows", 0))
            row["version"] = int(row["version"])
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def info(self, version: int | None = None) -> dict[str, Any]:
        """Return the ``plans`` row of ``version`` (latest by default), rules decoded."""
        row = dict(self._row(version))
        row["version"] = int(row["version"])
        row["rules"] = json.loads(row["rules"] or "{}")
        row["layers"] = json.loads(row["layers"] or "{}")
        return row

    def load(self, version: int | None = None) -> dict[str, pd.DataFrame]:
        """Return the layers of ``version`` (the latest by default), plus its ``plans`` row.

        Rows of versions that were never committed are never read. Each layer is checked
        against the row count committed with it.

        Raises
        ------
        PlanStoreError
            If there is no such version, or a layer does not hold the rows it was saved
            with (the file or the table was changed by other software).
        """
        row = self._row(version)
        v = int(row["version"])
        out = self._read_layers(v, json.loads(row["layers"] or "{}"))
        plans_row = {k: row[k] for k in _PLANS_COLUMNS if k != "layers"}
        plans_row["version"] = v
        out["plans"] = pd.DataFrame([plans_row])
        return out

    def set_status(self, version: int, status: str, *, author: str, comment: str = "") -> None:
        """Record a review: set ``version``'s status and append it to the ``reviews`` trail.

        The version's layers never change; only its ``status`` follows the latest review.

        Raises
        ------
        PlanStoreError
            On an unknown status or version.
        """
        _check_status(status)
        self._row(version)  # exists
        self._write_status(int(version), status, str(author), str(comment))

    def reviews(self) -> pd.DataFrame:
        """Return the review trail: ``version``, ``status``, ``author``, ``at``, ``comment``."""
        return pd.DataFrame(self._review_rows(), columns=list(_REVIEW_COLUMNS))

    def record(
        self,
        action: str,
        *,
        user: str,
        role: str = "",
        allowed: bool = True,
        target: str = "",
        detail: str = "",
    ) -> None:
        """Append one entry to the plan's audit trail (who did or tried what, when).

        Parameters
        ----------
        action
            What was done or tried, e.g. ``"sign_in"``, ``"save"``, ``"set_status"``.
        user
            Who did it.
        role
            The user's role at the time, e.g. ``"planner"``, ``"reviewer"``.
        allowed
            ``False`` for a refused attempt (kept, so refusals can be reviewed too).
        target
            What it was done to, e.g. ``"version 3"``.
        detail
            Anything else worth keeping, in plain words.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = PlanStore(pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg", plan_id="p1")
        >>> store.record("set_status", user="李强", role="planner", allowed=False,
        ...              target="version 1", detail="reviewers only")
        >>> store.audit()[["user", "action", "allowed"]].to_dict("records")
        [{'user': '李强', 'action': 'set_status', 'allowed': False}]
        """
        _check_action(action, user)
        self._write_audit(
            {
                "plan_id": self.plan_id,
                "at": _now(),
                "user": str(user),
                "role": str(role),
                "action": str(action),
                "target": str(target),
                "allowed": bool(allowed),
                "detail": str(detail),
            }
        )

    def audit(self) -> pd.DataFrame:
        """Return the audit trail, oldest first (columns :data:`AUDIT_COLUMNS`)."""
        return _audit_frame(self._audit_rows())


# --------------------------------------------------------------------------------------
# the store
# --------------------------------------------------------------------------------------
class PlanStore(_StoreCommon):
    """One plan's GeoPackage: append-only versions, a review trail, one writer at a time.

    Parameters
    ----------
    path
        The plan's ``.gpkg`` (created by the first :meth:`save`).
    plan_id
        The plan's id, for a new store (a random id by default). An existing store keeps
        its own; naming a different one is an error.
    timeout
        Seconds to wait for another session's save before giving up.

    Notes
    -----
    The object holds no open connection: every call opens and closes its own, so one
    store may be used from several threads, processes or Streamlit sessions. Use it as a
    context manager (or call :meth:`close`) to put the file back into a single-file
    journal mode when done.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> with PlanStore(path, plan_id="haidian-2026") as store:
    ...     store.save({"lineage": pd.DataFrame({"building_id": ["B1"]})}, author="王芳")
    ...     store.plan_id, store.latest_version()
    1
    ('haidian-2026', 1)
    """

    def __init__(
        self, path: str | Path, *, plan_id: str | None = None, timeout: float = 60.0
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._plan_id = plan_id
        self._lock = filelock.FileLock(str(self.path) + ".lock", timeout=timeout)
        self._wal = False
        if self.path.exists():
            if not is_plan_store(self.path):
                msg = N_(
                    "{file} is not a gridplan plan store (it has no plans table). Choose a new "
                    "file name for the plan, or open the file with gis.plan.read_plan."
                )
                raise PlanStoreError(msg, file=self.path.name)
            stored = self._stored_plan_id()
            if plan_id is not None and stored is not None and stored != plan_id:
                msg = N_("{file} holds plan {stored}, not plan {plan_id}. Open the right file.")
                raise PlanStoreError(msg, file=self.path.name, stored=stored, plan_id=plan_id)

    # -- context ------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"PlanStore({str(self.path)!r})"

    def close(self) -> None:
        """Checkpoint the WAL and return the file to one file (journal mode DELETE).

        While another process still has the file open it stays in WAL mode; the last
        one to close it makes it a single file.
        """
        if not self._wal or not self.path.exists():
            return
        with (
            contextlib.suppress(PlanStoreError, sqlite3.OperationalError),
            self._locked(timeout=5.0),
        ):
            self._set_journal("DELETE")
        self._wal = False

    @property
    def _file(self) -> str:
        return self.path.name

    @property
    def plan_id(self) -> str:
        """The plan's id (fixed when the first version is saved)."""
        stored = self._stored_plan_id() if self.path.exists() else None
        if stored is not None:
            return stored
        if self._plan_id is None:
            self._plan_id = uuid.uuid4().hex[:16]
        return self._plan_id

    # -- internals ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, *, timeout: float | None = None) -> Iterator[None]:
        try:
            self._lock.acquire(timeout=self.timeout if timeout is None else timeout)
        except filelock.Timeout:
            msg = N_(
                "Another session has been saving {file} for more than {seconds:.0f} s. Wait for "
                "it to finish and try again."
            )
            raise PlanStoreError(
                msg, file=self.path.name, seconds=self.timeout if timeout is None else timeout
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    def _open_wal(self) -> None:
        """Switch the file to WAL for this session's writes (readers never block them)."""
        if not self._wal:
            self._set_journal("WAL")
            self._wal = True

    def _set_journal(self, mode: str) -> None:
        con = _connect(self.path)
        try:
            if mode == "DELETE":
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute(f"PRAGMA journal_mode = {mode}")
        except sqlite3.OperationalError:
            if mode != "DELETE":
                raise
        finally:
            con.close()

    def _stored_plan_id(self) -> str | None:
        con = _connect(self.path)
        try:
            row = con.execute("SELECT plan_id FROM plans ORDER BY version LIMIT 1").fetchone()
        finally:
            con.close()
        return None if row is None else str(row[0])

    def _create(self) -> None:
        """Create an empty store: ``plans`` and ``reviews`` tables, then move it in place."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{self.path.stem}-", suffix=".gpkg", dir=self.path.parent
        )
        os.close(fd)
        tmp = Path(name)
        tmp.unlink()
        try:
            plans = _empty_frame(_PLANS_COLUMNS, version="int64")
            reviews = _empty_frame(_REVIEW_COLUMNS, version="int64")
            pyogrio.write_dataframe(plans, tmp, layer="plans", driver="GPKG")
            pyogrio.write_dataframe(reviews, tmp, layer="reviews", driver="GPKG")
            con = _connect(tmp)
            try:
                con.execute("CREATE UNIQUE INDEX plans_version ON plans (version)")
                con.execute("CREATE INDEX reviews_version ON reviews (version)")
            finally:
                con.close()
            os.replace(tmp, self.path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _clean_uncommitted(self, con: sqlite3.Connection) -> int:
        """Delete the rows of versions never committed (a killed writer's); return how many."""
        removed = 0
        for table in _tables(con):
            if table in RESERVED_LAYERS or "version" not in _columns(con, table):
                continue
            cur = con.execute(
                f"DELETE FROM {_quote(table)} WHERE version NOT IN (SELECT version FROM plans)"
            )
            removed += max(cur.rowcount, 0)
        return removed

    def _next_version(self, con: sqlite3.Connection) -> int:
        highest = con.execute("SELECT COALESCE(MAX(version), 0) FROM plans").fetchone()[0]
        for table in _tables(con):
            if table not in RESERVED_LAYERS and "version" in _columns(con, table):
                top = con.execute(
                    f"SELECT COALESCE(MAX(version), 0) FROM {_quote(table)}"
                ).fetchone()[0]
                highest = max(highest, top)
        return int(highest) + 1

    def _append(
        self, name: str, frame: pd.DataFrame, entry: dict[str, Any], *, version: int
    ) -> None:
        """Append one layer's rows for ``version`` (one GDAL transaction)."""
        keyed = frame.copy()
        keyed.insert(0, "version", np.full(len(keyed), version, dtype="int64"))
        keyed.insert(0, "plan_id", pd.Series([self.plan_id] * len(keyed), dtype=object))
        con = _connect(self.path)
        try:
            tables = _tables(con)
            exists = name in tables
            if exists:
                _check_kind(
                    name, spatial_table=tables[name] == "features", spatial=entry["geometry"]
                )
                have = {c.lower() for c in _columns(con, name)}
                for column in keyed.columns:
                    if entry["geometry"] and column == keyed.active_geometry_name:
                        continue
                    if str(column).lower() not in have:
                        con.execute(
                            f"ALTER TABLE {_quote(name)} ADD COLUMN {_quote(column)} {_sql_type(keyed[column])}"
                        )
        finally:
            con.close()
        if entry["geometry"]:
            assert isinstance(keyed, gpd.GeoDataFrame)
            if exists:
                info = pyogrio.read_info(self.path, layer=name)
                if info["crs"] and keyed.crs is not None and keyed.crs != info["crs"]:
                    keyed = keyed.to_crs(info["crs"])
            pyogrio.write_dataframe(
                keyed,
                self.path,
                layer=name,
                driver="GPKG",
                append=exists,
                geometry_type=None if exists else "Unknown",
                promote_to_multi=False,
            )
        else:
            pyogrio.write_dataframe(
                pd.DataFrame(keyed), self.path, layer=name, driver="GPKG", append=exists
            )
        if not exists:
            con = _connect(self.path)
            try:
                con.execute(
                    f"CREATE INDEX IF NOT EXISTS {_quote(name + '_version')} ON {_quote(name)} (version)"
                )
            finally:
                con.close()

    def _read(self, query: Callable[[sqlite3.Connection], list[Any]]) -> list[Any]:
        """Return what ``query`` reads on its own connection (nothing before the file exists)."""
        if not self.path.exists():
            return []
        con = _connect(self.path)
        try:
            return query(con)
        finally:
            con.close()

    def _plans_rows(self, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(_PLANS_COLUMNS)} FROM plans {where} ORDER BY version"
        rows = self._read(lambda con: con.execute(sql, params).fetchall())
        return [dict(zip(_PLANS_COLUMNS, row, strict=True)) for row in rows]

    # -- I/O behind the public API (see _StoreCommon) -----------------------------------
    def _save(
        self,
        layers: Mapping[str, pd.DataFrame],
        *,
        author: str,
        status: str,
        note: str,
        rules: Any,
        version: int | None = None,
        created_at: str | None = None,
        base_version: int | None = None,
    ) -> int:
        prepared, rules_text = self._checked_layers(
            layers, author=author, status=status, rules=rules
        )
        with self._locked():
            if not self.path.exists():
                self._create()
            self._open_wal()
            con = _connect(self.path)
            try:
                self._clean_uncommitted(con)
                next_version = self._next_version(con)
                latest = con.execute(
                    "SELECT version, author, created_at FROM plans ORDER BY version DESC LIMIT 1"
                ).fetchone()
            finally:
                con.close()
            _check_base(
                base_version,
                None
                if latest is None
                else dict(zip(("version", "author", "created_at"), latest, strict=True)),
                plan_id=self.plan_id,
            )
            if version is None:
                version = next_version
            elif version < next_version:
                msg = N_(
                    "Version {version} of {file} exists already; a saved version is never replaced."
                )
                raise PlanStoreError(msg, version=version, file=self.path.name)
            for name, (frame, entry) in prepared.items():
                self._append(name, frame, entry, version=version)
            manifest = {name: entry for name, (_frame, entry) in prepared.items()}
            created = created_at or _now()
            with _transaction(self.path) as con:  # the version exists once this commits
                con.execute(
                    f"INSERT INTO plans ({', '.join(_PLANS_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.plan_id,
                        version,
                        status,
                        str(author),
                        created,
                        str(note),
                        rules_text,
                        json.dumps(manifest, ensure_ascii=False),
                    ),
                )
                con.execute(
                    _INSERT_REVIEW, (self.plan_id, version, status, str(author), created, str(note))
                )
        return version

    def latest_version(self) -> int | None:
        """Return the highest committed version, or ``None`` for an empty store."""
        if not self.path.exists():
            return None
        rows = self._plans_rows()
        return int(rows[-1]["version"]) if rows else None

    def _read_layers(self, version: int, manifest: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for name, entry in manifest.items():
            where = f"version = {version}"
            try:
                if entry.get("geometry"):
                    frame: pd.DataFrame = pyogrio.read_dataframe(self.path, layer=name, where=where)
                else:
                    frame = pyogrio.read_dataframe(
                        self.path, layer=name, where=where, read_geometry=False
                    )
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                msg = N_("Layer {layer} of version {version} in {file} cannot be read ({error}).")
                raise PlanStoreError(
                    msg, layer=name, version=version, file=self.path.name, error=str(exc)
                ) from None
            if len(frame) != int(entry.get("rows", len(frame))):
                msg = N_(
                    "Layer {layer} of version {version} in {file} has {actual} rows but was saved "
                    "with {saved}: the file was changed outside gridplan. Load another version, "
                    "or restore the file from a hand-over copy."
                )
                raise PlanStoreError(
                    msg,
                    layer=name,
                    version=version,
                    file=self.path.name,
                    actual=len(frame),
                    saved=entry["rows"],
                )
            out[name] = _restore(frame, entry)
        return out

    def _write_status(self, version: int, status: str, author: str, comment: str) -> None:
        with self._locked():
            self._open_wal()
            with _transaction(self.path) as con:
                con.execute("UPDATE plans SET status = ? WHERE version = ?", (status, version))
                con.execute(
                    _INSERT_REVIEW, (self.plan_id, version, status, author, _now(), comment)
                )

    def _review_rows(self) -> list[tuple[Any, ...]]:
        sql = f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM reviews ORDER BY fid"
        return self._read(lambda con: con.execute(sql).fetchall())

    def _write_audit(self, entry: dict[str, Any]) -> None:
        row = tuple(int(entry[c]) if c == "allowed" else entry[c] for c in AUDIT_COLUMNS)
        with self._locked():
            if not self.path.exists():
                self._create()
            self._open_wal()
            con = _connect(self.path)
            try:
                has_audit = "audit" in _tables(con)
            finally:
                con.close()
            if not has_audit:  # made by the first entry
                pyogrio.write_dataframe(
                    _empty_frame(AUDIT_COLUMNS, allowed=bool),
                    self.path,
                    layer="audit",
                    driver="GPKG",
                )
            con = _connect(self.path)
            try:
                columns = ", ".join(_quote(c) for c in AUDIT_COLUMNS)
                con.execute(f"INSERT INTO audit ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            finally:
                con.close()

    def _audit_rows(self) -> list[tuple[Any, ...]]:
        columns = ", ".join(_quote(c) for c in AUDIT_COLUMNS)
        sql = f"SELECT {columns} FROM audit ORDER BY fid"
        return self._read(
            lambda con: con.execute(sql).fetchall() if "audit" in _tables(con) else []
        )

    def handover_copy(self, out: str | Path) -> Path:
        """Write a clean single-file copy of the store (see :func:`handover_copy`)."""
        return handover_copy(self.path, out)


def _check_status(status: str) -> None:
    if status not in PLAN_STATUSES:
        msg = N_("{status!r} is not a plan status. Use one of: {statuses}.")
        raise PlanStoreError(msg, status=status, statuses=", ".join(PLAN_STATUSES))


# --------------------------------------------------------------------------------------
# hand-over copies and reading exports back
# --------------------------------------------------------------------------------------
def handover_copy(path: str | Path, out: str | Path) -> Path:
    """Write one clean file to hand on: every committed version, no WAL, no leftovers.

    The copy is made with SQLite's ``VACUUM INTO`` (a consistent snapshot even while a
    session is saving), rows of uncommitted versions are dropped, and the copy is put in
    ``journal_mode=DELETE``: a single ``.gpkg`` that QGIS or ArcGIS opens as it is. It is
    written beside ``out`` and moved into place.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with PlanStore(folder / "plan.gpkg") as store:
    ...     store.save({"lineage": pd.DataFrame({"building_id": ["B1"]})}, author="王芳")
    1
    >>> copy = handover_copy(folder / "plan.gpkg", folder / "handover.gpkg")
    >>> PlanStore(copy).versions()["version"].tolist(), sorted(p.name for p in folder.iterdir())
    ([1], ['handover.gpkg', 'plan.gpkg', 'plan.gpkg.lock'])
    """
    path, out = Path(path), Path(out)
    if not is_plan_store(path):
        msg = N_("{file} is not a gridplan plan store, so it has no versions to hand over.")
        raise PlanStoreError(msg, file=path.name)
    with atomic_path(out) as tmp:
        try:
            _vacuum_into(path, tmp)
        finally:
            journal = Path(f"{tmp}-journal")
            if journal.exists():
                journal.unlink()
    return out


def _vacuum_into(path: Path, tmp: Path) -> None:
    """Copy the committed versions of a plan store into ``tmp``, one clean file."""
    con = _connect(path)
    try:
        con.execute("VACUUM INTO ?", (str(tmp),))
    finally:
        con.close()
    con = _connect(tmp)
    try:
        con.execute("PRAGMA journal_mode = DELETE")
        for table in _tables(con):
            if table not in RESERVED_LAYERS and "version" in _columns(con, table):
                con.execute(
                    f"DELETE FROM {_quote(table)} WHERE version NOT IN (SELECT version FROM plans)"
                )
        con.execute("VACUUM")
    finally:
        con.close()


def write_version(
    out: str | Path,
    layers: Mapping[str, pd.DataFrame],
    *,
    plan_id: str | None = None,
    version: int = 1,
    status: str = "draft",
    author: str = "gridplan",
    created_at: str | None = None,
    note: str = "",
    rules: Any = None,
) -> Path:
    """Write one version of a plan as a new single-file plan GeoPackage (an export).

    The file is a plan store holding just that version, with its plan id, number,
    status, author and time, written beside ``out`` and moved into place.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "v7.gpkg"
    >>> lineage = pd.DataFrame({"building_id": ["B1"]})
    >>> _ = write_version(out, {"lineage": lineage}, plan_id="p1", version=7)
    >>> PlanStore(out).versions()[["plan_id", "version"]].to_dict("records")
    [{'plan_id': 'p1', 'version': 7}]
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=".gpkg", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    store = PlanStore(tmp, plan_id=plan_id)
    try:
        store._save(
            layers,
            author=author,
            status=status,
            note=note,
            rules=rules,
            version=int(version),
            created_at=created_at,
        )
        store.close()
        os.replace(tmp, out)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}.lock")):
            if leftover.exists():
                leftover.unlink()
    return out


def read_exported(path: str | Path, *, version: int | None = None) -> dict[str, pd.DataFrame]:
    """Read a plan back from an export: a plan GeoPackage or a shapefile zip.

    Parameters
    ----------
    path
        A ``.gpkg`` written by :class:`PlanStore`, :func:`handover_copy` or
        :func:`gis.export.export_plan` (any plain GeoPackage of layers works too), or a
        ``.zip`` of shapefiles written by :func:`gis.export.export_plan`, whose long field
        names are restored from its ``field_names.csv``.
    version
        For a plan store, the version (the latest by default).

    Returns
    -------
    dict
        ``{layer: GeoDataFrame or DataFrame}`` with the original column names and types.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> from gis.export import export_plan
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"],
    ...                           "special_service_households": [2]},
    ...                          geometry=[box(116.3, 40, 116.31, 40.01)], crs=4490)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan.zip"
    >>> written = export_plan({"grids": grids}, out, format="shp", encoding="gbk")
    >>> back = read_exported(out)
    >>> back["grids"][["grid_code", "special_service_households"]].to_dict("records")
    [{'grid_code': '110108001001001', 'special_service_households': 2}]
    """
    path = Path(path)
    if not path.exists():
        msg = N_("The file {file} does not exist. Check the path and the file name.")
        raise LayerReadError(msg, file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        from gis.plan import read_plan

        return read_plan(path, version=version)
    if suffix == ".zip":
        from gis.export import read_shapefile_zip

        return read_shapefile_zip(path)
    msg = N_(
        "{file} is not a plan export gridplan can read back. Use the GeoPackage (.gpkg) or the "
        "shapefile zip (.zip) export."
    )
    raise LayerReadError(msg, file=path.name)
