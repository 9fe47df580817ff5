"""Prepared sparse Hessians: pay tracing, detection and coloring once, then call.

For a scalar ``f``: :mod:`sparsead.sparsity` gives the Hessian pattern,
:mod:`._choice` its star or acyclic coloring, :func:`sparsead.ad.reverse.grad_graph`
the gradient graph whose forward lanes (:mod:`._backends`) give ``B = H S``
(forward-over-reverse), and :mod:`sparsead.coloring.decompression` writes
``H.data`` (or one triangle of it). Shared machinery is in :mod:`._base`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .._errors import InputError
from .._validation import (DECOMPRESSIONS, as_real_array, check_choice, check_scalar_output,
                           renamed)
from ..ad.forward import LanePlan
from ..ad.reverse import grad_graph
from ..coloring import check_orders
from ..coloring.decompression import Decompressor
from ..sparsity import graph_hessian_sparsity
from ._backends import BACKENDS, lanes, warn_fallback
from ._base import Prepared, check_threads
from ._choice import TRIANGLES, color, same_pattern, user_pattern

__all__ = ["SparseHessian"]

_OLD = {v: k for k, v in DECOMPRESSIONS.items()}   # "star" -> "direct", "acyclic" -> ...


class SparseHessian(Prepared):
    """A prepared sparse Hessian ``x -> H(x)`` as a ``csr_array``; made by :func:`sparse_hessian`.

    ``hess(x, *args, out=None)`` returns the full symmetric matrix (or one
    triangle when prepared with ``triangle=``); ``hess.hessp(x, p, *args)``
    returns one Hessian-vector product as an ndarray (for Newton-CG and the
    trust-region Krylov methods).

    Attributes
    ----------
    pattern : scipy.sparse.csr_array
        Boolean symmetric pattern ``(n, n)`` (the requested triangle if any).
    coloring : sparsead.Coloring
        The star or acyclic coloring whose HVP lanes are evaluated.
    n_colors : int
        Number of HVP lanes per evaluation.
    decompression : {"direct", "substitution"}
        Star coloring with direct decompression, or acyclic coloring with
        decompression by substitution.
    mode : str
        Deprecated (it named the coloring, ``"star"``/``"acyclic"``, and
        warns); use ``decompression``. ``mode`` will name the lanes, as on
        :class:`SparseJacobian`.
    backend, timings
        As on :class:`SparseJacobian`.

    Notes
    -----
    Pickles as :class:`SparseJacobian` does: the receiving process prepares
    again (``f`` must be a module-level function).

    Examples
    --------
    >>> import numpy as np, sparsead as sa
    >>> f = lambda x: np.sum(x[:-1] ** 2 * x[1:])
    >>> hess = sa.sparse_hessian(f, np.ones(4))
    >>> H = hess(np.ones(4))
    >>> H.toarray()
    array([[2., 2., 0., 0.],
           [2., 2., 2., 0.],
           [0., 2., 2., 2.],
           [0., 0., 2., 0.]])
    >>> hess.hessp(np.ones(4), np.array([1.0, 0, 0, 0]))
    array([2., 2., 0., 0.])
    """

    def __init__(self, f, x0, args=(), *, decompression=None, order=None, sparsity=None,
                 backend="auto", triangle="full", coloring=None, threads="auto", _local=False,
                 _reuse=None):
        decompression = renamed(decompression, coloring, "decompression", "coloring",
                                _OLD, default="direct", stacklevel=4)
        decompression = check_choice(decompression, tuple(DECOMPRESSIONS), "decompression",
                                     ValueError)
        backend = check_choice(backend, BACKENDS, "backend", ValueError)
        triangle = check_choice(triangle, TRIANGLES, "triangle", ValueError)
        n_threads = check_threads(threads)
        if order is not None:
            check_orders(order)                   # before any tracing
        self._options = dict(decompression=decompression, order=order, sparsity=sparsity,
                             backend=backend, triangle=triangle, threads=threads)
        traced, t0 = self._init_args(f, x0, args, _local)
        g = self._graph
        check_scalar_output(g.nodes[g.outputs[0]].shape, "sparse_hessian",
                            "Use sparse_jacobian for vector outputs.")
        detected = graph_hessian_sparsity(g)
        full = detected if sparsity is None else user_pattern(sparsity, detected)
        t1 = time.perf_counter()
        if _reuse is not None and same_pattern(_reuse.coloring.pattern, full):
            self.coloring = _reuse.coloring                    # local re-trace, same pattern
        else:
            self.coloring = color(full, DECOMPRESSIONS[decompression], order,
                                  symmetrize=sparsity is not None)
        self.n_colors = self.coloring.n_colors
        self.decompression = decompression
        self.triangle = triangle
        t2 = time.perf_counter()
        self._grad_graph = grad_graph(g) if self.n_colors else None  # else built by hessp
        n = full.shape[0]
        notes = []
        run, layout, name = lanes(self._grad_graph, 0, self.coloring.colors, self.n_colors,
                                   backend, [self._x0] + traced, notes, n_threads)
        warn_fallback(notes)
        self._run = run
        self._transposed = layout == "lanes"
        self.backend = name or ("numba" if backend == "numba" else "numpy")
        self._decomp = Decompressor(self.coloring._plan(triangle), [(n, self.n_colors)],
                                    [self._transposed], n_threads)
        self._decomp.fuse(run.into, n * self.n_colors, getattr(run, "map_dtype", None))
        self._out_pattern = self._decomp.out
        self.pattern = self._out_pattern if triangle != "full" else self.coloring.pattern
        self.shape = self.pattern.shape
        self._hvp_plan = None
        t3 = time.perf_counter()
        self.timings = {"detect": t1 - t0, "color": t2 - t1, "compile": t3 - t2}

    @property
    def mode(self):
        """Deprecated: ``"star"``/``"acyclic"``; use :attr:`decompression`."""
        warnings.warn("SparseHessian.mode is deprecated (it will name the lanes, as on "
                      "SparseJacobian); use SparseHessian.decompression ('direct' or "
                      "'substitution').", DeprecationWarning, stacklevel=2)
        return DECOMPRESSIONS[self.decompression]

    def __repr__(self):
        return (f"SparseHessian(shape={self.shape}, nnz={self.pattern.nnz}, "
                f"n_colors={self.n_colors}, decompression={self.decompression!r}, "
                f"backend={self.backend!r})")

    def __call__(self, x, *args, out=None):
        """The Hessian at ``x``: a float64 ``csr_array`` with the prepared pattern (into ``out``)."""
        inputs = self._inputs(x, args)
        res, data = self._result(out)
        if not self._decomp.run_fused([inputs], data):    # else the kernel wrote H.data
            self._decomp(self._run(inputs), np.zeros(0), data)
        return res

    def compressed(self, x, *args):
        """The compressed product ``H @ S`` of shape ``(n, n_colors)``."""
        B = self._run(self._inputs(x, args))
        return np.ascontiguousarray(B.T) if self._transposed else np.ascontiguousarray(B)

    def hessp(self, x, p, *args):
        """One Hessian-vector product ``H(x) @ p`` (no coloring; for Newton-CG / trust-krylov)."""
        inputs = self._inputs(x, args)
        v = as_real_array(p, "p")
        if v.size != inputs[0].size:
            raise InputError(f"`p` has {v.size} elements, `x` has {inputs[0].size}.")
        if self._hvp_plan is None:
            if self._grad_graph is None:
                self._grad_graph = grad_graph(self._graph)
            self._hvp_plan = LanePlan(self._grad_graph, 0, 1, want_value=False)
        _, Bt = self._hvp_plan.run_t(inputs, seed=v.reshape(-1, 1))
        return Bt.reshape(self.shape_x).copy()
