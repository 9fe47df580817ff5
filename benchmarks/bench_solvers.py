"""End-to-end solver runs with sparsead derivatives against the usual alternatives.

    python benchmarks/bench_solvers.py [--time-limit 120] [--quick]

1. Stiff 2-D Brusselator (N = 32, 64; t in [0, 11.5]) with ``solve_ivp(method="BDF")``:
   sparsead ``jac=`` vs ``jac_sparsity=`` finite differences vs no Jacobian
   information (dense finite differences).
2. Minimal surface with an obstacle (N = 100, n = 10^4, bound-constrained) with
   ``minimize(method="trust-constr")`` and with IPOPT: sparsead's exact sparse
   Hessian vs a quasi-Newton Hessian (BFGS update; L-BFGS in IPOPT) vs
   finite-difference Hessians (colored sparse FD of the exact gradient, and
   SciPy's ``hess="2-point"`` Hessian-vector products).
3. ``least_squares`` on the Broyden tridiagonal system (n = 10^5, trf/lsmr):
   sparsead ``jac=`` vs ``jac_sparsity=`` finite differences.

Every run is a child process stopped at ``--time-limit`` seconds; wall times
include sparsead's preparation (trace, detect, color; numba kernels come from
the on-disk cache after the first run), shown separately as "prep".
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import BFGS, Bounds, least_squares, minimize
from scipy.optimize._numdiff import approx_derivative

import sparsead as sa
from sparsead import optimize as so
from sparsead.examples import (broyden_tridiagonal, brusselator, brusselator_x0,
                               minimal_surface, minimal_surface_boundary)


class Counted:
    """A function wrapper counting calls (the solvers' own counters miss FD columns)."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *a):
        self.calls += 1
        return self.f(*a)


# --- 1. Brusselator / solve_ivp BDF ------------------------------------------------------

T_END = 11.5
IVP_TOL = dict(rtol=1e-6, atol=1e-8)


def bru_rhs(t, y):
    return brusselator(y, t)


def ivp_run(N, variant, tol=IVP_TOL):
    y0 = brusselator_x0(N)
    rhs = Counted(bru_rhs)
    t0 = time.perf_counter()
    kw = {}
    if variant == "sparsead jac=":
        kw["jac"] = so.ode_jacobian(bru_rhs, y0)
    elif variant == "jac_sparsity= (FD)":
        kw["jac_sparsity"] = sa.jacobian_sparsity(lambda y, t: brusselator(y, t), y0,
                                                  args=(np.array(0.0),))
    prep = time.perf_counter() - t0
    sol = solve_ivp(rhs, (0.0, T_END), y0, method="BDF", **kw, **tol)
    wall = time.perf_counter() - t0
    return dict(wall=wall, prep=prep, rhs=rhs.calls, njev=sol.njev, nlu=sol.nlu,
                status=sol.status, y=sol.y[:, -1])


# --- 2. minimal surface with an obstacle ---------------------------------------------------

def surface_problem(N=100):
    boundary = minimal_surface_boundary(N)
    grid = np.linspace(-0.5, 0.5, N + 2)[1:-1]
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    plate = (np.abs(X) <= 0.15) & (np.abs(Y) <= 0.15)
    lb = np.where(plate, 0.05, -np.inf).ravel()
    x0 = np.where(plate.ravel(), 0.06, 0.0)   # strictly inside the bounds
    return boundary, Bounds(lb, np.inf), x0


def _colored_fd_hessian(f, x0, args):
    """A sparse Hessian by column-colored forward differences of the exact gradient."""
    grad = sa.gradient(f)
    P = sa.hessian_sparsity(f, x0, args)
    groups = sa.color(P, "column").colors

    def hess(x, *a):
        return approx_derivative(lambda z: grad(z, *a), x, method="2-point",
                                 sparsity=(P, groups))
    return grad, hess, P


def tc_run(N, variant):
    boundary, bounds, x0 = surface_problem(N)
    f = Counted(minimal_surface)
    t0 = time.perf_counter()
    if variant == "sparsead exact hess":
        kw = so.derivatives(minimal_surface, x0, (boundary,), method="trust-constr")
    elif variant == "BFGS update":
        kw = dict(jac=sa.gradient(minimal_surface), hess=BFGS())
    elif variant == "FD hess (colored, sparse)":
        grad, hess, _ = _colored_fd_hessian(minimal_surface, x0, (boundary,))
        kw = dict(jac=grad, hess=hess)
    elif variant == "FD hess ('2-point' products)":
        kw = dict(jac=sa.gradient(minimal_surface), hess="2-point")
    prep = time.perf_counter() - t0
    res = minimize(f, x0, args=(boundary,), method="trust-constr", bounds=bounds,
                   options=dict(gtol=1e-8, xtol=1e-10, maxiter=3000), **kw)
    wall = time.perf_counter() - t0
    return dict(wall=wall, prep=prep, nit=res.nit, fev=f.calls, fun=res.fun, status=res.status,
                msg=res.message[:40])


class _FdHessianCallbacks:
    """IPOPT callbacks: sparsead's for everything but the Hessian (colored FD of the gradient)."""

    def __init__(self, base, f, x0, args):
        self.base = base
        _, self.fd, _ = _colored_fd_hessian(f, x0, args)
        self.rows, self.cols = base.hessianstructure()
        self.args = args

    def __getattr__(self, name):
        return getattr(self.base, name)

    def hessian(self, x, lagrange, obj_factor):
        H = self.fd(x, *self.args).tocsr()
        return obj_factor * np.asarray(H[self.rows, self.cols]).ravel()


def ipopt_run(N, variant):
    import cyipopt

    boundary, bounds, x0 = surface_problem(N)
    t0 = time.perf_counter()
    hessian = "limited-memory" if variant == "L-BFGS" else "exact"
    nlp = so.ipopt_problem(minimal_surface, x0, (boundary,), bounds=bounds, hessian=hessian)
    cb = nlp.callbacks
    if variant == "FD hess (colored, sparse)":
        cb = _FdHessianCallbacks(nlp.callbacks, minimal_surface, x0, (boundary,))
        nlp = cyipopt.Problem(n=x0.size, m=0, problem_obj=cb, lb=bounds.lb, ub=bounds.ub)
        nlp.add_option("sb", "yes")
    prep = time.perf_counter() - t0
    for k, v in dict(print_level=0, tol=1e-8, mu_strategy="adaptive", max_iter=3000).items():
        nlp.add_option(k, v)
    if hessian == "limited-memory":
        nlp.add_option("hessian_approximation", "limited-memory")
    x, info = nlp.solve(x0)
    wall = time.perf_counter() - t0
    base = cb.base if isinstance(cb, _FdHessianCallbacks) else cb
    return dict(wall=wall, prep=prep, nit=base.nit, fev=base.nfev, fun=info["obj_val"],
                status=info["status"], msg=info["status_msg"].decode()[:40])


# --- 3. least_squares --------------------------------------------------------------------

def ls_run(n, variant):
    x0 = -np.ones(n)
    fun = Counted(broyden_tridiagonal)
    t0 = time.perf_counter()
    if variant == "sparsead jac=":
        kw = dict(jac=sa.sparse_jacobian(broyden_tridiagonal, x0))
    else:
        kw = dict(jac_sparsity=sa.jacobian_sparsity(broyden_tridiagonal, x0))
    prep = time.perf_counter() - t0
    res = least_squares(fun, x0, method="trf", tr_solver="lsmr", xtol=1e-14, ftol=1e-14,
                        gtol=1e-14, **kw)
    wall = time.perf_counter() - t0
    return dict(wall=wall, prep=prep, nfev=res.nfev, njev=res.njev, fev=fun.calls,
                cost=res.cost, resid=float(np.max(np.abs(res.fun))), status=res.status)


# --- time-limited children -----------------------------------------------------------------

def _child(q, fn, a):
    try:
        q.put(("ok", fn(*a)))
    except BaseException as exc:  # noqa: BLE001 - reported in the table
        q.put(("error", f"{type(exc).__name__}: {exc}"[:80]))


def limited(fn, *a, limit):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q, fn, a))
    t0 = time.perf_counter()
    p.start()
    while p.is_alive() and time.perf_counter() - t0 < limit:
        try:
            kind, out = q.get(timeout=0.2)
            p.join()
            return out if kind == "ok" else {"error": out}
        except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
            pass
    if not q.empty():
        kind, out = q.get()
        p.join()
        return out if kind == "ok" else {"error": out}
    p.terminate()
    p.join()
    return {"error": f"did not finish within {limit:.0f} s"}


