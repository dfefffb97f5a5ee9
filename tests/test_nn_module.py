"""nn.Module bookkeeping: registration, traversal, shared parameters, buffers, modes, hooks,
state_dict round trips and errors that leave the model untouched, reprs."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class Affine(nn.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(cr.randn(n_out, n_in))
        self.bias = nn.Parameter(cr.zeros(n_out))
        self.register_buffer("calls", cr.zeros(()))
        self.register_buffer("scratch", cr.zeros(2), persistent=False)

    def forward(self, x):
        with cr.no_grad():
            self.calls += 1
        return x @ self.weight.T + self.bias


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = Affine(3, 4)
        self.b = Affine(4, 2)
        self.blocks = nn.ModuleList([Affine(2, 2), Affine(2, 2)])
        self.shared = self.a  # the same module twice: its parameters count once

    def forward(self, x):
        x = self.b(self.a(x).tanh())
        for blk in self.blocks:
            x = blk(x)
        return x


def test_registration_and_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["a.weight", "a.bias", "b.weight", "b.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.1.weight", "blocks.1.bias"]
    assert len(list(net.parameters())) == 8
    assert [n for n, _ in net.named_modules()] == ["", "a", "b", "blocks", "blocks.0", "blocks.1"]
    assert [n for n, _ in net.named_children()] == ["a", "b", "blocks"]
    assert [n for n, _ in net.named_buffers()] == ["a.calls", "a.scratch", "b.calls", "b.scratch",
                                                    "blocks.0.calls", "blocks.0.scratch",
                                                    "blocks.1.calls", "blocks.1.scratch"]
    assert net.get_submodule("blocks.1") is net.blocks[1]
    assert net.get_parameter("b.bias") is net.b.bias


def test_shared_parameter_counts_once_and_gets_both_gradients():
    lin = Affine(2, 2)
    seq = nn.Sequential(lin, nn.Identity(), lin)
    assert len(list(seq.parameters())) == 2
    x = cr.randn(5, 2)
    seq(x).sum().backward()
    w = lin.weight.detach().numpy()
    xn = x.numpy()
    h = xn @ w.T
    # d/dW of sum((h @ W.T + b) ) with h = x W^T + b: two paths into W
    g_out = np.ones((5, 2))
    grad_second = g_out.T @ (h + lin.bias.detach().numpy())
    grad_first = (g_out @ w).T @ xn
    np.testing.assert_allclose(lin.weight.grad.numpy(), grad_first + grad_second, rtol=1e-5)


def test_buffers_state_dict_and_persistence():
    net = Net()
    net(cr.randn(1, 3))
    sd = net.state_dict()
    assert "a.calls" in sd and "a.scratch" not in sd
    assert float(sd["a.calls"]) == 1.0
    assert not sd["a.weight"].requires_grad
    assert all(k in sd for k, _ in net.named_parameters())
    assert net.state_dict(keep_vars=True)["a.weight"] is net.a.weight


def test_load_state_dict_round_trip():
    src, dst = Net(), Net()
    dst.load_state_dict(src.state_dict())
    for (n1, p1), (n2, p2) in zip(src.named_parameters(), dst.named_parameters()):
        assert n1 == n2
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
    x = cr.randn(4, 3)
    np.testing.assert_allclose(src(x).detach().numpy(), dst(x).detach().numpy())


def test_load_state_dict_errors_leave_the_model_untouched():
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    bad = net.state_dict()
    bad = OrderedDict((k, cr.ones(*v.shape) * 7) for k, v in bad.items())
    bad["b.weight"] = cr.ones(3, 3)  # wrong shape
    del bad["a.bias"]  # missing
    bad["extra.weight"] = cr.ones(1)  # unexpected
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    msg = str(info.value)
    assert "Error(s) in loading state_dict for Net" in msg
    assert 'Missing key(s) in state_dict: "a.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for b.weight: copying a param with shape [3, 3] from checkpoint, the " \
           "shape in current model is [2, 4]" in msg
    for k, v in net.state_dict().items():  # nothing changed, not even the valid entries
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_load_state_dict_non_strict_reports_keys():
    net = Net()
    sd = net.state_dict()
    del sd["a.bias"]
    sd["zzz"] = cr.ones(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["a.bias"] and result.unexpected_keys == ["zzz"]


def test_train_eval_propagate():
    net = Net()
    assert net.training and net.blocks[0].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_requires_grad_():
    net = Net()
    net(cr.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_forward_hooks_and_removal():
    lin = Affine(2, 2)
    seen = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: seen.append(out.shape) or out + 1)
    out = lin(cr.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.ones((3, 2)))  # bias is 0, +1 from hook
    assert seen == [cr.Size([3, 2])]
    h1.remove()
    h2.remove()
    out = lin(cr.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), cr.ones(1, 2).numpy() @ lin.weight.detach().numpy().T,
                               rtol=1e-6)


def test_to_dtype_converts_parameters_and_buffers():
    net = Net().to(cr.float64)
    assert all(p.dtype == cr.float64 for p in net.parameters())
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert net.a.calls.dtype == cr.float64
    assert net(cr.randn(1, 3, dtype=cr.float64)).dtype == cr.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        net.to("cuda")


def test_apply_visits_every_module():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Affine", "Affine", "Affine", "Affine", "ModuleList", "Net"]


def test_attribute_errors_are_clear():
    net = Net()
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nothing'"):
        net.nothing
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'weight'"):
        net.a.weight = 3
    with pytest.raises(KeyError, match="contain"):
        net.register_buffer("a.b", cr.zeros(1))

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgot()
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_containers():
    seq = nn.Sequential(OrderedDict([("first", nn.Identity()), ("second", nn.Flatten())]))
    assert [n for n, _ in seq.named_children()] == ["first", "second"]
    assert seq[-1] is seq.second and len(seq[0:1]) == 1
    assert tuple(seq(cr.ones(2, 3, 4)).shape) == (2, 12)
    md = nn.ModuleDict({"x": nn.Identity()})
    md["y"] = nn.Flatten(0)
    assert list(md.keys()) == ["x", "y"] and "y" in md
    pl = nn.ParameterList([nn.Parameter(cr.ones(1)), cr.zeros(2)])
    holder = nn.Module()
    holder.plist = pl
    assert [n for n, _ in holder.named_parameters()] == ["plist.0", "plist.1"]
    assert tuple(nn.Unflatten(1, (2, 3))(cr.ones(4, 6)).shape) == (4, 2, 3)


def test_repr_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Identity(), nn.Flatten(0, 1), nn.Unflatten(1, (2, 2)),
                         nn.Sequential(nn.Identity()))
    theirs = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Flatten(0, 1),
                                 torch.nn.Unflatten(1, (2, 2)), torch.nn.Sequential(torch.nn.Identity()))
    assert repr(ours) == repr(theirs)


def test_parameter_repr_and_pickle_refused():
    p = nn.Parameter(cr.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    import pickle
    with pytest.raises(TypeError, match="safetensors"):
        pickle.dumps(Net())
