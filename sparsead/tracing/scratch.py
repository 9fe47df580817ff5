"""Arrays created while tracing that traced values get written into (``out = np.zeros(n)``).

``out = np.zeros(n); out[i] = x[i] ** 2`` is the most common way to build an
array, and library code does the same (SciPy's ``rosen_hess`` builds its matrix
with ``xp.zeros`` and item assignment). numpy owns such an array, so a write
cannot be recorded -- unless the array knows it belongs to a trace. So while a
trace runs in this thread, the creators ``np.zeros``, ``np.ones``, ``np.empty``,
``np.full``, their ``*_like`` forms (on plain arrays), ``np.eye``,
``np.identity`` and ``np.array`` (a copy) return, for floating dtypes and when
called from outside numpy and sparsead, a :class:`Scratch`: a genuine ndarray
subclass, so it behaves exactly like the plain array (``isinstance`` checks,
compiled code, constant computations) -- until a traced value is written into it
or into one of its views. Then its root array gets a *shadow* tracer (a
constant with the array's values at that moment, then the write), and from then
on every operation on the array or its views goes to the shadow: indexing,
ufuncs (``__array_ufunc__``), numpy functions (``__array_function__``), the
methods tracers have, conversions (``float()``...), ``np.asarray``. Views map to
root positions through their memory offsets, so any view numpy makes is
followed.

The buffer of a shadowed array is filled with NaN: code that reads the raw
memory without going through numpy's Python API (a Cython memoryview, Numba,
``scipy.sparse`` constructors) then sees NaN rather than stale numbers. Routed
like the converters (:mod:`sparsead.tracing.conversions`: thread-local,
reference-counted bindings).
"""

from __future__ import annotations

import sys

import numpy as np

from . import conversions as _conv
from . import numpy_api as _api
from .dispatch import PROTOCOL, RESOLVERS
from .tracer import Tracer

__all__ = ["Scratch", "CREATORS"]

#: creators routed while tracing (their ``*_like`` forms only for a plain prototype)
CREATORS = ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
            "full_like", "eye", "identity")


class Scratch(np.ndarray):
    """A floating array created while tracing; traced once a traced value is written into it."""

    _tc = None
    _shadow = None          # on the root: the Tracer holding the array's current value
    _view_tracer = None     # on a view: its Tracer view of the root's shadow (cached)

    def __array_finalize__(self, obj):
        self._tc = getattr(obj, "_tc", None)
        self._shadow = None
        self._view_tracer = None

    # --- the root and the shadow ---------------------------------------------------------
    def _root(self):
        base = self.base
        return base if type(base) is Scratch else self

    def _traced(self):
        """The shadow tracer of this array (a view of the root's), or None while inert."""
        root = self._root()
        shadow = root._shadow
        if shadow is None:
            return None
        if root is self:
            return shadow
        vt = self._view_tracer
        if vt is None or vt._root is not shadow:
            pos = _positions_in(root, self)
            now = shadow._gather(pos)
            vt = self._view_tracer = Tracer(shadow._tc, now.node, shadow, pos)
        return vt

    def _shadowed(self):
        """The shadow tracer, created (from the current values) if needed."""
        root = self._root()
        if root._shadow is None:
            tc = root._tc
            plain = root.view(np.ndarray)
            root._shadow = Tracer(tc, tc.const(np.array(plain)))
            root._shadow._map()          # a root: views of it are tracked by position
            plain[...] = np.nan          # stale reads of the raw memory show up as NaN
        return self._traced()

    # --- the Python-level protocol ------------------------------------------------------------
    def __setitem__(self, key, value):
        if self._traced() is not None or _holds_traced(value):
            t = self._shadowed()
            t[_resolved(key)] = _resolved(value)
            return
        np.ndarray.__setitem__(self, key, value)

    def __getitem__(self, key):
        t = self._traced()
        if t is not None:
            return t[_resolved(key)]
        return np.ndarray.__getitem__(self, key)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out", ())
        if any(_holds_traced(v) for v in inputs) or any(_holds_traced(v) for v in out):
            if out:
                kwargs["out"] = tuple(o._shadowed() if type(o) is Scratch else o for o in out)
            return _api.apply_ufunc(ufunc, method, tuple(_resolved(v) for v in inputs), kwargs)
        inputs = tuple(v.view(np.ndarray) if type(v) is Scratch else v for v in inputs)
        if out:
            kwargs["out"] = tuple(v.view(np.ndarray) if type(v) is Scratch else v for v in out)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if _holds_traced(args) or _holds_traced(tuple(kwargs.values())):
            if func is np.copyto and type(args[0]) is Scratch:
                args = (args[0]._shadowed(),) + tuple(args[1:])
            return _api.apply_function(func, _resolved(args),
                                       {k: _resolved(v) for k, v in kwargs.items()})
        return super().__array_function__(func, types, args, kwargs)

    def __getattribute__(self, name):
        if name in _DELEGATED:
            t = Scratch._traced(self)
            if t is not None:
                return getattr(t, name)
        return np.ndarray.__getattribute__(self, name)

    def __float__(self):
        t = self._traced()
        return float(t) if t is not None else np.ndarray.__float__(self)

    def __int__(self):
        t = self._traced()
        return int(t) if t is not None else np.ndarray.__int__(self)

    def __bool__(self):
        t = self._traced()
        return bool(t) if t is not None else np.ndarray.__bool__(self)

    def __iter__(self):
        if self._traced() is not None:
            return iter(self._traced())
        return np.ndarray.__iter__(self)

    def __repr__(self):
        t = self._traced()
        return repr(t) if t is not None else repr(self.view(np.ndarray))


