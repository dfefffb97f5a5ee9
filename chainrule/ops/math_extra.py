"""More elementwise math with PyTorch's semantics: inverse trigonometric and hyperbolic
functions, special functions (erfc, erfinv, lgamma, digamma), broadcasting binary math
(atan2, hypot, logaddexp, xlogy, fmod, heaviside) as primitives, and composites of existing
ops (logit, sinc, frac, float_power, isclose, ...).

Special functions use SciPy when it is importable; NumPy is the only required dependency,
so each has a fallback (``math.lgamma`` per element, an asymptotic series for digamma and
trigamma, Newton's method on ``erf`` for erfinv).
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from .elementwise import (_ERF, _compare, _float_operand, _nondiff, _promote,
                          _tensor_first, _unary, abs as _abs_op, add, as_tensor_operand, clamp,
                          div, eq, isinf, isnan, le, log, logical_and, logical_or, lt, gt, mul,
                          sin, sub, to_dtype, trunc, where, pow as _pow_op, sign)
from .primitive import Primitive, apply

__all__ = [
    "asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "asinh", "arcsinh",
    "acosh", "arccosh", "atanh", "arctanh", "atan2", "arctan2", "hypot", "logaddexp",
    "logaddexp2", "xlogy", "erfc", "erfinv", "lgamma", "digamma", "logit", "sinc", "frac",
    "fmod", "deg2rad", "rad2deg", "heaviside", "sgn", "signbit", "float_power", "nan_to_num",
    "clamp_min", "clamp_max", "isclose", "allclose", "equal", "isneginf", "isposinf",
    "bitwise_and", "bitwise_or", "bitwise_xor", "can_cast", "moveaxis",
]

_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_LN2 = math.log(2.0)


# ----------------------------------------------------------------------------
# special functions: SciPy when importable, else NumPy fallbacks
# ----------------------------------------------------------------------------

def _erfinv_fallback(y):
    y = np.asarray(y, dtype=np.float64)
    # a start near the answer (linear in the middle, the tail asymptote beyond), then Newton
    w = -np.log(np.clip((1.0 - y) * (1.0 + y), 1e-300, None))
    x = y * _SQRT_PI_OVER_2
    x = np.where(np.abs(y) < 0.9, x, np.sign(y) * np.sqrt(w - np.log(np.maximum(w, 1e-300))))
    for _ in range(60):
        err = _ERF(x) - y
        x = x - err / (_TWO_OVER_SQRT_PI * np.exp(-x * x))
    x = np.where(y == 1, np.inf, np.where(y == -1, -np.inf, x))
    return np.where(np.abs(y) > 1, np.nan, x)


def _digamma_fallback(x):
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    # reflection for x < 0.5, then recurrence up to x >= 6 and the asymptotic series
    refl = x < 0.5
    with np.errstate(all="ignore"):
        xr = np.where(refl, 1.0 - x, x)
        acc = np.zeros_like(x)
        for _ in range(6):
            small = xr < 6
            acc = acc - np.where(small, 1.0 / xr, 0.0)
            xr = np.where(small, xr + 1, xr)
        inv = 1.0 / xr
        inv2 = inv * inv
        series = (np.log(xr) - 0.5 * inv - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
            1 / 240 - inv2 / 132)))))
        val = series + acc
        out = np.where(refl, val - math.pi / np.tan(math.pi * x), val)
        out = np.where((x <= 0) & (x == np.floor(x)), np.nan, out)
    return out


def _trigamma(x):
    # PyTorch's own algorithm (reflection, six recurrence steps, a short series), so that
    # digamma's gradient agrees with PyTorch's to the last bits
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        refl = x < 0.5
        xr = np.where(refl, 1.0 - x, x)
        acc = np.zeros_like(x)
        for _ in range(6):
            acc = acc + 1.0 / (xr * xr)
            xr = xr + 1
        inv = 1.0 / xr
        inv2 = inv * inv
        series = (1 + inv / 2 + inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 / 42))) * inv
        val = series + acc
        out = np.where(refl, -val + (math.pi / np.sin(math.pi * x)) ** 2, val)
    return out


try:  # SciPy is optional
    from scipy.special import digamma as _DIGAMMA, erfc as _ERFC, erfinv as _ERFINV, \
        gammaln as _LGAMMA
except ImportError:  # pragma: no cover - depends on the environment
    _ERFC = np.vectorize(math.erfc, otypes=[np.float64])
    _LGAMMA = np.vectorize(lambda v: math.lgamma(v) if not (v <= 0 and v == math.floor(v))
                           else math.inf, otypes=[np.float64])
    _ERFINV = _erfinv_fallback
    _DIGAMMA = _digamma_fallback
_TRIGAMMA = _trigamma


def _same_dtype(fn):
    def forward(x):
        with np.errstate(all="ignore"):
            return np.asarray(fn(x)).astype(x.dtype, copy=False)
    return forward


def _quiet(fn):
    def forward(*args):
        with np.errstate(all="ignore"):
            return fn(*args)
    return forward


def _digamma_forward(x):
    with np.errstate(all="ignore"):
        out = np.asarray(_DIGAMMA(x), dtype=np.float64)
        # PyTorch: digamma(0) = -inf (SciPy gives nan or -inf depending on sign)
        out = np.where(x == 0, -np.inf, out)
    return out.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------
# unary primitives (ints become the default float dtype)
# ----------------------------------------------------------------------------

asin, _asin = _unary("asin", _quiet(np.arcsin), lambda F, g, out, x: g / F.sqrt(1 - x * x))
acos, _acos = _unary("acos", _quiet(np.arccos), lambda F, g, out, x: -g / F.sqrt(1 - x * x))
atan, _atan = _unary("atan", np.arctan, lambda F, g, out, x: g / (x * x + 1))
sinh, _sinh = _unary("sinh", _quiet(np.sinh), lambda F, g, out, x: g * F.call("cosh", x))
cosh, _cosh = _unary("cosh", _quiet(np.cosh), lambda F, g, out, x: g * F.call("sinh", x))
asinh, _asinh = _unary("asinh", np.arcsinh, lambda F, g, out, x: g / F.sqrt(x * x + 1))
acosh, _acosh = _unary("acosh", _quiet(np.arccosh),
                       lambda F, g, out, x: g / F.sqrt((x - 1) * (x + 1)))
atanh, _atanh = _unary("atanh", _quiet(np.arctanh), lambda F, g, out, x: g / (1 - x * x))
erfc, _erfc = _unary("erfc", _same_dtype(_ERFC),
                     lambda F, g, out, x: g * F.exp(-(x * x)) * -_TWO_OVER_SQRT_PI)
erfinv, _erfinv = _unary("erfinv", _same_dtype(_ERFINV),
                         lambda F, g, out, x: g * F.exp(out * out) * _SQRT_PI_OVER_2,
                         save_out=True)
def _lgamma_forward(x):
    with np.errstate(all="ignore"):
        out = np.asarray(_LGAMMA(x), dtype=np.float64)
    return np.where(x == -np.inf, np.inf, out).astype(x.dtype, copy=False)  # PyTorch: +inf


lgamma, _lgamma = _unary("lgamma", _lgamma_forward,
                         lambda F, g, out, x: g * F.call("digamma", x))
# d digamma = trigamma, a primitive without derivative of its own (second order stops there)
_trigamma = _nondiff("trigamma", _same_dtype(_TRIGAMMA))
digamma, _digamma = _unary("digamma", _digamma_forward,
                           lambda F, g, out, x: g * F.call("trigamma", x), second_order=False)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

_signbit = _nondiff("signbit", np.signbit)


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (including -0.0); a bool tensor."""
    return apply(_signbit, _as_tensor(input))


