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

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.special as sc

from .ops import BINARY, LOGIC, OP_KINDS, PREDICATES, TIE_VALUES, UNARY, Ops, _broadcastable, \
    _factorizations, _size
from .source import render

__all__ = ["Stmt", "Program", "Chooser", "RngChooser", "DrawChooser", "generate", "points",
           "UNARY", "BINARY", "PREDICATES", "LOGIC", "OP_KINDS"]


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


# --- generation ---------------------------------------------------------------------------

class _Gen(Ops):
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
        """An operand broadcast-compatible with ``v_shape``: a value, a scalar or a constant."""
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
