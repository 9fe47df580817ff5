"""Numba kernels of the coloring engine: greedy, star and acyclic colorings.

Every kernel takes plain C-contiguous int64 arrays (CSR/CSC ``indptr`` and
``indices``) and validates nothing; ``sparsead.coloring`` builds the arrays and
checks the input. Neighbourhoods are described by two index structures and a
``mode``:

* ``mode == 0``: the neighbours of ``v`` are ``idx_a[ptr_a[v]:ptr_a[v+1]]``
  (distance-1 in an adjacency graph);
* ``mode == 1``: two hops, ``a`` then ``b`` (distance-2 in a bipartite graph:
  ``a`` maps columns to rows and ``b`` rows to columns, or the reverse);
* ``mode == 2``: one or two hops in ``a`` (distance-2 in an adjacency graph;
  ``b`` is ``a``).

Vertex ``v`` itself is never its own neighbour.
"""

import numpy as np
from numba import njit

#: Index casts: numba wraps negative indices around, a check on every access that
#: keeps LLVM from optimizing index-heavy loops (about 3x on the distance-2 greedy).
#: Indices that cannot be negative are cast to unsigned where the loop is hot.
_U = np.uint64

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "star_color": (
        "one Numba kernel: the greedy star coloring (Gebremedhin et al. 2007, Alg. 4.1) "
        "with its forbidden-color and two-colored-path bookkeeping in one compiled loop "
        "nest; jitted helpers would be called per edge"
    ),
    "acyclic_color": (
        "one Numba kernel: acyclic coloring with its union-find of two-colored trees "
        "(Alg. 3.1) in one compiled loop nest; jitted helpers would be called per edge"
    ),
}
_U1 = np.uint64(1)

# ---------------------------------------------------------------- greedy


@njit(cache=True)
def greedy_color(ptr_a, idx_a, ptr_b, idx_b, mode, order, n, width):
    """First-fit greedy coloring of the ``n`` vertices in ``order`` (distance by ``mode``).

    ``width`` bounds the colors (a vertex's color is at most its number of
    neighbours, so the largest degree plus one will do), which sizes the
    forbidden marks: O(degree), not O(n), scratch per call.

    Takes the graph as int32 arrays (``nnz < 2**31``, see
    :func:`sparsead.coloring.greedy.build_graph`) and keeps the colors and the
    forbidden marks in int32, as ColPack does: the neighbours' colors are read
    in random order, and half the bytes keep them in cache (the distance-2
    coloring of a randomly permuted band, n = 2e5, went from 1.7x ColPack's time
    to 1.2x). One loop nest per mode, the mode tested outside the edge loops.
    """
    colors = np.full(n, -1, dtype=np.int32)
    forbidden = np.full(width + 1, -1, dtype=np.int32)
    for k in range(order.size):
        v = order[_U(k)]
        if mode == 0:
            for p in range(ptr_a[_U(v)], ptr_a[_U(v) + _U1]):
                c = colors[_U(idx_a[_U(p)])]
                if c >= 0:
                    forbidden[_U(c)] = v
        else:
            for p in range(ptr_a[_U(v)], ptr_a[_U(v) + _U1]):
                e = _U(idx_a[_U(p)])
                if mode == 2:
                    c = colors[e]
                    if c >= 0:
                        forbidden[_U(c)] = v
                for q in range(ptr_b[e], ptr_b[e + _U1]):
                    c = colors[_U(idx_b[_U(q)])]
                    if c >= 0:
                        forbidden[_U(c)] = v
        c = 0
        while forbidden[_U(c)] == v:
            c += 1
        colors[_U(v)] = c
    return colors.astype(np.int64)


# ---------------------------------------------------------------- star


@njit(cache=True, inline="always")
def _forbid_around_uncolored(ptr, idx, colors, forbidden, v, w):
    """Forbid for ``v`` the colors of the colored neighbours of the uncolored vertex ``w``."""
    for q in range(ptr[_U(w)], ptr[_U(w) + _U1]):
        x = idx[_U(q)]
        if x != v and colors[_U(x)] >= 0:
            forbidden[_U(colors[_U(x)])] = v


