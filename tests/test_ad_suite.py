"""Correctness suite: sparse Jacobians and Hessians against dense references.

Each function's Jacobian is computed in every mode (forward, reverse,
bidirectional) and compared with a hand-written derivative or central
differences; Hessians with star and acyclic colorings against a hand-written
Hessian or differences of a complex-step gradient; plus gradient/jvp/vjp/hvp.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative

import sparsead as sa
from sparsead import examples

_A = sp.random_array((7, 9), density=0.3, rng=11, format="csr")
_A.data[:] = np.linspace(-1.0, 2.0, _A.nnz)
_Bm = sp.random_array((9, 9), density=0.25, rng=12, format="csr") + sp.eye_array(9)
_W1 = np.random.default_rng(1).standard_normal((5, 4))
_W2 = np.random.default_rng(2).standard_normal((3, 5))
_CONVW = np.random.default_rng(3).standard_normal((3, 3, 2, 2))
_K = np.diag(np.full(6, 4.0)) + np.diag(np.ones(5), 1) + np.diag(np.ones(5), -1)


def _indexing(x):
    y = np.zeros_like(x)
    y[::2] = x[1::2] ** 2
    y[1::2] = np.sin(x[::2]) * x[-1]
    return y


def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _broyden_jac(x):
    n = x.size
    return np.diag(3.0 - 4.0 * x) - np.diag(np.ones(n - 1), -1) - 2.0 * np.diag(np.ones(n - 1), 1)


#: name -> (f, x, hand-written Jacobian or None)
JACOBIANS = {
    "detection_example": (lambda x: np.diff(x ** 2) + np.sin(x[0]), 6, None),
    "brusselator": (examples.brusselator, "bruss", None),
    "broyden": (examples.broyden_tridiagonal, 12, _broyden_jac),
    "conv2d": (lambda x: examples.conv2d(x.reshape(6, 6, 2), _CONVW), 72, None),
    "mlp_layer": (lambda x: examples.mlp_layer(x, _W1, np.ones(5), _W2, np.zeros(3)), 4, None),
    "chained_sparse": (lambda x: _A @ np.sin(_Bm @ x), 9, None),
    "softmax": (_softmax, 7, None),
    "norms": (lambda x: np.linalg.norm(x.reshape(3, 4), axis=1) + np.sqrt(np.sum(x ** 2)), 12,
              None),
    "cumsum_cumprod": (lambda x: np.concatenate([np.cumsum(x ** 2), np.cumprod(1 + 0.1 * x)]),
                       8, None),
    "where": (lambda x: np.where(x > 0, x ** 2, -np.sin(x)) + np.maximum(x, 0.3), 8, None),
    "indexing_assignment": (_indexing, 8, None),
    "einsum": (lambda x: np.einsum("ij,kj->ik", x.reshape(3, 4), x.reshape(3, 4) ** 2), 12, None),
    "solve": (lambda x: np.linalg.solve(_K, x ** 2) + np.linalg.solve(
        x[:4].reshape(2, 2) + 4 * np.eye(2), x[4:6]).sum(), 6, None),
    "rosenbrock_residuals": (lambda x: np.concatenate([10 * (x[1:] - x[:-1] ** 2), 1 - x[:-1]]),
                             8, None),
    "wide_sums": (lambda x: np.stack([np.sum(x ** 2), np.sum(np.sin(x)), x[0] * x[-1]]), 10, None),
    "arrow": (lambda x: np.concatenate([x[:-1] * x[-1], np.sum(x ** 2, keepdims=True)]), 10, None),
}


def _point(spec, rng):
    if spec == "bruss":
        return examples.brusselator_x0(4) + 0.1 * rng.standard_normal(32)
    return rng.uniform(0.3, 1.2, spec) * rng.choice([-1.0, 1.0], spec)


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_jacobian_all_modes(name):
    f, spec, hand = JACOBIANS[name]
    rng = np.random.default_rng(sorted(JACOBIANS).index(name))
    x0 = _point(spec, rng)
    x = x0 + 0.05 * rng.standard_normal(x0.size)
    ref = hand(x) if hand is not None else approx_derivative(lambda y: np.ravel(f(y)), x,
                                                             method="3-point")
    ref = ref.reshape(-1, x.size)
    mats = {}
    for mode in ("forward", "reverse", "bidirectional"):
        jac = sa.sparse_jacobian(f, x0, mode=mode, backend="numpy")
        J = jac(x)
        assert J.has_sorted_indices
        assert (J.indptr == jac.pattern.indptr).all() and (J.indices == jac.pattern.indices).all()
        np.testing.assert_allclose(J.toarray(), ref, rtol=1e-6, atol=1e-6)
        mats[mode] = J.toarray()
    np.testing.assert_allclose(mats["forward"], mats["reverse"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mats["forward"], mats["bidirectional"], rtol=1e-12, atol=1e-12)
    auto = sa.sparse_jacobian(f, x0, backend="numpy")
    np.testing.assert_allclose(auto(x).toarray(), mats["forward"], rtol=1e-12, atol=1e-12)


def _arwhead_hess(x):
    n = x.size
    H = np.zeros((n, n))
    h, last = x[:-1], x[-1]
    s = h * h + last * last
    H[np.arange(n - 1), np.arange(n - 1)] = 4 * s + 8 * h * h
    H[-1, :-1] = H[:-1, -1] = 8 * h * last
    H[-1, -1] = np.sum(4 * s + 8 * last * last)
    return H


def _rosen_hess(x):
    n = x.size
    H = np.zeros((n, n))
    o, e = np.arange(0, n, 2), np.arange(1, n, 2)
    H[o, o] = -400 * (x[e] - x[o] ** 2) + 800 * x[o] ** 2 + 2
    H[e, e] = 200
    H[o, e] = H[e, o] = -400 * x[o]
    return H


_Q = sp.random_array((8, 8), density=0.3, rng=5, format="csr")
_Q = _Q + _Q.T


#: name -> (scalar f, n, hand-written Hessian or None)
HESSIANS = {
    "arwhead": (examples.arwhead, 12, _arwhead_hess),
    "rosenbrock": (examples.rosenbrock, 12, _rosen_hess),
    "minimal_surface": (examples.minimal_surface, 16, None),
    "quadratic_sparse": (lambda x: x @ (_Q @ x) + np.sum(np.exp(x)), 8, None),
    "logsumexp": (lambda x: np.log(np.sum(np.exp(x.reshape(2, 4)), axis=1)).sum(), 8, None),
    "nn_loss": (lambda x: np.sum(examples.mlp_layer(x, _W1, np.ones(5), _W2, np.zeros(3)) ** 2),
                4, None),
    "prod_cumprod": (lambda x: np.prod(x[:3]) + np.sum(np.cumprod(x[3:])), 6, None),
    "tridiagonal_energy": (lambda x: np.sum((x[1:] - x[:-1]) ** 4) + np.sum(np.cos(x)), 9, None),
}


@pytest.mark.parametrize("name", sorted(HESSIANS))
def test_hessian_star_acyclic(name):
    f, n, hand = HESSIANS[name]
    rng = np.random.default_rng(50 + sorted(HESSIANS).index(name))
    x = rng.uniform(0.3, 1.2, n)
    if hand is not None:
        ref = hand(x)
    else:
        ref = approx_derivative(lambda y: approx_derivative(f, y, method="cs"), x,
                                method="3-point")
    mats = {}
    for method in ("direct", "substitution"):
        H = sa.sparse_hessian(f, x, decompression=method, backend="numpy")
        M = H(x)
        assert M.has_sorted_indices
        np.testing.assert_allclose(M.toarray(), ref, rtol=1e-5, atol=1e-5 * max(1, abs(ref).max()))
        mats[method] = M.toarray()
        v = rng.standard_normal(n)
        np.testing.assert_allclose(H.hessp(x, v), mats[method] @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mats["direct"], mats["substitution"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mats["direct"], mats["direct"].T, rtol=1e-12, atol=1e-12)
    lower = sa.sparse_hessian(f, x, triangle="lower", backend="numpy")(x)
    np.testing.assert_allclose(lower.toarray(), np.tril(mats["direct"]), atol=1e-12)


@pytest.mark.parametrize("name", sorted(HESSIANS))
def test_gradient_hvp(name):
    f, n, _ = HESSIANS[name]
    rng = np.random.default_rng(80 + sorted(HESSIANS).index(name))
    x = rng.uniform(0.3, 1.2, n)
    g = sa.gradient(f)
    np.testing.assert_allclose(g(x), approx_derivative(f, x, method="cs"), rtol=1e-10,
                               atol=1e-10)
    v = rng.standard_normal(n)
    H = sa.sparse_hessian(f, x, backend="numpy")(x).toarray()
    np.testing.assert_allclose(sa.hvp(f, x, v), H @ v, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["chained_sparse", "softmax", "conv2d", "where"])
def test_jvp_vjp(name):
    f, spec, _ = JACOBIANS[name]
    rng = np.random.default_rng(90)
    x = _point(spec, rng)
    J = sa.sparse_jacobian(f, x, backend="numpy")(x).toarray()
    v = rng.standard_normal(x.size)
    y, t = sa.jvp(f, x, v)
    np.testing.assert_allclose(y, f(x))
    np.testing.assert_allclose(t.ravel(), J @ v, rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(J.shape[0])
    y, u = sa.vjp(f, x, w.reshape(np.shape(f(x))))
    np.testing.assert_allclose(u.ravel(), w @ J, rtol=1e-12, atol=1e-12)


def test_constant_and_affine_functions():
    x = np.arange(5.0)
    J = sa.sparse_jacobian(lambda y: 2.0 * y[::-1] + 1.0, x)(x + 3)
    np.testing.assert_array_equal(J.toarray(), 2.0 * np.eye(5)[::-1])
    J = sa.sparse_jacobian(lambda y: np.ones(3) + 0 * y[:3], x, backend="numpy")(x)
    assert J.shape == (3, 5)
    np.testing.assert_array_equal(J.toarray(), np.zeros((3, 5)))
    H = sa.sparse_hessian(lambda y: np.sum(3.0 * y), x, backend="numpy")(x)
    assert H.nnz == 0 and H.shape == (5, 5)
