"""nn.init: PyTorch's gains, fans, bounds and scalings. PyTorch's random streams cannot be
reproduced, so the random initialisers are checked by their distributions (bounds, standard
deviations, orthogonality), with sample sizes large enough for tight tolerances."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init

torch = pytest.importorskip("torch")
tinit = torch.nn.init


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", 3), ("leaky_relu", math.sqrt(5)), ("selu", None),
])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        tinit.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 4, 3, 2), (2, 3, 1, 1, 5)])
def test_fan_in_and_fan_out_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(cr.empty(*shape)) == \
        tinit._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(cr.empty(5))
    with pytest.raises(ValueError, match="Mode"):
        init.kaiming_uniform_(cr.empty(3, 4), mode="fan_avg")


def _param(*shape, dtype=None):
    return nn.Parameter(cr.zeros(*shape, dtype=dtype))


def test_init_runs_in_place_on_parameters_and_returns_the_tensor():
    p = _param(30, 20)
    version = p._version
    data = p.detach().numpy()  # shares memory: must see the new values
    out = init.uniform_(p, -2.0, 3.0)
    assert out is p
    assert p._version > version
    assert data.min() >= -2.0 and data.max() < 3.0 and data.std() > 0.5
    assert p.requires_grad and p.is_leaf and p.grad_fn is None


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_",
                                "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                "kaiming_normal_", "trunc_normal_", "orthogonal_"])
def test_every_init_keeps_dtype_and_records_nothing(fn):
    p = _param(6, 4, dtype=cr.float64)
    args = (0.5,) if fn == "constant_" else ()
    getattr(init, fn)(p, *args)
    assert p.dtype == cr.float64 and p.grad_fn is None and p.is_leaf
    assert np.isfinite(p.detach().numpy()).all()


def test_constant_ones_zeros_eye():
    p = _param(3, 5)
    assert np.all(init.constant_(p, 0.25).detach().numpy() == np.float32(0.25))
    assert np.all(init.ones_(p).detach().numpy() == 1)
    assert np.all(init.zeros_(p).detach().numpy() == 0)
    np.testing.assert_array_equal(init.eye_(p).detach().numpy(), tinit.eye_(torch.empty(3, 5)).numpy())
    with pytest.raises(ValueError):
        init.eye_(_param(2, 2, 2))


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((3, 5, 2, 3, 3), 1)])
def test_dirac_matches_torch(shape, groups):
    mine = init.dirac_(_param(*shape), groups).detach().numpy()
    theirs = tinit.dirac_(torch.empty(*shape), groups).numpy()
    np.testing.assert_array_equal(mine, theirs)


def test_uniform_and_normal_statistics():
    cr.manual_seed(0)
    p = _param(400, 500)
    u = init.uniform_(p, -1.0, 3.0).detach().numpy()
    assert u.min() >= -1.0 and u.max() < 3.0
    assert abs(u.mean() - 1.0) < 0.01 and abs(u.std() - 4 / math.sqrt(12)) < 0.01
    n = init.normal_(p, 2.0, 0.5).detach().numpy()
    assert abs(n.mean() - 2.0) < 0.005 and abs(n.std() - 0.5) < 0.005


@pytest.mark.parametrize("shape", [(300, 400), (64, 32, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(shape, gain):
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.empty(*shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    u = init.xavier_uniform_(_param(*shape), gain).detach().numpy()
    bound = math.sqrt(3.0) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    assert abs(u.std() - std) < 0.02 * std
    n = init.xavier_normal_(_param(*shape), gain=gain).detach().numpy()
    assert abs(n.std() - std) < 0.02 * std and abs(n.mean()) < 0.02 * std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("leaky_relu", 0), ("leaky_relu", math.sqrt(5)),
                                            ("relu", 0), ("tanh", 0), ("leaky_relu", 0.1)])
def test_kaiming(mode, nonlinearity, a):
    shape = (200, 150, 2, 2)
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.empty(*shape))
    fan = fan_in if mode == "fan_in" else fan_out
    std = tinit.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    u = init.kaiming_uniform_(_param(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    u = u.detach().numpy()
    bound = math.sqrt(3.0) * std
    assert np.abs(u).max() <= bound and np.abs(u).max() > 0.99 * bound
    assert abs(u.std() - std) < 0.02 * std
    n = init.kaiming_normal_(_param(*shape), a, mode, nonlinearity).detach().numpy()
    assert abs(n.std() - std) < 0.02 * std


def test_kaiming_on_empty_tensor_warns_and_returns():
    p = _param(0, 3)
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_uniform_(p) is p


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.0, 1.5),
                                          (0.0, 0.02, -0.04, 0.04), (0.0, 1.0, 0.5, 3.0)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    cr.manual_seed(3)
    x = init.trunc_normal_(_param(500, 400, dtype=cr.float64), mean, std, a, b).detach().numpy()
    assert x.min() >= a and x.max() <= b
    # the moments of the truncated normal, from its closed form
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2  # noqa: E731
    Z = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / Z
    var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / Z - ((pdf(alpha) - pdf(beta)) / Z) ** 2)
    assert abs(x.mean() - m) < 0.01 * std
    assert abs(x.std() - math.sqrt(var)) < 0.01 * std


@pytest.mark.parametrize("shape", [(20, 20), (10, 30), (30, 10), (8, 4, 3, 3), (3, 40)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal(shape, gain):
    w = init.orthogonal_(_param(*shape, dtype=cr.float64), gain).detach().numpy()
    rows = shape[0]
    flat = w.reshape(rows, -1)
    if rows <= flat.shape[1]:
        np.testing.assert_allclose(flat @ flat.T, gain ** 2 * np.eye(rows), atol=1e-12)
    else:
        np.testing.assert_allclose(flat.T @ flat, gain ** 2 * np.eye(flat.shape[1]), atol=1e-12)


def test_orthogonal_is_not_always_the_same_matrix_and_errors():
    a = init.orthogonal_(_param(5, 5)).detach().numpy().copy()
    b = init.orthogonal_(_param(5, 5)).detach().numpy()
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(_param(5))


def test_orthogonal_is_haar_distributed():
    # QR with the signs of R's diagonal fixed gives a uniformly random orthogonal matrix: the
    # mean of many draws is 0 (without the sign fix the diagonal would be biased positive)
    cr.manual_seed(7)
    draws = np.stack([init.orthogonal_(_param(4, 4, dtype=cr.float64)).detach().numpy()
                      for _ in range(2000)])
    assert np.abs(draws.mean(0)).max() < 0.06


def test_sparse():
    cr.manual_seed(2)
    w = init.sparse_(_param(20, 30), sparsity=0.3, std=0.1).detach().numpy()
    assert ((w == 0).sum(0) >= math.ceil(0.3 * 20)).all()
    assert abs(w[w != 0].std() - 0.1) < 0.02


def test_generator_argument_makes_draws_reproducible():
    g1 = cr.Generator().manual_seed(11)
    g2 = cr.Generator().manual_seed(11)
    a = init.kaiming_normal_(_param(8, 8), generator=g1).detach().numpy().copy()
    b = init.kaiming_normal_(_param(8, 8), generator=g2).detach().numpy()
    np.testing.assert_array_equal(a, b)
