"""The primitive registry: one :class:`Primitive` per graph operation, all its rules together.

Tracing lowers every numpy call onto a small set of primitives; every
interpreter of the graph looks the primitive up here. An entry holds

* ``impl(*values, **params)`` -- numpy evaluation;
* ``shape(in_avals, **params) -> (shape, dtype)`` -- the abstract rule, with
  ``in_avals`` a list of ``(shape, dtype)``;
* ``deps(ctx) -> list`` -- first-order sparsity: per input, the pattern of the
  local Jacobian d(output)/d(input k) (formats below);
* ``hess(ctx) -> list`` -- second-order classification: which pairs of input
  index sets the primitive's second derivative couples (terms below);
* ``elementwise`` -- for elementwise functions, the :class:`Elementwise`
  classification (first/second derivative can be nonzero, cross terms,
  sampling domain) that the registry test checks numerically;
* the derivative rules, filled in by the AD layer on import: ``jvp``
  (forward lanes, ``jvp(c, vals, out, tans)`` with lanes-first tangent blocks
  of shape ``(p,) + value.shape``), ``vjp`` (the gradient transform,
  ``vjp(c, vals, out, ct)`` recording cotangents as graph nodes) -- both
  documented in :mod:`sparsead.ad.rules` -- and ``numba`` (scalar value and
  partial-derivative templates for the fused lane kernels,
  :mod:`sparsead.ad.numba_rules`);
* ``fast_impl`` (optional) -- a cheaper evaluation that may give NaN where
  ``impl``'s strong zero gives 0 (``strong_multiply``, strong einsums);
  evaluators that check their result for NaN and then rerun with ``impl``
  use it (:func:`sparsead.tracing.evaluate`, the lane interpreter).

Local Jacobian patterns (one per input, ``out.size`` rows, ``in.size`` columns):
``None`` (no derivative flows), :data:`IDENTITY` (same shape, element ``i``
from element ``i``), a 1-D ``int64`` map (row ``i`` depends on element
``map[i]``; ``-1``: on nothing) or a :class:`Pattern` (general CSR rows).

Hessian terms (each says which pairs of index sets the second derivative of an
output element couples): ``("self", k)`` all pairs within the set element
``i`` receives from input ``k`` by broadcasting; ``("cross", k, l)`` pairs
between the sets from inputs ``k`` and ``l`` (both for elementwise primitives;
they ignore local refinements of ``deps``, since e.g. ``d2(x*y)/dxdy = 1``
even where ``y = 0``); ``("pairs", k, l, rows, a, b)`` for every
``t``, pairs between element ``a[t]`` of input ``k`` and element ``b[t]`` of
input ``l``, counted when output element ``rows[t]`` matters; ``("all",)``
all pairs within the output element's whole set (conservative fallback).

To add a primitive: call :func:`register` with these rules in one place
(``sparsead/tracing/structural.py`` for array primitives, the tables below for
elementwise functions), then lower numpy calls onto it in
``sparsead/tracing/numpy_api.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Primitive", "Elementwise", "Pattern", "IDENTITY", "REGISTRY", "register",
           "RuleContext", "broadcast_map", "UFUNC_PRIMITIVES", "choice_weight", "strong_product"]


class _Identity:
    def __repr__(self):
        return "IDENTITY"


IDENTITY = _Identity()


class Pattern(NamedTuple):
    """CSR pattern of a local Jacobian: ``indices[indptr[i]:indptr[i+1]]`` feed output ``i``."""

    indptr: np.ndarray
    indices: np.ndarray


@dataclass(frozen=True)
class Elementwise:
    """Derivative classification of an elementwise function of ``nargs`` arrays.

    ``d1[k]``: the derivative in argument ``k`` can be nonzero; ``d2[k][l]``:
    the second derivative in arguments ``k`` and ``l`` can be nonzero
    (``x*y``: cross only; ``x+y``: none; ``sin``: all). ``domain`` names the
    sampling domain of each argument for the registry test (``"real"``,
    ``"pos"``, ``"unit"``, ``"gt1"``, ``"nonzero"``, ``"bool"``).
    """

    d1: tuple
    d2: tuple
    domain: tuple


@dataclass(eq=False)
class Primitive:
    name: str
    impl: Callable
    shape: Callable
    deps: Callable
    hess: Callable | None = None
    elementwise: Elementwise | None = None
    jvp: Callable | None = None    # slot: forward-lane rule (next issue)
    vjp: Callable | None = None    # slot: reverse rule for the gradient transform
    numba: Callable | None = None  # slot: Numba code generation
    doc: str = ""
    fast_impl: Callable | None = None


REGISTRY: dict[str, Primitive] = {}


def register(name, *, impl, shape, deps, hess=None, elementwise=None, jvp=None, vjp=None,
             numba=None, doc="", fast_impl=None):
    """Add a primitive to :data:`REGISTRY` (names are unique), with all its rules."""
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is already registered")
    REGISTRY[name] = Primitive(name, impl, shape, deps, hess, elementwise, jvp, vjp, numba, doc,
                               fast_impl)
    return REGISTRY[name]


@dataclass(eq=False)
class RuleContext:
    """What a sparsity rule may look at: the node, its inputs, and known values.

    ``values[k]`` is the value of input ``k`` when it is known for every
    ``x`` the pattern must hold for: constants always, every node in local
    mode; ``None`` otherwise. ``has_sets[k]`` is False when input ``k``
    depends on no input at all (its rule may then be skipped).
    """

    node: object
    in_nodes: list
    values: list
    local: bool
    has_sets: list

    @property
    def params(self):
        return self.node.params


def broadcast_map(in_shape, out_shape):
    """Map from elements of ``out_shape`` to the element of ``in_shape`` broadcast onto them."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if in_shape == out_shape:
        return IDENTITY
    size = int(np.prod(in_shape, dtype=np.int64))
    src = np.arange(size, dtype=np.int64).reshape(in_shape)
    return np.ascontiguousarray(np.broadcast_to(src, out_shape)).reshape(-1)


