"""Tracing: the recorded graph, re-evaluation, and every user error with its message."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsead import (TracerConversionError, TracingError, UnsupportedOperationError,
                      examples, hessian_sparsity, jacobian_sparsity)
from sparsead.primitives import REGISTRY
from sparsead.tracing import evaluate, trace


# --- graph and evaluation -----------------------------------------------------------

@pytest.mark.parametrize("name", ["brusselator", "broyden", "conv2d", "arwhead", "minimal"])
def test_evaluate_reproduces_f_at_new_points(name):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3, 3, 2))
    f, x, args = {
        "brusselator": (examples.brusselator, examples.brusselator_x0(5), ()),
        "broyden": (examples.broyden_tridiagonal, rng.standard_normal(9), ()),
        "conv2d": (examples.conv2d, rng.standard_normal((8, 8, 3)), (w,)),
        "arwhead": (examples.arwhead, rng.standard_normal(7), ()),
        "minimal": (examples.minimal_surface, rng.standard_normal(16), ()),
    }[name]
    graph = trace(f, x, args)
    for _ in range(2):
        x2 = rng.standard_normal(x.shape)
        np.testing.assert_allclose(evaluate(graph, x2), f(x2, *args), rtol=1e-12, atol=1e-12)


def test_graph_is_one_node_per_operation_and_uses_few_primitives():
    graph = trace(examples.brusselator, examples.brusselator_x0(4))
    prims = {nd.prim for nd in graph.nodes}
    assert prims <= {"input", "const", "gather", "reshape", "add", "subtract", "multiply",
                     "concatenate"}
    assert len(graph.nodes) < 60
    assert all(nd.prim in REGISTRY or nd.prim in ("input", "const") for nd in graph.nodes)


def test_local_trace_records_values_and_args_as_inputs():
    f = lambda x, a: x * a  # noqa: E731
    a = np.arange(3.0)
    graph = trace(f, np.ones(3), (a,), local=True, args_as_inputs=True)
    assert len(graph.inputs) == 2 and graph.values is not None
    np.testing.assert_allclose(evaluate(graph, np.full(3, 2.0), (a + 1,)), 2 * (a + 1))


def test_integer_input_is_traced_as_float():
    P = jacobian_sparsity(lambda x: x * 2, np.arange(3))
    assert P.nnz == 3


# --- errors -------------------------------------------------------------------------------

def _branch(x):
    if x[0] > 0:  # the user's line
        return x
    return -x


def test_control_flow_error_names_operation_line_and_fixes():
    with pytest.raises(TracerConversionError) as err:
        jacobian_sparsity(_branch, np.ones(3))
    msg = str(err.value)
    assert "bool()" in msg and "test_tracing.py" in msg and "if x[0] > 0" in msg
    assert "np.where" in msg and "local=True" in msg
    assert jacobian_sparsity(_branch, np.ones(3), local=True).nnz == 3


@pytest.mark.parametrize("conv", [float, int, bool])
def test_python_number_conversions_raise(conv):
    with pytest.raises(TracerConversionError, match=rf"{conv.__name__}\(\)"):
        jacobian_sparsity(lambda x: x * conv(x[0]), np.ones(2))


def test_float_raises_even_in_local_mode():
    with pytest.raises(TracerConversionError, match="derivative with respect to `x` would be lost"):
        jacobian_sparsity(lambda x: x * float(x[0]), np.ones(2), local=True)


def test_item_raises():
    with pytest.raises(TracerConversionError):
        jacobian_sparsity(lambda x: x * x[0].item(), np.ones(2))


def test_unknown_numpy_function_is_named():
    with pytest.raises(UnsupportedOperationError, match=r"np\.sort"):
        jacobian_sparsity(lambda x: np.sort(x), np.ones(3))
    with pytest.raises(UnsupportedOperationError, match="argsort"):
        jacobian_sparsity(lambda x: x.argsort(), np.ones(3))
    with pytest.raises(UnsupportedOperationError, match="sinc"):
        jacobian_sparsity(lambda x: np.sinc(x), np.ones(3))
    with pytest.raises(UnsupportedOperationError, match="heaviside"):
        jacobian_sparsity(lambda x: np.heaviside(x, 0.5), np.ones(3))


def test_traced_index_is_refused_in_global_mode():
    with pytest.raises(UnsupportedOperationError, match="traced index"):
        jacobian_sparsity(lambda x: x[x > 0], np.ones(3))


_BEFORE = np.zeros(3)     # created before tracing began: numpy owns it


@pytest.mark.parametrize("key", [1, slice(0, 2), [0, 2]])
def test_writing_into_an_array_from_outside_the_trace_says_use_zeros_like(key):
    def f(x):
        out = _BEFORE
        out[key] = x[:1] if not isinstance(key, int) else x[0]
        return out

    with pytest.raises(TracingError, match=r"np\.zeros_like\(x\)") as err:
        jacobian_sparsity(f, np.ones(3))
    assert "test_tracing.py" in str(err.value)
    with pytest.raises(TracingError, match=r"zeros_like"):
        jacobian_sparsity(f, np.ones(3), local=True)
    assert not _BEFORE.any()


@pytest.mark.parametrize("key", [1, slice(0, 2), [0, 2]])
def test_writing_into_an_array_created_while_tracing_works(key):
    def f(x):
        out = np.zeros(3)
        out[key] = x[:1] if not isinstance(key, int) else x[0]
        return out

    P = jacobian_sparsity(f, np.ones(3)).toarray()
    assert P[:, 0].sum() == np.zeros(3)[key].size and P[:, 1:].sum() == 0


def test_compiled_code_on_a_tracer_is_refused_naming_the_library():
    import scipy.linalg

    with pytest.raises(TracingError, match="converted to a plain numpy array") as err:
        jacobian_sparsity(lambda x: scipy.linalg.lu_factor(x.reshape(2, 2))[0], np.ones(4))
    assert "scipy.linalg" in str(err.value) and "test_tracing.py" in str(err.value)


def test_ufunc_out_into_plain_array_is_refused():
    def f(x):
        out = _BEFORE
        np.multiply(x, 2.0, out=out)
        return out

    with pytest.raises(TracingError, match="zeros_like"):
        jacobian_sparsity(f, np.ones(3))


@pytest.mark.parametrize("ret, what", [
    (lambda x: None, "NoneType"),
    (lambda x: np.array(["a"]), "dtype <U1"), (lambda x: x > 0, "dtype bool"),
    (lambda x: "text", "str"),
])
def test_bad_return_values(ret, what):
    with pytest.raises(TracingError, match=what):
        jacobian_sparsity(ret, np.ones(2))


def test_hessian_of_non_scalar_is_refused():
    with pytest.raises(TracingError, match="scalar"):
        hessian_sparsity(lambda x: x ** 2, np.ones(3))


def test_scipy_sparse_elementwise_is_refused_but_matmul_works():
    A = sp.csr_array(np.eye(3))
    assert jacobian_sparsity(lambda x: A @ x + A.dot(x), np.ones(3)).nnz == 3
    with pytest.raises(UnsupportedOperationError):
        jacobian_sparsity(lambda x: x + A, np.ones(3))


def test_non_numeric_x_is_refused():
    with pytest.raises(TypeError, match="numeric"):
        jacobian_sparsity(lambda x: x, np.array(["a"]))


def test_lists_holding_traced_scalars_are_stacked():
    """`np.concatenate([v, [np.sum(x)]])` and `y[:2] = [x[1], 3 * x[0]]` are common idioms."""
    import sparsead as sa

    def f(x):
        return np.concatenate([x[1:] ** 2 - x[:-1], [np.sum(x ** 2)]])

    def g(x):
        y = np.zeros_like(x)
        y[:2] = [x[1], 3.0 * x[0]]
        return y

    x = np.arange(1.0, 5.0)
    pf = sa.jacobian_sparsity(f, x).toarray()
    assert pf.shape == (4, 4) and pf[3].all() and pf[:3].sum() == 6
    np.testing.assert_array_equal(sa.jacobian_sparsity(g, x).toarray()[:2, :2], [[0, 1], [1, 0]])
    want = np.vstack([np.diag(2 * x[1:]) @ np.eye(4)[1:] - np.eye(4)[:-1], 2 * x])
    np.testing.assert_allclose(sa.sparse_jacobian(f, x)(x).toarray(), want)
