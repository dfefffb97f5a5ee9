"""Linear, Bilinear and the activations (functional and modules) against PyTorch: values,
gradients with respect to inputs and parameters, float32 and float64, kinks and extreme
inputs, repr strings, default initialisation; plus finite-difference checks of a few
composites, which catch mistakes a comparison could share with PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

from _gradcheck import finite_difference

torch = pytest.importorskip("torch")
TF = torch.nn.functional
tnn = torch.nn

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

# inputs that hit every branch and kink: 0, the hardtanh/hardswish bounds, softplus's threshold,
# extreme values where naive formulas overflow
SPECIAL = [-1e4, -1e2, -30.0, -20.5, -20.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 19.9,
           20.0, 20.5, 30.0, 1e2, 1e4]


def _inputs(rng, dtype, shape=(4, 6)):
    x = rng.standard_normal(shape) * 3
    return np.concatenate([x.ravel(), SPECIAL]).astype(dtype)


def _pair(x: np.ndarray):
    a = cr.tensor(x.copy(), requires_grad=True)
    b = torch.tensor(x.copy(), requires_grad=True)
    return a, b


def _close(a, b, dtype, **kw):
    tol = dict(TOL[dtype])
    tol.update(kw)
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, **tol)


def _check_fn(cr_fn, th_fn, x, rng, dtype, **tol):
    """Forward and vjp (with a random cotangent) of cr_fn against th_fn on the same input."""
    a, b = _pair(x)
    ya, yb = cr_fn(a), th_fn(b)
    _close(ya, yb, dtype, **tol)
    assert np.isfinite(ya.detach().numpy()).all()
    g = rng.standard_normal(tuple(yb.shape)).astype(dtype)
    ya.backward(cr.tensor(g))
    yb.backward(torch.tensor(g))
    assert np.isfinite(a.grad.numpy()).all()
    _close(a.grad, b.grad, dtype, **tol)


ACTIVATIONS = {
    "relu": (lambda x: F.relu(x), lambda x: TF.relu(x)),
    "relu6": (lambda x: F.relu6(x), lambda x: TF.relu6(x)),
    "leaky_relu": (lambda x: F.leaky_relu(x), lambda x: TF.leaky_relu(x)),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "elu": (lambda x: F.elu(x), lambda x: TF.elu(x)),
    "elu_0.5": (lambda x: F.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5)),
    "selu": (lambda x: F.selu(x), lambda x: TF.selu(x)),
    "celu": (lambda x: F.celu(x), lambda x: TF.celu(x)),
    "celu_2": (lambda x: F.celu(x, 2.0), lambda x: TF.celu(x, 2.0)),
    "gelu": (lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "silu": (lambda x: F.silu(x), lambda x: TF.silu(x)),
    "mish": (lambda x: F.mish(x), lambda x: TF.mish(x)),
    "softplus": (lambda x: F.softplus(x), lambda x: TF.softplus(x)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=10.0),
                      lambda x: TF.softplus(x, beta=2.0, threshold=10.0)),
    "softplus_beta_half": (lambda x: F.softplus(x, beta=0.5), lambda x: TF.softplus(x, beta=0.5)),
    "softsign": (lambda x: F.softsign(x), lambda x: TF.softsign(x)),
    "tanh": (lambda x: F.tanh(x), lambda x: TF.tanh(x)),
    "sigmoid": (lambda x: F.sigmoid(x), lambda x: TF.sigmoid(x)),
    "hardtanh": (lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    "hardtanh_wide": (lambda x: F.hardtanh(x, -3.0, 6.0), lambda x: TF.hardtanh(x, -3.0, 6.0)),
    "hardsigmoid": (lambda x: F.hardsigmoid(x), lambda x: TF.hardsigmoid(x)),
    "hardswish": (lambda x: F.hardswish(x), lambda x: TF.hardswish(x)),
    "logsigmoid": (lambda x: F.logsigmoid(x), lambda x: TF.logsigmoid(x)),
    "threshold": (lambda x: F.threshold(x, 1.0, -2.0), lambda x: TF.threshold(x, 1.0, -2.0)),
    "softshrink": (lambda x: F.softshrink(x, 0.5), lambda x: TF.softshrink(x, 0.5)),
    "hardshrink": (lambda x: F.hardshrink(x, 0.5), lambda x: TF.hardshrink(x, 0.5)),
    "tanhshrink": (lambda x: F.tanhshrink(x), lambda x: TF.tanhshrink(x)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name, dtype, rng):
    cr_fn, th_fn = ACTIVATIONS[name]
    _check_fn(cr_fn, th_fn, _inputs(rng, dtype), rng, dtype, **_loose(name, dtype))


def _loose(name: str, dtype) -> dict:
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64
    # (0.1666666716...), chainrule by the float64 value: equal to float32 precision only
    return {"rtol": 1e-7} if "hardsigmoid" in name.lower() and dtype == np.float64 else {}


DIM_FNS = {
    "softmax": (lambda x, d: F.softmax(x, d), lambda x, d: TF.softmax(x, d)),
    "log_softmax": (lambda x, d: F.log_softmax(x, d), lambda x, d: TF.log_softmax(x, d)),
    "softmin": (lambda x, d: F.softmin(x, d), lambda x, d: TF.softmin(x, d)),
    "glu": (lambda x, d: F.glu(x, d), lambda x, d: TF.glu(x, d)),
    "normalize": (lambda x, d: F.normalize(x, dim=d), lambda x, d: TF.normalize(x, dim=d)),
    "normalize_p1": (lambda x, d: F.normalize(x, p=1.0, dim=d),
                     lambda x, d: TF.normalize(x, p=1.0, dim=d)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", sorted(DIM_FNS))
def test_dim_functions_match_torch(name, dim, dtype, rng):
    cr_fn, th_fn = DIM_FNS[name]
    x = (rng.standard_normal((4, 6, 2)) * 3).astype(dtype)
    _check_fn(lambda t: cr_fn(t, dim), lambda t: th_fn(t, dim), x, rng, dtype)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family_extreme_logits(name, rng):
    cr_fn, th_fn = DIM_FNS[name]
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -3.0]], np.float32)
    _check_fn(lambda t: cr_fn(t, 1), lambda t: th_fn(t, 1), x, rng, np.float32)


def test_softmax_dtype_argument_and_positional_stacklevel():
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    out = F.softmax(cr.tensor(x), 1, 3, dtype=cr.float64)  # third positional is _stacklevel
    assert out.dtype == cr.float64
    np.testing.assert_allclose(out.numpy(), TF.softmax(torch.tensor(x), 1, dtype=torch.float64).numpy())


def test_glu_odd_dimension_raises():
    with pytest.raises(RuntimeError, match="even"):
        F.glu(cr.ones(2, 3))


# ----------------------------------------------------------------------------- in place

@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "celu", "silu", "mish",
                                  "hardtanh", "relu6", "hardsigmoid", "hardswish"])
def test_inplace_activation_on_nonleaf(name, rng):
    x = rng.standard_normal((3, 5)) * 3
    a, b = _pair(x)
    ya = getattr(F, name)(a * 2.0, inplace=True)
    yb = getattr(TF, name)(b * 2.0, inplace=True)
    _close(ya, yb, np.float64)
    (ya * ya).sum().backward()
    (yb * yb).sum().backward()
    _close(a.grad, b.grad, np.float64, **_loose(name, np.float64))


def test_inplace_writes_into_the_input_and_refuses_a_leaf():
    x = cr.tensor([-1.0, 2.0])
    out = F.relu(x, inplace=True)
    assert out is x and x.tolist() == [0.0, 2.0]
    leaf = cr.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        F.relu(leaf, inplace=True)


# ----------------------------------------------------------------------------- modules

MODULES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("ReLU6", (), {"inplace": True}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("ELU", (), {}), ("ELU", (0.5, True), {}),
    ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (), {}), ("CELU", (2.0,), {}),
    ("GELU", (), {}), ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("SiLU", (True,), {}),
    ("Mish", (), {}), ("Mish", (True,), {}), ("Tanh", (), {}), ("Sigmoid", (), {}),
    ("Softmax", (), {"dim": 1}), ("Softmax", (-1,), {}), ("LogSoftmax", (), {"dim": 1}),
    ("Softmin", (0,), {}), ("Softplus", (), {}), ("Softplus", (2, 10), {}),
    ("Softplus", (), {"beta": 0.5, "threshold": 5.0}), ("Softsign", (), {}), ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 3, True), {}), ("Hardtanh", (), {"min_val": -0.5, "max_val": 2.5}),
    ("Hardsigmoid", (), {}), ("Hardsigmoid", (True,), {}), ("Hardswish", (), {}),
    ("LogSigmoid", (), {}), ("GLU", (), {}), ("GLU", (1,), {}), ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.1, 20.0, True), {}), ("Softshrink", (), {}), ("Hardshrink", (0.3,), {}),
    ("Tanhshrink", (), {}),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("cls,args,kwargs", MODULES,
                         ids=[f"{c}{a}{k}" for c, a, k in MODULES])
def test_activation_module_matches_torch(cls, args, kwargs, dtype, rng):
    mine = getattr(nn, cls)(*args, **kwargs)
    theirs = getattr(tnn, cls)(*args, **kwargs)
    assert repr(mine) == repr(theirs)
    x = (rng.standard_normal((4, 6)) * 4).astype(dtype)
    # in-place modules cannot act on a leaf: feed them a non-leaf, as a network would
    _check_fn(lambda t: mine(t * 1.0), lambda t: theirs(t * 1.0), x, rng, dtype, **_loose(cls, dtype))
    assert list(dict(mine.named_parameters())) == list(dict(theirs.named_parameters()))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("num_parameters,init", [(1, 0.25), (3, 0.1)])
def test_prelu_matches_torch(num_parameters, init, dtype, rng):
    mine = nn.PReLU(num_parameters, init, dtype=cr.float64 if dtype == np.float64 else None)
    theirs = tnn.PReLU(num_parameters, init, dtype=torch.float64 if dtype == np.float64 else None)
    assert repr(mine) == repr(theirs)
    assert mine.weight.shape == (num_parameters,) and np.all(mine.weight.detach().numpy() == dtype(init))
    # different slopes per channel so that a wrong broadcast is seen
    slopes = rng.uniform(0.05, 0.5, num_parameters).astype(dtype)
    with cr.no_grad():
        mine.weight.copy_(cr.tensor(slopes))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in mine.state_dict().items()})
    x = (rng.standard_normal((2, 3, 4, 5)) * 2).astype(dtype)
    a, b = _pair(x)
    ya, yb = mine(a), theirs(b)
    _close(ya, yb, dtype)
    g = rng.standard_normal(ya.shape).astype(dtype)
    ya.backward(cr.tensor(g))
    yb.backward(torch.tensor(g))
    _close(a.grad, b.grad, dtype)
    _close(mine.weight.grad, theirs.weight.grad, dtype, rtol=1e-4 if dtype == np.float32 else 1e-10)


def _copy_to_torch(mine, theirs):
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in mine.state_dict().items()})


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("in_shape", [(5,), (7, 5), (2, 3, 5)])
def test_linear_matches_torch(in_shape, bias, dtype, rng):
    cdt = cr.float64 if dtype == np.float64 else cr.float32
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    mine = nn.Linear(5, 4, bias=bias, dtype=cdt)
    theirs = tnn.Linear(5, 4, bias=bias, dtype=tdt)
    assert repr(mine) == repr(theirs)
    assert [(k, tuple(p.shape)) for k, p in mine.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in theirs.named_parameters()]
    assert mine.weight.dtype == cdt
    _copy_to_torch(mine, theirs)
    x = rng.standard_normal(in_shape).astype(dtype)
    a, b = _pair(x)
    ya, yb = mine(a), theirs(b)
    _close(ya, yb, dtype)
    g = rng.standard_normal(ya.shape).astype(dtype)
    ya.backward(cr.tensor(g))
    yb.backward(torch.tensor(g))
    _close(a.grad, b.grad, dtype)
    for (k, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [(), (6,), (2, 3)])
def test_bilinear_matches_torch(batch, bias, dtype, rng):
    cdt = cr.float64 if dtype == np.float64 else cr.float32
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    mine = nn.Bilinear(3, 4, 5, bias=bias, dtype=cdt)
    theirs = tnn.Bilinear(3, 4, 5, bias=bias, dtype=tdt)
    assert repr(mine) == repr(theirs)
    assert [(k, tuple(p.shape)) for k, p in mine.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in theirs.named_parameters()]
    _copy_to_torch(mine, theirs)
    x1 = rng.standard_normal(batch + (3,)).astype(dtype)
    x2 = rng.standard_normal(batch + (4,)).astype(dtype)
    a1, b1 = _pair(x1)
    a2, b2 = _pair(x2)
    ya, yb = mine(a1, a2), theirs(b1, b2)
    _close(ya, yb, dtype)
    g = rng.standard_normal(ya.shape).astype(dtype)
    ya.backward(cr.tensor(g))
    yb.backward(torch.tensor(g))
    _close(a1.grad, b1.grad, dtype)
    _close(a2.grad, b2.grad, dtype)
    for (k, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, dtype)


def test_functional_linear_one_dim_weight_and_errors(rng):
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal(4)
    out = F.linear(cr.tensor(x), cr.tensor(w), cr.tensor(0.5))
    np.testing.assert_allclose(out.numpy(), x @ w + 0.5, rtol=1e-12)
    with pytest.raises(RuntimeError, match="in_features"):
        F.linear(cr.ones(3, 4), cr.ones(2, 5))


def test_linear_load_state_dict_from_torch_and_train_step(rng):
    theirs = tnn.Linear(3, 2)
    mine = nn.Linear(3, 2)
    mine.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(mine(cr.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- initialisation

@pytest.mark.parametrize("fan_in,fan_out", [(400, 300), (1000, 5)])
def test_linear_default_init_bounds_and_spread(fan_in, fan_out):
    cr.manual_seed(0)
    layer = nn.Linear(fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # a uniform on [-bound, bound] has std bound/sqrt(3), and reaches close to both ends
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert w.max() > 0.98 * bound and w.min() < -0.98 * bound
    assert abs(w.mean()) < 0.02 * bound
    assert len(np.unique(b)) == fan_out  # the bias is random too, not a constant
    assert layer.weight.requires_grad and layer.weight.is_leaf


def test_bilinear_default_init_bounds():
    cr.manual_seed(1)
    layer = nn.Bilinear(50, 20, 30)
    bound = 1 / math.sqrt(50)
    w = layer.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(layer.bias.detach().numpy()).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound


def test_reset_parameters_draws_new_values():
    layer = nn.Linear(20, 10)
    before = layer.weight.detach().numpy().copy()
    version = layer.weight._version
    layer.reset_parameters()
    assert not np.array_equal(before, layer.weight.detach().numpy())
    assert layer.weight._version > version


def test_manual_seed_makes_init_reproducible():
    cr.manual_seed(123)
    a = nn.Linear(4, 3).weight.detach().numpy().copy()
    cr.manual_seed(123)
    b = nn.Linear(4, 3).weight.detach().numpy().copy()
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- finite differences

def _fd_check(fn, *arrays, rng, eps=1e-6, atol=1e-6):
    """Analytic gradient (chainrule.autograd.grad) of sum(u * fn(*xs)) against central
    finite differences in float64."""
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    u = rng.standard_normal(tuple(out.shape))
    analytic = cr.autograd.grad((out * cr.tensor(u)).sum(), xs)
    for i, a in enumerate(arrays):
        def f():
            with cr.no_grad():
                args = [cr.tensor(arrays[j]) for j in range(len(arrays))]
                return float((fn(*args).numpy() * u).sum())
        numeric = finite_difference(f, a, eps)
        np.testing.assert_allclose(analytic[i].numpy(), numeric, rtol=1e-5, atol=atol)


# points away from kinks (finite differences are meaningless across them)
_SMOOTH = np.array([-25.0, -4.2, -2.1, -0.7, -0.2, 0.3, 0.9, 2.2, 4.5, 25.0])


@pytest.mark.parametrize("name,fn", [
    ("gelu", F.gelu), ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")), ("mish", F.mish),
    ("softplus_beta", lambda x: F.softplus(x, beta=1.5, threshold=30.0)), ("logsigmoid", F.logsigmoid),
    ("selu", F.selu), ("celu", lambda x: F.celu(x, 0.7)), ("hardswish", F.hardswish),
    ("silu", F.silu), ("softsign", F.softsign), ("hardsigmoid", F.hardsigmoid),
])
def test_activation_finite_differences(name, fn, rng):
    _fd_check(fn, _SMOOTH.copy(), rng=rng)


def test_composites_finite_differences(rng):
    _fd_check(lambda x1, x2, w, b: F.bilinear(x1, x2, w, b), rng.standard_normal((3, 2)),
              rng.standard_normal((3, 4)), rng.standard_normal((5, 2, 4)), rng.standard_normal(5), rng=rng)
    _fd_check(lambda x: F.glu(x, 1), rng.standard_normal((3, 4)), rng=rng)
    _fd_check(lambda x: F.softmin(x, 1), rng.standard_normal((3, 4)), rng=rng)
    _fd_check(lambda x, w: F.prelu(x, w), np.array([[-1.3, 0.4], [2.0, -0.2]]),
              np.array([0.2, 0.3]), rng=rng)


def test_second_derivative_of_gelu_matches_torch():
    x = np.linspace(-3, 3, 13)
    a, b = _pair(x)
    (ga,) = cr.autograd.grad(F.gelu(a).sum(), [a], create_graph=True)
    (gb,) = torch.autograd.grad(TF.gelu(b).sum(), [b], create_graph=True)
    ga.sum().backward()
    gb.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["gelu", "mish", "selu", "softplus", "logsigmoid", "silu", "elu"])
def test_activation_hessian_matches_torch_func(name, rng):
    from chainrule.func import hessian
    x = rng.standard_normal(6) * 2
    mine = hessian(lambda a: getattr(F, name)(a).sum())(cr.tensor(x))
    theirs = torch.func.hessian(lambda a: getattr(TF, name)(a).sum())(torch.tensor(x))
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12)
