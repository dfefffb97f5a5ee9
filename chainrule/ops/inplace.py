"""In-place operations (``add_``, ``mul_``, ``x[i] = v``, ...).

An in-place op computes its result out of place with the ordinary primitive, then writes
it into the tensor's own memory (so views and ``from_numpy`` arrays see the change) and
bumps the version counter, which every Node that saved this memory will check.

When the op is recorded, the tensor's ``grad_fn`` becomes the new Node, whose input is a
snapshot of the old value; so ``x.mul_(2)`` on a non-leaf differentiates like
``x = x * 2``.  Changing a view (``h[0] += 1``, ``h.view(-1).add_(1)``) rewrites the
history of the view's base as PyTorch's CopySlices does: the base becomes "the old base
with the view's region replaced by the result" (index_put / reshape / permute, composed
along the chain of views), and every live view of that base gets a new ``grad_fn`` made
from the new history. Refused, as in PyTorch: changing a leaf that requires grad (or a
view of one) while recording.
"""
from __future__ import annotations

import weakref
from typing import Callable

import numpy as np

from .._special import SPECIAL
from ..autograd import grad_mode as _gm
from ..tensor import Tensor, _wrap

__all__ = ["run_inplace"]

_STATE = _gm.STATE


def run_inplace(self: Tensor, op_name: str, compute: Callable[[Tensor], Tensor], others=()) -> Tensor:
    """Apply ``compute`` (out of place) and store the result into ``self``; returns ``self``."""
    recording = _STATE.enabled and (
        self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others))
    if recording:
        if self._grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{op_name}: a leaf Variable that requires grad is being used in an in-place "
                "operation. Hint: to change parameters, do it inside `with chainrule.no_grad():` "
                "(as optimizers do), or use an out-of-place op (x = x + 1).")
        base = self._base
        if base is not None:
            return _inplace_on_view(self, base, op_name, compute)
        snapshot = _wrap(self._data.copy(), self._requires_grad, self._grad_fn)
        snapshot._tangent = self._tangent
        result = compute(snapshot)
        _store(self, result, op_name)
        if result._tangent is not None or self._tangent is not None:  # forward mode
            self._tangent = result._tangent
        self._grad_fn = result._grad_fn
        self._requires_grad = result._requires_grad
        if self._retains_grad and self._grad_fn is not None:
            self._grad_fn.retained = weakref.ref(self)
        _renew_views(self)
        return self
    with _gm.no_grad():
        result = compute(self)
    _store(self, result, op_name)
    if result._tangent is not None or self._tangent is not None:  # forward mode
        self._tangent = result._tangent
    return self


def _store(self: Tensor, result: Tensor, op_name: str) -> None:
    if SPECIAL.inplace_hook is not None:  # vmap: self now stands for result's value
        SPECIAL.inplace_hook(self, result)
    _check_storable(self, result, op_name)
    src, dst = result._data, self._data
    np.copyto(dst, src, casting="unsafe")
    self._vbox[0] += 1


def _inplace_on_view(self: Tensor, base: Tensor, op_name: str, compute) -> Tensor:
    """A recorded in-place op on a view: the base's history is rewritten (CopySlices)."""
    chain = self._view_chain
    if base._grad_fn is None and base._requires_grad:
        raise RuntimeError(
            f"{op_name}: a view of a leaf Variable that requires grad is being used in an "
            "in-place operation. Hint: change the leaf inside `with chainrule.no_grad():`, or "
            "use an out-of-place op on a clone (y = x.clone(); y[0] += 1).")
    if chain is None or SPECIAL.active:
        why = ("it was made by detach() or in no_grad mode, so it is not part of the graph"
               if chain is None else "inside vmap or forward-mode AD this is not supported")
        raise RuntimeError(
            f"{op_name}: this tensor is a view of another tensor and {why}; an in-place change "
            "to it would corrupt the gradient. Use an out-of-place op, or clone() the view first.")
    snapshot = _wrap(self._data.copy(), self._requires_grad, self._grad_fn)
    result = compute(snapshot)  # the view's new value, recorded
    _check_storable(self, result, op_name)
    old_base = _wrap(base._data, base._requires_grad, base._grad_fn)  # its current history
    old_base._vbox = base._vbox
    new_base = _write_back(old_base, chain, result)
    np.copyto(base._data, new_base._data, casting="unsafe")  # the view sees it too
    base._vbox[0] += 1
    base._grad_fn = new_base._grad_fn
    base._requires_grad = new_base._requires_grad
    if base._retains_grad and base._grad_fn is not None:
        base._grad_fn.retained = weakref.ref(base)
    _renew_views(base)
    if self._view_chain is not None and (self._grad_fn is None or not self._requires_grad):
        _renew_view(base, self)  # (not registered when made in no_grad mode)
    return self


def _write_back(base: Tensor, chain: tuple, value: Tensor) -> Tensor:
    """``base`` with the region the view ``chain`` selects replaced by ``value``, built from
    differentiable ops: the gradient goes to ``value`` for that region, to ``base`` elsewhere."""
    from .index import _index_put
    from .primitive import REGISTRY, apply
    if not chain:
        return value if value._data.dtype == base._data.dtype else value.to(base.dtype)
    prim, params = chain[0]
    sub = apply(prim, base, **params)
    new_sub = _write_back(sub, chain[1:], value)
    if prim.name == "getitem":
        return apply(_index_put, base, new_sub, index=params["index"], v_shape=new_sub._data.shape)
    if prim.name == "reshape":
        return apply(REGISTRY["reshape"], new_sub, shape=params["in_shape"],
                     in_shape=new_sub._data.shape)
    if prim.name == "permute":
        inverse = tuple(int(i) for i in np.argsort(params["axes"]))
        return apply(REGISTRY["permute"], new_sub, axes=inverse)
    raise RuntimeError(f"in-place change of a view made by {prim.name}: chainrule cannot write "
                       "it back into its base; clone() the view first")


def _renew_view(base: Tensor, view: Tensor) -> None:
    t = base
    from .primitive import apply
    for prim, params in view._view_chain:
        t = apply(prim, t, **params)
    view._grad_fn = t._grad_fn
    view._requires_grad = t._requires_grad


def _renew_views(base: Tensor) -> None:
    """After the base's history changed, make each live view's grad_fn from it again."""
    views = base._views
    if views:
        for view in list(views):
            _renew_view(base, view)


def _check_storable(self: Tensor, result: Tensor, op_name: str) -> None:
    src, dst = result._data, self._data
    if src.shape != dst.shape:
        raise RuntimeError(
            f"{op_name}: output with shape {list(dst.shape)} doesn't match the broadcast shape "
            f"{list(src.shape)}; an in-place op cannot change the tensor's shape")
    if src.dtype != dst.dtype and not np.can_cast(src.dtype, dst.dtype, casting="same_kind"):
        raise RuntimeError(
            f"{op_name}: result type {src.dtype} can't be cast to the desired output type "
            f"{dst.dtype}; use an out-of-place op or convert the tensor first")
    if not dst.flags.writeable:
        raise RuntimeError(
            f"{op_name}: unsupported operation: this tensor's memory is read-only (it is an "
            "expanded view, where several elements share one memory location); clone() it first")
