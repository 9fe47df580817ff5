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
  lower triangle of the Lagrangian Hessian.

``least_squares`` needs no adapter: pass ``jac=sa.sparse_jacobian(fun, x0)``
(or ``jac_sparsity=sa.jacobian_sparsity(fun, x0)`` to keep finite differences).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize as _opt

import sparsead as _sa  # late binding: the derivative API is looked up at call time

from ._adapters import (BoundConstraint, ConstraintHessian, ConstraintJacobian, DenseHessian,
                        DenseJacobian, JacobianLu, Lagrangian, Swapped, UserFunction)
from ._adapters import _InputError
from ._adapters import shape_text as _shape
from ._errors import SparseadError
from ._extras import install_hint

__all__ = [
    "derivatives",
    "nonlinear_constraint",
    "ode_jacobian",
    "ipopt_problem",
    "minimize_ipopt",
]


def _as_point(x0, name: str = "x0") -> np.ndarray:
    x = np.asarray(x0, dtype=np.float64)
    if x.ndim != 1:
        raise _InputError(f"`{name}` must be a 1-D array (the solvers' variable vector), "
                          f"got {_shape(x0)}; pass np.ravel({name}) and reshape inside the "
                          "function.")
    return x


def _as_args(args) -> tuple:
    return args if isinstance(args, tuple) else (args,)


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
        raise _InputError(f"`method` must be a scipy.optimize.minimize or root method name, "
                          f"got {type(method).__name__}.")
    key = method.lower()
    if key not in _MINIMIZE and key not in _ROOT:
        raise _InputError(
            f"`method` must be a method of scipy.optimize.minimize ({', '.join(_MINIMIZE)}) "
            f"or of scipy.optimize.root ({', '.join(_ROOT)}), got {method!r}.")
    return key


def _root_derivatives(fun, x0, args, method, hess, local=False):
    if hess is not None:
        raise _InputError(f"`hess` must be None for root's method {method!r} (root uses no "
                          "Hessian).")
    form = _ROOT[method]
    if form is None:
        raise _InputError(
            f"root's method {method!r} builds its own Jacobian approximation and takes none; "
            "use method='hybr' or 'lm' (sparsead gives jac=, dense) or 'krylov' (sparsead "
            "gives a preconditioner: the exact sparse Jacobian, factored).")
    val = np.asarray(fun(x0, *args))
    if val.ndim != 1 or (val.size != x0.size if method != "lm" else val.size < x0.size):
        need = "at least" if method == "lm" else "exactly"
        raise _InputError(f"`fun` must return a 1-D array of {need} {x0.size} values (like "
                          f"`x0`) for root's method {method!r}, got {_shape(val)}.")
    J = _sa.sparse_jacobian(fun, x0, args, local=local)
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
    args = _as_args(args)
    x0 = _as_point(x0)
    key = _method_key(method)
    if key in _ROOT:
        return _root_derivatives(fun, x0, args, key, hess, local)
    f0 = np.asarray(fun(x0, *args))
    if f0.size != 1:
        raise _InputError(f"`fun` must return a scalar for minimize, got {_shape(f0)}; "
                          "for a system of equations pass a root method (method='hybr', "
                          "'lm' or 'krylov'), for residuals use least_squares with "
                          "jac=sa.sparse_jacobian(fun, x0).")
    if hess is None:
        hess = True if key is None or callable(key) else _MINIMIZE[key]
        if hess is None:
            raise _InputError(
                f"minimize's method {method!r} uses no derivatives; call minimize without "
                "them, or choose a method that uses them (BFGS, L-BFGS-B, trust-constr, ...).")
    if hess not in (True, False, "hessp", "dense"):
        raise _InputError(f"`hess` must be True, 'hessp', 'dense' or False, got {hess!r}.")
    out = {"jac": _sa.gradient(fun, local=local)}
    if hess is True:
        out["hess"] = _sa.sparse_hessian(fun, x0, args, local=local)
    elif hess == "hessp":
        out["hessp"] = _sa.sparse_hessian(fun, x0, args, local=local).hessp
    elif hess == "dense":
        out["hess"] = DenseHessian(_sa.sparse_hessian(fun, x0, args, local=local))
    return out


# --- constraints -----------------------------------------------------------------

def _constraint_values(c, x0, args, name):
    """``c(x0, *args)`` as a 1-D array: a scalar is one constraint (m = 1), as in SciPy."""
    val = np.asarray(c(x0, *args))
    if val.ndim > 1:
        raise _InputError(f"`{name}` must return a scalar or a 1-D array, got {_shape(val)}; "
                          "return np.ravel(...) of it.")
    return val.reshape(-1)


