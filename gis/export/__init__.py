"""Exports planners hand on: GeoPackage, shapefile zip, GeoJSON, KML/KMZ, Excel, PDF atlas.

==========  ===========================================================================
``gpkg``    one plan GeoPackage holding the version (a one-version plan store)
``shp``     one zip with a shapefile per layer (a ``.dbf`` alone for tables), a ``.cpg``
            (UTF-8 by default, GBK on request), field names cut to 10 bytes *in that
            encoding*, and ``field_names.csv`` mapping each short name to the full one
``geojson`` RFC 7946 GeoJSON (WGS84): the grids in ``out``, other map layers beside it
``kml``     KML (``kmz``: zipped) with a folder per map layer; grid code as the name,
            the figures in the description, coloured so neighbours differ
``xlsx``    an Excel report: plan, communities before and after, grids, grid members,
            lineage, patches, the rules with their sources (bold frozen headers)
``pdf``     the atlas (:func:`gis.export.atlas.write_atlas`)
``dxf``     a CAD drawing in metres, a layer per kind, codes and households as text
            (:func:`gis.export.dxf.to_dxf`)
``handover`` a plan store's hand-over GeoPackage: the latest version as plain layers,
            every version in ``history_*`` tables (:func:`gis.export.handover.to_handover`)
==========  ===========================================================================

``out_crs`` writes the coordinates in another CRS (any CGCS2000 Gauss–Krüger zone, or a
city's local grid as a PROJ string) for every format but KML, which is WGS84 by
definition; a DXF is in the plan's own Gauss–Krüger zone unless told otherwise.
GeoPackages carry QGIS styles (``layer_styles``), shapefile zips ``.qml`` sidecars
(:mod:`gis.export.qgis`).

One module per format (``gpkg``, ``shp``, ``geojson``, ``kml``, ``xlsx``, ``atlas``), each
reading the plan only through :mod:`gis.store`'s public API, with what they share (labels,
colours, the plan's row and rules) in the private ``_common``. A new format is a new module
here and one branch in :func:`export_plan`.

Every file is written to a temporary file in the target's folder and moved into place
with ``os.replace``, so a failed export never leaves half a file under the real name.

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001", "110108001001002"],
...                           "community_id": ["110108001001"] * 2, "households": [40, 36]},
...                          geometry=[box(116.30, 40, 116.31, 40.01),
...                                    box(116.31, 40, 116.32, 40.01)],
...                          crs=4490)
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> [p.name for p in export_plan({"grids": grids}, folder / "plan.kmz")]
['plan.kmz']
>>> [p.name for p in export_plan({"grids": grids}, folder / "plan.xlsx", lang="en")]
['plan.xlsx']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gis.crs import reproject
from gis.errors import GridplanError
from gis.export._common import (
    _SUFFIX_FORMAT,
    COLUMN_LABELS,
    ENCODINGS,
    FORMATS,
    _load,
    colour_classes,
    column_label,
)
from gis.export.dxf import parse_out_crs, to_dxf
from gis.export.handover import to_handover
from gis.export.geojson import to_geojson
from gis.export.gpkg import to_gpkg
from gis.export.kml import to_kml
from gis.export.shp import shorten_field_names, to_shp_zip
from gis.export.xlsx import communities_before_after, to_xlsx
from gis.i18n import N_
from gis.io import read_shapefile_zip

__all__ = [
    "COLUMN_LABELS",
    "ENCODINGS",
    "FORMATS",
    "colour_classes",
    "column_label",
    "communities_before_after",
    "export_plan",
    "read_shapefile_zip",
    "shorten_field_names",
    "to_dxf",
    "to_geojson",
    "to_gpkg",
    "to_handover",
    "to_kml",
    "to_shp_zip",
    "to_xlsx",
]


def export_plan(
    plan: Mapping[str, pd.DataFrame] | str | Path,
    out: str | Path,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    lang: str | None = "zh_CN",
    version: int | None = None,
    rules: Any = None,
    title: str | None = None,
    attribution: str = "",
    context: Mapping[str, pd.DataFrame] | None = None,
    progress: Callable[[int, int], None] | None = None,
    out_crs: str | int | Any = None,
    paper: str = "a4",
    landscape: bool = False,
) -> list[Path]:
    """Export a plan in one of :data:`FORMATS`; return the files written.

    Parameters
    ----------
    plan
        ``{layer: frame}`` (as :meth:`gis.store.PlanStore.load` returns), or a path to a
        plan store, plan GeoPackage or shapefile-zip export.
    out
        The file to write. For GeoJSON, other map layers are written beside it.
    format
        One of :data:`FORMATS`; guessed from ``out``'s suffix when omitted.
    encoding
        Shapefile text encoding: ``utf-8`` (default) or ``gbk``.
    lang
        Language of labels, sheet names and the atlas.
    version
        Which version of a plan store (the latest by default).
    rules
        The rule set, when the plan does not carry its own.
    title, attribution
        Title (KML, atlas) and data attribution (atlas), e.g. ``© OpenStreetMap
        contributors``.
    context
        Extra layers for the atlas (``buildings``, ``roads``, ``compounds``,
        ``communities``) when the plan does not hold them; the buildings'
        ``households_source`` also marks estimated households in the Excel report.
    progress
        Called with ``(page, pages)`` while the atlas is drawn.
    out_crs
        The CRS to write coordinates in (``EPSG:4547``, a PROJ string…); by default
        EPSG:4490 as stored (a DXF: the plan's Gauss–Krüger zone). Not for KML/KMZ.
    paper, landscape
        The atlas's paper (``a4`` or ``a3``) and orientation; the Excel report's paper
        (its sheets turn landscape by themselves when wide).

    Returns
    -------
    list of Path

    Raises
    ------
    GridplanError
        On an unknown format or encoding, or a plan without the layers a format needs.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in export_plan({"grids": grids}, folder / "plan.shp", format="shp")]
    ['plan.zip']
    """
    fmt = (format or _SUFFIX_FORMAT.get(Path(out).suffix.lower(), "")).lower()
    if fmt not in FORMATS:
        msg = N_("{format!r} is not an export format. Use one of: {formats}.")
        raise GridplanError(msg, format=format or Path(out).suffix, formats=", ".join(FORMATS))
    if fmt == "handover":
        if isinstance(plan, Mapping):
            msg = N_(
                "A hand-over copy is made from the plan store (the .gpkg the plan is saved in, or "
                "the database), which holds its history; name the file or --db."
            )
            raise GridplanError(msg)
        from gis.export.handover import to_handover
        from gis.store import open_store

        with open_store(plan) as store:
            return [to_handover(store, out, lang=lang)]
    layers = _load(plan, version)
    out = Path(out)
    if fmt == "dxf":
        return [to_dxf(layers, out, out_crs=out_crs, lang=lang, context=context)]
    if out_crs is not None:
        target = parse_out_crs(out_crs, fmt=fmt)
        if fmt in {"gpkg", "shp", "geojson"}:
            layers = {
                name: reproject(frame, target)
                if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None
                else frame
                for name, frame in layers.items()
            }
    if fmt == "gpkg":
        return [to_gpkg(layers, out, lang=lang)]
    if fmt == "shp":
        if out.suffix.lower() != ".zip":
            out = out.with_suffix(".zip")
        return [to_shp_zip(layers, out, encoding=encoding, lang=lang)]
    if fmt == "geojson":
        return to_geojson(layers, out, out_crs=out_crs)
    if fmt in {"kml", "kmz"}:
        if fmt == "kmz" and out.suffix.lower() != ".kmz":
            out = out.with_suffix(".kmz")
        return [to_kml(layers, out, lang=lang, title=title)]
    if fmt == "xlsx":
        return [to_xlsx(layers, out, lang=lang, rules=rules, paper=paper, context=context)]
    from gis.export.atlas import write_atlas

    merged = {**dict(context or {}), **layers}
    return [
        write_atlas(
            merged,
            out,
            lang=lang,
            rules=rules,
            title=title,
            attribution=attribution,
            progress=progress,
            paper=paper,
            landscape=landscape,
        )
    ]
