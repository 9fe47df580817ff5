"""The Numba backend alone: compile time, cached load in a fresh process, kernel speed, bytes moved.

Usage::

    python benchmarks/bench_numba.py            # the four standard problems
    python benchmarks/bench_numba.py --quick    # small sizes

Per problem (Jacobian of f, or Hessian lanes through the gradient graph):

* ``compile s``: first call of ``compile_forward`` with an empty kernel cache
  (a fresh ``SPARSEAD_CACHE_DIR``): code generation + Numba compilation;
* ``cached s``: the same call in a new Python process that finds the kernel on
  disk (imports excluded; ``process s`` includes importing sparsead);
* ``kernel ms``: median of one lane sweep (values + ``B``), ``decomp ms``: the
  coloring's decompression of ``B`` into a preallocated ``csr_array``;
  ``x f``: (kernel + decomp) / one numpy evaluation of ``f``;
* ``MB``: bytes the kernel must move (its array arguments and outputs, each once),
  ``bound ms``: that traffic at the machine's copy bandwidth (a large numpy
  copy, measured here), ``of bound``: kernel time / bound time; ``floor ms``:
  the irreducible traffic of the result alone (read x, write the csr data).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402

import sparsead as sa  # noqa: E402
from sparsead.ad import grad_graph  # noqa: E402
from sparsead.tracing import trace  # noqa: E402

STANDARD = [("brusselator", 128), ("broyden", 100_000), ("minimal_surface", 316),
            ("arwhead", 100_000)]
QUICK = [("brusselator", 32), ("broyden", 10_000), ("minimal_surface", 100), ("arwhead", 10_000)]


def bandwidth():
    """Copy bandwidth in bytes/s (read + write) of a 256 MB numpy copy."""
    a = np.random.default_rng(0).random(2 ** 25)
    b = np.empty_like(a)
    t = peers.median_time(lambda: np.copyto(b, a), 10)
    return 2 * a.nbytes / t


def setup(name, size):
    problem = peers.make_problem(name, size)
    x = problem.x0
    g = trace(problem.f, x)
    if problem.kind == "hessian":
        g = grad_graph(g)
        c = sa.color(sa.hessian_sparsity(problem.f, x), "star")
    else:
        c = sa.color(sa.jacobian_sparsity(problem.f, x), "column")
    return problem, g, c


_CHILD = """
import sys, time, json
t0 = time.perf_counter()
sys.path.insert(0, {bench!r})
import numpy as np, bench_numba
from sparsead.ad.numba.backend import compile_forward
problem, g, c = bench_numba.setup({name!r}, {size})
t1 = time.perf_counter()
run = compile_forward(g, 0, c.colors, c.n_colors)
t2 = time.perf_counter()
print(json.dumps({{"cached": t2 - t1, "imports": t1 - t0, "timings": run.timings}}))
"""


def cached_load(name, size, cache_dir):
    env = dict(os.environ, SPARSEAD_CACHE_DIR=cache_dir)
    code = _CHILD.format(bench=os.path.dirname(os.path.abspath(__file__)), name=name, size=size)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    wall = time.perf_counter() - t
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process"] = wall
    return res


def kernel_bytes(run, x, value, B):
    """Bytes of the kernel's array arguments and outputs (each touched once)."""
    args = [a for a in run.args if isinstance(a, np.ndarray)]
    return x.nbytes + sum(a.nbytes for a in args) + value.nbytes + B.nbytes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--problems", help="comma list name:size")
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args(argv)
    todo = [(s.split(":")[0], int(s.split(":")[1])) for s in args.problems.split(",")] \
        if args.problems else (QUICK if args.quick else STANDARD)
    bw = bandwidth()
    print(f"# copy bandwidth: {bw / 1e9:.1f} GB/s (read + write), {os.cpu_count()} cpus")
    print(f"{'problem':<24}{'p':>4}{'compile s':>10}{'cached s':>9}{'process s':>10}"
          f"{'kernel ms':>10}{'decomp ms':>10}{'f ms':>8}{'x f':>7}{'MB':>7}{'bound ms':>9}"
          f"{'of bound':>9}{'floor ms':>9}")
    from sparsead.ad.numba import backend as numba_backend
    for name, size in todo:
        problem, g, c = setup(name, size)
        with tempfile.TemporaryDirectory() as cache_dir:
            os.environ["SPARSEAD_CACHE_DIR"] = cache_dir
            numba_backend._LOADED.clear()
            t = time.perf_counter()
            run = numba_backend.compile_forward(g, 0, c.colors, c.n_colors)
            t_compile = time.perf_counter() - t
            del os.environ["SPARSEAD_CACHE_DIR"]
            cached = cached_load(name, size, cache_dir)
        x = problem.x0
        value, B = run([x])
        out = c.decompress(B)
        t_kernel = peers.median_time(lambda: run([x]), args.repeats)
        t_dec = peers.median_time(lambda: c.decompress(B, out=out), args.repeats)
        t_f = peers.median_time(lambda: problem.f(x), args.repeats)
        nbytes = kernel_bytes(run, x, value, B)
        floor = (x.nbytes + out.data.nbytes) / bw
        print(f"{problem.label:<24}{c.n_colors:>4}{t_compile:>10.2f}{cached['cached']:>9.3f}"
              f"{cached['process']:>10.2f}{t_kernel * 1e3:>10.3f}{t_dec * 1e3:>10.3f}"
              f"{t_f * 1e3:>8.3f}{(t_kernel + t_dec) / t_f:>7.2f}{nbytes / 1e6:>7.1f}"
              f"{nbytes / bw * 1e3:>9.3f}{t_kernel / (nbytes / bw):>9.1f}{floor * 1e3:>9.3f}")


if __name__ == "__main__":
    main()
