"""Array literals and conversions while tracing: ``np.array``, ``np.asarray`` & co.

Plain numpy code converts its input (``x = np.asarray(x)``, SciPy's
``rosen``, ``np.polynomial`` series) and builds arrays from scalars
(``np.array([x[0] ** 2, x[1] - 1.0])``). These calls never reach
``__array_function__``: ``np.array``/``np.asarray``/... are C functions that
numpy does not dispatch, and a list is not a tracer. So the design is:

* **While a trace runs, the converters are routed.** ``trace`` activates this
  module (:func:`activate`): the names ``array``, ``asarray``, ``asanyarray``,
  ``ascontiguousarray``, ``asfortranarray`` and ``asarray_chkfinite`` of the
  ``numpy`` namespace -- and every other binding of those functions found in a
  loaded module (``from numpy import asarray`` in the user's module or in SciPy,
  found by one scan of ``sys.modules``, cached until new modules load), plus the
  globals of the traced function itself (doctests, ``exec``) -- are pointed to
  thin wrappers. numpy's own modules and sparsead's are left alone, so numpy's
  internals keep their originals.
* **The wrappers are transparent unless this thread is tracing** and their
  argument holds a tracer (a tracer, or a nested list/tuple holding one): then
  the conversion returns the tracer itself (``asarray``; a cast is recorded for
  ``dtype=``; ``np.array`` returns a copy that does not alias) or stacks the
  list into one traced array (constants included). Any other call goes to the
  original function. The trace state is thread-local, and the bindings are
  installed under a lock when the first trace starts (and completed when
  modules were imported since) and restored when the last running trace ends,
  so concurrent traces in several threads and numpy calls in threads that do
  not trace are both safe.
* **``__array__`` is the last line.** numpy calls ``Tracer.__array__`` when
  compiled code (``scipy.integrate.odeint``, LAPACK, Cython) or a converter
  bound some other way needs a real ndarray. numpy requires an ndarray back,
  which cannot carry the trace, so :func:`array_protocol` returns the value
  only when it is known and exact (a value that depends on no input); otherwise
  it raises an error that names the user's own line (the frame that called into
  the library) and the library function that needed the array.

Why not elsewhere: ``__array__`` must return an ndarray, and an ndarray subclass
carrying the trace would survive ``np.asanyarray`` but not ``np.asarray`` (numpy
returns a base-class view of it); a permanent patch would slow numpy down for
every user of the process. The creators (``np.zeros``...) are routed the same
way by :mod:`sparsead.tracing.scratch` (:func:`route`). Calls from
``scipy.sparse`` keep numpy's behaviour: it converts the other operand of
``A @ x`` and, given a 0-d object array by ``__array__``, defers to
``Tracer.__rmatmul__``.
"""

from __future__ import annotations

import functools
import sys
import threading

import numpy as np

from .._errors import TracingError, UnsupportedOperationError
from . import numpy_api as _api
from . import numpy_layout as _layout
from .dispatch import PROTOCOL, RESOLVERS
from .frames import caller_frame, library_function, store_subscr, user_frame, where
from .tracer import Tracer, _plain_array_error

__all__ = ["activate", "current", "holds_tracer", "array_protocol", "CONVERTERS"]

#: the numpy converters routed while tracing
CONVERTERS = tuple(n for n in ("array", "asarray", "asanyarray", "ascontiguousarray",
                               "asfortranarray", "asarray_chkfinite") if hasattr(np, n))


# --- per-thread trace state -------------------------------------------------------------

class _State(threading.local):
    stack = ()          # the TraceContexts active in this thread, innermost last


_state = _State()


def current():
    """The innermost trace running in this thread, or None."""
    stack = _state.stack
    return stack[-1] if stack else None


def holds_tracer(a) -> bool:
    """Whether ``a`` is a tracer or a (nested) list/tuple holding one."""
    t = type(a)
    if t is Tracer:
        return True
    if t is list or t is tuple:
        for item in a:
            if holds_tracer(item):
                return True
        return False
    resolve = RESOLVERS.get(t)
    return resolve is not None and type(resolve(a)) is Tracer


# --- the converters while tracing -----------------------------------------------------

def _traced(a):
    """``a`` as one tracer: itself, or its items stacked (constants included)."""
    if type(a) is Tracer:
        return a
    resolve = RESOLVERS.get(type(a))
    if resolve is not None:
        return resolve(a)
    a = _resolve_items(a)
    tc = _api._tc_of(a)
    return _layout._as_array(tc, a)


