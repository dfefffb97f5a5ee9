"""Function transforms with JAX's names, as ``torch.func`` has them.

``grad``, ``value_and_grad`` / ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian``, ``linearize`` and ``jacobian(f, x, mode="auto")``.  Arguments and results
may be nested tuples, lists and dicts of tensors (see :mod:`chainrule.func._pytree`).

How they work on this engine
----------------------------
*Reverse mode* (``grad``, ``vjp``, ``jacrev``): each differentiated input ``x`` is
replaced by a fresh tensor ``x_`` that the engine can aim at: ``x.detach().requires_grad_()``
when ``x`` needs no gradient, else a recorded view of ``x`` (so that an outer transform
still sees the path back to ``x``, and an inner gradient does not pick up the uses of
``x`` that ``f`` makes through closures: no perturbation confusion).  A forward tangent
that ``x`` carries (an outer ``jvp``/``jacfwd``) goes along.  ``f`` runs under
``enable_grad()``, then :func:`chainrule.autograd.grad` pulls the cotangent back.  The
backward pass is itself recorded (``create_graph=True``) only when something outside
could differentiate the result: an input that requires grad, a tangent that requires
grad, a tensor reached from ``f``'s graph that is not one of our inputs (a closure over
an outer transform's variable), or a batching transform in effect.  Otherwise the pass
runs at NumPy speed and the results are plain tensors.

*Forward mode* (``jvp``, ``jacfwd``): true forward mode through
:mod:`chainrule.autograd.forward_ad`, each primitive's jvp rule carrying the tangent in the
same pass.  The forward-mode engine has one dual level at a time (as PyTorch), so a
``jvp`` called while a dual level is already active (``jacfwd(jacfwd(f))``, ``jvp`` of a
``jvp``) computes its inner Jacobian-vector product by reverse mode instead, with the
transpose trick: ``J v`` is the vjp, at cotangent ``v``, of the linear map ``u -> J^T u``.
The outer level's tangents flow through both of those backward passes, so the result is
exact; it costs two backward passes instead of one forward pass.

``hessian(f) = jacfwd(jacrev(f))``: forward-over-reverse, the tangents of the outer
``jvp`` flowing through the inner backward pass (Hessian-vector products row by row).

Jacobian rows are computed by :func:`_map_rows`, which batches the basis vectors with
``vmap`` (all rows in one pass through each primitive).
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..autograd import forward_ad as _fwad
from ..autograd import grad_mode as _gm
from ..autograd.engine import grad as _engine_grad
from ..autograd.graph import Node
from ..tensor import Tensor, _wrap
from ._pytree import TreeSpec, tree_flatten, tree_unflatten

__all__ = ["grad", "value_and_grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian", "linearize", "jacobian"]

logger = logging.getLogger("chainrule.func")

ArgNums = Union[int, Tuple[int, ...]]

# The forward-mode engine's own state: whether a dual level is active.
_FW = _fwad._FW


def _special():
    from ..ops.primitive import SPECIAL
    return SPECIAL


# ----------------------------------------------------------------------------- helpers

# Jacobian rows are batched with vmap (``chainrule.func.vmap``); set to False to loop over
# them in Python instead (for debugging).
_ROWS_BY_VMAP = True


def _map_rows(fn: Callable[[Tensor], Tuple[Tensor, ...]], rows: Tensor) -> Tuple[Tensor, ...]:
    """Apply ``fn`` to each row of ``rows`` (basis vectors) and stack each of its results.

    ``fn(row)`` returns a tuple of tensors; the result is the tuple of their stacks along a
    new first dimension.  This is the one place where jacrev/jacfwd loop over rows: with
    ``_ROWS_BY_VMAP`` set (and ``chainrule.func.vmap`` present) it is ``vmap(fn)(rows)``.
    """
    if _ROWS_BY_VMAP:
        try:
            from .vmap import vmap
        except ImportError:  # not written yet: loop
            pass
        else:
            return tuple(vmap(fn)(rows))
    from ..ops.shape import stack
    n = rows._data.shape[0]
    if n == 0:  # no rows: the shapes of the results still come from fn
        from ..ops.creation import zeros
        probe = fn(zeros(rows._data.shape[1:], dtype=rows.dtype))
        return tuple(zeros((0,) + tuple(p._data.shape), dtype=p.dtype) for p in probe)
    results = [fn(rows[k]) for k in range(n)]
    return tuple(stack([r[i] for r in results]) for i in range(len(results[0])))


def _paths(spec: TreeSpec, prefix: str) -> List[str]:
    """Readable names of a pytree's leaves (``output[0]['w']``), for error messages."""
    if spec.kind == "leaf":
        return [prefix]
    if spec.kind == "none":
        return []
    out: List[str] = []
    keys = spec.context if spec.kind == "dict" else range(len(spec.children))
    for k, child in zip(keys, spec.children):
        out.extend(_paths(child, f"{prefix}[{k!r}]"))
    return out


