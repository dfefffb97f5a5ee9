"""User-defined differentiable operations, as ``torch.autograd.Function``::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y

    y = Exp.apply(x)

Each subclass gets its own Primitive (not in the library's registry) whose rule calls the
user's ``backward`` once per node and hands out the per-input gradients.  ``backward``
runs on tensors; with ``create_graph=True`` its operations are recorded, so a
``backward`` written with chainrule operations can be differentiated again.
A ``jvp(ctx, *tangents)`` static method, when given, is used by forward mode.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import grad_mode as _gm
from .graph import Node
from ..ops.primitive import SPECIAL
from ..tensor import Tensor, _wrap

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class FunctionCtx:
    """The ``ctx`` passed to ``forward`` and ``backward``."""

    def __init__(self) -> None:
        self._saved = ()
        self._saved_versions = ()
        self._freed = False
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._non_differentiable = set()
        self._cached_for = None
        self._cached = None
        self._input_shapes: tuple = ()
        self._saved_out = None  # (forward's output, weakref to its node) when it was saved

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward`` (in-place changes to them are detected)."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save tensors (or None); store other "
                                f"values as attributes of ctx, got {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(t._vbox[0] if t is not None else 0 for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            from .engine import _FREED_MESSAGE
            raise RuntimeError(_FREED_MESSAGE)
        for t, v in zip(self._saved, self._saved_versions):
            if t is not None and t._vbox[0] != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: a tensor of shape {list(t.shape)} saved with "
                    f"save_for_backward is at version {t._vbox[0]}; expected version {v} instead. "
                    "Hint: clone() it before modifying it, or use an out-of-place op.")
        if self._saved_out is not None and _gm.STATE.enabled:
            # a saved output is handed back with its grad_fn, so that a backward recorded with
            # create_graph=True sees that it depends on the inputs (as in PyTorch)
            out, node = self._saved_out[0], self._saved_out[1]()
            if node is not None:
                res = _wrap(out._data, True, node)
                res._vbox = out._vbox
                return tuple(res if t is out else t for t in self._saved)
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility; chainrule copies forward's output anyway."""

    def _free(self) -> None:
        self._saved = ()
        self._saved_out = None
        self._freed = True


def _function_vjp(F, g, out, *inputs, index, ctx, cls):
    # the engine asks once per input; call the user's backward once per node
    if ctx._cached_for is not g:
        grad_out = g if isinstance(g, Tensor) else _wrap(np.asarray(g))
        grads = cls.backward(ctx, grad_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) < len(ctx.needs_input_grad):
            raise RuntimeError(
                f"function {cls.__name__}.backward returned an incorrect number of gradients "
                f"(expected {len(ctx.needs_input_grad)}, got {len(grads)}): return one per "
                "forward input, None for inputs that need none")
        ctx._cached_for, ctx._cached = g, grads
    gi = ctx._cached[index]
    if gi is None:
        gi = _wrap(np.zeros(ctx._input_shapes[index], np.asarray(F.value(g)).dtype))
    if not isinstance(gi, Tensor):
        gi = _wrap(np.asarray(gi))
    return gi if isinstance(g, Tensor) else gi._data


def _function_jvp(F, t, out, *inputs, index, ctx, cls):
    if not hasattr(cls, "jvp") or cls.jvp is Function.jvp:
        raise RuntimeError(f"{cls.__name__} has no jvp staticmethod, so forward-mode AD cannot "
                           "go through it; define jvp(ctx, *tangents)")
    # one input's tangent at a time, zeros for the others: the contributions add up (jvp is linear)
    tangents = [None if not isinstance(x, Tensor) else _wrap(np.zeros_like(F.value(x)))
                for x in inputs]
    tangents[index] = t if isinstance(t, Tensor) else _wrap(np.asarray(t))
    r = cls.jvp(ctx, *tangents)
    return r if isinstance(t, Tensor) else r._data


class Function:
    """Base class for operations with a hand-written backward (see the module docstring)."""

    _prim = None

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError("Function subclasses must define backward(ctx, *grad_outputs)")

    @staticmethod
    def jvp(ctx: FunctionCtx, *grad_inputs: Tensor) -> Any:
        raise NotImplementedError

    @classmethod
    def _primitive(cls):
        if cls.__dict__.get("_prim") is None:
            from ..ops.primitive import Primitive
            cls._prim = Primitive(cls.__name__, None, vjp=_function_vjp, jvp=_function_jvp,
                                  save_inputs=False, variadic=True, register=False,
                                  node_name=cls.__name__ + "Backward")
        return cls._prim

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` without recording and record one node whose backward is ours."""
        ctx = FunctionCtx()
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.needs_input_grad = needs  # forward may read it too, as in PyTorch
        forward_mode = SPECIAL.forward_hook is not None
        with _gm.no_grad():
            if forward_mode:  # the output's tangent comes from cls.jvp, not from forward's ops
                from .forward_ad import suspended
                with suspended():
                    out = cls.forward(ctx, *args, **kwargs)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        if isinstance(out, tuple):
            raise NotImplementedError(
                f"{cls.__name__}.forward returned {len(out)} outputs; chainrule Functions have one "
                "output tensor. Split it into several Functions, or return one tensor and index it.")
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out).__name__}")
        ctx._input_shapes = tuple(a._data.shape if isinstance(a, Tensor) else () for a in args)
        if not (_gm.STATE.enabled and any(needs)) or id(out) in ctx._non_differentiable:
            result = out if out._grad_fn is None else _wrap(out._data)
            if forward_mode and id(out) not in ctx._non_differentiable:
                SPECIAL.forward_hook(cls._primitive(), args, {"ctx": ctx, "cls": cls}, result)
            if SPECIAL.trace_hook is not None:  # vmap: replayed example by example
                SPECIAL.trace_hook(cls._primitive(), args, {"ctx": ctx, "cls": cls}, result)
            return result
        edges = tuple((a._grad_fn or a) if n else None for a, n in zip(args, needs))
        node = Node(cls._primitive(), edges, {"ctx": ctx, "cls": cls},
                    out_shape=out._data.shape, out_dtype=out._data.dtype)
        result = _wrap(out._data, True, node)
        result._vbox = out._vbox
        from ..ops.primitive import _ANOMALY
        if _ANOMALY.enabled:
            _ANOMALY.record(node)
        if any(t is out for t in ctx._saved):  # the node only weakly: ctx -> node is a cycle
            import weakref
            ctx._saved_out = (out, weakref.ref(node))
        if forward_mode:
            SPECIAL.forward_hook(node.prim, args, node.params, result)
        if SPECIAL.trace_hook is not None:  # vmap: replayed example by example
            SPECIAL.trace_hook(node.prim, args, node.params, result)
        return result


def once_differentiable(fn):
    """Decorator for ``backward``: marks it as not differentiable again (accepted as is)."""
    return fn
