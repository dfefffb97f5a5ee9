"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

from .. import ops
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, _check_options, _eval_closure, _scalar_dtype,
                        _step_without_grad, _to_scalar)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, PyTorch's formulation.

    For each parameter with gradient :math:`g` (negated when ``maximize``):

    .. math::
        g &\leftarrow g + \lambda\theta \\
        v &\leftarrow \alpha v + (1-\alpha) g^2 \\
        \tilde v &= v - \bar g^2 \text{ with } \bar g \leftarrow \alpha\bar g + (1-\alpha) g
            \text{ when centered, else } v \\
        b &\leftarrow \mu b + g / (\sqrt{\tilde v} + \epsilon), \quad
            \theta \leftarrow \theta - \gamma b \quad (\mu > 0) \\
        \theta &\leftarrow \theta - \gamma\, g / (\sqrt{\tilde v} + \epsilon) \quad (\mu = 0)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant of the squared-gradient average (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its
            second moment.
        maximize: maximize the objective instead of minimizing it.
        capturable, foreach, differentiable: accepted for PyTorch compatibility.
    """

    def __init__(self, params: ParamsT, lr: Union[float, Tensor] = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_options("RMSprop", lr, {
            "epsilon value": eps, "momentum value": momentum, "weight_decay value": weight_decay,
            "alpha value": alpha}, differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
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
            alpha, eps = group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = ops.tensor(0.0, dtype=_scalar_dtype())
                    state["square_avg"] = ops.zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = ops.zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = ops.zeros_like(p)
                state["step"].add_(1)

                grad = p.grad if not group["maximize"] else -p.grad
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)

                square_avg = state["square_avg"]
                square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                if group["centered"]:
                    grad_avg = state["grad_avg"]
                    grad_avg.lerp_(grad, 1 - alpha)
                    avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                else:
                    avg = square_avg.sqrt()
                avg = avg.add_(eps)

                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum).addcdiv_(grad, avg)
                    p.add_(buf, alpha=-lr)
                else:
                    p.addcdiv_(grad, avg, value=-lr)
        return loss
