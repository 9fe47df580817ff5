"""Emitting a re-rolled graph: batched expressions and combiners (continues ``reroll``).

:func:`group` writes one group's combiner with its rolled items: each batch of
items with equal forms becomes one batched expression (a leading axis of length
K: elementwise primitives broadcast over it, gathers address the stacked
sources, layout primitives and reductions shift their axes by one), then one
``scatter`` (stacked indices), one ``reduce_sum``/``reduce_prod`` combined with
the accumulator, or a reshape into the concatenation. Unrolled items are copied
as they were. The analysis that decides what rolls is in
:mod:`sparsead.tracing.reroll`.
"""

from __future__ import annotations

import math

import numpy as np

from .graph import Graph
from ..primitives import REGISTRY

__all__ = ["Emitter", "group"]

_ACCUMULATE = {"add": "reduce_sum", "subtract": "reduce_sum", "multiply": "reduce_prod"}


class Emitter:
    """Builds the re-rolled graph: copies of old nodes and new batched nodes."""

    def __init__(self, graph):
        self.old = graph.nodes
        self.g = Graph()
        self.new_id = [-1] * len(graph.nodes)

    def id(self, j):
        """The new id of old node ``j`` (constants are copied when first used)."""
        i = self.new_id[j]
        if i < 0:
            nd = self.old[j]
            i = self.new_id[j] = self.g.add("const", (), nd.params, nd.shape, nd.dtype)
        return i

    def copy(self, u, inputs=None):
        nd = self.old[u]
        ins = [self.id(j) for j in nd.inputs] if inputs is None else inputs
        return self.g.add(nd.prim, ins, nd.params, nd.shape, nd.dtype)

    def new(self, prim, inputs, **params):
        """A new node; on constants only it is evaluated (so rules keep seeing the values)."""
        nodes = self.g.nodes
        shape, dtype = REGISTRY[prim].shape([(nodes[i].shape, nodes[i].dtype) for i in inputs],
                                            **params)
        if all(nodes[i].prim == "const" for i in inputs):
            with np.errstate(all="ignore"):
                value = REGISTRY[prim].impl(*[nodes[i].params["value"] for i in inputs], **params)
            return self.const(np.asarray(value).reshape(shape).astype(dtype, copy=False))
        return self.g.add(prim, inputs, params, shape, dtype)

    def const(self, value):
        value = np.asarray(value)
        return self.g.add("const", (), {"value": value}, value.shape, value.dtype)

    def shape(self, i):
        return self.g.nodes[i].shape


def _batch_to(em, v, K):
    """An invariant value ``(id, False)`` broadcast to a batched one of shape ``(K,) + shape``."""
    i, batched = v
    if batched:
        return i
    shape = em.shape(i)
    pos = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    index = np.ascontiguousarray(np.broadcast_to(pos, (K,) + shape))
    return em.new("gather", [i], index=index, fill=0)


def _align(em, i, item_shape, rank, K):
    """A batched value of per-item shape ``item_shape`` reshaped to broadcast at ``rank``."""
    if len(item_shape) >= rank:
        return i
    return em.new("reshape", [i], shape=(K,) + (1,) * (rank - len(item_shape)) + item_shape)


def _emit_run(em, nodes, members, items, form):
    """Emit the batched expression of ``items`` (equal ``form``): ``(id, batched)`` of the root."""
    K = len(items)
    parts, root_ref, _ = form
    cols = [members[t] for t in items]          # cols[k][p]: member p of item k
    vals = []

    for p, (prim, shape, dtype, static, refs) in enumerate(parts):
        ins = []
        for q, ref in enumerate(refs):
            if isinstance(ref, int):
                ins.append(vals[ref])
            elif ref[0] == "x":
                ins.append((em.id(ref[1]), False))
            else:
                ins.append(_const_leaf(em, nodes, [nodes[col[p]].inputs[q] for col in cols]))
        nd0 = nodes[cols[0][p]]
        if not any(b for _, b in ins):
            if prim == "gather":
                idx = [nodes[col[p]].params["index"] for col in cols]
                if all(np.array_equal(idx[0], i) for i in idx[1:]):
                    vals.append((em.copy(cols[0][p], [i for i, _ in ins]), False))
                    continue
            else:
                vals.append((em.copy(cols[0][p], [i for i, _ in ins]), False))
                continue
        if REGISTRY[prim].elementwise is not None:
            rank = len(shape)
            args = [_align(em, i, nodes[nodes[cols[0][p]].inputs[q]].shape, rank, K) if b else i
                    for q, (i, b) in enumerate(ins)]
            vals.append((em.new(prim, args), True))
        elif prim == "gather":
            src, batched = ins[0]
            idx = np.stack([nodes[col[p]].params["index"] for col in cols])
            if batched:
                size = nodes[nd0.inputs[0]].size
                offset = (np.arange(K, dtype=np.int64) * size).reshape(
                    (K,) + (1,) * (idx.ndim - 1))
                idx = np.where(idx >= 0, idx + offset, -1)
            vals.append((em.new("gather", [src], index=np.ascontiguousarray(idx, dtype=np.int64),
                                fill=nd0.params.get("fill", 0)), True))
        else:
            args = [_batch_to(em, v, K) for v in ins]
            prm = dict(nd0.params)
            if prim == "reshape":
                prm["shape"] = (K,) + tuple(prm["shape"])
            elif prim == "transpose":
                prm["axes"] = (0,) + tuple(a + 1 for a in prm["axes"])
            elif prim.startswith("reduce_"):
                prm["axes"] = tuple(a + 1 for a in prm["axes"])
            elif prim in ("concatenate", "cumsum", "cumprod"):
                prm["axis"] = prm["axis"] + 1
            vals.append((em.new(prim, args, **prm), True))
    if isinstance(root_ref, int):
        return vals[root_ref]
    if root_ref[0] == "x":
        return em.id(root_ref[1]), False
    return None          # a constant root: the caller stacks it


