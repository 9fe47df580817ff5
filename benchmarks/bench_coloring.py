"""Benchmark of the coloring engine against ColPack, run live on the same machine, and networkx.

    python benchmarks/bench_coloring.py [--matrices DIR] [--quick] [--repeats R] [--clock cpu|wall]
                                        [--sections colors,times,large,bicolor,improve,networkx,compile]
                                        [--problems P,..] [--orders O,..] [--only REGEX]

Sections (all by default):

* ``colors``   colors per matrix x problem x order against ColPack's reference table
               (``colpack_colors.csv`` in DIR);
* ``times``    ordering + coloring time of every reference run, ours and ColPack's,
               interleaved (median of R), per problem and in total;
* ``large``    the same, run by run, on large generated patterns (arrowhead plus band,
               3-D Laplacian 100^3, rectangular with dense rows, grid, random geometric,
               power-law, permuted band), then per problem;
* ``bicolor``  bidirectional totals: star and acyclic bicolorings against min(column,
               row) and against ColPack's implicit-covering star bicoloring;
* ``improve``  iterated greedy (``improve=2`` and ``10``) against ColPack's best order;
* ``networkx`` distance-1 coloring against ``networkx.greedy_color``, graphs built apart;
* ``compile``  first-call compile time (empty cache) and cache-load time.

ColPack is driven through ``benchmarks/colpack_driver.cpp``, compiled here with g++
into a temporary folder when ``libcolpack-dev`` is installed (``apt-get install -y
libcolpack-dev``); otherwise its columns are skipped with a message. Times exclude
graph construction on both sides, as ColPack's reference table does; ColPack runs
serially (``OMP_NUM_THREADS=1``). Times are process CPU time on both sides by default
(``--clock cpu``: on a shared machine the wall clock also counts the time a run waits
for a core; both sides are single-threaded) or wall time (``--clock wall``). Runs
under 0.2 s are repeated more (up to 10 R), ours and ColPack's interleaved, and the
median is kept. ``--problems``, ``--orders`` and ``--only`` (a regex on the matrix or
pattern name) restrict the ``times`` and ``large`` runs. How files are seen matches ColPack: adjacency
problems color the pattern of A + A.T with stored zeros kept; partial distance-2 and
bidirectional problems the bipartite graph of A with stored zeros dropped.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.io
import scipy.sparse as sp

import sparsead as sa
from sparsead import patterns as pt
from sparsead._io import read_matrix
from sparsead._networkx import NetworkXRuns
from sparsead.coloring import PROBLEMS
from sparsead.coloring import SYMMETRIC_PROBLEMS as SYMMETRIC
from sparsead.coloring.colpack import SHORT_ORDER as SHORT
from sparsead.coloring.colpack import TO_COLPACK_ORDER as CP_ORDER
from sparsead.coloring.colpack import TO_COLPACK_PROBLEM as CP_PROBLEM
from sparsead.coloring.colpack import colpack_pattern, read_reference, reference_count
from sparsead.coloring.greedy import build_graph, run
from sparsead.coloring.orders import vertex_order
from sparsead.coloring.result import build_coloring

DEFAULT_DIR = "/work/shared/matrices"
HERE = os.path.dirname(os.path.abspath(__file__))
BASIC = ("natural", "largest_first", "smallest_last", "incidence_degree", "dynamic_largest_first")
ONE_SIDED = tuple(p for p in PROBLEMS if p != "bidirectional")
#: the clock of ours and ColPack's times: "cpu" (process CPU time) or "wall" (set by main)
CLOCK = {"name": "cpu"}
TIMERS = {"cpu": time.process_time, "wall": time.perf_counter}
QUICK = {"1138_bus", "bcsstk13", "Pd", "lp_e226", "west0479", "dwt_2680", "rajat01", "G51",
         "bp_1200", "hangGlider_2"}


# ---------------------------------------------------------------- ColPack


class ColPack:
    """ColPack through ``colpack_driver.cpp``: compiled once, one process per file, over stdin."""

    def __init__(self):
        self.reason = None
        self.proc = None
        self.path = None
        self.dir = tempfile.mkdtemp(prefix="colpack_")
        header = "/usr/include/ColPack/ColPackHeaders.h"
        if shutil.which("g++") is None or not os.path.exists(header):
            self.reason = ("ColPack not found (needs g++ and libcolpack-dev: apt-get install -y "
                           "libcolpack-dev); ColPack's live columns are skipped")
            return
        self.exe = os.path.join(self.dir, "colpack_driver")
        r = subprocess.run(["g++", "-O2", "-std=c++11", "-w", "-I/usr/include/ColPack",
                            os.path.join(HERE, "colpack_driver.cpp"), "-lColPack", "-o", self.exe],
                           capture_output=True, text=True)
        if r.returncode:
            self.reason = f"could not build colpack_driver.cpp: {r.stderr.strip()[:300]}"

    @property
    def available(self):
        return self.reason is None

    def _ask(self, line, timeout=None):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        chatter = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is not None:
                ready, _, _ = select.select([self.proc.stdout], [], [],
                                            max(0.0, deadline - time.monotonic()))
                if not ready:                        # too slow: stop it, report a timeout
                    self.proc.kill()
                    self.proc.wait()
                    self.proc = None
                    return "timeout", chatter
            out = self.proc.stdout.readline()
            if not out:                              # the driver died (ColPack aborted)
                self.proc = None
                return None, chatter
            if out.startswith("= "):
                return out[2:].strip(), chatter
            chatter.append(out)

    def load(self, path):
        if not self.available:
            return False
        if self.proc is None or self.path != path:
            self.close()
            env = dict(os.environ, OMP_NUM_THREADS="1")
            self.proc = subprocess.Popen([self.exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, env=env)
            self.path = path
            reply, _ = self._ask(f"load {path}")
            return reply == "ok"
        return True

    def run(self, problem, order, timeout=None):
        """``(colors, seconds)`` of ColPack on the loaded file; None if it cannot, and
        ``(None, inf)`` when it takes longer than ``timeout`` seconds."""
        if not self.available or self.path is None:
            return None
        if self.proc is None and not self.load(self.path):
            return None
        reply, chatter = self._ask(f"run {CP_PROBLEM[problem]} {CP_ORDER[order]}", timeout)
        if reply == "timeout":
            return None, float("inf")
        if reply is None or reply.startswith("error") or any("Unknown" in c for c in chatter):
            return None                              # e.g. an ordering this ColPack lacks
        colors, wall, cpu = reply.split()
        return int(colors), float(cpu if CLOCK["name"] == "cpu" else wall)

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.proc = None


# ---------------------------------------------------------------- ours


class Loader:
    """Reference matrices seen the way ColPack sees them, cached per (matrix, view)."""

    def __init__(self, directory):
        self.directory = directory
        self.cache = {}

    def path(self, name):
        return os.path.join(self.directory, name + ".mtx")

    def __call__(self, name, problem):
        key = (name, problem in SYMMETRIC)
        if key not in self.cache:
            self.cache[key] = colpack_pattern(read_matrix(self.path(name)), problem)[0]
        return self.cache[key]


def ours(graph, problem, order, method="star"):
    """``(seconds, raw colors, tree roots)`` of one ordering + coloring (``CLOCK``)."""
    timer = TIMERS[CLOCK["name"]]
    t0 = timer()
    perm, _ = vertex_order(graph, order, 0)
    raw, root = run(graph, problem, perm, method)
    return timer() - t0, raw, root


def race(graph, problem, order, colpack, repeats, timeout=None):
    """Ours and ColPack's times interleaved; ``(colors, s, colpack colors, colpack s)``.

    Medians of ``repeats`` runs, or up to ``10 * repeats`` while ours and ColPack's
    take under 0.2 s in all (a millisecond run is at the mercy of the scheduler and
    the caches); a run over 10 s is measured once. A ColPack run over ``timeout``
    seconds is stopped (time inf).
    """
    to, tc, cp = [], [], None
    raw = root = None
    k = 0
    while k < repeats or (sum(to) + sum(tc) < 0.2 and k < 10 * repeats):   # short: more
        k += 1
        t, raw, root = ours(graph, problem, order)
        to.append(t)
        r = colpack.run(problem, order, timeout) if colpack is not None else None
        if r is not None:
            cp = r[0] if r[0] is not None else cp
            tc.append(r[1])
            if r[1] == float("inf"):
                colpack = None
        if max([t] + tc[-1:]) > 10.0:
            break                                   # a long run is measured once
    c = build_coloring(graph, problem, order, raw, root).n_colors
    return c, statistics.median(to), cp, (statistics.median(tc) if tc else None)


def fmt(t, timeout=None):
    if t == float("inf"):
        return f">{timeout:.0f}" if timeout else "stopped"
    return "-" if t is None else (f"{t:.4f}" if t < 10 else f"{t:.1f}")


def ratio(a, b):
    return "-" if (a is None or not b) else f"{a / b:.2f}" if b != float("inf") else "<"


# ---------------------------------------------------------------- (1) colors


def colors_table(directory, ref, quick):
    load = Loader(directory)
    by_mp = collections.defaultdict(dict)
    for r in ref:
        by_mp[(r["matrix"], r["problem"])][r["order"]] = r
    verdict = collections.Counter()
    totals = collections.defaultdict(lambda: [0, 0])
    print("\n(1) colors: ours/ColPack (ColPack's distinct_colors for star/acyclic); "
          "'=' equal, '<' fewer, '>' more")
    print(f"{'matrix':28s} {'problem':10s} " + " ".join(f"{s:>9s}" for s in SHORT.values()))
    for (name, problem), rows in sorted(by_mp.items()):
        if quick and name not in QUICK:
            continue
        p = load(name, problem)
        cells = []
        for o in SHORT:
            r = rows.get(o)
            if r is None:
                cells.append(f"{'':>9s}")
                continue
            want = reference_count(r, problem)
            got = sa.color(p, problem, o).n_colors
            mark = "=" if got == want else ("<" if got < want else ">")
            verdict[(problem, mark)] += 1
            totals[(problem, o)][0] += got
            totals[(problem, o)][1] += want
            cells.append(f"{got:>4d}/{want:<3d}{mark}"[:9].rjust(9))
        print(f"{name:28s} {problem:10s} " + " ".join(cells))
    print("\nsummary (matrix x order cells): problem: equal / fewer / more;  total colors "
          "ours / ColPack")
    for problem in ONE_SIDED:
        t = [v for k, v in totals.items() if k[0] == problem]
        print(f"  {problem:10s} {verdict[(problem, '=')]:4d} = {verdict[(problem, '<')]:4d} < "
              f"{verdict[(problem, '>')]:4d} >   {sum(x[0] for x in t):6d} / "
              f"{sum(x[1] for x in t):6d}")


# ---------------------------------------------------------------- (2) times, reference set


def reference_times(directory, ref, colpack, repeats, quick, sel):
    load = Loader(directory)
    runs = collections.defaultdict(list)
    seen = set()
    for r in ref:
        key = (r["matrix"], r["problem"], r["order"])
        if (key in seen or (quick and r["matrix"] not in QUICK)
                or not wanted(sel, *key)):
            continue
        seen.add(key)
        runs[r["matrix"]].append((r["problem"], r["order"], r["seconds"]))
    res = []
    for name in sorted(runs):
        cp = colpack if colpack.load(load.path(name)) else None
        graphs = {}
        for problem, order, ref_s in runs[name]:
            if problem not in graphs:
                graphs[problem] = build_graph(load(name, problem), problem)
            c, t, cc, tc = race(graphs[problem], problem, order, cp, repeats)
            res.append((name, problem, order, c, t, cc, tc, ref_s))
    print(f"\n(2) reference set, ordering + coloring (graph construction excluded), ours and "
          f"ColPack run interleaved here ({CLOCK['name']} time, median of {repeats}, up to "
          f"{10 * repeats} for runs under 0.2 s); 'table' = ColPack's reference wall_seconds")
    print(f"  {'problem':10s} {'runs':>5s} {'ours s':>9s} {'ColPack s':>10s} {'ratio':>6s} "
          f"{'table s':>9s} {'>1.5x':>6s} {'worst':>6s}")
    tot = [0, 0.0, 0.0, 0.0, 0]
    worst_runs = []
    for problem in ONE_SIDED:
        rows = [r for r in res if r[1] == problem and r[6] is not None]
        if not rows:
            continue
        so, sc, st = sum(r[4] for r in rows), sum(r[6] for r in rows), sum(r[7] for r in rows)
        slow = [r for r in rows if r[4] > 1.5 * r[6] and max(r[4], r[6]) >= 1e-3]
        worst = max((r[4] / r[6] for r in rows if max(r[4], r[6]) >= 1e-3), default=0.0)
        worst_runs += slow
        print(f"  {problem:10s} {len(rows):5d} {so:9.3f} {sc:10.3f} {so / sc:6.2f} {st:9.3f} "
              f"{len(slow):6d} {worst:6.2f}")
        tot = [tot[0] + len(rows), tot[1] + so, tot[2] + sc, tot[3] + st, tot[4] + len(slow)]
    if tot[0]:
        print(f"  {'total':10s} {tot[0]:5d} {tot[1]:9.3f} {tot[2]:10.3f} {tot[1] / tot[2]:6.2f} "
              f"{tot[3]:9.3f} {tot[4]:6d}   (goal: total <= 1.0, no run above 1.5x)")
        print("  '>1.5x' counts runs where ours took more than 1.5x ColPack's time and one of "
              "the two took 1 ms or more")
        for r in sorted(worst_runs, key=lambda r: -r[4] / r[6])[:12]:
            print(f"    {r[0]:24s} {r[1]:10s} {r[2]:26s} ours {r[4]:.4f} s ColPack {r[6]:.4f} s")
    else:
        print("  (no ColPack runs: " + (colpack.reason or "none matched") + ")")
    missing = sum(1 for r in res if r[6] is None)
    if missing:
        print(f"  {missing} runs have no live ColPack time (an ordering ColPack "
              f"{'lacks' if colpack.available else 'was not run'}; e.g. Debian's 1.0.10 has no "
              f"DYNAMIC_LARGEST_FIRST for partial distance-2 coloring)")


# ---------------------------------------------------------------- (3) large patterns


def large_cases(quick):
    """``(name, pattern, [(problem, orders)])``; O(n^2) runs only where n allows them."""
    s = 4 if quick else 1
    adj = SYMMETRIC
    std = ("natural", "largest_first", "smallest_last", "incidence_degree")
    d2 = std + ("distance2_smallest_last",)
    cases = [
        ("arrowhead+band n=2e4", pt.arrowhead_band(20000 // s, 1),
         [("column", std), ("row", std), ("distance2", d2), ("star", d2), ("acyclic", std),
          ("distance1", d2), ("bidirectional", ("largest_first", "smallest_last"))]),
        ("arrowhead+band n=1e5", pt.arrowhead_band(100000 // s, 1),
         [("star", std), ("acyclic", ("natural", "largest_first")), ("distance1", std),
          ("bidirectional", ("largest_first",))]),
        ("laplacian 100^3" if not quick else "laplacian 40^3",
         pt.laplacian((100, 100, 100) if not quick else (40, 40, 40)),
         [("column", std), ("row", ("natural", "smallest_last")), ("distance1", std),
          ("distance2", d2), ("star", d2), ("acyclic", std), ("bidirectional", std[:3])]),
        ("dense rows 5e4x1e4", pt.dense_rows(50000 // s, 10000 // s, 3, 4, seed=0),
         [("column", std), ("row", std), ("bidirectional", std[:3])]),
        ("grid 700^2", pt.laplacian((700 // s, 700 // s)),
         [(p, std) for p in adj] + [("column", std)]),
        ("random geometric 2e5", pt.random_geometric(200000 // s, 10.0, seed=0),
         [(p, std) for p in adj] + [("column", std)]),
        ("power law 2e5", pt.power_law(200000 // s, 8.0, seed=0),
         [(p, std) for p in adj] + [("column", std[:3]), ("bidirectional", std[:3])]),
        ("permuted band 2e5", pt.permuted_band(200000 // s, 5, seed=0),
         [(p, std) for p in adj] + [("column", std)]),
    ]
    return cases


def wanted(sel, name, problem, order):
    """Whether a run passes the ``--only`` / ``--problems`` / ``--orders`` filters."""
    return ((sel.only is None or re.search(sel.only, name) is not None)
            and (sel.problems is None or problem in sel.problems)
            and (sel.orders is None or order in sel.orders))


def large(colpack, repeats, quick, sel, timeout=120.0):
    print(f"\n(3) large generated patterns: one row per run, ordering + coloring, ours and ColPack "
          f"interleaved ({CLOCK['name']} time, median of {repeats}, up to {10 * repeats} for "
          f"runs under 0.2 s); '!' marks a color count that differs from ColPack's")
    print(f"  {'pattern':22s} {'problem':13s} {'order':24s} {'n':>8s} {'nnz':>9s} "
          f"{'colors':>7s} {'ColPack':>7s} {'ours s':>8s} {'ColPack s':>9s} {'ratio':>6s}")
    tmp = tempfile.mkdtemp(prefix="sparsead_large_")
    res = []
    for name, p, plan in large_cases(quick):
        plan = [(pb, [o for o in orders if wanted(sel, name, pb, o)]) for pb, orders in plan]
        plan = [(pb, orders) for pb, orders in plan if orders]
        if not plan:
            continue
        path = os.path.join(tmp, re.sub(r"\W+", "_", name) + ".mtx")
        sym = p.shape[0] == p.shape[1] and (p != p.T).nnz == 0
        scipy.io.mmwrite(path, sp.coo_matrix(sp.tril(p) if sym else p), field="pattern",
                         symmetry="symmetric" if sym else "general")
        cp = colpack if colpack.load(path) else None
        for problem, orders in plan:
            g = build_graph(p, problem)
            n = p.shape[0] if problem == "row" else p.shape[1]
            for order in orders:
                c, t, cc, tc = race(g, problem, order, cp, repeats, timeout)
                mark = "!" if cc is not None and cc != c else " "
                print(f"  {name:22s} {problem:13s} {order:24s} {n:8d} {p.nnz:9d} {c:7d}{mark}"
                      f"{cc if cc is not None else '-':>7} {fmt(t):>8s} "
                      f"{fmt(tc, timeout):>9s} {ratio(t, tc):>6s}", flush=True)
                res.append((name, problem, order, c, t, cc, tc))
        os.remove(path)
    large_summary(res, timeout)


def large_summary(res, timeout):
    """Per problem: runs, time sums, ratio, runs over 1.5x, the worst run; then in total."""
    print(f"\n  per problem ({CLOCK['name']} time; '>1.5x' and 'worst' count runs where one of "
          f"the two took 1 ms or more, as in (2))")
    print(f"  {'problem':13s} {'runs':>5s} {'ours s':>9s} {'ColPack s':>10s} {'ratio':>6s} "
          f"{'>1.5x':>6s} {'worst':>6s}  worst run")
    timed = [r[:6] + (timeout if r[6] == float("inf") else r[6],) for r in res if r[6]]
    slow = []
    for problem in PROBLEMS + (None,):
        rows = [r for r in timed if problem is None or r[1] == problem]
        if not rows:
            continue
        so, sc = sum(r[4] for r in rows), sum(r[6] for r in rows)
        big = [r for r in rows if max(r[4], r[6]) >= 1e-3]
        over = [r for r in big if r[4] > 1.5 * r[6]]
        w = max(big, key=lambda r: r[4] / r[6], default=None)
        slow += over if problem is not None else []
        print(f"  {problem or 'total':13s} {len(rows):5d} {so:9.3f} {sc:10.3f} {so / sc:6.2f} "
              f"{len(over):6d} {(w[4] / w[6]) if w else 0:6.2f}  "
              + (f"{w[0]} {w[2]}" if w else ""))
    for r in sorted(slow, key=lambda r: -r[4] / r[6]):
        print(f"    over 1.5x: {r[0]:22s} {r[1]:13s} {r[2]:24s} ours {r[4]:.4f} s "
              f"ColPack {r[6]:.4f} s ({r[4] / r[6]:.2f}x)")
    tiny = [r for r in timed if max(r[4], r[6]) < 1e-3 and r[4] > 1.5 * r[6]]
    if tiny:
        print(f"  {len(tiny)} runs under 1 ms on both sides took over 1.5x ColPack's time: "
              + ", ".join(f"{r[0]} {r[1]} {r[2]} {r[4] * 1e3:.2f}/{r[6] * 1e3:.2f} ms"
                          for r in tiny))
    mismatch = [r for r in res if r[5] is not None and r[5] != r[3]]
    print(f"  color counts equal to ColPack's on {sum(r[5] is not None for r in res) - len(mismatch)}"
          f" of {sum(r[5] is not None for r in res)} runs"
          + (": differ on " + ", ".join(f"{r[0]} {r[1]} {r[2]}" for r in mismatch)
             if mismatch else ""))
    stopped = sum(1 for r in res if r[6] == float("inf"))
    if stopped:
        print(f"  ColPack was stopped after {timeout:.0f} s on {stopped} runs ('>{timeout:.0f}'); "
              f"the sums count {timeout:.0f} s for each, a lower bound")
    print("  not run: column/row/distance-2 orders on the arrowhead at n=1e5 (O(n^2) work on "
          "both sides, and ColPack's degree buckets keep O(n^2) memory: ~40 GB)")


# ---------------------------------------------------------------- (4) bicolorings


def bicolor(directory, ref, colpack, quick):
    load = Loader(directory)
    names = sorted({r["matrix"] for r in ref if not quick or r["matrix"] in QUICK})
    print("\n(4) bidirectional: best of the five basic orders per matrix; ColPack = its "
          "implicit-covering star bicoloring (NATURAL, LF, SL, ID), run here")
    print(f"  {'matrix':26s} {'column':>7s} {'row':>6s} {'min':>6s} {'star':>6s} {'acyclic':>7s} "
          f"{'ColPack':>7s} {'star s':>7s} {'ColPack s':>9s}")
    tot = collections.Counter()
    worse = []
    for name in names:
        p = load(name, "bidirectional")
        col = sa.color(p, "column", list(BASIC)).n_colors
        row = sa.color(p, "row", list(BASIC)).n_colors
        t0 = time.perf_counter()
        star = min(sa.color(p, "bidirectional", o).n_colors for o in BASIC)
        ts = time.perf_counter() - t0
        acyc = sa.color(p, "bidirectional", list(BASIC), decompression="substitution").n_colors
        cps, tcp = [], 0.0
        if colpack.load(load.path(name)):
            for o in BASIC[:4]:
                r = colpack.run("bidirectional", o)
                if r is not None:
                    cps.append(r[0])
                    tcp += r[1]
        cp = min(cps) if cps else None
        tot.update(column=col, row=row, min=min(col, row), star=star, acyclic=acyc,
                   colpack=cp or 0, star_s=ts, colpack_s=tcp)
        if star > min(col, row):
            worse.append(name)
        print(f"  {name:26s} {col:7d} {row:6d} {min(col, row):6d} {star:6d} {acyc:7d} "
              f"{cp if cp is not None else '-':>7} {ts:7.3f} {tcp:9.3f}")
    print(f"  {'total':26s} {tot['column']:7d} {tot['row']:6d} {tot['min']:6d} {tot['star']:6d} "
          f"{tot['acyclic']:7d} {tot['colpack'] or '-':>7} {tot['star_s']:7.2f} "
          f"{tot['colpack_s']:9.2f}")
    print(f"  star bicoloring above min(column, row) on {len(worse)} of {len(names)} matrices: "
          + ", ".join(worse))
    for n in (1000, 100000):
        A = pt.arrowhead(n)
        t0 = time.perf_counter()
        c = sa.color(A, "bidirectional")
        t1 = time.perf_counter()
        a = sa.color(A, "bidirectional", decompression="substitution")
        t2 = time.perf_counter()
        print(f"  arrowhead n={n}: star {c.n_colors} colors in {t1 - t0:.3f} s, acyclic "
              f"{a.n_colors} in {t2 - t1:.3f} s (theory: 3)")


# ---------------------------------------------------------------- (5) improvement


def improve(directory, ref, quick):
    load = Loader(directory)
    best = collections.defaultdict(lambda: 10**9)
    orders = collections.defaultdict(list)
    for r in ref:
        want = reference_count(r)
        key = (r["matrix"], r["problem"])
        best[key] = min(best[key], want)
        if r["order"] not in orders[key]:
            orders[key].append(r["order"])
    print("\n(5) iterated greedy after the best of ColPack's orders, against ColPack's best "
          "order (fewer / equal / more matrices, colors saved, time of the rounds)")
    print(f"  {'problem':10s} {'rounds':>6s} {'fewer':>6s} {'equal':>6s} {'more':>5s} "
          f"{'saved':>6s} {'orders s':>9s} {'rounds s':>9s}")
    wins = collections.defaultdict(list)
    for problem in ONE_SIDED:
        keys = [k for k in sorted(best) if k[1] == problem and (not quick or k[0] in QUICK)]
        for rounds in (2, 10):
            stat = collections.Counter()
            for key in keys:
                p = load(*key)
                t0 = time.perf_counter()
                base = sa.color(p, problem, orders[key]).n_colors
                t1 = time.perf_counter()
                got = sa.color(p, problem, orders[key], improve=rounds).n_colors
                t2 = time.perf_counter()
                cp = best[key]
                stat["fewer" if got < cp else "equal" if got == cp else "more"] += 1
                stat["saved"] += cp - got
                stat["t_orders"] += t1 - t0
                stat["t_rounds"] += max(0.0, (t2 - t1) - (t1 - t0))
                if rounds == 10 and got < cp:
                    wins[problem].append(f"{key[0]} {cp}->{got}")
            print(f"  {problem:10s} {rounds:6d} {stat['fewer']:6d} {stat['equal']:6d} "
                  f"{stat['more']:5d} {stat['saved']:6d} {stat['t_orders']:9.2f} "
                  f"{stat['t_rounds']:9.2f}")
    for problem, w in wins.items():
        print(f"  wins with 10 rounds, {problem}: " + ", ".join(w))


# ---------------------------------------------------------------- (6) networkx


def networkx_section(directory, ref, quick):
    """The CLI's ``--compare networkx`` runs (:class:`sparsead._networkx.NetworkXRuns`), summed."""
    load = Loader(directory)
    runs = NetworkXRuns(budget=np.inf)
    orders = ("natural", "largest_first", "smallest_last")
    t_nx = collections.Counter()
    t_us = collections.Counter()
    t_build = 0.0
    names = sorted({r["matrix"] for r in ref if r["problem"] == "distance1"
                    and (not quick or r["matrix"] in QUICK)})
    for nm in names:
        pattern = load(nm, "distance1")
        g = build_graph(pattern, "distance1")
        for o in orders:
            _, seconds, build = runs.run(nm, pattern, "distance1", o, 0)
            t_nx[o] += seconds
            t_build += build if o == orders[0] else 0.0
            t_us[o] += min(ours(g, "distance1", o)[0] for _ in range(3))
    print(f"\n(6) distance-1 coloring vs networkx.greedy_color on the same graphs ({len(names)} "
          f"matrices; networkx builds its graphs in {t_build:.2f} s more, not included)")
    for o in orders:
        print(f"  {o:14s} networkx {t_nx[o]:8.3f} s   ours {t_us[o]:8.4f} s   "
              f"speed-up {t_nx[o] / t_us[o]:7.0f}x")


