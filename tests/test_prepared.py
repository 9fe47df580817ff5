"""Prepared operators: the call contract, arguments, ``out=``, user patterns and bad input."""

import numpy as np
import pytest
import scipy.sparse as sp

import sparsead as sa
from sparsead import examples
from sparsead._errors import DecompressionError, PatternError, SparseadError


def _f(x, a):
    return np.sin(x[1:]) * a[:-1] + x[:-1] ** 2


def test_attributes_and_timings():
    x = np.linspace(0.1, 1, 6)
    jac = sa.sparse_jacobian(_f, x, (np.ones(6),), backend="numpy")
    assert jac.shape == (5, 6) and jac.pattern.dtype == bool
    assert jac.n_colors == jac.coloring.n_colors == 2 and jac.mode == "forward"
    assert set(jac.timings) == {"detect", "color", "compile"}
    assert jac.backend == "numpy"
    B = jac.compressed(x, np.ones(6))
    assert B.shape == (5, 2)
    np.testing.assert_allclose(jac.coloring.decompress(B).toarray(), jac(x, np.ones(6)).toarray())


def test_array_args_change_between_calls_and_pattern_is_union():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(6)
    a = np.zeros(6)                      # zeros at preparation must not shrink the pattern
    jac = sa.sparse_jacobian(_f, x, (a,), backend="numpy")
    a2 = rng.standard_normal(6)
    J = jac(x, a2).toarray()
    ref = np.diag(2 * x[:-1]) @ np.eye(5, 6) + np.diag(np.cos(x[1:]) * a2[:-1]) @ np.eye(5, 6, 1)
    np.testing.assert_allclose(J, ref, atol=1e-14)


def test_lagrangian_hessian_with_multipliers_as_args():
    def lag(x, lam):
        return lam[0] * np.sum(x ** 3) + lam[1] * x[0] * x[1]
    x = np.array([1.0, 2.0, 3.0])
    H = sa.sparse_hessian(lag, x, (np.array([1.0, 0.0]),), backend="numpy")
    M = H(x, np.array([2.0, 5.0])).toarray()
    np.testing.assert_allclose(M, np.array([[12.0, 5, 0], [5, 24, 0], [0, 0, 36]]))


def test_baked_args_must_not_change():
    x = np.ones(4)
    jac = sa.sparse_jacobian(lambda x, k, s: x * k + s, x, (3, 2.0), backend="numpy")
    jac(x, 3, 2.0)
    with pytest.raises(ValueError, match="baked"):
        jac(x, 4, 2.0)
    with pytest.raises(ValueError, match="extra argument"):
        jac(x, 3)


def test_traced_arg_shape_change_is_an_error():
    jac = sa.sparse_jacobian(lambda x, a: x * a, np.ones(3), (np.ones(3),), backend="numpy")
    with pytest.raises(ValueError, match="shape"):
        jac(np.ones(3), np.ones(4))


def test_x_shape_dtype_and_complex():
    jac = sa.sparse_jacobian(np.sin, np.ones(3), backend="numpy")
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        jac(np.ones(4))
    with pytest.raises(TypeError, match="complex"):
        jac(np.ones(3) + 1j)
    with pytest.raises(TypeError, match="complex"):
        sa.sparse_jacobian(np.sin, np.ones(3) + 0j)
    with pytest.raises(TypeError):
        jac(np.array(["a", "b", "c"]))
    J = jac(np.array([0, 1, 2]))                 # integers are converted to float64
    np.testing.assert_allclose(J.diagonal(), np.cos([0.0, 1.0, 2.0]))
    assert isinstance(jac(np.ones(3)), sp.csr_array)


def test_nan_and_inf_propagate():
    jac = sa.sparse_jacobian(lambda x: np.sqrt(x) * x[::-1], np.ones(3), backend="numpy")
    J = jac(np.array([np.nan, 1.0, np.inf]))
    assert J.shape == (3, 3) and np.isnan(J.data).any()
    H = sa.sparse_hessian(lambda x: np.sum(np.log(x)), np.ones(3), backend="numpy")
    M = H(np.array([0.0, 1.0, -1.0]))
    assert np.isinf(M.data[0]) and M.data[1] == -1.0


def test_out_argument():
    x = np.linspace(0.5, 1.5, 8)
    jac = sa.sparse_jacobian(examples.broyden_tridiagonal, x, backend="numpy")
    out = jac(x)
    res = jac(2 * x, out=out)
    assert res is out
    np.testing.assert_allclose(out.toarray(), jac(2 * x).toarray())
    other = sp.csr_array(np.eye(8))
    with pytest.raises(DecompressionError, match="pattern"):
        jac(x, out=other)
    with pytest.raises(DecompressionError):
        jac(x, out=np.zeros((8, 8)))
    a, b = jac(x), jac(x)
    assert a.data is not b.data and a.indices is not b.indices


