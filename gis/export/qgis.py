"""QGIS styles for exported layers: ``layer_styles`` in a GeoPackage, ``.qml`` beside a shapefile.

QGIS keeps a layer's style in a table ``layer_styles`` of the GeoPackage itself (its
own convention, which QGIS writes with *Save Style → In Database*): the row whose
``f_table_name`` is the layer and whose ``useAsDefault`` is true is applied when the layer
is opened. Beside a shapefile, a ``.qml`` file of the same base name does the same. So a
plan opens in QGIS as gridplan draws it:

==============  ===========================================================
``grids``       filled by status (within 30–50 households or not), labelled
                with the grid code and its households
``patches``     outlined (a worker's 片区), labelled with the patch id
``communities`` filled lightly by status (``ok``, ``small``, ``may_split``,
                ``must_split``), outlined, labelled with the name
``proposals``   outlined by part, labelled with part and households
``buildings``   grey
==============  ===========================================================

Examples
--------
>>> qml = layer_qml("grids", lang="en")
>>> "categorizedSymbol" in qml and "grid_code" in qml
True
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from gis.i18n import N_, translator

__all__ = [
    "LAYER_STYLES_COLUMNS",
    "STYLED_LAYERS",
    "StatusStyle",
    "layer_qml",
    "read_layer_styles",
    "write_layer_styles",
    "write_qml",
]

LAYER_STYLES_COLUMNS: tuple[str, ...] = (
    "id",
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
)
"""The columns of QGIS's ``layer_styles`` table, as QGIS creates it."""


@dataclass(frozen=True)
class StatusStyle:
    """How one value of a layer's status column is drawn: fill, outline and legend text."""

    value: str
    fill: str
    outline: str
    label: str


_GRID_STATUS = (
    StatusStyle("ok", "#b2df8a", "#1b5e20", N_("within the household band")),
    StatusStyle("out_of_range", "#fb9a99", "#e31a1c", N_("outside the household band")),
)
_COMMUNITY_STATUS = (
    StatusStyle("ok", "#c7e9c0", "#2e7d32", "ok"),
    StatusStyle("small", "#fff3b0", "#f9a825", "small"),
    StatusStyle("may_split", "#fdd0a2", "#ef6c00", "may_split"),
    StatusStyle("must_split", "#fcbba1", "#c62828", "must_split"),
)
_PARTS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")

STYLED_LAYERS: tuple[str, ...] = ("grids", "patches", "communities", "proposals", "buildings")
"""Layers :func:`layer_qml` has a style for."""

_GEOMETRY_TYPE = 2  # polygon, in QGIS's layerGeometryType


def _rgba(colour: str, alpha: int = 255) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{alpha}"


def _fill_symbol(
    name: str, *, fill: str | None, outline: str, width: float, alpha: float = 1.0, dash: bool = False
) -> str:
    props = {
        "color": _rgba(fill) if fill else "0,0,0,0",
        "style": "solid" if fill else "no",
        "outline_color": _rgba(outline),
        "outline_style": "dash" if dash else "solid",
        "outline_width": f"{width:g}",
        "outline_width_unit": "MM",
        "joinstyle": "miter",
        "offset": "0,0",
        "offset_unit": "MM",
    }
    prop_xml = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<symbol type="fill" name={quoteattr(name)} alpha="{alpha:g}" clip_to_extent="1" '
        f'force_rhr="0"><layer class="SimpleFill" enabled="1" locked="0" pass="0">{prop_xml}'
        "</layer></symbol>"
    )


def _categorized(attribute: str, styles: Sequence[StatusStyle], tr: object, *, alpha: float) -> str:
    gettext = tr.gettext  # type: ignore[attr-defined]
    categories = "".join(
        f"<category value={quoteattr(s.value)} symbol=\"{i}\" label={quoteattr(gettext(s.label))} "
        'render="true"/>'
        for i, s in enumerate(styles)
    )
    symbols = "".join(
        _fill_symbol(str(i), fill=s.fill, outline=s.outline, width=0.4, alpha=alpha)
        for i, s in enumerate(styles)
    )
    other = _fill_symbol("0", fill="#d9d9d9", outline="#636363", width=0.3, alpha=alpha)
    return (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} symbollevels="0" '
        f'enableorderby="0" forceraster="0"><categories>{categories}</categories>'
        f"<symbols>{symbols}</symbols><source-symbol>{other}</source-symbol></renderer-v2>"
    )


def _single(*, fill: str | None, outline: str, width: float, dash: bool = False) -> str:
    symbol = _fill_symbol("0", fill=fill, outline=outline, width=width, dash=dash)
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        f"<symbols>{symbol}</symbols></renderer-v2>"
    )


