"""Differential tests of the ordering and greedy kernels against plain Python oracles.

The oracles are written from ColPack's description of its orders (degree buckets
kept as vectors: push at the back, take the back of the largest or smallest
nonempty bucket, remove a vertex by moving the bucket's last vertex into its slot)
and of first-fit greedy coloring, over neighbour sets taken from dense boolean
matrices, independently of the CSR arrays and scratch layouts the kernels use.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsead.coloring import verify
from sparsead.coloring.greedy import build_graph, run
from sparsead.coloring.orders import vertex_order

DYNAMIC = ("smallest_last", "dynamic_largest_first", "incidence_degree")
ORDERS = ("natural", "largest_first") + DYNAMIC
D2_ORDERS = tuple("distance2_" + o for o in ORDERS[1:])


# ------------------------------------------------------------------ oracles


def neighbour_lists(M, problem):
    """``(hops, bipartite)``: per vertex its sorted neighbours (rows of a column, or
    columns of a row, for a bipartite problem) from a dense boolean ``M``."""
    M = np.asarray(M, dtype=bool)
    if problem in ("column", "row"):
        B = M if problem == "column" else M.T
        return ([list(np.flatnonzero(c)) for c in B.T], [list(np.flatnonzero(r)) for r in B])
    A = M & ~np.eye(M.shape[0], dtype=bool)
    one = [list(np.flatnonzero(r)) for r in A]
    return one, None


def walk(hops, back, distance2, v, done):
    """The vertices whose degree ordering ``v`` changes, in the order they are reached
    (CSR order, first visit only): distance-2 neighbours for a bipartite graph; else
    the neighbours and, with ``distance2``, theirs -- not through ordered vertices."""
    if back is not None:
        seq = [w for e in hops[v] for w in back[e]]
    elif not distance2:
        seq = list(hops[v])
    else:
        seq = [x for e in hops[v] for x in [e] + (hops[e] if e not in done else [])]
    out = []
    for w in seq:
        if w != v and w not in done and w not in out:
            out.append(w)
    return out


def degree(hops, back, distance2, v):
    return len(walk(hops, back, distance2, v, set()))


def bucket_order(M, problem, order):
    """ColPack's degree-bucket orders, plainly: lists as buckets, a dict of positions."""
    distance2 = order.startswith("distance2_")
    base = order[len("distance2_"):] if distance2 else order
    hops, back = neighbour_lists(M, problem)
    n = len(hops)
    deg = [degree(hops, back, distance2, v) for v in range(n)]
    if base == "largest_first":
        return sorted(range(n), key=lambda v: -deg[v])  # stable: ties in index order
    incidence = base == "incidence_degree"
    cur = [0] * n if incidence else list(deg)
    buckets = [[] for _ in range(n + 1)]
    where = {}
    first = list(range(n))
    if incidence and back is None and n:
        top = max(range(n), key=lambda v: (deg[v], -v))     # first vertex of largest degree
        first[top], first[-1] = first[-1], first[top]
    for v in first:
        where[v] = len(buckets[cur[v]])
        buckets[cur[v]].append(v)
    done = set()
    out = []
    for _ in range(n):
        pick = [d for d in range(n + 1) if buckets[d]]
        d = pick[0] if base == "smallest_last" else pick[-1]
        v = buckets[d].pop()
        done.add(v)
        out.append(v)
        for w in walk(hops, back, distance2, v, done):
            b = buckets[cur[w]]
            last = b.pop()
            if last != w:
                b[where[w]] = last
                where[last] = where[w]
            cur[w] += 1 if incidence else -1
            where[w] = len(buckets[cur[w]])
            buckets[cur[w]].append(w)
    return out[::-1] if base == "smallest_last" else out


def first_fit(M, problem, perm):
    """First-fit greedy coloring in the order ``perm``."""
    hops, back = neighbour_lists(M, problem)
    colors = [-1] * len(hops)
    for v in perm:
        used = {colors[w] for w in walk(hops, back, problem == "distance2", v, set())}
        colors[v] = next(c for c in range(len(hops) + 1) if c not in used)
    return np.array(colors, dtype=np.int64)


