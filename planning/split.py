"""The split engine: ranked proposals to divide an oversized community.

How it works
------------
1. **Atoms.** Street blocks are the enclosures of roads and rivers inside the community;
   each block is divided among its compounds (小区) and the buildings outside compounds by
   an enclosed tessellation, so an atom is a whole compound with its verge, or a loose
   building's plot, and the atoms tile the community exactly. A compound that alone
   exceeds the split threshold is divided among its buildings, and the reasons say so.
2. **How many parts.** The smallest ``k`` that puts every part in the rule's normal range
   (``min_households``–``split_households``, residents under the cap); ``parts`` overrides.
3. **Alternatives.** Candidate divisions come from capacitated k-means
   (:mod:`planning.capacitated`: compact blobs held to 5 % of the mean by a min-cost
   flow, made whole by CP-SAT), from the shared partition core
   (sweeps and serpentines in several directions, cut by dynamic programming) of the street
   blocks, and of the atoms when there are few, and from seeded recursive bisections; each
   is balanced by moving boundary atoms (keeping every part connected), then scored:
   maximum deviation from the mean, share of the new boundary on roads, rivers or walls,
   compactness, compounds cut, staff per part, and distance to a service centre. The best
   few are made more compact by moving or trading boundary atoms and by dividing each
   pair of neighbouring parts again along the best straight or round cut. Distinct
   candidates are ranked, best first, with reasons.
4. **Lineage.** Which buildings and households move to which new community.

Examples
--------
>>> from gis.datasets.synthetic import make_district
>>> layers = make_district(12_000, n_communities=1, seed=2)
>>> result = propose_splits(layers["buildings"], community=layers["communities"].iloc[0],
...                         roads=layers["roads"], compounds=layers["compounds"],
...                         barriers=layers["barriers"], waterways=layers["waterways"])
>>> best = result.alternatives[0]
>>> len(best.parts), best.max_deviation <= 0.10
(3, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import STORAGE_CRS, to_metric
from gis.errors import InfeasibleError
from gis.i18n import N_, translator
from planning.capacitated import capacitated_division
from planning.manual import PROPOSAL_COLUMNS
from planning.partition import components, exactly_k, is_connected, partition, rook_neighbours
from planning.rules import BOUNDARY_CLASSES, RuleSet, get_preset
from planning.territory import (
    BARRIER_ROAD_CLASSES,
    barrier_lines,
    enclosed_tessellation,
    enclosures,
)

__all__ = ["Alternative", "SplitResult", "bootstrap_communities", "choose_parts", "propose_splits"]

_BARRIER_TOLERANCE_M = 5.0  # a new boundary this near a road, river or wall follows it
_BARRIER_STEP_M = 2.0  # ... measured on pieces this long
_SEED_SEGMENT_M = (
    8.0  # compounds and loose buildings divide a block by their vertices this far apart
)
_CRUMB_M2 = 1.0  # a block smaller than this is a crumb between nearly coincident lines
SPLIT_ROAD_CLASSES: frozenset[str] = BARRIER_ROAD_CLASSES | {
    "service",
    "pedestrian",
    "track",
    "busway",
}
"""Roads that bound the blocks a split works with: a campus's internal roads count too."""

RAILWAY_CLASSES: frozenset[str] = frozenset(
    {"rail", "railway", "light_rail", "subway", "tram", "narrow_gauge", "monorail", "铁路", "轨道"}
)
"""``road_class`` values of railways (a new boundary along them counts as along a railway)."""
SERVICE_ROAD_CLASSES: frozenset[str] = frozenset(
    {
        "service",
        "pedestrian",
        "track",
        "内部道路",
        "小区道路",
        "小区内部道路",
        "服务道路",
        "校园道路",
        "厂区道路",
        "园区道路",
    }
)
"""``road_class`` values of service, campus and compound roads (rule ``boundary_weight_service_road``)."""
PATH_CLASSES: frozenset[str] = frozenset(
    {
        "footway",
        "cycleway",
        "path",
        "steps",
        "bridleway",
        "corridor",
        "platform",
        "sidewalk",
        "crossing",
        "elevator",
        "pier",
        "ferry",
        "proposed",
        "abandoned",
        "人行道",
        "步行道",
        "步道",
        "游步道",
        "自行车道",
        "非机动车道",
        "绿道",
        "小路",
        "小径",
    }
)
"""``road_class`` values of footways, cycleways and paths (rule ``boundary_weight_path``).
Any other class, or none, is a street."""
MINOR_BARRIER_KINDS: frozenset[str] = frozenset(
    {"hedge", "kerb", "guard_rail", "handrail", "bollard", "jersey_barrier", "chain", "rope"}
)
"""``kind`` values of barriers that are no compound wall (they count as paths)."""


