"""Sparsity detection benchmark: sparsead vs asdex on the standard problems.

Run ``python benchmarks/bench_detection.py`` (``--quick`` for fewer repeats,
``--no-asdex`` to skip the peer). For each problem it prints n, nnz, the
median time of ``sparsead.jacobian_sparsity`` / ``hessian_sparsity`` (tracing
included, from the numpy function), the median time of asdex's detection
(from the same function written with ``jax.numpy``, x64 enabled), their ratio,
and whether the two patterns are equal (else the nnz difference). Medians over
repeats; the machine is shared, so expect a few percent of noise.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
import scipy.sparse as sp

import sparsead as sa
from sparsead import examples


def _median(fn, repeats, min_seconds=0.5):
    times, start = [], time.perf_counter()
    out = None
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return float(np.median(times)), out


def problems():
    """(label, kind, numpy f, jax f factory, x) for every benchmarked problem."""
    rng = np.random.default_rng(0)
    N = 316
    boundary = examples.minimal_surface_boundary(N)
    w = rng.standard_normal((3, 3, 3, 2))
    return [
        ("brusselator N=128", "jacobian", examples.brusselator,
         lambda jnp: (lambda y: examples.brusselator(y, xp=jnp)), examples.brusselator_x0(128)),
        ("minimal_surface N=316", "hessian", lambda y: examples.minimal_surface(y, boundary),
         lambda jnp: (lambda y: examples.minimal_surface(y, boundary, xp=jnp)),
         0.1 * rng.standard_normal(N * N)),
        ("arwhead n=1e5", "hessian", examples.arwhead,
         lambda jnp: (lambda y: examples.arwhead(y, xp=jnp)), np.ones(100_000)),
        ("broyden n=1e5", "jacobian", examples.broyden_tridiagonal,
         lambda jnp: (lambda y: examples.broyden_tridiagonal(y, xp=jnp)), np.ones(100_000)),
        ("conv2d 28x28x3->2", "jacobian", lambda x: examples.conv2d(x, w),
         lambda jnp: (lambda x: examples.conv2d(x, jnp.asarray(w), xp=jnp)),
         rng.standard_normal((28, 28, 3))),
    ]


def _asdex_pattern(kind, f_jax, x):
    import asdex
    import jax.numpy as jnp
    xj = jnp.asarray(x)
    pat = (asdex.jacobian_sparsity if kind == "jacobian" else asdex.hessian_sparsity)(f_jax, xj)
    return pat


def _to_csr(pat):
    rows, cols = np.asarray(pat.rows), np.asarray(pat.cols)
    a = sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=pat.shape)
    a.sum_duplicates()
    return a


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--no-asdex", action="store_true", help="skip the asdex comparison")
    opts = ap.parse_args(argv)
    ours_reps, peer_reps = (3, 1) if opts.quick else (15, 5)
    have_asdex = (not opts.no_asdex and importlib.util.find_spec("asdex") is not None
                  and importlib.util.find_spec("jax") is not None)
    if have_asdex:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    else:
        print("asdex/jax not installed (or --no-asdex): the peer columns are skipped.")

    # warm the Numba kernels (cached on disk) outside the timings
    sa.hessian_sparsity(examples.arwhead, np.ones(5))
    header = (f"{'problem':24s} {'n':>8s} {'nnz':>9s} {'sparsead [s]':>13s} "
              f"{'asdex [s]':>10s} {'ratio':>7s}  same pattern")
    print(header)
    print("-" * len(header))
    for label, kind, f, f_jax_of, x in problems():
        detect = sa.jacobian_sparsity if kind == "jacobian" else sa.hessian_sparsity
        t_ours, P = _median(lambda: detect(f, x), ours_reps)
        t_peer, same, ratio = float("nan"), "-", ""
        if have_asdex:
            f_jax = f_jax_of(jnp)
            t_peer, pat = _median(lambda: _asdex_pattern(kind, f_jax, x), peer_reps, 0.0)
            Q = _to_csr(pat)
            diff = (P != Q).nnz if P.shape == Q.shape else None
            same = "yes" if diff == 0 else f"no (nnz {P.nnz} vs {Q.nnz})"
            ratio = f"{t_peer / t_ours:6.1f}x"
        print(f"{label:24s} {x.size:8d} {P.nnz:9d} {t_ours:13.4f} {t_peer:10.3f} {ratio:>7s}  "
              f"{same}")
    print("\nsparsead: median of tracing + detection from the numpy function; asdex: median "
          "of asdex.*_sparsity (its jit tracing included). 2 shared cores: a few % noise.")


if __name__ == "__main__":
    main()
