"""Array primitives (everything that is not an elementwise function), with their rules.

Each ``register`` call below is one primitive's complete entry: numpy
evaluation, shape rule, first-order sparsity (local Jacobian pattern per
input) and second-order classification; see ``registry.py`` for the formats.
The set is small on purpose: slicing, integer and mask indexing, ``roll``,
``flip``, ``pad``, ``tile``, ``repeat``, ``broadcast_to`` ... are all
``gather`` with a constant flat index map (``-1`` = a constant fill);
``__setitem__`` is ``scatter``; ``dot``/``matmul``/``outer``/``inner`` are
``einsum``; products with constant scipy.sparse matrices are ``spmatmul``.
"""

from __future__ import annotations

import numpy as np

from .registry import IDENTITY, Elementwise, Pattern, broadcast_map, register, _mask_map

__all__ = ["coo_pattern", "group_pattern", "einsum_parse", "strong_einsum"]


def coo_pattern(rows, cols, n_rows) -> Pattern:
    """CSR pattern from (row, col) pairs (pairs must be unique)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(cols, dtype=np.int64).reshape(-1)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return Pattern(indptr, cols[order])


def group_pattern(group, n_rows) -> Pattern:
    """Pattern whose row ``r`` lists the inputs ``j`` with ``group[j] == r`` (-1: none)."""
    group = np.asarray(group, dtype=np.int64).reshape(-1)
    cols = np.flatnonzero(group >= 0)
    return coo_pattern(group[cols], cols, n_rows)


def _dense_pattern(n_rows, n_cols) -> Pattern:
    indptr = np.arange(n_rows + 1, dtype=np.int64) * n_cols
    return Pattern(indptr, np.tile(np.arange(n_cols, dtype=np.int64), n_rows))


def _no_hess(ctx):
    return []


def _all_hess(ctx):
    return [("all",)]


def _aval(shape, dtype):
    return tuple(int(s) for s in shape), np.dtype(dtype)


# --- where and cast --------------------------------------------------------

def _where_deps(ctx):
    out = ctx.node.shape
    deps = [None, broadcast_map(ctx.in_nodes[1].shape, out),
            broadcast_map(ctx.in_nodes[2].shape, out)]
    cond = ctx.values[0]
    if cond is not None:   # a constant (or, in local mode, known) mask picks one branch
        cond = np.broadcast_to(np.asarray(cond, dtype=bool), out)
        deps[1] = _mask_map(deps[1], cond, ctx.node.size)
        deps[2] = _mask_map(deps[2], ~cond, ctx.node.size)
    return deps


register("where", impl=np.where,
         shape=lambda avals: _aval(np.broadcast_shapes(*[s for s, _ in avals]),
                                   np.result_type(avals[1][1], avals[2][1])),
         deps=_where_deps, hess=_no_hess,
         elementwise=Elementwise((False, True, True), ((False,) * 3,) * 3,
                                 ("bool", "real", "real")),
         doc="np.where(cond, a, b); global mode with a traced cond: union of both branches")


def _cast_deps(ctx):
    keep = np.issubdtype(ctx.params["dtype"], np.inexact)
    return [IDENTITY if keep else None]


register("cast", impl=lambda x, dtype: np.asarray(x).astype(dtype),
         shape=lambda avals, dtype: _aval(avals[0][0], dtype),
         deps=_cast_deps, hess=_no_hess,
         doc="astype: identity to a float dtype, no derivative to an integer/bool dtype")


# --- layout: reshape, transpose, gather, scatter, concatenate ---------------

register("reshape", impl=lambda x, shape: np.reshape(x, shape),
         shape=lambda avals, shape: _aval(shape, avals[0][1]),
         deps=lambda ctx: [IDENTITY], hess=_no_hess,
         doc="reshape in C order (also ravel, squeeze, expand_dims)")


def _transpose_deps(ctx):
    x = ctx.in_nodes[0]
    return [np.arange(x.size, dtype=np.int64).reshape(x.shape)
            .transpose(ctx.params["axes"]).reshape(-1)]


register("transpose", impl=lambda x, axes: np.transpose(x, axes),
         shape=lambda avals, axes: _aval(tuple(avals[0][0][a] for a in axes), avals[0][1]),
         deps=_transpose_deps, hess=_no_hess, doc="axis permutation (.T, swapaxes, moveaxis)")


def _gather_impl(x, index, fill=0.0):
    flat = np.reshape(x, -1)
    if flat.size == 0:
        return np.full(index.shape, fill, dtype=np.asarray(x).dtype)
    out = flat[np.maximum(index, 0)]
    if index.size and index.min() < 0:
        out[index < 0] = fill
    return out


register("gather", impl=_gather_impl,
         shape=lambda avals, index, fill=0.0: _aval(index.shape, avals[0][1]),
         deps=lambda ctx: [ctx.params["index"].reshape(-1)], hess=_no_hess,
         doc="out.flat[i] = x.flat[index.flat[i]] (or `fill` where index is -1)")


def _scatter_impl(base, values, index):
    out = np.array(base, copy=True).reshape(-1)
    out[index.reshape(-1)] = np.broadcast_to(values, index.shape).reshape(-1)
    return out.reshape(np.shape(base))


def _scatter_deps(ctx):
    base, vals = ctx.in_nodes
    index = ctx.params["index"].reshape(-1)
    keep = np.arange(base.size, dtype=np.int64)
    keep[index] = -1
    owner = np.full(base.size, -1, dtype=np.int64)
    owner[index] = np.arange(index.size, dtype=np.int64)   # last write wins, as in numpy
    vmap = broadcast_map(vals.shape, ctx.params["index"].shape)
    if vmap is not IDENTITY and index.size:
        owner = np.where(owner >= 0, vmap[np.maximum(owner, 0)], -1)
    return [keep, owner]


register("scatter", impl=_scatter_impl,
         shape=lambda avals, index: _aval(avals[0][0], avals[0][1]),
         deps=_scatter_deps, hess=_no_hess,
         doc="out = base; out.flat[index] = values (broadcast to index.shape); from __setitem__")


def _concat_deps(ctx):
    axis = ctx.params["axis"]
    owner = np.concatenate([np.full(nd.shape, k, dtype=np.int64)
                            for k, nd in enumerate(ctx.in_nodes)], axis=axis).reshape(-1)
    local = np.concatenate([np.arange(nd.size, dtype=np.int64).reshape(nd.shape)
                            for nd in ctx.in_nodes], axis=axis).reshape(-1)
    return [np.where(owner == k, local, -1) for k in range(len(ctx.in_nodes))]


def _concat_shape(avals, axis):
    shape = list(avals[0][0])
    for s, _ in avals:
        if len(s) != len(shape) or any(a != b for i, (a, b) in enumerate(zip(s, shape))
                                        if i != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation "
                             f"axis must match exactly; got shapes {[a[0] for a in avals]}")
    shape[axis] = sum(s[axis] for s, _ in avals)
    return _aval(shape, np.result_type(*[d for _, d in avals]))


register("concatenate", impl=lambda *xs, axis: np.concatenate(xs, axis=axis),
         shape=_concat_shape, deps=_concat_deps, hess=_no_hess,
         doc="np.concatenate along `axis` (also stack, hstack, vstack, append)")


# --- reductions ------------------------------------------------------------

def _reduced_shape(shape, axes):
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _group_of_inputs(in_shape, axes):
    """For each input element, the flat index of the output element it reduces into."""
    out_shape = _reduced_shape(in_shape, axes)
    idx = np.arange(int(np.prod(out_shape, dtype=np.int64)), dtype=np.int64).reshape(out_shape)
    idx = np.expand_dims(idx, tuple(sorted(axes))) if axes else idx
    return np.broadcast_to(idx, in_shape).reshape(-1)


def _reduce_deps(ctx):
    axes = ctx.params["axes"]
    group = _group_of_inputs(ctx.in_nodes[0].shape, axes)
    if ctx.node.prim in ("reduce_max", "reduce_min") and ctx.local and ctx.values[0] is not None:
        x = np.asarray(ctx.values[0])
        ext = np.max(x, axis=axes, keepdims=True) if ctx.node.prim == "reduce_max" \
            else np.min(x, axis=axes, keepdims=True)
        hit = (x == ext) | (np.isnan(x) & np.isnan(ext))   # numpy returns a NaN if there is one
        group = np.where(hit.reshape(-1), group, -1)     # local: the extreme elements (all ties)
    return [group_pattern(group, ctx.node.size)]


def _reduce_entry(name, fn, hess, doc):
    register(name, impl=lambda x, axes, _fn=fn: _fn(x, axis=axes),
             shape=lambda avals, axes, _fn=fn: _aval(
                 _reduced_shape(avals[0][0], axes),
                 np.asarray(_fn(np.ones((1,) * max(len(avals[0][0]), 1), avals[0][1]))).dtype),
             deps=_reduce_deps, hess=hess, doc=doc)


_reduce_entry("reduce_sum", np.sum, _no_hess, "sum over `axes` (tuple); mean is sum then scale")
_reduce_entry("reduce_prod", np.prod, _all_hess,
              "product over `axes`; Hessian conservative: all pairs of the group's union")
_reduce_entry("reduce_max", np.max, _no_hess,
              "max over `axes`; global: every element, local: the maximal ones (all ties)")
_reduce_entry("reduce_min", np.min, _no_hess,
              "min over `axes`; global: every element, local: the minimal ones (all ties)")


def _cumulative_deps(ctx):
    x = ctx.in_nodes[0]
    axis = ctx.params["axis"]
    if x.size == 0:
        return [Pattern(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))]
    length = x.shape[axis]
    moved = np.moveaxis(np.arange(x.size, dtype=np.int64).reshape(x.shape), axis, -1)
    moved = moved.reshape(-1, length)
    counts = np.tile(np.arange(1, length + 1, dtype=np.int64), moved.shape[0])
    rows = np.repeat(moved.reshape(-1), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    j = np.arange(rows.size, dtype=np.int64) - starts
    line = np.repeat(np.repeat(np.arange(moved.shape[0], dtype=np.int64), length), counts)
    return [coo_pattern(rows, moved[line, j], x.size)]


register("cumsum", impl=lambda x, axis: np.cumsum(x, axis=axis),
         shape=lambda avals, axis: _aval(avals[0][0], np.cumsum(np.ones(1, avals[0][1])).dtype),
         deps=_cumulative_deps, hess=_no_hess, doc="cumulative sum along `axis`")
register("cumprod", impl=lambda x, axis: np.cumprod(x, axis=axis),
         shape=lambda avals, axis: _aval(avals[0][0], np.cumprod(np.ones(1, avals[0][1])).dtype),
         deps=_cumulative_deps, hess=_all_hess,
         doc="cumulative product along `axis`; Hessian conservative: all pairs of each prefix")


# --- products --------------------------------------------------------------

def einsum_parse(subscripts):
    ins, out = subscripts.split("->")
    return ins.split(","), out


def strong_einsum(subscripts, *ops):
    """``np.einsum`` in which a term with an exact zero factor is 0 (even times inf or NaN).

    Entries without NaN are numpy's (a ``0 * inf`` term makes the plain sum NaN);
    the others are recomputed exactly: the finite terms' sum, plus +-inf or NaN
    decided by counting (with einsums of 0/1 and sign arrays) the nonzero terms
    that hold a NaN, or an infinity of either sign.
    """
    with np.errstate(all="ignore"):
        plain = np.einsum(subscripts, *ops)
        bad = np.isnan(plain)
        if not np.any(bad):
            return plain
        ops = [np.asarray(o, dtype=np.float64) for o in ops]
        fin = [np.isfinite(o) for o in ops]

        def count(arrays):
            return np.einsum(subscripts, *[np.asarray(a, dtype=np.float64) for a in arrays])

        base = count([np.where(f, o, 0.0) for o, f in zip(ops, fin)])
        nan_terms = count([o != 0 for o in ops]) - count([(o != 0) & ~np.isnan(o) for o in ops])
        sign = [np.where(np.isnan(o), 0.0, np.sign(o)) for o in ops]
        sign_f = [np.where(f, s, 0.0) for s, f in zip(sign, fin)]
        n_all, s_all = count([s != 0 for s in sign]), count(sign)
        n_fin, s_fin = count([s != 0 for s in sign_f]), count(sign_f)
        pos_inf = (n_all + s_all) / 2 - (n_fin + s_fin) / 2
        neg_inf = (n_all - s_all) / 2 - (n_fin - s_fin) / 2
        strong = np.where(pos_inf > 0, np.inf, np.where(neg_inf > 0, -np.inf, base))
        strong = np.where((nan_terms > 0) | ((pos_inf > 0) & (neg_inf > 0)), np.nan, strong)
        return np.where(bad, strong, plain)


def _einsum_impl(*ops, subscripts, strong=False):
    return strong_einsum(subscripts, *ops) if strong else np.einsum(subscripts, *ops)


def _einsum_shape(avals, subscripts, strong=False):
    ins, out = einsum_parse(subscripts)
    dims = {c: s for spec, (shape, _) in zip(ins, avals) for c, s in zip(spec, shape)}
    return _aval(tuple(dims[c] for c in out), np.result_type(*[d for _, d in avals]))


def _einsum_support(ctx, skip, letters):
    """Coordinates (per letter of `letters`) where the product of the other operands can be nonzero.

    Operands in `skip` and operands of unknown value count as all-nonzero.
    """
    ins, _ = einsum_parse(ctx.params["subscripts"])
    dims = {c: s for spec, nd in zip(ins, ctx.in_nodes) for c, s in zip(spec, nd.shape)}
    ops, specs = [], []
    for j, spec in enumerate(ins):
        if j in skip or ctx.values[j] is None:
            continue
        ops.append((np.asarray(ctx.values[j]) != 0).astype(np.float64))
        specs.append(spec)
    covered = set("".join(specs))
    for c in letters:
        if c not in covered:
            ops.append(np.ones(dims[c]))
            specs.append(c)
    if letters:
        support = np.einsum(",".join(specs) + "->" + letters, *ops) != 0
        coords = dict(zip(letters, np.nonzero(support)))
    else:
        coords = {}
    return coords, dims


def _flat(coords, spec, shape):
    if not spec:
        n = len(next(iter(coords.values()))) if coords else 1
        return np.zeros(n, dtype=np.int64)
    return np.ravel_multi_index(tuple(coords[c] for c in spec), shape).astype(np.int64)


def _einsum_deps(ctx):
    ins, out = einsum_parse(ctx.params["subscripts"])
    deps = []
    for k, spec in enumerate(ins):
        if not ctx.has_sets[k]:
            deps.append(None)
            continue
        letters = "".join(dict.fromkeys(spec + out))
        coords, _ = _einsum_support(ctx, {k}, letters)
        rows = _flat(coords, out, ctx.node.shape)
        cols = _flat(coords, spec, ctx.in_nodes[k].shape)
        deps.append(coo_pattern(rows, cols, ctx.node.size))
    return deps


def _einsum_hess(ctx):
    ins, out = einsum_parse(ctx.params["subscripts"])
    letters = "".join(dict.fromkeys("".join(ins) + out))
    terms = []
    traced = [k for k in range(len(ins)) if ctx.has_sets[k]]
    for i, k in enumerate(traced):
        for l in traced[i + 1:]:
            coords, _ = _einsum_support(ctx, {k, l}, letters)
            terms.append(("pairs", k, l, _flat(coords, out, ctx.node.shape),
                          _flat(coords, ins[k], ctx.in_nodes[k].shape),
                          _flat(coords, ins[l], ctx.in_nodes[l].shape)))
    return terms


register("einsum", impl=_einsum_impl,
         fast_impl=lambda *ops, subscripts, strong=False: np.einsum(subscripts, *ops),
         shape=_einsum_shape, deps=_einsum_deps, hess=_einsum_hess,
         doc="explicit-output einsum (dot, matmul, @, outer, inner, tensordot); constant "
             "operands' zeros are used, traced operands count as dense; exact cross terms; "
             "`strong=True` (gradient transform): a zero factor makes a zero term")


def _spmatmul_impl(x, matrix, axis):
    xm = np.moveaxis(np.asarray(x), axis, 0)
    rest = xm.shape[1:]
    y = matrix @ xm.reshape(xm.shape[0], int(np.prod(rest, dtype=np.int64)))
    return np.moveaxis(np.asarray(y).reshape((matrix.shape[0],) + rest), 0, axis)


def _spmatmul_deps(ctx):
    A = ctx.params["matrix"].tocoo()
    keep = A.data != 0
    i, j = A.coords[0][keep].astype(np.int64), A.coords[1][keep].astype(np.int64)
    axis = ctx.params["axis"]
    x = ctx.in_nodes[0]
    R = x.size // max(x.shape[axis], 1)
    r = np.arange(R, dtype=np.int64)
    rows_m = (i[:, None] * R + r).reshape(-1)
    cols_m = (j[:, None] * R + r).reshape(-1)
    out_perm = np.moveaxis(np.arange(ctx.node.size, dtype=np.int64).reshape(ctx.node.shape),
                           axis, 0).reshape(-1)
    in_perm = np.moveaxis(np.arange(x.size, dtype=np.int64).reshape(x.shape), axis, 0).reshape(-1)
    return [coo_pattern(out_perm[rows_m], in_perm[cols_m], ctx.node.size)]


def _spmatmul_shape(avals, matrix, axis):
    shape = list(avals[0][0])
    shape[axis] = matrix.shape[0]
    return _aval(shape, np.result_type(avals[0][1], matrix.dtype))


register("spmatmul", impl=_spmatmul_impl, shape=_spmatmul_shape, deps=_spmatmul_deps,
         hess=_no_hess,
         doc="apply a constant scipy.sparse `matrix` along `axis` (A @ x, x @ A); "
             "uses the matrix's nonzero values")


# --- dense linear algebra (conservative) -----------------------------------

def _solve_deps(ctx):
    A, b = ctx.in_nodes
    deps = [_dense_pattern(ctx.node.size, A.size)]
    if len(b.shape) == 2 and len(A.shape) == 2:   # column j of x needs column j of b only
        n, k = b.shape
        rows = np.arange(ctx.node.size, dtype=np.int64).reshape(n, k)
        rows = np.repeat(rows.reshape(n, 1, k), n, axis=1)     # (i, l, j)
        cols = np.broadcast_to(np.arange(b.size, dtype=np.int64).reshape(1, n, k), (n, n, k))
        deps.append(coo_pattern(rows, cols, ctx.node.size))
    else:
        deps.append(_dense_pattern(ctx.node.size, b.size))
    return deps


def _dense_deps(ctx):
    return [_dense_pattern(ctx.node.size, nd.size) for nd in ctx.in_nodes]


register("solve", impl=np.linalg.solve,
         shape=lambda avals: _aval(avals[1][0], np.result_type(avals[0][1], avals[1][1], 1.0)),
         deps=_solve_deps, hess=_all_hess,
         doc="np.linalg.solve(A, b); conservative: A treated as dense")
register("inv", impl=np.linalg.inv,
         shape=lambda avals: _aval(avals[0][0], np.result_type(avals[0][1], 1.0)),
         deps=_dense_deps, hess=_all_hess, doc="np.linalg.inv; conservative: dense")
register("det", impl=np.linalg.det,
         shape=lambda avals: _aval(avals[0][0][:-2], np.result_type(avals[0][1], 1.0)),
         deps=_dense_deps, hess=_all_hess, doc="np.linalg.det; conservative: dense")
