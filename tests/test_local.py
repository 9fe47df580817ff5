"""Derivatives at a point for code that branches on values: ``local=True`` (issue 13, item 3).

Branches (``if``, builtin ``max``/``min``, ``int()``, ``bool()``, ``float()`` of a
comparison) are followed at the traced point and recorded as guards; every call checks
them and traces again when one flips. The derivatives must equal finite differences in
every region, traces must happen only on flips, and colorings are re-used when the
pattern is unchanged.
"""

import pickle

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

import sparsead as sa
from sparsead import TracerConversionError
from sparsead.tracing.testing import numeric_hessian, numeric_jacobian


def _near(x, z=0.3):
    """The issue's style: a branch on `abs(x[j] - z) < 0.05` for every element."""
    out = np.zeros_like(x)
    for j in range(x.size):
        if abs(x[j] - z) < 0.05:
            out[j] = x[j] ** 2
        else:
            out[j] = np.sin(x[j]) * x[(j + 1) % x.size]
    return out


def _builtin_max_min(x):
    m = max(x[0], x[1], x[2])            # builtin max over traced values
    k = min(x[3], 2.0 * x[0])
    return np.stack([m * x[3], k ** 2, x[1] * int(x[2] > 0) + float(x[0] >= 0) * x[2]])


def _energy(x):
    s = 0.0
    for i in range(x.size - 1):
        d = x[i + 1] - x[i]
        s = s + (d ** 2 if d > 0 else 0.5 * d ** 4)
    return s + max(x[0], x[-1]) ** 2


@pytest.mark.parametrize("f, points", [
    (_near, [np.linspace(0.0, 1.0, 12), np.linspace(0.0, 1.0, 12) + 0.02,
             np.full(12, 0.31), np.linspace(0.0, 1.0, 12)]),
    (_builtin_max_min, [np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 2.0, -1.0, 1.0]),
                        np.array([-1.0, 5.0, 0.5, -4.0])]),
])
def test_local_jacobian_equals_finite_differences_in_every_region(f, points):
    jac = sa.sparse_jacobian(f, points[0], local=True)
    for x in points:
        J = jac(x).toarray()
        np.testing.assert_allclose(J, numeric_jacobian(f, x), rtol=1e-6, atol=1e-6)
        assert jac.guards_hold(x)
        P = jac.pattern.toarray()
        assert not (np.abs(J) > 0)[~P].any()


def test_traces_only_when_a_branch_flips_and_regions_are_reused():
    x1 = np.linspace(0.0, 1.0, 12)
    x2 = np.full(12, 0.31)
    jac = sa.sparse_jacobian(_near, x1, local=True)
    assert jac.n_traces == 1
    jac(x1 + 1e-3)                     # same branches
    assert jac.n_traces == 1
    jac(x2)
    assert jac.n_traces == 2
    for _ in range(3):                 # both regions are kept
        jac(x1)
        jac(x2)
    assert jac.n_traces == 2
    assert jac.n_guards == 12


def test_coloring_is_reused_when_the_pattern_does_not_change():
    def f(x):
        return x ** 2 if x[0] > 0 else x ** 3

    jac = sa.sparse_jacobian(f, np.ones(5), local=True)
    c1 = jac.coloring
    np.testing.assert_allclose(jac(-np.ones(5)).toarray(), 3 * np.eye(5))
    assert jac.n_traces == 2 and jac.coloring is c1


def test_local_hessian_and_gradient():
    x = np.linspace(-1.0, 1.0, 9) ** 3 + np.array([0, 0.5, 0, 0, 0.1, 0, 0, 0, 0])
    hess = sa.sparse_hessian(_energy, x, local=True)
    grad = sa.gradient(_energy, local=True)
    for z in (x, x[::-1].copy(), x + 0.3 * np.sin(np.arange(9.0))):
        np.testing.assert_allclose(hess(z).toarray(), numeric_hessian(_energy, z),
                                   rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(grad(z), numeric_jacobian(_energy, z).ravel(),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(hess.hessp(z, np.ones(9)), hess(z) @ np.ones(9), atol=1e-12)


def test_float_of_a_real_value_is_refused_but_of_a_comparison_works():
    with pytest.raises(TracerConversionError, match="derivative with respect to `x`"):
        sa.sparse_jacobian(lambda x: x * float(x[0]), np.ones(2), local=True)
    jac = sa.sparse_jacobian(lambda x: x * float(x[0] > 0) + x * int(np.floor(x[1])),
                             np.array([1.0, 2.5]), local=True)
    np.testing.assert_allclose(jac(np.array([1.0, 2.5])).toarray(), 3 * np.eye(2))
    np.testing.assert_allclose(jac(np.array([-1.0, 1.5])).toarray(), np.eye(2))


def test_traced_index_is_a_guard():
    def f(x):
        k = (x[0] > 0).astype(int)          # 0 or 1, used as an index
        return x[1:] * x[k]

    jac = sa.sparse_jacobian(f, np.array([1.0, 2.0, 3.0]), local=True)
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 2.0, 3.0])):
        np.testing.assert_allclose(jac(x).toarray(), numeric_jacobian(f, x), atol=1e-6)
    assert jac.n_traces == 2


