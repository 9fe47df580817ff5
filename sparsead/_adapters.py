"""Small picklable callables that :mod:`sparsead.optimize` hands to the solvers.

Each wraps a prepared operator or a user function and adapts its call to what
a solver passes (``fun(x)`` for a constraint, ``jac(t, y)`` for solve_ivp, an
ndarray for MINPACK, a preconditioner with ``setup``/``update`` for SciPy's
Krylov solver). They are classes rather than closures so that they pickle
(the prepared operators re-prepare on the other side); the ones holding a user
function refuse a lambda with a clear message.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse.linalg as _splinalg

from ._errors import InputError
from ._validation import check_picklable


def as_point(x0, name: str = "x0") -> np.ndarray:
    """A solver's variable vector: 1-D float64 (the solvers' convention), else InputError."""
    x = np.asarray(x0, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"`{name}` must be a 1-D array (the solvers' variable vector), "
                         f"got {shape_text(x0)}; pass np.ravel({name}) and reshape inside the "
                         "function.")
    return x


def constraint_values(c, x0, args, name):
    """``c(x0, *args)`` as a 1-D array: a scalar is one constraint (m = 1), as in SciPy."""
    val = np.asarray(c(x0, *args))
    if val.ndim > 1:
        raise InputError(f"`{name}` must return a scalar or a 1-D array, got {shape_text(val)}; "
                         "return np.ravel(...) of it.")
    return val.reshape(-1)


def as_args(args) -> tuple:
    """``args`` as a tuple, as ``scipy.optimize`` takes a single extra argument."""
    return args if isinstance(args, tuple) else (args,)


def shape_text(a) -> str:
    """``"shape (2, 3)"`` or ``"a scalar (float)"``, for error messages."""
    s = np.shape(a)
    return f"shape {s}" if s else f"a scalar ({type(a).__name__})"


class DenseHessian:
    """``hess(x, *args)`` as an ndarray, for trust-exact and dogleg."""

    def __init__(self, hessian):
        self.hessian = hessian

    def __call__(self, x, *args):
        return self.hessian(x, *args).toarray()


class DenseJacobian:
    """``jac(x, *args)`` as an ndarray, for root's MINPACK methods (hybr, lm)."""

    def __init__(self, jacobian):
        self.jacobian = jacobian
        self.pattern = jacobian.pattern

    def __call__(self, x, *args):
        return self.jacobian(x, *args).toarray()


class JacobianLu(_splinalg.LinearOperator):
    """``inner_M`` for ``root(method="krylov")``: ``J(x)^-1`` by a sparse LU of the exact Jacobian.

    SciPy's Krylov solver calls ``setup`` once and ``update(x, f)`` after every
    Newton step, so the factors always belong to the current iterate and the
    inner Krylov solve needs one or two iterations. The price is one sparse LU
    per Newton step (its fill-in grows with the bandwidth: cheap for 1-D and
    2-D problems, heavy for 3-D ones). Where the Jacobian is exactly singular
    that step runs unpreconditioned.
    """

    def __init__(self, jacobian, args):
        super().__init__(np.float64, jacobian.shape)
        self.jacobian = jacobian
        self.args = args
        self.n_factorizations = 0
        self._solve = None

    def setup(self, x, f, func):
        self.update(x, f)

    def update(self, x, f):
        self.n_factorizations += 1
        try:
            self._solve = _splinalg.splu(self.jacobian(x, *self.args).tocsc()).solve
        except RuntimeError:  # "Factor is exactly singular"
            self._solve = None

    def _matvec(self, v):
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        return v.copy() if self._solve is None else self._solve(v)

    def __getstate__(self):  # the factors do not pickle: the next update recomputes them
        state = dict(self.__dict__)
        state["_solve"] = None
        return state


class UserFunction:
    """Base of the adapters that wrap a user function: pickled by value, with the clear
    error of :func:`sparsead._validation.check_picklable` for a lambda."""

    def __getstate__(self):
        check_picklable(self.fn, f"this {type(self).__name__.strip('_')} adapter")
        return self.__dict__


class Lagrangian(UserFunction):
    """``(x, v, *args) -> sum(v * c(x, *args))``."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x, v, *args):
        return np.sum(v * self.fn(x, *args))


class BoundConstraint(UserFunction):
    """``x -> c(x, *args)`` (NonlinearConstraint calls ``fun(x)``)."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __call__(self, x):
        return self.fn(x, *self.args)


class ConstraintJacobian:
    """``x -> J(x, *args)``, the sparse constraint Jacobian."""

    def __init__(self, jacobian, args):
        self.jacobian, self.args = jacobian, args

    def __call__(self, x):
        return self.jacobian(x, *self.args)


class ConstraintHessian:
    """``(x, v) -> sum_i v_i nabla^2 c_i(x)``, the Lagrangian Hessian with checked ``v``."""

    def __init__(self, hessian, m, args):
        self.hessian, self.m, self.args = hessian, m, args

    def __call__(self, x, v):
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (self.m,):
            raise InputError(f"Lagrange multipliers `v` must have shape ({self.m},) (one per "
                              f"constraint value), got {shape_text(v)}.")
        return self.hessian(x, v, *self.args)


class Swapped(UserFunction):
    """``(y, t, *args) -> rhs(t, y, *args)``: solve_ivp's ``rhs`` with ``y`` first, for tracing."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, y, t, *args):
        return self.fn(t, y, *args)
