"""Adam and AdamW (Adam with decoupled weight decay), optionally with AMSGrad."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

from .. import ops
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, _check_options, _eval_closure, _scalar_dtype,
                        _step_without_grad, _to_scalar)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), PyTorch's formulation.

    For each parameter with gradient :math:`g` (negated when ``maximize``), at step t:

    .. math::
        g &\leftarrow g + \lambda\theta \quad\text{(or } \theta \leftarrow \theta(1-\gamma\lambda)
            \text{ when the decay is decoupled, as in AdamW)} \\
        m &\leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
        \hat v &= \max(\hat v, v) \text{ with amsgrad, else } v \\
        \theta &\leftarrow \theta - \frac{\gamma}{1-\beta_1^t}\,
            \frac{m}{\sqrt{\hat v}/\sqrt{1-\beta_2^t} + \epsilon}

    Note that :math:`\epsilon` is added after the bias correction of :math:`\sqrt{v}`.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: decay rates of the first and second moment averages (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty (default 0).
        amsgrad: use the running maximum of the second moment (AMSGrad).
        maximize: maximize the objective instead of minimizing it.
        decoupled_weight_decay: shrink the weights directly instead of adding the
            penalty to the gradient (this is AdamW).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility.
    """

    def __init__(self, params: ParamsT, lr: Union[float, Tensor] = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        _check_options(type(self).__name__, lr, {"epsilon value": eps})
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_options(type(self).__name__, lr, {"weight_decay value": weight_decay}, differentiable)
        betas = (_to_scalar(betas[0]), _to_scalar(betas[1]))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, amsgrad: bool) -> dict:
        state = self.state[p]
        if len(state) == 0:  # lazily, on the parameter's first step
            # step is a tensor, as in PyTorch, so state dicts look alike in both libraries
            state["step"] = ops.tensor(0.0, dtype=_scalar_dtype())
            state["exp_avg"] = ops.zeros_like(p)
            state["exp_avg_sq"] = ops.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = ops.zeros_like(p)
        return state

    @_step_without_grad
    def step(self, closure: Optional[Callable[[], Any]] = None) -> Optional[Any]:
        """Perform a single optimization step.

        Args:
            closure: optional function that re-evaluates the model and returns the loss.
        """
        loss = _eval_closure(closure)
        for group in self.param_groups:
            lr = _to_scalar(group["lr"])
            beta1, beta2 = (_to_scalar(b) for b in group["betas"])
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            for p in self._params_with_grad(group):
                grad = p.grad if not group["maximize"] else -p.grad
                state = self._init_state(p, amsgrad)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                state["step"].add_(1)
                step = state["step"].item()

                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        p.mul_(1 - lr * weight_decay)
                    else:
                        grad = grad.add(p, alpha=weight_decay)

                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                bias_correction2_sqrt = bias_correction2 ** 0.5

                if amsgrad:
                    max_exp_avg_sq = state["max_exp_avg_sq"]
                    max_exp_avg_sq.maximum_(exp_avg_sq)
                    denom = (max_exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                else:
                    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-step_size)
        return loss


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter): Adam whose weight decay shrinks the weights directly,
    :math:`\theta \leftarrow \theta(1 - \gamma\lambda)`, instead of entering the moment
    estimates through the gradient. Note the default ``weight_decay`` is 1e-2.

    Args: as :class:`Adam`, without ``decoupled_weight_decay`` (always on).
    """

    def __init__(self, params: ParamsT, lr: Union[float, Tensor] = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load state as :meth:`Optimizer.load_state_dict`; decoupled decay stays on."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
