"""Results share one read-only structure; in-place structure changes copy it first."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import sparsead as sa


def _f(x):
    return np.sin(x) * x[::-1] + x ** 2


def _g(x):
    return np.sum(np.cos(x[1:] * x[:-1])) + x[0] ** 3


def _operators():
    x0 = np.linspace(0.1, 1.0, 7)
    for backend in ("numpy", "auto"):
        yield sa.sparse_jacobian(_f, x0, backend=backend)
        yield sa.sparse_hessian(_g, x0, backend=backend)
        yield sa.sparse_hessian(_g, x0, backend=backend, decompression="substitution")


_CHANGES = {
    "eliminate_zeros": lambda a: a.eliminate_zeros(),
    "zero_then_eliminate": lambda a: (a.data.__setitem__(slice(None), 0.0), a.eliminate_zeros()),
    "resize_down": lambda a: a.resize((3, 3)),
    "resize_up": lambda a: a.resize((9, 9)),
    "new_entry": lambda a: a.__setitem__((0, a.shape[1] - 1), 5.0),
    "sum_duplicates": lambda a: a.sum_duplicates(),
    "sort_indices": lambda a: a.sort_indices(),
}


@pytest.mark.parametrize("change", sorted(_CHANGES))
def test_in_place_structure_changes_leave_others_alone(change):
    x = np.linspace(-1.0, 2.0, 7)
    for op in _operators():
        before = op(x)
        pattern = op.pattern.copy()
        dense = before.toarray()
        changed = op(x)
        assert isinstance(changed, sp.csr_array) and changed.format == "csr"
        expect = sp.lil_array(dense)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sp.SparseEfficiencyWarning)
            _CHANGES[change](changed)
            _CHANGES[change](expect := sp.csr_array(dense))
        assert changed.shape == expect.shape
        np.testing.assert_array_equal(changed.toarray(), expect.toarray())
        # the other result, a later result and the prepared pattern are untouched
        np.testing.assert_array_equal(before.toarray(), dense)
        np.testing.assert_array_equal(op(x).toarray(), dense)
        assert (op.pattern != pattern).nnz == 0 and op.pattern.nnz == pattern.nnz
        assert not before.indices.flags.writeable       # still shared, still frozen


def test_out_after_an_in_place_change():
    x = np.linspace(0.1, 1.0, 7)
    jac = sa.sparse_jacobian(_f, x)
    out = jac(x)
    out.eliminate_zeros()                               # no zeros: same structure, own copy
    assert out.indices.flags.writeable
    np.testing.assert_array_equal(jac(2 * x, out=out).toarray(), jac(2 * x).toarray())
    out.data[:2] = 0.0
    out.eliminate_zeros()                               # now another structure: refused clearly
    with pytest.raises(sa.DecompressionError, match="prepared pattern"):
        jac(x, out=out)


def test_results_pickle_and_copy():
    x = np.linspace(0.1, 1.0, 7)
    a = sa.sparse_jacobian(_f, x)(x)
    for b in (pickle.loads(pickle.dumps(a)), a.copy(), a * 2.0):
        b.eliminate_zeros()
        np.testing.assert_allclose(b.toarray(), a.toarray() * (2.0 if b.data[0] != a.data[0]
                                                               else 1.0))
