"""Python source of one fused forward-lane kernel, generated from the lowered kernel IR.

Fed by ``numba_lower.py`` (nodes, output, materialisation plan); feeds
``numba_backend.py``, which writes the source to the kernel cache and compiles
it with ``numba.njit(cache=True)``.

The kernel computes the output's values and its tangent block ``B`` (one row
per output element, one column per lane). Each materialised node is written by
one loop nest over its elements; inside a loop the inlined elementwise/map
nodes are evaluated as scalars at that element (index maps become reads
``src[idx[i]]``), and the element's scalar expression is differentiated in
reverse, in the loop body: the adjoints of the leaves it read are the local
partial derivatives, which are added into the lanes of the row -- into lane
``colors[j]`` for element ``j`` of the seeded input (one-hot seeds cost one add,
whatever the number of lanes), or times the leaf's own lane row for a
materialised intermediate. There are no temporaries per operation. Every
product of the chain rule is strong (``0 * inf = 0``: discarded values carry no
derivative, README "Derivatives"), plain only with a nonzero finite constant.
A pushed sum (``plan_push``) loops over cells instead: the cell's expression is
evaluated once, its local partials are computed once in the forward pass (and
one-operand chains folded into one partial), and one reverse sweep per
destination adds each term's value and lane row into the element it lands on.

The source depends only on the structure of the graph (and on which scalar
constants are nonzero and finite): sizes, offsets and strides come in the
``dims`` array, index maps, constant arrays and scalar constants are kernel
arguments. Identical structure gives identical source, hence one cache entry.
"""

from __future__ import annotations

import re

import numpy as np

from .numba_lower import INLINE_OPS, NumbaBackendError
from ..primitives import HELPERS

#: a loop, a branch cost as much compile time as this many lines (fitted to measured compile
#: times: benchmarks/bench_compile.py, table 1)
LOOP_WEIGHT = 20
BRANCH_WEIGHT = 20


def _size(lines):
    """Compile-cost units of source lines: lines, plus the weights of loops and branches."""
    loops = sum(1 for ln in lines if ln.lstrip().startswith("for "))
    branches = sum(ln.count("if ") for ln in lines)
    return len(lines) + LOOP_WEIGHT * loops + BRANCH_WEIGHT * branches

__all__ = ["generate", "LOOP_WEIGHT", "BRANCH_WEIGHT"]


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
        the lanes -- the convention of the interpreter (``sparsead.ad.rules``).
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


