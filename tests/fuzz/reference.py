"""Independent dense reference of the fuzzer's programs: values carry their Jacobian and Hessian.

Written plainly and on purpose without sparsead's rules: a :class:`Dual` holds a
value ``v`` (shape ``s``), its dense Jacobian ``J`` (``s + (n,)``) and, for
scalar programs, its dense second derivative ``H`` (``s + (n, n)``), propagated
forward statement by statement with each function's first and second
derivatives written out below with numpy (second-order forward mode; sparsead
computes Hessians forward-over-reverse, so the two groupings differ).

The project's conventions (README, "Derivatives"):

* ties: ``maximum``/``minimum``/``fmax``/``fmin`` give 1/2 to each tied
  argument, else the derivative follows the argument numpy returns (a NaN
  argument for ``maximum``/``minimum``, the other one for ``fmax``/``fmin``);
  ``max``/``min`` reductions give ``1/k`` to each of ``k`` tied extremes (or
  NaN elements); ``clip`` is ``minimum(maximum(v, lo), hi)``;
* strong zero: every chain-rule product with an exact zero factor is zero,
  even if the other factor is inf or NaN (:func:`sz`), so a discarded value
  (overwritten, not selected) or a structurally zero tangent never produces
  NaN;
* ``x**0`` has derivative 0 everywhere; the derivative of ``x**y`` in ``y`` is
  ``log(x) x**y`` for ``x > 0`` and 0 elsewhere; ``abs``/``copysign`` have
  derivative 0 at 0.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc

from .programs import Program

__all__ = ["Dual", "reference", "sz"]

# How partial derivatives enter the chain rule (see :func:`reference`): "plain",
# "magnitude" (absolute values: sums over paths never cancel) or "finite" (paths
# through a non-finite partial dropped); "singular" records a non-finite partial.
_STATE = {"mode": "plain", "singular": False}


def _p(g):
    """A partial derivative (or a value used as a coefficient) as the current mode wants it."""
    if g is None:
        return None
    g = np.asarray(g, dtype=np.float64)
    if not np.all(np.isfinite(g)):
        _STATE["singular"] = True
        if _STATE["mode"] == "finite":
            return np.where(np.isfinite(g), g, 0.0)
    return np.abs(g) if _STATE["mode"] == "magnitude" else g


def _minus(a, b):
    """``a - b`` of derivative terms (``a + b`` in magnitude mode)."""
    return a + b if _STATE["mode"] == "magnitude" else a - b

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def sz(a, b):
    """Strong-zero product: ``a * b``, but exactly 0 where either factor is exactly 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        p = a * b
    return np.where((a == 0) | (b == 0), 0.0, p)


class Dual:
    """A value with its dense first (and optionally second) derivative in ``x``."""

    __slots__ = ("v", "J", "H")

    def __init__(self, v, J, H):
        self.v, self.J, self.H = v, J, H

    @property
    def shape(self):
        return self.v.shape


def _lift(c, n, second):
    c = np.asarray(c)
    J = np.zeros(c.shape + (n,))
    return Dual(c, J, np.zeros(c.shape + (n, n)) if second else None)


def _outer(Ja, Jb):
    """``Ja[..., p] * Jb[..., q]`` with the strong zero."""
    return sz(Ja[..., :, None], Jb[..., None, :])


def _bcast(d, shape):
    """``d`` broadcast to ``shape`` (value, J and H alike)."""
    shape = tuple(shape)
    if d.shape == shape:
        return d
    lead = (1,) * (len(shape) - d.v.ndim)
    n = d.J.shape[-1]
    v = np.broadcast_to(np.reshape(d.v, lead + d.shape), shape)
    J = np.broadcast_to(d.J.reshape(lead + d.shape + (n,)), shape + (n,))
    H = None if d.H is None else np.broadcast_to(d.H.reshape(lead + d.shape + (n, n)),
                                                 shape + (n, n))
    return Dual(v, J, H)


def _e(a, k):
    """Append ``k`` trailing axes to a value-shaped factor."""
    return np.reshape(a, np.shape(a) + (1,) * k)


# --- elementwise functions: value, first and second derivative --------------------------

def _pw(fn):
    def wrap(u):
        with np.errstate(all="ignore"):
            return fn(np.asarray(u, dtype=np.float64))
    return wrap


_SQPI = 2.0 / math.sqrt(math.pi)

