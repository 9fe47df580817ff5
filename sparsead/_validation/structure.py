"""Structure of sparse matrices, checked before scipy or a kernel reads them.

Index ranges, monotone ``indptr``, lengths and dtypes are checked on the raw
arrays of every scipy.sparse format *before* scipy's C++ routines or a Numba
kernel see them (both trust them and may crash the process otherwise), in
O(nnz) vectorised passes; then the matrix is canonicalised (int64, sorted,
duplicates summed) into a copy. A declared shape whose work cannot fit in
memory is refused (:func:`check_size`) instead of meeting the OOM killer. Also
the checks of compressed matrices and ``out=`` buffers, and of symmetric
problems.
"""

from __future__ import annotations

import itertools
import operator
import os

import numpy as np
import scipy.sparse as sp

from .._errors import DecompressionError, PatternError
from .values import describe as _describe

__all__ = ["check_size", "as_csr", "as_pattern", "as_index_array", "is_structurally_symmetric",
           "require_square", "require_symmetric", "check_out", "as_compressed"]


#: Bytes per row or column and per stored entry that coloring a pattern may need at
#: its peak (graph views, orders, colors, plans). Measured peaks on 2e6 x 2e6 patterns:
#: 33-93 bytes per row/column (empty patterns), 25-125 per row/column/entry (banded);
#: entries are charged less, as the caller already holds 12+ bytes for each of them.
_BYTES_PER_VERTEX = 128
_BYTES_PER_ENTRY = 32
#: Below this estimate the memory check is skipped (it reads /proc/meminfo).
_CHECK_MEMORY_ABOVE = 1 << 30


