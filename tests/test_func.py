"""chainrule.func: grad, vjp, jvp, jacrev, jacfwd, hessian, linearize, jacobian.

Expected values come from closed forms (worked out by hand below) and from torch.func
when PyTorch is installed; never from chainrule itself.
"""
from __future__ import annotations

import logging
from collections import namedtuple

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import (grad, grad_and_value, hessian, jacfwd, jacobian, jacrev, jvp,
                            linearize, value_and_grad, vjp)
from chainrule.func._pytree import tree_flatten, tree_map, tree_unflatten

try:
    import torch
    import torch.func as tfunc
except ImportError:  # pragma: no cover - torch is the optional oracle
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the oracle) is not installed")


def T(a) -> cr.Tensor:
    return cr.tensor(np.asarray(a, dtype=np.float64))


def A(t) -> np.ndarray:
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().numpy()
    if isinstance(t, cr.Tensor):
        return np.asarray(t._data)
    return np.asarray(t)


def close(a, b, tol=1e-10) -> None:
    assert isinstance(a, cr.Tensor), f"expected a chainrule Tensor, got {type(a).__name__}"
    np.testing.assert_allclose(A(a), A(b), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- pytree

def test_pytree_round_trip_nested():
    P = namedtuple("P", "a b")
    x, y, z = T(1.0), T([2.0, 3.0]), T(4.0)
    tree = {"w": [x, (y, None)], "b": P(z, {"k": x})}
    leaves, spec = tree_flatten(tree)
    assert len(leaves) == 4 and spec.num_leaves == 4
    # dict keys sorted: "b" before "w"
    assert leaves[0] is z and leaves[1] is x and leaves[2] is x and leaves[3] is y
    back = tree_unflatten(leaves, spec)
    assert isinstance(back["b"], P) and back["w"][1][1] is None
    assert back["w"][0] is x and back["b"].b["k"] is x
    doubled = tree_map(lambda t: t * 2, tree)
    close(doubled["w"][1][0], np.array([4.0, 6.0]))
    with pytest.raises(ValueError, match="3 leaves|4 leaves"):
        tree_unflatten(leaves[:3], spec)


def test_pytree_leaf_and_empty():
    leaves, spec = tree_flatten(T(1.0))
    assert len(leaves) == 1 and spec.is_leaf()
    leaves, spec = tree_flatten(None)
    assert leaves == [] and tree_unflatten([], spec) is None
    assert tree_flatten((1, [2]))[1] != tree_flatten([1, [2]])[1]


# ----------------------------------------------------------------------------- grad

def test_grad_seed_003_numbers():
    # seed 003: y = 2 x.x at x = arange(4): gradient 4x = [0, 4, 8, 12]
    x = cr.arange(4.0)
    g = grad(lambda x: 2 * cr.dot(x, x))(x)
    assert g.tolist() == [0.0, 4.0, 8.0, 12.0]
    assert not g.requires_grad and g.grad_fn is None


def test_grad_closed_form_and_plain_result():
    x = T([0.3, -1.2, 2.0])
    g = grad(lambda x: (x ** 3).sum())(x)
    close(g, 3 * A(x) ** 2)
    g = grad(lambda x: (x.sin() * x.exp()).sum())(x)
    close(g, np.exp(A(x)) * (np.sin(A(x)) + np.cos(A(x))))
    assert not x.requires_grad and x.grad is None  # the input is untouched


def test_grad_argnums_tuple_and_negative():
    x, y = T([1.0, 2.0]), T([3.0, -1.0])
    f = lambda x, y: (x * x * y).sum()
    gx, gy = grad(f, argnums=(0, 1))(x, y)
    close(gx, 2 * A(x) * A(y))
    close(gy, A(x) ** 2)
    close(grad(f, argnums=-1)(x, y), A(x) ** 2)
    close(grad(f, argnums=(1,))(x, y)[0], A(x) ** 2)


def test_grad_kwargs_not_differentiated():
    x = T([1.0, 2.0])
    g = grad(lambda x, scale=1.0: (x * x).sum() * scale)(x, scale=3.0)
    close(g, 6 * A(x))


def test_grad_nested_dict_argument():
    params = {"w": T([[1.0, 2.0], [3.0, 4.0]]), "b": (T([0.5, -0.5]),)}
    x = T([1.0, -1.0])

    def loss(p, x):
        h = p["w"] @ x + p["b"][0]
        return (h * h).sum()

    g = grad(loss)(params, x)
    assert set(g) == {"w", "b"} and isinstance(g["b"], tuple)
    h = A(params["w"]) @ A(x) + A(params["b"][0])
    close(g["w"], 2 * np.outer(h, A(x)))
    close(g["b"][0], 2 * h)


def test_grad_has_aux_and_value_and_grad():
    x = T([1.0, 2.0, 3.0])

    def f(x):
        y = (x * x).sum()
        return y, {"mean": x.mean()}

    g, aux = grad(f, has_aux=True)(x)
    close(g, 2 * A(x))
    close(aux["mean"], np.array(2.0))
    value, g2 = value_and_grad(lambda x: (x * x).sum())(x)
    close(value, np.array(14.0))
    close(g2, 2 * A(x))
    assert not value.requires_grad
    (value, aux), g3 = value_and_grad(f, has_aux=True)(x)
    close(value, np.array(14.0))
    close(g3, 2 * A(x))
    g4, (value4, aux4) = grad_and_value(f, has_aux=True)(x)
    close(value4, np.array(14.0))
    close(g4, 2 * A(x))


def test_grad_of_constant_function_is_zero():
    x = T([1.0, 2.0])
    g = grad(lambda x: T(5.0))(x)
    close(g, np.zeros(2))
    g0, g1 = grad(lambda x, y: (y * y).sum(), argnums=(0, 1))(x, T([3.0]))
    close(g0, np.zeros(2))
    close(g1, np.array([6.0]))


def test_grad_of_grad_closed_forms():
    x = T(0.7)
    f = lambda x: x.sin()
    close(grad(grad(f))(x), -np.sin(0.7))
    close(grad(grad(grad(f)))(x), -np.cos(0.7))
    close(grad(grad(lambda x: x ** 4))(T(1.5)), 12 * 1.5 ** 2)


def test_no_perturbation_confusion():
    # d/dx [ x * d/dy (x + y) ] = d/dx [x] = 1 (Siskind & Pearlmutter's example)
    c = T(2.0)
    g = grad(lambda x: x * grad(lambda y: x + y)(c))(T(1.0))
    close(g, np.array(1.0))
    # inner gradient taken at the same tensor: d/dx sum( d/dy sum(x*y) at y=x ) = d/dx sum(x) = 1
    x = T([1.0, 2.0, 3.0])
    g = grad(lambda x: grad(lambda y: (x * y).sum())(x).sum())(x)
    close(g, np.ones(3))


def test_grad_keeps_outer_autograd_through_closures():
    w = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    x = T([0.5, -1.0, 2.0])
    g = grad(lambda x: (w * x * x).sum())(x)  # 2 w x
    close(g, 2 * A(w) * A(x))
    assert g.requires_grad  # it depends on w, which requires grad
    g.sum().backward()
    close(w.grad, 2 * A(x))


def test_grad_input_that_requires_grad_stays_connected():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    g = grad(lambda x: (x ** 3).sum())(x)  # 3x^2
    g.sum().backward()  # d/dx sum(3x^2) = 6x
    close(x.grad, 6 * A(x))


# ----------------------------------------------------------------------------- vjp / jvp

def test_vjp_closed_form_and_pytree_output():
    x, y = T([1.0, 2.0]), T([3.0, 4.0])
    out, vjp_fn = vjp(lambda x, y: {"p": x * y, "s": (x.sum(),)}, x, y)
    close(out["p"], np.array([3.0, 8.0]))
    u = {"p": T([1.0, -1.0]), "s": (T(2.0),)}
    gx, gy = vjp_fn(u)
    close(gx, A(u["p"]) * A(y) + 2.0)
    close(gy, A(u["p"]) * A(x))
    gx2, _ = vjp_fn(u)  # callable many times
    close(gx2, gx)


def test_jvp_of_vjp_fn_with_respect_to_the_cotangent():
    # vjp_fn is linear in the cotangent u: its jvp in direction du is J^T du
    rng = np.random.default_rng(7)
    Wm, x = rng.normal(size=(3, 2)), T(rng.normal(size=2))
    W = T(Wm)
    _, vjp_fn = vjp(lambda x: (W @ x).sin(), x)
    u, du = T(rng.normal(size=3)), T(rng.normal(size=3))
    _, t = jvp(lambda u: vjp_fn(u)[0], (u,), (du,))
    J = np.cos(Wm @ A(x))[:, None] * Wm
    close(t, J.T @ A(du))


def test_vjp_has_aux():
    x = T([1.0, 2.0])
    out, vjp_fn, aux = vjp(lambda x: (x.exp(), x.sum()), x, has_aux=True)
    close(aux, np.array(3.0))
    (g,) = vjp_fn(T([1.0, 1.0]))
    close(g, np.exp(A(x)))


def test_jvp_closed_form():
    x = T([0.1, 0.5, -0.3])
    v = T([1.0, 2.0, 3.0])
    out, t = jvp(lambda x: x.tanh() * 2, (x,), (v,))
    close(out, 2 * np.tanh(A(x)))
    close(t, 2 * (1 - np.tanh(A(x)) ** 2) * A(v))
    out, t, aux = jvp(lambda x: (x.exp(), x.sum()), (x,), (v,), has_aux=True)
    close(t, np.exp(A(x)) * A(v))
    close(aux, np.array(A(x).sum()))
    # an output that does not depend on the input has a zero tangent
    out, (t1, t2) = jvp(lambda x: (x * 2, T([1.0, 1.0])), (x,), (v,))
    close(t1, 2 * A(v))
    close(t2, np.zeros(2))


def test_jvp_nested_pytree_primals():
    p = {"a": T([1.0, 2.0]), "b": [T(3.0)]}
    v = {"a": T([1.0, 0.0]), "b": [T(1.0)]}
    out, t = jvp(lambda p: p["a"] * p["b"][0], (p,), (v,))
    # d(a*b) = da*b + a*db
    close(t, A(v["a"]) * 3.0 + A(p["a"]) * 1.0)


def test_linearize_matches_closed_form():
    x = T([0.2, 1.0])
    out, jvp_fn = linearize(lambda x: x.sin() * x, x)
    close(out, np.sin(A(x)) * A(x))
    v = T([1.0, -2.0])
    close(jvp_fn(v), (np.cos(A(x)) * A(x) + np.sin(A(x))) * A(v))


# ----------------------------------------------------------------------------- jacobians

def _mlp(W, b):
    return lambda x: (W @ x + b).tanh()


def test_jacrev_jacfwd_closed_form():
    rng = np.random.default_rng(0)
    W, b, x = T(rng.normal(size=(4, 3))), T(rng.normal(size=4)), T(rng.normal(size=3))
    f = _mlp(W, b)
    h = np.tanh(A(W) @ A(x) + A(b))
    expected = (1 - h ** 2)[:, None] * A(W)
    close(jacrev(f)(x), expected)
    close(jacfwd(f)(x), expected)


def test_jacobian_shapes_multi_input_multi_output():
    x, y = T([[1.0, 2.0], [3.0, 4.0]]), T([0.5, -1.0, 2.0])
    f = lambda x, y: {"xy": x.sum() * y, "x2": x * x}
    for jac in (jacrev, jacfwd):
        J = jac(f, argnums=(0, 1))(x, y)
        assert J["xy"][0].shape == (3, 2, 2) and J["xy"][1].shape == (3, 3)
        assert J["x2"][0].shape == (2, 2, 2, 2) and J["x2"][1].shape == (2, 2, 3)
        close(J["xy"][0], np.broadcast_to(A(y)[:, None, None], (3, 2, 2)))
        close(J["xy"][1], A(x).sum() * np.eye(3))
        close(J["x2"][0], (2 * A(x))[:, :, None, None] * np.eye(4).reshape(2, 2, 2, 2))
        close(J["x2"][1], np.zeros((2, 2, 3)))


def test_jacfwd_equals_jacrev_random():
    rng = np.random.default_rng(1)
    x = T(rng.normal(size=5))
    M = T(rng.normal(size=(3, 5)))

    def f(x):
        y = (M @ x).sin() * x[:3].exp()
        return cr.cat([y, cr.logsumexp(x, 0).reshape(1), x.softmax(0)[1:3] ** 2])

    close(jacfwd(f)(x), jacrev(f)(x), 1e-12)


def test_jac_has_aux():
    x = T([1.0, 2.0])
    J, aux = jacrev(lambda x: (x * x, x.sum()), has_aux=True)(x)
    close(J, np.diag(2 * A(x)))
    close(aux, np.array(3.0))
    J, aux = jacfwd(lambda x: (x * x, x.sum()), has_aux=True)(x)
    close(J, np.diag(2 * A(x)))
    close(aux, np.array(3.0))


# ----------------------------------------------------------------------------- hessians

def test_hessian_quadratic_form():
    rng = np.random.default_rng(2)
    Am = rng.normal(size=(4, 4))  # not symmetric: the Hessian of x^T A x is A + A^T
    Mt, x = T(Am), T(rng.normal(size=4))
    H = hessian(lambda x: x @ (Mt @ x))(x)
    close(H, Am + Am.T)
    close(jacrev(jacrev(lambda x: x @ (Mt @ x)))(x), Am + Am.T)
    close(jacfwd(jacfwd(lambda x: x @ (Mt @ x)))(x), Am + Am.T)


def _rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):  # term 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i, i + 1] += -400 * x[i]
        H[i + 1, i] += -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