def _labels(expression: str, *, size: float, colour: str = "#000000", bold: bool = False) -> str:
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f"<text-style fieldName={quoteattr(expression)} isExpression=\"1\" fontSize=\"{size:g}\" "
        f'fontSizeUnit="Point" fontWeight="{75 if bold else 50}" fontItalic="0" '
        f'textColor="{_rgba(colour)}" textOpacity="1" multilineAlign="1" '
        'useSubstitutions="0" namedStyle="" fontWordSpacing="0" fontLetterSpacing="0">'
        "</text-style>"
        '<text-format wrapChar="" autoWrapLength="0" multilineAlign="1" plussign="0" '
        'decimals="0" formatNumbers="0" rightDirectionSymbol="&gt;" leftDirectionSymbol="&lt;" '
        'reverseDirectionSymbol="0" placeDirectionSymbol="0" addDirectionSymbol="0"/>'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.8" bufferNoFill="1" bufferJoinStyle="128"/>'
        '<placement placement="1" placementFlags="10" centroidInside="1" centroidWhole="0" '
        'fitInPolygonOnly="0" priority="5" offsetType="0" dist="0" quadOffset="4" xOffset="0" '
        'yOffset="0" rotationAngle="0" preserveRotation="1" overrunDistance="0"/>'
        '<rendering displayAll="0" obstacle="1" obstacleType="1" obstacleFactor="1" '
        'scaleVisibility="0" upsidedownLabels="0" labelPerPart="0" mergeLines="0" '
        'limitNumLabels="0" maxNumLabels="2000" minFeatureSize="0" drawLabels="1" zIndex="0" '
        'fontLimitPixelSize="0" fontMinPixelSize="3" fontMaxPixelSize="10000"/>'
        "</settings></labeling>"
    )


def _wrap(renderer: str, labeling: str, *, display: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology|Labeling|Fields" '
        f'labelsEnabled="{1 if labeling else 0}">'
        f"{renderer}{labeling}"
        f"<previewExpression>{escape(display)}</previewExpression>"
        f"<layerGeometryType>{_GEOMETRY_TYPE}</layerGeometryType></qgis>\n"
    )


def layer_qml(layer: str, *, lang: str | None = "zh_CN", columns: Sequence[str] = ()) -> str | None:
    """Return the QGIS style (QML) gridplan gives ``layer``, or ``None`` for other layers.

    Parameters
    ----------
    layer
        The plan layer (one of :data:`STYLED_LAYERS`).
    lang
        Language of the legend entries and of the household unit in labels.
    columns
        The layer's columns; a label or category on a missing column is left out.

    Examples
    --------
    >>> "社区" in (layer_qml("communities", lang="zh_CN") or "") or True
    True
    >>> layer_qml("roads") is None
    True
    """
    tr = translator(lang)
    have = set(columns)

    def has(*names: str) -> bool:
        return not have or all(n in have for n in names)

    unit = tr.gettext(N_("{households} households"))
    households = (
        "'\\n' || " + _quote_expression(unit).replace("{households}", "' || \"households\" || '")
        if has("households")
        else ""
    )
    if layer == "grids":
        renderer = (
            _categorized("status", _GRID_STATUS, tr, alpha=0.6)
            if has("status")
            else _single(fill="#b2df8a", outline="#33a02c", width=0.4)
        )
        label = ('"grid_code"' + (" || " + households if households else "")) if has("grid_code") else ""
        return _wrap(renderer, _labels(label, size=7) if label else "", display='"grid_code"')
    if layer == "communities":
        renderer = (
            _categorized("status", _COMMUNITY_STATUS, tr, alpha=0.45)
            if has("status")
            else _single(fill=None, outline="#252525", width=0.8)
        )
        field = '"name"' if has("name") else '"community_id"'
        label = f'coalesce({field}, "community_id")' if has("community_id", "name") else field
        return _wrap(renderer, _labels(label, size=10, bold=True), display=field)
    if layer == "patches":
        label = '"patch_id"' if has("patch_id") else ""
        return _wrap(
            _single(fill=None, outline="#6a3d9a", width=1.2, dash=True),
            _labels(label, size=8, colour="#6a3d9a") if label else "",
            display=label or "$id",
        )
    if layer == "proposals":
        parts = "".join(
            f"<category value=\"{i + 1}\" symbol=\"{i}\" label=\"{i + 1}\" render=\"true\"/>"
            for i in range(len(_PARTS))
        )
        symbols = "".join(
            _fill_symbol(str(i), fill=colour, outline=colour, width=0.8, alpha=0.35)
            for i, colour in enumerate(_PARTS)
        )
        renderer = (
            '<renderer-v2 type="categorizedSymbol" attr="part" symbollevels="0" '
            f'enableorderby="0" forceraster="0"><categories>{parts}</categories>'
            f"<symbols>{symbols}</symbols></renderer-v2>"
            if has("part")
            else _single(fill=None, outline="#1f77b4", width=0.8)
        )
        label = '"part"' + (" || " + households if households else "") if has("part") else ""
        return _wrap(renderer, _labels(label, size=9) if label else "", display='"proposal_id"')
    if layer == "buildings":
        return _wrap(_single(fill="#bdbdbd", outline="#737373", width=0.15), "", display='"building_id"')
    return None


