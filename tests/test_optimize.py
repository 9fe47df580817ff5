"""Solvers with sparsead derivatives: SciPy minimize / least_squares / solve_ivp and IPOPT.

Every test runs a real solver on a small problem with a known solution (or a
reference run with a hand-written dense Jacobian/Hessian) and checks it is
reached; the error tests check that bad input names the argument.
"""

import doctest
import importlib.util
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp
from scipy.optimize import Bounds, LinearConstraint, NonlinearConstraint, least_squares, minimize

import sparsead as sa
from sparsead import optimize as so
from sparsead.examples import broyden_tridiagonal, brusselator, brusselator_x0, rosenbrock

needs_ipopt = pytest.mark.skipif(importlib.util.find_spec("cyipopt") is None,
                                 reason="cyipopt not installed (the `ipopt` extra)")


# --- problems and hand-written references -------------------------------------------

def hs071_f(x):
    return x[0] * x[3] * np.sum(x[:3]) + x[2]


HS071_CONS = [{"type": "ineq", "fun": lambda x: np.prod(x) - 25.0},
              {"type": "eq", "fun": lambda x: np.sum(x ** 2) - 40.0}]
HS071_X = np.array([1.0, 4.74299963, 3.82114998, 1.37940829])
HS071_F = 17.0140173


def hs071_lagrangian_hessian(x, lam, sigma):
    """Dense ``sigma H_f + lam0 H_prod + lam1 H_sumsq`` (IPOPT's HS071 example)."""
    H = sigma * np.array([[2 * x[3], x[3], x[3], 2 * x[0] + x[1] + x[2]],
                          [x[3], 0, 0, x[0]],
                          [x[3], 0, 0, x[0]],
                          [2 * x[0] + x[1] + x[2], x[0], x[0], 0]])
    P = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if i != j:
                P[i, j] = np.prod([x[k] for k in range(4) if k not in (i, j)])
    return H + lam[0] * P + lam[1] * 2 * np.eye(4)