def test_hessian_rosenbrock():
    x = T([-1.2, 1.0, 0.5, 2.0])
    close(hessian(_rosenbrock)(x), _rosenbrock_hessian(A(x)), 1e-9)
    g = grad(_rosenbrock)(T([1.0, 1.0, 1.0]))  # the minimum
    close(g, np.zeros(3))


def test_hessian_logsumexp():
    x = T([0.3, -1.0, 2.0, 0.0])
    p = np.exp(A(x)) / np.exp(A(x)).sum()
    close(grad(lambda x: cr.logsumexp(x, 0))(x), p)
    expected = np.diag(p) - np.outer(p, p)
    close(hessian(lambda x: cr.logsumexp(x, 0))(x), expected)
    close(jacrev(jacrev(lambda x: cr.logsumexp(x, 0)))(x), expected)
    close(jacfwd(jacfwd(lambda x: cr.logsumexp(x, 0)))(x), expected)


def test_hessian_argnums_and_save_out_primitives():
    # exp and tanh save their output for the vjp: forward-over-reverse needs its tangent
    x = T([0.2, -0.4, 1.1])
    close(hessian(lambda x: x.exp().sum())(x), np.diag(np.exp(A(x))))
    th = np.tanh(A(x))
    close(hessian(lambda x: x.tanh().sum())(x), np.diag(-2 * th * (1 - th ** 2)))
    y = T([2.0, 3.0, 4.0])
    H = hessian(lambda x, y: (x * x * y).sum(), argnums=1)(x, y)
    close(H, np.zeros((3, 3)))
    Hxx = hessian(lambda x, y: (x * x * y).sum(), argnums=0)(x, y)
    close(Hxx, np.diag(2 * A(y)))


