"""Exports planners hand on: GeoPackage, shapefile zip, GeoJSON, KML/KMZ, Excel, PDF atlas.

==========  ===========================================================================
``gpkg``    one plan GeoPackage holding the version (a one-version plan store)
``shp``     one zip with a shapefile per layer (a ``.dbf`` alone for tables), a ``.cpg``
            (UTF-8 by default, GBK on request), field names cut to 10 bytes *in that
            encoding*, and ``field_names.csv`` mapping each short name to the full one
``geojson`` RFC 7946 GeoJSON (WGS84): the grids in ``out``, other map layers beside it
``kml``     KML (``kmz``: zipped) with a folder per map layer; grid code as the name,
            the figures in the description, coloured so neighbours differ
``xlsx``    an Excel report: plan, communities before and after, grids, grid members,
            lineage, patches, the rules with their sources (bold frozen headers)
``pdf``     the atlas (:func:`gis.atlas.write_atlas`)
==========  ===========================================================================

Every file is written to a temporary file in the target's folder and moved into place
with ``os.replace``, so a failed export never leaves half a file under the real name.

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001", "110108001001002"],
...                           "community_id": ["110108001001"] * 2, "households": [40, 36]},
...                          geometry=[box(116.30, 40, 116.31, 40.01),
...                                    box(116.31, 40, 116.32, 40.01)],
...                          crs=4490)
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> [p.name for p in export_plan({"grids": grids}, folder / "plan.kmz")]
['plan.kmz']
>>> [p.name for p in export_plan({"grids": grids}, folder / "plan.xlsx", lang="en")]
['plan.xlsx']
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis.errors import FieldError, GridplanError, LayerReadError
from gis.i18n import N_, translator
from gis.plan import atomic_path

__all__ = [
    "COLUMN_LABELS",
    "ENCODINGS",
    "FORMATS",
    "colour_classes",
    "column_label",
    "communities_before_after",
    "export_plan",
    "read_shapefile_zip",
    "shorten_field_names",
    "to_geojson",
    "to_gpkg",
    "to_kml",
    "to_shp_zip",
    "to_xlsx",
]

FORMATS: tuple[str, ...] = ("gpkg", "shp", "geojson", "kml", "kmz", "xlsx", "pdf")
"""The export formats, as ``--format`` takes them."""

ENCODINGS: dict[str, str] = {"utf-8": "UTF-8", "utf8": "UTF-8", "gbk": "GBK", "gb18030": "GB18030"}
"""Shapefile text encodings: the name a planner types → the ``.cpg`` value."""

_SUFFIX_FORMAT = {
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".shp": "shp",
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
    ".kmz": "kmz",
    ".xlsx": "xlsx",
    ".pdf": "pdf",
}
_MAP_LAYERS = ("grids", "patches", "proposals", "communities")
_NAME_COLUMN = {
    "grids": "grid_code",
    "patches": "patch_id",
    "proposals": "proposal_id",
    "communities": "name",
}

COLUMN_LABELS: dict[str, str] = {
    "grid_code": N_("grid code"),
    "community_id": N_("community code"),
    "name": N_("name"),
    "street": N_("street"),
    "households": N_("households"),
    "residents": N_("residents"),
    "special_service_households": N_("special-service households"),
    "workload": N_("workload"),
    "patch_id": N_("patch"),
    "n_buildings": N_("buildings"),
    "n_grids": N_("grids"),
    "status": N_("status"),
    "reason": N_("reason"),
    "reasons": N_("reasons"),
    "building_id": N_("building"),
    "unit_from": N_("from unit"),
    "unit_to": N_("to unit"),
    "floor_from": N_("from floor"),
    "floor_to": N_("to floor"),
    "proposal_id": N_("proposal"),
    "rank": N_("rank"),
    "part": N_("part"),
    "parent_community_id": N_("parent community"),
    "required_staff": "required_staff",
    "staff": "staff",
    "shortfall": "shortfall",
    "from_community_id": N_("from community"),
    "to_community_id": N_("to community"),
    "area_m2": N_("area (m²)"),
    "rule": N_("rule"),
    "value": N_("value"),
    "source": N_("source"),
    "plan_id": N_("plan id"),
    "version": N_("version"),
    "author": N_("author"),
    "created_at": N_("saved at"),
    "note": N_("note"),
}
"""Display labels (gettext msgids) of the plan's columns, for reports and maps."""

