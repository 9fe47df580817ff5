"""Every compiled scalar rule against its numpy rule, at random and edge points (issue 10, item 2).

The Numba backend has its own copy of each elementwise primitive's value and
partial derivatives (the ``scalar`` template of each row of the elementwise table,
``sparsead/primitives/elementwise.py``, and the special templates lowering picks: powers with a constant exponent, division
by a constant, casts, ``where``, folded scalar factors). Here each of them is
compiled through the real pipeline (a graph of all the primitives of one
signature, one kernel, one lane per argument) and its value and lanes are
compared element by element with the registry's numpy ``impl`` and the numpy
partials of the same row (``REGISTRY[name].partials``), at every pair of edge points (0, -0,
+-1, ties, +-inf, NaN, huge, tiny, subnormal) and at random points.
Composite templates are compared with the numpy lane interpreter on one lane.
A coverage test fails when a primitive has a numpy derivative rule but no
compiled check here.
"""

import numpy as np
import pytest

from sparsead.ad import forward_lanes
from sparsead.ad.numba.backend import compile_forward
from sparsead.primitives import REGISTRY
from sparsead.tracing import trace

#: compiled scalar templates and numpy partials, by name: straight from the registry's rows
NUMBA_RULES = {name: e.scalar for name, e in REGISTRY.items() if e.scalar is not None}
PARTIALS = {name: e.partials for name, e in REGISTRY.items()
            if e.partials is not None and any(d is not None for d in e.partials)}

EDGE = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -3.0, 1e-300, -1e-300, 5e-324, 1e300,
                 -1e300, np.inf, -np.inf, np.nan, 0.9999999, 1.0000001, 700.0, -745.0, 30.0])
#: compiled and numpy values may differ by rounding (libm vs numpy's SIMD loops)
RTOL = 4e-15


def _points(arity, seed):
    rng = np.random.default_rng(seed)
    if arity == 1:
        return [np.concatenate([EDGE, rng.uniform(-4, 4, 40), rng.uniform(-1, 1, 20)])]
    a, b = np.meshgrid(EDGE, EDGE, indexing="ij")
    r = rng.uniform(-4, 4, (2, 60))
    ties = rng.uniform(-4, 4, 20)
    return [np.concatenate([a.ravel(), r[0], ties]), np.concatenate([b.ravel(), r[1], ties])]


def _same(got, want):
    """Equal as numbers: NaN == NaN, 0 == -0, finite values to a few ulps."""
    got, want = np.broadcast_arrays(np.asarray(got, np.float64), np.asarray(want, np.float64))
    both_nan = np.isnan(got) & np.isnan(want)
    exact = got == want
    with np.errstate(invalid="ignore"):
        close = np.isfinite(got) & np.isfinite(want) & (np.abs(got - want) <= RTOL * np.abs(want))
    return both_nan | exact | close


def _assert_same(got, want, what, args):
    ok = _same(got, want)
    if not ok.all():
        i = np.flatnonzero(~ok)[:6]
        pts = [tuple(float(a[j]) for a in args) for j in i]
        raise AssertionError(f"{what}: compiled {np.asarray(got).reshape(-1)[i]} != numpy "
                             f"{np.broadcast_to(want, np.shape(got)).reshape(-1)[i]} at {pts}")


def _arity(prim):
    return len(NUMBA_RULES[prim].partials)


def _kind(prim):
    dom = REGISTRY[prim].elementwise.domain
    return "bool" if dom[0] == "bool" else "float"


GROUPS = {}
for _p in NUMBA_RULES:
    if _p != "where":
        GROUPS.setdefault((_arity(_p), _kind(_p)), []).append(_p)


def _run_group(prims, arity, kind, args, cast=None):
    """Compile ``concatenate([prim(*args) for prim in prims])``; lane ``k``: argument ``k``."""
    n = args[0].size
    x = np.concatenate(args)

    def f(x):
        parts = [x[k * n:(k + 1) * n] for k in range(arity)]
        if kind == "bool":
            parts = [p > 0.25 for p in parts]
        if cast is not None:
            parts = [p.astype(cast) for p in parts]
        tc = x._tc
        outs = [tc.add(prim, parts) for prim in prims]
        return np.concatenate([o.astype(np.float64) for o in outs])

    g = trace(f, x)
    colors = np.repeat(np.arange(arity), n)
    value, B = compile_forward(g, 0, colors, arity)([x])
    return value.reshape(len(prims), n), B.reshape(len(prims), n, arity)


