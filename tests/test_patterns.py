"""Generated patterns: sizes from closed-form counts, symmetry, round trip through data files."""

import numpy as np
import scipy.io
import scipy.sparse as sp

from sparsead import patterns


def _dense_laplacian(shape, periodic):
    grid = np.arange(int(np.prod(shape))).reshape(shape)
    n = grid.size
    a = np.eye(n, dtype=bool)
    for axis in range(len(shape)):
        for step in (-1, 1):
            nb = np.roll(grid, -step, axis=axis)
            valid = np.ones(shape, dtype=bool)
            if not periodic:
                idx = [slice(None)] * len(shape)
                idx[axis] = -1 if step == 1 else 0
                valid[tuple(idx)] = False
            a[grid[valid], nb[valid]] = True
    return a


def test_laplacian_matches_dense_construction():
    for shape in [(5,), (4, 3), (3, 4, 2)]:
        for periodic in (False, True):
            want = _dense_laplacian(shape, periodic)
            got = patterns.laplacian(shape, periodic=periodic).toarray()
            np.testing.assert_array_equal(got, want)


def test_closed_form_counts():
    assert patterns.banded(10, 2).nnz == 10 + 2 * 9 + 2 * 8
    assert patterns.arrowhead(7).nnz == 3 * 7 - 2
    assert patterns.brusselator_pattern(6).shape == (72, 72)
    assert patterns.brusselator_pattern(6).nnz == 432


def test_random_symmetric_is_symmetric_with_diagonal():
    p = patterns.random_pattern(40, density=0.1, symmetric=True, seed=3)
    assert (p != p.T).nnz == 0
    assert p.diagonal().all()


def test_bundled_data_round_trip(tmp_path):
    paths = patterns.write_bundled_data(tmp_path)
    expected = patterns._bundled_problems()
    assert len(paths) == len(expected)
    for path, (name, want) in zip(paths, expected.items()):
        got = sp.csr_array(scipy.io.mmread(path)).astype(bool)
        assert got.shape == want.shape, name
        assert (got != want).nnz == 0, name
