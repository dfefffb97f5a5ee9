"""Activation functions with PyTorch's signatures, composed from chainrule's primitives.

Each is written so that its value and its gradient stay finite at extreme inputs (+-1e4):
exponentials only ever see arguments that cannot overflow in the branch that is kept, since
``where`` sends a zero cotangent to the other branch but ``0 * inf`` would still be NaN.
Where PyTorch defines a particular gradient at a kink (``hardtanh`` passes none at its
bounds, ``elu`` uses the negative side at 0), the composition is chosen to give the same one.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

from ... import ops
from ...ops.inplace import run_inplace
from ...ops import activation as _act
from ...autograd.graph import show_as
from ...tensor import Tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_",
           "celu", "celu_", "gelu", "silu", "mish", "softplus", "softsign", "tanh", "sigmoid",
           "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "logsigmoid", "softmax",
           "log_softmax", "softmin", "glu", "prelu", "threshold", "threshold_",
           "softshrink", "hardshrink", "tanhshrink"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)


def _maybe_inplace(input: Tensor, inplace: bool, name: str, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn(input)``, or, with ``inplace``, the same result written into ``input``."""
    if inplace:
        return run_inplace(input, name + "_", fn)
    return fn(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` (gradient 0 at 0, as PyTorch)."""
    return _maybe_inplace(input, inplace, "relu", ops.relu)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    # where() with scalar ends: the gradient is 1 strictly inside (min_val, max_val) and 0 at
    # and beyond the bounds, as PyTorch's hardtanh_backward (clamp would pass it at the bounds)
    return ops.where(x <= min_val, min_val, ops.where(x >= max_val, max_val, x))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ValueError("hardtanh: min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace, "hardtanh", lambda x: _hardtanh(x, min_val, max_val))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    return _maybe_inplace(input, inplace, "leaky_relu",
                          lambda x: ops.where(x > 0, x, x * negative_slope))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def _elu(x: Tensor, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    # expm1 sees min(x, 0) only: no overflow for large positive x in the discarded branch
    neg = ops.expm1(ops.clamp(x, max=0.0) * input_scale) * (alpha * scale)
    pos = x * scale if scale != 1.0 else x
    return ops.where(x > 0, pos, neg)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _maybe_inplace(input, inplace, "elu", lambda x: _elu(x, alpha))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants of Klambauer et al."""
    return _maybe_inplace(input, inplace, "selu", lambda x: _elu(x, _SELU_ALPHA, _SELU_SCALE))


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x / alpha) - 1)``."""
    if alpha == 0:
        raise ValueError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, inplace, "celu", lambda x: _elu(x, alpha, 1.0, 1.0 / alpha))


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with the normal CDF ``Phi`` from ``erf`` (``approximate='none'``) or
    the tanh approximation (``approximate='tanh'``)."""
    if approximate == "none":
        return input * (ops.erf(input * _INV_SQRT_2) + 1.0) * 0.5
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * (ops.tanh(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish)."""
    return _maybe_inplace(input, inplace, "silu", lambda x: x * ops.sigmoid(x))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    z = input * beta if beta != 1 else input
    # exp sees at most `threshold`, so the branch that where() discards stays finite
    soft = ops.log1p(ops.exp(ops.clamp(z, max=float(threshold))))
    if beta != 1:
        soft = soft / beta
    return ops.where(z > threshold, input, soft)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _maybe_inplace(input, inplace, "mish", lambda x: x * ops.tanh(softplus(x)))


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return input / (ops.abs(input) + 1.0)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return ops.tanh(input)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic function ``1 / (1 + exp(-x))`` (stable for large ``|x|``)."""
    return ops.sigmoid(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3 (gradient 1/6 strictly between)."""
    return _maybe_inplace(input, inplace, "hardsigmoid",
                          lambda x: ops.where(x <= -3.0, 0.0, ops.where(x >= 3.0, 1.0, x / 6.0 + 0.5)))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``; at -3 and 3 the gradient is PyTorch's (0 and 1)."""
    return _maybe_inplace(input, inplace, "hardswish", lambda x: ops.where(
        x <= -3.0, 0.0, ops.where(x < 3.0, x * (x + 3.0) / 6.0, x)))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``: finite for every ``x``.

    At 0 ``minimum`` splits its gradient between the two equal operands and ``abs`` has
    none, which gives the exact 0.5."""
    return ops.minimum(input, 0.0) - ops.log1p(ops.exp(-ops.abs(input)))


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (through the stable ``log_softmax``)."""
    return _act.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``: log-probabilities along ``dim``, stable for large inputs."""
    return _act.log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x, dim)``."""
    if dtype is not None:
        input = input.to(dtype)
    return _act.softmax(-input, dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: the first half of ``dim`` times the sigmoid of the second half."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is "
                           f"size {input.shape[dim]}")
    a, b = ops.chunk(input, 2, dim)
    return a * ops.sigmoid(b)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` for ``x > 0``, else ``weight * x``, with one learnable slope per channel (dim 1)
    or a single shared one."""
    if weight.numel() != 1 and input.ndim >= 2:
        if weight.numel() != input.shape[1]:
            raise RuntimeError(f"prelu: mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {weight.numel()} and channel size = "
                               f"{input.shape[1]}.")
        weight = weight.reshape((weight.numel(),) + (1,) * (input.ndim - 2))
    return ops.where(input > 0, input, input * weight)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _maybe_inplace(input, inplace, "threshold", lambda x: ops.where(x > threshold, x, value))


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return globals()["threshold"](input, threshold, value, inplace=True)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    return ops.where(input > lambd, input - lambd, ops.where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    return ops.where((input > lambd) | (input < -lambd), input, 0.0)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return input - ops.tanh(input)


# The grad_fn of each composed activation prints under PyTorch's name (GeluBackward0...).
_TORCH_NODE_NAMES = {
    "hardtanh": "HardtanhBackward0", "relu6": "HardtanhBackward0",
    "leaky_relu": "LeakyReluBackward0", "elu": "EluBackward0", "selu": "EluBackward0",
    "celu": "CeluBackward0", "gelu": "GeluBackward0", "silu": "SiluBackward0",
    "softplus": "SoftplusBackward0", "mish": "MishBackward0",
    "hardsigmoid": "HardsigmoidBackward0", "hardswish": "HardswishBackward0",
    "logsigmoid": "LogSigmoidBackward0", "glu": "GluBackward0", "threshold": "ThresholdBackward0",
    "softshrink": "SoftshrinkBackward0", "hardshrink": "HardshrinkBackward0",
}


def _shown_as(fn: Callable, node_name: str) -> Callable:
    import functools

    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):
        return show_as(fn(input, *args, **kwargs), node_name, input)
    return wrapper


for _name, _node_name in _TORCH_NODE_NAMES.items():
    globals()[_name] = _shown_as(globals()[_name], _node_name)
