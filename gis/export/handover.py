"""The hand-over GeoPackage: the latest version as plain layers, the history kept apart.

A plan store keeps every version of a layer in one table (with a ``version`` column), so
QGIS, opening it, draws all versions on top of each other. The hand-over file is for
the people the plan is handed to:

=======================  ==================================================================
``grids``, ``patches``…  the latest version only, one row per feature, MultiPolygon,
                         styled for QGIS (``layer_styles``)
``grid_members``…        the latest version's tables
``versions``             every version: number, status, author, time, note (named so that
                         the file is not taken for a plan store, whose ``plans`` table
                         holds layers of every version)
``reviews``, ``audit``   the review and audit trails
``history_<layer>``      every version of every layer, as a table (geometry as WKT text in
                         ``geometry_wkt``): there to look things up, not drawn on the map
=======================  ==================================================================

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, pyogrio
>>> from shapely import box
>>> from gis.store import PlanStore
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
>>> with PlanStore(folder / "plan.gpkg") as store:
...     _ = store.save({"grids": grids}, author="王芳")
...     _ = store.save({"grids": grids.assign(households=42)}, author="李强")
...     out = to_handover(store, folder / "交接.gpkg")
>>> [(str(n), t) for n, t in pyogrio.list_layers(out) if n in {"grids", "history_grids"}]
[('grids', 'MultiPolygon'), ('history_grids', None)]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gis.errors import GridplanError
from gis.export.qgis import write_layer_styles
from gis.i18n import N_
from gis.store.files import atomic_path

__all__ = ["to_handover"]

_STORE_COLUMNS = ("plan_id",)
_MULTI = {
    "Polygon": "MultiPolygon",
    "LineString": "MultiLineString",
    "Point": "MultiPoint",
}


def _plain_layer(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    """One row per feature, every shape as its multi type (QGIS wants one type a layer)."""
    out = frame.drop(columns=[c for c in _STORE_COLUMNS if c in frame]).reset_index(drop=True)
    kinds = {t for t in out.geom_type.dropna().unique()}
    base = {k.removeprefix("Multi") for k in kinds}
    if len(base) == 1:
        kind = _MULTI[next(iter(base))]
        geoms = out.geometry.values
        single = shapely.get_type_id(geoms) == {"Polygon": 3, "LineString": 1, "Point": 0}[
            next(iter(base))
        ]
        maker = {
            "MultiPolygon": shapely.multipolygons,
            "MultiLineString": shapely.multilinestrings,
            "MultiPoint": shapely.multipoints,
        }[kind]
        promoted = geoms.copy()
        for i in range(len(geoms)):
            if single[i]:
                promoted[i] = maker([geoms[i]])
        out = out.set_geometry(gpd.GeoSeries(promoted, index=out.index, crs=frame.crs))
        return out, kind
    return out, "Unknown"


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame).copy()
    for column in out.columns:
        if out[column].map(lambda v: isinstance(v, list | tuple | dict | set)).any():
            out[column] = out[column].map(str)
    return out


def to_handover(store: Any, out: str | Path, *, lang: str | None = "zh_CN") -> Path:
    """Write the hand-over GeoPackage of a plan store (see the module's table).

    Parameters
    ----------
    store
        A plan store (:class:`gis.store.PlanStore` or the PostGIS one) with at least one
        saved version.
    out
        The ``.gpkg`` to write (via a temporary file beside it).
    lang
        Language of the QGIS legend.

    Raises
    ------
    GridplanError
        If the plan has no saved version.
    """
    versions = store.versions()
    if versions is None or not len(versions):
        msg = N_("The plan {file} has no saved version yet. Save the plan first.")
        raise GridplanError(msg, file=str(getattr(store, "plan_id", out)))
    numbers = [int(v) for v in versions["version"]]
    latest = max(numbers)
    loaded = {v: store.load(v) for v in numbers}
    out = Path(out)
    with atomic_path(out) as tmp:
        for name, frame in loaded[latest].items():
            if name == "plans" or not isinstance(frame, pd.DataFrame):
                continue
            if isinstance(frame, gpd.GeoDataFrame):
                plain, kind = _plain_layer(frame)
                pyogrio.write_dataframe(
                    plain, tmp, layer=name, driver="GPKG", geometry_type=kind, append=tmp.exists()
                )
            else:
                table = _table(frame.drop(columns=[c for c in _STORE_COLUMNS if c in frame]))
                pyogrio.write_dataframe(table, tmp, layer=name, driver="GPKG", append=tmp.exists())
        for name, frame in (
            ("versions", _table(versions)),
            ("reviews", _table(store.reviews())),
            ("audit", _table(store.audit())),
        ):
            if len(frame.columns):
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=tmp.exists())
        names = {n for layers in loaded.values() for n in layers if n != "plans"}
        for name in sorted(names):
            parts = []
            for v in numbers:
                frame = loaded[v].get(name)
                if not isinstance(frame, pd.DataFrame):
                    continue
                part = pd.DataFrame(frame).copy()
                if isinstance(frame, gpd.GeoDataFrame):
                    part["geometry_wkt"] = shapely.to_wkt(frame.geometry.values, rounding_precision=8)
                    part = part.drop(columns=frame.geometry.name)
                part["version"] = v
                parts.append(part)
            if parts:
                history = _table(pd.concat(parts, ignore_index=True))
                pyogrio.write_dataframe(
                    history, tmp, layer=f"history_{name}", driver="GPKG", append=tmp.exists()
                )
        write_layer_styles(tmp, lang=lang)
    return out
