"""The dispatch tables between the :class:`~.tracer.Tracer` and the modules that lower numpy.

The tracer hands every numpy call it receives to an entry of these tables; the
handler modules (``numpy_api``, ``numpy_layout``, ``numpy_linalg``,
``numpy_meta``, ``conversions``, ``scratch``) import the tracer and fill the
tables as they are imported, once, from ``sparsead/tracing/__init__.py``. So
imports flow one way: this module, then the tracer, then the handlers.

* :data:`HANDLERS` -- numpy function -> lowering (``__array_function__``);
* :data:`METHODS` -- ndarray method or property name -> lowering, called with
  the tracer first (``x.sum(axis=0)``, ``x.T``);
* :data:`PROTOCOL` -- the entry points ``"ufunc"`` (``__array_ufunc__``),
  ``"function"`` (``__array_function__``), ``"getitem"``, ``"setitem"``,
  ``"operator"`` (Python operators), ``"array"`` (``__array__``) and
  ``"adopt"`` (a scratch array made from a traced one);
* :data:`RESOLVERS` -- type -> the traced value an object of that type stands
  for (scratch arrays written with traced values).
"""

from __future__ import annotations

__all__ = ["HANDLERS", "METHODS", "PROTOCOL", "RESOLVERS", "implements"]

HANDLERS: dict = {}
METHODS: dict = {}
PROTOCOL: dict = {}
RESOLVERS: dict = {}


def implements(*funcs):
    """Register the decorated function as the lowering of the numpy functions ``funcs``."""
    def deco(fn):
        for f in funcs:
            HANDLERS[f] = fn
        return fn
    return deco
