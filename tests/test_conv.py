"""Convolution and pooling (chainrule.ops.conv) against PyTorch and against hand derivations.

The primitives themselves (finite differences, jvp, second derivatives, batching) are in
the registry test; here the public functions are checked with PyTorch's signatures, in
many configurations, in float32 and float64, forward, gradients and double backward.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import conv as C

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]


def _tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _close(ours, theirs, what, dtype):
    ours = ours.detach().numpy() if isinstance(ours, cr.Tensor) else np.asarray(ours)
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    np.testing.assert_allclose(ours.astype(np.float64), theirs.astype(np.float64), err_msg=what,
                               **_tol(dtype))


def _pair(rng, shape, dtype, requires_grad=True):
    a = rng.standard_normal(shape).astype(dtype)
    return cr.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def _check_op(rng, dtype, ours_fn, theirs_fn, shapes, what):
    """Forward and every input's gradient (for a random cotangent) against PyTorch."""
    pairs = [_pair(rng, s, dtype) for s in shapes]
    out = ours_fn(*[p[0] for p in pairs])
    ref = theirs_fn(*[p[1] for p in pairs])
    _close(out, ref, f"{what}: forward", dtype)
    assert out.dtype.name == str(ref.dtype).replace("torch.", "")
    u = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    g_ours = cr.autograd.grad(out, [p[0] for p in pairs], grad_outputs=cr.tensor(u))
    g_ref = torch.autograd.grad(ref, [p[1] for p in pairs], grad_outputs=torch.tensor(u))
    for k, (a, b) in enumerate(zip(g_ours, g_ref)):
        _close(a, b, f"{what}: gradient of input {k}", dtype)


# ----------------------------------------------------------------------------- conv2d / conv1d

