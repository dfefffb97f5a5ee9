"""softmax and log_softmax, composed from logsumexp (which is the stable primitive)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .._special import SPECIAL
from ..tensor import Tensor, _wrap
from ..autograd.graph import show_as
from .elementwise import exp, isfinite, sub, where
from .reduce import amax, logsumexp

__all__ = ["softmax", "log_softmax"]


def log_softmax(input: Tensor, dim: Optional[int] = None, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``: log-probabilities along ``dim``, stable for large inputs."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    # Shift by the (constant) max first: x - logsumexp(x) loses the small differences between
    # large logits to rounding (float32 at 1e4 has a resolution of 1e-3); (x - m) is exact there.
    if SPECIAL.active:  # vmap / forward mode: through the ops, which they see
        m = amax(input.detach(), dim, keepdim=True)
        m = where(isfinite(m), m, 0.0)
    else:  # a constant: one NumPy reduction
        m = np.amax(input._data, axis=dim if input._data.ndim else None, keepdims=True) \
            if input._data.size else 0.0
        if isinstance(m, np.ndarray):
            m[~np.isfinite(m)] = 0
            m = _wrap(m)
    shifted = sub(input, m)
    return show_as(sub(shifted, logsumexp(shifted, dim, keepdim=True)), "LogSoftmaxBackward0", input)


def softmax(input: Tensor, dim: Optional[int] = None, dtype=None) -> Tensor:
    """``exp(log_softmax(x, dim))``: probabilities along ``dim``."""
    return show_as(exp(log_softmax(input, dim, dtype)), "SoftmaxBackward0", input)
