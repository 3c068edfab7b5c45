"""What both plan stores share: statuses, checks, the rows-to-frames code, the public API.

Private to :mod:`gis.store`: :class:`_StoreCommon` declares the API of a plan store and
implements everything that does not depend on where plans are kept; the GeoPackage
store (:mod:`gis.store.gpkg`) and the PostGIS store (:mod:`gis.store.postgis`) supply
only their I/O. The public constants here are exported by :mod:`gis.store`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Self

import numpy as np
import pandas as pd

from gis.errors import PlanConflictError, PlanStoreError
from gis.i18n import N_
from gis.layers import encode_layer

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

_PLANS_COLUMNS = ("plan_id", "version", "status", "author", "created_at", "note", "rules", "layers")
_REVIEW_COLUMNS = ("plan_id", "version", "status", "author", "at", "comment")



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
_META = "@meta"
"""The manifest key of a version's metadata (``action`` and the caller's own); a layer
name cannot start with ``@``, so it never names a layer."""


def _layer_entries(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Return the layers of a version's manifest (without its ``@`` metadata keys)."""
    return {name: entry for name, entry in manifest.items() if not str(name).startswith("@")}


def _carried(
    source: Mapping[str, Any] | None,
    carry: bool | Collection[str],
    *,
    saved: Collection[str],
) -> dict[str, Any]:
    """Return the manifest entries of the layers a save carries from an earlier version.

    A carried entry points at the version that holds its rows (``same_as``), so an
    unchanged layer is stored once however many versions keep it. ``source`` is the
    committed ``plans`` row carried from (the latest, or the one restored; ``None`` for
    an empty plan); ``carry`` is ``True`` for every layer of it that ``saved`` does not
    replace, or the names to carry.
    """
    if not carry or source is None:
        return {}
    manifest = _layer_entries(json.loads(source.get("layers") or "{}"))
    names = [n for n in manifest if n not in saved] if carry is True else list(carry)
    missing = [n for n in names if n not in manifest]
    if missing:
        msg = N_("Version {version} has no layer {layers} to keep. Its layers are: {have}.")
        raise PlanStoreError(
            msg, version=source["version"], layers=", ".join(missing), have=", ".join(manifest)
        )
    held = int(source["version"])
    return {n: {**manifest[n], "same_as": int(manifest[n].get("same_as", held))} for n in names}


def _where_sql(where: Mapping[str, Collection[Any]] | None, columns: Collection[str]) -> str:
    """Return ``AND column IN (...)`` for each filter whose column the layer has (SQLite)."""
    if not where:
        return ""
    have = {str(c) for c in columns}
    parts = []
    for column, values in where.items():
        if str(column) not in have:
            continue
        listed = ", ".join(
            str(int(v)) if isinstance(v, int | np.integer) else "'" + str(v).replace("'", "''") + "'"
            for v in values
        )
        parts.append(f" AND {_quote(str(column))} IN ({listed or 'NULL'})")
    return "".join(parts)


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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _empty_frame(columns: tuple[str, ...], **dtypes: Any) -> pd.DataFrame:
    """An empty table with ``columns`` (text unless ``dtypes`` says otherwise)."""
    return pd.DataFrame(
        {column: pd.Series([], dtype=dtypes.get(column, object)) for column in columns}
    )


def _audit_frame(rows: list[Any]) -> pd.DataFrame:
    """Return audit rows as the :data:`AUDIT_COLUMNS` frame (``allowed`` as bool)."""
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["allowed"] = frame["allowed"].astype(bool)
    return frame


def _check_status(status: str) -> None:
    if status not in PLAN_STATUSES:
        msg = N_("{status!r} is not a plan status. Use one of: {statuses}.")
        raise PlanStoreError(msg, status=status, statuses=", ".join(PLAN_STATUSES))


