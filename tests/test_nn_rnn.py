"""RNN, LSTM, GRU and their cells against PyTorch: outputs, final states and every
parameter's gradient, with the weights copied across through state_dict."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

torch = pytest.importorskip("torch")

KINDS = {
    "rnn_tanh": (nn.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}
T, B, I, H = 5, 3, 4, 6


def _pair(kind, dtype=torch.float64, **kw):
    ours_cls, theirs_cls, extra = KINDS[kind]
    torch.manual_seed(0)
    theirs = theirs_cls(I, H, **extra, **kw).to(dtype)
    ours = ours_cls(I, H, **extra, **kw)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    if dtype == torch.float64:
        ours.double()
    return ours, theirs


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def _states(kind, h):
    return list(h) if kind == "lstm" else [h]


def _loss(lib, out, states, rng_w):
    """A loss that weighs every output and state element differently."""
    total = (out * lib.tensor(rng_w[0][: out.numel()].reshape(tuple(out.shape)))).sum()
    for s, w in zip(states, rng_w[1:]):
        total = total + (s * s * lib.tensor(w[: s.numel()].reshape(tuple(s.shape)))).sum()
    return total


def _compare(kind, ours, theirs, x, hx=None, tol=1e-10):
    xo = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    if hx is None:
        out_o, h_o = ours(xo)
        out_t, h_t = theirs(xt)
    else:
        hx_o = tuple(cr.tensor(a) for a in hx) if kind == "lstm" else cr.tensor(hx[0])
        hx_t = tuple(torch.tensor(a) for a in hx) if kind == "lstm" else torch.tensor(hx[0])
        out_o, h_o = ours(xo, hx_o)
        out_t, h_t = theirs(xt, hx_t)
    so, st = _states(kind, h_o), _states(kind, h_t)
    assert tuple(out_o.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(_np(out_o), _np(out_t), rtol=tol, atol=tol)
    for a, b in zip(so, st):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(_np(a), _np(b), rtol=tol, atol=tol)
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal(out_t.numel() + 1000).astype(x.dtype) for _ in range(3)]
    _loss(cr, out_o, so, ws).backward()
    _loss(torch, out_t, st, ws).backward()
    named_o = dict(ours.named_parameters())
    names_t = [n for n, _ in theirs.named_parameters()]
    assert list(named_o) == names_t
    for n, p in theirs.named_parameters():
        np.testing.assert_allclose(named_o[n].grad.numpy(), p.grad.numpy(), rtol=tol * 10,
                                   atol=tol * 10, err_msg=n)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("kind,num_layers,bidirectional,batch_first",
                         list(itertools.product(KINDS, [1, 2], [False, True], [False, True])))
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first):
    ours, theirs = _pair(kind, num_layers=num_layers, bidirectional=bidirectional,
                         batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    _compare(kind, ours, theirs, x)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_with_given_initial_state(kind, bidirectional):
    ours, theirs = _pair(kind, num_layers=2, bidirectional=bidirectional)
    rng = np.random.default_rng(2)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((T, B, I))
    hx = [rng.standard_normal((2 * D, B, H)) for _ in range(2 if kind == "lstm" else 1)]
    _compare(kind, ours, theirs, x, hx)


@pytest.mark.parametrize("kind", list(KINDS))
def test_initial_state_gets_gradient(kind):
    ours, theirs = _pair(kind, bidirectional=True)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((T, B, I))
    hs = [rng.standard_normal((2, B, H)) for _ in range(2 if kind == "lstm" else 1)]
    ho = [cr.tensor(a, requires_grad=True) for a in hs]
    ht = [torch.tensor(a, requires_grad=True) for a in hs]
    out_o, _ = ours(cr.tensor(x), tuple(ho) if kind == "lstm" else ho[0])
    out_t, _ = theirs(torch.tensor(x), tuple(ht) if kind == "lstm" else ht[0])
    (out_o * out_o).sum().backward()
    (out_t * out_t).sum().backward()
    for a, b in zip(ho, ht):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("given", [False, True])
def test_unbatched_input(kind, given):
    ours, theirs = _pair(kind, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((T, I))
    hx = [rng.standard_normal((4, H)) for _ in range(2 if kind == "lstm" else 1)] if given else None
    _compare(kind, ours, theirs, x, hx)


@pytest.mark.parametrize("kind", list(KINDS))
def test_float32_and_no_bias(kind):
    ours, theirs = _pair(kind, dtype=torch.float32, bias=False, num_layers=2)
    assert not any("bias" in n for n, _ in ours.named_parameters())
    x = np.random.default_rng(5).standard_normal((T, B, I)).astype(np.float32)
    _compare(kind, ours, theirs, x, tol=2e-5)


@pytest.mark.parametrize("kind", list(KINDS))
def test_parameter_names_shapes_and_state_dict_keys(kind):
    ours, theirs = _pair(kind, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (n, p), (m, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == m and tuple(p.shape) == tuple(q.shape)
    assert p.dtype == cr.float64


@pytest.mark.parametrize("kind", list(KINDS))
def test_default_init_is_uniform_in_pytorch_range(kind):
    cr.manual_seed(0)
    ours = KINDS[kind][0](I, 64, num_layers=2, **KINDS[kind][2])
    bound = 1 / np.sqrt(64)
    values = np.concatenate([p.detach().numpy().ravel() for p in ours.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    # uniform on [-b, b]: variance b^2/3, and the range is nearly filled
    assert abs(values.var() - bound ** 2 / 3) < 0.05 * bound ** 2
    assert values.max() > 0.95 * bound and values.min() < -0.95 * bound
    assert ours.weight_ih_l0.dtype == cr.float32


def test_dropout_between_layers():
    ours = nn.LSTM(I, H, num_layers=3, dropout=0.5)
    x = cr.tensor(np.random.default_rng(6).standard_normal((T, B, I)).astype(np.float32))
    out1, (h1, c1) = ours(x)
    out2, _ = ours(x)
    assert tuple(out1.shape) == (T, B, H) and tuple(h1.shape) == (3, B, H)
    assert not np.allclose(out1.detach().numpy(), out2.detach().numpy())  # training: a new mask each call
    ours.eval()
    e1, _ = ours(x)
    e2, _ = ours(x)
    np.testing.assert_array_equal(e1.detach().numpy(), e2.detach().numpy())
    # statistics of the dropout itself: make layer 2 the identity on its input, so that its
    # output is exactly dropout(layer 1's output)
    two = nn.RNN(I, H, num_layers=2, dropout=0.25, nonlinearity="relu")
    one = nn.RNN(I, H, num_layers=1, nonlinearity="relu")
    one.load_state_dict({k: v for k, v in two.state_dict().items() if k.endswith("l0")})
    with cr.no_grad():
        two.weight_hh_l1.zero_()
        two.bias_ih_l1.zero_()
        two.bias_hh_l1.zero_()
        two.weight_ih_l1.copy_(cr.eye(H))
    big = cr.tensor(np.random.default_rng(7).standard_normal((400, 8, I)).astype(np.float32))
    y1 = one(big)[0].detach().numpy()
    y2 = two(big)[0].detach().numpy()
    pos = y1 > 1e-3
    kept = y2[pos] != 0
    assert abs(kept.mean() - 0.75) < 0.02, kept.mean()
    np.testing.assert_allclose(y2[pos][kept], y1[pos][kept] / 0.75, rtol=1e-5)


def test_dropout_warns_for_one_layer():
    with pytest.warns(UserWarning):
        nn.GRU(I, H, num_layers=1, dropout=0.3)


def test_bad_shapes_raise():
    m = nn.LSTM(I, H)
    with pytest.raises(RuntimeError, match="input_size"):
        m(cr.zeros(T, B, I + 1))
    with pytest.raises(RuntimeError, match="hidden"):
        m(cr.zeros(T, B, I), (cr.zeros(2, B, H), cr.zeros(2, B, H)))
    with pytest.raises(ValueError):
        nn.RNN(I, H, nonlinearity="sigmoid")


def test_repr_like_torch():
    assert repr(nn.LSTM(4, 6, num_layers=2, batch_first=True)) == \
        repr(torch.nn.LSTM(4, 6, num_layers=2, batch_first=True))
    assert repr(nn.RNN(4, 6, nonlinearity="relu")) == repr(torch.nn.RNN(4, 6, nonlinearity="relu"))


def test_double_backward_through_lstm():
    """create_graph=True: the layer's vjp is itself differentiable (checked against torch)."""
    ours, theirs = _pair("lstm")
    x = np.random.default_rng(8).standard_normal((3, 2, I))
    xo = cr.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    (go,) = cr.autograd.grad((ours(xo)[0] ** 2).sum(), [xo], create_graph=True)
    (gt,) = torch.autograd.grad((theirs(xt)[0] ** 2).sum(), [xt], create_graph=True)
    (go ** 2).sum().backward()
    (gt ** 2).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.weight_hh_l0.grad.numpy(), theirs.weight_hh_l0.grad.numpy(),
                               rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------- cells

