"""Indexing primitives, in dual pairs whose vjps are each other:

- ``getitem`` (x[index]) and ``index_add_at`` (add values into x at index, duplicates add up);
- ``gather`` and ``scatter_add`` (PyTorch's along-one-dimension forms);
- ``index_put`` (x with x[index] = v; ``__setitem__`` is its in-place form).
"""
from __future__ import annotations

import numpy as np

from .._special import SPECIAL
from ..autograd.graph import show_as
from ..tensor import Tensor, _normalize_dim, _wrap
from .primitive import Primitive, apply

__all__ = ["getitem", "setitem", "index_put", "gather", "scatter_add", "scatter",
           "index_select", "masked_fill", "nonzero", "masked_select", "take_along_dim"]

_BASIC = (int, slice, type(None), type(Ellipsis))


def _normalize_index(x: Tensor, index) -> tuple:
    """Turn a user index into a tuple NumPy understands, with tensors as arrays and boolean
    masks as integer arrays (so that the backward can use ``np.add.at``)."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    dim = 0  # which dimension of x the next entry indexes
    n_specified = sum(
        (i._data.ndim if isinstance(i, Tensor) and i._data.dtype == np.bool_ else
         np.ndim(i) if isinstance(i, np.ndarray) and i.dtype == np.bool_ else
         0 if i is None or i is Ellipsis else 1) for i in index)
    for i in index:
        if isinstance(i, Tensor):
            i = i._data
        elif isinstance(i, (list, tuple)):
            i = np.asarray(i)
            if i.dtype.kind == "f":
                raise IndexError("getitem: tensors used as indices must be long, int or bool; got "
                                 "a list of floats")
        elif isinstance(i, np.integer):
            i = int(i)
        if i is Ellipsis:
            dim += x._data.ndim - n_specified
            out.append(i)
        elif i is None:
            out.append(i)
        elif isinstance(i, np.ndarray):
            if i.dtype == np.bool_:
                k = i.ndim
                want = x._data.shape[dim:dim + k]
                if i.shape != want:
                    raise IndexError(
                        f"getitem: the shape of the mask {list(i.shape)} does not match the shape "
                        f"of the indexed tensor {list(want)} starting at dimension {dim}")
                out.extend(np.nonzero(i) if k else [np.asarray(i)])
                dim += k
            elif i.dtype.kind in "iu":
                out.append(i.astype(np.intp, copy=False))
                dim += 1
            else:
                raise IndexError(f"getitem: tensors used as indices must be long, int or bool "
                                 f"tensors, got dtype {i.dtype}")
        elif isinstance(i, bool):
            out.append(i)
        elif isinstance(i, (int, slice)):
            if isinstance(i, slice) and i.step is not None and i.step <= 0:
                raise ValueError("getitem: step must be greater than zero (negative steps are not "
                                 "supported, as in PyTorch; use flip())")
            out.append(i)
            dim += 1
        else:
            raise TypeError(f"getitem: unsupported index type {type(i).__name__}; use ints, slices, "
                            "None, Ellipsis, bool masks or integer tensors")
    return tuple(out)


def _is_basic(index: tuple) -> bool:
    return all(isinstance(i, _BASIC) and not isinstance(i, bool) for i in index)


def _ints_first(idx: tuple):
    """PyTorch applies integer indices (and 0-dim integer tensors) before advanced ones, where
    NumPy broadcasts them together (``x[0, :, [1, 2]]``: torch (3, 2, ...), NumPy (2, 3, ...)).
    For such an index return (basic step, advanced step) to apply in turn, else None."""
    def is_int(i):
        return (type(i) is int or isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu")
    if not any(map(is_int, idx)) or not any(isinstance(i, np.ndarray) and i.ndim for i in idx):
        return None
    first = tuple(int(i) if is_int(i) else slice(None) if isinstance(i, np.ndarray) else i for i in idx)
    second = tuple(i if isinstance(i, np.ndarray) or i is Ellipsis else slice(None)
                   for i in idx if not is_int(i))
    return first, second


def _index_error(inputs, exc):
    x = inputs[0]
    return IndexError(f"getitem: {exc} (tensor shape {list(x.shape)}). Indices must be within "
                      "[-size, size) of their dimension.")


def _getitem_forward(x, index, in_shape, basic):
    if basic and Ellipsis not in index:  # x[1, 2] gives a 0-d view, not a NumPy scalar copy
        return x[index + (Ellipsis,)]
    return x[index]


def _index_add_forward(x, src, index, basic):
    out = x.copy()
    if basic:
        out[index] += src
    else:
        np.add.at(out, index, src)
    return out


_getitem = Primitive(
    "getitem", _getitem_forward,
    vjp=[lambda F, g, out, x, index, in_shape, basic: F.call(
        "index_add_at", F.zeros(in_shape, g), g, index=index, basic=basic)],
    jvp=[lambda F, t, out, x, index, in_shape, basic: F.call(
        "getitem", t, index=index, in_shape=in_shape, basic=basic)],
    save_inputs=False, second_order=False, node_name="IndexBackward0", error_hint=_index_error)

_index_add_at = Primitive(
    "index_add_at", _index_add_forward,
    vjp=[lambda F, g, out, x, src, index, basic: g,
         lambda F, g, out, x, src, index, basic: F.call(
             "getitem", g, index=index, in_shape=tuple(g.shape), basic=basic)],
    jvp=[lambda F, t, out, x, src, index, basic: t,
         lambda F, t, out, x, src, index, basic: F.call(
             "index_add_at", F.zeros(out.shape, t), t, index=index, basic=basic)],
    save_inputs=False, second_order=False, node_name="IndexAddBackward0")


def _index_put_forward(x, v, index, v_shape=None):
    out = x.copy()
    out[index] = v
    return out


def _index_put_value_grad(F, g, out, x, v, index, v_shape):
    return F.sum_to(F.call("getitem", g, index=index, in_shape=tuple(g.shape),
                           basic=_is_basic(index)), v_shape)


_index_put = Primitive(
    "index_put", _index_put_forward,
    vjp=[lambda F, g, out, x, v, index, v_shape: F.call("index_put", g, 0.0, index=index, v_shape=()),
         _index_put_value_grad],
    jvp=[lambda F, t, out, x, v, index, v_shape: F.call("index_put", t, 0.0, index=index, v_shape=()),
         lambda F, t, out, x, v, index, v_shape: F.call(
             "index_put", F.zeros(out.shape, t), t, index=index, v_shape=v_shape)],
    save_inputs=False, second_order=False, node_name="IndexPutBackward0",
    error_hint=_index_error)


# ----------------------------------------------------------------------------- dynamic indices
# Inside vmap, an index tensor may itself depend on the batched inputs (x[label] in a
# per-example loss). Its values then cannot be a constant parameter: these two primitives
# take the index tensors as inputs, placed in the index by a template of ``Dyn`` markers.

class Dyn:
    """In an index template: the k-th index tensor among the primitive's inputs."""
    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        self.k = k

    def __repr__(self) -> str:
        return f"Dyn({self.k})"


