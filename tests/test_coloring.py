"""Tests of the coloring engine: one oracle (plain checkers + exact round trip), many inputs."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsead as sa
from sparsead import ColoringError, DecompressionError, PatternError
from sparsead.coloring import ORDERS, PROBLEMS
from sparsead.patterns import arrowhead, banded, laplacian

SYMMETRIC = ("distance1", "distance2", "star", "acyclic")


# ------------------------------------------------------------------ helpers


def distinct_values(pattern, symmetric):
    """Pattern with distinct values (symmetric ones for symmetric problems)."""
    co = sp.coo_array(pattern)
    if symmetric:
        n = pattern.shape[0]
        vals = np.minimum(co.row, co.col) * n + np.maximum(co.row, co.col) + 1.0
    else:
        vals = np.arange(1, co.nnz + 1, dtype=float)
    a = sp.csr_array((vals, (co.row, co.col)), shape=pattern.shape)
    a.sort_indices()
    return a


def colors_of(c):
    return (c.column_colors, c.row_colors) if c.problem == "bidirectional" else c.colors


def check_oracle(A, problem, order, **kw):
    """Validity by the plain checker, exact round trip, idempotence, decompress(out=)."""
    c = sa.color(A, problem, order, seed=3, **kw)
    opts = {}
    if problem == "bidirectional":
        opts["decompression"] = c.decompression
    assert sa.is_valid_coloring(A, colors_of(c), problem, reference=True, **opts)
    assert c.colors.dtype == np.int64
    if problem == "distance1":
        with pytest.raises(ColoringError):
            c.decompress(c.compress(A))
        return c
    B = c.compress(A)
    D = c.decompress(B)
    assert isinstance(D, sp.csr_array) and D.dtype == np.float64
    assert np.array_equal(D.indptr, A.indptr) and np.array_equal(D.indices, A.indices)
    assert np.array_equal(D.data, A.data)
    D2 = c.decompress(B)
    assert np.array_equal(D2.data, D.data)
    out = c.decompress(B)
    out.data[:] = -1.0
    assert c.decompress(B, out=out) is out
    assert np.array_equal(out.data, D.data)
    if problem in SYMMETRIC:
        for tri, ref in (("lower", sp.tril(A)), ("upper", sp.triu(A))):
            T = c.decompress(B, triangle=tri)
            assert (T != sp.csr_array(ref)).nnz == 0 and T.nnz == sp.csr_array(ref).nnz
            T.data[:] = 0
            assert np.array_equal(c.decompress(B, out=T).data, c.decompress(B, triangle=tri).data)
    return c


@st.composite
def rect_patterns(draw):
    m = draw(st.integers(0, 12))
    n = draw(st.integers(0, 12))
    dens = draw(st.floats(0.0, 0.7))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    P = sp.csr_array(rng.random((m, n)) < dens)
    return distinct_values(P, False)


@st.composite
def sym_patterns(draw):
    n = draw(st.integers(0, 12))
    dens = draw(st.floats(0.0, 0.6))
    diag = draw(st.booleans())
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    U = np.triu(rng.random((n, n)) < dens, 1)
    M = U | U.T
    if diag:
        M |= np.eye(n, dtype=bool)
    return distinct_values(sp.csr_array(M), True)


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("problem", ["column", "row"])
@settings(max_examples=12, deadline=None, derandomize=True)
@given(A=rect_patterns())
def test_bipartite_round_trip(A, problem, order):
    check_oracle(A, problem, order)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("problem", SYMMETRIC)
@settings(max_examples=12, deadline=None, derandomize=True)
@given(A=sym_patterns())
def test_symmetric_round_trip(A, problem, order):
    check_oracle(A, problem, order)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("decompression", ["direct", "substitution"])
@settings(max_examples=10, deadline=None, derandomize=True)
@given(A=rect_patterns())
def test_bidirectional_round_trip(A, decompression, order):
    check_oracle(A, "bidirectional", order, decompression=decompression)


@pytest.mark.parametrize("problem", ["star", "acyclic"])
@settings(max_examples=15, deadline=None, derandomize=True)
@given(A=sym_patterns())
def test_no_postprocess_keeps_every_vertex_colored(A, problem):
    c = check_oracle(A, problem, "natural", postprocess=False)
    assert (c.colors >= 0).all()


def test_random_order_is_seeded_and_has_no_global_state():
    P = distinct_values(laplacian((6, 6)), True)
    np.random.seed(0)
    a = sa.color(P, "star", "random", seed=7).colors
    np.random.seed(1)
    b = sa.color(P, "star", "random", seed=7).colors
    assert np.array_equal(a, b)


def test_list_of_orders_keeps_the_best():
    rng = np.random.default_rng(5)
    P = distinct_values(sp.csr_array(rng.random((40, 40)) < 0.1), False)
    each = {o: sa.color(P, "column", o, seed=1).n_colors for o in ORDERS}
    best = sa.color(P, "column", list(ORDERS), seed=1)
    assert best.n_colors == min(each.values())
    assert each[best.order] == best.n_colors


def test_callable_order():
    P = distinct_values(laplacian((5, 5)), True)

    def reverse(graph):
        assert isinstance(graph, sp.csr_array) and graph.shape == (25, 25)
        return np.arange(graph.shape[0])[::-1]

    c = check_oracle(P, "star", reverse)
    assert c.order == "reverse"
    with pytest.raises(ColoringError, match="permutation"):
        sa.color(P, "star", lambda g: np.zeros(25, dtype=int))


def test_explicit_zeros_are_kept_by_default():
    A = sp.csr_array((np.array([1.0, 0.0, 2.0]), np.array([0, 1, 1]), np.array([0, 2, 3])),
                     shape=(2, 2))
    assert sa.color(A, "column").n_colors == 2
    assert sa.color(A, "column", keep_explicit_zeros=False).n_colors == 1


def test_dense_input_and_matrix_types():
    M = np.array([[1, 0, 2], [0, 3, 0]])
    for x in (M, M.tolist(), sp.coo_matrix(M), sp.csc_array(M), sp.lil_matrix(M)):
        c = sa.color(x, "column")
        assert c.shape == (2, 3) and c.pattern.dtype == bool
        assert c.n_colors == 2


# ------------------------------------------------------------------ theory


@pytest.mark.parametrize("half", [1, 2, 3, 4, 5, 8])
def test_banded_star_and_acyclic_counts(half):
    """A symmetric banded matrix with rho off-diagonal bands (rho = 2 * half here)
    needs exactly 2*floor(rho/2)+1 star colors and floor(rho/2)+1 acyclic colors
    with the natural order (Gebremedhin, Tarafdar, Manne & Pothen, "New acyclic
    and star coloring algorithms with application to computing Hessians", SIAM
    J. Sci. Comput. 29 (2007); Coleman & More, SIAM J. Numer. Anal. 20 (1983))."""
    rho = 2 * half
    P = distinct_values(banded(60, half), True)
    assert check_oracle(P, "star", "natural").n_colors == 2 * (rho // 2) + 1
    assert check_oracle(P, "acyclic", "natural").n_colors == rho // 2 + 1


def test_column_and_row_example_4x5():
    """J = [[0,*,0,*,0],[0,0,0,*,*],[0,*,*,0,0],[*,0,*,0,0]] needs 2 column and
    2 row colors (Gebremedhin, Manne & Pothen, SIAM Review 47 (2005), Fig. 2)."""
    J = np.array([[0, 1, 0, 1, 0], [0, 0, 0, 1, 1], [0, 1, 1, 0, 0], [1, 0, 1, 0, 0]])
    A = distinct_values(sp.csr_array(J), False)
    assert check_oracle(A, "column", "natural").n_colors == 2
    assert check_oracle(A, "row", "natural").n_colors == 2


def test_symmetric_example_4x4_star():
    """H = [[a1,a2,a3,0],[a2,a4,0,a5],[a3,0,a6,0],[0,a5,0,a7]] is star-colored with
    3 colors and recovered exactly (Gebremedhin, Manne & Pothen 2005, Fig. 6)."""
    a = [None, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]
    H = np.array([[a[1], a[2], a[3], 0], [a[2], a[4], 0, a[5]],
                  [a[3], 0, a[6], 0], [0, a[5], 0, a[7]]])
    Hs = sp.csr_array(H)
    c = sa.color(Hs, "star")
    assert c.n_colors == 3
    assert sa.is_valid_coloring(Hs, c.colors, "star", reference=True)
    assert np.array_equal(c.decompress(Hs @ c.seed_matrix()).toarray(), H)


@pytest.mark.parametrize("method", ["star", "acyclic"])
@pytest.mark.parametrize("n", [3, 4, 7, 200, 3000])
def test_arrowhead_bicoloring_uses_three_colors(n, method):
    """An n x n arrowhead (n >= 3: dense first row and column plus the diagonal) needs n column
    colors and n row colors, but a bicoloring with 3: the dense column alone, the
    other columns together, the dense row alone (Coleman & Verma, "The efficient
    computation of sparse Jacobian matrices using automatic differentiation",
    SIAM J. Sci. Comput. 19 (1998); Gebremedhin, Manne & Pothen, SIAM Review 47
    (2005), Sec. 6). Two cannot do: with one column and one row color, the dense
    row must be in the row seed and the dense column in the column seed, and then
    no diagonal entry (i, i), i > 0, is alone in any product."""
    A = distinct_values(arrowhead(n), False)
    kw = {"decompression": "direct" if method == "star" else "substitution"}
    c = check_oracle(A, "bidirectional", "largest_first", **kw) if n <= 200 else \
        sa.color(A, "bidirectional", **kw)
    assert c.n_colors == 3 and (c.n_column_colors, c.n_row_colors) == (2, 1)
    if n > 200:
        assert np.array_equal(c.decompress(c.compress(A)).data, A.data)


def test_arrowhead_jacobian_picks_three_lanes():
    f = lambda x: np.concatenate([[np.sum(x ** 2)], x[1:] * x[0] + x[1:] ** 2])  # noqa: E731
    jac = sa.sparse_jacobian(f, np.ones(3000))
    assert (jac.mode, jac.n_colors) == ("bidirectional", 3)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("problem", PROBLEMS)
@settings(max_examples=5, deadline=None, derandomize=True)
@given(data=st.data())
def test_improve_round_trip_and_never_more_colors(problem, order, data):
    A = data.draw(sym_patterns() if problem in SYMMETRIC else rect_patterns())
    kw = {"decompression": data.draw(st.sampled_from(["direct", "substitution"]))} \
        if problem == "bidirectional" else {}
    c = check_oracle(A, problem, order, improve=5, **kw)
    assert c.n_colors <= sa.color(A, problem, order, seed=3, **kw).n_colors


def test_improve_beats_the_orders_on_a_known_case():
    """Iterated greedy merges color classes the orders leave apart (Culberson 1992)."""
    from sparsead.examples import brusselator, brusselator_x0

    P = sa.jacobian_sparsity(brusselator, brusselator_x0(16))
    orders = ["natural", "largest_first", "smallest_last"]
    assert sa.color(P, "column", orders).n_colors == 11
    assert check_oracle(distinct_values(P, False), "column", orders, improve=2).n_colors == 10
    with pytest.raises(ColoringError, match="`improve`"):
        sa.color(P, "column", improve=-1)


def test_arrowhead_star_uses_two_colors():
    P = distinct_values(arrowhead(200), True)
    c = check_oracle(P, "star", "natural")
    assert c.n_colors == 2


# ------------------------------------------------------------------ bad input


def test_unknown_problem_and_order():
    P = laplacian((3, 3))
    with pytest.raises(ColoringError, match=r"`problem` must be one of .*got 'stra'"):
        sa.color(P, "stra")
    with pytest.raises(ColoringError, match=r"`order` must be one of .*got 'largest'"):
        sa.color(P, "star", "largest")
    with pytest.raises(ColoringError, match="`order`"):
        sa.color(P, "star", [])
    with pytest.raises(ColoringError, match="`method`"):
        sa.color(P, "bidirectional", method="cyclic")


def test_nonsquare_and_nonsymmetric_patterns():
    with pytest.raises(PatternError, match=r"`pattern` must be square.*\(3, 4\)"):
        sa.color(np.ones((3, 4)), "star")
    N = np.array([[1, 1], [0, 1]])
    with pytest.raises(PatternError, match="structurally symmetric"):
        sa.color(N, "star")
    with pytest.raises(PatternError, match="symmetric"):
        sa.color(N, "acyclic")
    c = sa.color(N, "star", symmetrize=True)
    assert c.pattern.nnz == 4
    with pytest.raises(PatternError, match="2-D"):
        sa.color(np.ones(3), "column")
    with pytest.raises(PatternError):
        sa.color(np.array([["a"]]), "column")


def test_wrong_B_and_wrong_out():
    A = distinct_values(sp.csr_array(np.eye(4) + np.eye(4, k=1)), False)
    c = sa.color(A, "column")
    with pytest.raises(DecompressionError, match=r"`B` must have shape \(4, 2\)"):
        c.decompress(np.ones((4, 3)))
    with pytest.raises(DecompressionError, match="`A` must have the pattern's shape"):
        c.compress(np.ones((3, 4)))
    other = sp.csr_array(np.eye(4))
    with pytest.raises(DecompressionError, match="`out` must have exactly"):
        c.decompress(c.compress(A), out=other)
    with pytest.raises(DecompressionError, match="`out` must be a scipy.sparse csr_array"):
        c.decompress(c.compress(A), out=np.zeros((4, 4)))
    with pytest.raises(DecompressionError, match="`triangle="):
        c.decompress(c.compress(A), triangle="lower")
    b = sa.color(A, "bidirectional")
    with pytest.raises(DecompressionError, match="pair"):
        b.decompress(np.ones((4, 1)))


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (4, 4)])
def test_empty_shapes(problem, shape):
    if problem in SYMMETRIC and shape[0] != shape[1]:
        with pytest.raises(PatternError, match="square"):
            sa.color(sp.csr_array(shape), problem)
        return
    A = sp.csr_array(shape, dtype=float)
    c = sa.color(A, problem, ["natural", "smallest_last"])
    assert c.n_colors == 0 or problem in ("column", "row", "distance1", "distance2")
    if problem == "distance1":
        return
    D = c.decompress(c.compress(A))
    assert D.shape == shape and D.nnz == 0


def test_decompress_into_is_a_deprecated_alias_of_out():
    A = sp.random_array((5, 7), density=0.4, rng=3, format="csr")
    A.data[:] = np.arange(1, A.nnz + 1)
    c = sa.color(A, "column")
    out = c.decompress(c.compress(A))
    out.data[:] = 0
    with pytest.warns(DeprecationWarning, match="decompress\\(B, out=out\\)"):
        assert c.decompress_into(c.compress(A), out) is out
    assert (out != A).nnz == 0


def test_every_coloring_has_both_sides_and_checks_in_the_form_it_returns():
    A = distinct_values(sp.random_array((6, 9), density=0.35, rng=5, format="csr"), False)
    for problem in ("column", "row", "bidirectional"):
        c = sa.color(A, problem)
        assert np.array_equal(np.concatenate([c.column_colors, c.row_colors]), c.colors)
        assert c.n_column_colors + c.n_row_colors == c.n_colors
        assert c.decompression == "direct"
        assert sa.is_valid_coloring(A, c.colors, problem)
        assert sa.is_valid_coloring(A, c.colors, problem, reference=True)
    c = sa.color(A, "bidirectional", decompression="substitution")
    assert c.decompression == "substitution"
    assert sa.is_valid_coloring(A, c.colors, "bidirectional", decompression="substitution")
    with pytest.raises(ColoringError, match="concatenation"):
        sa.is_valid_coloring(A, c.colors[:-1], "bidirectional")
    S = laplacian((3, 3))
    assert sa.color(S, "acyclic").decompression == "substitution"
    assert sa.color(S, "distance1").decompression is None
    assert sa.color(S, "star").row_colors.size == 0


def test_old_spellings_warn_and_still_work():
    A = distinct_values(arrowhead(12), False)
    with pytest.warns(DeprecationWarning, match="decompression='substitution'"):
        c = sa.color(A, "bidirectional", method="acyclic")
    assert c.decompression == "substitution"
    with pytest.warns(DeprecationWarning, match="Coloring.decompression"):
        assert c.method == "acyclic"
    with pytest.raises(TypeError, match="only `decompression`"):
        sa.color(A, "bidirectional", method="star", decompression="direct")
    with pytest.raises(ColoringError, match="contradicts"):
        sa.color(laplacian((3, 3)), "star", decompression="substitution")
    f = lambda x: np.sum(x[1:] * x[:-1] ** 2)     # noqa: E731
    with pytest.warns(DeprecationWarning, match="decompression='substitution'"):
        hess = sa.sparse_hessian(f, np.ones(5), coloring="acyclic", backend="numpy")
    assert hess.decompression == "substitution"
    with pytest.warns(DeprecationWarning, match="SparseHessian.decompression"):
        assert hess.mode == "acyclic"


def test_index_maps_are_built_only_when_a_coloring_is_decompressed():
    """Colorings an order search or mode='auto' discards never pay for their index maps."""
    A = distinct_values(banded(30, 2), True)
    for problem in ("column", "star", "acyclic", "bidirectional"):
        c = sa.color(A, problem, list(ORDERS), improve=2)
        assert c._full is None and not c._plans
        B = c.compress(A)
        assert (c.decompress(B) != A).nnz == 0
        assert c._full is not None and set(c._plans) == {"full"}
