"""The tracer array: a :class:`Tracer` stands for one array of a traced program.

It holds the id of the graph node that computes it (recorded by its
:class:`TraceContext`), and numpy dispatches every operation on it back to
sparsead (``__array_ufunc__``, ``__array_function__``, operators, indexing,
methods): the class is defined here in full, and each entry point looks its
lowering up in the tables of ``dispatch.py``, which the handler modules
(``numpy_api.py`` and the others) fill. One node is recorded per array
operation; :func:`~.run.trace` runs a function on a tracer.

Mutation follows numpy: in-place operators and ``__setitem__`` rebind the
tracer to a new node, and a tracer that numpy would make a *view* (basic
slicing, ``reshape``, ``.T``, ``flip`` ...) remembers the flat positions it
covers in its root array, so writing through a view updates the root and
reading a view after its root changed re-gathers it. Whether numpy makes a view
is decided by applying the same operation to an index array and asking numpy.
"""

from __future__ import annotations

import types

import numpy as np

from .._errors import TracerConversionError, TracingError
from .frames import caller_frame, store_subscr, user_frame, where
from .graph import Graph, Node
from ..primitives import REGISTRY, UFUNC_PRIMITIVES
from .dispatch import METHODS, PROTOCOL, RESOLVERS

__all__ = ["Tracer", "TraceContext", "Guard", "user_frame"]


def _plain_array_error(loc, src):
    return TracingError(
        f"A traced array was written into a plain numpy array {where(loc, src)}. numpy owns "
        "that array, so the write cannot be recorded. Create the array from the input "
        "instead: `out = np.zeros_like(x)` or `np.empty_like(x)` (with `shape=`/`dtype=` if "
        "needed), then assign into it.")


_np_array = np.array       # the original converter (tracing routes np.array for user code)


def _index(m):
    """A C-contiguous int64 copy of an index map (0-d stays 0-d)."""
    return _np_array(m, dtype=np.int64, order="C")


#: (primitive, *input avals) -> output aval, for primitives without parameters
_AVALS: dict = {}
_SCALAR_DTYPES = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64),
                  complex: np.dtype(np.complex128)}


class Guard:
    """A decision a local trace took on a traced value: node ``node`` gave ``expected``.

    ``test`` says how a later value is compared: ``"truth"`` (``bool()``),
    ``"truths"`` (many ``bool()`` decisions gathered into one vector, see
    :mod:`sparsead.tracing.guards`), ``"int"`` (``int()``/``__index__``) or
    ``"value"`` (the whole value, e.g. a traced index or ``float()`` of a
    value without derivative).
    """

    __slots__ = ("node", "test", "expected", "what")

    def __init__(self, node, test, expected, what):
        self.node, self.test, self.expected, self.what = node, test, expected, what

    def holds(self, value) -> bool:
        if self.test == "truth":
            return bool(value) == self.expected
        if self.test == "truths":
            return bool(np.array_equal(np.asarray(value) != 0, self.expected))
        if self.test == "int":
            return int(value) == self.expected
        v = np.asarray(value)
        e = self.expected
        return v.shape == e.shape and bool(np.array_equal(
            v, e, equal_nan=v.dtype.kind in "fc" and e.dtype.kind in "fc"))

    def __repr__(self):
        return f"Guard(%{self.node} {self.what} -> {self.expected!r})"


