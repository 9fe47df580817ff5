"""The coloring engine: color a sparsity pattern, compress, decompress.

Files in dependency order: :mod:`.graphs` (graph views as CSR arrays),
:mod:`.orders` (vertex orders), :mod:`.greedy` (the problems, the bicoloring
cover and their greedy kernels), :mod:`.improve` (iterated greedy rounds),
:mod:`.decompression` (post-processing of raw colors, the lazy decompression
plans and their index maps), :mod:`.result` (the :class:`Coloring`),
:mod:`.checks` (independent plain checkers, the tests' oracle) and
:mod:`.verify` (the same checks vectorised, what :func:`is_valid_coloring` runs).
Beside them, :mod:`.colpack` holds ColPack's names and reference tables (for the
CLI and the benchmarks). :func:`lower_bound` (O(nnz)) lets an order search and
``mode="auto"`` skip what cannot win.
"""

from __future__ import annotations

import copy

import numpy as np

from .._errors import ColoringError
from .._validation import (DECOMPRESSIONS, as_pattern, check_bool, check_choice, check_seed,
                           renamed, require_square, require_symmetric)
from . import graphs
from .checks import (
    is_acyclic_coloring,
    is_distance1_coloring,
    is_distance2_coloring,
    is_star_coloring,
    is_structurally_orthogonal,
    is_valid_bicoloring,
    is_valid_coloring,
)
from .greedy import (PROBLEMS, SYMMETRIC_PROBLEMS, bicoloring_bounds, build_graph, read_bound,
                     run)
from .improve import recolor
from .orders import ORDERS, vertex_order
from .result import Coloring, build_coloring

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "color": (
        "mostly its numpydoc docstring (the choice set of every parameter, references, "
        "example); the body is about 40 lines"
    ),
}

__all__ = [
    "PROBLEMS",
    "ORDERS",
    "Coloring",
    "color",
    "is_valid_coloring",
    "is_structurally_orthogonal",
    "is_distance1_coloring",
    "is_distance2_coloring",
    "is_star_coloring",
    "is_acyclic_coloring",
    "is_valid_bicoloring",
]


def check_orders(order):
    """``order`` as a list of names/callables, checked before any work (ColoringError)."""
    if isinstance(order, (list, tuple)):
        if len(order) == 0:
            raise ColoringError("`order` must not be an empty list; give at least one of "
                                f"{ORDERS} or a callable.")
        return [check_orders(o)[0] for o in order]
    if callable(order):
        return [order]
    return [check_choice(order, ORDERS, "order")]


def _bicoloring_bound(p):
    """Colors no star bicoloring (direct decompression) of ``p`` can go below, in O(nnz).

    With ``pc`` column and ``pr`` row colors: ``pr = 0`` needs ``pc`` >= the
    largest row count R (a column coloring), ``pc = 0`` needs ``pr`` >= the
    largest column count C; so one color needs ``min(R, C) <= 1`` and two need
    ``min(R, C) <= 2`` or ``pc = pr = 1``. With one color per side every row and
    column with two or more entries must be in a seed (a neutral one leaves an
    entry in no product or two in one sum). An entry ``(i, j)`` whose row holds
    another such column and whose column holds another such row is then read
    from neither side: if one exists, ``pc = pr = 1`` is impossible and 3 colors
    are needed (a tridiagonal pattern: 3, as one-sided colorings).
    """
    if p.nnz == 0:
        return 0
    rows = graphs.row_ids(p.indptr)
    rdeg = np.diff(p.indptr)
    cdeg = np.bincount(p.indices, minlength=p.shape[1])
    if min(rdeg.max(), cdeg.max()) <= 1:
        return 1
    if min(rdeg.max(), cdeg.max()) <= 2:
        return 2
    in_c = cdeg[p.indices] >= 2                       # entries in a column in a seed
    in_r = rdeg[rows] >= 2                            # entries in a row in a seed
    per_row = np.bincount(rows[in_c], minlength=p.shape[0])
    per_col = np.bincount(p.indices[in_r], minlength=p.shape[1])
    blocked = in_c & in_r & (per_row[rows] >= 2) & (per_col[p.indices] >= 2)
    return 3 if blocked.any() else 2


