"""The tools sparsead is measured against, prepared the same way on the standard problems.

Used by ``benchmarks/harness.py`` (each tool in its own process) and
``benchmarks/bench_numba.py`` (the problems and :func:`median_time`). The problems
are the plain numpy functions of ``sparsead/examples.py``, with a ``jax.numpy``
twin for the JAX peers and a CasADi SX formulation. That file is loaded from its
path without importing the ``sparsead`` package, so a peer's process holds no
sparsead, Numba or JAX that it does not use itself.

Each ``prepare_*`` function takes a :class:`Problem` (and the sparsity pattern,
for the peers that are given one) and returns a :class:`Prepared`: callables for
one evaluation to a scipy CSR matrix at the problem's point, and, where the tool
has them, an evaluation into an existing matrix (``out=``), the compressed lanes
alone, and the tool's own output before any conversion. A tool that cannot run a
problem raises :class:`Skip` with the reason. Conversions a peer needs to reach a
CSR matrix with sorted indices are part of its evaluation, done the cheapest way
we know (a permutation computed once, index arrays shared between results).

Peers: asdex and sparsejac (JAX), CasADi (SX, evaluated through its zero-copy
buffer API) and scipy's finite differences with column groups
(``approx_derivative(sparsity=...)``; for Hessians, differences of sparsead's
gradient). sparsejac and the finite differences get sparsead's pattern for free.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from typing import Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["Problem", "Prepared", "Skip", "make_problem", "median_time", "call_times", "PREPARE",
           "IMPORTS", "STANDARD_PROBLEMS", "QUICK_PROBLEMS", "installed", "modules"]

#: The standard problems and sizes (issue 15): Jacobians, then Hessians.
STANDARD_PROBLEMS = [
    ("brusselator", 32), ("brusselator", 64), ("brusselator", 128), ("brusselator", 256),
    ("broyden", 10_000), ("broyden", 100_000), ("broyden", 1_000_000),
    ("minimal_surface", 100), ("minimal_surface", 316),
    ("arwhead", 10_000), ("arwhead", 100_000),
]
QUICK_PROBLEMS = [("brusselator", 32), ("broyden", 10_000), ("minimal_surface", 100),
                  ("arwhead", 10_000)]
#: Dense rows longer than this make finite differences and sparsejac impractical.
MAX_ROW = 2000


def _load_examples():
    """``sparsead/examples.py`` as a standalone module (it imports numpy only)."""
    spec = importlib.util.find_spec("sparsead")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("sparsead is not importable; run from the repository with "
                          "PYTHONPATH=. or pip install -e .")
    path = os.path.join(list(spec.submodule_search_locations)[0], "examples.py")
    mod_spec = importlib.util.spec_from_file_location("_sparsead_examples", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod


examples = _load_examples()


class Skip(Exception):
    """The tool cannot run this problem; the message says why."""


@dataclasses.dataclass
class Problem:
    """One benchmark problem: a numpy function, its jax twin, a point, and how CasADi builds it."""

    name: str
    size: int
    kind: str                      # "jacobian" or "hessian"
    f: Callable                    # numpy function of a 1-D float64 array
    x0: np.ndarray
    f_jax: Callable | None = None  # same function over jax.numpy
    casadi: Callable | None = None  # casadi module -> (SX x, SX expression)

    @property
    def label(self) -> str:
        size = _short(self.size)
        return {"brusselator": f"Brusselator N={size}", "broyden": f"Broyden n={size}",
                "minimal_surface": f"min. surface N={size} (H)",
                "arwhead": f"ARWHEAD n={size} (H)"}.get(self.name, f"{self.name} {size}")


def _short(size: int) -> str:
    """10000 -> '1e4'; other sizes as they are."""
    k = len(str(size)) - 1
    return f"1e{k}" if size >= 10_000 and size == 10 ** k else str(size)


@dataclasses.dataclass
class Prepared:
    """A tool ready to evaluate one problem at its point ``x0`` (figures are the caller's job)."""

    evaluate: Callable[[], object]                         # -> scipy CSR matrix
    detect: float | None = None                            # seconds, where the tool reports it
    color: float | None = None
    colors: int | None = None
    evaluate_into: Callable[[object], object] | None = None  # out -> writes J's values into out
    lanes: Callable[[], object] | None = None              # the compressed product alone
    native: Callable[[], object] | None = None             # the tool's own output, no conversion
    info: dict = dataclasses.field(default_factory=dict)


def _jnp():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jnp


def make_problem(name: str, size: int) -> Problem:
    """A standard problem: brusselator (N), broyden, minimal_surface (N), arwhead, rosenbrock."""
    rng = np.random.default_rng(0)
    if name == "brusselator":
        N = size
        x0 = examples.brusselator_x0(N)
        return Problem(name, size, "jacobian", examples.brusselator, x0,
                       lambda y: examples.brusselator(y, xp=_jnp()),
                       lambda ca: _casadi_brusselator(ca, N))
    if name == "broyden":
        x0 = -np.ones(size) + 0.1 * rng.standard_normal(size)
        return Problem(name, size, "jacobian", examples.broyden_tridiagonal, x0,
                       lambda y: examples.broyden_tridiagonal(y, xp=_jnp()),
                       lambda ca: _casadi_broyden(ca, size))
    if name == "minimal_surface":
        N = size
        boundary = examples.minimal_surface_boundary(N)
        x0 = 0.1 * rng.standard_normal(N * N)
        return Problem(name, size, "hessian", lambda y: examples.minimal_surface(y, boundary), x0,
                       lambda y: examples.minimal_surface(y, boundary, xp=_jnp()),
                       lambda ca: _casadi_minimal_surface(ca, N, boundary))
    if name == "arwhead":
        x0 = np.ones(size) + 0.1 * rng.standard_normal(size)
        return Problem(name, size, "hessian", examples.arwhead, x0,
                       lambda y: examples.arwhead(y, xp=_jnp()),
                       lambda ca: _casadi_arwhead(ca, size))
    if name == "rosenbrock":
        x0 = rng.standard_normal(size)
        return Problem(name, size, "hessian", examples.rosenbrock, x0,
                       lambda y: examples.rosenbrock(y, xp=_jnp()), None)
    raise ValueError(f"unknown problem {name!r}; choose from brusselator, broyden, "
                     "minimal_surface, arwhead, rosenbrock")


def call_times(fn: Callable, repeats: int = 20, min_seconds: float = 0.2,
               max_seconds: float = 10.0) -> np.ndarray:
    """Times of ``fn()``: at least ``repeats`` calls and ``min_seconds``; ``max_seconds`` at most."""
    times = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        if (len(times) >= repeats and elapsed >= min_seconds) or elapsed >= max_seconds:
            break
    return np.array(times)


def median_time(fn: Callable, repeats: int = 20, min_seconds: float = 0.2,
                max_seconds: float = 10.0) -> float:
    """Median of :func:`call_times`."""
    return float(np.median(call_times(fn, repeats, min_seconds, max_seconds)))


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _csr_permutation(rows, cols, shape):
    """(pattern csr_array, perm) with csr.data = values[perm] for values in (rows, cols) order."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    order = np.lexsort((cols, rows))
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    pattern = sp.csr_array((np.zeros(order.size), cols[order], indptr), shape=shape)
    return pattern, order


def installed(tool: str) -> bool:
    """Whether every module ``tool`` needs can be found (nothing is imported)."""
    return all(importlib.util.find_spec(m.split(".")[0]) is not None for m in IMPORTS[tool])


def _longest_row(pattern) -> int:
    return int(np.diff(pattern.indptr).max(initial=0))


# --- sparsead ------------------------------------------------------------------

def prepare_sparsead(problem: Problem, pattern=None, backend: str = "auto",
                     decompression=None, mode=None) -> Prepared:
    """sparsead's prepared operator (``sparse_jacobian`` / ``sparse_hessian``) with ``backend``
    (and ``decompression`` for Hessians, ``mode`` for Jacobians when given)."""
    import sparsead as sa
    if problem.kind == "jacobian":
        op = sa.sparse_jacobian(problem.f, problem.x0, backend=backend,
                                **({"mode": mode} if mode else {}))
    else:
        op = sa.sparse_hessian(problem.f, problem.x0, backend=backend,
                               decompression=decompression)
    x = problem.x0
    timings = dict(getattr(op, "timings", {}) or {})
    return Prepared(evaluate=lambda: op(x), evaluate_into=lambda out: op(x, out=out),
                    lanes=lambda: op.compressed(x), detect=timings.get("detect"),
                    color=timings.get("color"), colors=int(op.n_colors),
                    info={"mode": getattr(op, "decompression", None) or op.mode,
                          "backend": op.backend,
                          "strategy": getattr(getattr(op, "_decomp", None), "strategy", None),
                          "compile": timings.get("compile")})


# --- asdex -------------------------------------------------------------------

def prepare_asdex(problem: Problem, pattern=None) -> Prepared:
    """asdex: its own detection and coloring; ``scipy_csr`` output; compressed lanes jitted."""
    import asdex
    import jax
    jnp = _jnp()
    xj = jnp.asarray(problem.x0)
    if problem.kind == "jacobian":
        found, t_detect = _timed(lambda: asdex.jacobian_sparsity(problem.f_jax, xj))
        coloring, t_color = _timed(lambda: asdex.jacobian_coloring_from_sparsity(found))
        op = asdex.jacobian_from_coloring(problem.f_jax, coloring, output_format="scipy_csr")
        compressed = asdex.compressed_jacobian_from_coloring(problem.f_jax, coloring)
    else:
        found, t_detect = _timed(lambda: asdex.hessian_sparsity(problem.f_jax, xj))
        coloring, t_color = _timed(lambda: asdex.hessian_coloring_from_sparsity(found))
        op = asdex.hessian_from_coloring(problem.f_jax, coloring, output_format="scipy_csr")
        compressed = asdex.compressed_hessian_from_coloring(problem.f_jax, coloring)
    lanes = jax.jit(compressed)
    x = problem.x0
    return Prepared(evaluate=lambda: op(x), lanes=lambda: lanes(x).block_until_ready(),
                    detect=t_detect, color=t_color,
                    colors=int(getattr(coloring, "num_colors", 0)) or None)


# --- sparsejac ---------------------------------------------------------------

def prepare_sparsejac(problem: Problem, pattern=None) -> Prepared:
    """sparsejac.jacfwd (jitted) on sparsead's pattern; Hessians as jacfwd of ``jax.grad``."""
    if pattern is None:
        raise Skip("needs sparsead's pattern (sparsead did not run on this problem)")
    longest = _longest_row(pattern)
    if longest > MAX_ROW:
        raise Skip(f"a row with {longest} entries: sparsejac's column-intersection graph "
                   "would have ~n^2/2 edges")
    import jax
    import sparsejac
    from jax.experimental import sparse as jsparse
    _jnp()
    fn = problem.f_jax if problem.kind == "jacobian" else jax.grad(problem.f_jax)
    bcoo = jsparse.BCOO.from_scipy_sparse(sp.csr_matrix(pattern.astype(np.float64)))
    op = jax.jit(sparsejac.jacfwd(fn, sparsity=bcoo))
    x = problem.x0
    shape = pattern.shape
    state = {}

    def values():
        res = op(x)
        if not state:   # the first call: where BCOO's entries go in CSR order
            idx = np.asarray(res.indices)
            state["csr"], state["perm"] = _csr_permutation(idx[:, 0], idx[:, 1], shape)
        return np.asarray(res.data)

    def evaluate():
        data = values()
        csr = state["csr"]
        return sp.csr_array((data[state["perm"]], csr.indices, csr.indptr), shape=shape)

    def evaluate_into(out):
        np.take(values(), state["perm"], out=out.data, mode="wrap")  # valid indices: no buffering

    return Prepared(evaluate=evaluate, evaluate_into=evaluate_into,
                    native=lambda: op(x).data.block_until_ready())


# --- CasADi ------------------------------------------------------------------

def _casadi_brusselator(ca, N):
    n2 = N * N
    x = ca.SX.sym("x", 2 * n2)
    u, v = x[:n2], x[n2:]
    grid = np.arange(n2).reshape(N, N)
    shifts = [np.roll(grid, s, axis=a).ravel().tolist() for a in (0, 1) for s in (1, -1)]
    a = 10.0 * (N - 1) ** 2

    def lap(w):
        return w[shifts[0]] + w[shifts[1]] + w[shifts[2]] + w[shifts[3]] - 4 * w

    forcing = ca.DM(examples._brusselator_forcing(N, 0.0).ravel())
    uuv = u * u * v
    du = 1 + uuv - 4.4 * u + a * lap(u) + forcing
    dv = 3.4 * u - uuv + a * lap(v)
    return x, ca.vertcat(du, dv)


def _casadi_broyden(ca, n):
    x = ca.SX.sym("x", n)
    zero = ca.SX(1, 1)
    left = ca.vertcat(zero, x[: n - 1])
    right = ca.vertcat(x[1:], zero)
    return x, (3 - 2 * x) * x - left - 2 * right + 1


def _casadi_arwhead(ca, n):
    x = ca.SX.sym("x", n)
    head = x[: n - 1]
    last = x[n - 1]
    return x, ca.sum1(-4 * head + 3) + ca.sum1((head * head + last * last) ** 2)


def _casadi_minimal_surface(ca, N, boundary):
    x = ca.SX.sym("x", N * N)
    M = N + 2
    U = ca.SX(ca.DM(boundary.ravel()))
    interior = (np.arange(1, N + 1)[:, None] * M + np.arange(1, N + 1)[None, :]).ravel()
    for k, idx in enumerate(interior.tolist()):   # symbolic set-up only (CasADi needs it)
        U[idx] = x[k]
    h = 1.0 / (N + 1)
    base = (np.arange(N + 1)[:, None] * M + np.arange(N + 1)[None, :]).ravel()
    c00, c10, c01, c11 = (U[(base + off).tolist()] for off in (0, M, 1, M + 1))
    lower = ca.sqrt(1 + ((c10 - c00) / h) ** 2 + ((c01 - c00) / h) ** 2)
    upper = ca.sqrt(1 + ((c11 - c01) / h) ** 2 + ((c11 - c10) / h) ** 2)
    return x, 0.5 * h * h * ca.sum1(lower + upper)


def prepare_casadi(problem: Problem, pattern=None) -> Prepared:
    """CasADi SX: symbolic Jacobian/Hessian, evaluated through ``Function.buffer`` into numpy."""
    if problem.casadi is None:
        raise Skip("no CasADi formulation")
    import casadi as ca
    x_sym, expr = problem.casadi(ca)
    if problem.kind == "jacobian":
        deriv = ca.jacobian(expr, x_sym)
    else:
        deriv, _ = ca.hessian(expr, x_sym)
    fun = ca.Function("d", [x_sym], [deriv])
    spo = fun.sparsity_out(0)
    shape = (spo.size1(), spo.size2())
    colind = np.asarray(spo.colind(), dtype=np.int64)
    rows = np.asarray(spo.row(), dtype=np.int64)
    cols = np.repeat(np.arange(shape[1]), np.diff(colind))
    csr, perm = _csr_permutation(rows, cols, shape)
    x = np.ascontiguousarray(problem.x0, dtype=np.float64)
    values = np.zeros(rows.size)
    buf, run_buffer = fun.buffer()
    buf.set_arg(0, memoryview(x))
    buf.set_res(0, memoryview(values))
    alive = (fun, buf, x, values)   # the buffer points into these: keep them with the callables

    def run():
        run_buffer()
        return alive[3]

    def evaluate():
        run()
        return sp.csr_array((values[perm], csr.indices, csr.indptr), shape=shape)

    def evaluate_into(out):
        run()
        np.take(values, perm, out=out.data, mode="wrap")  # valid indices: no buffering

    return Prepared(evaluate=evaluate, evaluate_into=evaluate_into, native=run)


# --- scipy finite differences --------------------------------------------------

def prepare_fd(problem: Problem, pattern=None) -> Prepared:
    """scipy's ``approx_derivative`` (2-point) with ``sparsity=(pattern, groups)``.

    For Hessians, differences of sparsead's gradient of ``f``.
    """
    if pattern is None:
        raise Skip("needs sparsead's pattern (sparsead did not run on this problem)")
    longest = _longest_row(pattern)
    if longest > MAX_ROW:
        raise Skip(f"a dense row of {longest} entries: >= {longest} evaluations per matrix "
                   f"(limit {MAX_ROW})")
    from scipy.optimize._numdiff import approx_derivative, group_columns
    if problem.kind == "jacobian":
        fn = problem.f
    else:
        import sparsead as sa
        fn = sa.gradient(problem.f)
    groups, t_color = _timed(lambda: group_columns(sp.csc_matrix(pattern)))
    x = problem.x0
    return Prepared(evaluate=lambda: approx_derivative(fn, x, method="2-point",
                                                       sparsity=(pattern, groups)),
                    color=t_color, colors=int(groups.max(initial=-1)) + 1)


#: tool -> prepare function; tool -> modules its process imports (timed as "import").
PREPARE = {"sparsead": prepare_sparsead, "asdex": prepare_asdex, "sparsejac": prepare_sparsejac,
           "casadi": prepare_casadi, "fd": prepare_fd}
IMPORTS = {"sparsead": ("sparsead",), "asdex": ("jax", "jax.numpy", "asdex"),
           "sparsejac": ("jax", "jax.numpy", "jax.experimental.sparse", "sparsejac"),
           "casadi": ("casadi",), "fd": ("scipy.optimize",)}


def modules(tool: str, kind: str) -> tuple:
    """The modules ``tool`` imports for a ``kind`` of problem (FD of Hessians: sparsead too)."""
    extra = ("sparsead",) if tool == "fd" and kind == "hessian" else ()
    return IMPORTS[tool] + extra
