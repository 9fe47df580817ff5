"""The preparation's shortcuts give exactly what the plain computation gives.

Each shortcut of the order search and of ``mode="auto"`` (an order whose
permutation was already colored, a bicoloring whose read colors already exceed
the best count, the row coloring of a symmetric pattern, the augmented graph
built from the CSC view) is compared with the computation it skips, on random patterns and on patterns with equal degrees everywhere (where
largest-first is the natural order).
"""

import numpy as np
import pytest
import scipy.sparse as sp

import sparsead as sa
from sparsead import coloring as coloring_pkg
from sparsead.coloring import graphs
from sparsead.coloring.greedy import bicoloring_bounds, build_graph, read_bound, run
from sparsead.coloring.orders import vertex_order
from sparsead.coloring.result import build_coloring
from sparsead.coloring.choice import PREFERENCE, PROBLEM, jacobian_candidates, rank
from sparsead.examples import brusselator, brusselator_x0
from sparsead.patterns import banded

ORDER_LISTS = [
    ["natural", "largest_first", "smallest_last"],
    ["largest_first", "natural", "largest_first"],
    ["smallest_last", "natural", "random"],
    ["natural", "natural"],
]


def _patterns():
    rng = np.random.default_rng(7)
    out = [sp.csr_array(rng.random((m, n)) < d) for m, n, d in
           [(9, 7, 0.3), (12, 12, 0.25), (5, 11, 0.5), (1, 6, 0.9), (8, 8, 0.0)]]
    periodic = sp.csr_array(banded(30, 2))                         # equal degrees
    periodic = sp.csr_array(periodic + sp.eye_array(30, k=28) + sp.eye_array(30, k=-28))
    out += [periodic, sa.jacobian_sparsity(brusselator, brusselator_x0(4))]
    for p in out:
        p.sort_indices()
    return out


def _same(a, b):
    assert (a.n_colors, a.order) == (b.n_colors, b.order)
    assert np.array_equal(a.colors, b.colors)
    assert np.array_equal(a.column_colors, b.column_colors)
    assert np.array_equal(a.row_colors, b.row_colors)


@pytest.mark.parametrize("orders", ORDER_LISTS)
@pytest.mark.parametrize("problem", ["column", "row", "bidirectional", "star", "acyclic"])
def test_the_order_search_shortcuts_change_nothing(
        monkeypatch, problem, orders):
    for p in _patterns():
        if problem in ("star", "acyclic") and (p.shape[0] != p.shape[1] or (p != p.T).nnz):
            p = sp.csr_array(p + p.T) if p.shape[0] == p.shape[1] else None
            if p is None:
                continue
            p.sort_indices()
        for improve in (0, 2):
            fast = sa.color(p, problem, orders, seed=1, improve=improve)
            with monkeypatch.context() as mp:
                mp.setattr(coloring_pkg, "_same_order", lambda *a: None)
                mp.setattr(coloring_pkg, "read_bound", lambda graph, raw: 0)
                mp.setattr(coloring_pkg, "bicoloring_bounds", lambda graph, raw: None)
                plain = sa.color(p, problem, orders, seed=1, improve=improve)
            _same(fast, plain)
            distinct = _distinct(p, problem)
            assert np.array_equal(fast.decompress(fast.compress(distinct)).data, distinct.data)


def _distinct(p, problem):
    a = sp.csr_array(p, dtype=float)
    if problem in ("star", "acyclic"):
        co = sp.coo_array(p)
        n = p.shape[0]
        a = sp.csr_array((np.minimum(co.row, co.col) * n + np.maximum(co.row, co.col) + 1.0,
                          (co.row, co.col)), shape=p.shape)
    else:
        a.data[:] = np.arange(1, p.nnz + 1)
    a.sort_indices()
    return a


