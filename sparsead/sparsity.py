"""Sparsity detection: the index-set interpreter of traced graphs.

Fed by ``sparsead.tracing`` (a :class:`~sparsead.tracing.Graph`), it computes
for every node the index sets of all its elements at once, as CSR rows
(``indptr``, ``indices``; row = element in C order, columns = entries of
``x``). Each primitive's registry rule gives its local Jacobian pattern per
input; the node's sets are the union of ``L_k @ S_k`` over its inputs
(:func:`sparsead._kernels.sparsity.compose`). Hessian patterns add, for every
element whose adjoint can be nonzero (a backward sweep over the same local
patterns), the pairs of index sets its second derivative couples, stacked
into two row blocks ``A``, ``B`` so that the pattern is ``A.T @ B``.

Policy: no false negatives. A global pattern holds for every ``x``; where a
rule over-approximates, its registry ``doc`` says so.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._kernels import lazy
from ._validation import as_real_array, check_args
from ._validation.values import check_scalar_output
from .primitives import IDENTITY, REGISTRY, Pattern, RuleContext, broadcast_map
from .tracing import trace

_ks = lazy("sparsity")  # Numba is imported at the first kernel call

__all__ = ["jacobian_sparsity", "hessian_sparsity", "graph_jacobian_sparsity",
           "graph_hessian_sparsity"]

_I64 = np.int64

#: From this many rows on, the two common products read their inputs in place
#: (``union2``, ``gather``) instead of through compose()'s block layout, whose
#: temporaries are fresh pages at 1e6 rows; below it, two kernels fewer to load.
_IN_PLACE_ROWS = 50_000


# --- CSR helpers (index sets of a whole array) ----------------------------------

def _identity_sets(n):
    return np.arange(n + 1, dtype=_I64), np.arange(n, dtype=_I64)


def _as_csr(dep, n_rows):
    """A local Jacobian pattern (map, IDENTITY or Pattern) as ``(indptr, indices)``."""
    if dep is IDENTITY:
        return _identity_sets(n_rows)
    if isinstance(dep, Pattern):
        return np.asarray(dep.indptr, _I64), np.asarray(dep.indices, _I64)
    m = np.asarray(dep, dtype=_I64).reshape(-1)
    valid = m >= 0
    indptr = np.zeros(n_rows + 1, dtype=_I64)
    np.cumsum(valid, out=indptr[1:])
    return indptr, m[valid] if not valid.all() else m


def _select_rows(indptr, indices, rows):
    """CSR rows ``rows`` of a pattern (vectorised gather)."""
    lens = np.diff(indptr)[rows]
    out_ptr = np.zeros(rows.size + 1, dtype=_I64)
    np.cumsum(lens, out=out_ptr[1:])
    total = int(out_ptr[-1])
    if total == 0:
        return out_ptr, np.zeros(0, dtype=_I64)
    pos = np.repeat(indptr[rows] - out_ptr[:-1], lens) + np.arange(total, dtype=_I64)
    return out_ptr, indices[pos]


def _product(terms, n_rows, n_cols):
    """Union over ``(L_k, S_k)`` of ``L_k @ S_k``: a list of CSR pairs in, one CSR pair out."""
    if all(dep is IDENTITY and sets is terms[0][1] for dep, sets in terms):
        return terms[0][1]          # x * x, (3 - 2 x) * x: the union of one set with itself
    if n_rows >= _IN_PLACE_ROWS:
        if len(terms) == 2 and terms[0][0] is IDENTITY and terms[1][0] is IDENTITY:
            return _ks.union2(*terms[0][1], *terms[1][1], n_cols)
        if len(terms) == 1 and not isinstance(terms[0][0], Pattern):
            rows = np.ascontiguousarray(terms[0][0], dtype=_I64).reshape(-1)
            return _ks.gather(rows, *terms[0][1])
    blocks, l_idx, s_ptrs, s_idx = [], [], [], []
    row_off = nnz_off = l_off = 0
    bound = 0
    for dep, (sp_, si) in terms:
        lp, li = _as_csr(dep, n_rows)
        blocks.append(lp + l_off)
        l_idx.append(li + row_off)
        l_off += li.size
        bound += int(np.diff(sp_)[li].sum())
        s_ptrs.append(sp_[:-1] + nnz_off)
        s_idx.append(si)
        row_off += sp_.size - 1
        nnz_off += si.size
    s_ptrs.append(np.array([nnz_off], dtype=_I64))
    return _ks.compose(np.stack(blocks), np.concatenate(l_idx), np.concatenate(s_ptrs),
                   np.concatenate(s_idx), n_cols, bound)


def _to_csr_array(sets, shape):
    if sets is None:
        return sp.csr_array(shape, dtype=bool)
    indptr, indices = sets
    a = sp.csr_array((np.ones(indices.size, dtype=bool), indices, indptr), shape=shape)
    a.has_canonical_format = False
    a.sort_indices()
    return a


# --- forward sweep -------------------------------------------------------------------

def _known_value(graph, j, local):
    if local:
        return graph.values[j]
    nd = graph.nodes[j]
    return nd.params["value"] if nd.prim == "const" else None


def _forward(graph, local):
    """Index sets of every live node, with the rule contexts and local patterns used."""
    nodes = graph.nodes
    live = graph.live()
    n = nodes[graph.inputs[0]].size
    sets = [None] * len(nodes)
    ctxs, deps_all = [None] * len(nodes), [None] * len(nodes)
    for i, nd in enumerate(nodes):
        if not live[i] or nd.prim == "const":
            continue
        if nd.prim == "input":
            if nd.params["index"] == 0:
                sets[i] = _identity_sets(n)
            continue
        in_sets = [sets[j] for j in nd.inputs]
        has = [s is not None for s in in_sets]
        if not any(has):
            continue
        ctx = RuleContext(nd, [nodes[j] for j in nd.inputs],
                          [_known_value(graph, j, local) for j in nd.inputs], local, has)
        deps = REGISTRY[nd.prim].deps(ctx)
        ctxs[i], deps_all[i] = ctx, deps
        terms = [(d, s) for d, s in zip(deps, in_sets) if d is not None and s is not None]
        if terms:
            sets[i] = _product(terms, nd.size, n)
    return sets, ctxs, deps_all, n


def graph_jacobian_sparsity(graph, *, local=False) -> sp.csr_array:
    """Jacobian pattern of a traced graph's single output with respect to input 0."""
    sets, _, _, n = _forward(graph, local)
    out = graph.nodes[graph.outputs[0]]
    return _to_csr_array(sets[graph.outputs[0]], (out.size, n))


