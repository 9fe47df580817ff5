"""JAX-like helpers on the same lanes: ``gradient``, ``jvp``, ``vjp``, ``hvp``.

Each traces ``f`` (``gradient`` once per input shape and argument signature,
cached), then runs the graph transforms of :mod:`sparsead.ad.reverse` and the
forward lanes of :mod:`sparsead.ad.forward`. Arguments follow the prepared
operators' rule: floating ndarrays in ``args`` are traced inputs, the rest is
baked in.
"""

from __future__ import annotations

import numpy as np

from ..tracing import evaluate, trace
from .forward import LanePlan
from .reverse import grad_graph, vjp_graph

__all__ = ["gradient", "jvp", "vjp", "hvp"]


def _prepare(f, x, args):
    from ..prepared import ArgSpec, as_real_array
    x = as_real_array(x)
    spec = ArgSpec(args)
    traced = spec.traced_values(args)
    graph = trace(spec.wrap(f), x, tuple(traced), args_as_inputs=True)
    return x, spec, traced, graph


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


def _key(x, args):
    parts = [x.shape]
    for a in args:
        if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating):
            parts.append(("array", a.shape))
        else:
            parts.append(("baked", id(a)))
    return tuple(parts)


class _Gradient:
    def __init__(self, f, cache_size):
        self.f = f
        self._cache = {}
        self._cache_size = cache_size
        self.__doc__ = f"Gradient of {getattr(f, '__name__', 'f')} (sparsead.gradient)."

    def __call__(self, x, *args):
        from ..prepared import as_real_array
        xa = as_real_array(x)
        key = _key(xa, args)
        hit = self._cache.get(key)
        if hit is None:
            _, spec, _, graph = _prepare(self.f, xa, args)
            hit = (spec, grad_graph(graph))
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hit
        spec, gg = hit
        traced = spec.traced_values(args)
        g = _evaluate(gg, xa, tuple(traced))
        return np.array(g, dtype=np.float64).reshape(xa.shape)


def gradient(f, *, cache_size=8):
    """The gradient of a scalar numpy function, as a function ``g(x, *args)``.

    ``f`` is traced on the first call for each input shape and argument
    signature (the traced gradient graph is cached, at most ``cache_size``).

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, written with numpy.
    cache_size : int, optional
        How many traced signatures to keep.

    Returns
    -------
    callable
        ``g(x, *args) -> numpy.ndarray`` shaped like ``x`` (float64), usable as
        ``jac=`` in ``scipy.optimize.minimize``.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> g = sa.gradient(lambda x: np.sum(x ** 2) + x[0] * x[1])
    >>> g(np.array([1.0, 2.0, 3.0]))
    array([4., 5., 6.])
    """
    return _Gradient(f, cache_size)


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
    from ..prepared import as_real_array
    v = as_real_array(v, "v").reshape(-1, 1)
    if v.shape[0] != x.size:
        raise ValueError(f"`v` has {v.shape[0]} elements, `x` has {x.size}.")
    plan = LanePlan(graph, 0, v)
    value, Bt = plan.run_t([x] + traced)
    out_shape = graph.nodes[graph.outputs[0]].shape
    return value.reshape(out_shape), Bt.reshape(out_shape).copy()


def vjp(f, x, w, args=()):
    """``(f(x), w @ J(x))`` through the VJP graph (reverse mode); the result is shaped like ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> y, g = sa.vjp(lambda x: x[1:] * x[:-1], np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0]))
    >>> g
    array([2., 4., 2.])
    """
    x, spec, traced, graph = _prepare(f, x, args)
    from ..prepared import as_real_array
    out_shape = graph.nodes[graph.outputs[0]].shape
    w = as_real_array(w, "w")
    if w.size != int(np.prod(out_shape, dtype=np.int64)):
        raise ValueError(f"`w` has {w.size} elements, `f(x)` has shape {out_shape}.")
    with np.errstate(all="ignore"):
        y = evaluate(graph, x, tuple(traced))
        g = _evaluate(vjp_graph(graph), x, (w.reshape(out_shape), *traced))
    return np.asarray(y, dtype=np.float64), np.array(g, dtype=np.float64).reshape(x.shape)


def hvp(f, x, v, args=()):
    """``H(x) @ v`` for a scalar ``f``: one forward lane over the gradient graph.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> sa.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    x, spec, traced, graph = _prepare(f, x, args)
    from ..prepared import as_real_array
    v = as_real_array(v, "v").reshape(-1, 1)
    if v.shape[0] != x.size:
        raise ValueError(f"`v` has {v.shape[0]} elements, `x` has {x.size}.")
    plan = LanePlan(grad_graph(graph), 0, v, want_value=False)
    _, Bt = plan.run_t([x] + traced)
    return Bt.reshape(x.shape).copy()
