"""The corpus of bad inputs: every one ends in one exact, clear message, never a traceback.

Each case builds its input with ``tests/bad_inputs/make_corpus.py`` into ``tmp_path``, runs
the real entry point (``gis.io.read_project`` / ``read_layer`` or
``planning.communities.load``) and compares the English message in full. Cases whose
input is a path are also run through the CLI (``gridplan check … --lang en``), which must
exit with code 2 and print exactly that message as one line on stderr. Problems that are
repaired or tolerated (invalid shapes, duplicate building ids, buildings outside every
community, gaps, mixed CRSs, missing shapes) are warnings in the validation report, and
their report entries are compared in full too.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bad_inputs.make_corpus as mc  # tests/ is on pytest's pythonpath
import numpy as np
import pytest
import shapely

import cli
from gis.errors import CRSError, FieldError, GridplanError, LayerReadError
from gis.io import read_layer, read_project
from gis.validate import ValidationError, validate_project
from gis.zipsafe import ZipLimits
from planning.communities import load

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # GDAL laundering field names


def _project(source: Any, **kwargs: Any) -> Any:
    return read_project(source, **kwargs)


def _layer(source: Any, **kwargs: Any) -> Any:
    return read_layer(source, **kwargs)


def _load(source: Any, **kwargs: Any) -> Any:
    return load(source, lang="en", **kwargs)


CALLS: dict[str, Callable[..., Any]] = {"project": _project, "layer": _layer, "load": _load}


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, what to call, the exact English message."""

    id: str
    make: Callable[[Path], Any]
    error: type[GridplanError]
    message: str  # ``{tmp}`` stands for the case's temporary directory
    call: str = "project"
    kwargs: dict[str, Any] = field(default_factory=dict)
    cli_args: tuple[str, ...] | None = ()  # None: no CLI run (API-only options)


DAMAGED_ZIP = (
    "楼栋.zip is not a readable zip file (it is damaged or not a zip). Zip the files again."
)
DWG = (
    "{name} is a DWG drawing, and DWG (AutoCAD's own format) has no free reader. Save it as "
    "DXF: in AutoCAD with Save As → DXF (另存为 DXF), or convert it with the free ODA File "
    "Converter, or open it in QCAD or LibreCAD and save it as DXF. Then read the .dxf."
)
NOT_A_LAYER = (
    "{name} is not a map layer gridplan can read (not GeoPackage, shapefile, GeoJSON, KML, "
    "FlatGeobuf, CSV or Excel). Export it from your GIS in one of these."
)
UNSAFE = (
    "The zip 楼栋.zip contains an unsafe path {member} (absolute or with '..'). Re-create the zip "
    "from the folder itself."
)
NO_LAYER_IN_ZIP = (
    "The zip 项目.zip contains no map layer (.shp, .gpkg, .geojson, .kml, .fgb) or table. Check "
    "you zipped the layer files themselves."
)
NO_CRS = (
    "Layer buildings has no coordinate reference system (no .prj or CRS). Declare it: for "
    "longitude/latitude use EPSG:4490 (CGCS2000) or EPSG:4326 (WGS84); these coordinates look "
    "like {guess}. In the CLI add --crs {guess}; in the app choose it on the Data page."
)
NOT_NUMBER = (
    "{layer}: column {column} holds text that is not a number ({examples}) (rows: {rows}). Write "
    "plain numbers in {column} (no units or words); leave a cell empty if unknown."
)
BAD_CRS_FLAG = (
    "{crs!r} (declared for layer buildings) is not a coordinate reference system gridplan knows. "
    "Give an EPSG code: EPSG:4490 for CGCS2000 longitude/latitude, or a CGCS2000 Gauss–Krüger zone "
    "such as EPSG:4548 (central meridian 117°E)."
)
WRONG_GEOMETRY = (
    "{layer}: {n} features are {found}, but this layer needs MultiPolygon/Polygon (rows: {rows}). "
    "Export the layer with the right geometry type (polygons for areas, lines for roads)."
)

