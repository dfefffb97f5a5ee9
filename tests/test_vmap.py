"""vmap: semantics (in_dims, out_dims, pytrees, nesting), composition with grad/jacrev/jacfwd,
per-example gradients against a loop (and torch.func where installed), and its errors."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import grad, jacfwd, jacrev, vjp, vmap


def A(t) -> np.ndarray:
    return t.detach().numpy()


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(A(a) if isinstance(a, cr.Tensor) else a,
                               A(b) if isinstance(b, cr.Tensor) else b, rtol=tol, atol=tol)


def rand(*shape, seed=0):
    return cr.tensor(np.random.default_rng(seed).standard_normal(shape))


def loop(f, *batched):
    """The reference: f applied example by example, stacked."""
    n = batched[0].shape[0]
    return cr.stack([f(*[b[i] for b in batched]) for i in range(n)])


def test_elementwise_and_reduction_match_a_loop():
    x = rand(5, 3, 4)
    f = lambda a: (a.sin() * a.exp()).sum(1) / a.norm()
    close(vmap(f)(x), loop(f, x))


def test_in_dims_none_and_other_positions():
    w = rand(4, 2, seed=1)
    x = rand(3, 6, 4, seed=2)  # batch in dim 1
    f = lambda a, m: (a @ m).tanh()
    got = vmap(f, in_dims=(1, None))(x, w)
    close(got, cr.stack([f(x[:, i], w) for i in range(6)]))


def test_out_dims_moves_the_batch():
    x = rand(5, 3)
    got = vmap(lambda a: a.reshape(3, 1) * 2, out_dims=1)(x)
    assert tuple(got.shape) == (3, 5, 1)
    close(got, (x * 2).T.reshape(3, 5, 1))


def test_pytree_inputs_and_outputs():
    x = {"a": rand(4, 2), "b": [rand(4, 3, seed=5)]}
    out = vmap(lambda d: (d["a"].sum(), {"c": d["b"][0] * 2}))(x)
    close(out[0], x["a"].sum(1))
    close(out[1]["c"], x["b"][0] * 2)


def test_nested_vmap():
    x = rand(2, 3, 4)
    close(vmap(vmap(lambda a: (a * a).sum()))(x), (x * x).sum(-1))


def test_matmul_vector_cases_and_broadcasting():
    m = rand(4, 3)
    v = rand(5, 3, seed=3)
    close(vmap(lambda a: m @ a)(v), loop(lambda a: m @ a, v))
    close(vmap(lambda a: a @ a)(v), (v * v).sum(1))
    bm = rand(5, 2, 3, 4, seed=4)
    close(vmap(lambda a: a @ m)(bm), loop(lambda a: a @ m, bm))


def test_indexing_gather_cat_inside_vmap():
    x = rand(4, 5, 3)
    f = lambda a: cr.cat([a[1:3, [0, 2, 2]], a[..., None, 1].T.reshape(1, 5)[:, :3]], 0).cumsum(0)
    close(vmap(f)(x), loop(f, x))
    idx = cr.tensor([[0, 2], [1, 1], [4, 0], [3, 3], [2, 1]])
    g = lambda a: a.gather(0, idx)
    close(vmap(g)(x), loop(g, x))


def test_setitem_inside_vmap():
    x = rand(3, 4)

    def f(a):
        b = a.clone()
        b[1:3] = a[:2] * 10
        return b
    close(vmap(f)(x), loop(f, x))


def test_per_example_gradients_of_an_mlp_equal_a_loop():
    rng = np.random.default_rng(7)
    params = (cr.tensor(rng.standard_normal((6, 16)) * 0.3), cr.tensor(np.zeros(16)),
              cr.tensor(rng.standard_normal((16, 3)) * 0.3), cr.tensor(np.zeros(3)))
    x = cr.tensor(rng.standard_normal((8, 6)))
    y = cr.tensor(rng.integers(0, 3, 8))

    def loss(p, xi, yi):
        w1, b1, w2, b2 = p
        h = (xi @ w1 + b1).relu()
        logits = h @ w2 + b2
        return -cr.log_softmax(logits, -1)[yi]

    per_example = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for k in range(4):
        ref = cr.stack([grad(loss)(params, x[i], y[i])[k] for i in range(8)])
        assert tuple(per_example[k].shape) == (8,) + tuple(params[k].shape)
        close(per_example[k], ref)


def test_per_example_gradients_against_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad as tgrad, vmap as tvmap
    rng = np.random.default_rng(3)
    w = rng.standard_normal((5, 2))
    x = rng.standard_normal((7, 5))
    y = rng.standard_normal((7, 2))

    def loss(lib):
        return lambda w, xi, yi: ((lib.tanh(xi @ w) - yi) ** 2).sum()
    ours = vmap(grad(loss(cr)), in_dims=(None, 0, 0))(cr.tensor(w), cr.tensor(x), cr.tensor(y))
    theirs = tvmap(tgrad(loss(torch)), in_dims=(None, 0, 0))(torch.tensor(w), torch.tensor(x),
                                                              torch.tensor(y))
    close(ours, theirs.numpy())


def test_grad_of_vmap_differentiates_through_the_batch():
    w = rand(3, seed=8).requires_grad_()
    x = rand(4, 3, seed=9)
    out = vmap(lambda a: (a * w).sin().sum())(x).sum()
    out.backward()
    w2 = w.detach().clone().requires_grad_()
    (x * w2).sin().sum().backward()
    close(w.grad, w2.grad)


def test_vjp_and_jacobians_inside_vmap():
    x = rand(4, 3)
    f = lambda a: a.exp() * a.sum()
    close(vmap(jacrev(f))(x), loop(jacrev(f), x))
    close(vmap(jacfwd(f))(x), loop(jacfwd(f), x))
    v = rand(4, 3, seed=2)
    got = vmap(lambda a, u: vjp(f, a)[1](u)[0])(x, v)
    close(got, loop(lambda a, u: vjp(f, a)[1](u)[0], x, v))


def test_unbatched_output_is_broadcast():
    x = rand(3, 2)
    c = rand(2, seed=4)
    out = vmap(lambda a: c * 2)(x)
    close(out, (c * 2).expand(3, 2))


def test_a_function_without_batching_rule_falls_back_to_a_loop():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    x = rand(4, 2)
    close(vmap(lambda a: Cube.apply(a) + 1)(x), x ** 3 + 1)


def test_python_value_of_a_batched_tensor_is_refused():
    with pytest.raises(RuntimeError, match="vmap: item"):
        vmap(lambda a: a.sum().item())(rand(3, 2))
    with pytest.raises(RuntimeError, match="vmap: bool"):
        vmap(lambda a: a if a.sum() > 0 else -a)(rand(3, 2))


def test_in_dims_errors_name_the_argument():
    with pytest.raises(ValueError, match="in_dims has 1 entries"):
        vmap(lambda a, b: a + b, in_dims=(0,))(rand(2), rand(2))
    with pytest.raises(ValueError, match="different batch sizes"):
        vmap(lambda a, b: a + b)(rand(2), rand(3))
    with pytest.raises(ValueError, match="at least one input must be batched"):
        vmap(lambda a: a, in_dims=None)(rand(2))
    with pytest.raises(ValueError, match="must return tensors"):
        vmap(lambda a: 3)(rand(2))


def test_batched_labels_index_per_example():
    logits = rand(5, 4)
    labels = cr.tensor([3, 0, 1, 1, 2])
    got = vmap(lambda z, y: cr.log_softmax(z, -1)[y])(logits, labels)
    want = cr.stack([cr.log_softmax(logits[i], -1)[int(labels[i])] for i in range(5)])
    close(got, want)
    got = vmap(lambda z, y: z.index_select(0, y))(logits, cr.tensor([[0, 1], [3, 3], [1, 0], [2, 2], [0, 0]]))
    close(got[1], logits[1][[3, 3]])


def test_masked_fill_with_a_batched_mask():
    x = rand(4, 3)
    got = vmap(lambda a: a.masked_fill(a > 0, 0.0))(x)
    close(got, cr.where(x > 0, 0.0, x))


def test_unsupported_batched_index_patterns_raise():
    x = rand(3, 4)
    idx = cr.tensor([[0], [1], [2]])
    with pytest.raises(NotImplementedError, match="gather"):
        vmap(lambda a, i: a.gather(0, i))(x, idx)
    with pytest.raises(NotImplementedError, match="nonzero"):
        vmap(lambda a: a.nonzero())(x)
    with pytest.raises(NotImplementedError, match="boolean mask"):
        vmap(lambda a: a[a > 0])(x)


def test_per_example_gradients_are_plain_tensors_when_nothing_outside_needs_grad():
    w = rand(3, 2)
    pe = vmap(grad(lambda w, xi: (xi @ w).tanh().sum()), in_dims=(None, 0))(w, rand(4, 3, seed=1))
    assert not pe.requires_grad and pe.grad_fn is None


def test_gradient_through_per_example_gradients():
    x = rand(4, 3, seed=1)
    f = lambda w, xi: (xi @ w).tanh().sum()
    w = rand(3, 2).requires_grad_()
    vmap(grad(f), in_dims=(None, 0))(w, x).pow(2).sum().backward()
    w2 = w.detach().clone().requires_grad_()
    loop(lambda xi: grad(f)(w2, xi), x).pow(2).sum().backward()
    close(w.grad, w2.grad)


def test_randomness_modes_as_in_pytorch():
    import chainrule as cr
    from chainrule.func import vmap
    x = cr.ones(4, 3)

    def noisy(row):
        return row + cr.randn(3)

    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(noisy)(x)                          # the default, as in PyTorch
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda r: cr.nn.functional.dropout(r, 0.5, training=True))(x)
    out = vmap(noisy, randomness="same")(x)     # one draw, shared by every example
    assert np.allclose(out.numpy(), out.numpy()[0])
    with pytest.raises(NotImplementedError, match="randomness='different' is not supported"):
        vmap(noisy, randomness="different")
    cr.randn(3)                                 # outside vmap: fine again
    with pytest.raises(ValueError, match="randomness must be"):
        vmap(noisy, randomness="sometimes")


def test_public_names_are_not_shadowed_by_their_submodules():
    import importlib
    import types
    import chainrule as cr
    for mod in ("chainrule.func.vmap", "chainrule.autograd.explanation",
                "chainrule.autograd.anomaly_mode", "chainrule.autograd.recording"):
        importlib.import_module(mod)
    from chainrule.func import vmap as v
    assert callable(v) and not isinstance(v, types.ModuleType)
    assert callable(cr.autograd.explain) and callable(cr.autograd.detect_anomaly)
