"""Which side of a Jacobian to color: the candidates ``mode="auto"`` compares.

Fed by a canonical boolean Jacobian pattern and a function that colors it for
one problem (``"column"``, ``"row"`` or ``"bidirectional"``, with the caller's
orders and options); used by the prepared Jacobians
(:mod:`sparsead.prepared._choice`). Every candidate that provably cannot win is
skipped, so the choice is the one a comparison of all three would make, for
less work: O(nnz) lower bounds (:func:`sparsead.coloring.lower_bound`), and
the row coloring of a structurally symmetric pattern, which *is* its column
coloring (the same graph, the same orders, the same colors), so it can only
tie, and ties go to the columns.
"""

from __future__ import annotations

import numpy as np

from . import lower_bound

#: Lanes of each mode, in order of preference on equal color counts.
PREFERENCE = ("forward", "reverse", "bidirectional")
PROBLEM = {"forward": "column", "reverse": "row", "bidirectional": "bidirectional"}


def structurally_symmetric(p) -> bool:
    """Whether canonical CSR pattern ``p`` equals its transpose (O(nnz))."""
    if p.shape[0] != p.shape[1]:
        return False
    t = p.T.tocsr()
    t.sort_indices()
    return bool(np.array_equal(t.indptr, p.indptr) and np.array_equal(t.indices, p.indices))


def rank(mode, coloring):
    """Sort key of a candidate: fewer colors first, then :data:`PREFERENCE`."""
    return coloring.n_colors, PREFERENCE.index(mode)


def jacobian_candidates(pattern, color_problem):
    """``{mode: Coloring}``: the colorings ``mode="auto"`` compares, without those that cannot win.

    ``color_problem(problem)`` colors ``pattern`` for ``"column"``, ``"row"`` or
    ``"bidirectional"``. A row with k entries needs k column colors, a column
    with k entries k row colors, a bicoloring at least 2 or 3 colors; a
    coloring is computed only if its bound could still beat the best found
    (ties go to forward, then reverse, then bidirectional), and the row
    coloring not after the column coloring of a structurally symmetric
    pattern (checked only then). The side
    with the smaller bound goes first; the bicoloring goes first when its
    bound is below both sides' bounds (it handles dense rows and columns in
    O(nnz), while coloring the columns of a Jacobian with one dense row costs
    O(n^2) and can only give n colors). The winner is
    ``min(candidates, key=lambda k: rank(k, candidates[k]))``.
    """
    bounds = {mode: lower_bound(pattern, PROBLEM[mode]) for mode in PREFERENCE}
    candidates = {}

    def could_win(mode):
        if not candidates:
            return True
        best = min(rank(k, c) for k, c in candidates.items())
        if (bounds[mode], PREFERENCE.index(mode)) >= best:
            return False
        # the row coloring of a symmetric pattern is its column coloring: at best a tie
        return not (mode == "reverse" and "forward" in candidates
                    and structurally_symmetric(pattern))

    sides = sorted(("forward", "reverse"), key=lambda k: (bounds[k], PREFERENCE.index(k)))
    first = ["bidirectional"] if bounds["bidirectional"] < bounds[sides[0]] else []
    for mode in first + sides + ["bidirectional"]:
        if mode not in candidates and could_win(mode):
            candidates[mode] = color_problem(PROBLEM[mode])
    return candidates
