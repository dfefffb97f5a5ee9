"""chainrule/ops/math_extra.py against PyTorch: values, dtypes, gradients, edge cases."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(a, dtype=None, requires_grad=False):
    a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
    return (cr.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _close(ours, theirs, rtol=1e-5, atol=1e-6):
    if isinstance(theirs, torch.Tensor):
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], \
            (ours.dtype, theirs.dtype)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(force=True), rtol=rtol,
                                   atol=atol, equal_nan=True)
    else:
        assert ours == theirs, (ours, theirs)


RNG = np.random.default_rng(0)
U = RNG.uniform(-0.9, 0.9, (3, 4))          # inside (-1, 1)
N = RNG.standard_normal((3, 4))
P = RNG.uniform(0.5, 3.0, (3, 4))
BIG = RNG.uniform(1.2, 4.0, (3, 4))

UNARY = [
    ("asin", U), ("arcsin", U), ("acos", U), ("arccos", U), ("atan", N), ("arctan", N),
    ("sinh", N), ("cosh", N), ("asinh", N), ("arcsinh", N), ("acosh", BIG), ("arccosh", BIG),
    ("atanh", U), ("arctanh", U), ("erfc", N), ("erfinv", U), ("lgamma", P), ("digamma", P),
    ("sinc", N), ("frac", N * 3), ("deg2rad", N), ("rad2deg", N), ("sgn", N), ("logit", P / 4),
    ("nan_to_num", N),
]


@pytest.mark.parametrize("name,data", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_values_and_gradients(name, data, dtype):
    x, tx = _pair(data, dtype, requires_grad=True)
    y, ty = getattr(cr, name)(x), getattr(torch, name)(tx)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    _close(y, ty, **tol)
    g = RNG.standard_normal(data.shape).astype(dtype)
    gx, = cr.autograd.grad(y, [x], grad_outputs=cr.tensor(g))
    tgx, = torch.autograd.grad(ty, [tx], grad_outputs=torch.tensor(g))
    _close(gx, tgx, **tol)
    # the method form
    _close(getattr(x, name)(), ty, **tol)


@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                                  "erfc", "erfinv", "lgamma", "digamma", "sinc", "deg2rad",
                                  "rad2deg", "logit", "sgn", "nan_to_num", "signbit", "isposinf",
                                  "isneginf"])
def test_unary_int_inputs(name):
    a = np.array([-2, -1, 0, 1, 2, 3])
    x, tx = _pair(a)
    _close(getattr(cr, name)(x), getattr(torch, name)(tx))
    b = np.array([True, False])
    if name not in ("sgn", "nan_to_num", "signbit", "isposinf", "isneginf", "deg2rad", "rad2deg"):
        x, tx = _pair(b)
        _close(getattr(cr, name)(x), getattr(torch, name)(tx))


def test_domain_errors_give_nan_like_torch():
    a = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    x, tx = _pair(a)
    for name in ["asin", "acos", "acosh", "atanh", "erfinv", "lgamma", "digamma", "logit", "erfc",
                 "sinh", "cosh", "asinh", "atan", "sinc"]:
        _close(getattr(cr, name)(x), getattr(torch, name)(tx))


BINARY = [("atan2", N, RNG.standard_normal((4,))), ("arctan2", N, P),
          ("hypot", N, RNG.standard_normal((3, 1))), ("logaddexp", N, RNG.standard_normal((4,))),
          ("logaddexp2", N, RNG.standard_normal((1, 4))), ("xlogy", N, P),
          ("fmod", N * 3, RNG.uniform(0.7, 1.3, (4,)))]


@pytest.mark.parametrize("name,a,b", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_values_and_gradients_with_broadcasting(name, a, b, dtype):
    x, tx = _pair(a, dtype, requires_grad=True)
    y, ty = _pair(b, dtype, requires_grad=True)
    out, tout = getattr(cr, name)(x, y), getattr(torch, name)(tx, ty)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    _close(out, tout, **tol)
    g = RNG.standard_normal(tuple(tout.shape)).astype(dtype)
    got = cr.autograd.grad(out, [x, y], grad_outputs=cr.tensor(g))
    want = torch.autograd.grad(tout, [tx, ty], grad_outputs=torch.tensor(g))
    for o, t in zip(got, want):
        _close(o, t, **tol)
    _close(getattr(x, name)(y), tout, **tol)


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "fmod",
                                  "heaviside", "float_power", "bitwise_and", "bitwise_or",
                                  "bitwise_xor"])
def test_binary_dtype_promotion(name):
    a, b = np.array([[-3, 0, 2, 5]]), np.array([[2], [3]])
    (x, tx), (y, ty) = _pair(a), _pair(b)
    f, tf = getattr(cr, name), getattr(torch, name)
    if name in ("hypot", "logaddexp", "logaddexp2"):  # PyTorch: not implemented for integers
        with pytest.raises(NotImplementedError):
            tf(tx, ty)
        with pytest.raises(NotImplementedError):
            f(x, y)
        x, tx = _pair(a.astype(np.float32))
    _close(f(x, y), tf(tx, ty))
    fx, tfx = _pair(np.array([-1.5, 0.0, 2.5], dtype=np.float32))
    if name.startswith("bitwise"):
        return
    if name != "heaviside":  # torch.heaviside wants equal dtypes
        _close(f(fx, cr.tensor([1, 2, 3])), tf(tfx, torch.tensor([1, 2, 3])))
        if name in ("fmod", "float_power"):  # the others want a tensor second argument
            _close(f(x, 2), tf(tx, 2))
            _close(f(fx, 2.0), tf(tfx, 2.0))
        else:
            _close(f(fx, 2.0), tf(tfx, torch.tensor(2.0)))
    else:
        _close(f(fx, cr.tensor([0.5], dtype=cr.float32)),
               tf(tfx, torch.tensor([0.5], dtype=torch.float32)))


def test_xlogy_zero_and_nan():
    a = np.array([0.0, 0.0, 0.0, 1.0, 2.0], dtype=np.float32)
    b = np.array([0.0, -1.0, np.nan, 0.0, np.inf], dtype=np.float32)
    (x, tx), (y, ty) = _pair(a, requires_grad=True), _pair(b, requires_grad=True)
    out, tout = cr.xlogy(x, y), torch.xlogy(tx, ty)
    _close(out, tout)
    got = cr.autograd.grad(out.sum(), [x, y])
    want = torch.autograd.grad(tout.sum(), [tx, ty])
    for o, t in zip(got, want):
        _close(o, t)


def test_logit_eps():
    a = np.array([0.0, 0.01, 0.3, 0.99, 1.0], dtype=np.float32)
    x, tx = _pair(a, requires_grad=True)
    for eps in [None, 0.05, 0.0]:
        out, tout = cr.logit(x, eps), torch.logit(tx, eps)
        _close(out, tout)
        if eps:
            g, = cr.autograd.grad(out.sum(), [x])
            tg, = torch.autograd.grad(tout.sum(), [tx])
            _close(g, tg)


def test_nan_to_num_defaults_and_gradient():
    for dtype in [np.float32, np.float64]:
        a = np.array([np.nan, np.inf, -np.inf, 1.5], dtype=dtype)
        x, tx = _pair(a, requires_grad=True)
        out, tout = cr.nan_to_num(x), torch.nan_to_num(tx)
        _close(out, tout, rtol=0, atol=0)
        _close(cr.nan_to_num(x, nan=1.0, posinf=2.0), torch.nan_to_num(tx, nan=1.0, posinf=2.0))
        _close(x.nan_to_num(neginf=-7.0), tx.nan_to_num(neginf=-7.0))
        g, = cr.autograd.grad(out.sum(), [x])
        tg, = torch.autograd.grad(tout.sum(), [tx])
        _close(g, tg)
    xi, txi = _pair(np.array([1, 2]))
    _close(cr.nan_to_num(xi), torch.nan_to_num(txi))


def test_sinc_at_zero_and_frac_signs():
    a = np.array([0.0, 1.0, -2.5, 0.5], dtype=np.float64)
    x, tx = _pair(a, requires_grad=True)
    out, tout = cr.sinc(x), torch.sinc(tx)
    _close(out, tout)
    g, = cr.autograd.grad(out.sum(), [x])
    tg, = torch.autograd.grad(tout.sum(), [tx])
    _close(g, tg, atol=1e-12)
    f, tf = _pair(np.array([-2.75, 2.75, -0.5, 3.0], dtype=np.float32))
    _close(cr.frac(f), torch.frac(tf))


def test_fmod_signs_and_ints():
    (a, ta), (b, tb) = _pair(np.array([-7, 7, -7, 7])), _pair(np.array([3, -3, -3, 3]))
    _close(cr.fmod(a, b), torch.fmod(ta, tb))
    _close(cr.fmod(a, 2.5), torch.fmod(ta, 2.5))
    _close(cr.remainder(a, b), torch.remainder(ta, tb))


def test_heaviside_signbit_sgn():
    a = np.array([-1.5, -0.0, 0.0, 2.0, np.nan], dtype=np.float32)
    x, tx = _pair(a)
    v, tv = _pair(np.array([0.5], dtype=np.float32))
    _close(cr.heaviside(x, v), torch.heaviside(tx, tv))
    _close(cr.signbit(x), torch.signbit(tx))
    _close(cr.sgn(x), torch.sgn(tx))
    assert not cr.heaviside(cr.tensor([1.0], requires_grad=True), v).requires_grad


def test_float_power():
    (x, tx) = _pair(np.array([1, 2, 3]))
    _close(cr.float_power(x, 2), torch.float_power(tx, 2))
    _close(cr.float_power(x, -1), torch.float_power(tx, -1))
    f, tf = _pair(np.array([1.5, 2.0], dtype=np.float32), requires_grad=True)
    out, tout = cr.float_power(f, cr.tensor([2, 3])), torch.float_power(tf, torch.tensor([2, 3]))
    _close(out, tout)
    g, = cr.autograd.grad(out.sum(), [f])
    tg, = torch.autograd.grad(tout.sum(), [tf])
    _close(g, tg)
    _close(cr.float_power(2, x), torch.float_power(2, tx))
    d = cr.tensor([1.0, 2.0], dtype=cr.float64)
    d.float_power_(2)
    np.testing.assert_allclose(d.numpy(), [1.0, 4.0])
    with pytest.raises(RuntimeError):
        cr.tensor([1.0, 2.0]).float_power_(2)


def test_clamp_min_max():
    x, tx = _pair(N.astype(np.float32), requires_grad=True)
    _close(cr.clamp_min(x, 0.1), torch.clamp_min(tx, 0.1))
    _close(x.clamp_max(0.2), tx.clamp_max(0.2))
    xi, txi = _pair(np.array([-3, 0, 4]))
    _close(cr.clamp_min(xi, 1), torch.clamp_min(txi, 1))
    _close(cr.clamp_max(xi, 0.5), torch.clamp_max(txi, 0.5))
    y = cr.tensor([-1.0, 2.0])
    y.clamp_min_(0.0)
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])


def test_isclose_allclose_equal():
    a = np.array([1.0, np.nan, np.inf, -np.inf, 1e-9, 2.0], dtype=np.float32)
    b = np.array([1.0 + 1e-7, np.nan, np.inf, np.inf, 0.0, 2.1], dtype=np.float32)
    (x, tx), (y, ty) = _pair(a), _pair(b)
    _close(cr.isclose(x, y), torch.isclose(tx, ty))
    _close(cr.isclose(x, y, equal_nan=True), torch.isclose(tx, ty, equal_nan=True))
    _close(x.isclose(y, rtol=0.1), tx.isclose(ty, rtol=0.1))
    (i, ti), (j, tj) = _pair(np.array([1, 2, 3])), _pair(np.array([1, 3, 3]))
    _close(cr.isclose(i, j), torch.isclose(ti, tj))
    _close(cr.isclose(i, j, atol=1), torch.isclose(ti, tj, atol=1))
    assert cr.allclose(x[:1], y[:1]) is torch.allclose(tx[:1], ty[:1]) is True
    assert cr.allclose(x, y, equal_nan=True) is torch.allclose(tx, ty, equal_nan=True)
    assert cr.allclose(cr.tensor([1.0, 1.0]), cr.tensor([1.0])) is True  # broadcasts, like torch
    assert cr.equal(i, i) is True and cr.equal(i, j) is False
    assert cr.equal(i, cr.tensor([[1, 2, 3]])) is torch.equal(ti, torch.tensor([[1, 2, 3]]))
    assert x.equal(x) is torch.equal(tx, tx)  # NaN != NaN


def test_isposinf_isneginf():
    a = np.array([np.inf, -np.inf, np.nan, 1.0], dtype=np.float32)
    x, tx = _pair(a)
    _close(cr.isposinf(x), torch.isposinf(tx))
    _close(x.isneginf(), tx.isneginf())


def test_bitwise():
    (a, ta), (b, tb) = _pair(np.array([12, 5, -3])), _pair(np.array([10, 3, 7]))
    for name in ["bitwise_and", "bitwise_or", "bitwise_xor"]:
        _close(getattr(cr, name)(a, b), getattr(torch, name)(ta, tb))
        _close(getattr(a, name)(6), getattr(ta, name)(6))
    (p, tp), (q, tq) = _pair(np.array([True, False, True])), _pair(np.array([True, True, False]))
    _close(cr.bitwise_xor(p, q), torch.bitwise_xor(tp, tq))
    c = cr.tensor([12, 5])
    c.bitwise_and_(cr.tensor([4, 4]))
    np.testing.assert_array_equal(c.numpy(), [4, 4])
    with pytest.raises(RuntimeError):
        cr.bitwise_and(cr.tensor([1.0]), cr.tensor([1.0]))


def test_can_cast():
    pairs = [("float32", "int32"), ("int64", "float32"), ("int32", "int64"), ("bool", "int8"),
             ("uint8", "bool"), ("float64", "float16"), ("int8", "uint8"), ("float32", "bool")]
    for f, t in pairs:
        assert cr.can_cast(getattr(cr, f), getattr(cr, t)) == torch.can_cast(
            getattr(torch, f), getattr(torch, t)), (f, t)


def test_moveaxis():
    x, tx = _pair(RNG.standard_normal((2, 3, 4)))
    _close(cr.moveaxis(x, 0, -1), torch.moveaxis(tx, 0, -1))
    _close(x.moveaxis((0, 1), (2, 0)), tx.moveaxis((0, 1), (2, 0)))


@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "atanh", "erfc",
                                  "erfinv", "digamma", "sinc", "frac", "deg2rad", "rad2deg", "sgn",
                                  "logit", "nan_to_num"])
def test_inplace_methods(name):
    a = (U * 0.5 + 0.5).astype(np.float32)
    x, tx = _pair(a)
    getattr(x, name + "_")()
    getattr(tx, name + "_")()
    _close(x, tx)
    (y, ty), (z, tz) = _pair(a), _pair(P[0].astype(np.float32))
    for bname in ["atan2", "hypot", "xlogy", "fmod"]:
        getattr(y, bname + "_")(z)
        getattr(ty, bname + "_")(tz)
        _close(y, ty)


def test_inplace_float_op_on_int_tensor_raises():
    with pytest.raises(RuntimeError):
        cr.tensor([1, 2]).asin_()


def test_second_derivatives():
    for name, data in [("asin", U), ("atanh", U), ("sinh", N), ("lgamma", P), ("erfinv", U * 0.5)]:
        x, tx = _pair(data[0], np.float64, requires_grad=True)
        g, = cr.autograd.grad(getattr(cr, name)(x).sum(), [x], create_graph=True)
        gg, = cr.autograd.grad(g.sum(), [x])
        tg, = torch.autograd.grad(getattr(torch, name)(tx).sum(), [tx], create_graph=True)
        tgg, = torch.autograd.grad(tg.sum(), [tx])
        _close(gg, tgg, rtol=1e-8, atol=1e-10)


def test_vmap_over_new_primitives():
    x = cr.tensor(RNG.uniform(0.1, 0.9, (4, 3)))
    y = cr.tensor(RNG.uniform(0.5, 2.0, (3,)))
    out = cr.func.vmap(lambda a: cr.atan2(cr.asin(a), y) + cr.lgamma(a))(x)
    want = torch.atan2(torch.asin(torch.tensor(x.numpy())), torch.tensor(y.numpy())) \
        + torch.lgamma(torch.tensor(x.numpy()))
    _close(out, want, rtol=1e-10, atol=1e-12)