def test_compositions_hvp():
    # vjp of grad, jvp of grad and grad of jvp all give H v
    rng = np.random.default_rng(3)
    Am = rng.normal(size=(3, 3))
    Mt, x, v = T(Am), T(rng.normal(size=3)), T(rng.normal(size=3))
    f = lambda x: x @ (Mt @ x) + (x ** 3).sum()
    Hv = (Am + Am.T + np.diag(6 * A(x))) @ A(v)
    _, vjp_fn = vjp(grad(f), x)
    close(vjp_fn(v)[0], Hv)  # H is symmetric: v^T H = H v
    close(jvp(grad(f), (x,), (v,))[1], Hv)
    close(grad(lambda x: jvp(f, (x,), (v,))[1])(x), Hv)
    close(jacrev(jacfwd(f))(x), Am + Am.T + np.diag(6 * A(x)))


def test_jvp_inside_jvp_uses_sound_fallback():
    # two dual levels at once are not supported by forward_ad: the inner jvp goes by
    # reverse mode, and the result is still exact
    x = T(0.8)
    d2 = jvp(lambda x: jvp(lambda y: y.sin() * y, (x,), (T(1.0),))[1], (x,), (T(1.0),))[1]
    # (y sin y)'' = 2 cos y - y sin y
    close(d2, np.array(2 * np.cos(0.8) - 0.8 * np.sin(0.8)))