def _nan_to_num_forward(x, nan, posinf, neginf):
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


_nan_to_num = Primitive(
    "nan_to_num", _nan_to_num_forward,
    vjp=[lambda F, g, out, x, nan, posinf, neginf: g * F.lift(np.isfinite(F.value(x)), g)],
    jvp=[lambda F, t, out, x, nan, posinf, neginf: t * F.lift(np.isfinite(F.value(x)), t)],
    second_order=False)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest finite value),
    -inf -> ``neginf`` (default: the dtype's lowest). The gradient passes where finite."""
    input = _as_tensor(input)
    return apply(_nan_to_num, input, nan=nan, posinf=posinf, neginf=neginf)


# ----------------------------------------------------------------------------
# binary primitives (broadcasting; ints become the default float dtype)
# ----------------------------------------------------------------------------

def _xlogy_forward(x, y):
    with np.errstate(all="ignore"):
        return np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y)).astype(
            np.result_type(x, y), copy=False)


def _bin(name, forward, da, db, **kw):
    return Primitive(name, _quiet(forward), vjp=[da, db], jvp=[da, db], broadcasts=True, **kw)


_atan2 = _bin("atan2", np.arctan2,
              lambda F, g, out, a, b: g * b / (a * a + b * b),
              lambda F, g, out, a, b: -g * a / (a * a + b * b))
