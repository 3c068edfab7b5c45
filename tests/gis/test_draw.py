"""gis.draw: Leaflet.draw GeoJSON (as st_folium returns it) → GeoDataFrame in EPSG:4326."""

from __future__ import annotations

import json

import pytest
import shapely

from gis.draw import drawings_to_gdf, drawn_polygons
from gis.errors import GeometryError

SQUARE = [[116.31, 40.0], [116.32, 40.0], [116.32, 40.01], [116.31, 40.01], [116.31, 40.0]]


def feature(geometry_type: str, coordinates, **properties) -> dict:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": geometry_type, "coordinates": coordinates},
    }


# What streamlit-folium 0.27 returned for a rectangle, a polygon, a line, a marker and a circle
# drawn in the browser (all_drawings), copied verbatim.
ALL_DRAWINGS = json.loads(
    """
[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[116.311,39.991],[116.311,40.001],[116.321,40.001],[116.321,39.991],[116.311,39.991]]]}},
 {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[116.312,39.992],[116.318,39.992],[116.316,39.998],[116.312,39.992]]]}},
 {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[116.31,39.99],[116.33,40.0]]}},
 {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[116.32,39.995]}},
 {"type":"Feature","properties":{"radius":120.5},"geometry":{"type":"Point","coordinates":[116.325,39.996]}}]
"""
)


def test_every_kind_of_drawing_is_read_in_order():
    gdf = drawings_to_gdf(ALL_DRAWINGS)
    assert gdf.crs.to_epsg() == 4326
    assert gdf["drawing"].tolist() == [1, 2, 3, 4, 5]
    assert gdf["kind"].tolist() == ["Polygon", "Polygon", "LineString", "Point", "Point"]
    assert gdf["radius_m"].iloc[4] == pytest.approx(120.5)
    assert gdf["radius_m"].iloc[:4].isna().all()
    assert gdf.geometry.iloc[0].equals(shapely.box(116.311, 39.991, 116.321, 40.001))


def test_polygons_only():
    polygons = drawn_polygons(ALL_DRAWINGS)
    assert polygons["drawing"].tolist() == [1, 2]
    assert list(polygons.index) == [0, 1]


@pytest.mark.parametrize("empty", [None, [], {"type": "FeatureCollection", "features": []}])
def test_nothing_drawn_is_an_empty_frame(empty):
    gdf = drawings_to_gdf(empty)
    assert len(gdf) == 0
    assert gdf.crs.to_epsg() == 4326
    assert {"drawing", "kind", "radius_m", "geometry"} <= set(gdf.columns)


def test_one_feature_a_collection_and_a_bare_geometry():
    one = feature("Polygon", [SQUARE])
    assert len(drawings_to_gdf(one)) == 1
    assert len(drawings_to_gdf({"type": "FeatureCollection", "features": [one, one]})) == 2
    assert len(drawings_to_gdf(one["geometry"])) == 1


def test_properties_are_kept():
    gdf = drawings_to_gdf([feature("Polygon", [SQUARE], name="东片", style={"color": "red"})])
    assert gdf["name"].iloc[0] == "东片"


def test_a_bow_tie_is_repaired_into_its_two_triangles():
    bow_tie = [[116.31, 40.0], [116.32, 40.01], [116.32, 40.0], [116.31, 40.01], [116.31, 40.0]]
    gdf = drawings_to_gdf([feature("Polygon", [bow_tie])])
    geom = gdf.geometry.iloc[0]
    assert geom.is_valid
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert geom.area == pytest.approx(0.01 * 0.01 / 2)


@pytest.mark.parametrize(
    ("drawing", "match"),
    [
        ([{"type": "Feature", "properties": {}}], "Drawing 1 has no shape"),
        ([feature("Polygon", [[[1, 2]]])], "Drawing 1 cannot be read"),
        (
            [
                feature("Polygon", [SQUARE]),
                feature(
                    "Polygon",
                    [[[446000, 4430000], [446100, 4430000], [446100, 4430100], [446000, 4430000]]],
                ),
            ],
            "Drawing 2 has coordinates that are not longitudes and latitudes",
        ),
        ("not geojson", "not GeoJSON"),
    ],
)
def test_bad_drawings_say_what_to_do(drawing, match):
    with pytest.raises(GeometryError, match=match) as info:
        drawings_to_gdf(drawing)
    assert info.value.render("zh_CN")  # translatable
