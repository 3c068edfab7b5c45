"""Dividing a graph of weighted atoms into connected groups within a band.

The shared core of the grid and split engines. Atoms (building territories, street
blocks, compounds) have a weight (households), a position, and rook neighbours (they
share an edge, not just a corner). :func:`partition` orders the atoms along several
sweeps — straight and serpentine, in four directions — and for each order cuts it into
consecutive runs by dynamic programming, minimising in this order: runs outside the band,
runs that are not connected (checked incrementally with a union–find), then the distance
from the target and the spread (compactness). The best order wins; single moves of
boundary atoms repair what is left. :func:`exactly_k` then merges or halves groups
until there are exactly ``k`` (one worker patch per worker, one part per new community).

Examples
--------
>>> import numpy as np
>>> w = np.array([30.0, 10.0, 20.0, 40.0]); x = np.arange(4.0); y = np.zeros(4)
>>> nb = [{1}, {0, 2}, {1, 3}, {2}]
>>> np.bincount(partition(w, x, y, nb, low=30, high=50), weights=w).tolist()
[30.0, 30.0, 40.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "components",
    "exactly_k",
    "is_connected",
    "partition",
    "polsby_popper",
    "rook_contacts",
    "rook_neighbours",
]

_OUT = 1_000_000.0  # cost of a run outside the band
_DISCONNECTED = 10_000_000.0  # cost of a run that is not connected


def _orders(x: np.ndarray, y: np.ndarray, weights: np.ndarray, target: float) -> list[np.ndarray]:
    """Candidate orders of atoms: straight sweeps and serpentines in several directions."""
    n = len(x)
    if n <= 1:
        return [np.arange(n)]
    orders: list[np.ndarray] = []
    total = max(float(weights.sum()), 1.0)
    k = max(1.0, total / target)
    for angle in (0.0, 90.0, 45.0, 135.0):
        theta = math.radians(angle)
        u = x * math.cos(theta) + y * math.sin(theta)
        v = -x * math.sin(theta) + y * math.cos(theta)
        orders.append(np.lexsort((v, u)))
        span_v = float(v.max() - v.min())
        span_u = float(u.max() - u.min())
        if span_v <= 0:
            continue
        # serpentine rows about one grid deep: runs of the order become compact blobs
        area = max(span_u * span_v, 1.0)
        for depth_factor in (1.0, 1.6):
            depth = max(math.sqrt(area / k) * depth_factor, 1e-6)
            row = np.floor((v - v.min()) / depth).astype(int)
            direction = np.where(row % 2 == 0, u, -u)
            orders.append(np.lexsort((direction, row)))
    return orders


def _cut(
    order: np.ndarray,
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    neighbours: list[set[int]],
    *,
    low: float,
    high: float,
    target: float,
    scale: float,
) -> tuple[float, list[np.ndarray]]:
    """Optimal cut of one order into consecutive runs (dynamic programming).

    The inner loop is plain Python over lists (NumPy scalars are slower here): for each
    start, the run grows atom by atom with running sums for the size and the spread and
    a union–find over the run's atoms for its connectivity.
    """
    n = len(order)
    seq = order.tolist()
    w = weights[order].tolist()
    xs = x[order].tolist()
    ys = y[order].tolist()
    # neighbours as positions in this order
    position = {a: i for i, a in enumerate(seq)}
    near = [[position[b] for b in neighbours[a] if b in position] for a in seq]
    inf = math.inf
    best = [inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    limit = 2 * high + target
    parent = list(range(n))
    for start in range(n):
        base = best[start]
        if base == inf:
            continue
        total = sx = sy = sxx = 0.0
        components = 0
        for end in range(start, n):
            h = w[end]
            xe, ye = xs[end], ys[end]
            total += h
            sx += h * xe
            sy += h * ye
            sxx += h * (xe * xe + ye * ye)
            parent[end] = end
            components += 1
            for p in near[end]:
                if start <= p < end:
                    ra = end
                    while parent[ra] != ra:
                        ra = parent[ra]
                    rb = p
                    while parent[rb] != rb:
                        parent[rb] = parent[parent[rb]]
                        rb = parent[rb]
                    if ra != rb:
                        parent[ra] = rb
                        components -= 1
            if end > start and (total > high and total - h >= low or total > limit):
                break
            cost = 0.0
            if total < low or total > high:
                cost += _OUT + abs(total - target) * 100
            if components > 1:
                cost += _DISCONNECTED
            if total > 0:
                spread = sxx / total - (sx / total) ** 2 - (sy / total) ** 2
                cost += ((total - target) / target) ** 2 * 20 + spread / scale
            candidate = base + cost
            if candidate < best[end + 1]:
                best[end + 1] = candidate
                back[end + 1] = start
    runs: list[np.ndarray] = []
    end = n
    while end > 0:
        start = back[end]
        runs.append(order[start:end])
        end = start
    return float(best[n]), runs[::-1]


def is_connected(members: Iterable[int], neighbours: list[set[int]]) -> bool:
    members = set(members)
    if len(members) <= 1:
        return True
    start = next(iter(members))
    seen = {start}
    stack = [start]
    while stack:
        a = stack.pop()
        for b in neighbours[a]:
            if b in members and b not in seen:
                seen.add(b)
                stack.append(b)
    return len(seen) == len(members)


def _repair(
    labels: np.ndarray,
    weights: np.ndarray,
    neighbours: list[set[int]],
    *,
    low: float,
    high: float,
    max_rounds: int = 4,
) -> np.ndarray:
    """Single moves of boundary atoms between adjacent groups that reduce the runs out of the band."""
    labels = labels.copy()
    for _ in range(max_rounds):
        sums = pd.Series(weights).groupby(labels).sum()
        bad = {g for g, s in sums.items() if s < low or s > high}
        if not bad:
            break
        improved = False
        for atom in np.argsort(-weights):
            g = labels[atom]
            for other in neighbours[atom]:
                h = labels[other]
                if h == g:
                    continue
                if g not in bad and h not in bad:
                    continue
                new_g, new_h = sums[g] - weights[atom], sums[h] + weights[atom]
                before = (not low <= sums[g] <= high) + (not low <= sums[h] <= high)
                after = (not low <= new_g <= high or new_g == 0 and False) + (
                    not low <= new_h <= high
                )
                if new_g == 0:
                    after = not low <= new_h <= high
                if after >= before:
                    continue
                members = np.flatnonzero(labels == g)
                if len(members) > 1 and not is_connected(set(members) - {atom}, neighbours):
                    continue
                labels[atom] = h
                sums[g], sums[h] = new_g, new_h
                bad = {k for k, s in sums.items() if (s < low or s > high) and s > 0}
                improved = True
                break
        if not improved:
            break
    return labels


def partition(
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    neighbours: list[set[int]],
    *,
    low: float,
    high: float,
    target: float | None = None,
) -> np.ndarray:
    """Divide atoms into connected groups whose weights fall in ``[low, high]``.

    Parameters
    ----------
    weights
        Households (or workload) per atom.
    x, y
        Atom positions (metres), for compactness.
    neighbours
        ``neighbours[i]`` is the set of atoms adjacent to atom ``i``.
    low, high
        The band.
    target
        The preferred group size (the middle of the band by default).

    Returns
    -------
    numpy.ndarray
        A group label per atom (0 … k−1).

    Examples
    --------
    A row of six 20-household walk-ups, each touching the next::

        [20][20][20][20][20][20]

    >>> import numpy as np
    >>> w = np.full(6, 20.0); x = np.arange(6.0); y = np.zeros(6)
    >>> nb = [{j for j in (i - 1, i + 1) if 0 <= j < 6} for i in range(6)]
    >>> labels = partition(w, x, y, nb, low=30, high=50)
    >>> sorted(np.bincount(labels, weights=w).tolist())
    [40.0, 40.0, 40.0]
    """
    n = len(weights)
    if n == 0:
        return np.zeros(0, dtype=int)
    target = target if target is not None else (low + high) / 2
    total = float(weights.sum())
    if total <= high:
        return np.zeros(n, dtype=int)
    extent = max(float(np.ptp(x)) * float(np.ptp(y)), 1.0)
    scale = max(extent / max(total / target, 1.0), 1.0) * 4
    best_cost, best_runs = np.inf, None
    for order in _orders(x, y, weights, target):
        cost, runs = _cut(
            order, weights, x, y, neighbours, low=low, high=high, target=target, scale=scale
        )
        if cost < best_cost:
            best_cost, best_runs = cost, runs
        if cost < _OUT / 10 and len(best_runs or ()) and cost < 5:
            break
    labels = np.zeros(n, dtype=int)
    for g, run in enumerate(best_runs or []):
        labels[run] = g
    if best_cost >= _OUT:
        labels = _repair(labels, weights, neighbours, low=low, high=high)
        _, labels = np.unique(labels, return_inverse=True)
    return labels


def rook_neighbours(geoms: np.ndarray, tolerance: float = 0.01) -> list[set[int]]:
    """Rook adjacency: atoms sharing a boundary of some length (corners do not count)."""
    return rook_contacts(geoms, tolerance)[0]


def rook_contacts(
    geoms: np.ndarray, tolerance: float = 0.01
) -> tuple[list[set[int]], dict[tuple[int, int], float]]:
    """Rook adjacency and the length of each shared boundary.

    Two geometries are neighbours when the boundary of one runs within ``tolerance`` of
    the other for more than half a metre (corners do not count).

    Returns
    -------
    neighbours : list of set of int
        The neighbours of each geometry.
    shared : dict
        The length (in the CRS's unit) of the boundary each pair of neighbours ``(i, j)``,
        ``i < j``, shares.

    Examples
    --------
    >>> import shapely
    >>> boxes = shapely.box([0, 10, 0], [0, 0, 10], [10, 20, 10], [10, 10, 12])
    >>> nb, shared = rook_contacts(boxes)
    >>> nb
    [{1, 2}, {0}, {0}]
    >>> {pair: round(length, 1) for pair, length in shared.items()}
    {(0, 1): 10.0, (0, 2): 10.0}
    """
    geoms = np.asarray(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    keep = left < right
    left, right = left[keep], right[keep]
    # buffer each atom once (not once per pair), with few segments: only lengths matter
    used = np.unique(left)
    buffered = np.empty(len(geoms), dtype=object)
    buffered[used] = shapely.buffer(geoms[used], tolerance, quad_segs=2)
    lengths = shapely.length(shapely.intersection(buffered[left], shapely.boundary(geoms[right])))
    nb: list[set[int]] = [set() for _ in range(len(geoms))]
    shared: dict[tuple[int, int], float] = {}
    for a, b, length in zip(left.tolist(), right.tolist(), lengths.tolist(), strict=True):
        if length > 0.5:
            nb[a].add(b)
            nb[b].add(a)
            shared[a, b] = length
    return nb, shared


def components(members: np.ndarray, neighbours: list[set[int]]) -> list[np.ndarray]:
    members_set = set(members.tolist())
    seen: set[int] = set()
    out = []
    for start in members.tolist():
        if start in seen:
            continue
        comp = [start]
        seen.add(start)
        stack = [start]
        while stack:
            a = stack.pop()
            for b in neighbours[a]:
                if b in members_set and b not in seen:
                    seen.add(b)
                    comp.append(b)
                    stack.append(b)
        out.append(np.array(comp))
    return out


def polsby_popper(geoms: gpd.GeoSeries | np.ndarray) -> np.ndarray:
    """Polsby–Popper compactness 4πA / P² of each geometry (1 for a circle).

    Examples
    --------
    >>> from shapely import box
    >>> round(float(polsby_popper([box(0, 0, 1, 1)])[0]), 3)
    0.785
    """
    values = np.asarray(geoms.values if hasattr(geoms, "values") else geoms, dtype=object)
    area = shapely.area(values)
    perimeter = shapely.length(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(perimeter > 0, 4 * math.pi * area / perimeter**2, 0.0)


def exactly_k(
    labels: np.ndarray,
    k: int,
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    nb: list[set[int]],
) -> np.ndarray:
    """Merge or split connected groups until there are exactly ``k`` (one per worker)."""
    labels = np.unique(labels, return_inverse=True)[1]
    for _ in range(4 * (k + len(labels))):
        count = labels.max() + 1 if len(labels) else 0
        if count == k or count == 0:
            break
        sums = np.bincount(labels, weights=weights, minlength=count)
        if count > k:  # merge the smallest group into its smallest neighbour
            g = int(np.argmin(sums))
            touching = {int(labels[b]) for a in np.flatnonzero(labels == g) for b in nb[a]} - {g}
            if not touching:
                sums[g] = np.inf
                break
            other = min(touching, key=lambda t: sums[t])
            labels[labels == g] = other
        else:  # split the largest group that divides into two connected halves
            for g in np.argsort(-sums):
                members = np.flatnonzero(labels == g)
                halves = _halve(members, weights, x, y, nb)
                if halves is not None:
                    labels[halves] = labels.max() + 1
                    break
            else:
                break
        labels = np.unique(labels, return_inverse=True)[1]
    return labels


def _halve(
    members: np.ndarray, weights: np.ndarray, x: np.ndarray, y: np.ndarray, nb: list[set[int]]
) -> np.ndarray | None:
    """Members of one connected half of a group, or None if it cannot be halved."""
    if len(members) < 2:
        return None
    local = {int(a): i for i, a in enumerate(members)}
    local_nb = [{local[b] for b in nb[a] if b in local} for a in members]
    half = float(weights[members].sum()) / 2
    lab = partition(
        weights[members],
        x[members],
        y[members],
        local_nb,
        low=half * 0.5,
        high=half * 1.5,
        target=half,
    )
    if lab.max() == 1:
        return members[lab == 1]
    for u in (x[members], y[members], x[members] + y[members], x[members] - y[members]):
        order = np.argsort(u, kind="stable")
        cum = np.cumsum(weights[members][order])
        cut = int(np.searchsorted(cum, half)) + 1
        for c in (cut, cut - 1, cut + 1):
            if 0 < c < len(members):
                first, second = set(order[:c].tolist()), set(order[c:].tolist())
                if is_connected(first, local_nb) and is_connected(second, local_nb):
                    return members[order[c:]]
    return None
