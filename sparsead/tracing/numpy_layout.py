"""Lowering of indexing, layout and joining (continues ``numpy_api``).

Layout functions run on the tracer's index map (the flat positions of its
elements in its root array) so numpy itself decides shapes, edge cases and
whether the result is a view; the result is one ``reshape``, ``transpose`` or
``gather`` node. The tracer's indexing entry points and its layout methods are
registered at the bottom of this module.
"""

from __future__ import annotations

import math

import numpy as np

from .dispatch import HANDLERS, METHODS, PROTOCOL, implements
from .numpy_api import (_call_ufunc, _check_const, _normalize_axis, _shape, _tc_of,
                        _unsupported, _wrap)
from .tracer import Guard, Tracer

__all__ = ["getitem", "setitem", "reshape", "transpose", "concatenate", "clip"]


# --- indexing --------------------------------------------------------------

def _const_key(tc, key):
    def one(k):
        if isinstance(k, Tracer):
            nid = k.node
            if not tc.varying[nid]:                 # a constant index
                return np.asarray(tc.value(nid))
            if tc.local:                            # the index at this point, as a guard
                value = np.asarray(tc.value(nid))
                tc.guards.append(Guard(nid, "value", value.copy(), "an index"))
                return value
            raise _unsupported("indexing with a traced index or mask (indices and masks "
                               "must be constants; use np.where for value-dependent selection)")
        return k
    return tuple(one(k) for k in key) if isinstance(key, tuple) else one(key)


_ARANGES: dict = {}


def _positions(shape):
    """``arange(size).reshape(shape)``, read-only and cached: the flat positions of an array."""
    hit = _ARANGES.get(shape)
    if hit is None:
        if len(_ARANGES) > 256:
            _ARANGES.clear()
        hit = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
        hit.flags.writeable = False
        _ARANGES[shape] = hit
    return hit


def getitem(a, key):
    if type(key) is not int:
        key = _const_key(a._tc, key)
    rmap = a._map()[key]
    if type(rmap) is not np.ndarray:          # one element: a numpy integer
        root = a._root if a._root is not None else a
        a.node  # noqa: B018  (sync with the root first)
        tc = a._tc
        src = root._node
        return tc.record("gather", (src,), {"index": _np_array(rmap, dtype=np.int64), "fill": 0},
                         (), tc.graph.nodes[src].dtype)
    return a._gather(rmap)


def setitem(a, key, value):
    if type(key) is not int:
        key = _const_key(a._tc, key)
    index = _positions(a.shape)[key]
    if type(value) in (list, tuple):
        value = _as_array(a._tc, value)
    vshape = _shape(value)
    ishape = np.shape(index)
    if vshape != ishape and vshape != () and np.broadcast_shapes(vshape, ishape) != ishape:
        raise ValueError(f"could not broadcast input array from shape {vshape} into shape "
                         f"{ishape}")
    index = _np_array(index, dtype=np.int64, order="C")
    a._assign(a._tc.add("scatter", [a, value], index=index))


_np_array = np.array       # the original converter (tracing routes np.array for user code)


# --- layout: reshape and transpose families -----------------------------------

@implements(np.reshape)
def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    shape = newshape if shape is None else shape
    if order != "C":
        raise _unsupported(f"np.reshape(..., order={order!r})")
    rmap = a._map().reshape(shape)
    if rmap.shape == a.shape:
        return a._derive(Tracer(a._tc, a.node), rmap)
    return a._derive(a._tc.add("reshape", [a], shape=rmap.shape), rmap)


@implements(np.transpose)
def transpose(a, axes=None):
    axes = tuple(range(a.ndim))[::-1] if axes is None else tuple(
        _normalize_axis(ax, a.ndim) for ax in axes)
    rmap = a._map().transpose(axes)
    if axes == tuple(range(a.ndim)):
        return a._derive(Tracer(a._tc, a.node), rmap)
    return a._derive(a._tc.add("transpose", [a], axes=axes), rmap)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    i, j = _normalize_axis(axis1, a.ndim), _normalize_axis(axis2, a.ndim)
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    src = [_normalize_axis(v, a.ndim) for v in np.atleast_1d(source)]
    dst = [_normalize_axis(v, a.ndim) for v in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         "of elements")
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def _reshape_like(fn):
    def handler(a, *args, **kwargs):
        return reshape(a, fn(np.empty(a.shape, dtype=np.int8), *args, **kwargs).shape)
    return handler