_hypot = _bin("hypot", np.hypot,
              lambda F, g, out, a, b: g * a / out,
              lambda F, g, out, a, b: g * b / out, save_out=True)
_logaddexp = _bin("logaddexp", np.logaddexp,
                  lambda F, g, out, a, b: g * F.exp(a - out),
                  lambda F, g, out, a, b: g * F.exp(b - out), save_out=True)
_logaddexp2 = _bin("logaddexp2", np.logaddexp2,
                   lambda F, g, out, a, b: g * F.exp((a - out) * _LN2),
                   lambda F, g, out, a, b: g * F.exp((b - out) * _LN2), save_out=True)
def _xlogy_x_grad(F, g, out, x, y):
    # log(y), 0 where x == 0 unless y is NaN (PyTorch: xlogy(x != 0, y))
    xv, yv = F.value(x), F.value(y)
    zero = F.lift(np.asarray((np.asarray(xv) == 0) & ~np.isnan(yv)), g)
    return g * F.where(zero, 0, F.log(y))


_xlogy = _bin("xlogy", _xlogy_forward,
              _xlogy_x_grad,
              lambda F, g, out, x, y: g * x / y)
_fmod = _bin("fmod", np.fmod,
             lambda F, g, out, a, b: g,
             lambda F, g, out, a, b: -g * F.call("trunc", a / b), second_order=False)
def _heaviside_forward(x, values):
    # PyTorch: values where x == 0, else x > 0 (so NaN gives 0); the operands' dtype
    out = np.where(x == 0, values, x > 0)
    return out.astype(np.result_type(x, values), copy=False)


_heaviside = _nondiff("heaviside", _heaviside_forward, broadcasts=True)


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from .creation import tensor
    x = as_tensor_operand(x)
    return x if isinstance(x, Tensor) else tensor(x)


def _float_binary(prim, a, b, ints: bool = True) -> Tensor:
    a, b = _promote(a, b)
    a = _tensor_first(a, b)
    if not ints and a._data.dtype.kind in "iub" and (
            (isinstance(b, Tensor) and b._data.dtype.kind in "iub") or type(b) in (int, bool)):
        raise NotImplementedError(f"\"{prim.name}_cpu\" not implemented for '{a.dtype}'")
    a = _float_operand(a)
    if isinstance(b, Tensor):
        b = _float_operand(b)
    elif type(b) is int:
        b = float(b)
    return apply(prim, a, b)


def atan2(input, other) -> Tensor:
    """The angle of (other, input), elementwise, in (-pi, pi]."""
    return _float_binary(_atan2, input, other)


arctan2 = atan2


def hypot(input, other) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    return _float_binary(_hypot, input, other, ints=False)


def logaddexp(input, other) -> Tensor:
    """``log(exp(input) + exp(other))``, stably."""
    return _float_binary(_logaddexp, input, other, ints=False)


def logaddexp2(input, other) -> Tensor:
    """``log2(2**input + 2**other)``, stably."""
    return _float_binary(_logaddexp2, input, other, ints=False)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input == 0`` (unless ``other`` is NaN)."""
    return _float_binary(_xlogy, input, other)


def fmod(input, other) -> Tensor:
    """C-style remainder (the sign follows the dividend). Keeps integer dtypes."""
    a, b = _promote(input, other)
    a = _tensor_first(a, b)
    if a._data.dtype.kind in "iub" and isinstance(b, Tensor) and b._data.dtype.kind in "iub" \
            and np.any(b._data == 0):
        raise RuntimeError("ZeroDivisionError")
    return apply(_fmod, a, b)


def heaviside(input, values) -> Tensor:
    """0 where ``input < 0``, 1 where ``input > 0``, ``values`` where ``input == 0``."""
    a, b = _promote(input, values)
    return apply(_heaviside, _tensor_first(a, b), b)


# ----------------------------------------------------------------------------
# composites
# ----------------------------------------------------------------------------

def logit(input, eps=None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps``, ``x`` is first clamped to [eps, 1 - eps]."""
    x = _float_operand(_as_tensor(input))
    if eps is not None:
        x = clamp(x, eps, 1.0 - eps)
    return log(div(x, sub(1.0, x)))


