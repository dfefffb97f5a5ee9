"""Convolution and pooling.

The primitives work on 4-D arrays (N, C, H, W); the 1-D functions add a unit height.

- ``conv2d(x, w)``: im2col (a strided window view of the padded input, copied once into
  (N, C, kH, kW, Ho, Wo)) and one batched matmul into BLAS; groups are a leading matmul
  dimension.  Its two cotangents are primitives of their own, and the three are each
  other's derivatives, so second derivatives need no extra code:

  ========================  ====================================  ============================
  primitive                 d/d(first input)                      d/d(second input)
  ========================  ====================================  ============================
  conv2d(x, w)              conv_transpose2d(g, w)                conv2d_weight_grad(x, g)
  conv_transpose2d(y, w)    conv2d(g, w)                          conv2d_weight_grad(g, y)
  conv2d_weight_grad(x, y)  conv_transpose2d(y, g)                conv2d(x, g)
  ========================  ====================================  ============================

  (all three are bilinear: the jvp of each is the op applied to one tangent at a time).
- ``max_pool2d``: ``max_pool2d_indices`` (no derivative: which element of each window is
  the largest, the first one on ties, as PyTorch) and the dual pair ``max_pool2d_gather``
  (take those elements) / ``max_pool2d_scatter`` (add a cotangent back at them).  The
  indices are a tensor input, not a parameter, so that ``vmap`` batches them.
- ``avg_pool2d`` and its transpose ``avg_pool2d_backward`` (spread each cell over its window).
- ``adaptive_avg_pool2d`` is composed: ``avg_pool2d`` where the sizes divide, else two
  matmuls with averaging matrices (the average over a rectangle is separable).
"""
from __future__ import annotations

import functools
import math
from typing import Optional, Sequence, Union

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._special import SPECIAL
from ..tensor import Tensor, _wrap
from .primitive import Primitive, ShapeError, apply

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]


# ----------------------------------------------------------------------------- array helpers

