"""Which lowered kernel nodes to materialise, and which to write by pushing terms.

Fed by :func:`~sparsead.ad.numba.lower.lower` (the kernel IR); feeds the
source generator (:mod:`.codegen`). :func:`plan` chooses the materialised
nodes: the output, the non-fusible ops, operands that products must read as
arrays, and nodes used several times whose recomputation would cost more than a
threshold; every other ``ew``/``map`` node is inlined into the loops of its
consumers. :func:`plan_push` picks materialised nodes that are sums of
injectively mapped terms sharing work per cell (a gradient assembled from
per-cell contributions): they are written by looping over the cells and adding
each term into its element, instead of recomputing every cell once per term.
"""

from __future__ import annotations

import numpy as np

from .ir import INLINE_OPS, MATERIAL_OPS

__all__ = ["plan", "plan_push", "RECOMPUTE_LIMIT", "INLINE_DEPTH", "PUSH_GAIN"]

#: recomputing a node used by several consumers is allowed up to this cost (see _own_cost)
RECOMPUTE_LIMIT = 1000
#: an inlined expression nests at most this deep (deeper: the node is materialised), which
#: bounds the code generator's recursion and the size of one loop body
INLINE_DEPTH = 48

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
        if nd.op in MATERIAL_OPS:
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
