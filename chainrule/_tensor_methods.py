"""Tensor methods that are the module-level operations with the tensor as first argument
(``x.exp()`` is ``chainrule.exp(x)``), plus the in-place ``*_`` forms and ``new_*``."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from . import ops
from .autograd import grad_mode as _gm
from .ops.inplace import run_inplace
from .ops.primitive import SPECIAL
from .tensor import Tensor, _wrap

# name on Tensor -> function whose first parameter is the tensor
_SAME_AS_FUNCTION = [
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "pow", "neg",
    "negative", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt",
    "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "sign", "floor", "ceil", "round",
    "trunc", "erf", "square", "reciprocal", "maximum", "minimum", "clamp", "clip", "lerp",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or",
    "logical_xor", "bitwise_not", "isnan", "isinf", "isfinite",
    "sum", "mean", "prod", "amax", "amin", "max", "min", "var", "std", "logsumexp", "norm",
    "argmax", "argmin", "cumsum", "cumprod", "all", "any", "count_nonzero",
    "reshape", "view", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes",
    "permute", "movedim", "expand", "expand_as", "broadcast_to", "repeat", "tile", "split",
    "chunk", "unbind", "flip", "roll", "narrow", "t",
    "gather", "scatter_add", "scatter", "index_select", "masked_fill", "nonzero",
    "masked_select", "take_along_dim",
    "matmul", "mm", "bmm", "mv", "dot", "outer", "inner",
    "tril", "triu", "diagonal", "diag",
]
for _name in _SAME_AS_FUNCTION:
    setattr(Tensor, _name, getattr(ops, _name))

Tensor.greater = ops.gt
Tensor.less = ops.lt
Tensor.multiply = ops.mul
Tensor.subtract = ops.sub
Tensor.divide = ops.div
Tensor.absolute = ops.abs


def _where(self: Tensor, condition, other) -> Tensor:
    """``x.where(condition, y)`` is ``where(condition, x, y)``."""
    return ops.where(condition, self, other)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return ops.reshape(self, other.shape)


def _softmax(self: Tensor, dim: int) -> Tensor:
    return ops.softmax(self, dim)


def _log_softmax(self: Tensor, dim: int) -> Tensor:
    return ops.log_softmax(self, dim)


# Operators bound straight to the functions (one call less on the hottest path);
# + and * commute, so the reflected forms keep the tensor first.
Tensor.__add__ = Tensor.__radd__ = ops.elementwise._add_op
Tensor.__mul__ = Tensor.__rmul__ = ops.mul
Tensor.__sub__ = ops.elementwise._sub_op
Tensor.__neg__ = ops.neg

Tensor.where = _where
Tensor.view_as = _view_as
Tensor.reshape_as = _view_as
Tensor.softmax = _softmax
Tensor.log_softmax = _log_softmax


# ----------------------------------------------------------------------------- new_* factories

def _new_factory(fill):
    def method(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        np_dt = _dt.as_dtype(dtype).np_dtype if dtype is not None else self._data.dtype
        t = _wrap(fill(tuple(size), np_dt))
        return t.requires_grad_() if requires_grad else t
    return method


Tensor.new_zeros = _new_factory(np.zeros)
Tensor.new_ones = _new_factory(np.ones)
Tensor.new_empty = _new_factory(np.empty)


def _new_full(self: Tensor, size, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
    np_dt = _dt.as_dtype(dtype).np_dtype if dtype is not None else self._data.dtype
    t = _wrap(np.full(tuple(size), fill_value, np_dt))
    return t.requires_grad_() if requires_grad else t


def _new_tensor(self: Tensor, data, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return ops.tensor(data, dtype=dtype if dtype is not None else self.dtype, requires_grad=requires_grad)


Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor


# ----------------------------------------------------------------------------- in-place forms

def _inplace_of(name: str, fn):
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        return run_inplace(self, name + "_", lambda src: fn(src, *args, **kwargs), others=args)
    method.__name__ = name + "_"
    method.__doc__ = f"In-place form of :meth:`Tensor.{name}`; bumps the version counter."
    return method


def _arith_inplace(name: str, fn, ufunc):
    """``add_``/``sub_``/``mul_``/``div_``: when nothing is recorded, one NumPy call that
    writes into the tensor's memory (as optimizer steps need); otherwise ``run_inplace``."""
    def method(self: Tensor, other, *, alpha=1) -> Tensor:
        other_t = isinstance(other, Tensor)
        if not (_gm.STATE.enabled and (self._requires_grad or (other_t and other._requires_grad))):
            if self._base is not None or not self._data.flags.writeable or SPECIAL.active:
                return run_inplace(self, name + "_", lambda src: fn(src, other) if alpha == 1
                                   else fn(src, ops.mul(other, alpha)), others=(other,))
            value = other._data if other_t else other
            if alpha != 1:
                value = value * alpha
            try:
                ufunc(self._data, value, out=self._data, casting="same_kind")
            except (TypeError, ValueError):  # dtype or shape that cannot go in place
                return run_inplace(self, name + "_", lambda src: fn(src, value), others=())
            self._vbox[0] += 1
            return self
        if alpha != 1:
            other = ops.mul(other, alpha)
        return run_inplace(self, name + "_", lambda src: fn(src, other), others=(other,))
    method.__name__ = name + "_"
    method.__doc__ = f"In-place form of :meth:`Tensor.{name}`; bumps the version counter."
    return method


for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("div", np.true_divide)]:
    setattr(Tensor, _name + "_", _arith_inplace(_name, getattr(ops, _name), _ufunc))