#: attributes that go to the shadow once an array is traced (the ones tracers implement)
_DELEGATED = frozenset({
    "sum", "prod", "mean", "max", "min", "any", "all", "var", "std", "cumsum", "cumprod",
    "ravel", "swapaxes", "squeeze", "repeat", "take", "diagonal", "trace", "clip", "round",
    "astype", "copy", "dot", "reshape", "transpose", "flatten", "T", "mT", "fill", "item",
    "tolist", "real", "imag", "conj", "conjugate",
})


def _positions_in(root, view):
    """Flat positions in ``root`` (C-contiguous, owning its data) of ``view``'s elements."""
    itemsize = root.itemsize
    offset = (view.__array_interface__["data"][0] - root.__array_interface__["data"][0])
    pos = np.full(view.shape, offset // itemsize, dtype=np.int64)
    for axis, (n, stride) in enumerate(zip(view.shape, view.strides)):
        shape = [1] * view.ndim
        shape[axis] = n
        pos = pos + (np.arange(n, dtype=np.int64) * (stride // itemsize)).reshape(shape)
    return pos


def _holds_traced(v):
    t = type(v)
    if t is Tracer:
        return True
    if t is Scratch:
        return v._traced() is not None
    if t is list or t is tuple:
        return any(_holds_traced(u) for u in v)
    return False


def _resolved(v):
    """``v`` with every shadowed array replaced by its tracer (lists and tuples too)."""
    t = type(v)
    if t is Scratch:
        tr = v._traced()
        return tr if tr is not None else v.view(np.ndarray)
    if t is list or t is tuple:
        return t(_resolved(u) for u in v)
    return v


# --- the creators -----------------------------------------------------------------------------

_NOT_ADOPTED = ("numpy", "sparsead", "scipy.sparse")


def adopt(result, depth=2):
    """``result`` (a fresh plain array) as a :class:`Scratch` of this thread's trace, if it
    is floating and was created by code outside numpy and sparsead; else unchanged."""
    tc = _conv.current()
    if tc is None or type(result) is not np.ndarray or result.dtype.kind != "f":
        return result
    caller = sys._getframe(depth).f_globals.get("__name__", "")
    if caller.startswith(_NOT_ADOPTED):
        return result
    out = np.ndarray.__new__(Scratch, result.shape, result.dtype)
    np.copyto(out.view(np.ndarray), result)
    out._tc = tc
    return out


def _creator(name, original):
    like = name.endswith("_like")

    def wrapper(*args, **kwargs):
        if like and args and type(args[0]) in (Tracer, Scratch):
            return original(*args, **kwargs)        # dispatched (tracers) or a copy of a view
        result = original(*args, **kwargs)
        return adopt(result) if _conv._state.stack else result
    return wrapper


def _install():
    for name in CREATORS:
        original = getattr(np, name)
        _conv.route(name, original, _creator(name, original))
    RESOLVERS[Scratch] = _resolved
    PROTOCOL["adopt"] = adopt


_install()
