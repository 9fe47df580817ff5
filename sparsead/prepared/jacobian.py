"""Prepared sparse Jacobians: pay tracing, detection and coloring once, then call.

Ties the pipeline together for ``x -> J(x)``: :mod:`sparsead.tracing` (the
graph), :mod:`sparsead.sparsity` (the pattern), :mod:`._choice` (the coloring
and its lanes: forward, reverse or bidirectional), :mod:`._backends` (the lane
evaluator) and :mod:`sparsead.coloring.decompression` (the index maps that
write ``J.data``). Shared machinery (arguments, pickling, ``out=``) is in
:mod:`._base`.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_choice
from ..ad.reverse import vjp_graph
from ..coloring import check_orders
from ..coloring.decompression import Decompressor
from ..sparsity import graph_jacobian_sparsity
from ._backends import BACKENDS, lanes, warn_fallback
from ._base import Prepared, check_threads
from ._choice import MODES, jacobian_coloring, user_pattern

__all__ = ["SparseJacobian"]


class SparseJacobian(Prepared):
    """A prepared sparse Jacobian ``x -> J(x)`` as a ``csr_array``; made by :func:`sparse_jacobian`.

    Calling ``jac(x, *args, out=None)`` evaluates the compressed lanes and
    decompresses them into a fresh ``csr_array`` (or into ``out``, which must
    have the prepared pattern). ``jac.compressed(x, *args)`` returns the
    compressed product itself.

    Attributes
    ----------
    pattern : scipy.sparse.csr_array
        Boolean pattern, shape ``(f(x).size, x.size)``.
    coloring : sparsead.Coloring
        The coloring whose lanes are evaluated.
    n_colors : int
        Number of lanes (JVPs + VJPs) per evaluation.
    mode : {"forward", "reverse", "bidirectional"}
        The lanes used (``"auto"`` resolved).
    backend : {"numba", "numpy"}
        The lane evaluator in use.
    timings : dict
        Preparation seconds: ``detect``, ``color``, ``compile``.

    Notes
    -----
    Pickling (``pickle``, ``multiprocessing``, ``concurrent.futures``) stores
    the preparation call (``f``, ``x0``, ``args`` and the options): the
    receiving process prepares again, getting the same pattern and coloring,
    and loads the compiled kernel from the on-disk cache. ``f`` must then be
    a module-level function (standard pickle stores functions by name: a
    lambda raises ``pickle.PicklingError``; cloudpickle, not a dependency,
    can store lambdas).

    Examples
    --------
    >>> import numpy as np, sparsead as sa
    >>> jac = sa.sparse_jacobian(lambda x: x[1:] * x[:-1], np.ones(5))
    >>> jac.shape, jac.n_colors, jac.mode
    ((4, 5), 2, 'forward')
    >>> J = jac(np.arange(5.0))
    >>> J.toarray()[0]
    array([1., 0., 0., 0., 0.])
    >>> jac(np.arange(5.0) + 1, out=J) is J
    True
    """

    def __init__(self, f, x0, args=(), *, mode="auto", order=None, sparsity=None,
                 backend="auto", threads="auto", _local=False, _reuse=None):
        mode = check_choice(mode, MODES, "mode", ValueError)
        backend = check_choice(backend, BACKENDS, "backend", ValueError)
        if order is not None:
            check_orders(order)                   # before any tracing
        n_threads = check_threads(threads)
        self._options = dict(mode=mode, order=order, sparsity=sparsity, backend=backend,
                             threads=threads)
        traced, t0 = self._init_args(f, x0, args, _local)
        g = self._graph
        detected = graph_jacobian_sparsity(g)
        self.pattern = detected if sparsity is None else user_pattern(sparsity, detected)
        self.shape = self.pattern.shape
        t1 = time.perf_counter()
        self.mode, self.coloring = jacobian_coloring(self.pattern, mode, order, _reuse)
        self.n_colors = self.coloring.n_colors
        t2 = time.perf_counter()
        m, n = self.shape
        c = self.coloring
        runs, backends, notes = [], [], []
        point = [self._x0] + traced
        back = [self._x0, np.zeros(m)] + traced
        if self.mode == "forward":
            run, layout, name = lanes(g, 0, c.colors, c.n_colors, backend, point, notes, n_threads)
            runs.append((run, False))
            shapes, transposed = [(m, c.n_colors)], [layout == "lanes"]
            backends.append(name)
        if self.mode in ("reverse", "bidirectional"):
            vjp_lanes = c.n_colors if self.mode == "reverse" else c.n_row_colors
            self._vjp_graph = vjp_graph(g) if vjp_lanes else None  # no lanes: not needed
        if self.mode == "reverse":
            run, layout, name = lanes(self._vjp_graph, 1, c.colors, c.n_colors, backend, back,
                                       notes, n_threads)
            runs.append((run, True))
            shapes, transposed = [(c.n_colors, n)], [layout == "rows"]
            backends.append(name)
        if self.mode == "bidirectional":
            run1, lay1, n1 = lanes(g, 0, c.column_colors, c.n_column_colors, backend, point,
                                    notes, n_threads)
            run2, lay2, n2 = lanes(self._vjp_graph, 1, c.row_colors, c.n_row_colors, backend,
                                    back, notes, n_threads)
            runs += [(run1, False), (run2, True)]
            shapes = [(m, c.n_column_colors), (c.n_row_colors, n)]
            transposed = [lay1 == "lanes", lay2 == "rows"]
            backends += [n1, n2]
        self._runs = runs
        self._layouts = transposed
        self._w = np.zeros(m)
        self._decomp = Decompressor(c._plan("full"), shapes, transposed, n_threads)
        # the kernels write J.data through maps (bidirectional: both blocks' kernels)
        self._decomp.fuse([r.into for r, _ in runs], [int(np.prod(s)) for s in shapes],
                          [getattr(r, "map_dtype", None) for r, _ in runs])
        self._out_pattern = self._decomp.out
        used = [b for b in backends if b is not None]
        self.backend = "numba" if used and all(b == "numba" for b in used) else (
            "numba" if not used and backend == "numba" else "numpy")
        warn_fallback(notes)
        t3 = time.perf_counter()
        self.timings = {"detect": t1 - t0, "color": t2 - t1, "compile": t3 - t2}

    def __repr__(self):
        return (f"SparseJacobian(shape={self.shape}, nnz={self.pattern.nnz}, "
                f"n_colors={self.n_colors}, mode={self.mode!r}, backend={self.backend!r})")

    def _lane_inputs(self, inputs, reverse):
        return [inputs[0], self._w] + inputs[1:] if reverse else inputs

    def _blocks(self, inputs):
        return [run(self._lane_inputs(inputs, reverse)) for run, reverse in self._runs]

    def __call__(self, x, *args, out=None):
        """The Jacobian at ``x``: a float64 ``csr_array`` with the prepared pattern (into ``out``)."""
        inputs = self._inputs(x, args)
        res, data = self._result(out)
        if self._decomp.run_fused([self._lane_inputs(inputs, rev) for _, rev in self._runs],
                                  data):
            return res                            # the kernels wrote J.data themselves
        blocks = self._blocks(inputs)
        b2 = blocks[1] if len(blocks) > 1 else np.zeros(0)
        self._decomp(blocks[0], b2, data)
        return res

    def compressed(self, x, *args):
        """The compressed product: ``J @ S`` (forward), ``S.T @ J`` (reverse), or both (bidirectional)."""
        blocks = self._blocks(self._inputs(x, args))
        fixed = [np.ascontiguousarray(b.T) if t else np.ascontiguousarray(b)
                 for b, t in zip(blocks, self._layouts)]
        return tuple(fixed) if self.mode == "bidirectional" else fixed[0]
