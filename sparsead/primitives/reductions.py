"""Reductions (sum, prod, max, min over axes) and cumulative sums and products.

Fed by :mod:`.core`. Each ``register`` call is one primitive's complete entry
(numpy evaluation, shape, sparsity, JVP, VJP, AD traits); the zero-safe
helpers of the product and extreme rules sit next to them.
"""

from __future__ import annotations

import string

import numpy as np

from .core import (Pattern, all_hess, aval, coo_pattern, group_pattern, is_traced, no_hess, rec,
                   register, size_of, strong_product, strong_scale)
from .linalg import strong_einsum

__all__ = ["others_product", "extreme_weights", "cumprod_jacobian"]


def _plus1(axes):
    return tuple(int(a) + 1 for a in axes)


def _reduced_shape(shape, axes):
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _group_of_inputs(in_shape, axes):
    """For each input element, the flat index of the output element it reduces into."""
    out_shape = _reduced_shape(in_shape, axes)
    idx = np.arange(size_of(out_shape), dtype=np.int64).reshape(out_shape)
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


# --- the zero-safe factors of the product and extreme rules --------------------------------

def _expand(out, in_shape, axes):
    """``out`` (reduced over ``axes``) reshaped with ones in the reduced axes."""
    kshape = tuple(1 if i in axes else s for i, s in enumerate(in_shape))
    return out.reshape(kshape) if np.ndim(out) or is_traced(out) else np.reshape(out, kshape)


def _to_end(x, axes):
    """Transpose the reduced ``axes`` last and merge them: ``(rest..., L)`` plus the undo info."""
    nd = len(x.shape)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    xt = np.transpose(x, perm)
    rest = tuple(xt.shape[: nd - len(axes)])
    L = int(np.prod(xt.shape[nd - len(axes):], dtype=np.int64))
    return np.reshape(xt, rest + (L,)), perm, tuple(xt.shape)


