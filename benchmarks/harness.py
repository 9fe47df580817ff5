"""Benchmark harness: sparsead and its peers, each (tool, problem) in its own fresh process.

Usage::

    python benchmarks/harness.py                         # the standard problems, 3 rounds
    python benchmarks/harness.py --quick --repeats 1     # small sizes, one round
    python benchmarks/harness.py --problems brusselator:128,broyden:1e6 --tools sparsead,asdex \\
        --repeats 5 --markdown --json out.json
    python benchmarks/harness.py --report out.json --markdown      # the tables of a saved run
    python benchmarks/harness.py --worker sparsead brusselator 32   # one measurement, as JSON
    python benchmarks/harness.py --worker sparsead broyden 1e6 --oneoff --profile  # cProfile

Why processes: JAX loaded into a process slows the numpy work in it 2-3x, so tools
measured side by side in one process are not comparable. Every measurement here is
a fresh ``python harness.py --worker TOOL PROBLEM SIZE`` that prints one JSON line.
The parent runs every (tool, problem) once per round, rotating the tools' order
from round to round so load drifts hit every tool alike, and reports the median
over rounds with the spread (min-max), the load average before and after each
round, and the machine. The tools and problems come from ``peers.py``.

Figures per tool and problem:

* ``detect``, ``color``: the tool's own phases where it reports them; ``prepare``:
  from the imported tool to a callable operator; ``first``: the first evaluation
  (includes JAX's compilation);
* ``import``: importing the tool in the fresh process; ``one-off``: import + prepare
  + first call, sparsead with a warm kernel cache (a warm-up pass fills it);
  ``empty cache``: the same for sparsead in its own process with a fresh, empty
  ``SPARSEAD_CACHE_DIR`` (lane kernels compiled; the library's own Numba kernels
  still come from Numba's cache). The peers keep no cache between processes;
* ``eval``: median of many calls in the process (``--stat min``: the fastest call,
  which a loaded machine's preemptions, ~4 ms slices, do not inflate), each
  returning a scipy CSR matrix with sorted indices; ``out=``: evaluation into an
  existing matrix (sparsead's ``out=``; CasADi and sparsejac: their values permuted
  into ``out.data``); ``lanes``: the compressed product alone (sparsead's
  ``compressed(x)``, asdex's ``compressed_*_from_coloring`` jitted); ``x f``: eval /
  one numpy ``f(x)`` (measured in every worker before the tool is imported);
* ``/ best peer``: eval over the fastest peer's eval (any peer); preparation and
  one-off over the best of the peers that find their own pattern (asdex, CasADi):
  sparsejac and FD are handed sparsead's;
* ``/ bound``: eval over the time to write sparsead's compressed block (m x p
  float64) and ``J.data`` (nnz float64) once at the copy bandwidth, measured in the
  same run (``np.copyto`` of 256 MB in its own process; bytes copied per second);
* ``RSS``: the worker's peak resident memory; ``max rel diff``: max |J - J_sparsead|
  / max |J_sparsead|, every tool's matrix saved once and compared in the parent.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import importlib.metadata
import json
import os
import platform
import pstats
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402

TOOLS = ("sparsead", "asdex", "sparsejac", "casadi", "fd")
PEERS = TOOLS[1:]
SELF_DETECTING = ("asdex", "casadi")    # peers that find their own pattern
MARK = "HARNESS-JSON "                  # prefix of the worker's result line
VERSIONS = ("numpy", "scipy", "numba", "jax", "jaxlib", "asdex", "sparsejac", "casadi")


# --- the worker: one (tool, problem) in this process -----------------------------------

def _csr_canonical(J):
    """A canonical copy of a scipy sparse matrix: csr_array, duplicates summed, indices sorted."""
    C = sp.csr_array(J, copy=True)
    C.sum_duplicates()
    C.sort_indices()
    return C


def _save(path, J):
    np.savez(path, data=J.data, indices=J.indices, indptr=J.indptr, shape=np.array(J.shape))


def _load(path):
    with np.load(path) as z:
        return sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))


def _n_values(B):
    """Float64 values in a compressed product (an array, or a tuple of them)."""
    blocks = B if isinstance(B, tuple) else (B,)
    return int(sum(np.size(b) for b in blocks))


def worker(tool, name, size, opts):
    """Measure ``tool`` on problem (``name``, ``size``) in this process; a JSON-able dict."""
    t0 = time.perf_counter()
    problem = peers.make_problem(name, size)
    res = {"tool": tool, "problem": name, "size": size, "label": problem.label,
           "kind": problem.kind, "n": int(problem.x0.size), "oneoff": bool(opts.oneoff),
           "build": time.perf_counter() - t0}
    budget = (opts.calls, opts.min_seconds, opts.max_seconds)

    def measure(key, fn):
        times = peers.call_times(fn, *budget)
        res[key], res[f"{key}_min"] = float(np.median(times)), float(times.min())

    if not opts.oneoff:
        measure("f", lambda: problem.f(problem.x0))
    pattern = _load(opts.pattern).astype(bool) if opts.pattern else None
    t = time.perf_counter()
    for module in peers.modules(tool, problem.kind):
        importlib.import_module(module)
    res["import"] = time.perf_counter() - t
    kwargs = {}
    if tool == "sparsead":
        kwargs = {k: getattr(opts, k) for k in ("backend", "decompression", "mode")
                  if getattr(opts, k)}
    profiler = cProfile.Profile() if opts.profile else None
    t = time.perf_counter()
    try:
        if profiler:
            profiler.enable()
        prep = peers.PREPARE[tool](problem, pattern, **kwargs)
    except peers.Skip as exc:
        res["skipped"] = str(exc)
        return res
    finally:
        if profiler:
            profiler.disable()
    res["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    J = prep.evaluate()
    res["first"] = time.perf_counter() - t
    res["one_off"] = res["import"] + res["prepare"] + res["first"]
    res.update(detect=prep.detect, color=prep.color, colors=prep.colors, info=prep.info,
               m=int(J.shape[0]), nnz=int(J.nnz))
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(opts.profile)
    if not opts.oneoff:
        measure("eval", prep.evaluate)
        if prep.evaluate_into is not None:
            out = prep.evaluate()
            measure("eval_out", lambda: prep.evaluate_into(out))
        if prep.lanes is not None:
            res["lanes_size"] = _n_values(prep.lanes())
            measure("lanes", prep.lanes)
        if prep.native is not None:
            measure("native", prep.native)
    if opts.save:
        _save(opts.save, _csr_canonical(J))
    res["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def bandwidth_worker(megabytes):
    """Copy bandwidth of this machine: bytes copied per second by a large ``np.copyto``."""
    a = np.random.default_rng(0).random(int(megabytes) * 2 ** 20 // 8)
    b = np.empty_like(a)
    np.copyto(b, a)
    t = peers.median_time(lambda: np.copyto(b, a), 10, 0.0, 30.0)
    return {"bandwidth": a.nbytes / t, "bytes": int(a.nbytes), "seconds": t}


# --- the parent: rounds of workers -----------------------------------------------------

def run_worker(argv, timeout, env=None):
    """Run ``harness.py *argv`` in a fresh process: its JSON, ``status`` and wall ``process`` s."""
    cmd = [sys.executable, os.path.abspath(__file__), *argv]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)     # the worker's own process group
        proc.communicate()
        return {"status": "timeout", "error": f"exceeded the {timeout:g} s timeout"}
    wall = time.perf_counter() - t
    lines = [ln for ln in out.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        tail = [ln for ln in err.splitlines() if ln.strip()]
        return {"status": "failed",
                "error": tail[-1][:300] if tail else f"exit status {proc.returncode}"}
    res = json.loads(lines[-1][len(MARK):])
    res["status"] = "skipped" if "skipped" in res else "ok"
    res["process"] = wall
    return res


def machine_info():
    """CPU, cores, memory, Python and the versions of the measured packages (nothing imported)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        mem = None
    versions = {}
    for pkg in VERSIONS:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    spec = importlib.util.find_spec("sparsead")
    where = os.path.dirname(list(spec.submodule_search_locations)[0]) if spec else None
    commit = None
    if where:
        git = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True)
        commit = git.stdout.strip() or None
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu, "cores": os.cpu_count(),
            "usable_cores": usable, "memory_gb": mem, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions, "sparsead_path": where,
            "sparsead_commit": commit}


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _worker_argv(tool, name, size, args, extra=()):
    argv = ["--worker", tool, name, str(size), "--calls", str(args.calls),
            "--min-seconds", str(args.min_seconds), "--max-seconds", str(args.max_seconds)]
    if tool == "sparsead":
        for key in ("backend", "decompression", "mode"):
            if getattr(args, key):
                argv += [f"--{key}", getattr(args, key)]
    return argv + list(extra)


