"""chainrule.optim against PyTorch: from the same start, each optimizer must follow
PyTorch's parameter trajectory (float64, gradients from each library's own autograd),
and the bookkeeping (groups, zero_grad, state_dict) must behave as PyTorch's does."""
import copy
import warnings

import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")

STEPS = 20
RTOL, ATOL = 1e-6, 1e-8


# ----------------------------------------------------------------------------- problems

def _mlp_arrays(seed=0):
    """A tiny 2-layer tanh MLP regression problem: weights, biases, inputs, targets."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 0.5, (3, 5)), rng.normal(0, 0.1, (5,)),
              rng.normal(0, 0.5, (5, 2)), rng.normal(0, 0.1, (2,))]
    x = rng.normal(size=(16, 3))
    y = np.stack([np.sin(x[:, 0]) + x[:, 1] * x[:, 2], np.cos(x[:, 1])], axis=1)
    return params, x, y


def _mlp_loss(lib, params, x, y):
    w1, b1, w2, b2 = params
    out = lib.tanh(x @ w1 + b1) @ w2 + b2
    return ((out - y) ** 2).mean()


def _leaves(lib, arrays):
    return [lib.tensor(a.copy(), dtype=lib.float64, requires_grad=True) for a in arrays]


def _numpy(t):
    return np.array(t.detach().numpy(), copy=True)


def _trajectory(lib, make_opt, steps=STEPS, seed=0, params=None, opt=None):
    """Train the MLP for ``steps`` steps; returns (params after each step, params, opt)."""
    arrays, x, y = _mlp_arrays(seed)
    params = params if params is not None else _leaves(lib, arrays)
    x_t, y_t = lib.tensor(x, dtype=lib.float64), lib.tensor(y, dtype=lib.float64)
    opt = opt if opt is not None else make_opt(lib, params)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        _mlp_loss(lib, params, x_t, y_t).backward()
        opt.step()
        traj.append([_numpy(p) for p in params])
    return traj, params, opt


def _assert_same_trajectory(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for i, (pa, pb) in enumerate(zip(a, b)):
            np.testing.assert_allclose(pa, pb, rtol=RTOL, atol=ATOL,
                                       err_msg=f"step {step + 1}, parameter {i}")


def _assert_moved(traj, start_seed=0):
    """Guard against a configuration in which nothing happens (then any optimizer passes)."""
    start, _, _ = _mlp_arrays(start_seed)
    moved = max(np.abs(p - s).max() for p, s in zip(traj[-1], start))
    assert moved > 1e-3, "the reference trajectory barely moves; the test would prove nothing"


def _factory(name, **kwargs):
    return lambda lib, params: getattr(lib.optim, name)(params, **kwargs)


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.02)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.02)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, centered=True, weight_decay=0.1, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_matches_torch(name, kwargs):
    theirs, _, _ = _trajectory(torch, _factory(name, **kwargs))
    ours, _, _ = _trajectory(chainrule, _factory(name, **kwargs))
    _assert_moved(theirs)
    _assert_same_trajectory(ours, theirs)


def test_quadratic_trajectory_matches_torch():
    """A second problem: an ill-conditioned quadratic, with SGD+nesterov and Adam."""
    a = np.diag([1.0, 10.0, 100.0]) + 0.5
    b = np.array([1.0, -2.0, 3.0])
    for name, kw in [("SGD", dict(lr=0.005, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.1))]:
        trajs = []
        for lib in (torch, chainrule):
            x = lib.tensor(np.zeros(3), dtype=lib.float64, requires_grad=True)
            A, B = lib.tensor(a, dtype=lib.float64), lib.tensor(b, dtype=lib.float64)
            opt = getattr(lib.optim, name)([x], **kw)
            traj = []
            for _ in range(STEPS):
                opt.zero_grad()
                (0.5 * (x @ (A @ x)) - (B * x).sum()).backward()
                opt.step()
                traj.append([_numpy(x)])
            trajs.append(traj)
        assert np.abs(trajs[0][-1][0]).max() > 1e-2
        _assert_same_trajectory(trajs[1], trajs[0])


# ----------------------------------------------------------------------------- LBFGS

def _lbfgs_trajectory(lib, steps, problem, **kwargs):
    if problem == "mlp":
        arrays, x, y = _mlp_arrays(1)
        params = _leaves(lib, arrays)
        x_t, y_t = lib.tensor(x, dtype=lib.float64), lib.tensor(y, dtype=lib.float64)

        def loss_fn():
            return _mlp_loss(lib, params, x_t, y_t)
    else:  # Rosenbrock, the classic line-search test
        params = [lib.tensor([-1.5, 2.0], dtype=lib.float64, requires_grad=True)]

        def loss_fn():
            p = params[0]
            return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
    opt = lib.optim.LBFGS(params, **kwargs)
    calls = []

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        calls.append(1)
        return loss

    traj, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        traj.append([_numpy(p) for p in params])
    return traj, losses, len(calls), opt


@pytest.mark.parametrize("problem", ["mlp", "rosenbrock"])
@pytest.mark.parametrize("kwargs", [
    dict(lr=0.5, max_iter=4),
    dict(lr=1, max_iter=5, history_size=3),
    dict(max_iter=4, line_search_fn="strong_wolfe"),
    dict(max_iter=6, history_size=4, line_search_fn="strong_wolfe"),
    # a long first trial step and a short one: the search must bracket, then zoom
    dict(lr=3, max_iter=10, line_search_fn="strong_wolfe"),
    dict(lr=0.1, max_iter=10, line_search_fn="strong_wolfe"),
], ids=["fixed", "fixed-history3", "wolfe", "wolfe-history4", "wolfe-long", "wolfe-short"])
def test_lbfgs_matches_torch(problem, kwargs):
    steps = 5 if problem == "mlp" else 4
    t_traj, t_losses, t_calls, t_opt = _lbfgs_trajectory(torch, steps, problem, **kwargs)
    c_traj, c_losses, c_calls, c_opt = _lbfgs_trajectory(chainrule, steps, problem, **kwargs)
    start = [-1.5, 2.0] if problem == "rosenbrock" else _mlp_arrays(1)[0][0]
    assert np.abs(t_traj[-1][0] - start).max() > 1e-2
    _assert_same_trajectory(c_traj, t_traj)
    np.testing.assert_allclose(c_losses, t_losses, rtol=1e-9)
    assert c_calls == t_calls  # the same number of function evaluations
    t_state = t_opt.state[t_opt.param_groups[0]["params"][0]]
    c_state = c_opt.state[c_opt.param_groups[0]["params"][0]]
    assert c_state["func_evals"] == t_state["func_evals"]
    assert c_state["n_iter"] == t_state["n_iter"]


def test_lbfgs_requires_closure_and_one_group():
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt = chainrule.optim.LBFGS([p])
    with pytest.raises(TypeError, match="closure"):
        opt.step()
    q = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        chainrule.optim.LBFGS([{"params": [p]}, {"params": [q]}])
    with pytest.raises(ValueError, match="line_search_fn"):
        chainrule.optim.LBFGS([p], line_search_fn="armijo")


# ----------------------------------------------------------------------------- groups

def test_param_groups_with_different_lrs_match_torch():
    def make(lib, params):
        return lib.optim.SGD([{"params": params[:2], "lr": 0.3},
                              {"params": params[2:], "momentum": 0.5}], lr=0.05, momentum=0.9)
    theirs, _, t_opt = _trajectory(torch, make)
    ours, _, c_opt = _trajectory(chainrule, make)
    _assert_same_trajectory(ours, theirs)
    assert [g["lr"] for g in c_opt.param_groups] == [0.3, 0.05]
    assert [g["momentum"] for g in c_opt.param_groups] == [0.9, 0.5]
    # the groups hold every default, as PyTorch's do
    assert [sorted(g) for g in c_opt.param_groups] == [sorted(g) for g in t_opt.param_groups]


def test_adam_groups_and_add_param_group_match_torch():
    def make(lib, params):
        opt = lib.optim.Adam([{"params": params[:2], "lr": 0.05, "amsgrad": True}], lr=0.01)
        opt.add_param_group({"params": params[2:], "weight_decay": 0.2})
        return opt
    theirs, _, _ = _trajectory(torch, make)
    ours, _, opt = _trajectory(chainrule, make)
    _assert_same_trajectory(ours, theirs)
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["amsgrad"] is False


def test_params_without_grad_are_skipped():
    """A parameter whose .grad is None is not stepped (and gets no state)."""
    for lib in (torch, chainrule):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0], requires_grad=True)
        opt = lib.optim.Adam([a, b], lr=0.1)
        (a * a).sum().backward()
        opt.step()
        assert b.tolist() == [3.0]
        assert len(opt.state[b]) == 0 and len(opt.state[a]) > 0
        assert a.tolist() != [1.0, 2.0]


# ----------------------------------------------------------------------------- zero_grad

def test_zero_grad_set_to_none_default():
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt = chainrule.optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    assert p.grad is not None
    opt.zero_grad()
    assert p.grad is None


def test_zero_grad_keep_tensors_zeroes_in_place():
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt = chainrule.optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g
    assert g.tolist() == [0.0, 0.0]
    (p * 2).sum().backward()  # accumulates into the zeroed gradient
    assert p.grad.tolist() == [2.0, 2.0]


def test_zero_grad_of_a_gradient_with_history():
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt = chainrule.optim.SGD([p], lr=0.1)
    (p ** 3).sum().backward(create_graph=True)
    assert p.grad.requires_grad
    opt.zero_grad(set_to_none=False)
    assert not p.grad.requires_grad and p.grad.grad_fn is None
    assert p.grad.tolist() == [0.0, 0.0]


def test_zero_vs_none_gradient_differ_as_in_torch():
    """With momentum, a zero gradient still moves the parameter; a None one does not."""
    for set_to_none in (True, False):
        out = []
        for lib in (torch, chainrule):
            p = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
            opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
            (p * p).sum().backward()
            opt.step()
            opt.zero_grad(set_to_none=set_to_none)
            opt.step()
            out.append(_numpy(p))
        np.testing.assert_allclose(out[1], out[0], rtol=1e-12)
    # and the two settings give different results (so the comparison above can fail)
    p1 = chainrule.tensor([1.0], requires_grad=True)
    opt = chainrule.optim.SGD([p1], lr=0.1, momentum=0.9)
    (p1 * p1).sum().backward()
    opt.step()
    before = p1.item()
    opt.zero_grad(set_to_none=False)
    opt.step()
    assert p1.item() != before


# ----------------------------------------------------------------------------- in place

@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_step_updates_in_place_without_recording(name):
    base = np.array([1.0, -2.0, 0.5])
    p = chainrule.from_numpy(base).requires_grad_()
    view = p.detach().numpy()
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    opt = getattr(chainrule.optim, name)([p], lr=0.1, **kwargs)
    version = p._version
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert np.shares_memory(p.detach().numpy(), base)
    assert view.tolist() == p.tolist() and base.tolist() == p.tolist()
    assert base.tolist() != [1.0, -2.0, 0.5]
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    assert p._version > version  # the change is visible to autograd's version checks


def test_lbfgs_updates_in_place():
    base = np.array([-1.0, 1.5])
    p = chainrule.from_numpy(base).requires_grad_()
    opt = chainrule.optim.LBFGS([p], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((p - 3.0) ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    np.testing.assert_allclose(base, [3.0, 3.0], atol=1e-6)


def test_float32_parameters_stay_float32():
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    for cls in (chainrule.optim.Adam, chainrule.optim.RMSprop, chainrule.optim.Adagrad):
        opt = cls([p], lr=0.1)
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        assert p.dtype == chainrule.float32
        assert all(v.dtype in (chainrule.float32,) for v in opt.state[p].values())


# ----------------------------------------------------------------------------- state dict

def _as_torch(obj):
    if isinstance(obj, chainrule.Tensor):
        return torch.tensor(np.array(obj.numpy(), copy=True))
    if isinstance(obj, torch.Tensor):
        return chainrule.tensor(obj.numpy().copy())
    if isinstance(obj, dict):
        return {k: _as_torch(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_as_torch(v) for v in obj]
    return obj


ROUND_TRIP = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.02, amsgrad=True)),
    ("AdamW", dict(lr=0.02)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adadelta", dict(lr=0.5)),
]


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_state_dict_round_trip_continues_the_trajectory(name, kwargs):
    make = _factory(name, **kwargs)
    full, _, _ = _trajectory(chainrule, make, steps=STEPS)
    theirs, _, _ = _trajectory(torch, make, steps=STEPS)

    first, params, opt = _trajectory(chainrule, make, steps=STEPS // 2)
    saved = copy.deepcopy(opt.state_dict())  # as if written to disk
    # a fresh optimizer over fresh tensors holding the current values
    fresh = [chainrule.tensor(_numpy(p), dtype=chainrule.float64, requires_grad=True) for p in params]
    opt2 = make(chainrule, fresh)
    opt2.load_state_dict(saved)
    rest, _, _ = _trajectory(chainrule, make, steps=STEPS - STEPS // 2, params=fresh, opt=opt2)
    _assert_same_trajectory(first + rest, full)
    _assert_same_trajectory(first + rest, theirs)


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=[n for n, _ in ROUND_TRIP])
def test_state_dict_layout_matches_torch(name, kwargs):
    """After the same steps the two state dicts hold the same keys and values, and a
    state dict from PyTorch loads into chainrule (and continues PyTorch's trajectory)."""
    make = _factory(name, **kwargs)
    _, _, t_opt = _trajectory(torch, make, steps=5)
    _, c_params, c_opt = _trajectory(chainrule, make, steps=5)
    t_sd, c_sd = t_opt.state_dict(), c_opt.state_dict()
    assert c_sd["param_groups"] == t_sd["param_groups"]
    assert sorted(c_sd["state"]) == sorted(t_sd["state"])
    for i in t_sd["state"]:
        assert sorted(c_sd["state"][i]) == sorted(t_sd["state"][i])
        for key, tv in t_sd["state"][i].items():
            cv = c_sd["state"][i][key]
            assert isinstance(cv, chainrule.Tensor)
            assert str(cv.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], key
            np.testing.assert_allclose(cv.numpy(), tv.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)

    # load torch's state into a fresh chainrule optimizer: the next steps follow torch's
    fresh = [chainrule.tensor(_numpy(p), dtype=chainrule.float64, requires_grad=True)
             for p in t_opt.param_groups[0]["params"]]
    opt2 = make(chainrule, fresh)
    opt2.load_state_dict(_as_torch(t_sd))
    ours, _, _ = _trajectory(chainrule, make, steps=5, params=fresh, opt=opt2)
    theirs, _, _ = _trajectory(torch, make, steps=5, params=t_opt.param_groups[0]["params"], opt=t_opt)
    _assert_same_trajectory(ours, theirs)


def test_state_dict_groups_and_lr_are_restored():
    a = chainrule.tensor([1.0], requires_grad=True)
    b = chainrule.tensor([2.0], requires_grad=True)
    opt = chainrule.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    opt.zero_grad()
    (a * b).sum().backward()
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert set(sd["state"]) == {0, 1}

    a2, b2 = chainrule.tensor([1.0], requires_grad=True), chainrule.tensor([2.0], requires_grad=True)
    opt2 = chainrule.optim.SGD([{"params": [a2]}, {"params": [b2]}], lr=0.7, momentum=0.9)
    opt2.load_state_dict(sd)
    assert [g["lr"] for g in opt2.param_groups] == [0.1, 0.5]
    assert opt2.param_groups[0]["params"][0] is a2
    assert opt2.state[b2]["momentum_buffer"].tolist() == opt.state[b]["momentum_buffer"].tolist()
    # loaded state is a copy: stepping opt2 leaves the saved dict alone
    buf = sd["state"][1]["momentum_buffer"].tolist()
    opt2.zero_grad()
    (a2 * b2).sum().backward()
    opt2.step()
    assert sd["state"][1]["momentum_buffer"].tolist() == buf


def test_load_state_dict_validates_groups():
    a = chainrule.tensor([1.0], requires_grad=True)
    b = chainrule.tensor([2.0], requires_grad=True)
    sd = chainrule.optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        chainrule.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        chainrule.optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        chainrule.optim.SGD([a], lr=0.1).load_state_dict({"lr": 0.1})


def test_load_state_dict_casts_state_to_param_dtype_but_not_step():
    p64 = chainrule.tensor([1.0, 2.0], dtype=chainrule.float64, requires_grad=True)
    opt = chainrule.optim.Adam([p64], lr=0.1)
    (p64 * p64).sum().backward()
    opt.step()
    p32 = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt32 = chainrule.optim.Adam([p32], lr=0.1)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[p32]["exp_avg"].dtype == chainrule.float32
    assert opt32.state[p32]["step"].dtype == opt.state[p64]["step"].dtype


# ----------------------------------------------------------------------------- errors

def test_invalid_hyperparameters_raise_like_torch():
    p = chainrule.tensor([1.0], requires_grad=True)
    cases = [
        (chainrule.optim.SGD, dict(lr=-0.1), "Invalid learning rate"),
        (chainrule.optim.SGD, dict(lr=0.1, momentum=-1), "Invalid momentum value"),
        (chainrule.optim.SGD, dict(lr=0.1, weight_decay=-1), "Invalid weight_decay value"),
        (chainrule.optim.SGD, dict(lr=0.1, nesterov=True), "Nesterov momentum requires"),
        (chainrule.optim.Adam, dict(lr=-1), "Invalid learning rate"),
        (chainrule.optim.Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
        (chainrule.optim.Adam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (chainrule.optim.AdamW, dict(eps=-1e-8), "Invalid epsilon value"),
        (chainrule.optim.RMSprop, dict(alpha=-0.5), "Invalid alpha value"),
        (chainrule.optim.Adagrad, dict(lr_decay=-1), "Invalid lr_decay value"),
        (chainrule.optim.Adadelta, dict(rho=1.5), "Invalid rho value"),
        (chainrule.optim.LBFGS, dict(lr=-1), "Invalid learning rate"),
    ]
    for cls, kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            cls([p], **kwargs)
        # the same call is refused by PyTorch with the same message
        with pytest.raises(ValueError, match=message):
            getattr(torch.optim, cls.__name__)([torch.zeros(1, requires_grad=True)], **kwargs)


def test_bad_params_arguments():
    p = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        chainrule.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        chainrule.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        chainrule.optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        chainrule.optim.SGD([p, 3.0], lr=0.1)


def test_parameter_given_twice_is_an_error():
    p = chainrule.tensor([1.0], requires_grad=True)
    q = chainrule.tensor([2.0], requires_grad=True)
    with pytest.raises(ValueError, match="same parameter twice"):
        chainrule.optim.SGD([p, q, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        chainrule.optim.SGD([{"params": [p]}, {"params": [q, p]}], lr=0.1)
    opt = chainrule.optim.Adam([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": p})


def test_non_leaf_tensor_is_refused():
    p = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        chainrule.optim.SGD([p * 2], lr=0.1)


def test_step_returns_closure_loss():
    p = chainrule.tensor([1.0, 2.0], requires_grad=True)
    opt = chainrule.optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert p.tolist() == pytest.approx([0.8, 1.6])


def test_repr_lists_groups_like_torch():
    p = chainrule.tensor([1.0], requires_grad=True)
    tp = torch.zeros(1, requires_grad=True)
    assert repr(chainrule.optim.SGD([p], lr=0.1)) == repr(torch.optim.SGD([tp], lr=0.1))


def test_no_warnings_during_a_normal_step():
    arrays, x, y = _mlp_arrays()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _trajectory(chainrule, _factory("Adam", lr=0.01), steps=2)


def test_addcmul_addcdiv_match_torch():
    """The in-place helpers optimizers use (added to Tensor for chainrule.optim)."""
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.uniform(1, 2, size=(4,))
    for method in ("addcmul", "addcdiv"):
        for value in (1, -0.3):
            want = getattr(torch.tensor(a), method)(torch.tensor(b), torch.tensor(c), value=value)
            got = getattr(chainrule.tensor(a), method)(chainrule.tensor(b), chainrule.tensor(c), value=value)
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
            x = chainrule.tensor(a.copy())
            arr = x.numpy()
            out = getattr(x, method + "_")(chainrule.tensor(b), chainrule.tensor(c), value=value)
            assert out is x and np.shares_memory(x.numpy(), arr)
            np.testing.assert_allclose(x.numpy(), want.numpy(), rtol=1e-12)
    # out of place, they are differentiable (composed from primitives)
    t = chainrule.tensor(b, requires_grad=True)
    chainrule.tensor(a).addcmul(t, chainrule.tensor(c), value=2.0).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), np.broadcast_to(2.0 * c, b.shape))
