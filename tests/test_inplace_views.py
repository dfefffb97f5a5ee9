"""In-place changes through views rewrite the base's history (PyTorch's CopySlices), and
views made before an in-place change get their history renewed: values and gradients
equal PyTorch's."""
import numpy as np
import pytest

import chainrule as cr


def _h_add_col(lib, x):
    h = x * 2
    h[:, 0] += 1
    return h


def _view_mul(lib, x):
    h = x * 2
    v = h[0]
    v.mul_(3)
    return h * h


def _flat_view(lib, x):
    h = x + 1
    h.view(-1)[::2].mul_(5)
    return h


def _transposed_slice(lib, x):
    h = x * 2
    v = h.t()[1:3]
    v.mul_(x[:, 1:3].t())  # the other operand requires grad too
    return h


def _zero_row(lib, x):
    h = x * x
    h[0].zero_()
    return h


def _view_before_base_change(lib, x):
    h = x * 2
    v = h[0]
    h.mul_(3)          # changes v's values too: v must differentiate as h[0] * 3
    return v * x[0]


def _sibling_view(lib, x):
    h = x * 2
    a = h[:, :2]
    b = h[:, 1:]       # overlaps a in column 1
    a.add_(x[:, :2] ** 2)
    return b.sum(0) * 2 + h[2, :2]


def _buffer_of_constants(lib, x):
    buf = lib.zeros(4, 3, dtype=x.dtype)  # does not require grad: gains a history
    buf[1:3].copy_(x[:2] * 3)
    buf.view(-1)[0:2].add_(x[3, :2])
    return buf


def _nested_views(lib, x):
    h = x * 3
    v = h.reshape(2, 6)[1].reshape(2, 3)
    v[:, 1] *= x[0, :2]
    return h


def _setitem_on_view(lib, x):
    h = x * 1
    h[1][2] = x[0, 0] * 10
    return h


PATTERNS = [_h_add_col, _view_mul, _flat_view, _transposed_slice, _zero_row,
            _view_before_base_change, _sibling_view, _buffer_of_constants, _nested_views,
            _setitem_on_view]


def _run(lib, fn, x0):
    x = lib.tensor(x0, requires_grad=True)
    out = fn(lib, x)
    weights = lib.tensor(np.arange(np.prod(out.shape), dtype=np.float64).reshape(tuple(out.shape)) / 7)
    (out * weights).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("fn", PATTERNS, ids=lambda f: f.__name__.strip("_"))
def test_matches_pytorch(fn):
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(0).uniform(0.5, 1.5, (4, 3))
    out_c, g_c = _run(cr, fn, x0)
    out_t, g_t = _run(torch, fn, x0)
    np.testing.assert_allclose(out_c, out_t, rtol=1e-12)
    np.testing.assert_allclose(g_c, g_t, rtol=1e-12, atol=1e-12)


def test_against_finite_differences_without_torch():
    from _gradcheck import finite_difference
    x0 = np.random.default_rng(1).uniform(0.5, 1.5, (4, 3))

    def f():
        return float((_sibling_view(cr, cr.tensor(x0)) * 1.5).sum())

    x = cr.tensor(x0, requires_grad=True)
    (_sibling_view(cr, x) * 1.5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), finite_difference(f, x0), rtol=1e-6, atol=1e-8)


def test_a_saved_output_changed_through_a_view_is_caught_as_in_pytorch():
    x = cr.ones(2, 3, requires_grad=True)
    h = x.exp()              # exp saves its output
    h[0].mul_(2)
    with pytest.raises(RuntimeError, match="output of ExpBackward0.*is at version 1"):
        h.sum().backward()


def test_the_base_records_the_write_and_old_saves_are_caught():
    x = cr.ones(2, 3, requires_grad=True)
    h = x * 2
    saved = h * h            # saves h
    h[0].add_(1)
    assert h.grad_fn.name() == "IndexPutBackward0" and h[0, 0].item() == 3.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved.sum().backward()


def test_refusals_are_clear():
    w = cr.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0].add_(1)
    h = w * 2
    d = h.detach()
    with pytest.raises(RuntimeError, match="made by detach"):
        d[0].add_(w[0])
    with cr.no_grad():
        w[0].add_(1)         # allowed: not recorded
    assert w[0, 0].item() == 2.0
