"""Sparsity detection on known problems, global vs local mode, and the numpy API surface."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special

from sparsead import examples, hessian_sparsity, jacobian_sparsity, patterns
from sparsead.tracing.testing import nonzero_pattern, numeric_hessian, numeric_jacobian


def _dense(P):
    assert isinstance(P, sp.csr_array) and P.dtype == bool and P.has_sorted_indices
    return P.toarray()


# --- exactness on known problems -----------------------------------------------------

def test_brusselator_pattern_is_exact():
    """2-D Brusselator, N = 6: 72 x 72 with 432 entries (6 per row), as in patterns.py."""
    P = jacobian_sparsity(examples.brusselator, examples.brusselator_x0(6))
    assert P.shape == (72, 72) and P.nnz == 432
    assert (P != patterns.brusselator_pattern(6)).nnz == 0


def test_conv2d_pattern_is_exact():
    """3x3 convolution, 3 -> 2 channels on 28x28x3: 1352 x 2352 with 27 entries per row."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 3, 2))
    P = jacobian_sparsity(examples.conv2d, rng.standard_normal((28, 28, 3)), (w,))
    assert P.shape == (1352, 2352) and P.nnz == 36504
    assert (np.diff(P.indptr) == 27).all()


def test_broyden_is_tridiagonal():
    P = jacobian_sparsity(examples.broyden_tridiagonal, np.ones(50))
    assert (P != patterns.banded(50, 1)).nnz == 0


def test_arwhead_hessian_is_an_arrowhead():
    n = 40
    H = hessian_sparsity(examples.arwhead, np.ones(n))
    assert H.nnz == 3 * n - 2
    # the arrow's dense row/column is the last variable here
    flip = np.arange(n)[::-1]
    assert (H[flip][:, flip] != patterns.arrowhead(n)).nnz == 0