@njit(cache=True)
def star_color(ptr, idx, order, bipartite, neutral):
    """Greedy star coloring with star-set bookkeeping (Gebremedhin et al. 2007, Alg. 4.1).

    Every two-colored connected subgraph is kept as a star with a known hub
    (``hub[s] == -1`` while a star is a single edge). Each vertex keeps a list
    of the stars it belongs to, tagged with the color of its partners in that
    star, so a high-degree hub is never rescanned: the work per vertex is the
    number of stars of its neighbours, not their degrees.

    Bicoloring (``bipartite``): the graph is bipartite (the augmented graph
    of a matrix); each side has its own palette, so adjacent
    vertices need not differ and the colors compared are always those of one
    side. Vertices with ``neutral[v]`` stay uncolored (``-1``, in no seed).
    As in ColPack's implicit-covering star bicoloring, a vertex not colored
    (yet) is treated as neutral: its colored neighbours get pairwise distinct
    colors, so that each entry next to a neutral vertex is read alone from
    the other side (and the greedy does not pack colors that a later hub would
    have to pay for).
    """
    n = ptr.size - 1
    nnz = idx.size
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    # per-color scratch for the vertex being colored
    seen_v = np.full(n + 1, -1, dtype=np.int64)   # color d seen at v (stamp v)
    seen_cnt = np.zeros(n + 1, dtype=np.int64)
    hubstar_v = np.full(n + 1, -1, dtype=np.int64)  # star of hub v with spokes of color d
    hubstar = np.full(n + 1, -1, dtype=np.int64)
    # stars
    cap = nnz + 1
    hub = np.full(cap, -1, dtype=np.int64)
    n_stars = 0
    # incidence lists: vertex -> (star, color of the other side)
    inc_head = np.full(n, -1, dtype=np.int64)
    inc_next = np.empty(cap, dtype=np.int64)
    inc_star = np.empty(cap, dtype=np.int64)
    inc_col = np.empty(cap, dtype=np.int64)
    n_inc = 0
    for k in range(order.size):
        v = order[k]
        if neutral[_U(v)]:
            continue
        # distance-1 colors, and which colors occur twice around v
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            d = colors[_U(w)]
            if d < 0:
                if bipartite:
                    _forbid_around_uncolored(ptr, idx, colors, forbidden, v, w)
                continue
            if not bipartite:
                forbidden[d] = v
            if seen_v[d] != v:
                seen_v[d] = v
                seen_cnt[d] = 1
            else:
                seen_cnt[d] += 1
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            d = colors[_U(w)]
            if d < 0:
                continue
            t = inc_head[w]
            if seen_cnt[d] > 1:
                # v becomes a hub with spoke w: no color of w's partners for v
                while t != -1:
                    forbidden[inc_col[t]] = v
                    t = inc_next[t]
            else:
                # w may not be a spoke of a star whose hub gets v's color
                while t != -1:
                    h = hub[inc_star[t]]
                    if h != -1 and h != w:
                        forbidden[inc_col[t]] = v
                    t = inc_next[t]
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        # update the stars
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            d = colors[_U(w)]
            if d < 0:
                continue
            if seen_cnt[d] > 1:
                if hubstar_v[d] != v:
                    hubstar_v[d] = v
                    s = n_stars
                    n_stars += 1
                    hub[s] = v
                    hubstar[d] = s
                    inc_star[n_inc] = s
                    inc_col[n_inc] = d
                    inc_next[n_inc] = inc_head[v]
                    inc_head[v] = n_inc
                    n_inc += 1
                s = hubstar[d]
                inc_star[n_inc] = s
                inc_col[n_inc] = c
                inc_next[n_inc] = inc_head[w]
                inc_head[w] = n_inc
                n_inc += 1
            else:
                s = -1
                t = inc_head[w]
                while t != -1:
                    if inc_col[t] == c:
                        s = inc_star[t]
                        break
                    t = inc_next[t]
                if s != -1:
                    hub[s] = w
                else:
                    s = n_stars
                    n_stars += 1
                    hub[s] = -1
                    inc_star[n_inc] = s
                    inc_col[n_inc] = c
                    inc_next[n_inc] = inc_head[w]
                    inc_head[w] = n_inc
                    n_inc += 1
                inc_star[n_inc] = s
                inc_col[n_inc] = d
                inc_next[n_inc] = inc_head[v]
                inc_head[v] = n_inc
                n_inc += 1
    return colors


# ---------------------------------------------------------------- acyclic


