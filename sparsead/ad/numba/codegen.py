"""Python source of one fused forward-lane kernel, generated from the lowered kernel IR.

Fed by :mod:`.lower` and :mod:`.plan` (nodes, output, materialisation plan);
feeds :mod:`.backend`, which writes the source to the kernel cache and compiles
it with ``numba.njit(cache=True)``. The pieces of source (names, constants,
the scalar expression of a loop body and its reverse sweep) come from
:mod:`.emit`; the loop nests of the materialised array ops from :mod:`.writers`.

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

The output's lane row is summed in a local row and stored once (no
read-modify-write of the block, or of ``J.data`` through the fused map); a kernel
asked for lanes only (``values=False``) does not store the output's values. The
parallel variant (``parallel=True``) is the same source with ``prange`` for the
loops whose iterations write disjoint elements, so it computes the same bits.

The source depends only on the structure of the graph (and on which scalar
constants are nonzero and finite): sizes, offsets and strides come in the
``dims`` array, index maps, constant arrays and scalar constants are kernel
arguments. Identical structure gives identical source, hence one cache entry.
"""


from __future__ import annotations

import numpy as np

from ...primitives import HELPERS
from .emit import BRANCH_WEIGHT, LOOP_WEIGHT, _affine, _dtype_expr, _Region, _size, _Source
from .fuse import fuse_output, zero_lines
from .ir import INLINE_OPS, NumbaBackendError
from .writers import ArrayWriters

__all__ = ["generate", "LOOP_WEIGHT", "BRANCH_WEIGHT"]


class _Codegen(ArrayWriters):
    """Writes one kernel: the materialised nodes in order (array ops in :class:`ArrayWriters`),
    then the ``kernel`` function around them."""

    def __init__(self, nodes, out, live, material, n_inputs, n_lanes, push=None,
                 parallel=False, values=True):
        self.safe = set()
        self.values = values
        self.parallel = parallel
        self.split_work = 0     # iterations of the loops each() writes (prange if parallel)
        self.row_buffer = False     # the serial kernel's output rows go through trow
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
        return self._indexed(self.nodes[k].params["idx"], ix, lambda: self.map_name(k))

    def index_expr(self, arr, ix):
        """``arr[ix]`` for an index array (arithmetic when affine, as in :meth:`map_expr`)."""
        return self._indexed(arr, ix, lambda: self.src.array(arr, "m"))

    def _indexed(self, idx, ix, name):
        """``idx[ix]``: arithmetic if ``idx`` is affine on one contiguous valid range, else a
        read of the array called ``name()`` (asked only then: it becomes a kernel argument)."""
        aff = _affine(idx)
        if aff is None:
            return f"{name()}[{ix}]"
        a, b, lo, hi = aff
        step = "" if a == 1 else f"{self.src.dim(a)} * "
        e = f"{step}{ix} + {self.src.dim(b)}"
        if lo == 0 and hi == idx.size:
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

    def each(self, n):
        """``for i in ...(n):`` of a loop whose iterations write disjoint elements (rows):
        ``prange`` in the parallel kernel, the same body (hence bit-identical) either way."""
        self.split_work += self.src.dims[int(n[1:])]
        return f"for i in {'prange' if self.parallel else 'range'}({n}):"

    def zero_row(self, t, d):
        return ["for l in range(p):", f"    {t}[{d}, l] = 0.0"]

    def store_region(self, k, root, ix, dest, depth, prelude=(), split=False):
        """One element of an elementwise loop: ``v_k[dest] = root(ix)`` and its lane row
        (``split``: the loop is one :meth:`each` wrote)."""
        r = _Region(self)
        v = r.val(root, ix)
        lines = list(prelude) + r.lines
        if not self.no_value(k):
            lines.append(f"val{k}[{dest}] = {v}")
        if self.nodes[k].active and self.nodes[root].active and k == self.out:
            lines += self._row_lines(k, r, v, dest, split and self.parallel)
        elif self.nodes[k].active:
            lines += self.zero_row(f"tan{k}", dest)
            if self.nodes[root].active:
                lines += r.tangent(v, "1.0", lambda lane: f"tan{k}[{dest}, {lane}]")
        self.put(lines, depth)

    def _row_lines(self, k, r, v, dest, private):
        """The output's lane row summed in a local row ``trow``, then stored once: each add
        is then no read-modify-write of the block (through the map of a fused kernel,
        :mod:`.fuse`). Same adds in the same order as into the block: same bits. A
        ``prange`` loop (``private``) allocates its row ``prow`` in its body (Numba hoists
        it out, one per thread); other loops share one ``trow`` allocated at the top."""
        row = "prow" if private else "trow"
        pre = [f"{row} = np.empty(p, np.float64)"] if private else []
        self.row_buffer |= not private
        return (pre + ["for l in range(p):", f"    {row}[l] = 0.0"]
                + r.tangent(v, "1.0", lambda lane: f"{row}[{lane}]")
                + ["for l in range(p):", f"    tan{k}[{dest}, l] = {row}[l]"])

    # -- writers -----------------------------------------------------------
    def alloc(self, k, zeros):
        nd = self.nodes[k]
        d = self.src.dim(nd.size)
        fn = "np.zeros" if zeros else "np.empty"
        size = "0" if self.no_value(k) else d
        self.put([f"val{k} = {fn}({size}, {_dtype_expr(nd.dtype)})"], 1)
        if nd.active:
            self.put([f"tan{k} = {fn}(({d}, p), np.float64)"], 1)
        return d

    def no_value(self, k):
        """Whether node ``k``'s values are not stored: the output of a kernel asked for its
        lanes only, written by plain stores (elementwise, concatenation, scatter) or
        pushed sums (nothing reads the output's values in the kernel)."""
        return (k == self.out and not self.values
                and (k in self.push or self.nodes[k].op in ("ew", "map", "concat", "scatter")))

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
            n = self.src.dim(size)
            # one destination map: injective, the cells write disjoint elements
            self.put([self.each(n) if len(dests) == 1 else f"for i in range({n}):"], 1)
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
                          "    pass" if self.no_value(k) else f"    val{k}[{dd}] += {v}"]
                if active and act:
                    lines += ["    " + ln for ln in
                              r.tangent(v, "1.0", lambda lane, dd=dd: f"tan{k}[{dd}, {lane}]")]
            self.put(lines, 2)

    def _w_inline(self, k):
        d = self.alloc(k, False)
        self.put([self.each(d)], 1)
        self.store_region(k, k, "i", "i", 2, split=True)

    def generate(self, budget=None):
        order = [k for k in range(len(self.nodes)) if self.live[k] and self.material[k]
                 and self.nodes[k].op not in ("input", "const", "scalar")]
        start = 0
        self.weight = 0
        out_start = len(self.body)
        for k in order:
            if k == self.out:
                out_start = len(self.body)
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
        fused = fuse_output(self.body[out_start:], self.out) \
            if out.active and self.out in order else None
        if fused is not None:     # the lane block goes through fmap into fdata (.fuse)
            zero = zero_lines(fused[1])
            if self.parallel:       # zeroing fdata: disjoint cells (not worth a split alone)
                zero = [ln.replace("for fq in range(", "for fq in prange(") for ln in zero]
            self.body[out_start:] = ["    " + ln for ln in zero] + fused[0]
            ret_t = "fdata"
        elif not out.active:
            tail.append(f"tout = np.zeros(({self.src.dim(out.size)}, p), np.float64)")
            ret_t = "tout"
        tail.append(f"return val{self.out}, {ret_t}")
        self.put(tail, 1)
        self.weight += _size(self.body[start:])
        self.fused = fused is not None
        params = [f"x{i}" for i in range(self.n_inputs)] + ["colors", "dims"] \
            + self.src.arg_names + (["fmap", "fdata"] if self.fused else [])
        head = ["import math", "import numpy as np",
                "from numba import njit" + (", prange" if self.parallel else ""), ""]
        text = "\n".join(self.body)
        for name, helper in HELPERS.items():
            if name + "(" in text:
                head += helper.strip("\n").split("\n") + [""]
        flags = ", parallel=True" if self.parallel else ""
        head += ["", f"@njit(cache=True, error_model='numpy', nogil=True{flags})",
                 f"def kernel({', '.join(params)}):"]
        head += [f"    p = {self.n_lanes}"]   # a literal: the lane loops unroll
        head += [f"    d{i} = dims[{i}]" for i in range(len(self.src.dims))]
        if self.row_buffer:
            head += ["    trow = np.empty(p, np.float64)"]
        return "\n".join(head + self.body) + "\n"


