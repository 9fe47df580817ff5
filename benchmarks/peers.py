"""The peers sparsead is measured against, run side by side on the standard problems.

Each ``run_*`` function takes a :class:`Problem` and returns a dict of figures
(preparation phases, median evaluation time to a ``scipy.sparse.csr_array``,
number of colors, the matrix itself for cross-checks), or a string saying why
the peer was skipped (not installed, unsupported). Peers: asdex and sparsejac
(JAX), CasADi (SX, evaluated through its zero-copy buffer API), and scipy's
finite differences with column grouping (``approx_derivative(sparsity=...)``).

Every peer returns the same thing as sparsead: a ``csr_array`` with sorted
indices. Conversions that a peer needs to get there are part of its timed
evaluation, done the cheapest way we know (a permutation computed once).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import time
from typing import Callable

import numpy as np
import scipy.sparse as sp

from sparsead import examples
from sparsead._extras import install_hint

__all__ = ["Problem", "make_problem", "median_time", "run_asdex", "run_sparsejac",
           "run_casadi", "run_fd", "STANDARD_PROBLEMS"]

#: The standard problems and sizes of the derivative benchmarks.
STANDARD_PROBLEMS = [
    ("brusselator", 32), ("brusselator", 64), ("brusselator", 128),
    ("broyden", 10_000), ("broyden", 100_000),
    ("minimal_surface", 100), ("minimal_surface", 316),
    ("arwhead", 10_000), ("arwhead", 100_000),
]


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
        return f"{self.name} {'N' if self.name in ('brusselator', 'minimal_surface') else 'n'}={self.size}"


def _jnp():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jnp


def make_problem(name: str, size: int) -> Problem:
    """Build a standard problem by name: brusselator (N), broyden (n), minimal_surface (N), arwhead (n), rosenbrock (n)."""
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
    raise ValueError(f"unknown problem {name!r}")


def median_time(fn: Callable, repeats: int = 20, min_seconds: float = 0.2, max_seconds: float = 10.0) -> float:
    """Median wall time of ``fn()`` over at least ``repeats`` calls (or ``min_seconds``), capped at ``max_seconds``."""
    times = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        if (len(times) >= repeats and elapsed >= min_seconds) or elapsed >= max_seconds:
            break
    return float(np.median(times))


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _csr_permutation(rows, cols, shape):
    """Return (pattern csr_array, perm) such that csr.data = values[perm] for values given in (rows, cols) order."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    order = np.lexsort((cols, rows))
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    pattern = sp.csr_array((np.zeros(order.size), cols[order], indptr), shape=shape)
    return pattern, order


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# --- asdex -------------------------------------------------------------------

def run_asdex(problem: Problem, repeats: int = 20):
    """asdex: detection, coloring, first call (compile) and median evaluation to ``csr_array``."""
    if not (_installed("asdex") and _installed("jax")):
        return f"not installed ({install_hint('bench')})"
    import asdex
    jnp = _jnp()
    xj = jnp.asarray(problem.x0)
    if problem.kind == "jacobian":
        pattern, t_detect = _timed(lambda: asdex.jacobian_sparsity(problem.f_jax, xj))
        coloring, t_color = _timed(lambda: asdex.jacobian_coloring_from_sparsity(pattern))
        op = asdex.jacobian_from_coloring(problem.f_jax, coloring, output_format="scipy_csr")
    else:
        pattern, t_detect = _timed(lambda: asdex.hessian_sparsity(problem.f_jax, xj))
        coloring, t_color = _timed(lambda: asdex.hessian_coloring_from_sparsity(pattern))
        op = asdex.hessian_from_coloring(problem.f_jax, coloring, output_format="scipy_csr")
    x = problem.x0
    out, t_first = _timed(lambda: op(x))
    t_eval = median_time(lambda: op(x), repeats)
    out = sp.csr_array(out)
    out.sort_indices()
    return {"detect": t_detect, "color": t_color, "compile": t_first, "eval": t_eval,
            "colors": _asdex_colors(coloring), "nnz": out.nnz, "matrix": out}


def _asdex_colors(coloring) -> int | None:
    for attr in ("n_colors", "num_colors"):
        if hasattr(coloring, attr):
            return int(getattr(coloring, attr))
    m = re.search(r"(\d+) colors", repr(coloring))
    return int(m.group(1)) if m else None


# --- sparsejac ---------------------------------------------------------------