@njit(cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def _union(parent, rank, a, b):
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra == rb:
        return
    if rank[ra] < rank[rb]:
        parent[ra] = rb
    elif rank[ra] > rank[rb]:
        parent[rb] = ra
    else:
        parent[rb] = ra
        rank[ra] += 1


@njit(cache=True)
def acyclic_color(ptr, idx, eid, order, bipartite, neutral):
    """Greedy acyclic coloring with a disjoint-set forest of two-colored trees.

    Gebremedhin, Tarafdar, Manne & Pothen (2007), Algorithm 3.1. ``eid[p]`` is
    the id (a CSR position) shared by the two stored copies of each edge.
    Returns the colors and, for every edge id, the root of its two-colored tree
    (``-1`` at positions that are not edge ids). ``bipartite`` and ``neutral`` as
    in :func:`star_color`; an edge next to a neutral vertex is a tree of its own.

    All edges from a vertex ``w`` to neighbours of one color lie in one tree,
    so each vertex keeps a list with one edge per color around it; the work
    for ``v`` is the number of colors around its neighbours, not their
    degrees (a hub next to every vertex is not rescanned).
    """
    n = ptr.size - 1
    nnz = idx.size
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    first_v = np.full(nnz, -1, dtype=np.int64)
    first_w = np.full(nnz, -1, dtype=np.int64)
    parent = np.arange(nnz, dtype=np.int64)
    rank = np.zeros(nnz, dtype=np.int64)
    nb_v = np.full(n + 1, -1, dtype=np.int64)
    nb_e = np.full(n + 1, -1, dtype=np.int64)
    # per vertex: (color of a colored neighbour, one edge to it), one entry per color
    head = np.full(n, -1, dtype=np.int64)
    nxt = np.empty(nnz + 1, dtype=np.int64)
    lcol = np.empty(nnz + 1, dtype=np.int64)
    ledge = np.empty(nnz + 1, dtype=np.int64)
    n_l = 0
    for k in range(order.size):
        v = order[k]
        if neutral[_U(v)]:
            continue
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            if colors[w] < 0:
                if bipartite:
                    _forbid_around_uncolored(ptr, idx, colors, forbidden, v, w)
            elif not bipartite:
                forbidden[colors[w]] = v
        # prevent two-colored cycles: v must not join one tree through two neighbours
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            if colors[w] < 0:
                continue
            t = head[w]
            while t != -1:
                cx = lcol[t]
                if forbidden[cx] != v:
                    r = _find(parent, ledge[t])
                    if first_v[r] != v:
                        first_v[r] = v
                        first_w[r] = w
                    elif first_w[r] != w:
                        forbidden[cx] = v
                t = nxt[t]
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        # grow and merge the trees
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            d = colors[_U(w)]
            if d < 0:
                continue
            e = eid[p]
            if nb_v[d] == v:
                _union(parent, rank, e, nb_e[d])
            else:
                nb_v[d] = v
                nb_e[d] = e
                lcol[n_l] = d
                ledge[n_l] = e
                nxt[n_l] = head[v]
                head[v] = n_l
                n_l += 1
            t = head[w]
            while t != -1 and lcol[t] != c:
                t = nxt[t]
            if t != -1:
                _union(parent, rank, e, ledge[t])
            else:
                lcol[n_l] = c
                ledge[n_l] = e
                nxt[n_l] = head[w]
                head[w] = n_l
                n_l += 1
    root = np.full(nnz, -1, dtype=np.int64)
    for p in range(nnz):
        if eid[p] == p:
            root[p] = _find(parent, p)
    return colors, root


# ---------------------------------------------------------------- bicoloring


@njit(cache=True)
def implicit_cover(ptr, idx, order):
    """Vertices left out of the cover when the vertices are taken in ``order``.

    A vertex is left out (``True``) when all its neighbours came before it and
    are in the cover; every edge then has an endpoint in the cover. With a
    largest-first ``order``, dense rows and columns are covered and the rows
    (columns) they leave behind are not.
    """
    n = ptr.size - 1
    out = np.zeros(n, dtype=np.bool_)
    seen = np.zeros(n, dtype=np.bool_)
    for k in range(order.size):
        v = order[k]
        left = True
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            if not seen[w] or out[w]:
                left = False
                break
        out[v] = left
        seen[v] = True
    return out


@njit(cache=True)
def read_colors(ptr, idx, raw, n):
    """``(read, used)`` of a bicoloring's raw colors (columns ``< n``, rows ``>= n``).

    ``read``: the distinct colors, counted per side, of the vertices next to a
    neutral one (``raw < 0``); ``used``: the distinct colors per side, summed.
    """
    nv = ptr.size - 1
    seen_read = np.zeros((2, nv + 1), dtype=np.bool_)
    seen_used = np.zeros((2, nv + 1), dtype=np.bool_)
    read = 0
    used = 0
    for v in range(nv):
        c = raw[v]
        if c >= 0:
            side = 1 if v >= n else 0
            if not seen_used[side, c]:
                seen_used[side, c] = True
                used += 1
            continue
        for p in range(ptr[_U(v)], ptr[_U(v) + _U1]):
            w = idx[_U(p)]
            d = raw[_U(w)]
            if d >= 0:
                side = 1 if w >= n else 0
                if not seen_read[side, d]:
                    seen_read[side, d] = True
                    read += 1
    return read, used
