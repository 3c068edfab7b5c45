"""CAD drawings (DXF) in and out, with ezdxf.

Chinese planners draw in AutoCAD. :func:`read_dxf` reads a DXF drawing into gridplan's
layers: the planner says which CAD layer holds which gridplan layer
(``建筑=buildings,社区边界=communities``, :func:`parse_layer_map`; layers named like a
gridplan layer, such as ``楼栋`` or ``社区``, are taken without a map), closed polylines
(and circles, ellipses, closed splines) on those layers become polygons, outlines drawn as
separate lines are assembled where they close, and TEXT/MTEXT/block attributes inside a
polygon fill its name, floors (``18F``, ``18层``, ``地上18层``, ``层数: 18``),
households (``120户``, ``户数: 120``) or residents (``350人``). Outlines that do not
close and labels that fall in no polygon are reported, never dropped silently.

A CAD file carries no coordinate reference system: the caller declares it
(:func:`gis.io.read_project` with ``crs=``). DWG, AutoCAD's own format, has no free reader;
:func:`read_dxf` says so and names the converters.

:func:`write_dxf` writes layers (in metres) as a DXF R2004 drawing: one CAD layer per
kind, closed polylines, labels as MTEXT in a text style that shows Chinese in AutoCAD
(SimSun, 宋体, a TrueType font every Chinese Windows has) and in LibreCAD (which looks a
font up by the *style's name*: see :class:`DxfTextStyle`).

Examples
--------
>>> import tempfile, pathlib, ezdxf
>>> doc = ezdxf.new("R2013")
>>> msp = doc.modelspace()
>>> _ = doc.layers.add("建筑")
>>> _ = msp.add_lwpolyline([(0, 0), (30, 0), (30, 12), (0, 12)], close=True,
...                        dxfattribs={"layer": "建筑"})
>>> _ = msp.add_text("3号楼 18F 120户", dxfattribs={"layer": "文字", "insert": (4, 5)})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "site.dxf"
>>> doc.saveas(path)
>>> drawing = read_dxf(path, layer_map="建筑=buildings")
>>> drawing.layers["buildings"][["name", "floors", "households"]].to_dict("records")
[{'name': '3号楼', 'floors': 18, 'households': 120}]
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.errors import FieldError, LayerReadError
from gis.fields import canonical_layer
from gis.i18n import N_
from gis.numerals import arabic_numerals

__all__ = [
    "CAD_ROLES",
    "CadDrawing",
    "CadSettings",
    "DxfLayer",
    "DxfTextStyle",
    "cad_layers",
    "is_dwg",
    "parse_label",
    "parse_layer_map",
    "read_dxf",
    "write_dxf",
]

POLYGON_ROLES = ("buildings", "communities", "compounds")
LINE_ROLES = ("roads", "barriers")
CAD_ROLES: tuple[str, ...] = (
    *POLYGON_ROLES,
    *LINE_ROLES,
    "waterways",
    "service_centres",
    "labels",
)
"""What a CAD layer can be mapped to: a gridplan layer, or ``labels`` (a layer of text only)."""

_DWG_MAGIC = b"AC10"
_DXF_VERSION = "R2004"
"""DXF R2004 in the Chinese code page (ANSI_936, GBK): AutoCAD, LibreCAD, ezdxf and GDAL (so
QGIS) all read its Chinese layer names and labels. GDAL 3.12 decodes R2007+ files (always
UTF-8) as Latin-1 unless ``DXF_ENCODING`` is set, so QGIS would show 网格 as ç½æ ¼."""


@dataclass(frozen=True)
class CadSettings:
    """Drawing tolerances for reading CAD geometry, in drawing units (metres, as a rule).

    They are drafting tolerances, not planning rules: they decide when a drawn line counts
    as closed and how finely arcs are followed.

    Attributes
    ----------
    close_gap
        An outline whose ends are at most this far apart is closed (drafters' snapping
        leaves gaps of millimetres; 5 cm stays far below any wall thickness).
    arc_tolerance
        Arcs, bulges, circles and splines are followed to within this distance.
    block_depth
        Blocks inside blocks are opened to this depth (a guard against cycles).
    """

    close_gap: float = 0.05
    arc_tolerance: float = 0.05
    block_depth: int = 8


@dataclass(frozen=True)
class CadDrawing:
    """What :func:`read_dxf` found in a drawing.

    Attributes
    ----------
    layers
        ``{gridplan layer: GeoDataFrame}`` with ``cad_layer``, ``cad_handle`` and the
        fields labels gave (``name``, ``floors``, ``households``, ``residents``); no CRS.
    mapping
        ``{CAD layer: gridplan layer}`` as used.
    cad_layers
        Every CAD layer that holds drawn entities, with their count.
    unclosed
        Outlines on polygon layers that do not close (``cad_layer``, ``cad_handle``,
        ``gap``: the distance between their ends, ``geometry``).
    stray_labels
        Labels that fall in no polygon (``cad_layer``, ``text``, ``x``, ``y``).
    notes
        ``(layer, msgid, params)`` for the reader's notes.
    """

    layers: dict[str, gpd.GeoDataFrame]
    mapping: dict[str, str]
    cad_layers: dict[str, int]
    unclosed: gpd.GeoDataFrame
    stray_labels: pd.DataFrame
    notes: tuple[tuple[str, str, dict[str, Any]], ...] = ()


# --------------------------------------------------------------------------------------
# layer map and labels
# --------------------------------------------------------------------------------------
def _role(name: str) -> str | None:
    key = unicodedata.normalize("NFKC", name).strip().lower()
    if key in CAD_ROLES:
        return key
    if key in {"label", "labels", "text", "texts", "文字", "标注", "注记", "文本"}:
        return "labels"
    return canonical_layer(name) if canonical_layer(name) in CAD_ROLES else None


def parse_layer_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse ``CADLAYER=layer,CADLAYER=layer`` into ``{CAD layer: gridplan layer}``.

    The gridplan layer may be given in English or Chinese (``建筑=楼栋``); full-width
    ``＝``, ``，`` and ``；`` are accepted. A CAD layer can be mapped to ``labels`` to say
    it holds the labels.

    Raises
    ------
    FieldError
        If an entry has no ``=`` or names a layer gridplan does not know.

    Examples
    --------
    >>> parse_layer_map("建筑=buildings，社区边界=社区; 文字=labels")
    {'建筑': 'buildings', '社区边界': 'communities', '文字': 'labels'}
    """
    if spec is None:
        return {}
    items: Iterable[tuple[str, str]]
    if isinstance(spec, Mapping):
        items = ((str(k), str(v)) for k, v in spec.items())
    else:
        text = unicodedata.normalize("NFKC", spec)
        parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
        pairs = []
        for part in parts:
            if "=" not in part:
                msg = N_(
                    "{entry!r} in the layer map has no '='. Write CADLAYER=layer, e.g. "
                    "建筑=buildings,社区边界=communities."
                )
                raise FieldError(msg, entry=part)
            cad, role = part.rsplit("=", 1)
            pairs.append((cad.strip(), role.strip()))
        items = pairs
    out: dict[str, str] = {}
    for cad, role_name in items:
        role = _role(role_name)
        if role is None or not cad:
            msg = N_(
                "{role!r} in the layer map is not a gridplan layer. Map CAD layers to one of: "
                "{roles}."
            )
            raise FieldError(msg, role=role_name, roles=", ".join(CAD_ROLES))
        out[cad] = role
    return out


