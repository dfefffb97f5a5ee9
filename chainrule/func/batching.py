"""Batching rules: one per primitive, used by :func:`chainrule.func.vmap`.

A rule computes a primitive on a whole batch at once.  It receives the primitive's
arguments, each either *batched* (a tensor whose first dimension is the batch of size B,
the rest being the example's shape) or *unbatched* (a tensor or Python value shared by
every example), and returns the batched result (batch first).  Rules call the primitive
itself, with adjusted parameters, through ``apply``: so what they compute is recorded for
autograd, carries forward-mode tangents, and can be batched again by an outer vmap.

Most primitives fall into a few families (elementwise, reductions over ``dims``, shape
changes, indexing); the table at the end names each primitive's rule.
"""
from __future__ import annotations

import string
from typing import Callable, Sequence

import numpy as np

from ..ops.primitive import REGISTRY, apply
from ..tensor import Tensor

__all__ = ["BATCH_RULES", "batch_primitive", "loop_rule"]

Rule = Callable[..., Tensor]


def _nd(x, batched: bool) -> int:
    """The example's number of dimensions."""
    if not isinstance(x, Tensor):
        return np.ndim(x)
    return x._data.ndim - 1 if batched else x._data.ndim


def _reshape(x: Tensor, shape: tuple) -> Tensor:
    return apply(REGISTRY["reshape"], x, shape=tuple(shape), in_shape=x._data.shape)


def _pad_rank(x: Tensor, rank: int) -> Tensor:
    """A batched tensor with 1s inserted after the batch dimension up to ``rank`` example dims
    (so that it broadcasts against examples of that rank as its example would)."""
    shape = x._data.shape
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return x
    return _reshape(x, shape[:1] + (1,) * missing + shape[1:])


def _materialize(x, batched: bool, B: int) -> Tensor:
    """Give an unbatched tensor a batch dimension (every example sees the same values)."""
    if batched:
        return x
    shape = (B,) + x._data.shape
    return apply(REGISTRY["expand"], _reshape(x, (1,) + x._data.shape), shape=shape,
                 in_shape=(1,) + x._data.shape)


def _shift(dims, by: int = 1):
    return None if dims is None else tuple(d + by for d in dims)


# ----------------------------------------------------------------------------- families

def elementwise(prim, args, batched, params, B):
    """Unary and broadcasting n-ary primitives: line up the example dimensions."""
    rank = max(_nd(a, b) for a, b in zip(args, batched))
    args = [_pad_rank(a, rank) if b else a for a, b in zip(args, batched)]
    return apply(prim, *args, **params)


def _reduction(with_in_shape: bool):
    def rule(prim, args, batched, params, B):
        (x,) = args
        nd = _nd(x, True)
        p = dict(params)
        p["dims"] = tuple(range(1, nd + 1)) if params["dims"] is None else _shift(params["dims"])
        if with_in_shape:
            p["in_shape"] = (B,) + tuple(params["in_shape"])
        return apply(prim, x, **p)
    return rule


def arg_extreme(prim, args, batched, params, B):
    (x,) = args
    nd = _nd(x, True)
    if params["dim"] is None:  # over the flattened example
        flat = _reshape(x, (B, -1) if x._data.size else (B, 0))
        out = apply(prim, flat, dim=1, keepdim=params["keepdim"])
        return _reshape(out, (B,) + (1,) * nd) if params["keepdim"] else out
    return apply(prim, x, dim=params["dim"] + 1, keepdim=params["keepdim"])


def shift_dim(prim, args, batched, params, B):
    """cumsum: one ``dim``."""
    return apply(prim, args[0], **{**params, "dim": params["dim"] + 1})


def shift_dims(prim, args, batched, params, B):
    """flip, roll: a tuple ``dims``."""
    return apply(prim, args[0], **{**params, "dims": _shift(params["dims"])})


def pad(prim, args, batched, params, B):
    return apply(prim, args[0], widths=((0, 0),) + tuple(params["widths"]), value=params["value"])


def reshape(prim, args, batched, params, B):
    return apply(prim, args[0], shape=(B,) + tuple(params["shape"]),
                 in_shape=(B,) + tuple(params["in_shape"]))


def permute(prim, args, batched, params, B):
    return apply(prim, args[0], axes=(0,) + tuple(a + 1 for a in params["axes"]))


def expand(prim, args, batched, params, B):
    shape = tuple(params["shape"])
    x = _pad_rank(args[0], len(shape))
    return apply(prim, x, shape=(B,) + shape, in_shape=x._data.shape)