# name -> (f(u), f'(u), f''(u))
UNARY = {
    "negative": (lambda u: -u, lambda u: -np.ones_like(u), None),
    "positive": (lambda u: +u, lambda u: np.ones_like(u), None),
    "deg2rad": (np.deg2rad, lambda u: np.full_like(u, math.pi / 180), None),
    "rad2deg": (np.rad2deg, lambda u: np.full_like(u, 180 / math.pi), None),
    "abs": (np.abs, np.sign, None),
    "fabs": (np.abs, np.sign, None),
    "sin": (np.sin, np.cos, lambda u: -np.sin(u)),
    "cos": (np.cos, lambda u: -np.sin(u), lambda u: -np.cos(u)),
    "tan": (np.tan, lambda u: 1 + np.tan(u) ** 2, lambda u: 2 * np.tan(u) * (1 + np.tan(u) ** 2)),
    "arcsin": (np.arcsin, lambda u: 1 / np.sqrt(1 - u * u), lambda u: u / (1 - u * u) ** 1.5),
    "arccos": (np.arccos, lambda u: -1 / np.sqrt(1 - u * u), lambda u: -u / (1 - u * u) ** 1.5),
    "arctan": (np.arctan, lambda u: 1 / (1 + u * u), lambda u: -2 * u / (1 + u * u) ** 2),
    "sinh": (np.sinh, np.cosh, np.sinh),
    "cosh": (np.cosh, np.sinh, np.cosh),
    "tanh": (np.tanh, lambda u: 1 - np.tanh(u) ** 2,
             lambda u: -2 * np.tanh(u) * (1 - np.tanh(u) ** 2)),
    "arcsinh": (np.arcsinh, lambda u: 1 / np.sqrt(u * u + 1), lambda u: -u / (u * u + 1) ** 1.5),
    "arccosh": (np.arccosh, lambda u: 1 / np.sqrt(u * u - 1), lambda u: -u / (u * u - 1) ** 1.5),
    "arctanh": (np.arctanh, lambda u: 1 / (1 - u * u), lambda u: 2 * u / (1 - u * u) ** 2),
    "exp": (np.exp, np.exp, np.exp),
    "exp2": (np.exp2, lambda u: _LN2 * np.exp2(u), lambda u: _LN2 * _LN2 * np.exp2(u)),
    "expm1": (np.expm1, np.exp, np.exp),
    "log": (np.log, lambda u: 1 / u, lambda u: -1 / (u * u)),
    "log2": (np.log2, lambda u: 1 / (u * _LN2), lambda u: -1 / (u * u * _LN2)),
    "log10": (np.log10, lambda u: 1 / (u * _LN10), lambda u: -1 / (u * u * _LN10)),
    "log1p": (np.log1p, lambda u: 1 / (1 + u), lambda u: -1 / (1 + u) ** 2),
    "sqrt": (np.sqrt, lambda u: 0.5 / np.sqrt(u), lambda u: -0.25 / (u * np.sqrt(u))),
    "cbrt": (np.cbrt, lambda u: 1 / (3 * np.cbrt(u) ** 2), lambda u: -2 / (9 * np.cbrt(u) ** 5)),
    "square": (np.square, lambda u: 2 * u, lambda u: np.full_like(u, 2.0)),
    "reciprocal": (np.reciprocal, lambda u: -1 / (u * u), lambda u: 2 / (u * u * u)),
    "sign": (np.sign, None, None), "floor": (np.floor, None, None),
    "ceil": (np.ceil, None, None), "rint": (np.rint, None, None),
    "trunc": (np.trunc, None, None),
    "erf": (sc.erf, lambda u: _SQPI * np.exp(-u * u), lambda u: -2 * u * _SQPI * np.exp(-u * u)),
    "erfc": (sc.erfc, lambda u: -_SQPI * np.exp(-u * u),
             lambda u: 2 * u * _SQPI * np.exp(-u * u)),
    "expit": (sc.expit, lambda u: sc.expit(u) * (1 - sc.expit(u)),
              lambda u: sc.expit(u) * (1 - sc.expit(u)) * (1 - 2 * sc.expit(u))),
}


def _unary(name, d):
    f, d1, d2 = UNARY[name]
    v = _pw(f)(d.v)
    n = d.J.shape[-1]
    if d1 is None:
        return _lift(v, n, d.H is not None)
    g1 = _p(_pw(d1)(d.v))
    J = sz(_e(g1, 1), d.J)
    H = None
    if d.H is not None:
        H = sz(_e(g1, 2), d.H)
        if d2 is not None:
            H = H + sz(_e(_p(_pw(d2)(d.v)), 2), _outer(d.J, d.J))
    return Dual(np.asarray(v, dtype=np.float64), J, H)