@pytest.mark.parametrize("arity,kind", sorted(GROUPS))
def test_scalar_rules_against_numpy_rules(arity, kind):
    prims = GROUPS[arity, kind]
    args = _points(arity, 10 * arity)
    values, lanes = _run_group(prims, arity, kind, args)
    if kind == "bool":
        args = [a > 0.25 for a in args]
    for t, prim in enumerate(prims):
        want = REGISTRY[prim].impl(*args)
        _assert_same(values[t], want, f"{prim} value", args)
        # the partials from the compiled value (1 - tanh**2 must not see tanh's last ulp)
        out = np.where(np.isnan(values[t]) & np.isnan(want), want, values[t]).astype(want.dtype)
        fns = PARTIALS.get(prim, (None,) * arity)
        for k in range(arity):
            compiled, numpy_rule = NUMBA_RULES[prim].partials[k], fns[k]
            assert (compiled is None) == (numpy_rule is None), \
                f"{prim}: argument {k} has a derivative in one backend only"
            if numpy_rule is None:
                np.testing.assert_array_equal(lanes[t, :, k], 0.0)
                continue
            with np.errstate(all="ignore"):
                d = numpy_rule(*args, out)
            _assert_same(lanes[t, :, k], d, f"{prim} d/darg{k}", args)
            if prim in CONVENTION:
                _assert_same(lanes[t, :, k], CONVENTION[prim][k](*args, out),
                             f"{prim} d/darg{k} (tie convention)", args)


def _split(pick):
    """The lead's tie convention, written plainly: 1 to the argument numpy returns, 0.5 each
    when both are (equal values, or both NaN)."""
    def d(k):
        def partial(a, b, out):
            a, b = np.broadcast_arrays(a, b)
            mine, other = (a, b) if k == 0 else (b, a)
            return np.array([0.5 if (m == o or (m != m and o != o)) else
                             (1.0 if pick(m, o) else 0.0) for m, o in zip(mine, other)])
        return partial
    return d(0), d(1)


#: the tie convention (README, "Derivatives") stated independently of both rule tables
CONVENTION = {
    "maximum": _split(lambda m, o: m > o or (m != m)),
    "minimum": _split(lambda m, o: m < o or (m != m)),
    "fmax": _split(lambda m, o: m > o or (o != o)),
    "fmin": _split(lambda m, o: m < o or (o != o)),
}


def test_bitwise_rules_on_integers():
    prims = ["bitwise_and", "bitwise_or", "bitwise_xor"]
    a, b = (np.array([0, 1, -1, 5, -7, 2 ** 40, 3]).astype(float),
            np.array([0, 3, 6, -1, 12, 2 ** 41 - 1, 3]).astype(float))
    values, _ = _run_group(prims, 2, "float", [a, b], cast=np.int64)
    for t, prim in enumerate(prims):
        np.testing.assert_array_equal(values[t], REGISTRY[prim].impl(a.astype(np.int64),
                                                                     b.astype(np.int64)))
    values, _ = _run_group(["invert"], 1, "float", [a], cast=np.int64)
    np.testing.assert_array_equal(values[0], np.invert(a.astype(np.int64)))


# ---------------------------------------------------------------- templates of numba_lower

def _single(fn, x):
    """Compiled value and lane of ``fn`` on one lane seeding every element (no pollution)."""
    g = trace(fn, x)
    colors = np.zeros(x.size, np.int64)
    value, B = compile_forward(g, 0, colors, 1)([x])
    return value, B[:, 0], g


#: exponents with a template of their own (0, 1, 2, 3, 0.5, -1, small integers) and general ones
EXPONENTS = [0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, 5.0, -7.0, 63.0, 64.0, -64.0, 2.5, -0.5, 1e-3]


@pytest.mark.parametrize("side,c", [("exponent", e) for e in EXPONENTS]
                         + [("base", b) for b in (2.0, 0.5, 0.0, -2.0, np.e)])
def test_power_with_a_constant(side, c):
    """``x ** c`` (the templates of each special exponent) and ``c ** x``."""
    x = _points(1, 3)[0]
    fn, k = ((lambda x: x ** c), 0) if side == "exponent" else ((lambda x: c ** x), 1)
    value, lane, _ = _single(fn, x)
    args = (x, c) if side == "exponent" else (c, x)
    with np.errstate(all="ignore"):
        want = fn(x)
        d = PARTIALS["power"][k](*args, want)
    _assert_same(value, want, f"power {side} {c}", [x])
    _assert_same(lane, d, f"d(power {side} {c})/dx", [x])


@pytest.mark.parametrize("exponent", [np.array([-2, 0, 1, 3, -1]),
                                      np.array([0.0, -0.5, 2.5, 1.0, 3.0])])
