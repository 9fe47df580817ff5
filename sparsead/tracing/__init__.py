"""Tracing: run plain numpy code on a tracer array and record a graph of primitives.

``trace(f, x)`` returns a :class:`Graph` (``graph.py``) whose nodes name
primitives of :data:`REGISTRY` (``registry.py`` for the format and the
elementwise table, ``structural.py`` for array primitives); numpy calls are
lowered onto them in ``numpy_api.py`` / ``numpy_layout.py`` / ``numpy_meta.py``.
While a trace runs, ``conversions.py`` routes ``np.array``/``np.asarray`` & co
and ``scratch.py`` the array creators; ``frames.py`` finds the user's line for
error messages. After tracing, ``reroll.py`` (with ``reroll_emit.py``) rolls
loop-written scalar code into vector primitives; local traces record guards
(``guards.py``). ``evaluate`` re-runs a graph with numpy.
"""

from .graph import Graph, Node, evaluate
from ..primitives import (IDENTITY, REGISTRY, Elementwise, Pattern, Primitive,  # noqa: F401
                          RuleContext, register)
from .tracer import Tracer, trace

__all__ = ["trace", "evaluate", "Graph", "Node", "REGISTRY", "Primitive", "Elementwise",
           "Pattern", "IDENTITY", "RuleContext", "register", "Tracer"]
