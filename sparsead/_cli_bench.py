"""``sparsead bench``: color files over a grid of problems and orders, compare with references.

Reads matrices (:func:`sparsead._io.read_matrix`) and ColPack's reference
tables (:func:`sparsead.coloring.colpack.read_reference`), colors each pattern
the way ColPack's driver sees it (:class:`sparsead._cli_common._Patterns`),
optionally next to networkx (:mod:`sparsead._networkx`), and prints or writes
the table. Called by :func:`sparsead.cli.main`.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time

from ._cli_common import (ADJACENCY_PROBLEMS, DEFAULT_ORDERS, MATRIX_SUFFIXES, UserError,
                          _api, _choice_list, _color_timed, _fmt_seconds, _names, _Patterns,
                          _Progress, _repo_root, _stem, _table, _warm_up)
from ._errors import SparseadError
from ._io import read_matrix
from ._networkx import NetworkXRuns
from ._version import __version__
from .coloring.colpack import canonical_colpack_problems, read_reference, reference_count


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


def _load_references(path):
    """``{(matrix, problem, order): [reference rows]}`` of a ColPack driver table."""
    if not os.path.isfile(path):
        raise UserError(f"no such reference file: {path!r}")
    refs = {}
    try:
        for r in read_reference(path):
            refs.setdefault((r["matrix"], r["problem"], r["order"]), []).append(r)
    except SparseadError:
        raise
    except (KeyError, ValueError) as exc:
        raise UserError(f"cannot read reference table {path!r}: {exc}") from None
    return refs


def _grid(matrices, problems, orders, refs, all_problems):
    """``(jobs, skipped)``: (matrix, problem, order) runs; with ``refs``, the reference's
    own pairs per matrix; adjacency problems only on square matrices."""
    jobs, skipped = [], 0
    for name, a in matrices:
        pairs = [(p, o) for p in problems for o in orders]
        if refs is not None:
            ref_pairs = [(p, o) for (m, p, o) in refs
                         if m == name and p in all_problems and o in orders]
            pairs = list(dict.fromkeys(ref_pairs)) or pairs
        square = a.shape[0] == a.shape[1]
        fitting = [(p, o) for p, o in pairs if square or p not in ADJACENCY_PROBLEMS]
        skipped += len(pairs) - len(fitting)
        jobs += [(name, a, p, o) for p, o in fitting]
    return jobs, skipped


def _bench_row(sa, args, name, shape, pattern, problem, order, nxc, refs):
    """Color one (matrix, problem, order), timed; check, compare and look up as asked."""
    coloring, seconds, _ = _color_timed(sa, pattern, problem, order, args.seed, args.repeat)
    row = {"matrix": name, "rows": shape[0], "cols": shape[1], "nnz": pattern.nnz,
           "problem": problem, "order": order, "colors": int(coloring.n_colors),
           "seconds": seconds, "valid": None}
    if args.validate:
        row["valid"] = bool(sa.is_valid_coloring(pattern, coloring.colors, problem))
    if nxc is not None:
        row["nx_colors"], row["nx_seconds"], row["nx_build_seconds"] = nxc.run(
            name, pattern, problem, order, args.seed)
    if refs is not None:
        found = refs.get((name, problem, order), [])
        row["ref_colors"] = reference_count(found[0], problem) if found else None
        row["ref_seconds"] = found[0]["seconds"] if found else None
        row["_refs"] = found
    return row


def _notes(args, rows, matrices, refs, warm_up, skipped_shape, cache, nxc, invalid,
           read_seconds):
    """The ``note:`` lines under the bench table."""
    warm, pairs, refused = warm_up
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
    return notes


def cmd_bench(args) -> int:
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

    refs = _load_references(args.reference) if args.reference else None

    inputs = _bench_inputs(args.files)
    progress = _Progress(len(inputs), "reading", enabled=not args.no_progress)
    t0 = time.perf_counter()
    matrices = []
    for k, (name, path, a) in enumerate(inputs):
        matrices.append((name, a if a is not None else read_matrix(path)))
        progress.update(k + 1, name)
    progress.close()
    read_seconds = time.perf_counter() - t0

    jobs, skipped_shape = _grid(matrices, problems, orders, refs if not args.problems else None,
                                all_problems)
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
        row = _bench_row(sa, args, name, a.shape, pattern, problem, order, nxc, refs)
        invalid += row["valid"] is False
        rows.append(row)
        progress.update(k + 1, f"{name} {problem} {order}")
    progress.close()

    _bench_report(args, rows, refs, info, machine_stdout)
    notes = _notes(args, rows, matrices, refs, (warm, pairs, refused), skipped_shape, cache, nxc,
                   invalid, read_seconds)
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
    canonical = canonical_colpack_problems()
    groups = {}
    for r in rows:
        for ref in r.get("_refs", []):
            label = r["problem"]
            if ref["colpack_problem"] != canonical.get(r["problem"]):
                label += f" ({ref['colpack_problem']})"
            g = groups.setdefault(label, {"problem": label, "compared": 0, "equal": 0, "fewer": 0,
                                          "more": 0, "colors": 0, "ref_colors": 0,
                                          "seconds": 0.0, "ref_seconds": 0.0})
            target = reference_count(ref, r["problem"])
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
