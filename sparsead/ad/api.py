"""JAX-like helpers on the same lanes: ``gradient``, ``jvp``, ``vjp``, ``hvp``.

Each traces ``f`` (``gradient`` once per input shape and argument signature,
cached), then runs the graph transforms of :mod:`sparsead.ad.reverse` and the
forward lanes of :mod:`sparsead.ad.forward`. Arguments follow the prepared
operators' rule: floating ndarrays in ``args`` are traced inputs, the rest is
baked in.
"""

from __future__ import annotations

import numpy as np

from .._errors import InputError, InputTypeError
from .._validation import ArgSpec, as_real_array, check_picklable, check_scalar_output
from ..tracing import evaluate, trace
from ..tracing.graph import prune
from ..tracing.guards import GuardPlan
from .forward import LanePlan
from .reverse import grad_graph, vjp_graph

__all__ = ["gradient", "jvp", "vjp", "hvp"]


def _prepare(f, x, args, local=False):
    if not callable(f):
        raise InputTypeError(f"`f` must be a callable f(x, *args), got {type(f).__name__}.")
    x = as_real_array(x)
    spec = ArgSpec(args)
    traced = spec.traced_values(args)
    graph = trace(spec.wrap(f), x, tuple(traced), args_as_inputs=True, local=local)
    return x, spec, traced, graph


def _scalar_graph(graph, who):
    """The gradient graph of a scalar ``f`` (the package's one scalar check first)."""
    check_scalar_output(graph.nodes[graph.outputs[0]].shape, who,
                        "Use sparse_jacobian (or vjp) for vector outputs.")
    return grad_graph(graph)


def _evaluate(graph, x, args):
    """Evaluate a gradient or VJP graph: fast, then with the strong zero if a NaN shows.

    A NaN the fast evaluation makes from ``0 * inf`` in a chain-rule product can only
    vanish by being discarded, so a NaN-free result is exactly the strong one.
    """
    with np.errstate(all="ignore"):
        g = evaluate(graph, x, args, fast=True)
        if np.isnan(g).any():
            g = evaluate(graph, x, args)
    return g


def _signature(x, args):
    """What a traced gradient graph depends on besides baked values: shapes and kinds."""
    parts = [x.shape]
    for a in args:
        if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
            parts.append(("array", a.shape))
        else:
            parts.append(("baked", type(a)))
    return tuple(parts)


class _Gradient:
    """``g(x, *args)``: traced gradient graphs cached per signature, checked by value.

    A cache entry serves a call only if its :class:`~sparsead._validation.ArgSpec`
    matches the call's arguments by value (baked arguments are private copies),
    so an argument changed in place is traced anew, never served stale.
    """

    def __init__(self, f, cache_size, local=False):
        if not callable(f):
            raise InputTypeError(f"`f` must be callable, got {type(f).__name__}.")
        if isinstance(cache_size, (bool, np.bool_)) or not isinstance(
                cache_size, (int, np.integer)):
            raise InputTypeError(f"`cache_size` must be a positive integer, got {cache_size!r}.")
        if cache_size < 1:
            raise InputError(f"`cache_size` must be a positive integer, got {cache_size!r}.")
        self.f = f
        self.local = bool(local)
        self._cache = []          # [(signature, spec, gradient graph, guards)], oldest first
        self._cache_size = int(cache_size)
        self.__doc__ = f"Gradient of {getattr(f, '__name__', 'f')} (sparsead.gradient)."

    def __reduce__(self):  # the traced graphs are not pickled: the other side traces again
        check_picklable(self.f, "this gradient")
        return _Gradient, (self.f, self._cache_size, self.local)

    def _lookup(self, xa, args):
        sig = _signature(xa, args)
        for s, spec, gg, plan in list(self._cache):   # a snapshot: other threads may append
            if s == sig and spec.matches(args) and (
                    plan is None or plan.holds([xa] + spec.traced_arrays(args))):
                return spec, gg
        _, spec, _, graph = _prepare(self.f, xa, args, self.local)
        plan = GuardPlan(graph) if self.local else None
        gg = _scalar_graph(prune(graph)[0] if self.local else graph, "the gradient")
        cache = self._cache
        cache.append((sig, spec, gg, plan))
        while len(cache) > self._cache_size:       # oldest first
            try:
                cache.pop(0)
            except IndexError:                     # emptied by another thread
                break
        return spec, gg

    def __call__(self, x, *args):
        xa = as_real_array(x)
        spec, gg = self._lookup(xa, args)
        traced = spec.traced_arrays(args)           # baked values matched in _lookup
        g = _evaluate(gg, xa, tuple(traced))
        return np.array(g, dtype=np.float64).reshape(xa.shape)