# Friendly 10-character names for the shapefile export (ASCII, so 10 bytes in any encoding).
_SHORT_NAMES: dict[str, str] = {
    "special_service_households": "special_hh",
    "community_id": "comm_id",
    "parent_community_id": "parent_id",
    "from_community_id": "from_comm",
    "to_community_id": "to_comm",
    "required_staff": "req_staff",
    "n_buildings": "n_bldgs",
    "building_id": "bldg_id",
    "proposal_id": "prop_id",
    "households_per_worker": "hh_per_wkr",
    "residents_per_worker": "res_per_wk",
    "estimated_buildings": "n_estimate",
    "households_source": "hh_source",
}
_DBF_TEXT_BYTES = 254


def column_label(column: str, lang: str | None = "zh_CN") -> str:
    """Return the display label of a plan column in ``lang`` (the column itself if unknown).

    Examples
    --------
    >>> column_label("households", "zh_CN"), column_label("grid_code", "en")
    ('户数', 'grid code')
    """
    msgid = COLUMN_LABELS.get(column)
    return translator(lang).gettext(msgid) if msgid else column


# --------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------
def colour_classes(geometries: Sequence[Any] | np.ndarray, *, colours: int = 6) -> np.ndarray:
    """Give each polygon one of ``colours`` classes so that touching polygons differ.

    A greedy colouring, largest degree first; with more neighbours than colours a class
    is reused (the least used among the neighbours).

    Examples
    --------
    >>> from shapely import box
    >>> colour_classes([box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)]).tolist()
    [1, 0, 1]
    """
    geoms = np.asarray(geometries, dtype=object)
    n = len(geoms)
    out = np.full(n, -1, dtype=int)
    if n == 0:
        return out
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    order = sorted(range(n), key=lambda i: (-len(neighbours[i]), i))
    for i in order:
        used = [out[j] for j in neighbours[i] if out[j] >= 0]
        free = [c for c in range(colours) if c not in used]
        out[i] = free[0] if free else int(np.argmin(np.bincount(used, minlength=colours)))
    return out


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell_text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join(_cell_text(v) for v in value)
    return str(value)


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose list cells are joined text (for DBF, KML and Excel)."""
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for column in out.columns:
        if column == geometry:
            continue
        series = out[column]
        if series.dtype == object and any(
            isinstance(v, list | tuple | dict | set | np.ndarray) for v in series
        ):
            out[column] = [
                json.dumps(v, ensure_ascii=False, default=str)
                if isinstance(v, dict)
                else _cell_text(v)
                for v in series
            ]
    return out


def _load(
    plan: Mapping[str, pd.DataFrame] | str | Path, version: int | None
) -> dict[str, pd.DataFrame]:
    if isinstance(plan, Mapping):
        return dict(plan)
    from gis.store import read_exported

    return read_exported(plan, version=version)


def _plans_row(plan: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    rows = plan.get("plans")
    if rows is None or len(rows) == 0:
        return {}
    return {k: (None if _cell_text(v) == "" else v) for k, v in rows.iloc[-1].to_dict().items()}


def _rules_data(plan: Mapping[str, pd.DataFrame], rules: Any) -> dict[str, Any]:
    from gis.store import rules_json

    if rules is not None:
        return json.loads(rules_json(rules))
    text = _plans_row(plan).get("rules")
    if isinstance(text, str) and text.strip():
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}


def _spatial(plan: Mapping[str, pd.DataFrame], names: Sequence[str]) -> dict[str, gpd.GeoDataFrame]:
    return {
        name: plan[name]
        for name in names
        if isinstance(plan.get(name), gpd.GeoDataFrame) and len(plan[name])
    }


# --------------------------------------------------------------------------------------
# GeoPackage
# --------------------------------------------------------------------------------------
def to_gpkg(plan: Mapping[str, pd.DataFrame], out: str | Path) -> Path:
    """Write the plan as a one-version plan GeoPackage (same plan id, version and status).

    It reads back with :class:`gis.store.PlanStore`, :func:`gis.store.read_exported` or
    :func:`gis.plan.read_plan`, and opens in QGIS as it is (one file, no WAL).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_gpkg({"grids": grids}, folder / "plan.gpkg")
    >>> from gis.store import PlanStore
    >>> PlanStore(out).versions()[["version", "status", "author"]].to_dict("records")
    [{'version': 1, 'status': 'draft', 'author': 'gridplan'}]
    """
    from gis.store import write_version

    row = _plans_row(plan)
    layers = {k: v for k, v in plan.items() if k not in {"plans", "reviews"}}
    return write_version(
        out,
        layers,
        plan_id=row.get("plan_id"),
        version=int(row["version"]) if row.get("version") is not None else 1,
        status=str(row.get("status") or "draft"),
        author=str(row.get("author") or "gridplan"),
        created_at=row.get("created_at"),
        note=str(row.get("note") or ""),
        rules=row.get("rules"),
    )


# --------------------------------------------------------------------------------------
# shapefile zip
# --------------------------------------------------------------------------------------
def _cut(text: str, encoding: str, limit: int) -> str:
    """Return the longest prefix of ``text`` that is at most ``limit`` bytes in ``encoding``."""
    out = ""
    for ch in text:
        if len((out + ch).encode(encoding)) > limit:
            break
        out += ch
    return out


def shorten_field_names(
    columns: Sequence[str], *, encoding: str = "utf-8", limit: int = 10
) -> dict[str, str]:
    """Map column names to unique DBF field names of at most ``limit`` bytes in ``encoding``.

    Known long plan columns get readable abbreviations; other names are cut on a
    character boundary (a Chinese character is 2 bytes in GBK and 3 in UTF-8) and made
    unique (ignoring case) with a number.

    Examples
    --------
    >>> columns = ["special_service_households", "households", "楼栋名称及地址"]
    >>> shorten_field_names(columns, encoding="gbk")
    {'special_service_households': 'special_hh', 'households': 'households', '楼栋名称及地址': '楼栋名称及'}
    >>> shorten_field_names(["楼栋名称及地址"], encoding="utf-8")
    {'楼栋名称及地址': '楼栋名'}
    >>> shorten_field_names(["population_2020", "population_2021"])
    {'population_2020': 'population', 'population_2021': 'populati_2'}
    """
    codec = ENCODINGS.get(encoding.lower().replace("_", "-"), encoding)
    taken: set[str] = set()
    out: dict[str, str] = {}
    for column in columns:
        column = str(column)
        wanted = column if len(column.encode(codec)) <= limit else _SHORT_NAMES.get(column, column)
        short = _cut(wanted, codec, limit) or "field"
        n = 1
        while short.lower() in taken:
            n += 1
            suffix = f"_{n}"
            short = _cut(wanted, codec, limit - len(suffix)) + suffix
        taken.add(short.lower())
        out[column] = short
    return out


def _check_encodable(frame: pd.DataFrame, layer: str, codec: str) -> None:
    for column in frame.columns:
        if frame[column].dtype != object and not pd.api.types.is_string_dtype(frame[column]):
            continue
        for value in [column, *frame[column].dropna().tolist()]:
            if not isinstance(value, str):
                continue
            try:
                value.encode(codec)
            except UnicodeEncodeError:
                msg = N_(
                    "Text in layer {layer} ({example!r}) cannot be written in {encoding}. Export "
                    "with the UTF-8 encoding (--encoding utf-8), or correct the text."
                )
                raise FieldError(msg, layer=layer, example=value[:40], encoding=codec) from None


def to_shp_zip(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    encoding: str = "utf-8",
    lang: str | None = "zh_CN",
) -> Path:
    """Write one zip with a shapefile per layer, a ``.cpg`` each and ``field_names.csv``.

    Parameters
    ----------
    plan
        ``{layer: frame}``; tables (``grid_members``, ``lineage``) become a ``.dbf`` alone.
    out
        The ``.zip`` to write.
    encoding
        ``utf-8`` (default; QGIS, ArcGIS Pro) or ``gbk`` (older ArcMap and Chinese
        platforms). Field names are cut to 10 bytes in this encoding.
    lang
        Language of the labels in ``field_names.csv``.

    Raises
    ------
    FieldError
        If some text cannot be written in ``encoding`` (use UTF-8).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_shp_zip({"grids": grids}, folder / "plan.zip", encoding="gbk")
    >>> import zipfile
    >>> sorted(zipfile.ZipFile(out).namelist())[:4]
    ['field_names.csv', 'grids.cpg', 'grids.dbf', 'grids.prj']
    """
    from gis.store import _prepare

    key = encoding.lower().replace("_", "-")
    if key not in ENCODINGS:
        msg = N_("{encoding!r} is not a shapefile encoding gridplan writes. Use utf-8 or gbk.")
        raise GridplanError(msg, encoding=encoding)
    codec = ENCODINGS[key]
    out = Path(out)
    tr = translator(lang).gettext
    mapping_rows: list[dict[str, str]] = []
    manifest: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gridplan-shp-") as tmp_dir, atomic_path(out) as tmp:
        folder = Path(tmp_dir)
        for name, frame in plan.items():
            if name in {"plans", "reviews"}:
                continue
            prepared, entry = _prepare(name, frame)
            manifest[name] = entry
            _check_encodable(prepared, name, codec)
            spatial = isinstance(prepared, gpd.GeoDataFrame)
            columns = [c for c in prepared.columns if not (spatial and c == prepared.geometry.name)]
            short = shorten_field_names(columns, encoding=codec)
            notes: dict[str, str] = {}
            for column in columns:
                series = prepared[column]
                if series.dtype == object or pd.api.types.is_string_dtype(series):
                    too_long = series.map(
                        lambda v: isinstance(v, str) and len(v.encode(codec)) > _DBF_TEXT_BYTES
                    )
                    if too_long.any():
                        prepared[column] = [
                            _cut(v, codec, _DBF_TEXT_BYTES) if isinstance(v, str) else v
                            for v in series
                        ]
                        notes[column] = tr(
                            N_("text longer than 254 bytes was cut (see the GeoPackage)")
                        )
            renamed = prepared.rename(columns=short)
            file = f"{name}.shp" if spatial else f"{name}.dbf"
            if spatial:
                pyogrio.write_dataframe(
                    renamed, folder / file, driver="ESRI Shapefile", encoding=codec
                )
            else:
                pyogrio.write_dataframe(
                    pd.DataFrame(renamed), folder / file, driver="ESRI Shapefile", encoding=codec
                )
            for column in columns:
                mapping_rows.append(
                    {
                        "layer": name,
                        "file": file,
                        "field": short[column],
                        "name": column,
                        "label": column_label(column, lang),
                        "note": notes.get(column, ""),
                    }
                )
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=["layer", "file", "field", "name", "label", "note"]
        )
        writer.writeheader()
        writer.writerows(mapping_rows)
        meta = {"encoding": codec, "layers": manifest, "plan": _plans_row(plan)}
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for written in sorted(folder.iterdir()):
                zf.write(written, arcname=written.name)
            zf.writestr(
                "field_names.csv", "\ufeff" + buffer.getvalue()
            )  # BOM: Excel/WPS read UTF-8
            zf.writestr("plan.json", json.dumps(meta, ensure_ascii=False, indent=1, default=str))
    return out


def read_shapefile_zip(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read a zip written by :func:`to_shp_zip` back into the plan's layers.

    The ``.cpg`` of each layer gives its encoding, ``field_names.csv`` the full field
    names and ``plan.json`` the column types (nullable integers, lists).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan.zip"
    >>> lineage = pd.DataFrame({"building_id": ["B1"], "from_community_id": ["甲社区"]})
    >>> _ = to_shp_zip({"lineage": lineage}, out, encoding="gbk")
    >>> read_shapefile_zip(out)["lineage"].to_dict("records")
    [{'building_id': 'B1', 'from_community_id': '甲社区'}]
    """
    from gis.store import _restore
    from gis.zipsafe import extract_zip

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
                frame = _restore(frame, entry)
            out[name] = frame
        if not out:
            msg = N_("The zip {file} holds no shapefile. Export the plan again with --format shp.")
            raise LayerReadError(msg, file=path.name)
        if meta.get("plan"):
            out["plans"] = pd.DataFrame([meta["plan"]])
        return out


