"""Elementwise functions: ONE table row per function, every fact about it side by side.

Fed by :mod:`.core` (the registry format); the tracer maps numpy/scipy ufuncs
onto these rows through :data:`UFUNC_PRIMITIVES`. A row holds the numpy
function, the sampling domain per argument, the second-derivative flags (the
SparseConnectivityTracer classification: ``d2`` true for ``sin``, false for
``x + y``, cross only for ``x * y``), the numpy partial per argument (a
function ``d(*args, out)`` written with numpy functions; ``None``: no
derivative flows -- the first-derivative flag ``d1`` is derived from it) and
the compiled scalar template ``(value, *partials)`` (:class:`~.core.ScalarRule`).
Special sparsity rules (known zeros of ``multiply``, the exponent of ``power``,
the winner of ``maximum`` in local mode) and AD traits are named in the row.

The numpy partials serve both the forward lanes (called on numpy arrays they
give the scale factors) and the gradient transform (called on tracers they
record graph nodes, so the gradient graph is itself differentiable). The
strong zero: the VJP rules record chain-rule products as ``strong_multiply``
nodes; the JVP rules multiply plainly unless ``c.strong`` is set (the lane
interpreter reruns a sweep in that mode when its result holds a NaN).

To add a function: one ``_row(...)`` below (the rule sweeps of the test suite
pick it up), and its test rows in the fuzzer: its domain in ``tests/fuzz/ops.py``
and its derivatives, written independently, in ``tests/fuzz/reference.py``
(README, "Contributing").
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .core import (REGISTRY, Elementwise, ScalarRule, broadcast_map, mask_map, no_cotangent,
                   no_derivative, other_factors, others_fixed, register, strong_product,
                   strong_scale, unbroadcast)
from .lanes import expand_block, lincomb, strong_lincomb

__all__ = ["UFUNC_PRIMITIVES", "HELPERS", "choice_weight", "power_template"]

T, F = True, False
_LN2, _LN10 = math.log(2.0), math.log(10.0)
_2_SQRTPI = 2.0 / math.sqrt(math.pi)
_S_LN2, _S_LN10, _S_2_SQRTPI = "0.6931471805599453", "2.302585092994046", "1.1283791670955126"

#: scipy.special ufuncs with a row: imported only when used (``import scipy.special`` costs
#: ~40 ms, a third of sparsead's own import time, and most functions never call them)
_SPECIAL = ("erf", "erfc", "expit")


class _UfuncTable(dict):
    """ufunc -> primitive name. The scipy.special ufuncs are entered at their first lookup:
    a caller holding one has imported scipy.special, so it is in ``sys.modules`` then."""

    def get(self, ufunc, default=None):
        name = super().get(ufunc)
        if name is None and getattr(ufunc, "__name__", None) in _SPECIAL:
            sc = sys.modules.get("scipy.special")
            if sc is not None and getattr(sc, ufunc.__name__) is ufunc:
                name = self[ufunc] = ufunc.__name__
        return default if name is None else name


def _special(name):
    """``scipy.special.<name>``, imported at the first call."""
    def call(*args):
        from scipy import special
        return getattr(special, name)(*args)
    call.__name__ = name
    return call


#: numpy/scipy ufunc -> primitive name (aliases included)
UFUNC_PRIMITIVES = _UfuncTable()


# --- the rule builders a row uses ------------------------------------------------------

def _ew_shape(avals, fn=None, **params):
    shape = np.broadcast_shapes(*[s for s, _ in avals])
    samples = [np.ones((), dtype=d) for _, d in avals]
    with np.errstate(all="ignore"):
        dtype = np.asarray(fn(*samples, **params)).dtype
    return shape, dtype


def _ew_deps(info):
    def deps(ctx):
        out = ctx.node.shape
        return [broadcast_map(nd.shape, out) if info.d1[k] else None
                for k, nd in enumerate(ctx.in_nodes)]
    return deps


def _ew_hess(info):
    terms = []
    for k in range(len(info.d1)):
        if info.d2[k][k]:
            terms.append(("self", k))
        for l in range(k + 1, len(info.d1)):
            if info.d2[k][l]:
                terms.append(("cross", k, l))

    def hess(ctx):
        return list(terms)
    return hess


def _ew_jvp(fns):
    def jvp(c, vals, out, tans):
        terms = []
        for k, t in enumerate(tans):
            if t is None or fns[k] is None:
                continue
            s = fns[k](*vals, out)
            for term in terms:
                if term[1] is t:
                    term[0] = term[0] + s
                    break
            else:
                terms.append([s, t, k in c.donate])
        for term in terms:
            k = next(k for k, t in enumerate(tans) if t is term[1])
            term[1] = expand_block(term[1], c.in_shapes[k], c.shape)
        if c.strong:
            return strong_lincomb(terms, (c.p,) + c.shape)
        return lincomb([tuple(t) for t in terms], (c.p,) + c.shape)
    return jvp


def _ew_vjp(fns):
    def vjp(c, vals, out, ct):
        res = []
        for k in range(len(vals)):
            if not c.need[k] or fns[k] is None:
                res.append(None)
                continue
            s = fns[k](*vals, out)
            if isinstance(s, (int, float)) and s == 0.0:
                res.append(None)
                continue
            if isinstance(s, (int, float)) and s == 1.0:
                g = ct
            elif isinstance(s, (int, float)) and s == -1.0:
                g = -ct
            elif isinstance(s, (int, float)) and math.isfinite(s):
                g = s * ct
            else:
                g = strong_scale(s, ct)
            res.append(unbroadcast(g, c.in_shapes[k]))
        return res
    return vjp


def _row(name, fn, domain, d2, numpy, numba, *, deps=None, hess=None, aliases=(), ufunc=True,
         **traits):
    """Register one elementwise function (see the module docstring for the fields)."""
    domain = (domain,) if isinstance(domain, str) else tuple(domain)
    n = len(domain)
    d2 = ((d2,),) if isinstance(d2, bool) else tuple(tuple(r) for r in d2)
    numpy = tuple(numpy) if numpy is not None else (None,) * n
    info = Elementwise(tuple(p is not None for p in numpy), d2, domain)
    derivative = any(p is not None for p in numpy)

    def impl(*vals, _fn=fn):
        with np.errstate(all="ignore"):
            return _fn(*vals)

    register(name, impl=impl, shape=lambda avals, _fn=fn: _ew_shape(avals, _fn),
             deps=(deps or _ew_deps)(info), hess=(hess or _ew_hess)(info), elementwise=info,
             partials=numpy, scalar=ScalarRule(numba[0], tuple(numba[1:])),
             jvp=_ew_jvp(numpy) if derivative else no_derivative,
             vjp=_ew_vjp(numpy) if derivative else no_cotangent,
             doc=traits.pop("doc", f"elementwise {name}"), **traits)
    for f in ((fn,) if ufunc else ()) + tuple(aliases):
        UFUNC_PRIMITIVES[f] = name


def _piecewise(name, fn, value, nargs, domain="real"):
    """A piecewise-constant function (comparison, logic, test): no derivative at all."""
    _row(name, fn, (domain,) * nargs, ((F,) * nargs,) * nargs, None, (value,) + (None,) * nargs)


def _one(*a):
    return 1.0


def _minus_one(*a):
    return -1.0


# --- special sparsity rules named by rows ------------------------------------------------

def _known_zero_drops(info):
    """multiply: the derivative in one factor is the other factor, so known zeros drop it."""
    base = _ew_deps(info)

    def deps(ctx):
        out = base(ctx)
        n = ctx.node.size
        for k, other in ((0, 1), (1, 0)):
            v = ctx.values[other]
            if out[k] is not None and v is not None and not np.all(v):
                out[k] = mask_map(out[k], np.broadcast_to(v != 0, ctx.node.shape), n)
        return out
    return deps


def _exponent_in(ctx, allowed):
    v = ctx.values[1]
    return v is not None and bool(np.all(np.isin(np.asarray(v), allowed)))


def _power_deps(info):
    base = _ew_deps(info)

    def deps(ctx):
        out = base(ctx)
        if _exponent_in(ctx, [0]):
            out[0] = None
        return out
    return deps


def _power_hess(info):
    base = _ew_hess(info)

    def hess(ctx):
        terms = base(ctx)
        if _exponent_in(ctx, [0, 1]):   # x**1 is linear, x**0 constant
            terms = [t for t in terms if t != ("self", 0)]
        return terms
    return hess


def choice_weight(name, a, b):
    """Share of the derivative of ``name(a, b)`` (maximum/minimum/fmax/fmin) that goes to ``a``.

    The convention: tied arguments split it equally (1/2 each); otherwise it
    follows the argument numpy returns -- for ``maximum``/``minimum`` a NaN
    argument, for ``fmax``/``fmin`` the other one (both NaN: 1/2 each).
    Works on numpy arrays and on tracers (the gradient transform records it).
    """
    wins, loses = (a > b, a < b) if name in ("maximum", "fmax") else (a < b, a > b)
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    if name in ("maximum", "minimum"):
        nan_case = np.where(a_nan, np.where(b_nan, 0.5, 1.0), 0.0)
    else:
        nan_case = np.where(b_nan, np.where(a_nan, 0.5, 1.0), 0.0)
    return np.where(wins, 1.0, np.where(loses, 0.0, np.where(a == b, 0.5, nan_case)))


def _choice_deps(name):
    """maximum/minimum/fmax/fmin: in local mode only the argument(s) with a nonzero share."""
    def make(info):
        base = _ew_deps(info)

        def deps(ctx):
            out = base(ctx)
            a, b = ctx.values
            if ctx.local and a is not None and b is not None:
                a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64),
                                           np.asarray(b, dtype=np.float64))
                with np.errstate(invalid="ignore"):
                    wa = choice_weight(name, a, b)
                n = ctx.node.size
                out[0] = mask_map(out[0], wa > 0, n)
                out[1] = mask_map(out[1], wa < 1, n)
            return out
        return deps
    return make


def _choice(name, fn, cmp, nan_wins):
    """maximum/minimum (``nan_wins``: a NaN argument is the result) and fmax/fmin (a NaN
    argument is ignored): the share 1 to the argument numpy returns, 1/2 each on a tie
    (equal values, or both NaN), in numpy and as a compiled template."""
    parts = []
    for a, b in (("{0}", "{1}"), ("{1}", "{0}")):
        odd = f"{a} != {a} and {b} == {b}" if nan_wins else f"{b} != {b} and {a} == {a}"
        parts.append(f"(1.0 if ({a} {cmp} {b} or ({odd})) else "
                     f"(0.5 if ({a} == {b} or ({a} != {a} and {b} != {b})) else 0.0))")
    _row(name, fn, ("real", "real"), ((F, F), (F, F)),
         (lambda a, b, out: choice_weight(name, a, b), lambda a, b, out: choice_weight(name, b, a)),
         (f"np.{name}({{0}}, {{1}})", *parts), deps=_choice_deps(name))


# --- power: numpy partials and the compiled templates of its special exponents -------------

def _power_dx(x, y, out):
    if isinstance(y, (int, float, np.ndarray, np.generic)) and np.ndim(y) == 0:
        e = float(y)
        if e == 0.0:
            return 0.0
        if e == 1.0:
            return 1.0
        if e == 2.0:
            return 2.0 * x
        if e == 3.0:
            return 3.0 * (x * x)
        return e * x ** (e - 1.0)
    return strong_product(y, x ** (y - 1.0))    # y = 0: x**0 is constant, also at x = 0


def _power_dy(x, y, out):
    pos = x > 0
    return np.where(pos, np.log(np.where(pos, x, 1.0)) * out, 0.0)


_POWER_DY = "(np.log({0}) * {r} if {0} > 0 else 0.0)"
#: ``x ** y`` with a float result: the exponent cast to float (Numba computes ``float ** int``
#: by repeated multiplication and raises for a negative ``int`` at 0, where numpy gives inf)
_FLOAT_POWER = ScalarRule("{0} ** np.float64({1})", (
    "(0.0 if ({1} == 0 or {0} ** (np.float64({1}) - 1.0) == 0)"
    " else {1} * {0} ** (np.float64({1}) - 1.0))", _POWER_DY))


def _scalar_power(v):
    """The compiled rule of ``x ** v`` for a constant ``v`` (``None``: the general one)."""
    if v == 0.0:
        return ScalarRule("{0} ** 0.0", (None, None))
    if v == 1.0:
        return ScalarRule("{0} * 1.0", ("1", None))
    if v == 2.0:
        return ScalarRule("{0} * {0}", ("(2.0 * {0})", None))
    if v == 3.0:
        return ScalarRule("{0} * {0} * {0}", ("(3.0 * ({0} * {0}))", None))
    if v == 0.5:      # numpy: sqrt for the value, 0.5 * x ** -0.5 for the slope (-0.0, -inf)
        return ScalarRule("np.sqrt({0})", ("(0.5 * {0} ** -0.5)", None))
    if v == -1.0:
        return ScalarRule("1.0 / {0}", ("(-{r} * {r})", None))
    if v.is_integer() and abs(v) < 64:
        n = int(v)
        return ScalarRule(f"{{0}} ** {n}.0", (f"({n}.0 * {{0}} ** {n - 1}.0)", None))
    return None


def power_template(float_result, exponent=None):
    """The compiled rule of ``power``: the table's for integer results, else the float rule
    of a constant ``exponent`` (the numpy partials' special cases) or the general one."""
    if not float_result:
        return REGISTRY["power"].scalar
    rule = _scalar_power(float(exponent)) if exponent is not None else None
    return rule if rule is not None else _FLOAT_POWER


#: scalar helper functions a template may call, by name: defined in the kernel's own source
#: when used (so the source hash, hence the cache entry, covers them)
HELPERS = {
    # numpy's floor division of floats (npy_divmod): Numba's np.floor_divide differs at
    # infinite divisors (1 // -inf is -1 in numpy, -0 in Numba)
    "_sa_floordiv": """
@njit(error_model='numpy', inline='always')
def _sa_floordiv(a, b):
    if b == 0:
        return a / b
    mod = np.fmod(a, b)
    div = (a - mod) / b
    if mod != 0 and (b < 0) != (mod < 0):
        div -= 1.0
    if div == 0:
        return np.copysign(0.0, a / b)
    fl = np.floor(div)
    if div - fl > 0.5:
        fl += 1.0
    return fl
""",
}

_BILINEAR = dict(needs=other_factors, static=others_fixed)


def _divide_needs(has_tan):
    return ((1,), False) if not has_tan[1] else ((0, 1), True)


def _divide_static(has_tan, varying):
    return not has_tan[1] and not varying[1]


# --- THE TABLE ---------------------------------------------------------------------------
# _row(name, numpy function, domain(s), d2, numpy partials, (template value, *partials), ...)

_row("negative", np.negative, "real", F, (_minus_one,), ("-{0}", "-1"), linear=True)
_row("positive", np.positive, "real", F, (_one,), ("{0}", "1"), linear=True,
     aliases=(np.conjugate,))
_row("deg2rad", np.deg2rad, "real", F, (lambda x, out: math.pi / 180.0,),
     ("{0} * 0.017453292519943295", "0.017453292519943295"), linear=True, aliases=(np.radians,))
_row("rad2deg", np.rad2deg, "real", F, (lambda x, out: 180.0 / math.pi,),
     ("{0} * 57.29577951308232", "57.29577951308232"), linear=True, aliases=(np.degrees,))
_row("abs", np.abs, "nonzero", F, (lambda x, out: np.sign(x),), ("np.abs({0})", "np.sign({0})"),
     aliases=(np.fabs,))
_row("sin", np.sin, "real", T, (lambda x, out: np.cos(x),), ("np.sin({0})", "np.cos({0})"))
_row("cos", np.cos, "real", T, (lambda x, out: -np.sin(x),), ("np.cos({0})", "-np.sin({0})"))
_row("tan", np.tan, "unit", T, (lambda x, out: 1.0 + out * out,),
     ("np.tan({0})", "(1.0 + {r} * {r})"))
_row("arcsin", np.arcsin, "unit", T, (lambda x, out: 1.0 / np.sqrt(1.0 - x * x),),
     ("np.arcsin({0})", "(1.0 / np.sqrt(1.0 - {0} * {0}))"))
_row("arccos", np.arccos, "unit", T, (lambda x, out: -1.0 / np.sqrt(1.0 - x * x),),
     ("np.arccos({0})", "(-1.0 / np.sqrt(1.0 - {0} * {0}))"))
_row("arctan", np.arctan, "real", T, (lambda x, out: 1.0 / (1.0 + x * x),),
     ("np.arctan({0})", "(1.0 / (1.0 + {0} * {0}))"))
_row("sinh", np.sinh, "real", T, (lambda x, out: np.cosh(x),), ("np.sinh({0})", "np.cosh({0})"))
_row("cosh", np.cosh, "real", T, (lambda x, out: np.sinh(x),), ("np.cosh({0})", "np.sinh({0})"))
_row("tanh", np.tanh, "real", T, (lambda x, out: 1.0 - out * out,),
     ("np.tanh({0})", "(1.0 - {r} * {r})"))
_row("arcsinh", np.arcsinh, "real", T, (lambda x, out: 1.0 / np.sqrt(x * x + 1.0),),
     ("np.arcsinh({0})", "(1.0 / np.sqrt({0} * {0} + 1.0))"))
_row("arccosh", np.arccosh, "gt1", T, (lambda x, out: 1.0 / np.sqrt(x * x - 1.0),),
     ("np.arccosh({0})", "(1.0 / np.sqrt({0} * {0} - 1.0))"))
_row("arctanh", np.arctanh, "unit", T, (lambda x, out: 1.0 / (1.0 - x * x),),
     ("np.arctanh({0})", "(1.0 / (1.0 - {0} * {0}))"))
_row("exp", np.exp, "real", T, (lambda x, out: out,), ("np.exp({0})", "{r}"))
_row("exp2", np.exp2, "real", T, (lambda x, out: _LN2 * out,),
     ("np.exp2({0})", f"({{r}} * {_S_LN2})"))
_row("expm1", np.expm1, "real", T, (lambda x, out: out + 1.0,), ("np.expm1({0})", "({r} + 1.0)"))
_row("log", np.log, "pos", T, (lambda x, out: 1.0 / x,), ("np.log({0})", "(1.0 / {0})"))
_row("log2", np.log2, "pos", T, (lambda x, out: 1.0 / (_LN2 * x),),
     ("np.log2({0})", f"(1.0 / ({{0}} * {_S_LN2}))"))
_row("log10", np.log10, "pos", T, (lambda x, out: 1.0 / (_LN10 * x),),
     ("np.log10({0})", f"(1.0 / ({{0}} * {_S_LN10}))"))
_row("log1p", np.log1p, "pos", T, (lambda x, out: 1.0 / (1.0 + x),),
     ("np.log1p({0})", "(1.0 / (1.0 + {0}))"))
_row("sqrt", np.sqrt, "pos", T, (lambda x, out: 0.5 / out,), ("np.sqrt({0})", "(0.5 / {r})"))
# cbrt: not 1/(3 out out) in numpy, whose derivative at 0 meets 0 * inf (strong zero: 0)
_row("cbrt", np.cbrt, "nonzero", T, (lambda x, out: out ** -2.0 / 3.0,),
     ("np.cbrt({0})", "(1.0 / (3.0 * {r} * {r}))"))
_row("square", np.square, "real", T, (lambda x, out: 2.0 * x,), ("{0} * {0}", "(2.0 * {0})"))
_row("reciprocal", np.reciprocal, "nonzero", T, (lambda x, out: -(out * out),),
     ("1.0 / {0}", "(-{r} * {r})"))
_row("sign", np.sign, "nonzero", F, None, ("np.sign({0})", None))
_row("floor", np.floor, "real", F, None, ("np.floor({0})", None))
_row("ceil", np.ceil, "real", F, None, ("np.ceil({0})", None))
_row("rint", np.rint, "real", F, None, ("np.rint({0})", None))
_row("trunc", np.trunc, "real", F, None, ("np.trunc({0})", None))
_row("add", np.add, ("real", "real"), ((F, F), (F, F)), (_one, _one), ("{0} + {1}", "1", "1"),
     linear=True)
_row("subtract", np.subtract, ("real", "real"), ((F, F), (F, F)), (_one, _minus_one),
     ("{0} - {1}", "1", "-1"), linear=True)
_row("multiply", np.multiply, ("real", "real"), ((F, T), (T, F)),
     (lambda a, b, out: b, lambda a, b, out: a), ("{0} * {1}", "{1}", "{0}"),
     deps=_known_zero_drops, **_BILINEAR)
_row("divide", np.divide, ("real", "nonzero"), ((F, T), (T, T)),
     (lambda a, b, out: np.divide(1.0, b), lambda a, b, out: np.negative(np.divide(out, b))),
     ("{0} / {1}", "(1.0 / {1})", "(-{r} / {1})"), needs=_divide_needs, static=_divide_static)
# the compiled row is for integer results; float results use power_template
_row("power", np.power, ("pos", "real"), ((T, T), (T, T)), (_power_dx, _power_dy),
     ("{0} ** {1}",   # y * x**(y-1) with the strong zero (x**0: 0 also at x = 0)
      "(0.0 if ({1} == 0 or {0} ** ({1} - 1) == 0) else {1} * {0} ** ({1} - 1))", _POWER_DY),
     deps=_power_deps, hess=_power_hess)
# C pow: differs from np.power at -inf and -0.0 (np.power takes x**0.5 as sqrt)
_row("float_power", np.float_power, ("pos", "real"), ((T, T), (T, T)), (_power_dx, _power_dy),
     ("{0} ** np.float64({1})",
      "(0.0 if ({1} == 0 or {0} ** np.float64({1} - 1) == 0) else {1} * {0} ** np.float64({1} - 1))",
      _POWER_DY), deps=_power_deps, hess=_power_hess)
_choice("maximum", np.maximum, ">", nan_wins=True)
_choice("minimum", np.minimum, "<", nan_wins=True)
_choice("fmax", np.fmax, ">", nan_wins=False)
_choice("fmin", np.fmin, "<", nan_wins=False)
_row("hypot", np.hypot, ("nonzero", "nonzero"), ((T, T), (T, T)),
     (lambda a, b, out: a / out, lambda a, b, out: b / out),
     ("np.hypot({0}, {1})", "({0} / {r})", "({1} / {r})"))
_row("arctan2", np.arctan2, ("nonzero", "nonzero"), ((T, T), (T, T)),
     (lambda a, b, out: b / (a * a + b * b), lambda a, b, out: -a / (a * a + b * b)),
     ("np.arctan2({0}, {1})", "({1} / ({0} * {0} + {1} * {1}))",
      "(-{0} / ({0} * {0} + {1} * {1}))"))
_row("logaddexp", np.logaddexp, ("real", "real"), ((T, T), (T, T)),
     (lambda a, b, out: np.exp(a - out), lambda a, b, out: np.exp(b - out)),
     ("np.logaddexp({0}, {1})", "np.exp({0} - {r})", "np.exp({1} - {r})"))
_row("logaddexp2", np.logaddexp2, ("real", "real"), ((T, T), (T, T)),
     (lambda a, b, out: np.exp2(a - out), lambda a, b, out: np.exp2(b - out)),
     ("np.logaddexp2({0}, {1})", "np.exp2({0} - {r})", "np.exp2({1} - {r})"))
_row("remainder", np.remainder, ("real", "nonzero"), ((F, F), (F, F)),
     (_one, lambda a, b, out: -np.floor_divide(a, b)),
     ("np.remainder({0}, {1})", "1", "(-_sa_floordiv({0}, {1}))"))
_row("fmod", np.fmod, ("real", "nonzero"), ((F, F), (F, F)),
     (_one, lambda a, b, out: -np.trunc(a / b)), ("np.fmod({0}, {1})", "1", "(-np.trunc({0} / {1}))"))
_row("copysign", np.copysign, ("nonzero", "nonzero"), ((F, F), (F, F)),
     (lambda a, b, out: np.sign(a) * np.copysign(1.0, b), None),   # 0 at a = 0, as abs
     ("np.copysign({0}, {1})", "(np.sign({0}) * np.copysign(1.0, {1}))", None))
_row("floor_divide", np.floor_divide, ("real", "nonzero"), ((F, F), (F, F)), None,
     ("_sa_floordiv({0}, {1})", None, None))
_piecewise("greater", np.greater, "{0} > {1}", 2)
_piecewise("greater_equal", np.greater_equal, "{0} >= {1}", 2)
_piecewise("less", np.less, "{0} < {1}", 2)
_piecewise("less_equal", np.less_equal, "{0} <= {1}", 2)
_piecewise("equal", np.equal, "{0} == {1}", 2)
_piecewise("not_equal", np.not_equal, "{0} != {1}", 2)
_piecewise("logical_and", np.logical_and, "np.logical_and({0}, {1})", 2)
_piecewise("logical_or", np.logical_or, "np.logical_or({0}, {1})", 2)
_piecewise("logical_xor", np.logical_xor, "np.logical_xor({0}, {1})", 2)
_piecewise("logical_not", np.logical_not, "np.logical_not({0})", 1)
_piecewise("isnan", np.isnan, "np.isnan({0})", 1)
_piecewise("isinf", np.isinf, "np.isinf({0})", 1)
_piecewise("isfinite", np.isfinite, "np.isfinite({0})", 1)
_piecewise("signbit", np.signbit, "np.signbit({0})", 1)
_piecewise("bitwise_and", np.bitwise_and, "np.bitwise_and({0}, {1})", 2, "bool")
_piecewise("bitwise_or", np.bitwise_or, "np.bitwise_or({0}, {1})", 2, "bool")
_piecewise("bitwise_xor", np.bitwise_xor, "np.bitwise_xor({0}, {1})", 2, "bool")
_piecewise("invert", np.invert, "np.invert({0})", 1, "bool")
_row("erf", _special("erf"), "real", T, (lambda x, out: _2_SQRTPI * np.exp(-(x * x)),),
     ("math.erf({0})", f"({_S_2_SQRTPI} * np.exp(-{{0}} * {{0}}))"), ufunc=False)
_row("erfc", _special("erfc"), "real", T, (lambda x, out: -_2_SQRTPI * np.exp(-(x * x)),),
     ("math.erfc({0})", f"(-{_S_2_SQRTPI} * np.exp(-{{0}} * {{0}}))"), ufunc=False)
_row("expit", _special("expit"), "real", T, (lambda x, out: out * (1.0 - out),),
     ("1.0 / (1.0 + np.exp(-{0}))", "({r} * (1.0 - {r}))"), ufunc=False)
# the chain-rule product of the gradient transform (never traced from user code): a * b, but
# 0 where a factor is 0 (inf/NaN in the other); the compiled value tries the common case first
_row("strong_multiply", strong_product, ("real", "real"), ((F, T), (T, F)),
     (lambda a, b, out: b, lambda a, b, out: a),
     ("({0} * {1} if ({0} * {1} == {0} * {1} or ({0} != 0.0 and {1} != 0.0)) else 0.0)",
      "{1}", "{0}"), deps=_known_zero_drops, ufunc=False, fast_impl=REGISTRY["multiply"].impl,
     **_BILINEAR,
     doc="a * b, exactly 0 where a factor is 0 (inf/NaN in the other included): "
         "the chain-rule products the gradient transform records")
