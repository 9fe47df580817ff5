"""What the CLI's commands share: errors, name checks, the patterns ColPack's driver sees, tables.

Used by :mod:`sparsead.cli` (``color``, ``show``, ``generate``, the parser) and
:mod:`sparsead._cli_bench` (``bench``). ColPack's conventions themselves are in
:mod:`sparsead.coloring.colpack`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from ._errors import SparseadError
from ._validation import check_choice
from .coloring.colpack import colpack_pattern, keeps_zeros
from .coloring.greedy import SYMMETRIC_PROBLEMS

#: Problems colored on the adjacency graph of a square pattern (ColPack uses A + Aᵀ).
ADJACENCY_PROBLEMS = SYMMETRIC_PROBLEMS
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
    """The coloring API (``color``, ``is_valid_coloring``), imported when a command runs."""
    from . import coloring

    return coloring


def _names():
    """``(PROBLEMS, ORDERS)`` as the coloring engine declares them."""
    from .coloring import ORDERS, PROBLEMS

    return tuple(PROBLEMS), tuple(ORDERS)


def _choice(name, allowed, what):
    """Validate one problem or order name before any work is done (the package's check)."""
    return check_choice(name, tuple(allowed), what, UserError)


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


class _Patterns:
    """The patterns of one matrix the problems are colored on, built once each, the
    way ColPack's driver sees them (:func:`sparsead.coloring.colpack.colpack_pattern`)."""

    def __init__(self, a, zeros="auto"):
        self.a = a
        self.zeros = zeros
        self._cache = {}
        self.symmetrized = False

    def __call__(self, problem):
        key = (keeps_zeros(problem, self.zeros),
               problem in ADJACENCY_PROBLEMS and self.a.shape[0] == self.a.shape[1])
        if key not in self._cache:
            self._cache[key], sym = colpack_pattern(self.a, problem, self.zeros)
            self.symmetrized |= sym
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
