"""Compile cost of the Numba backend: its growth with kernel size, the budget, the lane check.

Usage::

    python benchmarks/bench_compile.py              # all three tables
    python benchmarks/bench_compile.py --quick      # smaller loop-written sizes
    python benchmarks/bench_compile.py --forced 60  # also force Numba on the loop rhs up to n=60

Every case runs in a fresh Python process with an empty kernel cache (a new
temporary ``SPARSEAD_CACHE_DIR``), so each figure includes Numba's whole
compile; "warm" repeats the preparation in another fresh process that finds
the kernel on disk.

1. *Compile time against kernel size*: ``compile_forward`` without a budget on
   the loop-written right-hand side at small ``n`` and on the standard
   examples; ``weight`` is the size the budget counts (source lines plus
   ``LOOP_WEIGHT`` per loop and ``BRANCH_WEIGHT`` per branch,
   ``sparsead.ad.numba.codegen``).
2. *The loop-written right-hand side* (``r = np.zeros_like(y); for i in
   range(1, n - 1): r[i] = ...``) at n = 100, 1000, 10000: graph nodes,
   preparation and evaluation time of ``sparse_jacobian`` with
   ``backend="auto"`` (Numba within the budget, else the interpreter) and
   ``backend="numpy"``.
3. *The standard examples* with ``backend="auto"``: compile time and weight
   (under the budget: nothing changes for them), and the cost of checking the
   compiled lanes against the interpreter at the preparation point
   (``sparsead.ad.numba.backend.CHECK_LANES``), as a share of the preparation, cold (empty
   cache) and warm (kernel on disk).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))

_CHILD = r"""
import json, sys, time, warnings
sys.path.insert(0, {here!r})
import numpy as np
t_import = time.perf_counter()
import sparsead as sa
from sparsead.ad import grad_graph
from sparsead.ad.numba import backend as numba_backend
from sparsead.tracing import trace
import bench_compile as bc
case, n, backend, check, force = {case!r}, {n}, {backend!r}, {check}, {force}
numba_backend.CHECK_LANES = check
spent = [0.0]
inner = numba_backend.check_lanes
def timed(*a, **k):
    t = time.perf_counter()
    try:
        return inner(*a, **k)
    finally:
        spent[0] += time.perf_counter() - t
numba_backend.check_lanes = timed
weights = []
compile_inner = numba_backend.compile_forward
def recorded(*a, **k):
    run = compile_inner(*a, **k)
    weights.append(run.weight)
    return run
numba_backend.compile_forward = recorded
f, x, kind = bc.problem(case, n)
out = {{}}
if force:
    g = trace(f, x)
    if kind == "hessian":
        g = grad_graph(g)
    t = time.perf_counter()
    run = numba_backend.compile_forward(g, 0, np.arange(x.size) % 3, 3)
    out.update(compile=time.perf_counter() - t, weight=run.weight,
               lines=run.source.count("\n"), loops=run.source.count("for "),
               branches=run.source.count("if "), nodes=len(g.nodes))
else:
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        prepare = sa.sparse_jacobian if kind == "jacobian" else sa.sparse_hessian
        op = prepare(f, x, backend=backend)
    prep = time.perf_counter() - t
    op(x)
    reps = []
    for _ in range(7):
        t = time.perf_counter()
        op(x)
        reps.append(time.perf_counter() - t)
    out.update(prep=prep, eval=float(np.median(reps)), backend=op.backend,
               nodes=len(op._graph.nodes), check=spent[0], timings=op.timings,
               warned=[str(m.message)[:160] for m in w], weight=sum(weights))
print(json.dumps(out))
"""


def loop_rhs(n):
    """A right-hand side written as a loop over elements (one scatter per element)."""
    def rhs(y):
        r = np.zeros_like(y)
        for i in range(1, n - 1):
            r[i] = y[i - 1] - 2 * y[i] + y[i + 1] + 0.1 * y[i] ** 3
        return r
    return rhs


def problem(case, n):
    """``(f, x0, kind)`` of a case: ``loop`` (the loop-written rhs) or a standard example."""
    if case == "loop":
        return loop_rhs(n), np.linspace(0.0, 1.0, n), "jacobian"
    if case == "loop_energy":       # its Hessian: the loop's gradient graph, branchier code
        rhs = loop_rhs(n)
        return (lambda y: 0.5 * np.sum(rhs(y) ** 2)), np.linspace(0.0, 1.0, n), "hessian"
    sys.path.insert(0, _HERE)
    import peers
    p = peers.make_problem(case, n)
    return p.f, p.x0, p.kind


def child(case, n, backend="auto", check=True, force=False, cache_dir=None, timeout=3600):
    """Run one case in a fresh process (an empty kernel cache unless ``cache_dir`` is given)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SPARSEAD_CACHE_DIR=cache_dir or tmp)
        code = _CHILD.format(here=_HERE, case=case, n=n, backend=backend, check=check,
                             force=force)
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=timeout)
        if res.returncode:
            raise RuntimeError(res.stderr[-3000:])
        return json.loads(res.stdout.strip().splitlines()[-1])


