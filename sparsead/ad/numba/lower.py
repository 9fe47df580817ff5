"""Lowering a traced graph to the Numba backend's kernel IR, and deciding what to materialise.

Fed by a :class:`~sparsead.tracing.Graph`; feeds the planner (:mod:`.plan`) and
the source generator (:mod:`.codegen`) with the kernel IR of :mod:`.ir`.
Elementwise primitives become ``ew`` nodes with the registry row's compiled
template; array primitives are lowered by :class:`~.lower_arrays.ArrayLowering`:
``reshape`` is an alias; ``gather``, ``transpose``,
  broadcasting and concatenations of pieces read from one source all become
  maps, and a map of a map is composed into one, so index arithmetic costs one
  indirection;
every other array primitive is materialised.

Constants are folded (any node whose inputs are all constant is evaluated with
numpy here). Activity (whether a node carries tangent lanes) is propagated from
the differentiated input. Scalar factors are folded while lowering (``c1 * (c2 * x)`` is one multiply).
"""


from __future__ import annotations

import numpy as np

from ...primitives import REGISTRY, broadcast_map, IDENTITY, power_template
from .ir import LEAF_OPS, KNode, NumbaBackendError, contiguous as _c
from .lower_arrays import ArrayLowering

__all__ = ["lower"]


