"""Building blocks of a kernel's source: names and constants, and one loop body's region.

Used by :mod:`.codegen` and :mod:`.writers`. :class:`_Source` hands out names
and kernel arguments (index maps, constant arrays, scalars, dimensions);
:class:`_Region` is the body of one loop over the elements of a materialised
node: it evaluates the inlined elementwise/map nodes as scalars at that element
and differentiates the expression in reverse, adding the local partials into
the lanes (strong products: ``0 * inf = 0``). :data:`LOOP_WEIGHT` and
:data:`BRANCH_WEIGHT` price the compile time of a loop and a branch in lines.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["LOOP_WEIGHT", "BRANCH_WEIGHT", "smul"]

#: a loop, a branch cost as much compile time as this many lines (fitted to measured compile
#: times: benchmarks/bench_compile.py, table 1)
LOOP_WEIGHT = 20
BRANCH_WEIGHT = 20


def _size(lines):
    """Compile-cost units of source lines: lines, plus the weights of loops and branches."""
    loops = sum(1 for ln in lines if ln.lstrip().startswith("for "))
    branches = sum(ln.count("if ") for ln in lines)
    return len(lines) + LOOP_WEIGHT * loops + BRANCH_WEIGHT * branches


class _Source:
    """Collects the kernel's arguments (bound at run time) and its lines."""

    def __init__(self):
        self.arg_names: list[str] = []
        self.arg_values: list = []
        self.dims: list[int] = []
        self._arrays: dict = {}
        self.n_tmp = 0

    def tmp(self, prefix):
        self.n_tmp += 1
        return f"{prefix}{self.n_tmp}"

    def array(self, arr, prefix):
        arr = np.ascontiguousarray(arr)
        key = (arr.dtype.str, arr.shape, hash(arr.tobytes()))
        name = self._arrays.get(key)
        if name is None:
            name = f"{prefix}_{len(self.arg_names)}"
            self._arrays[key] = name
            self.arg_names.append(name)
            self.arg_values.append(arr)
        return name

    def scalar(self, value, dtype):
        name = f"s_{len(self.arg_names)}"
        self.arg_names.append(name)
        self.arg_values.append(np.dtype(dtype).type(value))
        return name

    def dim(self, value):
        self.dims.append(int(value))
        return f"d{len(self.dims) - 1}"


_SIMPLE = re.compile(r"-?[\w.]+")


def _literal(e):
    """Whether ``e`` is a nonzero finite number literal (a product with it is already strong)."""
    try:
        v = float(e.strip("()"))
    except ValueError:
        return False
    return v != 0.0 and np.isfinite(v)


def smul(a, b, safe=()):
    """The chain-rule product ``a * b`` with the strong zero (README, "Derivatives"): exactly 0
    when either factor is 0, even if the other is inf or NaN (a plain product when a factor
    is a nonzero finite literal or a name in ``safe``, where the two are the same)."""
    if a == "1" or a == "1.0":
        return b
    if b == "1" or b == "1.0":
        return a
    if _literal(a) or _literal(b) or a in safe or b in safe:
        return f"{a} * {b}"
    return f"(0.0 if ({a} == 0.0 or {b} == 0.0) else {a} * {b})"


def _product(factors, strong):
    """``f1 * f2 * ...`` (``1.0`` if none); ``strong``: 0 when any factor is 0."""
    if not factors:
        return "1.0"
    plain = " * ".join(factors)
    if not strong or len(factors) == 1:
        return plain
    return f"(0.0 if ({' or '.join(f'{v} == 0.0' for v in factors)}) else {plain})"


def _dtype_expr(dt):
    dt = np.dtype(dt)
    return "np.bool_" if dt.kind == "b" else f"np.{dt.name}"


def _affine(idx):
    """``(a, b, lo, hi)`` if ``idx[i] = a*i + b`` for ``lo <= i < hi`` and ``-1`` elsewhere."""
    if idx.size < 2:
        return None
    valid = np.flatnonzero(idx >= 0)
    if valid.size == 0:
        return None
    lo, hi = int(valid[0]), int(valid[-1]) + 1
    if hi - lo != valid.size:
        return None
    seg = idx[lo:hi]
    a = int(seg[1] - seg[0]) if seg.size > 1 else 1
    b = int(seg[0]) - a * lo
    if not np.array_equal(seg, a * np.arange(lo, hi, dtype=np.int64) + b):
        return None
    return a, b, lo, hi