def test_third_order_mixed():
    x = T([0.5, 1.5])
    f = lambda x: (x ** 4).sum()
    # jacfwd(hessian(f)): d3/dx3 of sum x^4 = diagonal tensor 24 x
    T3 = jacfwd(hessian(f))(x)
    expected = np.zeros((2, 2, 2))
    for i in range(2):
        expected[i, i, i] = 24 * A(x)[i]
    close(T3, expected)
    close(jacrev(hessian(f))(x), expected)


# ----------------------------------------------------------------------------- jacobian(mode)

def test_jacobian_auto_picks_mode_and_modes_agree(caplog):
    rng = np.random.default_rng(4)
    W1, x1 = T(rng.normal(size=(1000, 10)) / 3), T(rng.normal(size=10))
    W2, x2 = T(rng.normal(size=(10, 1000)) / 30), T(rng.normal(size=1000))
    wide = lambda x: (W1 @ x).tanh()     # 10 in, 1000 out: forward mode
    narrow = lambda x: (W2 @ x).tanh()   # 1000 in, 10 out: reverse mode
    for f, x, W, want in ((wide, x1, W1, "forward"), (narrow, x2, W2, "reverse")):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="chainrule.func"):
            J_auto = jacobian(f, x)
        msgs = [r.getMessage() for r in caplog.records if r.name == "chainrule.func"]
        assert len(msgs) == 1 and f"{want} mode" in msgs[0], msgs
        h = np.tanh(A(W) @ A(x))
        expected = (1 - h ** 2)[:, None] * A(W)
        close(J_auto, expected)
        close(jacobian(f, x, mode="forward"), expected)
        close(jacobian(f, x, mode="reverse"), expected)