# ------------------------------------------------------------------ inputs


@st.composite
def graphs(draw):
    """``(M, problem)``: a dense pattern and a problem it can be colored for."""
    problem = draw(st.sampled_from(("column", "row", "distance1", "distance2")))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    dens = draw(st.floats(0.0, 0.6))
    n = draw(st.integers(1, 14))
    if problem in ("column", "row"):
        M = rng.random((draw(st.integers(1, 14)), n)) < dens
    else:
        U = np.triu(rng.random((n, n)) < dens, 1)
        M = U | U.T | (np.eye(n, dtype=bool) & draw(st.booleans()))
    return M, problem


def special_graphs():
    """Hubs, paths, empty and complete graphs, isolated vertices, single vertices."""
    n = 9
    star = np.zeros((n, n), dtype=bool)
    star[0, :] = star[:, 0] = True
    path = np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    isolated = path.copy()
    isolated[4, :] = isolated[:, 4] = False
    dense_row = np.zeros((5, 7), dtype=bool)
    dense_row[2, :] = True
    dense_row[[0, 4], [1, 6]] = True
    return {"hub": star, "path": path, "isolated": isolated, "empty": np.zeros((n, n), bool),
            "complete": ~np.eye(n, dtype=bool), "single": np.ones((1, 1), bool),
            "dense_row": dense_row, "empty_rect": np.zeros((3, 4), bool)}


def _ours(M, problem, order):
    g = build_graph(sp.csr_array(M), problem)
    perm, _ = vertex_order(g, order, 0)
    raw, _ = run(g, problem, perm)
    return g, perm, raw


def _check(M, problem, order):
    g, perm, raw = _ours(M, problem, order)
    if order != "natural":
        assert perm.tolist() == bucket_order(M, problem, order)
    assert np.array_equal(raw, first_fit(M, problem, perm))
    assert raw.dtype == np.int64 and (raw.size == 0 or raw.max() < g.width)
    P = sp.csr_array(M)
    ok = {"column": lambda: verify.structurally_orthogonal(P, raw),
          "row": lambda: verify.structurally_orthogonal(P, raw, axis="row"),
          "distance1": lambda: verify.distance1(P, raw),
          "distance2": lambda: verify.distance2(P, raw)}[problem]
    assert ok()


# ------------------------------------------------------------------ tests


@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=graphs(), order=st.sampled_from(ORDERS + D2_ORDERS))
def test_orders_and_greedy_match_the_plain_oracles(case, order):
    M, problem = case
    _check(M, problem, order)


@pytest.mark.parametrize("order", ORDERS + D2_ORDERS)
@pytest.mark.parametrize("name", sorted(special_graphs()))
def test_edge_graphs(name, order):
    M = special_graphs()[name]
    problems = ("column", "row") + (("distance1", "distance2") if M.shape[0] == M.shape[1]
                                    else ())
    for problem in problems:
        _check(M, problem, order)


@pytest.mark.parametrize("problem", ["column", "distance1", "distance2"])
def test_int64_fallback_gives_the_same_colors(problem):
    """Graphs too large for int32 indices keep their int64 arrays: same colors."""
    rng = np.random.default_rng(5)
    U = np.triu(rng.random((40, 40)) < 0.15, 1)
    M = U | U.T
    g = build_graph(sp.csr_array(M), problem)
    assert g.narrow is not None and all(a.dtype == np.int32 for a in g.narrow)
    perm, _ = vertex_order(g, "smallest_last", 0)
    narrow, _ = run(g, problem, perm)
    g.narrow = None
    wide, _ = run(g, problem, perm)
    assert np.array_equal(narrow, wide)
    assert np.array_equal(narrow, first_fit(M, problem, perm))


def test_graphs_of_other_problems_stay_wide():
    M = np.eye(6, k=1, dtype=bool)
    M = M | M.T
    for problem in ("star", "acyclic", "bidirectional"):
        assert build_graph(sp.csr_array(M), problem).narrow is None
