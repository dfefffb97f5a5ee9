"""Elementwise primitives (unary math, broadcasting binary arithmetic, where, clamp)
and the dtype promotion that runs before them.

Each primitive is one declaration: forward, one vjp rule and one jvp rule per input.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, _wrap
from .primitive import Primitive, apply, apply_binary, apply_one, apply_unary

__all__ = [
    "add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "pow", "neg",
    "negative", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan",
    "tanh", "sigmoid", "relu", "abs", "sign", "floor", "ceil", "round", "trunc", "erf",
    "square", "reciprocal", "maximum", "minimum", "where", "clamp", "clip", "to_dtype",
    "clone", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and",
    "logical_or", "logical_xor", "bitwise_not", "logical_op", "isnan", "isinf",
    "isfinite", "as_tensor_operand", "log2", "log10", "exp2", "lerp",
]

_SCALARS = (int, float, bool)
_NUMBER_OR_NONE = (int, float, type(None))


# ----------------------------------------------------------------------------
# dtype promotion for mixed operands
# ----------------------------------------------------------------------------

def as_tensor_operand(x):
    """Tensors pass through; Python and NumPy scalars become Python scalars (which PyTorch
    treats as weakly typed); arrays and lists become tensors."""
    if isinstance(x, Tensor) or type(x) in _SCALARS:
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, numbers.Number):
        return float(x) if isinstance(x, numbers.Real) else x
    from .creation import tensor
    return tensor(x)


def _promote(a, b):
    """Cast the operands of a binary op to PyTorch's result dtype (tensors only; Python
    scalars stay scalars, NumPy then keeps the tensor's dtype for them)."""
    a = as_tensor_operand(a)
    b = as_tensor_operand(b)
    a_t = isinstance(a, Tensor)
    b_t = isinstance(b, Tensor)
    if a_t and b_t:
        if a._data.dtype == b._data.dtype:
            return a, b
        target = _dt.result_type(a, b)
        return _cast(a, target), _cast(b, target)
    t = a if a_t else b
    s = b if a_t else a
    kind = t._data.dtype.kind
    # NumPy agrees with PyTorch except: float scalar with int/bool tensor (PyTorch: default
    # float dtype), and int scalar with bool tensor (PyTorch: int64).
    if (type(s) is float and kind != "f") or (type(s) is int and kind == "b"):
        t = _cast(t, _dt.result_type(t, s))
    return (t, s) if a_t else (s, t)


def _cast(t: Tensor, target: _dt.dtype) -> Tensor:
    return t if t._data.dtype == target.np_dtype else to_dtype(t, target)


def _float_operand(t: Tensor) -> Tensor:
    """Integer tensors become the default float dtype (true division, exp, ...), as in PyTorch."""
    return t if t._data.dtype.kind == "f" else to_dtype(t, _dt.get_default_dtype())


# ----------------------------------------------------------------------------
# dtype conversion: a primitive, so that a float64 leaf used in float32 math gets a float64 grad
# ----------------------------------------------------------------------------

def _astype(x, dtype, src):
    return x.astype(dtype)


_to_dtype = Primitive(
    "to_dtype", _astype,
    vjp=[lambda F, g, out, x, dtype, src: F.call("to_dtype", g, dtype=src, src=dtype)],
    jvp=[lambda F, t, out, x, dtype, src: F.call("to_dtype", t, dtype=dtype, src=src)],
    save_inputs=False, node_name="ToCopyBackward0", second_order=False)


def to_dtype(x: Tensor, dtype: _dt.dtype, copy: bool = False) -> Tensor:
    """``x`` converted to ``dtype`` (differentiable between floating dtypes)."""
    dtype = _dt.as_dtype(dtype)
    if x._data.dtype == dtype.np_dtype and not copy:
        return x
    if dtype.category != 2 and x._requires_grad:  # float -> int or bool: gradient stops here
        from ..autograd.grad_mode import no_grad
        with no_grad():
            return apply(_to_dtype, x, dtype=dtype.np_dtype, src=x._data.dtype)
    return apply(_to_dtype, x, dtype=dtype.np_dtype, src=x._data.dtype)


