"""Re-rolling: repeated scalar statements of a traced graph become vector primitives.

Loop-written numpy code (``for i in range(n): r[i] = y[i-1] - 2*y[i] + ...``,
``s = s + term(i)``, ``out.append(...)`` then ``np.array(out)``) traces into
one small expression per iteration, glued together by a *combiner*: a chain of
``scatter`` nodes writing into one array, a chain of ``add``/``subtract``/
``multiply`` accumulating into one value, or one ``concatenate`` stacking the
pieces. :func:`reroll` finds runs of isomorphic iterations and replaces each
run by one batched expression (a leading axis of length K) and one combiner
(one ``scatter`` with the stacked indices, a ``reduce_sum``/``reduce_prod``, a
reshape), so detection, preparation and evaluation see a graph whose size does
not grow with the loop count. Fed by :func:`sparsead.tracing.trace`.

**Items.** Each iteration's *item* is the expression that feeds the combiner:
its root (the scattered value, the accumulated term, the stacked piece) and
every node that is *private* to it -- all of whose uses lie inside the item.
Ownership is computed in one backward sweep. Leaves of an item are constants
and *externals* (nodes used by more than one item or outside).

**Soundness.** Because every member is private, no value flows out of an item
except through its root into the combiner, and the chain links between
combiners are single-use (nothing reads an intermediate version of the
array or accumulator). So an item cannot read what an earlier item wrote or
accumulated -- a recurrence ``r[i] = r[i-1] + y[i]`` reads an intermediate
version, which breaks the chain -- and externals cannot depend on any item.
Two items are rolled together only if their canonical forms are equal:
members in creation order, each with its primitive, shape, dtype, static
parameters and inputs named by position (members), by node id (externals) or by
shape and dtype (constants, whose values may differ and are then stacked);
index arrays of gathers may differ and are stacked. The batched expression then
computes exactly the stacked per-item values (elementwise primitives broadcast
over the new axis, gathers address the stacked sources, reductions and layout
primitives shift their axes by one). Scatter runs must write distinct
elements (so the order of the writes cannot matter); accumulations become
``s0 + sum(terms)`` (equal up to floating-point rounding of the summation
order). A differential test (``tests/test_reroll.py``) checks values,
Jacobians, Hessians and patterns of rolled against unrolled graphs on random
loop programs.
"""

from __future__ import annotations

import numpy as np

from . import reroll_emit as _emit
from .graph import prune
from ..primitives import REGISTRY

__all__ = ["reroll", "MIN_RUN"]

#: the shortest run of isomorphic items worth rolling
MIN_RUN = 4
_MAX_ROUNDS = 4
_ACCUMULATE = {"add", "subtract", "multiply"}      # accumulation chains roll into reductions


# --- finding the groups -------------------------------------------------------------------

class _Group:
    """A combiner: ``kind`` ("scatter", "acc", "concat"), its chain of nodes and its items.

    ``roots[k]`` is the node item ``k`` feeds in; ``base`` the array or value the
    chain starts from (None for a concatenate); ``side`` the input position of the
    accumulator in an accumulation chain.
    """

    __slots__ = ("kind", "chain", "roots", "base", "side", "items")

    def __init__(self, kind, chain, roots, base, side=0):
        self.kind, self.chain, self.roots, self.base, self.side = kind, chain, roots, base, side
        self.items = []


def _uses(graph, protected):
    nodes = graph.nodes
    uses = [0] * len(nodes)
    for nd in nodes:
        for j in nd.inputs:
            uses[j] += 1
    for j in list(graph.outputs) + list(protected):
        uses[j] += 1
    return uses