def _brief(res):
    if res["status"] != "ok":
        return f"{res['status']}: {res.get('skipped') or res.get('error')}"
    parts = [f"{k} {res[k] * 1e3:.3g} ms" for k in ("eval", "lanes") if res.get(k) is not None]
    parts.append(f"prepare {res['prepare']:.3g} s, one-off {res['one_off']:.3g} s")
    return ", ".join(parts) + f" [{res['process']:.1f} s wall]"


def run_rounds(problems, tools, args, tmp):
    """Warm-up, then ``args.repeats`` interleaved rounds; returns (runs, rounds, files)."""
    runs, rounds, files, dead = [], [], {}, {}
    pattern_of = {}
    if any(t in tools for t in ("sparsead", "sparsejac", "fd")):
        _log("# warm-up: sparsead once per problem (fills the kernel cache, gives the pattern)")
        for name, size in problems:
            path = os.path.join(tmp, f"sparsead_{name}_{size}.npz")
            res = run_worker(_worker_argv("sparsead", name, size, args,
                                          ["--oneoff", "--save", path]), args.timeout)
            res.update(tool="sparsead", problem=name, size=size, round=None, phase="warm-up")
            runs.append(res)
            _log(f"  {name} {size}: {_brief(res)}")
            if res["status"] == "ok":
                pattern_of[(name, size)] = path
                files[("sparsead", name, size)] = path
    for r in range(args.repeats):
        before, started = os.getloadavg(), time.time()
        _log(f"# round {r + 1}/{args.repeats}, load average {before[0]:.2f} {before[1]:.2f} "
             f"{before[2]:.2f}")
        bw = run_worker(["--worker-bandwidth", str(args.bandwidth_mb)], args.timeout)
        bw.update(tool="bandwidth", round=r)
        runs.append(bw)
        k = r % len(tools)
        order = tools[k:] + tools[:k]
        for name, size in problems:
            for tool in order:
                key = (tool, name, size)
                if key in dead:
                    continue
                extra = []
                if tool in ("sparsejac", "fd") and (name, size) in pattern_of:
                    extra += ["--pattern", pattern_of[(name, size)]]
                if key not in files and tool != "sparsead":
                    path = os.path.join(tmp, f"{tool}_{name}_{size}.npz")
                    extra += ["--save", path]
                res = run_worker(_worker_argv(tool, name, size, args, extra), args.timeout)
                res.update(tool=tool, problem=name, size=size, round=r, phase="warm")
                runs.append(res)
                if res["status"] == "ok" and "--save" in extra:
                    files[key] = extra[extra.index("--save") + 1]
                if res["status"] != "ok":
                    dead[key] = res       # skipped, failed or timed out: not retried
                _log(f"  {name} {size} {tool}: {_brief(res)}")
            if "sparsead" in tools and not args.no_cold and ("sparsead", name, size) not in dead:
                with tempfile.TemporaryDirectory(dir=tmp) as cache:
                    env = dict(os.environ, SPARSEAD_CACHE_DIR=cache)
                    res = run_worker(_worker_argv("sparsead", name, size, args, ["--oneoff"]),
                                     args.timeout, env)
                res.update(tool="sparsead", problem=name, size=size, round=r, phase="cold")
                runs.append(res)
                _log(f"  {name} {size} sparsead, empty cache: {_brief(res)}")
        after = os.getloadavg()
        rounds.append({"round": r + 1, "started": time.strftime("%H:%M:%S",
                                                                time.localtime(started)),
                       "load_before": before, "load_after": after,
                       "seconds": time.time() - started,
                       "bandwidth": bw.get("bandwidth") if bw["status"] == "ok" else None})
    return runs, rounds, files


