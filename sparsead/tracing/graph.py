"""The graph IR recorded by tracing, and its numpy evaluator.

A :class:`Graph` is a flat, topologically ordered list of :class:`Node`. Node
``i`` applies the primitive ``nodes[i].prim`` (a key of
:data:`sparsead.primitives.REGISTRY`) to the nodes ``nodes[i].inputs``
with the static parameters ``nodes[i].params``. Two primitives have no
inputs: ``"input"`` (``params["index"]``: 0 is the traced ``x``, 1, 2, ... are
arrays of ``args`` traced as inputs) and ``"const"`` (``params["value"]``: a
numpy array or a Python scalar). ``graph.outputs`` lists the node ids ``f``
returned. Every interpreter (evaluation here, index sets in
``sparsead/sparsity.py``, forward lanes later) walks ``nodes`` in order and
calls the primitive's rule from the registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Node", "Graph", "evaluate", "prune"]


class Node:
    """One array operation: ``prim(*inputs, **params)`` with a known result shape and dtype.

    Treated as immutable (a plain slotted class rather than a frozen dataclass:
    tracing scalar code creates one per operation, and this is ~4x cheaper).
    """

    __slots__ = ("prim", "inputs", "params", "shape", "dtype", "size")

    def __init__(self, prim, inputs, params, shape, dtype):
        self.prim = prim
        self.inputs = inputs
        self.params = params
        self.shape = shape
        self.dtype = dtype
        self.size = int(math.prod(shape)) if shape else 1

    def __repr__(self):
        return f"Node({self.prim!r}, {self.inputs}, shape={self.shape}, dtype={self.dtype})"


@dataclass(eq=False)
class Graph:
    """A traced program: ``nodes`` in topological order, ``inputs`` and ``outputs`` as node ids.

    ``inputs[k]`` is the node of input ``k`` (0 = ``x``). ``values`` holds the
    primal value of every node when the graph was traced in local mode
    (``None`` otherwise).
    """

    nodes: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    values: list | None = None
    guards: list = field(default_factory=list)

    def add(self, prim, inputs, params, shape, dtype) -> int:
        nodes = self.nodes
        nodes.append(Node(prim, tuple(inputs), params, tuple(shape), np.dtype(dtype)))
        return len(nodes) - 1

    def live(self) -> np.ndarray:
        """Boolean mask of the nodes the outputs depend on (through any input)."""
        keep = np.zeros(len(self.nodes), dtype=bool)
        keep[list(self.outputs)] = True
        for i in range(len(self.nodes) - 1, -1, -1):
            if keep[i]:
                keep[list(self.nodes[i].inputs)] = True
        return keep

    def __repr__(self) -> str:
        lines = [f"Graph({len(self.nodes)} nodes, inputs={self.inputs}, outputs={self.outputs})"]
        for i, nd in enumerate(self.nodes):
            shown = {k: (f"<array {np.shape(v)}>" if isinstance(v, np.ndarray) else v)
                     for k, v in nd.params.items()}
            lines.append(f"  %{i} = {nd.prim}{list(nd.inputs)} {shown} -> {nd.shape} {nd.dtype}")
        return "\n".join(lines)


def prune(graph: Graph, keep=()):
    """``(graph, kept)``: a copy without the nodes that neither the outputs nor the nodes
    ``keep`` need (inputs are kept); ``kept`` are the new ids of ``keep``."""
    nodes = graph.nodes
    live = np.zeros(len(nodes), dtype=bool)
    live[list(graph.outputs) + list(keep)] = True
    for i in range(len(nodes) - 1, -1, -1):
        if live[i]:
            live[list(nodes[i].inputs)] = True
    live[list(graph.inputs)] = True
    new_id = np.cumsum(live) - 1
    g = Graph()
    for i, nd in enumerate(nodes):
        if live[i]:
            g.add(nd.prim, [int(new_id[j]) for j in nd.inputs], nd.params, nd.shape, nd.dtype)
    g.inputs = [int(new_id[j]) for j in graph.inputs]
    g.outputs = [int(new_id[j]) for j in graph.outputs]
    return g, [int(new_id[j]) for j in keep]


def evaluate(graph: Graph, x, args=(), *, all_values: bool = False, fast: bool = False):
    """Evaluate a traced graph with numpy.

    Parameters
    ----------
    graph : Graph
        A graph from :func:`sparsead.tracing.trace`.
    x : array_like
        The value of input 0 (same shape as when traced).
    args : tuple, optional
        Values of the inputs ``1, 2, ...`` (only arrays of ``args`` traced as
        inputs, in order); constants baked into the graph are not replaced.
    all_values : bool, optional
        Return the list of every node's value instead of the outputs.
    fast : bool, optional
        Use the primitives' ``fast_impl`` where they have one: the strong zero
        of ``strong_multiply`` and strong einsums is skipped, so an entry the
        strong zero makes 0 may come out NaN (the caller checks and reruns).

    Returns
    -------
    numpy.ndarray or list
        The single output, a tuple of outputs, or every node's value.
    """
    from ..primitives import REGISTRY

    given = [np.asarray(x)] + [np.asarray(a) for a in args]
    values = [None] * len(graph.nodes)
    for i, nd in enumerate(graph.nodes):
        if nd.prim == "input":
            values[i] = given[nd.params["index"]].reshape(nd.shape)
        elif nd.prim == "const":
            values[i] = nd.params["value"]
        else:
            entry = REGISTRY[nd.prim]
            impl = entry.fast_impl if fast and entry.fast_impl is not None else entry.impl
            values[i] = impl(*[values[j] for j in nd.inputs], **nd.params)
    if all_values:
        return values
    outs = tuple(values[j] for j in graph.outputs)
    return outs[0] if len(outs) == 1 else outs
