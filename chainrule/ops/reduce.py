"""Reductions: sum, prod, amax/amin, logsumexp, norm and cumsum are primitives; mean,
var, std, max/min with indices and the rest are composed from them."""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Optional, Sequence, Union

import numpy as np

from .. import dtypes as _dt
from ..autograd.graph import show_as
from ..tensor import Tensor, _normalize_dim, _wrap
from .._special import SPECIAL
from .primitive import Primitive, apply, apply_one

__all__ = ["sum", "mean", "prod", "amax", "amin", "max", "min", "var", "std", "var_mean",
           "std_mean", "logsumexp", "norm", "argmax", "argmin", "cumsum", "cumprod", "all",
           "any", "count_nonzero"]

Dim = Optional[Union[int, Sequence[int]]]
_values_indices = namedtuple("return_types", ["values", "indices"])


def _dims(op: str, dim: Dim, ndim: int) -> Optional[tuple]:
    """Normalise ``dim`` to a sorted tuple of axes (None = all)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return None
    out = tuple(sorted({_normalize_dim(int(d), ndim, op) for d in dims}))
    if ndim == 0:
        return None
    return out


def _keep_shape(in_shape: tuple, dims: Optional[tuple]) -> tuple:
    """The reduced shape with the reduced dimensions kept as size 1."""
    if dims is None:
        return (1,) * len(in_shape)
    return tuple(1 if i in dims else s for i, s in enumerate(in_shape))


def _expand_back(F, g, dims, keepdim, in_shape):
    """Broadcast a reduced cotangent back over the reduced dimensions."""
    if not keepdim and dims is not None:
        g = F.reshape(g, _keep_shape(in_shape, dims))
    return F.expand(g, in_shape)


def _keepdim_view(F, y, dims, keepdim, in_shape):
    return y if keepdim else F.reshape(y, _keep_shape(in_shape, dims))


# ----------------------------------------------------------------------------- sum

def _int64_if_integral(x: np.ndarray):
    """PyTorch sums (and multiplies) integer and bool tensors in int64."""
    return np.int64 if x.dtype.kind in "biu" else None


_sum = Primitive(
    "sum", lambda x, dims, keepdim, in_shape: x.sum(axis=dims, keepdims=keepdim,
                                                    dtype=_int64_if_integral(x)),
    vjp=[lambda F, g, out, x, dims, keepdim, in_shape: _expand_back(F, g, dims, keepdim, in_shape)],
    jvp=[lambda F, t, out, x, dims, keepdim, in_shape: F.call(
        "sum", t, dims=dims, keepdim=keepdim, in_shape=in_shape)],
    save_inputs=False, second_order=False)


def sum(input: Tensor, dim: Dim = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of the elements (over ``dim`` if given). Integer and bool inputs give int64."""
    if dim is None and dtype is None and isinstance(input, Tensor):  # loss.sum(): quickly
        return apply_one(_sum, input, {"dims": None, "keepdim": keepdim,
                                       "in_shape": input._data.shape})
    if dtype is not None:
        input = input.to(dtype)
    dims = _dims("sum", dim, input._data.ndim)
    out = apply(_sum, input, dims=dims, keepdim=keepdim, in_shape=input._data.shape)
    if dims is not None:
        show_as(out, "SumBackward1", input)  # PyTorch's name for a sum over dims
    return out if dtype is None else out.to(dtype)


def _count(shape: tuple, dims: Optional[tuple]) -> int:
    n = 1
    for i, s in enumerate(shape):
        if dims is None or i in dims:
            n *= s
    return n


def _need_float(op: str, input: Tensor) -> None:
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype}. Convert first, e.g. x.float().{op}()")


