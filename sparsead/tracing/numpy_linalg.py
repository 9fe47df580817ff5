"""Lowering of products and linear algebra: matmul, dot, einsum, tensordot, solve, norm ...

Fed by ``numpy_api.py`` (helpers) and ``numpy_layout.py`` (reshape). Products
lower onto ``einsum`` (dense or traced operands) and ``spmatmul`` (constant
scipy.sparse matrices); ``solve``/``inv``/``det`` onto their primitives.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import as_csr
from .dispatch import HANDLERS, METHODS, implements
from .numpy_api import (_call_ufunc, _normalize_axis, _shape, _tc_of, _unsupported, _wrap,
                        astype, max_, min_, sum_)
from .numpy_layout import reshape
from .tracer import Tracer

__all__ = ["matmul", "dot", "einsum"]


_LETTERS = "abcdefghijklmnopqrstuvw"


def _einsum(tc, subscripts, operands):
    ops = []
    for o in operands:
        if sp.issparse(o):
            raise _unsupported("a scipy.sparse operand in an einsum/tensordot product "
                               "(use `A @ x`)")
        ops.append(o if isinstance(o, Tracer) else np.asarray(o))
    return tc.add("einsum", ops, subscripts=subscripts)


def _sparse_matmul(a, b):
    tc = _tc_of(a, b)
    if sp.issparse(a) and sp.issparse(b):
        raise _unsupported("a product of two scipy.sparse matrices inside a traced function")
    if sp.issparse(a):
        A = as_csr(a, "the scipy.sparse matrix of A @ x")   # validated: kernels trust it
        x = _wrap(tc, b)
        if x.shape[0 if x.ndim == 1 else -2] != A.shape[1]:
            raise ValueError(f"matmul: dimension mismatch {A.shape} @ {x.shape}")
        return tc.add("spmatmul", [x], matrix=A, axis=0 if x.ndim == 1 else x.ndim - 2)
    A = as_csr(b, "the scipy.sparse matrix of x @ A")
    x = _wrap(tc, a)
    if x.shape[-1] != A.shape[0]:
        raise ValueError(f"matmul: dimension mismatch {x.shape} @ {A.shape}")
    return tc.add("spmatmul", [x], matrix=sp.csr_array(A.T), axis=x.ndim - 1)


def _batch(tc, v, vbatch, obatch, mat_shape):
    pad = len(obatch) - len(vbatch)
    if tuple(vbatch) == tuple(obatch[pad:]):
        return v, _LETTERS[pad:len(obatch)]
    target = tuple(obatch) + tuple(mat_shape)
    v = HANDLERS[np.broadcast_to](v, target) if isinstance(v, Tracer) else np.broadcast_to(
        v, target)
    return v, _LETTERS[:len(obatch)]


def matmul(a, b, out=None, **kwargs):
    if out is not None:
        raise _unsupported("np.matmul(..., out=...)")
    if sp.issparse(a) or sp.issparse(b):
        return _sparse_matmul(a, b)
    tc = _tc_of(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if len(sa) == 1 and len(sb) == 1:
        return _einsum(tc, "y,y->", (a, b))
    if len(sb) == 1:
        B = _LETTERS[:len(sa) - 2]
        return _einsum(tc, f"{B}xy,y->{B}x", (a, b))
    if len(sa) == 1:
        B = _LETTERS[:len(sb) - 2]
        return _einsum(tc, f"y,{B}yz->{B}z", (a, b))
    obatch = np.broadcast_shapes(sa[:-2], sb[:-2])
    a, La = _batch(tc, a, sa[:-2], obatch, sa[-2:])
    b, Lb = _batch(tc, b, sb[:-2], obatch, sb[-2:])
    return _einsum(tc, f"{La}xy,{Lb}yz->{_LETTERS[:len(obatch)]}xz", (a, b))


HANDLERS[np.matmul] = matmul   # a ufunc: reached through apply_ufunc and the operators


@implements(np.dot)
def dot(a, b, out=None):
    if out is not None:
        raise _unsupported("np.dot(..., out=...)")
    if sp.issparse(a) or sp.issparse(b):
        return _sparse_matmul(a, b)
    tc = _tc_of(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return _call_ufunc(tc, np.multiply, (a, b))
    A = _LETTERS[:len(sa) - 1]
    if len(sb) == 1:
        return _einsum(tc, f"{A}y,y->{A}", (a, b))
    B = _LETTERS[len(sa) - 1:len(sa) + len(sb) - 3]
    return _einsum(tc, f"{A}y,{B}yz->{A}{B}z", (a, b))


@implements(np.inner)
def inner(a, b):
    tc = _tc_of(a, b)
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return _call_ufunc(tc, np.multiply, (a, b))
    A = _LETTERS[:len(sa) - 1]
    B = _LETTERS[len(sa) - 1:len(sa) + len(sb) - 2]
    return _einsum(tc, f"{A}y,{B}y->{A}{B}", (a, b))


@implements(np.outer)
def outer(a, b, out=None):
    tc = _tc_of(a, b)
    a, b = (reshape(v, (-1,)) if isinstance(v, Tracer) else np.ravel(v) for v in (a, b))
    return _einsum(tc, "x,y->xy", (a, b))


@implements(np.vdot)
def vdot(a, b):
    tc = _tc_of(a, b)
    a, b = (reshape(v, (-1,)) if isinstance(v, Tracer) else np.ravel(v) for v in (a, b))
    return _einsum(tc, "y,y->", (a, b))


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    tc = _tc_of(a, b)
    na, nb = len(_shape(a)), len(_shape(b))
    if isinstance(axes, int):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = (list(np.atleast_1d(v)) for v in axes)
    ax_a = [_normalize_axis(i, na) for i in ax_a]
    ax_b = [_normalize_axis(i, nb) for i in ax_b]
    la = list(_LETTERS[:na])
    lb = list(_LETTERS[na:na + nb])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    outl = [c for i, c in enumerate(la) if i not in ax_a] + \
           [c for j, c in enumerate(lb) if j not in ax_b]
    return _einsum(tc, f"{''.join(la)},{''.join(lb)}->{''.join(outl)}", (a, b))


@implements(np.einsum)
def einsum(*operands, out=None, optimize=False, **kwargs):
    if out is not None or not isinstance(operands[0], str):
        raise _unsupported("np.einsum with `out=` or the interleaved operand form")
    subscripts, ops = operands[0].replace(" ", ""), operands[1:]
    tc = _tc_of(ops)
    ins, _, out_spec = subscripts.partition("->")
    specs = ins.split(",")
    if len(specs) != len(ops):
        raise ValueError("einsum: more operands than subscripts")
    used = set(c for c in subscripts if c.isalpha())
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    n_ell = max((len(_shape(o)) - (len(s) - 3) for s, o in zip(specs, ops) if "..." in s),
                default=0)
    ell = "".join(free[:n_ell])
    specs = [s.replace("...", ell[n_ell - (len(_shape(o)) - (len(s) - 3)):])
             if "..." in s else s for s, o in zip(specs, ops)]
    if "->" in subscripts:
        out_spec = out_spec.replace("...", ell)
    else:
        counts = {c: "".join(specs).count(c) for c in set("".join(specs))}
        out_spec = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    dims = {}
    for s, o in zip(specs, ops):
        for c, d in zip(s, _shape(o)):
            if dims.setdefault(c, d) != d:
                raise _unsupported("np.einsum with broadcast (size-1) dimensions")
    return _einsum(tc, ",".join(specs) + "->" + out_spec, ops)


# --- linear algebra ---------------------------------------------------------------

@implements(np.linalg.solve)
def solve(a, b):
    return _tc_of(a, b).add("solve", [a, b])


@implements(np.linalg.inv)
def inv(a):
    return a._tc.add("inv", [a])


@implements(np.linalg.det)
def det(a):
    return a._tc.add("det", [a])


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return sum_(HANDLERS[np.diagonal](a, offset, axis1, axis2), axis=-1, dtype=dtype)


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    nd = x.ndim
    if axis is None and (ord is None or nd == 1):
        r = _vector_norm(reshape(x, (-1,)), ord, 0)
        return reshape(r, (1,) * nd) if keepdims else r
    axes = (tuple(range(nd)) if axis is None else
            tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))
    axes = tuple(_normalize_axis(ax, nd) for ax in axes)
    if len(axes) == 1:
        r = _vector_norm(x, ord, axes[0])
    elif len(axes) == 2:
        r = _matrix_norm(x, ord, axes)
    else:
        raise ValueError("Improper number of dimensions to norm.")
    if keepdims:
        r = reshape(r, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    return r


def _vector_norm(x, ord, axis):
    if ord is None or ord == 2:
        return np.sqrt(sum_(x * x, axis=axis))
    if ord == np.inf:
        return max_(abs(x), axis=axis)
    if ord == -np.inf:
        return min_(abs(x), axis=axis)
    if ord == 1:
        return sum_(abs(x), axis=axis)
    if ord == 0:
        return sum_(astype(x != 0, x.dtype), axis=axis)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    return sum_(abs(x) ** ord, axis=axis) ** (1.0 / ord)


def _matrix_norm(x, ord, axes):
    r, c = axes
    if ord in (None, "fro"):
        return np.sqrt(sum_(x * x, axis=axes))
    if ord in (1, -1):
        s = sum_(abs(x), axis=r)
        return (max_ if ord == 1 else min_)(s, axis=c - (c > r))
    if ord in (np.inf, -np.inf):
        s = sum_(abs(x), axis=c)
        return (max_ if ord == np.inf else min_)(s, axis=r - (r > c))
    raise _unsupported(f"np.linalg.norm(..., ord={ord!r}) for matrices")


METHODS.update(dot=dot, trace=trace)
