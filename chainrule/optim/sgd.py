"""Stochastic gradient descent, optionally with (Nesterov) momentum."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check_options, _eval_closure, _step_without_grad, _to_scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's formulation.

    For each parameter with gradient :math:`g` (negated when ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \\
        b &\leftarrow \mu b + (1-\tau) g \quad (b = g \text{ on the first step}) \\
        g &\leftarrow g + \mu b \text{ if nesterov, else } b \\
        \theta &\leftarrow \theta - \gamma g

    Note that the momentum buffer accumulates the *gradient*, and the learning rate
    multiplies it afterwards (Sutskever et al. put the lr inside the buffer).

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate :math:`\gamma` (default 1e-3).
        momentum: momentum factor :math:`\mu` (default 0).
        dampening: dampening :math:`\tau` for momentum (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, fused: accepted for PyTorch compatibility; chainrule has
            one implementation (``differentiable=True`` is not supported).
    """

    def __init__(self, params: ParamsT, lr: Union[float, Tensor] = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: Union[float, Tensor] = 0,
                 nesterov: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        _check_options("SGD", lr, {"momentum value": momentum, "weight_decay value": weight_decay})
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_options("SGD", lr, {}, differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    @_step_without_grad
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Optional[Any]:
        """Perform a single optimization step.

        Args:
            closure: optional function that re-evaluates the model and returns the loss.
        """
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            weight_decay = _to_scalar(group["weight_decay"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            for p in self._params_with_grad(group):
                grad = p.grad if not group["maximize"] else -p.grad
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        # the first step starts the buffer at the gradient itself
                        # (no dampening), as PyTorch does
                        buf = grad.detach().clone()
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
                p.add_(grad, alpha=-lr)
        return loss
