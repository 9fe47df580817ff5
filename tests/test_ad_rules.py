"""Every primitive's JVP and VJP rule, checked numerically (a sweep over the registry).

Elementwise primitives are sampled inside their domain (the registry's
``Elementwise.domain``), with broadcasting; array primitives have one or more
hand-written cases below. The forward lanes (identity seed) and the VJP graph
(random cotangent) must match central differences, and forward-over-reverse
(HVP) must match differences of the gradient. A primitive with a derivative but
no rule, or without a case here, fails the sweep.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative

import sparsead as sa
from sparsead.ad import LanePlan, grad_graph, vjp_graph
from sparsead.primitives import REGISTRY
from sparsead.tracing import evaluate, trace

ELEMENTWISE = sorted(n for n, e in REGISTRY.items() if e.elementwise is not None and n != "where")

_DOMAINS = {
    "real": lambda r, s: r.standard_normal(s),
    "pos": lambda r, s: r.uniform(0.5, 2.0, s),
    "unit": lambda r, s: r.uniform(-0.8, 0.8, s),
    "gt1": lambda r, s: r.uniform(1.3, 3.0, s),
    "nonzero": lambda r, s: r.choice([-1.0, 1.0], s) * r.uniform(0.5, 2.0, s),
    "bool": lambda r, s: r.standard_normal(s),
}


def _jac_lanes(f, x):
    g = trace(f, x)
    value, B = LanePlan(g, 0, np.eye(x.size)).run([x])
    return value, B


def _vjp_lanes(f, x, w):
    g = vjp_graph(trace(f, x))
    return np.asarray(evaluate(g, x, (w,))).reshape(-1)


def _check(f, x, rtol=1e-6, atol=1e-7, hess=True, fd_step=None):
    x = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(7)
    J_fd = approx_derivative(lambda y: np.asarray(f(y), dtype=np.float64).ravel(), x,
                             method="3-point", rel_step=fd_step)
    J_fd = J_fd.reshape(np.size(f(x)), x.size)
    value, B = _jac_lanes(f, x)
    np.testing.assert_allclose(value, np.asarray(f(x), dtype=np.float64).ravel(), rtol=1e-13)
    np.testing.assert_allclose(B, J_fd.reshape(B.shape), rtol=rtol, atol=atol)
    w = rng.standard_normal(J_fd.shape[0])
    np.testing.assert_allclose(_vjp_lanes(f, x, w.reshape(np.shape(f(x)))), w @ J_fd,
                               rtol=rtol, atol=atol * max(1, np.abs(w).sum()))
    if hess:   # forward-over-reverse on the scalar w . f(x)
        def s(y):
            return np.sum(np.reshape(f(y), -1) * w)
        g = sa.gradient(s)
        H_fd = approx_derivative(g, x, method="3-point", rel_step=fd_step)
        v = rng.standard_normal(x.size)
        scale = max(1.0, np.abs(H_fd).max())
        np.testing.assert_allclose(sa.hvp(s, x, v), H_fd @ v, rtol=1e-4, atol=1e-5 * scale)


def test_every_primitive_has_rules():
    missing = [n for n, e in REGISTRY.items() if e.jvp is None or e.vjp is None]
    assert missing == []


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_rule(name):
    entry = REGISTRY[name]
    info = entry.elementwise
    fn = {"abs": np.abs}.get(name)
    impl = entry.impl
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    nargs = len(info.d1)
    shapes = [(3, 1), (4,)][:nargs] if nargs == 2 else [(5,)]
    parts = [_DOMAINS[d](rng, s) for d, s in zip(info.domain, shapes)]
    sizes = [p.size for p in parts]
    x = np.concatenate([p.ravel() for p in parts])
    if name in ("remainder", "fmod"):     # keep away from the jumps
        parts[0] = parts[0]
    del fn

    def f(y):
        args, o = [], 0
        for s, k in zip(shapes, sizes):
            args.append(y[o:o + k].reshape(s))
            o += k
        if info.domain[0] == "bool":
            args = [a > 0 for a in args]
        return impl(*args) * 1.0 if not any(info.d1) else impl(*args)

    if not any(info.d1):
        g = trace(lambda y: f(y) * 1.0, x)
        _, B = LanePlan(g, 0, np.eye(x.size)).run([x])
        assert not B.any()
        return
    _check(f, x, hess=any(any(r) for r in info.d2) or name in ("abs",))


def _A(x):
    return x[:4].reshape(2, 2) + 3.0 * np.eye(2)


_S = sp.random_array((5, 6), density=0.5, rng=3, format="csr")
_S.data[:] = np.arange(1.0, _S.nnz + 1)

#: array primitive -> cases (function of a 1-D x, size of x)
STRUCTURAL = {
    "where": [(lambda x: np.where(x[:3] > 0, x[:3] ** 2, np.sin(x[3:6])), 6),
              (lambda x: np.where(np.array([True, False, True]), x[:3] ** 2, x[3]), 4)],
    "cast": [(lambda x: np.sin(x).astype(np.float32).astype(np.float64) * 1.0, 4)],
    "reshape": [(lambda x: np.sin(x.reshape(2, 3)) * np.arange(3.0), 6)],
    "transpose": [(lambda x: x.reshape(2, 3).T ** 2, 6)],
    "gather": [(lambda x: x[[0, 2, 2, 5]] ** 2, 6), (lambda x: np.pad(x[::-1] ** 2, 2), 5),
               (lambda x: np.roll(x, 2) * x, 5)],
    "scatter": [(_scatter := None, 0)] if False else [],
    "concatenate": [(lambda x: np.concatenate([x[:2] ** 3, np.cos(x)]), 4)],
    "reduce_sum": [(lambda x: np.sum(x.reshape(2, 3) ** 2, axis=0), 6),
                   (lambda x: np.sum(np.exp(x)), 4)],
    "reduce_prod": [(lambda x: np.prod(x.reshape(2, 3), axis=1), 6),
                    (lambda x: np.prod(x), 4)],
    "reduce_max": [(lambda x: np.max(x.reshape(2, 3) ** 2, axis=1), 6)],
    "reduce_min": [(lambda x: np.min(x.reshape(2, 3), axis=0) * x[:3], 6)],
    "cumsum": [(lambda x: np.cumsum(x.reshape(2, 3) ** 2, axis=1), 6)],
    "cumprod": [(lambda x: np.cumprod(x.reshape(2, 3), axis=1), 6),
                (lambda x: np.cumprod(x), 4)],
    "einsum": [(lambda x: x[:6].reshape(2, 3) @ x[6:].reshape(3, 2), 12),
               (lambda x: np.einsum("ij,j->i", np.arange(6.0).reshape(2, 3), np.sin(x)), 3),
               (lambda x: np.sum(x.reshape(2, 3), axis=1) @ x[:2], 6)],
    "spmatmul": [(lambda x: _S @ np.sin(x), 6),
                 (lambda x: x.reshape(3, 5) @ _S, 15)],
    "solve": [(lambda x: np.linalg.solve(_A(x), x[4:6] ** 2), 6),
              (lambda x: np.linalg.solve(_A(x), x[4:8].reshape(2, 2)), 8)],
    "inv": [(lambda x: np.linalg.inv(_A(x)), 4)],
    "det": [(lambda x: np.linalg.det(_A(x)) * x[:1], 4)],
}


def _set_slice(x):
    y = np.zeros_like(x)
    y[1:3] = x[3:5] ** 2
    return y * x


def _set_dup(x):
    y = np.ones_like(x) * x
    y[[0, 0, 1]] = np.sin(x[:3])
    y[3:] = x[0]
    return y


STRUCTURAL["scatter"] = [(_set_slice, 5), (_set_dup, 5)]


def test_every_array_primitive_has_a_case():
    names = {n for n, e in REGISTRY.items() if e.elementwise is None or n == "where"}
    assert names - set(STRUCTURAL) == set()


@pytest.mark.parametrize("name,k", [(n, k) for n in sorted(STRUCTURAL)
                                    for k in range(len(STRUCTURAL[n]))])
def test_array_rule(name, k):
    f, n = STRUCTURAL[name][k]
    rng = np.random.default_rng(100 + k)
    x = rng.uniform(0.5, 1.5, n) * rng.choice([-1.0, 1.0], n)
    prims = {nd.prim for nd in trace(f, x).nodes}
    assert name in prims
    if name == "cast":
        _check(f, x, rtol=2e-3, atol=1e-4, fd_step=1e-2, hess=False)
    else:
        _check(f, x)


def test_prod_with_zeros():
    x = np.array([0.0, 2.0, 3.0, 0.5])
    _, B = _jac_lanes(np.prod, x)
    np.testing.assert_allclose(B.ravel(), [3.0, 0.0, 0.0, 0.0])
    g = sa.gradient(np.prod)(x)
    np.testing.assert_allclose(g, [3.0, 0.0, 0.0, 0.0])
    _, B = _jac_lanes(np.cumprod, x)
    J = approx_derivative(np.cumprod, x)
    np.testing.assert_allclose(B, J, atol=1e-8)


def test_gradient_graph_is_pruned_and_folded():
    g = grad_graph(trace(lambda x: np.sum(x ** 2) + np.sum(np.ones(3) * 2.0), np.ones(3)))
    assert all(nd.prim != "const" or np.ndim(nd.params["value"]) <= 1 for nd in g.nodes)
    assert g.live()[[i for i in range(len(g.nodes)) if i not in g.inputs]].all()
