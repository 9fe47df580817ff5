"""Command line: ``sparsead color | bench | show | generate`` (also ``python -m sparsead``).

A thin client of the public API. Files are read by :func:`sparsead._io.read_matrix`,
colored by :func:`sparsead.color`, checked by :func:`sparsead.is_valid_coloring`
and drawn by :mod:`sparsead.plot`; this module only parses arguments, prepares
the pattern the way ColPack's driver sees a file, times the calls and formats
the results. User errors (missing or malformed file, unknown problem or order,
a rectangular matrix given to a symmetric problem) end with one line on stderr
and exit code 2; anything unexpected with exit code 1; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import __version__
from ._errors import SparseadError
from ._io import COLPACK_PROBLEMS, read_matrix, read_reference
from ._networkx import NETWORKX_EDGE_BUDGET, NetworkXRuns
from ._validation.options import image_size, int_in

#: Problems colored on the adjacency graph of a square pattern (ColPack uses A + Aᵀ).
ADJACENCY_PROBLEMS = ("distance1", "distance2", "star", "acyclic")
#: Orders of the default ``bench`` grid.
DEFAULT_ORDERS = ("natural", "largest_first", "smallest_last")
#: File suffixes ``bench`` picks up in a directory.
MATRIX_SUFFIXES = (".mtx", ".mtx.gz", ".npz")

#: Bounds of the numeric options (checked while parsing: one-line error, exit code 2).
MAX_REPEAT = 10_000
REPEAT_BUDGET = 60.0   # seconds of repeated runs per coloring; fewer runs if exceeded
DPI_RANGE = (10, 1000)


class UserError(Exception):
    """A mistake in the command line or its input: one line on stderr, exit code 2."""


# --------------------------------------------------------------------------- helpers

def _api():
    """The coloring API: the ``sparsead`` package with ``color`` and ``is_valid_coloring``."""
    import sparsead

    if not hasattr(sparsead, "color"):
        raise RuntimeError("this build of sparsead has no coloring engine (sparsead.color)")
    return sparsead


def _names():
    """``(PROBLEMS, ORDERS)`` as the coloring engine declares them."""
    _api()
    from .coloring import ORDERS, PROBLEMS

    return tuple(PROBLEMS), tuple(ORDERS)


def _choice(name, allowed, what):
    """Validate one problem or order name before any work is done."""
    if name not in allowed:
        raise UserError(f"unknown {what} {name!r}; choose from {', '.join(allowed)}")
    return name


def _choice_list(text, allowed, what):
    """Parse a comma list of names (or ``all``) into a validated tuple."""
    if text.strip() == "all":
        return tuple(allowed)
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise UserError(f"empty list of {what}s")
    return tuple(_choice(t, allowed, what) for t in names)


def _stem(path) -> str:
    """Matrix name of a file: its name without ``.mtx``, ``.mtx.gz`` or ``.npz``."""
    name = Path(path).name
    for suffix in (".gz", ".mtx", ".npz"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _repo_root():
    """The repository holding the (editable) package, or None for a plain install."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _keeps_zeros(problem, zeros) -> bool:
    """ColPack's convention unless overridden: adjacency problems keep stored zeros."""
    if zeros == "auto":
        return problem in ADJACENCY_PROBLEMS
    return zeros == "keep"


class _Patterns:
    """The patterns of one matrix the problems are colored on, built once each.

    Column, row and bidirectional problems see the pattern of ``A``; the
    adjacency problems on a square matrix see the pattern of ``A + Aᵀ`` (equal
    to ``A``'s when it is structurally symmetric), as ColPack's driver does.
    Stored zeros are kept or dropped per :func:`_keeps_zeros`.
    """

    def __init__(self, a, zeros="auto"):
        self.a = a
        self.zeros = zeros
        self._cache = {}
        self.symmetrized = False

    def __call__(self, problem):
        keep = _keeps_zeros(problem, self.zeros)
        sym = problem in ADJACENCY_PROBLEMS and self.a.shape[0] == self.a.shape[1]
        key = (keep, sym)
        if key not in self._cache:
            a = self.a
            if not keep and a.nnz and not a.data.all():
                a = a.copy()
                a.eliminate_zeros()
            p = sp.csr_array((np.ones(a.nnz, dtype=bool), a.indices, a.indptr), shape=a.shape)
            if sym and (p != p.T).nnz:
                p = sp.csr_array(p + p.T)
                p.sort_indices()
                self.symmetrized = True
            self._cache[key] = p
        return self._cache[key]


