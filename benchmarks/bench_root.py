"""scipy.optimize.root with and without sparsead's derivatives.

Usage::

    python benchmarks/bench_root.py            # the standard sizes
    python benchmarks/bench_root.py --quick    # small sizes

For each problem and method, two runs of ``root`` in this process: with
``**sa.derivatives(F, x0, method=...)`` (hybr/lm: the dense Jacobian; krylov:
the exact sparse Jacobian LU-factored at every Newton step as ``inner_M``) and
without (MINPACK's finite differences; Krylov unpreconditioned). Printed:
function evaluations, Jacobian evaluations or Newton iterations, wall seconds
of the solve and, separately, of ``derivatives`` (trace, detect, color, and
load or compile the lane kernel: a cached kernel loads in milliseconds), and the
final max |F|. The problems: the Broyden tridiagonal system (well conditioned)
and the 2-D Bratu problem ``Laplace(u) + 6 exp(u) = 0`` with zero boundary
values (a Laplacian: badly conditioned, where preconditioning matters).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import root

import sparsead as sa
from sparsead.examples import bratu, broyden_tridiagonal


def cases(quick):
    small, big = (100, 5_000) if quick else (500, 100_000)
    grids = (32, 64) if quick else (64, 128, 256)
    out = [("broyden", broyden_tridiagonal, -np.ones(small), m) for m in ("hybr", "lm")]
    out.append(("broyden", broyden_tridiagonal, -np.ones(big), "krylov"))
    out += [(f"bratu {N}x{N}", bratu, np.zeros(N * N), "krylov") for N in grids]
    return out


def solve(F, x0, method, kw):
    t = time.perf_counter()
    sol = root(F, x0, method=method, **kw)
    wall = time.perf_counter() - t
    count = sol.get("njev", sol.get("nit", ""))
    return sol, wall, count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    print(f"scipy.optimize.root with sparsead; load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}; seconds")
    head = (f"{'problem':14s} {'n':>7s} {'method':7s} {'derivatives':20s} {'prep':>6s} "
            f"{'nfev':>6s} {'njev/nit':>8s} {'solve':>8s} {'max|F|':>8s} ok")
    print(head)
    print("-" * len(head))
    for name, F, x0, method in cases(args.quick):
        t = time.perf_counter()
        kw = sa.derivatives(F, x0, method=method)
        prep = time.perf_counter() - t
        label = "jac= (dense)" if method != "krylov" else "inner_M = LU of J"
        other = "finite differences" if method != "krylov" else "none"
        for text, k, p in ((label, kw, f"{prep:6.2f}"), (other, {}, f"{'':6s}")):
            sol, wall, count = solve(F, x0, method, k)
            res = np.abs(F(sol.x)).max()
            print(f"{name:14s} {x0.size:7d} {method:7s} {text:20s} {p} {sol.nfev:6d} "
                  f"{count!s:>8s} {wall:8.3f} {res:8.1e} {bool(sol.success)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
