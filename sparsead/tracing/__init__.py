"""Tracing: run plain numpy code on a tracer array and record a graph of primitives.

``trace(f, x)`` returns a :class:`Graph` (``graph.py``) whose nodes name
primitives of :data:`REGISTRY` (``registry.py`` for the format and the
elementwise table, ``structural.py`` for array primitives); numpy calls are
lowered onto them in ``numpy_api.py`` / ``numpy_layout.py``. ``evaluate``
re-runs a graph with numpy.
"""

from . import structural  # noqa: F401  (registers the array primitives)
from .graph import Graph, Node, evaluate
from .registry import IDENTITY, REGISTRY, Elementwise, Pattern, Primitive, RuleContext, register
from .tracer import Tracer, trace

__all__ = ["trace", "evaluate", "Graph", "Node", "REGISTRY", "Primitive", "Elementwise",
           "Pattern", "IDENTITY", "RuleContext", "register", "Tracer"]
