"""Independent checkers of colorings: plain, slow, obviously right.

These are the test oracles. They share nothing with the kernels: each one
turns the pattern into Python sets and tests the definition of its problem
literally (Gebremedhin, Manne & Pothen, "What color is your Jacobian?", SIAM
Review 2005). A color ``-1`` marks a neutral vertex that is in no seed column;
where the definition of a problem involves colors of all vertices, neutral
vertices count as having a color of their own, and the checker additionally
verifies that every entry can still be recovered.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._errors import ColoringError
from .._validation import as_colors, as_pattern, check_choice

__all__ = [
    "is_structurally_orthogonal",
    "is_distance1_coloring",
    "is_distance2_coloring",
    "is_star_coloring",
    "is_acyclic_coloring",
    "is_valid_bicoloring",
    "is_valid_coloring",
]


def _entries(pattern):
    p = as_pattern(pattern)
    c = p.tocoo()
    return p.shape, {(int(i), int(j)) for i, j in zip(c.row, c.col)}


def _colors(colors, k):
    col = as_colors(colors).tolist()
    if len(col) != k:
        return None
    return col


def _fresh(col):
    """Neutral vertices (-1) get colors of their own."""
    top = max(col, default=-1) + 1
    return [c if c >= 0 else top + v for v, c in enumerate(col)]


def _neighbours(entries, n):
    nb = {v: set() for v in range(n)}
    for i, j in entries:
        if i != j:
            nb[i].add(j)
            nb[j].add(i)
    return nb


def is_structurally_orthogonal(pattern, colors, *, axis="column") -> bool:
    """True if no two columns (rows) of the same color share a row (column).

    Parameters
    ----------
    pattern : sparse matrix or array_like, shape (m, n)
    colors : array_like of int
        One color per column (``axis="column"``) or per row (``axis="row"``),
        all non-negative.

    Examples
    --------
    >>> import scipy.sparse as sp, sparsead as sa
    >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
    >>> c = sa.color(A, "column")
    >>> sa.coloring.is_structurally_orthogonal(A, c.colors)
    True
    """
    (m, n), entries = _entries(pattern)
    if axis == "row":
        entries = {(j, i) for i, j in entries}
        m, n = n, m
    col = _colors(colors, n)
    if col is None or any(c < 0 for c in col):
        return False
    seen = {}
    for i, j in entries:
        key = (i, col[j])
        if key in seen and seen[key] != j:
            return False
        seen[key] = j
    return True


def _square(pattern):
    (m, n), entries = _entries(pattern)
    if m != n:
        raise ColoringError(f"`pattern` must be square for this check, got shape {(m, n)}.")
    return n, entries


def is_distance1_coloring(pattern, colors) -> bool:
    """True if adjacent vertices of the graph of ``pattern`` (diagonal ignored) differ in color.

    Examples
    --------
    >>> import sparsead as sa
    >>> P = sa.patterns.banded(6, 1)
    >>> sa.coloring.is_distance1_coloring(P, [0, 1, 0, 1, 0, 1])
    True
    """
    n, entries = _square(pattern)
    col = _colors(colors, n)
    if col is None:
        return False
    col = _fresh(col)
    return all(col[i] != col[j] for i, j in entries if i != j)


def is_distance2_coloring(pattern, colors) -> bool:
    """True if any two vertices at distance at most two differ in color.

    Examples
    --------
    >>> import sparsead as sa
    >>> P = sa.patterns.banded(6, 1)
    >>> sa.coloring.is_distance2_coloring(P, [0, 1, 2, 0, 1, 2])
    True
    """
    n, entries = _square(pattern)
    col = _colors(colors, n)
    if col is None:
        return False
    col = _fresh(col)
    nb = _neighbours(entries, n)
    for v in range(n):
        for w in nb[v]:
            if col[v] == col[w]:
                return False
            for x in nb[w]:
                if x != v and col[v] == col[x]:
                    return False
    return True


def _recoverable_direct(n, entries, col):
    """Every entry (i, j) readable at B[i, c(j)] or B[j, c(i)] (neutral excluded)."""
    nb = _neighbours(entries, n)
    for i, j in entries:
        if i == j:
            if col[i] < 0:
                return False
            continue
        ok1 = col[j] >= 0 and all(col[k] != col[j] for k in nb[i] if k != j)
        ok2 = col[i] >= 0 and all(col[k] != col[i] for k in nb[j] if k != i)
        if not (ok1 or ok2):
            return False
    return True


def is_star_coloring(pattern, colors) -> bool:
    """True for a distance-1 coloring in which every path on 4 vertices uses 3 colors or more.

    With neutral vertices (``-1``), also checks that every entry is still
    directly recoverable from ``B = H S``.

    Examples
    --------
    >>> import sparsead as sa
    >>> P = sa.patterns.banded(6, 1)
    >>> sa.coloring.is_star_coloring(P, [0, 1, 2, 0, 1, 2])
    True
    """
    n, entries = _square(pattern)
    raw = _colors(colors, n)
    if raw is None:
        return False
    col = _fresh(raw)
    nb = _neighbours(entries, n)
    if any(col[i] == col[j] for i, j in entries if i != j):
        return False
    for b in range(n):
        for c in nb[b]:
            for a in nb[b]:
                if a == c:
                    continue
                for d in nb[c]:
                    if d in (a, b):
                        continue
                    if col[a] == col[c] and col[b] == col[d]:
                        return False
    if any(x < 0 for x in raw):
        return _recoverable_direct(n, entries, raw)
    return True


def is_acyclic_coloring(pattern, colors) -> bool:
    """True for a distance-1 coloring in which every cycle uses 3 colors or more.

    With neutral vertices (``-1``), also checks that every entry is still
    recoverable by substitution.

    Examples
    --------
    >>> import sparsead as sa
    >>> P = sa.patterns.banded(6, 1)
    >>> sa.coloring.is_acyclic_coloring(P, [0, 1, 0, 1, 0, 1])
    True
    """
    n, entries = _square(pattern)
    raw = _colors(colors, n)
    if raw is None:
        return False
    col = _fresh(raw)
    if any(col[i] == col[j] for i, j in entries if i != j):
        return False
    edges = {(min(i, j), max(i, j)) for i, j in entries if i != j}
    # every two-colored subgraph must be a forest: union-find per color pair
    by_pair = {}
    for i, j in edges:
        by_pair.setdefault(frozenset((col[i], col[j])), []).append((i, j))
    for pair_edges in by_pair.values():
        parent = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x
        for i, j in pair_edges:
            ri, rj = find(i), find(j)
            if ri == rj:
                return False
            parent[ri] = rj
    if any(x < 0 for x in raw):
        eq = []
        for v in range(n):
            for c in set(raw):
                if c < 0:
                    continue
                unknowns = {frozenset((v, w)) if v != w else frozenset((v,))
                            for (a, w) in entries if a == v and raw[w] == c}
                if unknowns:
                    eq.append(unknowns)
        return _solvable(eq, {frozenset((i, j)) if i != j else frozenset((i,))
                              for i, j in entries})
    return True


def _solvable(equations, unknowns):
    """Can all ``unknowns`` be found from linear equations (sets of unknowns) by substitution?"""
    known = set()
    changed = True
    while changed:
        changed = False
        for eq in equations:
            rest = eq - known
            if len(rest) == 1:
                known |= rest
                changed = True
    return unknowns <= known


def is_valid_bicoloring(pattern, colors, *, decompression="direct") -> bool:
    """True if a bicoloring ``(column_colors, row_colors)`` determines every entry of ``A``.

    ``B_c = A @ S_c`` holds one equation per (row, column color), ``B_r =
    S_r.T @ A`` one per (row color, column); color ``-1`` means the column
    (row) is in no seed. ``decompression="direct"``: every entry is alone in
    some equation (a star bicoloring); ``"substitution"``: the equations can be
    solved one unknown at a time (an acyclic bicoloring).

    Examples
    --------
    >>> import scipy.sparse as sp, sparsead as sa
    >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
    >>> c = sa.color(A, "bidirectional")
    >>> sa.coloring.is_valid_bicoloring(A, (c.column_colors, c.row_colors))
    True
    """
    (m, n), entries = _entries(pattern)
    check_choice(decompression, ("direct", "substitution"), "decompression")
    try:
        cc, rc = colors
    except (TypeError, ValueError):
        return False
    cc, rc = _colors(cc, n), _colors(rc, m)
    if cc is None or rc is None:
        return False
    eqs = []
    for i in range(m):
        for c in set(cc):
            if c >= 0:
                eq = frozenset((i, j) for (a, j) in entries if a == i and cc[j] == c)
                if eq:
                    eqs.append(eq)
    for j in range(n):
        for c in set(rc):
            if c >= 0:
                eq = frozenset((i, j) for (i, b) in entries if b == j and rc[i] == c)
                if eq:
                    eqs.append(eq)
    if decompression == "direct":
        singles = {next(iter(eq)) for eq in eqs if len(eq) == 1}
        return entries <= singles
    return _solvable(eqs, set(entries))


_CHECKERS = {
    "column": lambda p, c, **kw: is_structurally_orthogonal(p, c, axis="column"),
    "row": lambda p, c, **kw: is_structurally_orthogonal(p, c, axis="row"),
    "distance1": lambda p, c, **kw: is_distance1_coloring(p, c),
    "distance2": lambda p, c, **kw: is_distance2_coloring(p, c),
    "star": lambda p, c, **kw: is_star_coloring(p, c),
    "acyclic": lambda p, c, **kw: is_acyclic_coloring(p, c),
    "bidirectional": lambda p, c, **kw: is_valid_bicoloring(p, c, **kw),
}


def _bicolor_pair(pattern, colors):
    """``(column_colors, row_colors)`` from the pair or from their concatenation."""
    if isinstance(colors, tuple) or (isinstance(colors, list) and len(colors) == 2
                                     and all(np.ndim(c) == 1 for c in colors)):
        return colors
    shape = as_pattern(pattern).shape
    flat = as_colors(colors)
    if flat.size != shape[0] + shape[1]:
        raise ColoringError(f"`colors` of a bidirectional coloring must be the pair "
                            f"(column_colors, row_colors) or their concatenation of {shape[1]} + {shape[0]} "
                            f"values, got {flat.size} values.")
    return flat[:shape[1]], flat[shape[1]:]


def is_valid_coloring(pattern, colors, problem, *, reference=False, **options) -> bool:
    """Check ``colors`` for ``problem``.

    Parameters
    ----------
    pattern : sparse matrix or array_like
    colors : array_like of int
        One color per vertex, as :attr:`Coloring.colors`: for
        ``bidirectional`` the concatenation ``[column_colors, row_colors]``
        (``n + m`` values), or the pair ``(column_colors, row_colors)``.
    problem : str
        One of ``sparsead.coloring.PROBLEMS``.
    reference : bool, default False
        Use the plain checker of this module (Python sets, the definitions
        literally; slow, the tests' oracle) instead of the vectorised one of
        :mod:`sparsead.coloring.verify` (O(nnz log nnz), the same answers).
    **options
        ``decompression="direct" | "substitution"`` for ``bidirectional``.

    Examples
    --------
    >>> import scipy.sparse as sp, sparsead as sa
    >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
    >>> sa.is_valid_coloring(A, sa.color(A, "column").colors, "column")
    True
    >>> sa.is_valid_coloring(A, sa.color(A, "column").colors, "column", reference=True)
    True
    """
    check_choice(problem, tuple(_CHECKERS), "problem")
    if problem == "bidirectional":
        colors = _bicolor_pair(pattern, colors)
    if reference:
        return bool(_CHECKERS[problem](pattern, colors, **options))
    from .verify import CHECKS

    return bool(CHECKS[problem](pattern, colors, **options))