def _mask_map(dep, keep, out_size):
    """Restrict a local map to the output elements where ``keep`` holds."""
    if dep is None:
        return None
    keep = np.broadcast_to(keep, keep.shape).reshape(-1)
    base = np.arange(out_size, dtype=np.int64) if dep is IDENTITY else dep
    return np.where(keep, base, -1)


# --- elementwise functions -------------------------------------------------

def _ew_shape(avals, fn=None, **params):
    shape = np.broadcast_shapes(*[s for s, _ in avals])
    samples = [np.ones((), dtype=d) for _, d in avals]
    with np.errstate(all="ignore"):
        dtype = np.asarray(fn(*samples, **params)).dtype
    return shape, dtype


def _ew_deps_from(info):
    def deps(ctx):
        out = ctx.node.shape
        return [broadcast_map(nd.shape, out) if info.d1[k] else None
                for k, nd in enumerate(ctx.in_nodes)]
    return deps


def _ew_hess_from(info):
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


def _elementwise(name, fn, d1, d2, domain, deps=None, hess=None, doc=""):
    info = Elementwise(tuple(d1), tuple(tuple(r) for r in d2), tuple(domain))

    def impl(*vals, _fn=fn):
        with np.errstate(all="ignore"):
            return _fn(*vals)

    register(name, impl=impl, shape=lambda avals, _fn=fn: _ew_shape(avals, _fn),
             deps=deps or _ew_deps_from(info), hess=hess or _ew_hess_from(info),
             elementwise=info, doc=doc or f"elementwise {name}")


