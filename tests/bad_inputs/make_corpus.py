"""Generate gridplan's corpus of bad inputs (and a few good ones) into a directory.

Every ``make_*`` function writes one input under the directory ``d`` it is given and
returns what to pass to the reader: a path, or a ``{layer: path}`` mapping. Nothing is
committed: the tests call these functions into ``tmp_path`` at run time. The data are
small but realistic: buildings with Chinese field names (楼栋编号, 户数, 层数…) around
Tsinghua/Wudaokou in Beijing (116.30°E, 40.00°N), in EPSG:4490, in the CGCS2000
Gauss–Krüger zone CM 117E (EPSG:4548) or with zone-prefixed eastings (EPSG:4527,
39 4xx xxx).
"""

from __future__ import annotations

import json
import random
import stat
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# --------------------------------------------------------------------------------------
# realistic layers
# --------------------------------------------------------------------------------------
LON0, LAT0 = 116.300, 40.000
STEP = 0.001  # ≈ 85 m east–west, 111 m north–south
SIZE = 0.0004  # a 34 m × 44 m block of flats

COMPOUNDS = ("清华园", "荷清苑", "五道口嘉园")


def box(col: int, row: int, size: float = SIZE) -> shapely.Polygon:
    """A building footprint in the grid of blocks around Tsinghua (lon/lat)."""
    x, y = LON0 + col * STEP, LAT0 + row * STEP
    return shapely.box(x, y, x + size, y + size)


