"""Shapes a planner draws on the map (Leaflet.draw GeoJSON) → a GeoDataFrame.

``st_folium(..., returned_objects=["all_drawings", ...])`` returns the drawings as a list
of GeoJSON Features in lon/lat (EPSG:4326), or ``None`` before the first one. Rectangles
and polygons arrive as Polygons, lines as LineStrings, markers as Points and circles as a
Point with a ``radius`` property (metres). :func:`drawings_to_gdf` reads any of these (a
list of Features, one Feature, a FeatureCollection or ``None``), repairs a polygon whose
edges cross (a bow-tie drawn by hand), and rejects coordinates that are not lon/lat.

Examples
--------
>>> features = [{"type": "Feature", "properties": {},
...              "geometry": {"type": "Polygon", "coordinates": [[[116.31, 40.0], [116.32, 40.0],
...                                                           [116.32, 40.01], [116.31, 40.0]]]}}]
>>> gdf = drawings_to_gdf(features)
>>> gdf.crs.to_epsg(), gdf.geometry.iloc[0].geom_type, int(gdf["drawing"].iloc[0])
(4326, 'Polygon', 1)
>>> len(drawings_to_gdf(None))
0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from gis.errors import GeometryError
from gis.i18n import N_

__all__ = ["drawings_to_gdf", "drawn_polygons"]

DRAW_CRS = "EPSG:4326"
_COLUMNS = ["drawing", "kind", "radius_m"]


def _features(drawings: Any) -> list[Mapping[str, Any]]:
    if drawings is None:
        return []
    if isinstance(drawings, Mapping):
        if drawings.get("type") == "FeatureCollection":
            return list(drawings.get("features") or [])
        if drawings.get("type") == "Feature":
            return [drawings]
        if "type" in drawings and "coordinates" in drawings:  # a bare geometry
            return [{"type": "Feature", "properties": {}, "geometry": drawings}]
    if isinstance(drawings, Sequence) and not isinstance(drawings, str | bytes):
        out = []
        for item in drawings:
            out.extend(_features(item))
        return out
    msg = N_("The drawing is not GeoJSON (got {kind}). Draw the shape again on the map.")
    raise GeometryError(msg, kind=type(drawings).__name__)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Return the polygonal part of a repaired polygon (a bow-tie becomes two triangles)."""
    fixed = shapely.make_valid(geom)
    if fixed.geom_type in {"Polygon", "MultiPolygon"}:
        return fixed
    parts = [p for p in shapely.get_parts(fixed) if p.geom_type in {"Polygon", "MultiPolygon"}]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def drawings_to_gdf(drawings: Any) -> gpd.GeoDataFrame:
    """Return the drawn shapes as a GeoDataFrame in EPSG:4326, one row per shape.

    Parameters
    ----------
    drawings
        ``st_folium``'s ``all_drawings`` (a list of GeoJSON Features), one Feature, a
        FeatureCollection, or ``None``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``drawing`` (1, 2, … in drawing order), ``kind`` (the GeoJSON geometry
        type as drawn), ``radius_m`` (circles only) and the features' other properties;
        self-intersecting polygons are repaired, empty shapes dropped.

    Raises
    ------
    GeometryError
        If a feature has no geometry, a geometry cannot be read, or its coordinates are
        not longitudes and latitudes.
    """
    features = _features(drawings)
    rows: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, Mapping) else None
        if not geometry:
            msg = N_("Drawing {n} has no shape. Draw it again on the map.")
            raise GeometryError(msg, n=number)
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            msg = N_("Drawing {n} cannot be read as a shape ({error}). Draw it again on the map.")
            raise GeometryError(msg, n=number, error=str(exc)) from None
        coords = shapely.get_coordinates(geom)
        if len(coords) and (
            not np.isfinite(coords).all()
            or np.abs(coords[:, 0]).max() > 180
            or np.abs(coords[:, 1]).max() > 90
        ):
            msg = N_(
                "Drawing {n} has coordinates that are not longitudes and latitudes. "
                "Draw it again on the map."
            )
            raise GeometryError(msg, n=number)
        kind = geom.geom_type
        if kind in {"Polygon", "MultiPolygon"} and not geom.is_valid:
            geom = _polygonal(geom)
        if geom.is_empty:
            continue
        props = dict(feature.get("properties") or {})
        radius = props.pop("radius", None)
        row = {
            "drawing": number,
            "kind": kind,
            "radius_m": float(radius) if radius is not None else np.nan,
        }
        row.update({k: v for k, v in props.items() if k not in row and k != "geometry"})
        rows.append(row)
        geoms.append(geom)
    frame = pd.DataFrame(rows, columns=_COLUMNS + [c for r in rows for c in r if c not in _COLUMNS])
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=DRAW_CRS), crs=DRAW_CRS)


def drawn_polygons(drawings: Any) -> gpd.GeoDataFrame:
    """Return only the polygons (and rectangles) among the drawings, in drawing order.

    Examples
    --------
    >>> line = {"type": "Feature", "properties": {},
    ...         "geometry": {"type": "LineString", "coordinates": [[116.3, 40.0], [116.4, 40.0]]}}
    >>> len(drawn_polygons([line]))
    0
    """
    gdf = drawings_to_gdf(drawings)
    polygonal = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    return gdf[polygonal].reset_index(drop=True)
