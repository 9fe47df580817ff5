"""Derivative rules of every registry primitive: JVP (forward lanes) and VJP (gradient transform).

Fed by :mod:`sparsead.tracing.registry` (the primitives); importing this module
fills each entry's ``jvp`` and ``vjp`` slots, so the registry stays the one
place to look a primitive's rules up.

Elementwise functions have ONE rule each, in :data:`PARTIALS`: per argument, a
function ``d(*args, out)`` of the argument values and the output value that
returns the partial derivative, written with numpy functions. Called on numpy
arrays it gives the scale factors of the forward lanes; called on tracers
inside the gradient transform it records graph nodes, so the gradient graph is
itself differentiable (forward-over-reverse Hessians). ``None`` marks an
argument with no derivative (``sign``, ``floor``, comparisons).

Tangent blocks are *lanes-first*: shape ``(p,) + value.shape`` (a scale factor
of the value's shape then broadcasts over a long contiguous inner loop, about 3x
faster than lanes-last); :class:`~sparsead.ad.forward.LanePlan` returns the
output block either way round.

Rule signatures (``c`` is a :class:`Call`: output ``shape``, ``in_shapes``,
``params``, lane count ``p``, ``donate`` = input positions whose tangent block
the rule may overwrite, ``need`` = inputs that want a cotangent):

* ``jvp(c, vals, out, tans) -> block | None`` -- ``tans[k]`` is ``None`` or a
  block of shape ``(p,) + in_shapes[k]``; the result has shape ``(p,) + shape``.
  ``vals``/``out`` hold only the values :func:`jvp_needs` asked for (others may
  be ``None``).
* ``vjp(c, vals, out, ct) -> list`` -- ``vals``/``out`` are tracers or numpy
  constants, ``ct`` a tracer of shape ``shape``; returns one cotangent (tracer,
  shape ``in_shapes[k]``) or ``None`` per input.

The strong zero (README, "Derivatives"): every chain-rule product with an exact
zero factor is exactly zero, even when the other factor is inf or NaN, so a
discarded value (overwritten, not selected by ``where``, the losing side of a
``maximum``) or a structurally zero tangent never turns a derivative into NaN.
The VJP rules record their products as ``strong_multiply`` nodes and einsums
with ``strong=True``; the JVP rules compute plain products unless
``c.strong`` is set -- the lane interpreter reruns a sweep in that mode when
its result holds a NaN (a NaN-free result is exactly the strong one, since
a spurious ``0 * inf`` NaN can only vanish by being discarded).
"""

from __future__ import annotations

import math
import string

import numpy as np
import scipy.sparse as sp

from ..tracing import REGISTRY
from ..tracing.registry import choice_weight, strong_product
from ..tracing.structural import einsum_parse, strong_einsum
from ..tracing.tracer import Tracer
from .lanes import expand_block, full_block, lincomb, strong_lincomb

__all__ = ["PARTIALS", "LINEAR", "Call", "jvp_needs", "passes", "tangent_is_static",
           "strong_product", "strong_einsum"]


class Call:
    """What a rule sees of the node it is applied to."""

    __slots__ = ("shape", "in_shapes", "params", "p", "donate", "need", "strong")

    def __init__(self, shape, in_shapes, params, p=0, donate=(), need=(), strong=False):
        self.shape = tuple(shape)
        self.in_shapes = [tuple(s) for s in in_shapes]
        self.params = params
        self.p = p
        self.donate = donate
        self.need = need
        self.strong = strong


# --- the elementwise table ----------------------------------------------------------

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)


def _one(*a):
    return 1.0


def _minus_one(*a):
    return -1.0


def _pick(name):
    """maximum/minimum/fmax/fmin: the tie convention of :func:`choice_weight` (1/2 each on ties)."""
    def da(a, b, out):
        return choice_weight(name, a, b)

    def db(a, b, out):
        return choice_weight(name, b, a)
    return da, db


