"""Primitives: every fact about every graph operation, one home per primitive.

The bottom layer of the package (numpy and scipy only): :mod:`.core` defines
the registry format (:class:`Primitive`, :func:`register`, the local-Jacobian
pattern formats, :class:`Call` for derivative rules, the lane planner's
queries); :mod:`.elementwise` is the table of elementwise functions (one row
each: flags, domain, numpy partials, compiled template); :mod:`.layout`,
:mod:`.reductions` and :mod:`.linalg` register the array primitives, one
``register(...)`` each with its shape, sparsity, JVP, VJP and AD traits;
:mod:`.lanes` is the arithmetic on tangent lane blocks the JVP rules share.
Importing this package fills :data:`REGISTRY`; tracing, sparsity detection,
the lane interpreter, the gradient transform and the Numba compiler all read it.
"""

from . import elementwise, layout, linalg, reductions  # noqa: F401  (fill REGISTRY, in order)
from .core import (IDENTITY, REGISTRY, Call, Elementwise, Pattern, Primitive, RuleContext,
                   ScalarRule, broadcast_map, jvp_needs, passes, register, strong_product,
                   tangent_is_static)
from .elementwise import HELPERS, UFUNC_PRIMITIVES, choice_weight, power_template
from .linalg import einsum_parse, strong_einsum

__all__ = ["REGISTRY", "Primitive", "Elementwise", "Pattern", "ScalarRule", "IDENTITY",
           "RuleContext", "Call", "register", "broadcast_map", "passes", "jvp_needs",
           "tangent_is_static", "strong_product", "strong_einsum", "einsum_parse",
           "choice_weight", "power_template", "UFUNC_PRIMITIVES", "HELPERS"]
