"""The Numba backend's pushed sums (``plan_push``): scatter per cell instead of pull per element.

A materialised node that is a sum of injectively mapped terms sharing work per
cell (a gradient assembled from per-cell contributions) is written by looping
over the cells and adding each term into the element it lands on. Each case
checks that the planner takes (or refuses) that path and that the compiled
lanes agree with :func:`sparsead.ad.forward_lanes` to rounding.
"""

import numpy as np
import pytest

import sparsead as sa
from sparsead import examples
from sparsead.ad import forward_lanes, grad_graph
from sparsead.ad.numba.backend import compile_forward, kernel_source
from sparsead.ad.numba.lower import lower
from sparsead.ad.numba.plan import plan, plan_push
from sparsead.tracing import trace

from test_numba_backend import _check, _fd_jacobian


def _pushed(graph, wrt=0):
    nodes, out = lower(graph, wrt)
    live, material = plan(nodes, out)
    return plan_push(nodes, out, live, material)


def _hessian_case(f, x):
    g = grad_graph(trace(f, x))
    c = sa.color(sa.hessian_sparsity(f, x), "star")
    return g, c


def _torus_area(x):
    """A periodic 2-D surface area (rolls in both axes, two sqrt terms per cell)."""
    N = int(round(x.size ** 0.5))
    U = x.reshape(N, N)
    dx = np.roll(U, -1, axis=0) - U
    dy = np.roll(U, -1, axis=1) - U
    a = np.sqrt(1.0 + dx * dx + dy * dy)
    b = np.sqrt(2.0 + (np.roll(U, 1, axis=0) - U) ** 2)
    return np.sum(a * 0.5 + b)


def _shared_sqrt_perm(x):
    r = np.sqrt(1.0 + x * x) * np.cos(x)
    perm = np.arange(x.size)[::-1].copy()
    return r[perm] + 2.0 * r + r[np.roll(np.arange(x.size), 3)]


def _shared_sqrt_repeat(x):
    r = np.sqrt(1.0 + x * x) * np.cos(x)
    rep = np.arange(x.size) // 2               # reads each cell twice: not pushable
    return r[rep] + r + r[np.roll(np.arange(x.size), 2)]


@pytest.mark.parametrize("N", [1, 2, 3, 6])
def test_small_minimal_surface_hessian_pushed(N):
    x = np.random.default_rng(N).uniform(-0.5, 0.5, N * N)
    g, c = _hessian_case(examples.minimal_surface, x)
    if N >= 3:      # tiny grids: more cells than unknowns, pulling is cheaper
        assert _pushed(g), "the minimal-surface gradient should be written by pushing"
    _check(g, [x], 0, c.colors, c.n_colors)
    _, B = compile_forward(g, 0, c.colors, c.n_colors)([x])
    gf = sa.gradient(examples.minimal_surface)
    np.testing.assert_allclose(c.decompress(B).toarray(), _fd_jacobian(gf, x), atol=1e-5)


@pytest.mark.parametrize("N", [3, 5])
def test_small_torus_hessian_pushed(N):
    x = np.random.default_rng(7).uniform(-1.0, 1.0, N * N)
    g, c = _hessian_case(_torus_area, x)
    assert _pushed(g)
    _check(g, [x], 0, c.colors, c.n_colors)


def test_small_injective_maps_pushed_and_repeats_pulled():
    x = np.linspace(-1.0, 1.3, 11)
    g = trace(_shared_sqrt_perm, x)
    assert _pushed(g)
    c = sa.color(sa.jacobian_sparsity(_shared_sqrt_perm, x), "column")
    _check(g, [x], 0, c.colors, c.n_colors)
    g = trace(_shared_sqrt_repeat, x)
    assert not _pushed(g)
    c = sa.color(sa.jacobian_sparsity(_shared_sqrt_repeat, x), "column")
    _check(g, [x], 0, c.colors, c.n_colors)


def test_small_pushed_with_negative_colors_and_nan():
    x = np.random.default_rng(3).uniform(-0.5, 0.5, 16)
    g, c = _hessian_case(examples.minimal_surface, x)
    colors = c.colors.copy()
    colors[::3] = -1
    _check(g, [x], 0, colors, c.n_colors)
    x[5] = np.nan
    value, B = compile_forward(g, 0, c.colors, c.n_colors)([x])
    ref_value, ref_B = forward_lanes(g, [x], 0, c.colors, c.n_colors)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12, atol=1e-13)   # nan == nan here
    both = np.isfinite(B) & np.isfinite(ref_B)
    np.testing.assert_allclose(B[both], ref_B[both], rtol=1e-12, atol=1e-13)
    assert np.isnan(B).any()


def _chain_length(x):
    return np.sum(np.sqrt(1.0 + np.diff(x) ** 2)) + 0.5 * np.sum(np.tanh(x[2:] - x[:-2]) * x[1:-1])


@pytest.mark.parametrize("n", [3, 40])
def test_small_chain_energy_hessian_pushed(n):
    x = np.random.default_rng(n).uniform(-1.0, 1.0, n)
    g, c = _hessian_case(_chain_length, x)
    if n >= 40:
        assert _pushed(g)
    _check(g, [x], 0, c.colors, c.n_colors)


def _chain_times_sum(x):
    s = np.sum(x * x)          # a materialised, seeded node read inside every cell
    return np.sum(np.sqrt(1.0 + np.diff(x) ** 2) * np.cos(s + x[1:]))


def test_small_pushed_terms_reading_a_materialised_node():
    x = np.random.default_rng(5).uniform(-1.0, 1.0, 30)
    g, c = _hessian_case(_chain_times_sum, x)
    assert _pushed(g)
    _check(g, [x], 0, c.colors, c.n_colors)


def test_small_cheap_stencils_stay_pulled():
    g = trace(examples.broyden_tridiagonal, np.ones(20))
    assert not _pushed(g)
    g = trace(examples.brusselator, examples.brusselator_x0(4))
    assert not _pushed(g)


def test_small_pushed_source_independent_of_size():
    g1, _ = _hessian_case(examples.minimal_surface, np.zeros(16))
    g2, _ = _hessian_case(examples.minimal_surface, np.zeros(49))
    assert kernel_source(g1, 0, 9) == kernel_source(g2, 0, 9)