def _color_timed(sa, pattern, problem, order, seed, repeat):
    """Color up to ``repeat`` times (at most :data:`REPEAT_BUDGET` seconds in all, at
    least once); return the last coloring, the median seconds and the runs made."""
    times = []
    coloring = None
    start = time.perf_counter()
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        coloring = sa.color(pattern, problem=problem, order=order, seed=seed)
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > REPEAT_BUDGET:
            break
    return coloring, statistics.median(times), len(times)


def _checker_colors(coloring, problem):
    """The colors in the form :func:`sparsead.is_valid_coloring` takes."""
    if problem == "bidirectional":
        return (coloring.column_colors, coloring.row_colors)
    return coloring.colors


def _warm_up(sa, pairs, seed):
    """Color a tiny pattern once per (problem, order) so compile time is not timed.

    Returns the seconds spent and ``{(problem, order): message}`` for the
    combinations the engine refuses (they are skipped by ``bench``).
    """
    from .patterns import laplacian

    tiny = laplacian((3, 3))
    refused = {}
    t0 = time.perf_counter()
    for problem, order in pairs:
        try:
            sa.color(tiny, problem=problem, order=order, seed=seed)
        except SparseadError as exc:
            refused[(problem, order)] = str(exc)
    return time.perf_counter() - t0, refused


def _fmt_seconds(s) -> str:
    if s is None:
        return "-"
    return f"{s * 1e3:.3f}"


def _table(headers, rows, right=None) -> str:
    """Plain text table; columns listed in ``right`` (or numeric ones) are right-aligned."""
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = set(right or ())
    lines = []
    for k, r in enumerate(cells):
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class _Progress:
    """The progress line of long runs: a ``tqdm`` bar on stderr, never on stdout.

    tqdm shows it only when stderr is a terminal (``disable=None``) and only
    after half a second (``delay``), so quick runs, pipes and CI logs stay
    silent; ``enabled=False`` (``--no-progress``) silences it everywhere.
    ``update`` takes the number of items done so far and a note.
    """

    def __init__(self, total, label, enabled=True, stream=None):
        self.done = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm  # imported only by the commands that report progress

            self.bar = tqdm(total=total, desc=label, file=stream or sys.stderr, disable=None,
                            delay=0.5, leave=False, dynamic_ncols=True)

    def update(self, done, note=""):
        if self.bar is not None:
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(done - self.done)
        self.done = done

    def close(self):
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- color

def _cmd_color(args) -> int:
    sa = _api()
    problems, orders = _names()
    problem = _choice(args.problem, problems, "problem")
    order = _choice(args.order, orders, "order")
    if args.output and not args.output.lower().endswith((".txt", ".npy", ".json")):
        raise UserError(f"--output must end in .txt, .npy or .json, got {args.output!r}")
    a = read_matrix(args.file)
    pats = _Patterns(a, args.zeros)
    pattern = pats(problem)
    warm, refused = _warm_up(sa, [(problem, order)], args.seed)
    if refused:
        raise UserError(refused[(problem, order)])
    coloring, seconds, runs = _color_timed(sa, pattern, problem, order, args.seed, args.repeat)
    out = [
        f"matrix: {_stem(args.file)} ({a.shape[0]} x {a.shape[1]}, {a.nnz} stored entries; "
        f"colored pattern nnz {pattern.nnz})",
        f"problem: {problem}",
        f"order: {order}",
        f"colors: {coloring.n_colors}",
    ]
    if problem == "bidirectional":
        cc, rc = coloring.column_colors, coloring.row_colors
        out.append(f"column colors: {len(np.unique(cc[cc >= 0]))}, "
                   f"row colors: {len(np.unique(rc[rc >= 0]))}")
    budget = f", stopped after {REPEAT_BUDGET:.0f} s" if runs < args.repeat else ""
    out.append(f"time: {seconds:.6f} s (ordering + coloring, median of {runs}{budget}; "
               f"warm-up {warm:.2f} s excluded)")
    valid = None
    if not args.no_validate:
        valid = bool(sa.is_valid_coloring(pattern, _checker_colors(coloring, problem), problem))
        out.append(f"valid: {'yes' if valid else 'NO'} (independent checker)")
    if pats.symmetrized:
        out.append("note: the pattern is not symmetric; colored the pattern of A + A^T "
                   "(as ColPack does for adjacency problems)")
    if args.output:
        _write_colors(args.output, coloring, problem, order, args.file)
        out.append(f"written: {args.output}")
    print("\n".join(out))
    if valid is False:
        print("sparsead: error: the coloring failed the independent check", file=sys.stderr)
        return 1
    return 0