def lower_bound(p, problem, decompression="direct"):
    """Colors no order can go below, in O(nnz): the orders after one that reaches it are skipped.

    ``column``/``row``: the entries of a row (column) need distinct colors;
    ``distance2``: a vertex and its neighbours; ``distance1``: two ends of an
    edge; ``star``/``acyclic``: an edge between two vertices with diagonal
    entries (both diagonals are read in their own colors, which differ; with
    post-processing an edge alone may need one color); ``bidirectional``:
    :func:`_bicoloring_bound` for direct decompression, none by substitution.
    """
    if p.nnz == 0:
        return 0
    if problem == "bidirectional":
        return _bicoloring_bound(p) if decompression == "direct" else 0
    if problem == "column":
        return int(np.diff(p.indptr).max())
    if problem == "row":
        return int(np.bincount(p.indices, minlength=p.shape[1]).max())
    rows = np.repeat(np.arange(p.shape[0]), np.diff(p.indptr))
    off = rows != p.indices
    if problem == "distance2":
        return int(np.bincount(rows[off], minlength=p.shape[0]).max()) + 1
    if problem == "distance1":
        return 2 if off.any() else 1
    diag = np.zeros(p.shape[0], dtype=bool)
    diag[rows[~off]] = True
    return 2 if np.any(diag[rows[off]] & diag[p.indices[off]]) else 1


