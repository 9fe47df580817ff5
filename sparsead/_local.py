"""Local prepared operators: exact derivatives at a point for code that branches on values.

``sparse_jacobian(f, x0, local=True)`` (and ``sparse_hessian``) trace ``f`` at
``x0`` with values, so ``if``, builtin ``max``/``min``, ``int()``, ``bool()`` and
``float()`` of values without derivative follow the branch taken there; each
decision is a guard (:mod:`sparsead.tracing.guards`). The recorded graph is the
function ``f`` restricted to the region where every guard has its recorded
outcome, so its *global* pattern and its derivatives are exact there. A
:class:`LocalJacobian`/:class:`LocalHessian` keeps such prepared operators
(:class:`~sparsead.prepared.SparseJacobian`/``SparseHessian``, one per region
seen, most recent first, at most ``max_regions``); each call checks the guards
of the current one (evaluating only the nodes they need), tries the others when
one flips, and otherwise traces again at the new point -- re-using the coloring
when the pattern did not change. ``.pattern`` is the pattern of the region the
last call was in, so it may change between calls (``.n_traces`` counts the
traces; an ``out=`` matrix must have the current pattern).

Fed by :mod:`sparsead.prepared` (the operators) and :mod:`sparsead.tracing`;
``sparse_jacobian``/``sparse_hessian`` construct these when ``local=True``.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ._errors import InputError
from ._validation import check_picklable
from .prepared.hessian import SparseHessian
from .prepared.jacobian import SparseJacobian
from .tracing.guards import GuardPlan

__all__ = ["LocalJacobian", "LocalHessian"]


class _Local:
    """The common part: regions (guard plan + prepared operator), selection, delegation."""

    _make = None          # the prepared class (set by subclasses)

    def __init__(self, f, x0, args=(), *, max_regions=4, **options):
        if not (isinstance(max_regions, (int, np.integer)) and max_regions >= 1):
            raise InputError(f"`max_regions` must be a positive integer, got {max_regions!r}.")
        self.f = f
        self._options = options
        self._max = int(max_regions)
        self._lock = threading.Lock()
        self._x0 = np.array(x0, dtype=np.float64)
        self._args0 = args
        self.n_traces = 0
        self.guard_seconds = 0.0
        self._regions = []                  # [(GuardPlan, operator)], most recent first
        self._trace(self._x0, args, None)

    def _trace(self, x, args, previous):
        op = self._make(self.f, x, args, **self._options, _local=True, _reuse=previous)
        region = (GuardPlan(op._local_graph), op)
        with self._lock:
            self._regions = [region] + self._regions[:self._max - 1]
            self.n_traces += 1
        return op

    def _select(self, x, args):
        """The prepared operator whose guards hold at ``(x, args)`` (traced anew if none)."""
        regions = self._regions
        current = regions[0][1]
        inputs = current._inputs(x, args)           # validates x and the arguments
        t = time.perf_counter()
        for k, (plan, op) in enumerate(regions):
            if plan.holds(inputs):
                if k:
                    with self._lock:
                        rest = [r for r in self._regions if r[1] is not op]
                        self._regions = [(plan, op)] + rest
                self.guard_seconds += time.perf_counter() - t
                return op
        self.guard_seconds += time.perf_counter() - t
        return self._trace(inputs[0].reshape(current.shape_x), args, current)

    def guards_hold(self, x, *args) -> bool:
        """Whether ``x`` lies in the region of the last call (the same branches as there)."""
        plan, op = self._regions[0]
        return plan.holds(op._inputs(x, args))

    def compressed(self, x, *args):
        return self._select(x, args).compressed(x, *args)

    def __call__(self, x, *args, out=None):
        """The derivative at ``x`` (traced again if a branch decision differs from the region)."""
        return self._select(x, args)(x, *args, out=out)

    def __getattr__(self, name):
        if name in ("pattern", "coloring", "n_colors", "mode", "decompression", "backend", "shape",
                    "timings", "triangle", "shape_x"):
            return getattr(self._regions[0][1], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def n_guards(self) -> int:
        """Branch decisions recorded in the current region."""
        return sum(int(np.size(g.expected)) if g.test == "truths" else 1
                   for g in self._regions[0][0].guards)

    def __reduce__(self):
        check_picklable(self.f, f"this {type(self).__name__}")
        return _rebuild, (type(self), self.f, self._x0, self._args0,
                          dict(self._options, max_regions=self._max))

    def __repr__(self):
        op = self._regions[0][1]
        return (f"{type(self).__name__}(shape={op.shape}, nnz={op.pattern.nnz}, "
                f"n_colors={op.n_colors}, guards={self.n_guards}, traces={self.n_traces})")


def _rebuild(cls, f, x0, args, options):
    return cls(f, x0, args, **options)


class LocalJacobian(_Local):
    """A sparse Jacobian, exact at every point of code that branches (``sparse_jacobian(local=True)``).

    Examples
    --------
    >>> import numpy as np, sparsead as sa
    >>> def f(x):
    ...     y = x.copy()
    ...     if x[0] > 0:                    # a branch on a traced value
    ...         y[1:] = x[1:] * x[0]
    ...     return y
    >>> jac = sa.sparse_jacobian(f, np.array([1.0, 2.0, 3.0]), local=True)
    >>> jac(np.array([2.0, 1.0, 1.0])).toarray()
    array([[1., 0., 0.],
           [1., 2., 0.],
           [1., 0., 2.]])
    >>> jac(np.array([-1.0, 1.0, 1.0])).toarray()     # the other branch: traced again
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    >>> jac.n_traces
    2
    """

    def __init__(self, f, x0, args=(), *, max_regions=4, **options):
        self._make = SparseJacobian
        super().__init__(f, x0, args, max_regions=max_regions, **options)


class LocalHessian(_Local):
    """A sparse Hessian, exact at every point of code that branches (``sparse_hessian(local=True)``)."""

    def __init__(self, f, x0, args=(), *, max_regions=4, **options):
        self._make = SparseHessian
        super().__init__(f, x0, args, max_regions=max_regions, **options)

    def hessp(self, x, p, *args):
        """One Hessian-vector product ``H(x) @ p`` in the region of ``x``."""
        return self._select(x, args).hessp(x, p, *args)