def test_user_sparsity():
    x = np.ones(5)
    f = examples.broyden_tridiagonal
    dense = np.ones((5, 5), dtype=bool)
    jac = sa.sparse_jacobian(f, x, sparsity=dense, backend="numpy")
    assert jac.pattern.nnz == 25
    np.testing.assert_allclose(jac(x).toarray(),
                               sa.sparse_jacobian(f, x, backend="numpy")(x).toarray())
    with pytest.raises(PatternError, match="misses"):
        sa.sparse_jacobian(f, x, sparsity=sp.eye_array(5))
    with pytest.raises(PatternError, match="shape"):
        sa.sparse_jacobian(f, x, sparsity=np.ones((5, 6)))


def test_bad_choices():
    with pytest.raises(ValueError, match="mode"):
        sa.sparse_jacobian(np.sin, np.ones(2), mode="sideways")
    with pytest.raises(ValueError, match="backend"):
        sa.sparse_jacobian(np.sin, np.ones(2), backend="gpu")
    with pytest.raises(ValueError, match="coloring"):
        sa.sparse_hessian(np.sum, np.ones(2), coloring="d1")
    with pytest.raises(SparseadError, match="scalar"):
        sa.sparse_hessian(np.sin, np.ones(2))


def test_auto_mode_prefers_rows_for_wide():
    f = lambda x: np.stack([np.sum(x ** 2), np.sum(np.cos(x))])   # noqa: E731
    jac = sa.sparse_jacobian(f, np.ones(50), backend="numpy")
    assert jac.mode == "reverse" and jac.n_colors == 2
    x = np.linspace(0, 1, 50)
    np.testing.assert_allclose(jac(x).toarray(), np.stack([2 * x, -np.sin(x)]), atol=1e-14)


def test_backend_numba_missing_or_unsupported_is_clear(monkeypatch):
    import sparsead.prepared._backends as prep

    def broken():
        raise ImportError("no module")
    monkeypatch.setattr(prep, "_numba_module", broken)
    with pytest.raises(NotImplementedError, match="numba"):
        sa.sparse_jacobian(np.sin, np.ones(3), backend="numba")
    assert sa.sparse_jacobian(np.sin, np.ones(3), backend="auto").backend == "numpy"


def test_gradient_caches_and_checks():
    g = sa.gradient(lambda x, a: np.sum(a * x ** 2))
    np.testing.assert_allclose(g(np.ones(3), np.arange(3.0)), [0.0, 2.0, 4.0])
    np.testing.assert_allclose(g(np.ones(3), np.ones(3)), [2.0, 2.0, 2.0])
    np.testing.assert_allclose(g(np.ones(2), np.ones(2)), [2.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        g(np.ones(3) * 1j, np.ones(3))


def test_auto_mode_skips_a_side_its_lower_bound_rules_out(monkeypatch):
    """A dense row forces n column colors; auto mode must not pay O(n^2) to find that out."""
    import sparsead.prepared._choice as prepared

    calls = []
    real = prepared.color

    def spy(pattern, problem, *a, **k):
        calls.append(problem)
        return real(pattern, problem, *a, **k)

    monkeypatch.setattr(prepared, "color", spy)

    def f(x):
        return np.concatenate([x[1:] ** 2 - x[:-1], [np.sum(x ** 2)]])

    x = np.random.default_rng(3).random(200)
    jac = sa.sparse_jacobian(f, x, backend="numpy")
    assert jac.mode in ("reverse", "bidirectional")
    assert "column" not in calls
    dense = np.vstack([np.diag(2 * x[1:]) @ np.eye(200)[1:] - np.eye(200)[:-1], 2 * x])
    np.testing.assert_allclose(jac(x).toarray(), dense, rtol=1e-12, atol=1e-12)


def test_a_vector_f_is_refused_alike_wherever_a_scalar_is_needed():
    """One check, one type: ScalarOutputError, an InputError and a TracingError at once."""
    f = lambda x: x ** 2                                        # noqa: E731
    for call in (lambda: sa.gradient(f)(np.ones(3)), lambda: sa.hvp(f, np.ones(3), np.ones(3)),
                 lambda: sa.sparse_hessian(f, np.ones(3))):
        with pytest.raises(sa.ScalarOutputError, match=r"needs a scalar `f`.*shape \(3,\)"):
            call()
    assert issubclass(sa.ScalarOutputError, sa.InputError)
    assert issubclass(sa.ScalarOutputError, sa.TracingError)
