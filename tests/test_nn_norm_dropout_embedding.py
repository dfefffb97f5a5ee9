"""Normalization layers, dropout and embeddings against PyTorch, the oracle.

Modules are built in both libraries, PyTorch's (randomised) parameters and buffers are
copied into chainrule through ``load_state_dict``, the same inputs are run through both for
several training steps, and outputs, gradients of the input and the parameters, running
statistics and evaluation outputs are compared. Dropout is random, so it is checked by
its properties (scaling, fraction dropped, identity in eval, gradient masked like the
forward) rather than against PyTorch's stream.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
import chainrule.nn.functional as F  # noqa: E402
from chainrule import nn  # noqa: E402

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-9, atol=1e-11)}
NP_DT = {"float32": np.float32, "float64": np.float64}
T_DT = {"float32": torch.float32, "float64": torch.float64}
C_DT = {"float32": cr.float32, "float64": cr.float64}


def _np(t) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def _close(ours, theirs, dtype: str, what: str = "") -> None:
    np.testing.assert_allclose(_np(ours), _np(theirs), err_msg=what, **TOL[dtype])


def _pair(arr: np.ndarray, requires_grad: bool = True):
    """The same values as a chainrule and a torch tensor (independent memory)."""
    a = cr.tensor(arr.copy(), requires_grad=requires_grad)
    b = torch.tensor(arr.copy(), requires_grad=requires_grad)
    return a, b


def _randomize(tmod, rng, dtype: str) -> None:
    """Give a torch module non-trivial parameters and floating buffers."""
    with torch.no_grad():
        for p in tmod.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(p.shape)).astype(NP_DT[dtype])))
        for name, b in tmod.named_buffers():
            if b.is_floating_point():
                lo = 0.5 if "var" in name else -1.0
                b.copy_(torch.tensor(rng.uniform(lo, 1.5, tuple(b.shape)).astype(NP_DT[dtype])))


def _copy_from_torch(cmod, tmod) -> None:
    cmod.load_state_dict({k: v.detach().numpy().copy() for k, v in tmod.state_dict().items()})


def _compare_state(cmod, tmod, dtype: str) -> None:
    cs, ts = cmod.state_dict(), tmod.state_dict()
    assert list(cs) == list(ts)
    for k in ts:
        if ts[k].is_floating_point():
            _close(cs[k], ts[k], dtype, k)
        else:
            assert int(cs[k].item()) == int(ts[k].item()), k


def _step(cmod, tmod, rng, shape, dtype: str, scale: float = 1.0, shift: float = 0.0) -> None:
    """One forward/backward in both libraries; compare output and every gradient."""
    x = (rng.standard_normal(shape) * scale + shift).astype(NP_DT[dtype])
    cx, tx = _pair(x)
    cy, ty = cmod(cx), tmod(tx)
    assert tuple(cy.shape) == tuple(ty.shape)
    assert cy.dtype == C_DT[dtype]
    _close(cy, ty, dtype, "output")
    ct = rng.standard_normal(tuple(ty.shape)).astype(NP_DT[dtype])
    cy.backward(cr.tensor(ct))
    ty.backward(torch.tensor(ct))
    _close(cx.grad, tx.grad, dtype, "input grad")
    for (name, cp), (tname, tp) in zip(cmod.named_parameters(), tmod.named_parameters()):
        assert name == tname
        _close(cp.grad, tp.grad, dtype, f"{name} grad")
    cmod.zero_grad()
    tmod.zero_grad()


# ----------------------------------------------------------------------------- batch norm

BN_CASES = [
    ("BatchNorm1d", (8, 3)),
    ("BatchNorm1d", (4, 3, 5)),
    ("BatchNorm2d", (4, 3, 5, 6)),
    ("BatchNorm3d", (2, 2, 3, 4, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,shape", BN_CASES)
@pytest.mark.parametrize("kwargs", [{}, {"momentum": None}, {"momentum": 0.3, "eps": 1e-3},
                                    {"affine": False}, {"track_running_stats": False},
                                    {"bias": False}])
def test_batchnorm_matches_torch(cls, shape, kwargs, dtype, rng):
    C = shape[1]
    tmod = getattr(torch.nn, cls)(C, dtype=T_DT[dtype], **kwargs)
    cmod = getattr(nn, cls)(C, dtype=C_DT[dtype], **kwargs)
    _randomize(tmod, rng, dtype)
    _copy_from_torch(cmod, tmod)
    for step in range(4):  # several training steps: running stats must follow torch's
        _step(cmod, tmod, rng, shape, dtype, scale=1.0 + step, shift=0.5 * step)
        _compare_state(cmod, tmod, dtype)
    cmod.eval()
    tmod.eval()
    _step(cmod, tmod, rng, shape, dtype, scale=2.0, shift=-1.0)
    _compare_state(cmod, tmod, dtype)  # eval does not touch the statistics


def test_batchnorm_running_stats_use_unbiased_variance(rng):
    x = rng.standard_normal((5, 2)).astype(np.float64)
    bn = nn.BatchNorm1d(2, momentum=1.0, dtype=cr.float64)
    y = bn(cr.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), x.var(0, ddof=1), rtol=1e-12)
    # while the batch itself is normalized with the biased variance
    np.testing.assert_allclose(y.detach().numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5),
                               rtol=1e-10)


def test_batchnorm_cumulative_average_when_momentum_none(rng):
    bn = nn.BatchNorm1d(3, momentum=None, dtype=cr.float64)
    batches = [rng.standard_normal((6, 3)) * (k + 1) for k in range(3)]
    for b in batches:
        bn(cr.tensor(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0),
                               rtol=1e-10)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-10)
    assert bn.num_batches_tracked.item() == 3


def test_batchnorm_functional_matches_torch(rng):
    x = rng.standard_normal((6, 4, 3))
    w, b = rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    cx, tx = _pair(x)
    cw, tw = _pair(w)
    cb, tb = _pair(b)
    crm, trm = _pair(rm, False)
    crv, trv = _pair(rv, False)
    cy = F.batch_norm(cx, crm, crv, cw, cb, training=True, momentum=0.2, eps=1e-4)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=True, momentum=0.2, eps=1e-4)
    _close(cy, ty, "float64")
    _close(crm, trm, "float64")
    _close(crv, trv, "float64")
    assert crm.grad_fn is None and not crm.requires_grad
    (cy * cy).sum().backward()
    (ty * ty).sum().backward()
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        _close(c.grad, t.grad, "float64")
    # eval: running statistics, without weight and bias
    cy = F.batch_norm(cx, crm, crv)
    ty = torch.nn.functional.batch_norm(tx, trm, trv)
    _close(cy, ty, "float64")


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(cr.randn(1, 3))
    bn.eval()
    assert bn(cr.randn(1, 3)).shape == (1, 3)  # eval mode accepts a single sample
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(cr.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(cr.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="running_mean"):
        F.batch_norm(cr.randn(4, 3), None, None, training=False)
    with pytest.raises(RuntimeError, match="3 elements"):
        F.batch_norm(cr.randn(4, 3), cr.zeros(2), cr.ones(2), training=True)


def test_batchnorm_reset_and_train_eval_switch(rng):
    bn = nn.BatchNorm2d(2)
    bn(cr.tensor(rng.standard_normal((3, 2, 4, 4)).astype(np.float32) + 3))
    assert bn.num_batches_tracked.item() == 1
    assert np.all(bn.running_mean.numpy() > 0.1)
    bn.reset_running_stats()
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)
    assert bn.num_batches_tracked.item() == 0
    bn.eval()
    x = cr.tensor(rng.standard_normal((3, 2, 4, 4)).astype(np.float32))
    np.testing.assert_allclose(bn(x).detach().numpy(), x.numpy() / np.sqrt(1 + 1e-5), rtol=1e-6)
    assert bn.num_batches_tracked.item() == 0


# ----------------------------------------------------------------------------- instance norm

@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 7)),
                                       ("InstanceNorm2d", (2, 3, 4, 5)),
                                       ("InstanceNorm1d", (4, 7))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True},
                                    {"affine": True, "track_running_stats": True}])
def test_instancenorm_matches_torch(cls, shape, kwargs, rng):
    C = shape[-2] if len(shape) == 2 else shape[1]
    tmod = getattr(torch.nn, cls)(C, dtype=torch.float64, **kwargs)
    cmod = getattr(nn, cls)(C, dtype=cr.float64, **kwargs)
    _randomize(tmod, rng, "float64")
    _copy_from_torch(cmod, tmod)
    for step in range(3):
        _step(cmod, tmod, rng, shape, "float64", scale=1 + step, shift=step)
        _compare_state(cmod, tmod, "float64")
    cmod.eval()
    tmod.eval()
    _step(cmod, tmod, rng, shape, "float64")


# ----------------------------------------------------------------------------- layer norm

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,normalized", [((4, 10), 10), ((2, 3, 4, 5), (4, 5)), ((3, 6), [6]),
                                              ((2, 3, 4), (2, 3, 4))])
@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False},
                                    {"eps": 1e-2}])
def test_layernorm_matches_torch(shape, normalized, kwargs, dtype, rng):
    tmod = torch.nn.LayerNorm(normalized, dtype=T_DT[dtype], **kwargs)
    cmod = nn.LayerNorm(normalized, dtype=C_DT[dtype], **kwargs)
    _randomize(tmod, rng, dtype)
    _copy_from_torch(cmod, tmod)
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    _step(cmod, tmod, rng, shape, dtype, scale=3.0, shift=2.0)


def test_layer_norm_functional_and_errors(rng):
    x = rng.standard_normal((3, 4, 5))
    cx, tx = _pair(x)
    cw, tw = _pair(rng.standard_normal((4, 5)))
    cy = F.layer_norm(cx, (4, 5), cw, None, 1e-6)
    ty = torch.nn.functional.layer_norm(tx, (4, 5), tw, None, 1e-6)
    _close(cy, ty, "float64")
    cy.sum().backward()
    ty.sum().backward()
    _close(cx.grad, tx.grad, "float64")
    _close(cw.grad, tw.grad, "float64")
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(cx, (4,))
    with pytest.raises(RuntimeError, match="weight"):
        F.layer_norm(cx, (4, 5), cr.ones(5))


def test_layernorm_second_derivative_matches_torch(rng):
    x = rng.standard_normal((3, 5))
    cx, tx = _pair(x)
    cy = F.layer_norm(cx, (5,))
    ty = torch.nn.functional.layer_norm(tx, (5,))
    cg, = cr.autograd.grad((cy ** 3).sum(), cx, create_graph=True)
    tg, = torch.autograd.grad((ty ** 3).sum(), tx, create_graph=True)
    _close(cg, tg, "float64")
    cx2, = cr.autograd.grad((cg * cg).sum(), cx)
    tx2, = torch.autograd.grad((tg * tg).sum(), tx)
    _close(cx2, tx2, "float64")


# ----------------------------------------------------------------------------- group / rms norm

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("groups,shape", [(2, (3, 4, 5)), (1, (2, 6, 3, 3)), (6, (2, 6, 2, 2)),
                                          (2, (4, 6))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False}])
def test_groupnorm_matches_torch(groups, shape, kwargs, dtype, rng):
    tmod = torch.nn.GroupNorm(groups, shape[1], dtype=T_DT[dtype], **kwargs)
    cmod = nn.GroupNorm(groups, shape[1], dtype=C_DT[dtype], **kwargs)
    _randomize(tmod, rng, dtype)
    _copy_from_torch(cmod, tmod)
    _step(cmod, tmod, rng, shape, dtype, scale=2.0, shift=1.0)


def test_groupnorm_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        F.group_norm(cr.randn(2, 6, 3), 4)


@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-3}, {"elementwise_affine": False}])
def test_rmsnorm_matches_torch(kwargs, rng):
    for dtype in ("float32", "float64"):
        tmod = torch.nn.RMSNorm((3, 4), dtype=T_DT[dtype], **kwargs)
        cmod = nn.RMSNorm((3, 4), dtype=C_DT[dtype], **kwargs)
        _randomize(tmod, rng, dtype)
        _copy_from_torch(cmod, tmod)
        _step(cmod, tmod, rng, (2, 3, 4), dtype, scale=2.0)
        assert repr(cmod) == repr(tmod)


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, -1), (3.0, 0)])
def test_normalize_matches_torch(p, dim, rng):
    x = rng.standard_normal((3, 4))
    x[1] = 0.0  # a zero row: eps keeps the division finite
    cx, tx = _pair(x)
    cy = F.normalize(cx, p=p, dim=dim)
    ty = torch.nn.functional.normalize(tx, p=p, dim=dim)
    _close(cy, ty, "float64")
    ct = rng.standard_normal((3, 4))
    cy.backward(cr.tensor(ct))
    ty.backward(torch.tensor(ct))
    _close(cx.grad, tx.grad, "float64")


# ----------------------------------------------------------------------------- names and reprs

MODULE_SPECS = [
    ("BatchNorm1d", (3,), {}),
    ("BatchNorm2d", (3,), {}),
    ("BatchNorm2d", (4,), {"affine": False, "momentum": None, "eps": 1e-3}),
    ("BatchNorm1d", (5,), {"track_running_stats": False}),
    ("BatchNorm3d", (2,), {}),
    ("BatchNorm1d", (2,), {"bias": False}),
    ("InstanceNorm2d", (2,), {"affine": True, "bias": False}),
    ("InstanceNorm2d", (3,), {}),
    ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}),
    ("LayerNorm", (10,), {}),
    ("LayerNorm", ((3, 4),), {"elementwise_affine": False}),
    ("LayerNorm", ([6],), {"bias": False, "eps": 1e-6}),
    ("GroupNorm", (2, 4), {}),
    ("GroupNorm", (3, 6), {"affine": False, "eps": 0.001}),
    ("GroupNorm", (3, 6), {"bias": False}),
    ("RMSNorm", (8,), {}),
    ("Dropout", (), {}),
    ("Dropout", (0.2,), {"inplace": True}),
    ("Dropout1d", (0.1,), {}),
    ("Dropout2d", (0.3,), {}),
    ("AlphaDropout", (0.25,), {}),
    ("Embedding", (10, 3), {}),
    ("Embedding", (10, 3), {"padding_idx": 0}),
    ("Embedding", (10, 3), {"padding_idx": -1, "max_norm": 1.5, "norm_type": 1.0,
                            "scale_grad_by_freq": True}),
]


@pytest.mark.parametrize("cls,args,kwargs", MODULE_SPECS)
def test_repr_state_dict_and_parameter_names_match_torch(cls, args, kwargs):
    tmod = getattr(torch.nn, cls)(*args, **kwargs)
    cmod = getattr(nn, cls)(*args, **kwargs)
    assert repr(cmod) == repr(tmod)
    assert list(cmod.state_dict()) == list(tmod.state_dict())
    assert [n for n, _ in cmod.named_parameters()] == [n for n, _ in tmod.named_parameters()]
    assert [n for n, _ in cmod.named_buffers()] == [n for n, _ in tmod.named_buffers()]
    for (n, cb), (_, tb) in zip(cmod.named_buffers(), tmod.named_buffers()):
        assert _np(cb).dtype == _np(tb).dtype, n
        np.testing.assert_array_equal(_np(cb), _np(tb), err_msg=n)  # initial buffer values
    for (n, cp), (_, tp) in zip(cmod.named_parameters(), tmod.named_parameters()):
        assert tuple(cp.shape) == tuple(tp.shape), n
        assert cp.requires_grad and cp.dtype == cr.float32
        if cls != "Embedding":  # deterministic initial values (ones / zeros)
            np.testing.assert_array_equal(_np(cp), _np(tp), err_msg=n)


def test_state_dict_round_trip_into_torch(rng):
    cmod = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LayerNorm(4))
    tmod = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.LayerNorm(4))
    for _ in range(2):
        cmod(cr.tensor(rng.standard_normal((5, 3)).astype(np.float32)))
    tmod.load_state_dict({k: torch.tensor(v.numpy()) for k, v in cmod.state_dict().items()})
    assert int(tmod[1].num_batches_tracked) == 2
    cmod.eval()
    tmod.eval()
    x = rng.standard_normal((4, 3)).astype(np.float32)
    _close(cmod(cr.tensor(x)), tmod(torch.tensor(x)), "float32")


# ----------------------------------------------------------------------------- dropout

def test_dropout_statistics_and_scaling():
    cr.manual_seed(0)
    p = 0.3
    x = cr.ones(200, 500)
    y = F.dropout(x, p=p, training=True).numpy()
    kept = y != 0
    assert abs((1 - kept.mean()) - p) < 0.01  # about p of the elements are dropped
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)  # the rest are scaled up
    assert abs(y.mean() - 1.0) < 0.02  # so the mean is preserved
    assert x.numpy().min() == 1.0  # not in place by default


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_gradient_masked_like_forward(p, rng):
    x = cr.tensor(rng.uniform(1, 2, (50, 40)), requires_grad=True)
    y = F.dropout(x, p, training=True)
    g = rng.standard_normal((50, 40))
    y.backward(cr.tensor(g))
    mask = y.detach().numpy() / x.detach().numpy()  # 0 or 1/(1-p), element by element
    assert set(np.round(np.unique(mask), 6)) <= {0.0, round(1 / (1 - p), 6)}
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-12)
    assert 0 < (mask == 0).mean() < 1


def test_dropout_eval_identity_and_edge_probabilities(rng):
    x = cr.tensor(rng.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    d = nn.Dropout(0.5)
    d.eval()
    np.testing.assert_array_equal(d(x).detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).detach().numpy(),
                                  x.detach().numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.0).detach().numpy(), x.detach().numpy())
    y = F.dropout(x, 1.0)
    assert np.all(y.detach().numpy() == 0) and not np.any(np.isnan(y.detach().numpy()))
    y.sum().backward()
    assert np.all(x.grad.numpy() == 0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, bad)


def test_dropout_module_train_mode_and_reproducible_masks():
    d = nn.Dropout(0.5)
    x = cr.ones(1000)
    cr.manual_seed(123)
    a = d(x).numpy()
    cr.manual_seed(123)
    b = d(x).numpy()
    c = d(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    assert set(np.unique(a)) == {0.0, 2.0}


def test_dropout_inplace():
    x = cr.ones(100, 10)
    y = F.dropout(x, 0.5, training=True, inplace=True)
    assert y is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    d = nn.Dropout(0.5, inplace=True)
    h = cr.ones(100, 10, requires_grad=True) * 1.0  # a non-leaf may be changed in place
    out = d(h)
    out.sum().backward()


@pytest.mark.parametrize("fn,shape", [(F.dropout1d, (8, 16, 10)), (F.dropout2d, (8, 16, 3, 4)),
                                      (F.dropout3d, (4, 16, 2, 3, 2)), (F.dropout2d, (16, 3, 4))])
def test_channel_dropout_zeroes_whole_channels(fn, shape):
    cr.manual_seed(1)
    y = fn(cr.ones(*shape), p=0.5, training=True).numpy()
    lead = 2 if len(shape) >= 4 or fn is F.dropout1d and len(shape) == 3 else 1
    per_channel = y.reshape(shape[:lead] + (-1,))
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # constant within a channel
    assert set(np.unique(per_channel)) == {0.0, 2.0}


def test_alpha_dropout_keeps_mean_and_variance():
    cr.manual_seed(5)
    x = cr.randn(400, 500, dtype=cr.float64)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    np.testing.assert_array_equal(nn.AlphaDropout(0.2).eval()(x).numpy(), x.numpy())


# ----------------------------------------------------------------------------- embedding

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_embedding_matches_torch(kwargs, dtype, rng):
    tmod = torch.nn.Embedding(7, 4, dtype=T_DT[dtype], **kwargs)
    cmod = nn.Embedding(7, 4, dtype=C_DT[dtype], **kwargs)
    _randomize(tmod, rng, dtype)
    _copy_from_torch(cmod, tmod)
    idx = np.array([[0, 2, 2, 6], [2, 1, 0, 2], [5, 6, 6, 3]])  # repeats, and the padding rows
    cy, ty = cmod(cr.tensor(idx)), tmod(torch.tensor(idx))
    _close(cy, ty, dtype)
    ct = rng.standard_normal(tuple(ty.shape)).astype(NP_DT[dtype])
    cy.backward(cr.tensor(ct))
    ty.backward(torch.tensor(ct))
    _close(cmod.weight.grad, tmod.weight.grad, dtype)
    if "padding_idx" in kwargs:
        pad = kwargs["padding_idx"] % 7
        assert np.all(cmod.weight.grad.numpy()[pad] == 0)


def test_embedding_gradient_adds_repeated_indices():
    w = cr.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    out = F.embedding(cr.tensor([1, 3, 1, 1]), w)
    np.testing.assert_array_equal(out.detach().numpy(), np.arange(12.0).reshape(4, 3)[[1, 3, 1, 1]])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [0, 3, 0, 1])


def test_embedding_padding_row_zero_at_init_and_init_distribution():
    cr.manual_seed(0)
    e = nn.Embedding(2000, 50, padding_idx=3)
    w = e.weight.detach().numpy()
    assert np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01  # N(0, 1)
    with pytest.raises(AssertionError):
        nn.Embedding(5, 2, padding_idx=5)


def test_embedding_from_pretrained(rng):
    table = rng.standard_normal((5, 3)).astype(np.float32)
    e = nn.Embedding.from_pretrained(cr.tensor(table))
    te = torch.nn.Embedding.from_pretrained(torch.tensor(table))
    assert not e.weight.requires_grad and not te.weight.requires_grad
    idx = [[4, 0], [1, 1]]
    _close(e(cr.tensor(idx)), te(torch.tensor(idx)), "float32")
    e2 = nn.Embedding.from_pretrained(cr.tensor(table), freeze=False, padding_idx=1)
    te2 = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=False, padding_idx=1)
    assert repr(e2) == repr(te2)
    np.testing.assert_array_equal(e2.weight.detach().numpy()[1], table[1])  # not zeroed
    e2(cr.tensor(idx)).sum().backward()
    te2(torch.tensor(idx)).sum().backward()
    _close(e2.weight.grad, te2.weight.grad, "float32")
    with pytest.raises(ValueError):
        nn.Embedding.from_pretrained(cr.zeros(5))


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_matches_torch(norm_type, rng):
    table = (rng.standard_normal((6, 4)) * 2).astype(np.float64)
    tmod = torch.nn.Embedding(6, 4, max_norm=1.0, norm_type=norm_type, dtype=torch.float64)
    cmod = nn.Embedding(6, 4, max_norm=1.0, norm_type=norm_type, dtype=cr.float64)
    with torch.no_grad():
        tmod.weight.copy_(torch.tensor(table))
    _copy_from_torch(cmod, tmod)
    idx = [[0, 2, 2], [5, 0, 1]]
    cy, ty = cmod(cr.tensor(idx)), tmod(torch.tensor(idx))
    _close(cy, ty, "float64")
    _close(cmod.weight, tmod.weight, "float64")  # the looked-up rows renormalized in place
    np.testing.assert_array_equal(cmod.weight.detach().numpy()[3], table[3])  # others untouched
    cy.sum().backward()
    ty.sum().backward()
    _close(cmod.weight.grad, tmod.weight.grad, "float64")


def test_embedding_errors():
    w = cr.randn(4, 2)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(cr.tensor([4]), w)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(cr.tensor([-1]), w)
    with pytest.raises(RuntimeError, match="Long, Int"):
        F.embedding(cr.tensor([1.0]), w)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(cr.tensor([1]), w, sparse=True)


def test_one_hot_matches_torch():
    idx = np.array([[0, 3], [2, 2]])
    for n in (-1, 5):
        ours = F.one_hot(cr.tensor(idx), n)
        theirs = torch.nn.functional.one_hot(torch.tensor(idx), n)
        assert ours.dtype == cr.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(cr.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(cr.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(cr.tensor([1.0]), 3)


def test_layers_train_together(rng):
    """A small model with every layer here trains: the loss falls."""
    cr.manual_seed(0)
    emb = nn.Embedding(10, 8, padding_idx=0)
    bn = nn.BatchNorm1d(8)
    ln = nn.LayerNorm(8)
    gn = nn.GroupNorm(2, 8)
    drop = nn.Dropout(0.1)
    params = list(emb.parameters()) + list(bn.parameters()) + list(ln.parameters()) + \
        list(gn.parameters())
    idx = cr.tensor(rng.integers(1, 10, 32))
    target = cr.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    losses = []
    for _ in range(30):
        h = gn(ln(bn(emb(idx))))
        loss = ((drop(h) - target) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with cr.no_grad():
            for p in params:
                p -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