ERRORS: list[Case] = [
    # -- zips: damaged, unsafe, bombs -------------------------------------------------------
    Case("zip_not_a_zip", mc.make_zip_not_a_zip, LayerReadError, DAMAGED_ZIP),
    Case("zip_truncated", mc.make_zip_truncated, LayerReadError, DAMAGED_ZIP),
    Case("zip_empty_file", mc.make_zip_empty_file, LayerReadError, "The file 楼栋.zip is empty."),
    Case("zip_empty_archive", mc.make_zip_empty_archive, LayerReadError, NO_LAYER_IN_ZIP),
    Case("zip_only_cad_and_notes", mc.make_zip_no_layers, LayerReadError, NO_LAYER_IN_ZIP),
    Case(
        "zip_path_traversal",
        mc.make_zip_traversal,
        LayerReadError,
        UNSAFE.format(member="'../../楼栋.shp'"),
    ),
    Case(
        "zip_absolute_path",
        mc.make_zip_absolute,
        LayerReadError,
        UNSAFE.format(member="'/etc/cron.d/楼栋.shp'"),
    ),
    Case(
        "zip_drive_letter",
        mc.make_zip_drive_letter,
        LayerReadError,
        UNSAFE.format(member=repr("C:\\Users\\规划科\\楼栋.shp")),
    ),
    Case(
        "zip_file_and_folder_of_the_same_name",
        mc.make_zip_file_and_folder,
        LayerReadError,
        "The zip 楼栋.zip holds '楼栋' twice (or as both a file and a folder). Re-create the zip "
        "from the folder itself.",
    ),
    Case(
        "zip_symlink",
        mc.make_zip_symlink,
        LayerReadError,
        "The zip 楼栋.zip contains a link '楼栋/楼栋.dbf'. Zip the real files instead.",
    ),
    Case(
        "zip_bomb",
        mc.make_zip_bomb,
        LayerReadError,
        "The zip 楼栋.zip expands {ratio} times, which looks like a zip bomb; it was not opened. "
        "Zip the layer files as they are.",
    ),
    Case("zip_lying_header", mc.make_zip_lying_header, LayerReadError, DAMAGED_ZIP),
    Case(
        "zip_too_many_entries",
        mc.make_zip_too_many_entries,
        LayerReadError,
        "The zip 楼栋.zip has 2001 files; at most 2000 are accepted. Upload fewer layers at once.",
    ),
    Case(
        "zip_too_big",
        mc.make_zip_too_big,
        LayerReadError,
        "The zip 楼栋.zip unpacks to 2 MB; at most 1 MB are accepted. Upload the layers in several "
        "zips, or leave out files that are not layers (imagery, CAD).",
        kwargs={"limits": ZipLimits(max_total_bytes=1024**2)},
        cli_args=None,
    ),
    Case(
        "zip_password",
        mc.make_zip_password,
        LayerReadError,
        "The zip 楼栋.zip is password-protected. Zip the files without a password.",
    ),
    Case(
        "zip_deflate64",
        mc.make_zip_deflate64,
        LayerReadError,
        "The zip 楼栋.zip uses a compression method gridplan cannot unpack (method 9, e.g. Deflate64 "
        "or PPMd). Zip the files again with ordinary compression.",
    ),
    Case(
        "zip_several_layers_as_one_layer",
        mc.make_zip_several_layers,
        LayerReadError,
        "The zip 海淀区.zip holds several layers (楼栋.shp, 社区.shp); read it as a project instead.",
        call="layer",
        cli_args=None,
    ),
    Case(
        "zip_buildings_twice",
        mc.make_zip_two_building_layers,
        LayerReadError,
        "Two files give the buildings layer (buildings.geojson and 楼栋.shp). Keep one of them.",
    ),
    Case(
        "zip_shapefile_without_dbf",
        mc.make_zip_shp_without_dbf,
        LayerReadError,
        "The shapefile 楼栋.shp has no .dbf file beside it, so it has no attributes. Add the .dbf.",
    ),
    Case(
        "zip_without_buildings",
        mc.make_zip_no_buildings,
        LayerReadError,
        "No buildings layer was found (layers found: communities, roads). Name the buildings file "
        "or layer 'buildings' or '楼栋'.",
    ),
    Case(
        "kmz_without_kml",
        mc.make_kmz_without_kml,
        LayerReadError,
        "The KMZ 楼栋.kmz holds no KML document. Export it again as KML or KMZ.",
    ),
    # -- files missing, empty, damaged, of the wrong kind ---------------------------------------
    Case(
        "missing_file",
        mc.make_missing_file,
        LayerReadError,
        "The file {tmp}/楼栋.gpkg does not exist. Check the path and the file name.",
    ),
    Case("empty_gpkg", mc.make_empty_gpkg, LayerReadError, "The file 项目.gpkg is empty."),
    Case("empty_geojson", mc.make_empty_geojson, LayerReadError, "The file 楼栋.geojson is empty."),
    Case("empty_shp", mc.make_empty_shp, LayerReadError, "The file 楼栋.shp is empty."),
    Case(
        "text_as_geojson",
        mc.make_garbage_geojson,
        LayerReadError,
        NOT_A_LAYER.format(name="楼栋.geojson"),
    ),
    Case(
        "truncated_geojson",
        mc.make_truncated_geojson,
        LayerReadError,
        "楼栋.geojson cannot be read: it is damaged or incomplete (Failed to read GeoJSON data; At "
        "line 1, character 314: Unterminated string). Export it again.",
    ),
    Case(
        "word_file_as_gpkg",
        mc.make_gpkg_not_sqlite,
        LayerReadError,
        NOT_A_LAYER.format(name="项目.gpkg"),
    ),
    Case("dwg_drawing", mc.make_dwg_renamed, LayerReadError, DWG.format(name="楼栋.dwg")),
    Case(
        "no_features",
        mc.make_empty_featurecollection,
        LayerReadError,
        "The buildings layer (楼栋.geojson) has no features. Export it again with its buildings "
        "(check that no selection or filter was active).",
    ),
    Case(
        "truncated_shp",
        mc.make_truncated_shp,
        LayerReadError,
        "楼栋.shp is incomplete: it has 120 of its 916 bytes (the copy or download was cut off). "
        "Copy the whole file again.",
    ),
    Case(
        "truncated_dbf",
        mc.make_truncated_dbf,
        LayerReadError,
        "楼栋.shp cannot be read: it is damaged or incomplete (fread(277) failed on DBF file.). "
        "Export it again.",
    ),
    Case(
        "gpkg_without_buildings",
        mc.make_gpkg_no_buildings,
        LayerReadError,
        "No buildings layer was found (layers found: communities). Name the buildings file or layer "
        "'buildings' or '楼栋'.",
    ),
    Case(
        "gpkg_missing_layer",
        mc.make_gpkg_for_missing_layer,
        LayerReadError,
        "The file 项目.gpkg has no layer called 楼栋. It has: buildings, communities.",
        call="layer",
        kwargs={"layer": "楼栋"},
        cli_args=None,
    ),
    Case(
        "buildings_without_shapes",
        mc.make_gpkg_table_as_buildings,
        LayerReadError,
        "Layer buildings has no geometry column. A map layer needs shapes, not only a table.",
    ),
    Case(
        "xlsx_broken",
        mc.make_xlsx_broken,
        LayerReadError,
        "The table 花名册.xlsx cannot be read (CalamineError). Open it in Excel/WPS and save it again "
        "as .xlsx.",
        cli_args=None,
    ),
    Case(
        "csv_utf16",
        mc.make_csv_utf16,
        LayerReadError,
        "The table 花名册.csv is neither UTF-8 nor GBK text. Save it as UTF-8 CSV.",
        cli_args=None,
    ),
    Case(
        "csv_empty",
        mc.make_csv_empty,
        LayerReadError,
        "The file 花名册.csv is empty.",
        cli_args=None,
    ),
    # -- missing fields -----------------------------------------------------------------------
    Case(
        "roster_without_key",
        mc.make_roster_without_key,
        FieldError,
        "The roster 花名册.csv has no address or building id column, so its rows cannot be matched to "
        "buildings (its columns: 姓名, 人口, 民政对象). Name a column 地址 or 楼栋编号, or choose the "
        "mapping by hand.",
        cli_args=None,
    ),
    Case(
        "mapping_names_missing_column",
        mc.make_dbf_gbk_no_cpg,
        FieldError,
        "The field mapping names a column '总户数' that the buildings layer does not have (its columns: "
        "楼栋编号, 楼栋名称, 户数, 层数, 小区名称). Choose one of its columns.",
        kwargs={"overrides": {"buildings": {"总户数": "households"}}},
        cli_args=None,
    ),
    # -- text encodings -----------------------------------------------------------------------
    Case(
        "dbf_unknown_encoding",
        mc.make_dbf_unknown_encoding,
        LayerReadError,
        "The attributes of 楼栋.shp are in an unknown text encoding (no .cpg file). Tell gridplan the "
        "encoding: --encoding gbk (Chinese Windows) or utf-8 (in the app: the text encoding on the Data page).",
    ),
    Case(
        "gbk_with_latin1_cpg",
        mc.make_dbf_wrong_cpg,
        LayerReadError,
        "The column names of 楼栋.shp look garbled (e.g. 'Â¥¶°±àºÅ'): they are probably GBK read as "
        "Latin-1. Read it again with --encoding gbk (in the app: the text encoding on the Data page), or add a .cpg file containing GBK.",
    ),
    Case(
        "gbk_read_as_utf8",
        mc.make_dbf_gbk_no_cpg,
        LayerReadError,
        "The text in 楼栋.shp is not in the encoding utf-8. Try --encoding gbk or utf-8 (in the app: the text encoding on the Data page).",
        kwargs={"encoding": "utf-8"},
        cli_args=("--encoding", "utf-8"),
    ),
    Case(
        "unknown_encoding_name",
        mc.make_dbf_gbk_no_cpg,
        LayerReadError,
        "'big-5' is not a text encoding gridplan knows. Use gbk, gb18030 or utf-8.",
        kwargs={"encoding": "big-5"},
        cli_args=("--encoding", "big-5"),
    ),
    # -- coordinate reference systems ---------------------------------------------------------
    Case("no_prj_lonlat", mc.make_no_prj_lonlat, CRSError, NO_CRS.format(guess="EPSG:4490")),
    Case(
        "no_prj_zone_prefixed",
        mc.make_no_prj_zone_prefixed,
        CRSError,
        NO_CRS.format(guess="EPSG:4527"),
    ),
    Case(
        "no_prj_cm_zone",
        mc.make_no_prj_cm,
        CRSError,
        "Layer buildings has no coordinate reference system (no .prj or CRS). Its coordinates look "
        "like metres in a CGCS2000 3-degree Gauss–Krüger zone without zone prefix (EPSG:4534–4554, "
        "one code per central meridian: EPSG:4548 is 117°E). Declare the zone of your city: in the "
        "CLI add --crs EPSG:45xx; in the app choose it on the Data page.",
    ),
    Case(
        "no_prj_local_cad_grid",
        mc.make_no_prj_local_grid,
        CRSError,
        "Layer buildings has no coordinate reference system, and its coordinates (x 3224 to 3430, "
        "y 2762 to 2919) are neither longitude/latitude nor Gauss–Krüger metres: probably a local "
        "(CAD or city) grid. Ask the surveyor which CRS it is, or georeference the layer in your "
        "GIS, then declare the CRS.",
    ),
    Case(
        "lonlat_crs_with_metres",
        mc.make_lonlat_declared_metres,
        CRSError,
        "Layer buildings says it is in longitude/latitude (China Geodetic Coordinate System 2000) but "
        "its coordinates are metres (x from 440224). Set its real projected CRS in your GIS (QGIS: "
        "Set Layer CRS; ArcGIS: Define Projection), e.g. a CGCS2000 Gauss–Krüger zone (EPSG:4534–4554, "
        "or EPSG:4513–4533 with zone-prefixed X).",
    ),
    Case(
        "lat_lon_swapped",
        mc.make_latlon_swapped,
        CRSError,
        "Layer buildings has coordinates outside the longitude/latitude range (x 40.0000 to 40.0014, "
        "y 116.3000 to 116.3024). If X holds the latitude and Y the longitude, swap them in your GIS; "
        "otherwise declare the layer's real CRS.",
    ),
    Case(
        "zone_crs_without_prefix",
        mc.make_prefixed_crs_without_prefix,
        CRSError,
        "Layer buildings is declared as CGCS2000 / 3-degree Gauss-Kruger zone 39, whose X values carry "
        "a zone prefix, but its X values (440224) have none. Declare the matching CM zone instead "
        "(EPSG:4534–4554).",
    ),
    Case(
        "projected_xy_swapped",
        mc.make_projected_xy_swapped,
        CRSError,
        "Layer buildings in CGCS2000 / 3-degree Gauss-Kruger CM 117E lands outside China (longitude "
        "150.31, latitude 3.32). The declared CRS is probably wrong, or X and Y are swapped.",
    ),
    Case(
        "zone_prefix_not_in_china",
        mc.make_zone_not_in_china,
        CRSError,
        "Easting 50440224 starts with zone 50, which is not a Gauss–Krüger zone over China (3° zones "
        "25–45, 6° zones 13–23). Check the X/Y columns are not swapped.",
    ),
    Case(
        "crs_flag_unknown_code",
        mc.make_no_prj_lonlat,
        CRSError,
        BAD_CRS_FLAG.format(crs="EPSG:999999"),
        kwargs={"crs": "EPSG:999999"},
        cli_args=("--crs", "EPSG:999999"),
    ),
    Case(
        "crs_flag_not_a_crs",
        mc.make_no_prj_lonlat,
        CRSError,
        BAD_CRS_FLAG.format(crs="北京54"),
        kwargs={"crs": "北京54"},
        cli_args=("--crs", "北京54"),
    ),
    # -- values and shapes: errors in the validation report -------------------------------------
    Case(
        "households_in_words",
        mc.make_households_text,
        ValidationError,
        NOT_NUMBER.format(
            layer="buildings",
            column="households",
            examples="'约50户', '四十多'",
            rows="HD-002, HD-004",
        ),
        call="load",
    ),
    Case(
        "households_negative",
        mc.make_households_negative,
        ValidationError,
        "buildings: column households has negative values (rows: HD-003). Counts cannot be negative: "
        "correct households in these rows.",
        call="load",
    ),
    Case(
        "floors_with_unit",
        mc.make_floors_text,
        ValidationError,
        NOT_NUMBER.format(
            layer="buildings", column="floors", examples="'6层'", rows="HD-001, HD-005"
        ),
        call="load",
    ),
    Case(
        "staff_with_unit",
        mc.make_staff_text,
        ValidationError,
        NOT_NUMBER.format(
            layer="communities", column="staff", examples="'9人'", rows="110108008002"
        ),
        call="load",
    ),
    Case(
        "roster_residents_in_words",
        mc.make_roster_text_in_numbers,
        ValidationError,
        NOT_NUMBER.format(layer="roster", column="residents", examples="'三口人'", rows="#1"),
        call="load",
        cli_args=None,
    ),
    Case(
        "several_problems_at_once",
        mc.make_several_value_problems,
        ValidationError,
        NOT_NUMBER.format(
            layer="buildings", column="households", examples="'约50户'", rows="HD-002"
        )
        + " (3 problems in all)",
        call="load",
    ),
    Case(
        "community_without_id",
        mc.make_community_without_id,
        ValidationError,
        "communities: 1 communities have no community_id, so no building can be counted in them "
        "(rows: 五道口社区). Fill in community_id for these rows, or delete the column to have ids "
        "generated.",
        call="load",
    ),
    Case(
        "households_infinite",
        mc.make_households_infinite,
        ValidationError,
        NOT_NUMBER.format(layer="buildings", column="households", examples="'inf'", rows="HD-002"),
        call="load",
    ),
    Case(
        "duplicate_community_ids",
        mc.make_duplicate_community_ids,
        ValidationError,
        "communities: 1 ids are used by more than one feature (rows: 110108008001). Give every feature "
        "in communities its own community_id.",
        call="load",
    ),
    Case(
        "overlapping_communities",
        mc.make_overlapping_communities,
        ValidationError,
        "communities: 1 pairs of communities overlap (rows: 110108008001×110108008002 (5689 m²)). "
        "Each place must belong to one community: remove the overlaps in your GIS.",
        call="load",
    ),
    Case(
        "buildings_as_points",
        mc.make_buildings_as_points,
        ValidationError,
        WRONG_GEOMETRY.format(
            layer="buildings",
            n=6,
            found="Point",
            rows="HD-001, HD-002, HD-003, HD-004, HD-005, HD-006",
        ),
        call="load",
    ),
    Case(
        "communities_as_lines",
        mc.make_communities_as_lines,
        ValidationError,
        WRONG_GEOMETRY.format(
            layer="communities", n=2, found="LineString", rows="110108008001, 110108008002"
        ),
        call="load",
    ),
    Case(
        "no_building_has_a_shape",
        mc.make_all_geometry_empty,
        ValidationError,
        "buildings: no building has a usable shape. Check the buildings layer is the right file and has "
        "polygons.",
        call="load",
    ),
]