class TraceContext:
    """The state of one tracing run: the graph, and the node values in local mode.

    Per node it keeps ``varying`` (depends on some graph input; nodes that do
    not are folded into constants as they are recorded, so their value is
    always known). In local mode ``guards`` lists the decisions taken on
    traced values (:class:`Guard`).
    """

    def __init__(self, local: bool):
        self.graph = Graph(values=[] if local else None)
        self.local = local
        self.varying = []
        self._diff = {}
        self.guards = []

    def node_of(self, v) -> int:
        if type(v) is Tracer or isinstance(v, Tracer):
            if v._tc is not self:
                raise TracingError("A tracer from another tracing run was used; nested or "
                                   "leaked tracers are not supported.")
            return v.node
        resolve = RESOLVERS.get(type(v))
        if resolve is not None:            # an array created while tracing (scratch.py)
            return self.node_of(resolve(v))
        return self.const(v)

    def const(self, v) -> int:
        t = type(v)
        if t in _SCALAR_DTYPES:
            # (not shared between equal values: a graph's structure must not depend on
            # which constants happen to coincide -- compiled kernels are cached by it)
            value, shape, dtype = v, (), _SCALAR_DTYPES[t]
        else:
            if isinstance(v, np.ndarray) and v.flags.writeable:
                value = np.array(v)          # a private copy: the caller may write into v later
            else:
                value = np.asarray(v)
            if value.dtype == object:
                raise TracingError(f"Cannot use an object array ({type(v).__name__}) in a "
                                   "traced computation; use numeric arrays (np.stack to "
                                   "combine traced arrays).")
            shape, dtype = value.shape, value.dtype
        nid = self.graph.add("const", (), {"value": value}, shape, dtype)
        self.varying.append(False)
        if self.local:
            self.graph.values.append(value)
        return nid

    def input(self, value, index) -> "Tracer":
        nid = self.graph.add("input", (), {"index": index}, value.shape, value.dtype)
        self.graph.inputs.append(nid)
        self.varying.append(True)
        if self.local:
            self.graph.values.append(value)
        return Tracer(self, nid)

    def add(self, prim, inputs, **params) -> "Tracer":
        """Record ``prim(*inputs, **params)`` and return the tracer of its result.

        Operations on constants only are evaluated right away and recorded as a
        constant (constant folding), so every value that does not depend on an
        input is known while tracing.
        """
        ids = []
        for v in inputs:
            ids.append(v.node if type(v) is Tracer and v._tc is self else self.node_of(v))
        nodes = self.graph.nodes
        if params:
            shape, dtype = REGISTRY[prim].shape([(nodes[i].shape, nodes[i].dtype) for i in ids],
                                                **params)
            shape, dtype = tuple(shape), np.dtype(dtype)
        else:   # elementwise and other parameter-free primitives: cached by input avals
            if len(ids) == 2:
                a, b = nodes[ids[0]], nodes[ids[1]]
                key = (prim, a.shape, a.dtype, b.shape, b.dtype)
            else:
                key = (prim, *[v for i in ids for v in (nodes[i].shape, nodes[i].dtype)])
            hit = _AVALS.get(key)
            if hit is None:
                if len(_AVALS) > 50_000:
                    _AVALS.clear()
                avals = [(key[k], key[k + 1]) for k in range(1, len(key), 2)]
                shape, dtype = REGISTRY[prim].shape(avals)
                hit = _AVALS[key] = (tuple(shape), np.dtype(dtype))
            shape, dtype = hit
        return self.record(prim, ids, params, shape, dtype)

    def record(self, prim, ids, params, shape, dtype) -> "Tracer":
        """Record a node whose output aval is known (``shape`` a tuple, ``dtype`` a dtype)."""
        if dtype.kind == "c":
            raise _complex_error(prim, params)
        varying = self.varying
        for i in ids:
            if varying[i]:
                break
        else:
            nodes = self.graph.nodes
            value = np.asarray(REGISTRY[prim].impl(*[nodes[i].params["value"] for i in ids],
                                                   **params))
            return Tracer(self, self.const(value.reshape(shape).astype(dtype, copy=False)))
        nodes = self.graph.nodes
        nodes.append(Node(prim, tuple(ids), params, shape, dtype))
        varying.append(True)
        if self.local:
            vals = self.graph.values
            vals.append(np.asarray(REGISTRY[prim].impl(*[vals[i] for i in ids], **params)))
        return Tracer(self, len(nodes) - 1)

    def has_derivative(self, nid) -> bool:
        """Whether a derivative with respect to ``x`` can reach node ``nid`` (memoized walk)."""
        memo = self._diff
        nodes = self.graph.nodes
        todo = [nid]
        while todo:
            i = todo[-1]
            if i in memo:
                todo.pop()
                continue
            nd = nodes[i]
            if nd.prim in ("input", "const"):
                memo[i] = nd.prim == "input" and nd.params["index"] == 0
                todo.pop()
                continue
            entry = REGISTRY[nd.prim]
            flows = entry.elementwise.d1 if entry.elementwise is not None else \
                (nd.dtype.kind == "f",) if nd.prim == "cast" else (True,) * len(nd.inputs)
            pending = [j for j, f in zip(nd.inputs, flows) if f and j not in memo]
            if pending:
                todo.extend(pending)
                continue
            memo[i] = any(memo[j] for j, f in zip(nd.inputs, flows) if f)
            todo.pop()
        return memo[nid]

    def value(self, nid):
        """The value of node ``nid`` if known (constants; every node in local mode), else None."""
        nd = self.graph.nodes[nid]
        if nd.prim == "const":
            return nd.params["value"]
        return None if self.graph.values is None else self.graph.values[nid]


