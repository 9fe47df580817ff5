"""Loop nests of the materialised array ops of a kernel: concat, scatter, reductions,
cumulative sums and products, sparse and dense products.

A mixin of :class:`~sparsead.ad.numba.codegen._Codegen`, which calls
``_w_<op>(k)`` to write node ``k``; each writes the values and the lane rows of
its node (the loop bodies through :class:`~.emit._Region`).
"""

from __future__ import annotations

import numpy as np

from .emit import _dtype_expr, _product, _Region, smul

__all__ = ["ArrayWriters"]


class ArrayWriters:
    """``_w_concat`` ... ``_w_einsum``: one writer per materialised op."""

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
            self.put([self.each(n)], 1)
            if lead == 1:       # the piece is one contiguous run of the output
                off = self.src.dim(offset * post)
                dest, prelude = "dd", [f"dd = {off} + i"]
            else:
                sl = [slice(None)] * len(nd.shape)
                sl[axis] = slice(offset, offset + p.shape[axis])
                dm = self.src.array(pos[tuple(sl)].reshape(-1), "m")
                dest, prelude = "dd", [f"dd = {dm}[i]"]
            self.store_region(k, piece, "i", dest, 2, prelude, split=True)
            offset += p.shape[axis]

    def _w_scatter(self, k):
        nd = self.nodes[k]
        self.alloc(k, False)
        base, vals = nd.ins
        n = self.src.dim(nd.size)
        self.put([self.each(n)], 1)
        self.store_region(k, base, "i", "i", 2, split=True)
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

    def _grouped(self, k):
        """What a max/min/prod reduction's loop needs: node, buffer, input, its size, the
        group map (``None``: one group), the group expression and its read per element."""
        nd = self.nodes[k]
        d = self.alloc(k, False)
        x = nd.ins[0]
        group = nd.params["group"]
        pre = [] if group is None else [f"g = {self.src.array(group, 'm')}[i]"]
        return (nd, d, x, self.src.dim(self.nodes[x].size), group,
                "0" if group is None else "g", pre)

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
        nd, d, x, n, group, g, pre = self._grouped(k)
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
        nd, d, x, n, group, g, pre = self._grouped(k)
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
