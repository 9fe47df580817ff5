"""Standard test problems, written once in plain array code.

Each function takes an ``xp`` keyword (default ``numpy``) naming the array
namespace, so the same code runs under numpy (and so under sparsead's tracer)
and under ``jax.numpy`` for side-by-side benchmarks against JAX-based tools.
The functions never assign into arrays, which JAX forbids.

Jacobian problems: :func:`brusselator`, :func:`broyden_tridiagonal`,
:func:`bratu`, :func:`conv2d`, :func:`mlp_layer`. Scalar (Hessian) problems: :func:`arwhead`,
:func:`rosenbrock`, :func:`minimal_surface`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "brusselator",
    "brusselator_x0",
    "broyden_tridiagonal",
    "bratu",
    "conv2d",
    "mlp_layer",
    "arwhead",
    "rosenbrock",
    "minimal_surface",
    "minimal_surface_boundary",
]


def _brusselator_forcing(N, t):
    grid = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    on = ((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.1 ** 2) & (t >= 1.1)
    return np.where(on, 5.0, 0.0)


def brusselator(y, t=0.0, *, alpha=10.0, xp=np):
    """Right-hand side of the stiff 2-D Brusselator on a periodic N x N grid.

    ``y = concatenate([u.ravel(), v.ravel()])`` with ``n = 2 N**2``;
    ``u' = 1 + u^2 v - 4.4 u + a lap(u) + f(x, y, t)`` and
    ``v' = 3.4 u - u^2 v + a lap(v)`` with ``a = alpha / dx**2``,
    ``dx = 1 / (N - 1)`` and the 5-point periodic Laplacian. The Jacobian has
    6 entries per row (for N >= 3).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsead.examples import brusselator, brusselator_x0
    >>> brusselator(brusselator_x0(8)).shape
    (128,)
    """
    n = y.shape[0]
    N = int(round((n // 2) ** 0.5))
    if 2 * N * N != n:
        raise ValueError(f"`y` must have length 2*N**2, got {n}.")
    a = alpha * (N - 1) ** 2
    u = y[: N * N].reshape(N, N)
    v = y[N * N:].reshape(N, N)

    def lap(w):
        return (xp.roll(w, 1, axis=0) + xp.roll(w, -1, axis=0)
                + xp.roll(w, 1, axis=1) + xp.roll(w, -1, axis=1) - 4.0 * w)

    uuv = u * u * v
    du = 1.0 + uuv - 4.4 * u + a * lap(u) + _brusselator_forcing(N, t)
    dv = 3.4 * u - uuv + a * lap(v)
    return xp.concatenate([du.reshape(-1), dv.reshape(-1)])


def brusselator_x0(N):
    """The standard initial state of the 2-D Brusselator (u = 22 y(1-y)^1.5, v = 27 x(1-x)^1.5)."""
    grid = np.linspace(0.0, 1.0, N)
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    u = 22.0 * Y * (1.0 - Y) ** 1.5
    v = 27.0 * X * (1.0 - X) ** 1.5
    return np.concatenate([u.ravel(), v.ravel()])


def broyden_tridiagonal(x, *, xp=np):
    """Broyden tridiagonal function: ``f_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1``.

    With ``x_0 = x_{n+1} = 0``; the Jacobian is tridiagonal (3n - 2 entries).
    """
    zero = xp.zeros(1, dtype=x.dtype)
    left = xp.concatenate([zero, x[:-1]])
    right = xp.concatenate([x[1:], zero])
    return (3.0 - 2.0 * x) * x - left - 2.0 * right + 1.0


def bratu(u, lam=6.0, *, xp=np):
    """2-D Bratu residual ``Laplace(u) + lam exp(u)`` on an N x N interior grid (``u.size = N**2``).

    Zero Dirichlet boundary values, mesh width ``h = 1 / (N + 1)``, the
    five-point Laplacian: a badly conditioned Jacobian with 5 entries per row,
    whose root (for ``lam`` below about 6.8) is a classic test of Newton-Krylov
    solvers and their preconditioners.
    """
    N = int(round(u.size ** 0.5))
    h = 1.0 / (N + 1)
    V = u.reshape(N, N)
    P = xp.pad(V, 1)
    lap = P[2:, 1:-1] + P[:-2, 1:-1] + P[1:-1, 2:] + P[1:-1, :-2] - 4.0 * V
    return (lap / h ** 2 + lam * xp.exp(V)).reshape(-1)


def conv2d(x, weights, *, xp=np):
    """Valid 2-D convolution written with slicing: ``(H, W, C_in) -> (H-k+1, W-k+1, C_out)``.

    ``weights`` has shape ``(k, k, C_in, C_out)``. With a 28 x 28 x 3 input and
    3 x 3 x 3 x 2 weights the output is 26 x 26 x 2 and the Jacobian has
    27 entries per output (36 504 in all).
    """
    k = weights.shape[0]
    H, W = x.shape[0] - k + 1, x.shape[1] - k + 1
    out = None
    for di in range(k):
        for dj in range(k):
            term = x[di:di + H, dj:dj + W, :] @ weights[di, dj]
            out = term if out is None else out + term
    return out


def mlp_layer(x, w1, b1, w2, b2, *, xp=np):
    """A small two-layer perceptron ``tanh(w2 @ tanh(w1 @ x + b1) + b2)`` (dense Jacobian)."""
    return xp.tanh(w2 @ xp.tanh(w1 @ x + b1) + b2)


def arwhead(x, *, xp=np):
    """ARWHEAD (CUTEst): ``sum_{i<n} (-4 x_i + 3) + sum_{i<n} (x_i^2 + x_n^2)^2``.

    The Hessian is an arrowhead with a dense last row and column (3n - 2 entries).
    """
    head = x[:-1]
    last = x[-1]
    return xp.sum(-4.0 * head + 3.0) + xp.sum((head * head + last * last) ** 2)


def rosenbrock(x, *, xp=np):
    """Extended Rosenbrock: ``sum_i 100 (x_{2i+1} - x_{2i}^2)^2 + (1 - x_{2i})^2`` (n even).

    The Hessian is block diagonal with 2 x 2 blocks.
    """
    odd = x[0::2]
    even = x[1::2]
    return xp.sum(100.0 * (even - odd * odd) ** 2 + (1.0 - odd) ** 2)


def minimal_surface_boundary(N):
    """Boundary values for :func:`minimal_surface`: an (N+2) x (N+2) array, zero inside.

    The boundary follows ``z = x^2 - y^2`` on the square [-1/2, 1/2]^2 (a saddle),
    so the minimal surface is not flat.
    """
    grid = np.linspace(-0.5, 0.5, N + 2)
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    B = X ** 2 - Y ** 2
    B[1:-1, 1:-1] = 0.0
    return B


def minimal_surface(x, boundary=None, *, xp=np):
    """Area of the surface over the unit square, interpolated on two triangles per cell.

    ``x`` holds the N x N interior heights (C order); ``boundary`` is an
    (N+2) x (N+2) array of boundary heights with a zero interior (default:
    :func:`minimal_surface_boundary`). This is the MINPACK-2 minimal surface
    formulation; the Hessian couples each unknown with its 4 grid neighbours
    and 2 diagonal neighbours (7 entries per row inside).
    """
    n = x.shape[0]
    N = int(round(n ** 0.5))
    if N * N != n:
        raise ValueError(f"`x` must have length N**2, got {n}.")
    if boundary is None:
        boundary = minimal_surface_boundary(N)
    h = 1.0 / (N + 1)
    U = xp.pad(x.reshape(N, N), 1) + boundary
    c00 = U[:-1, :-1]
    c10 = U[1:, :-1]
    c01 = U[:-1, 1:]
    c11 = U[1:, 1:]
    lower = xp.sqrt(1.0 + ((c10 - c00) / h) ** 2 + ((c01 - c00) / h) ** 2)
    upper = xp.sqrt(1.0 + ((c11 - c01) / h) ** 2 + ((c11 - c10) / h) ** 2)
    return 0.5 * h * h * xp.sum(lower + upper)