def mean(input: Tensor, dim: Dim = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the elements (over ``dim`` if given); floating inputs only, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    _need_float("mean", input)
    dims = _dims("mean", dim, input._data.ndim)
    n = _count(input._data.shape, dims)
    s = apply(_sum, input, dims=dims, keepdim=keepdim, in_shape=input._data.shape)
    out = s / n if n else s * float("nan")
    return show_as(out, "MeanBackward0" if dim is None else "MeanBackward1", input)


# ----------------------------------------------------------------------------- prod

def _prod_grad(F, g, out, x, dims, keepdim):
    """d prod / d x_i = the product of the other elements."""
    in_shape = tuple(x.shape)
    g = _keepdim_view(F, g, dims, keepdim, in_shape)
    # (under vmap every example takes the same path, so take the one that is always right)
    if not np.any(F.value(x) == 0) and not SPECIAL.active:
        # out / x is exactly that product here, and differentiates correctly too
        return g * _keepdim_view(F, out, dims, keepdim, in_shape) / x
    # With zeros, divide nothing: take, for each i, the product of a row of an n x n
    # table holding the reduced elements with a 1 on the diagonal in place of x_i.
    nd = len(in_shape)
    reduced = tuple(range(nd)) if dims is None else dims
    kept = tuple(i for i in range(nd) if i not in reduced)
    lead = tuple(in_shape[i] for i in kept)
    n = int(np.prod([in_shape[i] for i in reduced]))
    rows = F.reshape(F.permute(x, kept + reduced), lead + (1, n))
    table = F.where(np.eye(n, dtype=bool), 1, F.expand(rows, lead + (n, n)))
    others = F.call("prod", table, dims=(len(lead) + 1,), keepdim=False)
    others = F.reshape(others, lead + tuple(in_shape[i] for i in reduced))
    return g * F.permute(others, tuple(int(i) for i in np.argsort(kept + reduced)))


_prod = Primitive(
    "prod", lambda x, dims, keepdim: np.prod(x, axis=dims, keepdims=keepdim,
                                             dtype=_int64_if_integral(x)),
    vjp=[_prod_grad],
    jvp=[lambda F, t, out, x, dims, keepdim: F.call(
        "sum", t * _prod_grad(F, F.ones_like(out), out, x, dims, keepdim), dims=dims,
        keepdim=keepdim, in_shape=tuple(x.shape))],
    save_out=True)


def prod(input: Tensor, dim: Optional[int] = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of the elements (over ``dim`` if given)."""
    if dtype is not None:
        input = input.to(dtype)
    dims = _dims("prod", dim, input._data.ndim)
    out = apply(_prod, input, dims=dims, keepdim=keepdim)
    return out if dtype is None else out.to(dtype)


# ----------------------------------------------------------------------------- amax / amin

def _extreme_grad(F, g, out, x, dims, keepdim):
    """The gradient goes to the elements equal to the extreme, split evenly among ties."""
    in_shape = tuple(x.shape)
    g = _keepdim_view(F, g, dims, keepdim, in_shape)
    out = _keepdim_view(F, out, dims, keepdim, in_shape)
    hit = F.as_mask(x == out, x)
    count = F.call("sum", hit, dims=dims, keepdim=True, in_shape=in_shape)
    return g * hit / count


def _extreme_jvp(F, t, out, x, dims, keepdim):
    in_shape = tuple(x.shape)
    share = _extreme_grad(F, F.ones_like(out), out, x, dims, keepdim)
    return F.call("sum", t * share, dims=dims, keepdim=keepdim, in_shape=in_shape)


def _empty_reduction_error(op):
    def hint(inputs, exc):
        return RuntimeError(f"{op}(): cannot reduce over an empty dimension "
                            f"(input shape {list(inputs[0].shape)}): there is no identity; "
                            "pass a dim with non-zero size")
    return hint


_amax = Primitive("amax", lambda x, dims, keepdim: np.amax(x, axis=dims, keepdims=keepdim),
                  vjp=[_extreme_grad], jvp=[_extreme_jvp], save_out=True, second_order=False,
                  error_hint=_empty_reduction_error("amax"))
_amin = Primitive("amin", lambda x, dims, keepdim: np.amin(x, axis=dims, keepdims=keepdim),
                  vjp=[_extreme_grad], jvp=[_extreme_jvp], save_out=True, second_order=False,
                  error_hint=_empty_reduction_error("amin"))


def amax(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    """Largest value over ``dim`` (all dims by default); ties share the gradient evenly."""
    return apply(_amax, input, dims=_dims("amax", dim, input._data.ndim), keepdim=keepdim)


def amin(input: Tensor, dim: Dim = (), keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim`` (all dims by default); ties share the gradient evenly."""
    return apply(_amin, input, dims=_dims("amin", dim, input._data.ndim), keepdim=keepdim)


def _arg_forward(fn):
    # NumPy and PyTorch both return the first index among equal extremes
    def forward(x, dim, keepdim):
        if dim is None:
            out = np.asarray(fn(x), dtype=np.int64)
            return out.reshape((1,) * x.ndim) if keepdim else out
        return np.asarray(fn(x, axis=dim, keepdims=keepdim), dtype=np.int64)
    return forward


_argmax = Primitive("argmax", _arg_forward(np.argmax), error_hint=_empty_reduction_error("argmax"))
_argmin = Primitive("argmin", _arg_forward(np.argmin), error_hint=_empty_reduction_error("argmin"))


def _extreme_with_indices(op: str, input: Tensor, dim, keepdim: bool, arg_prim):
    """(values, indices) along ``dim``; the gradient goes to the chosen index only, as in
    PyTorch (not split among ties as amax does)."""
    from .elementwise import eq, where
    from .shape import reshape
    d = _normalize_dim(dim, builtins.max(input._data.ndim, 1), op)
    if input._data.ndim == 0:
        return _values_indices(input.clone(), apply(arg_prim, input, dim=None, keepdim=False))
    if input._data.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size "
                         f"(input shape {list(input.shape)})")
    idx_k = apply(arg_prim, input, dim=d, keepdim=True)
    positions = np.arange(input._data.shape[d]).reshape(
        [-1 if i == d else 1 for i in range(input._data.ndim)])
    chosen = eq(idx_k, _wrap(positions))
    values = sum(where(chosen, input, 0), d, keepdim=keepdim, dtype=input.dtype)
    return _values_indices(values, idx_k if keepdim else reshape(idx_k, values._data.shape))


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``max(x)``: the largest value. ``max(x, dim)``: (values, indices) along ``dim``.
    ``max(x, y)``: elementwise maximum."""
    if isinstance(dim, Tensor):
        from .elementwise import maximum
        return maximum(input, dim)
    if dim is None:
        return show_as(amax(input), "MaxBackward1", input)
    values, indices = _extreme_with_indices("max", input, dim, keepdim, _argmax)
    show_as(values, "MaxBackward0", input)
    return _values_indices(values, indices)


def min(input: Tensor, dim=None, keepdim: bool = False):
    """``min(x)``: the smallest value. ``min(x, dim)``: (values, indices) along ``dim``.
    ``min(x, y)``: elementwise minimum."""
    if isinstance(dim, Tensor):
        from .elementwise import minimum
        return minimum(input, dim)
    if dim is None:
        return show_as(amin(input), "MinBackward1", input)
    values, indices = _extreme_with_indices("min", input, dim, keepdim, _argmin)
    show_as(values, "MinBackward0", input)
    return _values_indices(values, indices)


def argmax(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (of the flattened tensor when ``dim`` is None)."""
    d = None if dim is None else _normalize_dim(dim, builtins.max(input._data.ndim, 1), "argmax")
    return apply(_argmax, input, dim=d, keepdim=keepdim)


def argmin(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (of the flattened tensor when ``dim`` is None)."""
    d = None if dim is None else _normalize_dim(dim, builtins.max(input._data.ndim, 1), "argmin")
    return apply(_argmin, input, dim=d, keepdim=keepdim)


# ----------------------------------------------------------------------------- var / std

def _correction(unbiased, correction) -> float:
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def var(input: Tensor, dim: Dim = None, unbiased: Optional[bool] = None, keepdim: bool = False,
        *, correction=None) -> Tensor:
    """Variance over ``dim``, divided by N - correction (correction=1, Bessel's, by default)."""
    if isinstance(dim, bool):  # var(x, False): the old positional `unbiased`
        unbiased, dim = dim, None
    _need_float("var", input)
    c = _correction(unbiased, correction)
    dims = _dims("var", dim, input._data.ndim)
    n = _count(input._data.shape, dims)
    mu = mean(input, dims, keepdim=True)
    diff = input - mu
    ss = sum(diff * diff, dims, keepdim=keepdim)
    denom = n - c
    return show_as(ss / denom if denom > 0 else ss * float("nan"), "VarBackward0", input)


def std(input: Tensor, dim: Dim = None, unbiased: Optional[bool] = None, keepdim: bool = False,
        *, correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))``."""
    from .elementwise import sqrt
    return show_as(sqrt(var(input, dim, unbiased, keepdim, correction=correction)),
                   "StdBackward0", input)


def var_mean(input: Tensor, dim: Dim = None, unbiased=None, keepdim: bool = False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input: Tensor, dim: Dim = None, unbiased=None, keepdim: bool = False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


# ----------------------------------------------------------------------------- logsumexp

def _logsumexp_forward(x, dims, keepdim):
    if x.size == 0:
        return np.log(np.sum(np.exp(x), axis=dims, keepdims=keepdim))
    m = np.amax(x, axis=dims, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or inf) slices: no shift
    s = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
    return s if keepdim else np.squeeze(s, axis=dims) if dims is not None else s.reshape(())


def _logsumexp_grad(F, g, out, x, dims, keepdim):
    in_shape = tuple(x.shape)
    g = _keepdim_view(F, g, dims, keepdim, in_shape)
    out = _keepdim_view(F, out, dims, keepdim, in_shape)
    return g * F.exp(x - out)  # softmax of x along dims


def _logsumexp_jvp(F, t, out, x, dims, keepdim):
    in_shape = tuple(x.shape)
    weights = F.exp(x - _keepdim_view(F, out, dims, keepdim, in_shape))
    return F.call("sum", t * weights, dims=dims, keepdim=keepdim, in_shape=in_shape)


_logsumexp = Primitive("logsumexp", _logsumexp_forward, vjp=[_logsumexp_grad],
                       jvp=[_logsumexp_jvp], save_out=True)


def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed without overflow."""
    if input._data.dtype.kind != "f":
        input = input.float()
    return apply(_logsumexp, input, dims=_dims("logsumexp", dim, input._data.ndim), keepdim=keepdim)


# ----------------------------------------------------------------------------- norm

def _norm2_grad(F, g, out, x, dims, keepdim):
    in_shape = tuple(x.shape)
    g = _keepdim_view(F, g, dims, keepdim, in_shape)
    out = _keepdim_view(F, out, dims, keepdim, in_shape)
    # x / ||x||, defined as 0 at x = 0 (x is 0 there, so dividing by 1 instead is exact)
    return g * x / F.where(out == 0, 1, out)


def _norm2_jvp(F, t, out, x, dims, keepdim):
    in_shape = tuple(x.shape)
    out_k = _keepdim_view(F, out, dims, keepdim, in_shape)
    direction = x / F.where(out_k == 0, 1, out_k)
    return F.call("sum", t * direction, dims=dims, keepdim=keepdim, in_shape=in_shape)


_norm2 = Primitive(
    "norm2", lambda x, dims, keepdim: np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim)),
    vjp=[_norm2_grad], jvp=[_norm2_jvp], save_out=True, node_name="LinalgVectorNormBackward0")


