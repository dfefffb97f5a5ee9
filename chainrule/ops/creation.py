"""Making tensors: from data, filled, ranges and random numbers (one seeded generator)."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, _wrap

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty", "arange",
    "linspace", "logspace", "eye", "rand", "randn", "randint", "randperm", "normal",
    "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like",
    "randint_like", "manual_seed", "seed", "initial_seed", "Generator", "default_generator",
    "get_rng_state", "set_rng_state", "tril", "triu", "diag", "diagonal", "bernoulli",
    "multinomial",
]


def _infer_dtype(data) -> _dt.dtype:
    """PyTorch's dtype for Python data: bools -> bool, ints -> int64, floats -> default float."""
    if isinstance(data, np.ndarray):
        return _dt.from_numpy_dtype(data.dtype)
    if isinstance(data, np.generic):
        return _dt.from_numpy_dtype(data.dtype)
    arr = np.asarray(data)
    kind = arr.dtype.kind
    if kind == "b":
        return _dt.bool
    if kind in "iu":
        return _dt.int64
    if kind == "f":
        return _dt.get_default_dtype()
    if kind == "O":  # e.g. a list of tensors
        raise TypeError("tensor(): could not infer a dtype from the data; pass numbers, nested "
                        "lists of numbers or arrays (use stack() to join a list of tensors)")
    raise TypeError(f"tensor(): unsupported data of dtype {arr.dtype}")


def _from_data(data) -> np.ndarray:
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        return np.array([_from_data(d) for d in data])
    return data


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays or a tensor).

    Python floats give float32 (the default dtype), ints give int64, bools give bool;
    NumPy arrays keep their dtype.
    """
    _check_device(device)
    data = _from_data(data)
    dt = _dt.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
    out = _wrap(np.array(data, dtype=dt.np_dtype, copy=True))
    if requires_grad:
        out.requires_grad_(True)
    return out


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array (or returns a tensor as is)."""
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or _dt.as_dtype(dtype).np_dtype == data.dtype):
        _dt.from_numpy_dtype(data.dtype)
        return _wrap(data)
    return tensor(data, dtype=dtype)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray`` (changes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, got {type(ndarray).__name__}")
    _dt.from_numpy_dtype(ndarray.dtype)
    return _wrap(ndarray)


def _check_device(device) -> None:
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"chainrule runs on the CPU only; device {device!r} is not available")


def _size(size, size_kw=None) -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))`` (PyTorch accepts all three)."""
    if size_kw is not None:
        if size:
            raise TypeError(f"got the size both as arguments {list(size)} and as size={size_kw!r}; "
                            "give it once")
        size = (size_kw,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise RuntimeError(f"sizes must be non-negative integers, got {list(size)}")
    return tuple(int(s) for s in size)


def _finish(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype) -> np.dtype:
    return (_dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()).np_dtype


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.zeros(_size(sizes, size), _float_dtype(dtype)), requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.ones(_size(sizes, size), _float_dtype(dtype)), requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.empty(_size(sizes, size), _float_dtype(dtype)), requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value`` (dtype inferred from it)."""
    _check_device(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = _dt.as_dtype(dtype) if dtype is not None else _dt.scalar_dtype(fill_value)
    return _finish(np.full(_size((size,) if isinstance(size, int) else (tuple(size),)), fill_value,
                           dt.np_dtype), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end``; int64 when all arguments are ints."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        dt = _dt.int64 if all(isinstance(v, (int, np.integer)) for v in vals) else _dt.get_default_dtype()
    else:
        dt = _dt.as_dtype(dtype)
    n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(n, dtype=np.float64) * vals[2]) if dt.category == 2 else \
        np.arange(vals[0], vals[1], vals[2])
    return _finish(arr.astype(dt.np_dtype), requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.logspace(start, end, steps, base=base).astype(_float_dtype(dtype)), requires_grad)


def eye(n: int, m: Optional[int] = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def _like(input: Tensor, dtype):
    return (_dt.as_dtype(dtype).np_dtype if dtype is not None else input._data.dtype)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(input._data.shape, _like(input, dtype)), requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(input._data.shape, _like(input, dtype)), requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(input._data.shape, _like(input, dtype)), requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.full(input._data.shape, fill_value, _like(input, dtype)), requires_grad)


# ----------------------------------------------------------------------------- random numbers

class Generator:
    """A random number generator (NumPy's PCG64 underneath), seeded with ``manual_seed``.

    Streams differ from PyTorch's: the same seed gives reproducible, not identical, numbers.
    """

    def __init__(self, device: str = "cpu") -> None:
        self._seed = 67280421310721
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(s)
        return s

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


default_generator = Generator()


class _RandomnessMode:
    """Set by ``vmap(..., randomness='error')`` while its function runs: drawing random
    numbers there raises, as in PyTorch (each example would get the same numbers)."""
    error = False


RANDOMNESS = _RandomnessMode()


def _rng(generator: Optional[Generator]) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the default one when None)."""
    if RANDOMNESS.error:
        raise RuntimeError(
            "vmap: called random operation while in randomness error mode. Please either use the "
            "'same' or 'different' randomness flags on vmap or perform the randomness operation "
            "out of vmap (in chainrule, 'same' gives every example the same random numbers).")
    return (generator or default_generator).rng


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (for reproducible ``rand``, ``randn``, init, shuffling...)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def rand(*sizes, size=None, generator: Optional[Generator] = None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1)."""
    _check_device(device)
    return _finish(_rng(generator).random(_size(sizes, size)).astype(_float_dtype(dtype)), requires_grad)


