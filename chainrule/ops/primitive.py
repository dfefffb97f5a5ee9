"""The table of primitives and the one function that runs and records them.

A :class:`Primitive` puts three things side by side:

- ``forward(*arrays, **params)``: NumPy arrays in, a NumPy array out;
- ``vjp``: one rule per differentiable input, ``rule(F, g, out, *inputs, **params)``,
  giving that input's cotangent from the output's cotangent ``g``;
- ``jvp``: one rule per differentiable input, ``rule(F, t, out, *inputs, **params)``,
  giving that input's contribution to the output's tangent from its tangent ``t``.

Rules are written once against a namespace ``F`` and operators (``+ - * /``).  During an
ordinary backward pass ``F`` is :data:`NP` and the values are NumPy arrays, so a rule costs
what the NumPy calls cost.  With ``create_graph=True`` ``F`` is :data:`TN` and the values
are chainrule tensors, so the backward pass is itself recorded and can be differentiated.

Broadcasting binary primitives set ``broadcasts=True``: the engine sums their cotangents
back to each input's shape, so the rules never deal with it.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import math
import weakref

import numpy as np

from ..autograd import grad_mode as _gm
from .._special import SPECIAL
from ..autograd.graph import Node
from ..tensor import Tensor, _wrap

__all__ = ["Primitive", "REGISTRY", "SPECIAL", "apply", "apply_unary", "apply_binary", "output_tangent",
           "NP", "TN"]

_STATE = _gm.STATE

REGISTRY: dict[str, "Primitive"] = {}


class Primitive:
    """One differentiable operation: forward, vjp rules and jvp rules."""

    __slots__ = ("name", "forward", "vjp", "jvp", "save_inputs", "save_out", "node_name",
                 "broadcasts", "view", "differentiable", "second_order", "error_hint",
                 "variadic")

    def __init__(self, name: str, forward: Callable, vjp: Sequence[Optional[Callable]] = (),
                 jvp: Sequence[Optional[Callable]] = (), *, save_inputs=True,
                 save_out: bool = False, node_name: Optional[str] = None,
                 broadcasts: bool = False, view: bool = False,
                 second_order: bool = True, error_hint: Optional[Callable] = None,
                 variadic: bool = False, register: bool = True) -> None:
        self.name = name
        self.forward = forward
        self.vjp = (vjp,) if callable(vjp) else tuple(vjp)
        self.jvp = (jvp,) if callable(jvp) else tuple(jvp)
        self.save_inputs = save_inputs
        self.save_out = save_out
        self.node_name = node_name or "".join(p.capitalize() for p in name.split("_")) + "Backward0"
        self.broadcasts = broadcasts
        self.view = view
        self.differentiable = bool(self.vjp)
        # False where the second derivative is zero everywhere (add, neg, reshape, ...):
        # the registry test then checks nothing about create_graph beyond it running.
        self.second_order = second_order
        # error_hint(inputs, exc) -> exception with a message specific to this op
        self.error_hint = error_hint
        # variadic primitives (cat, einsum) take any number of inputs and give one rule
        # with the input's position as an extra keyword: rule(F, g, out, *inputs, index=i, ...)
        self.variadic = variadic
        if register:  # user-defined Functions are not part of the library's table
            if name in REGISTRY:
                raise ValueError(f"primitive {name!r} is defined twice")
            REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


_EMPTY: dict = {}
_new = object.__new__


def apply(prim: Primitive, *inputs, **params) -> Tensor:
    """Run ``prim`` on ``inputs`` (tensors, or Python scalars where the primitive allows),
    recording a Node when grad mode is on and some input requires grad."""
    if SPECIAL.active:
        return _apply_special(prim, inputs, params)
    return _apply_plain(prim, inputs, params)


def _apply_special(prim: Primitive, inputs: tuple, params: dict) -> Tensor:
    result = _apply_plain(prim, inputs, params)
    if SPECIAL.forward_hook is not None:
        SPECIAL.forward_hook(prim, inputs, params, result)
    if SPECIAL.trace_hook is not None:
        SPECIAL.trace_hook(prim, inputs, params, result)
    return result


def apply_one(prim: Primitive, x: Tensor, params: dict) -> Tensor:
    """``apply`` for one tensor input and a dict of parameters (sum, reshape, clamp...)."""
    if SPECIAL.active:
        return _apply_special(prim, (x,), params)
    return _apply_one_plain(prim, x, params)


def _apply_one_plain(prim: Primitive, x: Tensor, params: dict) -> Tensor:
    try:
        out = prim.forward(x._data, **params)
    except (ValueError, IndexError) as exc:
        raise _forward_error(prim, (x,), exc) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t._data = out
    t._vbox = [0]
    if x._requires_grad and _STATE.enabled and prim.vjp:
        node = _new(Node)  # built inline, as in apply_binary
        node.prim = prim
        node.next_edges = (x._grad_fn or x,)
        node.params = params
        node.shapes = None
        node.out_shape = out.shape
        node.out_dtype = out.dtype
        if prim.save_inputs:
            node.saved = (x,)
            node.saved_data = (x._data,)
            node.saved_versions = ((x._vbox, x._vbox[0]),)
        else:
            node.saved = node.saved_data = node.saved_versions = None
        if prim.save_out:
            node.out_data = out
            node.out_vbox = t._vbox
        else:
            node.out_data = node.out_vbox = None
        if _ANOMALY.enabled:
            _ANOMALY.record(node)
        t._requires_grad = True
        t._grad_fn = node
    else:
        t._requires_grad = False
        t._grad_fn = None
    if prim.view:
        _mark_view(t, x, prim, params)
    return t


def _apply_plain(prim: Primitive, inputs: tuple, params: dict) -> Tensor:
    if len(inputs) == 1 and isinstance(inputs[0], Tensor):  # sum, reshape, clamp...: short way
        return _apply_one_plain(prim, inputs[0], params)
    datas = [x._data if isinstance(x, Tensor) else x for x in inputs]
    try:
        out = prim.forward(*datas, **params)
    except (ValueError, IndexError) as exc:
        raise _forward_error(prim, inputs, exc) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if _STATE.enabled and prim.vjp:
        edges = None
        for i, x in enumerate(inputs):
            if isinstance(x, Tensor) and x._requires_grad:
                if edges is None:
                    edges = [None] * len(inputs)
                edges[i] = x._grad_fn or x
        if edges is not None:
            return _record(prim, out, inputs, tuple(edges), params)
    result = _wrap(out)
    if prim.view and isinstance(inputs[0], Tensor):
        _mark_view(result, inputs[0], prim, params)
    return result


def apply_unary(prim: Primitive, x: Tensor) -> Tensor:
    """``apply`` for a one-input primitive without parameters (the hot path of math ops)."""
    if SPECIAL.active:
        return _apply_special(prim, (x,), _EMPTY)
    out = prim.forward(x._data)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if x._requires_grad and _STATE.enabled:
        return _record(prim, out, (x,), (x._grad_fn or x,), _EMPTY)
    t = _new(Tensor)
    t._data = out
    t._requires_grad = False
    t._grad_fn = None
    t._vbox = [0]
    return t


def apply_binary(prim: Primitive, a: Tensor, b) -> Tensor:
    """``apply`` for two already-promoted operands, ``a`` a tensor and ``b`` a tensor or a
    Python scalar, without parameters (the hot path of arithmetic)."""
    if SPECIAL.active:
        return _apply_special(prim, (a, b), _EMPTY)
    if isinstance(b, Tensor):
        try:
            out = prim.forward(a._data, b._data)
        except ValueError as exc:
            raise _forward_error(prim, (a, b), exc) from None
        b_req = b._requires_grad
    else:
        out = prim.forward(a._data, b)
        b_req = False
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t._data = out
    t._vbox = [0]
    if (a._requires_grad or b_req) and _STATE.enabled:
        # the Node, built inline: this runs once per recorded arithmetic operation
        node = _new(Node)
        node.prim = prim
        node.next_edges = ((a._grad_fn or a) if a._requires_grad else None,
                           (b._grad_fn or b) if b_req else None)
        node.params = _EMPTY
        b_is_t = isinstance(b, Tensor)
        if prim.save_inputs:
            node.saved = (a, b)
            if b_is_t:
                node.saved_data = (a._data, b._data)
                node.saved_versions = ((a._vbox, a._vbox[0]), (b._vbox, b._vbox[0]))
            else:
                node.saved_data = (a._data, b)
                node.saved_versions = ((a._vbox, a._vbox[0]),)
        else:
            node.saved = None
            node.saved_data = None
            node.saved_versions = None
        node.shapes = (a._data.shape, b._data.shape if b_is_t else ())
        node.out_shape = out.shape
        node.out_dtype = out.dtype
        if prim.save_out:
            node.out_data = out
            node.out_vbox = t._vbox
        else:
            node.out_data = None
            node.out_vbox = None
        if _ANOMALY.enabled:
            _ANOMALY.record(node)
        t._requires_grad = True
        t._grad_fn = node
        return t
    t._requires_grad = False
    t._grad_fn = None
    return t


def _record(prim: Primitive, out: np.ndarray, inputs: tuple, edges: tuple, params: dict) -> Tensor:
    """Wrap ``out`` in a tensor whose grad_fn is a new Node for ``prim``."""
    node = _new(Node)
    node.prim = prim
    node.next_edges = edges
    node.params = params
    node.shapes = tuple([x._data.shape if isinstance(x, Tensor) else () for x in inputs]) \
        if prim.broadcasts else None
    node.out_shape = out.shape
    node.out_dtype = out.dtype
    save = prim.save_inputs
    if save:
        saved = inputs if save is True else tuple(  # only some inputs are needed by the rules
            x if i in save else None for i, x in enumerate(inputs))
        node.saved = saved
        node.saved_data = tuple([x._data if isinstance(x, Tensor) else x for x in saved])
        node.saved_versions = tuple([(x._vbox, x._vbox[0]) for x in saved if isinstance(x, Tensor)])
    else:
        node.saved = None
        node.saved_data = None
        node.saved_versions = None
    t = _new(Tensor)
    t._data = out
    t._requires_grad = True
    t._grad_fn = node
    vbox = t._vbox = [0]
    if prim.save_out:
        node.out_data = out
        node.out_vbox = vbox
    else:
        node.out_data = None
        node.out_vbox = None
    if prim.view:
        _mark_view(t, inputs[0], prim, params)
    if _ANOMALY.enabled:
        _ANOMALY.record(node)
    return t


def output_tangent(prim: Primitive, F, tangents, out, inputs, params):
    """The output's tangent: the sum of each input's jvp contribution (None = no tangent).

    ``out`` and ``inputs`` are raw arrays for ``F = NP`` and tensors for ``F = TN``.
    """
    total = None
    shape = tuple(out.shape)
    for i, t in enumerate(tangents):
        if t is None:
            continue
        if prim.variadic:
            c = prim.jvp[0](F, t, out, *inputs, index=i, **params)
        else:
            c = prim.jvp[i](F, t, out, *inputs, **params)
        if tuple(c.shape) != shape:
            c = F.expand(c, shape)
        total = c if total is None else total + c
    return total


def _shape_str(x) -> str:
    return str(list(x._data.shape)) if isinstance(x, Tensor) else f"scalar {x!r}"


class ShapeError(RuntimeError, ValueError):
    """Operands whose shapes do not fit: a RuntimeError as in PyTorch, and a ValueError as in
    NumPy, so that either kind of ``except`` catches it."""


def broadcast_error(op_name: str, a, b) -> ShapeError:
    """The error for operands whose shapes do not broadcast."""
    return ShapeError(
        f"{op_name}: the shapes {_shape_str(a)} and {_shape_str(b)} cannot be broadcast together: "
        "each trailing dimension must be equal or 1. Use reshape()/unsqueeze() to line the "
        "dimensions up, or check which operand has the wrong shape.")


def _forward_error(prim: "Primitive", inputs, exc: Exception) -> Exception:
    """Turn NumPy's message into one that names the op, the shapes and a fix."""
    if prim.broadcasts and len(inputs) >= 2 and "broadcast" in str(exc):
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        if len(tensors) >= 2:
            return broadcast_error(prim.name, tensors[-2], tensors[-1])
    if prim.error_hint is not None:
        return prim.error_hint(inputs, exc)
    shapes = ", ".join(_shape_str(x) for x in inputs if isinstance(x, Tensor))
    return type(exc)(f"{prim.name}: {exc} (input shapes: {shapes})")