def others_product(x, axes):
    """For each element, the product of the other elements of its reduction group (zero-safe)."""
    xm, perm, tshape = _to_end(x, axes)
    L = xm.shape[-1]
    if L == 0:
        return x
    ones = np.ones(tuple(xm.shape[:-1]) + (1,))
    left = np.cumprod(np.concatenate([ones, xm[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.flip(np.concatenate([xm[..., 1:], ones], axis=-1), axis=-1),
                               axis=-1), axis=-1)
    return np.transpose(np.reshape(left * right, tshape), np.argsort(perm))


def extreme_weights(x, out, axes):
    """Weights of max/min reductions: 1/(number of ties) on the extreme elements, 0 elsewhere.

    numpy returns NaN when a group holds one: the NaN elements are then the extremes.
    """
    ext = _expand(out, x.shape, axes)
    hit = np.where((x == ext) | (np.isnan(x) & np.isnan(ext)), 1.0, 0.0)
    count = np.sum(hit, axis=axes, keepdims=True)
    return hit / count


def cumprod_jacobian(x, axis):
    """``J[..., i, j] = d cumprod(x)_i / d x_j`` along ``axis`` (moved last), zero-safe, O(L^2)."""
    xm = np.moveaxis(x, axis, -1)
    L = xm.shape[-1]
    rows = np.reshape(xm, tuple(xm.shape[:-1]) + (1, L))
    j, k = np.indices((L, L))
    R = np.cumprod(np.where(k > j, rows, 1.0), axis=-1)          # R[.., j, i] = prod_{j<k<=i} x_k
    left = np.prod(np.where(k < j, rows, 1.0), axis=-1)          # left[.., j] = prod_{k<j} x_k
    left = np.reshape(left, tuple(left.shape[:-1]) + (1, L))
    return np.where(j >= k, left * np.swapaxes(R, -1, -2), 0.0)  # [.., i, j]


# --- derivative rules ----------------------------------------------------------------------

def _scale(c, t, s):
    """``t * s`` (a lane block times a value-shaped factor), strong in strong mode."""
    return strong_product(t, s) if c.strong else t * s


def _broadcast_back(ct, in_shape, axes):
    """``ct`` (reduced over ``axes``) broadcast back onto ``in_shape``."""
    if not axes:
        return ct
    out_shape = tuple(s for i, s in enumerate(in_shape) if i not in axes)
    idx = np.arange(size_of(out_shape), dtype=np.int64).reshape(out_shape)
    idx = np.broadcast_to(np.expand_dims(idx, tuple(sorted(axes))), in_shape)
    return rec(ct, "gather", [ct], index=np.ascontiguousarray(idx), fill=0)


def _jvp_reduce_sum(c, vals, out, tans):
    axes = tuple(c.params["axes"])
    return tans[0].sum(axis=_plus1(axes)) if axes else tans[0].copy()   # never an alias


def _vjp_reduce_sum(c, vals, out, ct):
    return [_broadcast_back(ct, c.in_shapes[0], tuple(c.params["axes"]))]


def _factor_rules(factor):
    """JVP and VJP of a reduction whose derivative is ``factor(x, out, axes)`` per element."""
    def jvp(c, vals, out, tans):
        axes = tuple(c.params["axes"])
        if not axes:
            return tans[0].copy()
        return np.sum(_scale(c, tans[0], factor(vals[0], out, axes)), axis=_plus1(axes))

    def vjp(c, vals, out, ct):
        axes = tuple(c.params["axes"])
        if not axes:
            return [ct]
        return [strong_scale(factor(vals[0], out, axes),
                             _broadcast_back(ct, c.in_shapes[0], axes))]
    return jvp, vjp


def _reduce_entry(name, fn, hess, rules, doc, **traits):
    register(name, impl=lambda x, axes, _fn=fn: _fn(x, axis=axes),
             shape=lambda avals, axes, _fn=fn: aval(
                 _reduced_shape(avals[0][0], axes),
                 np.asarray(_fn(np.ones((1,) * max(len(avals[0][0]), 1), avals[0][1]))).dtype),
             deps=_reduce_deps, hess=hess, jvp=rules[0], vjp=rules[1], doc=doc, **traits)


_reduce_entry("reduce_sum", np.sum, no_hess, (_jvp_reduce_sum, _vjp_reduce_sum),
              "sum over `axes` (tuple); mean is sum then scale", linear=True)
_reduce_entry("reduce_prod", np.prod, all_hess,
              _factor_rules(lambda x, out, axes: others_product(x, axes)),
              "product over `axes`; Hessian conservative: all pairs of the group's union")
_reduce_entry("reduce_max", np.max, no_hess, _factor_rules(extreme_weights),
              "max over `axes`; global: every element, local: the maximal ones (all ties)")
_reduce_entry("reduce_min", np.min, no_hess, _factor_rules(extreme_weights),
              "min over `axes`; global: every element, local: the minimal ones (all ties)")


# --- cumulative sums and products ----------------------------------------------------------

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


def _vjp_cumsum(c, vals, out, ct):
    axis = c.params["axis"]
    return [np.flip(np.cumsum(np.flip(ct, axis), axis=axis), axis)]


def _jvp_cumprod(c, vals, out, tans):
    axis = c.params["axis"]
    J = cumprod_jacobian(vals[0], axis)                      # (..., L, L)
    tm = np.moveaxis(tans[0], axis + 1, -1)                  # (p, ..., L)
    if c.strong:
        r = strong_einsum("...ij,z...j->z...i", J, tm)
    else:
        r = (J @ tm[..., None])[..., 0]
    return np.moveaxis(r, -1, axis + 1)


def _vjp_cumprod(c, vals, out, ct):
    axis = c.params["axis"]
    J = cumprod_jacobian(vals[0], axis)                      # (..., L, L)
    ctm = np.moveaxis(ct, axis, -1)                          # (..., L)
    batch = string.ascii_lowercase[:len(c.shape) - 1]
    g = rec(ct, "einsum", [J, ctm], subscripts=f"{batch}ij,{batch}i->{batch}j", strong=True)
    return [np.moveaxis(g, -1, axis)]


register("cumsum", impl=lambda x, axis: np.cumsum(x, axis=axis),
         shape=lambda avals, axis: aval(avals[0][0], np.cumsum(np.ones(1, avals[0][1])).dtype),
         deps=_cumulative_deps, hess=no_hess,
         jvp=lambda c, vals, out, tans: np.cumsum(tans[0], axis=c.params["axis"] + 1),
         vjp=_vjp_cumsum, linear=True, doc="cumulative sum along `axis`")
register("cumprod", impl=lambda x, axis: np.cumprod(x, axis=axis),
         shape=lambda avals, axis: aval(avals[0][0], np.cumprod(np.ones(1, avals[0][1])).dtype),
         deps=_cumulative_deps, hess=all_hess, jvp=_jvp_cumprod, vjp=_vjp_cumprod,
         doc="cumulative product along `axis`; Hessian conservative: all pairs of each prefix")
