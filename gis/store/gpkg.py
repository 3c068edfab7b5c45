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
written. :func:`gis.store.open_store` opens this store or, for a ``postgresql://`` URL, the same
store in a team's PostGIS database (:mod:`gis.store.postgis`).

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
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import filelock
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from gis.errors import LayerReadError, PlanStoreError
from gis.i18n import N_
from gis.layers import decode_layer
from gis.store._tables import (
    _META,
    _carried,
    _where_sql,
    _PLANS_COLUMNS,
    _REVIEW_COLUMNS,
    AUDIT_COLUMNS,
    RESERVED_LAYERS,
    _check_base,
    _check_kind,
    _empty_frame,
    _now,
    _quote,
    _StoreCommon,
)
from gis.store.files import atomic_path

__all__ = [
    "PlanStore",
    "handover_copy",
    "is_plan_store",
    "read_exported",
    "read_plan",
    "write_version",
]


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def _tables(con: sqlite3.Connection) -> dict[str, str]:
    """Return ``{table: data_type}`` of the GeoPackage's contents."""
    rows = con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in con.execute(f"PRAGMA table_info({_quote(table)})")]


def _in_table_order(frame: pd.DataFrame, table: list[str], *, spatial: bool) -> pd.DataFrame:
    """``frame``'s columns in the order of an existing table's (matched without case)."""
    geometry = frame.active_geometry_name if spatial and isinstance(frame, gpd.GeoDataFrame) else None
    by_lower = {str(c).lower(): c for c in frame.columns if c != geometry}
    skip = {"fid", "geom", "geometry", str(geometry).lower()}
    order: list[Any] = []
    for column in table:
        if column.lower() in skip and column.lower() not in by_lower:
            continue
        if column.lower() not in by_lower:
            frame = frame.assign(**{column: None})
            by_lower[column.lower()] = column
        order.append(by_lower[column.lower()])
    order += [c for c in by_lower.values() if c not in order]
    return frame[order + ([geometry] if geometry is not None else [])]


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
                    "file name for the plan, or open the file with gis.store.read_plan."
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
                # GDAL appends a row's fields by position: the frame takes the table's
                # column order (a column this version lacks is written empty), or a
                # version with other columns than the first would land shifted
                keyed = _in_table_order(keyed, _columns(con, name), spatial=entry["geometry"])
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
                if "community_id" in keyed.columns:  # a city opens one community at a time
                    con.execute(
                        f"CREATE INDEX IF NOT EXISTS {_quote(name + '_community')} "
                        f"ON {_quote(name)} (version, community_id)"
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
        carry: bool | Collection[str] = False,
        carry_from: int | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        prepared, rules_text = self._checked_layers(
            layers, author=author, status=status, rules=rules, carry=carry
        )
        with self._locked():
            if not self.path.exists():
                self._create()
            self._open_wal()
            con = _connect(self.path)
            try:
                self._clean_uncommitted(con)
                next_version = self._next_version(con)
                keys = ("version", "author", "created_at", "layers")
                row = con.execute(
                    "SELECT version, author, created_at, layers FROM plans "
                    "ORDER BY version DESC LIMIT 1"
                ).fetchone()
                source = row
                if carry_from is not None:
                    source = con.execute(
                        "SELECT version, author, created_at, layers FROM plans WHERE version = ?",
                        (int(carry_from),),
                    ).fetchone()
            finally:
                con.close()
            if carry_from is not None and source is None:
                raise self._no_version(int(carry_from))
            latest = None if row is None else dict(zip(keys, row, strict=True))
            _check_base(base_version, latest, plan_id=self.plan_id)
            carried = _carried(
                None if source is None else dict(zip(keys, source, strict=True)),
                carry,
                saved=prepared,
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
            manifest = {
                **carried,
                **{name: entry for name, (_frame, entry) in prepared.items()},
                _META: dict(meta or {}),
            }
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

    def _read_layers(
        self,
        version: int,
        manifest: Mapping[str, Any],
        *,
        where: Mapping[str, Collection[Any]] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for name, entry in manifest.items():
            filtered = _where_sql(where, entry.get("columns", []))
            sql = f"version = {int(version)}{filtered}"
            box = bbox if bbox is not None and entry.get("geometry") and not filtered else None
            try:
                # Arrow reads a layer 2–5× faster than row by row (1M-household city:
                # buildings 0.54 → 0.17 s); decode_layer restores the saved dtypes
                if entry.get("geometry"):
                    frame: pd.DataFrame = pyogrio.read_dataframe(
                        self.path, layer=name, where=sql, bbox=box, use_arrow=True
                    )
                else:
                    frame = pyogrio.read_dataframe(
                        self.path, layer=name, where=sql, read_geometry=False, use_arrow=True
                    )
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                msg = N_("Layer {layer} of version {version} in {file} cannot be read ({error}).")
                raise PlanStoreError(
                    msg, layer=name, version=version, file=self.path.name, error=str(exc)
                ) from None
            if not filtered and box is None and len(frame) != int(entry.get("rows", len(frame))):
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
            out[name] = decode_layer(frame, entry)
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


def read_plan(path: str | Path, *, version: int | None = None) -> dict[str, pd.DataFrame]:
    """Read every layer of a plan GeoPackage.

    A plan store (:class:`gis.store.PlanStore`, or an export of one) gives the layers of
    ``version`` (the latest by default) and its ``plans`` row; rows of other versions
    are left out.
    """
    path = Path(path)
    if not path.exists():
        msg = N_("The file {file} does not exist.")
        raise LayerReadError(msg, file=str(path))
    if is_plan_store(path):
        return PlanStore(path).load(version)
    out: dict[str, pd.DataFrame] = {}
    for name, geometry_type in pyogrio.list_layers(path):
        if geometry_type is None:
            out[str(name)] = pyogrio.read_dataframe(path, layer=name, read_geometry=False)
        else:
            out[str(name)] = gpd.read_file(path, layer=name)
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
        return read_plan(path, version=version)
    if suffix == ".zip":
        from gis.io import read_shapefile_zip

        return read_shapefile_zip(path)
    msg = N_(
        "{file} is not a plan export gridplan can read back. Use the GeoPackage (.gpkg) or the "
        "shapefile zip (.zip) export."
    )
    raise LayerReadError(msg, file=path.name)