_NUM = r"(\d+(?:\.\d+)?)"
_HOUSEHOLDS = (
    re.compile(r"户数\s*[:=]?\s*" + _NUM + r"\s*户?"),
    re.compile(_NUM + r"\s*户(?!型)"),
)
_RESIDENTS = (
    re.compile(r"(?:人口|人数|居民)\s*[:=]?\s*" + _NUM + r"\s*人?"),
    re.compile(_NUM + r"\s*人"),
)
_FLOORS = (
    re.compile(r"地上\s*" + _NUM + r"\s*层"),
    re.compile(r"(?:层数|楼层)\s*[:=]?\s*" + _NUM + r"\s*层?"),
    re.compile(r"(?<![\d.地下Bb-])" + _NUM + r"\s*(?:层|[Ff](?![A-Za-z]))"),
)
_UNDERGROUND = re.compile(r"(?:地下\s*\d+\s*层|[Bb]\d+[Ff]?|-\d+\s*[Ff层])")


def _first(patterns: Sequence[re.Pattern[str]], text: str) -> tuple[float | None, str]:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return float(match.group(1)), text[: match.start()] + " " + text[match.end() :]
    return None, text


def parse_label(text: str) -> dict[str, Any]:
    """Read a CAD label: its households, residents, floors and the rest as a name.

    Examples
    --------
    >>> parse_label("3号楼 18F 120户")
    {'households': 120, 'floors': 18, 'name': '3号楼'}
    >>> parse_label("地上18层/地下2层")
    {'floors': 18}
    >>> parse_label("户数：96")
    {'households': 96}
    >>> parse_label("三号楼 十八层 一百二十户")
    {'households': 120, 'floors': 18, 'name': '三号楼'}
    >>> parse_label("清华园社区")
    {'name': '清华园社区'}
    """
    text = unicodedata.normalize("NFKC", text).replace("\n", " ").strip()
    # 十八层 is 18层 and 一百二十户 120户; the name keeps 三号楼 as written
    text = arabic_numerals(text, counters=("户", "人", "层"))
    out: dict[str, Any] = {}
    households, text = _first(_HOUSEHOLDS, text)
    residents, text = _first(_RESIDENTS, text)
    text = _UNDERGROUND.sub(" ", text)
    floors, text = _first(_FLOORS, text)
    if households is not None:
        out["households"] = int(round(households))
    if residents is not None:
        out["residents"] = int(round(residents))
    if floors is not None:
        out["floors"] = int(round(floors))
    name = re.sub(r"\s+", " ", re.sub(r"[/|,;:=()\[\]]+", " ", text)).strip(" -_.")
    if name and any(ch.isalnum() for ch in name):
        out["name"] = name
    return out


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------
def is_dwg(path: str | Path) -> bool:
    """Tell a DWG file by its suffix or its first bytes (``AC10…``)."""
    path = Path(path)
    if path.suffix.lower() == ".dwg":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(4) == _DWG_MAGIC
    except OSError:
        return False


def _dwg_error(path: Path) -> LayerReadError:
    msg = N_(
        "{file} is a DWG drawing, and DWG (AutoCAD's own format) has no free reader. Save it as "
        "DXF: in AutoCAD with Save As → DXF (另存为 DXF), or convert it with the free ODA File "
        "Converter, or open it in QCAD or LibreCAD and save it as DXF. Then read the .dxf."
    )
    return LayerReadError(msg, file=path.name)


