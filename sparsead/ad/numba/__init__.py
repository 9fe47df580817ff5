"""The Numba compiler of forward-lane sweeps: one fused kernel per graph structure.

Files in pipeline order: :mod:`.ir` (the kernel IR: :class:`~.ir.KNode`, the op
kinds, :class:`~.ir.NumbaBackendError`), :mod:`.lower_arrays` and :mod:`.lower`
(a traced graph to kernel nodes; elementwise functions take their compiled
template from the registry row), :mod:`.plan` (which nodes to materialise or
push), :mod:`.emit`, :mod:`.writers` and :mod:`.codegen` (the kernel's Python
source), :mod:`.backend` (cache on disk, compile, run, check against the numpy
lane interpreter). Nothing is imported here: Numba loads only when a kernel is
asked for (``sparsead.ad.numba.backend``).
"""