# --- summaries -------------------------------------------------------------------------

IN_PROCESS = ("f", "eval", "eval_out", "lanes", "native")     # each also as KEY_min
METRICS = IN_PROCESS + tuple(f"{k}_min" for k in IN_PROCESS) + (
    "detect", "color", "prepare", "first", "import", "one_off", "rss_mb", "lanes_size", "n", "nnz",
    "colors")


def _stat(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def max_rel_diff(ref_path, path):
    """max |J - J_ref| / max |J_ref| (absolute if J_ref is zero); None if the shapes differ."""
    A, B = _load(ref_path), _load(path)
    if A.shape != B.shape:
        return None
    D = sp.csr_array(A - B)
    scale = float(np.abs(A.data).max(initial=0.0)) or 1.0
    return float(np.abs(D.data).max(initial=0.0)) / scale


def summarise(runs, files, problems, tools):
    """Per (problem, tool): status, statistics of every metric over the rounds, ratios."""
    bws = [r["bandwidth"] for r in runs if r.get("tool") == "bandwidth" and r["status"] == "ok"]
    bandwidth = statistics.median(bws) if bws else None
    table = []
    for name, size in problems:
        rows = {}
        for tool in tools:
            mine = [r for r in runs if r.get("tool") == tool and r.get("problem") == name
                    and r.get("size") == size]
            warm = [r for r in mine if r.get("phase") == "warm"]
            ok = [r for r in warm if r["status"] == "ok"]
            bad = [r for r in warm if r["status"] != "ok"]
            cold = [r for r in mine if r.get("phase") == "cold" and r["status"] == "ok"]
            row = {"problem": name, "size": size, "tool": tool,
                   "status": "ok" if ok else (bad[0]["status"] if bad else "not run"),
                   "note": (bad[0].get("skipped") or bad[0].get("error")) if bad else None,
                   "rounds": len(ok)}
            for m in METRICS:
                row[m] = _stat([r.get(m) for r in ok])
            row["one_off_cold"] = _stat([r.get("one_off") for r in cold])
            if ok:
                row["label"] = ok[0]["label"]
                row["info"] = ok[0].get("info") or {}
            rows[tool] = row
        ref = files.get(("sparsead", name, size))
        for tool, row in rows.items():
            path = files.get((tool, name, size))
            row["max_rel_diff"] = max_rel_diff(ref, path) if ref and path else None
        _ratios(rows, bandwidth)
        table.extend(rows.values())
    return {"bandwidth": bandwidth, "rows": table}


def _med(row, key):
    s = row.get(key)
    return s["median"] if s else None


def _ratios(rows, bandwidth):
    """Fill ``vs_peer_KEY`` (eval, eval_min, prepare, one_off) and ``vs_bound[_min]`` per row."""
    ok = {t: r for t, r in rows.items() if r["status"] == "ok"}

    def best(key, among):
        vals = [_med(ok[t], key) for t in among if t in ok and _med(ok[t], key) is not None]
        return min(vals) if vals else None

    ours = ok.get("sparsead")
    bound = None
    if ours and bandwidth and _med(ours, "lanes_size") is not None:
        bound = (_med(ours, "lanes_size") + _med(ours, "nnz")) * 8 / bandwidth
    for key, among in (("eval", PEERS), ("eval_min", PEERS), ("prepare", SELF_DETECTING),
                       ("one_off", SELF_DETECTING)):
        top = best(key, among)
        for row in rows.values():
            v = _med(row, key)
            row[f"vs_peer_{key}"] = v / top if v and top else None
    for row in rows.values():
        row["bound"] = bound
        for key in ("eval", "eval_min"):
            v = _med(row, key)
            row[key.replace("eval", "vs_bound")] = v / bound if v and bound else None


# --- tables ----------------------------------------------------------------------------

def _num(v):
    """Three significant digits without exponents (1234 -> '1234', 0.000812 -> '0.000812')."""
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _int(v):
    return "-" if v is None else f"{v:.0f}"


def _cell(stat, scale=1.0, spread=False):
    if stat is None:
        return "-"
    text = _num(stat["median"] * scale)
    if spread and stat["n"] > 1 and stat["max"] > stat["min"]:
        text += f" ({_num(stat['min'] * scale)}-{_num(stat['max'] * scale)})"
    return text


def _ratio(v):
    return "-" if v is None else f"{_num(v)}x"


def render(headers, rows, markdown):
    """A table as markdown (``| a | b |``) or as aligned plain text."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _label(row):
    return row.get("label") or peers.Problem(row["problem"], row["size"], "", None, None).label


def tables(summary, markdown, stat="median"):
    """The problem, evaluation and preparation tables (strings), and the list of tools not measured.

    ``stat``: the in-process statistic of f, eval, out= and lanes: the median call
    (``"median"``) or the fastest (``"min"``; robust to a loaded machine's preemptions).
    """
    rows = summary["rows"]
    ok = [r for r in rows if r["status"] == "ok"]
    k = "" if stat == "median" else "_min"
    problems = []
    for r in ok:
        if r["tool"] != "sparsead":
            continue
        info = r.get("info") or {}
        problems.append([_label(r), _int(_med(r, "n")), _int(_med(r, "nnz")),
                         f"{_int(_med(r, 'colors'))} ({info.get('mode', '?')}, "
                         f"{info.get('backend', '?')})",
                         _cell(r.get("f" + k), 1e3),
                         _num(r["bound"] * 1e3 if r["bound"] else None)])
    t_problems = render(["problem", "n", "nnz", "sparsead colors", "f(x) ms", "bound ms"],
                        problems, markdown)
    evals = [[_label(r), r["tool"], _cell(r.get("eval" + k), 1e3, True),
              _cell(r.get("eval_out" + k), 1e3), _cell(r.get("lanes" + k), 1e3),
              _ratio(_med(r, "eval" + k) / _med(r, "f" + k) if _med(r, "f" + k) else None),
              _ratio(r.get("vs_peer_eval" + k)), _ratio(r.get("vs_bound" + k)),
              "-" if r["max_rel_diff"] is None else f"{r['max_rel_diff']:.1e}"] for r in ok]
    t_eval = render(["problem", "tool", "eval -> CSR ms", "out= ms", "lanes ms", "x f",
                     "/ best peer", "/ bound", "max rel diff"], evals, markdown)
    preps = [[_label(r), r["tool"], _cell(r["detect"]), _cell(r["color"]),
              _cell(r["prepare"], spread=True), _cell(r["first"]), _cell(r["import"]),
              _cell(r["one_off"], spread=True), _cell(r["one_off_cold"]), _cell(r["rss_mb"]),
              _ratio(r["vs_peer_prepare"]), _ratio(r["vs_peer_one_off"])] for r in ok]
    t_prep = render(["problem", "tool", "detect s", "color s", "prepare s", "first s", "import s",
                     "one-off s", "empty cache s", "RSS MB", "prep / best", "one-off / best"],
                    preps, markdown)
    missing = [f"{_label(r)} {r['tool']}: {r['status']}" + (f" ({r['note']})" if r["note"] else "")
               for r in rows if r["status"] != "ok"]
    return t_problems, t_eval, t_prep, missing


def report(result, markdown, stat="median"):
    """Print the machine, the rounds and the three tables."""
    info = result["machine"]
    ver = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    bw = result["summary"]["bandwidth"]
    print(f"# sparsead benchmark harness, {info['date']}: {result['command']}")
    print(f"# {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
          f"{_num(info['memory_gb'])} GB; python {info['python']}; {ver}; "
          f"sparsead {info['sparsead_commit'] or '?'} at {info['sparsead_path']}")
    print(f"# copy bandwidth {_num(bw / 1e9) if bw else '-'} GB/s (median over rounds); "
          "each (tool, problem) in its own process; medians over rounds, (min-max) where they "
          f"differ; in-process times (f, eval, out=, lanes): the {stat} call\n")
    rounds = [[str(r["round"]), r["started"], " ".join(f"{v:.2f}" for v in r["load_before"]),
               " ".join(f"{v:.2f}" for v in r["load_after"]), _num(r["seconds"]),
               _num(r["bandwidth"] / 1e9) if r["bandwidth"] else "-"]
              for r in result["rounds"]]
    print(render(["round", "started", "load before (1/5/15 min)", "load after", "seconds",
                  "GB/s"], rounds, markdown))
    t_problems, t_eval, t_prep, missing = tables(result["summary"], markdown, stat)
    for title, text in (("Problems", t_problems), ("Evaluation", t_eval),
                        ("Preparation and one-off cost", t_prep)):
        print(f"\n{'### ' if markdown else '## '}{title}\n")
        print(text)
    if missing:
        print("\nNot measured:\n" + "\n".join(f"- {m}" for m in missing))


# --- command line ----------------------------------------------------------------------

def _problem_list(text):
    known = ("brusselator", "broyden", "minimal_surface", "arwhead", "rosenbrock")
    out = []
    for item in text.split(","):
        name, _, size = item.strip().partition(":")
        if name not in known or not size:
            raise SystemExit(f"--problems: {item!r} is not NAME:SIZE with NAME in {known}")
        out.append((name, int(float(size))))
    return out


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", help="comma list NAME:SIZE, e.g. brusselator:128,broyden:1e6")
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma list from {TOOLS}")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    ap.add_argument("--backend", default=None, help="sparsead's backend (default: its default)")
    ap.add_argument("--decompression", choices=("direct", "substitution"), default=None,
                    help="sparsead's Hessian decompression (default: its default)")
    ap.add_argument("--mode", choices=("auto", "forward", "reverse", "bidirectional"),
                    default=None, help="sparsead's Jacobian lanes (default: its default)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per worker (300)")
    ap.add_argument("--no-cold", action="store_true", help="skip the empty-cache one-off runs")
    ap.add_argument("--json", default=None, help="write runs and summary to this JSON file")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables")
    ap.add_argument("--report", metavar="JSON", help="print the tables of a saved --json run")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="in-process statistic shown: median call (default) or fastest call")
    ap.add_argument("--calls", type=int, default=20, help="calls per in-process median (20)")
    ap.add_argument("--min-seconds", type=float, default=0.2, help="per in-process median")
    ap.add_argument("--max-seconds", type=float, default=3.0, help="per in-process median")
    ap.add_argument("--bandwidth-mb", type=int, default=256, help="copy size for the bandwidth")
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "PROBLEM", "SIZE"),
                    help="measure one (tool, problem) in this process and print JSON")
    ap.add_argument("--worker-bandwidth", type=int, metavar="MB", help="measure copy bandwidth")
    ap.add_argument("--oneoff", action="store_true", help="worker: import + prepare + first only")
    ap.add_argument("--save", help="worker: save the matrix (canonical CSR) to this .npz")
    ap.add_argument("--pattern", help="worker: sparsead's matrix .npz, the pattern for peers")
    ap.add_argument("--profile", type=int, nargs="?", const=30, default=0, metavar="N",
                    help="worker: cProfile the preparation, print the top N to stderr")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.worker_bandwidth:
        print(MARK + json.dumps(bandwidth_worker(args.worker_bandwidth)))
        return
    if args.worker:
        tool, name, size = args.worker
        if tool not in TOOLS:
            raise SystemExit(f"--worker: unknown tool {tool!r}; choose from {TOOLS}")
        print(MARK + json.dumps(worker(tool, name, int(float(size)), args)))
        return
    if args.report:
        with open(args.report) as fh:
            report(json.load(fh), args.markdown, args.stat)
        return
    problems = _problem_list(args.problems) if args.problems else (
        peers.QUICK_PROBLEMS if args.quick else peers.STANDARD_PROBLEMS)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = [t for t in tools if t not in TOOLS]
    if unknown or not tools:
        raise SystemExit(f"--tools: unknown {unknown}; choose from {TOOLS}")
    for t in [t for t in tools if not peers.installed(t)]:
        from sparsead._extras import install_hint
        _log(f"# {t}: not installed, skipped ({install_hint('bench')})")
        tools.remove(t)
    result = {"command": "python benchmarks/harness.py " + " ".join(sys.argv[1:] if argv is None
                                                                    else argv),
              "machine": machine_info()}
    tmp = tempfile.mkdtemp(prefix="sparsead-harness-")
    try:
        runs, rounds, files = run_rounds(problems, tools, args, tmp)
        result.update(rounds=rounds, runs=runs,
                      summary=summarise(runs, files, problems, tools))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(result, args.markdown, args.stat)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
