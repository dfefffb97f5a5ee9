"""Shape primitives (reshape, permute, expand, sum_to, cat, flip, roll, pad) and the
shape functions composed from them (view, squeeze, transpose, stack, split, repeat...)."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np

from ..autograd.graph import show_as
from ..tensor import Tensor, _normalize_dim, _wrap
from .primitive import Primitive, apply, np_sum_to

__all__ = [
    "reshape", "view", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose",
    "swapaxes", "permute", "movedim", "expand", "expand_as", "broadcast_to", "sum_to",
    "repeat", "tile", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "split",
    "chunk", "unbind", "flip", "roll", "pad", "narrow", "t", "broadcast_tensors",
]

ShapeLike = Union[int, Sequence[int]]


def _shape_arg(shape) -> tuple:
    """Accept reshape(2, 3), reshape((2, 3)) and reshape([2, 3])."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _infer_shape(op: str, shape: tuple, numel: int, in_shape: tuple) -> tuple:
    """Resolve one -1 and check that the element count matches."""
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred (-1), got shape {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {list(shape)}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(
                f"{op}: shape {list(shape)} is invalid for input of size {numel} "
                f"(input shape {list(in_shape)})")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(
            f"{op}: shape {list(shape)} is invalid for input of size {numel} (input shape "
            f"{list(in_shape)}); the number of elements must stay {numel}")
    return shape


# ----------------------------------------------------------------------------- primitives

_reshape = Primitive(
    "reshape", lambda x, shape, in_shape: np.reshape(x, shape),
    vjp=[lambda F, g, out, x, shape, in_shape: F.reshape(g, in_shape)],
    jvp=[lambda F, t, out, x, shape, in_shape: F.reshape(t, shape)],
    save_inputs=False, view=True, second_order=False, node_name="ViewBackward0")


def _inverse_permutation(axes: tuple) -> tuple:
    return tuple(int(i) for i in np.argsort(axes))


_permute = Primitive(
    "permute", lambda x, axes: np.transpose(x, axes),
    vjp=[lambda F, g, out, x, axes: F.permute(g, _inverse_permutation(axes))],
    jvp=[lambda F, t, out, x, axes: F.permute(t, axes)],
    save_inputs=False, view=True, second_order=False)

_expand = Primitive(
    "expand", lambda x, shape, in_shape: np.broadcast_to(x, shape),
    vjp=[lambda F, g, out, x, shape, in_shape: F.sum_to(g, in_shape)],
    jvp=[lambda F, t, out, x, shape, in_shape: F.expand(t, shape)],
    save_inputs=False, view=True, second_order=False)

_sum_to = Primitive(
    "sum_to", lambda x, shape, in_shape: np_sum_to(x, shape),
    vjp=[lambda F, g, out, x, shape, in_shape: F.expand(g, in_shape)],
    jvp=[lambda F, t, out, x, shape, in_shape: F.sum_to(t, shape)],
    save_inputs=False, second_order=False, node_name="SumBackward1")


def _cat_vjp(F, g, out, *inputs, index, dim, sizes):
    start = sum(sizes[:index])
    sl = (slice(None),) * dim + (slice(start, start + sizes[index]),)
    return F.call("getitem", g, index=sl, in_shape=tuple(g.shape), basic=True)


def _cat_jvp(F, t, out, *inputs, index, dim, sizes):
    # this input's tangent, placed in its block of the output with zeros elsewhere
    pads = [(0, 0)] * out.ndim
    start = sum(sizes[:index])
    pads[dim] = (start, sum(sizes) - start - sizes[index])
    return F.call("pad", t, widths=tuple(pads), value=0.0)


_cat = Primitive(
    "cat", lambda *xs, dim, sizes: np.concatenate(xs, axis=dim),
    vjp=_cat_vjp, jvp=_cat_jvp, save_inputs=False, variadic=True, second_order=False)

_flip = Primitive(
    "flip", lambda x, dims: np.flip(x, dims),
    vjp=[lambda F, g, out, x, dims: F.call("flip", g, dims=dims)],
    jvp=[lambda F, t, out, x, dims: F.call("flip", t, dims=dims)],
    save_inputs=False, second_order=False)


def _neg_shifts(shifts):
    return tuple(-s for s in shifts)


_roll = Primitive(
    "roll", lambda x, shifts, dims: np.roll(x, shifts, dims),
    vjp=[lambda F, g, out, x, shifts, dims: F.call("roll", g, shifts=_neg_shifts(shifts), dims=dims)],
    jvp=[lambda F, t, out, x, shifts, dims: F.call("roll", t, shifts=shifts, dims=dims)],
    save_inputs=False, second_order=False)


def _unpad_index(widths: tuple, shape: tuple) -> tuple:
    return tuple(slice(lo, s - hi) for (lo, hi), s in zip(widths, shape))


_pad = Primitive(
    "pad", lambda x, widths, value: np.pad(x, widths, mode="constant", constant_values=value),
    vjp=[lambda F, g, out, x, widths, value: F.call(
        "getitem", g, index=_unpad_index(widths, g.shape), in_shape=tuple(g.shape), basic=True)],
    jvp=[lambda F, t, out, x, widths, value: F.call("pad", t, widths=widths, value=0.0)],
    save_inputs=False, second_order=False, node_name="ConstantPadNdBackward0")


# ----------------------------------------------------------------------------- functions

def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dimension may be -1)."""
    shape = _infer_shape("reshape", _shape_arg(shape), input._data.size, input._data.shape)
    if shape == input._data.shape:
        return apply(_reshape, input, shape=shape, in_shape=shape)
    return apply(_reshape, input, shape=shape, in_shape=input._data.shape)


view = reshape


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, (1,))
    s = _normalize_dim(start_dim, nd, "flatten")
    e = _normalize_dim(end_dim, nd, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after end_dim ({end_dim})")
    shp = input._data.shape
    return reshape(input, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    d = _normalize_dim(dim, input._data.ndim, "unflatten")
    shp = input._data.shape
    sizes = tuple(sizes)
    sizes = _infer_shape("unflatten", sizes, shp[d], (shp[d],))
    return reshape(input, shp[:d] + sizes + shp[d + 1:])


def squeeze(input: Tensor, dim: Optional[Union[int, Sequence[int]]] = None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    shp = input._data.shape
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {_normalize_dim(d, len(shp), "squeeze") for d in dims}
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    kind = "SqueezeBackward0" if dim is None else (
        "SqueezeBackward1" if isinstance(dim, int) else "SqueezeBackward2")
    return show_as(reshape(input, new), kind, input)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    nd = input._data.ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"unsqueeze: Dimension out of range (expected to be in range of "
                         f"[{-nd - 1}, {nd}], but got {dim})")
    d = dim + nd + 1 if dim < 0 else dim
    shp = input._data.shape
    return show_as(reshape(input, shp[:d] + (1,) + shp[d:]), "UnsqueezeBackward0", input)


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dimensions."""
    dims = _shape_arg(dims) if dims else ()
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute: number of dims don't match: the tensor has {nd} dimensions "
                           f"but {len(dims)} were given ({list(dims)})")
    axes = tuple(_normalize_dim(d, nd, "permute") for d in dims)
    if len(set(axes)) != nd:
        raise RuntimeError(f"permute: repeated dim in {list(dims)}")
    return apply(_permute, input, axes=axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = input._data.ndim
    if nd == 0:
        return input
    a = _normalize_dim(dim0, nd, "transpose")
    b = _normalize_dim(dim1, nd, "transpose")
    axes = list(range(nd))
    axes[a], axes[b] = axes[b], axes[a]
    return show_as(apply(_permute, input, axes=tuple(axes)), "TransposeBackward0", input)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (tensors of up to 2 dimensions)."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D; use transpose(dim0, dim1) or .mT")
    return show_as(transpose(input, 0, -1), "TBackward0", input) if input._data.ndim == 2 else input