def _resolve_items(a):
    if type(a) in (list, tuple):
        return type(a)(_resolve_items(u) for u in a)
    resolve = RESOLVERS.get(type(a))
    return resolve(a) if resolve is not None else a


def _finish(r, dtype, ndmin=0):
    if dtype is not None and np.dtype(dtype) != r.dtype:
        r = _api.astype(r, dtype)
    if r.ndim < ndmin:
        r = _layout.reshape(r, (1,) * (ndmin - r.ndim) + r.shape)
    return r


def _array(obj, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    r = _traced(obj)
    if r is obj and copy is not False:
        r = Tracer(r._tc, r.node)          # a new array: later writes do not alias `obj`
    return _finish(r, dtype, ndmin)


def _asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    r = _traced(a)
    if r is a and copy:
        r = Tracer(r._tc, r.node)
    return _finish(r, dtype)


def _ascontiguous(a, dtype=None, *, like=None):
    return _finish(_traced(a), dtype, ndmin=1)


def _chkfinite(a, dtype=None, order=None):
    r = _finish(_traced(a), dtype)
    value = r._tc.value(r.node)
    if value is not None and not np.all(np.isfinite(value)):
        raise ValueError("array must not contain infs or NaNs")
    return r


_HANDLERS = {"array": _array, "asarray": _asarray, "asanyarray": _asarray,
             "ascontiguousarray": _ascontiguous, "asfortranarray": _ascontiguous,
             "asarray_chkfinite": _chkfinite}


#: callers whose conversions keep numpy's behaviour: scipy.sparse converts the other
#: operand of ``A @ x`` and, getting a 0-d object array from ``__array__``, defers to
#: ``Tracer.__rmatmul__``
_NOT_ROUTED = ("scipy.sparse",)


def _make_wrapper(name, original):
    handler = _HANDLERS[name]

    adopt = name == "array"      # np.array copies: a floating copy may receive traced values

    def wrapper(a, *args, **kwargs):
        t = type(a)
        if (t is Tracer or t is list or t is tuple or t in RESOLVERS) and _state.stack \
                and holds_tracer(a) and not sys._getframe(1).f_globals.get(
                    "__name__", "").startswith(_NOT_ROUTED):
            return handler(a, *args, **kwargs)
        if adopt and _state.stack:
            r = original(a, *args, **kwargs)
            return PROTOCOL["adopt"](r) if r is not a and r.base is None else r
        return original(a, *args, **kwargs)

    functools.update_wrapper(wrapper, original)
    wrapper._sparsead_original = original
    return wrapper


_ORIGINALS = {n: getattr(np, n) for n in CONVERTERS}
_WRAPPERS = {n: _make_wrapper(n, f) for n, f in _ORIGINALS.items()}
_BY_ID = {id(f): n for n, f in _ORIGINALS.items()}


def route(name, original, wrapper):
    """Route ``numpy.<name>`` (and its bindings elsewhere) to ``wrapper`` while tracing."""
    functools.update_wrapper(wrapper, original)
    wrapper._sparsead_original = original
    _ORIGINALS[name], _WRAPPERS[name], _BY_ID[id(original)] = original, wrapper, name
    _scan[0] = -1


# --- where the converters are bound ------------------------------------------------------

_lock = threading.Lock()
_installed = {}             # (id(dict), name) -> (dict, name, routed name): patched now
_users = [0]                # traces running (all threads); the bindings go back at 0
_scan = [-1, [], set()]     # [len(sys.modules) when scanned, [(dict, name)], {id(dict)}]


def _module_bindings():
    """``(dict, name)`` of every converter bound in a loaded module outside numpy and sparsead."""
    modules = list(sys.modules.items())
    if _scan[0] == len(modules):
        return _scan[1]
    found, dicts = [], set()
    for mod_name, mod in modules:
        if mod_name != "numpy" and mod_name.startswith(("numpy.", "sparsead")):
            continue
        d = getattr(mod, "__dict__", None)
        if type(d) is not dict:
            continue
        dicts.add(id(d))
        for name, value in list(d.items()):
            n = _BY_ID.get(id(value))
            if n is not None and value is _ORIGINALS[n]:
                found.append((d, name))
    _scan[0], _scan[1], _scan[2] = len(modules), found, dicts
    return found


def _function_globals(f, depth=3):
    """The globals dicts of ``f`` and of the functions it wraps (closures, partials, methods)."""
    out, seen, todo = [], set(), [(f, 0)]
    while todo:
        g, level = todo.pop()
        if id(g) in seen or level > depth:
            continue
        seen.add(id(g))
        d = getattr(g, "__globals__", None)
        if type(d) is dict:
            out.append(d)
        for attr in ("__wrapped__", "func", "__func__"):
            inner = getattr(g, attr, None)
            if callable(inner):
                todo.append((inner, level + 1))
        for cell in getattr(g, "__closure__", None) or ():
            try:
                inner = cell.cell_contents
            except ValueError:      # an empty cell
                continue
            if callable(inner):
                todo.append((inner, level + 1))
        if not hasattr(g, "__code__"):   # a callable object: look at what it holds
            for inner in getattr(g, "__dict__", {}).values():
                if callable(inner):
                    todo.append((inner, level + 1))
    return out


def _install(bindings):
    """Point ``bindings`` (``(dict, name)``) at the wrappers; the lock is held."""
    for d, name in bindings:
        key = (id(d), name)
        if key in _installed:
            continue
        value = d.get(name)
        n = _BY_ID.get(id(value))
        if n is not None and value is _ORIGINALS[n]:
            d[name] = _WRAPPERS[n]
            _installed[key] = (d, name, n)


def _restore():
    """Put the originals back (the last trace ended); the lock is held."""
    for d, name, n in _installed.values():
        if d.get(name) is _WRAPPERS[n]:
            d[name] = _ORIGINALS[n]
    _installed.clear()


class activate:
    """Context manager: trace ``tc`` in this thread, the converters routed (see the module doc)."""

    def __init__(self, tc, f=None):
        self.tc, self.f = tc, f

    def __enter__(self):
        with _lock:
            if _users[0] == 0 or _scan[0] != len(sys.modules):
                _install([(vars(np), n) for n in _ORIGINALS] + list(_module_bindings()))
            if self.f is not None:       # globals of code outside any module (doctests, exec)
                known = _scan[2]
                _install([(d, n) for d in _function_globals(self.f) if id(d) not in known
                          for n, v in list(d.items()) if _BY_ID.get(id(v)) is not None])
            _users[0] += 1
        _state.stack = _state.stack + (self.tc,)
        return self.tc

    def __exit__(self, *exc):
        _state.stack = _state.stack[:-1]
        with _lock:
            _users[0] -= 1
            if _users[0] == 0:
                _restore()
        return False


# --- __array__: the conversions that cannot keep the trace ------------------------------------

def _sparse_box(tracer):
    """scipy.sparse asks whether we are an array; a 0-d object array makes it return
    NotImplemented, so Python calls our ``__rmatmul__``."""
    box = np.empty((), dtype=object)
    box[()] = tracer
    return box


def array_protocol(tracer, dtype=None, copy=None):
    """``Tracer.__array__``: the value when it is a known constant, else a clear error."""
    frame = caller_frame()
    name = frame.f_code.co_filename.replace("\\", "/") if frame is not None else ""
    if "scipy/sparse" in name:
        return _sparse_box(tracer)
    tc = tracer._tc
    nid = tracer.node
    _, loc, src = user_frame()
    if store_subscr(frame):
        raise _plain_array_error(loc, src)
    if not tc.varying[nid]:
        value = np.asarray(tc.value(nid))
        return value if dtype is None else value.astype(dtype)
    lib = library_function()
    if lib is not None and lib.startswith("scipy.integrate") and lib.endswith(".odeint"):
        raise UnsupportedOperationError(
            f"`scipy.integrate.odeint` was called on traced values {where(loc, src)}: odeint "
            "is compiled code (ODEPACK) that cannot be traced. To give an ODE solver the "
            "Jacobian of your right-hand side, prepare it with `jac = sa.ode_jacobian(rhs, y0)`"
            " and solve with `scipy.integrate.solve_ivp(rhs, t_span, y0, method='BDF', "
            "jac=jac)` (for odeint's f(y, t), rhs = lambda t, y: f(y, t)).")
    inside = f" inside `{lib}`" if lib else ""
    raise TracingError(
        f"A traced array was converted to a plain numpy array{inside}, called {where(loc, src)}."
        " The values of `x` are not known while tracing, and a numpy array cannot carry the "
        "trace. Compiled code (C/Fortran/Cython/Numba: scipy.integrate.odeint, scipy.linalg, "
        "...) cannot be traced: write that step with numpy operations. (np.asarray/np.array "
        "of traced values and lists of them work; build arrays with np.zeros_like(x) or "
        "np.stack.)")


PROTOCOL["array"] = array_protocol
