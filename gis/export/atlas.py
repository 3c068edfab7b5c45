"""The PDF atlas a district hands to its streets: cover, community pages, grid pages.

=================  ===================================================================
cover              the area, the plan (version, status, author), totals, an overview
                   map and the rules used with their sources
walking access     when the plan holds ``gridplan access`` results: every building
                   coloured by its walk to its service centre along the roads (the
                   5-, 10- and 15-minute life circles of GB/T 50180-2018), the
                   centres, the share of households within each distance and a
                   table per community, with the rules' citation
one per community  its grids coloured so that neighbours differ and labelled by the
                   last three digits of their code, buildings, roads and the boundary
one per grid       the grid and its neighbours, its code, households, the buildings
                   with their unit and floor ranges, and blank lines for the
                   responsible grid worker and their phone
=================  ===================================================================

Every map has a legend, a scale bar, a north arrow and the data attribution. Text is
set in an embedded CJK font (Debian's ``fonts-noto-cjk``; ``pdf.fonttype`` 42, so the
PDF carries the font subset and prints the same everywhere). Settings are applied with
``matplotlib.rc_context`` inside :func:`write_atlas` and figures are drawn on the Agg
canvas without pyplot, so nothing global changes and concurrent sessions do not
interfere.

Drawing is made cheap for atlases of thousands of pages: one figure per page kind is
reused, shapes are drawn as a few path collections per page, and every table row is a
single line of text in the monospaced face of the same font (matplotlib lays text out
line by line, so the number of lines, not of characters, sets the time).

Examples
--------
>>> import tempfile, pathlib, geopandas as gpd, pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame(
...     {"grid_code": ["110108001001001", "110108001001002"], "community_id": ["110108001001"] * 2,
...      "households": [40, 36]},
...     geometry=[box(116.300, 40.000, 116.301, 40.001), box(116.301, 40.000, 116.302, 40.001)],
...     crs=4490)
>>> out = pathlib.Path(tempfile.mkdtemp()) / "atlas.pdf"
>>> pdf = write_atlas({"grids": grids}, out, attribution="© OpenStreetMap contributors")
>>> pdf.stat().st_size > 0
True
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import font_manager, rc_context
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import LoadFlags
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon as PolygonPatch
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Affine2D

from gis.errors import GridplanError
from gis.export._common import (
    COLUMN_LABELS,
    _cell_text,
    _Estimates,
    _plans_row,
    _rules_data,
    colour_classes,
    column_label,
)
from gis.i18n import N_, render_citation, translator
from gis.kinds import kind_label
from gis.store.files import atomic_path

__all__ = ["FONT_CANDIDATES", "AtlasFont", "FontMissingError", "find_cjk_font", "write_atlas"]

FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
"""CJK fonts tried in order (Debian ``fonts-noto-cjk`` first); ``GRIDPLAN_CJK_FONT``
or ``font_path=`` names another."""

A4_PORTRAIT = (8.27, 11.69)
PAPERS: dict[str, tuple[float, float]] = {"a4": A4_PORTRAIT, "a3": (11.69, 16.54)}
"""Portrait page sizes in inches (ISO 216)."""
_PASTELS = ("#b3e2cd", "#fdcdac", "#cbd5e8", "#f4cae4", "#e6f5c9", "#fff2ae", "#f1e2cc", "#d9d9d9")
_ROAD_WIDTH = {"motorway": 2.6, "trunk": 2.6, "primary": 2.4, "secondary": 1.9, "tertiary": 1.6}
_INK = "#252525"
_MUTED = "#636363"
_ESTIMATE_INK = "#9c5700"
_SHARED = "#6a51a3"
"""Buildings divided between grids (hatched) and the part of them in a grid."""
"""Estimated figures and their notes (as the Excel report's italics)."""


_UI: Mapping[str, str] = MappingProxyType(
    {
        "title": N_("Grid atlas"),
        "worker": N_("Grid worker"),
        "grid_title": N_("Grid {code}"),
        "cover_legend": N_(
            "Grids are coloured so that neighbours differ; black lines are community "
            "boundaries, grey lines roads."
        ),
        "made_with": N_("Made with gridplan."),
        "number": N_("No."),
        "phone": N_("Phone"),
        "building": N_("building"),
        "communities": N_("communities"),
        "community_boundary": N_("community boundary"),
        "floors": N_("floors"),
        "grid_legend": N_("grid (colours tell neighbours apart)"),
        "grids": N_("grids"),
        "households_per_grid": N_("households per grid"),
        "its_buildings": N_("its buildings"),
        "neighbouring_grid": N_("neighbouring grid"),
        "other_buildings": N_("other buildings"),
        "page": N_("page {page} of {pages}"),
        "plan": N_("plan {plan_id}, version {version} ({status})"),
        "printed": N_("printed {date}"),
        "road": N_("road"),
        "saved_by": N_("saved by {author} at {at}"),
        "no_rules": N_("the plan does not say which rules it used"),
        "this_grid": N_("this grid"),
        "units": N_("units"),
        "shared_building": N_("shared building (its units or floors in several grids)"),
        "shared_with": N_("shared with {codes}"),
        "part_units": N_("units {units}"),
        "part_floors": N_("floors {floors}"),
        "version": N_("version {version}"),
        "community_summary": N_(
            "{n} grids · {households} households · {low}–{high} households per grid"
        ),
        "patches": N_("{n} worker patches"),
        "more_rows": N_("… and {n} more rows (see the Excel report)"),
        "community": N_("community"),
        "worker_patch": N_("worker patch"),
        "label_note": N_(
            "Numbers on the map are the last three digits of the grid code; the full code is {prefix} "
            "followed by them."
        ),
        "households": "households",
        "residents": "residents",
        "of_which_estimated": N_("of which estimated"),
        "estimated": N_("estimated"),
        "estimated_rows": N_(
            "* {mark}: households estimated from footprint × floors ÷ {area:g} m² per dwelling, "
            "not counted"
        ),
        "estimated_rows_no_area": N_(
            "* {mark}: households estimated from footprint × floors, not counted"
        ),
        "rules": "Rules and their sources",
        "access_title": N_("Walking access to the service centres"),
        "access_summary": N_(
            "Walks along the roads from each building to its community's service centre "
            "(党群服务中心). Households within {d5:g} m: {s5:.0%} · within {d10:g} m: "
            "{s10:.0%} · within {d15:g} m: {s15:.0%}"
        ),
        "access_class": N_("walk up to {d:g} m"),
        "access_beyond": N_("walk over {d:g} m"),
        "access_unreached": N_("not reached by the roads"),
        "access_centre_given": N_("service centre"),
        "access_centre_recommended": N_("recommended site (no centre given)"),
        "access_mean": N_("mean (m)"),
        "access_p90": N_("90 % (m)"),
        "access_centre": N_("centre"),
        "access_within": N_("≤{d:g} m"),
        "access_rule": N_("Rule: {source}"),
        "draft": N_("draft"),
        "proposed": N_("proposed"),
        "accepted": N_("accepted"),
        "rejected": N_("rejected"),
    }
)
"""The atlas's words (gettext msgids), in one place so that the font subset holds them."""


class FontMissingError(GridplanError):
    """No CJK font to set the atlas in."""


@dataclass(frozen=True)
class AtlasFont:
    """The CJK font the atlas is set in: the file, and the faces of a collection.

    Attributes
    ----------
    path
        The font file (a ``.ttc`` collection or a single ``.otf``/``.ttf``).
    family
        The family of the proportional face (``Noto Sans CJK SC``).
    index
        Its face index in the collection.
    mono_index
        The face index of the monospaced face (``Noto Sans Mono CJK SC``), if any.
    bold_path, bold_index
        The bold face (``NotoSansCJK-Bold.ttc``), if installed.
    """

    path: Path
    family: str
    index: int = 0
    mono_index: int | None = None
    bold_path: Path | None = None
    bold_index: int | None = None


def _faces(path: Path) -> list[tuple[int, str]]:
    """``(face index, family name)`` of every face in a font file."""
    from matplotlib.ft2font import FT2Font

    try:
        first = FT2Font(str(path))
    except (OSError, RuntimeError, ValueError):
        return []
    faces = [(0, str(first.family_name))]
    for index in range(1, int(getattr(first, "num_faces", 1))):
        faces.append((index, str(FT2Font(str(path), face_index=index).family_name)))
    return faces


def _prefer(faces: Sequence[tuple[int, str]], *, mono: bool) -> tuple[int, str] | None:
    pool = [f for f in faces if ("Mono" in f[1]) == mono]
    for key in (" SC", "CN", "GB", "Zen Hei", "Micro Hei"):
        for face in pool:
            if key in face[1]:
                return face
    return pool[0] if pool else None


def find_cjk_font(font_path: str | Path | None = None) -> AtlasFont:
    """Find the CJK font to set the atlas in.

    Parameters
    ----------
    font_path
        A ``.ttc``, ``.otf`` or ``.ttf`` with Chinese glyphs. By default the
        ``GRIDPLAN_CJK_FONT`` environment variable, then :data:`FONT_CANDIDATES`.

    Raises
    ------
    FontMissingError
        If no CJK font is found; the message says how to install one.

    Examples
    --------
    >>> font = find_cjk_font()
    >>> font.family, font.index, font.mono_index, font.bold_path.name
    ('Noto Sans CJK SC', 2, 7, 'NotoSansCJK-Bold.ttc')
    """
    wanted = [font_path] if font_path else []
    if not wanted and os.environ.get("GRIDPLAN_CJK_FONT"):
        wanted = [os.environ["GRIDPLAN_CJK_FONT"]]
    candidates = wanted or list(FONT_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate)
        if not path.is_file():
            continue
        faces = _faces(path)
        regular = _prefer(faces, mono=False) or (faces[0] if faces else None)
        if regular is None:
            continue
        mono = _prefer(faces, mono=True)
        bold_path = path.with_name(path.name.replace("Regular", "Bold"))
        bold_index = None
        if bold_path != path and bold_path.is_file():
            bold_index = next((i for i, name in _faces(bold_path) if name == regular[1]), None)
        return AtlasFont(
            path=path,
            family=regular[1],
            index=regular[0],
            mono_index=mono[0] if mono else None,
            bold_path=bold_path if bold_index is not None else None,
            bold_index=bold_index,
        )
    msg = N_(
        "The PDF atlas needs a Chinese (CJK) font, and none was found ({paths}). Install one "
        "with: sudo apt-get install fonts-noto-cjk (Debian/Ubuntu; scripts/setup.sh does this), "
        "or pass font_path= (or set GRIDPLAN_CJK_FONT to) a .ttc/.otf/.ttf font with Chinese "
        "characters."
    )
    raise FontMissingError(msg, paths=", ".join(str(c) for c in candidates))


def _subset_font(source: Path, index: int, chars: str, out: Path) -> Path:
    """Write a TrueType-flavoured subset of one face holding ``chars``.

    Noto Sans CJK is CFF-flavoured; matplotlib embeds Type 42 fonts as ``FontFile2``,
    which must hold TrueType outlines (matplotlib#20870), so the few glyphs the atlas
    uses are converted to quadratic outlines (``cu2qu``). The small font also makes
    text layout faster and the final subsetting instant.
    """
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.desubroutinize = True
    options.font_number = index
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    if "CFF " in font:
        order = font.getGlyphOrder()
        glyph_set = font.getGlyphSet()
        glyf = newTable("glyf")
        glyf.glyphOrder = order
        glyf.glyphs = {}
        for name in order:
            pen = TTGlyphPen(glyph_set)
            glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
            glyf.glyphs[name] = pen.glyph()
        font["loca"] = newTable("loca")
        font["glyf"] = glyf
        for tag in ("CFF ", "VORG"):
            if tag in font:
                del font[tag]
        for glyph in glyf.glyphs.values():
            glyph.recalcBounds(glyf)
        hmtx = font["hmtx"]
        for name, glyph in glyf.glyphs.items():
            advance, _ = hmtx.metrics[name]
            hmtx.metrics[name] = (advance, glyph.xMin if glyph.numberOfContours else 0)
        maxp = newTable("maxp")
        maxp.tableVersion = 0x00010000
        for attr in (
            "maxTwilightPoints",
            "maxStorage",
            "maxFunctionDefs",
            "maxInstructionDefs",
            "maxStackElements",
            "maxSizeOfInstructions",
            "maxComponentElements",
        ):
            setattr(maxp, attr, 0)
        maxp.maxZones = 1
        font["maxp"] = maxp
        maxp.recalc(font)
        post = font["post"]
        post.formatType = 2.0
        post.extraNames = []
        post.mapping = {}
        post.glyphOrder = order
        font["head"].glyphDataFormat = 0
        font.sfntVersion = "\000\001\000\000"
    for tag in ("GPOS", "GSUB", "GDEF", "BASE", "vmtx", "vhea", "DSIG"):
        if tag in font:
            del font[tag]
    font.save(str(out))
    return out


# --------------------------------------------------------------------------------------
# geometry → matplotlib
# --------------------------------------------------------------------------------------
_MOVETO, _LINETO, _CLOSE = MplPath.MOVETO, MplPath.LINETO, MplPath.CLOSEPOLY


def _polygon_path(geom: Any) -> MplPath | None:
    """One compound path (holes included, nonzero winding) for a (multi)polygon."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 4:
                continue
            c = np.full(len(xy), _LINETO, dtype=np.uint8)
            c[0], c[-1] = _MOVETO, _CLOSE
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _line_parts(geom: Any) -> list[np.ndarray]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        geom = geom.boundary
    return [
        np.asarray(p.coords)[:, :2]
        for p in shapely.get_parts(geom)
        if p.geom_type in {"LineString", "LinearRing"}
    ]


def _nice_length(span: float) -> float:
    """Return a round scale-bar length of about a fifth of ``span`` metres."""
    target = max(span / 5.0, 1.0)
    steps = [1, 2, 2.5, 5]
    exponent = math.floor(math.log10(target))
    best = 1.0
    for e in (exponent - 1, exponent):
        for s in steps:
            if s * 10**e <= target:
                best = s * 10**e
    return best


def _fit_view(
    bounds: Sequence[float], *, aspect: float, margin: float
) -> tuple[float, float, float, float]:
    """Return ``(x0, x1, y0, y1)`` around ``bounds`` with width/height = ``aspect``."""
    x0, y0, x1, y1 = bounds
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    pad = max(w, h) * margin
    w, h = w + 2 * pad, h + 2 * pad
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


# --------------------------------------------------------------------------------------
# monospaced table lines
# --------------------------------------------------------------------------------------
class _Mono:
    """Pads table cells with the advances of a monospaced CJK face (half/full width)."""

    def __init__(self, path: Path | None) -> None:
        self._font: Any = None
        self._units: dict[str, int] = {}
        self.half_em = 0.55
        if path is not None:
            self._font = font_manager.get_font(str(path))
            self._font.set_size(10, 72)
            self._half = self._advance(" ") or 5.0
            self.half_em = self._half / 10

    def _advance(self, ch: str) -> float:
        glyph = self._font.load_char(ord(ch), flags=LoadFlags.NO_HINTING)
        return float(glyph.linearHoriAdvance) / 65536

    def width(self, text: str) -> int:
        """Width of ``text`` in half-width units."""
        total = 0
        for ch in text:
            units = self._units.get(ch)
            if units is None:
                if self._font is None or ch == " ":
                    units = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
                else:
                    units = max(1, round(self._advance(ch) / self._half))
                self._units[ch] = units
            total += units
        return total

    def fit(self, text: str, width: int, *, right: bool = False) -> str:
        """Cut ``text`` to ``width`` units (ending with …) and pad it with spaces."""
        if self.width(text) > width:
            out = ""
            for ch in text:
                if self.width(out + ch) > width - 2:
                    break
                out += ch
            text = out + "…"
        pad = " " * max(0, width - self.width(text))
        return pad + text if right else text + pad


# --------------------------------------------------------------------------------------
# the data, prepared once
# --------------------------------------------------------------------------------------
@dataclass
class _Layer:
    frame: gpd.GeoDataFrame
    tree: shapely.STRtree
    paths: list[MplPath | None] = field(default_factory=list)
    lines: list[list[np.ndarray]] = field(default_factory=list)


def _prepare_layer(frame: gpd.GeoDataFrame | None, crs: Any, *, kind: str) -> _Layer | None:
    if frame is None or not isinstance(frame, gpd.GeoDataFrame) or frame.empty or frame.crs is None:
        return None
    metric = frame.to_crs(crs).reset_index(drop=True)
    metric = metric[~metric.geometry.isna() & ~metric.geometry.is_empty].reset_index(drop=True)
    layer = _Layer(frame=metric, tree=shapely.STRtree(metric.geometry.values))
    if kind == "polygon":
        layer.paths = [_polygon_path(g) for g in metric.geometry.values]
    else:
        layer.lines = [_line_parts(g) for g in metric.geometry.values]
    return layer


@dataclass
class _Atlas:
    """Everything the pages draw from, in a metric CRS, as plain arrays and dicts."""

    grids: gpd.GeoDataFrame
    codes: list[str]
    community_of: np.ndarray
    patch_of: np.ndarray
    households: np.ndarray
    records: list[dict[str, Any]]
    grid_paths: list[MplPath | None]
    grid_tree: shapely.STRtree
    colours: np.ndarray
    label_xy: np.ndarray
    label_r: np.ndarray
    buildings: _Layer | None
    building_rows: dict[str, int]
    building_names: dict[str, str]
    roads: _Layer | None
    road_widths: list[float]
    waterways: _Layer | None
    communities: gpd.GeoDataFrame
    community_names: dict[str, str]
    community_shapes: dict[str, Any]
    members: dict[str, list[dict[str, Any]]]
    shared: dict[str, list[str]] = field(default_factory=dict)
    """Buildings divided between grids: building id → the codes of the grids sharing it."""
    by_floor: frozenset[str] = frozenset()
    """The shared buildings divided by floor range too (not only by whole units)."""
    page: tuple[float, float] = (8.27, 11.69)
    """The page (width, height) in inches: A4 or A3, portrait or landscape."""
    estimates: _Estimates | None = None
    """Which households are estimated, not counted (marked on every page)."""

    def estimated(self, rows: np.ndarray | Sequence[int]) -> int:
        """Estimated households in the grids at ``rows``."""
        if not self.estimates:
            return 0
        return int(sum(self.estimates.per_grid.get(self.codes[int(i)], 0) for i in rows))


def _prepare(plan: Mapping[str, pd.DataFrame]) -> _Atlas:
    from gis.crs import STORAGE_CRS, metric_crs_for

    grids = plan.get("grids")
    if not isinstance(grids, gpd.GeoDataFrame) or grids.empty:
        msg = N_("The plan has no grids, so there is no atlas to draw. Make the grids first.")
        raise GridplanError(msg)
    if grids.crs is None:
        msg = N_(
            "The grids have no coordinate reference system; save the plan again from gridplan."
        )
        raise GridplanError(msg)
    crs = metric_crs_for(tuple(grids.to_crs(STORAGE_CRS).total_bounds))
    grids = grids.to_crs(crs)
    grids = grids[~grids.geometry.isna() & ~grids.geometry.is_empty].copy()
    grids["grid_code"] = grids["grid_code"].astype(str)
    if "community_id" not in grids:
        grids["community_id"] = grids["grid_code"].str[:12]
    grids["community_id"] = grids["community_id"].astype(str)
    grids = grids.sort_values(["community_id", "grid_code"]).reset_index(drop=True)
    geoms = grids.geometry.values
    circles = shapely.maximum_inscribed_circle(geoms)
    communities = plan.get("communities")
    if (
        isinstance(communities, gpd.GeoDataFrame)
        and not communities.empty
        and "community_id" in communities
        and communities.crs is not None
    ):
        communities = communities.to_crs(crs).copy()
        communities["community_id"] = communities["community_id"].astype(str)
    else:
        dissolved = grids.dissolve("community_id").reset_index()[["community_id", "geometry"]]
        communities = gpd.GeoDataFrame(dissolved, geometry="geometry", crs=crs)
    names = (
        communities["name"].map(_cell_text)
        if "name" in communities
        else communities["community_id"]
    )
    members_frame = plan.get("grid_members")
    members: dict[str, list[dict[str, Any]]] = {}
    if isinstance(members_frame, pd.DataFrame) and "grid_code" in members_frame:
        for record in pd.DataFrame(members_frame).to_dict("records"):
            members.setdefault(str(record["grid_code"]), []).append(record)
    sharing: dict[str, list[str]] = {}
    for code, rows in members.items():
        for b in dict.fromkeys(str(m.get("building_id")) for m in rows):
            sharing.setdefault(b, []).append(code)
    shared = {b: sorted(codes) for b, codes in sharing.items() if len(codes) > 1}
    floor_ranges: dict[str, set[str]] = {}
    for rows in members.values():
        for m in rows:
            b = str(m.get("building_id"))
            if b in shared:
                floor_ranges.setdefault(b, set()).add(_range(m.get("floor_from"), m.get("floor_to")))
    by_floor = frozenset(b for b, ranges in floor_ranges.items() if len(ranges) > 1)
    buildings = _prepare_layer(plan.get("buildings"), crs, kind="polygon")
    building_rows: dict[str, int] = {}
    building_names: dict[str, str] = {}
    if buildings is not None and "building_id" in buildings.frame:
        ids = buildings.frame["building_id"].astype(str).tolist()
        building_rows = {b: i for i, b in enumerate(ids)}
        for column in ("address", "name"):
            if column in buildings.frame:
                for b, value in zip(ids, buildings.frame[column].map(_cell_text), strict=True):
                    if value:
                        building_names[b] = value
    roads = _prepare_layer(plan.get("roads"), crs, kind="line")
    road_widths: list[float] = []
    if roads is not None:
        classes = (
            roads.frame["road_class"].astype(str)
            if "road_class" in roads.frame
            else pd.Series([""] * len(roads.frame))
        )
        road_widths = [_ROAD_WIDTH.get(c, 1.0) for c in classes]
    households = (
        pd.to_numeric(grids["households"], errors="coerce").to_numpy(dtype=float)
        if "households" in grids
        else np.zeros(len(grids))
    )
    patch_of = (
        grids["patch_id"].map(_cell_text).to_numpy()
        if "patch_id" in grids
        else np.full(len(grids), "")
    )
    return _Atlas(
        grids=grids,
        codes=grids["grid_code"].tolist(),
        community_of=grids["community_id"].to_numpy(),
        patch_of=patch_of,
        households=households,
        records=pd.DataFrame(grids.drop(columns=grids.geometry.name)).to_dict("records"),
        grid_paths=[_polygon_path(g) for g in geoms],
        grid_tree=shapely.STRtree(geoms),
        colours=colour_classes(geoms, colours=len(_PASTELS)),
        label_xy=shapely.get_coordinates(shapely.get_point(circles, 0)),
        label_r=shapely.length(circles),
        buildings=buildings,
        building_rows=building_rows,
        building_names=building_names,
        roads=roads,
        road_widths=road_widths,
        waterways=_prepare_layer(plan.get("waterways"), crs, kind="line"),
        communities=communities,
        community_names=dict(zip(communities["community_id"], names, strict=True)),
        community_shapes=dict(
            zip(communities["community_id"], communities.geometry.values, strict=True)
        ),
        members=members,
        shared=shared,
        by_floor=by_floor,
    )


# --------------------------------------------------------------------------------------
# fast text: one line, one font, no layout pass
# --------------------------------------------------------------------------------------
class _Label(Artist):
    """One line of text drawn straight through the renderer.

    ``matplotlib.text.Text`` measures every string before drawing it (to align it), and
    the measurement is not cached across PDF pages; a label that is left-aligned on its
    baseline, or centred using known advances (digits of the monospaced face), needs no
    measurement, which halves the cost of a page.
    """

    def __init__(
        self,
        x: float,
        y: float,
        text: str = "",
        *,
        prop: FontProperties,
        color: str = _INK,
        ha: str = "left",
        va: str = "baseline",
        width: Callable[[str], float] | None = None,
        zorder: float = 10,
        box: str | None = None,
    ) -> None:
        super().__init__()
        self.box = box
        self.xy = (x, y)
        self.text = text
        self.prop = prop
        self.color = color
        self.ha = ha
        self.va = va
        self.width = width
        self.set_zorder(zorder)

    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not self.text:
            return
        x, y = self.get_transform().transform(self.xy)
        size = self.prop.get_size_in_points()
        if self.ha != "left" and self.width is not None:
            w = renderer.points_to_pixels(self.width(self.text) * size)
            x -= w / 2 if self.ha == "center" else w
        if self.va == "center":
            y -= renderer.points_to_pixels(0.36 * size)
        if self.box is not None and self.width is not None:
            from matplotlib.transforms import IdentityTransform

            w = renderer.points_to_pixels(self.width(self.text) * size)
            pad = renderer.points_to_pixels(0.2 * size)
            rect = MplPath.unit_rectangle().transformed(
                Affine2D()
                .scale(w + 2 * pad, renderer.points_to_pixels(size) + 2 * pad)
                .translate(x - pad, y - renderer.points_to_pixels(0.15 * size) - pad)
            )
            box_gc = renderer.new_gc()
            box_gc.set_linewidth(0)
            box_gc.set_alpha(0.85)
            renderer.draw_path(box_gc, rect, IdentityTransform(), (1.0, 1.0, 1.0, 0.85))
            box_gc.restore()
        gc = renderer.new_gc()
        gc.set_foreground(self.color)
        renderer.draw_text(gc, x, y, self.text, self.prop, 0.0, ismath=False, mtext=None)
        gc.restore()
        self.stale = False


@dataclass
class _Fonts:
    """The atlas's font files (subsets made for this call) and their properties."""

    files: dict[str, Path]
    mono: _Mono
    cache: dict[tuple[str, float], FontProperties] = field(default_factory=dict)

    def get(self, kind: str, size: float) -> FontProperties:
        key = (kind, size)
        if key not in self.cache:
            path = self.files.get(kind) or self.files["sans"]
            self.cache[key] = FontProperties(fname=str(path), size=size)
        return self.cache[key]

    def mono_width(self, text: str) -> float:
        """Width of ``text`` in ems in the monospaced face."""
        return self.mono.width(text) * self.mono.half_em


def _measure(prop: FontProperties, text: str) -> float:
    """Width of ``text`` in points (once per static string)."""
    from matplotlib.textpath import TextToPath

    return float(TextToPath().get_text_width_height_descent(text, prop, ismath=False)[0])


# --------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------
class _Page:
    """A reusable A4 figure: a framed map with legend, north arrow, scale bar, attribution."""

    def __init__(
        self,
        atlas: _Atlas,
        fonts: _Fonts,
        tr: Callable[[str], str],
        *,
        lang: str | None,
        map_box: Sequence[float],
        legend: Sequence[tuple[str, str, str]],
        attribution: str,
    ) -> None:
        self.atlas = atlas
        self.fonts = fonts
        self.tr = tr
        self.lang = lang
        self.fig = Figure(figsize=atlas.page)
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes((map_box[0], map_box[1], map_box[2], map_box[3]))
        self.ax.set_axis_off()
        self.ax.add_patch(
            Rectangle(
                (0, 0),
                1,
                1,
                transform=self.ax.transAxes,
                facecolor="none",
                edgecolor=_MUTED,
                lw=0.6,
                zorder=30,
                clip_on=False,
            )
        )
        self.aspect = (map_box[2] * atlas.page[0]) / (map_box[3] * atlas.page[1])
        self.points_per_unit = 1.0
        self._dynamic: list[Any] = []
        # north arrow (axes coordinates)
        self.ax.add_patch(
            PolygonPatch(
                [(0.955, 0.905), (0.97, 0.955), (0.985, 0.905), (0.97, 0.92)],
                closed=True,
                transform=self.ax.transAxes,
                facecolor=_INK,
                edgecolor=_INK,
                lw=0.5,
                zorder=20,
            )
        )
        self.figure_label(0.0, 0.0, "N", kind="mono", size=9, ha="center", axes_xy=(0.97, 0.962))
        # scale bar, set per page
        self._bar = [
            Rectangle((0, 0), 1, 1, facecolor=_INK, edgecolor=_INK, lw=0.6, zorder=20),
            Rectangle((0, 0), 1, 1, facecolor="white", edgecolor=_INK, lw=0.6, zorder=20),
        ]
        for bar in self._bar:
            self.ax.add_patch(bar)
        self._bar_text = self.map_label(0, 0, "", size=7, kind="sans")
        self._bar_text.set_zorder(20)
        if attribution:
            prop = fonts.get("sans", 6.5)
            width = _measure(prop, attribution) / 6.5
            self.ax.add_patch(
                Rectangle(
                    (1 - (width * 6.5 + 6) / (map_box[2] * atlas.page[0] * 72), 0),
                    1,
                    0.022,
                    transform=self.ax.transAxes,
                    facecolor="white",
                    edgecolor="none",
                    alpha=0.8,
                    zorder=19,
                )
            )
            label = _Label(
                0.995,
                0.007,
                attribution,
                prop=prop,
                color=_MUTED,
                ha="right",
                width=lambda _t: width,
                zorder=20,
            )
            label.set_transform(self.ax.transAxes)
            self.ax.add_artist(label)
        self._legend(legend, x=map_box[0], y=map_box[1] - 0.02)

    # -- text helpers -------------------------------------------------------------------
    def figure_label(
        self,
        x: float,
        y: float,
        text: str = "",
        *,
        kind: str = "sans",
        size: float = 9,
        color: str = _INK,
        ha: str = "left",
        axes_xy: tuple[float, float] | None = None,
    ) -> _Label:
        """Add a label in figure coordinates (or in axes coordinates with ``axes_xy``)."""
        width = self.fonts.mono_width if kind == "mono" else None
        label = _Label(
            *(axes_xy or (x, y)),
            text,
            prop=self.fonts.get(kind, size),
            color=color,
            ha=ha,
            width=width,
        )
        if axes_xy is not None:
            label.set_transform(self.ax.transAxes)
            self.ax.add_artist(label)
        else:
            label.set_transform(self.fig.transFigure)
            self.fig.add_artist(label)
        return label

    def map_label(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float,
        kind: str = "mono",
        color: str = _INK,
        ha: str = "left",
        va: str = "baseline",
        zorder: float = 10,
        box: str | None = None,
    ) -> _Label:
        """Add a label in map coordinates."""
        width = self.fonts.mono_width if kind == "mono" else None
        label = _Label(
            x,
            y,
            text,
            prop=self.fonts.get(kind, round(size * 2) / 2),
            color=color,
            ha=ha,
            va=va,
            width=width,
            zorder=zorder,
            box=box,
        )
        self.ax.add_artist(label)
        return label

    def _legend(self, entries: Sequence[tuple[str, str, str]], *, x: float, y: float) -> None:
        """One line of text with a swatch before each label: (kind, colour, label)."""
        size = 7.5
        prop = self.fonts.get("sans", size)
        fig_w_pt = self.atlas.page[0] * 72
        gap = "\u3000\u3000"  # room for a swatch: two ideographic spaces
        text = ""
        for kind, colour, label in entries:
            pos = x + (_measure(prop, text) if text else 0.0) / fig_w_pt
            if kind == "line":
                self.fig.add_artist(
                    Line2D(
                        [pos, pos + 0.02],
                        [y + 0.003] * 2,
                        color=colour,
                        lw=2.0,
                        transform=self.fig.transFigure,
                    )
                )
            else:
                outline = kind == "outline"
                self.fig.add_artist(
                    Rectangle(
                        (pos, y - 0.001),
                        0.02,
                        0.008,
                        transform=self.fig.transFigure,
                        facecolor="none" if outline else colour,
                        edgecolor=colour if outline else "#969696",
                        lw=1.6 if outline else 0.5,
                    )
                )
            text += f"{gap}{label}\u3000\u3000"
        self.figure_label(x, y, text, size=size)

    # -- per page -----------------------------------------------------------------------
    def clear(self) -> None:
        for artist in self._dynamic:
            artist.remove()
        self._dynamic = []

    def add(self, artist: Any) -> Any:
        self._dynamic.append(artist)
        return artist

    def view(self, bounds: Sequence[float], *, margin: float) -> tuple[float, float, float, float]:
        """Frame ``bounds``; set the scale bar; return ``(x0, x1, y0, y1)``."""
        x0, x1, y0, y1 = _fit_view(bounds, aspect=self.aspect, margin=margin)
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        width_pt = self.ax.get_position().width * self.atlas.page[0] * 72
        self.points_per_unit = width_pt / (x1 - x0)
        length = _nice_length(x1 - x0)
        h = (y1 - y0) * 0.012
        bx, by = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.035
        self._bar[0].set_bounds(bx, by, length / 2, h)
        self._bar[1].set_bounds(bx + length / 2, by, length / 2, h)
        self._bar_text.xy = (bx + length + (x1 - x0) * 0.008, by)
        self._bar_text.text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        return x0, x1, y0, y1

    def draw_context(
        self, box: Any, *, highlight: set[int] | None = None, building_colour: str = "#b0b0b0"
    ) -> None:
        """Water, roads and buildings inside ``box`` (a shapely polygon)."""
        a = self.atlas
        if a.waterways is not None:
            segs = [s for i in a.waterways.tree.query(box) for s in a.waterways.lines[i]]
            if segs:
                self.add(
                    self.ax.add_collection(
                        LineCollection(segs, colors="#9ecae1", linewidths=2.0, zorder=2)
                    )
                )
        if a.roads is not None:
            idx = a.roads.tree.query(box)
            segs, widths = [], []
            for i in idx:
                for part in a.roads.lines[i]:
                    segs.append(part)
                    widths.append(a.road_widths[i])
            if segs:
                self.add(
                    self.ax.add_collection(
                        LineCollection(
                            segs, colors="#d0d0d0", linewidths=widths, zorder=2, capstyle="round"
                        )
                    )
                )
        if a.buildings is not None:
            idx = [i for i in a.buildings.tree.query(box) if a.buildings.paths[i] is not None]
            if idx:
                colours = [
                    "#525252" if highlight and i in highlight else building_colour for i in idx
                ]
                self.add(
                    self.ax.add_collection(
                        PathCollection(
                            [a.buildings.paths[i] for i in idx],
                            facecolors=colours,
                            edgecolors="none",
                            zorder=3,
                        )
                    )
                )

    def label_size(self, radius: float, chars: int, *, largest: float = 9.0) -> float:
        """Return a font size at which ``chars`` digits fit a circle of ``radius`` (map units)."""
        diameter_pt = 2 * radius * self.points_per_unit
        return float(min(largest, max(3.0, diameter_pt / (self.fonts.mono.half_em * chars + 0.35))))


def _live(paths: Sequence[MplPath | None], index: Sequence[int]) -> list[MplPath]:
    """Return the paths at ``index`` that exist (a grid may have no usable shape)."""
    return [p for p in (paths[i] for i in index) if p is not None]


def _community_title(atlas: _Atlas, community_id: str) -> str:
    name = atlas.community_names.get(community_id, "")
    return f"{name}（{community_id}）" if name and name != community_id else community_id


def _wrap(text: str, prop: FontProperties, width_pt: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width_pt`` (at spaces where there are any)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if _measure(prop, line + ch) > width_pt and line:
            cut = line.rfind(" ")
            if cut > len(line) * 0.8:  # CJK text breaks anywhere
                lines.append(line[:cut])
                line = line[cut + 1 :]
            else:
                lines.append(line)
                line = ""
        line += ch
    return [*lines, line] if line else lines


def _cover(
    pdf: PdfPages,
    atlas: _Atlas,
    fonts: _Fonts,
    tr: Callable[[str], str],
    *,
    title: str,
    area: str,
    plan_row: Mapping[str, Any],
    rules: Mapping[str, Any],
    attribution: str,
    lang: str | None,
) -> None:
    """Draw the cover: title, area, plan, totals, an overview map, the rules and sources."""
    fig = Figure(figsize=atlas.page)
    FigureCanvasAgg(fig)
    fig.text(0.08, 0.93, title, color=_INK, fontproperties=fonts.get("bold", 22))
    fig.text(0.08, 0.905, area, fontproperties=fonts.get("sans", 12), color=_MUTED)
    hh = atlas.households
    estimated = atlas.estimated(range(len(atlas.codes)))
    households = str(int(np.nansum(hh)))
    if estimated:
        households += f"（{tr(_UI['of_which_estimated'])} {estimated}）"
    facts = [
        (tr(_UI["communities"]), str(len(set(atlas.community_of)))),
        (tr(_UI["grids"]), str(len(atlas.codes))),
        (tr(_UI["households"]), households),
    ]
    if "residents" in atlas.grids:
        facts.append(
            (
                tr(_UI["residents"]),
                str(int(pd.to_numeric(atlas.grids["residents"], errors="coerce").sum())),
            )
        )
    if len(hh):
        facts.append((tr(_UI["households_per_grid"]), f"{int(np.nanmin(hh))}–{int(np.nanmax(hh))}"))
    plan_bits = []
    if plan_row.get("version") is not None:
        plan_bits.append(
            tr(_UI["plan"]).format(
                plan_id=plan_row.get("plan_id") or "—",
                version=plan_row["version"],
                status=tr(str(plan_row.get("status") or "draft")),
            )
        )
    if plan_row.get("author"):
        plan_bits.append(
            tr(_UI["saved_by"]).format(
                author=plan_row["author"], at=plan_row.get("created_at") or ""
            )
        )
    plan_bits.append(tr(_UI["printed"]).format(date=date.today().isoformat()))
    fig.text(
        0.08, 0.878, " · ".join(plan_bits), fontproperties=fonts.get("sans", 8.5), color=_MUTED
    )
    fig.text(
        0.08,
        0.85,
        "    ".join(f"{k} {v}" for k, v in facts),
        fontproperties=fonts.get("sans", 10.5),
        color=_INK,
    )
    shift = 0.0  # the rules move down under a note of two lines
    if estimated and atlas.estimates is not None:
        prop = fonts.get("sans", 7)
        note = atlas.estimates.note(estimated, int(np.nansum(hh)), lang=lang)
        wrapped = _wrap(note, prop, 0.84 * atlas.page[0] * 72)[:2]
        for k, line in enumerate(wrapped):
            fig.text(0.08, 0.437 - k * 0.0105, line, fontproperties=prop, color=_ESTIMATE_INK)
        shift = 0.0105 * (len(wrapped) - 1)
    box = (0.08, 0.47, 0.84, 0.36)
    ax = fig.add_axes(box)
    ax.set_axis_off()
    ax.add_patch(
        Rectangle(
            (0, 0),
            1,
            1,
            transform=ax.transAxes,
            facecolor="none",
            edgecolor=_MUTED,
            lw=0.6,
            clip_on=False,
        )
    )
    vx0, vx1, vy0, vy1 = _fit_view(
        atlas.grids.total_bounds,
        aspect=(box[2] * atlas.page[0]) / (box[3] * atlas.page[1]),
        margin=0.04,
    )
    ax.set_xlim(vx0, vx1)
    ax.set_ylim(vy0, vy1)
    live = [k for k, p in enumerate(atlas.grid_paths) if p is not None]
    ax.add_collection(
        PathCollection(
            _live(atlas.grid_paths, live),
            facecolors=[_PASTELS[atlas.colours[k] % len(_PASTELS)] for k in live],
            edgecolors="#969696",
            linewidths=0.25,
            zorder=1,
        )
    )
    if atlas.roads is not None:
        segs = [seg for parts in atlas.roads.lines for seg in parts]
        ax.add_collection(LineCollection(segs, colors="#bdbdbd", linewidths=0.5, zorder=2))
    outlines = [seg for g in atlas.communities.geometry.values for seg in _line_parts(g)]
    ax.add_collection(LineCollection(outlines, colors=_INK, linewidths=1.4, zorder=3))
    for community_id, shape in atlas.community_shapes.items():
        if community_id not in set(atlas.community_of):
            continue
        point = shape.representative_point()
        ax.text(
            point.x,
            point.y,
            atlas.community_names.get(community_id) or community_id,
            fontproperties=fonts.get("sans", 8),
            ha="center",
            va="center",
            color=_INK,
            zorder=4,
            bbox={
                "boxstyle": "round,pad=0.2",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.75,
            },
        )
    length = _nice_length(vx1 - vx0)
    bx, by, h = vx0 + (vx1 - vx0) * 0.03, vy0 + (vy1 - vy0) * 0.04, (vy1 - vy0) * 0.012
    ax.add_patch(
        Rectangle((bx, by), length / 2, h, facecolor=_INK, edgecolor=_INK, lw=0.6, zorder=5)
    )
    ax.add_patch(
        Rectangle(
            (bx + length / 2, by),
            length / 2,
            h,
            facecolor="white",
            edgecolor=_INK,
            lw=0.6,
            zorder=5,
        )
    )
    ax.text(
        bx + length + (vx1 - vx0) * 0.008,
        by,
        f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m",
        fontproperties=fonts.get("sans", 7),
        zorder=5,
    )
    ax.add_patch(
        PolygonPatch(
            [(0.955, 0.86), (0.97, 0.94), (0.985, 0.86), (0.97, 0.885)],
            closed=True,
            transform=ax.transAxes,
            facecolor=_INK,
            zorder=5,
        )
    )
    ax.text(
        0.97,
        0.945,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="bottom",
        fontproperties=fonts.get("sans", 9),
        zorder=5,
    )
    if attribution:
        ax.text(
            0.995,
            0.008,
            attribution,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontproperties=fonts.get("sans", 6.5),
            color=_MUTED,
            zorder=5,
        )
    fig.text(
        0.08, 0.452, tr(_UI["cover_legend"]), fontproperties=fonts.get("sans", 7.5), color=_MUTED
    )
    # the rules and their sources
    fig.text(
        0.08, 0.415 - shift, tr(_UI["rules"]), color=_INK, fontproperties=fonts.get("bold", 12)
    )
    if rules.get("title"):
        fig.text(
            0.08,
            0.397 - shift,
            tr(str(rules["title"])),  # a preset's title, kept in English with the plan
            fontproperties=fonts.get("sans", 8),
            color=_MUTED,
        )
    sources = rules.get("sources") or [
        {"rule": k, "value": str(v), "source": ""} for k, v in (rules.get("values") or {}).items()
    ]
    if not sources:
        sources = [{"rule": "—", "value": "", "source": tr(_UI["no_rules"])}]
    mono = fonts.mono
    lines = [
        mono.fit(column_label("rule", lang), 37)
        + mono.fit(column_label("value", lang), 10)
        + column_label("source", lang)
    ]
    for item in sources[:22]:
        lines.append(
            mono.fit(str(item.get("rule", "")), 37)
            + mono.fit(str(item.get("value", "")), 10)
            + mono.fit(render_citation(str(item.get("source", "")), lang), 92)
        )
    for k, line in enumerate(lines):
        fig.text(
            0.08,
            0.375 - shift - k * 0.0145,
            line,
            color=_INK if k else _MUTED,
            fontproperties=fonts.get("mono", 7),
        )
    fig.text(
        0.08,
        0.03,
        tr(_UI["made_with"]) + (f"  {attribution}" if attribution else ""),
        fontproperties=fonts.get("sans", 7),
        color=_MUTED,
    )
    pdf.savefig(fig)


_ACCESS_COLOURS = ("#1a9850", "#a6d96a", "#fee08b", "#d73027")
"""Walk classes, nearest first: within 5, 10, 15 minutes, beyond (a diverging palette)."""
_UNREACHED = "#8c8c8c"


def _access_limits(
    rules: Mapping[str, Any], *, lang: str | None = None
) -> tuple[tuple[float, float, float], list[str]]:
    """The rules' life-circle distances and their citations in ``lang`` (GB/T 50180-2018
    by default)."""
    values = rules.get("values") or {}
    keys = ("walk_5min_m", "walk_10min_m", "walk_15min_m")
    defaults = (300.0, 500.0, 1000.0)
    limits = tuple(float(values.get(k, d)) for k, d in zip(keys, defaults, strict=True))
    sources = [
        render_citation(str(s.get("source", "")), lang)
        for s in rules.get("sources") or []
        if s.get("rule") in keys and s.get("source")
    ]
    return limits, list(dict.fromkeys(sources))  # type: ignore[return-value]


def _has_access(plan: Mapping[str, pd.DataFrame]) -> bool:
    frame = plan.get("access_buildings")
    return isinstance(frame, gpd.GeoDataFrame) and len(frame) > 0 and "walk_m" in frame


class _AccessPage(_Page):
    """The walking-access page: buildings by walk class, centres, shares, a table."""

    def build(self, *, limits: tuple[float, float, float], sources: list[str]) -> _AccessPage:
        self.limits, self.sources = limits, sources
        self.title = self.figure_label(0.06, 0.955, kind="bold", size=17)
        self.summary = [
            self.figure_label(0.06, 0.934 - k * 0.014, size=9, color=_INK) for k in range(2)
        ]
        self.rule = [
            self.figure_label(0.06, 0.907 - k * 0.011, size=7, color=_MUTED) for k in range(2)
        ]
        self.figure_label(
            0.06,
            0.355,
            f"★ {self.tr(_UI['access_centre_given'])}\u3000\u3000"
            f"☆ {self.tr(_UI['access_centre_recommended'])}",
            size=7.5,
            color="#2166ac",
        )
        self.rows = [
            self.figure_label(0.06, 0.325 - k * 0.0148, kind="mono", size=8) for k in range(17)
        ]
        self.footer = self.figure_label(0.06, 0.03, size=7, color=_MUTED)
        return self

    def draw(
        self, plan: Mapping[str, pd.DataFrame], *, page: int, pages: int, footer: str
    ) -> None:
        a, tr = self.atlas, self.tr
        self.clear()
        crs = a.grids.crs
        buildings = plan["access_buildings"].to_crs(crs)
        walk = pd.to_numeric(buildings["walk_m"], errors="coerce").to_numpy(dtype=float)
        households = (
            pd.to_numeric(buildings["households"], errors="coerce").fillna(0).to_numpy(dtype=float)
            if "households" in buildings
            else np.ones(len(buildings))
        )
        d5, d10, d15 = self.limits
        klass = np.where(
            ~np.isfinite(walk), 4, np.searchsorted(np.array([d5, d10, d15]), walk, side="left")
        )
        colours = [*_ACCESS_COLOURS, _UNREACHED]
        area = shapely.union_all(a.communities.geometry.values)
        bounds = shapely.union_all([area, *buildings.geometry.values]).bounds
        x0, x1, y0, y1 = self.view(bounds, margin=0.03)
        self.draw_context(shapely.box(x0, y0, x1, y1), building_colour="#d9d9d9")
        paths = [_polygon_path(g) for g in buildings.geometry.values]
        live = [k for k, p in enumerate(paths) if p is not None]
        self.add(
            self.ax.add_collection(
                PathCollection(
                    [paths[k] for k in live],
                    facecolors=[colours[int(klass[k])] for k in live],
                    edgecolors="#4d4d4d",
                    linewidths=0.15,
                    zorder=4,
                )
            )
        )
        outlines = [seg for g in a.communities.geometry.values for seg in _line_parts(g)]
        self.add(
            self.ax.add_collection(LineCollection(outlines, colors=_INK, linewidths=1.4, zorder=5))
        )
        centres = plan.get("access_centres")
        if isinstance(centres, gpd.GeoDataFrame) and len(centres):
            centres = centres.to_crs(crs)
            given = (
                centres["source"].astype(str).eq("given").to_numpy()
                if "source" in centres
                else np.ones(len(centres), dtype=bool)
            )
            xy = shapely.get_coordinates(centres.geometry.values)
            for mask, face in ((given, "#2166ac"), (~given, "white")):
                if mask.any():
                    self.add(
                        self.ax.scatter(
                            xy[mask, 0], xy[mask, 1], s=150, marker="*", facecolors=face,
                            edgecolors="#2166ac", linewidths=1.0, zorder=7,
                        )  # fmt: skip
                    )
        total = households.sum()

        def share(limit: float) -> float:
            if not total:
                return 0.0
            return float(households[np.isfinite(walk) & (walk <= limit)].sum() / total)

        self.title.text = tr(_UI["access_title"])
        width = 0.88 * a.page[0] * 72
        for labels, text, size in (
            (
                self.summary,
                tr(_UI["access_summary"]).format(
                    d5=d5, d10=d10, d15=d15, s5=share(d5), s10=share(d10), s15=share(d15)
                ),
                9,
            ),
            (
                self.rule,
                tr(_UI["access_rule"]).format(source="; ".join(self.sources) or "—"),
                7,
            ),
        ):
            lines = _wrap(text, self.fonts.get("sans", size), width)
            for k, label in enumerate(labels):
                label.text = lines[k] if k < len(lines) else ""
        table = plan.get("access")
        lines: list[str] = []
        if isinstance(table, pd.DataFrame) and len(table):
            mono = self.fonts.mono
            within = [tr(_UI["access_within"]).format(d=d) for d in self.limits]
            widths = (26, 8, 10, 9, 9, 8, 8, 8)
            head = [
                column_label("community_id", self.lang),
                column_label("households", self.lang),
                tr(_UI["access_centre"]),
                tr(_UI["access_mean"]),
                tr(_UI["access_p90"]),
                *within,
            ]
            lines.append(
                " ".join(
                    mono.fit(h, w, right=j > 0)
                    for j, (h, w) in enumerate(zip(head, widths, strict=True))
                )
            )
            for r in table.to_dict("records"):
                cid = str(r.get("community_id", ""))
                name = a.community_names.get(cid) or cid
                cells = [
                    name,
                    _cell_text(r.get("households")),
                    tr(str(r.get("centre_source") or "")),
                    _metres(r.get("mean_walk_m")),
                    _metres(r.get("p90_walk_m")),
                    *(
                        _percent(r.get(k))
                        for k in ("share_within_5min", "share_within_10min", "share_within_15min")
                    ),
                ]
                lines.append(
                    " ".join(
                        mono.fit(c, w, right=j > 0)
                        for j, (c, w) in enumerate(zip(cells, widths, strict=True))
                    )
                )
            if len(lines) > len(self.rows):
                hidden = len(lines) - len(self.rows) + 1
                lines = [*lines[: len(self.rows) - 1], tr(_UI["more_rows"]).format(n=hidden)]
        for k, text in enumerate(self.rows):
            text.text = lines[k] if k < len(lines) else ""
            text.color = _MUTED if k == 0 else _INK
        self.footer.text = footer.format(page=page, pages=pages)


def _access_texts(plan: Mapping[str, pd.DataFrame]) -> list[str]:
    """The text cells of the access table (for the font subset)."""
    table = plan.get("access")
    if not isinstance(table, pd.DataFrame):
        return []
    return [str(v) for v in table.select_dtypes(exclude="number").to_numpy().ravel()]


def _metres(value: Any) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "—" if pd.isna(number) else f"{number:.0f}"


def _percent(value: Any) -> str:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return "—" if pd.isna(number) else f"{number:.0%}"


class _CommunityPage(_Page):
    """One page per community: its grids, coloured and labelled, on buildings and roads."""

    def build(self) -> _CommunityPage:
        self.title = self.figure_label(0.06, 0.955, kind="bold", size=17)
        self.summary = self.figure_label(0.06, 0.932, size=10, color=_MUTED)
        self.note = self.figure_label(0.06, 0.075, size=7.5, color=_MUTED)
        self.footer = self.figure_label(0.06, 0.03, size=7, color=_MUTED)
        return self

    def draw(self, community_id: str, *, page: int, pages: int, footer: str) -> None:
        a, tr = self.atlas, self.tr
        self.clear()
        rows = np.flatnonzero(a.community_of == community_id)
        shape = a.community_shapes.get(community_id) or shapely.union_all(
            a.grids.geometry.values[rows]
        )
        x0, x1, y0, y1 = self.view(shape.bounds, margin=0.03)
        box = shapely.box(x0, y0, x1, y1)
        live = [int(i) for i in rows if a.grid_paths[i] is not None]
        paths = _live(a.grid_paths, live)
        faces = [_PASTELS[a.colours[i] % len(_PASTELS)] for i in live]
        self.add(
            self.ax.add_collection(
                PathCollection(paths, facecolors=faces, edgecolors="none", zorder=1)
            )
        )
        self.draw_context(box, building_colour="#8c8c8c")
        self.add(
            self.ax.add_collection(
                PathCollection(
                    paths, facecolors="none", edgecolors="#525252", linewidths=0.5, zorder=4
                )
            )
        )
        self.add(
            self.ax.add_collection(
                LineCollection(_line_parts(shape), colors=_INK, linewidths=1.8, zorder=5)
            )
        )
        for i in rows:
            seq = a.codes[i][-3:]
            size = self.label_size(a.label_r[i], len(seq))
            self.add(
                self.map_label(
                    a.label_xy[i, 0],
                    a.label_xy[i, 1],
                    seq,
                    size=size,
                    ha="center",
                    va="center",
                    zorder=6,
                )
            )
        hh = a.households[rows]
        self.title.text = _community_title(a, community_id)
        summary = tr(_UI["community_summary"]).format(
            n=len(rows),
            households=int(np.nansum(hh)),
            low=int(np.nanmin(hh)) if len(hh) else 0,
            high=int(np.nanmax(hh)) if len(hh) else 0,
        )
        patches = {p for p in a.patch_of[rows] if p}
        if patches:
            summary += " · " + tr(_UI["patches"]).format(n=len(patches))
        estimated = a.estimated(rows)
        if estimated:
            summary += f" · {tr(_UI['of_which_estimated'])} {estimated}"
        self.summary.text = summary
        prefix = a.codes[rows[0]][:-3] if len(rows) else ""
        self.note.text = tr(_UI["label_note"]).format(prefix=prefix)
        self.footer.text = footer.format(page=page, pages=pages)


class _GridPage(_Page):
    """One page per grid: the grid among its neighbours, its figures and its buildings."""

    widths = (4, 34, 10, 10, 8)

    def build(self, *, max_rows: int) -> _GridPage:
        tr = self.tr
        self.max_rows = max_rows
        self.title = self.figure_label(0.06, 0.953, kind="bold", size=17)
        self.subtitle = self.figure_label(0.06, 0.931, size=9.5, color=_MUTED)
        self.facts = self.figure_label(0.06, 0.906, size=10.5)
        header = [
            tr(_UI["number"]),
            column_label("building_id", self.lang),
            tr(_UI["units"]),
            tr(_UI["floors"]),
            column_label("households", self.lang),
        ]
        self.figure_label(0.06, 0.33, self.row(header), kind="mono", size=8, color=_MUTED)
        self.fig.add_artist(
            Line2D(
                [0.06, 0.94], [0.325, 0.325], color=_MUTED, lw=0.6, transform=self.fig.transFigure
            )
        )
        self.rows = [
            self.figure_label(0.06, 0.309 - k * 0.0148, kind="mono", size=8)
            for k in range(max_rows)
        ]
        y = 0.075
        worker, phone = tr(_UI["worker"]), tr(_UI["phone"])
        self.figure_label(0.06, y, worker, size=10)
        start = 0.06 + (_measure(self.fonts.get("sans", 10), worker) + 8) / (self.atlas.page[0] * 72)
        self.fig.add_artist(
            Line2D(
                [start, 0.50], [y - 0.003] * 2, color=_INK, lw=0.7, transform=self.fig.transFigure
            )
        )
        self.figure_label(0.54, y, phone, size=10)
        start = 0.54 + (_measure(self.fonts.get("sans", 10), phone) + 8) / (self.atlas.page[0] * 72)
        self.fig.add_artist(
            Line2D(
                [start, 0.94], [y - 0.003] * 2, color=_INK, lw=0.7, transform=self.fig.transFigure
            )
        )
        self.footer = self.figure_label(0.06, 0.03, size=7, color=_MUTED)
        self.estimate_note = self.figure_label(0.06, 0.097, size=7.5, color=_ESTIMATE_INK)
        self.neighbour_labels = [
            self.map_label(
                0, 0, "", size=7, color=_MUTED, ha="center", va="center", zorder=6, box="white"
            )
            for _ in range(6)
        ]
        self.markers = self.ax.scatter(
            np.empty(0),
            np.empty(0),
            s=120,
            facecolors="white",
            edgecolors=_INK,
            linewidths=0.7,
            zorder=7,
        )
        self.marker_labels = [
            self.map_label(0, 0, "", size=7.5, ha="center", va="center", zorder=8)
            for _ in range(max_rows)
        ]
        self.own_label = self.map_label(
            0, 0, "", size=12, color="#b30000", ha="center", va="center", zorder=8, box="white"
        )
        # on a shared building: the units or floors of it in this grid, under its marker
        self.part_labels = [
            self.map_label(0, 0, "", size=6.5, color=_SHARED, ha="center", va="center",
                           zorder=8, box="white")
            for _ in range(max_rows)
        ]
        return self

    def row(self, cells: Sequence[str]) -> str:
        mono = self.fonts.mono
        return " ".join(
            mono.fit(str(c), w, right=j in (0, 4))
            for j, (c, w) in enumerate(zip(cells, self.widths, strict=True))
        )

    def draw(self, i: int, *, page: int, pages: int, footer: str) -> None:
        a, tr = self.atlas, self.tr
        self.clear()
        code = a.codes[i]
        geom = a.grids.geometry.values[i]
        x0, x1, y0, y1 = self.view(geom.bounds, margin=0.45)
        box = shapely.box(x0, y0, x1, y1)
        others = [j for j in a.grid_tree.query(box) if j != i and a.grid_paths[j] is not None]
        if others:
            self.add(
                self.ax.add_collection(
                    PathCollection(
                        [a.grid_paths[j] for j in others],
                        facecolors=[_PASTELS[a.colours[j] % len(_PASTELS)] for j in others],
                        edgecolors="#737373",
                        linewidths=0.6,
                        alpha=0.55,
                        zorder=1,
                    )
                )
            )
        own = a.grid_paths[i]
        if own is not None:
            self.add(
                self.ax.add_collection(
                    PathCollection([own], facecolors="#fdd49e", edgecolors="none", zorder=1)
                )
            )
        members = a.members.get(code, [])
        ids = list(dict.fromkeys(str(m.get("building_id")) for m in members))
        highlight = {a.building_rows[b] for b in ids if b in a.building_rows}
        self.draw_context(box, highlight=highlight)
        if own is not None:
            self.add(
                self.ax.add_collection(
                    PathCollection(
                        [own],
                        facecolors="none",
                        edgecolors="#d7301f",
                        linewidths=2.2,
                        zorder=5,
                    )
                )
            )
        # neighbours' labels, nearest first
        cx, cy = a.label_xy[i]
        mx, my = (x1 - x0) * 0.04, (y1 - y0) * 0.03
        inside = [
            j
            for j in others
            if x0 + mx < a.label_xy[j, 0] < x1 - mx and y0 + my < a.label_xy[j, 1] < y1 - my
        ]
        inside.sort(key=lambda j: (a.label_xy[j, 0] - cx) ** 2 + (a.label_xy[j, 1] - cy) ** 2)
        for k, label in enumerate(self.neighbour_labels):
            if k < len(inside):
                j = inside[k]
                label.xy = (a.label_xy[j, 0], a.label_xy[j, 1])
                label.prop = self.fonts.get(
                    "mono", round(self.label_size(a.label_r[j], 3, largest=8) * 2) / 2
                )
                label.text = a.codes[j][-3:]
            else:
                label.text = ""
        # numbered markers on the grid's buildings
        points: list[tuple[float, float] | None] = []
        for b in ids[: self.max_rows]:
            row = a.building_rows.get(b)
            if row is None or a.buildings is None:
                points.append(None)
                continue
            footprint = a.buildings.frame.geometry.values[row]
            part = shapely.intersection(footprint, geom)
            use = part if not part.is_empty and part.area > 0.2 * footprint.area else footprint
            p = use.representative_point()
            points.append((p.x, p.y))
        shown = np.array([p for p in points if p is not None]).reshape(-1, 2)
        self.markers.set_offsets(shown)
        for k, label in enumerate(self.marker_labels):
            point = points[k] if k < len(points) else None
            if point is not None:
                label.xy = point
                label.text = str(k + 1)
            else:
                label.text = ""
        # buildings shared with other grids: hatched, and the part of each in this grid
        # written under its marker (units 1–2, floors 1–9)
        parts = {
            b: _part_label(
                [m for m in members if str(m.get("building_id")) == b], tr, floors=b in a.by_floor
            )
            for b in ids
            if b in a.shared
        }
        shared_rows = [a.building_rows[b] for b in parts if b in a.building_rows]
        if shared_rows and a.buildings is not None:
            live = [a.buildings.paths[r] for r in shared_rows if a.buildings.paths[r] is not None]
            if live:
                self.add(
                    self.ax.add_collection(
                        PathCollection(
                            live,
                            facecolors="none",
                            edgecolors=_SHARED,
                            linewidths=1.2,
                            hatch="////",
                            zorder=4,
                        )
                    )
                )
        offset = (y1 - y0) * 0.028
        for k, label in enumerate(self.part_labels):
            b = ids[k] if k < len(ids) and k < len(points) else None
            point = points[k] if b is not None else None
            if point is not None and parts.get(b):
                label.xy = (point[0], point[1] - offset)
                label.text = parts[b]
            else:
                label.text = ""
        # the grid's own label, in its largest free spot
        free = geom
        if highlight and a.buildings is not None:
            taken = shapely.union_all([a.buildings.frame.geometry.values[r] for r in highlight])
            free = shapely.difference(geom, shapely.buffer(taken, 4.0))
            if free.is_empty:
                free = geom
        circle = shapely.maximum_inscribed_circle(free)
        self.own_label.xy = tuple(shapely.get_coordinates(shapely.get_point(circle, 0))[0])
        size = max(9.0, self.label_size(float(shapely.length(circle)), 3, largest=16))
        self.own_label.prop = self.fonts.get("mono", round(size * 2) / 2)
        self.own_label.text = code[-3:]
        # header
        record = a.records[i]
        bits = [f"{tr(_UI['community'])} {_community_title(a, a.community_of[i])}"]
        if a.patch_of[i]:
            bits.append(f"{tr(_UI['worker_patch'])} {a.patch_of[i]}")
        status = _cell_text(record.get("status"))
        kind = _cell_text(record.get("kind"))
        if kind and kind != "residential":  # a dedicated grid says what it is
            bits.append(kind_label(kind, self.lang))
        elif status:
            bits.append(tr(status))
        self.title.text = tr(_UI["grid_title"]).format(code=code)
        self.subtitle.text = " · ".join(bits)
        facts = [f"{tr('households')} {_cell_text(record.get('households'))}"]
        estimated = a.estimated([i])
        if estimated:
            facts[0] += f"（{tr(_UI['of_which_estimated'])} {estimated}）"
        for key in ("residents", "special_service_households", "n_buildings"):
            value = _cell_text(record.get(key))
            if value:
                facts.append(f"{column_label(key, self.lang)} {value}")
        self.facts.text = "    ".join(facts)
        # the table: one line per member (a building, or a unit/floor range of one)
        numbers = {b: n for n, b in enumerate(ids, start=1)}
        lines = []
        noted: set[str] = set()
        for m in members:
            b = str(m.get("building_id"))
            name = a.building_names.get(b, "")
            building = f"{name} ({b})" if name else b
            guessed = a.estimates is not None and a.estimates.is_estimated(b)
            lines.append(
                self.row(
                    [
                        str(numbers.get(b, "")),
                        building,
                        _range(m.get("unit_from"), m.get("unit_to")),
                        _range(m.get("floor_from"), m.get("floor_to")),
                        _cell_text(m.get("households")) + ("*" if guessed else ""),
                    ]
                )
            )
            if b in a.shared and b not in noted:  # under it: the grids holding the rest of it
                noted.add(b)
                others_ = "、".join(c[-3:] for c in a.shared[b] if c != code)
                shared_text = "· " + tr(_UI["shared_with"]).format(codes=others_)
                lines.append(self.row(["", shared_text, "", "", ""]))
        if len(lines) > self.max_rows:
            hidden = len(lines) - self.max_rows + 1
            lines = [*lines[: self.max_rows - 1], tr(_UI["more_rows"]).format(n=hidden)]
        for k, text in enumerate(self.rows):
            text.text = lines[k] if k < len(lines) else ""
        self.estimate_note.text = ""
        if estimated and a.estimates is not None:
            key = "estimated_rows" if a.estimates.area else "estimated_rows_no_area"
            self.estimate_note.text = tr(_UI[key]).format(
                mark=tr(_UI["estimated"]), area=a.estimates.area or 0.0
            )
        self.footer.text = footer.format(page=page, pages=pages)


def _part_label(
    members: Sequence[Mapping[str, Any]], tr: Callable[[str], str], *, floors: bool = True
) -> str:
    """What of a shared building one grid holds: "units 1-2", "units 3 floors 1-9" (the
    floors only where the building is divided by floor range).

    Examples
    --------
    >>> _part_label([{"unit_from": 1, "unit_to": 2, "floor_from": 1, "floor_to": 6}], str,
    ...             floors=False)
    'units 1-2'
    >>> _part_label([{"unit_from": 3, "unit_to": 3, "floor_from": 1, "floor_to": 9}], str)
    'units 3 floors 1-9'
    """
    bits = []
    for m in members:
        units = _range(m.get("unit_from"), m.get("unit_to"))
        floor_text = _range(m.get("floor_from"), m.get("floor_to")) if floors else "—"
        text = tr(_UI["part_units"]).format(units=units) if units != "—" else ""
        if floor_text != "—":
            text = (text + " " if text else "") + tr(_UI["part_floors"]).format(floors=floor_text)
        if text:
            bits.append(text)
    return "; ".join(dict.fromkeys(bits))


def _range(a: Any, b: Any) -> str:
    ta, tb = _cell_text(a), _cell_text(b)
    ta = ta[:-2] if ta.endswith(".0") else ta
    tb = tb[:-2] if tb.endswith(".0") else tb
    if not ta and not tb:
        return "—"
    return ta if ta == tb or not tb else f"{ta}-{tb}"


# --------------------------------------------------------------------------------------
# the atlas
# --------------------------------------------------------------------------------------
def _charset(
    atlas: _Atlas, tr: Callable[[str], str], lang: str | None, extra: Sequence[str]
) -> str:
    """Every character the atlas may print: labels, data text, digits and punctuation."""
    chars: set[str] = set(map(chr, range(0x20, 0x7F)))
    chars.update("·—–…（）：、，。²°％×　「」")
    for msgid in _UI.values():
        chars.update(tr(msgid))
    for column in COLUMN_LABELS:
        chars.update(column_label(column, lang))
    chars.update("".join(extra))
    chars.update("".join(atlas.community_names.values()))
    chars.update("".join(atlas.building_names.values()))
    chars.update("".join(atlas.building_rows))
    for record in atlas.records:
        for value in record.values():
            if isinstance(value, str):
                chars.update(value)
                chars.update(tr(value))
    return "".join(sorted(chars))


_P = TypeVar("_P", bound="_Page")


def _print_pages(
    page: Any,
    items: Iterable[Any],
    *,
    pdf: PdfPages,
    done: int,
    pages: int,
    footer: str,
    progress: Callable[[int, int], None] | None,
) -> int:
    """Draw ``page`` once per item and add each to the PDF.

    Parameters
    ----------
    page
        A built page (``_AccessPage``, ``_CommunityPage`` or ``_GridPage``) whose ``draw``
        takes the item first.
    items
        What each page shows: the plan, a community id or a grid index.
    pdf
        The open PDF.
    done
        Pages printed so far.
    pages, footer
        The atlas's page count and footer, printed on each page.
    progress
        Called with ``(page, pages)`` after each page.

    Returns
    -------
    int
        Pages printed so far, these included.
    """
    for item in items:
        done += 1
        page.draw(item, page=done, pages=pages, footer=footer)
        pdf.savefig(page.fig)
        if progress:
            progress(done, pages)
    return done


def write_atlas(
    plan: Mapping[str, pd.DataFrame],
    out: str | Path,
    *,
    lang: str | None = "zh_CN",
    rules: Any = None,
    title: str | None = None,
    area: str | None = None,
    attribution: str = "",
    font_path: str | Path | None = None,
    max_rows: int = 14,
    progress: Callable[[int, int], None] | None = None,
    paper: str = "a4",
    landscape: bool = False,
) -> Path:
    """Write the PDF atlas of a plan: a cover, a page per community, a page per grid.

    Parameters
    ----------
    plan
        The plan's layers: ``grids`` (required), ``grid_members``, ``communities``,
        ``buildings``, ``roads``, ``waterways`` and the ``plans`` row, any CRS.
    out
        The ``.pdf`` to write (via a temporary file beside it).
    lang
        Language of the labels.
    rules
        The rule set, when the plan does not carry its own (``plans.rules``).
    title, area
        The cover's title and the area's name (from the communities by default).
    attribution
        The data attribution printed on every map, e.g. ``© OpenStreetMap contributors``.
    font_path
        A CJK font to use instead of the installed Noto Sans CJK.
    max_rows
        Table rows on a grid page; more are summarised in the last row.
    progress
        Called with ``(page, pages)`` after each page.
    paper, landscape
        ``a4`` (default) or ``a3``, portrait or landscape: the layout keeps its proportions
        and its type sizes, so an A3 page shows the same map larger, with more room.

    Returns
    -------
    Path

    Raises
    ------
    FontMissingError
        If no CJK font is installed (the message says how to install one).
    GridplanError
        If the plan has no grids.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import box
    >>> grids = gpd.GeoDataFrame({"grid_code": ["110108001001001"], "households": [40]},
    ...                          geometry=[box(116.300, 40.000, 116.301, 40.001)], crs=4490)
    >>> pages = []
    >>> out = write_atlas({"grids": grids}, pathlib.Path(tempfile.mkdtemp()) / "a.pdf",
    ...                   progress=lambda page, total: pages.append(page))
    >>> pages  # the cover, one community, one grid
    [1, 2, 3]
    """
    font = find_cjk_font(font_path)
    tr = translator(lang).gettext
    if paper.lower() not in PAPERS:
        msg = N_("{paper!r} is not a paper size gridplan prints on. Use a4 or a3.")
        raise GridplanError(msg, paper=paper)
    atlas = _prepare(plan)
    width, height = PAPERS[paper.lower()]
    atlas.page = (height, width) if landscape else (width, height)
    plan_row = _plans_row(plan)
    rules_data = _rules_data(plan, rules)
    atlas.estimates = _Estimates(plan, rules_data)
    communities = list(dict.fromkeys(atlas.community_of))
    names = [atlas.community_names.get(c, "") for c in communities]
    names = [n for n in names if n]
    if area is None:
        area = "、".join(names[:3]) + ("…" if len(names) > 3 else "") if names else ""
    title = title or tr(_UI["title"])
    access = _has_access(plan)
    pages = 1 + int(access) + len(communities) + len(atlas.codes)
    version_bit = ""
    if plan_row.get("version") is not None:
        version_bit = " · " + tr(_UI["version"]).format(version=plan_row["version"])
    footer = tr(_UI["page"]) + f" · {title}{version_bit}"
    chars = _charset(
        atlas,
        tr,
        lang,
        [
            title,
            area,
            attribution,
            footer,
            atlas.estimates.note(1, 1, lang=lang),
            "0123456789%（）≤★☆",
            *(tr(s) for s in ("given", "recommended", "none")),
            *(_access_texts(plan) if access else []),
            *map(_cell_text, plan_row.values()),
            json.dumps(rules_data, ensure_ascii=False),
            tr(str(rules_data.get("title", ""))),
            *(  # the rules' sources as printed: in the atlas's language
                render_citation(str(item.get("source", "")), lang)
                for item in rules_data.get("sources") or []
            ),
        ],
    )
    out = Path(out)
    with (
        tempfile.TemporaryDirectory(
            prefix="gridplan-fonts-", ignore_cleanup_errors=True
        ) as font_dir,
        rc_context({"pdf.fonttype": 42, "axes.unicode_minus": False, "path.simplify": True}),
        atomic_path(out) as tmp,
    ):
        files = {"sans": _subset_font(font.path, font.index, chars, Path(font_dir) / "sans.ttf")}
        if font.mono_index is not None:
            files["mono"] = _subset_font(
                font.path, font.mono_index, chars, Path(font_dir) / "mono.ttf"
            )
        if font.bold_path is not None and font.bold_index is not None:
            files["bold"] = _subset_font(
                font.bold_path, font.bold_index, chars, Path(font_dir) / "bold.ttf"
            )
        fonts = _Fonts(files=files, mono=_Mono(files.get("mono")))
        metadata = {"Title": title, "Creator": "gridplan", "Subject": area or title}
        with PdfPages(tmp, metadata=metadata) as pdf:
            _cover(
                pdf,
                atlas,
                fonts,
                tr,
                title=title,
                area=area,
                plan_row=plan_row,
                rules=rules_data,
                attribution=attribution,
                lang=lang,
            )
            done = 1
            if progress:
                progress(done, pages)

            def new_page(cls: type[_P], *, map_box: list[float], legend: list[Any]) -> _P:
                return cls(
                    atlas,
                    fonts,
                    tr,
                    lang=lang,
                    map_box=map_box,
                    legend=legend,
                    attribution=attribution,
                )

            if access:
                limits, sources = _access_limits(rules_data, lang=lang)
                d5, d10, d15 = limits
                legend_a = [
                    ("fill", _ACCESS_COLOURS[0], tr(_UI["access_class"]).format(d=d5)),
                    ("fill", _ACCESS_COLOURS[1], tr(_UI["access_class"]).format(d=d10)),
                    ("fill", _ACCESS_COLOURS[2], tr(_UI["access_class"]).format(d=d15)),
                    ("fill", _ACCESS_COLOURS[3], tr(_UI["access_beyond"]).format(d=d15)),
                    ("fill", _UNREACHED, tr(_UI["access_unreached"])),
                    ("outline", _INK, tr(_UI["community_boundary"])),
                ]
                page_a = new_page(
                    _AccessPage, map_box=[0.06, 0.40, 0.88, 0.49], legend=legend_a
                ).build(limits=limits, sources=sources)
                done = _print_pages(
                    page_a,
                    [plan],
                    pdf=pdf,
                    done=done,
                    pages=pages,
                    footer=footer,
                    progress=progress,
                )
            legend_c = [
                ("fill", _PASTELS[0], tr(_UI["grid_legend"])),
                ("fill", "#8c8c8c", tr(_UI["building"])),
                ("line", "#d0d0d0", tr(_UI["road"])),
                ("outline", _INK, tr(_UI["community_boundary"])),
            ]
            page_c = new_page(
                _CommunityPage, map_box=[0.06, 0.11, 0.88, 0.79], legend=legend_c
            ).build()
            done = _print_pages(
                page_c,
                communities,
                pdf=pdf,
                done=done,
                pages=pages,
                footer=footer,
                progress=progress,
            )
            legend_g = [
                ("fill", "#fdd49e", tr(_UI["this_grid"])),
                ("fill", _PASTELS[2], tr(_UI["neighbouring_grid"])),
                ("fill", "#525252", tr(_UI["its_buildings"])),
                ("fill", "#b0b0b0", tr(_UI["other_buildings"])),
                ("outline", _SHARED, tr(_UI["shared_building"])),
                ("line", "#d0d0d0", tr(_UI["road"])),
            ]
            page_g = new_page(
                _GridPage, map_box=[0.06, 0.40, 0.88, 0.485], legend=legend_g
            ).build(max_rows=max_rows)
            _print_pages(
                page_g,
                range(len(atlas.codes)),
                pdf=pdf,
                done=done,
                pages=pages,
                footer=footer,
                progress=progress,
            )
    return out