def _zip_ratio(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    return f"{sum(i.file_size for i in infos) / sum(i.compress_size for i in infos):.0f}"


def _expected(case: Case, tmp: Path, source: Any) -> str:
    text = case.message.replace("{tmp}", str(tmp))
    if "{ratio}" in text:
        text = text.replace("{ratio}", _zip_ratio(source))
    return text


def test_the_corpus_is_big_enough():
    assert len(ERRORS) + len(WARNINGS) >= 40
    assert len({c.id for c in ERRORS} | {c.id for c in WARNINGS}) == len(ERRORS) + len(WARNINGS)


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.id)
def test_bad_input_has_one_clear_message(case: Case, tmp_path: Path):
    source = case.make(tmp_path)
    with pytest.raises(GridplanError) as info:
        CALLS[case.call](source, **case.kwargs)
    err = info.value
    assert type(err) is case.error
    assert str(err) == _expected(case, tmp_path, source)
    assert err.render("en") == str(err)
    assert "\n" not in str(err)


CLI_CASES = [c for c in ERRORS if c.cli_args is not None]


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.id)
def test_cli_exits_2_with_the_message_on_one_line(case: Case, tmp_path: Path, capsys):
    source = case.make(tmp_path)
    code = cli.main(["check", str(source), "--lang", "en", "--quiet", *case.cli_args])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    first, *more = err.splitlines()
    assert first == f"gridplan: {_expected(case, tmp_path, source)}"
    # every further problem of the same input follows on a line of its own
    assert len(more) == (2 if case.id == "several_problems_at_once" else 0)
    assert all(line.startswith("gridplan: ") for line in more)


