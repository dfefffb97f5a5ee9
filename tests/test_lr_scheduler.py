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
    "SequentialLR-poly": lambda s, o: s.SequentialLR(
        o, [s.ConstantLR(o, factor=0.5, total_iters=4), s.PolynomialLR(o, total_iters=20, power=1.5)],
        milestones=[4]),
    "SequentialLR-warm-restarts": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=5), s.CosineAnnealingWarmRestarts(o, T_0=6)],
        milestones=[5]),
    "MultiplicativeLR": lambda s, o: s.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
    "MultiplicativeLR-epoch": lambda s, o: s.MultiplicativeLR(
        o, lr_lambda=lambda e: 1.1 if e % 3 == 0 else 0.9),
    "MultiplicativeLR-per-group": lambda s, o: s.MultiplicativeLR(
        o, lr_lambda=[lambda e: 0.9, lambda e: 1.0 if e < 10 else 0.8]),
    "PolynomialLR": lambda s, o: s.PolynomialLR(o),
    "PolynomialLR-power": lambda s, o: s.PolynomialLR(o, total_iters=25, power=0.9),
    "PolynomialLR-square": lambda s, o: s.PolynomialLR(o, total_iters=EPOCHS + 10, power=2.0),
    "CyclicLR": lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5),
    "CyclicLR-triangular2": lambda s, o: s.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=4, step_size_down=7,
        mode="triangular2"),
    "CyclicLR-exp_range": lambda s, o: s.CyclicLR(
        o, base_lr=0.001, max_lr=0.05, step_size_up=6, mode="exp_range", gamma=0.97,
        base_momentum=[0.7, 0.75], max_momentum=[0.95, 0.9]),
    "CyclicLR-scale_fn-cycle": lambda s, o: s.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 1 / (1 + x)),
    "CyclicLR-scale_fn-iterations": lambda s, o: s.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=5, mode="nonsense",
        scale_fn=lambda x: 0.99 ** x, scale_mode="iterations"),
    "CyclicLR-no-momentum": lambda s, o: s.CyclicLR(
        o, base_lr=0.02, max_lr=0.2, step_size_up=8, cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=10),
    "CosineAnnealingWarmRestarts-mult": lambda s, o: s.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001),
    "CosineAnnealingWarmRestarts-mult3": lambda s, o: s.CosineAnnealingWarmRestarts(
        o, T_0=2, T_mult=3, eta_min=1e-4),
    "ChainedScheduler": lambda s, o: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.1, total_iters=20), s.ExponentialLR(o, gamma=0.9)]),
    "ChainedScheduler-three": lambda s, o: s.ChainedScheduler(
        [s.LinearLR(o, start_factor=0.2, total_iters=8), s.PolynomialLR(o, total_iters=30, power=2),
         s.MultiplicativeLR(o, lambda e: 0.98)], optimizer=o),
    "ChainedScheduler-steps": lambda s, o: s.ChainedScheduler(
        [s.StepLR(o, step_size=5, gamma=0.5), s.MultiStepLR(o, milestones=[7, 21], gamma=0.2)]),
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
                                  "LambdaLR", "ExponentialLR", "MultiplicativeLR-epoch",
                                  "PolynomialLR-power", "CyclicLR", "CyclicLR-triangular2",
                                  "CyclicLR-exp_range", "CyclicLR-scale_fn-iterations",
                                  "CosineAnnealingWarmRestarts-mult", "ChainedScheduler",
                                  "ChainedScheduler-three", "SequentialLR-warm-restarts"])
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


# ----------------------------------------------------------------- the newer schedulers
def _torch_quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
def test_cyclic_lr_cycles_adam_beta1(kind):
    make = lambda s, o: s.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=4,  # noqa: E731
                                   mode="triangular2", base_momentum=0.85, max_momentum=0.95)
    theirs = _torch_quiet(lambda: _lr_sequence(torch, make, kind=kind))
    ours = _lr_sequence(chainrule, make, kind=kind)
    assert len({s[2][0] for s in theirs}) > 2
    _assert_same(ours, theirs)
    opt = _optimizer(chainrule, kind)
    make(chainrule.optim.lr_scheduler, opt)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)  # beta2 is left alone


