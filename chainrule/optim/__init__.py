"""Optimizers and learning-rate schedules, with PyTorch's names, arguments and defaults.

Typical use::

    opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = chainrule.optim.lr_scheduler.StepLR(opt, step_size=30)
    for epoch in range(epochs):
        for x, y in data:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        sched.step()
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS",
           "lr_scheduler"]
