"""Prepared sparse Jacobians and Hessians: pay tracing, detection and coloring once, then call.

Ties the pipeline together: :mod:`sparsead.tracing` (the graph),
:mod:`sparsead.sparsity` (the pattern), :mod:`sparsead.coloring` (colors and the
decompression plan) and :mod:`sparsead.ad` (forward lanes, the VJP and gradient
graphs; optionally the Numba backend). A :class:`SparseJacobian` or
:class:`SparseHessian` is a plain callable returning a ``csr_array`` with the
prepared pattern, so it drops into ``scipy.optimize`` as ``jac=``/``hess=``.

Numeric (floating) ndarray ``args`` are graph inputs: they may change between
calls and their values never enter the pattern (a pattern holds for every value,
e.g. Lagrange multipliers). Every other argument is baked into the graph: copied
at preparation and compared by value at every call
(:class:`sparsead._validation.ArgSpec`), so a changed one raises, never goes stale.
"""

from __future__ import annotations

import importlib
import pickle
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from ._errors import (DecompressionError, InputError, InputTypeError, PatternError,  # noqa: F401
                      SparseadWarning)
from ._kernels import lazy, readonly_flat
from ._validation import ArgSpec, as_pattern, as_real_array, check_out
from .ad.forward import LanePlan, seed_from_colors
from .ad.reverse import grad_graph, vjp_graph
from .coloring import color as _color_api
from .sparsity import graph_hessian_sparsity, graph_jacobian_sparsity
from .tracing import trace
from .tracing.graph import prune

_kd = lazy("decompress")  # Numba is imported at the first kernel call

__all__ = ["sparse_jacobian", "sparse_hessian", "SparseJacobian", "SparseHessian"]

MODES = ("auto", "forward", "reverse", "bidirectional")
BACKENDS = ("auto", "numpy", "numba")
HESSIAN_COLORINGS = ("star", "acyclic")
TRIANGLES = ("full", "lower", "upper")
DEFAULT_ORDERS = ("natural", "largest_first", "smallest_last")
#: Rounds of iterated greedy after the default orders (``sparsead.color(improve=...)``):
#: two rounds find most of what more would (on the reference matrices, 51 of the 55
#: star colors that ten rounds save) for about two greedy colorings each.
DEFAULT_IMPROVE = 2


def _choice(value, allowed, name):
    if not (isinstance(value, str) and value in allowed):
        raise ValueError(f"`{name}` must be one of {allowed}, got {value!r}.")
    return value


# --- arguments: see sparsead._validation (ArgSpec, as_real_array) ---------------------

def _validate_x(x, shape):
    a = as_real_array(x)
    if a.shape != tuple(shape):
        raise InputError(f"`x` has shape {a.shape} but the operator was prepared at an `x0` of "
                         f"shape {tuple(shape)}; prepare again for another shape.")
    return a


# --- backends -------------------------------------------------------------------------

def _numba_module():
    return importlib.import_module("sparsead.ad.numba_backend")


def _lanes(graph, wrt, colors, n_lanes, backend, inputs=None, notes=None):
    """``(run, layout, name)``: ``run(inputs) -> B`` with B as (m, p) ("rows") or (p, m) ("lanes").

    ``backend="auto"`` compiles with Numba within the compile budget and, when
    ``inputs`` (the preparation point) are given, checks the compiled lanes
    against the interpreter there; on any failure it uses the numpy
    interpreter and appends the reason to ``notes`` (the caller warns once).
    ``backend="numba"`` raises instead, with the reason. No lanes (an empty
    pattern, e.g. an empty ``x``): nothing is compiled or run, name None.
    """
    if n_lanes == 0:
        return _no_lanes, "rows", None
    colors = np.asarray(colors, dtype=np.int64)
    if backend in ("auto", "numba"):
        try:
            mod = _numba_module()
            fn = mod.compile_forward(graph, wrt, colors, int(n_lanes),
                                     budget=mod.COMPILE_BUDGET if backend == "auto" else None)
            reason = None
            if inputs is not None and mod.CHECK_LANES:
                reason = mod.check_lanes(fn, graph, wrt, colors, int(n_lanes), inputs)
        except ImportError as exc:
            reason = f"Numba cannot be imported ({exc})"
        except NotImplementedError as exc:      # NumbaBackendError: stage, primitive, why
            reason = str(exc)
        if reason is None:
            return (lambda inputs: fn(inputs)[1]), "rows", "numba"
        if backend == "numba":
            raise NotImplementedError(f"backend='numba' cannot evaluate this function: {reason}. "
                                      "Use backend='numpy' or 'auto'.")
        if notes is not None:
            notes.append(reason)
    plan = LanePlan(graph, wrt, seed_from_colors(colors, n_lanes), want_value=False)
    return (lambda inputs: plan.run_t(inputs)[1]), "lanes", "numpy"


