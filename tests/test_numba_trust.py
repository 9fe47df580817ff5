"""Regression tests for the compiled backend's known wrong answers (issue 10), one per case.

Each case is a function a user wrote that the Numba backend once got wrong:
stacks of computed pieces along a new axis 0 (a wrong offset left rows of the
result unwritten: wrong entries, and NaN or 1e141 read from uninitialised
memory on bigger functions), integer powers at 0 (``ZeroDivisionError`` from
the kernel), ties of maximum/minimum/fmax/max-reductions (the project's
convention: the derivative is split equally among tied arguments) and a
concatenation of reductions along different axes (``ValueError`` while
lowering). References are independent of sparsead: derivatives written by hand
or central differences of the plain numpy function.
"""

import numpy as np
import pytest

import sparsead as sa

from test_numba_backend import _fd_jacobian

MODES = ("forward", "reverse", "bidirectional", "auto")


def _fd_hessian(f, x, eps=1e-6):
    """Central differences of the gradient (``sa.gradient``: the numpy evaluator, no kernel)."""
    return _fd_jacobian(sa.gradient(f), x, eps)


def _jacobians(f, x, backend="numba"):
    return {m: sa.sparse_jacobian(f, x, mode=m, backend=backend)(x).toarray() for m in MODES}


def _hessians(f, x, backend="numba"):
    return {c: sa.sparse_hessian(f, x, decompression=c, backend=backend)(x).toarray()
            for c in ("direct", "substitution")}


# ---------------------------------------------------------------- stacks of computed pieces

def test_stack_of_computed_pieces_jacobian():
    f = lambda x: np.stack((2 * x[:2], x[2:])).ravel() ** 2     # noqa: E731
    x = np.array([0.5, 1.0, 1.5, 2.0])
    for mode, J in _jacobians(f, x).items():
        np.testing.assert_allclose(J, np.diag([4.0, 8.0, 3.0, 4.0]), err_msg=mode)


def test_stack_of_computed_pieces_hessian():
    g = lambda x: np.sum(np.stack((2 * x[:2], x[2:]))[0] ** 3)   # noqa: E731
    x = np.array([0.5, 1.0, 1.5, 2.0])
    for c, H in _hessians(g, x).items():
        np.testing.assert_allclose(H, np.diag([24.0, 48.0, 0.0, 0.0]), err_msg=c)


def _reaction_diffusion(N):
    def rhs(x):
        u = np.reshape(x, (2, N, N))
        a, b = u[0], u[1]

        def lap(z):
            return np.roll(z, 1, 0) + np.roll(z, -1, 0) + np.roll(z, 1, 1) \
                + np.roll(z, -1, 1) - 4 * z
        du = lap(a) + 1.0 + a * a * b - 4.4 * a
        dv = lap(b) + 3.4 * a - a * a * b
        return np.stack([du, dv]).ravel()
    return rhs


def _vstack_residual(x):
    X = x.reshape(4, 5)
    return np.vstack([X[0] * X[1], np.sin(X[2]), X[3] ** 2 - X[0], np.exp(-X[1])]).ravel()


def _conv_layer(x):
    img, w = x[:36].reshape(6, 6), x[36:].reshape(3, 3)
    rows = [np.stack([np.sum(img[i:i + 3, j:j + 3] * w) for j in range(4)]) for i in range(4)]
    return np.tanh(np.stack(rows)).ravel()


def _hstack_axis1(x):
    X = x.reshape(3, 4)
    return np.concatenate([X[:, :2] * X[:, 2:], np.cos(X[:, 1:2]), X ** 2], axis=1).ravel()


def _stack_last_axis(x):
    X = x.reshape(2, 3, 2)
    return np.stack([X[..., 0] * X[..., 1], np.sin(X[..., 1]), X.sum(axis=2)], axis=2).ravel()


SHAPES = {
    "reaction_diffusion": (_reaction_diffusion(5), 50),
    "vstack_residual": (_vstack_residual, 20),
    "conv_layer": (_conv_layer, 45),
    "concatenate_axis1": (_hstack_axis1, 12),
    "stack_last_axis": (_stack_last_axis, 12),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_stacked_pieces_against_differences(name):
    """No uninitialised read: every mode equals central differences, and twice the same."""
    f, n = SHAPES[name]
    x = np.random.default_rng(sorted(SHAPES).index(name)).uniform(0.3, 1.3, n)
    ref = _fd_jacobian(f, x)
    for mode, J in _jacobians(f, x).items():
        assert np.isfinite(J).all(), mode
        np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-6, err_msg=mode)
    again = _jacobians(f, x)
    for mode, J in _jacobians(f, x).items():
        np.testing.assert_array_equal(again[mode], J)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_stacked_pieces_hessian_against_differences(name):
    f, n = SHAPES[name]
    g = lambda x: 0.5 * np.sum(f(x) ** 2)     # noqa: E731
    x = np.random.default_rng(10 + sorted(SHAPES).index(name)).uniform(0.3, 1.3, n)
    ref = _fd_hessian(g, x)
    for c, H in _hessians(g, x).items():
        assert np.isfinite(H).all(), c
        np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-6, err_msg=c)


