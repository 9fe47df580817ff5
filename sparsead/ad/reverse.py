"""The gradient transform and the VJP graph: Graph of f -> Graph of grad f, or of (x, w) -> w^T J.

Fed by a traced :class:`~sparsead.tracing.Graph` and the VJP rules of the
primitives (:mod:`sparsead.primitives`). The transform replays the primal graph inside a new
tracing run (nodes whose inputs are all constant are folded into constants on
the way), then walks it backwards calling each primitive's ``vjp`` rule on
tracers, so the cotangents are recorded as registered primitives (gather's
transpose is an inverse gather or a product with a constant sparse matrix,
broadcasting's is a sum, ``spmatmul``'s uses ``A.T`` ...). The result is an
ordinary graph: the index-set interpreter, the forward lanes and the Numba
backend all run on it. Dead nodes are pruned.

Reverse lanes are forward lanes of the VJP graph with respect to ``w`` (it is
linear in ``w``); Hessian lanes are forward lanes of the gradient graph with
respect to ``x`` (forward-over-reverse).
"""

from __future__ import annotations

import numpy as np

from .._validation.values import check_scalar_output
from ..primitives import REGISTRY, Call, passes
from ..tracing import Graph
from ..tracing.tracer import TraceContext, Tracer

__all__ = ["grad_graph", "vjp_graph", "prune"]


def _replay(graph, tc, input_tracers):
    """Re-record ``graph`` in ``tc``; constant subgraphs are evaluated (folded) on the way."""
    vals = [None] * len(graph.nodes)
    live = graph.live()
    for i, nd in enumerate(graph.nodes):
        if nd.prim == "input":
            vals[i] = input_tracers[nd.params["index"]]
        elif nd.prim == "const":
            vals[i] = nd.params["value"]
        elif live[i]:
            ins = [vals[j] for j in nd.inputs]
            if any(isinstance(v, Tracer) for v in ins):
                vals[i] = tc.add(nd.prim, ins, **nd.params)
            else:
                with np.errstate(all="ignore"):
                    vals[i] = REGISTRY[nd.prim].impl(*ins, **nd.params)
    return vals


def _backward(graph, vals, seed, wrt_node):
    """Cotangent of ``wrt_node`` given the cotangent ``seed`` of the output (tracers)."""
    nodes = graph.nodes
    N = len(nodes)
    dx = np.zeros(N, dtype=bool)
    for i, nd in enumerate(nodes):
        if i == wrt_node:
            dx[i] = True
        elif nd.prim not in ("input", "const"):
            dx[i] = any(dx[j] and passes(nd.prim, k, nodes[j].dtype, nd.params)
                        for k, j in enumerate(nd.inputs))
    cts = [None] * N
    out = graph.outputs[0]
    if not dx[out]:
        return None
    cts[out] = seed
    for i in range(N - 1, -1, -1):
        ct = cts[i]
        if ct is None or i == wrt_node or not dx[i]:
            continue
        nd = nodes[i]
        need = [bool(dx[j]) and passes(nd.prim, k, nodes[j].dtype, nd.params)
                for k, j in enumerate(nd.inputs)]
        c = Call(nd.shape, [nodes[j].shape for j in nd.inputs], nd.params, need=need)
        contrib = REGISTRY[nd.prim].vjp(c, [vals[j] for j in nd.inputs], vals[i], ct)
        for k, j in enumerate(nd.inputs):
            g = contrib[k]
            if g is None or not need[k]:
                continue
            if not isinstance(g, Tracer):
                g = ct._tc.add("reshape", [np.asarray(g, dtype=np.float64)], shape=nodes[j].shape)
            cts[j] = g if cts[j] is None else cts[j] + g
        cts[i] = None
    return cts[wrt_node]


def _finish(tc, result, shape):
    """Make ``result`` (tracer, constant or None) the float64 output of shape ``shape``."""
    if result is None:
        result = Tracer(tc, tc.const(np.zeros(shape)))
    elif not isinstance(result, Tracer):
        result = Tracer(tc, tc.const(np.asarray(result, dtype=np.float64).reshape(shape)))
    if tuple(result.shape) != tuple(shape):
        result = tc.add("reshape", [result], shape=tuple(shape))
    if result.dtype != np.float64:
        result = tc.add("cast", [result], dtype=np.dtype(np.float64))
    tc.graph.outputs = [tc.node_of(result)]
    return prune(tc.graph)


def prune(graph):
    """A copy of ``graph`` without the nodes its output does not need (inputs are kept)."""
    live = graph.live()
    live[list(graph.inputs)] = True
    new_id = np.cumsum(live) - 1
    g = Graph()
    for i, nd in enumerate(graph.nodes):
        if live[i]:
            g.add(nd.prim, [int(new_id[j]) for j in nd.inputs], nd.params, nd.shape, nd.dtype)
    g.inputs = [int(new_id[j]) for j in graph.inputs]
    g.outputs = [int(new_id[j]) for j in graph.outputs]
    return g


def _inputs(tc, graph, order):
    """Fresh input tracers in ``tc`` for ``graph``'s inputs, created in the order ``order``."""
    made = {}
    for k in order:
        nd = graph.nodes[graph.inputs[k]]
        made[k] = tc.input(np.zeros(nd.shape, dtype=nd.dtype), len(tc.graph.inputs))
    return made


def grad_graph(graph):
    """The graph of ``grad f`` from the graph of a scalar ``f`` (same inputs, output shaped like ``x``).

    Parameters
    ----------
    graph : Graph
        A traced graph whose output has one element.

    Returns
    -------
    Graph
        Inputs ``[x, *array_args]`` as in ``graph``; output ``d f / d x``, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsead.tracing import trace, evaluate
    >>> from sparsead.ad import grad_graph
    >>> g = grad_graph(trace(lambda x: np.sum(x ** 3), np.ones(3)))
    >>> evaluate(g, np.array([1.0, 2.0, 3.0])).tolist()
    [3.0, 12.0, 27.0]
    """
    out = graph.nodes[graph.outputs[0]]
    check_scalar_output(out.shape, "the gradient",
                        "Use sparse_jacobian (or vjp) for vector outputs.")
    tc = TraceContext(local=False)
    made = _inputs(tc, graph, range(len(graph.inputs)))
    vals = _replay(graph, tc, made)
    seed = Tracer(tc, tc.const(np.ones(out.shape)))
    g = _backward(graph, vals, seed, graph.inputs[0])
    return _finish(tc, g, graph.nodes[graph.inputs[0]].shape)


def vjp_graph(graph):
    """The graph of ``(x, w, *array_args) -> w^T J`` (linear in ``w``, shaped like ``x``).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsead.tracing import trace, evaluate
    >>> from sparsead.ad import vjp_graph
    >>> g = vjp_graph(trace(lambda x: x[1:] * x[:-1], np.ones(3)))
    >>> evaluate(g, np.array([1.0, 2.0, 3.0]), (np.array([1.0, 0.0]),)).tolist()
    [2.0, 1.0, 0.0]
    """
    out = graph.nodes[graph.outputs[0]]
    tc = TraceContext(local=False)
    made = _inputs(tc, graph, [0])
    w = tc.input(np.zeros(out.shape), 1)
    made.update(_inputs(tc, graph, range(1, len(graph.inputs))))
    vals = _replay(graph, tc, made)
    if out.dtype != np.float64:
        w = tc.add("cast", [w], dtype=out.dtype)
    g = _backward(graph, vals, w, graph.inputs[0])
    return _finish(tc, g, graph.nodes[graph.inputs[0]].shape)