# --------------------------------------------------------------------------------------
# GeoJSON
# --------------------------------------------------------------------------------------
def to_geojson(plan: Mapping[str, pd.DataFrame], out: str | Path) -> list[Path]:
    """Write the map layers as RFC 7946 GeoJSON (WGS84, 7 decimals).

    The grids (or the first map layer) go to ``out``; every other map layer to
    ``<stem>_<layer>.geojson`` beside it. Tables have no place in GeoJSON: use the
    GeoPackage or Excel export for them.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in to_geojson({"grids": grids}, folder / "grids.geojson")]
    ['grids.geojson']
    """
    out = Path(out)
    layers = _spatial(plan, _MAP_LAYERS)
    if not layers:
        msg = N_("The plan has no map layer (grids, patches, proposals) to write as {format}.")
        raise GridplanError(msg, format="GeoJSON")
    written: list[Path] = []
    for i, (name, frame) in enumerate(layers.items()):
        target = out if i == 0 else out.with_name(f"{out.stem}_{name}{out.suffix or '.geojson'}")
        flat = _plain_frame(frame).to_crs(4326)
        with atomic_path(target) as tmp:
            pyogrio.write_dataframe(
                flat,
                tmp,
                driver="GeoJSON",
                layer=name,
                layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7, "WRITE_NAME": "NO"},
            )
        written.append(target)
    return written


