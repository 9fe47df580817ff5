"""Vectorised validity checks of colorings: the same definitions as :mod:`.checks`, in numpy.

Fed by a pattern and colors (as :func:`sparsead.is_valid_coloring` receives
them). Every check sorts keys of the stored entries once or twice, or labels
connected components with ``scipy.sparse.csgraph``, so it costs
O(nnz log nnz) with no Python loop over elements; this is what lets
``sparsead.color`` and the CLI validate big patterns by default. The plain
checkers of :mod:`.checks` stay the independent oracle: a randomized
differential test holds the two to the same answers, on valid and invalid
colorings alike.

Conventions are those of :mod:`.checks`: a negative color marks a neutral
vertex (in no seed); where a definition involves the colors of all vertices,
each neutral vertex counts as a color of its own, and then every entry must
still be recoverable from the products the other vertices give.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .._errors import ColoringError
from .._validation import as_colors, as_pattern, check_choice

_I = np.int64


def _coo(pattern):
    p = as_pattern(pattern)
    c = p.tocoo()
    return p.shape, c.row.astype(_I), c.col.astype(_I)


def _colors(colors, k):
    col = as_colors(colors)
    return col if col.size == k else None


def _fresh(col):
    """Neutral vertices (negative colors) get colors of their own."""
    top = int(col.max(initial=-1)) + 1
    return np.where(col >= 0, col, top + np.arange(col.size, dtype=_I))


def _square(pattern):
    (m, n), r, c = _coo(pattern)
    if m != n:
        raise ColoringError(f"`pattern` must be square for this check, got shape {(m, n)}.")
    return n, r, c


def _edges(r, c):
    """Both directions of every off-diagonal entry, each ordered pair once."""
    off = r != c
    a = np.concatenate([r[off], c[off]])
    b = np.concatenate([c[off], r[off]])
    if a.size == 0:
        return a, b
    n = int(max(a.max(), b.max())) + 1
    key = np.unique(a * n + b)
    return key // n, key % n


def _counts(keys):
    """For each key, how many times it occurs."""
    if keys.size == 0:
        return keys
    _, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
    return cnt[inv]


def _proper(pattern, colors):
    """``(n, r, c, raw, fresh, a, b)`` for a symmetric check, or None when the colors
    have the wrong length or two adjacent vertices share a color (``a``, ``b``: both
    directions of every off-diagonal entry; ``fresh``: neutral vertices made unique)."""
    n, r, c = _square(pattern)
    raw = _colors(colors, n)
    if raw is None:
        return None
    f = _fresh(raw)
    a, b = _edges(r, c)
    if np.any(f[a] == f[b]):
        return None
    return n, r, c, raw, f, a, b


def _unique_pairs(a, b, width):
    """True if no pair ``(a[k], b[k])`` repeats (``0 <= b < width``)."""
    key = a * width + b
    return np.unique(key).size == key.size


def _peelable(eq1, eq2, n_eq):
    """Can every unknown be found by substitution, one equation with one unknown at a time?

    Unknown ``u`` lies in equations ``eq1[u]`` and ``eq2[u]`` (``-1``: none;
    at most two each, as in every compressed product here). Seen as a graph
    whose nodes are the equations and whose edges are the unknowns (an unknown
    in one equation hangs on a private leaf that never solves anything),
    substitution solves everything exactly when each connected component is a
    tree with at most one such leaf: a cycle never loses its last edges, and
    two private leaves pin down the path between them.
    """
    one = (eq1 < 0) ^ (eq2 < 0)
    if np.any((eq1 < 0) & (eq2 < 0)):
        return False
    if eq1.size == 0:
        return True
    a = np.where(eq1 >= 0, eq1, eq2)
    b = np.where(one, n_eq + np.cumsum(one) - 1, np.where(eq1 >= 0, eq2, eq1))
    nodes = n_eq + int(one.sum())
    g = sp.coo_array((np.ones(a.size, dtype=np.int8), (a, b)), shape=(nodes, nodes))
    _, label = connected_components(g, directed=False)
    edges = np.bincount(label[a], minlength=label.max() + 1)
    verts = np.bincount(label, minlength=label.max() + 1)
    leaves = np.bincount(label[n_eq:], minlength=label.max() + 1)
    used = edges > 0
    return bool(np.all(edges[used] == verts[used] - 1) and np.all(leaves[used] <= 1))


def _equation_ids(*keys):
    """Number the distinct keys (``-1`` stays ``-1``) across all the key arrays given."""
    valid = np.concatenate([k[k >= 0] for k in keys]) if keys else np.zeros(0, _I)
    uniq = np.unique(valid)
    out = []
    for k in keys:
        ids = np.full(k.size, -1, dtype=_I)
        ok = k >= 0
        ids[ok] = np.searchsorted(uniq, k[ok])
        out.append(ids)
    return out, uniq.size


# ---------------------------------------------------------------- problems


def structurally_orthogonal(pattern, colors, *, axis="column") -> bool:
    """Vectorised :func:`sparsead.coloring.is_structurally_orthogonal`."""
    (m, n), r, c = _coo(pattern)
    if axis == "row":
        r, c, m, n = c, r, n, m
    col = _colors(colors, n)
    if col is None or np.any(col < 0):
        return False
    width = int(col.max(initial=0)) + 1
    return _unique_pairs(r, col[c], width)


def distance1(pattern, colors) -> bool:
    """Vectorised :func:`sparsead.coloring.is_distance1_coloring`."""
    n, r, c = _square(pattern)
    col = _colors(colors, n)
    if col is None:
        return False
    f = _fresh(col)
    off = r != c
    return not np.any(f[r[off]] == f[c[off]])


def distance2(pattern, colors) -> bool:
    """Vectorised :func:`sparsead.coloring.is_distance2_coloring`.

    Vertices at distance two share a neighbour, so: adjacent vertices differ,
    and the neighbours of every vertex have pairwise distinct colors.
    """
    got = _proper(pattern, colors)
    if got is None:
        return False
    f, a, b = got[4:]
    return _unique_pairs(a, f[b], int(f.max(initial=0)) + 1)


def _direct_reads(n, r, c, raw, a, b):
    """Every entry ``(i, j)`` alone in ``B[i, raw[j]]`` or ``B[j, raw[i]]`` (neutral excluded)."""
    width = int(raw.max(initial=0)) + 2
    colored = raw[b] >= 0
    keys = np.sort(a[colored] * width + raw[b][colored])

    def alone(v, w):
        """Is ``w`` the only neighbour of ``v`` with its color (meaningful where colored)?"""
        k = v * width + raw[w]
        return np.searchsorted(keys, k, side="right") - np.searchsorted(keys, k) == 1

    diag = r == c
    if np.any(raw[r[diag]] < 0):
        return False
    i, j = r[~diag], c[~diag]
    ok1 = (raw[j] >= 0) & alone(i, j)
    ok2 = (raw[i] >= 0) & alone(j, i)
    return bool(np.all(ok1 | ok2))


def star(pattern, colors) -> bool:
    """Vectorised :func:`sparsead.coloring.is_star_coloring`.

    With adjacent vertices colored differently, a path ``a-b-c-d`` on two
    colors exists exactly when some edge ``(b, c)`` has ``b`` seeing the color
    of ``c`` twice and ``c`` seeing the color of ``b`` twice.
    """
    got = _proper(pattern, colors)
    if got is None:
        return False
    n, r, c, raw, f, a, b = got
    width = int(f.max(initial=0)) + 1
    twice = _counts(a * width + f[b]) > 1          # a sees the color of b twice
    if a.size:
        pos = np.searchsorted(a * n + b, b * n + a)  # the reverse direction of each edge
        if np.any(twice & twice[pos]):
            return False
    if np.any(raw < 0):
        return _direct_reads(n, r, c, raw, a, b)
    return True


def _forests(n, f, a, b):
    """Does every pair of colors induce a forest (edges ``a < b``)?"""
    up = a < b
    a, b = a[up], b[up]
    if a.size == 0:
        return True
    width = int(f.max()) + 1
    lo, hi = np.minimum(f[a], f[b]), np.maximum(f[a], f[b])
    _, pair = np.unique(lo * width + hi, return_inverse=True)
    node_keys = np.concatenate([pair * n + a, pair * n + b])
    uniq, node = np.unique(node_keys, return_inverse=True)
    k = a.size
    g = sp.coo_array((np.ones(k, dtype=np.int8), (node[:k], node[k:])),
                     shape=(uniq.size, uniq.size))
    n_comp, _ = connected_components(g, directed=False)
    return k == uniq.size - n_comp


def acyclic(pattern, colors) -> bool:
    """Vectorised :func:`sparsead.coloring.is_acyclic_coloring`.

    Each two-colored subgraph is a forest when, over the (vertex, color pair)
    nodes, edges = nodes - components. With neutral vertices, the compressed
    products must also determine every entry by substitution (see
    :func:`_peelable`).
    """
    got = _proper(pattern, colors)
    if got is None or not _forests(got[0], *got[4:]):
        return False
    n, r, c, raw = got[:4]
    if not np.any(raw < 0):
        return True
    # unknowns: unordered entries; entry (v, w) of the pattern puts one in equation (v, raw[w])
    lo, hi = np.minimum(r, c), np.maximum(r, c)
    _, unk = np.unique(lo * n + hi, return_inverse=True)
    n_unk = int(unk.max(initial=-1)) + 1
    width = int(raw.max(initial=0)) + 1
    eq_key = np.where(raw[c] >= 0, r * width + raw[c], -1)
    (eq,), n_eq = _equation_ids(eq_key)
    first = r <= c   # entry (v, w), v <= w, fills slot 1 of its unknown, (w, v) slot 2
    eq1 = np.full(n_unk, -1, dtype=_I)
    eq2 = np.full(n_unk, -1, dtype=_I)
    eq1[unk[first]] = eq[first]
    eq2[unk[~first]] = eq[~first]
    return _peelable(eq1, eq2, n_eq)


def bicoloring(pattern, colors, *, decompression="direct") -> bool:
    """Vectorised :func:`sparsead.coloring.is_valid_bicoloring`."""
    (m, n), r, c = _coo(pattern)
    check_choice(decompression, ("direct", "substitution"), "decompression")
    try:
        cc, rc = colors
    except (TypeError, ValueError):
        return False
    cc, rc = _colors(cc, n), _colors(rc, m)
    if cc is None or rc is None:
        return False
    wc = int(cc.max(initial=0)) + 1
    wr = int(rc.max(initial=0)) + 1
    key1 = np.where(cc[c] >= 0, r * wc + cc[c], -1)            # B_c[i, cc[j]]
    key2 = np.where(rc[r] >= 0, m * wc + c * wr + rc[r], -1)   # B_r[rc[i], j]
    if decompression == "direct":
        ok1 = (key1 >= 0) & (_counts(key1) == 1)
        ok2 = (key2 >= 0) & (_counts(key2) == 1)
        return bool(np.all(ok1 | ok2))
    (eq1, eq2), n_eq = _equation_ids(key1, key2)
    return _peelable(eq1, eq2, n_eq)


CHECKS = {
    "column": lambda p, c, **kw: structurally_orthogonal(p, c, axis="column"),
    "row": lambda p, c, **kw: structurally_orthogonal(p, c, axis="row"),
    "distance1": lambda p, c, **kw: distance1(p, c),
    "distance2": lambda p, c, **kw: distance2(p, c),
    "star": lambda p, c, **kw: star(p, c),
    "acyclic": lambda p, c, **kw: acyclic(p, c),
    "bidirectional": lambda p, c, **kw: bicoloring(p, c, **kw),
}