def _complex_error(prim, params):
    from .._errors import UnsupportedOperationError
    _, loc, src = user_frame()
    what = f"astype({params['dtype']})" if prim == "cast" else f"np.{prim}"
    return UnsupportedOperationError(
        f"complex numbers are not supported: `{what}` gives a complex result {where(loc, src)}. "
        "sparsead differentiates real functions; carry the real and imaginary parts as two "
        "real arrays (e.g. |a + ib|^2 = a**2 + b**2).")


_FAST = (float, int)


def _binary(ufunc, reflected=False):
    prim = UFUNC_PRIMITIVES.get(ufunc)
    if prim is None or ufunc is np.matmul:
        prim = None
    if reflected:
        def op(self, other):
            if prim is not None and (type(other) in _FAST or type(other) is Tracer):
                return self._tc.add(prim, (other, self))
            return PROTOCOL["operator"](ufunc, other, self)
    else:
        def op(self, other):
            if prim is not None and (type(other) in _FAST or type(other) is Tracer):
                return self._tc.add(prim, (self, other))
            return PROTOCOL["operator"](ufunc, self, other)
    return op


def _inplace(ufunc):
    def op(self, other):
        self._assign(PROTOCOL["operator"](ufunc, self, other))
        return self
    return op


def _operators(ufunc):
    """``a op b``, ``b op a`` and ``a op= b`` of a binary ufunc."""
    return _binary(ufunc), _binary(ufunc, reflected=True), _inplace(ufunc)


def _unary(ufunc):
    def op(self):
        return PROTOCOL["operator"](ufunc, self)
    return op


class _Method:
    """A Tracer method (``prop``: property) whose lowering a handler module puts in METHODS."""

    def __init__(self, name, prop=False):
        self.name, self.prop = name, prop

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        fn = METHODS[self.name]
        return fn(obj) if self.prop else types.MethodType(fn, obj)


class _Flags:
    """``ndarray.flags`` of a traced array: it behaves as a C-contiguous, writeable array."""

    def __init__(self, ndim):
        self.c_contiguous = self.contiguous = self.writeable = self.aligned = True
        self.owndata = True
        self.f_contiguous = self.fortran = ndim <= 1
        self.fortran = False

    def __getitem__(self, key):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "WRITEABLE": "writeable", "ALIGNED": "aligned",
                              "OWNDATA": "owndata", "C": "c_contiguous", "F": "f_contiguous",
                              "W": "writeable"}.get(key, key.lower()))


