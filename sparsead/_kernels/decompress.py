"""Numba kernels that build decompression plans and run them.

A plan is a handful of int64 arrays computed once per coloring; running it is a
gather (direct decompression) followed, for acyclic colorings, by a
substitution sweep over the two-colored trees; :func:`gather` is the direct
plan's fast path (no output map, 32-bit sources, ranges for threads);
:func:`finish_in_place` is what remains of a plan once fused lane kernels
have written the block cells into ``data`` itself. Compressed matrices are read
through their flattened C-order views: a source index ``s >= 0`` reads
``b1[s]`` and ``s < 0`` reads ``b2[-s - 1]`` (bidirectional colorings have a
JVP block and a VJP block). Nothing here validates its input.
"""

import numpy as np
from numba import njit

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "direct_reads": (
        "one Numba kernel: for every stored entry, the row whose color reads it alone, "
        "checked over the neighbourhood in one compiled loop nest"
    ),
}


@njit(cache=True)
def run_plan(b1, b2, g_out, g_src, s_out, s_src, s_ptr, s_sub, c_dst, c_src, out):
    """Fill ``out`` (the ``data`` of a CSR matrix) from compressed ``b1``/``b2``."""
    for k in range(g_out.size):
        s = g_src[k]
        if s >= 0:
            out[g_out[k]] = b1[s]
        else:
            out[g_out[k]] = b2[-s - 1]
    for k in range(s_out.size):
        s = s_src[k]
        if s >= 0:
            val = b1[s]
        else:
            val = b2[-s - 1]
        for q in range(s_ptr[k], s_ptr[k + 1]):
            val -= out[s_sub[q]]
        out[s_out[k]] = val
    for k in range(c_dst.size):
        out[c_dst[k]] = out[c_src[k]]


@njit(cache=True, nogil=True)
def gather(b, src, out, lo, hi):
    """``out[k] = b[src[k]]`` for ``lo <= k < hi``: direct decompression into ``J.data``.

    ``src`` (int32 when the compressed block allows, else int64) is a plan's
    gather with its output positions ``0..nnz-1`` in order, so no output map is
    read. Releases the GIL: disjoint ranges run in threads and the result does
    not depend on how the range is split.
    """
    for k in range(lo, hi):
        out[k] = b[src[k]]


@njit(cache=True, nogil=True)
def copy_within(data, dst, src):
    """``data[dst[k]] = data[src[k]]``: entries that read the same compressed cell."""
    for k in range(dst.size):
        data[dst[k]] = data[src[k]]


@njit(cache=True, nogil=True)
def finish_in_place(data, extra, e_dst, d_dst, d_src, s_out, s_mir, s_ptr, s_sub, c_dst, c_src):
    """The rest of a fused plan, in ``data`` where the lane kernels wrote the block cells.

    First the cells a second kernel wrote into ``extra`` (``data[e_dst[k]] = extra[k]``),
    then the copies of cells read at several positions (``d_*``), then the
    substitution steps in order (a step's position holds its cell's value:
    subtract the already-solved entries ``s_sub``; the result also goes to the
    mirror position ``s_mir`` when there is one, ``>= 0``), then the remaining
    copies (``c_*``). The arithmetic is :func:`run_plan`'s, in the same order.
    """
    for k in range(e_dst.size):
        data[e_dst[k]] = extra[k]
    for k in range(d_dst.size):
        data[d_dst[k]] = data[d_src[k]]
    for k in range(s_out.size):
        t = s_out[k]
        val = data[t]
        for q in range(s_ptr[k], s_ptr[k + 1]):
            val -= data[s_sub[q]]
        data[t] = val
        if s_mir[k] >= 0:
            data[s_mir[k]] = val
    for k in range(c_dst.size):
        data[c_dst[k]] = data[c_src[k]]


