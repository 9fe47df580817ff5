"""networkx's greedy coloring next to ours, for ``sparsead bench --compare networkx``.

Fed by the CLI with the pattern of each (matrix, problem): builds the graph
networkx's distance-1 greedy coloring sees for that problem once, times the
build apart from the coloring, and refuses graphs over an edge budget that is
checked in O(nnz) before anything is built (networkx keeps a few hundred bytes
per edge, and the distance-2 graph of a pattern with a dense row has n^2).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

#: Largest graph (edges, estimated before building) handed to networkx by ``--compare``.
NETWORKX_EDGE_BUDGET = 2_000_000
#: networkx ``greedy_color`` strategy for each order it has an equivalent of.
NETWORKX_STRATEGIES = {
    "natural": lambda G, colors: sorted(G),
    "largest_first": "largest_first",
    "smallest_last": "smallest_last",
    "random": "random_sequential",
}


def _networkx_edges(pattern, problem):
    """An upper bound on the edges of the graph networkx colors for ``problem`` (None: n/a).

    Cheap (O(nnz)): the sum over the shared rows (columns, vertices) of the
    squared degrees bounds the pairs at distance two, before anything is built.
    """
    if problem == "distance1":
        return pattern.nnz
    if problem == "column":
        deg = np.diff(pattern.indptr)
    elif problem == "row":
        deg = np.bincount(pattern.indices, minlength=pattern.shape[1])
    elif problem == "distance2":
        deg = np.diff(pattern.indptr) + 1
    else:
        return None
    return int(np.sum(deg.astype(np.int64) ** 2))


def _networkx_graph(pattern, problem):
    """The graph networkx's distance-1 greedy coloring sees for ``problem`` (or None)."""
    if problem == "distance1":
        g = pattern
    elif problem == "distance2":
        q = sp.csr_array(pattern, dtype=np.int64) + sp.eye_array(pattern.shape[0], dtype=np.int64)
        g = q @ q
    elif problem == "column":
        q = sp.csr_array(pattern, dtype=np.int64)
        g = q.T @ q
    elif problem == "row":
        q = sp.csr_array(pattern, dtype=np.int64)
        g = q @ q.T
    else:
        return None
    g = sp.coo_array(g)
    off = (g.row != g.col) & (g.data != 0)
    return sp.csr_array((np.ones(off.sum(), dtype=bool), (g.row[off], g.col[off])), shape=g.shape)


class NetworkXRuns:
    """networkx's greedy coloring next to ours: graphs built once per (matrix, problem), timed apart.

    A pattern whose graph would have more than ``budget`` edges (estimated in
    O(nnz) before anything is built) is skipped; networkx keeps a few hundred
    bytes per edge, and a distance-2 graph of a pattern with a dense row has
    n^2 of them.
    """

    def __init__(self, budget):
        self.budget = budget
        self.graphs = {}
        self.skipped = set()

    def graph(self, name, pattern, problem):
        """``(graph, build seconds)``; ``(None, None)`` when n/a or over budget."""
        key = (name, problem)
        if key not in self.graphs:
            edges = _networkx_edges(pattern, problem)
            if edges is None:
                self.graphs[key] = (None, None)
            elif edges > self.budget:
                self.skipped.add((name, problem, edges))
                self.graphs[key] = (None, None)
            else:
                import networkx as nx

                t0 = time.perf_counter()
                graph = nx.from_scipy_sparse_array(_networkx_graph(pattern, problem))
                self.graphs[key] = (graph, time.perf_counter() - t0)
        return self.graphs[key]

    def run(self, name, pattern, problem, order, seed):
        """``(colors, seconds, build seconds)`` of ``networkx.greedy_color``, Nones if n/a."""
        import networkx as nx

        strategy = NETWORKX_STRATEGIES.get(order)
        graph, build = self.graph(name, pattern, problem) if strategy else (None, None)
        if graph is None:
            return None, None, None
        if order == "random":
            def strategy(G, colors):  # noqa: E306 - the seed reaches networkx this way
                return nx.algorithms.coloring.strategy_random_sequential(G, colors, seed=seed)
        t0 = time.perf_counter()
        colors = nx.greedy_color(graph, strategy=strategy)
        seconds = time.perf_counter() - t0
        return (max(colors.values()) + 1 if colors else 0), seconds, build
