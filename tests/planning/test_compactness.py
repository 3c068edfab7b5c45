"""The split engine's local search: the climb and the re-division of neighbouring parts.

On lattices of square atoms with snake-shaped starting divisions (connected, balanced and
as far from compact as it gets), the search must make the parts more compact while every
rule still holds.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.partition import is_connected
from planning.split import _AtomGraph, _redivide, _tighten


def _lattice(cols: int, rows: int, seed: int, *, weight: float | None = None) -> _AtomGraph:
    """Unit squares with random households (or ``weight`` each); every shared edge, and a
    random share of the edges on a barrier; no compounds."""
    rng = np.random.default_rng(seed)
    n = cols * rows
    edges: dict[tuple[int, int], tuple[float, float]] = {}
    for a in range(n):
        for b in (a + 1, a + cols):
            if b < n and (b == a + cols or b % cols):
                edges[(a, b)] = (1.0, 1.0 if rng.random() < 0.8 else 0.0)
    nb: list[set[int]] = [set() for _ in range(n)]
    links: list[list[tuple[int, float, float]]] = [[] for _ in range(n)]
    for (a, b), (length, on) in edges.items():
        nb[a].add(b)
        nb[b].add(a)
        links[a].append((b, length, on))
        links[b].append((a, length, on))
    weights = rng.integers(20, 60, n).astype(float) if weight is None else np.full(n, weight)
    return _AtomGraph(
        weights=weights,
        area=np.ones(n),
        perimeter=np.full(n, 4.0),
        x=np.arange(n) % cols + 0.5,
        y=np.arange(n) // cols + 0.5,
        edges=edges,
        links=links,
        nb=nb,
        compound=np.full(n, -1),
    )


def _snake(cols: int, rows: int, weights: np.ndarray, k: int) -> np.ndarray:
    """Parts of consecutive atoms along a boustrophedon path: connected, long and thin."""
    path = [
        r * cols + (c if r % 2 == 0 else cols - 1 - c) for r in range(rows) for c in range(cols)
    ]
    total = np.cumsum(weights[path])
    labels = np.empty(len(weights), dtype=int)
    labels[path] = np.minimum((total - weights[path] / 2) * k // total[-1], k - 1).astype(int)
    return labels


def _stats(labels, weights, edges, k):
    sums = np.bincount(labels, weights=weights, minlength=k)
    inside = np.zeros(k)
    cut = on = 0.0
    for (a, b), (length, on_length) in edges.items():
        if labels[a] == labels[b]:
            inside[labels[a]] += length
        else:
            cut += length
            on += on_length
    area = np.bincount(labels, minlength=k).astype(float)
    perimeter = 4 * area - 2 * inside
    pp = float(np.mean(4 * math.pi * area / perimeter**2))
    return sums, pp, (on / cut if cut else 1.0)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(4, 12),
    st.integers(4, 12),
    st.integers(2, 5),
    st.integers(0, 10_000),
    st.sampled_from([0.05, 0.10]),
)
def test_local_search_keeps_every_rule_and_never_loses_compactness(cols, rows, k, seed, deviation):
    graph = _lattice(cols, rows, seed)
    weights = graph.weights
    k = min(k, cols * rows // 4)
    start = _snake(cols, rows, weights, k)
    sums0, pp0, share0 = _stats(start, weights, graph.edges, k)
    mean = weights.sum() / k
    # the snake's own deviation, or the target, whichever is looser
    limit = max(float(np.abs(sums0 - mean).max() / mean), deviation)
    floor = min(share0, 0.5)
    limits = {"max_deviation": limit, "min_barrier_share": floor, "low": 0.0, "high": math.inf}
    for labels in (_redivide(start, graph, k, **limits), _tighten(start, graph, k, **limits)):
        sums, pp, share = _stats(labels, weights, graph.edges, k)
        assert sorted(set(labels.tolist())) == list(range(k))
        assert sums.sum() == weights.sum()
        assert np.abs(sums - mean).max() <= limit * mean + 1e-6
        assert all(is_connected(np.flatnonzero(labels == g).tolist(), graph.nb) for g in range(k))
        assert share >= floor - 1e-9
        assert pp >= pp0 - 1e-9


def test_snakes_become_compact_blocks():
    cols, rows, k = 12, 12, 4
    graph = _lattice(cols, rows, 3, weight=40.0)
    start = _snake(cols, rows, graph.weights, k)
    limits = {"max_deviation": 0.05, "min_barrier_share": 0.0, "low": 0.0, "high": math.inf}
    labels = _tighten(start, graph, k, **limits)
    _, pp0, _ = _stats(start, graph.weights, graph.edges, k)
    _, pp, _ = _stats(labels, graph.weights, graph.edges, k)
    # three-row stripes (PP 0.50 each) become 6 x 6 quadrants or close to them (PP 0.785)
    assert pp0 < 0.51
    assert pp > 0.7


def test_a_compound_in_several_atoms_moves_whole():
    cols, rows, k = 8, 8, 2
    graph = _lattice(cols, rows, 5)
    start = _snake(cols, rows, graph.weights, k)
    members = [10, 11, 18, 19]  # a compound of four atoms, whole in the first part
    graph.compound[members] = 0
    assert len(set(start[members].tolist())) == 1
    limits = {"max_deviation": 0.10, "min_barrier_share": 0.0, "low": 0.0, "high": math.inf}
    labels = _redivide(start, graph, k, **limits)
    assert not np.array_equal(labels, start)
    assert len(set(labels[members].tolist())) == 1
