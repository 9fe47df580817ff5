"""sparsead: sparse Jacobians and Hessians of plain numpy code.

The pipeline: trace ``f`` once into a graph, detect the sparsity pattern with
index sets, color the pattern, then evaluate one compressed product lane per
color and decompress it straight into a ``scipy.sparse.csr_array``.
"""

from . import patterns
from ._errors import (
    ColoringError,
    DecompressionError,
    PatternError,
    SparseadError,
    SparseadWarning,
    TracerConversionError,
    TracingError,
    UnsupportedOperationError,
)

__version__ = "0.1.0"

__all__ = [
    "patterns",
    "ColoringError",
    "DecompressionError",
    "PatternError",
    "SparseadError",
    "SparseadWarning",
    "TracerConversionError",
    "TracingError",
    "UnsupportedOperationError",
]

# --- coloring (sparsead/coloring/) ---------------------------------------
from . import coloring  # noqa: E402
from .coloring import Coloring, color, is_valid_coloring  # noqa: E402

__all__ += ["coloring", "Coloring", "color", "is_valid_coloring"]

# --- sparsity detection (sparsead/tracing/, sparsead/sparsity.py) ----------
from .sparsity import hessian_sparsity, jacobian_sparsity  # noqa: E402

__all__ += ["jacobian_sparsity", "hessian_sparsity"]

# --- derivatives (sparsead/ad/, sparsead/prepared.py) ----------------------
from .ad.api import gradient, hvp, jvp, vjp  # noqa: E402
from .prepared import SparseHessian, SparseJacobian, sparse_hessian, sparse_jacobian  # noqa: E402

__all__ += ["sparse_jacobian", "sparse_hessian", "gradient", "jvp", "vjp", "hvp",
            "SparseJacobian", "SparseHessian"]

# --- solvers (sparsead/optimize.py) -------------------------------------------
from . import optimize  # noqa: E402
from .optimize import (  # noqa: E402
    derivatives,
    ipopt_problem,
    minimize_ipopt,
    nonlinear_constraint,
    ode_jacobian,
)

__all__ += ["optimize", "derivatives", "nonlinear_constraint", "ode_jacobian",
            "ipopt_problem", "minimize_ipopt"]