def sinc(input) -> Tensor:
    """``sin(pi x) / (pi x)``, 1 at 0 (the gradient there is 0)."""
    x = _float_operand(_as_tensor(input))
    zero = eq(x, 0)
    safe = where(zero, 1.0, x)
    px = mul(safe, math.pi)
    return where(zero, 1.0, div(sin(px), px))


def frac(input) -> Tensor:
    """``input - trunc(input)`` (the sign follows ``input``)."""
    x = _as_tensor(input)
    if x._data.dtype.kind != "f":
        raise NotImplementedError(f"\"frac_cpu\" not implemented for {x.dtype}")
    return sub(x, trunc(x))


def deg2rad(input) -> Tensor:
    return mul(_float_operand(_as_tensor(input)), math.pi / 180.0)


def rad2deg(input) -> Tensor:
    return mul(_float_operand(_as_tensor(input)), 180.0 / math.pi)


def sgn(input) -> Tensor:
    """``sign`` for real tensors (``x / |x|`` for complex ones in PyTorch); NaN gives 0."""
    x = _as_tensor(input)
    if x._data.dtype.kind == "f":
        x = where(isnan(x), 0.0, x)
    return sign(x)


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64."""
    if isinstance(input, Tensor):
        input = to_dtype(input, _dt.float64)
    else:
        input = float(input)
    if isinstance(exponent, Tensor):
        exponent = to_dtype(exponent, _dt.float64)
    else:
        exponent = float(exponent)
    if not isinstance(input, Tensor):
        input = _as_tensor(np.float64(input))
        input = to_dtype(input, _dt.float64)
    return _pow_op(input, exponent)


def clamp_min(input, min) -> Tensor:
    return clamp(input, min=min)


def clamp_max(input, max) -> Tensor:
    return clamp(input, max=max)


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` (bool), exact equality (including
    infinities) always close; NaNs close to each other only with ``equal_nan``."""
    a, b = _as_tensor(input), _as_tensor(other)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{a.dtype} did not match {b.dtype}")
    exact = eq(a, b)
    if a._data.dtype.kind == "b":
        return exact
    fa = _float_operand(a) if a._data.dtype.kind != "f" else a
    fb = _float_operand(b) if b._data.dtype.kind != "f" else b
    close = le(_abs_op(sub(fa, fb)), add(mul(_abs_op(fb), rtol), atol))
    close = logical_and(close, logical_and(_not_inf(fa), _not_inf(fb)))
    out = logical_or(exact, close)
    if equal_nan:
        out = logical_or(out, logical_and(isnan(fa), isnan(fb)))
    return out


def _not_inf(x: Tensor) -> Tensor:
    from .elementwise import logical_not
    return logical_not(isinf(x))


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element is :func:`isclose` (a Python bool)."""
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan)._data))


def equal(input, other) -> bool:
    """True when both have the same shape and elements (a Python bool)."""
    a, b = _as_tensor(input), _as_tensor(other)
    if a.shape != b.shape:
        return False
    return bool(np.all(eq(a, b)._data))


def isposinf(input) -> Tensor:
    x = _as_tensor(input)
    return logical_and(isinf(x), gt(x, 0))


def isneginf(input) -> Tensor:
    x = _as_tensor(input)
    return logical_and(isinf(x), lt(x, 0))


def _bitwise(name, a, b):
    # the primitives bitwise_and/or/xor already exist in elementwise.py (behind & | ^)
    a, b = _promote(a, b)
    for v in (a, b):
        if (isinstance(v, Tensor) and v._data.dtype.kind == "f") or type(v) is float:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for floating dtypes")
    return _compare(name, a, b)


def bitwise_and(input, other) -> Tensor:
    return _bitwise("bitwise_and", input, other)


def bitwise_or(input, other) -> Tensor:
    return _bitwise("bitwise_or", input, other)


def bitwise_xor(input, other) -> Tensor:
    return _bitwise("bitwise_xor", input, other)


def can_cast(from_, to) -> bool:
    """Whether PyTorch's type promotion allows casting ``from_`` to ``to``: not to a lower
    category (float -> int, int -> bool, ...)."""
    f, t = _dt.as_dtype(from_), _dt.as_dtype(to)
    return _category(f) <= _category(t)


def _category(d) -> int:
    kind = d.np_dtype.kind
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[kind]


def moveaxis(input, source, destination) -> Tensor:
    """Alias of :func:`movedim`."""
    from .shape import movedim
    return movedim(input, source, destination)