def _warn_fallback(notes):
    """One warning per prepared operator that fell back to the numpy interpreter."""
    if notes:
        reasons = "; ".join(dict.fromkeys(notes))
        warnings.warn(f"the Numba backend cannot evaluate this function ({reasons}); the numpy "
                      "interpreter is used instead (same results, slower evaluation). Pass "
                      "backend='numpy' to choose it without this warning.", SparseadWarning,
                      stacklevel=4)


def _no_lanes(inputs):
    return np.zeros(0)


def _remap(src, shape):
    """Source indices into a C-order (r, c) matrix -> indices into its transpose."""
    src = np.asarray(src, dtype=np.int64)
    r, c = shape
    if c == 0 or src.size == 0:
        return src.copy()
    pos = src >= 0
    s = src[pos]
    out = src.copy()
    out[pos] = (s % c) * r + s // c
    return out


def _remap_neg(src, shape):
    src = np.asarray(src, dtype=np.int64)
    neg = src < 0
    if not neg.any():
        return src
    out = src.copy()
    out[neg] = -_remap(-src[neg] - 1, shape) - 1
    return out


class _Decompressor:
    """A coloring's decompression plan, with sources remapped for transposed compressed blocks."""

    def __init__(self, coloring, triangle, shapes, transposed):
        plan = coloring._plan(triangle)
        g_src, s_src = plan.g_src, plan.s_src
        if transposed[0]:
            g_src, s_src = _remap(g_src, shapes[0]), _remap(s_src, shapes[0])
            g_src = np.where(plan.g_src < 0, plan.g_src, g_src)
            s_src = np.where(plan.s_src < 0, plan.s_src, s_src)
        if len(shapes) > 1 and transposed[1]:
            g_src, s_src = _remap_neg(g_src, shapes[1]), _remap_neg(s_src, shapes[1])
        self.args = (plan.g_out, np.ascontiguousarray(g_src, dtype=np.int64), plan.s_out,
                     np.ascontiguousarray(s_src, dtype=np.int64), plan.s_ptr, plan.s_sub,
                     plan.c_dst, plan.c_src)
        self.out = plan.out

    def __call__(self, b1, b2, data):
        _kd.run_plan(readonly_flat(b1), readonly_flat(b2), *self.args, data)


# --- pickling --------------------------------------------------------------------------

def check_picklable(f, what):
    """Refuse, with a clear message, a function that Python's standard pickle cannot store.

    ``pickle`` stores a function by its importable name, so lambdas and functions
    defined inside other functions fail (with a terse message from deep inside
    pickle). When cloudpickle is loaded (joblib/loky, dask, or the caller's own
    choice) the pickler may be one that can store them, so nothing is refused.
    """
    qualname = getattr(f, "__qualname__", None)
    if not isinstance(qualname, str) or not ("<lambda>" in qualname or "<locals>" in qualname):
        return
    if any(name.endswith("cloudpickle") for name in list(sys.modules)):
        return
    raise pickle.PicklingError(
        f"cannot pickle {what}: its function `{qualname}` is a lambda or is defined inside "
        "another function, and Python's standard pickle stores functions by their importable "
        "name. Define the function at module level (def f(x): ...) in a module the other "
        "process can import; cloudpickle (not a sparsead dependency) can pickle lambdas.")