def _choice_weights(fn, a, b):
    """Weights of a and b in maximum/minimum/fmax/fmin (the tie convention)."""
    an, bn = np.isnan(a), np.isnan(b)
    first = (a > b) if fn in ("maximum", "fmax") else (a < b)
    wa = np.where(first, 1.0, np.where(a == b, 0.5, 0.0))
    if fn in ("maximum", "minimum"):       # numpy returns the NaN: it gets the derivative
        wa = np.where(an & ~bn, 1.0, np.where(bn & ~an, 0.0, wa))
    else:                                  # fmax/fmin return the other one
        wa = np.where(an & ~bn, 0.0, np.where(bn & ~an, 1.0, wa))
    wa = np.where(an & bn, 0.5, wa)
    return wa, 1.0 - wa


def _binary_partials(fn, a, b):
    """``(value, ga, gb, gaa, gab, gbb)``; ``None`` for a zero partial."""
    with np.errstate(all="ignore"):
        if fn == "add":
            return a + b, 1.0, 1.0, None, None, None
        if fn == "subtract":
            return a - b, 1.0, -1.0, None, None, None
        if fn == "multiply":
            return a * b, b, a, None, 1.0, None
        if fn == "divide":
            return a / b, 1 / b, -a / (b * b), None, -1 / (b * b), 2 * a / (b * b * b)
        if fn in ("power", "float_power"):
            v = getattr(np, fn)(a, b)
            zero, one = b == 0, (b == 0) | (b == 1)
            ga = np.where(zero, 0.0, b * np.power(a, b - 1))
            gaa = np.where(one, 0.0, b * (b - 1) * np.power(a, b - 2))
            pos = a > 0
            la = np.log(np.where(pos, a, 1.0))
            gb = np.where(pos, la * v, 0.0)
            gbb = np.where(pos, la * la * v, 0.0)
            gab = np.where(pos, np.power(a, b - 1) * (1 + b * la), 0.0)
            return v, ga, gb, gaa, gab, gbb
        if fn in ("maximum", "minimum", "fmax", "fmin"):
            wa, wb = _choice_weights(fn, a, b)
            return getattr(np, fn)(a, b), wa, wb, None, None, None
        if fn == "hypot":
            h = np.hypot(a, b)
            h3 = h * h * h
            return h, a / h, b / h, b * b / h3, -a * b / h3, a * a / h3
        if fn == "arctan2":
            r2 = a * a + b * b
            r4 = r2 * r2
            return (np.arctan2(a, b), b / r2, -a / r2, -2 * a * b / r4, (a * a - b * b) / r4,
                    2 * a * b / r4)
        if fn in ("logaddexp", "logaddexp2"):
            v = getattr(np, fn)(a, b)
            if fn == "logaddexp":
                ga, gb, k = np.exp(a - v), np.exp(b - v), 1.0
            else:
                ga, gb, k = np.exp2(a - v), np.exp2(b - v), _LN2
            return v, ga, gb, k * ga * (1 - ga), -k * ga * gb, k * gb * (1 - gb)
        if fn == "remainder":
            return np.remainder(a, b), 1.0, -np.floor_divide(a, b), None, None, None
        if fn == "fmod":
            return np.fmod(a, b), 1.0, -np.trunc(a / b), None, None, None
        if fn == "copysign":
            return np.copysign(a, b), np.sign(a) * np.copysign(1.0, b), None, None, None, None
        if fn == "floor_divide":
            return np.floor_divide(a, b), None, None, None, None, None
    raise ValueError(fn)


def _binary(fn, da, db):
    shape = np.broadcast_shapes(da.shape, db.shape)
    da, db = _bcast(da, shape), _bcast(db, shape)
    a, b = np.asarray(da.v, np.float64), np.asarray(db.v, np.float64)
    v, ga, gb, gaa, gab, gbb = _binary_partials(fn, a, b)
    second = da.H is not None
    J = np.zeros(shape + da.J.shape[-1:])
    H = np.zeros(shape + da.J.shape[-1:] * 2) if second else None
    for g, d in ((ga, da), (gb, db)):
        if g is not None:
            g = _p(np.broadcast_to(np.asarray(g, dtype=np.float64), shape))
            J = J + sz(_e(g, 1), d.J)
            if second:
                H = H + sz(_e(g, 2), d.H)
    if second:
        for g, d1, d2 in ((gaa, da, da), (gab, da, db), (gab, db, da), (gbb, db, db)):
            if g is not None:
                g = _p(np.broadcast_to(np.asarray(g, dtype=np.float64), shape))
                H = H + sz(_e(g, 2), _outer(d1.J, d2.J))
    return Dual(np.asarray(v, dtype=np.float64).reshape(shape), J, H)


