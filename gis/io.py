"""Read a planner's layers, in the formats Chinese offices send, onto gridplan's contract.

:func:`read_layer` reads one file (GeoPackage layer, shapefile or zipped shapefile,
GeoJSON, KML/KMZ, FlatGeobuf, CSV or Excel roster); :func:`read_project` reads a whole
project (a GeoPackage with several layers, a zip or folder of layer files, or a mapping
of layer names to files) into a :class:`Project`, with the field mapping and notes on
everything that was assumed or repaired.

Shapefiles without a ``.cpg`` are checked byte by byte: GBK/GB18030 text is decoded as
such instead of turning into mojibake. A missing ``.shx`` is restored. OpenStreetMap
exports (like the bundled samples) are mapped onto the contract here, in the loader.

Examples
--------
>>> from gis import datasets
>>> project = read_project(datasets.get_path("beijing"))
>>> len(project.buildings), project.compounds["name"].iloc[0]
(521, '新林院')
>>> project.buildings.crs.to_epsg()
4490
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.errors import GEOSException

from gis.crs import STORAGE_CRS, ensure_crs, suggest_crs
from gis.errors import CRSError, FieldError, GridplanError, LayerReadError
from gis.fields import canonical_layer, map_fields
from gis.gcj import frame_from_offset, offset_frame
from gis.i18n import N_
from gis.layers import decode_layer
from gis.zipsafe import ZipLimits, extract_zip

__all__ = [
    "CAD_SUFFIXES",
    "LAYERS",
    "SPATIAL_SUFFIXES",
    "TABLE_SUFFIXES",
    "Note",
    "Project",
    "detect_dbf_encoding",
    "layer_crs",
    "layer_roles",
    "read_layer",
    "read_project",
    "read_shapefile_zip",
    "read_table",
    "table_preview",
]

LAYERS: tuple[str, ...] = (
    "buildings",
    "communities",
    "compounds",
    "roads",
    "waterways",
    "barriers",
    "service_centres",
    "landuse",
)
SPATIAL_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".zip")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls", ".xlsm", ".ods")
CAD_SUFFIXES = (".dxf", ".dwg")
"""CAD drawings: read with :func:`gis.cad.read_dxf` (a DWG is refused with the converters named)."""


@dataclass(frozen=True)
class Note:
    """Something the loader assumed, detected or repaired, to show the planner."""

    layer: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = "en") -> str:
        """Return the note in ``lang``."""
        from gis.i18n import translator

        return translator(lang).gettext(self.msgid).format(**self.params)


@dataclass(frozen=True)
class Project:
    """A planner's layers after reading, aliasing and reprojection to EPSG:4490.

    Attributes
    ----------
    buildings
        The buildings layer (required).
    communities, compounds, roads, waterways, barriers, service_centres
        The other contract layers, or ``None`` when absent.
    landuse
        Land-use areas (``land_use``, ``name``): a campus, hospital, enterprise or park
        there becomes a dedicated grid (:mod:`planning.landuse`); ``None`` when absent.
    roster
        A household or building roster table, or ``None``.
    study_area
        The area the data covers (a communities union, an export's bounds, or the hull
        of the buildings), in EPSG:4490.
    mapping
        ``{layer: {original column: contract field}}``.
    notes
        What was detected, assumed or repaired while reading.
    source
        Where the project came from.
    """

    buildings: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None = None
    compounds: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    waterways: gpd.GeoDataFrame | None = None
    barriers: gpd.GeoDataFrame | None = None
    service_centres: gpd.GeoDataFrame | None = None
    landuse: gpd.GeoDataFrame | None = None
    roster: pd.DataFrame | None = None
    study_area: shapely.Geometry | None = None
    mapping: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()
    source: str = ""
    source_crs: dict[str, str] = field(default_factory=dict)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the spatial layers that are present, by contract name."""
        return {name: getattr(self, name) for name in LAYERS if getattr(self, name) is not None}

    def replace(self, **changes: Any) -> Project:
        """Return a copy with some attributes replaced."""
        return replace(self, **changes)


# --------------------------------------------------------------------------------------
# encodings
# --------------------------------------------------------------------------------------
_CPG_ENCODINGS: dict[str, str] = {
    "utf8": "UTF-8",
    "65001": "UTF-8",
    "gbk": "GB18030",
    "936": "GB18030",
    "cp936": "GB18030",
    "ansi936": "GB18030",
    "gb2312": "GB18030",
    "gb18030": "GB18030",
    "54936": "GB18030",
}


def _decode_cut(raw: bytes, encoding: str) -> tuple[str, bool]:
    """Decode ``raw`` strictly, except for a character cut off at the end.

    dBASE field names are limited to 10 bytes, and GDAL/QGIS cut a UTF-8 name such as
    ``楼栋编号`` (12 bytes) in the middle of its fourth character. Returns the text and
    whether something was cut off.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    text = decoder.decode(raw, final=False)
    return text, bool(decoder.getstate()[0])


def _dbf_parts(data: bytes) -> tuple[list[bytes], bytes]:
    """Split a ``.dbf`` into its raw field names and its records."""
    header_len = int.from_bytes(data[8:10], "little") or 32
    names = []
    for start in range(32, min(header_len, len(data)) - 31, 32):
        if data[start] == 0x0D:
            break
        names.append(data[start : start + 11].split(b"\x00", 1)[0])
    body = data[header_len:] if header_len < len(data) else data[32:]
    return names, body


def detect_dbf_encoding(dbf: Path) -> str | None:
    """Guess the text encoding of a ``.dbf`` that has no ``.cpg``.

    Both the field names (in the header) and the records are checked. Returns
    ``"UTF-8"`` when the text is valid UTF-8 (plain ASCII included), ``"GB18030"`` when
    it decodes as GB18030 (a superset of GBK/CP936), or ``None``. A field name cut off in
    the middle of a character (the 10-byte limit) does not count against an encoding.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.dbf"
    >>> _ = p.write_bytes(b"\\x03" + bytes(31) + "社区".encode("gbk"))
    >>> detect_dbf_encoding(p)
    'GB18030'
    """
    data = dbf.read_bytes()
    if len(data) < 32:
        return None
    names, body = _dbf_parts(data)
    for encoding, label in (("utf-8", "UTF-8"), ("gb18030", "GB18030")):
        try:
            for name in names:
                _decode_cut(name, encoding)
            body.decode(encoding)
        except UnicodeDecodeError:
            continue
        return label
    return None


def _siblings(path: Path) -> dict[str, Path]:
    """Return the files of a shapefile (``.dbf``, ``.SHX``, ``.cpg``…) by lower-case suffix.

    Compared by name rather than globbed, so stems such as ``楼栋[2024]`` work.
    """
    return {
        p.suffix.lower(): p for p in path.parent.iterdir() if p.is_file() and p.stem == path.stem
    }


def _cpg_encoding(path: Path) -> str | None:
    """Return the encoding a shapefile's ``.cpg`` names, if UTF-8 or a Chinese code page."""
    cpg = _siblings(path).get(".cpg")
    if cpg is None:
        return None
    try:
        text = cpg.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return _CPG_ENCODINGS.get(re.sub(r"[\s_\-]", "", text).lower())


def _recode_shapefile(path: Path, encoding: str, layer: str) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """Read a shapefile's raw bytes and decode them here (field names cut mid-character).

    ``encoding="latin1"`` makes pyogrio hand over every byte unchanged; names are then
    decoded allowing a cut-off last character, values strictly.
    """
    gdf = _read_file(path, path, None, {"encoding": "latin1"})
    renamed: dict[str, str] = {}
    cut: list[str] = []
    for column in gdf.columns:
        if column == gdf.geometry.name:
            continue
        name, was_cut = _decode_cut(column.encode("latin1"), encoding)
        renamed[column] = name
        if was_cut:
            cut.append(name)
    for j, column in enumerate(gdf.columns):  # by position: a .dbf may repeat a name
        values = gdf.iloc[:, j]
        if column != gdf.geometry.name and _is_text(values):
            gdf.iloc[:, j] = values.map(
                lambda v: _decode_cut(v.encode("latin1"), encoding)[0] if isinstance(v, str) else v
            )
    gdf = gdf.rename(columns=renamed)
    notes = []
    if cut:
        notes.append(
            Note(
                layer,
                N_(
                    "Field names of {file} were cut to 10 bytes by the shapefile format ({names}); "
                    "check the field mapping."
                ),
                {"file": path.name, "names": ", ".join(cut)},
            )
        )
    return gdf, notes