def sum_to(prim, args, batched, params, B):
    """Sum the example over what broadcasting added or stretched, keeping the batch."""
    shape, in_shape = tuple(params["shape"]), tuple(params["in_shape"])
    lead = len(in_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and in_shape[i + lead] != 1)
    x = args[0]
    summed = apply(REGISTRY["sum"], x, dims=_shift(axes), keepdim=True, in_shape=x._data.shape)
    return _reshape(summed, (B,) + shape)


def cat(prim, args, batched, params, B):
    args = [_materialize(a, b, B) for a, b in zip(args, batched)]
    return apply(prim, *args, dim=params["dim"] + 1, sizes=params["sizes"])


def _prepend_slice(index: tuple) -> tuple:
    return (slice(None),) + tuple(index)


def _advanced_separated(index: tuple) -> bool:
    """True when NumPy would move advanced-index dimensions to the front (they are split
    by a slice, None or Ellipsis): then a leading batch slice would not stay first."""
    positions = [i for i, e in enumerate(index)
                 if isinstance(e, np.ndarray) or (isinstance(e, (int, np.integer)) and not isinstance(e, bool))]
    has_array = any(isinstance(e, np.ndarray) for e in index)
    return has_array and positions and positions[-1] - positions[0] + 1 != len(positions)


def getitem(prim, args, batched, params, B):
    index = params["index"]
    if _advanced_separated(index):
        return loop_rule(prim, args, batched, params, B)
    return apply(prim, args[0], index=_prepend_slice(index), in_shape=(B,) + tuple(params["in_shape"]),
                 basic=params["basic"])


def index_add_at(prim, args, batched, params, B):
    index = params["index"]
    if _advanced_separated(index):
        return loop_rule(prim, args, batched, params, B)
    x, src = (_materialize(a, b, B) for a, b in zip(args, batched))
    return apply(prim, x, src, index=_prepend_slice(index), basic=params["basic"])


def index_put(prim, args, batched, params, B):
    index = params["index"]
    if _advanced_separated(index):
        return loop_rule(prim, args, batched, params, B)
    x, v = args
    bx, bv = batched
    x = _materialize(x, bx, B)
    example_shape = x._data.shape[1:]
    target = np.broadcast_to(np.empty((), np.int8), example_shape)[index].shape
    if isinstance(v, Tensor) and bv:
        v = _pad_rank(v, len(target))
        v_shape = v._data.shape
    else:
        v_shape = tuple(params["v_shape"])
    return apply(prim, x, v, index=_prepend_slice(index), v_shape=v_shape)


def _batched_index(index: np.ndarray, B: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(index, (B,) + index.shape))


def gather(prim, args, batched, params, B):
    return apply(prim, args[0], index=_batched_index(params["index"], B), dim=params["dim"] + 1,
                 in_shape=(B,) + tuple(params["in_shape"]))


def scatter_add(prim, args, batched, params, B):
    x, src = (_materialize(a, b, B) for a, b in zip(args, batched))
    return apply(prim, x, src, index=_batched_index(params["index"], B), dim=params["dim"] + 1,
                 src_shape=(B,) + tuple(params["src_shape"]))


def _matmul_shape(sa: tuple, sb: tuple) -> tuple:
    """The shape of ``a @ b`` for examples of shapes ``sa`` and ``sb`` (NumPy's rules)."""
    if len(sa) == 1 and len(sb) == 1:
        return ()
    if len(sa) == 1:
        return sb[:-2] + sb[-1:]
    if len(sb) == 1:
        return sa[:-1]
    return tuple(np.broadcast_shapes(sa[:-2], sb[:-2])) + (sa[-2], sb[-1])


def matmul(prim, args, batched, params, B):
    """Batched vectors become matrices, batched operands get their example ranks lined up,
    and the result is reshaped to the batch of example results."""
    a, b = args
    ba, bb = batched
    want = (B,) + _matmul_shape(a._data.shape[1:] if ba else a._data.shape,
                                b._data.shape[1:] if bb else b._data.shape)
    if ba and _nd(a, True) == 1:
        a = _reshape(a, (B, 1, a._data.shape[1]))
    if bb and _nd(b, True) == 1:
        b = _reshape(b, (B, b._data.shape[1], 1))
    rank = max(_nd(a, ba), _nd(b, bb))
    if ba:
        a = _pad_rank(a, rank)
    if bb:
        b = _pad_rank(b, rank)
    out = apply(prim, a, b)
    return out if out._data.shape == want else _reshape(out, want)


def einsum(prim, args, batched, params, B):
    ins, out_sub = list(params["ins"]), params["out_sub"]
    used = set("".join(ins) + out_sub)
    letter = next(c for c in string.ascii_letters if c not in used)
    ins = [letter + s if b else s for s, b in zip(ins, batched)]
    return apply(prim, *args, ins=tuple(ins), out_sub=letter + out_sub)


