"""Automatic differentiation over traced graphs: forward lanes, the gradient transform, helpers.

Fed by :mod:`sparsead.tracing` (graphs) and :mod:`sparsead.primitives` (every
primitive's JVP and VJP rule). Files in dependency order: :mod:`.forward`
(forward lanes and the prepared :class:`LanePlan`), :mod:`.reverse` (gradient
and VJP graphs), :mod:`.api` (``gradient``, ``jvp``, ``vjp``, ``hvp``). The
optional Numba compiler (:mod:`.numba`) compiles the same lane sweeps.
"""

from .forward import LanePlan, forward_lanes, seed_from_colors
from .reverse import grad_graph, prune, vjp_graph

__all__ = ["LanePlan", "forward_lanes", "seed_from_colors", "grad_graph", "vjp_graph", "prune"]
