"""dtype objects and PyTorch's type-promotion rules.

chainrule stores every tensor as a NumPy array; a :class:`dtype` is a thin, named
wrapper around a NumPy dtype so that ``chainrule.float32`` prints and compares the
way ``torch.float32`` does.  NumPy's own promotion differs from PyTorch's in three
places (int64 with float32 gives float64; Python floats with integer arrays give
float64; zero-dim arrays count as much as dimensioned ones), so the rules PyTorch
documents are implemented here explicitly.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "dtype", "float16", "half", "float32", "float", "float64", "double", "uint8", "int8",
    "int16", "short", "int32", "int", "int64", "long", "bool", "get_default_dtype",
    "set_default_dtype", "promote_types", "result_type", "from_numpy_dtype",
]

_BOOL, _INT, _FLOAT = 0, 1, 2  # categories, in the order PyTorch ranks them


class dtype:
    """A tensor element type, e.g. ``chainrule.float32``."""

    __slots__ = ("name", "np_dtype", "category", "itemsize", "is_signed")

    def __init__(self, name: str, np_dtype: np.dtype, category: int) -> None:
        self.name = name
        self.np_dtype = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np_dtype.itemsize
        self.is_signed = self.np_dtype.kind in "if"

    @property
    def is_floating_point(self) -> bool:
        return self.category == _FLOAT

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"

    def __reduce__(self):  # pickling keeps the singleton
        return (from_name, (self.name,))


float16 = half = dtype("float16", np.float16, _FLOAT)
float32 = float = dtype("float32", np.float32, _FLOAT)
float64 = double = dtype("float64", np.float64, _FLOAT)
uint8 = dtype("uint8", np.uint8, _INT)
int8 = dtype("int8", np.int8, _INT)
int16 = short = dtype("int16", np.int16, _INT)
int32 = int = dtype("int32", np.int32, _INT)
int64 = long = dtype("int64", np.int64, _INT)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - PyTorch's name

ALL_DTYPES = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NP = {d.np_dtype: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}

_default_float = float32


def from_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The chainrule dtype for a NumPy dtype; raises TypeError for unsupported ones."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        supported = ", ".join(d.name for d in ALL_DTYPES)
        raise TypeError(
            f"chainrule does not support the NumPy dtype {np.dtype(np_dtype)!s}; "
            f"supported dtypes are {supported}. Convert the array first, e.g. arr.astype(np.float32)."
        ) from None


import builtins as _builtins  # noqa: E402  (after the dtype names shadow float/int/bool)

_py_float, _py_int, _py_bool = _builtins.float, _builtins.int, _builtins.bool


def as_dtype(d) -> dtype:
    """Normalise what users pass as ``dtype=`` (chainrule dtype, NumPy dtype, Python type)."""
    if isinstance(d, dtype):
        return d
    if d is _py_float:
        return _default_float
    if d is _py_int:
        return int64
    if d is _py_bool:
        return bool
    return from_numpy_dtype(d)


def to_numpy_dtype(d) -> np.dtype:
    """The NumPy dtype behind whatever users pass as ``dtype=``."""
    return as_dtype(d).np_dtype


def get_default_dtype() -> dtype:
    """The dtype given to tensors made from Python floats (float32 unless changed)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default floating dtype (float32 or float64), as ``torch.set_default_dtype``."""
    global _default_float
    d = as_dtype(d)
    if d.category != _FLOAT:
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {d}")
    _default_float = d


_PROMOTE_CACHE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype to which both ``a`` and ``b`` can be converted (``torch.promote_types``)."""
    if a is b:
        return a
    key = (a, b)
    hit = _PROMOTE_CACHE.get(key)
    if hit is not None:
        return hit
    if a.category != b.category:
        out = a if a.category > b.category else b
    elif a.category == _INT and a.is_signed != b.is_signed:
        # uint8 with a signed type: the signed type if it is wider, else int16 (uint8 + int8)
        signed = a if a.is_signed else b
        out = signed if signed.itemsize > 1 else int16
    else:
        out = a if a.itemsize >= b.itemsize else b
    _PROMOTE_CACHE[key] = out
    return out


def _category_of_scalar(x) -> int:
    if isinstance(x, _py_bool):
        return _BOOL
    if isinstance(x, _py_int):
        return _INT
    return _FLOAT


def _default_for_category(cat: int) -> dtype:
    return (bool, int64, _default_float)[cat]


def result_type(*operands) -> dtype:
    """dtype of an elementwise op's result under PyTorch's rules.

    Operands are tensors (anything with ``.dtype`` and ``.ndim``) or Python scalars.
    Dimensioned tensors decide the dtype; zero-dim tensors and then Python scalars only
    matter when they belong to a higher category (bool < integer < floating).
    """
    dim_t = zero_t = None
    scalar_cat = -1
    for o in operands:
        dt = getattr(o, "dtype", None)
        if isinstance(dt, dtype):
            if o.ndim:
                dim_t = dt if dim_t is None else promote_types(dim_t, dt)
            else:
                zero_t = dt if zero_t is None else promote_types(zero_t, dt)
        else:
            scalar_cat = max(scalar_cat, _category_of_scalar(o))
    out = dim_t
    if zero_t is not None:
        if out is None or zero_t.category > out.category:
            out = zero_t
    if scalar_cat >= 0:
        if out is None or scalar_cat > out.category:
            out = _default_for_category(scalar_cat)
    return out


def scalar_dtype(x) -> dtype:
    """dtype PyTorch gives a tensor made from the Python scalar ``x``."""
    return _default_for_category(_category_of_scalar(x))
