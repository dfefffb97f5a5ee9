"""chainrule.autograd.GradientTape, TensorFlow's recording context.

Expected numbers are seed 003's TensorFlow example and closed forms.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import GradientTape


def A(t) -> np.ndarray:
    return np.asarray(t._data)


def test_seed_003_tensorflow_example():
    # seed 003: x = tf.range(4, dtype=tf.float32); with tf.GradientTape() as t: y = 2 * dot(x, x)
    # y = 28.0, t.gradient(y, x) = [0., 4., 8., 12.]
    x = cr.arange(4.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = 2 * cr.dot(x, x)
    assert y.item() == 28.0 and y.dtype == cr.float32
    g = tape.gradient(y, x)
    assert g.tolist() == [0.0, 4.0, 8.0, 12.0] and g.dtype == cr.float32
    assert x.grad is None  # the tape returns gradients, it does not store them
    # the same numbers as y.backward() (seed 003's PyTorch cell)
    x2 = cr.arange(4.0, requires_grad=True)
    (2 * cr.dot(x2, x2)).backward()
    assert x2.grad.tolist() == g.tolist()


def test_exported_from_autograd():
    assert cr.autograd.GradientTape is GradientTape


def test_non_persistent_allows_one_call():
    x = cr.tensor([1.0, 2.0])
    with GradientTape() as tape:
        tape.watch(x)
        y = (x * x).sum()
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="only be called once.*persistent=True"):
        tape.gradient(y, x)


def test_persistent_allows_many_calls():
    x = cr.tensor(3.0)
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, x).item() == 108.0  # 4 x^3
    assert tape.gradient(y, x).item() == 6.0    # 2 x
    assert tape.gradient(z, y).item() == 18.0   # 2 y
    assert tape.gradient(z, x).item() == 108.0


def test_watch_is_scoped_to_the_block():
    x = cr.tensor([1.0, 2.0])
    with GradientTape() as tape:
        tape.watch(x)
        assert x.requires_grad
        y = (x * 3).sum()
    assert not x.requires_grad  # the caller's tensor is given back as it was
    after = x * 2               # not recorded: the tape has stopped
    assert after.grad_fn is None
    assert tape.gradient(y, x).tolist() == [3.0, 3.0]


def test_variables_requiring_grad_are_watched_automatically():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    c = cr.tensor([5.0, 5.0])  # a constant, never watched
    with GradientTape() as tape:
        y = (w * w * c).sum()
    gw, gc = tape.gradient(y, [w, c])
    assert gw.tolist() == [10.0, -20.0] and gc is None
    assert w.grad is None


def test_unconnected_and_structure():
    x, u = cr.tensor([1.0, 2.0]), cr.tensor([7.0])
    with GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = (x ** 3).sum()
    g = tape.gradient(y, {"x": x, "u": (u,)})
    assert g["x"].tolist() == [3.0, 12.0] and g["u"] == (None,)
    g = tape.gradient(y, {"x": x, "u": (u,)}, unconnected_gradients="zero")
    assert g["u"][0].tolist() == [0.0]
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, x, unconnected_gradients="nan")


def test_non_scalar_target_and_output_gradients():
    x = cr.tensor([1.0, 2.0, 3.0])
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    assert tape.gradient(y, x).tolist() == [2.0, 4.0, 6.0]   # of sum(y), as TensorFlow
    w = cr.tensor([1.0, 0.0, -1.0])
    assert tape.gradient(y, x, output_gradients=w).tolist() == [2.0, 0.0, -6.0]
    assert tape.gradient([y, y * 2], x).tolist() == [6.0, 12.0, 18.0]  # targets add up


def test_nested_tapes_second_derivative():
    x = cr.tensor(3.0)
    with GradientTape() as outer:
        outer.watch(x)
        with GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy = inner.gradient(y, x)   # 3 x^2 = 27, recorded by the outer tape
    d2y = outer.gradient(dy, x)     # 6 x = 18
    assert dy.item() == 27.0 and d2y.item() == 18.0


def test_tape_records_even_under_no_grad():
    x = cr.tensor([2.0])
    with cr.no_grad():
        with GradientTape() as tape:
            tape.watch(x)
            y = x * x
        assert not cr.is_grad_enabled()
    assert tape.gradient(y, x).tolist() == [4.0]


def test_stop_recording():
    x = cr.tensor(2.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = x * 10
        y = y + z
    assert tape.gradient(y, x).item() == 4.0  # z is a constant to the tape


def test_jacobian():
    x = cr.tensor([1.0, 2.0])
    with GradientTape() as tape:
        tape.watch(x)
        y = cr.stack([x[0] * x[1], x[0] ** 2, x[1] * 3])
    J = tape.jacobian(y, x)
    np.testing.assert_array_equal(A(J), np.array([[2.0, 1.0], [2.0, 0.0], [0.0, 3.0]]))


def test_errors():
    with GradientTape() as tape:
        with pytest.raises(TypeError, match="floating point.*int64"):
            tape.watch(cr.tensor([1, 2]))
        with pytest.raises(TypeError, match="Tensor.*list|Tensor.*float"):
            tape.watch([1.0])
        x = cr.tensor(1.0)
        tape.watch(x)
        y = x * 2
    with pytest.raises(TypeError, match="target 0 must be a Tensor"):
        tape.gradient(3.0, x)
