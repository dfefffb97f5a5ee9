"""Adagrad (Duchi et al.): per-coordinate step sizes from the sum of squared gradients."""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

from .. import ops
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, _check_options, _eval_closure, _scalar_dtype,
                        _step_without_grad, _to_scalar)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, PyTorch's formulation.

    For each parameter with gradient :math:`g` (negated when ``maximize``), at step t:

    .. math::
        \tilde\gamma &= \gamma / (1 + (t-1)\eta) \\
        g &\leftarrow g + \lambda\theta \\
        s &\leftarrow s + g^2 \\
        \theta &\leftarrow \theta - \tilde\gamma\, g / (\sqrt{s} + \epsilon)

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate :math:`\gamma` (default 1e-2).
        lr_decay: learning rate decay :math:`\eta` (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        initial_accumulator_value: starting value of the sum :math:`s` (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        maximize: maximize the objective instead of minimizing it.
        foreach, differentiable, fused: accepted for PyTorch compatibility.
    """

    def __init__(self, params: ParamsT, lr: Union[float, Tensor] = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        _check_options("Adagrad", lr, {
            "lr_decay value": lr_decay, "weight_decay value": weight_decay,
            "initial_accumulator_value value": initial_accumulator_value, "epsilon value": eps},
            differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        # Unlike the other optimizers, Adagrad makes its state up front, in
        # add_param_group (as PyTorch does), so a state dict taken before the first step
        # already holds the accumulators.
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, group: dict) -> dict:
        state = self.state[p]
        if len(state) == 0:
            state["step"] = ops.tensor(0.0, dtype=_scalar_dtype())
            state["sum"] = ops.full_like(p, group["initial_accumulator_value"])
        return state

    def add_param_group(self, param_group: dict) -> None:
        """Add a parameter group; its accumulators start at ``initial_accumulator_value``."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, group)

    @_step_without_grad
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Optional[Any]:
        """Perform a single optimization step.

        Args:
            closure: optional function that re-evaluates the model and returns the loss.
        """
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            weight_decay, lr_decay, eps = group["weight_decay"], group["lr_decay"], group["eps"]
            for p in self._params_with_grad(group):
                state = self._init_state(p, group)
                state["step"].add_(1)
                step = state["step"].item()
                grad = p.grad if not group["maximize"] else -p.grad
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
                clr = lr / (1 + (step - 1) * lr_decay)
                state_sum = state["sum"]
                state_sum.addcmul_(grad, grad, value=1)
                std = state_sum.sqrt().add_(eps)
                p.addcdiv_(grad, std, value=-clr)
        return loss
