"""Decompression: post-processing of raw colors, decompression plans and their index maps.

Fed by :mod:`sparsead.coloring.greedy` (raw colors of a problem graph) and
used by :mod:`sparsead.coloring.result` (``Coloring.decompress``) and the
prepared operators (:class:`Decompressor`, which reads compressed blocks in the
lane layout of the backend). Three steps, in the order they run:

1. :func:`postprocess` -- colors that no decompression reads become neutral
   (``-1``, star, acyclic and bidirectional colorings) and the rest are
   renumbered ``0..p-1``. It returns a *recipe*: a thunk that computes the
   full-matrix index maps only when a plan is first asked for, so that the
   colorings an order search or ``mode="auto"`` discards never pay for them.
2. :func:`build_plan` -- the recipe restricted to a target (``full``,
   ``lower`` or ``upper`` triangle): a :class:`Plan` of plain int64 arrays.
3. :func:`run_plan` / :class:`Decompressor` -- one gather (plus, for acyclic
   colorings, one substitution sweep over the two-colored trees and mirror
   copies) by :func:`sparsead._kernels.decompress.run_plan`; or, fused, the
   compiled lane kernels write ``data`` through per-block maps and
   :func:`sparsead._kernels.decompress.finish_in_place` solves in place.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._errors import ColoringError, DecompressionError
from .._kernels import lazy, readonly_flat
from .._validation import check_choice
from . import graphs
from .shared_csr import SharedCSR

kd = lazy("decompress")  # Numba is imported at the first kernel call

TRIANGLES = ("full", "lower", "upper")
_E = np.zeros(0, dtype=np.int64)
_PTR0 = np.zeros(1, dtype=np.int64)
_EF = np.zeros(0)


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


class Colors(NamedTuple):
    """What :func:`postprocess` returns: final colors, their count and the lazy recipe."""
    colors: np.ndarray
    n_colors: int
    recipe: object                     # () -> ("gather" | "tree", dict of index arrays)
    column_colors: np.ndarray | None = None
    row_colors: np.ndarray | None = None


def _i64(x):
    return np.ascontiguousarray(x, dtype=np.int64)


def _renumber(raw_colors, keep_colors):
    """Map raw color -> new color (``-1`` for colors not kept), kept colors in increasing order."""
    nc = int(raw_colors.max()) + 1 if raw_colors.size else 0
    kept = np.zeros(max(nc, 1), dtype=bool)
    keep = np.asarray(keep_colors)
    kept[keep[keep >= 0]] = True                 # O(n) marking instead of np.unique's sort/hash
    newc = np.full(kept.size, -1, dtype=np.int64)
    idx = np.flatnonzero(kept)
    newc[idx] = np.arange(idx.size, dtype=np.int64)
    return newc, int(idx.size)


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


def pattern_mirror(graph):
    """For each stored ``(i, j)`` of ``graph.pattern``, the position of ``(j, i)`` (a diagonal
    entry: its own), read off the adjacency's edge ids (no search, no transpose)."""
    adj, nnz = graph.adj, graph.pattern.nnz
    eid = _i64(adj.eid)
    q = np.arange(eid.size, dtype=np.int64)
    partner = eid.copy()                  # the larger copy of an edge: eid is its partner
    upper = eid < q
    partner[eid[upper]] = q[upper]        # the smaller copy: the one pointing at it
    pos = _i64(adj.pattern_pos)
    mirror = np.arange(nnz, dtype=np.int64)
    mirror[pos] = pos[partner]
    return mirror


def _direct_reads(graph, raw, what):
    """Where each stored entry of a symmetric pattern is read in ``B = H S`` (star colorings)."""
    p = graph.pattern
    read_row = np.empty(p.nnz, dtype=np.int64)
    read_col = np.empty(p.nnz, dtype=np.int64)
    ok = kd.direct_reads(_i64(p.indptr), _i64(p.indices), pattern_mirror(graph), raw,
                         read_row, read_col) if p.shape[0] else True
    if not ok:
        raise ColoringError(f"internal error: the {what} does not allow direct decompression.")
    return read_row, read_col


# ---------------------------------------------------------------- post-processing


