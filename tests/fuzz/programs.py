"""Random numpy programs for the differential fuzzer: generation, source, points.

A :class:`Program` is a list of :class:`Stmt` over numbered values: value 0 is
the 1-D input ``x``, statement ``i`` defines value ``i + 1``. Each statement is
one numpy call (an elementwise function, a layout operation, a reduction, a
product, an item assignment ...) with its static arguments (constants, axes,
index keys) stored as plain Python/numpy objects. The same statement list is

* rendered as Python source (:meth:`Program.source`), which is what sparsead
  traces and numpy runs -- the reproducer of a failure is exactly the code
  that was tested;
* interpreted by the independent dense reference (``reference.py``).

Choices go through a :class:`Chooser`, backed by a seeded numpy generator
(:class:`RngChooser`, for the long script) or by hypothesis draws
(:class:`DrawChooser`, so hypothesis can shrink). Operands are kept in or near
each function's domain by explicit pre-maps (``v*v + c`` before ``log``,
``tanh`` before ``arcsin``...), which are ordinary statements too; edge points
(:func:`points`) then push values onto domain boundaries, ties, zeros, +-inf
and NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.special as sc

__all__ = ["Stmt", "Program", "Chooser", "RngChooser", "DrawChooser", "generate", "points",
           "UNARY", "BINARY", "PREDICATES", "OP_KINDS"]

# --- the elementwise tables (names of numpy / scipy.special functions) ---------------

# name -> domain pre-map: "real" none, "pos" v*v + c, "unit" tanh(v) * s, "gt1" v*v + 1 + c,
# "nonzero" none (zero is a legitimate singular edge point)
UNARY = {
    "negative": "real", "positive": "real", "deg2rad": "real", "rad2deg": "real",
    "abs": "real", "sin": "real", "cos": "real", "tan": "unit", "arcsin": "unit",
    "arccos": "unit", "arctan": "real", "sinh": "small", "cosh": "small", "tanh": "real",
    "arcsinh": "real", "arccosh": "gt1", "arctanh": "unit", "exp": "small", "exp2": "small",
    "expm1": "small", "log": "pos", "log2": "pos", "log10": "pos", "log1p": "pos",
    "sqrt": "pos", "cbrt": "real", "square": "real", "reciprocal": "nonzero", "sign": "real",
    "floor": "real", "ceil": "real", "rint": "real", "trunc": "real", "erf": "real",
    "erfc": "real", "expit": "real", "fabs": "real",
}
SCIPY_UNARY = ("erf", "erfc", "expit")
# name -> (domain of a, domain of b)
BINARY = {
    "add": ("real", "real"), "subtract": ("real", "real"), "multiply": ("real", "real"),
    "divide": ("real", "nonzero"), "power": ("pos", "real"), "maximum": ("real", "real"),
    "minimum": ("real", "real"), "fmax": ("real", "real"), "fmin": ("real", "real"),
    "hypot": ("real", "real"), "arctan2": ("real", "real"), "logaddexp": ("real", "real"),
    "logaddexp2": ("real", "real"), "remainder": ("real", "nonzero"),
    "fmod": ("real", "nonzero"), "copysign": ("real", "real"),
    "floor_divide": ("real", "nonzero"), "float_power": ("pos", "real"),
}
_OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
              "remainder": "%", "floor_divide": "//"}
# float -> bool predicates and bool -> bool logic
PREDICATES = {
    "greater": 2, "greater_equal": 2, "less": 2, "less_equal": 2, "equal": 2, "not_equal": 2,
    "isnan": 1, "isinf": 1, "isfinite": 1, "signbit": 1,
}
LOGIC = {"logical_and": 2, "logical_or": 2, "logical_xor": 2, "logical_not": 1,
         "bitwise_and": 2, "bitwise_or": 2, "bitwise_xor": 2, "invert": 1}
_CMP_OPS = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=",
            "equal": "==", "not_equal": "!="}

#: constants the programs use: small values that edge points hit exactly (ties)
TIE_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
POWERS = (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, 4.0)
MAX_SIZE = 48

OP_KINDS = ("unary", "binary", "pred", "logic", "where", "cast", "clip", "reshape",
            "transpose", "index", "roll", "flip", "pad", "repeat", "tile", "broadcast_to",
            "concat", "stack", "vstack", "hstack", "reduce", "cum", "einsum", "matmul",
            "spmatmul", "solve", "inv", "det", "setitem", "const", "diag_overwrite")


@dataclass
class Stmt:
    """``v{i+1} = op(values ins, **args)``: value shape ``shape``, kind ``"f"`` or ``"b"``."""

    op: str
    ins: tuple
    args: dict
    shape: tuple
    kind: str = "f"


@dataclass
class Program:
    """A random numpy program of ``x`` (1-D, ``n`` elements); ``out`` is the returned value."""

    n: int
    stmts: list = field(default_factory=list)
    out: int = 0
    scalar: bool = False

    def shape_of(self, v):
        return (self.n,) if v == 0 else self.stmts[v - 1].shape

    def kind_of(self, v):
        return "f" if v == 0 else self.stmts[v - 1].kind

    def source(self, name="f"):
        """The program as a standalone Python function definition."""
        lines = [f"def {name}(x):", "    v0 = x"]
        for i, s in enumerate(self.stmts):
            for line in render(s, i + 1):
                lines.append("    " + line)
        lines.append(f"    return v{self.out}")
        return "\n".join(lines) + "\n"

    def function(self):
        """The program as a callable ``f(x)`` (the source, executed)."""
        ns = {"np": np, "sp": sp, "sc": sc}
        exec(compile(self.source(), "<fuzz program>", "exec"), ns)   # noqa: S102
        f = ns["f"]
        f.program = self
        return f

    def ops(self):
        return {s.op for s in self.stmts}

    def features(self):
        """Names of what the program uses (op kinds and functions), for reporting and xfail keys."""
        out = set()
        for s in self.stmts:
            out.add(s.op)
            if "fn" in s.args:
                out.add(f"{s.op}:{s.args['fn']}")
        return out


# --- literals (exact, standalone) ------------------------------------------------------

def _flit(v):
    v = float(v)
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


def lit(obj):
    """Exact Python source for a constant used by a program."""
    if obj is None:
        return "None"
    if isinstance(obj, (bool, np.bool_)):
        return repr(bool(obj))
    if isinstance(obj, (int, np.integer)):
        return repr(int(obj))
    if isinstance(obj, (float, np.floating)):
        return _flit(obj)
    if isinstance(obj, slice):
        return "slice(" + ", ".join(lit(v) for v in (obj.start, obj.stop, obj.step)) + ")"
    if isinstance(obj, tuple):
        return "(" + "".join(lit(v) + ", " for v in obj) + ")"
    if isinstance(obj, list):
        return "[" + ", ".join(lit(v) for v in obj) + "]"
    if sp.issparse(obj):
        return f"sp.csr_array({lit(obj.toarray())})"
    if isinstance(obj, np.ndarray):
        flat = obj.reshape(-1)
        if obj.dtype == bool:
            body, dt = ", ".join(repr(bool(v)) for v in flat), "bool"
        elif np.issubdtype(obj.dtype, np.integer):
            body, dt = ", ".join(repr(int(v)) for v in flat), "np.int64"
        else:
            body, dt = ", ".join(_flit(v) for v in flat), "np.float64"
        return f"np.array([{body}], dtype={dt}).reshape({lit(tuple(obj.shape))})"
    raise TypeError(f"no literal for {type(obj).__name__}")


def key_src(key):
    """Source of an index key (tuple of int / slice / int array / bool array / None)."""
    parts = []
    for k in key:
        if isinstance(k, slice):
            text = ("" if k.start is None else str(k.start)) + ":" + \
                ("" if k.stop is None else str(k.stop))
            parts.append(text if k.step is None else f"{text}:{k.step}")
        elif k is None:
            parts.append("None")
        else:
            parts.append(lit(k))
    return ", ".join(parts) + ("," if len(parts) == 1 else "")


def _operand(spec):
    kind, v = spec
    return f"v{v}" if kind == "v" else lit(v)


def render(s, i):
    """Source lines defining ``v{i}`` for statement ``s``."""
    a = s.args
    ins = [f"v{j}" for j in s.ins]
    t = f"v{i}"
    op = s.op
    if op == "unary":
        mod = "sc" if a["fn"] in SCIPY_UNARY else "np"
        return [f"{t} = {mod}.{a['fn']}({ins[0]})"]
    if op in ("binary", "pred", "logic"):
        ops = [_operand(o) for o in a["operands"]]
        if a.get("style") == "op" and op == "binary":
            return [f"{t} = {ops[0]} {_OPERATORS[a['fn']]} {ops[1]}"]
        if a.get("style") == "op" and op == "pred":
            return [f"{t} = {ops[0]} {_CMP_OPS[a['fn']]} {ops[1]}"]
        return [f"{t} = np.{a['fn']}({', '.join(ops)})"]
    if op == "where":
        return [f"{t} = np.where({', '.join(_operand(o) for o in a['operands'])})"]
    if op == "cast":
        if a["how"] == "int":
            return [f"{t} = {ins[0]}.astype(np.int64).astype(np.float64)"]
        return [f"{t} = {ins[0]}.astype(np.float64)"]
    if op == "clip":
        return [f"{t} = np.clip({ins[0]}, {lit(a['lo'])}, {lit(a['hi'])})"]
    if op == "reshape":
        how = a["how"]
        if how == "ravel":
            return [f"{t} = {ins[0]}.ravel()"]
        if how == "expand_dims":
            return [f"{t} = np.expand_dims({ins[0]}, {a['axis']})"]
        if how == "squeeze":
            return [f"{t} = np.squeeze({ins[0]})"]
        if how == "method":
            return [f"{t} = {ins[0]}.reshape({lit(a['shape'])})"]
        return [f"{t} = np.reshape({ins[0]}, {lit(a['shape'])})"]
    if op == "transpose":
        how = a["how"]
        if how == "T":
            return [f"{t} = {ins[0]}.T"]
        if how == "moveaxis":
            return [f"{t} = np.moveaxis({ins[0]}, {a['src']}, {a['dst']})"]
        if how == "swapaxes":
            return [f"{t} = np.swapaxes({ins[0]}, {a['src']}, {a['dst']})"]
        return [f"{t} = np.transpose({ins[0]}, {lit(a['axes'])})"]
    if op == "index":
        return [f"{t} = {ins[0]}[{key_src(a['key'])}]"]
    if op == "roll":
        return [f"{t} = np.roll({ins[0]}, {a['shift']}, axis={lit(a['axis'])})"]
    if op == "flip":
        return [f"{t} = np.flip({ins[0]}, axis={lit(a['axis'])})"]
    if op == "pad":
        extra = f", constant_values={lit(a['value'])}" if a["mode"] == "constant" else ""
        return [f"{t} = np.pad({ins[0]}, {lit(a['width'])}, mode={a['mode']!r}{extra})"]
    if op == "repeat":
        return [f"{t} = np.repeat({ins[0]}, {a['reps']}, axis={lit(a['axis'])})"]
    if op == "tile":
        return [f"{t} = np.tile({ins[0]}, {lit(a['reps'])})"]
    if op == "broadcast_to":
        return [f"{t} = np.broadcast_to({ins[0]}, {lit(a['shape'])})"]
    if op in ("concat", "stack", "vstack", "hstack"):
        items = ", ".join(_operand(o) for o in a["operands"])
        fn = {"concat": "concatenate"}.get(op, op)
        ax = f", axis={lit(a['axis'])}" if op in ("concat", "stack") else ""
        return [f"{t} = np.{fn}([{items}]{ax})"]
    if op == "reduce":
        kd = ", keepdims=True" if a["keepdims"] else ""
        if a.get("style") == "method":
            return [f"{t} = {ins[0]}.{a['fn']}(axis={lit(a['axis'])}{kd})"]
        return [f"{t} = np.{a['fn']}({ins[0]}, axis={lit(a['axis'])}{kd})"]
    if op == "cum":
        return [f"{t} = np.{a['fn']}({ins[0]}, axis={lit(a['axis'])})"]
    if op == "einsum":
        return [f"{t} = np.einsum({a['spec']!r}, "
                f"{', '.join(_operand(o) for o in a['operands'])})"]
    if op in ("matmul", "spmatmul"):
        x, y = (_operand(o) for o in a["operands"])
        return [f"{t} = {x} @ {y}"]
    if op == "solve":
        return [f"{t} = np.linalg.solve({', '.join(_operand(o) for o in a['operands'])})"]
    if op == "inv":
        return [f"{t} = np.linalg.inv({ins[0]})"]
    if op == "det":
        return [f"{t} = np.linalg.det({ins[0]})"]
    if op == "const":
        return [f"{t} = {a['how']}({ins[0]}, {lit(a['value'])})" if a["how"] == "np.full_like"
                else f"{t} = np.sin({lit(a['value'])})"]
    if op in ("setitem", "diag_overwrite"):
        base = {"zeros": f"np.zeros_like({ins[0]})", "empty": f"np.empty_like({ins[0]})",
                "copy": f"{ins[0]} * 1.0"}[a["base"]]
        val = _operand(a["value"])
        eq = "+=" if a.get("augment") else "="
        return [f"{t} = {base}", f"{t}[{key_src(a['key'])}] {eq} {val}"]
    raise ValueError(f"unknown statement {op!r}")


# --- choosers ---------------------------------------------------------------------------

class Chooser:
    """Where the generator's random choices come from."""

    def integer(self, lo, hi):     # inclusive
        raise NotImplementedError

    def choice(self, seq):
        seq = list(seq)
        return seq[self.integer(0, len(seq) - 1)]

    def flag(self, p):
        """True with probability ``p`` (shrinks towards False)."""
        return self.integer(0, 999) >= 1000 * (1.0 - p)

    def weighted(self, items):
        """``items``: list of ``(value, weight)``."""
        total = sum(w for _, w in items)
        k = self.integer(0, total - 1)
        for v, w in items:
            if k < w:
                return v
            k -= w
        return items[-1][0]

    def uniform(self, lo, hi):
        return lo + (hi - lo) * self.integer(0, 10 ** 6) / 10 ** 6