def _write_colors(path, coloring, problem, order, source):
    """Write colors as ``.txt`` (one per line), ``.npy`` or ``.json``.

    For ``bidirectional`` the text and ``.npy`` forms hold ``coloring.colors``
    (column colors then row colors, -1 = neutral); JSON also has both parts.
    """
    colors = np.asarray(coloring.colors, dtype=np.int64)
    lower = path.lower()
    if lower.endswith(".npy"):
        np.save(path, colors)
    elif lower.endswith(".json"):
        doc = {"matrix": _stem(source), "problem": problem, "order": order,
               "n_colors": int(coloring.n_colors), "colors": colors.tolist()}
        if problem == "bidirectional":
            doc["column_colors"] = np.asarray(coloring.column_colors).tolist()
            doc["row_colors"] = np.asarray(coloring.row_colors).tolist()
        with open(path, "w") as fh:
            json.dump(doc, fh)
            fh.write("\n")
    else:
        header = f"sparsead {problem} coloring of {_stem(source)}, order {order}, " \
                 f"{coloring.n_colors} colors (0-based)"
        np.savetxt(path, colors, fmt="%d", header=header)


# --------------------------------------------------------------------------- bench

def _bench_inputs(paths):
    """``[(name, path or None, matrix or None)]`` for the files and folders given.

    With no paths: the repository's ``data/`` folder, or the same patterns
    generated in memory when the folder is missing.
    """
    if not paths:
        root = _repo_root()
        data = root / "data" if root else None
        if data is not None and any(data.glob("*.mtx")):
            paths = [str(data)]
        else:
            from .patterns import _bundled_problems

            print("sparsead: note: bundled data/ folder not found; "
                  "generating the same patterns in memory", file=sys.stderr)
            return [(name, None, p) for name, p in _bundled_problems().items()]
    out = []
    for p in paths:
        if os.path.isdir(p):
            files = sorted(f for f in os.listdir(p) if f.lower().endswith(MATRIX_SUFFIXES))
            if not files:
                raise UserError(f"no .mtx, .mtx.gz or .npz files in {p!r}")
            out += [(_stem(f), os.path.join(p, f), None) for f in files]
        elif os.path.exists(p):
            out.append((_stem(p), p, None))
        else:
            raise UserError(f"no such file or directory: {p!r}")
    return out


def _reference_target(ref, problem):
    """ColPack's count to compare with: distinct colors for star/acyclic."""
    return ref["distinct_colors"] if problem in ("star", "acyclic") else ref["colors"]