def _check_encoding_name(encoding: str | None) -> None:
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        msg = N_("{encoding!r} is not a text encoding gridplan knows. Use gbk, gb18030 or utf-8.")
        raise LayerReadError(msg, encoding=encoding) from None


def _check_shp_length(path: Path) -> None:
    """Refuse a ``.shp`` shorter than its header says (GDAL would return empty shapes)."""
    with path.open("rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or header[:4] != b"\x00\x00\x27\x0a":
        msg = N_("{file} cannot be read: it is damaged or incomplete ({error}). Export it again.")
        raise LayerReadError(msg, file=path.name, error="not a shapefile header")
    declared = int.from_bytes(header[24:28], "big") * 2
    actual = path.stat().st_size
    if actual < declared:
        msg = N_(
            "{file} is incomplete: it has {actual} of its {declared} bytes (the copy or download "
            "was cut off). Copy the whole file again."
        )
        raise LayerReadError(msg, file=path.name, actual=actual, declared=declared)


def _shapefile_options(
    path: Path, encoding: str | None, layer: str
) -> tuple[dict[str, Any], list[Note]]:
    notes: list[Note] = []
    options: dict[str, Any] = {}
    siblings = _siblings(path)
    if ".dbf" not in siblings:
        msg = N_(
            "The shapefile {file} has no .dbf file beside it, so it has no attributes. Add the .dbf."
        )
        raise LayerReadError(msg, file=path.name)
    _check_shp_length(path)
    if ".shx" not in siblings:
        notes.append(
            Note(
                layer,
                N_("The .shx index of {file} was missing and has been rebuilt."),
                {"file": path.name},
            )
        )
    if encoding:
        options["encoding"] = encoding
    elif ".cpg" not in siblings:
        detected = detect_dbf_encoding(siblings[".dbf"])
        if detected is None:
            msg = N_(
                "The attributes of {file} are in an unknown text encoding (no .cpg file). Tell "
                "gridplan the encoding: --encoding gbk (Chinese Windows) or utf-8 (in the app: the text encoding on the Data page)."
            )
            raise LayerReadError(msg, file=path.name)
        options["encoding"] = detected
        if detected != "UTF-8":
            notes.append(
                Note(
                    layer,
                    N_(
                        "{file} has no .cpg; its text was detected as {encoding} (Chinese Windows)."
                    ),
                    {"file": path.name, "encoding": detected},
                )
            )
    return options, notes


# --------------------------------------------------------------------------------------
# single files
# --------------------------------------------------------------------------------------
_HEADER_SEARCH_ROWS = 20
"""Title rows (单位名称, 制表日期…) above a roster's header are looked for this far down."""


def _csv_rows(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    if not raw.strip():
        msg = N_("The file {file} is empty.")
        raise LayerReadError(msg, file=path.name)
    body = raw.removeprefix(codecs.BOM_UTF8)  # a BOM written before GBK text by some tools
    for encoding in ("utf-8", "gb18030"):
        try:
            text = body.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        msg = N_("The table {file} is neither UTF-8 nor GBK text. Save it as UTF-8 CSV.")
        raise LayerReadError(msg, file=path.name)
    return [list(row) for row in csv.reader(text.splitlines())]


def _excel_sheets(path: Path, sheet: str | int | None) -> list[tuple[str, list[list[Any]], int]]:
    """Every sheet (or the one asked for) as rows, merged cells filled with their value."""
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    names = list(workbook.sheet_names)
    if sheet is not None:
        names = [names[sheet]] if isinstance(sheet, int) else [sheet]
    out = []
    for name in names:
        data = workbook.get_sheet_by_name(name)
        rows = [list(r) for r in data.to_python(skip_empty_area=False)]
        filled = 0
        for (r0, c0), (r1, c1) in data.merged_cell_ranges or []:
            if r0 >= len(rows) or c0 >= len(rows[r0]):
                continue
            value = rows[r0][c0]
            for r in range(r0, min(r1, len(rows) - 1) + 1):
                for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                    if (r, c) != (r0, c0):
                        rows[r][c] = value
                        filled += 1
        out.append((name, rows, filled))
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def _header_row(rows: list[list[Any]]) -> int | None:
    """The first row (of the first few) whose cells name a roster key column, or ``None``."""
    for r, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        names = [str(v).strip() for v in row if not _blank(v)]
        if len(set(names)) < len(names) or not names:
            names = list(dict.fromkeys(names))
        if not names:
            continue
        _, mapping = map_fields(pd.DataFrame(columns=names), layer="roster")
        found = set(mapping.values()) | {n for n in names if n in {"address", "building_id"}}
        if found & {"address", "building_id"}:
            return r
    return None


def _frame(rows: list[list[Any]], header: int) -> pd.DataFrame:
    width = max((len(r) for r in rows), default=0)
    names: list[str] = []
    for j in range(width):
        cell = rows[header][j] if j < len(rows[header]) else None
        name = f"column{j + 1}" if _blank(cell) else str(cell).strip()
        while name in names:
            name += "_2"
        names.append(name)
    records, lines = [], []
    for i, row in enumerate(rows[header + 1 :], start=header + 2):
        cells = [None if _blank(v) else v for v in row] + [None] * (width - len(row))
        if all(v is None for v in cells):
            continue  # a blank line is not a household
        records.append(cells)
        lines.append(i)
    frame = pd.DataFrame(records, columns=names, index=pd.Index(lines, name="line"), dtype=object)
    frame.attrs["line_numbers"] = True
    return frame


def read_table(
    path: str | Path, *, sheet: str | int | None = None, header_line: int | None = None
) -> pd.DataFrame:
    """Read a CSV or Excel table (a roster); Excel through calamine.

    CSV text is decoded as UTF-8 (with or without BOM) or GB18030 (a BOM before GBK text
    too). In a workbook, the first sheet with a column to match buildings on (an address or
    a building id, after the aliases) is read, from its header row: title rows above it
    are skipped, and merged cells hold their value in every cell they cover. The index is
    the line number in the file, so every row can be named to the planner; ``attrs`` say
    which ``sheet``, which ``header_line`` and how many ``merged_cells`` were filled.
    ``sheet`` and ``header_line`` (1-based) chosen by the planner win over the search.

    Raises
    ------
    LayerReadError
        If the file cannot be read, is empty, or has no such sheet or line.
    """
    path = Path(path)
    sheets = _table_sheets(path, sheet)
    if header_line is not None:
        name, rows, filled = sheets[0]
        if not 1 <= int(header_line) <= len(rows):
            msg = N_(
                "The header line {line} is not in {file} (it has {rows} lines). Choose a line "
                "between 1 and {rows}."
            )
            raise LayerReadError(msg, line=header_line, file=path.name, rows=len(rows))
        sheets = [(name, rows, filled)]
    chosen = None
    for name, rows, filled in sheets:
        header = _header_row(rows) if header_line is None else int(header_line) - 1
        if header is not None:
            chosen = (name, rows, filled, header)
            break
    if chosen is None:  # no key column anywhere: the caller says so, naming the columns
        name, rows, filled = sheets[0]
        first = next((r for r, row in enumerate(rows) if not all(_blank(v) for v in row)), 0)
        chosen = (name, rows, filled, first)
    name, rows, filled, header = chosen
    if not rows:
        msg = N_("The file {file} is empty.")
        raise LayerReadError(msg, file=path.name)
    frame = _frame(rows, header)
    frame.attrs.update(
        sheet=name,
        first_sheet=sheets[0][0],
        sheets=[s[0] for s in sheets],
        header_line=header + 1,
        merged_cells=filled,
    )
    return frame


def _table_sheets(path: Path, sheet: str | int | None) -> list[tuple[str, list[list[Any]], int]]:
    """The sheets of a CSV or Excel file as rows (a CSV is one sheet named "")."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            sheets = [("", _csv_rows(path), 0)]
        else:
            if isinstance(sheet, str) and sheet:
                from python_calamine import CalamineWorkbook

                names = list(CalamineWorkbook.from_path(str(path)).sheet_names)
                if sheet not in names:
                    msg = N_("{file} has no sheet {sheet}. Its sheets: {sheets}.")
                    raise LayerReadError(
                        msg, file=path.name, sheet=sheet, sheets=", ".join(names)
                    )
            sheets = _excel_sheets(path, sheet or None)
    except GridplanError:
        raise
    except Exception as exc:  # calamine raises many types for a broken file
        msg = N_(
            "The table {file} cannot be read ({error}). Open it in Excel/WPS and save it again as .xlsx."
        )
        error = type(exc).__name__
        if type(exc).__module__.startswith("python_calamine"):
            error = "CalamineError"
        raise LayerReadError(msg, file=path.name, error=error) from None
    return sheets


def table_preview(
    path: str | Path,
    *,
    member: str | None = None,
    sheet: str | None = None,
    header_line: int | None = None,
    rows: int = 8,
    limits: ZipLimits | None = None,
) -> dict[str, Any]:
    """What a roster looks like before it is read: for the planner to choose sheet and header.

    ``member`` names the table inside an upload (a zip or a folder, as :func:`layer_roles`
    names it); without it ``path`` is the table itself.

    Returns
    -------
    dict
        ``sheets`` (names; ``[""]`` for a CSV), ``sheet`` (the one read), ``header_line``
        (1-based; the one found when not given), ``top`` (the sheet's first lines as they
        are, indexed by line number), ``head`` (the first ``rows`` rows as read, under
        their own column names) and ``mapping`` ({column: gridplan field}).

    Examples
    --------
    >>> from gis.datasets import get_path
    >>> p = table_preview(get_path("beijing_district") / "花名册.xlsx")
    >>> p["sheets"], p["sheet"], p["header_line"], p["mapping"]["楼栋编号"]
    (['说明', '花名册'], '花名册', 2, 'building_id')
    """
    path = Path(path)
    if member is not None:
        with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
            files = [f for f, layer in _collect_files(path, Path(tmp), limits) if f.name == member]
            if not files:
                msg = N_("There is no layer {layer} in the upload (its layers: {found}).")
                raise LayerReadError(msg, layer=member, found=path.name)
            return table_preview(files[0], sheet=sheet, header_line=header_line, rows=rows)
    table = read_table(path, sheet=sheet or None, header_line=header_line)
    raw = next(r for n, r, _ in _table_sheets(path, table.attrs["sheet"] or None))
    width = max((len(r) for r in raw[: header_line or 12]), default=0)
    top = pd.DataFrame(
        [[None if _blank(v) else v for v in r] + [None] * (width - len(r)) for r in raw[:12]],
        index=pd.Index(range(1, min(len(raw), 12) + 1), name="line"),
        columns=[f"{chr(65 + j)}" if j < 26 else f"column{j + 1}" for j in range(width)],
        dtype=object,
    )
    _, mapping = map_fields(table.head(0), layer="roster")
    return {
        "sheets": _sheet_names(path),
        "sheet": table.attrs["sheet"],
        "header_line": int(table.attrs["header_line"]),
        "top": top,
        "head": table.head(rows),
        "mapping": dict(mapping),
    }


def _sheet_names(path: Path) -> list[str]:
    if path.suffix.lower() == ".csv":
        return [""]
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


def _exists(path: Path) -> bool:
    """``path.exists()``, false for a name the system cannot take (too long, NUL bytes)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def layer_crs(crs: Any, role: str) -> Any:
    """The CRS declared for one layer: ``crs`` itself, or its entry when it is per layer.

    ``{"buildings": "GCJ-02"}`` declares the buildings only (traced on AMap) and leaves the
    other layers as they are; the CLI writes it ``--crs buildings=GCJ-02``.

    Examples
    --------
    >>> layer_crs("EPSG:4490", "roads"), layer_crs({"buildings": "GCJ-02"}, "roads")
    ('EPSG:4490', None)
    """
    if isinstance(crs, Mapping):
        return crs.get(role)
    return crs


def _shown(text: str, limit: int = 160) -> str:
    """``text`` cut for a one-line message (a file's contents passed as its name stay out)."""
    return text if len(text) <= limit else f"{text[: limit - 20]}… ({len(text):,} characters)"


def _roster_notes(table: pd.DataFrame, file: Path) -> list[Note]:
    """Say which sheet and header row a roster was read from, and merged cells filled."""
    notes = []
    attrs = table.attrs
    if attrs.get("sheet") and attrs.get("sheet") != attrs.get("first_sheet"):
        notes.append(
            Note(
                "roster",
                N_("The roster in {file} was read from sheet {sheet} (the first sheet has no address or building id column)."),
                {"file": file.name, "sheet": attrs["sheet"]},
            )
        )
    if attrs.get("header_line", 1) > 1:
        notes.append(
            Note(
                "roster",
                N_("The roster's header is on line {line} of {file}; the lines above it (a title) were skipped."),
                {"file": file.name, "line": attrs["header_line"]},
            )
        )
    if attrs.get("merged_cells"):
        notes.append(
            Note(
                "roster",
                N_("{n} cells of {file} are merged with the cell above or beside them; each was given the merged value."),
                {"file": file.name, "n": attrs["merged_cells"]},
            )
        )
    return notes


def _layer_names(path: Path) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, DataLayerError, OSError):
        return []


_SHX_LOCK = threading.Lock()


def _read_file(
    source: str | Path, path: Path, layer: str | None, options: dict[str, Any]
) -> gpd.GeoDataFrame:
    """``gpd.read_file`` with GDAL's errors turned into messages (encoding errors pass through).

    Shapes GEOS refuses (rings that are not closed) are read again with pyogrio's repair;
    ``attrs["rings_closed"]`` then says so, and shapes beyond repair come back empty.
    """
    try:
        try:
            return gpd.read_file(source, layer=layer, **options)
        except GEOSException:
            gdf = gpd.read_file(source, layer=layer, on_invalid="fix", **options)
            gdf.attrs["rings_closed"] = True
            return gdf
    except (DataSourceError, DataLayerError) as exc:
        text = str(exc)
        if "not recognized" in text or "not a supported" in text:
            msg = N_(
                "{file} is not a map layer gridplan can read (not GeoPackage, shapefile, GeoJSON, "
                "KML, FlatGeobuf, CSV or Excel). Export it from your GIS in one of these."
            )
            raise LayerReadError(msg, file=path.name) from None
        if layer is not None and "not found" in text.lower():
            msg = N_("The file {file} has no layer called {layer}. It has: {layers}.")
            raise LayerReadError(
                msg, file=path.name, layer=layer, layers=", ".join(_layer_names(path))
            ) from None
        msg = N_("{file} cannot be read: it is damaged or incomplete ({error}). Export it again.")
        raise LayerReadError(msg, file=path.name, error=text.splitlines()[0][:160]) from None
    except UnicodeDecodeError:  # a ValueError: the callers know the encoding to name
        raise
    except (ValueError, OSError) as exc:
        msg = N_("{file} cannot be read: it is damaged or incomplete ({error}). Export it again.")
        raise LayerReadError(msg, file=path.name, error=str(exc).splitlines()[0][:160]) from None


def _encoding_error(path: Path, encoding: str) -> LayerReadError:
    msg = N_("The text in {file} is not in the encoding {encoding}. Try --encoding gbk or utf-8 (in the app: the text encoding on the Data page).")
    return LayerReadError(msg, file=path.name, encoding=encoding)


def _read_shapefile(
    path: Path, options: dict[str, Any], role: str
) -> tuple[gpd.GeoDataFrame, list[Note]]:
    """Read a shapefile; fall back to decoding its bytes here when GDAL's decoding fails."""
    declared = options.get("encoding")
    encoding = declared or _cpg_encoding(path)
    try:
        return _read_file(path, path, None, options), []
    except UnicodeDecodeError:
        if encoding is None:
            cpg = _siblings(path).get(".cpg")
            label = cpg.read_text(encoding="ascii", errors="replace").strip() if cpg else "UTF-8"
            raise _encoding_error(path, label) from None
    try:
        return _recode_shapefile(path, encoding, role)
    except UnicodeDecodeError:
        raise _encoding_error(path, declared or encoding) from None


def _read_vector(
    path: Path, *, layer: str | None, encoding: str | None, role: str
) -> tuple[gpd.GeoDataFrame, list[Note]]:
    notes: list[Note] = []
    options: dict[str, Any] = {}
    suffix = path.suffix.lower()
    if not _exists(path):
        msg = N_("The file {file} does not exist. Check the path and the file name.")
        raise LayerReadError(msg, file=_shown(str(path)))
    if path.is_file() and path.stat().st_size == 0:
        msg = N_("The file {file} is empty.")
        raise LayerReadError(msg, file=path.name)
    if suffix == ".shp":
        options, notes = _shapefile_options(path, encoding, role)
    # GeoPackage, GeoJSON, FlatGeobuf and KML define their encoding (UTF-8): ``encoding`` is
    # for shapefiles only, so --encoding gbk for a GBK shapefile leaves a GPKG beside it intact.
    if layer is not None and suffix != ".shp":
        names = _layer_names(path)
        if names and layer not in names:
            msg = N_("The file {file} has no layer called {layer}. It has: {layers}.")
            raise LayerReadError(msg, file=path.name, layer=layer, layers=", ".join(names))
    try:
        if suffix in _TEXT_FORMATS:
            with tempfile.TemporaryDirectory(prefix="gridplan-text-") as tmp:
                readable, more = _utf8_copy(path, encoding, Path(tmp), role)
                notes.extend(more)
                if suffix == ".kml":
                    # LIBKML turns <Data name="户数"> into "______" unless told not to.
                    with _SHX_LOCK:
                        pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})
                        try:
                            gdf = _read_file(readable, path, layer, options)
                        finally:
                            pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": None})
                else:
                    gdf = _read_file(readable, path, layer, options)
        elif suffix != ".shp":
            gdf = _read_file(path, path, layer, options)
        elif ".shx" in _siblings(path):
            gdf, more = _read_shapefile(path, options, role)
            notes.extend(more)
        else:
            # Rebuild the .shx in a scratch copy (GDAL writes it beside the .shp) with the
            # process-wide option set only for this read.
            with tempfile.TemporaryDirectory(prefix="gridplan-shx-") as tmp, _SHX_LOCK:
                for sibling in _siblings(path).values():
                    shutil.copy(sibling, Path(tmp) / sibling.name)
                pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
                try:
                    gdf, more = _read_shapefile(Path(tmp) / path.name, options, role)
                finally:
                    pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
            notes.extend(more)
    except UnicodeDecodeError:
        raise _encoding_error(path, "UTF-8") from None
    if gdf.attrs.pop("rings_closed", False):
        notes.append(
            Note(
                role,
                N_(
                    "Some shapes in {file} had rings that were not closed; they were closed (and "
                    "shapes beyond repair left empty). Check them in your GIS."
                ),
                {"file": path.name},
            )
        )
    if suffix == ".kml":
        gdf = _drop_kml_boilerplate(gdf)
    gdf = _unique_columns(gdf, path, role, notes)
    _check_mojibake(gdf, path, role)
    return gdf, notes