# --------------------------------------------------------------------------------------
# what both stores share
# --------------------------------------------------------------------------------------
class _StoreCommon:
    """The public API of a plan store, with what does not depend on where plans are kept.

    :class:`PlanStore` (a GeoPackage) and :class:`gis.store.postgis.PostGISPlanStore` (a
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

    def _read_layers(
        self,
        version: int,
        manifest: Mapping[str, Any],
        *,
        where: Mapping[str, Collection[Any]] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Return the layers of committed ``version``, each checked against its row count.

        ``where`` (``{column: values}``) keeps only the rows whose column is one of the
        values, in the layers that have the column (then rows are not counted); ``bbox``
        keeps the shapes of the other spatial layers that meet it.
        """
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
        raise self._no_version(int(version), rows)

    def _no_version(
        self, version: int, rows: list[dict[str, Any]] | None = None
    ) -> PlanStoreError:
        """The error for a version the plan does not have."""
        rows = self._plans_rows() if rows is None else rows
        msg = N_("The plan {file} has no version {version}. Its versions are: {versions}.")
        return PlanStoreError(
            msg,
            file=self._file,
            version=version,
            versions=", ".join(str(r["version"]) for r in rows),
        )

    @staticmethod
    def _checked_layers(
        layers: Mapping[str, pd.DataFrame],
        *,
        author: str,
        status: str,
        rules: Any,
        carry: bool | Collection[str] = False,
    ) -> tuple[dict[str, tuple[pd.DataFrame, dict[str, Any]]], str]:
        """Check a save's arguments; return ``{layer: (frame, manifest entry)}`` and the rules.

        Layers named in :data:`RESERVED_LAYERS` are skipped.
        """
        _check_status(status)
        if not str(author).strip():
            msg = N_("Say who saves the plan: author cannot be empty.")
            raise PlanStoreError(msg)
        prepared = {
            name: encode_layer(name, frame)
            for name, frame in layers.items()
            if name not in RESERVED_LAYERS
        }
        if not prepared and not carry:
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
        action: str = "",
        carry: bool | Collection[str] = False,
        carry_from: int | None = None,
        meta: Mapping[str, Any] | None = None,
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
        action
            What made this version, in a stable word (``create``, ``split``, ``grids``,
            ``restore``…); :meth:`versions` lists it.
        carry
            Layers of the latest version to keep in the new one without writing them again
            (``True``: every layer that ``layers`` does not replace). The new version
            points at the rows already stored, so an unchanged ``buildings`` layer is
            stored once; :meth:`load` reads it as if it had been saved again.
        carry_from
            Carry the layers of this version rather than the latest (restoring an old
            version writes no rows at all).
        meta
            More about the version, kept with it as JSON (:meth:`info` returns it under
            ``meta``).

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
        >>> from gis.store import PlanStore
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
            carry=carry,
            carry_from=carry_from,
            meta={**(meta or {}), "action": str(action)},
        )

    def versions(self) -> pd.DataFrame:
        """Return one row per committed version.

        Columns: ``plan_id``, ``version``, ``status``, ``author``, ``created_at``,
        ``note``, ``rules`` (JSON), ``n_grids`` and ``action``.
        """
        columns = [*_PLANS_COLUMNS[:-1], "n_grids", "action"]
        rows = []
        for row in self._plans_rows():
            layers = json.loads(row.pop("layers") or "{}")
            row["n_grids"] = int(layers.get("grids", {}).get("rows", 0))
            row["action"] = str(layers.get(_META, {}).get("action", ""))
            row["version"] = int(row["version"])
            rows.append(row)
        return pd.DataFrame(rows, columns=columns)

    def info(self, version: int | None = None) -> dict[str, Any]:
        """Return the ``plans`` row of ``version`` (latest by default), rules decoded."""
        row = dict(self._row(version))
        row["version"] = int(row["version"])
        row["rules"] = json.loads(row["rules"] or "{}")
        manifest = json.loads(row["layers"] or "{}")
        row["layers"] = _layer_entries(manifest)  # for a carried layer, same_as: where its rows are
        row["meta"] = dict(manifest.get(_META, {}))  # action, and the meta of save()
        return row

    def load(
        self,
        version: int | None = None,
        *,
        layers: Collection[str] | None = None,
        where: Mapping[str, Collection[Any]] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Return the layers of ``version`` (the latest by default), plus its ``plans`` row.

        Rows of versions that were never committed are never read. Each layer is checked
        against the row count committed with it.

        Parameters
        ----------
        version
            The version (the latest by default).
        layers
            Read only these layers (those the version has); every layer by default.
        where
            ``{column: values}``: in the layers that have the column, read only the rows
            whose value is one of ``values`` (e.g. ``{"community_id": ["110108001001"]}``
            to open one community of a whole city).
        bbox
            ``(xmin, ymin, xmax, ymax)`` in the layers' CRS: the spatial layers that
            ``where`` does not filter are read only where they meet it (the roads and
            rivers around one community, not the city's).

        Raises
        ------
        PlanStoreError
            If there is no such version, or a layer does not hold the rows it was saved
            with (the file or the table was changed by other software).
        """
        row = self._row(version)
        v = int(row["version"])
        manifest = _layer_entries(json.loads(row["layers"] or "{}"))
        if layers is not None:
            manifest = {n: e for n, e in manifest.items() if n in set(layers)}
        by_version: dict[int, dict[str, Any]] = {}
        for name, entry in manifest.items():
            by_version.setdefault(int(entry.get("same_as", v)), {})[name] = entry
        read: dict[str, pd.DataFrame] = {}
        for held_in, entries in by_version.items():
            read.update(self._read_layers(held_in, entries, where=where, bbox=bbox))
        out = {name: read[name] for name in manifest}
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
        >>> from gis.store import PlanStore
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