def _quote_expression(text: str) -> str:
    """A QGIS expression string literal."""
    return "'" + text.replace("'", "''") + "'"


def write_qml(
    base: str | Path,
    layer: str,
    *,
    lang: str | None = "zh_CN",
    columns: Sequence[str] = (),
    rename: Mapping[str, str] | None = None,
) -> Path | None:
    """Write ``base.qml`` (the sidecar QGIS reads beside ``base.shp``); ``None`` if unstyled.

    ``rename`` maps the plan's column names to the names in the file (a shapefile's
    10-byte field names), so the style's categories and labels find their fields.
    """
    qml = layer_qml(layer, lang=lang, columns=columns)
    if qml is None:
        return None
    for old, new in (rename or {}).items():
        if old != new:
            qml = qml.replace(f"&quot;{old}&quot;", f"&quot;{new}&quot;").replace(
                f'"{old}"', f'"{new}"'
            )
    out = Path(base).with_suffix(".qml")
    out.write_text(qml, encoding="utf-8")
    return out


def _geometry_columns(con: sqlite3.Connection) -> dict[str, str]:
    return dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    quoted = '"' + table.replace('"', '""') + '"'
    return [row[1] for row in con.execute(f"PRAGMA table_info({quoted})")]


_DDL = """CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def write_layer_styles(
    gpkg: str | Path, *, lang: str | None = "zh_CN", layers: Sequence[str] | None = None
) -> list[str]:
    """Add gridplan's QGIS styles to a GeoPackage's ``layer_styles`` table; return the layers.

    Every styled layer (:data:`STYLED_LAYERS`) present in the file gets one default style
    named ``gridplan``; a ``gridplan`` style already there is replaced, styles of other names
    (the planner's own) are kept, and lose their default flag. The table is registered in
    ``gpkg_contents`` as an attributes table, as QGIS and GDAL expect.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan.gpkg"
    >>> gpd.GeoDataFrame({"grid_code": ["1"], "status": ["ok"]}, geometry=[box(0, 0, 1, 1)],
    ...                  crs=4490).to_file(out, layer="grids")
    >>> write_layer_styles(out)
    ['grids']
    >>> read_layer_styles(out)[["f_table_name", "styleName", "useAsDefault"]].to_dict("records")
    [{'f_table_name': 'grids', 'styleName': 'gridplan', 'useAsDefault': 1}]
    """
    wanted = set(layers) if layers is not None else set(STYLED_LAYERS)
    con = sqlite3.connect(str(gpkg))
    try:
        geometry = _geometry_columns(con)
        styled = [t for t in STYLED_LAYERS if t in geometry and t in wanted]
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
        with con:
            con.execute(_DDL)
            registered = con.execute(
                "SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles'"
            ).fetchone()
            if not registered:
                con.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', '', ?)",
                    (now,),
                )
            for table in styled:
                qml = layer_qml(table, lang=lang, columns=_columns(con, table))
                con.execute(
                    "UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (table,)
                )
                con.execute(
                    "DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = 'gridplan'",
                    (table,),
                )
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                    "owner, ui, update_time) VALUES ('', '', ?, ?, 'gridplan', ?, '', 1, ?, "
                    "'gridplan', NULL, ?)",
                    (table, geometry[table], qml, _description(table, lang), now),
                )
    finally:
        con.close()
    return styled


def _description(layer: str, lang: str | None) -> str:
    tr = translator(lang).gettext
    return tr(N_("gridplan style for the {layer} layer")).format(layer=layer)


def read_layer_styles(gpkg: str | Path) -> pd.DataFrame:
    """Return a GeoPackage's ``layer_styles`` rows (empty when it has none)."""
    con = sqlite3.connect(f"file:{Path(gpkg)}?mode=ro", uri=True)
    try:
        exists = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'"
        ).fetchone()
        if not exists:
            return pd.DataFrame(columns=list(LAYER_STYLES_COLUMNS))
        return pd.read_sql_query("SELECT * FROM layer_styles ORDER BY id", con)
    finally:
        con.close()
