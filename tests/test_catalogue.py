"""A catalogue of bad and borderline inputs, each run in a disposable process.

Every case states what a trusted library must do with it: raise one exact
error type whose message names the argument (``raises``, ``names``), or
return a correct result (the case's code asserts it). Command-line cases must
end with exit code 2 and one line ``sparsead: error: ...`` naming the option.

The cases run in subprocesses (``tests/_catalogue_worker.py``), one per group,
so that a regression to a crash (a signal such as SIGSEGV or SIGBUS) or a hang
fails its own test instead of killing the test run: when a group's process
dies or times out, the case it was running is rerun alone to tell a crash
from a hang, and the rest of the group continues in a new process. Each case
is then classified as

- ``clear``: the expected error type with the argument named, or a correct result;
- ``silent``: no error where the case requires one (bad input accepted, giving a
  stale or wrong result or a failure later and elsewhere), or a wrong result;
- ``unclear``: another error type, or a message that does not name the argument;
- ``crash`` / ``hang``: the process died / did not finish in time.

``python tests/test_catalogue.py`` prints the counts.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import pytest

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_catalogue_worker.py")
GROUP_TIMEOUT = 1800     # seconds for one group's process (first use compiles kernels)
CASE_TIMEOUT = 120       # seconds one case may run (a hang is declared after that)


@dataclass(frozen=True)
class Case:
    """Library code; ``raises`` an exception type name whose message holds ``names``,
    or (``raises=None``) returns normally, its own asserts checking the result."""
    id: str
    code: str
    raises: str | None = None
    names: tuple = ()
    group: str = "library"


@dataclass(frozen=True)
class Cli:
    """A command line (``{TMP}`` is the group's folder); must exit 2 with one line
    ``sparsead: error: ...`` holding ``names``."""
    id: str
    argv: tuple
    names: tuple = ()
    group: str = "cli"
    raises: str = field(default="exit 2", init=False)


def _case(id, code, raises=None, *names, group="library"):
    return Case(id, code, raises, tuple(names), group)


# --- malformed sparse matrices at every boundary that hands arrays to kernels -------

BREAK = {
    "col_out_of_range": "A = csr(); A.indices[2] = 100",
    "col_negative": "A = csr(); A.indices[2] = -3",
    "indptr_decreasing": "A = csr(); A.indptr[2] = 10",
    "indptr_short": "A = csr(); A.indptr = A.indptr[:-1]",
    "indptr_end_past_indices": "A = csr(); A.indptr[-1] = 50",
    "indptr_start_not_zero": "A = csr(); A.indptr[0] = 1",
    "indices_float": "A = csr(); A.indices = A.indices.astype(float)",
    "indices_2d": "A = csr(); A.indices = A.indices.reshape(1, -1)",
    "data_object": "A = csr(); A.data = np.array([object()] * 7, dtype=object)",
    "data_short": "A = csr(); A.data = A.data[:3]",
    "uint64_huge_index": "A = csr(); A.indices = A.indices.astype(np.uint64); A.indices[1] = 2**63 + 5",
    "coo_out_of_range": "A = sp.coo_array(csr()); A.coords = (A.coords[0], A.coords[1] + 10)",
    "coo_negative": "A = sp.coo_array(csr()); A.coords = (A.coords[0] - 5, A.coords[1])",
    "coo_lengths": "A = sp.coo_array(csr()); A.coords = (A.coords[0][:3], A.coords[1])",
    "csc_out_of_range": "A = sp.csc_array(csr()); A.indices[1] = 50",
    "bsr_out_of_range": "A = sp.bsr_array(csr(), blocksize=(2, 2)); A.indices[0] = 9",
    "lil_out_of_range": "A = sp.lil_array(csr()); A.rows[0] = [9]; A.data[0] = [1.0]",
    "dok_out_of_range": "A = sp.dok_array(csr()); A._dict[(0, 9)] = 1.0",
    "huge_shape": "A = sp.coo_array((np.ones(1), (np.zeros(1, int), np.zeros(1, int))), "
                  "shape=(10**12, 10**12))",
    "large_shape_beyond_memory": "A = sp.coo_array((np.ones(1), (np.zeros(1, int), "
                                 "np.zeros(1, int))), shape=(10**9, 10**9))",
}
#: The field each broken matrix's message must name.
BROKEN_FIELD = {
    "col_out_of_range": "indices", "col_negative": "indices", "indptr_decreasing": "indptr",
    "indptr_short": "indptr", "indptr_end_past_indices": "indptr",
    "indptr_start_not_zero": "indptr", "indices_float": "indices", "indices_2d": "indices",
    "data_object": "data", "data_short": "data", "uint64_huge_index": "indices",
    "coo_out_of_range": "coords", "coo_negative": "coords", "coo_lengths": "coo",
    "csc_out_of_range": "indices", "bsr_out_of_range": "indices", "lil_out_of_range": "rows",
    "dok_out_of_range": "dok", "huge_shape": "GiB", "large_shape_beyond_memory": "GiB",
}

STRUCTURE = []
for kind, setup in BREAK.items():
    what = BROKEN_FIELD[kind]
    STRUCTURE += [
        _case(f"color/{kind}", f"{setup}\nsa.color(A)", "PatternError", "pattern", what,
              group="structure"),
    ]
#: Every other boundary a malformed matrix can reach: the call, and what its message names.
BOUNDARIES = {
    "is_valid_coloring": ("sa.is_valid_coloring(A, np.zeros(4, int), 'column')", "pattern"),
    "checker_star": ("sa.coloring.is_star_coloring(A, np.arange(4))", "pattern"),
    "compress": ("sa.color(sp.eye_array(4)).compress(A)", "A"),
    "sparsity=": ("sa.sparse_jacobian(lambda x: x ** 2, np.ones(4), sparsity=A)", "sparsity"),
    "hessian_sparsity=": ("sa.sparse_hessian(lambda x: np.sum(x ** 3), np.ones(4), "
                          "sparsity=A)", "sparsity"),
    "traced_A@x": ("sa.jacobian_sparsity(lambda x: A @ x, np.ones(4))", "A @ x"),
    "traced_x@A": ("sa.jacobian_sparsity(lambda x: x @ A, np.ones(4))", "x @ A"),
    "args_sparse": ("sa.sparse_jacobian(lambda x, A: A @ x, np.ones(4), (A,))", "args[0]"),
}
for kind in ("col_out_of_range", "indptr_decreasing", "indices_float", "coo_out_of_range",
             "lil_out_of_range"):
    for where, (call, name) in BOUNDARIES.items():
        STRUCTURE.append(_case(f"{where}/{kind}", f"{BREAK[kind]}\n{call}", "PatternError",
                               name, BROKEN_FIELD[kind], group="structure"))

#: Random corruptions of every format's internals: each must raise PatternError or, if
#: the matrix is still valid, give a coloring the independent checker accepts.
FUZZ = """
rng = np.random.default_rng(16)
refused = colored = 0
for trial in range(400):
    A = sp.random_array((6, 5), density=0.4, rng=rng, format="csr")
    fmt = ("csr", "csc", "coo", "bsr")[trial % 4]
    A = A.asformat(fmt) if fmt != "bsr" else sp.bsr_array(A, blocksize=(1, 1))
    field = ("coords" if fmt == "coo" else rng.choice(["indices", "indptr"]))
    arr = A.coords[rng.integers(2)] if fmt == "coo" else getattr(A, field)
    if arr.size:
        k = rng.integers(arr.size)
        arr[k] = rng.choice([-1, -10**6, 2**31 - 1, arr[k] + 1, arr[k] - 1, 7, 0])
    try:
        c = sa.color(A, "column")
    except sa.PatternError:
        refused += 1
        continue
    assert sa.is_valid_coloring(A, c.colors, "column"), (trial, fmt, field)
    colored += 1
assert refused > 50 and colored > 50, (refused, colored)
"""

STRUCTURE += [
    _case("color/fuzzed_internals", FUZZ, group="structure"),
    # valid but unusual inputs: the same answer as the canonical matrix
    _case("color/empty_0x0", "c = sa.color(sp.csr_array((0, 0)))\nassert c.n_colors == 0",
          group="structure"),
    _case("color/empty_0x5", "c = sa.color(sp.csr_array((0, 5)))\nassert c.colors.shape == (5,)",
          group="structure"),
    _case("color/empty_5x0_star", "c = sa.color(sp.csr_array((5, 5)), 'star')\n"
          "assert c.n_colors == 0", group="structure"),
    _case("color/noncontiguous_indices",
          "A = csr(); idx = np.repeat(A.indices, 2)[::2]\nassert not idx.flags.c_contiguous\n"
          "B = sp.csr_array((A.data, idx, A.indptr), shape=A.shape)\n"
          "assert np.array_equal(sa.color(B, 'column').colors, sa.color(A, 'column').colors)",
          group="structure"),
    _case("color/read_only_arrays",
          "A = csr()\nfor a in (A.data, A.indices, A.indptr): a.flags.writeable = False\n"
          "assert np.array_equal(sa.color(A, 'row').colors, sa.color(csr(), 'row').colors)",
          group="structure"),
    _case("color/unsorted_duplicates",
          "A = sp.csr_array((np.ones(4), np.array([1, 0, 1, 1]), np.array([0, 3, 4])), "
          "shape=(2, 2))\nc = sa.color(A, 'column')\n"
          "assert sa.is_valid_coloring(A, c.colors, 'column') and c.n_colors == 2\n"
          "assert list(A.indices) == [1, 0, 1, 1]   # the input is not modified",
          group="structure"),
    _case("color/int64_and_int32_mixed",
          "A = csr(); B = sp.csr_array((A.data, A.indices.astype(np.int64), A.indptr), "
          "shape=A.shape)\nassert np.array_equal(sa.color(B).colors, sa.color(A).colors)",
          group="structure"),
    _case("color/dia_offsets_outside",
          "A = sp.dia_array((np.ones((2, 4)), np.array([0, 9])), shape=(4, 4))\n"
          "assert sa.color(A).n_colors == 1", group="structure"),
    _case("color/dense_3d", "sa.color(np.ones((2, 2, 2)))", "PatternError", "pattern",
          group="structure"),
    _case("color/none", "sa.color(None)", "PatternError", "pattern", "None",
          group="structure"),
    _case("color/strings", "sa.color(np.array([['a', 'b']]))", "PatternError", "pattern",
          group="structure"),
    _case("is_valid_coloring/fractional_colors",
          "sa.is_valid_coloring(P, [0.5] * 6, 'column')", "ColoringError", "colors",
          group="structure"),
    _case("is_valid_coloring/nan_colors",
          "sa.is_valid_coloring(P, [np.nan] * 6, 'column')", "ColoringError", "colors",
          group="structure"),
    _case("decompress/wrong_shape", "sa.color(P).decompress(np.ones((6, 1)))",
          "DecompressionError", "B", group="structure"),
    _case("decompress/sparse_B_malformed",
          "c = sa.color(sp.eye_array(4)); B = sp.csr_array(np.ones((4, 1))); "
          "B.indices[0] = 7\nc.decompress(B)", "PatternError", "B", "indices",
          group="structure"),
    _case("decompress/triangle", "sa.color(P, 'star').decompress(np.ones((6, 3)), "
          "triangle='diag')", "DecompressionError", "triangle", group="structure"),
    _case("decompress/distance1", "c = sa.color(P, 'distance1')\n"
          "c.decompress(np.ones((6, c.n_colors)))", "ColoringError", "distance-1",
          group="structure"),
    _case("compress/object_array", "sa.color(P).compress(np.full((6, 6), object()))",
          "DecompressionError", "A", group="structure"),
    _case("decompress_out/short_data",
          "c = sa.color(P); out = c.decompress(c.compress(P))\nc.decompress("
          "c.compress(P), out=out)\nout.data = out.data[:3]\nc.decompress(c.compress(P), out=out)",
          "DecompressionError", "out", group="structure"),
    _case("decompress_out/read_only",
          "c = sa.color(P); out = c.decompress(c.compress(P)); out.data.flags.writeable = False\n"
          "c.decompress(c.compress(P), out=out)", "DecompressionError", "out.data",
          "read-only", group="structure"),
    _case("decompress_out/not_csr",
          "c = sa.color(P); c.decompress(c.compress(P), out=np.zeros((6, 6)))",
          "DecompressionError", "out", group="structure"),
    _case("decompress_out/other_pattern",
          "c = sa.color(P); c.decompress(c.compress(P), out=sp.csr_array(np.eye(6)))",
          "DecompressionError", "out", group="structure"),
]

#: A prepared Jacobian's output, used once, then broken: the change and what is named.
OUT_BREAK = {
    "read_only": ("J.data.flags.writeable = False", "out.data", "read-only"),
    "short_data_after_first_use": ("J.data = J.data[:1]", "out", "3"),
    "strided_data": ("J.data = np.zeros(6)[::2]", "out.data", "contiguous"),
    "int_data": ("J.data = np.zeros(3, dtype=np.int64)", "out.data", "float64"),
    "other_pattern": ("J = sp.csr_array(np.ones((3, 3)))", "out", "pattern"),
    "dense": ("J = np.zeros((3, 3))", "out", "csr_array"),
}
for kind, (change, *names) in OUT_BREAK.items():
    STRUCTURE.append(_case(
        f"out=/{kind}", "jac = sa.sparse_jacobian(lambda x: x ** 2, np.ones(3))\n"
        f"J = jac(np.ones(3))\njac(np.ones(3), out=J)\n{change}\njac(np.ones(3), out=J)",
        "DecompressionError", *names, group="structure"))

# --- baked arguments changed in place: a clear error, or a fresh result -----------------

STALE = [
    _case("jacobian/int_array_factor",
          "k = np.array([1, 0, 3]); jac = sa.sparse_jacobian(lambda x, k: x * k, np.ones(3), (k,))\n"
          "assert list(jac(np.ones(3), k).diagonal()) == [1, 0, 3]\nk[1] = 5\n"
          "jac(np.ones(3), k)", "InputError", "args[0]"),
    _case("jacobian/list",
          "L = [1.0, 0.0, 3.0]\n"
          "jac = sa.sparse_jacobian(lambda x, L: x * np.asarray(L), np.ones(3), (L,))\n"
          "L[1] = 5.0\njac(np.ones(3), L)", "InputError", "args[0][1]"),
    _case("jacobian/bool_mask",
          "m = np.array([True, False, True])\n"
          "jac = sa.sparse_jacobian(lambda x, m: np.where(m, x, 0.0), np.ones(3), (m,))\n"
          "m[1] = True\njac(np.ones(3), m)", "InputError", "args[0]"),
    _case("jacobian/sparse_values",
          "A = sp.csr_array(np.diag([1.0, 0.0, 3.0])); A.eliminate_zeros()\n"
          "jac = sa.sparse_jacobian(lambda x, A: A @ x, np.ones(3), (A,))\nA.data[:] = 7\n"
          "jac(np.ones(3), A)", "InputError", "args[0]"),
    _case("jacobian/sparse_structure",
          "A = sp.csr_array(np.diag([1.0, 2.0, 3.0]))\n"
          "jac = sa.sparse_jacobian(lambda x, A: A @ x, np.ones(3), (A,))\nA.indices[0] = 2\n"
          "jac(np.ones(3), A)", "InputError", "args[0]"),
    _case("jacobian/nested_list_of_arrays",
          "w = [np.array([1, 2, 3]), np.array([0, 0, 1])]\n"
          "jac = sa.sparse_jacobian(lambda x, w: x * w[0] + x ** 2 * w[1], np.ones(3), (w,))\n"
          "w[1][0] = 4\njac(np.ones(3), w)", "InputError", "args[0][1]"),
    _case("jacobian/dict_of_arrays",
          "d = {'k': np.array([1, 0, 3])}\n"
          "jac = sa.sparse_jacobian(lambda x, d: x * d['k'], np.ones(3), (d,))\n"
          "d['k'][1] = 2\njac(np.ones(3), d)", "InputError", "args[0]['k']"),
    _case("jacobian/scalar_changed",
          "jac = sa.sparse_jacobian(lambda x, t: x * t, np.ones(3), (2,))\njac(np.ones(3), 3)",
          "InputError", "args[0]"),
    _case("jacobian/equal_new_objects_accepted",
          "jac = sa.sparse_jacobian(lambda x, L, k: x * np.asarray(L) * k, np.ones(3), "
          "([1.0, 2.0, 3.0], np.array([1, 1, 2])))\n"
          "J = jac(np.ones(3), [1.0, 2.0, 3.0], np.array([1, 1, 2]))\n"
          "assert list(J.diagonal()) == [1.0, 2.0, 6.0]"),
    _case("jacobian/float_array_may_change",
          "a = np.array([1.0, 0.0, 3.0])\n"
          "jac = sa.sparse_jacobian(lambda x, a: x * a, np.ones(3), (a,))\na[1] = 5.0\n"
          "assert list(jac(np.ones(3), a).toarray().diagonal()) == [1.0, 5.0, 3.0]"),
    _case("jacobian/caller_mutation_cannot_reach_graph",
          "k = np.array([1, 0, 3]); jac = sa.sparse_jacobian(lambda x, k: x * k, np.ones(3), (k,))\n"
          "k[1] = 5\nk2 = np.array([1, 0, 3])\n"
          "assert list(jac(np.ones(3), k2).toarray().diagonal()) == [1, 0, 3]"),
    _case("jacobian/x0_mutated_after_preparation",
          "x0 = np.ones(3); jac = sa.sparse_jacobian(lambda x: x ** 2, x0)\nx0[:] = 7\n"
          "assert list(jac(np.arange(3.0)).toarray().diagonal()) == [0, 2, 4]"),
    _case("jacobian/function_argument_by_identity",
          "jac = sa.sparse_jacobian(lambda x, g: g(x), np.ones(3), (np.sin,))\n"
          "assert np.allclose(jac(np.zeros(3), np.sin).toarray(), np.eye(3))\n"
          "jac(np.zeros(3), np.cos)", "InputError", "args[0]"),
    _case("jacobian/frozen_dataclass",
          "import dataclasses\n"
          "@dataclasses.dataclass(frozen=True)\nclass C:\n    k: int\n"
          "jac = sa.sparse_jacobian(lambda x, c: x * c.k, np.ones(3), (C(2),))\n"
          "assert jac(np.ones(3), C(2)).toarray()[0, 0] == 2\njac(np.ones(3), C(3))",
          "InputError", "args[0]"),
    _case("jacobian/object_refused_at_preparation",
          "class Box:\n    k = 2\n"
          "sa.sparse_jacobian(lambda x, b: x * b.k, np.ones(3), (Box(),))",
          "InputTypeError", "args[0]", "Box"),
    _case("jacobian/object_array_refused",
          "sa.sparse_jacobian(lambda x, o: x, np.ones(3), (np.array([{}], dtype=object),))",
          "InputTypeError", "args[0]", "object"),
    _case("hessian/int_array_factor",
          "k = np.array([1, 0, 3])\n"
          "hess = sa.sparse_hessian(lambda x, k: np.sum(k * x ** 3), np.ones(3), (k,))\n"
          "k[1] = 1\nhess(np.ones(3), k)", "InputError", "args[0]"),
    _case("gradient/list_gives_fresh_result",
          "g = sa.gradient(lambda x, L: np.sum(x * np.asarray(L)))\nL = [1.0, 0.0, 3.0]\n"
          "assert list(g(np.ones(3), L)) == [1, 0, 3]\nL[1] = 5.0\n"
          "assert list(g(np.ones(3), L)) == [1, 5, 3]"),
    _case("gradient/int_array_gives_fresh_result",
          "g = sa.gradient(lambda x, k: np.sum(k * x ** 2))\nk = np.array([1, 0, 3])\n"
          "assert list(g(np.ones(3), k)) == [2, 0, 6]\nk[1] = 2\n"
          "assert list(g(np.ones(3), k)) == [2, 4, 6]"),
    _case("gradient/scalar_gives_fresh_result",
          "g = sa.gradient(lambda x, t: t * np.sum(x ** 2))\n"
          "assert list(g(np.ones(2), 1)) == [2, 2] and list(g(np.ones(2), 3)) == [6, 6]\n"
          "assert list(g(np.ones(2), 1)) == [2, 2]"),
    _case("gradient/cache_bounded",
          "g = sa.gradient(lambda x, t: t * np.sum(x), cache_size=2)\n"
          "for t in range(10): assert g(np.ones(2), t)[0] == t\nassert len(g._cache) == 2"),
    _case("nonlinear_constraint/int_array_changed",
          "k = np.array([1, 0])\n"
          "con = sa.nonlinear_constraint(lambda x, k: k * x ** 2, np.ones(2), 0.0, 1.0, (k,))\n"
          "k[1] = 3\ncon.jac(np.ones(2))", "InputError", "args[0]"),
    _case("ode_jacobian/int_array_changed",
          "k = np.array([1, 0, 2])\n"
          "jac = sa.ode_jacobian(lambda t, y, k: -k * y, np.ones(3), args=(k,))\n"
          "k[1] = 3\njac(0.0, np.ones(3))", "InputError", "args"),
    _case("ipopt/objective_argument_changed",
          "try:\n    import cyipopt  # noqa: F401\nexcept ImportError:\n    raise SystemExit('needs cyipopt')\n"
          "k = np.array([1, 0, 2])\n"
          "nlp = sa.ipopt_problem(lambda x, k: np.sum(k * x ** 4), np.ones(3), (k,))\n"
          "k[1] = 1\nnlp.callbacks.hessian(np.ones(3), np.zeros(0), 1.0)",
          "InputError", "args"),
    _case("ipopt/constraint_argument_changed",
          "try:\n    import cyipopt  # noqa: F401\nexcept ImportError:\n    raise SystemExit('needs cyipopt')\n"
          "k = np.array([1, 0, 2])\n"
          "nlp = sa.ipopt_problem(lambda x: np.sum(x ** 2), np.ones(3), constraints="
          "[{'type': 'eq', 'fun': lambda x, k: k * x ** 2, 'args': (k,)}])\n"
          "k[1] = 1\nnlp.callbacks.jacobian(np.ones(3))", "InputError", "args"),
]
STALE = [Case(c.id, c.code, c.raises, c.names, "stale") for c in STALE]

# --- arguments answered clearly ----------------------------------------------------------

F = "lambda x: x ** 2"
ARGUMENTS = [
    _case("sparse_jacobian/args_float", f"sa.sparse_jacobian({F}, np.ones(3), 2.0)",
          "InputTypeError", "args", "(value,)"),
    _case("sparse_jacobian/args_list", f"sa.sparse_jacobian({F}, np.ones(3), [2.0])",
          "InputTypeError", "args"),
    _case("sparse_jacobian/x0_sparse", f"sa.sparse_jacobian({F}, sp.csr_array(np.ones((1, 3))))",
          "InputTypeError", "x0", "toarray"),
    _case("sparse_jacobian/x0_none", f"sa.sparse_jacobian({F}, None)", "InputTypeError", "x0"),
    _case("sparse_jacobian/x0_strings", f"sa.sparse_jacobian({F}, np.array(['a']))",
          "InputTypeError", "x0"),
    _case("sparse_jacobian/x0_complex", f"sa.sparse_jacobian({F}, np.ones(2) * 1j)",
          "InputTypeError", "x0", "complex"),
    _case("sparse_jacobian/x0_ragged", f"sa.sparse_jacobian({F}, [[1.0], [1.0, 2.0]])",
          "InputTypeError", "x0"),
    _case("sparse_jacobian/f_not_callable", "sa.sparse_jacobian(3, np.ones(3))",
          "InputTypeError", "f"),
    _case("sparse_jacobian/mode", f"sa.sparse_jacobian({F}, np.ones(3), mode='sideways')",
          "ValueError", "mode"),
    _case("sparse_jacobian/backend", f"sa.sparse_jacobian({F}, np.ones(3), backend='gpu')",
          "ValueError", "backend"),
    _case("sparse_jacobian/order", f"sa.sparse_jacobian({F}, np.ones(3), order='best')",
          "ColoringError", "order"),
    _case("jac/x_wrong_shape", f"sa.sparse_jacobian({F}, np.ones(3))(np.ones(4))",
          "InputError", "x"),
    _case("jac/x_sparse", f"sa.sparse_jacobian({F}, np.ones(3))(sp.csr_array(np.ones((1, 3))))",
          "InputTypeError", "x"),
    _case("jac/x_none", f"sa.sparse_jacobian({F}, np.ones(3))(None)", "InputTypeError", "x"),
    _case("jac/extra_argument", f"sa.sparse_jacobian({F}, np.ones(3))(np.ones(3), 2.0)",
          "InputError", "args"),
    _case("jac/traced_argument_reshaped",
          "jac = sa.sparse_jacobian(lambda x, a: x * a, np.ones(3), (np.ones(3),))\n"
          "jac(np.ones(3), np.ones(4))", "InputError", "args[0]"),
    _case("sparse_hessian/vector_f", f"sa.sparse_hessian({F}, np.ones(3))", "ScalarOutputError",
          "f"),
    _case("sparse_hessian/triangle", "sa.sparse_hessian(lambda x: np.sum(x ** 3), np.ones(3), "
          "triangle='diag')", "ValueError", "triangle"),
    _case("sparse_hessian/coloring", "sa.sparse_hessian(lambda x: np.sum(x ** 3), np.ones(3), "
          "coloring='greedy')", "ValueError", "coloring"),
    _case("sparse_hessian/decompression", "sa.sparse_hessian(lambda x: np.sum(x ** 3), "
          "np.ones(3), decompression='star')", "ValueError", "decompression"),
    _case("sparse_jacobian/order_before_tracing", "sa.sparse_jacobian(lambda x: x[9], np.ones(3), "
          "order='biggest_first')", "ColoringError", "order"),
    _case("hessp/p_wrong_length", "sa.sparse_hessian(lambda x: np.sum(x ** 3), np.ones(3))"
          ".hessp(np.ones(3), np.ones(2))", "InputError", "p"),
    _case("gradient/cache_size_zero", "sa.gradient(lambda x: np.sum(x), cache_size=0)",
          "InputError", "cache_size"),
    _case("gradient/cache_size_text", "sa.gradient(lambda x: np.sum(x), cache_size='8')",
          "InputTypeError", "cache_size"),
    _case("gradient/f_not_callable", "sa.gradient(None)", "InputTypeError", "f"),
    _case("jvp/v_wrong_length", "sa.jvp(np.sin, np.ones(2), np.ones(3))", "InputError", "v"),
    _case("vjp/w_wrong_length", "sa.vjp(np.sin, np.ones(2), np.ones(3))", "InputError", "w"),
    _case("hvp/args_not_tuple", "sa.hvp(lambda x, a: np.sum(a * x ** 3), np.ones(2), "
          "np.ones(2), args=np.ones(2))", "InputTypeError", "args"),
    _case("jacobian_sparsity/args_string", f"sa.jacobian_sparsity({F}, np.ones(3), 'abc')",
          "InputTypeError", "args"),
    _case("hessian_sparsity/x_sparse", "sa.hessian_sparsity(lambda x: np.sum(x), "
          "sp.csr_array(np.ones((1, 2))))", "InputTypeError", "x"),
    _case("color/seed_text", "sa.color(P, 'column', 'random', seed='abc')", "ColoringError",
          "seed", "'abc'"),
    _case("color/seed_negative", "sa.color(P, 'column', 'random', seed=-1)", "ColoringError",
          "seed", "-1"),
    _case("color/seed_float", "sa.color(P, 'column', 'random', seed=1.5)", "ColoringError",
          "seed"),
    _case("color/seed_generator_ok",
          "c = sa.color(P, 'column', 'random', seed=np.random.default_rng(0))\n"
          "assert sa.is_valid_coloring(P, c.colors, 'column')"),
    _case("color/symmetrize_text", "sa.color(P, 'star', symmetrize='yes')", "ColoringError",
          "symmetrize"),
    _case("color/keep_explicit_zeros_none", "sa.color(P, keep_explicit_zeros=None)",
          "ColoringError", "keep_explicit_zeros"),
    _case("color/problem", "sa.color(P, 'diagonal')", "ColoringError", "problem"),
    _case("color/method", "sa.color(P, 'bidirectional', method='best')", "ColoringError",
          "method"),
    _case("color/order_empty_list", "sa.color(P, order=[])", "ColoringError", "order"),
    _case("color/order_callable_bad_permutation", "sa.color(P, order=lambda g: [0] * 6)",
          "ColoringError", "order"),
    _case("color/nonsymmetric_star",
          "sa.color(np.triu(np.ones((3, 3))), 'star')", "PatternError", "pattern", "symmetrize"),
    _case("color/rectangular_star", "sa.color(np.ones((2, 3)), 'star')", "PatternError",
          "pattern", "square"),
    _case("is_valid_coloring/problem", "sa.is_valid_coloring(P, np.zeros(6, int), 'x')",
          "ColoringError", "problem"),
    _case("is_valid_bicoloring/decompression",
          "sa.coloring.is_valid_bicoloring(P, (np.zeros(6, int), np.zeros(6, int)), "
          "decompression='x')", "ColoringError", "decompression"),
    _case("nonlinear_constraint/lb_wrong_length",
          "sa.nonlinear_constraint(lambda x: x[:2] ** 2, np.ones(3), np.zeros(5), 1.0)",
          "InputError", "lb", "2"),
    _case("nonlinear_constraint/ub_2d",
          "sa.nonlinear_constraint(lambda x: x[:2] ** 2, np.ones(3), 0.0, np.ones((2, 2)))",
          "InputError", "ub"),
    _case("nonlinear_constraint/keep_feasible_wrong_length",
          "sa.nonlinear_constraint(lambda x: x[:2] ** 2, np.ones(3), 0.0, 1.0, "
          "keep_feasible=[True] * 3)", "InputError", "keep_feasible"),
    _case("nonlinear_constraint/hess_v_wrong_length",
          "con = sa.nonlinear_constraint(lambda x: x[:2] ** 2, np.ones(3), 0.0, 1.0)\n"
          "con.hess(np.ones(3), np.ones(3))", "InputError", "v"),
    _case("ode_jacobian/t0_array", "sa.ode_jacobian(lambda t, y: -y, np.ones(3), t0=np.ones(2))",
          "InputError", "t0"),
    _case("ode_jacobian/y_wrong_shape", "sa.ode_jacobian(lambda t, y: -y, np.ones(3))"
          "(0.0, np.ones(4))", "InputError", "y"),
    _case("derivatives/hess", "sa.derivatives(lambda x: np.sum(x ** 2), np.ones(2), hess='x')",
          "InputError", "hess"),
    _case("minimize_ipopt/method", "sa.minimize_ipopt(lambda x: np.sum(x ** 2), np.ones(2), "
          "method='BFGS')", "InputError", "method"),
    _case("patterns/banded_float", "sa.patterns.banded(5.5, 1)", "TypeError", "n"),
    _case("patterns/banded_huge", "sa.patterns.banded(10**12, 1)", "PatternError", "banded",
          "GiB"),
    _case("patterns/laplacian_huge", "sa.patterns.laplacian((10**6, 10**6))", "PatternError",
          "laplacian", "GiB"),
    _case("patterns/random_huge", "sa.patterns.random_pattern(10**9, 10**9, density=1e-9)",
          "PatternError", "random_pattern", "GiB"),
    _case("patterns/random_seed_text", "sa.patterns.random_pattern(5, seed='abc')",
          "PatternError", "seed"),
    _case("decompress/B_none", "sa.color(P).decompress(None)", "DecompressionError", "B",
          "None"),
    # empty inputs are valid: a 0-column Jacobian, a 0 x 0 Hessian, an empty gradient
    _case("empty/jacobian_all_modes",
          "for mode in ('auto', 'forward', 'reverse', 'bidirectional'):\n"
          "    for backend in ('numpy', 'numba'):\n"
          "        J = sa.sparse_jacobian(lambda x: np.sin(x) * 2, np.zeros(0), mode=mode, "
          "backend=backend)(np.zeros(0))\n"
          "        assert J.shape == (0, 0) and J.nnz == 0"),
    _case("empty/jacobian_rows_without_columns",
          "J = sa.sparse_jacobian(lambda x: np.sum(x) * np.ones(3), np.zeros(0))(np.zeros(0))\n"
          "assert J.shape == (3, 0)"),
    _case("empty/jacobian_no_output",
          "J = sa.sparse_jacobian(lambda x: x[:0] * 2, np.ones(3))(np.ones(3))\n"
          "assert J.shape == (0, 3)"),
    _case("empty/hessian",
          "hess = sa.sparse_hessian(lambda x: np.sum(x ** 2), np.zeros(0))\n"
          "assert hess(np.zeros(0)).shape == (0, 0)\n"
          "assert hess.hessp(np.zeros(0), np.zeros(0)).shape == (0,)"),
    _case("empty/gradient", "assert sa.gradient(lambda x: np.sum(x ** 2))(np.zeros(0)).shape "
          "== (0,)"),
    _case("empty/jvp_vjp_hvp",
          "assert sa.jvp(np.sin, np.zeros(0), np.zeros(0))[1].shape == (0,)\n"
          "assert sa.vjp(np.sin, np.zeros(0), np.zeros(0))[1].shape == (0,)\n"
          "assert sa.hvp(lambda x: np.sum(x ** 3), np.zeros(0), np.zeros(0)).shape == (0,)"),
]
ARGUMENTS = [Case(c.id, c.code, c.raises, c.names, "arguments") for c in ARGUMENTS]

# --- files --------------------------------------------------------------------------------

MM = "%%MatrixMarket matrix coordinate real general\n"
FILE_SETUP = r'''
E = sp.csr_array(np.eye(5))
npz("bad_indices.npz", data=E.data, indices=np.array([0, 1, 2, 3, 100], np.int32),
    indptr=E.indptr, format="csr", shape=np.array(E.shape))
npz("bad_indptr.npz", data=E.data, indices=E.indices, indptr=np.array([0, 1, 9, 3, 4, 5]),
    format="csr", shape=np.array(E.shape))
npz("float_indices.npz", data=E.data, indices=E.indices.astype(float), indptr=E.indptr,
    format="csr", shape=np.array(E.shape))
npz("huge.npz", row=np.array([0]), col=np.array([0]), data=np.array([1.0]), format="coo",
    shape=np.array([10**9, 10**9]))
npz("not_sparse.npz", x=np.ones(3))
write("not_a_zip.npz", "hello")
write("symmetric_rect.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 4 1\n1 1 1.0\n")
write("out_of_range.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n5 2 2.0\n")
write("zero_index.mtx", "%%MatrixMarket matrix coordinate pattern general\n3 3 1\n0 1\n")
write("huge_coordinate.mtx", "%%MatrixMarket matrix coordinate real general\n1000000000 1000000000 1\n1 1 1.0\n")
write("huge_array.mtx", "%%MatrixMarket matrix array real general\n100000 100000\n1.0\n")
write("huge_nnz.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 1000000000000\n1 1 1.0\n")
write("junk.mtx", "hello\n")
write("empty.mtx", "")
write("bad_size.mtx", "%%MatrixMarket matrix coordinate real general\n3\n")
write("bad_field.mtx", "%%MatrixMarket matrix coordinate quaternion general\n1 1 1\n1 1 1\n")
write("not_gzip.mtx.gz", "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 1\n")
write("good.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 2 1\n3 3 1\n")
write("rect.mtx", "%%MatrixMarket matrix coordinate real general\n2 3 2\n1 1 1\n2 3 1\n")
write("not_a_table.csv", "hello,world\n1,2\n")
write("bad_table.csv", "matrix,problem,ordering,colors,distinct_colors,wall_seconds\n"
      "good,DISTANCE_ONE,NATURAL,abc,2,0.1\n")
with open(path("binary.csv"), "wb") as fh:
    fh.write(bytes(range(256)))
os.makedirs(path("folder"), exist_ok=True)
write("a_file", "x")
'''
#: Malformed files for read_matrix: file -> what the PatternError must name besides it.
BAD_FILES = {
    "bad_indices.npz": ("indices", "100"), "bad_indptr.npz": ("indptr",),
    "float_indices.npz": ("indices",), "huge.npz": ("GiB",), "not_sparse.npz": (),
    "not_a_zip.npz": (), "symmetric_rect.mtx": ("square",), "out_of_range.mtx": ("1-based",),
    "zero_index.mtx": ("1-based",), "huge_coordinate.mtx": ("GiB",),
    "huge_array.mtx": ("GiB",), "huge_nnz.mtx": ("GiB",), "junk.mtx": ("%%MatrixMarket",),
    "empty.mtx": (), "bad_size.mtx": ("size line",), "bad_field.mtx": ("quaternion",),
    "not_gzip.mtx.gz": (), "folder": (),
}
FILES = [_case(f"read/{name}", f"read_matrix(path({name!r}))", "PatternError", name, *names)
         for name, names in BAD_FILES.items()]
FILES += [
    _case("read/missing", "read_matrix(path('missing.mtx'))", "FileNotFoundError",
          "missing.mtx"),
    _case("read/good_is_canonical_int64",
          "A = read_matrix(path('good.mtx'))\nassert A.indices.dtype == np.int64 and A.nnz == 3"),
    _case("read_reference/not_a_table", "read_reference(path('not_a_table.csv'))",
          "TableError", "not_a_table.csv", "wall_seconds"),
    _case("read_reference/bad_number", "read_reference(path('bad_table.csv'))", "TableError",
          "bad_table.csv", "line 2", "abc"),
    _case("read_reference/binary", "read_reference(path('binary.csv'))", "TableError",
          "binary.csv"),
]
FILES = [Case(c.id, c.code, c.raises, c.names, "files") for c in FILES]

CLI = [
    Cli("color/npz_bad_indices", ("color", "{TMP}/bad_indices.npz"), ("indices",)),
    Cli("color/npz_bad_indptr", ("color", "{TMP}/bad_indptr.npz"), ("indptr",)),
    Cli("color/npz_huge", ("color", "{TMP}/huge.npz"), ("GiB",)),
    Cli("color/mtx_symmetric_not_square", ("color", "{TMP}/symmetric_rect.mtx"), ("square",)),
    Cli("color/mtx_huge_array", ("color", "{TMP}/huge_array.mtx"), ("GiB",)),
    Cli("color/missing_file", ("color", "{TMP}/missing.mtx"), ("missing.mtx",)),
    Cli("color/folder", ("color", "{TMP}/folder"), ("folder",)),
    Cli("color/repeat_zero", ("color", "{TMP}/good.mtx", "--repeat", "0"), ("--repeat",)),
    Cli("color/repeat_negative", ("color", "{TMP}/good.mtx", "--repeat", "-1"), ("--repeat",)),
    Cli("color/repeat_huge", ("color", "{TMP}/good.mtx", "--repeat", "1000000000"),
        ("--repeat", "10000")),
    Cli("color/repeat_text", ("color", "{TMP}/good.mtx", "--repeat", "many"), ("--repeat",)),
    Cli("color/seed_negative", ("color", "{TMP}/good.mtx", "--order", "random", "--seed", "-1"),
        ("--seed",)),
    Cli("color/problem", ("color", "{TMP}/good.mtx", "--problem", "nope"), ("problem",)),
    Cli("color/order", ("color", "{TMP}/good.mtx", "--order", "nope"), ("order",)),
    Cli("color/output_suffix", ("color", "{TMP}/good.mtx", "-o", "{TMP}/c.xyz"), ("--output",)),
    Cli("color/output_folder_missing", ("color", "{TMP}/good.mtx", "-o", "{TMP}/no/c.txt"),
        ("c.txt",)),
    Cli("color/star_on_rectangle", ("color", "{TMP}/rect.mtx", "--problem", "star"),
        ("square",)),
    Cli("color/no_file", ("color",), ("file",)),
    Cli("bench/orders_empty", ("bench", "{TMP}/good.mtx", "--orders", ""), ("order",)),
    Cli("bench/problems_empty", ("bench", "{TMP}/good.mtx", "--problems", ""), ("problem",)),
    Cli("bench/orders_blank", ("bench", "{TMP}/good.mtx", "--orders", " , "), ("order",)),
    Cli("bench/repeat_zero", ("bench", "{TMP}/good.mtx", "--repeat", "0"), ("--repeat",)),
    Cli("bench/reference_not_a_table", ("bench", "{TMP}/good.mtx", "--reference",
                                        "{TMP}/not_a_table.csv"), ("reference table",)),
    Cli("bench/reference_binary", ("bench", "{TMP}/good.mtx", "--reference",
                                   "{TMP}/binary.csv"), ("reference table",)),
    Cli("bench/reference_folder", ("bench", "{TMP}/good.mtx", "--reference", "{TMP}/folder"),
        ("reference",)),
    Cli("bench/compare", ("bench", "{TMP}/good.mtx", "--compare", "igraph"), ("--compare",)),
    Cli("bench/missing_folder", ("bench", "{TMP}/nowhere"), ("nowhere",)),
    Cli("bench/csv_folder_missing", ("bench", "{TMP}/good.mtx", "--csv", "{TMP}/no/r.csv",
                                     "--no-progress"), ("r.csv",)),
    Cli("show/size_huge", ("show", "{TMP}/good.mtx", "--size", "100000x100000"), ("--size",)),
    Cli("show/size_text", ("show", "{TMP}/good.mtx", "--size", "big"), ("--size",)),
    Cli("show/size_zero", ("show", "{TMP}/good.mtx", "--size", "0x0"), ("--size",)),
    Cli("show/dpi_zero", ("show", "{TMP}/good.mtx", "--dpi", "0"), ("--dpi",)),
    Cli("show/dpi_negative", ("show", "{TMP}/good.mtx", "--dpi", "-5"), ("--dpi",)),
    Cli("show/output_format", ("show", "{TMP}/good.mtx", "-o", "{TMP}/a.xyz"), ("--output",)),
    Cli("show/output_no_suffix", ("show", "{TMP}/good.mtx", "-o", "{TMP}/picture"),
        ("--output",)),
    Cli("generate/output_is_a_file", ("generate", "-o", "{TMP}/a_file"), ("a_file",)),
    Cli("unknown_command", ("paint",), ("paint",)),
]

CASES = STRUCTURE + STALE + ARGUMENTS + FILES + CLI
SETUP = {"files": FILE_SETUP, "cli": FILE_SETUP}


# --- the crash-proof runner ----------------------------------------------------------------

def _payload(case):
    if isinstance(case, Cli):
        return {"id": case.id, "argv": list(case.argv)}
    return {"id": case.id, "code": case.code}


def _spawn(cases, tmp, setup, timeout):
    """Run ``cases`` in one worker; return ``(results by id, id running at the end, status,
    the end of its stderr)``. The worker is killed when one case runs longer than
    ``timeout`` seconds (no line for that long) or the group longer than GROUP_TIMEOUT."""
    job = json.dumps({"tmp": tmp, "setup": setup, "cases": [_payload(c) for c in cases],
                      "bare": cases[0].group == "selftest"})
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen([sys.executable, WORKER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines, errors = queue.Queue(), []
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)],
                     daemon=True).start()
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    proc.stdin.write(job)
    proc.stdin.close()
    results, running, status = {}, None, None
    deadline = time.monotonic() + GROUP_TIMEOUT
    while True:
        try:
            line = lines.get(timeout=max(0.0, min(timeout, deadline - time.monotonic())))
        except queue.Empty:
            proc.kill()
            status = "timeout"
            break
        if line is None:
            break
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("started"):
            running = rec["id"]
        else:
            results[rec["id"]] = rec
            running = None
    code = proc.wait()
    if status is None:
        status = "ok" if code == 0 else f"died ({_signal_name(code)})"
    return results, running, status, "".join(errors)[-2000:]


def _signal_name(code):
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def run_cases(cases, tmp):
    """Results of ``cases`` (same group), each run in a worker that may die or hang."""
    pending = list(cases)
    results = {}
    setup = SETUP.get(cases[0].group) if cases else None
    while pending:
        got, running, status, err = _spawn(pending, tmp, setup, CASE_TIMEOUT)
        results.update(got)
        pending = [c for c in pending if c.id not in results]
        if not pending:
            break
        if running is None:       # died before its first case (or between cases)
            for c in pending:
                results[c.id] = {"id": c.id, "outcome": "crash", "message": f"{status}: {err}"}
            break
        suspect = next(c for c in pending if c.id == running)
        alone, _, status1, err1 = _spawn([suspect], tmp, setup, CASE_TIMEOUT)
        if suspect.id in alone:   # it passes alone: the group's process died for it anyway
            results[suspect.id] = dict(alone[suspect.id], note=f"in its group: {status}")
        else:
            kind = "hang" if status1 == "timeout" else "crash"
            results[suspect.id] = {"id": suspect.id, "outcome": kind,
                                   "message": f"{status1}: {err1}"}
        pending = [c for c in pending if c.id != suspect.id]
    return results


def classify(case, res):
    """``(verdict, explanation)``: clear, silent, unclear, crash, hang (or skipped)."""
    outcome = res.get("outcome")
    if outcome == "skipped":
        return "skipped", res.get("message", "")
    if outcome in ("crash", "hang"):
        return outcome, res.get("message", "")
    if isinstance(case, Cli):
        if outcome != "exit":
            return "unclear", f"{outcome}: {res.get('type')} {res.get('message')}"
        lines = res["message"].strip().splitlines()
        if res["code"] == 0:
            return "silent", f"exit 0 (accepted): {res['message']}"
        ok = (res["code"] == 2 and len(lines) == 1 and lines[0].startswith("sparsead: error: ")
              and all(n in lines[0] for n in case.names))
        return ("clear" if ok else "unclear"), f"exit {res['code']}: {res['message']}"
    if case.raises is None:
        if outcome == "returned":
            return "clear", ""
        if outcome == "wrong":
            return "silent", res.get("message", "")
        return "unclear", f"{res.get('type')}: {res.get('message')}\n{res.get('where', '')}"
    if outcome in ("returned", "wrong"):
        return "silent", f"no error (expected {case.raises}) {res.get('message', '')}"
    message = res.get("message", "")
    missing = [n for n in case.names if n not in message]
    if res.get("type") != case.raises or missing:
        return "unclear", (f"{res.get('type')} (expected {case.raises}), missing {missing}: "
                           f"{message}\n{res.get('where', '')}")
    return "clear", ""


_RESULTS = {}


def _results():
    if not _RESULTS:
        with tempfile.TemporaryDirectory() as tmp:
            groups = {}
            for c in CASES:
                groups.setdefault(c.group, []).append(c)
            for group, cases in groups.items():
                for cid, res in run_cases(cases, tmp).items():
                    _RESULTS[group, cid] = res
    return _RESULTS


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}:{c.id}" for c in CASES])
def test_case_is_answered_clearly(case):
    verdict, why = classify(case, _results()[case.group, case.id])
    if verdict == "skipped":
        pytest.skip(why or "optional dependency missing")
    assert verdict == "clear", f"{verdict}: {why}"


def test_case_ids_are_unique():
    ids = [(c.group, c.id) for c in CASES]
    assert len(ids) == len(set(ids))


def test_runner_survives_a_crash_and_a_hang(tmp_path):
    """The runner itself: a segfault and a hang inside a group are attributed to their
    cases, and the cases after them still run."""
    cases = [_case("ok1", "x = 1", group="selftest"),
             _case("segfault", "import ctypes\nctypes.string_at(0)", group="selftest"),
             _case("ok2", "x = 2", group="selftest"),
             _case("hang", "import time\nwhile True: time.sleep(1)", group="selftest"),
             _case("ok3", "x = 3", group="selftest")]
    global GROUP_TIMEOUT, CASE_TIMEOUT
    saved = GROUP_TIMEOUT, CASE_TIMEOUT
    GROUP_TIMEOUT, CASE_TIMEOUT = 6, 3
    try:
        res = run_cases(cases, str(tmp_path))
    finally:
        GROUP_TIMEOUT, CASE_TIMEOUT = saved
    verdicts = {c.id: classify(c, res[c.id])[0] for c in cases}
    assert verdicts == {"ok1": "clear", "segfault": "crash", "ok2": "clear", "hang": "hang",
                        "ok3": "clear"}


def summary():
    counts = {"clear": 0, "silent": 0, "unclear": 0, "crash": 0, "hang": 0, "skipped": 0}
    lines = []
    for c in CASES:
        verdict, why = classify(c, _results()[c.group, c.id])
        counts[verdict] += 1
        if verdict not in ("clear", "skipped"):
            lines.append(f"{verdict:8s} {c.group}:{c.id}: {why.strip()[:300]}")
    per_group = {}
    for c in CASES:
        per_group[c.group] = per_group.get(c.group, 0) + 1
    head = (f"{len(CASES)} cases ({', '.join(f'{g} {n}' for g, n in per_group.items())}): "
            + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join([head] + lines)


if __name__ == "__main__":
    print(summary())
