"""Numba kernels of the index-set interpreter (``sparsead/sparsity.py``).

Index sets of a whole array are stored as a CSR-like pair ``(indptr, indices)``:
row ``i`` lists the inputs that element ``i`` may depend on. A primitive's
local Jacobian pattern is stored the same way. The only product the
interpreter needs is the boolean matrix product ``L @ S`` (rows of ``S``
selected and united by the rows of ``L``); :func:`compose` computes it with a
marker array, so every output row holds each column once (rows are not
sorted). All arrays are ``int64``; nothing is validated here.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def compose(l_indptr, l_indices, s_indptr, s_indices, n_cols, bound):
    """Boolean product pattern ``[L_0 | L_1 | ...] @ S`` as ``(indptr, indices)``.

    ``l_indptr`` is 2-D, one row of row pointers per block ``L_k`` (all
    pointing into the shared ``l_indices``, whose entries are row numbers of
    ``S``). ``bound`` must be at least the number of (row, column) visits,
    ``sum(diff(s_indptr)[l_indices])``; the result is trimmed to its size.
    """
    n_blocks = l_indptr.shape[0]
    n_rows = l_indptr.shape[1] - 1
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    indices = np.empty(bound, dtype=np.int64)
    mark = np.full(n_cols, -1, dtype=np.int64)
    pos = 0
    for i in range(n_rows):
        for blk in range(n_blocks):
            for a in range(l_indptr[blk, i], l_indptr[blk, i + 1]):
                k = l_indices[a]
                for b in range(s_indptr[k], s_indptr[k + 1]):
                    j = s_indices[b]
                    if mark[j] != i:
                        mark[j] = i
                        indices[pos] = j
                        pos += 1
        indptr[i + 1] = pos
    return indptr, indices[:pos].copy()



@njit(cache=True)
def union2(p1, i1, p2, i2, n_cols):
    """Row-wise union of two index-set structures over the same rows (``L = [I | I]``).

    What :func:`compose` computes for two identity blocks, without building them
    (elementwise binary ops on same-shaped arrays, the most common product).
    """
    n_rows = p1.size - 1
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    indices = np.empty(i1.size + i2.size, dtype=np.int64)
    mark = np.full(n_cols, -1, dtype=np.int64)
    pos = 0
    for i in range(n_rows):
        for b in range(p1[i], p1[i + 1]):
            j = i1[b]
            mark[j] = i
            indices[pos] = j
            pos += 1
        for b in range(p2[i], p2[i + 1]):
            j = i2[b]
            if mark[j] != i:
                indices[pos] = j
                pos += 1
        indptr[i + 1] = pos
    return indptr, indices[:pos].copy()


@njit(cache=True)
def gather(rows, s_indptr, s_indices):
    """Index sets of output element ``i``: row ``rows[i]`` of ``S`` (none where it is < 0).

    What :func:`compose` computes for one block with at most one entry per row (slicing,
    indexing, broadcasting, concatenation), with no marker pass.
    """
    n_rows = rows.size
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for i in range(n_rows):
        k = rows[i]
        indptr[i + 1] = indptr[i] + (s_indptr[k + 1] - s_indptr[k] if k >= 0 else 0)
    indices = np.empty(indptr[n_rows], dtype=np.int64)
    for i in range(n_rows):
        k = rows[i]
        if k >= 0:
            start = s_indptr[k]
            for b in range(s_indptr[k + 1] - start):
                indices[indptr[i] + b] = s_indices[start + b]
    return indptr, indices
