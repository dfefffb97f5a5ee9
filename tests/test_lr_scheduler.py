"""chainrule.optim.lr_scheduler against PyTorch: the same learning-rate (and momentum)
sequences, step for step, for each scheduler in several settings."""
import copy
import math
import warnings

import pytest

import chainrule

torch = pytest.importorskip("torch")

EPOCHS = 40


def _optimizer(lib, kind="SGD"):
    """An optimizer with two groups of different learning rates."""
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return getattr(lib.optim, kind)(groups, lr=0.1)


def _lr_sequence(lib, make_sched, epochs=EPOCHS, kind="SGD", metrics=None):
    """Record (get_last_lr, group lrs, momentum or beta1) after construction and each step."""
    opt = _optimizer(lib, kind)
    sched = make_sched(lib.optim.lr_scheduler, opt)

    def momentum(g):
        return g["betas"][0] if "betas" in g else g.get("momentum")

    seq = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
            [momentum(g) for g in opt.param_groups])]
    for epoch in range(epochs):
        opt.step()  # no gradients: nothing moves, but the scheduler sees the call
        if metrics is not None:
            sched.step(metrics[epoch])
        else:
            sched.step()
        seq.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                    [momentum(g) for g in opt.param_groups]))
    return seq


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for epoch, (o, t) in enumerate(zip(ours, theirs)):
        for what, ov, tv in zip(("get_last_lr", "group lr", "momentum"), o, t):
            assert ov == pytest.approx(tv, rel=1e-12, abs=1e-15), f"epoch {epoch}: {what}"


def _assert_varies(seq):
    lrs = {tuple(s[1]) for s in seq}
    assert len(lrs) >= 2, "the reference schedule is constant; the test would prove nothing"


SCHEDULES = {
    "StepLR": lambda s, o: s.StepLR(o, step_size=7),
    "StepLR-gamma": lambda s, o: s.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ExponentialLR": lambda s, o: s.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda s, o: s.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta_min": lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingLR-long": lambda s, o: s.CosineAnnealingLR(o, T_max=50, eta_min=1e-3),
    "LambdaLR": lambda s, o: s.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e / (1 + e % 3)),
    "LambdaLR-per-group": lambda s, o: s.LambdaLR(
        o, lr_lambda=[lambda e: 1 / (e + 1), lambda e: min(1.0, (e + 1) / 10)]),
    "ConstantLR": lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda s, o: s.LinearLR(o),
    "LinearLR-decay": lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=25),
    "LinearLR-warmup": lambda s, o: s.LinearLR(o, start_factor=0.01, total_iters=12),
    "OneCycleLR": lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=EPOCHS),
    "OneCycleLR-linear": lambda s, o: s.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=EPOCHS + 5,
                                                   anneal_strategy="linear", pct_start=0.25),
    "OneCycleLR-three-phase": lambda s, o: s.OneCycleLR(
        o, max_lr=0.3, epochs=4, steps_per_epoch=10, three_phase=True, div_factor=10.0,
        final_div_factor=100.0),
    "OneCycleLR-no-momentum": lambda s, o: s.OneCycleLR(o, max_lr=0.3, total_steps=EPOCHS,
                                                        cycle_momentum=False),
    "SequentialLR": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=5), s.CosineAnnealingLR(o, T_max=20)],
        milestones=[5]),
    "SequentialLR-three": lambda s, o: s.SequentialLR(
        o, [s.ConstantLR(o, factor=0.5, total_iters=3), s.ExponentialLR(o, gamma=0.8), s.StepLR(o, step_size=4, gamma=0.5)],
        milestones=[4, 15]),
    "SequentialLR-lambda": lambda s, o: s.SequentialLR(
        o, [s.LambdaLR(o, lambda e: (e + 1) / 6), s.MultiStepLR(o, milestones=[10, 20])],
        milestones=[6]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    make = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _lr_sequence(torch, make)
    ours = _lr_sequence(chainrule, make)
    _assert_varies(theirs)
    _assert_same(ours, theirs)


@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
def test_one_cycle_cycles_adam_beta1(kind):
    make = lambda s, o: s.OneCycleLR(o, max_lr=0.01, total_steps=EPOCHS, base_momentum=0.8,  # noqa: E731
                                     max_momentum=0.9)
    theirs = _lr_sequence(torch, make, kind=kind)
    ours = _lr_sequence(chainrule, make, kind=kind)
    assert len({s[2][0] for s in theirs}) > 2
    _assert_same(ours, theirs)


def test_one_cycle_past_total_steps_raises():
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_one_cycle_needs_a_momentum():
    p = chainrule.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="momentum or beta1"):
        chainrule.optim.lr_scheduler.OneCycleLR(chainrule.optim.Adagrad([p]), max_lr=0.1,
                                                total_steps=5)


PLATEAU_METRICS = ([1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.79999, 0.7, 0.7, 0.7, 0.7, 0.7]
                   + [0.5 + 0.01 * math.sin(i) for i in range(28)])

