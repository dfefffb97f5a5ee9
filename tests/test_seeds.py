"""Every number in ../shared/seeds/README.md, as a test.

The expected values are written out from the seed documents (or derived by hand from
them, the derivation in a comment), or computed by NumPy (seed 000's hand-written
backprop) or by PyTorch where it is installed: never taken from chainrule itself.
Seeds 002, 003 and 004 are compared exactly, reprs included.
"""
from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import chainrule as cr


def _optional(name):
    """A submodule that later issues add (chainrule.func, chainrule.nn), or None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# --------------------------------------------------------------------------- seed 002
# y = 2x, z = y**2 at x = 1: dz/dx = 2y * 2 = 8x = 8; x.backward(z) gives z * dx/dx = 4.

def test_seed002_z_backward_gives_8():
    x = cr.ones(1, requires_grad=True)
    y = 2 * x
    z = y ** 2
    z.backward()
    assert repr(x.grad) == "tensor([8.])"
    assert x.grad.tolist() == [8.0]


def test_seed002_mistaken_x_backward_z_gives_4_and_points_at_z_backward():
    x = cr.ones(1, requires_grad=True)
    y = 2 * x
    z = y ** 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x.backward(z)
    assert repr(x.grad) == "tensor([4.])"
    assert x.grad.tolist() == [4.0]
    texts = [str(w.message) for w in caught]
    assert any("z.backward()" in t for t in texts), texts


def test_seed002_against_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, cr):
        x = lib.ones(1, requires_grad=True)
        (2 * x).pow(2).backward()
        assert x.grad.tolist() == [8.0]
    xt = torch.ones(1, requires_grad=True)
    xt.backward((2 * xt) ** 2)
    xc = cr.ones(1, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xc.backward((2 * xc) ** 2)
    assert repr(xc.grad) == repr(xt.grad)


# --------------------------------------------------------------------------- seed 003
# y = 2 x.x with x = arange(4.): y = 2 * (0 + 1 + 4 + 9) = 28, dy/dx = 4x = [0, 4, 8, 12].

def test_seed003_grad_none_before_backward():
    x = cr.arange(4.0)
    x.requires_grad_(True)
    assert x.grad is None
    assert repr(x) == "tensor([0., 1., 2., 3.], requires_grad=True)"


def test_seed003_y_and_grad():
    x = cr.arange(4.0, requires_grad=True)
    y = 2 * cr.dot(x, x)
    assert repr(y) == "tensor(28., grad_fn=<MulBackward0>)"
    y.backward()
    # PyTorch prints the seed's [0, 4, 8, 12] padded to a common width
    assert repr(x.grad) == "tensor([ 0.,  4.,  8., 12.])"
    assert x.grad.tolist() == [0.0, 4.0, 8.0, 12.0]


def test_seed003_against_torch():
    torch = pytest.importorskip("torch")
    reprs = []
    for lib in (torch, cr):
        x = lib.arange(4.0)
        x.requires_grad_(True)
        y = 2 * lib.dot(x, x)
        before = repr(x.grad)
        y_repr = repr(y)
        y.backward()
        reprs.append((before, y_repr, repr(x.grad)))
    assert reprs[1] == reprs[0]


def test_seed003_jax_style_grad_transform():
    func = _optional("chainrule.func")
    if func is None or not hasattr(func, "grad"):
        pytest.skip("chainrule.func.grad is not implemented yet")
    g = func.grad(lambda x: 2 * cr.dot(x, x))(cr.arange(4.0))
    assert g.tolist() == [0.0, 4.0, 8.0, 12.0]


# --------------------------------------------------------------------------- seed 001
# k = (i + h) * i: dk/di = (i + h) + i = 2i + h (two paths added), dk/dh = i.

@pytest.mark.parametrize("i0,h0", [(2.0, 3.0), (-1.5, 0.25), (0.0, 4.0)])
def test_seed001_two_paths_add(i0, h0):
    i = cr.tensor(i0, requires_grad=True)
    h = cr.tensor(h0, requires_grad=True)
    j = i + h
    k = j * i
    k.backward()
    assert i.grad.item() == 2 * i0 + h0
    assert h.grad.item() == i0


def test_seed001_each_path_alone():
    i = cr.tensor(2.0, requires_grad=True)
    ((i + 3.0).detach() * i).backward()  # direct path only: dk/di = j = 5
    assert i.grad.item() == 5.0
    i = cr.tensor(2.0, requires_grad=True)
    ((i + 3.0) * i.detach()).backward()  # through j only: dk/dj * dj/di = i = 2
    assert i.grad.item() == 2.0


def test_seed001_attributes():
    i = cr.tensor(2.0, requires_grad=True)
    h = cr.tensor(3.0, requires_grad=True)
    j = i + h
    k = j * i
    assert k.grad_fn.name() == "MulBackward0"
    assert j.grad_fn.name() == "AddBackward0"
    assert repr(k) == "tensor(10., grad_fn=<MulBackward0>)"
    assert i.is_leaf and h.is_leaf
    assert not j.is_leaf and not k.is_leaf
    assert i.grad_fn is None
    assert k.requires_grad and j.requires_grad
    c = cr.tensor(1.0)
    assert c.is_leaf and not c.requires_grad
    assert (c * 2).is_leaf  # no input requires grad: the result is a leaf too
    d = k.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert d.item() == 10.0
    assert repr(k.data) == "tensor(10.)"
    assert not k.data.requires_grad


def test_seed001_attributes_against_torch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torch, cr):
        i = lib.tensor(2.0, requires_grad=True)
        h = lib.tensor(3.0, requires_grad=True)
        j = i + h
        k = j * i
        d = k.detach()
        row = [repr(k), repr(j), k.grad_fn.name(), j.grad_fn.name(), i.is_leaf, k.is_leaf,
               k.requires_grad, d.is_leaf, d.requires_grad, repr(d), repr(k.data)]
        k.backward()
        row += [repr(i.grad), repr(h.grad)]
        out.append(row)
    assert out[1] == out[0]


def test_seed001_vector_backward_is_backward_of_weighted_sum():
    xs = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    gs = np.array([1.0, 0.5, -2.0], dtype=np.float32)
    x = cr.tensor(xs, requires_grad=True)
    (x ** 2).backward(cr.tensor(gs))
    x2 = cr.tensor(xs, requires_grad=True)
    cr.sum((x2 ** 2) * cr.tensor(gs)).backward()
    expected = 2 * xs * gs  # d/dx sum(x**2 * g) = 2 x g
    np.testing.assert_array_equal(np.asarray(x.grad), expected)
    np.testing.assert_array_equal(np.asarray(x2.grad), expected)
    assert repr(x.grad) == "tensor([  2.,   2., -12.])"


def test_seed001_nonscalar_backward_needs_gradient():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x ** 2).backward()


# --------------------------------------------------------------------------- seed 004
# y1 = w1*x + b1 = 11, y2 = y1*w2 = 220, y3 = 2*y2 = 440, loss = (y3 - 500)**2 = 3600.
# dloss/dy3 = 2*(440 - 500) = -120; w1.grad = -120*2*w2*x = -4800; b1.grad = -120*2*w2
# = -4800; w2.grad = -120*2*y1 = -2640. SGD lr 0.005: w1 = 10 + 24 = 34, b1 = 1 + 24 = 25,
# w2 = 20 + 13.2 = 33.2 (in float32).

def _seed004(lib):
    w1 = lib.tensor(10.0, requires_grad=True)
    b1 = lib.tensor(1.0, requires_grad=True)
    w2 = lib.tensor(20.0, requires_grad=True)
    x = lib.tensor(1.0)
    label = lib.tensor(500.0)
    params = [w1, b1, w2]
    log = {"before": [repr(p) for p in params] + [repr(p.grad) for p in params]}
    y3 = 2 * ((w1 * x + b1) * w2)
    loss = ((y3 - label) ** 2).mean()
    log["loss"] = loss.item()
    loss.backward()
    log["after backward"] = [repr(p) for p in params] + [repr(p.grad) for p in params]
    with lib.no_grad():
        for p in params:
            p -= 0.005 * p.grad
    log["after step"] = [repr(p) for p in params] + [repr(p.grad) for p in params]
    log["values"] = [p.item() for p in params]
    log["dtype"] = str(w2.dtype).split(".")[-1]
    for p in params:
        p.grad.zero_()
    log["after zero_grad"] = [repr(p) for p in params] + [repr(p.grad) for p in params]
    return log


def test_seed004_exact_as_printed_in_the_seed():
    log = _seed004(cr)
    assert log["before"] == ["tensor(10., requires_grad=True)", "tensor(1., requires_grad=True)",
                             "tensor(20., requires_grad=True)", "None", "None", "None"]
    assert log["loss"] == 3600.0
    assert log["after backward"] == [
        "tensor(10., requires_grad=True)", "tensor(1., requires_grad=True)",
        "tensor(20., requires_grad=True)",
        "tensor(-4800.)", "tensor(-4800.)", "tensor(-2640.)"]
    assert log["after step"] == [
        "tensor(34., requires_grad=True)", "tensor(25., requires_grad=True)",
        "tensor(33.2000, requires_grad=True)",
        "tensor(-4800.)", "tensor(-4800.)", "tensor(-2640.)"]
    assert log["after zero_grad"] == [
        "tensor(34., requires_grad=True)", "tensor(25., requires_grad=True)",
        "tensor(33.2000, requires_grad=True)",
        "tensor(0.)", "tensor(0.)", "tensor(0.)"]


def test_seed004_values_are_the_float32_results():
    log = _seed004(cr)
    assert log["dtype"] == "float32"
    f32 = np.float32
    # what PyTorch computes: p - (lr * grad), each rounded to float32
    want = [float(f32(w) - f32(f32(0.005) * f32(g)))
            for w, g in ((10.0, -4800.0), (1.0, -4800.0), (20.0, -2640.0))]
    assert want[:2] == [34.0, 25.0]
    assert want[2] == float(f32(33.2))
    assert log["values"] == want


def test_seed004_against_torch():
    torch = pytest.importorskip("torch")
    assert _seed004(cr) == _seed004(torch)


def _conv_pool_mse_by_hand(x, w, label):
    """Seed 004 part 2, derived by hand: conv (2x2, no bias) on 3x3 -> 2x2, avg-pool 2x2
    -> 1x1, loss = (z - label)**2. dloss/dw[p,q] = 2 (z - label) / 4 * sum of x[i+p, j+q]."""
    y1 = np.array([[np.sum(x[a:a + 2, b:b + 2] * w) for b in range(2)] for a in range(2)])
    z = y1.mean()
    loss = (z - label) ** 2
    gw = np.array([[2 * (z - label) / 4 * np.sum(x[p:p + 2, q:q + 2]) for q in range(2)]
                   for p in range(2)])
    return loss, gw


def test_seed004_conv_avgpool_mse_by_hand():
    F = _optional("chainrule.nn.functional")
    if F is None or not hasattr(F, "conv2d") or not hasattr(F, "avg_pool2d"):
        pytest.skip("chainrule.nn.functional.conv2d/avg_pool2d are not implemented yet")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 3))
    w = rng.standard_normal((2, 2))
    label = float(rng.standard_normal())
    want_loss, want_gw = _conv_pool_mse_by_hand(x, w, label)
    wt = cr.tensor(w.reshape(1, 1, 2, 2), requires_grad=True)
    y = F.avg_pool2d(F.conv2d(cr.tensor(x.reshape(1, 1, 3, 3)), wt), (2, 2))
    loss = ((y - cr.tensor(np.full((1, 1, 1, 1), label))) ** 2).mean()
    loss.backward()
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(wt.grad).reshape(2, 2), want_gw, rtol=1e-10)


# --------------------------------------------------------------------------- seed 000
N, D_IN, H, D_OUT = 64, 1000, 100, 10
LR = 1e-6


def _data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(s).astype(dtype)
                 for s in ((N, D_IN), (N, D_OUT), (D_IN, H), (H, D_OUT)))


def _numpy_step(x, y, w1, w2):
    """The seed's hand-written backprop."""
    h = x.dot(w1)
    h_relu = np.maximum(h, 0)
    y_pred = h_relu.dot(w2)
    loss = np.square(y_pred - y).sum()
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.T.dot(grad_y_pred)
    grad_h_relu = grad_y_pred.dot(w2.T)
    grad_h = grad_h_relu.copy()
    grad_h[h < 0] = 0
    grad_w1 = x.T.dot(grad_h)
    return loss, grad_w1, grad_w2


