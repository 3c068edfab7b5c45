"""Reading every format a Chinese office sends onto the data contract (round trips)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis import datasets
from gis.errors import LayerReadError
from gis.io import Project, detect_dbf_encoding, read_layer, read_project, read_table

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # GDAL laundering field names


import bad_inputs.make_corpus as mc  # tests/ is on pytest's pythonpath

BUILDINGS_MAPPING = {
    "楼栋编号": "building_id",
    "户数": "households",
    "层数": "floors",
    "楼栋名称": "name",
    "小区名称": "compound_name",
}
COMMUNITIES_MAPPING = {
    "社区编码": "community_id",
    "社区名称": "name",
    "街道": "street",
    "社工人数": "staff",
}


def _notes(project: Project) -> list[str]:
    return [n.render("en") for n in project.notes]


def _assert_buildings(buildings: gpd.GeoDataFrame, n: int = 6) -> None:
    """The buildings of ``mc.buildings(n)``, read back onto the contract in EPSG:4490."""
    expected = mc.buildings(n).rename(columns=BUILDINGS_MAPPING)
    got = buildings.sort_values("building_id").reset_index(drop=True)
    assert got.crs.to_epsg() == 4490
    assert got["building_id"].tolist() == expected["building_id"].tolist()
    assert got["name"].tolist() == expected["name"].tolist()
    assert got["compound_name"].tolist() == expected["compound_name"].tolist()
    assert pd.to_numeric(got["households"]).tolist() == expected["households"].tolist()
    assert pd.to_numeric(got["floors"]).tolist() == expected["floors"].tolist()
    # Shapes survive (to a micro-degree, whatever the container's precision).
    distance = shapely.hausdorff_distance(got.geometry.values, expected.geometry.values)
    assert np.all(distance < 1e-6)


# -- GeoPackage ---------------------------------------------------------------------------------
def test_gpkg_every_layer_is_read_and_mapped(tmp_path: Path):
    roads = gpd.GeoDataFrame(
        {"道路名称": ["成府路"], "道路等级": ["主干路"], "路宽": [40]},
        geometry=[shapely.LineString([(116.299, 39.9997), (116.304, 39.9997)])],
        crs="EPSG:4490",
    )
    river = gpd.GeoDataFrame(
        {"河流名称": ["万泉河"]},
        geometry=[shapely.LineString([(116.299, 40.003), (116.304, 40.003)])],
        crs=4490,
    )
    wall = gpd.GeoDataFrame(
        {"围墙类型": ["wall"]},
        geometry=[shapely.LineString([(116.2996, 39.9996), (116.2996, 40.0024)])],
        crs=4490,
    )
    centre = gpd.GeoDataFrame(
        {
            "社区编码": ["110108008001"],
            "服务中心名称": ["清华园社区党群服务中心"],
            "建筑面积": [420.5],
        },
        geometry=[shapely.Point(116.3005, 40.0006)],
        crs=4490,
    )
    compounds = gpd.GeoDataFrame(
        {"小区编码": ["XQ01"], "小区名称": ["清华园"]},
        geometry=[shapely.box(116.2998, 39.9998, 116.3026, 40.0016)],
        crs=4490,
    )
    roster = pd.DataFrame(
        {"楼栋编号": ["HD-001", "HD-001"], "单元": [1, 2], "房号": ["101", "201"], "人口": [3, 2]}
    )
    path = mc.gpkg(
        tmp_path / "海淀区项目.gpkg",
        {
            "楼栋": mc.buildings(),
            "社区": mc.communities(),
            "小区": compounds,
            "道路": roads,
            "河流": river,
            "围墙": wall,
            "党群服务中心": centre,
            "花名册": roster,
        },
    )
    project = read_project(path)
    _assert_buildings(project.buildings)
    assert sorted(project.layers()) == sorted(
        [
            "buildings",
            "communities",
            "compounds",
            "roads",
            "waterways",
            "barriers",
            "service_centres",
        ]
    )
    assert project.mapping == {
        "buildings": BUILDINGS_MAPPING,
        "communities": COMMUNITIES_MAPPING,
        "compounds": {"小区编码": "compound_id", "小区名称": "name"},
        "roads": {"道路名称": "name", "道路等级": "road_class", "路宽": "width_m"},
        "waterways": {"河流名称": "name"},
        "barriers": {"围墙类型": "kind"},
        "service_centres": {
            "社区编码": "community_id",
            "服务中心名称": "name",
            "建筑面积": "floor_area_m2",
        },
        "roster": {"楼栋编号": "building_id", "单元": "unit", "房号": "room", "人口": "residents"},
    }
    assert project.roads["road_class"].tolist() == ["主干路"]
    assert project.service_centres["floor_area_m2"].tolist() == [420.5]
    assert project.roster["building_id"].tolist() == ["HD-001", "HD-001"]
    assert all(gdf.crs.to_epsg() == 4490 for gdf in project.layers().values())
    assert project.source_crs == dict.fromkeys(project.layers(), "EPSG:4490")
    assert project.study_area.equals(shapely.union_all(project.communities.geometry.values))
    assert _notes(project) == []


def test_gpkg_unrecognised_layer_is_skipped_with_a_note(tmp_path: Path):
    path = mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": mc.buildings(), "临时图层": mc.communities()})
    project = read_project(path)
    assert project.communities is None
    assert _notes(project) == ["Layer 临时图层 was not recognised and was skipped."]


def test_gpkg_single_layer_with_any_name_is_the_buildings(tmp_path: Path):
    path = mc.gpkg(tmp_path / "导出.gpkg", {"layer_1": mc.buildings()})
    _assert_buildings(read_project(path).buildings)


def test_read_layer_picks_a_layer(tmp_path: Path):
    path = mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": mc.buildings(), "社区": mc.communities()})
    frame, mapping, notes = read_layer(path, layer="社区")
    assert mapping == COMMUNITIES_MAPPING
    assert frame["community_id"].tolist() == ["110108008001", "110108008002"]
    assert notes == []


# -- shapefiles -----------------------------------------------------------------------------------
def test_shapefile_zip_in_a_subfolder(tmp_path: Path):
    members = mc.shapefile_zip_members(
        mc.buildings(), "楼栋", tmp_path, folder="海淀区/清华园街道"
    ) | (mc.shapefile_zip_members(mc.communities(), "社区", tmp_path, folder="海淀区/清华园街道"))
    project = read_project(mc.write_zip(tmp_path / "海淀区.zip", members))
    _assert_buildings(project.buildings)
    assert project.communities["name"].tolist() == ["清华园社区", "五道口社区"]
    assert project.communities["staff"].tolist() == [12, 9]


def test_utf8_shapefile_field_names_cut_mid_character_are_recovered(tmp_path: Path):
    # GDAL/QGIS cut UTF-8 names at 10 bytes: 楼栋编号 (12 bytes) becomes 楼栋编 + half a character.
    shp = mc.write_shp(mc.buildings(), tmp_path, "楼栋")
    dbf = shp.with_suffix(".dbf").read_bytes()
    assert "楼栋编号".encode()[:10] in dbf
    project = read_project(shp)
    _assert_buildings(project.buildings)
    assert project.mapping["buildings"] == {
        "楼栋编": "building_id",
        "户数": "households",
        "层数": "floors",
        "楼栋名": "name",
        "小区名": "compound_name",
    }
    assert _notes(project) == [
        "Field names of 楼栋.shp were cut to 10 bytes by the shapefile format (楼栋编, 楼栋名, 小区名); "
        "check the field mapping."
    ]


def test_cp936_member_names_and_gbk_attributes_without_cpg(tmp_path: Path):
    """The zip a Chinese-Windows ArcGIS user sends: CP936 names, GBK .dbf, no .cpg."""
    members = mc.shapefile_zip_members(
        mc.buildings(), "楼栋", tmp_path, folder="清华园街道", encoding="GBK", drop=(".cpg",)
    )
    members |= mc.shapefile_zip_members(
        mc.communities(), "社区", tmp_path, folder="清华园街道", encoding="GBK", drop=(".cpg",)
    )
    archive = mc.write_zip(tmp_path / "清华园街道.zip", members, cp936_names=True)
    with zipfile.ZipFile(archive) as zf:
        assert "清华园街道/楼栋.shp" not in zf.namelist()  # zipfile alone cannot read the names
    project = read_project(archive)
    _assert_buildings(project.buildings)
    assert project.mapping["buildings"] == BUILDINGS_MAPPING
    assert project.communities["name"].tolist() == ["清华园社区", "五道口社区"]
    assert sorted(_notes(project)) == [
        "楼栋.shp has no .cpg; its text was detected as GB18030 (Chinese Windows).",
        "社区.shp has no .cpg; its text was detected as GB18030 (Chinese Windows).",
    ]


def test_gbk_dbf_without_cpg_reads_correct_chinese(tmp_path: Path):
    shp = mc.make_dbf_gbk_no_cpg(tmp_path)
    assert not shp.with_suffix(".cpg").exists()
    assert detect_dbf_encoding(shp.with_suffix(".dbf")) == "GB18030"
    project = read_project(shp)
    _assert_buildings(project.buildings)
    assert "Â" not in "".join(project.buildings.columns)
    assert _notes(project) == [
        "楼栋.shp has no .cpg; its text was detected as GB18030 (Chinese Windows)."
    ]


def test_gbk_field_names_with_ascii_values_are_detected(tmp_path: Path):
    """The encoding is in the header: every value is ASCII (HD-001, 48, 6)."""
    shp = mc.make_dbf_gbk_names_ascii_values(tmp_path)
    assert detect_dbf_encoding(shp.with_suffix(".dbf")) == "GB18030"
    project = read_project(shp)
    assert project.mapping["buildings"] == {
        "楼栋编号": "building_id",
        "户数": "households",
        "层数": "floors",
    }
    assert project.buildings["households"].tolist() == [48, 54, 60, 66]


def test_encoding_flag_overrides_a_wrong_cpg(tmp_path: Path):
    shp = mc.make_dbf_wrong_cpg(tmp_path)
    _assert_buildings(read_project(shp, encoding="gbk").buildings)


def test_encoding_flag_leaves_a_utf8_geopackage_alone(tmp_path: Path):
    """--encoding gbk is for the GBK shapefile, not for the GPKG beside it."""
    folder = tmp_path / "项目"
    mc.write_shp(mc.buildings(), folder, "楼栋", encoding="GBK", drop=(".cpg",))
    mc.gpkg(folder / "社区.gpkg", {"社区": mc.communities()})
    project = read_project(folder, encoding="gbk")
    _assert_buildings(project.buildings)
    assert project.communities["name"].tolist() == ["清华园社区", "五道口社区"]


def test_missing_shx_is_restored_without_touching_the_folder(tmp_path: Path):
    shp = mc.write_shp(mc.buildings(), tmp_path, "楼栋", encoding="GBK", drop=(".shx",))
    before = sorted(p.name for p in tmp_path.iterdir())
    project = read_project(shp)
    _assert_buildings(project.buildings)
    assert _notes(project) == ["The .shx index of 楼栋.shp was missing and has been rebuilt."]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .shx written beside it


def test_missing_shx_in_a_zip(tmp_path: Path):
    members = mc.shapefile_zip_members(
        mc.buildings(), "楼栋", tmp_path, folder="data", drop=(".shx",)
    )
    project = read_project(mc.write_zip(tmp_path / "楼栋.zip", members))
    _assert_buildings(project.buildings)
    assert "The .shx index of 楼栋.shp was missing and has been rebuilt." in _notes(project)


def test_detect_dbf_encoding():
    import tempfile

    folder = Path(tempfile.mkdtemp())
    cases = {
        "utf8": (b"\x03" + bytes(31) + "社区".encode(), "UTF-8"),
        "ascii": (b"\x03" + bytes(31) + b"HD-001", "UTF-8"),
        "gbk": (b"\x03" + bytes(31) + "社区".encode("gbk"), "GB18030"),
        "latin1": (b"\x03" + bytes(31) + "Tower ÿ".encode("latin1"), None),
        "short": (b"\x03", None),
    }
    for name, (data, expected) in cases.items():
        path = folder / f"{name}.dbf"
        path.write_bytes(data)
        assert detect_dbf_encoding(path) == expected, name


# -- GeoJSON, KML, KMZ, FlatGeobuf --------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".geojson", ".json"])
def test_geojson(tmp_path: Path, suffix: str):
    path = tmp_path / f"楼栋{suffix}"
    path.write_bytes(mc.geojson_bytes(mc.buildings()))
    project = read_project(path)
    _assert_buildings(project.buildings)
    assert project.mapping["buildings"] == BUILDINGS_MAPPING


def test_kml(tmp_path: Path):
    path = tmp_path / "楼栋.kml"
    mc.buildings().to_file(path, driver="KML")
    project = read_project(path)
    _assert_buildings(project.buildings)
    # The KML driver's empty Name/description/… fields do not shadow the planner's 楼栋名称.
    assert project.mapping["buildings"] == BUILDINGS_MAPPING
    assert not {"description", "altitudeMode", "tessellate"} & set(project.buildings.columns)


def test_kmz(tmp_path: Path):
    kml = tmp_path / "doc.kml"
    mc.buildings().to_file(kml, driver="KML")
    kmz = mc.write_zip(
        tmp_path / "楼栋.kmz", {"doc.kml": kml.read_bytes(), "files/icon.png": b"\x89PNG"}
    )
    project = read_project(kmz)
    _assert_buildings(project.buildings)
    assert project.mapping["buildings"] == BUILDINGS_MAPPING


def test_kmz_is_checked_like_any_zip(tmp_path: Path):
    kmz = mc.write_zip(tmp_path / "楼栋.kmz", {"../doc.kml": b"<kml/>"})
    with pytest.raises(LayerReadError, match=r"contains an unsafe path '../doc.kml'"):
        read_project(kmz)


def test_flatgeobuf(tmp_path: Path):
    path = tmp_path / "楼栋.fgb"
    mc.buildings().to_file(path, driver="FlatGeobuf")
    _assert_buildings(read_project(path).buildings)


def test_folder_of_chinese_named_files(tmp_path: Path):
    folder = tmp_path / "海淀区"
    folder.mkdir()
    (folder / "海淀区_楼栋.geojson").write_bytes(mc.geojson_bytes(mc.buildings()))
    mc.communities().to_file(folder / "社区边界.fgb", driver="FlatGeobuf")
    project = read_project(folder)
    _assert_buildings(project.buildings)
    assert sorted(project.communities["community_id"]) == ["110108008001", "110108008002"]


def test_mapping_of_layers_to_files(tmp_path: Path):
    buildings = tmp_path / "a.geojson"
    buildings.write_bytes(mc.geojson_bytes(mc.buildings()))
    communities = mc.write_shp(mc.communities(), tmp_path / "b", "whatever")
    project = read_project({"buildings": buildings, "communities": communities})
    _assert_buildings(project.buildings)
    assert project.communities["name"].tolist() == ["清华园社区", "五道口社区"]


# -- rosters: CSV (GBK, UTF-8 with BOM), XLSX -------------------------------------------------------
ROSTER = pd.DataFrame(
    {
        "地址": ["清华园1号楼", "清华园1号楼", "荷清苑2号楼"],
        "单元": ["1", "2", "1"],
        "楼层": ["3", "5", "12"],
        "房号": ["301", "502", "1201"],
        "家庭人口": ["3", "4", "2"],
        "是否民政对象": ["否", "是", "否"],
    }
)
ROSTER_MAPPING = {
    "地址": "address",
    "单元": "unit",
    "楼层": "floor",
    "房号": "room",
    "家庭人口": "residents",
    "是否民政对象": "special_service",
}


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_roster(tmp_path: Path, encoding: str):
    path = tmp_path / "花名册.csv"
    path.write_bytes(ROSTER.to_csv(index=False).encode(encoding))
    table = read_table(path)
    assert table.columns.tolist() == ROSTER.columns.tolist()  # no BOM left on 地址
    assert table.astype(str).values.tolist() == ROSTER.values.tolist()
    project = read_project({"buildings": _buildings_file(tmp_path), "roster": path})
    assert project.mapping["roster"] == ROSTER_MAPPING
    assert project.roster["address"].tolist() == ROSTER["地址"].tolist()


def test_xlsx_roster(tmp_path: Path):
    path = tmp_path / "花名册.xlsx"
    frame = ROSTER.assign(家庭人口=ROSTER["家庭人口"].astype(int))
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:
        frame.to_excel(writer, index=False, sheet_name="住户")
    project = read_project({"buildings": _buildings_file(tmp_path), "roster": path})
    assert project.mapping["roster"] == ROSTER_MAPPING
    assert project.roster["residents"].tolist() == [3, 4, 2]
    assert project.roster["special_service"].tolist() == ["否", "是", "否"]


def test_xls_roster(tmp_path: Path):
    # calamine reads .xls (what WPS and older offices save), but writing one needs xlwt,
    # which is not a dependency: this runs only where xlwt happens to be installed.
    xlwt = pytest.importorskip("xlwt")
    path = tmp_path / "花名册.xls"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("住户")
    for j, column in enumerate(ROSTER.columns):
        sheet.write(0, j, column)
        for i, value in enumerate(ROSTER[column]):
            sheet.write(i + 1, j, value)
    book.save(str(path))
    assert read_table(path).columns.tolist() == ROSTER.columns.tolist()


def test_roster_in_a_zip_with_the_layers(tmp_path: Path):
    members = mc.shapefile_zip_members(mc.buildings(), "楼栋", tmp_path, encoding="GBK")
    members["花名册.csv"] = ROSTER.to_csv(index=False).encode("gbk")
    project = read_project(mc.write_zip(tmp_path / "项目.zip", members))
    assert project.mapping["roster"] == ROSTER_MAPPING
    assert len(project.roster) == 3


def test_two_rosters_are_refused(tmp_path: Path):
    first, second = tmp_path / "花名册.csv", tmp_path / "住户.xlsx"
    first.write_text(ROSTER.to_csv(index=False), encoding="utf-8")
    ROSTER.to_excel(second, index=False, engine="xlsxwriter")
    with pytest.raises(LayerReadError) as info:
        read_project({"buildings": _buildings_file(tmp_path), "roster": first, "roster2": second})
    assert (
        str(info.value)
        == "Two files give the roster layer (花名册.csv and 住户.xlsx). Keep one of them."
    )


def _buildings_file(tmp_path: Path) -> Path:
    path = tmp_path / "楼栋.geojson"
    path.write_bytes(mc.geojson_bytes(mc.buildings()))
    return path


# -- field aliases ----------------------------------------------------------------------------
def test_english_field_names_are_mapped_and_reported(tmp_path: Path):
    gdf = mc.buildings().rename(
        columns={
            "楼栋编号": "BLDG_ID",
            "户数": "Households",
            "层数": "storeys",
            "楼栋名称": "Name",
            "小区名称": "compound",
        }
    )
    gdf["Population"] = [120, 130, 140, 150, 160, 170]
    gdf["UNITS"] = [2, 3, 2, 3, 2, 3]
    gdf["special service"] = [1, 0, 2, 0, 0, 1]
    path = tmp_path / "buildings.geojson"
    path.write_bytes(mc.geojson_bytes(gdf))
    project = read_project(path)
    assert project.mapping["buildings"] == {
        "BLDG_ID": "building_id",
        "Households": "households",
        "Population": "residents",
        "storeys": "floors",
        "UNITS": "units",
        "Name": "name",
        "special service": "special_service_households",
    }
    assert project.buildings["residents"].tolist() == [120, 130, 140, 150, 160, 170]
    assert "compound" in project.buildings  # no alias: kept as it came


def test_chinese_aliases_with_spaces_and_full_width_brackets(tmp_path: Path):
    gdf = mc.buildings().rename(columns={"户数": "户 数", "层数": "地上层数"})
    gdf["常住\u3000人口"] = [120, 130, 140, 150, 160, 170]  # an ideographic space
    gdf["单元数"] = [2] * 6
    gdf["民政对象户数"] = [1] * 6
    gdf["社区名称"] = ["清华园社区"] * 6
    path = tmp_path / "楼栋.geojson"
    path.write_bytes(mc.geojson_bytes(gdf))
    mapping = read_project(path).mapping["buildings"]
    assert mapping["户 数"] == "households"
    assert mapping["地上层数"] == "floors"
    assert mapping["常住\u3000人口"] == "residents"
    assert mapping["单元数"] == "units"
    assert mapping["民政对象户数"] == "special_service_households"
    assert mapping["社区名称"] == "community_name"


def test_overrides_win_and_empty_means_ignore(tmp_path: Path):
    gdf = mc.buildings()
    gdf["总户数"] = [100] * 6
    path = tmp_path / "楼栋.geojson"
    path.write_bytes(mc.geojson_bytes(gdf))
    project = read_project(path, overrides={"buildings": {"总户数": "households", "层数": ""}})
    assert project.mapping["buildings"]["总户数"] == "households"
    assert "层数" not in project.mapping["buildings"]
    assert project.buildings["households"].tolist() == [100] * 6
    assert project.buildings["户数"].tolist() == mc.buildings()["户数"].tolist()
    assert "层数" in project.buildings and "floors" not in project.buildings


# -- the bundled samples --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "n_buildings"), [("beijing", 521), ("shanghai", 1321)])
def test_bundled_samples_read_into_the_contract(name: str, n_buildings: int):
    project = read_project(datasets.get_path(name))
    b = project.buildings
    assert len(b) == n_buildings
    assert b.crs.to_epsg() == 4490
    assert b["building_id"].notna().all() and b["building_id"].is_unique
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert b["is_residential"].dtype == bool and b["is_residential"].any()
    assert (b["floors"].dropna() >= 1).all()
    for layer in ("compounds", "roads", "waterways", "barriers"):
        assert len(getattr(project, layer)) > 0, layer
        assert getattr(project, layer).crs.to_epsg() == 4490
    assert {"compound_id", "name"} <= set(project.compounds.columns)
    assert project.roads["road_class"].notna().all()
    assert project.study_area is not None and project.study_area.contains(
        shapely.union_all(b.geometry.values).representative_point()
    )
    assert _notes(project) == ["OpenStreetMap layers were mapped onto the gridplan layers."]


def test_beijing_sample_first_compound():
    project = read_project(datasets.get_path("beijing"))
    assert project.compounds["name"].iloc[0] == "新林院"
    minx, miny, maxx, maxy = project.buildings.total_bounds
    assert 116.2 < minx < maxx < 116.4 and 39.9 < miny < maxy < 40.1


def test_unknown_sample_name():
    with pytest.raises(LayerReadError) as info:
        datasets.get_path("hangzhou")
    assert (
        str(info.value)
        == "There is no sample called 'hangzhou'. Choose one of: beijing_district, beijing, shanghai, "
        "singapore_hdb."
    )


@pytest.mark.parametrize(
    ("layer", "column", "field"),
    [
        ("buildings", "户数", "households"),
        ("buildings", "人口", "residents"),
        ("buildings", "层数", "floors"),
        ("buildings", "单元数", "units"),
        ("buildings", "楼栋号", "name"),
        ("buildings", "楼栋编号", "building_id"),
        ("buildings", "社区名称", "community_name"),
        ("buildings", "小区名称", "compound_name"),
        ("buildings", "民政对象", "special_service_households"),
        ("buildings", "HOUSEHOLDS", "households"),
        ("buildings", "house_holds", "households"),
        ("communities", "社区名称", "name"),
        ("communities", "社工人数", "staff"),
        ("communities", "社区工作者", "staff"),
        ("communities", "Workers", "staff"),
        ("compounds", "小区名称", "name"),
        ("roster", "门牌地址", "address"),
        ("roster", "是否民政对象", "special_service"),
    ],
)
def test_issue_aliases(layer: str, column: str, field: str):
    from gis.fields import map_fields

    mapped, mapping = map_fields(pd.DataFrame({column: [1], "备注": ["x"]}), layer=layer)
    assert mapping == {column: field}
    assert list(mapped.columns) == [field, "备注"]


def test_names_cut_by_the_shapefile_limit_are_mapped_by_prefix():
    from gis.fields import map_fields

    frame = pd.DataFrame(columns=["楼栋编", "社区名", "民政对", "hou", "楼"])
    _, mapping = map_fields(frame, layer="buildings")
    # Three or more non-ASCII characters that start exactly one field's aliases; nothing shorter.
    assert mapping == {
        "楼栋编": "building_id",
        "社区名": "community_name",
        "民政对": "special_service_households",
    }


def test_genuine_latin1_symbols_in_chinese_data_are_not_mojibake(tmp_path: Path):
    gdf = mc.buildings(3)
    gdf["备注"] = ["建筑面积120m²", "户主阿卜杜·热合曼", "朝向南偏东15°"]
    gdf["面积²"] = ["m²", "m²", "m²"]
    path = tmp_path / "楼栋.geojson"
    path.write_bytes(mc.geojson_bytes(gdf))
    assert read_project(path).buildings["备注"].tolist() == gdf["备注"].tolist()


def test_shapefile_stem_with_glob_characters(tmp_path: Path):
    shp = mc.write_shp(
        mc.buildings(), tmp_path, "楼栋[2024]", encoding="GBK", drop=(".cpg", ".shx")
    )
    project = read_project(shp)
    _assert_buildings(project.buildings)
    assert _notes(project) == [
        "The .shx index of 楼栋[2024].shp was missing and has been rebuilt.",
        "楼栋[2024].shp has no .cpg; its text was detected as GB18030 (Chinese Windows).",
    ]


def test_roster_kept_as_a_layer_with_shapes(tmp_path: Path):
    points = gpd.GeoDataFrame(ROSTER, geometry=[shapely.Point(116.3002, 40.0002)] * 3, crs=4490)
    path = mc.gpkg(tmp_path / "项目.gpkg", {"楼栋": mc.buildings(), "花名册": points})
    project = read_project(path)
    assert project.mapping["roster"] == ROSTER_MAPPING
    assert "geometry" not in project.roster and len(project.roster) == 3


def test_unclosed_ring_is_closed_and_said_so(tmp_path: Path):
    project = read_project(mc.make_unclosed_ring(tmp_path))
    _assert_buildings(project.buildings, n=3)
    assert _notes(project) == [
        "Some shapes in 楼栋.geojson had rings that were not closed; they were closed (and shapes "
        "beyond repair left empty). Check them in your GIS."
    ]
