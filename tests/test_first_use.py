"""First use: what ``import sparsead`` loads, which kernels a call compiles, and for how many types.

Timings live in ``benchmarks/bench_startup.py``; these tests pin the mechanisms
that keep first use cheap (lazy imports, skipped orders, one specialisation per
kernel) so that a change that undoes one of them fails here.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsead as sa
from sparsead.coloring import ORDERS, PROBLEMS, lower_bound

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fresh_python(code, **env):
    """Run ``code`` in a new interpreter on this checkout; return its last stdout line as JSON."""
    full = dict(os.environ, PYTHONPATH=ROOT, **env)
    r = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


HEAVY = ("numba", "networkx", "matplotlib", "scipy.optimize", "scipy.io", "cyipopt", "tqdm")


def test_import_sparsead_loads_no_heavy_module():
    loaded = _fresh_python(
        "import sys, json, sparsead\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert loaded == []


def test_detection_and_gradients_load_no_coloring_kernel():
    loaded = _fresh_python(
        "import sys, json, numpy as np, sparsead as sa\n"
        "sa.gradient(lambda x: np.sum(x ** 3))(np.ones(4))\n"
        "after_gradient = 'numba' in sys.modules\n"
        "sa.hessian_sparsity(lambda x: np.sum(x ** 3), np.ones(4))\n"
        "print(json.dumps([after_gradient] + [m for m in ('networkx', 'matplotlib', "
        "'scipy.optimize', 'sparsead._kernels.coloring', 'sparsead._kernels.decompress') "
        "if m in sys.modules]))")
    assert loaded == [False]


def test_public_names_are_complete_and_resolve():
    assert len(set(sa.__all__)) == len(sa.__all__)
    assert set(sa.__all__) <= set(dir(sa))
    for name in sa.__all__:
        assert getattr(sa, name) is not None
    assert sa.optimize.derivatives is sa.derivatives
    assert sa.coloring.color is sa.color
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sa.nope  # noqa: B018


def test_star_import_gives_the_public_api():
    ns = {}
    exec("from sparsead import *", ns)
    assert {"sparse_hessian", "color", "derivatives", "Coloring", "PatternError"} <= set(ns)


def test_the_quickstart_hessian_compiles_only_the_kernels_it_needs(tmp_path):
    """Chained Rosenbrock: natural order reaches the lower bound (2 colors), so the
    other orders (and smallest-last's dynamic_order kernel) are skipped; every kernel
    is compiled for exactly one type signature."""
    code = (
        "import json, numpy as np, sparsead as sa\n"
        "from sparsead._kernels import coloring, decompress, sparsity\n"
        "def f(x):\n"
        "    a, b = x[0::2], x[1::2]\n"
        "    return np.sum(100 * (b - a ** 2) ** 2 + (1 - a) ** 2)\n"
        "x0 = np.tile([-1.2, 1.0], 50)\n"
        "hess = sa.sparse_hessian(f, x0); hess(x0); hess(x0 + 1)\n"
        "sigs = {m.__name__.split('.')[-1] + '.' + k: len(v.signatures)\n"
        "        for m in (coloring, decompress, sparsity) for k, v in vars(m).items()\n"
        "        if hasattr(v, 'signatures') and v.signatures}\n"
        "print(json.dumps([hess.n_colors, hess.coloring.order, sigs]))")
    n_colors, order, sigs = _fresh_python(code, NUMBA_CACHE_DIR=str(tmp_path / "numba"),
                                          SPARSEAD_CACHE_DIR=str(tmp_path / "kernels"))
    assert (n_colors, order) == (2, "natural")
    # the lane kernel writes H.data itself; copy_within fills the mirror entries
    assert sorted(sigs) == ["coloring.star_color", "decompress.copy_within",
                            "decompress.direct_reads", "sparsity.compose"]
    assert set(sigs.values()) == {1}


def test_run_plan_compiles_once_for_writeable_and_readonly_inputs():
    from sparsead._kernels import decompress
    A = sp.random_array((30, 40), density=0.1, rng=1, format="csr")
    for problem in ("column", "bidirectional"):
        c = sa.color(A, problem)
        B = c.compress(A)
        frozen = tuple(np.array(b) for b in B) if problem == "bidirectional" else np.array(B)
        for b in (frozen if problem == "bidirectional" else (frozen,)):
            b.flags.writeable = False
        assert (c.decompress(B) != A).nnz == 0
        assert (c.decompress(frozen) != A).nnz == 0
    assert len(decompress.run_plan.signatures) == 1


# ------------------------------------------------------------- order lists stop at the bound

@st.composite
def patterns(draw):
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2 ** 16))
    density = draw(st.sampled_from([0.05, 0.2, 0.5]))
    return sp.random_array((m, n), density=density, rng=seed, format="csr")


@settings(derandomize=True, max_examples=60, deadline=None)
@given(patterns(), st.sampled_from(PROBLEMS))
def test_lower_bound_holds_for_every_order(A, problem):
    if problem in ("distance1", "distance2", "star", "acyclic"):
        if A.shape[0] != A.shape[1]:
            A = sp.csr_array(A[:min(A.shape), :min(A.shape)])
        A = sp.csr_array(A + A.T)
    p = sp.csr_array(A, dtype=bool)
    bound = lower_bound(p, problem)
    counts = [sa.color(p, problem, order, seed=0).n_colors for order in ORDERS]
    assert bound <= min(counts)
    best = sa.color(p, problem, list(ORDERS), seed=0)
    assert best.n_colors == min(counts)
    assert best.order == ORDERS[counts.index(min(counts))]


def test_lower_bound_is_reached_by_common_patterns():
    """A tridiagonal Jacobian (3 per row) and a block-diagonal Hessian (2) stop after natural."""
    from sparsead.patterns import banded
    T = banded(50, 1)
    assert lower_bound(T, "column") == 3 and sa.color(T, "column", list(ORDERS)).order == "natural"
    H = sp.csr_array(sp.block_diag([np.ones((2, 2))] * 20), dtype=bool)
    assert lower_bound(H, "star") == 2
    assert sa.color(H, "star", ["natural", "smallest_last"]).order == "natural"
    offdiag_only = sp.csr_array(np.array([[0, 1], [1, 0]], dtype=bool))
    assert lower_bound(offdiag_only, "star") == 1  # post-processing keeps one color
    assert sa.color(offdiag_only, "star").n_colors == 1


@settings(derandomize=True, max_examples=60, deadline=None)
@given(patterns())
def test_bicoloring_bound_holds_for_both_decompressions(A):
    """The direct bound (up to 3) never exceeds a star bicoloring; substitution claims none."""
    p = sp.csr_array(A, dtype=bool)
    direct = min(sa.color(p, "bidirectional", o, seed=0).n_colors for o in ORDERS)
    assert lower_bound(p, "bidirectional") <= direct
    assert lower_bound(p, "bidirectional", "substitution") == 0


def test_bicoloring_bound_lets_auto_mode_skip_the_bicoloring(monkeypatch):
    """Banded Jacobians: the bicoloring needs 3 colors, as the columns do, so auto skips it."""
    import sparsead.prepared._choice as choice
    from sparsead.examples import broyden_tridiagonal
    from sparsead.patterns import banded
    assert lower_bound(banded(40, 1), "bidirectional") == 3
    assert lower_bound(sp.csr_array(np.eye(5, dtype=bool)), "bidirectional") == 1
    calls = []
    real = choice.color
    monkeypatch.setattr(choice, "color", lambda p, problem, *a, **k: (
        calls.append(problem), real(p, problem, *a, **k))[1])
    jac = sa.sparse_jacobian(broyden_tridiagonal, np.ones(30), backend="numpy")
    assert (jac.mode, jac.n_colors) == ("forward", 3)
    assert calls == ["column"]