# --- Hessian ---------------------------------------------------------------------------

def _pull(dep, reach, in_size):
    """Input elements whose adjoint can be nonzero, given the output's (``reach``)."""
    if dep is IDENTITY:
        return reach
    r = np.zeros(in_size, dtype=bool)
    if isinstance(dep, Pattern):
        rows = np.repeat(reach, np.diff(dep.indptr))
        r[np.asarray(dep.indices)[rows]] = True
    else:
        m = np.asarray(dep).reshape(-1)[reach]
        r[m[m >= 0]] = True
    return r


def _term_rows(dep, s, rows, n_rows, n):
    """Index sets that input ``s`` (through pattern ``dep``) gives the output rows ``rows``."""
    lp, li = _as_csr(dep, n_rows)
    lp, li = _select_rows(lp, li, rows)
    return _product([(Pattern(lp, li), s)], rows.size, n)


def graph_hessian_sparsity(graph, *, local=False) -> sp.csr_array:
    """Hessian pattern of a traced graph's scalar output with respect to input 0."""
    sets, ctxs, deps_all, n = _forward(graph, local)
    nodes = graph.nodes
    out_id = graph.outputs[0]
    reach = [None] * len(nodes)
    if sets[out_id] is not None:
        reach[out_id] = np.ones(nodes[out_id].size, dtype=bool)
    A, B = [], []
    for i in range(len(nodes) - 1, -1, -1):
        r, deps = reach[i], deps_all[i]
        if r is None or deps is None or not r.any():
            continue
        nd = nodes[i]
        for k, (dep, j) in enumerate(zip(deps, nd.inputs)):
            if dep is None or sets[j] is None:
                continue
            pulled = _pull(dep, r, nodes[j].size)
            reach[j] = pulled if reach[j] is None else (reach[j] | pulled)
        hess = REGISTRY[nd.prim].hess
        if hess is None:
            continue
        rows = np.flatnonzero(r)
        for term in hess(ctxs[i]):
            kind = term[0]
            if kind == "all":
                M = _select_rows(*sets[i], rows)
                A.append(M)
                B.append(M)
            elif kind == "self":
                k = term[1]
                if sets[nd.inputs[k]] is None:
                    continue
                M = _term_rows(broadcast_map(nodes[nd.inputs[k]].shape, nd.shape),
                               sets[nd.inputs[k]], rows, nd.size, n)
                A.append(M)
                B.append(M)
            elif kind in ("cross", "pairs"):
                k, l = term[1], term[2]
                sk, sl = sets[nd.inputs[k]], sets[nd.inputs[l]]
                if sk is None or sl is None:
                    continue
                if kind == "cross":
                    Ma = _term_rows(broadcast_map(nodes[nd.inputs[k]].shape, nd.shape),
                                    sk, rows, nd.size, n)
                    Mb = _term_rows(broadcast_map(nodes[nd.inputs[l]].shape, nd.shape),
                                    sl, rows, nd.size, n)
                else:
                    keep = r[term[3]]
                    Ma = _select_rows(*sk, np.asarray(term[4])[keep])
                    Mb = _select_rows(*sl, np.asarray(term[5])[keep])
                A += [Ma, Mb]
                B += [Mb, Ma]
            else:  # pragma: no cover
                raise ValueError(f"unknown Hessian term {kind!r} from primitive {nd.prim!r}")
    return _to_csr_array(_gram(A, B, n), (n, n))