PLATEAUS = {
    "default": lambda s, o: s.ReduceLROnPlateau(o),
    "patience": lambda s, o: s.ReduceLROnPlateau(o, patience=2, factor=0.5),
    "cooldown": lambda s, o: s.ReduceLROnPlateau(o, patience=1, cooldown=2, factor=0.5,
                                                 min_lr=[0.01, 0.02]),
    "abs": lambda s, o: s.ReduceLROnPlateau(o, patience=0, threshold=0.05, threshold_mode="abs",
                                            factor=0.7, min_lr=0.003),
    "max-rel": lambda s, o: s.ReduceLROnPlateau(o, mode="max", patience=1, threshold=0.01),
    "eps": lambda s, o: s.ReduceLROnPlateau(o, patience=0, factor=0.5, eps=0.01),
}


@pytest.mark.parametrize("name", list(PLATEAUS))
def test_reduce_lr_on_plateau_matches_torch(name):
    theirs = _lr_sequence(torch, PLATEAUS[name], metrics=PLATEAU_METRICS)
    ours = _lr_sequence(chainrule, PLATEAUS[name], metrics=PLATEAU_METRICS)
    if name != "default":
        _assert_varies(theirs)
    _assert_same(ours, theirs)


def test_reduce_lr_on_plateau_accepts_tensor_metric():
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(chainrule.tensor(1.0))
    sched.step(chainrule.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR",
                                  "LambdaLR", "ExponentialLR"])
def test_scheduler_state_dict_round_trip(name):
    """Save optimizer and scheduler mid-way, restore into fresh ones, continue: the same
    lrs as an uninterrupted run (and as PyTorch's)."""
    make = SCHEDULES[name]
    full = _lr_sequence(chainrule, make, epochs=EPOCHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _lr_sequence(torch, make, epochs=EPOCHS)

    opt = _optimizer(chainrule)
    sched = make(chainrule.optim.lr_scheduler, opt)
    lrs = [list(sched.get_last_lr())]
    for _ in range(EPOCHS // 2):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
    opt_sd = copy.deepcopy(opt.state_dict())
    sched_sd = copy.deepcopy(sched.state_dict())

    opt2 = _optimizer(chainrule)
    sched2 = make(chainrule.optim.lr_scheduler, opt2)  # PyTorch's order: scheduler first
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sched_sd)
    for _ in range(EPOCHS - EPOCHS // 2):
        opt2.step()
        sched2.step()
        lrs.append(list(sched2.get_last_lr()))
    for epoch, (got, want, ref) in enumerate(zip(lrs, full, theirs)):
        assert got == pytest.approx(want[0], rel=1e-12), f"epoch {epoch}"
        assert got == pytest.approx(ref[0], rel=1e-12), f"epoch {epoch}"


def test_initial_lr_and_last_epoch():
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.StepLR(opt, step_size=2)
    assert sched.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.base_lrs == [0.1, 0.05]
    opt.step()
    sched.step()
    assert sched.last_epoch == 1
    with pytest.raises(KeyError, match="initial_lr"):
        chainrule.optim.lr_scheduler.StepLR(_optimizer(chainrule), step_size=2, last_epoch=3)


def test_resume_with_last_epoch_matches_torch():
    out = []
    for lib in (torch, chainrule):
        opt = _optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        lrs = [list(sched.get_last_lr())]
        for _ in range(8):
            opt.step()
            sched.step()
            lrs.append(list(sched.get_last_lr()))
        out.append([lr for epoch in lrs for lr in epoch])
    assert out[1] == pytest.approx(out[0], rel=1e-12)
    assert len(set(out[0])) > 4


def test_step_with_epoch_uses_closed_form_like_torch():
    out = []
    for lib in (torch, chainrule):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 6], gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
            sched.step(7)
        out.append(list(sched.get_last_lr()))
    assert out[1] == pytest.approx(out[0], rel=1e-12)
    assert out[0] == pytest.approx([0.025, 0.0125])


def test_warns_when_scheduler_steps_before_optimizer():
    for lib in (torch, chainrule):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            sched.step()
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_schedules_drive_training():
    """The scheduled lr is the one the optimizer uses."""
    p = chainrule.tensor([1.0], dtype=chainrule.float64, requires_grad=True)
    opt = chainrule.optim.SGD([p], lr=1.0)
    sched = chainrule.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        opt.step()  # no grad yet
        sched.step()
    opt.zero_grad()
    (p * 1.0).sum().backward()  # gradient 1
    opt.step()
    assert p.item() == pytest.approx(1.0 - 0.125)


def test_invalid_scheduler_arguments():
    s = chainrule.optim.lr_scheduler
    opt = _optimizer(chainrule)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        s.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        s.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="unknown"):
        s.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="total_steps"):
        s.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        s.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        s.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="number of milestone points"):
        s.SequentialLR(opt, [s.StepLR(opt, 2), s.StepLR(opt, 3)], milestones=[])