def _norm_argnums(argnums: ArgNums, nargs: int, who: str) -> Tuple[Tuple[int, ...], bool]:
    """``(positions, single)``: argnums as non-negative positions, checked against ``nargs``."""
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    items = (argnums,) if single else argnums
    if not isinstance(items, tuple) or not items or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in items):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, "
                        f"got {argnums!r}")
    out = []
    for a in items:
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{who}: argnums={argnums!r} is out of range: f was called with {nargs} positional "
                f"argument{'s' if nargs != 1 else ''}, so argnums must lie in "
                f"[{-nargs}, {nargs - 1}]" if nargs else
                f"{who}: argnums={argnums!r} is out of range: f was called without positional "
                "arguments; pass the tensors to differentiate positionally")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums={argnums!r} names the same argument twice")
    return tuple(out), single


def _arg_leaves(args: Sequence[Any], positions: Tuple[int, ...], who: str, what: str = "argument"):
    """Flatten the chosen arguments: ``(leaves, specs, counts)``, each leaf a float Tensor."""
    leaves: List[Tensor] = []
    specs: List[TreeSpec] = []
    counts: List[int] = []
    for i in positions:
        ls, spec = tree_flatten(args[i])
        names = _paths(spec, f"{what} {i}")
        for name, x in zip(names, ls):
            if not isinstance(x, Tensor):
                raise TypeError(f"{who}: {name} must be a Tensor (or a nested tuple/list/dict of "
                                f"Tensors) to be differentiated, got {type(x).__name__}")
            if x._data.dtype.kind != "f":
                raise TypeError(f"{who}: {name} has dtype {x.dtype}; only floating point tensors "
                                "can be differentiated (convert with .double() or .float(), or "
                                "leave it out of argnums)")
        leaves.extend(ls)
        specs.append(spec)
        counts.append(len(ls))
    return leaves, specs, counts


def _rebuild(args: Sequence[Any], positions, specs, counts, leaves: Sequence[Any]) -> list:
    """``args`` with the chosen arguments rebuilt from ``leaves``."""
    args = list(args)
    off = 0
    for i, spec, n in zip(positions, specs, counts):
        args[i] = tree_unflatten(list(leaves[off:off + n]), spec)
        off += n
    return args


def _group(items: Sequence[Any], specs, counts, single: bool) -> Any:
    """Per-input results back into the arguments' structure (one tree, or a tuple of them)."""
    trees = []
    off = 0
    for spec, n in zip(specs, counts):
        trees.append(tree_unflatten(list(items[off:off + n]), spec))
        off += n
    return trees[0] if single else tuple(trees)


def _split_aux(res: Any, has_aux: bool, who: str) -> Tuple[Any, Any]:
    if not has_aux:
        return res, None
    if not isinstance(res, (tuple, list)) or len(res) != 2:
        raise TypeError(f"{who}(f, has_aux=True): f must return a pair (output, aux), got "
                        f"{type(res).__name__}" + (f" of length {len(res)}"
                                                   if isinstance(res, (tuple, list)) else ""))
    return res[0], res[1]