# --- layout: through flat index maps ------------------------------------------------------

def _relayout(d, m, fill=0.0, value=None):
    """Elements ``m`` (flat positions, -1: the constant ``fill``) of ``d``."""
    m = np.asarray(m, dtype=np.int64)
    shape = m.shape
    n = d.J.shape[-1]
    flat = m.reshape(-1)
    src = np.maximum(flat, 0)
    hole = flat < 0
    vv = np.asarray(d.v).reshape(-1)
    v = vv[src] if vv.size else np.zeros(flat.size, dtype=vv.dtype)
    v = np.where(hole, fill, v).reshape(shape) if value is None else value
    J = d.J.reshape(vv.size, n)[src] if vv.size else np.zeros((flat.size, n))
    J = np.where(hole[:, None], 0.0, J).reshape(shape + (n,))
    H = None
    if d.H is not None:
        H = d.H.reshape(vv.size, n, n)[src] if vv.size else np.zeros((flat.size, n, n))
        H = np.where(hole[:, None, None], 0.0, H).reshape(shape + (n, n))
    return Dual(np.asarray(v), J, H)


def _map_of(d, fn):
    return fn(np.arange(d.v.size, dtype=np.int64).reshape(d.shape))


def _join(ds, axis):
    """Concatenate duals along value ``axis`` (non-negative)."""
    v = np.concatenate([np.asarray(d.v, dtype=np.float64) for d in ds], axis=axis)
    J = np.concatenate([d.J for d in ds], axis=axis)
    H = None if ds[0].H is None else np.concatenate([d.H for d in ds], axis=axis)
    return Dual(v, J, H)


def _reshape(d, shape):
    n = d.J.shape[-1]
    return Dual(np.reshape(d.v, shape), d.J.reshape(tuple(shape) + (n,)),
                None if d.H is None else d.H.reshape(tuple(shape) + (n, n)))


# --- reductions --------------------------------------------------------------------------

def _axes(axis, nd):
    if axis is None:
        return tuple(range(nd))
    if isinstance(axis, tuple):
        return tuple(sorted(a % nd for a in axis))
    return (axis % nd,)


def _groups(d, axes):
    """Move ``axes`` last and flatten them: value ``(G, L)``, J ``(G, L, n)``, H ``(G, L, n, n)``.
    """
    nd = d.v.ndim
    rest = [i for i in range(nd) if i not in axes]
    perm = rest + list(axes)
    out_shape = tuple(d.shape[i] for i in rest)
    G = int(np.prod(out_shape, dtype=np.int64))
    L = int(np.prod([d.shape[i] for i in axes], dtype=np.int64))
    n = d.J.shape[-1]
    v = np.transpose(d.v, perm).reshape(G, L)
    J = np.transpose(d.J, perm + [nd]).reshape(G, L, n)
    H = None if d.H is None else np.transpose(d.H, perm + [nd, nd + 1]).reshape(G, L, n, n)
    return out_shape, v, J, H


def _weighted_sum(w, J, H):
    """``sum_l w[g, l] * J[g, l]`` (strong zero) and the same for H."""
    w = _p(w)
    Jy = np.sum(sz(w[..., None], J), axis=1)
    Hy = None if H is None else np.sum(sz(w[..., None, None], H), axis=1)
    return Jy, Hy


def _prod_rule(v, J, H):
    """Product over the last axis of ``v`` (G, L), with J and H: explicit, zero-safe."""
    G, L = v.shape
    with np.errstate(all="ignore"):
        y = np.prod(v, axis=1)
        eye = np.eye(L, dtype=bool)
        others = np.prod(np.where(eye[None], 1.0, v[:, None, :]), axis=2)     # (G, L)
        Jy, Hy = _weighted_sum(others, J, H)
        if H is not None and L > 1:
            skip = eye[:, None, :] | eye[None, :, :]                              # (L, L, L)
            pair = np.prod(np.where(skip[None], 1.0, v[:, None, None, :]), axis=3)  # (G, L, L)
            pair = _p(np.where(np.eye(L, dtype=bool)[None], 0.0, pair))
            cross = sz(pair[:, :, :, None, None],
                       sz(J[:, :, None, :, None], J[:, None, :, None, :]))
            Hy = Hy + cross.sum(axis=(1, 2))
    return y, Jy, Hy


