"""Adadelta (Zeiler): step sizes from running averages of squared gradients and updates."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

from .. import ops
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, _check_options, _eval_closure, _scalar_dtype,
                        _step_without_grad, _to_scalar)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, PyTorch's formulation.

    For each parameter with gradient :math:`g` (negated when ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \\
        v &\leftarrow \rho v + (1-\rho) g^2 \\
        \Delta &= \sqrt{u + \epsilon} / \sqrt{v + \epsilon}\; g \\
        u &\leftarrow \rho u + (1-\rho) \Delta^2 \\
        \theta &\leftarrow \theta - \gamma \Delta

    Args:
        params: tensors or parameter groups to optimize.
        lr: coefficient that scales the update (default 1.0).
        rho: decay rate of the running averages (default 0.9).
        eps: added inside the square roots for numerical stability (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable, differentiable: accepted for PyTorch compatibility.
    """

    def __init__(self, params: ParamsT, lr: Union[float, Tensor] = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: Optional[bool] = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_options("Adadelta", lr, {})
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_options("Adadelta", lr, {"epsilon value": eps, "weight_decay value": weight_decay},
                       differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
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
            rho, eps, weight_decay = group["rho"], group["eps"], group["weight_decay"]
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = ops.tensor(0.0, dtype=_scalar_dtype())
                    state["square_avg"] = ops.zeros_like(p)
                    state["acc_delta"] = ops.zeros_like(p)
                state["step"].add_(1)
                grad = p.grad if not group["maximize"] else -p.grad
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
                square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
                std = square_avg.add(eps).sqrt_()
                delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
                acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                p.add_(delta, alpha=-lr)
        return loss
