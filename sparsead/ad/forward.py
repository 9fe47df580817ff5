"""Forward lanes: one sweep of a graph gives ``B = J @ S`` for a whole seed matrix ``S``.

Fed by a traced :class:`~sparsead.tracing.Graph` and the JVP rules of the
primitives (:mod:`sparsead.primitives`). Every array carries its value and a
tangent block with one lane per color; ``None`` is a structurally zero tangent.
Blocks are stored lanes-first, ``(p,) + value.shape`` (see
:mod:`sparsead.primitives.core`: scaling by a value-shaped factor is ~3x faster than
with lanes last); :meth:`LanePlan.run` returns ``B = J @ S`` as ``(m, p)``,
:meth:`LanePlan.run_t` returns ``B.T`` without the transposing copy.

A :class:`LanePlan` is built once per (graph, input, seed) and run many times:

* *static values*: nodes that depend on no graph input are evaluated once;
* *affine folding*: nodes whose tangent does not depend on any input value
  (linear primitives of such nodes, products with constants) have their tangent
  blocks computed once, and only the *frontier* blocks -- those read by a
  non-affine node or returned -- are kept; evaluation sweeps the non-affine
  part only;
* *needed values*: a value is computed at evaluation only if a JVP rule reads
  it (or it is the returned value);
* *buffer donation*: a rule may overwrite an input block that nothing reads
  later (tracked through views: reshape, transpose, pass-through);
* every block is freed after its last use;
* the strong zero (:mod:`sparsead.primitives`): a sweep whose result holds a NaN
  is run again with strong-zero products (``0 * inf = 0``), so the common case
  pays only a NaN check of the result.
"""

from __future__ import annotations

import numpy as np

from ..primitives import REGISTRY, Call, jvp_needs, passes, tangent_is_static

__all__ = ["LanePlan", "forward_lanes", "seed_from_colors"]


def seed_from_colors(colors, n_lanes):
    """Dense one-hot seed: row ``j`` has a 1 in lane ``colors[j]`` (``-1``: a zero row)."""
    colors = np.asarray(colors, dtype=np.int64).reshape(-1)
    S = np.zeros((colors.size, int(n_lanes)))
    keep = np.flatnonzero(colors >= 0)
    S[keep, colors[keep]] = 1.0
    return S


