"""Cost of the strong zero (README, "Derivatives") on the benchmark Hessians and gradients.

Usage::

    python benchmarks/bench_strong_zero.py            # minimal_surface 100, arwhead 10^4 / 10^5
    python benchmarks/bench_strong_zero.py --quick

The strong zero has three parts: the gradient transform records its chain-rule
products as ``strong_multiply`` nodes (a product whose NaN entries are repaired
where a factor is 0; in compiled kernels a branch), einsums with ``strong=True``,
and the numpy lane interpreter checks each result for NaN (rerunning the sweep
with strong products only if it finds one). This script prepares each problem
twice in one process -- as shipped, and with the mechanism switched off (plain
``multiply`` nodes, no NaN check) -- and prints the median evaluation times of
``sparse_hessian`` (numpy and Numba backends) and ``gradient``, and their ratio.
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
from sparsead.ad import forward  # noqa: E402
from sparsead.primitives import core, elementwise, linalg, reductions  # noqa: E402

#: the modules whose VJP rules call ``strong_scale`` (imported by name into each)
_STRONG_USERS = (core, elementwise, linalg, reductions)

PROBLEMS = [("minimal_surface", 100), ("arwhead", 10_000), ("arwhead", 100_000)]


class _Off:
    """Switch the strong zero off: plain products in the gradient graph, no NaN check."""

    def __enter__(self):
        self.saved = ([m.strong_scale for m in _STRONG_USERS], forward.LanePlan.run_t)
        for m in _STRONG_USERS:
            m.strong_scale = _plain_scale
        plain = forward.LanePlan._sweep
        forward.LanePlan.run_t = lambda self, inputs, seed=None: plain(self, inputs, seed, 0)
        return self

    def __exit__(self, *exc):
        saved, forward.LanePlan.run_t = self.saved
        for m, fn in zip(_STRONG_USERS, saved):
            m.strong_scale = fn


def _plain_scale(s, ct):
    """The chain-rule product without the strong zero."""
    return s * ct


def _prepare(problem, backend):
    op = sa.sparse_hessian(problem.f, problem.x0, backend=backend)
    g = sa.gradient(problem.f)
    out = op(problem.x0)
    g(problem.x0)
    return op, g, out


def _interleaved(fns, repeats):
    """Median seconds of each function, calls alternating (load drifts hit all alike)."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return [float(np.median(t)) for t in times]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args(argv)
    problems = PROBLEMS[:2] if args.quick else PROBLEMS
    print(f"load average {os.getloadavg()[0]:.2f}; medians of {args.repeats} interleaved calls; "
          "'on' = as shipped, 'off' = plain products and no NaN check")
    print(f"{'problem':22s} {'backend':8s} {'hessian on':>11s} {'off':>9s} {'ratio':>6s}   "
          f"{'gradient on':>11s} {'off':>9s} {'ratio':>6s}  max|H_on - H_off|")
    for name, size in problems:
        problem = peers.make_problem(name, size)
        x = problem.x0
        for backend in ("numpy", "numba"):
            op_on, g_on, H_on = _prepare(problem, backend)
            with _Off():
                op_off, g_off, H_off = _prepare(problem, backend)
            off = _Off()

            def run_off(fn):
                with off:
                    fn()
            t = _interleaved([lambda: op_on(x, out=H_on), lambda: run_off(lambda: op_off(
                x, out=H_off)), lambda: g_on(x), lambda: run_off(lambda: g_off(x))],
                args.repeats)
            diff = float(abs(H_on - H_off).max())
            print(f"{name + ' ' + str(size):22s} {backend:8s} {t[0] * 1e3:9.3f}ms "
                  f"{t[1] * 1e3:7.3f}ms {t[0] / t[1]:6.3f}   {t[2] * 1e3:9.3f}ms "
                  f"{t[3] * 1e3:7.3f}ms {t[2] / t[3]:6.3f}  {diff:.1e}")


if __name__ == "__main__":
    main()
