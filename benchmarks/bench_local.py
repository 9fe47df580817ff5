"""The cost of ``local=True``: checking the branch guards at each call, next to one call of ``f``.

Run ``python benchmarks/bench_local.py`` (``--sizes``, ``--repeats``). For
functions that branch on values, prepared with ``sparse_jacobian(..., local=True)``
(or ``sparse_hessian``), it prints the number of branch decisions (guards), the
median time of one call of ``f`` (numpy), of the guard check alone (evaluating the
nodes the guards need and comparing the outcomes), of one Jacobian/Hessian
evaluation (guard check included), and the ratios guard/f and guard/J. The
functions:

* ``branch per element``: ``for j: out[j] = x[j]**2 if abs(x[j] - z) < 0.05 else
  sin(x[j]) * x[j+1]`` -- one guard per element, rolled into one vector check;
* ``piecewise energy``: ``s += d**2 if d > 0 else 0.5*d**4`` over neighbour
  differences, plus ``max(x[0], x[-1])**2`` (Hessian);
* ``one switch``: the Brusselator right-hand side scaled by ``2.0 if y[0] > 0.5
  else 1.0`` -- a single guard on a vectorised function.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import sparsead as sa
from sparsead.examples import brusselator, brusselator_x0

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_loops import median_time  # noqa: E402


def branch_per_element(x, z=0.3):
    out = np.zeros_like(x)
    n = x.size
    for j in range(n):
        if abs(x[j] - z) < 0.05:
            out[j] = x[j] ** 2
        else:
            out[j] = np.sin(x[j]) * x[(j + 1) % n]
    return out


def piecewise_energy(x):
    s = 0.0
    for i in range(x.size - 1):
        d = x[i + 1] - x[i]
        s = s + (d ** 2 if d > 0 else 0.5 * d ** 4)
    return s + max(x[0], x[-1]) ** 2


def one_switch(y):
    return (2.0 if y[0] > 0.5 else 1.0) * brusselator(y)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--repeats", type=int, default=20)
    opts = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f} (2 shared cores)")
    head = (f"{'function':20s} {'n':>7s} {'guards':>7s} {'f [s]':>10s} {'guard [s]':>10s} "
            f"{'eval [s]':>10s} {'guard/f':>8s} {'guard/eval':>10s}")
    print(head)
    print("-" * len(head))
    cases = []
    for n in opts.sizes:
        cases.append(("branch per element", branch_per_element, np.linspace(0.0, 1.0, n),
                      "jacobian"))
        cases.append(("piecewise energy", piecewise_energy, np.sin(np.arange(n) * 0.37),
                      "hessian"))
        N = max(4, int(round(np.sqrt(n / 2))))
        cases.append(("one switch", one_switch, brusselator_x0(N), "jacobian"))
    for name, f, x, kind in cases:
        op = (sa.sparse_jacobian if kind == "jacobian" else sa.sparse_hessian)(f, x, local=True)
        plan, prepared = op._regions[0]
        inputs = prepared._inputs(x, ())
        assert plan.holds(inputs)
        t_f = median_time(lambda: f(x), opts.repeats)
        t_guard = median_time(lambda: plan.holds(inputs), opts.repeats)
        out = op(x)
        t_eval = median_time(lambda: op(x, out=out), opts.repeats)
        print(f"{name:20s} {x.size:7d} {op.n_guards:7d} {t_f:10.2e} {t_guard:10.2e} "
              f"{t_eval:10.2e} {t_guard / t_f:8.3f} {t_guard / t_eval:10.3f}")
    print("\nf: one call of the numpy function; guard: checking every guard at x (the nodes "
          "they need, evaluated with numpy); eval: one local Jacobian/Hessian call (guard check "
          "included), medians.")


if __name__ == "__main__":
    main()