def run_sparsejac(problem: Problem, pattern: sp.csr_array, repeats: int = 20):
    """sparsejac.jacfwd (jitted) with the given pattern; Hessians as jacfwd of jax.grad."""
    if not (_installed("sparsejac") and _installed("jax")):
        return f"not installed ({install_hint('bench')})"
    longest_row = int(np.diff(pattern.indptr).max(initial=0))
    if longest_row > 2000:
        return (f"a row with {longest_row} entries: sparsejac's column-intersection graph "
                "would have ~n^2/2 edges")
    import jax
    import sparsejac
    from jax.experimental import sparse as jsparse
    jnp = _jnp()
    fn = problem.f_jax if problem.kind == "jacobian" else jax.grad(problem.f_jax)
    (bcoo, op), t_prep = _timed(lambda: (
        jsparse.BCOO.from_scipy_sparse(sp.csr_matrix(pattern.astype(np.float64))),
        None))
    op, t_color = _timed(lambda: jax.jit(sparsejac.jacfwd(fn, sparsity=bcoo)))
    xj = jnp.asarray(problem.x0)
    res, t_first = _timed(lambda: op(xj).data.block_until_ready())
    idx = np.asarray(op(xj).indices)
    csr_pattern, perm = _csr_permutation(idx[:, 0], idx[:, 1], pattern.shape)

    def evaluate():
        data = np.asarray(op(xj).data)
        return sp.csr_array((data[perm], csr_pattern.indices, csr_pattern.indptr), shape=pattern.shape)

    t_eval = median_time(evaluate, repeats)
    out = evaluate()
    return {"detect": None, "color": t_prep + t_color, "compile": t_first, "eval": t_eval,
            "colors": None, "nnz": out.nnz, "matrix": out}


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


def run_casadi(problem: Problem, repeats: int = 20, max_prep_seconds: float = 120.0):
    """CasADi SX: symbolic Jacobian/Hessian, evaluated through ``Function.buffer`` into numpy."""
    if not _installed("casadi"):
        return f"not installed ({install_hint('bench')})"
    if problem.casadi is None:
        return "no CasADi formulation"
    import casadi as ca

    def prepare():
        x, expr = problem.casadi(ca)
        if problem.kind == "jacobian":
            deriv = ca.jacobian(expr, x)
        else:
            deriv, _ = ca.hessian(expr, x)
        return ca.Function("d", [x], [deriv])

    fun, t_prep = _timed(prepare)
    spo = fun.sparsity_out(0)
    shape = (spo.size1(), spo.size2())
    colind = np.asarray(spo.colind(), dtype=np.int64)
    rows = np.asarray(spo.row(), dtype=np.int64)
    cols = np.repeat(np.arange(shape[1]), np.diff(colind))
    csr_pattern, perm = _csr_permutation(rows, cols, shape)
    x = np.ascontiguousarray(problem.x0, dtype=np.float64)
    values = np.zeros(rows.size)
    buf, run = fun.buffer()
    buf.set_arg(0, memoryview(x))
    buf.set_res(0, memoryview(values))
    _, t_first = _timed(run)

    def evaluate():
        run()
        return sp.csr_array((values[perm], csr_pattern.indices, csr_pattern.indptr), shape=shape)

    t_eval = median_time(evaluate, repeats)
    t_eval_only = median_time(run, repeats)
    out = evaluate()
    return {"detect": t_prep, "color": None, "compile": t_first, "eval": t_eval,
            "eval_no_csr": t_eval_only, "colors": None, "nnz": out.nnz, "matrix": out}


# --- scipy finite differences --------------------------------------------------

def run_fd(problem: Problem, pattern: sp.csr_array, gradient: Callable | None = None, repeats: int = 5):
    """scipy's ``approx_derivative`` (2-point) with ``sparsity=(pattern, groups)``.

    For Hessians, differences of ``gradient`` (which must be given).
    """
    from scipy.optimize._numdiff import approx_derivative, group_columns
    fn = problem.f if problem.kind == "jacobian" else gradient
    if fn is None:
        return "needs a gradient function"
    groups, t_color = _timed(lambda: group_columns(sp.csc_matrix(pattern)))
    x = problem.x0

    def evaluate():
        out = sp.csr_array(approx_derivative(fn, x, method="2-point", sparsity=(pattern, groups)))
        out.sort_indices()
        return out

    out, t_first = _timed(evaluate)
    t_eval = median_time(evaluate, repeats, min_seconds=0.0, max_seconds=30.0)
    return {"detect": None, "color": t_color, "compile": None, "eval": t_eval,
            "colors": int(groups.max()) + 1, "nnz": out.nnz, "matrix": out}
