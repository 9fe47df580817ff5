"""Which coloring a prepared operator evaluates: the options, the defaults, ``mode="auto"``.

Fed by a detected (or user-given, :func:`user_pattern`) pattern; calls
:func:`sparsead.color` and returns the chosen :class:`~sparsead.Coloring`.
Only the chosen coloring ever builds decompression index maps (they are lazy).
"""

from __future__ import annotations

import numpy as np

from .._errors import PatternError
from .._validation import as_pattern
from ..coloring import color as _color_api
from ..coloring.choice import PROBLEM as _PROBLEM
from ..coloring.choice import jacobian_candidates
from ..coloring.choice import rank as _rank

MODES = ("auto", "forward", "reverse", "bidirectional")
TRIANGLES = ("full", "lower", "upper")
DEFAULT_ORDERS = ("natural", "largest_first", "smallest_last")
#: Rounds of iterated greedy after the default orders (``sparsead.color(improve=...)``):
#: two rounds find most of what more would (on the reference matrices, 51 of the 55
#: star colors that ten rounds save) for about two greedy colorings each.
DEFAULT_IMPROVE = 2


def user_pattern(sparsity, detected, name="sparsity"):
    """A user pattern, validated: same shape as detected and containing every detected entry."""
    p = as_pattern(sparsity, name)
    if p.shape != detected.shape:
        raise PatternError(f"`{name}` has shape {p.shape}, the derivative has shape "
                           f"{detected.shape}.")
    missing = detected.astype(np.int8) - detected.multiply(p).astype(np.int8)
    missing.eliminate_zeros()
    if missing.nnz:
        r, c = missing.nonzero()
        raise PatternError(
            f"`{name}` misses {missing.nnz} entries that can be nonzero (e.g. ({r[0]}, {c[0]})); "
            "a smaller pattern would silently give a wrong matrix. Pass a superset of "
            "sparsead's detected pattern (or leave `sparsity=None`).")
    return p


def color(pattern, problem, order, **options):
    """:func:`sparsead.color`, with the default improvement rounds for the default orders."""
    order = list(DEFAULT_ORDERS) if order is None else order
    if isinstance(order, (list, tuple)) and list(order) == list(DEFAULT_ORDERS):
        options.setdefault("improve", DEFAULT_IMPROVE)
    return _color_api(pattern, problem, order, **options)


def same_pattern(a, b) -> bool:
    """Two canonical (sorted) csr patterns with the same structure."""
    return a.shape == b.shape and a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr) \
        and np.array_equal(a.indices, b.indices)



def auto_candidates(pattern, order):
    """The colorings ``mode="auto"`` compares, skipping every one that cannot win
    (:func:`sparsead.coloring.choice.jacobian_candidates`: O(nnz) lower bounds, the
    bicoloring first when both sides have dense lines, no row coloring of a
    structurally symmetric pattern)."""
    return jacobian_candidates(pattern, lambda problem: color(pattern, problem, order))


def jacobian_coloring(pattern, mode, order, reuse=None):
    """``(mode, coloring)`` of a prepared Jacobian; ``reuse``: an operator of the same pattern."""
    if reuse is not None and same_pattern(reuse.pattern, pattern):
        return reuse.mode, reuse.coloring                    # local re-trace, same pattern
    if mode != "auto":
        return mode, color(pattern, _PROBLEM[mode], order)
    candidates = auto_candidates(pattern, order)
    best = min(candidates, key=lambda k: _rank(k, candidates[k]))
    return best, candidates[best]