def _groups(graph, uses):
    nodes = graph.nodes
    groups = []
    scatter_tail = {}            # last node of an open scatter chain -> its group
    acc_tail = {}                # last node of an open accumulation chain -> [nodes], side
    for c, nd in enumerate(nodes):
        prim = nd.prim
        if prim == "scatter":
            b = nd.inputs[0]
            g = scatter_tail.pop(b, None) if uses[b] == 1 else None
            if g is not None:
                g.chain.append(c)
                g.roots.append(nd.inputs[1])
            else:
                g = _Group("scatter", [c], [nd.inputs[1]], b)
                groups.append(g)
            scatter_tail[c] = g
        elif prim in _ACCUMULATE:
            ins = nd.inputs
            hit = None
            for side in ((0, 1) if prim != "subtract" else (0,)):
                a = ins[side]
                cand = acc_tail.get(a)
                if cand is None or uses[a] != 1:
                    continue
                na = nodes[a]
                if na.prim != prim or na.shape != nd.shape or na.dtype != nd.dtype:
                    continue
                if cand[1] is None or cand[1] == side:
                    hit = cand
                    hit[1] = side
                    del acc_tail[a]
                    break
            if hit is None:
                hit = [[], None]
            hit[0].append(c)
            acc_tail[c] = hit
        elif prim == "concatenate" and len(nd.inputs) >= MIN_RUN:
            groups.append(_Group("concat", [c], list(nd.inputs), None))
    seen = set()
    for chain, side in acc_tail.values():
        if len(chain) < MIN_RUN or id(chain) in seen:
            continue
        seen.add(id(chain))
        roots = [nodes[c].inputs[1 - side] for c in chain]
        groups.append(_Group("acc", chain, roots, nodes[chain[0]].inputs[side], side))
    groups.sort(key=lambda g: g.chain[-1])
    return [g for g in groups if len(g.roots) >= MIN_RUN]


#: a node used by more items than this is an external (never recomputed per item)
_SHARE = 4


def _owners(graph, groups, uses, protected):
    """``owner[u]``: the items (a tuple of global item numbers) node ``u`` belongs to, or None.

    A node belongs to an item if it is the item's root or every use of it is by a
    node belonging to some item; a node used by a few items (at most ``_SHARE``: a
    temporary shared by two statements, a comparison and a term computed from one
    difference) belongs to each of them and is recomputed in each -- it is pure.
    """
    nodes = graph.nodes
    N = len(nodes)
    root_of = {}
    root_edges = set()         # (combiner, root): accounted by the root's own items
    n_items = 0
    for g in groups:
        for k, r in enumerate(g.roots):
            if nodes[r].prim not in ("const", "input"):
                root_of.setdefault(r, []).append(n_items)
                root_edges.add((g.chain[k] if g.kind != "concat" else g.chain[0], r))
            g.items.append(n_items)
            n_items += 1
    counted = [0] * N          # uses by nodes that belong to items
    sets = [()] * N            # the items of those users
    owner = [None] * N
    for u in range(N - 1, -1, -1):
        nd = nodes[u]
        own = None
        if nd.prim not in ("const", "input") and u not in protected:
            roots = root_of.get(u, ())
            su = sets[u]
            if counted[u] + len(roots) == uses[u] and uses[u] and su is not None:
                if roots:
                    su = tuple(sorted(set(su) | set(roots)))
                if len(su) <= _SHARE:
                    own = su
        owner[u] = own
        if own is not None:
            for j in nd.inputs:
                if (u, j) in root_edges:
                    continue
                counted[j] += 1
                sj = sets[j]
                if sj is None or sj == own:
                    continue
                if sj:
                    sj = tuple(sorted(set(sj) | set(own)))
                    sets[j] = sj if len(sj) <= _SHARE else None    # None: too many items
                else:
                    sets[j] = own
    return owner, n_items


_AXES = ("reduce_sum", "reduce_prod", "reduce_max", "reduce_min")
_KINDS: dict = {}


def _static(nd):
    """The static part of a member's parameters (None: the primitive cannot be batched)."""
    prim = nd.prim
    kind = _KINDS.get(prim)
    if kind is None:
        kind = _KINDS[prim] = "ew" if REGISTRY[prim].elementwise is not None else prim
    if kind == "ew":
        return ()
    p = nd.params
    if kind == "gather":
        return (p["index"].shape, p.get("fill", 0))
    if kind == "cast":
        return (p["dtype"],)
    if kind == "reshape":
        return (tuple(p["shape"]),)
    if kind == "transpose" or kind in _AXES:
        return (tuple(p["axes"]),)
    if kind in ("concatenate", "cumsum", "cumprod"):
        return (p["axis"],)
    return None


