"""Rook adjacency and shared boundary lengths on tilings whose answer is known."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.partition import rook_contacts, rook_neighbours


@settings(max_examples=40, deadline=None)
@given(
    widths=st.lists(st.floats(0.2, 40.0), min_size=1, max_size=6),
    heights=st.lists(st.floats(0.2, 40.0), min_size=1, max_size=6),
    x0=st.floats(-1e5, 1e5),
    y0=st.floats(-1e5, 1e5),
)
def test_rectangles_share_their_edges(
    widths: list[float], heights: list[float], x0: float, y0: float
) -> None:
    """A lattice of rectangles: horizontal neighbours share their row's height, vertical
    neighbours their column's width; corners and edges of 0.5 m or less do not count, and
    rook_neighbours gives the same neighbours."""
    xs = x0 + np.concatenate([[0.0], np.cumsum(widths)])
    ys = y0 + np.concatenate([[0.0], np.cumsum(heights)])
    cols, rows = len(widths), len(heights)
    boxes = np.array(
        [shapely.box(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(rows) for c in range(cols)]
    )
    expected: dict[tuple[int, int], float] = {}
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols and heights[r] > 0.45:
                expected[i, i + 1] = heights[r]
            if r + 1 < rows and widths[c] > 0.45:
                expected[i, i + cols] = widths[c]
    nb, shared = rook_contacts(boxes)
    # an edge within the tolerance's reach of the half-metre threshold may fall either side
    doubtful = {pair for pair, length in expected.items() if abs(length - 0.5) < 0.05}
    assert set(shared) - doubtful == set(expected) - doubtful
    for pair, length in expected.items():
        if pair in shared:
            assert abs(shared[pair] - length) < 0.05  # the 1 cm buffer's rounded ends
    assert all(i < j for i, j in shared)
    assert nb == [
        {j for pair in shared for j in pair if i in pair and j != i} for i in range(len(boxes))
    ]
    assert rook_neighbours(boxes) == nb
