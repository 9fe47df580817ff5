"""Re-rolling (sparsead/tracing/reroll.py): rolled graphs against unrolled ones.

A differential test over random loop programs (written as Python source, so a failure
prints a program to paste): scatter chains with affine, reversed, strided, repeated and
constant indices, recurrences that read what an earlier iteration wrote, accumulations
in every style, lists stacked with np.array, nested loops, 2-D writes, constants that
vary per iteration, shared temporaries. For each program the rolled and the unrolled
graph must agree on values, Jacobians, Hessians and sparsity patterns, and the detected
pattern must contain the finite-difference nonzeros.
"""

import numpy as np
import pytest

import sparsead as sa
from sparsead.ad.forward import forward_lanes
from sparsead.ad.reverse import grad_graph, prune
from sparsead.sparsity import graph_hessian_sparsity, graph_jacobian_sparsity
from sparsead.tracing import evaluate, trace
from sparsead.tracing.guards import GuardPlan
from sparsead.tracing.reroll import reroll
from sparsead.tracing.testing import numeric_jacobian

N = 12


# --- the program generator ------------------------------------------------------------------

def _index(rng, allow_dup=True, v="i"):
    kinds = ["i", "i", "i - 1", "(i + 1) % n", "n - 1 - i", "(2 * i) % n", "(i + 3) % n"]
    if allow_dup:
        kinds += ["i % 3", "2"]
    return str(rng.choice(kinds)).replace("i", v)


def _expr(rng, depth=0, allow_t=True, v="i"):
    leaves = [f"y[{_index(rng, v=v)}]", f"y[{_index(rng, v=v)}]", f"c[{v}]", f"0.1 * {v}", "s0",
              "2.0", "t" if rng.random() < 0.2 and allow_t else f"y[{_index(rng, v=v)}]"]
    if depth >= 2 or rng.random() < 0.3:
        return str(rng.choice(leaves))
    a, b = _expr(rng, depth + 1, allow_t, v), _expr(rng, depth + 1, allow_t, v)
    return str(rng.choice([
        f"({a} + {b})", f"({a} - {b})", f"({a} * {b})", f"np.sin({a})", f"np.exp(0.3 * {a})",
        f"({a}) ** 2", f"np.maximum({a}, {b})", f"np.where({a} > {b}, {a}, -{b})",
        f"np.tanh({a}) * {b}", f"({a}) ** 3",
    ]))


def _program(seed):
    rng = np.random.default_rng(seed)
    family = ["scatter", "acc", "list", "mixed", "nested", "window", "pairs"][seed % 7]
    body, pre, result = [], ["s0 = np.sum(y ** 2)", "c = np.linspace(-1.0, 1.0, n)"], None
    lo, hi = (1, N - 1) if rng.random() < 0.5 else (0, N)
    if family in ("scatter", "mixed"):
        pre.append("r = np.zeros_like(y)")
        for _ in range(rng.integers(1, 3)):
            idx = _index(rng, allow_dup=rng.random() < 0.15)
            if rng.random() < 0.15:         # a recurrence: reads an element written before
                body.append(f"r[{idx}] = 0.5 * r[{_index(rng)}] + {_expr(rng)}")
            else:
                body.append(f"r[{idx}] = {_expr(rng)}")
        result = "r"
    if family in ("acc", "mixed"):
        style = rng.integers(4)
        pre.append("acc = 1.0" if style == 3 and rng.random() < 0.8 else "acc = 0.0")
        e = _expr(rng)
        body.append(["acc = acc + {e}", "acc = {e} + acc", "acc -= {e}",
                     "acc = acc * (1.0 + 0.1 * np.tanh({e}))"][style].format(e=e))
        result = "acc" if result is None else "np.concatenate([r, np.reshape(acc, 1)])"
    if family == "list":
        pre.append("out = []")
        if rng.random() < 0.5:
            body.append(f"out.append({_expr(rng)})")
            result = "np.array(out)"
        else:
            body.append(f"out.append(np.stack([{_expr(rng)}, {_expr(rng)}]))")
            result = "np.concatenate(out)" if rng.random() < 0.5 else "np.array(out)"
    if family == "nested":
        pre += ["r = np.zeros_like(y)", "A = np.cos(np.arange(n * 4.0)).reshape(n, 4)"]
        body = ["s = 0.0", "for j in range(4):", "    k = (i + j) % n",
                f"    s = s + A[i, j] * {_expr(rng, v='k')}",
                f"r[i] = {str(rng.choice(['np.sin(s)', 's * s', 's']))}"]
        lo, hi = 0, N
        result = "r"
    if family == "window":
        pre.append("R = np.zeros_like(y, shape=(n // 2, 2))")
        body = [f"w = y[2 * i:2 * i + 2] * {_expr(rng)}", "R[i, :] = w ** 2 + np.sum(w)",
                "R[i, 1] = R[i, 1] * y[i]" if rng.random() < 0.3 else "t2 = 0"]
        lo, hi = 0, N // 2
        result = "R"
    if family == "pairs":       # two statements per iteration: items repeat with period 2
        lo, hi = 0, N // 2
        if rng.random() < 0.5:
            pre.append("r = np.zeros_like(y)")
            body = [f"r[2 * i] = {_expr(rng)}", f"r[2 * i + 1] = {_expr(rng)}"]
            result = "r"
        else:
            pre.append("out = []")
            body = [f"out.append({_expr(rng)})", f"out.append({_expr(rng)})"]
            result = "np.array(out)"
    if rng.random() < 0.3:
        body.insert(0, f"t = {_expr(rng, allow_t=False)}")   # shared by the statements
    else:
        pre.append("t = y[0] * 0.5")
    lines = ["def f(y):", "    n = y.size"] + ["    " + p for p in pre]
    lines.append(f"    for i in range({lo}, {hi}):")
    lines += ["        " + b for b in body]
    lines.append(f"    return {result}")
    src = "\n".join(lines)
    ns = {"np": np}
    exec(src, ns)
    return ns["f"], src, family


