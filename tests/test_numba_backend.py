"""The Numba backend against the numpy lane interpreter, finite differences and hand derivatives.

One oracle, many inputs: every graph of the correctness suite (Jacobians
forward and reverse, Hessians through the gradient graph), the example
problems, hand-written gradient functions and seeded random programs are run
through :func:`compile_forward` and compared with
:func:`sparsead.ad.forward_lanes` (values and lanes, to rounding). Graphs with
a primitive the backend has no rule for must raise ``NotImplementedError``.
``test_disable_jit_subset`` reruns the ``small`` tests in a subprocess with
``NUMBA_DISABLE_JIT=1`` so the generated kernel bodies run as plain Python.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import sparsead as sa
from sparsead import examples
from sparsead.ad import forward_lanes, grad_graph, vjp_graph
from sparsead.ad.numba.backend import compile_forward, kernel_source
from sparsead.tracing import evaluate, trace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ad_suite import HESSIANS, JACOBIANS, _point  # noqa: E402

#: primitives without a Numba rule: graphs using them fall back to numpy
UNSUPPORTED = {"solve", "inv", "det"}
DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") == "1"


def _check(graph, inputs, wrt, colors, p, rtol=1e-12):
    """Compiled lanes == numpy lanes (or NotImplementedError for unsupported primitives)."""
    prims = {nd.prim for nd in graph.nodes}
    try:
        run = compile_forward(graph, wrt, colors, p)
    except NotImplementedError:
        assert prims & UNSUPPORTED, f"no Numba rule although all of {sorted(prims)} are supported"
        return None
    value, B = run(inputs)
    ref_value, ref_B = forward_lanes(graph, inputs, wrt, colors, p)
    assert B.shape == ref_B.shape and B.dtype == np.float64 and B.flags.c_contiguous
    np.testing.assert_allclose(value, ref_value, rtol=rtol, atol=1e-13)
    scale = max(1.0, float(np.abs(ref_B).max(initial=0.0)))
    np.testing.assert_allclose(B, ref_B, rtol=rtol, atol=1e-13 * scale)
    value2, B2 = run(inputs)                # a second call gives the same (nothing cached wrongly)
    np.testing.assert_array_equal(B2, B)
    return value, B


# ---------------------------------------------------------------- the correctness suite

@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_suite_jacobian_forward_and_reverse(name):
    f, spec, _ = JACOBIANS[name]
    rng = np.random.default_rng(sorted(JACOBIANS).index(name))
    x = _point(spec, rng)
    g = trace(f, x)
    P = sa.jacobian_sparsity(f, x)
    c = sa.color(P, "column")
    _check(g, [x], 0, c.colors, c.n_colors)
    r = sa.color(P, "row")
    w = rng.standard_normal(P.shape[0])
    _check(vjp_graph(g), [x, w], 1, r.colors, r.n_colors)


@pytest.mark.parametrize("name", sorted(HESSIANS))
def test_suite_hessian_lanes(name):
    f, n, hand = HESSIANS[name]
    rng = np.random.default_rng(50 + sorted(HESSIANS).index(name))
    x = rng.uniform(0.3, 1.2, n)
    H = sa.hessian_sparsity(f, x)
    for method in ("star", "acyclic"):
        c = sa.color(H, method)
        got = _check(grad_graph(trace(f, x)), [x], 0, c.colors, c.n_colors)
        if got is not None and hand is not None and method == "star":
            np.testing.assert_allclose(c.decompress(got[1]).toarray(), hand(x), rtol=1e-10,
                                       atol=1e-10)


# ---------------------------------------------------------------- examples and FD

def _fd_jacobian(f, x, eps=1e-6):
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = eps
        cols.append((np.ravel(f(x + e)) - np.ravel(f(x - e))) / (2 * eps))
    return np.stack(cols, axis=1)


_CONVW = np.random.default_rng(3).standard_normal((3, 3, 2, 2))
SMALL = {
    "brusselator": (examples.brusselator, examples.brusselator_x0(4)),
    "broyden": (examples.broyden_tridiagonal, np.linspace(-1.0, 1.0, 9)),
    "conv2d": (lambda x: examples.conv2d(x.reshape(5, 5, 2), _CONVW), np.linspace(-1, 1, 50)),
    "arwhead": (lambda x: np.atleast_1d(examples.arwhead(x)), np.linspace(-1, 1, 7)),
    "minimal_surface": (lambda x: np.atleast_1d(examples.minimal_surface(x)),
                        0.1 * np.sin(np.arange(9.0))),
    "rosenbrock": (lambda x: np.atleast_1d(examples.rosenbrock(x)), np.linspace(-1, 1, 6)),
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_examples_against_differences(name):
    f, x = SMALL[name]
    g = trace(f, x)
    c = sa.color(sa.jacobian_sparsity(f, x), "column")
    value, B = compile_forward(g, 0, c.colors, c.n_colors)([x])
    np.testing.assert_allclose(value, np.ravel(f(x)), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(c.decompress(B).toarray(), _fd_jacobian(f, x), rtol=1e-6,
                               atol=1e-6)


def _arwhead_grad(x):
    """The analytic gradient of ARWHEAD, written in numpy (a Hessian-like graph by hand)."""
    h, last = x[:-1], x[-1]
    s = h * h + last * last
    return np.concatenate([-4.0 + 4.0 * s * h, np.atleast_1d(np.sum(4.0 * s * last))])


def _surface_grad(x):
    """The analytic gradient of a 1-D surface-length energy (roll-based, periodic)."""
    d = np.roll(x, -1) - x
    r = np.sqrt(1.0 + d * d)
    q = d / r
    return np.roll(q, 1) - q


@pytest.mark.parametrize("fn,n", [(_arwhead_grad, 9), (_surface_grad, 10)])
def test_small_hand_written_gradient_graphs(fn, n):
    x = np.linspace(-0.9, 1.1, n)
    g = trace(fn, x)
    c = sa.color(sa.jacobian_sparsity(fn, x), "column")
    _check(g, [x], 0, c.colors, c.n_colors)
    _, B = compile_forward(g, 0, c.colors, c.n_colors)([x])
    np.testing.assert_allclose(c.decompress(B).toarray(), _fd_jacobian(fn, x), rtol=1e-6,
                               atol=1e-6)


# ---------------------------------------------------------------- random programs

_UNARY = [np.sin, np.exp, np.tanh, np.square, lambda a: np.sqrt(1.0 + a * a), np.abs,
          lambda a: a ** 3, lambda a: 2.0 / (1.5 + np.cos(a))]
_BINARY = [np.add, np.subtract, np.multiply, lambda a, b: a / (2.0 + b * b), np.maximum,
           lambda a, b: np.where(a > b, a * b, a - b), np.hypot]


def _random_program(seed, n):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.3)
    import scipy.sparse as sp
    As = sp.csr_array(A)
    steps = []
    for _ in range(rng.integers(3, 8)):
        kind = rng.integers(0, 7)
        steps.append((kind, int(rng.integers(0, 100)), int(rng.integers(1, n))))

    def f(x):
        vals = [x]
        for kind, k, s in steps:
            a = vals[k % len(vals)]
            b = vals[(k * 7 + 3) % len(vals)]
            if kind == 0:
                v = _UNARY[k % len(_UNARY)](a)
            elif kind == 1:
                v = _BINARY[k % len(_BINARY)](a, b)
            elif kind == 2:
                v = np.roll(a, s) * 0.5 + b
            elif kind == 3:
                v = np.concatenate([a[s:], np.sin(b[:s])])
            elif kind == 4:
                v = a + np.sum(b * b) * 0.1
            elif kind == 5:
                v = As @ a if k % 2 else A @ np.tanh(a)
            else:
                v = np.cumsum(a) * 0.1 + np.pad(b[1:], (0, 1))
            vals.append(v)
        return vals[-1] + 0.25 * vals[len(vals) // 2]
    return f


@pytest.mark.parametrize("seed", range(8))
def test_random_programs(seed):
    n = 7
    f = _random_program(seed, n)
    rng = np.random.default_rng(100 + seed)
    x = rng.uniform(-1.0, 1.0, n)
    g = trace(f, x)
    c = sa.color(sa.jacobian_sparsity(f, x), "column")
    _check(g, [x], 0, c.colors, c.n_colors, rtol=1e-11)


# ---------------------------------------------------------------- seeds, nan/inf, contract

def test_small_negative_colors_and_lane_count():
    f = examples.broyden_tridiagonal
    x = np.linspace(-1.0, 1.0, 8)
    g = trace(f, x)
    colors = np.array([0, -1, 2, 0, -1, 1, 3, -1])
    _check(g, [x], 0, colors, 5)              # more lanes than used, some elements in none
    _check(g, [x], 0, np.full(8, -1), 0)      # no lanes at all
    with pytest.raises(ValueError):
        compile_forward(g, 0, colors[:5], 5)
    with pytest.raises(ValueError):
        compile_forward(g, 0, colors, 2)


def test_small_nan_and_inf_propagate():
    def f(x):
        return np.sin(x) * x[::-1] + np.exp(x) / (1.0 + x * x) + np.sum(x) * 0.1

    x = np.array([0.5, np.nan, -1.0, np.inf, 2.0, -np.inf])
    g = trace(f, np.zeros(6))
    c = sa.color(sa.jacobian_sparsity(f, np.zeros(6)), "column")
    value, B = compile_forward(g, 0, c.colors, c.n_colors)([x])
    ref_value, ref_B = forward_lanes(g, [x], 0, c.colors, c.n_colors)
    np.testing.assert_array_equal(value, ref_value)          # nan == nan, inf == inf here
    both = np.isfinite(B) & np.isfinite(ref_B)
    np.testing.assert_allclose(B[both], ref_B[both], rtol=1e-13)
    assert np.isnan(value).all()          # the sum spreads the nan to every output
    assert not np.isfinite(B).all()


def test_small_args_as_inputs_and_inactive_output():
    def f(x, a):
        return np.sin(x) * a + a[::-1] ** 2

    x = np.linspace(0.1, 0.9, 5)
    a = np.linspace(-1.0, 2.0, 5)
    g = trace(f, x, (a,), args_as_inputs=True)
    colors = np.arange(5)
    _check(g, [x, a], 0, colors, 5)
    _check(g, [x, a], 1, colors, 5)                        # differentiate in the arg instead
    gc = trace(lambda x: np.ones(3) + 0 * x[:3], x)        # constant output: zero lanes
    value, B = compile_forward(gc, 0, colors, 5)([x])
    np.testing.assert_array_equal(value, np.ones(3))
    np.testing.assert_array_equal(B, np.zeros((3, 5)))


def test_small_same_structure_same_source_other_size():
    g1 = trace(examples.broyden_tridiagonal, np.ones(10))
    g2 = trace(examples.broyden_tridiagonal, np.ones(50))
    assert kernel_source(g1, 0, 3) == kernel_source(g2, 0, 3)   # one compile serves all sizes
    x = np.linspace(-1, 1, 50)
    _check(g2, [x], 0, np.arange(50) % 3, 3)


@pytest.mark.skipif(DISABLED, reason="needs a Numba dispatcher")
def test_one_specialisation():
    g = trace(examples.brusselator, examples.brusselator_x0(4))
    run = compile_forward(g, 0, np.arange(32) % 7, 7)
    for k in range(3):
        run([examples.brusselator_x0(4) + k])
    from sparsead.ad.numba import backend as numba_backend
    kernels = [m.kernel for m in numba_backend._LOADED.values()
               if m.kernel.py_func.__module__ and "lanes" in m.__name__]
    assert all(len(k.signatures) == 1 for k in kernels)


@pytest.mark.skipif(DISABLED, reason="already running without JIT")
def test_disable_jit_subset(tmp_path):
    """The ``small`` tests, rerun in a subprocess where the kernels run as plain Python."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", SPARSEAD_CACHE_DIR=str(tmp_path))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          os.path.abspath(__file__), "-k", "small"],
                         env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
