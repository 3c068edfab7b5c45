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

import tempfile
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

from gis.crs import STORAGE_CRS, ensure_crs
from gis.errors import GridplanError, LayerReadError
from gis.fields import canonical_layer, map_fields
from gis.i18n import N_
from gis.zipsafe import ZipLimits, extract_zip

__all__ = [
    "LAYERS",
    "SPATIAL_SUFFIXES",
    "TABLE_SUFFIXES",
    "Note",
    "Project",
    "detect_dbf_encoding",
    "read_layer",
    "read_project",
    "read_table",
]

LAYERS: tuple[str, ...] = (
    "buildings",
    "communities",
    "compounds",
    "roads",
    "waterways",
    "barriers",
    "service_centres",
)
SPATIAL_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".zip")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xls", ".xlsm", ".ods")


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
def detect_dbf_encoding(dbf: Path) -> str | None:
    """Guess the text encoding of a ``.dbf`` that has no ``.cpg``.

    Returns ``"UTF-8"`` when the text is valid UTF-8 (plain ASCII included),
    ``"GB18030"`` when it decodes as GB18030 (a superset of GBK/CP936), or ``None``.

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
    header_len = int.from_bytes(data[8:10], "little") or 32
    body = data[header_len:] if header_len < len(data) else data[32:]
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "UTF-8"
    try:
        body.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "GB18030"


def _shapefile_options(path: Path, encoding: str | None, layer: str) -> tuple[dict[str, Any], list[Note]]:
    notes: list[Note] = []
    options: dict[str, Any] = {}
    siblings = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*")}
    if ".dbf" not in siblings:
        msg = N_("The shapefile {file} has no .dbf file beside it, so it has no attributes. Add the .dbf.")
        raise LayerReadError(msg, file=path.name)
    if ".shx" not in siblings:
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
        notes.append(Note(layer, N_("The .shx index of {file} was missing and has been rebuilt."), {"file": path.name}))
    if encoding:
        options["encoding"] = encoding
    elif ".cpg" not in siblings:
        detected = detect_dbf_encoding(siblings[".dbf"])
        if detected is None:
            msg = N_(
                "The attributes of {file} are in an unknown text encoding (no .cpg file). Tell "
                "gridplan the encoding: --encoding gbk (Chinese Windows) or utf-8."
            )
            raise LayerReadError(msg, file=path.name)
        options["encoding"] = detected
        if detected != "UTF-8":
            notes.append(
                Note(
                    layer,
                    N_("{file} has no .cpg; its text was detected as {encoding} (Chinese Windows)."),
                    {"file": path.name, "encoding": detected},
                )
            )
    return options, notes


# --------------------------------------------------------------------------------------
# single files
# --------------------------------------------------------------------------------------
def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or Excel table (a roster) with pandas; Excel through calamine.

    CSV text is decoded as UTF-8 (with or without BOM) or, failing that, GB18030.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            raw = path.read_bytes()
            if not raw.strip():
                msg = N_("The file {file} is empty.")
                raise LayerReadError(msg, file=path.name)
            for encoding in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                msg = N_("The table {file} is neither UTF-8 nor GBK text. Save it as UTF-8 CSV.")
                raise LayerReadError(msg, file=path.name)
            import io as _io

            return pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_excel(path, sheet_name=sheet or 0, engine="calamine")
    except GridplanError:
        raise
    except Exception as exc:  # pandas/calamine raise many types for a broken file
        msg = N_("The table {file} cannot be read ({error}). Open it in Excel/WPS and save it again as .xlsx.")
        raise LayerReadError(msg, file=path.name, error=type(exc).__name__) from None


def _layer_names(path: Path) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, DataLayerError, OSError):
        return []


def _read_vector(path: Path, *, layer: str | None, encoding: str | None, role: str) -> tuple[gpd.GeoDataFrame, list[Note]]:
    notes: list[Note] = []
    options: dict[str, Any] = {}
    suffix = path.suffix.lower()
    if not path.exists():
        msg = N_("The file {file} does not exist.")
        raise LayerReadError(msg, file=str(path))
    if path.is_file() and path.stat().st_size == 0:
        msg = N_("The file {file} is empty.")
        raise LayerReadError(msg, file=path.name)
    if suffix == ".shp":
        options, notes = _shapefile_options(path, encoding, role)
    elif encoding:
        options["encoding"] = encoding
    source: str | Path = path
    if suffix == ".kmz":
        source = f"/vsizip/{path}"
        inner = [n for n in _layer_names(Path(source))]
        if not inner:
            msg = N_("The KMZ {file} holds no KML layer.")
            raise LayerReadError(msg, file=path.name)
    try:
        gdf = gpd.read_file(source, layer=layer, **options)
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
            raise LayerReadError(msg, file=path.name, layer=layer, layers=", ".join(_layer_names(path))) from None
        msg = N_("{file} cannot be read: it is damaged or incomplete ({error}). Export it again.")
        raise LayerReadError(msg, file=path.name, error=text.splitlines()[0][:160]) from None
    except (UnicodeDecodeError, LookupError):
        msg = N_("The text in {file} is not in the encoding {encoding}. Try --encoding gbk or utf-8.")
        raise LayerReadError(msg, file=path.name, encoding=encoding or "auto") from None
    except (ValueError, OSError) as exc:
        msg = N_("{file} cannot be read: it is damaged or incomplete ({error}). Export it again.")
        raise LayerReadError(msg, file=path.name, error=str(exc).splitlines()[0][:160]) from None
    _check_mojibake(gdf, path, role)
    return gdf, notes


_MOJIBAKE = frozenset("ÃÂÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ")


def _check_mojibake(gdf: pd.DataFrame, path: Path, role: str) -> None:
    """Refuse text that was decoded as Latin-1 although it was GBK (silent mojibake)."""
    for column in gdf.columns:
        if gdf[column].dtype != object or column == "geometry":
            continue
        sample = gdf[column].dropna().astype(str).head(200)
        text = "".join(sample)
        if len(text) >= 4 and sum(ch in _MOJIBAKE for ch in text) / len(text) > 0.3:
            msg = N_(
                "The text in column {column} of {file} looks garbled (e.g. {example!r}): it is "
                "probably GBK read as Latin-1. Read it again with --encoding gbk, or add a .cpg "
                "file containing GBK."
            )
            raise LayerReadError(msg, column=column, file=path.name, example=sample.iloc[0][:12])


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
    path = Path(source)
    role = role or canonical_layer(layer or path.stem) or "buildings"
    with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
        if path.suffix.lower() == ".zip":
            members = [m for m in _resolve_zip(path, Path(tmp), limits) if m.suffix.lower() != ".csv"]
            if len(members) != 1 and layer is None:
                names = ", ".join(m.name for m in members)
                msg = N_("The zip {file} holds several layers ({names}); read it as a project instead.")
                raise LayerReadError(msg, file=path.name, names=names)
            chosen = members[0] if layer is None else next((m for m in members if m.stem == layer), members[0])
            gdf, notes = _read_vector(chosen, layer=None, encoding=encoding, role=role)
        else:
            gdf, notes = _read_vector(path, layer=layer, encoding=encoding, role=role)
    frame, mapping = _to_contract(gdf, role=role, crs=crs, overrides=overrides)
    return frame, mapping, notes


def _to_contract(
    gdf: gpd.GeoDataFrame, *, role: str, crs: Any, overrides: Mapping[str, str] | None
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        msg = N_("Layer {layer} has no geometry column. A map layer needs shapes, not only a table.")
        raise LayerReadError(msg, layer=role)
    mapped, mapping = map_fields(gdf, layer=role, overrides=overrides)
    mapped = gpd.GeoDataFrame(mapped, geometry="geometry", crs=gdf.crs)
    declared = crs if crs is not None and gdf.crs is None else gdf.crs
    out = ensure_crs(mapped, layer=role, crs=crs)
    out.attrs["source_crs"] = _crs_label(declared)
    return out, mapping


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
_RESIDENTIAL = frozenset({"apartments", "residential", "house", "terrace", "detached", "semidetached_house"})


def _is_osm(path: Path, names: list[str]) -> bool:
    if "residential_areas" not in names and "export_bounds" not in names and "tile_coverage" not in names:
        return False
    info = pyogrio.read_info(path, layer="buildings") if "buildings" in names else None
    fields = set(info["fields"]) if info is not None else set()
    return bool(fields & {"osm_id", "kind_detail", "tags"})


def _osm_floors(b: gpd.GeoDataFrame) -> tuple[pd.Series, pd.Series]:
    levels = pd.to_numeric(b.get("building:levels"), errors="coerce") if "building:levels" in b else None
    height = pd.to_numeric(b.get("height"), errors="coerce") if "height" in b else None
    floors = pd.Series(np.nan, index=b.index)
    source = pd.Series(pd.NA, index=b.index, dtype="string")
    if levels is not None:
        floors = floors.fillna(levels.round())
        source = source.mask(levels.notna(), "osm_building_levels")
    if height is not None:
        tilezen = "kind_detail" in b  # Tilezen writes height = levels × 3 + 2
        from_height = ((height - 2) / 3).round().clip(lower=1) if tilezen else (height / 3).round().clip(lower=1)
        floors = floors.fillna(from_height)
        source = source.mask(source.isna() & height.notna(), "osm_height")
    return floors, source


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
        cid = residential_areas["osm_id"] if "osm_id" in residential_areas else residential_areas["id"].astype(str)
        compounds = gpd.GeoDataFrame(
            {"compound_id": cid.astype(str).values, "name": residential_areas.get("name")},
            geometry=residential_areas.geometry.values,
            crs=STORAGE_CRS,
        )
    roads_parts = []
    roads = layer("roads")
    if roads is not None:
        road_class = roads["highway"] if "highway" in roads else roads["kind_detail"].fillna(roads["kind"])
        if "kind" in roads:
            road_class = road_class.where(~roads["kind"].eq("rail"), "rail")
        roads_parts.append(
            gpd.GeoDataFrame({"name": roads.get("name"), "road_class": road_class}, geometry=roads.geometry, crs=STORAGE_CRS)
        )
    railways = layer("railways")
    if railways is not None:
        roads_parts.append(
            gpd.GeoDataFrame(
                {"name": None, "road_class": "rail"}, index=railways.index, geometry=railways.geometry, crs=STORAGE_CRS
            )
        )
    roads_all = (
        gpd.GeoDataFrame(pd.concat(roads_parts, ignore_index=True), crs=STORAGE_CRS) if roads_parts else None
    )
    water_parts = [w for w in (layer("waterways"), layer("water_areas")) if w is not None]
    waterways = (
        gpd.GeoDataFrame(
            pd.concat([w[["geometry"]].assign(name=w.get("name")) for w in water_parts], ignore_index=True),
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
    bounds_layer = layer("export_bounds") if "export_bounds" in names else layer("tile_coverage")
    study_area = shapely.union_all(bounds_layer.geometry.values) if bounds_layer is not None else None
    notes = (Note("buildings", N_("OpenStreetMap layers were mapped onto the gridplan layers."), {}),)
    return Project(
        buildings=buildings,
        compounds=compounds,
        roads=roads_all,
        waterways=waterways,
        barriers=barriers,
        study_area=study_area,
        mapping={
            "buildings": {"osm_id": "building_id", "building:levels": "floors", "building": "is_residential"},
            "compounds": {"residential_areas": "compounds"},
        },
        notes=notes,
        source=str(path),
    )


# --------------------------------------------------------------------------------------
# projects
# --------------------------------------------------------------------------------------
def _collect_files(path: Path, workdir: Path, limits: ZipLimits | None) -> list[tuple[Path, str | None]]:
    """Return ``(file, layer-in-file)`` pairs for a GPKG, a zip, a folder or a single file."""
    suffix = path.suffix.lower()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SPATIAL_SUFFIXES + TABLE_SUFFIXES)
    elif suffix == ".zip":
        files = _resolve_zip(path, workdir, limits)
    else:
        files = [path]
    pairs: list[tuple[Path, str | None]] = []
    for file in files:
        if file.suffix.lower() == ".gpkg":
            names = _layer_names(file)
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
        A CRS to declare for layers that have none.
    overrides
        Field mappings chosen by hand, ``{layer: {original: contract}}``.
    limits
        Bounds for zip uploads.

    Raises
    ------
    LayerReadError
        If a file cannot be read, or there is no buildings layer.
    """
    overrides = overrides or {}
    if isinstance(source, Mapping):
        entries = [(Path(p), None, role) for role, p in source.items()]
        label = ", ".join(str(p) for p in source.values())
        return _assemble(entries, encoding=encoding, crs=crs, overrides=overrides, limits=limits, label=label)
    path = Path(source)
    if not path.exists():
        msg = N_("The file {file} does not exist.")
        raise LayerReadError(msg, file=str(path))
    if path.suffix.lower() == ".gpkg":
        if path.stat().st_size == 0:
            msg = N_("The file {file} is empty.")
            raise LayerReadError(msg, file=path.name)
        names = _layer_names(path)
        if names and _is_osm(path, names):
            return _read_osm(path, names)
    with tempfile.TemporaryDirectory(prefix="gridplan-") as tmp:
        pairs = _collect_files(path, Path(tmp), limits)
        entries = [(file, layer, None) for file, layer in pairs]
        return _assemble(entries, encoding=encoding, crs=crs, overrides=overrides, limits=limits, label=str(path))