def color(pattern, problem="column", order=None, *, seed=None, keep_explicit_zeros=True,
          symmetrize=False, postprocess=True, decompression=None, improve=0, method=None):
    """Color a sparsity pattern for compressed evaluation of a Jacobian or Hessian.

    Parameters
    ----------
    pattern : scipy.sparse matrix/array or array_like, 2-D
        The sparsity pattern. For sparse input every *stored* entry is part of
        the pattern, explicitly stored zeros included (they are structural
        nonzeros, e.g. from sparsity detection); pass
        ``keep_explicit_zeros=False`` to drop them. For dense input the
        nonzero entries are the pattern.
    problem : {"column", "row", "distance1", "distance2", "star", "acyclic", "bidirectional"}
        ``column``: partial distance-2 coloring of the columns (JVP lanes,
        ``B = A @ S``); ``row``: of the rows (VJP lanes, ``B = S.T @ A``);
        ``distance1``/``distance2``: coloring of the adjacency graph of a
        symmetric pattern (diagonal ignored); ``star``: star coloring of a
        symmetric pattern (Hessians, direct decompression); ``acyclic``:
        acyclic coloring (Hessians, decompression by substitution);
        ``bidirectional``: star (or acyclic, ``decompression="substitution"``) bicoloring of
        a nonsymmetric pattern through the symmetric pattern
        ``[[0, A.T], [A, 0]]`` (JVPs and VJPs together): rows and columns
        are taken in ``order``; one whose neighbours all came before it and
        are colored is left neutral (in no seed), the others get colors from
        one palette per side (ColPack's implicit-covering bicoloring).
    order : str, callable, or list of them, optional
        Default ``"natural"``, and ``"largest_first"`` for ``bidirectional``
        (whose cover follows the order: dense rows and columns must come
        first). A name in ``sparsead.coloring.ORDERS``; or a callable ``order(graph)
        -> permutation`` that receives the graph being colored as a boolean
        ``csr_array`` (the column intersection graph for ``column``, the row
        intersection graph for ``row``, the adjacency graph with no diagonal
        for the symmetric problems, the augmented adjacency for
        ``bidirectional``) and returns a permutation of its vertices; or a list
        or tuple of these, in which case they are tried in turn and the coloring
        with the fewest colors is returned (the first on ties; the orders after
        one that reaches a simple lower bound are skipped).
    seed : int or numpy.random.Generator, optional
        Seed of ``np.random.default_rng`` for ``order="random"``.
    keep_explicit_zeros : bool, default True
        Whether explicitly stored zeros of a sparse ``pattern`` are entries.
    symmetrize : bool, default False
        For symmetric problems: color the pattern of ``A + A.T`` instead of
        refusing a structurally nonsymmetric pattern.
    postprocess : bool, default True
        For ``star``, ``acyclic`` and ``bidirectional``: make the colors that
        no decompression reads neutral (``-1``) and renumber the others.
    decompression : {"direct", "substitution"}, optional
        How the matrix is recovered: ``direct`` (star colorings, one gather)
        or ``substitution`` (acyclic colorings, fewer colors). Chooses the
        bicoloring of ``bidirectional`` (default ``direct``); for the other
        problems it is implied (``acyclic``: substitution, else direct) and,
        when given, must agree.
    method : {"star", "acyclic"}, optional
        Deprecated spelling of ``decompression`` (``"direct"``,
        ``"substitution"``); warns.
    improve : int, default 0
        Rounds of iterated greedy after the best order (Culberson): recolor
        with the vertices of each color class together, classes reversed,
        largest first or shuffled (seeded by ``seed``). Never more colors;
        for ``column``, ``row``, ``distance1`` and ``distance2`` no round can
        lose, for the others a round is kept when it is no worse. Each round
        costs about one greedy coloring (no ordering).

    Returns
    -------
    Coloring

    Raises
    ------
    ColoringError
        Unknown ``problem``, ``order`` or ``decompression`` (or one that
        contradicts ``problem``); a ``seed`` that is not
        None, a non-negative integer or a Generator; a flag that is not a bool.
    PatternError
        Malformed pattern (for sparse input: indices outside the shape, a
        non-monotone ``indptr``, non-integer indices, ...); a non-square pattern for a symmetric problem; a
        structurally nonsymmetric pattern for a symmetric problem (unless
        ``symmetrize=True``).

    References
    ----------
    A. H. Gebremedhin, F. Manne, A. Pothen, "What color is your Jacobian?
    Graph coloring for computing derivatives", SIAM Review 47 (2005).
    A. H. Gebremedhin, A. Tarafdar, F. Manne, A. Pothen, "New acyclic and star
    coloring algorithms with application to computing Hessians", SIAM J. Sci.
    Comput. 29 (2007), Algorithms 3.1 and 4.1.
    A. Montoison, G. Dalle, A. H. Gebremedhin, "Revisiting sparse matrix
    coloring and bicoloring" (2025).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, sparsead as sa
    >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
    >>> A.data[:] = np.arange(1, A.nnz + 1)
    >>> c = sa.color(A, "column", order="largest_first")
    >>> B = c.compress(A)
    >>> bool((c.decompress(B) != A).nnz == 0)
    True
    """
    problem = check_choice(problem, PROBLEMS, "problem")
    decompression, method = _decompression(problem, decompression, method)
    if order is None:
        order = "largest_first" if problem == "bidirectional" else "natural"
    orders = check_orders(order)
    seed = check_seed(seed)
    keep_explicit_zeros = check_bool(keep_explicit_zeros, "keep_explicit_zeros")
    symmetrize = check_bool(symmetrize, "symmetrize")
    postprocess = check_bool(postprocess, "postprocess")
    p = as_pattern(pattern, keep_explicit_zeros=keep_explicit_zeros)
    if problem in SYMMETRIC_PROBLEMS:
        require_square(p, problem)
        if symmetrize:
            p = as_pattern(p + p.T)
        require_symmetric(p, problem)
    improve = _rounds(improve)
    graph = build_graph(p, problem)
    bound = lower_bound(p, problem, decompression) if len(orders) > 1 or improve else 0

    def build(name, raw, root):
        return build_coloring(graph, problem, name, raw, root, postprocess=postprocess,
                              method=method)

    def count(raw):
        """``(lo, hi)``: bounds on the count of raw colors, without post-processing."""
        if problem != "bidirectional":
            return None
        bounds = bicoloring_bounds(graph, raw)
        return bounds if bounds is None or postprocess else (bounds[1], bounds[1])

    best, found = _search(graph, problem, method, orders, seed, bound, build, count)
    if improve and best is not None and graph.n and best.n_colors > bound:
        def score(raw, root):
            c = build(best.order, raw, root)
            return c.n_colors, c
        floor = (lambda raw: read_bound(graph, raw)) if problem == "bidirectional" else None
        best = recolor(graph, problem, method, *found, improve, score, seed,
                       start=(best.n_colors, best), floor=floor)[1]
    return best


class _Candidate:
    """A coloring of the order search whose count is known within ``[lo, hi]``; post-processed
    (:meth:`resolve`) only when a comparison needs its exact count, or when it wins."""

    __slots__ = ("lo", "hi", "order", "raw", "root", "build", "coloring")

    def __init__(self, bounds, order, raw, root, build):
        self.order, self.raw, self.root, self.build = order, raw, root, build
        self.coloring = None
        if bounds is None:
            self.resolve()
        else:
            self.lo, self.hi = bounds

    def resolve(self):
        if self.coloring is None:
            self.coloring = self.build(self.order, self.raw, self.root)
            self.lo = self.hi = self.coloring.n_colors
        return self.coloring

    def renamed(self, name):
        c = copy.copy(self)
        c.order = name
        if self.coloring is not None:
            c.coloring = copy.copy(self.coloring)
            c.coloring.order, c.coloring._plans, c.coloring._validated = name, {}, {}
        return c