def fill_template(template: tuple, arrays) -> tuple:
    return tuple(arrays[e.k] if isinstance(e, Dyn) else e for e in template)


def _index_tensor_forward(x, *idx, template, in_shape):
    return x[fill_template(template, idx)]


def _index_tensor_add_forward(z, src, *idx, template):
    out = z.copy()
    np.add.at(out, fill_template(template, idx), src)
    return out


def _index_tensor_vjp(F, g, out, x, *idx, index, template, in_shape):
    return F.call("index_tensor_add", F.zeros(in_shape, g), g, *idx, template=template)


def _index_tensor_jvp(F, t, out, x, *idx, index, template, in_shape):
    return F.call("index_tensor", t, *idx, template=template, in_shape=in_shape)


def _index_tensor_add_vjp(F, g, out, z, src, *idx, index, template):
    if index == 0:
        return g
    return F.call("index_tensor", g, *idx, template=template, in_shape=tuple(g.shape))


def _index_tensor_add_jvp(F, t, out, z, src, *idx, index, template):
    if index == 0:
        return t
    return F.call("index_tensor_add", F.zeros(out.shape, t), t, *idx, template=template)


_index_tensor = Primitive("index_tensor", _index_tensor_forward, vjp=_index_tensor_vjp,
                          jvp=_index_tensor_jvp, variadic=True, second_order=False,
                          node_name="IndexBackward0", error_hint=_index_error)
_index_tensor_add = Primitive("index_tensor_add", _index_tensor_add_forward,
                              vjp=_index_tensor_add_vjp, jvp=_index_tensor_add_jvp, variadic=True,
                              second_order=False, node_name="IndexAddBackward0")


def _traced_index_entries(index) -> bool:
    entries = index if isinstance(index, tuple) else (index,)
    return SPECIAL.is_traced is not None and any(
        isinstance(e, Tensor) and SPECIAL.is_traced(e) for e in entries)