# --------------------------------------------------------------------------------------
# KML / KMZ
# --------------------------------------------------------------------------------------
# KML colours are aabbggrr. A qualitative palette (ColorBrewer Set2) for fills.
_PALETTE = ("66c2a5", "fc8d62", "8da0cb", "e78ac3", "a6d854", "ffd92f", "e5c494", "b3b3b3")


def _kml_colour(rgb: str, alpha: int) -> str:
    return f"{alpha:02x}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"


def _kml_ring(ring: Any) -> str:
    coords = np.asarray(ring.coords)
    return " ".join(f"{x:.7f},{y:.7f}" for x, y in coords[:, :2])


def _kml_geometry(geom: Any) -> str:
    if geom is None or geom.is_empty:
        return ""
    kind = geom.geom_type
    if kind == "Polygon":
        inner = "".join(
            f"<innerBoundaryIs><LinearRing><coordinates>{_kml_ring(r)}</coordinates></LinearRing></innerBoundaryIs>"
            for r in geom.interiors
        )
        return (
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_kml_ring(geom.exterior)}"
            f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>"
        )
    if kind == "LineString":
        return f"<LineString><coordinates>{_kml_ring(geom)}</coordinates></LineString>"
    if kind == "Point":
        return f"<Point><coordinates>{geom.x:.7f},{geom.y:.7f}</coordinates></Point>"
    parts = "".join(_kml_geometry(g) for g in shapely.get_parts(geom))
    return f"<MultiGeometry>{parts}</MultiGeometry>"


