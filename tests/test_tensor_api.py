"""Factories and Tensor attributes, with PyTorch's meaning."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def np_of(t):
    return np.asarray(t.detach())


def same_dtype(c, t) -> bool:
    return repr(c.dtype).split(".")[1] == repr(t.dtype).split(".")[1]


# --------------------------------------------------------------------------- factories


def test_tensor_copies_its_input():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 100.0
    np.testing.assert_array_equal(np_of(t), [1.0, 2.0])
    lst = [1.0, 2.0]
    t2 = cr.tensor(lst)
    lst[0] = 9.0
    np.testing.assert_array_equal(np_of(t2), [1.0, 2.0])


def test_tensor_from_tensor_and_nested_lists():
    t = cr.tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3)
    np.testing.assert_array_equal(np_of(t), [[1, 2, 3], [4, 5, 6]])
    with pytest.raises((ValueError, TypeError)):
        cr.tensor([[1, 2], [3]])


def test_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = cr.from_numpy(a)
    assert t.dtype is cr.float64 and t.shape == (2, 3)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.add_(1.0)
    assert a[1, 2] == 6.0
    assert t.numpy() is a or np.shares_memory(t.numpy(), a)


def test_numpy_shares_memory():
    t = cr.zeros(3)
    n = t.numpy()
    n[1] = 5.0
    assert t[1].item() == 5.0
    assert isinstance(n, np.ndarray)


@pytest.mark.parametrize("make", [
    lambda lib: lib.zeros(2, 3),
    lambda lib: lib.zeros((2, 3)),
    lambda lib: lib.ones(4),
    lambda lib: lib.ones(2, 2, dtype=lib.int64),
    lambda lib: lib.full((2, 2), 7),
    lambda lib: lib.full((2, 2), 7.0),
    lambda lib: lib.full((3,), True),
    lambda lib: lib.arange(5),
    lambda lib: lib.arange(1, 7, 2),
    lambda lib: lib.arange(0, 1, 0.25),
    lambda lib: lib.arange(5.0),
    lambda lib: lib.arange(2, 8, dtype=lib.float64),
    lambda lib: lib.linspace(0, 1, 5),
    lambda lib: lib.linspace(-2, 2, 3, dtype=lib.float64),
    lambda lib: lib.eye(3),
    lambda lib: lib.eye(2, 3),
    lambda lib: lib.zeros(0, 3),
], ids=["zeros", "zeros_tuple", "ones", "ones_int", "full_int", "full_float", "full_bool",
        "arange", "arange_step", "arange_float_step", "arange_float", "arange_dtype", "linspace",
        "linspace_dtype", "eye", "eye_rect", "empty_dim"])
def test_factories_match_torch(make):
    torch = pytest.importorskip("torch")
    c, t = make(cr), make(torch)
    assert tuple(c.shape) == tuple(t.shape)
    assert same_dtype(c, t), (c.dtype, t.dtype)
    np.testing.assert_allclose(np_of(c), t.numpy())


def test_factories_hand_values():
    np.testing.assert_array_equal(np_of(cr.arange(4.0)), [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(np_of(cr.linspace(0, 1, 3)), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(np_of(cr.eye(2)), [[1.0, 0.0], [0.0, 1.0]])
    e = cr.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype is cr.float32


def test_factory_requires_grad():
    x = cr.zeros(2, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert cr.ones(2, 2, requires_grad=True).requires_grad
    assert cr.full((2,), 1.5, requires_grad=True).requires_grad


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_factories(name):
    src = cr.tensor([[1, 2, 3], [4, 5, 6]], dtype=cr.int32)
    out = getattr(cr, name)(src)
    assert out.shape == (2, 3) and out.dtype is cr.int32
    out2 = getattr(cr, name)(src, dtype=cr.float64)
    assert out2.dtype is cr.float64
    if name != "empty_like":
        fill = 0 if name == "zeros_like" else 1
        np.testing.assert_array_equal(np_of(out), np.full((2, 3), fill))
    src_g = cr.ones(2, requires_grad=True)
    z = getattr(cr, name)(src_g)
    assert not z.requires_grad and z.is_leaf


def test_full_like_and_rand_like():
    src = cr.zeros(2, 3, dtype=cr.float64)
    f = cr.full_like(src, 2.5)
    assert f.dtype is cr.float64
    np.testing.assert_array_equal(np_of(f), np.full((2, 3), 2.5))
    r = cr.rand_like(src)
    assert r.shape == (2, 3) and r.dtype is cr.float64
    assert cr.randn_like(src).shape == (2, 3)


def test_new_factories():
    src = cr.ones(2, dtype=cr.float64)
    z = src.new_zeros(3, 4)
    assert z.shape == (3, 4) and z.dtype is cr.float64
    o = src.new_ones((2,))
    np.testing.assert_array_equal(np_of(o), [1.0, 1.0])
    f = src.new_full((2,), 3.0)
    np.testing.assert_array_equal(np_of(f), [3.0, 3.0])
    t = src.new_tensor([1, 2])
    assert t.dtype is cr.float64


def test_random_factories_ranges_and_dtypes():
    cr.manual_seed(0)
    r = cr.rand(1000)
    assert r.dtype is cr.float32 and r.shape == (1000,)
    a = np_of(r)
    assert a.min() >= 0.0 and a.max() < 1.0 and 0.4 < a.mean() < 0.6
    n = np_of(cr.randn(4000, dtype=cr.float64))
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    ri = cr.randint(3, 7, (500,))
    assert ri.dtype is cr.int64
    v = np_of(ri)
    assert v.min() >= 3 and v.max() <= 6 and set(v.tolist()) == {3, 4, 5, 6}
    ri2 = cr.randint(5, (3, 2))
    assert ri2.shape == (3, 2) and np_of(ri2).max() < 5
    g = np_of(cr.normal(10.0, 2.0, (4000,)))
    assert 9.8 < g.mean() < 10.2 and 1.8 < g.std() < 2.2


def test_manual_seed_reproducibility():
    cr.manual_seed(1234)
    a = (np_of(cr.rand(5)), np_of(cr.randn(3)), np_of(cr.randint(0, 100, (4,))))
    cr.manual_seed(1234)
    b = (np_of(cr.rand(5)), np_of(cr.randn(3)), np_of(cr.randint(0, 100, (4,))))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    cr.manual_seed(1235)
    c = np_of(cr.rand(5))
    assert not np.array_equal(a[0], c)


def test_generator_argument():
    g1 = cr.Generator().manual_seed(7)
    g2 = cr.Generator().manual_seed(7)
    np.testing.assert_array_equal(np_of(cr.rand(4, generator=g1)), np_of(cr.rand(4, generator=g2)))


# --------------------------------------------------------------------------- attributes


def test_shape_size_dim_numel():
    x = cr.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4)
    assert isinstance(x.shape, tuple)
    assert x.size() == (2, 3, 4)
    assert x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == 3 and x.ndim == 3
    assert x.numel() == 24
    assert cr.numel(x) == 24
    assert x.shape[1:] == (3, 4)
    assert repr(x.shape) == "chainrule.Size([2, 3, 4])"
    assert cr.tensor(5.0).shape == () and cr.tensor(5.0).dim() == 0
    with pytest.raises(IndexError):
        x.size(3)


def test_transposes():
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    ct, tt = cr.tensor(a), torch.tensor(a)
    assert tuple(ct.mT.shape) == tuple(tt.mT.shape) == (2, 4, 3)
    np.testing.assert_array_equal(np_of(ct.mT), tt.mT.numpy())
    m = cr.tensor(a[0])
    np.testing.assert_array_equal(np_of(m.T), a[0].T)
    np.testing.assert_array_equal(np_of(m.t()), a[0].T)
    assert cr.ones(5).T.shape == (5,)


def test_item_tolist_and_python_numbers():
    assert cr.tensor(2.5).item() == 2.5
    assert isinstance(cr.tensor(3).item(), int)
    assert isinstance(cr.tensor(True).item(), bool)
    assert cr.tensor([[7.0]]).item() == 7.0
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert cr.tensor(1.5).tolist() == 1.5
    assert float(cr.tensor([2.5])) == 2.5
    assert int(cr.tensor(7)) == 7
    assert bool(cr.tensor([0.0])) is False
    assert [10, 20, 30][cr.tensor(1)] == 20
    x = cr.tensor(2.0, requires_grad=True)
    assert x.item() == 2.0   # item() works on tensors that require grad


def test_len_and_iteration():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(np_of(rows[2]), [5.0, 6.0])
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))
    with pytest.raises(TypeError):
        iter(cr.tensor(1.0))


def test_iteration_is_differentiable():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = sum(r * r for r in x)
    s.backward()
    np.testing.assert_allclose(np_of(x.grad), [2.0, 4.0, 6.0])


def test_array_protocol():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(x)
    assert a.shape == (2, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(np.array(x, dtype=np.float64), [[1, 2], [3, 4]])
    assert np.sum(np.asarray(x)) == 10.0


def test_clone_is_independent_and_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    (c * 3).sum().backward()
    np.testing.assert_array_equal(np_of(x.grad), [3.0, 3.0])
    d = x.detach().clone()
    d.add_(1)
    np.testing.assert_array_equal(np_of(x), [1.0, 2.0])


def test_dtype_conversions():
    x = cr.tensor([1.7, -2.2])
    assert x.double().dtype is cr.float64
    assert x.float().dtype is cr.float32
    lx = x.long()
    assert lx.dtype is cr.int64
    np.testing.assert_array_equal(np_of(lx), [1, -2])
    assert x.to(cr.float64).dtype is cr.float64
    assert x.to(dtype=cr.int32).dtype is cr.int32
    assert x.to(cr.float32) is x  # no copy when nothing changes, as in torch
    assert x.to("cpu") is x
    assert x.to(cr.ones(1, dtype=cr.float64)).dtype is cr.float64
    assert x.int().dtype is cr.int32 and x.bool().dtype is cr.bool
    assert x.type() == "chainrule.FloatTensor"


def test_conversion_is_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype is cr.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype is cr.float32
    np.testing.assert_array_equal(np_of(x.grad), [2.0, 4.0])


def test_requires_grad_underscore():
    x = cr.arange(4.0)
    r = x.requires_grad_()
    assert r is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    y = 2 * (x @ x)
    y.backward()
    np.testing.assert_array_equal(np_of(x.grad), [0.0, 4.0, 8.0, 12.0])


def test_device_and_misc():
    x = cr.zeros(2)
    assert str(x.device) == "cpu"
    assert x.cpu() is x
    assert x.is_contiguous()
    assert cr.is_tensor(x) and not cr.is_tensor(np.zeros(2))
    with pytest.raises(RuntimeError):
        x.to("cuda")


# --------------------------------------------------------------------------- repr


@pytest.mark.parametrize("make", [
    lambda lib: lib.arange(4.0) * 4,
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True).sum(),
    lambda lib: lib.tensor([0.5, 1.0], requires_grad=True).exp(),
    lambda lib: lib.tensor([1, 2, 3]),
    lambda lib: lib.tensor(3.5),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor([1.5], dtype=lib.float64),
    lambda lib: lib.tensor([1.5], dtype=lib.float64, requires_grad=True),
], ids=["scaled", "leaf_rg", "mul", "sum", "exp", "int", "scalar", "bool", "f64", "f64_rg"])
def test_repr_matches_torch(make):
    torch = pytest.importorskip("torch")
    want = repr(make(torch)).replace("torch.", "chainrule.")
    assert repr(make(cr)) == want


def test_repr_hand_written():
    x = cr.arange(4.0)
    assert repr(x * 4) == "tensor([ 0.,  4.,  8., 12.])"
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True) * 2) == \
        "tensor([2., 4.], grad_fn=<MulBackward0>)"
    with cr.no_grad():
        assert repr(cr.tensor([1.0], requires_grad=True) * 2) == "tensor([2.])"


def test_creation_accepts_size_keyword_like_pytorch():
    import chainrule as cr
    assert cr.randn(size=()).shape == ()
    assert cr.zeros(size=(2, 3)).shape == (2, 3)
    assert cr.ones(size=[4]).shape == (4,)
    assert cr.rand(size=(1, 2)).shape == (1, 2)
    assert cr.empty(size=(0,)).shape == (0,)
    with pytest.raises(TypeError, match="give it once"):
        cr.zeros(2, size=(2,))
