"""The Numba backend: a graph's forward-lane sweep compiled into one fused, cached kernel.

:func:`compile_forward` lowers the graph (:mod:`.lower`, :mod:`.plan`), generates the
kernel source (:mod:`.codegen`), writes it to the kernel cache directory
under a name that is the hash of the source, imports it and compiles it with
``numba.njit(cache=True)``. The source depends only on the graph's structure,
so a second process (or a second prepared operator on the same function) finds
both the file and Numba's compiled code on disk and pays no compile time.

With ``threads > 1`` and enough elementwise work (:data:`PARALLEL_MIN`), a second
source with ``prange`` loops is compiled with ``parallel=True`` and run on that many
of Numba's threads; its results are bit-identical to the serial kernel's.

Every failure -- a primitive without a rule, a kernel above the compile budget,
a generator bug, a file that cannot be written or imported, a Numba error --
is raised as one :class:`NumbaBackendError` naming the stage (and the
primitive when known); the prepared operators (``sparsead/prepared.py``) then
fall back to the numpy interpreter with a warning that says why. The cache
heals itself: a kernel file whose text differs from the generated source, or
Numba cache files that cannot be loaded, are discarded and rebuilt once, with
a :class:`~sparsead.SparseadWarning`. :func:`check_lanes` compares compiled
lanes with the interpreter's at one point (the defence in depth of the
prepared operators).

Cache directory: ``$SPARSEAD_CACHE_DIR`` if set, else ``~/.cache/sparsead/kernels``,
else a directory under the system's temp dir.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

from ..._errors import SparseadWarning
from .codegen import generate
from .ir import NumbaBackendError
from .lower import lower
from .plan import plan, plan_push

__all__ = ["compile_forward", "kernel_cache_dir", "kernel_source", "check_lanes", "map_dtype",
           "NumbaBackendError", "COMPILE_BUDGET", "CHECK_LANES", "PARALLEL_MIN"]


#: the largest kernel ``backend="auto"`` compiles, in lines plus ``LOOP_WEIGHT`` per loop and
#: ``BRANCH_WEIGHT`` per branch (:mod:`.emit`): 1-3 s of compiling on a quiet 2-core
#: machine (benchmarks/bench_compile.py); above it the numpy interpreter runs.
#: ``backend="numba"`` compiles whatever the size.
COMPILE_BUDGET = 3000
#: check the compiled lanes against the interpreter at the preparation point (prepared.py)
CHECK_LANES = True
#: a kernel is split over threads only when its splittable loops run at least this many
#: iterations in all (below it the threads' start-up costs more than they save:
#: benchmarks/bench_threads.py)
PARALLEL_MIN = 20_000
#: graphs with more live nodes than this many budgets are refused before lowering
_NODES_PER_UNIT = 20

_LOADED: dict = {}
_LOCK = threading.Lock()
#: timings of the last compile_forward call (seconds): generate, load, compile, total
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


def _heal_warning(what, path, reason):
    warnings.warn(f"sparsead's kernel cache held {what} ({path}: {reason}); it was discarded "
                  "and the kernel rebuilt.", SparseadWarning, stacklevel=4)


def _remove(path):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except FileNotFoundError:    # another process healed it first
        pass


def _write_source(path, source):
    """Write ``source`` at ``path`` unless it is there already; heal a file that differs."""
    problem = None
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read()
        if current == source:
            return
        problem = f"{len(current)} characters that are not the generated kernel"
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem is not None:
        _remove(path)
        _heal_warning("a corrupt kernel source", path, problem)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(source)
    os.replace(tmp, path)      # atomic: concurrent writers write the same text


def _import(digest, path, source):
    """The module of ``source`` (compiled from the text itself: no bytecode cache to go stale)."""
    name = f"_sparsead_lanes_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    exec(compile(source, path, "exec"), mod.__dict__)
    return mod


def _load(source):
    """``(module, path, digest)`` of ``source``, from the cache directory (written once)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    with _LOCK:
        mod = _LOADED.get(digest)
        if mod is None:
            path = os.path.join(kernel_cache_dir(), f"lanes_{digest}.py")
            _write_source(path, source)
            mod = _import(digest, path, source)
            _LOADED[digest] = mod
        return mod, mod.__file__, digest