def _cmd_bench(args) -> int:
    sa = _api()
    all_problems, all_orders = _names()
    problems = (_choice_list(args.problems, all_problems, "problem") if args.problems is not None
                else all_problems)
    if args.orders is not None:
        orders = _choice_list(args.orders, all_orders, "order")
    else:
        orders = all_orders if (args.reference and not args.problems) else DEFAULT_ORDERS
    if args.compare not in (None, "networkx"):
        raise UserError(f"--compare supports only 'networkx', got {args.compare!r}")
    machine_stdout = "-" in (args.csv, args.json)
    info = sys.stderr if machine_stdout else sys.stdout

    refs = None
    if args.reference:
        if not os.path.isfile(args.reference):
            raise UserError(f"no such reference file: {args.reference!r}")
        try:
            refs = {}
            for r in read_reference(args.reference):
                refs.setdefault((r["matrix"], r["problem"], r["order"]), []).append(r)
        except SparseadError:
            raise
        except (KeyError, ValueError) as exc:
            raise UserError(f"cannot read reference table {args.reference!r}: {exc}") from None

    inputs = _bench_inputs(args.files)
    progress = _Progress(len(inputs), "reading", enabled=not args.no_progress)
    t0 = time.perf_counter()
    matrices = []
    for k, (name, path, a) in enumerate(inputs):
        matrices.append((name, a if a is not None else read_matrix(path)))
        progress.update(k + 1, name)
    progress.close()
    read_seconds = time.perf_counter() - t0

    jobs, skipped_shape = [], 0
    for name, a in matrices:
        pairs = [(p, o) for p in problems for o in orders]
        if refs is not None and not args.problems:
            ref_pairs = [(p, o) for (m, p, o) in refs
                         if m == name and p in all_problems and o in orders]
            pairs = list(dict.fromkeys(ref_pairs)) or pairs
        square = a.shape[0] == a.shape[1]
        fitting = [(p, o) for p, o in pairs if square or p not in ADJACENCY_PROBLEMS]
        skipped_shape += len(pairs) - len(fitting)
        jobs += [(name, a, p, o) for p, o in fitting]
    if not jobs:
        raise UserError("nothing to run: no (matrix, problem, order) combination applies")

    pairs = list(dict.fromkeys((p, o) for _, _, p, o in jobs))
    warm, refused = _warm_up(sa, pairs, args.seed)
    jobs = [j for j in jobs if (j[2], j[3]) not in refused]

    rows, invalid = [], 0
    cache = {}
    nxc = NetworkXRuns(args.nx_budget) if args.compare else None
    progress = _Progress(len(jobs), "bench", enabled=not args.no_progress)
    for k, (name, a, problem, order) in enumerate(jobs):
        pats = cache.get(name)
        if pats is None or pats.a is not a:
            pats = cache[name] = _Patterns(a, args.zeros)
        pattern = pats(problem)
        coloring, seconds, _ = _color_timed(sa, pattern, problem, order, args.seed, args.repeat)
        row = {"matrix": name, "rows": a.shape[0], "cols": a.shape[1], "nnz": pattern.nnz,
               "problem": problem, "order": order, "colors": int(coloring.n_colors),
               "seconds": seconds, "valid": None}
        if args.validate:
            row["valid"] = bool(sa.is_valid_coloring(pattern, _checker_colors(coloring, problem),
                                                     problem))
            invalid += not row["valid"]
        if args.compare:
            row["nx_colors"], row["nx_seconds"], row["nx_build_seconds"] = nxc.run(
                name, pattern, problem, order, args.seed)
        if refs is not None:
            found = refs.get((name, problem, order), [])
            row["ref_colors"] = _reference_target(found[0], problem) if found else None
            row["ref_seconds"] = found[0]["seconds"] if found else None
            row["_refs"] = found
        rows.append(row)
        progress.update(k + 1, f"{name} {problem} {order}")
    progress.close()

    _bench_report(args, rows, refs, info, machine_stdout)
    notes = [f"{len(rows)} colorings of {len(matrices)} matrices; files read in {read_seconds:.2f} s; "
             f"warm-up (compile / cache load) {warm:.2f} s for {len(pairs)} problem/order pairs, "
             f"not included in the times"]
    if skipped_shape:
        notes.append(f"skipped {skipped_shape} runs of adjacency problems on rectangular matrices")
    for (p, o), msg in refused.items():
        notes.append(f"skipped {p}/{o}: {msg}")
    if any(pats.symmetrized for pats in cache.values()):
        notes.append("nonsymmetric square matrices: adjacency problems colored the pattern of "
                     "A + A^T (as ColPack does)")
    if refs is not None:
        names = {n for n, _ in matrices}
        ran = {(r["matrix"], r["problem"], r["order"]) for r in rows}
        not_run = sum(len(v) for k, v in refs.items() if k[0] in names and k not in ran)
        if not_run:
            notes.append(f"{not_run} reference rows of these matrices were not run "
                         f"(outside --problems/--orders, or not supported)")
        unknown = sorted(names - {k[0] for k in refs})
        if unknown:
            notes.append(f"no reference rows for {len(unknown)} matrices: "
                         + ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else ""))
    if nxc is not None and nxc.skipped:
        notes.append(f"networkx skipped on {len(nxc.skipped)} (matrix, problem) pairs whose graph "
                     f"would exceed --nx-budget {args.nx_budget:,} edges: " + ", ".join(
                         f"{m} {p} (~{e:,})" for m, p, e in sorted(nxc.skipped)[:6])
                     + (" ..." if len(nxc.skipped) > 6 else ""))
    if nxc is not None:
        notes.append("nx ms: networkx.greedy_color alone; nx build ms: building its graph "
                     "(scipy products + from_scipy_sparse_array), once per matrix and problem")
    if invalid:
        notes.append(f"{invalid} colorings FAILED the independent check")
    print("\n".join("note: " + n for n in notes), file=info)
    return 1 if invalid else 0