class _Lowering(ArrayLowering):
    """Lowers one graph: a method ``_p`` per primitive ``p`` with its own rule (the array
    primitives' in :class:`ArrayLowering`), the registry's template for the others."""

    def __init__(self, graph, wrt):
        self.graph = graph
        self.wrt = wrt
        self.nodes: list[KNode] = []

    def add(self, node):
        self.nodes.append(node)
        return len(self.nodes) - 1

    # -- constants -----------------------------------------------------------
    def is_const(self, k):
        return self.nodes[k].op in ("const", "scalar")

    def value(self, k):
        nd = self.nodes[k]
        if nd.op == "scalar":
            return np.full(nd.shape, nd.params["value"], dtype=nd.dtype)
        return nd.params["value"].reshape(nd.shape)

    def const(self, value, shape=None, dtype=None):
        value = np.asarray(value)
        if dtype is not None:
            value = value.astype(dtype, copy=False)
        shape = tuple(value.shape) if shape is None else tuple(shape)
        flat = value.reshape(-1)
        if flat.size >= 1 and (flat.size == 1 or (np.all(flat == flat[0])
                                                  and not np.isnan(flat[0]).any())):
            return self.add(KNode("scalar", [], shape, value.dtype,
                                  params={"value": flat[0].item() if value.dtype.kind in "fiub"
                                          else flat[0]}))
        return self.add(KNode("const", [], shape, value.dtype, params={"value": _c(flat)}))

    # -- maps ------------------------------------------------------------------
    def make_map(self, src, idx, shape, fill=0.0):
        """A node reading ``src.flat[idx]`` (``-1``: ``fill``, a scalar or per-element array)."""
        s = self.nodes[src]
        idx = _c(np.asarray(idx).reshape(-1), np.int64)
        neg = idx < 0
        has_neg = bool(neg.any())
        dtype = s.dtype
        if not has_neg:
            fill = None
        elif np.ndim(fill):     # per element, in the order of idx (whatever shape it came in)
            fill = np.asarray(fill).reshape(-1)
        if s.size == 0 or self.is_const(src):
            flat = self.value(src).reshape(-1)
            out = flat[np.maximum(idx, 0)] if flat.size else np.zeros(idx.size, dtype)
            if has_neg:
                out = np.where(neg, np.broadcast_to(np.asarray(fill, dtype), idx.shape), out)
            return self.const(out.reshape(shape), dtype=dtype)
        if s.op == "map":
            m1 = s.params["idx"]
            if m1 is None:
                m1 = np.arange(s.size, dtype=np.int64)
            f1 = s.params["fill"]
            new = np.where(neg, -1, m1[np.maximum(idx, 0)])
            if f1 is not None or has_neg:
                inner_neg = ~neg & (new < 0)
                fo = np.broadcast_to(np.asarray(0.0 if fill is None else fill, dtype), idx.shape)
                if f1 is None:
                    fi = np.zeros(idx.shape, dtype)
                else:
                    fi = np.broadcast_to(np.asarray(f1, dtype), m1.shape)[np.maximum(idx, 0)]
                fill = np.where(neg, fo, np.where(inner_neg, fi, fo))
            return self.make_map(s.ins[0], new, shape, fill)
        if not has_neg and idx.size == s.size and np.array_equal(idx, np.arange(s.size)):
            if tuple(shape) == s.shape:
                return src
            return self.add(KNode("map", [src], tuple(shape), dtype, s.active,
                                  {"idx": None, "fill": None}))
        if fill is not None:
            f = np.broadcast_to(np.asarray(fill, dtype), idx.shape)
            fill = f.reshape(-1)[0].item() if np.all(f == f.reshape(-1)[0]) else _c(f.reshape(-1))
        return self.add(KNode("map", [src], tuple(shape), dtype, s.active,
                              {"idx": idx, "fill": fill}))

    # -- the walk --------------------------------------------------------------
    def run(self):
        g = self.graph
        live = g.live()
        self.of = {}
        for gid, nd in enumerate(g.nodes):
            if not live[gid]:
                continue
            try:
                self.of[gid] = self.lower_node(nd)
            except NumbaBackendError:
                raise
            except NotImplementedError as exc:
                raise NumbaBackendError("lowering", str(exc), nd.prim) from exc
            except Exception as exc:   # a lowering bug: reported, the interpreter takes over
                raise NumbaBackendError("lowering", f"{type(exc).__name__}: {exc}",
                                        nd.prim) from exc
        out = self.of[g.outputs[0]]
        if self.nodes[out].op in LEAF_OPS:
            o = self.nodes[out]
            out = self.add(KNode("ew", [out], o.shape, o.dtype, o.active,
                                 {"prim": "positive", "rule": _rule("positive")}))
        return self.nodes, out

    def lower_node(self, nd):
        prim = nd.prim
        if prim == "input":
            k = nd.params["index"]
            active = k == self.wrt and np.issubdtype(nd.dtype, np.inexact)
            return self.add(KNode("input", [], nd.shape, nd.dtype, active, {"index": k}))
        if prim == "const":
            return self.const(np.asarray(nd.params["value"]).reshape(nd.shape), dtype=nd.dtype)
        ins = [self.of[i] for i in nd.inputs]
        if ins and all(self.is_const(k) for k in ins):
            with np.errstate(all="ignore"):
                val = REGISTRY[prim].impl(*[self.value(k) for k in ins], **nd.params)
            return self.const(np.asarray(val).reshape(nd.shape), dtype=nd.dtype)
        handler = getattr(self, "_" + prim, None)
        if handler is not None:
            return handler(nd, ins)
        if REGISTRY[prim].scalar is not None:
            return self._elementwise(nd, ins, REGISTRY[prim].scalar)
        raise NumbaBackendError("lowering", "the Numba backend has no rule for it", prim)

    def _broadcast_in(self, k, shape):
        nd = self.nodes[k]
        if nd.shape == tuple(shape) or nd.size == 1 or nd.op == "scalar":
            return k
        m = broadcast_map(nd.shape, shape)
        if m is IDENTITY:
            return k
        return self.make_map(k, m, shape)

    def _elementwise(self, nd, ins, rule):
        ins = [self._broadcast_in(k, nd.shape) for k in ins]
        if nd.dtype.kind == "f" and nd.dtype == np.float64:
            if rule is _rule("multiply"):
                k = self._fold_multiply(nd, ins[0], ins[1])
                if k is not None:
                    return k
            elif rule is _rule("negative"):
                sc = self._scale_of(ins[0], nd.shape)
                if sc is not None:
                    return self._scaled(nd, -sc[0], sc[1])
        active = any(self.nodes[k].active and rule.partials[s] is not None
                     for s, k in enumerate(ins))
        return self.add(KNode("ew", ins, nd.shape, nd.dtype, active,
                              {"prim": nd.prim, "rule": rule}))

    # -- scalar factors: c1 * (c2 * x) -> (c1 c2) * x, pulled out of products --------
    def _scale_of(self, k, shape):
        """``(c, x)`` if node ``k`` is ``c * x`` (or ``-x``) with a scalar ``c`` and ``x`` of ``shape``."""
        n = self.nodes[k]
        if n.op != "ew" or n.dtype != np.float64 or n.shape != tuple(shape):
            return None
        rule = n.params["rule"]
        if rule is _rule("negative"):
            return -1.0, n.ins[0]
        if rule is _rule("multiply"):
            a, b = n.ins
            for s, o in ((a, b), (b, a)):
                sn, on = self.nodes[s], self.nodes[o]
                if sn.op == "scalar" and sn.dtype.kind in "fiu" and on.op != "scalar" \
                        and on.shape == n.shape and on.dtype == np.float64:
                    return float(sn.params["value"]), o
        return None

    def _scaled(self, nd, c, x):
        """The node ``c * x`` for ``nd`` (also when ``c == 1``: the structure, hence the
        kernel source, must not depend on the constants' values)."""
        s = self.add(KNode("scalar", [], (), np.dtype(np.float64), params={"value": c}))
        return self.add(KNode("ew", [s, x], nd.shape, nd.dtype, self.nodes[x].active,
                              {"prim": "multiply", "rule": _rule("multiply")}))

    def _fold_multiply(self, nd, a, b):
        """``a * b`` with scalar factors merged and moved outwards; ``None``: no factor.

        Constants then meet and fold (``5 * (2 * x)`` is one multiply), in the values
        and in every tangent sweep. Agrees with numpy to rounding.
        """
        A, B = self.nodes[a], self.nodes[b]
        for s, o in ((a, b), (b, a)):
            sn, on = self.nodes[s], self.nodes[o]
            if sn.op == "scalar" and sn.dtype.kind in "fiu" and on.op != "scalar" \
                    and on.shape == nd.shape and on.dtype == np.float64 \
                    and np.isfinite(float(sn.params["value"])):
                c = float(sn.params["value"])
                sc = self._scale_of(o, nd.shape)
                if sc is not None and np.isfinite(c * sc[0]):
                    return self._scaled(nd, c * sc[0], sc[1])
                return None
        if A.shape != nd.shape or B.shape != nd.shape:
            return None
        sa, sb = self._scale_of(a, nd.shape), self._scale_of(b, nd.shape)
        if sa is None and sb is None:
            return None
        ca, xa = sa if sa is not None else (1.0, a)
        cb, xb = sb if sb is not None else (1.0, b)
        if not np.isfinite(ca * cb):
            return None
        active = self.nodes[xa].active or self.nodes[xb].active
        m = self.add(KNode("ew", [xa, xb], nd.shape, nd.dtype, active,
                           {"prim": "multiply", "rule": _rule("multiply")}))
        return self._scaled(nd, ca * cb, m)

    def _power(self, nd, ins):
        """``x ** e``: the numpy rule's special cases for a scalar ``e``, float exponents only.

        Exponents are float literals or float casts: Numba computes ``float ** int``
        by repeated multiplication and raises ``ZeroDivisionError`` for a negative
        ``int`` at 0, where numpy gives ``inf``. The partials are those of
        the numpy partials of the ``power`` row (:func:`~sparsead.primitives.power_template`) (``x ** 0`` is constant, ``d/dy`` is 0 for
        ``x <= 0``).
        """
        e = self.nodes[ins[1]]
        exponent = float(e.params["value"]) if e.op == "scalar" else None
        return self._elementwise(nd, ins, power_template(np.issubdtype(nd.dtype, np.inexact),
                                                         exponent))

    def _strong_multiply(self, nd, ins):
        """A strong product with a finite nonzero constant factor is a plain product (then
        folded with other scalar factors)."""
        for k in ins:
            n = self.nodes[k]
            if n.op == "scalar" and n.dtype.kind in "fiu" and np.isfinite(n.params["value"]) \
                    and n.params["value"] != 0:
                return self._elementwise(nd, ins, _rule("multiply"))
        return self._elementwise(nd, ins, _rule("strong_multiply"))

    def _divide(self, nd, ins):
        d = self.nodes[ins[1]]
        inv = None
        if d.op == "scalar" and np.issubdtype(nd.dtype, np.floating):
            c = float(d.params["value"])
            with np.errstate(all="ignore"):
                inv = np.float64(1.0) / np.float64(c)
            if not (np.isfinite(inv) and abs(inv) >= np.finfo(np.float64).tiny):
                inv = None
        if inv is not None:
            # x / c -> x * (1/c): a multiply instead of a division (agrees to rounding while
            # 1/c is a normal number)
            inv = self.add(KNode("scalar", [], d.shape, np.dtype(np.float64),
                                 params={"value": float(inv)}))
            return self._elementwise(nd, [ins[0], inv], _rule("multiply"))
        return self._elementwise(nd, ins, _rule("divide"))


def _rule(prim):
    """The compiled scalar template of an elementwise primitive (the registry's row)."""
    return REGISTRY[prim].scalar


def lower(graph, wrt):
    """Lower ``graph`` (differentiated in input ``wrt``); returns ``(nodes, out)``."""
    return _Lowering(graph, wrt).run()