def _rebuild(cls, f, x0, args, options):
    """Unpickle a prepared operator by preparing it again (its kernels load from the cache)."""
    return cls(f, x0, args, **options)


# --- the common base ------------------------------------------------------------------

class _Prepared:
    def __reduce__(self):
        """Pickle as the preparation call: the other process traces, detects and colors again
        (deterministically: the same pattern and coloring) and loads the compiled lane
        kernel from the on-disk cache instead of compiling it."""
        check_picklable(self.f, f"this {type(self).__name__}")
        return _rebuild, (type(self), self.f, self._x0, self._pickle_args, self._options)

    def _init_args(self, f, x0, args, local=False):
        if not callable(f):
            raise InputTypeError(f"`f` must be a callable f(x, *args), got {type(f).__name__}.")
        self.f = f
        self._x0 = as_real_array(x0, "x0")
        self.shape_x = self._x0.shape
        self._args = ArgSpec(args)
        traced = [np.asarray(args[k], dtype=np.float64) for k in self._args.traced]
        # what pickling re-prepares with: the baked snapshots and copies of the traced arrays
        copies = dict(zip(self._args.traced, (np.array(a) for a in traced)))
        self._pickle_args = tuple(copies[k] if k in copies else self._args.baked[k]
                                  for k in range(self._args.n))
        t = time.perf_counter()
        self._graph = trace(self._args.wrap(f), self._x0, tuple(traced), args_as_inputs=True,
                            local=local)
        if local:   # the guards' nodes stay in `_local_graph`; lanes and patterns skip them
            self._local_graph = self._graph
            self._graph = prune(self._graph)[0]
        return traced, t

    def _check_out(self, out):
        check_out(out, "allocate it once with out = op(x)")
        p = self._out_pattern
        seen = getattr(self, "_seen_out", None)
        if seen is not None and out.indptr is seen[0] and out.indices is seen[1] \
                and out.data.size == p.nnz:
            return out
        if out.shape != p.shape or out.data.size != p.nnz or not (
                np.shape(out.indptr) == p.indptr.shape and np.shape(out.indices) == p.indices.shape
                and np.array_equal(out.indptr, p.indptr) and np.array_equal(out.indices, p.indices)):
            raise DecompressionError(
                f"`out` must have exactly the prepared pattern (shape {p.shape}, nnz {p.nnz}); "
                f"got shape {out.shape}, {out.data.size} values with another structure. Allocate "
                "it once with out = op(x).")
        self._seen_out = (out.indptr, out.indices)
        return out

    def _result(self, out):
        if out is not None:
            out = self._check_out(out)
            return out, out.data
        p = self._out_pattern
        data = np.empty(p.nnz, dtype=np.float64)
        res = sp.csr_array((data, p.indices.copy(), p.indptr.copy()), shape=p.shape, copy=False)
        res.has_sorted_indices = True
        return res, data

    def _inputs(self, x, args):
        return [_validate_x(x, self.shape_x)] + self._args.traced_values(args)

    def __repr__(self):
        return (f"{type(self).__name__}(shape={self.shape}, nnz={self.pattern.nnz}, "
                f"n_colors={self.n_colors}, mode={self.mode!r}, backend={self.backend!r})")


def _user_pattern(sparsity, detected, name="sparsity"):
    """A user pattern, validated: same shape as detected and containing every detected entry."""
    p = as_pattern(sparsity, name)
    if p.shape != detected.shape:
        raise PatternError(f"`{name}` has shape {p.shape}, the derivative has shape "
                           f"{detected.shape}.")
    missing = detected.astype(np.int8) - detected.multiply(p).astype(np.int8)
    missing.eliminate_zeros()
    if missing.nnz:
        r, c = missing.nonzero()
        raise PatternError(
            f"`{name}` misses {missing.nnz} entries that can be nonzero (e.g. ({r[0]}, {c[0]})); "
            "a smaller pattern would silently give a wrong matrix. Pass a superset of "
            "sparsead's detected pattern (or leave `sparsity=None`).")
    return p


