"""Vertex orders for the greedy colorings.

Fed by a :class:`Problem graph <sparsead.coloring.greedy.ColoringGraph>`; returns
a permutation of the vertices. Ties are broken exactly as ColPack 1.0 breaks
them (stable buckets for largest-first; back-of-bucket selection and
swap-removal for the dynamic orders), so the same order gives the same colors.
For the bipartite problems the degree of a column (row) is its distance-2
degree, as in ColPack; the ``distance2_*`` variants count degrees at distance
two in an adjacency graph and are aliases of the plain ones for bipartite
problems, whose degree already is a distance-2 degree.
"""

from __future__ import annotations

import numpy as np

from .._errors import ColoringError
from .._kernels import lazy

ko = lazy("orders")  # Numba is imported at the first kernel call

#: Names accepted by ``order=``.
ORDERS = (
    "natural",
    "random",
    "largest_first",
    "smallest_last",
    "incidence_degree",
    "dynamic_largest_first",
    "distance2_largest_first",
    "distance2_smallest_last",
    "distance2_incidence_degree",
)

_DYNAMIC = {"smallest_last": 0, "dynamic_largest_first": 1, "incidence_degree": 2}


def degrees(graph, distance2: bool = False) -> np.ndarray:
    """Degrees used by the orders (distance-2 degrees for bipartite graphs)."""
    mode = graph.degree_mode(distance2)
    if mode == 0:
        return np.diff(graph.ptr_a)
    return ko.neighbourhood_degrees(graph.ptr_a, graph.idx_a, graph.ptr_b, graph.idx_b,
                                    mode, graph.n)


def _natural(graph) -> np.ndarray:
    """The natural order; for a bicoloring, the side with the smaller lower bound first.

    Taken in the natural order a bicoloring covers the side that comes first and
    leaves the other neutral: it is the column (row) coloring. Columns come
    first unless the row coloring's lower bound (the largest column degree) is
    below the column coloring's (the largest row degree).
    """
    n = graph.n
    source = graph.extra.get("source") if graph.kind == "adjacency" else None
    if source is None:
        return np.arange(n, dtype=np.int64)
    cols = source.shape[1]
    deg = np.diff(graph.ptr_a)
    if deg[:cols].max(initial=0) < deg[cols:].max(initial=0):
        return np.concatenate([np.arange(cols, n), np.arange(cols)]).astype(np.int64)
    return np.arange(n, dtype=np.int64)


def vertex_order(graph, order, seed=None) -> tuple[np.ndarray, str]:
    """Permutation of ``graph``'s vertices for ``order`` (a name or a callable)."""
    n = graph.n
    if callable(order):
        perm = order(graph.as_csr())
        name = getattr(order, "__name__", "callable")
        perm = np.asarray(perm)
        if (perm.shape != (n,) or not np.issubdtype(perm.dtype, np.integer)
                or not np.array_equal(np.sort(perm), np.arange(n))):
            raise ColoringError(
                f"`order` callable {name!r} must return a permutation of range({n}) "
                f"(the vertices of the graph it receives), got {perm!r:.80}."
            )
        return np.ascontiguousarray(perm, dtype=np.int64), name
    if n == 0:
        return np.zeros(0, dtype=np.int64), order
    if order == "natural":
        return _natural(graph), order
    if order == "random":
        return np.random.default_rng(seed).permutation(n).astype(np.int64), order
    distance2 = order.startswith("distance2_")
    base = order[len("distance2_"):] if distance2 else order
    deg = degrees(graph, distance2)
    if base == "largest_first":
        return ko.largest_first(deg, _natural(graph)), order
    mode = graph.degree_mode(distance2)
    kind = _DYNAMIC[base]
    if kind == 2 and graph.kind == "bipartite":
        kind = 3
    perm = ko.dynamic_order(graph.ptr_a, graph.idx_a, graph.ptr_b, graph.idx_b, mode,
                            deg, kind)
    return perm, order
