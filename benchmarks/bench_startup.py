"""First use: ``import sparsead``, a prepared Jacobian's one-off cost and the README quickstart.

Usage::

    python benchmarks/bench_startup.py              # 3 cold and 5 warm runs
    python benchmarks/bench_startup.py --cold 1 --warm 3 --size 32 --no-quickstart

Every figure comes from a fresh Python process. The one-off table (Brusselator
``--size``, default N = 32) splits import + ``sparse_jacobian`` + first call into
parts: numpy and scipy.sparse, sparsead's own modules, Numba's import, the
preparation (with ``jac.timings``) and each kernel's compile or cache load (the
first kernel loaded also pays Numba's target set-up). *Cold*: a brand-new, empty
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

# Wraps numba's Dispatcher.compile (when numba is imported) to time every kernel's first call
# (compile, or load from the on-disk cache) into the dict ``kernels``.
_KERNEL_HOOK = r"""
import json, sys, time
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
"""

# Runs the quickstart statement by statement.
_QUICKSTART = _KERNEL_HOOK + r"""
import ast
t_start = time.perf_counter()
source = sys.stdin.read()
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


# One-off cost of a prepared Jacobian, part by part: the imports sparse_jacobian needs (numpy
# and scipy.sparse, sparsead's own modules, numba), the preparation (its kernels' loads
# apart: the first one includes Numba's own set-up) and the first call.
_ONEOFF = _KERNEL_HOOK + r"""
t_start = time.perf_counter()
parts = []
def step(label, fn):
    t = time.perf_counter()
    out = fn()
    parts.append([label, time.perf_counter() - t])
    return out
step("import numpy, scipy.sparse", lambda: __import__("scipy.sparse"))
import importlib
sa = step("import sparsead, sparsead.examples",
          lambda: (importlib.import_module("sparsead.examples"), sys.modules["sparsead"])[1])
step("import sparsead.prepared (tracing, coloring, ad)",
     lambda: importlib.import_module("sparsead.prepared"))
step("import numba", lambda: importlib.import_module("numba"))
from sparsead import examples
x0 = examples.brusselator_x0(__SIZE__)
jac = step("sa.sparse_jacobian(brusselator, x0)", lambda: sa.sparse_jacobian(examples.brusselator, x0))
step("jac(x0), the first call", lambda: jac(x0))
print(json.dumps({"lines": parts, "total": time.perf_counter() - t_start,
                  "hess_timings": dict(jac.timings), "kernels": kernels}))
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
    lines = r.stdout.strip().splitlines()
    out = json.loads(lines[-1]) if lines else {}
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


def print_parts(title, cold, warm, split="hess ="):
    """Process wall time, in-process total, each timed line (``split``: with its ``.timings``)
    and the seconds Numba spent on each kernel, medians of ``cold`` and ``warm``."""
    print(row(f"{title}, process wall time", med([r["wall"] for r in cold]),
              med([r["wall"] for r in warm])))
    print(row(f"{title}, in the process", med([r["total"] for r in cold]),
              med([r["total"] for r in warm])))
    for k, (text, _) in enumerate(cold[0]["lines"]):
        c = med([r["lines"][k][1] for r in cold])
        w = med([r["lines"][k][1] for r in warm])
        if c >= 0.01 or w >= 0.01:
            print(row(f"  {text.strip()}", c, w))
        if text.startswith(split):
            for part in cold[0]["hess_timings"]:
                print(row(f"      .timings[{part!r}]",
                          med([r["hess_timings"][part] for r in cold]),
                          med([r["hess_timings"][part] for r in warm])))
    names = sorted({n for r in cold for n in r["kernels"]},
                   key=lambda n: -med([r["kernels"].get(n, 0.0) for r in cold]))
    total_c = med([sum(r["kernels"].values()) for r in cold])
    total_w = med([sum(r["kernels"].values()) for r in warm])
    print(row("  Numba: compile (cold) / load from cache (warm), all kernels", total_c, total_w))
    for n in names:
        print(row(f"    {n}", med([r["kernels"].get(n, 0.0) for r in cold]),
                  med([r["kernels"].get(n, 0.0) for r in warm])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=3, help="cold runs (new empty caches each)")
    parser.add_argument("--warm", type=int, default=5, help="warm runs (caches filled)")
    parser.add_argument("--size", type=int, default=32,
                        help="Brusselator N of the one-off part table (default 32)")
    parser.add_argument("--no-quickstart", action="store_true", help="skip the README part")
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

    cold, warm = runs("pass", args.cold, args.warm)
    print(row("python -c pass (the interpreter alone)", med([r["wall"] for r in cold]),
              med([r["wall"] for r in warm])))
    for module in ("numpy, scipy.sparse", "sparsead"):
        cold, warm = runs(_IMPORT_ONLY.format(module=module), args.cold, args.warm)
        print(row(f"import {module}", med([r["seconds"] for r in cold]),
                  med([r["seconds"] for r in warm])))
        if module == "sparsead" and (cold[0]["numba"] or cold[0]["scipy.optimize"]):
            print("  (note: `import sparsead` loaded numba or scipy.optimize)")

    cold, warm = runs(_ONEOFF.replace("__SIZE__", str(args.size)), args.cold, args.warm)
    print_parts(f"Brusselator N={args.size} one-off", cold, warm, split="sa.sparse_jacobian")
    if not args.no_quickstart:
        cold, warm = runs(_QUICKSTART, args.cold, args.warm, stdin=quickstart_source())
        print_parts("README quickstart", cold, warm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