def test_jacobian_tuple_inputs():
    x, y = T([1.0, 2.0]), T([3.0])
    Jx, Jy = jacobian(lambda x, y: x * y, (x, y))
    close(Jx, 3.0 * np.eye(2))
    close(Jy, A(x)[:, None])
    with pytest.raises(ValueError, match="mode"):
        jacobian(lambda x: x, x, mode="sideways")


# ----------------------------------------------------------------------------- errors

def test_error_non_tensor_output():
    x = T([1.0, 2.0])
    with pytest.raises(TypeError, match="grad: f must return a Tensor.*output is a float"):
        grad(lambda x: 3.0)(x)
    with pytest.raises(TypeError, match=r"vjp: .*output\[1\] is a float"):
        vjp(lambda x: (x, 1.5), x)
    with pytest.raises(TypeError, match=r"output\[1\]\['k'\] is a str"):
        jacfwd(lambda x: (x, {"k": "no"}))(x)
    with pytest.raises(TypeError, match="output.*float"):
        jacrev(lambda x: 1.5)(x)
    with pytest.raises(TypeError, match="output.*int"):
        jvp(lambda x: 1, (x,), (x,))
    with pytest.raises(TypeError, match="has_aux"):
        grad(lambda x: (x.sum(), x.sum()))(x)


