"""IPOPT through cyipopt, with sparsead's exact sparse derivatives (re-exported by :mod:`sparsead.optimize`).

:func:`ipopt_problem` builds a ``cyipopt.Problem`` whose callbacks evaluate the
objective gradient (:func:`sparsead.gradient`), the stacked constraint Jacobian
(:func:`sparsead.sparse_jacobian`) and the lower triangle of the Lagrangian
Hessian (:func:`sparsead.sparse_hessian` with ``triangle="lower"``) into
buffers allocated once; :func:`minimize_ipopt` runs it with SciPy's interface.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize as _opt

from ._adapters import as_args, as_point, constraint_values
from ._adapters import shape_text as _shape
from ._errors import InputError, SparseadError
from ._extras import install_hint
from ._validation import check_scalar_output
from .ad.api import gradient
from .prepared import sparse_hessian, sparse_jacobian

__all__ = ["ipopt_problem", "minimize_ipopt"]

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "minimize_ipopt": (
        "mostly its numpydoc docstring (SciPy's minimize interface, argument by argument)"
    ),
}


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
            raise InputError(f"`bounds` must be a scipy.optimize.Bounds or {n} (min, max) pairs, "
                              f"got {len(pairs)} items.")
        lb = [-np.inf if p[0] is None else p[0] for p in pairs]
        ub = [np.inf if p[1] is None else p[1] for p in pairs]
    try:
        lb = np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,)).copy()
        ub = np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,)).copy()
    except ValueError:
        raise InputError(f"`bounds` must broadcast to ({n},), got lb {_shape(lb)}, "
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
                raise InputError(f"`{name}` must have 'type' 'eq' or 'ineq' and a callable "
                                  f"'fun', got type={kind!r}.")
            f = con["fun"]
            cargs = (*as_args(con.get("args", ())), con.get("kwargs", {}) or {})

            def fun(x, *a, f=f):
                return np.reshape(f(x, *a[:-1], **a[-1]), -1)

            m = np.size(fun(x0, *cargs))
            lb = np.zeros(m)
            ub = np.zeros(m) if kind == "eq" else np.full(m, np.inf)
        elif isinstance(con, _opt.NonlinearConstraint):
            val = constraint_values(lambda x, f=con.fun: f(x), x0, (), f"{name}.fun")
            m = val.size

            def fun(x, f=con.fun):
                return np.reshape(f(x), -1)      # a scalar constraint is one value

            lb, ub, cargs = con.lb, con.ub, ()
        elif isinstance(con, _opt.LinearConstraint):
            A = con.A.toarray() if hasattr(con.A, "toarray") else con.A
            A = np.atleast_2d(np.asarray(A, dtype=np.float64))
            if A.shape[1] != x0.size:
                raise InputError(f"`{name}.A` must have {x0.size} columns, got shape {A.shape}.")
            m = A.shape[0]

            def fun(x, boxed):
                return boxed[0] @ x

            lb, ub, cargs = con.lb, con.ub, ((A,),)  # boxed: baked and compared, not traced
        else:
            raise InputError(f"`{name}` must be a dict, NonlinearConstraint or LinearConstraint, "
                              f"got {type(con).__name__}.")
        try:
            lb = np.broadcast_to(np.asarray(lb, dtype=np.float64), (m,))
            ub = np.broadcast_to(np.asarray(ub, dtype=np.float64), (m,))
        except ValueError:
            raise InputError(f"`{name}` bounds must broadcast to the {m} constraint values, "
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
        check_scalar_output(np.shape(fun(x0, *args)), "IPOPT", "Pass the objective as `fun` "
                            "and the equations as `constraints`.", "fun")
        self._grad = gradient(fun)
        funs = [c[0] for c in constraints]
        self.m = m = sum(int(np.size(c[1])) for c in constraints)
        self.nfev = self.njev = self.nhev = self.nit = 0
        self._cargs = tuple(a for c in constraints for a in c[3])
        ends = np.cumsum([0] + [len(c[3]) for c in constraints])

        def cons(x, *cargs):
            return np.concatenate([f(x, *cargs[a:b]) for f, a, b in zip(funs, ends, ends[1:])])

        self._cons = cons
        if m:
            self._J = sparse_jacobian(cons, x0, self._cargs)
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

            self._H = sparse_hessian(lagrangian, x0, (np.ones(m + 1), *args, *self._cargs),
                                     triangle="lower")      # IPOPT's triangle, written directly
            P = self._H.pattern
            self._hess_structure = (np.repeat(np.arange(n), np.diff(P.indptr)), P.indices.copy())
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
        return self._H(x, self._w, *self.args, *self._cargs, out=self._hbuf).data

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
        raise InputError(f"`hessian` must be 'exact' or 'limited-memory', got {hessian!r}.")
    args = as_args(args)
    x0 = as_point(x0)
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
        raise InputError("`method` must be None: this runs IPOPT. For SciPy methods call "
                          "scipy.optimize.minimize(..., **sa.optimize.derivatives(fun, x0)).")
    for name, value in (("jac", jac), ("hess", hess), ("hessp", hessp), ("callback", callback)):
        if value is not None:
            raise InputError(f"`{name}` must be None: sparsead computes the derivatives "
                              f"(use cyipopt.minimize_ipopt to pass your own).")
    args = as_args(args)
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
    x0 = as_point(x0)
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
