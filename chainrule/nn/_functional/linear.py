"""Affine maps: ``linear`` and ``bilinear``, composed from ``matmul`` and ``einsum``."""
from __future__ import annotations

from typing import Optional

from ... import ops
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias``: ``input`` (*, in_features), ``weight`` (out_features,
    in_features) or (in_features,), ``bias`` (out_features,) or a scalar."""
    if weight.ndim == 2:
        if input.shape[-1] != weight.shape[1]:
            raise RuntimeError(
                f"linear: input's last dimension ({input.shape[-1]}) must equal weight's "
                f"in_features ({weight.shape[1]}): input shape {list(input.shape)}, weight shape "
                f"{list(weight.shape)} (weight is (out_features, in_features))")
        out = ops.matmul(input, weight.mT)
    elif weight.ndim == 1:
        out = ops.matmul(input, weight)
    else:
        raise RuntimeError(f"linear: weight must be 1-D or 2-D, got shape {list(weight.shape)}")
    if bias is not None:
        out = out + bias
    return out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``y_k = x1 @ weight[k] @ x2 + bias_k``: ``input1`` (*, in1), ``input2`` (*, in2),
    ``weight`` (out, in1, in2), ``bias`` (out,)."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear: weight must be 3-D (out, in1, in2), got shape "
                           f"{list(weight.shape)}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear: input1 and input2 must have the same leading dimensions, "
                           f"got {list(input1.shape)} and {list(input2.shape)}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear: input sizes {input1.shape[-1]} and {input2.shape[-1]} do not "
                           f"match weight shape {list(weight.shape)} (out, in1, in2)")
    out = ops.einsum("...i,oij,...j->...o", input1, weight, input2)
    if bias is not None:
        out = out + bias
    return out