def _power_dx(x, y, out):
    if isinstance(y, (int, float, np.ndarray, np.generic)) and np.ndim(y) == 0:
        e = float(y)
        if e == 0.0:
            return 0.0
        if e == 1.0:
            return 1.0
        if e == 2.0:
            return 2.0 * x
        if e == 3.0:
            return 3.0 * (x * x)
        return e * x ** (e - 1.0)
    return strong_product(y, x ** (y - 1.0))    # y = 0: x**0 is constant, also at x = 0


def _power_dy(x, y, out):
    pos = x > 0
    return np.where(pos, np.log(np.where(pos, x, 1.0)) * out, 0.0)


#: elementwise primitive -> per-argument partial derivative d(*args, out) (None: no derivative)
PARTIALS = {
    "negative": (_minus_one,), "positive": (_one,),
    "deg2rad": (lambda x, out: math.pi / 180.0,), "rad2deg": (lambda x, out: 180.0 / math.pi,),
    "abs": (lambda x, out: np.sign(x),),
    "sin": (lambda x, out: np.cos(x),), "cos": (lambda x, out: -np.sin(x),),
    "tan": (lambda x, out: 1.0 + out * out,),
    "arcsin": (lambda x, out: 1.0 / np.sqrt(1.0 - x * x),),
    "arccos": (lambda x, out: -1.0 / np.sqrt(1.0 - x * x),),
    "arctan": (lambda x, out: 1.0 / (1.0 + x * x),),
    "sinh": (lambda x, out: np.cosh(x),), "cosh": (lambda x, out: np.sinh(x),),
    "tanh": (lambda x, out: 1.0 - out * out,),
    "arcsinh": (lambda x, out: 1.0 / np.sqrt(x * x + 1.0),),
    "arccosh": (lambda x, out: 1.0 / np.sqrt(x * x - 1.0),),
    "arctanh": (lambda x, out: 1.0 / (1.0 - x * x),),
    "exp": (lambda x, out: out,), "exp2": (lambda x, out: _LN2 * out,),
    "expm1": (lambda x, out: out + 1.0,),
    "log": (lambda x, out: 1.0 / x,), "log2": (lambda x, out: 1.0 / (_LN2 * x),),
    "log10": (lambda x, out: 1.0 / (_LN10 * x),), "log1p": (lambda x, out: 1.0 / (1.0 + x),),
    # cbrt: not 1/(3 out out), whose derivative at 0 meets 0 * inf (strong zero: 0, not -inf)
    "sqrt": (lambda x, out: 0.5 / out,), "cbrt": (lambda x, out: out ** -2.0 / 3.0,),
    "square": (lambda x, out: 2.0 * x,), "reciprocal": (lambda x, out: -(out * out),),
    "add": (_one, _one), "subtract": (_one, _minus_one),
    "multiply": (lambda a, b, out: b, lambda a, b, out: a),
    "divide": (lambda a, b, out: 1.0 / b, lambda a, b, out: -out / b),
    "power": (_power_dx, _power_dy), "float_power": (_power_dx, _power_dy),
    "maximum": _pick("maximum"), "minimum": _pick("minimum"),
    "fmax": _pick("fmax"), "fmin": _pick("fmin"),
    "hypot": (lambda a, b, out: a / out, lambda a, b, out: b / out),
    "arctan2": (lambda a, b, out: b / (a * a + b * b), lambda a, b, out: -a / (a * a + b * b)),
    "logaddexp": (lambda a, b, out: np.exp(a - out), lambda a, b, out: np.exp(b - out)),
    "logaddexp2": (lambda a, b, out: np.exp2(a - out), lambda a, b, out: np.exp2(b - out)),
    "remainder": (_one, lambda a, b, out: -np.floor_divide(a, b)),
    "fmod": (_one, lambda a, b, out: -np.trunc(a / b)),
    "copysign": (lambda a, b, out: np.sign(a) * np.copysign(1.0, b), None),   # 0 at a = 0, as abs
    "erf": (lambda x, out: _2_SQRTPI * np.exp(-(x * x)),),
    "erfc": (lambda x, out: -_2_SQRTPI * np.exp(-(x * x)),),
    "expit": (lambda x, out: out * (1.0 - out),),
    "strong_multiply": (lambda a, b, out: b, lambda a, b, out: a),
}

