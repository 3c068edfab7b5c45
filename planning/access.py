"""Walking access to the community service centre (党群服务中心), along the road layer.

After a split "residents should be closer to their service centre". This module measures it
the way residents walk: along the roads, footpaths and campus service roads of the
``roads`` layer, not as the crow flies.

- :func:`walking_network` turns the roads into a graph: lines are noded where they cross,
  every vertex is a node, and the largest connected piece is kept (a walker cannot reach a
  path drawn apart from the rest). Roads a pedestrian cannot use (railways, motorways,
  ferries) are left out.
- Each building joins the network at the point of the network nearest to its footprint (the
  edge is split there); its walk is that short connector plus the path along the network to
  the connector of its community's service centre (:func:`walking_access`).
- Per community: the household-weighted mean and 90th-percentile walk and the share of
  households within the 5-, 10- and 15-minute life circles of GB/T 50180-2018 (300 / 500 /
  1,000 m: ``RuleSet.walk_5min_m`` …).
- A community without a service centre is said so, and measured to a **recommended site**:
  the candidate point (a network node inside the community or a non-residential building in
  it) that minimises the household-weighted walk — a 1-median, solved exactly by
  :func:`p_median` (an argmin for one site; an integer program with SciPy's HiGHS for more).

Examples
--------
>>> from gis import datasets
>>> from planning.communities import load
>>> plan = load(datasets.get_path("beijing"))
>>> result = access_for(plan)
>>> row = result.communities.iloc[0]
>>> row["centre_source"], bool(row["mean_walk_m"] > row["straight_mean_m"])
('recommended', True)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from gis.crs import to_metric
from gis.errors import InfeasibleError
from gis.i18n import N_, translator
from planning.rules import RuleSet, get_preset

if TYPE_CHECKING:
    from pyproj import CRS

    from planning.communities import Loaded

__all__ = [
    "NOT_WALKABLE",
    "AccessResult",
    "Joins",
    "WalkingNetwork",
    "access_after_split",
    "access_for",
    "p_median",
    "walking_access",
    "walking_network",
    "weighted_quantile",
]

NOT_WALKABLE: frozenset[str] = frozenset(
    {
        "rail",
        "light_rail",
        "subway",
        "tram",
        "monorail",
        "narrow_gauge",
        "motorway",
        "motorway_link",
        "ferry",
        "construction",
        "proposed",
        "abandoned",
        "raceway",
        "bus_guideway",
    }
)
"""Road classes (OSM ``highway``/railway kinds) a pedestrian cannot walk along."""

_NODE_DECIMALS = 3  # vertices closer than 1 mm are one node (noding leaves float noise)
_TIE_M = 0.001  # as near as the nearest within 1 mm: a face along a road, a corner between two


@dataclass(frozen=True)
class WalkingNetwork:
    """A walkable road graph in a metric CRS.

    Attributes
    ----------
    crs
        The metric CRS of every coordinate below.
    xy
        Node coordinates, shape ``(n, 2)``.
    graph
        Symmetric sparse adjacency (CSR) with edge lengths in metres.
    seg_u, seg_v, seg_length
        The straight segments the graph is made of: end nodes and lengths.
    segments
        The segments as LineStrings (for joining points to the network).
    dropped_length_m
        Length of walkable lines left out because they do not connect to the main network.
    total_length_m
        Length of the walkable lines before that.
    """

    crs: Any
    xy: np.ndarray
    graph: sparse.csr_array
    seg_u: np.ndarray
    seg_v: np.ndarray
    seg_length: np.ndarray
    segments: np.ndarray
    dropped_length_m: float
    total_length_m: float
    tree: shapely.STRtree = field(repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    def attach(self, geoms: np.ndarray, *, tie_m: float = _TIE_M) -> Joins:
        """Join geometries to the network at its nearest points.

        A building whose face runs along a road is as near to the road all along that face:
        it joins the road along the whole stretch (``offset_lo`` to ``offset_hi``) and walks
        from whichever end of it is better. A building as near to several roads (within
        ``tie_m``) joins each of them.
        """
        geoms = np.asarray(geoms, dtype=object)
        if not len(geoms):
            empty = np.zeros(0)
            none = empty.astype(np.int64)
            return Joins(none, none, empty, empty, empty, 0)
        pairs, dist = self.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        nearest = np.full(len(geoms), np.inf)
        nearest[pairs[0]] = dist
        found = np.flatnonzero(np.isfinite(nearest))
        reach = nearest[found] + tie_m
        owner, seg = self.tree.query(geoms[found], predicate="dwithin", distance=reach)
        owner = found[owner]
        lines = self.segments[seg]
        connector = shapely.distance(geoms[owner], lines)
        keep = connector <= nearest[owner] + tie_m
        owner, seg, lines, connector = owner[keep], seg[keep], lines[keep], connector[keep]
        # the stretch of each segment within the geometry's nearest distance (plus the tie)
        zone = shapely.buffer(geoms, np.where(np.isfinite(nearest), nearest + tie_m, 0.0))
        stretch = shapely.intersection(lines, zone[owner])
        coords, row = shapely.get_coordinates(stretch, return_index=True)
        at = shapely.line_locate_point(lines[row], shapely.points(coords))
        lo = np.full(len(seg), np.inf)
        hi = np.full(len(seg), -np.inf)
        np.minimum.at(lo, row, at)
        np.maximum.at(hi, row, at)
        empty = ~np.isfinite(lo)  # numerically touching only: the nearest point itself
        if empty.any():
            points = shapely.get_point(shapely.shortest_line(geoms[owner[empty]], lines[empty]), 1)
            lo[empty] = hi[empty] = shapely.line_locate_point(lines[empty], points)
        return Joins(owner, seg.astype(np.int64), lo, hi, connector, len(geoms))

    def distances_from(self, joins: Joins) -> np.ndarray:
        """Return the walking distance (m) from the nearest of some joined points to every node."""
        n = self.n_nodes
        k = len(joins.seg)
        seg, connector = joins.seg, joins.connector
        u, v = self.seg_u[seg], self.seg_v[seg]
        rows = np.concatenate([np.arange(k), np.arange(k)]) + n
        cols = np.concatenate([u, v])
        w = np.concatenate(
            [connector + joins.offset_lo, connector + self.seg_length[seg] - joins.offset_hi]
        )
        w = np.maximum(w, 1e-9)  # csgraph reads an explicit 0 as no edge
        extra = sparse.coo_array((w, (rows, cols)), shape=(n + k, n + k))
        base = sparse.block_diag([self.graph, sparse.csr_array((k, k))], format="csr")
        full = (base + extra + extra.T).tocsr()
        d = csgraph.dijkstra(full, directed=False, indices=np.arange(n, n + k), min_only=True)
        return np.asarray(d[:n])

    def walk(self, d_nodes: np.ndarray, joins: Joins) -> np.ndarray:
        """Return the walk (m) of each joined geometry, given distances to every node."""
        seg = joins.seg
        via_u = joins.offset_lo + d_nodes[self.seg_u[seg]]
        via_v = self.seg_length[seg] - joins.offset_hi + d_nodes[self.seg_v[seg]]
        return joins.reduce(joins.connector + np.minimum(via_u, via_v))


@dataclass(frozen=True)
class Joins:
    """Where geometries join the network: one row per (geometry, nearest segment).

    Attributes
    ----------
    owner
        The geometry each row belongs to (0 … n − 1).
    seg
        The segment.
    offset_lo, offset_hi
        The stretch of the segment (m from its ``seg_u`` end) where the geometry joins it:
        one point, or the length of a building face along the road.
    connector
        The straight distance (m) from the geometry to the segment.
    n
        The number of geometries.
    """

    owner: np.ndarray
    seg: np.ndarray
    offset_lo: np.ndarray
    offset_hi: np.ndarray
    connector: np.ndarray
    n: int

    def take(self, owners: np.ndarray) -> Joins:
        """Return the joins of some geometries, renumbered in the order given."""
        position = np.full(self.n, -1)
        position[owners] = np.arange(len(owners))
        rows = position[self.owner] >= 0
        return Joins(
            position[self.owner[rows]],
            self.seg[rows],
            self.offset_lo[rows],
            self.offset_hi[rows],
            self.connector[rows],
            len(owners),
        )

    def reduce(self, values: np.ndarray) -> np.ndarray:
        """Return the smallest value of each geometry's rows (``inf`` for none)."""
        out = np.full(self.n, np.inf)
        np.minimum.at(out, self.owner, values)
        return out

    def reduce_rows(self, values: np.ndarray) -> np.ndarray:
        """Return the row-wise smallest values of a ``(rows, m)`` array per geometry."""
        out = np.full((self.n, values.shape[1]), np.inf)
        np.minimum.at(out, self.owner, values)
        return out

    def nearest(self) -> np.ndarray:
        """Return the straight distance (m) from each geometry to the network."""
        return self.reduce(self.connector)


