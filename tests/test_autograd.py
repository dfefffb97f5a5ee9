"""Autograd semantics, pinned against PyTorch's documented behaviour.

Expected values are derived by hand (closed forms) or computed with PyTorch, never
taken from chainrule itself.
"""
from __future__ import annotations

import gc
import math
import threading
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function


def arr(t):
    return np.asarray(t.detach()._data if hasattr(t, "_data") else t)


def close(t, expected, tol=1e-6):
    np.testing.assert_allclose(np.asarray(t.detach()), np.asarray(expected, dtype=np.float64),
                               rtol=tol, atol=tol)


# --------------------------------------------------------------------------- leaves


def test_leaf_and_requires_grad_propagation():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert c.is_leaf and not c.requires_grad
    y = x * c
    assert not y.is_leaf and y.requires_grad and y.grad_fn is not None
    z = c * 2
    assert z.is_leaf and not z.requires_grad and z.grad_fn is None
    # requires_grad spreads to every result that depends on x, however indirectly
    w = (z + y).sum()
    assert w.requires_grad and not w.is_leaf
    # requires_grad_() turns a plain leaf into one that records
    c.requires_grad_()
    assert c.requires_grad and c.is_leaf
    assert (c * 2).requires_grad
    # requires_grad_(False) on a non-leaf is refused
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)


def test_grad_is_none_before_backward_seed_003():
    x = cr.arange(4.0)
    assert x.grad is None
    x.requires_grad_(True)
    assert x.grad is None
    y = 2 * (x @ x)
    y.backward()
    close(x.grad, [0.0, 4.0, 8.0, 12.0])
    assert x.grad.shape == (4,)


@pytest.mark.parametrize("name, make, expected", [
    ("mul", lambda x, w: x * w, ("MulBackward0", ["AccumulateGrad", "AccumulateGrad"])),
    ("mul_const", lambda x, w: x * 2, ("MulBackward0", ["AccumulateGrad", None])),
    ("add", lambda x, w: x + w, ("AddBackward0", ["AccumulateGrad", "AccumulateGrad"])),
    ("add_const", lambda x, w: x + 1, ("AddBackward0", ["AccumulateGrad", None])),
    ("sub", lambda x, w: x - w, ("SubBackward0", ["AccumulateGrad", "AccumulateGrad"])),
    ("div", lambda x, w: x / w, ("DivBackward0", ["AccumulateGrad", "AccumulateGrad"])),
    ("neg", lambda x, w: -x, ("NegBackward0", ["AccumulateGrad"])),
    ("exp", lambda x, w: x.exp(), ("ExpBackward0", ["AccumulateGrad"])),
    ("sin", lambda x, w: x.sin(), ("SinBackward0", ["AccumulateGrad"])),
    ("tanh", lambda x, w: x.tanh(), ("TanhBackward0", ["AccumulateGrad"])),
    ("sum", lambda x, w: x.sum(), ("SumBackward0", ["AccumulateGrad"])),
    ("mm", lambda x, w: x @ w.T, ("MmBackward0", ["AccumulateGrad", "PermuteBackward0"])),
    ("view", lambda x, w: x.view(6), ("ViewBackward0", ["AccumulateGrad"])),
    ("clone", lambda x, w: x.clone(), ("CloneBackward0", ["AccumulateGrad"])),
    ("cat", lambda x, w: cr.cat([x, w]), ("CatBackward0", ["AccumulateGrad", "AccumulateGrad"])),
])
def test_grad_fn_names_and_next_functions(name, make, expected):
    x = cr.tensor(np.full((2, 3), 1.5), requires_grad=True)
    w = cr.tensor(np.full((2, 3), 0.5), requires_grad=True)
    y = make(x, w)
    fn = y.grad_fn
    assert type(fn).__name__ != "NoneType"
    got_name = fn.name()
    got_next = [None if n is None else n.name() for n, _ in fn.next_functions]
    assert (got_name, got_next) == expected
    assert all(idx == 0 for _, idx in fn.next_functions)
    assert f"grad_fn=<{expected[0]}>" in repr(y)


