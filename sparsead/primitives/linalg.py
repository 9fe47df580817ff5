"""Products and linear algebra: einsum, spmatmul (constant scipy.sparse), solve, inv, det.

Fed by :mod:`.core`. Each ``register`` call is one primitive's complete entry
(numpy evaluation, shape, sparsity, JVP, VJP, AD traits). ``dot``,
``matmul``, ``outer``, ``inner`` and ``tensordot`` are all ``einsum``;
products with constant scipy.sparse matrices are ``spmatmul``; the dense
linear algebra is conservative (operands treated as dense).
"""

from __future__ import annotations

import string

import numpy as np
import scipy.sparse as sp

from .core import (all_hess, aval, coo_pattern, dense_pattern, no_hess, other_factors,
                   others_fixed, rec, register, size_of, strong_product, strong_scale)

__all__ = ["einsum_parse", "strong_einsum"]


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


def _einsum_mode(c, spec, *ops):
    return strong_einsum(spec, *ops) if c.strong else np.einsum(spec, *ops, optimize=True)


# --- einsum -------------------------------------------------------------------------------

def _einsum_impl(*ops, subscripts, strong=False):
    return strong_einsum(subscripts, *ops) if strong else np.einsum(subscripts, *ops)


def _einsum_shape(avals, subscripts, strong=False):
    ins, out = einsum_parse(subscripts)
    dims = {c: s for spec, (shape, _) in zip(ins, avals) for c, s in zip(spec, shape)}
    return aval(tuple(dims[c] for c in out), np.result_type(*[d for _, d in avals]))


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


def _lane_letter(subscripts):
    return next(ch for ch in string.ascii_letters if ch not in subscripts)


def _jvp_einsum(c, vals, out, tans):
    subs = c.params["subscripts"]
    ins, o = einsum_parse(subs)
    z = _lane_letter(subs)
    acc = None
    for k, t in enumerate(tans):
        if t is None:
            continue
        specs = [z + s if j == k else s for j, s in enumerate(ins)]
        ops = [t if j == k else vals[j] for j in range(len(ins))]
        spec = ",".join(specs) + "->" + z + o
        term = strong_einsum(spec, *ops) if c.strong else np.einsum(spec, *ops,
                                                                    optimize=len(ins) > 2)
        if np.may_share_memory(term, t):     # "ij->ji" is a view: blocks must not alias
            term = term.copy()
        acc = term if acc is None else np.add(acc, term, out=acc)
    return acc


def _vjp_einsum(c, vals, out, ct):
    ins, o = einsum_parse(c.params["subscripts"])
    dims = {ch: s for spec, shp in zip(ins, c.in_shapes) for ch, s in zip(spec, shp)}
    res = []
    for k, spec in enumerate(ins):
        if not c.need[k]:
            res.append(None)
            continue
        if len(set(spec)) != len(spec):
            raise NotImplementedError(
                f"the gradient of einsum {c.params['subscripts']!r} with a repeated index in "
                "a traced operand is not supported; write the diagonal with indexing instead.")
        specs = [o] + [s for j, s in enumerate(ins) if j != k]
        ops = [ct] + [vals[j] for j in range(len(ins)) if j != k]
        for ch in spec:
            if ch not in "".join(specs):
                specs.append(ch)
                ops.append(np.ones(dims[ch]))
        res.append(rec(ct, "einsum", ops, subscripts=",".join(specs) + "->" + spec,
                       strong=True))
    return res


register("einsum", impl=_einsum_impl,
         fast_impl=lambda *ops, subscripts, strong=False: np.einsum(subscripts, *ops),
         shape=_einsum_shape, deps=_einsum_deps, hess=_einsum_hess,
         jvp=_jvp_einsum, vjp=_vjp_einsum, needs=other_factors, static=others_fixed,
         doc="explicit-output einsum (dot, matmul, @, outer, inner, tensordot); constant "
             "operands' zeros are used, traced operands count as dense; exact cross terms; "
             "`strong=True` (gradient transform): a zero factor makes a zero term")


# --- spmatmul -----------------------------------------------------------------------------

def _spmatmul_impl(x, matrix, axis):
    xm = np.moveaxis(np.asarray(x), axis, 0)
    rest = xm.shape[1:]
    y = matrix @ xm.reshape(xm.shape[0], size_of(rest))
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
    return aval(shape, np.result_type(avals[0][1], matrix.dtype))


_NONZERO = {}
_TRANSPOSED = {}


def _stored_nonzeros(A):
    """``A`` without explicit zeros (a stored zero times an inf tangent would give NaN)."""
    hit = _NONZERO.get(id(A))
    if hit is None or hit[0] is not A:
        B = sp.csr_array(A, copy=True)
        B.eliminate_zeros()
        if len(_NONZERO) > 256:
            _NONZERO.clear()
        hit = _NONZERO[id(A)] = (A, B)
    return hit[1]


def _jvp_spmatmul(c, vals, out, tans):
    A, axis = c.params["matrix"], c.params["axis"]
    if c.strong:
        A = _stored_nonzeros(A)
    t = np.moveaxis(tans[0], axis + 1, 0)
    rest = t.shape[1:]
    y = A @ t.reshape(t.shape[0], size_of(t.shape[1:]))
    y = np.asarray(y, dtype=np.float64).reshape((A.shape[0],) + rest)
    return np.moveaxis(y, 0, axis + 1)


