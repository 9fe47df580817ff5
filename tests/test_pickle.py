"""Prepared operators and solver adapters pickle, and work in multiprocessing workers.

A pickled operator is its preparation call; the receiving process prepares again
and loads the compiled kernel from the cache. The oracle: the unpickled object
(or a worker) returns exactly what the original returns, at points other than
the one it was prepared at.
"""

import multiprocessing
import pickle
import sys

import numpy as np
import pytest
from scipy.optimize import root

import sparsead as sa
from sparsead.examples import (arwhead, broyden_tridiagonal, brusselator, brusselator_x0,
                               rosenbrock)


def chain(x, a):
    """A module-level function with an extra (baked) argument."""
    return np.sum(a * (x[1:] - x[:-1] ** 2) ** 2)


def circle(x):
    return np.stack([np.sum(x ** 2)])


def ivp_rhs(t, y):
    return brusselator(y, t)


def _same(a, b):
    if hasattr(a, "toarray"):
        return a.shape == b.shape and (a != b).nnz == 0 and np.array_equal(a.indptr, b.indptr)
    return np.array_equal(np.asarray(a), np.asarray(b))


def _round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


@pytest.fixture
def no_cloudpickle(monkeypatch):
    for name in [m for m in sys.modules if m.endswith("cloudpickle")]:
        monkeypatch.delitem(sys.modules, name)


def test_prepared_operators_round_trip():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(40)
    ops = [
        sa.sparse_jacobian(broyden_tridiagonal, np.ones(40)),
        sa.sparse_jacobian(broyden_tridiagonal, np.ones(40), mode="bidirectional",
                           backend="numpy"),
        sa.sparse_hessian(arwhead, np.ones(40)),
        sa.sparse_hessian(chain, np.ones(40), (2.5,), decompression="substitution",
                          triangle="lower"),
    ]
    for op in ops:
        back = _round_trip(op)
        assert type(back) is type(op)
        assert (back.pattern != op.pattern).nnz == 0
        assert np.array_equal(back.coloring.colors, op.coloring.colors)
        how = "decompression" if isinstance(op, sa.SparseHessian) else "mode"
        assert (getattr(back, how), back.backend, back.n_colors) == \
            (getattr(op, how), op.backend, op.n_colors)
        args = (2.5,) if op.f is chain else ()
        assert _same(back(x, *args), op(x, *args))


def test_gradient_and_solver_adapters_round_trip():
    x = np.linspace(-1, 1, 12)
    g = sa.gradient(rosenbrock)
    assert np.array_equal(_round_trip(g)(x), g(x))
    for method in ("trust-constr", "trust-ncg", "trust-exact", "BFGS"):
        kw = sa.derivatives(rosenbrock, x, method=method)
        back = _round_trip(kw)
        assert sorted(back) == sorted(kw)
        for key, fn in kw.items():
            if key == "hessp":
                assert np.array_equal(back[key](x, x), fn(x, x))
            else:
                assert _same(back[key](x), fn(x))
    for method in ("hybr", "lm"):
        jac = _round_trip(sa.derivatives(broyden_tridiagonal, x, method=method))["jac"]
        assert np.array_equal(jac(x), sa.sparse_jacobian(broyden_tridiagonal, x)(x).toarray())
    M = sa.derivatives(broyden_tridiagonal, x, method="krylov")["options"]["jac_options"]["inner_M"]
    M.setup(x, broyden_tridiagonal(x), broyden_tridiagonal)
    M2 = _round_trip(M)
    M2.update(x, broyden_tridiagonal(x))
    assert np.allclose(M2 @ x, M @ x, rtol=0, atol=1e-14)
    con = _round_trip(sa.nonlinear_constraint(circle, x, 0.0, 1.0))
    assert _same(con.jac(x), sa.sparse_jacobian(circle, x)(x))
    assert con.hess(x, np.array([2.0])).toarray().trace() == 4.0 * x.size
    y0 = brusselator_x0(4)
    jac = sa.ode_jacobian(ivp_rhs, y0)
    assert _same(_round_trip(jac)(0.3, y0), jac(0.3, y0))


def test_lambdas_are_refused_with_a_clear_message(no_cloudpickle):
    msg = r"<lambda>` is a lambda or is defined inside another function.*module level"
    with pytest.raises(pickle.PicklingError, match=msg):
        pickle.dumps(sa.sparse_jacobian(lambda x: x[1:] * x[:-1], np.ones(4)))
    with pytest.raises(pickle.PicklingError, match=msg):
        pickle.dumps(sa.gradient(lambda x: np.sum(x ** 2)))
    with pytest.raises(pickle.PicklingError, match=msg):
        pickle.dumps(sa.nonlinear_constraint(lambda x: x[:1] ** 2, np.ones(3), 0.0, 1.0))
    with pytest.raises(pickle.PicklingError, match=msg):
        pickle.dumps(sa.ode_jacobian(lambda t, y: -y, np.ones(3)))

    def local(x):
        return np.sum(x ** 2)

    with pytest.raises(pickle.PicklingError, match="local.*defined inside another function"):
        pickle.dumps(sa.sparse_hessian(local, np.ones(3)))


def _evaluate(args):
    op, x = args
    return op(x)


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_multiprocessing_pool(start):
    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start!r} start method on this platform")
    jac = sa.sparse_jacobian(brusselator, brusselator_x0(6))
    hess = sa.sparse_hessian(arwhead, np.ones(30))
    rng = np.random.default_rng(1)
    points = [(jac, rng.standard_normal(jac.shape[1])) for _ in range(3)]
    points += [(hess, rng.standard_normal(30)) for _ in range(3)]
    with multiprocessing.get_context(start).Pool(2) as pool:
        results = pool.map(_evaluate, points)
    for (op, x), got in zip(points, results):
        assert _same(got, op(x))


def test_krylov_preconditioner_works_after_unpickling():
    x0 = -np.ones(200)
    kw = _round_trip(sa.derivatives(broyden_tridiagonal, x0, method="krylov"))
    sol = root(broyden_tridiagonal, x0, method="krylov", **kw)
    assert sol.success and np.abs(broyden_tridiagonal(sol.x)).max() < 1e-6
