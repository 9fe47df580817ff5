"""Python source of the fuzzer's statements: exact literals and one line (or two) per statement.

``render(stmt, i)`` gives the lines defining ``v{i}``; :meth:`Program.source`
(``programs.py``) joins them into ``def f(x): ...``. Constants are written
exactly (``repr`` of each float, ``np.inf``/``np.nan``), so a reproducer is the
very code that was tested.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

__all__ = ["lit", "key_src", "render", "SCIPY_UNARY", "OPERATORS", "CMP_OPS"]

SCIPY_UNARY = ("erf", "erfc", "expit")
OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
              "remainder": "%", "floor_divide": "//"}
CMP_OPS = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<=",
            "equal": "==", "not_equal": "!="}


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
            return [f"{t} = {ops[0]} {OPERATORS[a['fn']]} {ops[1]}"]
        if a.get("style") == "op" and op == "pred":
            return [f"{t} = {ops[0]} {CMP_OPS[a['fn']]} {ops[1]}"]
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
