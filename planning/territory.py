"""Building territories: the cells that grids are made of.

Street blocks are the enclosures of roads, rivers, compound edges, walls and community
boundaries (:func:`enclosures`, momepy's); each block is divided among its buildings by an
enclosed tessellation (momepy's algorithm in whole-array shapely calls), so every building
owns the land nearest to it and the cells of a community tile it exactly. Blocks with no
building (parks, squares) are kept as cells of their own, with no households, so grids
can absorb them and the coverage stays seamless.

A cell can be cut into equal-area pieces (:func:`split_equal_area`) when a building is
divided among several grids by unit or by floor.

Examples
--------
>>> from gis.datasets.synthetic import make_district
>>> layers = make_district(3_000, seed=1)
>>> cells = territories(layers["buildings"], communities=layers["communities"],
...                     roads=layers["roads"], compounds=layers["compounds"])
>>> bool(abs(cells.area.sum() - layers["communities"].to_crs(cells.crs).area.sum()) < 1.0)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity

from gis.crs import to_metric

__all__ = [
    "BARRIER_ROAD_CLASSES",
    "barrier_lines",
    "enclosed_tessellation",
    "enclosures",
    "split_equal_area",
    "territories",
]

BARRIER_ROAD_CLASSES: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "residential",
        "unclassified",
        "living_street",
        "rail",
        "major_road",
        "minor_road",
    }
)
"""Road classes that bound street blocks (service roads, footways and paths do not)."""


def barrier_lines(frames: Sequence[gpd.GeoDataFrame | None], crs: object) -> list[shapely.Geometry]:
    """The lines of some layers in ``crs``: lines as they are, polygons by their boundary."""
    out: list[shapely.Geometry] = []
    for frame in frames:
        if frame is None or frame.empty:
            continue
        geoms = frame.to_crs(crs).geometry.values
        polygonal = shapely.get_type_id(geoms) >= 3
        geoms = np.where(polygonal, shapely.boundary(geoms), geoms)
        out.extend(g for g in geoms if g is not None and not g.is_empty)
    return out


def territories(
    buildings: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    crs: object = None,
) -> gpd.GeoDataFrame:
    """Tile the communities with one cell per building plus the empty blocks.

    Parameters
    ----------
    buildings
        Buildings (any CRS); the index is kept.
    communities
        Community polygons with ``community_id``; they limit the blocks.
    roads, waterways, barriers, compounds
        What bounds the blocks. Roads count when their ``road_class`` is in
        :data:`BARRIER_ROAD_CLASSES` (all roads when there is no class).
    crs
        The metric CRS to work in (the CGCS2000 3° zone of the data by default).

    Returns
    -------
    geopandas.GeoDataFrame
        In the metric CRS: ``building`` (the building's index label, or ``None`` for an
        empty block), ``block`` (the enclosure number) and ``community_id``.
    """
    communities_m = to_metric(communities, crs=crs)
    crs = communities_m.crs
    buildings_m = buildings.to_crs(crs)
    if roads is not None and "road_class" in roads:
        roads = roads[roads["road_class"].astype(str).isin(BARRIER_ROAD_CLASSES)]
    primary = barrier_lines([roads, waterways], crs)
    extra = barrier_lines([barriers, compounds], crs) + list(
        shapely.boundary(communities_m.geometry.values)
    )
    # Communities tile the area: their coverage union has exactly their outer edges (a
    # snapped union would leave a hair-thin ring between it and the boundary roads).
    limit = gpd.GeoSeries([shapely.union_all(communities_m.geometry.values)], crs=crs)
    primary_series = gpd.GeoSeries(primary or list(shapely.boundary(limit.values)), crs=crs)
    extra_series = gpd.GeoSeries(extra, crs=crs)
    blocks = enclosures(primary_series, limit=limit, additional=[extra_series], clip=True)
    blocks = blocks[blocks.area > 1e-6].reset_index(drop=True)
    blocks = _cover_limit(blocks, limit)
    inside = buildings_m.geometry.representative_point()
    # Buildings drawn across a block edge belong to the block holding most of them; the
    # tessellation needs each footprint inside one block, so clip it there.
    footprints = _resolve_overlaps(_clip_to_blocks(buildings_m.geometry, inside, blocks))
    footprint_frame = gpd.GeoDataFrame(geometry=footprints.reset_index(drop=True), crs=crs)
    tess = enclosed_tessellation(footprint_frame, blocks)
    labels = np.asarray(buildings_m.index)
    building = np.array([labels[i] if i >= 0 else None for i in tess.index], dtype=object)
    geoms = np.asarray(tess.geometry.values, dtype=object)
    # one row per part (GeoDataFrame.explode, without its frame-level overhead)
    filled = np.flatnonzero(~shapely.is_empty(geoms))
    parts, of = shapely.get_parts(geoms[filled], return_index=True)
    of = filled[of]
    cells = gpd.GeoDataFrame(
        {"building": building[of], "block": tess["enclosure_index"].to_numpy()[of]},
        geometry=parts,
        crs=crs,
    )
    cells = _merge_building_parts(cells)
    community = _assign_community(cells, communities_m)
    cells["community_id"] = community
    return cells[pd.notna(community)].reset_index(drop=True)


def enclosures(
    primary: gpd.GeoSeries,
    *,
    limit: gpd.GeoSeries,
    additional: Sequence[gpd.GeoSeries] = (),
    clip: bool = False,
) -> gpd.GeoDataFrame:
    """Street blocks: the areas the barriers enclose on every side.

    ``momepy.enclosures`` (Fleischmann et al. 2021) as momepy 0.11 computes it, the same
    blocks in the same order: the faces of the ``primary`` lines and the ``limit``'s
    boundary, each face the ``additional`` lines cross divided by them (only where they
    run within it), and with ``clip`` only the blocks whose representative point lies
    in the limit. Written here over shapely because importing momepy imports libpysal,
    which took 4 of the 6 s this package needed to import: every CLI run paid it.

    Returns
    -------
    geopandas.GeoDataFrame
        The blocks, with ``eID`` (their number before clipping) and the positions they
        had before clipping as index.

    Examples
    --------
    >>> square = shapely.box(0, 0, 100, 100)
    >>> road = gpd.GeoSeries([shapely.LineString([(50, -10), (50, 110)])])
    >>> wall = gpd.GeoSeries([shapely.LineString([(0, 50), (50, 50)])])
    >>> blocks = enclosures(road, limit=gpd.GeoSeries([square]), additional=[wall], clip=True)
    >>> sorted(round(a) for a in blocks.area)
    [2500, 2500, 5000]
    """
    crs = primary.crs
    polygonal = limit.geom_type.isin(["Polygon", "MultiPolygon"])
    edges = limit.boundary if polygonal.any() else limit
    lines = np.concatenate([np.asarray(primary.values), np.asarray(edges.values)])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    if len(additional):
        extra = np.concatenate([np.asarray(g.values) for g in additional])
        crossed, face = shapely.STRtree(faces).query(extra, predicate="intersects")
        divided = np.unique(face)
        pieces: list[shapely.Geometry] = []
        for i in divided:
            near = shapely.buffer(faces[i], 0.01)  # against floating-point misses
            inside = shapely.intersection(near, extra[crossed[face == i]])
            union = shapely.union_all(np.append(inside, shapely.boundary(faces[i])))
            parts = shapely.get_parts(shapely.polygonize([union]))
            pieces.extend(parts[shapely.covered_by(parts, near)])
        faces = np.concatenate([np.delete(faces, divided), np.array(pieces, dtype=object)])
    blocks = gpd.GeoDataFrame({"eID": np.arange(len(faces))}, geometry=faces, crs=crs)
    if clip:
        if not polygonal.all():
            raise TypeError("clip=True needs a limit of polygons")
        points = shapely.point_on_surface(faces)
        _, held = shapely.STRtree(points).query(np.asarray(limit.values), predicate="contains")
        return blocks.iloc[np.unique(held)]
    return blocks


_MIN_BLOCK_WIDTH = 1.0  # m: a left-out piece thinner than this on average is a seam, not land


def _cover_limit(enclosures: gpd.GeoDataFrame, limit: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """``enclosures`` with the land of ``limit`` they leave out added as blocks of its own.

    ``momepy.enclosures`` can drop a face: on the Beijing sample in street-block
    communities, a 15 m strip between a boundary road and the community's edge, 4.4 km
    round and 3.4 ha, was in no block, so no grid covered it. Every piece of the limit
    left out (above a square metre; the rest is the rounding of the polygonization)
    becomes a block, and the grids tile the communities again; seams thinner than
    ``_MIN_BLOCK_WIDTH`` on average are left to the polygonization's rounding.
    """
    covered = shapely.union_all(enclosures.geometry.values)
    missing = shapely.make_valid(shapely.difference(shapely.union_all(limit.values), covered))
    # land, not the hair-thin rounding seams of the polygonization along the block edges
    pieces = [
        p
        for p in shapely.get_parts(missing)
        if p.geom_type == "Polygon" and p.area > 1.0 and 2 * p.area / p.length > _MIN_BLOCK_WIDTH
    ]
    if not pieces:
        return enclosures
    extra = gpd.GeoDataFrame(geometry=pieces, crs=enclosures.crs)
    return pd.concat([enclosures, extra], ignore_index=True)


def enclosed_tessellation(
    footprints: gpd.GeoDataFrame,
    enclosures: gpd.GeoDataFrame,
    *,
    segment: float = 2.0,
    shrink: float = 0.4,
    threshold: float = 0.05,
) -> gpd.GeoDataFrame:
    """Enclosed tessellation: each block divided among the footprints inside it.

    The algorithm of ``momepy.enclosed_tessellation`` (Fleischmann et al. 2020):
    footprints snapped to 1e-5 m, shrunk by ``shrink`` and densified every ``segment``
    metres (2 m: half the vertices of 1 m, so half the Voronoi diagram's time; the Beijing
    sample gave the same grids in band and the same compactness); a Voronoi diagram of
    their vertices per block, each vertex's cell given to its own footprint; the cells
    clipped to the block and their shared edges simplified by ``segment / 2``. A
    footprint counts in a block when more than ``threshold`` of its area lies there.
    Done with whole-array shapely calls (cells grouped by
    ``shapely.voronoi_polygons(ordered=True)`` instead of a spatial join), it takes about
    half momepy 0.11's time on buildings, with the same cells; and on large touching seeds
    such as compounds it leaves no overlaps (momepy's join can give a Voronoi cell to two
    neighbouring seeds).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell, indexed by the footprint's position (negative for a block with
        no footprint), with the block's number in ``enclosure_index``.
    """
    seeds = shapely.set_precision(np.asarray(footprints.geometry.values, dtype=object), 1e-5)
    blocks = np.asarray(enclosures.geometry.values, dtype=object)
    block_idx, seed_idx = shapely.STRtree(seeds).query(blocks, predicate="intersects")
    order = np.lexsort((seed_idx, block_idx))
    block_idx, seed_idx = block_idx[order], seed_idx[order]
    shared = np.bincount(block_idx, minlength=len(blocks))[block_idx] > 1
    if threshold and shared.any():
        # (a block's only footprint owns it whatever its share, as in momepy)
        inside = shapely.area(
            shapely.intersection(seeds[seed_idx[shared]], blocks[block_idx[shared]])
        )
        keep = np.ones(len(block_idx), dtype=bool)
        keep[shared] = inside > shapely.area(seeds[seed_idx[shared]]) * threshold
        block_idx, seed_idx = block_idx[keep], seed_idx[keep]
    count = np.bincount(block_idx, minlength=len(blocks))
    sole = np.full(len(blocks), -1)
    single = count[block_idx] == 1
    sole[block_idx[single]] = seed_idx[single]
    owners: list[np.ndarray] = [sole[count <= 1]]
    block_of: list[np.ndarray] = [np.flatnonzero(count <= 1)]
    cells: list[np.ndarray] = [blocks[count <= 1]]
    dense = shapely.segmentize(
        shapely.buffer(seeds, -shrink, cap_style="flat", join_style="mitre"), segment
    )
    # a footprint thinner than twice ``shrink`` still seeds a cell, from a point inside it
    collapsed = shapely.is_empty(dense)
    dense[collapsed] = shapely.point_on_surface(seeds[collapsed])
    for block in np.flatnonzero(count > 1):
        members = seed_idx[block_idx == block]
        mine = _voronoi_cells(dense[members], blocks[block], segment=segment)
        kept = ~(shapely.is_missing(mine) | shapely.is_empty(mine))
        owners.append(members[kept])
        block_of.append(np.full(kept.sum(), block))
        cells.append(mine[kept])
    owner = np.concatenate(owners)
    empty = owner < 0
    owner[empty] = -1 - np.arange(empty.sum())
    return gpd.GeoDataFrame(
        {"enclosure_index": np.concatenate(block_of)},
        geometry=np.concatenate(cells),
        index=pd.Index(owner),
        crs=enclosures.crs,
    )


def _voronoi_cells(seeds: np.ndarray, block: shapely.Geometry, *, segment: float) -> np.ndarray:
    """Divide ``block`` among ``seeds`` (densified polygons): the cell of each seed."""
    coords, which = shapely.get_coordinates(seeds, return_index=True)
    # distinct vertices in lexicographic order, each with its first seed (np.unique(axis=0,
    # return_index=True), without its structured-array sort: a tenth of this function)
    order = np.lexsort((coords[:, 1], coords[:, 0]))
    ranked = coords[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    coords, which = ranked[new], which[order[new]]
    # Evenly spaced vertices on straight edges are co-circular, and GEOS then returns
    # overlapping, invalid cells (momepy too); a micrometre of fixed jitter breaks the ties.
    coords = coords + np.random.default_rng(0).uniform(-1e-6, 1e-6, coords.shape)
    vertex_cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(coords), extend_to=block, ordered=True)
    )
    if len(vertex_cells) != len(coords):  # fewer than two distinct vertices: one cell
        whole = np.full(len(seeds), None, dtype=object)
        whole[which[0] if len(which) else 0] = block
        return whole
    # GEOS can return an invalid cell or a collection (libgeos/geos#1062): keep its area
    odd = (shapely.get_type_id(vertex_cells) != 3) | ~shapely.is_valid(vertex_cells)
    vertex_cells[odd] = _polygonal(shapely.make_valid(vertex_cells[odd]))
    # the cells of each seed's vertices in one row (padded with None), merged row by row
    order = np.argsort(which, kind="stable")
    which = which[order]
    count = np.bincount(which, minlength=len(seeds))
    column = np.arange(len(which)) - np.searchsorted(which, which)
    rows = np.full((len(seeds), max(int(count.max()), 1)), None, dtype=object)
    rows[which, column] = vertex_cells[order]
    try:
        merged = shapely.coverage_union_all(rows, axis=1)
    except shapely.errors.GEOSException:  # not an exact coverage after the repairs above
        merged = shapely.union_all(rows, axis=1)
    merged = _polygonal(shapely.intersection(merged, block))
    kept = ~shapely.is_empty(merged)
    merged[kept] = shapely.coverage_simplify(
        merged[kept], tolerance=segment / 2, simplify_boundary=False
    )
    return merged


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygons of each geometry (lines and points an overlay can leave dropped)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    for i in np.flatnonzero(~np.isin(shapely.get_type_id(geoms), (3, 6))):
        parts = shapely.get_parts(geoms[i])
        while (nested := shapely.get_type_id(parts) == 7).any():  # collections in collections
            parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
        parts = shapely.get_parts(parts)  # a multipolygon's polygons
        geoms[i] = shapely.union_all(parts[shapely.get_type_id(parts) == 3])
    return geoms


def _resolve_overlaps(footprints: gpd.GeoSeries) -> gpd.GeoSeries:
    """Cut overlapping footprints apart (a building drawn inside another keeps its own shape).

    Overlapping footprints would give overlapping cells; the larger footprint loses the
    part the smaller one covers, so each building still seeds its own territory.
    """
    geoms = footprints.values.copy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    pairs = [
        (a, b)
        for a, b in zip(left[keep], right[keep], strict=True)
        if shapely.area(shapely.intersection(geoms[a], geoms[b])) > 1e-6
    ]
    if not pairs:
        return footprints
    out = np.asarray(footprints.values, dtype=object).copy()
    areas = shapely.area(out)
    for a, b in pairs:
        big, small = (a, b) if areas[a] >= areas[b] else (b, a)
        trimmed = shapely.difference(out[big], out[small])
        if not trimmed.is_empty and trimmed.area > 1.0:
            out[big] = trimmed
        else:
            out[small] = shapely.difference(out[small], out[big]) or out[small]
    return gpd.GeoSeries(out, index=footprints.index, crs=footprints.crs)


def _clip_to_blocks(
    footprints: gpd.GeoSeries, inside: gpd.GeoSeries, blocks: gpd.GeoDataFrame
) -> gpd.GeoSeries:
    idx_point, idx_block = blocks.sindex.query(inside.values, predicate="within")
    block_of = pd.Series(idx_block, index=idx_point)
    block_of = block_of[~block_of.index.duplicated()]
    out = footprints.copy()
    crossing = ~shapely.within(
        footprints.values,
        blocks.geometry.values[
            block_of.reindex(range(len(footprints))).fillna(0).astype(int).values
        ],
    )
    for i in np.flatnonzero(crossing):
        if i in block_of.index:
            clipped = shapely.intersection(
                footprints.values[i], blocks.geometry.values[block_of[i]]
            )
            out.iloc[i] = clipped if not clipped.is_empty else footprints.values[i]
    return out


def _merge_building_parts(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A building whose cell came out in several parts keeps the largest; the rest join neighbours."""
    has_building = cells["building"].notna()
    dup = has_building & cells["building"].duplicated(keep=False)
    if not dup.any():
        return cells
    areas = cells.area
    keep = pd.Series(True, index=cells.index)
    for _, rows in cells[dup].groupby("building"):
        largest = areas[rows.index].idxmax()
        keep[rows.index.difference([largest])] = False
    cells.loc[~keep, "building"] = None
    return cells