def _extreme_weights(v, is_max):
    """1/k on the k extremes of each row (on the NaN elements if there are any)."""
    if v.size == 0:
        return np.zeros(v.shape)
    nan = np.isnan(v)
    with np.errstate(all="ignore"):
        ext = np.max(v, axis=1, keepdims=True) if is_max else np.min(v, axis=1, keepdims=True)
    hit = np.where(nan.any(axis=1, keepdims=True), nan, v == ext).astype(np.float64)
    return hit / np.maximum(hit.sum(axis=1, keepdims=True), 1.0)


def _reduce(fn, d, axis, keepdims):
    nd = d.v.ndim
    axes = _axes(axis, nd)
    n = d.J.shape[-1]
    out_shape, v, J, H = _groups(d, axes)
    with np.errstate(all="ignore"):
        if fn in ("sum", "mean"):
            y = v.sum(axis=1)
            Jy = J.sum(axis=1)
            Hy = None if H is None else H.sum(axis=1)
            if fn == "mean":
                L = v.shape[1]
                y, Jy = y / L, Jy / L
                Hy = None if Hy is None else Hy / L
        elif fn == "prod":
            y, Jy, Hy = _prod_rule(v, J, H)
        else:
            y = np.max(v, axis=1) if fn == "max" else np.min(v, axis=1)
            Jy, Hy = _weighted_sum(_extreme_weights(v, fn == "max"), J, H)
    res = Dual(y.reshape(out_shape), Jy.reshape(out_shape + (n,)),
               None if Hy is None else Hy.reshape(out_shape + (n, n)))
    if keepdims:
        res = _reshape(res, tuple(1 if i in axes else s for i, s in enumerate(d.shape)))
    return res


def _cum(fn, d, axis):
    if axis is None:
        d, axis = _reshape(d, (d.v.size,)), 0
    axis %= d.v.ndim
    n = d.J.shape[-1]
    moved = Dual(np.moveaxis(d.v, axis, -1), np.moveaxis(d.J, axis, -2),
                 None if d.H is None else np.moveaxis(d.H, axis, -3))
    lead = moved.v.shape[:-1]
    L = moved.v.shape[-1]
    G = int(np.prod(lead, dtype=np.int64))
    v = moved.v.reshape(G, L)
    J = moved.J.reshape(G, L, n)
    H = None if d.H is None else moved.H.reshape(G, L, n, n)
    ys, Js, Hs = [], [], []
    for k in range(L):
        if fn == "cumsum":      # (the value from np.cumsum below: the sign of a zero)
            y, Jy = v[:, :k + 1].sum(axis=1), J[:, :k + 1].sum(axis=1)
            Hy = None if H is None else H[:, :k + 1].sum(axis=1)
        else:
            y, Jy, Hy = _prod_rule(v[:, :k + 1], J[:, :k + 1],
                                   None if H is None else H[:, :k + 1])
        ys.append(y)
        Js.append(Jy)
        Hs.append(Hy)
    if L:
        y = np.stack(ys, axis=1)
        Jy = np.stack(Js, axis=1)
        Hy = None if H is None else np.stack(Hs, axis=1)
    else:
        y, Jy = v.copy(), J.copy()
        Hy = None if H is None else H.copy()
    y = np.moveaxis(y.reshape(lead + (L,)), -1, axis)
    if fn == "cumsum":
        y = np.cumsum(moved.v, axis=-1).reshape(lead + (L,))
        y = np.moveaxis(y, -1, axis)
    Jy = np.moveaxis(Jy.reshape(lead + (L, n)), -2, axis)
    Hy = None if Hy is None else np.moveaxis(Hy.reshape(lead + (L, n, n)), -3, axis)
    return Dual(y, Jy, Hy)


# --- products (strong-zero contractions) ------------------------------------------------

def _contract(specs, out, ops):
    """``einsum`` written as a broadcast product (strong zero) and a sum."""
    letters = sorted(set("".join(specs) + out))
    dims = {}
    for s, o in zip(specs, ops):
        for ch, k in zip(s, np.shape(o)):
            dims[ch] = k
    full = tuple(dims[ch] for ch in letters)
    acc = None
    for s, o in zip(specs, ops):
        o = np.asarray(o, dtype=np.float64)
        order = sorted(range(len(s)), key=lambda i: letters.index(s[i]))
        o = np.transpose(o, order)
        present = sorted(s, key=letters.index)
        shape = tuple(dims[ch] if ch in present else 1 for ch in letters)
        o = np.broadcast_to(o.reshape(shape), full)
        acc = o if acc is None else sz(acc, o)
    drop = tuple(i for i, ch in enumerate(letters) if ch not in out)
    r = acc.sum(axis=drop) if drop else acc
    kept = [ch for ch in letters if ch in out]
    return np.transpose(r, [kept.index(ch) for ch in out]) if out else np.asarray(r)


