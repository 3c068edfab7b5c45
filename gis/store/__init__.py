"""Plans and where they are kept: versioned, append-only, crash-safe plan stores.

==================  ================================================================
``gpkg``            :class:`PlanStore`, one plan in one GeoPackage (WAL, file lock),
                    :func:`handover_copy`, :func:`write_version`, :func:`read_plan`,
                    :func:`read_exported`, :func:`is_plan_store`
``postgis``         :class:`PostGISPlanStore`, many plans in a team's PostGIS database
``files``           :func:`atomic_path` (every writer's temp-file-then-rename) and
                    :func:`write_plan` (layers to a plain GeoPackage)
``workspace``       projects that last (:class:`~gis.store.workspace.Workspace`): named
                    projects, each a versioned plan store, with layers, rules, runs, history
``_tables``         private: what both stores share (the API, checks, rows to frames)
==================  ================================================================

:func:`open_store` opens either store from a path or a ``postgresql://`` URL; both
have the same API (``save``, ``versions``, ``latest_version``, ``info``, ``load``,
``set_status``, ``reviews``, ``record``, ``audit``, ``handover_copy``). A plan layer
becomes a table through :mod:`gis.layers`; users and roles that guard a store are in
:mod:`gis.users`; exports of a plan are in :mod:`gis.export`.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> path = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
>>> with open_store(path, plan_id="haidian-2026") as store:
...     store.save({"lineage": pd.DataFrame({"building_id": ["B1"]})}, author="王芳")
1
>>> read_exported(path)["lineage"]["building_id"].tolist()
['B1']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gis.errors import PlanConflictError, PlanStoreError
from gis.store._tables import (
    AUDIT_COLUMNS,
    PLAN_STATUSES,
    RESERVED_LAYERS,
    STATUS_LABELS,
    rules_json,
)
from gis.store.files import atomic_path, write_plan
from gis.store.gpkg import (
    PlanStore,
    handover_copy,
    is_plan_store,
    read_exported,
    read_plan,
    write_version,
)

if TYPE_CHECKING:
    from gis.store.postgis import PostGISPlanStore

__all__ = [
    "AUDIT_COLUMNS",
    "PLAN_STATUSES",
    "RESERVED_LAYERS",
    "STATUS_LABELS",
    "PlanConflictError",
    "PlanStore",
    "PlanStoreError",
    "atomic_path",
    "handover_copy",
    "is_database_url",
    "is_plan_store",
    "open_store",
    "read_exported",
    "read_plan",
    "rules_json",
    "write_plan",
    "write_version",
]


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
        for a team's PostGIS database (:class:`gis.store.postgis.PostGISPlanStore`, which can
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
        it cannot be reached or has no PostGIS (:class:`gis.store.postgis.PlanDatabaseError`).

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
        from gis.store.postgis import PostGISPlanStore

        return PostGISPlanStore(str(location).strip(), plan_id=plan_id, timeout=timeout)
    return PlanStore(location, plan_id=plan_id, timeout=timeout)
