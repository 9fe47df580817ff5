"""Shrink a failing fuzzer program to a minimal reproducer.

Greedy and simple: drop statements the output does not need, bypass a
statement (its uses read one of its inputs of the same shape instead), return
an earlier value, and simplify the point's entries -- each step kept only if
the failure (a predicate) persists.
"""

from __future__ import annotations

import copy

import numpy as np

from .programs import Program

__all__ = ["shrink", "prune", "reproducer"]


def _uses(s):
    return list(s.ins)


def _remap_stmt(s, m):
    s = copy.copy(s)
    s.ins = tuple(m[j] for j in s.ins)
    args = dict(s.args)
    if "operands" in args:
        args["operands"] = [("v", m[o[1]]) if o[0] == "v" else o for o in args["operands"]]
    if "value" in args and isinstance(args["value"], tuple) and args["value"][0] == "v":
        args["value"] = ("v", m[args["value"][1]])
    s.args = args
    return s


def prune(prog: Program) -> Program:
    """Drop the statements the output does not depend on."""
    need = {prog.out}
    for i in range(len(prog.stmts), 0, -1):
        if i in need:
            need.update(_uses(prog.stmts[i - 1]))
    keep = [i for i in range(1, len(prog.stmts) + 1) if i in need]
    m = {0: 0}
    for new, old in enumerate(keep, start=1):
        m[old] = new
    stmts = [_remap_stmt(prog.stmts[old - 1], m) for old in keep]
    return Program(prog.n, stmts, m[prog.out], prog.scalar)


def _bypass(prog, i, j):
    """Uses of value ``i`` read value ``j`` instead (same shape and kind)."""
    m = {k: k for k in range(len(prog.stmts) + 1)}
    m[i] = j
    stmts = [prog.stmts[k - 1] if k <= i else _remap_stmt(prog.stmts[k - 1], m)
             for k in range(1, len(prog.stmts) + 1)]
    return Program(prog.n, stmts, m[prog.out], prog.scalar)


def shrink(prog, x, fails, max_rounds=20):
    """A smaller ``(prog, x)`` for which ``fails(prog, x)`` still holds."""
    prog = prune(prog)
    for _ in range(max_rounds):
        changed = False
        for i in range(len(prog.stmts), 0, -1):
            if i > len(prog.stmts):
                continue
            s = prog.stmts[i - 1]
            for j in sorted(set(s.ins), reverse=True):
                if prog.shape_of(j) != s.shape or prog.kind_of(j) != s.kind:
                    continue
                cand = prune(_bypass(prog, i, j))
                if _safe(fails, cand, x):
                    prog, changed = cand, True
                    break
        for v in range(1, prog.out):
            s = prog.stmts[v - 1]
            if s.kind != "f" or (prog.scalar and s.shape != ()):
                continue
            cand = prune(Program(prog.n, prog.stmts, v, prog.scalar))
            if _safe(fails, cand, x):
                prog, changed = cand, True
                break
        if not changed:
            break
    x = np.array(x, dtype=np.float64)
    for k in range(x.size):
        for simple in (0.5, 1.0, 0.0):
            if x[k] == simple:
                break
            y = x.copy()
            y[k] = simple
            if _safe(fails, prog, y):
                x = y
                break
    return prog, x


def _safe(fails, prog, x):
    try:
        return bool(fails(prog, x))
    except Exception:  # noqa: BLE001  (a shrunk program that no longer runs does not count)
        return False


def reproducer(prog, x, finding):
    """A standalone script reproducing ``finding`` (printed by the fuzzer script)."""
    xs = "np.array([" + ", ".join(
        "np.nan" if np.isnan(v) else ("np.inf" if v == np.inf else "-np.inf" if v == -np.inf
                                       else repr(float(v))) for v in np.ravel(x)) + "])"
    check = getattr(finding, "check", "")
    what, mode, backend = (check.split(":") + ["", "", ""])[:3]
    call = {
        "jacobian": f"sa.sparse_jacobian(f, x, mode={mode!r}, backend={backend!r})(x).toarray()",
        "hessian": f"sa.sparse_hessian(f, x, decompression={mode!r}, "
                   f"backend={backend!r})(x).toarray()",
        "gradient": "sa.gradient(f)(x)",
    }.get(what)
    show = f"print({call})\n" if call else ""
    return (f"# {finding}\nimport numpy as np\nimport scipy.sparse as sp\n"
            f"import scipy.special as sc\nimport sparsead as sa\n\n{prog.source()}\n"
            f"x = {xs}\n{show}")