def _color(pattern, problem, orders, **options):
    """:func:`sparsead.color`, with the default improvement rounds when the orders are the defaults."""
    if isinstance(orders, (list, tuple)) and list(orders) == list(DEFAULT_ORDERS):
        options.setdefault("improve", DEFAULT_IMPROVE)
    return _color_api(pattern, problem, orders, **options)


def _same_pattern(a, b) -> bool:
    """Two canonical (sorted) csr patterns with the same structure."""
    return a.shape == b.shape and a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr) \
        and np.array_equal(a.indices, b.indices)


def _auto_candidates(pattern, orders):
    """Column and row colorings for ``mode="auto"``, skipping a side that cannot win.

    A row with k entries needs k column colors, a column with k entries k row
    colors; those lower bounds cost O(nnz). The side with the smaller bound is
    colored first, and the other only if its bound does not exceed the colors
    already found. This matters: coloring the columns of a Jacobian with one
    dense row costs O(n^2) and can only give n colors. When both bounds exceed
    2 the bicoloring is colored first (it handles dense rows and columns in
    O(nnz)), and its count bounds both sides.
    """
    bounds = {"forward": int(np.diff(pattern.indptr).max(initial=0)),
              "reverse": int(np.bincount(pattern.indices, minlength=pattern.shape[1])
                             .max(initial=0))}
    candidates = {}
    if min(bounds.values()) > 2:
        candidates["bidirectional"] = _color(pattern, "bidirectional", orders)
    for side in sorted(bounds, key=lambda k: (bounds[k], k != "forward")):
        if candidates and bounds[side] > min(c.n_colors for c in candidates.values()):
            continue
        candidates[side] = _color(pattern, "column" if side == "forward" else "row", orders)
    return candidates