# x += y etc. go straight to the in-place methods (one call less in optimizer steps)
Tensor.__iadd__, Tensor.__isub__ = Tensor.add_, Tensor.sub_
Tensor.__imul__, Tensor.__itruediv__ = Tensor.mul_, Tensor.div_

for _name in ["pow", "neg", "exp", "log", "sqrt", "rsqrt", "sin",
              "cos", "tanh", "sigmoid", "relu", "abs", "sign", "floor", "ceil", "round", "trunc",
              "clamp", "clip", "reciprocal", "square", "masked_fill", "lerp", "remainder",
              "maximum", "minimum", "log1p", "expm1", "erf", "scatter_add", "scatter", "t",
              "floor_divide"]:
    setattr(Tensor, _name + "_", _inplace_of(_name, getattr(ops, _name)))


def _transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    raise RuntimeError("transpose_: in-place transposition is not supported; use x = x.transpose(...)")


def _zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return _fill_(self, 0)


def _fill_(self: Tensor, value) -> Tensor:
    """Fill with ``value`` in place (the gradient to the old values is zero)."""
    if isinstance(value, Tensor):
        value = value.item() if not value._requires_grad else value
    if not (_gm.STATE.enabled and (self._requires_grad or isinstance(value, Tensor))):
        run_inplace(self, "fill_", lambda src: src)  # checks the leaf/view rules and bumps
        self._data[...] = value
        return self
    return run_inplace(self, "fill_", lambda src: ops.add(ops.mul(src, 0), value), others=(value,))


def _copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, converted to this dtype) into this tensor."""
    src = src if isinstance(src, Tensor) else ops.tensor(src)
    # clone: expand/to_dtype return src itself when nothing changes, and self must not
    # take over src's identity (it would become a leaf and src would get no gradient)
    return run_inplace(self, "copy_", lambda old: ops.clone(ops.expand(
        ops.to_dtype(src, self.dtype), self._data.shape)), others=(src,))


def _random_fill(name: str, sample):
    def method(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
        rng = (generator or ops.default_generator).rng
        values = sample(rng, self._data.shape, *args, **kwargs).astype(self._data.dtype)
        return run_inplace(self, name, lambda src: _wrap(values))
    method.__name__ = name
    return method


Tensor.zero_ = _zero_
Tensor.fill_ = _fill_
Tensor.copy_ = _copy_
Tensor.uniform_ = _random_fill("uniform_", lambda rng, shape, a=0.0, b=1.0: rng.uniform(a, b, shape))
Tensor.normal_ = _random_fill("normal_", lambda rng, shape, mean=0.0, std=1.0: rng.normal(mean, std, shape))
Tensor.bernoulli_ = _random_fill("bernoulli_", lambda rng, shape, p=0.5: rng.random(shape) < p)
Tensor.random_ = _random_fill("random_", lambda rng, shape, a=0, b=2 ** 24: rng.integers(a, b, shape))
Tensor.transpose_ = _transpose_


# ----------------------------------------------------------------------------- addcmul / addcdiv
# Composed from primitives (no derivative code of their own); the in-place forms reuse add_'s
# one-NumPy-call path, which is what optimizer steps (under no_grad) run on every parameter.

def _addcmul(self: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """``self + value * tensor1 * tensor2``."""
    return ops.add(self, ops.mul(ops.mul(tensor1, value), tensor2))


def _addcdiv(self: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """``self + value * tensor1 / tensor2``."""
    return ops.add(self, ops.div(ops.mul(tensor1, value), tensor2))


def _addcmul_(self: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """In-place ``self += value * tensor1 * tensor2``; bumps the version counter."""
    return self.add_(ops.mul(ops.mul(tensor1, value), tensor2))


def _addcdiv_(self: Tensor, tensor1, tensor2, *, value=1) -> Tensor:
    """In-place ``self += value * tensor1 / tensor2``; bumps the version counter."""
    return self.add_(ops.div(ops.mul(tensor1, value), tensor2))


Tensor.addcmul = _addcmul
Tensor.addcdiv = _addcdiv
Tensor.addcmul_ = _addcmul_
Tensor.addcdiv_ = _addcdiv_


# --- math_extra methods
# (chainrule/ops/math_extra.py: inverse trigonometric/hyperbolic, special functions, ...)

for _name in ["asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "asinh",
              "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "atan2", "arctan2", "hypot",
              "logaddexp", "logaddexp2", "xlogy", "erfc", "erfinv", "lgamma", "digamma", "logit",
              "sinc", "frac", "fmod", "deg2rad", "rad2deg", "heaviside", "sgn", "signbit",
              "float_power", "nan_to_num", "clamp_min", "clamp_max", "isclose", "allclose",
              "equal", "isneginf", "isposinf", "bitwise_and", "bitwise_or", "bitwise_xor",
              "moveaxis"]:
    setattr(Tensor, _name, getattr(ops, _name))

for _name in ["asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "asinh",
              "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "atan2", "arctan2", "hypot",
              "xlogy", "erfc", "erfinv", "lgamma", "digamma", "logit", "sinc", "frac", "fmod",
              "deg2rad", "rad2deg", "heaviside", "sgn", "nan_to_num", "clamp_min", "clamp_max",
              "bitwise_and", "bitwise_or", "bitwise_xor"]:
    setattr(Tensor, _name + "_", _inplace_of(_name, getattr(ops, _name)))


def _float_power_(self: Tensor, exponent) -> Tensor:
    """In-place ``float_power``: only float64 tensors can hold its result (as in PyTorch)."""
    if self._data.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype} but the "
                           "operation's result requires dtype torch.float64")
    return run_inplace(self, "float_power_", lambda src: ops.float_power(src, exponent),
                       others=(exponent,))


Tensor.float_power_ = _float_power_
