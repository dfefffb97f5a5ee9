"""Optimizer hooks against PyTorch: step pre/post hooks (per optimizer and global),
state_dict and load_state_dict hooks, their order, argument replacement and removal."""
import copy
import warnings

import pytest

import chainrule
import chainrule.optim.optimizer as cr_optimizer
from chainrule.tensor import ChainruleHint

torch = pytest.importorskip("torch")
import torch.optim.optimizer as torch_optimizer  # noqa: E402

LIBS = {"torch": (torch, torch_optimizer), "chainrule": (chainrule, cr_optimizer)}


def _problem(lib, kind="SGD", **options):
    """A parameter with a gradient of its own value (loss 0.5 * |w|^2)."""
    w = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
    opt = getattr(lib.optim, kind)([w], **{"lr": 0.1, **options})

    def closure():
        opt.zero_grad()
        loss = (w * w).sum() * 0.5
        loss.backward()
        return loss

    return w, opt, closure


def _both(scenario):
    """Run ``scenario(lib, optimizer_module)`` with each library; return both results."""
    out = {}
    for name, (lib, mod) in LIBS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[name] = scenario(lib, mod)
    return out["torch"], out["chainrule"]


def test_call_order_and_what_the_hooks_see_match_torch():
    def scenario(lib, mod):
        w, opt, closure = _problem(lib)
        log = []

        def tag(name):
            def hook(o, args, kwargs):
                assert o is opt and args[0] is opt
                log.append((name, len(args), sorted(kwargs), w.tolist(),
                            lib.is_grad_enabled()))
            return hook

        handles = [mod.register_optimizer_step_post_hook(tag("global post")),
                   opt.register_step_post_hook(tag("post 1")),
                   opt.register_step_pre_hook(tag("pre 1")),
                   mod.register_optimizer_step_pre_hook(tag("global pre")),
                   opt.register_step_pre_hook(tag("pre 2")),
                   opt.register_step_post_hook(tag("post 2"))]
        try:
            closure()
            opt.step()
            log.append("---")
            opt.step(closure=closure)
            log.append("---")
            opt.step(closure)
        finally:
            for h in handles:
                h.remove()
        return log, w.tolist()

    theirs, ours = _both(scenario)
    assert ours == theirs
    log = ours[0]
    assert [entry[0] for entry in log[:6]] == ["global pre", "pre 1", "pre 2",
                                               "post 1", "post 2", "global post"]
    assert log[0][3] == [1.0, -2.0, 3.0] and log[3][3] == pytest.approx([0.9, -1.8, 2.7])
    assert all(entry[4] for entry in log if entry != "---")  # hooks run with grad mode on
    assert log[7][1:3] == (1, ["closure"]) and log[14][1:3] == (2, [])


def test_pre_hook_replaces_arguments_like_torch():
    """A pre-hook's (new_args, new_kwargs) are what the later hooks, the step and the
    post-hooks get: here it hands the step a closure."""
    def scenario(lib, mod):
        w, opt, closure = _problem(lib, momentum=0.5)
        seen = []
        calls = []

        def counting():
            calls.append(1)
            return closure()

        opt.register_step_pre_hook(lambda o, a, k: ((a[0],), {"closure": counting}))
        opt.register_step_pre_hook(lambda o, a, k: seen.append(("pre", k["closure"] is counting)))
        opt.register_step_post_hook(lambda o, a, k: seen.append(("post", len(a), sorted(k))))
        losses = [float(opt.step()) for _ in range(3)]
        return losses, seen, len(calls), w.tolist()

    theirs, ours = _both(scenario)
    assert ours[1:] == theirs[1:]
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    assert ours[0][0] == 7.0 and ours[2] == 3


def test_pre_hook_with_a_bad_return_value_raises():
    for lib in (torch, chainrule):
        w, opt, closure = _problem(lib)
        opt.register_step_pre_hook(lambda o, a, k: 3)
        with pytest.raises(RuntimeError,
                           match=r"must return None or a tuple of \(new_args, new_kwargs\), but got 3\."):
            opt.step()
        assert w.tolist() == [1.0, -2.0, 3.0]


