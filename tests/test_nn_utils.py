"""``chainrule.nn.utils`` against PyTorch: gradient clipping (total norm returned, gradients
scaled in place) and flattening parameters into a vector and back."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule import nn  # noqa: E402
from chainrule.nn import utils as U  # noqa: E402

SHAPES = [(3, 4), (4,), (2, 2, 3), ()]


def _params_with_grads(rng, dtype=np.float32, scale=1.0, none_at=None):
    """The same parameters and gradients in both libraries (one may have no gradient)."""
    ours, theirs = [], []
    for k, shape in enumerate(SHAPES):
        w = rng.standard_normal(shape).astype(dtype)
        g = (rng.standard_normal(shape) * scale).astype(dtype)
        a = nn.Parameter(cr.tensor(w))
        b = torch.nn.Parameter(torch.tensor(w))
        if k != none_at:
            a.grad = cr.tensor(g)
            b.grad = torch.tensor(g)
        ours.append(a)
        theirs.append(b)
    return ours, theirs


def _compare_grads(ours, theirs, rtol=1e-6):
    for a, b in zip(ours, theirs):
        if b.grad is None:
            assert a.grad is None
        else:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2, 2.0, 1, float("inf"), "inf", 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # clipping, and not
def test_clip_grad_norm_matches_torch(norm_type, max_norm, rng):
    ours, theirs = _params_with_grads(rng, scale=3.0, none_at=1)
    total = U.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == () and not total.requires_grad
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    _compare_grads(ours, theirs)
    if max_norm == 0.5:  # after clipping, the total norm is (just under) max_norm
        after = U.get_total_norm([p.grad for p in ours if p.grad is not None], norm_type)
        assert after.item() <= max_norm * (1 + 1e-5)


def test_clip_grad_norm_total_is_norm_of_all_gradients_together(rng):
    ours, _ = _params_with_grads(rng, dtype=np.float64)
    flat = np.concatenate([p.grad.numpy().ravel() for p in ours])
    for p, fn in ((2, lambda v: np.sqrt((v ** 2).sum())), (1, lambda v: np.abs(v).sum()),
                  (math.inf, lambda v: np.abs(v).max())):
        total = U.clip_grad_norm_(ours, 1e9, p)  # no clipping at this max_norm
        np.testing.assert_allclose(total.item(), fn(flat), rtol=1e-12)


def test_clip_grad_norm_float64_and_single_tensor(rng):
    w = rng.standard_normal((5, 3))
    g = rng.standard_normal((5, 3)) * 10
    a, b = nn.Parameter(cr.tensor(w)), torch.nn.Parameter(torch.tensor(w))
    a.grad, b.grad = cr.tensor(g), torch.tensor(g)
    total = U.clip_grad_norm_(a, 1.0)  # a single tensor, not a list
    expected = torch.nn.utils.clip_grad_norm_(b, 1.0)
    assert total.dtype == cr.float64
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_accepts_a_generator_and_module_parameters(rng):
    model = nn.LayerNorm(4)
    tmodel = torch.nn.LayerNorm(4)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    (model(cr.tensor(x)) ** 2).sum().backward()
    (tmodel(torch.tensor(x)) ** 2).sum().backward()
    total = U.clip_grad_norm_(model.parameters(), 0.1)
    expected = torch.nn.utils.clip_grad_norm_(tmodel.parameters(), 0.1)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-5)
    _compare_grads(list(model.parameters()), list(tmodel.parameters()), rtol=1e-5)


def test_clip_grad_norm_without_gradients_returns_zero():
    p = nn.Parameter(cr.ones(3))
    total = U.clip_grad_norm_([p], 1.0)
    expected = torch.nn.utils.clip_grad_norm_([torch.nn.Parameter(torch.ones(3))], 1.0)
    assert total.item() == expected.item()
    assert p.grad is None
    assert U.clip_grad_norm_([], 1.0).item() == 0.0


@pytest.mark.parametrize("bad", [math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm_nonfinite(bad, norm_type, rng):
    ours, theirs = _params_with_grads(rng)
    ours[0].grad.numpy()[0, 0] = bad
    theirs[0].grad[0, 0] = bad
    before = [p.grad.numpy().copy() for p in ours]
    with pytest.raises(RuntimeError, match="non-finite"):
        U.clip_grad_norm_(ours, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type, error_if_nonfinite=True)
    for p, b in zip(ours, before):  # the error leaves the gradients alone
        np.testing.assert_array_equal(p.grad.numpy(), b)
    # without the error, scale by the non-finite norm anyway, as PyTorch does
    total = U.clip_grad_norm_(ours, 1.0, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    np.testing.assert_array_equal(np.isnan(total.item()), np.isnan(expected.item()))
    if not np.isnan(expected.item()):
        assert total.item() == expected.item()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, equal_nan=True)


def test_get_total_norm_and_clip_grads_with_norm_match_torch(rng):
    ours, theirs = _params_with_grads(rng, scale=2.0)
    cg = [p.grad for p in ours]
    tg = [p.grad for p in theirs]
    total = U.get_total_norm(cg, 3.0)
    expected = torch.nn.utils.get_total_norm(tg, 3.0)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    U.clip_grads_with_norm_(ours, 1.0, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, expected)
    _compare_grads(ours, theirs)


@pytest.mark.parametrize("clip_value", [0.3, 1, 10.0])
def test_clip_grad_value_matches_torch(clip_value, rng):
    ours, theirs = _params_with_grads(rng, scale=2.0, none_at=2)
    assert U.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _compare_grads(ours, theirs)
    for p in ours:
        if p.grad is not None:
            assert np.abs(p.grad.numpy()).max() <= clip_value


def test_clip_grad_norm_deprecated_alias(rng):
    ours, theirs = _params_with_grads(rng)
    with pytest.warns(FutureWarning):
        total = U.clip_grad_norm(ours, 0.1)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.1)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)


# ----------------------------------------------------------------------------- vectors

def test_parameters_to_vector_matches_torch_and_is_differentiable(rng):
    ours, theirs = _params_with_grads(rng, dtype=np.float64)
    v = U.parameters_to_vector(ours)
    tv = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(v.detach().numpy(), tv.detach().numpy())
    assert v.shape == (sum(int(np.prod(s)) for s in SHAPES),)
    weights = rng.standard_normal(tuple(v.shape))
    for p in ours:
        p.grad = None
    for p in theirs:
        p.grad = None
    (v * cr.tensor(weights)).sum().backward()
    (tv * torch.tensor(weights)).sum().backward()
    _compare_grads(ours, theirs, rtol=1e-12)


def test_vector_to_parameters_round_trip(rng):
    ours, theirs = _params_with_grads(rng)
    n = sum(p.numel() for p in ours)
    vec = rng.standard_normal(n).astype(np.float32)
    U.vector_to_parameters(cr.tensor(vec), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), theirs)
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_array_equal(U.parameters_to_vector(ours).detach().numpy(), vec)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        U.vector_to_parameters(vec, ours)
    with pytest.raises(RuntimeError, match="elements"):
        U.vector_to_parameters(cr.zeros(n + 1), ours)