def _dense_jacobian(graph, x):
    n = x.size
    _, B = forward_lanes(prune(graph), [x], 0, np.arange(n), n)
    return B


def _check(f, src, x, rng):
    unrolled = trace(f, x, reroll=False)
    rolled, _ = reroll(unrolled)
    assert len(rolled.nodes) <= len(unrolled.nodes), src
    for _ in range(3):
        z = rng.standard_normal(x.shape)
        a = np.asarray(evaluate(unrolled, z))
        b = np.asarray(evaluate(rolled, z))
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-11, err_msg=src)
        np.testing.assert_allclose(np.asarray(f(z)), a, rtol=1e-11, atol=1e-11, err_msg=src)
        np.testing.assert_allclose(_dense_jacobian(rolled, z), _dense_jacobian(unrolled, z),
                                   rtol=1e-10, atol=1e-10, err_msg=src)
    Pu = graph_jacobian_sparsity(unrolled).toarray()
    Pr = graph_jacobian_sparsity(rolled).toarray()
    # rolled patterns can only be tighter: `acc = 0.0; acc = acc * t` is 0 * prod(t) rolled,
    # and the known zero drops the whole product, where the chain only drops its first step
    assert (Pr <= Pu).all(), src
    num = numeric_jacobian(f, z)
    assert not (np.abs(num) > 1e-6)[~Pr].any(), src
    if rolled.nodes[rolled.outputs[0]].size == 1:
        Hu = _dense_jacobian(grad_graph(unrolled), z)
        Hr = _dense_jacobian(grad_graph(rolled), z)
        np.testing.assert_allclose(Hr, Hu, rtol=1e-9, atol=1e-9, err_msg=src)
        Sr = graph_hessian_sparsity(rolled).toarray()
        assert not (np.abs(Hu) > 1e-9)[~Sr].any(), src
    return unrolled, rolled


@pytest.mark.parametrize("seed", range(120))
def test_rolled_equals_unrolled_on_random_loop_programs(seed):
    f, src, family = _program(seed)
    rng = np.random.default_rng(1000 + seed)
    x = rng.standard_normal(N)
    _check(f, src, x, rng)


def test_the_generator_exercises_rolling():
    """Most generated programs must actually roll (else the differential test proves little)."""
    rolled_count = big = 0
    for seed in range(70):
        f, src, family = _program(seed)
        g = trace(f, np.ones(N), reroll=False)
        if len(g.nodes) <= 40:              # loops over constants fold while tracing
            continue
        big += 1
        rolled_count += len(reroll(g)[0].nodes) < len(g.nodes) // 2
    assert big >= 40 and rolled_count >= 0.6 * big


# --- targeted cases -----------------------------------------------------------------------------

