"""Numba kernels of the vertex orders: neighbourhood degrees and the degree-driven orders.

Every kernel takes plain C-contiguous int64 arrays (CSR/CSC ``indptr`` and
``indices``) and validates nothing; ``sparsead.coloring.orders`` builds the
arrays. Neighbourhoods are described by two index structures and a ``mode``
(see :mod:`sparsead._kernels.coloring`): 0 distance-1 in ``a``; 1 two hops
``a`` then ``b`` (bipartite distance-2); 2 one or two hops in ``a``.

The dynamic orders keep the vertices in degree buckets that behave exactly
like ColPack's ``vector<vector<int>>``: push at the back, take from the back,
remove a vertex by moving the bucket's last vertex into its slot. The buckets
live in one flat pool of slots (each bucket a segment that doubles when full;
the pool is laid out afresh when it runs out), so a degree update costs a
handful of array accesses -- the same tie-breaking as ColPack, about the same
cost per update, and O(vertices + buckets) memory where ColPack's vectors keep
their capacity (O(n^2) on a dense row).
"""

import numpy as np
from numba import njit

#: Unsigned index casts, as in :mod:`sparsead._kernels.coloring` (no wraparound checks).
_U = np.uint64

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "dynamic_order": (
        "one Numba kernel: the bucket queue of the dynamic orders (incidence degree, "
        "dynamic largest first, distance-2 variants) updated in one compiled loop"
    ),
}
_U1 = np.uint64(1)


@njit(cache=True)
def neighbourhood_degrees(ptr_a, idx_a, ptr_b, idx_b, mode, n):
    """Number of distinct neighbours of each of the ``n`` vertices (see module doc)."""
    deg = np.zeros(n, dtype=np.int64)
    mark = np.full(n, -1, dtype=np.int64)
    for v in range(n):
        mark[_U(v)] = v
        d = 0
        for p in range(ptr_a[_U(v)], ptr_a[_U(v) + _U1]):
            e = _U(idx_a[_U(p)])
            if mode != 1:
                if mark[e] != v:
                    mark[e] = v
                    d += 1
            if mode != 0:
                for q in range(ptr_b[e], ptr_b[e + _U1]):
                    w = _U(idx_b[_U(q)])
                    if mark[w] != v:
                        mark[w] = v
                        d += 1
        deg[_U(v)] = d
    return deg


@njit(cache=True)
def largest_first(deg, base):
    """``base`` sorted by descending ``deg``, ties in ``base``'s order (ColPack's stable buckets).

    A counting sort, O(n + largest degree): one pass counts the degrees, one
    places each vertex after the vertices of larger degree.
    """
    n = base.size
    maxd = 0
    for v in range(n):
        if deg[v] > maxd:
            maxd = deg[v]
    start = np.zeros(maxd + 2, dtype=np.int64)
    for v in range(n):
        start[_U(maxd - deg[v] + 1)] += 1
    for d in range(1, maxd + 2):
        start[d] += start[d - 1]
    out = np.empty(n, dtype=np.int64)
    for k in range(n):
        v = base[_U(k)]
        d = _U(maxd - deg[_U(v)])
        out[_U(start[d])] = v
        start[d] += 1
    return out


# ---------------------------------------------------------------- buckets


@njit(cache=True)
def _grow(pool, scratch, bstart, bsize, bcap, top, d):
    """Make room for one more vertex in bucket ``d``; returns the new end of the used pool.

    The bucket moves to the end of the pool with twice its capacity. When the
    pool is full, every bucket is laid out afresh (capacity ``2 * size + 2``,
    bucket ``d`` at least twice its old capacity) through ``scratch``. The
    pool array itself never changes, so the caller's loop keeps it in place
    (reassigning it there costs more than all the copying).
    """
    newcap = max(4, 2 * bcap[d])
    if top + newcap <= pool.size:
        s = bstart[d]
        for k in range(bsize[d]):
            pool[top + k] = pool[s + k]
        bstart[d] = top
        bcap[d] = newcap
        return top + newcap
    t = 0
    for b in range(bsize.size):
        c = 2 * bsize[b] + 2
        if b == d and c < newcap:
            c = newcap
        s = bstart[b]
        for k in range(bsize[b]):
            scratch[t + k] = pool[s + k]
        bstart[b] = t
        bcap[b] = c
        t += c
    for k in range(t):
        pool[k] = scratch[k]
    return t