#: primitives whose tangent is a fixed linear map of the input tangents (no values needed)
LINEAR = frozenset({"reshape", "transpose", "gather", "scatter", "concatenate", "reduce_sum",
                    "cumsum", "spmatmul", "cast", "add", "subtract", "negative", "positive",
                    "deg2rad", "rad2deg"})


def passes(prim, k, in_dtype=None, params=None):
    """Whether a tangent of input ``k`` can reach the output of ``prim`` at all."""
    entry = REGISTRY[prim]
    if entry.elementwise is not None and prim != "where":
        fns = PARTIALS.get(prim)
        return bool(entry.elementwise.d1[k]) and fns is not None and fns[k] is not None
    if prim == "where":
        return k != 0
    if prim == "cast":
        return np.issubdtype(params["dtype"], np.inexact)
    return True


def jvp_needs(prim, has_tan):
    """Which input values (positions) and whether the output value the JVP rule reads."""
    k_all = range(len(has_tan))
    if prim in LINEAR:
        return (), False
    if prim == "where":
        return (0,), False
    if prim in ("multiply", "strong_multiply"):
        return tuple(1 - k for k in k_all if has_tan[k]), False
    if prim == "divide" and not has_tan[1]:
        return (1,), False
    if prim == "einsum":
        return tuple(j for j in k_all if any(has_tan[k] and k != j for k in k_all)), False
    return tuple(k_all), True


def tangent_is_static(prim, tan_static, has_tan, varying):
    """Whether the tangent does not depend on any input value (affine folding)."""
    tans = [k for k, h in enumerate(has_tan) if h]
    if not all(tan_static[k] for k in tans):
        return False
    if prim in LINEAR:
        return True
    if prim in ("multiply", "strong_multiply", "einsum"):
        return all(not varying[j] for k in tans for j in range(len(has_tan)) if j != k)
    if prim == "divide":
        return not has_tan[1] and not varying[1]
    if prim == "where":
        return not varying[0]
    return False


# --- helpers shared by numpy and tracer values ---------------------------------------

def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _tc(ct):
    return ct._tc


def _rec(ct, prim, inputs, **params):
    """Record a primitive in the tracing run of ``ct``."""
    return _tc(ct).add(prim, inputs, **params)


def _strong(s, ct):
    """Record the chain-rule product ``s * ct`` with the strong zero."""
    return _rec(ct, "strong_multiply", [s, ct])


def _unbroadcast(g, shape):
    """Sum a cotangent ``g`` down to ``shape`` (the transpose of numpy broadcasting)."""
    shape = tuple(shape)
    gs = tuple(g.shape)
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and gs[lead + i] != 1)
    r = _rec(g, "reduce_sum", [g], axes=axes) if axes else g
    if tuple(r.shape) != shape:
        r = _rec(g, "reshape", [r], shape=shape)
    return r


def _expand(out, in_shape, axes):
    """``out`` (reduced over ``axes``) reshaped with ones in the reduced axes."""
    kshape = tuple(1 if i in axes else s for i, s in enumerate(in_shape))
    return out.reshape(kshape) if np.ndim(out) or isinstance(out, Tracer) else np.reshape(out, kshape)


def _to_end(x, axes):
    """Transpose the reduced ``axes`` last and merge them: ``(rest..., L)`` plus the undo info."""
    nd = len(x.shape)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    xt = np.transpose(x, perm)
    rest = tuple(xt.shape[: nd - len(axes)])
    L = int(np.prod(xt.shape[nd - len(axes):], dtype=np.int64))
    return np.reshape(xt, rest + (L,)), perm, tuple(xt.shape)


