"""The fuzzer's vocabulary: what each kind of statement may be, and how it is generated.

:class:`Ops` is mixed into the generator (``programs.py``), which provides the
pool (``add``, ``pick``, ``values``, ``shape``), domain pre-maps (``premap``)
and operands (``operand``). Each method appends one or more statements and
returns the new value's id, or ``None`` when the pool offers nothing suitable
(the generator then tries another kind). The elementwise tables name numpy /
scipy.special functions with the domain their argument is mapped into.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .source import CMP_OPS, OPERATORS

__all__ = ["Ops", "UNARY", "BINARY", "PREDICATES", "LOGIC", "TIE_VALUES", "POWERS", "MAX_SIZE",
           "OP_KINDS"]

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
# float -> bool predicates and bool -> bool logic
PREDICATES = {
    "greater": 2, "greater_equal": 2, "less": 2, "less_equal": 2, "equal": 2, "not_equal": 2,
    "isnan": 1, "isinf": 1, "isfinite": 1, "signbit": 1,
}
LOGIC = {"logical_and": 2, "logical_or": 2, "logical_xor": 2, "logical_not": 1,
         "bitwise_and": 2, "bitwise_or": 2, "bitwise_xor": 2, "invert": 1}
#: constants the programs use: small values that edge points hit exactly (ties)
TIE_VALUES = (-1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
POWERS = (0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, 4.0)
MAX_SIZE = 48

OP_KINDS = ("unary", "binary", "pred", "logic", "where", "cast", "clip", "reshape",
            "transpose", "index", "roll", "flip", "pad", "repeat", "tile", "broadcast_to",
            "concat", "stack", "vstack", "hstack", "reduce", "cum", "einsum", "matmul",
            "spmatmul", "solve", "inv", "det", "setitem", "const", "diag_overwrite")


# --- shapes ----------------------------------------------------------------------------

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


def _broadcastable(s, target):
    try:
        return np.broadcast_shapes(tuple(s), tuple(target)) == tuple(target)
    except ValueError:
        return False


def _shape_of_operand(g, o):
    return g.shape(o[1]) if o[0] == "v" else np.shape(o[1])


class Ops:
    """Statement generators (a mixin of the generator in ``programs.py``)."""

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
        style = "op" if fn in OPERATORS and r.flag(0.5) else "fn"
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
        style = "op" if fn in CMP_OPS and r.flag(0.5) and ops[0][0] == "v" else "fn"
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