def test_handles_remove_hooks():
    w, opt, closure = _problem(chainrule)
    log = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: log.append("pre"))
    h2 = opt.register_step_post_hook(lambda o, a, k: log.append("post"))
    g = cr_optimizer.register_optimizer_step_pre_hook(lambda o, a, k: log.append("global"))
    try:
        assert len({h1.id, h2.id, g.id}) == 3 and h1.id < h2.id < g.id
        opt.step()
        assert log == ["global", "pre", "post"]
        h1.remove()
        h1.remove()  # a second remove is a no-op
        opt.step()
        assert log[3:] == ["global", "post"]
    finally:
        g.remove()
    with h2:  # a handle is a context manager that removes its hook on exit
        opt.step()
    opt.step()
    assert log[5:] == ["post"]
    assert opt._optimizer_step_pre_hooks == {} and opt._optimizer_step_post_hooks == {}


@pytest.mark.parametrize("kind", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS"])
def test_global_hooks_run_for_every_optimizer(kind):
    def scenario(lib, mod):
        w, opt, closure = _problem(lib, kind)
        other_w, other, other_closure = _problem(lib, "SGD")
        log = []
        pre = mod.register_optimizer_step_pre_hook(
            lambda o, a, k: log.append(("pre", type(o).__name__, len(a), sorted(k))))
        post = mod.register_optimizer_step_post_hook(
            lambda o, a, k: log.append(("post", type(o).__name__)))
        try:
            for _ in range(2):
                opt.step(closure)
            other.step(other_closure)
        finally:
            pre.remove()
            post.remove()
        opt.step(closure)  # removed: not logged
        return log, w.tolist()

    theirs, ours = _both(scenario)
    assert ours[0] == theirs[0]
    assert len(ours[0]) == 6 and ours[0][0] == ("pre", kind, 2, [])
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9)


def test_lbfgs_hooks_see_and_can_wrap_the_closure():
    """LBFGS evaluates its closure many times per step: a pre-hook that wraps it counts
    them, and the count, the loss and the result are PyTorch's."""
    def scenario(lib, mod):
        w = lib.tensor([1.5, -0.5], dtype=lib.float64, requires_grad=True)
        opt = lib.optim.LBFGS([w], lr=1, max_iter=5, history_size=3)
        target = lib.tensor([0.3, 0.7], dtype=lib.float64)

        def closure():
            opt.zero_grad()
            d = w - target
            loss = (d * d * d * d).sum() + (d * d).sum()
            loss.backward()
            return loss

        evaluations = []

        def count(o, args, kwargs):
            fn = kwargs.pop("closure", None) or args[1]

            def counted():
                evaluations.append(1)
                return fn()
            return (args[0],), {**kwargs, "closure": counted}

        h = opt.register_step_pre_hook(count)
        seen = []
        opt.register_step_post_hook(lambda o, a, k: seen.append((len(a), sorted(k))))
        first = float(opt.step(closure))
        h.remove()
        second = float(opt.step(closure=closure))
        return first, second, len(evaluations), seen, w.tolist()

    theirs, ours = _both(scenario)
    assert ours[2:4] == theirs[2:4]
    assert ours[2] > 1
    assert ours[3] == [(1, ["closure"]), (1, ["closure"])]
    assert ours[0] == pytest.approx(theirs[0], rel=1e-9)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-9)
    assert ours[4] == pytest.approx(theirs[4], rel=1e-7)


def test_custom_optimizer_subclass_runs_the_hooks_once():
    """A user's own Optimizer subclass (step under no_grad, as in PyTorch tutorials) gets
    the hooks; a subclass of SGD whose step calls super().step() runs them once."""
    class SignSGD(chainrule.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @chainrule.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad.sign(), alpha=-group["lr"])

    class LoggingSGD(chainrule.optim.SGD):
        def step(self, closure=None):
            log.append("LoggingSGD.step")
            return super().step(closure)

    log = []
    for cls in (SignSGD, LoggingSGD):
        w = chainrule.tensor([1.0, -2.0], requires_grad=True)
        opt = cls([w], lr=0.5)
        opt.register_step_pre_hook(lambda o, a, k: log.append(f"pre {type(o).__name__}"))
        opt.register_step_post_hook(lambda o, a, k: log.append(f"post {type(o).__name__}"))
        (w * w).sum().backward()
        opt.step()
        assert w.tolist() == ([0.5, -1.5] if cls is SignSGD else [0.0, 0.0])
    assert log == ["pre SignSGD", "post SignSGD",
                   "pre LoggingSGD", "LoggingSGD.step", "post LoggingSGD"]
    assert getattr(SignSGD.step, "_runs_step_hooks", False)