def gradient(f, *, cache_size=8, local=False):
    """The gradient of a scalar numpy function, as a function ``g(x, *args)``.

    ``f`` is traced on the first call for each input shape and argument
    signature (the traced gradient graph is cached, at most ``cache_size``).

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, written with numpy.
    cache_size : int, optional
        How many traced signatures (and, with ``local``, branch regions) to keep.
    local : bool, optional
        For ``f`` that branches on values (``if``, builtin ``max``/``min``,
        ``int()``...): trace at the point of the call following the branches
        taken there, and reuse that trace only where every branch decision is
        the same (checked at each call; traced again otherwise). The gradient
        is exact at every point.

    Returns
    -------
    callable
        ``g(x, *args) -> numpy.ndarray`` shaped like ``x`` (float64), usable as
        ``jac=`` in ``scipy.optimize.minimize``. It pickles when ``f`` does (a
        module-level function); the receiving process traces ``f`` again.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> g = sa.gradient(lambda x: np.sum(x ** 2) + x[0] * x[1])
    >>> g(np.array([1.0, 2.0, 3.0]))
    array([4., 5., 6.])
    """
    return _Gradient(f, cache_size, local)


def jvp(f, x, v, args=()):
    """``(f(x), J(x) @ v)`` by one forward lane.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> y, t = sa.jvp(np.sin, np.zeros(2), np.array([1.0, 2.0]))
    >>> t
    array([1., 2.])
    """
    x, spec, traced, graph = _prepare(f, x, args)
    v = as_real_array(v, "v").reshape(-1, 1)
    if v.shape[0] != x.size:
        raise InputError(f"`v` has {v.shape[0]} elements, `x` has {x.size}.")
    plan = LanePlan(graph, 0, v)
    value, Bt = plan.run_t([x] + traced)
    out_shape = graph.nodes[graph.outputs[0]].shape
    return value.reshape(out_shape), Bt.reshape(out_shape).copy()


def vjp(f, x, w, args=()):
    """``(f(x), w @ J(x))`` through the VJP graph (reverse mode); the result is shaped like ``x``.

    Notes
    -----
    Unlike ``jax.vjp`` (which returns ``f(x)`` and a function of the cotangent),
    the cotangent ``w`` is an argument and the product comes back directly, as
    in :func:`jvp`. :func:`hvp` returns the product alone, in the shape
    SciPy's ``hessp=`` expects.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> y, g = sa.vjp(lambda x: x[1:] * x[:-1], np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]))
    >>> g
    array([2., 4., 2.])
    """
    x, spec, traced, graph = _prepare(f, x, args)
    out_shape = graph.nodes[graph.outputs[0]].shape
    w = as_real_array(w, "w")
    if w.size != int(np.prod(out_shape, dtype=np.int64)):
        raise InputError(f"`w` has {w.size} elements, `f(x)` has shape {out_shape}.")
    with np.errstate(all="ignore"):
        y = evaluate(graph, x, tuple(traced))
        g = _evaluate(vjp_graph(graph), x, (w.reshape(out_shape), *traced))
    return np.asarray(y, dtype=np.float64), np.array(g, dtype=np.float64).reshape(x.shape)


def hvp(f, x, v, args=()):
    """``H(x) @ v`` for a scalar ``f``: one forward lane over the gradient graph.

    Returns the product alone (``jvp``/``vjp`` return ``(f(x), product)``), so
    ``lambda x, v: sa.hvp(f, x, v)`` is a ``hessp=`` for ``scipy.optimize.minimize``.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> sa.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    x, spec, traced, graph = _prepare(f, x, args)
    v = as_real_array(v, "v").reshape(-1, 1)
    if v.shape[0] != x.size:
        raise InputError(f"`v` has {v.shape[0]} elements, `x` has {x.size}.")
    plan = LanePlan(_scalar_graph(graph, "hvp"), 0, v, want_value=False)
    _, Bt = plan.run_t([x] + traced)
    return Bt.reshape(x.shape).copy()
