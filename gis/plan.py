"""Write a plan's layers to one GeoPackage, atomically.

The plan is written to a temporary file beside the target and moved into place with
``os.replace``, so a crash never leaves a half-written plan where the old one was.
Versioned, append-only plans are kept by :class:`gis.store.PlanStore`;
:func:`read_plan` reads those too (the latest version, or the one asked for).

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"]}, geometry=[box(116.3, 40, 116.31, 40.01)], crs=4490)
>>> path = write_plan(pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg", {"grids": grids, "grid_members": pd.DataFrame({"grid_code": ["110108001001001"], "households": [40]})})
>>> sorted(read_plan(path))
['grid_members', 'grids']
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gis.errors import LayerReadError
from gis.i18n import N_

__all__ = ["atomic_path", "read_plan", "write_plan"]


@contextlib.contextmanager
def atomic_path(out: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; move it onto ``out`` if the block succeeds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("ok")
    >>> target.read_text(), tmp.exists()
    ('ok', False)
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=out.suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # writers (GDAL, xlsxwriter) create the file themselves
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_plan(path: str | Path, layers: Mapping[str, pd.DataFrame]) -> Path:
    """Write ``layers`` (GeoDataFrames or plain tables) to one GeoPackage at ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        for name, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(tmp, layer=name, driver="GPKG")
            else:
                pyogrio.write_dataframe(pd.DataFrame(frame), tmp, layer=name, driver="GPKG")
    return path


def read_plan(path: str | Path, *, version: int | None = None) -> dict[str, pd.DataFrame]:
    """Read every layer of a plan GeoPackage.

    A plan store (:class:`gis.store.PlanStore`, or an export of one) gives the layers of
    ``version`` (the latest by default) and its ``plans`` row; rows of other versions
    are left out.
    """
    path = Path(path)
    if not path.exists():
        msg = N_("The file {file} does not exist.")
        raise LayerReadError(msg, file=str(path))
    from gis.store import PlanStore, is_plan_store

    if is_plan_store(path):
        return PlanStore(path).load(version)
    out: dict[str, pd.DataFrame] = {}
    for name, geometry_type in pyogrio.list_layers(path):
        if geometry_type is None:
            out[str(name)] = pyogrio.read_dataframe(path, layer=name, read_geometry=False)
        else:
            out[str(name)] = gpd.read_file(path, layer=name)
    return out