def _out_len(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Number of windows of a (dilated) kernel along a padded dimension."""
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def _pad(x: np.ndarray, padding, value=0.0) -> np.ndarray:
    """x (N, C, H, W) with (top, bottom, left, right) rows/columns of ``value`` around it."""
    pt, pb, pl, pr = padding
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    shape = (N, C, H + pt + pb, W + pl + pr)
    if value == 0:
        out = np.zeros(shape, x.dtype)
    else:
        out = np.empty(shape, x.dtype)
        out.fill(value)
    out[:, :, pt:pt + H, pl:pl + W] = x
    return out


def _windows(xp: np.ndarray, kh, kw, stride, dilation, Ho, Wo) -> np.ndarray:
    """A read-only view (N, C, kh, kw, Ho, Wo) of the windows of the padded input."""
    N, C = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, (N, C, kh, kw, Ho, Wo),
                      (s0, s1, s2 * dilation[0], s3 * dilation[1], s2 * stride[0], s3 * stride[1]),
                      writeable=False)


def _im2col(x, kh, kw, stride, padding, dilation, Ho, Wo) -> np.ndarray:
    """The windows of ``x`` as a contiguous (N, C, kh, kw, Ho, Wo) array (one copy)."""
    v = _windows(_pad(x, padding), kh, kw, stride, dilation, Ho, Wo)
    cols = np.empty(v.shape, x.dtype)
    np.copyto(cols, v)
    return cols


def _col2im(cols: np.ndarray, out_hw, stride, padding, dilation) -> np.ndarray:
    """The transpose of :func:`_im2col`: add each window entry back where it came from."""
    N, C, kh, kw, Ho, Wo = cols.shape
    pt, pb, pl, pr = padding
    H, W = out_hw
    sh, sw = stride
    dh, dw = dilation
    Hp = max(H + pt + pb, dh * (kh - 1) + sh * (Ho - 1) + 1)
    Wp = max(W + pl + pr, dw * (kw - 1) + sw * (Wo - 1) + 1)
    xp = np.zeros((N, C, Hp, Wp), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw] += cols[:, :, i, j]
    if (Hp, Wp) == (H, W):
        return xp
    return np.ascontiguousarray(xp[:, :, pt:pt + H, pl:pl + W])


# ----------------------------------------------------------------------------- conv primitives

def _conv2d_forward(x, w, stride, padding, dilation, groups):
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    Ho = _out_len(H, kh, stride[0], dilation[0], padding[0], padding[1])
    Wo = _out_len(W, kw, stride[1], dilation[1], padding[2], padding[3])
    cols = _im2col(x, kh, kw, stride, padding, dilation, Ho, Wo)
    K = Cg * kh * kw
    if groups == 1:
        out = w.reshape(O, K) @ cols.reshape(N, K, Ho * Wo)
    else:
        out = w.reshape(groups, O // groups, K) @ cols.reshape(N, groups, K, Ho * Wo)
    return out.reshape(N, O, Ho, Wo)


def _conv_transpose2d_forward(y, w, stride, padding, dilation, groups, out_hw):
    """The adjoint of conv2d in its input: y (N, O, Ho, Wo), w (O, C/groups, kh, kw) ->
    (N, C, *out_hw)."""
    N, O, Ho, Wo = y.shape
    _, Cg, kh, kw = w.shape
    K = Cg * kh * kw
    if groups == 1:
        cols = w.reshape(O, K).T @ y.reshape(N, O, Ho * Wo)
    else:
        G = groups
        cols = w.reshape(G, O // G, K).transpose(0, 2, 1) @ y.reshape(N, G, O // G, Ho * Wo)
    cols = cols.reshape(N, groups * Cg, kh, kw, Ho, Wo)
    return _col2im(cols, out_hw, stride, padding, dilation)


def _conv2d_weight_grad_forward(x, y, stride, padding, dilation, groups, kernel_hw):
    """The adjoint of conv2d in its weight: sum over the batch and the output positions of
    y (N, O, Ho, Wo) times the windows of x (N, C, H, W) -> (O, C/groups, kh, kw)."""
    N, C, H, W = x.shape
    _, O, Ho, Wo = y.shape
    kh, kw = kernel_hw
    cols = _im2col(x, kh, kw, stride, padding, dilation, Ho, Wo)
    Cg = C // groups
    K = Cg * kh * kw
    if groups == 1:
        r = (y.reshape(N, O, Ho * Wo) @ cols.reshape(N, K, Ho * Wo).transpose(0, 2, 1)).sum(0)
    else:
        G = groups
        r = (y.reshape(N, G, O // G, Ho * Wo)
             @ cols.reshape(N, G, K, Ho * Wo).transpose(0, 1, 3, 2)).sum(0)
    return r.reshape(O, Cg, kh, kw)


def _hw(x) -> tuple:
    return tuple(x.shape[2:])


_conv2d = Primitive(
    "conv2d", _conv2d_forward,
    vjp=[lambda F, g, out, x, w, stride, padding, dilation, groups: F.call(
            "conv_transpose2d", g, w, stride=stride, padding=padding, dilation=dilation,
            groups=groups, out_hw=_hw(x)),
         lambda F, g, out, x, w, stride, padding, dilation, groups: F.call(
            "conv2d_weight_grad", x, g, stride=stride, padding=padding, dilation=dilation,
            groups=groups, kernel_hw=_hw(w))],
    jvp=[lambda F, t, out, x, w, stride, padding, dilation, groups: F.call(
            "conv2d", t, w, stride=stride, padding=padding, dilation=dilation, groups=groups),
         lambda F, t, out, x, w, stride, padding, dilation, groups: F.call(
            "conv2d", x, t, stride=stride, padding=padding, dilation=dilation, groups=groups)],
    node_name="ConvolutionBackward0")

_conv_transpose2d = Primitive(
    "conv_transpose2d", _conv_transpose2d_forward,
    vjp=[lambda F, g, out, y, w, stride, padding, dilation, groups, out_hw: F.call(
            "conv2d", g, w, stride=stride, padding=padding, dilation=dilation, groups=groups),
         lambda F, g, out, y, w, stride, padding, dilation, groups, out_hw: F.call(
            "conv2d_weight_grad", g, y, stride=stride, padding=padding, dilation=dilation,
            groups=groups, kernel_hw=_hw(w))],
    jvp=[lambda F, t, out, y, w, stride, padding, dilation, groups, out_hw: F.call(
            "conv_transpose2d", t, w, stride=stride, padding=padding, dilation=dilation,
            groups=groups, out_hw=out_hw),
         lambda F, t, out, y, w, stride, padding, dilation, groups, out_hw: F.call(
            "conv_transpose2d", y, t, stride=stride, padding=padding, dilation=dilation,
            groups=groups, out_hw=out_hw)],
    node_name="ConvolutionBackward0")

_conv2d_weight_grad = Primitive(
    "conv2d_weight_grad", _conv2d_weight_grad_forward,
    vjp=[lambda F, g, out, x, y, stride, padding, dilation, groups, kernel_hw: F.call(
            "conv_transpose2d", y, g, stride=stride, padding=padding, dilation=dilation,
            groups=groups, out_hw=_hw(x)),
         lambda F, g, out, x, y, stride, padding, dilation, groups, kernel_hw: F.call(
            "conv2d", x, g, stride=stride, padding=padding, dilation=dilation, groups=groups)],
    jvp=[lambda F, t, out, x, y, stride, padding, dilation, groups, kernel_hw: F.call(
            "conv2d_weight_grad", t, y, stride=stride, padding=padding, dilation=dilation,
            groups=groups, kernel_hw=kernel_hw),
         lambda F, t, out, x, y, stride, padding, dilation, groups, kernel_hw: F.call(
            "conv2d_weight_grad", x, t, stride=stride, padding=padding, dilation=dilation,
            groups=groups, kernel_hw=kernel_hw)],
    node_name="ConvolutionBackwardBackward0")


# ----------------------------------------------------------------------------- pooling primitives

def _pool_geometry(H, W, kernel_size, stride, padding, dilation, ceil_mode):
    """(Ho, Wo) and the extra bottom/right padding that ceil_mode needs (PyTorch's rule: the
    last window must start inside the input or its left padding)."""
    out, extra = [], []
    for n, k, s, p, d in zip((H, W), kernel_size, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
        extra.append(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)))
    return tuple(out), tuple(extra)


def _max_pool2d_indices_forward(x, kernel_size, stride, padding, dilation, ceil_mode):
    N, C, H, W = x.shape
    (Ho, Wo), (eh, ew) = _pool_geometry(H, W, kernel_size, stride, padding, dilation, ceil_mode)
    kh, kw = kernel_size
    sh, sw = stride
    dh, dw = dilation
    ph, pw = padding
    pads = (ph, ph + eh, pw, pw + ew)
    floating = x.dtype.kind == "f"
    fill = -np.inf if floating else np.iinfo(x.dtype).min
    xp = _pad(x, pads, fill)
    where = [(Ellipsis, slice(i * dh, i * dh + sh * (Ho - 1) + 1, sh),
              slice(j * dw, j * dw + sw * (Wo - 1) + 1, sw)) for i in range(kh) for j in range(kw)]
    views = [xp[w] for w in where]
    K = len(views)
    best = views[0].copy()
    for v in views[1:]:
        np.maximum(best, v, out=best)  # NaN propagates, as in PyTorch
    # window position k -> its offset in the (unpadded) H x W plane from the window's corner
    offset = np.array([i * dh * W + j * dw for i in range(kh) for j in range(kw)], np.int64)
    if (floating and np.isnan(best).any()) or (any(pads) and (best == fill).any()):
        idx = np.take(offset, _max_pool_arg_exact(x, views, where, pads))
    else:  # the first window position that holds the maximum: fill from the last one back
        idx = np.full(best.shape, offset[K - 1], np.int64)
        for k in range(K - 2, -1, -1):
            np.copyto(idx, offset[k], where=views[k] == best)
    idx += (np.arange(Ho) * sh - ph).reshape(Ho, 1) * W + (np.arange(Wo) * sw - pw)
    return idx


def _max_pool_arg_exact(x, views, where, pads):
    """PyTorch's scan, for windows with NaN or holding the padding value itself: a later
    element wins if it is larger or NaN, and a padded cell never wins over a real one."""
    valid = _pad(np.ones((1, 1) + x.shape[2:], bool), pads, False)
    shape = views[0].shape
    oks = [np.broadcast_to(valid[w], shape) for w in where]
    best = views[0].copy()
    best_ok = oks[0].copy()
    arg = np.zeros(shape, np.int32)
    for k in range(1, len(views)):
        v, ok = views[k], oks[k]
        m = ok & (~best_ok | (v > best) | (v != v))
        np.copyto(best, v, where=m)
        np.copyto(best_ok, True, where=m)
        np.copyto(arg, k, where=m)
    return arg


def _max_pool2d_gather_forward(x, idx, in_hw=None):
    N, C, H, W = x.shape
    glob = idx.reshape(N * C, -1) + (np.arange(N * C) * (H * W)).reshape(-1, 1)
    return x.reshape(-1)[glob].reshape(idx.shape)


def _max_pool2d_scatter_forward(y, idx, in_hw, overlap):
    N, C = y.shape[:2]
    H, W = in_hw
    out = np.zeros(N * C * H * W, y.dtype)
    if N * C:
        glob = (idx.reshape(N * C, -1) + (np.arange(N * C) * (H * W)).reshape(-1, 1)).ravel()
        if overlap:  # windows share elements: the same index may come up more than once
            out += np.bincount(glob, weights=y.ravel(), minlength=out.size).astype(y.dtype)
        else:
            out[glob] = y.ravel()
    return out.reshape(N, C, H, W)


_max_pool2d_indices = Primitive("max_pool2d_indices", _max_pool2d_indices_forward)

_max_pool2d_gather = Primitive(
    "max_pool2d_gather", _max_pool2d_gather_forward,
    vjp=[lambda F, g, out, x, idx, in_hw: F.call(
            "max_pool2d_scatter", g, idx, in_hw=in_hw, overlap=True), None],
    jvp=[lambda F, t, out, x, idx, in_hw: F.call("max_pool2d_gather", t, idx, in_hw=in_hw), None],
    save_inputs=(1,), second_order=False, node_name="MaxPool2DWithIndicesBackward0")

_max_pool2d_scatter = Primitive(
    "max_pool2d_scatter", _max_pool2d_scatter_forward,
    vjp=[lambda F, g, out, y, idx, in_hw, overlap: F.call("max_pool2d_gather", g, idx, in_hw=in_hw),
         None],
    jvp=[lambda F, t, out, y, idx, in_hw, overlap: F.call(
            "max_pool2d_scatter", t, idx, in_hw=in_hw, overlap=overlap), None],
    save_inputs=(1,), second_order=False, node_name="MaxPool2DWithIndicesBackwardBackward0")


@functools.lru_cache(maxsize=256)
def _avg_divisor(H, W, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """The divisor of each output cell: a number, or an (Ho, Wo) array where it varies."""
    if divisor_override is not None:
        return float(divisor_override)
    (Ho, Wo), _ = _pool_geometry(H, W, kernel_size, stride, padding, (1, 1), ceil_mode)
    counts = []
    for n, o, k, s, p in zip((H, W), (Ho, Wo), kernel_size, stride, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)  # the ceil_mode overhang never counts
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    if (counts[0] == kernel_size[0]).all() and (counts[1] == kernel_size[1]).all():
        return float(kernel_size[0] * kernel_size[1])
    return np.outer(counts[0], counts[1]).astype(np.float64)


def _avg_pool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        divisor_override, in_hw=None):
    N, C, H, W = x.shape
    (Ho, Wo), (eh, ew) = _pool_geometry(H, W, kernel_size, stride, padding, (1, 1), ceil_mode)
    kh, kw = kernel_size
    sh, sw = stride
    ph, pw = padding
    xp = _pad(x, (ph, ph + eh, pw, pw + ew))
    if (kh, kw) == (sh, sw) and xp.shape[2] == kh * Ho and xp.shape[3] == kw * Wo:
        out = xp.reshape(N, C, Ho, kh, Wo, kw).sum(axis=(3, 5))  # tiles: one reduction
    else:
        out = np.zeros((N, C, Ho, Wo), x.dtype)
        for i in range(kh):
            for j in range(kw):
                out += xp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw]
    div = _avg_divisor(H, W, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)
    if isinstance(div, float):
        out *= x.dtype.type(1.0 / div) if x.dtype.kind == "f" else 1.0 / div
        return out
    return (out / div).astype(x.dtype, copy=False)


def _avg_pool2d_backward_forward(y, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                 divisor_override, in_hw):
    """The transpose of avg_pool2d: each output cell's value, divided like the forward, added
    over its window of the input."""
    N, C, Ho, Wo = y.shape
    H, W = in_hw
    _, (eh, ew) = _pool_geometry(H, W, kernel_size, stride, padding, (1, 1), ceil_mode)
    kh, kw = kernel_size
    sh, sw = stride
    ph, pw = padding
    div = _avg_divisor(H, W, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override)
    ys = y * y.dtype.type(1.0 / div) if isinstance(div, float) else (y / div).astype(y.dtype, copy=False)
    Hp, Wp = H + 2 * ph + eh, W + 2 * pw + ew
    if (kh, kw) == (sh, sw) and Hp == kh * Ho and Wp == kw * Wo:
        xp = np.broadcast_to(ys.reshape(N, C, Ho, 1, Wo, 1), (N, C, Ho, kh, Wo, kw)).reshape(N, C, Hp, Wp)
    else:
        xp = np.zeros((N, C, Hp, Wp), y.dtype)
        for i in range(kh):
            for j in range(kw):
                xp[:, :, i:i + sh * (Ho - 1) + 1:sh, j:j + sw * (Wo - 1) + 1:sw] += ys
    if (Hp, Wp) == (H, W):
        return xp
    return np.ascontiguousarray(xp[:, :, ph:ph + H, pw:pw + W])


_AVG_KEYS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


def _avg_params(p: dict) -> dict:
    return {k: p[k] for k in _AVG_KEYS}


_avg_pool2d = Primitive(
    "avg_pool2d", _avg_pool2d_forward,
    vjp=[lambda F, g, out, x, **p: F.call("avg_pool2d_backward", g, **_avg_params(p),
                                          in_hw=p["in_hw"])],
    jvp=[lambda F, t, out, x, **p: F.call("avg_pool2d", t, **p)],
    save_inputs=False, second_order=False, node_name="AvgPool2DBackward0")

_avg_pool2d_backward = Primitive(
    "avg_pool2d_backward", _avg_pool2d_backward_forward,
    vjp=[lambda F, g, out, y, **p: F.call("avg_pool2d", g, **_avg_params(p), in_hw=p["in_hw"])],
    jvp=[lambda F, t, out, y, **p: F.call("avg_pool2d_backward", t, **p)],
    save_inputs=False, second_order=False, node_name="AvgPool2DBackwardBackward0")


# ----------------------------------------------------------------------------- argument checks

def _tuple(value, n: int, name: str, op: str) -> tuple:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        t = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(t) == 1:
        return t * n
    if len(t) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return t


def _check_positive(t: tuple, name: str, op: str) -> None:
    if any(v <= 0 for v in t):
        raise ValueError(f"{op}: {name} must be positive, got {t if len(t) > 1 else t[0]}")


def _check_float_pair(op: str, x: Tensor, w: Tensor) -> None:
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{op}: input and weight must be tensors, got {type(x).__name__} and "
                        f"{type(w).__name__}")
    dx, dw = x._data.dtype, w._data.dtype
    if dx.kind != "f" or dw.kind != "f":
        raise RuntimeError(f"{op}: only floating-point tensors are supported, got input {x.dtype} "
                           f"and weight {w.dtype}; convert with .float()")
    if dx != dw:
        raise RuntimeError(f"{op}: input ({x.dtype}) and weight ({w.dtype}) must have the same "
                           "dtype; convert one of them with .to(dtype)")


def _shape(x: Tensor) -> list:
    return list(x._data.shape)


def _add_bias(out: Tensor, bias, op: str, channels: int) -> Tensor:
    if bias is None:
        return out
    from .elementwise import add
    from .shape import reshape
    if not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a tensor or None, got {type(bias).__name__}")
    if bias._data.shape != (channels,):
        raise ShapeError(f"{op}: bias must have shape [{channels}] (one value per output channel), "
                         f"got {_shape(bias)}")
    if bias._data.dtype != out._data.dtype:
        raise RuntimeError(f"{op}: bias ({bias.dtype}) must have the dtype of the input ({out.dtype})")
    return add(out, reshape(bias, (channels,) + (1,) * (out._data.ndim - 2)))


def _batched(op: str, input: Tensor, spatial: int):
    """(4-D input, whether a batch dimension was added): unbatched inputs are allowed, as in
    PyTorch."""
    from .shape import reshape
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a tensor, got {type(input).__name__}")
    nd = input._data.ndim
    if nd == spatial + 1:
        x = reshape(input, (1,) + input._data.shape)
        unbatched = True
    elif nd == spatial + 2:
        x, unbatched = input, False
    else:
        names = "(N, C, L) or (C, L)" if spatial == 1 else "(N, C, H, W) or (C, H, W)"
        raise ShapeError(f"{op}: expected a {spatial + 2}-D input {names}, got shape {_shape(input)}")
    if spatial == 1:
        s = x._data.shape
        x = reshape(x, (s[0], s[1], 1, s[2]))
    return x, unbatched


def _unbatch(out: Tensor, unbatched: bool, spatial: int) -> Tensor:
    from .shape import reshape
    s = out._data.shape
    if spatial == 1:
        s = (s[0], s[1], s[3])
    if unbatched:
        s = s[1:]
    return out if s == out._data.shape else reshape(out, s)


# ----------------------------------------------------------------------------- convolution

def _conv_nd(op: str, spatial: int, input, weight, bias, stride, padding, dilation, groups):
    _check_float_pair(op, input, weight)
    if weight._data.ndim != spatial + 2:
        shape = "(out_channels, in_channels/groups, kL)" if spatial == 1 else \
            "(out_channels, in_channels/groups, kH, kW)"
        raise ShapeError(f"{op}: weight must be {spatial + 2}-D {shape}, got shape {_shape(weight)}")
    x, unbatched = _batched(op, input, spatial)
    w = weight
    if spatial == 1:
        from .shape import reshape
        s = weight._data.shape
        w = reshape(weight, (s[0], s[1], 1, s[2]))
    groups = int(groups)
    if groups <= 0:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups}")
    O, Cg, kh, kw = w._data.shape
    N, C, H, W = x._data.shape
    if O % groups:
        raise ShapeError(f"{op}: groups={groups} must divide the output channels "
                         f"(weight of shape {_shape(weight)} has {O})")
    if C % groups:
        raise ShapeError(f"{op}: groups={groups} must divide the input channels (input of shape "
                         f"{_shape(input)} has {C})")
    if C != Cg * groups:
        raise ShapeError(
            f"{op}: input of shape {_shape(input)} has {C} channels, but weight of shape "
            f"{_shape(weight)} with groups={groups} expects {Cg * groups} "
            f"(weight.shape[1] * groups); check in_channels, or the layout (channels first)")
    k = (kw,) if spatial == 1 else (kh, kw)
    s = _tuple(stride, spatial, "stride", op)
    d = _tuple(dilation, spatial, "dilation", op)
    _check_positive(s, "stride", op)
    _check_positive(d, "dilation", op)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * spatial
        elif padding == "same":
            if any(v != 1 for v in s):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            pads = []
            for kk, dd in zip(k, d):  # as PyTorch: the odd extra row goes at the end
                total = dd * (kk - 1)
                pads.append((total // 2, total - total // 2))
            pads = tuple(pads)
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}; use 'same', 'valid', "
                             "an int or a tuple of ints")
    else:
        p = _tuple(padding, spatial, "padding", op)
        if any(v < 0 for v in p):
            raise ValueError(f"{op}: padding must be non-negative, got {padding}")
        pads = tuple((v, v) for v in p)
    if spatial == 1:
        s, d, pads = (1,) + s, (1,) + d, ((0, 0),) + pads
    padding4 = pads[0] + pads[1]
    for name, n, kk, dd, (lo, hi) in (("height", H, kh, d[0], pads[0]), ("width", W, kw, d[1], pads[1])):
        if n + lo + hi < dd * (kk - 1) + 1:
            size = [W + pads[1][0] + pads[1][1]] if spatial == 1 else \
                [H + pads[0][0] + pads[0][1], W + pads[1][0] + pads[1][1]]
            ksize = [dd * (kk - 1) + 1 for kk, dd in zip(k, d[-spatial:])]
            raise ShapeError(
                f"{op}: the kernel (size {ksize} after dilation) is larger than the padded input "
                f"(size {size}; input shape {_shape(input)}, padding {padding}); use a smaller "
                "kernel or more padding")
    out = apply(_conv2d, x, w, stride=s, padding=padding4, dilation=d, groups=groups)
    out = _add_bias(out, bias, op, O)
    return _unbatch(out, unbatched, spatial)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of input (N, C, H, W) with weight
    (O, C/groups, kH, kW); padding may be an int, a pair, 'same' or 'valid'."""
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution of input (N, C, L) with weight (O, C/groups, kL): conv2d with a unit height."""
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose_nd(op, spatial, input, weight, bias, stride, padding, output_padding, groups,
                       dilation):
    _check_float_pair(op, input, weight)
    if weight._data.ndim != spatial + 2:
        raise ShapeError(f"{op}: weight must be {spatial + 2}-D (in_channels, out_channels/groups, "
                         f"{'kL' if spatial == 1 else 'kH, kW'}), got shape {_shape(weight)}")
    x, unbatched = _batched(op, input, spatial)
    w = weight
    if spatial == 1:
        from .shape import reshape
        sw_ = weight._data.shape
        w = reshape(weight, (sw_[0], sw_[1], 1, sw_[2]))
    groups = int(groups)
    if groups <= 0:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups}")
    Cin, Cg, kh, kw = w._data.shape
    N, C, H, W = x._data.shape
    if Cin % groups:
        raise ShapeError(f"{op}: groups={groups} must divide the input channels (weight of shape "
                         f"{_shape(weight)} has {Cin})")
    if C != Cin:
        raise ShapeError(f"{op}: input of shape {_shape(input)} has {C} channels, but weight of "
                         f"shape {_shape(weight)} expects {Cin} (weight.shape[0])")
    s = _tuple(stride, spatial, "stride", op)
    d = _tuple(dilation, spatial, "dilation", op)
    p = _tuple(padding, spatial, "padding", op) if not isinstance(padding, str) else None
    if p is None:
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    op_ = _tuple(output_padding, spatial, "output_padding", op)
    _check_positive(s, "stride", op)
    _check_positive(d, "dilation", op)
    if any(v < 0 for v in p) or any(v < 0 for v in op_):
        raise ValueError(f"{op}: padding and output_padding must be non-negative")
    for o_, s_, d_ in zip(op_, s, d):
        if o_ >= s_ and o_ >= d_:
            raise ValueError(f"{op}: output_padding ({output_padding}) must be smaller than either "
                             f"stride ({stride}) or dilation ({dilation})")
    if spatial == 1:
        s, d, p, op_ = (1,) + s, (1,) + d, (0,) + p, (0,) + op_
    out_hw = tuple((n - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
                   for n, ss, pp, dd, kk, oo in zip((H, W), s, p, d, (kh, kw), op_))
    if min(out_hw) <= 0:
        raise ShapeError(f"{op}: the output would be empty (size {list(out_hw[-spatial:])}) for input "
                         f"shape {_shape(input)}, kernel {list(weight.shape[2:])} and padding "
                         f"{padding}; use less padding")
    out = apply(_conv_transpose2d, x, w, stride=s, padding=(p[0], p[0], p[1], p[1]), dilation=d,
                groups=groups, out_hw=out_hw)
    out = _add_bias(out, bias, op, Cg * groups)
    return _unbatch(out, unbatched, spatial)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose of conv2d (sometimes called deconvolution): input (N, C_in, H, W), weight
    (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose of conv1d: input (N, C_in, L), weight (C_in, C_out/groups, kL)."""
    return _conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, stride, padding,
                              output_padding, groups, dilation)


