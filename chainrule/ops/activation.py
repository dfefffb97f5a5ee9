"""softmax and log_softmax, composed from logsumexp (which is the stable primitive)."""
from __future__ import annotations

from typing import Optional

from ..tensor import Tensor
from .elementwise import exp, sub
from .reduce import logsumexp

__all__ = ["softmax", "log_softmax"]


def log_softmax(input: Tensor, dim: Optional[int] = None, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)``: log-probabilities along ``dim``, stable for large inputs."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return sub(input, logsumexp(input, dim, keepdim=True))


def softmax(input: Tensor, dim: Optional[int] = None, dtype=None) -> Tensor:
    """``exp(log_softmax(x, dim))``: probabilities along ``dim``."""
    return exp(log_softmax(input, dim, dtype))
