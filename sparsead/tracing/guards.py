"""Guards of a local trace: the decisions it took at ``x0``, checked cheaply at a new ``x``.

A local trace (``trace(..., local=True)``) follows the branches taken at ``x0``:
``if`` on a traced comparison, builtin ``max``/``min`` of traced values,
``int()``/``float()``/``bool()`` of values without derivative, traced indices.
Each decision is a :class:`~sparsead.tracing.tracer.Guard` (a node and the
outcome seen). The recorded graph computes ``f`` exactly wherever every guard
has the same outcome, so a prepared local operator checks the guards at each
call and traces again when one flips.

Checking must cost little next to one call of ``f``. Two things make it so:

* :func:`truth_vector` gathers all ``bool()`` decisions into one ``concatenate``
  node before re-rolling, so a loop with a branch per element
  (``for i: if y[i] > 0: ...``) rolls into one vector comparison, checked at
  once against the recorded outcomes;
* :class:`GuardPlan` evaluates only the nodes the guards depend on (values
  that depend on no input are computed once).

Fed by :func:`sparsead.tracing.trace`; used by the local prepared operators
(:mod:`sparsead._local`) and ``sparsead.gradient(..., local=True)``.
"""

from __future__ import annotations

import numpy as np

from ..primitives import REGISTRY
from .tracer import Guard, Tracer

__all__ = ["truth_vector", "GuardPlan"]


def truth_vector(tc):
    """Replace the ``bool()`` guards of ``tc`` by one guard on the vector of their values.

    Returns the guards to check: the vector guard (test ``"truths"``, ``count``
    decisions) followed by the other guards.
    """
    truths = [g for g in tc.guards if g.test == "truth"]
    others = [g for g in tc.guards if g.test != "truth"]
    if len(truths) < 2:
        return list(tc.guards)
    pieces = [tc.add("reshape", [Tracer(tc, g.node)], shape=(1,)) for g in truths]
    vec = tc.add("concatenate", pieces, axis=0)
    expected = np.array([g.expected for g in truths], dtype=bool)
    return [Guard(vec.node, "truths", expected, f"{len(truths)} branch decisions")] + others


class GuardPlan:
    """Evaluates the guards of a local graph at new inputs, computing only what they need.

    Parameters
    ----------
    graph : Graph
        A graph from ``trace(..., local=True)`` (its ``guards``).

    ``holds(inputs)`` with ``inputs = [x, *traced args]`` tells whether every
    guard has its recorded outcome there; ``failing(inputs)`` lists the ones
    that do not (their ``what``).
    """

    def __init__(self, graph):
        self.guards = list(graph.guards)
        nodes = graph.nodes
        need = np.zeros(len(nodes), dtype=bool)
        need[[g.node for g in self.guards]] = True
        for i in range(len(nodes) - 1, -1, -1):
            if need[i]:
                need[list(nodes[i].inputs)] = True
        varying = np.zeros(len(nodes), dtype=bool)
        static = [None] * len(nodes)
        self._inputs = []
        steps = []
        for i, nd in enumerate(nodes):
            if not need[i]:
                continue
            if nd.prim == "input":
                varying[i] = True
                self._inputs.append((i, nd.params["index"], nd.shape))
            elif nd.prim == "const":
                static[i] = nd.params["value"]
            else:
                impl = REGISTRY[nd.prim].impl
                if any(varying[j] for j in nd.inputs):
                    varying[i] = True
                    steps.append((i, impl, nd.inputs, nd.params))
                else:
                    with np.errstate(all="ignore"):
                        static[i] = impl(*[static[j] for j in nd.inputs], **nd.params)
        self._static = static
        self._steps = steps
        self.n_steps = len(steps)

    def _values(self, inputs):
        vals = list(self._static)
        for i, k, shape in self._inputs:
            vals[i] = np.reshape(inputs[k], shape)
        with np.errstate(all="ignore"):
            for i, impl, ins, params in self._steps:
                vals[i] = impl(*[vals[j] for j in ins], **params)
        return vals

    def holds(self, inputs) -> bool:
        if not self.guards:
            return True
        vals = self._values(inputs)
        return all(g.holds(vals[g.node]) for g in self.guards)

    def failing(self, inputs) -> list:
        vals = self._values(inputs)
        return [g.what for g in self.guards if not g.holds(vals[g.node])]