def _from_end(y, perm, tshape):
    return np.transpose(np.reshape(y, tshape), np.argsort(perm))


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
    return _from_end(left * right, perm, tshape)


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


# --- elementwise rules ------------------------------------------------------------

def _ew_rules(fns):
    def jvp(c, vals, out, tans):
        terms = []
        shape = (c.p,) + c.shape
        for k, t in enumerate(tans):
            if t is None or fns[k] is None:
                continue
            s = fns[k](*vals, out)
            for term in terms:
                if term[1] is t:
                    term[0] = term[0] + s
                    break
            else:
                terms.append([s, t, k in c.donate])
        for term in terms:
            k = next(k for k, t in enumerate(tans) if t is term[1])
            term[1] = expand_block(term[1], c.in_shapes[k], c.shape)
        if c.strong:
            return strong_lincomb(terms, shape)
        return lincomb([tuple(t) for t in terms], shape)

    def vjp(c, vals, out, ct):
        res = []
        for k in range(len(vals)):
            if not c.need[k] or fns[k] is None:
                res.append(None)
                continue
            s = fns[k](*vals, out)
            if isinstance(s, (int, float)) and s == 0.0:
                res.append(None)
                continue
            if isinstance(s, (int, float)) and s == 1.0:
                g = ct
            elif isinstance(s, (int, float)) and s == -1.0:
                g = -ct
            elif isinstance(s, (int, float)) and math.isfinite(s):
                g = s * ct
            else:
                g = _strong(s, ct)
            res.append(_unbroadcast(g, c.in_shapes[k]))
        return res
    return jvp, vjp


# --- structural rules: jvp ---------------------------------------------------------

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


def _zeros(shape, p):
    return np.zeros((p,) + tuple(shape))


def _plus1(axes):
    return tuple(int(a) + 1 for a in axes)


def _jvp_reshape(c, vals, out, tans):
    return tans[0].reshape((c.p,) + c.shape)


def _jvp_transpose(c, vals, out, tans):
    return tans[0].transpose((0,) + _plus1(c.params["axes"]))


def _jvp_gather(c, vals, out, tans):
    idx, mask = _gather_maps(c.params["index"])
    t = tans[0].reshape(c.p, _size(c.in_shapes[0]))
    r = np.take(t, idx, axis=1) if t.shape[1] else np.zeros((c.p, idx.size))
    if mask is not None:
        r[:, mask] = 0.0
    return r.reshape((c.p,) + c.shape)


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
    r.reshape(c.p, _size(c.shape))[:, index.reshape(-1)] = block
    return r


def _jvp_concatenate(c, vals, out, tans):
    blocks = [t if t is not None else _zeros(s, c.p) for t, s in zip(tans, c.in_shapes)]
    return np.concatenate(blocks, axis=c.params["axis"] + 1)


def _jvp_reduce_sum(c, vals, out, tans):
    axes = tuple(c.params["axes"])
    return tans[0].sum(axis=_plus1(axes)) if axes else tans[0].copy()   # never an alias


def _scale(c, t, s):
    """``t * s`` (a lane block times a value-shaped factor), strong in strong mode."""
    return strong_product(t, s) if c.strong else t * s


def _jvp_reduce_prod(c, vals, out, tans):
    axes = tuple(c.params["axes"])
    if not axes:
        return tans[0].copy()
    return np.sum(_scale(c, tans[0], others_product(vals[0], axes)), axis=_plus1(axes))


def _jvp_reduce_extreme(c, vals, out, tans):
    axes = tuple(c.params["axes"])
    if not axes:
        return tans[0].copy()
    return np.sum(_scale(c, tans[0], extreme_weights(vals[0], out, axes)), axis=_plus1(axes))


def _jvp_cumsum(c, vals, out, tans):
    return np.cumsum(tans[0], axis=c.params["axis"] + 1)