def _direct(a: Joins, b: Joins) -> np.ndarray:
    """Return walks straight along a shared segment, ``(a.n, b.n)`` (``inf``: none shared)."""
    out = np.full((a.n, b.n), np.inf)
    if not len(a.seg) or not len(b.seg):
        return out
    order = np.argsort(b.seg, kind="stable")
    left = np.searchsorted(b.seg[order], a.seg, side="left")
    right = np.searchsorted(b.seg[order], a.seg, side="right")
    counts = right - left
    if not counts.sum():
        return out
    ra = np.repeat(np.arange(len(a.seg)), counts)
    rb = order[np.concatenate([np.arange(lo, hi) for lo, hi in zip(left, right, strict=True)])]
    gap = np.maximum.reduce(
        [
            np.zeros(len(ra)),
            b.offset_lo[rb] - a.offset_hi[ra],
            a.offset_lo[ra] - b.offset_hi[rb],
        ]
    )
    value = a.connector[ra] + b.connector[rb] + gap
    np.minimum.at(out, (a.owner[ra], b.owner[rb]), value)
    return out


def _lines(roads: gpd.GeoDataFrame, exclude: Iterable[str]) -> np.ndarray:
    frame = roads
    if "road_class" in frame:
        cls = frame["road_class"].astype("string").str.strip().str.lower()
        frame = frame[~cls.isin(set(exclude)).fillna(False).to_numpy()]
    geoms = frame.geometry.values
    geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))]
    # polygons drawn for squares or plazas walk along their outline
    geoms = np.where(np.isin(shapely.get_type_id(geoms), [3, 6]), shapely.boundary(geoms), geoms)
    parts = shapely.get_parts(geoms)
    parts = parts[np.isin(shapely.get_type_id(parts), [1, 2])]
    return parts


