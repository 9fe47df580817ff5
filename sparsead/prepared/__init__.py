"""Prepared sparse Jacobians and Hessians: pay tracing, detection and coloring once, then call.

Modules, in the order they depend on each other: :mod:`._backends` (lane
evaluators: Numba or the numpy interpreter), :mod:`._choice` (which coloring:
options, defaults, ``mode="auto"``), :mod:`._base` (arguments, tracing,
pickling, ``out=``), then :mod:`.jacobian` and :mod:`.hessian` (the two
operators) and :mod:`.api` (the functions that make them, also the
``local=True`` wrappers of :mod:`sparsead._local`). A :class:`SparseJacobian` or
:class:`SparseHessian` is a plain callable returning a ``csr_array`` with the
prepared pattern, so it drops into ``scipy.optimize`` as ``jac=``/``hess=``.

Numeric (floating) ndarray ``args`` are graph inputs: they may change between
calls and their values never enter the pattern (a pattern holds for every value,
e.g. Lagrange multipliers). Every other argument is baked into the graph: copied
at preparation and compared by value at every call
(:class:`sparsead._validation.ArgSpec`), so a changed one raises, never goes stale.
"""

from __future__ import annotations

from .._validation import check_picklable  # noqa: F401  (its former home)
from ._base import _rebuild  # noqa: F401  (pickles made before the split name it here)
from .api import sparse_hessian, sparse_jacobian
from .hessian import SparseHessian
from .jacobian import SparseJacobian

__all__ = ["sparse_jacobian", "sparse_hessian", "SparseJacobian", "SparseHessian"]