def generate(nodes, out, live, material, n_inputs, n_lanes, push=None, budget=None,
             parallel=False, values=True):
    """Source of ``kernel(x0, ..., colors, dims, *args) -> (values, lanes)`` for ``n_lanes`` lanes.

    Returns ``(source, dims, args, weight, fused, split)``: the int64 ``dims`` array,
    the list of argument values to pass after ``dims``, the kernel's size (lines
    plus :data:`LOOP_WEIGHT` per loop and :data:`BRANCH_WEIGHT` per branch) and
    whether the kernel writes its lane block through a map (:mod:`.fuse`: two
    more arguments ``fmap``, ``fdata``; it returns ``(values, fdata)``). Raises
    :class:`NumbaBackendError` (stage ``"size"``) as soon as the size exceeds
    ``budget``; ``split``: the iterations of the loops a parallel kernel splits (0: it
    would split nothing). ``parallel``: the loops whose iterations write disjoint elements
    (elementwise nodes, concatenations, the copy of a scatter's base, zeroing the fused
    output) are ``prange`` loops of a ``parallel=True`` kernel; every other loop (the
    reductions, pushed sums, scatters) stays serial, so its results are bit-identical
    to the serial kernel's at any number of threads. ``values=False``: the output's
    values need not be stored (lanes only; the returned values may then be empty).
    """
    cg = _Codegen(nodes, out, live, material, n_inputs, n_lanes, push, parallel, values)
    source = cg.generate(budget)
    return (source, np.array(cg.src.dims, dtype=np.int64), cg.src.arg_values, cg.weight,
            cg.fused, cg.split_work)