ZH_SAMPLE = [
    "zip_path_traversal",
    "zip_bomb",
    "no_prj_zone_prefixed",
    "gbk_with_latin1_cpg",
    "households_in_words",
    "missing_file",
]


@pytest.mark.parametrize("case", [c for c in ERRORS if c.id in ZH_SAMPLE], ids=lambda c: c.id)
def test_message_renders_in_chinese(case: Case, tmp_path: Path):
    source = case.make(tmp_path)
    with pytest.raises(GridplanError) as info:
        CALLS[case.call](source, **case.kwargs)
    text = info.value.render("zh_CN")
    assert isinstance(text, str) and text.strip()
    assert "{" not in text.replace("{tmp}", "")  # every placeholder was filled


def test_validation_error_lists_every_problem(tmp_path: Path):
    with pytest.raises(ValidationError) as info:
        load(mc.make_several_value_problems(tmp_path))
    codes = [(p.layer, p.code, p.params.get("column")) for p in info.value.report.errors]
    assert codes == [
        ("buildings", "not_numeric", "households"),
        ("buildings", "negative", "households"),
        ("communities", "not_numeric", "staff"),
    ]


def test_zip_traversal_writes_nothing_outside(tmp_path: Path):
    source = mc.make_zip_traversal(tmp_path / "in")
    with pytest.raises(LayerReadError):
        read_project(source)
    assert not (tmp_path / "楼栋.shp").exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["楼栋.zip"]


