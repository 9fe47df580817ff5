"""Run the differential fuzzer on many programs; print a table; write minimal reproducers.

Usage::

    python tests/fuzz/run.py --programs 20000 --seed 0 --minutes 30

Program ``k`` is ``generate(RngChooser(seed + k))``, checked at five points
(two random, ties, zeros, +-inf/NaN) against the dense reference. What runs:

* every program, numpy backend, every mode (``sparse_jacobian`` forward /
  reverse / bidirectional / auto, ``sparse_hessian`` star / acyclic, ``hessp``,
  ``gradient``, ``jvp``, ``vjp``, ``hvp``, global and local detection) -- in
  worker processes with Numba's JIT on (the coloring and decompression kernels
  users run);
* every program, Numba backend (Jacobian modes and Hessians), with the generated
  kernels run un-jitted (``NUMBA_DISABLE_JIT=1`` workers): the code generator's
  output is checked on every program at ~30 ms instead of 0.2-1 s of compiling
  per kernel;
* every ``--jit-every``-th program also with real Numba compilation (``cache=True``
  into a fresh kernel cache, so it really compiles);
* where ``backend="numba"`` refuses a graph (NotImplementedError), ``backend="auto"``
  is checked instead (it must fall back to the interpreter and agree).

Findings of a known, open class (``check.KNOWN``) are counted per reason; any
other finding is shrunk (``shrink.py``) and written as a standalone script to
``--out``. Exit status 1 if any finding is not of a known class.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))              # tests/ (the fuzz package)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))   # the worktree (sparsead)


def _init(env):
    """Worker initializer: set the environment before numba is imported."""
    os.environ.update(env)
    import warnings
    warnings.simplefilter("ignore")


def _work(job, seeds, deadline):
    """Check ``seeds`` for one job kind; returns ``(n_done, counts, findings, scalar)``."""
    import numpy as np

    from fuzz.check import check_program, known_reason
    from fuzz.programs import RngChooser, generate, points
    counts, out, done, scalar = collections.Counter(), [], 0, 0
    for seed in seeds:
        if time.time() > deadline:
            break
        prog = generate(RngChooser(seed))
        pts = points(prog, np.random.default_rng(seed))
        if job == "numpy":
            findings, c = check_program(prog, pts, backends=("numpy",))
        else:
            findings, c = check_program(prog, pts, backends=("numba",), detection=False,
                                        extra_modes=False)
        tag = {"numpy": "", "nojit": ":nojit", "jit": ":jit"}[job]
        for k, v in c.items():
            parts = k.split(":")
            if len(parts) >= 3 and parts[2] in ("numba", "auto"):
                parts[2] += tag
            counts[":".join(parts)] += v
        for f in findings:
            out.append((seed, job, f.kind, f.check, f.point, f.detail, f.x,
                        known_reason(prog, f)))
        done += 1
        scalar += prog.scalar
    return done, counts, out, scalar


def _shrink_and_write(seed, job, check, point, x, out_dir):
    """A minimal reproducer of one finding, written to ``out_dir``; returns its path."""
    import numpy as np

    from fuzz.check import check_program
    from fuzz.programs import RngChooser, generate, points
    from fuzz.shrink import reproducer, shrink
    prog = generate(RngChooser(seed))
    backends = ("numpy",) if check.endswith(":numpy") or ":" not in check or \
        check.startswith(("detect", "gradient", "jvp", "vjp", "hvp", "hessp")) else ("numba",)
    if x is None:
        x = points(prog, np.random.default_rng(seed))[0][1]

    def fails(p, xx):
        fs, _ = check_program(p, [(point, xx)], backends=backends,
                              detection=check.startswith("detect"))
        return any(f.check.split(":")[0] == check.split(":")[0] for f in fs)

    p2, x2 = shrink(prog, x, fails)
    fs, _ = check_program(p2, [(point, x2)], backends=backends)
    name = f"seed{seed}_{check.replace(':', '_')}.py"
    path = os.path.join(out_dir, name)
    with open(path, "w") as fh:
        fh.write(reproducer(p2, x2, fs[0] if fs else f"{check} at {point}"))
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=30.0)
    # one jitted worker and two un-jitted ones: the un-jitted Numba pass costs ~4x the numpy
    # pass per program, so this split keeps both cores busy to the end on a 2-core machine
    ap.add_argument("--jit-workers", type=int, default=1,
                    help="processes with Numba's JIT (numpy backend, compiled subset)")
    ap.add_argument("--nojit-workers", type=int, default=2,
                    help="processes with NUMBA_DISABLE_JIT=1 (un-jitted Numba kernels)")
    ap.add_argument("--jit-every", type=int, default=100,
                    help="check every k-th program with compiled Numba kernels (0: none)")
    ap.add_argument("--out", default=None, help="folder for reproducers (default: a temp dir)")
    ap.add_argument("--chunk", type=int, default=25)
    args = ap.parse_args(argv)
    t0 = time.time()
    deadline = t0 + 60.0 * args.minutes
    out_dir = args.out or tempfile.mkdtemp(prefix="sparsead-fuzz-")
    os.makedirs(out_dir, exist_ok=True)
    cache = tempfile.mkdtemp(prefix="sparsead-fuzz-kernels-")
    seeds = list(range(args.seed, args.seed + args.programs))
    chunks = [seeds[i:i + args.chunk] for i in range(0, len(seeds), args.chunk)]
    jit_seeds = seeds[::args.jit_every] if args.jit_every else []
    ctx = get_context("spawn")
    base = {"SPARSEAD_CACHE_DIR": cache, "OMP_NUM_THREADS": "1"}
    pools = {
        "jit": ProcessPoolExecutor(args.jit_workers, ctx, _init, (dict(base),)),
        "nojit": ProcessPoolExecutor(args.nojit_workers, ctx, _init,
                                     (dict(base, NUMBA_DISABLE_JIT="1"),)),
    }
    futures = {}
    for i, chunk in enumerate(chunks):
        futures[pools["jit"].submit(_work, "numpy", chunk, deadline)] = "numpy"
        futures[pools["nojit"].submit(_work, "nojit", chunk, deadline)] = "nojit"
        if i < len(jit_seeds):
            futures[pools["jit"].submit(_work, "jit", jit_seeds[i:i + 1], deadline)] = "jit"
    for extra in jit_seeds[len(chunks):]:
        futures[pools["jit"].submit(_work, "jit", [extra], deadline)] = "jit"
    done = collections.Counter()
    counts = collections.Counter()
    findings = []
    scalar = 0
    for fut in as_completed(futures):
        n, c, fs, sc = fut.result()
        done[futures[fut]] += n
        counts.update(c)
        findings += fs
        if futures[fut] == "numpy":
            scalar += sc
    elapsed = time.time() - t0
    _report(args, done, counts, findings, scalar, elapsed)
    _reproducers(findings, pools, out_dir)
    for p in pools.values():
        p.shutdown()
    unknown = [f for f in findings if f[7] is None]
    return 1 if unknown else 0


def _reproducers(findings, pools, out_dir):
    """Shrink one finding per (check, class) into a script (in the pool that found it)."""
    unknown = [f for f in findings if f[7] is None]
    todo, seen = [], set()
    for seed, job, kind, check, point, detail, x, reason in unknown + [
            f for f in findings if f[7] is not None]:
        key = (check.split(":")[0], reason or kind)
        if key not in seen and len(seen) < 20:
            seen.add(key)
            pool = pools["nojit" if job == "nojit" else "jit"]
            todo.append((pool.submit(_shrink_and_write, seed, job, check, point, x, out_dir),
                         reason or kind, check))
    for fut, what, check in todo:
        try:
            path = fut.result()
        except Exception as exc:  # noqa: BLE001
            path = f"(shrinking failed: {exc})"
        print(f"reproducer [{what}] {check}: {path}")


def _report(args, done, counts, findings, scalar, elapsed):
    print(f"programs: {done['numpy']} with the numpy backend ({scalar} scalar), "
          f"{done['nojit']} with un-jitted Numba kernels, {done['jit']} with compiled Numba "
          f"kernels; {elapsed / 60:.1f} min, seed {args.seed}, 5 points each")
    rows = sorted({k.split(":unsupported")[0] for k in counts})
    print(f"\n{'check':34s} {'comparisons':>12s} {'refused':>8s}")
    for r in rows:
        if r.endswith(":unsupported"):
            continue
        print(f"{r:34s} {counts.get(r, 0):12d} {counts.get(r + ':unsupported', 0):8d}")
    unknown = [f for f in findings if f[7] is None]
    kinds = collections.Counter(f[2] for f in unknown)
    print(f"\ndisagreements: {kinds.get('disagree', 0)}   errors on valid programs: "
          f"{kinds.get('error', 0)}   unsound patterns: {kinds.get('unsound', 0)}   "
          f"reference/numpy mismatches: {kinds.get('reference', 0)}")
    known = collections.Counter(f[7] for f in findings if f[7] is not None)
    if known:
        print("\nknown open classes (findings, programs):")
        for reason, k in known.most_common():
            progs = len({f[0] for f in findings if f[7] == reason})
            print(f"  {k:6d} {progs:6d}  {reason}")


if __name__ == "__main__":
    sys.exit(main())