class SparseJacobian(_Prepared):
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
                 backend="auto", _local=False, _reuse=None):
        mode = _choice(mode, MODES, "mode")
        backend = _choice(backend, BACKENDS, "backend")
        self._options = dict(mode=mode, order=order, sparsity=sparsity, backend=backend)
        traced, t0 = self._init_args(f, x0, args, _local)
        g = self._graph
        detected = graph_jacobian_sparsity(g)
        self.pattern = detected if sparsity is None else _user_pattern(sparsity, detected)
        self.shape = self.pattern.shape
        t1 = time.perf_counter()
        orders = list(DEFAULT_ORDERS) if order is None else order
        reused = _reuse is not None and _same_pattern(_reuse.pattern, self.pattern)
        if reused:
            candidates = {_reuse.mode: _reuse.coloring}      # local re-trace, same pattern
        elif mode == "auto":
            candidates = _auto_candidates(self.pattern, orders)
        elif mode == "forward":
            candidates = {"forward": _color(self.pattern, "column", orders)}
        elif mode == "reverse":
            candidates = {"reverse": _color(self.pattern, "row", orders)}
        else:
            candidates = {}
        if not reused and "bidirectional" not in candidates and (
                mode == "bidirectional" or (
                    mode == "auto" and min(c.n_colors for c in candidates.values()) > 2)):
            candidates["bidirectional"] = _color(self.pattern, "bidirectional", orders)
        self.mode = min(candidates, key=lambda k: (candidates[k].n_colors,
                                                   ("forward", "reverse", "bidirectional").index(k)))
        self.coloring = candidates[self.mode]
        self.n_colors = self.coloring.n_colors
        t2 = time.perf_counter()
        m, n = self.shape
        c = self.coloring
        runs, backends, notes = [], [], []
        point = [self._x0] + traced
        back = [self._x0, np.zeros(m)] + traced
        if self.mode == "forward":
            run, layout, name = _lanes(g, 0, c.colors, c.n_colors, backend, point, notes)
            runs.append((run, False))
            shapes, transposed = [(m, c.n_colors)], [layout == "lanes"]
            backends.append(name)
        if self.mode in ("reverse", "bidirectional"):
            vjp_lanes = c.n_colors if self.mode == "reverse" else c.n_row_colors
            self._vjp_graph = vjp_graph(g) if vjp_lanes else None  # no lanes: not needed
        if self.mode == "reverse":
            run, layout, name = _lanes(self._vjp_graph, 1, c.colors, c.n_colors, backend, back,
                                       notes)
            runs.append((run, True))
            shapes, transposed = [(c.n_colors, n)], [layout == "rows"]
            backends.append(name)
        if self.mode == "bidirectional":
            run1, lay1, n1 = _lanes(g, 0, c.column_colors, c.n_column_colors, backend, point,
                                    notes)
            run2, lay2, n2 = _lanes(self._vjp_graph, 1, c.row_colors, c.n_row_colors, backend,
                                    back, notes)
            runs += [(run1, False), (run2, True)]
            shapes = [(m, c.n_column_colors), (c.n_row_colors, n)]
            transposed = [lay1 == "lanes", lay2 == "rows"]
            backends += [n1, n2]
        self._runs = runs
        self._layouts = transposed
        self._w = np.zeros(m)
        self._decomp = _Decompressor(c, "full", shapes, transposed)
        self._out_pattern = self._decomp.out
        used = [b for b in backends if b is not None]
        self.backend = "numba" if used and all(b == "numba" for b in used) else (
            "numba" if not used and backend == "numba" else "numpy")
        _warn_fallback(notes)
        t3 = time.perf_counter()
        self.timings = {"detect": t1 - t0, "color": t2 - t1, "compile": t3 - t2}

    def _blocks(self, inputs):
        blocks = []
        for run, reverse in self._runs:
            if reverse:
                blocks.append(run([inputs[0], self._w] + inputs[1:]))
            else:
                blocks.append(run(inputs))
        return blocks

    def __call__(self, x, *args, out=None):
        """The Jacobian at ``x``: a float64 ``csr_array`` with the prepared pattern (into ``out``)."""
        inputs = self._inputs(x, args)
        res, data = self._result(out)
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


class SparseHessian(_Prepared):
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
    mode : {"star", "acyclic"}
        The coloring problem (direct or substitution decompression).
    backend : {"numba", "numpy"}
        The lane evaluator in use.
    timings : dict
        Preparation seconds: ``detect``, ``color``, ``compile``.

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

    def __init__(self, f, x0, args=(), *, coloring="star", order=None, sparsity=None,
                 backend="auto", triangle="full", _local=False, _reuse=None):
        method = _choice(coloring, HESSIAN_COLORINGS, "coloring")
        backend = _choice(backend, BACKENDS, "backend")
        triangle = _choice(triangle, TRIANGLES, "triangle")
        self._options = dict(coloring=coloring, order=order, sparsity=sparsity, backend=backend,
                             triangle=triangle)
        traced, t0 = self._init_args(f, x0, args, _local)
        g = self._graph
        out = g.nodes[g.outputs[0]]
        if out.size != 1:
            raise InputError(f"sparse_hessian needs a scalar `f`; it returned shape {out.shape}. "
                             "Use sparse_jacobian for vector outputs.")
        detected = graph_hessian_sparsity(g)
        full = detected if sparsity is None else _user_pattern(sparsity, detected)
        t1 = time.perf_counter()
        orders = list(DEFAULT_ORDERS) if order is None else order
        if _reuse is not None and _same_pattern(_reuse.coloring.pattern, full):
            self.coloring = _reuse.coloring                    # local re-trace, same pattern
        else:
            self.coloring = _color(full, method, orders, symmetrize=sparsity is not None)
        self.n_colors = self.coloring.n_colors
        self.mode = method
        self.triangle = triangle
        t2 = time.perf_counter()
        self._grad_graph = grad_graph(g) if self.n_colors else None  # else built by hessp
        n = full.shape[0]
        notes = []
        run, layout, name = _lanes(self._grad_graph, 0, self.coloring.colors, self.n_colors,
                                   backend, [self._x0] + traced, notes)
        _warn_fallback(notes)
        self._run = run
        self._transposed = layout == "lanes"
        self.backend = name or ("numba" if backend == "numba" else "numpy")
        self._decomp = _Decompressor(self.coloring, triangle, [(n, self.n_colors)],
                                     [self._transposed])
        self._out_pattern = self._decomp.out
        self.pattern = self._out_pattern if triangle != "full" else self.coloring.pattern
        self.shape = self.pattern.shape
        self._hvp_plan = None
        t3 = time.perf_counter()
        self.timings = {"detect": t1 - t0, "color": t2 - t1, "compile": t3 - t2}

    def __call__(self, x, *args, out=None):
        """The Hessian at ``x``: a float64 ``csr_array`` with the prepared pattern (into ``out``)."""
        inputs = self._inputs(x, args)
        res, data = self._result(out)
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