class LanePlan:
    """A prepared forward-lane sweep of ``graph`` with respect to input ``wrt``.

    Parameters
    ----------
    graph : Graph
        Traced graph with one output.
    wrt : int
        Position of the differentiated input in ``graph.inputs``.
    seed : numpy.ndarray or int
        ``(size of input wrt, p)``: the tangent block of that input, fixed at
        preparation (affine parts are folded); or the number of lanes ``p``
        for a seed given at each :meth:`run_t` call (nothing is folded).
    want_value : bool
        Whether :meth:`run` also returns the output value (else ``None``).

    ``run(inputs)`` with ``inputs = [x, *array_args]`` in graph-input order
    returns ``(value_flat, B)`` with ``B`` of shape ``(output size, p)``,
    C-contiguous (read-only when the whole Jacobian folded to a constant).
    """

    def __init__(self, graph, wrt, seed, *, want_value=True):
        self.graph = graph
        nodes = graph.nodes
        self.wrt = int(wrt)
        wrt_node = graph.inputs[self.wrt]
        self._dynamic_seed = isinstance(seed, (int, np.integer))
        if self._dynamic_seed:
            p = int(seed)
        else:
            seed = np.ascontiguousarray(seed, dtype=np.float64)
            p = seed.shape[1]
        self._wrt_node = wrt_node
        self.p = p
        self.want_value = want_value
        out_id = graph.outputs[0]
        self.out_id = out_id
        self.out_shape = nodes[out_id].shape
        self.out_size = nodes[out_id].size
        live = graph.live()

        varying, has_tan, tan_static = self._classify(nodes, wrt_node)
        tan_static &= live                    # dead nodes are neither folded nor swept
        dyn = has_tan & ~tan_static & live    # tangents swept at evaluation
        self._flows = {i: self._flows_of(nodes, i, has_tan) for i in map(int, np.flatnonzero(dyn))}
        need_val = self._needed_values(nodes, dyn, varying, want_value)
        self._static_vals = _static_values(nodes, varying, live)
        # tangent consumers: who reads each tangent block
        readers = [[] for _ in nodes]
        for i in self._flows:
            for k, j in enumerate(nodes[i].inputs):
                if self._flows[i][k]:
                    readers[j].append(i)
        frontier = [i for i in range(len(nodes)) if tan_static[i] and live[i]
                    and (any(dyn[r] for r in readers[i]) or i == out_id)]
        self._static_tans = self._fold_affine(nodes, tan_static, frontier, seed)
        self._steps = self._build_steps(nodes, live, dyn, has_tan, need_val & varying, readers)
        self._input_ids = list(graph.inputs)
        self._input_shapes = [nodes[j].shape for j in self._input_ids]
        if not has_tan[out_id]:
            self._const_B = np.zeros((p, self.out_size))
            self._const_B.flags.writeable = False
        elif tan_static[out_id]:
            self._const_B = self._static_tans[out_id].reshape(p, self.out_size)
        else:
            self._const_B = None

    # --- preparation, in the order __init__ runs it ---------------------------------------
    def _classify(self, nodes, wrt_node):
        """Per node: depends on an input, has a tangent, has a tangent free of input values."""
        N = len(nodes)
        varying = np.zeros(N, dtype=bool)     # depends on some graph input
        has_tan = np.zeros(N, dtype=bool)     # tangent can be nonzero
        tan_static = np.zeros(N, dtype=bool)  # tangent independent of every input value
        for i, nd in enumerate(nodes):
            if nd.prim == "input":
                varying[i] = True
                has_tan[i] = i == wrt_node and self.p > 0
                tan_static[i] = has_tan[i] and not self._dynamic_seed
                continue
            if nd.prim == "const":
                continue
            ins = nd.inputs
            varying[i] = any(varying[j] for j in ins)
            flows = self._flows_of(nodes, i, has_tan)
            has_tan[i] = any(flows)
            if has_tan[i]:
                tan_static[i] = tangent_is_static(nd.prim, [tan_static[j] for j in ins], flows,
                                                  [varying[j] for j in ins])
        return varying, has_tan, tan_static

    @staticmethod
    def _flows_of(nodes, i, has_tan):
        """Per input of node ``i``: whether a tangent arrives and can pass to the output."""
        nd = nodes[i]
        return [bool(has_tan[j]) and passes(nd.prim, k, nodes[j].dtype, nd.params)
                for k, j in enumerate(nd.inputs)]

    def _needed_values(self, nodes, dyn, varying, want_value):
        """Values computed at evaluation: those a swept JVP rule reads (and their inputs)."""
        need_val = np.zeros(len(nodes), dtype=bool)
        if want_value:
            need_val[self.out_id] = True
        for i in range(len(nodes) - 1, -1, -1):
            nd = nodes[i]
            if dyn[i]:
                pos, need_out = jvp_needs(nd.prim, self._flows[i])
                for k in pos:
                    need_val[nd.inputs[k]] = True
                if need_out:
                    need_val[i] = True
            if need_val[i] and varying[i]:
                for j in nd.inputs:
                    need_val[j] = True
        return need_val

    def _fold_affine(self, nodes, tan_static, frontier, seed):
        """Sweep the static-tangent part once; keep the (read-only) frontier blocks."""
        static_tans = [None] * len(nodes)
        if not frontier:
            return static_tans
        static_vals, p = self._static_vals, self.p
        upto = max(frontier)
        keep = set(frontier)
        s_readers = [[] for _ in nodes]
        for i in range(upto + 1):
            if tan_static[i] and nodes[i].prim != "input":
                for j in nodes[i].inputs:
                    if tan_static[j]:
                        s_readers[j].append(i)
        last = {j: max(r) for j, r in enumerate(s_readers) if r}
        tmp = [None] * len(nodes)
        for i in range(upto + 1):
            nd = nodes[i]
            if not tan_static[i]:
                continue
            if i == self._wrt_node:
                tmp[i] = np.ascontiguousarray(seed.T).reshape((p,) + nd.shape)
            else:
                tans = [tmp[j] if tan_static[j] else None for j in nd.inputs]
                vals = [static_vals[j] for j in nd.inputs]
                c = Call(nd.shape, [nodes[j].shape for j in nd.inputs], nd.params, p,
                         strong=True)
                with np.errstate(all="ignore"):
                    tmp[i] = REGISTRY[nd.prim].jvp(c, vals, static_vals[i], tans)
            for j in nd.inputs:
                if last.get(j) == i and j not in keep:
                    tmp[j] = None
            if i in keep:
                static_tans[i] = tmp[i]
        for i in frontier:
            if static_tans[i] is not None:
                static_tans[i] = np.ascontiguousarray(static_tans[i])
                static_tans[i].flags.writeable = False
        return static_tans

    def _alias_groups(self, nodes, dyn, readers):
        """Views and pass-through blocks share a buffer: its base node and its last reader."""
        N = len(nodes)
        base = list(range(N))
        for i in self._flows:
            flows = self._flows[i]
            srcs = [j for k, j in enumerate(nodes[i].inputs) if flows[k]]
            if len(set(srcs)) == 1 and (REGISTRY[nodes[i].prim].view
                                        or REGISTRY[nodes[i].prim].elementwise is not None):
                base[i] = base[srcs[0]]
        group_last = {}
        for i in range(N):
            for r in readers[i]:
                b = base[i]
                group_last[b] = max(group_last.get(b, -1), r)
        group_last[base[self.out_id]] = N          # the output block lives on
        owned = np.array([dyn[base[i]] and base[i] != self._wrt_node for i in range(N)])
        return base, group_last, owned

    def _build_steps(self, nodes, live, dyn, has_tan, do_vals, readers):
        """The evaluation program: per node, its impls, JVP rule, calls and blocks to free."""
        base, group_last, owned = self._alias_groups(nodes, dyn, readers)
        steps = []
        for i, nd in enumerate(nodes):
            if nd.prim in ("input", "const") or not live[i]:
                continue
            do_val, do_tan = bool(do_vals[i]), bool(dyn[i])
            if not (do_val or do_tan):
                continue
            entry = REGISTRY[nd.prim]
            ins = nd.inputs
            call, free, tan_ins = None, [], ()
            if do_tan:
                flows = self._flows[i]
                donate = tuple(k for k, j in enumerate(ins) if flows[k] and owned[j]
                               and group_last.get(base[j]) == i
                               and sum(base[jj] == base[j] for jj in ins) == 1)
                shapes = [nodes[j].shape for j in ins]
                call = (Call(nd.shape, shapes, nd.params, self.p, donate),
                        Call(nd.shape, shapes, nd.params, self.p, donate, strong=True))
                free = [j for j in set(ins) if group_last.get(base[j], -1) <= i
                        and j != self.out_id and has_tan[j]]
                tan_ins = tuple(j if flows[k] else -1 for k, j in enumerate(ins))
            impls = (entry.fast_impl or entry.impl, entry.impl) if do_val else None
            steps.append((i, ins, impls, nd.params,
                          entry.jvp if do_tan else None, call, tan_ins, tuple(free)))
        return steps

    def run_t(self, inputs, seed=None):
        """Evaluate: ``inputs`` = ``[x, *array_args]`` (graph-input order) -> ``(value_flat, B.T)``.

        ``B.T`` has shape ``(p, output size)``, C-contiguous. ``seed`` (``(size, p)``) is
        required when the plan was prepared with a lane count instead of a seed.
        """
        value, Bt = self._sweep(inputs, seed, 0)
        if self._const_B is None and np.isnan(Bt).any():
            value, Bt = self._sweep(inputs, seed, 1)
        return value, Bt

    def _sweep(self, inputs, seed, strong):
        vals = list(self._static_vals)
        tans = list(self._static_tans)
        for j, v, shape in zip(self._input_ids, inputs, self._input_shapes):
            vals[j] = np.reshape(v, shape)
        if self._dynamic_seed:
            w = self._wrt_node
            tans[w] = np.ascontiguousarray(np.asarray(seed, dtype=np.float64).T).reshape(
                (self.p,) + self.graph.nodes[w].shape)
        with np.errstate(all="ignore"):
            for i, ins, impl, params, jvp, call, tan_ins, free in self._steps:
                if impl is not None:
                    vals[i] = impl[strong](*[vals[j] for j in ins], **params)
                if jvp is not None:
                    tans[i] = jvp(call[strong], [vals[j] for j in ins], vals[i],
                                  [tans[j] if j >= 0 else None for j in tan_ins])
                    for j in free:
                        tans[j] = None
        if self._const_B is not None:
            Bt = self._const_B
        else:
            Bt = np.ascontiguousarray(tans[self.out_id]).reshape(self.p, self.out_size)
        value = None
        if self.want_value:
            v = vals[self.out_id]
            if v is None:
                v = self._static_vals[self.out_id]
            value = np.asarray(v, dtype=np.float64).reshape(-1)
        return value, Bt

    def run(self, inputs, seed=None):
        """Evaluate: ``inputs`` = ``[x, *array_args]`` -> ``(value_flat, B)``, ``B`` of shape ``(m, p)``."""
        value, Bt = self.run_t(inputs, seed)
        return value, np.ascontiguousarray(Bt.T)


