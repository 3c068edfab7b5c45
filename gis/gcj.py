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

__all__ = [
    "OFFSET_FRAMES",
    "bd_to_wgs",
    "frame_from_gcj",
    "frame_from_offset",
    "frame_to_gcj",
    "gcj_to_wgs",
    "in_china",
    "offset_frame",
    "wgs_to_bd",
    "wgs_to_gcj",
]

OFFSET_FRAMES: dict[str, str] = {
    "gcj-02": "GCJ-02",
    "gcj02": "GCJ-02",
    "gcj": "GCJ-02",
    "amap": "GCJ-02",
    "gaode": "GCJ-02",
    "高德": "GCJ-02",
    "火星坐标": "GCJ-02",
    "bd-09": "BD-09",
    "bd09": "BD-09",
    "bd09ll": "BD-09",
    "baidu": "BD-09",
    "百度": "BD-09",
}
"""Names a planner may declare for points picked on AMap (GCJ-02) or Baidu (BD-09) maps."""

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


def wgs_to_bd(geometry: G) -> G:
    """Return ``geometry`` (lon/lat, WGS84) shifted to BD-09 (Baidu's frame)."""
    return shapely.transform(geometry, lambda c: _convert(c, prcoords.wgs_bd))


def bd_to_wgs(geometry: G) -> G:
    """Return ``geometry`` (lon/lat, BD-09) shifted back to WGS84 (to a few millimetres).

    Examples
    --------
    >>> from shapely import Point
    >>> back = bd_to_wgs(wgs_to_bd(Point(116.32, 39.99)))
    >>> round(back.x, 7), round(back.y, 7)
    (116.32, 39.99)
    """
    return shapely.transform(geometry, lambda c: _convert(c, prcoords.bd_wgs_bored))


def offset_frame(crs: object) -> str | None:
    """Return ``"GCJ-02"`` or ``"BD-09"`` when ``crs`` declares one of them, else ``None``.

    Examples
    --------
    >>> offset_frame("GCJ-02"), offset_frame("bd09"), offset_frame("EPSG:4490")
    ('GCJ-02', 'BD-09', None)
    """
    if not isinstance(crs, str):
        return None
    return OFFSET_FRAMES.get(crs.strip().lower().replace("_", "-").replace(" ", ""))


def frame_from_offset(frame: gpd.GeoDataFrame, offset: str) -> gpd.GeoDataFrame:
    """Return ``frame`` (lon/lat in GCJ-02 or BD-09) converted to WGS84, EPSG:4326.

    Whatever CRS the frame claims is ignored (a GeoJSON always says WGS84, even when its
    points were picked on AMap). Points outside China are left as they are.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> f = gpd.GeoDataFrame(geometry=[wgs_to_gcj(Point(116.32, 39.99))], crs=4326)
    >>> p = frame_from_offset(f, "GCJ-02").geometry.iloc[0]
    >>> round(p.x, 6), round(p.y, 6)
    (116.32, 39.99)
    """
    back = {"GCJ-02": gcj_to_wgs, "BD-09": bd_to_wgs}[offset]
    out = frame.copy()
    out = out.set_crs(_DISPLAY_CRS, allow_override=True)
    out.geometry = gpd.GeoSeries(back(out.geometry.values), index=out.index, crs=_DISPLAY_CRS)
    return out


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
