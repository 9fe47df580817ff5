"""Fused decompression of substitution (acyclic) and bidirectional plans.

The lane kernels write each compressed cell at the ``data`` position that reads
it (:meth:`Decompressor.fused_maps`) and one compiled pass solves the trees in
place (strategy "map"), or write their blocks into reused buffers that the plan
then reads (strategy "scratch"). Checked three ways: the maps driven by stand-in kernels against
:func:`run_plan` on random blocks (bit for bit, random patterns by hypothesis),
exact round trips of prepared operators with unique integer entries, and
agreement between decompressions (acyclic vs star, bidirectional vs forward).
"""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sparsead as sa
from sparsead.coloring.decompression import Decompressor


def _symmetric_pattern(n, density, seed, diagonal):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, 1)
    mask = upper | upper.T
    if diagonal == "full":
        mask |= np.eye(n, dtype=bool)
    elif diagonal == "some":
        mask |= np.diag(rng.random(n) < 0.5)
    return sp.csr_array(mask.astype(float))


def _rect_pattern(m, n, density, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    if m and n:
        mask[rng.integers(m), :] = True          # a dense row and column: bidirectional pays
        mask[:, rng.integers(n)] = True
    return sp.csr_array(mask.astype(float))


def _stand_in(block):
    """A Python stand-in for a fused lane kernel whose block starts zeroed: all of ``fdata``
    zeroed, then ``block`` added through the map (an empty map: into ``fdata`` itself)."""
    def into(inputs, fmap, fdata):
        fdata[:] = 0.0
        if fmap.size:
            np.add.at(fdata, fmap, block.reshape(-1))   # unread cells: the spare slot
        else:
            fdata[:block.size] += block.reshape(-1)
        return None
    return into


def _fused_vs_plan(coloring, triangle, transposed, seed):
    """Run one random compressed product through the fused maps and through run_plan."""
    shapes = coloring._b_shapes()
    shapes = list(shapes) if coloring.problem == "bidirectional" else [shapes]
    rng = np.random.default_rng(seed)
    blocks = [rng.standard_normal(s) for s in shapes]
    dec = Decompressor(coloring._plan(triangle), shapes, transposed)
    # the layout the backend hands over (transposed blocks: stored as B.T)
    stored = [np.ascontiguousarray(b.T) if t else b for b, t in zip(blocks, transposed)]
    ref, ref_data = dec.new_output()
    dec(stored[0], stored[1] if len(stored) > 1 else np.zeros(0), ref_data)
    assert dec.fuse([_stand_in(b) for b in stored], [b.size for b in stored],
                    [np.int64] * len(stored))
    assert dec.strategy == ("map" if dec.out.nnz else "scratch")
    no_inputs = [[]] * len(stored)
    for strategy in ("map", "scratch") if dec.out.nnz else ("scratch",):
        dec.strategy = strategy
        got, data = dec.new_output()
        data[:] = np.nan                              # nothing may survive from before
        assert dec.run_fused(no_inputs, data)
        assert data.tobytes() == ref_data.tobytes(), strategy
        # a buffer new_output did not make (no spare slot) takes the scratch blocks
        foreign = ref.copy()
        foreign.data[:] = np.nan
        assert dec.run_fused(no_inputs, foreign.data)
        assert foreign.data.tobytes() == ref_data.tobytes(), strategy


@settings(derandomize=True, max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 24), density=st.floats(0.0, 0.6), seed=st.integers(0, 2**16),
       diagonal=st.sampled_from(["full", "some", "none"]),
       triangle=st.sampled_from(["full", "lower", "upper"]), transposed=st.booleans(),
       problem=st.sampled_from(["acyclic", "star"]))
def test_symmetric_fused_maps_match_run_plan_bit_for_bit(n, density, seed, diagonal, triangle,
                                                         transposed, problem):
    pattern = _symmetric_pattern(n, density, seed, diagonal)
    coloring = sa.color(pattern, problem)
    _fused_vs_plan(coloring, triangle, [transposed], seed + 1)


@settings(derandomize=True, max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(m=st.integers(0, 20), n=st.integers(0, 20), density=st.floats(0.0, 0.5),
       seed=st.integers(0, 2**16), decompression=st.sampled_from(["direct", "substitution"]),
       transposed=st.tuples(st.booleans(), st.booleans()))
def test_bidirectional_fused_maps_match_run_plan_bit_for_bit(m, n, density, seed, decompression,
                                                             transposed):
    pattern = _rect_pattern(m, n, density, seed)
    coloring = sa.color(pattern, "bidirectional", decompression=decompression)
    _fused_vs_plan(coloring, "full", list(transposed), seed + 1)


def _every_path(op, x):
    """``op(x).data`` by the map and scratch strategies, into a fresh and a foreign ``out``,
    and with the fusion off (the kernel + plan path before fusion); all must be equal."""
    dec = op._decomp
    saved = dec.strategy, dec._fused
    got = {}
    try:
        for strategy in ("map", "scratch"):
            dec.strategy = strategy
            fresh = op(x)
            foreign = fresh.copy()
            foreign.data[:] = np.nan
            op(x, out=foreign)
            got[strategy] = fresh.data.tobytes()
            got[strategy + " foreign out"] = foreign.data.tobytes()
        dec._fused = None
        got["unfused"] = op(x).data.tobytes()
    finally:
        dec.strategy, dec._fused = saved
    assert len(set(got.values())) == 1, {k: v == got["unfused"] for k, v in got.items()}
    return op(x)


def _unique_symmetric(n, density, seed):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, 1)
    h = np.zeros((n, n))
    h[upper] = np.arange(1, upper.sum() + 1)
    return sp.csr_array(h + h.T + np.diag(np.arange(1, n + 1) * 1000.0))


