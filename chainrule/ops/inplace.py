"""In-place operations (``add_``, ``mul_``, ``x[i] = v``, ...).

An in-place op computes its result out of place with the ordinary primitive, then writes
it into the tensor's own memory (so views and ``from_numpy`` arrays see the change) and
bumps the version counter, which every Node that saved this memory will check.

When the op is recorded, the tensor's ``grad_fn`` becomes the new Node, whose input is a
snapshot of the old value; so ``x.mul_(2)`` on a non-leaf differentiates like
``x = x * 2``.  Two cases are refused, as in PyTorch: changing a leaf that requires grad
(its ``.grad`` would no longer be the gradient of anything), and, in chainrule, changing
a view of a tensor that requires grad while recording (the base's history cannot be
rewritten).
"""
from __future__ import annotations

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
        if base is not None and base._requires_grad:
            kind = "a leaf Variable" if base._grad_fn is None else "a tensor"
            raise RuntimeError(
                f"{op_name}: a view of {kind} that requires grad is being used in an in-place "
                "operation. chainrule cannot rewrite the history of the viewed tensor; use an "
                "out-of-place op, or clone() the view first.")
        snapshot = _wrap(self._data.copy(), self._requires_grad, self._grad_fn)
        snapshot._tangent = self._tangent
        result = compute(snapshot)
        _store(self, result, op_name)
        if result._tangent is not None or self._tangent is not None:  # forward mode
            self._tangent = result._tangent
        self._grad_fn = result._grad_fn
        self._requires_grad = result._requires_grad
        if self._retains_grad and self._grad_fn is not None:
            import weakref
            self._grad_fn.retained = weakref.ref(self)
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
    src = result._data
    dst = self._data
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
    np.copyto(dst, src, casting="unsafe")
    self._vbox[0] += 1
