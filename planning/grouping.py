"""Exact grouping of whole atoms into connected 30–50 household grids.

With whole buildings, a zone's households sit on a coarse lattice (a walk-up of 2 units ×
6 floors × 2 flats holds 24; one of 3 units, 36 …) and grouping them is bin packing
under contiguity. A zone (a compound, or the buildings of a street block outside
compounds) rarely has more than ~60 atoms, so the search is exact there:

1. **Columns.** Every connected group of atoms holding at most ``high`` households is
   enumerated (the ESU algorithm of Wernicke 2006, pruned by the households sum).
2. **Cover.** A set-partitioning integer program (HiGHS, through SciPy) picks groups that
   cover every atom once, minimising in this order the number of groups outside
   ``low``–``high``, then the distance of each group from ``target`` (households), then a
   compactness cost (the group's second moment of area against a disc's).

The minimum number of groups outside the band is the **data's bound** for the zone: no
grouping of its whole buildings inside it does better. A zone too large to enumerate is
cut first into connected chunks of a few hundred households (by
:func:`planning.partition.partition`), and the result is then not proven optimal
(``exact`` is False).

References
----------
S. Wernicke, "Efficient detection of network motifs", IEEE/ACM TCBB 3(4), 2006 (ESU).

Examples
--------
>>> import numpy as np
>>> w = np.array([24.0, 12.0, 24.0, 24.0, 12.0, 24.0])  # a row of six walk-ups
>>> nb = [{1}, {0, 2}, {1, 3}, {2, 4}, {3, 5}, {4}]
>>> found = group_exact(w, np.arange(6.0), np.zeros(6), np.ones(6), nb, low=30, high=50)
>>> sorted(np.bincount(found.labels, weights=w).tolist()), found.out_of_band, found.exact
([36.0, 36.0, 48.0], 0, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planning.partition import components, partition

__all__ = ["Grouping", "connected_groups", "group_exact"]

_OUT_WEIGHT = 10_000_000  # one group outside the band outweighs any distance and shape
_DEVIATION_WEIGHT = 1_000  # per household of distance from the target


@dataclass(frozen=True)
class Grouping:
    """The result of :func:`group_exact`.

    Attributes
    ----------
    labels
        Group of each atom (0 … k − 1).
    out_of_band
        Groups outside ``low``–``high``.
    exact
        Whether the search was complete (the number of groups outside the band is then
        the least any connected grouping of these atoms can reach).
    """

    labels: np.ndarray
    out_of_band: int
    exact: bool


def connected_groups(
    weights: np.ndarray,
    neighbours: list[set[int]],
    *,
    high: float,
    limit: int = 60_000,
) -> tuple[list[tuple[int, ...]], bool]:
    """Every connected set of atoms whose weights sum to at most ``high``.

    Atoms heavier than ``high`` appear alone. Returns the groups and whether the list is
    complete (False when ``limit`` groups were reached).

    Examples
    --------
    >>> groups, complete = connected_groups(np.array([10.0, 20.0, 30.0]), [{1}, {0, 2}, {1}], high=50)
    >>> sorted(groups), complete
    ([(0,), (0, 1), (1,), (1, 2), (2,)], True)
    """
    n = len(weights)
    out: list[tuple[int, ...]] = []
    w = [float(v) for v in weights]
    for root in range(n):
        if len(out) >= limit:
            return out, False
        out.append((root,))
        if w[root] > high:
            continue
        ext = [v for v in neighbours[root] if v > root]
        # iterative ESU: (subgraph, its exclusive extension, its closed neighbourhood, sum)
        stack = [((root,), ext, set(neighbours[root]) | {root}, w[root])]
        while stack:
            sub, ext, closed, total = stack.pop()
            ext = list(ext)
            while ext:
                v = ext.pop()
                t = total + w[v]
                if t > high:
                    continue
                new_sub = (*sub, v)
                out.append(tuple(sorted(new_sub)))
                if len(out) >= limit:
                    return out, False
                fresh = [u for u in neighbours[v] if u > root and u not in closed]
                stack.append((new_sub, ext + fresh, closed | set(neighbours[v]), t))
    return out, True


def _uses_connectors_well(
    group: tuple[int, ...], optional: np.ndarray, neighbours: list[set[int]]
) -> bool:
    """A group keeps a connector only where it joins two of its atoms (not as a leaf), and
    holds at least one household atom."""
    members = set(group)
    if all(optional[a] for a in group):
        return False
    return all(
        not optional[a] or len(neighbours[a] & members) >= 2 for a in group
    )


def _group_costs(
    groups: list[tuple[int, ...]],
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    area: np.ndarray,
    own_moment: np.ndarray,
    *,
    low: float,
    high: float,
    target: float,
    shape_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Integer cost and out-of-band flag of each group."""
    lengths = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    flat = np.fromiter((a for g in groups for a in g), dtype=np.int64, count=int(lengths.sum()))
    owner = np.repeat(np.arange(len(groups)), lengths)
    total = np.bincount(owner, weights=weights[flat], minlength=len(groups))
    a = area[flat]
    big_a = np.bincount(owner, weights=a, minlength=len(groups))
    safe = np.maximum(big_a, 1e-9)
    cx = np.bincount(owner, weights=a * x[flat], minlength=len(groups)) / safe
    cy = np.bincount(owner, weights=a * y[flat], minlength=len(groups)) / safe
    spread = a * ((x[flat] - cx[owner]) ** 2 + (y[flat] - cy[owner]) ** 2) + own_moment[flat]
    moment = np.bincount(owner, weights=spread, minlength=len(groups))
    # a disc has the least second moment for its area: A² / 2π
    shape = np.clip(moment / np.maximum(safe**2 / (2 * math.pi), 1e-9) - 1.0, 0.0, 50.0)
    out = (total < low) | (total > high)
    cost = (
        out.astype(np.int64) * _OUT_WEIGHT
        + np.round(np.abs(total - target) * _DEVIATION_WEIGHT).astype(np.int64)
        + np.round(shape * shape_weight * _DEVIATION_WEIGHT).astype(np.int64)
    )
    return cost, out