def _vjp_spmatmul(c, vals, out, ct):
    A = c.params["matrix"]
    hit = _TRANSPOSED.get(id(A))
    if hit is None or hit[0] is not A:
        At = sp.csr_array(A.T)
        At.eliminate_zeros()
        hit = (A, At)
        _TRANSPOSED[id(A)] = hit
    return [rec(ct, "spmatmul", [ct], matrix=hit[1], axis=c.params["axis"])]


register("spmatmul", impl=_spmatmul_impl, shape=_spmatmul_shape, deps=_spmatmul_deps,
         hess=no_hess, jvp=_jvp_spmatmul, vjp=_vjp_spmatmul, linear=True,
         doc="apply a constant scipy.sparse `matrix` along `axis` (A @ x, x @ A); "
             "uses the matrix's nonzero values")


# --- dense linear algebra (conservative) ---------------------------------------------------

def _solve_deps(ctx):
    A, b = ctx.in_nodes
    deps = [dense_pattern(ctx.node.size, A.size)]
    if len(b.shape) == 2 and len(A.shape) == 2:   # column j of x needs column j of b only
        n, k = b.shape
        rows = np.arange(ctx.node.size, dtype=np.int64).reshape(n, k)
        rows = np.repeat(rows.reshape(n, 1, k), n, axis=1)     # (i, l, j)
        cols = np.broadcast_to(np.arange(b.size, dtype=np.int64).reshape(1, n, k), (n, n, k))
        deps.append(coo_pattern(rows, cols, ctx.node.size))
    else:
        deps.append(dense_pattern(ctx.node.size, b.size))
    return deps


def _dense_deps(ctx):
    return [dense_pattern(ctx.node.size, nd.size) for nd in ctx.in_nodes]


def _jvp_solve(c, vals, out, tans):
    A, b = vals
    tA, tb = tans
    rhs = np.zeros((c.p,) + c.shape) if tb is None else np.array(tb)
    if tA is not None:
        rhs -= _einsum_mode(c, "zij,j...->zi...", tA, out)
    if c.strong:    # A^-1 rhs term by term: a zero entry of either contributes nothing
        return strong_einsum("ij,zj...->zi...", np.linalg.inv(A), rhs)
    r = np.moveaxis(rhs, 0, -1)                 # (n, ..., p)
    sol = np.linalg.solve(A, r.reshape(A.shape[0], size_of(r.shape[1:]))).reshape(r.shape)
    return np.moveaxis(sol, -1, 0)


def _vjp_solve(c, vals, out, ct):
    A, _ = vals
    # A^-T ct as a strong einsum (not a solve): a zero cotangent entry contributes
    # nothing, even for a NaN matrix; linear in ct, so reverse lanes may seed it
    spec = "ji,j->i" if len(c.in_shapes[1]) == 1 else "ji,jk->ik"
    gb = rec(ct, "einsum", [np.linalg.inv(A), ct], subscripts=spec, strong=True)
    res = [None, gb if c.need[1] else None]
    if c.need[0]:
        spec = "i,j->ij" if len(c.in_shapes[1]) == 1 else "ik,jk->ij"
        res[0] = -rec(ct, "einsum", [gb, out], subscripts=spec, strong=True)
    return res


def _jvp_det(c, vals, out, tans):
    r = _einsum_mode(c, "...ji,z...ij->z...", np.linalg.inv(vals[0]), tans[0])
    return strong_product(r, out) if c.strong else r * out


def _vjp_det(c, vals, out, ct):
    scaled = np.reshape(strong_scale(out, ct), np.shape(out) + (1, 1))
    return [strong_scale(np.swapaxes(np.linalg.inv(vals[0]), -1, -2), scaled)]


register("solve", impl=np.linalg.solve,
         shape=lambda avals: aval(avals[1][0], np.result_type(avals[0][1], avals[1][1], 1.0)),
         deps=_solve_deps, hess=all_hess, jvp=_jvp_solve, vjp=_vjp_solve,
         doc="np.linalg.solve(A, b); conservative: A treated as dense")
register("inv", impl=np.linalg.inv,
         shape=lambda avals: aval(avals[0][0], np.result_type(avals[0][1], 1.0)),
         deps=_dense_deps, hess=all_hess,
         jvp=lambda c, vals, out, tans: -_einsum_mode(c, "ij,zjk,kl->zil", out, tans[0], out),
         vjp=lambda c, vals, out, ct: [-rec(ct, "einsum", [out, ct, out],
                                            subscripts="ji,jk,lk->il", strong=True)],
         doc="np.linalg.inv; conservative: dense")
register("det", impl=np.linalg.det,
         shape=lambda avals: aval(avals[0][0][:-2], np.result_type(avals[0][1], 1.0)),
         deps=_dense_deps, hess=all_hess, jvp=_jvp_det, vjp=_vjp_det,
         doc="np.linalg.det; conservative: dense")