def movedim(input: Tensor, source, destination) -> Tensor:
    nd = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [_normalize_dim(s, nd, "movedim") for s in src]
    dst = [_normalize_dim(d, nd, "movedim") for d in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view with ``sizes`` (-1 keeps a dimension as it is)."""
    sizes = _shape_arg(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    target = []
    for i, s in enumerate(sizes):
        if s == -1:
            if i < lead:
                raise RuntimeError("expand: -1 is not allowed in a new leading dimension")
            s = shp[i - lead]
        elif i >= lead and shp[i - lead] not in (1, s):
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({shp[i - lead]}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                f"Tensor sizes: {list(shp)}")
        target.append(s)
    target = tuple(target)
    if target == shp:
        return input
    return apply(_expand, input, shape=target, in_shape=shp)


broadcast_to = expand


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def sum_to(input: Tensor, shape) -> Tensor:
    """Sum over broadcast dimensions so that the result has ``shape`` (the dual of expand)."""
    shape = tuple(shape)
    if input._data.shape == shape:
        return input
    return apply(_sum_to, input, shape=shape, in_shape=input._data.shape)


def repeat(input: Tensor, *repeats) -> Tensor:
    """Tile the tensor ``repeats[i]`` times along each dimension (like ``Tensor.repeat``)."""
    reps = _shape_arg(repeats)
    shp = input._data.shape
    if len(reps) < len(shp):
        raise RuntimeError(f"repeat: number of repeat dims ({len(reps)}) can not be smaller than "
                           f"the number of dimensions of the tensor ({len(shp)})")
    shp = (1,) * (len(reps) - len(shp)) + shp
    # (s0, s1) -> (1, s0, 1, s1) -> expand (r0, s0, r1, s1) -> (r0*s0, r1*s1)
    interleaved = tuple(v for s in shp for v in (1, s))
    expanded = tuple(v for r, s in zip(reps, shp) for v in (r, s))
    out = reshape(input, interleaved)
    out = expand(out, expanded)
    return show_as(reshape(out, tuple(r * s for r, s in zip(reps, shp))), "RepeatBackward0", input)


def tile(input: Tensor, dims) -> Tensor:
    dims = tuple(dims)
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of Tensors")
    from .. import dtypes as _dt
    from .elementwise import to_dtype
    # PyTorch skips legacy empty 1-D tensors of shape [0] when joining
    nonempty = [x for x in tensors if not (x._data.ndim == 1 and x._data.shape[0] == 0)]
    if not nonempty:
        return tensors[0]
    target = _dt.result_type(*[_AsDim(x) for x in nonempty])
    nonempty = [to_dtype(x, target) for x in nonempty]
    nd = nonempty[0]._data.ndim
    if nd == 0:
        raise RuntimeError("cat: zero-dimensional tensor cannot be concatenated; use stack()")
    d = _normalize_dim(dim, nd, "cat")
    ref = nonempty[0]._data.shape
    for i, x in enumerate(nonempty):
        s = x._data.shape
        if len(s) != nd or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != d):
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {d}: tensor 0 has shape "
                f"{list(ref)} but tensor {i} has shape {list(s)}")
    sizes = tuple(x._data.shape[d] for x in nonempty)
    return apply(_cat, *nonempty, dim=d, sizes=sizes)


concat = concatenate = cat


class _AsDim:
    """Make every tensor count as dimensioned for cat's dtype promotion."""

    def __init__(self, t: Tensor) -> None:
        self.dtype = t.dtype
        self.ndim = 1


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of the same shape along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    ref = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref)} at "
                               f"entry 0 and {list(x._data.shape)} at entry {i}")
    nd = len(ref) + 1
    if not -nd <= dim < nd:
        raise IndexError(f"stack: Dimension out of range (expected to be in range of "
                         f"[{-nd}, {nd - 1}], but got {dim})")
    d = dim + nd if dim < 0 else dim
    return show_as(cat([unsqueeze(x, d) for x in tensors], d), "StackBackward0", *tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = list(tensors)
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([x if x._data.ndim >= 2 else reshape(x, (1, -1)) for x in tensors], 0)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _normalize_dim(dim, input._data.ndim, "narrow")
    return input[(slice(None),) * d + (slice(start, start + length),)]


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    d = _normalize_dim(dim, tensor._data.ndim, "split")
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        bounds = [(s, min(s + step, n)) for s in range(0, n, step)] or [(0, 0)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split: split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got split_sizes={sizes}")
        starts = np.cumsum([0] + sizes[:-1])
        bounds = [(int(s), int(s) + z) for s, z in zip(starts, sizes)]
    pre = (slice(None),) * d
    name = "SplitBackward0" if isinstance(split_size_or_sections, (int, np.integer)) \
        else "SplitWithSizesBackward0"
    return tuple(show_as(tensor[pre + (slice(a, b),)], name, tensor) for a, b in bounds)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of (nearly) equal size, as PyTorch does."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = _normalize_dim(dim, input._data.ndim, "chunk")
    n = input._data.shape[d]
    step = max(1, -(-n // chunks))
    return split(input, step, d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    d = _normalize_dim(dim, input._data.ndim, "unbind")
    pre = (slice(None),) * d
    return tuple(show_as(input[pre + (i,)], "UnbindBackward0", input)
                 for i in range(input._data.shape[d]))


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = tuple(_normalize_dim(d, input._data.ndim, "flip") for d in dims)
    return apply(_flip, input, dims=dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically along ``dims`` (the flattened tensor when dims is None)."""
    if dims is None:
        flat = reshape(input, (-1,))
        s = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        return reshape(apply(_roll, flat, shifts=s, dims=(0,)), input._data.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts ({len(shifts)}) and dims ({len(dims)}) must have the same length")
    dims = tuple(_normalize_dim(d, input._data.ndim, "roll") for d in dims)
    return apply(_roll, input, shifts=shifts, dims=dims)


_PAD_NAMES = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0"}


def _pad_indices(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """For each position of the padded dimension, the source position it copies."""
    i = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return np.mod(i, n)
    return np.where(i < 0, -i, np.where(i >= n, 2 * (n - 1) - i, i))  # reflect


def _pad_by_index(input: Tensor, pad: list, mode: str) -> Tensor:
    """reflect / replicate / circular: the last len(pad)//2 dimensions of a batched or
    unbatched input, by indexing (the gradient adds up where a value was copied)."""
    from .index import index_select
    k = len(pad) // 2
    nd = input._data.ndim
    if len(pad) % 2 or not 1 <= k <= 3 or nd not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: mode {mode!r} pads the last 1, 2 or 3 dimensions of a batched or unbatched "
            f"input: got {len(pad)} pad values for an input of shape {list(input.shape)}. Only 2D, "
            "3D, 4D, 5D padding with non-constant padding are supported for now")
    out = input
    for j in range(k):
        d = nd - 1 - j
        lo, hi = int(pad[2 * j]), int(pad[2 * j + 1])
        n = input._data.shape[d]
        if lo < 0 or hi < 0:
            raise RuntimeError(f"pad: negative padding ({lo}, {hi}) is not supported with mode "
                               f"{mode!r}; crop with slicing first")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {d} of input {list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError(f"Padding value causes wrapping around more than once: padding "
                               f"({lo}, {hi}) at dimension {d} of size {n}")
        if n == 0 and (lo or hi):
            raise RuntimeError(f"pad: cannot pad an empty dimension ({d}) with mode {mode!r}")
        if lo or hi:
            out = index_select(out, d, _pad_indices(n, lo, hi, mode))
    if mode in _PAD_NAMES and out is not input:
        show_as(out, _PAD_NAMES[mode].format(k), input)
    return out


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad ``input``. ``pad`` lists (left, right) widths from the LAST dimension backwards, as in
    ``torch.nn.functional.pad``. ``mode='constant'`` fills with ``value`` (negative widths
    crop); ``'reflect'``, ``'replicate'`` and ``'circular'`` copy values from inside the
    tensor (mirrored without the edge, the edge repeated, or wrapped around)."""
    if mode in ("reflect", "replicate", "circular"):
        if value not in (None, 0, 0.0):
            raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
        return _pad_by_index(input, list(pad), mode)
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use 'constant', "
                                  "'reflect', 'replicate' or 'circular'")
    pad = list(pad)
    if len(pad) % 2 or len(pad) // 2 > input._data.ndim:
        raise RuntimeError(f"pad: padding length must be even and at most 2 * ndim "
                           f"({2 * input._data.ndim}), got {len(pad)}")
    nd = input._data.ndim
    widths = [(0, 0)] * nd
    for i in range(len(pad) // 2):
        widths[nd - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in widths):  # crop first, then pad the rest
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(widths, input._data.shape))
        input = input[crop]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if value is None:
        value = 0.0
    return apply(_pad, input, widths=tuple(widths), value=value)
