"""The grid search's integer programs through highspy (planning.grouping._highs)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.grouping import _highs, _solve_cover


def _brute_cover(n: int, groups: list[tuple[int, ...]], cost: np.ndarray) -> float:
    """The cheapest exact cover of ``n`` atoms by ``groups``, by enumeration."""
    best = np.inf
    for k in range(1, n + 1):
        for pick in itertools.combinations(range(len(groups)), k):
            atoms = [a for i in pick for a in groups[i]]
            if len(atoms) == n and len(set(atoms)) == n:
                best = min(best, float(cost[list(pick)].sum()))
    return best


@st.composite
def _covers(draw: st.DrawFn) -> tuple[int, list[tuple[int, ...]], np.ndarray]:
    n = draw(st.integers(2, 6))
    pairs = draw(
        st.lists(
            st.lists(st.integers(0, n - 1), min_size=2, max_size=3, unique=True),
            max_size=8,
        )
    )
    # every atom alone too, so a cover always exists
    groups = sorted({tuple(sorted(p)) for p in pairs} | {(a,) for a in range(n)})
    cost = np.array(draw(st.lists(st.integers(1, 50), min_size=len(groups), max_size=len(groups))))
    return n, groups, cost.astype(float)


@settings(max_examples=60, deadline=None)
@given(_covers())
def test_the_cover_program_finds_the_cheapest_cover(case):
    n, groups, cost = case
    picked, optimal = _solve_cover(n, groups, cost * 1_000_000, nodes=1_000)
    atoms = sorted(a for i in picked for a in groups[i])
    assert atoms == list(range(n))  # a partition of the atoms
    assert optimal
    assert float(cost[picked].sum()) == _brute_cover(n, groups, cost)


@settings(max_examples=30, deadline=None)
@given(_covers(), st.data())
def test_a_start_point_leaves_the_optimum_unchanged(case, data):
    """A feasible start (the singletons) or an infeasible one (a random pick, usually
    overlapping) is only a hint: the optimum is the same."""
    n, groups, cost = case
    singles = [i for i, g in enumerate(groups) if len(g) == 1]
    plain, _ = _solve_cover(n, groups, cost * 1_000_000, nodes=1_000)
    for start in (singles, data.draw(st.lists(st.integers(0, len(groups) - 1), max_size=4))):
        again, optimal = _solve_cover(n, groups, cost * 1_000_000, nodes=1_000, start=start)
        assert optimal
        assert float(cost[again].sum()) == float(cost[plain].sum())


def test_an_infeasible_program_returns_no_point():
    # x0 + x1 == 1 and x0 + x1 == 2 together
    found = _highs(np.ones(2), np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 2.0]),
                   np.array([1.0, 2.0]), upper=1.0)  # fmt: skip
    assert found.x is None and not found.optimal


def test_the_general_integer_program():
    """Integer variables without an upper bound (the packing bound's pattern counts):
    3x + 5y >= 13 at least cost 2x + 3y is x=1, y=2 (8), not the relaxation's 7.8."""
    found = _highs(np.array([2.0, 3.0]), np.array([[3.0, 5.0]]), np.array([13.0]),
                   np.array([np.inf]))  # fmt: skip
    assert found.optimal
    assert found.x is not None and found.x.tolist() == [1.0, 2.0]
    assert found.objective == 8.0


_BOTH = """
import numpy as np
{first}
{second}
from planning.grouping import _solve_cover
from ortools.graph.python import min_cost_flow
flow = min_cost_flow.SimpleMinCostFlow()
flow.add_arc_with_capacity_and_unit_cost(0, 1, 5, 2)
flow.set_node_supply(0, 3)
flow.set_node_supply(1, -3)
assert flow.solve() == flow.OPTIMAL and flow.optimal_cost() == 6
groups = [(0,), (1,), (2,), (0, 1), (1, 2)]
picked, optimal = _solve_cover(3, groups, np.array([5.0, 5.0, 5.0, 1.0, 9.0]), nodes=100)
assert sorted(picked) == [2, 3] and optimal, picked
print("ok")
"""


def test_highspy_and_ortools_share_one_process_in_either_order():
    """ortools (planning.capacitated) bundles its own libhighs.so.1 and the dynamic loader
    keeps the first library of that name: with another HiGHS version the second import
    fails with an undefined symbol. Both orders, in fresh processes, then both solvers."""
    imports = ("import highspy", "from ortools.sat.python import cp_model")
    for first, second in (imports, imports[::-1]):
        code = _BOTH.format(first=first, second=second)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "ok"
