"""The public entry points :func:`sparse_jacobian` and :func:`sparse_hessian`.

They return the operators of :mod:`.jacobian` and :mod:`.hessian`, or for
``local=True`` the re-tracing wrappers of :mod:`sparsead._local` (which build
those operators per branch region); keeping the choice here lets both import
the operators without a cycle.
"""

from __future__ import annotations

from .._local import LocalHessian, LocalJacobian
from .._validation import DECOMPRESSIONS, renamed
from .hessian import SparseHessian
from .jacobian import SparseJacobian

__all__ = ["sparse_jacobian", "sparse_hessian"]

#: Units over 80 lines and why (checked by tests/test_layout.py).
_LONG_UNITS = {
    "sparse_jacobian": (
        "mostly its numpydoc docstring (every option, the errors, an example)"
    ),
}

_OLD = {v: k for k, v in DECOMPRESSIONS.items()}   # "star" -> "direct", "acyclic" -> ...


def sparse_jacobian(f, x0, args=(), *, mode="auto", order=None, sparsity=None, backend="auto",
                    local=False, threads="auto"):
    """Prepare the sparse Jacobian of ``f`` at points shaped like ``x0``.

    Preparation traces ``f`` once, detects the (global) sparsity pattern,
    colors it, and builds the lane sweep and the decompression index maps;
    each call ``jac(x, *args)`` then costs a few evaluations of ``f``.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array`` written with numpy; inputs and outputs are
        flattened in C order (``J`` is ``(f(x).size, x.size)``).
    x0 : array_like
        A point fixing the shape of ``x`` (real; its values do not matter).
    args : tuple, optional
        Extra arguments. Floating ndarrays are traced as inputs: they may take
        other values at call time (same shape), and the pattern holds for all
        of them. Other arguments are baked in: copied here and compared by
        value at every call (an argument changed since, even in place, raises
        ``InputError``); functions are compared by identity, and objects
        without value equality are refused (``InputTypeError``).
    mode : {"auto", "forward", "reverse", "bidirectional"}
        ``forward``: column coloring, JVP lanes (``B = J S``); ``reverse``: row
        coloring, VJP lanes (``B = S^T J``, for wide Jacobians);
        ``bidirectional``: star bicoloring, both; ``auto``: the fewest colors
        (ties: forward, then reverse; a side or the bicoloring is colored
        only when its O(nnz) lower bound could still beat the best found).
    order : str, callable or list, optional
        Vertex order(s) for :func:`sparsead.color`; default: the best of
        ``natural``, ``largest_first`` and ``smallest_last``.
    sparsity : sparse matrix or array_like, optional
        A pattern to use instead of the detected one; it must contain every
        detected entry (a smaller one would silently give wrong matrices).
    backend : {"auto", "numpy", "numba"}
        ``numpy``: the numpy lane interpreter; ``numba``: the compiled backend
        (error if unavailable); ``auto``: Numba when it compiles the graph,
        else numpy.
    threads : int or "auto", default "auto"
        Threads for the compiled kernel's elementwise loops (a ``prange``
        variant, compiled when those loops reach 20 000 iterations and the
        kernel is small enough to compile twice; reductions and scatters stay
        serial) and for the gather into ``J.data`` where one runs (the numpy
        interpreter's lanes, or an ``out`` that this operator's calls did not
        make). Results are bit-identical for every count. ``auto``: one --
        on the 2-core machine measured the second thread paid only while the
        other core was idle (``benchmarks/bench_threads.py``).
    local : bool, optional
        For ``f`` that branches on values (``if x[0] > 0``, builtin ``max``/``min``,
        ``int()``, ``bool()``, ``float()`` of a comparison): trace at ``x0``
        following the branches taken there, record each decision as a guard,
        and at every call check the guards, tracing again (and coloring again
        only if the pattern changed) when one flips. The derivatives are exact
        at every point; ``.pattern`` is that of the current branch region and
        may change between calls. Returns a
        :class:`~sparsead._local.LocalJacobian` (the attributes below, plus
        ``n_traces``, ``n_guards``, ``guards_hold(x)``).

    Returns
    -------
    SparseJacobian
        Callable ``jac(x, *args, out=None)`` returning a float64
        ``scipy.sparse.csr_array`` with sorted indices and exactly
        ``jac.pattern``'s structure (into ``out``'s data when given). Also
        ``.pattern``, ``.coloring``, ``.n_colors``, ``.mode``, ``.shape``,
        ``.backend``, ``.timings`` (``detect``, ``color``, ``compile``
        seconds) and ``.compressed(x, *args)``. Fresh results share one
        read-only copy of the pattern's ``indptr``/``indices`` (no call writes
        them; ``eliminate_zeros`` and other in-place structure changes copy
        them first); with ``out=`` (a result of this operator) a call allocates
        nothing: the compiled lane kernel writes ``out.data`` directly.

    Raises
    ------
    ValueError
        Unknown ``mode``/``backend``; an unknown ``order`` (``ColoringError``,
        before ``f`` is traced); at call time (``InputError``): ``x`` or a
        traced argument of another shape, a baked argument that changed.
    TypeError
        Complex ``x``/``args``, ``args`` not a tuple, a baked argument that
        cannot be compared (``InputTypeError``); see also the tracing errors.
    PatternError
        ``sparsity`` of the wrong shape, missing detected entries, or malformed
        (indices outside the shape, a non-monotone ``indptr``, ...).
    DecompressionError
        ``out`` with another pattern, or whose ``data`` is read-only, strided
        or not float64.

    Notes
    -----
    NaN and inf propagate into the entries they reach, as numpy would.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: x[1:] ** 2 - x[:-1]
    >>> jac = sa.sparse_jacobian(f, np.ones(4))
    >>> jac(np.arange(4.0)).toarray()
    array([[-1.,  2.,  0.,  0.],
           [ 0., -1.,  4.,  0.],
           [ 0.,  0., -1.,  6.]])
    >>> jac.n_colors
    2
    """
    if local:
        return LocalJacobian(f, x0, args, mode=mode, order=order, sparsity=sparsity,
                             backend=backend, threads=threads)
    return SparseJacobian(f, x0, args, mode=mode, order=order, sparsity=sparsity,
                          backend=backend, threads=threads)