def test_next_functions_link_nodes_and_leaves():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    z = y.exp()
    (inner, idx), = z.grad_fn.next_functions
    assert inner is y.grad_fn and idx == 0
    acc_x, acc_w = (n for n, _ in y.grad_fn.next_functions)
    assert acc_x.variable is x and acc_w.variable is w
    assert acc_x.next_functions == ()


# --------------------------------------------------------------------------- detach / data


def test_detach_shares_memory_and_version():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    d[0] = 100.0
    close(y, [100.0, 4.0, 6.0])  # same memory
    # x.detach() shares with the leaf
    xd = x.detach()
    xd.add_(1.0)
    close(x, [2.0, 3.0, 4.0])


def test_detach_shares_version_counter_seen_by_backward():
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()            # ExpBackward0 saves its output
    y.detach().mul_(2)     # a change through the detached alias bumps the shared version
    with pytest.raises(RuntimeError, match="ExpBackward0"):
        y.sum().backward()


def test_detach_inplace():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    r = y.detach_()
    assert r is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    close(y, [3.0, 6.0])


def test_data_attribute_is_untracked_alias():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d.mul_(10)   # allowed (untracked), changes x
    close(x, [10.0, 20.0])
    assert x.requires_grad
    x.data = cr.tensor([5.0, 6.0])
    close(x, [5.0, 6.0])
    (x * x).sum().backward()
    close(x.grad, [10.0, 12.0])


# --------------------------------------------------------------------------- retain_grad / hooks


def test_retain_grad_on_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    z = (y * y).sum()
    z.backward()
    close(y.grad, [6.0, 12.0])     # dz/dy = 2y
    close(x.grad, [18.0, 36.0])    # dz/dx = 2y*3


def test_hook_on_leaf_replaces_gradient_and_remove():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(g):
        seen.append(np.array(g._data))
        return g * 10

    h = x.register_hook(hook)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    close(x.grad, [20.0, 40.0])
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    close(x.grad, [2.0, 4.0])
    assert len(seen) == 1


def test_hook_on_non_leaf_changes_upstream_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []

    def hook(g):
        calls.append(np.array(g._data))
        return g * 0 + 1.0   # replace dL/dy by ones

    h = y.register_hook(hook)
    (y * y).sum().backward()
    np.testing.assert_allclose(calls[0], [6.0, 12.0])
    close(x.grad, [3.0, 3.0])
    h.remove()
    x.grad = None
    y2 = x * 3
    (y2 * y2).sum().backward()
    close(x.grad, [18.0, 36.0])
    assert len(calls) == 1


def test_hook_returning_none_keeps_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: None)
    (x * 5).sum().backward()
    close(x.grad, [5.0, 5.0])


def test_hooks_match_torch():
    torch = pytest.importorskip("torch")
    res = []
    for lib in (torch, cr):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = x.sin() * x
        y.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: g + 1)
        (y ** 2).sum().backward()
        res.append(x.grad.detach().numpy().astype(np.float64))
    np.testing.assert_allclose(res[1], res[0], rtol=1e-5)


# --------------------------------------------------------------------------- accumulation


def test_two_paths_add_seed_001():
    # seed 001: h = i*w residual, k = (i + h) * i
    i = cr.tensor(2.0, requires_grad=True)
    w = cr.tensor(3.0, requires_grad=True)
    h = i * w
    k = (i + h) * i
    k.backward()
    # k = i^2 + w i^2 -> dk/di = 2i(1+w) = 16, dk/dw = i^2 = 4
    close(i.grad, 16.0)
    close(w.grad, 4.0)


def test_same_tensor_used_twice_in_one_op():
    x = cr.tensor([3.0], requires_grad=True)
    (x * x).sum().backward()
    close(x.grad, [6.0])
    x.grad = None
    y = x + x + x
    y.sum().backward()
    close(x.grad, [3.0])


