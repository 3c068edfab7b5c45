"""``st.cache_data`` wrappers around library calls (each caller gets its own copy).

Large inputs (a loaded project) are passed with a leading underscore, so Streamlit does
not hash them; the ``token`` beside them names the project and rules they come from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from gis import datasets
from gis.crs import reproject, to_metric
from gis.errors import InfeasibleError
from gis.gcj import frame_to_gcj
from gis.io import Project, read_project
from gis.zipsafe import ZipLimits
from planning.access import AccessResult, access_after_split, access_for
from planning.communities import Loaded, load, prepare
from planning.grids import GridResult, make_grids
from planning.rules import RuleSet
from planning.split import SplitResult, propose_splits

__all__ = [
    "FOLLOW_LAYERS",
    "community_table",
    "UPLOAD_LIMITS",
    "display_copy",
    "frame_digest",
    "load_project",
    "load_sample",
    "READ_OPTIONS",
    "ROLES",
    "load_upload",
    "read_arguments",
    "scan_cad",
    "scan_layers",
    "preview_table",
    "read_upload",
    "run_access",
    "run_access_after",
    "run_grids",
    "run_split",
]

UPLOAD_LIMITS = ZipLimits(max_entries=2_000, max_total_bytes=1024**3, max_ratio=100.0)
"""Bounds on what an uploaded zip may unpack to."""

_NOT_RETRIED = ("has no households", "within the normal range")

FOLLOW_LAYERS: tuple[str, ...] = ("roads", "waterways", "barriers", "compounds", "service_centres")
"""The layers a split's new boundaries may follow (and service centres, for distances)."""


@st.cache_data(show_spinner=False, max_entries=8)
def run_access(token: str, rules: RuleSet, _loaded: Loaded) -> AccessResult:
    """Measure walking access (``token`` names the project; ``rules`` the life circles)."""
    return access_for(_loaded, rules=rules)


@st.cache_data(show_spinner=False, max_entries=16)
def run_access_after(
    token: str,
    parts_key: str,
    rules: RuleSet,
    _loaded: Loaded,
    _parts: gpd.GeoDataFrame,
    _lineage: object,
) -> AccessResult:
    """Measure walking access after a split (``parts_key`` names the parts and lineage)."""
    return access_after_split(_loaded, _parts, lineage=_lineage, rules=rules)


READ_OPTIONS = "_read"
"""The pseudo-layer of a Source's overrides that carries the reading options."""


@st.cache_data(show_spinner=False, max_entries=8)
def load_sample(name: str, rules: RuleSet, lang: str) -> Loaded:
    """Load a bundled sample, prepared under ``rules``."""
    return load(datasets.get_path(name), rules=rules, lang=lang)


@st.cache_data(show_spinner=False, max_entries=8)
def load_project(
    name: str, version: int, stamp: str, rules: RuleSet, lang: str, *, _workspace: Any
) -> Loaded:
    """Load a project's data (``version``: the version holding its buildings; ``stamp``:
    the workspace and when that version was saved, so another project of the same name
    never shares the entry), under ``rules``."""
    from planning.projects import open_loaded

    with _workspace.open(name) as proj:
        return open_loaded(proj, rules=rules, lang=lang)


@st.cache_data(show_spinner=False, max_entries=16)
def community_table(
    name: str, version: int, stamp: str, rules: RuleSet, lang: str, *, _workspace: Any
) -> gpd.GeoDataFrame:
    """A project's communities with totals and status, without reading a building
    (``version`` and ``stamp`` as for :func:`load_project`)."""
    from planning.projects import community_table as table

    with _workspace.open(name) as proj:
        return table(proj, rules=rules, lang=lang)


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload(path: str, token: str, overrides: tuple) -> Project:
    """Read the planner's uploaded files (a file or a folder of them) with a hand-chosen mapping.

    The pseudo-layer ``_read`` of ``overrides`` carries the reading options chosen on the
    Data page: ``crs`` (declared for layers without one, a CAD drawing's, or GCJ-02/BD-09)
    ``encoding`` (of files that do not say theirs), ``layer_map`` (a CAD drawing's
    layers, ``CADLAYER=layer,…``); and the pseudo-layer ``_roles`` the role of each
    layer (``{source: role}``, see :func:`gis.io.read_project`) with the roster's
    ``sheet`` and ``header_line``.
    """
    return read_project(path, limits=UPLOAD_LIMITS, **read_arguments(overrides))


