"""Reading patterns and reference tables from files (used by the CLI and benchmarks).

``read_matrix`` reads Matrix Market (``.mtx``, also gzipped) and scipy's
``.npz`` files into a ``csr_array`` that keeps explicitly stored zeros, so the
caller decides how to treat them. ``read_reference`` reads a table of reference
color counts in the format of ColPack's driver output
(``matrix,problem,ordering,colors,distinct_colors,wall_seconds,n_vertices``)
and maps ColPack's names to sparsead's.
"""

from __future__ import annotations

import csv
import gzip
import os

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._errors import PatternError

#: ColPack problem name -> sparsead problem name.
COLPACK_PROBLEMS = {
    "DISTANCE_ONE": "distance1",
    "DISTANCE_TWO": "distance2",
    "STAR": "star",
    "STAR_ALG41": "star",
    "ACYCLIC": "acyclic",
    "COLUMN_PARTIAL_DISTANCE_TWO": "column",
    "ROW_PARTIAL_DISTANCE_TWO": "row",
}

#: ColPack ordering name -> sparsead order name.
COLPACK_ORDERS = {
    "NATURAL": "natural",
    "LARGEST_FIRST": "largest_first",
    "SMALLEST_LAST": "smallest_last",
    "INCIDENCE_DEGREE": "incidence_degree",
    "DYNAMIC_LARGEST_FIRST": "dynamic_largest_first",
    "DISTANCE_TWO_LARGEST_FIRST": "distance2_largest_first",
    "DISTANCE_TWO_SMALLEST_LAST": "distance2_smallest_last",
    "DISTANCE_TWO_INCIDENCE_DEGREE": "distance2_incidence_degree",
}


def read_matrix(path) -> sp.csr_array:
    """Read a sparse matrix from ``.mtx``/``.mtx.gz`` or ``.npz``, keeping stored zeros.

    Symmetric Matrix Market files are expanded to both triangles. Files that
    scipy's reader refuses because an entry lacks its value (a known defect of
    some published files) are read leniently: such entries count as nonzeros.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    PatternError
        If the file cannot be read as a sparse matrix.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    name = path.lower()
    try:
        if name.endswith(".npz"):
            a = sp.load_npz(path)
        else:
            try:
                a = scipy.io.mmread(path)
            except (ValueError, IndexError, TypeError, OverflowError):
                a = _read_mtx_lenient(path)
        a = sp.csr_array(a)
    except PatternError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one clear message
        raise PatternError(f"cannot read {path!r} as a sparse matrix: {exc}") from None
    if a.ndim != 2:
        raise PatternError(f"{path!r} does not hold a 2-D matrix (got ndim={a.ndim}).")
    a.sum_duplicates()
    a.sort_indices()
    return a


def _read_mtx_lenient(path) -> sp.coo_array:
    """Matrix Market coordinate reader that tolerates entries without a value."""
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rt") as fh:
        header = fh.readline().strip().lower().split()
        if len(header) < 5 or header[0] != "%%matrixmarket" or header[2] != "coordinate":
            raise PatternError(f"{path!r} is not a Matrix Market coordinate file.")
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
    if symmetry in ("symmetric", "skew-symmetric", "hermitian"):
        off = rows != cols
        rows, cols, vals = (np.concatenate([rows, cols[off]]),
                            np.concatenate([cols, rows[off]]),
                            np.concatenate([vals, vals[off]]))
    return sp.coo_array((vals, (rows, cols)), shape=(m, n))


def read_reference(path) -> list[dict]:
    """Read a reference color table (ColPack driver format) into a list of rows.

    Each row is a dict with keys ``matrix``, ``problem`` and ``order`` (sparsead
    names), ``colpack_problem``, ``colpack_order``, ``colors``,
    ``distinct_colors`` (int) and ``seconds`` (float). Rows whose problem or
    ordering sparsead does not know are skipped.
    """
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            problem = COLPACK_PROBLEMS.get(row["problem"])
            order = COLPACK_ORDERS.get(row["ordering"])
            if problem is None or order is None:
                continue
            out.append({
                "matrix": row["matrix"],
                "problem": problem,
                "order": order,
                "colpack_problem": row["problem"],
                "colpack_order": row["ordering"],
                "colors": int(row["colors"]),
                "distinct_colors": int(row["distinct_colors"]),
                "seconds": float(row["wall_seconds"]),
            })
    return out
