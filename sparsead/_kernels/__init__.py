"""Numba kernels over raw arrays (CSR indptr/indices, int64, float64); nothing else lives here.

Callers bind a kernel module with ``kc = lazy("coloring")``: the module (and
Numba with it) is imported at the first kernel call, not when the caller is
imported, so that paths that need no kernel never pay Numba's import.
"""

import importlib


class _LazyModule:
    """Stands for ``sparsead._kernels.<name>`` and imports it at the first attribute lookup."""

    __slots__ = ("_name", "_module")

    def __init__(self, name):
        self._name = f"{__name__}.{name}"
        self._module = None

    def __getattr__(self, attr):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self):
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy kernel module {self._name!r} ({state})>"


def lazy(name):
    """A stand-in for the kernel module ``sparsead._kernels.<name>``, imported at first use."""
    return _LazyModule(name)


def readonly_flat(a):
    """``a`` flattened (C order) as a read-only view: the one array type kernels see for inputs
    they only read, so that a kernel compiles once whether the caller's array is writeable
    (a fresh result) or not (a broadcast or user-frozen array). Copies only if ``a`` is not
    contiguous."""
    v = a.reshape(-1).view()
    v.flags.writeable = False
    return v
