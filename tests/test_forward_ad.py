"""Forward-mode AD: dual levels, make_dual / unpack_dual, tangents from each primitive's
jvp rule, Function.jvp, and forward-over-reverse.

Expected values are closed forms, or Jacobians built by chainrule's *reverse* engine
(an independent code path: vjp rules instead of jvp rules), or torch's forward AD.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function
from chainrule.autograd import forward_ad as fwAD

try:
    import torch
    import torch.autograd.forward_ad as tfwAD
except ImportError:  # pragma: no cover
    torch = None


def T(a, requires_grad=False) -> cr.Tensor:
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def A(t) -> np.ndarray:
    return np.asarray(t._data)


def close(a, b, tol=1e-10) -> None:
    assert isinstance(a, cr.Tensor), f"expected a chainrule Tensor, got {type(a).__name__}"
    np.testing.assert_allclose(A(a), b if isinstance(b, np.ndarray) else np.asarray(b),
                               rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- semantics

def test_make_dual_unpack_dual():
    x, v = T([1.0, 2.0]), T([0.5, -1.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        primal, tangent = fwAD.unpack_dual(d)
        close(primal, A(x))
        close(tangent, A(v))
        assert fwAD.unpack_dual(x).tangent is None  # the original carries no tangent
        plain = fwAD.unpack_dual(T([3.0]))
        assert plain.tangent is None and plain.primal.tolist() == [3.0]
        y = d * d
        close(fwAD.unpack_dual(y).tangent, 2 * A(x) * A(v))
        assert y.grad_fn is None  # nothing requires grad: no graph is kept


def test_tangents_vanish_after_level():
    x, v = T([1.0, 2.0]), T([1.0, 1.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v)
        y = d.exp()
        assert fwAD.unpack_dual(y).tangent is not None
    assert fwAD.unpack_dual(y).tangent is None
    assert fwAD.unpack_dual(d).tangent is None
    with fwAD.dual_level():  # a new level starts clean
        assert fwAD.unpack_dual((y * 2)).tangent is None


def test_make_dual_errors():
    x = T([1.0, 2.0])
    with pytest.raises(RuntimeError, match="dual level"):
        fwAD.make_dual(x, x)
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match=r"shape \[2\].*\[3\]"):
            fwAD.make_dual(x, T([1.0, 2.0, 3.0]))
        with pytest.raises(ValueError, match="floating point"):
            fwAD.make_dual(cr.tensor([1, 2]), cr.tensor([1, 2]))
        with pytest.raises(TypeError, match="Tensor"):
            fwAD.make_dual(x, [1.0, 2.0])


def test_nested_level_raises():
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="nested dual levels"):
            with fwAD.dual_level():
                pass
    with fwAD.dual_level():  # the failed attempt left the state usable
        d = fwAD.make_dual(T([1.0]), T([2.0]))
        close(fwAD.unpack_dual(d * 3).tangent, [6.0])


def test_level_exits_on_error():
    with pytest.raises(ZeroDivisionError):
        with fwAD.dual_level():
            1 / 0
    with fwAD.dual_level():  # no level left dangling
        pass


# ----------------------------------------------------------------------------- many ops

def _chain(x):
    """Many primitives: elementwise, broadcasting, reductions, shapes, indexing, linalg."""
    M = cr.tensor(np.arange(12.0).reshape(3, 4) / 10, dtype=cr.float64)
    a = x.reshape(3, 4)
    b = (a.sin() * a.exp() + a.tanh() / (1 + a * a)) ** 2
    c = b @ M.T + a.sigmoid().sum(1, keepdim=True)
    d = cr.cat([c.permute(1, 0), a[:, 1:3].T.log1p().abs()], 0)
    e = cr.where(d > 0.5, d.sqrt(), -d) * cr.softmax(d, 1)
    f = e.max(0).values + cr.logsumexp(e, 0) + e.mean(0) + e.var(0)
    return cr.stack([f, f.cumsum(0), e[[0, 2, 4]].sum(0)]).flatten()


def _reverse_jacobian(f, x) -> np.ndarray:
    """J built row by row with the reverse engine (autograd.grad)."""
    xr = x.detach().requires_grad_()
    y = f(xr)
    rows = []
    for k in range(y.numel()):
        e = np.zeros(y.numel())
        e[k] = 1.0
        (g,) = cr.autograd.grad(y, xr, T(e).reshape(y.shape), retain_graph=True)
        rows.append(A(g).reshape(-1))
    return np.stack(rows)


def test_forward_mode_through_many_ops_equals_reverse():
    rng = np.random.default_rng(0)
    x = T(rng.uniform(0.1, 1.0, size=12))
    J = _reverse_jacobian(_chain, x)
    for _ in range(3):
        v = rng.normal(size=12)
        with fwAD.dual_level():
            y = _chain(fwAD.make_dual(x, T(v)))
            primal, tangent = fwAD.unpack_dual(y)
        close(primal, A(_chain(x)))
        close(tangent, J @ v, 1e-9)


@pytest.mark.skipif(torch is None, reason="PyTorch (the oracle) is not installed")
def test_forward_mode_matches_torch():
    rng = np.random.default_rng(1)
    x0, v0 = rng.uniform(0.1, 1.0, size=12), rng.normal(size=12)

    def chain(m, x):
        a = x.reshape(3, 4)
        b = (a.sin() * a.exp()) ** 2 / (1 + a * a)
        return m.softmax(b @ b.T, 1).log().sum(0) + m.logsumexp(b, 0).sum()

    with fwAD.dual_level():
        t = fwAD.unpack_dual(chain(cr, fwAD.make_dual(T(x0), T(v0)))).tangent
    with tfwAD.dual_level():
        tt = tfwAD.unpack_dual(chain(torch, tfwAD.make_dual(torch.tensor(x0),
                                                            torch.tensor(v0)))).tangent
    close(t, tt.numpy(), 1e-9)


def test_inplace_op_keeps_tangent():
    x, v = T([1.0, 2.0]), T([1.0, -1.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, v).clone()
        d.mul_(3.0)
        d.add_(d)  # 6x: tangent 6v
        close(fwAD.unpack_dual(d).tangent, 6 * A(v))


# ----------------------------------------------------------------------------- Function.jvp

class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.x = x
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g

    @staticmethod
    def jvp(ctx, t):
        return 3 * ctx.x * ctx.x * t


class NoJvp(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return 2 * g


def test_function_with_jvp():
    x, v = T([1.0, -2.0]), T([1.0, 0.5])
    with fwAD.dual_level():
        y = Cube.apply(fwAD.make_dual(x, v)).sin()
        t = fwAD.unpack_dual(y).tangent
    close(t, np.cos(A(x) ** 3) * 3 * A(x) ** 2 * A(v))


def test_function_without_jvp_raises():
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="NoJvp has no jvp"):
            NoJvp.apply(fwAD.make_dual(T([1.0]), T([1.0])))


# ----------------------------------------------------------------------------- forward-over-reverse

@pytest.mark.parametrize("create_graph", [False, True])
def test_forward_over_reverse_hvp(create_graph):
    # f(x) = sum(exp(x) * x^2) + (a.x)^2: H = diag(exp(x)(x^2 + 4x + 2)) + 2 a a^T
    rng = np.random.default_rng(2)
    x0, v0, a0 = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    a = T(a0)
    H = np.diag(np.exp(x0) * (x0 ** 2 + 4 * x0 + 2)) + 2 * np.outer(a0, a0)
    with fwAD.dual_level():
        x = fwAD.make_dual(T(x0).requires_grad_(), T(v0))
        y = (x.exp() * x * x).sum() + (a * x).sum() ** 2
        (g,) = cr.autograd.grad(y, x, create_graph=create_graph)
        hv = fwAD.unpack_dual(g).tangent
    close(g, np.exp(x0) * (x0 ** 2 + 2 * x0) + 2 * a0 * (a0 @ x0))
    close(hv, H @ v0, 1e-9)


def test_forward_over_reverse_saved_outputs():
    # tanh and sigmoid save their output for the vjp: its tangent must reach the backward
    x0, v0 = np.array([0.3, -0.8]), np.array([1.0, 2.0])
    with fwAD.dual_level():
        x = fwAD.make_dual(T(x0).requires_grad_(), T(v0))
        (g,) = cr.autograd.grad(x.tanh().sum() + x.sigmoid().sum(), x)
        hv = fwAD.unpack_dual(g).tangent
    th, s = np.tanh(x0), 1 / (1 + np.exp(-x0))
    close(hv, (-2 * th * (1 - th ** 2) + s * (1 - s) * (1 - 2 * s)) * v0)


def test_make_dual_of_leaf_requiring_grad_reaches_the_leaf():
    x = T([1.0, 2.0, 3.0], requires_grad=True)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, T([1.0, 1.0, 1.0]))
        y = (d * d).sum()
        close(fwAD.unpack_dual(y).tangent, 2 * A(x).sum())
        y.backward()
    close(x.grad, 2 * A(x))


def test_reverse_over_forward():
    # gradient with respect to the primal of a jvp (tangents recorded as tensors)
    x = T([0.5, 1.5], requires_grad=True)
    v = T([1.0, -1.0])
    with fwAD.dual_level():
        y = (fwAD.make_dual(x, v).sin()).sum()
        t = fwAD.unpack_dual(y).tangent  # sum(cos(x) v)
    (g,) = cr.autograd.grad(t, x)
    close(g, -np.sin(A(x)) * A(v))