def buildings(
    n: int = 6, *, crs: str | int | None = "EPSG:4490", **columns: Iterable
) -> gpd.GeoDataFrame:
    """``n`` buildings with the field names a Haidian street office uses.

    Extra keyword arguments replace or add columns (``户数=[...]``).
    """
    data: dict[str, list] = {
        "楼栋编号": [f"HD-{i + 1:03d}" for i in range(n)],
        "楼栋名称": [f"{i + 1}号楼" for i in range(n)],
        "户数": [48 + 6 * (i % 4) for i in range(n)],
        "层数": [6 if i % 3 else 18 for i in range(n)],
        "小区名称": [COMPOUNDS[i % len(COMPOUNDS)] for i in range(n)],
    }
    for name, values in columns.items():
        data[name] = list(values)
    geometry = [box(i % 3, i // 3) for i in range(n)]
    gdf = gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4490")
    return _reproject(gdf, crs)


def communities(
    *,
    crs: str | int | None = "EPSG:4490",
    overlap: bool = False,
    gap: bool = False,
    **columns: Iterable,
) -> gpd.GeoDataFrame:
    """Two neighbouring communities (社区) that cover the buildings of :func:`buildings`.

    The boundary runs between the first and second column of buildings. ``overlap``
    pushes the western community 17 m into the eastern one; ``gap`` cuts a hole that no
    community covers (a 单位大院 left out of the eastern community).
    """
    south, north = LAT0 - 0.0005, LAT0 + 2 * STEP + 0.0005
    boundary = LON0 + 0.0007
    west = shapely.box(LON0 - 0.0005, south, boundary + (0.0002 if overlap else 0.0), north)
    east = shapely.box(boundary, south, LON0 + 3 * STEP + 0.0005, north)
    if gap:
        east = east.difference(
            shapely.box(LON0 + 0.0026, LAT0 + 0.0005, LON0 + 0.0031, LAT0 + 0.0009)
        )
    data: dict[str, list] = {
        "社区编码": ["110108008001", "110108008002"],
        "社区名称": ["清华园社区", "五道口社区"],
        "街道": ["清华园街道", "清华园街道"],
        "社工人数": [12, 9],
    }
    for name, values in columns.items():
        data[name] = list(values)
    gdf = gpd.GeoDataFrame(data, geometry=[west, east], crs="EPSG:4490")
    return _reproject(gdf, crs)


def _reproject(gdf: gpd.GeoDataFrame, crs: str | int | None) -> gpd.GeoDataFrame:
    if crs is None:
        return gdf.set_crs(None, allow_override=True)
    return gdf.to_crs(crs)


def shift_coords(
    gdf: gpd.GeoDataFrame, func: Callable[[float, float], tuple[float, float]]
) -> gpd.GeoDataFrame:
    """Apply ``func(x, y) -> (x, y)`` to every vertex, keeping the declared CRS."""
    out = gdf.copy()
    out.geometry = shapely.transform(out.geometry.values, lambda xy: _apply(func, xy))
    return out


def _apply(func: Callable[[float, float], tuple[float, float]], xy: np.ndarray) -> np.ndarray:
    return np.array([func(x, y) for x, y in xy])


# --------------------------------------------------------------------------------------
# file helpers
# --------------------------------------------------------------------------------------
def write_shp(
    gdf: gpd.GeoDataFrame,
    folder: Path,
    stem: str,
    *,
    encoding: str = "UTF-8",
    drop: Iterable[str] = (),
) -> Path:
    """Write a shapefile (``encoding`` for the .dbf) and delete the ``drop`` sidecars."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.shp"
    gdf.to_file(path, driver="ESRI Shapefile", encoding=encoding)
    for suffix in drop:
        (folder / f"{stem}{suffix}").unlink(missing_ok=True)
    return path


def shp_members(path: Path) -> dict[str, bytes]:
    """The files of a shapefile (``.shp``, ``.shx``, ``.dbf``…) by file name."""
    return {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.stem + ".*"))}


def write_zip(
    path: Path,
    members: Mapping[str, bytes],
    *,
    cp936_names: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a zip; with ``cp936_names`` the member names are stored the way Chinese Windows does.

    Windows' "发送到 → 压缩(zipped)文件夹" writes CP936 bytes without the UTF-8 flag.
    Python's zipfile cannot, so the members are written under ASCII placeholders of the same
    byte length, which are then overwritten with the CP936 bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    placeholders: dict[bytes, bytes] = {}
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for i, (name, data) in enumerate(members.items()):
            stored = name
            if cp936_names:
                raw = name.encode("gbk")
                stored = f"~{i:04d}~".ljust(len(raw), "~")[: len(raw)]
                placeholders[stored.encode("ascii")] = raw
            info = zipfile.ZipInfo(stored, date_time=(2024, 3, 1, 9, 30, 0))
            info.compress_type = compression
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    if placeholders:
        data = path.read_bytes()
        for placeholder, raw in placeholders.items():
            assert data.count(placeholder) == 2, "placeholder must be unique"
            data = data.replace(placeholder, raw)
        path.write_bytes(data)
    return path


def _patch_headers(path: Path, flags: Callable[[int], int]) -> None:
    """Change the general-purpose flags of every local and central header."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            (value,) = struct.unpack_from("<H", data, at + offset)
            struct.pack_into("<H", data, at + offset, flags(value))
            start = at + 4
    path.write_bytes(bytes(data))


def gpkg(path: Path, layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]) -> Path:
    """Write a GeoPackage with several layers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_file(path, layer=name, driver="GPKG")
        else:
            import pyogrio

            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")
    return path


def geojson_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    return gdf.to_json(ensure_ascii=False).encode("utf-8")


def shapefile_zip_members(
    gdf: gpd.GeoDataFrame,
    stem: str,
    scratch: Path,
    *,
    folder: str = "",
    encoding: str = "UTF-8",
    drop: Iterable[str] = (),
) -> dict[str, bytes]:
    """The members of a zipped shapefile, optionally under ``folder/``."""
    shp = write_shp(gdf, scratch / f"_{stem}_{encoding}", stem, encoding=encoding, drop=drop)
    prefix = f"{folder}/" if folder else ""
    return {prefix + name: data for name, data in shp_members(shp).items()}


# --------------------------------------------------------------------------------------
# zip and archive problems
# --------------------------------------------------------------------------------------
def make_zip_not_a_zip(d: Path) -> Path:
    """A .zip that is an HTML error page (a failed download from the OA system)."""
    path = d / "楼栋.zip"
    path.write_text("<html><body>404 文件不存在</body></html>", encoding="utf-8")
    return path


def make_zip_truncated(d: Path) -> Path:
    """A shapefile zip cut off half way (an interrupted WeChat transfer)."""
    full = write_zip(d / "full.zip", shapefile_zip_members(buildings(), "楼栋", d))
    data = full.read_bytes()
    full.unlink()
    path = d / "楼栋.zip"
    path.write_bytes(data[: len(data) // 2])
    return path


def make_zip_empty_file(d: Path) -> Path:
    """A zero-byte .zip."""
    path = d / "楼栋.zip"
    path.write_bytes(b"")
    return path


def make_zip_empty_archive(d: Path) -> Path:
    """A valid zip with no files in it."""
    return write_zip(d / "项目.zip", {})


def make_zip_no_layers(d: Path) -> Path:
    """A zip holding only a CAD drawing and a note: no map layer."""
    return write_zip(
        d / "项目.zip",
        {"说明.txt": "楼栋图见CAD".encode(), "总平面图.dwg": b"AC1032" + bytes(200)},
    )


def make_zip_traversal(d: Path) -> Path:
    """A member that climbs out of the extraction folder (``../``)."""
    return write_zip(d / "楼栋.zip", {"../../楼栋.shp": b"\x00" * 100})


def make_zip_absolute(d: Path) -> Path:
    """A member with an absolute path."""
    return write_zip(d / "楼栋.zip", {"/etc/cron.d/楼栋.shp": b"\x00" * 100})


def make_zip_drive_letter(d: Path) -> Path:
    """A member with a Windows drive letter, as some Windows zippers write."""
    return write_zip(d / "楼栋.zip", {"C:\\Users\\规划科\\楼栋.shp": b"\x00" * 100})


def make_zip_file_and_folder(d: Path) -> Path:
    """A member named like the folder that holds the others (a hand-edited zip)."""
    members = shapefile_zip_members(buildings(), "楼栋", d, folder="楼栋")
    return write_zip(d / "楼栋.zip", {"楼栋": b"", **members})


def make_zip_symlink(d: Path) -> Path:
    """A symbolic link member pointing at a system file."""
    path = d / "楼栋.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("楼栋/楼栋.dbf")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return path


BOMB_BYTES = 12 * 1024**2


def make_zip_bomb(d: Path) -> Path:
    """12 MB of zeros deflated to about 12 kB (ratio ≈ 1000)."""
    path = d / "楼栋.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("楼栋.geojson", bytes(BOMB_BYTES))
    return path


def make_zip_lying_header(d: Path) -> Path:
    """A member whose header claims 100 bytes but inflates to 1 MB (sizes can lie)."""
    path = d / "楼栋.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("楼栋.geojson", b" " * 1024**2)
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, 100)  # uncompressed size, local header
    struct.pack_into("<I", data, central + 24, 100)  # uncompressed size, central directory
    path.write_bytes(bytes(data))
    return path


def make_zip_too_many_entries(d: Path) -> Path:
    """2,001 files: one tile per building exported by a careless script."""
    return write_zip(
        d / "楼栋.zip",
        {f"tiles/{i:04d}.geojson": b"{}" for i in range(2001)},
        compression=zipfile.ZIP_STORED,
    )


def make_zip_too_big(d: Path) -> Path:
    """2 MiB of incompressible data (checked against a 1 MiB limit)."""
    noise = random.Random(2018).randbytes(2 * 1024**2)
    return write_zip(d / "楼栋.zip", {"楼栋.fgb": noise}, compression=zipfile.ZIP_STORED)


def make_zip_password(d: Path) -> Path:
    """A zip whose member is marked encrypted (WinRAR "设置密码")."""
    path = write_zip(d / "楼栋.zip", {"楼栋.geojson": geojson_bytes(buildings())})
    _patch_headers(path, lambda flags: flags | 0x1)
    return path


def make_zip_deflate64(d: Path) -> Path:
    """A member compressed with Deflate64 (method 9), as Windows Explorer does for big files."""
    path = write_zip(d / "楼栋.zip", {"楼栋.geojson": geojson_bytes(buildings())})
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, data.find(b"PK\x03\x04") + 8, 9)
    struct.pack_into("<H", data, data.find(b"PK\x01\x02") + 10, 9)
    path.write_bytes(bytes(data))
    return path


def make_kmz_without_kml(d: Path) -> Path:
    """A KMZ holding only the map's screenshot."""
    return write_zip(d / "楼栋.kmz", {"files/截图.png": b"\x89PNG\r\n\x1a\n" + bytes(64)})


def make_zip_several_layers(d: Path) -> Path:
    """Buildings and communities in one zip (read with ``read_layer``)."""
    members = shapefile_zip_members(buildings(), "楼栋", d) | shapefile_zip_members(
        communities(), "社区", d
    )
    return write_zip(d / "海淀区.zip", members)


def make_zip_two_building_layers(d: Path) -> Path:
    """The buildings twice: as a shapefile and as GeoJSON."""
    members = shapefile_zip_members(buildings(), "楼栋", d) | {
        "buildings.geojson": geojson_bytes(buildings())
    }
    return write_zip(d / "海淀区.zip", members)


def make_zip_shp_without_dbf(d: Path) -> Path:
    """A shapefile in a subfolder whose .dbf was left out of the zip."""
    members = shapefile_zip_members(buildings(), "楼栋", d, folder="清华园街道", drop=(".dbf",))
    return write_zip(d / "楼栋.zip", members)


def make_zip_no_buildings(d: Path) -> Path:
    """Communities and roads, but no buildings."""
    roads = gpd.GeoDataFrame(
        {"道路名称": ["成府路", "双清路"]},
        geometry=[
            shapely.LineString([(LON0 - 0.001, LAT0 - 0.0003), (LON0 + 0.004, LAT0 - 0.0003)]),
            shapely.LineString([(LON0 + 0.0018, LAT0 - 0.001), (LON0 + 0.0018, LAT0 + 0.003)]),
        ],
        crs="EPSG:4490",
    )
    members = shapefile_zip_members(communities(), "社区", d) | shapefile_zip_members(
        roads, "道路", d
    )
    return write_zip(d / "海淀区.zip", members)


# --------------------------------------------------------------------------------------
# files that are missing, empty, damaged or of the wrong kind
# --------------------------------------------------------------------------------------
def make_missing_file(d: Path) -> Path:
    """A path to a file that is not there."""
    return d / "楼栋.gpkg"


def make_empty_gpkg(d: Path) -> Path:
    path = d / "项目.gpkg"
    path.write_bytes(b"")
    return path


def make_empty_geojson(d: Path) -> Path:
    path = d / "楼栋.geojson"
    path.write_bytes(b"")
    return path


def make_empty_shp(d: Path) -> Path:
    """A zero-byte .shp beside a good .dbf and .shx (a failed copy)."""
    path = write_shp(buildings(), d, "楼栋")
    path.write_bytes(b"")
    return path


def make_garbage_geojson(d: Path) -> Path:
    """A .geojson that holds a plain-text note."""
    path = d / "楼栋.geojson"
    path.write_text("楼栋数据见附件，请查收。", encoding="utf-8")
    return path


def make_truncated_geojson(d: Path) -> Path:
    """A GeoJSON FeatureCollection cut off half way."""
    path = d / "楼栋.geojson"
    data = geojson_bytes(buildings())
    path.write_bytes(data[: len(data) // 2])
    return path


def make_gpkg_not_sqlite(d: Path) -> Path:
    """A .gpkg that is really a Word document renamed."""
    path = d / "项目.gpkg"
    path.write_bytes(b"PK\x03\x04" + b"word/document.xml" + bytes(300))
    return path


def make_dwg_renamed(d: Path) -> Path:
    """An AutoCAD drawing given straight to the reader."""
    path = d / "楼栋.dwg"
    path.write_bytes(b"AC1032" + bytes(500))
    return path


def make_empty_featurecollection(d: Path) -> Path:
    """A GeoJSON FeatureCollection with no features."""
    path = d / "楼栋.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}), encoding="utf-8")
    return path


def make_truncated_shp(d: Path) -> Path:
    """A .shp cut off after its header (the .shx still lists every building)."""
    path = write_shp(buildings(), d, "楼栋")
    path.write_bytes(path.read_bytes()[:120])
    return path


def make_gpkg_no_buildings(d: Path) -> Path:
    """A GeoPackage with communities and a table of notes but no buildings."""
    notes = pd.DataFrame({"备注": ["边界来自民政局2023年数据"]})
    return gpkg(d / "项目.gpkg", {"社区": communities(), "备注": notes})


def make_gpkg_for_missing_layer(d: Path) -> Path:
    """A GeoPackage with ``buildings`` and ``communities`` (asked for ``楼栋``)."""
    return gpkg(d / "项目.gpkg", {"buildings": buildings(), "communities": communities()})


def make_gpkg_table_as_buildings(d: Path) -> Path:
    """A GeoPackage whose ``楼栋`` layer is an attribute table without shapes."""
    table = pd.DataFrame(buildings().drop(columns="geometry"))
    return gpkg(d / "项目.gpkg", {"楼栋": table})


def make_xlsx_broken(d: Path) -> dict[str, Path]:
    """Buildings and a roster .xlsx that is really an old WPS temp file."""
    roster = d / "花名册.xlsx"
    roster.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    return {"buildings": _buildings_gpkg(d), "roster": roster}


def make_csv_utf16(d: Path) -> dict[str, Path]:
    """A roster saved from Excel as "Unicode 文本" (UTF-16, tab-separated)."""
    roster = d / "花名册.csv"
    roster.write_bytes("地址\t人口\n清华园1号楼\t3\n".encode("utf-16"))
    return {"buildings": _buildings_gpkg(d), "roster": roster}


def make_csv_empty(d: Path) -> dict[str, Path]:
    roster = d / "花名册.csv"
    roster.write_bytes(b"")
    return {"buildings": _buildings_gpkg(d), "roster": roster}


def make_roster_without_key(d: Path) -> dict[str, Path]:
    """A roster with no address and no building id: nothing to match on."""
    roster = d / "花名册.csv"
    roster.write_text("姓名,人口,民政对象\n张三,3,否\n李四,2,是\n", encoding="utf-8-sig")
    return {"buildings": _buildings_gpkg(d), "roster": roster}


def make_roster_text_in_numbers(d: Path) -> dict[str, Path]:
    """A GBK roster whose 人口 column has words in it."""
    roster = d / "花名册.csv"
    roster.write_bytes(
        "楼栋编号,单元,房号,人口\nHD-001,1,101,3\nHD-001,1,102,三口人\n".encode("gbk")
    )
    return {"buildings": _buildings_gpkg(d), "roster": roster}


def _buildings_gpkg(d: Path) -> Path:
    return gpkg(d / "楼栋.gpkg", {"楼栋": buildings()})


# --------------------------------------------------------------------------------------
# text encodings
# --------------------------------------------------------------------------------------
def make_dbf_unknown_encoding(d: Path) -> Path:
    """A .dbf in a Western code page (bytes no Chinese encoding accepts), no .cpg."""
    gdf = gpd.GeoDataFrame(
        {"BLDG_ID": ["HD-001", "HD-002"], "NAME": ["Résidence ÿ", "Tower þ"], "HH": [48, 36]},
        geometry=[box(0, 0), box(1, 0)],
        crs="EPSG:4490",
    )
    return write_shp(gdf, d, "楼栋", encoding="latin1", drop=(".cpg",))


def make_dbf_wrong_cpg(d: Path) -> Path:
    """A GBK .dbf whose .cpg claims ISO-8859-1: GDAL would return mojibake."""
    path = write_shp(buildings(), d, "楼栋", encoding="GBK")
    path.with_suffix(".cpg").write_text("ISO-8859-1")
    return path


def make_dbf_gbk_no_cpg(d: Path) -> Path:
    """A GBK .dbf with no .cpg (ArcGIS on Chinese Windows): detected, not an error."""
    return write_shp(buildings(), d, "楼栋", encoding="GBK", drop=(".cpg",))


def make_dbf_gbk_names_ascii_values(d: Path) -> Path:
    """GBK field names but only ASCII values, no .cpg (the text to detect is in the header)."""
    gdf = buildings(4).drop(columns=["楼栋名称", "小区名称"])
    return write_shp(gdf, d, "楼栋", encoding="GBK", drop=(".cpg",))


# --------------------------------------------------------------------------------------
# coordinate reference systems
# --------------------------------------------------------------------------------------
def make_no_prj_lonlat(d: Path) -> Path:
    """Lon/lat coordinates with no .prj."""
    return write_shp(buildings(crs=None), d, "楼栋", drop=(".prj",))


def make_no_prj_zone_prefixed(d: Path) -> Path:
    """Survey eastings with the zone prefix 39 (39 44x xxx) and no .prj."""
    gdf = buildings(crs=4527).set_crs(None, allow_override=True)
    return write_shp(gdf, d, "楼栋", drop=(".prj",))


def make_no_prj_cm(d: Path) -> Path:
    """Gauss–Krüger CM eastings (44x xxx) with no .prj."""
    gdf = buildings(crs=4548).set_crs(None, allow_override=True)
    return write_shp(gdf, d, "楼栋", drop=(".prj",))


def make_no_prj_local_grid(d: Path) -> Path:
    """A design institute's CAD export: local coordinates in metres from the site origin."""
    gdf = shift_coords(buildings(crs=4548), lambda x, y: (x - 437_000, y - 4_427_000))
    return write_shp(gdf.set_crs(None, allow_override=True), d, "楼栋", drop=(".prj",))


def make_lonlat_declared_metres(d: Path) -> Path:
    """Gauss–Krüger metres in a file that says EPSG:4490."""
    gdf = buildings(crs=4548).set_crs(4490, allow_override=True)
    path = d / "楼栋.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return path


def make_latlon_swapped(d: Path) -> Path:
    """Latitude written as X and longitude as Y (EPSG:4326)."""
    gdf = shift_coords(buildings(crs=4326), lambda x, y: (y, x))
    path = d / "楼栋.gpkg"
    return gpkg(path, {"楼栋": gdf})


def make_prefixed_crs_without_prefix(d: Path) -> Path:
    """CM eastings (44x xxx) declared as the zone-prefixed EPSG:4527."""
    gdf = buildings(crs=4548).set_crs(4527, allow_override=True)
    return write_shp(gdf, d, "楼栋")


def make_projected_xy_swapped(d: Path) -> Path:
    """EPSG:4548 with X and Y swapped (northings in the X column)."""
    gdf = shift_coords(buildings(crs=4548), lambda x, y: (y, x))
    return write_shp(gdf, d, "楼栋")


def make_zone_not_in_china(d: Path) -> Path:
    """Eastings with a prefix 50 (no Gauss–Krüger zone over China)."""
    gdf = shift_coords(buildings(crs=4548), lambda x, y: (x + 50_000_000, y))
    return write_shp(gdf, d, "楼栋")


# --------------------------------------------------------------------------------------
# values and geometry (found by validation)
# --------------------------------------------------------------------------------------
def make_households_text(d: Path) -> Path:
    """户数 typed as words in two rows (四十八 alone would be read as 48; 四十多 is no count)."""
    gdf = buildings(6, 户数=["48", "约50户", "36", "四十多", "54", "60"])
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_households_negative(d: Path) -> Path:
    gdf = buildings(6, 户数=[48, 54, -6, 36, 42, 60])
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_floors_text(d: Path) -> Path:
    """层数 with the unit written in ("6层")."""
    gdf = buildings(6, 层数=["6层", "6", "18", "6", "6层", "18"])
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_staff_text(d: Path) -> Path:
    """社工人数 written as "9人"."""
    return gpkg(d / "项目.gpkg", {"楼栋": buildings(), "社区": communities(社工人数=["12", "9人"])})


def make_several_value_problems(d: Path) -> Path:
    """Words and negatives in 户数 and words in 社工人数: all reported at once (九 is a number)."""
    gdf = buildings(6, 户数=["48", "约50户", "-6", "36", "42", "60"])
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities(社工人数=["12", "若干"])})


def make_duplicate_community_ids(d: Path) -> Path:
    comm = communities(社区编码=["110108008001", "110108008001"])
    return gpkg(d / "项目.gpkg", {"楼栋": buildings(), "社区": comm})


def make_community_without_id(d: Path) -> Path:
    """A community whose 社区编码 cell was left empty."""
    return gpkg(
        d / "项目.gpkg", {"楼栋": buildings(), "社区": communities(社区编码=["110108008001", None])}
    )


def make_households_infinite(d: Path) -> Path:
    """户数 "inf" (an Excel #DIV/0! exported by a script)."""
    return gpkg(d / "项目.gpkg", {"楼栋": buildings(6, 户数=["48", "inf", "36", "54", "42", "60"])})


def make_overlapping_communities(d: Path) -> Path:
    return gpkg(d / "项目.gpkg", {"楼栋": buildings(), "社区": communities(overlap=True)})


def make_buildings_as_points(d: Path) -> Path:
    """Buildings exported as address points (POI) instead of footprints."""
    gdf = buildings()
    gdf.geometry = gdf.geometry.representative_point()
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_communities_as_lines(d: Path) -> Path:
    """Community boundaries digitised as lines, not polygons."""
    comm = communities()
    comm.geometry = comm.geometry.boundary
    return gpkg(d / "项目.gpkg", {"楼栋": buildings(), "社区": comm})


def make_all_geometry_empty(d: Path) -> Path:
    """A buildings layer whose shapes were lost (attribute rows only)."""
    gdf = buildings(3)
    gdf.geometry = [None, shapely.Polygon(), None]
    path = d / "楼栋.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return path


# --------------------------------------------------------------------------------------
# warnings: repaired or tolerated, reported
# --------------------------------------------------------------------------------------
def bowtie(col: int, row: int) -> shapely.Polygon:
    """A self-intersecting footprint (vertices digitised in the wrong order)."""
    x, y = LON0 + col * STEP, LAT0 + row * STEP
    return shapely.Polygon([(x, y), (x + SIZE, y + SIZE), (x + SIZE, y), (x, y + SIZE)])


def make_invalid_geometry(d: Path) -> Path:
    gdf = buildings()
    gdf.loc[[1, 4], "geometry"] = [bowtie(1, 0), bowtie(1, 1)]
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_duplicate_building_ids(d: Path) -> Path:
    gdf = buildings(6, 楼栋编号=["HD-001", "HD-002", "HD-002", "HD-004", "HD-001", "HD-002"])
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_buildings_outside(d: Path) -> Path:
    """Two buildings north of every community."""
    gdf = buildings(6)
    gdf.loc[[4, 5], "geometry"] = [box(0, 5), box(1, 5)]
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_community_gap(d: Path) -> Path:
    return gpkg(d / "项目.gpkg", {"楼栋": buildings(), "社区": communities(gap=True)})


def make_some_geometry_empty(d: Path) -> Path:
    gdf = buildings()
    gdf.loc[[2], "geometry"] = [None]
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_unknown_community_ids(d: Path) -> Path:
    """Buildings that name a 社区编码 the communities layer does not have."""
    gdf = buildings(6, 社区编码=["110108008001"] * 4 + ["110108008099"] * 2)
    return gpkg(d / "项目.gpkg", {"楼栋": gdf, "社区": communities()})


def make_truncated_dbf(d: Path) -> Path:
    """A .dbf cut off half way (the .shp and .shx are whole)."""
    path = write_shp(buildings(), d, "楼栋")
    dbf = path.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes()[: dbf.stat().st_size // 2])
    return path


def make_unclosed_ring(d: Path) -> Path:
    """A hand-written GeoJSON whose first building's ring does not return to its start."""
    gdf = buildings(3)
    collection = json.loads(geojson_bytes(gdf))
    ring = collection["features"][0]["geometry"]["coordinates"][0]
    collection["features"][0]["geometry"]["coordinates"][0] = ring[:-1]
    path = d / "楼栋.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def make_mixed_crs(d: Path) -> Path:
    """Buildings in EPSG:4490, communities in Gauss–Krüger CM 117E, roads with zone prefixes."""
    folder = d / "项目"
    folder.mkdir()
    buildings().to_file(folder / "楼栋.geojson", driver="GeoJSON")
    write_shp(communities(crs=4548), folder, "社区")
    return folder
