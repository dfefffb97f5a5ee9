"""detect_anomaly / set_detect_anomaly and record_gradients."""
import numpy as np
import pytest

import chainrule as torch
from chainrule.ops.primitive import _ANOMALY


def test_nan_in_backward_names_the_op_and_the_forward_line():
    x = torch.tensor([0.0, -1.0, 4.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        y = x.sqrt()                      # sqrt(-1) = nan forward, inf/nan gradient backward
        loss = y.sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert "Function 'SqrtBackward0' returned" in msg and "values in its 0th output" in msg
    assert "y = x.sqrt()" in msg and "test_anomaly.py" in msg  # the user's forward line
    assert "Hint:" in msg
    assert not torch.autograd.is_anomaly_enabled()


def test_inf_is_caught_too_and_the_error_names_the_op():
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        loss = torch.log(x).sum()
        with pytest.raises(RuntimeError, match="Function 'LogBackward0' returned inf values"):
            loss.backward()


def test_finite_backward_passes_and_matches_normal_mode():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        (x.log() * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.log([1.0, 2.0]) + 1, rtol=1e-6)


def test_outside_the_mode_nothing_is_recorded_or_checked():
    x = torch.tensor([0.0], requires_grad=True)
    y = x.sqrt()
    assert y.grad_fn.trace is None
    y.sum().backward()  # inf gradient, no error: as in PyTorch without anomaly mode
    assert np.isinf(x.grad.numpy()).all()
    with torch.autograd.detect_anomaly():
        z = x.sqrt()
    assert z.grad_fn.trace and any("z = x.sqrt()" in line for line in z.grad_fn.trace)


def test_node_recorded_before_the_mode_says_so():
    x = torch.tensor([0.0], requires_grad=True)
    y = x.sqrt().sum()
    with torch.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="recorded before anomaly detection"):
            y.backward()


def test_set_detect_anomaly_call_and_context_and_check_nan_flag():
    assert not torch.autograd.is_anomaly_enabled()
    torch.autograd.set_detect_anomaly(True)
    try:
        assert torch.autograd.is_anomaly_enabled() and _ANOMALY.enabled
        assert torch.autograd.is_anomaly_check_nan_enabled()
    finally:
        torch.autograd.set_detect_anomaly(False)
    assert not torch.autograd.is_anomaly_enabled() and not _ANOMALY.enabled
    with torch.autograd.set_detect_anomaly(True, check_nan=False):
        assert torch.autograd.is_anomaly_enabled()
        assert not torch.autograd.is_anomaly_check_nan_enabled()
        x = torch.tensor([0.0], requires_grad=True)
        x.sqrt().sum().backward()  # stacks kept, but no check: no error
    assert not torch.autograd.is_anomaly_enabled()


def test_detect_anomaly_as_decorator_and_with_a_custom_function():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    @torch.autograd.detect_anomaly()
    def run():
        x = torch.tensor([1.0], requires_grad=True)
        out = Bad.apply(x)
        out.sum().backward()

    with pytest.raises(RuntimeError, match="returned nan values") as info:
        run()
    assert "out = Bad.apply(x)" in str(info.value)


def test_record_gradients_keeps_each_nodes_incoming_gradient():
    i = torch.tensor(2.0, requires_grad=True)
    h = torch.tensor(3.0, requires_grad=True)
    j = i + h
    k = j * i
    with torch.autograd.record_gradients():
        k.backward()
    assert float(k.grad_fn.grad_output) == 1.0
    assert float(j.grad_fn.grad_output) == 2.0  # dk/dj = i
    # outside the context nothing is kept
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 3
    y.backward()
    assert y.grad_fn.grad_output is None