def _solve_cover(
    n: int,
    groups: list[tuple[int, ...]],
    cost: np.ndarray,
    *,
    nodes: int,
    optional: np.ndarray | None = None,
) -> tuple[list[int], bool]:
    """Pick groups covering every atom exactly once at least cost.

    A set-partitioning integer program solved by HiGHS (``scipy.optimize.milp``); its
    linear relaxation is nearly always integral here, so it takes milliseconds.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_array

    lengths = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    cols = np.repeat(np.arange(len(groups)), lengths)
    rows = np.fromiter((a for g in groups for a in g), dtype=np.int64, count=int(lengths.sum()))
    matrix = csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, len(groups)))
    # scaled so the objective stays well inside double precision
    scale = float(max(np.abs(cost).max(), 1))
    result = milp(
        c=cost / scale,
        constraints=LinearConstraint(
            matrix,
            lb=np.ones(n) if optional is None else np.where(optional, 0.0, 1.0),
            ub=np.ones(n),
        ),
        integrality=np.ones(len(groups)),
        bounds=Bounds(0, 1),
        # a node limit, not a time limit: the same data give the same grids on a busy
        # machine (the time limit is only a safety net)
        options={"node_limit": nodes, "time_limit": 300.0, "mip_rel_gap": 1e-3},
    )
    if result.x is None:  # pragma: no cover - singletons always fit
        return [i for i, g in enumerate(groups) if len(g) == 1], False
    picked = np.flatnonzero(result.x > 0.5).tolist()
    return picked, bool(result.status == 0)


def group_exact(
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    area: np.ndarray,
    neighbours: list[set[int]],
    *,
    low: float,
    high: float,
    target: float | None = None,
    own_moment: np.ndarray | None = None,
    shape_weight: float = 3.0,
    max_groups: int = 6_000,
    chunk_households: float = 400.0,
    nodes: int = 300,
    easy_groups: int = 400,
    optional: np.ndarray | None = None,
) -> Grouping:
    """Group connected atoms into grids: fewest outside the band, then nearest the target,
    then most compact.

    Parameters
    ----------
    weights
        Households of each atom (all > 0).
    x, y, area
        Centroid and area of each atom (for the compactness cost).
    neighbours
        Rook neighbours of each atom (positions in these arrays).
    low, high, target
        The band and the size aimed at (the middle of the band by default).
    own_moment
        Each atom's own second moment of area about its centroid (a square's
        ``area² / 6`` by default).
    shape_weight
        How many households of distance from the target one unit of the shape cost is
        worth (the shape cost is a group's second moment over a disc's, minus one: 0.05
        for a square, 0.75 for a 1:3 rectangle).
    max_groups
        Enumerate at most this many groups; larger zones are cut into chunks of about
        ``chunk_households`` first (the result is then not proven exact).
    nodes
        Branch-and-bound nodes one integer program may use (a deterministic limit: the
        result is then not proven optimal, and ``exact`` is False).
    optional
        Atoms without households that a group may take to join its atoms (connectors); each
        goes to one group at most, and only where it joins two of the group's atoms.
    easy_groups
        With more candidate groups than this (many small atoms), the sweep heuristic of
        :func:`planning.partition.partition` is tried first and kept when it leaves no
        group outside the band (no search does better on the count then).

    Returns
    -------
    Grouping
    """
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    target = (low + high) / 2 if target is None else target
    if own_moment is None:
        own_moment = np.asarray(area, dtype=float) ** 2 / 6.0
    optional = np.zeros(n, dtype=bool) if optional is None else np.asarray(optional, dtype=bool)
    if n == 0 or optional.all():
        return Grouping(np.full(n, -1, dtype=int), 0, True)
    groups, complete = connected_groups(weights, neighbours, high=high, limit=max_groups)
    if not complete and chunk_households < low:  # still too many: the sweep alone
        return _sweep(weights, np.asarray(x, float), np.asarray(y, float), neighbours,
                      low=low, high=high, target=target, optional=optional)  # fmt: skip
    if not complete:
        return _by_chunks(
            weights, x, y, area, neighbours, own_moment,
            low=low, high=high, target=target, shape_weight=shape_weight,
            max_groups=max_groups, chunk_households=chunk_households, nodes=nodes,
            optional=optional,
        )  # fmt: skip
    if optional.any():
        groups = [g for g in groups if _uses_connectors_well(g, optional, neighbours)]
    quick = None
    if len(groups) > easy_groups:
        # Many small atoms (low-rise housing): the sweep heuristic nearly always fits them
        # all in the band, and then no search can do better on the count.
        quick = _sweep(weights, np.asarray(x, float), np.asarray(y, float), neighbours,
                       low=low, high=high, target=target, optional=optional)  # fmt: skip
        if quick.out_of_band == 0:
            return quick
    cost, out = _group_costs(
        groups, weights, np.asarray(x, float), np.asarray(y, float), np.asarray(area, float),
        np.asarray(own_moment, float), low=low, high=high, target=target,
        shape_weight=shape_weight,
    )  # fmt: skip
    picked, optimal = _solve_cover(
        n, groups, cost, nodes=nodes if quick is None else min(nodes, 100), optional=optional
    )
    labels = np.full(n, -1, dtype=int)
    for label, i in enumerate(picked):
        labels[list(groups[i])] = label
    found = Grouping(labels, int(out[picked].sum()), optimal)
    if quick is not None and quick.out_of_band < found.out_of_band:
        return quick
    return found


def _bisect(
    weights: np.ndarray, x: np.ndarray, y: np.ndarray, neighbours: list[set[int]], *, size: float
) -> np.ndarray:
    """Chunks of at most about ``size`` households: halve along the longer side at the
    households' median until small enough, then split each half into its connected parts."""
    labels = np.zeros(len(weights), dtype=int)
    stack = [np.arange(len(weights))]
    next_label = 0
    while stack:
        members = stack.pop()
        if weights[members].sum() <= size or len(members) <= 1:
            for piece in components(members, neighbours):
                labels[piece] = next_label
                next_label += 1
            continue
        span_x = np.ptp(x[members])
        span_y = np.ptp(y[members])
        key = x[members] if span_x >= span_y else y[members]
        order = members[np.argsort(key, kind="stable")]
        cum = np.cumsum(weights[order])
        cut = int(np.searchsorted(cum, cum[-1] / 2)) + 1
        cut = min(max(cut, 1), len(order) - 1)
        stack.extend([order[:cut], order[cut:]])
    return labels


