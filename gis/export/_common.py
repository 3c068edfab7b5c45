"""What the export formats share: labels, colours, cell text, the plan's row and rules.

Private to :mod:`gis.export`; the public names (:data:`FORMATS`, :data:`ENCODINGS`,
:data:`COLUMN_LABELS`, :func:`column_label`, :func:`colour_classes`) are exported there.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.i18n import N_, translator

FORMATS: tuple[str, ...] = (
    "gpkg",
    "shp",
    "geojson",
    "kml",
    "kmz",
    "xlsx",
    "pdf",
    "dxf",
    "handover",
)
"""The export formats, as ``--format`` takes them."""

ENCODINGS: dict[str, str] = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}
"""Shapefile text encodings: the name a planner types → the ``.cpg`` value."""

_SUFFIX_FORMAT = {
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".shp": "shp",
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
    ".kmz": "kmz",
    ".xlsx": "xlsx",
    ".pdf": "pdf",
    ".dxf": "dxf",
}
_MAP_LAYERS = ("grids", "patches", "proposals", "communities")
_NAME_COLUMN = {
    "grids": "grid_code",
    "patches": "patch_id",
    "proposals": "proposal_id",
    "communities": "name",
}

COLUMN_LABELS: dict[str, str] = {
    "grid_code": N_("grid code"),
    "community_id": N_("community code"),
    "name": N_("name"),
    "street": N_("street"),
    "households": N_("households"),
    "residents": N_("residents"),
    "special_service_households": N_("special-service households"),
    "workload": N_("workload"),
    "patch_id": N_("patch"),
    "n_buildings": N_("buildings"),
    "n_grids": N_("grids"),
    "status": N_("status"),
    "kind": N_("grid kind"),
    "kind_label": N_("kind of grid"),
    "reason": N_("reason"),
    "reasons": N_("reasons"),
    "building_id": N_("building"),
    "unit_from": N_("from unit"),
    "unit_to": N_("to unit"),
    "floor_from": N_("from floor"),
    "floor_to": N_("to floor"),
    "proposal_id": N_("proposal"),
    "rank": N_("rank"),
    "part": N_("part"),
    "parent_community_id": N_("parent community"),
    "required_staff": "required_staff",
    "staff": "staff",
    "shortfall": "shortfall",
    "from_community_id": N_("from community"),
    "to_community_id": N_("to community"),
    "area_m2": N_("area (m²)"),
    "rule": N_("rule"),
    "value": N_("value"),
    "source": N_("source"),
    "plan_id": N_("plan id"),
    "version": N_("version"),
    "author": N_("author"),
    "created_at": N_("saved at"),
    "note": N_("note"),
    "centre_source": "centre_source",
    "mean_walk_m": "mean_walk_m",
    "p90_walk_m": "p90_walk_m",
    "share_within_5min": "share_within_5min",
    "share_within_10min": "share_within_10min",
    "share_within_15min": "share_within_15min",
    "straight_mean_m": "straight_mean_m",
    "households_estimated": N_("of which estimated"),
    "households_basis": N_("households counted or estimated"),
    "walk_m": N_("walk (m)"),
    "connector_m": N_("to the road (m)"),
    "centre": N_("service centre"),
}
"""Display labels (gettext msgids) of the plan's columns, for reports and maps."""

# Friendly 10-character names for the shapefile export (ASCII, so 10 bytes in any encoding).
_SHORT_NAMES: dict[str, str] = {
    "special_service_households": "special_hh",
    "community_id": "comm_id",
    "parent_community_id": "parent_id",
    "from_community_id": "from_comm",
    "to_community_id": "to_comm",
    "required_staff": "req_staff",
    "n_buildings": "n_bldgs",
    "building_id": "bldg_id",
    "proposal_id": "prop_id",
    "households_per_worker": "hh_per_wkr",
    "residents_per_worker": "res_per_wk",
    "estimated_buildings": "n_estimate",
    "households_source": "hh_source",
}
_DBF_TEXT_BYTES = 254