def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")


def fmt(x, spec):
    return format(x, spec) if isinstance(x, (int, float, np.floating, np.integer)) else "—"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    opts = ap.parse_args(argv)
    T = opts.time_limit
    Ns = (8, 12) if opts.quick else (32, 64)
    surf_N = 20 if opts.quick else 100
    ls_n = 10_000 if opts.quick else 100_000

    # Compile sparsead's numba kernels for these exact problems once, untimed (they are
    # cached on disk and inherited by the forked runs), so "prep" is the warm cost.
    t0 = time.perf_counter()
    for N in Ns:
        so.ode_jacobian(bru_rhs, brusselator_x0(N))
    boundary, bounds, x0 = surface_problem(surf_N)
    so.derivatives(minimal_surface, x0, (boundary,), method="trust-constr")
    so.ipopt_problem(minimal_surface, x0, (boundary,), bounds=bounds)
    sa.sparse_jacobian(broyden_tridiagonal, np.ones(ls_n))
    print(f"sparsead first preparation of all problems (numba compile or disk cache): "
          f"{time.perf_counter() - t0:.1f} s")

    rows = []
    for N in Ns:
        ref = limited(ivp_run, N, "sparsead jac=", dict(rtol=1e-10, atol=1e-12), limit=10 * T)
        for variant in ("sparsead jac=", "jac_sparsity= (FD)", "no jac (dense FD)"):
            r = limited(ivp_run, N, variant, limit=T)
            if "error" in r:
                rows.append([N, 2 * N * N, variant, r["error"], "", "", "", "", ""])
                continue
            err = (np.linalg.norm(r["y"] - ref["y"]) / np.linalg.norm(ref["y"])
                   if "y" in ref else float("nan"))
            rows.append([N, 2 * N * N, variant, fmt(r["wall"], ".2f"), fmt(r["prep"], ".3f"),
                         r["rhs"], r["njev"], r["nlu"], fmt(err, ".1e")])
    table(f"solve_ivp BDF, 2-D Brusselator, t in [0, {T_END}], rtol=1e-6, atol=1e-8",
          ["N", "n", "Jacobian", "wall s", "prep s", "rhs evals", "njev", "nlu",
           "rel. error vs rtol=1e-10 run"], rows)

    rows = []
    for variant in ("sparsead exact hess", "BFGS update", "FD hess (colored, sparse)",
                    "FD hess ('2-point' products)"):
        r = limited(tc_run, surf_N, variant, limit=T)
        rows.append(["trust-constr", variant] + (
            [r["error"], "", "", "", ""] if "error" in r else
            [fmt(r["wall"], ".2f"), fmt(r["prep"], ".3f"), r["nit"], r["fev"],
             fmt(r["fun"], ".10f"), r["msg"]]))
    for variant in ("sparsead exact hess", "L-BFGS", "FD hess (colored, sparse)"):
        r = limited(ipopt_run, surf_N, variant, limit=T)
        rows.append(["IPOPT", variant] + (
            [r["error"], "", "", "", ""] if "error" in r else
            [fmt(r["wall"], ".2f"), fmt(r["prep"], ".3f"), r["nit"], r["fev"],
             fmt(r["fun"], ".10f"), r["msg"]]))
    table(f"minimal surface with obstacle, N = {surf_N} (n = {surf_N ** 2}), bounds",
          ["solver", "Hessian", "wall s", "prep s", "iterations", "f evals", "final f",
           "status"], rows)

    rows = []
    for variant in ("sparsead jac=", "jac_sparsity= (FD)"):
        r = limited(ls_run, ls_n, variant, limit=T)
        rows.append([ls_n, variant] + (
            [r["error"], "", "", "", "", ""] if "error" in r else
            [fmt(r["wall"], ".2f"), fmt(r["prep"], ".3f"), r["nfev"], r["njev"], r["fev"],
             fmt(r["resid"], ".1e")]))
    table("least_squares trf/lsmr, Broyden tridiagonal from x0 = -1",
          ["n", "Jacobian", "wall s", "prep s", "nfev", "njev", "fun calls (incl. FD)",
           "max |F(x*)|"], rows)


if __name__ == "__main__":
    main()
