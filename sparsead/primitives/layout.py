"""Layout primitives: where, cast, reshape, transpose, gather, scatter, concatenate.

Fed by :mod:`.core`. Each ``register`` call is one primitive's complete entry
(numpy evaluation, shape, sparsity, JVP, VJP, AD traits). The set is small on
purpose: slicing, integer and mask indexing, ``roll``, ``flip``, ``pad``,
``tile``, ``repeat``, ``broadcast_to`` ... are all ``gather`` with a constant
flat index map (``-1`` = a constant fill); ``__setitem__`` is ``scatter``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .core import (IDENTITY, Elementwise, ScalarRule, aval, broadcast_map, mask_map, no_hess,
                   rec, register, size_of, unbroadcast)
from .lanes import expand_block, full_block

__all__ = ["transpose_gather"]


def _plus1(axes):
    return tuple(int(a) + 1 for a in axes)


def _zeros(shape, p):
    return np.zeros((p,) + tuple(shape))


# --- where ---------------------------------------------------------------------------

def _where_deps(ctx):
    out = ctx.node.shape
    deps = [None, broadcast_map(ctx.in_nodes[1].shape, out),
            broadcast_map(ctx.in_nodes[2].shape, out)]
    cond = ctx.values[0]
    if cond is not None:   # a constant (or, in local mode, known) mask picks one branch
        cond = np.broadcast_to(np.asarray(cond, dtype=bool), out)
        deps[1] = mask_map(deps[1], cond, ctx.node.size)
        deps[2] = mask_map(deps[2], ~cond, ctx.node.size)
    return deps


def _jvp_where(c, vals, out, tans):
    cond = np.asarray(vals[0], dtype=bool)
    a = 0.0 if tans[1] is None else expand_block(tans[1], c.in_shapes[1], c.shape)
    b = 0.0 if tans[2] is None else expand_block(tans[2], c.in_shapes[2], c.shape)
    return full_block(np.where(cond, a, b), (c.p,) + c.shape)


def _vjp_where(c, vals, out, ct):
    cond = vals[0]
    res = [None, None, None]
    if c.need[1]:
        res[1] = unbroadcast(np.where(cond, ct, 0.0), c.in_shapes[1])
    if c.need[2]:
        res[2] = unbroadcast(np.where(cond, 0.0, ct), c.in_shapes[2])
    return res


register("where", impl=np.where,
         shape=lambda avals: aval(np.broadcast_shapes(*[s for s, _ in avals]),
                                  np.result_type(avals[1][1], avals[2][1])),
         deps=_where_deps, hess=no_hess,
         elementwise=Elementwise((False, True, True), ((False,) * 3,) * 3,
                                 ("bool", "real", "real")),
         jvp=_jvp_where, vjp=_vjp_where,
         # compiled: the generator selects the adjoint of the branch taken
         scalar=ScalarRule("({1} if {0} else {2})", (None, "1", "1")),
         needs=lambda has_tan: ((0,), False), static=lambda has_tan, varying: not varying[0],
         doc="np.where(cond, a, b); global mode with a traced cond: union of both branches")


# --- cast, reshape, transpose ----------------------------------------------------------

def _to_inexact(k, params):
    return bool(np.issubdtype(params["dtype"], np.inexact))


register("cast", impl=lambda x, dtype: np.asarray(x).astype(dtype),
         shape=lambda avals, dtype: aval(avals[0][0], dtype),
         deps=lambda ctx: [IDENTITY if _to_inexact(0, ctx.params) else None], hess=no_hess,
         jvp=lambda c, vals, out, tans: tans[0], vjp=lambda c, vals, out, ct: [ct],
         linear=True, view=True, flows=_to_inexact,
         doc="astype: identity to a float dtype, no derivative to an integer/bool dtype")

register("reshape", impl=lambda x, shape: np.reshape(x, shape),
         shape=lambda avals, shape: aval(shape, avals[0][1]),
         deps=lambda ctx: [IDENTITY], hess=no_hess,
         jvp=lambda c, vals, out, tans: tans[0].reshape((c.p,) + c.shape),
         vjp=lambda c, vals, out, ct: [rec(ct, "reshape", [ct], shape=c.in_shapes[0])],
         linear=True, view=True, doc="reshape in C order (also ravel, squeeze, expand_dims)")


def _transpose_deps(ctx):
    x = ctx.in_nodes[0]
    return [np.arange(x.size, dtype=np.int64).reshape(x.shape)
            .transpose(ctx.params["axes"]).reshape(-1)]


def _vjp_transpose(c, vals, out, ct):
    inv = tuple(int(a) for a in np.argsort(c.params["axes"]))
    return [rec(ct, "transpose", [ct], axes=inv)]


register("transpose", impl=lambda x, axes: np.transpose(x, axes),
         shape=lambda avals, axes: aval(tuple(avals[0][0][a] for a in axes), avals[0][1]),
         deps=_transpose_deps, hess=no_hess,
         jvp=lambda c, vals, out, tans: tans[0].transpose((0,) + _plus1(c.params["axes"])),
         vjp=_vjp_transpose, linear=True, view=True,
         doc="axis permutation (.T, swapaxes, moveaxis)")


# --- gather ------------------------------------------------------------------------------

def _gather_impl(x, index, fill=0.0):
    flat = np.reshape(x, -1)
    if flat.size == 0:
        return np.full(index.shape, fill, dtype=np.asarray(x).dtype)
    out = flat[np.maximum(index, 0)]
    if index.size and index.min() < 0:
        out[index < 0] = fill
    return out


_GATHER_MEMO = {}


def _gather_maps(index):
    hit = _GATHER_MEMO.get(id(index))
    if hit is not None and hit[0] is index:
        return hit[1], hit[2]
    flat = np.ascontiguousarray(index.reshape(-1), dtype=np.intp)
    bad = flat < 0
    if bad.any():
        clipped, mask = np.where(bad, 0, flat), bad
    else:
        clipped, mask = flat, None
    if len(_GATHER_MEMO) > 4096:
        _GATHER_MEMO.clear()
    _GATHER_MEMO[id(index)] = (index, clipped, mask)
    return clipped, mask


def _jvp_gather(c, vals, out, tans):
    idx, mask = _gather_maps(c.params["index"])
    t = tans[0].reshape(c.p, size_of(c.in_shapes[0]))
    r = np.take(t, idx, axis=1) if t.shape[1] else np.zeros((c.p, idx.size))
    if mask is not None:
        r[:, mask] = 0.0
    return r.reshape((c.p,) + c.shape)


def transpose_gather(ct, flat_index, in_shape):
    """Cotangent of ``x`` for ``out.flat = x.flat[flat_index]`` (``-1``: no source)."""
    n_in = size_of(in_shape)
    valid = flat_index >= 0
    src = flat_index[valid]
    pos = np.flatnonzero(valid)
    if src.size == 0:
        return None
    if np.unique(src).size == src.size:     # injective: an inverse gather
        inv = np.full(n_in, -1, dtype=np.int64)
        inv[src] = pos
        return rec(ct, "gather", [ct], index=inv.reshape(in_shape), fill=0)
    G = sp.csr_array((np.ones(src.size), (src, pos)), shape=(n_in, flat_index.size))
    flat = rec(ct, "reshape", [ct], shape=(flat_index.size,))
    r = rec(ct, "spmatmul", [flat], matrix=G, axis=0)
    return rec(ct, "reshape", [r], shape=tuple(in_shape))


register("gather", impl=_gather_impl,
         shape=lambda avals, index, fill=0.0: aval(index.shape, avals[0][1]),
         deps=lambda ctx: [ctx.params["index"].reshape(-1)], hess=no_hess,
         jvp=_jvp_gather,
         vjp=lambda c, vals, out, ct: [transpose_gather(
             ct, np.asarray(c.params["index"]).reshape(-1), c.in_shapes[0])],
         linear=True, doc="out.flat[i] = x.flat[index.flat[i]] (or `fill` where index is -1)")


# --- scatter -----------------------------------------------------------------------------

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


def _jvp_scatter(c, vals, out, tans):
    tb, tv = tans
    shape = (c.p,) + c.shape
    if tb is None:
        r = np.zeros(shape)
    elif 0 in c.donate and tb.flags.c_contiguous and tb.shape == shape:
        r = tb
    else:
        r = np.array(tb, order="C")
    index = c.params["index"]
    if tv is None:
        block = 0.0
    else:
        tv = expand_block(tv, c.in_shapes[1], index.shape)
        block = np.broadcast_to(tv, (c.p,) + index.shape).reshape(c.p, index.size)
    r.reshape(c.p, size_of(c.shape))[:, index.reshape(-1)] = block
    return r


def _vjp_scatter(c, vals, out, ct):
    base_shape, val_shape = c.in_shapes
    index = np.asarray(c.params["index"])
    flat = index.reshape(-1)
    res = [None, None]
    if c.need[0]:
        keep = np.arange(size_of(base_shape), dtype=np.int64)
        keep[flat] = -1
        res[0] = rec(ct, "gather", [ct], index=keep.reshape(base_shape), fill=0)
    if c.need[1]:
        owner = np.full(size_of(base_shape), -1, dtype=np.int64)
        owner[flat] = np.arange(flat.size, dtype=np.int64)
        win = np.where(owner[flat] == np.arange(flat.size), flat, -1)
        g = rec(ct, "gather", [ct], index=win.reshape(index.shape), fill=0)
        res[1] = unbroadcast(g, val_shape)
    return res


register("scatter", impl=_scatter_impl,
         shape=lambda avals, index: aval(avals[0][0], avals[0][1]),
         deps=_scatter_deps, hess=no_hess, jvp=_jvp_scatter, vjp=_vjp_scatter, linear=True,
         doc="out = base; out.flat[index] = values (broadcast to index.shape); from __setitem__")


# --- concatenate -------------------------------------------------------------------------

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
    return aval(shape, np.result_type(*[d for _, d in avals]))


def _jvp_concatenate(c, vals, out, tans):
    blocks = [t if t is not None else _zeros(s, c.p) for t, s in zip(tans, c.in_shapes)]
    return np.concatenate(blocks, axis=c.params["axis"] + 1)


def _vjp_concatenate(c, vals, out, ct):
    axis = c.params["axis"]
    idx = np.arange(size_of(c.shape), dtype=np.int64).reshape(c.shape)
    bounds = np.cumsum([0] + [s[axis] for s in c.in_shapes])
    res = []
    for k, s in enumerate(c.in_shapes):
        if not c.need[k]:
            res.append(None)
            continue
        part = np.take(idx, np.arange(bounds[k], bounds[k + 1]), axis=axis)
        res.append(rec(ct, "gather", [ct], index=np.ascontiguousarray(part), fill=0))
    return res


register("concatenate", impl=lambda *xs, axis: np.concatenate(xs, axis=axis),
         shape=_concat_shape, deps=_concat_deps, hess=no_hess,
         jvp=_jvp_concatenate, vjp=_vjp_concatenate, linear=True,
         doc="np.concatenate along `axis` (also stack, hstack, vstack, append)")