def _numba_cache_files(kernel, path, digest):
    """Numba's index and data files of ``kernel`` (whatever their state)."""
    cache = getattr(kernel, "_cache", None)
    folder = getattr(cache, "cache_path", None) or os.path.join(os.path.dirname(path),
                                                                  "__pycache__")
    return glob.glob(os.path.join(glob.escape(folder), f"lanes_{digest}.*"))


def _compile(name, sig, path, digest, source):
    """Compile the module's function ``name`` for ``sig``; on failure with cache files
    present, purge them and retry once in a fresh module. Returns the dispatcher."""
    kernel = getattr(_LOADED[digest], name)
    if not hasattr(kernel, "compile"):     # NUMBA_DISABLE_JIT: a plain function
        return kernel
    try:
        kernel.compile(sig)
        return kernel
    except Exception as exc:
        first = exc
    stale = _numba_cache_files(kernel, path, digest)
    if not stale:
        raise NumbaBackendError("compile", f"{type(first).__name__}: {str(first)[:2000]}") \
            from first
    for f in stale:
        try:
            _remove(f)
        except OSError as exc:
            raise NumbaBackendError("compile", f"Numba's cache file {f} cannot be loaded "
                                    f"({type(first).__name__}) nor removed ({exc})") from first
    _heal_warning("Numba cache files that cannot be loaded", os.path.dirname(stale[0]),
                  f"{type(first).__name__}: {str(first)[:200]}")
    with _LOCK:
        mod = _import(digest, path, source)
        _LOADED[digest] = mod
    kernel = getattr(mod, name)
    try:
        kernel.compile(sig)
    except Exception as exc:
        raise NumbaBackendError("compile", f"{type(exc).__name__}: {str(exc)[:2000]}") from exc
    return kernel


def _prepare(graph, wrt, n_lanes, budget=None, parallel=False, values=True):
    if budget is not None:
        n_live = int(graph.live().sum())
        if n_live > _NODES_PER_UNIT * budget:
            raise NumbaBackendError("size", f"the graph has {n_live} operations; its kernel "
                                    f"would exceed the compile budget of {budget} size units "
                                    "by far")
    nodes, out = lower(graph, wrt)
    try:
        live, material = plan(nodes, out)
        push = plan_push(nodes, out, live, material)
        return generate(nodes, out, live, material, len(graph.inputs), n_lanes, push, budget,
                        parallel, values)
    except NumbaBackendError:
        raise
    except Exception as exc:   # a planner or generator bug: reported, the interpreter runs
        raise NumbaBackendError("codegen", f"{type(exc).__name__}: {exc}") from exc


def kernel_source(graph, wrt: int = 0, n_lanes: int = 1, parallel: bool = False) -> str:
    """The generated kernel source for ``graph`` differentiated in input ``wrt`` (for inspection;
    ``parallel``: the variant whose disjoint loops are ``prange`` loops)."""
    return _prepare(graph, wrt, n_lanes, parallel=parallel)[0]


def _lane_arguments(in_nodes, wrt, colors, n_lanes):
    """``(colors, p)`` checked against the graph's inputs (a caller's bug raises ValueError)."""
    n_inputs = len(in_nodes)
    if not 0 <= wrt < n_inputs:
        raise ValueError(f"`wrt` must name a graph input (0..{n_inputs - 1}), got {wrt}.")
    colors = np.ascontiguousarray(colors, dtype=np.int64).reshape(-1)
    if colors.size != in_nodes[wrt].size:
        raise ValueError(f"`colors` must have one entry per element of input {wrt} "
                         f"({in_nodes[wrt].size}), got {colors.size}.")
    p = int(n_lanes)
    if colors.size and colors.max() >= p:
        raise ValueError(f"`colors` has a lane {int(colors.max())} >= n_lanes = {p}.")
    return _narrow(colors), p