def _c_strides(shape, itemsize):
    out, step = [], itemsize
    for s in reversed(shape):
        out.append(step)
        step *= max(s, 1)
    return tuple(reversed(out))


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
    def _convert(self, what, test):
        """The Python-side value of this tracer for ``what`` (``"bool()"``, ``"int()"``...).

        Constants (values that depend on no input) convert freely. In local
        mode a traced value converts too and the decision is recorded as a
        :class:`Guard`, unless the conversion would drop a derivative
        (``float()`` of a value that depends differentiably on ``x``). In
        global mode it raises, naming the user's line.
        """
        tc = self._tc
        nid = self.node
        if not tc.varying[nid]:
            return tc.value(nid)
        frame, loc, src = user_frame()
        if store_subscr(caller_frame()):
            raise _plain_array_error(loc, src)
        if tc.local:
            value = tc.value(nid)
            if test == "value" and tc.has_derivative(nid):
                raise TracerConversionError(
                    f"`{what}` of a traced array {where(loc, src)}: the Python number would "
                    "leave the trace and its derivative with respect to `x` would be lost. "
                    "Keep the computation in arrays (e.g. `x[0]` instead of `float(x[0])`); "
                    "`float()` of a comparison or of an integer-valued result is fine.")
            expected = (bool(value) if test == "truth" else int(value) if test == "int"
                        else np.array(value))
            tc.guards.append(Guard(nid, test, expected, what))
            return value
        raise TracerConversionError(
            f"`{what}` of a traced array {where(loc, src)}: the global pattern must hold "
            "for every `x`, so control flow and Python numbers cannot depend on traced "
            "values. Use `np.where(cond, a, b)` (or np.maximum/np.minimum/np.abs/np.clip) "
            "instead of branching, or pass `local=True` for the pattern (and derivatives) "
            "at this `x`, re-traced when a branch flips.")

    def __bool__(self):
        return bool(self._convert("bool()", "truth"))

    def __float__(self):
        return float(self._convert("float()", "value"))

    def __complex__(self):
        return complex(self._convert("complex()", "value"))

    def __int__(self):
        return int(self._convert("int()", "int"))

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError("only integer arrays can be used as an index")
        return int(self._convert("int()", "int"))

    def item(self, *args):
        v = self._convert("item()", "value")
        return np.asarray(v).item(*args)

    def tolist(self):
        return np.asarray(self._convert("tolist()", "value")).tolist()

    # --- numpy protocols: entry points of the handler modules (dispatch.py) ----------
    def __array__(self, dtype=None, copy=None):
        return PROTOCOL["array"](self, dtype, copy)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return PROTOCOL["ufunc"](ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return PROTOCOL["function"](func, args, kwargs)

    def __getitem__(self, key):
        return PROTOCOL["getitem"](self, key)

    def __setitem__(self, key, value):
        PROTOCOL["setitem"](self, key, value)

    # --- operators: a primitive straight away for tracers and Python numbers ----------
    __add__, __radd__, __iadd__ = _operators(np.add)
    __sub__, __rsub__, __isub__ = _operators(np.subtract)
    __mul__, __rmul__, __imul__ = _operators(np.multiply)
    __truediv__, __rtruediv__, __itruediv__ = _operators(np.divide)
    __floordiv__, __rfloordiv__, __ifloordiv__ = _operators(np.floor_divide)
    __mod__, __rmod__, __imod__ = _operators(np.remainder)
    __pow__, __rpow__, __ipow__ = _operators(np.power)
    __matmul__, __rmatmul__, __imatmul__ = _operators(np.matmul)
    __and__, __rand__, __iand__ = _operators(np.logical_and)
    __or__, __ror__, __ior__ = _operators(np.logical_or)
    __xor__, __rxor__, __ixor__ = _operators(np.logical_xor)
    __lt__ = _binary(np.less)
    __le__ = _binary(np.less_equal)
    __gt__ = _binary(np.greater)
    __ge__ = _binary(np.greater_equal)
    __eq__ = _binary(np.equal)
    __ne__ = _binary(np.not_equal)
    __neg__ = _unary(np.negative)
    __pos__ = _unary(np.positive)
    __abs__ = _unary(np.abs)
    __invert__ = _unary(np.logical_not)

    # --- ndarray methods and properties, lowered by the handler modules ---------------
    sum, prod, mean, var, std = (_Method(n) for n in ("sum", "prod", "mean", "var", "std"))
    max, min, any, all = (_Method(n) for n in ("max", "min", "any", "all"))
    cumsum, cumprod, clip, round = (_Method(n) for n in ("cumsum", "cumprod", "clip", "round"))
    reshape, ravel, flatten, squeeze = (_Method(n) for n in ("reshape", "ravel", "flatten",
                                                             "squeeze"))
    transpose, swapaxes, repeat, take = (_Method(n) for n in ("transpose", "swapaxes",
                                                              "repeat", "take"))
    diagonal, trace, dot = (_Method(n) for n in ("diagonal", "trace", "dot"))
    astype, copy, fill = (_Method(n) for n in ("astype", "copy", "fill"))
    T, mT, imag = (_Method(n, prop=True) for n in ("T", "mT", "imag"))
    # refused with an error naming them (sorting, index results, raw memory)
    argmax, argmin, argsort, sort, nonzero, searchsorted = (_Method(n) for n in (
        "argmax", "argmin", "argsort", "sort", "nonzero", "searchsorted"))
    partition, argpartition, view, tobytes = (_Method(n) for n in (
        "partition", "argpartition", "view", "tobytes"))
    setfield, itemset, put, resize = (_Method(n) for n in ("setfield", "itemset", "put",
                                                           "resize"))
    real = property(lambda self: self)
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)
    strides = property(lambda self: _c_strides(self.shape, self.dtype.itemsize))
    flags = property(lambda self: _Flags(self.ndim))

    def conj(self):
        return self

    conjugate = conj
