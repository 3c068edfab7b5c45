"""gis.gcj: GCJ-02 display copies for AMap, and drawn shapes back to WGS84."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from shapely import box

from gis.errors import CRSError
from gis.gcj import (
    bd_to_wgs,
    frame_from_gcj,
    frame_to_gcj,
    gcj_to_wgs,
    in_china,
    wgs_to_bd,
    wgs_to_gcj,
)
from gis.io import read_project


def test_forward_matches_prcoords_point_by_point(rng):
    lon = rng.uniform(100, 125, 200)
    lat = rng.uniform(20, 45, 200)
    moved = wgs_to_gcj(shapely.points(lon, lat))
    for x, y, p in zip(lon, lat, moved, strict=True):
        expected = prcoords.wgs_gcj((y, x))
        assert (p.x, p.y) == pytest.approx((expected.lon, expected.lat), abs=1e-12)


def test_the_offset_is_tens_to_hundreds_of_metres_in_china():
    p = shapely.Point(116.32, 39.99)  # Haidian
    q = wgs_to_gcj(p)
    metres = np.hypot((q.x - p.x) * 111_320 * np.cos(np.radians(p.y)), (q.y - p.y) * 110_540)
    assert 50 < metres < 700


def test_round_trip_within_millimetres(rng):
    lon = rng.uniform(73.5, 134.7, 500)
    lat = rng.uniform(18.2, 53.5, 500)
    points = shapely.points(lon, lat)
    back = gcj_to_wgs(wgs_to_gcj(points))
    error_m = np.hypot(
        (shapely.get_x(back) - lon) * 111_320 * np.cos(np.radians(lat)),
        (shapely.get_y(back) - lat) * 110_540,
    )
    assert error_m.max() < 0.01


def test_outside_china_nothing_moves_and_nothing_warns():
    london = shapely.Point(-0.12, 51.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wgs_to_gcj(london).equals(london)
        assert gcj_to_wgs(london).equals(london)
    assert not in_china(-0.12, 51.5)
    assert in_china(116.3, 39.9)


def test_polygons_keep_their_shape_and_holes():
    poly = box(116.30, 39.98, 116.34, 40.01).difference(box(116.31, 39.99, 116.32, 40.0))
    moved = wgs_to_gcj(poly)
    assert moved.geom_type == "Polygon" and len(moved.interiors) == 1
    assert moved.area == pytest.approx(poly.area, rel=5e-3)  # a small shear, not a reshaping
    assert gcj_to_wgs(moved).equals_exact(poly, tolerance=1e-7)


def test_empty_and_missing_geometries_pass_through():
    out = wgs_to_gcj(np.array([None, shapely.Polygon(), shapely.Point(116.3, 39.9)], dtype=object))
    assert out[0] is None and out[1].is_empty and not out[2].equals(shapely.Point(116.3, 39.9))


def test_frames_go_there_and_back():
    frame = gpd.GeoDataFrame(
        {"grid_code": ["110108001001001"]}, geometry=[box(116.30, 39.98, 116.31, 39.99)], crs=4490
    )
    shifted = frame_to_gcj(frame)
    assert shifted.crs.to_epsg() == 4326 and shifted.attrs["frame"] == "GCJ-02"
    assert shifted["grid_code"].tolist() == ["110108001001001"]
    assert frame.geometry.iloc[0].bounds == (116.30, 39.98, 116.31, 39.99)  # the input is untouched
    back = frame_from_gcj(shifted)
    assert "frame" not in back.attrs
    assert back.geometry.iloc[0].equals_exact(frame.geometry.iloc[0], tolerance=1e-7)


@pytest.mark.parametrize(("declared", "shift"), [("GCJ-02", wgs_to_gcj), ("bd09", wgs_to_bd)])
def test_layers_declared_gcj02_or_bd09_are_converted_on_reading(
    beijing_path, tmp_path, declared, shift
):
    """Points picked on AMap or Baidu: the file says WGS84, the planner says GCJ-02/BD-09."""
    truth = gpd.read_file(beijing_path, layer="buildings").head(30).to_crs(4326)
    picked = truth[["geometry"]].assign(households=40)
    picked.geometry = gpd.GeoSeries(shift(picked.geometry.values), crs=4326)
    path = tmp_path / "buildings.geojson"
    picked.to_file(path)
    project = read_project(path, crs=declared)
    moved_back = project.buildings.to_crs(4548).geometry
    assert moved_back.hausdorff_distance(truth.to_crs(4548).geometry, align=False).max() < 0.05
    (note,) = [n for n in project.notes if "AMap" in n.render("en")]
    metres = note.params["metres"]
    assert 100 < metres < 1500  # GCJ-02 and BD-09 are hundreds of metres off in Beijing
    assert project.source_crs["buildings"] in {"GCJ-02", "BD-09"}
    assert "GCJ-02" in note.render("zh_CN") or "BD-09" in note.render("zh_CN")


def test_bd09_round_trip():
    p = shapely.Point(121.47, 31.23)
    back = bd_to_wgs(wgs_to_bd(p))
    assert back.distance(p) < 1e-7


def test_projected_layer_declared_gcj02_is_refused(tmp_path):
    frame = gpd.GeoDataFrame({"households": [40]}, geometry=[box(500_000, 4_400_000, 500_030, 4_400_012)], crs=4548)
    path = tmp_path / "buildings.gpkg"
    frame.to_file(path, layer="buildings")
    with pytest.raises(CRSError, match="GCJ-02"):
        read_project(path, crs="GCJ-02")