def test_cyclic_lr_values_by_hand():
    """Starts at base_lr with max_momentum; reaches max_lr with base_momentum after
    step_size_up steps; back down after step_size_down more."""
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.CyclicLR(opt, base_lr=[0.1, 0.2], max_lr=[1.1, 0.6],
                                                  step_size_up=4, step_size_down=2)
    g0, g1 = opt.param_groups
    assert (g0["lr"], g1["lr"], g0["momentum"]) == (0.1, 0.2, 0.9)
    assert (g0["max_momentum"], g0["base_momentum"]) == (0.9, 0.8)
    assert sched.base_lrs == [0.1, 0.2] and sched.max_lrs == [1.1, 0.6]
    lrs, moms = [], []
    for _ in range(7):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(g0["momentum"])
    assert lrs == pytest.approx([0.35, 0.6, 0.85, 1.1, 0.6, 0.1, 0.35])
    assert moms == pytest.approx([0.875, 0.85, 0.825, 0.8, 0.85, 0.9, 0.875])
    assert g1["lr"] == pytest.approx(0.3)


def test_cyclic_lr_state_dict_pickles_and_continues_momentum():
    """The state dict leaves out the built-in scale function (a bound method, which
    would not pickle) and rebuilds it on loading; lr and momentum go on as PyTorch's."""
    import pickle

    def run(lib, stop):
        make = SCHEDULES["CyclicLR-exp_range"]
        opt = _optimizer(lib)
        sched = make(lib.optim.lr_scheduler, opt)
        out = []
        for _ in range(stop):
            opt.step()
            sched.step()
            out.append((sched.get_last_lr(), [g["momentum"] for g in opt.param_groups]))
        return opt, sched, out

    opt, sched, first = run(chainrule, 13)
    sd = sched.state_dict()
    assert "_scale_fn_ref" not in sd and sd["_scale_fn_custom"] is None
    opt_sd, sd = pickle.loads(pickle.dumps((opt.state_dict(), sd)))
    opt2 = _optimizer(chainrule)
    sched2 = SCHEDULES["CyclicLR-exp_range"](chainrule.optim.lr_scheduler, opt2)
    opt2.load_state_dict(opt_sd)  # holds the momentum of step 13
    sched2.load_state_dict(sd)
    rest = []
    for _ in range(20):
        opt2.step()
        sched2.step()
        rest.append((sched2.get_last_lr(), [g["momentum"] for g in opt2.param_groups]))
    _, _, theirs = _torch_quiet(lambda: run(torch, 33))
    for got, want in zip(first + rest, theirs):
        assert got[0] == pytest.approx(want[0], rel=1e-12)
        assert got[1] == pytest.approx(want[1], rel=1e-12)


