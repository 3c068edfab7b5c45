"""Maps: the base map chosen in the sidebar, styled layers, the Draw tool, ``st_folium``.

Leaflet and Leaflet.draw are served by the app itself (``ui/assets``, registered as a
component path), so maps work offline and nothing is fetched from a CDN. Each map is built
with ``prefer_canvas=True`` from light display copies (:func:`ui.cache.display_copy`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import shapely
import streamlit.components.v1 as components
import xyzservices
from folium.template import Template
from streamlit_folium import st_folium

from gis.gcj import wgs_to_gcj
from ui.i18n import gettext as _
from ui.session import Basemap

__all__ = [
    "GRID_COLOURS",
    "PALETTE",
    "STATUS_COLOURS",
    "add_polygons",
    "add_shapes",
    "shapes_json",
    "attribution",
    "base_map",
    "clear_drawings",
    "draw_control",
    "layer_group",
    "show",
]

_ASSETS_DIR = Path(__file__).resolve().parent / "assets"
_ASSETS_NAME = "assets"


def _register_assets() -> str:
    """Register ``ui/assets`` for serving; return its URL relative to the map's frame."""
    component = components.declare_component(_ASSETS_NAME, path=str(_ASSETS_DIR))
    # The st_folium frame lives at /component/streamlit_folium.st_folium/index.html.
    return f"../{component.name}"


STATUS_COLOURS: dict[str, str] = {
    "ok": "#2e7d32",
    "small": "#f9a825",
    "may_split": "#ef6c00",
    "must_split": "#c62828",
    "out_of_range": "#c62828",
    "dedicated": "#bdbdbd",  # a 专属网格 (campus, hospital, park): no household band to meet
}
GRID_COLOURS: tuple[str, ...] = ("#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#ffff99", "#8dd3c7")
"""Soft fills for grids; neighbouring grids get different ones."""
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
)
TIANDITU_LABELS_URL = TIANDITU_URL.replace("vec_w", "cva_w").replace("LAYER=vec", "LAYER=cva")
TIANDITU_IMAGERY_URL = TIANDITU_URL.replace("vec_w", "img_w").replace("LAYER=vec", "LAYER=img")
TIANDITU_IMAGERY_LABELS_URL = TIANDITU_URL.replace("vec_w", "cia_w").replace("LAYER=vec", "LAYER=cia")
AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=7"
    "&x={x}&y={y}&z={z}"
)
AMAP_SATELLITE_URL = "https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}"
AMAP_SATELLITE_LABELS_URL = (
    "https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}"
)


def _tiles(basemap: Basemap) -> list[folium.TileLayer]:
    if basemap.kind == "osm":
        return [folium.TileLayer("OpenStreetMap", max_zoom=19)]
    if basemap.kind == "custom" and basemap.url:
        return [folium.TileLayer(tiles=basemap.url, attr=_("Custom tiles"), max_zoom=20)]
    if basemap.kind in {"tianditu", "tianditu_imagery"} and basemap.tk:
        pairs = (
            ((TIANDITU_URL, "vec"), (TIANDITU_LABELS_URL, "cva"))
            if basemap.kind == "tianditu"
            else ((TIANDITU_IMAGERY_URL, "img"), (TIANDITU_IMAGERY_LABELS_URL, "cia"))
        )
        layers = []
        for url, name in pairs:
            provider = xyzservices.TileProvider(
                name=f"Tianditu.{name}",
                url=url,
                attribution="© 天地图 Tianditu",
                tk=basemap.tk,
                subdomains="01234567",
                max_zoom=18,
            )
            layers.append(
                folium.TileLayer(tiles=provider, overlay=name in {"cva", "cia"}, control=False)
            )
        return layers
    if basemap.kind in {"amap", "amap_satellite"}:
        urls = (
            ((AMAP_URL, "Normal"),)
            if basemap.kind == "amap"
            else ((AMAP_SATELLITE_URL, "Satellite"), (AMAP_SATELLITE_LABELS_URL, "Labels"))
        )
        layers = []
        for url, name in urls:
            provider = xyzservices.TileProvider(
                name=f"Gaode.{name}",
                url=url,
                attribution="© 高德地图 AMap",
                subdomains="1234",
                max_zoom=18,
            )
            layers.append(
                folium.TileLayer(tiles=provider, overlay=name == "Labels", control=False)
            )
        return layers
    return []  # none (offline), or a custom/Tianditu choice still missing its URL/key