def _unique_columns(
    gdf: gpd.GeoDataFrame, path: Path, role: str, notes: list[Note]
) -> gpd.GeoDataFrame:
    """Refuse two columns of one contract field's name; number other repeated names.

    A .dbf edited by hand (or cut to 10 bytes) can hold two fields of one name: which of
    two 户数 holds the households cannot be guessed.
    """
    names = [str(c) for c in gdf.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if not repeated:
        return gdf
    _, mapping = map_fields(pd.DataFrame(columns=repeated), layer=role)
    if mapping:
        column, field_name = next(iter(mapping.items()))
        msg = N_(
            "{file} has {count} columns named {column}, so gridplan cannot tell which one holds "
            "the {field}. Rename or delete the extra ones in your GIS."
        )
        raise FieldError(
            msg, file=path.name, count=names.count(column), column=column, field=field_name
        )
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    gdf = gdf.copy()
    gdf.columns = unique
    notes.append(
        Note(
            role,
            N_("{file} has several columns named {names}; the later ones were numbered _2, _3…"),
            {"file": path.name, "names": ", ".join(repeated)},
        )
    )
    return gdf


_TEXT_FORMATS = (".geojson", ".json", ".kml")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _utf8_copy(
    path: Path, encoding: str | None, workdir: Path, role: str
) -> tuple[Path, list[Note]]:
    """Return ``path``, or a UTF-8 copy of a GeoJSON or KML written in GBK (or ``encoding``).

    GDAL reads GeoJSON as UTF-8 only and knows no GBK in a KML declaration: Chinese tools
    write both. The copy keeps the file's name, so messages still name the planner's file.
    """
    with path.open("rb") as fh:
        head = fh.read(200)
    declared = _XML_ENCODING.match(head)
    xml_encoding = declared.group(1).decode("ascii").lower() if declared else None
    if xml_encoding in (None, "utf-8", "utf8") and encoding is None and _is_utf8(path):
        return path, []
    if encoding is None and xml_encoding in (None, "utf-8", "utf8") and not _is_utf8(path):
        source = "gb18030"
    else:
        source = encoding or xml_encoding or "utf-8"
    try:
        codecs.lookup(source)
        text = path.read_bytes().decode(source)
    except (LookupError, UnicodeDecodeError):
        if encoding:
            raise _encoding_error(path, encoding) from None
        return path, []  # not text in a known encoding: GDAL says what it is
    text = text.removeprefix("\ufeff")
    if declared:
        text = re.sub(r"""encoding\s*=\s*["'][^"']+["']""", 'encoding="UTF-8"', text, count=1)
    copy = workdir / path.name
    copy.write_text(text, encoding="utf-8")
    note = Note(
        role,
        N_("{file} is written in {encoding}, not UTF-8; it was read as {encoding}."),
        {"file": path.name, "encoding": source.upper()},
    )
    return copy, [note] if source.replace("-", "").lower() != "utf8" else []


_KML_BOILERPLATE = (
    "id",
    "name",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
)


def _drop_kml_boilerplate(gdf: pd.DataFrame) -> pd.DataFrame:
    """Drop the KML driver's standard fields when they are empty (or at their defaults).

    An empty ``name`` would otherwise take the place of the planner's own 楼栋名称.
    """
    defaults = {"tessellate": {-1, 0}, "extrude": {0}, "visibility": {-1, 1}, "draworder": {0}}
    boilerplate = {name.lower() for name in _KML_BOILERPLATE}
    drop = []
    for column in gdf.columns:
        key = str(column).lower()
        if key not in boilerplate:
            continue
        values = gdf[column].dropna()
        if _is_text(values):
            values = values[values.astype(str).str.strip() != ""]
        if values.empty or (key in defaults and values.isin(defaults[key]).all()):
            drop.append(column)
    return gdf.drop(columns=drop)


def _kmz_document(path: Path, workdir: Path, limits: ZipLimits | None) -> Path:
    files = extract_zip(path, workdir / "kmz", limits=limits)
    kmls = sorted(
        (f for f in files if f.suffix.lower() == ".kml"),
        key=lambda f: (f.name != "doc.kml", str(f)),
    )
    if not kmls:
        msg = N_("The KMZ {file} holds no KML document. Export it again as KML or KMZ.")
        raise LayerReadError(msg, file=path.name)
    return kmls[0]


def _is_text(values: pd.Series) -> bool:
    """Tell text columns: ``object`` or the string dtype (the default from pandas 3 on)."""
    return values.dtype == object or isinstance(values.dtype, pd.StringDtype)


_LATIN1_IN_CHINESE_DATA = frozenset("°²³·×±µ")  # 30°, m², 阿卜杜·热合曼, 3×4


def _latin1_share(text: str) -> float:
    """Share of characters from the Latin-1 supplement (U+0080–U+00FF) in ``text``.

    The few that genuine Chinese planning data use (``°``, ``²``, ``·``…) do not count.
    """
    if not text:
        return 0.0
    hits = sum("\x80" <= ch <= "\xff" and ch not in _LATIN1_IN_CHINESE_DATA for ch in text)
    return hits / len(text)


def _check_mojibake(gdf: pd.DataFrame, path: Path, role: str) -> None:
    """Refuse text that was decoded as Latin-1 although it was GBK (silent mojibake).

    GBK read as Latin-1 turns every Chinese character into two characters of the Latin-1
    supplement (``户数`` → ``»§Êý``); genuine Chinese data hardly has any (``m²``, ``·``).
    Column names are checked too: garbled names would silently lose the field mapping.
    """
    names = [str(c) for c in gdf.columns if c != "geometry"]
    candidates = [("", pd.Series(names, dtype=object))] + [
        (str(c), gdf[c]) for c in gdf.columns if c != "geometry" and _is_text(gdf[c])
    ]
    for column, values in candidates:
        sample = values.dropna().astype(str).head(200)
        text = "".join(sample)
        if len(text) >= 4 and _latin1_share(text) > 0.3:
            example = next(v for v in sample if _latin1_share(v) > 0)
            if not column:
                msg = N_(
                    "The column names of {file} look garbled (e.g. {example!r}): they are probably "
                    "GBK read as Latin-1. Read it again with --encoding gbk (in the app: the text encoding on the Data page), or add a .cpg file "
                    "containing GBK."
                )
                raise LayerReadError(msg, file=path.name, example=example[:12])
            msg = N_(
                "The text in column {column} of {file} looks garbled (e.g. {example!r}): it is "
                "probably GBK read as Latin-1. Read it again with --encoding gbk (in the app: the text encoding on the Data page), or add a .cpg "
                "file containing GBK."
            )
            raise LayerReadError(msg, column=column, file=path.name, example=example[:12])


def _resolve_zip(path: Path, workdir: Path, limits: ZipLimits | None) -> list[Path]:
    files = extract_zip(path, workdir, limits=limits)
    layers = [
        f
        for f in files
        if f.suffix.lower() in SPATIAL_SUFFIXES + TABLE_SUFFIXES and f.suffix.lower() != ".zip"
    ]
    if not layers:
        msg = N_(
            "The zip {file} contains no map layer (.shp, .gpkg, .geojson, .kml, .fgb) or table. "
            "Check you zipped the layer files themselves."
        )
        raise LayerReadError(msg, file=path.name)
    return sorted(layers)


def read_layer(
    source: str | Path,
    *,
    layer: str | None = None,
    role: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    overrides: Mapping[str, str] | None = None,
    limits: ZipLimits | None = None,
    layer_map: str | Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, dict[str, str], list[Note]]:
    """Read one layer from a file and map it onto the contract.

    Parameters
    ----------
    source
        A file: ``.gpkg``, ``.shp``, ``.zip`` (one shapefile or layer inside),
        ``.geojson``, ``.kml``, ``.kmz`` or ``.fgb``.
    layer
        The layer inside a multi-layer file.
    role
        The contract layer it is (``buildings``…); guessed from the name when omitted.
    encoding
        The text encoding, when it cannot be detected (``gbk``, ``utf-8``).
    crs
        A CRS to declare for a file that has none.
    overrides
        Field mapping chosen by hand, ``{original: contract}``.
    limits
        Bounds for zip uploads.
    layer_map
        For a CAD drawing, which CAD layer holds which gridplan layer
        (:func:`gis.cad.parse_layer_map`).

    Returns
    -------
    (GeoDataFrame, dict, list)
        The layer in EPSG:4490, the field mapping used and the notes.

    Examples
    --------
    >>> from gis import datasets
    >>> roads, mapping, notes = read_layer(datasets.get_path("beijing"), layer="roads")
    >>> mapping["highway"]
    'road_class'
    """
    _check_encoding_name(encoding)
    path = Path(source)
    role = role or canonical_layer(layer or path.stem) or "buildings"
    if path.suffix.lower() in CAD_SUFFIXES:
        project = _read_cad(path, crs=crs, layer_map=layer_map, overrides={role: overrides or {}})
        frame = getattr(project, role, None)
        if frame is None:
            msg = N_(
                "The drawing {file} has no {layer} layer (mapped: {found}). Map the CAD layer that "
                "holds it, e.g. --layer-map CADLAYER={layer}."
            )
            found = ", ".join(sorted(project.layers())) or "none"
            raise LayerReadError(msg, file=path.name, layer=role, found=found)
        return frame, project.mapping.get(role, {}), list(project.notes)
    with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
        if path.suffix.lower() == ".zip":
            members = [
                m
                for m in _resolve_zip(path, Path(tmp), limits)
                if m.suffix.lower() not in TABLE_SUFFIXES
            ]
            if len(members) != 1 and layer is None:
                names = ", ".join(m.name for m in members)
                msg = N_(
                    "The zip {file} holds several layers ({names}); read it as a project instead."
                )
                raise LayerReadError(msg, file=path.name, names=names)
            chosen = (
                members[0]
                if layer is None
                else next((m for m in members if m.stem == layer), members[0])
            )
            gdf, notes = _read_vector(chosen, layer=None, encoding=encoding, role=role)
        elif path.suffix.lower() == ".kmz" and path.is_file() and path.stat().st_size:
            # A KMZ is a zip: inspect and extract it like any upload, then read its KML.
            kml = _kmz_document(path, Path(tmp), limits)
            gdf, notes = _read_vector(kml, layer=layer, encoding=encoding, role=role)
        else:
            gdf, notes = _read_vector(path, layer=layer, encoding=encoding, role=role)
    frame, mapping = _to_contract(gdf, role=role, crs=crs, overrides=overrides)
    notes.extend(_offset_notes(frame, role))
    return frame, mapping, notes


def _offset_notes(frame: gpd.GeoDataFrame, role: str) -> list[Note]:
    offset = frame.attrs.get("offset_from")
    if not offset:
        return []
    return [
        Note(
            role,
            N_(
                "Layer {layer} was declared {frame} (points picked on an AMap or Baidu map) and was "
                "converted to WGS84/CGCS2000: its shapes moved by about {metres:.0f} m."
            ),
            {"layer": role, "frame": offset, "metres": frame.attrs.get("offset_shift_m", 0.0)},
        )
    ]


def _to_contract(
    gdf: gpd.GeoDataFrame, *, role: str, crs: Any, overrides: Mapping[str, str] | None
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        msg = N_(
            "Layer {layer} has no geometry column. A map layer needs shapes, not only a table."
        )
        raise LayerReadError(msg, layer=role)
    mapped, mapping = map_fields(gdf, layer=role, overrides=overrides)
    mapped = gpd.GeoDataFrame(mapped, geometry="geometry", crs=gdf.crs)
    offset = offset_frame(crs)
    if offset is not None:
        return _from_offset(mapped, role=role, offset=offset), mapping
    declared = crs if crs is not None and gdf.crs is None else gdf.crs
    out = ensure_crs(mapped, layer=role, crs=crs)
    out.attrs["source_crs"] = _crs_label(declared)
    return out, mapping


def _from_offset(gdf: gpd.GeoDataFrame, *, role: str, offset: str) -> gpd.GeoDataFrame:
    """Convert a layer declared GCJ-02 or BD-09 to WGS84, then to the storage CRS.

    Such coordinates are longitude/latitude whatever the file says (a GeoJSON always says
    WGS84); a layer in projected metres cannot be in these frames and is refused.
    """
    bounds = np.asarray(gdf.total_bounds, dtype=float)
    projected = gdf.crs is not None and not gdf.crs.is_geographic
    if projected or (len(gdf) and np.all(np.isfinite(bounds)) and suggest_crs(bounds) != "EPSG:4490"):
        msg = N_(
            "Layer {layer} was declared {frame}, which is longitude/latitude picked on an AMap or "
            "Baidu map, but its coordinates are not longitude/latitude over China. Declare its real "
            "CRS instead."
        )
        raise CRSError(msg, layer=role, frame=offset)
    moved = frame_from_offset(gdf, offset)
    out = ensure_crs(moved, layer=role)
    if len(gdf) and np.all(np.isfinite(bounds)):
        from gis.crs import metric_crs_for

        metric = metric_crs_for(tuple(bounds))
        before = gdf.set_crs(4326, allow_override=True).geometry.representative_point().to_crs(metric)
        after = moved.geometry.representative_point().to_crs(metric)
        out.attrs["offset_shift_m"] = float(np.nanmedian(before.distance(after, align=False)))
    out.attrs["source_crs"] = offset
    out.attrs["offset_from"] = offset
    return out


def _crs_label(crs: Any) -> str:
    if crs is None:
        return "none"
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    code = parsed.to_epsg()
    return f"EPSG:{code}" if code else parsed.name


# --------------------------------------------------------------------------------------
# OpenStreetMap profile (the bundled samples)
# --------------------------------------------------------------------------------------
_RESIDENTIAL = frozenset(
    {"apartments", "residential", "house", "terrace", "detached", "semidetached_house"}
)


def _is_osm(path: Path, names: list[str]) -> bool:
    if (
        "residential_areas" not in names
        and "export_bounds" not in names
        and "tile_coverage" not in names
    ):
        return False
    info = pyogrio.read_info(path, layer="buildings") if "buildings" in names else None
    fields = set(info["fields"]) if info is not None else set()
    return bool(fields & {"osm_id", "kind_detail", "tags"})


def _osm_floors(b: gpd.GeoDataFrame) -> tuple[pd.Series, pd.Series]:
    levels = (
        pd.to_numeric(b.get("building:levels"), errors="coerce") if "building:levels" in b else None
    )
    height = pd.to_numeric(b.get("height"), errors="coerce") if "height" in b else None
    floors = pd.Series(np.nan, index=b.index)
    source = pd.Series(pd.NA, index=b.index, dtype="string")
    if levels is not None:
        floors = floors.fillna(levels.round())
        source = source.mask(levels.notna(), "osm_building_levels")
    if height is not None:
        tilezen = "kind_detail" in b  # Tilezen writes height = levels × 3 + 2
        from_height = (
            ((height - 2) / 3).round().clip(lower=1)
            if tilezen
            else (height / 3).round().clip(lower=1)
        )
        floors = floors.fillna(from_height)
        source = source.mask(source.isna() & height.notna(), "osm_height")
    return floors, source


_OSM_LAND_USE_TAGS = ("amenity", "leisure", "landuse", "kind")
"""OpenStreetMap / Tilezen columns that say what an area is, in order of precedence."""


def _osm_land_use(frames: list[gpd.GeoDataFrame | None]) -> gpd.GeoDataFrame | None:
    """The areas of OpenStreetMap layers (``other_areas``, ``landuse_areas``) as a
    ``landuse`` layer: ``land_use`` is the first of amenity, leisure, landuse, kind."""
    parts = []
    for frame in frames:
        if frame is None or frame.empty:
            continue
        use = pd.Series(pd.NA, index=frame.index, dtype=object)
        for tag in _OSM_LAND_USE_TAGS:
            if tag in frame:
                use = use.where(use.notna(), frame[tag].where(frame[tag].astype(str).str.strip() != ""))
        keep = use.notna().to_numpy() & frame.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        parts.append(
            gpd.GeoDataFrame(
                {"land_use": use[keep].astype(str).to_numpy(), "name": frame.get("name", pd.Series(None, index=frame.index))[keep].to_numpy()},
                geometry=frame.geometry.values[keep],
                crs=STORAGE_CRS,
            )
        )
    if not parts:
        return None
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=STORAGE_CRS)


def _read_osm(path: Path, names: list[str]) -> Project:
    def layer(name: str) -> gpd.GeoDataFrame | None:
        return gpd.read_file(path, layer=name).to_crs(STORAGE_CRS) if name in names else None

    raw = layer("buildings")
    residential_areas = layer("residential_areas")
    kind = raw["building"] if "building" in raw else raw.get("kind_detail")
    kind = kind.fillna("yes").astype(str) if kind is not None else pd.Series("yes", index=raw.index)
    in_residential = pd.Series(False, index=raw.index)
    if residential_areas is not None and len(residential_areas):
        hits = gpd.sjoin(
            gpd.GeoDataFrame(geometry=raw.representative_point(), crs=raw.crs),
            residential_areas[["geometry"]],
            predicate="within",
        )
        in_residential.loc[hits.index.unique()] = True
    if "landuse_kind" in raw:
        in_residential |= raw["landuse_kind"].eq("residential")
    unknown = kind.isin({"yes", "", "None", "nan"})
    floors, floors_source = _osm_floors(raw)
    ident = raw["osm_id"] if "osm_id" in raw else "way/" + raw["id"].astype("Int64").astype(str)
    buildings = gpd.GeoDataFrame(
        {
            "building_id": ident.astype(str),
            "name": raw.get("name"),
            "osm_building": kind,
            "floors": floors,
            "floors_source": floors_source,
            "is_residential": kind.isin(_RESIDENTIAL) | (unknown & in_residential),
            "address": raw.get("addr:street", raw.get("addr_street")),
        },
        geometry=raw.geometry.values,
        crs=STORAGE_CRS,
    )
    compounds = None
    if residential_areas is not None:
        cid = (
            residential_areas["osm_id"]
            if "osm_id" in residential_areas
            else residential_areas["id"].astype(str)
        )
        compounds = gpd.GeoDataFrame(
            {"compound_id": cid.astype(str).values, "name": residential_areas.get("name")},
            geometry=residential_areas.geometry.values,
            crs=STORAGE_CRS,
        )
    roads_parts = []
    roads = layer("roads")
    if roads is not None:
        road_class = (
            roads["highway"] if "highway" in roads else roads["kind_detail"].fillna(roads["kind"])
        )
        if "kind" in roads:
            road_class = road_class.where(~roads["kind"].eq("rail"), "rail")
        roads_parts.append(
            gpd.GeoDataFrame(
                {"name": roads.get("name"), "road_class": road_class},
                geometry=roads.geometry,
                crs=STORAGE_CRS,
            )
        )
    railways = layer("railways")
    if railways is not None:
        roads_parts.append(
            gpd.GeoDataFrame(
                {"name": None, "road_class": "rail"},
                index=railways.index,
                geometry=railways.geometry,
                crs=STORAGE_CRS,
            )
        )
    roads_all = (
        gpd.GeoDataFrame(pd.concat(roads_parts, ignore_index=True), crs=STORAGE_CRS)
        if roads_parts
        else None
    )
    water_parts = [w for w in (layer("waterways"), layer("water_areas")) if w is not None]
    waterways = (
        gpd.GeoDataFrame(
            pd.concat(
                [w[["geometry"]].assign(name=w.get("name")) for w in water_parts], ignore_index=True
            ),
            crs=STORAGE_CRS,
        )
        if water_parts
        else None
    )
    barriers = None
    if "barriers" in names:
        b = layer("barriers")
        barriers = gpd.GeoDataFrame({"kind": b["barrier"]}, geometry=b.geometry, crs=STORAGE_CRS)
    elif "landuse_lines" in names:
        b = layer("landuse_lines")
        b = b[b["kind"].isin({"wall", "fence"})]
        barriers = gpd.GeoDataFrame({"kind": b["kind"]}, geometry=b.geometry, crs=STORAGE_CRS)
    landuse = _osm_land_use([layer("other_areas"), layer("landuse_areas")])
    bounds_layer = layer("export_bounds") if "export_bounds" in names else layer("tile_coverage")
    study_area = (
        shapely.union_all(bounds_layer.geometry.values) if bounds_layer is not None else None
    )
    notes = (
        Note("buildings", N_("OpenStreetMap layers were mapped onto the gridplan layers."), {}),
    )
    return Project(
        buildings=buildings,
        compounds=compounds,
        roads=roads_all,
        waterways=waterways,
        barriers=barriers,
        landuse=landuse,
        study_area=study_area,
        mapping={
            "buildings": {
                "osm_id": "building_id",
                "building:levels": "floors",
                "building": "is_residential",
            },
            "compounds": {"residential_areas": "compounds"},
            **({"landuse": {"amenity/leisure/landuse/kind": "land_use"}} if landuse is not None else {}),
        },
        notes=notes,
        source=str(path),
    )


# --------------------------------------------------------------------------------------
# projects
# --------------------------------------------------------------------------------------
_GIS_TABLES = frozenset({"layer_styles", "qgis_projects", "layer_metadata", "qgis_layer_metadata"})
"""Tables GIS software keeps beside the layers (QGIS styles, projects, metadata): not layers."""


def _collect_files(
    path: Path, workdir: Path, limits: ZipLimits | None
) -> list[tuple[Path, str | None]]:
    """Return ``(file, layer-in-file)`` pairs for a GPKG, a zip, a folder or a single file."""
    suffix = path.suffix.lower()
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.suffix.lower() in SPATIAL_SUFFIXES + TABLE_SUFFIXES
        )
    elif suffix == ".zip":
        files = _resolve_zip(path, workdir, limits)
    else:
        files = [path]
    pairs: list[tuple[Path, str | None]] = []
    for file in files:
        if file.suffix.lower() == ".gpkg":
            names = [n for n in _layer_names(file) if n.lower() not in _GIS_TABLES]
            pairs.extend((file, name) for name in names) if names else pairs.append((file, None))
        else:
            pairs.append((file, None))
    return pairs


