"""Every loss (functional and module) against PyTorch: values and gradients (input, target
where PyTorch differentiates it, weights), float32 and float64, every reduction and option,
logits of +-1e4; plus finite-difference checks in float64 that do not rely on PyTorch."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F

from _gradcheck import finite_difference

torch = pytest.importorskip("torch")
TF = torch.nn.functional
tnn = torch.nn

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
REDUCTIONS = ["none", "mean", "sum"]


def _np(t):
    return t.detach().numpy()


def _close(a, b, dtype, **kw):
    tol = dict(TOL[dtype])
    tol.update(kw)
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, **tol)


def _run(cr_fn, th_fn, arrays, diff, rng, dtype, finite=True, **tol):
    """Call both with the arrays (float arrays cast to ``dtype``), compare the values and the
    gradients of <u, loss> for the positions in ``diff``."""
    mine, theirs = [], []
    for i, a in enumerate(arrays):
        if a is None:
            mine.append(None)
            theirs.append(None)
            continue
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        mine.append(cr.tensor(a.copy(), requires_grad=i in diff))
        theirs.append(torch.tensor(a.copy(), requires_grad=i in diff))
    ya, yb = cr_fn(*mine), th_fn(*theirs)
    _close(ya, yb, dtype, **tol)
    assert np.isfinite(_np(ya)).all() or not finite
    u = rng.standard_normal(tuple(yb.shape)).astype(dtype)
    (ya * cr.tensor(u)).sum().backward()
    (yb * torch.tensor(u)).sum().backward()
    for i in diff:
        assert np.isfinite(mine[i].grad.numpy()).all() or not finite
        _close(mine[i].grad, theirs[i].grad, dtype, **tol)


# ----------------------------------------------------------------------------- regression

@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 2.0}), ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}), ("huber_loss", {"delta": 2.5}),
])
def test_regression_losses_match_torch(name, kw, reduction, dtype, rng):
    x = rng.standard_normal((4, 5)) * 2
    t = rng.standard_normal((4, 5)) * 2
    t[0, :2] = x[0, :2]  # zero differences: the kink of |d|
    _run(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kw),
         lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kw),
         [x, t], (0, 1), rng, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_losses_with_elementwise_weight(name, reduction, dtype, rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    w = rng.uniform(0.1, 2.0, (3, 4))
    _run(lambda a, b, c: getattr(F, name)(a, b, reduction=reduction, weight=c),
         lambda a, b, c: getattr(TF, name)(a, b, reduction=reduction, weight=c),
         [x, t, w], (0, 1, 2), rng, dtype)


def test_regression_broadcast_warns_like_torch(rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    with pytest.warns(UserWarning, match="target size"):
        out = F.mse_loss(cr.tensor(x), cr.tensor(t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = TF.mse_loss(torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_bad_reduction_raises():
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(cr.ones(2), cr.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(cr.ones(2, 3), cr.tensor([0, 1]), reduction="avg")


@pytest.mark.parametrize("size_average,reduce", [(None, False), (False, None), (True, True),
                                                 (False, True)])
def test_legacy_size_average_reduce(size_average, reduce, rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mine = F.mse_loss(cr.tensor(x), cr.tensor(t), size_average=size_average, reduce=reduce)
        theirs = TF.mse_loss(torch.tensor(x), torch.tensor(t), size_average=size_average, reduce=reduce)
        module = nn.L1Loss(size_average=size_average, reduce=reduce)
        tmodule = tnn.L1Loss(size_average=size_average, reduce=reduce)
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    assert module.reduction == tmodule.reduction


# ----------------------------------------------------------------------------- cross entropy

def _class_targets(rng, shape, n_classes, ignore_index=None, n_ignored=0):
    t = rng.integers(0, n_classes, shape)
    if n_ignored:
        flat = t.reshape(-1)
        flat[rng.choice(flat.size, n_ignored, replace=False)] = ignore_index
    return t.astype(np.int64)


CE_SHAPES = [((7,), ()), ((6, 5), (6,)), ((3, 5, 4), (3, 4)), ((2, 5, 3, 2), (2, 3, 2))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("ignore", [False, True], ids=["all", "ignore"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shapes", CE_SHAPES, ids=[str(s[0]) for s in CE_SHAPES])
def test_cross_entropy_class_indices(shapes, smoothing, ignore, weighted, reduction, dtype, rng):
    in_shape, t_shape = shapes
    C = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    x = rng.standard_normal(in_shape) * 3
    n_ignored = 0 if not ignore or not t_shape else max(1, int(np.prod(t_shape)) // 3)
    ignore_index = 1 if ignore and len(in_shape) == 1 else -100 if not ignore else 2
    t = _class_targets(rng, t_shape, C, ignore_index, n_ignored)
    if ignore and not t_shape:
        t = np.array(ignore_index if rng.random() < 0.5 else (ignore_index + 1) % C, np.int64)
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=ignore_index)
    # (a single ignored target under 'mean' is 0/0 = nan, in PyTorch too)
    everything_ignored = (t == ignore_index).all() and reduction == "mean"
    _run(lambda a, b, c: F.cross_entropy(a, b, weight=c, **kw),
         lambda a, b, c: TF.cross_entropy(a, b, weight=c, **kw),
         [x, t, w], (0,), rng, dtype, finite=not everything_ignored)  # PyTorch refuses a
    # weight that requires grad here


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("in_shape", [(6,), (4, 6), (2, 6, 3)])
def test_cross_entropy_class_probabilities(in_shape, smoothing, weighted, reduction, dtype, rng):
    C = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    class_dim = 0 if len(in_shape) == 1 else 1
    x = rng.standard_normal(in_shape) * 3
    p = rng.random(in_shape)
    p = p / p.sum(axis=class_dim, keepdims=True)
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    # PyTorch differentiates the probabilities too
    _run(lambda a, b, c: F.cross_entropy(a, b, weight=c, **kw),
         lambda a, b, c: TF.cross_entropy(a, b, weight=c, **kw),
         [x, p, w], (0, 1, 2) if weighted else (0, 1), rng, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_cross_entropy_extreme_logits(probs, smoothing, dtype, rng):
    x = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -1e4, 2.0],
                  [-1e4, 5.0, 1e4, -3.0]])
    if probs:
        t = rng.random(x.shape)
        t /= t.sum(1, keepdims=True)
    else:
        t = np.array([1, 0, 2, 2], np.int64)  # the wrong class at +-1e4 as well as the right one
    for reduction in REDUCTIONS:
        _run(lambda a, b: F.cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing),
             lambda a, b: TF.cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing),
             [x, t], (0,), rng, dtype)


def test_cross_entropy_all_ignored_is_nan_like_torch():
    x = np.zeros((2, 3))
    t = np.array([-100, -100])
    mine = F.cross_entropy(cr.tensor(x), cr.tensor(t))
    theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(t))
    assert np.isnan(theirs.item()) and np.isnan(mine.item())
    assert F.cross_entropy(cr.tensor(x), cr.tensor(t), reduction="sum").item() == 0.0


def test_cross_entropy_errors():
    x = cr.zeros(3, 4)
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, cr.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, cr.tensor([0, -1, 1]))
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(x, cr.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="weight"):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), weight=cr.ones(3))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, cr.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="ignore_index"):
        F.cross_entropy(x, cr.zeros(3, 4), ignore_index=0)
    with pytest.raises(RuntimeError, match="Long|integer|index"):
        F.cross_entropy(x, cr.tensor([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("shapes", CE_SHAPES, ids=[str(s[0]) for s in CE_SHAPES])
def test_nll_loss_matches_torch(shapes, weighted, reduction, dtype, rng):
    in_shape, t_shape = shapes
    C = in_shape[0] if len(in_shape) == 1 else in_shape[1]
    x = rng.standard_normal(in_shape)
    t = _class_targets(rng, t_shape, C, 0, 1 if t_shape else 0)  # ignore class 0 where present
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    kw = dict(reduction=reduction, ignore_index=0)
    _run(lambda a, b, c: F.nll_loss(a, b, weight=c, **kw),
         lambda a, b, c: TF.nll_loss(a, b, weight=c, **kw),
         [x, t, w], (0,), rng, dtype, finite=not ((t == 0).all() and reduction == "mean"))


def test_nll_loss_repeated_targets_accumulate(rng):
    x = rng.standard_normal((5, 3))
    t = np.array([1, 1, 1, 0, 1])
    _run(lambda a, b: F.nll_loss(a, b, reduction="sum"), lambda a, b: TF.nll_loss(a, b, reduction="sum"),
         [x, t], (0,), rng, np.float64)


# ----------------------------------------------------------------------------- binary

@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
def test_binary_cross_entropy_matches_torch(weighted, reduction, dtype, rng):
    x = rng.uniform(0.02, 0.98, (4, 5))
    t = rng.random((4, 5))
    t[0] = np.round(t[0])  # hard labels too
    w = rng.uniform(0.2, 2.0, (4, 5)) if weighted else None
    _run(lambda a, b, c: F.binary_cross_entropy(a, b, weight=c, reduction=reduction),
         lambda a, b, c: TF.binary_cross_entropy(a, b, weight=c, reduction=reduction),
         [x, t, w], (0, 1), rng, dtype,  # PyTorch does not differentiate the weight
         **({"rtol": 1e-4} if dtype == np.float32 else {"rtol": 1e-9}))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_binary_cross_entropy_clamps_log_at_minus_100(dtype):
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-50 if dtype == np.float64 else 0.0], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype)
    mine = F.binary_cross_entropy(cr.tensor(x, requires_grad=True), cr.tensor(t), reduction="none")
    theirs = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none")
    np.testing.assert_array_equal(_np(mine), theirs.numpy())
    assert _np(mine)[0] == 100.0
    mine.sum().backward()  # finite gradients, no 0/0
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))
    with pytest.raises(ValueError, match="size"):
        F.binary_cross_entropy(cr.tensor([0.5, 0.5]), cr.tensor([1.0]))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,pos", list(itertools.product([False, True], [None, "vec", "full"])))
def test_bce_with_logits_matches_torch(weighted, pos, reduction, dtype, rng):
    x = rng.standard_normal((4, 3)) * 4
    x[0] = [1e4, -1e4, 0.0]
    x[1] = [-1e4, 1e4, 30.0]
    t = rng.random((4, 3))
    t[0] = [0.0, 1.0, 1.0]  # the wrong answer at +-1e4: loss 1e4, gradient +-1
    t[1] = [0.0, 1.0, 0.0]
    w = rng.uniform(0.2, 2.0, (4, 3)) if weighted else None
    pw = None if pos is None else rng.uniform(0.5, 3.0, (3,) if pos == "vec" else (4, 3))
    diff = (0, 1)  # PyTorch refuses weight/pos_weight that require grad
    _run(lambda a, b, c, d: F.binary_cross_entropy_with_logits(a, b, c, reduction=reduction, pos_weight=d),
         lambda a, b, c, d: TF.binary_cross_entropy_with_logits(a, b, c, reduction=reduction, pos_weight=d),
         [x, t, w, pw], diff, rng, dtype)


# ----------------------------------------------------------------------------- kl_div

@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(log_target, reduction, dtype, rng):
    x = np.log(rng.dirichlet(np.ones(5), 4))
    p = rng.dirichlet(np.ones(5), 4)
    t = np.log(p) if log_target else p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
             lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
             [x, t], (0, 1), rng, dtype)


def test_kl_div_zero_target_gives_zero_not_nan():
    x = np.log(np.array([[0.5, 0.5, 1e-30]]))
    t = np.array([[0.5, 0.5, 0.0]])
    mine = F.kl_div(cr.tensor(x, requires_grad=True), cr.tensor(t), reduction="sum")
    theirs = TF.kl_div(torch.tensor(x), torch.tensor(t), reduction="sum")
    np.testing.assert_allclose(mine.item(), theirs.item(), rtol=1e-12)
    assert mine.item() == 0.0


# ----------------------------------------------------------------------------- modules

LOSS_MODULES = [
    ("MSELoss", {}, "reg"), ("L1Loss", {"reduction": "sum"}, "reg"),
    ("SmoothL1Loss", {"beta": 0.5}, "reg"), ("HuberLoss", {"delta": 0.7, "reduction": "none"}, "reg"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 1}, "cls"),
    ("CrossEntropyLoss", {"weight": "C"}, "cls"), ("NLLLoss", {"weight": "C"}, "cls"),
    ("NLLLoss", {"reduction": "sum"}, "cls"), ("BCELoss", {"weight": "X"}, "prob"),
    ("BCEWithLogitsLoss", {"pos_weight": "C"}, "logit"),
    ("BCEWithLogitsLoss", {"weight": "X", "pos_weight": "C", "reduction": "sum"}, "logit"),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, "kl"),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("cls,kwargs,kind", LOSS_MODULES, ids=[f"{c}{k}" for c, k, _ in LOSS_MODULES])
def test_loss_modules_match_torch(cls, kwargs, kind, dtype, rng):
    N, C = 5, 4
    extra = {}
    for k, v in kwargs.items():
        if v == "C":
            extra[k] = rng.uniform(0.3, 2.0, C).astype(dtype)
        elif v == "X":
            extra[k] = rng.uniform(0.3, 2.0, (N, C)).astype(dtype)
    mine = getattr(nn, cls)(**{k: cr.tensor(extra[k]) if k in extra else v for k, v in kwargs.items()})
    theirs = getattr(tnn, cls)(**{k: torch.tensor(extra[k]) if k in extra else v
                                  for k, v in kwargs.items()})
    assert repr(mine) == repr(theirs)
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict())
    assert [k for k, _ in mine.named_buffers()] == [k for k, _ in theirs.named_buffers()]
    for k in extra:  # weights are buffers, not parameters
        assert not list(mine.parameters())
        np.testing.assert_array_equal(getattr(mine, k).numpy(), extra[k])
    if kind == "reg":
        x, t = rng.standard_normal((N, C)), rng.standard_normal((N, C))
    elif kind == "cls":
        x, t = rng.standard_normal((N, C)), rng.integers(0, C, N)
        if cls == "NLLLoss":
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
    elif kind == "prob":
        x, t = rng.uniform(0.05, 0.95, (N, C)), rng.random((N, C))
    elif kind == "logit":
        x, t = rng.standard_normal((N, C)) * 3, rng.random((N, C))
    else:
        x = np.log(rng.dirichlet(np.ones(C), N))
        t = np.log(rng.dirichlet(np.ones(C), N))
    _run(mine, theirs, [x, t], (0,), rng, dtype, **({"rtol": 1e-4} if kind == "prob" and
                                                    dtype == np.float32 else {}))


def test_loss_module_weight_follows_to_dtype():
    loss = nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0, 3.0]))
    loss.to(cr.float64)
    assert loss.weight.dtype == cr.float64
    assert "weight" in loss.state_dict()


# ----------------------------------------------------------------------------- finite differences

def _fd_check(fn, arrays, diff, rng, eps=1e-6):
    """chainrule.autograd.grad of fn against central finite differences, float64."""
    xs = [cr.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out = fn(*xs)
    u = rng.standard_normal(tuple(out.shape))
    grads = cr.autograd.grad((out * cr.tensor(u)).sum(), [xs[i] for i in diff])
    for g, i in zip(grads, diff):
        def f():
            with cr.no_grad():
                return float((fn(*[cr.tensor(a) for a in arrays]).numpy() * u).sum())
        np.testing.assert_allclose(g.numpy(), finite_difference(f, arrays[i], eps), rtol=1e-5, atol=1e-7)


def test_losses_finite_differences(rng):
    x = rng.standard_normal((4, 5))
    t = rng.integers(0, 5, 4)
    t[1] = -100
    w = rng.uniform(0.5, 2.0, 5)
    _fd_check(lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.15),
              [x, t, w], (0, 2), rng)
    p = rng.dirichlet(np.full(5, 8.0), 4)  # no tiny probabilities: d2/dp2 p log p = 1/p
    _fd_check(lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.1, reduction="sum"),
              [x, p, w], (0, 1, 2), rng)
    y = rng.random((4, 5))
    pw = rng.uniform(0.5, 2.0, 5)
    _fd_check(lambda a, b, c: F.binary_cross_entropy_with_logits(a, b, pos_weight=c), [x, y, pw],
              (0, 1, 2), rng)
    _fd_check(lambda a, b: F.binary_cross_entropy(a, b), [rng.uniform(0.1, 0.9, (3, 4)), y[:3, :4]],
              (0, 1), rng)
    d = rng.standard_normal((4, 5)) * 2
    d[np.abs(d - x) < 0.05] += 0.2  # away from the kinks at |x - d| = 0, beta, delta
    _fd_check(lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), [x, d], (0, 1), rng)
    _fd_check(lambda a, b: F.huber_loss(a, b, delta=0.8), [x, d], (0, 1), rng)
    _fd_check(lambda a, b: F.kl_div(a, b, reduction="batchmean"), [x, p], (0, 1), rng)


def test_cross_entropy_backward_is_softmax_minus_onehot(rng):
    # the textbook identity, independent of PyTorch: d CE / d logits = softmax - onehot (mean / N)
    x = rng.standard_normal((3, 4))
    t = np.array([2, 0, 3])
    a = cr.tensor(x, requires_grad=True)
    F.cross_entropy(a, cr.tensor(t)).backward()
    e = np.exp(x - x.max(1, keepdims=True))
    expected = (e / e.sum(1, keepdims=True) - np.eye(4)[t]) / 3
    np.testing.assert_allclose(a.grad.numpy(), expected, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- transforms

def test_cross_entropy_under_vmap_jvp_and_hessian_matches_torch_func(rng):
    from chainrule.func import grad, hessian, jvp, vmap
    x = rng.standard_normal((6, 4))
    w = rng.standard_normal((4, 5))
    t = rng.integers(0, 5, 6)
    t[2] = -100  # an ignored example: its per-sample gradient is 0

    def mine(w_, xi, ti):
        return F.cross_entropy((xi @ w_).unsqueeze(0), ti.unsqueeze(0), label_smoothing=0.1)

    def theirs(w_, xi, ti):
        return TF.cross_entropy((xi @ w_).unsqueeze(0), ti.unsqueeze(0), label_smoothing=0.1)

    per_sample = vmap(grad(mine), in_dims=(None, 0, 0))(cr.tensor(w), cr.tensor(x), cr.tensor(t))
    expected = torch.func.vmap(torch.func.grad(theirs), in_dims=(None, 0, 0))(
        torch.tensor(w), torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(per_sample.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(per_sample.numpy()[2] == 0)

    logits = rng.standard_normal((3, 5)) * 3
    tt = np.array([0, 4, -100])
    v = rng.standard_normal((3, 5))
    f = lambda a: F.cross_entropy(a, cr.tensor(tt), label_smoothing=0.2)  # noqa: E731
    ft = lambda a: TF.cross_entropy(a, torch.tensor(tt), label_smoothing=0.2)  # noqa: E731
    _, tangent = jvp(f, (cr.tensor(logits),), (cr.tensor(v),))
    _, tangent_t = torch.func.jvp(ft, (torch.tensor(logits),), (torch.tensor(v),))
    np.testing.assert_allclose(tangent.item(), tangent_t.item(), rtol=1e-10)
    np.testing.assert_allclose(hessian(f)(cr.tensor(logits)).numpy(),
                               torch.func.hessian(ft)(torch.tensor(logits)).numpy(), atol=1e-12)