@dataclass(frozen=True)
class Alternative:
    """One way to divide the community, with its scores and reasons."""

    rank: int
    labels: np.ndarray = field(repr=False)
    parts: gpd.GeoDataFrame = field(repr=False)
    max_deviation: float
    barrier_share: float
    compactness: float
    compounds_cut: int
    mean_distance_m: float | None
    reasons: tuple[str, ...]
    boundary_score: float = 0.0
    """The new boundary's share on roads, rivers and walls with each metre counted by the
    weight of its class (rules ``boundary_weight_*``): what the ranking reads."""
    new_boundary_m: float = 0.0
    boundary_classes: dict[str, float] = field(default_factory=dict)
    """Metres of the new boundary along each class of :data:`BOUNDARY_CLASSES` (a metre
    near several counts once, for the first); the rest follows none."""

    def as_dict(self) -> dict[str, object]:
        """The CLI's JSON for this alternative."""
        return {
            "rank": self.rank,
            "parts": [
                {
                    "part": int(r.part),
                    "households": int(r.households),
                    "residents": int(r.residents),
                    "required_staff": int(r.required_staff),
                }
                for r in self.parts.itertuples()
            ],
            "max_deviation": round(self.max_deviation, 4),
            "barrier_share": round(self.barrier_share, 4),
            "boundary_score": round(self.boundary_score, 4),
            "new_boundary_m": round(self.new_boundary_m, 1),
            "boundary_classes": {
                name: round(metres / self.new_boundary_m, 4) if self.new_boundary_m else 0.0
                for name, metres in self.boundary_classes.items()
            },
            "compactness": round(self.compactness, 4),
            "cuts_compounds": self.compounds_cut,
            "mean_distance_m": None
            if self.mean_distance_m is None
            else round(self.mean_distance_m, 1),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class SplitResult:
    """Ranked alternatives for one community, the atoms and the lineage of the best."""

    community_id: str
    k: int
    alternatives: tuple[Alternative, ...]
    atoms: gpd.GeoDataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def proposals(self) -> gpd.GeoDataFrame:
        """Every alternative's parts as one layer (the plan's ``proposals``), EPSG:4490."""
        frames = []
        for alt in self.alternatives:
            parts = alt.parts.copy()
            parts["proposal_id"] = [f"{self.community_id}-R{alt.rank}" for _ in range(len(parts))]
            parts["rank"] = alt.rank
            parts["parent_community_id"] = self.community_id
            parts["reasons"] = "; ".join(alt.reasons)
            frames.append(parts)
        out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        return out[PROPOSAL_COLUMNS].to_crs(STORAGE_CRS)

    def lineage(self, rank: int = 1) -> pd.DataFrame:
        """Which building goes to which new community under alternative ``rank``."""
        alt = self.alternatives[rank - 1]
        rows = []
        for atom_index, label in enumerate(alt.labels):
            for building_id, households in self.atoms["buildings"].iloc[atom_index]:
                rows.append(
                    {
                        "building_id": building_id,
                        "households": households,
                        "from_community_id": self.community_id,
                        "to_community_id": f"{self.community_id}-{int(label) + 1}",
                    }
                )
        return pd.DataFrame(
            rows, columns=["building_id", "households", "from_community_id", "to_community_id"]
        )


def choose_parts(households: int, residents: int | None, *, rules: RuleSet) -> int:
    """Return the smallest number of parts that puts every part in the normal range.

    Examples
    --------
    >>> choose_parts(9_762, 25_563, rules=get_preset())
    2
    >>> choose_parts(16_000, None, rules=get_preset())
    4
    """
    k = max(1, math.ceil(households / rules.split_households))
    if households / k > rules.split_households * 0.99:  # no room left to balance within
        k += 1
    if residents:
        k = max(k, math.floor(residents / rules.must_split_residents) + 1)
    while (
        k > 1
        and households / k < rules.min_households
        and households / (k - 1) <= rules.split_households
    ):
        k -= 1
    return max(k, 2) if households > rules.split_households else k


def _atoms(
    buildings: gpd.GeoDataFrame,
    area: shapely.Geometry,
    *,
    crs: object,
    roads: gpd.GeoDataFrame | None,
    waterways: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
    rules: RuleSet,
    lang: str,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Blocks divided among compounds and loose buildings; oversized compounds among buildings."""
    tr = translator(lang).gettext
    notes: list[str] = []
    if roads is not None and "road_class" in roads:
        roads = roads[roads["road_class"].astype(str).isin(SPLIT_ROAD_CLASSES)]
    limit = gpd.GeoSeries([area], crs=crs)
    primary = barrier_lines([roads, waterways], crs) or [area.boundary]
    blocks = enclosures(gpd.GeoSeries(primary, crs=crs), limit=limit, clip=True)
    blocks = _merge_crumbs(blocks[blocks.area > 1e-6].reset_index(drop=True))
    points = buildings.geometry.representative_point()
    compound_of = pd.Series(None, index=buildings.index, dtype=object)
    seeds: list[shapely.Geometry] = []
    seed_members: list[list[int]] = []
    seed_compound: list[object] = []
    if compounds is not None and len(compounds):
        comp = compounds.to_crs(crs)
        comp = comp[comp.intersects(area)]
        ids = (
            comp["compound_id"].astype(str).to_numpy()
            if "compound_id" in comp
            else np.arange(len(comp)).astype(str)
        )
        p_idx, c_idx = comp.sindex.query(points.values, predicate="within")
        compound_of.iloc[p_idx] = ids[c_idx]
        for cid, geom in zip(ids, comp.geometry.values, strict=True):
            members = np.flatnonzero(compound_of.to_numpy() == cid)
            households = int(buildings["households"].to_numpy()[members].sum())
            if households > rules.split_households and len(members) > 1:
                msg = N_(
                    "compound {compound} ({households} households) alone exceeds {limit}, so it is divided between its buildings"
                )
                notes.append(
                    tr(msg).format(
                        compound=cid, households=households, limit=rules.split_households
                    )
                )
                for m in members:
                    seeds.append(buildings.geometry.values[m])
                    seed_members.append([m])
                    seed_compound.append(f"cut:{cid}")
            else:
                seeds.append(shapely.intersection(geom, area))
                seed_members.append(list(members))
                seed_compound.append(cid)
    loose = np.flatnonzero(compound_of.isna().to_numpy())
    for m in loose:
        seeds.append(buildings.geometry.values[m])
        seed_members.append([m])
        seed_compound.append(None)
    seed_frame = gpd.GeoDataFrame(geometry=seeds, crs=crs)
    seed_frame = seed_frame[~seed_frame.geometry.is_empty]
    tess = enclosed_tessellation(seed_frame.reset_index(drop=True), blocks, segment=_SEED_SEGMENT_M)
    kept = seed_frame.index.to_numpy()
    households = buildings["households"].to_numpy()
    residents = (
        buildings["residents"].to_numpy()
        if "residents" in buildings
        else households * rules.persons_per_household
    )
    special = (
        buildings["special_service_households"].to_numpy()
        if "special_service_households" in buildings
        else np.zeros(len(buildings))
    )
    ids = buildings["building_id"].astype(str).to_numpy()
    # A seed can come out as several cells (a compound cut by a road, a multipart cell):
    # each of its buildings belongs to the cell holding its representative point.
    cells = tess.explode(index_parts=False)
    seed_index = cells.index.to_numpy()
    cell_geoms = np.asarray(cells.geometry.values, dtype=object)
    owner = np.full(len(buildings), -1, dtype=int)
    for seed in np.unique(seed_index[seed_index >= 0]):
        where = np.flatnonzero(seed_index == seed)
        members = seed_members[kept[seed]]
        if len(where) == 1:
            owner[members] = where[0]
            continue
        pts = np.asarray(points.values, dtype=object)[members]
        dist = shapely.distance(pts[:, None], cell_geoms[where][None, :])
        owner[members] = where[np.argmin(dist, axis=1)]
    rows = []
    for c, (seed, geom, block) in enumerate(
        zip(seed_index, cell_geoms, cells["enclosure_index"].to_numpy(), strict=True)
    ):
        members = np.flatnonzero(owner == c)
        rows.append(
            {
                "households": int(households[members].sum()),
                "residents": float(residents[members].sum()),
                "special": float(special[members].sum()),
                "compound": seed_compound[kept[seed]] if seed >= 0 else None,
                "block": int(block),
                "buildings": [(ids[m], int(households[m])) for m in members],
                "geometry": geom,
            }
        )
    atoms = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    return atoms, notes


def _merge_crumbs(blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Join each crumb (a block under ``_CRUMB_M2``) to the block it shares the longest edge with.

    Two roads a few centimetres apart, or a road drawn along the community's boundary, leave
    slivers of a few mm² between them that touch the other blocks only at corners. Kept as
    blocks of their own they are atoms without a neighbour, and the community looks like
    several pieces to the split (the district sample's community 110108900001 had two, of
    2e-5 and 8e-6 m², so its split could not follow the roads). A crumb joined to a block
    keeps the blocks tiling the area; a crumb touching no block by an edge stays as it is.

    Parameters
    ----------
    blocks
        The enclosures, tiling the community.

    Returns
    -------
    geopandas.GeoDataFrame
        The blocks without their crumbs, index reset.
    """
    geoms = np.asarray(blocks.geometry.values, dtype=object)
    area = shapely.area(geoms)
    crumbs = np.flatnonzero(area < _CRUMB_M2)
    if not len(crumbs) or len(crumbs) == len(geoms):
        return blocks
    tree = shapely.STRtree(geoms)
    joined: dict[int, list[int]] = {}
    for c in crumbs:
        near = tree.query(geoms[c], predicate="dwithin", distance=0.01)
        near = near[area[near] >= _CRUMB_M2]
        if not len(near):
            continue
        edge = shapely.length(
            shapely.intersection(
                shapely.buffer(geoms[c], 0.01, quad_segs=2), shapely.boundary(geoms[near])
            )
        )
        joined.setdefault(int(near[np.argmax(edge)]), []).append(int(c))
    geoms = geoms.copy()
    gone: list[int] = []
    for target, parts in joined.items():
        union = shapely.union_all([geoms[target], *geoms[parts]])
        if shapely.get_type_id(union) == 3:  # one polygon: they share an edge
            geoms[target] = union
            gone.extend(parts)
    if not gone:
        return blocks
    out = blocks.copy()
    out[out.geometry.name] = geoms
    return out.drop(index=out.index[gone]).reset_index(drop=True)


def _boundary_lines(
    roads: gpd.GeoDataFrame | None,
    waterways: gpd.GeoDataFrame | None,
    barriers: gpd.GeoDataFrame | None,
    crs: object,
) -> tuple[np.ndarray, np.ndarray]:
    """The lines a new boundary may follow, in ``crs``, and the class of each (an index
    into :data:`BOUNDARY_CLASSES`): roads by ``road_class``, rivers, walls by ``kind``."""
    code = {name: i for i, name in enumerate(BOUNDARY_CLASSES)}
    lines: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    for frame, kind in ((roads, "road"), (waterways, "river"), (barriers, "wall")):
        if frame is None or frame.empty:
            continue
        geoms = frame.to_crs(crs).geometry.values
        polygonal = shapely.get_type_id(geoms) >= 3
        geoms = np.where(polygonal, shapely.boundary(geoms), geoms)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if kind == "road":
            values = (
                frame["road_class"].astype("string").str.strip().str.lower().fillna("")
                if "road_class" in frame
                else pd.Series("", index=frame.index, dtype="string")
            )
            cls = np.full(len(frame), code["street"])
            cls[values.isin(RAILWAY_CLASSES).to_numpy()] = code["railway"]
            cls[values.isin(SERVICE_ROAD_CLASSES).to_numpy()] = code["service_road"]
            cls[values.isin(PATH_CLASSES).to_numpy()] = code["path"]
        elif kind == "river":
            cls = np.full(len(frame), code["river"])
        else:
            values = (
                frame["kind"].astype("string").str.strip().str.lower().fillna("")
                if "kind" in frame
                else pd.Series("", index=frame.index, dtype="string")
            )
            cls = np.where(values.isin(MINOR_BARRIER_KINDS).to_numpy(), code["path"], code["wall"])
        lines.append(np.asarray(geoms, dtype=object)[keep])
        classes.append(np.asarray(cls)[keep])
    if not lines:
        return np.empty(0, dtype=object), np.empty(0, dtype=int)
    return np.concatenate(lines), np.concatenate(classes).astype(int)


def _edge_table(
    atoms: gpd.GeoDataFrame,
    barriers: np.ndarray | None,
    classes: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[
    list[set[int]], dict[tuple[int, int], tuple[float, float]], dict[tuple[int, int], np.ndarray]
]:
    """Rook neighbours, and for each adjacent pair the length of their shared edge and of
    the part of it within ``_BARRIER_TOLERANCE_M`` of a road, river or wall of any class
    (``barriers``, lines of ``classes``), and that length by class of
    :data:`BOUNDARY_CLASSES` (a metre near several classes goes to the one of the highest
    ``weights``). All pairs at once."""
    geoms = atoms.geometry.values
    nb = rook_neighbours(geoms)
    pairs = np.array(
        [(a, b) for a, others in enumerate(nb) for b in others if a < b], dtype=int
    ).reshape(-1, 2)
    if not len(pairs):
        return nb, {}, {}
    if barriers is not None and classes is None:
        classes = np.zeros(len(barriers), dtype=int)
    if weights is None:
        weights = np.ones(len(BOUNDARY_CLASSES))
    buffered = shapely.buffer(geoms, 0.01, quad_segs=2)
    shared = shapely.intersection(shapely.boundary(geoms[pairs[:, 0]]), buffered[pairs[:, 1]])
    length = shapely.length(shared)
    by_class = (
        _near_length(shared, barriers, classes, weights)
        if barriers is not None and len(barriers)
        else np.zeros((len(pairs), len(weights)))
    )
    # a boundary near a barrier counts at most its own length (the measure's rounding)
    total = by_class.sum(axis=1)
    by_class *= np.where(total > length, length / np.maximum(total, 1e-12), 1.0)[:, None]
    on = np.minimum(total, length)
    keys = [(int(a), int(b)) for a, b in pairs]
    edges = {
        key: (float(ln), float(min(o, ln))) for key, ln, o in zip(keys, length, on, strict=True)
    }
    return nb, edges, dict(zip(keys, by_class, strict=True))


def _near_length(
    lines: np.ndarray, barriers: np.ndarray, classes: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """The length of each line within ``_BARRIER_TOLERANCE_M`` of a barrier, by class.

    Each line is cut into pieces of at most ``_BARRIER_STEP_M``, and a spatial-index query
    finds the pieces whose middle is near a barrier (no buffer of all barriers is built);
    a piece near barriers of several classes belongs to the one of the highest weight
    (the first in :data:`BOUNDARY_CLASSES` among equals). A line near barriers of one
    class all along counts whole, one near none counts nothing; for a line partly near
    one, the length near any is measured exactly (intersected with the buffer of the
    barriers around it) and shared among the classes as their pieces are.

    Returns
    -------
    numpy.ndarray
        ``(len(lines), len(weights))``: metres near each class.
    """
    n_classes = len(weights)
    out = np.zeros((len(lines), n_classes))
    pieces, line_of = shapely.get_parts(
        shapely.segmentize(lines, _BARRIER_STEP_M), return_index=True
    )
    coords, piece_of = shapely.get_coordinates(pieces, return_index=True)
    same = piece_of[1:] == piece_of[:-1]  # consecutive vertices of one piece: a segment
    start, stop = coords[:-1][same], coords[1:][same]
    segment_line = line_of[piece_of[:-1][same]]
    segment_length = np.hypot(*(stop - start).T)
    tree = shapely.STRtree(barriers)
    segment_idx, barrier_idx = tree.query(
        shapely.points((start + stop) / 2), predicate="dwithin", distance=_BARRIER_TOLERANCE_M
    )
    # precedence of a class: the highest weight first, then the order of BOUNDARY_CLASSES
    order = np.lexsort((np.arange(n_classes), -np.asarray(weights, dtype=float)))
    precedence = np.empty(n_classes, dtype=int)
    precedence[order] = np.arange(n_classes)
    best = np.full(len(start), n_classes)
    np.minimum.at(best, segment_idx, precedence[classes[barrier_idx]])
    near = best < n_classes
    segment_class = np.where(near, order[np.minimum(best, n_classes - 1)], -1)
    per_class = np.zeros((len(lines), n_classes))
    np.add.at(
        per_class, (segment_line[near], segment_class[near]), segment_length[near]
    )
    near_count = np.bincount(segment_line, weights=near, minlength=len(lines))
    all_count = np.bincount(segment_line, minlength=len(lines))
    n_kinds = (per_class > 0).sum(axis=1)
    line_length = shapely.length(lines)
    whole = (near_count > 0) & (near_count == all_count) & (n_kinds == 1)
    out[whole] = np.where(per_class[whole] > 0, line_length[whole, None], 0.0)
    rest = np.flatnonzero((near_count > 0) & ~whole)
    partly = rest[near_count[rest] < all_count[rest]]
    exact = line_length.copy()  # lines near a barrier all along: their whole length
    which, around_idx = tree.query(
        lines[partly], predicate="dwithin", distance=_BARRIER_TOLERANCE_M
    )
    for j, i in enumerate(partly):
        around = shapely.buffer(
            shapely.union_all(barriers[around_idx[which == j]]), _BARRIER_TOLERANCE_M
        )
        exact[i] = shapely.length(shapely.intersection(lines[i], around))
    share = per_class[rest] / np.maximum(per_class[rest].sum(axis=1, keepdims=True), 1e-12)
    out[rest] = share * exact[rest, None]
    return out


def _balance(
    labels: np.ndarray,
    weights: np.ndarray,
    nb: list[set[int]],
    k: int,
    *,
    rounds: int = 200,
    good_enough: float = 0.0,
    low: float = 0.0,
    high: float = math.inf,
) -> np.ndarray:
    """Move boundary atoms into or out of the worst part while that lowers the maximum deviation.

    Only moves that touch the part furthest from the mean are tried, and a part is never
    left disconnected.
    """
    labels = labels.copy()
    mean = weights.sum() / k
    for _ in range(rounds):
        sums = np.bincount(labels, weights=weights, minlength=k)
        deviation = np.abs(sums - mean)
        worst_part = int(np.argmax(deviation))
        worst = float(deviation[worst_part])
        if worst <= good_enough * mean and sums.min() >= low and sums.max() <= high:
            break
        heavy = sums[worst_part] > mean
        members = np.flatnonzero(labels == worst_part)
        if heavy:  # move one of its atoms out to a neighbour
            moves = [
                (int(a), int(labels[b]))
                for a in members
                if weights[a] > 0
                for b in nb[a]
                if labels[b] != worst_part
            ]
        else:  # take in one neighbouring atom
            moves = [
                (int(b), worst_part)
                for a in members
                for b in nb[a]
                if labels[b] != worst_part and weights[b] > 0
            ]
        best_move, best_value = None, worst
        for atom, to in sorted(set(moves)):
            frm = int(labels[atom])
            new = sums.copy()
            new[frm] -= weights[atom]
            new[to] += weights[atom]
            value = float(np.abs(new - mean).max())
            if value < best_value - 1e-9:
                rest = np.flatnonzero(labels == frm)
                if len(rest) > 1 and not is_connected(set(rest.tolist()) - {atom}, nb):
                    continue
                best_move, best_value = (atom, to), value
        if best_move is None:
            break
        labels[best_move[0]] = best_move[1]
    return labels


def _edge_lengths(
    labels: np.ndarray, edges: dict[tuple[int, int], tuple[float, float]], k: int
) -> tuple[np.ndarray, float, float]:
    """Shared-edge length inside each part, and the length of the new boundary and of
    its part on roads, rivers or walls."""
    internal = np.zeros(k)
    cut_len = on_len = 0.0
    for (a, b), (length, on) in edges.items():
        if labels[a] != labels[b]:
            cut_len += length
            on_len += on
        else:
            internal[labels[a]] += length
    return internal, cut_len, on_len


def _compound_codes(atoms: gpd.GeoDataFrame) -> np.ndarray:
    """A number per whole compound for each atom, -1 for atoms outside any compound and
    for the pieces of an oversized compound cut on purpose (``cut:…``)."""
    names = atoms["compound"].astype(object)
    whole = names.notna() & ~names.astype(str).str.startswith("cut:")
    return np.where(whole, pd.factorize(names.where(whole))[0], -1)


_CAPACITY_TOLERANCE = 0.049  # capacitated k-means parts: within 5 % of the mean, rounding included
_CAPACITY_STARTS = 8  # k-means starts for them
_CAPACITY_KEPT = 4  # of which the least inertia are made whole (a stray atom joins a neighbour;
# the balancing and the climb that follow restore the range)
_SWEPT_ATOMS = (
    100  # up to this many atoms, sweeps and bisections of the atoms too (beyond: of blocks)
)
_COMPACTED = 4  # how many of the best divisions the compactness hill climb refines
_CUT_DIRECTIONS = 16  # straight cuts tried when two neighbouring parts are divided again
_CUTS_TRIED = 8  # the best cuts of a pair checked for connected sides, at most
_ROUND_CUT_CENTRES = 256  # round cuts tried around at most this many atoms of a pair


@dataclass(frozen=True)
class _AtomGraph:
    """What the local search reads of the atoms: households, areas, perimeters and
    centroids per atom, the shared edges (``edges[(a, b)]`` and ``links[a]``: length and
    length on a barrier), rook neighbours, and a number per whole compound (-1: none)."""

    weights: np.ndarray
    area: np.ndarray
    perimeter: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edges: dict[tuple[int, int], tuple[float, float]]
    links: list[list[tuple[int, float, float]]]
    nb: list[set[int]]
    compound: np.ndarray

    @cached_property
    def in_pieces(self) -> np.ndarray:
        """Whether each atom belongs to a compound of several atoms (they move together)."""
        codes, counts = np.unique(self.compound[self.compound >= 0], return_counts=True)
        return np.isin(self.compound, codes[counts > 1])

    @cached_property
    def edge_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The shared edges as arrays: the atom pairs, their lengths, the lengths on a barrier."""
        pairs = np.array(list(self.edges), dtype=int).reshape(-1, 2)
        length = np.array([v[0] for v in self.edges.values()])
        on = np.array([v[1] for v in self.edges.values()])
        return pairs, length, on


def _part_state(
    labels: np.ndarray, graph: _AtomGraph, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Households, area and perimeter per part, and the length of the new boundary and of
    its part on roads, rivers or walls."""
    internal, cut_len, on_len = _edge_lengths(labels, graph.edges, k)
    return (
        np.bincount(labels, weights=graph.weights, minlength=k),
        np.bincount(labels, weights=graph.area, minlength=k),
        np.bincount(labels, weights=graph.perimeter, minlength=k) - 2 * internal,
        cut_len,
        on_len,
    )


def _feasible(s: dict[str, float]) -> bool:
    """Connected parts within 10 % of the mean."""
    return s["max_deviation"] <= 0.10 and s["connected"] == 1.0


def _compact(
    labels: np.ndarray,
    graph: _AtomGraph,
    k: int,
    *,
    max_deviation: float,
    min_barrier_share: float,
    low: float,
    high: float,
    rounds: int = 400,
) -> np.ndarray:
    """Move boundary atoms between parts while that makes the parts more compact.

    A hill climb on the mean Polsby–Popper of the parts. Each step takes the move that
    raises it most — one boundary atom into a neighbouring part, or two atoms traded
    across a shared boundary (which keeps the households nearly level when single moves
    would break the balance) — while every part stays connected and within
    ``max_deviation`` of the mean (and in ``[low, high]`` if it was), the share of new
    boundary on roads, rivers and walls stays at least ``min_barrier_share``, and no
    compound is cut. Areas and perimeters are updated from the atoms' shared edges
    (``links[a]``: ``(b, length, length on a barrier)``), so no polygon is unioned.
    """
    weights, area, perimeter = graph.weights, graph.area, graph.perimeter
    edges, links, nb = graph.edges, graph.links, graph.nb
    labels = labels.copy()
    mean = weights.sum() / k
    limit = max_deviation * mean
    sums, part_area, part_perimeter, cut_len, on_len = _part_state(labels, graph, k)
    in_band = (sums >= low) & (sums <= high)
    movable = ~graph.in_pieces  # an atom of a compound in pieces stays

    def pp(a_: float, p_: float) -> float:
        return 4 * math.pi * a_ / max(p_, 1e-9) ** 2

    def fits(g: int, new_g: float) -> bool:
        return abs(new_g - mean) <= limit and (not in_band[g] or low <= new_g <= high)

    for _ in range(rounds):
        now = [pp(part_area[g], part_perimeter[g]) for g in range(k)]
        shared: dict[int, tuple[dict[int, float], dict[int, float]]] = {}
        facing: dict[tuple[int, int], list[int]] = {}  # (g, h): atoms of g touching h
        for a in np.flatnonzero(movable).tolist():
            length_to: dict[int, float] = {}
            on_to: dict[int, float] = {}
            for b, length, on in links[a]:
                h = int(labels[b])
                length_to[h] = length_to.get(h, 0.0) + length
                on_to[h] = on_to.get(h, 0.0) + on
            shared[a] = (length_to, on_to)
            for h in length_to:
                if h != labels[a]:
                    facing.setdefault((int(labels[a]), h), []).append(a)
        moves = []  # (gain, ((atom, to), ...), g, h, perimeter of g, of h, cut, on)
        for (g, h), atoms_gh in facing.items():
            for a in atoms_gh:
                length_to, on_to = shared[a]
                own, other = length_to.get(g, 0.0), length_to[h]
                if fits(g, sums[g] - weights[a]) and fits(h, sums[h] + weights[a]):
                    pg = part_perimeter[g] - perimeter[a] + 2 * own
                    ph = part_perimeter[h] + perimeter[a] - 2 * other
                    gain = (
                        pp(part_area[g] - area[a], pg)
                        + pp(part_area[h] + area[a], ph)
                        - now[g]
                        - now[h]
                    )
                    new_cut = cut_len - other + own
                    new_on = on_len - on_to[h] + on_to.get(g, 0.0)
                    if gain > 1e-6 and (new_cut <= 0 or new_on / new_cut >= min_barrier_share):
                        moves.append((gain, ((a, h),), g, h, pg, ph, new_cut, new_on))
                if g > h:
                    continue  # each trade once
                for b in facing.get((h, g), ()):
                    change = weights[b] - weights[a]
                    if not (fits(g, sums[g] + change) and fits(h, sums[h] - change)):
                        continue
                    b_length_to, b_on_to = shared[b]
                    ab, ab_on = edges.get((min(a, b), max(a, b)), (0.0, 0.0))
                    # a leaves g for h and b leaves h for g; their own edge stays a boundary
                    pg = (
                        part_perimeter[g]
                        - perimeter[a]
                        + 2 * own
                        + perimeter[b]
                        - 2 * (b_length_to[g] - ab)
                    )
                    ph = (
                        part_perimeter[h]
                        - perimeter[b]
                        + 2 * b_length_to.get(h, 0.0)
                        + perimeter[a]
                        - 2 * (other - ab)
                    )
                    gain = (
                        pp(part_area[g] - area[a] + area[b], pg)
                        + pp(part_area[h] - area[b] + area[a], ph)
                        - now[g]
                        - now[h]
                    )
                    if gain <= 1e-6:
                        continue
                    new_cut = (
                        cut_len
                        + own
                        - (other - ab)
                        + b_length_to.get(h, 0.0)
                        - (b_length_to[g] - ab)
                    )
                    new_on = (
                        on_len
                        + on_to.get(g, 0.0)
                        - (on_to[h] - ab_on)
                        + b_on_to.get(h, 0.0)
                        - (b_on_to[g] - ab_on)
                    )
                    if new_cut > 0 and new_on / new_cut < min_barrier_share:
                        continue
                    moves.append((gain, ((a, h), (b, g)), g, h, pg, ph, new_cut, new_on))
        chosen = None
        for move in sorted(moves, key=lambda m: (-m[0], m[1])):
            _, steps, g, h = move[:4]
            trial = labels.copy()
            for atom, to in steps:
                trial[atom] = to
            if is_connected(np.flatnonzero(trial == g).tolist(), nb) and is_connected(
                np.flatnonzero(trial == h).tolist(), nb
            ):
                chosen = move
                break
        if chosen is None:
            break
        _, steps, g, h, pg, ph, cut_len, on_len = chosen
        for atom, to in steps:
            frm = int(labels[atom])
            labels[atom] = to
            sums[frm] -= weights[atom]
            sums[to] += weights[atom]
            part_area[frm] -= area[atom]
            part_area[to] += area[atom]
        part_perimeter[g], part_perimeter[h] = pg, ph
    return labels


def _redivide(
    labels: np.ndarray,
    graph: _AtomGraph,
    k: int,
    *,
    max_deviation: float,
    min_barrier_share: float,
    low: float,
    high: float,
    sweeps: int = 6,
) -> np.ndarray:
    """Divide each pair of neighbouring parts again, by the best straight or round cut.

    A larger move than :func:`_compact`'s: the atoms of two touching parts are pooled and
    cut anew where that raises their Polsby–Popper most — along one of
    ``_CUT_DIRECTIONS`` directions (the first so many atoms along it) or around one of
    the atoms (the nearest so many). Every cut of every ordering is scored at once from
    cumulative sums (households, area, perimeter less twice the shared edges inside), so
    a pair costs a few array operations. The same rules as the climb hold: both parts
    connected, within ``max_deviation`` of the mean (and in ``[low, high]`` if they
    were), the new boundary at least ``min_barrier_share`` on roads, rivers and walls,
    and a compound in several atoms moves whole. Sweeps over all pairs repeat until one
    changes nothing.
    """
    weights, area, perimeter, compound = graph.weights, graph.area, graph.perimeter, graph.compound
    nb, x, y = graph.nb, graph.x, graph.y
    labels = labels.copy()
    mean = weights.sum() / k
    limit = max_deviation * mean
    sums, part_area, part_perimeter, cut_len, on_len = _part_state(labels, graph, k)
    in_band = (sums >= low) & (sums <= high)
    lowest = np.where(in_band, max(mean - limit, low), mean - limit)
    highest = np.where(in_band, min(mean + limit, high), mean + limit)
    pairs_ab, length, on = graph.edge_arrays
    whole = graph.in_pieces  # atoms of a compound in several atoms
    angles = np.pi * np.arange(_CUT_DIRECTIONS) / _CUT_DIRECTIONS
    done: set[tuple[int, int, bytes]] = set()
    for _ in range(sweeps):
        changed = False
        la, lb = labels[pairs_ab[:, 0]], labels[pairs_ab[:, 1]]
        for g, h in sorted(
            {(int(min(a, b)), int(max(a, b))) for a, b in zip(la, lb, strict=True) if a != b}
        ):
            in_pair = (labels == g) | (labels == h)
            region = np.flatnonzero(in_pair)
            seen = (g, h, region.tobytes())
            if seen in done:
                continue
            done.add(seen)
            # nodes: the region's atoms, a compound in several atoms as one node
            key = np.where(whole[region], -1 - compound[region], region)
            nodes, node_of = np.unique(key, return_inverse=True)
            reaching_out = np.isin(compound[whole & in_pair], compound[whole & ~in_pair]).any()
            if len(nodes) < 2 or reaching_out:
                continue  # nothing to divide, or a compound with atoms outside the pair
            n = len(nodes)
            node = np.full(len(labels), -1)
            node[region] = node_of
            w = np.bincount(node_of, weights=weights[region], minlength=n)
            ar = np.bincount(node_of, weights=area[region], minlength=n)
            pe = np.bincount(node_of, weights=perimeter[region], minlength=n)
            cx = np.bincount(node_of, weights=x[region] * area[region], minlength=n) / np.maximum(
                ar, 1e-9
            )
            cy = np.bincount(node_of, weights=y[region] * area[region], minlength=n) / np.maximum(
                ar, 1e-9
            )
            ei, ej = node[pairs_ab[:, 0]], node[pairs_ab[:, 1]]
            both = (ei >= 0) & (ej >= 0)
            inner = both & (ei == ej)
            pe -= 2 * np.bincount(ei[inner], weights=length[inner], minlength=n)
            pair = both & ~inner
            ei, ej, el, eo = ei[pair], ej[pair], length[pair], on[pair]
            # every cut edge in the pair, those inside a compound split between g and h too
            # (the compound, one node, comes out whole)
            was_cut = both & (labels[pairs_ab[:, 0]] != labels[pairs_ab[:, 1]])
            rest_cut, rest_on = cut_len - length[was_cut].sum(), on_len - on[was_cut].sum()
            now = (
                4
                * math.pi
                * (part_area[g] / part_perimeter[g] ** 2 + part_area[h] / part_perimeter[h] ** 2)
            )
            # orderings: along each direction, then outwards from each node (from at most
            # _ROUND_CUT_CENTRES of them, evenly spread in index order, on a large pair)
            centres = np.unique(np.linspace(0, n - 1, min(n, _ROUND_CUT_CENTRES)).astype(int))
            key_rows = np.vstack(
                [
                    np.outer(np.cos(angles), cx) + np.outer(np.sin(angles), cy),
                    np.hypot(cx[centres, None] - cx[None, :], cy[centres, None] - cy[None, :]),
                ]
            )
            order = np.argsort(key_rows, axis=1, kind="stable")
            rank = np.empty_like(order)
            np.put_along_axis(rank, order, np.broadcast_to(np.arange(n), order.shape), axis=1)
            # cut t puts the first t + 1 nodes of an ordering on one side
            held = np.cumsum(w[order], axis=1)[:, :-1]
            held_area = np.cumsum(ar[order], axis=1)[:, :-1]
            held_perimeter = np.cumsum(pe[order], axis=1)[:, :-1]
            first_in = np.maximum(
                rank[:, ei], rank[:, ej]
            )  # an edge is inside the first side from this cut on
            last_in = np.minimum(
                rank[:, ei], rank[:, ej]
            )  # ... inside the other side up to the cut before this
            inside_first = _cumulative(first_in, el, n)[:, :-1]
            inside_other = _cumulative(last_in, el, n, reverse=True)[:, 1:]
            on_first = _cumulative(first_in, eo, n)[:, :-1]
            on_other = _cumulative(last_in, eo, n, reverse=True)[:, 1:]
            p_first = held_perimeter - 2 * inside_first
            p_other = pe.sum() - held_perimeter - 2 * inside_other
            new_cut = rest_cut + el.sum() - inside_first - inside_other
            new_on = rest_on + eo.sum() - on_first - on_other
            total = w.sum()
            as_gh = (
                (held >= lowest[g])
                & (held <= highest[g])
                & (total - held >= lowest[h])
                & (total - held <= highest[h])
            )
            as_hg = (
                (held >= lowest[h])
                & (held <= highest[h])
                & (total - held >= lowest[g])
                & (total - held <= highest[g])
            )
            allowed = (as_gh | as_hg) & (
                (new_cut <= 0) | (new_on >= min_barrier_share * new_cut - 1e-9)
            )
            value = (
                4
                * math.pi
                * (
                    held_area / np.maximum(p_first, 1e-9) ** 2
                    + (ar.sum() - held_area) / np.maximum(p_other, 1e-9) ** 2
                )
            )
            value[~allowed] = -np.inf
            for flat in np.argsort(-value, axis=None, kind="stable")[:_CUTS_TRIED]:
                row, t = divmod(int(flat), n - 1)
                if value[row, t] <= now + 1e-6:
                    break
                first = np.zeros(n, dtype=bool)
                first[order[row, : t + 1]] = True
                side = first[node_of]
                if not (
                    is_connected(region[side].tolist(), nb)
                    and is_connected(region[~side].tolist(), nb)
                ):
                    continue
                a, b = (g, h) if as_gh[row, t] else (h, g)
                labels[region[side]], labels[region[~side]] = a, b
                sums[a], sums[b] = held[row, t], total - held[row, t]
                part_area[a], part_area[b] = held_area[row, t], ar.sum() - held_area[row, t]
                part_perimeter[a], part_perimeter[b] = p_first[row, t], p_other[row, t]
                cut_len, on_len = new_cut[row, t], new_on[row, t]
                la, lb = labels[pairs_ab[:, 0]], labels[pairs_ab[:, 1]]
                changed = True
                break
        if not changed:
            break
    return labels


def _cumulative(
    position: np.ndarray, values: np.ndarray, n: int, *, reverse: bool = False
) -> np.ndarray:
    """Per row, the running total over positions 0..n-1 of ``values`` placed at ``position``
    (from the end when ``reverse``)."""
    rows = np.broadcast_to(np.arange(position.shape[0])[:, None], position.shape)
    out = np.zeros((position.shape[0], n))
    np.add.at(out, (rows, position), np.broadcast_to(values, position.shape))
    return np.cumsum(out[:, ::-1], axis=1)[:, ::-1] if reverse else np.cumsum(out, axis=1)


def _tighten(
    labels: np.ndarray,
    graph: _AtomGraph,
    k: int,
    *,
    max_deviation: float,
    min_barrier_share: float,
    low: float,
    high: float,
    rounds: int = 4,
) -> np.ndarray:
    """The compactness climb (:func:`_compact`) and the re-division of neighbouring parts
    (:func:`_redivide`) in turn, until neither changes anything."""
    limits = {
        "max_deviation": max_deviation,
        "min_barrier_share": min_barrier_share,
        "low": low,
        "high": high,
    }
    labels = _compact(labels, graph, k, **limits)
    for _ in range(rounds):
        again = _compact(_redivide(labels, graph, k, **limits), graph, k, **limits)
        if np.array_equal(again, labels):
            break
        labels = again
    return labels


def _grow(
    members: np.ndarray, weights: np.ndarray, u: np.ndarray, nb: list[set[int]], share: float
) -> np.ndarray | None:
    """Grow a connected region from the low end of ``u`` until it holds ``share`` of the weight.

    Atoms join in order of ``u`` but only when they touch the region, so the region is
    connected by construction; the remainder is checked. Returns the region or None.
    """
    inside = set(members.tolist())
    order = members[np.argsort(u, kind="stable")]
    rank = {int(a): i for i, a in enumerate(order)}
    goal = weights[members].sum() * share
    start = int(order[0])
    region = {start}
    total = weights[start]
    frontier = {b for b in nb[start] if b in inside}
    while total < goal and frontier:
        nxt = min(frontier, key=rank.__getitem__)
        frontier.discard(nxt)
        if total + weights[nxt] / 2 > goal and total > 0:
            break
        region.add(nxt)
        total += weights[nxt]
        frontier |= {b for b in nb[nxt] if b in inside and b not in region}
    rest = inside - region
    if not rest or not is_connected(rest, nb):
        return None
    return np.array(sorted(region))


def _bisections(
    weights: np.ndarray, x: np.ndarray, y: np.ndarray, nb: list[set[int]], k: int, seed: int
) -> list[np.ndarray]:
    """Recursive bisections grown along random directions (seeded): diverse starting divisions."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(8):
        labels = np.zeros(len(weights), dtype=int)
        groups = [(np.arange(len(weights)), k)]
        next_label = 0
        ok = True
        while groups:
            members, parts = groups.pop()
            if parts == 1:
                labels[members] = next_label
                next_label += 1
                continue
            left_parts = parts // 2
            first = None
            for _attempt in range(6):
                angle = rng.uniform(0, 2 * math.pi)
                u = x[members] * math.cos(angle) + y[members] * math.sin(angle)
                first = _grow(members, weights, u, nb, left_parts / parts)
                if first is not None:
                    break
            if first is None:
                ok = False
                break
            second = np.setdiff1d(members, first)
            groups.append((first, left_parts))
            groups.append((second, parts - left_parts))
        if ok:
            out.append(labels)
    return out


def _score(
    labels: np.ndarray,
    atoms: gpd.GeoDataFrame,
    edges: dict[tuple[int, int], tuple[float, float]],
    k: int,
    centres: np.ndarray | None,
    nb: list[set[int]],
    edge_classes: dict[tuple[int, int], np.ndarray] | None = None,
    class_weights: np.ndarray | None = None,
) -> dict[str, float]:
    """Scores of one division, from the atoms and their shared edges (no polygon unions).

    A part's area is the sum of its atoms' areas and its perimeter their perimeters less
    twice the edges they share, so Polsby–Popper needs no union; contiguity is checked on
    the adjacency graph. ``barrier_share`` is the share of the new boundary near a road,
    river or wall of any class, ``boundary_score`` the same with each metre counted by the
    ``class_weights`` of its class (per class of :data:`BOUNDARY_CLASSES`: a campus footway
    counts less than a street), ``new_boundary_m`` its length and ``on_<class>`` its
    metres along each class.
    """
    weights = atoms["households"].to_numpy(dtype=float)
    sums = np.bincount(labels, weights=weights, minlength=k)
    mean = weights.sum() / k
    internal, cut_len, on_len = _edge_lengths(labels, edges, k)
    geoms = atoms.geometry.values
    area = np.bincount(labels, weights=shapely.area(geoms), minlength=k)
    perimeter = np.bincount(labels, weights=shapely.length(geoms), minlength=k) - 2 * internal
    compact = float(np.mean(4 * math.pi * area / np.maximum(perimeter, 1e-9) ** 2))
    codes = _compound_codes(atoms)
    whole = codes >= 0
    pairs = np.unique(codes[whole].astype(np.int64) * (k + 1) + labels[whole])
    cut_compounds = int((np.bincount(pairs // (k + 1)) > 1).sum()) if len(pairs) else 0
    distance = None
    if centres is not None and len(centres) and weights.sum() > 0:
        # Each new community is served by a centre inside it, or by a new one at its
        # household-weighted middle (the site the planner would look for).
        cent = shapely.centroid(geoms)
        cx, cy = shapely.get_x(cent), shapely.get_y(cent)
        centre_idx, atom_idx = shapely.STRtree(geoms).query(centres, predicate="within")
        centre_part = np.full(len(centres), -1)
        centre_part[centre_idx] = labels[atom_idx]
        d = np.zeros(len(geoms))
        for g in range(k):
            mask = labels == g
            inside = centres[centre_part == g]
            if len(inside) == 0 and weights[mask].sum() > 0:
                w = weights[mask]
                inside = np.array(
                    [shapely.Point((cx[mask] * w).sum() / w.sum(), (cy[mask] * w).sum() / w.sum())]
                )
            if len(inside):
                d[mask] = shapely.distance(cent[mask][:, None], inside[None, :]).min(axis=1)
        distance = float((d * weights).sum() / weights.sum())
    along = np.zeros(len(BOUNDARY_CLASSES))
    for (a, b), metres in (edge_classes or {}).items():
        if labels[a] != labels[b]:
            along += metres
    if edge_classes is None:  # no classes: every barrier counts in full
        along[0] = on_len
    if class_weights is None:
        class_weights = np.ones(len(BOUNDARY_CLASSES))
    return {
        **{f"on_{name}": float(m) for name, m in zip(BOUNDARY_CLASSES, along, strict=True)},
        "new_boundary_m": float(cut_len),
        "max_deviation": float(np.abs(sums - mean).max() / mean) if mean else 0.0,
        "barrier_share": on_len / cut_len if cut_len else 1.0,
        "boundary_score": float(along @ class_weights) / cut_len if cut_len else 1.0,
        "compactness": compact,
        "compounds_cut": float(cut_compounds),
        "distance": distance if distance is not None else float("nan"),
        "connected": float(
            all(is_connected(np.flatnonzero(labels == g).tolist(), nb) for g in range(k))
        ),
    }


def propose_splits(
    buildings: gpd.GeoDataFrame,
    *,
    community: pd.Series | gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    service_centres: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    parts: int | None = None,
    alternatives: int = 3,
    seed: int = 0,
    lang: str = "en",
) -> SplitResult:
    """Propose ranked ways to split one community into ``parts`` new communities.

    Parameters
    ----------
    buildings
        The buildings with ``households`` (and ``building_id``, ``residents``,
        ``special_service_households``); only those inside the community are used.
    community
        The community: a row (Series with ``geometry`` and ``community_id``) or a
        one-row GeoDataFrame.
    roads, waterways, barriers, compounds
        What new boundaries should follow; compounds are kept whole unless oversized.
    service_centres
        Points; when given, each alternative reports the mean household distance to
        the nearest centre.
    rules
        The normal range and thresholds.
    parts
        The number of new communities (the smallest that fits the rules by default).
    alternatives
        How many distinct alternatives to return, at most.
    seed
        Seeds the random bisections: the same seed gives the same proposals.
    lang
        Language of the reasons.

    Raises
    ------
    InfeasibleError
        When ``parts`` is larger than the atoms allow or the community has no households.
    """
    rules = rules or get_preset()
    tr = translator(lang).gettext
    if isinstance(community, gpd.GeoDataFrame):
        frame = community.iloc[[0]]
    else:
        frame = gpd.GeoDataFrame(
            [community], geometry="geometry", crs=getattr(community, "crs", None) or STORAGE_CRS
        )
    if frame.crs is None:
        frame = frame.set_crs(STORAGE_CRS)
    community_id = str(frame["community_id"].iloc[0]) if "community_id" in frame else "community"
    metric = to_metric(frame)
    crs = metric.crs
    area = shapely.make_valid(metric.geometry.iloc[0])
    b = buildings.to_crs(crs)
    b = b[b.geometry.representative_point().within(area)].copy()
    if "building_id" not in b:
        b["building_id"] = [f"B{i + 1:06d}" for i in range(len(b))]
    total = int(b["households"].sum())
    if total <= 0:
        msg = N_("Community {community} has no households, so there is nothing to split.")
        raise InfeasibleError(msg, community=community_id)
    residents_total = int(b["residents"].sum()) if "residents" in b else None
    k = parts or choose_parts(total, residents_total, rules=rules)
    if k < 2:
        msg = N_(
            "Community {community} has {households} households, within the normal range; it needs no "
            "split. Pass --parts 2 or more to divide it anyway."
        )
        raise InfeasibleError(msg, community=community_id, households=total)
    atoms, notes = _atoms(
        b,
        area,
        crs=crs,
        roads=roads,
        waterways=waterways,
        compounds=compounds,
        rules=rules,
        lang=lang,
    )
    weights = atoms["households"].to_numpy(dtype=float)
    populated = int((weights > 0).sum())
    if k > populated:
        msg = N_(
            "Community {community} cannot be divided into {k} parts: it has only {n} blocks or compounds "
            "with households. Ask for at most {n} parts."
        )
        raise InfeasibleError(msg, community=community_id, k=k, n=populated)
    lines, line_classes = _boundary_lines(roads, waterways, barriers, crs)
    class_weights = rules.boundary_weights()
    nb, edges, edge_classes = _edge_table(atoms, lines, line_classes, class_weights)
    comps = components(np.arange(len(atoms)), nb)
    if len(comps) > 1:
        msg = N_(
            "Community {community} is in {n} separate pieces; split each piece on its own or join them first."
        )
        raise InfeasibleError(msg, community=community_id, n=len(comps))
    cent = shapely.centroid(atoms.geometry.values)
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    centres = None
    if service_centres is not None and len(service_centres):
        centres = np.asarray(service_centres.to_crs(crs).geometry.values, dtype=object)

    # Street blocks as coarse atoms: divisions along roads first, refined only to balance.
    block_ids, block_of = np.unique(atoms["block"].to_numpy(), return_inverse=True)
    block_weights = np.bincount(block_of, weights=weights)
    block_x = np.bincount(block_of, weights=x * np.maximum(weights, 1e-9)) / np.bincount(
        block_of, weights=np.maximum(weights, 1e-9)
    )
    block_y = np.bincount(block_of, weights=y * np.maximum(weights, 1e-9)) / np.bincount(
        block_of, weights=np.maximum(weights, 1e-9)
    )
    block_nb: list[set[int]] = [set() for _ in block_ids]
    for a, others in enumerate(nb):
        for b in others:
            if block_of[a] != block_of[b]:
                block_nb[block_of[a]].add(int(block_of[b]))
    block_level = len(components(np.arange(len(block_ids)), block_nb)) == 1

    atom_area = shapely.area(atoms.geometry.values)
    atom_perimeter = shapely.length(atoms.geometry.values)
    links: list[list[tuple[int, float, float]]] = [[] for _ in range(len(atoms))]
    for (a, b), (length, on) in edges.items():
        links[a].append((b, length, on))
        links[b].append((a, length, on))
    graph = _AtomGraph(
        weights=weights,
        area=atom_area,
        perimeter=atom_perimeter,
        x=x,
        y=y,
        edges=edges,
        links=links,
        nb=nb,
        compound=_compound_codes(atoms),
    )

    def candidates_for(k: int) -> list[np.ndarray]:
        target = total / k
        # Compact blobs held to 5 % of the mean (and to the normal range where it can be).
        capacity_low = max(target * (1 - _CAPACITY_TOLERANCE), min(rules.min_households, target))
        capacity_high = min(target * (1 + _CAPACITY_TOLERANCE), max(rules.split_households, target))
        out = capacitated_division(
            weights,
            x,
            y,
            nb,
            k=k,
            low=capacity_low,
            high=capacity_high,
            mass=atom_area,
            seed=seed,
            starts=_CAPACITY_STARTS,
            keep=_CAPACITY_KEPT,
            repair_rounds=0,
            in_range=False,
        )
        levels = []
        if block_level and (block_weights > 0).sum() >= k:
            levels.append((block_weights, block_x, block_y, block_nb, block_of))
        if len(atoms) <= _SWEPT_ATOMS or not out:
            levels.append((weights, x, y, nb, None))
        for w, px, py, graph, expand in levels:
            if len(w) / k > 80:  # runs too long for the dynamic programme: bisections only
                out.extend(
                    b if expand is None else b[expand]
                    for b in _bisections(w, px, py, graph, k, seed)
                )
                continue
            for tolerance in (0.05, 0.12):
                low, high = target * (1 - tolerance), target * (1 + tolerance)
                labels = exactly_k(
                    partition(w, px, py, graph, low=low, high=high, target=target),
                    k,
                    w,
                    px,
                    py,
                    graph,
                )
                out.append(labels if expand is None else labels[expand])
            out.extend(
                b if expand is None else b[expand] for b in _bisections(w, px, py, graph, k, seed)
            )
        return out

    def score(labels: np.ndarray, k: int) -> dict[str, float]:
        return _score(labels, atoms, edges, k, centres, nb, edge_classes, class_weights)

    def scored_for(k: int) -> list[tuple[np.ndarray, dict[str, float]]]:
        scored = []
        seen: set[tuple[int, ...]] = set()
        for labels in candidates_for(k):
            if labels.max() + 1 != k:
                continue
            labels = _balance(
                labels,
                weights,
                nb,
                k,
                good_enough=0.05,
                low=rules.min_households,
                high=rules.split_households,
            )
            key = _canonical(labels)
            if key in seen:
                continue
            seen.add(key)
            scored.append((labels, score(labels, k)))
        scored.sort(key=rank_key)
        # The best few made more compact, as long as they stay as balanced (or within 5 %)
        # and as much on roads, rivers and walls (or at least 90 %).
        for labels, s in [item for item in scored if _feasible(item[1])][:_COMPACTED]:
            tighter = _tighten(
                labels,
                graph,
                k,
                max_deviation=max(s["max_deviation"], 0.05),
                min_barrier_share=min(s["barrier_share"], 0.9),
                low=rules.min_households,
                high=rules.split_households,
            )
            key = _canonical(tighter)
            if key not in seen:
                seen.add(key)
                scored.append((tighter, score(tighter, k)))
        scored.sort(key=rank_key)
        return scored

    def rank_key(item: tuple[np.ndarray, dict[str, float]]) -> tuple[float, ...]:
        s = item[1]
        return (
            0.0 if _feasible(s) else 1.0,
            0.0 if in_range(item[0], int(item[0].max()) + 1) else 1.0,
            s["compounds_cut"],
            max(s["max_deviation"] - 0.05, 0.0) * 10
            + (1 - s["boundary_score"]) * 0.5
            + (1 - s["compactness"]) * 0.5,
        )

    def in_range(labels: np.ndarray, k: int) -> bool:
        sums = np.bincount(labels, weights=weights, minlength=k)
        res = np.bincount(labels, weights=atoms["residents"].to_numpy(dtype=float), minlength=k)
        return bool(
            (sums >= rules.min_households).all()
            and (sums <= rules.split_households).all()
            and (res < rules.must_split_residents).all()
        )

    scored = scored_for(k)
    if parts is None:
        # the smallest k whose best division puts every part in the normal range
        for more in (k + 1,):
            if scored and in_range(scored[0][0], k) or more > populated:
                break
            bigger = scored_for(more)
            if bigger and in_range(bigger[0][0], more):
                k, scored = more, bigger
                break
    if not scored:
        msg = N_(
            "No contiguous division of community {community} into {k} parts was found. Ask for fewer parts."
        )
        raise InfeasibleError(msg, community=community_id, k=k)
    out = []
    for rank, (labels, s) in enumerate(scored[:alternatives], start=1):
        part_frame = _part_frame(atoms, labels, k, rules)
        reasons = _reasons(s, part_frame, rules, tr)
        out.append(
            Alternative(
                rank=rank,
                labels=labels,
                parts=part_frame,
                max_deviation=s["max_deviation"],
                barrier_share=s["barrier_share"],
                compactness=s["compactness"],
                compounds_cut=int(s["compounds_cut"]),
                mean_distance_m=None if math.isnan(s["distance"]) else s["distance"],
                reasons=tuple(notes) + reasons,
                boundary_score=s["boundary_score"],
                new_boundary_m=s["new_boundary_m"],
                boundary_classes={name: s[f"on_{name}"] for name in BOUNDARY_CLASSES},
            )
        )
    return SplitResult(
        community_id=community_id, k=k, alternatives=tuple(out), atoms=atoms, notes=tuple(notes)
    )


def _canonical(labels: np.ndarray) -> tuple[int, ...]:
    mapping: dict[int, int] = {}
    return tuple(mapping.setdefault(int(v), len(mapping)) for v in labels)


def _part_frame(
    atoms: gpd.GeoDataFrame, labels: np.ndarray, k: int, rules: RuleSet
) -> gpd.GeoDataFrame:
    rows = []
    geoms = atoms.geometry.values
    for g in range(k):
        mask = labels == g
        households = int(atoms.loc[mask, "households"].sum())
        rows.append(
            {
                "part": g + 1,
                "households": households,
                "residents": int(round(atoms.loc[mask, "residents"].sum())),
                "special_service_households": int(round(atoms.loc[mask, "special"].sum())),
                "required_staff": math.ceil(households / rules.households_per_worker),
                "geometry": _without_cracks(shapely.union_all(geoms[mask], grid_size=1e-6)),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=atoms.crs)


_CRACK_AREA_M2 = 1.0  # a hole in a part smaller than this is a crack between its atoms


def _without_cracks(geom: shapely.Geometry) -> shapely.Geometry:
    """``geom`` without its holes of less than ``_CRACK_AREA_M2``: the hair-thin cracks
    left where neighbouring atoms do not quite meet (they hold no building and belong to
    no other part, but a GIS counts their edges in the perimeter)."""
    polygons = shapely.get_parts(geom)
    kept = []
    for polygon in polygons:
        if shapely.get_type_id(polygon) != 3:  # not a polygon: leave as it is
            kept.append(polygon)
            continue
        holes = [r for r in polygon.interiors if shapely.Polygon(r).area >= _CRACK_AREA_M2]
        kept.append(shapely.Polygon(polygon.exterior, holes))
    if len(kept) == 1:
        return kept[0]
    return shapely.union_all(kept, grid_size=1e-6)


def _reasons(
    s: dict[str, float], parts: gpd.GeoDataFrame, rules: RuleSet, tr: object
) -> tuple[str, ...]:
    gettext = tr  # type: ignore[assignment]
    sizes = ", ".join(str(int(h)) for h in parts["households"])
    reasons = [
        gettext(N_("parts of {sizes} households; the largest is {dev:.1%} from the mean")).format(
            sizes=sizes, dev=s["max_deviation"]
        ),
        *_boundary_reasons(s, rules, gettext),
        gettext(N_("mean compactness (Polsby–Popper) {pp:.2f}")).format(pp=s["compactness"]),
    ]
    if s["compounds_cut"]:
        reasons.append(gettext(N_("{n} compounds are divided")).format(n=int(s["compounds_cut"])))
    else:
        reasons.append(gettext(N_("no compound is divided")))
    in_range = parts["households"].between(rules.min_households, rules.split_households).all()
    if not in_range:
        reasons.append(
            gettext(N_("some parts fall outside the normal {low}–{high} households")).format(
                low=rules.min_households, high=rules.split_households
            )
        )
    if s["max_deviation"] > 0.10:
        reasons.append(gettext(N_("the blocks and compounds are too coarse to balance within 10%")))
    if not math.isnan(s["distance"]):
        reasons.append(
            gettext(N_("households are on average {d:.0f} m from a service centre")).format(
                d=s["distance"]
            )
        )
    return tuple(reasons)


_CLASS_LABELS: dict[str, str] = {
    "street": N_("streets"),
    "railway": N_("railways"),
    "river": N_("rivers"),
    "wall": N_("walls"),
    "service_road": N_("service roads"),
    "path": N_("footways and paths"),
}


def _boundary_reasons(
    s: dict[str, float], rules: RuleSet, gettext: object
) -> list[str]:
    """Which classes the new boundary follows, and how the minor ones were counted."""
    tr = gettext  # type: ignore[assignment]
    cut = s.get("new_boundary_m", 0.0)
    if cut <= 0:
        return [tr(N_("the parts share no new boundary"))]
    shares = {name: s.get(f"on_{name}", 0.0) / cut for name in BOUNDARY_CLASSES}
    items = [
        f"{tr(_CLASS_LABELS[name])} {share:.0%}"
        for name, share in shares.items()
        if share >= 0.005
    ]
    none = max(0.0, 1.0 - sum(shares.values()))
    length = f"{cut:,.0f}"
    if not items:
        out = [tr(N_("the new boundary ({length} m) follows no road, river or wall")).format(
            length=length
        )]
    elif none >= 0.005:
        out = [
            tr(
                N_(
                    "the new boundary ({length} m) follows {classes}; {none:.0%} follows no road, "
                    "river or wall"
                )
            ).format(length=length, classes=tr(N_(", ")).join(items), none=none)
        ]
    else:
        out = [
            tr(N_("the new boundary ({length} m) follows {classes}")).format(
                length=length, classes=tr(N_(", ")).join(items)
            )
        ]
    minor = shares["service_road"] + shares["path"]
    weights = dict(zip(BOUNDARY_CLASSES, rules.boundary_weights(), strict=True))
    if minor >= 0.005 and (weights["service_road"] < 1 or weights["path"] < 1):
        out.append(
            tr(
                N_(
                    "counted by class, {share:.0%} of it follows a boundary (a service road "
                    "counts {service:g}, a footway or path {path:g} of a street)"
                )
            ).format(
                share=s["boundary_score"], service=weights["service_road"], path=weights["path"]
            )
        )
    return out


def bootstrap_communities(
    buildings: gpd.GeoDataFrame,
    *,
    study_area: shapely.Geometry,
    roads: gpd.GeoDataFrame | None = None,
    waterways: gpd.GeoDataFrame | None = None,
    barriers: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    district_code: str = "000000",
    street_code: str = "000",
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Group a study area with no community layer into communities of the normal size.

    A starting plan for the planner to edit: the study area is divided like an oversized
    community (the best alternative), and the parts are numbered as communities
    ``district_code + street_code + 001…``.

    Examples
    --------
    >>> from gis import datasets
    >>> from planning.communities import load
    >>> plan = load(datasets.get_path("beijing"))
    >>> p = plan.project
    >>> c = bootstrap_communities(p.buildings, study_area=p.study_area, roads=p.roads,
    ...                           waterways=p.waterways, compounds=p.compounds)
    >>> len(c), int(c["households"].sum())
    (2, 9762)
    """
    rules = rules or get_preset()
    area = gpd.GeoDataFrame(
        {"community_id": ["study_area"]}, geometry=[study_area], crs=STORAGE_CRS
    )
    total = int(buildings["households"].sum())
    prefix = f"{district_code:0>6}"[:6] + f"{street_code:0>3}"[:3]
    if total <= rules.split_households:
        return area.assign(community_id=prefix + "001", households=total)
    result = propose_splits(
        buildings,
        community=area,
        roads=roads,
        waterways=waterways,
        barriers=barriers,
        compounds=compounds,
        rules=rules,
        alternatives=1,
        seed=seed,
    )
    parts = result.alternatives[0].parts.to_crs(STORAGE_CRS)
    parts["community_id"] = [f"{prefix}{int(p):03d}" for p in parts["part"]]
    parts["name"] = [f"社区 {int(p)}" for p in parts["part"]]
    return parts[
        [
            "community_id",
            "name",
            "households",
            "residents",
            "special_service_households",
            "geometry",
        ]
    ]