def attribution(basemap: Basemap) -> str:
    """The tiles' attribution, for a caption under compact maps."""
    return {
        "osm": "© OpenStreetMap contributors",
        "tianditu": "© 天地图 Tianditu",
        "tianditu_imagery": "© 天地图 Tianditu",
        "amap": "© 高德地图 AMap",
        "amap_satellite": "© 高德地图 AMap",
    }.get(basemap.kind, "")


def base_map(bounds: Sequence[float], *, basemap: Basemap, compact: bool = False) -> folium.Map:
    """A map fitted to ``bounds`` (minx, miny, maxx, maxy in WGS84 lon/lat) on the chosen base map.

    A ``compact`` map (side-by-side alternatives) has no zoom buttons and no attribution
    box: put :func:`attribution` in a caption under it.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if basemap.gcj02:
        corners = wgs_to_gcj(gpd.GeoSeries.from_xy([minx, maxx], [miny, maxy]).values)
        minx, maxx = corners[0].x, corners[1].x
        miny, maxy = corners[0].y, corners[1].y
    centre = [round((miny + maxy) / 2, 6), round((minx + maxx) / 2, 6)]
    m = folium.Map(
        location=centre,
        zoom_start=15,
        tiles=None,
        prefer_canvas=True,
        control_scale=not compact,
        zoom_control=not compact,
        attribution_control=not compact,
        max_zoom=20,
    )
    for layer in _tiles(basemap):
        layer.add_to(m)
    m.fit_bounds([[round(miny, 6), round(minx, 6)], [round(maxy, 6), round(maxx, 6)]])
    base = _register_assets()
    m.default_js = [("leaflet", f"{base}/leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet/leaflet.css")]
    return m


def add_polygons(
    target: folium.Map | folium.FeatureGroup,
    frame: gpd.GeoDataFrame,
    *,
    name: str = "",
    colour: str | Callable[[Mapping[str, Any]], str] = "#1565c0",
    weight: float = 2,
    fill_opacity: float = 0.15,
    dash: str | None = None,
    tooltip: Mapping[str, str] | None = None,
) -> None:
    """Add one GeoJSON layer for a whole frame (one layer, not one per row).

    ``colour`` is a colour or a function of a feature's properties; ``tooltip`` maps
    property names to their (translated) labels.
    """
    if frame is None or frame.empty:
        return

    def style(feature: Mapping[str, Any]) -> dict[str, Any]:
        c = colour(feature["properties"]) if callable(colour) else colour
        out = {"color": c, "fillColor": c, "weight": weight, "fillOpacity": fill_opacity}
        if dash:
            out["dashArray"] = dash
        return out

    tip = None
    if tooltip:
        fields = [f for f in tooltip if f in frame]
        tip = folium.GeoJsonTooltip(
            fields=fields, aliases=[tooltip[f] for f in fields], sticky=False
        )
    folium.GeoJson(
        frame.to_json(drop_id=True), name=name or None, style_function=style, tooltip=tip
    ).add_to(target)


def shapes_json(
    frame: gpd.GeoDataFrame,
    *,
    colour: str | Callable[[Mapping[str, Any]], str] = "#1565c0",
    weight: float = 2,
    fill_opacity: float = 0.15,
    dash: str | None = None,
    tooltip: Mapping[str, str] | None = None,
) -> str:
    """A frame as GeoJSON text whose features carry their style and tooltip (for :func:`add_shapes`).

    Only the style (``__style``) and the tooltip's HTML (``__tip``: ``tooltip`` maps
    property names to their translated labels) go with each shape, worked out here once:
    the browser gets no other property and runs no style function of ours.
    """
    if frame is None or frame.empty:
        return '{"type": "FeatureCollection", "features": []}'
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    shapes = shapely.to_geojson(frame.geometry.values)
    fields = [f for f in (tooltip or {}) if f in frame]
    features = []
    for row, shape in zip(records, shapes, strict=True):
        c = colour(row) if callable(colour) else colour
        style: dict[str, Any] = {"color": c, "fillColor": c, "weight": weight, "fillOpacity": fill_opacity}
        if dash:
            style["dashArray"] = dash
        properties: dict[str, Any] = {"__style": style}
        if fields:
            properties["__tip"] = "<br>".join(
                f"<b>{html.escape(str(tooltip[f]))}</b> {html.escape(_tip_text(row.get(f)))}"  # type: ignore[index]
                for f in fields
            )
        features.append(
            '{"type": "Feature", "geometry": '
            + (shape if shape is not None else "null")
            + ', "properties": '
            + json.dumps(properties, ensure_ascii=False)
            + "}"
        )
    return '{"type": "FeatureCollection", "features": [' + ", ".join(features) + "]}"


def _tip_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class _Shapes(folium.MacroElement):
    """A GeoJSON layer styled by its features' own ``__style`` (see :func:`shapes_json`)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            style: function (feature) { return feature.properties.__style; },
            onEachFeature: function (feature, layer) {
                if (feature.properties.__tip) {
                    layer.bindTooltip(feature.properties.__tip, {sticky: false});
                }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, data: str) -> None:
        super().__init__()
        self._name = "Shapes"
        self.data = data