def brusselator_dense_jacobian(y, alpha=10.0):
    """The exact Brusselator Jacobian, written by hand (periodic 5-point Laplacian)."""
    n = y.size
    N = int(round((n // 2) ** 0.5))
    a = alpha * (N - 1) ** 2
    I = np.eye(N)
    shift = np.roll(I, 1, axis=0) + np.roll(I, -1, axis=0)
    lap = np.kron(shift, I) + np.kron(I, shift) - 4.0 * np.eye(N * N)
    u, v = y[:N * N], y[N * N:]
    J = np.zeros((n, n))
    J[:N * N, :N * N] = np.diag(2 * u * v - 4.4) + a * lap
    J[:N * N, N * N:] = np.diag(u * u)
    J[N * N:, :N * N] = np.diag(3.4 - 2 * u * v)
    J[N * N:, N * N:] = np.diag(-u * u) + a * lap
    return J


def bru_rhs(t, y):
    return brusselator(y, t)


def chain_constraints(x):
    return x[:-1] ** 2 + x[1:] ** 2


def chain_lagrangian_hessian(v, n):
    d = np.zeros(n)
    d[:-1] += 2 * v
    d[1:] += 2 * v
    return np.diag(d)


# --- scipy.optimize.minimize ---------------------------------------------------------

def test_trust_constr_bound_constrained_rosenbrock():
    n = 40
    x0 = np.full(n, -1.2)
    kw = so.derivatives(rosenbrock, x0, method="trust-constr")
    assert sp.issparse(kw["hess"](x0)) and kw["hess"](x0).nnz == 2 * n
    res = minimize(rosenbrock, x0, method="trust-constr", bounds=Bounds(-2.0, 0.9), **kw,
                   options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 2000})
    expected = np.tile([0.9, 0.81], n // 2)   # x_odd pinned at its bound, x_even = x_odd**2
    assert np.allclose(res.x, expected, rtol=0, atol=1e-5)   # interior point: barrier slack
    assert res.fun == pytest.approx(n // 2 * 0.01, rel=1e-4)


@pytest.mark.parametrize("method", ["Newton-CG", "trust-ncg", "trust-krylov", "trust-exact"])
def test_hessian_forms_by_method(method):
    x0 = np.zeros(20)
    kw = so.derivatives(rosenbrock, x0, method=method)
    form = {"Newton-CG": "hess", "trust-exact": "hess"}.get(method, "hessp")
    assert set(kw) == {"jac", form}
    tight = {"Newton-CG": {"xtol": 1e-10}}.get(method, {"gtol": 1e-8})
    res = minimize(rosenbrock, x0, method=method, **kw, options=tight)
    assert res.success and np.allclose(res.x, 1.0, atol=1e-5)


def test_newton_cg_with_hessp_and_args():
    def f(x, c):
        return np.sum(c * (x - 1.0) ** 4) + np.sum((x[1:] - x[:-1]) ** 2) + np.sum(x ** 2)

    c = np.linspace(1.0, 2.0, 30)
    x0 = np.zeros(30)
    kw = so.derivatives(f, x0, (c,), hess="hessp")
    p = np.arange(30.0)
    H = sa.sparse_hessian(f, x0, (c,))(x0 + 0.3, c).toarray()
    assert np.allclose(kw["hessp"](x0 + 0.3, p, c), H @ p)
    res = minimize(f, x0, args=(c,), method="Newton-CG", **kw, options={"xtol": 1e-12})
    ref = minimize(f, x0, args=(c,), method="BFGS", jac=kw["jac"], options={"gtol": 1e-12})
    assert np.allclose(res.x, ref.x, atol=1e-6)
    assert np.linalg.norm(kw["jac"](res.x, c)) < 1e-7


def test_only_jac_for_quasi_newton_methods():
    kw = so.derivatives(rosenbrock, np.zeros(6), method="L-BFGS-B")
    assert set(kw) == {"jac"}
    res = minimize(rosenbrock, np.zeros(6), method="L-BFGS-B", **kw, options={"gtol": 1e-10})
    assert np.allclose(res.x, 1.0, atol=1e-4)


def test_nonlinear_constraint_lagrangian_hessian_and_solution():
    n = 6
    x0 = np.full(n, 0.5)
    con = so.nonlinear_constraint(chain_constraints, x0, -np.inf, 2.0)
    rng = np.random.default_rng(0)
    x, v = rng.normal(size=n), rng.normal(size=n - 1)
    Hv = con.hess(x, v)
    assert sp.issparse(Hv)
    assert np.allclose(Hv.toarray(), chain_lagrangian_hessian(v, n), atol=1e-12)
    Jx = con.jac(x).toarray()
    ref = np.zeros((n - 1, n))
    ref[np.arange(n - 1), np.arange(n - 1)] = 2 * x[:-1]
    ref[np.arange(n - 1), np.arange(1, n)] = 2 * x[1:]
    assert np.allclose(Jx, ref, atol=1e-12)
    # pattern is the union over multipliers: a zero multiplier keeps its entries
    assert con.hess(x, np.zeros(n - 1)).nnz == con.hess_pattern.nnz == n

    def f(x):
        return np.sum((x - 2.0) ** 2)

    # c(x) = 2: |x| alternates between a and b with a^2 + b^2 = 2, so x = 1 is the
    # unique minimiser (multipliers (1, 0, 1, 0, 1)); equality -> SQP, no barrier slack
    eq = so.nonlinear_constraint(chain_constraints, x0, 2.0, 2.0)
    res = minimize(f, x0, method="trust-constr", constraints=[eq],
                   options={"gtol": 1e-10, "xtol": 1e-12}, **so.derivatives(f, x0))
    assert np.allclose(res.x, 1.0, rtol=0, atol=1e-9)
    assert np.allclose(res.v[0], [1, 0, 1, 0, 1], atol=1e-8)


def test_nonlinear_constraint_general_hessian_matches_dense_reference():
    def c(x, s):
        return np.stack([s * x[0] * np.sin(x[1]), np.exp(x[2]) * x[3] ** 2, x[0] * x[3]])

    x = np.array([0.3, -1.1, 0.4, 2.0])
    con = so.nonlinear_constraint(c, np.ones(4), 0.0, 1.0, args=(2.0,))
    v = np.array([0.7, -1.3, 0.5])
    ref = np.zeros((4, 4))
    ref[0, 1] = ref[1, 0] = v[0] * 2.0 * np.cos(x[1])
    ref[1, 1] = -v[0] * 2.0 * x[0] * np.sin(x[1])
    ref[2, 2] = v[1] * np.exp(x[2]) * x[3] ** 2
    ref[2, 3] = ref[3, 2] = v[1] * np.exp(x[2]) * 2 * x[3]
    ref[3, 3] = v[1] * np.exp(x[2]) * 2
    ref[0, 3] += v[2]
    ref[3, 0] += v[2]
    assert np.allclose(con.hess(x, v).toarray(), ref, rtol=1e-12, atol=1e-12)
    assert np.allclose(con.fun(x), c(x, 2.0))


# --- least_squares ---------------------------------------------------------------------

@pytest.mark.parametrize("tr_solver", ["lsmr", "exact"])
def test_least_squares_broyden(tr_solver):
    n = 400 if tr_solver == "lsmr" else 60
    x0 = -np.ones(n)
    J = sa.sparse_jacobian(broyden_tridiagonal, x0)
    jac = J if tr_solver == "lsmr" else (lambda x: J(x).toarray())
    res = least_squares(broyden_tridiagonal, x0, jac=jac, method="trf", tr_solver=tr_solver,
                        xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert np.max(np.abs(broyden_tridiagonal(res.x))) < 1e-10
    sparsity = sa.jacobian_sparsity(broyden_tridiagonal, x0) if tr_solver == "lsmr" else None
    fd = least_squares(broyden_tridiagonal, x0, jac_sparsity=sparsity, method="trf",
                       tr_solver=tr_solver, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert np.allclose(res.x, fd.x, atol=1e-8)
    x = res.x + 0.1
    dense = np.diag(3.0 - 4.0 * x) - np.eye(n, k=-1) - 2.0 * np.eye(n, k=1)
    assert np.allclose(J(x).toarray(), dense, atol=1e-13)


def test_newton_recipe_with_spsolve():
    """The README's root-finding recipe: Newton with a sparse Jacobian and spsolve."""
    from scipy.sparse.linalg import spsolve

    x = -np.ones(2000)
    J = sa.sparse_jacobian(broyden_tridiagonal, x)
    for _ in range(20):
        F = broyden_tridiagonal(x)
        if np.linalg.norm(F, np.inf) < 1e-12:
            break
        x = x - spsolve(J(x).tocsc(), F)
    assert np.linalg.norm(broyden_tridiagonal(x), np.inf) < 1e-12


# --- solve_ivp ---------------------------------------------------------------------------

def test_ode_jacobian_matches_dense_reference():
    y0 = brusselator_x0(8)
    jac = so.ode_jacobian(bru_rhs, y0)
    assert jac.pattern.nnz == 6 * y0.size
    y = y0 + 0.1 * np.cos(np.arange(y0.size))
    for t in (0.0, 2.0):   # the forcing switches on at t = 1.1 but does not depend on y
        ref = brusselator_dense_jacobian(y)
        assert np.allclose(jac(t, y).toarray(), ref, rtol=1e-13, atol=1e-10)


def test_brusselator_bdf_matches_dense_exact_jacobian():
    y0 = brusselator_x0(8)
    jac = so.ode_jacobian(bru_rhs, y0)
    opts = dict(method="BDF", rtol=1e-8, atol=1e-10)
    sol = solve_ivp(bru_rhs, (0.0, 1.5), y0, jac=jac, **opts)
    ref = solve_ivp(bru_rhs, (0.0, 1.5), y0, jac=lambda t, y: brusselator_dense_jacobian(y), **opts)
    assert sol.status == 0 and ref.status == 0
    assert np.allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-9, atol=1e-11)
    assert sol.njev >= 1


@pytest.mark.parametrize("method", ["Radau", "LSODA"])
def test_brusselator_radau_lsoda(method):
    y0 = brusselator_x0(6)
    jac = so.ode_jacobian(bru_rhs, y0, dense=(method == "LSODA"))
    opts = dict(method=method, rtol=1e-8, atol=1e-10)
    sol = solve_ivp(bru_rhs, (0.0, 1.5), y0, jac=jac, **opts)
    ref = solve_ivp(bru_rhs, (0.0, 1.5), y0, jac=lambda t, y: brusselator_dense_jacobian(y), **opts)
    assert sol.status == 0
    assert np.allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-8)


def test_ode_jacobian_args_and_jac_sparsity():
    def rhs(t, y, k):
        return -k * y ** 3 + np.concatenate([y[1:], y[:1]]) * np.sin(t)

    y0 = np.linspace(0.5, 1.5, 10)
    jac = so.ode_jacobian(rhs, y0, args=(np.ones(10),))
    k = np.linspace(1.0, 3.0, 10)
    sol = solve_ivp(rhs, (0.0, 2.0), y0, method="BDF", jac=jac, args=(k,), rtol=1e-9, atol=1e-12)
    fd = solve_ivp(rhs, (0.0, 2.0), y0, method="BDF", jac_sparsity=jac.pattern, args=(k,),
                   rtol=1e-9, atol=1e-12)
    assert np.allclose(sol.y[:, -1], fd.y[:, -1], rtol=1e-6)
    y, t = sol.y[:, -1], 0.7
    dense = np.diag(-3 * k * y ** 2) + np.sin(t) * np.roll(np.eye(10), 1, axis=1)
    assert np.allclose(jac(t, y, k).toarray(), dense, atol=1e-13)


# --- IPOPT ---------------------------------------------------------------------------------

@needs_ipopt
def test_hs071_minimize_ipopt():
    res = so.minimize_ipopt(hs071_f, np.array([1.0, 5.0, 5.0, 1.0]), bounds=[(1, 5)] * 4,
                            constraints=HS071_CONS)
    assert res.success and res.status == 0
    assert res.fun == pytest.approx(HS071_F, rel=1e-6)
    assert np.allclose(res.x, HS071_X, atol=1e-6)
    assert res.nit > 0 and res.nhev > 0 and isinstance(res.message, str)


@needs_ipopt
def test_hs071_ipopt_hessian_is_lower_lagrangian():
    nlp = so.ipopt_problem(hs071_f, np.ones(4), bounds=Bounds(1, 5), constraints=HS071_CONS)
    cb = nlp.callbacks
    rows, cols = cb.hessianstructure()
    assert np.all(rows >= cols)
    x, lam, sigma = np.array([1.2, 4.1, 3.3, 1.7]), np.array([0.3, -2.0]), 0.8
    dense = np.zeros((4, 4))
    dense[rows, cols] = cb.hessian(x, lam, sigma)
    assert np.allclose(dense, np.tril(hs071_lagrangian_hessian(x, lam, sigma)), atol=1e-12)
    jr, jc = cb.jacobianstructure()
    J = np.zeros((2, 4))
    J[jr, jc] = cb.jacobian(x)
    assert np.allclose(J[0], [np.prod(x) / xi for xi in x]) and np.allclose(J[1], 2 * x)


@needs_ipopt
def test_ipopt_constraint_objects_and_limited_memory():
    both = lambda x: np.stack([np.prod(x), np.sum(x ** 2)])  # noqa: E731
    cons = [NonlinearConstraint(both, [25, 40], [np.inf, 40]),
            LinearConstraint(np.ones((1, 4)), -np.inf, 100.0)]
    x0 = np.array([1.0, 5.0, 5.0, 1.0])
    res = so.minimize_ipopt(hs071_f, x0, bounds=[(1, 5)] * 4, constraints=cons)
    assert np.allclose(res.x, HS071_X, atol=1e-6)
    lbfgs = so.minimize_ipopt(hs071_f, x0, bounds=[(1, 5)] * 4, constraints=HS071_CONS,
                              options={"hessian_approximation": "limited-memory"})
    assert lbfgs.success and lbfgs.nhev == 0
    assert np.allclose(lbfgs.x, HS071_X, atol=1e-5)


@needs_ipopt
def test_ipopt_bounds_only_with_args_and_kwargs():
    def f(x, a, scale=1.0):
        return scale * np.sum((x - a) ** 2) + np.sum((x[1:] - x[:-1]) ** 2)

    a = np.linspace(-2.0, 2.0, 12)
    res = so.minimize_ipopt(f, np.zeros(12), args=(a,), kwargs={"scale": 3.0},
                            bounds=Bounds(-1.0, 1.0))
    ref = minimize(f, np.zeros(12), args=(a, 3.0), method="L-BFGS-B", bounds=Bounds(-1.0, 1.0),
                   options={"ftol": 1e-15, "gtol": 1e-12})
    assert res.success and np.allclose(res.x, ref.x, atol=1e-6)


# --- bad input -------------------------------------------------------------------------------

def test_ode_jacobian_bad_input():
    y0 = brusselator_x0(4)
    with pytest.raises(ValueError, match=r"rhs\(t, y\)"):
        so.ode_jacobian(brusselator, y0)                 # odeint order f(y, t)
    with pytest.raises(ValueError, match=r"`rhs\(t0, y0\)` must return an array of shape \(32,\)"):
        so.ode_jacobian(lambda t, y: y[:-1], y0)
    with pytest.raises(ValueError, match="`y0` must be a 1-D array"):
        so.ode_jacobian(bru_rhs, y0.reshape(2, -1))
    jac = so.ode_jacobian(bru_rhs, y0)
    with pytest.raises(ValueError, match=r"`t` must be a scalar.*jac\(t, y\)"):
        jac(y0, 0.0)
    with pytest.raises(ValueError, match=r"`y` must have shape \(32,\) like y0, got shape \(31,\)"):
        jac(0.0, y0[:-1])
    with pytest.raises(ValueError, match="vectorized"):
        jac(0.0, np.stack([y0, y0], axis=1))


def test_constraint_bad_input():
    with pytest.raises(ValueError, match="`c` must return a scalar or a 1-D array"):
        so.nonlinear_constraint(lambda x: np.outer(x, x), np.ones(3), 0.0, 1.0)
    con = so.nonlinear_constraint(chain_constraints, np.ones(5), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"`v` must have shape \(4,\).*got shape \(5,\)"):
        con.hess(np.ones(5), np.ones(5))
    with pytest.raises(sa.ScalarOutputError, match="minimize needs a scalar `fun`.*root method"):
        so.derivatives(chain_constraints, np.ones(5))
    with pytest.raises(ValueError, match="`hess` must be"):
        so.derivatives(rosenbrock, np.ones(4), hess="sparse")
    with pytest.raises(ValueError, match="`x0` must be a 1-D array"):
        so.derivatives(rosenbrock, np.ones((2, 2)))


@needs_ipopt
def test_ipopt_bad_input():
    x0 = np.ones(4)
    with pytest.raises(ValueError, match="`method` must be None"):
        so.minimize_ipopt(hs071_f, x0, method="SLSQP")
    with pytest.raises(ValueError, match="`jac` must be None"):
        so.minimize_ipopt(hs071_f, x0, jac=lambda x: x)
    with pytest.raises(ValueError, match=r"`bounds` must be .* 4 \(min, max\) pairs, got 3"):
        so.ipopt_problem(hs071_f, x0, bounds=[(1, 5)] * 3)
    with pytest.raises(ValueError, match=r"`constraints\[0\]` must have 'type'"):
        so.ipopt_problem(hs071_f, x0, constraints=[{"type": "le", "fun": np.sum}])
    with pytest.raises(ValueError, match=r"`constraints\[1\].fun` must return a scalar or a 1-D"):
        so.ipopt_problem(hs071_f, x0, constraints=[
            HS071_CONS[0], NonlinearConstraint(lambda x: np.outer(x, x), 0, 1)])
    with pytest.raises(ValueError, match="`hessian` must be"):
        so.ipopt_problem(hs071_f, x0, hessian="bfgs")


def test_missing_cyipopt_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cyipopt", None)
    from sparsead import _ipopt
    monkeypatch.setattr(_ipopt, "_PROBLEM_CLASS", [])
    with pytest.raises(ImportError, match=r'pip install (-e ".*|"sparsead)\[ipopt\]"'):
        so.ipopt_problem(hs071_f, np.ones(4))


def test_public_names():
    for name in so.__all__:
        assert getattr(sa, name) is getattr(so, name)
    assert sa.optimize is so


@needs_ipopt
def test_docstring_examples():
    failures, tried = doctest.testmod(so, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