def _jvp_cumprod(c, vals, out, tans):
    axis = c.params["axis"]
    J = cumprod_jacobian(vals[0], axis)                      # (..., L, L)
    tm = np.moveaxis(tans[0], axis + 1, -1)                  # (p, ..., L)
    if c.strong:
        r = strong_einsum("...ij,z...j->z...i", J, tm)
    else:
        r = (J @ tm[..., None])[..., 0]
    return np.moveaxis(r, -1, axis + 1)


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


_NONZERO = {}


def _jvp_spmatmul(c, vals, out, tans):
    A, axis = c.params["matrix"], c.params["axis"]
    if c.strong:
        A = _stored_nonzeros(A)
    t = np.moveaxis(tans[0], axis + 1, 0)
    rest = t.shape[1:]
    y = A @ t.reshape(t.shape[0], _size(t.shape[1:]))
    y = np.asarray(y, dtype=np.float64).reshape((A.shape[0],) + rest)
    return np.moveaxis(y, 0, axis + 1)


def _jvp_cast(c, vals, out, tans):
    return tans[0]


def _jvp_where(c, vals, out, tans):
    cond = np.asarray(vals[0], dtype=bool)
    a = 0.0 if tans[1] is None else expand_block(tans[1], c.in_shapes[1], c.shape)
    b = 0.0 if tans[2] is None else expand_block(tans[2], c.in_shapes[2], c.shape)
    return full_block(np.where(cond, a, b), (c.p,) + c.shape)


def _einsum_mode(c, spec, *ops):
    return strong_einsum(spec, *ops) if c.strong else np.einsum(spec, *ops, optimize=True)


def _jvp_solve(c, vals, out, tans):
    A, b = vals
    tA, tb = tans
    rhs = _zeros(c.shape, c.p) if tb is None else np.array(tb)
    if tA is not None:
        rhs -= _einsum_mode(c, "zij,j...->zi...", tA, out)
    if c.strong:    # A^-1 rhs term by term: a zero entry of either contributes nothing
        return strong_einsum("ij,zj...->zi...", np.linalg.inv(A), rhs)
    r = np.moveaxis(rhs, 0, -1)                 # (n, ..., p)
    sol = np.linalg.solve(A, r.reshape(A.shape[0], _size(r.shape[1:]))).reshape(r.shape)
    return np.moveaxis(sol, -1, 0)


def _jvp_inv(c, vals, out, tans):
    return -_einsum_mode(c, "ij,zjk,kl->zil", out, tans[0], out)


def _jvp_det(c, vals, out, tans):
    r = _einsum_mode(c, "...ji,z...ij->z...", np.linalg.inv(vals[0]), tans[0])
    return strong_product(r, out) if c.strong else r * out


# --- structural rules: vjp (record graph nodes) -------------------------------------

def _vjp_reshape(c, vals, out, ct):
    return [_rec(ct, "reshape", [ct], shape=c.in_shapes[0])]


def _vjp_transpose(c, vals, out, ct):
    inv = tuple(int(a) for a in np.argsort(c.params["axes"]))
    return [_rec(ct, "transpose", [ct], axes=inv)]


def _transpose_gather(ct, flat_index, in_shape):
    """Cotangent of ``x`` for ``out.flat = x.flat[flat_index]`` (``-1``: no source)."""
    n_in = _size(in_shape)
    valid = flat_index >= 0
    src = flat_index[valid]
    pos = np.flatnonzero(valid)
    if src.size == 0:
        return None
    if np.unique(src).size == src.size:     # injective: an inverse gather
        inv = np.full(n_in, -1, dtype=np.int64)
        inv[src] = pos
        return _rec(ct, "gather", [ct], index=inv.reshape(in_shape), fill=0)
    G = sp.csr_array((np.ones(src.size), (src, pos)), shape=(n_in, flat_index.size))
    flat = _rec(ct, "reshape", [ct], shape=(flat_index.size,))
    r = _rec(ct, "spmatmul", [flat], matrix=G, axis=0)
    return _rec(ct, "reshape", [r], shape=tuple(in_shape))


