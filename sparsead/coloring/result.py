"""The :class:`Coloring` result: colors, seed matrices, compression and decompression.

Fed by :mod:`sparsead.coloring.greedy` (raw colors of a problem graph). Here
the raw colors are post-processed (for star, acyclic and bidirectional
colorings, colors that no decompression reads become neutral, ``-1``, and the
rest are renumbered ``0..p-1``), and the decompression plan is computed once:
a list of index maps that turns ``decompress`` into one gather (plus, for
acyclic colorings, one substitution sweep over the two-colored trees) run by
:func:`sparsead._kernels.decompress.run_plan`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._errors import ColoringError, DecompressionError
from .._kernels import lazy, readonly_flat
from .._validation import as_compressed, as_csr, check_out
from . import graphs

kd = lazy("decompress")  # Numba is imported at the first kernel call

TRIANGLES = ("full", "lower", "upper")
_E = np.zeros(0, dtype=np.int64)
_PTR0 = np.zeros(1, dtype=np.int64)


class Plan(NamedTuple):
    """Index maps of one decompression target (see :func:`run_plan`).

    ``out`` is the boolean pattern written; ``g_out``/``g_src`` the direct
    gather, ``s_*`` the substitution steps, ``c_dst``/``c_src`` the copies to
    mirror positions. Sources ``s >= 0`` index the flattened first compressed
    matrix, ``s < 0`` the second one at ``-s - 1``.
    """
    out: sp.csr_array
    g_out: np.ndarray
    g_src: np.ndarray
    s_out: np.ndarray
    s_src: np.ndarray
    s_ptr: np.ndarray
    s_sub: np.ndarray
    c_dst: np.ndarray
    c_src: np.ndarray


def _i64(x):
    return np.ascontiguousarray(x, dtype=np.int64)


def _renumber(raw_colors, keep_colors):
    """Map raw color -> new color (``-1`` for colors not kept), kept colors in increasing order."""
    nc = int(raw_colors.max()) + 1 if raw_colors.size else 0
    newc = np.full(max(nc, 1), -1, dtype=np.int64)
    keep = np.unique(keep_colors)
    keep = keep[keep >= 0]
    newc[keep] = np.arange(keep.size, dtype=np.int64)
    return newc, int(keep.size)


def _apply(newc, raw):
    """``newc[raw]`` with neutral raw colors (``-1``) kept neutral."""
    return np.where(raw >= 0, newc[np.maximum(raw, 0)], -1) if raw.size else raw


def _tree_schedule(graph, raw, root):
    """Leaf-elimination schedule over the acyclic coloring's two-colored trees."""
    adj = graph.adj
    canon = np.flatnonzero(root >= 0)
    arows = graphs.row_ids(adj.ptr)
    rts = root[canon]
    o = np.argsort(rts, kind="stable")
    canon = _i64(canon[o])
    rts = rts[o]
    eu = arows[canon]
    ev = adj.idx[canon]
    # an edge next to a neutral vertex (a tree of its own) is read at the neutral end
    flip = raw[ev] < 0
    eu, ev = _i64(np.where(flip, ev, eu)), _i64(np.where(flip, eu, ev))
    n_e = canon.size
    bounds = np.flatnonzero(np.diff(rts)) + 1 if n_e else _E
    tree_ptr = _i64(np.concatenate([[0], bounds, [n_e]])) if n_e else _PTR0
    step_edge = np.empty(n_e, dtype=np.int64)
    step_row = np.empty(n_e, dtype=np.int64)
    step_col = np.empty(n_e, dtype=np.int64)
    sub_ptr = np.zeros(n_e + 1, dtype=np.int64)
    sub_edge = np.empty(2 * n_e + 1, dtype=np.int64)
    n_steps, n_sub = kd.tree_substitution(adj.ptr, adj.idx, eu, ev, tree_ptr, raw, step_edge,
                                          step_row, step_col, sub_ptr, sub_edge)
    if n_steps != n_e:
        raise ColoringError("the colors are not an acyclic coloring (a two-colored cycle "
                            "remains); decompression by substitution is impossible.")
    return canon, eu, ev, step_edge, step_row, step_col, sub_ptr, sub_edge[:n_sub]


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
    n_colors : int
        Number of compressed products (for ``bidirectional``:
        ``n_column_colors + n_row_colors``).
    column_colors, row_colors, n_column_colors, n_row_colors
        Only for ``bidirectional``: the JVP side and the VJP side.

    Notes
    -----
    Decompression plans are cached per target in ``_plans`` (a dict
    ``triangle -> Plan``); each :class:`Plan` holds plain int64 index arrays
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
        self.method = method
        self.pattern = pattern
        self.shape = tuple(pattern.shape)
        self.colors = colors
        self.n_colors = int(n_colors)
        if problem == "bidirectional":
            self.column_colors = column_colors
            self.row_colors = row_colors
            self.n_column_colors = int(column_colors.max()) + 1 if column_colors.size else 0
            self.n_row_colors = int(row_colors.max()) + 1 if row_colors.size else 0
            self.n_column_colors = max(self.n_column_colors, 0)
            self.n_row_colors = max(self.n_row_colors, 0)
        self._plans = {}
        self._full_plan = None  # problem-specific recipe, see _plan
        self._validated = {}

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
        if triangle not in TRIANGLES:
            raise DecompressionError(f"`triangle` must be one of {TRIANGLES}, got {triangle!r}.")
        if triangle in self._plans:
            return self._plans[triangle]
        if self.problem == "distance1":
            raise ColoringError(
                "a distance-1 coloring does not determine the matrix: use problem='star' "
                "(or 'distance2', 'acyclic') to decompress Hessians.")
        sym = self.problem in ("distance2", "star", "acyclic")
        if triangle != "full" and not sym:
            raise DecompressionError(
                f"`triangle={triangle!r}` needs a symmetric problem, this coloring is "
                f"{self.problem!r}; use triangle='full'.")
        kind, rec = self._full_plan
        p = self.pattern
        if not sym or triangle == "full":
            out, mask = p, None
        else:
            rows = graphs.row_ids(p.indptr)
            mask = p.indices <= rows if triangle == "lower" else p.indices >= rows
            out = sp.csr_array(sp.tril(p) if triangle == "lower" else sp.triu(p))
            out.sort_indices()
        nnz = out.nnz
        if kind == "gather":
            src = rec["src"] if mask is None else rec["src"][mask]
            plan = Plan(out, np.arange(nnz, dtype=np.int64), _i64(src), _E, _E, _PTR0, _E, _E, _E)
        else:
            edge_pos = rec["edge_pos"]            # full position of each edge, row < col
            diag_pos, diag_src = rec["diag_pos"], rec["diag_src"]
            c_dst = c_src = _E
            if mask is not None:
                loc = np.cumsum(mask) - 1
                if triangle == "upper":
                    edge_out = loc[edge_pos]
                else:
                    edge_out = loc[rec["mirror"][edge_pos]]
                diag_out = loc[diag_pos]
            elif rec.get("mirror") is not None:
                edge_out = edge_pos
                diag_out = diag_pos
                c_dst = _i64(rec["mirror"][edge_pos])
                c_src = _i64(edge_pos)
            else:
                edge_out, diag_out = edge_pos, diag_pos
            plan = Plan(out, _i64(diag_out), _i64(diag_src), _i64(edge_out[rec["step_edge"]]),
                        _i64(rec["step_src"]), _i64(rec["sub_ptr"]),
                        _i64(edge_out[rec["sub_edge"]]), c_dst, c_src)
        self._plans[triangle] = plan
        return plan

    def decompress(self, B, *, triangle="full"):
        """Recover the matrix from its compressed products ``B``.

        Parameters
        ----------
        B : numpy.ndarray or tuple of numpy.ndarray
            What :meth:`compress` returns (of the same shapes).
        triangle : {"full", "lower", "upper"}
            For symmetric problems: return both triangles or only one.

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
        >>> bool((c.decompress(c.compress(A)) != A).nnz == 0)
        True
        """
        plan = self._plan(triangle)
        b1, b2 = self._flat_b(B)
        out = plan.out
        data = np.empty(out.nnz, dtype=np.float64)
        self._run(plan, b1, b2, data)
        return sp.csr_array((data, out.indices.copy(), out.indptr.copy()), shape=out.shape)

    @staticmethod
    def _run(plan, b1, b2, data):
        kd.run_plan(readonly_flat(b1), readonly_flat(b2), plan.g_out, plan.g_src, plan.s_out,
                    plan.s_src, plan.s_ptr, plan.s_sub, plan.c_dst, plan.c_src, data)

    def decompress_into(self, B, out):
        """Decompress ``B`` into the ``data`` of a preallocated ``csr_array`` and return it.

        ``out`` must have exactly the pattern of :meth:`decompress`'s result
        (for symmetric problems: the full pattern or one triangle, recognised
        from its structure) and float64 data. The structure check is an
        identity test once the same ``out`` has been seen, an ``array_equal``
        otherwise.

        Examples
        --------
        >>> import scipy.sparse as sp, sparsead as sa
        >>> A = sp.random_array((4, 6), density=0.4, rng=0, format="csr")
        >>> c = sa.color(A, "column")
        >>> out = c.decompress(c.compress(A))
        >>> out.data[:] = 0
        >>> bool((c.decompress_into(c.compress(A), out) != A).nnz == 0)
        True
        """
        check_out(out, "allocate it once with out = coloring.decompress(B)")
        plan = self._match(out)
        b1, b2 = self._flat_b(B)
        self._run(plan, b1, b2, out.data)
        return out

    def _match(self, out):
        cached = self._validated.get("last")
        if (cached is not None and cached[0] is out.indptr and cached[1] is out.indices
                and out.data.size == cached[2].out.nnz):
            return cached[2]
        triangles = ("full", "lower", "upper") if self.problem in (
            "distance2", "star", "acyclic") else ("full",)
        for tri in triangles:
            plan = self._plan(tri)
            o = plan.out
            if (out.shape == o.shape and out.data.size == o.nnz
                    and np.shape(out.indptr) == o.indptr.shape
                    and np.shape(out.indices) == o.indices.shape
                    and np.array_equal(out.indptr, o.indptr)
                    and np.array_equal(out.indices, o.indices)):
                self._validated["last"] = (out.indptr, out.indices, plan)
                return plan
        raise DecompressionError(
            f"`out` must have exactly the coloring's pattern (shape {self.shape}, nnz "
            f"{self.pattern.nnz}{' or one triangle' if len(triangles) > 1 else ''}), got "
            f"shape {out.shape} with {out.data.size} values and a different structure; allocate it "
            "with coloring.decompress(B).")