HANDLERS[np.squeeze] = _reshape_like(np.squeeze)
HANDLERS[np.expand_dims] = _reshape_like(np.expand_dims)


@implements(np.ravel)
def ravel(a, order="C"):
    if order not in ("C", "A", "K"):
        raise _unsupported(f"np.ravel(..., order={order!r})")
    return reshape(a, (-1,))


def _atleast(nd):
    def handler(*arys):
        out = []
        for a in arys:
            shape = getattr(np, f"atleast_{nd}d")(np.empty(_shape(a), dtype=np.int8)).shape
            out.append(reshape(a, shape) if isinstance(a, Tracer) else np.reshape(a, shape))
        return out[0] if len(out) == 1 else tuple(out)
    return handler


for _nd in (1, 2, 3):
    HANDLERS[getattr(np, f"atleast_{_nd}d")] = _atleast(_nd)


# --- layout: rearrangements recorded as one gather -----------------------------

def _rearrange(func, name, fills=False):
    """Lower ``func(a, *args)`` that only moves (or, with ``fills``, zero-fills) elements."""
    def handler(a, *args, **kwargs):
        _check_const(args + tuple(kwargs.values()), name)
        if not isinstance(a, Tracer):
            raise _unsupported(f"{name} with traced arguments other than the array")
        if fills:
            m = np.asarray(func(a._map() + 1, *args, **kwargs)) - 1
            return a._gather(m)
        return a._gather(np.asarray(func(a._map(), *args, **kwargs)))
    return handler


for _f, _fills in [(np.roll, False), (np.flip, False), (np.fliplr, False), (np.flipud, False),
                   (np.rot90, False), (np.tile, False), (np.repeat, False),
                   (np.broadcast_to, False), (np.diagonal, False), (np.take, False),
                   (np.take_along_axis, False), (np.compress, False), (np.delete, False),
                   (np.resize, False), (np.diag, True), (np.diagflat, True), (np.triu, True),
                   (np.tril, True)]:
    HANDLERS[_f] = _rearrange(_f, f"np.{_f.__name__}", _fills)


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    _check_const((pad_width,) + tuple(kwargs.values()), "np.pad")
    if mode in ("wrap", "edge", "reflect", "symmetric"):
        if kwargs.get("reflect_type", "even") != "even":
            raise _unsupported("np.pad(..., reflect_type='odd')")
        return array._gather(np.pad(array._map(), pad_width, mode=mode, **kwargs))
    if mode != "constant":
        raise _unsupported(f"np.pad(..., mode={mode!r})")
    c = np.unique(np.asarray(kwargs.get("constant_values", 0)))
    if c.size != 1:
        raise _unsupported("np.pad with different constant_values per side")
    m = np.pad(array._map() + 1, pad_width, mode="constant", constant_values=0) - 1
    root = array._root if array._root is not None else array
    array.node  # noqa: B018
    m = np.array(m, dtype=np.int64, order="C")
    return array._tc.add("gather", [root], index=m, fill=c.item())


@implements(np.split, np.array_split)
def split(ary, indices_or_sections, axis=0):
    _check_const((indices_or_sections,), "np.split")
    parts = np.array_split(ary._map(), indices_or_sections, axis=axis)
    if not isinstance(indices_or_sections, (list, tuple, np.ndarray)):
        if ary.shape[axis] % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
    return [ary._gather(p) for p in parts]


# --- joining -------------------------------------------------------------------

def _as_array(tc, a):
    """A tracer or constant array for ``a``; nested lists holding tracers are stacked.

    ``np.concatenate([x[1:], [np.sum(x)]])`` is a common idiom: the inner list
    holds a traced scalar that numpy cannot convert, so it is stacked here.
    """
    if isinstance(a, Tracer):
        return a
    if isinstance(a, (list, tuple)) and _tc_of(a) is not None:
        return stack([_wrap(tc, _as_array(tc, item)) for item in a])
    return np.asarray(a)


