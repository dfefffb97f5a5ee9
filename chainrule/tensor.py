"""class Tensor: a NumPy array plus what reverse-mode differentiation needs.

A tensor holds

- ``_data``: the values, a NumPy array (never a NumPy scalar);
- ``_requires_grad`` and ``_grad_fn``: whether gradients are wanted and, for a tensor
  made by a recorded operation, the Node that made it (``is_leaf`` is ``grad_fn is None``);
- ``_grad``: the accumulated gradient of a leaf after ``backward()``;
- ``_vbox``: a one-element list counting in-place changes; views share it with their base
  so that a change through any of them is seen by every Node that saved the memory.

The arithmetic and the rest of the API are thin methods that call the operations in
``chainrule.ops``, where each primitive's forward, vjp and jvp live side by side.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from . import dtypes as _dt
from ._special import SPECIAL
from .autograd import grad_mode as _gm
from .autograd.graph import RemovableHandle

__all__ = ["Tensor", "Size"]

_STATE = _gm.STATE


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``chainrule.Size([2, 3])``."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


class ChainruleHint(UserWarning):
    """A warning that points at a common autograd mistake and how to fix it."""


class Tensor:
    """A multi-dimensional array that can record the operations run on it.

    Build tensors with :func:`chainrule.tensor`, :func:`chainrule.zeros` and friends.
    ``Tensor(data)`` also works and, like PyTorch's legacy constructor, gives float32.
    """

    # Only the fields every tensor uses are slots; the rarely set ones are class-level
    # defaults, overridden per instance (in its __dict__) when set. This keeps making a
    # tensor, which happens once per operation, cheap.
    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_vbox", "__weakref__", "__dict__")
    _grad = None          # accumulated gradient (leaves, or retain_grad())
    _base = None          # the tensor whose memory this view shares
    _hooks = None         # gradient hooks of a leaf
    _retains_grad = False
    _tangent = None       # forward-mode tangent
    _view_chain = None    # a differentiable view: ((primitive, params), ...) from its _base
    _views = None         # a base: WeakSet of its differentiable views (to renew their grad_fn)
    _step_version = None  # a .grad's version when an optimizer last stepped with it
    _stale_sum = False    # a backward added into this .grad after that step (see optim hints)

    # Let NumPy scalars on the left (np.float32(2) * t) defer to Tensor.__rmul__.
    __array_ufunc__ = None

    def __init__(self, data: Any = (), dtype=None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data._data
        np_dtype = _dt.as_dtype(dtype).np_dtype if dtype is not None else _dt.get_default_dtype().np_dtype
        arr = np.array(data, dtype=np_dtype)
        self._data = arr
        self._grad_fn = None
        self._vbox = [0]
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: Optional[int] = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_normalize_dim(dim, self._data.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    ndim = property(dim)

    def ndimension(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> str:
        return "cpu"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # identity hashing, done in C (tensors are dict keys in the engine); == is elementwise
    __hash__ = object.__hash__

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if dtype is not None:
            return self._data.astype(dtype, copy=False)
        return self._data

    def __bool__(self) -> bool:
        self._refuse_if_traced("bool()")
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} values is ambiguous; "
                "use .any() or .all() to reduce it to one value first")
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def _refuse_if_traced(self, what: str) -> None:
        if SPECIAL.is_traced is not None and SPECIAL.is_traced(self):
            raise RuntimeError(
                f"vmap: {what} of a tensor that depends on the vmapped inputs is not possible: its "
                "value differs from one example to the next. Keep the computation in tensor "
                "operations (e.g. chainrule.where instead of an if on a value).")

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        self._refuse_if_traced("item()")
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a Tensor with {self._data.size} elements cannot be converted to a "
                "Python scalar; index it first or reduce it (e.g. .sum())")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        self._refuse_if_traced("tolist()")
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array sharing memory with this tensor."""
        self._refuse_if_traced("numpy()")
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead.")
        return self._data

    def __repr__(self) -> str:
        from ._printing import tensor_repr
        extras = []
        if self._grad_fn is not None:
            extras.append(f"grad_fn=<{self._grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        # PyTorch omits the dtype when it is the one the data would get anyway: the default
        # float dtype, int64 and bool (but for empty tensors only the default float dtype)
        d = self._data.dtype
        default_float = _dt.get_default_dtype().np_dtype
        implied = (default_float,) if self._data.size == 0 else (default_float, np.int64, np.bool_)
        label = None if d in implied else repr(self.dtype)
        return tensor_repr(self._data, dtype_label=label, extras=extras)

    __str__ = __repr__

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether autograd records operations on this (leaf) tensor; returns self."""
        requires_grad = bool(requires_grad)
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    f"requires_grad_(False): this tensor was made by {self._grad_fn.name()} and is "
                    "not a leaf; you can only change requires_grad of leaf tensors. "
                    "Use .detach() to get a tensor that does not require grad.")
            return self
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                f"Only Tensors of floating point dtype can require gradients; this tensor has "
                f"dtype {self.dtype}. Convert it first, e.g. x = x.float().requires_grad_() "
                "(or make it with dtype=chainrule.float32).")
        if requires_grad and SPECIAL.leaf_hook is not None and not self._requires_grad:
            SPECIAL.leaf_hook(self)  # vmap: a leaf of a transform inside the traced function
        self._requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        """The Node that made this tensor (None for leaves), e.g. ``<MulBackward0>``."""
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded operation (user-made, or not requiring grad)."""
        return self._grad_fn is None

    @property
    def grad(self) -> Optional["Tensor"]:
        """The gradient accumulated by ``backward()`` (leaves, or tensors with retain_grad())."""
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on "
                "the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you "
                "access the leaf Tensor instead.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"assigned grad has shape {list(value.shape)} but the tensor has shape "
                    f"{list(self.shape)}; they must match")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"assigned grad has dtype {value.dtype} but the tensor has dtype {self.dtype}; "
                    "convert it with .to(tensor.dtype)")
        self._grad = value

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (shared with its views)."""
        return self._vbox[0]

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self) -> None:
        """Make ``.grad`` of this non-leaf tensor be filled by ``backward()``."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return  # leaves keep their grad anyway
        if self._retains_grad:
            return
        import weakref
        self._retains_grad = True
        self._grad_fn.retained = weakref.ref(self)

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` whenever the gradient of this tensor is computed.

        The hook may return a new gradient to use instead; it must not modify its argument.
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            return self._grad_fn.register_prehook(hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return RemovableHandle(self._hooks, hook)

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's memory, detached from the graph (changes are not tracked)."""
        out = _wrap(self._data)
        return out

    @data.setter
    def data(self, value: "Tensor") -> None:
        value = value if isinstance(value, Tensor) else Tensor(value)
        self._data = value._data

    def detach(self) -> "Tensor":
        """A new leaf sharing memory (and the version counter) with this tensor, without grad."""
        return _ops.elementwise.alias(self)

    def detach_(self) -> "Tensor":
        """Detach this tensor from the graph in place, making it a leaf."""
        self._grad_fn = None
        self._requires_grad = False
        return self

    def backward(self, gradient: Optional["Tensor"] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs: Optional[Sequence["Tensor"]] = None) -> None:
        """Compute the gradient of this tensor with respect to the graph's leaves.

        For a non-scalar tensor, ``gradient`` (same shape) weights the outputs: the
        result is the gradient of ``(self * gradient).sum()``.  Gradients add into
        ``.grad`` of the leaves; call ``zero_grad()`` (or set ``.grad = None``) between steps.
        """
        if (gradient is not None and self._grad_fn is None and self._requires_grad):
            g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if not np.all(g == 1):
                warnings.warn(
                    "backward(gradient) was called on a leaf tensor: this only sets its .grad to "
                    "`gradient` (d leaf / d leaf = 1, scaled by gradient). If you wanted the gradient "
                    "of another tensor z with respect to this one, call z.backward() "
                    "(did you mean z.backward() instead of x.backward(z)?).",
                    ChainruleHint, stacklevel=2)
        _engine.backward((self,), None if gradient is None else (gradient,), retain_graph,
                         create_graph, inputs)

    # ---------------------------------------------------------------- copies
    def clone(self) -> "Tensor":
        return _ops.clone(self)

    def contiguous(self) -> "Tensor":
        return self

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def to(self, *args, **kwargs) -> "Tensor":
        """Convert to a dtype (``t.to(chainrule.float64)``); devices other than 'cpu' are refused."""
        dtype = kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or a is None:
                device = a
            else:
                dtype = a
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"to(): chainrule runs on the CPU only; device {device!r} is not available")
        if dtype is None:
            return self.clone() if copy else self
        return _ops.to_dtype(self, _dt.as_dtype(dtype), copy=copy)

    def type(self, dtype=None):
        if dtype is None:
            return f"chainrule.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
        return self.to(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    def float(self) -> "Tensor":
        return self.to(_dt.float32)

    def double(self) -> "Tensor":
        return self.to(_dt.float64)

    def half(self) -> "Tensor":
        return self.to(_dt.float16)

    def long(self) -> "Tensor":
        return self.to(_dt.int64)

    def int(self) -> "Tensor":
        return self.to(_dt.int32)

    def bool(self) -> "Tensor":
        return self.to(_dt.bool)

    def cpu(self) -> "Tensor":
        return self

    # -------------------------------------------------------------- operators
    # + - * (and their reflected forms) are bound straight to the op functions at the end
    # of chainrule/ops/__init__.py: one Python call less on the hottest path of all.
    def __rsub__(self, other):
        out = _ops.sub(other, self)  # PyTorch names `number - tensor` RsubBackward1
        if out._grad_fn is not None and out._grad_fn is not self._grad_fn and not isinstance(
                other, Tensor):
            out._grad_fn.display_name = "RsubBackward1"
        return out

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    # __iadd__/__isub__/__imul__/__itruediv__ are the in-place methods (_tensor_methods.py)

    def __eq__(self, other):  # type: ignore[override]
        return _ops.eq(self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _ops.ne(self, other)

    def __lt__(self, other):
        return _ops.lt(self, other)

    def __le__(self, other):
        return _ops.le(self, other)

    def __gt__(self, other):
        return _ops.gt(self, other)

    def __ge__(self, other):
        return _ops.ge(self, other)

    def __and__(self, other):
        return _ops.logical_op("bitwise_and", self, other)

    def __rand__(self, other):
        return _ops.logical_op("bitwise_and", other, self)

    def __or__(self, other):
        return _ops.logical_op("bitwise_or", self, other)

    def __ror__(self, other):
        return _ops.logical_op("bitwise_or", other, self)

    def __xor__(self, other):
        return _ops.logical_op("bitwise_xor", self, other)

    def __invert__(self):
        return _ops.logical_not(self) if self._data.dtype == np.bool_ else _ops.bitwise_not(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        _ops.setitem(self, index, value)

    # -------------------------------------------------------------- views
    @property
    def T(self) -> "Tensor":
        return _ops.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> "Tensor":
        return _ops.transpose(self, -2, -1)


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}

_new = object.__new__


def _wrap(data: np.ndarray, requires_grad: bool = False, grad_fn=None) -> Tensor:
    """Make a tensor around an existing array without copying (the fast constructor)."""
    t = _new(Tensor)
    t._data = data
    t._requires_grad = requires_grad
    t._grad_fn = grad_fn
    t._vbox = [0]
    return t


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    """Map a possibly negative ``dim`` into range, with PyTorch's error for bad values."""
    lo = -max(ndim, 1)
    hi = max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim + ndim if dim < 0 else dim


from . import ops as _ops  # noqa: E402  (the operations need Tensor defined first)
from .autograd import engine as _engine  # noqa: E402