def _out_leaves(out: Any, who: str) -> Tuple[List[Tensor], TreeSpec]:
    leaves, spec = tree_flatten(out)
    if not leaves:
        raise TypeError(f"{who}: f must return a Tensor or a nested tuple/list/dict of Tensors, "
                        f"got {out!r}")
    for name, o in zip(_paths(spec, "output"), leaves):
        if not isinstance(o, Tensor):
            raise TypeError(f"{who}: f must return a Tensor or a nested tuple/list/dict of "
                            f"Tensors, but its {name} is a {type(o).__name__}. Wrap numbers with "
                            "chainrule.tensor(...); return extra values with has_aux=True.")
    return leaves, spec


def _unlink(t: Any) -> Any:
    """A tensor with ``t``'s values cut from the graph, keeping its forward tangent."""
    if not isinstance(t, Tensor) or not t._requires_grad:
        return t
    out = _wrap(t._data)
    if t._tangent is not None and _FW.level is not None:
        out = _fwad.make_dual(out, t._tangent)
    return out


def _prepare_reverse(x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
    """The tensor ``f`` gets in place of ``x`` and the leaf our graph walk stops at."""
    if x._requires_grad:
        with _gm.enable_grad():  # a recorded view: a node of its own, linked to x's graph
            x_ = x.view_as(x)
        if x._tangent is not None and x_._tangent is None and _FW.level is not None:
            x_ = _fwad.make_dual(x_, x._tangent)
        return x_, None
    leaf = _wrap(x._data).requires_grad_()  # (requires_grad_ tells an enclosing vmap)
    leaf._vbox = x._vbox
    if x._tangent is not None and _FW.level is not None:  # an outer jvp's tangent goes along
        with _gm.enable_grad():
            return _fwad.make_dual(leaf, x._tangent), leaf
    return leaf, leaf


def _reaches_foreign(outs: Sequence[Tensor], own: set) -> bool:
    """True if the graph behind ``outs`` reaches a leaf requiring grad other than ``own``."""
    stack = []
    seen = set()
    for o in outs:
        if not o._requires_grad:
            continue
        if o._grad_fn is None:
            if id(o) not in own:
                return True
        else:
            stack.append(o._grad_fn)
    while stack:
        node = stack.pop()
        for e in node.next_edges:
            if e is None:
                continue
            if isinstance(e, Node):
                if id(e) not in seen:
                    seen.add(id(e))
                    stack.append(e)
            elif id(e) not in own:
                return True
    return False


def _other_transform_active() -> bool:
    """A transform other than a forward-mode dual level (vmap) is in effect."""
    special = _special()
    return special.active > (1 if _FW.level is not None else 0)


def _has_rg(t: Any) -> bool:
    return isinstance(t, Tensor) and (t._requires_grad or (
        t._tangent is not None and t._tangent._requires_grad))


# ----------------------------------------------------------------------------- reverse core

class _Reverse:
    """``f`` run once on fresh inputs, ready to pull cotangents back (a vjp in waiting)."""

    __slots__ = ("who", "inputs", "outs", "out_spec", "aux", "need_graph")

    def __init__(self, f: Callable, args: Sequence[Any], kwargs: dict, positions, has_aux: bool,
                 who: str, leaves: List[Tensor], specs, counts) -> None:
        self.who = who
        caller_grad = _gm.STATE.enabled
        prepared = [_prepare_reverse(x) for x in leaves]
        self.inputs = [p[0] for p in prepared]
        own = {id(p[1]) for p in prepared if p[1] is not None}
        new_args = _rebuild(args, positions, specs, counts, self.inputs)
        with _gm.enable_grad():
            res = f(*new_args, **kwargs)
        out, self.aux = _split_aux(res, has_aux, who)
        self.outs, self.out_spec = _out_leaves(out, who)
        self.need_graph = caller_grad and (
            any(_has_rg(x) for x in leaves) or _other_transform_active()
            or _reaches_foreign(self.outs, own))

    def output(self) -> Any:
        """f's output, cut from the graph unless something outside may differentiate it."""
        outs = self.outs if self.need_graph else [_unlink(o) for o in self.outs]
        return tree_unflatten(outs, self.out_spec)

    def aux_output(self) -> Any:
        if self.need_graph:
            return self.aux
        leaves, spec = tree_flatten(self.aux)
        return tree_unflatten([_unlink(a) for a in leaves], spec)

    def pull(self, cotangents: Sequence[Tensor], retain_graph: bool = True,
             force_graph: bool = False) -> List[Tensor]:
        """The inputs' cotangents (flat) for the outputs' ``cotangents`` (flat, checked)."""
        create = self.need_graph or force_graph or any(
            c._requires_grad or c._tangent is not None for c in cotangents)
        outs, cts = [], []
        for o, c in zip(self.outs, cotangents):
            if o._requires_grad:
                outs.append(o)
                cts.append(c)
        if not outs:  # f's output does not depend on the inputs
            return [_wrap(np.zeros_like(x._data)) for x in self.inputs]
        with _gm.enable_grad():
            return list(_engine_grad(outs, self.inputs, cts, retain_graph=retain_graph,
                                     create_graph=create, allow_unused=True,
                                     materialize_grads=True))

    def check_cotangents(self, cotangents: Any, who: str) -> List[Tensor]:
        leaves, spec = tree_flatten(cotangents)
        if spec != self.out_spec:
            raise ValueError(f"{who}: the cotangents must have the structure of f's output, "
                             f"{self.out_spec!r}; got {spec!r}")
        out = []
        for name, c, o in zip(_paths(spec, "cotangents"), leaves, self.outs):
            if not isinstance(c, Tensor):
                raise TypeError(f"{who}: {name} must be a Tensor, got {type(c).__name__}")
            if c._data.shape != o._data.shape:
                raise RuntimeError(f"{who}: {name} has shape {list(c.shape)}, but the matching "
                                   f"output of f has shape {list(o.shape)}; each cotangent must "
                                   "have its output's shape")
            if c._data.dtype != o._data.dtype:
                c = c.to(o.dtype)
            out.append(c)
        return out


def _scalar_check(out: Any, who: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}(f): f must return a scalar Tensor, got {type(out).__name__}"
                        + (" (with has_aux=True, return (output, aux))"
                           if isinstance(out, (tuple, list)) else ""))
    if out._data.size != 1:
        raise RuntimeError(
            f"{who}(f): f must return a scalar (one-element) Tensor, but its output has shape "
            f"{list(out.shape)}. Reduce it (e.g. .sum()), or use vjp/jacrev for non-scalar "
            "outputs.")
    return out