# -- warnings: repaired or tolerated, one exact report entry each ---------------------------------
@dataclass(frozen=True)
class Warn:
    id: str
    make: Callable[[Path], Any]
    code: str
    message: str
    check: Callable[[Any], bool] = lambda project: True


def _all_valid(project) -> bool:
    return bool(shapely.is_valid(project.buildings.geometry.values).all())


def _unique_ids(project) -> bool:
    ids = project.buildings["building_id"]
    return ids.is_unique and sorted(ids)[:3] == ["HD-001-1", "HD-001-2", "HD-002-1"]


WARNINGS: list[Warn] = [
    Warn(
        "invalid_geometry_repaired",
        mc.make_invalid_geometry,
        "invalid_geometry",
        "buildings: 2 features had invalid geometry (self-intersections or bad rings) and were repaired "
        "(rows: HD-002, HD-005). Check the repaired shapes; fix them in your GIS if they look wrong.",
        _all_valid,
    ),
    Warn(
        "duplicate_building_ids_renumbered",
        mc.make_duplicate_building_ids,
        "duplicate_id",
        "buildings: 2 ids are used by more than one building; they were numbered -1, -2… (rows: HD-001, "
        "HD-002). Give every building its own id if the renumbering is not what you want.",
        _unique_ids,
    ),
    Warn(
        "buildings_outside_communities",
        mc.make_buildings_outside,
        "outside",
        "buildings: 2 buildings lie outside every community and are left out of community totals "
        "(rows: HD-005, HD-006). Extend the community boundaries to cover them, or delete buildings "
        "outside the study area.",
    ),
    Warn(
        "gap_between_communities",
        mc.make_community_gap,
        "gap",
        "communities: 1 gaps lie between communities (places no community covers) (rows: 1896 m² @ "
        "440468,4429840). Extend a neighbouring community over each gap so the coverage is seamless.",
    ),
    Warn(
        "layers_in_different_crs",
        mc.make_mixed_crs,
        "mixed_crs",
        "project: the layers came in different coordinate systems; all were converted to EPSG:4490 "
        "(rows: buildings: EPSG:4490, communities: EPSG:4548). Check the layers line up on the map; if "
        "one is off, declare its real CRS.",
        lambda project: project.communities.crs.to_epsg() == 4490,
    ),
    Warn(
        "buildings_name_an_unknown_community",
        mc.make_unknown_community_ids,
        "unknown_community",
        "buildings: 2 buildings name a community_id that no community has (110108008099) and are "
        "left out of community totals (rows: HD-005, HD-006). Correct their community_id, or add the "
        "missing community.",
    ),
    Warn(
        "missing_shape_left_out",
        mc.make_some_geometry_empty,
        "empty_geometry",
        "buildings: 1 features have no or empty geometry and were left out (rows: HD-003). Draw their "
        "shapes or delete the rows in your GIS.",
        lambda project: (
            len(project.buildings) == 5 and "HD-003" not in set(project.buildings["building_id"])
        ),
    ),
]