def _dynamic_layout(template: tuple, example_ndim: int, idx_shapes: list):
    """For an example index template: the number of dimensions of the advanced block, and
    where it lands in the example's result (0 when NumPy moves it to the front)."""
    from ..ops.index import Dyn
    adv_nd = len(np.broadcast_shapes(*idx_shapes)) if idx_shapes else 0
    positions = [p for p, e in enumerate(template) if isinstance(e, Dyn)]
    if positions[-1] - positions[0] + 1 != len(positions):
        return adv_nd, 0
    consumed = sum(1 for e in template if e is not None and e is not Ellipsis)
    q = 0
    for e in template[:positions[0]]:
        if e is Ellipsis:
            q += example_ndim - consumed
        elif e is None or isinstance(e, slice):
            q += 1
    return adv_nd, q


def _physical_index(template: tuple, idxs: list, B: int, adv_nd: int):
    """The index for the batch: a batch-number array first, then the example's index with
    every index tensor batched. NumPy then gives (B, advanced block, the rest)."""
    from ..ops.index import Dyn
    from ..ops.creation import tensor
    batch_numbers = tensor(np.arange(B).reshape((B,) + (1,) * adv_nd))
    shifted = tuple(Dyn(e.k + 1) if isinstance(e, Dyn) else e for e in template)
    return (Dyn(0),) + shifted, [batch_numbers] + idxs


def index_tensor(prim, args, batched, params, B):
    x, *idxs = args
    x = _materialize(x, batched[0], B)
    idxs = [_materialize(i, b, B) for i, b in zip(idxs, batched[1:])]
    template = params["template"]
    adv_nd, q = _dynamic_layout(template, len(params["in_shape"]), [i._data.shape[1:] for i in idxs])
    tmpl, inputs = _physical_index(template, idxs, B, adv_nd)
    out = apply(prim, x, *inputs, template=tmpl, in_shape=x._data.shape)
    if q:  # (B, A, R) -> (B, R[:q], A, R[q:]), where the example's result has the block
        nd = out._data.ndim
        block, rest = list(range(1, 1 + adv_nd)), list(range(1 + adv_nd, nd))
        out = apply(REGISTRY["permute"], out, axes=tuple([0] + rest[:q] + block + rest[q:]))
    return out


def index_tensor_add(prim, args, batched, params, B):
    z, src, *idxs = args
    z = _materialize(z, batched[0], B)
    src = _materialize(src, batched[1], B)
    idxs = [_materialize(i, b, B) for i, b in zip(idxs, batched[2:])]
    template = params["template"]
    adv_nd, q = _dynamic_layout(template, z._data.ndim - 1, [i._data.shape[1:] for i in idxs])
    tmpl, inputs = _physical_index(template, idxs, B, adv_nd)
    if q:  # src comes in the example's layout (B, R[:q], A, R[q:]): NumPy wants (B, A, R)
        nd = src._data.ndim
        rest_before = list(range(1, 1 + q))
        block = list(range(1 + q, 1 + q + adv_nd))
        rest_after = list(range(1 + q + adv_nd, nd))
        src = apply(REGISTRY["permute"], src, axes=tuple([0] + block + rest_before + rest_after))
    return apply(prim, z, src, *inputs, template=tmpl)


# ----------------------------------------------------------------------------- conv and pooling
# A convolution's batch folds into N when only the input is batched; when a weight is
# batched, the batch becomes more channel groups: channels (b, c) -> b*C + c, groups*B.

def _fold_batch(x: Tensor, B: int) -> Tensor:
    """(B, N, ...) -> (B*N, ...)."""
    s = x._data.shape
    return _reshape(x, (B * s[1],) + s[2:])