#: the sizes of bench_numba.py's standard problems (compile time does not depend on them)
EXAMPLES = [("brusselator", 128), ("broyden", 100_000), ("minimal_surface", 316),
            ("arwhead", 100_000)]


def table_growth(forced):
    print("## 1. compile time against kernel size (no budget; 3 lanes; 'auto': what auto does)")
    from sparsead.ad.numba.backend import COMPILE_BUDGET
    print(f"{'case':<22}{'graph nodes':>12}{'lines':>7}{'loops':>7}{'branches':>9}{'weight':>8}"
          f"{'compile s':>11}{'auto':>7}")
    cases = [("loop", n) for n in (5, 10, 20, 30, 40) + tuple(k for k in (60, 80, 100)
                                                               if k <= forced)] \
        + [("loop_energy", n) for n in (4, 6, 8, 10)] + EXAMPLES
    for case, n in cases:
        r = child(case, n, force=True)
        print(f"{case + ' ' + str(n):<22}{r['nodes']:>12}{r['lines']:>7}{r['loops']:>7}"
              f"{r['branches']:>9}{r['weight']:>8}{r['compile']:>11.2f}"
              f"{'numba' if r['weight'] <= COMPILE_BUDGET else 'numpy':>7}", flush=True)


def table_loop(sizes):
    print("\n## 2. loop-written rhs: sparse_jacobian, each in a fresh process, empty cache")
    print(f"{'n':>7}{'graph nodes':>12}{'backend':>16}{'prepare s':>11}{'of which lanes s':>17}"
          f"{'eval ms':>9}")
    for n in sizes:
        for backend in ("auto", "numpy"):
            r = child("loop", n, backend=backend)
            used = f"{backend}->{r['backend']}" if backend == "auto" else backend
            print(f"{n:>7}{r['nodes']:>12}{used:>16}{r['prep']:>11.2f}"
                  f"{r['timings']['compile']:>17.2f}{r['eval'] * 1e3:>9.2f}", flush=True)


def table_examples():
    print("\n## 3. standard examples, backend='auto': compile and the lane check at preparation")
    print(f"{'problem':<22}{'backend':>8}{'weight':>7}{'cold prep s':>12}{'compile s':>10}"
          f"{'check s':>9}"
          f"{'check/cold':>11}{'warm prep s':>12}{'check/warm':>11}{'no-check warm s':>16}")
    for case, n in EXAMPLES:
        with tempfile.TemporaryDirectory() as cache:
            cold = child(case, n, cache_dir=cache)
            warm = [child(case, n, cache_dir=cache) for _ in range(3)]
            plain = [child(case, n, cache_dir=cache, check=False) for _ in range(3)]
        wp = float(np.median([w["prep"] for w in warm]))
        wc = float(np.median([w["check"] for w in warm]))
        pp = float(np.median([p["prep"] for p in plain]))
        print(f"{case + ' ' + str(n):<22}{cold['backend']:>8}{cold['weight']:>7}"
              f"{cold['prep']:>12.2f}"
              f"{cold['timings']['compile']:>10.2f}{cold['check']:>9.3f}"
              f"{cold['check'] / cold['prep']:>11.1%}{wp:>12.2f}{wc / wp:>11.1%}{pp:>16.2f}",
              flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="loop rhs at n = 100, 1000 only")
    ap.add_argument("--forced", type=int, default=40,
                    help="largest n of the loop rhs compiled without budget (default 40)")
    ap.add_argument("--tables", default="1,2,3")
    args = ap.parse_args(argv)
    from sparsead.ad.numba import backend as numba_backend, codegen as numba_codegen
    print(f"# budget {numba_backend.COMPILE_BUDGET} (lines + {numba_codegen.LOOP_WEIGHT} per "
          f"loop + {numba_codegen.BRANCH_WEIGHT} per branch); load average "
          f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} cpus")
    tables = set(args.tables.split(","))
    if "1" in tables:
        table_growth(args.forced)
    if "2" in tables:
        table_loop((100, 1000) if args.quick else (100, 1000, 10_000))
    if "3" in tables:
        table_examples()
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
