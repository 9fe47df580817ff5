"""The primitive registry, swept: every classification and sparsity rule checked numerically."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsead import hessian_sparsity, jacobian_sparsity
from sparsead.primitives import REGISTRY
from sparsead.tracing.testing import nonzero_pattern, numeric_hessian, numeric_jacobian

ELEMENTWISE = sorted(name for name, p in REGISTRY.items() if p.elementwise is not None)


def _sample(domain, rng, size):
    if domain == "real":
        return rng.uniform(-2.0, 2.0, size)
    if domain == "pos":
        return rng.uniform(0.2, 2.0, size)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, size)
    if domain == "gt1":
        return rng.uniform(1.2, 3.0, size)
    if domain == "nonzero":
        return rng.uniform(0.3, 2.0, size) * rng.choice([-1.0, 1.0], size)
    if domain == "bool":
        return rng.random(size) < 0.5
    raise AssertionError(domain)


def _partials(fn, args, h=1e-4):
    """Per-point first and second partial derivatives (central differences), float."""
    def f(*a):
        return np.asarray(fn(*a), dtype=float)

    nargs = len(args)
    d1 = []
    d2 = np.zeros((nargs, nargs, args[0].size))
    for k in range(nargs):
        if args[k].dtype == bool:
            d1.append(np.zeros(args[k].size))
            continue
        up = list(args)
        dn = list(args)
        up[k] = args[k] + h
        dn[k] = args[k] - h
        d1.append((f(*up) - f(*dn)) / (2 * h))
    for k in range(nargs):
        for l in range(nargs):
            if args[k].dtype == bool or args[l].dtype == bool:
                continue
            vals = []
            for sk, sl in [(1, 1), (1, -1), (-1, 1), (-1, -1)]:
                a = list(args)
                a[k] = a[k] + sk * h
                a[l] = a[l] + sl * h
                vals.append(f(*a))
            d2[k, l] = (vals[0] - vals[1] - vals[2] + vals[3]) / (4 * h * h)
    return np.array(d1), d2


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_classification_matches_numerical_derivatives(name):
    """d1/d2/cross flags: zero flags must be zero everywhere, nonzero flags nonzero somewhere."""
    rng = np.random.default_rng(7)
    prim = REGISTRY[name]
    info = prim.elementwise
    args = [_sample(dom, rng, 40) for dom in info.domain]
    d1, d2 = _partials(prim.impl, args)
    for k, dom in enumerate(info.domain):
        if dom == "bool":
            assert not info.d1[k]
            continue
        big1 = np.abs(d1[k]) > 1e-5
        assert big1.any() == info.d1[k], (name, k, "first derivative")
        for l in range(len(info.domain)):
            if info.domain[l] == "bool":
                continue
            big2 = np.abs(d2[k, l]) > 1e-3
            assert big2.any() == info.d2[k][l], (name, k, l, "second derivative")


def _mask(shape, seed):
    return np.random.default_rng(seed).random(shape) < 0.5


_A = sp.random_array((5, 6), density=0.4, rng=np.random.default_rng(3), format="csr")
_D = np.where(_mask((3, 4), 1), np.random.default_rng(2).standard_normal((3, 4)), 0.0)

# primitive -> (program exercising it, exact?) ; x has 6 entries in [-2, 2]
PROGRAMS = {
    "where": (lambda x: np.where(_mask(6, 4), np.sin(x), x[::-1] ** 2), True),
    "where_traced": (lambda x: np.where(x > 0, x, x ** 2), True),
    "cast": (lambda x: x.astype(np.float32) * 2 + x.astype(int), True),
    "reshape": (lambda x: np.sin(x.reshape(2, 3)), True),
    "transpose": (lambda x: np.exp(x.reshape(2, 3).T), True),
    "gather": (lambda x: np.cos(x[[4, 1, 1, 0]] + np.roll(x, 2)[:4]), True),
    "scatter": (lambda x: _scatter_program(x), True),
    "concatenate": (lambda x: np.concatenate([x[3:] ** 2, np.tanh(x[:2]), [1.0]]), True),
    "reduce_sum": (lambda x: np.sum(x.reshape(2, 3) ** 2, axis=0), True),
    "reduce_prod": (lambda x: np.prod(x.reshape(3, 2), axis=1), True),
    "reduce_max": (lambda x: np.max(x.reshape(2, 3), axis=1), False),   # global: all entries
    "reduce_min": (lambda x: np.min(x.reshape(3, 2), axis=0), False),
    "cumsum": (lambda x: np.cumsum(x.reshape(2, 3), axis=1) ** 2, True),
    "cumprod": (lambda x: np.cumprod(x), True),
    "einsum": (lambda x: x[:4] @ _D.T + np.outer(x[:2], x[2:5]).ravel()[:3], True),
    "spmatmul": (lambda x: np.sin(_A @ x) + x[:5] @ _A[:, :5], True),
    "solve": (lambda x: np.linalg.solve(x[:4].reshape(2, 2) + 5 * np.eye(2), x[4:]), True),
    "inv": (lambda x: np.linalg.inv(x[:4].reshape(2, 2) + 5 * np.eye(2)), True),
    "det": (lambda x: np.linalg.det(x[:4].reshape(2, 2)) * x[5], True),
}


def _scatter_program(x):
    out = np.zeros_like(x)
    out[1:] = x[:-1] ** 2
    out[[0, 0]] = x[[3, 4]]
    return out * 3.0


def _check(f, x_points, exact):
    P = jacobian_sparsity(f, x_points[0]).toarray()
    seen = np.zeros_like(P)
    for x in x_points:
        N = nonzero_pattern(numeric_jacobian(f, x))
        assert not (N & ~P).any(), f"false negative at {np.argwhere(N & ~P)[:3]}"
        seen |= N
    if exact:
        assert (seen == P).all(), f"extra entries {np.argwhere(P & ~seen)[:5]}"


def _check_hessian(f, x_points):
    H = hessian_sparsity(f, x_points[0]).toarray()
    assert (H == H.T).all()
    for x in x_points:
        N = nonzero_pattern(numeric_hessian(f, x), rtol=1e-4, atol=1e-4)
        assert not (N & ~H).any(), f"false negative at {np.argwhere(N & ~H)[:3]}"


def test_every_primitive_has_a_program_or_is_elementwise():
    covered = set(PROGRAMS) | set(ELEMENTWISE) | {"input", "const"}
    assert set(REGISTRY) - covered == set()


def test_every_entry_has_its_rules():
    """Every fact in the entry itself: evaluation, shape, sparsity, derivatives; an elementwise
    row also carries its numpy partials and compiled template side by side."""
    for name, p in REGISTRY.items():
        assert callable(p.impl) and callable(p.shape) and callable(p.deps), name
        assert callable(p.jvp) and callable(p.vjp), name
        if p.elementwise is not None:
            n = len(p.elementwise.d1)
            assert p.scalar is not None and len(p.scalar.partials) == n, name
            assert name == "where" or len(p.partials) == n, name


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_primitive_rule_against_finite_differences(name):
    rng = np.random.default_rng(11)
    f, exact = PROGRAMS[name]
    points = [rng.uniform(-2, 2, 6) for _ in range(3)]
    _check(f, points, exact)
    _check_hessian(lambda x: np.sum(np.sin(f(x) + 0.5)), points)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_rule_against_finite_differences(name):
    """Each elementwise primitive with broadcasting: Jacobian exact, Hessian sound."""
    rng = np.random.default_rng(5)
    prim = REGISTRY[name]
    info = prim.elementwise

    def shifted(dom, v):
        # maps x in [-2, 2] into the argument's domain
        return {"real": v, "pos": 1.1 + 0.4 * v, "unit": 0.4 * v, "gt1": 2.0 + 0.4 * v,
                "nonzero": 1.1 + 0.4 * v, "bool": v > 0}[dom]

    def f(x):
        xs = x.reshape(2, 3)
        # argument k > 0 is broadcast along axis 0 and never meets the same entry of x
        args = [shifted(dom, xs if k == 0 else xs[1:, [1, 2, 0]] * (1.0 + 0.1 * k))
                for k, dom in enumerate(info.domain)]
        return _apply(name, args).astype(float)

    points = [rng.uniform(-2, 2, 6) for _ in range(3)]
    # global max/min-type rules keep both arguments (valid for every x): not exact at a point
    _check(f, points, exact=name not in CONSERVATIVE)
    _check_hessian(lambda x: np.sum(np.cos(0.3 * f(x))), points)


# fmod/remainder: d/db = -trunc(a/b) (-floor) is zero wherever |a| < |b|
CONSERVATIVE = {"maximum", "minimum", "fmax", "fmin", "fmod", "remainder"}


def _apply(name, args):
    """Call the numpy function that lowers to primitive `name` (through the tracer)."""
    from sparsead.primitives import UFUNC_PRIMITIVES
    if name == "where":
        return np.where(*args)
    if name == "strong_multiply":       # internal (gradient transform): records itself
        return REGISTRY[name].impl(*args)
    if name in ("erf", "erfc", "expit"):       # scipy.special: entered at first lookup
        import scipy.special
        return getattr(scipy.special, name)(*args)
    fn = next(u for u, p in UFUNC_PRIMITIVES.items() if p == name)
    return fn(*args)