def _getitem_dynamic(input: Tensor, index) -> Tensor:
    """``input[index]`` where some index tensor depends on vmap's batched inputs."""
    from .creation import tensor
    from .elementwise import to_dtype
    from .. import dtypes as _dt
    entries = index if isinstance(index, tuple) else (index,)
    for e in entries:
        if isinstance(e, Tensor) and e._data.dtype == np.bool_:
            raise NotImplementedError(
                "vmap: indexing with a boolean mask that depends on the batched inputs is not "
                "possible (the result's shape would differ between examples); use where()")
    if any(type(e) is int for e in entries):  # PyTorch applies integer indices first
        first = tuple(e if type(e) is int or e is None or e is Ellipsis or isinstance(e, slice)
                      else slice(None) for e in entries)
        second = tuple(slice(None) if e is None or isinstance(e, slice) else e
                       for e in entries if type(e) is not int)
        return _getitem_dynamic(getitem(input, first), second)
    template, tensors = [], []
    for e in entries:
        if isinstance(e, (Tensor, list, np.ndarray)):
            t = e if isinstance(e, Tensor) else tensor(e)
            if t._data.dtype.kind not in "iu":
                raise IndexError(f"getitem: tensors used as indices must be long or int tensors, "
                                 f"got {t.dtype}")
            template.append(Dyn(len(tensors)))
            tensors.append(to_dtype(t, _dt.int64))
        else:
            template.append(e)
    return apply(_index_tensor, input, *tensors, template=tuple(template),
                 in_shape=input._data.shape)


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with NumPy/PyTorch semantics; the gradient adds into repeated indices."""
    if SPECIAL.is_traced is not None and _traced_index_entries(index):
        return _getitem_dynamic(input, index)
    idx = _normalize_index(input, index)
    steps = _ints_first(idx)
    if steps is not None:
        return getitem(getitem(input, steps[0]), steps[1])
    basic = _is_basic(idx)
    out = apply(_getitem, input, index=idx, in_shape=input._data.shape, basic=basic)
    if not basic and out._vbox is input._vbox:  # advanced indexing copies: not a view
        out._vbox = [0]
        out._base = None
    if basic and out._grad_fn is not None:  # PyTorch's names for x[i] and x[a:b]
        ints = [i for i in idx if not isinstance(i, slice)]
        if len(ints) == 1 and ints[0] is not None and ints[0] is not Ellipsis and all(
                i == slice(None) for i in idx if isinstance(i, slice)):
            show_as(out, "SelectBackward0", input)
        elif all(isinstance(i, slice) for i in idx):
            show_as(out, "SliceBackward0", input)
    return out


_getitem.view = True  # basic indexing returns a view; apply() checks the memory


def index_put(input: Tensor, index, values) -> Tensor:
    """A copy of ``input`` with ``input[index] = values`` (out of place)."""
    from .elementwise import as_tensor_operand, to_dtype
    idx = _normalize_index(input, index)
    steps = _ints_first(idx)
    if steps is not None:
        return index_put(input, steps[0], index_put(getitem(input, steps[0]), steps[1], values))
    values = as_tensor_operand(values)
    if isinstance(values, Tensor):
        if values._data.dtype != input._data.dtype:
            values = to_dtype(values, input.dtype)
        v_shape = values._data.shape
    else:
        v_shape = ()
    return apply(_index_put, input, values, index=idx, v_shape=v_shape)


def setitem(input: Tensor, index, values) -> None:
    """``input[index] = values``, in place, recorded for autograd when needed."""
    from .inplace import run_inplace
    run_inplace(input, "setitem", lambda src: index_put(src, index, values),
                others=(values,))


# ----------------------------------------------------------------------------- gather/scatter

def _along_dim_index(index: np.ndarray, dim: int) -> tuple:
    """Index arrays that pick x[..., index[...], ...] along ``dim`` (an open mesh elsewhere)."""
    nd = index.ndim
    out = []
    for d in range(nd):
        if d == dim:
            out.append(index)
        else:
            shape = [1] * nd
            shape[d] = index.shape[d]
            out.append(np.arange(index.shape[d]).reshape(shape))
    return tuple(out)


def _gather_forward(x, index, dim, in_shape):
    return x[_along_dim_index(index, dim)]


def _scatter_add_forward(x, src, index, dim):
    out = x.copy()
    np.add.at(out, _along_dim_index(index, dim), src[tuple(slice(0, s) for s in index.shape)])
    return out


_gather = Primitive(
    "gather", _gather_forward,
    vjp=[lambda F, g, out, x, index, dim, in_shape: F.call(
        "scatter_add", F.zeros(in_shape, g), g, index=index, dim=dim)],
    jvp=[lambda F, t, out, x, index, dim, in_shape: F.call(
        "gather", t, index=index, dim=dim, in_shape=in_shape)],
    save_inputs=False, second_order=False)


def _scatter_src_grad(F, g, out, x, src, index, dim, src_shape):
    picked = F.call("gather", g, index=index, dim=dim, in_shape=tuple(g.shape))
    if tuple(picked.shape) != tuple(src_shape):  # src may be larger than index: zeros elsewhere
        widths = tuple((0, s - p) for s, p in zip(src_shape, picked.shape))
        picked = F.call("pad", picked, widths=widths, value=0.0)
    return picked


_scatter_add = Primitive(
    "scatter_add", lambda x, src, index, dim, src_shape=None: _scatter_add_forward(x, src, index, dim),
    vjp=[lambda F, g, out, x, src, index, dim, src_shape: g, _scatter_src_grad],
    jvp=[lambda F, t, out, x, src, index, dim, src_shape: t,
         lambda F, t, out, x, src, index, dim, src_shape: F.call(
             "scatter_add", F.zeros(out.shape, t), t, index=index, dim=dim, src_shape=src_shape)],
    save_inputs=False, second_order=False)


def _refuse_traced_index(op: str, index) -> None:
    if SPECIAL.is_traced is not None and isinstance(index, Tensor) and SPECIAL.is_traced(index):
        raise NotImplementedError(
            f"vmap: {op}() with an index tensor that depends on the batched inputs is not "
            "supported; index with x[idx] (plain indexing handles batched indices), or move "
            f"{op} outside the vmapped function")


def _check_index_tensor(op: str, input: Tensor, dim: int, index) -> np.ndarray:
    _refuse_traced_index(op, index)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {idx.dtype}")
    if idx.ndim != input._data.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as input "
                           f"tensor (index shape {list(idx.shape)}, input shape {list(input.shape)})")
    for d, (si, sx) in enumerate(zip(idx.shape, input._data.shape)):
        if d != dim and si > sx:
            raise RuntimeError(f"{op}(): Size does not match at dimension {d}: index has size {si} "
                               f"but input has size {sx}")
    if idx.size and (idx.max() >= input._data.shape[dim] or idx.min() < -input._data.shape[dim]):
        raise IndexError(f"{op}(): index {int(idx.max())} is out of bounds for dimension {dim} "
                         f"with size {input._data.shape[dim]}")
    return idx.astype(np.intp, copy=False)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for dim=1 (any dimension, PyTorch's rules)."""
    d = _normalize_dim(dim, input._data.ndim, "gather")
    idx = _check_index_tensor("gather", input, d, index)
    return apply(_gather, input, index=idx, dim=d, in_shape=input._data.shape)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (duplicates add up)."""
    from .elementwise import to_dtype
    d = _normalize_dim(dim, input._data.ndim, "scatter_add")
    idx = _check_index_tensor("scatter_add", input, d, index)
    if src._data.dtype != input._data.dtype:
        src = to_dtype(src, input.dtype)
    return apply(_scatter_add, input, src, index=idx, dim=d, src_shape=src._data.shape)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None) -> Tensor:
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``."""
    d = _normalize_dim(dim, input._data.ndim, "scatter")
    idx = _check_index_tensor("scatter", input, d, index)
    where = _along_dim_index(idx, d)
    if src is None:
        src = value
    if isinstance(src, Tensor):
        src = src[tuple(slice(0, s) for s in idx.shape)]
    return index_put(input, tuple(_wrap(np.broadcast_to(w, idx.shape).copy()) for w in where), src)


