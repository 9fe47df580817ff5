"""The :class:`Coloring` result: colors, seed matrices, compression and decompression.

Fed by :mod:`sparsead.coloring.greedy` (raw colors of a problem graph) through
:func:`build_coloring`, which lets :mod:`sparsead.coloring.decompression`
post-process the colors; that module also builds (at the first decompression,
once per target triangle) and runs the plans this class caches.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .._errors import ColoringError, DecompressionError
from .._validation import as_compressed, as_csr, check_out
from . import decompression as dc
from .decompression import TRIANGLES
from .greedy import SYMMETRIC_PROBLEMS as SYMMETRIC


class Coloring:
    """A coloring of a sparsity pattern, with its seed matrix and decompression.

    Returned by :func:`sparsead.color`; not meant to be built directly.

    Attributes
    ----------
    problem : str
        One of ``sparsead.coloring.PROBLEMS``.
    order : str
        The vertex order actually used (the best one when several were given).
    shape : tuple of int
        Shape of the pattern.
    pattern : scipy.sparse.csr_array
        The colored pattern (boolean, sorted indices).
    colors : numpy.ndarray of int64
        0-based colors: one per column (``column``, symmetric problems), one per
        row (``row``); for ``bidirectional`` the concatenation
        ``[column_colors, row_colors]``. ``-1`` marks a neutral vertex, which
        is in no seed column (only after post-processing of ``star``,
        ``acyclic`` and ``bidirectional`` colorings).
    decompression : {"direct", "substitution"} or None
        How :meth:`decompress` recovers the matrix: a gather (``direct``) or
        a gather and a substitution sweep (``acyclic`` colorings and acyclic
        bicolorings); None for ``distance1``, which cannot be decompressed.
    n_colors : int
        Number of compressed products (for ``bidirectional``:
        ``n_column_colors + n_row_colors``).
    column_colors, row_colors : numpy.ndarray of int64
        The JVP side (seed columns, ``B = A @ S``) and the VJP side (seed rows,
        ``B = S.T @ A``), for every problem: ``column`` and the symmetric
        problems have ``row_colors`` empty, ``row`` has ``column_colors``
        empty, ``bidirectional`` has both. ``colors`` is their concatenation.
    n_column_colors, n_row_colors : int
        The lanes of each side (they add up to ``n_colors``).

    Notes
    -----
    Decompression plans are built at the first decompression and cached per
    target in ``_plans`` (a dict ``triangle -> Plan``); each
    :class:`~sparsead.coloring.decompression.Plan` holds plain int64 index arrays
    (``g_out``, ``g_src``: gather; ``s_out``, ``s_src``, ``s_ptr``, ``s_sub``:
    substitution over two-colored trees; ``c_dst``, ``c_src``: mirror copies)
    that :func:`sparsead._kernels.decompress.run_plan` executes. Sources index
    the compressed matrix flattened in C order (``s >= 0``), or the VJP block
    of a bidirectional coloring at ``-s - 1``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, sparsead as sa
    >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
    >>> c = sa.color(A, "column")
    >>> B = c.compress(A)
    >>> bool((c.decompress(B) != A).nnz == 0)
    True
    """

    def __init__(self, problem, order, pattern, colors, n_colors, *, method=None,
                 column_colors=None, row_colors=None):
        self.problem = problem
        self.order = order
        self.decompression = ("substitution" if "acyclic" in (problem, method) else
                              None if problem == "distance1" else "direct")
        self.pattern = pattern
        self.shape = tuple(pattern.shape)
        self.colors = colors
        self.n_colors = int(n_colors)
        none = np.zeros(0, dtype=np.int64)
        if problem == "bidirectional":
            self.column_colors, self.row_colors = column_colors, row_colors
        elif problem == "row":
            self.column_colors, self.row_colors = none, colors
        else:           # column and symmetric problems: the seeds are columns, B = A S
            self.column_colors, self.row_colors = colors, none
        self.n_column_colors = int(self.column_colors.max(initial=-1)) + 1
        self.n_row_colors = int(self.row_colors.max(initial=-1)) + 1
        self._plans = {}
        self._recipe = None     # () -> full-matrix recipe, set by build_coloring (lazy)
        self._full = None       # the recipe once computed
        self._validated = {}

    @property
    def method(self):
        """Deprecated: the bicoloring of a ``bidirectional`` coloring; see ``decompression``."""
        warnings.warn("Coloring.method is deprecated; use Coloring.decompression ('direct' for "
                      "a star, 'substitution' for an acyclic coloring).", DeprecationWarning,
                      stacklevel=2)
        if self.problem != "bidirectional":
            return None
        return "acyclic" if self.decompression == "substitution" else "star"

    def __repr__(self):
        return (f"Coloring(problem={self.problem!r}, order={self.order!r}, shape={self.shape}, "
                f"n_colors={self.n_colors})")

    # ------------------------------------------------------------ seeds
    def _seed(self, colors, p, sparse=False):
        k = colors.size
        keep = colors >= 0
        s = sp.csr_array((np.ones(int(keep.sum())), (np.flatnonzero(keep), colors[keep])),
                         shape=(k, p))
        return s if sparse else s.toarray()

    def seed_matrix(self, *, sparse=False):
        """The seed matrix ``S`` with ``S[v, colors[v]] = 1``.

        Returns
        -------
        numpy.ndarray or tuple of numpy.ndarray
            ``(n, p)`` for ``column`` and symmetric problems, ``(m, p)`` for
            ``row``, and ``(Sc, Sr)`` of shapes ``(n, pc)`` and ``(m, pr)`` for
            ``bidirectional``. float64 (a ``csr_array`` with ``sparse=True``).

        Examples
        --------
        >>> import scipy.sparse as sp, sparsead as sa
        >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
        >>> c = sa.color(A, "column")
        >>> S = c.seed_matrix()
        >>> bool((c.decompress(A @ S) != A).nnz == 0)
        True
        """
        if self.problem == "bidirectional":
            return (self._seed(self.column_colors, self.n_column_colors, sparse),
                    self._seed(self.row_colors, self.n_row_colors, sparse))
        return self._seed(self.colors, self.n_colors, sparse)

    # ------------------------------------------------------------ compress
    def _check_matrix(self, A, name="A"):
        if sp.issparse(A):
            a = as_csr(A, name)
            if a.shape != self.shape:
                raise DecompressionError(
                    f"`{name}` must have the pattern's shape {self.shape}, got {a.shape}.")
            return sp.csr_array(a, dtype=np.float64)
        try:
            a = np.asarray(A, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DecompressionError(f"`{name}` must be a real matrix of shape {self.shape} "
                                     f"(dense or scipy.sparse), got {type(A).__name__} "
                                     f"({exc}).") from None
        if a.shape != self.shape:
            raise DecompressionError(
                f"`{name}` must have the pattern's shape {self.shape}, got {a.shape}.")
        return a

    def compress(self, A):
        """Compressed products of ``A`` with the seed matrix.

        ``column``: ``A @ S`` (m x p); ``row``: ``S.T @ A`` (p x n); symmetric
        problems: ``A @ S`` (n x p); ``bidirectional``: ``(A @ Sc, Sr.T @ A)``.

        Examples
        --------
        >>> import scipy.sparse as sp, sparsead as sa
        >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
        >>> c = sa.color(A, "row")
        >>> bool((c.decompress(c.compress(A)) != A).nnz == 0)
        True
        """
        a = self._check_matrix(A)

        def dense(x):
            return np.ascontiguousarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)

        if self.problem == "bidirectional":
            sc, sr = self.seed_matrix(sparse=True)
            return dense(a @ sc), dense(sr.T @ a)
        s = self._seed(self.colors, self.n_colors, sparse=True)
        if self.problem == "row":
            return dense(s.T @ a)
        return dense(a @ s)

    def _b_shapes(self):
        m, n = self.shape
        if self.problem == "row":
            return (self.n_colors, n)
        if self.problem == "bidirectional":
            return ((m, self.n_column_colors), (self.n_row_colors, n))
        return (m, self.n_colors)

    def _flat_b(self, B):
        shapes = self._b_shapes()
        if self.problem == "bidirectional":
            if not (isinstance(B, (tuple, list)) and len(B) == 2):
                raise DecompressionError(
                    "`B` must be the pair (A @ Sc, Sr.T @ A) returned by compress() for a "
                    f"bidirectional coloring, got {type(B).__name__}.")
            b1 = as_compressed(B[0], shapes[0], "B[0]")
            b2 = as_compressed(B[1], shapes[1], "B[1]")
            return b1.reshape(-1), b2.reshape(-1)
        b1 = as_compressed(B, shapes, "B")
        return b1.reshape(-1), np.zeros(0)

    # ------------------------------------------------------------ decompress
    def _plan(self, triangle):
        """The decompression :class:`~.decompression.Plan` of ``triangle``, built at first use."""
        sym = self.problem in SYMMETRIC
        dc.check_triangle(triangle, self.problem, sym)
        if triangle in self._plans:
            return self._plans[triangle]
        if self.problem == "distance1":
            raise ColoringError(
                "a distance-1 coloring does not determine the matrix: use problem='star' "
                "(or 'distance2', 'acyclic') to decompress Hessians.")
        if not callable(self._recipe):
            raise ColoringError("this Coloring has no decompression recipe; make it with "
                                "sparsead.color().")
        if self._full is None:
            self._full = self._recipe()
        plan = dc.build_plan(self.pattern, sym, self._full, triangle)
        self._plans[triangle] = plan
        return plan

    def decompress(self, B, *, triangle="full", out=None):
        """Recover the matrix from its compressed products ``B``.

        Parameters
        ----------
        B : numpy.ndarray or tuple of numpy.ndarray
            What :meth:`compress` returns (of the same shapes).
        triangle : {"full", "lower", "upper"}
            For symmetric problems: return both triangles or only one.
        out : scipy.sparse.csr_array, optional
            Write into the ``data`` of this preallocated result instead (it
            must have exactly the structure :meth:`decompress` returns; for
            symmetric problems the full pattern or one triangle, recognised
            from its structure) and return it. The structure check is an
            identity test once the same ``out`` has been seen.

        Returns
        -------
        scipy.sparse.csr_array
            float64, exactly the pattern (or its triangle), sorted indices.

        Raises
        ------
        DecompressionError
            If ``B`` has the wrong shape or ``triangle`` is unknown.
        ColoringError
            For ``distance1`` colorings, which do not allow decompression.

        Examples
        --------
        >>> import numpy as np, scipy.sparse as sp, sparsead as sa
        >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
        >>> A.data[:] = np.arange(1, A.nnz + 1)
        >>> c = sa.color(A, "bidirectional")
        >>> J = c.decompress(c.compress(A))
        >>> bool((J != A).nnz == 0)
        True
        >>> c.decompress(c.compress(2 * A), out=J) is J
        True
        """
        if out is not None:
            check_out(out, "allocate it once with out = coloring.decompress(B)")
            plan = self._match(out, triangle)
            dc.run_plan(plan, *self._flat_b(B), out.data)
            return out
        plan = self._plan(triangle)
        b1, b2 = self._flat_b(B)
        res, data = dc.new_output(plan.out)
        dc.run_plan(plan, b1, b2, data)
        return res

    def decompress_into(self, B, out):
        """Deprecated alias of ``decompress(B, out=out)`` (kept for one release)."""
        warnings.warn("Coloring.decompress_into(B, out) is deprecated; use "
                      "Coloring.decompress(B, out=out).", DeprecationWarning, stacklevel=2)
        return self.decompress(B, out=out)

    def _match(self, out, triangle="full"):
        """The plan whose output structure ``out`` has (any triangle of a symmetric problem)."""
        cached = self._validated.get("last")
        if (cached is not None and cached[0] is out.indptr and cached[1] is out.indices
                and out.data.size == cached[2].out.nnz):
            return cached[2]
        dc.check_triangle(triangle, self.problem, self.problem in SYMMETRIC)
        triangles = TRIANGLES if self.problem in SYMMETRIC[1:] else ("full",)
        for tri in sorted(triangles, key=lambda t: t != triangle):
            plan = self._plan(tri)
            if dc.same_structure(out, plan.out):
                self._validated["last"] = (out.indptr, out.indices, plan)
                return plan
        raise DecompressionError(
            f"`out` must have exactly the coloring's pattern (shape {self.shape}, nnz "
            f"{self.pattern.nnz}{' or one triangle' if len(triangles) > 1 else ''}), got "
            f"shape {out.shape} with {out.data.size} values and a different structure; allocate it "
            "with coloring.decompress(B).")


# ---------------------------------------------------------------- builders


def build_coloring(graph, problem, order, raw, root, *, postprocess=True, method="star"):
    """The :class:`Coloring` of raw colors: post-processed, with a lazy decompression recipe."""
    res = dc.postprocess(graph, problem, raw, root, postprocess=postprocess, method=method)
    bidi = problem == "bidirectional"
    c = Coloring(problem, order, graph.extra["source"] if bidi else graph.pattern, res.colors,
                 res.n_colors, method=method if bidi else None,
                 column_colors=res.column_colors, row_colors=res.row_colors)
    c._recipe = res.recipe
    return c
