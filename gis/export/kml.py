"""KML/KMZ export: a folder per map layer, grid code as the name, neighbours coloured apart."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd
import shapely

from gis.errors import GridplanError
from gis.export._common import (
    _MAP_LAYERS,
    _NAME_COLUMN,
    _cell_text,
    _plain_frame,
    _spatial,
    colour_classes,
    column_label,
)
from gis.i18n import N_, translator
from gis.kinds import kind_labels
from gis.store.files import atomic_path

__all__ = ["to_kml"]


# KML colours are aabbggrr. A qualitative palette (ColorBrewer Set2) for fills.
_PALETTE = ("66c2a5", "fc8d62", "8da0cb", "e78ac3", "a6d854", "ffd92f", "e5c494", "b3b3b3")


def _kml_colour(rgb: str, alpha: int) -> str:
    return f"{alpha:02x}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"


def _kml_ring(ring: Any) -> str:
    coords = np.asarray(ring.coords)
    return " ".join(f"{x:.7f},{y:.7f}" for x, y in coords[:, :2])


def _kml_geometry(geom: Any) -> str:
    if geom is None or geom.is_empty:
        return ""
    kind = geom.geom_type
    if kind == "Polygon":
        inner = "".join(
            f"<innerBoundaryIs><LinearRing><coordinates>{_kml_ring(r)}</coordinates></LinearRing></innerBoundaryIs>"
            for r in geom.interiors
        )
        return (
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_kml_ring(geom.exterior)}"
            f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>"
        )
    if kind == "LineString":
        return f"<LineString><coordinates>{_kml_ring(geom)}</coordinates></LineString>"
    if kind == "Point":
        return f"<Point><coordinates>{geom.x:.7f},{geom.y:.7f}</coordinates></Point>"
    parts = "".join(_kml_geometry(g) for g in shapely.get_parts(geom))
    return f"<MultiGeometry>{parts}</MultiGeometry>"


def _kml_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "double"
    return "string"


def _kml_document(plan: Mapping[str, pd.DataFrame], *, lang: str | None, title: str | None) -> str:
    tr = translator(lang).gettext
    layers = _spatial(plan, _MAP_LAYERS)
    if not layers:
        msg = N_("The plan has no map layer (grids, patches, proposals) to write as {format}.")
        raise GridplanError(msg, format="KML")
    if "grids" in layers:  # a dedicated grid says what it is: 校园专属网格, not "campus"
        layers["grids"] = kind_labels(layers["grids"], lang)
    communities = plan.get("communities")
    community_names: dict[str, str] = {}
    if isinstance(communities, pd.DataFrame) and {"community_id", "name"} <= set(
        communities.columns
    ):
        community_names = dict(
            zip(
                communities["community_id"].astype(str),
                communities["name"].map(_cell_text),
                strict=True,
            )
        )
    parts: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>',
        f"<name>{escape(title or tr(N_('Grid plan')))}</name>",
    ]
    for i, rgb in enumerate(_PALETTE):
        parts.append(
            f'<Style id="fill{i}"><LineStyle><color>ff333333</color><width>1.2</width></LineStyle>'
            f"<PolyStyle><color>{_kml_colour(rgb, 0x80)}</color></PolyStyle>"
            f"<LabelStyle><scale>0.8</scale></LabelStyle></Style>"
        )
    parts.append(
        '<Style id="outline"><LineStyle><color>ff1f1fd6</color><width>3</width></LineStyle>'
        "<PolyStyle><fill>0</fill></PolyStyle></Style>"
    )
    for name, frame in layers.items():
        flat = _plain_frame(frame).to_crs(4326)
        geometry = flat.geometry.name
        columns = [c for c in flat.columns if c != geometry]
        fields = "".join(
            f'<SimpleField name={quoteattr(str(c))} type="{_kml_type(flat[c])}">'
            f"<displayName>{escape(column_label(str(c), lang))}</displayName></SimpleField>"
            for c in columns
        )
        parts.append(f'<Schema name="{name}" id="{name}">{fields}</Schema>')
    for name, frame in layers.items():
        flat = _plain_frame(frame).to_crs(4326)
        geometry = flat.geometry.name
        columns = [c for c in flat.columns if c != geometry]
        filled = name in {"grids", "proposals"}
        if name == "proposals" and "part" in flat:
            classes = (
                pd.to_numeric(flat["part"], errors="coerce").fillna(1).astype(int) - 1
            ).to_numpy()
        else:
            classes = colour_classes(flat.geometry.values, colours=len(_PALETTE))
        folder_name = tr(_LAYER_TITLES.get(name, name))
        parts.append(f"<Folder><name>{escape(folder_name)}</name>")
        name_column = _NAME_COLUMN.get(name)
        for row, cls in zip(flat.itertuples(index=False), classes, strict=True):
            values = dict(zip(flat.columns, row, strict=True))
            label = _cell_text(values.get(name_column)) if name_column else ""
            if name == "proposals" and "part" in values:
                label = f"{label} #{_cell_text(values['part'])}"
            if name == "communities" and not label:
                label = _cell_text(values.get("community_id"))
            lines = []
            community = community_names.get(_cell_text(values.get("community_id")))
            if community:
                lines.append(
                    f"<tr><td>{escape(tr(N_('community')))}</td><td>{escape(community)}</td></tr>"
                )
            for column in columns:
                text = _cell_text(values[column])
                if text:
                    lines.append(
                        f"<tr><td>{escape(column_label(str(column), lang))}</td><td>{escape(text)}</td></tr>"
                    )
            description = "<table>" + "".join(lines) + "</table>"
            data = "".join(
                f"<SimpleData name={quoteattr(str(c))}>{escape(_cell_text(values[c]))}</SimpleData>"
                for c in columns
                if _cell_text(values[c]) != ""
            )
            style = f"#fill{int(cls) % len(_PALETTE)}" if filled else "#outline"
            parts.append(
                f"<Placemark><name>{escape(label)}</name>"
                f"<description><![CDATA[{description.replace(']]>', ']]&gt;')}]]></description>"
                f"<styleUrl>{style}</styleUrl>"
                f'<ExtendedData><SchemaData schemaUrl="#{name}">{data}</SchemaData></ExtendedData>'
                f"{_kml_geometry(values[geometry])}</Placemark>"
            )
        parts.append("</Folder>")
    parts.append("</Document>\n</kml>\n")
    return "\n".join(parts)


_LAYER_TITLES: dict[str, str] = {
    "grids": N_("grids"),
    "patches": N_("worker patches"),
    "proposals": N_("split proposals"),
    "communities": N_("communities"),
}


def to_kml(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    lang: str | None = "zh_CN",
    title: str | None = None,
) -> Path:
    """Write the map layers as KML, or KMZ when ``out`` ends in ``.kmz``.

    One folder per layer (grids, patches, proposals, communities); a grid's name is its
    code, its description a table of its figures with labels in ``lang``; neighbouring
    grids get different colours. Coordinates in WGS84 (KML's only CRS).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_kml({"grids": grids}, folder / "plan.kml", lang="zh_CN")
    >>> "<name>110108001001001</name>" in out.read_text(encoding="utf-8")
    True
    """
    out = Path(out)
    document = _kml_document(plan, lang=lang, title=title)
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".kmz":
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("doc.kml", document.encode("utf-8"))
        else:
            tmp.write_text(document, encoding="utf-8")
    return out