def _mark_view(result: Tensor, base: Tensor, prim: "Primitive", params: dict) -> None:
    """Views share memory and the version counter with their base.

    A differentiable view (reshape, permute, basic indexing...) also remembers how it is
    made from the base (``_view_chain``), and the base keeps a weak set of such views:
    when an in-place operation rewrites the base's history, each view's ``grad_fn`` is
    made again from the new history (see ops/inplace.py)."""
    if np.may_share_memory(result._data, base._data):
        result._vbox = base._vbox
        root = base if base._base is None else base._base
        result._base = root
        if prim.vjp:
            parent = base._view_chain if base._base is not None else ()
            if parent is not None:
                result._view_chain = parent + ((prim, params),)
                # a leaf that requires grad cannot be changed in place while recording, so
                # its views never need a new history: skip the bookkeeping for parameters
                if _STATE.enabled and not (root._grad_fn is None and root._requires_grad):
                    views = root._views
                    if views is None:
                        views = root._views = weakref.WeakSet()
                    views.add(result)


class _AnomalyState:
    """Set by ``autograd.detect_anomaly``: each Node then keeps the stack of the call that
    made it (see autograd/anomaly_mode.py)."""
    enabled = False

    @staticmethod
    def record(node: Node) -> None:
        from ..autograd.anomaly_mode import _forward_stack
        node.trace = _forward_stack()


