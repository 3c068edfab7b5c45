"""Exact grouping of whole atoms into connected 30–50 household grids.

With whole buildings, a zone's households sit on a coarse lattice (a walk-up of 2 units ×
6 floors × 2 flats holds 24; one of 3 units, 36 …) and grouping them is bin packing
under contiguity. A zone (a compound, or the buildings of a street block outside
compounds) rarely has more than ~60 atoms, so the search is exact there:

1. **Columns.** Every connected group of atoms holding at most ``high`` households is
   enumerated (the ESU algorithm of Wernicke 2006, pruned by the households sum).
2. **Cover.** A set-partitioning integer program (HiGHS, through highspy) picks groups that
   cover every atom once, minimising in this order the number of groups outside
   ``low``–``high``, then the distance of each group from ``target`` (households), then a
   compactness cost (the group's second moment of area against a disc's).

The minimum number of groups outside the band is the **data's bound** for the zone: no
grouping of its whole buildings inside it does better.

3. **Lower bound.** Before the search, a bound that ignores contiguity is computed by a
   small pattern program (:func:`packing_bound`: how few groups outside the band any
   grouping of these household counts needs, as in cutting-stock models). It is handed to
   the integer program as a cut, and when a quick sweep already reaches it the sweep is
   kept without a search: its count is then proven the least possible. Together with a
   branch-and-bound node limit and HiGHS's large-neighbourhood heuristics switched off,
   this bounds the work per zone (a grouping of a few dozen walk-ups of 20–24 households
   that must leave one out is a parity argument no linear relaxation sees). A zone too
   large to enumerate is cut first into connected chunks of a few hundred households
   (:func:`chunks`), and the result is then not proven optimal (``exact`` is False).

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
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from planning.partition import components, partition

if TYPE_CHECKING:
    import highspy

__all__ = [
    "Grouping",
    "chunks",
    "connected_bound",
    "connected_groups",
    "group_exact",
    "new_solver",
    "packing_bound",
]

_OUT_WEIGHT = 10_000_000  # one group outside the band outweighs any distance and shape
_DEVIATION_WEIGHT = 1_000  # per household of distance from the target
_GAP_HOUSEHOLDS = 5  # the search stops within this many households' worth of the best
# HiGHS solves each program on one thread: the programs are small, a batch already runs a
# process per core, and a process in which HiGHS never started its worker threads may
# fork its batch workers safely (planning.batch)
_HIGHS_THREADS = 1
_HIGHS_BASE: Mapping[str, object] = MappingProxyType(
    {
        "output_flag": False,
        "threads": _HIGHS_THREADS,
        # the programs are set partitions of a few dozen atoms: HiGHS's symmetry
        # detection found nothing to use and cost a tenth of their time (generated 100k
        # city, 664 programs: 3.9 -> 3.5 s)
        "mip_detect_symmetry": False,
        # the feasibility jump heuristic costs about 5 ms a program to set up, most of a
        # packing bound's time (106 bounds of the generated 100k city: 0.93 -> 0.16 s, the
        # same bounds); on the cover programs it took most of the time and found nothing
        # the root did not
        "mip_heuristic_run_feasibility_jump": False,
    }
)
# The cover program. A node limit, not a time limit: the same data give the same grids on
# a busy machine (the time limit is only a safety net). The sub-MIP heuristics (RINS,
# RENS) run outside the node count and took seconds on a zone that cannot be proven;
# presolve (probing thousands of columns) took much of the time on the rest. Measured
# with the feasibility jump (off in _HIGHS_BASE) on the generated 100k district: 60 -> 15
# CPU s over its 476 zone searches.
_COVER_OPTIONS: Mapping[str, object] = MappingProxyType(
    {
        "presolve": "off",
        "time_limit": 300.0,
        "mip_rel_gap": 1e-3,
        "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False,
        # a sub-MIP on the root's reduced costs: 20 % of the time on the generated city's
        # zones, the same groupings without it
        "mip_heuristic_run_root_reduced_cost": False,
    }
)


@dataclass(frozen=True)
class _Solved:
    """What HiGHS found.

    The values (None when it found no feasible point), whether they are proven optimal,
    and the objective.
    """

    x: np.ndarray | None
    optimal: bool
    objective: float


def _highs(
    cost: np.ndarray,
    matrix: object,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    upper: float = math.inf,
    options: Mapping[str, object] = MappingProxyType({}),
    start: np.ndarray | None = None,
    solver: highspy.Highs | None = None,
) -> _Solved:
    """Solve one integer program with HiGHS, through highspy.

    Minimises ``cost @ x`` over integer ``0 <= x <= upper`` with
    ``row_lower <= matrix @ x <= row_upper`` (infinite bounds allowed: HiGHS's infinity is
    IEEE's). ``matrix`` is anything ``scipy.sparse.csc_array`` takes. ``start``, a feasible
    point when one is known, lets the search begin with an incumbent: the gap then closes
    at the root where it would otherwise take cuts and branching. SciPy's ``milp`` (the
    same solver) takes no start and sets each option through a checked path that cost
    about a millisecond a program. ``solver``, an instance to reuse, has its model and
    options replaced: a new one takes about half a millisecond to set up, as long as a
    small program takes to solve (the 100k city's 664 programs: 2.47 -> 2.30 s, the same
    solutions).
    """
    import highspy
    from scipy.sparse import csc_array

    a = matrix if isinstance(matrix, csc_array) else csc_array(matrix)
    a.sort_indices()
    n, m = a.shape[1], a.shape[0]
    if solver is None:
        h = highspy.Highs()
    else:
        h = solver
        h.clearModel()
        h.resetOptions()
    for key, value in {**_HIGHS_BASE, **options}.items():
        h.setOptionValue(key, value)
    h.passModel(
        n, m, a.nnz, int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize), 0.0,
        np.asarray(cost, dtype=np.float64), np.zeros(n), np.full(n, float(upper)),
        np.asarray(row_lower, dtype=np.float64), np.asarray(row_upper, dtype=np.float64),
        a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data.astype(np.float64),
        np.ones(n, dtype=np.int32),
    )  # fmt: skip
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(start, dtype=np.float64).tolist()
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible: none found
        return _Solved(None, False, math.inf)
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)
    return _Solved(x, status == highspy.HighsModelStatus.kOptimal, info.objective_function_value)


def new_solver() -> highspy.Highs:
    """Make a HiGHS instance for :func:`group_exact`'s ``solver``.

    One per sequence of searches (a community's), never shared between threads.

    Examples
    --------
    >>> solver = new_solver()
    >>> w = np.array([20.0, 20.0, 30.0])
    >>> found = group_exact(w, np.arange(3.0), np.zeros(3), np.ones(3), [{1}, {0, 2}, {1}],
    ...                     low=30, high=50, solver=solver)
    >>> found.labels.tolist(), found.out_of_band
    ([0, 0, 1], 0)
    """
    import highspy

    return highspy.Highs()


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
        # iterative ESU: (subgraph, its exclusive extension, its closed neighbourhood, sum);
        # a group's atoms in the order they joined (the programs built from the groups
        # sort each column's atoms)
        stack = [((root,), ext, neighbours[root] | {root}, w[root])]
        while stack:
            sub, ext, closed, total = stack.pop()
            ext = list(ext)
            while ext:
                v = ext.pop()
                t = total + w[v]
                if t > high:
                    continue
                new_sub = (*sub, v)
                out.append(new_sub)
                if len(out) >= limit:
                    return out, False
                near = neighbours[v]
                fresh = [u for u in near if u > root and u not in closed]
                stack.append((new_sub, ext + fresh, closed | near, t))
    return out, True


def packing_bound(
    weights: np.ndarray,
    *,
    low: float,
    high: float,
    max_patterns: int = 1_500,
    memo: dict[tuple[float, ...], int] | None = None,
    solver: highspy.Highs | None = None,
) -> int:
    """The fewest groups outside ``low``–``high`` any grouping of ``weights`` needs,
    contiguity ignored (a lower bound for :func:`group_exact`).

    Atoms heavier than ``high`` are groups of their own outside the band. The others are
    packed by a pattern program: integer counts of every multiset of household counts that
    sums into the band, the atoms left over forming groups under ``low`` (at least their
    sum over ``low`` of them). With more than ``max_patterns`` patterns (many small
    atoms) only the counting bound is used: whether some number of groups can hold the
    total at all.

    Examples
    --------
    >>> packing_bound(np.array([22.0, 22.0, 22.0]), low=30, high=50)  # pairs, one left
    1
    >>> packing_bound(np.array([22.0, 22.0, 24.0, 24.0, 60.0]), low=30, high=50)
    1
    >>> packing_bound(np.array([12.0, 12.0, 12.0, 24.0, 12.0]), low=30, high=50)
    0

    ``memo``, a dict shared by calls with the same band and ``max_patterns``, keeps the
    bound of each multiset of counts (the searches of one community ask for the same
    households' bound again and again as zones are joined and searched with connectors).

    >>> memo = {}
    >>> packing_bound(np.array([22.0, 24.0, 22.0]), low=30, high=50, memo=memo), memo
    (1, {(22.0, 22.0, 24.0): 1})

    ``solver``, a ``highspy.Highs`` instance, is reused for the program (see
    :func:`group_exact`).
    """
    if memo is not None:
        key = tuple(sorted(float(v) for v in np.asarray(weights, dtype=float)))
        if key not in memo:
            memo[key] = packing_bound(
                weights, low=low, high=high, max_patterns=max_patterns, solver=solver
            )
        return memo[key]
    w = np.asarray(weights, dtype=float)
    heavy = int((w > high).sum())
    w = w[(w > 0) & (w <= high)]
    if len(w) == 0:
        return heavy
    total = float(w.sum())
    # counting: k groups hold between k·low and k·high households
    fits = math.floor(total / low + 1e-9) >= math.ceil(total / high - 1e-9)
    if not fits and total < low:
        return heavy + 1
    if fits and _balanced_fit(w, low=low, high=high):
        return heavy  # a packing with every group in the band: nothing to prove
    values, counts = np.unique(w, return_counts=True)
    patterns: list[tuple[int, ...]] = []
    picked = [0] * len(values)
    value_list = [float(v) for v in values]
    count_list = [int(c) for c in counts]
    # households still available from type t on: a branch that cannot reach ``low`` even
    # taking all of them holds no pattern in the band (most of the tree without this)
    rest = [float(v) for v in np.concatenate([np.cumsum((values * counts)[::-1])[::-1], [0.0]])]

    def extend(t: int, room: float) -> bool:
        if len(patterns) > max_patterns:
            return False
        if t == len(value_list):
            patterns.append(tuple(picked))
            return True
        value = value_list[t]
        most = min(count_list[t], int((room + 1e-9) // value))
        for k in range(most, -1, -1):
            left = room - k * value
            if high - left + rest[t + 1] < low - 1e-9:
                break  # fewer of this type only lowers the load further
            picked[t] = k
            if not extend(t + 1, left):
                return False
        picked[t] = 0
        return True

    if not extend(0, high):  # too many patterns: the counting bound
        return heavy + (0 if fits else 1)
    if not patterns:  # nothing fits the band: every group is outside, each under low
        return heavy + max(1, math.ceil(total / low - 1e-9))
    m = len(patterns)
    a = np.array(patterns, dtype=float).T  # types × patterns
    # variables: pattern counts, leftovers per type, groups under the band
    n_t = len(values)
    eq = np.hstack([a, np.eye(n_t), np.zeros((n_t, 1))])
    left = np.concatenate([np.zeros(m), values, [-low]])[None, :]
    cost = np.concatenate([np.zeros(m + n_t), [1.0]])
    found = _highs(
        cost,
        np.vstack([eq, left]),
        np.concatenate([counts.astype(float), [-np.inf]]),
        np.concatenate([counts.astype(float), [0.0]]),
        options={"mip_max_nodes": 2_000, "time_limit": 60.0},
        solver=solver,
    )
    if not found.optimal:  # not proven: the counting bound
        return heavy + (0 if fits else 1)
    return heavy + max(int(round(found.objective)), 0 if fits else 1)


def _balanced_fit(weights: np.ndarray, *, low: float, high: float) -> bool:
    """Whether a quick packing puts every atom in a group inside ``low``–``high``
    (contiguity ignored): for a few numbers of groups around the total over the band's
    middle, the heaviest atom first into the lightest group (LPT). A True answer is
    a proof that no group need be outside; False proves nothing."""
    import heapq

    order = sorted((float(v) for v in weights), reverse=True)
    total = sum(order)
    least = max(1, math.ceil(total / high - 1e-9))
    most = math.floor(total / low + 1e-9)
    middle = total / ((low + high) / 2)
    for k in sorted(range(least, most + 1), key=lambda k: (abs(k - middle), k))[:3]:
        loads = [0.0] * k
        for v in order:
            heapq.heapreplace(loads, loads[0] + v)
        if loads[0] >= low - 1e-9 and max(loads) <= high + 1e-9:
            return True
    return False


def connected_bound(
    weights: np.ndarray,
    neighbours: list[set[int]],
    *,
    low: float,
    high: float,
    optional: np.ndarray | None = None,
    memo: dict[tuple[float, ...], int] | None = None,
    solver: highspy.Highs | None = None,
) -> int:
    """The fewest groups outside ``low``–``high`` any connected grouping needs.

    The :func:`packing_bound` of each connected part of the atoms, summed (a group never
    spans two parts). ``optional`` atoms (connectors) join parts but hold no households.

    Examples
    --------
    >>> w = np.array([22.0, 22.0, 22.0, 22.0])
    >>> packing_bound(w, low=30, high=50)  # two pairs, contiguity ignored
    0
    >>> connected_bound(w, [{1}, {0}, set(), set()], low=30, high=50)  # 2 and 3 stand alone
    2
    """
    weights = np.asarray(weights, dtype=float)
    optional = (
        np.zeros(len(weights), dtype=bool) if optional is None else np.asarray(optional, dtype=bool)
    )
    least = 0
    for part in components(np.arange(len(weights)), neighbours):
        homes = part[~optional[part]]
        if len(homes):
            least += packing_bound(weights[homes], low=low, high=high, memo=memo, solver=solver)
    return least


def _alone(weights: np.ndarray, optional: np.ndarray, *, low: float, high: float) -> Grouping:
    """Every household atom its own group (connectors in none)."""
    labels = np.full(len(weights), -1, dtype=int)
    homes = np.flatnonzero(~optional)
    labels[homes] = np.arange(len(homes))
    w = weights[homes]
    return Grouping(labels, int(((w < low) | (w > high)).sum()), False)


class _Flat(NamedTuple):
    """Groups as flat arrays: each group's size, and for every (group, atom) pair the
    group's position and the atom. Built once per search (:func:`_flatten`), where each
    step flattening the list of groups again took a tenth of the search's Python time."""

    lengths: np.ndarray
    owner: np.ndarray
    atoms: np.ndarray

    def take(self, keep: np.ndarray) -> _Flat:
        """The groups at the ascending positions ``keep``, numbered anew."""
        chosen = np.zeros(len(self.lengths), dtype=bool)
        chosen[keep] = True
        pairs = chosen[self.owner]
        renumber = np.cumsum(chosen) - 1
        return _Flat(self.lengths[keep], renumber[self.owner[pairs]], self.atoms[pairs])


def _flatten(groups: list[tuple[int, ...]]) -> _Flat:
    """The groups as flat arrays (:class:`_Flat`).

    Examples
    --------
    >>> flat = _flatten([(0,), (1, 2), (2,)])
    >>> flat.lengths.tolist(), flat.owner.tolist(), flat.atoms.tolist()
    ([1, 2, 1], [0, 1, 1, 2], [0, 1, 2, 2])
    >>> [v.tolist() for v in flat.take(np.array([1, 2]))]
    [[2, 1], [0, 0, 1], [1, 2, 2]]
    """
    lengths = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    owner = np.repeat(np.arange(len(groups)), lengths)
    flat = np.fromiter((a for g in groups for a in g), dtype=np.int64, count=int(lengths.sum()))
    return _Flat(lengths, owner, flat)


def _use_connectors_well(
    groups: _Flat, optional: np.ndarray, neighbours: list[set[int]]
) -> np.ndarray:
    """Whether each group keeps its connectors only where they join two of its atoms (not
    as a leaf), and holds at least one household atom.

    With ``M`` the groups' incidence and ``A`` the adjacency, ``(M A)[g, a]`` counts the
    neighbours of atom ``a`` inside group ``g``: one sparse product for all the groups.
    """
    from scipy.sparse import csr_array

    n, count = len(optional), len(groups.lengths)
    _, owner, flat = groups
    leaf = optional[flat]
    homes = np.bincount(owner, weights=~leaf, minlength=count)
    degree = np.fromiter((len(nb) for nb in neighbours), dtype=np.int64, count=n)
    edges = int(degree.sum())
    other = np.fromiter((b for nb in neighbours for b in nb), dtype=np.int64, count=edges)
    adjacency = csr_array(
        (np.ones(edges), (np.repeat(np.arange(n), degree), other)), shape=(n, n)
    )
    incidence = csr_array((np.ones(len(flat)), (owner, flat)), shape=(count, n))
    inside = (incidence @ adjacency)[owner[leaf], flat[leaf]]
    inside = np.ravel(inside.toarray() if hasattr(inside, "toarray") else inside)
    alone = np.bincount(owner[leaf], weights=inside < 2, minlength=count)
    return (homes > 0) & (alone == 0)


def _group_costs(
    groups: _Flat,
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
    _, owner, flat = groups
    count = len(groups.lengths)
    total = np.bincount(owner, weights=weights[flat], minlength=count)
    a = area[flat]
    big_a = np.bincount(owner, weights=a, minlength=count)
    safe = np.maximum(big_a, 1e-9)
    cx = np.bincount(owner, weights=a * x[flat], minlength=count) / safe
    cy = np.bincount(owner, weights=a * y[flat], minlength=count) / safe
    spread = a * ((x[flat] - cx[owner]) ** 2 + (y[flat] - cy[owner]) ** 2) + own_moment[flat]
    moment = np.bincount(owner, weights=spread, minlength=count)
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
    groups: _Flat | list[tuple[int, ...]],
    cost: np.ndarray,
    *,
    nodes: int,
    optional: np.ndarray | None = None,
    out: np.ndarray | None = None,
    at_least_out: int = 0,
    at_most_out: int | None = None,
    start: list[int] | None = None,
    solver: highspy.Highs | None = None,
) -> tuple[list[int], bool]:
    """Pick groups covering every atom exactly once at least cost.

    A set-partitioning integer program solved by HiGHS (:func:`_highs`); its
    linear relaxation is nearly always integral here, so it takes milliseconds. With
    ``out`` (the groups outside the band) and ``at_least_out`` (a proven lower bound on
    how many of them any cover needs, :func:`packing_bound`), that bound is a cut; with
    ``at_most_out``, covers with more groups outside the band are not wanted (when there
    is none, the single atoms are returned, not proven). ``start``, positions of groups
    forming a cover already known, is the search's first incumbent.
    """
    from scipy.sparse import csc_array

    # the groups are the columns: built column-wise, with the count of groups outside the
    # band as a last row where it is constrained
    lengths, _, atoms = groups if isinstance(groups, _Flat) else _flatten(groups)
    columns = len(lengths)
    lower = np.ones(n) if optional is None else np.where(optional, 0.0, 1.0)
    upper = np.ones(n)
    counted = np.zeros(columns, dtype=np.int64)
    if out is not None and (at_least_out > 0 or at_most_out is not None):
        counted = np.asarray(out, dtype=np.int64)
        lower = np.append(lower, float(at_least_out))
        upper = np.append(upper, np.inf if at_most_out is None else float(at_most_out))
    indptr = np.concatenate([[0], np.cumsum(lengths + counted)])
    indices = np.empty(indptr[-1], dtype=np.int64)
    shift = np.concatenate([[0], np.cumsum(counted)[:-1]])  # count entries before each column
    indices[np.arange(len(atoms)) + np.repeat(shift, lengths)] = atoms
    indices[indptr[1:][counted > 0] - 1] = n
    matrix = csc_array((np.ones(len(indices)), indices, indptr), shape=(len(lower), columns))
    # scaled so the objective stays well inside double precision
    scale = float(max(np.abs(cost).max(), 1))
    point = None if start is None else np.isin(np.arange(columns), start).astype(float)
    found = _highs(
        cost / scale, matrix, lower, upper, upper=1.0, start=point, solver=solver,
        options={
            **_COVER_OPTIONS,
            "mip_max_nodes": nodes,
            # within a few households of distance (or the shape cost worth as much) of
            # the best: finer differences are not worth a planner's second
            "mip_abs_gap": _GAP_HOUSEHOLDS * _DEVIATION_WEIGHT / scale,
        },
    )  # fmt: skip
    if found.x is None:  # none with at most ``at_most_out`` outside (singletons always fit)
        return np.flatnonzero(lengths == 1).tolist(), False
    return np.flatnonzero(found.x > 0.5).tolist(), found.optimal


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
    per_atom: int = 40,
    wide_groups: int = 3_000,
    fewer_than: int | None = None,
    bounds: dict[tuple[float, ...], int] | None = None,
    solver: highspy.Highs | None = None,
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
    per_atom
        The program is first solved on each atom's ``per_atom`` cheapest groups (and every
        single atom); the full program runs only when that leaves more groups outside
        the band than the lower bound.
    wide_groups
        The full program runs only with at most this many candidate groups. Beyond, its
        root node alone took seconds and proved nothing (a zone of 54 atoms and 3,253
        groups of the generated city: 6.9 CPU s for the same count), so the first
        program's grouping stands, not proven.
    easy_groups
        With more candidate groups than this (many small atoms), the sweep heuristic of
        :func:`planning.partition.partition` is tried first and kept when it leaves no
        group outside the band (no search does better on the count then).
    fewer_than
        Only groupings with fewer groups outside the band than this are wanted (a caller
        that already has one with ``fewer_than``): the programs are constrained so, which
        prunes their search. When there is none the result has at least ``fewer_than``.
    bounds
        A memo of lower bounds shared by searches with the same band
        (:func:`packing_bound`'s ``memo``).
    solver
        A ``highspy.Highs`` instance to solve the integer programs with, one after the
        other (its model and options are replaced each time). Searches that run many
        small programs share one: setting up a new instance takes about as long as a
        small program. Not to be shared between threads.

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
    if (
        fewer_than is not None
        and connected_bound(
            weights, neighbours, low=low, high=high, optional=optional, memo=bounds, solver=solver
        )
        >= fewer_than
    ):
        # no connected grouping has fewer outside the band: each atom alone (a grouping
        # with at least ``fewer_than``, as promised), without a search proving it again
        return _alone(weights, optional, low=low, high=high)
    groups, complete = connected_groups(weights, neighbours, high=high, limit=max_groups)
    if not complete and chunk_households < low:  # still too many: the sweep alone
        return _sweep(weights, np.asarray(x, float), np.asarray(y, float), neighbours,
                      low=low, high=high, target=target, optional=optional)  # fmt: skip
    if not complete:
        return _by_chunks(
            weights, x, y, area, neighbours, own_moment,
            low=low, high=high, target=target, shape_weight=shape_weight,
            max_groups=max_groups, chunk_households=chunk_households, nodes=nodes,
            optional=optional, solver=solver,
        )  # fmt: skip
    flat = _flatten(groups)
    if optional.any():
        flat = flat.take(np.flatnonzero(_use_connectors_well(flat, optional, neighbours)))
    count_groups = len(flat.lengths)
    quick = None
    floor: int | None = None
    if count_groups > easy_groups:
        # Many small atoms (low-rise housing): the sweep heuristic nearly always fits them
        # all in the band; when it reaches the lower bound no search does better on the
        # count.
        quick = _sweep(weights, np.asarray(x, float), np.asarray(y, float), neighbours,
                       low=low, high=high, target=target, optional=optional)  # fmt: skip
        if quick.out_of_band == 0:
            return quick
        floor = packing_bound(weights[~optional], low=low, high=high, memo=bounds, solver=solver)
        if quick.out_of_band <= floor:
            return Grouping(quick.labels, quick.out_of_band, True)
    cost, out = _group_costs(
        flat, weights, np.asarray(x, float), np.asarray(y, float), np.asarray(area, float),
        np.asarray(own_moment, float), low=low, high=high, target=target,
        shape_weight=shape_weight,
    )  # fmt: skip
    budget = nodes if quick is None else min(nodes, 100)
    keep = _cheapest_columns(flat, cost, n, per_atom=per_atom)
    # The cheapest groups of each atom first. When they leave no group outside the band,
    # or as few as the lower bound, the full program could only improve distance and
    # shape a little; the bound (a small program of its own) is computed only then.
    at_most = None if fewer_than is None else fewer_than - 1
    chosen, optimal = _solve_cover(
        n, flat if len(keep) == count_groups else flat.take(keep), cost[keep],
        nodes=budget, optional=optional,
        out=out[keep], at_least_out=floor or 0, at_most_out=at_most, solver=solver,
    )  # fmt: skip
    picked = [int(keep[i]) for i in chosen]
    count = int(out[picked].sum())
    if count and floor is None:
        floor = packing_bound(weights[~optional], low=low, high=high, memo=bounds, solver=solver)
    proven = count == 0 or count <= (floor or 0) or (optimal and len(keep) == count_groups)
    if not proven and count_groups <= wide_groups:
        # the first program's cover is a point of this one: the search starts from it (a
        # zone of 55 atoms: 0.43 -> 0.05 s, where the root's cuts found no better)
        wide, wide_optimal = _solve_cover(
            n, flat, cost, nodes=budget, optional=optional, out=out,
            at_least_out=floor or 0, at_most_out=at_most,
            start=picked if at_most is None or count <= at_most else None, solver=solver,
        )  # fmt: skip
        wide_count = int(out[wide].sum())
        if (wide_count, float(cost[wide].sum())) < (count, float(cost[picked].sum())):
            picked, count = wide, wide_count
        proven = wide_optimal or count <= (floor or 0)
    # each picked group's atoms take its rank among the picked (the groups are disjoint)
    rank = np.full(count_groups, -1, dtype=int)
    rank[picked] = np.arange(len(picked))
    taken = rank[flat.owner] >= 0
    labels = np.full(n, -1, dtype=int)
    labels[flat.atoms[taken]] = rank[flat.owner[taken]]
    found = Grouping(labels, count, proven)
    if quick is not None and quick.out_of_band < found.out_of_band:
        return quick
    return found


def _cheapest_columns(groups: _Flat, cost: np.ndarray, n: int, *, per_atom: int) -> np.ndarray:
    """Positions of every single-atom group and of each atom's ``per_atom`` cheapest
    groups, in their original order."""
    count = len(groups.lengths)
    if count <= per_atom * 2:
        return np.arange(count)
    lengths, owner, atom = groups
    order = np.lexsort((owner, cost[owner], atom))  # by atom, then cost, then position
    atom_sorted = atom[order]
    starts = np.searchsorted(atom_sorted, np.arange(n))
    rank = np.arange(len(order)) - starts[atom_sorted]
    keep = np.zeros(count, dtype=bool)
    keep[owner[order[rank < per_atom]]] = True
    keep[lengths == 1] = True
    return np.flatnonzero(keep)


def chunks(
    weights: np.ndarray, x: np.ndarray, y: np.ndarray, neighbours: list[set[int]], *, size: float
) -> np.ndarray:
    """Chunks of at most about ``size`` households: halve along the longer side at the
    households' median until small enough, then split each half into its connected parts.

    Returns each atom's chunk (0 … k − 1). A zone too large to search whole is searched
    chunk by chunk.

    Examples
    --------
    >>> w = np.full(8, 100.0)  # a row of eight atoms of 100 households
    >>> nb = [{j for j in (i - 1, i + 1) if 0 <= j < 8} for i in range(8)]
    >>> chunks(w, np.arange(8.0), np.zeros(8), nb, size=400).tolist()
    [1, 1, 1, 1, 0, 0, 0, 0]
    """
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
    sums = np.bincount(labels, weights=weights)
    for g in np.flatnonzero(sums > high):
        members = np.flatnonzero(labels == g)
        if (weights[members] > 0).sum() > 1:
            # several atoms over the band (three walk-ups of 28 in one grid of 84): no
            # grid, however it counts, holds them; each atom is its own group
            labels[members] = next_label + np.arange(len(members))
            next_label += len(members)
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
    solver: highspy.Highs | None = None,
) -> Grouping:
    """Cut a large zone into connected chunks and group each exactly."""
    chunk = chunks(weights, x, y, neighbours, size=chunk_households)
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
                optional=optional[members], solver=solver,
            )  # fmt: skip
        taken = found.labels >= 0
        labels[members[taken]] = found.labels[taken] + next_label
        next_label += int(found.labels.max()) + 1 if taken.any() else 0
        out += found.out_of_band
    return Grouping(labels, out, False)