# ---------------------------------------------------------------- builders


def build_coloring(graph, problem, order, raw, root, *, postprocess=True, method="star"):
    """Post-process raw colors and attach the decompression recipe."""
    if problem == "bidirectional":
        return _bidirectional(graph, order, raw, root, postprocess, method)
    p = graph.pattern
    rows = graphs.row_ids(p.indptr)
    cols = p.indices
    if problem in ("column", "row", "distance1"):
        nc = int(raw.max()) + 1 if raw.size else 0
        c = Coloring(problem, order, p, raw, nc)
        if problem == "column":
            c._full_plan = ("gather", {"src": rows * nc + raw[cols]})
        elif problem == "row":
            c._full_plan = ("gather", {"src": raw[rows] * p.shape[1] + cols})
        return c
    n = p.shape[0]
    if problem in ("distance2", "star"):
        read_row = np.empty(p.nnz, dtype=np.int64)
        read_col = np.empty(p.nnz, dtype=np.int64)
        ok = kd.direct_reads(_i64(p.indptr), _i64(cols), raw, read_row, read_col) if n else True
        if not ok:
            raise ColoringError(f"internal error: the {problem} coloring does not allow "
                                "direct decompression.")
        diag = raw[rows[cols == rows]]
        if problem == "star" and postprocess:
            newc, nc = _renumber(raw, np.concatenate([read_col, diag]))
        else:
            newc, nc = _renumber(raw, raw)
        colors = newc[raw] if raw.size else raw
        c = Coloring(problem, order, p, colors, nc)
        c._full_plan = ("gather", {"src": read_row * nc + newc[read_col] if p.nnz else _E})
        return c
    # acyclic
    canon, eu, ev, step_edge, step_row, step_col, sub_ptr, sub_edge = _tree_schedule(graph, raw, root)
    dmask = cols == rows
    diag_pos = np.flatnonzero(dmask)
    diag_rows = rows[dmask]
    keep = np.concatenate([step_col, raw[diag_rows]]) if postprocess else raw
    newc, nc = _renumber(raw, keep)
    colors = newc[raw] if raw.size else raw
    mirror = graphs.mirror_positions(_i64(p.indptr), _i64(cols), n)
    fp = graph.adj.pattern_pos[canon]
    fp = np.where(eu < ev, fp, mirror[fp])
    c = Coloring("acyclic", order, p, colors, nc)
    c._full_plan = ("tree", {
        "edge_pos": _i64(fp), "mirror": mirror, "diag_pos": _i64(diag_pos),
        "diag_src": _i64(diag_rows * nc + newc[raw[diag_rows]]),
        "step_edge": step_edge, "step_src": _i64(step_row * nc + newc[step_col]),
        "sub_ptr": sub_ptr, "sub_edge": sub_edge,
    })
    return c


