"""Projects that last: a workspace of named projects, each a versioned plan store.

A **project** is one planner's or one team's work on one area: its layers, rules, runs,
proposals, grids, edits and reviews, and their history. Every change is a new version
of the project (who, when, what, a note); nothing saved is ever overwritten.

Where projects live
-------------------
``GRIDPLAN_HOME`` (default: the user data folder, e.g. ``~/.local/share/gridplan`` on
Linux, from :mod:`platformdirs`) holds ``projects/NAME.gpkg``, one
:class:`gis.store.PlanStore` GeoPackage per project, and ``archive/NAME.gpkg`` for the
archived ones. With ``GRIDPLAN_DB=postgresql://…`` the projects live in that PostGIS
database instead (:class:`gis.store.postgis.PostGISPlanStore`, ``plan_id`` = the project's
name; archived names are kept in the ``projects`` table). A team shares one project by
pointing ``GRIDPLAN_HOME`` at a shared folder or ``GRIDPLAN_DB`` at one database: saves
take turns (a file lock, or the database's advisory lock), and a save started from an
outdated version is refused with the store's conflict message.

The bundled samples open as read-only projects named ``sample:NAME``
(``sample:beijing``); duplicate one to work on it.

===================  ============================================================
:class:`Workspace`   list, create, open, rename, duplicate, archive and restore
:class:`Project`     save (a new version), load, history, an old version, restore,
                     compare two versions, reviews
:func:`check_project_name`  what a project may be called
===================  ============================================================

Saving only what changed
------------------------
:meth:`Project.save` writes the layers it is given; every other layer of the latest
version is kept by reference (``carry`` in :meth:`gis.store.PlanStore.save`), so a grid
run saves the grids, not the city's buildings again.

Examples
--------
>>> import tempfile, geopandas as gpd
>>> from shapely import box
>>> ws = Workspace(tempfile.mkdtemp())
>>> buildings = gpd.GeoDataFrame(
...     {"building_id": ["B1", "B2"], "households": [30, 12], "community_id": ["C1", "C1"]},
...     geometry=[box(116.300, 40.0, 116.301, 40.001), box(116.302, 40.0, 116.303, 40.001)],
...     crs=4490)
>>> project = ws.create("海淀-清华园", layers={"buildings": buildings}, author="王芳")
>>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [42]},
...                          geometry=[box(116.300, 40.0, 116.303, 40.001)], crs=4490)
>>> project.save(layers={"grids": grids}, action="grids", author="王芳", note="first cut")
2
>>> project.history()[["version", "author", "action", "note"]].to_dict("records")
[{'version': 1, 'author': '王芳', 'action': 'create', 'note': ''},
 {'version': 2, 'author': '王芳', 'action': 'grids', 'note': 'first cut'}]
>>> sorted(project.load())  # the buildings are kept from version 1
['buildings', 'grids', 'plans']
>>> [(p.name, p.households, p.grids) for p in ws.list()]
[('海淀-清华园', 42, 1)]
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock
import geopandas as gpd
import numpy as np
import pandas as pd
import platformdirs

from gis.errors import PlanStoreError
from gis.i18n import N_
from gis.store._tables import _quote
from gis.store.gpkg import PlanStore

if TYPE_CHECKING:
    from gis.store.postgis import PostGISPlanStore
    from gis.users import User

SampleMaker = Callable[[str], tuple[dict[str, pd.DataFrame], dict[str, Any]]]
"""Makes a bundled sample's layers and meta (``planning.projects.sample_layers``)."""

__all__ = [
    "ENV_DB",
    "ENV_HOME",
    "MAX_NAME_BYTES",
    "MAX_NAME_CHARS",
    "SAMPLE_PREFIX",
    "Project",
    "ProjectError",
    "SampleMaker",
    "ProjectSummary",
    "VersionDiff",
    "Workspace",
    "check_project_name",
    "default_home",
]

ENV_HOME = "GRIDPLAN_HOME"
"""The environment variable naming the workspace folder."""
ENV_DB = "GRIDPLAN_DB"
"""The environment variable naming a PostGIS database that holds the projects instead."""
SAMPLE_PREFIX = "sample:"
"""Names of the bundled samples, opened read-only: ``sample:beijing``."""
MAX_NAME_CHARS = 60
"""The longest project name, in characters (a name is shown in lists and in URLs)."""
MAX_NAME_BYTES = 180
"""The longest project name in UTF-8 bytes (a Chinese character takes 3). File names hold
at most 255 bytes, and a save's temporary file and SQLite's journal add about 25 to the
name; 180 leaves room on every file system."""

_FORBIDDEN = frozenset('/\\:*?"<>|')  # path separators, and what Windows shares refuse
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
_PROJECTS = "projects"
_ARCHIVE = "archive"
_SAMPLES = "samples"
_INPUT_LAYERS = ("buildings", "communities")


def _is_database_url(location: str) -> bool:
    return location.strip().lower().startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 30000")
    return con


def _tables(con: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in con.execute("SELECT table_name FROM gpkg_contents")]


class ProjectError(PlanStoreError):
    """A project that cannot be used as asked (bad name, missing, exists, read-only)."""