# ---------------------------------------------------------------- (7) compile

_COMPILE_SNIPPET = r"""
import time, numpy as np, scipy.sparse as sp
t0 = time.perf_counter(); import sparsead as sa; t_imp = time.perf_counter() - t0
P = sa.patterns.laplacian((4, 4)); A = sp.random_array((5, 7), density=0.4, rng=0, format="csr")
out = []
for prob, pat, kw in [("column", A, {}), ("row", A, {}), ("distance1", P, {}), ("distance2", P, {}),
                      ("star", P, {}), ("acyclic", P, {}), ("bidirectional", A, {}),
                      ("bidirectional", A, {"method": "acyclic"})]:
    for order in ("natural", "largest_first", "smallest_last"):
        t0 = time.perf_counter(); c = sa.color(pat, prob, order, **kw)
        if prob != "distance1": c.decompress(c.compress(pat))
        out.append((prob + ("/" + kw["method"] if kw else "") + ":" + order, time.perf_counter() - t0))
print(repr((t_imp, out)))
"""


def compile_times():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d, SPARSEAD_CACHE_DIR=d)
        runs = []
        for _ in range(2):  # cold (compile), then warm (load from the cache)
            r = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env,
                               capture_output=True, text=True, check=True)
            runs.append(eval(r.stdout.strip().splitlines()[-1]))  # noqa: S307 - our own output
    (imp_cold, cold), (imp_warm, warm) = runs
    print("\n(7) first-call time per problem (tiny input; includes decompression plan kernels)")
    print(f"  {'problem:order':34s} {'compile (empty cache)':>22s} {'cache load':>11s}")
    for (name, tc), (_, tw) in zip(cold, warm):
        if tc > 0.05 or tw > 0.05:
            print(f"  {name:34s} {tc:22.2f} {tw:11.3f}")
    print(f"  total compile {sum(t for _, t in cold):.1f} s, total warm first calls "
          f"{sum(t for _, t in warm):.2f} s (import sparsead: {imp_cold:.2f} s cold, "
          f"{imp_warm:.2f} s warm)")


