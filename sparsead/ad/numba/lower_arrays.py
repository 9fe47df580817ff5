"""Lowering of the array primitives (layout, reductions, products) to kernel nodes.

A mixin of :class:`~sparsead.ad.numba.lower._Lowering`, which dispatches a
graph node of primitive ``p`` to its method ``_p``: layout operations become
index ``map`` nodes (composed with the maps they read), the rest become
materialised nodes carrying the raw arrays their loops need.
"""

from __future__ import annotations

from functools import partialmethod

import numpy as np

from ...primitives import IDENTITY, ScalarRule, broadcast_map
from .ir import KNode, contiguous as _c

__all__ = ["ArrayLowering"]


class ArrayLowering:
    """``_cast``, ``_reshape`` ... ``_einsum``: one method per array primitive."""

    def _cast(self, nd, ins):
        dt = np.dtype(nd.params["dtype"])
        src = self.nodes[ins[0]]
        if dt.kind not in "biuf":
            raise NotImplementedError(f"the Numba backend does not cast to {dt}")
        name = "bool_" if dt.kind == "b" else dt.name
        d = "1" if (dt.kind == "f" and np.issubdtype(src.dtype, np.inexact)) else None
        return self._elementwise(nd, ins, ScalarRule(f"np.{name}({{0}})", (d,)))

    def _reshape(self, nd, ins):
        s = self.nodes[ins[0]]
        if s.op == "scalar":
            return self.add(KNode("scalar", [], nd.shape, s.dtype, params=dict(s.params)))
        if s.op == "const":
            return self.add(KNode("const", [], nd.shape, s.dtype, params=dict(s.params)))
        return self.make_map(ins[0], np.arange(s.size), nd.shape)

    def _transpose(self, nd, ins):
        s = self.nodes[ins[0]]
        m = np.arange(s.size, dtype=np.int64).reshape(s.shape).transpose(nd.params["axes"])
        return self.make_map(ins[0], m, nd.shape)

    def _gather(self, nd, ins):
        return self.make_map(ins[0], nd.params["index"], nd.shape, nd.params.get("fill", 0.0))

    def _concatenate(self, nd, ins):
        axis = nd.params["axis"]
        src = None
        idxs, fills = [], []
        for k in ins:
            p = self.nodes[k]
            if p.op in ("const", "scalar"):
                idxs.append(np.full(p.shape, -1, np.int64))
                fills.append(self.value(k).astype(nd.dtype))
                continue
            s, m, f = (p.ins[0], p.params["idx"], p.params["fill"]) if p.op == "map" \
                else (k, None, None)
            if m is None:
                m = np.arange(p.size, dtype=np.int64)
            if (src is not None and s != src) or self.nodes[s].dtype != nd.dtype:
                src = -1
                break
            src = s
            idxs.append(m.reshape(p.shape))
            fills.append(np.broadcast_to(np.asarray(0.0 if f is None else f, nd.dtype),
                                         (p.size,)).reshape(p.shape))
        if src is not None and src >= 0:
            idx = np.concatenate(idxs, axis=axis)
            fill = np.concatenate(fills, axis=axis)
            return self.make_map(src, idx, nd.shape, fill)
        ins = [self._broadcast_in(k, self.nodes[k].shape) for k in ins]
        active = any(self.nodes[k].active for k in ins)
        return self.add(KNode("concat", ins, nd.shape, nd.dtype, active, {"axis": axis}))

    def _reduction(self, nd, ins, op):
        x = self.nodes[ins[0]]
        axes = tuple(a % max(len(x.shape), 1) for a in nd.params["axes"])
        if x.size == 1 and nd.size == 1 and op in ("reduce_sum", "reduce_prod") \
                and x.dtype == nd.dtype:
            return self.make_map(ins[0], np.zeros(1, np.int64), nd.shape)
        group = None
        if nd.size != 1:
            out_shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
            g = np.arange(int(np.prod(out_shape, dtype=np.int64)), dtype=np.int64)
            g = np.expand_dims(g.reshape(out_shape), tuple(sorted(axes))) if axes else g
            group = _c(np.broadcast_to(g.reshape(g.shape), x.shape).reshape(-1))
        return self.add(KNode(op, ins, nd.shape, nd.dtype, x.active, {"group": group}))

    _reduce_sum = partialmethod(_reduction, op="reduce_sum")
    _reduce_max = partialmethod(_reduction, op="reduce_max")
    _reduce_min = partialmethod(_reduction, op="reduce_min")
    _reduce_prod = partialmethod(_reduction, op="reduce_prod")

    def _cumulative(self, nd, ins, op):
        x = self.nodes[ins[0]]
        axis = nd.params["axis"]
        if axis is None:
            shape = (x.size,)
            axis = 0
        else:
            shape = x.shape
            axis = axis % len(shape)
        pre = int(np.prod(shape[:axis], dtype=np.int64))
        post = int(np.prod(shape[axis + 1:], dtype=np.int64))
        return self.add(KNode(op, ins, nd.shape, nd.dtype, x.active,
                              {"pre": pre, "len": shape[axis], "post": post}))

    _cumsum = partialmethod(_cumulative, op="cumsum")
    _cumprod = partialmethod(_cumulative, op="cumprod")

    def _scatter(self, nd, ins):
        index = nd.params["index"]
        vals = self.nodes[ins[1]]
        bm = None
        if vals.shape != tuple(index.shape) and vals.size != 1 and vals.op != "scalar":
            m = broadcast_map(vals.shape, index.shape)
            bm = None if m is IDENTITY else _c(m, np.int64)
        active = self.nodes[ins[0]].active or vals.active
        return self.add(KNode("scatter", ins, nd.shape, nd.dtype, active,
                              {"index": _c(index.reshape(-1), np.int64), "vmap": bm}))

    def _spmatmul(self, nd, ins):
        x = self.nodes[ins[0]]
        A = nd.params["matrix"].tocsr()
        A.sum_duplicates()
        axis = nd.params["axis"] % len(x.shape)
        pre = int(np.prod(x.shape[:axis], dtype=np.int64))
        post = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
        return self.add(KNode("spmatmul", ins, nd.shape, nd.dtype, x.active, {
            "indptr": _c(A.indptr, np.int64), "indices": _c(A.indices, np.int64),
            "data": _c(A.data, np.float64), "pre": pre, "rows": A.shape[0],
            "cols": A.shape[1], "post": post}))

    def _einsum(self, nd, ins):
        active = any(self.nodes[k].active for k in ins)
        return self.add(KNode("einsum", ins, nd.shape, nd.dtype, active,
                              {"subscripts": nd.params["subscripts"],
                               "strong": bool(nd.params.get("strong", False))}))
