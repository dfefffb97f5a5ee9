"""Attention: ``scaled_dot_product_attention`` and ``MultiheadAttention``, with PyTorch's
arguments, parameter names (``in_proj_weight``, ``in_proj_bias``, ``out_proj.weight``, ...),
initialisation and mask conventions.

Composed from primitives (matmul, softmax, where, ...); no derivative code of its own.

Mask conventions differ between the two, as in PyTorch:

- ``scaled_dot_product_attention``: a boolean ``attn_mask`` marks with True the positions
  that TAKE PART in attention;
- ``MultiheadAttention``: boolean ``attn_mask`` and ``key_padding_mask`` mark with True the
  positions that are NOT allowed to attend (padding).

Float masks are added to the attention scores in both.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from .. import ops
from ..tensor import Tensor, _wrap
from . import init
from ._functional.dropout import dropout as _dropout
from ._functional.linear import linear
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["scaled_dot_product_attention", "MultiheadAttention"]


def _as_float_mask(mask: Tensor, like: Tensor, name: str, allowed_is_true: bool) -> Tensor:
    """A mask to add to the scores: float masks as they are (in ``like``'s dtype), boolean
    masks as 0 where attention is allowed and -inf where it is not."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(mask).__name__}")
    kind = mask._data.dtype.kind
    if kind == "f":
        return mask if mask._data.dtype == like._data.dtype else mask.to(like.dtype)
    if kind != "b":
        raise TypeError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    blocked = ~mask._data if allowed_is_true else mask._data
    return _wrap(np.where(blocked, -np.inf, 0.0).astype(like._data.dtype))


def _causal_mask(L: int, S: int, dtype) -> Tensor:
    """0 on and below the diagonal, -inf above it (position i sees keys 0..i)."""
    blocked = np.triu(np.ones((L, S), dtype=bool), k=1)
    return _wrap(np.where(blocked, -np.inf, 0.0).astype(dtype))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Optional[Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, as ``torch.nn.functional``'s.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).
    ``attn_mask``: boolean (True = may attend) or float (added), broadcastable to
    (..., L, S). ``is_causal`` applies a lower-triangular mask (and then ``attn_mask``
    must be None). ``scale`` defaults to ``1/sqrt(E)``. Dropout with ``dropout_p`` is
    applied to the attention weights (always, as in PyTorch: pass 0.0 in evaluation).
    """
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    if key.shape[-1] != E:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same "
                           f"last dimension, got {list(query.shape)} and {list(key.shape)}")
    if value.shape[-2] != S:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length, got {list(key.shape)} and {list(value.shape)}")
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    scores = ops.matmul(query, ops.transpose(key, -2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        scores = scores + _causal_mask(L, S, query._data.dtype)
    elif attn_mask is not None:
        scores = scores + _as_float_mask(attn_mask, query, "attn_mask", allowed_is_true=True)
    attn = ops.softmax(scores, -1)
    if dropout_p > 0.0:
        attn = _dropout(attn, dropout_p, True)
    return ops.matmul(attn, value)


class MultiheadAttention(Module):
    """Multi-head attention, ``MultiHead(Q, K, V) = Concat(head_1..head_h) W_O``.

    ``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)``. Parameters as in
    PyTorch: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), or ``q_proj_weight``,
    ``k_proj_weight``, ``v_proj_weight`` when ``kdim``/``vdim`` differ from ``embed_dim``;
    ``out_proj`` a Linear(E, E). Projections are xavier-uniform, biases zero.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not "
                                      "supported")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(ops.empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(ops.empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(ops.empty(embed_dim, self.vdim, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(ops.empty(3 * embed_dim, embed_dim, dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(ops.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one matmul
                qkv = linear(query, w, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Optional[Tensor] = None, need_weights: bool = True,
                attn_mask: Optional[Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        """Attend from ``query`` to ``key``/``value``.

        Shapes (batch_first=False): query (L, N, E), key (S, N, kdim), value (S, N, vdim);
        with batch_first (N, L, E) etc.; unbatched (L, E). ``key_padding_mask`` (N, S) and
        ``attn_mask`` (L, S) or (N*num_heads, L, S): boolean (True = not allowed) or float
        (added). ``is_causal`` is a hint that ``attn_mask`` is the causal mask (it must be
        given, as in PyTorch). Returns ``(attn_output, attn_weights)``; the weights are
        (N, L, S) averaged over heads, (N, num_heads, L, S) without averaging, or None when
        ``need_weights`` is False.
        """
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                               "Transformer module method `generate_square_subsequent_mask` to "
                               "create this mask.")
        batched = query.dim() == 3
        if query.dim() not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.dim()}-D query tensor")
        if not batched:
            query, key, value = (ops.unsqueeze(t, 0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = ops.unsqueeze(key_padding_mask, 0)
        elif not self.batch_first:
            same_kv = key is value
            same_qk = query is key
            query = ops.transpose(query, 0, 1)
            key = query if same_qk else ops.transpose(key, 0, 1)
            value = key if same_kv else ops.transpose(value, 0, 1)
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {query.shape[-1]}")
        N, L = query.shape[0], query.shape[1]
        S = key.shape[1]
        h, d = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        q = ops.permute(ops.reshape(q, (N, L, h, d)), (0, 2, 1, 3))
        k = ops.permute(ops.reshape(k, (N, S, h, d)), (0, 2, 3, 1))  # (N, h, d, S)
        v = ops.permute(ops.reshape(v, (N, S, h, d)), (0, 2, 1, 3))
        scores = ops.matmul(q * (1.0 / math.sqrt(d)), k)  # (N, h, L, S)
        if attn_mask is not None:
            m = _as_float_mask(attn_mask, query, "attn_mask", allowed_is_true=False)
            if m.dim() == 3:
                if tuple(m.shape) != (N * h, L, S):
                    raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(m.shape)}, but "
                                       f"should be {(N * h, L, S)}.")
                m = ops.reshape(m, (N, h, L, S))
            elif m.dim() == 2:
                if tuple(m.shape) != (L, S):
                    raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(m.shape)}, but "
                                       f"should be {(L, S)}.")
            else:
                raise RuntimeError(f"attn_mask's dimension {m.dim()} is not supported")
            scores = scores + m
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                     f"{tuple(key_padding_mask.shape)}")
            m = _as_float_mask(key_padding_mask, query, "key_padding_mask",
                               allowed_is_true=False)
            scores = scores + ops.reshape(m, (N, 1, 1, S))
        attn = ops.softmax(scores, -1)
        if self.dropout > 0.0 and self.training:
            attn = _dropout(attn, self.dropout, True)
        out = ops.matmul(attn, v)  # (N, h, L, d)
        out = ops.reshape(ops.permute(out, (0, 2, 1, 3)), (N, L, self.embed_dim))
        out = self.out_proj(out)
        weights = None
        if need_weights:
            weights = ops.mean(attn, 1) if average_attn_weights else attn
            if not batched:
                weights = ops.squeeze(weights, 0)
        if not batched:
            out = ops.squeeze(out, 0)
        elif not self.batch_first:
            out = ops.transpose(out, 0, 1)
        return out, weights
