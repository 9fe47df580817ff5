"""First use: ``import sparsead`` and the README quickstart, cold and warm.

Usage::

    python benchmarks/bench_startup.py              # 3 cold and 5 warm runs
    python benchmarks/bench_startup.py --cold 1 --warm 3

Every figure comes from a fresh Python process. *Cold*: a brand-new, empty
``NUMBA_CACHE_DIR`` (so the package's own ``@njit(cache=True)`` kernels compile
again, whatever ``__pycache__`` holds) and an empty ``SPARSEAD_CACHE_DIR`` (the
generated lane kernels). *Warm*: later processes on the same two folders.
The quickstart is the README's first Python block, run as written, one
top-level statement at a time, so each line's share is printed; the
preparation of the Hessian is split further into ``hess.timings`` (trace and
detect, color, compile the lane kernel) and the seconds Numba spent compiling
(or loading) each of the package's kernels. Figures are medians over the runs;
the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_IMPORT_ONLY = r"""
import json, sys, time
t0 = time.perf_counter()
import {module}
print(json.dumps({{"seconds": time.perf_counter() - t0,
                   "numba": "numba" in sys.modules, "scipy.optimize": "scipy.optimize" in sys.modules}}))
"""

# Runs the quickstart statement by statement; numba's Dispatcher.compile is wrapped to time
# every kernel's first call (compile, or load from the on-disk cache).
_QUICKSTART = r"""
import ast, json, sys, time
t_start = time.perf_counter()
source = sys.stdin.read()
kernels = {}

def _patch_numba():
    from numba.core import dispatcher
    original = dispatcher.Dispatcher.compile
    depth = [0]
    def compile(self, sig):
        depth[0] += 1
        t = time.perf_counter()
        try:
            return original(self, sig)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                name = self.py_func.__module__.replace("sparsead._kernels.", "") + "." + \
                       self.py_func.__name__
                if name.startswith("_sparsead_lanes_"):
                    name = "lane kernel (generated)"
                kernels[name] = kernels.get(name, 0.0) + time.perf_counter() - t
    dispatcher.Dispatcher.compile = compile

import importlib.abc, importlib.machinery
class _Hook(importlib.abc.MetaPathFinder):  # patch numba's dispatcher when (if) it is imported
    def find_spec(self, name, path, target=None):
        if name != "numba.core.dispatcher":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            _patch_numba()
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, _Hook())

ns = {}
lines = []
for stmt in ast.parse(source).body:
    code = compile(ast.Module([stmt], []), "quickstart", "exec")
    t = time.perf_counter()
    exec(code, ns)
    text = ast.get_source_segment(source, stmt).splitlines()[0]
    lines.append([text, time.perf_counter() - t])
hess = ns.get("hess")
print(json.dumps({"lines": lines, "total": time.perf_counter() - t_start,
                  "hess_timings": getattr(hess, "timings", {}), "kernels": kernels}))
"""


def quickstart_source() -> str:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]


def child(code, env, stdin=None):
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], input=stdin, env=env, capture_output=True,
                       text=True, check=False)
    wall = time.perf_counter() - t
    if r.returncode:
        raise RuntimeError(f"child process failed:\n{r.stderr}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def runs(code, n_cold, n_warm, stdin=None):
    """``(cold, warm)`` result lists: each cold run on new empty cache folders, warm on the last."""
    cold, warm = [], []
    base = dict(os.environ)
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT), base.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(n_cold):
            env = dict(base, NUMBA_CACHE_DIR=os.path.join(tmp, f"numba{k}"),
                       SPARSEAD_CACHE_DIR=os.path.join(tmp, f"kernels{k}"))
            cold.append(child(code, env, stdin))
        for _ in range(n_warm):
            warm.append(child(code, env, stdin))
    return cold, warm


def med(values):
    return statistics.median(values) if values else float("nan")


def row(label, cold, warm, width=64):
    return f"  {label[:width]:{width}s} {cold:8.3f} {warm:8.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=3, help="cold runs (new empty caches each)")
    parser.add_argument("--warm", type=int, default=5, help="warm runs (caches filled)")
    args = parser.parse_args(argv)
    import numba
    import numpy
    import scipy

    print(f"sparsead start-up; python {sys.version.split()[0]}, numpy {numpy.__version__}, "
          f"scipy {scipy.__version__}, numba {numba.__version__}; load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"medians of {args.cold} cold runs (each with new empty NUMBA_CACHE_DIR and "
          f"SPARSEAD_CACHE_DIR) and {args.warm} warm runs, each a fresh process; seconds\n")
    print(f"  {'':64s} {'cold':>8s} {'warm':>8s}")

    for module in ("numpy, scipy.sparse", "sparsead"):
        cold, warm = runs(_IMPORT_ONLY.format(module=module), args.cold, args.warm)
        print(row(f"import {module}", med([r["seconds"] for r in cold]),
                  med([r["seconds"] for r in warm])))
        if module == "sparsead" and (cold[0]["numba"] or cold[0]["scipy.optimize"]):
            print("  (note: `import sparsead` loaded numba or scipy.optimize)")

    source = quickstart_source()
    cold, warm = runs(_QUICKSTART, args.cold, args.warm, stdin=source)
    print(row("README quickstart, process wall time", med([r["wall"] for r in cold]),
              med([r["wall"] for r in warm])))
    print(row("README quickstart, in the process", med([r["total"] for r in cold]),
              med([r["total"] for r in warm])))
    for k, (text, _) in enumerate(cold[0]["lines"]):
        c = med([r["lines"][k][1] for r in cold])
        w = med([r["lines"][k][1] for r in warm])
        if c >= 0.01 or w >= 0.01:
            print(row(f"  {text.strip()}", c, w))
        if text.startswith("hess ="):
            for part in cold[0]["hess_timings"]:
                print(row(f"      hess.timings[{part!r}]",
                          med([r["hess_timings"][part] for r in cold]),
                          med([r["hess_timings"][part] for r in warm])))
    names = sorted({n for r in cold for n in r["kernels"]},
                   key=lambda n: -med([r["kernels"].get(n, 0.0) for r in cold]))
    total_c = med([sum(r["kernels"].values()) for r in cold])
    total_w = med([sum(r["kernels"].values()) for r in warm])
    print(row("Numba: compile (cold) / load from cache (warm), all kernels", total_c, total_w))
    for n in names:
        print(row(f"    {n}", med([r["kernels"].get(n, 0.0) for r in cold]),
                  med([r["kernels"].get(n, 0.0) for r in warm])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
