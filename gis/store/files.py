"""Plain files of a plan: write a file atomically, write a plan's layers to one GeoPackage.

:func:`atomic_path` is what every writer of gridplan (the stores, the exports, the users
file) uses so that a failed write never leaves half a file under the real name.
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

__all__ = ["atomic_path", "write_plan"]


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
