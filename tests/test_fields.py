"""Field names a shapefile cut to 10 bytes are still recognised (``community_`` is
``community_id``), on real shapefiles written by GDAL."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gis.fields import map_fields
from gis.io import read_project


def _write(folder, name, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL warns that it cuts the names: that is the case
        frame.to_file(folder / f"{name}.shp", encoding="utf-8")
    return pyogrio.read_info(folder / f"{name}.shp")["fields"].tolist()


def test_names_cut_by_the_shapefile_limit_are_recognised(tmp_path):
    boxes = [shapely.box(116.30 + i * 0.001, 40.0, 116.3008 + i * 0.001, 40.0008) for i in range(4)]
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ["B1", "B2", "B3", "B4"],
            "households": [40, 30, 20, 10],
            "community_id": ["110108001001"] * 2 + ["110108001002"] * 2,
            "special_service_households": [2, 0, 1, 0],
            "compound_id": ["C1", "C1", "C2", "C2"],
        },
        geometry=boxes,
        crs=4490,
    )
    communities = gpd.GeoDataFrame(
        {
            "community_id": ["110108001001", "110108001002"],
            "name": ["荷清苑社区", "西王庄社区"],
            "district_code": ["110108", "110108"],
            "staff": [3, 2],
        },
        geometry=[shapely.box(116.2995, 39.9995, 116.3015, 40.0012),
                  shapely.box(116.3015, 39.9995, 116.3035, 40.0012)],
        crs=4490,
    )
    written = _write(tmp_path, "buildings", buildings)
    assert {"community_", "building_i", "special_se", "compound_i"} <= set(written)  # cut by GDAL
    assert {"community_", "district_c"} <= set(_write(tmp_path, "communities", communities))

    project = read_project(tmp_path)
    assert project.mapping["buildings"] == {
        "building_i": "building_id",
        "community_": "community_id",
        "special_se": "special_service_households",
        "compound_i": "compound_id",
    }
    assert project.mapping["communities"] == {
        "community_": "community_id",
        "district_c": "district_code",
    }
    assert project.buildings["special_service_households"].tolist() == [2, 0, 1, 0]
    assert project.communities["district_code"].tolist() == ["110108", "110108"]


def test_a_cut_name_that_fits_two_fields_is_decided_by_its_values():
    codes = pd.DataFrame({"community_": ["110108001001"]})
    names = pd.DataFrame({"community_": ["荷清苑社区"]})
    assert map_fields(codes, layer="buildings")[1] == {"community_": "community_id"}
    assert map_fields(names, layer="buildings")[1] == {"community_": "community_name"}


def test_only_a_full_10_byte_cut_is_taken_for_one():
    # "communit" is not what the shapefile limit leaves: nothing is guessed from it
    assert map_fields(pd.DataFrame({"communit": ["1"]}), layer="communities")[1] == {}
    # a name that is a whole alias stays that alias
    assert map_fields(pd.DataFrame({"households": [1]}), layer="buildings")[1] == {}