def _einsum(spec, ds):
    ins, out = spec.split("->")
    specs = ins.split(",")
    with np.errstate(all="ignore"):
        v = np.einsum(spec, *[d.v for d in ds])
    J = 0.0
    H = 0.0 if ds[0].H is not None else None
    live = [d.J.any() or (d.H is not None and d.H.any()) for d in ds]
    for k in range(len(ds)):
        if not live[k]:
            continue
        sk = [s + "Y" if j == k else s for j, s in enumerate(specs)]
        J = J + _contract(sk, out + "Y", [d.J if j == k else _p(d.v)
                                          for j, d in enumerate(ds)])
        if H is not None:
            sk = [s + "YZ" if j == k else s for j, s in enumerate(specs)]
            H = H + _contract(sk, out + "YZ", [d.H if j == k else _p(d.v)
                                               for j, d in enumerate(ds)])
            for l in range(len(ds)):
                if l != k and live[l]:
                    sl = [s + ("Y" if j == k else "Z" if j == l else "") for j, s in
                          enumerate(specs)]
                    H = H + _contract(sl, out + "YZ", [d.J if j in (k, l) else _p(d.v)
                                                       for j, d in enumerate(ds)])
    n = ds[0].J.shape[-1]
    shape = np.shape(v)
    J = np.broadcast_to(J, shape + (n,)).copy() if np.ndim(J) == 0 else J
    if H is not None and np.ndim(H) == 0:
        H = np.zeros(shape + (n, n))
    return Dual(np.asarray(v, dtype=np.float64), J, H)


def _matmul_spec(sa, sb):
    if len(sa) == 1 and len(sb) == 1:
        return "i,i->"
    if len(sa) == 1:
        return "i,ij->j"
    if len(sb) == 1:
        return "ij,j->i"
    return "ij,jk->ik"


# --- linear algebra (closed forms, strong-zero contractions) ----------------------------

def _ein(spec, *ops):
    ins, out = spec.split("->")
    return _contract(ins.split(","), out, ops)


def _solve(dM, db):
    M = dM.v
    vec = db.v.ndim == 1
    bv = db.v[:, None] if vec else db.v
    Jb = db.J[:, None] if vec else db.J
    with np.errstate(all="ignore"):
        Minv = np.linalg.inv(M)
        y = np.linalg.solve(M, bv)
    Minv_, y_ = _p(Minv), _p(y)
    # dy_p = Minv (db_p - dM_p y)
    Jy = _ein("ij,jkp->ikp", Minv_, _minus(Jb, _ein("ijp,jk->ikp", dM.J, y_)))
    Hy = None
    if dM.H is not None:
        Hb = db.H[:, None] if vec else db.H
        t = _minus(_minus(_minus(Hb, _ein("ijpq,jk->ikpq", dM.H, y_)),
                          _ein("ijp,jkq->ikpq", dM.J, Jy)), _ein("ijq,jkp->ikpq", dM.J, Jy))
        Hy = _ein("ij,jkpq->ikpq", Minv_, t)
    if vec:
        y, Jy = y[:, 0], Jy[:, 0]
        Hy = None if Hy is None else Hy[:, 0]
    return Dual(y, Jy, Hy)


def _inv(dM):
    with np.errstate(all="ignore"):
        Y = np.linalg.inv(dM.v)
    Y_ = _p(Y)
    Jy = _minus(0.0, _ein("ij,jkp,kl->ilp", Y_, dM.J, Y_))
    Hy = None
    if dM.H is not None:
        a = _ein("ij,jkp,kl,lmq,mr->irpq", Y_, dM.J, Y_, dM.J, Y_)
        Hy = _minus(a + np.swapaxes(a, -1, -2), _ein("ij,jkpq,kl->ilpq", Y_, dM.H, Y_))
    return Dual(Y, Jy, Hy)