# ---------------------------------------------------------------- integer powers at 0

@pytest.mark.parametrize("e,value,slope", [(0, 1.0, 1.0), (-2, np.inf, 1.0 - np.inf),
                                           (-1, np.inf, -np.inf), (3, 0.0, 1.0),
                                           (-3, np.inf, -np.inf), (5, 0.0, 1.0)])
def test_integer_powers_at_zero(e, value, slope):
    """``x ** e + x`` at 0 as numpy computes it (``-inf`` slope where ``e * 0 ** (e - 1)``)."""
    f = lambda x: x ** e + x          # noqa: E731
    x = np.zeros(3)
    with np.errstate(divide="ignore"):
        assert np.all(f(x) == value + 0.0)
    for mode in MODES:
        for backend in ("numba", "numpy"):
            J = sa.sparse_jacobian(f, x, mode=mode, backend=backend)(x).toarray()
            np.testing.assert_array_equal(np.diag(J), np.full(3, slope),
                                          err_msg=f"{mode} {backend}")


def test_powers_with_integer_array_exponent():
    """An int array exponent: Numba's ``float ** int`` would raise at 0 for negative ones."""
    e = np.array([-2, 0, 1, 3])
    f = lambda x: x ** e              # noqa: E731
    x = np.array([0.0, 0.0, 2.0, -1.5])
    J = sa.sparse_jacobian(f, x, backend="numba")(x).toarray()
    Jn = sa.sparse_jacobian(f, x, backend="numpy")(x).toarray()
    np.testing.assert_array_equal(J, Jn)


# ---------------------------------------------------------------- ties (the convention)

@pytest.mark.parametrize("mode", MODES)
def test_elementwise_ties_split_equally(mode):
    t = np.array([1.0, 2.0, 0.5])
    cases = {np.maximum: [0.5, 1.0, 0.0], np.minimum: [0.5, 0.0, 1.0],
             np.fmax: [0.5, 1.0, 0.0], np.fmin: [0.5, 0.0, 1.0]}
    for fn, diag in cases.items():
        J = sa.sparse_jacobian(lambda x: fn(x, 1.0), t, mode=mode, backend="numba")(t).toarray()
        np.testing.assert_array_equal(np.diag(J), diag, err_msg=fn.__name__)


def test_reduction_ties_split_equally():
    x = np.array([1.0, 3.0, 3.0, -2.0, 3.0])
    for mode in MODES:
        J = sa.sparse_jacobian(lambda x: np.max(x, keepdims=True), x, mode=mode,
                               backend="numba")(x).toarray()
        np.testing.assert_allclose(J[0], [0, 1 / 3, 1 / 3, 0, 1 / 3], err_msg=mode)
    X = np.array([[1.0, 1.0, 0.0], [2.0, -1.0, -1.0]])
    for mode in MODES:
        J = sa.sparse_jacobian(lambda x: np.min(x.reshape(2, 3), axis=1), X.ravel(), mode=mode,
                               backend="numba")(X.ravel()).toarray()
        np.testing.assert_allclose(J, [[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0.5, 0.5]],
                                   err_msg=mode)
    for c, H in _hessians(lambda x: np.max(x) ** 2, np.array([1.0, 1.0, 0.5])).items():
        # d/dx (max x)^2 = 2 max * w, w = (1/2, 1/2, 0); H = 2 w w^T
        np.testing.assert_allclose(H, [[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 0]], err_msg=c)


def test_nan_arguments_of_maximum_and_fmax():
    """maximum: the derivative goes to the NaN argument; fmax ignores it; both NaN: split."""
    nan = np.nan
    a = np.array([nan, 1.0, nan, 2.0])
    b = np.array([1.0, nan, nan, 2.0])
    x = np.concatenate([a, b])
    for fn, da, db in ((np.maximum, [1, 0, 0.5, 0.5], [0, 1, 0.5, 0.5]),
                       (np.fmax, [0, 1, 0.5, 0.5], [1, 0, 0.5, 0.5]),
                       (np.minimum, [1, 0, 0.5, 0.5], [0, 1, 0.5, 0.5]),
                       (np.fmin, [0, 1, 0.5, 0.5], [1, 0, 0.5, 0.5])):
        J = sa.sparse_jacobian(lambda x: fn(x[:4], x[4:]), x, mode="forward",
                               backend="numba")(x).toarray()
        np.testing.assert_array_equal(np.diag(J[:, :4]), da, err_msg=fn.__name__)
        np.testing.assert_array_equal(np.diag(J[:, 4:]), db, err_msg=fn.__name__)


