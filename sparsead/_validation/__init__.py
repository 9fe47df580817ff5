"""Input coercion and user-facing messages, in one place (this package).

Public functions call these before any work, so that a bad argument fails with
a message that names the argument, shows what was received and says how to
fix it, and kernels only ever see canonical int64/float64 arrays. Three kinds
of checks live here:

- structure of sparse matrices (:mod:`.structure`: :func:`as_csr`, :func:`as_pattern`): index
  ranges, monotone ``indptr``, lengths and dtypes are checked on the raw
  arrays of every scipy.sparse format *before* scipy or a kernel reads them
  (both trust them and may crash the process otherwise), in O(nnz) vectorised
  passes; then the matrix is canonicalised (int64, sorted, duplicates summed);
- scalars and choices (:mod:`.values`: :func:`check_choice`, :func:`check_seed`,
  :func:`check_bool`, :func:`as_colors`), and the command line's option types
  (:mod:`.options`);
- arguments of prepared operators (:mod:`.arguments`: :class:`ArgSpec`, :func:`as_real_array`):
  floating ndarrays are traced inputs; everything else is *baked in*: copied
  at preparation and compared by value at every call, so that an argument
  changed in place can never give a stale result; and whether a user
  function can be pickled (:mod:`.pickling`: :func:`check_picklable`).
"""

from .arguments import ArgSpec, as_real_array, check_args
from .structure import (as_compressed, as_csr, as_index_array, as_pattern, check_out, check_size,
                        is_structurally_symmetric, require_square, require_symmetric)
from .pickling import check_picklable
from .values import (DECOMPRESSIONS, as_colors, check_bool, check_choice, check_scalar_output,
                     check_seed, describe, renamed)

__all__ = [
    "as_csr", "as_pattern", "check_size", "as_index_array", "is_structurally_symmetric",
    "require_square", "require_symmetric", "as_compressed", "check_out",
    "check_choice", "check_seed", "check_bool", "as_colors", "describe",
    "as_real_array", "check_args", "ArgSpec", "check_picklable", "check_scalar_output",
    "renamed", "DECOMPRESSIONS",
]