def _available_memory():
    """Bytes of memory available to this process (None if unknown): the system's
    available memory, or the address-space limit (``ulimit -v``) if lower."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            pass
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY and limit > 0:
            avail = limit if avail is None else min(avail, limit)
    except (ImportError, ValueError, OSError):
        pass
    return avail


def check_size(shape, nnz, name="pattern", error=PatternError) -> None:
    """Refuse a matrix whose per-row/column work would not fit in memory.

    A sparse matrix may declare any shape; coloring it allocates arrays of
    length ``m + n`` and ``nnz``. An allocation that the system grants but
    cannot back gets the process killed, so huge declared shapes are refused
    here with a message instead.
    """
    m, n = shape
    need = _BYTES_PER_VERTEX * (m + n + 2) + _BYTES_PER_ENTRY * nnz
    if need < _CHECK_MEMORY_ABOVE:
        return
    avail = _available_memory()
    if avail is not None and need > avail:
        raise error(
            f"{_named(name)} of shape {tuple(shape)} with {nnz} stored entries needs about "
            f"{need / 2**30:.1f} GiB to store and color (arrays per row, column and entry), more than "
            f"the {avail / 2**30:.1f} GiB available; check the declared shape, or drop the "
            "empty rows and columns (e.g. A[rows][:, cols]).")


def _shape2(a, name):
    shape = getattr(a, "shape", None)
    if shape is None or len(shape) != 2:
        raise PatternError(f"{_named(name)} must be 2-D, got {_describe(a)}.")
    try:
        m, n = (operator.index(v) for v in shape)
    except TypeError:
        raise PatternError(f"{_named(name)} has a malformed shape {shape!r}.") from None
    if m < 0 or n < 0:
        raise PatternError(f"{_named(name)} has a negative dimension in its shape {shape!r}.")
    return int(m), int(n)


def _is_code(name):
    return " " not in name


def _named(name):
    """An argument name in backticks; a phrase (e.g. "the matrix in a.mtx") as it is."""
    return f"`{name}`" if _is_code(name) else name


def _field(name, what):
    """How a message names field ``what`` of the matrix called ``name``."""
    return f"`{name}.{what}`" if _is_code(name) else f"{name}: `{what}`"


def _index(arr, name, what):
    """``arr`` as a 1-D integer array (no copy), or a PatternError naming the field."""
    try:
        a = np.asarray(arr)
    except Exception:  # noqa: BLE001 - any failure to view it is malformed input
        a = None
    if a is None or a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        got = "None" if a is None else f"{a.ndim}-D {a.dtype}"
        raise PatternError(f"{_field(name, what)} must be a 1-D integer array, got {got}; the "
                           "matrix is malformed (rebuild it, e.g. with scipy.sparse.csr_array"
                           "((data, (rows, cols)), shape=...)).")
    return a


def _values(arr, name, n, what="data", ndim=1):
    """Stored values: numeric or boolean, at least ``n`` of them (no copy)."""
    try:
        a = np.asarray(arr)
    except Exception:  # noqa: BLE001
        a = None
    if a is None or a.ndim != ndim or not (np.issubdtype(a.dtype, np.number)
                                           or a.dtype == bool):
        got = "None" if a is None else f"{a.ndim}-D {a.dtype}"
        raise PatternError(f"{_field(name, what)} must be a {ndim}-D numeric array, got {got}.")
    if a.shape[0] < n:
        raise PatternError(f"{_field(name, what)} has {a.shape[0]} values but the structure "
                           f"stores {n} entries; the matrix is malformed.")
    return a[:n]


def _in_range(idx, bound, name, what, axis):
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= bound):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise PatternError(f"{_field(name, what)} holds {axis} index {bad}, outside 0..{bound - 1} "
                           f"(the matrix has {bound} {axis}s); the matrix is malformed.")


def _compressed(a, n_major, n_minor, name, axes=("row", "column")):
    """Validated ``(indptr, indices)`` of a CSR/CSC/BSR structure (``indices`` cut to nnz)."""
    indptr = _index(a.indptr, name, "indptr")
    indices = _index(a.indices, name, "indices")
    if indptr.size != n_major + 1:
        raise PatternError(f"{_field(name, 'indptr')} must have {n_major + 1} entries (one per "
                           f"{axes[0]} plus one), got {indptr.size}; the matrix is malformed.")
    nnz = int(indptr[-1])
    if int(indptr[0]) != 0 or nnz > indices.size or nnz < 0:
        raise PatternError(f"{_field(name, 'indptr')} must start at 0 and end at most at "
                           f"len(indices) = {indices.size}, got {int(indptr[0])} .. {nnz}; "
                           "the matrix is malformed.")
    if n_major and not bool(np.all(indptr[1:] >= indptr[:-1])):
        k = int(np.flatnonzero(indptr[1:] < indptr[:-1])[0])
        raise PatternError(f"{_field(name, 'indptr')} must be non-decreasing, but indptr[{k + 1}] = "
                           f"{int(indptr[k + 1])} < indptr[{k}] = {int(indptr[k])}; the matrix "
                           "is malformed.")
    indices = indices[:nnz]
    _in_range(indices, n_minor, name, "indices", axes[1])
    return indptr, indices


def _is_canonical(indptr, indices):
    """Strictly increasing indices within each row (sorted, no duplicates); O(nnz)."""
    if indices.size < 2:
        return True
    inc = indices[1:] > indices[:-1]
    starts = indptr[1:-1]
    starts = starts[(starts > 0) & (starts < indices.size)]
    inc[starts - 1] = True
    return bool(inc.all())


def _from_lil(a, m, n, name):
    rows, vals = a.rows, a.data
    if len(rows) != m or len(vals) != m:
        raise PatternError(f"{_named(name)} (lil) must have {m} rows, got {len(rows)}.")
    try:
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=m)
        if not np.array_equal(lens, np.fromiter(map(len, vals), dtype=np.int64, count=m)):
            raise PatternError(f"{_field(name, 'rows')} and `data` (lil) differ in length.")
        idx = np.asarray(list(itertools.chain.from_iterable(rows)))
        data = np.asarray(list(itertools.chain.from_iterable(vals)))
    except PatternError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise PatternError(f"{_named(name)} (lil) is malformed: {exc}.") from None
    idx = _index(idx.astype(np.int64) if idx.size == 0 else idx, name, "rows")
    data = _values(data.astype(np.float64) if data.size == 0 else data, name, idx.size)
    _in_range(idx, n, name, "rows", "column")
    indptr = np.concatenate([[0], np.cumsum(lens)])
    return indptr, idx, data


def _csr_parts(a, name):
    """Validated CSR form of a sparse matrix: ``(shape, indptr, indices, data, owned)``.

    The arrays are sorted, duplicate-free and cut to nnz; ``owned=False`` means
    they may be (views of) the caller's arrays, to be copied before keeping.
    """
    m, n = _shape2(a, name)
    fmt = getattr(a, "format", None)
    if fmt in ("csr", "csc"):
        major, minor = (m, n) if fmt == "csr" else (n, m)
        axes = ("row", "column") if fmt == "csr" else ("column", "row")
        indptr, indices = _compressed(a, major, minor, name, axes)
        data = _values(a.data, name, indices.size)
        check_size((m, n), indices.size, name)
        if fmt == "csr" and _is_canonical(indptr, indices):
            return (m, n), indptr, indices, data, False
        cls = sp.csr_array if fmt == "csr" else sp.csc_array
        b = cls((data, indices, indptr), shape=(m, n), copy=True)
        out = b.tocsr() if fmt == "csc" else b
    elif fmt == "coo":
        coords = getattr(a, "coords", None)
        if coords is None or len(coords) != 2:
            raise PatternError(f"{_field(name, 'coords')} must hold 2 index arrays (rows, "
                               "columns).")
        row = _index(coords[0], name, "coords[0]")
        col = _index(coords[1], name, "coords[1]")
        data = _values(a.data, name, row.size)
        if row.size != col.size or data.size != np.asarray(a.data).size:
            raise PatternError(f"{_named(name)} (coo) has {row.size} row indices, {col.size} "
                               f"column indices and {np.asarray(a.data).size} values; the "
                               "matrix is malformed.")
        _in_range(row, m, name, "coords[0]", "row")
        _in_range(col, n, name, "coords[1]", "column")
        check_size((m, n), row.size, name)
        out = sp.coo_array((data, (row, col)), shape=(m, n)).tocsr()
    elif fmt == "bsr":
        r, c = (int(v) for v in a.blocksize)
        if r <= 0 or c <= 0 or m % r or n % c:
            raise PatternError(f"{_named(name)} (bsr) has blocksize {(r, c)} that does not divide "
                               f"its shape {(m, n)}.")
        indptr, indices = _compressed(a, m // r, n // c, name, ("block row", "block column"))
        data = _values(a.data, name, indices.size, ndim=3)
        if data.shape[1:] != (r, c):
            raise PatternError(f"{_field(name, 'data')} (bsr) must have blocks of shape {(r, c)}, got "
                               f"{data.shape[1:]}.")
        check_size((m, n), indices.size * r * c, name)
        out = sp.bsr_array((data, indices, indptr), shape=(m, n), copy=True).tocsr()
    elif fmt == "lil":
        indptr, indices, data = _from_lil(a, m, n, name)
        check_size((m, n), indices.size, name)
        out = sp.csr_array((data, indices, indptr), shape=(m, n), copy=True)
    else:
        try:
            coo = a.tocoo()
        except Exception as exc:  # noqa: BLE001 - dia/dok/unknown: their own conversion
            raise PatternError(f"{_named(name)} ({fmt}) is malformed: {exc}.") from None
        return _csr_parts(coo, name)
    out.sum_duplicates()
    return (m, n), out.indptr, out.indices, out.data, True


def as_csr(a, name: str = "pattern") -> sp.csr_array:
    """A validated, canonical copy of a scipy.sparse matrix of any format.

    The raw arrays are checked before scipy touches them (its C++ routines
    trust them): integer index arrays, ``indptr`` of the right length, starting
    at 0, non-decreasing and ending within ``indices``, every index inside the
    shape, numeric values (no object dtype), and a shape whose work fits in
    memory. The result is a ``csr_array`` with int64 indices, sorted, with
    duplicates summed and explicit zeros kept; it shares no memory with ``a``,
    which is never modified.

    Raises
    ------
    PatternError
        Naming ``name`` and the malformed field.
    """
    shape, indptr, indices, data, owned = _csr_parts(a, name)
    out = sp.csr_array((data if owned else data.copy(), _own_int64(indices, owned),
                        _own_int64(indptr, owned)), shape=shape, copy=False)
    out.has_canonical_format = True
    return out


def _own_int64(x, owned):
    if owned and x.dtype == np.int64 and x.flags.c_contiguous:
        return x
    return np.array(x, dtype=np.int64, order="C", copy=True)


def as_pattern(pattern, name: str = "pattern", *, keep_explicit_zeros: bool = True) -> sp.csr_array:
    """Coerce ``pattern`` to a boolean ``csr_array`` with sorted, unique int64 indices.

    Sparse input (any format, structure validated as in :func:`as_csr`): every
    stored entry is part of the pattern, explicitly stored zeros included
    unless ``keep_explicit_zeros=False``. Dense input: the nonzero entries
    (``NaN`` counts as nonzero).
    """
    if sp.issparse(pattern):
        shape, indptr, indices, data, owned = _csr_parts(pattern, name)
        if not keep_explicit_zeros and not bool(np.all(data)):
            a = sp.csr_array((data != 0, indices, indptr), shape=shape, copy=True)
            a.eliminate_zeros()
            shape, indptr, indices, owned = a.shape, a.indptr, a.indices, True
        indptr, indices = _own_int64(indptr, owned), _own_int64(indices, owned)
    else:
        try:
            dense = np.asarray(pattern)
        except Exception as exc:  # noqa: BLE001
            raise PatternError(
                f"`{name}` must be a scipy.sparse matrix/array or a 2-D array-like, "
                f"got {_describe(pattern)} ({exc})."
            ) from None
        if dense.ndim != 2:
            got = f"an array of shape {dense.shape}" if dense.dtype != object or dense.ndim \
                else _describe(pattern)
            raise PatternError(f"`{name}` must be 2-D, got {got}; pass a matrix, e.g. "
                               "np.atleast_2d(x).")
        if dense.dtype == object or not (
            np.issubdtype(dense.dtype, np.number) or dense.dtype == bool
        ):
            raise PatternError(
                f"`{name}` must hold numbers or booleans, got dtype {dense.dtype}."
            )
        a = sp.csr_array(dense != 0)
        shape, indptr, indices = a.shape, as_index_array(a.indptr), as_index_array(a.indices)
    out = sp.csr_array((np.ones(indices.size, dtype=bool), indices, indptr), shape=shape,
                       copy=False)
    out.has_canonical_format = True
    return out


def as_index_array(x) -> np.ndarray:
    """int64, C-contiguous copy-if-needed of an index array."""
    return np.ascontiguousarray(x, dtype=np.int64)


# --- symmetric problems ------------------------------------------------------------------

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


def check_out(out, advice: str, error=DecompressionError):
    """``out`` if it is a ``csr_array`` whose ``data`` can be written in place, else ``error``.

    Its structure is compared with the expected one by the caller; here only
    what any in-place write needs: a 1-D, contiguous, writeable float64 ``data``.
    """
    if not (sp.issparse(out) and out.format == "csr"):
        raise error(f"`out` must be a scipy.sparse csr_array, got {_describe(out)}; {advice}.")
    data = out.data
    if not isinstance(data, np.ndarray) or data.dtype != np.float64 or data.ndim != 1:
        raise error(f"`out.data` must be a 1-D float64 array, got {_describe(data)}; {advice}.")
    if not data.flags.writeable:
        raise error(f"`out.data` is read-only (e.g. a memory-mapped or frozen array), so the "
                    f"result cannot be written into it; {advice}, or pass a copy.")
    if not data.flags.c_contiguous:
        raise error(f"`out.data` must be contiguous, got a strided view; {advice}.")
    return out


def as_compressed(b, shape, name: str = "B") -> np.ndarray:
    """float64 C-contiguous view/copy of a compressed matrix of the given shape."""
    if sp.issparse(b):
        b = as_csr(b, name).toarray()
    try:
        arr = np.ascontiguousarray(b, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DecompressionError(
            f"`{name}` must be a real 2-D array of shape {shape}, got {_describe(b)} ({exc})."
        ) from None
    if arr.shape != tuple(shape):
        got = f"shape {arr.shape}" if isinstance(b, np.ndarray) else _describe(b)
        raise DecompressionError(
            f"`{name}` must have shape {tuple(shape)} (the compressed matrix of this "
            f"coloring), got {got}."
        )
    return arr
