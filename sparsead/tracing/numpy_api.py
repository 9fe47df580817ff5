"""Lowering of numpy calls on tracers onto registry primitives.

``Tracer.__array_ufunc__`` lands in :func:`apply_ufunc`, ``__array_function__``
in :func:`apply_function` (the ``HANDLERS`` table of ``dispatch.py``: numpy
function -> lowering), Python operators in :func:`binary_operator`; this module
also lowers reductions and the ufunc-like helpers. Indexing, layout and joining
are in ``numpy_layout.py``, products and linear algebra in ``numpy_linalg.py``,
queries and index helpers in ``numpy_meta.py`` (each imports this one). Functions that only
rearrange elements (``roll``, ``flip``, ``tile``, ``pad`` ...) are run on an
index array and recorded as one ``gather``. A numpy function without an entry
raises :class:`~sparsead.UnsupportedOperationError` naming it.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .._errors import UnsupportedOperationError
from ..primitives import UFUNC_PRIMITIVES
from .dispatch import HANDLERS, METHODS, PROTOCOL, implements
from .tracer import Tracer, _plain_array_error, user_frame

__all__ = ["apply_ufunc", "apply_function", "binary_operator"]

def _fname(func):
    mod = getattr(func, "__module__", "") or ""
    name = getattr(func, "__name__", repr(func))
    if mod.startswith("numpy"):
        mod = "np" + mod[len("numpy"):].replace("._core", "").replace(".core", "")
        mod = mod.replace(".fromnumeric", "").replace(".multiarray", "").replace(".numeric", "")
        mod = mod.replace("._linalg", ".linalg").replace(".lib._function_base_impl", "")
    return f"{mod}.{name}" if mod else name


def _unsupported(what):
    _, loc, src = user_frame()
    at = f" (at {loc}: `{src}`)" if src else f" (at {loc})"
    return UnsupportedOperationError(
        f"`{what}` has no sparsity rule in sparsead{at}. Rewrite it with supported "
        "operations or open an issue; sparsead never guesses a pattern.")


def _tc_of(*objs):
    for o in objs:
        if isinstance(o, Tracer):
            return o._tc
        if isinstance(o, (list, tuple)):
            tc = _tc_of(*o)
            if tc is not None:
                return tc
    return None


def _shape(v):
    return v.shape if isinstance(v, Tracer) else np.shape(v)


def _wrap(tc, v):
    """A tracer for ``v`` (constants become constant nodes)."""
    return v if isinstance(v, Tracer) else Tracer(tc, tc.const(v))


def _check_const(args, what):
    for a in args:
        if isinstance(a, Tracer) or (isinstance(a, (list, tuple)) and _tc_of(a) is not None):
            raise _unsupported(f"{what} with a traced index, shift or count")


def _normalize_axis(axis, ndim):
    if not -ndim <= axis < max(ndim, 1):
        raise np.exceptions.AxisError(axis, ndim)
    return axis % max(ndim, 1)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(_normalize_axis(a, ndim) for a in axis))
    return (_normalize_axis(axis, ndim),)


# --- ufuncs and operators --------------------------------------------------

def apply_ufunc(ufunc, method, inputs, kwargs):
    tc = _tc_of(inputs, kwargs.get("out", ()))
    out = kwargs.pop("out", None)
    out = out[0] if isinstance(out, tuple) and len(out) == 1 else out
    if kwargs.get("where", True) is not True:
        raise _unsupported(f"np.{ufunc.__name__}(..., where=...)")
    dtype = kwargs.pop("dtype", None)
    if method == "__call__":
        result = _call_ufunc(tc, ufunc, inputs)
    elif method == "reduce":
        prim = {np.add: "reduce_sum", np.multiply: "reduce_prod", np.maximum: "reduce_max",
                np.fmax: "reduce_max", np.minimum: "reduce_min", np.fmin: "reduce_min"}.get(ufunc)
        if prim is None or len(inputs) != 1:
            raise _unsupported(f"np.{ufunc.__name__}.reduce")
        result = _reduce(prim, inputs[0], kwargs.get("axis", 0), kwargs.get("keepdims", False))
    elif method == "accumulate" and ufunc in (np.add, np.multiply):
        x = _wrap(tc, inputs[0])
        result = tc.add("cumsum" if ufunc is np.add else "cumprod", [x],
                        axis=_normalize_axis(kwargs.get("axis", 0), x.ndim))
    elif method == "outer" and len(inputs) == 2:
        a, b = inputs
        na, nb = len(_shape(a)), len(_shape(b))
        a = HANDLERS[np.reshape](_wrap(tc, a), tuple(_shape(a)) + (1,) * nb)
        result = _call_ufunc(tc, ufunc, (a, b))
    else:
        raise _unsupported(f"np.{ufunc.__name__}.{method}")
    if dtype is not None:
        result = astype(result, dtype)
    if out is not None:
        if not isinstance(out, Tracer):
            _, loc, src = user_frame()
            raise _plain_array_error(loc, src)
        out._assign(result)
        return out
    return result


def _call_ufunc(tc, ufunc, inputs):
    if ufunc is np.matmul:
        return HANDLERS[np.matmul](*inputs)
    if ufunc is np.clip or getattr(ufunc, "__name__", "") == "clip":
        return HANDLERS[np.clip](*inputs)
    if any(sp.issparse(v) for v in inputs):
        raise _unsupported(f"np.{ufunc.__name__} with a scipy.sparse operand")
    prim = UFUNC_PRIMITIVES.get(ufunc)
    if prim is None:
        raise _unsupported(f"np.{getattr(ufunc, '__name__', ufunc)}")
    return tc.add(prim, list(inputs))


def binary_operator(ufunc, a, b=None):
    """Python operators: ``a op b`` (or ``op a``), scipy.sparse matrices included."""
    ins = (a,) if b is None else (a, b)
    if ufunc is np.matmul or (ufunc is np.multiply and any(isinstance(v, sp.spmatrix)
                                                           for v in ins)):
        return HANDLERS[np.matmul](a, b)
    if any(sp.issparse(v) for v in ins):
        raise _unsupported(f"np.{ufunc.__name__} with a scipy.sparse operand")
    if b is not None and not isinstance(b, Tracer) and not isinstance(
            b, (np.ndarray, np.generic, int, float, bool, complex)):
        if isinstance(b, (list, tuple)):
            b = np.asarray(b)
        else:
            return NotImplemented
    return _call_ufunc(_tc_of(ins), ufunc, ins)


# --- array functions -------------------------------------------------------

def apply_function(func, args, kwargs):
    handler = HANDLERS.get(func)
    if handler is None:
        raise _unsupported(_fname(func))
    return handler(*args, **kwargs)


@implements(np.shape)
def _np_shape(a):
    return _shape(a)


@implements(np.ndim)
def _np_ndim(a):
    return len(_shape(a))


@implements(np.size)
def _np_size(a, axis=None):
    s = _shape(a)
    return int(np.prod(s)) if axis is None else s[axis]


@implements(np.full_like)
def _like(a, fill_value, dtype=None, order="K", subok=True, shape=None, device=None):
    if isinstance(fill_value, Tracer):
        raise _unsupported("np.full_like with a traced fill value")
    shape = a.shape if shape is None else ((shape,) if np.isscalar(shape) else tuple(shape))
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    return Tracer(a._tc, a._tc.const(np.full(shape, fill_value, dtype)))


HANDLERS[np.ones_like] = lambda a, dtype=None, order="K", subok=True, shape=None, device=None: \
    _like(a, 1, dtype=dtype, shape=shape)
HANDLERS[np.zeros_like] = lambda a, dtype=None, order="K", subok=True, shape=None, device=None: \
    _like(a, 0, dtype=dtype, shape=shape)
HANDLERS[np.empty_like] = HANDLERS[np.zeros_like]


@implements(np.copy)
def copy(a, order="K", subok=False):
    return Tracer(a._tc, a.node)


@implements(np.real)
def _real(a):
    if np.issubdtype(a.dtype, np.complexfloating):
        raise _unsupported("np.real of a complex traced array")
    return a


@implements(np.imag)
def _imag(a):
    return _like(a, 0)


def astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return a._tc.add("cast", [a], dtype=np.dtype(dtype))


# --- reductions ------------------------------------------------------------

def _reduce(prim, a, axis=None, keepdims=False, dtype=None, out=None, initial=None,
            where=True, **unused):
    tc = _tc_of(a)
    a = _wrap(tc, a)
    if out is not None or where is not True:
        raise _unsupported(f"{prim.replace('reduce_', 'np.')} with `out=`/`where=`")
    axes = _axes(axis, a.ndim)
    if initial is not None and prim in ("reduce_max", "reduce_min") \
            and math.prod(a.shape[i] for i in axes) == 0:
        prim = "reduce_sum"     # over nothing: the result is `initial` (0 + initial)
    r = tc.add(prim, [a], axes=axes)
    if initial is not None:
        combine = {"reduce_sum": np.add, "reduce_prod": np.multiply,
                   "reduce_max": np.maximum, "reduce_min": np.minimum}[prim]
        r = _call_ufunc(tc, combine, (r, initial))
    if keepdims:
        r = HANDLERS[np.reshape](r, tuple(1 if i in axes else s for i, s in enumerate(a.shape)))
    return r if dtype is None else astype(r, dtype)


@implements(np.sum)
def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return _reduce("reduce_sum", a, axis, keepdims, dtype, out, initial, where)


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return _reduce("reduce_prod", a, axis, keepdims, dtype, out, initial, where)


@implements(np.max, np.amax)
def max_(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return _reduce("reduce_max", a, axis, keepdims, None, out, initial, where)


@implements(np.min, np.amin)
def min_(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return _reduce("reduce_min", a, axis, keepdims, None, out, initial, where)


@implements(np.any)
def any_(a, axis=None, out=None, keepdims=False, where=True):
    return _reduce("reduce_max", astype(a, bool), axis, keepdims, None, out, None, where)


@implements(np.all)
def all_(a, axis=None, out=None, keepdims=False, where=True):
    return _reduce("reduce_min", astype(a, bool), axis, keepdims, None, out, None, where)


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    s = _reduce("reduce_sum", a, axis, keepdims, dtype, out, None, where)
    count = int(np.prod([a.shape[i] for i in _axes(axis, a.ndim)], dtype=np.int64))
    return s / count


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None,
        correction=None):
    ddof = ddof if correction is None else correction
    d = a - _reduce("reduce_sum", a, axis, True) / _count(a, axis)
    return _reduce("reduce_sum", d * d, axis, keepdims, dtype, out) / (_count(a, axis) - ddof)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None,
        correction=None):
    return np.sqrt(var(a, axis, dtype, out, ddof, keepdims, where, None, correction))


def _count(a, axis):
    return int(np.prod([a.shape[i] for i in _axes(axis, a.ndim)], dtype=np.int64))


def _cum(prim):
    def handler(a, axis=None, dtype=None, out=None):
        if out is not None:
            raise _unsupported(f"np.{prim}(..., out=...)")
        if axis is None:
            a, axis = HANDLERS[np.reshape](a, (-1,)), 0
        r = a._tc.add(prim, [a], axis=_normalize_axis(axis, a.ndim))
        return r if dtype is None else astype(r, dtype)
    return handler


HANDLERS[np.cumsum], HANDLERS[np.cumprod] = _cum("cumsum"), _cum("cumprod")


@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    tc = _tc_of(a, prepend, append)
    a = _wrap(tc, a)
    axis = _normalize_axis(axis, a.ndim)
    pieces = []
    for extra in (prepend, None, append):
        if extra is None:
            pieces.append(a)
        elif extra is not np._NoValue:
            shape = list(a.shape)
            shape[axis] = 1
            e = extra if np.ndim(extra) else np.broadcast_to(extra, shape)
            pieces.append(e)
    if len(pieces) > 1:
        a = HANDLERS[np.concatenate](pieces, axis=axis)
    for _ in range(n):
        hi = [slice(None)] * a.ndim
        lo = [slice(None)] * a.ndim
        hi[axis], lo[axis] = slice(1, None), slice(None, -1)
        a = a[tuple(hi)] - a[tuple(lo)]
    return a


@implements(np.average)
def average(a, axis=None, weights=None, returned=False, keepdims=False):
    if weights is None:
        return mean(a, axis=axis, keepdims=keepdims)
    if returned or isinstance(weights, Tracer):
        raise _unsupported("np.average with traced weights or returned=True")
    w = np.asarray(weights, dtype=float)
    if axis is not None and w.ndim == 1 and a.ndim > 1:
        shape = [1] * a.ndim
        shape[_normalize_axis(axis, a.ndim)] = -1
        w = w.reshape(shape)
    total = np.sum(np.broadcast_to(w, a.shape), axis=axis, keepdims=keepdims)
    return sum_(a * w, axis=axis, keepdims=keepdims) / total


PROTOCOL.update(ufunc=apply_ufunc, function=apply_function, operator=binary_operator)
METHODS.update(sum=sum_, prod=prod, mean=mean, max=max_, min=min_, any=any_, all=all_, var=var,
               std=std, astype=astype, copy=copy, cumsum=HANDLERS[np.cumsum],
               cumprod=HANDLERS[np.cumprod])
