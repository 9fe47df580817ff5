"""The output's lane rows summed in a local row, and colors in the smallest integer type.

The generated kernel sums each output row's lanes in a local ``trow`` and stores
the row once (no read-modify-write of the block, or of ``J.data`` through the
fused map); the colors are passed as int8/int16/int32 when they fit. Both must
leave the lanes unchanged: each case compares :func:`compile_forward` with the
numpy interpreter (:func:`sparsead.ad.forward_lanes`), with several leaves of one
row in the same lane (the adds meet in one cell), lanes ``-1`` (no lane), and more
lanes than int8 holds.
"""

import numpy as np
import pytest

from sparsead.ad import forward_lanes
from sparsead.ad.numba import backend
from sparsead.ad.numba.backend import compile_forward
from sparsead.tracing import trace


def _compare(f, x, colors, p):
    g = trace(f, x)
    run = compile_forward(g, 0, colors, p)
    value, B = run([x])
    ref_value, ref_B = forward_lanes(g, [x], 0, colors, p)
    np.testing.assert_allclose(value, ref_value, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(B, ref_B, rtol=1e-13, atol=1e-14)
    return run


def _stencil(x):
    return x[2:] * x[:-2] + np.sin(x[1:-1]) - 3.0 * x[:-2]


def _concat(x):
    return np.concatenate([x[1:] - x[:-1], np.exp(x[:3]) * x[-3:], [np.sum(x * x)]])


def _scatter(x):
    y = np.zeros(x.size + 2) + 1.5 * x[0]
    y[1:-1] = x * x[::-1]
    return y


@pytest.mark.parametrize("f", [_stencil, _concat, _scatter])
@pytest.mark.parametrize("p", [1, 2, 5])
def test_rows_with_shared_lanes(f, p):
    """Few lanes: the leaves of one row share lanes, their adds meet in one cell."""
    x = np.random.default_rng(p).normal(size=17)
    colors = np.arange(x.size) % p
    colors[4] = -1
    run = _compare(f, x, colors, p)
    assert "trow[" in run.source


def test_many_lanes_int16_colors():
    """200 lanes (int16 colors), a dense Jacobian: every lane of every row written."""
    x = np.random.default_rng(3).normal(size=200)
    run = _compare(lambda y: np.sum(y * y) * y + y[::-1], x, np.arange(200), 200)
    assert run.args[0].dtype == np.int16


@pytest.mark.parametrize("lo, hi, dtype", [(-1, 0, np.int8), (-1, 127, np.int8),
                                          (0, 128, np.int16), (0, 40000, np.int32),
                                          (0, 2 ** 31, np.int64)])
def test_narrow_colors(lo, hi, dtype):
    got = backend._narrow(np.array([lo, hi], dtype=np.int64))
    assert got.dtype == dtype
    assert got.tolist() == [lo, hi]


@pytest.mark.parametrize("f, skipped", [(_stencil, True), (_concat, True), (_scatter, True),
                                         (lambda y: np.cumsum(y * y), False)])
def test_lanes_only_kernel(f, skipped):
    """``values=False`` (what the prepared operators compile): the same lanes, bit for bit;
    the output's values are skipped where they are plain stores."""
    x = np.random.default_rng(5).normal(size=17)
    colors = np.arange(x.size) % 3
    g = trace(f, x)
    value, B = compile_forward(g, 0, colors, 3)([x])
    run = compile_forward(g, 0, colors, 3, values=False)
    value2, B2 = run([x])
    assert B2.tobytes() == B.tobytes()
    assert value2.size == (0 if skipped else value.size)


def test_lanes_only_pushed_gradient():
    """A gradient written by pushing per cell (minimal surface): without its values, the
    same lanes bit for bit."""
    from sparsead import examples
    from sparsead.ad import grad_graph
    N = 6
    boundary = examples.minimal_surface_boundary(N)
    x = np.random.default_rng(2).uniform(0.0, 1.0, N * N)
    g = grad_graph(trace(lambda y: examples.minimal_surface(y, boundary), x))
    colors = np.arange(x.size) % 7
    value, B = compile_forward(g, 0, colors, 7)([x])
    run = compile_forward(g, 0, colors, 7, values=False)
    assert "pass" in run.source           # the pushed adds of the values are left out
    value2, B2 = run([x])
    assert value2.size == 0 and B2.tobytes() == B.tobytes()
