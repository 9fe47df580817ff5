"""Plain numpy as people write it (issue 13): array literals, conversions, library code,
index helpers, complex numbers refused, scalar constraints.

Every example the issue lists under "What was seen" is a regression test here. Jacobians
and Hessians are checked against finite differences (:mod:`sparsead.tracing.testing`).
"""

import statistics
import threading

import numpy as np
import pytest
import scipy.optimize as so
from numpy import asarray  # bound before any trace begins: must still pass through

import sparsead as sa
from sparsead import TracerConversionError, TracingError, UnsupportedOperationError
from sparsead.tracing import trace
from sparsead.tracing.testing import numeric_hessian, numeric_jacobian


def _check_jacobian(f, x, args=()):
    """Pattern contains the numeric nonzeros; the prepared Jacobian equals finite differences."""
    J = sa.sparse_jacobian(f, x, args)(x, *args).toarray()
    num = numeric_jacobian(f, x, args)
    np.testing.assert_allclose(J, num, rtol=1e-6, atol=1e-6)
    P = sa.jacobian_sparsity(f, x, args).toarray()
    assert not (np.abs(num) > 1e-8)[~P].any()
    return P


# --- array literals and conversions -------------------------------------------------------

def _scipy_docs_fun(x):
    # the style of SciPy's own documentation (scipy.optimize.root)
    return np.array([x[0] + 0.5 * (x[0] - x[1]) ** 3 - 1.0, 0.5 * (x[1] - x[0]) ** 3 + x[1]])


def test_array_literal_of_traced_scalars():
    x = np.array([0.3, -0.2])
    P = _check_jacobian(_scipy_docs_fun, x)
    assert P.all()
    sol = so.root(_scipy_docs_fun, [0.0, 0.0], jac=lambda v: sa.sparse_jacobian(
        _scipy_docs_fun, x)(v).toarray())
    assert sol.success


