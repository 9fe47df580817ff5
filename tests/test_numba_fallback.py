"""``backend="auto"`` never raises where ``backend="numpy"`` works, and says why it falls back.

Failures are injected at every stage of the Numba backend (a primitive without
a rule, a lowering bug, a generator bug, a kernel file that cannot be written,
a Numba compile error, compiled lanes that disagree with the interpreter, a
kernel above the compile budget): ``auto`` must return the numpy backend's
matrix with exactly one :class:`sparsead.SparseadWarning` naming the primitive
or the stage, ``backend="numba"`` must raise a ``NotImplementedError`` with
the same reason. Then the kernel cache: files corrupted in every way we can
think of (truncated, garbage, empty, a directory in their place, unreadable)
are discarded and rebuilt once with a warning, and the next process finds a
healthy cache (checked in subprocesses). Every test uses its own cache
directory.
"""

import glob
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import sparsead as sa
from sparsead.ad.numba import backend as numba_backend
from sparsead.ad.numba import codegen as numba_codegen
from sparsead.ad.numba import lower as numba_lower
from sparsead.ad.numba import plan as numba_plan

DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") == "1"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEAD_CACHE_DIR", str(tmp_path))
    return tmp_path


def _f(x):
    return np.sin(x[1:]) * x[:-1] + np.exp(-x[1:] ** 2)


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn()
    return out, [m for m in w if issubclass(m.category, sa.SparseadWarning)]


def _assert_falls_back(f, x, match, **kw):
    """auto: the numpy matrix and one warning matching ``match``; numba: an error matching it."""
    ref = sa.sparse_jacobian(f, x, backend="numpy", **kw)(x).toarray()
    op, ws = _warnings_of(lambda: sa.sparse_jacobian(f, x, **kw))
    assert op.backend == "numpy"
    assert len(ws) == 1, [str(w.message) for w in ws]
    assert match in str(ws[0].message) and "numpy interpreter" in str(ws[0].message)
    np.testing.assert_array_equal(op(x).toarray(), ref)
    with pytest.raises(NotImplementedError, match="backend='numba'") as info:
        sa.sparse_jacobian(f, x, backend="numba", **kw)
    assert match in str(info.value)


# ---------------------------------------------------------------- every stage

def test_primitive_without_rule_named_once_in_every_mode():
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])

    def f(x):
        return np.linalg.solve(A + np.diag(x), np.ones(3)) * x[0]
    x = np.array([1.0, 0.5, 2.0])
    for mode in ("forward", "reverse", "bidirectional"):
        _assert_falls_back(f, x, "primitive 'solve'", mode=mode)
    ref = sa.sparse_hessian(lambda x: np.sum(f(x)), x, backend="numpy")(x).toarray()
    H, ws = _warnings_of(lambda: sa.sparse_hessian(lambda x: np.sum(f(x)), x))
    assert H.backend == "numpy" and len(ws) == 1 and "solve" in str(ws[0].message)
    np.testing.assert_allclose(H(x).toarray(), ref)


def test_lowering_bug_names_the_primitive(monkeypatch):
    def broken(self, nd, ins):
        raise ValueError("made-up lowering bug")
    monkeypatch.setattr(numba_lower._Lowering, "_transpose", broken)
    _assert_falls_back(lambda x: (x.reshape(2, 3).T * 2.0).ravel(), np.arange(6.0),
                       "primitive 'transpose': ValueError: made-up lowering bug")


def test_codegen_bug_names_the_stage(monkeypatch):
    def broken(self, k):
        raise KeyError("made-up generator bug")
    monkeypatch.setattr(numba_codegen._Codegen, "_w_cumsum", broken)
    _assert_falls_back(lambda x: np.cumsum(x) * x, np.arange(1.0, 5.0), "codegen stage")


