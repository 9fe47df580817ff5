"""sparsead: sparse Jacobians and Hessians of plain numpy code.

The pipeline: trace ``f`` once into a graph, detect the sparsity pattern with
index sets, color the pattern, then evaluate one compressed product lane per
color and decompress it straight into a ``scipy.sparse.csr_array``.

``import sparsead`` loads only the exception types: every other public name
is imported at its first use (module ``__getattr__``, PEP 562), so that the
tracer, the coloring engine, Numba and ``scipy.optimize`` cost nothing until
a call needs them. ``dir(sparsead)`` and ``__all__`` list everything.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._errors import (
    ColoringError,
    DecompressionError,
    InputError,
    InputTypeError,
    PatternError,
    ScalarOutputError,
    SparseadError,
    SparseadWarning,
    TracerConversionError,
    TracingError,
    UnsupportedOperationError,
)

from ._version import __version__  # noqa: E402  (kept after the error types)

#: public name -> the submodule defining it, imported at first use
_LAZY = {
    # coloring (sparsead/coloring/)
    "coloring": ".coloring", "Coloring": ".coloring", "color": ".coloring",
    "is_valid_coloring": ".coloring",
    # sparsity detection (sparsead/tracing/, sparsead/sparsity.py)
    "jacobian_sparsity": ".sparsity", "hessian_sparsity": ".sparsity",
    # derivatives (sparsead/ad/, sparsead/prepared.py)
    "sparse_jacobian": ".prepared", "sparse_hessian": ".prepared",
    "SparseJacobian": ".prepared", "SparseHessian": ".prepared",
    "gradient": ".ad.api", "jvp": ".ad.api", "vjp": ".ad.api", "hvp": ".ad.api",
    # solvers (sparsead/optimize.py)
    "optimize": ".optimize", "derivatives": ".optimize", "nonlinear_constraint": ".optimize",
    "ode_jacobian": ".optimize", "ipopt_problem": ".optimize", "minimize_ipopt": ".optimize",
    # generated test patterns (sparsead/patterns.py)
    "patterns": ".patterns",
}

__all__ = [
    "ColoringError",
    "DecompressionError",
    "InputError",
    "InputTypeError",
    "PatternError",
    "ScalarOutputError",
    "SparseadError",
    "SparseadWarning",
    "TracerConversionError",
    "TracingError",
    "UnsupportedOperationError",
    *_LAZY,
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sparsead' has no attribute {name!r}")
    mod = importlib.import_module(module, __name__)
    value = mod if module == f".{name}" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what static tools see; at run time these load on first use
    from . import coloring, optimize, patterns
    from .ad.api import gradient, hvp, jvp, vjp
    from .coloring import Coloring, color, is_valid_coloring
    from .optimize import (derivatives, ipopt_problem, minimize_ipopt, nonlinear_constraint,
                           ode_jacobian)
    from .prepared import SparseHessian, SparseJacobian, sparse_hessian, sparse_jacobian
    from .sparsity import hessian_sparsity, jacobian_sparsity
