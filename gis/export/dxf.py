"""DXF export: the plan as a CAD drawing in metres, a layer per kind, labels in Chinese.

The drawing is in the plan's metric CRS (its CGCS2000 3° Gauss–Krüger zone) unless
``out_crs`` names another projected CRS (any Gauss–Krüger zone, or a city's local grid as
a PROJ string): CAD coordinates are plain numbers, so the CRS is said in the file's
``$PROJECTNAME`` header and in the export's message, and the drawing reads back with
``gridplan check FILE.dxf --crs …`` (:func:`gis.cad.read_dxf`).

===============  ==============  ========================================================
kind             CAD layer (zh)  drawn as
===============  ==============  ========================================================
communities      社区边界        closed polylines, name (or code) as text
proposals        拆分方案        closed polylines, part and households
patches          片区边界        closed polylines, patch id
grids            网格边界        closed polylines, grid code and households (``40户``)
buildings        楼栋            closed polylines, no text
===============  ==============  ========================================================

Labels go on a layer of their own beside each (``网格边界-标注``), so a CAD user can turn
them off. Layer names follow ``lang`` (English: ``grid boundaries``…); the Chinese ones are
names gridplan itself reads back (社区边界 → communities, 楼栋 → buildings).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from gis.cad import DxfLayer, DxfTextStyle, write_dxf
from gis.crs import metric_crs_for, reproject
from gis.errors import CRSError, GridplanError
from gis.i18n import N_, translator

__all__ = ["DXF_LAYERS", "parse_out_crs", "to_dxf"]

DXF_LAYERS: tuple[tuple[str, str, int, float], ...] = (
    ("buildings", N_("building outlines"), 8, 0.0),
    ("communities", N_("community boundaries"), 7, 8.0),
    ("proposals", N_("split proposals"), 1, 6.0),
    ("patches", N_("patch boundaries"), 6, 4.0),
    ("grids", N_("grid boundaries"), 3, 2.0),
)
"""``(plan layer, CAD layer name msgid, AutoCAD colour index, label height in metres)``,
drawn in this order. Label heights are set for a site plan printed at 1:1,000–1:2,000
(2 m there is 1–2 mm on paper), the scale of the atlas's community pages."""


def parse_out_crs(crs: str | int | CRS, *, fmt: str) -> CRS:
    """Parse the CRS an export is asked for, with a planner's message instead of pyproj's.

    Examples
    --------
    >>> parse_out_crs("EPSG:4547", fmt="dxf").name
    'CGCS2000 / 3-degree Gauss-Kruger CM 114E'
    """
    try:
        parsed = CRS.from_user_input(crs)
    except Exception:  # pyproj raises CRSError, TypeError or ValueError for bad input
        msg = N_(
            "{crs!r} is not a coordinate reference system gridplan knows. Give an EPSG code "
            "(a CGCS2000 Gauss–Krüger zone: EPSG:4534–4554 by central meridian, e.g. EPSG:4547 "
            "for 114°E) or a PROJ string for a city's local grid."
        )
        raise CRSError(msg, crs=str(crs)) from None
    if fmt in {"kml", "kmz"} and not _is_wgs84(parsed):
        msg = N_(
            "KML is always in WGS84 longitude/latitude, so it cannot be written in {crs}. Export a "
            "GeoPackage, shapefile or DXF for projected coordinates."
        )
        raise GridplanError(msg, crs=parsed.name)
    if fmt == "dxf" and parsed.is_geographic:
        msg = N_(
            "A CAD drawing is measured in metres, so it cannot be written in {crs} (degrees). Give "
            "a projected CRS, e.g. the CGCS2000 Gauss–Krüger zone of the city (EPSG:4534–4554)."
        )
        raise GridplanError(msg, crs=parsed.name)
    return parsed


def _is_wgs84(crs: CRS) -> bool:
    return crs.to_epsg() in {4326, 4490} or crs.equals(CRS.from_epsg(4326))


def _households_text(row: Any, unit: str) -> str:
    value = getattr(row, "households", None)
    if value is None or pd.isna(value):
        return ""
    return unit.format(households=int(value)).replace(" ", "")


def _label(layer: str, unit: str) -> Any:
    def grid(row: Any) -> list[str]:
        return [str(getattr(row, "grid_code", "") or ""), _households_text(row, unit)]

    def community(row: Any) -> list[str]:
        name = getattr(row, "name", None)
        code = getattr(row, "community_id", None)
        return [str(name) if isinstance(name, str) and name else str(code or "")]

    def patch(row: Any) -> list[str]:
        return [str(getattr(row, "patch_id", "") or "")]

    def proposal(row: Any) -> list[str]:
        part = getattr(row, "part", None)
        head = f"{getattr(row, 'proposal_id', '')}" + (f" / {part}" if part is not None else "")
        return [head.strip(" /"), _households_text(row, unit)]

    return {"grids": grid, "communities": community, "patches": patch, "proposals": proposal}.get(
        layer
    )


def to_dxf(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    out_crs: str | int | CRS | None = None,
    lang: str | None = "zh_CN",
    context: Mapping[str, pd.DataFrame] | None = None,
    style: DxfTextStyle | None = None,
) -> Path:
    """Write the plan as a DXF drawing in metres (see the module's table).

    Parameters
    ----------
    plan
        The plan's layers (EPSG:4490 as stored).
    out
        The ``.dxf`` to write.
    out_crs
        A projected CRS for the coordinates; by default the CGCS2000 3° Gauss–Krüger zone
        of the plan (e.g. EPSG:4548 in Beijing).
    lang
        Language of the CAD layer names and the household unit.
    context
        Layers to draw under the plan (``buildings``, ``communities``) when it has none.
    style
        The labels' text style (:class:`gis.cad.DxfTextStyle`).

    Raises
    ------
    GridplanError
        If the plan has no map layer, or ``out_crs`` is not a projected CRS.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, ezdxf
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.301, 40.001)], crs=4490)
    >>> out = to_dxf({"grids": grids}, pathlib.Path(tempfile.mkdtemp()) / "plan.dxf")
    >>> doc = ezdxf.readfile(out)
    >>> doc.header["$PROJECTNAME"], [m.plain_text() for m in doc.modelspace().query("MTEXT")]
    ('EPSG:4548', ['110108001001001\\n40户'])
    """
    tr = translator(lang).gettext
    merged = {**dict(context or {}), **dict(plan)}
    frames = {
        name: merged[name]
        for name, *_ in DXF_LAYERS
        if isinstance(merged.get(name), gpd.GeoDataFrame)
        and len(merged[name])
        and merged[name].crs is not None
    }
    if not frames:
        msg = N_("The plan has no map layer (grids, patches, proposals) to write as {format}.")
        raise GridplanError(msg, format="DXF")
    if out_crs is None:
        bounds = pd.concat([f.to_crs(4490).geometry for f in frames.values()]).total_bounds
        target = metric_crs_for(tuple(bounds))
    else:
        target = parse_out_crs(out_crs, fmt="dxf")
    unit = tr(N_("{households} households"))
    specs = []
    for name, title, colour, height in DXF_LAYERS:
        frame = frames.get(name)
        if frame is None:
            continue
        cad_name = tr(title)
        specs.append(
            DxfLayer(
                name=cad_name,
                frame=reproject(frame, target),
                colour=colour,
                label=_label(name, unit) if height else None,
                text_height=height or 2.0,
                label_layer=f"{cad_name}-{tr(N_('labels'))}",
            )
        )
    code = target.to_epsg()
    note = f"EPSG:{code}" if code else target.to_proj4()
    return write_dxf(specs, out, style=style, crs_note=note)
