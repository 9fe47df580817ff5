"""Run every mode and backend of sparsead on one fuzzer program and compare with the reference.

:func:`check_program` prepares, for one program, ``sparse_jacobian`` in every
mode (forward, reverse, bidirectional, auto), and for scalar programs
``sparse_hessian`` (star and acyclic, plus ``hessp``), ``gradient``, ``jvp``,
``vjp`` and ``hvp``, with each requested backend; evaluates them at every point
and compares with the dense reference (``reference.py``): NaN equals NaN, inf
equals inf of the same sign, finite entries agree to a tolerance scaled by the
matrix's magnitude. It also checks detection soundness (the global and the
local patterns contain every entry where the reference is nonzero).

A failure is a :class:`Finding`; :data:`KNOWN` lists the known, not yet fixed
disagreement classes (each with a predicate that recognises it and the reason),
so tests can mark them expected without skipping anything silently.
"""

from __future__ import annotations

import traceback
import warnings
from collections import Counter
from dataclasses import dataclass

import numpy as np

import sparsead as sa

from .reference import reference

__all__ = ["Finding", "check_program", "close", "KNOWN", "known_reason", "JAC_MODES",
           "HESS_MODES"]

JAC_MODES = ("forward", "reverse", "bidirectional", "auto")
HESS_MODES = ("direct", "substitution")   # sparse_hessian(decompression=...)


@dataclass
class Finding:
    """One failed check: ``kind`` is disagree / error / unsound / reference."""

    kind: str
    check: str        # e.g. "jacobian:forward:numpy"
    point: str        # point kind ("random", "ties", ...) or "-" for preparation
    detail: str
    x: object = None

    def __str__(self):
        return f"{self.kind} {self.check} at {self.point}: {self.detail}"


