"""Errors and warnings a person can act on.

Each mistake raises the exception type PyTorch raises (or, where noted, a standard type),
and the message names the operation, the shapes or dtypes involved, and what to do.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.tensor import ChainruleHint


def message_of(excinfo) -> str:
    return str(excinfo.value)


def assert_mentions(msg: str, *needles: str) -> None:
    low = msg.lower()
    for n in needles:
        assert n.lower() in low, f"{n!r} not in message: {msg!r}"


def assert_hint(msg: str, *alternatives: str) -> None:
    """The message suggests a fix: at least one of the given phrases appears."""
    low = msg.lower()
    assert any(a.lower() in low for a in alternatives), f"no hint {alternatives} in {msg!r}"


def torch_raises(fn):
    """The exception type PyTorch raises for the same mistake (None if it raises nothing)."""
    torch = pytest.importorskip("torch")
    try:
        fn(torch)
    except Exception as exc:  # noqa: BLE001
        return type(exc)
    return None


# --------------------------------------------------------------------------- backward misuse


def test_nonscalar_backward_without_gradient():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as ei:
        y.backward()
    msg = message_of(ei)
    assert_mentions(msg, "scalar", "[2, 3]")
    assert_hint(msg, ".sum()", "gradient=")
    assert x.grad is None


def test_nonscalar_backward_type_matches_torch():
    t = torch_raises(lambda lib: (lib.ones(3, requires_grad=True) * 2).backward())
    assert t is RuntimeError
    with pytest.raises(t):
        (cr.ones(3, requires_grad=True) * 2).backward()


def test_second_backward_through_freed_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError) as ei:
        y.backward()
    msg = message_of(ei)
    assert_mentions(msg, "second time", "ExpBackward0")
    assert_hint(msg, "retain_graph=True")


def test_autograd_grad_through_freed_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    cr.autograd.grad(y, x)
    with pytest.raises(RuntimeError) as ei:
        cr.autograd.grad(y, x)
    assert_hint(message_of(ei), "retain_graph=True")


def test_backward_on_tensor_without_grad():
    x = cr.tensor([1.0, 2.0])
    y = (x * 3).sum()
    with pytest.raises(RuntimeError) as ei:
        y.backward()
    msg = message_of(ei)
    assert_mentions(msg, "does not require grad")
    assert_hint(msg, "requires_grad=True", "requires_grad_()")


def test_backward_inside_no_grad_result():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = (x * 3).sum()
    with pytest.raises(RuntimeError) as ei:
        y.backward()
    assert_hint(message_of(ei), "no_grad")


def test_wrong_gradient_shape():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as ei:
        y.backward(cr.ones(3))
    msg = message_of(ei)
    assert_mentions(msg, "shape", "[3]", "[2]")
    assert x.grad is None


def test_wrong_grad_outputs_shape_in_autograd_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as ei:
        cr.autograd.grad(y, x, grad_outputs=cr.ones(2, 2))
    assert_mentions(message_of(ei), "[2, 2]", "[2]")


def test_grad_of_input_that_does_not_require_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError) as ei:
        cr.autograd.grad((x * c).sum(), c)
    assert_mentions(message_of(ei), "does not require grad")


# --------------------------------------------------------------------------- in-place and versions


def test_inplace_on_saved_output_names_exp_and_versions():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError) as ei:
        y.sum().backward()
    msg = message_of(ei)
    assert_mentions(msg, "modified by an inplace operation", "ExpBackward0", "[2]")
    assert re.search(r"version 1\b", msg) and re.search(r"expected version 0\b", msg), msg
    assert_hint(msg, "clone()", "out-of-place")


def test_inplace_on_saved_input_names_mul():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x + 1
    y = h * x            # MulBackward0 saves h and x
    h.mul_(2)
    with pytest.raises(RuntimeError) as ei:
        y.sum().backward()
    msg = message_of(ei)
    assert_mentions(msg, "MulBackward0", "[3]", "float32")
    assert re.search(r"version 1\b", msg) and re.search(r"expected version 0\b", msg), msg


def test_inplace_twice_reports_current_version():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.sin()
    z = y * y
    y.detach().add_(1)
    y.detach().add_(1)
    with pytest.raises(RuntimeError) as ei:
        z.sum().backward()
    msg = message_of(ei)
    assert re.search(r"version 2\b", msg) and "expected version 0" in msg, msg


def test_inplace_on_saved_tensor_in_function():
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Square.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError) as ei:
        y.sum().backward()
    assert_mentions(message_of(ei), "modified by an inplace operation", "version")


def test_inplace_on_leaf_requiring_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as ei:
        x.add_(1)
    msg = message_of(ei)
    assert_mentions(msg, "add_", "leaf", "requires grad", "in-place")
    assert_hint(msg, "no_grad")
    np.testing.assert_array_equal(np.asarray(x.detach()), [1.0, 2.0])  # untouched
    with pytest.raises(RuntimeError):
        x += 1
    with pytest.raises(RuntimeError):
        x[0] = 5.0
    # allowed under no_grad
    with cr.no_grad():
        x.add_(1)
    np.testing.assert_array_equal(np.asarray(x.detach()), [2.0, 3.0])


def test_inplace_leaf_type_matches_torch():
    t = torch_raises(lambda lib: lib.ones(2, requires_grad=True).mul_(2))
    with pytest.raises(t):
        cr.ones(2, requires_grad=True).mul_(2)


# --------------------------------------------------------------------------- shapes


def test_broadcast_mismatch_names_both_shapes():
    a = cr.ones(2, 3)
    b = cr.ones(4)
    # PyTorch raises RuntimeError; chainrule raises a standard type (see report)
    with pytest.raises((RuntimeError, ValueError)) as ei:
        a + b
    msg = message_of(ei)
    assert_mentions(msg, "add", "[2, 3]", "[4]", "broadcast")
    assert_hint(msg, "reshape", "unsqueeze")


@pytest.mark.parametrize("op, name", [(lambda a, b: a * b, "mul"), (lambda a, b: a - b, "sub"),
                                      (lambda a, b: a / b, "div")])
def test_broadcast_mismatch_other_ops(op, name):
    with pytest.raises((RuntimeError, ValueError)) as ei:
        op(cr.ones(3, 5), cr.ones(3, 4))
    assert_mentions(message_of(ei), name, "[3, 5]", "[3, 4]")


def test_broadcast_mismatch_with_grad():
    a = cr.ones(2, 3, requires_grad=True)
    with pytest.raises((RuntimeError, ValueError)) as ei:
        a * cr.ones(2)
    assert_mentions(message_of(ei), "[2, 3]", "[2]")


def test_mm_shape_mismatch():
    a, b = cr.ones(2, 3), cr.ones(4, 5)
    with pytest.raises(RuntimeError) as ei:
        cr.mm(a, b)
    msg = message_of(ei)
    assert_mentions(msg, "2x3", "4x5")
    assert_hint(msg, "transpose")


def test_matmul_shape_mismatch():
    a, b = cr.ones(2, 3), cr.ones(4, 5)
    with pytest.raises(RuntimeError) as ei:
        a @ b
    msg = message_of(ei)
    assert_mentions(msg, "matmul", "[2, 3]", "[4, 5]")
    assert_hint(msg, "transpose", ".T")


def test_matmul_mismatch_type_matches_torch():
    t = torch_raises(lambda lib: lib.ones(2, 3) @ lib.ones(4, 5))
    with pytest.raises(t):
        cr.ones(2, 3) @ cr.ones(4, 5)


def test_reshape_incompatible():
    x = cr.zeros(2, 3)
    with pytest.raises(RuntimeError) as ei:
        x.reshape(4, 2)
    msg = message_of(ei)
    assert_mentions(msg, "reshape", "[4, 2]", "6")
    with pytest.raises(RuntimeError) as ei:
        x.view(5)
    assert_mentions(message_of(ei), "[5]", "6")


def test_reshape_error_type_matches_torch():
    t = torch_raises(lambda lib: lib.zeros(2, 3).reshape(4, 2))
    with pytest.raises(t):
        cr.zeros(2, 3).reshape(4, 2)


def test_cat_mismatched_shapes():
    with pytest.raises(RuntimeError) as ei:
        cr.cat([cr.zeros(2, 3), cr.zeros(2, 4)])
    msg = message_of(ei)
    assert_mentions(msg, "cat", "[2, 3]", "[2, 4]")


def test_cat_bad_dim():
    with pytest.raises(IndexError) as ei:
        cr.cat([cr.zeros(2, 3), cr.zeros(2, 3)], dim=2)
    assert_mentions(message_of(ei), "cat", "range", "2")


def test_index_out_of_range():
    x = cr.zeros(3, 4)
    with pytest.raises(IndexError) as ei:
        x[5]
    msg = message_of(ei)
    assert_mentions(msg, "5", "size 3", "[3, 4]")
    with pytest.raises(IndexError) as ei:
        x[1, 7]
    assert_mentions(message_of(ei), "7", "size 4")
    with pytest.raises(IndexError):
        x[-4]


def test_index_out_of_range_type_matches_torch():
    t = torch_raises(lambda lib: lib.zeros(3)[3])
    assert t is IndexError
    with pytest.raises(t):
        cr.zeros(3)[3]


def test_dim_out_of_range():
    with pytest.raises(IndexError) as ei:
        cr.zeros(2, 3).sum(dim=3)
    assert_mentions(message_of(ei), "3")


# --------------------------------------------------------------------------- dtypes / numpy


def test_requires_grad_on_integer_tensor():
    with pytest.raises(RuntimeError) as ei:
        cr.tensor([1, 2, 3], requires_grad=True)
    msg = message_of(ei)
    assert_mentions(msg, "floating point", "int64")
    assert_hint(msg, ".float()", "dtype=")
    x = cr.tensor([1, 2])
    with pytest.raises(RuntimeError):
        x.requires_grad_()
    with pytest.raises(RuntimeError):
        x.requires_grad = True
    assert not x.requires_grad


def test_requires_grad_integer_type_matches_torch():
    t = torch_raises(lambda lib: lib.tensor([1, 2], requires_grad=True))
    with pytest.raises(t):
        cr.tensor([1, 2], requires_grad=True)


def test_numpy_on_tensor_requiring_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as ei:
        x.numpy()
    assert_hint(message_of(ei), "detach().numpy()")
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_item_on_many_elements():
    with pytest.raises(RuntimeError) as ei:
        cr.ones(3).item()
    assert_mentions(message_of(ei), "3")


def test_bool_of_many_elements():
    with pytest.raises(RuntimeError):
        bool(cr.ones(2))


# --------------------------------------------------------------------------- warnings


def test_leaf_backward_with_tensor_warns_hint_seed_002():
    x = cr.tensor(1.0, requires_grad=True)
    z = (2 * x) ** 2
    with pytest.warns(ChainruleHint) as rec:
        x.backward(z)
    assert any("z.backward()" in str(w.message) for w in rec)
    assert issubclass(ChainruleHint, UserWarning)
    # the result is still PyTorch's: dx/dx = 1 scaled by z = 4
    assert float(x.grad) == 4.0


def test_leaf_backward_with_ones_does_not_warn():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.backward(cr.ones(2))
    np.testing.assert_array_equal(np.asarray(x.grad), [1.0, 1.0])


def test_non_leaf_grad_access_warns():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.sum().backward()
    with pytest.warns(UserWarning) as rec:
        g = y.grad
    assert g is None
    msg = " ".join(str(w.message) for w in rec)
    assert_mentions(msg, "not a leaf")
    assert_hint(msg, "retain_grad()")


def test_non_leaf_grad_no_warning_with_retain_grad_or_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is not None
        assert x.grad is not None


def test_non_leaf_grad_warning_category_matches_torch():
    torch = pytest.importorskip("torch")
    y = torch.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning) as rec_t:
        y.grad
    yc = cr.ones(2, requires_grad=True) * 2
    with pytest.warns(UserWarning) as rec_c:
        yc.grad
    assert type(rec_c[0].message) is type(rec_t[0].message) or issubclass(
        type(rec_c[0].message), type(rec_t[0].message))


def test_hook_on_tensor_without_grad():
    with pytest.raises(RuntimeError) as ei:
        cr.ones(2).register_hook(lambda g: g)
    assert_mentions(message_of(ei), "require")


def test_retain_grad_on_tensor_without_grad():
    with pytest.raises(RuntimeError):
        cr.ones(2).retain_grad()


def test_function_backward_wrong_number_of_grads():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g          # one gradient for two inputs

    a = cr.ones(2, requires_grad=True)
    b = cr.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as ei:
        Bad.apply(a, b).sum().backward()
    assert_mentions(message_of(ei), "Bad", "expected 2", "got 1")
