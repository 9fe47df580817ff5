"""Scalar code at vector speed: a loop-written function against its slice form and CasADi SX.

Run ``python benchmarks/bench_loops.py`` (``--sizes 1000 10000`` to choose n,
``--repeats`` for the evaluation medians). The function is the issue's
right-hand side, written three ways:

* ``loop``: ``r = np.zeros_like(y); for i in range(1, n - 1): r[i] = y[i-1] - 2*y[i]
  + y[i+1] + 0.1*y[i]**3`` -- traced element by element, then re-rolled
  (:mod:`sparsead.tracing.reroll`) into vector primitives before detection;
* ``slices``: the same with ``y[:-2]``, ``y[1:-1]``, ``y[2:]``;
* ``casadi SX``: the same loop over CasADi SX symbols (the anchor for scalar
  code), its Jacobian built with ``casadi.jacobian`` and evaluated through
  ``Function.buffer`` into a ``csr_array`` (a permutation computed once).

Columns: ``build+detect`` -- sparsead: tracing (with re-rolling) and the
sparsity pattern (``jacobian_sparsity``), CasADi: building the SX expression in
Python, in wall seconds and ``(cpu)`` seconds of this process; ``prepare`` -- sparsead: ``sparse_jacobian`` with the default backend
(tracing, detection, coloring, compiling or loading the lane kernel), CasADi:
``jacobian`` + ``Function``; ``eval J`` -- the median time of one Jacobian as a
``csr_array``; ``J/f`` -- that time over one call of the numpy slice form. Wall
times, medians where repeated, on a shared machine: the load average is
printed, and ratios within one run are the figures to trust.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

import numpy as np
import scipy.sparse as sp

import sparsead as sa


def median_time(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` calls (at least 0.2 s of calls)."""
    times, start = [], time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < 0.2:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def rhs_loop(y):
    n = y.size
    r = np.zeros_like(y)
    for i in range(1, n - 1):
        r[i] = y[i - 1] - 2 * y[i] + y[i + 1] + 0.1 * y[i] ** 3
    return r


def rhs_slices(y):
    r = np.zeros_like(y)
    r[1:-1] = y[:-2] - 2 * y[1:-1] + y[2:] + 0.1 * y[1:-1] ** 3
    return r


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _cpu(fn):
    """CPU seconds of ``fn()`` (insensitive to other processes on a loaded machine)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def run_sparsead(f, y0, repeats):
    cpu = _cpu(lambda: sa.jacobian_sparsity(f, y0))
    P, t_detect = _timed(lambda: sa.jacobian_sparsity(f, y0))
    jac, t_prep = _timed(lambda: sa.sparse_jacobian(f, y0))
    J = jac(y0)
    t_eval = median_time(lambda: jac(y0, out=J), repeats)
    return {"detect": t_detect, "cpu": cpu, "prep": t_prep, "eval": t_eval, "J": jac(y0),
            "backend": jac.backend, "colors": jac.n_colors}


def run_casadi(y0, repeats):
    import casadi as ca

    n = y0.size

    def build():
        y = ca.SX.sym("y", n)
        r = ca.SX.zeros(n)
        for i in range(1, n - 1):
            r[i] = y[i - 1] - 2 * y[i] + y[i + 1] + 0.1 * y[i] ** 3
        return y, r

    cpu = _cpu(build)
    (y, r), t_build = _timed(build)
    fun, t_prep = _timed(lambda: ca.Function("J", [y], [ca.jacobian(r, y)]))
    spo = fun.sparsity_out(0)                     # CasADi's pattern is CSC
    shape = (spo.size1(), spo.size2())
    colind = np.asarray(spo.colind(), dtype=np.int64)
    rows = np.asarray(spo.row(), dtype=np.int64)
    # the CSC -> CSR permutation, once: convert the positions 0..nnz-1 themselves
    pattern = sp.csc_array((np.arange(rows.size, dtype=np.float64), rows, colind),
                           shape=shape).tocsr()
    perm = pattern.data.astype(np.int64)
    x = np.ascontiguousarray(y0, dtype=np.float64)
    values = np.zeros(rows.size)
    buf, run = fun.buffer()
    buf.set_arg(0, memoryview(x))
    buf.set_res(0, memoryview(values))

    def evaluate():
        run()
        return sp.csr_array((values[perm], pattern.indices, pattern.indptr), shape=shape)

    t_eval = median_time(evaluate, repeats)
    return {"detect": t_build, "cpu": cpu, "prep": t_build + t_prep, "eval": t_eval,
            "J": evaluate()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--no-casadi", action="store_true")
    opts = ap.parse_args(argv)
    casadi = importlib.util.find_spec("casadi") is not None and not opts.no_casadi
    print(f"load average: {os.getloadavg()[0]:.2f} (2 shared cores)")
    sa.sparse_jacobian(rhs_slices, np.linspace(0.0, 1.0, 50))   # import Numba, warm caches
    head = (f"{'n':>7s} {'implementation':18s} {'build+detect':>13s} {'(cpu)':>7s} {'prepare':>9s} "
            f"{'eval J':>10s} {'J/f':>7s}  notes")
    print(head)
    print("-" * len(head))
    for n in opts.sizes:
        y0 = np.linspace(0.0, 1.0, n)
        t_f = median_time(lambda: rhs_slices(y0), opts.repeats)
        rows = [("loop (sparsead)", run_sparsead(rhs_loop, y0, opts.repeats)),
                ("slices (sparsead)", run_sparsead(rhs_slices, y0, opts.repeats))]
        if casadi:
            rows.append(("loop (casadi SX)", run_casadi(y0, opts.repeats)))
        ref = rows[1][1]["J"]
        for name, r in rows:
            same = abs(r["J"] - ref).max() <= 1e-12 * max(1.0, abs(ref).max())
            note = f"{r['backend']}, {r['colors']} colors" if "backend" in r else ""
            note += "" if same else "  MISMATCH"
            print(f"{n:7d} {name:18s} {r['detect']:13.4f} {r['cpu']:7.3f} {r['prep']:9.3f} "
                  f"{r['eval']:10.2e} "
                  f"{r['eval'] / t_f:7.1f}  {note}")
        loop, vec = rows[0][1], rows[1][1]
        print(f"{'':7s} loop / slices: eval J {loop['eval'] / vec['eval']:.2f}x, "
              f"prepare {loop['prep'] / vec['prep']:.1f}x")
    print("\nbuild+detect: sparsead jacobian_sparsity (tracing + re-rolling + detection); CasADi "
          "builds its SX graph. prepare: sparse_jacobian with the default backend; CasADi "
          "jacobian + Function (build included). eval J: median, to a csr_array.")


if __name__ == "__main__":
    main()
