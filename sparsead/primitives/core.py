"""The registry format: one :class:`Primitive` per graph operation, every rule of it together.

Fed by nothing but numpy; the topic modules of this package (``elementwise``,
``layout``, ``reductions``, ``linalg``) fill :data:`REGISTRY`, and every
interpreter of a graph (evaluation, index sets, forward lanes, the gradient
transform, the Numba compiler) looks a primitive up here. An entry holds

* ``impl(*values, **params)`` -- numpy evaluation; ``fast_impl`` (optional) a
  cheaper one that may give NaN where ``impl``'s strong zero gives 0
  (evaluators that check for NaN and rerun with ``impl`` use it);
* ``shape(in_avals, **params) -> (shape, dtype)`` -- the abstract rule, with
  ``in_avals`` a list of ``(shape, dtype)``;
* ``deps(ctx) -> list`` -- first-order sparsity: per input, the pattern of the
  local Jacobian d(output)/d(input k) (formats below);
* ``hess(ctx) -> list`` -- second-order classification: which pairs of input
  index sets the second derivative couples (terms below);
* ``elementwise`` -- for elementwise functions, the :class:`Elementwise`
  classification (first/second derivative can be nonzero, sampling domain)
  and ``partials``, the numpy partial derivative per argument;
* ``jvp(c, vals, out, tans)`` (forward lanes, lanes-first tangent blocks of
  shape ``(p,) + value.shape``) and ``vjp(c, vals, out, ct)`` (the gradient
  transform, recording cotangents as graph nodes), with ``c`` a :class:`Call`;
* ``scalar`` -- the compiled scalar template (:class:`ScalarRule`) of an
  elementwise function, used by the Numba compiler;
* AD traits read by the lane planner: ``linear`` (the tangent is a fixed
  linear map of the input tangents: no values needed, folded when the input
  tangents are), ``view`` (the tangent may alias the input's), ``flows(k,
  params)`` (whether a tangent of input ``k`` can reach the output; default:
  ``elementwise.d1[k]``, else True), ``needs(has_tan) -> (positions,
  need_out)`` (the values the JVP reads; default: every input and the output)
  and ``static(has_tan, varying)`` (the tangent is independent of the input
  values when those inputs do not vary; default: only for ``linear``).

Local Jacobian patterns (one per input, ``out.size`` rows, ``in.size`` columns):
``None`` (no derivative flows), :data:`IDENTITY` (same shape, element ``i``
from element ``i``), a 1-D ``int64`` map (row ``i`` depends on element
``map[i]``; ``-1``: on nothing) or a :class:`Pattern` (general CSR rows).

Hessian terms (which pairs of index sets the second derivative of an output
element couples): ``("self", k)`` all pairs within the set element ``i``
receives from input ``k`` by broadcasting; ``("cross", k, l)`` pairs between
the sets from inputs ``k`` and ``l`` (both for elementwise primitives; they
ignore local refinements of ``deps``, since e.g. ``d2(x*y)/dxdy = 1`` even
where ``y = 0``); ``("pairs", k, l, rows, a, b)`` for every ``t``, pairs
between element ``a[t]`` of input ``k`` and element ``b[t]`` of input ``l``,
counted when output element ``rows[t]`` matters; ``("all",)`` all pairs
within the output element's whole set (conservative fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["Primitive", "Elementwise", "Pattern", "ScalarRule", "IDENTITY", "REGISTRY",
           "register", "RuleContext", "Call", "broadcast_map", "coo_pattern", "group_pattern",
           "strong_product", "passes", "jvp_needs", "tangent_is_static"]


class _Identity:
    def __repr__(self):
        return "IDENTITY"


IDENTITY = _Identity()


class Pattern(NamedTuple):
    """CSR pattern of a local Jacobian: ``indices[indptr[i]:indptr[i+1]]`` feed output ``i``."""

    indptr: np.ndarray
    indices: np.ndarray


class ScalarRule(NamedTuple):
    """Compiled scalar template: the value and one partial per argument (``None``: none).

    Python source over the argument names ``{0}``, ``{1}``, ``{2}`` and the
    result ``{r}``, compiled by Numba with numpy's semantics (``nan`` for
    domain errors, ``inf`` for division by zero under ``error_model="numpy"``).
    """

    value: str
    partials: tuple


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
    jvp: Callable | None = None
    vjp: Callable | None = None
    doc: str = ""
    fast_impl: Callable | None = None
    partials: tuple | None = None
    scalar: ScalarRule | None = None
    linear: bool = False
    view: bool = False
    flows: Callable | None = None
    needs: Callable | None = None
    static: Callable | None = None


REGISTRY: dict[str, Primitive] = {}


def register(name, **rules):
    """Add a primitive to :data:`REGISTRY` (names are unique) with all its rules (see above)."""
    if name in REGISTRY:
        raise ValueError(f"primitive {name!r} is already registered")
    REGISTRY[name] = Primitive(name, **rules)
    return REGISTRY[name]


class Call:
    """What a derivative rule sees of the node it is applied to.

    ``shape`` (output), ``in_shapes``, ``params``, the lane count ``p``,
    ``donate`` (input positions whose tangent block the rule may overwrite),
    ``need`` (inputs that want a cotangent) and ``strong`` (strong-zero mode).
    """

    __slots__ = ("shape", "in_shapes", "params", "p", "donate", "need", "strong")

    def __init__(self, shape, in_shapes, params, p=0, donate=(), need=(), strong=False):
        self.shape = tuple(shape)
        self.in_shapes = [tuple(s) for s in in_shapes]
        self.params = params
        self.p = p
        self.donate = donate
        self.need = need
        self.strong = strong


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


# --- what the lane planner asks of a primitive ---------------------------------------

def passes(prim, k, in_dtype=None, params=None):
    """Whether a tangent of input ``k`` can reach the output of ``prim`` at all."""
    entry = REGISTRY[prim]
    if entry.flows is not None:
        return entry.flows(k, params)
    if entry.elementwise is not None:
        return bool(entry.elementwise.d1[k])
    return True


def jvp_needs(prim, has_tan):
    """Which input values (positions) and whether the output value the JVP rule reads."""
    entry = REGISTRY.get(prim)          # graph inputs ("input") are not primitives
    if entry is None:
        return tuple(range(len(has_tan))), True
    if entry.linear:
        return (), False
    if entry.needs is not None:
        return entry.needs(has_tan)
    return tuple(range(len(has_tan))), True


def tangent_is_static(prim, tan_static, has_tan, varying):
    """Whether the tangent does not depend on any input value (affine folding)."""
    if not all(tan_static[k] for k, h in enumerate(has_tan) if h):
        return False
    entry = REGISTRY[prim]
    if entry.linear:
        return True
    return entry.static is not None and bool(entry.static(has_tan, varying))


def other_factors(has_tan):
    """``needs`` of a multilinear primitive: the factors other than a differentiated one."""
    n = len(has_tan)
    return tuple(j for j in range(n) if any(has_tan[k] and k != j for k in range(n))), False


def others_fixed(has_tan, varying):
    """``static`` of a multilinear primitive: the other factors of every tangent are fixed."""
    n = len(has_tan)
    return all(not varying[j] for k in range(n) if has_tan[k] for j in range(n) if j != k)


# --- local Jacobian patterns -----------------------------------------------------------

def broadcast_map(in_shape, out_shape):
    """Map from elements of ``out_shape`` to the element of ``in_shape`` broadcast onto them."""
    in_shape, out_shape = tuple(in_shape), tuple(out_shape)
    if in_shape == out_shape:
        return IDENTITY
    size = int(np.prod(in_shape, dtype=np.int64))
    src = np.arange(size, dtype=np.int64).reshape(in_shape)
    return np.ascontiguousarray(np.broadcast_to(src, out_shape)).reshape(-1)


def mask_map(dep, keep, out_size):
    """Restrict a local map to the output elements where ``keep`` holds."""
    if dep is None:
        return None
    keep = np.broadcast_to(keep, keep.shape).reshape(-1)
    base = np.arange(out_size, dtype=np.int64) if dep is IDENTITY else dep
    return np.where(keep, base, -1)


def coo_pattern(rows, cols, n_rows) -> Pattern:
    """CSR pattern from (row, col) pairs (pairs must be unique)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(cols, dtype=np.int64).reshape(-1)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return Pattern(indptr, cols[order])


