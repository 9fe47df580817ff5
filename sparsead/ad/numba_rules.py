"""Scalar code templates for the Numba backend: one entry per elementwise primitive.

The code generator (``numba_codegen.py``) fuses chains of elementwise
primitives into one loop over elements and differentiates each element's
scalar expression in reverse inside the loop. For that it needs, per
primitive, the scalar expression of the value and of each partial derivative,
as Python source over the names of the arguments ``{0}``, ``{1}``, ``{2}`` and
of the result ``{r}``. A partial of ``None`` means no derivative flows through
that argument (the primitive is piecewise constant in it). The table is
installed into the ``numba`` slot of each registry entry by :func:`install`;
``NUMBA_RULES`` is the same table keyed by primitive name.

All functions are numpy scalar functions, which Numba compiles with numpy's
semantics (``nan`` for domain errors, ``inf`` for division by zero under
``error_model="numpy"``).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ScalarRule", "NUMBA_RULES", "install"]


class ScalarRule(NamedTuple):
    """Value template and one partial-derivative template per argument (``None``: no derivative)."""

    value: str
    partials: tuple


def _r(value, *partials):
    return ScalarRule(value, tuple(partials))


def _extreme(cmp, nan_wins):
    """Partials of maximum/minimum (``nan_wins``: a NaN argument is the result) and fmax/fmin
    (a NaN argument is ignored): 1 to the argument numpy returns, 0.5 each on a tie (equal
    values, or both NaN)."""
    parts = []
    for a, b in (("{0}", "{1}"), ("{1}", "{0}")):
        odd = f"{a} != {a} and {b} == {b}" if nan_wins else f"{b} != {b} and {a} == {a}"
        parts.append(f"(1.0 if ({a} {cmp} {b} or ({odd})) else "
                     f"(0.5 if ({a} == {b} or ({a} != {a} and {b} != {b})) else 0.0))")
    return parts


_LN2 = "0.6931471805599453"
_LN10 = "2.302585092994046"
_SQRT_PI_2 = "1.1283791670955126"   # 2 / sqrt(pi)

NUMBA_RULES = {
    # unary
    "negative": _r("-{0}", "-1"),
    "positive": _r("{0}", "1"),
    "deg2rad": _r("{0} * 0.017453292519943295", "0.017453292519943295"),
    "rad2deg": _r("{0} * 57.29577951308232", "57.29577951308232"),
    "abs": _r("np.abs({0})", "np.sign({0})"),
    "sin": _r("np.sin({0})", "np.cos({0})"),
    "cos": _r("np.cos({0})", "-np.sin({0})"),
    "tan": _r("np.tan({0})", "(1.0 + {r} * {r})"),
    "arcsin": _r("np.arcsin({0})", "(1.0 / np.sqrt(1.0 - {0} * {0}))"),
    "arccos": _r("np.arccos({0})", "(-1.0 / np.sqrt(1.0 - {0} * {0}))"),
    "arctan": _r("np.arctan({0})", "(1.0 / (1.0 + {0} * {0}))"),
    "sinh": _r("np.sinh({0})", "np.cosh({0})"),
    "cosh": _r("np.cosh({0})", "np.sinh({0})"),
    "tanh": _r("np.tanh({0})", "(1.0 - {r} * {r})"),
    "arcsinh": _r("np.arcsinh({0})", "(1.0 / np.sqrt({0} * {0} + 1.0))"),
    "arccosh": _r("np.arccosh({0})", "(1.0 / np.sqrt({0} * {0} - 1.0))"),
    "arctanh": _r("np.arctanh({0})", "(1.0 / (1.0 - {0} * {0}))"),
    "exp": _r("np.exp({0})", "{r}"),
    "exp2": _r("np.exp2({0})", f"({{r}} * {_LN2})"),
    "expm1": _r("np.expm1({0})", "({r} + 1.0)"),
    "log": _r("np.log({0})", "(1.0 / {0})"),
    "log2": _r("np.log2({0})", f"(1.0 / ({{0}} * {_LN2}))"),
    "log10": _r("np.log10({0})", f"(1.0 / ({{0}} * {_LN10}))"),
    "log1p": _r("np.log1p({0})", "(1.0 / (1.0 + {0}))"),
    "sqrt": _r("np.sqrt({0})", "(0.5 / {r})"),
    "cbrt": _r("np.cbrt({0})", "(1.0 / (3.0 * {r} * {r}))"),
    "square": _r("{0} * {0}", "(2.0 * {0})"),
    "reciprocal": _r("1.0 / {0}", "(-{r} * {r})"),
    "sign": _r("np.sign({0})", None),
    "floor": _r("np.floor({0})", None),
    "ceil": _r("np.ceil({0})", None),
    "rint": _r("np.rint({0})", None),
    "trunc": _r("np.trunc({0})", None),
    "erf": _r("math.erf({0})", f"({_SQRT_PI_2} * np.exp(-{{0}} * {{0}}))"),
    "erfc": _r("math.erfc({0})", f"(-{_SQRT_PI_2} * np.exp(-{{0}} * {{0}}))"),
    "expit": _r("1.0 / (1.0 + np.exp(-{0}))", "({r} * (1.0 - {r}))"),
    # binary
    "add": _r("{0} + {1}", "1", "1"),
    "subtract": _r("{0} - {1}", "1", "-1"),
    "multiply": _r("{0} * {1}", "{1}", "{0}"),
    # a * b, but 0 where a factor is 0 (inf/NaN in the other); the common case first
    "strong_multiply": _r("({0} * {1} if ({0} * {1} == {0} * {1} or ({0} != 0.0 and {1} != 0.0))"
                          " else 0.0)", "{1}", "{0}"),
    "divide": _r("{0} / {1}", "(1.0 / {1})", "(-{r} / {1})"),
    # C pow (np.float_power); a float exponent: Numba's float ** int raises at 0
    "float_power": _r("{0} ** np.float64({1})",
                      "(0.0 if ({1} == 0 or {0} ** np.float64({1} - 1) == 0)"
                      " else {1} * {0} ** np.float64({1} - 1))",
                      "(np.log({0}) * {r} if {0} > 0 else 0.0)"),
    # (integer results; float results use numba_lower's float-exponent rules)
    "power": _r("{0} ** {1}", "(0.0 if {1} == 0 else {1} * {0} ** ({1} - 1))",
                "(np.log({0}) * {r} if {0} > 0 else 0.0)"),
    "maximum": _r("np.maximum({0}, {1})", *_extreme(">", nan_wins=True)),
    "minimum": _r("np.minimum({0}, {1})", *_extreme("<", nan_wins=True)),
    "fmax": _r("np.fmax({0}, {1})", *_extreme(">", nan_wins=False)),
    "fmin": _r("np.fmin({0}, {1})", *_extreme("<", nan_wins=False)),
    "hypot": _r("np.hypot({0}, {1})", "({0} / {r})", "({1} / {r})"),
    "arctan2": _r("np.arctan2({0}, {1})", "({1} / ({0} * {0} + {1} * {1}))",
                  "(-{0} / ({0} * {0} + {1} * {1}))"),
    "logaddexp": _r("np.logaddexp({0}, {1})", "np.exp({0} - {r})", "np.exp({1} - {r})"),
    "logaddexp2": _r("np.logaddexp2({0}, {1})", "np.exp2({0} - {r})", "np.exp2({1} - {r})"),
    "remainder": _r("np.remainder({0}, {1})", "1", "(-_sa_floordiv({0}, {1}))"),
    "fmod": _r("np.fmod({0}, {1})", "1", "(-np.trunc({0} / {1}))"),
    "copysign": _r("np.copysign({0}, {1})", "(np.sign({0}) * np.copysign(1.0, {1}))", None),
    "floor_divide": _r("_sa_floordiv({0}, {1})", None, None),
    # piecewise constant
    "greater": _r("{0} > {1}", None, None),
    "greater_equal": _r("{0} >= {1}", None, None),
    "less": _r("{0} < {1}", None, None),
    "less_equal": _r("{0} <= {1}", None, None),
    "equal": _r("{0} == {1}", None, None),
    "not_equal": _r("{0} != {1}", None, None),
    "logical_and": _r("np.logical_and({0}, {1})", None, None),
    "logical_or": _r("np.logical_or({0}, {1})", None, None),
    "logical_xor": _r("np.logical_xor({0}, {1})", None, None),
    "logical_not": _r("np.logical_not({0})", None),
    "isnan": _r("np.isnan({0})", None),
    "isinf": _r("np.isinf({0})", None),
    "isfinite": _r("np.isfinite({0})", None),
    "signbit": _r("np.signbit({0})", None),
    "bitwise_and": _r("np.bitwise_and({0}, {1})", None, None),
    "bitwise_or": _r("np.bitwise_or({0}, {1})", None, None),
    "bitwise_xor": _r("np.bitwise_xor({0}, {1})", None, None),
    "invert": _r("np.invert({0})", None),
    # where(cond, a, b): handled by the generator (branch-selected adjoints)
    "where": _r("({1} if {0} else {2})", None, "1", "1"),
}


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


def install():
    """Fill the ``numba`` slot of every registry entry that has a scalar rule."""
    from ..tracing.registry import REGISTRY
    for name, rule in NUMBA_RULES.items():
        if name in REGISTRY and REGISTRY[name].numba is None:
            REGISTRY[name].numba = rule
