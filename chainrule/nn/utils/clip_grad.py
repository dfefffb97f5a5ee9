"""Gradient clipping: clip_grad_norm_, clip_grad_value_, get_total_norm and
clip_grads_with_norm_, with PyTorch's arguments and results."""
from __future__ import annotations

import warnings
from typing import Iterable, List, Optional, Union

from ...autograd import grad_mode as _gm
from ...ops import creation as _cr
from ...ops import elementwise as _ew
from ...ops import reduce as _rd
from ...ops import shape as _sh
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]

Tensors = Union[Tensor, Iterable[Tensor]]


def _as_list(tensors: Tensors) -> List[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _grads(parameters: Tensors) -> List[Tensor]:
    return [p.grad for p in _as_list(parameters) if p.grad is not None]


def get_total_norm(tensors: Tensors, norm_type: Union[float, str] = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector
    (the norm of the vector of their norms). ``inf`` is the largest absolute value."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _cr.tensor(0.0)
    with _gm.no_grad():
        norms = [_rd.norm(t, norm_type) for t in tensors]
        dtype = norms[0].dtype
        total = _rd.norm(_sh.stack([n.to(dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not bool(_ew.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensors, max_norm: float, total_norm: Tensor,
                          foreach: Optional[bool] = None) -> None:
    """Scale the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm +
    1e-6))``."""
    grads = _grads(parameters)
    if not grads:
        return
    with _gm.no_grad():
        coef = _ew.clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))


def clip_grad_norm_(parameters: Tensors, max_norm: float, norm_type: Union[float, str] = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Rescale the gradients of ``parameters`` in place so that their total ``norm_type``-norm
    is at most ``max_norm``; returns the total norm measured before clipping.

    ``error_if_nonfinite``: raise a RuntimeError (and leave the gradients alone) when the
    total norm is nan or inf. ``foreach`` is accepted for compatibility and ignored.
    """
    parameters = _as_list(parameters)  # a generator can be walked only once
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    if grads:
        clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters: Tensors, max_norm: float, norm_type: Union[float, str] = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Deprecated name of :func:`clip_grad_norm_`."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensors, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    """Clamp every gradient of ``parameters`` into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with _gm.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
