"""Arguments of prepared operators: traced inputs, and baked values that cannot go stale.

Floating ndarrays in ``args`` are graph inputs (they may change between calls).
Everything else is *baked in*: :class:`ArgSpec` copies it at preparation
(:func:`_freeze`), ``f`` is traced with the copies, and every call compares the
caller's arguments with them by value (:func:`_difference`), so an argument
changed in place raises instead of giving a stale result. Objects that cannot
be copied and compared reliably are refused at preparation, with advice.
"""

from __future__ import annotations

import copy
import functools
import types

import numpy as np
import scipy.sparse as sp

from .._errors import InputError, InputTypeError, PatternError
from .structure import _csr_parts, as_csr
from .values import describe as _describe

__all__ = ["as_real_array", "check_args", "ArgSpec"]


def as_real_array(x, name="x"):
    """``x`` as a float64 C-contiguous array; complex and non-numeric input refused."""
    if sp.issparse(x):
        raise InputTypeError(f"`{name}` is a scipy.sparse {x.format} matrix of shape {x.shape};"
                             f" pass a dense array, e.g. {name}.toarray().ravel().")
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - ragged lists and the like
        raise InputTypeError(f"`{name}` must be a real numeric array, got {_describe(x)} "
                             f"({exc}).") from None
    if np.iscomplexobj(a):
        raise InputTypeError(f"`{name}` is complex (dtype {a.dtype}); sparsead differentiates "
                             "real float64 functions. Split real and imaginary parts into a "
                             "real array of twice the size.")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        what = f"dtype {a.dtype}" if a.dtype != object else _describe(x)
        raise InputTypeError(f"`{name}` must be a real numeric array, got {what}.")
    return np.ascontiguousarray(a, dtype=np.float64)


def check_args(args, name="args") -> tuple:
    """``args`` if it is a tuple (the extra arguments of ``f``), else a clear error."""
    if not isinstance(args, tuple):
        raise InputTypeError(
            f"`{name}` must be a tuple of extra arguments of `f`, got {_describe(args)}; "
            f"write {name}=(value,) for one argument.")
    return args


def _is_traced(a):
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


#: Compared by identity: what a function closes over is part of ``f`` itself.
_BY_IDENTITY = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                types.ModuleType, type, np.ufunc, functools.partial)
#: Immutable values compared with ``==`` (and their exact type).
_SCALARS = (type(None), bool, int, float, complex, str, bytes, np.generic, np.dtype, slice,
            range, type(Ellipsis))

_ADVICE = ("baked arguments must be numbers, strings, non-float arrays, scipy.sparse matrices, "
           "functions, or tuples/lists/dicts of these (they are copied and compared at each "
           "call); pass numeric data as a float ndarray (a traced input), or bind the object "
           "inside `f` (e.g. `lambda x: f(x, obj)`), which makes keeping it unchanged your "
           "responsibility.")


class _Frozen:
    """A private copy of one baked argument, compared by value with later arguments."""

    __slots__ = ("kind", "value", "items", "given")

    def __init__(self, kind, value, items=None, given=None):
        self.kind, self.value, self.items = kind, value, items
        self.given = value if given is None else given   # what `f` receives when traced


def _freeze(v, where):
    if isinstance(v, _BY_IDENTITY):
        return _Frozen("identity", v)
    if isinstance(v, _SCALARS):
        return _Frozen("scalar", v)
    if isinstance(v, np.ndarray):
        if v.dtype == object:
            raise InputTypeError(f"`{where}` is an object array, which cannot be copied and "
                                 f"compared reliably; {_ADVICE}")
        snap = np.array(v, copy=True, subok=True)
        return _Frozen("array", snap, items=np.ma.getmaskarray(v).copy()
                       if isinstance(v, np.ma.MaskedArray) else None)
    if sp.issparse(v):
        snap = as_csr(v, where)
        return _Frozen("sparse", snap, items=v.format, given=v.copy())
    if type(v) in (tuple, list):
        items = [_freeze(u, f"{where}[{k}]") for k, u in enumerate(v)]
        return _Frozen(type(v).__name__, type(v), items,
                       given=type(v)(f.given for f in items))
    if type(v) is dict:
        items = {k: _freeze(u, f"{where}[{k!r}]") for k, u in v.items()}
        return _Frozen("dict", dict, items, given={k: f.given for k, f in items.items()})
    if isinstance(v, (tuple, list, dict)):
        # namedtuples and other subclasses: frozen items, a deep copy for `f`
        seq = list(v.items()) if isinstance(v, dict) else list(enumerate(v))
        items = {k: _freeze(u, f"{where}[{k!r}]") for k, u in seq}
        return _Frozen("container", type(v), items, given=copy.deepcopy(v))
    if isinstance(v, (frozenset, set)):
        return _Frozen("scalar", frozenset(v) if isinstance(v, frozenset) else set(v))
    return _freeze_object(v, where)