def test_diamond_graph():
    x = cr.tensor(0.7, requires_grad=True)
    a = x.sin()
    b = x.exp()
    c = a * b
    d = c + a
    d.backward()
    v = 0.7
    expected = math.cos(v) * math.exp(v) + math.sin(v) * math.exp(v) + math.cos(v)
    close(x.grad, expected, 1e-5)


def test_leaf_grad_accumulates_until_zeroed():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        (x * 4).sum().backward()
    close(x.grad, [12.0, 12.0])
    x.grad.zero_()
    (x * x).sum().backward()
    close(x.grad, [2.0, -4.0])
    x.grad = None
    (x * 2).sum().backward()
    close(x.grad, [2.0, 2.0])


def test_backward_with_gradient_equals_weighted_sum():
    g = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    x0 = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    x1 = cr.tensor(x0, requires_grad=True)
    out = x1.sin() * x1
    out.backward(cr.tensor(g))
    x2 = cr.tensor(x0, requires_grad=True)
    ((x2.sin() * x2) * cr.tensor(g)).sum().backward()
    close(x1.grad, arr(x2.grad))
    close(x1.grad, g * (np.cos(x0) * x0 + np.sin(x0)))


def test_backward_gradient_matches_torch_seed_001():
    torch = pytest.importorskip("torch")
    res = []
    for lib in (torch, cr):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = lib.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
        y = a * b + a ** 2
        y.backward(lib.tensor([[1.0, 0.1], [0.01, 0.001]]))
        res.append((a.grad.numpy().copy(), b.grad.numpy().copy()))
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_seed_002_z_backward_and_mistaken_x_backward():
    x = cr.tensor(1.0, requires_grad=True)
    y = 2 * x
    z = y ** 2
    z.backward()
    close(x.grad, 8.0)
    x2 = cr.tensor(1.0, requires_grad=True)
    z2 = (2 * x2) ** 2
    with pytest.warns(UserWarning):
        x2.backward(z2)
    close(x2.grad, 4.0)


def test_retain_graph_allows_second_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = arr(x.grad).copy()
    y.backward()
    np.testing.assert_allclose(arr(x.grad), 2 * first)
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(first, e * np.array([1.0, 2.0]) + e, rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


# --------------------------------------------------------------------------- autograd.grad


def test_grad_returns_and_leaves_dot_grad_alone():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = cr.autograd.grad(y, x)
    close(g, [3.0, 12.0, 27.0])
    assert x.grad is None
    assert not g.requires_grad


def test_grad_with_grad_outputs_and_several_inputs():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, -1.0], requires_grad=True)
    y = x * w
    gx, gw = cr.autograd.grad(y, (x, w), grad_outputs=cr.tensor([10.0, 100.0]))
    close(gx, [30.0, -100.0])
    close(gw, [10.0, 200.0])