def _sweep(
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    neighbours: list[set[int]],
    *,
    low: float,
    high: float,
    target: float,
    optional: np.ndarray | None = None,
) -> Grouping:
    """Sweeps cut by dynamic programming (:func:`planning.partition.partition`); groups
    that came out in pieces count as outside the band."""
    labels = partition(weights, x, y, neighbours, low=low, high=high, target=target)
    next_label = int(labels.max()) + 1 if len(labels) else 0
    for g in np.unique(labels):
        for piece in components(np.flatnonzero(labels == g), neighbours)[1:]:
            labels[piece] = next_label  # a group in pieces: each piece its own group
            next_label += 1
    _, labels = np.unique(labels, return_inverse=True)
    sums = np.bincount(labels, weights=weights)
    if optional is not None:  # groups of connectors alone are no groups
        labels = np.where(sums[labels] > 0, labels, -1)
        _, labels = np.unique(labels, return_inverse=True)
        labels = labels - (1 if (sums <= 0).any() else 0)
        sums = np.bincount(labels[labels >= 0], weights=weights[labels >= 0])
    out = int(((sums < low) | (sums > high)).sum())
    return Grouping(labels, out, out == 0)


def _by_chunks(
    weights: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    area: np.ndarray,
    neighbours: list[set[int]],
    own_moment: np.ndarray,
    *,
    low: float,
    high: float,
    target: float,
    shape_weight: float,
    max_groups: int,
    chunk_households: float,
    nodes: int,
    optional: np.ndarray,
) -> Grouping:
    """Cut a large zone into connected chunks and group each exactly."""
    chunk = _bisect(weights, x, y, neighbours, size=chunk_households)
    labels = np.full(len(weights), -1, dtype=int)
    out = 0
    next_label = 0
    for c in np.unique(chunk):
        members = np.flatnonzero(chunk == c)
        local = {int(a): i for i, a in enumerate(members)}
        local_nb = [{local[b] for b in neighbours[a] if b in local} for a in members]
        if len(members) == len(weights) or chunk_households / 2 < low:
            # the chunking could not cut it, or chunks are already small: the sweep
            found = _sweep(weights[members], x[members], y[members], local_nb,
                           low=low, high=high, target=target, optional=optional[members])  # fmt: skip
        else:
            found = group_exact(
                weights[members], x[members], y[members], area[members], local_nb,
                low=low, high=high, target=target, own_moment=own_moment[members],
                shape_weight=shape_weight, max_groups=max_groups,
                chunk_households=chunk_households / 2, nodes=nodes,
                optional=optional[members],
            )  # fmt: skip
        taken = found.labels >= 0
        labels[members[taken]] = found.labels[taken] + next_label
        next_label += int(found.labels.max()) + 1 if taken.any() else 0
        out += found.out_of_band
    return Grouping(labels, out, False)
