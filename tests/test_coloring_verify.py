"""Differential tests: the vectorised checkers against the plain ones, on valid and broken colorings."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsead as sa
from sparsead import ColoringError
from sparsead.coloring import ORDERS, verify
from sparsead.patterns import arrowhead

SYMMETRIC = ("distance1", "distance2", "star", "acyclic")


def both(pattern, colors, problem, **kw):
    """(plain, vectorised) answers; both must raise alike."""
    try:
        plain = sa.is_valid_coloring(pattern, colors, problem, reference=True, **kw)
    except ColoringError:
        with pytest.raises(ColoringError):
            sa.is_valid_coloring(pattern, colors, problem, **kw)
        return None, None
    return plain, sa.is_valid_coloring(pattern, colors, problem, **kw)


def mutations(colors, rng, k=6):
    """Broken variants of a coloring: recolor, neutralise, merge two classes, shorten."""
    out = []
    c = np.asarray(colors, dtype=np.int64)
    if c.size == 0:
        return [c.copy(), np.zeros(1, dtype=np.int64)]
    top = int(c.max(initial=0))
    for _ in range(k):
        d = c.copy()
        what = rng.integers(5)
        v = rng.integers(c.size)
        if what == 0:
            d[v] = rng.integers(-1, top + 2)
        elif what == 1:
            d[rng.random(c.size) < 0.3] = -1
        elif what == 2 and top > 0:
            a, b = rng.choice(top + 1, 2, replace=False)
            d[d == a] = b
        elif what == 3:
            d[v] = -3
        else:
            d = rng.permutation(d)
        out.append(d)
    out.append(c[:-1])
    return out


@st.composite
def patterns(draw, square):
    n = draw(st.integers(0, 11))
    m = n if square else draw(st.integers(0, 11))
    dens = draw(st.floats(0.0, 0.8))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    M = rng.random((m, n)) < dens
    if square and draw(st.booleans()):
        M = np.triu(M, 1)
        M = M | M.T | (np.eye(n, dtype=bool) & draw(st.booleans()))
    if draw(st.booleans()) and m and n:
        M[rng.integers(m)] = True     # a dense row
    return sp.csr_array(M), rng


@pytest.mark.parametrize("problem", SYMMETRIC + ("column", "row"))
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_vectorised_matches_plain(problem, data):
    square = problem in SYMMETRIC or data.draw(st.booleans())
    A, rng = data.draw(patterns(square))
    candidates = []
    if problem in SYMMETRIC and A.shape[0] == A.shape[1]:
        S = sp.csr_array(A + A.T, dtype=bool)
        for post in (True, False):
            order = ORDERS[rng.integers(len(ORDERS))]
            candidates.append(sa.color(S, problem, order, seed=1, postprocess=post).colors)
        A = S if rng.random() < 0.8 else A
    elif problem in ("column", "row"):
        candidates.append(sa.color(A, problem, ORDERS[rng.integers(len(ORDERS))], seed=1).colors)
    k = A.shape[1] if problem != "row" else A.shape[0]
    candidates.append(rng.integers(-1, 3, size=k))
    for colors in list(candidates):
        candidates += mutations(colors, rng)
    for colors in candidates:
        plain, fast = both(A, colors, problem)
        assert plain == fast, (problem, A.toarray().astype(int).tolist(), colors.tolist())


@pytest.mark.parametrize("decompression", ["direct", "substitution"])
@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_vectorised_bicoloring_matches_plain(decompression, data):
    A, rng = data.draw(patterns(False))
    m, n = A.shape
    method = "star" if decompression == "direct" else "acyclic"
    c = sa.color(A, "bidirectional", ORDERS[rng.integers(len(ORDERS))], seed=1,
                 decompression={"star": "direct", "acyclic": "substitution"}[method])
    pairs = [(c.column_colors, c.row_colors),
             (rng.integers(-1, 3, size=n), rng.integers(-1, 3, size=m))]
    for cc, rc in list(pairs):
        pairs += [(x, rc) for x in mutations(cc, rng, 3)] + [(cc, y) for y in mutations(rc, rng, 3)]
    for colors in pairs:
        plain, fast = both(A, colors, "bidirectional", decompression=decompression)
        assert plain == fast, (A.toarray().astype(int).tolist(), [x.tolist() for x in colors])


def test_edge_cases():
    empty = sp.csr_array((0, 0), dtype=bool)
    for problem in SYMMETRIC + ("column", "row"):
        assert both(empty, [], problem) == (True, True)
        assert both(empty, [0], problem) == (False, False)
    one = sp.csr_array(np.ones((1, 1)))
    for problem in SYMMETRIC:
        assert both(one, [0], problem) == (True, True)
        assert both(one, [-1], problem)[0] == both(one, [-1], problem)[1]
    assert both(one, ((-1,), (-1,)), "bidirectional") == (False, False)
    assert both(one, ((0,), (-1,)), "bidirectional") == (True, True)
    assert both(one, [0, -1], "bidirectional") == (True, True)       # the concatenation
    assert both(one, "nope", "bidirectional") == (None, None)        # refused, as elsewhere
    rect = sp.csr_array(np.ones((2, 3)))
    assert both(rect, [0, 1, 2], "star") == (None, None)   # both refuse a rectangle


@pytest.mark.parametrize("method", ["star", "acyclic"])
def test_arrowhead_bicoloring_is_checked_fast(method):
    """A bicoloring of a big arrowhead checks in well under a second (the plain checker would not)."""
    A = arrowhead(20000)
    c = sa.color(A, "bidirectional",
                 decompression={"star": "direct", "acyclic": "substitution"}[method])
    kw = {"decompression": "direct" if method == "star" else "substitution"}
    assert sa.is_valid_coloring(A, (c.column_colors, c.row_colors), "bidirectional", **kw)
    broken = c.column_colors.copy()
    broken[broken == broken.max()] = 0
    assert not verify.bicoloring(A, (broken, c.row_colors), **kw)