def test_error_grad_of_non_scalar():
    x = T([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scalar.*shape \[2\].*jacrev"):
        grad(lambda x: x * 2)(x)


def test_error_tangent_shape_mismatch():
    x = T([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"tangents\[0\].*\[2\].*primal.*\[3\]"):
        jvp(lambda x: x * 2, (x,), (T([1.0, 2.0]),))
    with pytest.raises(ValueError, match="2 primals and 1 tangents"):
        jvp(lambda x, y: x * y, (x, x), (x,))
    _, jvp_fn = linearize(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match=r"tangents\[0\].*\[1\]"):
        jvp_fn(T([1.0]))
    _, vjp_fn = vjp(lambda x: x * 2, x)
    with pytest.raises(RuntimeError, match=r"cotangents.*shape \[2\].*\[3\]"):
        vjp_fn(T([1.0, 2.0]))


def test_error_argnums():
    x = T([1.0])
    with pytest.raises(ValueError, match=r"argnums=2.*2 positional arguments.*\[-2, 1\]"):
        grad(lambda x, y: (x * y).sum(), argnums=2)(x, x)
    with pytest.raises(ValueError, match=r"argnums=\(0, 3\)"):
        jacrev(lambda x, y: x * y, argnums=(0, 3))(x, x)
    with pytest.raises(ValueError, match="twice"):
        grad(lambda x, y: (x * y).sum(), argnums=(0, 0))(x, x)
    with pytest.raises(TypeError, match="argnums"):
        grad(lambda x: x.sum(), argnums="0")(x)


def test_error_non_float_or_non_tensor_argument():
    with pytest.raises(TypeError, match="argument 0.*int64"):
        grad(lambda x: x.sum())(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"argument 0\[1\].*float"):
        grad(lambda p: p[0].sum())((T(1.0), 2.0))


# ----------------------------------------------------------------------------- torch.func

def _torch_cases():
    rng = np.random.default_rng(5)
    M = rng.normal(size=(3, 3))
    return [
        ("sin_exp", lambda m: lambda x: (m.sin(x) * m.exp(x)).sum(), rng.normal(size=3)),
        ("quad", lambda m: lambda x: x @ (m.tensor(M, dtype=m.float64) @ x), rng.normal(size=3)),
        ("lse", lambda m: lambda x: m.logsumexp(x * x, 0), rng.normal(size=4)),
        ("rosen", lambda m: _rosenbrock, rng.normal(size=4)),
        ("softmax", lambda m: lambda x: (m.softmax(x, 0) * m.arange(4.0, dtype=m.float64)).sum()
         + (x.tanh() ** 3).sum(), rng.normal(size=4)),
    ]


@needs_torch
@pytest.mark.parametrize("name,make,x0", _torch_cases(), ids=[c[0] for c in _torch_cases()])
def test_against_torch_func_scalar(name, make, x0):
    f_cr, f_t = make(cr), make(torch)
    x, xt = T(x0), torch.tensor(x0)
    close(grad(f_cr)(x), tfunc.grad(f_t)(xt))
    close(hessian(f_cr)(x), tfunc.hessian(f_t)(xt), 1e-9)
    close(jacrev(grad(f_cr))(x), tfunc.jacrev(tfunc.grad(f_t))(xt), 1e-9)
    v = np.linspace(-1, 1, len(x0))
    theirs = tfunc.jvp(tfunc.grad(f_t), (xt,), (torch.tensor(v),))[1]
    close(jvp(grad(f_cr), (x,), (T(v),))[1], theirs, 1e-9)


@needs_torch
def test_against_torch_func_vector():
    rng = np.random.default_rng(6)
    W, b = rng.normal(size=(4, 3)), rng.normal(size=4)
    x0, y0 = rng.normal(size=3), rng.normal(size=4)

    def make(m):
        Wm, bm = m.tensor(W, dtype=m.float64), m.tensor(b, dtype=m.float64)
        return lambda x, y: ((Wm @ x + bm).tanh() * y, (x * x).sum() * y.exp())

    f_cr, f_t = make(cr), make(torch)
    x, y, xt, yt = T(x0), T(y0), torch.tensor(x0), torch.tensor(y0)
    for ours, theirs in ((jacrev, tfunc.jacrev), (jacfwd, tfunc.jacfwd)):
        J, Jt = ours(f_cr, argnums=(0, 1))(x, y), theirs(f_t, argnums=(0, 1))(xt, yt)
        for j in range(2):
            for i in range(2):
                close(J[j][i], Jt[j][i])
    out, vjp_fn = vjp(f_cr, x, y)
    out_t, vjp_t = tfunc.vjp(f_t, xt, yt)
    u = (rng.normal(size=4), rng.normal(size=4))
    g, gt = vjp_fn((T(u[0]), T(u[1]))), vjp_t((torch.tensor(u[0]), torch.tensor(u[1])))
    close(g[0], gt[0])
    close(g[1], gt[1])
    v = (rng.normal(size=3), rng.normal(size=4))
    _, t = jvp(f_cr, (x, y), (T(v[0]), T(v[1])))
    _, t_t = tfunc.jvp(f_t, (xt, yt), (torch.tensor(v[0]), torch.tensor(v[1])))
    close(t[0], t_t[0])
    close(t[1], t_t[1])
    _, lin = linearize(f_cr, x, y)
    _, lin_t = tfunc.linearize(f_t, xt, yt)
    lt, lt_t = lin(T(v[0]), T(v[1])), lin_t(torch.tensor(v[0]), torch.tensor(v[1]))
    close(lt[0], lt_t[0])
    close(lt[1], lt_t[1])


@needs_torch
def test_against_torch_func_pytree_hessian_and_third_order():
    rng = np.random.default_rng(8)
    a0, b0 = rng.normal(size=3), rng.normal(size=2)

    def f(p):
        return (p["a"].sin() * p["a"]).sum() * (p["b"] ** 2).sum()

    H = hessian(f)({"a": T(a0), "b": T(b0)})
    Ht = tfunc.hessian(f)({"a": torch.tensor(a0), "b": torch.tensor(b0)})
    for i in "ab":
        for j in "ab":
            close(H[i][j], Ht[i][j], 1e-9)
    f3 = lambda x: (x.exp() * x.sin()).sum()
    x, xt = T(a0), torch.tensor(a0)
    expected = tfunc.jacfwd(tfunc.jacfwd(tfunc.jacrev(f3)))(xt)
    close(jacfwd(jacfwd(jacrev(f3)))(x), expected, 1e-9)
    close(jacrev(jacrev(jacrev(f3)))(x), expected, 1e-9)
    close(jacrev(jacfwd(jacfwd(f3)))(x), expected, 1e-9)


def test_jacfwd_keeps_outer_autograd_through_closures():
    w = cr.tensor([1.5], dtype=cr.float64, requires_grad=True)
    x = T([0.1, 0.2, 0.3])
    J = jacfwd(lambda x: x.sin() * w)(x)  # diag(cos x) w
    close(J, np.diag(np.cos(A(x))) * 1.5)
    J.sum().backward()
    close(w.grad, np.array([np.cos(A(x)).sum()]))


def test_transforms_work_under_no_grad():
    x = T([0.5, 1.0])
    with cr.no_grad():
        close(grad(lambda x: (x ** 3).sum())(x), 3 * A(x) ** 2)
        close(hessian(lambda x: (x ** 3).sum())(x), np.diag(6 * A(x)))
