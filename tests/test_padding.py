"""F.pad's reflect/replicate/circular modes, the padding layers and Conv padding_mode,
against PyTorch."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

MODES = ["reflect", "replicate", "circular"]
CASES = [((1, 2), (2, 3, 5)), ((2, 1), (3, 5)), ((1, 2, 3, 1), (2, 3, 4, 5)),
         ((0, 1, 2, 0), (3, 4, 5)), ((1, 1, 2, 0, 1, 2), (1, 2, 3, 4, 5))]


def _compare(fn_c, fn_t, shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = fn_c(xc), fn_t(xt)
    w = np.random.default_rng(seed + 1).standard_normal(tuple(yt.shape))
    (yc * cr.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    return yc, yt


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pad,shape", CASES)
def test_pad_modes_match_pytorch(mode, pad, shape):
    yc, yt = _compare(lambda x: cr.nn.functional.pad(x, pad, mode=mode),
                      lambda x: torch.nn.functional.pad(x, pad, mode=mode), shape)
    if mode != "circular":
        assert yc.grad_fn.name() == type(yt.grad_fn).__name__


def test_pad_mode_errors():
    x = cr.ones(1, 2, 3)
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        cr.nn.functional.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        cr.nn.functional.pad(x, (4, 0), mode="circular")
    with pytest.raises(NotImplementedError, match="last 1, 2 or 3 dimensions"):
        cr.nn.functional.pad(cr.ones(3), (1, 1, 1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="use 'constant', 'reflect'"):
        cr.nn.functional.pad(x, (1, 1), mode="mirror")


@pytest.mark.parametrize("name,args", [
    ("ZeroPad2d", (1,)), ("ConstantPad1d", ((2, 1), 3.5)), ("ReflectionPad2d", ((1, 2, 0, 1),)),
    ("ReplicationPad1d", (2,)), ("CircularPad2d", (1,)), ("ReflectionPad3d", (1,)),
    ("ReplicationPad3d", ((1, 0, 1, 0, 0, 1),)), ("ZeroPad1d", ((0, 2),)),
])
def test_padding_layers(name, args):
    shape = {"1": (2, 3, 5), "2": (2, 3, 4, 5), "3": (1, 2, 3, 4, 5)}[name[-2]]
    mc, mt = getattr(cr.nn, name)(*args), getattr(torch.nn, name)(*args)
    _compare(mc, mt, shape)
    assert repr(mc) == repr(mt)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(padding=(2, 1), stride=2),
                                    dict(padding="same", dilation=2)])
def test_conv_padding_modes_match_pytorch(mode, kwargs):
    cr.manual_seed(0)
    mc = cr.nn.Conv2d(2, 3, 3, padding_mode=mode, **kwargs).double()
    mt = torch.nn.Conv2d(2, 3, 3, padding_mode=mode, **kwargs).double()
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(mc.weight.detach().numpy()))
        mt.bias.copy_(torch.tensor(mc.bias.detach().numpy()))
    _compare(mc, mt, (2, 2, 6, 7))
    np.testing.assert_allclose(mc.weight.grad.numpy(), mt.weight.grad.numpy(), rtol=1e-10)
    assert repr(mc) == repr(mt)


def test_conv1d_padding_mode_and_errors():
    mc = cr.nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular").double()
    mt = torch.nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular").double()
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(mc.weight.detach().numpy()))
        mt.bias.copy_(torch.tensor(mc.bias.detach().numpy()))
    _compare(mc, mt, (2, 1, 6))
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        cr.nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        cr.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")


# ----------------------------------------------------------------------------- adaptive max pool

@pytest.mark.parametrize("shape,size", [((2, 3, 7, 5), (3, 2)), ((2, 3, 8, 6), 2), ((3, 5, 4), (1, 1)),
                                        ((1, 2, 6, 9), (None, 4)), ((2, 2, 5, 5), 5)])
def test_adaptive_max_pool2d_matches_pytorch(shape, size):
    yc, yt = _compare(lambda x: cr.nn.functional.adaptive_max_pool2d(x, size),
                      lambda x: torch.nn.functional.adaptive_max_pool2d(x, size), shape)
    a = np.random.default_rng(0).standard_normal(shape)
    _, ic = cr.nn.AdaptiveMaxPool2d(size, return_indices=True)(cr.tensor(a))
    _, it = torch.nn.AdaptiveMaxPool2d(size, return_indices=True)(torch.tensor(a))
    np.testing.assert_array_equal(ic.numpy(), it.numpy())
    assert repr(cr.nn.AdaptiveMaxPool2d(size)) == repr(torch.nn.AdaptiveMaxPool2d(size))


@pytest.mark.parametrize("shape,size", [((2, 3, 7), 3), ((3, 10), 4), ((1, 1, 5), 5)])
def test_adaptive_max_pool1d_matches_pytorch(shape, size):
    _compare(lambda x: cr.nn.AdaptiveMaxPool1d(size)(x),
             lambda x: torch.nn.AdaptiveMaxPool1d(size)(x), shape)


def test_adaptive_max_pool_ties_go_to_the_first_and_errors():
    x = cr.tensor([[[[1.0, 3.0, 3.0], [0.0, 3.0, 2.0]]]], requires_grad=True)
    out, idx = cr.nn.functional.adaptive_max_pool2d(x, 1, return_indices=True)
    out.sum().backward()
    assert idx.item() == 1 and x.grad.numpy().ravel().tolist() == [0, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="output_size must be positive"):
        cr.nn.functional.adaptive_max_pool2d(x, 0)
    with pytest.raises(NotImplementedError, match="inside vmap"):
        cr.func.vmap(lambda r: cr.nn.functional.adaptive_max_pool1d(r, 1))(cr.ones(2, 1, 3))
