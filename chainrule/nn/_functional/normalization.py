"""Normalization functions: batch_norm, instance_norm, layer_norm, group_norm, rms_norm and
normalize.

All are composed from primitives (mean, sub, mul, rsqrt, reshape), so their gradients,
forward-mode tangents and higher derivatives come from those primitives' rules. Running
statistics are updated in place outside the graph, as PyTorch does: the running mean with
the batch mean, the running variance with the *unbiased* batch variance, while the batch
itself is normalized with the *biased* one.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ...autograd import grad_mode as _gm
from ...ops import elementwise as _ew
from ...ops import reduce as _rd
from ...tensor import Tensor

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "normalize"]

ShapeArg = Union[int, Sequence[int]]


def _channel_shape(input: Tensor) -> Tuple[int, ...]:
    """The shape (1, C, 1, ...) that broadcasts a per-channel vector over ``input``."""
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def _check_vector(op: str, name: str, t: Optional[Tensor], size: int) -> None:
    if t is not None and tuple(t.shape) != (size,):
        raise RuntimeError(f"{op}: {name} should contain {size} elements (one per channel), "
                           f"got shape {list(t.shape)}")


def _scale_shift(centered: Tensor, inv_std: Tensor, weight: Optional[Tensor],
                 bias: Optional[Tensor], shape: Tuple[int, ...]) -> Tensor:
    """``centered * inv_std * weight + bias`` with the per-channel factors multiplied first,
    so that only one full-size product (and one in the backward) is needed."""
    scale = inv_std if weight is None else inv_std * weight.reshape(shape)
    out = centered * scale
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _update_running(running: Optional[Tensor], batch_value: Tensor, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch_value``, in place, untracked."""
    if running is None:
        return
    with _gm.no_grad():
        new = running * (1.0 - momentum) + batch_value.detach().to(running.dtype) * momentum
        running.copy_(new)


def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over every dimension but the channel dimension 1.

    ``input`` is (N, C) or (N, C, *). In training (or without running statistics) each
    channel is normalized with its batch mean and biased variance, and ``running_mean`` /
    ``running_var`` (if given) move towards the batch mean and *unbiased* variance by
    ``momentum``, in place. In evaluation the running statistics are used instead.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected a 2D or higher input (N, C, *), got "
                         f"{input.ndim}D input of shape {list(input.shape)}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_vector("batch_norm", name, t, C)
    shape = _channel_shape(input)
    dims = (0,) + tuple(range(2, input.ndim))
    if training:
        n = input.numel() // C if C else 0
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {list(input.shape)}")
        mu = _rd.mean(input, dims, keepdim=True)
        diff = input - mu
        var = _rd.mean(diff * diff, dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with _gm.no_grad():
                _update_running(running_mean, mu.reshape(C), momentum)
                _update_running(running_var, var.reshape(C) * (n / (n - 1)), momentum)
        return _scale_shift(diff, _ew.rsqrt(var + eps), weight, bias, shape)
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given when "
                           "training=False (or pass training=True to use batch statistics)")
    # evaluation: one per-channel affine map x * scale + shift
    scale = _ew.rsqrt(running_var.to(input.dtype) + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean.to(input.dtype) * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def instance_norm(input: Tensor, running_mean: Optional[Tensor] = None,
                  running_var: Optional[Tensor] = None, weight: Optional[Tensor] = None,
                  bias: Optional[Tensor] = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization: each (sample, channel) normalized over its spatial dimensions.

    With ``use_input_stats`` the statistics come from each instance, and running statistics
    (if given) move towards their average over the batch (unbiased variance, as PyTorch);
    otherwise the running statistics are used.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected a 3D or higher input (N, C, *), got "
                         f"{input.ndim}D input of shape {list(input.shape)}")
    C = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_vector("instance_norm", name, t, C)
    shape = _channel_shape(input)
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        n = input.numel() // (input.shape[0] * C) if input.shape[0] * C else 0
        if n <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {list(input.shape)}")
        mu = _rd.mean(input, dims, keepdim=True)
        diff = input - mu
        var = _rd.mean(diff * diff, dims, keepdim=True)
        if running_mean is not None or running_var is not None:
            with _gm.no_grad():
                _update_running(running_mean, _rd.mean(mu.reshape(input.shape[0], C), 0),
                                momentum)
                _update_running(running_var, _rd.mean(var.reshape(input.shape[0], C), 0)
                                * (n / (n - 1)), momentum)
        return _scale_shift(diff, _ew.rsqrt(var + eps), weight, bias, shape)
    if running_mean is None or running_var is None:
        raise RuntimeError("instance_norm: running_mean and running_var must be given when "
                           "use_input_stats=False")
    return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)


def _as_shape(normalized_shape: ShapeArg) -> Tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


def _check_trailing(op: str, input: Tensor, shape: Tuple[int, ...]) -> None:
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"{op}: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")


def layer_norm(input: Tensor, normalized_shape: ShapeArg, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dimensions (biased variance), then
    scale by ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``)."""
    shape = _as_shape(normalized_shape)
    _check_trailing("layer_norm", input, shape)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: Expected {name} to be of same shape as "
                               f"normalized_shape, but got {name} of shape {list(t.shape)} and "
                               f"normalized_shape = {list(shape)}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    mu = _rd.mean(input, dims, keepdim=True)
    diff = input - mu
    var = _rd.mean(diff * diff, dims, keepdim=True)
    out = diff * _ew.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def rms_norm(input: Tensor, normalized_shape: ShapeArg, weight: Optional[Tensor] = None,
             eps: Optional[float] = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last ``len(normalized_shape)``
    dimensions; ``eps`` defaults to the machine epsilon of ``input``'s dtype."""
    shape = _as_shape(normalized_shape)
    _check_trailing("rms_norm", input, shape)
    if eps is None:
        eps = float(np.finfo(input.dtype.np_dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * _ew.rsqrt(_rd.mean(input * input, dims, keepdim=True) + eps)
    if weight is not None:
        out = out * weight
    return out


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Split the C channels into ``num_groups`` groups and normalize each sample's group over
    its channels and spatial positions (biased variance); then a per-channel affine map."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected an input of shape (N, C, *), got "
                           f"{list(input.shape)}")
    N, C = input.shape[0], input.shape[1]
    if num_groups <= 0 or C % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    _check_vector("group_norm", "weight", weight, C)
    _check_vector("group_norm", "bias", bias, C)
    grouped = input.reshape(N, num_groups, -1)
    mu = _rd.mean(grouped, 2, keepdim=True)
    diff = grouped - mu
    var = _rd.mean(diff * diff, 2, keepdim=True)
    if weight is None and bias is None:
        return (diff * _ew.rsqrt(var + eps)).reshape(tuple(input.shape))
    # per (sample, channel) factors, so that one full-size product does it all
    S = grouped.shape[2] // (C // num_groups)
    inv = _ew.rsqrt(var + eps)  # (N, G, 1)
    scale = inv.reshape(N, num_groups, 1, 1).expand(N, num_groups, C // num_groups, 1)
    if weight is not None:
        scale = scale * weight.reshape(1, num_groups, C // num_groups, 1)
    out = diff.reshape(N, num_groups, C // num_groups, S) * scale
    if bias is not None:
        out = out + bias.reshape(1, num_groups, C // num_groups, 1)
    return out.reshape(tuple(input.shape))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Optional[Tensor] = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``: unit vectors (PyTorch's F.normalize)."""
    denom = _ew.clamp(_rd.norm(input, p, dim, keepdim=True), min=eps)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result

