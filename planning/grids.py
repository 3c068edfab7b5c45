"""The grid engine: contiguous 30–50 household grids that tile each community.

How it works
------------
1. **Atoms: whole buildings.** Every building's territory (:mod:`planning.territory`) is
   an atom. A building of at most ``grid_whole_building_households`` (50) is never
   divided. A larger one is divided by whole units (单元) first, and a unit by floor range
   only when it alone exceeds a grid's maximum (``grid_whole_unit_households``). Each
   piece is drawn on the building's own territory: the cell is cut through the footprint
   (units side by side along the building, floor ranges across it), so every piece holds
   its part of the footprint.
2. **Zones, searched exactly.** Each compound (小区) is a zone; so are the buildings of a
   street block outside compounds. :func:`planning.grouping.group_exact` groups a zone's
   atoms into connected grids, fewest outside the band first, then nearest 40
   households, then most compact; the count it reaches alone is what keeping grids inside
   the zone costs (``GridResult.zones["bound"]``); the fewest any grouping of the
   community's atoms could reach is the plan's lower bound (``community_bound``). A zone left with grids outside the band is joined to the
   neighbouring zone that brings the count down most — the only case in which a grid
   crosses a compound edge or a road (and ``crossing_reason`` says why).
3. **Empty land.** Cells without households that join a grid's buildings go to that grid;
   land without households of at least ``dedicated_grid_min_area_m2`` (a campus, a
   hospital, a park) becomes a **dedicated grid** (专属网格, ``kind = "dedicated"``); the
   rest is shared among the touching grids by nearness, none growing past
   ``grid_max_area_m2`` where another can take the land. Grids are unions of their atoms,
   snap-rounded and without crack holes, so they tile the community exactly.
4. **Patches and codes.** Whole grids are grouped into contiguous patches of about
   ``patch_households``, one per required worker; grids are coded district (6) + street
   (3) + community (3) + sequence (3), numbered north→south, west→east
   (:func:`community_prefixes`: from the layers' codes, or numbered within the street,
   unique across the plan).

Every grid outside the band is reported with the reason (``status``, ``reason``).

Examples
--------
>>> from gis.datasets.synthetic import make_district
>>> layers = make_district(3_000, seed=1)
>>> result = make_grids(layers["buildings"], communities=layers["communities"],
...                     roads=layers["roads"], compounds=layers["compounds"])
>>> int(result.grids["households"].sum()) == int(layers["buildings"]["households"].sum())
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity

from gis.crs import STORAGE_CRS
from gis.geometry import points_in_areas
from gis.i18n import N_, translator
from planning.grouping import Grouping, chunks, group_exact, new_solver, packing_bound
from planning.landuse import kind_label, land_use_areas
from planning.partition import (
    components,
    exactly_k,
    partition,
    polsby_popper,
    rook_contacts,
    rook_neighbours,
)
from planning.rules import RuleSet, get_preset
from planning.territory import territories

__all__ = [
    "GridResult",
    "buildings_by_community",
    "community_conflicts",
    "community_prefixes",
    "crosswalk",
    "make_grids",
    "partition",
    "polsby_popper",
    "shared_buildings",
    "stable_codes",
]


# --------------------------------------------------------------------------------------
# atoms: whole buildings, units, floor ranges
# --------------------------------------------------------------------------------------
@dataclass
class _Atom:
    geometry: shapely.Geometry
    households: int
    building: object = None
    unit_from: int | None = None
    unit_to: int | None = None
    floor_from: int | None = None
    floor_to: int | None = None
    special: float = 0.0
    residents: float = 0.0
    zone: object = None
    block: int = -1
    units: int = 1
    floors: int = 1
    footprint: shapely.Geometry | None = None  # the part of the building this atom holds
    relaxed: bool = False  # divided only because a planner relaxed a whole-building rule
    strip: bool = False  # a piece of a long thin cell without households


def _floor_ranges(floors: int, parts: int) -> list[tuple[int, int]]:
    edges = np.round(np.linspace(0, floors, parts + 1)).astype(int)
    return [(int(a) + 1, int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _long_axis(geom: shapely.Geometry) -> float:
    rect = shapely.minimum_rotated_rectangle(geom)
    coords = np.asarray(rect.exterior.coords) if rect.geom_type == "Polygon" else np.zeros((0, 2))
    if len(coords) < 4:
        return 0.0
    edges = np.diff(coords[:3], axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    e = edges[int(np.argmax(lengths))]
    return math.degrees(math.atan2(e[1], e[0]))


# m: land without households narrower than _STRIP_WIDTH_M (a roadside strip between a
# street and the blocks) is cut across every _STRIP_CHUNK_M along its length, so its pieces
# join the grids along it instead of one grid reaching hundreds of metres down the road
_STRIP_WIDTH_M = 20.0
_STRIP_CHUNK_M = 40.0
_STRIP_MIN_LENGTH_M = 300.0  # m: shorter strips stay whole (a compound's edge)


def _chunk_strip(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """A long thin cell without households cut into pieces about ``_STRIP_CHUNK_M`` long
    (any other cell unchanged, as one piece).

    A straight strip (a roadside strip between a street and the blocks) is cut across its
    length. A bent one (an L or U along two streets) and any frame round other land (the
    land between a compound's wall and its buildings, however wide) is cut by a lattice
    of ``_STRIP_CHUNK_M`` squares, so its pieces join the grids along each side instead
    of one grid wrapping round the others.
    Slivers the cuts leave join the piece they share the longest edge with.

    Examples
    --------
    >>> strip = shapely.box(0, 0, 300, 10)
    >>> pieces = _chunk_strip(strip)
    >>> len(pieces), round(sum(p.area for p in pieces))
    (8, 3000)
    >>> len(_chunk_strip(shapely.box(0, 0, 60, 60)))
    1
    >>> frame = shapely.box(0, 0, 160, 160).difference(shapely.box(10, 10, 150, 150))
    >>> pieces = _chunk_strip(frame)
    >>> len(pieces) > 8, round(sum(p.area for p in pieces)) == round(frame.area)
    (True, True)
    """
    area, perimeter = geom.area, geom.length
    if area <= 0 or perimeter <= 0:
        return [geom]
    # land round other land (between a compound's wall and its buildings): cut however
    # wide, or one grid takes the frame and wraps round the others
    frame = bool((shapely.get_num_interior_rings(shapely.get_parts(geom)) > 0).any())
    width = 2 * area / perimeter
    if width >= _STRIP_WIDTH_M and not frame:
        return [geom]
    angle = _long_axis(geom)
    centre = geom.centroid
    turned = affinity.rotate(geom, -angle, origin=centre)
    x0, y0, x1, y1 = turned.bounds
    straight = y1 - y0 <= 2.5 * width and not frame
    if (x1 - x0 if straight else perimeter / 2) < _STRIP_MIN_LENGTH_M and not frame:
        return [geom]
    columns = max(2, int(round((x1 - x0) / _STRIP_CHUNK_M)))
    xs = np.linspace(x0, x1, columns + 1)
    if straight:
        boxes = shapely.box(xs[:-1], y0 - 1, xs[1:], y1 + 1)
    else:
        rows = max(1, int(round((y1 - y0) / _STRIP_CHUNK_M)))
        ys = np.linspace(y0, y1, rows + 1)
        gx0, gy0 = np.meshgrid(xs[:-1], ys[:-1])
        gx1, gy1 = np.meshgrid(xs[1:], ys[1:])
        boxes = shapely.box(gx0.ravel() - 1e-9, gy0.ravel() - 1e-9, gx1.ravel(), gy1.ravel())
    try:
        cuts = shapely.intersection(turned, boxes)
    except shapely.errors.GEOSException:  # a degenerate cell: keep it whole
        return [geom]
    parts = [
        part
        for clipped in cuts
        for part in shapely.get_parts(clipped)
        if part.geom_type == "Polygon" and part.area > 0
    ]
    if not straight:
        parts = _absorb_slivers(parts, least=0.25 * width * _STRIP_CHUNK_M)
    pieces = [affinity.rotate(part, angle, origin=centre) for part in parts]
    if not pieces or abs(sum(p.area for p in pieces) - area) > 1e-6 * max(area, 1.0):
        return [geom]
    return pieces


def _absorb_slivers(parts: list[shapely.Geometry], *, least: float) -> list[shapely.Geometry]:
    """Join each part smaller than ``least`` to the part it shares the longest edge with
    (a sliver touching no other part stays a part of its own)."""
    kept: list[shapely.Geometry | None] = list(parts)
    for i in sorted(range(len(kept)), key=lambda k: kept[k].area):  # type: ignore[union-attr]
        piece = kept[i]
        if piece is None or piece.area >= least:
            continue
        edge = shapely.boundary(piece)
        shared = [
            float(shapely.length(shapely.intersection(edge, shapely.buffer(q, 1e-5))))
            if q is not None and j != i
            else 0.0
            for j, q in enumerate(kept)
        ]
        j = int(np.argmax(shared))
        if shared[j] > 0:
            kept[j] = shapely.union_all([kept[j], piece])
            kept[i] = None
    return [p for p in kept if p is not None]


def _estimate_units(households: int, floors: int) -> int:
    per_floor = households / max(floors, 1)
    per_unit_floor = 4 if floors >= 10 else 2
    return max(1, round(per_floor / per_unit_floor))


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer in proportion to weights (largest remainders)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(int)
    remainder = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:remainder]] += 1
    return base.tolist()


def _cut_positions(
    footprint: shapely.Geometry, fractions: Sequence[float], angle: float, origin: shapely.Point
) -> list[float]:
    """Where to cut (along ``angle``, in a frame rotated about ``origin``) so that the
    footprint's area is divided by ``fractions``.

    The area left of a line ``x = t`` is ``-∮ y dx`` over the footprint's boundary left of
    it (the line adds no ``dx``): a sum over the edges, quadratic in ``t`` between two
    vertices' ``x``. Each cut is the root of that quadratic in its interval.

    Examples
    --------
    >>> trapezoid = shapely.Polygon([(0, 0), (10, 0), (10, 4), (0, 2)])  # 30 m²
    >>> cuts = _cut_positions(trapezoid, [1, 1], 0.0, shapely.Point(0, 0))
    >>> round(cuts[0], 6)  # 2x + x²/10 = 15
    5.811388
    """
    rotated = affinity.rotate(footprint, -angle, origin=origin)
    rings = shapely.get_rings(shapely.get_parts(shapely.orient_polygons(rotated)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    p, q = coords[:-1][same], coords[1:][same]
    dx = q[:, 0] - p[:, 0]
    slope = np.divide(q[:, 1] - p[:, 1], dx, out=np.zeros_like(dx), where=dx != 0)

    def left_of(t: np.ndarray) -> np.ndarray:
        """The footprint's area left of each ``x = t`` (counter-clockwise exteriors)."""
        a = np.minimum(p[:, 0], t[:, None])
        b = np.minimum(q[:, 0], t[:, None])
        ya = p[:, 1] + slope * (a - p[:, 0])
        yb = p[:, 1] + slope * (b - p[:, 0])
        return -((b - a) * (ya + yb)).sum(axis=1) / 2

    xs = np.unique(coords[:, 0])
    at = left_of(xs)
    w = np.asarray(fractions, dtype=float)
    targets = np.cumsum(w / w.sum())[:-1] * at[-1]
    cuts = []
    for target in targets:
        k = int(np.clip(np.searchsorted(at, target) - 1, 0, len(xs) - 2))
        h = xs[k + 1] - xs[k]
        f0, f1, f2 = at[k], float(left_of(np.array([xs[k] + h / 2]))[0]), at[k + 1]
        curve = 2 * (f2 - 2 * f1 + f0) / h**2
        rise = (f2 - f0) / h - curve * h
        need = target - f0  # curve·s² + rise·s = need, increasing in s on [0, h]
        root = math.sqrt(max(rise * rise + 4 * curve * need, 0.0))
        s = 2 * need / (rise + root) if rise + root > 0 else 0.0
        cuts.append(float(xs[k] + min(max(s, 0.0), h)))
    return cuts


def _cut_cell(
    cell: shapely.Geometry,
    footprint: shapely.Geometry,
    fractions: Sequence[float],
    angle: float,
) -> list[tuple[shapely.Geometry, shapely.Geometry]]:
    """Cut a building's cell into pieces around its footprint.

    The cuts run across ``angle`` through the footprint, placed so that each piece holds
    the share ``fractions`` of the footprint (a unit's stairwell, a floor range's part);
    each cut is extended across the whole cell. Every piece is one polygon that contains
    its part of the footprint, so a piece of a divided building is drawn on the building.
    Returns (piece, footprint part) pairs.
    """
    if len(fractions) <= 1 or footprint.is_empty or footprint.area <= 0:
        return [(cell, footprint)]
    origin = footprint.centroid
    cuts = _cut_positions(footprint, fractions, angle, origin)
    rotated_cell = affinity.rotate(cell, -angle, origin=origin)
    cx0, cy0, cx1, cy1 = rotated_cell.bounds
    pad = max(cx1 - cx0, cy1 - cy0) + 1.0
    edges = np.array([cx0 - pad, *cuts, cx1 + pad])
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    ox, oy = origin.x, origin.y
    u = edges - ox
    bottom, top = cy0 - pad - oy, cy1 + pad - oy
    low_end = np.column_stack([ox + u * cos - bottom * sin, oy + u * sin + bottom * cos])
    high_end = np.column_stack([ox + u * cos - top * sin, oy + u * sin + top * cos])
    rings = np.stack([low_end[:-1], high_end[:-1], high_end[1:], low_end[1:], low_end[:-1]], axis=1)
    strips = shapely.polygons(rings)
    pieces = list(shapely.intersection(cell, strips))
    feet = list(shapely.intersection(footprint, strips))
    return list(zip(_keep_footprint_parts(pieces, feet), feet, strict=True))


def _keep_footprint_parts(
    pieces: list[shapely.Geometry], feet: list[shapely.Geometry]
) -> list[shapely.Geometry]:
    """Make each piece one polygon: keep the part holding most of its footprint share, give
    stray parts to the piece they share the longest edge with."""
    if all(p.geom_type == "Polygon" and not p.is_empty for p in pieces):
        return pieces
    pieces = [_polygonal_parts(p) for p in pieces]
    out: list[list[shapely.Geometry]] = [[] for _ in pieces]
    strays: list[shapely.Geometry] = []
    for i, parts in enumerate(pieces):
        if not parts:
            continue
        held = [shapely.area(shapely.intersection(p, feet[i])) if not feet[i].is_empty else 0.0 for p in parts]
        keep = int(np.argmax(np.asarray(held) + 1e-9 * np.asarray([p.area for p in parts])))
        out[i].append(parts[keep])
        strays.extend(p for j, p in enumerate(parts) if j != keep)
    for stray in sorted(strays, key=lambda g: -g.area):
        shared = [
            shapely.length(shapely.intersection(shapely.boundary(stray), shapely.buffer(shapely.union_all(o), 1e-6)))
            if o
            else -1.0
            for o in out
        ]
        out[int(np.argmax(shared))].append(stray)
    return [shapely.union_all(o) if len(o) > 1 else (o[0] if o else shapely.Polygon()) for o in out]


def _polygonal_parts(geom: shapely.Geometry) -> list[shapely.Geometry]:
    parts = shapely.get_parts(geom)
    out: list[shapely.Geometry] = []
    for p in parts:
        if p.geom_type == "Polygon" and p.area > 1e-9:
            out.append(p)
        elif p.geom_type in ("MultiPolygon", "GeometryCollection"):
            out.extend(_polygonal_parts(p))
    return out


def _arrange(
    cell: shapely.Geometry, footprint: shapely.Geometry, weights: Sequence[float], angle: float
) -> list[tuple[shapely.Geometry, shapely.Geometry]]:
    """Cut a cell into ``len(weights)`` pieces around its footprint: up to three side by
    side across ``angle``, more in rows (an r × c arrangement keeps pieces compact)."""
    n = len(weights)
    if n <= 3:
        return _cut_cell(cell, footprint, weights, angle + 90)
    rows = max(1, round(math.sqrt(n)))
    bounds = np.round(np.linspace(0, n, rows + 1)).astype(int)
    groups = [list(range(a, b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    row_pieces = _cut_cell(cell, footprint, [sum(weights[i] for i in g) for g in groups], angle + 90)
    out: list[tuple[shapely.Geometry, shapely.Geometry]] = []
    for g, (row, foot) in zip(groups, row_pieces, strict=True):
        out.extend(_cut_cell(row, foot, [weights[i] for i in g], angle))
    return out


def _wedge(origin: shapely.Point, a0: float, a1: float, radius: float) -> shapely.Geometry:
    """The pie slice from angle ``a0`` to ``a1`` (degrees, counter-clockwise) about ``origin``."""
    steps = max(2, int(math.ceil((a1 - a0) / 5.0)) + 1)
    angles = np.radians(np.linspace(a0, a1, steps))
    ring = np.empty((steps + 2, 2))
    ring[0] = ring[-1] = origin.x, origin.y
    ring[1:-1, 0] = origin.x + radius * np.cos(angles)
    ring[1:-1, 1] = origin.y + radius * np.sin(angles)
    return shapely.polygons(ring)


class _Fan:
    """The area of a polygon inside a cone about a point, as a function of the cone's angle
    (exact, from the polygon's edges: each edge sweeps a triangle with the apex).

    An edge at distance ``d`` from the apex, its nearest point at angle ``ν``, sweeps
    ``d² (tan(ψ₁ − ν) − tan(ψ₀ − ν)) / 2`` between the rays at ``ψ₀`` and ``ψ₁``, with the
    sign of its direction (exterior rings counter-clockwise, holes clockwise), so the
    area inside a cone is a sum over edges, with no geometry built: the bisection that
    places sector cuts asks for it a few dozen times per building.

    Examples
    --------
    >>> fan = _Fan(shapely.box(-1, -1, 1, 1), 0.0, 0.0, start=0.0)
    >>> round(fan(math.pi / 2), 9), round(fan(2 * math.pi), 9)
    (1.0, 4.0)
    """

    def __init__(self, geom: shapely.Geometry, x: float, y: float, *, start: float) -> None:
        geom = shapely.orient_polygons(geom, exterior_cw=False)
        rings = shapely.get_rings(shapely.get_parts(geom))
        coords, ring = shapely.get_coordinates(rings, return_index=True)
        same = ring[1:] == ring[:-1]
        p = (coords[:-1] - (x, y))[same]
        q = (coords[1:] - (x, y))[same]
        sweep = np.arctan2(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0], (p * q).sum(axis=1))
        ccw = sweep > 0
        first = np.where(ccw[:, None], p, q)  # the end at the lower angle
        alpha = np.mod(np.arctan2(first[:, 1], first[:, 0]) - math.radians(start), 2 * math.pi)
        e = q - p
        t = -(p * e).sum(axis=1) / np.maximum((e * e).sum(axis=1), 1e-300)
        foot = p + t[:, None] * e
        d2 = (foot * foot).sum(axis=1)
        nu = alpha + np.arctan2(
            first[:, 0] * foot[:, 1] - first[:, 1] * foot[:, 0], (first * foot).sum(axis=1)
        )
        keep = (np.abs(sweep) > 1e-15) & (d2 > 1e-18)  # edges in line with the apex sweep nothing
        self._alpha, self._nu = alpha[keep], nu[keep]
        self._beta = (alpha + np.abs(sweep))[keep]
        self._w = np.where(ccw, 0.5, -0.5)[keep] * d2[keep]
        self._base = np.tan(self._alpha - self._nu)
        # edges across the start ray: their part past 2π lies at the cone's beginning
        self._wrap = self._beta > 2 * math.pi
        self._wrap_base = np.tan(2 * math.pi - self._nu[self._wrap])

    def __call__(self, theta: float | np.ndarray) -> float | np.ndarray:
        """The area inside the cone from the start to ``theta`` radians (0 … 2π) further
        (one angle, or an array of them)."""
        angles = np.asarray(theta, dtype=float)[..., None]
        swept = np.tan(np.clip(angles, self._alpha, self._beta) - self._nu) - self._base
        area = swept @ self._w
        if self._wrap.any():
            nu = self._nu[self._wrap]
            ends = np.minimum(angles + 2 * math.pi, self._beta[self._wrap])
            wrapped = np.tan(ends - nu) - self._wrap_base
            area = area + wrapped @ self._w[self._wrap]
        return float(area) if area.ndim == 0 else area


def _sector_cells(
    cell: shapely.Geometry, footprint: shapely.Geometry, weights: Sequence[float], start: float
) -> list[tuple[shapely.Geometry, shapely.Geometry]]:
    """Cut a cell into sectors about a point of the footprint, counter-clockwise from
    ``start`` (degrees), each holding the share ``weights`` of the footprint and of the
    cell half and half (the footprint's share keeps every piece on its part of the building,
    the cell's keeps the pieces compact). A deep cell cut this way gives compact pieces
    where cuts across it give long strips."""
    origin = footprint.centroid
    if not footprint.contains(origin):
        origin = footprint.point_on_surface()
    x0, y0, x1, y1 = cell.bounds
    radius = 2.0 * math.hypot(x1 - x0, y1 - y0) + 1.0
    w = np.asarray(weights, dtype=float)
    targets = np.cumsum(w / w.sum())[:-1]
    foot_area, cell_area = footprint.area, cell.area

    foot_fan = _Fan(footprint, origin.x, origin.y, start=start)
    cell_fan = _Fan(cell, origin.x, origin.y, start=start)

    def share(turns: np.ndarray) -> np.ndarray:
        theta = np.radians(turns)
        return 0.5 * (foot_fan(theta) / foot_area + cell_fan(theta) / cell_area)

    edges = [start]
    for target in targets:
        lo, hi = edges[-1] - start, 360.0
        for _ in range(5):  # 32 angles at a time, to a hundred-thousandth of a degree
            turns = np.linspace(lo, hi, 33)
            k = int(np.searchsorted(share(turns[1:-1]), target))  # share(turns[k+1]) >= target
            lo, hi = turns[k], turns[k + 1]
        edges.append(start + (lo + hi) / 2)
    edges.append(start + 360.0)
    wedges = np.array(
        [_wedge(origin, a, b, radius) for a, b in zip(edges[:-1], edges[1:], strict=True)],
        dtype=object,
    )
    pieces = list(shapely.intersection(cell, wedges))
    feet = list(shapely.intersection(footprint, wedges))
    held = np.array([f.area for f in feet]) / foot_area
    if (held < 0.25 * w / w.sum()).any():  # a piece would hold too thin a slice of the building
        raise shapely.errors.GEOSException("sectors too thin on the footprint")
    return list(zip(_keep_footprint_parts(pieces, feet), feet, strict=True))


def _most_compact(
    cell: shapely.Geometry,
    footprint: shapely.Geometry,
    weights: Sequence[float],
    angle: float,
    side_by_side: list[tuple[shapely.Geometry, shapely.Geometry]],
) -> list[tuple[shapely.Geometry, shapely.Geometry]]:
    """The pieces cut side by side (units along a slab, as they stand), or sectors about the
    footprint where those are clearly more compact (the least compact piece counts): a deep
    cell round a tower cut side by side gives strips a few metres wide and hundreds long."""
    if len(weights) <= 1 or footprint.is_empty or footprint.area <= 0:
        return side_by_side

    def worst(pieces: list[tuple[shapely.Geometry, shapely.Geometry]]) -> float:
        geoms = [p for p, _ in pieces]
        if any(g.is_empty or g.geom_type != "Polygon" for g in geoms):
            return 0.0
        return float(np.min(polsby_popper(np.array(geoms, dtype=object))))

    side = worst(side_by_side)
    if side >= 0.5:  # no piece can be twice as compact (Polsby–Popper is at most 1)
        return side_by_side
    try:
        sectors = _sector_cells(cell, footprint, weights, angle + 180.0 - 180.0 / len(weights))
    except shapely.errors.GEOSException:
        return side_by_side
    if abs(sum(p.area for p, _ in sectors) - cell.area) > 1e-6 * max(cell.area, 1.0):
        return side_by_side
    return sectors if worst(sectors) > 2.0 * side else side_by_side


def _unit_cells(
    cell: shapely.Geometry, footprint: shapely.Geometry, units: int, angle: float
) -> list[tuple[shapely.Geometry, shapely.Geometry]]:
    """The cell cut into one piece per unit, in unit order (side by side, or in sectors
    where those are clearly more compact: :func:`_most_compact`).
    """
    return _most_compact(cell, footprint, [1.0] * units, angle, _side_by_side(cell, footprint, units, angle))


def _side_by_side(
    cell: shapely.Geometry, footprint: shapely.Geometry, units: int, angle: float
) -> list[tuple[shapely.Geometry, shapely.Geometry]]:
    """The cell cut into one piece per unit, in unit order.

    Units stand side by side along a slab, so a slab's cell is cut across its long axis.
    A deep building (a courtyard block, a footprint much wider than a row of stairwells)
    is cut in rows × columns instead, numbered as a serpentine so consecutive units stay
    neighbours, which keeps the pieces compact.
    """
    rect = shapely.minimum_rotated_rectangle(footprint)
    coords = np.asarray(rect.exterior.coords) if rect.geom_type == "Polygon" else np.zeros((0, 2))
    if units < 4 or len(coords) < 4:
        return _cut_cell(cell, footprint, [1.0] * units, angle)
    sides = np.hypot(*np.diff(coords[:3], axis=0).T)
    aspect = float(sides.max() / max(sides.min(), 1e-9))
    rows = max(1, min(units, round(math.sqrt(units / aspect))))
    if rows == 1:
        return _cut_cell(cell, footprint, [1.0] * units, angle)
    bounds = np.round(np.linspace(0, units, rows + 1)).astype(int)
    counts = [int(b - a) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    out: list[tuple[shapely.Geometry, shapely.Geometry]] = []
    for r, (row, row_foot) in enumerate(_cut_cell(cell, footprint, [float(c) for c in counts], angle + 90)):
        pieces = _cut_cell(row, row_foot, [1.0] * counts[r], angle)
        out.extend(pieces if r % 2 == 0 else pieces[::-1])
    return out


def _floor_counts(
    households: int, floors: int, parts: int
) -> tuple[list[tuple[int, int]], list[int]]:
    """The floor ranges of a unit divided into ``parts`` and the households of each: whole
    floors, so a unit of 99 on 33 floors in two gives 16 and 17 floors, 48 and 51."""
    ranges = _floor_ranges(floors, parts) if floors >= parts else [(1, floors)] * parts
    weights = [float(b - a + 1) for a, b in ranges]
    return ranges, _apportion(households, weights)


def _floor_parts(households: int, floors: int, rules: RuleSet) -> int:
    """Into how many floor ranges a unit too large for one grid is divided.

    The fewest ranges of whole floors that each fit the band (a unit of 120: 3 × 40); else
    the fewest whose ranges pair up into the band (a unit of 51: 3 × 17, two of which make
    34); else the fewest that fit under the maximum. Never more ranges than floors. The
    households of each range are counted on whole floors: a unit of 99 on 33 floors is
    three ranges of 33, not two of 48 and 51.

    Examples
    --------
    >>> rules = get_preset()
    >>> [_floor_parts(h, 30, rules) for h in (120, 51, 60, 55, 200)]  # 200: 4 × 7–8 floors is 47–53
    [3, 3, 2, 3, 5]
    >>> _floor_parts(99, 33, rules), _floor_parts(100, 25, rules)
    (3, 3)
    """
    low, high = rules.grid_min_households, rules.grid_max_households
    fewest = math.ceil(households / high)

    def counts(k: int) -> list[int]:
        return _floor_counts(households, floors, k)[1]

    for k in range(fewest, min(households // max(low, 1), floors) + 1):
        if all(low <= c <= high for c in counts(k)):
            return k
    for k in range(fewest, floors + 1):
        if all(low / 2 <= c <= high / 2 for c in counts(k)):
            return k
    for k in range(fewest, max(floors, fewest) + 1):
        if max(counts(k)) <= high:
            return k
    return fewest


def _divide_building(
    record: dict[str, object],
    label: object,
    cell: shapely.Geometry,
    footprint: shapely.Geometry,
    *,
    rules: RuleSet,
) -> tuple[list[_Atom], str]:
    """Divide a building that no grid can hold: by whole units first, and a unit by floor
    range only when it alone exceeds a grid's maximum. Each piece is drawn on the building's
    own territory, around its part of the footprint. Returns the atoms and how the units
    were known (``units_given`` or ``units_estimated``)."""
    h = int(record["households"])
    floors_value = record.get("floors")
    floors = int(floors_value) if floors_value is not None and pd.notna(floors_value) else 1
    floors = max(floors, 1)
    units_value = record.get("units")
    units_known = units_value is not None and pd.notna(units_value) and int(units_value) > 0
    units = int(units_value) if units_known else _estimate_units(h, floors)
    units = max(1, min(units, h))
    how = "units_given" if units_known else "units_estimated"
    special = float(record.get("special_service_households", 0) or 0)
    residents = float(record.get("residents", 0) or 0)
    foot = shapely.intersection(footprint, cell)
    if foot.is_empty or foot.area <= 0:
        foot = shapely.buffer(shapely.point_on_surface(cell), 1.0)
    angle = _long_axis(foot)
    unit_households = _apportion(h, [1.0] * units)
    unit_cells = _unit_cells(cell, foot, units, angle)
    limit = max(rules.grid_max_households, rules.grid_whole_unit_households)
    atoms: list[_Atom] = []
    for u, ((unit_cell, unit_foot), hu) in enumerate(zip(unit_cells, unit_households, strict=True)):
        k = _floor_parts(hu, floors, rules) if hu > limit else 1
        ranges, counts = _floor_counts(hu, floors, k)
        weights = [float(b - a + 1) for a, b in ranges]
        pieces = (
            _most_compact(unit_cell, unit_foot, weights, angle, _arrange(unit_cell, unit_foot, weights, angle))
            if k > 1
            else [(unit_cell, unit_foot)]
        )
        for (lo, hi), (piece, piece_foot), count in zip(ranges, pieces, counts, strict=True):
            atoms.append(
                _Atom(
                    piece,
                    count,
                    label,
                    u + 1,
                    u + 1,
                    lo,
                    hi,
                    special * count / h,
                    residents * count / h,
                    units=units,
                    floors=floors,
                    footprint=piece_foot,
                )
            )
    return atoms, how


# --------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridResult:
    """Grids, their members and patches for one or more communities.

    Attributes
    ----------
    grids
        Polygons in EPSG:4490 with ``grid_code``, ``community_id``, ``kind``
        (``residential``, or ``dedicated`` for a 专属网格 of land without households),
        ``households``, ``residents``, ``special_service_households``, ``workload``,
        ``patch_id``, ``n_buildings``, ``status`` (``ok``, ``out_of_range`` or
        ``dedicated``) and ``reason``.
    grid_members
        ``grid_code``, ``building_id``, ``unit_from``, ``unit_to``, ``floor_from``,
        ``floor_to``, ``households``.
    patches
        Worker patches (片区): unions of whole grids, in EPSG:4490.
    divided_buildings
        ``building_id``, ``parts``, ``how`` (``units_given``, ``units_estimated`` or
        ``relaxed``).
    crosswalk
        ``old_code``, ``new_code``, ``overlap_share``, ``kept`` when re-gridding.
    zones
        The data's bounds, per zone (a compound, or the buildings of a street block outside
        compounds): ``community_id``, ``zone``, ``households``, ``bound`` (grids outside
        the band when the zone is grouped alone: the fewest no grouping of its whole
        buildings inside it can avoid when ``exact``; zones that fail are then joined to a
        neighbour, so this is what keeping every grid inside its compound would cost, not a
        bound on the result), ``exact`` (whether that search was complete) and
        ``community_bound`` (the fewest grids outside the band any grouping of the
        community's whole buildings, units and floors can reach, joins, compounds and
        contiguity ignored: a lower bound on the result; repeated on each of its zones).
    notes
        What the engine assumed (e.g. how grid codes were made).
    """

    grids: gpd.GeoDataFrame
    grid_members: pd.DataFrame
    patches: gpd.GeoDataFrame
    divided_buildings: pd.DataFrame = field(default_factory=pd.DataFrame)
    crosswalk: pd.DataFrame = field(default_factory=pd.DataFrame)
    zones: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()

    def summary(self, *, low: int = 30, high: int = 50) -> dict[str, float]:
        """Share in range, min and max households, contiguity (the CLI's JSON).

        Household grids only: dedicated grids (no households) are counted apart.
        ``bound_out_of_range`` is a lower bound on the household grids outside the band
        (summed over communities: ``zones["community_bound"]``); ``zones_alone_out_of_range``
        is how many would be outside it if no grid crossed a compound or a street block
        (``zones["bound"]``).
        """
        grids = self.grids
        kind = grids["kind"] if "kind" in grids else pd.Series("residential", index=grids.index)
        home = grids[kind == "residential"]
        hh = home["households"]
        parts = shapely.get_num_geometries(grids.geometry.values)
        zones = self.zones
        alone = int(zones["bound"].sum()) if "bound" in zones else 0
        bound = (
            int(zones.groupby("community_id")["community_bound"].first().sum())
            if "community_bound" in zones and len(zones)
            else 0
        )
        return {
            "grids": int(len(home)),
            "in_range_share": round(float(((hh >= low) & (hh <= high)).mean()), 4)
            if len(hh)
            else 1.0,
            "min_households": int(hh.min()) if len(hh) else 0,
            "max_households": int(hh.max()) if len(hh) else 0,
            "contiguous_share": round(float((parts == 1).mean()), 4) if len(grids) else 1.0,
            "dedicated_grids": int((kind != "residential").sum()),
            "bound_out_of_range": bound,
            "zones_alone_out_of_range": alone,
        }


def shared_buildings(grid_members: pd.DataFrame) -> pd.DataFrame:
    """The buildings divided between grids, one row per building and grid.

    Returns
    -------
    pandas.DataFrame
        ``building_id``, ``grid_code``, ``units`` and ``floors`` (the ranges this grid
        holds, "1-2"; ``floors`` is ``""`` where the building is divided by whole units
        only) and ``grids`` (how many grids share the building). Empty when no building is
        divided.

    Examples
    --------
    >>> members = pd.DataFrame({
    ...     "grid_code": ["a", "b", "b"], "building_id": ["7", "7", "8"],
    ...     "unit_from": [1, 3, None], "unit_to": [2, 4, None],
    ...     "floor_from": [1, 1, None], "floor_to": [6, 6, None]})
    >>> shared_buildings(members)[["building_id", "grid_code", "units", "floors", "grids"]]
      building_id grid_code units floors  grids
    0           7         a   1-2             2
    1           7         b   3-4             2
    """

    def span(a: object, b: object) -> str:
        if a is None or pd.isna(a):  # type: ignore[arg-type]
            return ""
        a, b = int(a), int(b) if b is not None and not pd.isna(b) else int(a)  # type: ignore[arg-type]
        return str(a) if a == b else f"{a}-{b}"

    columns = ["building_id", "grid_code", "units", "floors", "grids"]
    if grid_members is None or grid_members.empty:
        return pd.DataFrame(columns=columns)
    m = grid_members.assign(building_id=grid_members["building_id"].astype(str))
    counts = m.groupby("building_id")["grid_code"].nunique()
    m = m[m["building_id"].map(counts) > 1]
    if m.empty:
        return pd.DataFrame(columns=columns)
    get = lambda c: m[c] if c in m else pd.Series(None, index=m.index)  # noqa: E731
    units = [span(a, b) for a, b in zip(get("unit_from"), get("unit_to"), strict=True)]
    floors = [span(a, b) for a, b in zip(get("floor_from"), get("floor_to"), strict=True)]
    out = pd.DataFrame(
        {"building_id": m["building_id"].to_numpy(), "grid_code": m["grid_code"].astype(str).to_numpy(),
         "units": units, "floors": floors}
    )
    by_floor = out.groupby("building_id")["floors"].nunique() > 1
    out.loc[~out["building_id"].map(by_floor), "floors"] = ""
    out = (
        out.groupby(["building_id", "grid_code"], sort=True)
        .agg(units=("units", lambda v: ", ".join(dict.fromkeys(x for x in v if x))),
             floors=("floors", lambda v: ", ".join(dict.fromkeys(x for x in v if x))))
        .reset_index()
    )
    out["grids"] = out["building_id"].map(out.groupby("building_id").size()).astype(int)
    return out[columns]


def _move_floors(
    atoms: list[_Atom], labels: np.ndarray, reasons: dict[int, str], *, low: int, high: int
) -> None:
    """Move floors between the stacked parts of a divided unit to bring grids into the band.

    A unit divided into floor ranges can leave a grid just outside the band (a
    15-household building next to a 36-household floor range makes 51). Moving the
    boundary floor between two ranges of the same unit, in different grids, fixes it when
    both grids end in the band. Floors stack, so the map territory stays as it is.
    """
    sums = np.bincount(labels, weights=[a.households for a in atoms]).astype(float)
    for g in [int(g) for g in np.flatnonzero((sums > 0) & ((sums < low) | (sums > high)))]:
        for i in np.flatnonzero(labels == g):
            p = atoms[i]
            if p.floor_from is None or p.floor_to is None or p.households <= 0:
                continue
            for j, q in enumerate(atoms):
                h = int(labels[j])
                if (
                    h == g
                    or q.building != p.building
                    or (q.unit_from, q.unit_to) != (p.unit_from, p.unit_to)
                    or q.floor_from is None
                    or q.floor_to is None
                    or not (q.floor_from == p.floor_to + 1 or q.floor_to == p.floor_from - 1)
                ):
                    continue
                donor_is_p = sums[g] > high
                donor, taker = (p, q) if donor_is_p else (q, p)
                floors = donor.floor_to - donor.floor_from + 1
                for t in range(1, floors):
                    moved = round(donor.households * t / floors)
                    new_g = sums[g] - moved if donor_is_p else sums[g] + moved
                    new_h = sums[h] + moved if donor_is_p else sums[h] - moved
                    if low <= new_g <= high and low <= new_h <= high:
                        donor.households -= moved
                        taker.households += moved
                        if donor.floor_to + 1 == taker.floor_from:  # donor below taker
                            donor.floor_to -= t
                            taker.floor_from -= t
                        else:
                            donor.floor_from += t
                            taker.floor_to += t
                        sums[g], sums[h] = new_g, new_h
                        reasons.pop(g, None)
                        break
                if low <= sums[g] <= high:
                    break
            if low <= sums[g] <= high:
                break


def _relax(atoms: list[_Atom], zones: set[str], rules: RuleSet) -> list[_Atom]:
    """Divide, in ``zones``, what the planner allowed to divide one step further: whole
    buildings above ``grid_whole_building_households`` by unit, units above
    ``grid_whole_unit_households`` into two floor ranges. Pieces stay on their building."""
    out: list[_Atom] = []
    for atom in atoms:
        if str(atom.zone) not in zones or atom.households < 2:
            out.append(atom)
            continue
        whole = atom.unit_from in (None, 1) and atom.unit_to in (None, atom.units)
        whole = whole and atom.floor_from in (None, 1) and atom.floor_to in (None, atom.floors)
        foot = atom.footprint if atom.footprint is not None else shapely.buffer(
            shapely.point_on_surface(atom.geometry), 1.0
        )
        angle = _long_axis(foot)
        if whole and atom.units >= 2 and atom.households > rules.grid_whole_building_households:
            ranges = [(u + 1, u + 1, 1, atom.floors) for u in range(atom.units)]
            weights = [1.0] * atom.units
            pieces = _cut_cell(atom.geometry, foot, weights, angle)
        elif (
            (whole or atom.unit_from == atom.unit_to)
            and atom.households > rules.grid_whole_unit_households
            and (atom.floor_to or atom.floors) > (atom.floor_from or 1)
        ):
            f0, f1 = atom.floor_from or 1, atom.floor_to or atom.floors
            ranges = [
                (atom.unit_from or 1, atom.unit_to or atom.units, f0 + lo - 1, f0 + hi - 1)
                for lo, hi in _floor_ranges(f1 - f0 + 1, 2)
            ]
            weights = [float(r[3] - r[2] + 1) for r in ranges]
            pieces = _cut_cell(atom.geometry, foot, weights, angle + 90)
        else:
            out.append(atom)
            continue
        counts = _apportion(atom.households, weights)
        for (u0, u1, f0, f1), (piece, piece_foot), count in zip(ranges, pieces, counts, strict=True):
            share = count / atom.households
            out.append(
                _Atom(
                    piece, count, atom.building, u0, u1, f0, f1,
                    atom.special * share, atom.residents * share, atom.zone, atom.block,
                    atom.units, atom.floors, piece_foot, True,
                )
            )  # fmt: skip
    return out


@dataclass
class _Zone:
    members: np.ndarray  # positions in the household-atom arrays
    names: tuple[str, ...]  # the zones (compounds, street blocks) it holds
    grouping: Grouping


def _search_graph(
    atoms: list[_Atom], nb: list[set[int]], *, rules: RuleSet
) -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
    """The atoms the grouping works on and their rook adjacency (positions in ``nodes``).

    Household atoms, and **connectors**: atoms without households smaller than a
    dedicated grid that touch at least two household atoms (a shop's cell between two
    homes, a small square between two compounds). A grid may take a connector to join
    its buildings; each connector goes to one grid at most.
    Returns the nodes (atom positions), whether each is a connector, and the adjacency.
    """
    hh = np.array([a.households > 0 for a in atoms])
    area = shapely.area(np.array([a.geometry for a in atoms], dtype=object))
    connector = np.array(
        [
            not hh[i]
            and area[i] < rules.dedicated_grid_min_area_m2
            and sum(1 for b in nb[i] if hh[b]) >= 2
            for i in range(len(atoms))
        ],
        dtype=bool,
    )
    nodes = np.flatnonzero(hh | connector)
    pos = {int(a): i for i, a in enumerate(nodes)}
    graph = [{pos[b] for b in nb[a] if b in pos} for a in nodes]
    return nodes, connector[nodes], graph


# A failing zone is regrouped with its neighbours' grids along the seam (then a ring
# more); a small one (a compound of a few buildings that cannot make a grid alone) is
# also tried joined to a whole neighbour, the two of at most this many atoms. On the
# generated 100k city, whole joins of large zones took 2.5 of 17 CPU s and gained nothing
# the seams did not; on the Beijing sample a 7-atom compound needs its whole street block.
_WHOLE_JOIN_SMALL = 30
_WHOLE_JOIN_NODES = 600


@dataclass(frozen=True)
class _Border:
    members: np.ndarray  # node positions: a zone's grids next to its neighbour
    out_of_band: int  # how many of those grids are outside the band


def _border(
    zone: _Zone,
    other: np.ndarray,
    graph: list[set[int]],
    work: np.ndarray,
    *,
    low: float,
    high: float,
    hops: int,
) -> _Border:
    """The grids of ``zone`` next to a neighbouring zone (``other``, a mask of node
    positions): those that touch it (``hops`` 1), and the grids beside those (2); the
    whole zone with ``hops`` 0.

    Two zones are joined by regrouping only their grids along the seam: a grid across
    the seam must touch both sides, so a compound's far grids and a street block's far
    grids keep theirs, and the search stays the size of a few grids whatever the zones.
    """
    labels = zone.grouping.labels
    if hops == 0:  # the whole zone
        return _Border(zone.members, zone.grouping.out_of_band)
    reached = other
    near = np.zeros(len(zone.members), dtype=bool)
    for _ in range(hops):
        touch = np.fromiter(
            (any(reached[b] for b in graph[a]) for a in zone.members),
            dtype=bool,
            count=len(zone.members),
        )
        near |= touch | np.isin(labels, labels[touch & (labels >= 0)])
        reached = np.zeros(len(other), dtype=bool)
        reached[zone.members[near]] = True
    near_labels = np.unique(labels[near & (labels >= 0)])
    taken = labels >= 0
    sums = np.bincount(labels[taken], weights=work[zone.members[taken]])
    outside = (sums < low) | (sums > high)
    return _Border(zone.members[near], int(outside[near_labels].sum()))


def _joined(zones: Sequence[tuple[_Zone, _Border]], found: Grouping) -> tuple[np.ndarray, Grouping]:
    """Two zones joined: their borders regrouped as ``found`` (the borders' members in
    order), and the rest of each zone grouped as it was."""
    members = [np.concatenate([border.members for _, border in zones])]
    labels = [found.labels]
    out = found.out_of_band
    following = int(found.labels.max()) + 1 if len(found.labels) else 0
    for zone, border in zones:
        kept = ~np.isin(zone.members, border.members)
        rest = zone.grouping.labels[kept]
        taken = rest >= 0
        _, renumbered = np.unique(rest[taken], return_inverse=True)
        rest_labels = np.full(len(rest), -1, dtype=int)
        rest_labels[taken] = renumbered + following
        following += int(renumbered.max()) + 1 if taken.any() else 0
        members.append(zone.members[kept])
        labels.append(rest_labels)
        out += zone.grouping.out_of_band - border.out_of_band
    regrouped_all = all(len(border.members) == len(zone.members) for zone, border in zones)
    # only where both zones were searched again whole is the joined zone's count proven
    grouping = Grouping(np.concatenate(labels), out, found.exact and regrouped_all)
    return np.concatenate(members), grouping


# households: a zone larger than this (a street block of thousands of homes outside any
# compound) whose search leaves grids outside the band is cut into parts of about
# _ZONE_PART_HOUSEHOLDS, and the parts are then zones of their own: searched exactly, and
# joined along their seams where they fail, as compounds are (searched whole, it was cut
# the same way inside the search, where a failing part could not be mended by its
# neighbour)
_ZONE_SPLIT_HOUSEHOLDS = 1_200.0
_ZONE_PART_HOUSEHOLDS = 400.0


def _positions_by(values: np.ndarray) -> dict[object, np.ndarray]:
    """The positions of each value, ascending, by value in order of first appearance: one
    pass, where ``np.flatnonzero(values == v)`` for each value compares every string again
    (a community's few hundred zones × its atoms).

    Examples
    --------
    >>> {k: v.tolist() for k, v in _positions_by(np.array(["b", "a", "b"], dtype=object)).items()}
    {'b': [0, 2], 'a': [1]}
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    if not len(uniques):
        return {}
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
    return dict(zip(uniques.tolist(), np.split(order, ends), strict=True))


def _zone_parts(
    members: np.ndarray,
    optional: np.ndarray,
    graph: list[set[int]],
    work: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> list[np.ndarray]:
    """A large zone's nodes (``members``) in connected parts of about
    ``_ZONE_PART_HOUSEHOLDS`` (:func:`planning.grouping.chunks` of its homes; a connector
    goes with the part it touches most)."""
    homes = members[~optional[members]]
    local = {int(a): i for i, a in enumerate(homes)}
    local_nb = [{local[b] for b in graph[a] if b in local} for a in homes]
    part_of = dict(
        zip(
            homes.tolist(),
            chunks(work[homes], x[homes], y[homes], local_nb, size=_ZONE_PART_HOUSEHOLDS).tolist(),
            strict=True,
        )
    )
    for i in members[optional[members]].tolist():
        touching = [part_of[j] for j in graph[i] if j in local]
        part_of[i] = max(sorted(set(touching)), key=touching.count) if touching else 0
    part = np.array([part_of[int(a)] for a in members])
    return [members[part == p] for p in pd.unique(part)]


def _group_zones(
    atoms: list[_Atom], nb: list[set[int]], *, rules: RuleSet
) -> tuple[np.ndarray, list[_Zone], dict[str, tuple[int, bool, float]]]:
    """Group household atoms zone by zone, exactly; join zones that cannot be divided alone.

    Returns each atom's group (-1 for atoms without households that no grid took as a
    connector), the final zones (``members`` are atom positions), and per original zone
    its bound (grids out of band alone), whether the bound is exact, and its households.
    """
    low, high = rules.grid_min_households, rules.grid_max_households
    target = (low + high) / 2
    nodes, optional, graph = _search_graph(atoms, nb, rules=rules)
    geoms = np.array([atoms[a].geometry for a in nodes], dtype=object)
    cent = shapely.centroid(geoms) if len(geoms) else np.zeros(0, dtype=object)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    area = shapely.area(geoms)
    pp = np.clip(polsby_popper(geoms), 0.05, 1.0) if len(geoms) else np.zeros(0)
    own = area**2 / (2 * math.pi * pp)
    work = np.array(
        [atoms[a].households + (rules.special_service_weight - 1.0) * atoms[a].special for a in nodes],
        dtype=float,
    )
    zone_of = np.array([str(atoms[a].zone) for a in nodes], dtype=object)
    for i in np.flatnonzero(optional):  # a connector belongs to the zone it touches most
        touching = [zone_of[j] for j in graph[i] if not optional[j]]
        zone_of[i] = max(sorted(set(touching)), key=touching.count) if touching else zone_of[i]

    least_out: dict[tuple[float, ...], int] = {}  # packing bounds, by household counts
    solver = new_solver()  # one HiGHS for the community's programs, one after the other

    def solve_on(members: np.ndarray, nodes: int, fewer_than: int | None = None) -> Grouping:
        local = {int(a): i for i, a in enumerate(members)}
        local_nb = [{local[b] for b in graph[a] if b in local} for a in members]
        return group_exact(
            work[members], x[members], y[members], area[members], local_nb,
            low=low, high=high, target=target, own_moment=own[members],
            optional=optional[members], nodes=nodes, fewer_than=fewer_than, bounds=least_out,
            solver=solver,
        )  # fmt: skip

    def solve(members: np.ndarray, fewer_than: int | None = None) -> Grouping:
        """Without connectors first (a smaller search); with them where that leaves grids
        outside the band. With ``fewer_than``, only groupings with fewer grids outside the
        band are wanted (see :func:`planning.grouping.group_exact`)."""
        homes = members[~optional[members]]
        found = solve_on(homes, 300, fewer_than)
        labels = np.full(len(members), -1, dtype=int)
        labels[~optional[members]] = found.labels
        plain = Grouping(labels, found.out_of_band, found.exact)
        if not found.out_of_band or not optional[members].any():
            return plain
        # only a grouping with fewer grids outside the band is wanted: the search is told
        wanted = plain.out_of_band if fewer_than is None else min(plain.out_of_band, fewer_than)
        joined = solve_on(members, 100, fewer_than=wanted)
        return joined if joined.out_of_band < plain.out_of_band else plain

    zones: list[_Zone | None] = []
    bounds: dict[str, tuple[int, bool, float]] = {}
    members_of = _positions_by(zone_of)
    for name in pd.unique(zone_of[~optional]):
        members = members_of[name]
        found = solve(members)
        households = float(work[members].sum())
        bounds[str(name)] = (found.out_of_band, found.exact, households)
        if not found.out_of_band or found.exact or households <= _ZONE_SPLIT_HOUSEHOLDS:
            zones.append(_Zone(members, (str(name),), found))
            continue
        # a large zone whose search left grids outside the band: its parts become zones
        for part in _zone_parts(members, optional, graph, work, x, y):
            zones.append(_Zone(part, (str(name),), solve(part)))
    owner = np.full(len(nodes), -1, dtype=int)
    # a zone that failed to join any neighbour tries them again next round; the ones that
    # did not change give the same grouping (the same atoms in the same order)
    tried: dict[tuple[bytes, int], Grouping | None] = {}
    for _ in range(4):  # join failing zones to the neighbour that helps most, a few rounds
        changed = False
        failing = [i for i, z in enumerate(zones) if z is not None and z.grouping.out_of_band]
        for zi in sorted(failing, key=lambda i: work[zones[i].members].sum()):  # type: ignore[union-attr]
            zone = zones[zi]
            if zone is None or not zone.grouping.out_of_band:
                continue
            for i, z in enumerate(zones):
                if z is not None:
                    owner[z.members] = i
            around = {int(owner[b]) for a in zone.members for b in graph[a]} - {zi, -1}
            neighbours = sorted(around)
            mask = np.zeros(len(nodes), dtype=bool)
            mask[zone.members] = True
            seams = {}  # each neighbour's atoms, as a mask
            for o in neighbours:
                seams[o] = np.zeros(len(nodes), dtype=bool)
                seams[o][zones[o].members] = True  # type: ignore[union-attr]
            best: tuple[int, int, Grouping, _Border, _Border] | None = None
            for hops in (1, 2, 0):  # the grids along the seam, a ring more, the whole zones
                if best is not None and best[0] >= zone.grouping.out_of_band:
                    break  # every grid of the zone outside the band is mended
                pairs = []
                for o in neighbours:
                    partner = zones[o]
                    assert partner is not None
                    if hops == 0 and (
                        len(zone.members) > _WHOLE_JOIN_SMALL
                        or len(zone.members) + len(partner.members) > _WHOLE_JOIN_NODES
                    ):
                        continue
                    theirs = _border(partner, mask, graph, work, low=low, high=high, hops=hops)
                    ours = _border(zone, seams[o], graph, work, low=low, high=high, hops=hops)
                    pairs.append((o, ours, theirs))
                # the most a join with each neighbour could gain: the grids outside the band
                # along the seam; once one is reached no later neighbour can do better
                most = [ours.out_of_band + theirs.out_of_band for _, ours, theirs in pairs]
                for position, (other, ours, theirs) in enumerate(pairs):
                    if best is not None and best[0] >= max(most[position:], default=0):
                        break
                    if ours.out_of_band == 0:  # the seam holds none of its grids outside the band
                        continue
                    merged = np.concatenate([ours.members, theirs.members])
                    key = (merged.tobytes(), most[position])
                    if key not in tried:
                        homes = merged[~optional[merged]]
                        # no gain is possible when the household counts alone rule it out
                        least = packing_bound(
                            work[homes], low=low, high=high, memo=least_out, solver=solver
                        )
                        hopeless = least >= most[position]
                        # and only a grouping that gains is wanted
                        tried[key] = None if hopeless else solve(merged, most[position])
                    found = tried[key]
                    if found is None:
                        continue
                    gain = most[position] - found.out_of_band
                    if gain > 0 and (best is None or gain > best[0]):
                        best = (gain, other, found, ours, theirs)
            if best is None:
                continue
            _, other, found, ours, theirs = best
            partner = zones[other]
            assert partner is not None
            members, grouping = _joined([(zone, ours), (partner, theirs)], found)
            zones[zi] = _Zone(members, tuple(dict.fromkeys(zone.names + partner.names)), grouping)
            zones[other] = None
            changed = True
        if not changed:
            break
    final = [z for z in zones if z is not None]
    labels = np.full(len(atoms), -1, dtype=int)
    next_label = 0
    for z in final:
        taken = z.grouping.labels >= 0
        labels[nodes[z.members[taken]]] = z.grouping.labels[taken] + next_label
        next_label += int(z.grouping.labels.max()) + 1 if taken.any() else 0
        z.members = nodes[z.members]  # atom positions from here on
    return labels, final, bounds


def _plan_bound(atoms: Sequence[_Atom], *, low: int, high: int) -> int:
    """The fewest household grids outside ``low``–``high`` that any grouping of one
    community's atoms can reach: a lower bound for the engine's result, whatever zones it
    joins (contiguity, compounds and roads ignored).

    The atoms are the final ones (finer where a planner relaxed a whole-building rule). A
    unit divided by floor range counts floor by floor, since the engine may move a
    boundary floor between grids (:func:`_move_floors`).
    """
    weights: list[float] = []
    for a in atoms:
        if a.households <= 0:
            continue
        if a.floor_from is not None and a.floor_to is not None and a.floor_to > a.floor_from:
            floors = a.floor_to - a.floor_from + 1
            weights.extend(np.diff(np.round(np.linspace(0, a.households, floors + 1))).tolist())
        else:
            weights.append(float(a.households))
    return packing_bound(np.array(weights, dtype=float), low=low, high=high) if weights else 0


def _follows(a: _Atom, b: _Atom) -> bool:
    """Whether two pieces of one building follow each other: the next unit (单元), or the
    next floors of the same units."""
    first, second = sorted((a, b), key=lambda p: (p.unit_from or 0, p.floor_from or 0))
    if (first.unit_to or 0) + 1 == (second.unit_from or 0):
        return True
    same_units = (first.unit_from, first.unit_to) == (second.unit_from, second.unit_to)
    return same_units and (first.floor_to or 0) + 1 == (second.floor_from or 0)


def _in_unit_order(atoms: list[_Atom], nb: list[set[int]]) -> list[set[int]]:
    """The adjacency the grouping may use: pieces of one divided building touch only where
    they follow each other, so a grid holds a run of stairwells (units 7–9), not both ends
    of a slab whose pieces happen to meet round the footprint (units 1 and 8–9 of nine
    drawn as sectors). Pieces of different buildings keep their shared edges."""
    out = [set(s) for s in nb]
    for i, a in enumerate(atoms):
        if a.building is None or a.unit_from is None or a.households <= 0:
            continue
        for j in nb[i]:
            b = atoms[j]
            if b.building == a.building and b.unit_from is not None and not _follows(a, b):
                out[i].discard(j)
    return out


def _grid_community(
    atoms: list[_Atom], *, rules: RuleSet
) -> tuple[
    list[_Atom],
    np.ndarray,
    list[set[int]],
    dict[tuple[int, int], float],
    list[_Zone],
    dict[str, tuple[int, bool, float]],
]:
    """Group one community's household atoms into grids (labels; -1 for empty atoms).

    Where the planner relaxed a whole-building rule, the zones still outside the band are
    tried again with their buildings divided one step further, and kept when better.
    Returns the atoms, their labels, their rook neighbours and shared boundary lengths
    (:func:`~planning.partition.rook_contacts`), the zones and the bounds.
    """
    nb, shared = rook_contacts(np.array([a.geometry for a in atoms], dtype=object))
    labels, zones, bounds = _group_zones(atoms, _in_unit_order(atoms, nb), rules=rules)
    relaxable = (
        rules.grid_whole_building_households < rules.grid_max_households
        or rules.grid_whole_unit_households < rules.grid_max_households
    )
    for _ in range(3 if relaxable else 0):
        failing = {name for z in zones if z.grouping.out_of_band for name in z.names}
        if not failing:
            break
        refined = _relax(atoms, failing, rules)
        if len(refined) == len(atoms):
            break
        nb2, shared2 = rook_contacts(np.array([a.geometry for a in refined], dtype=object))
        labels2, zones2, _ = _group_zones(refined, _in_unit_order(refined, nb2), rules=rules)
        if sum(z.grouping.out_of_band for z in zones2) >= sum(z.grouping.out_of_band for z in zones):
            break
        atoms, nb, shared, labels, zones = refined, nb2, shared2, labels2, zones2
    return atoms, labels, nb, shared, zones, bounds


def _place_empty(
    atoms: list[_Atom],
    labels: np.ndarray,
    nb: list[set[int]],
    shared: Mapping[tuple[int, int], float],
    *,
    rules: RuleSet,
    uses: gpd.GeoDataFrame | None = None,
) -> tuple[np.ndarray, dict[int, tuple[str, str | None]]]:
    """Give every atom without households a grid; return the labels and the dedicated ones
    (label → kind and the name of the land-use area, if any). ``nb`` and ``shared`` are
    the atoms' rook neighbours and the lengths of their shared boundaries
    (:func:`~planning.partition.rook_contacts`).

    1. An empty atom that joins two parts of one grid (a shop's cell between its
       buildings) goes to that grid.
    2. Land without households in a campus, school, hospital, enterprise or park that the
       layers name (``uses``: :func:`planning.landuse.land_use_areas`, in the atoms' CRS)
       becomes a dedicated grid of that kind when the connected land of one such area is at
       least ``dedicated_land_use_min_area_m2``. An atom belongs to the area covering at
       least half of it (the largest such area: a park inside a campus is the campus's).
       Residential buildings inside (staff housing) stay in household grids.
    3. Other land without households of at least ``dedicated_grid_min_area_m2`` in one
       street block becomes a dedicated grid (专属网格, kind ``dedicated``).
    4. The rest is shared among the neighbouring grids: each piece goes to the touching
       grid whose households lie nearest (so the land is shared compactly, as a Voronoi
       diagram of the grids would), a grid above ``grid_max_area_m2`` taking land only
       when no other grid touches it, and a dedicated grid of a named land use (2.)
       only when no other grid touches it along a wide enough edge: it stays the site
       the layers draw, yet a strip along it is not reached through its end.
    """
    import heapq

    labels = labels.copy()
    geoms = np.array([a.geometry for a in atoms], dtype=object)
    area = shapely.area(geoms)
    cent = shapely.centroid(geoms)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    empty = np.flatnonzero(labels < 0)
    next_label = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    dedicated: dict[int, tuple[str, str | None]] = {}
    if uses is not None and len(uses) and len(empty):
        use_of = _atom_uses(geoms[empty], uses)
        for u in np.unique(use_of[use_of >= 0]):
            for comp in components(empty[use_of == u], nb):
                if area[comp].sum() >= rules.dedicated_land_use_min_area_m2:
                    labels[comp] = next_label
                    name = uses["name"].iloc[int(u)] if "name" in uses else None
                    name = None if name is None or pd.isna(name) or not str(name).strip() else str(name)
                    dedicated[next_label] = (str(uses["kind"].iloc[int(u)]), name)
                    next_label += 1
        empty = np.flatnonzero(labels < 0)
    # one dedicated grid per street block's land without households (a campus cut by its
    # streets makes several), so none wraps round the blocks of others
    block = [a.block for a in atoms]
    same_block: list[set[int]] = [set() for _ in atoms]  # (only the empty atoms' are read)
    for a in empty.tolist():
        same_block[a] = {b for b in nb[a] if block[b] == block[a]}
    for comp in components(empty, same_block):
        if area[comp].sum() >= rules.dedicated_grid_min_area_m2 or not (labels >= 0).any():
            labels[comp] = next_label
            dedicated[next_label] = ("dedicated", None)
            next_label += 1
    homes = labels >= 0
    if not homes.any():
        return labels, dedicated
    n_labels = int(labels.max()) + 1
    grid_area = np.bincount(labels[homes], weights=area[homes], minlength=n_labels)
    weight = np.bincount(labels[homes], weights=area[homes], minlength=n_labels)
    gx = np.bincount(labels[homes], weights=(area * x)[homes], minlength=n_labels) / np.maximum(weight, 1e-9)
    gy = np.bincount(labels[homes], weights=(area * y)[homes], minlength=n_labels) / np.maximum(weight, 1e-9)
    heap: list[tuple[float, int, int]] = []

    def contact(e: int, b: int) -> float:
        """Length of the boundary atoms ``e`` and ``b`` share (m)."""
        return shared[(e, b) if e < b else (b, e)]

    def offer(e: int) -> None:
        touching: dict[int, float] = {}
        for b in nb[e]:
            g = int(labels[b])
            if g >= 0:
                touching[g] = touching.get(g, 0.0) + contact(e, b)
        if not touching:
            return
        # a grid touching the land only along a short edge would reach it through a
        # neck (a balloon on a string): it takes the land only when no grid touches it
        # along a wide enough edge
        # a piece of a roadside strip goes along its length, not across its end
        longest = max(touching.values())
        wide = 0.5 * longest if atoms[e].strip else min(_MIN_CONTACT_M, 0.5 * longest)
        for g, length in touching.items():
            d = math.hypot(x[e] - gx[g], y[e] - gy[g])
            over = grid_area[g] + area[e] > rules.grid_max_area_m2 and g not in dedicated
            narrow = length < wide
            # a campus's, hospital's or park's grid is its site as the layers draw it: it
            # takes land beyond only where no other grid touches it widely (a narrow
            # contact costs more, so a strip along the site is not taken through its end)
            site = g in dedicated and dedicated[g][0] != "dedicated"
            cost = d + (1e12 if over else 0.0) + (1e10 if narrow else 0.0) + (1e9 if site else 0.0)
            heapq.heappush(heap, (cost, int(e), g))

    for e in np.flatnonzero(labels < 0):
        offer(int(e))
    while heap:
        _, e, g = heapq.heappop(heap)
        if labels[e] >= 0:
            continue
        labels[e] = g
        grid_area[g] += area[e]
        for b in nb[e]:
            if labels[b] < 0:
                offer(int(b))
    for comp in components(np.flatnonzero(labels < 0), nb):  # touching no grid at all
        labels[comp] = next_label = int(labels.max()) + 1
        dedicated[next_label] = ("dedicated", None)
    _straighten_strips(atoms, labels, nb, dedicated, contact)
    return labels, dedicated


def _split_by(geom: shapely.Geometry, land: shapely.Geometry | None) -> list[shapely.Geometry]:
    """``geom``'s polygons inside and outside ``land`` (a cell across a campus edge is cut
    along it, so a dedicated grid follows the campus's own boundary)."""
    if geom.is_empty:
        return []
    if land is None or not shapely.intersects(geom, land) or shapely.within(geom, land):
        return _polygonal_parts(geom) or [geom]
    parts = _polygonal_parts(shapely.intersection(geom, land)) + _polygonal_parts(
        shapely.difference(geom, land)
    )
    return parts or [geom]


def _atom_uses(geoms: np.ndarray, uses: gpd.GeoDataFrame) -> np.ndarray:
    """For each atom, the position in ``uses`` of the land-use area covering at least half
    of it (the largest such area), or -1."""
    out = np.full(len(geoms), -1, dtype=int)
    polys = shapely.make_valid(uses.geometry.values)
    poly_area = shapely.area(polys)
    left, right = shapely.STRtree(polys).query(geoms, predicate="intersects")
    if not len(left):
        return out
    shared = shapely.area(shapely.intersection(geoms[left], polys[right]))
    best = np.full(len(geoms), -1.0)
    half = 0.5 * shapely.area(geoms)
    for a, u, s in zip(left.tolist(), right.tolist(), shared.tolist(), strict=True):
        if s >= half[a] and poly_area[u] > best[a]:
            best[a], out[a] = poly_area[u], u
    return out


def _straighten_strips(
    atoms: list[_Atom],
    labels: np.ndarray,
    nb: list[set[int]],
    dedicated: Collection[int],
    contact: Callable[[int, int], float],
) -> None:
    """Hand each piece of a roadside strip to the grid along its length.

    Pieces are placed one by one, so a grid can reach along a strip end to end, past the
    grids beside it (an arm a few metres wide). A piece its grid touches along less than
    half of what another grid touches moves to that grid, when its own grid stays in one
    piece without it. Labels change in place.
    """
    for _ in range(20):
        changed = False
        for e in (i for i, a in enumerate(atoms) if a.strip and labels[i] >= 0):
            own = int(labels[e])
            if own in dedicated:
                continue
            touching: dict[int, float] = {}
            for b in nb[e]:
                g = int(labels[b])
                if g >= 0 and g not in dedicated:
                    touching[g] = touching.get(g, 0.0) + contact(e, b)
            best = max(sorted(touching), key=lambda g: touching[g], default=own)
            if best == own or touching[best] <= 2 * touching.get(own, 0.0):
                continue
            rest = np.flatnonzero(labels == own)
            rest = rest[rest != e]
            if not len(rest) or len(components(rest, nb)) > 1:
                continue
            labels[e] = best
            changed = True
        if not changed:
            break


def _connect(labels: np.ndarray, nb: list[set[int]]) -> np.ndarray:
    """Give each grid the empty atoms that join its parts; a grid whose bridge another grid
    took first is divided into its connected parts (each then a grid of its own)."""
    labels = labels.copy()
    _bridge(labels, nb)
    next_label = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    for group in np.unique(labels[labels >= 0]):
        for piece in components(np.flatnonzero(labels == group), nb)[1:]:
            labels[piece] = next_label
            next_label += 1
    return labels


def _bridge(labels: np.ndarray, nb: list[set[int]]) -> None:
    """Give a grid the empty atoms that connect its parts (its bridges in the grouping)."""
    for group in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == group)
        parts = components(members, nb)
        if len(parts) <= 1:
            continue
        part_of = {int(a): i for i, part in enumerate(parts) for a in part}
        for part in parts:
            for a in part:
                for e in nb[a]:
                    if labels[e] >= 0:
                        continue
                    touched = {part_of[b] for b in nb[e] if b in part_of}
                    if len(touched) >= 2:
                        labels[e] = group


def _reasons(
    atoms: list[_Atom],
    labels: np.ndarray,
    zones: list[_Zone],
    bounds: dict[str, tuple[int, bool, float]],
    *,
    rules: RuleSet,
    lang: str,
) -> dict[int, str]:
    """Why each household grid outside the band is so (every one gets a reason)."""
    tr = translator(lang).gettext
    low, high = rules.grid_min_households, rules.grid_max_households
    hh = np.array([a.households for a in atoms], dtype=float)
    sums = np.bincount(labels[labels >= 0], weights=hh[labels >= 0]) if (labels >= 0).any() else np.zeros(0)
    total = float(hh.sum())
    zone_of_label: dict[int, _Zone] = {}
    for z in zones:
        for g in np.unique(labels[z.members]) if len(z.members) else []:
            zone_of_label[int(g)] = z
    out: dict[int, str] = {}
    for g, s in enumerate(sums):
        if s <= 0 or low <= s <= high:
            continue
        members = np.flatnonzero(labels == g)
        sizes = sorted((int(atoms[i].households) for i in members if hh[i] > 0), reverse=True)
        zone = zone_of_label.get(g)
        zone_hh = sum(bounds.get(n, (0, True, 0.0))[2] for n in zone.names) if zone else s
        names = ", ".join(_zone_name(n, tr) for n in zone.names) if zone else ""
        if total < low:
            text = tr(
                N_("the whole community has only {n} households, fewer than a grid's minimum of {low}")
            ).format(n=int(total), low=low)
        elif s > high and len(sizes) > 1:
            text = tr(
                N_(
                    "{n} households in the parts of divided buildings ({sizes}) that cannot be "
                    "grouped into {low}–{high} household grids with their neighbours; no grouping of "
                    "{zone} does better"
                )
            ).format(n=int(s), sizes=", ".join(str(v) for v in sizes[:8]), low=low, high=high, zone=names)
        elif s > high:
            text = tr(
                N_(
                    "{n} households in one piece that the rules keep whole (a building of at most "
                    "{building} or a unit of at most {unit} households is not divided)"
                )
            ).format(n=int(s), building=rules.grid_whole_building_households, unit=rules.grid_whole_unit_households)
        elif zone_hh < low:
            text = tr(
                N_(
                    "{zone}: only {n} households with no neighbouring households it may join "
                    "(a road, river or the community's edge separates it)"
                )
            ).format(zone=names, n=int(zone_hh))
        else:
            proven = N_(
                "{n} households in whole buildings ({sizes}); no grouping of the whole buildings "
                "of {zone} ({total} households) into {low}–{high} household grids does better: "
                "the best leaves {out} grid(s) outside the band"
            )
            found = N_(
                "{n} households in whole buildings ({sizes}); the search found no grouping of the "
                "whole buildings of {zone} ({total} households) into {low}–{high} household grids "
                "that leaves fewer than {out} grid(s) outside the band"
            )
            text = tr(proven if zone is None or zone.grouping.exact else found).format(
                n=int(s),
                sizes=", ".join(str(v) for v in sizes[:8]),
                zone=names,
                total=int(zone_hh),
                low=low,
                high=high,
                out=zone.grouping.out_of_band if zone else 1,
            )
        out[g] = text
    return out


def _codes(grids: gpd.GeoDataFrame, prefix: str, depth: float) -> list[str]:
    """Number grids north→south in rows about one grid deep, west→east within a row.

    Positions are rounded first (rows to a millionth of a row, eastings to a millimetre):
    on a regular layout a centroid can sit exactly on a row's edge, and a rounding of the
    geometry a micrometre either way then swapped two grids' codes. Two grids of a row
    at the same easting are numbered north first.

    Examples
    --------
    >>> squares = gpd.GeoSeries([shapely.box(x, y, x + 1, y + 1) for y in (1, 0) for x in (0, 1)])
    >>> _codes(gpd.GeoDataFrame(geometry=squares), "P", 1.0)
    ['P001', 'P002', 'P003', 'P004']
    >>> nudged = [affinity.translate(g, 0, 1e-9 * (y < 1)) for g, y in zip(squares, (1, 1, 0, 0))]
    >>> _codes(gpd.GeoDataFrame(geometry=nudged), "P", 1.0)  # the south row a hair north
    ['P001', 'P002', 'P003', 'P004']
    """
    cent = grids.geometry.centroid
    top = cent.y.max()
    row = np.floor(np.round((top - cent.y.to_numpy()) / max(depth, 1.0), 6)).astype(int)
    # west→east in a row, north first where two share an easting (to the millimetre)
    order = np.lexsort((np.round(-cent.y.to_numpy(), 3), np.round(cent.x.to_numpy(), 3), row))
    codes = [""] * len(grids)
    for seq, i in enumerate(order, start=1):
        codes[i] = f"{prefix}{seq:03d}"
    return codes


def community_prefixes(
    communities: pd.DataFrame, *, lang: str = "en"
) -> tuple[pd.Series, list[str]]:
    """The 12-digit prefix of each community's grid codes: district (6) + street (3) +
    community (3), and notes on how they were made.

    From ``district_code`` (6 digits), ``street_code`` (3 digits, or a 9-digit street code
    whose last 3 are taken) and a 12-digit ``community_id`` where the layers have them.
    Where they are missing, streets are numbered within their district and communities
    within their street (by id), and a note says so. Prefixes are unique across the plan.

    Examples
    --------
    >>> frame = pd.DataFrame({"community_id": ["C1", "C10", "C2"]})
    >>> prefixes, notes = community_prefixes(frame)
    >>> prefixes.tolist()  # numbered C1, C2, C10: shorter ids first, then by id
    ['000000001001', '000000001003', '000000001002']
    """
    tr = translator(lang).gettext
    ids = communities["community_id"].astype(str).str.strip().tolist()

    def digits(column: str, width: int) -> list[str | None]:
        if column not in communities:
            return [None] * len(communities)
        out: list[str | None] = []
        for value in communities[column].tolist():
            text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value).strip()
            text = text[:-2] if text.endswith(".0") else text
            out.append(text if text.isdigit() and len(text) == width else None)
        return out

    district = digits("district_code", 6)
    street3 = digits("street_code", 3)
    street9 = digits("street_code", 9)
    notes: list[str] = []
    prefixes: list[str | None] = [None] * len(ids)
    for i, cid in enumerate(ids):
        if cid.isdigit() and len(cid) == 12:
            prefixes[i] = cid
    numbered_streets = False
    numbered_communities = False
    streets = (
        communities["street"].astype(str).tolist() if "street" in communities else [""] * len(ids)
    )
    district_of = [district[i] or (street9[i] or "")[:6] or None for i in range(len(ids))]
    missing_district = any(d is None and prefixes[i] is None for i, d in enumerate(district_of))
    street_of = [street3[i] or (street9[i][-3:] if street9[i] else None) for i in range(len(ids))]
    # streets without a code: numbered within their district, after the codes in use
    street_number: dict[tuple[str, str], str] = {}
    for i in sorted(range(len(ids)), key=lambda k: (streets[k], ids[k])):
        if prefixes[i] is not None or street_of[i] is not None:
            continue
        d = district_of[i] or "000000"
        key = (d, streets[i])
        if key not in street_number:
            used = {s for j, s in enumerate(street_of) if s and (district_of[j] or "000000") == d}
            used |= {v for (dd, _), v in street_number.items() if dd == d}
            n = 1
            while f"{n:03d}" in used:
                n += 1
            street_number[key] = f"{n:03d}"
            numbered_streets = True
        street_of[i] = street_number[key]
    taken = {p for p in prefixes if p is not None}
    for i in sorted(range(len(ids)), key=lambda k: (len(ids[k]), ids[k])):
        if prefixes[i] is not None:
            continue
        head = (district_of[i] or "000000") + (street_of[i] or "001")
        n = 1
        while f"{head}{n:03d}" in taken:
            n += 1
        prefixes[i] = f"{head}{n:03d}"
        taken.add(prefixes[i])
        numbered_communities = True
    seen: set[str] = set()
    for i in range(len(ids)):  # a duplicated 12-digit id: the later one is renumbered
        p = prefixes[i]
        if p in seen:
            head = p[:9]
            n = 1
            while f"{head}{n:03d}" in taken:
                n += 1
            prefixes[i] = f"{head}{n:03d}"
            taken.add(prefixes[i])
            notes.append(
                tr(
                    N_(
                        "community {id}: its code {code} is used by another community; its grids "
                        "are coded {new}"
                    )
                ).format(id=ids[i], code=p, new=prefixes[i])
            )
        seen.add(prefixes[i])  # type: ignore[arg-type]
    if numbered_communities:
        notes.append(
            tr(
                N_(
                    "{n} communities have no 12-digit code: for their grid codes they are numbered "
                    "within their street, by id"
                )
            ).format(n=sum(1 for i, cid in enumerate(ids) if not (cid.isdigit() and len(cid) == 12)))
        )
    if numbered_streets:
        notes.append(tr(N_("streets without a street code are numbered within their district")))
    if missing_district or any(p is not None and p.startswith("000000") for p in prefixes):
        notes.append(
            tr(
                N_(
                    "the district code (district_code, 6 digits) is missing: grid codes begin "
                    "with 000000; add it to the communities layer"
                )
            )
        )
    return pd.Series(prefixes, index=communities.index, dtype=object), notes


def make_grids(
    buildings: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    landuse: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    community_ids: Sequence[str] | None = None,
    lang: str = "en",
    progress: Callable[[str], None] | None = None,
    previous: gpd.GeoDataFrame | None = None,
    n_jobs: int = 1,
) -> GridResult:
    """Divide communities into contiguous grids of ``grid_min``–``grid_max`` households.

    Parameters
    ----------
    buildings
        Buildings with ``households`` (and ``building_id``, ``floors``, ``units``,
        ``compound_id``, ``special_service_households``, ``residents`` when known).
    communities
        Community polygons with ``community_id`` (12 digits: district 6 + street 3 +
        community 3, used for the grid codes).
    roads, waterways, barriers, compounds
        What bounds blocks and zones.
    landuse
        Land-use areas (``land_use``): a campus, school, hospital, enterprise or park of at
        least ``dedicated_land_use_min_area_m2`` becomes a dedicated grid of its kind
        (:mod:`planning.landuse`). A ``land_use`` field on ``compounds`` counts as well.
    rules
        The band (``grid_min_households``–``grid_max_households``), the special-service
        weight and the patch size.
    community_ids
        Only these communities (all by default).
    lang
        Language of the reasons.
    progress
        Called with each community id as it is done (for a progress bar).
    previous
        The grids of an earlier plan: a new grid that barely changed from an old one keeps
        its code, and ``GridResult.crosswalk`` maps old codes to new.
    n_jobs
        Processes (joblib) that grid the communities; each gets only its community's rows,
        and the result is the same as in one process. -1 is every core.

    Returns
    -------
    GridResult
    """
    rules = rules or get_preset()
    communities = _in_storage_crs(communities).copy()
    communities["community_id"] = communities["community_id"].astype(str)
    if "grid_prefix" in communities:  # set by a batch over the whole project
        prefixes, notes = communities["grid_prefix"].astype(str), []
    else:
        prefixes, notes = community_prefixes(communities, lang=lang)
    communities["grid_prefix"] = prefixes
    all_ids = set(communities["community_id"])
    if community_ids is not None:
        wanted = {str(c) for c in community_ids}
        communities = communities[communities["community_id"].isin(wanted)]
    communities = communities.reset_index(drop=True)
    buildings = _in_storage_crs(buildings).copy()
    if "building_id" not in buildings:
        buildings["building_id"] = [f"B{i + 1:06d}" for i in range(len(buildings))]
    # Each community is gridded on its own rows: its buildings and the lines touching it
    # (so a batch over communities, planning.batch, gives the very same grids).
    owner = buildings_by_community(buildings, communities, others=all_ids)
    notes = [*notes, *_conflict_notes(buildings, communities, owner, lang=lang)]
    buildings = _inside_named(buildings, communities, owner)
    by_owner = pd.Series(np.arange(len(buildings))).groupby(owner).indices
    polygons = communities.geometry.values
    lines = {
        name: None if frame is None else _in_storage_crs(frame)
        for name, frame in {
            "roads": roads,
            "waterways": waterways,
            "barriers": barriers,
            "compounds": compounds,
        }.items()
    }
    touching = {name: rows_touching(frame, polygons) for name, frame in lines.items()}
    uses = land_use_areas(*(None if f is None else _in_storage_crs(f) for f in (landuse, compounds)))
    uses_touching = rows_touching(uses, polygons) if uses is not None else None
    if previous is not None:
        previous = _in_storage_crs(previous)
        old_prefix = previous["grid_code"].astype(str).str[:12]
    order = np.argsort(communities["community_id"].to_numpy(), kind="stable")

    def arguments(i: int) -> tuple[tuple[object, ...], dict[str, object]]:
        """One community's own rows (all a worker process is sent)."""
        rows = np.sort(by_owner.get(i, np.zeros(0, dtype=np.int64)))
        prefix = str(communities["grid_prefix"].iloc[i])
        parts = {
            name: None if frame is None or touching[name] is None else frame.iloc[touching[name][i]]
            for name, frame in lines.items()
        }
        before = None if previous is None else previous[(old_prefix == prefix).to_numpy()]
        options = dict(parts, rules=rules, lang=lang, previous=before, prefix=prefix)
        options["uses"] = (
            None if uses is None or uses_touching is None else uses.iloc[uses_touching[i]]
        )
        return (buildings.iloc[rows], communities.iloc[[i]]), options

    workers = _process_count(n_jobs, len(order))
    if workers > 1:
        from joblib import Parallel, delayed

        # largest first would finish sooner, but the communities are much alike; in order,
        # so the progress and the result read as in one process
        parallel = Parallel(
            n_jobs=workers, backend="loky", return_as="generator", pre_dispatch="2*n_jobs"
        )
        outcomes = parallel(
            delayed(_grid_one_community)(*a, **k) for a, k in (arguments(int(i)) for i in order)
        )
    else:
        outcomes = (_grid_one_community(*a, **k) for a, k in (arguments(int(i)) for i in order))
    grid_frames, member_rows, patch_frames, divided_rows, walks, zone_frames = [], [], [], [], [], []
    for i, done in zip(order, outcomes, strict=True):
        if done is None:
            continue
        grids, members, patches, divided, walk, zone_rows = done
        zone_frames.append(zone_rows)
        grid_frames.append(grids)
        member_rows.append(members)
        patch_frames.append(patches)
        divided_rows.extend(divided)
        if walk is not None:
            walks.append(walk)
        if progress is not None:
            progress(str(communities["community_id"].iloc[i]))
    crs = STORAGE_CRS
    grids = (
        gpd.GeoDataFrame(pd.concat(grid_frames, ignore_index=True), crs=crs)
        if grid_frames
        else _empty_grids(crs)
    )
    members = pd.concat(member_rows, ignore_index=True) if member_rows else pd.DataFrame()
    patches = (
        gpd.GeoDataFrame(pd.concat(patch_frames, ignore_index=True), crs=crs)
        if patch_frames
        else _empty_grids(crs)
    )
    return GridResult(
        grids=grids,
        grid_members=members,
        patches=patches,
        divided_buildings=pd.DataFrame(divided_rows, columns=["building_id", "parts", "how"]),
        crosswalk=pd.concat(walks, ignore_index=True) if walks else pd.DataFrame(),
        zones=pd.concat(zone_frames, ignore_index=True) if zone_frames else pd.DataFrame(),
        notes=tuple(notes),
    )


def _process_count(n_jobs: int, tasks: int) -> int:
    """Worker processes for ``n_jobs`` (-1: every core; never more than the tasks).

    Examples
    --------
    >>> _process_count(2, 10), _process_count(2, 1), _process_count(0, 5)
    (2, 1, 1)
    """
    import os

    wanted = (os.cpu_count() or 1) + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(wanted, tasks))


def _grid_one_community(
    buildings: gpd.GeoDataFrame,
    community: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None,
    waterways: gpd.GeoDataFrame | None,
    barriers: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
    rules: RuleSet,
    lang: str,
    previous: gpd.GeoDataFrame | None,
    prefix: str,
    uses: gpd.GeoDataFrame | None = None,
) -> (
    tuple[
        gpd.GeoDataFrame,
        pd.DataFrame,
        gpd.GeoDataFrame,
        list[dict[str, object]],
        pd.DataFrame | None,
        pd.DataFrame,
    ]
    | None
):
    """Territories and grids of one community from its own rows (None: nothing to tile)."""
    if buildings.empty:  # no building at all: its land is still a grid, or the plan has a hole
        return _land_only(community, prefix=prefix, lang=lang)
    cells = territories(
        buildings,
        communities=community,
        roads=roads,
        waterways=waterways,
        barriers=barriers,
        compounds=compounds,
    )
    if cells.empty:
        return None
    community_id = str(community["community_id"].iloc[0])
    crs = cells.crs
    buildings_m = buildings.to_crs(crs)
    compound_of = _compound_lookup(cells, compounds, crs)
    low, high = rules.grid_min_households, rules.grid_max_households
    divided_rows: list[dict[str, object]] = []
    walk: pd.DataFrame | None = None
    # plain per-building records: pandas row access is slow in this loop
    records = buildings_m.drop(columns=buildings_m.geometry.name).to_dict("index")
    footprints = dict(zip(buildings_m.index, buildings_m.geometry.values, strict=True))

    def number(record: dict[str, object], name: str) -> int | None:
        value = record.get(name)
        return int(value) if value is not None and pd.notna(value) else None

    whole_limit = max(high, rules.grid_whole_building_households)
    uses_m = None if uses is None or uses.empty else uses.to_crs(crs).reset_index(drop=True)
    unit_land = (
        None if uses_m is None else shapely.union_all(shapely.make_valid(uses_m.geometry.values))
    )
    atoms: list[_Atom] = []
    for idx, geometry, label, block in zip(
        cells.index,
        cells.geometry.values,
        cells["building"],
        cells["block"].astype(int),
        strict=True,
    ):
        zone = compound_of[idx] if compound_of[idx] is not None else f"block{block}"
        record = records.get(label) if label is not None and not pd.isna(label) else None
        h = int(record["households"]) if record is not None and pd.notna(record["households"]) else 0
        if h <= 0:
            # a large cell across a unit's edge (a campus building's cell reaching out to the
            # street) is cut along it, so the dedicated grid follows the unit's own boundary;
            # small cells stay whole (they join homes as connectors)
            big = geometry.area >= rules.dedicated_land_use_min_area_m2
            split = _split_by(geometry, unit_land) if big and unit_land is not None else [geometry]
            pieces = [piece for part in split for piece in _chunk_strip(part)]
            atoms.extend(
                _Atom(piece, 0, label, zone=zone, block=int(block), strip=len(pieces) > 1)
                for piece in pieces
            )
            continue
        footprint = shapely.intersection(footprints[label], geometry)
        if h > whole_limit:
            pieces, how = _divide_building(record, label, geometry, footprints[label], rules=rules)
            divided_rows.append(
                {"building_id": record["building_id"], "parts": len(pieces), "how": how}
            )
        else:
            floors, units = number(record, "floors"), number(record, "units")
            pieces = [
                _Atom(
                    geometry,
                    h,
                    label,
                    1 if units else None,
                    units,
                    1 if floors else None,
                    floors,
                    float(record.get("special_service_households", 0) or 0),
                    float(record.get("residents", 0) or 0),
                    units=units or _estimate_units(h, floors or 1),
                    floors=floors or 1,
                    footprint=footprint,
                )
            ]
        for piece in pieces:
            piece.zone, piece.block = zone, int(block)
        atoms.extend(pieces)
    atoms, labels, atom_nb, atom_shared, zones, bounds = _grid_community(atoms, rules=rules)
    relaxed = {a.building for a in atoms if a.relaxed}
    for building in relaxed:
        divided_rows.append(
            {
                "building_id": records[building]["building_id"],
                "parts": sum(1 for a in atoms if a.building == building),
                "how": "relaxed",
            }
        )
    homes = labels >= 0
    if homes.any():
        _move_floors(
            [a for a, h in zip(atoms, homes, strict=True) if h], labels[homes], {}, low=low, high=high
        )
    labels = _connect(labels, atom_nb)
    reasons = _reasons(atoms, labels, zones, bounds, rules=rules, lang=lang)
    labels, dedicated = _place_empty(
        atoms,
        labels,
        atom_nb,
        atom_shared,
        rules=rules,
        uses=uses_m,
    )
    failed = {name for name, (out, _, _) in bounds.items() if out}
    grids, members, code_of = _assemble_grids(
        atoms,
        labels,
        reasons,
        buildings_m,
        community_id,
        crs,
        rules,
        failed=failed,
        nb=atom_nb,
        lang=lang,
        dedicated=dedicated,
        prefix=prefix,
    )
    community_bound = _plan_bound(atoms, low=low, high=high)
    zone_rows = pd.DataFrame(
        [
            {"community_id": community_id, "zone": name, "households": int(total), "bound": out,
             "exact": exact, "community_bound": community_bound}
            for name, (out, exact, total) in bounds.items()
        ],
        columns=["community_id", "zone", "households", "bound", "exact", "community_bound"],
    )
    # grids touch where their atoms do (no polygon overlay of the grids needed)
    index_of = {code: i for i, code in enumerate(grids["grid_code"])}
    grid_of_atom = [index_of[code_of[int(g)]] for g in labels]
    grid_nb: list[set[int]] = [set() for _ in range(len(grids))]
    for a, others in enumerate(atom_nb):
        for b in others:
            ga, gb = grid_of_atom[a], grid_of_atom[b]
            if ga != gb:
                grid_nb[ga].add(gb)
                grid_nb[gb].add(ga)
    if previous is not None:
        before = previous.to_crs(crs)
        before = before[before["grid_code"].astype(str).str[:12] == prefix]
        if len(before):
            codes, walk = stable_codes(grids, before)
            renamed = dict(zip(grids["grid_code"], codes, strict=True))
            grids["grid_code"] = codes
            members["grid_code"] = members["grid_code"].map(renamed)
    patches = _patches(grids, rules=rules, neighbours=grid_nb)
    grids["patch_id"] = grids["grid_code"].map(patches["patch_of"])
    return (
        _valid_in(grids, STORAGE_CRS),
        members,
        _valid_in(patches["patches"], STORAGE_CRS),
        divided_rows,
        walk,
        zone_rows,
    )


_CRUMB_SHARE = 1e-5  # of a grid's area: parts left by repairing it that are no land


def _valid_in(frame: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """``frame`` reprojected to ``crs``, every polygon valid there too.

    Reprojection moves vertices independently; where a boundary came within a hair of
    itself (a pinch a few micrometres wide) the projected ring can cross itself. Such a
    polygon is repaired (``make_valid``, keeping its polygonal parts), which moves no
    boundary by more than that hair.
    """
    out = frame.to_crs(crs)
    geoms = out.geometry.values
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        fixed = []
        for geom in shapely.make_valid(geoms[bad]):
            parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
            union = shapely.union_all(parts) if parts else geom
            # the repair can leave bow-tie crumbs beside the grid (a part of no area,
            # or a few cm² at the crossing): a grid stays one polygon, so they go
            pieces = shapely.get_parts(union)
            if len(pieces) > 1:
                areas = shapely.area(pieces)
                if areas.sum() - areas.max() <= _CRUMB_SHARE * areas.max():
                    union = pieces[int(np.argmax(areas))]
            fixed.append(union)
        geoms = geoms.copy()
        geoms[bad] = fixed
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out


def _in_storage_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        return frame.set_crs(STORAGE_CRS)
    return frame if frame.crs == STORAGE_CRS else frame.to_crs(STORAGE_CRS)


def buildings_by_community(
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    others: Collection[str] = (),
    located: np.ndarray | None = None,
) -> np.ndarray:
    """Position of the community holding each building (-1: none), as the engines assign them.

    A building whose ``community_id`` names one of ``communities`` belongs to it wherever
    its point lies (the data's word, as ``check`` counts it; see
    :func:`community_conflicts`); one naming a community of ``others`` (communities of the
    project outside this run) belongs to none here. The rest go by location: the building's
    representative point; a point on a shared edge goes to the first community touching it;
    a building whose point is in none goes to the community its footprint overlaps most.
    ``located`` gives the positions by location when they are already known (a
    partitioned join in :mod:`planning.batch`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> c = gpd.GeoDataFrame({"community_id": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> b = gpd.GeoDataFrame(geometry=[box(0.1, 0.1, 0.2, 0.2), box(1.5, 0.5, 1.6, 0.6), box(5, 5, 6, 6)])
    >>> buildings_by_community(b, c).tolist()
    [0, 1, -1]
    >>> buildings_by_community(b.assign(community_id=["B", None, "C"]), c, others=["C"]).tolist()
    [1, 1, -1]
    """
    out = _located(buildings, communities) if located is None else np.asarray(located).copy()
    if "community_id" not in buildings or "community_id" not in communities:
        return out
    given = buildings["community_id"].astype("string").to_numpy(dtype=object, na_value=None)
    position = {str(c): i for i, c in enumerate(communities["community_id"])}
    named = np.array([position.get(g, -1) if g is not None else -1 for g in given])
    out = np.where(named >= 0, named, out)
    elsewhere = {str(o) for o in others} - set(position)
    if elsewhere:
        out[np.array([g in elsewhere for g in given], dtype=bool)] = -1
    return out


def _located(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Position of the community by location only (the rule of :func:`buildings_by_community`)."""
    points = buildings.geometry.representative_point()
    out = np.full(len(buildings), -1, dtype=np.int64)
    idx_point, idx_area = points_in_areas(points.values, communities.geometry.values)
    first = np.r_[True, idx_point[1:] != idx_point[:-1]] if len(idx_point) else np.zeros(0, bool)
    out[idx_point[first]] = idx_area[first]
    for i in np.flatnonzero(out < 0):
        overlaps = shapely.area(
            shapely.intersection(buildings.geometry.values[i], communities.geometry.values)
        )
        if len(overlaps) and overlaps.max() > 0:
            out[i] = int(np.argmax(overlaps))
    return out


def community_conflicts(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> np.ndarray:
    """Whether each building's ``community_id`` names a community its point is not in.

    True where the attribute names a community of ``communities`` and the building's
    representative point lies neither in it nor on its edge (it lies in another community,
    or in none). Such a building is counted and gridded in the community it names; the
    planner should check the attribute or the boundary.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> c = gpd.GeoDataFrame({"community_id": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> b = gpd.GeoDataFrame({"community_id": ["A", "A", "A"]},
    ...     geometry=[box(0.1, 0.1, 0.2, 0.2), box(1.5, 0.5, 1.6, 0.6), box(0.9, 0.4, 1.1, 0.6)])
    >>> community_conflicts(b, c).tolist()
    [False, True, False]
    """
    out = np.zeros(len(buildings), dtype=bool)
    if "community_id" not in buildings or "community_id" not in communities or not len(out):
        return out
    given = buildings["community_id"].astype("string").to_numpy(dtype=object, na_value=None)
    position = {str(c): i for i, c in enumerate(communities["community_id"])}
    named = np.array([position.get(g, -1) if g is not None else -1 for g in given])
    if not (named >= 0).any():
        return out
    points = buildings.geometry.representative_point().values
    idx_point, idx_area = points_in_areas(points, communities.geometry.values)
    holds = np.zeros(len(out), dtype=bool)
    holds[idx_point[named[idx_point] == idx_area]] = True
    return (named >= 0) & ~holds


def _conflict_notes(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, owner: np.ndarray, *, lang: str
) -> list[str]:
    """A note naming the buildings gridded where their ``community_id`` says, not where they lie."""
    conflict = community_conflicts(buildings, communities) & (owner >= 0)
    if not conflict.any():
        return []
    ids = buildings["building_id"].astype(str).to_numpy()[conflict]
    msg = translator(lang).gettext(
        N_(
            "{count} buildings lie outside the community their community_id names and were "
            "gridded in the community named ({ids}); check the attribute or the boundary"
        )
    )
    shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
    return [msg.format(count=int(conflict.sum()), ids=shown)]


_STAND_IN_M = 2.0
"""Side (metres) of the stand-in footprint of a building gridded outside its drawn place."""


def _inside_named(
    buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, owner: np.ndarray
) -> gpd.GeoDataFrame:
    """Footprints the territory of their community can hold, for buildings placed by attribute.

    A building whose ``community_id`` names a community it lies outside keeps its
    households there; for the tessellation its footprint becomes the part inside that
    community, or (when less than a twentieth is inside) a small square just inside the
    boundary where it is nearest, so the building gets a cell and is never dropped.
    """
    rows = np.flatnonzero(owner >= 0)
    if not len(rows):
        return buildings
    geoms = buildings.geometry.values
    areas = communities.geometry.values[owner[rows]]
    outside = ~shapely.covers(areas, shapely.point_on_surface(geoms[rows]))
    if not outside.any():
        return buildings
    fixed = np.array(geoms, dtype=object)
    side = _STAND_IN_M / 111_000  # degrees (EPSG:4490); about square at these latitudes
    for i, area in zip(rows[outside], areas[outside], strict=True):
        inside = shapely.intersection(geoms[i], area)
        if shapely.area(inside) >= 0.05 * shapely.area(geoms[i]):
            fixed[i] = _largest_polygon(inside)
            continue
        point = shapely.get_point(shapely.shortest_line(area, geoms[i]), 0)
        square = shapely.box(point.x - side, point.y - side, point.x + side, point.y + side)
        fixed[i] = _largest_polygon(shapely.intersection(square, area))
    return buildings.set_geometry(gpd.GeoSeries(fixed, index=buildings.index, crs=buildings.crs))


def _largest_polygon(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
    return max(parts, key=lambda p: p.area) if parts else geom


def rows_touching(frame: gpd.GeoDataFrame | None, polygons: np.ndarray) -> list[np.ndarray] | None:
    """For each polygon, the positions (in order) of ``frame``'s rows that touch it."""
    if frame is None or frame.empty:
        return None
    idx_poly, idx_row = frame.sindex.query(polygons, predicate="intersects")
    order = np.lexsort((idx_row, idx_poly))
    idx_poly, idx_row = idx_poly[order], idx_row[order]
    bounds = np.searchsorted(idx_poly, np.arange(len(polygons) + 1))
    return [idx_row[bounds[i] : bounds[i + 1]] for i in range(len(polygons))]


def _land_only(
    community: gpd.GeoDataFrame, *, prefix: str, lang: str
) -> tuple[
    gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame, list[dict[str, object]], None, pd.DataFrame
] | None:
    """The grids of a community without a single building: its whole land as one dedicated
    grid (专属网格, no households, no worker patch), so the grids still tile every
    community; ``None`` when it has no area either."""
    geom = community.geometry.iloc[0] if len(community) else None
    if geom is None or geom.is_empty or geom.area == 0:
        return None
    community_id = str(community["community_id"].iloc[0])
    reason = translator(lang).gettext(
        N_(
            "a community without buildings: its whole land is one dedicated grid (专属网格) "
            "until buildings with households are added"
        )
    )
    grids = gpd.GeoDataFrame(
        {
            "grid_code": [f"{prefix}001"],
            "community_id": [community_id],
            "kind": ["dedicated"],
            "households": [0],
            "residents": [0],
            "special_service_households": [0],
            "workload": [0.0],
            "n_buildings": [0],
            "status": ["dedicated"],
            "reason": [reason],
            "crossed_zones": [""],
            "crossing_reason": [""],
            "patch_id": [None],
        },
        geometry=[geom],
        crs=community.crs,
    )
    zones = pd.DataFrame(columns=["community_id", "zone", "households", "bound", "exact",
                                  "community_bound"])
    return _valid_in(grids, STORAGE_CRS), pd.DataFrame(), _empty_grids(STORAGE_CRS), [], None, zones


def _empty_grids(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"grid_code": []}, geometry=[], crs=crs)


def _compound_lookup(
    cells: gpd.GeoDataFrame, compounds: gpd.GeoDataFrame | None, crs: object
) -> list[object]:
    if compounds is None or compounds.empty:
        return [None] * len(cells)
    comp = compounds.to_crs(crs)
    ids = (
        comp["compound_id"].astype(str).to_numpy()
        if "compound_id" in comp
        else np.arange(len(comp)).astype(str)
    )
    points = cells.geometry.representative_point().values
    idx_point, idx_comp = comp.sindex.query(points, predicate="within")
    out: list[object] = [None] * len(cells)
    for p, c in zip(idx_point, idx_comp, strict=True):
        out[p] = f"compound:{ids[c]}"
    return out


def _clean_union(geoms: Sequence[shapely.Geometry]) -> shapely.Geometry:
    """The union of atoms as one clean polygon where they touch: snap-rounded (so shared
    edges computed a hair apart close), without the sub-square-metre holes and slivers a
    union of many cut pieces leaves (:func:`_clean_unions` of one group)."""
    return _clean_unions([np.asarray(geoms, dtype=object)])[0]


def _clean_unions(groups: Sequence[np.ndarray]) -> np.ndarray:
    """Compute :func:`_clean_union` of each group of atoms (a community's grids).

    The unions and the closings run in whole-array calls: called grid by grid, the calls'
    own overhead was a third of their time. A union in several parts takes the careful
    path of :func:`_union_in_one`.
    """
    count = len(groups)
    rows = np.full((count, max((len(g) for g in groups), default=1)), None, dtype=object)
    for i, group in enumerate(groups):
        rows[i, : len(group)] = group
    try:
        unions = shapely.union_all(rows, grid_size=1e-6, axis=1)
    except shapely.errors.GEOSException:  # snap-rounding found no consistent topology
        unions = None
    out = np.empty(count, dtype=object)
    for i, group in enumerate(groups):
        snapped = None if unions is None else unions[i]
        if snapped is None or shapely.get_num_geometries(snapped) > 1:
            out[i] = _union_in_one(list(group))
        else:
            out[i] = snapped
    cracked = (shapely.get_type_id(out) != 3) | (shapely.get_num_interior_rings(out) > 0)
    for i in np.flatnonzero(cracked):
        out[i] = _fill_cracks(out[i])
    return _close_slits(out)


def _union_in_one(geoms: list[shapely.Geometry]) -> shapely.Geometry:
    """Unite ``geoms`` snap-rounded, without slivers, in one piece where possible.

    Where snap-rounding pinched a narrow joint, the exact union, or a closing of it by
    0.1 mm, keeps the grid in one piece.
    """
    try:
        union = _drop_slivers(shapely.union_all(geoms, grid_size=1e-6))
    except shapely.errors.GEOSException:  # snap-rounding found no consistent topology
        union = _drop_slivers(shapely.make_valid(shapely.union_all(geoms)))
    if shapely.get_num_geometries(union) > 1:  # snap-rounding pinched a narrow joint
        exact = _drop_slivers(shapely.union_all(geoms))
        if shapely.get_num_geometries(exact) == 1:
            union = exact
        elif shapely.distance(*shapely.get_parts(exact)[:2]) < 1e-3:
            closed = shapely.buffer(
                shapely.buffer(exact, 1e-4, join_style="mitre"), -1e-4, join_style="mitre"
            )
            if shapely.get_num_geometries(closed) == 1:
                union = closed
    return union


_SLIT_WIDTH = 1e-3  # m: a cut narrower than this between two pieces of one grid is no land


def _close_slits(geoms: np.ndarray) -> np.ndarray:
    """Close zero-width cuts that reach into grids from their edges (the seam between two
    pieces of a divided building, computed a hair apart).

    In the metric CRS such a cut is valid, but reprojected to EPSG:4490 its two sides
    cross and the polygon is invalid. A morphological closing by half of ``_SLIT_WIDTH``
    with mitred corners removes it and leaves every edge wider than that where it was;
    a geometry the closing would change by more than a rounding, or break into more
    parts, stays as it is.
    """
    geoms = np.asarray(geoms, dtype=object)
    eps = _SLIT_WIDTH / 2
    closed = shapely.buffer(
        shapely.buffer(geoms, eps, join_style="mitre", mitre_limit=50.0),
        -eps,
        join_style="mitre",
        mitre_limit=50.0,
    )
    area = shapely.area(geoms)
    keep = (
        shapely.is_empty(geoms)
        | shapely.is_empty(closed)
        | (np.abs(shapely.area(closed) - area) > np.maximum(1.0, 1e-4 * area))
        | (shapely.get_num_geometries(closed) > shapely.get_num_geometries(geoms))
    )
    return np.where(keep, geoms, closed)


# m: land without households joins a grid it touches along at least this much boundary
# (or half its longest contact), so no grid reaches its land through a thin neck
_MIN_CONTACT_M = 10.0
_CRACK_AREA = 1.0  # m²: a hole this small inside a grid is a crack of the union, not land


_CRUMB_WIDTH = 0.05  # m: a part of a grid this thin on average is a seam, not land


def _hand_on_crumbs(geoms: np.ndarray) -> np.ndarray:
    """Give a grid's crumbs to the neighbour they lie along, so every grid is one piece.

    A union of many cut pieces can leave, beside a grid, a hair-thin sliver a few
    micrometres off its main part (seen along a river in the Shanghai sample: 159 m by
    1 cm, 1.9 m², apart from a 392 ha dedicated grid). Such a part, at most
    ``_CRUMB_SHARE`` of its grid or thinner than ``_CRUMB_WIDTH`` on average, goes to the touching grid with which it unites into one
    polygon along the longest contact; it stays where it is when there is none (the land
    is never dropped, so the grids still tile the community).
    """
    out = np.array(geoms, dtype=object)
    tree = shapely.STRtree(out)
    for i, geom in enumerate(out):
        if shapely.get_num_geometries(geom) < 2:
            continue
        parts = list(shapely.get_parts(geom))
        parts.sort(key=lambda p: -p.area)
        keep, moved = [parts[0]], False
        for part in parts[1:]:
            width = 2 * part.area / max(part.length, 1e-12)  # mean width of a thin part
            if part.area > _CRUMB_SHARE * parts[0].area and width > _CRUMB_WIDTH:
                keep.append(part)
                continue
            best, best_len = None, 0.0
            near = shapely.buffer(part, _SLIT_WIDTH)
            for j in tree.query(near):
                if j == i:
                    continue
                contact = float(shapely.length(shapely.intersection(out[j].boundary, near)))
                if contact <= best_len:
                    continue
                joined = _clean_union([out[j], part])
                if shapely.get_num_geometries(joined) == 1:
                    best, best_len = (j, joined), contact
            if best is None:
                keep.append(part)
                continue
            out[best[0]] = best[1]
            moved = True
        if moved:
            out[i] = keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return out


def _fill_cracks(geom: shapely.Geometry) -> shapely.Geometry:
    """Remove holes smaller than a square metre (zero-area cracks between cut pieces)."""
    polygons = []
    changed = False
    for part in shapely.get_parts(geom):
        if part.geom_type != "Polygon":
            polygons.append(part)
            continue
        rings = [r for r in part.interiors if shapely.Polygon(r).area >= _CRACK_AREA]
        if len(rings) != len(part.interiors):
            changed = True
            part = shapely.Polygon(part.exterior, rings)
        polygons.append(part)
    if not changed:
        return geom
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _member_rows(atoms: list[_Atom], labels: np.ndarray, code_of: dict[int, str], building_ids: pd.Series) -> pd.DataFrame:
    """One row per building (or range of units of one floor range) in each grid: consecutive
    units with the same floors in one grid make one row."""
    rows: list[dict[str, object]] = []
    order = sorted(
        (i for i, a in enumerate(atoms) if a.households > 0),
        key=lambda i: (
            code_of[int(labels[i])],
            str(building_ids[atoms[i].building]),
            atoms[i].floor_from or 0,
            atoms[i].floor_to or 0,
            atoms[i].unit_from or 0,
        ),
    )
    for i in order:
        a = atoms[i]
        row = {
            "grid_code": code_of[int(labels[i])],
            "building_id": building_ids[a.building],
            "unit_from": a.unit_from,
            "unit_to": a.unit_to,
            "floor_from": a.floor_from,
            "floor_to": a.floor_to,
            "households": a.households,
        }
        last = rows[-1] if rows else None
        if (
            last is not None
            and last["grid_code"] == row["grid_code"]
            and last["building_id"] == row["building_id"]
            and (last["floor_from"], last["floor_to"]) == (row["floor_from"], row["floor_to"])
            and last["unit_to"] is not None
            and row["unit_from"] is not None
            and last["unit_to"] + 1 == row["unit_from"]
        ):
            last["unit_to"] = row["unit_to"]
            last["households"] = int(last["households"]) + a.households
            continue
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=["grid_code", "building_id", "unit_from", "unit_to", "floor_from", "floor_to", "households"],
    ).astype(
        {
            "unit_from": "Int64",
            "unit_to": "Int64",
            "floor_from": "Int64",
            "floor_to": "Int64",
            "households": "int64",
        }
    )


_USE_WORDS: dict[str, str] = {
    "campus": N_("a campus (university, college, research institute)"),
    "school": N_("a school or kindergarten"),
    "hospital": N_("a hospital or clinic"),
    "enterprise": N_("an enterprise (commerce, business, industry)"),
    "park": N_("a park or public garden"),
}


def _assemble_grids(
    atoms: list[_Atom],
    labels: np.ndarray,
    reasons: dict[int, str],
    buildings_m: gpd.GeoDataFrame,
    community_id: str,
    crs: object,
    rules: RuleSet,
    *,
    failed: set[str],
    nb: list[set[int]],
    lang: str,
    dedicated: dict[int, tuple[str, str | None]],
    prefix: str,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[int, str]]:
    low, high = rules.grid_min_households, rules.grid_max_households
    tr = translator(lang).gettext
    geoms = np.array([a.geometry for a in atoms], dtype=object)
    rows = []
    relaxed_note = tr(
        N_(
            "holds part of a building or unit the rules would keep whole, divided because the "
            "planner relaxed grid_whole_building_households or grid_whole_unit_households"
        )
    )
    grid_labels = np.unique(labels)
    members = [np.flatnonzero(labels == g) for g in grid_labels]
    unions = _clean_unions([geoms[idx] for idx in members])
    for g, idx, union in zip(grid_labels, members, unions, strict=True):
        hh = int(sum(atoms[i].households for i in idx))
        special = float(sum(atoms[i].special for i in idx))
        is_dedicated = int(g) in dedicated
        reason = reasons.get(int(g), "")
        kind, use_name = dedicated.get(int(g), ("residential", None))
        if is_dedicated and kind != "dedicated":
            status = "dedicated"
            reason = tr(
                N_(
                    "a {kind} (专属网格){name}: {ha} ha of land the layers give as {use}, at least "
                    "the {min_ha} ha of dedicated_land_use_min_area_m2; residential buildings inside "
                    "stay in household grids"
                )
            ).format(
                kind=kind_label(kind, lang),
                name=f" {use_name}" if use_name else "",
                ha=round(union.area / 10_000, 1),
                use=tr(_USE_WORDS.get(kind, kind)),
                min_ha=round(rules.dedicated_land_use_min_area_m2 / 10_000, 1),
            )
        elif is_dedicated:
            status = "dedicated"
            reason = tr(
                N_(
                    "a dedicated grid (专属网格): {ha} ha without households (a campus, hospital, "
                    "enterprise or park), at least the {min_ha} ha of dedicated_grid_min_area_m2"
                )
            ).format(ha=round(union.area / 10_000, 1), min_ha=round(rules.dedicated_grid_min_area_m2 / 10_000, 1))
        else:
            status = "ok" if low <= hh <= high else "out_of_range"
            if any(atoms[i].relaxed for i in idx):
                reason = f"{reason}; {relaxed_note}" if reason else relaxed_note
        rows.append(
            {
                "label": int(g),
                "community_id": community_id,
                "kind": kind,
                "households": hh,
                "residents": int(round(sum(atoms[i].residents for i in idx))),
                "special_service_households": int(round(special)),
                "workload": round(hh + (rules.special_service_weight - 1) * special, 1),
                "n_buildings": len({atoms[i].building for i in idx if atoms[i].households > 0}),
                "status": status,
                "reason": reason,
                "geometry": union,
            }
        )
    grids = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    grids["geometry"] = _hand_on_crumbs(grids.geometry.values)
    home = grids["kind"] == "residential"
    depth = math.sqrt(max(grids.area[home].mean() if home.any() else grids.area.mean(), 1.0))
    grids["grid_code"] = _codes(grids, prefix, depth)
    code_of = dict(zip(grids["label"], grids["grid_code"], strict=True))
    crossing = _crossings(atoms, labels, failed, nb, rules=rules, lang=lang)
    grids["crossed_zones"] = [crossing.get(g, ("", ""))[0] for g in grids["label"]]
    grids["crossing_reason"] = [crossing.get(g, ("", ""))[1] for g in grids["label"]]
    building_ids = buildings_m["building_id"].astype(str)
    members_frame = _member_rows(atoms, labels, code_of, building_ids)
    columns = [
        "grid_code",
        "community_id",
        "kind",
        "households",
        "residents",
        "special_service_households",
        "workload",
        "n_buildings",
        "status",
        "reason",
        "crossed_zones",
        "crossing_reason",
        "geometry",
    ]
    grids = grids.sort_values("grid_code")[columns].reset_index(drop=True)
    return grids, members_frame, code_of


def _zone_name(zone: str, tr: Callable[[str], str]) -> str:
    if zone.startswith("compound:"):
        return tr(N_("compound {id}")).format(id=zone.split(":", 1)[1])
    return tr(N_("the buildings outside compounds in street block {id}")).format(
        id=zone.removeprefix("block")
    )


def _crossings(
    atoms: list[_Atom],
    labels: np.ndarray,
    failed: set[str],
    nb: list[set[int]],
    *,
    rules: RuleSet,
    lang: str,
) -> dict[int, tuple[str, str]]:
    """For each grid holding households of more than one zone: the zones, and why it crosses.

    A grid crosses a compound edge only where a zone cannot be divided into grids of its
    own: it (or the part of it a road, river or wall cuts off) has fewer households than a
    grid's minimum, or its buildings cannot be grouped into ``grid_min``–``grid_max``
    household grids inside it.
    """
    tr = translator(lang).gettext
    low, high = rules.grid_min_households, rules.grid_max_households
    zone_of = np.array([str(a.zone) for a in atoms], dtype=object)
    households = np.array([a.households for a in atoms], dtype=float)
    size = pd.Series(households).groupby(zone_of).sum().to_dict()
    # the connected pieces of each zone (a road through a compound makes two)
    piece_of = np.full(len(atoms), -1)
    piece_size: list[float] = []
    for members in _positions_by(zone_of).values():
        for comp in components(members, nb):
            piece_of[comp] = len(piece_size)
            piece_size.append(float(households[comp].sum()))
    zones_of: dict[int, dict[str, set[int]]] = {}
    for i, g in enumerate(labels):
        if households[i] > 0:
            zones_of.setdefault(int(g), {}).setdefault(zone_of[i], set()).add(int(piece_of[i]))
    out: dict[int, tuple[str, str]] = {}
    for g, zones in zones_of.items():
        if len(zones) <= 1:
            continue
        held = {z: sum(piece_size[p] for p in pieces) for z, pieces in zones.items()}
        small = [z for z in zones if held[z] < low]
        stuck = [z for z in zones if z in failed and z not in small] or [
            z for z in zones if z not in small
        ]
        parts = [
            tr(N_("{zone} has {n} households, fewer than a grid's minimum of {low}")).format(
                zone=_zone_name(z, tr), n=int(size[z]), low=low
            )
            if held[z] >= size[z]
            else tr(
                N_(
                    "the part of {zone} that a road, river or wall cuts off has {n} households, "
                    "fewer than a grid's minimum of {low}"
                )
            ).format(zone=_zone_name(z, tr), n=int(held[z]), low=low)
            for z in small
        ]
        if not small:
            parts += [
                tr(
                    N_(
                        "{zone} ({n} households) cannot be grouped into {low}–{high} household grids "
                        "on its own"
                    )
                ).format(zone=_zone_name(z, tr), n=int(size[z]), low=low, high=high)
                for z in stuck[:1]
            ]
        names = ", ".join(z.split(":", 1)[-1] for z in zones)
        out[g] = names, tr(N_("crosses a compound edge: {why}")).format(why="; ".join(parts))
    return out


def _drop_slivers(geom: shapely.Geometry) -> shapely.Geometry:
    """Remove sub-millimetre slivers that snap-rounding left as separate parts."""
    parts = shapely.get_parts(geom)
    if len(parts) <= 1:
        return geom
    keep = [p for p in parts if p.area > 1e-6]
    return shapely.union_all(keep) if keep else geom


def _patches(
    grids: gpd.GeoDataFrame, *, rules: RuleSet, neighbours: list[set[int]] | None = None
) -> dict[str, object]:
    """Group whole grids into contiguous worker patches of about ``patch_households``."""
    total = float(grids["households"].sum())
    size = rules.patch_households
    k = max(1, math.ceil(total / size)) if total > 0 else 1
    target = total / k if total > 0 else size
    geoms = grids.geometry.values
    nb = neighbours if neighbours is not None else rook_neighbours(geoms)
    cent = shapely.centroid(geoms)
    weights = grids["households"].to_numpy(dtype=float)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    labels = partition(weights, x, y, nb, low=target * 0.6, high=target * 1.4, target=target)
    labels = exactly_k(labels, k, weights, x, y, nb)
    prefix = str(grids["grid_code"].iloc[0])[:12] if len(grids) else "0" * 12
    patch_ids = [f"{prefix}P{int(label) + 1:02d}" for label in labels]
    patch_of = dict(zip(grids["grid_code"], patch_ids, strict=True))
    # a dissolve by patch (in patch order), without pandas' groupby (a third of this
    # function's time)
    groups = sorted(_positions_by(patch_ids).items())
    names = [name for name, _ in groups]
    members = [m for _, m in groups]
    patches = gpd.GeoDataFrame(
        {
            "patch_id": names,
            "geometry": [shapely.union_all(geoms[m]) for m in members],
            "households": [float(weights[m].sum()) for m in members],
            "community_id": grids["community_id"].to_numpy()[[m[0] for m in members]],
            "n_grids": [len(m) for m in members],
        },
        geometry="geometry",
        crs=grids.crs,
    )
    return {"patch_of": patch_of, "patches": patches}


def stable_codes(
    new: gpd.GeoDataFrame, previous: gpd.GeoDataFrame, *, keep_share: float = 0.8
) -> tuple[list[str], pd.DataFrame]:
    """Give new grids the codes of the previous grids they barely changed from.

    A new grid keeps an old code when each covers at least ``keep_share`` of the other;
    the others are numbered after the highest old sequence, north→south, west→east.
    Returns the codes (aligned to ``new``) and the old→new crosswalk.
    """
    walk = crosswalk(previous, new, keep_share=keep_share)
    codes = new["grid_code"].tolist()
    used: set[str] = set()
    for i, row in walk.iterrows():
        if row["kept"] and row["old_code"] not in used:
            codes[i] = row["old_code"]
            used.add(row["old_code"])
        else:
            codes[i] = None
    prefix = str(new["grid_code"].iloc[0])[:12] if len(new) else ""
    old_same = previous["grid_code"].astype(str)
    old_same = old_same[old_same.str[:12] == prefix]
    next_seq = int(old_same.str[12:].astype(int).max()) + 1 if len(old_same) else 1
    for i in range(len(codes)):  # new grids in the order of their fresh codes
        if codes[i] is None:
            codes[i] = f"{prefix}{next_seq:03d}"
            next_seq += 1
    walk["new_code"] = codes
    walk.loc[~walk["kept"], "old_code"] = walk.loc[~walk["kept"], "old_code"]
    return codes, walk


def crosswalk(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, keep_share: float = 0.8
) -> pd.DataFrame:
    """Map old grid codes to new ones by overlap; a new grid that mostly is an old one keeps its code.

    Returns a table ``old_code``, ``new_code``, ``overlap_share`` (of the new grid's area)
    and ``kept`` (whether the new grid took the old code).
    """
    old_m = old.to_crs(new.crs)
    rows = []
    for i, geom in enumerate(new.geometry.values):
        overlaps = shapely.area(shapely.intersection(geom, old_m.geometry.values))
        j = int(np.argmax(overlaps)) if len(overlaps) else -1
        share = float(overlaps[j] / max(geom.area, 1e-9)) if j >= 0 else 0.0
        back = float(overlaps[j] / max(old_m.geometry.values[j].area, 1e-9)) if j >= 0 else 0.0
        rows.append(
            {
                "old_code": old_m["grid_code"].iloc[j] if j >= 0 else None,
                "new_code": new["grid_code"].iloc[i],
                "overlap_share": round(min(share, back), 4),
                "kept": min(share, back) >= keep_share,
            }
        )
    return pd.DataFrame(rows)