def test_unwritable_cache_names_the_stage(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(numba_backend, "kernel_cache_dir", lambda: str(blocker))
    _assert_falls_back(_f, np.linspace(0, 1, 5), "load stage")


@pytest.mark.skipif(DISABLED, reason="needs Numba's compiler")
def test_compile_error_names_the_stage(monkeypatch):
    from sparsead.primitives import REGISTRY, ScalarRule
    entry = REGISTRY["arcsinh"]
    monkeypatch.setattr(entry, "scalar", ScalarRule("np.arcsinh({0}, 1, 2, 3)",
                                                    entry.scalar.partials))
    _assert_falls_back(lambda x: np.arcsinh(x) * x, np.linspace(0, 1, 4), "compile stage")


def test_lanes_that_disagree_with_the_interpreter_are_not_used(monkeypatch):
    from sparsead.primitives import REGISTRY, ScalarRule
    entry = REGISTRY["arcsinh"]
    scalar = entry.scalar
    monkeypatch.setattr(entry, "scalar", ScalarRule(scalar.value,
                                                    ("(1.0 / np.sqrt({0} * {0} + 2.0))",)))
    f = lambda x: np.arcsinh(x[1:]) * x[:-1]      # noqa: E731
    _assert_falls_back(f, np.linspace(0, 1, 6), "disagree with the numpy interpreter")
    # reverse lanes differentiate the recorded partials: a wrong value template shows there
    monkeypatch.setattr(entry, "scalar", ScalarRule("(np.arcsinh({0}) * 1.001)",
                                                    scalar.partials))
    _assert_falls_back(f, np.linspace(0, 1, 6), "disagree with the numpy interpreter",
                       mode="reverse")
    monkeypatch.setattr(numba_backend, "CHECK_LANES", False)     # the check is what caught it
    assert sa.sparse_jacobian(f, np.linspace(0, 1, 6)).backend == "numba"


def test_kernel_above_the_budget(monkeypatch):
    monkeypatch.setattr(numba_backend, "COMPILE_BUDGET", 40)
    x = np.linspace(0, 1, 6)
    ref = sa.sparse_jacobian(_f, x, backend="numpy")(x).toarray()
    op, ws = _warnings_of(lambda: sa.sparse_jacobian(_f, x))
    assert op.backend == "numpy" and len(ws) == 1 and "compile budget" in str(ws[0].message)
    np.testing.assert_array_equal(op(x).toarray(), ref)
    forced = sa.sparse_jacobian(_f, x, backend="numba")      # an explicit request compiles
    assert forced.backend == "numba"
    np.testing.assert_allclose(forced(x).toarray(), ref, rtol=1e-14)


def test_loop_written_rhs_falls_back_before_compiling():
    """Issue 10: one scatter per element made a kernel that took 388 s to compile at n = 100.

    Tracing now re-rolls the loop into vector primitives, so the kernel is small and
    compiles; a graph that stays over the budget falls back (``test_kernel_above_the_budget``).
    """
    n = 100

    def rhs(y):
        r = np.zeros_like(y)
        for i in range(1, n - 1):
            r[i] = y[i - 1] - 2 * y[i] + y[i + 1] + 0.1 * y[i] ** 3
        return r
    x = np.linspace(0, 1, n)
    op, ws = _warnings_of(lambda: sa.sparse_jacobian(rhs, x))
    assert op.backend == "numba" and not ws and len(op._graph.nodes) < 100
    assert op.timings["compile"] < 3.0
    J = op(x).toarray()
    i = np.arange(1, n - 1)
    np.testing.assert_allclose(J[i, i], -2 + 0.3 * x[i] ** 2)
    np.testing.assert_allclose(J[i, i - 1], 1.0)


def test_deep_expression_generates():
    """A chain of 300 elementwise operations: inlining depth is bounded (the generator once
    recursed once per operation: RecursionError); auto then keeps to the budget."""
    def f(x):
        y = x
        for k in range(300):
            y = np.sin(y) * 0.5 + x * (1.0 + 1e-3 * k)
        return y
    x = np.linspace(-1, 1, 5)
    from sparsead.tracing import trace
    source = numba_backend.kernel_source(trace(f, x), 0, 5)
    assert source.count("for ") > 300 // numba_plan.INLINE_DEPTH
    op, ws = _warnings_of(lambda: sa.sparse_jacobian(f, x))
    assert all("compile budget" in str(w.message) for w in ws)
    np.testing.assert_allclose(op(x).toarray(),
                               sa.sparse_jacobian(f, x, backend="numpy")(x).toarray(),
                               rtol=1e-12)


# ---------------------------------------------------------------- a cache that heals

def _kernel_files(cache):
    return sorted(glob.glob(os.path.join(cache, "lanes_*.py")))


def _numba_files(cache, ext):
    return sorted(glob.glob(os.path.join(cache, "__pycache__", f"lanes_*.{ext}")))


def _corrupt(path, how):
    if how == "truncate":
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 2])
    elif how == "garbage":
        open(path, "wb").write(np.random.default_rng(0).bytes(300))
    elif how == "empty":
        open(path, "wb").close()
    elif how == "directory":
        os.remove(path)
        os.mkdir(path)
        open(os.path.join(path, "x"), "w").close()
    elif how == "unreadable":
        os.chmod(path, 0)


