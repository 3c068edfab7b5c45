"""GCJ-02 display copies for AMap (Gaode) tiles, and drawn shapes back to WGS84.

AMap's tiles are drawn in GCJ-02, the offset frame mandated for Chinese web maps, so a
layer in WGS84 (or CGCS2000, within a metre of it) lands 50–500 m off on them. folium
cannot shift tiles, so the app converts its *display copies* to GCJ-02 when AMap is the
base map, and converts anything the planner draws on it back to WGS84. Stored layers are
never converted.

The conversion is prcoords' (CC0): ``wgs_gcj`` forward and ``gcj_wgs_bored`` back, whose
round trip is good to a few millimetres. Points outside prcoords' box around China are
left as they are (GCJ-02 only shifts China), without prcoords' warning.

Examples
--------
>>> from shapely import Point
>>> p = wgs_to_gcj(Point(116.32, 39.99))
>>> round(p.x - 116.32, 4), round(p.y - 39.99, 4)
(0.0061, 0.0013)
>>> back = gcj_to_wgs(p)
>>> round(back.x, 7), round(back.y, 7)
(116.32, 39.99)
"""

from __future__ import annotations

from typing import TypeVar

import geopandas as gpd
import numpy as np
import prcoords
import shapely

__all__ = ["frame_from_gcj", "frame_to_gcj", "gcj_to_wgs", "in_china", "wgs_to_gcj"]

G = TypeVar("G", shapely.Geometry, np.ndarray)

_DISPLAY_CRS = "EPSG:4326"


def in_china(lon: float, lat: float) -> bool:
    """Return whether a point is inside the box in which GCJ-02 shifts coordinates.

    Examples
    --------
    >>> in_china(116.32, 39.99), in_china(-0.12, 51.5)
    (True, False)
    """
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def _convert(coords: np.ndarray, step: object) -> np.ndarray:
    out = np.array(coords, dtype=float, copy=True)
    for i, (lon, lat) in enumerate(out[:, :2]):
        if np.isfinite(lon) and np.isfinite(lat) and in_china(lon, lat):
            moved = step((lat, lon), False)  # type: ignore[operator]
            out[i, 0], out[i, 1] = moved.lon, moved.lat
    return out


def wgs_to_gcj(geometry: G) -> G:
    """Return ``geometry`` (lon/lat, WGS84) with its coordinates shifted to GCJ-02.

    Works on one shapely geometry or an array of them; ``None`` and empty geometries
    pass through.
    """
    return shapely.transform(geometry, lambda c: _convert(c, prcoords.wgs_gcj))


def gcj_to_wgs(geometry: G) -> G:
    """Return ``geometry`` (lon/lat, GCJ-02) shifted back to WGS84 (to a few millimetres)."""
    return shapely.transform(geometry, lambda c: _convert(c, prcoords.gcj_wgs_bored))


def frame_to_gcj(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a GCJ-02 display copy of ``frame`` (any CRS; converted through EPSG:4326).

    The copy keeps the EPSG:4326 label, because folium treats it as lon/lat; its
    ``attrs["frame"]`` is ``"GCJ-02"`` so it is not mistaken for data to store.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> f = gpd.GeoDataFrame({"n": [1]}, geometry=[box(116.3, 39.9, 116.31, 39.91)], crs=4490)
    >>> g = frame_to_gcj(f)
    >>> g.attrs["frame"], round(float(g.total_bounds[0]) - 116.3, 3)
    ('GCJ-02', 0.006)
    """
    out = frame.to_crs(_DISPLAY_CRS) if frame.crs is not None else frame.set_crs(_DISPLAY_CRS)
    out = out.copy()
    out.geometry = gpd.GeoSeries(wgs_to_gcj(out.geometry.values), index=out.index, crs=_DISPLAY_CRS)
    out.attrs["frame"] = "GCJ-02"
    return out


def frame_from_gcj(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``frame`` (lon/lat drawn on GCJ-02 tiles) converted back to WGS84, EPSG:4326."""
    out = frame.copy()
    if out.crs is None:
        out = out.set_crs(_DISPLAY_CRS)
    out.geometry = gpd.GeoSeries(gcj_to_wgs(out.geometry.values), index=out.index, crs=_DISPLAY_CRS)
    out.attrs.pop("frame", None)
    return out