RELUS = {
    "clamp": lambda h: h.clamp(min=0),
    "relu": lambda h: h.relu(),
    "maximum": lambda h: cr.maximum(h, cr.zeros_like(h)),
}


def _chainrule_step(x, y, w1, w2, relu=RELUS["clamp"]):
    w1t = cr.tensor(w1, requires_grad=True)
    w2t = cr.tensor(w2, requires_grad=True)
    loss = (relu(cr.from_numpy(x) @ w1t) @ w2t - cr.from_numpy(y)).pow(2).sum()
    loss.backward()
    return loss.item(), np.asarray(w1t.grad), np.asarray(w2t.grad)


@pytest.mark.parametrize("relu", sorted(RELUS))
def test_seed000_gradients_equal_hand_written_float64(relu):
    x, y, w1, w2 = _data(np.float64)
    loss_np, g1_np, g2_np = _numpy_step(x, y, w1, w2)
    loss, g1, g2 = _chainrule_step(x, y, w1, w2, RELUS[relu])
    assert g1.dtype == np.float64 and g2.dtype == np.float64
    assert g1.shape == (D_IN, H) and g2.shape == (H, D_OUT)
    np.testing.assert_allclose(loss, loss_np, rtol=1e-5)
    np.testing.assert_allclose(g1, g1_np, rtol=1e-5, atol=1e-5 * np.abs(g1_np).max())
    np.testing.assert_allclose(g2, g2_np, rtol=1e-5, atol=1e-5 * np.abs(g2_np).max())


