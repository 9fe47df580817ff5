"""Full sums with tangent lanes accumulate in 8 interleaved stripes (no add chain through one address).

Checked against :func:`sparsead.ad.forward_lanes` for sizes around and below the
stripe count, inside a Hessian (ARWHEAD's gradient) and with unseeded elements.
"""

import numpy as np
import pytest

import sparsead as sa
from sparsead import examples
from sparsead.ad import grad_graph
from sparsead.ad.numba.backend import kernel_source
from sparsead.tracing import trace

from test_numba_backend import _check


def _sums(x):
    s = np.sum(np.sin(x) * x)
    return np.concatenate([x * s, np.atleast_1d(np.sum(x * x) + s)])


@pytest.mark.parametrize("n", [1, 3, 8, 9, 37])
def test_small_striped_sum_jacobian(n):
    x = np.linspace(-1.0, 1.3, n)
    g = trace(_sums, x)
    c = sa.color(sa.jacobian_sparsity(_sums, x), "column")
    _check(g, [x], 0, c.colors, c.n_colors)
    colors = c.colors.copy()
    colors[::2] = -1
    _check(g, [x], 0, colors, c.n_colors)
    if n > 1:       # a sum of one element is a copy
        assert "tacc[i & 7" in kernel_source(g, 0, c.n_colors)


@pytest.mark.parametrize("n", [5, 40])
def test_small_striped_sum_arwhead_hessian(n):
    x = np.random.default_rng(n).uniform(-1.0, 1.0, n)
    g = grad_graph(trace(examples.arwhead, x))
    c = sa.color(sa.hessian_sparsity(examples.arwhead, x), "star")
    _check(g, [x], 0, c.colors, c.n_colors)