def sparse_jacobian(f, x0, args=(), *, mode="auto", order=None, sparsity=None, backend="auto",
                    local=False):
    """Prepare the sparse Jacobian of ``f`` at points shaped like ``x0``.

    Preparation traces ``f`` once, detects the (global) sparsity pattern,
    colors it, and builds the lane sweep and the decompression index maps;
    each call ``jac(x, *args)`` then costs a few evaluations of ``f``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array`` written with numpy; inputs and outputs are
        flattened in C order (``J`` is ``(f(x).size, x.size)``).
    x0 : array_like
        A point fixing the shape of ``x`` (real; its values do not matter).
    args : tuple, optional
        Extra arguments. Floating ndarrays are traced as inputs: they may take
        other values at call time (same shape), and the pattern holds for all
        of them. Other arguments are baked in: copied here and compared by
        value at every call (an argument changed since, even in place, raises
        ``InputError``); functions are compared by identity, and objects
        without value equality are refused (``InputTypeError``).
    mode : {"auto", "forward", "reverse", "bidirectional"}
        ``forward``: column coloring, JVP lanes (``B = J S``); ``reverse``: row
        coloring, VJP lanes (``B = S^T J``, for wide Jacobians);
        ``bidirectional``: star bicoloring, both; ``auto``: the fewest colors
        (ties: forward, then reverse; bidirectional is tried when both
        others need more than 2 colors).
    order : str, callable or list, optional
        Vertex order(s) for :func:`sparsead.color`; default: the best of
        ``natural``, ``largest_first`` and ``smallest_last``.
    sparsity : sparse matrix or array_like, optional
        A pattern to use instead of the detected one; it must contain every
        detected entry (a smaller one would silently give wrong matrices).
    backend : {"auto", "numpy", "numba"}
        ``numpy``: the numpy lane interpreter; ``numba``: the compiled backend
        (error if unavailable); ``auto``: Numba when it compiles the graph,
        else numpy.
    local : bool, optional
        For ``f`` that branches on values (``if x[0] > 0``, builtin ``max``/``min``,
        ``int()``, ``bool()``, ``float()`` of a comparison): trace at ``x0``
        following the branches taken there, record each decision as a guard,
        and at every call check the guards, tracing again (and coloring again
        only if the pattern changed) when one flips. The derivatives are exact
        at every point; ``.pattern`` is that of the current branch region and
        may change between calls. Returns a
        :class:`~sparsead._local.LocalJacobian` (the attributes below, plus
        ``n_traces``, ``n_guards``, ``guards_hold(x)``).

    Returns
    -------
    SparseJacobian
        Callable ``jac(x, *args, out=None)`` returning a float64
        ``scipy.sparse.csr_array`` with sorted indices and exactly
        ``jac.pattern``'s structure (into ``out``'s data when given). Also
        ``.pattern``, ``.coloring``, ``.n_colors``, ``.mode``, ``.shape``,
        ``.backend``, ``.timings`` (``detect``, ``color``, ``compile``
        seconds) and ``.compressed(x, *args)``.

    Raises
    ------
    ValueError
        Unknown ``mode``/``backend``; at call time (``InputError``): ``x`` or a
        traced argument of another shape, a baked argument that changed.
    TypeError
        Complex ``x``/``args``, ``args`` not a tuple, a baked argument that
        cannot be compared (``InputTypeError``); see also the tracing errors.
    PatternError
        ``sparsity`` of the wrong shape, missing detected entries, or malformed
        (indices outside the shape, a non-monotone ``indptr``, ...).
    DecompressionError
        ``out`` with another pattern, or whose ``data`` is read-only, strided
        or not float64.

    Notes
    -----
    NaN and inf propagate into the entries they reach, as numpy would.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: x[1:] ** 2 - x[:-1]
    >>> jac = sa.sparse_jacobian(f, np.ones(4))
    >>> jac(np.arange(4.0)).toarray()
    array([[-1.,  2.,  0.,  0.],
           [ 0., -1.,  4.,  0.],
           [ 0.,  0., -1.,  6.]])
    >>> jac.n_colors
    2
    """
    if local:
        from ._local import LocalJacobian
        return LocalJacobian(f, x0, args, mode=mode, order=order, sparsity=sparsity,
                             backend=backend)
    return SparseJacobian(f, x0, args, mode=mode, order=order, sparsity=sparsity,
                          backend=backend)