def randn(*sizes, size=None, generator: Optional[Generator] = None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    _check_device(device)
    return _finish(_rng(generator).standard_normal(_size(sizes, size)).astype(_float_dtype(dtype)),
                   requires_grad)


def randint(low, high=None, size=None, *, generator: Optional[Generator] = None, dtype=None,
            device=None, requires_grad: bool = False) -> Tensor:
    """Integers from [low, high) (``randint(high, size)`` uses low = 0)."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    dt = _dt.as_dtype(dtype).np_dtype if dtype is not None else np.int64
    return _finish(_rng(generator).integers(low, high, size=tuple(size)).astype(dt), requires_grad)


def randperm(n: int, *, generator: Optional[Generator] = None, dtype=None) -> Tensor:
    dt = _dt.as_dtype(dtype).np_dtype if dtype is not None else np.int64
    return _wrap(_rng(generator).permutation(n).astype(dt))


def normal(mean=0.0, std=1.0, size=None, *, generator: Optional[Generator] = None,
           dtype=None, requires_grad: bool = False) -> Tensor:
    """Normal samples; ``mean``/``std`` may be tensors (broadcast) or numbers with ``size``."""
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = tuple(size) if size is not None else np.broadcast_shapes(np.shape(m), np.shape(s))
    if dtype is None:
        like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
        np_dt = like._data.dtype if like is not None else _dt.get_default_dtype().np_dtype
    else:
        np_dt = _dt.as_dtype(dtype).np_dtype
    return _finish((m + s * _rng(generator).standard_normal(shape)).astype(np_dt), requires_grad)


def rand_like(input: Tensor, *, dtype=None, generator=None) -> Tensor:
    return _wrap(_rng(generator).random(input._data.shape).astype(_like(input, dtype)))


def randn_like(input: Tensor, *, dtype=None, generator=None) -> Tensor:
    return _wrap(_rng(generator).standard_normal(input._data.shape).astype(_like(input, dtype)))


def randint_like(input: Tensor, low=0, high=None, *, dtype=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return _wrap(_rng(None).integers(low, high, size=input._data.shape).astype(_like(input, dtype)))


def bernoulli(input: Tensor, p: Optional[float] = None, *, generator=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``)."""
    probs = input._data if p is None else np.full(input._data.shape, p)
    return _wrap((_rng(generator).random(input._data.shape) < probs).astype(input._data.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    probs = np.atleast_2d(input._data.astype(np.float64))
    rng = _rng(generator)
    rows = [rng.choice(probs.shape[1], size=num_samples, replace=replacement, p=row / row.sum())
            for row in probs]
    out = np.array(rows, dtype=np.int64)
    return _wrap(out if input._data.ndim == 2 else out[0])


# ----------------------------------------------------------------------------- triangles

def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle (others zero); differentiable through the mask."""
    mask = np.tril(np.ones(input._data.shape[-2:], dtype=bool), diagonal)
    return input * _wrap(mask.astype(input._data.dtype))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    mask = np.triu(np.ones(input._data.shape[-2:], dtype=bool), diagonal)
    return input * _wrap(mask.astype(input._data.dtype))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of a matrix (composed of indexing, so it is differentiable)."""
    from .shape import movedim
    x = movedim(input, (dim1, dim2), (-2, -1))
    n, m = x._data.shape[-2:]
    rows = np.arange(max(0, -offset), min(n, m - offset))
    return x[(..., rows, rows + offset)]


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """Matrix -> its diagonal; vector -> a square matrix with it on the diagonal."""
    if input._data.ndim == 2:
        return globals()["diagonal"](input, diagonal)
    if input._data.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got {input._data.ndim}-D")
    n = input._data.shape[0] + abs(diagonal)
    base = zeros(n, n, dtype=input.dtype)
    rows = np.arange(input._data.shape[0]) + max(0, -diagonal)
    from .index import index_put
    return index_put(base, (rows, rows + diagonal), input)