def _decode(text: str) -> str:
    from ezdxf.lldxf.encoding import decode_dxf_unicode, decode_mif_to_unicode

    if "\\U+" in text or "\\u+" in text:
        text = decode_dxf_unicode(text)
    if "\\M+" in text or "\\m+" in text:
        text = decode_mif_to_unicode(text)
    return text


def _open(path: Path) -> Any:
    import ezdxf
    from ezdxf import recover
    from ezdxf.lldxf.const import DXFError

    if not path.exists():
        msg = N_("The file {file} does not exist. Check the path and the file name.")
        raise LayerReadError(msg, file=str(path))
    if path.stat().st_size == 0:
        msg = N_("The file {file} is empty.")
        raise LayerReadError(msg, file=path.name)
    if is_dwg(path):
        raise _dwg_error(path)
    try:
        return ezdxf.readfile(path)
    except (DXFError, UnicodeDecodeError, ValueError):
        pass
    except OSError as exc:
        msg = N_("{file} cannot be read: it is damaged or incomplete ({error}). Export it again.")
        raise LayerReadError(msg, file=path.name, error=str(exc)[:160]) from None
    try:
        doc, auditor = recover.readfile(path)
    except Exception as exc:  # ezdxf raises several types for a file that is not DXF at all
        msg = N_(
            "{file} is not a DXF drawing gridplan can read ({error}). Save it again from your CAD "
            "program as DXF (AutoCAD 2007 or later is best)."
        )
        raise LayerReadError(msg, file=path.name, error=type(exc).__name__) from None
    if auditor.has_errors:
        msg = N_(
            "{file} is a damaged DXF ({n} errors). Open it in your CAD program, run AUDIT/RECOVER "
            "and save it again as DXF."
        )
        raise LayerReadError(msg, file=path.name, n=len(auditor.errors))
    return doc


@dataclass
class _Shape:
    layer: str
    handle: str
    kind: str  # "ring", "line", "point"
    coords: np.ndarray
    gap: float = 0.0


@dataclass
class _Label:
    layer: str
    text: str
    points: tuple[tuple[float, float], ...]
    height: float


@dataclass
class _Collected:
    shapes: list[_Shape] = field(default_factory=list)
    labels: list[_Label] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


_CURVES = {"LWPOLYLINE", "POLYLINE", "LINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE"}


def _label_points(entity: Any, text: str) -> tuple[tuple[float, float], ...]:
    """The anchor of a label and the rough middle of its text (where a reader sees it)."""
    kind = entity.dxftype()
    height = float(entity.dxf.get("char_height" if kind == "MTEXT" else "height", 1.0) or 1.0)
    if kind == "MTEXT":
        anchor = entity.dxf.insert
        angle = math.radians(entity.get_rotation()) if hasattr(entity, "get_rotation") else 0.0
        attachment = int(entity.dxf.get("attachment_point", 1))
    else:
        align, insert, second = entity.get_placement()
        anchor = insert if second is None or align.name in {"LEFT"} else second
        anchor = entity.ocs().to_wcs(anchor)
        angle = math.radians(float(entity.dxf.get("rotation", 0.0)))
        attachment = 7 if align.name == "LEFT" else 0
    x, y = float(anchor[0]), float(anchor[1])
    points = [(x, y)]
    longest = max((len(line) for line in text.splitlines()), default=len(text))
    width = 0.9 * height * longest  # CJK glyphs are about as wide as they are high
    if attachment in {1, 4, 7}:  # left-aligned: the text runs forward from the anchor
        dx, dy = width / 2, (height / 2 if attachment == 7 else -height / 2)
        points.append(
            (
                x + dx * math.cos(angle) - dy * math.sin(angle),
                y + dx * math.sin(angle) + dy * math.cos(angle),
            )
        )
    return tuple(points)


def _walk(
    entities: Iterable[Any], *, parent_layer: str | None, depth: int, settings: CadSettings
) -> Iterator[tuple[Any, str]]:
    """Every entity with the layer it is on; blocks are opened (layer 0 inherits)."""
    for entity in entities:
        layer = _decode(str(entity.dxf.get("layer", "0")))
        if parent_layer is not None and layer == "0":
            layer = parent_layer
        if entity.dxftype() == "INSERT":
            yield entity, layer
            for attrib in entity.attribs:
                yield attrib, layer if _decode(attrib.dxf.layer) == "0" else _decode(attrib.dxf.layer)
            if depth < settings.block_depth:
                try:
                    inner = list(entity.virtual_entities())
                except Exception:  # a broken block reference: skip its contents, keep the rest
                    continue
                yield from _walk(inner, parent_layer=layer, depth=depth + 1, settings=settings)
            continue
        yield entity, layer


