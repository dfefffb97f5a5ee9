"""Lookup tables: embedding and one_hot.

``embedding(input, weight)`` is ``weight[input]``: indexing, whose vjp adds each output
row's cotangent into the weight row it came from (repeated indices add up). The
padding row receives no gradient and ``scale_grad_by_freq`` divides each row's gradient
by how often it occurs in the batch; both are composed so that the forward value is
exactly ``weight[input]``.
"""
from __future__ import annotations

from typing import Optional

from ... import dtypes as _dt
from ..._special import SPECIAL
from ...autograd import grad_mode as _gm
from ...ops import creation as _cr
from ...ops import elementwise as _ew
from ...ops import reduce as _rd
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def _as_index(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        input = _cr.tensor(input)
    if input.dtype not in (_dt.int64, _dt.int32, _dt.int16, _dt.int8, _dt.uint8):
        raise RuntimeError(f"{op}: Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead "
                           "(convert the indices with .long())")
    return input


def _embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """Rescale, in place and outside the graph, the rows of ``weight`` that ``input`` picks
    whose ``norm_type``-norm exceeds ``max_norm`` (PyTorch's ``embedding_renorm_``)."""
    with _gm.no_grad():
        idx = input.reshape(-1)
        rows = weight[idx]
        norms = _rd.norm(rows, norm_type, 1, keepdim=True)
        scale = _ew.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).to(weight.dtype)
        weight[idx] = rows * scale


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``input``:
    the result has shape ``input.shape + (embedding_dim,)``.

    ``padding_idx``: that row gets no gradient. ``max_norm``: picked rows whose norm exceeds
    it are first rescaled in place to norm ``max_norm``. ``scale_grad_by_freq``: each row's
    gradient is divided by the number of times it occurs in ``input``.
    """
    input = _as_index("embedding", input)
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D (num_embeddings, embedding_dim), "
                           f"got shape {list(weight.shape)}")
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not supported by "
                                  "chainrule; use sparse=False (dense gradients)")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx += num
    if input.numel() and not (SPECIAL.is_traced is not None and SPECIAL.is_traced(input)):
        lo, hi = int(_rd.amin(input)), int(_rd.amax(input))
        if lo < 0 or hi >= num:
            raise IndexError(f"embedding: index out of range in self (indices span [{lo}, {hi}], "
                             f"weight has {num} rows)")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    out = weight[input]
    if padding_idx is None and not scale_grad_by_freq:
        return out
    keep_shape = tuple(input.shape) + (1,)
    frozen = out.detach()
    if scale_grad_by_freq:
        counts = _rd.sum(_ew.eq(input.reshape(-1, 1), input.reshape(1, -1)), 1).reshape(keep_shape)
        # frozen + (out - frozen) * s: the value is exactly `out`, the gradient s * g
        out = frozen + (out - frozen) * (1.0 / counts.to(weight.dtype))
    if padding_idx is not None:
        out = _ew.where((input == padding_idx).reshape(keep_shape), frozen, out)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape ``tensor.shape + (num_classes,)`` with a 1 at each value's
    position (``num_classes=-1``: one more than the largest value)."""
    if not isinstance(tensor, Tensor) or tensor.dtype != _dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(_rd.amax(tensor)) + 1
    if tensor.numel():
        if int(_rd.amin(tensor)) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(_rd.amax(tensor)) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = _cr.arange(num_classes)
    return _ew.eq(tensor.unsqueeze(-1), classes).to(_dt.int64)