def group_pattern(group, n_rows) -> Pattern:
    """Pattern whose row ``r`` lists the inputs ``j`` with ``group[j] == r`` (-1: none)."""
    group = np.asarray(group, dtype=np.int64).reshape(-1)
    cols = np.flatnonzero(group >= 0)
    return coo_pattern(group[cols], cols, n_rows)


def dense_pattern(n_rows, n_cols) -> Pattern:
    indptr = np.arange(n_rows + 1, dtype=np.int64) * n_cols
    return Pattern(indptr, np.tile(np.arange(n_cols, dtype=np.int64), n_rows))


def no_hess(ctx):
    return []


def all_hess(ctx):
    return [("all",)]


def aval(shape, dtype):
    return tuple(int(s) for s in shape), np.dtype(dtype)


# --- the chain rule's product and recording helpers shared by the VJP rules ----------

def is_traced(v):
    """Whether ``v`` is a tracer (this package sits below tracing and does not import it)."""
    return hasattr(v, "_tc")


def strong_product(a, b):
    """``a * b`` with the strong zero: exactly 0 where either factor is exactly 0 (even if the
    other is inf or NaN). The product of the chain rule (README, "Derivatives").
    On a traced value it records a ``strong_multiply`` node."""
    for v in (a, b):
        if is_traced(v):
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


def size_of(shape):
    return int(np.prod(shape, dtype=np.int64))


def rec(ct, prim, inputs, **params):
    """Record a primitive in the tracing run of the tracer ``ct``."""
    return ct._tc.add(prim, inputs, **params)


def strong_scale(s, ct):
    """Record the chain-rule product ``s * ct`` with the strong zero."""
    return rec(ct, "strong_multiply", [s, ct])


def unbroadcast(g, shape):
    """Sum a cotangent ``g`` down to ``shape`` (the transpose of numpy broadcasting)."""
    shape = tuple(shape)
    gs = tuple(g.shape)
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and gs[lead + i] != 1)
    r = rec(g, "reduce_sum", [g], axes=axes) if axes else g
    if tuple(r.shape) != shape:
        r = rec(g, "reshape", [r], shape=shape)
    return r


def no_derivative(c, vals, out, tans):
    return None


def no_cotangent(c, vals, out, ct):
    return [None] * len(c.in_shapes)
