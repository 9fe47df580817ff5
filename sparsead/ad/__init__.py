"""Automatic differentiation over traced graphs: forward lanes, the gradient transform, helpers.

Files in dependency order: :mod:`.lanes` (arithmetic on lane blocks),
:mod:`.rules` (JVP/VJP rules, attached to the registry), :mod:`.forward` (forward lanes and the prepared :class:`LanePlan`),
:mod:`.reverse` (gradient and VJP graphs), :mod:`.api` (``gradient``, ``jvp``,
``vjp``, ``hvp``). The optional Numba backend (``numba_backend.py``) compiles
the same lane sweeps.
"""

from .forward import LanePlan, forward_lanes, seed_from_colors
from .reverse import grad_graph, prune, vjp_graph

__all__ = ["LanePlan", "forward_lanes", "seed_from_colors", "grad_graph", "vjp_graph", "prune"]
