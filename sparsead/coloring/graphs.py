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
    """The pattern ``[[0, A.T], [A, 0]]`` and, per stored entry, the position in ``A``.

    Returns ``(h, apos)`` where ``apos[q] >= 0`` for entries of the lower block
    ``A`` and ``apos[q] = -(t + 1)`` for the mirror of ``A``'s entry ``t``.
    """
    m, n = p.shape
    rows = row_ids(as_index_array(p.indptr))
    cols = as_index_array(p.indices)
    t = np.arange(p.nnz, dtype=np.int64)
    r = np.concatenate([n + rows, cols])
    c = np.concatenate([cols, n + rows])
    code = np.concatenate([t + 1, -(t + 1)])
    h = sp.csr_array(sp.coo_array((code, (r, c)), shape=(n + m, n + m)))
    h.sort_indices()
    apos = np.where(h.data > 0, h.data - 1, h.data).astype(np.int64)
    hb = sp.csr_array((np.ones(h.nnz, dtype=bool), as_index_array(h.indices),
                       as_index_array(h.indptr)), shape=h.shape)
    return hb, apos


def intersection_graph(p: sp.csr_array, side: str) -> sp.csr_array:
    """Boolean adjacency of the column (``side='column'``) or row intersection graph."""
    a = sp.csr_array(p, dtype=np.int64)
    g = a.T @ a if side == "column" else a @ a.T
    g = sp.csr_array(g, dtype=bool)
    g.setdiag(False)
    g.eliminate_zeros()
    g.sort_indices()
    return g
