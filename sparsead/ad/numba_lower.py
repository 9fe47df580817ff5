"""Lowering a traced graph to the Numba backend's kernel IR, and deciding what to materialise.

Fed by a :class:`~sparsead.tracing.Graph`; feeds the source generator in
``numba_codegen.py``. The kernel IR is a flat list of :class:`KNode` whose
``op`` is one of

* ``input`` / ``const`` / ``scalar`` -- leaves (``scalar``: one value broadcast
  over any shape, passed to the kernel as a scalar argument);
* ``ew`` -- an elementwise primitive over same-shape (or size-1) inputs, with
  its :class:`~sparsead.primitives.ScalarRule` (the registry row's ``scalar``);
* ``map`` -- ``out.flat[i] = src.flat[idx[i]]`` (``idx[i] == -1``: a fill value,
  scalar or per element). ``reshape`` is an alias; ``gather``, ``transpose``,
  broadcasting and concatenations of pieces read from one source all become
  maps, and a map of a map is composed into one, so index arithmetic costs one
  indirection;
* ``concat``, ``reduce_sum``, ``reduce_prod``, ``reduce_max``, ``reduce_min``,
  ``cumsum``, ``cumprod``, ``scatter``, ``spmatmul``, ``einsum`` -- always
  materialised.

Constants are folded (any node whose inputs are all constant is evaluated with
numpy here). Activity (whether a node carries tangent lanes) is propagated from
the differentiated input. :func:`plan` then chooses the materialised nodes:
the output, the non-fusible ops, operands that products must read as arrays,
and nodes used several times whose recomputation would cost more than a
threshold; every other ``ew``/``map`` node is inlined into the loops of its
consumers. :func:`plan_push` picks materialised nodes that are sums of
injectively mapped terms sharing work per cell (a gradient assembled from
per-cell contributions): they are written by looping over the cells and adding
each term into its element, instead of recomputing every cell once per term.
Scalar factors are folded while lowering (``c1 * (c2 * x)`` is one multiply).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._errors import SparseadError
from ..primitives import IDENTITY, REGISTRY, ScalarRule, broadcast_map, power_template

__all__ = ["KNode", "lower", "plan", "plan_push", "INLINE_OPS", "LEAF_OPS", "NumbaBackendError"]


class NumbaBackendError(SparseadError, NotImplementedError):
    """The Numba backend cannot serve a graph; ``stage`` (lowering, size, codegen, load,
    compile, check), the ``primitive`` at fault if known, and the ``reason``."""

    def __init__(self, stage, reason, primitive=None):
        self.stage, self.reason, self.primitive = stage, reason, primitive
        where = f"primitive {primitive!r}" if primitive else f"{stage} stage"
        super().__init__(f"{where}: {reason}")

INLINE_OPS = ("ew", "map")
LEAF_OPS = ("input", "const", "scalar")
_MATERIAL_OPS = ("concat", "reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "cumsum",
                 "cumprod", "scatter", "spmatmul", "einsum")
#: recomputing a node used by several consumers is allowed up to this cost (see _own_cost)
RECOMPUTE_LIMIT = 1000
#: an inlined expression nests at most this deep (deeper: the node is materialised), which
#: bounds the code generator's recursion and the size of one loop body
INLINE_DEPTH = 48


@dataclass(eq=False)
class KNode:
    op: str
    ins: list
    shape: tuple
    dtype: np.dtype
    active: bool = False
    params: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def _c(a, dtype=None):
    return np.ascontiguousarray(a, dtype=dtype)


class _Lowering:
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

    def _reduce_sum(self, nd, ins):
        return self._reduction(nd, ins, "reduce_sum")

    def _reduce_max(self, nd, ins):
        return self._reduction(nd, ins, "reduce_max")

    def _reduce_min(self, nd, ins):
        return self._reduction(nd, ins, "reduce_min")

    def _reduce_prod(self, nd, ins):
        return self._reduction(nd, ins, "reduce_prod")

    def _cumprod(self, nd, ins):
        return self._cumulative(nd, ins, "cumprod")

    def _cumsum(self, nd, ins):
        return self._cumulative(nd, ins, "cumsum")

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


def _rule(prim):
    """The compiled scalar template of an elementwise primitive (the registry's row)."""
    return REGISTRY[prim].scalar


def lower(graph, wrt):
    """Lower ``graph`` (differentiated in input ``wrt``); returns ``(nodes, out)``."""
    return _Lowering(graph, wrt).run()


_CHEAP = ("{0} + {1}", "{0} - {1}", "{0} * {1}", "-{0}", "{0}", "{0} * {0}")


def _own_cost(nd):
    if nd.op == "map":
        return 1
    rule = nd.params["rule"]
    return 1 if rule.value in _CHEAP or "np." not in rule.value else 6


def plan(nodes, out):
    """Choose the materialised nodes; returns ``(live, material)`` boolean lists."""
    n = len(nodes)
    live = [False] * n
    live[out] = True
    for k in range(n - 1, -1, -1):
        if live[k]:
            for i in nodes[k].ins:
                live[i] = True
    uses = [0] * n
    for k in range(n):
        if live[k]:
            for i in set(nodes[k].ins):
                uses[i] += 1
    material = [False] * n
    material[out] = True
    for k in range(n):
        if not live[k]:
            continue
        nd = nodes[k]
        if nd.op in _MATERIAL_OPS:
            material[k] = True
        if nd.op in ("spmatmul", "einsum"):     # operands read as arrays (through a map at most)
            for i in nd.ins:
                src = nodes[i].ins[0] if nodes[i].op == "map" else i
                if nodes[src].op in INLINE_OPS:
                    material[src] = True
    cost = [0] * n
    depth = [0] * n
    for k in range(n):
        nd = nodes[k]
        if not live[k] or nd.op not in INLINE_OPS:
            continue
        inlined = [i for i in set(nd.ins) if nodes[i].op in INLINE_OPS and not material[i]]
        c = _own_cost(nd) + sum(cost[i] for i in inlined)
        cost[k] = c
        depth[k] = 1 + max((depth[i] for i in inlined), default=0)
        if (uses[k] >= 2 and c > RECOMPUTE_LIMIT) or depth[k] >= INLINE_DEPTH:
            material[k] = True
            cost[k] = depth[k] = 0
    return live, material


#: push a materialised sum of mapped terms when pulling costs this many times more (the
#: estimate overcharges pushing: the Hessian of sum(sqrt(1 + diff(x)**2)) is estimated
#: at 1.35 and measured 1.5x faster pushed, n = 1e6)
PUSH_GAIN = 1.2


def _zero_fill(fill):
    if fill is None:
        return True
    return not np.any(np.asarray(fill))


def _push_terms(nodes, material, k):
    """Split node ``k`` into ``[(root, idx)]`` with ``k.flat[i] = sum_t root_t.flat[idx_t[i]]``.

    Adds of same-shape operands are split and index maps with a zero fill are
    composed into ``idx`` (``-1``: the term is 0 there). ``None`` when ``k`` is
    not such a sum.
    """
    n = nodes[k].size
    terms = []
    stack = [(k, np.arange(n, dtype=np.int64))]
    while stack:
        j, idx = stack.pop()
        nd = nodes[j]
        inline = j == k or (nd.op in INLINE_OPS and not material[j])
        if inline and nd.op == "map" and _zero_fill(nd.params["fill"]):
            m = nd.params["idx"]
            if m is not None:
                idx = np.where(idx >= 0, m[np.maximum(idx, 0)], -1)
            stack.append((nd.ins[0], idx))
        elif inline and nd.op == "ew" and nd.params["prim"] == "add" \
                and all(nodes[i].size == nd.size and nodes[i].op != "scalar" for i in nd.ins):
            for i in nd.ins:
                stack.append((i, idx))
        else:
            if nd.op == "scalar" or j == k:
                return None
            terms.append((j, idx))
    return terms


def _union_cost(nodes, material, roots):
    seen = set()
    total = 0
    stack = list(roots)
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        nd = nodes[j]
        if nd.op in INLINE_OPS and not material[j]:
            total += _own_cost(nd)
            stack.extend(nd.ins)
        elif nd.op not in ("scalar",):
            total += 1          # a leaf read
    return total


def plan_push(nodes, out, live, material):
    """Materialised sums of mapped terms to write by pushing (scattering) instead of pulling.

    A node ``k = sum_t map_t(E_t)`` (e.g. a gradient assembled from per-cell
    contributions) is computed per output element by evaluating each ``E_t`` at
    its own index: terms that share subexpressions at the same cell (the cell's
    square roots, its corner reads) recompute them once per term. Pushing loops
    over the cells instead, evaluates the shared expression once and adds each
    term (value and lane row) into the element it lands on; every map must read
    each cell at most once (an injective map), so the destination is one index.

    Returns ``{k: [(root_size, [(dest, [roots])])]}``: per loop over a root
    domain, the destinations (``dest[c]``: the element of ``k`` cell ``c`` adds
    into, ``-1``: none) and the roots summed into each.
    """
    push = {}
    for k in range(len(nodes)):
        nd = nodes[k]
        if not (live[k] and material[k]) or nd.op not in INLINE_OPS \
                or nd.dtype.kind != "f" or nd.size < 2:
            continue
        terms = _push_terms(nodes, material, k)
        if terms is None or len(terms) < 2:
            continue
        groups: dict = {}
        ok = True
        for root, idx in terms:
            r = nodes[root]
            if r.dtype.kind != "f" or r.size < 2:
                ok = False
                break
            valid = idx >= 0
            hits = np.bincount(idx[valid], minlength=r.size)
            if hits.size and hits.max() > 1:
                ok = False
                break
            dest = np.full(r.size, -1, np.int64)
            dest[idx[valid]] = np.flatnonzero(valid)
            by_dest = groups.setdefault(r.size, {})
            entry = by_dest.setdefault(dest.tobytes(), (dest, []))
            entry[1].append(root)
        if not ok:
            continue
        pull = 0
        for root, _ in terms:
            pull += _union_cost(nodes, material, [root])
        pull *= nd.size
        cost = nd.size
        for size, by_dest in groups.items():
            roots = [r for _, rs in by_dest.values() for r in rs]
            cost += size * (_union_cost(nodes, material, roots) + 3 * len(by_dest))
        if pull > PUSH_GAIN * cost:
            push[k] = [(size, list(by_dest.values())) for size, by_dest in groups.items()]
    return push