def postprocess(graph, problem, raw, root, *, postprocess=True, method="star"):
    """Final colors of ``problem`` from raw greedy colors, and the lazy full-matrix recipe."""
    if problem == "bidirectional":
        return _bidirectional(graph, raw, root, postprocess, method)
    p = graph.pattern
    if problem in ("column", "row", "distance1"):
        nc = int(raw.max()) + 1 if raw.size else 0

        def gather():
            rows, cols = graphs.row_ids(p.indptr), p.indices
            if problem == "column":
                return "gather", {"src": rows * nc + raw[cols]}
            return "gather", {"src": raw[rows] * p.shape[1] + cols}
        return Colors(raw, nc, None if problem == "distance1" else gather)
    if problem in ("distance2", "star"):
        read_row, read_col = _direct_reads(graph, raw, f"{problem} coloring")
        if problem == "star" and postprocess:
            rows = graphs.row_ids(p.indptr)
            diag = raw[rows[p.indices == rows]]
            newc, nc = _renumber(raw, np.concatenate([read_col, diag]))
        else:
            newc, nc = _renumber(raw, raw)
        colors = newc[raw] if raw.size else raw
        return Colors(colors, nc, lambda: (
            "gather", {"src": read_row * nc + newc[read_col] if p.nnz else _E}))
    return _acyclic(graph, raw, root, postprocess)


def _acyclic(graph, raw, root, postprocess):
    p = graph.pattern
    cols = p.indices
    rows = graphs.row_ids(p.indptr)
    canon, eu, ev, step_edge, step_row, step_col, sub_ptr, sub_edge = _tree_schedule(graph, raw,
                                                                                     root)
    dmask = cols == rows
    diag_rows = rows[dmask]
    keep = np.concatenate([step_col, raw[diag_rows]]) if postprocess else raw
    newc, nc = _renumber(raw, keep)
    colors = newc[raw] if raw.size else raw

    def tree():
        mirror = pattern_mirror(graph)
        fp = graph.adj.pattern_pos[canon]
        fp = np.where(eu < ev, fp, mirror[fp])
        return "tree", {
            "edge_pos": _i64(fp), "mirror": mirror, "diag_pos": _i64(np.flatnonzero(dmask)),
            "diag_src": _i64(diag_rows * nc + newc[raw[diag_rows]]),
            "step_edge": step_edge, "step_src": _i64(step_row * nc + newc[step_col]),
            "sub_ptr": sub_ptr, "sub_edge": sub_edge}
    return Colors(colors, nc, tree)


def _bidirectional(graph, raw, root, postprocess, method):
    a = graph.extra["source"]
    m, n = a.shape
    apos = graph.extra["apos"]
    # the kernels color each side from its own palette: make the row colors distinct numbers
    raw = raw.copy()
    shift = int(raw[:n].max()) + 1 if n else 0
    raw[n:] = np.where(raw[n:] >= 0, raw[n:] + max(shift, 0), -1)

    def sides(jvp_keep, vjp_keep):
        newj, pc = _renumber(raw, jvp_keep)
        newr, pr = _renumber(raw, vjp_keep)
        return newj, newr, pc, pr, _apply(newj, raw[:n]), _apply(newr, raw[n:])

    def encode(r, col):
        jvp = r >= n
        return np.where(jvp, (r - n) * pc + newj[col], -(newr[col] * n + r) - 1)

    if method == "star":
        read_row, read_col = _direct_reads(graph, raw, "star bicoloring")
        lower = np.flatnonzero(apos >= 0)
        t = apos[lower]
        rr = np.empty(a.nnz, dtype=np.int64)
        rc = np.empty(a.nnz, dtype=np.int64)
        rr[t] = read_row[lower]
        rc[t] = read_col[lower]
        sel = rr >= n
        newj, newr, pc, pr, colc, rowc = (sides(rc[sel], rc[~sel]) if postprocess
                                          else sides(raw[:n], raw[n:]))

        def recipe():
            return "gather", {"src": encode(rr, rc) if a.nnz else _E}
    else:
        canon, eu, ev, step_edge, step_row, step_col, sub_ptr, sub_edge = _tree_schedule(
            graph, raw, root)
        sel = step_row >= n
        newj, newr, pc, pr, colc, rowc = (sides(step_col[sel], step_col[~sel]) if postprocess
                                          else sides(raw[:n], raw[n:]))

        def recipe():
            ap = apos[graph.adj.pattern_pos[canon]]
            ap = np.where(ap >= 0, ap, -ap - 1)
            return "tree", {
                "edge_pos": _i64(ap), "mirror": None, "diag_pos": _E, "diag_src": _E,
                "step_edge": step_edge,
                "step_src": _i64(encode(step_row, step_col)) if step_row.size else _E,
                "sub_ptr": sub_ptr, "sub_edge": sub_edge}
    return Colors(np.concatenate([colc, rowc]), pc + pr, recipe, colc, rowc)