def _static_values(nodes, varying, live):
    """Values of the live nodes that depend on no graph input: evaluated once, at preparation."""
    static_vals = [None] * len(nodes)
    for i, nd in enumerate(nodes):
        if varying[i] or not live[i]:
            continue
        if nd.prim == "const":
            static_vals[i] = nd.params["value"]
        else:
            with np.errstate(all="ignore"):
                static_vals[i] = REGISTRY[nd.prim].impl(*[static_vals[j] for j in nd.inputs],
                                                        **nd.params)
    return static_vals


def forward_lanes(graph, inputs, wrt, colors, n_lanes):
    """One forward-lane sweep: ``(value_flat, B)`` with ``B = J @ S`` for the seed of ``colors``.

    Parameters
    ----------
    graph : Graph
        A traced graph (one output).
    inputs : list of numpy.ndarray
        ``[x, *array_args]`` in graph-input order.
    wrt : int
        The input differentiated (0 is ``x``).
    colors : array_like of int
        One per element of input ``wrt``: its lane (``-1``: no lane).
    n_lanes : int
        Number of lanes ``p``.

    Returns
    -------
    value_flat : numpy.ndarray
        The output, flattened, float64.
    B : numpy.ndarray
        ``(output size, p)``, C-contiguous: ``J @ S`` with ``S[j, colors[j]] = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsead.tracing import trace
    >>> from sparsead.ad import forward_lanes
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> g = trace(lambda x: x ** 2, x)
    >>> value, B = forward_lanes(g, [x], 0, [0, 0, 0], 1)
    >>> B.ravel().tolist()
    [2.0, 4.0, 6.0]
    """
    plan = LanePlan(graph, wrt, seed_from_colors(colors, n_lanes))
    return plan.run([np.asarray(v, dtype=np.float64) for v in inputs])