def _better(a, rank_a, b, rank_b):
    """Whether candidate ``a`` has fewer colors than ``b`` (ties: the lower rank), building
    either only when their bounds overlap."""
    if (a.hi, rank_a) < (b.lo, rank_b):
        return True
    if (a.lo, rank_a) > (b.hi, rank_b):
        return False
    return (a.resolve().n_colors, rank_a) < (b.resolve().n_colors, rank_b)


def _search(graph, problem, method, orders, seed, bound, build, count):
    """``(best coloring, (perm, raw, root) it came from)`` over ``orders`` (see :func:`color`).

    Fewest colors win, the first given on ties. Work that cannot change the
    result is skipped: the orders after the lower ``bound`` is met, an order
    whose permutation was already colored (:func:`_same_order`), a bicoloring
    whose cover (:func:`~.greedy.cover_bound`) already needs more colors than
    the best, and the post-processing of a bicoloring whose count bounds
    (``count(raw)``: :func:`~.greedy.bicoloring_bounds`) decide
    the comparison. ``build(name, raw, root)`` post-processes raw colors into a
    :class:`Coloring`.
    """
    best, best_rank, found = None, None, None
    tried, seen = set(), []
    for rank in _evaluation_order(orders, problem):
        tried.add(rank)
        perm, name = vertex_order(graph, orders[rank], seed)
        again = _same_order(seen, perm, name)
        if again is not None:
            c, raw, root = again
        else:
            raw, root = run(graph, problem, perm, method,
                            limit=None if best is None else best.hi)
            c = None if raw is None else _Candidate(count(raw), name, raw, root, build)
            seen.append((perm, c, raw, root))
        if raw is None:
            continue
        if best is None or _better(c, rank, best, best_rank):
            best, best_rank, found = c, rank, (perm, raw, root)
        if best.hi <= bound and tried.issuperset(range(best_rank)):
            break  # optimal: the orders left could only tie, and ties keep the first given
    return (None if best is None else best.resolve()), found


def _same_order(seen, perm, name):
    """``(coloring, raw, root)`` of an order tried before with the same permutation, renamed.

    The greedy kernels are deterministic, so an order that yields the permutation of
    one already tried (largest-first on a pattern whose degrees are all equal is the
    natural order) gives the same colors: the coloring is reused under ``name``
    (ties then go to the order given first, as if it had been colored again).
    None when the permutation is new; ``raw`` is None when the earlier try was
    skipped by its bound (a later try, with a bound no larger, is skipped too).
    """
    for perm0, c, raw, root in seen:
        if np.array_equal(perm0, perm):
            return (None if c is None else c.renamed(name)), raw, root
    return None


def _decompression(problem, decompression, method):
    """``(decompression, bicoloring method)`` from the new keyword or its deprecated spelling."""
    old = {v: k for k, v in DECOMPRESSIONS.items()}
    decompression = renamed(decompression, method, "decompression", "method", old,
                            stacklevel=4, error=ColoringError)
    implied = {"acyclic": "substitution", "distance1": None}.get(problem, "direct")
    if decompression is None:
        decompression = implied
    else:
        decompression = check_choice(decompression, tuple(DECOMPRESSIONS), "decompression")
        if problem != "bidirectional" and decompression != implied:
            raise ColoringError(f"`decompression={decompression!r}` contradicts "
                                f"`problem={problem!r}` (which implies {implied!r}); use "
                                "problem='acyclic' for substitution, 'star' for direct.")
    return decompression, DECOMPRESSIONS.get(decompression if problem == "bidirectional"
                                             else "direct")


def _rounds(improve):
    if isinstance(improve, (bool, np.bool_)) or not isinstance(improve, (int, np.integer)) \
            or improve < 0:
        raise ColoringError(f"`improve` must be a non-negative int (rounds of iterated greedy), "
                            f"got {improve!r}.")
    return int(improve)


def _evaluation_order(orders, problem):
    """Positions of ``orders`` in the order they are tried.

    For bicolorings ``largest_first`` goes first: it covers the dense rows and
    columns, and its count lets the others be skipped early when their cover
    already needs more colors (the natural order on an arrowhead would color
    every column differently, in quadratic time). The result does not depend
    on this: the fewest colors win, the first given on ties.
    """
    ranks = list(range(len(orders)))
    if problem == "bidirectional" and "largest_first" in orders:
        first = orders.index("largest_first")
        ranks = [first] + [r for r in ranks if r != first]
    return ranks