def test_hooks_and_hints_and_schedulers_together():
    """The one-time hint still points at the user's line; a scheduler's wrapper of
    optimizer.step leaves the hooks running once per step."""
    model = chainrule.nn.Linear(3, 2)
    opt = chainrule.optim.SGD(model.parameters(), lr=0.1)
    log = []
    opt.register_step_post_hook(lambda o, a, k: log.append(o.param_groups[0]["lr"]))
    sched = chainrule.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    model(chainrule.ones(4, 3)).sum().backward()
    opt.step()
    sched.step()
    model(chainrule.ones(4, 3)).sum().backward()
    with pytest.warns(ChainruleHint, match="zero_grad") as rec:
        opt.step()
    assert rec[0].filename == __file__  # not the scheduler's wrapper of step()
    sched.step()
    assert log == [0.1, 0.05]


def test_hint_points_at_the_user_with_hooks_registered():
    model = chainrule.nn.Linear(3, 2)
    opt = chainrule.optim.SGD(model.parameters(), lr=0.1)
    opt.register_step_pre_hook(lambda o, a, k: None)
    for _ in range(2):
        model(chainrule.ones(4, 3)).sum().backward()
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            opt.step()
    assert [r.filename for r in rec] == [__file__]


def test_state_dict_hooks_match_torch():
    def scenario(lib, mod):
        w, opt, closure = _problem(lib, momentum=0.9)
        closure()
        opt.step()
        log = []
        opt.register_state_dict_pre_hook(lambda o: log.append("pre A"))
        opt.register_state_dict_pre_hook(lambda o: log.append("pre B"), prepend=True)

        def add_key(o, sd):
            log.append("post add")
            sd["note"] = "hello"

        def replace(o, sd):
            log.append(("post replace", sd["note"]))
            return {**sd, "note": sd["note"] + "!"}

        opt.register_state_dict_post_hook(replace)
        opt.register_state_dict_post_hook(add_key, prepend=True)
        sd = opt.state_dict()
        return log, sd["note"], sorted(sd), sd["param_groups"][0]["lr"]

    theirs, ours = _both(scenario)
    assert ours == theirs
    assert ours[0] == ["pre B", "pre A", "post add", ("post replace", "hello")]
    assert ours[1] == "hello!"


def test_load_state_dict_hooks_match_torch():
    def scenario(lib, mod):
        w, opt, closure = _problem(lib, momentum=0.9)
        closure()
        opt.step()
        saved = opt.state_dict()
        saved_lr = saved["param_groups"][0]["lr"]
        _, opt2, _ = _problem(lib, momentum=0.9)
        log = []

        def double_lr(o, sd):
            log.append(("pre", sd is saved, o.param_groups[0]["lr"]))
            groups = [{**g, "lr": g["lr"] * 2} for g in sd["param_groups"]]
            return {**sd, "param_groups": groups}

        def drop_keys(o, sd):
            log.append(("pre first", sorted(sd)))
            sd.pop("extra")  # the hooks get a shallow copy: the caller's dict keeps it

        opt2.register_load_state_dict_pre_hook(double_lr)
        opt2.register_load_state_dict_pre_hook(drop_keys, prepend=True)
        opt2.register_load_state_dict_post_hook(lambda o: log.append(("post", o.param_groups[0]["lr"])))
        opt2.register_load_state_dict_post_hook(lambda o: log.append("post first"), prepend=True)
        saved["extra"] = 1
        opt2.load_state_dict(saved)
        return log, "extra" in saved, saved["param_groups"][0]["lr"] == saved_lr

    theirs, ours = _both(scenario)
    assert ours == theirs
    assert ours[0] == [("pre first", ["extra", "param_groups", "state"]), ("pre", False, 0.1),
                       "post first", ("post", 0.2)]
    assert ours[1] and ours[2]


def test_hooks_are_not_copied_with_the_optimizer():
    for lib in (torch, chainrule):
        w = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1)
        opt.register_step_pre_hook(lambda o, a, k: None)
        opt.register_state_dict_post_hook(lambda o, sd: None)
        clone = copy.deepcopy(opt)
        assert len(clone._optimizer_step_pre_hooks) == 0
        assert len(clone._optimizer_state_dict_post_hooks) == 0
        clone.register_step_post_hook(lambda o, a, k: None)
        clone.step()  # still steps (and its hint bookkeeping is intact)
        assert len(opt._optimizer_step_pre_hooks) == 1
