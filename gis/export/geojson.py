"""GeoJSON export (RFC 7946, WGS84): the grids in ``out``, other map layers beside it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
from pyproj import CRS

from gis.crs import reproject
from gis.errors import GridplanError
from gis.export._common import (
    _MAP_LAYERS,
    _plain_frame,
    _spatial,
)
from gis.i18n import N_
from gis.store.files import atomic_path

__all__ = ["to_geojson"]


def to_geojson(
    plan: Mapping[str, pd.DataFrame], out: str | Path, *, out_crs: Any = None
) -> list[Path]:
    """Write the map layers as RFC 7946 GeoJSON (WGS84, 7 decimals).

    The grids (or the first map layer) go to ``out``; every other map layer to
    ``<stem>_<layer>.geojson`` beside it. Tables have no place in GeoJSON: use the
    GeoPackage or Excel export for them. With a projected ``out_crs`` the file is the
    older GeoJSON that names its CRS (a ``crs`` member, millimetre precision), which QGIS
    and GDAL read; RFC 7946 itself allows WGS84 only.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in to_geojson({"grids": grids}, folder / "grids.geojson")]
    ['grids.geojson']
    """
    out = Path(out)
    layers = _spatial(plan, _MAP_LAYERS)
    if not layers:
        msg = N_("The plan has no map layer (grids, patches, proposals) to write as {format}.")
        raise GridplanError(msg, format="GeoJSON")
    written: list[Path] = []
    for i, (name, frame) in enumerate(layers.items()):
        target = out if i == 0 else out.with_name(f"{out.stem}_{name}{out.suffix or '.geojson'}")
        projected = out_crs is not None and not CRS.from_user_input(out_crs).is_geographic
        flat = _plain_frame(frame)
        flat = reproject(flat, out_crs) if projected else flat.to_crs(4326)
        options = (
            {"RFC7946": "NO", "COORDINATE_PRECISION": 3, "WRITE_NAME": "NO"}
            if projected
            else {"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "NO"}
        )
        with atomic_path(target) as tmp:
            pyogrio.write_dataframe(flat, tmp, driver="GeoJSON", layer=name, layer_options=options)
        written.append(target)
    return written
