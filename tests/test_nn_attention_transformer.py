"""scaled_dot_product_attention, MultiheadAttention and TransformerEncoder(Layer) against
PyTorch: outputs, attention weights and every parameter's gradient, weights copied across
through state_dict."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

N, L, S, E, HEADS = 2, 4, 5, 8, 2


def _copy(ours, theirs):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours


def _check_grads(ours, theirs, tol=1e-9):
    got = dict(ours.named_parameters())
    names = [n for n, _ in theirs.named_parameters()]
    assert list(got) == names
    for n, p in theirs.named_parameters():
        assert got[n].grad is not None, n
        np.testing.assert_allclose(got[n].grad.numpy(), p.grad.numpy(), rtol=tol, atol=tol,
                                   err_msg=n)


def _close(a, b, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else a
    b = b.detach().numpy()
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- sdpa

def _sdpa_inputs(rng, shape_q=(N, HEADS, L, 3), shape_k=(N, HEADS, S, 3), ev=4):
    q = rng.standard_normal(shape_q)
    k = rng.standard_normal(shape_k)
    v = rng.standard_normal(shape_k[:-1] + (ev,))
    return q, k, v


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal", "scale"])
def test_sdpa_matches_torch(mask):
    rng = np.random.default_rng(0)
    q, k, v = _sdpa_inputs(rng, shape_k=(N, HEADS, L if mask == "causal" else S, 3))
    kw_o, kw_t = {}, {}
    if mask == "bool":
        m = rng.random((L, S)) < 0.6
        m[:, 0] = True  # every query sees at least one key
        kw_o["attn_mask"], kw_t["attn_mask"] = cr.tensor(m), torch.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((N, 1, L, S))
        kw_o["attn_mask"], kw_t["attn_mask"] = cr.tensor(m), torch.tensor(m)
    elif mask == "causal":
        kw_o["is_causal"] = kw_t["is_causal"] = True
    elif mask == "scale":
        kw_o["scale"] = kw_t["scale"] = 0.3
    ins_o = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    ins_t = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out_o = F.scaled_dot_product_attention(*ins_o, **kw_o)
    out_t = torch.nn.functional.scaled_dot_product_attention(*ins_t, **kw_t)
    _close(out_o, out_t)
    w = rng.standard_normal(tuple(out_t.shape))
    (out_o * cr.tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for a, b in zip(ins_o, ins_t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_sdpa_causal_with_mask_raises():
    x = cr.zeros(1, 3, 2)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(x, x, x, attn_mask=cr.ones(3, 3), is_causal=True)


def test_sdpa_dropout_statistics():
    cr.manual_seed(0)
    q = cr.zeros(1, 200, 4)
    v = cr.ones(1, 50, 1)
    out = F.scaled_dot_product_attention(q, cr.zeros(1, 50, 4), v, dropout_p=0.5)
    # uniform weights 1/50, each kept with p = 0.5 and scaled by 2: the mean stays 1
    vals = out.numpy().ravel()
    assert abs(vals.mean() - 1.0) < 0.05
    assert vals.std() > 0.05  # and it is random


# ----------------------------------------------------------------------------- MultiheadAttention

def _mha_pair(batch_first=False, bias=True, kdim=None, vdim=None, dropout=0.0):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS, dropout=dropout, bias=bias, kdim=kdim, vdim=vdim,
                                         batch_first=batch_first).double()
    ours = nn.MultiheadAttention(E, HEADS, dropout=dropout, bias=bias, kdim=kdim, vdim=vdim,
                                 batch_first=batch_first).double()
    return _copy(ours, theirs), theirs


MASKS = ["none", "key_padding_bool", "key_padding_float", "attn_bool", "attn_float",
         "attn_3d", "causal", "both"]


def _masks(rng, kind, lib, L_, S_):
    kw = {}
    if kind in ("key_padding_bool", "both"):
        m = np.zeros((N, S_), bool)
        m[0, -2:] = True
        m[1, 1] = True
        kw["key_padding_mask"] = lib.tensor(m)
    if kind == "key_padding_float":
        kw["key_padding_mask"] = lib.tensor(rng.standard_normal((N, S_)))
    if kind in ("attn_bool", "both"):
        m = rng.random((L_, S_)) < 0.3
        m[:, 0] = False  # key 0 always allowed (True = masked out in MHA)
        kw["attn_mask"] = lib.tensor(m)
    if kind == "attn_float":
        kw["attn_mask"] = lib.tensor(rng.standard_normal((L_, S_)))
    if kind == "attn_3d":
        kw["attn_mask"] = lib.tensor(rng.standard_normal((N * HEADS, L_, S_)))
    if kind == "causal":
        m = np.triu(np.ones((L_, S_), bool), 1)
        kw["attn_mask"] = lib.tensor(m)
        kw["is_causal"] = True
    return kw


@pytest.mark.parametrize("batch_first,mask,need_weights,average",
                         [(bf, m, nw, av) for bf, m in itertools.product([False, True], MASKS)
                          for nw, av in [(True, True), (True, False), (False, True)]])
def test_mha_self_attention_matches_torch(batch_first, mask, need_weights, average):
    ours, theirs = _mha_pair(batch_first)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, L, E) if batch_first else (L, N, E))
    xo, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mk_seed = int(rng.integers(1 << 30))
    kw_o = _masks(np.random.default_rng(mk_seed), mask, cr, L, L)
    kw_t = _masks(np.random.default_rng(mk_seed), mask, torch, L, L)
    out_o, w_o = ours(xo, xo, xo, need_weights=need_weights, average_attn_weights=average, **kw_o)
    out_t, w_t = theirs(xt, xt, xt, need_weights=need_weights, average_attn_weights=average, **kw_t)
    _close(out_o, out_t)
    if need_weights:
        _close(w_o, w_t)
    else:
        assert w_o is None and w_t is None
    g = rng.standard_normal(tuple(out_t.shape))
    (out_o * cr.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    _check_grads(ours, theirs)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kdim,vdim", [(None, None), (6, 3), (6, None)])
@pytest.mark.parametrize("bias", [True, False])
def test_mha_cross_attention_and_kdim_vdim(kdim, vdim, bias):
    ours, theirs = _mha_pair(batch_first=True, bias=bias, kdim=kdim, vdim=vdim)
    if kdim is not None:
        assert ours.in_proj_weight is None and tuple(ours.k_proj_weight.shape) == (E, kdim)
    rng = np.random.default_rng(2)
    q = rng.standard_normal((N, L, E))
    k = rng.standard_normal((N, S, kdim or E))
    v = rng.standard_normal((N, S, vdim or E))
    io = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    it = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    m = np.zeros((N, S), bool)
    m[1, :2] = True
    out_o, w_o = ours(*io, key_padding_mask=cr.tensor(m))
    out_t, w_t = theirs(*it, key_padding_mask=torch.tensor(m))
    _close(out_o, out_t)
    _close(w_o, w_t)
    (out_o ** 2).sum().backward()
    (out_t ** 2).sum().backward()
    _check_grads(ours, theirs)
    for a, b in zip(io, it):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_mha_unbatched():
    ours, theirs = _mha_pair()
    rng = np.random.default_rng(3)
    q, kv = rng.standard_normal((L, E)), rng.standard_normal((S, E))
    out_o, w_o = ours(cr.tensor(q), cr.tensor(kv), cr.tensor(kv))
    out_t, w_t = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv))
    _close(out_o, out_t)
    _close(w_o, w_t)


def test_mha_state_dict_init_and_errors():
    torch_keys = list(torch.nn.MultiheadAttention(E, HEADS, kdim=3, vdim=5).state_dict())
    assert list(nn.MultiheadAttention(E, HEADS, kdim=3, vdim=5).state_dict()) == torch_keys
    cr.manual_seed(0)
    m = nn.MultiheadAttention(64, 4)
    np.testing.assert_array_equal(m.in_proj_bias.detach().numpy(), 0)
    np.testing.assert_array_equal(m.out_proj.bias.detach().numpy(), 0)
    bound = np.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ on the (3E, E) matrix
    w = m.in_proj_weight.detach().numpy()
    assert w.max() <= bound and w.min() >= -bound and w.max() > 0.95 * bound
    with pytest.raises(AssertionError):
        nn.MultiheadAttention(10, 3)
    x = cr.zeros(3, 1, E)
    with pytest.raises(RuntimeError, match="is_causal"):
        nn.MultiheadAttention(E, HEADS)(x, x, x, is_causal=True)


def test_mha_dropout_in_training_only():
    ours, _ = _mha_pair(dropout=0.5)
    x = cr.tensor(np.random.default_rng(4).standard_normal((L, N, E)))
    a, _ = ours(x, x, x)
    b, _ = ours(x, x, x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    ours.eval()
    c, _ = ours(x, x, x)
    d, _ = ours(x, x, x)
    np.testing.assert_array_equal(c.detach().numpy(), d.detach().numpy())


# ----------------------------------------------------------------------------- transformer

def _layer_pair(**kw):
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=16, **kw).double().eval()
    ours = nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=16, **kw).double().eval()
    return _copy(ours, theirs), theirs


@pytest.mark.parametrize("norm_first,activation,batch_first,mask",
                         list(itertools.product([False, True], ["relu", "gelu"], [False, True],
                                                ["none", "src_mask", "padding", "causal"])))
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, mask):
    ours, theirs = _layer_pair(norm_first=norm_first, activation=activation,
                               batch_first=batch_first)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, L, E) if batch_first else (L, N, E))
    kw_o, kw_t = {}, {}
    if mask == "src_mask":
        m = rng.standard_normal((L, L))
        kw_o["src_mask"], kw_t["src_mask"] = cr.tensor(m), torch.tensor(m)
    elif mask == "padding":
        m = np.zeros((N, L), bool)
        m[0, -1] = True
        kw_o["src_key_padding_mask"] = cr.tensor(m)
        kw_t["src_key_padding_mask"] = torch.tensor(m)
    elif mask == "causal":
        m = np.triu(np.full((L, L), -np.inf), 1)
        kw_o["src_mask"], kw_t["src_mask"] = cr.tensor(m), torch.tensor(m)
        kw_o["is_causal"] = kw_t["is_causal"] = True
    xo, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o = ours(xo, **kw_o)
    out_t = theirs(xt, **kw_t)
    if mask == "padding":  # torch's fast path may zero padded positions; compare the rest
        keep = ~np.asarray(kw_t["src_key_padding_mask"].numpy())
        keep = keep if batch_first else keep.T
        _close(out_o.detach().numpy()[keep], out_t[torch.tensor(keep)], tol=1e-9)
    else:
        _close(out_o, out_t, tol=1e-9)
    g = rng.standard_normal(tuple(out_t.shape))
    (out_o * cr.tensor(g)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    _check_grads(ours, theirs, tol=1e-8)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_encoder_layer_callable_activation_and_unbatched():
    ours, theirs = _layer_pair(activation=torch.nn.functional.silu)
    ours.activation = cr.nn.functional.silu
    x = np.random.default_rng(6).standard_normal((L, E))
    _close(ours(cr.tensor(x)), theirs(torch.tensor(x)), tol=1e-9)


def test_encoder_stack_with_norm_matches_torch():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0, batch_first=True)
    theirs = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(E),
                                         enable_nested_tensor=False).double().eval()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.0,
                                                            batch_first=True),
                                 2, norm=nn.LayerNorm(E)).double().eval()
    _copy(ours, theirs)
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    x = np.random.default_rng(7).standard_normal((N, L, E))
    xo, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_o, out_t = ours(xo), theirs(xt)
    _close(out_o, out_t, tol=1e-9)
    (out_o ** 3).sum().backward()
    (out_t ** 3).sum().backward()
    _check_grads(ours, theirs, tol=1e-8)


def test_encoder_layer_dropout_active_in_training():
    layer = nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.5)
    x = cr.tensor(np.random.default_rng(8).standard_normal((L, N, E)).astype(np.float32))
    a, b = layer(x), layer(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
