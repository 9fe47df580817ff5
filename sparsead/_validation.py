"""Input coercion and user-facing messages, in one place.

Public functions call these before any work, so that a bad argument fails with
a message that names the argument, shows what was received and says how to
fix it, and kernels only ever see canonical int64/float64 arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._errors import ColoringError, DecompressionError, PatternError

__all__ = [
    "as_pattern",
    "check_choice",
    "as_index_array",
    "is_structurally_symmetric",
    "require_square",
    "require_symmetric",
    "as_compressed",
]


def _describe(x) -> str:
    if sp.issparse(x):
        return f"{type(x).__name__} of shape {x.shape}"
    shape = getattr(x, "shape", None)
    if shape is not None:
        return f"{type(x).__name__} of shape {tuple(shape)}"
    return repr(x) if len(repr(x)) < 60 else type(x).__name__


def as_pattern(pattern, name: str = "pattern", *, keep_explicit_zeros: bool = True) -> sp.csr_array:
    """Coerce ``pattern`` to a boolean ``csr_array`` with sorted, unique indices.

    Sparse input: every stored entry is part of the pattern, explicitly stored
    zeros included unless ``keep_explicit_zeros=False``. Dense input: the
    nonzero entries (``NaN`` counts as nonzero).
    """
    if sp.issparse(pattern):
        if pattern.ndim != 2:
            raise PatternError(f"`{name}` must be 2-D, got {_describe(pattern)}.")
        a = sp.csr_array(pattern, copy=True)
        a.sum_duplicates()
        if not keep_explicit_zeros:
            a.eliminate_zeros()
    else:
        try:
            dense = np.asarray(pattern)
        except Exception as exc:  # noqa: BLE001
            raise PatternError(
                f"`{name}` must be a scipy.sparse matrix/array or a 2-D array-like, "
                f"got {_describe(pattern)} ({exc})."
            ) from None
        if dense.ndim != 2:
            raise PatternError(
                f"`{name}` must be 2-D, got an array of shape {dense.shape}; "
                "pass a matrix, e.g. np.atleast_2d(x)."
            )
        if dense.dtype == object or not (
            np.issubdtype(dense.dtype, np.number) or dense.dtype == bool
        ):
            raise PatternError(
                f"`{name}` must hold numbers or booleans, got dtype {dense.dtype}."
            )
        a = sp.csr_array(dense != 0)
    out = sp.csr_array(
        (np.ones(a.nnz, dtype=bool), a.indices.astype(np.int64), a.indptr.astype(np.int64)),
        shape=a.shape,
    )
    out.sort_indices()
    out.has_canonical_format = True
    return out


def check_choice(value, allowed, name: str, error=ColoringError):
    """Return ``value`` if it is one of ``allowed``, else raise ``error`` listing them."""
    if isinstance(value, str) and value in allowed:
        return value
    raise error(f"`{name}` must be one of {tuple(allowed)}, got {value!r}.")


def as_index_array(x) -> np.ndarray:
    """int64, C-contiguous copy-if-needed of an index array."""
    return np.ascontiguousarray(x, dtype=np.int64)


def is_structurally_symmetric(p: sp.csr_array) -> bool:
    """True if the (canonical, boolean) pattern equals its transpose."""
    if p.shape[0] != p.shape[1]:
        return False
    t = sp.csr_array(p.T)
    t.sort_indices()
    return bool(
        np.array_equal(p.indptr, t.indptr) and np.array_equal(p.indices, t.indices)
    )


def require_square(p: sp.csr_array, problem: str) -> None:
    if p.shape[0] != p.shape[1]:
        raise PatternError(
            f"`pattern` must be square for problem={problem!r}, got shape {p.shape}; "
            "use problem='column' (JVPs), 'row' (VJPs) or 'bidirectional' for "
            "nonsymmetric Jacobians."
        )


def require_symmetric(p: sp.csr_array, problem: str) -> None:
    require_square(p, problem)
    if not is_structurally_symmetric(p):
        t = sp.csr_array(p.T)
        diff = (p != t).tocoo()
        i, j = int(diff.row[0]), int(diff.col[0])
        raise PatternError(
            f"`pattern` must be structurally symmetric for problem={problem!r}: entry "
            f"({i}, {j}) is {'stored' if p[i, j] else 'missing'} but ({j}, {i}) is not. "
            "Pass symmetrize=True to color the pattern of A + A.T, or use "
            "problem='column' / 'bidirectional' for nonsymmetric matrices."
        )


def as_compressed(b, shape, name: str = "B") -> np.ndarray:
    """float64 C-contiguous view/copy of a compressed matrix of the given shape."""
    if sp.issparse(b):
        b = b.toarray()
    try:
        arr = np.ascontiguousarray(b, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DecompressionError(
            f"`{name}` must be a real 2-D array of shape {shape}, got {_describe(b)} ({exc})."
        ) from None
    if arr.shape != tuple(shape):
        raise DecompressionError(
            f"`{name}` must have shape {tuple(shape)} (the compressed matrix of this "
            f"coloring), got shape {arr.shape}."
        )
    return arr