_clone = Primitive("clone", np.copy, vjp=[lambda F, g, out, x: g], jvp=[lambda F, t, out, x: t],
                   save_inputs=False, second_order=False)


_alias = Primitive("alias", lambda x: x, view=True, node_name=None)


def alias(x: Tensor) -> Tensor:
    """A new tensor object on the same memory, outside the graph (what ``detach`` returns).

    It is a (non-differentiable) primitive so that vmap sees it."""
    out = apply(_alias, x)
    if out._vbox is not x._vbox:  # a view even of an array NumPy says shares nothing (size 0)
        out._vbox = x._vbox
        out._base = x if x._base is None else x._base
    return out


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` that is still connected to the graph."""
    return apply(_clone, x)


# ----------------------------------------------------------------------------
# binary arithmetic (broadcasting)
# ----------------------------------------------------------------------------

_add = Primitive("add", np.add,
                 vjp=[lambda F, g, out, a, b: g, lambda F, g, out, a, b: g],
                 jvp=[lambda F, t, out, a, b: t, lambda F, t, out, a, b: t],
                 save_inputs=False, broadcasts=True, second_order=False)
_sub = Primitive("sub", np.subtract,
                 vjp=[lambda F, g, out, a, b: g, lambda F, g, out, a, b: -g],
                 jvp=[lambda F, t, out, a, b: t, lambda F, t, out, a, b: -t],
                 save_inputs=False, broadcasts=True, second_order=False)
_mul = Primitive("mul", np.multiply,
                 vjp=[lambda F, g, out, a, b: g * b, lambda F, g, out, a, b: g * a],
                 jvp=[lambda F, t, out, a, b: t * b, lambda F, t, out, a, b: a * t],
                 broadcasts=True)
_div = Primitive("div", np.true_divide,
                 vjp=[lambda F, g, out, a, b: g / b, lambda F, g, out, a, b: -g * a / (b * b)],
                 jvp=[lambda F, t, out, a, b: t / b, lambda F, t, out, a, b: -t * a / (b * b)],
                 broadcasts=True)


def _pow_base_grad(F, g, out, x, p):
    if isinstance(p, (int, float)):
        if p == 0:
            return g * 0
        if p == 1:
            return g
        if p == 2:
            return g * 2 * x
        return g * p * F.pow(x, p - 1)
    return g * p * F.pow(x, p - 1)


def _pow_exp_grad(F, g, out, x, p):
    # d/dp x**p = x**p * log(x); defined as 0 where x == 0 (PyTorch's convention)
    if isinstance(x, (int, float)):  # a scalar base, as in 2 ** t
        log_x = math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)
        return g * out * log_x
    return g * out * F.log(F.where(x == 0, 1, x))


_pow = Primitive("pow", np.power,
                 vjp=[_pow_base_grad, _pow_exp_grad],
                 jvp=[_pow_base_grad, _pow_exp_grad],
                 save_out=True, broadcasts=True)


def _tie_mask(F, win, tie, like):
    """1 where this operand wins, 1/2 where the two tie (PyTorch splits ties evenly)."""
    return F.as_mask(win, like) + F.as_mask(tie, like) * 0.5


_maximum = Primitive("maximum", np.maximum,
                     vjp=[lambda F, g, out, a, b: g * _tie_mask(F, a > b, a == b, g),
                          lambda F, g, out, a, b: g * _tie_mask(F, b > a, a == b, g)],
                     jvp=[lambda F, t, out, a, b: t * _tie_mask(F, a > b, a == b, t),
                          lambda F, t, out, a, b: t * _tie_mask(F, b > a, a == b, t)],
                     broadcasts=True)
_minimum = Primitive("minimum", np.minimum,
                     vjp=[lambda F, g, out, a, b: g * _tie_mask(F, a < b, a == b, g),
                          lambda F, g, out, a, b: g * _tie_mask(F, b < a, a == b, g)],
                     jvp=[lambda F, t, out, a, b: t * _tie_mask(F, a < b, a == b, t),
                          lambda F, t, out, a, b: t * _tie_mask(F, b < a, a == b, t)],
                     broadcasts=True)
_remainder = Primitive("remainder", np.remainder,
                       vjp=[lambda F, g, out, a, b: g,
                            lambda F, g, out, a, b: -g * F.floor(a / b)],
                       jvp=[lambda F, t, out, a, b: t,
                            lambda F, t, out, a, b: -t * F.floor(a / b)],
                       broadcasts=True, second_order=False)


def _binary(prim: Primitive, a, b) -> Tensor:
    if isinstance(a, Tensor):  # fast paths: operands NumPy already combines as PyTorch does
        tb = type(b)
        if tb is float:
            if a._data.dtype.kind == "f":
                return apply_binary(prim, a, b)
        elif isinstance(b, Tensor):
            if a._data.dtype == b._data.dtype:
                return apply_binary(prim, a, b)
        elif tb is int and a._data.dtype.kind != "b":
            return apply_binary(prim, a, b)
    a, b = _promote(a, b)
    if isinstance(a, Tensor):
        return apply_binary(prim, a, b)
    return apply(prim, a, b)


def _binary_op(prim: Primitive, name: str, doc: str):
    """The public function of a broadcasting binary primitive, with ``_binary``'s fast
    paths inlined (one Python call less per arithmetic operation)."""
    def op(input, other) -> Tensor:
        if isinstance(input, Tensor):
            tb = type(other)
            if tb is float:
                if input._data.dtype.kind == "f":
                    return apply_binary(prim, input, other)
            elif isinstance(other, Tensor):
                if input._data.dtype == other._data.dtype:
                    return apply_binary(prim, input, other)
        return _binary(prim, input, other)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


_add_op = _binary_op(_add, "add", "``input + other`` with broadcasting.")
_sub_op = _binary_op(_sub, "sub", "``input - other`` with broadcasting.")
mul = _binary_op(_mul, "mul", "Elementwise product with broadcasting.")


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _add_op(input, other)


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _sub_op(input, other)


def div(input, other, *, rounding_mode=None) -> Tensor:
    """True division (integers give the default float dtype), or rounded with
    ``rounding_mode='floor'`` / ``'trunc'``."""
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        return trunc(div(input, other)).to(_dt.result_type(*_promote(input, other)))
    if rounding_mode is not None:
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    a, b = _promote(input, other)
    if isinstance(a, Tensor) and a._data.dtype.kind != "f":
        a = _float_operand(a)
        if isinstance(b, Tensor):
            b = _float_operand(b)
    elif isinstance(b, Tensor) and b._data.dtype.kind != "f":
        b = _float_operand(b)
    return apply(_div, a, b)


true_divide = divide = div


def _nondiff(name: str, forward, broadcasts: bool = False) -> Primitive:
    """A primitive without derivative rules (comparisons, logic, floor division...): its
    result never requires grad. It is still a primitive so that vmap can batch it."""
    return Primitive(name, forward, broadcasts=broadcasts)


_floor_divide = _nondiff("floor_divide", np.floor_divide, broadcasts=True)


def _tensor_first(a, b):
    """For ops without a reflected form: make a leading scalar a tensor of the result dtype."""
    if not isinstance(a, Tensor):
        from .creation import tensor
        a = tensor(a, dtype=_dt.result_type(a, b))
    return a


def floor_divide(input, other) -> Tensor:
    """Floor division. Not differentiable (as in PyTorch): the result does not require grad."""
    a, b = _promote(input, other)
    return apply(_floor_divide, _tensor_first(a, b), b)


remainder = _binary_op(_remainder, "remainder", "Python-style remainder (the sign follows the divisor).")


def pow(input, exponent) -> Tensor:
    """``input ** exponent``; either may be a tensor."""
    if isinstance(input, Tensor) and type(exponent) in (int, float) and input._data.dtype.kind == "f":
        return apply_binary(_pow, input, exponent)  # the common case: x ** 2
    a, b = _promote(input, exponent)
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and a._data.dtype.kind in "iu" and b < 0:
        raise RuntimeError("pow: integers to negative integer powers are not allowed; "
                           "convert the base to float first (x.float() ** -1)")
    return apply(_pow, a, b)


maximum = _binary_op(_maximum, "maximum", "Elementwise maximum; where the two are equal each "
                    "gets half the gradient.")
minimum = _binary_op(_minimum, "minimum", "Elementwise minimum; where the two are equal each "
                    "gets half the gradient.")


def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)``."""
    return add(input, mul(weight, sub(end, input)))


# ----------------------------------------------------------------------------
# unary math
# ----------------------------------------------------------------------------

def _unary(name, forward, vjp, jvp=None, *, save_inputs=True, save_out=False, second_order=True,
           node_name=None, float_only=True):
    """Declare a unary primitive and return the public function that applies it."""
    if jvp is None:  # for unary ops the jvp has the vjp's form: both multiply by f'(x)
        jvp = vjp
    prim = Primitive(name, forward, vjp=[vjp], jvp=[jvp], save_inputs=save_inputs,
                     save_out=save_out, second_order=second_order, node_name=node_name)

    if float_only:
        def op(input: Tensor) -> Tensor:
            if isinstance(input, Tensor) and input._data.dtype.kind == "f":
                return apply_unary(prim, input)
            if not isinstance(input, Tensor):
                input = as_tensor_operand(input)
                if not isinstance(input, Tensor):
                    from .creation import tensor
                    input = tensor(input)
            if input._data.dtype.kind != "f":
                input = _float_operand(input)
            return apply(prim, input)
    else:
        def op(input: Tensor) -> Tensor:
            if not isinstance(input, Tensor):
                from .creation import tensor
                input = tensor(input)
            return apply_unary(prim, input)
    op.__name__ = name
    op.__qualname__ = name
    return op, prim


def _sigmoid_forward(x):
    # exp(-|x|) never overflows; pick the form that avoids cancellation on each side
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _erf_forward(x):
    return _ERF(x).astype(x.dtype, copy=False)


try:  # SciPy is optional; without it erf falls back to math.erf per element (exact, slower)
    from scipy.special import erf as _ERF
except ImportError:  # pragma: no cover - depends on the environment
    _ERF = np.vectorize(math.erf, otypes=[np.float64])

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_zero_grad = lambda F, g, out, x: g * 0  # noqa: E731  (floor, sign, ...: flat almost everywhere)

neg, _neg = _unary("neg", np.negative, lambda F, g, out, x: -g, save_inputs=False,
                   second_order=False, float_only=False)
negative = neg
exp, _exp = _unary("exp", np.exp, lambda F, g, out, x: g * out, save_inputs=False, save_out=True)
exp2, _exp2 = _unary("exp2", np.exp2, lambda F, g, out, x: g * out * math.log(2),
                     save_inputs=False, save_out=True)
log, _log = _unary("log", np.log, lambda F, g, out, x: g / x)
log2, _log2 = _unary("log2", np.log2, lambda F, g, out, x: g / (x * math.log(2)))
log10, _log10 = _unary("log10", np.log10, lambda F, g, out, x: g / (x * math.log(10)))
log1p, _log1p = _unary("log1p", np.log1p, lambda F, g, out, x: g / (x + 1),
                       node_name="Log1PBackward0")
expm1, _expm1 = _unary("expm1", np.expm1, lambda F, g, out, x: g * (out + 1),
                       save_inputs=False, save_out=True)
sqrt, _sqrt = _unary("sqrt", np.sqrt, lambda F, g, out, x: g / (out * 2),
                     save_inputs=False, save_out=True)
rsqrt, _rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x),
                       lambda F, g, out, x: g * (out * out * out) * -0.5,
                       save_inputs=False, save_out=True)
sin, _sin = _unary("sin", np.sin, lambda F, g, out, x: g * F.cos(x))
cos, _cos = _unary("cos", np.cos, lambda F, g, out, x: -g * F.sin(x))
tan, _tan = _unary("tan", np.tan, lambda F, g, out, x: g * (out * out + 1),
                   save_inputs=False, save_out=True)
tanh, _tanh = _unary("tanh", np.tanh, lambda F, g, out, x: g * (1 - out * out),
                     save_inputs=False, save_out=True)
sigmoid, _sigmoid = _unary("sigmoid", _sigmoid_forward, lambda F, g, out, x: g * out * (1 - out),
                           save_inputs=False, save_out=True)
relu, _relu = _unary("relu", lambda x: np.maximum(x, 0),
                     lambda F, g, out, x: g * (out > 0),
                     save_inputs=False, save_out=True, second_order=False, float_only=False)
abs, _abs = _unary("abs", np.abs, lambda F, g, out, x: g * F.sign(x), second_order=False,
                   float_only=False)
absolute = abs
sign, _sign = _unary("sign", np.sign, _zero_grad, save_inputs=False, second_order=False,
                     float_only=False)
floor, _floor = _unary("floor", np.floor, _zero_grad, save_inputs=False, second_order=False,
                       float_only=False)
ceil, _ceil = _unary("ceil", np.ceil, _zero_grad, save_inputs=False, second_order=False,
                     float_only=False)
trunc, _trunc = _unary("trunc", np.trunc, _zero_grad, save_inputs=False, second_order=False,
                       float_only=False)
erf, _erf = _unary("erf", _erf_forward,
                   lambda F, g, out, x: g * F.exp(-(x * x)) * _TWO_OVER_SQRT_PI)
_round_half_even, _round_prim = _unary("round", np.round, _zero_grad, save_inputs=False,
                                       second_order=False, float_only=False)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even, as PyTorch does (``decimals`` scales by 10**decimals first)."""
    if decimals == 0:
        return _round_half_even(input)
    scale = 10.0 ** decimals
    return div(_round_half_even(mul(input, scale)), scale)


def square(input: Tensor) -> Tensor:
    return mul(input, input)


def reciprocal(input: Tensor) -> Tensor:
    return div(1.0, input)


# ----------------------------------------------------------------------------
# where and clamp
# ----------------------------------------------------------------------------

_where = Primitive(
    "where", np.where,
    vjp=[None,
         lambda F, g, out, c, a, b: F.where(c, g, 0),
         lambda F, g, out, c, a, b: F.where(c, 0, g)],
    jvp=[None,
         lambda F, t, out, c, a, b: F.where(c, t, 0),
         lambda F, t, out, c, a, b: F.where(c, 0, t)],
    save_inputs=(0,), broadcasts=True, second_order=False)


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (either may be a scalar).

    With only ``condition``, returns the indices of its non-zero elements like ``nonzero``.
    """
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    cond = condition if isinstance(condition, Tensor) else as_tensor_operand(condition)
    if not isinstance(cond, Tensor):
        from .creation import tensor
        cond = tensor(cond)
    if cond._data.dtype != np.bool_:
        cond = to_dtype(cond, _dt.bool)
    a, b = _promote(input, other)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        dt = _dt.result_type(a, b)
        a = _wrap(np.asarray(a, dtype=dt.np_dtype))
    return apply(_where, cond, a, b)


def _clamp_forward(x, min, max):
    if min is not None and max is not None:
        return np.clip(x, min, max)
    return np.maximum(x, min) if min is not None else np.minimum(x, max)


def _clamp_mask(F, x, min, max, like):
    if min is not None and max is not None:
        return (x >= min) & (x <= max)
    return x >= min if min is not None else x <= max


_clamp = Primitive(
    "clamp", _clamp_forward,
    # (a float times a bool mask is a float, in NumPy and in chainrule)
    vjp=[lambda F, g, out, x, min, max: g * _clamp_mask(F, x, min, max, g)],
    jvp=[lambda F, t, out, x, min, max: t * _clamp_mask(F, x, min, max, t)],
    second_order=False, node_name="ClampBackward1")  # PyTorch's name for number bounds


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit values to [min, max]; the gradient passes where min <= x <= max.

    ``min``/``max`` may be numbers or tensors (tensor bounds also receive gradient).
    """
    if (isinstance(input, Tensor) and input._data.dtype.kind == "f" and type(min) in _NUMBER_OR_NONE
            and type(max) in _NUMBER_OR_NONE and (min is not None or max is not None)):
        return apply_one(_clamp, input, {"min": min, "max": max})  # the common case, quickly
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = where(lt(out, min), min, out)
        if max is not None:
            out = where(gt(out, max), max, out)
        return out
    if isinstance(min, np.generic):
        min = min.item()
    if isinstance(max, np.generic):
        max = max.item()
    if type(min) is float or type(max) is float:
        input = _float_operand(input)
    return apply(_clamp, input, min=min, max=max)


clip = clamp


# ----------------------------------------------------------------------------
# comparisons and logic (no gradient)
# ----------------------------------------------------------------------------

_COMPARISONS = {name: _nondiff(name, getattr(np, ufunc), broadcasts=True) for name, ufunc in [
    ("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
    ("gt", "greater"), ("ge", "greater_equal"), ("logical_and", "logical_and"),
    ("logical_or", "logical_or"), ("logical_xor", "logical_xor"), ("bitwise_and", "bitwise_and"),
    ("bitwise_or", "bitwise_or"), ("bitwise_xor", "bitwise_xor")]}
_logical_not = _nondiff("logical_not", np.logical_not)
_bitwise_not = _nondiff("bitwise_not", np.invert)
_isnan = _nondiff("isnan", np.isnan)
_isinf = _nondiff("isinf", np.isinf)
_isfinite = _nondiff("isfinite", np.isfinite)


def _compare(name: str, a, b) -> Tensor:
    a, b = _promote(a, b)
    return apply(_COMPARISONS[name], _tensor_first(a, b), b)


def eq(input, other) -> Tensor:
    """Elementwise ``==`` (a bool tensor)."""
    return _compare("eq", input, other)


def ne(input, other) -> Tensor:
    """Elementwise ``!=``."""
    return _compare("ne", input, other)


def lt(input, other) -> Tensor:
    """Elementwise ``<``."""
    return _compare("lt", input, other)


def le(input, other) -> Tensor:
    """Elementwise ``<=``."""
    return _compare("le", input, other)


def gt(input, other) -> Tensor:
    """Elementwise ``>``."""
    return _compare("gt", input, other)


def ge(input, other) -> Tensor:
    """Elementwise ``>=``."""
    return _compare("ge", input, other)


def logical_op(name: str, a, b) -> Tensor:
    """``&``, ``|``, ``^`` on bool or integer tensors."""
    return _compare(name, a, b)


def logical_and(input, other) -> Tensor:
    return _compare("logical_and", input, other)


def logical_or(input, other) -> Tensor:
    return _compare("logical_or", input, other)


def logical_xor(input, other) -> Tensor:
    return _compare("logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    return apply(_logical_not, input)


def bitwise_not(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "f":
        raise TypeError("bitwise_not (~) is only defined for integer and bool tensors, got "
                        f"{input.dtype}")
    return apply(_bitwise_not, input)


def isnan(input: Tensor) -> Tensor:
    return apply(_isnan, input)


def isinf(input: Tensor) -> Tensor:
    return apply(_isinf, input)


def isfinite(input: Tensor) -> Tensor:
    return apply(_isfinite, input)