def test_global_mode_keeps_refusing_branches():
    with pytest.raises(TracerConversionError, match="local=True"):
        sa.sparse_jacobian(_builtin_max_min, np.ones(4))


def test_args_take_part_in_the_guards():
    def f(x, a):
        return x * a[0] if a[0] > 0 else x ** 2

    jac = sa.sparse_jacobian(f, np.ones(3), (np.array([2.0]),), local=True)
    np.testing.assert_allclose(jac(np.ones(3), np.array([3.0])).toarray(), 3 * np.eye(3))
    np.testing.assert_allclose(jac(np.ones(3), np.array([-3.0])).toarray(), 2 * np.eye(3))
    assert jac.n_traces == 2


def test_derivatives_minimize_a_piecewise_objective():
    x0 = np.linspace(-1.0, 1.0, 8)
    kw = sa.derivatives(_energy, x0, method="trust-constr", local=True)
    res = minimize(_energy, x0, method="trust-constr", **kw)
    ref = minimize(_energy, x0, method="BFGS")
    assert res.fun <= ref.fun + 1e-6


def _switching_rhs(t, y):
    k = 2.0 if y[0] > 0.5 else 0.5          # a value-dependent switch
    dy = np.zeros_like(y)
    dy[0] = -k * y[0] + y[1] ** 2
    dy[1:] = -y[1:] + np.roll(y, 1)[1:] * 0.1
    return dy


def test_ode_jacobian_local_with_solve_ivp():
    y0 = np.linspace(1.0, 0.1, 6)
    jac = sa.ode_jacobian(_switching_rhs, y0, local=True)
    sol = solve_ivp(_switching_rhs, (0.0, 3.0), y0, method="BDF", jac=jac)
    ref = solve_ivp(_switching_rhs, (0.0, 3.0), y0, method="BDF")
    assert sol.status == 0
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-3, atol=1e-5)
    for y in (y0, 0.3 * y0):
        np.testing.assert_allclose(jac(0.0, y).toarray(),
                                   numeric_jacobian(lambda v: _switching_rhs(0.0, v), y),
                                   rtol=1e-6, atol=1e-6)


def test_nonlinear_constraint_local():
    def c(x):
        return np.stack([x[0] ** 2 if x[0] > 0 else -x[0], max(x[1], x[2]) * x[0]])

    con = sa.nonlinear_constraint(c, np.array([1.0, 2.0, 3.0]), -np.inf, 1.0, local=True)
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 4.0, 3.0])):
        np.testing.assert_allclose(con.jac(x).toarray(), numeric_jacobian(c, x), atol=1e-6)
        H = con.hess(x, np.array([1.0, 1.0])).toarray()
        np.testing.assert_allclose(H, numeric_hessian(lambda v: np.sum(c(v)), x), atol=1e-4)


def test_pickle_round_trip():
    jac = sa.sparse_jacobian(_builtin_max_min, np.array([1.0, 2.0, 3.0, 4.0]), local=True)
    back = pickle.loads(pickle.dumps(jac))
    x = np.array([3.0, 2.0, -1.0, 1.0])
    np.testing.assert_allclose(back(x).toarray(), jac(x).toarray())


def test_out_must_match_the_current_region():
    def f(x):
        return x * x[0] if x[0] > 0 else x

    jac = sa.sparse_jacobian(f, np.ones(3), local=True)
    J = jac(np.ones(3))
    assert jac(2 * np.ones(3), out=J) is J
    with pytest.raises(sa.DecompressionError):
        jac(-np.ones(3), out=J)                # another region, another pattern


def test_local_hessian_reports_its_decompression():
    def f(x):
        return np.sum(x ** 3) if x[0] > 0 else np.sum(x[1:] * x[:-1])
    hess = sa.sparse_hessian(f, np.ones(4), decompression="substitution", local=True,
                             backend="numpy")
    assert hess.decompression == "substitution"
    np.testing.assert_allclose(hess(np.ones(4)).toarray(), 6 * np.eye(4))