def test_nested_literal_with_constants_and_dtype():
    def f(x):
        m = np.array([[x[0], 1.0], [2, x[1] * x[2]]], dtype=np.float64)
        return np.asarray([m[0, 0] * m[1, 1], m[1, 0] + x[2]])

    P = _check_jacobian(f, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(P, [[1, 1, 1], [0, 0, 1]])


def _first_line_asarray(x):
    x = np.asarray(x)
    y = np.asanyarray(x, dtype=float)
    z = np.ascontiguousarray(y)
    return z[1:] * x[:-1] + np.asarray_chkfinite(x)[1:]


def _imported_before(x):
    y = asarray(x)
    return y[1:] - y[:-1] ** 2


@pytest.mark.parametrize("f", [_first_line_asarray, _imported_before])
def test_conversions_of_the_input_pass_through(f):
    P = _check_jacobian(f, np.arange(1.0, 6.0))
    assert P.sum() == 8


def test_numpy_under_another_name_and_globals_of_exec_code():
    ns = {}
    exec("import numpy as xp\nfrom numpy import array as arr\n"
         "def f(x):\n    return arr([xp.asarray(x)[0] * x[1], x[2]])\n", ns)
    np.testing.assert_array_equal(sa.jacobian_sparsity(ns["f"], np.ones(3)).toarray(),
                                  [[1, 1, 0], [0, 0, 1]])


def test_array_copy_does_not_alias_but_asarray_does():
    def f(x):
        a = np.array(x)          # a copy
        b = np.asarray(x)        # the same array
        a[0] = 0.0
        b[1] = 0.0
        return np.concatenate([a, x])

    J = sa.sparse_jacobian(f, np.ones(3))(np.ones(3)).toarray()
    np.testing.assert_array_equal(J, [[0, 0, 0], [0, 1, 0], [0, 0, 1],
                                      [1, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_returning_a_list_of_traced_values_is_stacked():
    P = sa.jacobian_sparsity(lambda x: [x[0] ** 2, x[1] * x[2], 3.0], np.ones(3)).toarray()
    np.testing.assert_array_equal(P, [[1, 0, 0], [0, 1, 1], [0, 0, 0]])


@pytest.mark.parametrize("name", ["rosen", "rosen_der"])
def test_scipy_test_functions(name):
    fun = getattr(so, name)
    x = np.linspace(-1.0, 1.5, 6)
    _check_jacobian(fun, x)
    if name == "rosen":
        H = sa.sparse_hessian(fun, x)(x).toarray()
        np.testing.assert_allclose(H, so.rosen_hess(x), rtol=1e-12)
        g = sa.gradient(fun)(x)
        np.testing.assert_allclose(g, so.rosen_der(x), rtol=1e-12)


def test_scipy_rosen_hess_and_hess_prod():
    """They build their results with xp.zeros and item assignment (array API helpers)."""
    x = np.linspace(-1.0, 1.5, 5)
    _check_jacobian(so.rosen_hess, x)
    _check_jacobian(lambda v: so.rosen_hess_prod(v, np.arange(5.0)), x)
    H = sa.jacobian_sparsity(so.rosen_hess, x)
    assert H.shape == (25, 5)


def _zeros_loop(x):
    out = np.zeros(x.size)                 # numpy owns it -- but it was created while tracing
    for i in range(x.size):
        out[i] = x[i] ** 2 - x[(i + 1) % x.size]
    return out


def _views_and_creators(x):
    A = np.eye(3)
    A[0, 1] = x[0]
    row = A[1]                              # a view taken before the next write
    A[1, :] = x[1:4]
    col = A[:, 2]
    col *= x[4]                             # an in-place ufunc through a view
    B = np.full((2, 3), 2.0)
    np.copyto(B, x[:3])
    v = np.array([0.0, 1.0])                # a copy made while tracing
    v[0] = x[1] * x[2]
    return np.concatenate([(A @ x[:3]) + row.sum(), B.ravel(), v, A.T[2]])


@pytest.mark.parametrize("f", [_zeros_loop, _views_and_creators])
def test_arrays_created_while_tracing_take_traced_values(f):
    x = np.linspace(0.5, 1.7, 5)
    _check_jacobian(f, x)
    g = lambda v: np.sum(f(v) ** 2)  # noqa: E731
    np.testing.assert_allclose(sa.sparse_hessian(g, x)(x).toarray(), numeric_hessian(g, x),
                               rtol=1e-5, atol=1e-5)


def test_created_arrays_stay_plain_until_written():
    import scipy.sparse as sp
    seen = {}

    def f(x):
        c = np.zeros(3)
        c[1] = 2.0                                       # a constant write: still plain data
        seen["isinstance"] = isinstance(c, np.ndarray)
        seen["sparse"] = sp.csr_array(np.diag(c)).nnz     # compiled code reads it
        seen["int"] = np.zeros(3, dtype=int).__class__ is np.ndarray
        out = np.zeros(3)
        out[0] = x[0]
        seen["nan"] = bool(np.isnan(out.view(np.ndarray)).all())   # the raw buffer
        return x * c + out

    P = sa.jacobian_sparsity(f, np.ones(3)).toarray()
    np.testing.assert_array_equal(P, [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert seen == {"isinstance": True, "sparse": 1, "int": True, "nan": True}
    assert not hasattr(np.zeros, "_sparsead_original")      # the originals are back
    assert type(np.zeros(2)) is np.ndarray


def test_array_without_copy_keeps_numpy_aliasing():
    base = np.arange(3.0)
    seen = {}

    def f(x):
        a = np.array(base, copy=None)          # no copy needed: numpy returns `base`
        seen["same"] = a is base
        b = np.array(base)                     # a copy: may take traced values
        b[0] = x[0]
        return b * x

    np.testing.assert_array_equal(sa.jacobian_sparsity(f, np.ones(3)).toarray(),
                                  [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert seen["same"] and base.tolist() == [0.0, 1.0, 2.0]


def test_numpy_polynomial_series():
    c = np.array([0.5, -1.0, 2.0, 0.25])
    for kind in (np.polynomial.Chebyshev, np.polynomial.Legendre, np.polynomial.Polynomial):
        f = lambda x, p=kind(c): p(x) ** 2  # noqa: E731
        P = _check_jacobian(f, np.linspace(-0.9, 0.8, 5))
        assert (P == np.eye(5, dtype=bool)).all()


def test_converters_are_restored_and_thread_local():
    originals = {n: getattr(np, n) for n in ("array", "asarray", "asanyarray")}
    seen = []

    def other_thread():
        seen.append(np.asarray([1.0, 2.0]).sum())

    def f(x):
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        return np.asarray(x) * 2

    sa.jacobian_sparsity(f, np.ones(2))
    assert seen == [3.0]
    for n, fn in originals.items():
        assert getattr(np, n) is fn
    assert asarray is originals["asarray"] and globals()["asarray"] is originals["asarray"]


def test_concurrent_traces_in_threads():
    results, errors = [], []

    def work(k):
        try:
            x = np.ones(3 + k)
            results.append(sa.jacobian_sparsity(_imported_before, x).nnz)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [2 * (2 + k) for k in range(4)]
    assert np.asarray is asarray


# --- conversions that cannot keep the trace: clear errors at the user's line -------------------

def test_float_inside_a_library_names_the_users_line():
    with pytest.raises(TracerConversionError) as err:
        sa.jacobian_sparsity(lambda x: x * statistics.fmean(x), np.ones(3))
    msg = str(err.value)
    assert "test_plain_numpy.py" in msg and "statistics" not in msg.split("(`")[0]


def test_compiled_code_is_refused_naming_library_and_line():
    import scipy.linalg

    with pytest.raises(TracingError) as err:
        sa.jacobian_sparsity(lambda x: scipy.linalg.cholesky(x.reshape(2, 2)), np.ones(4))
    msg = str(err.value)
    assert "scipy.linalg" in msg and "test_plain_numpy.py" in msg


def test_odeint_is_named_and_points_to_ode_jacobian():
    from scipy.integrate import odeint

    def final_state(y0):
        return odeint(lambda y, t: -y, y0, [0.0, 1.0])[-1]

    with pytest.raises(UnsupportedOperationError, match="odeint") as err:
        sa.jacobian_sparsity(final_state, np.ones(3))
    msg = str(err.value)
    assert "ode_jacobian" in msg and "solve_ivp" in msg and "test_plain_numpy.py" in msg


@pytest.mark.parametrize("make", [
    lambda: sa.jacobian_sparsity, lambda: sa.sparse_jacobian,
    lambda: (lambda f, x: sa.gradient(lambda v: np.sum(f(v)))(x)),
])
def test_complex_intermediates_are_refused_at_trace_time(make):
    with pytest.raises(UnsupportedOperationError, match="complex") as err:
        make()(lambda x: np.abs((x + 1j) * x), np.ones(3))
    assert "test_plain_numpy.py" in str(err.value)


@pytest.mark.parametrize("f", [lambda x: x.astype(complex), lambda x: np.exp(1j * x),
                               lambda x: np.sqrt(x + 0j)])
def test_every_way_to_complex_is_refused(f):
    with pytest.raises(UnsupportedOperationError, match="complex"):
        sa.jacobian_sparsity(f, np.ones(2))


def test_constants_convert_freely_in_global_mode():
    def f(x):
        c = np.ones_like(x) * 2.0            # folded: a known constant
        n = int(np.sum(c))                   # fine: does not depend on x
        if c[0] > 1:
            return x[:n // 2] * float(c[1])
        return x

    P = sa.jacobian_sparsity(f, np.ones(4)).toarray()
    np.testing.assert_array_equal(P, np.eye(4)[:4])


# --- index helpers ---------------------------------------------------------------------------------

def _sq(x):
    return x.reshape(3, 3)


@pytest.mark.parametrize("name, f", [
    ("diag_indices_from", lambda x: _sq(x)[np.diag_indices_from(_sq(x))] ** 2),
    ("diag_indices", lambda x: _sq(x)[np.diag_indices(3)] * x[0]),
    ("tril_indices_from", lambda x: np.sin(_sq(x)[np.tril_indices_from(_sq(x), k=-1)])),
    ("triu_indices_from", lambda x: _sq(x)[np.triu_indices_from(_sq(x), 1)] ** 3),
    ("tril_indices", lambda x: _sq(x)[np.tril_indices(3)] * _sq(x)[np.triu_indices(3)]),
    ("ix_", lambda x: np.exp(_sq(x)[np.ix_([2, 0], [1, 2])])),
])
def test_index_helpers(name, f):
    x = np.linspace(0.2, 1.8, 9)
    _check_jacobian(f, x)
    g = lambda v: np.sum(f(v) ** 2)  # noqa: E731  (the VJP path: gradients and Hessians)
    np.testing.assert_allclose(sa.sparse_hessian(g, x)(x).toarray(), numeric_hessian(g, x),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, wrap, val", [
    ((3, 3), False, "scalar"), ((3, 3), False, "vector"), ((5, 2), True, "vector"),
    ((5, 2), False, "short"), ((2, 2, 2), False, "scalar"), ((3, 3), False, "const"),
])
def test_fill_diagonal_matches_numpy(shape, wrap, val):
    size = int(np.prod(shape))

    def f(x, numpy=False):
        a = x[:size].reshape(shape) * 1.0
        if numpy:
            a = a.copy()
        v = {"scalar": x[-1] ** 2, "vector": x[-3:] * 2.0, "short": x[-2:],
             "const": np.array([7.0, 8.0])}[val]
        np.fill_diagonal(a, v, wrap=wrap)
        return a

    x = np.linspace(0.5, 2.0, size + 3)
    ref = np.array(x[:size].reshape(shape))
    v = {"scalar": x[-1] ** 2, "vector": x[-3:] * 2.0, "short": x[-2:],
         "const": np.array([7.0, 8.0])}[val]
    np.fill_diagonal(ref, v, wrap=wrap)
    np.testing.assert_allclose(trace_eval(f, x), ref)
    _check_jacobian(f, x)


def trace_eval(f, x):
    from sparsead.tracing import evaluate
    return evaluate(trace(f, x), x)


# --- scalar constraints --------------------------------------------------------------------

def test_nonlinear_constraint_accepts_a_scalar_constraint():
    circle = lambda x: x[0] ** 2 + x[1] ** 2  # noqa: E731
    con = sa.nonlinear_constraint(circle, np.ones(2), 1.0, 1.0)
    assert con.jac_pattern.shape == (1, 2) and con.hess_pattern.nnz == 2
    res = so.minimize(lambda x: x[0] + x[1], np.array([0.5, -0.3]), method="trust-constr",
                      jac=lambda x: np.ones(2), hess=lambda x: np.zeros((2, 2)),
                      constraints=[con])
    np.testing.assert_allclose(res.x, -np.sqrt(0.5), atol=1e-6)
    np.testing.assert_allclose(con.hess(np.array([1.0, 2.0]), np.array([3.0])).toarray(),
                               6 * np.eye(2))


def test_ipopt_accepts_a_scalar_nonlinear_constraint():
    pytest.importorskip("cyipopt")
    circle = lambda x: x[0] ** 2 + x[1] ** 2  # noqa: E731
    for con in (so.NonlinearConstraint(circle, 1.0, 1.0),
                sa.nonlinear_constraint(circle, np.ones(2), 1.0, 1.0)):
        res = sa.optimize.minimize_ipopt(lambda x: x[0] + x[1], np.array([0.5, -0.3]),
                                         constraints=[con])
        assert res.success
        np.testing.assert_allclose(res.x, -np.sqrt(0.5), atol=1e-7)
