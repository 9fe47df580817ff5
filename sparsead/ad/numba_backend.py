"""The Numba backend: a graph's forward-lane sweep compiled into one fused, cached kernel.

:func:`compile_forward` lowers the graph (``numba_lower.py``), generates the
kernel source (``numba_codegen.py``), writes it to the kernel cache directory
under a name that is the hash of the source, imports it and compiles it with
``numba.njit(cache=True)``. The source depends only on the graph's structure,
so a second process (or a second prepared operator on the same function) finds
both the file and Numba's compiled code on disk and pays no compile time.

Cache directory: ``$SPARSEAD_CACHE_DIR`` if set, else ``~/.cache/sparsead/kernels``,
else a directory under the system's temp dir. Used by the prepared operators
(``sparsead/prepared.py``) for Jacobians, Hessians and reverse lanes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import time

import numpy as np

from . import numba_rules
from .numba_codegen import generate
from .numba_lower import lower, plan, plan_push

__all__ = ["compile_forward", "kernel_cache_dir", "kernel_source"]

numba_rules.install()

_LOADED: dict = {}
_LOCK = threading.Lock()
#: timings of the last compile_forward call (seconds): lower, codegen, load, compile
last_timings: dict = {}


def kernel_cache_dir() -> str:
    """The directory holding generated kernel sources and Numba's cache of them."""
    candidates = []
    env = os.environ.get("SPARSEAD_CACHE_DIR")
    if env:
        candidates.append(env)
    candidates.append(os.path.join(os.path.expanduser("~"), ".cache", "sparsead", "kernels"))
    candidates.append(os.path.join(tempfile.gettempdir(), f"sparsead-kernels-{os.getuid()}"
                                   if hasattr(os, "getuid") else "sparsead-kernels"))
    for d in candidates:
        try:
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    raise OSError("no writable directory for sparsead's kernel cache; set SPARSEAD_CACHE_DIR")


def _load(source: str):
    """Import the kernel of ``source`` from the cache directory (written once per source)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    with _LOCK:
        mod = _LOADED.get(digest)
        if mod is not None:
            return mod.kernel
        directory = kernel_cache_dir()
        path = os.path.join(directory, f"lanes_{digest}.py")
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "w") as fh:
                fh.write(source)
            os.replace(tmp, path)      # atomic: concurrent writers write the same text
        name = f"_sparsead_lanes_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        _LOADED[digest] = mod
        return mod.kernel


def _prepare(graph, wrt, n_lanes):
    nodes, out = lower(graph, wrt)
    live, material = plan(nodes, out)
    push = plan_push(nodes, out, live, material)
    return generate(nodes, out, live, material, len(graph.inputs), n_lanes, push)


def kernel_source(graph, wrt: int = 0, n_lanes: int = 1) -> str:
    """The generated kernel source for ``graph`` differentiated in input ``wrt`` (for inspection)."""
    return _prepare(graph, wrt, n_lanes)[0]


def compile_forward(graph, wrt: int, colors: np.ndarray, n_lanes: int):
    """Compile the forward-lane sweep of ``graph`` with one-hot seeds into a Numba kernel.

    Parameters
    ----------
    graph : sparsead.tracing.Graph
        Any graph of registered primitives (a function, its gradient graph, a
        VJP graph).
    wrt : int
        The graph input that is seeded.
    colors : numpy.ndarray of int
        One color per element of input ``wrt`` (C order): element ``j`` has
        tangent 1 in lane ``colors[j]``; ``-1``: in no lane.
    n_lanes : int
        Number of lanes ``p``.

    Returns
    -------
    callable
        ``run(inputs) -> (value_flat, B)`` with ``inputs = [x, *array_args]``
        in graph-input order; ``B`` is ``(output.size, n_lanes)`` float64,
        C-contiguous, ``B = J @ S``.

    Raises
    ------
    NotImplementedError
        If a primitive of the graph has no Numba rule (the caller then uses
        the numpy interpreter).
    """
    t0 = time.perf_counter()
    n_inputs = len(graph.inputs)
    in_nodes = [graph.nodes[i] for i in graph.inputs]
    if not 0 <= wrt < n_inputs:
        raise ValueError(f"`wrt` must name a graph input (0..{n_inputs - 1}), got {wrt}.")
    colors = np.ascontiguousarray(colors, dtype=np.int64).reshape(-1)
    if colors.size != in_nodes[wrt].size:
        raise ValueError(f"`colors` must have one entry per element of input {wrt} "
                         f"({in_nodes[wrt].size}), got {colors.size}.")
    p = int(n_lanes)
    if colors.size and colors.max() >= p:
        raise ValueError(f"`colors` has a lane {int(colors.max())} >= n_lanes = {p}.")
    source, dims, args = _prepare(graph, wrt, p)
    t1 = time.perf_counter()
    try:
        kernel = _load(source)
    except Exception as exc:  # pragma: no cover - a generator bug, reported to the caller
        raise NotImplementedError(f"the Numba backend could not load its kernel: {exc}") from exc
    t2 = time.perf_counter()
    dtypes = [nd.dtype for nd in in_nodes]
    shapes = [nd.size for nd in in_nodes]
    tail = (colors, dims, *args)

    def run(inputs):
        if len(inputs) != n_inputs:
            raise ValueError(f"expected {n_inputs} inputs (x and the array args), got {len(inputs)}.")
        xs = []
        for a, dt, n in zip(inputs, dtypes, shapes):
            a = np.ascontiguousarray(a, dtype=dt).reshape(-1)
            if a.size != n:
                raise ValueError(f"an input has {a.size} elements, the traced one had {n}.")
            xs.append(a)
        return kernel(*xs, *tail)

    if hasattr(kernel, "compile"):   # a Numba dispatcher (not under NUMBA_DISABLE_JIT)
        import numba
        sig = tuple(numba.typeof(np.zeros(n, dt)) for n, dt in zip(shapes, dtypes)) \
            + tuple(numba.typeof(a) for a in tail)
        try:
            kernel.compile(sig)
        except Exception as exc:
            raise NotImplementedError(f"the Numba backend could not compile this graph: "
                                      f"{type(exc).__name__}: {str(exc)[:2000]}") from exc
    t3 = time.perf_counter()
    last_timings.clear()
    last_timings.update(generate=t1 - t0, load=t2 - t1, compile=t3 - t2, total=t3 - t0)
    run.source = source
    run.args = list(tail)
    run.timings = dict(last_timings)
    return run
