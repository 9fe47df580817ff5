"""Lane kernels split over threads (``threads=``): bit-identical to one thread.

The parallel kernel (:func:`sparsead.ad.numba.backend.compile_forward` with
``threads > 1``) runs the loops whose iterations write disjoint elements as
``prange`` loops; reductions, pushed sums and scatters stay serial. Every case
lowers the split threshold to 0 so the threaded kernel really runs, checks that
it did (``threads == 2``), and compares the bytes of the values and of ``J.data``
(NaNs made canonical: their sign and payload are the compiler's) with the
one-thread result -- forward, reverse and bidirectional Jacobians,
Hessians (direct and substitution), with reductions feeding elementwise nodes, at
ordinary points and at points with zeros, infs and NaNs.
"""

import numpy as np
import pytest

import sparsead as sa
from sparsead import examples
from sparsead.ad.numba import backend
from sparsead.tracing import trace

numba = pytest.importorskip("numba")
pytestmark = [
    pytest.mark.skipif(numba.config.DISABLE_JIT, reason="threads need the JIT"),
    pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one Numba thread"),
]


@pytest.fixture
def split_all(monkeypatch):
    """Split every splittable kernel, however small."""
    monkeypatch.setattr(backend, "PARALLEL_MIN", 0)


def _mixed(x):
    """Elementwise chains, maps, a reduction feeding elementwise nodes, a concatenation."""
    s = np.sum(x * x)
    head = np.sin(x[1:]) * x[:-1] + s * x[1:]
    tail = np.exp(-x[:4]) / (1.0 + x[-4:] ** 2)
    return np.concatenate([head, tail, np.cumsum(x[:3])])


def _points(n):
    rng = np.random.default_rng(7)
    edge = rng.normal(size=n)
    edge[::5] = 0.0
    edge[3] = np.inf
    edge[7] = -np.inf
    edge[11] = np.nan
    return [rng.normal(size=n), edge]


def _bits(a):
    """The bytes of ``a`` with every NaN made the one canonical NaN: differently compiled
    code may give a NaN another sign or payload (x86 keeps the first operand's NaN of
    two, and operand order is the compiler's), which no numpy comparison sees."""
    a = np.asarray(a)
    return np.where(np.isnan(a), np.nan, a).tobytes()