class RngChooser(Chooser):
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def integer(self, lo, hi):
        return int(self.rng.integers(lo, hi + 1))


class DrawChooser(Chooser):
    """Choices drawn through hypothesis (``data.draw``), so failures shrink."""

    def __init__(self, data):
        from hypothesis import strategies as st
        self.data, self.st = data, st

    def integer(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))


# --- generation ----------------------------------------------------------------------------

def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _factorizations(size, max_dims=3):
    """Shapes with ``size`` elements and 1..max_dims dimensions."""
    out = [(size,)]
    if size == 0:
        return out + [(0, 2), (2, 0), (1, 0, 3)]
    for a in range(1, size + 1):
        if size % a == 0:
            out.append((a, size // a))
            if max_dims >= 3:
                for b in range(1, size // a + 1):
                    if (size // a) % b == 0:
                        out.append((a, b, size // a // b))
    return out


class _Gen:
    def __init__(self, r: Chooser, n, scalar, n_stmts):
        self.r = r
        self.p = Program(n=n, scalar=scalar)
        self.n_stmts = n_stmts
        self.plain = set()      # values numpy computes without the tracer (no x involved)
        self.force_fn = None    # a function name the next unary/binary/pred/logic must use

    # -- pool ------------------------------------------------------------------------------
    def add(self, op, ins, args, shape, kind="f"):
        self.p.stmts.append(Stmt(op, tuple(ins), args, tuple(int(s) for s in shape), kind))
        v = len(self.p.stmts)
        if all(j in self.plain for j in ins):
            self.plain.add(v)
        return v

    def values(self, kind="f", pred=None):
        ids = [v for v in range(len(self.p.stmts) + 1) if self.p.kind_of(v) == kind]
        if pred is not None:
            ids = [v for v in ids if pred(self.p.shape_of(v))]
        return ids

    def pick(self, kind="f", pred=None):
        """A value of ``kind`` (recent ones preferred), or None."""
        ids = self.values(kind, pred)
        if not ids:
            return None
        if self.r.flag(0.6):
            return ids[-1 - self.r.integer(0, min(2, len(ids) - 1))]
        return self.r.choice(ids)

    def shape(self, v):
        return self.p.shape_of(v)

    # -- domain pre-maps ---------------------------------------------------------------------
    def premap(self, v, domain):
        """Statements that map value ``v`` into ``domain``; returns the new value id."""
        r = self.r
        if domain in ("real", "nonzero") or (domain != "pospos" and r.flag(0.1)):
            return v
        shape = self.shape(v)
        if domain == "small":       # exp/sinh/cosh: keep magnitudes moderate
            return self.add("unary", [v], {"fn": "tanh"}, shape) if r.flag(0.5) else \
                self.add("binary", [v], {"fn": "multiply", "operands": [("v", v), ("c", 0.5)],
                                         "style": "op"}, shape)
        if domain in ("pos", "gt1", "pospos"):
            sq = self.add("binary", [v], {"fn": "multiply", "operands": [("v", v), ("v", v)],
                                          "style": "op"}, shape)
            c = r.choice([0.25, 1.0] if domain == "pospos" else [0.0, 0.25, 1.0])
            c += 1.0 if domain == "gt1" else 0.0
            if c == 0.0 and r.flag(0.5):
                return sq
            return self.add("binary", [sq], {"fn": "add", "operands": [("v", sq), ("c", c)],
                                             "style": "op"}, shape)
        if domain == "unit":
            t = self.add("unary", [v], {"fn": "tanh"}, shape)
            s = r.choice([0.5, 0.9, 1.0])
            if s == 1.0:
                return t
            return self.add("binary", [t], {"fn": "multiply", "operands": [("c", s), ("v", t)],
                                            "style": "op"}, shape)
        raise ValueError(domain)

    def operand(self, v_shape, domain, allow_const=True):
        """An operand broadcast-compatible with ``v_shape``: a value, a scalar or an array constant."""
        r = self.r
        w = None
        if not allow_const or r.flag(0.6):
            w = self.pick("f", lambda s: _broadcastable(s, v_shape))
        if w is not None:
            return ("v", self.premap(w, domain))
        if r.flag(0.7) or not v_shape:
            c = r.choice(TIE_VALUES)
            if domain == "nonzero" and c == 0.0:
                c = 2.0
            if domain in ("pos", "gt1"):
                c = abs(c) + (1.0 if domain == "gt1" else 0.5)
            return ("c", c)
        shape = v_shape[-r.integer(1, len(v_shape)):] if r.flag(0.5) else v_shape
        arr = np.array([r.choice(TIE_VALUES) for _ in range(_size(shape))]).reshape(shape)
        if domain == "nonzero":
            arr[arr == 0.0] = 1.5
        if domain in ("pos", "gt1"):
            arr = np.abs(arr) + 0.5
        return ("c", arr)

    # -- statements --------------------------------------------------------------------------
    def _fn(self, table):
        fn, self.force_fn = self.force_fn, None
        return fn if fn in table else self.r.choice(sorted(table))

    def unary(self):
        v = self.pick()
        fn = self._fn(UNARY)
        u = self.premap(v, UNARY[fn])
        return self.add("unary", [u], {"fn": fn}, self.shape(u))

    def binary(self):
        r = self.r
        v = self.pick()
        fn = self._fn(BINARY)
        da, db = BINARY[fn]
        if fn in ("power", "float_power"):
            if r.flag(0.6):
                b = ("c", r.choice(POWERS))
                a = ("v", self.premap(v, "pos") if b[1] != int(b[1]) else v)
            else:   # a traced exponent: a base bounded away from 0 (x**y is singular there)
                a = ("v", self.premap(v, "pospos"))
                b = self.operand(self.shape(v), "small")
        else:
            a = ("v", self.premap(v, da))
            b = self.operand(self.shape(v), db)
        if r.flag(0.3) and fn not in ("power", "float_power"):
            a, b = b, a
            if a[0] == "c" and da != db:
                return None
        shape = np.broadcast_shapes(*[_shape_of_operand(self, o) for o in (a, b)])
        style = "op" if fn in _OPERATORS and r.flag(0.5) else "fn"
        if style == "op" and a[0] == "c" and isinstance(a[1], np.ndarray):
            style = "fn"    # ndarray.__op__(tracer) would not reach the tracer first
        ins = [o[1] for o in (a, b) if o[0] == "v"]
        return self.add("binary", ins, {"fn": fn, "operands": [a, b], "style": style}, shape)

    def pred(self):
        r = self.r
        v = self.pick()
        fn = self._fn(PREDICATES)
        if PREDICATES[fn] == 1:
            ops = [("v", v)]
        else:
            ops = [("v", v), self.operand(self.shape(v), "real")]
            if r.flag(0.3):
                ops = ops[::-1]
        shape = np.broadcast_shapes(*[_shape_of_operand(self, o) for o in ops])
        style = "op" if fn in _CMP_OPS and r.flag(0.5) and ops[0][0] == "v" else "fn"
        return self.add("pred", [o[1] for o in ops if o[0] == "v"],
                        {"fn": fn, "operands": ops, "style": style}, shape, "b")

    def logic(self):
        r = self.r
        forced, self.force_fn = self.force_fn, None
        p = self.pick("b")
        if p is None:
            p = self.pred()
        self.force_fn = forced
        fn = self._fn(LOGIC)
        ops = [("v", p)]
        if LOGIC[fn] == 2:
            q = self.pick("b", lambda s: _broadcastable(s, self.shape(p)))
            ops.append(("v", q) if q is not None else ("c", True))
        shape = np.broadcast_shapes(*[_shape_of_operand(self, o) for o in ops])
        return self.add("logic", [o[1] for o in ops if o[0] == "v"],
                        {"fn": fn, "operands": ops}, shape, "b")

    def where(self):
        r = self.r
        v = self.pick()
        shape = self.shape(v)
        if r.flag(0.5):
            c = self.pick("b", lambda s: _broadcastable(s, shape))
            cond = ("v", c) if c is not None else None
        else:
            cond = None
        if cond is None:
            cond = ("c", np.array([r.flag(0.5) for _ in range(_size(shape))],
                                  dtype=bool).reshape(shape))
        other = self.operand(shape, "real")
        ops = [cond, ("v", v), other] if r.flag(0.5) else [cond, other, ("v", v)]
        out = np.broadcast_shapes(*[_shape_of_operand(self, o) for o in ops])
        return self.add("where", [o[1] for o in ops if o[0] == "v"], {"operands": ops}, out)

    def cast(self):
        r = self.r
        if r.flag(0.4):
            p = self.pick("b")
            if p is not None:
                return self.add("cast", [p], {"how": "float"}, self.shape(p))
        v = self.pick()
        return self.add("cast", [v], {"how": r.choice(["float", "int"])}, self.shape(v))

    def clip(self):
        r = self.r
        v = self.pick()
        lo, hi = sorted([r.choice(TIE_VALUES), r.choice(TIE_VALUES)])
        if r.flag(0.2):
            lo = None
        elif r.flag(0.2):
            hi = None
        return self.add("clip", [v], {"lo": lo, "hi": hi}, self.shape(v))

    def reshape(self):
        r = self.r
        v = self.pick()
        shape = self.shape(v)
        how = r.choice(["np", "method", "ravel", "expand_dims", "squeeze"])
        if how == "ravel":
            return self.add("reshape", [v], {"how": how}, (_size(shape),))
        if how == "expand_dims":
            ax = r.integer(-len(shape) - 1, len(shape))
            return self.add("reshape", [v], {"how": how, "axis": ax},
                            np.expand_dims(np.zeros(shape), ax).shape)
        if how == "squeeze":
            return self.add("reshape", [v], {"how": how}, np.squeeze(np.zeros(shape)).shape)
        new = r.choice(_factorizations(_size(shape)))
        if r.flag(0.2) and len(new) > 1 and _size(shape):
            new = (-1,) + new[1:]
        return self.add("reshape", [v], {"how": how, "shape": new},
                        np.zeros(shape).reshape(new).shape)

    def transpose(self):
        r = self.r
        v = self.pick(pred=lambda s: len(s) >= 2)
        if v is None:
            return None
        shape = self.shape(v)
        nd = len(shape)
        how = r.choice(["perm", "T", "moveaxis", "swapaxes"])
        if how == "perm":
            axes = tuple(int(a) for a in np.argsort([r.integer(0, 99) for _ in range(nd)]))
            out = np.transpose(np.zeros(shape), axes).shape
            return self.add("transpose", [v], {"how": how, "axes": axes}, out)
        if how == "T":
            return self.add("transpose", [v], {"how": how}, shape[::-1])
        s, d = r.integer(-nd, nd - 1), r.integer(-nd, nd - 1)
        fn = np.moveaxis if how == "moveaxis" else np.swapaxes
        return self.add("transpose", [v], {"how": how, "src": s, "dst": d},
                        fn(np.zeros(shape), s, d).shape)

    def key(self, shape, for_setitem=False):
        """A random valid index key for ``shape`` (at most one advanced index)."""
        r = self.r
        key, advanced = [], False
        for d in shape:
            kind = r.weighted([("slice", 5), ("all", 3), ("int", 2 if d else 0),
                               ("fancy", 0 if advanced or not d else 2),
                               ("mask", 0 if advanced else 1)])
            if kind == "all":
                key.append(slice(None))
            elif kind == "slice":
                start = r.integer(-d - 1, d + 1) if r.flag(0.7) else None
                stop = r.integer(-d - 1, d + 1) if r.flag(0.7) else None
                step = r.choice([None, 1, 2, 3, -1, -2])
                key.append(slice(start, stop, step))
            elif kind == "int":
                key.append(r.integer(-d, d - 1))
            elif kind == "fancy":
                k = r.integer(1, 4)
                idx = [r.integer(-d, d - 1) for _ in range(k)]
                if for_setitem:     # numpy leaves the order of repeated writes unspecified
                    idx = list(dict.fromkeys(i % d for i in idx))
                key.append(np.array(idx, dtype=np.int64))
                advanced = True
            else:
                key.append(np.array([r.flag(0.5) for _ in range(d)], dtype=bool))
                advanced = True
        if not for_setitem and r.flag(0.1):
            key.insert(r.integer(0, len(key)), None)
        return tuple(key)

    def index(self):
        v = self.pick()
        shape = self.shape(v)
        if not shape:
            return None
        key = self.key(shape)
        out = np.zeros(shape)[key].shape
        return self.add("index", [v], {"key": key}, out)

    def _axis(self, shape, allow_none=True):
        r = self.r
        if allow_none and r.flag(0.2):
            return None
        return r.integer(-len(shape), len(shape) - 1)

    def roll(self):
        v = self.pick(pred=lambda s: len(s) >= 1)
        shape = self.shape(v)
        ax = self._axis(shape)
        return self.add("roll", [v], {"shift": self.r.integer(-3, 3), "axis": ax}, shape)

    def flip(self):
        v = self.pick(pred=lambda s: len(s) >= 1)
        shape = self.shape(v)
        ax = self._axis(shape)
        if ax is not None and len(shape) > 1 and self.r.flag(0.3):
            ax = (0, len(shape) - 1)
        return self.add("flip", [v], {"axis": ax}, shape)

    def pad(self):
        r = self.r
        v = self.pick(pred=lambda s: 1 <= len(s) and _size(s) <= MAX_SIZE // 2)
        if v is None:
            return None
        shape = self.shape(v)
        mode = r.choice(["constant", "edge", "wrap", "reflect", "symmetric"])
        if mode != "constant" and 0 in shape:
            mode = "constant"
        width = tuple((r.integer(0, 2), r.integer(0, 2)) for _ in shape)
        args = {"mode": mode, "width": width}
        if mode == "constant":
            args["value"] = r.choice(TIE_VALUES)
        out = np.pad(np.zeros(shape), width, mode=mode).shape
        return self.add("pad", [v], args, out)

    def repeat(self):
        v = self.pick(pred=lambda s: len(s) >= 1 and _size(s) <= MAX_SIZE // 2)
        if v is None:
            return None
        shape = self.shape(v)
        ax = self._axis(shape)
        reps = self.r.integer(1, 2)
        return self.add("repeat", [v], {"reps": reps, "axis": ax},
                        np.repeat(np.zeros(shape), reps, axis=ax).shape)

    def tile(self):
        v = self.pick(pred=lambda s: _size(s) <= MAX_SIZE // 2)
        if v is None:
            return None
        reps = tuple(self.r.integer(1, 2) for _ in range(self.r.integer(1, 2)))
        return self.add("tile", [v], {"reps": reps}, np.tile(np.zeros(self.shape(v)), reps).shape)

    def broadcast_to(self):
        v = self.pick(pred=lambda s: _size(s) <= MAX_SIZE // 3 and len(s) <= 2)
        if v is None:
            return None
        shape = self.shape(v)
        new = (self.r.integer(1, 3),) + tuple(1 if False else d for d in shape)
        return self.add("broadcast_to", [v], {"shape": new}, new)

    def _pieces(self, shape, axis, k):
        """``k`` float operands of ``shape`` except along ``axis`` (None: exactly ``shape``)."""
        r = self.r
        out = []
        for _ in range(k):
            if axis is None:
                ok = lambda s: s == shape   # noqa: E731
            else:
                ok = lambda s: len(s) == len(shape) and all(   # noqa: E731
                    a == b for i, (a, b) in enumerate(zip(s, shape)) if i != axis)
            w = self.pick(pred=ok)
            if w is None or r.flag(0.3):
                src = self.pick(pred=lambda s: s == shape) if r.flag(0.5) else None
                if src is None or r.flag(0.15):
                    if r.flag(0.5):
                        out.append(("c", np.full(shape, r.choice(TIE_VALUES))))
                        continue
                    src = self.pick(pred=lambda s: s == shape)
                if src is None:
                    out.append(("c", np.full(shape, r.choice(TIE_VALUES))))
                    continue
                fn = r.choice(["sin", "square", "negative", "exp", "tanh"])
                w = self.add("unary", [src], {"fn": fn}, shape)
            out.append(("v", w))
        return out

    def _join(self, op, pieces, args, out_shape):
        if not any(o[0] == "v" for o in pieces) or _size(out_shape) > MAX_SIZE * 2:
            return None
        return self.add(op, [o[1] for o in pieces if o[0] == "v"],
                        dict(args, operands=pieces), out_shape)

    def concat(self):
        r = self.r
        v = self.pick(pred=lambda s: len(s) >= 1 and _size(s) <= MAX_SIZE)
        if v is None:
            return None
        shape = self.shape(v)
        if r.flag(0.1):
            pieces = [("v", v)] + self._pieces(shape, None, r.integer(1, 2))
            out = (sum(_size(_shape_of_operand(self, o)) for o in pieces),)
            return self._join("concat", pieces, {"axis": None}, out)
        ax = r.integer(-len(shape), len(shape) - 1)
        pieces = [("v", v)] + self._pieces(shape, ax % len(shape), r.integer(1, 2))
        if r.flag(0.4):
            pieces = pieces[::-1]
        out = np.concatenate([np.zeros(_shape_of_operand(self, o)) for o in pieces],
                             axis=ax).shape
        return self._join("concat", pieces, {"axis": ax}, out)

    def stack(self):
        r = self.r
        v = self.pick(pred=lambda s: _size(s) <= MAX_SIZE // 2 and len(s) <= 2)
        if v is None:
            return None
        shape = self.shape(v)
        pieces = [("v", v)] + self._pieces(shape, None, r.integer(1, 2))
        if r.flag(0.4):
            pieces = pieces[::-1]
        ax = r.integer(-len(shape) - 1, len(shape))
        out = np.stack([np.zeros(shape)] * len(pieces), axis=ax).shape
        return self._join("stack", pieces, {"axis": ax}, out)

    def vstack(self):
        r = self.r
        v = self.pick(pred=lambda s: 1 <= len(s) <= 2 and _size(s) <= MAX_SIZE // 2)
        if v is None:
            return None
        shape = self.shape(v)
        pieces = [("v", v)] + self._pieces(shape, None if len(shape) == 1 else 0,
                                           r.integer(1, 2))
        out = np.vstack([np.zeros(_shape_of_operand(self, o)) for o in pieces]).shape
        return self._join("vstack", pieces, {}, out)

    def hstack(self):
        r = self.r
        v = self.pick(pred=lambda s: 1 <= len(s) <= 2 and _size(s) <= MAX_SIZE // 2)
        if v is None:
            return None
        shape = self.shape(v)
        pieces = [("v", v)] + self._pieces(shape, 0 if len(shape) == 1 else 1, r.integer(1, 2))
        out = np.hstack([np.zeros(_shape_of_operand(self, o)) for o in pieces]).shape
        return self._join("hstack", pieces, {}, out)

    def reduce(self):
        r = self.r
        v = self.pick()
        shape = self.shape(v)
        fn = r.choice(["sum", "prod", "max", "min", "mean"])
        nd = len(shape)
        if nd == 0 or r.flag(0.25):
            axis = None
        elif nd >= 2 and r.flag(0.3):
            axis = tuple(sorted({r.integer(0, nd - 1), r.integer(-nd, -1) % nd}))
            if len(axis) == 1:
                axis = axis[0]
        else:
            axis = r.integer(-nd, nd - 1)
        kept = np.sum(np.zeros(shape), axis=axis, keepdims=True).shape
        axes = range(nd) if axis is None else ([axis] if isinstance(axis, int) else axis)
        group = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        if fn in ("max", "min") and group == 0:     # numpy: no identity
            fn = "sum"
        if fn == "mean" and group == 0:
            fn = "sum"
        keepdims = r.flag(0.2)
        out = kept if keepdims else np.sum(np.zeros(shape), axis=axis).shape
        style = "method" if r.flag(0.3) else "fn"
        return self.add("reduce", [v], {"fn": fn, "axis": axis, "keepdims": keepdims,
                                        "style": style}, out)

    def cum(self):
        r = self.r
        v = self.pick(pred=lambda s: len(s) >= 1 and _size(s) <= 24)
        if v is None:
            return None
        shape = self.shape(v)
        axis = None if r.flag(0.2) else r.integer(-len(shape), len(shape) - 1)
        out = np.cumsum(np.zeros(shape), axis=axis).shape
        return self.add("cum", [v], {"fn": r.choice(["cumsum", "cumprod"]), "axis": axis}, out)

    def _matrix_operand(self, shape, allow_traced=True):
        """A 2-D or 1-D operand of exactly ``shape``: a value of that shape or a constant."""
        r = self.r
        if allow_traced and r.flag(0.5):
            w = self.pick(pred=lambda s: s == tuple(shape))
            if w is not None:
                return ("v", w)
        return ("c", np.array([r.choice(TIE_VALUES + (1.5, -2.0)) for _ in range(_size(shape))]
                              ).reshape(shape))

    def einsum(self):
        r = self.r
        v = self.pick(pred=lambda s: 1 <= len(s) <= 3 and _size(s) <= 24)
        if v is None:
            return None
        shape = self.shape(v)
        letters = "ijk"[:len(shape)]
        kind = r.choice(["unary", "vector", "matrix", "same"])
        if kind == "unary":
            out = "".join(c for c in letters if r.flag(0.6))
            if r.flag(0.5):
                out = out[::-1]
            spec, ops = f"{letters}->{out}", [("v", v)]
        elif kind == "vector":
            c = r.choice(letters)
            other = self._matrix_operand((shape[letters.index(c)],))
            out = "".join(ch for ch in letters if ch != c)
            spec, ops = f"{letters},{c}->{out}", [("v", v), other]
        elif kind == "matrix":
            c = letters[-1]
            m = r.integer(1, 3)
            other = self._matrix_operand((shape[-1], m))
            out = letters[:-1] + "z"
            spec, ops = f"{letters},{c}z->{out}", [("v", v), other]
        else:
            other = self._matrix_operand(shape)
            out = "".join(c for c in letters if r.flag(0.5))
            spec, ops = f"{letters},{letters}->{out}", [("v", v), other]
        if r.flag(0.3) and len(ops) == 2:
            a, b = spec.split("->")[0].split(",")
            spec, ops = f"{b},{a}->{spec.split('->')[1]}", ops[::-1]
        dims = {}
        for spec_i, o in zip(spec.split("->")[0].split(","), ops):
            for ch, d in zip(spec_i, _shape_of_operand(self, o)):
                dims[ch] = d
        out_shape = tuple(dims[ch] for ch in spec.split("->")[1])
        return self.add("einsum", [o[1] for o in ops if o[0] == "v"],
                        {"spec": spec, "operands": ops}, out_shape)

    def matmul(self):
        r = self.r
        v = self.pick(pred=lambda s: 1 <= len(s) <= 2 and _size(s) <= 24)
        if v is None:
            return None
        shape = self.shape(v)
        m = r.integer(1, 3)
        if r.flag(0.5):     # v @ other
            inner = shape[-1]
            other = self._matrix_operand((inner, m) if r.flag(0.7) else (inner,))
            ops = [("v", v), other]
        else:               # other @ v
            inner = shape[0]
            other = self._matrix_operand((m, inner) if r.flag(0.7) else (inner,))
            ops = [other, ("v", v)]
        out = (np.zeros(_shape_of_operand(self, ops[0])) @ np.zeros(
            _shape_of_operand(self, ops[1]))).shape
        return self.add("matmul", [o[1] for o in ops if o[0] == "v"], {"operands": ops}, out)

    def spmatmul(self):
        r = self.r
        v = self.pick(pred=lambda s: 1 <= len(s) <= 2 and _size(s) <= 32)
        if v is None:
            return None
        shape = self.shape(v)
        m = r.integer(1, 5)
        left = r.flag(0.6)
        k = shape[0] if left else shape[-1]
        dense = np.array([r.choice([0.0, 0.0, 1.0, -2.0, 0.5]) for _ in range(m * k)]
                         ).reshape((m, k) if left else (k, m))
        S = sp.csr_array(dense)
        ops = [("c", S), ("v", v)] if left else [("v", v), ("c", S)]
        out = (S @ np.zeros(shape)).shape if left else (np.zeros(shape) @ S).shape
        return self.add("spmatmul", [v], {"operands": ops}, out)

    def _square(self, k):
        """A well-conditioned (k, k) traced matrix: 3 I + 0.25 tanh(reshaped value)."""
        r = self.r
        v = self.pick(pred=lambda s: _size(s) >= k * k)
        if v is None:
            return None
        flat = self.add("reshape", [v], {"how": "ravel"}, (_size(self.shape(v)),))
        part = self.add("index", [flat], {"key": (slice(0, k * k, None),)}, (k * k,))
        sq = self.add("reshape", [part], {"how": "np", "shape": (k, k)}, (k, k))
        t = self.add("unary", [sq], {"fn": "tanh"}, (k, k))
        s = self.add("binary", [t], {"fn": "multiply", "operands": [("c", 0.25), ("v", t)],
                                     "style": "op"}, (k, k))
        eye = 3.0 * np.eye(k) + (np.diag(np.ones(k - 1), 1) * 0.5 if k > 1 and r.flag(0.5)
                                 else 0.0)
        return self.add("binary", [s], {"fn": "add", "operands": [("v", s), ("c", eye)],
                                        "style": "op"}, (k, k))

    def solve(self):
        r = self.r
        k = r.integer(1, 3)
        M = self._square(k)
        if M is None:
            return None
        rhs_shape = (k,) if r.flag(0.6) else (k, r.integer(1, 2))
        b = self._matrix_operand(rhs_shape)
        if r.flag(0.3):
            M_op = ("c", 2.0 * np.eye(k) + 0.25)
            if b[0] == "c":
                b = ("v", M)
                rhs_shape = (k, k)
        else:
            M_op = ("v", M)
        ops = [M_op, b]
        return self.add("solve", [o[1] for o in ops if o[0] == "v"], {"operands": ops},
                        rhs_shape)

    def inv(self):
        k = self.r.integer(1, 3)
        M = self._square(k)
        return None if M is None else self.add("inv", [M], {}, (k, k))

    def det(self):
        k = self.r.integer(1, 3)
        M = self._square(k)
        return None if M is None else self.add("det", [M], {}, ())

    def setitem(self):
        r = self.r
        ids = [v for v in self.values("f", lambda s: len(s) >= 1) if v not in self.plain]
        if not ids:     # tracing refuses writes into arrays numpy owns (documented)
            return None
        v = ids[-1] if r.flag(0.6) else r.choice(ids)
        shape = self.shape(v)
        base = r.choice(["zeros", "copy", "empty"])
        key = self.key(shape, for_setitem=True) if base != "empty" else \
            tuple(slice(None) for _ in shape)
        target = np.zeros(shape)[key].shape
        value = self.fit(target)
        augment = base != "empty" and r.flag(0.25)
        ins = [v] + ([value[1]] if value[0] == "v" else [])
        return self.add("setitem", ins, {"base": base, "key": key, "value": value,
                                         "augment": augment}, shape)

    def diag_overwrite(self):
        """``r = ((a[:, None] - a) ** 2) ** -0.5; r[i, i] = 0`` (issue 10's strong-zero case)."""
        v = self.pick(pred=lambda s: len(s) == 1 and 1 <= s[0] <= 8)
        if v is None:
            return None
        k = self.shape(v)[0]
        col = self.add("index", [v], {"key": (slice(None), None)}, (k, 1))
        d = self.add("binary", [col, v], {"fn": "subtract", "operands": [("v", col), ("v", v)],
                                          "style": "op"}, (k, k))
        sq = self.add("binary", [d], {"fn": "power", "operands": [("v", d), ("c", 2.0)],
                                      "style": "op"}, (k, k))
        p = self.add("binary", [sq], {"fn": "power", "operands": [("v", sq), ("c", -0.5)],
                                      "style": "op"}, (k, k))
        i = np.arange(k, dtype=np.int64)
        if self.r.flag(0.5):
            mask = ("c", np.eye(k, dtype=bool))
            return self.add("where", [p], {"operands": [mask, ("c", 0.0), ("v", p)]}, (k, k))
        return self.add("diag_overwrite", [p], {"base": "copy", "key": (i, i),
                                                "value": ("c", 0.0)}, (k, k))

    def fit(self, target):
        """An operand that broadcasts to ``target``: a scalar constant or a reshaped value."""
        r = self.r
        if r.flag(0.25):
            return ("c", r.choice(TIE_VALUES))
        w = self.pick(pred=lambda s: _broadcastable(s, target))
        if w is not None and r.flag(0.6):
            return ("v", w)
        size = _size(target)
        w = self.pick(pred=lambda s: _size(s) >= size)
        if w is None:
            return ("c", r.choice(TIE_VALUES))
        flat = self.add("reshape", [w], {"how": "ravel"}, (_size(self.shape(w)),))
        part = self.add("index", [flat], {"key": (slice(0, size, None),)}, (size,))
        if target == (size,):
            return ("v", part)
        return ("v", self.add("reshape", [part], {"how": "np", "shape": target}, target))

    def const(self):
        r = self.r
        v = self.pick()
        if r.flag(0.5):
            return self.add("const", [v], {"how": "np.full_like", "value": r.choice(TIE_VALUES)},
                            self.shape(v))
        k = r.integer(1, 4)
        arr = np.array([r.choice(TIE_VALUES) for _ in range(k)])
        return self.add("const", [], {"how": "sin", "value": arr}, (k,))

    # -- the program --------------------------------------------------------------------------
    WEIGHTS = {"unary": 14, "binary": 14, "pred": 3, "logic": 2, "where": 5, "cast": 2,
               "clip": 3, "reshape": 6, "transpose": 3, "index": 8, "roll": 2, "flip": 2,
               "pad": 2, "repeat": 1, "tile": 1, "broadcast_to": 1, "concat": 4, "stack": 4,
               "vstack": 2, "hstack": 2, "reduce": 6, "cum": 3, "einsum": 3, "matmul": 2,
               "spmatmul": 2, "solve": 1, "inv": 1, "det": 1, "setitem": 5, "const": 1,
               "diag_overwrite": 1}

    def step(self, force=None):
        if force and ":" in force:
            force, self.force_fn = force.split(":")
        for _ in range(20):
            op = force or self.r.weighted(sorted(self.WEIGHTS.items()))
            before = len(self.p.stmts)
            if getattr(self, op)() is not None:
                return True
            del self.p.stmts[before:]
            force = None
        return False

    def finish(self):
        r = self.r
        floats = [v for v in self.values("f") if v != 0 or not self.p.stmts or r.flag(0.05)]
        if not floats:
            floats = [0]
        v = floats[-1] if r.flag(0.7) else r.choice(floats)
        shape = self.shape(v)
        if self.p.scalar:
            how = r.weighted([("sumsq", 4), ("sum", 3), ("max", 1), ("dot", 1), ("index", 1)])
            if how == "index" and _size(shape):
                flat = self.add("reshape", [v], {"how": "ravel"}, (_size(shape),))
                v = self.add("index", [flat], {"key": (r.integer(0, _size(shape) - 1),)}, ())
            elif how == "max" and _size(shape):
                v = self.add("reduce", [v], {"fn": "max", "axis": None, "keepdims": False,
                                             "style": "fn"}, ())
            elif how == "dot" and _size(shape):
                flat = self.add("reshape", [v], {"how": "ravel"}, (_size(shape),))
                w = np.array([r.choice(TIE_VALUES + (1.5,)) for _ in range(_size(shape))])
                v = self.add("einsum", [flat], {"spec": "i,i->", "operands": [("v", flat),
                                                                             ("c", w)]}, ())
            else:
                if how == "sumsq":
                    v = self.add("binary", [v], {"fn": "multiply",
                                                 "operands": [("v", v), ("v", v)],
                                                 "style": "op"}, shape)
                v = self.add("reduce", [v], {"fn": "sum", "axis": None, "keepdims": False,
                                             "style": "fn"}, ())
        elif r.flag(0.15):
            others = [w for w in floats if w != v]
            if others:
                w = r.choice(others)
                a = self.add("reshape", [v], {"how": "ravel"}, (_size(shape),))
                b = self.add("reshape", [w], {"how": "ravel"}, (_size(self.shape(w)),))
                v = self.add("concat", [a, b], {"axis": 0, "operands": [("v", a), ("v", b)]},
                             (_size(shape) + _size(self.shape(w)),))
        self.p.out = v
        return self.p


def _broadcastable(s, target):
    try:
        return np.broadcast_shapes(tuple(s), tuple(target)) == tuple(target)
    except ValueError:
        return False


def _shape_of_operand(g, o):
    return g.shape(o[1]) if o[0] == "v" else np.shape(o[1])


def generate(r: Chooser, *, force=None, scalar=None, max_stmts=8) -> Program:
    """A random valid program: ``x`` (optionally reshaped to 2-D/3-D), then 1..max_stmts steps.

    ``force``: an op kind that must appear (coverage), optionally with the function:
    ``"unary:sin"``; ``scalar``: ask for a scalar program (Hessians) or a vector one
    (``None``: random).
    """
    if scalar is None:
        scalar = r.flag(0.45)
    size_kind = r.weighted([("normal", 90), ("single", 6), ("empty", 4)])
    n = {"normal": r.integer(2, 12), "single": 1, "empty": 0}[size_kind]
    g = _Gen(r, n, scalar, r.integer(1, max_stmts))
    if r.flag(0.5):
        shape = r.choice(_factorizations(n))
        if len(shape) > 1:
            g.add("reshape", [0], {"how": "np", "shape": shape}, shape)
    forced_at = r.integer(0, g.n_stmts - 1) if force else -1
    for i in range(g.n_stmts):
        g.step(force if i == forced_at else None)
    return g.finish()


# --- points ------------------------------------------------------------------------------

POINT_KINDS = ("random", "random", "ties", "zeros", "nonfinite")


def points(prog: Program, rng: np.random.Generator, kinds=POINT_KINDS):
    """Evaluation points for ``prog``: ``[(kind, x), ...]``.

    ``random``: uniform in [-1.5, 1.5]; ``ties``: values drawn from the constants the
    programs use (exact ties in max/min/clip/where, integer powers at 0);
    ``zeros``: mostly exact zeros; ``nonfinite``: a random point with some
    entries +-inf or NaN.
    """
    n = prog.n
    out = []
    for kind in kinds:
        if kind == "random":
            x = rng.uniform(-1.5, 1.5, n)
        elif kind == "ties":
            x = rng.choice(np.array(TIE_VALUES), n)
        elif kind == "zeros":
            x = np.where(rng.random(n) < 0.7, 0.0, rng.choice(np.array(TIE_VALUES), n))
        else:
            x = rng.uniform(-1.5, 1.5, n)
            if n:
                k = rng.integers(0, n)
                x[k] = rng.choice([np.inf, -np.inf, np.nan])
        out.append((kind, x))
    return out