def add_shapes(target: folium.Map | folium.FeatureGroup, data: str) -> None:
    """Add a layer made by :func:`shapes_json` (keep that text cached: it is the costly part).

    Unlike :func:`add_polygons`, nothing is computed per shape when the map is rendered
    (no style function, no bounds): a layer of thousands of shapes costs its text only.
    """
    _Shapes(data).add_to(target)


def layer_group(name: str) -> folium.FeatureGroup:
    """A layer group sent to a mounted map without reloading it (``show(feature_group=…)``).

    Layers that change while the planner works (grids being edited) go in such groups:
    the map keeps its place and zoom, and only the groups are replaced.
    """
    return folium.FeatureGroup(name=name, control=False)


class _ClearDrawings(folium.MacroElement):
    """A script that removes the shapes drawn with the Draw tool, once per ``stamp``."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        /* {{ this.stamp }} */
        (function () {
        if (window.drawnItems && typeof window.drawnItems.clearLayers === "function") {
            window.drawnItems.clearLayers();
        }
        if (window.__GLOBAL_DATA__) {  /* the same shape drawn again is news again */
            var kept = window.__GLOBAL_DATA__;
            kept.all_drawings = [];
            kept.last_active_drawing = null;
            if (kept.previous_data && "all_drawings" in kept.previous_data) {
                kept.previous_data.all_drawings = [];
            }
            if (kept.previous_data && "last_active_drawing" in kept.previous_data) {
                kept.previous_data.last_active_drawing = null;
            }
        }
        })();
        {% endmacro %}"""
    )

    def __init__(self, stamp: str) -> None:
        super().__init__()
        self._name = "ClearDrawings"
        self.stamp = stamp


def clear_drawings(group: folium.FeatureGroup, *, stamp: str) -> None:
    """Clear the Draw tool's shapes when ``group`` reaches the map with a new ``stamp``.

    A selection drawn before an edit no longer applies after it: the rectangle goes too,
    and the map forgets it sent it (the same rectangle drawn again is sent again).
    """
    _ClearDrawings(str(stamp)).add_to(group)


def draw_control(m: folium.Map) -> folium.plugins.Draw:
    """Add the Draw tool (polygons and rectangles only, editable) with local assets."""
    draw = folium.plugins.Draw(
        export=False,
        position="topleft",
        show_geometry_on_click=False,
        draw_options={
            "polyline": False,
            "circle": False,
            "marker": False,
            "circlemarker": False,
            "polygon": {"allowIntersection": False, "showArea": False},
            "rectangle": {"showArea": False},
        },
        edit_options={"edit": True, "remove": True},
    )
    base = _register_assets()
    draw.default_js = [("leaflet_draw_js", f"{base}/leaflet-draw/leaflet.draw.js")]
    draw.default_css = [("leaflet_draw_css", f"{base}/leaflet-draw/leaflet.draw.css")]
    draw.add_to(m)
    return draw


def show(
    m: folium.Map,
    *,
    key: str,
    height: int = 480,
    returned_objects: Sequence[str] = (),
    feature_group: folium.FeatureGroup | Sequence[folium.FeatureGroup] | None = None,
    on_change: Callable[[], None] | None = None,
) -> dict[str, Any] | None:
    """Render ``m`` with ``st_folium``; pan and zoom never rerun the app unless asked for.

    ``feature_group`` (one or several :func:`layer_group`) is drawn over ``m`` and can
    change from run to run without reloading the map, which keeps the planner's place and
    zoom: keep ``m`` itself the same (its script names the map in the browser).
    """
    return st_folium(
        m,
        key=key,
        height=height,
        use_container_width=True,
        returned_objects=list(returned_objects),
        feature_group_to_add=(
            list(feature_group)
            if feature_group is not None and not isinstance(feature_group, folium.FeatureGroup)
            else feature_group
        ),
        on_change=on_change,
    )
