"""The mirror positions that decompression plans read off the coloring graph's edge ids.

``pattern_mirror`` replaces a binary search per entry (star colorings) and a
sparse transpose (acyclic colorings); checked against the transpose on random
symmetric patterns (with and without diagonal entries) and augmented bidirectional
patterns, and against the definition entry by entry.
"""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsead.coloring import graphs
from sparsead.coloring.decompression import pattern_mirror
from sparsead.coloring.greedy import build_graph


def _check(graph):
    p = graph.pattern
    got = pattern_mirror(graph)
    want = graphs.mirror_positions(np.asarray(p.indptr, np.int64),
                                   np.asarray(p.indices, np.int64), p.shape[0])
    assert np.array_equal(got, want)
    rows = graphs.row_ids(p.indptr)
    assert np.array_equal(rows[got], p.indices) and np.array_equal(p.indices[got], rows)


@settings(derandomize=True, max_examples=80, deadline=None)
@given(n=st.integers(1, 30), density=st.floats(0.0, 0.7), seed=st.integers(0, 2**16),
       diagonal=st.booleans(), problem=st.sampled_from(["star", "acyclic", "distance2"]))
def test_symmetric_pattern_mirrors(n, density, seed, diagonal, problem):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((n, n)) < density, 1)
    mask = upper | upper.T | (np.eye(n, dtype=bool) & diagonal)
    p = sp.csr_array(mask)
    p.sort_indices()
    _check(build_graph(p, problem))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(m=st.integers(1, 25), n=st.integers(1, 25), density=st.floats(0.0, 0.6),
       seed=st.integers(0, 2**16))
def test_augmented_pattern_mirrors(m, n, density, seed):
    rng = np.random.default_rng(seed)
    p = sp.csr_array(rng.random((m, n)) < density)
    p.sort_indices()
    _check(build_graph(p, "bidirectional"))