def _vjp_gather(c, vals, out, ct):
    return [_transpose_gather(ct, np.asarray(c.params["index"]).reshape(-1), c.in_shapes[0])]


def _vjp_scatter(c, vals, out, ct):
    base_shape, val_shape = c.in_shapes
    index = np.asarray(c.params["index"])
    flat = index.reshape(-1)
    res = [None, None]
    if c.need[0]:
        keep = np.arange(_size(base_shape), dtype=np.int64)
        keep[flat] = -1
        res[0] = _rec(ct, "gather", [ct], index=keep.reshape(base_shape), fill=0)
    if c.need[1]:
        owner = np.full(_size(base_shape), -1, dtype=np.int64)
        owner[flat] = np.arange(flat.size, dtype=np.int64)
        win = np.where(owner[flat] == np.arange(flat.size), flat, -1)
        g = _rec(ct, "gather", [ct], index=win.reshape(index.shape), fill=0)
        res[1] = _unbroadcast(g, val_shape)
    return res


def _vjp_concatenate(c, vals, out, ct):
    axis = c.params["axis"]
    idx = np.arange(_size(c.shape), dtype=np.int64).reshape(c.shape)
    bounds = np.cumsum([0] + [s[axis] for s in c.in_shapes])
    res = []
    for k, s in enumerate(c.in_shapes):
        if not c.need[k]:
            res.append(None)
            continue
        part = np.take(idx, np.arange(bounds[k], bounds[k + 1]), axis=axis)
        res.append(_rec(ct, "gather", [ct], index=np.ascontiguousarray(part), fill=0))
    return res


def _broadcast_back(ct, in_shape, axes):
    """``ct`` (reduced over ``axes``) broadcast back onto ``in_shape``."""
    if not axes:
        return ct
    out_shape = tuple(s for i, s in enumerate(in_shape) if i not in axes)
    idx = np.arange(_size(out_shape), dtype=np.int64).reshape(out_shape)
    idx = np.broadcast_to(np.expand_dims(idx, tuple(sorted(axes))), in_shape)
    return _rec(ct, "gather", [ct], index=np.ascontiguousarray(idx), fill=0)


def _vjp_reduce_sum(c, vals, out, ct):
    return [_broadcast_back(ct, c.in_shapes[0], tuple(c.params["axes"]))]


def _vjp_reduce_prod(c, vals, out, ct):
    axes = tuple(c.params["axes"])
    if not axes:
        return [ct]
    return [_strong(others_product(vals[0], axes), _broadcast_back(ct, c.in_shapes[0], axes))]


def _vjp_reduce_extreme(c, vals, out, ct):
    axes = tuple(c.params["axes"])
    if not axes:
        return [ct]
    return [_strong(extreme_weights(vals[0], out, axes),
                    _broadcast_back(ct, c.in_shapes[0], axes))]


def _vjp_cumsum(c, vals, out, ct):
    axis = c.params["axis"]
    return [np.flip(np.cumsum(np.flip(ct, axis), axis=axis), axis)]


def _vjp_cumprod(c, vals, out, ct):
    axis = c.params["axis"]
    J = cumprod_jacobian(vals[0], axis)                      # (..., L, L)
    ctm = np.moveaxis(ct, axis, -1)                          # (..., L)
    batch = string.ascii_lowercase[:len(c.shape) - 1]
    g = _rec(ct, "einsum", [J, ctm], subscripts=f"{batch}ij,{batch}i->{batch}j", strong=True)
    return [np.moveaxis(g, -1, axis)]


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
        res.append(_rec(ct, "einsum", ops, subscripts=",".join(specs) + "->" + spec,
                        strong=True))
    return res


_TRANSPOSED = {}