CELLS = {
    "rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}),
    "gru": (nn.GRUCell, torch.nn.GRUCell, {}),
}


@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("mode", ["given", "default", "unbatched"])
def test_cell_matches_torch(kind, mode):
    ours_cls, theirs_cls, extra = CELLS[kind]
    torch.manual_seed(1)
    theirs = theirs_cls(I, H, **extra).double()
    ours = ours_cls(I, H, **extra).double()
    ours.load_state_dict({k: cr.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(9)
    shape = (I,) if mode == "unbatched" else (B, I)
    hshape = (H,) if mode == "unbatched" else (B, H)
    x = rng.standard_normal(shape)
    hs = [rng.standard_normal(hshape) for _ in range(2 if kind == "lstm" else 1)]
    xo, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    args_o, args_t = [xo], [xt]
    if mode != "default":
        args_o.append(tuple(cr.tensor(a) for a in hs) if kind == "lstm" else cr.tensor(hs[0]))
        args_t.append(tuple(torch.tensor(a) for a in hs) if kind == "lstm" else torch.tensor(hs[0]))
    ro, rt = ours(*args_o), theirs(*args_t)
    ro = list(ro) if kind == "lstm" else [ro]
    rt = list(rt) if kind == "lstm" else [rt]
    w = rng.standard_normal(hshape)
    lo = sum(((a * cr.tensor(w)) ** 2).sum() for a in ro)
    lt = sum(((a * torch.tensor(w)) ** 2).sum() for a in rt)
    for a, b in zip(ro, rt):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    lo.backward()
    lt.backward()
    for n, p in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[n].grad.numpy(), p.grad.numpy(),
                                   rtol=1e-9, atol=1e-11, err_msg=n)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_training_loss_falls():
    cr.manual_seed(0)
    model = nn.GRU(3, 8, batch_first=True)
    head = nn.Linear(8, 1)
    opt = cr.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=0.02)
    rng = np.random.default_rng(10)
    x = rng.standard_normal((16, 10, 3)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None].astype(np.float32) * 0.1  # a sum over the sequence
    xs, ys = cr.tensor(x), cr.tensor(y)
    losses = []
    for _ in range(60):
        out, h = model(xs)
        loss = ((head(h[0]) - ys) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_backward_recomputes_when_activations_were_not_kept(bidirectional):
    """The forward keeps its gate activations for the backward pass; without them (they
    are dropped here) the vjp recomputes them and gives the same gradients."""
    from chainrule.ops import recurrent
    ours, theirs = _pair("lstm", bidirectional=bidirectional)
    x = np.random.default_rng(11).standard_normal((T, B, I))
    out_o, _ = ours(cr.tensor(x))
    recurrent._STASH.clear()
    (out_o ** 2).sum().backward()
    out_t, _ = theirs(torch.tensor(x))
    (out_t ** 2).sum().backward()
    for n, p in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[n].grad.numpy(), p.grad.numpy(),
                                   rtol=1e-9, atol=1e-11, err_msg=n)