def _det(dM):
    with np.errstate(all="ignore"):
        d = np.linalg.det(dM.v)
        Minv = np.linalg.inv(dM.v)
    Minv_, d_ = _p(Minv), _p(d)
    tr = _ein("ij,jip->p", Minv_, dM.J)
    Hy = None
    if dM.H is not None:
        MJ = _ein("ij,jkp->ikp", Minv_, dM.J)
        Hy = sz(d_, _minus(_outer(tr, tr), _ein("ijp,jiq->pq", MJ, MJ))
                + _ein("ij,jipq->pq", Minv_, dM.H))
    return Dual(np.asarray(d), sz(d_, tr), Hy)


# --- the interpreter -----------------------------------------------------------------------

def _operand(env, spec, n, second):
    kind, v = spec
    return env[v] if kind == "v" else _lift(np.asarray(v, dtype=np.float64)
                                            if not isinstance(v, np.ndarray) or v.dtype != bool
                                            else v, n, second)


def _bool_value(env, spec):
    kind, v = spec
    return np.asarray(env[v].v if kind == "v" else v)


def _stmt(s, env, n, second):
    a = s.args
    ins = [env[j] for j in s.ins]
    op = s.op
    if op == "unary":
        return _unary(a["fn"], ins[0])
    if op == "binary":
        da, db = (_operand(env, o, n, second) for o in a["operands"])
        return _binary(a["fn"], da, db)
    if op in ("pred", "logic"):
        vals = [_bool_value(env, o) for o in a["operands"]]
        with np.errstate(all="ignore"):
            v = getattr(np, a["fn"])(*vals)
        return _lift(np.asarray(v), n, second)
    if op == "where":
        cond = _bool_value(env, a["operands"][0]).astype(bool)
        x, y = (_operand(env, o, n, second) for o in a["operands"][1:])
        shape = np.broadcast_shapes(cond.shape, x.shape, y.shape)
        x, y = _bcast(x, shape), _bcast(y, shape)
        c = np.broadcast_to(cond, shape)
        H = None if not second else np.where(_e(c, 2), x.H, y.H)
        return Dual(np.where(c, x.v, y.v).astype(np.float64), np.where(_e(c, 1), x.J, y.J), H)
    if op == "cast":
        d = ins[0]
        if a["how"] == "int":
            with np.errstate(all="ignore"):
                return _lift(np.asarray(d.v).astype(np.int64).astype(np.float64), n, second)
        if d.v.dtype == bool:
            return _lift(d.v.astype(np.float64), n, second)
        return d
    if op == "clip":
        d = ins[0]
        if a["lo"] is not None:
            d = _binary("maximum", _lift(np.float64(a["lo"]), n, second), d)
        if a["hi"] is not None:
            d = _binary("minimum", _lift(np.float64(a["hi"]), n, second), d)
        with np.errstate(all="ignore"):
            d.v = np.clip(ins[0].v, a["lo"], a["hi"])     # numpy's value (signed zeros)
        return d
    if op == "reshape":
        return _reshape(ins[0], s.shape)
    if op in ("transpose", "index", "roll", "flip", "repeat", "tile", "broadcast_to", "pad"):
        d = ins[0]
        fns = {
            "transpose": lambda m: _transposed(m, a),
            "index": lambda m: m[a["key"]],
            "roll": lambda m: np.roll(m, a["shift"], axis=a["axis"]),
            "flip": lambda m: np.flip(m, axis=a["axis"]),
            "repeat": lambda m: np.repeat(m, a["reps"], axis=a["axis"]),
            "tile": lambda m: np.tile(m, a["reps"]),
            "broadcast_to": lambda m: np.broadcast_to(m, a["shape"]),
        }
        if op == "pad":
            if a["mode"] == "constant":
                m = np.pad(_map_of(d, lambda m: m + 1), a["width"], mode="constant") - 1
                return _relayout(d, m, fill=a["value"])
            return _relayout(d, _map_of(d, lambda m: np.pad(m, a["width"], mode=a["mode"])))
        return _relayout(d, _map_of(d, fns[op]))
    if op in ("concat", "stack", "vstack", "hstack"):
        ds = [_operand(env, o, n, second) for o in a["operands"]]
        if op == "concat" and a["axis"] is None:
            return _join([_reshape(d, (d.v.size,)) for d in ds], 0)
        if op == "concat":
            return _join(ds, a["axis"] % ds[0].v.ndim)
        if op == "stack":
            ax = a["axis"] % (ds[0].v.ndim + 1)
            return _join([_reshape(d, d.shape[:ax] + (1,) + d.shape[ax:]) for d in ds], ax)
        if op == "vstack":
            ds = [_reshape(d, (1,) + d.shape) if d.v.ndim == 1 else d for d in ds]
            return _join(ds, 0)
        return _join(ds, 0 if ds[0].v.ndim == 1 else 1)
    if op == "reduce":
        return _reduce(a["fn"], ins[0], a["axis"], a["keepdims"])
    if op == "cum":
        return _cum(a["fn"], ins[0], a["axis"])
    if op == "einsum":
        return _einsum(a["spec"], [_operand(env, o, n, second) for o in a["operands"]])
    if op in ("matmul", "spmatmul"):
        ds = []
        for o in a["operands"]:
            if o[0] == "c" and not isinstance(o[1], np.ndarray):
                ds.append(_lift(o[1].toarray(), n, second))
            else:
                ds.append(_operand(env, o, n, second))
        spec = _matmul_spec(ds[0].shape, ds[1].shape)
        res = _einsum(spec, ds)
        if op == "spmatmul":    # scipy multiplies stored entries only: no 0 * inf
            ins_, out_ = spec.split("->")
            res.v = _contract(ins_.split(","), out_, [d.v for d in ds])
        return res
    if op == "solve":
        return _solve(*[_operand(env, o, n, second) for o in a["operands"]])
    if op == "inv":
        return _inv(ins[0])
    if op == "det":
        return _det(ins[0])
    if op == "const":
        if a["how"] == "np.full_like":
            return _lift(np.full(s.shape, float(a["value"])), n, second)
        return _lift(np.sin(a["value"]), n, second)
    if op in ("setitem", "diag_overwrite"):
        base = ins[0]
        if a["base"] != "copy":
            base = _lift(np.zeros(base.shape), n, second)
        val = _operand(env, a["value"], n, second)
        idx = np.arange(base.v.size, dtype=np.int64).reshape(base.shape)[a["key"]]
        val = _bcast(val, idx.shape)
        flat = idx.reshape(-1)
        v = np.array(base.v, dtype=np.float64).reshape(-1)
        J = np.array(base.J).reshape(v.size, n)
        H = None if base.H is None else np.array(base.H).reshape(v.size, n, n)
        vv = np.asarray(val.v, dtype=np.float64).reshape(-1)
        vJ = np.asarray(val.J).reshape(vv.size, n)
        if a.get("augment"):
            with np.errstate(all="ignore"):
                vv = v[flat] + vv
            vJ = J[flat] + vJ
        v[flat] = vv
        J[flat] = vJ
        if H is not None:
            vH = np.asarray(val.H).reshape(flat.size, n, n)
            H[flat] = H[flat] + vH if a.get("augment") else vH
        return Dual(v.reshape(base.shape), J.reshape(base.shape + (n,)),
                    None if H is None else H.reshape(base.shape + (n, n)))
    raise ValueError(f"no reference rule for {op!r}")