def _bench_report(args, rows, refs, out, machine_stdout):
    """Print the result table (and the reference comparison) and write CSV / JSON."""
    headers = ["matrix", "shape", "nnz", "problem", "order", "colors", "ms"]
    if args.validate:
        headers.append("valid")
    if args.compare:
        headers += ["nx colors", "nx ms", "nx/ours", "nx build ms"]
    if refs is not None:
        headers += ["ref", "diff", "ref ms"]
    shown = []
    for r in rows:
        if refs is not None and not args.verbose and r["ref_colors"] == r["colors"]:
            continue
        cells = [r["matrix"], f"{r['rows']}x{r['cols']}", r["nnz"], r["problem"], r["order"],
                 r["colors"], _fmt_seconds(r["seconds"])]
        if args.validate:
            cells.append("yes" if r["valid"] else "NO")
        if args.compare:
            ratio = (f"{r['nx_seconds'] / r['seconds']:.1f}x"
                     if r["nx_seconds"] is not None and r["seconds"] > 0 else None)
            cells += [r["nx_colors"], _fmt_seconds(r["nx_seconds"]), ratio,
                      _fmt_seconds(r["nx_build_seconds"])]
        if refs is not None:
            diff = None if r["ref_colors"] is None else f"{r['colors'] - r['ref_colors']:+d}"
            cells += [r["ref_colors"], diff, _fmt_seconds(r["ref_seconds"])]
        shown.append(cells)
    numeric = {2, 5, 6} | set(range(7, len(headers)))
    if not machine_stdout:
        if refs is not None and not args.verbose:
            print(f"runs that differ from the reference or have none ({len(shown)} of {len(rows)};"
                  f" --verbose shows all):", file=out)
        if shown:
            print(_table(headers, shown, right=numeric), file=out)
        if refs is not None:
            print(file=out)
            print(_reference_summary(rows), file=out)
    elif refs is not None:
        print(_reference_summary(rows), file=sys.stderr)
    fields = ["matrix", "rows", "cols", "nnz", "problem", "order", "colors", "seconds", "valid"]
    if args.compare:
        fields += ["nx_colors", "nx_seconds", "nx_build_seconds"]
    if refs is not None:
        fields += ["ref_colors", "ref_seconds"]
    records = [{f: r.get(f) for f in fields} for r in rows]
    if args.csv:
        fh = sys.stdout if args.csv == "-" else open(args.csv, "w", newline="")
        try:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows({k: ("" if v is None else v) for k, v in rec.items()} for rec in records)
        finally:
            if fh is not sys.stdout:
                fh.close()
    if args.json:
        doc = {"version": __version__, "results": records}
        if refs is not None:
            doc["reference_summary"] = _reference_groups(rows)
        text = json.dumps(doc, indent=1)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as fh:
                fh.write(text + "\n")


def _reference_groups(rows):
    """Per-problem comparison with the reference: counts, total colors and times."""
    canonical = {}
    for colpack, ours in COLPACK_PROBLEMS.items():
        canonical.setdefault(ours, colpack)
    groups = {}
    for r in rows:
        for ref in r.get("_refs", []):
            label = r["problem"]
            if ref["colpack_problem"] != canonical.get(r["problem"]):
                label += f" ({ref['colpack_problem']})"
            g = groups.setdefault(label, {"problem": label, "compared": 0, "equal": 0, "fewer": 0,
                                          "more": 0, "colors": 0, "ref_colors": 0,
                                          "seconds": 0.0, "ref_seconds": 0.0})
            target = _reference_target(ref, r["problem"])
            g["compared"] += 1
            g["equal" if r["colors"] == target else "fewer" if r["colors"] < target else "more"] += 1
            g["colors"] += r["colors"]
            g["ref_colors"] += target
            g["seconds"] += r["seconds"]
            g["ref_seconds"] += ref["seconds"]
    return list(groups.values())


