"""What every prepared operator shares: arguments, tracing, pickling, output buffers.

Fed by the user's ``f``, ``x0`` and ``args`` (checked by :mod:`sparsead._validation`)
and by :func:`sparsead.tracing.trace`; the subclasses in :mod:`.jacobian` and
:mod:`.hessian` add detection, coloring and lanes.
"""

from __future__ import annotations

import time

import numpy as np

from .._errors import DecompressionError, InputError, InputTypeError
from .._validation import ArgSpec, as_real_array, check_out, check_picklable
from ..coloring.decompression import same_structure
from ..tracing import trace
from ..tracing.graph import prune


_F64 = np.dtype(np.float64)


def _validate_x(x, shape):
    if type(x) is np.ndarray and x.dtype is _F64 and x.shape == shape \
            and x.flags.c_contiguous:
        return x                        # already what the kernels take: no checks to pay
    a = as_real_array(x)
    if a.shape != tuple(shape):
        raise InputError(f"`x` has shape {a.shape} but the operator was prepared at an `x0` of "
                         f"shape {tuple(shape)}; prepare again for another shape.")
    return a


def check_threads(threads):
    """``threads`` as a positive int (``"auto"``: :data:`AUTO_THREADS`), else a clear error."""
    if isinstance(threads, str) and threads == "auto":
        return AUTO_THREADS
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)) \
            or threads < 1:
        raise InputError(f"`threads` must be a positive int or 'auto', got {threads!r}; e.g. "
                         "threads=2 to split the kernel and the decompression over two threads.")
    return int(threads)


#: what ``threads="auto"`` means: the decompression's threads split a memory-bound gather
#: and did not pay on the 2-core machine measured (benchmarks/bench_threads.py), so one
AUTO_THREADS = 1


def _rebuild(cls, f, x0, args, options):
    """Unpickle a prepared operator by preparing it again (its kernels load from the cache)."""
    return cls(f, x0, args, **options)


class Prepared:
    """Base of :class:`~.jacobian.SparseJacobian` and :class:`~.hessian.SparseHessian`."""

    def __reduce__(self):
        """Pickle as the preparation call: the other process traces, detects and colors again
        (deterministically: the same pattern and coloring) and loads the compiled lane
        kernel from the on-disk cache instead of compiling it."""
        check_picklable(self.f, f"this {type(self).__name__}")
        return _rebuild, (type(self), self.f, self._x0, self._pickle_args, self._options)

    def _init_args(self, f, x0, args, local=False):
        if not callable(f):
            raise InputTypeError(f"`f` must be a callable f(x, *args), got {type(f).__name__}.")
        self.f = f
        self._x0 = as_real_array(x0, "x0")
        self.shape_x = self._x0.shape
        self._args = ArgSpec(args)
        traced = [np.asarray(args[k], dtype=np.float64) for k in self._args.traced]
        # what pickling re-prepares with: the baked snapshots and copies of the traced arrays
        copies = dict(zip(self._args.traced, (np.array(a) for a in traced)))
        self._pickle_args = tuple(copies[k] if k in copies else self._args.baked[k]
                                  for k in range(self._args.n))
        t = time.perf_counter()
        self._graph = trace(self._args.wrap(f), self._x0, tuple(traced), args_as_inputs=True,
                            local=local)
        if local:   # the guards' nodes stay in `_local_graph`; lanes and patterns skip them
            self._local_graph = self._graph
            self._graph = prune(self._graph)[0]
        return traced, t

    def _check_out(self, out):
        check_out(out, "allocate it once with out = op(x)")
        p = self._out_pattern
        if out.shape == p.shape and out.data.size == p.nnz and self._decomp.owns_structure(out):
            return out                  # a result of this operator: its structure is ours
        seen = getattr(self, "_seen_out", None)
        if seen is not None and out.indptr is seen[0] and out.indices is seen[1] \
                and out.data.size == p.nnz:
            return out
        if not same_structure(out, p):
            raise DecompressionError(
                f"`out` must have exactly the prepared pattern (shape {p.shape}, nnz {p.nnz}); "
                f"got shape {out.shape}, {out.data.size} values with another structure. Allocate "
                "it once with out = op(x).")
        self._seen_out = (out.indptr, out.indices)
        return out

    def _result(self, out):
        if out is not None:
            out = self._check_out(out)
            return out, out.data
        return self._decomp.new_output()

    def _inputs(self, x, args):
        return [_validate_x(x, self.shape_x)] + self._args.traced_values(args)
