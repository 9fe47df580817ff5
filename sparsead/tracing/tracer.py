"""The tracer array and :func:`trace`: run ``f`` on a :class:`Tracer` to record a :class:`Graph`.

A :class:`Tracer` stands for one array of the traced program: it holds the id
of the graph node that computes it, and numpy dispatches every operation on it
back to sparsead (``__array_ufunc__``, ``__array_function__``, operators,
indexing, methods), which lowers it onto registry primitives
(``numpy_api.py``). One node is recorded per array operation.

Mutation follows numpy: in-place operators and ``__setitem__`` rebind the
tracer to a new node, and a tracer that numpy would make a *view* (basic
slicing, ``reshape``, ``.T``, ``flip`` ...) remembers the flat positions it
covers in its root array, so writing through a view updates the root and
reading a view after its root changed re-gathers it. Whether numpy makes a view
is decided by applying the same operation to an index array and asking numpy.
"""

from __future__ import annotations

import dis
import linecache
import os
import sys

import numpy as np

from .._errors import TracerConversionError, TracingError
from .graph import Graph
from .registry import REGISTRY

__all__ = ["Tracer", "TraceContext", "trace", "user_frame"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIP_DIRS = (_PKG_DIR, os.path.dirname(np.__file__))


def user_frame():
    """The innermost stack frame outside sparsead and numpy, as ``(frame, "file:line", source)``."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_SKIP_DIRS):
        frame = frame.f_back
    if frame is None:
        return None, "<unknown>", ""
    src = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return frame, f"{frame.f_code.co_filename}:{frame.f_lineno}", src


def _where(loc, src):
    return f"at {loc}" + (f" (`{src}`)" if src else "")


def _store_subscr(frame):
    """Whether the frame is executing ``container[key] = value`` right now."""
    if frame is None:
        return False
    try:
        return dis.opname[frame.f_code.co_code[frame.f_lasti]] == "STORE_SUBSCR"
    except (IndexError, AttributeError):  # pragma: no cover
        return False


def _plain_array_error(loc, src):
    return TracingError(
        f"A traced array was written into a plain numpy array {_where(loc, src)}. numpy owns "
        "that array, so the write cannot be recorded. Create the array from the input "
        "instead: `out = np.zeros_like(x)` or `np.empty_like(x)` (with `shape=`/`dtype=` if "
        "needed), then assign into it.")


def _index(m):
    """A C-contiguous int64 copy of an index map (0-d stays 0-d)."""
    return np.array(m, dtype=np.int64, order="C")


class TraceContext:
    """The state of one tracing run: the graph, and the node values in local mode."""

    def __init__(self, local: bool):
        self.graph = Graph(values=[] if local else None)
        self.local = local

    def node_of(self, v) -> int:
        if isinstance(v, Tracer):
            if v._tc is not self:
                raise TracingError("A tracer from another tracing run was used; nested or "
                                   "leaked tracers are not supported.")
            return v.node
        return self.const(v)

    def const(self, v) -> int:
        if isinstance(v, (bool, int, float, complex)) and not isinstance(v, np.generic):
            value, shape, dtype = v, (), np.asarray(v).dtype
        else:
            value = np.asarray(v)
            if value.dtype == object:
                raise TracingError(f"Cannot use an object array ({type(v).__name__}) in a "
                                   "traced computation; use numeric arrays (np.stack to "
                                   "combine traced arrays).")
            shape, dtype = value.shape, value.dtype
        nid = self.graph.add("const", (), {"value": value}, shape, dtype)
        if self.local:
            self.graph.values.append(value)
        return nid

    def input(self, value, index) -> "Tracer":
        nid = self.graph.add("input", (), {"index": index}, value.shape, value.dtype)
        self.graph.inputs.append(nid)
        if self.local:
            self.graph.values.append(value)
        return Tracer(self, nid)

    def add(self, prim, inputs, **params) -> "Tracer":
        """Record ``prim(*inputs, **params)`` and return the tracer of its result."""
        ids = [self.node_of(v) for v in inputs]
        nodes = self.graph.nodes
        entry = REGISTRY[prim]
        shape, dtype = entry.shape([(nodes[i].shape, nodes[i].dtype) for i in ids], **params)
        nid = self.graph.add(prim, ids, params, shape, dtype)
        if self.local:
            vals = self.graph.values
            vals.append(np.asarray(entry.impl(*[vals[i] for i in ids], **params)))
        return Tracer(self, nid)

    def value(self, nid):
        return None if self.graph.values is None else self.graph.values[nid]


class Tracer:
    """An array of a traced program (private: users only ever receive it as ``x``)."""

    __array_priority__ = 1000
    __slots__ = ("_tc", "_node", "_root", "_imap", "_seen", "_version", "_arange")
    __hash__ = None

    def __init__(self, tc, node, root=None, imap=None):
        self._tc = tc
        self._node = node
        self._root = root
        self._imap = imap
        self._seen = 0 if root is None else root._version
        self._version = 0
        self._arange = None

    # --- graph bookkeeping ---------------------------------------------------
    @property
    def node(self) -> int:
        root = self._root
        if root is not None and root._version != self._seen:
            fresh = self._tc.add("gather", [root], index=_index(self._imap), fill=0)
            self._node, self._seen = fresh._node, root._version
        return self._node

    @property
    def _nd(self):
        return self._tc.graph.nodes[self.node]

    def _map(self):
        """Flat positions in the root array of this tracer's elements (shape ``self.shape``)."""
        if self._root is not None:
            return self._imap
        if self._arange is None:
            self._arange = np.arange(self.size, dtype=np.int64).reshape(self.shape)
        return self._arange

    def _derive(self, result, rmap):
        """Turn ``result`` into a view of this tracer's root if numpy would make ``rmap`` a view."""
        root = self._root if self._root is not None else self
        if isinstance(rmap, np.ndarray) and rmap.ndim > 0 and root._arange is not None \
                and np.may_share_memory(rmap, root._arange):
            return Tracer(self._tc, result.node, root, rmap)
        return result

    def _gather(self, rmap):
        """The elements at root positions ``rmap`` (a view if numpy would make one)."""
        root = self._root if self._root is not None else self
        self.node  # noqa: B018  (sync with the root first)
        out = self._tc.add("gather", [root], index=_index(rmap), fill=0)
        return self._derive(out, rmap)

    def _assign(self, new):
        """Rebind to the tracer ``new`` (same shape), writing through to the root if a view."""
        nd = self._nd
        new_nd = self._tc.graph.nodes[self._tc.node_of(new)]
        if new_nd.shape != nd.shape:
            raise ValueError(f"non-broadcastable output operand with shape {nd.shape} doesn't "
                             f"match the broadcast shape {new_nd.shape}")
        if new_nd.dtype != nd.dtype:
            new = self._tc.add("cast", [new], dtype=nd.dtype)
        self._node = self._tc.node_of(new)
        root = self._root
        if root is None:
            self._version += 1
            return
        root.node  # noqa: B018
        updated = self._tc.add("scatter", [root, self],
                               index=_index(self._imap))
        root._node = updated.node
        root._version += 1
        self._seen = root._version

    # --- array attributes ------------------------------------------------------
    shape = property(lambda self: self._nd.shape)
    dtype = property(lambda self: self._nd.dtype)
    ndim = property(lambda self: len(self._nd.shape))
    size = property(lambda self: self._nd.size)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        mode = "local" if self._tc.local else "global"
        return f"Tracer(shape={self.shape}, dtype={self.dtype}, node=%{self.node}, {mode})"

    # --- conversions: where tracing has to stop --------------------------------
    def _value_or_raise(self, what):
        frame, loc, src = user_frame()
        if _store_subscr(frame):
            raise _plain_array_error(loc, src)
        if self._tc.local and what != "float()":
            return self._tc.value(self.node)
        if what == "float()" and self._tc.local:
            raise TracerConversionError(
                f"`float()` of a traced array {_where(loc, src)}: the Python number would "
                "leave the trace and its dependence on `x` would be lost, giving a wrong "
                "pattern. Keep the computation in arrays (e.g. `x[0]` instead of "
                "`float(x[0])`).")
        raise TracerConversionError(
            f"`{what}` of a traced array {_where(loc, src)}: the global pattern must hold "
            "for every `x`, so control flow and Python numbers cannot depend on traced "
            "values. Use `np.where(cond, a, b)` (or np.maximum/np.minimum/np.abs/np.clip) "
            "instead of branching, or pass `local=True` for the pattern at this `x` only.")

    def __bool__(self):
        return bool(self._value_or_raise("bool()"))

    def __float__(self):
        return float(self._value_or_raise("float()"))

    def __complex__(self):
        return complex(self._value_or_raise("float()"))

    def __int__(self):
        return int(self._value_or_raise("int()"))

    def __index__(self):
        v = np.asarray(self._value_or_raise("int()"))
        if not np.issubdtype(v.dtype, np.integer):
            raise TypeError("only integer arrays can be used as an index")
        return int(v)

    def item(self, *args):
        return self._value_or_raise("float()")

    def tolist(self):
        return self._value_or_raise("float()")

    def __array__(self, dtype=None, copy=None):
        frame = sys._getframe(1)
        name = frame.f_code.co_filename.replace(os.sep, "/")
        if "scipy/sparse" in name:
            # scipy.sparse asks whether we are an array; a 0-d object array makes it
            # return NotImplemented, so Python calls our __rmatmul__.
            box = np.empty((), dtype=object)
            box[()] = self
            return box
        frame, loc, src = user_frame()
        if _store_subscr(frame):
            raise _plain_array_error(loc, src)
        raise TracingError(
            f"A traced array was converted to a numpy array {_where(loc, src)} "
            "(np.asarray/np.array or a function without a sparsead rule). Remove the "
            "conversion (the traced `x` already behaves as an array), build arrays from "
            "traced pieces with np.stack/np.concatenate, and create outputs with "
            "np.zeros_like(x)/np.empty_like(x).")

    # --- numpy protocols --------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _api.apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _api.apply_function(func, args, kwargs)

    def __getitem__(self, key):
        return _api.getitem(self, key)

    def __setitem__(self, key, value):
        _api.setitem(self, key, value)


def _binary(ufunc, reflected=False):
    if reflected:
        def op(self, other):
            return _api.binary_operator(ufunc, other, self)
    else:
        def op(self, other):
            return _api.binary_operator(ufunc, self, other)
    return op


def _inplace(ufunc):
    def op(self, other):
        self._assign(_api.binary_operator(ufunc, self, other))
        return self
    return op


for _name, _uf in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.divide), ("floordiv", np.floor_divide),
                   ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul),
                   ("and", np.logical_and), ("or", np.logical_or), ("xor", np.logical_xor)]:
    setattr(Tracer, f"__{_name}__", _binary(_uf))
    setattr(Tracer, f"__r{_name}__", _binary(_uf, reflected=True))
    setattr(Tracer, f"__i{_name}__", _inplace(_uf))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(Tracer, f"__{_name}__", _binary(_uf))