CONV2D = [  # (input shape, weight shape, kwargs)
    ((2, 3, 8, 8), (4, 3, 3, 3), {}),
    ((2, 3, 8, 8), (4, 3, 3, 3), dict(padding=1)),
    ((1, 2, 9, 7), (5, 2, 3, 2), dict(stride=2, padding=(1, 0))),
    ((2, 3, 10, 9), (2, 3, 3, 3), dict(stride=(2, 3), padding=2, dilation=(2, 1))),
    ((2, 4, 7, 7), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((1, 6, 6, 5), (6, 1, 3, 3), dict(groups=6, padding="same")),  # depthwise
    ((2, 3, 6, 7), (4, 3, 2, 4), dict(padding="same")),  # even kernels: uneven padding
    ((1, 2, 7, 8), (3, 2, 3, 2), dict(padding="same", dilation=(2, 3))),
    ((2, 3, 6, 6), (4, 3, 6, 6), dict(padding="valid")),  # kernel as large as the input
    ((3, 1, 5, 5), (1, 1, 1, 1), {}),
    ((0, 3, 5, 5), (2, 3, 3, 3), dict(padding=1)),  # empty batch
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,kw", CONV2D, ids=[f"{x}-{w}-{k}" for x, w, k in CONV2D])
def test_conv2d_matches_torch(rng, dtype, xs, ws, kw):
    _check_op(rng, dtype, lambda x, w, b: C.conv2d(x, w, b, **kw),
              lambda x, w, b: TF.conv2d(x, w, b, **kw), [xs, ws, (ws[0],)], "conv2d")


def test_conv2d_without_bias_and_unbatched(rng):
    _check_op(rng, np.float64, lambda x, w: C.conv2d(x, w, stride=2),
              lambda x, w: TF.conv2d(x, w, stride=2), [(3, 7, 6), (2, 3, 3, 2)], "unbatched conv2d")


CONV1D = [
    ((2, 3, 10), (4, 3, 3), {}),
    ((2, 4, 11), (6, 2, 4), dict(stride=2, padding=2, dilation=2, groups=2)),
    ((1, 2, 9), (3, 2, 4), dict(padding="same")),
    ((3, 5), (2, 3, 2), dict(padding=1)),  # unbatched
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,kw", CONV1D, ids=[f"{x}-{w}-{k}" for x, w, k in CONV1D])
def test_conv1d_matches_torch(rng, dtype, xs, ws, kw):
    _check_op(rng, dtype, lambda x, w, b: C.conv1d(x, w, b, **kw),
              lambda x, w, b: TF.conv1d(x, w, b, **kw), [xs, ws, (ws[0],)], "conv1d")


CONV_T = [  # (input shape, weight shape, kwargs)
    ((2, 4, 5, 5), (4, 3, 3, 3), {}),
    ((2, 4, 4, 3), (4, 2, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((1, 4, 3, 4), (4, 3, 2, 3), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2), groups=2)),
    ((1, 2, 4, 4), (2, 2, 3, 2), dict(dilation=2, padding=1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,kw", CONV_T, ids=[f"{x}-{w}-{k}" for x, w, k in CONV_T])
def test_conv_transpose2d_matches_torch(rng, dtype, xs, ws, kw):
    cout = ws[1] * kw.get("groups", 1)
    _check_op(rng, dtype, lambda x, w, b: C.conv_transpose2d(x, w, b, **kw),
              lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw), [xs, ws, (cout,)],
              "conv_transpose2d")


def test_conv_transpose1d_matches_torch(rng):
    _check_op(rng, np.float64,
              lambda x, w: C.conv_transpose1d(x, w, stride=3, padding=1, output_padding=2),
              lambda x, w: TF.conv_transpose1d(x, w, stride=3, padding=1, output_padding=2),
              [(2, 3, 5), (3, 2, 4)], "conv_transpose1d")


def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng):
    """<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>: the defining identity, without torch."""
    x = cr.tensor(rng.standard_normal((2, 4, 9, 8)))
    w = cr.tensor(rng.standard_normal((6, 2, 3, 2)))
    y = C.conv2d(x, w, stride=2, padding=1, dilation=(1, 2), groups=2)
    v = cr.tensor(rng.standard_normal(tuple(y.shape)))
    # output_padding recovers the rows/columns that the strided conv2d dropped
    back = C.conv_transpose2d(v, w, stride=2, padding=1, dilation=(1, 2), groups=2,
                              output_padding=(0, 1))
    assert tuple(back.shape) == tuple(x.shape)
    lhs = float((y * v).sum())
    rhs = float((x * back).sum())
    assert abs(lhs - rhs) < 1e-9 * (1 + abs(lhs))


# ----------------------------------------------------------------------------- double backward

DOUBLE = [
    ("conv2d", lambda m, x, w: m.conv2d(x, w, stride=2, padding=1, groups=2), (2, 4, 6, 5), (4, 2, 3, 2)),
    ("conv2d-same", lambda m, x, w: m.conv2d(x, w, padding="same", dilation=2), (1, 3, 5, 6), (2, 3, 2, 3)),
    ("conv1d", lambda m, x, w: m.conv1d(x, w, stride=2, padding=1), (2, 3, 7), (4, 3, 3)),
    ("conv_transpose2d", lambda m, x, w: m.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
     (2, 3, 3, 4), (3, 2, 3, 3)),
]


@pytest.mark.parametrize("name,f,xs,ws", DOUBLE, ids=[d[0] for d in DOUBLE])
def test_double_backward_matches_torch(rng, name, f, xs, ws):
    """Gradient of <grad_x L, a> + <grad_w L, b> for L = sum(tanh(conv(x, w)) * u): the conv's
    second derivatives (mixed x-w terms) and the composition with tanh."""
    x0, w0 = rng.standard_normal(xs), rng.standard_normal(ws)
    x, w = cr.tensor(x0, requires_grad=True), cr.tensor(w0, requires_grad=True)
    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    y, ty = f(C, x, w).tanh(), f(TF, tx, tw).tanh()
    u, a, b = rng.standard_normal(tuple(ty.shape)), rng.standard_normal(xs), rng.standard_normal(ws)
    gx, gw = cr.autograd.grad((y * cr.tensor(u)).sum(), [x, w], create_graph=True)
    tgx, tgw = torch.autograd.grad((ty * torch.tensor(u)).sum(), [tx, tw], create_graph=True)
    _close(gx, tgx, f"{name}: first gradient (x)", np.float64)
    _close(gw, tgw, f"{name}: first gradient (w)", np.float64)
    h = (gx * cr.tensor(a)).sum() + (gw * cr.tensor(b)).sum()
    th = (tgx * torch.tensor(a)).sum() + (tgw * torch.tensor(b)).sum()
    hx, hw = cr.autograd.grad(h, [x, w])
    thx, thw = torch.autograd.grad(th, [tx, tw])
    _close(hx, thx, f"{name}: second derivative (x)", np.float64)
    _close(hw, thw, f"{name}: second derivative (w)", np.float64)


def test_double_backward_through_pooling(rng):
    """max_pool2d and avg_pool2d are piecewise linear: the second derivative flows through the
    conv around them, and must equal torch's."""
    x0, w0 = rng.standard_normal((2, 2, 8, 8)), rng.standard_normal((3, 2, 3, 3))
    def net(m, x, w):
        h = m.conv2d(x, w, padding=1)
        return (m.max_pool2d(h * h, 2) + m.avg_pool2d(h, 2)).sum()
    x, w = cr.tensor(x0, requires_grad=True), cr.tensor(w0, requires_grad=True)
    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    (gw,) = cr.autograd.grad(net(C, x, w), [w], create_graph=True)
    (tgw,) = torch.autograd.grad(net(TF, tx, tw), [tw], create_graph=True)
    _close(gw, tgw, "first gradient", np.float64)
    b = rng.standard_normal(w0.shape)
    hx, hw = cr.autograd.grad((gw * cr.tensor(b)).sum(), [x, w])
    thx, thw = torch.autograd.grad((tgw * torch.tensor(b)).sum(), [tx, tw])
    _close(hx, thx, "second derivative (x)", np.float64)
    _close(hw, thw, "second derivative (w)", np.float64)


def test_forward_mode_matches_torch(rng):
    x0, w0, tx0, tw0 = (rng.standard_normal(s) for s in [(2, 3, 6, 6), (4, 3, 3, 3)] * 2)
    def f(m, x, w):
        return m.avg_pool2d(m.max_pool2d(m.conv2d(x, w, padding=1), 2, 1), 2)
    _, ours = cr.func.jvp(lambda x, w: f(C, x, w), (cr.tensor(x0), cr.tensor(w0)),
                          (cr.tensor(tx0), cr.tensor(tw0)))
    _, theirs = torch.func.jvp(lambda x, w: f(TF, x, w), (torch.tensor(x0), torch.tensor(w0)),
                               (torch.tensor(tx0), torch.tensor(tw0)))
    _close(ours, theirs, "jvp", np.float64)


# ----------------------------------------------------------------------------- pooling

MAXPOOL = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), dilation=(2, 1))),
    ((1, 2, 7, 8), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((1, 2, 8, 9), dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True)),
    ((3, 7, 7), dict(kernel_size=2, stride=1)),  # unbatched, overlapping windows
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,kw", MAXPOOL, ids=[f"{x}-{k}" for x, k in MAXPOOL])
def test_max_pool2d_matches_torch(rng, dtype, xs, kw):
    _check_op(rng, dtype, lambda x: C.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw),
              [xs], "max_pool2d")
    a = rng.standard_normal(xs).astype(dtype)
    _, idx = C.max_pool2d(cr.tensor(a), return_indices=True, **kw)
    _, tidx = TF.max_pool2d(torch.tensor(a), return_indices=True, **kw)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == cr.int64


