"""Decompression of prepared operators into ``J.data``: exact round trips, ``out=``, threads.

The functions are linear (Jacobians) or quadratic (Hessians) with unique integer
coefficients, so every entry of the result is known exactly and a wrong gather,
a missed substitution or a stale buffer cannot pass.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import sparsead as sa
from sparsead._errors import InputError


def _unique_matrix(m, n, density, seed, dense_row=False):
    """A csr_array with entries 1, 2, 3, ... (unique) and, optionally, a dense row and column."""
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    if dense_row:
        mask[0, :] = True
        mask[:, 0] = True
    a = np.zeros((m, n))
    a[mask] = np.arange(1, mask.sum() + 1)
    return sp.csr_array(a)


def _unique_symmetric(n, density, seed):
    """A symmetric csr_array with unique integer values per entry pair and a full diagonal."""
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, 1)
    h = np.zeros((n, n))
    h[upper] = np.arange(1, upper.sum() + 1)
    h = h + h.T + np.diag(np.arange(1, n + 1) * 1000.0)
    return sp.csr_array(h)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("mode", ["forward", "reverse", "bidirectional"])
def test_jacobian_round_trip_is_exact_in_every_mode(mode, backend):
    A = _unique_matrix(40, 30, 0.08, 1, dense_row=(mode == "bidirectional"))
    jac = sa.sparse_jacobian(lambda x: A @ x, np.ones(30), mode=mode, backend=backend)
    assert jac.mode == mode
    x = np.random.default_rng(2).standard_normal(30)
    J = jac(x)
    assert np.array_equal(J.toarray(), A.toarray())
    assert np.array_equal(jac(x, out=J.copy()).toarray(), A.toarray())
    # column and row colorings take the one-block gather, bidirectional the general plan;
    # the compiled kernels of every mode write J.data themselves
    assert (jac._decomp._src is None) == (mode == "bidirectional")
    assert (jac._decomp._fused is not None) == (backend == "numba")


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("decompression", ["direct", "substitution"])
@pytest.mark.parametrize("triangle", ["full", "lower", "upper"])
def test_hessian_round_trip_is_exact(decompression, triangle, backend):
    H = _unique_symmetric(35, 0.1, 3)
    hess = sa.sparse_hessian(lambda x: 0.5 * (x @ (H @ x)), np.ones(35),
                             decompression=decompression, triangle=triangle, backend=backend)
    want = {"full": H, "lower": sp.tril(H), "upper": sp.triu(H)}[triangle].toarray()
    got = hess(np.random.default_rng(4).standard_normal(35))
    assert np.array_equal(got.toarray(), want)
    assert (hess._decomp._src is None) == (decompression == "substitution")
    assert (hess._decomp._fused is not None) == (backend == "numba")
    # a foreign out= (no spare slot after its data) takes the kernel + gather path
    foreign = got.copy()
    assert hess(np.ones(35), out=foreign) is foreign
    assert np.array_equal(foreign.toarray(), want)


def test_out_reuses_the_matrix_and_its_data_buffer():
    A = _unique_matrix(50, 50, 0.1, 5)
    jac = sa.sparse_jacobian(lambda x: np.sin(A @ x), np.ones(50))
    x = np.linspace(0, 1, 50)
    J = jac(x)
    buf, indptr, indices = J.data, J.indptr, J.indices
    for k in range(3):
        res = jac(x + k, out=J)
        assert res is J
        assert J.data is buf and J.indptr is indptr and J.indices is indices
        ref = jac(x + k)
        assert np.array_equal(J.data, ref.data)
    # a copy of the structure is checked once, then accepted as well
    other = J.copy()
    assert jac(x, out=other) is other
    assert np.array_equal(other.data, jac(x).data)


def test_returned_matrices_are_not_changed_by_later_calls():
    A = _unique_matrix(30, 30, 0.15, 6)
    jac = sa.sparse_jacobian(lambda x: (A @ x) ** 2, np.ones(30))
    hess = sa.sparse_hessian(lambda x: np.sum((A @ x) ** 3), np.ones(30))
    for op in (jac, hess):
        x = np.linspace(-1, 1, 30)
        first = op(x)
        kept = first.toarray()
        snapshot = first.data.copy()
        second = op(2 * x + 1)
        op(3 * x, out=second)
        assert first.data is not second.data
        assert np.array_equal(first.data, snapshot)
        assert np.array_equal(first.toarray(), kept)
        # the shared structure is read-only: nobody can change it under another result
        assert not first.indices.flags.writeable and not first.indptr.flags.writeable
        with pytest.raises(ValueError):
            first.indices[0] = 1
        fixed = first.copy()
        fixed.data[:] = 0
        fixed.eliminate_zeros()               # on a copy, structure changes are fine
        assert fixed.nnz == 0 and np.array_equal(op(x).toarray(), kept)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("kind", ["jacobian", "hessian"])
def test_threaded_decompression_is_bit_identical(kind, backend, monkeypatch):
    from sparsead.coloring import decompression as dc
    monkeypatch.setattr(dc, "_MIN_CHUNK", 7)         # split even a small problem
    rng = np.random.default_rng(7)
    n = 400
    if kind == "jacobian":
        def f(x):
            return np.exp(np.sin(x[1:]) * x[:-1]) + np.cos(x[2:].sum() * 1e-3 + x[:-1] ** 2)[0]
        make = sa.sparse_jacobian
    else:
        def f(x):
            return np.sum(np.exp(np.sin(x[1:]) * x[:-1])) + np.sum(x[2:] * x[:-2] ** 3)
        make = sa.sparse_hessian
    ops = {t: make(f, np.ones(n), threads=t, backend=backend) for t in (1, 2, 3, "auto")}
    for _ in range(3):
        x = rng.standard_normal(n)
        ref = ops[1](x)
        for t, op in ops.items():
            got = op(x)
            assert got.data.tobytes() == ref.data.tobytes(), t
            out = ref.copy()                 # no spare slot: the threaded gather runs
            assert op(x, out=out).data.tobytes() == ref.data.tobytes(), t
            if backend == "numba":           # and it agrees bit for bit with the fused kernel
                assert out.data.tobytes() == op(x).data.tobytes()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, None])
def test_threads_is_validated(bad):
    with pytest.raises(InputError, match="`threads`"):
        sa.sparse_jacobian(lambda x: x ** 2, np.ones(3), threads=bad)
    with pytest.raises(InputError, match="`threads`"):
        sa.sparse_hessian(lambda x: np.sum(x ** 3), np.ones(3), threads=bad)


def _cube_sum(x):
    return np.sum(x[1:] * x[:-1] ** 2)


def test_threads_survive_pickling():
    import pickle
    hess = sa.sparse_hessian(_cube_sum, np.ones(20), threads=2)
    back = pickle.loads(pickle.dumps(hess))
    assert back._decomp.threads == 2
    x = np.linspace(0, 1, 20)
    assert back(x).data.tobytes() == hess(x).data.tobytes()


def test_fusion_refuses_reads_of_the_output_block():
    from sparsead.ad.numba.fuse import fuse_output
    lines = ["    tan5 = np.zeros((d0, p), np.float64)", "    for i in range(d0):",
             "        tan5[m_1[i], c3] += a2 * (x[i, 0])"]
    new, zero_first = fuse_output(lines, 5)
    assert zero_first and new[-1].strip() == (
        "fdata[fmap[(m_1[i]) * p + (c3)] if fm else (m_1[i]) * p + (c3)] += a2 * (x[i, 0])")
    assert fuse_output(lines + ["        tan5[i, 0] /= tan5[i, 1]"], 5) is None   # a read
    assert fuse_output(lines + ["    t = tan5"], 5) is None                      # an alias
    assert fuse_output(lines[1:], 5) is None                                    # no allocation