def _quadratic(H):
    def f(x):
        return 0.5 * (x @ (H @ x))
    return f


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("triangle", ["full", "lower", "upper"])
def test_acyclic_hessian_is_fused_exact_and_agrees_with_star(seed, triangle):
    H = _unique_symmetric(60, 0.08, seed)
    want = {"full": H, "lower": sp.tril(H), "upper": sp.triu(H)}[triangle].toarray()
    ops = {d: sa.sparse_hessian(_quadratic(H), np.ones(60), decompression=d, triangle=triangle,
                                backend="numba") for d in ("substitution", "direct")}
    assert ops["substitution"]._decomp._fused is not None
    x = np.random.default_rng(seed).standard_normal(60)
    sub = _every_path(ops["substitution"], x)
    assert np.array_equal(sub.toarray(), want)
    assert np.array_equal(_every_path(ops["direct"], x).toarray(), want)
    again = ops["substitution"](2 * x, out=sub)
    assert again is sub and np.array_equal(sub.toarray(), want)


def _nonlinear(x):
    """A Hessian with nonzero values everywhere on its pattern, trees of many lengths."""
    return np.sum(np.sin(x[1:] * x[:-1])) + np.sum(x[2:] ** 2 * x[:-2]) + x[0] * np.sum(x ** 3)


def test_acyclic_hessian_of_a_nonlinear_function_matches_the_unfused_path():
    n = 300
    hess = sa.sparse_hessian(_nonlinear, np.ones(n), decompression="substitution",
                             backend="numba")
    star = sa.sparse_hessian(_nonlinear, np.ones(n), decompression="direct", backend="numba")
    assert hess._decomp._fused is not None
    rng = np.random.default_rng(11)
    for _ in range(3):
        x = rng.standard_normal(n)
        got = _every_path(hess, x)
        np.testing.assert_allclose(got.toarray(), star(x).toarray(), rtol=1e-12, atol=1e-12)


def _unique_matrix(m, n, density, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    mask[0, :] = mask[:, 0] = True
    a = np.zeros((m, n))
    a[mask] = np.arange(1, mask.sum() + 1)
    return a


@pytest.mark.parametrize("seed", [0, 1])
def test_bidirectional_jacobian_is_fused_exact_and_agrees_with_forward_and_reverse(seed):
    A = _unique_matrix(50, 40, 0.06, seed)
    W = np.arange(1.0, 81.0).reshape(2, 40)       # a dense product: blocks allocated zeroed

    def f(x):
        return np.concatenate([A @ x, W @ x])
    want = np.vstack([A, W])
    ops = {mode: sa.sparse_jacobian(f, np.ones(40), mode=mode, backend="numba")
           for mode in ("bidirectional", "forward", "reverse")}
    bi = ops["bidirectional"]
    assert bi._decomp._fused is not None and len(bi._decomp._fused[0]) == 2
    x = np.random.default_rng(seed).standard_normal(40)
    J = _every_path(bi, x)
    assert np.array_equal(J.toarray(), want)
    for mode in ("forward", "reverse"):
        assert np.array_equal(_every_path(ops[mode], x).toarray(), want)
    assert bi(3 * x, out=J) is J and np.array_equal(J.toarray(), want)


def test_bidirectional_nonlinear_matches_the_unfused_path():
    def f(x):
        return np.concatenate([[np.sum(np.exp(x * 0.1))], np.sin(x[1:]) * x[0], x[:-1] ** 2])
    jac = sa.sparse_jacobian(f, np.ones(30), mode="bidirectional", backend="numba")
    fwd = sa.sparse_jacobian(f, np.ones(30), mode="forward", backend="numba")
    assert jac._decomp._fused is not None
    x = np.random.default_rng(3).standard_normal(30)
    J = _every_path(jac, x)
    np.testing.assert_allclose(J.toarray(), fwd(x).toarray(), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("kind", ["substitution", "bidirectional"])
def test_out_allocates_no_compressed_block(kind):
    n = 4000
    if kind == "substitution":
        op = sa.sparse_hessian(_nonlinear, np.ones(n), decompression="substitution",
                               backend="numba")
    else:
        def f(x):
            return np.concatenate([[np.sum(x ** 2)], x[1:] * x[0]])
        op = sa.sparse_jacobian(f, np.ones(n), mode="bidirectional", backend="numba")
    x = np.linspace(0.1, 1.0, n)
    out = op(x)
    foreign = out.copy()                       # takes the kernel + run_plan path

    def peak(target):
        op(x, out=target)
        tracemalloc.start()
        op(x, out=target)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size
    # fused, either strategy, own or foreign out=: at most the kernel's function values
    # (one n-vector) and small objects
    for strategy in ("map", "scratch"):
        op._decomp.strategy = strategy
        assert peak(out) < 8 * n + 4096, strategy
        assert peak(foreign) < 8 * n + 4096, strategy
    op._decomp._fused = None                   # the path before fusion allocates the blocks
    assert peak(foreign) >= n * op.n_colors * 8


def test_bidirectional_with_a_side_without_lanes_is_fused():
    def f(x):
        return np.sin(x[1:]) * x[:-1]
    jac = sa.sparse_jacobian(f, np.ones(50), mode="bidirectional", backend="numba")
    assert 0 in (jac.coloring.n_column_colors, jac.coloring.n_row_colors)
    assert jac._decomp._fused is not None
    x = np.linspace(-1, 1, 50)
    J = _every_path(jac, x)
    fwd = sa.sparse_jacobian(f, np.ones(50), mode="forward", backend="numba")
    np.testing.assert_allclose(J.toarray(), fwd(x).toarray(), rtol=1e-14, atol=0)