def _stack(blocks):
    ptrs, idx, off = [], [], 0
    for p, ix in blocks:
        ptrs.append(p[:-1] + off)
        idx.append(ix)
        off += ix.size
    ptrs.append(np.array([off], dtype=_I64))
    return np.concatenate(ptrs), np.concatenate(idx) if idx else np.zeros(0, dtype=_I64)


def _transpose(indptr, indices, n_cols):
    """Pattern of the transpose, as ``(indptr, indices)`` with sorted rows (scipy's C conversion)."""
    a = sp.csr_array((np.ones(indices.size, dtype=bool), indices, indptr),
                     shape=(indptr.size - 1, n_cols)).tocsc()
    return a.indptr.astype(_I64, copy=False), a.indices.astype(_I64, copy=False)


def _gram(A, B, n):
    """Pattern of ``A.T @ B`` for row-stacked blocks ``A``, ``B`` (``None`` if empty)."""
    if not A:
        return None
    ap, ai = _stack(A)
    bp, bi = _stack(B)
    tp, ti = _transpose(ap, ai, n)
    bound = int(np.diff(bp)[ti].sum())
    return _ks.compose(tp.reshape(1, -1), ti, bp, bi, n, bound)


# --- public API ----------------------------------------------------------------------------

def jacobian_sparsity(f, x, args=(), *, local=False) -> sp.csr_array:
    """Jacobian sparsity pattern of a numpy function, by tracing it once.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> array``, written with numpy (ufuncs, indexing, reductions,
        ``@``, ...). Inputs and outputs of any shape are flattened in C order.
    x : array_like
        A point with the shape of ``f``'s input (its values matter only with
        ``local=True``).
    args : tuple, optional
        Extra arguments of ``f``, treated as constants (their zeros are used).
    local : bool, optional
        ``False`` (default): a pattern valid for every ``x``; control flow on
        traced values raises :class:`~sparsead.TracerConversionError`.
        ``True``: the pattern at this ``x`` (branches, ``max``, ``abs``,
        ``np.where`` resolved with the values at ``x``).

    Returns
    -------
    scipy.sparse.csr_array
        Boolean, shape ``(f(x).size, x.size)``, sorted indices. Entry ``(i, j)``
        is present whenever ``d f_i / d x_j`` can be nonzero (no false negatives).

    Raises
    ------
    TracerConversionError
        ``bool()``/``float()``/``int()`` of a traced value in global mode.
    UnsupportedOperationError
        A numpy function without a sparsity rule (named in the message).
    TracingError
        Writing a traced value into a plain numpy array, or ``f`` returning a
        non-numeric result.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: np.diff(x ** 2) + np.sin(x[0])
    >>> sa.jacobian_sparsity(f, np.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 1, 0],
           [1, 0, 1, 1]])
    """
    graph = trace(f, as_real_array(x), check_args(args), local=local)
    return graph_jacobian_sparsity(graph, local=local)


def hessian_sparsity(f, x, args=(), *, local=False) -> sp.csr_array:
    """Hessian sparsity pattern of a scalar numpy function, by tracing it once.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar`` written with numpy (a 0-d or size-1 array).
    x : array_like
        A point with the shape of ``f``'s input (values matter only if ``local``).
    args : tuple, optional
        Extra arguments of ``f``, treated as constants.
    local : bool, optional
        Global pattern (default) or the pattern at this ``x``; see
        :func:`jacobian_sparsity`.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric boolean ``(x.size, x.size)`` pattern with sorted indices;
        ``(i, j)`` present whenever ``d2 f / dx_i dx_j`` can be nonzero.

    Raises
    ------
    TracingError
        If ``f`` does not return a scalar; see also :func:`jacobian_sparsity`.

    Examples
    --------
    >>> import numpy as np
    >>> import sparsead as sa
    >>> f = lambda x: np.sum(x[1:] * x[:-1]) + np.sum(np.exp(x))
    >>> sa.hessian_sparsity(f, np.ones(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 1, 0],
           [0, 1, 1, 1],
           [0, 0, 1, 1]])
    """
    graph = trace(f, as_real_array(x), check_args(args), local=local)
    out = graph.nodes[graph.outputs[0]]
    check_scalar_output(out.shape, "hessian_sparsity",
                        "Use jacobian_sparsity for vector outputs.")
    return graph_hessian_sparsity(graph, local=local)
