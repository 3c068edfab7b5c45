"""CRSs: lon/lat (4326, 4490), CGCS2000 Gauss–Krüger CM and zone-prefixed zones, no CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod

from gis.crs import (
    STORAGE_CRS,
    ensure_crs,
    metric_crs_for,
    to_metric,
    to_storage,
    zone_prefixed_crs,
)
from gis.errors import CRSError
from gis.io import read_project

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


import bad_inputs.make_corpus as mc  # tests/ is on pytest's pythonpath

REFERENCE = mc.buildings()  # EPSG:4490 around 116.30°E, 40.00°N


def _same_place(gdf: gpd.GeoDataFrame, tolerance_deg: float = 1e-7) -> bool:
    """``gdf`` is in EPSG:4490 and on top of the reference buildings (1e-7° ≈ 1 cm)."""
    assert gdf.crs.to_epsg() == 4490
    distance = shapely.hausdorff_distance(gdf.geometry.values, REFERENCE.geometry.values)
    return bool(np.all(distance < tolerance_deg))


@pytest.mark.parametrize(
    "epsg",
    [
        4490,  # CGCS2000 lon/lat
        4326,  # WGS84 lon/lat (within a metre of CGCS2000)
        4548,  # CGCS2000 3° Gauss–Krüger CM 117E
        4527,  # CGCS2000 3° Gauss–Krüger zone 39 (eastings 39 4xx xxx)
        4509,  # CGCS2000 6° Gauss–Krüger CM 117E
        4498,  # CGCS2000 6° Gauss–Krüger zone 20 (eastings 20 4xx xxx)
        32650,  # WGS84 UTM 50N
        3857,  # Web Mercator (x ≈ 12.9 million: not a zone prefix)
    ],
)
def test_declared_crs_is_converted_to_cgcs2000(epsg: int):
    out = ensure_crs(REFERENCE.to_crs(epsg), layer="buildings")
    assert _same_place(out)


def test_declared_coordinates_are_really_what_the_crs_says():
    gk = REFERENCE.to_crs(4548)
    x, y = gk.geometry.iloc[0].exterior.coords[0]
    assert 440_000 < x < 441_000 and 4_429_000 < y < 4_431_000
    prefixed = REFERENCE.to_crs(4527)
    x, y = prefixed.geometry.iloc[0].exterior.coords[0]
    assert 39_440_000 < x < 39_441_000 and 4_429_000 < y < 4_431_000
    assert prefixed.crs.axis_info[0].abbrev == "X"  # northing-first CRS, handled by geopandas


def test_zone_prefix_detected_despite_a_cm_declaration():
    """A survey file says CM 117E (EPSG:4548) but its eastings carry the zone: 39 440 224."""
    wrongly_declared = REFERENCE.to_crs(4527).set_crs(4548, allow_override=True)
    assert _same_place(ensure_crs(wrongly_declared, layer="buildings"))


def test_six_degree_zone_prefix_detected_despite_a_cm_declaration():
    wrongly_declared = REFERENCE.to_crs(4498).set_crs(4509, allow_override=True)
    assert _same_place(ensure_crs(wrongly_declared, layer="buildings"))


def test_zone_prefixed_file_without_prj_guess_then_declare(tmp_path: Path):
    shp = mc.make_no_prj_zone_prefixed(tmp_path)
    with pytest.raises(CRSError) as info:
        read_project(shp)
    assert "these coordinates look like EPSG:4527. In the CLI add --crs EPSG:4527;" in str(
        info.value
    )
    assert info.value.params["guess"] == "EPSG:4527"
    assert _same_place(read_project(shp, crs="EPSG:4527").buildings)
    # Declaring the CM zone (what a planner who knows "117°E" would do) works too.
    project = read_project(shp, crs="EPSG:4548")
    assert _same_place(project.buildings)
    assert project.source_crs == {"buildings": "EPSG:4548"}


@pytest.mark.parametrize(
    ("make", "guess"),
    [
        (mc.make_no_prj_lonlat, "EPSG:4490"),
        (mc.make_no_prj_zone_prefixed, "EPSG:4527"),
        (mc.make_no_prj_cm, "EPSG:4534–4554"),
    ],
    ids=["lonlat", "zone_prefixed", "cm"],
)
def test_no_crs_is_an_error_that_says_how_to_declare_one(make, guess: str, tmp_path: Path):
    with pytest.raises(CRSError) as info:
        read_project(make(tmp_path))
    message = str(info.value)
    assert message.startswith(
        "Layer buildings has no coordinate reference system (no .prj or CRS)."
    )
    assert guess in message
    assert "--crs EPSG:" in message
    assert info.value.render("zh_CN").strip()


def test_no_crs_lonlat_declared_on_the_command_line(tmp_path: Path):
    shp = mc.make_no_prj_lonlat(tmp_path)
    for declared in ("EPSG:4490", "4490", 4490, CRS.from_epsg(4490)):
        assert _same_place(read_project(shp, crs=declared).buildings)


def test_cm_file_without_prj_reads_once_the_zone_is_declared(tmp_path: Path):
    assert _same_place(read_project(mc.make_no_prj_cm(tmp_path), crs="EPSG:4548").buildings)


def test_declared_crs_does_not_override_a_prj(tmp_path: Path):
    path = tmp_path / "楼栋.geojson"
    REFERENCE.to_crs(4326).to_file(path, driver="GeoJSON")
    project = read_project(path, crs="EPSG:4548")  # --crs only fills in a missing CRS
    assert _same_place(project.buildings)
    assert project.source_crs == {"buildings": "EPSG:4326"}


def test_zone_prefixed_crs():
    assert zone_prefixed_crs(39_440_224.0, 4_429_763.0).to_epsg() == 4527
    assert zone_prefixed_crs(25_500_000.0, 4_000_000.0).to_epsg() == 4513
    assert zone_prefixed_crs(45_500_000.0, 4_000_000.0).to_epsg() == 4533
    assert zone_prefixed_crs(20_440_224.0, 4_429_763.0).to_epsg() == 4498
    assert zone_prefixed_crs(13_500_000.0, 4_000_000.0).to_epsg() == 4491
    for easting, epsg in ((39_440_224.0, 4527), (20_440_224.0, 4498)):
        assert (
            CRS.from_epsg(epsg).coordinate_operation.params[-2].value
            == (easting // 1_000_000) * 1_000_000 + 500_000
        )
    with pytest.raises(CRSError) as info:
        zone_prefixed_crs(50_440_224.0, 4_429_763.0)
    assert str(info.value) == (
        "Easting 50440224 starts with zone 50, which is not a Gauss–Krüger zone over China (3° zones "
        "25–45, 6° zones 13–23). Check the X/Y columns are not swapped."
    )


@pytest.mark.parametrize(
    ("bounds", "epsg"),
    [
        ((116.30, 39.98, 116.34, 40.01), 4548),  # Beijing, CM 117E
        ((121.40, 31.20, 121.45, 31.25), 4549),  # Shanghai, CM 120E
        ((113.20, 23.10, 113.30, 23.20), 4547),  # Guangzhou, CM 114E
        ((87.50, 43.70, 87.70, 43.90), 4538),  # Urumqi, CM 87E
        ((2.30, 48.80, 2.40, 48.90), 32631),  # outside China: UTM
    ],
)
def test_metric_crs_for(bounds, epsg: int):
    assert metric_crs_for(bounds).to_epsg() == epsg


def test_metric_area_matches_the_geodesic_area():
    cell = gpd.GeoDataFrame(geometry=[shapely.box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    geodesic = abs(Geod(ellps="GRS80").geometry_area_perimeter(cell.geometry.iloc[0])[0])
    metric = to_metric(cell)
    assert metric.crs.to_epsg() == 4548
    assert metric.geometry.area.iloc[0] == pytest.approx(geodesic, rel=1e-4)
    assert to_metric(REFERENCE.to_crs(4527)).crs.to_epsg() == 4548  # projected input works too
    assert to_storage(metric).crs == STORAGE_CRS


def test_to_metric_refuses_a_layer_without_crs():
    with pytest.raises(CRSError, match=r"^A layer has no CRS; it cannot be measured\.$"):
        to_metric(REFERENCE.set_crs(None, allow_override=True))


def test_empty_layer_without_crs_gets_the_storage_crs():
    empty = gpd.GeoDataFrame({"name": []}, geometry=[], crs=None)
    assert ensure_crs(empty, layer="roads").crs == STORAGE_CRS


def test_mixed_crs_layers_line_up(tmp_path: Path):
    project = read_project(mc.make_mixed_crs(tmp_path))
    assert project.source_crs == {"buildings": "EPSG:4490", "communities": "EPSG:4548"}
    assert project.communities.crs.to_epsg() == 4490
    comm = mc.communities()
    distance = shapely.hausdorff_distance(
        project.communities.sort_values("community_id").geometry.values, comm.geometry.values
    )
    assert np.all(distance < 1e-7)


def test_declared_crs_only_fills_in_the_layer_without_one(tmp_path: Path):
    """One --crs for a project where only the communities lack a .prj."""
    folder = tmp_path / "项目"
    folder.mkdir()
    (folder / "楼栋.geojson").write_bytes(mc.geojson_bytes(REFERENCE))
    mc.write_shp(mc.communities(crs=4548), folder, "社区", drop=(".prj",))
    with pytest.raises(CRSError, match="Layer communities has no coordinate reference system"):
        read_project(folder)
    project = read_project(folder, crs="EPSG:4548")
    assert _same_place(project.buildings)
    assert project.source_crs == {"buildings": "EPSG:4490", "communities": "EPSG:4548"}
    assert project.communities.crs.to_epsg() == 4490
    minx, miny, maxx, maxy = project.communities.total_bounds
    assert 116.29 < minx < maxx < 116.31 and 39.99 < miny < maxy < 40.01


def test_the_gauss_kruger_cm_table_is_the_one_in_projs_database():
    """gis.crs keeps the CGCS2000 3° GK "CM" zones as a table (no slow search on every
    process start); it must be exactly what PROJ's EPSG database says."""
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    from gis.crs import _gk_cm_zones

    found = sorted(
        (int(info.code), float(info.name.rsplit("CM ", 1)[1].rstrip("E")))
        for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
        if info.name.startswith("CGCS2000 / 3-degree Gauss-Kruger CM ")
    )
    assert list(_gk_cm_zones()) == found