@njit(cache=True)
def dynamic_order(ptr_a, idx_a, ptr_b, idx_b, mode, deg0, kind):
    """Degree-driven vertex orders with ColPack's bucket tie-breaking.

    ``kind``: 0 smallest-last, 1 dynamic-largest-first, 2 incidence-degree
    (ColPack's adjacency-graph variant: the first vertex of largest degree
    starts), 3 incidence-degree as ColPack's bipartite variant (no such swap).
    ``deg0`` holds the initial degrees in the neighbourhood given by ``mode``.
    The vertex-sized scratch is int32 (``n < 2**31``), half the memory traffic of
    int64 on the random accesses of a degree update; in ``mode == 0`` every
    neighbour is distinct, so the per-step stamps of the two-hop modes are skipped.
    """
    n = deg0.size
    maxd = 0
    for v in range(n):
        if deg0[v] > maxd:
            maxd = deg0[v]
    nb = maxd + 2
    bsize = np.zeros(nb, dtype=np.int64)
    bcap = np.zeros(nb, dtype=np.int64)
    bstart = np.zeros(nb, dtype=np.int64)
    deg = np.zeros(n, dtype=np.int32)
    if kind < 2:
        for v in range(n):
            deg[v] = deg0[v]
            bcap[deg[v]] += 1
    else:
        bcap[0] = n
    top = 0
    for b in range(nb):
        bcap[b] = 2 * bcap[b] + 2
        bstart[b] = top
        top += bcap[b]
    # room for any fresh layout (< 6 n + 2 nb slots) and the moves until the next one
    pool = np.empty(8 * (n + nb) + 16, dtype=np.int32)
    scratch = np.empty(pool.size, dtype=np.int32)
    loc = np.zeros(n, dtype=np.int32)
    best = 0
    if kind == 2:
        # all vertices in bucket 0, the (first) vertex of largest degree moved last
        for v in range(n):
            if deg0[v] > deg0[best]:
                best = v
    for k in range(n):
        v = k
        if kind == 2 and k == best:
            v = n - 1
        elif kind == 2 and k == n - 1:
            v = best
        d = deg[v]
        pool[bstart[d] + bsize[d]] = v
        loc[v] = bsize[d]
        bsize[d] += 1
    stamp = np.full(n if mode != 0 else 0, -1, dtype=np.int32)
    order = np.empty(n, dtype=np.int64)
    delta = 1 if kind >= 2 else -1
    cur = 0 if kind != 1 else maxd
    for step in range(n):
        if kind == 0:
            d = cur - 1 if cur > 0 else 0
            while bsize[d] == 0:
                d += 1
        elif kind == 1:
            d = cur
            while bsize[d] == 0:
                d -= 1
        else:
            d = cur + 1 if cur < maxd else maxd
            while bsize[d] == 0:
                d -= 1
        cur = d
        bsize[d] -= 1
        v = pool[bstart[d] + bsize[d]]
        deg[v] = -1                     # ordered
        order[n - 1 - step if kind == 0 else step] = v
        # the bucket move is written out twice below: as a jitted helper, with
        # inline="always" or without, the whole order measured 3-7x slower
        if mode == 0:
            for p in range(ptr_a[_U(v)], ptr_a[_U(v) + _U1]):
                w = idx_a[_U(p)]
                uw = _U(w)
                if deg[uw] >= 0:
                    d = _U(deg[uw])
                    pos = loc[uw]
                    bsize[d] -= 1
                    last = pool[_U(bstart[d] + bsize[d])]
                    pool[_U(bstart[d] + pos)] = last
                    loc[_U(last)] = pos
                    d = _U(deg[uw] + delta)
                    deg[uw] = d
                    if bsize[d] == bcap[d]:
                        top = _grow(pool, scratch, bstart, bsize, bcap, top, d)
                    pool[_U(bstart[d] + bsize[d])] = w
                    loc[uw] = bsize[d]
                    bsize[d] += 1
            continue
        stamp[v] = step
        for p in range(ptr_a[_U(v)], ptr_a[_U(v) + _U1]):
            e = idx_a[_U(p)]
            ue = _U(e)
            # candidates: e itself (q == first - 1, not in mode 1), then e's neighbours
            # in b (in mode 2 not past an already ordered e, as ColPack)
            first = ptr_b[ue]
            lo = first - 1 if mode == 2 else first
            hi = first if mode == 2 and deg[ue] < 0 else ptr_b[ue + _U1]
            for q in range(lo, hi):
                w = e if q < first else idx_b[_U(q)]
                uw = _U(w)
                if deg[uw] < 0 or stamp[uw] == step:
                    continue
                stamp[uw] = step
                d = _U(deg[uw])
                pos = loc[uw]
                bsize[d] -= 1
                last = pool[_U(bstart[d] + bsize[d])]
                pool[_U(bstart[d] + pos)] = last
                loc[_U(last)] = pos
                d = _U(deg[uw] + delta)
                deg[uw] = d
                if bsize[d] == bcap[d]:
                    top = _grow(pool, scratch, bstart, bsize, bcap, top, d)
                pool[_U(bstart[d] + bsize[d])] = w
                loc[uw] = bsize[d]
                bsize[d] += 1
    return order