def _bidirectional(graph, order, raw, root, postprocess, method):
    a = graph.extra["source"]
    m, n = a.shape
    apos = graph.extra["apos"]
    h = graph.pattern
    # the kernels color each side from its own palette: make the row colors distinct numbers
    raw = raw.copy()
    shift = int(raw[:n].max()) + 1 if n else 0
    raw[n:] = np.where(raw[n:] >= 0, raw[n:] + max(shift, 0), -1)

    def sides(jvp_keep, vjp_keep):
        newj, pc = _renumber(raw, jvp_keep)
        newr, pr = _renumber(raw, vjp_keep)
        return newj, newr, pc, pr, _apply(newj, raw[:n]), _apply(newr, raw[n:])

    def encode(r, col, newj, newr, pc, pr):
        jvp = r >= n
        return np.where(jvp, (r - n) * pc + newj[col], -(newr[col] * n + r) - 1)

    if method == "star":
        read_row = np.empty(h.nnz, dtype=np.int64)
        read_col = np.empty(h.nnz, dtype=np.int64)
        ok = kd.direct_reads(_i64(h.indptr), _i64(h.indices), raw, read_row, read_col) \
            if n + m else True
        if not ok:
            raise ColoringError("internal error: the star bicoloring does not allow direct "
                                "decompression.")
        lower = np.flatnonzero(apos >= 0)
        t = apos[lower]
        rr = np.empty(a.nnz, dtype=np.int64)
        rc = np.empty(a.nnz, dtype=np.int64)
        rr[t] = read_row[lower]
        rc[t] = read_col[lower]
        if postprocess:
            sel = rr >= n
            newj, newr, pc, pr, colc, rowc = sides(rc[sel], rc[~sel])
        else:
            newj, newr, pc, pr, colc, rowc = sides(raw[:n], raw[n:])
        src = encode(rr, rc, newj, newr, pc, pr) if a.nnz else _E
        recipe = ("gather", {"src": src})
    else:
        canon, eu, ev, step_edge, step_row, step_col, sub_ptr, sub_edge = _tree_schedule(
            graph, raw, root)
        if postprocess:
            sel = step_row >= n
            newj, newr, pc, pr, colc, rowc = sides(step_col[sel], step_col[~sel])
        else:
            newj, newr, pc, pr, colc, rowc = sides(raw[:n], raw[n:])
        hp = graph.adj.pattern_pos[canon]
        ap = apos[hp]
        ap = np.where(ap >= 0, ap, -ap - 1)
        recipe = ("tree", {
            "edge_pos": _i64(ap), "mirror": None, "diag_pos": _E, "diag_src": _E,
            "step_edge": step_edge,
            "step_src": _i64(encode(step_row, step_col, newj, newr, pc, pr)) if step_row.size else _E,
            "sub_ptr": sub_ptr, "sub_edge": sub_edge,
        })
    c = Coloring("bidirectional", order, a, np.concatenate([colc, rowc]), pc + pr, method=method,
                 column_colors=colc, row_colors=rowc)
    c.n_column_colors, c.n_row_colors = pc, pr
    c._full_plan = recipe
    return c
