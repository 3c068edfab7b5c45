"""GeoPackage export: the plan as a one-version plan store that opens in QGIS as it is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from gis.export._common import (
    _plans_row,
)
from gis.export.qgis import write_layer_styles

__all__ = ["to_gpkg"]


def to_gpkg(plan: Mapping[str, pd.DataFrame], out: str | Path, *, lang: str | None = "zh_CN") -> Path:
    """Write the plan as a one-version plan GeoPackage (same plan id, version and status).

    It reads back with :class:`gis.store.PlanStore`, :func:`gis.store.read_exported` or
    :func:`gis.store.read_plan`, and opens in QGIS as it is (one file, no WAL), styled:
    its ``layer_styles`` table colours grids and communities by status and labels them
    (:func:`gis.export.qgis.write_layer_styles`, legend in ``lang``).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_gpkg({"grids": grids}, folder / "plan.gpkg")
    >>> from gis.store import PlanStore
    >>> PlanStore(out).versions()[["version", "status", "author"]].to_dict("records")
    [{'version': 1, 'status': 'draft', 'author': 'gridplan'}]
    """
    from gis.store import write_version

    row = _plans_row(plan)
    layers = {k: v for k, v in plan.items() if k not in {"plans", "reviews"}}
    written = write_version(
        out,
        layers,
        plan_id=row.get("plan_id"),
        version=int(row["version"]) if row.get("version") is not None else 1,
        status=str(row.get("status") or "draft"),
        author=str(row.get("author") or "gridplan"),
        created_at=row.get("created_at"),
        note=str(row.get("note") or ""),
        rules=row.get("rules"),
    )
    write_layer_styles(written, lang=lang)
    return written