class _Codegen:
    def __init__(self, nodes, out, live, material, n_inputs, n_lanes, push=None):
        self.safe = set()
        self.push = push or {}
        self.n_lanes = int(n_lanes)
        self.nodes = nodes
        self.out = out
        self.live = live
        self.material = material
        self.n_inputs = n_inputs
        self.src = _Source()
        self.computing = None
        self._scalars = {}
        self._maps = {}
        self._fills = {}
        self.body = []

    # -- names -------------------------------------------------------------
    def is_leaf(self, k):
        nd = self.nodes[k]
        return nd.op in ("input", "const") or (self.material[k] and k != self.computing)

    def buf(self, k):
        nd = self.nodes[k]
        if nd.op == "input":
            return f"x{nd.params['index']}"
        if nd.op == "const":
            return self.src.array(nd.params["value"], "c")
        return f"val{k}"

    def scalar_name(self, k):
        if k not in self._scalars:
            nd = self.nodes[k]
            name = self._scalars[k] = self.src.scalar(nd.params["value"], nd.dtype)
            v = nd.params["value"]
            if nd.dtype.kind in "fiu" and np.isfinite(v) and v != 0:
                self.safe.add(name)     # a product with it is already strong
        return self._scalars[k]

    def map_name(self, k):
        if k not in self._maps:
            self._maps[k] = self.src.array(self.nodes[k].params["idx"], "m")
        return self._maps[k]

    def map_expr(self, k, ix):
        """``idx[ix]`` as arithmetic when the map is affine on one contiguous valid range."""
        idx = self.nodes[k].params["idx"]
        aff = _affine(idx)
        if aff is None:
            return f"{self.map_name(k)}[{ix}]"
        a, b, lo, hi = aff
        step = "" if a == 1 else f"{self.src.dim(a)} * "
        e = f"{step}{ix} + {self.src.dim(b)}"
        if lo == 0 and hi == idx.size:
            return e
        return f"({e} if {self.src.dim(lo)} <= {ix} < {self.src.dim(hi)} else -1)"

    def index_expr(self, arr, ix):
        """``arr[ix]`` for an index array (arithmetic when affine, as in :meth:`map_expr`)."""
        aff = _affine(arr)
        if aff is None:
            return f"{self.src.array(arr, 'm')}[{ix}]"
        a, b, lo, hi = aff
        step = "" if a == 1 else f"{self.src.dim(a)} * "
        e = f"{step}{ix} + {self.src.dim(b)}"
        if lo == 0 and hi == arr.size:
            return e
        return f"({e} if {self.src.dim(lo)} <= {ix} < {self.src.dim(hi)} else -1)"

    def fill_expr(self, k, ix):
        nd = self.nodes[k]
        fill = nd.params["fill"]
        if isinstance(fill, np.ndarray):
            if k not in self._fills:
                self._fills[k] = self.src.array(fill.astype(nd.dtype), "f")
            return f"{self._fills[k]}[{ix}]"
        if k not in self._fills:
            self._fills[k] = self.src.scalar(fill, nd.dtype)
        return self._fills[k]

    # -- emission helpers --------------------------------------------------
    def put(self, lines, depth):
        pad = "    " * depth
        self.body.extend(pad + ln for ln in lines)

    def zero_row(self, t, d):
        return ["for l in range(p):", f"    {t}[{d}, l] = 0.0"]

    def store_region(self, k, root, ix, dest, depth, prelude=()):
        """One element of an elementwise loop: ``v_k[dest] = root(ix)`` and its lane row."""
        r = _Region(self)
        v = r.val(root, ix)
        lines = list(prelude) + r.lines + [f"val{k}[{dest}] = {v}"]
        if self.nodes[k].active:
            lines += self.zero_row(f"tan{k}", dest)
            if self.nodes[root].active:
                lines += r.tangent(v, "1.0", lambda lane: f"tan{k}[{dest}, {lane}]")
        self.put(lines, depth)

    # -- writers -----------------------------------------------------------
    def alloc(self, k, zeros):
        nd = self.nodes[k]
        d = self.src.dim(nd.size)
        fn = "np.zeros" if zeros else "np.empty"
        self.put([f"val{k} = {fn}({d}, {_dtype_expr(nd.dtype)})"], 1)
        if nd.active:
            self.put([f"tan{k} = {fn}(({d}, p), np.float64)"], 1)
        return d

    def write(self, k):
        nd = self.nodes[k]
        self.computing = k
        if k in self.push:
            self._w_push(k)
        else:
            getattr(self, "_w_" + nd.op if nd.op not in INLINE_OPS else "_w_inline")(k)
        self.computing = None

    def _w_push(self, k):
        """A sum of mapped terms, pushed: per cell of each term's domain, the shared
        expression once, each term added (value and lane row) into its destination."""
        active = self.nodes[k].active
        self.alloc(k, True)
        for size, dests in self.push[k]:
            self.put([f"for i in range({self.src.dim(size)}):"], 1)
            r = _Region(self)
            sums = []
            for dest, roots in dests:
                vs = [r.val(root, "i") for root in roots]
                if len(vs) == 1:
                    v = vs[0]
                else:
                    v = self.src.tmp("v")
                    r.emit(f"{v} = {' + '.join(vs)}")
                    live = [(u, "mul", "1") for u, root in zip(vs, roots)
                            if self.nodes[root].active]
                    if live:
                        r.tape.append((v, live))
                sums.append((dest, v, any(self.nodes[root].active for root in roots)))
            if active:
                r.compress()
                r.read_colors()
            lines = list(r.lines)
            for dest, v, act in sums:
                dd = self.src.tmp("dd")
                lines += [f"{dd} = {self.index_expr(dest, 'i')}", f"if {dd} >= 0:",
                          f"    val{k}[{dd}] += {v}"]
                if active and act:
                    lines += ["    " + ln for ln in
                              r.tangent(v, "1.0", lambda lane, dd=dd: f"tan{k}[{dd}, {lane}]")]
            self.put(lines, 2)

    def _w_inline(self, k):
        d = self.alloc(k, False)
        self.put([f"for i in range({d}):"], 1)
        self.store_region(k, k, "i", "i", 2)

    def _w_concat(self, k):
        nd = self.nodes[k]
        self.alloc(k, False)
        axis = nd.params["axis"]
        lead = int(np.prod(nd.shape[:axis], dtype=np.int64))
        post = int(np.prod(nd.shape[axis + 1:], dtype=np.int64))
        offset = 0
        pos = np.arange(nd.size, dtype=np.int64).reshape(nd.shape)
        for piece in nd.ins:
            p = self.nodes[piece]
            n = self.src.dim(p.size)
            self.put([f"for i in range({n}):"], 1)
            if lead == 1:       # the piece is one contiguous run of the output
                off = self.src.dim(offset * post)
                dest, prelude = "dd", [f"dd = {off} + i"]
            else:
                sl = [slice(None)] * len(nd.shape)
                sl[axis] = slice(offset, offset + p.shape[axis])
                dm = self.src.array(pos[tuple(sl)].reshape(-1), "m")
                dest, prelude = "dd", [f"dd = {dm}[i]"]
            self.store_region(k, piece, "i", dest, 2, prelude)
            offset += p.shape[axis]

    def _w_scatter(self, k):
        nd = self.nodes[k]
        self.alloc(k, False)
        base, vals = nd.ins
        n = self.src.dim(nd.size)
        self.put([f"for i in range({n}):"], 1)
        self.store_region(k, base, "i", "i", 2)
        index = self.src.array(nd.params["index"], "m")
        ni = self.src.dim(nd.params["index"].size)
        self.put([f"for e in range({ni}):"], 1)
        prelude = [f"dd = {index}[e]"]
        ix = "e"
        if nd.params["vmap"] is not None:
            bm = self.src.array(nd.params["vmap"], "m")
            prelude.append(f"ev = {bm}[e]")
            ix = "ev"
        self.store_region(k, vals, ix, "dd", 2, prelude)

    def _w_reduce_sum(self, k):
        nd = self.nodes[k]
        self.alloc(k, True)
        x = nd.ins[0]
        n = self.src.dim(self.nodes[x].size)
        group = nd.params["group"]
        r = _Region(self)
        v = r.val(x, "i")
        stripes = False
        if group is None:
            zero = "0.0" if nd.dtype.kind == "f" else "0"
            self.put([f"acc = {_dtype_expr(nd.dtype)}({zero})"], 1)
            if nd.active:
                # lane sums in 8 interleaved stripes: no chain of adds through one address
                stripes = True
                self.put(["tacc = np.zeros((8, p), np.float64)"], 1)
            self.put([f"for i in range({n}):"], 1)
            lines = r.lines + [f"acc += {v}"]
            dest = "0"
        else:
            gm = self.src.array(group, "m")
            self.put([f"for i in range({n}):"], 1)
            lines = [f"g = {gm}[i]"] + r.lines + [f"val{k}[g] += {v}"]
            dest = "g"
        if stripes:
            lines += r.tangent(v, "1.0", lambda lane: f"tacc[i & 7, {lane}]")
        elif nd.active:
            lines += r.tangent(v, "1.0", lambda lane: f"tan{k}[{dest}, {lane}]")
        self.put(lines, 2)
        if group is None:
            self.put([f"val{k}[0] = acc"], 1)
        if stripes:
            self.put(["for l in range(p):",
                      f"    tan{k}[0, l] = ((tacc[0, l] + tacc[1, l]) + (tacc[2, l] + tacc[3, l])) "
                      "+ ((tacc[4, l] + tacc[5, l]) + (tacc[6, l] + tacc[7, l]))"], 1)

    def _w_reduce_max(self, k, cmp=">"):
        """Max (min) per group; NaN wins, as in numpy. The lane row is the mean of the lane
        rows of the elements equal to the result (the tied extremes, or the NaNs)."""
        nd = self.nodes[k]
        d = self.alloc(k, False)
        x = nd.ins[0]
        n = self.src.dim(self.nodes[x].size)
        group = nd.params["group"]
        g = "0" if group is None else "g"
        pre = [] if group is None else [f"g = {self.src.array(group, 'm')}[i]"]
        self.put([f"seen = np.zeros({d}, np.bool_)"], 1)
        if nd.active:
            self.put([f"xv = np.empty({n}, {_dtype_expr(nd.dtype)})"], 1)
        self.put([f"for i in range({n}):"], 1)
        r = _Region(self)
        v = r.val(x, "i")
        keep = [f"xv[i] = {v}"] if nd.active else []
        self.put(pre + r.lines + keep + [
            f"if not seen[{g}] or {v} {cmp} val{k}[{g}] "
            f"or ({v} != {v} and val{k}[{g}] == val{k}[{g}]):",
            f"    val{k}[{g}] = {v}",
            f"    seen[{g}] = True"], 2)
        if not nd.active:
            return
        self.put([f"ties = np.zeros({d}, np.float64)", f"for g in range({d}):"], 1)
        self.put(self.zero_row(f"tan{k}", "g"), 2)
        self.put([f"for i in range({n}):"], 1)
        r = _Region(self)
        v = r.val(x, "i")
        body = r.lines + r.tangent(v, "1.0", lambda lane: f"tan{k}[{g}, {lane}]")
        self.put(pre + [f"w = xv[i]", f"m = val{k}[{g}]",
                        "if w == m or (w != w and m != m):",
                        f"    ties[{g}] += 1.0"], 2)
        self.put(body, 3)
        self.put([f"for g in range({d}):", "    if ties[g] > 1.0:",
                  "        for l in range(p):", f"            tan{k}[g, l] /= ties[g]"], 1)

    def _w_reduce_min(self, k):
        self._w_reduce_max(k, "<")

    def _w_reduce_prod(self, k):
        """Product per group; the lane row adds each element's lanes times the product of
        the others (prefix times suffix, as numpy's rule: no division, zero-safe)."""
        nd = self.nodes[k]
        d = self.alloc(k, False)
        x = nd.ins[0]
        n = self.src.dim(self.nodes[x].size)
        group = nd.params["group"]
        g = "0" if group is None else "g"
        pre = [] if group is None else [f"g = {self.src.array(group, 'm')}[i]"]
        one = "1.0" if nd.dtype.kind == "f" else "1"
        self.put([f"for g in range({d}):", f"    val{k}[g] = {one}"], 1)
        if nd.active:
            self.put([f"xv = np.empty({n}, {_dtype_expr(nd.dtype)})",
                      f"left = np.empty({n}, {_dtype_expr(nd.dtype)})"], 1)
        self.put([f"for i in range({n}):"], 1)
        r = _Region(self)
        v = r.val(x, "i")
        keep = [f"xv[i] = {v}", f"left[i] = val{k}[{g}]"] if nd.active else []
        self.put(pre + r.lines + keep + [f"val{k}[{g}] *= {v}"], 2)
        if not nd.active:
            return
        self.put([f"right = np.ones({d}, {_dtype_expr(nd.dtype)})", f"for g in range({d}):"], 1)
        self.put(self.zero_row(f"tan{k}", "g"), 2)
        self.put([f"for i in range({n} - 1, -1, -1):"], 1)
        r = _Region(self)
        v = r.val(x, "i")
        self.put(pre + ["w = left[i] * right[" + g + "]", f"right[{g}] *= xv[i]"] + r.lines
                 + r.tangent(v, "w", lambda lane: f"tan{k}[{g}, {lane}]"), 2)

    def _w_cumsum(self, k):
        self._cumulative(k, False)

    def _w_cumprod(self, k):
        self._cumulative(k, True)

    def _cumulative(self, k, prod):
        """Running sums (products) along one axis; the lanes of a product by the product rule
        ``t_i = t_{i-1} x_i + y_{i-1} t(x_i)``."""
        nd = self.nodes[k]
        self.alloc(k, False)
        pr = nd.params
        pre, ln, post = (self.src.dim(pr[s]) for s in ("pre", "len", "post"))
        x = nd.ins[0]
        start = ("1.0" if prod else "0.0") if nd.dtype.kind == "f" else ("1" if prod else "0")
        self.put(["run = np.zeros(p, np.float64)", f"for a in range({pre}):",
                  f"    for q in range({post}):",
                  f"        acc = {_dtype_expr(nd.dtype)}({start})",
                  "        for l in range(p):", "            run[l] = 0.0",
                  f"        for r in range({ln}):",
                  f"            ix = (a * {ln} + r) * {post} + q"], 1)
        r = _Region(self)
        v = r.val(x, "ix")
        lines = list(r.lines)
        if nd.active:
            if prod:
                lines += ["for l in range(p):", f"    run[l] = {smul('run[l]', v, self.safe)}"]
            if self.nodes[x].active:
                lines += r.tangent(v, "acc" if prod else "1.0", lambda lane: f"run[{lane}]")
            lines += ["for l in range(p):", f"    tan{k}[ix, l] = run[l]"]
        lines += [f"acc {'*' if prod else '+'}= {v}", f"val{k}[ix] = acc"]
        self.put(lines, 4)

    def _w_spmatmul(self, k):
        nd = self.nodes[k]
        self.alloc(k, False)
        pr = nd.params
        ip = self.src.array(pr["indptr"], "m")
        ind = self.src.array(pr["indices"], "m")
        dat = self.src.array(pr["data"], "c")
        pre, rows, cols, post = (self.src.dim(pr[s]) for s in ("pre", "rows", "cols", "post"))
        x = nd.ins[0]
        self.put([f"for a in range({pre}):", f"    for r in range({rows}):",
                  f"        for q in range({post}):",
                  f"            dd = (a * {rows} + r) * {post} + q",
                  "            acc = 0.0"], 1)
        if nd.active:
            self.put(self.zero_row(f"tan{k}", "dd"), 4)
        self.put([f"for kk in range({ip}[r], {ip}[r + 1]):", f"    w = {dat}[kk]",
                  f"    ix = (a * {cols} + {ind}[kk]) * {post} + q"], 4)
        r = _Region(self)
        v = r.val(x, "ix")
        lines = r.lines + [f"acc += w * {v}"]
        if nd.active:
            lines += r.tangent(v, "w", lambda lane: f"tan{k}[dd, {lane}]")
        self.put(lines, 5)
        self.put([f"val{k}[dd] = acc"], 4)

    def _w_einsum(self, k):
        nd = self.nodes[k]
        self.alloc(k, True)
        ins_specs, out_spec = nd.params["subscripts"].split("->")
        specs = ins_specs.split(",")
        sizes = {}
        for spec, i in zip(specs, nd.ins):
            for c, s in zip(spec, self.nodes[i].shape):
                sizes[c] = s
        letters = list(dict.fromkeys(out_spec + "".join(specs)))

        def flat(spec, shape):
            if not spec:
                return "0"
            terms = []
            for pos, c in enumerate(spec):
                stride = int(np.prod(shape[pos + 1:], dtype=np.int64))
                terms.append(f"i_{c} * {self.src.dim(stride)}")
            return " + ".join(terms)

        depth = 1
        for c in letters:
            self.put([f"for i_{c} in range({self.src.dim(sizes[c])}):"], depth)
            depth += 1
        lines = [f"o = {flat(out_spec, nd.shape)}"]
        r = _Region(self)
        vals = []
        for t, (spec, i) in enumerate(zip(specs, nd.ins)):
            lines.append(f"ix{t} = {flat(spec, self.nodes[i].shape)}")
            vals.append(r.val(i, f"ix{t}"))
        strong = nd.params.get("strong", False)
        term = _product(vals, strong)
        lines += r.lines + [f"val{k}[o] += {term}"]
        if nd.active:
            for t, i in enumerate(nd.ins):
                if not self.nodes[i].active:
                    continue
                # the other factors of the term: a zero among them annihilates the tangent
                coef = _product([v for s, v in enumerate(vals) if s != t], True)
                sub = _Region(self)
                sub.memo, sub.tape, sub.leaves = r.memo, r.tape, r.leaves
                lines += sub.tangent(vals[t], f"({coef})", lambda lane: f"tan{k}[o, {lane}]")
        self.put(lines, depth)

    # -- whole kernel ------------------------------------------------------
    def generate(self, budget=None):
        order = [k for k in range(len(self.nodes)) if self.live[k] and self.material[k]
                 and self.nodes[k].op not in ("input", "const", "scalar")]
        start = 0
        self.weight = 0
        for k in order:
            self.write(k)
            self.weight += _size(self.body[start:])
            start = len(self.body)
            if budget is not None and self.weight > budget:
                raise NumbaBackendError(
                    "size", f"its kernel ({len(order)} arrays written by loops) would exceed "
                    f"the compile budget of {budget} size units; compiling it could take "
                    "minutes")
        out = self.nodes[self.out]
        ret_t = f"tan{self.out}"
        tail = []
        if not out.active:
            tail.append(f"tout = np.zeros(({self.src.dim(out.size)}, p), np.float64)")
            ret_t = "tout"
        tail.append(f"return val{self.out}, {ret_t}")
        self.put(tail, 1)
        self.weight += _size(self.body[start:])
        params = [f"x{i}" for i in range(self.n_inputs)] + ["colors", "dims"] \
            + self.src.arg_names
        head = ["import math", "import numpy as np", "from numba import njit", ""]
        text = "\n".join(self.body)
        for name, helper in HELPERS.items():
            if name + "(" in text:
                head += helper.strip("\n").split("\n") + [""]
        head += ["", "@njit(cache=True, error_model='numpy', nogil=True)",
                 f"def kernel({', '.join(params)}):"]
        head += [f"    p = {self.n_lanes}"]   # a literal: the lane loops unroll
        head += [f"    d{i} = dims[{i}]" for i in range(len(self.src.dims))]
        return "\n".join(head + self.body) + "\n"


def generate(nodes, out, live, material, n_inputs, n_lanes, push=None, budget=None):
    """Source of ``kernel(x0, ..., colors, dims, *args) -> (values, lanes)`` for ``n_lanes`` lanes.

    Returns ``(source, dims, args, weight)``: the int64 ``dims`` array, the list
    of argument values to pass after ``dims`` and the kernel's size (lines plus
    :data:`LOOP_WEIGHT` per loop and :data:`BRANCH_WEIGHT` per branch). Raises
    :class:`NumbaBackendError` (stage ``"size"``) as soon as the size exceeds
    ``budget``.
    """
    cg = _Codegen(nodes, out, live, material, n_inputs, n_lanes, push)
    source = cg.generate(budget)
    return source, np.array(cg.src.dims, dtype=np.int64), cg.src.arg_values, cg.weight
