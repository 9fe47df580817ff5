"""Iterated greedy: recolor in the order of the color classes to use fewer colors.

Fed by a finished greedy coloring (its graph, order and raw colors, see
:mod:`sparsead.coloring.greedy`). Culberson's observation: coloring the
vertices again, first-fit, with the vertices of each color class kept
together, never needs more colors than there were classes -- a vertex of the
k-th class taken can always take color k again, since its class holds no
conflicting vertex. The class order is what changes: reversed, largest class
first, or shuffled; each round can merge classes. For the colorings whose
validity is a relation between pairs of vertices (``column``, ``row``,
``distance1``, ``distance2``) a round therefore never loses. Star, acyclic
and bidirectional colorings are not of that kind; there every round is still
a valid coloring (the kernels enforce the rules whatever the order), and it
is kept only when it uses no more colors after post-processing.

Reference: J. C. Culberson, "Iterated greedy graph coloring and the
difficulty landscape", Tech. Rep. TR 92-07, University of Alberta (1992);
J. C. Culberson and F. Luo, "Exploring the k-colorable landscape with iterated
greedy", DIMACS Series 26 (1996).
"""

from __future__ import annotations

import numpy as np

from .greedy import run

#: Problems on which a round of iterated greedy never uses more colors.
MONOTONE = ("column", "row", "distance1", "distance2")


def class_order(raw, perm, strategy, rng):
    """Vertices grouped by color class (classes ranked by ``strategy``), neutral ones last.

    Within a class the vertices keep their order in ``perm``. ``strategy``:
    0 classes in reverse, 1 largest class first, 2 shuffled.
    """
    n = raw.size
    k = int(raw.max(initial=-1)) + 1
    if strategy == 0:
        rank = np.arange(k - 1, -1, -1)
    else:
        if strategy == 1:
            sizes = np.bincount(raw[raw >= 0], minlength=k)
            by = np.argsort(-sizes, kind="stable")
        else:
            by = rng.permutation(k)
        rank = np.empty(k, dtype=np.int64)
        rank[by] = np.arange(k)
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n)
    key = np.full(n, k, dtype=np.int64)
    key[raw >= 0] = rank[raw[raw >= 0]]
    return np.lexsort((pos, key)).astype(np.int64)


def recolor(graph, problem, method, perm, raw, root, rounds, score, seed=None, start=None,
            floor=None):
    """``rounds`` rounds of iterated greedy from the coloring ``raw`` (found in order ``perm``).

    A round is accepted when its raw coloring uses no more colors than the
    current one. ``score(raw, root)`` returns ``(count, result)``, the count
    after post-processing; it is called for the round with the fewest raw
    colors and, unless its score is given as ``start``, for the starting
    coloring; the better of the two is returned (the round on ties). ``floor(raw)``,
    optional, is a lower bound on that count: a round whose bound exceeds the
    start's count is not scored.
    """
    rng = np.random.default_rng(0 if seed is None else seed)
    if start is None:
        start = score(raw, root)
    count = int(raw.max(initial=-1)) + 1
    best = None
    for r in range(rounds):
        strategy = (0, 1, 0, 2)[r % 4]
        new_perm = class_order(raw, perm, strategy, rng)
        new_raw, new_root = run(graph, problem, new_perm, method)
        new_count = int(new_raw.max(initial=-1)) + 1
        if new_count <= count:
            if best is None or new_count < count:
                best = (new_raw, new_root)
            perm, raw, root, count = new_perm, new_raw, new_root, new_count
    if best is None or (floor is not None and floor(best[0]) > start[0]):
        return start
    end = score(*best)
    return end if end[0] <= start[0] else start
