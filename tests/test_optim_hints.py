"""The optimizers' one-time hints: gradients summed across steps, parameters without gradient."""
import warnings

import pytest

import chainrule as torch
from chainrule.tensor import ChainruleHint


def _model():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def _loss(model):
    return model(torch.ones(4, 3)).pow(2).sum()


def test_two_steps_without_zero_grad_warn_once():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _loss(model).backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()                       # first step: nothing wrong yet
    _loss(model).backward()              # adds onto the gradient the first step used
    with pytest.warns(ChainruleHint, match=r"SGD.step\(\): the gradients of 2 parameter\(s\).*"
                                           r"zero_grad\(\)") as rec:
        opt.step()
    assert "shape [2, 3]" in str(rec[0].message)
    assert rec[0].filename == __file__   # points at the user's step() line
    _loss(model).backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()                       # one-time: not again


@pytest.mark.parametrize("set_to_none", [True, False])
def test_the_usual_loop_and_deliberate_accumulation_stay_quiet(set_to_none):
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.zero_grad(set_to_none=set_to_none)
            for _ in range(2):           # gradient accumulation over two micro-batches
                _loss(model).backward()
            opt.step()
        for _ in range(2):               # model.zero_grad() works as well
            model.zero_grad()
            _loss(model).backward()
            opt.step()


def test_hint_can_be_turned_off():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.hints = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            _loss(model).backward()
            opt.step()


def test_parameters_the_loss_does_not_use_get_an_allow_unused_hint():
    used, unused = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(list(used.named_parameters()) + [("spare.weight", unused.weight)], lr=0.1)
    _loss(used).backward()
    with pytest.warns(ChainruleHint, match=r"1 of 3 parameters that require grad got no gradient "
                                           r"\(spare.weight \[2, 3\]\).*allow_unused=True"):
        opt.step()
    assert unused.weight.grad is None
    # frozen parameters (requires_grad=False) are not reported
    frozen = torch.nn.Linear(3, 2).requires_grad_(False)
    opt2 = torch.optim.SGD(list(used.parameters()) + list(frozen.parameters()), lr=0.1)
    opt2.zero_grad()
    _loss(used).backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