# --------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------
def check_project_name(name: str) -> str:
    """Return ``name`` as a project name (Unicode NFC, trimmed), or say why it cannot be.

    A name may hold Chinese and any other letters, digits, spaces and ``-_.()·``; not
    ``/``, ``\\`` or ``..`` (it names a file), nor ``: * ? " < > |`` or control
    characters (refused on Windows shares), nor start with a dot; at most
    :data:`MAX_NAME_CHARS` characters.

    Raises
    ------
    ProjectError
        Saying what is wrong with the name and what to write instead.

    Examples
    --------
    >>> check_project_name("  海淀区 清华园街道 2026 ")
    '海淀区 清华园街道 2026'
    >>> check_project_name("../etc")
    Traceback (most recent call last):
    ...
    gis.store.workspace.ProjectError: '../etc' cannot be a project name: it holds '/' or '..'. Use a
    plain name such as 海淀-清华园.
    """
    text = unicodedata.normalize("NFC", str(name)).strip()
    if not text:
        msg = N_("A project needs a name, e.g. 海淀-清华园.")
        raise ProjectError(msg)
    if "/" in text or "\\" in text or ".." in text:
        msg = N_(
            "{name!r} cannot be a project name: it holds '/' or '..'. Use a plain name such "
            "as 海淀-清华园."
        )
        raise ProjectError(msg, name=str(name))
    bad = sorted(
        {ch for ch in text if ch in _FORBIDDEN or unicodedata.category(ch).startswith("C")}
    )
    if bad:
        msg = N_(
            "{name!r} cannot be a project name: it holds {chars}. Leave out : * ? \" < > | "
            "and control characters."
        )
        raise ProjectError(msg, name=str(name), chars=" ".join(repr(ch) for ch in bad))
    if text.startswith(".") or text.endswith(".") or text.split(".")[0].lower() in (
        _WINDOWS_RESERVED
    ):
        msg = N_(
            "{name!r} cannot be a project name: a file cannot be called that on every "
            "system. Start and end it with a letter or a digit."
        )
        raise ProjectError(msg, name=str(name))
    if len(text) > MAX_NAME_CHARS or len(text.encode("utf-8")) > MAX_NAME_BYTES:
        msg = N_(
            "A project name can be at most {limit} characters long; this one has {length}. "
            "Shorten it."
        )
        raise ProjectError(msg, limit=MAX_NAME_CHARS, length=len(text))
    return text


def default_home() -> Path:
    """Return the workspace folder: ``GRIDPLAN_HOME``, or the user data folder.

    Examples
    --------
    >>> default_home().name
    'gridplan'
    """
    env = os.environ.get(ENV_HOME, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("gridplan", appauthor=False))


# --------------------------------------------------------------------------------------
# what a listing and a comparison return
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectSummary:
    """One line of the project list.

    ``area_km2`` is the communities' area (``nan`` when the project has no communities
    layer); ``updated_at``, ``author`` and ``action`` are those of the latest version.
    """

    name: str
    version: int
    updated_at: str
    author: str
    action: str
    communities: int
    households: int
    grids: int
    area_km2: float
    archived: bool = False
    read_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready values."""
        return {
            "name": self.name,
            "version": self.version,
            "updated_at": self.updated_at,
            "author": self.author,
            "action": self.action,
            "communities": self.communities,
            "households": self.households,
            "grids": self.grids,
            "area_km2": None if np.isnan(self.area_km2) else round(self.area_km2, 3),
            "archived": self.archived,
            "read_only": self.read_only,
        }


@dataclass(frozen=True)
class VersionDiff:
    """What changed from version ``a`` to version ``b`` of a project.

    ``grids`` has one row per grid code present in either version, with ``change``
    (``added``, ``removed``, ``changed``: other households, shape or buildings) and the
    households in each version; ``buildings`` one row per building whose households,
    community or grids changed (or that came or went). ``households`` holds the
    totals of each version (``buildings`` and ``grids``).
    """

    a: int
    b: int
    grids: pd.DataFrame = field(repr=False)
    buildings: pd.DataFrame = field(repr=False)
    households: dict[str, dict[str, int]]

    @property
    def grids_changed(self) -> int:
        """How many grids came, went or changed."""
        return len(self.grids)

    @property
    def buildings_changed(self) -> int:
        """How many buildings came, went or changed."""
        return len(self.buildings)


# --------------------------------------------------------------------------------------
# statistics kept with each version (so the list never reads layers)
# --------------------------------------------------------------------------------------
def _layer_stats(name: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Return the numbers the project list shows, from one layer being saved."""
    stats: dict[str, Any] = {"rows": len(frame)}
    if "households" in frame and pd.api.types.is_numeric_dtype(frame["households"]):
        stats["households"] = int(pd.to_numeric(frame["households"]).fillna(0).sum())
    if name == "communities" and isinstance(frame, gpd.GeoDataFrame) and len(frame):
        from gis.crs import to_metric

        with contextlib.suppress(Exception):  # an area is a nicety, never a failed save
            stats["area_km2"] = float(to_metric(frame).geometry.area.sum() / 1e6)
    return stats


def _summary_from_rows(name: str, rows: list[dict[str, Any]], *, archived: bool, read_only: bool
) -> ProjectSummary:
    """Build a project's list line from its ``plans`` rows (no layer is read)."""
    latest = rows[-1]
    by_version = {int(r["version"]): json.loads(r["layers"] or "{}") for r in rows}
    manifest = by_version[int(latest["version"])]
    meta = manifest.get("@meta", {})

    def stats(layer: str) -> dict[str, Any]:
        entry = manifest.get(layer)
        if entry is None:
            return {}
        held = by_version.get(int(entry.get("same_as", latest["version"])), {})
        return dict(held.get("@meta", {}).get("stats", {}).get(layer, {}))

    communities = stats("communities")
    buildings = stats("community_summary") or stats("buildings")
    grids = stats("grids")
    return ProjectSummary(
        name=name,
        version=int(latest["version"]),
        updated_at=str(latest["created_at"]),
        author=str(latest["author"]),
        action=str(meta.get("action", "")),
        communities=int(communities.get("rows", 0)),
        households=int(buildings.get("households", grids.get("households", 0))),
        grids=int(grids.get("rows", 0)),
        area_km2=float(communities.get("area_km2", np.nan)),
        archived=archived,
        read_only=read_only,
    )


