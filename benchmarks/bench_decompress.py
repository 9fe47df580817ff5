"""Fused decompression: eval -> CSR against the lanes alone and the bandwidth bound.

For each case (a Hessian by substitution or direct decompression, a forward or
bidirectional Jacobian) it times, interleaved over ``--repeats`` rounds:

- ``lanes``: ``op.compressed(x)`` (the kernel writing the compressed block(s));
- ``map`` / ``map_out``: ``op(x)`` / ``op(x, out=J)`` with the fused strategy "map"
  (the kernels write ``data`` through maps, the default), ``scratch`` / ``scratch_out``
  with "scratch" (the kernels write reused blocks, then the plan runs);
- ``unfused`` / ``unfused_out``: the fusion switched off (a fresh block per call,
  then the plan's gather/substitution) -- the path before fusion;
- ``bound``: writing the compressed block(s) and ``data`` once at the copy bandwidth
  measured by ``np.copyto`` in the same process.

It prints medians (ms), the strategy in use ("map" when the plan has maps), the ratios
chosen / lanes, unfused / lanes and chosen / bound, and the load average. Usage::

    PYTHONPATH=. python benchmarks/bench_decompress.py [--cases NAME:SIZE:KIND,...]
        [--repeats 5] [--calls 20]

``KIND`` is ``sub`` (acyclic, substitution), ``direct`` (star), ``fwd`` or ``bidi``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

DEFAULT = ("minimal_surface:316:sub,minimal_surface:316:direct,arwhead:100000:sub,"
           "arwhead:100000:direct,brusselator:128:fwd,arrowjac:100000:bidi,"
           "brusselator:128:bidi")


def _arrow_jacobian(x):
    """A Jacobian with a dense first row and column (bidirectional colorings pay)."""
    return np.concatenate([[np.sum(x * x)], np.sin(x[1:]) * x[0] + x[1:] ** 2])


def prepare(name, size, kind):
    """``(op, x, label)`` for one case."""
    import sparsead as sa
    if name == "arrowjac":
        x = np.linspace(0.5, 1.5, size)
        return (sa.sparse_jacobian(_arrow_jacobian, x, mode="bidirectional" if kind == "bidi"
                                   else "forward", backend="numba"), x)
    prob = peers.make_problem(name, size)
    if prob.kind == "hessian":
        dec = {"sub": "substitution", "direct": "direct"}[kind]
        return sa.sparse_hessian(prob.f, prob.x0, decompression=dec, backend="numba"), prob.x0
    mode = {"fwd": "forward", "bidi": "bidirectional"}[kind]
    return sa.sparse_jacobian(prob.f, prob.x0, mode=mode, backend="numba"), prob.x0


def _time(fn, calls):
    fn()
    out = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _with(op, attr, value, fn):
    """Run ``fn`` with ``op._decomp.<attr>`` set to ``value`` (``_fused=None``: the fusion
    off, the kernel + plan path; ``strategy``: "map" or "scratch")."""
    saved = getattr(op._decomp, attr)
    setattr(op._decomp, attr, value)
    try:
        return fn()
    finally:
        setattr(op._decomp, attr, saved)


def _unfused(op, fn):
    return _with(op, "_fused", None, fn)


def _strategy(op, name, fn):
    return _with(op, "strategy", name, fn)


def measure(op, x, calls, bandwidth):
    """One round of timings (seconds) for one case."""
    J = op(x)
    lanes = op.compressed(x)
    cells = sum(b.size for b in lanes) if isinstance(lanes, tuple) else lanes.size
    res = {"lanes": _time(lambda: op.compressed(x), calls)}
    for name in ("map", "scratch"):
        res[name] = _strategy(op, name, lambda: _time(lambda: op(x), calls))
        res[name + "_out"] = _strategy(op, name, lambda: _time(lambda: op(x, out=J), calls))
    res["unfused"] = _unfused(op, lambda: _time(lambda: op(x), calls))
    res["unfused_out"] = _unfused(op, lambda: _time(lambda: op(x, out=J), calls))
    res["bound"] = (cells + J.nnz) * 8 / bandwidth
    return res


def bandwidth(megabytes=256):
    """Bytes per second copied by ``np.copyto`` of a ``megabytes`` array (median of 5)."""
    a = np.random.default_rng(0).random(megabytes * 2 ** 20 // 8)
    b = np.empty_like(a)
    return a.nbytes / _time(lambda: np.copyto(b, a), 5)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=DEFAULT, help="comma list NAME:SIZE:KIND")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds (medians)")
    ap.add_argument("--calls", type=int, default=20, help="calls per timing (median)")
    args = ap.parse_args(argv)
    cases = []
    for spec in args.cases.split(","):
        name, size, kind = spec.split(":")
        t = time.perf_counter()
        op, x = prepare(name, int(float(size)), kind)
        cases.append((f"{name}:{size}:{kind}", op, x, time.perf_counter() - t))
    rounds = {c[0]: [] for c in cases}
    bws = []
    for _ in range(args.repeats):
        bws.append(bandwidth())
        for label, op, x, _ in cases:
            rounds[label].append(measure(op, x, args.calls, bws[-1]))
    print(f"# load average {os.getloadavg()}; copy bandwidth "
          f"{statistics.median(bws) / 1e9:.2f} GB/s; medians of {args.repeats} rounds x "
          f"{args.calls} calls, ms")
    keys = ("lanes", "map", "map_out", "scratch", "scratch_out", "unfused", "unfused_out",
            "bound")
    print(f"{'case':28s} {'nnz':>8s} {'p':>3s} {'chosen':>7s} "
          + " ".join(f"{k:>9s}" for k in keys)
          + f" {'best/lanes':>10s} {'unf/lanes':>9s} {'best/bound':>10s}")
    for label, op, x, _ in cases:
        med = {k: statistics.median(r[k] for r in rounds[label]) for k in keys}
        chosen = op._decomp.strategy         # what a call uses
        best = med[chosen] if chosen else med["unfused"]
        print(f"{label:28s} {op.pattern.nnz:8d} {op.n_colors:3d} {str(chosen):>7s} "
              + " ".join(f"{med[k] * 1e3:9.3f}" for k in keys)
              + f" {best / med['lanes']:10.2f} {med['unfused'] / med['lanes']:9.2f}"
              f" {best / med['bound']:10.2f}")


if __name__ == "__main__":
    main()