def _freeze_object(v, where):
    """Objects with value equality that hash (immutable by convention): a deep copy."""
    cls = type(v)
    if getattr(cls, "__hash__", None) is None or cls.__eq__ is object.__eq__:
        raise InputTypeError(f"`{where}` is a {cls.__name__} object, which sparsead cannot "
                             f"compare by value between calls; {_ADVICE}")
    try:
        snap = copy.deepcopy(v)
        ok = snap == v
        ok = bool(ok) if isinstance(ok, (bool, np.bool_)) else False
    except Exception:  # noqa: BLE001 - not copyable / not comparable
        ok = False
    if not ok:
        raise InputTypeError(f"`{where}` is a {cls.__name__} object that does not compare "
                             f"equal to a copy of itself; {_ADVICE}")
    return _Frozen("object", snap)


def _equal_arrays(a, b):
    """Same shape and values (NaN equal to NaN); the common all-equal case in one pass."""
    if a.shape != b.shape:
        return False
    if bool(np.all(a == b)):
        return True
    return a.dtype.kind in "fc" and bool(np.array_equal(a, b, equal_nan=True))


def _same_csr(indptr, indices, data, s):
    """Raw CSR arrays equal to canonical ``s`` (lengths first, so nothing is read past them)."""
    nnz = s.indices.size
    return (np.shape(indptr) == s.indptr.shape and np.shape(indices) == (nnz,)
            and np.shape(data) == (nnz,) and np.array_equal(indptr, s.indptr)
            and np.array_equal(indices, s.indices) and _equal_arrays(s.data, np.asarray(data)))


def _difference(f, v, where):
    """None if ``v`` equals the frozen value, else a phrase saying what differs."""
    kind = f.kind
    if kind == "identity":
        return None if v is f.value else f"`{where}` is another object"
    if kind == "scalar":
        s = f.value
        if type(v) is not type(s):
            return f"`{where}` is a {type(v).__name__}, prepared with a {type(s).__name__}"
        try:
            same = bool(s == v) or (s != s and v != v)
        except Exception:  # noqa: BLE001
            same = False
        return None if same else f"`{where}` is {v!r:.40}, prepared with {s!r:.40}"
    if kind == "array":
        s = f.value
        if type(v) is not type(s) or v.dtype != s.dtype or v.shape != s.shape:
            return (f"`{where}` is {_describe(v)}, prepared with {_describe(s)}")
        same = _equal_arrays(s, v)
        if same and f.items is not None:
            same = bool(np.array_equal(np.ma.getmaskarray(v), f.items))
            s, v = np.ma.getdata(s), np.ma.getdata(v)
        return None if same else f"the values of `{where}` changed"
    if kind == "sparse":
        s = f.value
        if not sp.issparse(v) or v.format != f.items or v.shape != s.shape \
                or v.dtype != s.dtype:
            return f"`{where}` is {_describe(v)}, prepared with a {f.items} matrix of shape " \
                   f"{s.shape} and dtype {s.dtype}"
        if v.format == "csr" and _same_csr(v.indptr, v.indices, v.data, s):
            return None   # equal to the validated copy, hence valid: no other check needed
        try:
            _, indptr, indices, data, _ = _csr_parts(v, where)
        except PatternError as exc:
            return str(exc)
        return None if _same_csr(indptr, indices, data, s) else \
            f"the entries of `{where}` changed"
    if kind in ("tuple", "list", "container", "dict"):
        if type(v) is not f.value:
            return f"`{where}` is a {type(v).__name__}, prepared with a {f.value.__name__}"
        items = f.items
        if kind in ("tuple", "list"):
            if len(v) != len(items):
                return f"`{where}` has {len(v)} items, prepared with {len(items)}"
            pairs = ((f"{where}[{k}]", g, u) for k, (g, u) in enumerate(zip(items, v)))
        else:
            got = dict(v.items()) if isinstance(v, dict) else dict(enumerate(v))
            if got.keys() != items.keys():
                return f"the keys of `{where}` changed"
            pairs = ((f"{where}[{k!r}]", g, got[k]) for k, g in items.items())
        for w, g, u in pairs:
            d = _difference(g, u, w)
            if d:
                return d
        return None
    # "object": hashable value objects
    try:
        same = type(v) is type(f.value) and bool(f.value == v)
    except Exception:  # noqa: BLE001
        same = False
    return None if same else f"`{where}` no longer equals the prepared value"