def _collect(doc: Any, settings: CadSettings) -> _Collected:
    from ezdxf import path as ezpath

    found = _Collected()
    for entity, layer in _walk(
        doc.modelspace(), parent_layer=None, depth=0, settings=settings
    ):
        kind = entity.dxftype()
        found.counts[layer] = found.counts.get(layer, 0) + 1
        handle = str(entity.dxf.get("handle", "") or "")
        if kind in {"TEXT", "MTEXT", "ATTRIB"}:
            raw = entity.plain_text() if kind == "MTEXT" else entity.plain_text()
            text = _decode(str(raw)).strip()
            if text:
                height = float(
                    entity.dxf.get("char_height" if kind == "MTEXT" else "height", 1.0) or 1.0
                )
                found.labels.append(_Label(layer, text, _label_points(entity, text), height))
            continue
        if kind == "POINT":
            loc = entity.dxf.location
            found.shapes.append(_Shape(layer, handle, "point", np.array([[loc[0], loc[1]]])))
            continue
        if kind == "INSERT":
            loc = entity.dxf.insert
            found.shapes.append(_Shape(layer, handle, "insert", np.array([[loc[0], loc[1]]])))
            continue
        if kind not in _CURVES:
            found.skipped[kind] = found.skipped.get(kind, 0) + 1
            continue
        if kind == "POLYLINE" and not (entity.is_2d_polyline or entity.is_3d_polyline):
            found.skipped[kind] = found.skipped.get(kind, 0) + 1  # meshes and polyface
            continue
        try:
            path = ezpath.make_path(entity)
            vertices = np.array(
                [(v.x, v.y) for v in path.flattening(settings.arc_tolerance)], dtype=float
            )
        except Exception:  # a degenerate curve (zero radius, bad spline): report, go on
            found.skipped[kind] = found.skipped.get(kind, 0) + 1
            continue
        vertices = vertices[np.isfinite(vertices).all(axis=1)]
        if len(vertices) < 2:
            continue
        flagged = bool(getattr(entity, "closed", False)) or kind in {"CIRCLE"}
        if kind == "ELLIPSE":
            flagged = abs((entity.dxf.end_param - entity.dxf.start_param) - 2 * math.pi) < 1e-9
        if kind == "SPLINE":
            flagged = bool(entity.closed)
        gap = float(np.hypot(*(vertices[0] - vertices[-1])))
        closed = (flagged or gap <= settings.close_gap) and len(vertices) >= 3
        if closed:
            ring = vertices if gap == 0 else np.vstack([vertices, vertices[:1]])
            found.shapes.append(_Shape(layer, handle, "ring", ring))
        else:
            found.shapes.append(_Shape(layer, handle, "line", vertices, gap))
    return found


def cad_layers(path: str | Path, *, settings: CadSettings | None = None) -> pd.DataFrame:
    """List a drawing's CAD layers for a planner to map: what each holds, and a suggestion.

    Returns one row per CAD layer with drawn entities: ``cad_layer``, ``closed`` (closed
    outlines), ``open`` (open lines), ``labels`` (texts) and ``suggested`` (the gridplan
    layer its name stands for, or ``""``), layers with closed outlines first.

    Examples
    --------
    >>> import tempfile, pathlib, ezdxf
    >>> doc = ezdxf.new("R2013")
    >>> _ = doc.modelspace().add_lwpolyline([(0, 0), (9, 0), (9, 9)], close=True,
    ...                                     dxfattribs={"layer": "建筑"})
    >>> _ = doc.modelspace().add_text("1号楼", dxfattribs={"layer": "文字"})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.dxf"
    >>> doc.saveas(path)
    >>> cad_layers(path).to_dict("records")[0]
    {'cad_layer': '建筑', 'closed': 1, 'open': 0, 'labels': 0, 'suggested': 'buildings'}
    """
    settings = settings or CadSettings()
    found = _collect(_open(Path(path)), settings)
    rows: dict[str, dict[str, Any]] = {
        name: {"cad_layer": name, "closed": 0, "open": 0, "labels": 0} for name in found.counts
    }
    for shape in found.shapes:
        key = "closed" if shape.kind == "ring" else "open"
        rows[shape.layer][key] += 1
    for label in found.labels:
        rows[label.layer]["labels"] += 1
    for name, row in rows.items():
        role = _role(name)
        row["suggested"] = role or ""
    table = pd.DataFrame(list(rows.values()), columns=["cad_layer", "closed", "open", "labels"])
    table["suggested"] = [rows[n]["suggested"] for n in table["cad_layer"]]
    return table.sort_values(["closed", "labels"], ascending=False).reset_index(drop=True)


def _resolve_map(
    given: Mapping[str, str], counts: Mapping[str, int], path: Path
) -> dict[str, str]:
    """Match the planner's CAD layer names (case-insensitively, as CAD does) to the drawing's."""
    by_key = {unicodedata.normalize("NFKC", name).casefold(): name for name in counts}
    out: dict[str, str] = {}
    missing = []
    for cad, role in given.items():
        real = by_key.get(unicodedata.normalize("NFKC", cad).casefold())
        if real is None:
            missing.append(cad)
        else:
            out[real] = role
    if missing:
        msg = N_(
            "The drawing {file} has no layer {layers}. Its layers with drawn entities: {found}. "
            "Check the spelling in the layer map."
        )
        raise FieldError(
            msg, file=path.name, layers=", ".join(missing), found=_layer_list(counts)
        )
    return out


def _layer_list(counts: Mapping[str, int], limit: int = 40) -> str:
    names = sorted(counts, key=lambda n: -counts[n])
    text = ", ".join(f"{n} ({counts[n]})" for n in names[:limit])
    return text + (", …" if len(names) > limit else "") if names else "none"