class _Halving:
    """A callable object: its state (``__dict__``) goes into the state dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** x


def test_cyclic_lr_callable_scale_fn_state_like_torch():
    out = []
    for lib in (torch, chainrule):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2,
                                                scale_fn=_Halving(0.5))
        opt.step()
        sched.step()
        sd = sched.state_dict()
        out.append(sd["_scale_fn_custom"])
        fresh = _Halving(0.9)
        sched2 = lib.optim.lr_scheduler.CyclicLR(_optimizer(lib), 0.01, 0.1, step_size_up=2,
                                                 scale_fn=fresh)
        sched2.load_state_dict(sd)
        assert fresh.rate == 0.5
        assert sched2.scale_fn(2) == 0.25
    assert out[0] == out[1] == {"rate": 0.5}
    # unlike PyTorch's CyclicLR.load_state_dict (which pops the key from it), the
    # caller's dict is left whole, so it can be loaded twice
    assert "_scale_fn_custom" in sd
    # functions and lambdas are not saved
    sched = chainrule.optim.lr_scheduler.CyclicLR(_optimizer(chainrule), 0.01, 0.1,
                                                  scale_fn=lambda x: 1.0)
    assert sched.state_dict()["_scale_fn_custom"] is None


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs_match_torch(T_mult):
    """step(epoch + i / iters), the per-batch use; then plain step() calls go on from
    the last epoch given."""
    iters = 4
    points = [e + i / iters for e in range(15) for i in range(iters)]
    out = []
    for lib in (torch, chainrule):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=T_mult,
                                                                   eta_min=0.005)
        lrs = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no deprecation warning for step(epoch) here
            for epoch in points:
                opt.step()
                sched.step(epoch)
                lrs.append((list(sched.get_last_lr()), sched.T_cur, sched.T_i, sched.last_epoch))
            sched.step(26)
            for _ in range(5):
                sched.step()
                lrs.append((list(sched.get_last_lr()), sched.T_cur, sched.T_i, sched.last_epoch))
        out.append(lrs)
    assert len({tuple(x[0]) for x in out[0]}) > 6
    for got, want in zip(out[1], out[0]):
        assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-15)
        assert got[1] == pytest.approx(want[1], rel=1e-12, abs=1e-15)
        assert got[2:] == want[2:]


def test_warm_restarts_values_by_hand():
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, eta_min=0.02)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(5):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    half = 0.02 + (0.1 - 0.02) / 2
    assert lrs == pytest.approx([0.1, 0.02 + 0.08 * (1 + math.cos(math.pi / 4)) / 2, half,
                                 0.02 + 0.08 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.1,
                                 0.02 + 0.08 * (1 + math.cos(math.pi / 4)) / 2])
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


def test_chained_scheduler_values_by_hand():
    opt = _optimizer(chainrule)
    s = chainrule.optim.lr_scheduler
    sched = s.ChainedScheduler([s.ConstantLR(opt, factor=0.1, total_iters=2),
                                s.ExponentialLR(opt, gamma=0.5)])
    assert sched.optimizer is opt
    lrs = [sched.get_last_lr()]
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    assert [x[0] for x in lrs] == pytest.approx([0.01, 0.005, 0.025, 0.0125])
    assert [x[1] for x in lrs] == pytest.approx([0.005, 0.0025, 0.0125, 0.00625])
    sd = sched.state_dict()
    assert [type(x) for x in sd["_schedulers"]] == [dict, dict]
    assert sd["_schedulers"][1]["gamma"] == 0.5 and "optimizer" not in sd["_schedulers"][0]


def test_multiplicative_lr_values_and_callable_state():
    opt = _optimizer(chainrule)
    sched = chainrule.optim.lr_scheduler.MultiplicativeLR(opt, lr_lambda=lambda e: 0.5 + e / 10)
    lrs = []
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.1 * 0.6, 0.1 * 0.6 * 0.7, 0.1 * 0.6 * 0.7 * 0.8])
    out = []
    for lib in (torch, chainrule):
        fn = _Halving(0.8)
        sched = lib.optim.lr_scheduler.MultiplicativeLR(_optimizer(lib), lr_lambda=[fn, lambda e: 1])
        sd = sched.state_dict()
        out.append(sd["lr_lambdas"])
        fn2 = _Halving(0.1)
        sched2 = lib.optim.lr_scheduler.MultiplicativeLR(_optimizer(lib), [fn2, lambda e: 1])
        sched2.load_state_dict(sd)
        assert fn2.rate == 0.8 and "lr_lambdas" in sd
    assert out[0] == out[1] == [{"rate": 0.8}, None]


def test_polynomial_lr_closed_form_matches_torch():
    out = []
    for lib in (torch, chainrule):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=10, power=2.0)
        lrs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 7, 12):
                opt.step()
                sched.step(epoch)
                lrs.append(list(sched.get_last_lr()))
        out.append(lrs)
    for got, want in zip(out[1], out[0]):
        assert got == pytest.approx(want, rel=1e-12)
    assert out[0][0] == pytest.approx([0.1 * 0.49, 0.05 * 0.49])
    assert out[0][2] == [0.0, 0.0]


def test_get_lr_outside_step_warns_for_new_schedulers():
    s = chainrule.optim.lr_scheduler
    opt = _optimizer(chainrule)
    for sched in (s.MultiplicativeLR(opt, lambda e: 0.9), s.PolynomialLR(opt),
                  s.CyclicLR(opt, 0.01, 0.1), s.CosineAnnealingWarmRestarts(opt, T_0=3)):
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()


def _adagrad(lib):
    return lib.optim.Adagrad([lib.zeros(2, requires_grad=True)], lr=0.1)


BAD_ARGUMENTS = {
    "MultiplicativeLR-count": lambda s, lib: s.MultiplicativeLR(_optimizer(lib), [lambda e: 1.0]),
    "MultiplicativeLR-not-callable": lambda s, lib: s.MultiplicativeLR(_optimizer(lib), 0.9),
    "MultiplicativeLR-not-callable-list": lambda s, lib: s.MultiplicativeLR(
        _optimizer(lib), [lambda e: 1.0, "x"]),
    "CyclicLR-mode": lambda s, lib: s.CyclicLR(_optimizer(lib), 0.01, 0.1, mode="sawtooth"),
    "CyclicLR-no-momentum": lambda s, lib: s.CyclicLR(_adagrad(lib), 0.01, 0.1),
    "CyclicLR-base_lr-count": lambda s, lib: s.CyclicLR(_optimizer(lib), [0.01], 0.1),
    "CyclicLR-max_lr-count": lambda s, lib: s.CyclicLR(_optimizer(lib), 0.01, [0.1, 0.2, 0.3]),
    "CyclicLR-momentum-count": lambda s, lib: s.CyclicLR(_optimizer(lib), 0.01, 0.1,
                                                         max_momentum=[0.9]),
    "CyclicLR-not-optimizer": lambda s, lib: s.CyclicLR(object(), 0.01, 0.1),
    "WarmRestarts-T_0": lambda s, lib: s.CosineAnnealingWarmRestarts(_optimizer(lib), T_0=0),
    "WarmRestarts-T_0-float": lambda s, lib: s.CosineAnnealingWarmRestarts(_optimizer(lib), T_0=2.5),
    "WarmRestarts-T_mult": lambda s, lib: s.CosineAnnealingWarmRestarts(_optimizer(lib), 3, T_mult=0),
    "WarmRestarts-T_mult-float": lambda s, lib: s.CosineAnnealingWarmRestarts(
        _optimizer(lib), 3, T_mult=1.5),
    "WarmRestarts-eta_min": lambda s, lib: s.CosineAnnealingWarmRestarts(
        _optimizer(lib), 3, eta_min="0"),
    "Chained-empty": lambda s, lib: s.ChainedScheduler([]),
    "Chained-plateau": lambda s, lib: (lambda o: s.ChainedScheduler(
        [s.StepLR(o, 2), s.ReduceLROnPlateau(o)]))(_optimizer(lib)),
    "Chained-no-optimizer": lambda s, lib: (lambda o: s.ChainedScheduler(
        [s.StepLR(o, 2), object()], optimizer=o))(_optimizer(lib)),
    "Sequential-no-optimizer": lambda s, lib: (lambda o: s.SequentialLR(
        o, [s.StepLR(o, 2), object()], milestones=[3]))(_optimizer(lib)),
}


@pytest.mark.parametrize("name", list(BAD_ARGUMENTS))
def test_bad_arguments_raise_like_torch(name):
    with pytest.raises(Exception) as theirs:
        BAD_ARGUMENTS[name](torch.optim.lr_scheduler, torch)
    with pytest.raises(type(theirs.value)) as ours:
        BAD_ARGUMENTS[name](chainrule.optim.lr_scheduler, chainrule)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kind", ["ChainedScheduler", "SequentialLR"])
def test_schedulers_of_another_optimizer_are_refused(kind):
    """The message names the other optimizer by its repr, which differs between the
    libraries; the rest is PyTorch's."""
    s = chainrule.optim.lr_scheduler
    opt, other = _optimizer(chainrule), _optimizer(chainrule)
    scheds = [s.StepLR(opt, 2), s.ExponentialLR(other, gamma=0.9)]
    pattern = (f"(?s){kind} expects all schedulers to belong to the same optimizer, but got "
               r"scheduler ExponentialLR at index 1 has SGD \(.*\), which is different from SGD\.")
    with pytest.raises(ValueError, match=pattern):
        if kind == "ChainedScheduler":
            s.ChainedScheduler(scheds)
        else:
            s.SequentialLR(opt, scheds, milestones=[3])


def test_lr_scheduler_all_matches_torch():
    assert sorted(chainrule.optim.lr_scheduler.__all__) == sorted(torch.optim.lr_scheduler.__all__)
    for name in torch.optim.lr_scheduler.__all__:
        assert issubclass(getattr(chainrule.optim.lr_scheduler, name),
                          chainrule.optim.lr_scheduler.LRScheduler)
    assert issubclass(chainrule.optim.lr_scheduler._LRScheduler,
                      chainrule.optim.lr_scheduler.LRScheduler)
