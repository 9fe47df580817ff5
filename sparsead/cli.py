"""Command line: ``sparsead color | bench | show | generate`` (also ``python -m sparsead``).

A thin client of the public API (``bench`` is in :mod:`sparsead._cli_bench`, the
helpers every command shares in :mod:`sparsead._cli_common`). Files are read by
:func:`sparsead._io.read_matrix`, colored by :func:`sparsead.color`, checked by
:func:`sparsead.is_valid_coloring`
and drawn by :mod:`sparsead.plot`; this module only parses arguments, prepares
the pattern the way ColPack's driver sees a file, times the calls and formats
the results. User errors (missing or malformed file, unknown problem or order,
a rectangular matrix given to a symmetric problem) end with one line on stderr
and exit code 2; anything unexpected with exit code 1; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._cli_bench import cmd_bench
from ._cli_common import (DEFAULT_ORDERS, DPI_RANGE, MAX_REPEAT, REPEAT_BUDGET, UserError, _api,
                          _choice, _color_timed, _names, _Patterns, _repo_root, _stem,
                          _warm_up)
from ._errors import SparseadError
from ._io import read_matrix
from ._networkx import NETWORKX_EDGE_BUDGET
from ._validation.options import image_size, int_in
from ._version import __version__


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
        valid = bool(sa.is_valid_coloring(pattern, coloring.colors, problem))
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
    colors = ((coloring.column_colors, coloring.row_colors) if problem == "bidirectional"
              else coloring.colors)
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


def _add_bench(sub, parents, convention):
    """The ``bench`` subcommand's options (its own table: it has the most)."""
    p = sub.add_parser("bench", parents=parents,
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
    p.set_defaults(func=cmd_bench)


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

    _add_bench(sub, [common, coloring_opts], convention)

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