# ---------------------------------------------------------------- plans


def build_plan(pattern, symmetric, recipe, triangle):
    """The :class:`Plan` writing ``triangle`` of ``pattern`` from a full-matrix recipe."""
    kind, rec = recipe
    p = pattern
    if not symmetric or triangle == "full":
        out, mask = p, None
    else:
        rows = graphs.row_ids(p.indptr)
        mask = p.indices <= rows if triangle == "lower" else p.indices >= rows
        out = sp.csr_array(sp.tril(p) if triangle == "lower" else sp.triu(p))
        out.sort_indices()
    nnz = out.nnz
    if kind == "gather":
        src = rec["src"] if mask is None else rec["src"][mask]
        return Plan(out, np.arange(nnz, dtype=np.int64), _i64(src), _E, _E, _PTR0, _E, _E, _E)
    edge_pos = rec["edge_pos"]            # full position of each edge, row < col
    diag_pos, diag_src = rec["diag_pos"], rec["diag_src"]
    c_dst = c_src = _E
    if mask is not None:
        loc = np.cumsum(mask) - 1
        edge_out = loc[edge_pos] if triangle == "upper" else loc[rec["mirror"][edge_pos]]
        diag_out = loc[diag_pos]
    elif rec.get("mirror") is not None:
        edge_out, diag_out = edge_pos, diag_pos
        c_dst, c_src = _i64(rec["mirror"][edge_pos]), _i64(edge_pos)
    else:
        edge_out, diag_out = edge_pos, diag_pos
    return Plan(out, _i64(diag_out), _i64(diag_src), _i64(edge_out[rec["step_edge"]]),
                _i64(rec["step_src"]), _i64(rec["sub_ptr"]), _i64(edge_out[rec["sub_edge"]]),
                c_dst, c_src)


def run_plan(plan, b1, b2, data):
    """Fill ``data`` (of a csr_array with ``plan.out``'s structure) from flat ``b1``/``b2``."""
    kd.run_plan(readonly_flat(b1), readonly_flat(b2), plan.g_out, plan.g_src, plan.s_out,
                plan.s_src, plan.s_ptr, plan.s_sub, plan.c_dst, plan.c_src, data)


def same_structure(out, pattern) -> bool:
    """Whether csr ``out`` has exactly ``pattern``'s shape, nnz, ``indptr`` and ``indices``."""
    return (out.shape == pattern.shape and out.data.size == pattern.nnz
            and np.shape(out.indptr) == pattern.indptr.shape
            and np.shape(out.indices) == pattern.indices.shape
            and np.array_equal(out.indptr, pattern.indptr)
            and np.array_equal(out.indices, pattern.indices))