def test_seed000_gradients_equal_hand_written_float32():
    x, y, w1, w2 = _data(np.float32)
    loss_np, g1_np, g2_np = _numpy_step(x, y, w1, w2)
    loss, g1, g2 = _chainrule_step(x, y, w1, w2)
    assert g1.dtype == np.float32 and g2.dtype == np.float32
    np.testing.assert_allclose(loss, loss_np, rtol=1e-3)
    np.testing.assert_allclose(g1, g1_np, rtol=1e-3, atol=1e-4 * np.abs(g1_np).max())
    np.testing.assert_allclose(g2, g2_np, rtol=1e-3, atol=1e-4 * np.abs(g2_np).max())


def _train(step, steps=5):
    x, y, w1, w2 = _data(np.float64)
    w1, w2 = w1.copy(), w2.copy()
    losses = []
    for _ in range(steps):
        loss, g1, g2 = step(x, y, w1, w2)
        losses.append(float(loss))
        w1 -= LR * g1
        w2 -= LR * g2
    return losses


def test_seed000_trains_like_the_numpy_version():
    want = _train(_numpy_step)
    got = []
    x, y, w1, w2 = _data(np.float64)
    xt, yt = cr.from_numpy(x), cr.from_numpy(y)
    w1t = cr.tensor(w1, requires_grad=True)
    w2t = cr.tensor(w2, requires_grad=True)
    for _ in range(5):  # the usual PyTorch loop: update under no_grad, grads set to None
        loss = (xt.mm(w1t).clamp(min=0).mm(w2t) - yt).pow(2).sum()
        loss.backward()
        with cr.no_grad():
            w1t -= LR * w1t.grad
            w2t -= LR * w2t.grad
        w1t.grad = None
        w2t.grad = None
        got.append(loss.item())
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert want[-1] != want[0]  # the weights did move