def _transposed(m, a):
    how = a["how"]
    if how == "T":
        return m.T
    if how == "moveaxis":
        return np.moveaxis(m, a["src"], a["dst"])
    if how == "swapaxes":
        return np.swapaxes(m, a["src"], a["dst"])
    return np.transpose(m, a["axes"])


def reference(prog: Program, x, second=None, mode="plain"):
    """``(value, J, H, singular)`` of ``prog`` at ``x``: ``J`` ``(out.size, n)``, ``H`` ``(n, n)``.

    ``singular``: a partial derivative was inf or NaN somewhere. There, different
    groupings of the chain rule (forward, reverse, forward-over-reverse, partials
    of one input summed first) may differ where sums cancel exactly: ``a - a``
    times an infinite partial is 0 in one grouping, ``inf - inf = NaN`` in
    another. ``mode="magnitude"`` (absolute partials: no cancellation) tells the
    entries with a non-finite path product, ``mode="finite"`` gives the sum of
    the finite paths only -- what a grouping that cancels the others returns.
    """
    _STATE["mode"], _STATE["singular"] = mode, False
    try:
        return _reference(prog, x, second)
    finally:
        _STATE["mode"] = "plain"


def _reference(prog, x, second):
    x = np.asarray(x, dtype=np.float64)
    n = prog.n
    second = prog.scalar if second is None else second
    env = {0: Dual(x, np.eye(n), np.zeros((n, n, n)) if second else None)}
    for i, s in enumerate(prog.stmts):
        env[i + 1] = _stmt(s, env, n, second)
    out = env[prog.out]
    v = np.asarray(out.v, dtype=np.float64)
    J = np.asarray(out.J).reshape(v.size, n)
    H = None
    if second and out.H is not None:
        H = np.asarray(out.H).reshape(v.size, n, n)[0] if v.size == 1 else None
    return v, J, H, _STATE["singular"]