HOWS = ["truncate", "garbage", "empty", "directory",
        pytest.param("unreadable", marks=pytest.mark.skipif(
            hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file"))]


def _prepare_fresh(x):
    """Prepare as a new process would: nothing loaded in memory."""
    numba_backend._LOADED.clear()
    return _warnings_of(lambda: sa.sparse_jacobian(_f, x, mode="forward"))


@pytest.mark.skipif(DISABLED, reason="needs Numba's cache")
@pytest.mark.parametrize("target", ["source", "nbi", "nbc"])
@pytest.mark.parametrize("how", HOWS)
def test_corrupt_cache_file_is_rebuilt_once(own_cache, target, how):
    x = np.linspace(0.1, 0.9, 7)
    ref = sa.sparse_jacobian(_f, x, backend="numpy")(x).toarray()
    op, ws = _prepare_fresh(x)
    assert op.backend == "numba" and not ws
    files = _kernel_files(own_cache) if target == "source" else _numba_files(own_cache, target)
    assert len(files) == 1, files
    _corrupt(files[0], how)
    op, ws = _prepare_fresh(x)
    assert op.backend == "numba", [str(w.message) for w in ws]
    assert len(ws) == 1 and "discarded and the kernel rebuilt" in str(ws[0].message)
    np.testing.assert_allclose(op(x).toarray(), ref, rtol=1e-14)
    op, ws = _prepare_fresh(x)              # healed: silent from now on
    assert op.backend == "numba" and not ws
    np.testing.assert_allclose(op(x).toarray(), ref, rtol=1e-14)


_CHILD = """
import warnings, numpy as np, sparsead as sa
warnings.simplefilter("always")
f = lambda x: np.sin(x[1:]) * x[:-1] + np.exp(-x[1:] ** 2)
x = np.linspace(0.1, 0.9, 7)
print(sa.sparse_jacobian(f, x, mode="forward").backend)
"""


@pytest.mark.skipif(DISABLED, reason="needs Numba's cache")
def test_next_process_finds_a_healed_cache(own_cache):
    env = dict(os.environ, SPARSEAD_CACHE_DIR=str(own_cache))
    run = lambda: subprocess.run([sys.executable, "-c", _CHILD], env=env,   # noqa: E731
                                 capture_output=True, text=True, timeout=300)
    first = run()
    assert first.returncode == 0 and first.stdout.strip() == "numba", first.stderr
    for victim, what in ((lambda: _kernel_files(own_cache)[0], "a corrupt kernel source"),
                         (lambda: _numba_files(own_cache, "nbi")[0], "Numba cache files")):
        _corrupt(victim(), "truncate")
        healing = run()
        assert healing.returncode == 0 and healing.stdout.strip() == "numba", healing.stderr
        assert healing.stderr.count("discarded and the kernel rebuilt") == 1, healing.stderr
        assert what in healing.stderr
        healed = run()
        assert healed.returncode == 0 and healed.stdout.strip() == "numba"
        assert "Warning" not in healed.stderr, healed.stderr