class _Region:
    """Scalar evaluation of inlined nodes at index expressions, with a reverse tape."""

    def __init__(self, cg):
        self.cg = cg
        self.memo = {}
        self.tape = []      # (out_var, [(in_var, kind, expr)])
        self.leaves = []    # (var, node, index)
        self.lines = []
        self.colors = None  # {leaf var: name of its colors[] read}, when read up front
        self.partials = {}  # {partial expression: variable}

    def read_colors(self):
        """Read the lane of every seeded leaf once (for several tangent sweeps of one region)."""
        self.colors = {}
        for v, k, ix in self.leaves:
            if self.cg.nodes[k].op == "input" and v not in self.colors:
                c = self.cg.src.tmp("c")
                self.emit(f"{c} = colors[{ix}]")
                self.colors[v] = c

    def emit(self, line):
        self.lines.append(line)

    def partial(self, expr):
        """A local partial derivative, computed once in the forward pass (shared by sweeps)."""
        if _SIMPLE.fullmatch(expr):
            return expr
        name = self.partials.get(expr)
        if name is None:
            name = self.cg.src.tmp("q")
            self.emit(f"{name} = {expr}")
            self.partials[expr] = name
        return name

    def compress(self):
        """Fold chains of one-operand steps into one partial (computed in the forward pass).

        For a step ``out <- u`` whose operand ``u`` is itself ``u <- w`` and is read by
        no other step, ``out`` becomes ``out <- w`` with the product of the two
        partials. Each reverse sweep through the chain then costs one multiply
        instead of one per step: worth it when several sweeps share the tape.
        """
        uses: dict = {}
        for _, contribs in self.tape:
            for iv, _, _ in contribs:
                uses[iv] = uses.get(iv, 0) + 1
        single: dict = {}
        tape = []
        for out, contribs in self.tape:
            new = []
            for iv, kind, e in contribs:
                while kind == "mul" and uses.get(iv) == 1 and iv in single:
                    iv, e2 = single[iv]
                    e = e2 if e == "1" else e if e2 == "1" else self.partial(
                        f"(-{e2})" if e == "-1" else f"(-{e})" if e2 == "-1"
                        else smul(e, e2, self.cg.safe))
                new.append((iv, kind, e))
            if len(new) == 1 and new[0][1] == "mul":
                single[out] = (new[0][0], new[0][2])
            tape.append((out, new))
        self.tape = tape

    def val(self, k, ix):
        cg = self.cg
        nd = cg.nodes[k]
        if nd.op == "scalar":
            return cg.scalar_name(k)
        if nd.size == 1:
            ix = "0"
        key = (k, ix)
        if key in self.memo:
            return self.memo[key]
        src = cg.src
        if cg.is_leaf(k):
            v = src.tmp("v")
            self.emit(f"{v} = {cg.buf(k)}[{ix}]")
            if nd.active:
                self.leaves.append((v, k, ix))
        elif nd.op == "map":
            idx, fill = nd.params["idx"], nd.params["fill"]
            if idx is None:
                v = self.val(nd.ins[0], ix)
            else:
                jj = src.tmp("j")
                self.emit(f"{jj} = {cg.map_expr(k, ix)}")
                if fill is None:
                    v = self.val(nd.ins[0], jj)
                else:
                    j = src.tmp("j")
                    self.emit(f"{j} = {jj} if {jj} >= 0 else 0")
                    sv = self.val(nd.ins[0], j)
                    f = cg.fill_expr(k, ix)
                    v = src.tmp("v")
                    self.emit(f"{v} = {sv} if {jj} >= 0 else {f}")
                    if nd.active:
                        self.tape.append((v, [(sv, "cond", f"{jj} >= 0")]))
        elif nd.op == "ew":
            args = [self.val(i, ix) for i in nd.ins]
            rule = nd.params["rule"]
            v = src.tmp("v")
            self.emit(f"{v} = {rule.value.format(*args, r=v)}")
            if nd.active:
                contribs = []
                if nd.params["prim"] == "where":
                    for slot, cond in ((1, args[0]), (2, f"not {args[0]}")):
                        if cg.nodes[nd.ins[slot]].active:
                            contribs.append((args[slot], "cond", cond))
                else:
                    by_arg = {}     # one operand in several slots (x - x): partials summed
                    for slot, i in enumerate(nd.ins):
                        part = rule.partials[slot]
                        if part is not None and cg.nodes[i].active:
                            by_arg.setdefault(args[slot], []).append(part.format(*args, r=v))
                    for arg, parts in by_arg.items():
                        e = parts[0] if len(parts) == 1 else f"({' + '.join(parts)})"
                        contribs.append((arg, "mul", self.partial(e)))
                self.tape.append((v, contribs))
        else:  # pragma: no cover
            raise AssertionError(f"node {k} ({nd.op}) cannot be inlined")
        self.memo[key] = v
        return v

    def tangent(self, root, seed, target):
        """Lines adding ``seed * d(root)/d(leaves)`` into the lanes ``target(lane)``.

        Every product of the chain rule is strong (:func:`smul`): a zero adjoint
        or partial gives 0 even times inf or NaN, so a value discarded by a
        selection (the branch ``where`` does not take, the source read of a filled
        map element, an overwritten element) or a zero factor never puts NaN in
        the lanes -- the convention of the interpreter (:mod:`sparsead.primitives`).
        """
        src = self.cg.src
        adj = {root: seed}
        lines = []
        for out, contribs in reversed(self.tape):
            a = adj.get(out)
            if a is None:
                continue
            for iv, kind, e in contribs:
                if kind == "cond":
                    term = f"({a} if {e} else 0.0)"
                elif e == "1":
                    term = a
                elif e == "-1":
                    term = f"(-{a})"
                else:
                    term = smul(a, e, self.cg.safe)
                if iv in adj and adj[iv] != seed:
                    lines.append(f"{adj[iv]} += {term}")
                else:
                    name = src.tmp("a")
                    if iv in adj:       # iv is the root itself (cannot happen in a DAG)
                        term = f"{adj[iv]} + {term}"
                    lines.append(f"{name} = {term}")
                    adj[iv] = name
        for v, k, ix in self.leaves:
            a = adj.get(v)
            if a is None:
                continue
            if self.cg.nodes[k].op == "input":
                c = self.colors.get(v) if self.colors is not None else None
                if c is None:
                    c = src.tmp("c")
                    lines.append(f"{c} = colors[{ix}]")
                lines.append(f"if {c} >= 0:")
                lines.append(f"    {target(c)} += {a}")
            else:
                lines += ["for l in range(p):",
                          f"    {target('l')} += "
                          f"{smul(a, f'tan{k}[{ix}, l]', self.cg.safe)}"]
        return lines