def _describe(nodes, members, root, extra, leaves):
    """The canonical form (a hashable key, or None if not batchable) of one item.

    ``leaves`` caches the description of leaf nodes: ``("c", shape, dtype)`` for a
    constant (its value may differ between items), ``("x", id)`` for an external.
    """
    pos = {}
    parts = []
    for u in members:
        nd = nodes[u]
        static = _static(nd)
        if static is None:
            return None
        refs = []
        for j in nd.inputs:
            p = pos.get(j)
            if p is None:
                p = leaves.get(j)
                if p is None:
                    nj = nodes[j]
                    p = leaves[j] = ("c", nj.shape, nj.dtype) if nj.prim == "const" \
                        else ("x", j)
            refs.append(p)
        pos[u] = len(parts)
        parts.append((nd.prim, nd.shape, nd.dtype, static, tuple(refs)))
    root_ref = pos.get(root)
    if root_ref is None:
        nj = nodes[root]
        root_ref = ("c", nj.shape, nj.dtype) if nj.prim == "const" else ("x", root)
    return (tuple(parts), root_ref, extra)


def _item_forms(graph, groups, owner, n_items):
    nodes = graph.nodes
    members = [[] for _ in range(n_items)]
    for u, own in enumerate(owner):
        if own is not None:
            for t in own:
                members[t].append(u)
    forms = []
    leaves = {}
    for g in groups:
        fs = []
        scatter = g.kind == "scatter"
        for k, t in enumerate(g.items):
            extra = nodes[g.chain[k]].params["index"].shape if scatter else None
            fs.append(_describe(nodes, members[t], g.roots[k], extra, leaves))
        forms.append(fs)
    return members, forms


_MAX_PERIOD = 8


