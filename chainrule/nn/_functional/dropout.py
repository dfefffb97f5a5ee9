"""Dropout functions: dropout, dropout1d/2d/3d (whole channels) and alpha_dropout.

Inverted dropout: in training each element is kept with probability ``1 - p`` and the
kept ones are scaled by ``1 / (1 - p)``, so the expected value is unchanged and evaluation
needs no rescaling. The mask comes from chainrule's default generator
(``chainrule.manual_seed`` makes it reproducible) and is a constant, so the gradient is
masked and scaled exactly as the forward pass was.
"""
from __future__ import annotations

from typing import Tuple

from ...ops import creation as _cr
from ...tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape: Tuple[int, ...], p: float) -> Tensor:
    """1/(1-p) where kept (probability 1-p), 0 where dropped, in ``input``'s dtype."""
    if p == 1.0:
        return _cr.zeros(*shape, dtype=input.dtype)
    keep = _cr.bernoulli(_cr.empty(*shape, dtype=input.dtype), 1.0 - p)
    return keep * (1.0 / (1.0 - p))


def _apply_mask(input: Tensor, mask: Tensor, inplace: bool) -> Tensor:
    if inplace:
        return input.mul_(mask)
    return input * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``
    (training only; in evaluation the input is returned unchanged)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _apply_mask(input, _keep_mask(input, tuple(input.shape), p), inplace)


def _feature_dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool,
                     spatial: int) -> Tensor:
    _check_p(p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{op}: Expected {spatial + 1}D or {spatial + 2}D input, but received "
                           f"a {input.ndim}D input of shape {list(input.shape)}")
    if not training or p == 0.0:
        return input
    shape = tuple(input.shape[:input.ndim - spatial]) + (1,) * spatial
    return _apply_mask(input, _keep_mask(input, shape, p), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, L) or (C, L) input with probability ``p``."""
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, H, W) or (C, H, W) input with probability ``p``."""
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability ``p``."""
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


_SELU_ALPHA_PRIME = -1.7580993408473766  # -scale * alpha of SELU: where dropped units sit


def _alpha(input: Tensor, p: float, training: bool, inplace: bool, shape) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
        return input.copy_(out) if inplace else out
    keep = _cr.bernoulli(_cr.empty(*shape, dtype=input.dtype), 1.0 - p)
    a = ((1.0 - p) * (1.0 + p * _SELU_ALPHA_PRIME ** 2)) ** -0.5
    b = -a * _SELU_ALPHA_PRIME * p
    # a * (x * keep + alpha' * (1 - keep)) + b
    shift = (1.0 - keep) * (a * _SELU_ALPHA_PRIME) + b
    if inplace:
        return input.mul_(keep * a).add_(shift)
    return input * (keep * a) + shift


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and an
    affine map keeps the mean and variance (training only)."""
    return _alpha(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels (the mask is shared over dims 2 and after)."""
    shape = tuple(input.shape[:2]) + (1,) * max(0, input.ndim - 2)
    return _alpha(input, p, training, inplace, shape)