ROLES = "_roles"
"""The pseudo-layer of a Source's overrides that carries the role of each layer."""


def read_arguments(overrides: tuple | dict) -> dict[str, Any]:
    """``read_project``'s keyword arguments for a Source's overrides (mapping, options, roles)."""
    mapping = (
        {layer: dict(pairs) for layer, pairs in overrides}
        if not isinstance(overrides, dict)
        else {k: dict(v) for k, v in overrides.items()}
    )
    options = mapping.pop(READ_OPTIONS, {})
    roles = mapping.pop(ROLES, {})
    header = options.get("header_line")
    return {
        "overrides": mapping,
        "crs": options.get("crs") or None,
        "encoding": options.get("encoding") or None,
        "layer_map": options.get("layer_map") or None,
        "roles": roles or None,
        "sheet": options.get("sheet") or None,
        "header_line": int(header) if header else None,
    }


@st.cache_data(show_spinner=False, max_entries=8)
def scan_layers(path: str, token: str) -> pd.DataFrame:
    """The layers of an upload with the role their names give (``gis.io.layer_roles``)."""
    from gis.io import layer_roles

    return layer_roles(path, limits=UPLOAD_LIMITS)


@st.cache_data(show_spinner=False, max_entries=16)
def preview_table(
    path: str, token: str, member: str | None, sheet: str | None, header_line: int | None
) -> dict[str, Any]:
    """A roster's sheets, first lines, rows as read and field mapping (``gis.io.table_preview``)."""
    from gis.io import table_preview

    return table_preview(
        path, member=member, sheet=sheet, header_line=header_line, limits=UPLOAD_LIMITS
    )


@st.cache_data(show_spinner=False, max_entries=8)
def scan_cad(path: str, token: str) -> pd.DataFrame:
    """The CAD layers of an uploaded drawing, for the Data page's mapping table."""
    from gis.cad import cad_layers

    return cad_layers(path)


@st.cache_data(show_spinner=False, max_entries=8)
def load_upload(path: str, token: str, overrides: tuple, rules: RuleSet, lang: str) -> Loaded:
    """Read, validate and prepare the planner's upload (raises ``GridplanError`` on failure)."""
    return prepare(read_upload(path, token, overrides), rules=rules, lang=lang)


@st.cache_data(show_spinner=False, max_entries=16)
def run_split(
    token: str,
    community_id: str,
    rules: RuleSet,
    parts: int | None,
    follow: tuple[str, ...],
    lang: str,
    _loaded: Loaded,
) -> tuple[SplitResult, tuple[str, ...], str | None]:
    """Propose splits of one community, following the chosen layers.

    When the engine cannot use a layer (its blocks fall apart), the split is tried again
    without roads, then without any line layer, so the planner still gets proposals; the
    layers left out and the first error's message are returned with the result.
    """
    project = _loaded.project
    communities = _loaded.communities
    row = communities[communities["community_id"].astype(str) == community_id].iloc[0]
    attempts: list[tuple[str, ...]] = [follow]
    if "roads" in follow:
        attempts.append(tuple(f for f in follow if f != "roads"))
    lines = {"roads", "waterways", "barriers"}
    if any(f in lines for f in follow):
        attempts.append(tuple(f for f in follow if f not in lines))
    first_error: InfeasibleError | None = None
    for used in dict.fromkeys(attempts):
        layers = {
            name: getattr(project, name)
            for name in used
            if getattr(project, name, None) is not None
        }
        try:
            result = propose_splits(
                _loaded.buildings, community=row, rules=rules, parts=parts, lang=lang, **layers
            )
        except InfeasibleError as err:
            if first_error is None:
                first_error = err
            if any(text in err.msgid for text in _NOT_RETRIED):
                raise
            continue
        dropped = tuple(f for f in follow if f not in used)
        return result, dropped, first_error.render(lang) if first_error and dropped else None
    assert first_error is not None
    raise first_error


