"""scipy.optimize.root with sparsead: the Jacobian form each method accepts.

hybr and lm (MINPACK) take a dense ``jac``; krylov takes a preconditioner
``inner_M`` (here the exact sparse Jacobian, LU-factored at every Newton step);
the quasi-Newton methods take nothing, and asking for their derivatives is an
error that says which methods do take them.
"""

import numpy as np
import pytest
from scipy.optimize import root

import sparsead as sa
from sparsead.examples import bratu, broyden_tridiagonal


def shifted(x, c):
    """A system with an extra argument: broyden_tridiagonal(x) = c."""
    return broyden_tridiagonal(x) - c


@pytest.mark.parametrize("method", ["hybr", "lm"])
def test_minpack_methods_get_the_exact_dense_jacobian(method):
    x0 = -np.ones(60)
    c = np.linspace(0.0, 0.1, 60)
    kw = sa.derivatives(shifted, x0, (c,), method=method)
    assert list(kw) == ["jac"]
    J = kw["jac"](x0, c)
    assert isinstance(J, np.ndarray) and J.shape == (60, 60)
    assert np.array_equal(J, sa.sparse_jacobian(shifted, x0, (c,))(x0, c).toarray())
    sol = root(shifted, x0, args=(c,), method=method, **kw)
    assert sol.success and np.abs(shifted(sol.x, c)).max() < 1e-8
    assert sol.njev >= 1  # MINPACK used our Jacobian (hybr: once, then Broyden updates)
    fd = root(shifted, x0, args=(c,), method=method)
    assert sol.nfev < fd.nfev  # no finite-difference columns


def test_krylov_gets_an_exact_lu_preconditioner():
    x0 = np.zeros(32 * 32)
    kw = sa.derivatives(bratu, x0, method="krylov")
    M = kw["options"]["jac_options"]["inner_M"]
    sol = root(bratu, x0, method="krylov", **kw)
    plain = root(bratu, x0, method="krylov")
    assert sol.success and np.abs(bratu(sol.x)).max() < 1e-5
    assert sol.nfev < plain.nfev / 3  # measured: 16 vs 114 evaluations
    assert M.n_factorizations == sol.nit  # setup, then an update after each step but the last
    M.update(sol.x, bratu(sol.x))
    v = np.random.default_rng(0).standard_normal(x0.size)
    J = sa.sparse_jacobian(bratu, x0)(sol.x)
    assert np.allclose(J @ (M @ v), v, atol=1e-8)  # M is J(x)^-1


def test_krylov_options_merge_and_singular_jacobian_falls_back():
    x0 = -np.ones(100)
    kw = sa.derivatives(broyden_tridiagonal, x0, method="krylov")
    kw["options"]["fatol"] = 1e-12
    sol = root(broyden_tridiagonal, x0, method="krylov", **kw)
    assert sol.success and np.abs(broyden_tridiagonal(sol.x)).max() < 1e-12
    M = sa.derivatives(lambda x: x ** 2, np.ones(3), method="krylov")[
        "options"]["jac_options"]["inner_M"]
    M.update(np.zeros(3), np.zeros(3))  # J = diag(2x) = 0: exactly singular
    assert np.array_equal(M @ np.arange(3.0), np.arange(3.0))


@pytest.mark.parametrize("method", ["broyden1", "broyden2", "anderson", "linearmixing",
                                    "diagbroyden", "excitingmixing", "df-sane"])
def test_methods_without_a_jacobian_say_which_methods_take_one(method):
    with pytest.raises(ValueError, match=rf"{method!r} builds its own Jacobian.*'hybr'.*'krylov'"):
        sa.derivatives(broyden_tridiagonal, np.ones(5), method=method)


def test_bad_requests_name_the_argument():
    with pytest.raises(ValueError, match=r"`method` must be a method of scipy.optimize.minimize "
                                         r"\(trust-constr.*\) or of scipy.optimize.root "
                                         r"\(hybr, lm, krylov.*\), got 'newton'"):
        sa.derivatives(broyden_tridiagonal, np.ones(5), method="newton")
    with pytest.raises(ValueError, match="`fun` must return a 1-D array of exactly 5 values"):
        sa.derivatives(lambda x: np.sum(x), np.ones(5), method="hybr")
    with pytest.raises(ValueError, match="at least 5 values"):
        sa.derivatives(lambda x: x[:3], np.ones(5), method="lm")
    with pytest.raises(ValueError, match="`hess` must be None for root"):
        sa.derivatives(broyden_tridiagonal, np.ones(5), method="hybr", hess=True)
    with pytest.raises(ValueError, match="'Nelder-Mead' uses no derivatives"):
        sa.derivatives(lambda x: np.sum(x ** 2), np.ones(5), method="Nelder-Mead")
    with pytest.raises(ValueError, match="For a system of equations pass a root method"):
        sa.derivatives(broyden_tridiagonal, np.ones(5), method="BFGS")
    with pytest.raises(ValueError, match="`method` must be a scipy.optimize.minimize or root"):
        sa.derivatives(broyden_tridiagonal, np.ones(5), method=3)


def test_lm_accepts_more_equations_than_unknowns():
    x0 = np.ones(4)
    kw = sa.derivatives(lambda x: np.concatenate([x - 2.0, x - 2.0]), x0, method="lm")
    assert kw["jac"](x0).shape == (8, 4)
