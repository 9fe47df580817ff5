"""ColPack's conventions in one place: its problem and order names, and its reference tables.

Shared by the CLI (``sparsead bench --reference``) and
``benchmarks/bench_coloring.py`` (which also drives ColPack itself): the name
maps both ways, the short order labels of the tables, how the driver sees a
file (:func:`colpack_pattern`: which stored zeros count, ``A + A.T`` for the
adjacency problems), and :func:`read_reference`, which reads the color counts
ColPack's driver prints
(``matrix,problem,ordering,colors,distinct_colors,wall_seconds,n_vertices``)
and :func:`reference_count`, the one of them ours is compared with.
"""

from __future__ import annotations

import csv

import numpy as np
import scipy.sparse as sp

from .._errors import SparseadError
from .greedy import SYMMETRIC_PROBLEMS

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

#: sparsead problem name -> the ColPack algorithm that solves it (one per problem).
TO_COLPACK_PROBLEM = {v: k for k, v in COLPACK_PROBLEMS.items() if k != "STAR_ALG41"}
TO_COLPACK_PROBLEM["bidirectional"] = "IMPLICIT_COVERING__STAR_BICOLORING"
#: sparsead order name -> ColPack ordering name.
TO_COLPACK_ORDER = {v: k for k, v in COLPACK_ORDERS.items()}
#: Short labels of the orders in tables (ColPack's abbreviations).
SHORT_ORDER = {"natural": "NAT", "largest_first": "LF", "smallest_last": "SL",
               "incidence_degree": "ID", "dynamic_largest_first": "DLF",
               "distance2_largest_first": "D2LF", "distance2_smallest_last": "D2SL",
               "distance2_incidence_degree": "D2ID"}


def keeps_zeros(problem, zeros="auto") -> bool:
    """Whether stored zeros are entries: ColPack's driver keeps them for the adjacency
    problems and drops them for the bipartite ones (``zeros="keep"``/``"drop"`` overrides)."""
    if zeros == "auto":
        return problem in SYMMETRIC_PROBLEMS
    return zeros == "keep"


def colpack_pattern(a, problem, zeros="auto"):
    """``(pattern, symmetrized)``: the boolean pattern ColPack's driver colors for ``problem``.

    ``a`` is a canonical ``csr_array`` (sorted, int64 indices, stored zeros kept,
    as :func:`sparsead._io.read_matrix` returns). Column, row and bidirectional
    problems see the pattern of ``a``; the adjacency problems on a square matrix
    see that of ``a + a.T`` (``symmetrized`` tells whether that differs from
    ``a``'s). Stored zeros per :func:`keeps_zeros`.
    """
    if not keeps_zeros(problem, zeros) and a.nnz and not a.data.all():
        a = a.copy()
        a.eliminate_zeros()
    p = sp.csr_array((np.ones(a.nnz, dtype=bool), a.indices, a.indptr), shape=a.shape)
    if problem in SYMMETRIC_PROBLEMS and a.shape[0] == a.shape[1] and (p != p.T).nnz:
        p = sp.csr_array(p + p.T)
        p.sort_indices()
        return p, True
    return p, False


def reference_count(ref, problem=None):
    """The count of a reference row to compare with ours: ColPack's star and acyclic
    colorings report colors no decompression reads, so their *distinct* colors count."""
    problem = ref["problem"] if problem is None else problem
    return ref["distinct_colors"] if problem in ("star", "acyclic") else ref["colors"]


def canonical_colpack_problems():
    """sparsead problem -> the first ColPack algorithm listed for it (the one compared by default)."""
    canonical = {}
    for colpack, ours in COLPACK_PROBLEMS.items():
        canonical.setdefault(ours, colpack)
    return canonical


class TableError(SparseadError, ValueError):
    """A reference table is not in the expected (ColPack driver) format."""


#: Columns a reference table must have (ColPack's driver output).
REFERENCE_COLUMNS = ("matrix", "problem", "ordering", "colors", "distinct_colors",
                     "wall_seconds")


def read_reference(path) -> list[dict]:
    """Read a reference color table (ColPack driver format) into a list of rows.

    Each row is a dict with keys ``matrix``, ``problem`` and ``order`` (sparsead
    names), ``colpack_problem``, ``colpack_order``, ``colors``,
    ``distinct_colors`` (int) and ``seconds`` (float). Rows whose problem or
    ordering sparsead does not know are skipped.

    Raises
    ------
    TableError
        If the file is not such a table (missing columns, a value that is not a
        number), naming the column or the line.
    """
    out = []
    with open(path, newline="", errors="replace") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise TableError(
                f"{path!r} is not a reference table: its first line must name the columns "
                f"{','.join(REFERENCE_COLUMNS)} (ColPack's driver format); missing "
                f"{', '.join(missing)}.")
        for row in reader:
            problem = COLPACK_PROBLEMS.get(row["problem"])
            order = COLPACK_ORDERS.get(row["ordering"])
            if problem is None or order is None:
                continue
            try:
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
            except (TypeError, ValueError):
                raise TableError(
                    f"{path!r}, line {reader.line_num}: colors, distinct_colors and "
                    f"wall_seconds must be numbers, got {row['colors']!r}, "
                    f"{row['distinct_colors']!r}, {row['wall_seconds']!r}.") from None
    return out