@st.cache_data(show_spinner=False, max_entries=8)
def run_grids(
    token: str,
    community_ids: tuple[str, ...] | None,
    rules: RuleSet,
    lang: str,
    _loaded: Loaded,
) -> GridResult:
    """Grids for some communities (all when ``community_ids`` is ``None``)."""
    project = _loaded.project
    return make_grids(
        _loaded.buildings,
        communities=_loaded.communities,
        roads=project.roads,
        waterways=project.waterways,
        barriers=project.barriers,
        compounds=project.compounds,
        landuse=project.landuse,
        rules=rules,
        community_ids=list(community_ids) if community_ids is not None else None,
        lang=lang,
    )


def frame_digest(frame: pd.DataFrame, *, columns: Sequence[str] = ()) -> str:
    """A short hash of a layer's content (``columns`` and geometry): a cache key per version.

    Two sessions whose grids differ never share a key (a counter of edits would), and an
    undo brings back the key, and the cached map, of the grids it restores.
    """
    digest = hashlib.sha1()
    present = [c for c in columns if c in frame]
    if present:
        hashed = pd.util.hash_pandas_object(frame[present].astype(str), index=False)
        digest.update(hashed.to_numpy().tobytes())
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        for wkb in shapely.to_wkb(frame.geometry.values):
            digest.update(b"" if wkb is None else wkb)
    digest.update(str(len(frame)).encode())
    return digest.hexdigest()[:16]


def _round(coords: np.ndarray) -> np.ndarray:
    return np.round(coords, 6)


@st.cache_data(show_spinner=False, max_entries=64)
def display_copy(
    key: str,
    _frame: gpd.GeoDataFrame,
    *,
    columns: Sequence[str] = (),
    coverage: bool = False,
    tolerance_m: float = 1.0,
    gcj02: bool = False,
) -> gpd.GeoDataFrame:
    """A light copy of a layer for the map: simplified, lon/lat rounded to 1e-6°, optionally GCJ-02.

    Polygons that tile an area (communities, atoms, parts, grids) are simplified together
    with ``shapely.coverage_simplify`` so shared edges stay shared; other layers one by one.
    Only ``columns`` (made JSON-safe) are kept.
    """
    frame = _frame[[c for c in columns if c in _frame] + [_frame.geometry.name]].copy()
    if frame.empty:
        return frame.to_crs("EPSG:4326") if frame.crs is not None else frame
    metric = to_metric(frame) if frame.crs is None or frame.crs.is_geographic else frame
    geoms = metric.geometry.values
    if tolerance_m > 0:
        try:
            simple = (
                shapely.coverage_simplify(geoms, tolerance_m)
                if coverage
                else shapely.simplify(geoms, tolerance_m, preserve_topology=True)
            )
        except shapely.errors.GEOSException:
            simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
        keep = ~shapely.is_empty(simple)
        geoms = np.where(keep, simple, geoms)
    out = gpd.GeoDataFrame(
        metric.drop(columns=metric.geometry.name), geometry=list(geoms), crs=metric.crs
    )
    out = reproject(out, "EPSG:4326")
    out.geometry = shapely.transform(out.geometry.values, _round)
    for column in out.columns:
        if column == out.geometry.name:
            continue
        values = out[column]
        if values.dtype == object:
            out[column] = values.map(
                lambda v: "; ".join(map(str, v)) if isinstance(v, list | tuple) else v
            )
        if str(values.dtype) in {"Int64", "boolean"} or values.dtype == object:
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    if gcj02:
        out = frame_to_gcj(out)
    return out