def _assign_community(cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> np.ndarray:
    points = cells.geometry.representative_point()
    idx_point, idx_comm = communities.sindex.query(points.values, predicate="within")
    out = np.full(len(cells), None, dtype=object)
    ids = communities["community_id"].astype(str).to_numpy()
    out[idx_point] = ids[idx_comm]
    missing = np.flatnonzero(pd.isna(out))
    if len(missing):  # a point on an edge: take the community with the largest overlap
        for i in missing:
            overlaps = shapely.area(
                shapely.intersection(cells.geometry.values[i], communities.geometry.values)
            )
            if overlaps.max() > 0.5 * shapely.area(cells.geometry.values[i]):
                out[i] = ids[int(np.argmax(overlaps))]
    return out


_CUT_TOLERANCE = 1e-3  # metres: a cut placed this close is placed
_AREA_TOLERANCE = 1e-6  # share of the area a strip may be off by


def split_equal_area(
    polygon: shapely.Geometry, fractions: Sequence[float], *, angle: float = 0.0
) -> list[shapely.Geometry]:
    """Cut ``polygon`` into strips with the given area fractions, perpendicular to ``angle``.

    Strips run along the direction ``angle`` (degrees from the x axis): the first
    fraction is at the low end. Cut positions are found by bisection on the area.

    Examples
    --------
    >>> from shapely import box
    >>> parts = split_equal_area(box(0, 0, 10, 2), [0.5, 0.25, 0.25])
    >>> [round(p.area, 6) for p in parts]
    [10.0, 5.0, 5.0]
    """
    if len(fractions) <= 1:
        return [polygon]
    origin = polygon.centroid
    rotated = affinity.rotate(polygon, -angle, origin=origin)
    xmin, ymin, xmax, ymax = rotated.bounds
    total = rotated.area
    weights = np.asarray(fractions, dtype=float)
    targets = np.cumsum(weights / weights.sum())[:-1] * total

    def area_left_of(x: float) -> float:
        return shapely.clip_by_rect(rotated, xmin - 1, ymin - 1, x, ymax + 1).area

    cuts = [xmin]
    below = 0.0  # area left of the last cut
    for target in targets:
        # the Illinois variant of regula falsi: the area left of x grows monotonically
        # and smoothly in x, so a few steps place the cut (bisection needs ~15)
        lo, hi = cuts[-1], xmax
        f_lo, f_hi = below - target, total - target
        side = 0
        x = (lo + hi) / 2
        for _ in range(60):
            x = hi - f_hi * (hi - lo) / (f_hi - f_lo) if f_hi != f_lo else (lo + hi) / 2
            if not lo < x < hi:
                x = (lo + hi) / 2
            f_x = area_left_of(x) - target
            if abs(f_x) <= _AREA_TOLERANCE * total or hi - lo <= _CUT_TOLERANCE:
                break
            if f_x < 0:
                lo, f_lo = x, f_x
                if side == -1:
                    f_hi /= 2
                side = -1
            else:
                hi, f_hi = x, f_x
                if side == 1:
                    f_lo /= 2
                side = 1
        cuts.append(x)
        below = target
    cuts.append(xmax)
    # Each cut is one line in the original frame, shared by the strips on both sides, so
    # neighbouring pieces meet on exactly the same coordinates.
    pad = max(xmax - xmin, ymax - ymin) + 1.0
    edges = np.array([xmin - pad, *cuts[1:-1], xmax + pad])
    # the ends of each cut line, rotated back into the original frame (all at once)
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    ox, oy = origin.x, origin.y
    u = edges - ox
    bottom, top = ymin - pad - oy, ymax + pad - oy
    low_end = np.column_stack([ox + u * cos - bottom * sin, oy + u * sin + bottom * cos])
    high_end = np.column_stack([ox + u * cos - top * sin, oy + u * sin + top * cos])
    rings = np.stack([low_end[:-1], high_end[:-1], high_end[1:], low_end[1:], low_end[:-1]], axis=1)
    strips = shapely.polygons(rings)
    return _single_parts(list(shapely.intersection(polygon, strips)))


def _single_parts(pieces: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """Give the stray parts of a piece cut from a concave shape to the neighbouring piece.

    The pieces still tile the shape; each is one polygon, so grids made of them stay
    contiguous. (Areas shift a little from the requested fractions.)
    """
    pieces = list(pieces)
    for i, piece in enumerate(pieces):
        parts = shapely.get_parts(piece)
        if len(parts) <= 1:
            continue
        parts = sorted(parts, key=lambda g: -g.area)
        pieces[i] = parts[0]
        for stray in parts[1:]:
            shared = [
                shapely.length(
                    shapely.intersection(shapely.boundary(stray), shapely.buffer(other, 1e-6))
                )
                if j != i
                else -1.0
                for j, other in enumerate(pieces)
            ]
            j = int(np.argmax(shared))
            if shared[j] > 0:
                pieces[j] = shapely.union_all([pieces[j], stray])
            else:
                pieces[i] = shapely.union_all([pieces[i], stray])
    return pieces
