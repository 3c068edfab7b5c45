"""Inputs where households get lost, invented or misplaced unless gridplan accounts for them.

Every ``make_*`` writes one project under ``d`` and returns what to load. The base is the
corpus' six buildings (楼栋编号 HD-001…HD-006, 户数 48 54 60 66 48 54 = 330 households) in
two communities (110108008001 west: HD-001 and HD-004, 114 households; 110108008002 east:
the other four, 216 households), around Tsinghua in EPSG:4490.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bad_inputs.make_corpus import (
    LAT0,
    LON0,
    SIZE,
    STEP,
    box,
    buildings,
    communities,
    gpkg,
    shift_coords,
    write_shp,
)

WEST, EAST = "110108008001", "110108008002"
BASE = {WEST: 114, EAST: 216}
"""Households per community of the untouched base project."""


def project(
    d: Path,
    b: gpd.GeoDataFrame | None = None,
    c: gpd.GeoDataFrame | None = None,
    *,
    extra: dict[str, gpd.GeoDataFrame] | None = None,
    name: str = "项目.gpkg",
) -> Path:
    """A GeoPackage with 楼栋 and 社区 layers (and ``extra`` layers)."""
    layers: dict[str, Any] = {"楼栋": buildings() if b is None else b}
    layers["社区"] = communities() if c is None else c
    layers.update(extra or {})
    return gpkg(d / name, layers)


def folder(d: Path, b: gpd.GeoDataFrame | None = None, **tables: Any) -> Path:
    """A folder with 楼栋.gpkg, 社区.gpkg and roster files (``{file name: writer}``)."""
    out = d / "项目"
    out.mkdir(parents=True, exist_ok=True)
    gpkg(out / "楼栋.gpkg", {"楼栋": buildings() if b is None else b})
    gpkg(out / "社区.gpkg", {"社区": communities()})
    for file_name, write in tables.items():
        write(out / file_name.replace("__", "."))
    return out


def xlsx(rows: list[list[Any]], *, sheets: Iterable[str] = (), merges: Iterable[str] = ()):
    """A writer of an .xlsx: ``rows`` on the last sheet, empty ``sheets`` before it."""

    def write(path: Path) -> None:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path))
        for name in sheets:
            other = book.add_worksheet(name)
            other.write_row(0, 0, ["说明", "本表为花名册"])
        sheet = book.add_worksheet("花名册")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
        for cells in merges:
            first = cells.split(":")[0]
            col, row = ord(first[0]) - 65, int(first[1:]) - 1
            sheet.merge_range(cells, rows[row][col])
        book.close()

    return write


def csv(text: str, *, encoding: str = "utf-8", bom: bool = False):
    def write(path: Path) -> None:
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))

    return write


def households_roster(ids: Iterable[str], counts: Iterable[int]) -> list[list[Any]]:
    """One row per household: 楼栋编号, 房号."""
    rows: list[list[Any]] = [["楼栋编号", "房号", "人口"]]
    for building, n in zip(ids, counts, strict=True):
        rows.extend([building, f"{101 + i}", 2] for i in range(n))
    return rows


# -- households lost or invented ------------------------------------------------------------
def make_zero_area_building(d: Path) -> Path:
    b = buildings()
    x, y = LON0 + STEP, LAT0
    b.loc[1, "geometry"] = shapely.Polygon([(x, y), (x + SIZE, y), (x + 2 * SIZE, y), (x, y)])
    return project(d, b)


def make_nan_vertex(d: Path) -> Path:
    b = buildings()
    x, y = LON0 + STEP, LAT0
    b.loc[1, "geometry"] = shapely.Polygon([(x, y), (np.nan, y + SIZE), (x + SIZE, y), (x, y)])
    return project(d, b)


def make_infinite_vertex(d: Path) -> Path:
    b = buildings()
    x, y = LON0 + STEP, LAT0
    b.loc[1, "geometry"] = shapely.Polygon([(x, y), (np.inf, y + SIZE), (x + SIZE, y), (x, y)])
    return project(d, b)


def make_same_building_twice(d: Path, *, same_id: bool = True, shift: float = 0.0) -> Path:
    b = buildings()
    copy = b.iloc[[2]].copy()
    copy["楼栋编号"] = "HD-003" if same_id else "HD-103"
    copy.geometry = copy.geometry.translate(shift, 0)
    return project(d, pd.concat([b, copy], ignore_index=True))


def make_touching_neighbours(d: Path) -> Path:
    """Two halves of a slab sharing a wall: two buildings, not one drawn twice."""
    b = buildings()
    x, y = LON0 + STEP, LAT0
    half = SIZE / 2
    b.loc[1, "geometry"] = shapely.box(x, y, x + half, y + SIZE)
    extra = b.iloc[[1]].copy()
    extra["楼栋编号"], extra["户数"] = "HD-002b", 30
    extra.geometry = [shapely.box(x + half, y, x + SIZE, y + SIZE)]
    return project(d, pd.concat([b, extra], ignore_index=True))


def make_outside(d: Path) -> Path:
    b = buildings()
    b.loc[5, "geometry"] = box(1, 6)
    return project(d, b)


def make_unknown_community(d: Path) -> Path:
    b = buildings(社区编码=[WEST, EAST, EAST, WEST, EAST, "110108008099"])
    return project(d, b)


def make_point_among_buildings(d: Path) -> Path:
    """30 buildings and one of them a point (a label placed as a feature)."""
    n = 30
    b = buildings(n)
    b.geometry = [box(i % 3, i // 3, size=SIZE / 2) for i in range(n)]
    b.loc[7, "geometry"] = shapely.Point(LON0 + STEP, LAT0 + 2 * STEP)
    c = communities()
    c.geometry = [
        shapely.box(LON0 - 0.0005, LAT0 - 0.0005, LON0 + 0.0007, LAT0 + 10 * STEP),
        shapely.box(LON0 + 0.0007, LAT0 - 0.0005, LON0 + 3 * STEP, LAT0 + 10 * STEP),
    ]
    return project(d, b, c)


def make_collection_with_polygon(d: Path) -> Path:
    b = buildings()
    poly = b.geometry.iloc[1]
    b.loc[1, "geometry"] = shapely.GeometryCollection([poly, shapely.Point(poly.centroid)])
    path = d / "项目"
    path.mkdir(parents=True, exist_ok=True)
    (path / "楼栋.geojson").write_text(b.to_json(ensure_ascii=False), encoding="utf-8")
    gpkg(path / "社区.gpkg", {"社区": communities()})
    return path


def make_fractional(d: Path) -> Path:
    return project(d, buildings(户数=[48.5, 54, 60.4, 66, 48, 54]))


def make_households(d: Path, *values: Any) -> Path:
    return project(d, buildings(户数=list(values)))


def make_empty_households_column(d: Path) -> Path:
    b = buildings()
    b.insert(0, "households", [None] * len(b))
    return project(d, b)


def make_unit_in_brackets(d: Path) -> Path:
    b = buildings().rename(columns={"户数": "户数(户)", "层数": "层数（层）"})
    return project(d, b)


def make_floors_in_brackets_only(d: Path) -> Path:
    b = buildings().drop(columns="户数").rename(columns={"层数": "层数（层）"})
    return project(d, b)


def make_kml(d: Path, *, encoding: str = "UTF-8") -> Path:
    b = buildings()
    placemarks = []
    for row in b.itertuples():
        x0, y0, x1, y1 = row.geometry.bounds
        coords = f"{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1} {x0},{y0}"
        placemarks.append(
            f"<Placemark><name>{row.楼栋名称}</name><ExtendedData>"
            f'<Data name="楼栋编号"><value>{row.楼栋编号}</value></Data>'
            f'<Data name="户数"><value>{row.户数}</value></Data>'
            f'<Data name="层数"><value>{row.层数}</value></Data></ExtendedData>'
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates>"
            "</LinearRing></outerBoundaryIs></Polygon></Placemark>"
        )
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        + "".join(placemarks)
        + "</Document></kml>"
    )
    path = d / "项目"
    path.mkdir(parents=True, exist_ok=True)
    codec = "gb18030" if encoding.upper() in {"GBK", "GB2312", "GB18030"} else "utf-8"
    (path / "楼栋.kml").write_bytes(text.encode(codec))
    gpkg(path / "社区.gpkg", {"社区": communities()})
    return path


def make_geojson_gbk(d: Path) -> Path:
    path = d / "项目"
    path.mkdir(parents=True, exist_ok=True)
    (path / "楼栋.geojson").write_bytes(buildings().to_json(ensure_ascii=False).encode("gbk"))
    gpkg(path / "社区.gpkg", {"社区": communities()})
    return path


def make_flag(d: Path, flags: list[Any], counts: list[Any] | None = None) -> Path:
    b = buildings(是否住宅=flags)
    b["户数"] = counts if counts is not None else [None] * len(b)
    return project(d, b)


def make_use(d: Path, column: str, uses: list[Any]) -> Path:
    b = buildings(**{column: uses})
    b["户数"] = [None] * len(b)
    return project(d, b)


def make_no_use_at_all(d: Path) -> Path:
    b = buildings()
    b["户数"] = [None] * len(b)
    return project(d, b)


def make_official(d: Path, official: list[Any]) -> Path:
    return project(d, c=communities(户数=official))


# -- rosters ----------------------------------------------------------------------------------
def _without_counts(ids: list[str] | None = None) -> gpd.GeoDataFrame:
    b = buildings()
    b["户数"] = [None] * len(b)
    if ids is not None:
        b["楼栋编号"] = ids
    return b


def make_roster(d: Path, rows: list[list[Any]], *, ids: list[str] | None = None, **options: Any):
    return folder(d, _without_counts(ids), 花名册__xlsx=xlsx(rows, **options))


def make_roster_csv(d: Path, text: str, *, ids: list[str] | None = None, **options: Any):
    return folder(d, _without_counts(ids), 花名册__csv=csv(text, **options))


def make_roster_over_given(d: Path) -> Path:
    rows = households_roster(["HD-001"], [50])
    return folder(d, buildings(), 花名册__xlsx=xlsx(rows))


def make_several_buildings_one_address(d: Path) -> Path:
    b = _without_counts()
    b["地址"] = ["成府路1号", "成府路1号", "成府路3号", "成府路4号", "成府路5号", "成府路6号"]
    b = b.drop(columns="楼栋编号")
    rows = [["地址", "户数"], ["成府路1号", 40], ["成府路3号", 60]]
    return folder(d, b, 花名册__xlsx=xlsx(rows))


# -- places -----------------------------------------------------------------------------------
def make_prj_says_metres(d: Path) -> Path:
    b = buildings().set_crs("EPSG:4548", allow_override=True)  # degrees under a GK .prj
    return write_shp(b, d / "shp", "楼栋")


def make_web_mercator_without_prj(d: Path) -> Path:
    b = buildings(crs="EPSG:3857")
    return write_shp(b, d / "shp", "楼栋", drop=(".prj",))


def make_gcj_buildings(d: Path, *, shifted: bool = True) -> Path:
    """Buildings traced on AMap (GCJ-02) in communities drawn in CGCS2000, labelled WGS84."""
    from gis.gcj import wgs_to_gcj

    n = 60
    b = buildings(n)
    b.geometry = [box(i % 6, i // 6, size=SIZE / 2) for i in range(n)]
    if shifted:
        b.geometry = wgs_to_gcj(b.geometry.values)
    cells = [
        shapely.box(LON0 - 0.0003 + 2 * STEP * k, LAT0 - 0.0003, LON0 - 0.0003 + 2 * STEP * (k + 1), LAT0 + 10 * STEP)
        for k in range(3)
    ]
    c = gpd.GeoDataFrame(
        {"社区编码": [f"11010800800{k + 1}" for k in range(3)]}, geometry=cells, crs=4490
    )
    return project(d, b.set_crs(4326, allow_override=True), c)


def make_boundary_building(d: Path) -> Path:
    """HD-002 straddles the boundary between the two communities (60 % in the east)."""
    b = buildings()
    boundary = LON0 + 0.0007
    b.loc[1, "geometry"] = shapely.box(boundary - 0.4 * SIZE, LAT0, boundary + 0.6 * SIZE, LAT0 + SIZE)
    return project(d, b)


def make_empty_communities(d: Path) -> Path:
    return project(d, c=communities().iloc[0:0])


def make_zero_area_community(d: Path) -> Path:
    c = communities()
    x = LON0 + 3 * STEP
    extra = c.iloc[[0]].copy()
    extra["社区编码"], extra["社区名称"] = "110108008003", "零面积社区"
    extra.geometry = [shapely.Polygon([(x, LAT0), (x + 0.001, LAT0), (x + 0.002, LAT0), (x, LAT0)])]
    return project(d, c=pd.concat([c, extra], ignore_index=True))


def make_sliver_overlap(d: Path, *, metres: float) -> Path:
    """The west community reaches ``metres`` into the east one (the full height, ~330 m)."""
    c = communities()
    west = c.geometry.iloc[0]
    x0, y0, x1, y1 = west.bounds
    c.loc[0, "geometry"] = shapely.box(x0, y0, x1 + metres / 85_000, y1)
    return project(d, c=c)


def make_sliver_gap(d: Path, *, metres: float) -> Path:
    """A strip ``metres`` wide and 100 m long between the two communities."""
    c = communities()
    boundary = LON0 + 0.0007
    strip = shapely.box(boundary, LAT0 + 0.0008, boundary + metres / 85_000, LAT0 + 0.0017)
    c.loc[1, "geometry"] = c.geometry.iloc[1].difference(strip)
    return project(d, c=c)


def make_extra_layers(d: Path, *names: str) -> Path:
    """The base project and point layers with the given names (clinics, gates…)."""
    points = gpd.GeoDataFrame(
        {"名称": [f"点{i}" for i in range(3)]},
        geometry=[shapely.Point(LON0 + 0.0002 * i, LAT0 + 0.0025) for i in range(3)],
        crs=4490,
    )
    return project(d, extra={name: points for name in names})


def make_layer_named(d: Path, name: str) -> Path:
    return gpkg(d / "项目.gpkg", {name: buildings(), "社区": communities()})


def make_duplicate_dbf_field(d: Path, second: str = "户数") -> Path:
    """A shapefile whose .dbf names two fields alike (edited by hand)."""
    b = buildings(备注=["a"] * 6, 备用=[1, 2, 3, 4, 5, 6])
    path = write_shp(b, d / "shp", "楼栋")
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    name = second.encode("utf-8").ljust(11, b"\x00")
    data[32 + 32 * 6 : 32 + 32 * 6 + 11] = name  # the 7th field, 备用
    dbf.write_bytes(bytes(data))
    return path


def make_json_as_path(d: Path) -> str:
    """A whole GeoJSON passed where a file name belongs (an upload handed over as text)."""
    return json.dumps(json.loads(buildings().to_json())) * 50
