"""Soundness property: random programs of supported operations, detected ⊇ numerically nonzero.

A program is a list of steps on a pool of (4, 3) arrays that starts with ``x``;
each step reads pool entries and appends one. Every detected Jacobian (and, on
scalar programs, Hessian) pattern must contain every entry that finite
differences find nonzero at several random points (with two step sizes that
must agree, so that a jump of ``floor`` or a kink of ``abs`` inside a step is
not mistaken for a derivative). No false negative, ever.
"""

import os

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsead import hessian_sparsity, jacobian_sparsity
from sparsead.tracing.testing import numeric_hessian, numeric_jacobian, stable_nonzero

#: examples per property (more with SPARSEAD_HYPOTHESIS_EXAMPLES=5000 for a long hunt)
EXAMPLES = int(os.environ.get("SPARSEAD_HYPOTHESIS_EXAMPLES", 200))
_RNG = np.random.default_rng(2024)
_C33 = np.where(_RNG.random((3, 3)) < 0.5, _RNG.standard_normal((3, 3)), 0.0)
_S44 = sp.csr_array(np.where(_RNG.random((4, 4)) < 0.4, 1.0 + _RNG.random((4, 4)), 0.0))
_MASK = _RNG.random((4, 3)) < 0.5


def _z(a):
    out = np.zeros_like(a)
    out[1:] = a[:-1] * 2.0
    out[0, ::2] = a[3, 1:]
    return out


UNARY = [
    lambda a: np.sin(a), lambda a: np.exp(0.3 * a), lambda a: np.tanh(a), lambda a: a * a,
    lambda a: np.abs(a), lambda a: np.sqrt(a * a + 1.0), lambda a: np.log1p(a * a),
    lambda a: np.maximum(a, 0.2), lambda a: np.clip(a, -0.5, 0.5), lambda a: -a / 3.0,
    lambda a: np.where(_MASK, a, 1.0), lambda a: np.where(a > 0, a, a ** 3),
    lambda a: np.sum(a, axis=0, keepdims=True) + 0 * a,
    lambda a: np.max(a, axis=1, keepdims=True) * a,
    lambda a: np.prod(a, axis=1, keepdims=True) + a, lambda a: np.cumsum(a, axis=0),
    lambda a: a.T.reshape(4, 3), lambda a: a.ravel()[::-1].reshape(4, 3),
    lambda a: np.roll(a, 1, axis=0), lambda a: np.flip(a, axis=1),
    lambda a: np.concatenate([a[1:], a[:1]]), lambda a: a @ _C33, lambda a: _S44 @ a,
    lambda a: a @ (a.T @ a) * 0.1, lambda a: np.pad(a[1:3, 1:], 1, mode="wrap")[:, :3],
    lambda a: _z(a), lambda a: np.floor(a) + np.sign(a) * 0.5,
    lambda a: np.einsum("ij,kj->ik", a, a)[:, :3],
]
BINARY = [
    lambda a, b: a + b, lambda a, b: a - b[:1], lambda a, b: a * b,
    lambda a, b: a / (1.0 + b * b), lambda a, b: np.maximum(a, b), lambda a, b: np.hypot(a, b),
    lambda a, b: np.where(b > a, a, b), lambda a, b: a * np.sum(b, axis=1, keepdims=True),
    lambda a, b: np.arctan2(a, 1.5 + np.cos(b)),
]

steps = st.lists(st.tuples(st.booleans(), st.integers(0, 100), st.integers(0, 100),
                           st.integers(0, 100)), min_size=1, max_size=6)


def _program(spec):
    def f(x):
        pool = [x.reshape(4, 3)]
        for binary, op, i, j in spec:
            a, b = pool[i % len(pool)], pool[j % len(pool)]
            pool.append(BINARY[op % len(BINARY)](a, b) if binary else UNARY[op % len(UNARY)](a))
        return pool[-1]
    return f


def _points(seed, k=3):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, 12) for _ in range(k)]


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=steps, seed=st.integers(0, 2**32 - 1))
def test_random_programs_jacobian_is_sound(spec, seed):
    f = _program(spec)
    points = _points(seed)
    P = jacobian_sparsity(f, points[0]).toarray()
    for x in points:
        N = stable_nonzero(numeric_jacobian(f, x), numeric_jacobian(f, x, h=2e-6), 1e-5, 1e-6)
        assert not (N & ~P).any(), f"false negatives at {np.argwhere(N & ~P)[:4]}"
        L = jacobian_sparsity(f, x, local=True).toarray()
        assert not (N & ~L).any(), f"local false negatives at {np.argwhere(N & ~L)[:4]}"
        assert not (L & ~P).any(), "a local pattern is never larger than the global one"


@settings(max_examples=EXAMPLES // 3, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=steps, seed=st.integers(0, 2**32 - 1))
def test_random_programs_hessian_is_sound(spec, seed):
    inner = _program(spec)
    w = np.random.default_rng(seed).standard_normal((4, 3))

    def f(x):
        return np.sum(w * np.sin(inner(x)))

    points = _points(seed, k=2)
    H = hessian_sparsity(f, points[0]).toarray()
    assert (H == H.T).all()
    for x in points:
        N = stable_nonzero(numeric_hessian(f, x), numeric_hessian(f, x, h=2e-4), 1e-3, 1e-3)
        assert not (N & ~H).any(), f"false negatives at {np.argwhere(N & ~H)[:4]}"
        L = hessian_sparsity(f, x, local=True).toarray()
        assert not (N & ~L).any(), f"local false negatives at {np.argwhere(N & ~L)[:4]}"