def _unfold_batch(x: Tensor, B: int) -> Tensor:
    """(B*N, ...) -> (B, N, ...)."""
    s = x._data.shape
    return _reshape(x, (B, s[0] // B) + s[1:])


def _batch_to_channels(x: Tensor, B: int) -> Tensor:
    """(B, N, C, H, W) -> (N, B*C, H, W)."""
    s = x._data.shape
    x = apply(REGISTRY["permute"], x, axes=(1, 0, 2, 3, 4))
    return _reshape(x, (s[1], B * s[2]) + s[3:])


def _channels_to_batch(x: Tensor, B: int) -> Tensor:
    """(N, B*C, H, W) -> (B, N, C, H, W)."""
    s = x._data.shape
    x = _reshape(x, (s[0], B, s[1] // B) + s[2:])
    return apply(REGISTRY["permute"], x, axes=(1, 0, 2, 3, 4))


def _conv_channels_params(params: dict, B: int) -> dict:
    return {**params, "groups": params["groups"] * B}


def conv_fold(prim, args, batched, params, B):
    """conv2d(x, w), conv_transpose2d(y, w): fold the batch into N, or into the groups when
    the weight is batched."""
    x, w = args
    bx, bw = batched
    if not bw:
        return _unfold_batch(apply(prim, _fold_batch(x, B), w, **params), B)
    x = _batch_to_channels(_materialize(x, bx, B), B)
    ws = w._data.shape
    w = _reshape(w, (B * ws[1],) + ws[2:])
    return _channels_to_batch(apply(prim, x, w, **_conv_channels_params(params, B)), B)


def conv_weight_grad(prim, args, batched, params, B):
    """conv2d_weight_grad(x, y) sums over N: the batch goes into the groups."""
    x, y = (_batch_to_channels(_materialize(a, b, B), B) for a, b in zip(args, batched))
    out = apply(prim, x, y, **_conv_channels_params(params, B))
    s = out._data.shape
    return _reshape(out, (B, s[0] // B) + s[1:])


def pool_fold(prim, args, batched, params, B):
    """Pooling and its gathers/scatters act on each (N, C) plane alike: fold B into N."""
    args = [_fold_batch(_materialize(a, b, B), B) if isinstance(a, Tensor) else a
            for a, b in zip(args, batched)]
    return _unfold_batch(apply(prim, *args, **params), B)


def loop_rule(prim, args, batched, params, B):
    """The fallback: run the primitive example by example and stack (correct, not fast).
    Used for user Functions and for indexing patterns NumPy would reorder."""
    results = []
    for k in range(B):
        example = [apply(REGISTRY["getitem"], a, index=(k,), in_shape=a._data.shape, basic=True)
                   if b else a for a, b in zip(args, batched)]
        cls = params.get("cls")
        if cls is not None:  # a user-defined Function
            results.append(cls.apply(*example))
        else:
            results.append(apply(prim, *example, **params))
    shape = results[0]._data.shape
    stacked = [_reshape(r, (1,) + shape) for r in results]
    return apply(REGISTRY["cat"], *stacked, dim=0, sizes=(1,) * B)


# ----------------------------------------------------------------------------- the table

_ELEMENTWISE = [
    "neg", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "sin",
    "cos", "tan", "tanh", "sigmoid", "relu", "abs", "sign", "floor", "ceil", "trunc", "erf",
    "round", "clone", "alias", "to_dtype", "add", "sub", "mul", "div", "pow", "maximum",
    "minimum", "remainder", "floor_divide", "where", "clamp", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "logical_not", "bitwise_not", "isnan", "isinf", "isfinite",
]

BATCH_RULES: dict = {name: elementwise for name in _ELEMENTWISE}
# chainrule/ops/math_extra.py
BATCH_RULES.update({name: elementwise for name in [
    "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erfc", "erfinv", "lgamma",
    "digamma", "trigamma", "signbit", "nan_to_num", "atan2", "hypot", "logaddexp", "logaddexp2",
    "xlogy", "fmod", "heaviside"]})
BATCH_RULES.update({
    "sum": _reduction(with_in_shape=True), "prod": _reduction(False), "amax": _reduction(False),
    "amin": _reduction(False), "logsumexp": _reduction(False), "norm2": _reduction(False),
    "all": _reduction(False), "any": _reduction(False), "count_nonzero": _reduction(False),
    "argmax": arg_extreme, "argmin": arg_extreme, "cumsum": shift_dim, "flip": shift_dims,
    "roll": shift_dims, "pad": pad, "reshape": reshape, "permute": permute, "expand": expand,
    "sum_to": sum_to, "cat": cat, "getitem": getitem, "index_add_at": index_add_at,
    "index_put": index_put, "gather": gather, "scatter_add": scatter_add, "matmul": matmul,
    "einsum": einsum, "index_tensor": index_tensor, "index_tensor_add": index_tensor_add,
    "conv2d": conv_fold, "conv_transpose2d": conv_fold, "conv2d_weight_grad": conv_weight_grad,
    "max_pool2d_indices": pool_fold, "max_pool2d_gather": pool_fold,
    "max_pool2d_scatter": pool_fold, "avg_pool2d": pool_fold, "avg_pool2d_backward": pool_fold,
    "rnn_layer": loop_rule, "lstm_layer": loop_rule, "gru_layer": loop_rule,  # a time loop each
})


def batch_primitive(prim, args: Sequence, batched: Sequence[bool], params: dict, B: int) -> Tensor:
    """Apply ``prim`` to a batch: ``args[i]`` has a leading batch dimension where ``batched[i]``."""
    rule = BATCH_RULES.get(prim.name) if REGISTRY.get(prim.name) is prim else None
    if rule is None:
        rule = loop_rule
    return rule(prim, list(args), list(batched), params, B)