def new_output(pattern):
    """A fresh float64 csr_array with ``pattern``'s structure, and its (uninitialised) data."""
    data = np.empty(pattern.nnz, dtype=np.float64)
    res = sp.csr_array((data, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape,
                       copy=False)
    res.has_sorted_indices = True
    return res, data


# ---------------------------------------------------------------- lane layouts


def _remap(src, shape):
    """Source indices into a C-order (r, c) matrix -> indices into its transpose."""
    src = np.asarray(src, dtype=np.int64)
    r, c = shape
    if c == 0 or src.size == 0:
        return src.copy()
    pos = src >= 0
    s = src[pos]
    out = src.copy()
    out[pos] = (s % c) * r + s // c
    return out


def _remap_neg(src, shape):
    src = np.asarray(src, dtype=np.int64)
    neg = src < 0
    if not neg.any():
        return src
    out = src.copy()
    out[neg] = -_remap(-src[neg] - 1, shape) - 1
    return out


class Decompressor:
    """A plan with its sources remapped for compressed blocks stored transposed.

    ``shapes`` are the blocks' shapes as :meth:`Coloring.compress` returns them
    and ``transposed[k]`` says that the backend stores block ``k`` transposed
    (the numpy interpreter's lane-major layout), so no call transposes a block.

    A direct plan that reads one block (column, row and star colorings) runs as
    one gather ``data[k] = b[src[k]]`` (:func:`sparsead._kernels.decompress.gather`,
    32-bit sources when the block allows), split over ``threads`` threads when
    ``threads > 1``; substitution and bidirectional plans run
    :func:`run_plan`. With compiled lane kernels (:meth:`fuse`) every plan is
    fused: :meth:`run_fused` has the kernels write ``data`` through maps and
    finishes in place, with no block at all. :meth:`new_output` returns a fresh ``csr_array`` that
    shares one read-only copy of the output's ``indptr``/``indices``.
    """

    def __init__(self, plan, shapes, transposed, threads=1):
        g_src, s_src = plan.g_src, plan.s_src
        if transposed[0]:
            g_src = np.where(plan.g_src < 0, plan.g_src, _remap(g_src, shapes[0]))
            s_src = np.where(plan.s_src < 0, plan.s_src, _remap(s_src, shapes[0]))
        if len(shapes) > 1 and transposed[1]:
            g_src, s_src = _remap_neg(g_src, shapes[1]), _remap_neg(s_src, shapes[1])
        self.plan = plan._replace(g_src=_i64(g_src), s_src=_i64(s_src))
        self.out = plan.out
        self.threads = int(threads)
        self._src = _direct_sources(self.plan, shapes[0])
        self._n_blocks = len(shapes)
        self._fused = None
        self.strategy = None
        self._busy = threading.Lock()
        self._spare = weakref.WeakValueDictionary()
        self._indptr = _frozen(plan.out.indptr)
        self._indices = _frozen(plan.out.indices)
        self._template = None
        self._template = _template(self.new_output()[0])
        if self._template is not None:
            self._template.data = _EF           # never returned: no values to keep alive

    def new_output(self):
        """A fresh float64 ``csr_array`` of the output pattern and its (uninitialised) data.

        Its ``indptr``/``indices`` are the decompressor's read-only arrays (never
        written by a call, so earlier results stay valid; a :class:`SharedCSR`
        copies them before an in-place structure change). ``data`` is a view
        of a buffer one value longer: the spare slot of a fused kernel.
        """
        buf = np.empty(self.out.nnz + 1, dtype=np.float64)  # + the fused kernel's spare slot
        self._spare[id(buf)] = buf                          # weakly: the buffers we made
        data = buf[:-1]
        if self._template is None:
            res = SharedCSR((data, self._indices, self._indptr), shape=self.out.shape,
                            copy=False)
            res.has_sorted_indices = True
            return res, data
        # the template's attributes: the constructor's checks cost ~8 us (Brusselator N=32: 30)
        res = SharedCSR.__new__(SharedCSR)
        res.__dict__.update(self._template.__dict__)
        res.data = data
        res.indices = self._indices.view()      # views of read-only arrays: they cannot be
        res.indptr = self._indptr.view()        # made writeable (their base could)
        return res, data

    def owns_structure(self, out) -> bool:
        """Whether ``out`` is a matrix :meth:`new_output` made (shares its structure arrays)."""
        return (out.indptr.base is self._indptr or out.indptr is self._indptr) and (
            out.indices.base is self._indices or out.indices is self._indices)

    def fuse(self, into, n_cells, dtype):
        """Let :meth:`run_fused` call the lane kernels that write through maps; False if not.

        ``into`` is one kernel ``into(inputs, fmap, data)`` writing the plan's block
        (``n_cells`` cells, ``fmap`` of ``dtype``; an empty ``fmap``: the block itself)
        or, for a plan reading two blocks (bidirectional), a sequence of two kernels
        with sequences ``n_cells`` and ``dtype``. Not fused: a kernel is None.
        """
        many = isinstance(into, (list, tuple))
        cells = tuple(int(c) for c in n_cells) if many else (int(n_cells),)
        dtypes = tuple(np.int32 if d is None else d for d in (dtype if many else (dtype,)))
        # a block without lanes (one side of a bicoloring) has no kernel, nothing to write
        intos = tuple(_no_block if k is None and c == 0 else k
                      for k, c in zip(into if many else (into,), cells))
        self._fused = None
        if len(intos) != self._n_blocks or any(k is None for k in intos):
            return False
        maps = self.fused_maps(cells, dtypes)
        self._fused = (intos, cells, tuple(np.zeros(0, dtype=dt) for dt in dtypes), [],
                       maps)                                   # [] scratch: at first use
        self.strategy = "map" if maps is not None else "scratch"
        return True

    def run_fused(self, inputs, data):
        """Evaluate the lanes of ``inputs`` (one list per kernel) into ``data``; False (nothing
        done) if the plan is not fused.

        Strategy ``"map"`` (for a ``data`` that :meth:`new_output` made, with its
        spare slot): the kernels write each block cell where the plan reads it, then
        one compiled pass makes the copies and solves the trees in place. Strategy
        ``"scratch"`` (and any other ``data``): the kernels write their blocks into
        buffers reused across calls (a fresh one if another thread holds them),
        then the plan runs (:meth:`__call__`). Both give the same bits.
        """
        if self._fused is None:
            return False
        intos, cells, idents, scratch, maps = self._fused
        buf = data.base
        fast = self.strategy == "map" and maps is not None and \
            self._spare.get(id(buf)) is buf and buf.size == data.size + 1
        if fast and len(intos) == 1:
            intos[0](inputs[0], maps[0][0], buf)
            if len(maps[2]) > 2:
                kd.finish_in_place(data, _EF, *maps[2])
            elif maps[2][0].size:
                kd.copy_within(data, *maps[2])
            return True
        mine = self._busy.acquire(blocking=False)
        try:      # buffers reused across calls (fresh ones while another thread has them)
            if mine and not scratch:
                scratch += [np.empty(c) for c in cells] + [np.empty(maps[1] if maps else 0)]
            blocks = scratch if mine else [np.empty(c)
                                           for c in cells + (maps[1] if maps else 0,)]
            if fast:                      # two blocks: the second into its extra buffer
                intos[0](inputs[0], maps[0][0], buf)
                intos[1](inputs[1], maps[0][1], blocks[-1])
                kd.finish_in_place(data, blocks[-1], *maps[2])
                return True
            for into, ident, args, block in zip(intos, idents, inputs, blocks):
                into(args, ident, block)
            self(blocks[0], blocks[1] if len(blocks) > 2 else _EF, data)
        finally:
            if mine:
                self._busy.release()
        return True

    def fused_maps(self, n_cells, dtypes):
        """``(fmaps, n_extra, post)`` for kernels that write their blocks through maps, or None.

        ``fmaps[0][cell]``: the position in ``data`` that reads cell ``cell`` of the first
        block (C order of the kernel's ``(rows, p)`` block), ``nnz`` (a spare slot) if none.
        A second block (bidirectional) goes to its own buffer of ``n_extra`` values (a
        kernel whose block starts zeroed zeroes all of its ``fdata``). A cell read at
        several positions is written at one and copied to the others. ``post``: what
        :func:`sparsead._kernels.decompress.finish_in_place` takes after ``data`` and
        the extra buffer, or ``(dst, src)`` copies only (one block, no substitution).
        """
        plan, nnz = self.plan, self.out.nnz
        if nnz == 0 or len(n_cells) != self._n_blocks \
                or any(nnz >= np.iinfo(dt).max or n >= np.iinfo(dt).max
                       for n, dt in zip(n_cells, dtypes)):
            return None
        if self._src is not None:                 # direct, one block, positions in order
            pos, src = np.arange(nnz, dtype=np.int64), self._src.astype(np.int64)
        else:
            pos = np.concatenate([plan.g_out, plan.s_out])
            src = np.concatenate([plan.g_src, plan.s_src])
        fmaps, e_dst, d_dst, d_src, n_extra = [], _E, [_E], [_E], 0
        for b, (n, dt) in enumerate(zip(n_cells, dtypes)):
            sel = src >= 0 if b == 0 else src < 0
            cell = src[sel] if b == 0 else -src[sel] - 1
            at = pos[sel]
            reader = np.full(int(n), -1, dtype=np.int64)
            reader[cell] = np.arange(cell.size)          # one of a cell's readers wins
            first = reader[cell]
            dup = first != np.arange(cell.size)
            d_dst.append(at[dup])
            d_src.append(at[first[dup]])
            read = np.flatnonzero(reader >= 0)
            if b == 0:                                   # straight into data
                fmap = np.full(int(n), nnz, dtype=dt)
                fmap[read] = at[reader[read]]
            else:                                        # compact, copied into data after
                n_extra = read.size + 1
                fmap = np.full(int(n), read.size, dtype=dt)
                fmap[read] = np.arange(read.size)
                e_dst = at[reader[read]]
            fmaps.append(fmap)
        d_dst, d_src = np.concatenate(d_dst), np.concatenate(d_src)
        # the pass after the kernels streams these index arrays: 32 bits when they fit
        ix = np.int32 if max(nnz, plan.s_sub.size) < np.iinfo(np.int32).max else np.int64
        if not plan.s_out.size and len(fmaps) == 1:      # copies only
            post = (np.concatenate([d_dst, plan.c_dst]), np.concatenate([d_src, plan.c_src]))
        else:     # a mirror copy of a step's result is made by the step (value in a register)
            fold = np.zeros(nnz, dtype=bool)
            fold[plan.s_out] = True
            fold = fold[plan.c_src] & (np.bincount(plan.c_src, minlength=nnz)[plan.c_src] == 1)
            mir = np.full(nnz, -1, dtype=np.int64)
            mir[plan.c_src[fold]] = plan.c_dst[fold]
            post = (e_dst, d_dst, d_src, plan.s_out, mir[plan.s_out], plan.s_ptr, plan.s_sub,
                    plan.c_dst[~fold], plan.c_src[~fold])
        return tuple(fmaps), n_extra, tuple(np.ascontiguousarray(a, dtype=ix) for a in post)

    def __call__(self, b1, b2, data):
        src = self._src
        if src is None:
            run_plan(self.plan, b1, b2, data)
            return
        b = readonly_flat(b1)
        k = min(self.threads, max(1, src.size // _MIN_CHUNK))
        if k == 1:
            kd.gather(b, src, data, 0, src.size)
            return
        bounds = [src.size * t // k for t in range(k + 1)]
        pool = _pool(k)
        futures = [pool.submit(kd.gather, b, src, data, bounds[t], bounds[t + 1])
                   for t in range(1, k)]
        kd.gather(b, src, data, 0, bounds[1])
        for f in futures:
            f.result()


#: fewest entries per thread of a threaded gather (below it one thread does the work)
_MIN_CHUNK = 1 << 16
_POOLS: dict = {}


def _pool(k):
    """A shared pool of ``k - 1`` worker threads (the caller's thread is the k-th)."""
    pool = _POOLS.get(k)
    if pool is None:
        pool = _POOLS.setdefault(k, ThreadPoolExecutor(k - 1, thread_name_prefix="sparsead"))
    return pool


def _direct_sources(plan, shape):
    """The gather sources of a direct one-block plan writing ``0..nnz-1`` in order, else None."""
    nnz = plan.out.nnz
    if plan.s_out.size or plan.c_dst.size or plan.g_out.size != nnz:
        return None
    if nnz and not (np.array_equal(plan.g_out, np.arange(nnz)) and plan.g_src.min() >= 0):
        return None
    small = int(np.prod(shape)) < np.iinfo(np.int32).max
    return np.ascontiguousarray(plan.g_src, dtype=np.int32 if small else np.int64)


def _no_block(inputs, fmap, data):
    """The kernel of a block with no lanes: nothing to write."""


def _template(res):
    """``res`` if a copy of its ``__dict__`` makes an equal csr_array (else None: construct)."""
    other = SharedCSR.__new__(SharedCSR)
    other.__dict__.update(getattr(res, "__dict__", {}))
    same = type(res) is SharedCSR and getattr(other, "indices", None) is res.indices
    return res if same and getattr(other, "has_sorted_indices", False) else None


def _frozen(a):
    (a := np.array(a, copy=True)).flags.writeable = False
    return a


def check_triangle(triangle, problem, symmetric):
    """Refuse an unknown ``triangle`` or a triangle of a nonsymmetric problem."""
    check_choice(triangle, TRIANGLES, "triangle", DecompressionError)
    if triangle != "full" and not symmetric:
        raise DecompressionError(
            f"`triangle={triangle!r}` needs a symmetric problem, this coloring is "
            f"{problem!r}; use triangle='full'.")