def _grad_and_value_impl(f: Callable, args, kwargs, argnums: ArgNums, has_aux: bool, who: str):
    positions, single = _norm_argnums(argnums, len(args), who)
    leaves, specs, counts = _arg_leaves(args, positions, who)
    rev = _Reverse(f, args, kwargs, positions, has_aux, who, leaves, specs, counts)
    if rev.out_spec.kind != "leaf":
        _scalar_check(tree_unflatten(rev.outs, rev.out_spec), who)
    out = _scalar_check(rev.outs[0], who)
    one = _wrap(np.ones_like(out._data))
    grads = rev.pull([one], retain_graph=rev.need_graph)
    g = _group(grads, specs, counts, single)
    return g, rev.output(), rev.aux_output()


# ----------------------------------------------------------------------------- public: reverse

def grad(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """The function computing the gradient of scalar-valued ``f`` with respect to the
    arguments ``argnums`` (an int, or a tuple giving a tuple of gradients).

    ``grad(f)(x)`` has ``x``'s structure; with ``has_aux=True`` ``f`` returns
    ``(output, aux)`` and ``grad(f)(x)`` returns ``(gradient, aux)``.  Composes with
    itself and the other transforms (``grad(grad(f))`` is the second derivative).
    """
    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        g, _, aux = _grad_and_value_impl(f, args, kwargs, argnums, has_aux, "grad")
        return (g, aux) if has_aux else g
    return grad_f


def value_and_grad(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """Like :func:`grad`, returning ``(value, gradient)`` (JAX's order); with ``has_aux``
    ``((value, aux), gradient)``."""
    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        g, value, aux = _grad_and_value_impl(f, args, kwargs, argnums, has_aux, "value_and_grad")
        return ((value, aux), g) if has_aux else (value, g)
    return value_and_grad_f


def grad_and_value(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """Like :func:`grad`, returning ``(gradient, value)`` (``torch.func``'s order); with
    ``has_aux`` ``(gradient, (value, aux))``."""
    @functools.wraps(f)
    def grad_and_value_f(*args: Any, **kwargs: Any) -> Any:
        g, value, aux = _grad_and_value_impl(f, args, kwargs, argnums, has_aux, "grad_and_value")
        return (g, (value, aux)) if has_aux else (g, value)
    return grad_and_value_f


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(output, vjp_fn)``, or ``(output, vjp_fn, aux)`` with ``has_aux=True``.

    ``vjp_fn(cotangents)`` (cotangents shaped like ``f``'s output) returns a tuple with
    one entry per primal: the vector-Jacobian product.  It may be called many times.
    """
    positions = tuple(range(len(primals)))
    leaves, specs, counts = _arg_leaves(primals, positions, "vjp", "primals")
    rev = _Reverse(f, primals, {}, positions, has_aux, "vjp", leaves, specs, counts)

    def vjp_fn(*cotangents: Any) -> tuple:
        """The vector-Jacobian product for ``cotangents`` (shaped like f's output)."""
        ct = cotangents[0] if len(cotangents) == 1 else tuple(cotangents)
        cts = rev.check_cotangents(ct, "vjp_fn")
        grads = rev.pull(cts)
        return tuple(_group(grads, specs, counts, False))

    out = rev.output()
    return (out, vjp_fn, rev.aux_output()) if has_aux else (out, vjp_fn)


# ----------------------------------------------------------------------------- forward core

def _check_tangents(primal_leaves: List[Tensor], p_spec: TreeSpec, tangents: Any,
                    who: str) -> List[Tensor]:
    t_leaves, t_spec = tree_flatten(tangents)
    if t_spec != p_spec:
        raise ValueError(f"{who}: tangents must have the structure of primals, {p_spec!r}; "
                         f"got {t_spec!r}")
    out = []
    for name, p, t in zip(_paths(t_spec, "tangents"), primal_leaves, t_leaves):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
        if t._data.shape != p._data.shape:
            raise RuntimeError(f"{who}: {name} has shape {list(t.shape)}, but the matching primal "
                               f"has shape {list(p.shape)}; each tangent must have its primal's "
                               "shape")
        if t._data.dtype != p._data.dtype:
            t = t.to(p.dtype)
        out.append(t)
    return out


def _jvp_flat(f: Callable, args, kwargs, positions, specs, counts, leaves: List[Tensor],
              tangents: List[Tensor], has_aux: bool, who: str):
    """``(out_tree, tangent_leaves, aux)``: f's output and the output tangents (flat)."""
    if _FW.level is None:
        with _fwad.dual_level():
            duals = [_fwad.make_dual(x, t) for x, t in zip(leaves, tangents)]
            res = f(*_rebuild(args, positions, specs, counts, duals), **kwargs)
            out, aux = _split_aux(res, has_aux, who)
            outs, spec = _out_leaves(out, who)
            primals, tans = [], []
            for o in outs:
                t = o._tangent
                primals.append(o if t is None else _fwad.unpack_dual(o).primal)
                tans.append(_wrap(np.zeros_like(o._data)) if t is None else t)
            aux_leaves, aux_spec = tree_flatten(aux)
            aux = tree_unflatten([_fwad.unpack_dual(a).primal if isinstance(a, Tensor) else a
                                  for a in aux_leaves], aux_spec)
        return tree_unflatten(primals, spec), tans, aux
    # A dual level is already active and forward_ad has one level at a time: J v by reverse
    # mode, as the vjp at cotangent v of the linear map u -> J^T u (the outer tangents flow
    # through both backward passes).
    rev = _Reverse(f, args, kwargs, positions, has_aux, who, leaves, specs, counts)
    us = [_wrap(np.zeros_like(o._data)).requires_grad_() for o in rev.outs]
    gs = rev.pull(us, force_graph=True)
    pairs = [(g, t) for g, t in zip(gs, tangents) if g._requires_grad]
    if not pairs:
        tans = [_wrap(np.zeros_like(o._data)) for o in rev.outs]
    else:
        create = rev.need_graph or any(t._requires_grad or t._tangent is not None
                                       for _, t in pairs)
        with _gm.enable_grad():
            tans = list(_engine_grad([g for g, _ in pairs], us, [t for _, t in pairs],
                                     create_graph=create, allow_unused=True,
                                     materialize_grads=True))
    return rev.output(), tans, rev.aux_output()


# ----------------------------------------------------------------------------- public: forward

def jvp(f: Callable, primals: Any, tangents: Any, has_aux: bool = False) -> tuple:
    """``(output, jvp_out)``: ``f(*primals)`` and its Jacobian-vector product with
    ``tangents`` (the same structure as ``primals``), by true forward mode: one pass.

    With ``has_aux=True`` ``f`` returns ``(output, aux)`` and ``jvp`` returns
    ``(output, jvp_out, aux)``.
    """
    if isinstance(primals, Tensor):
        primals = (primals,)
    if isinstance(tangents, Tensor):
        tangents = (tangents,)
    if not isinstance(primals, (tuple, list)):
        raise TypeError(f"jvp: primals must be a tuple of Tensors (the arguments of f), "
                        f"got {type(primals).__name__}")
    if not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: tangents must be a tuple of Tensors (one per primal), "
                        f"got {type(tangents).__name__}")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals and {len(tangents)} tangents; pass "
                         "one tangent per primal")
    positions = tuple(range(len(primals)))
    leaves, specs, counts = _arg_leaves(primals, positions, "jvp", "primals")
    tans = _check_tangents(leaves, tree_flatten(primals)[1], tangents, "jvp")
    out, tan_leaves, aux = _jvp_flat(f, primals, {}, positions, specs, counts, leaves, tans,
                                     has_aux, "jvp")
    tan_out = tree_unflatten(tan_leaves, tree_flatten(out)[1])
    return (out, tan_out, aux) if has_aux else (out, tan_out)


def linearize(f: Callable, *primals: Any) -> Tuple[Any, Callable]:
    """``(output, jvp_fn)``: ``f(*primals)`` and the function ``jvp_fn(*tangents)`` giving
    the Jacobian-vector product at ``primals`` (as ``torch.func.linearize``).

    Each ``jvp_fn`` call is one forward-mode pass through ``f`` at the saved primals.
    """
    positions = tuple(range(len(primals)))
    leaves, specs, counts = _arg_leaves(primals, positions, "linearize", "primals")
    p_spec = tree_flatten(primals)[1]
    out = f(*primals)
    out_spec = _out_leaves(out, "linearize")[1]

    def jvp_fn(*tangents: Any) -> Any:
        """The Jacobian-vector product of f at the linearization point with ``tangents``."""
        if len(tangents) != len(primals):
            raise ValueError(f"linearize's jvp_fn: got {len(tangents)} tangents for "
                             f"{len(primals)} primals; pass one tangent per primal")
        tans = _check_tangents(leaves, p_spec, tuple(tangents), "linearize's jvp_fn")
        _, tan_leaves, _ = _jvp_flat(f, primals, {}, positions, specs, counts, leaves, tans,
                                     False, "linearize")
        return tree_unflatten(tan_leaves, out_spec)

    return out, jvp_fn


# ----------------------------------------------------------------------------- jacobians

def _eye(n: int, dtype) -> Tensor:
    return _wrap(np.eye(n, dtype=dtype))


def _blocks(stacked: Sequence[Tensor], outs: Sequence[Tensor], ins: Sequence[Tensor],
            rows_are_outputs: bool) -> List[List[Tensor]]:
    """Cut the stacked rows into the Jacobian blocks ``J[j][i]`` (output j, input i) of
    shape ``out_j.shape + in_i.shape``."""
    blocks = [[None] * len(ins) for _ in outs]
    if rows_are_outputs:  # stacked[i]: (m_total, n_i), one row per output element
        for i, (s, x) in enumerate(zip(stacked, ins)):
            off = 0
            for j, o in enumerate(outs):
                m = o._data.size
                part = s if len(outs) == 1 else s[off:off + m]
                blocks[j][i] = part.reshape(tuple(o._data.shape) + tuple(x._data.shape))
                off += m
    else:  # stacked[j]: (n_total, m_j), one row per input element
        for j, (s, o) in enumerate(zip(stacked, outs)):
            off = 0
            for i, x in enumerate(ins):
                n = x._data.size
                part = s if len(ins) == 1 else s[off:off + n]
                part = part.permute(1, 0) if part._data.ndim == 2 else part
                blocks[j][i] = part.reshape(tuple(o._data.shape) + tuple(x._data.shape))
                off += n
    return blocks


def _jac_tree(blocks, out_spec: TreeSpec, specs, counts, single: bool) -> Any:
    per_out = [_group(row, specs, counts, single) for row in blocks]
    return tree_unflatten(per_out, out_spec)


def _jacrev_from(rev: _Reverse, leaves, specs, counts, single: bool) -> Any:
    outs = rev.outs
    sizes = [o._data.size for o in outs]
    dtype = np.result_type(*[o._data.dtype for o in outs])

    def row_vjp(row: Tensor) -> Tuple[Tensor, ...]:
        cts, off = [], 0
        for o, m in zip(outs, sizes):
            part = row if len(outs) == 1 else row[off:off + m]
            part = part.reshape(o._data.shape)
            cts.append(part if part._data.dtype == o._data.dtype else part.to(o.dtype))
            off += m
        return tuple(g.reshape(-1) for g in rev.pull(cts))

    if sum(sizes) == 1:  # one output element (a gradient): one row, no basis to map over
        stacked = tuple(g.reshape(1, -1) for g in row_vjp(_wrap(np.ones(1, dtype))))
    else:
        stacked = _map_rows(row_vjp, _eye(sum(sizes), dtype))
    return _jac_tree(_blocks(stacked, outs, rev.inputs, True), rev.out_spec, specs, counts,
                     single)


def _jacfwd_impl(f: Callable, args, kwargs, positions, single, leaves, specs, counts,
                 has_aux: bool, who: str):
    sizes = [x._data.size for x in leaves]
    dtype = np.result_type(*[x._data.dtype for x in leaves])
    first: dict = {}

    def row_jvp(row: Tensor) -> Tuple[Tensor, ...]:
        tans, off = [], 0
        for x, n in zip(leaves, sizes):
            part = row if len(leaves) == 1 else row[off:off + n]
            part = part.reshape(x._data.shape)
            tans.append(part if part._data.dtype == x._data.dtype else part.to(x.dtype))
            off += n
        out, tan_leaves, aux = _jvp_flat(f, args, kwargs, positions, specs, counts, leaves, tans,
                                         has_aux, who)
        if not first:
            first["out"], first["aux"] = out, aux
        return tuple(t.reshape(-1) for t in tan_leaves)

    stacked = _map_rows(row_jvp, _eye(sum(sizes), dtype))
    outs, out_spec = tree_flatten(first["out"])
    jac = _jac_tree(_blocks(stacked, outs, leaves, False), out_spec, specs, counts, single)
    return (jac, first["aux"]) if has_aux else jac


def jacrev(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """The function computing the Jacobian of ``f`` by reverse mode: one vjp per output
    element (one forward pass, then one backward pass per row).

    For an output of shape ``(m...)`` and an input of shape ``(n...)`` the Jacobian has
    shape ``(m..., n...)``; for pytree outputs each leaf holds the Jacobian with respect to
    the ``argnums`` argument(s).  With ``has_aux=True`` returns ``(jacobian, aux)``.
    """
    @functools.wraps(f)
    def jacrev_f(*args: Any, **kwargs: Any) -> Any:
        positions, single = _norm_argnums(argnums, len(args), "jacrev")
        leaves, specs, counts = _arg_leaves(args, positions, "jacrev")
        rev = _Reverse(f, args, kwargs, positions, has_aux, "jacrev", leaves, specs, counts)
        jac = _jacrev_from(rev, leaves, specs, counts, single)
        return (jac, rev.aux_output()) if has_aux else jac
    return jacrev_f


def jacfwd(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> Callable:
    """The function computing the Jacobian of ``f`` by forward mode: one jvp per input
    element (one forward pass carrying one tangent each).  Same result layout as
    :func:`jacrev`.  With ``has_aux=True`` returns ``(jacobian, aux)``.
    """
    @functools.wraps(f)
    def jacfwd_f(*args: Any, **kwargs: Any) -> Any:
        positions, single = _norm_argnums(argnums, len(args), "jacfwd")
        leaves, specs, counts = _arg_leaves(args, positions, "jacfwd")
        return _jacfwd_impl(f, args, kwargs, positions, single, leaves, specs, counts, has_aux,
                            "jacfwd")
    return jacfwd_f


def hessian(f: Callable, argnums: ArgNums = 0) -> Callable:
    """The Hessian of scalar-valued ``f``: ``jacfwd(jacrev(f))``, forward-over-reverse.

    For an input of shape ``(n...)`` the result has shape ``(n..., n...)``.
    """
    return jacfwd(jacrev(f, argnums), argnums)


def jacobian(f: Callable, inputs: Any, mode: str = "auto") -> Any:
    """The Jacobian of ``f`` at ``inputs``, by forward or reverse mode.

    ``inputs`` is a tensor (``f(inputs)``) or a tuple of tensors (``f(*inputs)``, giving a
    tuple of Jacobians, one per input, as ``torch.autograd.functional.jacobian``).
    ``mode="auto"`` picks forward mode when ``f`` has fewer input elements than output
    elements (fewer jvps than vjps) and reverse mode otherwise, and logs its choice at
    DEBUG level on the ``chainrule.func`` logger; ``"forward"``/``"reverse"`` force one.
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r}")
    as_tuple = isinstance(inputs, (tuple, list))
    args = tuple(inputs) if as_tuple else (inputs,)
    if as_tuple and not args:
        raise ValueError("jacobian: inputs is an empty tuple; pass the tensors to differentiate")
    positions = tuple(range(len(args))) if as_tuple else (0,)
    single = not as_tuple
    leaves, specs, counts = _arg_leaves(args, positions, "jacobian", "input")
    if mode == "forward":
        return _jacfwd_impl(f, args, {}, positions, single, leaves, specs, counts, False,
                            "jacobian")
    # the reverse pass starts with one recorded forward pass, which also counts the outputs
    rev = _Reverse(f, args, {}, positions, False, "jacobian", leaves, specs, counts)
    if mode == "auto":
        n_in = sum(x._data.size for x in leaves)
        n_out = sum(o._data.size for o in rev.outs)
        chosen = "forward" if n_in < n_out else "reverse"
        logger.debug("jacobian: %d input elements, %d output elements: %s mode (%s)", n_in, n_out,
                     chosen, "jacfwd, one jvp per input element" if chosen == "forward"
                     else "jacrev, one vjp per output element")
        if chosen == "forward":
            del rev
            return _jacfwd_impl(f, args, {}, positions, single, leaves, specs, counts, False,
                                "jacobian")
    return _jacrev_from(rev, leaves, specs, counts, single)
