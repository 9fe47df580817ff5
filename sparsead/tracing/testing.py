"""Dense numerical oracles for tests: finite-difference Jacobians and Hessians.

Plain, slow and obviously correct (central differences on copies of ``x``), so
that the detected patterns can be checked against them: a detected pattern
must contain every entry that is numerically nonzero at some point.
"""

from __future__ import annotations

import numpy as np

__all__ = ["numeric_jacobian", "numeric_hessian", "nonzero_pattern", "stable_nonzero"]


def _call(f, x, args):
    return np.asarray(f(x.copy(), *args), dtype=float).reshape(-1)


def numeric_jacobian(f, x, args=(), h=1e-6):
    """Central-difference Jacobian of ``f`` at ``x``: shape ``(f(x).size, x.size)``."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1)
    cols = []
    for j in range(flat.size):
        step = h * max(1.0, abs(flat[j]))
        e = np.zeros_like(flat)
        e[j] = step
        hi = _call(f, (flat + e).reshape(x.shape), args)
        lo = _call(f, (flat - e).reshape(x.shape), args)
        cols.append((hi - lo) / (2 * step))
    return np.stack(cols, axis=1) if cols else np.zeros((_call(f, x, args).size, 0))


def numeric_hessian(f, x, args=(), h=1e-4):
    """Four-point second differences of scalar ``f`` at ``x``: shape ``(x.size, x.size)``."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1)
    n = flat.size

    def fx(v):
        return float(_call(f, v.reshape(x.shape), args)[0])

    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = h
            ej[j] = h
            H[i, j] = H[j, i] = (fx(flat + ei + ej) - fx(flat + ei - ej)
                                 - fx(flat - ei + ej) + fx(flat - ei - ej)) / (4 * h * h)
    return H


def nonzero_pattern(M, rtol=1e-6, atol=1e-6):
    """Entries of a numerical derivative clearly above its noise level."""
    M = np.asarray(M)
    scale = max(1.0, float(np.max(np.abs(M)))) if M.size else 1.0
    return np.abs(M) > atol + rtol * scale


def stable_nonzero(fine, coarse, rtol=1e-6, atol=1e-6):
    """Entries nonzero in two difference approximations with steps ``h`` and ``2h`` that agree.

    A jump or kink of ``f`` within a step makes a difference quotient blow up
    like ``1/h`` or ``1/h**2``, so the two approximations disagree there; a
    genuine derivative gives (nearly) the same value at both steps.
    """
    fine, coarse = np.asarray(fine), np.asarray(coarse)
    agree = np.abs(fine - coarse) <= 0.25 * np.maximum(np.abs(fine), np.abs(coarse))
    return nonzero_pattern(fine, rtol, atol) & nonzero_pattern(coarse, rtol, atol) & agree
