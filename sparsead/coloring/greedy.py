"""The coloring problems: which graph each one colors and which kernel colors it.

Fed by a canonical boolean pattern; :func:`build_graph` makes the graph view
once (the part of the work ColPack calls graph construction), :func:`run` does
one greedy coloring in a given vertex order. Both return raw colors (0-based,
every vertex colored); post-processing and decompression plans live in
:mod:`sparsead.coloring.result`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .._kernels import lazy
from . import graphs

kc = lazy("coloring")  # Numba is imported at the first kernel call

#: Names accepted by ``problem=``.
PROBLEMS = ("column", "row", "distance1", "distance2", "star", "acyclic", "bidirectional")

#: Problems over the adjacency graph of a symmetric pattern.
SYMMETRIC_PROBLEMS = ("distance1", "distance2", "star", "acyclic")

_EMPTY = np.zeros(1, dtype=np.int64)


@dataclass
class ColoringGraph:
    """The graph a problem colors, as the raw arrays the kernels take.

    Neighbours of vertex ``v`` follow ``mode`` (see :mod:`sparsead._kernels.coloring`):
    0 distance-1 in ``a``; 1 two hops ``a`` then ``b`` (bipartite distance-2);
    2 distance-2 in the adjacency graph ``a``.
    """
    kind: str                 # "bipartite" or "adjacency"
    n: int
    ptr_a: np.ndarray
    idx_a: np.ndarray
    ptr_b: np.ndarray
    idx_b: np.ndarray
    mode: int
    pattern: sp.csr_array      # the pattern colored (augmented one for bidirectional)
    adj: graphs.Adjacency | None = None
    extra: dict = field(default_factory=dict)
    #: ``(ptr_a, idx_a, ptr_b, idx_b)`` as int32 for the greedy kernel (None: use the int64 ones)
    narrow: tuple | None = None
    #: more than the largest color a first-fit greedy can give (its scratch size)
    width: int = 0

    def degree_mode(self, distance2: bool) -> int:
        if self.kind == "bipartite":
            return 1
        return 2 if distance2 else 0

    def as_csr(self) -> sp.csr_array:
        """The graph as a boolean ``csr_array`` (what an ``order`` callable receives)."""
        if self.kind == "adjacency":
            a = self.adj
            return sp.csr_array((np.ones(a.idx.size, dtype=bool), a.idx, a.ptr),
                                shape=(a.n, a.n))
        side = "column" if self.extra["side"] == "column" else "row"
        return graphs.intersection_graph(self.extra["source"], side)


def build_graph(p: sp.csr_array, problem: str) -> ColoringGraph:
    """Graph view of canonical pattern ``p`` for ``problem`` (already validated).

    The graphs colored by :func:`~sparsead._kernels.coloring.greedy_color` (column,
    row, distance-1 and distance-2) also get int32 copies of their arrays, as
    ColPack keeps its graphs: the greedy reads them in random order and runs
    faster on half the bytes. The orders and the other kernels read the int64 ones.
    """
    g = _build_graph(p, problem)
    da = int(np.diff(g.ptr_a).max(initial=0))
    db = da if g.ptr_b is g.ptr_a else int(np.diff(g.ptr_b).max(initial=0))
    g.width = min(g.n, (da, da * db, da + da * da)[g.mode]) + 1
    if problem in ("column", "row", "distance1", "distance2") and max(g.n, g.idx_a.size,
                                                                       g.idx_b.size) < 2 ** 31:
        pa, ia = g.ptr_a.astype(np.int32), g.idx_a.astype(np.int32)
        same = g.ptr_b is g.ptr_a
        g.narrow = (pa, ia) + ((pa, ia) if same else (g.ptr_b.astype(np.int32),
                                                       g.idx_b.astype(np.int32)))
    return g


def _build_graph(p, problem):
    if problem in ("column", "row"):
        b = graphs.bipartite(p)
        if problem == "column":
            g = ColoringGraph("bipartite", b.n, b.col_ptr, b.col_idx, b.row_ptr, b.row_idx, 1, p)
        else:
            g = ColoringGraph("bipartite", b.m, b.row_ptr, b.row_idx, b.col_ptr, b.col_idx, 1, p)
        g.extra["side"] = problem
        g.extra["source"] = p
        g.extra["bipartite"] = b
        return g
    if problem == "bidirectional":
        h, apos, a = graphs.augmented(p)
        g = ColoringGraph("adjacency", a.n, a.ptr, a.idx, a.ptr, a.idx, 0, h, adj=a)
        g.extra["apos"] = apos
        g.extra["source"] = p
        return g
    return _adjacency_graph(p, 2 if problem == "distance2" else 0)


def _adjacency_graph(p, mode):
    a = graphs.adjacency(p)
    return ColoringGraph("adjacency", a.n, a.ptr, a.idx, a.ptr, a.idx, mode, p, adj=a)


def cover(graph: ColoringGraph, perm: np.ndarray) -> np.ndarray:
    """The rows and columns a bicoloring in the order ``perm`` leaves neutral.

    The implicit cover of ColPack's bicolorings: a vertex of the augmented
    graph is left out (no color, in no seed) when all its neighbours came
    before it in ``perm`` and are in the cover. With a largest-first order the
    dense rows and columns come first and are covered, and the sparse ones
    they leave behind are read from the other side (on an arrowhead: the
    dense row and all columns are covered, the other rows are not, 3 colors).
    In the natural order one whole side comes first (see
    :func:`sparsead.coloring.orders.vertex_order`), the other is left out, and
    the bicoloring is the column (or row) coloring.
    """
    return kc.implicit_cover(graph.ptr_a, graph.idx_a, perm)


def cover_bound(graph: ColoringGraph, neutral: np.ndarray) -> int:
    """A lower bound on the colors of a bicoloring that leaves ``neutral`` out.

    The neighbours of a neutral row (column) are read from distinct column
    (row) colors, so each side needs at least the largest degree of a neutral
    vertex of the other side.
    """
    n = graph.extra["source"].shape[1]
    deg = np.diff(graph.ptr_a)
    left = deg[neutral]
    side = np.flatnonzero(neutral) >= n
    return int(left[~side].max(initial=0) + left[side].max(initial=0))


def bicoloring_bounds(graph: ColoringGraph, raw: np.ndarray) -> tuple[int, int]:
    """``(lo, hi)``: bounds, in O(nnz), on the colors a bicoloring keeps after post-processing.

    ``lo``: an entry next to a neutral row (column) can only be read from the
    color of its column (row), the neutral vertex has none, so those colors are
    read whatever post-processing does (the natural order's bicoloring, a column
    coloring, meets this bound). ``hi``: post-processing only drops colors, so
    the raw colors used on each side; with ``postprocess=False`` the count.
    """
    lo, hi = kc.read_colors(graph.ptr_a, graph.idx_a, raw, graph.extra["source"].shape[1])
    return int(lo), int(hi)


def read_bound(graph: ColoringGraph, raw: np.ndarray) -> int:
    """The lower bound of :func:`bicoloring_bounds`."""
    return bicoloring_bounds(graph, raw)[0]


def run(graph: ColoringGraph, problem: str, perm: np.ndarray, method: str = "star",
        limit: int | None = None):
    """Color ``graph`` greedily in the order ``perm``.

    Returns ``(colors, tree_root)``; ``tree_root`` is the per-edge root of the
    two-colored trees for acyclic colorings and None otherwise. With
    ``limit``, a bicoloring that provably needs more than ``limit`` colors is
    not computed and ``(None, None)`` is returned.
    """
    if graph.n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(graph.idx_a.size, dtype=np.int64)
    if problem not in ("bidirectional", "star", "acyclic"):
        arrays = graph.narrow or (graph.ptr_a, graph.idx_a, graph.ptr_b, graph.idx_b)
        return kc.greedy_color(*arrays, graph.mode, perm, graph.n, graph.width), None
    if problem == "bidirectional":
        kind, bipartite, neutral = method, True, cover(graph, perm)
        if limit is not None and cover_bound(graph, neutral) > limit:
            return None, None
    else:
        kind, bipartite, neutral = problem, False, np.zeros(graph.n, dtype=np.bool_)
    if kind == "star":
        return kc.star_color(graph.ptr_a, graph.idx_a, perm, bipartite, neutral), None
    return kc.acyclic_color(graph.ptr_a, graph.idx_a, graph.adj.eid, perm, bipartite, neutral)