def _const_leaf(em, nodes, ids):
    """Constants at one leaf position of every item: one shared constant, or their stack."""
    values = [np.asarray(nodes[j].params["value"]) for j in ids]
    first = values[0]
    if all(v.tobytes() == first.tobytes() for v in values[1:]):
        return em.id(ids[0]), False
    return em.const(np.stack(values)), True


def _batch_value(em, nodes, group, members, forms, ks):
    """The batched root of the items at positions ``ks`` (equal forms)."""
    v = _emit_run(em, nodes, members, [group.items[k] for k in ks], forms[ks[0]])
    if v is None:                               # constant roots
        v = _const_leaf(em, nodes, [group.roots[k] for k in ks])
    return v


def group(em, nodes, group, members, forms, plan):
    """Emit a group's combiner with its rolled items; return the new id of its last node."""
    if plan[0] == "buckets":
        batches, singles = plan[1], plan[2]
        steps = [("one", j) for j in singles] + [("batch", ks) for ks in batches]
    else:
        steps, k = [], 0
        for start, period, count in plan[1]:
            steps += [("one", j) for j in range(k, start)]
            steps += [("batch", list(range(start + q, start + period * count, period)))
                      for q in range(period)]
            k = start + period * count
        steps += [("one", j) for j in range(k, len(group.roots))]
        if group.kind == "concat":
            return _emit_concat_runs(em, nodes, group, members, forms, plan[1])
    if group.kind == "concat":
        return _emit_concat_buckets(em, nodes, group, members, forms, batches, singles)
    cur = em.id(group.base)
    prim = nodes[group.chain[0]].prim
    for step in steps:
        if step[0] == "one":
            j = step[1]
            ins = [cur, em.id(group.roots[j])]
            if group.kind == "acc" and group.side == 1:
                ins.reverse()
            cur = em.copy(group.chain[j], ins)
            continue
        ks = step[1]
        v = _batch_value(em, nodes, group, members, forms, ks)
        if group.kind == "scatter":
            idx = np.stack([nodes[group.chain[k]].params["index"] for k in ks])
            i, batched = v
            if batched:
                i = _align(em, i, nodes[group.roots[ks[0]]].shape, idx.ndim - 1, len(ks))
            cur = em.new("scatter", [cur, i], index=np.ascontiguousarray(idx, dtype=np.int64))
        else:
            total = em.new(_ACCUMULATE[prim], [_batch_to(em, v, len(ks))], axes=(0,))
            ins = [cur, total] if group.side == 0 else [total, cur]
            cur = em.new(prim, ins)
    return cur


def _emit_concat_buckets(em, nodes, group, members, forms, batches, singles):
    """Concatenate (axis 0, equal pieces) the rolled batches and the single pieces, then
    restore the order of the pieces with one gather."""
    P = nodes[group.roots[0]].shape
    parts, order = [], []
    for ks in batches:
        i = _batch_to(em, _batch_value(em, nodes, group, members, forms, ks), len(ks))
        parts.append(em.new("reshape", [i], shape=(len(ks) * P[0],) + P[1:]))
        order += ks
    for j in singles:
        parts.append(em.id(group.roots[j]))
        order.append(j)
    stacked = parts[0] if len(parts) == 1 else em.new("concatenate", parts, axis=0)
    M, S = len(order), math.prod(P)
    pos = np.empty(M, dtype=np.int64)
    pos[np.asarray(order, dtype=np.int64)] = np.arange(M, dtype=np.int64)
    index = (pos[:, None] * S + np.arange(S, dtype=np.int64)).reshape((M * P[0],) + P[1:])
    return em.new("gather", [stacked], index=np.ascontiguousarray(index), fill=0)


def _emit_concat_runs(em, nodes, group, members, forms, runs):
    axis = nodes[group.chain[0]].params["axis"]
    segments, k = [], 0
    for start, period, count in runs:
        segments += [("one", j) for j in range(k, start)] + [("run", start, period, count)]
        k = start + period * count
    segments += [("one", j) for j in range(k, len(group.roots))]
    pieces = []
    for seg in segments:
        if seg[0] == "one":
            pieces.append(em.id(group.roots[seg[1]]))
            continue
        _, start, period, count = seg
        P = nodes[group.roots[start]].shape
        phases = []
        for q in range(period):
            ks = list(range(start + q, start + period * count, period))
            i = _batch_to(em, _batch_value(em, nodes, group, members, forms, ks), count)
            phases.append(em.new("reshape", [i], shape=(count, 1) + P) if period > 1 else i)
        i = phases[0] if period == 1 else em.new("reshape", [
            em.new("concatenate", phases, axis=1)], shape=(count * period,) + P)
        K = count * period
        if axis != 0:
            perm = tuple(range(1, axis + 1)) + (0,) + tuple(range(axis + 1, len(P) + 1))
            i = em.new("transpose", [i], axes=perm)
        pieces.append(em.new("reshape", [i], shape=P[:axis] + (K * P[axis],) + P[axis + 1:]))
    if len(pieces) == 1:
        return pieces[0]
    return em.new("concatenate", pieces, axis=axis)