def _assemble(
    entries: list[tuple[Path, str | None, str | None]],
    *,
    encoding: str | None,
    crs: Any,
    overrides: Mapping[str, Mapping[str, str]],
    limits: ZipLimits | None,
    label: str,
) -> Project:
    layers: dict[str, gpd.GeoDataFrame] = {}
    mapping: dict[str, dict[str, str]] = {}
    notes: list[Note] = []
    roster: pd.DataFrame | None = None
    source_crs: dict[str, str] = {}
    single = len(entries) == 1
    for file, layer, role in entries:
        suffix = file.suffix.lower()
        name = layer or file.stem
        role = role or canonical_layer(name) or ("buildings" if single else None)
        if suffix in TABLE_SUFFIXES:
            table = read_table(file)
            roster, roster_mapping = map_fields(table, layer="roster", overrides=overrides.get("roster"))
            mapping["roster"] = roster_mapping
            continue
        if role is None:
            notes.append(Note(name, N_("Layer {name} was not recognised and was skipped."), {"name": name}))
            continue
        if role in layers:
            msg = N_("Two files give the {layer} layer ({name}). Keep one of them.")
            raise LayerReadError(msg, layer=role, name=name)
        frame, layer_mapping, layer_notes = read_layer(
            file, layer=layer, role=role, encoding=encoding, crs=crs, overrides=overrides.get(role), limits=limits
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
        msg = N_("The buildings layer is empty: it has no features.")
        raise LayerReadError(msg)
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