# --------------------------------------------------------------------------------------
# a project
# --------------------------------------------------------------------------------------
class Project:
    """One project: a versioned plan store opened by name.

    Get one from :meth:`Workspace.open` or :meth:`Workspace.create`. Every method reads
    or writes the store afresh (nothing is cached), so two sessions on one project see
    each other's saves.

    Parameters
    ----------
    name
        The project's name.
    store
        Its plan store.
    read_only
        Refuse every change (a sample, an archived project, an old version).
    version
        Pin the project to this version (see :meth:`at`); ``None`` follows the latest.
    user
        Who acts: every action is authorized for the user's role (viewer, editor,
        approver; see :mod:`gis.users`) and recorded in the project's audit. ``None``
        acts without checks (the command line, scripts).
    """

    def __init__(
        self,
        name: str,
        store: PlanStore | PostGISPlanStore,
        *,
        read_only: bool = False,
        version: int | None = None,
        user: User | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.read_only = read_only
        self.pinned = version
        self.user = user

    def __repr__(self) -> str:
        pinned = "" if self.pinned is None else f", version={self.pinned}"
        return f"Project({self.name!r}{pinned}, read_only={self.read_only})"

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the store (a GeoPackage goes back to one file)."""
        self.store.close()

    # -- roles ---------------------------------------------------------------------------
    def _allow(self, action: str, *, target: str = "", record: bool = True) -> None:
        """Authorize ``action`` for the project's user; record refusals and changes."""
        if self.user is None:
            return
        from gis.users import PermissionDenied, authorize

        try:
            authorize(self.user, action)
        except PermissionDenied:
            with contextlib.suppress(PlanStoreError):
                self.store.record(
                    action,
                    user=self.user.name,
                    role=self.user.role,
                    allowed=False,
                    target=target or self.name,
                )
            raise
        if record and action != "view":
            self.store.record(
                action, user=self.user.name, role=self.user.role, target=target or self.name
            )

    def _writable(self) -> None:
        if self.read_only:
            if self.name.startswith(SAMPLE_PREFIX):
                msg = N_(
                    "{name} is a bundled sample and cannot be changed. Duplicate it to a "
                    "project of your own and work there."
                )
            elif self.pinned is not None:
                msg = N_(
                    "Version {version} of {name} is an old version, opened to read. Restore it "
                    "as a new version to work on it."
                )
            else:
                msg = N_(
                    "{name} is archived and cannot be changed. Restore it from the archive "
                    "first."
                )
            raise ProjectError(msg, name=self.name, version=self.pinned)

    # -- versions ------------------------------------------------------------------------
    def latest_version(self) -> int | None:
        """The newest version (``None`` before the first save)."""
        return self.store.latest_version()

    @property
    def version(self) -> int | None:
        """The version this project shows: the pinned one, or the latest."""
        return self.pinned if self.pinned is not None else self.latest_version()

    def history(self) -> pd.DataFrame:
        """Return every version, oldest first: ``version``, ``author``, ``at``, ``action``,
        ``note``, ``status`` and ``n_grids``."""
        self._allow("view")
        versions = self.store.versions()
        out = versions.rename(columns={"created_at": "at"})
        return out[["version", "author", "at", "action", "note", "status", "n_grids"]]

    def info(self, version: int | None = None) -> dict[str, Any]:
        """Return the ``plans`` row of a version (see :meth:`gis.store.PlanStore.info`)."""
        self._allow("view")
        return self.store.info(self.pinned if version is None else version)

    def at(self, version: int) -> Project:
        """Return this project pinned to an old ``version``, to read (saves are refused).

        Raises
        ------
        PlanStoreError
            When there is no such version.
        """
        self.store.info(int(version))  # exists
        return Project(
            self.name, self.store, read_only=True, version=int(version), user=self.user
        )

    def layer_names(self, version: int | None = None) -> list[str]:
        """Return the layers a version holds (the shown one by default)."""
        if self.version is None:
            return []
        return list(self.info(version)["layers"])

    def load(
        self,
        version: int | None = None,
        *,
        layers: Collection[str] | None = None,
        community: str | Collection[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Return the layers of a version (the shown one by default) and its ``plans`` row.

        Parameters
        ----------
        version
            The version; the pinned one, else the latest, by default.
        layers
            Only these layers (those the version has).
        community
            Only the rows of this community (or these) in the layers with a
            ``community_id`` column: a whole city opens one community at a time.
        bbox
            ``(xmin, ymin, xmax, ymax)`` (EPSG:4490): the other spatial layers only where
            they meet it.
        """
        self._allow("view")
        where = None
        if community is not None:
            ids = [community] if isinstance(community, str) else list(community)
            where = {"community_id": [str(c) for c in ids]}
        return self.store.load(
            self.pinned if version is None else version, layers=layers, where=where, bbox=bbox
        )

    def save(
        self,
        *,
        layers: Mapping[str, pd.DataFrame] | None = None,
        action: str,
        author: str | None = None,
        note: str = "",
        rules: Any = None,
        base_version: int | None = None,
        status: str = "draft",
        meta: Mapping[str, Any] | None = None,
    ) -> int:
        """Save a new version: ``layers`` replace theirs, every other layer is kept.

        Parameters
        ----------
        layers
            ``{name: frame}`` of the layers that changed (``grids``, ``proposals``…).
        action
            What happened, a stable word: ``create``, ``data``, ``rules``, ``split``,
            ``proposal``, ``grids``, ``edit``, ``review``, ``assign``, ``restore``…
        author
            Who saved (the project's user by default).
        note
            What changed, in the planner's words.
        rules
            The rule set now in force (the previous version's is kept when ``None``).
        base_version
            The version the work started from: if someone saved after it, the save is
            refused with :class:`gis.store.PlanConflictError` and nothing is written.
        status
            The new version's review status (``draft`` by default).
        meta
            More to keep with the version (JSON-ready).

        Returns
        -------
        int
            The new version.

        Raises
        ------
        ProjectError
            When the project is read-only.
        PermissionDenied
            When the user's role may not save.
        """
        self._writable()
        self._allow("save", record=False)
        author = author or (self.user.label if self.user is not None else "")
        layers = dict(layers or {})
        previous = None
        if rules is None and self.store.latest_version() is not None:
            previous = self.store.info()["rules"] or None
        stats = {name: _layer_stats(name, frame) for name, frame in layers.items()}
        for name, given in dict((meta or {}).get("stats", {})).items():
            if name in stats:
                stats[name].update(given)
        version = self.store.save(
            layers,
            author=author,
            status=status,
            note=note,
            rules=rules if rules is not None else previous,
            base_version=base_version,
            action=action,
            carry=True,
            meta={**(meta or {}), "stats": stats},
        )
        if self.user is not None:
            self.store.record(
                "save",
                user=self.user.name,
                role=self.user.role,
                target=f"version {version}",
                detail=f"action={action}",
            )
        return version

    def restore(
        self,
        version: int,
        *,
        author: str | None = None,
        note: str = "",
        base_version: int | None = None,
    ) -> int:
        """Save ``version``'s layers and rules again as a new version; return its number.

        Nothing is copied: the new version points at the rows ``version`` holds.
        ``base_version`` is checked as in :meth:`save` (someone else's newer save is never
        buried under the restored version unseen).
        """
        self._writable()
        self._allow("save", record=False)
        old = self.store.info(int(version))
        author = author or (self.user.label if self.user is not None else "")
        new = self.store.save(
            {},
            author=author,
            note=note or f"restored version {int(version)}",
            rules=old["rules"],
            action="restore",
            base_version=base_version,
            carry=True,
            carry_from=int(version),
            meta={"restored": int(version), "stats": old["meta"].get("stats", {})},
        )
        if self.user is not None:
            self.store.record(
                "save",
                user=self.user.name,
                role=self.user.role,
                target=f"version {new}",
                detail=f"action=restore; from version {int(version)}",
            )
        return new

    def compare(self, a: int, b: int | None = None) -> VersionDiff:
        """Return what changed from version ``a`` to ``b`` (the latest by default).

        Examples
        --------
        >>> import tempfile, geopandas as gpd
        >>> from shapely import box
        >>> g = gpd.GeoDataFrame({"grid_code": ["G1", "G2"], "households": [40, 35]},
        ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4490)
        >>> p = Workspace(tempfile.mkdtemp()).create("p", layers={"grids": g}, author="王芳")
        >>> _ = p.save(layers={"grids": g.assign(households=[40, 36])}, action="edit",
        ...            author="李强")
        >>> diff = p.compare(1)
        >>> diff.grids[["grid_code", "change", "households_a", "households_b"]].to_dict("records")
        [{'grid_code': 'G2', 'change': 'changed', 'households_a': 35, 'households_b': 36}]
        >>> diff.households["grids"]
        {'a': 75, 'b': 76}
        """
        self._allow("view")
        b = self.store.latest_version() if b is None else b
        wanted = ("grids", "grid_members", "buildings", "community_summary")
        la = self.store.load(int(a), layers=wanted)
        lb = self.store.load(int(b), layers=wanted)
        grids = _diff_grids(la.get("grids"), lb.get("grids"))
        buildings = _diff_buildings(la, lb)
        totals = {  # the buildings' total as planned (estimates included) where it is kept
            layer: {
                "a": _households(la.get("community_summary", la.get(layer)))
                if layer == "buildings"
                else _households(la.get(layer)),
                "b": _households(lb.get("community_summary", lb.get(layer)))
                if layer == "buildings"
                else _households(lb.get(layer)),
            }
            for layer in ("buildings", "grids")
        }
        return VersionDiff(
            a=int(a), b=int(b), grids=grids, buildings=buildings, households=totals
        )

    # -- reviews ---------------------------------------------------------------------------
    def review(self, version: int, status: str, *, author: str | None = None, comment: str = ""
    ) -> None:
        """Record a review of ``version`` (``proposed``, ``accepted``, ``rejected``)."""
        self._writable()
        self._allow("review", target=f"version {int(version)}")
        author = author or (self.user.label if self.user is not None else "")
        self.store.set_status(int(version), status, author=author, comment=comment)

    def reviews(self) -> pd.DataFrame:
        """Return the review trail of every version (oldest first)."""
        self._allow("view")
        return self.store.reviews()

    def audit(self) -> pd.DataFrame:
        """Return the audit trail (every action tried, allowed or not)."""
        self._allow("view")
        return self.store.audit()

    def summary(self) -> ProjectSummary:
        """Return the project's line of the list."""
        rows = self.store._plans_rows()
        if not rows:
            msg = N_("The project {name} has no saved version yet.")
            raise ProjectError(msg, name=self.name)
        return _summary_from_rows(self.name, rows, archived=False, read_only=self.read_only)


def _households(frame: pd.DataFrame | None) -> int:
    if frame is None or "households" not in frame:
        return 0
    return int(pd.to_numeric(frame["households"], errors="coerce").fillna(0).sum())


def _diff_grids(a: pd.DataFrame | None, b: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["grid_code", "change", "households_a", "households_b"]
    empty = pd.DataFrame(columns=pd.Index(columns))
    a = a if a is not None and "grid_code" in a else None
    b = b if b is not None and "grid_code" in b else None
    if a is None and b is None:
        return empty
    ga = (a if a is not None else gpd.GeoDataFrame({"grid_code": []})).set_index("grid_code")
    gb = (b if b is not None else gpd.GeoDataFrame({"grid_code": []})).set_index("grid_code")
    rows = []
    for code in sorted(set(ga.index) | set(gb.index), key=str):
        in_a, in_b = code in ga.index, code in gb.index
        ha = int(ga.at[code, "households"]) if in_a and "households" in ga else None
        hb = int(gb.at[code, "households"]) if in_b and "households" in gb else None
        if in_a and not in_b:
            change = "removed"
        elif in_b and not in_a:
            change = "added"
        else:
            same_shape = True
            if isinstance(ga, gpd.GeoDataFrame) and isinstance(gb, gpd.GeoDataFrame):
                same_shape = bool(ga.geometry[code].equals_exact(gb.geometry[code], 1e-9))
            if ha == hb and same_shape:
                continue
            change = "changed"
        rows.append((code, change, ha, hb))
    out = pd.DataFrame(rows, columns=pd.Index(columns))
    for column in ("households_a", "households_b"):
        out[column] = out[column].astype("Int64")
    return out


def _members(layers: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    members = layers.get("grid_members")
    if members is None or not {"building_id", "grid_code"} <= set(members.columns):
        return {}
    grouped = members.groupby(members["building_id"].astype(str))["grid_code"]
    return {k: ",".join(sorted(map(str, v))) for k, v in grouped}


def _diff_buildings(
    a: Mapping[str, pd.DataFrame], b: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    columns = ["building_id", "change", "households_a", "households_b", "grids_a", "grids_b"]

    def table(layers: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        frame = layers.get("buildings")
        if frame is None or "building_id" not in frame:
            return pd.DataFrame(columns=pd.Index(["households", "community_id"]))
        out = pd.DataFrame(index=frame["building_id"].astype(str))
        out["households"] = (
            pd.to_numeric(frame["households"], errors="coerce").to_numpy()
            if "households" in frame
            else np.nan
        )
        out["community_id"] = (
            frame["community_id"].astype(str).to_numpy() if "community_id" in frame else ""
        )
        return out

    ta, tb = table(a), table(b)
    ma, mb = _members(a), _members(b)
    ids = sorted(set(ta.index) | set(tb.index) | set(ma) | set(mb))
    rows = []
    for bid in ids:
        in_a, in_b = bid in ta.index or bid in ma, bid in tb.index or bid in mb
        ha = ta.at[bid, "households"] if bid in ta.index else np.nan
        hb = tb.at[bid, "households"] if bid in tb.index else np.nan
        ca = ta.at[bid, "community_id"] if bid in ta.index else ""
        cb = tb.at[bid, "community_id"] if bid in tb.index else ""
        if in_a and not in_b:
            change = "removed"
        elif in_b and not in_a:
            change = "added"
        elif (
            ma.get(bid, "") == mb.get(bid, "")
            and ca == cb
            and (ha == hb or (pd.isna(ha) and pd.isna(hb)))
        ):
            continue
        else:
            change = "changed"
        rows.append((bid, change, ha, hb, ma.get(bid, ""), mb.get(bid, "")))
    out = pd.DataFrame(rows, columns=pd.Index(columns))
    for column in ("households_a", "households_b"):
        out[column] = pd.to_numeric(out[column]).round().astype("Int64")
    return out


# --------------------------------------------------------------------------------------
# the workspace
# --------------------------------------------------------------------------------------
class Workspace:
    """Where a planner's (or a team's) projects live.

    Parameters
    ----------
    home
        The workspace folder (``GRIDPLAN_HOME``, else the user data folder). It holds
        ``projects/NAME.gpkg``, ``archive/NAME.gpkg`` and the read-only copies of the
        bundled samples (``samples/NAME.gpkg``).
    db
        A ``postgresql://`` URL: the projects live in that PostGIS database instead
        (``GRIDPLAN_DB``); ``home`` then only keeps the samples.
    timeout
        Seconds to wait for another session's save before giving up.
    samples
        Makes a bundled sample's layers the first time ``sample:NAME`` is opened
        (:func:`planning.projects.sample_layers`; :func:`planning.projects.workspace`
        gives a workspace with it). Without it, only samples made before open.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> ws = Workspace(tempfile.mkdtemp())
    >>> _ = ws.create("甲", layers={"lineage": pd.DataFrame({"building_id": ["B1"]})},
    ...               author="王芳")
    >>> _ = ws.duplicate("甲", "乙", author="王芳")
    >>> ws.rename("乙", "丙", author="王芳")
    >>> ws.archive("甲", author="王芳")
    >>> [p.name for p in ws.list()], [p.name for p in ws.list(archived=True)]
    (['丙'], ['甲'])
    """

    def __init__(
        self,
        home: str | Path | None = None,
        *,
        db: str | None = None,
        timeout: float = 60.0,
        samples: SampleMaker | None = None,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else default_home()
        if db is not None and not _is_database_url(db):
            msg = N_(
                "{url} is not a database URL. Write it as "
                "postgresql://user:password@host:5432/database."
            )
            raise ProjectError(msg, url=db)
        self.db = db.strip() if db else None
        self.timeout = timeout
        self.samples = samples
        # the database's PostGIS, schema and registry are checked by the first store this
        # workspace opens, not by every one (a project is opened on every page of the app)
        self._pg_checked = False

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, samples: SampleMaker | None = None
    ) -> Workspace:
        """Return the workspace named by ``GRIDPLAN_HOME`` and ``GRIDPLAN_DB``."""
        env = os.environ if environ is None else environ
        home = env.get(ENV_HOME, "").strip() or None
        db = env.get(ENV_DB, "").strip() or None
        return cls(home if home else default_home(), db=db, samples=samples)

    def __repr__(self) -> str:
        where = "PostGIS" if self.db else str(self.home)
        return f"Workspace({where!r})"

    # -- where ---------------------------------------------------------------------------
    def _folder(self, kind: str) -> Path:
        return self.home / kind

    def _path(self, name: str, *, kind: str = _PROJECTS) -> Path:
        return self._folder(kind) / f"{name}.gpkg"

    def path(self, name: str) -> Path | None:
        """Return the GeoPackage of a project (``None`` when it lives in a database)."""
        if self.db:
            return None
        return self._path(check_project_name(name))

    @contextlib.contextmanager
    def _file_lock(
        self, name: str, *, kind: str = _PROJECTS, suffix: str = ".lock"
    ) -> Iterator[None]:
        """Hold a project's lock (the one its store's saves take, by default)."""
        lock = filelock.FileLock(f"{self._path(name, kind=kind)}{suffix}", timeout=self.timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            msg = N_(
                "Another session has been saving {file} for more than {seconds:.0f} s. Wait for "
                "it to finish and try again."
            )
            raise PlanStoreError(msg, file=name, seconds=self.timeout) from None
        try:
            yield
        finally:
            lock.release()

    # -- the database's registry of archived projects ----------------------------------
    def _engine(self) -> Any:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        from gis.store.postgis import database_url

        return sa.create_engine(database_url(str(self.db)), poolclass=NullPool)

    def _pg_store(self, name: str) -> PostGISPlanStore:
        from gis.store.postgis import PostGISPlanStore

        self._pg_ready()
        return PostGISPlanStore(
            str(self.db), plan_id=name, timeout=self.timeout, schema_checked=True
        )

    def _pg_ready(self) -> None:
        """Check PostGIS and make gridplan's schema, tables and project registry, once per
        workspace object (a failed check is tried again next time)."""
        if self._pg_checked:
            return
        import sqlalchemy as sa

        from gis.store.postgis import PostGISPlanStore

        PostGISPlanStore(str(self.db), plan_id="__setup__", timeout=self.timeout).close()
        engine = self._engine()
        try:
            with engine.begin() as con:  # under the store's DDL lock: one maker at a time
                con.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                    {"k": "gridplan:gridplan:ddl"},
                )
                self._pg_registry(con)
        finally:
            engine.dispose()
        self._pg_checked = True

    def _pg_registry(self, con: Any) -> None:
        import sqlalchemy as sa

        con.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS gridplan.projects (name text PRIMARY KEY, "
                "archived boolean NOT NULL DEFAULT false, at text NOT NULL DEFAULT '', "
                "by text NOT NULL DEFAULT '')"
            )
        )

    def _pg_names(self) -> tuple[list[str], set[str]]:
        """Return the plan ids of the database and the archived ones."""
        import sqlalchemy as sa

        self._pg_ready()  # the schema, its tables and the registry
        engine = self._engine()
        try:
            with engine.begin() as con:
                names = [
                    str(r[0])
                    for r in con.execute(
                        sa.text("SELECT DISTINCT plan_id FROM gridplan.plans ORDER BY 1")
                    )
                ]
                archived = {
                    str(r[0])
                    for r in con.execute(
                        sa.text("SELECT name FROM gridplan.projects WHERE archived")
                    )
                }
        finally:
            engine.dispose()
        return names, archived

    def _pg_set_archived(self, name: str, archived: bool, *, author: str) -> None:
        import sqlalchemy as sa

        from gis.store._tables import _now

        self._pg_ready()
        engine = self._engine()
        try:
            with engine.begin() as con:
                con.execute(
                    sa.text(
                        "INSERT INTO gridplan.projects (name, archived, at, by) "
                        "VALUES (:n, :a, :t, :b) ON CONFLICT (name) DO UPDATE SET "
                        "archived = :a, at = :t, by = :b"
                    ),
                    {"n": name, "a": archived, "t": _now(), "b": author},
                )
        finally:
            engine.dispose()

    # -- what exists -----------------------------------------------------------------------
    def names(self, *, archived: bool = False) -> list[str]:
        """Return the names of the projects (or of the archived ones), sorted."""
        if self.db:
            names, gone = self._pg_names()
            return sorted(n for n in names if (n in gone) == archived and _valid(n))
        folder = self._folder(_ARCHIVE if archived else _PROJECTS)
        if not folder.is_dir():
            return []
        return sorted(
            unicodedata.normalize("NFC", p.stem)
            for p in folder.glob("*.gpkg")
            if not p.name.startswith(".") and _valid(p.stem)
        )

    def exists(self, name: str, *, archived: bool | None = None) -> bool:
        """Return whether a project of that name exists (archived or not, by default)."""
        name = check_project_name(name)
        kinds = (False, True) if archived is None else (archived,)
        return any(name in self.names(archived=kind) for kind in kinds)

    def list(self, *, archived: bool = False, samples: bool = False) -> list[ProjectSummary]:
        """Return one summary per project, newest change first.

        Parameters
        ----------
        archived
            List the archived projects instead.
        samples
            Add the bundled samples (read-only, named ``sample:NAME``) at the end.
        """
        out: list[ProjectSummary] = []
        for name in self.names(archived=archived):
            store = self._store(name, archived=archived)
            try:
                rows = store._plans_rows()
            finally:
                store.close()
            if rows:
                out.append(_summary_from_rows(name, rows, archived=archived, read_only=archived))
        out.sort(key=lambda s: s.updated_at, reverse=True)
        if samples:
            for sample in self.sample_names():
                with self.open(SAMPLE_PREFIX + sample) as project:
                    out.append(project.summary())
        return out

    def _store(self, name: str, *, archived: bool = False) -> PlanStore | PostGISPlanStore:
        if self.db:
            return self._pg_store(name)
        path = self._path(name, kind=_ARCHIVE if archived else _PROJECTS)
        return PlanStore(path, timeout=self.timeout)

    # -- open and create ---------------------------------------------------------------------
    def open(
        self, name: str, *, user: User | None = None, read_only: bool = False
    ) -> Project:
        """Open a project by name (``sample:NAME`` for a bundled sample, read-only).

        Raises
        ------
        ProjectError
            When there is no such project (an archived one is named as such).
        """
        if str(name).startswith(SAMPLE_PREFIX):
            return self._open_sample(str(name)[len(SAMPLE_PREFIX) :], user=user)
        name = check_project_name(name)
        if name in self.names():
            return Project(name, self._store(name), read_only=read_only, user=user)
        if name in self.names(archived=True):
            return Project(
                name, self._store(name, archived=True), read_only=True, user=user
            )
        msg = N_("There is no project called {name}. Its projects are: {names}.")
        raise ProjectError(msg, name=name, names=", ".join(self.names()) or "—")

    def create(
        self,
        name: str,
        *,
        layers: Mapping[str, pd.DataFrame],
        author: str,
        note: str = "",
        rules: Any = None,
        meta: Mapping[str, Any] | None = None,
        user: User | None = None,
    ) -> Project:
        """Create a project whose first version holds ``layers``.

        Raises
        ------
        ProjectError
            On a bad name, or when a project of that name exists (archived ones too).
        """
        name = check_project_name(name)
        if user is not None:
            from gis.users import authorize

            authorize(user, "upload")
        if self.exists(name):
            msg = N_(
                "There is already a project called {name}. Choose another name, or open it."
            )
            raise ProjectError(msg, name=name)
        if self.db:
            store: PlanStore | PostGISPlanStore = self._pg_store(name)
        else:
            store = PlanStore(self._path(name), plan_id=name, timeout=self.timeout)
        project = Project(name, store, user=user)
        try:
            project.save(
                layers=layers,
                action="create",
                author=author,
                note=note,
                rules=rules,
                base_version=0,
                meta=meta,
            )
        except BaseException:
            if not self.db and store.latest_version() is None:  # nothing committed: no file
                store.close()
                with contextlib.suppress(OSError):
                    self._path(name).unlink()
            raise
        return project

    # -- rename, duplicate, archive ------------------------------------------------------------
    def rename(self, old: str, new: str, *, author: str, user: User | None = None) -> None:
        """Rename a project (its history, reviews and audit go with it).

        Raises
        ------
        ProjectError
            On a bad name, a missing project, or a name already taken.
        """
        old, new = check_project_name(old), check_project_name(new)
        self._authorize(user)
        if old not in self.names():
            raise self._missing(old)
        if self.exists(new):
            msg = N_(
                "There is already a project called {name}. Choose another name, or open it."
            )
            raise ProjectError(msg, name=new)
        if self.db:
            self._pg_rename(old, new)
        else:
            with self._file_lock(old), self._file_lock(new):
                _relabel(self._path(old), new)
                os.replace(self._path(old), self._path(new))
            with contextlib.suppress(OSError):
                Path(f"{self._path(old)}.lock").unlink()
        with self.open(new) as project:
            project.store.record(
                "rename", user=author, target=new, detail=f"renamed from {old}"
            )

    def _pg_rename(self, old: str, new: str) -> None:
        import sqlalchemy as sa

        engine = self._engine()
        try:
            with engine.begin() as con:
                con.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                    {"k": f"gridplan:gridplan:plan:{old}"},
                )
                tables = [
                    str(r[0])
                    for r in con.execute(
                        sa.text(
                            "SELECT table_name FROM information_schema.columns "
                            "WHERE table_schema = 'gridplan' AND column_name = 'plan_id'"
                        )
                    )
                ]
                for table in tables:
                    con.execute(
                        sa.text(f"UPDATE gridplan.{_quote(table)} SET plan_id = :n WHERE plan_id = :o"),
                        {"n": new, "o": old},
                    )
                con.execute(
                    sa.text("UPDATE gridplan.projects SET name = :n WHERE name = :o"),
                    {"n": new, "o": old},
                )
        finally:
            engine.dispose()

    def duplicate(
        self, name: str, new: str, *, author: str, user: User | None = None
    ) -> Project:
        """Start project ``new`` from the latest version of ``name`` (a sample too).

        The copy's first version holds the source's layers and rules; its note says
        where it came from.
        """
        with self.open(name) as source:
            version = source.latest_version()
            layers = {k: v for k, v in source.load().items() if k != "plans"}
            info = source.store.info()
        meta = info["meta"]
        return self.create(
            new,
            layers=layers,
            author=author,
            note=f"copy of {name}, version {version}",
            rules=info["rules"] or None,
            meta={k: v for k, v in meta.items() if k not in {"action", "stats"}},
            user=user,
        )

    def archive(self, name: str, *, author: str, user: User | None = None) -> None:
        """Move a project to the archive: listed apart, read-only, restorable."""
        self._move(name, archived=True, author=author, user=user)

    def unarchive(self, name: str, *, author: str, user: User | None = None) -> None:
        """Bring an archived project back to the list."""
        self._move(name, archived=False, author=author, user=user)

    def _move(self, name: str, *, archived: bool, author: str, user: User | None) -> None:
        name = check_project_name(name)
        self._authorize(user)
        if name not in self.names(archived=not archived):
            if name in self.names(archived=archived):
                return  # already there
            raise self._missing(name)
        if self.db:
            self._pg_set_archived(name, archived, author=author)
        else:
            src_kind, dst_kind = (_PROJECTS, _ARCHIVE) if archived else (_ARCHIVE, _PROJECTS)
            src, dst = self._path(name, kind=src_kind), self._path(name, kind=dst_kind)
            dst.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock(name, kind=src_kind):
                _single_file(src)
                os.replace(src, dst)
            with contextlib.suppress(OSError):
                Path(f"{src}.lock").unlink()
        store = self._store(name, archived=archived)
        try:
            store.record("archive" if archived else "unarchive", user=author, target=name)
        finally:
            store.close()

    def _authorize(self, user: User | None) -> None:
        if user is not None:
            from gis.users import authorize

            authorize(user, "upload")

    def _missing(self, name: str) -> ProjectError:
        msg = N_("There is no project called {name}. Its projects are: {names}.")
        return ProjectError(msg, name=name, names=", ".join(self.names()) or "—")

    # -- the bundled samples ---------------------------------------------------------------
    @staticmethod
    def sample_names() -> list[str]:
        """Return the bundled samples that open as read-only projects."""
        from gis.datasets import SAMPLES

        return [name for name in SAMPLES if name in {"beijing_district", "beijing", "shanghai"}]

    def _open_sample(self, sample: str, *, user: User | None) -> Project:
        if sample not in self.sample_names():
            msg = N_("There is no sample called {name!r}. Choose one of: {names}.")
            raise ProjectError(msg, name=sample, names=", ".join(self.sample_names()))
        path = self._path(sample, kind=_SAMPLES)
        if not path.exists():
            with self._file_lock(sample, kind=_SAMPLES, suffix=".make.lock"):
                if not path.exists():
                    if self.samples is None:
                        msg = N_(
                            "The sample {name} has not been prepared in this workspace yet. "
                            "Open it from the app or the command line once."
                        )
                        raise ProjectError(msg, name=sample)
                    layers, meta = self.samples(sample)
                    store = PlanStore(path, plan_id=SAMPLE_PREFIX + sample)
                    Project(SAMPLE_PREFIX + sample, store).save(
                        layers=layers,
                        action="create",
                        author="gridplan",
                        note="bundled sample",
                        meta=meta,
                    )
                    store.close()
        return Project(
            SAMPLE_PREFIX + sample, PlanStore(path), read_only=True, user=user
        )


def _valid(name: str) -> bool:
    try:
        return check_project_name(name) == unicodedata.normalize("NFC", name)
    except ProjectError:
        return False


def _single_file(path: Path) -> None:
    """Fold a GeoPackage's WAL back into it (before it is moved or renamed)."""
    if not path.exists():
        return
    con = _connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.OperationalError):
            con.execute("PRAGMA journal_mode = DELETE")
    finally:
        con.close()
    for suffix in ("-wal", "-shm"):
        side = Path(f"{path}{suffix}")
        if side.exists() and side.stat().st_size == 0:
            with contextlib.suppress(OSError):
                side.unlink()


def _gpkg_shape(blob: bytes | None) -> Any:
    """Return the shape of a GeoPackage geometry blob (``None`` for a missing one)."""
    import shapely

    if blob is None or len(blob) < 8:
        return None
    envelope = (blob[3] >> 1) & 0b111
    start = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(envelope, 0)
    return shapely.from_wkb(bytes(blob[start:]))


def _spatial_functions(con: sqlite3.Connection) -> None:
    """Give plain SQLite the functions a GeoPackage's R-tree triggers call on an update."""

    def bound(i: int) -> Any:
        def f(blob: bytes | None) -> float | None:
            shape = _gpkg_shape(blob)
            return None if shape is None or shape.is_empty else float(shape.bounds[i])

        return f

    def is_empty(blob: bytes | None) -> int | None:
        shape = _gpkg_shape(blob)
        return None if shape is None else int(shape.is_empty)

    con.create_function("ST_IsEmpty", 1, is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")):
        con.create_function(name, 1, bound(i), deterministic=True)


def _relabel(path: Path, new: str) -> None:
    """Set the plan id of every row of a project's GeoPackage to its new name."""
    _single_file(path)
    con = _connect(path)
    _spatial_functions(con)
    try:
        con.execute("BEGIN IMMEDIATE")
        for table in _tables(con):
            columns = [str(r[1]) for r in con.execute(f"PRAGMA table_info({_quote(table)})")]
            if "plan_id" in columns:
                con.execute(f"UPDATE {_quote(table)} SET plan_id = ?", (new,))
        con.execute("COMMIT")
    finally:
        con.close()