def _vjp_spmatmul(c, vals, out, ct):
    A = c.params["matrix"]
    hit = _TRANSPOSED.get(id(A))
    if hit is None or hit[0] is not A:
        At = sp.csr_array(A.T)
        At.eliminate_zeros()
        hit = (A, At)
        _TRANSPOSED[id(A)] = hit
    return [_rec(ct, "spmatmul", [ct], matrix=hit[1], axis=c.params["axis"])]


def _vjp_cast(c, vals, out, ct):
    return [ct]


def _vjp_where(c, vals, out, ct):
    cond = vals[0]
    res = [None, None, None]
    if c.need[1]:
        res[1] = _unbroadcast(np.where(cond, ct, 0.0), c.in_shapes[1])
    if c.need[2]:
        res[2] = _unbroadcast(np.where(cond, 0.0, ct), c.in_shapes[2])
    return res


def _vjp_solve(c, vals, out, ct):
    A, _ = vals
    # A^-T ct as a strong einsum (not a solve): a zero cotangent entry contributes
    # nothing, even for a NaN matrix; linear in ct, so reverse lanes may seed it
    spec = "ji,j->i" if len(c.in_shapes[1]) == 1 else "ji,jk->ik"
    gb = _rec(ct, "einsum", [np.linalg.inv(A), ct], subscripts=spec, strong=True)
    res = [None, gb if c.need[1] else None]
    if c.need[0]:
        spec = "i,j->ij" if len(c.in_shapes[1]) == 1 else "ik,jk->ij"
        res[0] = -_rec(ct, "einsum", [gb, out], subscripts=spec, strong=True)
    return res


def _vjp_inv(c, vals, out, ct):
    return [-_rec(ct, "einsum", [out, ct, out], subscripts="ji,jk,lk->il", strong=True)]


def _vjp_det(c, vals, out, ct):
    scaled = np.reshape(_strong(out, ct), np.shape(out) + (1, 1))
    return [_strong(np.swapaxes(np.linalg.inv(vals[0]), -1, -2), scaled)]


_STRUCTURAL = {
    "reshape": (_jvp_reshape, _vjp_reshape), "transpose": (_jvp_transpose, _vjp_transpose),
    "gather": (_jvp_gather, _vjp_gather), "scatter": (_jvp_scatter, _vjp_scatter),
    "concatenate": (_jvp_concatenate, _vjp_concatenate),
    "reduce_sum": (_jvp_reduce_sum, _vjp_reduce_sum),
    "reduce_prod": (_jvp_reduce_prod, _vjp_reduce_prod),
    "reduce_max": (_jvp_reduce_extreme, _vjp_reduce_extreme),
    "reduce_min": (_jvp_reduce_extreme, _vjp_reduce_extreme),
    "cumsum": (_jvp_cumsum, _vjp_cumsum), "cumprod": (_jvp_cumprod, _vjp_cumprod),
    "einsum": (_jvp_einsum, _vjp_einsum), "spmatmul": (_jvp_spmatmul, _vjp_spmatmul),
    "cast": (_jvp_cast, _vjp_cast), "where": (_jvp_where, _vjp_where),
    "solve": (_jvp_solve, _vjp_solve), "inv": (_jvp_inv, _vjp_inv), "det": (_jvp_det, _vjp_det),
}


def _no_derivative(c, vals, out, tans):
    return None


def _no_cotangent(c, vals, out, ct):
    return [None] * len(c.in_shapes)


def _attach():
    for name, entry in REGISTRY.items():
        if name in ("input", "const"):
            continue
        if name in _STRUCTURAL:
            entry.jvp, entry.vjp = _STRUCTURAL[name]
        elif name in PARTIALS:
            entry.jvp, entry.vjp = _ew_rules(PARTIALS[name])
        elif entry.elementwise is not None and not any(entry.elementwise.d1):
            entry.jvp, entry.vjp = _no_derivative, _no_cotangent


_attach()