def _narrow(colors):
    """``colors`` in the smallest signed integer type that holds them: the kernels read
    them once per leaf read, and int8 reads move an eighth of int64's bytes."""
    if colors.size == 0:
        return colors
    lo, hi = int(colors.min()), int(colors.max())
    for dt in (np.int8, np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            return colors.astype(dt)
    return colors


def _signature(shapes, dtypes, tail):
    """The kernel's Numba signature (compiled eagerly), or None when the JIT is off."""
    try:
        import numba
    except ImportError:
        return None
    if numba.config.DISABLE_JIT:
        return None
    return tuple(numba.typeof(np.zeros(n, dt)) for n, dt in zip(shapes, dtypes)) \
        + tuple(numba.typeof(a) for a in tail)


def _runners(kernel, tail, ident, n_out, p, dtypes, shapes):
    """``(run, into)`` around a compiled kernel: inputs coerced to the traced dtypes and sizes."""
    n_inputs = len(shapes)

    def coerce(inputs):
        if len(inputs) != n_inputs:
            raise ValueError(f"expected {n_inputs} inputs (x and the array args), got {len(inputs)}.")
        xs = []
        for a, dt, n in zip(inputs, dtypes, shapes):
            a = np.ascontiguousarray(a, dtype=dt).reshape(-1)
            if a.size != n:
                raise ValueError(f"an input has {a.size} elements, the traced one had {n}.")
            xs.append(a)
        return xs

    def run(inputs):
        if ident is None:
            return kernel(*coerce(inputs), *tail)
        value, block = kernel(*coerce(inputs), *tail, ident, np.empty(n_out * p))
        return value, block.reshape(n_out, p)

    def into(inputs, fmap, fdata):
        """Write the lanes straight into ``fdata`` through ``fmap`` (-1: not written);
        ``fmap`` of :func:`map_dtype`, one entry per cell of the ``(n_out, p)`` block."""
        return kernel(*coerce(inputs), *tail, fmap, fdata)[0]

    return run, into


def _threaded(kernel, threads):
    """``kernel`` (a ``parallel=True`` dispatcher) run on ``threads`` of Numba's threads."""
    import numba

    def call(*args):
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            return kernel(*args)
        finally:
            numba.set_num_threads(before)
    return call


def _parallel(graph, wrt, p, budget, threads, split, sig, values, weight):
    """The kernel split over ``threads`` threads, or None when it does not pay: one thread,
    fewer than :data:`PARALLEL_MIN` split iterations, nothing to split, no JIT, or (with a
    ``budget``) a kernel heavier than a third of it -- compiling with ``parallel=True``
    takes 2.5-3x as long (fresh cache, 2 cores: Broyden 0.42 -> 1.35 s, ARWHEAD 1.41 ->
    3.46 s), so the budget still bounds it."""
    if threads <= 1 or split == 0 or split < PARALLEL_MIN or sig is None \
            or (budget is not None and 3 * weight > budget):
        return None
    import numba
    threads = min(int(threads), numba.config.NUMBA_NUM_THREADS)
    if threads <= 1:
        return None
    source = _prepare(graph, wrt, p, budget, parallel=True, values=values)[0]
    try:
        _, path, digest = _load(source)
        return _threaded(_compile("kernel", sig, path, digest, source), threads), threads
    except Exception as exc:    # noqa: BLE001  (the serial kernel serves: same results)
        warnings.warn(f"the lane kernel cannot be split over threads ({type(exc).__name__}: "
                      f"{exc}); it runs on one", SparseadWarning, stacklevel=3)
        return None


def compile_forward(graph, wrt: int, colors: np.ndarray, n_lanes: int, budget=None,
                    threads: int = 1, values: bool = True):
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
    budget : int, optional
        Refuse kernels larger than this (in the units of :data:`COMPILE_BUDGET`);
        ``None``: no limit.
    threads : int, default 1
        Split the loops whose iterations write disjoint elements over this many
        threads (a second, ``parallel=True`` kernel), when they run at least
        :data:`PARALLEL_MIN` iterations; reductions and scatters stay serial, so
        the results are bit-identical to one thread's.
    values : bool, default True
        False: only the lanes are wanted; the kernel may skip storing the output's
        values (``value_flat`` is then empty).

    Returns
    -------
    callable
        ``run(inputs) -> (value_flat, B)`` with ``inputs = [x, *array_args]``
        in graph-input order; ``B`` is ``(output.size, n_lanes)`` float64,
        C-contiguous, ``B = J @ S``. ``run.weight`` is the kernel's size,
        ``run.timings`` the seconds spent per stage, ``run.threads`` the threads
        it runs on.

    Raises
    ------
    NumbaBackendError
        (a ``NotImplementedError``) If any stage fails: a primitive without a
        Numba rule, a kernel above ``budget``, a generator bug, a kernel file
        that cannot be written or imported, a Numba compile error (the caller
        then uses the numpy interpreter).
    """
    t0 = time.perf_counter()
    in_nodes = [graph.nodes[i] for i in graph.inputs]
    colors, p = _lane_arguments(in_nodes, wrt, colors, n_lanes)
    source, dims, args, weight, fused, split = _prepare(graph, wrt, p, budget, values=values)
    t1 = time.perf_counter()
    try:
        _, path, digest = _load(source)
    except Exception as exc:
        raise NumbaBackendError("load", f"{type(exc).__name__}: {exc}") from exc
    t2 = time.perf_counter()
    dtypes = [nd.dtype for nd in in_nodes]
    shapes = [nd.size for nd in in_nodes]
    tail = (colors, dims, *args)
    n_out = graph.nodes[graph.outputs[0]].size
    ident = np.zeros(0, dtype=map_dtype(n_out * p)) if fused else None   # empty: identity
    sig_tail = tail + ((ident, np.zeros(0)) if fused else ())
    sig = _signature(shapes, dtypes, sig_tail)
    par = _parallel(graph, wrt, p, budget, threads, split, sig, values, weight)
    kernel, threads = par or (_compile("kernel", sig, path, digest, source), 1)
    t3 = time.perf_counter()

    run, into = _runners(kernel, tail, ident, n_out, p, dtypes, shapes)

    last_timings.clear()
    last_timings.update(generate=t1 - t0, load=t2 - t1, compile=t3 - t2, total=t3 - t0)
    run.source = source
    run.into = into if fused else None
    run.map_dtype = ident.dtype if fused else None
    run.args = list(tail)
    run.weight = weight
    run.timings = dict(last_timings)
    run.threads = threads
    return run


def map_dtype(n_cells):
    """The integer type of a fused kernel's ``fmap`` over ``n_cells`` block cells."""
    return np.int32 if n_cells < np.iinfo(np.int32).max else np.int64


def check_lanes(run, graph, wrt, colors, n_lanes, inputs, rtol=1e-7):
    """Compare the compiled lanes ``run(inputs)`` with the numpy interpreter's at one point.

    One random combination of the lanes is checked: the interpreter evaluates
    a single lane seeded with ``S r`` (``r``: fixed random weights per lane), the
    compiled block ``B`` gives ``B r``; a wrong entry of ``B`` shows for every
    ``r`` but a null set, and the interpreter's cost does not grow with the
    number of lanes. Returns ``None`` when they agree (or the interpreter cannot
    evaluate the point), else the reason. Rows where the interpreter is not
    finite are not compared; finite ones agree within ``rtol`` of the row's
    scale plus ``1e-10`` of the block's (at least 1: cancellation leaves
    rounding noise where the derivative is 0).
    """
    from ..forward import LanePlan
    colors = np.asarray(colors, dtype=np.int64).reshape(-1)
    r = np.random.default_rng(20240611).uniform(0.5, 1.5, n_lanes)
    seed = np.where(colors >= 0, r[np.maximum(colors, 0)] if n_lanes else 0.0, 0.0)
    try:
        ref_plan = LanePlan(graph, wrt, 1, want_value=False)
        with np.errstate(all="ignore"):
            ref = np.asarray(ref_plan.run_t(inputs, seed=seed.reshape(-1, 1))[1]).reshape(-1)
    except Exception:   # noqa: BLE001  (no reference at this point: nothing to compare)
        return None
    try:
        with np.errstate(all="ignore"):
            B = np.asarray(run(inputs)[1])
    except Exception as exc:   # noqa: BLE001
        return f"the compiled kernel raised {type(exc).__name__}: {exc}"
    if B.shape != (ref.size, n_lanes):
        return f"the compiled lanes have shape {B.shape}, expected {(ref.size, n_lanes)}"
    try:
        return _compare(B, ref, r, rtol)
    except Exception as exc:   # noqa: BLE001  (a bug of the check: do not trust the kernel)
        return f"the lane check failed ({type(exc).__name__}: {exc})"


def _compare(B, ref, r, rtol):
    with np.errstate(all="ignore"):
        got = B @ r
        scale = np.abs(B) @ r
        finite = np.isfinite(ref)
        # rounding of cancelling terms: an absolute floor of the block's magnitude (at least 1)
        floor = 1e-10 * max(1.0, float(np.max(np.abs(ref[finite]), initial=0.0)))
        bad = finite & ~(np.abs(got - ref) <= rtol * (np.abs(ref) + scale) + floor)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return (f"at the preparation point its lanes disagree with the numpy interpreter in "
                f"{int(bad.sum())} of {ref.size} rows (e.g. row {i}: {got[i]!r} instead of "
                f"{ref[i]!r})")
    return None