def sparse_hessian(f, x0, args=(), *, coloring="star", order=None, sparsity=None,
                   backend="auto", triangle="full", local=False):
    """Prepare the sparse Hessian of a scalar ``f`` at points shaped like ``x0``.

    The gradient transform turns ``f``'s graph into the graph of its gradient;
    forward lanes over it give ``B = H S`` for a symmetric coloring of the
    detected Hessian pattern (forward-over-reverse).

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar`` written with numpy.
    x0 : array_like
        A point fixing the shape of ``x``.
    args : tuple, optional
        As in :func:`sparse_jacobian` (floating ndarrays may change per call,
        e.g. Lagrange multipliers; the pattern is the union over their values).
    coloring : {"star", "acyclic"}
        Star coloring (direct decompression) or acyclic coloring (fewer
        colors, decompression by substitution).
    order, sparsity, backend
        As in :func:`sparse_jacobian` (``sparsity`` is symmetrized).
    triangle : {"full", "lower", "upper"}
        Return the full symmetric matrix (default) or one triangle.
    local : bool, optional
        Exact Hessians of code that branches on values, re-traced when a
        branch flips (see :func:`sparse_jacobian`); returns a
        :class:`~sparsead._local.LocalHessian`.

    Returns
    -------
    SparseHessian
        Callable ``hess(x, *args, out=None)`` -> float64 ``csr_array`` with the
        prepared pattern; attributes as :class:`SparseJacobian`, plus
        ``.hessp(x, p, *args)`` (one Hessian-vector product).

    Raises
    ------
    InputError
        If ``f`` is not scalar; call-time errors as in :func:`sparse_jacobian`.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(x ** 3)
    >>> hess = sa.sparse_hessian(f, np.ones(3))
    >>> hess(np.array([1.0, 2.0, 3.0])).toarray()
    array([[ 6.,  1.,  0.],
           [ 1., 12.,  1.],
           [ 0.,  1., 18.]])
    >>> hess.hessp(np.ones(3), np.array([1.0, 0.0, 0.0]))
    array([6., 1., 0.])
    """
    if local:
        from ._local import LocalHessian
        return LocalHessian(f, x0, args, coloring=coloring, order=order, sparsity=sparsity,
                            backend=backend, triangle=triangle)
    return SparseHessian(f, x0, args, coloring=coloring, order=order, sparsity=sparsity,
                         backend=backend, triangle=triangle)