def column_label(column: str, lang: str | None = "zh_CN") -> str:
    """Return the display label of a plan column in ``lang`` (the column itself if unknown).

    Examples
    --------
    >>> column_label("households", "zh_CN"), column_label("grid_code", "en")
    ('户数', 'grid code')
    """
    msgid = COLUMN_LABELS.get(column)
    return translator(lang).gettext(msgid) if msgid else column


# --------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------
def colour_classes(
    geometries: Sequence[Any] | np.ndarray,
    *,
    colours: int = 6,
    keep: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """Give each polygon one of ``colours`` classes so that touching polygons differ.

    A greedy colouring, largest degree first; with more neighbours than colours a class
    is reused (the least used among the neighbours).

    Parameters
    ----------
    geometries
        The polygons.
    colours
        How many classes.
    keep
        A class per polygon to keep where it still differs from its neighbours' (``-1``:
        none), e.g. the colours of grids before a hand edit: the grids the edit did not
        touch keep theirs, so the map does not change colour all over.

    Examples
    --------
    >>> from shapely import box
    >>> colour_classes([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)]).tolist()
    [1, 0, 1]
    >>> colour_classes([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], keep=[3, -1, -1]).tolist()
    [3, 0, 1]
    """
    geoms = np.asarray(geometries, dtype=object)
    n = len(geoms)
    out = np.full(n, -1, dtype=int)
    if n == 0:
        return out
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    order = sorted(range(n), key=lambda i: (-len(neighbours[i]), i))
    if keep is not None:
        kept = np.asarray(keep, dtype=int)
        for i in order:  # keep a class unless a neighbour kept it already
            c = int(kept[i])
            if 0 <= c < colours and all(out[j] != c for j in neighbours[i]):
                out[i] = c
    for i in order:
        if out[i] >= 0:
            continue
        used = [out[j] for j in neighbours[i] if out[j] >= 0]
        free = [c for c in range(colours) if c not in used]
        out[i] = free[0] if free else int(np.argmin(np.bincount(used, minlength=colours)))
    return out


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join(_cell_text(v) for v in value)
    return str(value)


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose list cells are joined text (for DBF, KML and Excel)."""
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for column in out.columns:
        if column == geometry:
            continue
        series = out[column]
        if series.dtype == object and any(
            isinstance(v, list | tuple | dict | set | np.ndarray) for v in series
        ):
            out[column] = [
                json.dumps(v, ensure_ascii=False, default=str)
                if isinstance(v, dict)
                else _cell_text(v)
                for v in series
            ]
    return out


def _load(
    plan: Mapping[str, pd.DataFrame] | str | Path, version: int | None
) -> dict[str, pd.DataFrame]:
    if isinstance(plan, Mapping):
        return dict(plan)
    from gis.store import read_exported

    return read_exported(plan, version=version)


def _plans_row(plan: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    rows = plan.get("plans")
    if rows is None or len(rows) == 0:
        return {}
    return {k: (None if _cell_text(v) == "" else v) for k, v in rows.iloc[-1].to_dict().items()}


def _rules_data(plan: Mapping[str, pd.DataFrame], rules: Any) -> dict[str, Any]:
    from gis.store import rules_json

    if rules is not None:
        return json.loads(rules_json(rules))
    text = _plans_row(plan).get("rules")
    if isinstance(text, str) and text.strip():
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}


def _spatial(plan: Mapping[str, pd.DataFrame], names: Sequence[str]) -> dict[str, gpd.GeoDataFrame]:
    return {
        name: plan[name]
        for name in names
        if isinstance(plan.get(name), gpd.GeoDataFrame) and len(plan[name])
    }


# --------------------------------------------------------------------------------------
# estimated households: marked in every report (issue 17)
# --------------------------------------------------------------------------------------
ESTIMATE_MARK = N_("estimated")
"""The word that marks an estimated figure (估算 in zh_CN)."""

_ESTIMATE_NOTE = N_(
    "{mark}: {households} of the {total} households ({share:.0%}, {buildings} buildings) are "
    "estimated from footprint × floors ÷ {area:g} m² per dwelling, not counted; replace them "
    "with counts (户数 or a roster) before the plan is signed"
)
_ESTIMATE_NOTE_NO_AREA = N_(
    "{mark}: {households} of the {total} households ({share:.0%}, {buildings} buildings) are "
    "estimated from footprint × floors, not counted; replace them with counts (户数 or a "
    "roster) before the plan is signed"
)


class _Estimates:
    """Which households of a plan are estimated (footprint × floors), not counted.

    Read from the buildings' ``households_source`` (the plan's ``buildings`` layer, or the
    project's given as context) or, failing that, from a ``households_source`` column of
    ``grid_members``. Empty when neither says (nothing is then marked).
    """

    def __init__(self, plan: Mapping[str, pd.DataFrame], rules: Mapping[str, Any]) -> None:
        self.buildings: frozenset[str] = frozenset()
        self.building_households: dict[str, int] = {}
        source = None
        frame = plan.get("buildings")
        if isinstance(frame, pd.DataFrame) and {"building_id", "households_source"} <= set(frame):
            source = frame
        members = plan.get("grid_members")
        if source is None and isinstance(members, pd.DataFrame) and {
            "building_id",
            "households_source",
        } <= set(members):
            source = members
        if source is not None:
            estimated = source["households_source"].astype("string").eq("estimated").fillna(False)
            ids = source.loc[estimated.to_numpy(), "building_id"].astype(str)
            self.buildings = frozenset(ids)
            if "households" in source:
                hh = pd.to_numeric(source.loc[estimated.to_numpy(), "households"], errors="coerce")
                self.building_households = (
                    pd.Series(hh.fillna(0).to_numpy(), index=ids.to_numpy())
                    .groupby(level=0)
                    .sum()
                    .astype(int)
                    .to_dict()
                )
        self.per_grid: dict[str, int] = {}
        if self.buildings and isinstance(members, pd.DataFrame) and "grid_code" in members:
            flagged = members["building_id"].astype(str).isin(self.buildings)
            hh = pd.to_numeric(members["households"], errors="coerce").fillna(0)
            self.per_grid = (
                hh[flagged].groupby(members.loc[flagged, "grid_code"].astype(str)).sum().astype(int)
            ).to_dict()
        self.per_community: dict[str, int] = {}
        if self.buildings and isinstance(frame, pd.DataFrame) and "community_id" in frame:
            flagged = frame["building_id"].astype(str).isin(self.buildings)
            hh = pd.to_numeric(frame.get("households"), errors="coerce").fillna(0)
            by = frame.loc[flagged, "community_id"].astype(str)
            self.per_community = hh[flagged].groupby(by).sum().astype(int).to_dict()
        values = rules.get("values") or {}
        area = values.get("area_per_dwelling_m2")
        self.area = float(area) if isinstance(area, int | float) else None

    def __bool__(self) -> bool:
        return bool(self.buildings)

    def is_estimated(self, building_id: Any) -> bool:
        """Whether a building's households are estimated."""
        return str(building_id) in self.buildings

    def in_grids(self, grids: pd.DataFrame) -> tuple[int, int, int]:
        """Estimated households, all households and estimated buildings of ``grids``."""
        codes = grids["grid_code"].astype(str) if "grid_code" in grids else pd.Series(dtype=str)
        estimated = int(sum(self.per_grid.get(c, 0) for c in codes))
        total = int(pd.to_numeric(grids.get("households"), errors="coerce").fillna(0).sum())
        return estimated, total, len(self.buildings)

    def note(self, estimated: int, total: int, *, lang: str | None) -> str:
        """The footnote explaining the mark and the method (empty when nothing is estimated)."""
        if not estimated:
            return ""
        tr = translator(lang).gettext
        msgid = _ESTIMATE_NOTE if self.area else _ESTIMATE_NOTE_NO_AREA
        return tr(msgid).format(
            mark=tr(ESTIMATE_MARK),
            households=estimated,
            total=total,
            share=estimated / total if total else 0.0,
            buildings=len(self.buildings),
            area=self.area or 0.0,
        )
