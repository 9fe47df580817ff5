"""Graph views of a sparsity pattern as plain int64 CSR arrays.

Fed by a canonical boolean ``csr_array`` (see ``sparsead._validation``):

* :func:`bipartite` -- the bipartite graph of an ``m x n`` pattern, as the row
  view (rows -> columns, CSR) and the column view (columns -> rows, CSC);
* :func:`adjacency` -- the adjacency graph of a symmetric pattern, diagonal
  removed, with the id shared by both stored copies of every edge;
* :func:`augmented` -- the symmetric pattern ``[[0, A.T], [A, 0]]`` of a
  bidirectional problem (columns are vertices ``0..n-1``, rows ``n..n+m-1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._validation import as_index_array


def row_ids(indptr: np.ndarray) -> np.ndarray:
    """Row index of every stored entry of a CSR structure."""
    n = indptr.size - 1
    return np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))


def mirror_positions(indptr: np.ndarray, indices: np.ndarray, n: int) -> np.ndarray:
    """For a structurally symmetric sorted CSR, the position of (j, i) for each (i, j)."""
    nnz = indices.size
    k = sp.csr_array((np.arange(1, nnz + 1, dtype=np.int64), indices, indptr), shape=(n, n))
    t = sp.csr_array(k.T)
    t.sort_indices()
    return np.ascontiguousarray(t.data - 1, dtype=np.int64)


@dataclass
class Bipartite:
    """Row view (``row_ptr``/``row_idx``) and column view (``col_ptr``/``col_idx``)."""
    m: int
    n: int
    row_ptr: np.ndarray
    row_idx: np.ndarray
    col_ptr: np.ndarray
    col_idx: np.ndarray


def bipartite(p: sp.csr_array) -> Bipartite:
    csc = sp.csc_array(p)
    csc.sort_indices()
    return Bipartite(p.shape[0], p.shape[1], as_index_array(p.indptr), as_index_array(p.indices),
                     as_index_array(csc.indptr), as_index_array(csc.indices))


@dataclass
class Adjacency:
    """Adjacency graph (no self loops) of a symmetric pattern.

    ``eid[q]`` is the smaller of the two positions holding an edge;
    ``pattern_pos[q]`` the position of entry ``q`` in the original pattern.
    """
    n: int
    ptr: np.ndarray
    idx: np.ndarray
    eid: np.ndarray
    pattern_pos: np.ndarray


def adjacency(p: sp.csr_array) -> Adjacency:
    n = p.shape[0]
    ptr = as_index_array(p.indptr)
    idx = as_index_array(p.indices)
    rows = row_ids(ptr)
    keep = idx != rows
    pos = np.flatnonzero(keep).astype(np.int64)
    counts = np.bincount(rows[keep], minlength=n)
    aptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=aptr[1:])
    aidx = np.ascontiguousarray(idx[keep])
    mirror = mirror_positions(aptr, aidx, n)
    eid = np.minimum(np.arange(aidx.size, dtype=np.int64), mirror)
    return Adjacency(n, aptr, aidx, eid, pos)


def augmented(p: sp.csr_array):
    """The pattern ``[[0, A.T], [A, 0]]``, per stored entry the position in ``A``, its graph.

    Returns ``(h, apos, adj)`` where ``apos[q] >= 0`` for entries of the lower
    block ``A`` and ``apos[q] = -(t + 1)`` for the mirror of ``A``'s entry ``t``,
    and ``adj`` is the :class:`Adjacency` of ``h`` (no diagonal). Built in
    O(nnz) from ``A`` and its CSC view: the first ``n`` rows of ``h`` are the
    columns of ``A`` (row numbers shifted by ``n``), the last ``m`` its rows;
    both views are sorted, so ``h`` is too, and the mirror of the ``t``-th
    entry of ``A`` (at ``nnz + t``) is where the CSC view stores it.
    """
    m, n = p.shape
    nnz = p.nnz
    ptr = as_index_array(p.indptr)
    t = np.arange(nnz, dtype=np.int64)
    csc = sp.csr_array((t, as_index_array(p.indices), ptr), shape=(m, n)).tocsc()
    csc.sort_indices()
    upper = as_index_array(csc.data)                 # A position of each upper-block entry
    hptr = np.concatenate([as_index_array(csc.indptr), nnz + ptr[1:]])
    hidx = np.concatenate([as_index_array(csc.indices) + n, as_index_array(p.indices)])
    apos = np.concatenate([-(upper + 1), t])
    hb = sp.csr_array((np.ones(2 * nnz, dtype=bool), hidx, hptr), shape=(n + m, n + m))
    hb.has_sorted_indices = True
    where = np.empty(nnz, dtype=np.int64)
    where[upper] = t                                 # upper position of A's entry t
    eid = np.concatenate([t, where])                 # the upper copy has the smaller position
    adj = Adjacency(n + m, hptr, hidx, eid, np.arange(2 * nnz, dtype=np.int64))
    return hb, apos, adj


def intersection_graph(p: sp.csr_array, side: str) -> sp.csr_array:
    """Boolean adjacency of the column (``side='column'``) or row intersection graph."""
    a = sp.csr_array(p, dtype=np.int64)
    g = a.T @ a if side == "column" else a @ a.T
    g = sp.csr_array(g, dtype=bool)
    g.setdiag(False)
    g.eliminate_zeros()
    g.sort_indices()
    return g
