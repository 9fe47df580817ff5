"""Reading patterns and reference tables from files (used by the CLI and benchmarks).

``read_matrix`` reads Matrix Market (``.mtx``, also gzipped) and scipy's
``.npz`` files into a canonical, structurally validated ``csr_array`` (int64
indices) that keeps explicitly stored zeros, so the caller decides how to treat
them; a malformed file is an error, never a crash. ``read_reference`` reads a table of reference
color counts is :func:`sparsead.coloring.colpack.read_reference`.
"""

from __future__ import annotations

import gzip
import os
import zipfile

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._errors import PatternError
from ._validation import as_csr, check_size

_MM_FORMATS = ("coordinate", "array")
_MM_FIELDS = ("real", "double", "integer", "complex", "pattern")
_MM_SYMMETRIES = ("general", "symmetric", "skew-symmetric", "hermitian")


def read_matrix(path) -> sp.csr_array:
    """Read a sparse matrix from ``.mtx``/``.mtx.gz`` or ``.npz``, keeping stored zeros.

    Symmetric Matrix Market files are expanded to both triangles. Files that
    scipy's reader refuses because an entry lacks its value (a known defect of
    some published files) are read leniently: such entries count as nonzeros.
    The header is checked before anything is allocated (a symmetric matrix must
    be square; the declared size must fit in memory), and the matrix read is
    validated structurally (:func:`sparsead._validation.as_csr`) before scipy
    converts it, so a malformed file gives an error, never a crash.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    PatternError
        If the file cannot be read as a sparse matrix, or is malformed.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise PatternError(f"{path!r} is a folder, not a matrix file.")
    name = path.lower()
    try:
        if name.endswith(".npz"):
            _check_npz_indices(path)
            a = sp.load_npz(path)
        else:
            fmt = _check_mtx_header(path)
            try:
                a = scipy.io.mmread(path)
            except (ValueError, IndexError, TypeError, OverflowError):
                if fmt != "coordinate":
                    raise
                a = _read_mtx_lenient(path)
    except PatternError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
        raise PatternError(f"cannot read {path!r} as a sparse matrix: "
                           f"{' '.join(str(exc).split()) or type(exc).__name__}") from None
    if not sp.issparse(a):
        a = np.asarray(a)
        if a.ndim != 2 or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise PatternError(f"{path!r} does not hold a 2-D numeric matrix "
                               f"(got {a.ndim}-D {a.dtype}).")
        a = sp.csr_array(a)
    elif a.ndim != 2:
        raise PatternError(f"{path!r} does not hold a 2-D matrix (got ndim={a.ndim}).")
    return as_csr(a, f"the matrix in {os.path.basename(path)}")


#: Index arrays of scipy's .npz layout (scipy casts them to integers silently).
_NPZ_INDEX_KEYS = ("indices", "indptr", "row", "col", "coords", "offsets")


def _check_npz_indices(path) -> None:
    """Refuse an ``.npz`` whose index arrays are not integers (read from the headers only)."""
    with zipfile.ZipFile(path) as zf:
        for key in _NPZ_INDEX_KEYS:
            if f"{key}.npy" not in zf.namelist():
                continue
            with zf.open(f"{key}.npy") as fh:
                major, _ = np.lib.format.read_magic(fh)
                read = (np.lib.format.read_array_header_1_0 if major == 1
                        else np.lib.format.read_array_header_2_0)
                _, _, dtype = read(fh)
            if not np.issubdtype(dtype, np.integer):
                raise PatternError(f"{path!r}: the index array `{key}` holds {dtype} values; "
                                   "sparse matrix indices must be integers.")


def _open_text(path):
    opener = gzip.open if path.lower().endswith(".gz") else open
    return opener(path, "rt", errors="replace")


def _check_mtx_header(path) -> str:
    """Refuse a malformed banner or size line, a non-square symmetric matrix, and sizes
    that cannot fit in memory, before any reader allocates them."""
    with _open_text(path) as fh:
        banner = fh.readline()
        line = fh.readline()
        while line and (line.startswith("%") or not line.strip()):
            line = fh.readline()
    parts = banner.strip().lower().split()
    if len(parts) < 5 or parts[0] != "%%matrixmarket" or parts[1] != "matrix":
        raise PatternError(f"{path!r} is not a Matrix Market file: its first line must be "
                           "'%%MatrixMarket matrix <format> <field> <symmetry>', got "
                           f"{banner.strip()[:60]!r}.")
    fmt, field, symmetry = parts[2:5]
    for value, allowed, what in ((fmt, _MM_FORMATS, "format"), (field, _MM_FIELDS, "field"),
                                 (symmetry, _MM_SYMMETRIES, "symmetry")):
        if value not in allowed:
            raise PatternError(f"{path!r}: unknown Matrix Market {what} {value!r} in its first "
                               f"line; expected one of {', '.join(allowed)}.")
    want = 3 if fmt == "coordinate" else 2
    try:
        sizes = [int(t) for t in line.split()[:want]]
    except ValueError:
        sizes = []
    if len(sizes) != want or min(sizes) < 0:
        what = "rows columns entries" if want == 3 else "rows columns"
        raise PatternError(f"{path!r}: the size line must hold {want} non-negative integers "
                           f"({what}), got {line.strip()[:60]!r}.")
    m, n = sizes[:2]
    if symmetry != "general" and m != n:
        raise PatternError(f"{path!r} declares a {symmetry} matrix of shape {m} x {n}; a "
                           f"{symmetry} matrix must be square. Fix the header (e.g. 'general').")
    nnz = sizes[2] if fmt == "coordinate" else m * n
    check_size((m, n), 2 * nnz if symmetry != "general" else nnz,
               f"the matrix declared in {os.path.basename(path)}")
    return fmt


def _read_mtx_lenient(path) -> sp.coo_array:
    """Matrix Market coordinate reader that tolerates entries without a value."""
    with _open_text(path) as fh:
        header = fh.readline().strip().lower().split()
        if len(header) < 5 or header[0] != "%%matrixmarket" or header[2] != "coordinate":
            raise PatternError(f"{path!r} is not a Matrix Market coordinate file, and scipy's "
                               "reader refused it.")
        symmetry = header[4]
        line = fh.readline()
        while line.startswith("%") or not line.strip():
            line = fh.readline()
        m, n, nnz = (int(t) for t in line.split()[:3])
        body = fh.read().split("\n")
    rows = np.empty(nnz, dtype=np.int64)
    cols = np.empty(nnz, dtype=np.int64)
    vals = np.ones(nnz, dtype=np.float64)
    k = 0
    for text in body:
        parts = text.split()
        if not parts or parts[0].startswith("%"):
            continue
        if k >= nnz:
            raise PatternError(f"{path!r} holds more entries than its header's {nnz}.")
        rows[k] = int(parts[0]) - 1
        cols[k] = int(parts[1]) - 1
        if len(parts) > 2:
            vals[k] = float(parts[2])
        k += 1
    if k != nnz:
        raise PatternError(f"{path!r} holds {k} entries, its header says {nnz}.")
    for idx, size, what in ((rows, m, "row"), (cols, n, "column")):
        bad = np.flatnonzero((idx < 0) | (idx >= size))
        if bad.size:
            raise PatternError(f"{path!r}: entry {bad[0] + 1} has {what} index "
                               f"{idx[bad[0]] + 1}, outside 1..{size} (Matrix Market indices "
                               "are 1-based).")
    if symmetry in ("symmetric", "skew-symmetric", "hermitian"):
        off = rows != cols
        rows, cols, vals = (np.concatenate([rows, cols[off]]),
                            np.concatenate([cols, rows[off]]),
                            np.concatenate([vals, vals[off]]))
    return sp.coo_array((vals, (rows, cols)), shape=(m, n))
