"""Tracing a function: :func:`trace` runs ``f`` on a :class:`~.tracer.Tracer` and returns the graph.

Fed by the tracer and the handler modules that lower numpy onto primitives
(imported by the package ``__init__`` before this module); while ``f`` runs,
``conversions`` routes ``np.array``/``np.asarray`` and the array creators; in
local mode the decisions taken are recorded as guards (``guards``), and
loop-written scalar code is rolled into vector primitives (``reroll``).
"""

from __future__ import annotations

import numpy as np

from .._errors import TracerConversionError, TracingError
from . import conversions as _conv
from . import guards as _guards
from . import reroll as _reroll
from .graph import evaluate
from .tracer import TraceContext, Tracer

__all__ = ["trace"]


def trace(f, x, args=(), *, local=False, args_as_inputs=False, reroll=True):
    """Trace ``f(x, *args)`` into a :class:`Graph`.

    Parameters
    ----------
    f : callable
        ``f(x, *args)`` written with numpy.
    x : array_like
        The point to trace at (its shape and dtype; its values only in local mode).
        Integer and boolean inputs are traced as float64.
    args : tuple, optional
        Extra arguments, passed as constants (default) or, with
        ``args_as_inputs=True``, numeric arrays among them become graph inputs
        ``1, 2, ...`` (no index sets; they may then change in
        :func:`~sparsead.tracing.evaluate`).
    local : bool, optional
        Carry primal values along (control flow on traced values is then allowed;
        the decisions are recorded in ``graph.guards``).
    reroll : bool, optional
        Roll repeated scalar statements (loops over elements) into vector
        primitives (:func:`sparsead.tracing.reroll.reroll`).

    Returns
    -------
    Graph
        With ``graph.outputs == [output node]``; ``graph.values`` holds every
        node's value in local mode, ``graph.guards`` the decisions taken there.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
        raise TypeError(f"`x` must be a numeric array, got dtype {x.dtype}.")
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    tc = TraceContext(local)
    xt = tc.input(x, 0)
    call_args = list(args)
    if args_as_inputs:
        for i, a in enumerate(call_args):
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.number):
                call_args[i] = tc.input(a, len(tc.graph.inputs))
    try:
        with _conv.activate(tc, f):
            out = f(xt, *call_args)
            tc.graph.outputs = [_output_node(tc, out)]
    except ValueError as exc:
        # numpy turns our TypeError from `plain[i] = tracer` into "setting an array element
        # with a sequence"; surface the actionable error instead.
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, (TracingError, TracerConversionError)):
            raise inner from None
        raise
    graph = tc.graph
    checks = _guards.truth_vector(tc) if local else []
    graph.guards = checks
    if reroll:
        rolled, kept = _reroll.reroll(graph, [g.node for g in checks])
        if rolled is not graph:
            for g, nid in zip(checks, kept):
                g.node = nid
            rolled.guards = checks
            if local:
                inputs = [args[i] for i, a in enumerate(call_args) if isinstance(a, Tracer)]
                rolled.values = [np.asarray(v) for v in evaluate(rolled, x, inputs,
                                                                  all_values=True)]
            graph = rolled
    return graph


def _output_node(tc, out) -> int:
    if _conv.holds_tracer(out):          # a tracer, or a list of traced values (np.asarray)
        nid = tc.node_of(_conv._traced(out))
    elif isinstance(out, (np.ndarray, np.generic, int, float)) and not isinstance(out, bool):
        nid = tc.const(np.asarray(out))
    else:
        hint = " Combine the pieces with np.stack or np.concatenate." \
            if isinstance(out, (list, tuple)) else ""
        raise TracingError(f"`f` must return a numeric array, got {type(out).__name__}.{hint}")
    dtype = tc.graph.nodes[nid].dtype
    if not (np.issubdtype(dtype, np.number)):
        raise TracingError(f"`f` must return a numeric array, got an array of dtype {dtype}.")
    return nid
