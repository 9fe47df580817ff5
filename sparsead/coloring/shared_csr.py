"""The result matrices of prepared operators: ``csr_array`` objects that share one structure.

Every call of a prepared Jacobian or Hessian returns a fresh ``data`` array with
the *same* read-only ``indices``/``indptr`` (made once by
:class:`sparsead.coloring.decompression.Decompressor`), so a call copies no
structure. scipy's in-place structure changes (``eliminate_zeros``, shrinking
``resize``) write into those arrays; :class:`SharedCSR` gives the matrix its own
copies first, so they work as on any ``csr_array`` and never touch the shared
arrays, other results or the prepared pattern.
"""

from __future__ import annotations

import scipy.sparse as sp


class SharedCSR(sp.csr_array):
    """A ``csr_array`` whose structure arrays are copied before any in-place structure change."""

    def _own_structure(self):
        if not (self.indices.flags.writeable and self.indptr.flags.writeable):
            self.indices = self.indices.copy()
            self.indptr = self.indptr.copy()

    def eliminate_zeros(self):
        self._own_structure()
        super().eliminate_zeros()

    def sum_duplicates(self):
        if not self.has_canonical_format:
            self._own_structure()
        super().sum_duplicates()

    def sort_indices(self):
        if not self.has_sorted_indices:
            self._own_structure()
        super().sort_indices()

    def resize(self, *shape):
        self._own_structure()
        super().resize(*shape)

    for _name in ("eliminate_zeros", "sum_duplicates", "sort_indices", "resize"):
        locals()[_name].__doc__ = getattr(sp.csr_array, _name).__doc__
    del _name
