"""The Grids map's layers: GeoJSON text with styles and tooltips worked out once, a digest
per plan version (the cache key of the map's layers), colours that stay through edits."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely import box

from gis.export import colour_classes


@pytest.fixture
def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"grid_code": ["A<1>", "B"], "households": [40.0, None], "status": ["ok", "out_of_range"]},
        geometry=[box(116.30, 40.0, 116.31, 40.01), box(116.31, 40.0, 116.32, 40.01)],
        crs=4326,
    )


def test_shapes_carry_their_style_and_an_escaped_tooltip(frame):
    from ui import maps

    text = maps.shapes_json(
        frame,
        colour=lambda p: "#00ff00" if p["status"] == "ok" else "#ff0000",
        weight=1,
        fill_opacity=0.45,
        tooltip={"grid_code": "网格编码", "households": "户数"},
    )
    data = json.loads(text)
    styles = [f["properties"]["__style"] for f in data["features"]]
    assert [s["fillColor"] for s in styles] == ["#00ff00", "#ff0000"]
    assert all(s["weight"] == 1 and s["fillOpacity"] == 0.45 for s in styles)
    tips = [f["properties"]["__tip"] for f in data["features"]]
    assert tips[0] == "<b>网格编码</b> A&lt;1&gt;<br><b>户数</b> 40"  # escaped, a whole number
    assert tips[1].endswith("<b>户数</b> —")  # a missing value reads as a dash, never None
    assert set(data["features"][0]["properties"]) == {"__style", "__tip"}  # nothing else sent
    assert data["features"][1]["geometry"]["type"] == "Polygon"
    assert json.loads(maps.shapes_json(frame.iloc[:0]))["features"] == []


def test_digest_follows_the_content(frame):
    from ui.cache import frame_digest

    columns = ("grid_code", "households")
    same = frame_digest(frame.copy(), columns=columns)
    assert frame_digest(frame, columns=columns) == same
    assert frame_digest(frame.assign(households=[41.0, None]), columns=columns) != same
    moved = frame.copy()
    moved.geometry = [box(116.30, 40.0, 116.311, 40.01), frame.geometry.iloc[1]]
    assert frame_digest(moved, columns=columns) != same


def test_colours_kept_through_an_edit():
    """Grids an edit did not touch keep their colour; neighbours still differ."""
    row = [box(i, 0, i + 1, 1) for i in range(6)]
    before = colour_classes(row).tolist()
    merged = [box(0, 0, 2, 1), *row[2:]]  # the first two grids merged into one
    kept = [before[0], *before[2:]]
    after = colour_classes(merged, keep=kept).tolist()
    assert after[1:] == before[2:]
    assert all(a != b for a, b in zip(after, after[1:], strict=False))
