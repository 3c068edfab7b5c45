"""A plan layer as a plain table and back, for every place that stores plans.

A plan's layers (``grids``, ``grid_members``, ``lineage``…) hold what a database table or
a shapefile cannot hold as it is: lists and dicts in cells, nullable integers,
categories. :func:`encode_layer` turns a layer into a plain table and returns its
*manifest entry* (rows, column order, dtypes, JSON columns, CRS); :func:`decode_layer`
undoes it. The GeoPackage and PostGIS plan stores (:mod:`gis.store`), the shapefile
export (:mod:`gis.export.shp`) and its reader (:func:`gis.io.read_shapefile_zip`) all use
this one pair, so a plan reads back the same from each.

Examples
--------
>>> import pandas as pd
>>> table, entry = encode_layer("grids", pd.DataFrame({"codes": [["a", "b"]], "n": [3]}))
>>> table["codes"].tolist(), entry["json"]
(['["a", "b"]'], ['codes'])
>>> decode_layer(table, entry).to_dict("records")
[{'codes': ['a', 'b'], 'n': 3}]
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import FieldError, PlanStoreError
from gis.i18n import N_

__all__ = ["KEY_COLUMNS", "decode_layer", "encode_layer"]

KEY_COLUMNS: tuple[str, ...] = ("plan_id", "version")
"""The columns a plan store adds to every layer's table (a layer may not have them)."""

_LAYER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, list | tuple | dict | set | np.ndarray)


def encode_layer(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Return ``frame`` as a plain table for a store or a shapefile, and its manifest entry."""
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
    clashes = [c for c in columns if str(c).lower() in {*KEY_COLUMNS, "fid", "geom"}]
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
        elif series.dtype == object and all(_is_scalar(v) for v in series):
            if series.isna().any():  # pd.NA and NaN in text are missing, not the text "<NA>"
                out[column] = series.astype(object).where(series.notna(), None)
        elif series.dtype == object:
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


def decode_layer(frame: pd.DataFrame, entry: Mapping[str, Any]) -> pd.DataFrame:
    """Undo what :func:`encode_layer` did: JSON columns, column order and nullable dtypes."""
    frame = frame.drop(columns=[c for c in KEY_COLUMNS if c in frame])
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
            elif dtype == "object" and frame[column].isna().all():
                # a column saved empty reads back as it was saved (an Arrow read
                # gives text NaN), not as a text column
                frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    listed = entry.get("columns")
    if listed is None:
        return frame
    order = [c for c in listed if c in frame]
    geometry = [frame.geometry.name] if isinstance(frame, gpd.GeoDataFrame) else []
    return frame[order + [g for g in geometry if g not in order]]