def norm(input: Tensor, p: Union[float, str, None] = "fro", dim: Dim = None, keepdim: bool = False,
         dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); p = 2 ('fro'), 1, inf, -inf or any
    positive number. At x = 0 the 2-norm's gradient is 0, as in PyTorch."""
    from .elementwise import abs as _abs, pow as _pow
    if dtype is not None:
        input = input.to(dtype)
    _need_float("norm", input)
    dims = _dims("norm", dim, input._data.ndim)
    if p in ("fro", None, 2, 2.0):
        return apply(_norm2, input, dims=dims, keepdim=keepdim)
    if p in (float("inf"), "inf"):
        return amax(_abs(input), dims or (), keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(_abs(input), dims or (), keepdim)
    if p == 0:  # a count; still connected to input (zero gradient), as in PyTorch
        from .elementwise import where
        return sum(where(input != 0, 1.0, input * 0), dims, keepdim)
    if isinstance(p, str):
        raise ValueError(f"norm: unsupported p={p!r}; use a number, 'fro', inf or -inf")
    if p == 1:
        return sum(_abs(input), dims, keepdim)
    return _pow(sum(_pow(_abs(input), p), dims, keepdim), 1.0 / p)


# ----------------------------------------------------------------------------- cumsum

_cumsum = Primitive(
    "cumsum", lambda x, dim: np.cumsum(x, axis=dim, dtype=_int64_if_integral(x)),
    vjp=[lambda F, g, out, x, dim: F.call("flip", F.call("cumsum", F.call("flip", g, dims=(dim,)),
                                                          dim=dim), dims=(dim,))],
    jvp=[lambda F, t, out, x, dim: F.call("cumsum", t, dim=dim)],
    save_inputs=False, second_order=False)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``."""
    if dtype is not None:
        input = input.to(dtype)
    d = _normalize_dim(dim, builtins.max(input._data.ndim, 1), "cumsum")
    if input._data.ndim == 0:
        return input.clone()
    out = apply(_cumsum, input, dim=d)
    return out if dtype is None else out.to(dtype)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim`` (composed: each prefix product is a prod)."""
    from .shape import stack
    if dtype is not None:
        input = input.to(dtype)
    d = _normalize_dim(dim, builtins.max(input._data.ndim, 1), "cumprod")
    n = input._data.shape[d] if input._data.ndim else 1
    pre = (slice(None),) * d
    return stack([prod(input[pre + (slice(0, i + 1),)], d) for i in range(n)], d)


# ----------------------------------------------------------------------------- logic

_all = Primitive("all", lambda x, dims, keepdim: np.all(x, axis=dims, keepdims=keepdim))
_any = Primitive("any", lambda x, dims, keepdim: np.any(x, axis=dims, keepdims=keepdim))
_count_nonzero = Primitive("count_nonzero", lambda x, dims, keepdim: np.asarray(
    np.count_nonzero(x, axis=dims, keepdims=keepdim), dtype=np.int64))


def all(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """True where every element (over ``dim``) is non-zero."""
    return apply(_all, input, dims=_dims("all", dim, input._data.ndim), keepdim=keepdim)


def any(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """True where some element (over ``dim``) is non-zero."""
    return apply(_any, input, dims=_dims("any", dim, input._data.ndim), keepdim=keepdim)


def count_nonzero(input: Tensor, dim: Dim = None) -> Tensor:
    """The number of non-zero elements (over ``dim``), as int64."""
    return apply(_count_nonzero, input, dims=_dims("count_nonzero", dim, input._data.ndim),
                 keepdim=False)
