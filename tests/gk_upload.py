"""A zipped Gauss–Krüger shapefile project without .prj, as a surveyor hands it over.

Shared by tests/test_app_data.py (AppTest) and tests/test_browser.py (a real browser).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from gis.datasets.synthetic import make_district

__all__ = ["GK_CRS", "gk_zip_without_prj"]

GK_CRS = "EPSG:4548"  # CGCS2000 3° Gauss–Krüger, central meridian 117°E (Beijing), no zone prefix


def gk_zip_without_prj(folder: Path, *, households: int = 3_000, seed: int = 5) -> tuple[Path, int]:
    """Buildings and communities in GK metres (6-digit eastings), zipped without their .prj.

    Returns the zip and the number of households in it.
    """
    layers = make_district(households, n_communities=2, seed=seed)
    out = folder / "shp"
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in ("buildings", "communities"):
        frame = layers[name].to_crs(GK_CRS)
        frame.to_file(out / f"{name}.shp", encoding="utf-8")
        if name == "buildings":
            total = int(frame["households"].sum())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for part in sorted(out.iterdir()):
            if part.suffix.lower() != ".prj":
                zf.write(part, arcname=part.name)
    path = folder / "测绘成果_无prj.zip"
    path.write_bytes(buffer.getvalue())
    return path, total
