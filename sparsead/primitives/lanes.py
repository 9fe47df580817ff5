"""Arithmetic on lane blocks: broadcasting a block to a shape, scaled sums of blocks.

Used by the JVP rules of the primitives (:mod:`sparsead.primitives`). A lane block is lanes-first,
``(p,) + value.shape``; a scale factor has the value's shape (or broadcasts to
it), so scaling broadcasts over the contiguous inner loop. :func:`lincomb` reuses
buffers the lane interpreter donates; :func:`strong_lincomb` is its strong-zero
variant (a zero scale or a zero tangent entry gives 0 even against inf/NaN).
"""

from __future__ import annotations

import numpy as np

from .core import strong_product

__all__ = ["expand_block", "full_block", "lincomb", "strong_lincomb"]


def expand_block(t, in_shape, shape):
    """A lane block of an input broadcast to ``shape``: ones inserted after the lane axis."""
    d = len(shape) - len(in_shape)
    return t.reshape((t.shape[0],) + (1,) * d + tuple(in_shape)) if d > 0 else t


def full_block(t, shape):
    """``t`` broadcast to ``shape`` as its own array (``t`` itself if it has that shape)."""
    if t.shape == shape:
        return t
    return np.array(np.broadcast_to(t, shape))


def _unit(s):
    return isinstance(s, (int, float)) and abs(s) == 1.0


def lincomb(terms, shape):
    """``sum_k s_k * t_k`` over lane blocks; ``terms`` = ``[(scale, block, donatable), ...]``.

    Blocks are lanes-first, already reshaped to broadcast against ``shape``;
    scales broadcast against the value shape (``shape[1:]``).
    """
    if not terms:
        return None
    if len(terms) == 1:
        s, t, d = terms[0]
        if isinstance(s, (int, float)) and s == 1.0:
            return full_block(t, shape)
        if d and t.shape == shape:
            return np.multiply(t, s, out=t)
        return full_block(np.multiply(t, s), shape)
    (s1, t1, d1), (s2, t2, d2) = terms[0], terms[1]
    if len(terms) == 2 and _unit(s1) and _unit(s2):
        buf = t1 if d1 and t1.shape == shape else (t2 if d2 and t2.shape == shape else None)
        if s1 == 1.0 and s2 == 1.0:
            r = np.add(t1, t2, out=buf)
        elif s1 == 1.0:
            r = np.subtract(t1, t2, out=buf)
        elif s2 == 1.0:
            r = np.subtract(t2, t1, out=buf)
        else:
            r = np.add(t1, t2, out=buf)
            r = np.negative(r, out=r)
        return full_block(r, shape)
    # general: accumulate into a donated block when one fits, else into a fresh one
    order = sorted(range(len(terms)),
                   key=lambda k: not (terms[k][2] and terms[k][1].shape == shape))
    s, t, d = terms[order[0]]
    if d and t.shape == shape:
        acc = t if (isinstance(s, (int, float)) and s == 1.0) else np.multiply(t, s, out=t)
    else:
        acc = np.multiply(t, s)
        acc = np.array(np.broadcast_to(acc, shape)) if acc.shape != shape else acc
    tmp = None
    for k in order[1:]:
        s, t, _ = terms[k]
        if isinstance(s, (int, float)) and s == 1.0:
            acc += t
        elif isinstance(s, (int, float)) and s == -1.0:
            acc -= t
        else:
            if tmp is None or tmp.shape != np.broadcast_shapes(t.shape, np.shape(s)):
                tmp = np.multiply(t, s)
            else:
                np.multiply(t, s, out=tmp)
            acc += tmp
    return acc


def strong_lincomb(terms, shape):
    """:func:`lincomb` with the strong zero: a zero scale or a zero tangent entry gives 0."""
    acc = None
    for s, t, _ in terms:
        if isinstance(s, (int, float)) and s == 0.0:
            continue
        r = strong_product(t, s)
        acc = r if acc is None else acc + r
    if acc is None:
        return np.zeros(shape)
    return full_block(acc, shape)