def take_along_dim(input: Tensor, indices: Tensor, dim: int) -> Tensor:
    return gather(input, dim, indices)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at positions ``index`` (1-D) along ``dim``."""
    d = _normalize_dim(dim, input._data.ndim, "index_select")
    if SPECIAL.is_traced is not None and isinstance(index, Tensor) and SPECIAL.is_traced(index):
        if index._data.ndim > 1:
            raise IndexError(f"index_select(): Index is supposed to be a vector, got shape "
                             f"{list(index.shape)}")
        return getitem(input, (slice(None),) * d + (index.reshape(-1),))
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {list(idx.shape)}")
    return show_as(getitem(input, (slice(None),) * d + (idx.reshape(-1),)), "IndexSelectBackward0",
                   input)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` is True, else ``input``."""
    from .elementwise import where
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {m.dtype}")
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError("masked_fill only supports a 0-dimensional value tensor, but got tensor "
                           f"with {value._data.ndim} dimension(s)")
    if isinstance(value, Tensor):
        value = value.to(input.dtype)
    elif input._data.dtype.kind == "f":
        value = float(value)
    out = where(mask if isinstance(mask, Tensor) else _wrap(m), value, input)
    out = out if out._data.dtype == input._data.dtype else out.to(input.dtype)
    return show_as(out, "MaskedFillBackward0", input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    from .shape import broadcast_tensors
    x, m = broadcast_tensors(input, mask)
    return getitem(x, m)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or a tuple of 1-D tensors."""
    if SPECIAL.is_traced is not None and SPECIAL.is_traced(input):
        raise NotImplementedError("vmap: nonzero() of a tensor that depends on the batched inputs "
                                  "is not possible: the result's shape would differ between examples")
    idx = np.nonzero(input._data)
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in idx)
    return _wrap(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))