def test_augmented_graph_matches_its_definition():
    rng = np.random.default_rng(3)
    for _ in range(200):
        m, n = rng.integers(0, 9, 2)
        a = sp.csr_array(rng.random((m, n)) < rng.random())
        h, apos, adj = graphs.augmented(a)
        rows, cols = np.nonzero(a.toarray())
        t = np.arange(rows.size)
        ref = sp.csr_array(sp.coo_array(
            (np.concatenate([t + 1, -(t + 1)]),
             (np.concatenate([n + rows, cols]), np.concatenate([cols, n + rows]))),
            shape=(n + m, n + m)))
        ref.sort_indices()
        assert np.array_equal(h.indptr, ref.indptr) and np.array_equal(h.indices, ref.indices)
        assert np.array_equal(apos, np.where(ref.data > 0, ref.data - 1, ref.data))
        plain = graphs.adjacency(h)
        for name in ("ptr", "idx", "eid", "pattern_pos"):
            assert np.array_equal(getattr(adj, name), getattr(plain, name))
            assert getattr(adj, name).dtype == np.int64


@pytest.mark.parametrize("orders", [["natural", "largest_first", "smallest_last"],
                                    ["largest_first"]])
def test_auto_candidates_choose_what_comparing_all_three_chooses(orders):
    rng = np.random.default_rng(11)
    pats = _patterns()
    for n in (6, 10):
        u = sp.random_array((n, n), density=0.3, rng=rng, format="csr")
        pats.append(sp.csr_array((u + u.T) != 0))                  # symmetric
    pats.append(sp.csr_array(sa.patterns.arrowhead(12)))
    for p in pats:
        p.sort_indices()

        def col(problem):
            return sa.color(p, problem, orders, improve=2)
        cands = jacobian_candidates(p, col)
        every = {mode: col(PROBLEM[mode]) for mode in PREFERENCE}
        got = min(cands, key=lambda k: rank(k, cands[k]))
        want = min(every, key=lambda k: rank(k, every[k]))
        assert got == want
        _same(cands[got], every[want])
        symmetric = p.shape[0] == p.shape[1] and (p != p.T).nnz == 0
        if symmetric:
            assert "reverse" not in cands


@pytest.mark.parametrize("decompression", ["direct", "substitution"])
def test_bicoloring_bounds_hold_the_count(decompression):
    """Entries next to a neutral row (column) are read from their column's (row's) color."""
    method = {"direct": "star", "substitution": "acyclic"}[decompression]
    rng = np.random.default_rng(5)
    met = 0
    for k in range(150):
        m, n = rng.integers(1, 14, 2)
        a = sp.csr_array(rng.random((m, n)) < 0.6 * rng.random())
        graph = build_graph(a, "bidirectional")
        for order in ("natural", "largest_first", "smallest_last", "random"):
            perm, _ = vertex_order(graph, order, seed=k)
            raw, root = run(graph, "bidirectional", perm, method)
            c = build_coloring(graph, "bidirectional", order, raw, root, method=method)
            assert read_bound(graph, raw) <= c.n_colors
            met += read_bound(graph, raw) == c.n_colors
            lo, hi = bicoloring_bounds(graph, raw)
            assert lo == read_bound(graph, raw) and lo <= c.n_colors <= hi
            plain = build_coloring(graph, "bidirectional", order, raw, root, method=method,
                                   postprocess=False)
            assert hi == plain.n_colors
    assert met > 100                        # and often the count itself


@pytest.mark.parametrize("postprocess", [True, False])
def test_a_bicoloring_is_post_processed_once_when_counts_are_known(monkeypatch, postprocess):
    """Broyden-like tridiagonal: every order's count is known, only the winner is built."""
    from sparsead.coloring import result
    calls = []
    real = result.build_coloring
    monkeypatch.setattr(coloring_pkg, "build_coloring",
                        lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    p = sp.csr_array(banded(200, 1))
    c = sa.color(p, "bidirectional", ["natural", "largest_first", "smallest_last"],
                 improve=2, postprocess=postprocess)
    assert len(calls) == 1 and calls[0] == c.order
    distinct = _distinct(p, "bidirectional")
    assert np.array_equal(c.decompress(c.compress(distinct)).data, distinct.data)