def read_project(
    source: str | Path | Mapping[str, str | Path],
    *,
    encoding: str | None = None,
    crs: Any = None,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    limits: ZipLimits | None = None,
    layer_map: str | Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
    sheet: str | None = None,
    header_line: int | None = None,
) -> Project:
    """Read a planner's project: every contract layer found in ``source``.

    Parameters
    ----------
    source
        A GeoPackage (every layer is read), a zip or folder of layer files (named by
        layer, in English or Chinese: ``楼栋.shp``, ``社区.shp``…), one buildings file, or
        a mapping ``{layer: file}``.
    encoding
        Text encoding for files whose encoding cannot be detected.
    crs
        A CRS to declare for layers that have none (a CAD drawing never has one), or
        ``"GCJ-02"``/``"BD-09"`` for longitude/latitude picked on AMap or Baidu maps
        (converted to WGS84 on reading, with a note).
    overrides
        Field mappings chosen by hand, ``{layer: {original: contract}}``.
    limits
        Bounds for zip uploads.
    layer_map
        For a CAD drawing (``.dxf``), which CAD layer holds which gridplan layer:
        ``"建筑=buildings,社区边界=communities"`` or a mapping (see :mod:`gis.cad`).
    roles
        The role of each layer chosen by hand, ``{source: role}``, where ``source`` is
        as :func:`layer_roles` names it (``file`` or ``file:layer``) and ``role`` a
        gridplan layer, ``"roster"``, or ``""`` to leave the layer out. Layers not named
        keep the role their name gives.
    sheet, header_line
        The roster's sheet and header line (1-based), chosen by hand; by default the
        first sheet with an address or building id column, from the line naming it.

    Raises
    ------
    LayerReadError
        If a file cannot be read (missing, empty, damaged, unsafe zip, unknown encoding…),
        two files give the same layer, or there is no buildings layer.
    CRSError
        If a layer has no CRS (and ``crs`` declares none) or its coordinates do not fit it.
    FieldError
        If ``overrides`` names a column that is not there, or a roster has nothing to
        match buildings on.
    """
    overrides = overrides or {}
    _check_encoding_name(encoding)
    if isinstance(source, Mapping):
        entries = [(Path(p), None, role) for role, p in source.items()]
        label = ", ".join(str(p) for p in source.values())
        return _assemble(
            entries, encoding=encoding, crs=crs, overrides=overrides, limits=limits, label=label,
            sheet=sheet, header_line=header_line,
        )
    path = Path(source)
    if not _exists(path):
        msg = N_("The file {file} does not exist. Check the path and the file name.")
        raise LayerReadError(msg, file=_shown(str(path)))
    if path.is_file() and path.stat().st_size == 0:
        msg = N_("The file {file} is empty.")
        raise LayerReadError(msg, file=path.name)
    if path.suffix.lower() in CAD_SUFFIXES:
        return _read_cad(path, crs=crs, layer_map=layer_map, overrides=overrides)
    if path.suffix.lower() == ".gpkg" and not roles:
        names = _layer_names(path)
        if names and _is_osm(path, names):
            return _read_osm(path, names)
    with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
        pairs = _collect_files(path, Path(tmp), limits)
        chosen = _check_roles(roles or {}, pairs)
        entries = [(file, layer, chosen.get(_where(file, layer))) for file, layer in pairs]
        return _assemble(
            entries, encoding=encoding, crs=crs, overrides=overrides, limits=limits, label=str(path),
            sheet=sheet, header_line=header_line,
        )