def _runs(group, forms, nodes):
    """Runs ``(start, period, count)``: ``count`` repetitions of ``period`` consecutive forms.

    A loop body with several statements into one array (``r[2*i] = ...; r[2*i+1] = ...``)
    or several appends gives items whose forms repeat with a period; each phase of the
    period is rolled separately. Forms are compared through integer classes.
    """
    classes, cls = {}, []
    for f in forms:
        cls.append(-1 if f is None else classes.setdefault(f, len(classes)))
    out = []
    k, M = 0, len(cls)
    while k < M:
        best = (0, 1)                     # (items covered, period)
        for p in range(1, _MAX_PERIOD + 1):
            if k + p > M or any(c < 0 for c in cls[k:k + p]):
                break
            j = k + p
            while j < M and cls[j] == cls[j - p]:
                j += 1
            count = (j - k) // p
            if count >= MIN_RUN and count * p > best[0]:
                best = (count * p, p)
        covered, p = best
        if covered and _rollable(group, k, p, covered // p, nodes):
            out.append((k, p, covered // p))
            k += covered
        else:
            k += 1
    return out


def _rollable(group, start, period, count, nodes):
    stop = start + period * count
    if group.kind == "scatter":       # distinct elements: the order of the writes cannot matter
        idx = np.concatenate([nodes[c].params["index"].reshape(-1)
                              for c in group.chain[start:stop]])
        return np.unique(idx).size == idx.size
    if group.kind == "concat" and period > 1:   # the phases interleave: one piece shape
        first = nodes[group.roots[start]]
        return all(nodes[group.roots[start + q]].shape == first.shape
                   and nodes[group.roots[start + q]].dtype == first.dtype
                   for q in range(period))
    return True


def _plan(group, forms, nodes):
    """How to roll a group: ``("runs", runs)`` keeping the order of the items, or
    ``("buckets", batches, singles)`` when the order does not matter.

    Order does not matter for an accumulation (up to the rounding of the sum), for
    a scatter chain whose elements are all distinct, and for a concatenation along
    axis 0 of equal pieces (a final gather restores the order). Items with equal
    forms anywhere in the group then roll together (a loop whose body branches on
    values interleaves a few forms irregularly).
    """
    runs = _runs(group, forms, nodes)
    covered = sum(p * c for _, p, c in runs)
    classes = {}
    for k, f in enumerate(forms):
        if f is not None:
            classes.setdefault(f, []).append(k)
    batches = [ks for ks in classes.values() if len(ks) >= MIN_RUN]
    in_buckets = sum(len(ks) for ks in batches)
    if in_buckets > covered and _order_free(group, nodes):
        rolled = set(k for ks in batches for k in ks)
        singles = [k for k in range(len(forms)) if k not in rolled]
        batches.sort(key=lambda ks: ks[0])
        return "buckets", batches, singles
    return ("runs", runs) if runs else None


def _order_free(group, nodes):
    if group.kind == "acc":
        return True
    if group.kind == "scatter":
        idx = np.concatenate([nodes[c].params["index"].reshape(-1) for c in group.chain])
        return np.unique(idx).size == idx.size
    first = nodes[group.roots[0]]
    return nodes[group.chain[0]].params["axis"] == 0 and all(
        nodes[r].shape == first.shape and nodes[r].dtype == first.dtype for r in group.roots)


def _rolled_positions(plan):
    if plan[0] == "runs":
        return [k for start, p, c in plan[1] for k in range(start, start + p * c)]
    return [k for ks in plan[1] for k in ks]


def _round(graph, protected):
    """One pass: ``(new graph, new protected ids)``, or None if nothing rolls."""
    uses = _uses(graph, protected)
    groups = _groups(graph, uses)
    if not groups:
        return None
    prot = set(protected)
    owner, n_items = _owners(graph, groups, uses, prot)
    nodes = graph.nodes
    members, forms = _item_forms(graph, groups, owner, n_items)
    plans = []
    rolled = np.zeros(n_items, dtype=bool)
    links = np.zeros(len(nodes), dtype=bool)          # inner chain links of rolled groups
    inside = np.zeros(len(nodes), dtype=bool)         # members of rolled items
    candidates = [(g, fs, _plan(g, fs, nodes)) for g, fs in zip(groups, forms)]
    candidates = [c for c in candidates if c[2] is not None]
    chains = np.zeros(len(nodes), dtype=bool)
    for g, _, _ in candidates:
        chains[g.chain] = True
    for g, fs, plan in candidates:
        # inner loops first: items holding another rolling group's chain wait a round
        if any(chains[u] for k in _rolled_positions(plan) for u in members[g.items[k]]):
            continue
        if any(inside[c] or links[c] for c in g.chain):
            continue
        for k in _rolled_positions(plan):
            rolled[g.items[k]] = True
            inside[members[g.items[k]]] = True
        links[g.chain[:-1]] = True
        plans.append((g, fs, plan))
    if not plans:
        return None
    # a node is dropped when every item it belongs to is rolled (it is recomputed batched)
    skipped = links
    for u in np.flatnonzero(inside):
        if all(rolled[t] for t in owner[u]):
            skipped[u] = True
    last = {g.chain[-1]: (g, fs, plan) for g, fs, plan in plans}
    em = _emit.Emitter(graph)
    for u, nd in enumerate(nodes):
        if skipped[u] or nd.prim == "const":     # constants: copied when used
            continue
        plan = last.get(u)
        if plan is not None:
            em.new_id[u] = _emit.group(em, nodes, plan[0], members, plan[1], plan[2])
        else:
            em.new_id[u] = em.copy(u)
    g = em.g
    g.inputs = [em.id(j) for j in graph.inputs]
    g.outputs = [em.id(j) for j in graph.outputs]
    return prune(g, [em.id(j) for j in protected])


def reroll(graph, protected=()):
    """Roll runs of isomorphic loop iterations of ``graph`` into vector primitives.

    Parameters
    ----------
    graph : Graph
        A traced graph (``values`` are not carried over).
    protected : sequence of int, optional
        Node ids that must survive (e.g. the nodes guards of a local trace read).

    Returns
    -------
    graph : Graph
        An equivalent graph (the same one if nothing rolled).
    protected : list of int
        The ids of the protected nodes in the returned graph.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsead.tracing import trace, evaluate
    >>> def f(y):
    ...     r = np.zeros_like(y)
    ...     for i in range(1, y.size - 1):
    ...         r[i] = y[i - 1] - 2 * y[i] + y[i + 1]
    ...     return r
    >>> g = trace(f, np.ones(100), reroll=False)
    >>> rolled, _ = reroll(g)
    >>> len(g.nodes) > 500, len(rolled.nodes) < 20
    (True, True)
    >>> y = np.linspace(0, 1, 100) ** 2
    >>> bool(np.allclose(evaluate(rolled, y), f(y)))
    True
    """
    protected = list(protected)
    for _ in range(_MAX_ROUNDS):
        out = _round(graph, protected)
        if out is None:
            break
        graph, protected = out
    return graph, protected
