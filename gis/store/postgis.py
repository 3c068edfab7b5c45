"""The plan store in a team's PostGIS database: many plans, append-only versions.

:class:`PostGISPlanStore` has the API and the semantics of :class:`gis.store.PlanStore`
(``save``, ``versions``, ``latest_version``, ``info``, ``load``, ``set_status``,
``reviews``, ``record``, ``audit``, ``handover_copy``), for a database that the
planners of a district share. Open either with :func:`gis.store.open_store`.

Schema
------
All tables live in one schema (``gridplan`` by default) and hold every plan of the
database, keyed by ``plan_id``:

==============  ==============================================================
``plans``       ``plan_id``, ``version`` (primary key together), ``status``,
                ``author``, ``created_at``, ``note``, ``rules`` (JSON), ``layers``
                (JSON: rows and column types of each layer)
``reviews``     the review trail: ``plan_id``, ``version``, ``status``, ``author``,
                ``at``, ``comment``
``audit``       the audit trail: ``plan_id``, ``at``, ``user``, ``role``, ``action``,
                ``target``, ``allowed``, ``detail``
each layer      ``grids``, ``grid_members``, ``proposals``, ``lineage``… : one table per
                layer name shared by all plans and versions, with ``fid``,
                ``plan_id``, ``version``, the layer's columns and, for a layer with
                shapes, ``geom`` (``geometry`` in the CRS of its first save, e.g.
                EPSG:4490; later saves are reprojected to it)
==============  ==============================================================

How a save stays atomic and race-free
-------------------------------------
A save is **one** database transaction: it takes the plan's advisory lock
(``pg_advisory_xact_lock``), reads the latest version (the ``base_version`` check),
inserts the rows of every layer and then the version's ``plans`` and ``reviews`` rows,
and commits. Two writers of one plan take turns on the lock, so the version check and
the append can never interleave; a writer that fails or is killed leaves nothing
behind (PostgreSQL rolls its transaction back). New layer tables and new columns (a
later version may bring columns an earlier one did not have; a column whose type
changes is widened, to ``double precision`` or ``text``) are made before that
transaction, one short transaction per table under a database-wide lock, so writers of
different plans never deadlock on them.

Rows are written with :meth:`pandas.DataFrame.to_sql` and GeoAlchemy2's ``Geometry``
type (what :meth:`geopandas.GeoDataFrame.to_postgis` does, but with ``INSERT`` rather
than CSV ``COPY``, which cannot tell an empty text from a missing one) and read with
:func:`geopandas.read_postgis`.

Examples
--------
A store needs a PostgreSQL server with PostGIS::

    from gis.store import open_store

    with open_store("postgresql://planner@db.example.cn/plans", plan_id="haidian-2026") as store:
        base = store.latest_version() or 0
        store.save({"grids": grids}, author="王芳", base_version=base)
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from gis.errors import FieldError, PlanStoreError
from gis.i18n import N_
from gis.layers import decode_layer
from gis.store._tables import (
    _META,
    _carried,
    _PLANS_COLUMNS,
    _REVIEW_COLUMNS,
    AUDIT_COLUMNS,
    _check_base,
    _check_kind,
    _now,
    _quote,
    _StoreCommon,
)
from gis.store.files import atomic_path
from gis.store.gpkg import PlanStore

__all__ = ["PlanDatabaseError", "PostGISPlanStore", "database_url"]

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_MAX_IDENTIFIER_BYTES = 63
_SCHEMES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
_BOOL_TEXT = {"true": True, "false": False, "t": True, "f": False}


class PlanDatabaseError(PlanStoreError):
    """The plan database cannot be used: unreachable, no PostGIS, or a malformed URL."""


def database_url(url: str) -> sa.URL:
    """Return ``url`` as a SQLAlchemy URL for psycopg 3.

    ``postgresql://`` and ``postgres://`` URLs are given the ``psycopg`` driver.

    Examples
    --------
    >>> database_url("postgresql://王芳:secret@db.example.cn:5433/plans").drivername
    'postgresql+psycopg'
    >>> database_url("postgres://db/plans").render_as_string(hide_password=True)
    'postgresql+psycopg://db/plans'
    """
    try:
        parsed = sa.make_url(str(url).strip())
    except sa.exc.ArgumentError:
        msg = N_(
            "{url} is not a database URL. Write it as "
            "postgresql://user:password@host:5432/database."
        )
        raise PlanDatabaseError(msg, url=str(url)) from None
    driver = _SCHEMES.get(parsed.drivername, parsed.drivername)
    if not driver.startswith("postgresql") or not parsed.database:
        msg = N_(
            "{url} is not a database URL. Write it as "
            "postgresql://user:password@host:5432/database."
        )
        raise PlanDatabaseError(msg, url=parsed.render_as_string(hide_password=True))
    return parsed.set(drivername=driver)


def _pg_type(series: pd.Series) -> str:
    """Return the PostgreSQL column type for a prepared layer column."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return "timestamp with time zone"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp without time zone"
    return "text"


