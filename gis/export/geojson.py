"""GeoJSON export (RFC 7946, WGS84): the grids in ``out``, other map layers beside it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyogrio

from gis.errors import GridplanError
from gis.export._common import (
    _MAP_LAYERS,
    _plain_frame,
    _spatial,
)
from gis.i18n import N_
from gis.store.files import atomic_path

__all__ = ["to_geojson"]


def to_geojson(plan: Mapping[str, pd.DataFrame], out: str | Path) -> list[Path]:
    """Write the map layers as RFC 7946 GeoJSON (WGS84, 7 decimals).

    The grids (or the first map layer) go to ``out``; every other map layer to
    ``<stem>_<layer>.geojson`` beside it. Tables have no place in GeoJSON: use the
    GeoPackage or Excel export for them.

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
        flat = _plain_frame(frame).to_crs(4326)
        with atomic_path(target) as tmp:
            pyogrio.write_dataframe(
                flat,
                tmp,
                driver="GeoJSON",
                layer=name,
                layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "NO"},
            )
        written.append(target)
    return written