T, F = True, False
# name, function, first derivative nonzero?, second derivative nonzero?, domain
_UNARY = [
    ("negative", np.negative, T, F, "real"), ("positive", np.positive, T, F, "real"),
    ("deg2rad", np.deg2rad, T, F, "real"), ("rad2deg", np.rad2deg, T, F, "real"),
    ("abs", np.abs, T, F, "nonzero"),
    ("sin", np.sin, T, T, "real"), ("cos", np.cos, T, T, "real"), ("tan", np.tan, T, T, "unit"),
    ("arcsin", np.arcsin, T, T, "unit"), ("arccos", np.arccos, T, T, "unit"),
    ("arctan", np.arctan, T, T, "real"), ("sinh", np.sinh, T, T, "real"),
    ("cosh", np.cosh, T, T, "real"), ("tanh", np.tanh, T, T, "real"),
    ("arcsinh", np.arcsinh, T, T, "real"), ("arccosh", np.arccosh, T, T, "gt1"),
    ("arctanh", np.arctanh, T, T, "unit"), ("exp", np.exp, T, T, "real"),
    ("exp2", np.exp2, T, T, "real"), ("expm1", np.expm1, T, T, "real"),
    ("log", np.log, T, T, "pos"), ("log2", np.log2, T, T, "pos"),
    ("log10", np.log10, T, T, "pos"), ("log1p", np.log1p, T, T, "pos"),
    ("sqrt", np.sqrt, T, T, "pos"), ("cbrt", np.cbrt, T, T, "nonzero"),
    ("square", np.square, T, T, "real"), ("reciprocal", np.reciprocal, T, T, "nonzero"),
    ("sign", np.sign, F, F, "nonzero"), ("floor", np.floor, F, F, "real"),
    ("ceil", np.ceil, F, F, "real"), ("rint", np.rint, F, F, "real"),
    ("trunc", np.trunc, F, F, "real"),
]
# name, function, (d1 a, d1 b), ((d2 aa, d2 ab), (d2 ba, d2 bb)), domains
_BINARY = [
    ("add", np.add, (T, T), ((F, F), (F, F)), ("real", "real")),
    ("subtract", np.subtract, (T, T), ((F, F), (F, F)), ("real", "real")),
    ("multiply", np.multiply, (T, T), ((F, T), (T, F)), ("real", "real")),
    ("divide", np.divide, (T, T), ((F, T), (T, T)), ("real", "nonzero")),
    ("power", np.power, (T, T), ((T, T), (T, T)), ("pos", "real")),
    # C pow: differs from np.power at -inf and -0.0 (np.power takes x**0.5 as sqrt)
    ("float_power", np.float_power, (T, T), ((T, T), (T, T)), ("pos", "real")),
    ("maximum", np.maximum, (T, T), ((F, F), (F, F)), ("real", "real")),
    ("minimum", np.minimum, (T, T), ((F, F), (F, F)), ("real", "real")),
    ("fmax", np.fmax, (T, T), ((F, F), (F, F)), ("real", "real")),
    ("fmin", np.fmin, (T, T), ((F, F), (F, F)), ("real", "real")),
    ("hypot", np.hypot, (T, T), ((T, T), (T, T)), ("nonzero", "nonzero")),
    ("arctan2", np.arctan2, (T, T), ((T, T), (T, T)), ("nonzero", "nonzero")),
    ("logaddexp", np.logaddexp, (T, T), ((T, T), (T, T)), ("real", "real")),
    ("logaddexp2", np.logaddexp2, (T, T), ((T, T), (T, T)), ("real", "real")),
    ("remainder", np.remainder, (T, T), ((F, F), (F, F)), ("real", "nonzero")),
    ("fmod", np.fmod, (T, T), ((F, F), (F, F)), ("real", "nonzero")),
    ("copysign", np.copysign, (T, F), ((F, F), (F, F)), ("nonzero", "nonzero")),
    ("floor_divide", np.floor_divide, (F, F), ((F, F), (F, F)), ("real", "nonzero")),
]
# piecewise-constant functions (comparisons, logic, tests): no derivative at all
_ZERO = [
    ("greater", np.greater, 2), ("greater_equal", np.greater_equal, 2),
    ("less", np.less, 2), ("less_equal", np.less_equal, 2), ("equal", np.equal, 2),
    ("not_equal", np.not_equal, 2), ("logical_and", np.logical_and, 2),
    ("logical_or", np.logical_or, 2), ("logical_xor", np.logical_xor, 2),
    ("logical_not", np.logical_not, 1), ("isnan", np.isnan, 1), ("isinf", np.isinf, 1),
    ("isfinite", np.isfinite, 1), ("signbit", np.signbit, 1),
    ("bitwise_and", np.bitwise_and, 2), ("bitwise_or", np.bitwise_or, 2),
    ("bitwise_xor", np.bitwise_xor, 2), ("invert", np.invert, 1),
]


def _known_zero_drops(base_deps):
    """multiply: the derivative in one factor is the other factor, so known zeros drop it."""
    def deps(ctx):
        out = base_deps(ctx)
        n = ctx.node.size
        for k, other in ((0, 1), (1, 0)):
            v = ctx.values[other]
            if out[k] is not None and v is not None and not np.all(v):
                out[k] = _mask_map(out[k], np.broadcast_to(v != 0, ctx.node.shape), n)
        return out
    return deps