def test_grad_allow_unused():
    x = cr.tensor([1.0], requires_grad=True)
    u = cr.tensor([5.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        cr.autograd.grad(y, (x, u), retain_graph=True)
    gx, gu = cr.autograd.grad(y, (x, u), allow_unused=True)
    close(gx, [2.0])
    assert gu is None


def test_grad_of_intermediate():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = (h * 3).sum()
    (gh,) = cr.autograd.grad(y, h)
    close(gh, [3.0, 3.0])


@pytest.mark.parametrize("x0", [0.3, 1.5, -2.0])
def test_third_derivative_of_x4(x0):
    x = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    y = x ** 4
    (d1,) = cr.autograd.grad(y, x, create_graph=True)
    (d2,) = cr.autograd.grad(d1, x, create_graph=True)
    (d3,) = cr.autograd.grad(d2, x, create_graph=True)
    (d4,) = cr.autograd.grad(d3, x)
    close(d1, 4 * x0 ** 3, 1e-10)
    close(d2, 12 * x0 ** 2, 1e-10)
    close(d3, 24 * x0, 1e-10)
    close(d4, 24.0, 1e-10)


@pytest.mark.parametrize("x0", [0.0, 0.7, 2.5])
def test_third_derivative_of_sin(x0):
    x = cr.tensor([x0], dtype=cr.float64, requires_grad=True)
    y = x.sin().sum()
    (d1,) = cr.autograd.grad(y, x, create_graph=True)
    (d2,) = cr.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = cr.autograd.grad(d2.sum(), x)
    close(d1, [math.cos(x0)], 1e-12)
    close(d2, [-math.sin(x0)], 1e-12)
    close(d3, [-math.cos(x0)], 1e-12)


def test_second_derivative_via_backward_create_graph():
    x = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    y = x.exp() * x   # y' = e^x (1+x), y'' = e^x (2+x)
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    close(g, math.exp(2.0) * 3.0, 1e-12)
    x.grad = None
    g.backward()
    close(x.grad, math.exp(2.0) * 4.0, 1e-12)


def test_hessian_vector_product_quadratic():
    # f(x) = 0.5 x^T A x + sum(x^3): H = (A + A^T)/2 ... with A symmetric H = A + diag(6x)
    rng = np.random.default_rng(0)
    M = rng.standard_normal((4, 4))
    A0 = M + M.T
    x0 = rng.standard_normal(4)
    v0 = rng.standard_normal(4)
    A = cr.tensor(A0)
    x = cr.tensor(x0, requires_grad=True)
    v = cr.tensor(v0)
    f = 0.5 * (x @ (A @ x)) + (x ** 3).sum()
    (g,) = cr.autograd.grad(f, x, create_graph=True)
    close(g, A0 @ x0 + 3 * x0 ** 2, 1e-10)
    (hv,) = cr.autograd.grad((g * v).sum(), x)
    close(hv, A0 @ v0 + 6 * x0 * v0, 1e-10)


def test_hessian_vector_product_matches_torch():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, -0.8, 1.2])
    v0 = np.array([1.0, 0.5, -2.0])
    out = []
    for lib in (torch, cr):
        x = lib.tensor(x0, requires_grad=True)
        f = (x.sin() * x.exp()).sum() + (x * x).sum() * x[0]
        (g,) = lib.autograd.grad(f, x, create_graph=True)
        (hv,) = lib.autograd.grad(g, x, grad_outputs=lib.tensor(v0))
        out.append(hv.detach().numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-10)


def test_create_graph_grad_depends_on_other_input():
    # mixed partial: f = x^2 y^3, d/dy (df/dx) = 6 x y^2
    x = cr.tensor(1.5, dtype=cr.float64, requires_grad=True)
    y = cr.tensor(-0.5, dtype=cr.float64, requires_grad=True)
    f = x ** 2 * y ** 3
    (fx,) = cr.autograd.grad(f, x, create_graph=True)
    (fxy,) = cr.autograd.grad(fx, y)
    close(fxy, 6 * 1.5 * 0.25, 1e-12)


# --------------------------------------------------------------------------- backward(inputs=)


def test_backward_inputs_only_fills_those():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    y.backward(inputs=[w])
    assert x.grad is None
    close(w.grad, [1.0, 2.0])


def test_backward_inputs_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    y.backward(inputs=[h])
    close(h.grad, [4.0, 8.0])
    assert x.grad is None


# --------------------------------------------------------------------------- grad modes


def test_no_grad_context_and_decorator():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @cr.no_grad()
    def f(t):
        return t * 2, cr.is_grad_enabled()

    z, enabled = f(x)
    assert not z.requires_grad and not enabled
    assert cr.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        with cr.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad

    @cr.enable_grad()
    def f(t):
        return t * 3

    with cr.no_grad():
        w = f(x)
    assert w.requires_grad


def test_set_grad_enabled_as_function_and_context():
    x = cr.tensor([1.0], requires_grad=True)
    try:
        cr.set_grad_enabled(False)
        assert not cr.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        cr.set_grad_enabled(True)
    assert cr.is_grad_enabled()
    with cr.set_grad_enabled(False):
        y = x * 2
    assert not y.requires_grad and cr.is_grad_enabled()
    with cr.no_grad():
        with cr.set_grad_enabled(True):
            y = x * 2
        assert not cr.is_grad_enabled()
    assert y.requires_grad


