"""Input validation: canonical forms of valid sparse input, and baked-argument comparison.

Valid matrices of every scipy.sparse format (unsorted, with duplicates, int32 or
int64 indices) must give exactly scipy's own canonical matrix, without touching
the input. Baked arguments must compare equal to equal copies and unequal to
every kind of change. Malformed matrices are exercised in tests/test_catalogue.py,
where a crash cannot take the test run down.
"""

import copy
import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsead._errors import InputError, InputTypeError, PatternError
from sparsead._validation import ArgSpec, as_csr, as_pattern, check_size

FORMATS = ("csr", "csc", "coo", "bsr", "lil", "dok", "dia")


def _reference(coo):
    """scipy's own canonical CSR of the same entries (duplicates summed)."""
    ref = sp.csr_array(coo.copy())
    ref.sum_duplicates()
    ref.sort_indices()
    return ref


@st.composite
def _matrices(draw):
    m = draw(st.integers(0, 7))
    n = draw(st.integers(0, 7))
    k = draw(st.integers(0, 20)) if m and n else 0
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = rng.integers(0, max(m, 1), k)
    cols = rng.integers(0, max(n, 1), k)
    vals = rng.integers(-2, 3, k).astype(np.float64)       # zeros and cancelling duplicates
    coo = sp.coo_array((vals, (rows, cols)), shape=(m, n))
    fmt = draw(st.sampled_from(FORMATS))
    if fmt == "bsr":
        a = sp.bsr_array(coo, blocksize=(1, 1))
    elif fmt in ("lil", "dok", "dia"):
        a = coo.asformat(fmt)
    else:
        a = coo.asformat(fmt)
        if fmt in ("csr", "csc"):                 # reverse the order inside each row
            for r in range(a.indptr.size - 1):
                seg = slice(a.indptr[r], a.indptr[r + 1])
                a.indices[seg] = a.indices[seg][::-1].copy()
                a.data[seg] = a.data[seg][::-1].copy()
            a.has_sorted_indices = False
    if draw(st.booleans()) and fmt in ("csr", "csc", "bsr"):
        a.indices = a.indices.astype(np.int64)
        a.indptr = a.indptr.astype(np.int64)
    return a


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_matrices())
def test_as_csr_is_scipys_canonical_matrix_and_leaves_the_input_alone(a):
    before = a.copy()
    got = as_csr(a)
    ref = _reference(a.tocoo())      # scipy's own reading of the same object (DIA drops zeros)
    assert got.shape == ref.shape
    assert got.indices.dtype == np.int64 and got.indptr.dtype == np.int64
    assert np.array_equal(got.indptr, ref.indptr)
    assert np.array_equal(got.indices, ref.indices)
    assert np.array_equal(got.data, ref.data)
    assert (a != before).nnz == 0 and a.format == before.format
    p = as_pattern(a)
    assert np.array_equal(p.indices, ref.indices) and p.dtype == bool
    q = as_pattern(a, keep_explicit_zeros=False)
    ref.eliminate_zeros()
    assert np.array_equal(q.indptr, ref.indptr) and np.array_equal(q.indices, ref.indices)


def test_as_csr_never_shares_memory_with_the_input():
    a = sp.csr_array(np.eye(3))
    a.indices = a.indices.astype(np.int64)
    a.indptr = a.indptr.astype(np.int64)
    got = as_csr(a)
    for x, y in ((got.data, a.data), (got.indices, a.indices), (got.indptr, a.indptr)):
        assert not np.shares_memory(x, y)


def test_check_size_refuses_what_cannot_fit():
    check_size((10**6, 10**6), 10**6)
    with pytest.raises(PatternError, match="GiB"):
        check_size((10**12, 10), 1)


@dataclasses.dataclass(frozen=True)
class _Params:
    k: int
    name: str


#: (value, changed value): each baked kind, and one change of it that must be noticed.
BAKED = [
    (3, 4),
    (0.5, float("nan")),
    (float("nan"), 0.0),
    ("upwind", "central"),
    (None, 0),
    (True, 1),
    (np.int64(2), 2),
    (np.array([1, 0, 3]), np.array([1, 5, 3])),
    (np.array([1, 0, 3]), np.array([1, 0, 3], dtype=np.int32)),
    (np.array([True, False]), np.array([True, True])),
    ([np.array([[1.0, np.nan]])], [np.array([[1.0, 2.0]])]),   # floats in a list: baked
    ([1.0, 2.0], [1.0, 2.0, 3.0]),
    ((1, [2, 3]), (1, [2, 4])),
    ({"k": np.arange(3)}, {"k": np.arange(3) + 1}),
    ({"k": 1}, {"j": 1}),
    (sp.csr_array(np.diag([1.0, 2.0])), sp.csr_array(np.diag([1.0, 3.0]))),
    (sp.csr_array(np.diag([1.0, 2.0])), sp.csc_array(np.diag([1.0, 2.0]))),
    (sp.coo_array(np.diag([1.0, 2.0])), sp.coo_array(np.eye(2))),
    (_Params(1, "a"), _Params(2, "a")),
    (np.sin, np.cos),
    (frozenset({1, 2}), frozenset({1})),
    (slice(0, 3), slice(0, 4)),
]


@pytest.mark.parametrize("value, changed", BAKED, ids=[type(v).__name__ for v, _ in BAKED])
def test_baked_arguments_equal_copies_pass_and_changes_raise(value, changed):
    spec = ArgSpec((value,))
    same = value if callable(value) and not isinstance(value, type) else copy.deepcopy(value)
    assert spec.matches((same,))
    spec.traced_values((same,))
    assert not spec.matches((changed,))
    with pytest.raises(InputError, match=r"`args\[0\]"):
        spec.traced_values((changed,))


def test_baked_copy_is_private():
    k = np.array([1, 0, 3])
    spec = ArgSpec((k,))
    k[1] = 7
    assert list(spec.baked[0]) == [1, 0, 3]
    assert not spec.matches((k,))


@pytest.mark.parametrize("value", [object(), np.array([{}], dtype=object), type("C", (), {})()],
                         ids=["object", "object_array", "class_instance"])
def test_objects_without_value_equality_are_refused(value):
    with pytest.raises(InputTypeError, match=r"args\[0\]"):
        ArgSpec((value,))


def test_args_must_be_a_tuple():
    for args in ([1.0], 1.0, "ab", np.ones(2)):
        with pytest.raises(InputTypeError, match="tuple"):
            ArgSpec(args)