@pytest.mark.parametrize("case", WARNINGS, ids=lambda c: c.id)
def test_tolerated_problem_is_one_exact_warning(case: Warn, tmp_path: Path):
    project, report = validate_project(read_project(case.make(tmp_path)))
    frame = report.to_frame("en")
    assert report.ok, frame["message"].tolist()
    assert frame["message"].tolist() == [case.message]
    assert frame["severity"].tolist() == ["warning"]
    assert frame["code"].tolist() == [case.code]
    assert report.problems[0].render("en") == case.message
    assert report.problems[0].render("zh_CN").strip()
    assert case.check(project)


@pytest.mark.parametrize("case", WARNINGS[:3], ids=lambda c: c.id)
def test_tolerated_problem_does_not_stop_the_cli(case: Warn, tmp_path: Path, capsys):
    import json

    code = cli.main(["check", str(case.make(tmp_path)), "--lang", "en", "--quiet", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert case.message in json.loads(out)["problems"]


def test_repaired_bowtie_keeps_its_area(tmp_path: Path):
    project, _ = validate_project(read_project(mc.make_invalid_geometry(tmp_path)))
    repaired = project.buildings.set_index("building_id").geometry
    # A bow-tie repairs into its two triangles: half the square it was meant to be.
    assert np.isclose(repaired["HD-002"].area, mc.SIZE**2 / 2)
    assert repaired["HD-002"].geom_type == "MultiPolygon"