def _polygons(shapes: list[_Shape], settings: CadSettings) -> tuple[list[Any], list[_Shape], int]:
    """Polygons from closed rings, and from open lines where they close together."""
    polygons: list[tuple[Any, _Shape]] = []
    for shape in shapes:
        if shape.kind != "ring":
            continue
        poly = shapely.Polygon(shape.coords)
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
            parts = [g for g in getattr(poly, "geoms", [poly]) if g.geom_type == "Polygon"]
            poly = shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else None)
        if poly is not None and not poly.is_empty and poly.area > 0:
            polygons.append((poly, shape))
    lines = [s for s in shapes if s.kind == "line"]
    assembled = 0
    leftover: list[_Shape] = []
    if lines:
        geoms = [shapely.LineString(s.coords) for s in lines]
        union = shapely.unary_union(geoms)
        snapped = [shapely.snap(g, union, settings.close_gap) for g in geoms]
        noded = shapely.get_parts(shapely.unary_union(snapped))
        built = [p for p in shapely.get_parts(shapely.polygonize(noded)) if p.area > 0]
        used = np.zeros(len(lines), dtype=bool)
        if built:
            boundary = shapely.unary_union([p.boundary for p in built]).buffer(settings.close_gap)
            for i, geom in enumerate(geoms):
                used[i] = boundary.covers(geom)
            for poly in built:
                polygons.append((poly, _Shape(lines[0].layer, "", "assembled", np.empty((0, 2)))))
            assembled = len(built)
        leftover = [s for s, u in zip(lines, used, strict=True) if not u]
    return polygons, leftover, assembled