def test_rosenbrock_hessian_is_block_diagonal():
    n = 20
    H = _dense(hessian_sparsity(examples.rosenbrock, np.ones(n)))
    want = np.kron(np.eye(n // 2, dtype=bool), np.ones((2, 2), dtype=bool))
    assert (H == want).all()


def test_minimal_surface_hessian_matches_dense_differentiation():
    N = 4
    boundary = examples.minimal_surface_boundary(N)
    H = _dense(hessian_sparsity(examples.minimal_surface, np.zeros(N * N), (boundary,)))
    rng = np.random.default_rng(1)
    true = np.zeros_like(H)
    for _ in range(3):
        x = rng.uniform(-0.5, 0.5, N * N)
        true |= nonzero_pattern(numeric_hessian(examples.minimal_surface, x, (boundary,)),
                                rtol=1e-5, atol=1e-7)
    assert (H == true).all()
    assert H.sum(axis=1).max() == 7


def test_mlp_layer_is_dense():
    rng = np.random.default_rng(2)
    w1, b1, w2, b2 = (rng.standard_normal(s) for s in [(5, 4), 5, (3, 5), 3])
    P = jacobian_sparsity(examples.mlp_layer, np.ones(4), (w1, b1, w2, b2))
    assert P.shape == (3, 4) and P.nnz == 12


# --- global versus local ----------------------------------------------------------------

def test_where_global_is_the_union_local_resolves():
    f = lambda x: np.where(x > 0, x, x ** 2) + np.where(x > 0, 0.0, x[::-1])  # noqa: E731
    x = np.array([1.0, -2.0, 3.0, -4.0])
    glob = _dense(jacobian_sparsity(f, x))
    loc = _dense(jacobian_sparsity(f, x, local=True))
    assert glob.sum() == 8
    assert (loc == nonzero_pattern(numeric_jacobian(f, x))).all()
    assert loc.sum() == 6


def test_abs_max_and_branches_in_local_mode():
    def f(x):
        m = np.max(x)
        y = np.abs(x) + np.maximum(x, 0.5) * 2
        if x[0] > 0:   # a branch: fine in local mode
            return y * m
        return y

    x = np.array([1.0, -2.0, 3.0])
    loc = _dense(jacobian_sparsity(f, x, local=True))
    assert (loc == nonzero_pattern(numeric_jacobian(f, x))).all()
    assert (loc[:, 2]).all() and loc[0, 0] and not loc[0, 1]


def test_local_hessian_keeps_cross_terms_at_zero():
    f = lambda x: np.sum(x[:2] * x[2:])  # noqa: E731
    H = _dense(hessian_sparsity(f, np.zeros(4), local=True))
    assert H[0, 2] and H[1, 3] and not H[0, 0]


def test_constant_zeros_of_matrices_are_used():
    A = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    P = _dense(jacobian_sparsity(lambda x: A @ x, np.ones(3)))
    assert (P == (A != 0)).all()
    S = sp.csr_array(A)
    assert (_dense(jacobian_sparsity(lambda x: S @ x, np.ones(3))) == (A != 0)).all()
    R = _dense(jacobian_sparsity(lambda x: x[:2] @ S, np.ones(3)))
    assert (R[:, :2] == (A != 0).T).all() and not R[:, 2].any()


def test_hessian_rules_are_precise_on_linear_and_bilinear_parts():
    def f(x):
        return np.sum(3 * x) + x[0] * x[1] + np.sum((x[2:] / 2.0) ** 2) + x[:1] @ np.ones(1)
    H = _dense(hessian_sparsity(f, np.ones(4)))
    want = np.zeros((4, 4), dtype=bool)
    want[0, 1] = want[1, 0] = want[2, 2] = want[3, 3] = True
    assert (H == want).all()


# --- mutation and views -----------------------------------------------------------------

def _mutate_view(x):
    y = x.copy()
    v = y[1:]
    v[0] = 0.0          # writes y[1] through the view
    return y * 2


def _stale_view(x):
    y = x * 1.0
    head = y[:3]
    y[0] = x[5]         # head sees the write (a numpy view)
    return head + 0.0


def _reshape_view(x):
    z = np.zeros_like(x)
    z2 = z.reshape(2, 3)
    z2[:, 0] = x[:2]
    z2 += 1.0
    return z


def _copy_is_not_a_view(x):
    y = x.reshape(2, 3).T.reshape(-1)   # numpy copies here
    y[0] = 0.0
    return x + 0.0


def _inplace_ops(x):
    y = np.zeros_like(x)
    y += x
    y *= x[::-1]
    y[2:4] -= np.sin(x[:2])
    np.add(y, 1.0, out=y)
    return y


@pytest.mark.parametrize("f", [_mutate_view, _stale_view, _reshape_view, _copy_is_not_a_view,
                               _inplace_ops])
def test_mutation_follows_numpy_semantics(f):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(6)
    P = _dense(jacobian_sparsity(f, x))
    assert (P == nonzero_pattern(numeric_jacobian(f, x))).all()


# --- the numpy API surface ----------------------------------------------------------------

_A = sp.random_array((6, 8), density=0.3, rng=np.random.default_rng(4), format="csr")
_M = np.random.default_rng(5).standard_normal((4, 2))

API = {
    "operators": lambda x: 2 - x / 3 + 1.5 ** x[::-1] - (-x) % 5 + abs(x) * x // 1,
    "reflected": lambda x: np.ones(8) - x + np.float64(2) * x,
    "trig": lambda x: np.sin(x) + np.cos(x) + np.tan(x / 4) + np.arctan(x) + np.arcsin(x / 9),
    "hyper": lambda x: np.sinh(x / 3) + np.cosh(x / 3) + np.tanh(x) + np.arcsinh(x),
    "explog": lambda x: np.exp(x / 3) + np.log(x ** 2 + 1) + np.expm1(x / 3) + np.log1p(x ** 2),
    "roots": lambda x: np.sqrt(x ** 2 + 1) + np.cbrt(x) + np.square(x) + np.reciprocal(x + 10),
    "piecewise": lambda x: np.sign(x) + np.floor(x) + np.ceil(x) + np.round(x) + x,
    "binary": lambda x: (np.hypot(x, x[::-1]) + np.arctan2(x, 2.0) + np.logaddexp(x, x[0])
                         + np.fmax(x, 0.1) + np.fmin(x, x[1])),
    "special": lambda x: scipy.special.erf(x) + np.clip(x, -1, 1),
    "reductions": lambda x: np.concatenate([
        x.reshape(2, 4).sum(axis=1), np.prod(x.reshape(4, 2), axis=0), x.mean(keepdims=True),
        np.max(x.reshape(2, 4), axis=0), x.min(axis=0, keepdims=True),
        np.cumsum(x.reshape(2, 4), axis=0).ravel(), np.cumprod(x[:3]),
        np.diff(x.reshape(2, 4), axis=1).ravel(), np.var(x, keepdims=True)]),
    "products": lambda x: np.concatenate([
        np.dot(x[:4], x[4:])[None], np.inner(x[:2], x[2:4])[None],
        np.outer(x[:2], x[6:]).ravel(), (x[:4] @ _M) @ np.ones(2)[:, None],
        np.einsum("ij,j->i", x.reshape(2, 4), np.arange(4.0)),
        np.einsum("ii", x[:4].reshape(2, 2))[None],
        np.tensordot(x.reshape(2, 4), _M, axes=1).ravel(), (_A @ x), x[:6] @ _A]),
    "layout": lambda x: np.concatenate([
        x.reshape(2, 4).T.ravel(), np.swapaxes(x.reshape(2, 2, 2), 0, 2).ravel(),
        np.moveaxis(x.reshape(2, 4, 1), 0, -1).ravel(), np.squeeze(x.reshape(1, 8)),
        np.expand_dims(x, 0)[0], np.broadcast_to(x[:2], (3, 2)).ravel()]),
    "joining": lambda x: np.concatenate([
        np.stack([x[:2], x[2:4]], axis=1).ravel(), np.hstack([x[:1], x[3:5]]),
        np.vstack([x[:2], x[2:4]]).ravel(), np.split(x, 4)[2], np.append(x[:1], 7.0)]),
    "rearrange": lambda x: np.concatenate([
        np.roll(x, 3), np.flip(x.reshape(2, 4), axis=1).ravel(), np.tile(x[:2], 3),
        np.repeat(x[:2], 2), np.pad(x[:3], (1, 2)), np.pad(x.reshape(2, 4), 1, mode="wrap").ravel(),
        np.take(x, [7, 0, 7]), np.triu(x.reshape(2, 4)).ravel(), np.diag(x[:2]).ravel()]),
    "indexing": lambda x: np.concatenate([
        x[1:7:2], x[[0, 5, 5]], x[np.array([True, False] * 4)], x.reshape(2, 4)[:, 1],
        x.reshape(2, 4)[1, ::-1], x[..., -1:], x[None, 2]]),
    "like": lambda x: (np.zeros_like(x) + np.ones_like(x) * x[0] + np.full_like(x, 2.0)
                       - np.empty_like(x) * 0),
    "linalg": lambda x: np.concatenate([
        np.linalg.norm(x)[None], np.linalg.norm(x.reshape(2, 4), axis=1),
        np.linalg.norm(x.reshape(2, 4), ord=1)[None], np.linalg.norm(x, np.inf)[None],
        np.linalg.solve(x[:4].reshape(2, 2) + 4 * np.eye(2), x[4:6]),
        np.linalg.inv(x[:4].reshape(2, 2) + 4 * np.eye(2)).ravel(),
        np.linalg.det(x[4:].reshape(2, 2))[None]]),
    "comparisons": lambda x: np.where((x > 0) & (x < 1) | (x == 2), x, -x) * (x != 3),
}


@pytest.mark.parametrize("name", sorted(API))
def test_numpy_api_surface_against_finite_differences(name):
    f = API[name]
    rng = np.random.default_rng(6)
    P = _dense(jacobian_sparsity(f, rng.uniform(0.2, 2.0, 8)))
    for _ in range(2):
        x = rng.uniform(0.2, 2.0, 8) * rng.choice([-1, 1], 8)
        N = nonzero_pattern(numeric_jacobian(f, x))
        assert not (N & ~P).any(), f"false negative at {np.argwhere(N & ~P)[:3]}"
    loc = _dense(jacobian_sparsity(f, x, local=True))
    assert not (nonzero_pattern(numeric_jacobian(f, x)) & ~loc).any()
    assert not (loc & ~P).any()


def test_shapes_any_input_and_output_shape():
    f = lambda x: np.sin(x.T)[..., None] * np.ones(2)  # noqa: E731
    P = jacobian_sparsity(f, np.ones((2, 3)))
    assert P.shape == (12, 6) and P.nnz == 12


def test_output_not_depending_on_x_and_scalar_python_output():
    P = jacobian_sparsity(lambda x: np.ones(3), np.ones(2))
    assert P.shape == (3, 2) and P.nnz == 0
    H = hessian_sparsity(lambda x: 1.0, np.ones(2))
    assert H.shape == (2, 2) and H.nnz == 0


def test_args_are_constants():
    f = lambda x, A, s: s * (A @ x)  # noqa: E731
    A = np.diag([1.0, 0.0, 2.0])
    P = _dense(jacobian_sparsity(f, np.ones(3), (A, 2.0)))
    assert (P == (A != 0)).all()


def test_union2_and_gather_are_compose_with_identity_and_map_blocks():
    """The two fast paths of the index-set product against the general kernel (random sets)."""
    from sparsead._kernels import sparsity as ks
    rng = np.random.default_rng(4)

    def sets(rows, cols):
        lens = rng.integers(0, min(4, cols) + 1, rows)
        ptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        idx = np.concatenate([rng.choice(cols, k, replace=False) for k in lens] or [[]])
        return ptr, idx.astype(np.int64)

    def canon(ptr, idx):
        return [sorted(idx[ptr[i]:ptr[i + 1]].tolist()) for i in range(ptr.size - 1)]

    ident = lambda n: np.arange(n + 1, dtype=np.int64)
    for rows, cols in [(0, 3), (1, 1), (7, 5), (40, 9)]:
        a, b = sets(rows, cols), sets(rows, cols)
        lp = np.stack([ident(rows), ident(rows) + rows])
        li = np.concatenate([np.arange(rows), np.arange(rows) + rows]).astype(np.int64)
        s_ptr = np.concatenate([a[0][:-1], b[0] + a[1].size]).astype(np.int64)
        ref = ks.compose(lp, li, s_ptr, np.concatenate([a[1], b[1]]), cols,
                         a[1].size + b[1].size)
        got = ks.union2(*a, *b, cols)
        assert canon(*got) == canon(*ref) and np.array_equal(got[0], ref[0])
        m = rng.integers(-1, max(rows, 1), 2 * rows + 1).astype(np.int64)
        if rows == 0:
            m = np.full(m.size, -1, dtype=np.int64)
        valid = m >= 0
        mp = np.concatenate([[0], np.cumsum(valid)]).astype(np.int64)
        ref = ks.compose(mp[None, :], m[valid], *a, cols, int(np.diff(a[0])[m[valid]].sum()))
        got = ks.gather(m, *a)
        assert np.array_equal(got[0], ref[0]) and canon(*got) == canon(*ref)


def test_large_products_read_their_inputs_in_place(monkeypatch):
    """Above the size threshold the fast paths run; the pattern is the one compose() gives."""
    from sparsead import sparsity as sparsity_mod
    from sparsead._kernels import sparsity as ks
    f = lambda x: (3 - 2 * x) * x - np.concatenate([[0.0], x[:-1]]) + np.sin(x[::-1])
    x = np.ones(300)
    small = jacobian_sparsity(f, x)
    calls = []

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(ks, name)
    monkeypatch.setattr(sparsity_mod, "_IN_PLACE_ROWS", 1)
    monkeypatch.setattr(sparsity_mod, "_ks", Spy())
    large = jacobian_sparsity(f, x)
    assert {"union2", "gather"} <= set(calls)
    assert (small != large).nnz == 0 and small.nnz == large.nnz
