"""Forward-mode differentiation with dual tensors, as ``torch.autograd.forward_ad``::

    with forward_ad.dual_level():
        x = forward_ad.make_dual(primal, tangent)
        y = f(x)
        value, jvp = forward_ad.unpack_dual(y)

Inside a dual level every operation whose inputs carry tangents computes its output's
tangent from the primitive's jvp rules, during the forward pass itself: one pass carries
one tangent and no graph is kept. (It is not reverse-of-reverse.)

When nothing needs recording the jvp rules run on NumPy arrays; when the primals or
tangents require grad (forward-over-reverse, as ``hessian`` does) they run on tensors
and are recorded like any other operation.
"""
from __future__ import annotations

import weakref
from collections import namedtuple
from typing import Optional

import numpy as np

from . import grad_mode as _gm
from ..ops.primitive import NP, SPECIAL, TN, output_tangent
from ..tensor import Tensor, _wrap

__all__ = ["dual_level", "make_dual", "unpack_dual", "enter_dual_level", "exit_dual_level",
           "UnpackedDualTensor"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])


class _ForwardState:
    level: Optional[int] = None   # the active dual level (PyTorch allows one at a time)
    busy = False                  # True while jvp rules run: their own ops carry no tangents
    duals: list = []              # weakrefs to the tensors given tangents at this level


_FW = _ForwardState()


def _propagate(prim, inputs, params, result: Tensor) -> None:
    """Give ``result`` the tangent the jvp rules compute from its inputs' tangents."""
    if _FW.level is None or _FW.busy or not prim.jvp:  # no jvp: not differentiable (gt, argmax)
        return
    tangents = [x._tangent if isinstance(x, Tensor) else None for x in inputs]
    if all(t is None for t in tangents):
        return
    # the rules run on tensors when their results must be recorded, or seen by vmap's trace
    recorded = SPECIAL.trace_hook is not None or _gm.STATE.enabled and (
        result._requires_grad or any(t is not None and t._requires_grad for t in tangents))
    _FW.busy = True
    try:
        if recorded:  # forward-over-reverse: the tangent must itself be differentiable
            out_t = output_tangent(prim, TN, tangents, result, inputs, params)
        else:
            datas = [x._data if isinstance(x, Tensor) else x for x in inputs]
            raw = [None if t is None else t._data for t in tangents]
            out_t = output_tangent(prim, NP, raw, result._data, datas, params)
            out_t = _wrap(np.asarray(out_t))
    finally:
        _FW.busy = False
    if out_t._data.dtype != result._data.dtype:
        out_t = out_t.to(result.dtype)
    _attach(result, out_t)
    node = result._grad_fn
    if node is not None and node.out_data is not None:
        _attach(node, out_t)  # its vjp reads the output, so the backward pass needs the tangent


def _attach(t: Tensor, tangent: Tensor) -> None:
    t._tangent = tangent
    _FW.duals.append(weakref.ref(t))


class suspended:
    """Inside, operations compute no tangents (a Function's forward, whose jvp is its own)."""

    def __enter__(self) -> None:
        self.prev = _FW.busy
        _FW.busy = True

    def __exit__(self, *exc) -> None:
        _FW.busy = self.prev


def enter_dual_level() -> int:
    """Start a dual level (prefer the ``dual_level()`` context manager)."""
    if _FW.level is not None:
        raise RuntimeError("forward_ad: nested dual levels are not supported (as in PyTorch); "
                           "exit the current dual_level() first")
    _FW.level = 0
    _FW.duals = []
    SPECIAL.active += 1
    SPECIAL.forward_hook = _propagate
    return 0


def exit_dual_level(*, level: Optional[int] = None) -> None:
    """End the dual level: every tensor made inside loses its tangent."""
    if _FW.level is None:
        raise RuntimeError("forward_ad: exit_dual_level() without an active dual level")
    for ref in _FW.duals:
        t = ref()
        if t is not None:
            t._tangent = None
    _FW.duals = []
    _FW.level = None
    SPECIAL.active -= 1
    SPECIAL.forward_hook = None


class dual_level:
    """Context manager for a dual level; tangents live only inside it."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc) -> None:
        exit_dual_level()


def make_dual(tensor: Tensor, tangent: Tensor, *, level: Optional[int] = None) -> Tensor:
    """A tensor with ``tensor``'s values (and graph) that carries ``tangent``."""
    if _FW.level is None:
        raise RuntimeError("make_dual: no dual level is active; use it inside "
                           "`with forward_ad.dual_level():`")
    if not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: the tangent must be a Tensor, got {type(tangent).__name__}")
    if tangent._data.shape != tensor._data.shape:
        raise RuntimeError(
            f"make_dual: expected the tangent to have the primal's shape {list(tensor.shape)}, "
            f"got {list(tangent.shape)}")
    if tensor._data.dtype.kind != "f":
        raise ValueError(f"make_dual: expected a floating point primal, got {tensor.dtype}")
    if tangent._data.dtype != tensor._data.dtype:
        tangent = tangent.to(tensor.dtype)
    if tensor._requires_grad and tensor._grad_fn is None and _gm.STATE.enabled:
        # a leaf: an alias would be another leaf that gradients never reach, so the dual is
        # a recorded view of it (as in PyTorch)
        from ..ops.shape import reshape
        with suspended():
            tensor = reshape(tensor, tensor._data.shape)
    # an alias: same memory, version counter and graph position, plus the tangent
    dual = _wrap(tensor._data, tensor._requires_grad, tensor._grad_fn)
    dual._vbox = tensor._vbox
    _attach(dual, tangent)
    return dual


def unpack_dual(tensor: Tensor, *, level: Optional[int] = None) -> UnpackedDualTensor:
    """``(primal, tangent)``; the tangent is None when the tensor carries none."""
    primal = _wrap(tensor._data, tensor._requires_grad, tensor._grad_fn)
    primal._vbox = tensor._vbox
    return UnpackedDualTensor(primal, tensor._tangent)