def sparse_hessian(f, x0, args=(), *, decompression=None, order=None, sparsity=None,
                   backend="auto", triangle="full", local=False, coloring=None, threads="auto"):
    """Prepare the sparse Hessian of a scalar ``f`` at points shaped like ``x0``.

    The gradient transform turns ``f``'s graph into the graph of its gradient;
    forward lanes over it give ``B = H S`` for a symmetric coloring of the
    detected Hessian pattern (forward-over-reverse).

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar`` written with numpy.
    x0 : array_like
        A point fixing the shape of ``x``.
    args : tuple, optional
        As in :func:`sparse_jacobian` (floating ndarrays may change per call,
        e.g. Lagrange multipliers; the pattern is the union over their values).
    decompression : {"direct", "substitution"}, default "direct"
        Star coloring (direct decompression) or acyclic coloring (fewer
        colors, decompression by substitution).
    order, sparsity, backend, threads
        As in :func:`sparse_jacobian` (``sparsity`` is symmetrized; ``threads``
        split direct decompression only).
    triangle : {"full", "lower", "upper"}
        Return the full symmetric matrix (default) or one triangle.
    local : bool, optional
        Exact Hessians of code that branches on values, re-traced when a
        branch flips (see :func:`sparse_jacobian`); returns a
        :class:`~sparsead._local.LocalHessian`.
    coloring : {"star", "acyclic"}, optional
        Deprecated spelling of ``decompression`` (``"direct"``,
        ``"substitution"``); warns.

    Returns
    -------
    SparseHessian
        Callable ``hess(x, *args, out=None)`` -> float64 ``csr_array`` with the
        prepared pattern; attributes as :class:`SparseJacobian`, plus
        ``.hessp(x, p, *args)`` (one Hessian-vector product).

    Raises
    ------
    ScalarOutputError
        If ``f`` is not scalar (an ``InputError`` and a ``TracingError``).
    InputError
        Call-time errors as in :func:`sparse_jacobian`.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(x ** 3)
    >>> hess = sa.sparse_hessian(f, np.ones(3))
    >>> hess(np.array([1.0, 2.0, 3.0])).toarray()
    array([[ 6.,  1.,  0.],
           [ 1., 12.,  1.],
           [ 0.,  1., 18.]])
    >>> hess.hessp(np.ones(3), np.array([1.0, 0.0, 0.0]))
    array([6., 1., 0.])
    """
    decompression = renamed(decompression, coloring, "decompression", "coloring", _OLD,
                            default="direct")
    if local:
        return LocalHessian(f, x0, args, decompression=decompression, order=order,
                            sparsity=sparsity, backend=backend, triangle=triangle,
                            threads=threads)
    return SparseHessian(f, x0, args, decompression=decompression, order=order,
                         sparsity=sparsity, backend=backend, triangle=triangle, threads=threads)