def _bound_values(b, name, m, dtype=np.float64):
    """Bounds (or flags) broadcast to the ``m`` constraint values, else a clear error."""
    try:
        a = np.asarray(b, dtype=dtype)
        if a.ndim <= 1:
            return np.broadcast_to(a, (m,)).copy()
    except (TypeError, ValueError):
        pass
    raise _InputError(f"`{name}` must be a scalar or an array of the {m} constraint values "
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
    args = _as_args(args)
    x0 = _as_point(x0)
    m = _constraint_values(c, x0, args, "c").size
    lb, ub = _bound_values(lb, "lb", m), _bound_values(ub, "ub", m)
    if not isinstance(keep_feasible, (bool, np.bool_)):
        keep_feasible = _bound_values(keep_feasible, "keep_feasible", m, dtype=bool)
    J = _sa.sparse_jacobian(c, x0, args, local=local)
    H = _sa.sparse_hessian(Lagrangian(c), x0, (np.ones(m), *args), local=local)
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
        self._prepared = _sa.sparse_jacobian(Swapped(rhs), y0,
                                             (np.asarray(t0, dtype=np.float64), *args),
                                             local=local)
        self.pattern = self._prepared.pattern
        self.shape = self._prepared.shape
        self.n_colors = getattr(self._prepared, "n_colors", None)

    def __call__(self, t, y, *args):
        if np.ndim(t) != 0:
            hint = (" It looks like (y, t) was passed: solve_ivp calls jac(t, y)."
                    if np.size(t) == self._n else "")
            raise _InputError(f"`t` must be a scalar time, got {_shape(t)}.{hint}")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (self._n,):
            raise _InputError(f"`y` must have shape ({self._n},) like y0, got {_shape(y)}"
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
    args = _as_args(args)
    y0 = _as_point(y0, "y0")
    if np.ndim(t0) != 0:
        raise _InputError(f"`t0` must be a scalar time, got {_shape(t0)}.")
    try:
        out = np.asarray(rhs(float(t0), y0, *args))
    except Exception as exc:
        try:
            swapped = np.asarray(rhs(y0, float(t0), *args))
        except Exception:  # noqa: BLE001 - the original error is the informative one
            raise exc from None
        if swapped.shape == y0.shape:
            raise _InputError("`rhs` fails when called as rhs(t, y) but works as rhs(y, t): "
                              "solve_ivp calls rhs(t, y); pass `lambda t, y: rhs(y, t)` to "
                              "both solve_ivp and ode_jacobian.") from exc
        raise
    if out.shape != y0.shape:
        raise _InputError(f"`rhs(t0, y0)` must return an array of shape {y0.shape} like `y0`, "
                          f"got {_shape(out)}.")
    return _OdeJacobian(rhs, y0, t0, args, dense, local)


# --- IPOPT -------------------------------------------------------------------------

_PROBLEM_CLASS = []


def _problem_class():
    """``cyipopt.Problem`` subclassed (so it can carry ``callbacks``), imported lazily."""
    if not _PROBLEM_CLASS:
        try:
            import cyipopt
        except ImportError:
            raise ImportError(f"IPOPT support needs cyipopt: `{install_hint('ipopt')}` (installs "
                              "the cyipopt-wheels package, which ships IPOPT).") from None

        class IpoptProblem(cyipopt.Problem):
            """A ``cyipopt.Problem`` built by :func:`sparsead.optimize.ipopt_problem`."""

        _PROBLEM_CLASS.append(IpoptProblem)
    return _PROBLEM_CLASS[0]


def _bounds_arrays(bounds, n):
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if isinstance(bounds, _opt.Bounds):
        lb, ub = bounds.lb, bounds.ub
    else:
        pairs = list(bounds)
        if len(pairs) != n or any(np.size(p) != 2 for p in pairs):
            raise _InputError(f"`bounds` must be a scipy.optimize.Bounds or {n} (min, max) pairs, "
                              f"got {len(pairs)} items.")
        lb = [-np.inf if p[0] is None else p[0] for p in pairs]
        ub = [np.inf if p[1] is None else p[1] for p in pairs]
    try:
        lb = np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy()
        ub = np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy()
    except ValueError:
        raise _InputError(f"`bounds` must broadcast to ({n},), got lb {_shape(lb)}, "
                          f"ub {_shape(ub)}.") from None
    return lb, ub


def _constraint_list(constraints, x0):
    """``[(fun, lb, ub, cargs)]`` for dicts, NonlinearConstraint and LinearConstraint.

    ``fun(x, *cargs)``: the constraint's own arguments travel as arguments (not
    closures), so that the prepared derivatives compare them at every call.
    """
    if isinstance(constraints, (dict, _opt.NonlinearConstraint, _opt.LinearConstraint)):
        constraints = [constraints]
    out = []
    for k, con in enumerate(constraints):
        name = f"constraints[{k}]"
        if isinstance(con, dict):
            kind = con.get("type")
            if kind not in ("eq", "ineq") or not callable(con.get("fun")):
                raise _InputError(f"`{name}` must have 'type' 'eq' or 'ineq' and a callable "
                                  f"'fun', got type={kind!r}.")
            f = con["fun"]
            cargs = (*_as_args(con.get("args", ())), con.get("kwargs", {}) or {})

            def fun(x, *a, f=f):
                return np.reshape(f(x, *a[:-1], **a[-1]), -1)

            m = np.size(fun(x0, *cargs))
            lb = np.zeros(m)
            ub = np.zeros(m) if kind == "eq" else np.full(m, np.inf)
        elif isinstance(con, _opt.NonlinearConstraint):
            val = _constraint_values(lambda x, f=con.fun: f(x), x0, (), f"{name}.fun")
            m = val.size

            def fun(x, f=con.fun):
                return np.reshape(f(x), -1)      # a scalar constraint is one value

            lb, ub, cargs = con.lb, con.ub, ()
        elif isinstance(con, _opt.LinearConstraint):
            A = con.A.toarray() if hasattr(con.A, "toarray") else con.A
            A = np.atleast_2d(np.asarray(A, dtype=np.float64))
            if A.shape[1] != x0.size:
                raise _InputError(f"`{name}.A` must have {x0.size} columns, got shape {A.shape}.")
            m = A.shape[0]

            def fun(x, boxed):
                return boxed[0] @ x

            lb, ub, cargs = con.lb, con.ub, ((A,),)  # boxed: baked and compared, not traced
        else:
            raise _InputError(f"`{name}` must be a dict, NonlinearConstraint or LinearConstraint, "
                              f"got {type(con).__name__}.")
        try:
            lb = np.broadcast_to(np.asarray(lb, dtype=np.float64), (m,))
            ub = np.broadcast_to(np.asarray(ub, dtype=np.float64), (m,))
        except ValueError:
            raise _InputError(f"`{name}` bounds must broadcast to the {m} constraint values, "
                              f"got lb {_shape(lb)}, ub {_shape(ub)}.") from None
        out.append((fun, lb, ub, cargs))
    return out


class _IpoptCallbacks:
    """The callback object cyipopt calls, with index maps fixed at preparation.

    Every argument (``args`` of the objective, each constraint's own) is passed
    to the prepared derivatives at each call, never closed over, so one changed
    in place after preparation raises instead of giving stale derivatives.
    """

    def __init__(self, fun, x0, args, constraints, hessian):
        self.fun, self.args = fun, args
        n = x0.size
        f0 = np.asarray(fun(x0, *args))
        if f0.size != 1:
            raise _InputError(f"`fun` must return a scalar, got {_shape(f0)}.")
        self._grad = _sa.gradient(fun)
        funs = [c[0] for c in constraints]
        self.m = m = sum(int(np.size(c[1])) for c in constraints)
        self.nfev = self.njev = self.nhev = self.nit = 0
        self._cargs = tuple(a for c in constraints for a in c[3])
        ends = np.cumsum([0] + [len(c[3]) for c in constraints])

        def cons(x, *cargs):
            return np.concatenate([f(x, *cargs[a:b]) for f, a, b in zip(funs, ends, ends[1:])])

        self._cons = cons
        if m:
            self._J = _sa.sparse_jacobian(cons, x0, self._cargs)
            P = self._J.pattern
            self._jac_structure = (np.repeat(np.arange(m), np.diff(P.indptr)), P.indices.copy())
            J0 = self._J(x0, *self._cargs)
            if not (np.array_equal(J0.indptr, P.indptr) and np.array_equal(J0.indices, P.indices)):
                raise SparseadError("internal: prepared Jacobian layout differs from its pattern")
            self._jbuf = J0
        else:
            self._jac_structure = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._H = None
        if hessian == "exact":
            na = len(args)

            def lagrangian(x, w, *rest):
                val = w[0] * fun(x, *rest[:na])
                if m:
                    val = val + np.sum(w[1:] * cons(x, *rest[na:]))
                return val

            self._H = _sa.sparse_hessian(lagrangian, x0, (np.ones(m + 1), *args, *self._cargs))
            P = self._H.pattern
            rows = np.repeat(np.arange(n), np.diff(P.indptr))
            self._lower = np.flatnonzero(rows >= P.indices)
            self._hess_structure = (rows[self._lower], P.indices[self._lower].copy())
            self._w = np.ones(m + 1)
            H0 = self._H(x0, self._w, *args, *self._cargs)
            if not np.array_equal(H0.indices, P.indices):
                raise SparseadError("internal: prepared Hessian layout differs from its pattern")
            self._hbuf = H0

    # cyipopt callbacks
    def objective(self, x):
        self.nfev += 1
        return float(np.asarray(self.fun(x, *self.args)).reshape(()))

    def gradient(self, x):
        self.njev += 1
        return self._grad(x, *self.args)

    def constraints(self, x):
        return self._cons(x, *self._cargs) if self.m else np.zeros(0)

    def jacobianstructure(self):
        return self._jac_structure

    def jacobian(self, x):
        if not self.m:
            return np.zeros(0)
        return self._J(x, *self._cargs, out=self._jbuf).data

    def hessianstructure(self):
        if self._H is None:  # limited-memory: IPOPT never asks for values
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return self._hess_structure

    def hessian(self, x, lagrange, obj_factor):
        self.nhev += 1
        self._w[0] = obj_factor
        self._w[1:] = lagrange
        return self._H(x, self._w, *self.args, *self._cargs, out=self._hbuf).data[self._lower]

    def intermediate(self, alg_mod, iter_count, *rest):
        self.nit = int(iter_count)
        return True


def ipopt_problem(fun, x0, args=(), *, bounds=None, constraints=(), hessian="exact"):
    """A :class:`cyipopt.Problem` whose derivatives all come from sparsead.

    The objective gradient, the stacked constraint Jacobian and the lower
    triangle of the Lagrangian Hessian ``obj_factor nabla^2 f + sum_i lambda_i
    nabla^2 c_i`` are prepared once (one Jacobian and one Hessian for all
    constraints together, the multipliers traced as inputs) and handed to
    IPOPT through index maps fixed at preparation.

    Parameters
    ----------
    fun : callable
        Scalar objective ``fun(x, *args)`` written with numpy.
    x0 : array_like, shape (n,)
        A point at which everything is traced.
    args : tuple, optional
        Extra arguments of ``fun`` (fixed for this problem).
    bounds : scipy.optimize.Bounds or sequence of (min, max), optional
        Variable bounds; ``None`` entries are infinite.
    constraints : dict, NonlinearConstraint, LinearConstraint or a sequence of them
        As in ``scipy.optimize.minimize``: dicts ``{"type": "eq"|"ineq", "fun": c,
        "args": ()}`` (``ineq`` means ``c(x) >= 0``; scalar values allowed).
        Any ``jac``/``hess`` given there is ignored: sparsead computes them.
    hessian : {"exact", "limited-memory"}, optional
        ``"limited-memory"`` skips the Hessian and sets IPOPT's L-BFGS option.

    Returns
    -------
    cyipopt.Problem
        Call ``.solve(x0)``. The callback object is ``problem.callbacks`` (counters
        ``nfev``, ``njev``, ``nhev``, ``nit``).

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> nlp = sa.optimize.ipopt_problem(lambda x: np.sum((x - 2.0) ** 2), np.zeros(3),
    ...                                 bounds=[(None, 1.0)] * 3)
    >>> nlp.add_option("print_level", 0)
    >>> x, info = nlp.solve(np.zeros(3))
    >>> np.round(x, 6)
    array([1., 1., 1.])
    """
    problem_class = _problem_class()
    if hessian not in ("exact", "limited-memory"):
        raise _InputError(f"`hessian` must be 'exact' or 'limited-memory', got {hessian!r}.")
    args = _as_args(args)
    x0 = _as_point(x0)
    lb, ub = _bounds_arrays(bounds, x0.size)
    cons = _constraint_list(constraints, x0)
    cb = _IpoptCallbacks(fun, x0, args, cons, hessian)
    cl = np.concatenate([c[1] for c in cons]) if cons else np.zeros(0)
    cu = np.concatenate([c[2] for c in cons]) if cons else np.zeros(0)
    nlp = problem_class(n=x0.size, m=cb.m, problem_obj=cb, lb=lb, ub=ub, cl=cl, cu=cu)
    nlp.callbacks = cb
    nlp.add_option("sb", "yes")  # no IPOPT banner
    if hessian == "limited-memory":
        nlp.add_option("hessian_approximation", "limited-memory")
    return nlp


def minimize_ipopt(fun, x0, args=(), kwargs=None, method=None, jac=None, hess=None, hessp=None,
                   bounds=None, constraints=(), tol=None, callback=None, options=None):
    """Drop-in for :func:`cyipopt.minimize_ipopt` with sparsead's exact sparse derivatives.

    Same signature and result as cyipopt's, but ``jac``, ``hess`` and the
    constraint Jacobians and Hessians are computed by sparsead (the
    Lagrangian Hessian is exact unless ``options={"hessian_approximation":
    "limited-memory"}``). ``method``, ``jac``, ``hess``, ``hessp`` and
    ``callback`` must be left as ``None``.

    Parameters
    ----------
    fun : callable
        Scalar objective ``fun(x, *args, **kwargs)`` written with numpy.
    x0 : array_like, shape (n,)
        Initial point.
    args : tuple, optional
        Extra positional arguments of ``fun``.
    kwargs : dict, optional
        Extra keyword arguments of ``fun``.
    bounds : scipy.optimize.Bounds or sequence of (min, max), optional
        Variable bounds.
    constraints : dict, NonlinearConstraint, LinearConstraint or a sequence of them
        See :func:`ipopt_problem`.
    tol : float, optional
        IPOPT's ``tol`` (default ``1e-8``).
    options : dict, optional
        IPOPT options; ``disp`` and ``maxiter`` are renamed to ``print_level``
        and ``max_iter`` as in cyipopt. Defaults: ``print_level=0``,
        ``mu_strategy="adaptive"``.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x``, ``fun``, ``success`` (IPOPT status 0), ``status``, ``message``,
        ``info`` (IPOPT's dict, with multipliers), ``nfev``, ``njev``, ``nhev``, ``nit``.

    Examples
    --------
    HS071:

    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: x[0] * x[3] * np.sum(x[:3]) + x[2]
    >>> cons = [{"type": "ineq", "fun": lambda x: np.prod(x) - 25.0},
    ...         {"type": "eq", "fun": lambda x: np.sum(x ** 2) - 40.0}]
    >>> res = sa.optimize.minimize_ipopt(f, np.array([1.0, 5.0, 5.0, 1.0]),
    ...                                  bounds=[(1, 5)] * 4, constraints=cons)
    >>> round(float(res.fun), 3), bool(res.success)
    (17.014, True)
    """
    if method is not None:
        raise _InputError("`method` must be None: this runs IPOPT. For SciPy methods call "
                          "scipy.optimize.minimize(..., **sa.optimize.derivatives(fun, x0)).")
    for name, value in (("jac", jac), ("hess", hess), ("hessp", hessp), ("callback", callback)):
        if value is not None:
            raise _InputError(f"`{name}` must be None: sparsead computes the derivatives "
                              f"(use cyipopt.minimize_ipopt to pass your own).")
    args = _as_args(args)
    objective = fun
    if kwargs:
        def objective(x, *a):
            return fun(x, *a, **kwargs)

    options = dict(options or {})
    options.pop("eps", None)
    for old, new in (("disp", "print_level"), ("maxiter", "max_iter")):
        if old in options:
            options[new] = options.pop(old)
    options["print_level"] = int(options.get("print_level", 0))
    options.setdefault("tol", 1e-8 if tol is None else float(tol))
    options.setdefault("mu_strategy", "adaptive")
    approx = options.pop("hessian_approximation", "exact")
    x0 = _as_point(x0)
    nlp = ipopt_problem(objective, x0, args, bounds=bounds, constraints=constraints,
                        hessian=approx)
    for key, value in options.items():
        nlp.add_option(key, value)
    x, info = nlp.solve(x0)
    cb = nlp.callbacks
    msg = info["status_msg"]
    return _opt.OptimizeResult(
        x=x, success=info["status"] == 0, status=info["status"],
        message=msg.decode() if isinstance(msg, bytes) else msg, fun=info["obj_val"], info=info,
        nfev=cb.nfev, njev=cb.njev, nhev=cb.nhev, nit=cb.nit)
