"""Sparse Jacobians and Hessians: sparsead against its peers, side by side in one run.

Usage::

    python benchmarks/bench_derivatives.py                 # the standard problems
    python benchmarks/bench_derivatives.py --quick         # small sizes only
    python benchmarks/bench_derivatives.py --problems brusselator:128,arwhead:100000 \
        --peers asdex,casadi --json results.json

For each problem it prints, per tool: colors, preparation phases (detect /
color / compile or first call), median evaluation time to a ``csr_array``, the
evaluation cost as a multiple of one numpy evaluation of ``f``, the one-off cost
(preparation + one evaluation), and each figure's ratio to sparsead's. Every
tool's matrix is checked against sparsead's (max abs difference, relative).
Peers that are not installed are skipped with a message (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402

import sparsead as sa  # noqa: E402

QUICK = [("brusselator", 32), ("broyden", 10_000), ("minimal_surface", 100), ("arwhead", 10_000)]
PEERS = ("asdex", "sparsejac", "casadi", "fd")
FD_MAX_GROUPS = 2000   # skip FD when a dense row forces more column groups than this


def run_sparsead(problem: peers.Problem, repeats: int, backend: str | None):
    kwargs = {} if backend is None else {"backend": backend}
    start = time.perf_counter()
    if problem.kind == "jacobian":
        op = sa.sparse_jacobian(problem.f, problem.x0, **kwargs)
    else:
        op = sa.sparse_hessian(problem.f, problem.x0, **kwargs)
    t_prepare = time.perf_counter() - start
    x = problem.x0
    t = time.perf_counter()
    first = op(x)
    t_first = time.perf_counter() - t
    out = first.copy()
    t_eval = peers.median_time(lambda: op(x, out=out), repeats)
    t_eval_fresh = peers.median_time(lambda: op(x), repeats)
    timings = dict(getattr(op, "timings", {}) or {})
    return {"detect": timings.get("detect"), "color": timings.get("color"),
            "compile": timings.get("compile"), "prepare": t_prepare, "first": t_first,
            "eval": t_eval_fresh, "eval_into": t_eval, "colors": op.n_colors,
            "nnz": first.nnz, "matrix": first, "op": op}


def _fmt(v, scale=1.0, digits=3):
    if v is None:
        return "-"
    return f"{v * scale:.{digits}g}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", help="comma list name:size (default: the standard set)")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--peers", default=",".join(PEERS), help=f"comma list from {PEERS} or 'none'")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--backend", default=None, help="sparsead backend (default: the operator's default)")
    ap.add_argument("--json", default=None, help="write the results to this JSON file")
    args = ap.parse_args(argv)

    if args.problems:
        todo = [(s.split(":")[0], int(s.split(":")[1])) for s in args.problems.split(",")]
    else:
        todo = QUICK if args.quick else peers.STANDARD_PROBLEMS
    wanted = [] if args.peers == "none" else [p.strip() for p in args.peers.split(",") if p.strip()]

    print(f"# sparsead derivative benchmark  (python {platform.python_version()}, "
          f"numpy {np.__version__}, {os.cpu_count()} cpus)")
    print("# times: medians; eval = one Jacobian/Hessian to csr_array; x f = eval / one numpy f(x);"
          " one-off = prepare + first evaluation\n")
    results = []
    header = (f"{'problem':<22}{'tool':<11}{'colors':>7}{'detect s':>10}{'color s':>9}{'compile s':>10}"
              f"{'eval ms':>10}{'x f':>8}{'one-off s':>10}{'eval/ours':>10}{'max|diff|':>11}")
    for name, size in todo:
        problem = peers.make_problem(name, size)
        t_f = peers.median_time(lambda: problem.f(problem.x0), 50)
        print(f"## {problem.label}: n = {problem.x0.size}, one f(x) = {t_f * 1e3:.3f} ms")
        print(header)
        ours = run_sparsead(problem, args.repeats, args.backend)
        ref = ours["matrix"]
        rows = [("sparsead", ours)]
        for peer in wanted:
            if peer == "asdex":
                res = peers.run_asdex(problem, args.repeats)
            elif peer == "sparsejac":
                res = peers.run_sparsejac(problem, ours["op"].pattern, args.repeats)
            elif peer == "casadi":
                res = peers.run_casadi(problem, args.repeats)
            elif peer == "fd":
                widest = int(np.diff(ours["op"].pattern.indptr).max(initial=0))
                if widest > FD_MAX_GROUPS:
                    res = (f"a dense row of {widest} entries: FD needs >= {widest} evaluations "
                           f"per matrix (limit {FD_MAX_GROUPS})")
                else:
                    grad = sa.gradient(problem.f) if problem.kind == "hessian" else None
                    res = peers.run_fd(problem, ours["op"].pattern, grad)
            else:
                raise SystemExit(f"unknown peer {peer!r}; choose from {PEERS}")
            rows.append((peer, res))
        for tool, res in rows:
            if isinstance(res, str):
                print(f"{problem.label:<22}{tool:<11}  skipped: {res}")
                results.append({"problem": name, "size": size, "tool": tool, "skipped": res})
                continue
            prep = sum(v for k, v in res.items() if k in ("detect", "color", "compile") and v) \
                if tool != "sparsead" else res["prepare"]
            first = res.get("first") or 0.0
            one_off = prep + (first if tool == "sparsead" else res["eval"])
            scale = max(abs(ref).max(), 1.0)
            diff = abs(res["matrix"] - ref).max() / scale if res["matrix"].shape == ref.shape else float("nan")
            compile_s = res.get("compile")
            print(f"{problem.label:<22}{tool:<11}{_fmt(res.get('colors'), digits=4):>7}"
                  f"{_fmt(res.get('detect')):>10}{_fmt(res.get('color')):>9}{_fmt(compile_s):>10}"
                  f"{_fmt(res['eval'], 1e3):>10}{_fmt(res['eval'] / t_f):>8}{_fmt(one_off):>10}"
                  f"{_fmt(res['eval'] / ours['eval']):>10}{diff:>11.1e}")
            results.append({"problem": name, "size": size, "tool": tool, "n": int(problem.x0.size),
                            "f_seconds": t_f, "colors": res.get("colors"), "nnz": int(res["nnz"]),
                            "detect": res.get("detect"), "color": res.get("color"),
                            "compile": compile_s, "eval": res["eval"], "eval_into": res.get("eval_into"),
                            "one_off": one_off, "max_rel_diff": float(diff)})
        print()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"python": platform.python_version(), "numpy": np.__version__,
                       "results": results}, fh, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
