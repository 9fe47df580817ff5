"""Generated sparsity patterns: the problems the tests, benchmarks and CLI share.

Every generator returns a boolean ``scipy.sparse.csr_array`` with sorted
indices and no explicit zeros, built with vectorised numpy/scipy code (no
Python loop over entries). :func:`write_bundled_data` writes the set that ships
in the repository's ``data/`` folder; ``sparsead generate`` calls it.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.io
import scipy.sparse as sp

from ._errors import PatternError
from ._validation import check_seed, check_size

__all__ = [
    "laplacian",
    "banded",
    "arrowhead",
    "random_pattern",
    "brusselator_pattern",
    "arrowhead_band",
    "dense_rows",
    "random_geometric",
    "power_law",
    "permuted_band",
    "write_bundled_data",
]


def _sizes(**sizes) -> None:
    """Refuse sizes that are not integers (bools included) with a message naming them."""
    for name, value in sizes.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"`{name}` must be an integer, got {value!r}.")


def _fits(shape, nnz, what) -> None:
    """A generated pattern must fit in memory (else a PatternError, not the OOM killer)."""
    check_size(shape, int(nnz), what)


def _as_bool_csr(a) -> sp.csr_array:
    a = sp.csr_array(a, dtype=bool)
    a.eliminate_zeros()
    a.sum_duplicates()
    a.sort_indices()
    return a


def _path_pattern(n: int, periodic: bool) -> sp.csr_array:
    """Pattern of the 1-D 3-point stencil (with wrap-around if periodic)."""
    rows = np.arange(n)
    off = [-1, 0, 1]
    blocks = []
    for k in off:
        j = rows + k
        if periodic:
            j = j % n
            keep = np.ones(n, dtype=bool)
        else:
            keep = (j >= 0) & (j < n)
        blocks.append((rows[keep], j[keep]))
    r = np.concatenate([b[0] for b in blocks])
    c = np.concatenate([b[1] for b in blocks])
    return _as_bool_csr(sp.coo_array((np.ones(r.size, dtype=bool), (r, c)), shape=(n, n)))


def laplacian(shape, periodic: bool = False) -> sp.csr_array:
    """Pattern of the (2d+1)-point finite-difference Laplacian on a grid.

    Parameters
    ----------
    shape : int or tuple of int
        Grid size per dimension; ``(100, 100, 100)`` gives the 3-D 7-point
        Laplacian with 10**6 unknowns. Unknowns are numbered in C order.
    periodic : bool, optional
        Wrap the stencil around each dimension.

    Returns
    -------
    scipy.sparse.csr_array
        Symmetric boolean pattern of shape ``(N, N)`` with ``N = prod(shape)``.

    Examples
    --------
    >>> from sparsead.patterns import laplacian
    >>> laplacian((3, 3)).nnz
    33
    """
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    _sizes(**{f"shape[{k}]": s for k, s in enumerate(shape)})
    shape = tuple(int(s) for s in shape)
    if any(s < 1 for s in shape):
        raise ValueError(f"`shape` must hold positive sizes, got {shape}.")
    N = int(np.prod(shape, dtype=object))
    _fits((N, N), N * (2 * len(shape) + 1) * len(shape), f"laplacian({shape})")
    total = None
    for axis, size in enumerate(shape):
        factors = [sp.eye_array(s, dtype=bool, format="csr") for s in shape]
        factors[axis] = _path_pattern(size, periodic)
        term = factors[0]
        for f in factors[1:]:
            term = sp.kron(term, f, format="csr")
        total = term if total is None else total + term
    return _as_bool_csr(total)


def banded(n: int, half_bandwidth: int) -> sp.csr_array:
    """Symmetric banded pattern: entry (i, j) present iff ``|i - j| <= half_bandwidth``.

    The pattern has ``rho = 2 * half_bandwidth`` off-diagonal bands.

    Examples
    --------
    >>> from sparsead.patterns import banded
    >>> banded(5, 1).nnz
    13
    """
    _sizes(n=n, half_bandwidth=half_bandwidth)
    if n < 0 or half_bandwidth < 0:
        raise ValueError(
            f"`n` and `half_bandwidth` must be non-negative, got n={n}, "
            f"half_bandwidth={half_bandwidth}."
        )
    _fits((n, n), n * (2 * min(half_bandwidth, n) + 1), f"banded({n}, {half_bandwidth})")
    offsets = list(range(-half_bandwidth, half_bandwidth + 1))
    offsets = [k for k in offsets if abs(k) < max(n, 1)]
    if n == 0:
        return sp.csr_array((0, 0), dtype=bool)
    diagonals = [np.ones(n - abs(k), dtype=np.int8) for k in offsets]
    return _as_bool_csr(sp.diags_array(diagonals, offsets=offsets, shape=(n, n), dtype=np.int8))


def arrowhead(n: int) -> sp.csr_array:
    """Arrowhead pattern: dense first row and column plus the diagonal (3n - 2 entries).

    Examples
    --------
    >>> from sparsead.patterns import arrowhead
    >>> arrowhead(5).nnz
    13
    """
    _sizes(n=n)
    if n < 1:
        raise ValueError(f"`n` must be positive, got {n}.")
    _fits((n, n), 3 * n, f"arrowhead({n})")
    idx = np.arange(n)
    r = np.concatenate([idx, np.zeros(n - 1, dtype=idx.dtype), idx[1:]])
    c = np.concatenate([idx, idx[1:], np.zeros(n - 1, dtype=idx.dtype)])
    return _as_bool_csr(sp.coo_array((np.ones(r.size, dtype=bool), (r, c)), shape=(n, n)))


def random_pattern(m: int, n: int | None = None, density: float = 0.01, *,
                   symmetric: bool = False, seed=None) -> sp.csr_array:
    """Random pattern with about ``density * m * n`` entries.

    With ``symmetric=True`` the pattern is ``P | P.T`` with a full diagonal
    (``n`` must then equal ``m``).

    Examples
    --------
    >>> from sparsead.patterns import random_pattern
    >>> P = random_pattern(50, symmetric=True, density=0.05, seed=0)
    >>> bool((P != P.T).nnz == 0)
    True
    """
    n = m if n is None else n
    _sizes(m=m, n=n)
    if m < 0 or n < 0:
        raise ValueError(f"`m` and `n` must be non-negative, got ({m}, {n}).")
    if symmetric and n != m:
        raise ValueError(f"`symmetric=True` needs a square shape, got ({m}, {n}).")
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"`density` must lie in [0, 1], got {density}.")
    _fits((m, n), 3 * density * m * n + m, f"random_pattern({m}, {n}, density={density})")
    rng = np.random.default_rng(check_seed(seed, error=PatternError))
    a = sp.random_array((m, n), density=density, format="csr", rng=rng, dtype=np.float64)
    a = _as_bool_csr(a)
    if symmetric:
        a = _as_bool_csr(a + a.T + sp.eye_array(m, dtype=bool))
    return a


def brusselator_pattern(N: int) -> sp.csr_array:
    """Jacobian pattern of the 2-D Brusselator on a periodic N x N grid.

    Unknowns are ``x = concatenate([u.ravel(), v.ravel()])`` (``n = 2 N**2``);
    each equation couples its species' 5-point periodic Laplacian with the
    other species at the same grid point. For ``N = 6`` the pattern is 72 x 72
    with 432 entries (for ``N >= 3``).

    Examples
    --------
    >>> from sparsead.patterns import brusselator_pattern
    >>> brusselator_pattern(6).nnz
    432
    """
    _sizes(N=N)
    if N < 1:
        raise ValueError(f"`N` must be positive, got {N}.")
    _fits((2 * N * N, 2 * N * N), 12 * N * N, f"brusselator_pattern({N})")
    lap = laplacian((N, N), periodic=True)
    eye = sp.eye_array(N * N, dtype=bool, format="csr")
    block = sp.block_array([[lap, eye], [eye, lap]], format="csr")
    return _as_bool_csr(block)


def arrowhead_band(n: int, half_bandwidth: int = 1) -> sp.csr_array:
    """An arrowhead plus a band: dense first row and column, ``|i - j| <= half_bandwidth``.

    The hard case of distance-2 orders: the dense row makes every column a
    distance-2 neighbour of every other.

    Examples
    --------
    >>> from sparsead.patterns import arrowhead_band
    >>> arrowhead_band(6, 1).nnz
    24
    """
    _sizes(n=n, half_bandwidth=half_bandwidth)
    if n < 1:
        raise ValueError(f"`n` must be positive, got {n}.")
    return _as_bool_csr(arrowhead(n) + banded(n, half_bandwidth))


def dense_rows(m: int, n: int, n_dense: int = 3, per_row: int = 4, *, seed=None) -> sp.csr_array:
    """An ``m x n`` pattern with ``per_row`` random entries per row, ``n_dense`` rows full.

    The dense rows are spread evenly over the rows; every column has an entry
    on the diagonal band ``j = i mod n`` so that none is empty.

    Examples
    --------
    >>> from sparsead.patterns import dense_rows
    >>> P = dense_rows(100, 30, n_dense=2, per_row=3, seed=0)
    >>> P.shape, int(P.sum(axis=1).max())
    ((100, 30), 30)
    """
    _sizes(m=m, n=n, n_dense=n_dense, per_row=per_row)
    if m < 1 or n < 1 or per_row < 0 or not 0 <= n_dense <= m:
        raise ValueError(f"need m, n >= 1, per_row >= 0 and 0 <= n_dense <= m, got m={m}, "
                         f"n={n}, n_dense={n_dense}, per_row={per_row}.")
    _fits((m, n), m * (per_row + 1) + n_dense * n, f"dense_rows({m}, {n}, {n_dense}, {per_row})")
    rng = np.random.default_rng(check_seed(seed, error=PatternError))
    rows = np.repeat(np.arange(m), per_row)
    cols = rng.integers(0, n, size=rows.size)
    dense = np.linspace(0, m - 1, n_dense).astype(np.int64) if n_dense else np.zeros(0, np.int64)
    r = np.concatenate([rows, np.arange(m), np.repeat(dense, n)])
    c = np.concatenate([cols, np.arange(m) % n, np.tile(np.arange(n), dense.size)])
    return _as_bool_csr(sp.coo_array((np.ones(r.size, dtype=bool), (r, c)), shape=(m, n)))


def random_geometric(n: int, degree: float = 8.0, *, dim: int = 2, seed=None) -> sp.csr_array:
    """Random geometric graph: ``n`` points in the unit cube, linked when closer than ``r``.

    ``r`` is chosen so that a vertex has about ``degree`` neighbours; the
    pattern is symmetric with a full diagonal (a mesh-like Hessian).

    Examples
    --------
    >>> from sparsead.patterns import random_geometric
    >>> P = random_geometric(500, 6.0, seed=0)
    >>> bool((P != P.T).nnz == 0), P.shape
    (True, (500, 500))
    """
    from scipy.spatial import cKDTree
    from scipy.special import gamma

    _sizes(n=n, dim=dim)
    if n < 1 or not degree > 0 or dim < 1:
        raise ValueError(f"need n >= 1, degree > 0, dim >= 1, got {n}, {degree}, {dim}.")
    _fits((n, n), n * (2 * degree + 1), f"random_geometric({n}, {degree})")
    rng = np.random.default_rng(check_seed(seed, error=PatternError))
    pts = rng.random((n, dim))
    ball = np.pi ** (dim / 2) / gamma(dim / 2 + 1)
    r = (degree / (n * ball)) ** (1.0 / dim)
    pairs = cKDTree(pts).query_pairs(r, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    rr = np.concatenate([i, j, np.arange(n)])
    cc = np.concatenate([j, i, np.arange(n)])
    return _as_bool_csr(sp.coo_array((np.ones(rr.size, dtype=bool), (rr, cc)), shape=(n, n)))


def power_law(n: int, degree: float = 8.0, exponent: float = 2.5, *, seed=None) -> sp.csr_array:
    """Symmetric pattern of a random graph whose degrees follow a power law (Chung-Lu).

    Vertex ``i`` gets weight ``(i + 1) ** (-1 / (exponent - 1))``; about
    ``n * degree / 2`` edges are drawn with both ends chosen in proportion to
    the weights, so a few hubs have very many neighbours. Full diagonal.

    Examples
    --------
    >>> from sparsead.patterns import power_law
    >>> P = power_law(1000, 6.0, seed=0)
    >>> d = P.sum(axis=1)
    >>> bool(d.max() > 10 * d.mean())
    True
    """
    _sizes(n=n)
    if n < 1 or not degree > 0 or not exponent > 1:
        raise ValueError(f"need n >= 1, degree > 0, exponent > 1, got {n}, {degree}, {exponent}.")
    _fits((n, n), n * (degree + 1), f"power_law({n}, {degree})")
    rng = np.random.default_rng(check_seed(seed, error=PatternError))
    w = (np.arange(n) + 1.0) ** (-1.0 / (exponent - 1.0))
    cdf = np.cumsum(w / w.sum())
    m = int(n * degree / 2)
    i = np.minimum(np.searchsorted(cdf, rng.random(m)), n - 1)
    j = np.minimum(np.searchsorted(cdf, rng.random(m)), n - 1)
    rr = np.concatenate([i, j, np.arange(n)])
    cc = np.concatenate([j, i, np.arange(n)])
    return _as_bool_csr(sp.coo_array((np.ones(rr.size, dtype=bool), (rr, cc)), shape=(n, n)))


def permuted_band(n: int, half_bandwidth: int, *, seed=None) -> sp.csr_array:
    """A banded pattern with rows and columns permuted alike (``P A P.T``): a band in disguise.

    Examples
    --------
    >>> from sparsead.patterns import banded, permuted_band
    >>> permuted_band(50, 2, seed=0).nnz == banded(50, 2).nnz
    True
    """
    b = banded(n, half_bandwidth).tocoo()
    perm = np.random.default_rng(check_seed(seed, error=PatternError)).permutation(n)
    return _as_bool_csr(sp.coo_array((b.data, (perm[b.row], perm[b.col])), shape=(n, n)))


def _bundled_problems():
    """Name -> pattern for the bundled ``data/`` set (small: seconds to color)."""
    return {
        "laplace2d_60x60": laplacian((60, 60)),
        "laplace3d_20x20x20": laplacian((20, 20, 20)),
        "banded_2000_hb3": banded(2000, 3),
        "arrowhead_5000": arrowhead(5000),
        "random_sym_2000": random_pattern(2000, density=0.002, symmetric=True, seed=1),
        "random_rect_1500x1000": random_pattern(1500, 1000, density=0.004, seed=2),
        "brusselator_32": brusselator_pattern(32),
    }


def write_bundled_data(directory) -> list[str]:
    """Write the bundled generated patterns as Matrix Market files.

    Parameters
    ----------
    directory : str or path-like
        Folder to write into (created if missing).

    Returns
    -------
    list of str
        The paths written, in a fixed order.
    """
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, pattern in _bundled_problems().items():
        path = os.path.join(os.fspath(directory), name + ".mtx")
        coo = sp.coo_matrix(pattern)
        square = pattern.shape[0] == pattern.shape[1]
        symmetry = "symmetric" if square and (pattern != pattern.T).nnz == 0 else "general"
        if symmetry == "symmetric":
            coo = sp.coo_matrix(sp.tril(coo))
        scipy.io.mmwrite(path, coo, field="pattern", symmetry=symmetry,
                         comment=f" sparsead generated pattern: {name}")
        paths.append(path)
    return paths