def test_max_pool2d_ties_go_to_the_first_element_as_in_torch(rng):
    """After a ReLU many windows are all zeros: the gradient goes to the first of them only."""
    a = np.maximum(rng.standard_normal((2, 3, 8, 8)), 0.0)
    a[0, 0, :2, :2] = 1.5  # a whole window of equal non-zero values
    a[1, 2, 4:6, 4:6] = 0.0
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    C.max_pool2d(x, 2).sum().backward()
    TF.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    assert x.grad.numpy()[0, 0, 0, 0] == 1.0 and x.grad.numpy()[0, 0, :2, :2].sum() == 1.0
    # overlapping windows: a cell that wins several windows collects all their gradients
    y = C.max_pool2d(x, 3, stride=1)
    ty = TF.max_pool2d(tx, 3, stride=1)
    u = rng.standard_normal(tuple(ty.shape))
    np.testing.assert_allclose(cr.autograd.grad(y, x, cr.tensor(u))[0].numpy(),
                               torch.autograd.grad(ty, tx, torch.tensor(u))[0].numpy(), rtol=1e-12)


def test_max_pool2d_propagates_nan_as_torch():
    a = np.arange(16.0).reshape(1, 1, 4, 4)
    a[0, 0, 0, 1] = np.nan
    ours = C.max_pool2d(cr.tensor(a), 2, return_indices=True)
    theirs = TF.max_pool2d(torch.tensor(a), 2, return_indices=True)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    # -inf inside padded windows: a padded cell never wins, even against a real -inf
    b = np.full((1, 1, 4, 5), -np.inf)
    b[0, 0, 2, 3] = 1.0
    b[0, 0, 3, 0] = np.nan
    ours = C.max_pool2d(cr.tensor(b), 3, stride=2, padding=1, return_indices=True)
    theirs = TF.max_pool2d(torch.tensor(b), 3, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool1d_matches_torch(rng, dtype):
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, dilation=2),
               dict(kernel_size=3, ceil_mode=True)]:
        _check_op(rng, dtype, lambda x: C.max_pool1d(x, **kw), lambda x: TF.max_pool1d(x, **kw),
                  [(2, 3, 11)], f"max_pool1d {kw}")
        a = rng.standard_normal((2, 3, 11)).astype(dtype)
        np.testing.assert_array_equal(C.max_pool1d(cr.tensor(a), return_indices=True, **kw)[1].numpy(),
                                      TF.max_pool1d(torch.tensor(a), return_indices=True, **kw)[1].numpy())