def test_inference_mode():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.inference_mode():
        y = x * 2
        assert not cr.is_grad_enabled()
        assert cr.is_inference_mode_enabled()
    assert not y.requires_grad
    assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()
    with cr.inference_mode(False):
        assert (x * 2).requires_grad

    @cr.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with cr.no_grad():
            raise ValueError("boom")
    assert cr.is_grad_enabled()


def test_grad_mode_decorator_on_generator():
    x = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad()
    def gen():
        for _ in range(3):
            yield (x * 2).requires_grad, cr.is_grad_enabled()

    seen = []
    for item in gen():
        seen.append(item)
        # between items, the caller's mode is back on
        assert cr.is_grad_enabled()
        assert (x * 2).requires_grad
    assert seen == [(False, False)] * 3


def test_grad_mode_is_thread_local():
    x = cr.tensor([1.0], requires_grad=True)
    entered = threading.Event()
    checked = threading.Event()
    result = {}

    def worker():
        with cr.no_grad():
            entered.set()
            checked.wait(5)
            result["worker"] = (x * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(5)
    # the other thread is inside no_grad; this one is not affected
    result["main_enabled"] = cr.is_grad_enabled()
    result["main"] = (x * 2).requires_grad
    checked.set()
    t.join(5)
    assert result == {"worker": False, "main_enabled": True, "main": True}


def test_new_thread_starts_with_grad_enabled():
    out = {}

    def worker():
        out["enabled"] = cr.is_grad_enabled()

    with cr.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join(5)
    assert out["enabled"] is True


# --------------------------------------------------------------------------- Function


class MyExp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y


class MulConst(Function):
    calls = 0

    @staticmethod
    def forward(ctx, x, w, k):
        ctx.save_for_backward(x, w)
        ctx.k = k
        ctx.seen_needs = ctx.needs_input_grad
        return x * w * k

    @staticmethod
    def backward(ctx, g):
        MulConst.calls += 1
        x, w = ctx.saved_tensors
        gx = g * w * ctx.k if ctx.needs_input_grad[0] else None
        gw = g * x * ctx.k if ctx.needs_input_grad[1] else None
        return gx, gw, None


def test_function_forward_backward():
    x = cr.tensor([0.0, 1.0, 2.0], requires_grad=True)
    y = MyExp.apply(x)
    assert y.requires_grad and not y.is_leaf
    assert "MyExp" in y.grad_fn.name()
    close(y, np.exp([0.0, 1.0, 2.0]), 1e-6)
    y.sum().backward()
    close(x.grad, np.exp([0.0, 1.0, 2.0]), 1e-6)


def test_function_needs_input_grad_and_non_tensor_args():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    MulConst.calls = 0
    y = MulConst.apply(x, w, 5.0)
    y.sum().backward()
    assert MulConst.calls == 1
    close(x.grad, [15.0, 20.0])
    assert w.grad is None
    ctx = y.grad_fn.params["ctx"] if hasattr(y.grad_fn, "params") else None
    if ctx is not None:
        assert tuple(ctx.needs_input_grad) == (True, False, False)


def test_function_inside_bigger_graph():
    x0 = np.array([0.2, -0.4, 0.9])
    x = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    h = x * 2
    y = MyExp.apply(h)
    z = (y * x).sum()
    z.backward()
    # z = sum(x e^{2x}) -> dz/dx = e^{2x} (1 + 2x)
    close(x.grad, np.exp(2 * x0) * (1 + 2 * x0), 1e-12)


def test_function_without_grad_gives_plain_tensor():
    x = cr.tensor([1.0, 2.0])
    y = MyExp.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    with cr.no_grad():
        y2 = MyExp.apply(cr.tensor([1.0], requires_grad=True))
    assert not y2.requires_grad


def test_function_double_backward():
    x0 = 0.8
    x = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    y = MyExp.apply(x * x)          # y = exp(x^2)
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    close(g, 2 * x0 * math.exp(x0 ** 2), 1e-12)
    (g2,) = cr.autograd.grad(g, x)
    close(g2, (2 + 4 * x0 ** 2) * math.exp(x0 ** 2), 1e-12)


def test_function_matches_torch_function():
    torch = pytest.importorskip("torch")

    class TExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x0 = np.array([[0.1, 0.2], [0.3, -0.4]])
    out = []
    for lib, F in ((torch, TExp), (cr, MyExp)):
        x = lib.tensor(x0, requires_grad=True)
        z = (F.apply(x.sin()) * x).sum()
        z.backward()
        out.append(x.grad.numpy().copy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-12)


def test_function_saved_tensors_freed_after_backward():
    x = cr.tensor([1.0], requires_grad=True)
    y = MyExp.apply(x)
    z = y.sum()
    z.backward()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


# --------------------------------------------------------------------------- deep graphs / memory


def test_million_op_chain_no_recursion_error():
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    # the cyclic collector would rescan the growing graph again and again (minutes)
    gc.disable()
    try:
        for _ in range(1_000_000):
            y = y * 1.0
        y.sum().backward()
        del y   # dropping a million-node chain must not recurse either
    finally:
        gc.enable()
    close(x.grad, [1.0])


def test_saved_arrays_freed_after_backward():
    x = cr.tensor(np.ones(1000), requires_grad=True)
    h = x.exp()                     # intermediate, saved by ExpBackward0 and by Mul
    big = h._data
    ref = weakref.ref(big)
    del big
    y = (h * h).sum()
    del h
    gc.collect()
    assert ref() is not None        # the graph keeps it alive
    y.backward()
    gc.collect()
    assert ref() is None            # backward without retain_graph released it
    close(x.grad, 2 * np.exp(2 * np.ones(1000)), 1e-5)


def test_saved_arrays_kept_with_retain_graph():
    x = cr.tensor(np.ones(100), requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h._data)
    y = (h * h).sum()
    del h
    y.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    del y
    gc.collect()
    assert ref() is None


def test_graph_has_no_reference_cycles():
    x = cr.tensor(np.ones(50), requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        h = x.sin()
        h.retain_grad()
        h.register_hook(lambda g: g)
        y = (h * x).exp().sum()
        refs = [weakref.ref(h), weakref.ref(y), weakref.ref(h.grad_fn), weakref.ref(y.grad_fn)]
        y.backward()
        del h, y
        # freed by reference counting alone: no cycles
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
    assert x.grad is not None


def test_dropping_graph_without_backward_frees_everything():
    gc.collect()
    gc.disable()
    try:
        x = cr.tensor(np.ones(1000), requires_grad=True)
        h = x.exp()
        ref_arr = weakref.ref(h._data)
        y = (h * x).tanh().sum()
        refs = [weakref.ref(h), weakref.ref(y.grad_fn)]
        del h, y
        assert ref_arr() is None and all(r() is None for r in refs)
    finally:
        gc.enable()


# --------------------------------------------------------------------------- in-place on non-leaves


@pytest.mark.parametrize("inplace, outplace", [
    (lambda t: t.mul_(3.0), lambda t: t * 3.0),
    (lambda t: t.add_(2.0), lambda t: t + 2.0),
    (lambda t: t.sub_(0.5), lambda t: t - 0.5),
    (lambda t: t.div_(4.0), lambda t: t / 4.0),
    (lambda t: t.pow_(2), lambda t: t ** 2),
    (lambda t: t.exp_(), lambda t: t.exp()),
    (lambda t: t.sin_(), lambda t: t.sin()),
    (lambda t: t.tanh_(), lambda t: t.tanh()),
    (lambda t: t.clamp_(0.2, 0.9), lambda t: t.clamp(0.2, 0.9)),
])
def test_inplace_on_non_leaf_differentiates_like_out_of_place(inplace, outplace):
    x0 = np.array([0.1, 0.5, 1.3])
    x1 = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    h1 = x1 * 1.5
    r = inplace(h1)
    assert r is h1
    (h1 * x1).sum().backward()
    x2 = cr.tensor(x0, dtype=cr.float64, requires_grad=True)
    h2 = outplace(x2 * 1.5)
    (h2 * x2).sum().backward()
    close(h1, arr(h2), 1e-12)
    close(x1.grad, arr(x2.grad), 1e-12)


def test_inplace_chain_matches_torch():
    torch = pytest.importorskip("torch")
    x0 = np.array([[0.3, -0.2], [0.7, 1.1]])
    out = []
    for lib in (torch, cr):
        x = lib.tensor(x0, requires_grad=True)
        h = x * 2
        h.add_(1).mul_(x)
        h += x.sin()
        h *= 0.5
        h.sum().backward()
        out.append((x.grad.numpy().copy(), h.detach().numpy().copy(), type(h.grad_fn).__name__
                    if lib is torch else h.grad_fn.name()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12)
    assert out[1][2] == out[0][2]  # MulBackward0


def test_setitem_on_non_leaf():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    h[1] = 0.0
    h.sum().backward()
    close(x.grad, [2.0, 0.0, 2.0])
    close(h, [2.0, 0.0, 6.0])


def test_inplace_leaf_under_no_grad_is_allowed_and_bumps_version():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = w.exp()
    with cr.no_grad():
        w.sub_(0.5)          # like an optimizer step
    close(w, [0.5, 1.5])
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    close(w.grad, [2.0, 2.0])
    # exp saved its output, not w: it does not care about w's version
    y.sum().backward()
    close(w.grad, [2.0 + math.e, 2.0 + math.exp(2.0)], 1e-6)


# --------------------------------------------------------------------------- views and versions


def _exp_then_mutate(mutate):
    x = cr.tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)
    y = x.exp()  # saves y
    mutate(y.detach())
    with pytest.raises(RuntimeError, match="ExpBackward0"):
        y.sum().backward()


@pytest.mark.parametrize("mutate", [
    lambda d: d[0].add_(1.0),
    lambda d: d.reshape(4).mul_(2.0),
    lambda d: d.transpose(0, 1).sub_(1.0),
    lambda d: d.T.zero_(),
    lambda d: d.view(-1)[1:].fill_(3.0),
    lambda d: d.detach().add_(1.0),
    lambda d: d.__setitem__((0, 0), 5.0),
], ids=["select", "reshape", "transpose", "T", "view_slice", "detach", "setitem"])
def test_views_share_version_counter(mutate):
    _exp_then_mutate(mutate)


def test_views_share_memory():
    base = cr.zeros(2, 3)
    base[0].add_(1.0)
    base.reshape(6)[5].fill_(7.0)
    base.transpose(0, 1)[0, 1] = 4.0
    np.testing.assert_array_equal(arr(base), [[1, 1, 1], [4, 0, 7]])


def test_clone_does_not_share_version():
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.detach().clone().add_(1.0)
    y.sum().backward()
    close(x.grad, np.exp([0.5, 1.0]), 1e-6)


def test_function_saving_its_output_leaves_no_cycle():
    gc.collect()
    gc.disable()
    try:
        x = cr.tensor(np.ones(100), requires_grad=True)
        y = MyExp.apply(x * 2)
        refs = [weakref.ref(y), weakref.ref(y.grad_fn)]
        ref_arr = weakref.ref(y._data)
        z = y.sum()
        del y, z
        assert all(r() is None for r in refs) and ref_arr() is None
    finally:
        gc.enable()


def test_function_double_backward_matches_torch():
    torch = pytest.importorskip("torch")

    class TExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x0 = np.array([0.3, -0.6])
    out = []
    for lib, F in ((torch, TExp), (cr, MyExp)):
        x = lib.tensor(x0, requires_grad=True)
        y = F.apply(x.sin() * x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        out.append((g.detach().numpy().copy(), h.numpy().copy()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12)


# --------------------------------------------------------------------------- more PyTorch details


def test_set_grad_enabled_as_decorator_leaves_mode_alone():
    @cr.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert cr.is_grad_enabled()   # decorating does not switch the mode
    x = cr.ones(1, requires_grad=True)
    assert not f(x).requires_grad
    assert cr.is_grad_enabled()
    assert (x * 2).requires_grad


def test_function_needs_input_grad_visible_in_forward_and_backward():
    seen = {}

    class F(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen["forward"] = tuple(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            seen["backward"] = tuple(ctx.needs_input_grad)
            return g, g, None

    F.apply(cr.ones(2, requires_grad=True), cr.ones(2), 3.0).sum().backward()
    assert seen == {"forward": (True, False, False), "backward": (True, False, False)}


def test_retain_grad_accumulates_across_backward_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    z = (h * h).sum()
    z.backward(retain_graph=True)
    z.backward()
    close(h.grad, [8.0, 16.0])   # 2 * (2h)


def test_retain_grad_then_inplace_reports_new_value_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.mul_(3)                     # h is now 6x
    (h * h).sum().backward()
    close(h.grad, [12.0, 24.0])   # 2 * h_new
    close(x.grad, [72.0, 144.0])  # 2 * 36 x


def test_grads_of_two_leaves_do_not_alias():
    a = cr.ones(2, requires_grad=True)
    b = cr.ones(2, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(5)
    close(b.grad, [1.0, 1.0])
    c = cr.ones(2, requires_grad=True)
    g = cr.ones(2)
    (c * 2).backward(g)
    g.add_(1)
    close(c.grad, [2.0, 2.0])
    d = cr.ones(2, requires_grad=True)
    g2 = cr.full((2,), 3.0)
    (d * 1).backward(g2)
    g2.mul_(0)
    close(d.grad, [3.0, 3.0])


def test_leaf_hook_called_once_with_total_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(np.array(g._data)))
    (x * x + x.exp() + 3 * x).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], 2 * np.array([1.0, 2.0]) + np.exp([1.0, 2.0]) + 3,
                               rtol=1e-6)


def test_autograd_backward_several_roots():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    cr.autograd.backward([(x * 2).sum(), x * x], [None, cr.tensor([1.0, 10.0])])
    close(x.grad, [2.0 + 2.0, 2.0 + 40.0])


def test_version_counter_values():
    x = cr.zeros(3)
    v0 = x._version
    x.add_(1)
    assert x._version == v0 + 1
    x[0] = 2.0
    assert x._version == v0 + 2
    v = x[1:]
    r = x.reshape(3, 1)
    d = x.detach()
    v.mul_(2)
    assert x._version == v._version == r._version == d._version == v0 + 3
    c = x.clone()
    before = c._version
    x.add_(1)
    assert c._version == before       # a clone has its own counter
    assert d._version == x._version


def test_version_counter_matches_torch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torch, cr):
        x = lib.zeros(4)
        t = x.view(2, 2).transpose(0, 1)
        t[0].add_(1)
        x.detach().mul_(2)
        x[3] = 1.0
        out.append((x._version, t._version, x.numpy().tolist()))
    assert out[1] == out[0]


def test_backward_inputs_leaf_and_non_leaf_together():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    h = x * 2
    y = (h * x * w).sum()
    y.backward(inputs=[h, x])
    close(h.grad, [3.0, 8.0])                     # x * w
    close(x.grad, [12.0, 32.0])                   # d/dx (2 x^2 w) = 4 x w
    assert w.grad is None


def test_detached_copy_becomes_independent_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 3).detach().requires_grad_()
    (d * d).sum().backward()
    close(d.grad, [6.0, 12.0])
    assert x.grad is None


def test_grad_mode_generator_send_and_return_value():
    @cr.no_grad()
    def gen():
        got = yield cr.is_grad_enabled()
        yield got, cr.is_grad_enabled()
        return "done"

    g = gen()
    assert next(g) is False
    assert g.send(5) == (5, False)
    assert cr.is_grad_enabled()
    with pytest.raises(StopIteration) as ei:
        next(g)
    assert ei.value.value == "done"
    assert cr.is_grad_enabled()

    def outer():
        return (yield from gen())

    o = outer()
    next(o)
    o.send(1)
    with pytest.raises(StopIteration) as ei:
        next(o)
    assert ei.value.value == "done"
