"""grad_fn names: composed ops print under PyTorch's names (MeanBackward0, MseLossBackward0,
SelectBackward0...), checked against PyTorch itself."""
import numpy as np
import pytest

import chainrule as cr


def exprs(L, F):
    x = L.tensor(np.random.default_rng(0).uniform(0.1,0.9,(4,3)), requires_grad=True)
    y = L.tensor(np.random.default_rng(1).uniform(0.1,0.9,(4,3)))
    v = L.tensor(np.ones(3), requires_grad=True)
    t = L.tensor([0,1,2,1])
    return {
     "mean": x.mean(), "mean_dim": x.mean(1), "mse": F.mse_loss(x,y), "mse_sum": F.mse_loss(x,y,reduction="sum"),
     "mse_none": F.mse_loss(x,y,reduction="none"), "l1": F.l1_loss(x,y), "smooth_l1": F.smooth_l1_loss(x,y),
     "huber": F.huber_loss(x,y), "ce": F.cross_entropy(x,t), "nll": F.nll_loss(x,t), "bce": F.binary_cross_entropy(x,y),
     "bce_logits": F.binary_cross_entropy_with_logits(x,y), "kl": F.kl_div(x,y,reduction="batchmean"),
     "mv": x@v, "dot": v@v, "mm": x@x.T, "bmm": x.reshape(2,2,3)@x.reshape(2,3,2), "clamp_min": x.clamp(min=0.5),
     "clamp": x.clamp(0.2,0.5), "relu": x.relu(), "softmax": F.softmax(x,1), "log_softmax": F.log_softmax(x,1),
     "sum": x.sum(), "sum_dim": x.sum(0), "var": x.var(), "std": x.std(), "linear": F.linear(x, x), "view": x.view(12),
     "reshape": x.reshape(12), "T": x.T, "t": x.t(), "transpose": x.transpose(0,1), "getitem": x[0], "unsqueeze": x.unsqueeze(0),
     "squeeze": x.unsqueeze(0).squeeze(0), "sigmoid": x.sigmoid(), "tanh": x.tanh(), "pow": x**2, "rsub": 1-x, "radd": 1+x,
     "neg": -x, "div_s": x/2, "max": x.max(), "max_dim": x.max(1)[0], "norm": x.norm(), "expand": v.expand(4,3), "cat": L.cat([x,x]),
     "stack": L.stack([x,x]), "flatten": x.flatten(), "permute": x.permute(1,0), "abs": x.abs(), "exp": x.exp(), "log": x.log(),
     "where": L.where(x>0.5, x, y), "softplus": F.softplus(x), "gelu": F.gelu(x), "silu": F.silu(x), "leaky": F.leaky_relu(x),
     "dropout_eval": F.dropout(x, 0.5, training=False), "logsumexp": x.logsumexp(1), "cumsum": x.cumsum(0), "prod": x.prod(),
     "amax": x.amax(1), "sqrt": x.sqrt(), "clone": x.clone(), "index_select": x.index_select(0, t), "gather": x.gather(1, t.reshape(4,1)),
     "masked_fill": x.masked_fill(x>0.5, 0.), "repeat": x.repeat(2,1), "flip": x.flip(0), "roll": x.roll(1,0), "pad": F.pad(x,(1,1)),
     "split0": x.split(2)[0], "chunk0": x.chunk(2)[0], "maximum": L.maximum(x,y), "minimum": L.minimum(x,y), "addmm_like": x@x.T+1,
    }


# torch's own implementation detail, not an op name a user writes
_DIFFERENT_ON_PURPOSE = {"bmm"}


def test_grad_fn_names_match_pytorch():
    torch = pytest.importorskip("torch")
    theirs = exprs(torch, torch.nn.functional)
    ours = exprs(cr, cr.nn.functional)
    wrong = {}
    for key, t in theirs.items():
        if key in _DIFFERENT_ON_PURPOSE:
            continue
        expected = type(t.grad_fn).__name__ if t.grad_fn is not None else None
        got = ours[key].grad_fn.name() if ours[key].grad_fn is not None else None
        if expected != got:
            wrong[key] = (expected, got)
    assert not wrong
    assert "grad_fn=<MeanBackward0>" in repr(ours["mean"])


def test_renaming_never_touches_an_input_node():
    x = cr.ones(3, requires_grad=True)
    y = x * 2
    same = y.squeeze()           # nothing to squeeze: may return a view node, never y's node
    assert y.grad_fn.name() == "MulBackward0"
    assert same.grad_fn.name() in ("SqueezeBackward0", "MulBackward0")