def _widened(have: str, want: str) -> str | None:
    """Return the type to change a column of type ``have`` to, to store ``want`` values."""
    if have == want or have == "text":
        return None
    if have == "double precision" and want == "bigint":
        return None
    if have == "bigint" and want == "double precision":
        return "double precision"
    return "text"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


class PostGISPlanStore(_StoreCommon):
    """One plan in a PostGIS database: append-only versions, review and audit trails.

    Parameters
    ----------
    url
        ``postgresql://user:password@host:5432/database`` (the ``psycopg`` driver is
        used; ``postgresql+psycopg://`` works too). The database needs PostGIS.
    plan_id
        The plan. ``None`` opens the database's only plan, or starts a new plan with a
        random id when it holds none.
    timeout
        Seconds to wait for another session's save of this plan before giving up.
    schema
        The database schema of gridplan's tables (made if missing).
    schema_checked
        The caller has already checked PostGIS and made the schema's tables through
        another store of this database (:class:`gis.store.workspace.Workspace` does, once
        per workspace): skip the check (a few queries) when opening this one.

    Raises
    ------
    PlanDatabaseError
        When the database cannot be reached or lacks PostGIS.
    PlanStoreError
        When ``plan_id`` is ``None`` and the database holds several plans.

    Notes
    -----
    The object holds no open connection between calls (each call opens and closes
    its own), so it may be shared by threads; :meth:`close` releases the engine.

    See Also
    --------
    gis.store.PlanStore : the same store in one GeoPackage file.
    gis.store.open_store : opens either store from a path or a URL.
    """

    def __init__(
        self,
        url: str,
        *,
        plan_id: str | None = None,
        timeout: float = 60.0,
        schema: str = "gridplan",
        schema_checked: bool = False,
    ) -> None:
        if not _IDENTIFIER.match(schema):
            msg = N_(
                "{name!r} cannot be a plan layer name. Use letters, digits and underscores, "
                "starting with a letter (e.g. grids, grid_members)."
            )
            raise PlanStoreError(msg, name=schema)
        self.url = database_url(url)
        self.timeout = timeout
        self.schema = schema
        self._engine: Engine = sa.create_engine(
            self.url,
            poolclass=NullPool,
            connect_args={
                "connect_timeout": max(1, min(int(timeout), 15)),
                "application_name": "gridplan",
            },
        )
        if not schema_checked:
            self._setup()
        self._plan_id = plan_id if plan_id is not None else self._only_plan()

    # -- context ------------------------------------------------------------------------
    def __repr__(self) -> str:
        shown = self.url.render_as_string(hide_password=True)
        return f"PostGISPlanStore({shown!r}, plan_id={self.plan_id!r})"

    def close(self) -> None:
        """Release the database engine (the store opens a new one when used again)."""
        self._engine.dispose()

    @property
    def plan_id(self) -> str:
        """The plan's id."""
        return self._plan_id

    @property
    def label(self) -> str:
        """How messages name this store: the database and the plan."""
        return f"{self.url.database}/{self.plan_id}"

    @property
    def _file(self) -> str:
        return self.plan_id

    # -- connections --------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection]:
        """Yield a connection in a transaction (committed when the block succeeds)."""
        try:
            con = self._engine.connect()
        except sa.exc.OperationalError as exc:
            msg = N_(
                "Cannot reach the plan database {url} ({error}). Check that the PostgreSQL "
                "server is running and that the host, port, database, user and password in "
                "the URL (or in GRIDPLAN_DB) are right."
            )
            raise PlanDatabaseError(
                msg, url=self.url.render_as_string(hide_password=True), error=_first_line(exc)
            ) from None
        try:
            with con.begin():
                if write:
                    con.execute(sa.text(f"SET LOCAL lock_timeout = '{int(self.timeout * 1000)}ms'"))
                yield con
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                msg = N_(
                    "Another session has been saving {file} for more than {seconds:.0f} s. "
                    "Wait for it to finish and try again."
                )
                raise PlanStoreError(msg, file=self.label, seconds=self.timeout) from None
            raise
        finally:
            con.close()

    def _lock(self, con: Connection, key: str) -> None:
        con.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"gridplan:{self.schema}:{key}"},
        )

    def _table(self, name: str) -> str:
        return f"{_quote(self.schema)}.{_quote(name)}"

    def _setup(self) -> None:
        """Check PostGIS; make the schema and the ``plans``/``reviews``/``audit`` tables."""
        with self._connect() as con:
            postgis = con.execute(
                sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar()
            if postgis is None:
                msg = N_(
                    "The database {database} has no PostGIS. Ask its administrator to run "
                    "CREATE EXTENSION postgis; in it (the server needs the PostGIS package, "
                    "e.g. postgresql-15-postgis-3 on Debian)."
                )
                raise PlanDatabaseError(msg, database=self.url.database)
            ready = all(
                con.execute(sa.text("SELECT to_regclass(:t)"), {"t": f"{self.schema}.{t}"}).scalar()
                for t in ("plans", "reviews", "audit")
            )
        if ready:
            return
        s = _quote(self.schema)
        with self._connect(write=True) as con:
            self._lock(con, "ddl")
            con.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {s}"))
            con.execute(
                sa.text(
                    f"CREATE TABLE IF NOT EXISTS {s}.plans (plan_id text NOT NULL, "
                    "version integer NOT NULL, status text NOT NULL, author text NOT NULL, "
                    "created_at text NOT NULL, note text NOT NULL DEFAULT '', "
                    "rules text NOT NULL DEFAULT '{}', layers text NOT NULL DEFAULT '{}', "
                    "PRIMARY KEY (plan_id, version))"
                )
            )
            con.execute(
                sa.text(
                    f"CREATE TABLE IF NOT EXISTS {s}.reviews (fid bigserial PRIMARY KEY, "
                    "plan_id text NOT NULL, version integer NOT NULL, status text NOT NULL, "
                    "author text NOT NULL, at text NOT NULL, comment text NOT NULL DEFAULT '')"
                )
            )
            con.execute(
                sa.text(
                    f"CREATE INDEX IF NOT EXISTS reviews_plan ON {s}.reviews (plan_id, version)"
                )
            )
            con.execute(
                sa.text(
                    f"CREATE TABLE IF NOT EXISTS {s}.audit (fid bigserial PRIMARY KEY, "
                    'plan_id text NOT NULL, at text NOT NULL, "user" text NOT NULL, '
                    "role text NOT NULL DEFAULT '', action text NOT NULL, "
                    "target text NOT NULL DEFAULT '', allowed boolean NOT NULL DEFAULT true, "
                    "detail text NOT NULL DEFAULT '')"
                )
            )
            con.execute(sa.text(f"CREATE INDEX IF NOT EXISTS audit_plan ON {s}.audit (plan_id)"))

    def _only_plan(self) -> str:
        with self._connect() as con:
            ids = [
                str(r[0])
                for r in con.execute(
                    sa.text(f"SELECT DISTINCT plan_id FROM {self._table('plans')} ORDER BY 1")
                )
            ]
        if not ids:
            return uuid.uuid4().hex[:16]
        if len(ids) == 1:
            return ids[0]
        msg = N_(
            "The database {database} holds several plans ({plans}); say which one to open "
            "(--plan-id in the command line, plan_id in Python)."
        )
        raise PlanStoreError(msg, database=self.url.database, plans=", ".join(ids[:20]))

    # -- layer tables -------------------------------------------------------------------
    def _columns(self, con: Connection, name: str) -> dict[str, str] | None:
        """Return ``{column: type}`` of layer table ``name``, or ``None`` if it is missing."""
        rows = con.execute(
            sa.text(
                "SELECT column_name, data_type, udt_name FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
            ),
            {"s": self.schema, "t": name},
        ).fetchall()
        if not rows:
            return None
        return {str(c): ("geometry" if u == "geometry" else str(d)) for c, d, u in rows}

    def _srid(self, con: Connection, name: str) -> int:
        srid = con.execute(
            sa.text("SELECT Find_SRID(:s, :t, 'geom')"), {"s": self.schema, "t": name}
        ).scalar()
        return int(srid or 0)

    def _ensure_table(self, name: str, frame: pd.DataFrame, entry: Mapping[str, Any]) -> None:
        """Make layer table ``name`` able to hold ``frame``: create it, add or widen columns.

        Each table is changed in its own short transaction under the database's DDL lock
        (see the module notes); nothing is done when the table already fits.
        """
        spatial = bool(entry["geometry"])
        columns = [c for c in frame.columns if not (spatial and c == "geometry")]
        too_long = [c for c in columns if len(str(c).encode()) > _MAX_IDENTIFIER_BYTES]
        if too_long:
            msg = N_(
                "Layer {layer} has column names longer than PostgreSQL allows (63 bytes; a "
                "Chinese character takes 3): {columns}. Shorten them."
            )
            raise FieldError(msg, layer=name, columns=", ".join(too_long))
        wanted = {c: _pg_type(frame[c]) for c in columns if frame[c].notna().any()}
        wanted.update({c: "text" for c in columns if c not in wanted})

        def changes(have: dict[str, str] | None) -> bool:
            if have is None:
                return True
            lower = {c.lower(): t for c, t in have.items()}
            return any(
                c.lower() not in lower
                or (frame[c].notna().any() and _widened(lower[c.lower()], t) is not None)
                for c, t in wanted.items()
            )

        with self._connect() as con:
            have = self._columns(con, name)
        if have is not None:
            _check_kind(name, spatial_table="geom" in have, spatial=spatial)
        if not changes(have):
            return
        table = self._table(name)
        with self._connect(write=True) as con:
            self._lock(con, "ddl")
            have = self._columns(con, name)  # again, under the lock
            if have is None:
                srid = 0
                if spatial:
                    assert isinstance(frame, gpd.GeoDataFrame)
                    srid = _epsg(frame)
                body = ", ".join(f"{_quote(c)} {t}" for c, t in wanted.items())
                geometry = f", geom geometry(Geometry, {srid})" if spatial else ""
                con.execute(
                    sa.text(
                        f"CREATE TABLE {table} (fid bigserial PRIMARY KEY, plan_id text NOT NULL, "
                        f"version integer NOT NULL{', ' + body if body else ''}{geometry})"
                    )
                )
                con.execute(
                    sa.text(f"CREATE INDEX {_quote(name + '_plan')} ON {table} (plan_id, version)")
                )
                if spatial:
                    con.execute(
                        sa.text(
                            f"CREATE INDEX {_quote(name + '_geom')} ON {table} USING gist (geom)"
                        )
                    )
                return
            _check_kind(name, spatial_table="geom" in have, spatial=spatial)
            lower = {c.lower(): c for c in have}
            for column, kind in wanted.items():
                existing = lower.get(column.lower())
                if existing is None:
                    con.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {_quote(column)} {kind}"))
                    continue
                if not frame[column].notna().any():
                    continue
                to = _widened(have[existing], kind)
                if to is not None:
                    con.execute(
                        sa.text(
                            f"ALTER TABLE {table} ALTER COLUMN {_quote(existing)} TYPE {to} "
                            f"USING {_quote(existing)}::{to}"
                        )
                    )

    def _insert(
        self,
        con: Connection,
        name: str,
        frame: pd.DataFrame,
        entry: Mapping[str, Any],
        version: int,
    ) -> None:
        """Insert one layer's rows for ``version`` in the open transaction ``con``."""
        have = self._columns(con, name) or {}
        lower = {c.lower(): c for c in have}
        keyed = pd.DataFrame(
            {"plan_id": [self.plan_id] * len(frame), "version": [version] * len(frame)},
            index=frame.index,
        )
        dtype: dict[str, Any] = {}
        for column in frame.columns:
            if entry["geometry"] and column == "geometry":
                continue
            series = frame[column]
            if not series.notna().any():
                continue  # all missing: the column's default (NULL) fits any type
            keyed[lower.get(column.lower(), column)] = series
        if entry["geometry"]:
            assert isinstance(frame, gpd.GeoDataFrame)
            srid = self._srid(con, name)
            geometry = frame.geometry
            if srid and geometry.crs is not None and _epsg(frame) != srid:
                geometry = geometry.to_crs(srid)
            keyed["geom"] = shapely.to_wkb(
                shapely.set_srid(geometry.to_numpy(), srid), hex=True, include_srid=True
            )
            dtype["geom"] = Geometry(geometry_type="GEOMETRY", srid=srid, spatial_index=False)
        keyed.to_sql(
            name,
            con,
            schema=self.schema,
            if_exists="append",
            index=False,
            dtype=dtype,
            chunksize=5000,
        )

    # -- rows of the plans table --------------------------------------------------------
    def _plans_rows(self, con: Connection | None = None) -> list[dict[str, Any]]:
        sql = sa.text(
            f"SELECT {', '.join(_PLANS_COLUMNS)} FROM {self._table('plans')} "
            "WHERE plan_id = :p ORDER BY version"
        )
        if con is not None:
            rows = con.execute(sql, {"p": self.plan_id}).fetchall()
        else:
            with self._connect() as fresh:
                rows = fresh.execute(sql, {"p": self.plan_id}).fetchall()
        return [dict(zip(_PLANS_COLUMNS, row, strict=True)) for row in rows]

    # -- I/O behind the public API (see gis.store._StoreCommon) -------------------------
    def _save(
        self,
        layers: Mapping[str, pd.DataFrame],
        *,
        author: str,
        status: str,
        note: str,
        rules: Any,
        base_version: int | None = None,
        carry: bool | Collection[str] = False,
        carry_from: int | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Save ``layers`` as a new version in one transaction; return its number.

        The ``base_version`` check and the append are made in the same transaction,
        under the plan's advisory lock.
        """
        prepared, rules_text = self._checked_layers(
            layers, author=author, status=status, rules=rules, carry=carry
        )
        for name, (frame, entry) in prepared.items():
            self._ensure_table(name, frame, entry)
        manifest = {name: entry for name, (_frame, entry) in prepared.items()}
        with self._connect(write=True) as con:
            self._lock(con, f"plan:{self.plan_id}")
            latest = (
                con.execute(
                    sa.text(
                        f"SELECT version, author, created_at, layers FROM {self._table('plans')} "
                        "WHERE plan_id = :p ORDER BY version DESC LIMIT 1"
                    ),
                    {"p": self.plan_id},
                )
                .mappings()
                .first()
            )
            _check_base(
                base_version, None if latest is None else dict(latest), plan_id=self.plan_id
            )
            source = None if latest is None else dict(latest)
            if carry_from is not None:
                found = (
                    con.execute(
                        sa.text(
                            f"SELECT version, layers FROM {self._table('plans')} "
                            "WHERE plan_id = :p AND version = :v"
                        ),
                        {"p": self.plan_id, "v": int(carry_from)},
                    )
                    .mappings()
                    .first()
                )
                if found is None:
                    raise self._no_version(int(carry_from))
                source = dict(found)
            manifest = {
                **_carried(source, carry, saved=prepared),
                **manifest,
                _META: dict(meta or {}),
            }
            version = 1 if latest is None else int(latest["version"]) + 1
            for name, (frame, entry) in prepared.items():
                self._insert(con, name, frame, entry, version)
            created = _now()
            con.execute(
                sa.text(
                    f"INSERT INTO {self._table('plans')} ({', '.join(_PLANS_COLUMNS)}) VALUES "
                    "(:plan_id, :version, :status, :author, :created_at, :note, :rules, :layers)"
                ),
                {
                    "plan_id": self.plan_id,
                    "version": version,
                    "status": status,
                    "author": str(author),
                    "created_at": created,
                    "note": str(note),
                    "rules": rules_text,
                    "layers": json.dumps(manifest, ensure_ascii=False),
                },
            )
            self._review(con, version, status, str(author), created, str(note))
        return version  # committed: the version exists from here on

    def _review(
        self, con: Connection, version: int, status: str, author: str, at: str, comment: str
    ) -> None:
        con.execute(
            sa.text(
                f"INSERT INTO {self._table('reviews')} ({', '.join(_REVIEW_COLUMNS)}) VALUES "
                "(:plan_id, :version, :status, :author, :at, :comment)"
            ),
            {
                "plan_id": self.plan_id,
                "version": version,
                "status": status,
                "author": author,
                "at": at,
                "comment": comment,
            },
        )

    def latest_version(self) -> int | None:
        """Return the highest committed version, or ``None`` for a plan not saved yet."""
        with self._connect() as con:
            top = con.execute(
                sa.text(f"SELECT MAX(version) FROM {self._table('plans')} WHERE plan_id = :p"),
                {"p": self.plan_id},
            ).scalar()
        return None if top is None else int(top)

    def _read_layers(
        self,
        version: int,
        manifest: Mapping[str, Any],
        *,
        where: Mapping[str, Collection[Any]] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        with self._connect() as con:
            for name, entry in manifest.items():
                params: dict[str, Any] = {"p": self.plan_id, "v": version}
                lower = {c.lower(): c for c in self._columns(con, name) or {}}
                fields = ", ".join(  # the saved names (the table's may differ in case)
                    [
                        "fid",
                        *(
                            f"{_quote(lower[str(c).lower()])} AS {_quote(str(c))}"
                            for c in entry.get("columns", [])
                            if str(c).lower() in lower
                        ),
                    ]
                )
                table = self._table(name)
                saved = set(map(str, entry.get("columns", [])))
                filters = [
                    (lower[str(column).lower()], list(values))
                    for column, values in (where or {}).items()
                    if str(column).lower() in lower and str(column) in saved
                ]
                extra = ""
                for i, (column, values) in enumerate(filters):
                    extra += f" AND {_quote(column)}::text = ANY(:w{i})"
                    params[f"w{i}"] = [str(v) for v in values]
                boxed = bbox is not None and bool(entry.get("geometry")) and not filters
                if boxed:
                    assert bbox is not None
                    extra += " AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, Find_SRID(:s, :t, 'geom'))"
                    params.update(dict(zip(("x0", "y0", "x1", "y1"), map(float, bbox), strict=True)))
                    params.update({"s": self.schema, "t": name})
                sql_where = f"WHERE plan_id = :p AND version = :v{extra} ORDER BY fid"
                if entry.get("geometry"):
                    srid = self._srid(con, name)
                    frame: pd.DataFrame = gpd.read_postgis(
                        sa.text(f"SELECT {fields}, geom FROM {table} {sql_where}"),
                        con,
                        geom_col="geom",
                        crs=f"EPSG:{srid}" if srid else entry.get("crs"),
                        params=params,
                    )
                    frame = frame.rename_geometry("geometry")
                else:
                    frame = pd.read_sql(
                        sa.text(f"SELECT {fields} FROM {table} {sql_where}"), con, params=params
                    )
                if not filters and not boxed and len(frame) != int(entry.get("rows", len(frame))):
                    msg = N_(
                        "Layer {layer} of version {version} of plan {plan_id} has {actual} rows "
                        "in the database but was saved with {saved}: the table was changed "
                        "outside gridplan. Load another version, or ask the database's "
                        "administrator to restore it."
                    )
                    raise PlanStoreError(
                        msg,
                        layer=name,
                        version=version,
                        plan_id=self.plan_id,
                        actual=len(frame),
                        saved=entry["rows"],
                    )
                frame = frame.drop(columns="fid")
                out[name] = decode_layer(_bools(frame, entry), entry)
        return out

    def _write_status(self, version: int, status: str, author: str, comment: str) -> None:
        with self._connect(write=True) as con:
            con.execute(
                sa.text(
                    f"UPDATE {self._table('plans')} SET status = :s "
                    "WHERE plan_id = :p AND version = :v"
                ),
                {"s": status, "p": self.plan_id, "v": version},
            )
            self._review(con, version, status, author, _now(), comment)

    def _review_rows(self) -> list[tuple[Any, ...]]:
        with self._connect() as con:
            rows = con.execute(
                sa.text(
                    f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM {self._table('reviews')} "
                    "WHERE plan_id = :p ORDER BY fid"
                ),
                {"p": self.plan_id},
            ).fetchall()
        return [tuple(r) for r in rows]

    def reviews(self) -> pd.DataFrame:
        """Return the review trail (see :meth:`gis.store.PlanStore.reviews`), versions int64."""
        frame = super().reviews()
        frame["version"] = frame["version"].astype("int64")  # also when the trail is empty
        return frame

    def _write_audit(self, entry: dict[str, Any]) -> None:
        with self._connect(write=True) as con:
            con.execute(
                sa.text(
                    f"INSERT INTO {self._table('audit')} "
                    f"({', '.join(_quote(c) for c in AUDIT_COLUMNS)}) VALUES "
                    "(:plan_id, :at, :user, :role, :action, :target, :allowed, :detail)"
                ),
                entry,
            )

    def _audit_rows(self) -> list[tuple[Any, ...]]:
        with self._connect() as con:
            rows = con.execute(
                sa.text(
                    f"SELECT {', '.join(_quote(c) for c in AUDIT_COLUMNS)} "
                    f"FROM {self._table('audit')} WHERE plan_id = :p ORDER BY fid"
                ),
                {"p": self.plan_id},
            ).fetchall()
        return [tuple(r) for r in rows]

    def handover_copy(self, out: str | Path) -> Path:
        """Write the plan as one clean GeoPackage plan store to hand on.

        Every committed version keeps its number, status, author, time, note and rules;
        the review and audit trails are copied as they are. The file is written beside
        ``out`` and moved into place; it opens with :class:`gis.store.PlanStore`.
        """
        import sqlite3

        rows = self._plans_rows()
        if not rows:
            msg = N_("The plan {file} has no saved version yet. Save the plan first.")
            raise PlanStoreError(msg, file=self.plan_id)
        reviews = self.reviews()
        audit = self.audit()
        with atomic_path(out) as tmp:
            store = PlanStore(tmp, plan_id=self.plan_id)
            try:
                for row in rows:
                    store._save(
                        {k: v for k, v in self.load(int(row["version"])).items() if k != "plans"},
                        author=str(row["author"]),
                        status=str(row["status"]),
                        note=str(row["note"]),
                        rules=row["rules"] or "{}",
                        version=int(row["version"]),
                        created_at=str(row["created_at"]),
                        meta=json.loads(row["layers"] or "{}").get(_META, {}),
                    )
                if len(audit):
                    store.record("handover_copy", user="gridplan")  # makes the audit table
                store.close()
                con = sqlite3.connect(tmp, isolation_level=None)
                try:
                    con.execute("BEGIN")
                    con.execute("DELETE FROM reviews")
                    con.executemany(
                        f"INSERT INTO reviews ({', '.join(_REVIEW_COLUMNS)}) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [tuple(_plain(v) for v in r) for r in reviews.itertuples(index=False)],
                    )
                    if len(audit):
                        con.execute("DELETE FROM audit")
                        con.executemany(
                            f"INSERT INTO audit ({', '.join(_quote(c) for c in AUDIT_COLUMNS)}) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [tuple(_plain(v) for v in r) for r in audit.itertuples(index=False)],
                        )
                    con.execute("COMMIT")
                    con.execute("PRAGMA journal_mode = DELETE")
                finally:
                    con.close()
            finally:
                lock = Path(f"{tmp}.lock")
                if lock.exists():
                    lock.unlink()
        return Path(out)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _epsg(frame: gpd.GeoDataFrame) -> int:
    """Return the EPSG code of ``frame``'s CRS (0 when it has none or no EPSG code)."""
    crs = frame.crs
    if crs is None:
        return 0
    code = crs.to_epsg(min_confidence=70)
    return int(code) if code is not None else 0


def _bools(frame: pd.DataFrame, entry: Mapping[str, Any]) -> pd.DataFrame:
    """Turn ``'true'``/``'false'`` text back into booleans in columns saved as bool.

    Such text is left where a column was widened to ``text`` by a later version.
    """
    for column, dtype in entry.get("dtypes", {}).items():
        if dtype in {"bool", "boolean"} and column in frame and frame[column].dtype != bool:
            values = frame[column]
            if values.map(lambda v: isinstance(v, str)).any():
                frame[column] = values.map(
                    lambda v: _BOOL_TEXT.get(v.lower(), v) if isinstance(v, str) else v
                )
    return frame