AVGPOOL = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 7, 8), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)),
    ((1, 2, 7, 8), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True,
                        count_include_pad=False)),
    ((1, 2, 6, 6), dict(kernel_size=2, stride=1, divisor_override=3)),
    ((3, 6, 6), dict(kernel_size=3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,kw", AVGPOOL, ids=[f"{x}-{k}" for x, k in AVGPOOL])
def test_avg_pool2d_matches_torch(rng, dtype, xs, kw):
    _check_op(rng, dtype, lambda x: C.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw),
              [xs], "avg_pool2d")


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool1d_matches_torch(rng, dtype):
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
               dict(kernel_size=4, stride=3, ceil_mode=True)]:
        _check_op(rng, dtype, lambda x: C.avg_pool1d(x, **kw), lambda x: TF.avg_pool1d(x, **kw),
                  [(2, 3, 11)], f"avg_pool1d {kw}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,size", [((2, 3, 8, 8), 4), ((2, 3, 8, 8), 1), ((2, 3, 7, 9), (3, 4)),
                                     ((1, 2, 5, 7), (None, 3)), ((1, 2, 5, 4), (7, 6)), ((3, 6, 5), 2)])
def test_adaptive_avg_pool2d_matches_torch(rng, dtype, xs, size):
    _check_op(rng, dtype, lambda x: C.adaptive_avg_pool2d(x, size),
              lambda x: TF.adaptive_avg_pool2d(x, size), [xs], "adaptive_avg_pool2d")


def test_adaptive_avg_pool1d_matches_torch(rng):
    _check_op(rng, np.float64, lambda x: C.adaptive_avg_pool1d(x, 4),
              lambda x: TF.adaptive_avg_pool1d(x, 4), [(2, 3, 10)], "adaptive_avg_pool1d")


# ----------------------------------------------------------------------------- seed 004