def _kml_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "double"
    return "string"


def _kml_document(plan: Mapping[str, pd.DataFrame], *, lang: str | None, title: str | None) -> str:
    tr = translator(lang).gettext
    layers = _spatial(plan, _MAP_LAYERS)
    if not layers:
        msg = N_("The plan has no map layer (grids, patches, proposals) to write as {format}.")
        raise GridplanError(msg, format="KML")
    communities = plan.get("communities")
    community_names: dict[str, str] = {}
    if isinstance(communities, pd.DataFrame) and {"community_id", "name"} <= set(
        communities.columns
    ):
        community_names = dict(
            zip(
                communities["community_id"].astype(str),
                communities["name"].map(_cell_text),
                strict=True,
            )
        )
    parts: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>',
        f"<name>{escape(title or tr(N_('Grid plan')))}</name>",
    ]
    for i, rgb in enumerate(_PALETTE):
        parts.append(
            f'<Style id="fill{i}"><LineStyle><color>ff333333</color><width>1.2</width></LineStyle>'
            f"<PolyStyle><color>{_kml_colour(rgb, 0x80)}</color></PolyStyle>"
            f"<LabelStyle><scale>0.8</scale></LabelStyle></Style>"
        )
    parts.append(
        '<Style id="outline"><LineStyle><color>ff1f1fd6</color><width>3</width></LineStyle>'
        "<PolyStyle><fill>0</fill></PolyStyle></Style>"
    )
    for name, frame in layers.items():
        flat = _plain_frame(frame).to_crs(4326)
        geometry = flat.geometry.name
        columns = [c for c in flat.columns if c != geometry]
        fields = "".join(
            f'<SimpleField name={quoteattr(str(c))} type="{_kml_type(flat[c])}">'
            f"<displayName>{escape(column_label(str(c), lang))}</displayName></SimpleField>"
            for c in columns
        )
        parts.append(f'<Schema name="{name}" id="{name}">{fields}</Schema>')
    for name, frame in layers.items():
        flat = _plain_frame(frame).to_crs(4326)
        geometry = flat.geometry.name
        columns = [c for c in flat.columns if c != geometry]
        filled = name in {"grids", "proposals"}
        if name == "proposals" and "part" in flat:
            classes = (
                pd.to_numeric(flat["part"], errors="coerce").fillna(1).astype(int) - 1
            ).to_numpy()
        else:
            classes = colour_classes(flat.geometry.values, colours=len(_PALETTE))
        folder_name = tr(_LAYER_TITLES.get(name, name))
        parts.append(f"<Folder><name>{escape(folder_name)}</name>")
        name_column = _NAME_COLUMN.get(name)
        for row, cls in zip(flat.itertuples(index=False), classes, strict=True):
            values = dict(zip(flat.columns, row, strict=True))
            label = _cell_text(values.get(name_column)) if name_column else ""
            if name == "proposals" and "part" in values:
                label = f"{label} #{_cell_text(values['part'])}"
            if name == "communities" and not label:
                label = _cell_text(values.get("community_id"))
            lines = []
            community = community_names.get(_cell_text(values.get("community_id")))
            if community:
                lines.append(
                    f"<tr><td>{escape(tr(N_('community')))}</td><td>{escape(community)}</td></tr>"
                )
            for column in columns:
                text = _cell_text(values[column])
                if text:
                    lines.append(
                        f"<tr><td>{escape(column_label(str(column), lang))}</td><td>{escape(text)}</td></tr>"
                    )
            description = "<table>" + "".join(lines) + "</table>"
            data = "".join(
                f"<SimpleData name={quoteattr(str(c))}>{escape(_cell_text(values[c]))}</SimpleData>"
                for c in columns
                if _cell_text(values[c]) != ""
            )
            style = f"#fill{int(cls) % len(_PALETTE)}" if filled else "#outline"
            parts.append(
                f"<Placemark><name>{escape(label)}</name>"
                f"<description><![CDATA[{description.replace(']]>', ']]&gt;')}]]></description>"
                f"<styleUrl>{style}</styleUrl>"
                f'<ExtendedData><SchemaData schemaUrl="#{name}">{data}</SchemaData></ExtendedData>'
                f"{_kml_geometry(values[geometry])}</Placemark>"
            )
        parts.append("</Folder>")
    parts.append("</Document>\n</kml>\n")
    return "\n".join(parts)