# ---------------------------------------------------------------- lowering that raised

def test_concatenate_of_reductions_along_axes():
    def f(x):
        X = np.reshape(x, (6, 8))
        return np.concatenate([np.sum(X ** 2, axis=0), np.max(X, axis=1) * X[:, 0],
                               np.prod(X[:, :3], axis=1)])
    x = np.random.default_rng(7).uniform(0.5, 1.5, 48)
    ref = _fd_jacobian(f, x)
    for mode in MODES:
        J = sa.sparse_jacobian(f, x, mode=mode)(x).toarray()
        np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-6, err_msg=mode)


def test_filled_map_of_computed_pieces():
    """A concatenation of a constant and mapped pieces of one source: a map with per-element
    fills given in the concatenation's shape."""
    def f(x):
        X = x.reshape(3, 4)
        return np.concatenate([X[:, :2], np.ones((3, 1)), X[:, 3:] * 2.0, np.zeros((3, 1))],
                              axis=1).ravel() ** 2
    x = np.linspace(0.5, 1.5, 12)
    ref = _fd_jacobian(f, x)
    for mode, J in _jacobians(f, x).items():
        np.testing.assert_allclose(J, ref, rtol=1e-6, atol=1e-6, err_msg=mode)


# ---------------------------------------------------------------- discarded values

def test_discarded_branch_carries_no_derivative_in_kernels():
    """A value ``where`` does not select (1/x at 0), or the source read of a filled element,
    puts no NaN (``0 * inf``) into the lanes of the compiled kernel."""
    x = np.array([0.0, 1.0, 2.0, 0.5])
    f = lambda x: np.where(x > 0.25, 1.0 / x, 0.0) + np.sum(x)      # noqa: E731
    J = sa.sparse_jacobian(f, x, mode="forward", backend="numba")(x).toarray()
    np.testing.assert_allclose(J - 1.0, np.diag([0.0, -1.0, -0.25, -4.0]))
    g = lambda x: np.pad(np.log(x[1:]), (2, 0)) + x[0]                  # noqa: E731
    y = np.array([0.5, 0.0, 1.0, 2.0])          # the padded elements read log(x[1]) = -inf
    J = sa.sparse_jacobian(g, y, mode="forward", backend="numba")(y).toarray()
    ref = np.zeros((5, 4))
    ref[:, 0] = 1.0
    ref[2, 1], ref[3, 2], ref[4, 3] = np.inf, 1.0, 0.5
    np.testing.assert_array_equal(J, ref)


def test_one_operand_in_several_slots_cancels_before_the_chain_rule():
    """``x - x`` has tangent exactly 0 (forward lanes): 0 times an infinite partial is 0.

    Fused expressions are differentiated in reverse; an operand read by several slots of one
    operation gets the sum of its partials first (1 + -1 = 0), as forward lanes would.
    """
    x = np.linspace(0.5, 1.5, 5)
    for f in (lambda x: np.reciprocal(np.fmod(x, x)) + x, lambda x: np.sqrt(x - x) + x):
        for mode in MODES:
            J = sa.sparse_jacobian(f, x, mode=mode, backend="numba")(x).toarray()
            np.testing.assert_array_equal(J, np.eye(5), err_msg=mode)


def test_cancellation_across_reads_falls_back_at_preparation():
    """The known limit of reverse accumulation inside a fused kernel: two reads of one element
    by different maps (``x[:, None] - x`` on the diagonal) whose tangents cancel, under an
    infinite partial, give inf - inf = NaN where forward lanes give 0. The check at the
    preparation point sees it and ``auto`` uses the interpreter."""
    def f(x):           # the fuzzer's shrunk program (seed 936)
        d = x[:, None] - x
        return np.sum(np.concatenate([(d ** 2.0) ** -0.5, (d ** 2.0) ** -0.5, d], axis=1))
    x = np.array([0.5, 1.0])
    ref = sa.sparse_hessian(f, x, backend="numpy")(x).toarray()
    with pytest.warns(sa.SparseadWarning, match="disagree with the numpy interpreter"):
        op = sa.sparse_hessian(f, x)
    assert op.backend == "numpy"
    np.testing.assert_array_equal(op(x).toarray(), ref)