def close(lib, ref, *, loose=False):
    """Entries where ``lib`` and ``ref`` disagree: ``(mask, scale)``.

    NaN == NaN and inf == inf (same sign); finite entries within
    ``1e-7 * |ref| + 1e-9 * scale`` with ``scale`` the largest finite magnitude of
    ``ref`` (at least 1). ``loose`` (dense products, other groupings): any
    non-finite value matches any non-finite value.
    """
    lib = np.asarray(lib, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if lib.shape != ref.shape:
        return np.ones(max(lib.size, ref.size), dtype=bool), 1.0
    fin_r, fin_l = np.isfinite(ref), np.isfinite(lib)
    scale = max(1.0, float(np.max(np.abs(ref[fin_r]), initial=0.0)))
    with np.errstate(all="ignore"):
        near = np.abs(lib - ref) <= 1e-7 * np.abs(ref) + 1e-9 * scale
    if loose:
        same_nonfinite = ~fin_r & ~fin_l
    else:
        same_nonfinite = (np.isnan(ref) & np.isnan(lib)) | (np.isinf(ref) & (lib == ref))
    ok = np.where(fin_r & fin_l, near, same_nonfinite)
    return ~ok, scale


def _describe(lib, ref, bad):
    idx = np.argwhere(bad)
    parts = []
    for k in idx[:3]:
        k = tuple(int(i) for i in k)
        parts.append(f"{k}: sparsead {lib[k]!r} vs reference {ref[k]!r}")
    more = f" (+{len(idx) - 3} more)" if len(idx) > 3 else ""
    return "; ".join(parts) + more


def _compare(findings, counts, check, kind, x, lib, ref, loose=False, free=None, alt=None):
    """Compare; ``free``: a mask of entries whose value is unspecified (see :func:`_free_masks`);
    ``alt = (mask, F, nonfinite)``: grouping-dependent entries (any non-finite value or
    ``F`` is right there) and the reference's non-finite entries at a singular point."""
    counts[check] += 1
    lib = np.asarray(lib, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if lib.shape != ref.shape:
        findings.append(Finding("disagree", check, kind, f"shape {lib.shape} vs {ref.shape}", x))
        return
    bad, _ = close(lib, ref, loose=loose)
    if alt is not None:
        other, _ = close(lib, alt[1])
        ok_alt = alt[0] & (~np.isfinite(lib) | ~other)
        # at a singular point a non-finite entry may be +-inf or NaN depending on the
        # formula (the sign of a zero, which partial is differentiated)
        ok_alt |= alt[2] & ~np.isfinite(lib)
        bad = bad & ~ok_alt
    if free is not None:
        bad = bad & ~np.broadcast_to(free, bad.shape)
    if bad.any():
        findings.append(Finding("disagree", check, kind, _describe(lib, ref, bad), x))


def _error(findings, check, kind, exc, x=None):
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{tb[-1].filename.split('/')[-1]}:{tb[-1].lineno}" if tb else "?"
    findings.append(Finding("error", check, kind,
                            f"{type(exc).__name__}: {str(exc)[:300]} [{where}]", x))


def _dense_product(M, v):
    """``M @ v`` with the strong zero (a zero factor never makes NaN)."""
    with np.errstate(all="ignore"):
        p = M * v[None, :]
    p = np.where((M == 0) | (v[None, :] == 0), 0.0, p)
    return p.sum(axis=1)


class _Prepared:
    """Prepared operators of one program, built lazily per (what, mode, backend)."""

    def __init__(self, f, x0, findings):
        self.f, self.x0, self.findings = f, x0, findings
        self.cache = {}

    def get(self, check, build):
        if check not in self.cache:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.cache[check] = build()
            except NotImplementedError as exc:
                if check.endswith(":numba") and "disagree" in str(exc):
                    # the compiled lanes were wrong at x0 and the preparation check caught it
                    self.findings.append(Finding("refused", check, "-", str(exc)[:300],
                                                 self.x0))
                    self.cache[check] = "unsupported"
                elif check.endswith(":numba") and not isinstance(
                        exc, sa.UnsupportedOperationError):
                    self.cache[check] = "unsupported"
                else:
                    _error(self.findings, check, "-", exc)
                    self.cache[check] = None
            except Exception as exc:  # noqa: BLE001
                _error(self.findings, check, "-", exc)
                self.cache[check] = None
        return self.cache[check]


def _any_free(free, alt, axis):
    """Entries of a dense product that read a free or grouping-dependent entry."""
    f = free if alt is None else free | alt[0]
    return f.any(axis=axis)


def _free_masks(prog, x, y, J, H):
    """Entries whose derivative is unspecified: ``(free_J, free_H)``.

    Rows of outputs whose value is inf or NaN (``f`` is not differentiable
    there), and at points with non-finite inputs the entries that change when
    those inputs are replaced by finite values (their derivative formulas meet
    inf/NaN arguments, where limits and formulas differ). Every other entry --
    e.g. a NaN input whose value is discarded -- must be exact.
    """
    fJ = np.broadcast_to(~np.isfinite(y).reshape(-1, 1), J.shape).copy()
    fH = None if H is None else np.full(H.shape, not np.all(np.isfinite(y)))
    bad_in = ~np.isfinite(x)
    if bad_in.any():
        for alt in (0.75, -1.25):
            xa = np.where(bad_in, alt, x)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, Ja, Ha, _ = reference(prog, xa)
            fJ |= close(J, Ja)[0].reshape(J.shape)
            if fH is not None and Ha is not None:
                fH |= close(H, Ha)[0].reshape(H.shape)
    return fJ, fH


def _subset(pattern, M):
    """Entries of ``M`` that are nonzero (NaN counts) outside ``pattern``."""
    P = pattern.toarray().astype(bool) if hasattr(pattern, "toarray") else np.asarray(pattern)
    return (np.asarray(M) != 0) & ~P


def check_program(prog, pts, *, backends=("numpy",), detection=True, extra_modes=True):
    """Check one program at the points ``pts`` (``[(kind, x), ...]``).

    Returns ``(findings, counts)``: the failures and, per check name, the number
    of comparisons made. Check names are ``what:mode:backend``.
    """
    findings, counts = [], Counter()
    f = prog.function()
    x0 = pts[0][1]
    refs = []
    for kind, x in pts:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = np.asarray(f(x.copy()), dtype=np.float64)
        except Exception as exc:  # noqa: BLE001  (the generator made an invalid program)
            _error(findings, "numpy-run", kind, exc, x)
            return findings, counts
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v, J, H, singular = reference(prog, x)
                aJ = aH = None
                if singular:
                    _, MJ, MH, _ = reference(prog, x, mode="magnitude")
                    _, FJ, FH, _ = reference(prog, x, mode="finite")
                    aJ = (~np.isfinite(MJ) & ~np.isinf(J), FJ, ~np.isfinite(J))
                    if H is not None:
                        aH = (~np.isfinite(MH) & ~np.isinf(H), FH, ~np.isfinite(H))
        except Exception as exc:  # noqa: BLE001
            _error(findings, "reference", kind, exc, x)
            return findings, counts
        bad, _ = close(v.reshape(-1), y.reshape(-1))
        if v.shape != y.shape or bad.any():
            findings.append(Finding("reference", "value", kind,
                                    f"reference value differs from numpy's: {v} vs {y}", x))
        fJ, fH = _free_masks(prog, x, y, J, H)
        refs.append((kind, x, y, J, H, fJ, fH, aJ, aH))

    prepared = _Prepared(f, x0, findings)
    scalar = prog.scalar

    if detection:
        checks = [("detect:jacobian", lambda: sa.jacobian_sparsity(f, x0), "J")]
        if scalar:
            checks.append(("detect:hessian", lambda: sa.hessian_sparsity(f, x0), "H"))
        for check, build, which in checks:
            P = prepared.get(check, build)
            if P is None:
                continue
            for kind, x, y, J, H, fJ, fH, aJ, aH in refs:
                M = J if which == "J" else H
                if M is None:
                    continue
                counts[check] += 1
                miss = _subset(P, M)
                if miss.any():
                    findings.append(Finding("unsound", check, kind,
                                            _describe(M, M, miss), x))
        for kind, x, y, J, H, fJ, fH, aJ, aH in refs:
            check = "detect:local"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    P = sa.jacobian_sparsity(f, x, local=True)
            except Exception as exc:  # noqa: BLE001
                _error(findings, check, kind, exc, x)
                continue
            counts[check] += 1
            miss = _subset(P, J)
            if miss.any():
                findings.append(Finding("unsound", check, kind, _describe(J, J, miss), x))

    builders = [("jacobian", m, lambda m, b: sa.sparse_jacobian(f, x0, mode=m, backend=b))
                for m in JAC_MODES]
    if scalar:
        builders += [("hessian", m,
                      lambda m, b: sa.sparse_hessian(f, x0, decompression=m, backend=b))
                     for m in HESS_MODES]
    for backend in backends:
        for what, mode, build in builders:
            check = f"{what}:{mode}:{backend}"
            op = prepared.get(check, lambda: build(mode, backend))
            if op == "unsupported":     # numba may refuse; auto must then work (numpy lanes)
                counts[check + ":unsupported"] += 1
                check = f"{what}:{mode}:auto"
                op = prepared.get(check, lambda: build(mode, "auto"))
            if op is None:
                continue
            for kind, x, y, J, H, fJ, fH, aJ, aH in refs:
                ref, free, alt = (J, fJ, aJ) if what == "jacobian" else (H, fH, aH)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        M = op(x).toarray()
                except Exception as exc:  # noqa: BLE001
                    _error(findings, check, kind, exc, x)
                    continue
                _compare(findings, counts, check, kind, x, M, ref, free=free, alt=alt)
                if what == "hessian" and mode == "direct" and extra_modes and backend == "numpy":
                    _hessp_check(findings, counts, op, kind, x, H, fH, aH)

    if extra_modes:
        _api_checks(prog, f, refs, findings, counts)
    return findings, counts


def _gradient_check(grad, findings, counts, kind, x, y, J, fJ, aJ):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = grad(x)
    except Exception as exc:  # noqa: BLE001
        _error(findings, "gradient", kind, exc, x)
        return
    _compare(findings, counts, "gradient", kind, x, g.reshape(-1), J.reshape(-1),
             free=fJ.reshape(-1), alt=None if aJ is None else tuple(a.reshape(-1) for a in aJ))


def _hessp_check(findings, counts, op, kind, x, H, fH, aH):
    p = np.linspace(-1.0, 1.5, x.size) + 0.125
    try:
        hp = op.hessp(x, p)
    except Exception as exc:  # noqa: BLE001
        _error(findings, "hessp:numpy", kind, exc, x)
        return
    _compare(findings, counts, "hessp:numpy", kind, x, hp.reshape(-1), _dense_product(H, p),
             loose=True, free=_any_free(fH, aH, 1))


def _api_checks(prog, f, refs, findings, counts):
    """``gradient``, ``jvp``, ``vjp`` and ``hvp`` (numpy lanes; each call traces again).

    ``gradient`` at every point; the others (which trace per call) at the first
    point and one edge point (ties, zeros or non-finite, in turn by program size).
    """
    grad = sa.gradient(f) if prog.scalar else None
    some = {0, 2 + prog.n % max(len(refs) - 2, 1)}
    for k, (kind, x, y, J, H, fJ, fH, aJ, aH) in enumerate(refs):
        if grad is not None:
            _gradient_check(grad, findings, counts, kind, x, y, J, fJ, aJ)
        if k not in some:
            continue
        v = np.linspace(-1.0, 1.0, x.size) + 0.25
        w = np.linspace(0.5, -1.5, J.shape[0]) + 0.125
        for check, run in (("jvp", lambda: sa.jvp(f, x, v)),
                           ("vjp", lambda: sa.vjp(f, x, w.reshape(np.shape(y))))):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    yl, t = run()
            except Exception as exc:  # noqa: BLE001
                _error(findings, check, kind, exc, x)
                continue
            ref = _dense_product(J, v) if check == "jvp" else _dense_product(J.T, w)
            free = _any_free(fJ, aJ, 1 if check == "jvp" else 0)
            _compare(findings, counts, check, kind, x, np.ravel(t), ref, loose=True, free=free)
            _compare(findings, counts, check + ":value", kind, x, np.ravel(yl), np.ravel(y))
        if grad is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hv = sa.hvp(f, x, v)
        except Exception as exc:  # noqa: BLE001
            _error(findings, "hvp", kind, exc, x)
        else:
            _compare(findings, counts, "hvp", kind, x, hv.reshape(-1), _dense_product(H, v),
                     loose=True, free=_any_free(fH, aH, 1))


# --- known, not yet fixed disagreement classes ------------------------------------------

def _refused_where_unspecified(prog, f):
    """The lane check refused the compiled lanes over NaN entries at an ``x0`` where the
    derivative is unspecified: ``f`` is inf/NaN there, or a sum that cancels exactly meets
    a non-finite partial, where the grouping decides (``cbrt(m % m)``: the interpreter sums
    the partials of one input first and gets 0, the kernel gets inf - inf). Safe but
    needless: the numpy interpreter is then used."""
    if f.kind != "refused" or "nan) instead" not in f.detail or f.x is None:
        return False
    x = np.array(f.x)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.asarray(prog.function()(x), dtype=np.float64)
        if not np.all(np.isfinite(y)):
            return True
        _, J, H, singular = reference(prog, x)
        if not singular:
            return False
        _, MJ, MH, _ = reference(prog, x, mode="magnitude")
    ambiguous = (~np.isfinite(MJ) & ~np.isinf(J)).any()
    if H is not None:
        ambiguous |= (~np.isfinite(MH) & ~np.isinf(H)).any()
    return bool(ambiguous)


#: reason -> predicate(program, finding); a finding matching one is a known, open Numba-side
#: disagreement (reported by the fuzzer script and marked expected by the tests)
KNOWN = {
    "numba: the lane check refuses kernels over entries whose derivative is unspecified at "
    "x0 (f inf/NaN, or an exact cancellation meets an infinite partial)":
        _refused_where_unspecified,
}


def known_reason(prog, finding):
    """The reason of a known disagreement class this finding belongs to, or None."""
    for reason, pred in KNOWN.items():
        if pred(prog, finding):
            return reason
    return None
