"""Evaluation of prepared operators split in parts, and the decompression at 1, 2, ... threads.

Usage::

    python benchmarks/bench_threads.py                    # the standard large problems
    python benchmarks/bench_threads.py --problems broyden:1e6 --threads 1,2 --calls 40

Per problem, in one process (fastest call of ``--calls``, so a loaded machine's
preemptions do not inflate it):

* ``eval``: ``op(x)`` into a fresh ``csr_array``; ``out=``: into an existing one;
* ``lanes``: the compressed product alone (``op.compressed(x)``);
* ``decomp``: the (unfused) decompression of a fixed compressed block into ``J.data``;
* ``eval / lanes``: the share decompression and the output add to the lanes
  (compiled direct decompression is fused: the lane kernel writes ``J.data``);
* ``decomp T thr``: the gather alone split over ``T`` threads, and the speed-up;
  ``copy out= T thr``: ``op(x, out=J.copy())`` -- an ``out`` the operator did not
  make, so the lanes, then the gather at ``T`` threads (results checked
  bit-identical to the fused kernel's);
* ``lanes T thr`` / ``eval T thr``: an operator prepared with ``threads=T`` (its
  lane kernel split over ``T`` threads where it pays), the compressed lanes and
  ``op(x)``, with the speed-up over one thread (``J.data`` checked bit-identical
  to one thread's); ``split`` says whether the kernel was split at all.

The load average is printed before and after: on a machine whose cores are busy
with other work, threads cannot pay.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402

import sparsead as sa  # noqa: E402

DEFAULT = "brusselator:128,brusselator:256,broyden:1e5,broyden:1e6,minimal_surface:316,arwhead:1e5"


def fastest(fn, calls):
    """The fastest of ``calls`` calls of ``fn()``, in milliseconds."""
    best = np.inf
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def lane_threads(make, pr, threads, calls, ref):
    """Per thread count: ``(lanes ms, eval ms, split)`` of an operator prepared with it."""
    out = {}
    for t in threads:
        op = make(pr.f, pr.x0, threads=t)
        if op(pr.x0).data.tobytes() != ref.tobytes():
            raise AssertionError(f"{pr.name} {pr.size}: lanes at {t} threads differ from one's")
        runs = [r for r, _ in op._runs] if hasattr(op, "_runs") else [op._run]
        out[t] = (fastest(lambda: op.compressed(pr.x0), calls), fastest(lambda: op(pr.x0), calls),
                  any(getattr(r, "threads", 1) > 1 for r in runs))
    return out


def measure(name, size, threads, calls):
    pr = peers.make_problem(name, size)
    make = sa.sparse_jacobian if pr.kind == "jacobian" else sa.sparse_hessian
    op = make(pr.f, pr.x0)
    x = pr.x0
    J = op(x)
    blocks = op._blocks(op._inputs(x, ())) if pr.kind == "jacobian" else \
        [op._run(op._inputs(x, ()))]
    b2 = blocks[1] if len(blocks) > 1 else np.zeros(0)
    row = {"nnz": J.nnz,
           "eval": fastest(lambda: op(x), calls), "out": fastest(lambda: op(x, out=J), calls),
           "lanes": fastest(lambda: op.compressed(x), calls),
           "decomp": fastest(lambda: op._decomp(blocks[0], b2, J.data), calls)}
    ref = op(x).data.copy()
    gathered = J.copy()           # a foreign out=: the lanes, then the (threaded) gather
    for t in threads:
        op._decomp.threads = t
        row[f"thr{t}"] = fastest(lambda: op._decomp(blocks[0], b2, gathered.data), calls)
        row[f"out{t}"] = fastest(lambda: op(x, out=gathered), calls)
        if gathered.data.tobytes() != ref.tobytes():
            raise AssertionError(f"{name} {size}: {t} threads differ from the fused kernel")
    row["lane_threads"] = lane_threads(make, pr, threads, calls, ref)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", default=DEFAULT, help="comma list NAME:SIZE")
    ap.add_argument("--threads", default="1,2", help="comma list of thread counts (1,2)")
    ap.add_argument("--calls", type=int, default=30, help="calls per figure (30)")
    args = ap.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    problems = [(n, int(float(s))) for n, s in (p.split(":") for p in args.problems.split(","))]
    print("load average before:", " ".join(f"{v:.2f}" for v in os.getloadavg()),
          f"| cores: {os.cpu_count()}")
    head = ["problem", "nnz", "eval ms", "out= ms", "lanes ms", "decomp ms", "eval / lanes"]
    head += [f"decomp {t} thr" for t in threads] + [f"x{t} thr" for t in threads[1:]]
    head += [f"copy out= {t} thr" for t in threads]
    print("  ".join(f"{h:>13}" for h in head))
    lanes_rows = []
    for name, size in problems:
        r = measure(name, size, threads, args.calls)
        cells = [f"{name}:{size}", str(r["nnz"])] + [f"{r[k]:.3f}" for k in
                                                      ("eval", "out", "lanes", "decomp")]
        cells.append(f"{r['eval'] / r['lanes']:.2f}x")
        cells += [f"{r[f'thr{t}']:.3f}" for t in threads]
        cells += [f"{r[f'thr{threads[0]}'] / r[f'thr{t}']:.2f}x" for t in threads[1:]]
        cells += [f"{r[f'out{t}']:.3f}" for t in threads]
        print("  ".join(f"{c:>13}" for c in cells), flush=True)
        lanes_rows.append((f"{name}:{size}", r["lane_threads"]))
    print("\nlane kernels split over threads (operators prepared with threads=T)")
    head = ["problem", "split"] + [f"lanes {t} thr" for t in threads] \
        + [f"x{t} lanes" for t in threads[1:]] + [f"eval {t} thr" for t in threads] \
        + [f"x{t} eval" for t in threads[1:]]
    print("  ".join(f"{h:>13}" for h in head))
    for label, lt in lanes_rows:
        t0 = threads[0]
        cells = [label, "yes" if any(v[2] for v in lt.values()) else "no"]
        cells += [f"{lt[t][0]:.3f}" for t in threads]
        cells += [f"{lt[t0][0] / lt[t][0]:.2f}x" for t in threads[1:]]
        cells += [f"{lt[t][1]:.3f}" for t in threads]
        cells += [f"{lt[t0][1] / lt[t][1]:.2f}x" for t in threads[1:]]
        print("  ".join(f"{c:>13}" for c in cells), flush=True)
    print("load average after:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