def _where(file: Path, layer: str | None) -> str:
    """How a layer is named to the planner: ``file`` or ``file:layer``."""
    return file.name if layer is None else f"{file.name}:{layer}"


_ROLES = (*LAYERS, "roster")


def _check_roles(roles: Mapping[str, str], pairs: list[tuple[Path, str | None]]) -> dict[str, str]:
    """``roles`` checked against the layers found: each names one, with a known role."""
    found = {_where(f, layer) for f, layer in pairs}
    for where, role in roles.items():
        if where not in found:
            msg = N_("There is no layer {layer} in the upload (its layers: {found}).")
            raise LayerReadError(msg, layer=where, found=", ".join(sorted(found)))
        if role and role not in _ROLES:
            msg = N_("{role} is not a gridplan layer. Choose one of: {roles}.")
            raise LayerReadError(msg, role=role, roles=", ".join(_ROLES))
    return {where: (role or _SKIP) for where, role in roles.items()}


_SKIP = "-"
"""The role of a layer the planner left out."""


def layer_roles(path: str | Path, *, limits: ZipLimits | None = None) -> pd.DataFrame:
    """Every layer of an upload with the role its name gives (for the planner to change).

    Returns
    -------
    DataFrame
        ``source`` (``file`` or ``file:layer``, as ``roles`` of :func:`read_project`
        takes it), ``layer`` (its name), ``guessed`` (a gridplan layer, ``roster`` or
        ``""`` when the name says nothing).

    Examples
    --------
    >>> from gis.datasets import get_path
    >>> t = layer_roles(get_path("beijing_district"))
    >>> t.loc[t["guessed"] == "roster", "source"].tolist()
    ['花名册.xlsx']
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
        pairs = _collect_files(path, Path(tmp), limits)
    single = len(pairs) == 1
    rows = []
    for file, layer in pairs:
        name = layer or file.stem
        guessed = (
            "roster"
            if file.suffix.lower() in TABLE_SUFFIXES
            else canonical_layer(name) or ("buildings" if single else "")
        )
        rows.append({"source": _where(file, layer), "layer": name, "guessed": guessed})
    return pd.DataFrame(rows, columns=["source", "layer", "guessed"])


def _assemble(
    entries: list[tuple[Path, str | None, str | None]],
    *,
    encoding: str | None,
    crs: Any,
    overrides: Mapping[str, Mapping[str, str]],
    limits: ZipLimits | None,
    label: str,
    sheet: str | None = None,
    header_line: int | None = None,
) -> Project:
    layers: dict[str, gpd.GeoDataFrame] = {}
    mapping: dict[str, dict[str, str]] = {}
    notes: list[Note] = []
    roster: pd.DataFrame | None = None
    source_crs: dict[str, str] = {}
    single = len(entries) == 1
    origin: dict[str, str] = {}
    for file, layer, role in entries:
        suffix = file.suffix.lower()
        name = layer or file.stem
        where = _where(file, layer)
        if role == _SKIP:
            notes.append(Note(name, N_("Layer {name} was left out, as chosen."), {"name": where}))
            continue
        chosen_role = role is not None
        role = role or canonical_layer(name) or ("buildings" if single else None)
        if suffix in TABLE_SUFFIXES:
            role = "roster"
        elif chosen_role:
            notes.append(
                Note(name, N_("Layer {name} was read as {role}, as chosen."), {"name": where, "role": role})
            )
        if role is not None and role in origin:
            msg = N_("Two files give the {layer} layer ({first} and {second}). Keep one of them.")
            raise LayerReadError(msg, layer=role, first=origin[role], second=where)
        if role is not None:
            origin[role] = where
        if role == "roster":
            if suffix in TABLE_SUFFIXES:
                table = read_table(file, sheet=sheet, header_line=header_line)
            else:  # a roster kept in a GeoPackage table (or any layer): its shapes are not needed
                frame, layer_notes = _read_vector(file, layer=layer, encoding=encoding, role=role)
                if isinstance(frame, gpd.GeoDataFrame):
                    frame = frame.drop(columns=frame.geometry.name)
                table = pd.DataFrame(frame)
                notes.extend(layer_notes)
            roster, roster_mapping = map_fields(
                table, layer="roster", overrides=overrides.get("roster")
            )
            if "address" not in roster and "building_id" not in roster:
                msg = N_(
                    "The roster {file} has no address or building id column, so its rows cannot be "
                    "matched to buildings (its columns: {columns}). Name a column 地址 or 楼栋编号, "
                    "or choose the mapping by hand."
                )
                columns = ", ".join(map(str, table.columns)) or "none"
                sheets = table.attrs.get("sheets") or []
                if len(sheets) > 1:
                    msg = N_(
                        "The roster {file} has no address or building id column on any of its "
                        "sheets ({sheets}), so its rows cannot be matched to buildings (columns "
                        "of the first: {columns}). Name a column 地址 or 楼栋编号, or choose the "
                        "mapping by hand."
                    )
                    raise FieldError(
                        msg, file=file.name, columns=columns, sheets=", ".join(map(str, sheets))
                    )
                raise FieldError(msg, file=file.name, columns=columns)
            notes.extend(_roster_notes(table, file))
            mapping["roster"] = roster_mapping
            continue
        if role is None:
            notes.append(
                Note(name, N_("Layer {name} was not recognised and was skipped."), {"name": name})
            )
            continue
        frame, layer_mapping, layer_notes = read_layer(
            file,
            layer=layer,
            role=role,
            encoding=encoding,
            crs=layer_crs(crs, role),
            overrides=overrides.get(role),
            limits=limits,
        )
        layers[role] = frame
        source_crs[role] = frame.attrs.get("source_crs", "none")
        mapping[role] = layer_mapping
        notes.extend(layer_notes)
    if "buildings" not in layers:
        found = ", ".join(sorted(layers)) or "none"
        msg = N_(
            "No buildings layer was found (layers found: {found}). Name the buildings file or layer "
            "'buildings' or '楼栋'."
        )
        raise LayerReadError(msg, found=found)
    if layers["buildings"].empty:
        msg = N_(
            "The buildings layer ({file}) has no features. Export it again with its buildings (check "
            "that no selection or filter was active)."
        )
        raise LayerReadError(msg, file=origin["buildings"])
    study_area = None
    if "communities" in layers and not layers["communities"].empty:
        study_area = shapely.union_all(shapely.make_valid(layers["communities"].geometry.values))
    return Project(
        buildings=layers.pop("buildings"),
        roster=roster,
        study_area=study_area,
        mapping=mapping,
        notes=tuple(notes),
        source=label,
        source_crs=source_crs,
        **layers,
    )


# --------------------------------------------------------------------------------------
# CAD drawings
# --------------------------------------------------------------------------------------
def _read_cad(
    path: Path,
    *,
    crs: Any,
    layer_map: str | Mapping[str, str] | None,
    overrides: Mapping[str, Mapping[str, str]],
) -> Project:
    """Read a DXF drawing as a project (:func:`gis.cad.read_dxf`), in the declared CRS."""
    from gis.cad import read_dxf

    drawing = read_dxf(path, layer_map=layer_map)
    frames = {role: frame for role, frame in drawing.layers.items() if role in LAYERS}
    if "buildings" not in frames or frames["buildings"].empty:
        cad_layers = ", ".join(cad for cad, role in drawing.mapping.items() if role == "buildings")
        unclosed = int((drawing.unclosed["layer"] == "buildings").sum())
        msg = N_(
            "The CAD layer {cad_layers} of {file} holds no closed outline, so there are no "
            "buildings ({unclosed} outlines do not close). Close the outlines in your CAD program "
            "(PEDIT → Close, or JOIN), or map the layer that holds the buildings."
        )
        raise LayerReadError(msg, cad_layers=cad_layers, file=path.name, unclosed=unclosed)
    if crs is None:
        bounds = np.array(
            [frame.total_bounds for frame in frames.values() if len(frame)], dtype=float
        )
        x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
        x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
        guess = suggest_crs((x0, y0, x1, y1))
        if guess == "unknown":
            msg = N_(
                "{file} is a CAD drawing, and CAD files carry no coordinate reference system. Its "
                "coordinates (x {x0:.0f} to {x1:.0f}, y {y0:.0f} to {y1:.0f}) are neither "
                "longitude/latitude nor Gauss–Krüger metres: probably a local city or site grid. "
                "Ask the surveyor which CRS it is and declare it with --crs (a PROJ string works for "
                "a city's local grid), or georeference the drawing first."
            )
        elif guess == "EPSG:4534–4554":
            msg = N_(
                "{file} is a CAD drawing, and CAD files carry no coordinate reference system. Its "
                "coordinates (x {x0:.0f} to {x1:.0f}, y {y0:.0f} to {y1:.0f}) look like CGCS2000 "
                "3-degree Gauss–Krüger metres without zone prefix ({guess}, one per central "
                "meridian). Declare the zone of your city with --crs, e.g. EPSG:4548 (117°E: "
                "Beijing, Tianjin), EPSG:4549 (120°E: Shanghai, Hangzhou), EPSG:4547 (114°E: "
                "Wuhan, Shenzhen), EPSG:4545 (108°E: Xi'an, Chongqing)."
            )
        else:
            msg = N_(
                "{file} is a CAD drawing, and CAD files carry no coordinate reference system. Its "
                "coordinates (x {x0:.0f} to {x1:.0f}, y {y0:.0f} to {y1:.0f}) look like {guess}. "
                "Declare it: --crs {guess} (in the app: on the Data page)."
            )
        raise CRSError(msg, file=path.name, x0=x0, x1=x1, y0=y0, y1=y1, guess=guess)
    notes = [Note(layer, msgid, params) for layer, msgid, params in drawing.notes]
    mapping_text = ", ".join(f"{cad} → {role}" for cad, role in sorted(drawing.mapping.items()))
    notes.insert(
        0,
        Note(
            "buildings",
            N_("CAD drawing {file}: layers read as {mapping}."),
            {"file": path.name, "mapping": mapping_text},
        ),
    )
    layers: dict[str, gpd.GeoDataFrame] = {}
    mapping: dict[str, dict[str, str]] = {}
    source_crs: dict[str, str] = {}
    for role, frame in frames.items():
        out, layer_mapping = _to_contract(
            frame, role=role, crs=layer_crs(crs, role), overrides=overrides.get(role)
        )
        notes.extend(_offset_notes(out, role))
        layers[role] = out
        mapping[role] = layer_mapping
        source_crs[role] = out.attrs.get("source_crs", "none")
    study_area = None
    if "communities" in layers and not layers["communities"].empty:
        study_area = shapely.union_all(shapely.make_valid(layers["communities"].geometry.values))
    return Project(
        buildings=layers.pop("buildings"),
        study_area=study_area,
        mapping=mapping,
        notes=tuple(notes),
        source=str(path),
        source_crs=source_crs,
        **layers,
    )


def read_shapefile_zip(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read a zip written by :func:`gis.export.to_shp_zip` back into the plan's layers.

    The ``.cpg`` of each layer gives its encoding, ``field_names.csv`` the full field
    names and ``plan.json`` the column types (nullable integers, lists).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan.zip"
    >>> lineage = pd.DataFrame({"building_id": ["B1"], "from_community_id": ["甲社区"]})
    >>> from gis.export import to_shp_zip
    >>> _ = to_shp_zip({"lineage": lineage}, out, encoding="gbk")
    >>> read_shapefile_zip(out)["lineage"].to_dict("records")
    [{'building_id': 'B1', 'from_community_id': '甲社区'}]
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
        files = extract_zip(path, tmp)
        by_name = {f.name: f for f in files}
        meta: dict[str, Any] = {}
        if "plan.json" in by_name:
            meta = json.loads(by_name["plan.json"].read_text(encoding="utf-8"))
        renames: dict[str, dict[str, str]] = {}
        if "field_names.csv" in by_name:
            with by_name["field_names.csv"].open(encoding="utf-8-sig", newline="") as fh:
                for row in csv.DictReader(fh):
                    renames.setdefault(row["layer"], {})[row["field"]] = row["name"]
        out: dict[str, pd.DataFrame] = {}
        for file in sorted(files):
            suffix = file.suffix.lower()
            if suffix not in {".shp", ".dbf"}:
                continue
            if suffix == ".dbf" and file.with_suffix(".shp").exists():
                continue
            cpg = file.with_suffix(".cpg")
            encoding = (
                cpg.read_text(encoding="ascii", errors="replace").strip() if cpg.exists() else None
            )
            encoding = encoding or meta.get("encoding") or "UTF-8"
            name = file.stem
            if suffix == ".shp":
                frame: pd.DataFrame = pyogrio.read_dataframe(file, encoding=encoding)
            else:
                frame = pyogrio.read_dataframe(file, encoding=encoding, read_geometry=False)
            frame = frame.rename(columns=renames.get(name, {}))
            entry = meta.get("layers", {}).get(name)
            if entry:
                frame = decode_layer(frame, entry)
            out[name] = frame
        if not out:
            msg = N_("The zip {file} holds no shapefile. Export the plan again with --format shp.")
            raise LayerReadError(msg, file=path.name)
        if meta.get("plan"):
            out["plans"] = pd.DataFrame([meta["plan"]])
        return out