# ----------------------------------------------------------------------------- pooling

def _pool_args(op, spatial, x4, kernel_size, stride, padding, dilation, ceil_mode):
    k = _tuple(kernel_size, spatial, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _tuple(stride, spatial, "stride", op)
    p = _tuple(padding, spatial, "padding", op)
    d = _tuple(dilation, spatial, "dilation", op)
    _check_positive(k, "kernel_size", op)
    _check_positive(s, "stride", op)
    _check_positive(d, "dilation", op)
    for pp, kk in zip(p, k):
        if pp < 0 or pp > kk // 2:
            raise ValueError(f"{op}: padding should be at most half of the kernel size (and not "
                             f"negative), but got padding={padding} and kernel_size={kernel_size}")
    if spatial == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    H, W = x4._data.shape[2:]
    (Ho, Wo), _ = _pool_geometry(H, W, k, s, p, d, bool(ceil_mode))
    if Ho <= 0 or Wo <= 0:
        size = [W] if spatial == 1 else [H, W]
        raise ShapeError(f"{op}: the kernel (size {list(kernel_size) if not isinstance(kernel_size, int) else kernel_size}"
                         f", dilation {dilation}) is larger than the padded input (size {size}, "
                         f"padding {padding}); the output would be empty")
    return k, s, p, d


def _max_pool_nd(op, spatial, input, kernel_size, stride, padding, dilation, ceil_mode,
                 return_indices):
    x, unbatched = _batched(op, input, spatial)
    if x._data.dtype.kind not in "fiu":
        raise RuntimeError(f"{op}: unsupported dtype {input.dtype}")
    k, s, p, d = _pool_args(op, spatial, x, kernel_size, stride, padding, dilation, ceil_mode)
    idx = apply(_max_pool2d_indices, x, kernel_size=k, stride=s, padding=p, dilation=d,
                ceil_mode=bool(ceil_mode))
    out = apply(_max_pool2d_gather, x, idx, in_hw=tuple(x._data.shape[2:]))
    out = _unbatch(out, unbatched, spatial)
    if return_indices:  # for 1-D, the unit height's row is 0: the index is into L
        return out, _unbatch(idx, unbatched, spatial)
    return out


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The largest value in each window (padding counts as -inf). With return_indices, also
    the position of each maximum as an index into its H*W plane (first one on ties)."""
    return _max_pool_nd("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d over a unit height: input (N, C, L) or (C, L)."""
    return _max_pool_nd("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices)


def _avg_pool_nd(op, spatial, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                 divisor_override):
    x, unbatched = _batched(op, input, spatial)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: only floating-point tensors are supported, got {input.dtype}")
    k, s, p, _ = _pool_args(op, spatial, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and int(divisor_override) <= 0:
        raise ValueError(f"{op}: divisor_override must be a positive integer, got {divisor_override}")
    out = apply(_avg_pool2d, x, kernel_size=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                count_include_pad=bool(count_include_pad),
                divisor_override=None if divisor_override is None else int(divisor_override),
                in_hw=tuple(x._data.shape[2:]))
    return _unbatch(out, unbatched, spatial)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None) -> Tensor:
    """The mean of each window (zero padding counts when count_include_pad)."""
    return _avg_pool_nd("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    """avg_pool2d over a unit height: input (N, C, L) or (C, L)."""
    return _avg_pool_nd("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                        count_include_pad, None)


def _averaging_matrix(n: int, o: int, dtype) -> np.ndarray:
    """(o, n): row i averages the input cells [floor(i n / o), ceil((i + 1) n / o))."""
    a = np.zeros((o, n), dtype)
    for i in range(o):
        lo, hi = (i * n) // o, -(-((i + 1) * n) // o)
        a[i, lo:hi] = 1.0 / (hi - lo)
    return a


def _adaptive_out_hw(op: str, spatial: int, input: Tensor, x: Tensor, output_size) -> tuple:
    """(Ho, Wo) from ``output_size`` (None keeps that size), checked."""
    H, W = x._data.shape[2:]
    if spatial == 1:
        size = output_size if isinstance(output_size, (int, np.integer)) or output_size is None \
            else tuple(output_size)
        if isinstance(size, tuple):
            if len(size) != 1:
                raise ValueError(f"{op}: output_size must be an int, got {output_size!r}")
            size = size[0]
        out_hw = (1, W if size is None else int(size))
    else:
        if output_size is None or isinstance(output_size, (int, np.integer)):
            sizes = (output_size, output_size)
        else:
            sizes = tuple(output_size)
            if len(sizes) != 2:
                raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        out_hw = tuple(n if o is None else int(o) for o, n in zip(sizes, (H, W)))
    if min(out_hw) <= 0:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    if min(H, W) == 0:
        raise ShapeError(f"{op}: the input's spatial size must be non-empty, got {_shape(input)}")
    return out_hw


def _adaptive_avg_nd(op, spatial, input, output_size):
    from .linalg import matmul
    x, unbatched = _batched(op, input, spatial)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: only floating-point tensors are supported, got {input.dtype}")
    H, W = x._data.shape[2:]
    out_hw = _adaptive_out_hw(op, spatial, input, x, output_size)
    Ho, Wo = out_hw
    if H % Ho == 0 and W % Wo == 0:
        k = (H // Ho, W // Wo)
        out = apply(_avg_pool2d, x, kernel_size=k, stride=k, padding=(0, 0), ceil_mode=False,
                    count_include_pad=True, divisor_override=None, in_hw=(H, W))
    else:
        dt = x._data.dtype
        out = x
        if Wo != W:
            out = matmul(out, _wrap(np.ascontiguousarray(_averaging_matrix(W, Wo, dt).T)))
        if Ho != H:
            out = matmul(_wrap(_averaging_matrix(H, Ho, dt)), out)
    return _unbatch(out, unbatched, spatial)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a given output size (windows [floor(i H/Ho), ceil((i+1) H/Ho)))."""
    return _adaptive_avg_nd("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """adaptive_avg_pool2d over a unit height: input (N, C, L) or (C, L)."""
    return _adaptive_avg_nd("adaptive_avg_pool1d", 1, input, output_size)


def _adaptive_max_nd(op, spatial, input, output_size, return_indices):
    from .index import gather
    from .shape import reshape
    x, unbatched = _batched(op, input, spatial)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: only floating-point tensors are supported, got {input.dtype}")
    if SPECIAL.is_traced is not None and SPECIAL.is_traced(x):
        raise NotImplementedError(f"{op}: not supported inside vmap (where each maximum is "
                                  "depends on the example); loop over the batch instead")
    N, C, H, W = x._data.shape
    Ho, Wo = _adaptive_out_hw(op, spatial, input, x, output_size)
    # Where each window's maximum is (first one on ties, NaN wins), found in NumPy; the values
    # are then gathered from there, so the gradient goes to that position only, as in PyTorch.
    data = x._data
    idx = np.empty((N, C, Ho, Wo), np.int64)
    for i in range(Ho):
        h0, h1 = (i * H) // Ho, -((-(i + 1) * H) // Ho)
        for j in range(Wo):
            w0, w1 = (j * W) // Wo, -((-(j + 1) * W) // Wo)
            window = data[:, :, h0:h1, w0:w1].reshape(N, C, -1)
            a = np.argmax(window, axis=-1)
            idx[:, :, i, j] = (h0 + a // (w1 - w0)) * W + (w0 + a % (w1 - w0))
    flat = reshape(x, (N, C, H * W))
    out = reshape(gather(flat, 2, _wrap(idx.reshape(N, C, Ho * Wo))), (N, C, Ho, Wo))
    out = _unbatch(out, unbatched, spatial)
    if not return_indices:
        return out
    indices = _unbatch(_wrap(idx), unbatched, spatial)
    return out, indices


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a given output size (windows [floor(i H/Ho), ceil((i+1) H/Ho))); with
    ``return_indices``, also where each maximum is, as an index into its H*W plane."""
    return _adaptive_max_nd("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """adaptive_max_pool2d over a unit height: input (N, C, L) or (C, L)."""
    return _adaptive_max_nd("adaptive_max_pool1d", 1, input, output_size, return_indices)