def _same(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    return _bits(a) == _bits(b)


def _runs(op):
    return [run for run, _ in op._runs] if hasattr(op, "_runs") else [op._run]


def _assert_bit_identical(make, f, x0, split=True, **kw):
    one = make(f, x0, threads=1, **kw)
    two = make(f, x0, threads=2, **kw)
    assert all(r.threads == 1 for r in _runs(one))
    assert any(r.threads == 2 for r in _runs(two)) == split
    for x in _points(x0.size):
        with np.errstate(all="ignore"):
            a, b = one(x), two(x)
            assert _same(a.data, b.data)
            J = b.copy()
            two(x, out=J)
            assert _same(a.data, J.data)
            assert _same(one.compressed(x), two.compressed(x))


@pytest.mark.parametrize("mode", ["forward", "reverse", "bidirectional"])
def test_jacobian_threads_bit_identical(split_all, mode):
    _assert_bit_identical(sa.sparse_jacobian, _mixed, np.linspace(0.1, 2.0, 40), mode=mode)


def test_brusselator_threads_bit_identical(split_all):
    _assert_bit_identical(sa.sparse_jacobian, examples.brusselator, examples.brusselator_x0(8))


@pytest.mark.parametrize("decompression", ["direct", "substitution"])
def test_hessian_threads_bit_identical(split_all, decompression):
    """ARWHEAD: a sum over all elements feeds every row of the gradient."""
    x0 = np.linspace(0.5, 1.5, 60)
    _assert_bit_identical(sa.sparse_hessian, examples.arwhead, x0, decompression=decompression)


def test_hessian_pushed_stays_serial(split_all):
    """Minimal surface: one gradient pushed per cell into four destinations -- cells of
    different threads would add into one element, so the loop is not split."""
    N = 8
    boundary = examples.minimal_surface_boundary(N)
    x0 = np.linspace(0.0, 1.0, N * N)
    _assert_bit_identical(sa.sparse_hessian, lambda y: examples.minimal_surface(y, boundary),
                          x0, split=False)


def _scatter(x):
    """A scatter output: its base copied by a split loop, its values set by a serial one."""
    y = np.zeros(x.size + 2) + 1.5 * x[0]
    y[1:-1] = x * x[::-1]
    return y


@pytest.mark.parametrize("f", [_mixed, _scatter])
def test_compile_forward_threads(split_all, f):
    """The lane block itself (unfused) and the values, at one and two threads."""
    x = np.linspace(-1.0, 1.0, 30)
    g = trace(f, x)
    colors = np.arange(x.size) % 3
    r1 = backend.compile_forward(g, 0, colors, 3, threads=1)
    r2 = backend.compile_forward(g, 0, colors, 3, threads=2)
    assert (r1.threads, r2.threads) == (1, 2)
    assert "prange(" in backend.kernel_source(g, 0, 3, parallel=True)
    assert "prange(" not in r1.source
    for p in _points(x.size):
        with np.errstate(all="ignore"):
            v1, B1 = r1([p])
            v2, B2 = r2([p])
        assert _same(v1, v2) and _same(B1, B2)


def test_small_kernels_stay_serial():
    """Below PARALLEL_MIN split iterations the one-thread kernel runs (threads cost more)."""
    x = np.linspace(0.1, 2.0, 40)
    op = sa.sparse_jacobian(_mixed, x, threads=2)
    assert _runs(op)[0].threads == 1


def test_nothing_to_split_stays_serial(split_all):
    """A kernel whose only loop is a running sum has nothing to split."""
    x = np.linspace(0.1, 2.0, 40)
    g = trace(lambda y: np.cumsum(y), x)
    run = backend.compile_forward(g, 0, np.zeros(x.size, np.int64), 1, threads=2)
    assert run.threads == 1


def test_parallel_compile_within_budget(split_all):
    """With a compile budget, only kernels up to a third of it get the (2.5-3x slower to
    compile) parallel variant."""
    x = np.linspace(-1.0, 1.0, 30)
    g = trace(_mixed, x)
    colors = np.arange(x.size) % 3
    weight = backend.compile_forward(g, 0, colors, 3).weight
    assert backend.compile_forward(g, 0, colors, 3, budget=3 * weight, threads=2).threads == 2
    assert backend.compile_forward(g, 0, colors, 3, budget=3 * weight - 1,
                                   threads=2).threads == 1


@pytest.mark.parametrize("seed", [10005, 10107, 10171, 10200])
def test_fuzz_programs_threads_bit_identical(split_all, seed):
    """Random programs of the differential fuzzer (``tests/fuzz``): the forward, VJP and
    (scalar programs) gradient kernels at one and two threads, at the fuzzer's points
    (ties, zeros, infs and NaNs included). Seeds 10107 and 10171 give NaNs of another
    sign at two threads (compared canonically)."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fuzz.programs import RngChooser, generate, points

    from sparsead.ad import grad_graph, vjp_graph
    prog = generate(RngChooser(seed))
    rng = np.random.default_rng(seed)
    pts = [x for _, x in points(prog, rng)]
    g = trace(prog.function(), pts[0])
    w = np.linspace(0.5, 1.5, g.nodes[g.outputs[0]].size)
    graphs = [(g, 0), (vjp_graph(g), 1)] + ([(grad_graph(g), 0)] if prog.scalar else [])
    for graph, wrt in graphs:
        p = int(rng.integers(1, 5))
        colors = rng.integers(-1, p, graph.nodes[graph.inputs[wrt]].size)
        r1 = backend.compile_forward(graph, wrt, colors, p, threads=1)
        r2 = backend.compile_forward(graph, wrt, colors, p, threads=2)
        for x in pts:
            inputs = [x] if wrt == 0 else [x, w]
            with np.errstate(all="ignore"):
                assert _same(r1(inputs), r2(inputs))