def _frame(rows: list[dict[str, Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=None)
    if frame.empty:
        frame = gpd.GeoDataFrame(
            {"cad_layer": pd.Series(dtype=object), "cad_handle": pd.Series(dtype=object)},
            geometry=gpd.GeoSeries([], crs=None),
        )
    return frame


_ROLE_HINTS = (("社区", "communities"), ("居委会", "communities"), ("小区", "compounds"))


def read_dxf(
    path: str | Path,
    *,
    layer_map: str | Mapping[str, str] | None = None,
    settings: CadSettings | None = None,
) -> CadDrawing:
    """Read a DXF drawing into gridplan's layers (without a CRS: declare it when reading).

    Parameters
    ----------
    path
        The ``.dxf`` file (ASCII or binary, any AutoCAD version; a DWG is refused with a
        message naming the converters).
    layer_map
        ``{CAD layer: gridplan layer}`` or ``"CADLAYER=layer,…"``
        (:func:`parse_layer_map`). CAD layers not in the map are taken when their name is a
        gridplan layer's (``楼栋``, ``建筑``, ``社区``, ``道路``…); with a map, only the
        mapped layers are read.
    settings
        Drawing tolerances (:class:`CadSettings`).

    Returns
    -------
    CadDrawing

    Raises
    ------
    LayerReadError
        If the file is missing, a DWG, not a DXF or damaged beyond recovery, or no layer
        holds buildings.
    FieldError
        If the layer map names a layer the drawing does not have, or a layer gridplan does
        not know.
    """
    settings = settings or CadSettings()
    path = Path(path)
    given = parse_layer_map(layer_map)
    doc = _open(path)
    found = _collect(doc, settings)
    if given:
        mapping = _resolve_map(given, found.counts, path)
    else:
        mapping = {
            name: role for name in found.counts if (role := canonical_layer(name)) in CAD_ROLES
        }
    if "buildings" not in mapping.values():
        closed: dict[str, int] = {}
        for shape in found.shapes:
            if shape.kind == "ring":
                closed[shape.layer] = closed.get(shape.layer, 0) + 1
        example = next(iter(sorted(closed, key=lambda n: -closed[n])), "建筑")
        msg = N_(
            "No layer of the drawing {file} is mapped to buildings. Its layers with closed "
            "outlines: {layers}. Say which CAD layer holds what, e.g. --layer-map "
            "{example}=buildings (in the app: the layer table on the Data page)."
        )
        raise LayerReadError(
            msg, file=path.name, layers=_layer_list(closed) if closed else "none", example=example
        )

    notes: list[tuple[str, str, dict[str, Any]]] = []
    layers: dict[str, gpd.GeoDataFrame] = {}
    unclosed_rows: list[dict[str, Any]] = []
    unclosed_geoms: list[Any] = []
    by_role: dict[str, list[_Shape]] = {}
    for shape in found.shapes:
        role = mapping.get(shape.layer)
        if role is not None and role != "labels":
            by_role.setdefault(role, []).append(shape)
    for role, shapes in by_role.items():
        rows: list[dict[str, Any]] = []
        geoms: list[Any] = []
        if role in POLYGON_ROLES or role == "waterways":
            polygons, leftover, assembled = _polygons(shapes, settings)
            for poly, shape in polygons:
                rows.append({"cad_layer": shape.layer or shapes[0].layer, "cad_handle": shape.handle})
                geoms.append(poly)
            if assembled:
                notes.append(
                    (
                        role,
                        N_(
                            "{n} outlines of layer {layer} were drawn as separate lines and were "
                            "joined into polygons."
                        ),
                        {"n": assembled, "layer": role},
                    )
                )
            if role == "waterways":
                for shape in leftover:
                    rows.append({"cad_layer": shape.layer, "cad_handle": shape.handle})
                    geoms.append(shapely.LineString(shape.coords))
            else:
                for shape in leftover:
                    unclosed_rows.append(
                        {
                            "layer": role,
                            "cad_layer": shape.layer,
                            "cad_handle": shape.handle,
                            "gap": round(shape.gap, 3),
                        }
                    )
                    unclosed_geoms.append(shapely.LineString(shape.coords))
        elif role in LINE_ROLES:
            for shape in shapes:
                if shape.kind in {"ring", "line"}:
                    rows.append({"cad_layer": shape.layer, "cad_handle": shape.handle})
                    geoms.append(shapely.LineString(shape.coords))
        else:  # service centres: points, block insertions, or the middle of an outline
            for shape in shapes:
                point = (
                    shapely.Polygon(shape.coords).representative_point()
                    if shape.kind == "ring"
                    else shapely.Point(shape.coords[0])
                )
                rows.append({"cad_layer": shape.layer, "cad_handle": shape.handle})
                geoms.append(point)
        layers[role] = _frame(rows, geoms)

    shape_layers = {shape.layer for shape in found.shapes if shape.kind == "ring"}
    stray = _assign_labels(found.labels, layers, mapping, shape_layers, notes)
    for role in POLYGON_ROLES:
        if role in layers:
            layers[role], holes = _holes(layers[role])
            if holes:
                notes.append(
                    (
                        role,
                        N_(
                            "{n} outlines without a label inside other {layer} outlines were read "
                            "as holes (courtyards), not as {layer} of their own."
                        ),
                        {"n": holes, "layer": role},
                    )
                )
    unclosed = gpd.GeoDataFrame(
        unclosed_rows or {"layer": [], "cad_layer": [], "cad_handle": [], "gap": []},
        geometry=gpd.GeoSeries(unclosed_geoms, crs=None),
    )
    if len(unclosed):
        for role, group in unclosed.groupby("layer"):
            first = group.iloc[0].geometry.coords[0]
            notes.append(
                (
                    str(role),
                    N_(
                        "{n} outlines on CAD layer {cad_layer} do not close and were not read as "
                        "{layer} (the first starts at x {x:.2f}, y {y:.2f}; its ends are {gap} "
                        "apart). Close them in your CAD program (PEDIT → Close, or JOIN) and read "
                        "the drawing again."
                    ),
                    {
                        "n": len(group),
                        "cad_layer": ", ".join(sorted(set(group["cad_layer"]))),
                        "layer": role,
                        "x": first[0],
                        "y": first[1],
                        "gap": group.iloc[0]["gap"],
                    },
                )
            )
    if len(stray):
        examples = "; ".join(
            f"{row.text} ({row.x:.1f}, {row.y:.1f})" for row in stray.head(5).itertuples()
        )
        notes.append(
            (
                "labels",
                N_(
                    "{n} labels fall inside no outline and were not used: {examples}. Move them "
                    "into the outline they belong to, or check the layer map."
                ),
                {"n": len(stray), "examples": examples},
            )
        )
    skipped = {k: v for k, v in found.skipped.items() if k not in {"HATCH", "DIMENSION", "SOLID"}}
    if skipped:
        notes.append(
            (
                "buildings",
                N_("Entities that are not outlines or labels were skipped: {kinds}."),
                {"kinds": ", ".join(f"{k} ({v})" for k, v in sorted(skipped.items()))},
            )
        )
    return CadDrawing(
        layers=layers,
        mapping=mapping,
        cad_layers=dict(found.counts),
        unclosed=unclosed,
        stray_labels=stray,
        notes=tuple(notes),
    )


def _holes(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Cut unlabelled outlines that lie inside another outline out of it, as holes.

    CAD has no polygon with holes: a courtyard building (回字形) is an outer and an inner
    closed polyline. An inner outline with a label of its own stays a feature.
    """
    if len(frame) < 2:
        return frame, 0
    fields = [c for c in ("name", "floors", "households", "residents") if c in frame]
    labelled = (
        frame[fields].notna().any(axis=1).to_numpy() if fields else np.zeros(len(frame), bool)
    )
    geoms = frame.geometry.to_numpy()
    outer, inner = shapely.STRtree(geoms).query(geoms, predicate="contains_properly")
    if not len(outer):
        return frame, 0
    areas = shapely.area(geoms)
    container: dict[int, int] = {}
    for o, i in zip(outer.tolist(), inner.tolist(), strict=True):
        if labelled[i] or o == i:
            continue
        if i not in container or areas[o] < areas[container[i]]:
            container[i] = o
    if not container:
        return frame, 0
    geoms = geoms.copy()
    for i, o in container.items():
        geoms[o] = shapely.difference(geoms[o], geoms[i])
    out = frame.copy()
    out = out.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return out.drop(index=frame.index[list(container)]), len(container)


def _assign_labels(
    labels: list[_Label],
    layers: dict[str, gpd.GeoDataFrame],
    mapping: Mapping[str, str],
    shape_layers: set[str],
    notes: list[tuple[str, str, dict[str, Any]]],
) -> pd.DataFrame:
    """Fill each polygon's fields from the labels inside it; return the labels left over.

    A label on a mapped polygon layer, or on a layer named after it (``网格-标注`` beside
    ``网格``), goes to that layer's polygons; a label on a layer named after an unmapped
    layer of outlines (``片区-标注``) belongs to that layer and is left alone; other labels
    go to the smallest polygon that holds them (a label ending in 社区 or 小区 to a
    community or compound first). Several labels on one polygon: the largest text wins.
    """
    label_layers = {name for name, role in mapping.items() if role == "labels"}
    owners = sorted(shape_layers, key=len, reverse=True)

    def owner(layer: str) -> tuple[bool, str | None]:
        """Whether a label layer belongs to a layer of outlines, and that layer's role."""
        if layer in mapping:
            return True, mapping[layer]
        for name in owners:
            if layer.startswith(name):
                return True, mapping.get(name)
        return False, None

    targets = {
        role: frame
        for role, frame in layers.items()
        if role in POLYGON_ROLES and len(frame)
    }
    trees = {role: shapely.STRtree(frame.geometry.values) for role, frame in targets.items()}
    areas = {role: frame.geometry.area.to_numpy() for role, frame in targets.items()}
    chosen: dict[tuple[str, int], dict[str, tuple[float, Any]]] = {}
    stray: list[dict[str, Any]] = []
    conflicts = 0
    for label in labels:
        owned, own = owner(label.layer)
        if owned and own is None:
            continue  # the label of an unmapped layer (a patch's, a road's)
        if label_layers and own is None and label.layer not in label_layers:
            continue
        if own is not None and own not in POLYGON_ROLES and own != "labels":
            continue
        parsed = parse_label(label.text)
        if not parsed:
            continue
        roles = [own] if own in targets else list(targets)
        hint = next((r for word, r in _ROLE_HINTS if str(parsed.get("name", "")).endswith(word)), None)
        if hint in roles:
            roles = [hint] + [r for r in roles if r != hint]
        hit: tuple[str, int] | None = None
        for point in label.points:
            geom = shapely.Point(point)
            for role in roles:
                idx = trees[role].query(geom, predicate="within")
                if len(idx):
                    best = int(idx[np.argmin(areas[role][idx])])
                    hit = (role, best)
                    break
            if hit is not None:
                break
        if hit is None:
            # Unmapped layers hold dimensions, road names and title blocks: their text is
            # reported only when it carries figures a polygon should have had.
            if own is not None or label.layer in label_layers or {"households", "floors"} & set(parsed):
                x, y = label.points[0]
                stray.append({"cad_layer": label.layer, "text": label.text, "x": x, "y": y})
            continue
        slot = chosen.setdefault(hit, {})
        for key, value in parsed.items():
            previous = slot.get(key)
            if previous is None or label.height > previous[0]:
                if previous is not None and previous[1] != value:
                    conflicts += 1
                slot[key] = (label.height, value)
            elif previous[1] != value:
                conflicts += 1
    for (role, index), values in chosen.items():
        frame = layers[role]
        for key, (_, value) in values.items():
            if key not in frame:
                frame[key] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
            frame.at[frame.index[index], key] = value
    for frame in layers.values():
        for key in ("households", "residents", "floors"):
            if key in frame:
                frame[key] = pd.to_numeric(frame[key], errors="coerce").astype("Int64")
    if conflicts:
        notes.append(
            (
                "buildings",
                N_(
                    "{n} outlines have labels that disagree (e.g. two different household "
                    "counts); the larger text was used. Check them in the drawing."
                ),
                {"n": conflicts},
            )
        )
    return pd.DataFrame(stray, columns=["cad_layer", "text", "x", "y"])


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DxfTextStyle:
    """The text style labels are written in, chosen to show Chinese in AutoCAD and LibreCAD.

    AutoCAD draws a style with its font file: ``simsun.ttc`` (宋体 SimSun) is on every
    Chinese Windows. LibreCAD ignores the font file and looks up a font of its own by the
    style's *name*, falling back to a Latin-only font; ``azomix`` is the LibreCAD font
    (shipped since 2.1, in Debian's ``librecad-data``) with the most CJK glyphs (about
    6,000 hanzi). Its repertoire is Japanese, so a few simplified characters (户, 栋, 层)
    are missing there; codes and numbers always show.

    Attributes
    ----------
    name
        The style's name (LibreCAD's font).
    font
        The font file AutoCAD uses.
    family
        The TrueType family name (stored as the style's extended font data).
    """

    name: str = "azomix"
    font: str = "simsun.ttc"
    family: str = "SimSun"


@dataclass(frozen=True)
class DxfLayer:
    """One CAD layer to write.

    Attributes
    ----------
    name
        The CAD layer's name (Chinese works).
    frame
        Its features, in a metric CRS (the drawing's coordinates are those numbers).
    colour
        AutoCAD Color Index (1 red, 2 yellow, 3 green, 4 cyan, 5 blue, 6 magenta, 7 white).
    label
        Called with a row, returns the lines of its label (none: no label).
    text_height
        Label height in drawing units (metres).
    label_layer
        The CAD layer labels go on (default: ``name`` + ``-标注``/``-text``).
    """

    name: str
    frame: gpd.GeoDataFrame
    colour: int = 7
    label: Callable[[Any], Sequence[str]] | None = None
    text_height: float = 2.0
    label_layer: str | None = None


def _rings(geom: Any) -> Iterator[tuple[np.ndarray, bool]]:
    if geom is None or geom.is_empty:
        return
    kind = geom.geom_type
    if kind == "Polygon":
        yield np.asarray(geom.exterior.coords)[:-1, :2], True
        for hole in geom.interiors:
            yield np.asarray(hole.coords)[:-1, :2], True
    elif kind in {"LineString", "LinearRing"}:
        coords = np.asarray(geom.coords)[:, :2]
        closed = geom.is_ring if kind == "LineString" else True
        yield (coords[:-1] if closed else coords), closed
    elif kind == "Point":
        yield np.asarray(geom.coords)[:, :2], False
    else:
        for part in getattr(geom, "geoms", []):
            yield from _rings(part)


def write_dxf(
    layers: Sequence[DxfLayer],
    out: str | Path,
    *,
    style: DxfTextStyle | None = None,
    crs_note: str = "",
) -> Path:
    """Write layers as a DXF drawing (R2004, GBK) in metres; return the path.

    Polygons become closed LWPOLYLINEs (holes too), lines open ones, points POINTs;
    labels are MTEXT centred on a point inside each feature, in the :class:`DxfTextStyle`.
    The file is written to a temporary file beside ``out`` and moved into place.

    Parameters
    ----------
    layers
        The layers, drawn in this order.
    out
        The ``.dxf`` to write.
    style
        The labels' text style.
    crs_note
        The coordinate system the numbers are in, kept in the drawing's header comment
        (CAD has no place for a CRS; ``$PROJECTNAME`` holds it so a CAD user can see it).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, ezdxf
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"]},
    ...                          geometry=[box(0, 0, 80, 60)], crs=4548)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "grids.dxf"
    >>> _ = write_dxf([DxfLayer("网格", grids, label=lambda r: [r.grid_code])], out)
    >>> doc = ezdxf.readfile(out)
    >>> [(e.dxftype(), e.dxf.layer) for e in doc.modelspace()]
    [('LWPOLYLINE', '网格'), ('MTEXT', '网格-标注')]
    """
    import ezdxf
    from ezdxf import units
    from ezdxf.enums import MTextEntityAlignment

    style = style or DxfTextStyle()
    out = Path(out)
    doc = ezdxf.new(_DXF_VERSION, setup=False)
    doc.header["$DWGCODEPAGE"] = "ANSI_936"
    doc.encoding = "gbk"
    doc.units = units.M
    doc.header["$MEASUREMENT"] = 1
    doc.header["$LUNITS"] = 2
    if crs_note:
        doc.header["$PROJECTNAME"] = crs_note[:255]
    text_style = doc.styles.add(style.name, font=style.font)
    text_style.set_extended_font_data(style.family)
    msp = doc.modelspace()
    all_bounds: list[np.ndarray] = []
    for spec in layers:
        if spec.name not in doc.layers:
            doc.layers.add(spec.name, color=spec.colour)
        label_layer = spec.label_layer or f"{spec.name}-标注"
        if spec.label is not None and label_layer not in doc.layers:
            doc.layers.add(label_layer, color=spec.colour)
        frame = spec.frame
        if frame is None or frame.empty:
            continue
        all_bounds.append(np.asarray(frame.total_bounds, dtype=float))
        for row in frame.itertuples(index=False):
            geom = getattr(row, frame.geometry.name)
            for coords, closed in _rings(geom):
                if geom.geom_type in {"Point", "MultiPoint"}:
                    msp.add_point(tuple(coords[0]), dxfattribs={"layer": spec.name})
                elif len(coords) >= 2:
                    msp.add_lwpolyline(
                        [tuple(c) for c in coords], close=closed, dxfattribs={"layer": spec.name}
                    )
            if spec.label is None or geom is None or geom.is_empty:
                continue
            lines = [str(line) for line in spec.label(row) if str(line)]
            if not lines:
                continue
            anchor = (
                geom.representative_point()
                if geom.geom_type in {"Polygon", "MultiPolygon"}
                else shapely.line_interpolate_point(geom, 0.5, normalized=True)
                if geom.geom_type in {"LineString", "MultiLineString"}
                else geom
            )
            height = spec.text_height
            if geom.geom_type in {"Polygon", "MultiPolygon"}:
                # Narrow grids: shrink the text (down to a quarter) so it stays inside.
                x0, _, x1, _ = geom.bounds
                longest = max(len(line) for line in lines)
                fits = (x1 - x0) * 0.9 / (_GLYPH_WIDTH * longest)
                height = max(min(height, fits), height / 4)
            mtext = msp.add_mtext(
                "\\P".join(_escape_mtext(line) for line in lines),
                dxfattribs={"layer": label_layer, "style": style.name, "char_height": height},
            )
            mtext.set_location((anchor.x, anchor.y), attachment_point=MTextEntityAlignment.MIDDLE_CENTER)
    if all_bounds:
        stacked = np.vstack(all_bounds)
        lo = stacked[:, :2].min(axis=0)
        hi = stacked[:, 2:].max(axis=0)
        msp.dxf.extmin = (float(lo[0]), float(lo[1]), 0.0)  # ezdxf writes them as $EXTMIN/MAX
        msp.dxf.extmax = (float(hi[0]), float(hi[1]), 0.0)
        doc.set_modelspace_vport(height=float(hi[1] - lo[1]) * 1.1 or 100.0,
                                 center=(float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=".dxf", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        doc.saveas(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


_GLYPH_WIDTH = 0.9
"""Width of a glyph as a share of the text height (CJK glyphs are nearly square; digits
narrower, so this errs on the side of fitting)."""


def _escape_mtext(text: str) -> str:
    """Keep MTEXT control characters in a label literal."""
    return text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