@implements(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    if out is not None:
        raise _unsupported("np.concatenate(..., out=...)")
    tc = _tc_of(arrays)
    arrays = [_as_array(tc, a) for a in arrays]
    if axis is None:
        arrays = [reshape(_wrap(tc, a), (-1,)) for a in arrays]
        axis = 0
    r = tc.add("concatenate", arrays, axis=_normalize_axis(axis, len(_shape(arrays[0]))))
    return r if dtype is None else astype(r, dtype)


def _expand(a, axis):
    shape = np.expand_dims(np.empty(_shape(a), dtype=np.int8), axis).shape
    return reshape(a, shape) if isinstance(a, Tracer) else np.reshape(a, shape)


@implements(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    return concatenate([_expand(a, axis) for a in arrays], axis=axis, out=out, dtype=dtype)


@implements(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    arrs = [HANDLERS[np.atleast_1d](a) for a in tup]
    return concatenate(arrs, axis=0 if all(len(_shape(a)) == 1 for a in arrs) else 1,
                       dtype=dtype)


@implements(np.vstack, np.row_stack) if hasattr(np, "row_stack") else implements(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    return concatenate([HANDLERS[np.atleast_2d](a) for a in tup], axis=0, dtype=dtype)


@implements(np.column_stack)
def column_stack(tup):
    arrs = [(_expand(a, 1) if len(_shape(a)) == 1 else a) for a in tup]
    return concatenate(arrs, axis=1)


@implements(np.append)
def append(arr, values, axis=None):
    return concatenate([arr, values], axis=axis)


# --- selection ------------------------------------------------------------------

@implements(np.where)
def where(condition, x=None, y=None):
    if x is None or y is None:
        raise _unsupported("np.where(condition) with one argument (np.nonzero)")
    tc = _tc_of(condition, x, y)
    return tc.add("where", [condition, x, y])


@implements(np.clip)
def clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue,
         max=np._NoValue, **kwargs):
    lo = a_min if a_min is not np._NoValue else (None if min is np._NoValue else min)
    hi = a_max if a_max is not np._NoValue else (None if max is np._NoValue else max)
    tc = _tc_of(a, lo, hi)
    r = _wrap(tc, a)
    # bound first: on ties numpy's maximum/minimum return the second argument, and
    # np.clip keeps `a` there (the sign of a zero included)
    if lo is not None:
        r = _call_ufunc(tc, np.maximum, (lo, r))
    if hi is not None:
        r = _call_ufunc(tc, np.minimum, (hi, r))
    if out is not None:
        out._assign(r)
        return out
    return r


@implements(np.round, np.around)
def round_(a, decimals=0, out=None):
    if out is not None:
        raise _unsupported("np.round(..., out=...)")
    if decimals == 0:
        return a._tc.add("rint", [a])
    scale = 10.0 ** decimals
    return a._tc.add("rint", [a * scale]) / scale


# --- the tracer's entry points and methods -----------------------------------------------

def _shape_args(args):
    return args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _method_unsupported(name):
    def m(self, *args, **kwargs):
        raise _unsupported(f"ndarray.{name}")
    return m


PROTOCOL.update(getitem=getitem, setitem=setitem)
METHODS.update({
    "ravel": ravel, "swapaxes": swapaxes, "squeeze": HANDLERS[np.squeeze],
    "repeat": HANDLERS[np.repeat], "take": HANDLERS[np.take],
    "diagonal": HANDLERS[np.diagonal], "clip": clip, "round": round_,
    "reshape": lambda self, *shape, order="C": reshape(self, _shape_args(shape), order=order),
    "transpose": lambda self, *axes: transpose(self, _shape_args(axes) or None),
    "flatten": lambda self, order="C": Tracer(self._tc, reshape(self, (-1,)).node),
    "T": lambda self: transpose(self), "mT": lambda self: swapaxes(self, -1, -2),
    "imag": lambda self: HANDLERS[np.imag](self),
    "fill": lambda self, value: setitem(self, Ellipsis, value),
})
for _name in ("argmax", "argmin", "argsort", "sort", "nonzero", "searchsorted", "partition",
              "argpartition", "view", "tobytes", "setfield", "itemset", "put", "resize"):
    METHODS[_name] = _method_unsupported(_name)