_ANOMALY = _AnomalyState()


# ----------------------------------------------------------------------------
# The two namespaces the rules are written against.
# ----------------------------------------------------------------------------

def np_sum_to(x: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``x`` over the dimensions that broadcasting added or stretched, giving ``shape``."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
    r = np.sum(x, axis=axes, keepdims=True) if axes else x
    return r.reshape(shape) if lead or r.shape != shape else r


def np_expand(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``np.broadcast_to`` without its Python-level overhead for the common cases (a 0-d
    array, or one with the target's rank): a read-only zero-stride view."""
    x = np.asarray(x)
    if x.ndim == 0 and len(shape) < 3 and math.prod(shape) <= 4096:
        out = np.empty(shape, x.dtype)  # small: a real array is cheaper to make than a view
        out.fill(x)
        return out
    if x.ndim == 0 or x.ndim == len(shape):
        if x.shape == shape:
            return x
        strides = (0,) * len(shape) if x.ndim == 0 else tuple(
            0 if n == 1 and m != 1 else st for n, m, st in zip(x.shape, shape, x.strides))
        if x.ndim and any(n != 1 and n != m for n, m in zip(x.shape, shape)):
            return np.broadcast_to(x, shape)  # let NumPy raise its error
        out = np.ndarray(shape, x.dtype, buffer=x, offset=0, strides=strides) if x.flags.c_contiguous \
            else np.broadcast_to(x, shape)
        out.flags.writeable = False
        return out
    return np.broadcast_to(x, shape)


class _NumpyRules:
    """F for the ordinary backward pass: plain NumPy."""
    sum_to = staticmethod(np_sum_to)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    sqrt = staticmethod(np.sqrt)
    sign = staticmethod(np.sign)
    abs = staticmethod(np.abs)
    tanh = staticmethod(np.tanh)
    floor = staticmethod(np.floor)
    where = staticmethod(np.where)
    matmul = staticmethod(np.matmul)
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)

    @staticmethod
    def expand(x, shape):
        return np_expand(x, shape)

    @staticmethod
    def reshape(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def sum(x, dim=None, keepdim=False):
        return np.sum(x, axis=dim, keepdims=keepdim)

    @staticmethod
    def permute(x, axes):
        return np.transpose(x, axes)

    @staticmethod
    def swap_last(x):
        return x.swapaxes(-1, -2)

    @staticmethod
    def pow(x, p):
        return np.power(x, p)

    @staticmethod
    def zeros(shape, like):
        return np.zeros(shape, like.dtype)

    @staticmethod
    def as_mask(cond, like):
        """A 0/1 array of ``like``'s dtype from a boolean condition."""
        return cond.astype(like.dtype)

    @staticmethod
    def value(x):
        """The raw array, whatever mode the rules run in (for non-differentiable helpers)."""
        return x

    @staticmethod
    def lift(array, like):
        """Turn a NumPy array computed from raw values into the mode's value type."""
        return array

    @staticmethod
    def call(prim_name, *args, **params):
        return REGISTRY[prim_name].forward(*args, **params)


class _TensorRules:
    """F for ``create_graph=True`` and forward mode: chainrule's own differentiable ops."""

    @staticmethod
    def value(x):
        return x._data if isinstance(x, Tensor) else x

    @staticmethod
    def lift(array, like):
        return _wrap(np.asarray(array))

    @staticmethod
    def as_mask(cond, like):
        from .elementwise import to_dtype
        return to_dtype(cond, like.dtype)

    @staticmethod
    def zeros(shape, like):
        return _wrap(np.zeros(shape, like._data.dtype))

    @staticmethod
    def call(prim_name, *args, **params):
        return apply(REGISTRY[prim_name], *args, **params)


NP = _NumpyRules
TN = _TensorRules


def _fill_tensor_rules() -> None:
    """Bind TN's functions once the op modules exist (they import this module)."""
    from . import elementwise as ew, reduce as rd, shape as sh, linalg as la
    TN.sum_to = staticmethod(sh.sum_to)
    TN.exp = staticmethod(ew.exp)
    TN.log = staticmethod(ew.log)
    TN.sin = staticmethod(ew.sin)
    TN.cos = staticmethod(ew.cos)
    TN.sqrt = staticmethod(ew.sqrt)
    TN.sign = staticmethod(ew.sign)
    TN.abs = staticmethod(ew.abs)
    TN.tanh = staticmethod(ew.tanh)
    TN.floor = staticmethod(ew.floor)
    TN.where = staticmethod(ew.where)
    TN.matmul = staticmethod(la.matmul)
    TN.zeros_like = staticmethod(lambda x: _wrap(np.zeros_like(x._data)))
    TN.ones_like = staticmethod(lambda x: _wrap(np.ones_like(x._data)))
    TN.expand = staticmethod(sh.expand)
    TN.reshape = staticmethod(sh.reshape)
    TN.sum = staticmethod(lambda x, dim=None, keepdim=False: rd.sum(x, dim, keepdim))
    TN.permute = staticmethod(sh.permute)
    TN.swap_last = staticmethod(lambda x: sh.transpose(x, -1, -2))
    TN.pow = staticmethod(ew.pow)