def test_power_with_constant_array_exponent(exponent):
    e = np.tile(exponent, 20)
    x = np.resize(_points(1, 5)[0], e.size)
    value, lane, _ = _single(lambda x: x ** e, x)
    with np.errstate(all="ignore"):
        want = x ** e
        d = PARTIALS["power"][0](x, e.astype(float), want)
    _assert_same(value, want, "x ** array", [x, e])
    _assert_same(lane, d, "d(x ** array)/dx", [x, e])


@pytest.mark.parametrize("c", [3.0, -0.5, 0.25, 1e300, 1e-300, 4e-308, 1e-310, 0.0, -0.0, np.inf])
def test_divide_by_constant(c):
    x = _points(1, 6)[0]
    value, lane, _ = _single(lambda x: x / c, x)
    with np.errstate(all="ignore"):
        want = x / c
        d = PARTIALS["divide"][0](x, np.float64(c), want)
    ok = _same(value, want)
    # x * (1/c) may round differently from x / c: one ulp, never more, never a non-finite
    with np.errstate(invalid="ignore"):
        close = np.abs(value - want) <= 2.5e-16 * np.abs(want)
    assert (ok | close).all(), (x[~(ok | close)], value[~(ok | close)], want[~(ok | close)])
    _assert_same(lane, d, f"d(x / {c})/dx", [x])


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.bool_, np.uint8])
def test_cast(dtype):
    x = _points(1, 7)[0]
    if np.dtype(dtype).kind in "iu":         # float -> int of NaN/inf/huge is undefined
        x = np.where(np.isfinite(x) & (np.abs(x) < 100), x, 1.5)
    value, lane, _ = _single(lambda x: x.astype(dtype).astype(np.float64) * 1.0 + x, x)
    with np.errstate(over="ignore"):
        want = x.astype(dtype).astype(np.float64) + x
    _assert_same(value, want, f"cast {np.dtype(dtype)}", [x])
    d = 2.0 if np.dtype(dtype).kind == "f" else 1.0
    _assert_same(lane, np.full(x.size, d), f"d cast {np.dtype(dtype)}", [x])


COMPOSITES = {
    "where": lambda x: np.where(x > 0.5, x * x, np.sin(x)),
    "where_nan_cond": lambda x: np.where(np.isnan(x), 0.0, x * 3.0),
    "where_scalar_branches": lambda x: np.where(x < 0, -1.0, 2.0) * x,
    "fold_scalars": lambda x: 3.0 * (2.0 * x) - (-x) * 0.5,
    "fold_products": lambda x: (2.0 * x) * (-(3.0 * np.sin(x))),
    "fold_negatives": lambda x: -(-(-(x * 4.0))),
    "fold_nonfinite_factor": lambda x: 1e300 * (1e300 * x),
    "divide_then_fold": lambda x: (x / 4.0) * 8.0,
    "abs_sign_mix": lambda x: np.abs(x) * np.sign(x) + np.copysign(x, -1.0),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_templates_against_interpreter(name):
    """Folded scalar factors (``c1 * (c2 * x) -> (c1 c2) * x``) round once instead of twice:
    they are compared where no unfolded product over- or underflows."""
    fn = COMPOSITES[name]
    x = _points(1, 8)[0]
    if "fold" in name:
        x = x[~np.isfinite(x) | (np.abs(x) < 1e280) & ((np.abs(x) > 1e-280) | (x == 0))]
    value, lane, g = _single(fn, x)
    ref_value, ref_B = forward_lanes(g, [x], 0, np.zeros(x.size, np.int64), 1)
    _assert_same(value, ref_value, f"{name} value", [x])
    _assert_same(lane, ref_B[:, 0], f"{name} lane", [x])


# ---------------------------------------------------------------- coverage

#: swept elsewhere: structural primitives (their own lowering) by the differential fuzzer and
#: test_numba_backend / test_numba_trust; without a compiled rule: the numpy interpreter runs
STRUCTURAL = {"reshape", "transpose", "gather", "scatter", "concatenate", "reduce_sum",
              "reduce_prod", "reduce_max", "reduce_min", "cumsum", "cumprod", "spmatmul",
              "einsum", "cast", "where"}
NO_COMPILED_RULE = {"solve", "inv", "det"}


def test_every_numpy_rule_has_a_compiled_check():
    swept = {p for prims in GROUPS.values() for p in prims}
    for name, entry in REGISTRY.items():
        if name in ("input", "const"):
            continue
        has_numpy_rule = entry.jvp is not None or name in PARTIALS
        if not has_numpy_rule:
            continue
        assert name in swept | STRUCTURAL | NO_COMPILED_RULE, \
            f"primitive {name!r} has a numpy rule but no compiled rule check"
        if name in NO_COMPILED_RULE:
            assert name not in NUMBA_RULES
    assert set(PARTIALS) <= swept, sorted(set(PARTIALS) - swept)