SECTIONS = ("colors", "times", "large", "bicolor", "improve", "networkx", "compile")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default=DEFAULT_DIR)
    ap.add_argument("--quick", action="store_true",
                    help="ten reference matrices, generated patterns 4x smaller per dimension")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved timing repeats (median)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--clock", choices=tuple(TIMERS), default="cpu",
                    help="process CPU time (default) or wall time, on both sides")
    ap.add_argument("--problems", type=lambda t: t.split(","), default=None,
                    help="times/large: only these problems (comma-separated)")
    ap.add_argument("--orders", type=lambda t: t.split(","), default=None,
                    help="times/large: only these orders (comma-separated)")
    ap.add_argument("--only", default=None, metavar="REGEX",
                    help="times/large: only matrices or patterns whose name matches REGEX")
    args = ap.parse_args(argv)
    CLOCK["name"] = args.clock
    sections = args.sections.split(",")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    ref = read_reference(os.path.join(args.matrices, "colpack_colors.csv"))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; "
          f"{os.cpu_count()} cores; {args.clock} time")
    for problem in PROBLEMS:
        pat = pt.laplacian((4, 4)) if problem in SYMMETRIC else pt.random_pattern(6, 5, 0.4, seed=0)
        for order in SHORT:
            sa.color(pat, problem, order)    # warm every kernel before timing anything
    colpack = ColPack()
    if not colpack.available:
        print("note: " + colpack.reason)
    try:
        if "colors" in sections:
            colors_table(args.matrices, ref, args.quick)
        if "times" in sections:
            reference_times(args.matrices, ref, colpack, args.repeats, args.quick, args)
        if "large" in sections:
            large(colpack, args.repeats, args.quick, args)
        if "bicolor" in sections:
            bicolor(args.matrices, ref, colpack, args.quick)
        if "improve" in sections:
            improve(args.matrices, ref, args.quick)
        if "networkx" in sections:
            networkx_section(args.matrices, ref, args.quick)
        if "compile" in sections:
            compile_times()
    finally:
        colpack.close()
        shutil.rmtree(colpack.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