_LAYER_TITLES: dict[str, str] = {
    "grids": N_("grids"),
    "patches": N_("worker patches"),
    "proposals": N_("split proposals"),
    "communities": N_("communities"),
}


def to_kml(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    lang: str | None = "zh_CN",
    title: str | None = None,
) -> Path:
    """Write the map layers as KML, or KMZ when ``out`` ends in ``.kmz``.

    One folder per layer (grids, patches, proposals, communities); a grid's name is its
    code, its description a table of its figures with labels in ``lang``; neighbouring
    grids get different colours. Coordinates in WGS84 (KML's only CRS).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_kml({"grids": grids}, folder / "plan.kml", lang="zh_CN")
    >>> "<name>110108001001001</name>" in out.read_text(encoding="utf-8")
    True
    """
    out = Path(out)
    document = _kml_document(plan, lang=lang, title=title)
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".kmz":
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("doc.kml", document.encode("utf-8"))
        else:
            tmp.write_text(document, encoding="utf-8")
    return out


# --------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------
def communities_before_after(plan: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the communities before and after the plan, one row each.

    *Before* is the plan's ``communities`` layer when it has one, otherwise totals over
    ``lineage`` or ``grids``. *After* replaces every split community by its new parts
    (``lineage`` totals, with residents and staff from the rank-1 ``proposals``); both
    count the grids of each community.

    Examples
    --------
    >>> lineage = pd.DataFrame({"building_id": ["B1", "B2", "B3"], "households": [10, 20, 30],
    ...                         "from_community_id": ["C"] * 3,
    ...                         "to_community_id": ["C-1", "C-2", "C-2"]})
    >>> before, after = communities_before_after({"lineage": lineage})
    >>> before[["community_id", "households"]].to_dict("records")
    [{'community_id': 'C', 'households': 60}]
    >>> after[["community_id", "households", "n_buildings"]].to_dict("records")
    [{'community_id': 'C-1', 'households': 10, 'n_buildings': 1},
     {'community_id': 'C-2', 'households': 50, 'n_buildings': 2}]
    """
    grids = plan.get("grids")
    lineage = plan.get("lineage")
    proposals = plan.get("proposals")
    communities = plan.get("communities")
    wanted = [
        "community_id",
        "name",
        "street",
        "households",
        "residents",
        "special_service_households",
        "n_buildings",
        "staff",
        "required_staff",
        "status",
    ]
    if isinstance(communities, pd.DataFrame) and "community_id" in communities:
        before = pd.DataFrame(communities[[c for c in wanted if c in communities]]).copy()
    elif isinstance(lineage, pd.DataFrame) and len(lineage):
        before = (
            lineage.groupby("from_community_id", sort=True)
            .agg(households=("households", "sum"), n_buildings=("building_id", "size"))
            .reset_index()
            .rename(columns={"from_community_id": "community_id"})
        )
    elif isinstance(grids, pd.DataFrame) and "community_id" in grids:
        sums = [
            c
            for c in ("households", "residents", "special_service_households", "n_buildings")
            if c in grids
        ]
        before = pd.DataFrame(grids).groupby("community_id", sort=True)[sums].sum().reset_index()
    else:
        before = pd.DataFrame(columns=["community_id"])
    before["community_id"] = before["community_id"].astype(str)
    after = before.copy()
    if isinstance(lineage, pd.DataFrame) and len(lineage):
        parts = (
            lineage.groupby(["from_community_id", "to_community_id"], sort=True)
            .agg(households=("households", "sum"), n_buildings=("building_id", "size"))
            .reset_index()
        )
        parts["from_community_id"] = parts["from_community_id"].astype(str)
        if isinstance(proposals, pd.DataFrame) and len(proposals) and "rank" in proposals:
            best = pd.DataFrame(proposals[proposals["rank"] == proposals["rank"].min()]).copy()
            best["to_community_id"] = (
                best["parent_community_id"].astype(str) + "-" + best["part"].astype(str)
            )
            extra = [
                c
                for c in ("residents", "special_service_households", "required_staff")
                if c in best
            ]
            parts = parts.merge(best[["to_community_id", *extra]], on="to_community_id", how="left")
        parts = parts.rename(
            columns={"to_community_id": "community_id", "from_community_id": "parent_community_id"}
        )
        kept = after[~after["community_id"].isin(set(parts["parent_community_id"]))]
        after = pd.concat([kept, parts], ignore_index=True)
        if "name" in after and "parent_community_id" in after:
            names = dict(
                zip(before["community_id"], before.get("name", before["community_id"]), strict=True)
            )
            missing = after["name"].isna()
            after.loc[missing, "name"] = [
                f"{names.get(str(p), p)} ({c.rsplit('-', 1)[-1]})"
                for p, c in zip(
                    after.loc[missing, "parent_community_id"],
                    after.loc[missing, "community_id"],
                    strict=True,
                )
            ]
    if isinstance(grids, pd.DataFrame) and "community_id" in grids and len(grids):
        counts = grids["community_id"].astype(str).value_counts()
        before["n_grids"] = before["community_id"].map(counts).fillna(0).astype(int)
        if not (isinstance(lineage, pd.DataFrame) and len(lineage)):
            after["n_grids"] = after["community_id"].map(counts).fillna(0).astype(int)
    return before.reset_index(drop=True), after.reset_index(drop=True)


def _sheet_name(text: str, taken: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31] or "sheet"
    name, n = clean, 1
    while name.lower() in taken:
        n += 1
        name = f"{clean[:28]} {n}"
    taken.add(name.lower())
    return name


def to_xlsx(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    lang: str | None = "zh_CN",
    rules: Any = None,
) -> Path:
    """Write the Excel report: one formatted sheet per table.

    Sheets: the plan (id, version, status, author, totals), communities before and
    after, grids (with their area), grid members, lineage, patches, proposals and the
    rules with their sources — those the plan has. Headers are bold and frozen, with a
    filter; columns are as wide as their content (CJK characters count double).

    Parameters
    ----------
    plan
        The plan's layers (and its ``plans`` row).
    out
        The ``.xlsx`` to write.
    lang
        Language of the sheet names and headers.
    rules
        The rule set, when the plan does not carry its own (``plans.rules``).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> out = to_xlsx({"grids": grids}, folder / "plan.xlsx", lang="en")
    >>> list(pd.read_excel(out, sheet_name=None, engine="calamine"))
    ['Plan', 'Grids']
    """
    import xlsxwriter

    tr = translator(lang).gettext
    out = Path(out)
    sheets: list[tuple[str, pd.DataFrame]] = []
    row = _plans_row(plan)
    grids = plan.get("grids")
    summary_rows = [
        (column_label(k, lang), tr(str(row[k])) if k == "status" else _cell_text(row[k]))
        for k in ("plan_id", "version", "status", "author", "created_at", "note")
        if row.get(k) is not None
    ]
    if isinstance(grids, pd.DataFrame) and len(grids):
        hh = (
            pd.to_numeric(grids["households"], errors="coerce")
            if "households" in grids
            else pd.Series(dtype=float)
        )
        summary_rows += [
            (tr(N_("grids")), str(len(grids))),
            (tr("households"), str(int(hh.sum())) if len(hh) else ""),
            (tr(N_("smallest grid (households)")), str(int(hh.min())) if len(hh) else ""),
            (tr(N_("largest grid (households)")), str(int(hh.max())) if len(hh) else ""),
        ]
    sheets.append(
        (
            tr(N_("Plan")),
            pd.DataFrame(summary_rows, columns=[tr(N_("item")), column_label("value", lang)]),
        )
    )
    before, after = communities_before_after(plan)
    if len(before):
        sheets.append((tr(N_("Communities before")), before))
        sheets.append((tr(N_("Communities after")), after))
    if isinstance(grids, pd.DataFrame) and len(grids):
        table = pd.DataFrame(
            grids.drop(columns=grids.geometry.name)
            if isinstance(grids, gpd.GeoDataFrame)
            else grids
        ).copy()
        if isinstance(grids, gpd.GeoDataFrame) and grids.crs is not None:
            from gis.crs import to_metric

            table["area_m2"] = to_metric(grids).area.round(0).to_numpy()
        sheets.append((tr(N_("Grids")), table))
    for key, title in (
        ("grid_members", N_("Grid members")),
        ("lineage", N_("Lineage")),
        ("patches", N_("Worker patches")),
        ("proposals", N_("Split proposals")),
    ):
        frame = plan.get(key)
        if isinstance(frame, pd.DataFrame) and len(frame):
            if isinstance(frame, gpd.GeoDataFrame):
                frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
            sheets.append((tr(title), frame))
    data = _rules_data(plan, rules)
    sources = data.get("sources") or [
        {"rule": k, "value": str(v), "source": ""} for k, v in (data.get("values") or {}).items()
    ]
    if sources:
        sheets.append(
            (
                tr("Rules and their sources"),
                pd.DataFrame(sources, columns=["rule", "value", "source"]),
            )
        )
    with atomic_path(out) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_urls": False, "strings_to_numbers": False}
        )
        header = book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        integer = book.add_format({"num_format": "0"})
        decimal = book.add_format({"num_format": "0.0##"})
        taken: set[str] = set()
        for title, frame in sheets:
            sheet = book.add_worksheet(_sheet_name(title, taken))
            columns = [str(c) for c in frame.columns]
            labels = [column_label(c, lang) for c in columns]
            widths = [_display_width(label) for label in labels]
            for j, label in enumerate(labels):
                sheet.write_string(0, j, label, header)
            for i, values in enumerate(frame.itertuples(index=False), start=1):
                for j, value in enumerate(values):
                    if (
                        value is None
                        or value is pd.NA
                        or (isinstance(value, float) and math.isnan(value))
                    ):
                        continue
                    if isinstance(value, bool | np.bool_):
                        sheet.write_boolean(i, j, bool(value))
                        text = str(bool(value))
                    elif isinstance(value, int | np.integer):
                        sheet.write_number(i, j, int(value), integer)
                        text = str(value)
                    elif isinstance(value, float | np.floating):
                        sheet.write_number(i, j, float(value), decimal)
                        text = f"{value:.3g}"
                    else:
                        text = _cell_text(value)
                        sheet.write_string(i, j, text)
                    if i <= 2000:
                        widths[j] = max(widths[j], _display_width(text))
            for j, width in enumerate(widths):
                sheet.set_column(j, j, min(max(width + 2, 8), 60))
            sheet.freeze_panes(1, 0)
            if len(frame):
                sheet.autofilter(0, 0, len(frame), max(len(columns) - 1, 0))
        book.close()
    return out


# --------------------------------------------------------------------------------------
# the one entry point
# --------------------------------------------------------------------------------------
def export_plan(
    plan: Mapping[str, pd.DataFrame] | str | Path,
    out: str | Path,
    *,
    format: str | None = None,
    encoding: str = "utf-8",
    lang: str | None = "zh_CN",
    version: int | None = None,
    rules: Any = None,
    title: str | None = None,
    attribution: str = "",
    context: Mapping[str, pd.DataFrame] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Export a plan in one of :data:`FORMATS`; return the files written.

    Parameters
    ----------
    plan
        ``{layer: frame}`` (as :meth:`gis.store.PlanStore.load` returns), or a path to a
        plan store, plan GeoPackage or shapefile-zip export.
    out
        The file to write. For GeoJSON, other map layers are written beside it.
    format
        One of :data:`FORMATS`; guessed from ``out``'s suffix when omitted.
    encoding
        Shapefile text encoding: ``utf-8`` (default) or ``gbk``.
    lang
        Language of labels, sheet names and the atlas.
    version
        Which version of a plan store (the latest by default).
    rules
        The rule set, when the plan does not carry its own.
    title, attribution
        Title (KML, atlas) and data attribution (atlas), e.g. ``© OpenStreetMap
        contributors``.
    context
        Extra layers for the atlas (``buildings``, ``roads``, ``compounds``,
        ``communities``) when the plan does not hold them.
    progress
        Called with ``(page, pages)`` while the atlas is drawn.

    Returns
    -------
    list of Path

    Raises
    ------
    GridplanError
        On an unknown format or encoding, or a plan without the layers a format needs.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.30, 40.00, 116.31, 40.01)], crs=4490)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in export_plan({"grids": grids}, folder / "plan.shp", format="shp")]
    ['plan.zip']
    """
    fmt = (format or _SUFFIX_FORMAT.get(Path(out).suffix.lower(), "")).lower()
    if fmt not in FORMATS:
        msg = N_("{format!r} is not an export format. Use one of: {formats}.")
        raise GridplanError(msg, format=format or Path(out).suffix, formats=", ".join(FORMATS))
    layers = _load(plan, version)
    out = Path(out)
    if fmt == "gpkg":
        return [to_gpkg(layers, out)]
    if fmt == "shp":
        if out.suffix.lower() != ".zip":
            out = out.with_suffix(".zip")
        return [to_shp_zip(layers, out, encoding=encoding, lang=lang)]
    if fmt == "geojson":
        return to_geojson(layers, out)
    if fmt in {"kml", "kmz"}:
        if fmt == "kmz" and out.suffix.lower() != ".kmz":
            out = out.with_suffix(".kmz")
        return [to_kml(layers, out, lang=lang, title=title)]
    if fmt == "xlsx":
        return [to_xlsx(layers, out, lang=lang, rules=rules)]
    from gis.atlas import write_atlas

    merged = {**dict(context or {}), **layers}
    return [
        write_atlas(
            merged,
            out,
            lang=lang,
            rules=rules,
            title=title,
            attribution=attribution,
            progress=progress,
        )
    ]
