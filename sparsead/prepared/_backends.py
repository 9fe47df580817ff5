"""Lane evaluators of prepared operators: the Numba kernel when it compiles, else the interpreter.

Fed by a graph (``f``'s, its VJP graph or its gradient graph) and a coloring's
colors; returns a function ``inputs -> compressed block`` and the block's
layout, so :class:`sparsead.coloring.decompression.Decompressor` can read it
without a transpose.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np

from .._errors import SparseadWarning
from ..ad.forward import LanePlan, seed_from_colors

BACKENDS = ("auto", "numpy", "numba")


def _numba_module():
    return importlib.import_module("sparsead.ad.numba.backend")


def lanes(graph, wrt, colors, n_lanes, backend, inputs=None, notes=None, threads=1):
    """``(run, layout, name)``: ``run(inputs) -> B`` with B as (m, p) ("rows") or (p, m) ("lanes").

    ``run.into(inputs, fmap, fdata)`` (or None) is the compiled kernel writing the
    lanes through a map straight into ``fdata`` (:mod:`sparsead.ad.numba.fuse`).

    ``backend="auto"`` compiles with Numba within the compile budget and, when
    ``inputs`` (the preparation point) are given, checks the compiled lanes
    against the interpreter there; on any failure it uses the numpy
    interpreter and appends the reason to ``notes`` (the caller warns once).
    ``backend="numba"`` raises instead, with the reason. No lanes (an empty
    pattern, e.g. an empty ``x``): nothing is compiled or run, name None.
    ``threads``: the compiled kernel's elementwise loops are split over this many
    threads when they are long enough to pay (results bit-identical to one thread:
    :func:`sparsead.ad.numba.backend.compile_forward`).
    """
    if n_lanes == 0:
        return _no_lanes, "rows", None
    colors = np.asarray(colors, dtype=np.int64)
    if backend in ("auto", "numba"):
        try:
            mod = _numba_module()
            fn = mod.compile_forward(graph, wrt, colors, int(n_lanes),
                                     budget=mod.COMPILE_BUDGET if backend == "auto" else None,
                                     threads=threads, values=False)
            reason = None
            if inputs is not None and mod.CHECK_LANES:
                reason = mod.check_lanes(fn, graph, wrt, colors, int(n_lanes), inputs)
        except ImportError as exc:
            reason = f"Numba cannot be imported ({exc})"
        except NotImplementedError as exc:      # NumbaBackendError: stage, primitive, why
            reason = str(exc)
        if reason is None:
            def run(inputs):
                return fn(inputs)[1]
            run.into = fn.into          # None unless the kernel writes through a map
            run.map_dtype = fn.map_dtype
            run.threads = fn.threads    # 1 unless the kernel is split over threads
            return run, "rows", "numba"
        if backend == "numba":
            raise NotImplementedError(f"backend='numba' cannot evaluate this function: {reason}. "
                                      "Use backend='numpy' or 'auto'.")
        if notes is not None:
            notes.append(reason)
    plan = LanePlan(graph, wrt, seed_from_colors(colors, n_lanes), want_value=False)

    def interpret(inputs):
        return plan.run_t(inputs)[1]
    interpret.into = None
    interpret.threads = 1
    return interpret, "lanes", "numpy"


def warn_fallback(notes):
    """One warning per prepared operator that fell back to the numpy interpreter."""
    if notes:
        reasons = "; ".join(dict.fromkeys(notes))
        warnings.warn(f"the Numba backend cannot evaluate this function ({reasons}); the numpy "
                      "interpreter is used instead (same results, slower evaluation). Pass "
                      "backend='numpy' to choose it without this warning.", SparseadWarning,
                      stacklevel=4)


def _no_lanes(inputs):
    return np.zeros(0)


_no_lanes.into = None
_no_lanes.threads = 1
