"""numpy functions answered from shapes and dtypes, and the index helpers.

Two kinds of lowering that need no primitive of their own (continues
``numpy_api``):

* **queries** whose answer depends only on a tracer's dtype or shape
  (``np.result_type``, ``np.can_cast``, ``np.iscomplexobj`` ...): answered with
  the tracer's dtype, as numpy would for an array of that dtype;
* **index helpers**: ``np.diag_indices_from``, ``np.tril_indices_from``,
  ``np.triu_indices_from`` compute constant index arrays from the tracer's shape
  (``np.diag_indices``, ``np.tril_indices``, ``np.triu_indices`` and ``np.ix_``
  take no tracer and run as they are); ``np.fill_diagonal`` writes through
  ``__setitem__`` at the positions numpy would write. Indexing with the result
  lowers onto ``gather``/``scatter``, whose sparsity, JVP and VJP rules apply.
"""

from __future__ import annotations

import numpy as np

from .dispatch import HANDLERS, implements
from .numpy_api import _shape, _tc_of, _unsupported, _wrap
from .numpy_layout import _as_array, getitem, reshape, setitem, where
from .tracer import Tracer

__all__ = []


def _dtype_of(a):
    return a.dtype if isinstance(a, Tracer) else a


# --- dtype and shape queries -----------------------------------------------------------

@implements(np.result_type)
def _result_type(*arrays_and_dtypes):
    return np.result_type(*[_dtype_of(a) for a in arrays_and_dtypes])


@implements(np.can_cast)
def _can_cast(from_, to, casting="safe"):
    return np.can_cast(_dtype_of(from_), _dtype_of(to), casting=casting)


@implements(np.iscomplexobj)
def _iscomplexobj(x):
    return np.iscomplexobj(np.empty(0, dtype=x.dtype)) if isinstance(x, Tracer) \
        else np.iscomplexobj(x)


@implements(np.isrealobj)
def _isrealobj(x):
    return not _iscomplexobj(x)


@implements(np.iscomplex)
def _iscomplex(x):
    return np.zeros(_shape(x), dtype=bool)      # complex tracers are refused


@implements(np.isreal)
def _isreal(x):
    return np.ones(_shape(x), dtype=bool)


@implements(np.real_if_close)
def _real_if_close(a, tol=100):
    return a


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*[_shape(a) for a in args])
    return tuple(HANDLERS[np.broadcast_to](a, shape) if isinstance(a, Tracer)
                 else np.broadcast_to(a, shape) for a in args)


@implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    if not isinstance(dst, Tracer):
        raise _unsupported("np.copyto of a traced array into a plain numpy array (create the "
                           "destination with np.zeros_like(x))")
    value = src if where is True else HANDLERS[np.where](where, src, dst)
    setitem(dst, Ellipsis, value)


@implements(np.nan_to_num)
def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    tc = _tc_of(x)
    x = _wrap(tc, x)
    info = np.finfo(x.dtype) if np.issubdtype(x.dtype, np.floating) else None
    if info is None:
        return x
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    r = where(np.isnan(x), nan, x)
    r = where(x == np.inf, hi, r)
    return where(x == -np.inf, lo, r)


# --- index helpers -------------------------------------------------------------------------

@implements(np.diag_indices_from)
def _diag_indices_from(arr):
    shape = _shape(arr)
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if any(s != shape[0] for s in shape):
        raise ValueError("All dimensions of input must be of equal length")
    return np.diag_indices(shape[0], len(shape))


def _triangle_from(kind):
    def handler(arr, k=0):
        shape = _shape(arr)
        if len(shape) != 2:
            raise ValueError("input array must be 2-d")
        fn = np.tril_indices if kind == "tril" else np.triu_indices
        return fn(shape[-2], k=k, m=shape[-1])
    return handler


HANDLERS[np.tril_indices_from] = _triangle_from("tril")
HANDLERS[np.triu_indices_from] = _triangle_from("triu")


@implements(np.fill_diagonal)
def _fill_diagonal(a, val, wrap=False):
    if not isinstance(a, Tracer):
        raise _unsupported("np.fill_diagonal of a plain numpy array with a traced value "
                           "(create the array with np.zeros_like(x))")
    mask = np.zeros(a.shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)         # the positions numpy writes, in C order
    rows = np.nonzero(mask)
    count = rows[0].size
    if isinstance(val, Tracer) or (isinstance(val, (list, tuple)) and _tc_of(val) is not None):
        v = _as_array(a._tc, val)
        flat = reshape(v, (-1,))
        if flat.size == 0:
            return None
        # numpy writes the flattened values along the diagonal, repeating them as needed
        values = getitem(flat, np.arange(count, dtype=np.int64) % flat.size)
    else:
        flat = np.ravel(np.asarray(val, dtype=a.dtype))
        if flat.size == 0:
            return None
        values = np.resize(flat, count)
    setitem(a, rows, values)
    return None
