"""Transformer encoder: ``TransformerEncoderLayer`` (self-attention and a feed-forward
block, each with a residual connection and LayerNorm, post-norm or pre-norm) and
``TransformerEncoder`` (a stack of copies), with PyTorch's submodule names so that
state_dict keys match (``self_attn.in_proj_weight``, ``linear1.weight``, ``norm1.weight``...).
"""
from __future__ import annotations

import copy
from typing import Callable, Optional, Union

import numpy as np

from ..tensor import Tensor, _wrap
from ._functional.activations import gelu, relu
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "generate_square_subsequent_mask"]


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """A float (sz, sz) causal mask: 0 on and below the diagonal, -inf above."""
    from .. import dtypes as _dt
    npd = _dt.as_dtype(dtype).np_dtype if dtype is not None else _dt.get_default_dtype().np_dtype
    return _wrap(np.triu(np.full((sz, sz), -np.inf, npd), k=1))


def _activation(activation: Union[str, Callable]) -> Callable:
    if activation == "relu":
        return relu
    if activation == "gelu":
        return gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


class TransformerEncoderLayer(Module):
    """Self-attention then feed-forward, as ``torch.nn.TransformerEncoderLayer``.

    Post-norm (default): ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``; with
    ``norm_first=True``: ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``, where
    ``ff(x) = linear2(dropout(activation(linear1(x))))``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Union[str, Callable] = relu,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    @property
    def batch_first(self) -> bool:
        """Whether inputs are (N, S, E) rather than (S, N, E) (set at construction)."""
        return self.self_attn.batch_first

    def forward(self, src: Tensor, src_mask: Optional[Tensor] = None,
                src_key_padding_mask: Optional[Tensor] = None, is_causal: bool = False) -> Tensor:
        """``src`` (S, N, E), or (N, S, E) with batch_first, or unbatched (S, E).
        ``src_mask`` (S, S) or (N*nhead, S, S) and ``src_key_padding_mask`` (N, S): boolean
        (True = not allowed) or float (added). ``is_causal`` is a hint that ``src_mask`` is
        causal."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


def _clone_module(module: Module) -> Module:
    """A deep copy of ``module``: same structure, its own parameters with equal values."""
    try:
        return copy.deepcopy(module)
    except TypeError:  # modules refuse pickling; copy by hand
        pass
    from .parameter import Parameter
    memo: dict = {}

    def clone(m: Module) -> Module:
        if id(m) in memo:
            return memo[id(m)]
        new = object.__new__(type(m))
        memo[id(m)] = new
        d = {}
        for k, v in m.__dict__.items():
            if k == "_parameters":
                d[k] = type(v)((n, None if p is None else memo.setdefault(
                    id(p), Parameter(_wrap(p._data.copy()), requires_grad=p.requires_grad)))
                    for n, p in v.items())
            elif k == "_buffers":
                d[k] = type(v)((n, None if b is None else _wrap(b._data.copy()))
                               for n, b in v.items())
            elif k == "_modules":
                d[k] = type(v)((n, None if c is None else clone(c)) for n, c in v.items())
            elif isinstance(v, (dict, list, set)):
                d[k] = copy.copy(v)
            else:
                d[k] = v
        new.__dict__.update(d)
        return new
    return clone(module)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``...),
    followed by ``norm`` when given."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Optional[Module] = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([_clone_module(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Optional[Tensor] = None,
                src_key_padding_mask: Optional[Tensor] = None,
                is_causal: Optional[bool] = None) -> Tensor:
        """Run ``src`` through every layer (same masks for each), then ``norm``."""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        if self.norm is not None:
            x = self.norm(x)
        return x
