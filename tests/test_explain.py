"""autograd.explain: the chain rule printed node by node (seed 004 and seed 001)."""
import io

import numpy as np
import pytest

import chainrule as torch


def _seed004():
    w1 = torch.tensor(10.0, requires_grad=True)
    b1 = torch.tensor(1.0, requires_grad=True)
    w2 = torch.tensor(20.0, requires_grad=True)
    x = torch.tensor(1.0)
    label = torch.tensor(500.0)
    y1 = w1 * x + b1
    y2 = y1 * w2
    y3 = 2 * y2
    loss = torch.nn.MSELoss()(y3, label)
    buf = io.StringIO()
    grads = torch.autograd.explain(loss, [w1, b1, w2], file=buf)
    return buf.getvalue(), grads, (w1, b1, w2, loss)


def test_seed004_derivation_is_printed_step_by_step():
    text, grads, (w1, b1, w2, loss) = _seed004()
    lines = text.strip().splitlines()
    # the seed's hand derivation, in the order the backward pass applies it
    assert "∂loss/∂y2 = ∂loss/∂y3 · ∂y3/∂y2 = -120 · 2 = -240" in text
    assert "∂loss/∂y1 = ∂loss/∂y2 · ∂y2/∂y1 = -240 · (w2 = 20) = -4800" in text
    assert "∂loss/∂w2 = ∂loss/∂y2 · ∂y2/∂w2 = -240 · (y1 = 11) = -2640" in text
    assert "∂loss/∂b1 = ∂loss/∂y1 · ∂y1/∂b1 = -4800 · 1 = -4800" in text
    assert "y2 = y1 * w2 = 220" in text
    assert text.index("y3 = ") < text.index("y2 = ") < text.index("y1 = ")
    # and it ends with the gradients backward() would store
    assert lines[-1] == "w1.grad = -4800, b1.grad = -4800, w2.grad = -2640"
    assert [g.item() for g in grads] == [-4800.0, -4800.0, -2640.0]
    # .grad untouched, graph kept: backward still works and agrees
    assert w1.grad is None
    loss.backward()
    assert (w1.grad.item(), b1.grad.item(), w2.grad.item()) == (-4800.0, -4800.0, -2640.0)


def test_two_paths_add_seed001():
    i = torch.tensor(2.0, requires_grad=True)
    h = torch.tensor(3.0, requires_grad=True)
    j = i + h
    k = j * i
    buf = io.StringIO()
    gi, gh = torch.autograd.explain(k, {"i": i, "h": h}, file=buf)
    text = buf.getvalue()
    assert "∂k/∂i = ∂k/∂k · ∂k/∂i = 1 · (j = 5) = 5" in text
    assert "∂k/∂i = ∂k/∂j · ∂j/∂i = 2 · 1 = 2" in text
    assert text.strip().splitlines()[-1] == "i.grad = 5 (via k) + 2 (via j) = 7, h.grad = 2"
    assert (gi.item(), gh.item()) == (7.0, 2.0)


def test_reused_intermediate_shows_the_sum():
    x = torch.tensor(3.0, requires_grad=True)
    u = x * 2
    v = u * u
    buf = io.StringIO()
    torch.autograd.explain(v, x, file=buf)
    text = buf.getvalue()
    assert "∂v/∂u = 6 (via v) + 6 (via v) = 12" in text and "used 2 times" in text


def test_tensors_are_summarised_and_grads_match_backward():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    x = torch.randn(5, 4)
    y = torch.randn(5, 2)
    loss = torch.nn.functional.mse_loss(model(x), y)
    buf = io.StringIO()
    grads = torch.autograd.explain(loss, dict(model.named_parameters()), file=buf)
    text = buf.getvalue()
    assert "tensor[5, 3] norm" in text and "(MmBackward0)" in text
    assert "summed over the broadcast dimensions" in text  # the bias gradient
    assert "1 where" in text  # relu's local derivative
    assert text.strip().splitlines()[-1].startswith("2.bias.grad = tensor[2] norm")
    assert max(len(line) for line in text.splitlines()) < 400  # summaries, not dumps
    loss.backward()
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-6)


def test_default_inputs_are_all_leaves_and_unused_input_is_reported():
    a = torch.tensor(1.5, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    out = (a * a).exp()
    buf = io.StringIO()
    (ga,) = torch.autograd.explain(out, file=buf)
    assert ga.item() == pytest.approx(2 * 1.5 * np.exp(1.5 ** 2), rel=1e-6)
    buf = io.StringIO()
    ga, gb = torch.autograd.explain(out, [a, b], file=buf)
    assert gb is None and "b.grad = None (out does not depend on b)" in buf.getvalue()


def test_errors_are_clear():
    w = torch.tensor(2.0, requires_grad=True)
    loss = w * w
    loss.backward()
    with pytest.raises(RuntimeError, match="freed by a backward.*retain_graph=True"):
        torch.autograd.explain(loss, w)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.explain(torch.tensor(1.0), w)
    with pytest.raises(TypeError, match="must be a Tensor"):
        torch.autograd.explain(1.0, w)


def test_main_command_explain(tmp_path, capsys):
    pytest.importorskip("graphviz")
    from chainrule.__main__ import main
    assert main(["--explain", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "w1.grad = -4800, b1.grad = -4800, w2.grad = -2640" in text
    assert "after SGD(lr=0.005).step(): w1 = 34, b1 = 25, w2 = 33.2" in text
    assert "matches the seed's numbers" in text
    pictures = list(tmp_path.glob("seed004_graph.*"))
    assert len(pictures) == 1
    content = pictures[0].read_text()
    assert "MulBackward0" in content and "w2" in content


def test_constant_operands_of_add_and_sub_are_recovered():
    text, _, _ = _seed004()
    assert "= y3 - 500 = -60    (SubBackward0)" in text
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    s = a + torch.tensor([10.0, 20.0])   # s is named, so its value is known
    out = s.sum()
    buf = io.StringIO()
    torch.autograd.explain(out, a, file=buf)
    assert "s = a + tensor[2] norm 22.36 [10, 20] = tensor[2]" in buf.getvalue()
    t = (a - torch.tensor([10.0, 20.0])).sum()  # the difference's value is unknown
    buf = io.StringIO()
    torch.autograd.explain(t, a, file=buf)
    assert "t1 = a - (a constant)    (SubBackward0)" in buf.getvalue()