def test_seed_004_conv_avgpool_mse_gradients_by_hand(rng):
    """Seed 004's network: Conv2d(1, 1, (2, 2), bias=False) -> AvgPool2d((2, 2)) -> MSELoss on
    a 1x1x3x3 input and a 1x1x1x1 label.

    By hand: y[i, j] = sum_ab w[a, b] x[i + a, j + b] (a 2x2 map), z = mean_ij y[i, j] (the one
    2x2 pooling window), L = (z - label)^2, so
        dL/dw[a, b] = 2 (z - label) * 1/4 * sum_ij x[i + a, j + b]
    : twice the error times the mean of the a,b-th entries of the four input windows; and
        dL/dx[p, q] = 2 (z - label) * 1/4 * sum of the w[a, b] with (p - a, q - b) a window
    (the corner cells see one weight, the centre all four)."""
    x0 = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    w0 = rng.standard_normal((1, 1, 2, 2)).astype(np.float32)
    label = np.float32(rng.standard_normal())
    X, W = x0[0, 0].astype(np.float64), w0[0, 0].astype(np.float64)
    windows = [X[i:i + 2, j:j + 2] for i in range(2) for j in range(2)]
    z = np.mean([np.sum(W * win) for win in windows])
    err2 = 2.0 * (z - label)
    want_w = err2 * np.mean(windows, axis=0)
    want_x = np.zeros((3, 3))
    for i in range(2):
        for j in range(2):
            want_x[i:i + 2, j:j + 2] += err2 / 4 * W

    x = cr.tensor(x0, requires_grad=True)
    w = cr.tensor(w0, requires_grad=True)
    out = C.avg_pool2d(C.conv2d(x, w), (2, 2))
    loss = ((out - cr.tensor(np.full((1, 1, 1, 1), label))) ** 2).mean()
    loss.backward()
    assert tuple(out.shape) == (1, 1, 1, 1)
    np.testing.assert_allclose(float(loss), (z - label) ** 2, rtol=1e-5)
    np.testing.assert_allclose(w.grad.numpy()[0, 0], want_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy()[0, 0], want_x, rtol=1e-5, atol=1e-6)

    tx, tw = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    tloss = TF.mse_loss(TF.avg_pool2d(TF.conv2d(tx, tw), (2, 2)), torch.full((1, 1, 1, 1), label))
    tloss.backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    # one SGD step with the seed's lr, as the seed prints it: w - 0.005 * grad
    np.testing.assert_allclose((w - 0.005 * w.grad).detach().numpy(),
                               (tw - 0.005 * tw.grad).detach().numpy(), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- vmap

def test_vmap_conv_with_batched_weights_matches_a_loop(rng):
    """A batch of weights goes into the groups; a batch of inputs folds into N."""
    xs = cr.tensor(rng.standard_normal((3, 2, 4, 6, 5)))  # 3 examples of (2, 4, 6, 5)
    ws = cr.tensor(rng.standard_normal((3, 6, 2, 3, 2)))  # 3 weights of (6, 2, 3, 2), groups=2
    f = lambda x, w: C.max_pool2d(C.conv2d(x, w, stride=(1, 2), padding=1, groups=2), 2, 1)  # noqa: E731
    for in_dims in [(0, 0), (0, None), (None, 0)]:
        got = cr.func.vmap(f, in_dims=in_dims)(xs if in_dims[0] == 0 else xs[0],
                                                ws if in_dims[1] == 0 else ws[0])
        want = np.stack([f(xs[k] if in_dims[0] == 0 else xs[0],
                           ws[k] if in_dims[1] == 0 else ws[0]).numpy() for k in range(3)])
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12, err_msg=str(in_dims))