def test_seed000_against_torch():
    torch = pytest.importorskip("torch")
    for dtype, rtol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        x, y, w1, w2 = _data(dtype)
        loss, g1, g2 = _chainrule_step(x, y, w1, w2)
        w1t = torch.tensor(w1, requires_grad=True)
        w2t = torch.tensor(w2, requires_grad=True)
        lt = (torch.from_numpy(x).mm(w1t).clamp(min=0).mm(w2t) - torch.from_numpy(y)).pow(2).sum()
        lt.backward()
        np.testing.assert_allclose(loss, lt.item(), rtol=rtol)
        for got, want in ((g1, w1t.grad.numpy()), (g2, w2t.grad.numpy())):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


def test_seed000_forward_and_reverse_mode_agree():
    func = _optional("chainrule.func")
    if func is None or not (hasattr(func, "jacfwd") and hasattr(func, "jacrev")):
        pytest.skip("chainrule.func.jacfwd/jacrev are not implemented yet")
    # a small version of the seed's net, as a function of w2 only: loss gradient by hand
    x, y, w1, w2 = _data(np.float64)
    x, y, w1, w2 = x[:4, :5], y[:4, :3], w1[:5, :6], w2[:6, :3]
    h_relu = np.maximum(x @ w1, 0)

    def f(w):
        return (cr.from_numpy(h_relu) @ w - cr.from_numpy(y)).pow(2).sum()

    want = h_relu.T @ (2 * (h_relu @ w2 - y))
    for jac in (func.jacfwd, func.jacrev):
        np.testing.assert_allclose(np.asarray(jac(f)(cr.tensor(w2))), want, rtol=1e-10)