def _reference_summary(rows) -> str:
    """The text summary of :func:`_reference_groups` with a total line."""
    groups = _reference_groups(rows)
    keys = ["compared", "equal", "fewer", "more", "colors", "ref_colors", "seconds", "ref_seconds"]
    total = {k: sum(g[k] for g in groups) for k in keys}
    total["problem"] = "total"
    body = [[g["problem"], g["compared"], g["equal"], g["fewer"], g["more"], g["colors"],
             g["ref_colors"], f"{g['seconds']:.3f}", f"{g['ref_seconds']:.3f}"]
            for g in groups + [total]]
    twice = sorted({g["problem"].split(" (")[0] for g in groups if " (" in g["problem"]})
    missing = sum(1 for r in rows if not r.get("_refs"))
    lines = ["summary against the reference (fewer = we use fewer colors):",
             _table(["problem", "compared", "equal", "fewer", "more", "colors", "ref colors",
                     "time s", "ref time s"], body, right=set(range(1, 9)))]
    if twice:
        lines.append(f"{', '.join(twice)}: compared with each of ColPack's algorithms for it; "
                     f"the total counts those runs once per algorithm")
    if missing:
        lines.append(f"{missing} runs have no reference row (reported without comparison)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- show

def _cmd_show(args) -> int:
    try:
        from . import plot
    except ImportError as exc:
        from ._extras import install_hint

        raise UserError(f"`show` needs matplotlib ({exc}); install it with: "
                        f"{install_hint('plot')}") from None
    sa = _api()
    problems, orders = _names()
    problem = _choice(args.problem, problems, "problem")
    order = _choice(args.order, orders, "order")
    w, h = args.size
    output = args.output or f"{_stem(args.file)}_{problem}.png"
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = Path(output).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise UserError(f"--output must end in an image format ({', '.join(sorted(formats))}), "
                        f"got {output!r}")
    a = read_matrix(args.file)
    pattern = _Patterns(a, args.zeros)(problem)
    coloring = sa.color(pattern, problem=problem, order=order, seed=args.seed)
    compressed = coloring.compress(sp.csr_array(pattern, dtype=np.float64))
    colors = _checker_colors(coloring, problem)
    title = (f"{_stem(args.file)}: {pattern.shape[0]}x{pattern.shape[1]}, nnz {pattern.nnz}; "
             f"{problem} / {order}: {coloring.n_colors} colors")
    plot.plot_coloring(pattern, colors, problem, compressed, output, title=title,
                       size=(w, h), dpi=args.dpi)
    print(f"colors: {coloring.n_colors}")
    print(f"written: {output} ({w}x{h} px)")
    return 0


# --------------------------------------------------------------------------- generate

def _cmd_generate(args) -> int:
    from .patterns import write_bundled_data

    directory = args.output
    if directory is None:
        root = _repo_root()
        if root is None:
            raise UserError("cannot locate the repository's data/ folder; pass --output DIR")
        directory = root / "data"
    for path in write_bundled_data(directory):
        print(path)
    return 0


# --------------------------------------------------------------------------- parser

class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``sparsead: error: ...``, exit code 2)."""

    def error(self, message):
        self.exit(2, f"sparsead: error: {message} (see `{self.prog} --help`)\n")


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of errors")
    coloring_opts = argparse.ArgumentParser(add_help=False)
    coloring_opts.add_argument("--seed", type=int_in(0), default=None,
                               help="seed of the `random` order")
    zeros = coloring_opts.add_mutually_exclusive_group()
    zeros.add_argument("--keep-zeros", dest="zeros", action="store_const", const="keep",
                       help="treat explicitly stored zeros as nonzeros for every problem")
    zeros.add_argument("--drop-zeros", dest="zeros", action="store_const", const="drop",
                       help="ignore explicitly stored zeros for every problem")
    coloring_opts.set_defaults(zeros="auto")
    convention = ("Stored zeros follow ColPack: kept by the adjacency problems (distance1, "
                  "distance2, star, acyclic), dropped by column/row/bidirectional, unless "
                  "--keep-zeros/--drop-zeros. On a nonsymmetric square matrix the adjacency "
                  "problems color the pattern of A + A^T, as ColPack does.")

    parser = _Parser(prog="sparsead", parents=[common],
                     description="Color sparse matrices, benchmark colorings, draw patterns.")
    parser.set_defaults(debug=False, func=None)
    parser.add_argument("--version", action="version", version=f"sparsead {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("color", parents=[common, coloring_opts], help="color one matrix file",
                       description="Color one .mtx/.mtx.gz/.npz file, check the coloring "
                                   "with the independent checker and print the number of "
                                   "colors and the time. " + convention)
    p.add_argument("file", help="matrix file (.mtx, .mtx.gz or scipy .npz)")
    p.add_argument("--problem", default="column", help="coloring problem (default: column)")
    p.add_argument("--order", default="natural", help="vertex order (default: natural)")
    p.add_argument("--repeat", type=int_in(1, MAX_REPEAT), default=1,
                   help=f"time the median of this many runs (1..{MAX_REPEAT}; at most "
                        f"{REPEAT_BUDGET:.0f} s of repeats per coloring)")
    p.add_argument("--output", "-o", help="write the colors to a .txt, .npy or .json file")
    p.add_argument("--no-validate", action="store_true", help="skip the independent check")
    p.set_defaults(func=_cmd_color)

    p = sub.add_parser("bench", parents=[common, coloring_opts],
                       help="run problems x orders over many matrices",
                       description="Run a grid of problems x orders over matrix files and "
                                   "folders (default: the bundled data/) and print a table. "
                                   "Adjacency problems run only on square matrices. Times "
                                   "are ordering + coloring (sparsead.color), in ms, after "
                                   "a warm-up that compiles the kernels. " + convention)
    p.add_argument("files", nargs="*", help="matrix files or folders (default: data/)")
    p.add_argument("--problems", help="comma list or `all` (default: all that apply)")
    p.add_argument("--orders", help="comma list or `all` (default: "
                                    + ",".join(DEFAULT_ORDERS) + ")")
    p.add_argument("--repeat", type=int_in(1, MAX_REPEAT), default=1,
                   help=f"time the median of this many runs (1..{MAX_REPEAT}; at most "
                        f"{REPEAT_BUDGET:.0f} s of repeats per coloring)")
    p.add_argument("--csv", metavar="PATH", help="write the results as CSV (`-` = stdout)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON (`-` = stdout)")
    p.add_argument("--nx-budget", type=int_in(0), default=NETWORKX_EDGE_BUDGET,
                   metavar="EDGES",
                   help="skip networkx where its graph would have more edges than this "
                        f"(default {NETWORKX_EDGE_BUDGET:,})")
    p.add_argument("--compare", metavar="networkx",
                   help="also run networkx.greedy_color where it applies "
                        "(distance1, distance2, column, row)")
    p.add_argument("--reference", metavar="CSV",
                   help="compare with reference counts (ColPack driver table); the grid is "
                        "then the reference's rows unless --problems is given")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="with --reference, list every run, not only the differences")
    p.add_argument("--validate", action="store_true",
                   help="check every coloring with the independent (slow, plain) checker")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("show", parents=[common, coloring_opts],
                       help="draw the colored pattern and the compressed matrix",
                       description="Draw the pattern with each nonzero colored by its color "
                                   "and the compressed matrix beside it (needs matplotlib: "
                                   "the `plot` extra). Big matrices are drawn as a "
                                   "downsampled density picture. " + convention)
    p.add_argument("file", help="matrix file (.mtx, .mtx.gz or scipy .npz)")
    p.add_argument("--problem", default="column", help="coloring problem (default: column)")
    p.add_argument("--order", default="natural", help="vertex order (default: natural)")
    p.add_argument("--output", "-o", help="image file (default: <matrix>_<problem>.png)")
    p.add_argument("--size", type=image_size, default=(1200, 600),
                   help="image size in pixels, WxH (default 1200x600)")
    p.add_argument("--dpi", type=int_in(*DPI_RANGE), default=100,
                   help=f"resolution (text scale), {DPI_RANGE[0]}..{DPI_RANGE[1]}")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("generate", parents=[common],
                       help="write the bundled generated problems to data/",
                       description="Write the generated patterns (Laplacians 2-D/3-D, banded, "
                                   "arrowhead, random, Brusselator) as Matrix Market files.")
    p.add_argument("--output", "-o", help="folder (default: the repository's data/)")
    p.set_defaults(func=_cmd_generate)
    return parser


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for user errors (bad arguments or input), 1 for
        unexpected failures or a coloring that fails the independent check.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("sparsead: error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except (UserError, SparseadError, OSError) as exc:
        if args.debug:
            raise
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            message = f"{exc.strerror}: {exc.filename!r}"
        else:
            message = _one_line(exc)
        print(f"sparsead: error: {message}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - unexpected: one line unless --debug
        if args.debug:
            raise
        print(f"sparsead: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
              f"(run with --debug for the traceback)", file=sys.stderr)
        return 1
