"""Hand sparsead's prepared derivatives to SciPy's solvers and to IPOPT.

Thin adapters only: every derivative comes from the public API
(:func:`sparsead.sparse_jacobian`, :func:`sparsead.sparse_hessian`,
:func:`sparsead.gradient`), prepared once; this module checks what the solver
passes, rearranges arguments and moves values between fixed index maps.

- :func:`derivatives` -- ``jac=``/``hess=``/``hessp=`` for ``scipy.optimize.minimize``, and
  ``jac=`` (dense) or a Krylov preconditioner for ``scipy.optimize.root``.
- :func:`nonlinear_constraint` -- a ``NonlinearConstraint`` with a sparse Jacobian
  and the Lagrangian Hessian ``hess(x, v) = sum_i v_i nabla^2 c_i(x)``.
- :func:`ode_jacobian` -- ``jac(t, y)`` (and ``.pattern`` for ``jac_sparsity=``)
  for ``scipy.integrate.solve_ivp``.
- :func:`ipopt_problem`, :func:`minimize_ipopt` -- IPOPT through cyipopt
  (the ``ipopt`` extra) with exact sparse constraint Jacobians and the
  lower triangle of the Lagrangian Hessian (defined in :mod:`sparsead._ipopt`).

``least_squares`` needs no adapter: pass ``jac=sa.sparse_jacobian(fun, x0)``
(or ``jac_sparsity=sa.jacobian_sparsity(fun, x0)`` to keep finite differences).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize as _opt

from ._adapters import (BoundConstraint, ConstraintHessian, ConstraintJacobian, DenseHessian,
                        DenseJacobian, JacobianLu, Lagrangian, Swapped, UserFunction, as_args,
                        as_point, constraint_values)
from ._adapters import shape_text as _shape
from ._errors import InputError
from ._validation import check_scalar_output
from ._ipopt import ipopt_problem, minimize_ipopt
from .ad.api import gradient
from .prepared import sparse_hessian, sparse_jacobian

__all__ = [
    "derivatives",
    "nonlinear_constraint",
    "ode_jacobian",
    "ipopt_problem",
    "minimize_ipopt",
]

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "derivatives": (
        "mostly its numpydoc docstring with runnable minimize and root examples"
    ),
}


# --- scipy.optimize.minimize and root ---------------------------------------------

#: minimize methods -> the Hessian form they take (False: gradient only, None: no derivatives)
_MINIMIZE = {
    "trust-constr": True, "newton-cg": True, "trust-ncg": "hessp", "trust-krylov": "hessp",
    "trust-exact": "dense", "dogleg": "dense",
    "cg": False, "bfgs": False, "l-bfgs-b": False, "tnc": False, "slsqp": False,
    "nelder-mead": None, "powell": None, "cobyla": None, "cobyqa": None,
}
#: root methods -> what sparsead gives them (None: they build their own approximation)
_ROOT = {
    "hybr": "dense", "lm": "dense", "krylov": "preconditioner",
    "broyden1": None, "broyden2": None, "anderson": None, "linearmixing": None,
    "diagbroyden": None, "excitingmixing": None, "df-sane": None,
}


def _method_key(method):
    if method is None or callable(method):
        return method
    if not isinstance(method, str):
        raise InputError(f"`method` must be a scipy.optimize.minimize or root method name, "
                          f"got {type(method).__name__}.")
    key = method.lower()
    if key not in _MINIMIZE and key not in _ROOT:
        raise InputError(
            f"`method` must be a method of scipy.optimize.minimize ({', '.join(_MINIMIZE)}) "
            f"or of scipy.optimize.root ({', '.join(_ROOT)}), got {method!r}.")
    return key


def _root_derivatives(fun, x0, args, method, hess, local=False):
    if hess is not None:
        raise InputError(f"`hess` must be None for root's method {method!r} (root uses no "
                          "Hessian).")
    form = _ROOT[method]
    if form is None:
        raise InputError(
            f"root's method {method!r} builds its own Jacobian approximation and takes none; "
            "use method='hybr' or 'lm' (sparsead gives jac=, dense) or 'krylov' (sparsead "
            "gives a preconditioner: the exact sparse Jacobian, factored).")
    val = np.asarray(fun(x0, *args))
    if val.ndim != 1 or (val.size != x0.size if method != "lm" else val.size < x0.size):
        need = "at least" if method == "lm" else "exactly"
        raise InputError(f"`fun` must return a 1-D array of {need} {x0.size} values (like "
                          f"`x0`) for root's method {method!r}, got {_shape(val)}.")
    J = sparse_jacobian(fun, x0, args, local=local)
    if form == "dense":
        return {"jac": DenseJacobian(J)}
    return {"options": {"jac_options": {"inner_M": JacobianLu(J, args)}}}


def derivatives(fun, x0, args=(), *, method=None, hess=None, local=False) -> dict:
    """Derivative keyword arguments for :func:`scipy.optimize.minimize` or :func:`~scipy.optimize.root`.

    Everything is prepared once (trace, detect, color); unpack the result into
    the solver call: ``minimize(fun, x0, args=args, method=method, **kw)`` or
    ``root(fun, x0, args=args, method=method, **kw)``.

    ===================================  ====================================================
    ``method``                           what comes back
    ===================================  ====================================================
    trust-constr, Newton-CG, None        ``jac`` (gradient) and ``hess`` (sparse csr_array)
    trust-ncg, trust-krylov              ``jac`` and ``hessp`` (ndarray products)
    trust-exact, dogleg                  ``jac`` and ``hess`` (dense ndarray)
    CG, BFGS, L-BFGS-B, TNC, SLSQP       ``jac``
    hybr, lm (root)                      ``jac``: the Jacobian as a dense ndarray (MINPACK)
    krylov (root)                        ``options={"jac_options": {"inner_M": M}}``:
                                         ``M = J(x)^-1`` by a sparse LU of the exact
                                         Jacobian, refactored at every Newton step
                                         (Krylov methods take a preconditioner, not a
                                         Jacobian)
    ===================================  ====================================================

    The derivative-free ``minimize`` methods (Nelder-Mead, Powell, COBYLA,
    COBYQA) and root's quasi-Newton methods (broyden1, broyden2, anderson,
    linearmixing, diagbroyden, excitingmixing, df-sane), which accept no
    derivatives, raise ``ValueError``. No ``root`` method accepts a sparse
    Jacobian; for large systems use ``least_squares(fun, x0,
    jac=sa.sparse_jacobian(fun, x0))``, ``krylov`` with this preconditioner,
    or Newton's method with ``scipy.sparse.linalg.spsolve``.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args)`` written with numpy: a scalar objective for
        ``minimize``, a 1-D array of ``x0.size`` values for ``root`` (at least
        that many for ``lm``).
    x0 : array_like, shape (n,)
        A point at which ``fun`` is traced (its values do not matter).
    args : tuple, optional
        Extra arguments of ``fun``; pass the same ``args`` to the solver (the
        ``krylov`` preconditioner keeps them).
    method : str or callable, optional
        The solver's method, case-insensitive (a callable: a custom
        ``minimize`` method, given ``jac`` and a sparse ``hess``).
    hess : {True, "hessp", "dense", False}, optional
        ``minimize`` only; overrides the Hessian form ``method`` picks: ``True``
        a sparse ``csr_array`` Hessian, ``"hessp"`` a Hessian-vector product
        ``hessp(x, p, *args)``, ``"dense"`` an ndarray Hessian, ``False`` none.
    local : bool, optional
        ``fun`` branches on values (``if``, builtin ``max``/``min``, ``int()``):
        exact derivatives at every point, re-traced when a branch flips (see
        :func:`sparsead.sparse_jacobian`).

    Returns
    -------
    dict
        The keyword arguments of the table above. For ``krylov`` merge other
        options into ``kw["options"]`` (e.g. ``kw["options"]["fatol"] = 1e-10``).

    Raises
    ------
    ValueError
        Unknown ``method`` (the message lists the allowed ones), a method that
        takes no derivatives, ``fun`` returning the wrong shape, a bad ``hess``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize, root
    >>> import sparsead as sa
    >>> from sparsead.examples import broyden_tridiagonal, rosenbrock
    >>> x0 = np.zeros(20)
    >>> kw = sa.optimize.derivatives(rosenbrock, x0, method="trust-constr")
    >>> sorted(kw)
    ['hess', 'jac']
    >>> res = minimize(rosenbrock, x0, method="trust-constr", **kw)
    >>> bool(np.allclose(res.x, 1.0, atol=1e-5))
    True
    >>> x0 = -np.ones(50)
    >>> sol = root(broyden_tridiagonal, x0, method="lm",
    ...            **sa.derivatives(broyden_tridiagonal, x0, method="lm"))
    >>> sol.success, bool(np.abs(broyden_tridiagonal(sol.x)).max() < 1e-12)
    (True, True)
    """
    args = as_args(args)
    x0 = as_point(x0)
    key = _method_key(method)
    if key in _ROOT:
        return _root_derivatives(fun, x0, args, key, hess, local)
    check_scalar_output(np.shape(fun(x0, *args)), "minimize", "For a system of equations pass "
                        "a root method (method='hybr', 'lm' or 'krylov'), for residuals use "
                        "least_squares with jac=sa.sparse_jacobian(fun, x0).", "fun")
    if hess is None:
        hess = True if key is None or callable(key) else _MINIMIZE[key]
        if hess is None:
            raise InputError(
                f"minimize's method {method!r} uses no derivatives; call minimize without "
                "them, or choose a method that uses them (BFGS, L-BFGS-B, trust-constr, ...).")
    if hess not in (True, False, "hessp", "dense"):
        raise InputError(f"`hess` must be True, 'hessp', 'dense' or False, got {hess!r}.")
    out = {"jac": gradient(fun, local=local)}
    if hess is True:
        out["hess"] = sparse_hessian(fun, x0, args, local=local)
    elif hess == "hessp":
        out["hessp"] = sparse_hessian(fun, x0, args, local=local).hessp
    elif hess == "dense":
        out["hess"] = DenseHessian(sparse_hessian(fun, x0, args, local=local))
    return out


# --- constraints -----------------------------------------------------------------

def _bound_values(b, name, m, dtype=np.float64):
    """Bounds (or flags) broadcast to the ``m`` constraint values, else a clear error."""
    try:
        a = np.asarray(b, dtype=dtype)
        if a.ndim <= 1:
            return np.broadcast_to(a, (m,)).copy()
    except (TypeError, ValueError):
        pass
    raise InputError(f"`{name}` must be a scalar or an array of the {m} constraint values "
                      f"(c(x0) has {m}), got {_shape(b)}.")


def nonlinear_constraint(c, x0, lb, ub, args=(), *, keep_feasible=False, local=False):
    """A :class:`scipy.optimize.NonlinearConstraint` with exact sparse derivatives.

    ``jac(x)`` is the sparse constraint Jacobian and ``hess(x, v)`` the
    Lagrangian Hessian ``sum_i v_i nabla^2 c_i(x)``, both prepared once: the
    multipliers ``v`` are an input of the traced function, so the Hessian's
    pattern is the union over all multipliers and never changes.

    Parameters
    ----------
    c : callable
        ``c(x, *args) -> ndarray of shape (m,)`` written with numpy, or a scalar
        (one constraint, ``m = 1``, as SciPy accepts).
    x0 : array_like, shape (n,)
        A point at which ``c`` is traced.
    lb, ub : array_like
        Bounds ``lb <= c(x) <= ub`` (as in ``NonlinearConstraint``).
    args : tuple, optional
        Extra arguments of ``c``, bound into the constraint.
    keep_feasible : bool or array_like, optional
        Passed to ``NonlinearConstraint``.
    local : bool, optional
        ``c`` branches on values: exact derivatives at every point, re-traced
        when a branch flips (see :func:`sparsead.sparse_jacobian`); the patterns
        attached are those at ``x0``.

    Returns
    -------
    scipy.optimize.NonlinearConstraint
        Also carries ``jac_pattern`` and ``hess_pattern`` (bool ``csr_array``).

    Raises
    ------
    ValueError
        ``c`` returns an array of more than one dimension; ``lb``, ``ub`` or
        ``keep_feasible`` do not broadcast to ``c``'s length; ``hess`` called
        with multipliers ``v`` of the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize
    >>> import sparsead as sa
    >>> circle = lambda x: np.stack([x[0] ** 2 + x[1] ** 2])
    >>> con = sa.optimize.nonlinear_constraint(circle, np.ones(2), 1.0, 1.0)
    >>> res = minimize(lambda x: x[0] + x[1], np.array([0.5, -0.3]), method="trust-constr",
    ...                jac=lambda x: np.ones(2), hess=lambda x: np.zeros((2, 2)),
    ...                constraints=[con])
    >>> bool(np.allclose(res.x, -np.sqrt(0.5), atol=1e-8))
    True
    """
    args = as_args(args)
    x0 = as_point(x0)
    m = constraint_values(c, x0, args, "c").size
    lb, ub = _bound_values(lb, "lb", m), _bound_values(ub, "ub", m)
    if not isinstance(keep_feasible, (bool, np.bool_)):
        keep_feasible = _bound_values(keep_feasible, "keep_feasible", m, dtype=bool)
    J = sparse_jacobian(c, x0, args, local=local)
    H = sparse_hessian(Lagrangian(c), x0, (np.ones(m), *args), local=local)
    con = _opt.NonlinearConstraint(BoundConstraint(c, args), lb, ub,
                                   jac=ConstraintJacobian(J, args),
                                   hess=ConstraintHessian(H, m, args), keep_feasible=keep_feasible)
    con.jac_pattern = J.pattern
    con.hess_pattern = H.pattern
    return con


# --- solve_ivp ---------------------------------------------------------------------

class _OdeJacobian(UserFunction):
    """``jac(t, y, *args)``: ``d rhs(t, y, *args) / d y``; see :func:`ode_jacobian`."""

    @property
    def fn(self):  # the user function UserFunction checks before pickling
        return self.rhs

    def __init__(self, rhs, y0, t0, args, dense, local=False):
        self.rhs = rhs
        self.args = args
        self.dense = bool(dense)
        self._n = y0.size
        self._prepared = sparse_jacobian(Swapped(rhs), y0,
                                             (np.asarray(t0, dtype=np.float64), *args),
                                             local=local)
        self.pattern = self._prepared.pattern
        self.shape = self._prepared.shape
        self.n_colors = getattr(self._prepared, "n_colors", None)

    def __call__(self, t, y, *args):
        if np.ndim(t) != 0:
            hint = (" It looks like (y, t) was passed: solve_ivp calls jac(t, y)."
                    if np.size(t) == self._n else "")
            raise InputError(f"`t` must be a scalar time, got {_shape(t)}.{hint}")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (self._n,):
            raise InputError(f"`y` must have shape ({self._n},) like y0, got {_shape(y)}"
                              + (" (vectorized calls are not supported)." if y.ndim == 2 else "."))
        J = self._prepared(y, np.asarray(t, dtype=np.float64), *(args or self.args))
        return J.toarray() if self.dense else J

    def __repr__(self):
        return (f"<ode_jacobian {self.shape[0]}x{self.shape[1]}, nnz={self.pattern.nnz}, "
                f"colors={self.n_colors}>")


def ode_jacobian(rhs, y0, t0=0.0, args=(), *, dense=False, local=False):
    """The Jacobian ``d rhs / d y`` for :func:`scipy.integrate.solve_ivp`, prepared once.

    ``t`` is traced as an input of ``rhs``, so the pattern (union over all
    times) and the coloring are computed once and reused at every ``(t, y)``.

    Parameters
    ----------
    rhs : callable
        ``rhs(t, y, *args) -> ndarray of shape (n,)``, solve_ivp's order (for an
        odeint-style ``f(y, t)`` pass ``lambda t, y: f(y, t)``). Write
        time-dependent switches with ``np.where``, not ``if``.
    y0 : array_like, shape (n,)
        Initial state (values used only to trace).
    t0 : float, optional
        A time at which ``rhs`` is traced.
    args : tuple, optional
        Extra arguments of ``rhs`` used when the solver passes none (solve_ivp
        passes its own ``args`` to both ``fun`` and ``jac``).
    dense : bool, optional
        Return ndarrays instead of ``csr_array`` (needed for ``LSODA``).
    local : bool, optional
        ``rhs`` branches on values of ``y`` or ``t`` (``if y[0] > 0``): exact
        Jacobians at every ``(t, y)``, re-traced when a branch flips (see
        :func:`sparsead.sparse_jacobian`); ``pattern`` is then the one at
        ``(t0, y0)`` (pass no ``jac_sparsity=``, or a superset of all regions).

    Returns
    -------
    callable
        ``jac(t, y, *args) -> csr_array`` of shape ``(n, n)``, with attributes
        ``pattern`` (bool ``csr_array``, for ``jac_sparsity=``), ``shape`` and
        ``n_colors``.

    Raises
    ------
    ValueError
        ``rhs`` has odeint's ``(y, t)`` order, its output does not match ``y0``,
        or the solver calls ``jac`` with a non-scalar ``t`` or a mis-shaped ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.integrate import solve_ivp
    >>> import sparsead as sa
    >>> from sparsead.examples import brusselator, brusselator_x0
    >>> rhs = lambda t, y: brusselator(y, t)
    >>> y0 = brusselator_x0(8)
    >>> jac = sa.optimize.ode_jacobian(rhs, y0)
    >>> sol = solve_ivp(rhs, (0.0, 1.0), y0, method="BDF", jac=jac)
    >>> sol.status, jac.pattern.nnz
    (0, 768)
    """
    args = as_args(args)
    y0 = as_point(y0, "y0")
    if np.ndim(t0) != 0:
        raise InputError(f"`t0` must be a scalar time, got {_shape(t0)}.")
    try:
        out = np.asarray(rhs(float(t0), y0, *args))
    except Exception as exc:
        try:
            swapped = np.asarray(rhs(y0, float(t0), *args))
        except Exception:  # noqa: BLE001 - the original error is the informative one
            raise exc from None
        if swapped.shape == y0.shape:
            raise InputError("`rhs` fails when called as rhs(t, y) but works as rhs(y, t): "
                              "solve_ivp calls rhs(t, y); pass `lambda t, y: rhs(y, t)` to "
                              "both solve_ivp and ode_jacobian.") from exc
        raise
    if out.shape != y0.shape:
        raise InputError(f"`rhs(t0, y0)` must return an array of shape {y0.shape} like `y0`, "
                          f"got {_shape(out)}.")
    return _OdeJacobian(rhs, y0, t0, args, dense, local)