def walking_network(
    roads: gpd.GeoDataFrame,
    *,
    crs: CRS | None = None,
    exclude_classes: Iterable[str] = NOT_WALKABLE,
) -> WalkingNetwork:
    """Build the walkable graph of a roads layer.

    Parameters
    ----------
    roads
        LineStrings (or MultiLineStrings) with an optional ``road_class``.
    crs
        The metric CRS to work in (the layer's CGCS2000 zone by default).
    exclude_classes
        Road classes left out (:data:`NOT_WALKABLE`).

    Returns
    -------
    WalkingNetwork

    Raises
    ------
    InfeasibleError
        If no walkable line is left.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> roads = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)]),
    ...                                    LineString([(50, -50), (50, 50)])], crs=3857)
    >>> net = walking_network(roads, crs=roads.crs)
    >>> net.n_nodes, round(float(net.seg_length.sum()))
    (5, 200)
    """
    metric = to_metric(roads, crs=crs) if crs is not None or roads.crs is not None else roads
    parts = _lines(metric, exclude_classes)
    if not len(parts):
        msg = N_(
            "The roads layer has no line a pedestrian can walk along, so walking distances "
            "cannot be measured. Add the roads, footpaths and service roads (道路) to the project."
        )
        raise InfeasibleError(msg)
    total = float(shapely.length(parts).sum())
    # node where lines cross (a footpath meeting a road mid-way is a junction)
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(parts)))
    coords, owner = shapely.get_coordinates(noded, return_index=True)
    same = owner[1:] == owner[:-1]
    keys = np.round(coords, _NODE_DECIMALS)
    uniq, node = np.unique(keys, axis=0, return_inverse=True)
    node = node.ravel()
    u, v = node[:-1][same], node[1:][same]
    a, b = coords[:-1][same], coords[1:][same]
    length = np.hypot(*(b - a).T)
    keep = u != v
    u, v, length = u[keep], v[keep], length[keep]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((length, hi, lo))
    lo, hi, length = lo[order], hi[order], length[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, length = lo[first], hi[first], length[first]
    n = len(uniq)
    adj = sparse.coo_array((length, (lo, hi)), shape=(n, n))
    _, comp = csgraph.connected_components(adj, directed=False)
    sizes = np.bincount(comp, weights=np.bincount(lo, weights=length, minlength=n), minlength=0)
    main = int(np.argmax(sizes))
    in_main = comp[lo] == main
    old_nodes = np.flatnonzero(comp == main)
    renumber = np.full(n, -1)
    renumber[old_nodes] = np.arange(len(old_nodes))
    lo, hi, length = renumber[lo[in_main]], renumber[hi[in_main]], length[in_main]
    xy = uniq[old_nodes]
    m = len(xy)
    graph = sparse.coo_array(
        (np.concatenate([length, length]), (np.concatenate([lo, hi]), np.concatenate([hi, lo]))),
        shape=(m, m),
    ).tocsr()
    segments = shapely.linestrings(np.stack([xy[lo], xy[hi]], axis=1))
    return WalkingNetwork(
        crs=metric.crs,
        xy=xy,
        graph=graph,
        seg_u=lo,
        seg_v=hi,
        seg_length=length,
        segments=segments,
        dropped_length_m=max(total - float(length.sum()), 0.0),
        total_length_m=total,
        tree=shapely.STRtree(segments),
    )


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Return the smallest value at or below which a share ``q`` of the weight lies.

    Examples
    --------
    >>> weighted_quantile(np.array([100.0, 200.0, 900.0]), np.array([5, 4, 1]), 0.9)
    200.0
    >>> weighted_quantile(np.array([100.0, 200.0, 900.0]), np.array([5, 4, 1]), 0.95)
    900.0
    """
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return float("nan")
    values, weights = values[ok], weights[ok]
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    i = int(np.searchsorted(cum, q * cum[-1] - 1e-9 * cum[-1], side="left"))
    return float(values[order][min(i, len(order) - 1)])


def p_median(costs: np.ndarray, weights: np.ndarray, *, p: int = 1) -> np.ndarray:
    """Choose ``p`` candidate sites minimising the weighted distance to the nearest site.

    Parameters
    ----------
    costs
        ``(demand points, candidates)`` distances; ``inf`` where a candidate cannot be reached.
    weights
        Demand at each point (households).
    p
        Number of sites.

    Returns
    -------
    numpy.ndarray
        The chosen candidate columns, sorted.

    Notes
    -----
    One site is the argmin of the weighted column sums. More sites are the classic p-median
    integer program (ReVelle and Swain 1970), solved exactly with SciPy's HiGHS.

    Examples
    --------
    >>> costs = np.array([[0, 5, 9], [5, 0, 4], [9, 4, 0]], dtype=float)
    >>> p_median(costs, np.array([1, 1, 10]), p=1).tolist()
    [2]
    >>> p_median(costs, np.array([10, 1, 10]), p=2).tolist()
    [0, 2]
    """
    costs = np.asarray(costs, dtype=float)
    weights = np.asarray(weights, dtype=float)
    n, m = costs.shape
    if not 1 <= p <= m:
        msg = N_("Cannot choose {p} sites from {m} candidates. Ask for between 1 and {m}.")
        raise InfeasibleError(msg, p=p, m=m)
    big = np.where(np.isfinite(costs), costs, np.nan)
    penalty = (np.nanmax(big) if np.isfinite(big).any() else 1.0) * 10 + 1
    c = np.where(np.isfinite(costs), costs, penalty)
    if p == 1:
        return np.array([int(np.argmin(weights @ c))])
    from scipy.optimize import Bounds, LinearConstraint, milp

    # x[i, j] (assignment) then y[j] (open); minimise sum w_i c_ij x_ij
    nx = n * m
    objective = np.concatenate([(weights[:, None] * c).ravel(), np.zeros(m)])
    assign = sparse.hstack(
        [sparse.kron(sparse.eye_array(n), np.ones((1, m))), sparse.csr_array((n, m))]
    )
    link = sparse.hstack([sparse.eye_array(nx), -sparse.kron(np.ones((n, 1)), sparse.eye_array(m))])
    count = sparse.hstack([sparse.csr_array((1, nx)), np.ones((1, m))])
    constraints = [
        LinearConstraint(assign, 1, 1),
        LinearConstraint(link, -np.inf, 0),
        LinearConstraint(count, p, p),
    ]
    integrality = np.concatenate([np.zeros(nx), np.ones(m)])
    res = milp(objective, constraints=constraints, integrality=integrality, bounds=Bounds(0, 1))
    if res.x is None:  # pragma: no cover - HiGHS always finds the trivial solution
        msg = N_("The site search found no solution ({status}).")
        raise InfeasibleError(msg, status=res.message)
    return np.flatnonzero(res.x[nx:] > 0.5)


@dataclass(frozen=True)
class AccessResult:
    """Walking access per building and per community.

    Attributes
    ----------
    buildings
        One row per building (same index as the input): ``building_id``, ``community_id``,
        ``households``, ``walk_m`` (along the network to the community's centre),
        ``connector_m`` (the straight leg from the footprint to the network), ``centre``.
    communities
        One row per community: ``community_id``, ``households``, ``centre_source``
        (``given``, ``recommended`` or ``none``), ``centre``, ``mean_walk_m``, ``p90_walk_m``,
        ``share_within_5min``, ``share_within_10min``, ``share_within_15min``,
        ``straight_mean_m`` (the crow-flies mean, for comparison).
    centres
        Points (EPSG:4490) of the centres measured to: ``community_id``, ``centre``,
        ``name``, ``source``, ``mean_walk_m``.
    notes
        Messages for the planner (a community without a centre, lines left out), each a
        ``(msgid, params)`` pair; render with :meth:`messages`.
    network
        The walking network used.
    """

    buildings: pd.DataFrame
    communities: pd.DataFrame
    centres: gpd.GeoDataFrame
    notes: tuple[tuple[str, dict[str, Any]], ...]
    network: WalkingNetwork = field(repr=False)

    def messages(self, lang: str | None = "en") -> list[str]:
        """Return the notes in ``lang``."""
        t = translator(lang)
        return [t.gettext(msgid).format(**params) for msgid, params in self.notes]

    def add_to(self, communities: pd.DataFrame) -> pd.DataFrame:
        """Return a community table with these walking figures (for :mod:`planning.compare`).

        ``mean_distance_m`` becomes the straight-line mean to the same centre; the walking
        mean and the life-circle shares are added by ``community_id``.
        """
        figures = self.communities.set_index("community_id")
        out = communities.copy()
        key = out["community_id"].astype(str)
        out["mean_distance_m"] = key.map(figures["straight_mean_m"]).to_numpy()
        for column in (
            "mean_walk_m",
            "p90_walk_m",
            "share_within_5min",
            "share_within_10min",
            "share_within_15min",
        ):
            out[column] = key.map(figures[column]).to_numpy()
        return out


def _centres_by_community(
    centres: gpd.GeoDataFrame | None, communities: gpd.GeoDataFrame | None, crs: Any
) -> gpd.GeoDataFrame:
    empty = gpd.GeoDataFrame(
        {"community_id": pd.Series(dtype="string"), "name": pd.Series(dtype="string")},
        geometry=gpd.GeoSeries([], crs=crs),
    )
    if centres is None or centres.empty:
        return empty
    c = centres.to_crs(crs).copy()
    c = c[~(c.geometry.is_empty | c.geometry.isna())]
    c["geometry"] = c.geometry.representative_point()
    if "community_id" in c and c["community_id"].notna().all():
        c["community_id"] = c["community_id"].astype(str)
    elif communities is not None and len(communities):
        comm = communities.to_crs(crs)[["community_id", "geometry"]]
        hit = gpd.sjoin(c[["geometry"]], comm, predicate="within", how="left")
        hit = hit[~hit.index.duplicated(keep="first")]["community_id"]
        given = c["community_id"] if "community_id" in c else pd.Series(pd.NA, index=c.index)
        c["community_id"] = given.fillna(hit).astype("string")
    else:
        c["community_id"] = pd.NA
    if "name" not in c:
        c["name"] = pd.NA
    return c


def walking_access(
    buildings: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None = None,
    service_centres: gpd.GeoDataFrame | None = None,
    rules: RuleSet | None = None,
    network: WalkingNetwork | None = None,
    exclude_classes: Iterable[str] = NOT_WALKABLE,
) -> AccessResult:
    """Measure the walk from every building to its community's service centre.

    Parameters
    ----------
    buildings
        Buildings with ``households`` and ``community_id`` (as after
        :func:`planning.communities.load`); ``building_id`` and ``is_residential`` if known.
    roads
        The roads layer (roads, footpaths, service roads).
    communities
        Community polygons with ``community_id``: for centres without a ``community_id``
        and for the candidate sites of communities without a centre.
    service_centres
        Points (or polygons) with ``community_id`` (or found by location) and ``name``.
        A community with several is measured to the nearest of its own.
    rules
        The life-circle distances (``walk_5min_m``, ``walk_10min_m``, ``walk_15min_m``).
    network
        A network already built by :func:`walking_network` (built from ``roads`` otherwise).
    exclude_classes
        Road classes a pedestrian cannot use.

    Returns
    -------
    AccessResult
    """
    rules = rules or get_preset()
    b = to_metric(buildings)
    net = network or walking_network(roads, crs=b.crs, exclude_classes=exclude_classes)
    if network is not None and b.crs != net.crs:
        b = b.to_crs(net.crs)
    crs = net.crs
    if "community_id" not in b:
        b = b.assign(community_id="")
    community = b["community_id"].astype("string").fillna("").to_numpy(dtype=object)
    households = pd.to_numeric(b["households"], errors="coerce").fillna(0).to_numpy(float)
    ids = (
        b["building_id"].astype(str).to_numpy()
        if "building_id" in b
        else b.index.astype(str).to_numpy()
    )
    residential = (
        b["is_residential"].fillna(True).astype(bool).to_numpy()
        if "is_residential" in b
        else households > 0
    )
    geoms = np.asarray(b.geometry.values, dtype=object)
    joins = net.attach(geoms)
    connector = joins.nearest()
    centres = _centres_by_community(service_centres, communities, crs)
    comm_geoms = None
    if communities is not None and len(communities):
        cm = communities.to_crs(crs)
        comm_geoms = dict(zip(cm["community_id"].astype(str), cm.geometry.values, strict=False))
    walk = np.full(len(b), np.nan)
    centre_of = np.full(len(b), None, dtype=object)
    rows: list[dict[str, Any]] = []
    centre_rows: list[dict[str, Any]] = []
    notes: list[tuple[str, dict[str, Any]]] = []
    if net.dropped_length_m > 0.01 * net.total_length_m:
        notes.append(
            (
                N_(
                    "{km:.1f} km of paths ({share:.0%}) do not connect to the main road network "
                    "and were left out of the walking distances."
                ),
                {
                    "km": net.dropped_length_m / 1000,
                    "share": net.dropped_length_m / net.total_length_m,
                },
            )
        )
    for cid in sorted(set(community) - {""}, key=str):
        mine = np.flatnonzero(community == cid)
        own = centres[centres["community_id"].astype("string") == cid]
        source = "given"
        if len(own):
            cpts = np.asarray(own.geometry.values, dtype=object)
            cjoins = net.attach(cpts)
            bjoins = joins.take(mine)
            per_centre = np.stack(
                [
                    net.walk(net.distances_from(cjoins.take(np.array([k]))), bjoins)
                    for k in range(len(own))
                ]
            )
            # a building on the same segment as a centre walks straight along it
            per_centre = np.minimum(per_centre, _direct(bjoins, cjoins).T)
            nearest = np.argmin(per_centre, axis=0)
            w = per_centre[nearest, np.arange(len(mine))]
            names = own["name"].astype("string").fillna("").to_numpy(dtype=object)
            labels = np.array(
                [str(n) if n else f"{cid}#{k + 1}" for k, n in enumerate(names)], dtype=object
            )
            centre_of[mine] = labels[nearest]
            for k in range(len(own)):
                centre_rows.append(
                    {
                        "community_id": cid,
                        "centre": labels[k],
                        "name": names[k] or None,
                        "source": "given",
                        "geometry": cpts[k],
                    }
                )
        else:
            site = _recommend(net, cid, mine, joins, households, residential, geoms, comm_geoms)
            if site is None:
                source = "none"
                w = np.full(len(mine), np.nan)
                notes.append(
                    (
                        N_(
                            "Community {community} has no service centre and no place on the "
                            "road network to recommend one: add its centre to the "
                            "service_centres layer (党群服务中心)."
                        ),
                        {"community": cid},
                    )
                )
            else:
                source = "recommended"
                w, point, label = site
                centre_of[mine] = label
                centre_rows.append(
                    {
                        "community_id": cid,
                        "centre": label,
                        "name": None,
                        "source": "recommended",
                        "geometry": point,
                    }
                )
                notes.append(
                    (
                        N_(
                            "Community {community} has no service centre in the data: its walks "
                            "are measured to the recommended site {site} (the place with the "
                            "shortest household-weighted walk). Add the real centre to the "
                            "service_centres layer (党群服务中心) to measure to it."
                        ),
                        {"community": cid, "site": label},
                    )
                )
        walk[mine] = np.where(np.isfinite(w), w, np.nan)
        rows.append(_summary(cid, w, households[mine], source, rules))
        if centre_rows and centre_rows[-1]["community_id"] == cid:
            for r in centre_rows:
                if r["community_id"] == cid:
                    r["mean_walk_m"] = rows[-1]["mean_walk_m"]
    straight = _straight_means(b, community, households, centre_rows)
    table = pd.DataFrame(rows, columns=_COMMUNITY_COLUMNS[:-1])
    table["straight_mean_m"] = table["community_id"].map(straight).astype(float)
    per_building = pd.DataFrame(
        {
            "building_id": ids,
            "community_id": community,
            "households": households,
            "walk_m": np.round(walk, 1),
            "connector_m": np.round(connector, 1),
            "centre": centre_of,
        },
        index=buildings.index,
    )
    centre_frame = gpd.GeoDataFrame(
        pd.DataFrame(
            centre_rows,
            columns=["community_id", "centre", "name", "source", "mean_walk_m", "geometry"],
        ),
        geometry="geometry",
        crs=crs,
    ).to_crs("EPSG:4490")
    return AccessResult(
        buildings=per_building,
        communities=table,
        centres=centre_frame,
        notes=tuple(notes),
        network=net,
    )


_COMMUNITY_COLUMNS = [
    "community_id",
    "households",
    "centre_source",
    "mean_walk_m",
    "p90_walk_m",
    "share_within_5min",
    "share_within_10min",
    "share_within_15min",
    "straight_mean_m",
]


def _summary(
    cid: str, walk: np.ndarray, households: np.ndarray, source: str, rules: RuleSet
) -> dict[str, Any]:
    ok = np.isfinite(walk) & (households > 0)
    total = float(households[ok].sum())
    row: dict[str, Any] = {
        "community_id": cid,
        "households": round(float(households.sum())),
        "centre_source": source,
    }
    if total <= 0:
        row.update(
            mean_walk_m=np.nan,
            p90_walk_m=np.nan,
            share_within_5min=np.nan,
            share_within_10min=np.nan,
            share_within_15min=np.nan,
        )
        return row
    w, h = walk[ok], households[ok]
    row["mean_walk_m"] = round(float((w * h).sum() / total), 1)
    row["p90_walk_m"] = round(weighted_quantile(w, h, 0.9), 1)
    for key, limit in (
        ("share_within_5min", rules.walk_5min_m),
        ("share_within_10min", rules.walk_10min_m),
        ("share_within_15min", rules.walk_15min_m),
    ):
        row[key] = round(float(h[w <= limit].sum() / total), 4)
    return row


def _straight_means(
    b: gpd.GeoDataFrame,
    community: np.ndarray,
    households: np.ndarray,
    centre_rows: list[dict[str, Any]],
) -> dict[str, float]:
    out: dict[str, float] = {}
    if not centre_rows:
        return out
    pts = np.asarray(b.geometry.representative_point().values, dtype=object)
    for cid in {r["community_id"] for r in centre_rows}:
        mine = community == cid
        cpts = np.array([r["geometry"] for r in centre_rows if r["community_id"] == cid])
        d = shapely.distance(pts[mine][:, None], cpts[None, :]).min(axis=1)
        h = households[mine]
        if h.sum() > 0:
            out[cid] = round(float((d * h).sum() / h.sum()), 1)
    return out


def _demand_to_nodes(
    net: WalkingNetwork, joins: Joins, needed: np.ndarray, *, chunk: int = 256
) -> np.ndarray:
    """Return walks (m) from each joined geometry to the ``needed`` nodes, ``(n, needed)``."""
    seg, connector = joins.seg, joins.connector
    ends = np.unique(np.concatenate([net.seg_u[seg], net.seg_v[seg]]))
    d = np.empty((len(ends), len(needed)))
    for start in range(0, len(ends), chunk):  # bounded memory on a large network
        rows = csgraph.dijkstra(net.graph, directed=False, indices=ends[start : start + chunk])
        d[start : start + chunk] = rows[:, needed]
    du = d[np.searchsorted(ends, net.seg_u[seg])]
    dv = d[np.searchsorted(ends, net.seg_v[seg])]
    lo, hi = joins.offset_lo[:, None], joins.offset_hi[:, None]
    rows = connector[:, None] + np.minimum(lo + du, net.seg_length[seg][:, None] - hi + dv)
    return joins.reduce_rows(rows)


def _recommend(
    net: WalkingNetwork,
    cid: str,
    mine: np.ndarray,
    joins: Joins,
    households: np.ndarray,
    residential: np.ndarray,
    geoms: np.ndarray,
    comm_geoms: dict[str, Any] | None,
) -> tuple[np.ndarray, shapely.Point, str] | None:
    """Return the 1-median site of one community: walks to it, its point and label."""
    demand = mine[households[mine] > 0]
    if not len(demand):
        return None
    area = comm_geoms.get(cid) if comm_geoms else None
    if area is None:
        area = shapely.convex_hull(shapely.union_all(geoms[mine]))
    nodes = np.flatnonzero(shapely.contains_xy(area, net.xy[:, 0], net.xy[:, 1]))
    if not len(nodes):  # no road inside: the network points nearest to the community
        near = net.tree.query_nearest(shapely.point_on_surface(area))
        nodes = np.unique(np.concatenate([net.seg_u[near], net.seg_v[near]]))
    public = mine[~residential[mine]]
    djoins, pjoins = joins.take(demand), joins.take(public)
    needed = np.unique(np.concatenate([nodes, net.seg_u[pjoins.seg], net.seg_v[pjoins.seg]]))
    column = np.full(net.n_nodes, -1)
    column[needed] = np.arange(len(needed))
    to_nodes = _demand_to_nodes(net, djoins, needed)
    costs = [to_nodes[:, column[nodes]]]
    labels = [f"{cid}-N{int(n)}" for n in nodes]
    points = [shapely.points(net.xy[nodes])]
    if len(public):  # a non-residential building of the community could host the centre
        pseg, plo, phi = pjoins.seg, pjoins.offset_lo, pjoins.offset_hi
        per_join = pjoins.connector[None, :] + np.minimum(
            plo[None, :] + to_nodes[:, column[net.seg_u[pseg]]],
            net.seg_length[pseg][None, :] - phi[None, :] + to_nodes[:, column[net.seg_v[pseg]]],
        )
        cost_b = pjoins.reduce_rows(per_join.T).T
        costs.append(np.minimum(cost_b, _direct(djoins, pjoins)))
        labels.extend(f"{cid}-B{int(i)}" for i in public)
        points.append(shapely.point_on_surface(geoms[public]))
    cost = np.hstack(costs)
    choice = int(p_median(cost, households[demand], p=1)[0])
    point = np.concatenate(points)[choice]
    label = labels[choice]
    # walks of every building of the community (non-residential too) to the chosen site
    mjoins = joins.take(mine)
    if choice < len(nodes):
        d_site = csgraph.dijkstra(net.graph, directed=False, indices=int(nodes[choice]))
        return net.walk(d_site, mjoins), point, label
    site = joins.take(np.array([public[choice - len(nodes)]]))
    walks = np.minimum(net.walk(net.distances_from(site), mjoins), _direct(mjoins, site)[:, 0])
    return walks, point, label


def access_for(loaded: Loaded, *, rules: RuleSet | None = None) -> AccessResult:
    """:func:`walking_access` for a project loaded with :func:`planning.communities.load`.

    Raises
    ------
    InfeasibleError
        If the project has no roads layer.
    """
    project = loaded.project
    if project.roads is None or project.roads.empty:
        msg = N_(
            "The project has no roads layer, so walking distances cannot be measured. "
            "Add the roads, footpaths and service roads (道路) to the project."
        )
        raise InfeasibleError(msg)
    return walking_access(
        project.buildings,
        roads=project.roads,
        communities=loaded.communities,
        service_centres=project.service_centres,
        rules=rules or loaded.rules,
    )


def access_after_split(
    loaded: Loaded,
    proposals: gpd.GeoDataFrame,
    *,
    lineage: pd.DataFrame | None = None,
    rank: int | None = None,
    rules: RuleSet | None = None,
) -> AccessResult:
    """Measure walking access as if a proposed split were made (new communities, centres).

    Parameters
    ----------
    loaded
        The project before the split.
    proposals
        The ``proposals`` layer of a plan (from :func:`planning.split.propose_splits` or
        ``gridplan split``): part polygons with ``parent_community_id``, ``part``, ``rank``.
    lineage
        The plan's ``lineage`` (``building_id`` → ``to_community_id``) of that alternative;
        buildings are placed by location where it is missing.
    rank
        The alternative (the best by default).
    rules
        The life-circle distances (the project's rules by default).

    Returns
    -------
    AccessResult
        New communities are ``PARENT-PART`` (as in
        :func:`planning.compare.communities_after_split`); a part with no service centre
        inside is measured to its recommended site.
    """
    project = loaded.project
    if project.roads is None or project.roads.empty:
        msg = N_(
            "The project has no roads layer, so walking distances cannot be measured. "
            "Add the roads, footpaths and service roads (道路) to the project."
        )
        raise InfeasibleError(msg)
    rank = int(proposals["rank"].min()) if rank is None else rank
    parts = proposals[proposals["rank"] == rank].to_crs("EPSG:4490").copy()
    parts["community_id"] = [
        f"{parent}-{int(part)}"
        for parent, part in zip(parts["parent_community_id"], parts["part"], strict=True)
    ]
    parents = set(parts["parent_community_id"].astype(str))
    before = loaded.communities.to_crs("EPSG:4490")
    kept = before[~before["community_id"].astype(str).isin(parents)]
    communities = gpd.GeoDataFrame(
        pd.concat([kept[["community_id", "geometry"]], parts[["community_id", "geometry"]]]),
        crs="EPSG:4490",
    )
    buildings = project.buildings.copy()
    moved = buildings["community_id"].astype(str).isin(parents)
    new_id = pd.Series(pd.NA, index=buildings.index, dtype="string")
    if lineage is not None and len(lineage) and "building_id" in buildings:
        mapping = dict(
            zip(
                lineage["building_id"].astype(str),
                lineage["to_community_id"].astype(str),
                strict=False,
            )
        )
        new_id = buildings["building_id"].astype(str).map(mapping).astype("string")
    if (moved & new_id.isna()).any():
        from planning.communities import assign_by_location

        located = assign_by_location(buildings, parts, id_column="community_id")
        new_id = new_id.fillna(located.astype("string"))
    buildings.loc[moved, "community_id"] = new_id[moved].fillna("").to_numpy()
    centres = project.service_centres
    if centres is not None and len(centres):
        centres = centres.copy()
        if "community_id" in centres:  # a parent's centre now serves the part it stands in
            old = centres["community_id"].astype(str).isin(parents)
            centres.loc[old, "community_id"] = pd.NA
    return walking_access(
        buildings,
        roads=project.roads,
        communities=communities,
        service_centres=centres,
        rules=rules or loaded.rules,
    )