def test_vmap_per_example_gradients_of_a_cnn_match_torch(rng):
    """Per-example weight gradients (vmap over grad) of conv -> relu -> maxpool -> avgpool ->
    squared error: checked against torch one example at a time."""
    w0 = rng.standard_normal((3, 1, 3, 3))
    xs0 = rng.standard_normal((4, 1, 1, 6, 6))
    ys0 = rng.standard_normal((4,))

    def loss(m, w, x, y):
        h = m.max_pool2d(m.conv2d(x, w, padding=1).relu(), 2)
        return (m.adaptive_avg_pool2d(h, 1).sum() - y) ** 2

    got = cr.func.vmap(cr.func.grad(lambda w, x, y: loss(C, w, x, y)), in_dims=(None, 0, 0))(
        cr.tensor(w0), cr.tensor(xs0), cr.tensor(ys0))
    for k in range(4):
        tw = torch.tensor(w0, requires_grad=True)
        (tg,) = torch.autograd.grad(loss(TF, tw, torch.tensor(xs0[k]), torch.tensor(ys0[k])), tw)
        np.testing.assert_allclose(got.numpy()[k], tg.numpy(), rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- errors

def _t(*shape, dtype=np.float32):
    return cr.tensor(np.zeros(shape, dtype))


def test_conv2d_channel_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError) as e:
        C.conv2d(_t(2, 3, 8, 8), _t(4, 5, 3, 3))
    msg = str(e.value)
    assert "conv2d" in msg and "[2, 3, 8, 8]" in msg and "[4, 5, 3, 3]" in msg


def test_conv2d_kernel_larger_than_padded_input():
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        C.conv2d(_t(1, 1, 4, 4), _t(1, 1, 5, 5))
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        C.conv2d(_t(1, 1, 4, 4), _t(1, 1, 3, 3), dilation=2)
    assert tuple(C.conv2d(_t(1, 1, 4, 4), _t(1, 1, 5, 5), padding=1).shape) == (1, 1, 2, 2)


def test_conv2d_groups_must_divide_channels():
    with pytest.raises(RuntimeError, match="groups=2 must divide the input channels"):
        C.conv2d(_t(1, 3, 5, 5), _t(4, 1, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match="groups=2 must divide the output channels"):
        C.conv2d(_t(1, 4, 5, 5), _t(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="groups"):
        C.conv2d(_t(1, 4, 5, 5), _t(4, 4, 3, 3), groups=0)


def test_conv_argument_errors():
    with pytest.raises(ValueError, match="not supported for strided"):
        C.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="same", stride=2)
    with pytest.raises(ValueError, match="invalid padding string"):
        C.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3), padding="full")
    with pytest.raises(RuntimeError, match="4-D input"):
        C.conv2d(_t(5, 5), _t(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="weight must be 4-D"):
        C.conv2d(_t(1, 1, 5, 5), _t(1, 3, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        C.conv2d(_t(1, 1, 5, 5), _t(1, 1, 3, 3, dtype=np.float64))
    with pytest.raises(RuntimeError, match=r"bias must have shape \[2\]"):
        C.conv2d(_t(1, 1, 5, 5), _t(2, 1, 3, 3), _t(3))
    with pytest.raises(ValueError, match="stride must be positive"):
        C.conv1d(_t(1, 1, 5), _t(1, 1, 3), stride=0)
    with pytest.raises(ValueError, match="output_padding"):
        C.conv_transpose2d(_t(1, 1, 3, 3), _t(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="has 2 channels"):
        C.conv_transpose2d(_t(1, 2, 3, 3), _t(3, 1, 3, 3))


def test_pool_argument_errors():
    with pytest.raises(ValueError, match="at most half of the kernel size"):
        C.max_pool2d(_t(1, 1, 6, 6), 2, padding=2)
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        C.max_pool2d(_t(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        C.avg_pool1d(_t(1, 1, 2), 3)
    with pytest.raises(ValueError, match="output_size"):
        C.adaptive_avg_pool2d(_t(1, 1, 4, 4), (2, 2, 2))


def test_public_names_are_exported_from_conv_but_not_the_top_level():
    for name in ["conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d",
                 "avg_pool2d", "adaptive_avg_pool2d"]:
        assert name in C.__all__ and callable(getattr(C, name))
    import chainrule.ops as ops
    assert "conv2d" not in ops.__all__


def test_grad_fn_names_follow_torch(rng):
    x = cr.tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((1, 1, 3, 3)))
    assert "ConvolutionBackward0" in repr(C.conv2d(x, w).grad_fn)
    assert "MaxPool2DWithIndicesBackward0" in repr(C.max_pool2d(x, 2).grad_fn)
    assert "AvgPool2DBackward0" in repr(C.avg_pool2d(x, 2).grad_fn)