class ArgSpec:
    """How ``args`` enter a traced graph: floating ndarrays as inputs, the rest baked in.

    Baked arguments are frozen at preparation (:func:`_freeze`: a private copy,
    or identity for functions and modules) and ``f`` is traced with the copies,
    so nothing the caller does to its objects afterwards can reach the traced
    graph; :meth:`traced_values` compares them by value at every call and
    refuses any change. Objects that cannot be compared reliably are refused
    here, with advice.
    """

    def __init__(self, args, name="args"):
        check_args(args, name)
        for k, a in enumerate(args):
            if isinstance(a, np.ndarray) and np.iscomplexobj(a):
                raise InputTypeError(f"`{name}[{k}]` is complex (dtype {a.dtype}); only real "
                                     "arguments are supported.")
        self.n = len(args)
        self.name = name
        self.traced = [k for k, a in enumerate(args) if _is_traced(a)]
        self.shapes = {k: args[k].shape for k in self.traced}
        self.frozen = {k: _freeze(a, f"{name}[{k}]") for k, a in enumerate(args)
                       if k not in self.shapes}
        self.baked = {k: f.given for k, f in self.frozen.items()}

    def wrap(self, f):
        """``f`` as a function of ``(x, *traced_args)`` with the other args baked in."""
        traced, baked, n = self.traced, self.baked, self.n

        def wrapped(x, *tv):
            full = [None] * n
            for k, v in zip(traced, tv):
                full[k] = v
            for k, v in baked.items():
                full[k] = v
            return f(x, *full)
        return wrapped

    def matches(self, args) -> bool:
        """True if ``args`` has the prepared signature and unchanged baked values."""
        return len(args) == self.n and all(
            (k in self.shapes and _is_traced(args[k]) and args[k].shape == self.shapes[k])
            or (k in self.frozen and _difference(self.frozen[k], args[k], "") is None)
            for k in range(self.n))

    def traced_values(self, args):
        """Check ``args`` against the prepared ones; return the traced arrays (float64)."""
        name = self.name
        if len(args) != self.n:
            raise InputError(f"the operator was prepared with {self.n} extra argument(s) in "
                             f"`{name}`, got {len(args)}; pass the same arguments (prepare "
                             "again for a different signature).")
        out = self.traced_arrays(args)
        for k, f in self.frozen.items():
            diff = _difference(f, args[k], f"{name}[{k}]")
            if diff:
                raise InputError(
                    f"`{name}[{k}]` differs from the value the operator was prepared with "
                    f"({diff}). Only floating-point ndarray arguments may change between calls "
                    "(they are traced as inputs); other arguments are baked into the traced "
                    "structure. Pass it as a float ndarray (e.g. np.asarray(t, dtype=float)) "
                    "or prepare again.")
        return out

    def traced_arrays(self, args):
        """The traced arrays of ``args`` (float64), shapes checked; baked values not compared."""
        name = self.name
        out = []
        for k in self.traced:
            a = as_real_array(args[k], f"{name}[{k}]") if not isinstance(args[k], np.ndarray) \
                else args[k]
            if np.iscomplexobj(a):
                raise InputTypeError(f"`{name}[{k}]` is complex; only real arguments are "
                                     "supported.")
            if a.shape != self.shapes[k]:
                raise InputError(f"`{name}[{k}]` has shape {a.shape} but the operator was "
                                 f"prepared with shape {self.shapes[k]}; shapes are part of "
                                 "the traced structure: prepare again for new shapes.")
            out.append(np.ascontiguousarray(a, dtype=np.float64))
        return out