Tracer.__neg__ = lambda self: _api.binary_operator(np.negative, self)
Tracer.__pos__ = lambda self: _api.binary_operator(np.positive, self)
Tracer.__abs__ = lambda self: _api.binary_operator(np.abs, self)
Tracer.__invert__ = lambda self: _api.binary_operator(np.logical_not, self)


def trace(f, x, args=(), *, local=False, args_as_inputs=False):
    """Trace ``f(x, *args)`` into a :class:`Graph`.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` written with numpy.
    x : array_like
        The point to trace at (its shape and dtype; its values only in local mode).
        Integer and boolean inputs are traced as float64.
    args : tuple, optional
        Extra arguments, passed as constants (default) or, with
        ``args_as_inputs=True``, numeric arrays among them become graph inputs
        ``1, 2, ...`` (no index sets; they may then change in
        :func:`~sparsead.tracing.evaluate`).
    local : bool, optional
        Carry primal values along (control flow on traced values is then allowed).

    Returns
    -------
    Graph
        With ``graph.outputs == [output node]``; ``graph.values`` holds every
        node's value in local mode.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise TypeError(f"`x` must be a numeric array, got dtype {x.dtype}.")
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    tc = TraceContext(local)
    xt = tc.input(x, 0)
    call_args = list(args)
    if args_as_inputs:
        for i, a in enumerate(call_args):
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.number):
                call_args[i] = tc.input(a, len(tc.graph.inputs))
    try:
        out = f(xt, *call_args)
    except ValueError as exc:
        # numpy turns our TypeError from `plain[i] = tracer` into "setting an array element
        # with a sequence"; surface the actionable error instead.
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, (TracingError, TracerConversionError)):
            raise inner from None
        raise
    tc.graph.outputs = [_output_node(tc, out)]
    return tc.graph


def _output_node(tc, out) -> int:
    if isinstance(out, Tracer):
        nid = tc.node_of(out)
    elif isinstance(out, (np.ndarray, np.generic, int, float)) and not isinstance(out, bool):
        nid = tc.const(np.asarray(out))
    else:
        hint = " Combine the pieces with np.stack or np.concatenate." \
            if isinstance(out, (list, tuple)) else ""
        raise TracingError(f"`f` must return a numeric array, got {type(out).__name__}.{hint}")
    dtype = tc.graph.nodes[nid].dtype
    if not (np.issubdtype(dtype, np.number)):
        raise TracingError(f"`f` must return a numeric array, got an array of dtype {dtype}.")
    return nid


from . import numpy_api as _api  # noqa: E402  (the lowering rules use Tracer)
