"""Tracing: run plain numpy code on a tracer array and record a graph of primitives.

``trace(f, x)`` (``run.py``) returns a :class:`Graph` (``graph.py``) whose nodes
name primitives of :data:`~sparsead.primitives.REGISTRY`. Files in dependency
order: ``frames.py`` (the user's line for error messages), ``graph.py``,
``dispatch.py`` (the tables the tracer looks its lowerings up in), ``tracer.py``
(the :class:`Tracer` class, whole), the handler modules that lower numpy calls
and fill those tables -- ``numpy_api.py`` (ufuncs, operators, reductions),
``numpy_layout.py`` (indexing, layout, joining), ``numpy_linalg.py`` (products,
linear algebra), ``numpy_meta.py`` (queries, index helpers), ``conversions.py``
(``np.array``/``np.asarray`` & co while a trace runs) and ``scratch.py`` (the
array creators) -- then ``guards.py`` (decisions of local traces),
``reroll.py``/``reroll_emit.py`` (loop-written scalar code rolled into vector
primitives) and ``run.py``. ``evaluate`` re-runs a graph with numpy.
"""

from .graph import Graph, Node, evaluate
from ..primitives import (IDENTITY, REGISTRY, Elementwise, Pattern, Primitive,  # noqa: F401
                          RuleContext, register)
# the handler modules fill the dispatch tables the tracer reads, once, in dependency order
from . import numpy_api, numpy_layout, numpy_linalg, numpy_meta  # noqa: F401,I001
from . import conversions, scratch  # noqa: F401,I001  (np.array & co and the creators)
from .run import trace
from .tracer import Tracer

__all__ = ["trace", "evaluate", "Graph", "Node", "REGISTRY", "Primitive", "Elementwise",
           "Pattern", "IDENTITY", "RuleContext", "register", "Tracer"]