def _rhs_loop(y):
    r = np.zeros_like(y)
    for i in range(1, y.size - 1):
        r[i] = y[i - 1] - 2 * y[i] + y[i + 1] + 0.1 * y[i] ** 3
    return r


def _rhs_slices(y):
    r = np.zeros_like(y)
    r[1:-1] = y[:-2] - 2 * y[1:-1] + y[2:] + 0.1 * y[1:-1] ** 3
    return r


def test_the_issue_loop_rolls_to_the_size_of_the_slice_version():
    y = np.linspace(0.0, 1.0, 2000)
    g = trace(_rhs_loop, y)
    assert len(g.nodes) <= len(trace(_rhs_slices, y).nodes) + 8
    np.testing.assert_array_equal(graph_jacobian_sparsity(g).toarray(),
                                  sa.jacobian_sparsity(_rhs_slices, y).toarray())
    J = sa.sparse_jacobian(_rhs_loop, y)(y)
    np.testing.assert_allclose(J.toarray(), sa.sparse_jacobian(_rhs_slices, y)(y).toarray())


def _objective_loop(x):
    s = 0.0
    for i in range(x.size - 1):
        s = s + (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def _residuals_list(x):
    out = []
    for i in range(x.size - 1):
        out.append(10.0 * (x[i + 1] - x[i] ** 2))
        out.append(1.0 - x[i])
    return np.array(out)


@pytest.mark.parametrize("f", [_objective_loop, _residuals_list])
def test_issue_styles_roll(f):
    x = np.linspace(-1.0, 1.0, 500)
    g0 = trace(f, x, reroll=False)
    g = trace(f, x)
    assert len(g.nodes) < 40 < len(g0.nodes)
    np.testing.assert_allclose(evaluate(g, x), evaluate(g0, x), rtol=1e-12)


def test_recurrence_is_not_rolled_but_stays_correct():
    def f(y):
        r = np.zeros_like(y)
        r[0] = y[0]
        for i in range(1, y.size):
            r[i] = 0.5 * r[i - 1] + y[i] ** 2
        return r

    y = np.linspace(0.1, 1.0, 30)
    g = trace(f, y)
    np.testing.assert_allclose(evaluate(g, y), f(y), rtol=1e-14)
    P = graph_jacobian_sparsity(g).toarray()
    np.testing.assert_array_equal(P, np.tril(np.ones((30, 30), dtype=bool)))


def test_repeated_writes_to_one_element_keep_the_last():
    def f(y):
        r = np.zeros_like(y)
        for i in range(y.size):
            r[i % 3] = y[i] ** 2
        return r

    y = np.arange(1.0, 10.0)
    g = trace(f, y)
    np.testing.assert_allclose(evaluate(g, y), f(y))
    assert graph_jacobian_sparsity(g).nnz == 3


def test_guarded_nodes_survive_and_local_values_follow():
    def f(y):
        r = np.zeros_like(y)
        for i in range(y.size):
            r[i] = y[i] ** 2 if y[i] > 0 else -y[i]
        return r

    y = np.linspace(-1.0, 1.0, 8)
    g = trace(f, y, local=True)
    assert len(g.guards) == 1 and g.guards[0].test == "truths"     # one vector of 8
    assert g.guards[0].expected.tolist() == (y > 0).tolist()
    assert g.guards[0].holds(g.values[g.guards[0].node])
    assert len(g.values) == len(g.nodes) and len(g.nodes) < 30
    plan = GuardPlan(g)
    assert plan.holds([y]) and plan.holds([y + 0.01]) and not plan.holds([-y])
    assert plan.n_steps <= 4          # gather, compare, reshapes: not one per element


def _two_arrays(y):
    r = np.zeros_like(y)
    q = np.zeros_like(y)
    for i in range(y.size):
        r[i] = y[i] ** 2
        q[i] = np.sin(y[(i + 1) % y.size]) + r[i]      # reads what this iteration wrote
    return np.concatenate([r, q])


def _old_version(y):
    r = y * 1.0
    old = r * 2.0
    for i in range(1, y.size):
        r[i] = old[i - 1] + y[i] * r[0]                # r[0] is never written in the loop
    return r


@pytest.mark.parametrize("f", [_two_arrays, _old_version])
def test_reads_of_arrays_being_written(f):
    rng = np.random.default_rng(5)
    y = rng.standard_normal(16)
    _check(f, "", y, rng)