@njit(cache=True)
def direct_reads(ptr, idx, mirror, colors, read_row, read_col):
    """Choose where each stored entry of a symmetric pattern is read in ``B = H S``.

    ``mirror[p]`` is the position of ``(j, i)`` for the entry ``(i, j)`` at ``p``.
    Entry ``(i, j)`` can be read at ``B[i, colors[j]]`` when ``j`` is the only
    neighbour of ``i`` with that color, or at ``B[j, colors[i]]``; a diagonal
    entry at ``B[i, colors[i]]``. Vertices with color ``-1`` are in no seed
    column. Both stored copies of an edge get the same read. Forced reads are
    taken first, then reads whose color is already needed, so that
    post-processing can drop the colors nobody reads. Returns False if some
    entry has no valid read (the coloring does not allow direct decompression).
    """
    n = ptr.size - 1
    nnz = idx.size
    nc = 1
    for v in range(n):
        if colors[v] + 1 > nc:
            nc = colors[v] + 1
    stamp = np.full(nc, -1, dtype=np.int64)
    cnt = np.zeros(nc, dtype=np.int64)
    ok1 = np.zeros(nnz, dtype=np.bool_)   # readable at (i, c(j))
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            c = colors[idx[p]]
            if idx[p] == i or c < 0:
                continue
            if stamp[c] != i:
                stamp[c] = i
                cnt[c] = 1
            else:
                cnt[c] += 1
        for p in range(ptr[i], ptr[i + 1]):
            c = colors[idx[p]]
            if idx[p] != i and c >= 0 and cnt[c] == 1:
                ok1[p] = True
    needed = np.zeros(nc, dtype=np.bool_)
    # choice for upper positions: 1 -> (i, c(j)), 2 -> (j, c(i)), 3 -> diagonal
    choice = np.zeros(nnz, dtype=np.int64)
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            if j == i:
                if colors[i] < 0:
                    return False
                choice[p] = 3
                needed[colors[i]] = True
            elif j > i:
                a = ok1[p]
                b = ok1[mirror[p]]
                if a and not b:
                    choice[p] = 1
                    needed[colors[j]] = True
                elif b and not a:
                    choice[p] = 2
                    needed[colors[i]] = True
                elif not a and not b:
                    return False
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            if j > i and choice[p] == 0:
                if needed[colors[j]]:
                    choice[p] = 1
                elif needed[colors[i]]:
                    choice[p] = 2
                else:
                    choice[p] = 1
                    needed[colors[j]] = True
    for i in range(n):
        for p in range(ptr[i], ptr[i + 1]):
            j = idx[p]
            if j < i:
                continue
            if choice[p] == 1:
                r = i
                c = colors[j]
            elif choice[p] == 2:
                r = j
                c = colors[i]
            else:
                r = i
                c = colors[i]
            read_row[p] = r
            read_col[p] = c
            if j > i:
                read_row[mirror[p]] = r
                read_col[mirror[p]] = c
    return True


@njit(cache=True)
def tree_substitution(ptr, idx, edge_u, edge_v, tree_ptr, colors,
                      step_edge, step_row, step_col, sub_ptr, sub_edge):
    """Leaf-elimination schedule over the two-colored trees of an acyclic coloring.

    Edges ``k`` (endpoints ``edge_u[k]``, ``edge_v[k]``) are grouped by tree:
    tree ``t`` holds edges ``tree_ptr[t]:tree_ptr[t+1]``. For each edge the
    schedule records the leaf ``step_row`` that reads ``B[leaf, step_col]``
    and the already-solved edges (``sub_edge``) to subtract.
    """
    n = colors.size
    n_edges = edge_u.size
    tdeg = np.zeros(n, dtype=np.int64)
    inc_head = np.full(n, -1, dtype=np.int64)
    inc_next = np.empty(2 * n_edges + 1, dtype=np.int64)
    inc_edge = np.empty(2 * n_edges + 1, dtype=np.int64)
    solved = np.zeros(n_edges, dtype=np.bool_)
    queue = np.empty(2 * n_edges + 1, dtype=np.int64)
    n_steps = 0
    n_sub = 0
    sub_ptr[0] = 0
    for t in range(tree_ptr.size - 1):
        a = tree_ptr[t]
        b = tree_ptr[t + 1]
        m = 0
        for k in range(a, b):
            for x in (edge_u[k], edge_v[k]):
                tdeg[x] += 1
                inc_edge[m] = k
                inc_next[m] = inc_head[x]
                inc_head[x] = m
                m += 1
        qh = 0
        qt = 0
        for k in range(a, b):
            for x in (edge_u[k], edge_v[k]):
                if tdeg[x] == 1:
                    queue[qt] = x
                    qt += 1
        while qh < qt:
            x = queue[qh]
            qh += 1
            if tdeg[x] != 1:
                continue
            # the one unsolved edge of leaf x
            e = -1
            r = inc_head[x]
            while r != -1:
                if not solved[inc_edge[r]]:
                    e = inc_edge[r]
                    break
                r = inc_next[r]
            y = edge_v[e] if edge_u[e] == x else edge_u[e]
            step_edge[n_steps] = e
            step_row[n_steps] = x
            step_col[n_steps] = colors[y]
            r = inc_head[x]
            while r != -1:
                f = inc_edge[r]
                if solved[f]:
                    sub_edge[n_sub] = f
                    n_sub += 1
                r = inc_next[r]
            n_steps += 1
            sub_ptr[n_steps] = n_sub
            solved[e] = True
            tdeg[x] = 0
            tdeg[y] -= 1
            if tdeg[y] == 1:
                queue[qt] = y
                qt += 1
        for k in range(a, b):
            tdeg[edge_u[k]] = 0
            tdeg[edge_v[k]] = 0
            inc_head[edge_u[k]] = -1
            inc_head[edge_v[k]] = -1
    return n_steps, n_sub