def _power_rules(info):
    base_deps, base_hess = _ew_deps_from(info), _ew_hess_from(info)

    def exponent_in(ctx, allowed):
        v = ctx.values[1]
        return v is not None and bool(np.all(np.isin(np.asarray(v), allowed)))

    def deps(ctx):
        out = base_deps(ctx)
        if exponent_in(ctx, [0]):
            out[0] = None
        return out

    def hess(ctx):
        terms = base_hess(ctx)
        if exponent_in(ctx, [0, 1]):   # x**1 is linear, x**0 constant
            terms = [t for t in terms if t != ("self", 0)]
        return terms
    return deps, hess


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


def _choice_deps(info, name):
    """maximum/minimum/fmax/fmin: in local mode only the argument(s) with a nonzero share."""
    base = _ew_deps_from(info)

    def deps(ctx):
        out = base(ctx)
        a, b = ctx.values
        if ctx.local and a is not None and b is not None:
            a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64),
                                       np.asarray(b, dtype=np.float64))
            with np.errstate(invalid="ignore"):
                wa = choice_weight(name, a, b)
            n = ctx.node.size
            out[0] = _mask_map(out[0], wa > 0, n)
            out[1] = _mask_map(out[1], wa < 1, n)
        return out
    return deps


def strong_product(a, b):
    """``a * b`` with the strong zero: exactly 0 where either factor is exactly 0 (even if the
    other is inf or NaN). The product of the chain rule (see :mod:`sparsead.ad.rules`).
    On a traced value it records a ``strong_multiply`` node."""
    for v in (a, b):
        if hasattr(v, "_tc"):       # a tracer (tracing imports this module, not vice versa)
            return v._tc.add("strong_multiply", [a, b])
    r = np.multiply(a, b)           # callers silence floating-point warnings (np.errstate)
    if type(r) is np.ndarray:
        bad = np.isnan(r)
        if bad.any():
            zero = np.broadcast_to((np.asarray(a) == 0) | (np.asarray(b) == 0), r.shape)
            if not r.flags.writeable:
                r = r.copy()
            r[bad & zero] = 0.0
        return r
    if np.isnan(r) and (np.asarray(a) == 0 or np.asarray(b) == 0):
        return type(r)(0.0)
    return r


def _build_elementwise():
    for name, fn, d1, d2, dom in _UNARY:
        _elementwise(name, fn, (d1,), ((d2,),), (dom,))
    for name, fn, d1, d2, dom in _BINARY:
        info = Elementwise(d1, d2, dom)
        deps = hess = None
        if name == "multiply":
            deps = _known_zero_drops(_ew_deps_from(info))
        elif name in ("power", "float_power"):
            deps, hess = _power_rules(info)
        elif name in ("maximum", "fmax", "minimum", "fmin"):
            deps = _choice_deps(info, name)
        _elementwise(name, fn, d1, d2, dom, deps=deps, hess=hess)
    # the chain-rule product of the gradient transform (never traced from user code)
    info = Elementwise((T, T), ((F, T), (T, F)), ("real", "real"))
    _elementwise("strong_multiply", strong_product, info.d1, info.d2, info.domain,
                 deps=_known_zero_drops(_ew_deps_from(info)),
                 doc="a * b, exactly 0 where a factor is 0 (inf/NaN in the other included): "
                     "the chain-rule products the gradient transform records")
    REGISTRY["strong_multiply"].fast_impl = REGISTRY["multiply"].impl
    for name, fn, nargs in _ZERO:
        dom = "bool" if name.startswith(("bitwise", "invert")) else "real"
        _elementwise(name, fn, (F,) * nargs, ((F,) * nargs,) * nargs, (dom,) * nargs)
    try:
        import scipy.special as sc
    except ImportError:  # pragma: no cover
        sc = None
    if sc is not None:
        for name, fn, dom in [("erf", sc.erf, "real"), ("erfc", sc.erfc, "real"),
                              ("expit", sc.expit, "real")]:
            _elementwise(name, fn, (T,), ((T,),), (dom,))


_build_elementwise()

#: numpy/scipy ufunc -> primitive name (aliases included)
UFUNC_PRIMITIVES = {}
for _name, _fn, *_ in _UNARY + _BINARY + _ZERO:
    UFUNC_PRIMITIVES[_fn] = _name
UFUNC_PRIMITIVES.update({np.fabs: "abs", np.radians: "deg2rad",
                         np.degrees: "rad2deg", np.conjugate: "positive"})
try:
    import scipy.special as _sc
    UFUNC_PRIMITIVES.update({_sc.erf: "erf", _sc.erfc: "erfc", _sc.expit: "expit"})
except ImportError:  # pragma: no cover
    pass
