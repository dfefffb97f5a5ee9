"""Convolution and pooling layers against PyTorch's: parameters, default initialisation,
reprs, state_dict keys, outputs and gradients with weights copied across."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

LAYERS = [
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 9, 8)),
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=2, padding=1,
                    dilation=(1, 2), groups=2, bias=False), (2, 4, 11, 12)),
    ("Conv2d", dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"), (1, 2, 7, 7)),
    ("Conv1d", dict(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=2), (4, 3, 10)),
    ("ConvTranspose2d", dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1,
                             output_padding=1), (2, 3, 5, 4)),
    ("ConvTranspose1d", dict(in_channels=2, out_channels=3, kernel_size=2, stride=3), (2, 2, 6)),
    ("MaxPool2d", dict(kernel_size=2), (2, 3, 8, 9)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, dilation=1), (1, 2, 9, 9)),
    ("MaxPool1d", dict(kernel_size=3, stride=1), (2, 3, 8)),
    ("AvgPool2d", dict(kernel_size=2, stride=1, padding=1), (2, 2, 5, 6)),
    ("AvgPool1d", dict(kernel_size=2), (2, 3, 9)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 2)), (2, 3, 7, 5)),
    ("AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 9)),
]


@pytest.mark.parametrize("name,kwargs,shape", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_matches_torch(name, kwargs, shape, dtype):
    ours = getattr(nn, name)(**kwargs)
    theirs = getattr(torch.nn, name)(**kwargs)
    if dtype == "float64":
        ours, theirs = ours.double(), theirs.double()
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in ours.state_dict().items():
        assert tuple(v.shape) == tuple(theirs.state_dict()[k].shape), k
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = ours(xc), theirs(xt)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), **tol)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(dtype)
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), **tol)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=n, **tol)


@pytest.mark.parametrize("cls,kwargs", [
    (nn.Conv2d, dict(in_channels=4, out_channels=8, kernel_size=3)),
    (nn.Conv1d, dict(in_channels=6, out_channels=3, kernel_size=5, groups=3)),
    (nn.ConvTranspose2d, dict(in_channels=4, out_channels=6, kernel_size=2)),
])
def test_default_initialisation_bounds(cls, kwargs):
    cr.manual_seed(0)
    layer = cls(**kwargs)
    w = layer.weight.detach().numpy()
    # kaiming_uniform_(a=sqrt(5)) on fan_in = weight.shape[1] * kernel elements
    fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
    bound = math.sqrt(6 / ((1 + 5) * fan_in))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    b = layer.bias.detach().numpy()
    assert np.abs(b).max() <= 1 / math.sqrt(fan_in)


def test_conv_layer_errors_name_the_problem():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="reflection")
    with pytest.raises(RuntimeError, match=r"\[2, 5, 8, 8\]"):
        nn.Conv2d(3, 4, 3)(cr.ones(2, 5, 8, 8))


def test_cnn_state_dict_moves_to_torch_and_back():
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 3))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
    back = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 3))
    back.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(back(cr.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
