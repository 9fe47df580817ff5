"""Scalar factors folded at lowering (``c1 * (c2 * x) -> (c1 c2) * x``, pulled out of products).

The compiled lanes must agree with :func:`sparsead.ad.forward_lanes` to
rounding, and the source must not depend on the constants' values.
"""

import numpy as np
import pytest

import sparsead as sa
from sparsead.ad import grad_graph
from sparsead.ad.numba.backend import kernel_source
from sparsead.ad.numba.lower import lower
from sparsead.tracing import trace

from test_numba_backend import _check


def _chain(x):
    y = -(5.0 * (2.0 * x))
    z = (0.5 * np.sin(x)) * (-(3.0 * y)) / 4.0
    return 2.0 * (z * (7.0 * x[::-1])) - 0.25 * (-(y * 2.0))


def _energy(x, c=0.2):
    d = (np.roll(x, -1) - x) / c
    return 0.5 * c * np.sum(np.sqrt(1.0 + d ** 2)) + 3.0 * np.sum((2.0 * x) * (5.0 * x))


@pytest.mark.parametrize("n", [1, 6])
def test_small_folded_factors_jacobian(n):
    x = np.linspace(-0.8, 1.2, n)
    g = trace(_chain, x)
    c = sa.color(sa.jacobian_sparsity(_chain, x), "column")
    _check(g, [x], 0, c.colors, c.n_colors)


def test_small_folded_factors_hessian_and_fewer_multiplies():
    x = np.linspace(-0.8, 1.2, 9)
    g = grad_graph(trace(_energy, x))
    c = sa.color(sa.hessian_sparsity(_energy, x), "star")
    _check(g, [x], 0, c.colors, c.n_colors)
    nodes, _ = lower(g, 0)
    # no scalar multiple of a scalar multiple survives
    for nd in nodes:
        if nd.op == "ew" and nd.params["prim"] == "multiply":
            scal = [i for i in nd.ins if nodes[i].op == "scalar"]
            other = [i for i in nd.ins if nodes[i].op != "scalar"]
            if scal and other:
                o = nodes[other[0]]
                assert not (o.op == "ew" and o.params["prim"] == "multiply"
                            and any(nodes[i].op == "scalar" for i in o.ins))


def test_small_folded_source_independent_of_constants():
    x = np.linspace(-0.8, 1.2, 9)
    s1 = kernel_source(grad_graph(trace(lambda z: _energy(z, 0.2), x)), 0, 3)
    s2 = kernel_source(grad_graph(trace(lambda z: _energy(z, 0.5), x)), 0, 3)   # 2 * 0.5 == 1
    assert s1 == s2


def test_small_folded_nan_inf():
    x = np.array([0.5, np.nan, -1.0, np.inf, 2.0, -np.inf])
    g = trace(_chain, np.zeros(6))
    c = sa.color(sa.jacobian_sparsity(_chain, np.zeros(6)), "column")
    from sparsead.ad import forward_lanes
    from sparsead.ad.numba.backend import compile_forward
    value, B = compile_forward(g, 0, c.colors, c.n_colors)([x])
    ref_value, ref_B = forward_lanes(g, [x], 0, c.colors, c.n_colors)
    np.testing.assert_array_equal(np.isnan(value), np.isnan(ref_value))
    both = np.isfinite(value) & np.isfinite(ref_value)
    np.testing.assert_allclose(value[both], ref_value[both], rtol=1e-13)
    both = np.isfinite(B) & np.isfinite(ref_B)
    np.testing.assert_allclose(B[both], ref_B[both], rtol=1e-13)
