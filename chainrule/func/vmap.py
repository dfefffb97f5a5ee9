"""``vmap``: run a function written for one example on a whole batch at once.

How it works
------------
1. *Trace.* ``f`` runs once on the first example of the batch. Every primitive applied
   to a value that depends on the batched inputs is written down (primitive, arguments,
   parameters); values that do not depend on them (parameters, constants) are kept as
   they are.  Whatever ``f`` does inside, including a gradient (``grad``, ``vjp``: the
   backward pass is made of primitives too), ends up in that list.
2. *Replay on the batch.* Each recorded primitive is applied once to the whole batch by
   its batching rule (:mod:`chainrule.func.batching`), not in a Python loop.  The replay
   goes through the ordinary operations, so an outer ``grad``, ``jvp`` or ``vmap`` sees it.

So ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` gives per-example gradients.

Limits, each with a clear error rather than a wrong answer: ``f`` cannot turn a batched
value into a Python value (``.item()``, ``if x > 0:``), index with a batched index tensor,
or make shapes depend on values (``nonzero``).  Random numbers drawn inside ``f`` are the
same for every example.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence, Union

from .._special import SPECIAL
from ..ops.primitive import REGISTRY, apply
from ..tensor import Tensor, _normalize_dim, _wrap
from ._pytree import tree_flatten, tree_unflatten
from .batching import batch_primitive

__all__ = ["vmap"]

InDims = Union[int, None, Sequence[Any]]


class _Trace:
    """The primitives applied to values that depend on the batched inputs."""

    def __init__(self) -> None:
        self.var_of = {}   # id(array) -> variable number (tensors are found by their array)
        self.keep = []     # the traced tensors: keeps their arrays alive, so ids stay unique
        self.eqns = []     # (prim, args, arg_vars, params, out_var)
        # leaves made inside f (grad's inputs): their gradients are unrolled in eqns, so the
        # replay must not record for them again
        self.inner_leaves = set()
        self._inner_only = {}

    def var(self, x) -> Optional[int]:
        return self.var_of.get(id(x._data)) if isinstance(x, Tensor) else None

    def new_var(self, t: Tensor) -> int:
        v = len(self.keep)
        self.keep.append(t)
        self.var_of[id(t._data)] = v
        return v

    # the hooks the operations call while f runs
    def record(self, prim, inputs, params, result) -> None:
        arg_vars = [self.var(x) for x in inputs]
        if all(v is None for v in arg_vars):
            return
        out = self.new_var(result)
        self.eqns.append((prim, tuple(inputs), arg_vars, params, out))

    def is_traced(self, t) -> bool:
        return self.var(t) is not None

    def leaf(self, t: Tensor) -> None:
        self.keep.append(t)
        self.inner_leaves.add(id(t))

    def constant(self, x):
        """A constant for the replay: detached if its graph only leads to leaves made inside
        f (an outer transform cannot want gradients through those)."""
        if not isinstance(x, Tensor) or not x._requires_grad or not self.inner_leaves:
            return x
        if not self._reaches_only_inner(x):
            return x
        out = _wrap(x._data)  # the same values (and trace variable), out of the graph
        out._tangent = x._tangent  # but still carrying an outer jvp's tangent
        return out

    def _reaches_only_inner(self, t: Tensor) -> bool:
        from ..autograd.graph import Node
        root = t._grad_fn if t._grad_fn is not None else t
        hit = self._inner_only.get(id(root))
        if hit is not None:
            return hit
        only_inner, stack, seen = True, [root], set()
        while stack and only_inner:
            e = stack.pop()
            if id(e) in seen:
                continue
            seen.add(id(e))
            if type(e) is Node:
                stack.extend(n for n in e.next_edges if n is not None)
            elif id(e) not in self.inner_leaves:
                only_inner = False
        self._inner_only[id(root)] = only_inner
        return only_inner

    def inplace(self, target: Tensor, result: Tensor) -> None:
        """``target`` was overwritten with ``result``'s values: it now stands for them."""
        v = self.var(result)
        if v is not None:
            self.keep.append(target)
            self.var_of[id(target._data)] = v

    def live(self, out_vars) -> list:
        """The equations the outputs depend on, in order."""
        needed = {v for v in out_vars if v is not None}
        keep = []
        for eqn in reversed(self.eqns):
            if eqn[4] in needed:
                keep.append(eqn)
                needed.update(v for v in eqn[2] if v is not None)
        return keep[::-1]


class _Tracing:
    """Install a trace's hooks for the duration of a ``with`` block (restoring the outer ones)."""

    def __init__(self, trace: _Trace) -> None:
        self.trace = trace

    def __enter__(self) -> None:
        self.prev = prev_record, prev_traced, prev_inplace, prev_leaf = (
            SPECIAL.trace_hook, SPECIAL.is_traced, SPECIAL.inplace_hook, SPECIAL.leaf_hook)
        trace = self.trace
        SPECIAL.leaf_hook = trace.leaf if prev_leaf is None else (
            lambda t: (trace.leaf(t), prev_leaf(t)))
        if prev_record is None:
            SPECIAL.trace_hook, SPECIAL.is_traced, SPECIAL.inplace_hook = (
                trace.record, trace.is_traced, trace.inplace)
        else:
            # Inside an outer vmap's trace: what f computes from the outer batch alone (not
            # from this vmap's inputs) must reach the outer trace as well, or the outer
            # replay would take it for a constant.
            def record(prim, inputs, params, result):
                trace.record(prim, inputs, params, result)
                prev_record(prim, inputs, params, result)

            def inplace(target, result):
                trace.inplace(target, result)
                prev_inplace(target, result)
            SPECIAL.trace_hook = record
            SPECIAL.is_traced = lambda t: trace.is_traced(t) or prev_traced(t)
            SPECIAL.inplace_hook = inplace
        SPECIAL.active += 1

    def __exit__(self, *exc) -> None:
        SPECIAL.trace_hook, SPECIAL.is_traced, SPECIAL.inplace_hook, SPECIAL.leaf_hook = self.prev
        SPECIAL.active -= 1


def _move_to_front(x: Tensor, dim: int) -> Tensor:
    if dim == 0:
        return x
    axes = (dim,) + tuple(i for i in range(x._data.ndim) if i != dim)
    return apply(REGISTRY["permute"], x, axes=axes)


def _move_from_front(x: Tensor, dim: int) -> Tensor:
    if dim == 0:
        return x
    rest = list(range(1, x._data.ndim))
    axes = tuple(rest[:dim] + [0] + rest[dim:])
    return apply(REGISTRY["permute"], x, axes=axes)


def _leaf_dims(args: tuple, in_dims, who: str) -> list:
    """One in_dim per pytree leaf of the positional arguments."""
    if isinstance(in_dims, (int, type(None))):
        per_arg = [in_dims] * len(args)
    else:
        per_arg = list(in_dims)
        if len(per_arg) != len(args):
            raise ValueError(f"{who}: in_dims has {len(per_arg)} entries but the function was called "
                             f"with {len(args)} positional arguments; give one in_dim (int or None) "
                             "per argument")
    dims = []
    for i, (arg, d) in enumerate(zip(args, per_arg)):
        leaves, _ = tree_flatten(arg)
        if isinstance(d, (int, type(None))):
            dims.extend([d] * len(leaves))
        else:
            sub, _ = tree_flatten(d)
            if len(sub) != len(leaves):
                raise ValueError(f"{who}: in_dims[{i}] does not match the structure of argument {i}")
            dims.extend(sub)
    return dims


def vmap(func: Callable, in_dims: InDims = 0, out_dims: InDims = 0, randomness: str = "error",
         *, chunk_size: Optional[int] = None) -> Callable:
    """Vectorize ``func`` over a batch dimension of its inputs.

    Args:
        func: a function of tensors written for one example.
        in_dims: for each positional argument, the dimension holding the batch, or None for
            an argument shared by every example (an int applies to all of them).
        out_dims: where the batch dimension goes in each output (int or one per output).
        randomness: what random operations inside ``func`` do: ``'error'`` (the default, as
            in PyTorch) raises; ``'same'`` gives every example the same random numbers;
            ``'different'`` (a different draw per example) is not supported yet.

    Returns:
        A function taking batched arguments and returning batched results.
    """
    if randomness not in ("same", "error", "different"):
        raise ValueError(f"vmap: randomness must be 'same', 'error' or 'different', got {randomness!r}")
    if randomness == "different":
        raise NotImplementedError(
            "vmap: randomness='different' is not supported: random numbers drawn inside the "
            "function would be the same for every example. Draw them outside vmap with the batch "
            "dimension and pass them in, or use randomness='same' if one draw for all is right")

    @functools.wraps(func)
    def batched(*args, **kwargs):
        who = f"vmap({getattr(func, '__name__', 'f')})"
        leaves, spec = tree_flatten(args)
        dims = _leaf_dims(args, in_dims, who)
        B = None
        phys = []
        for k, (leaf, d) in enumerate(zip(leaves, dims)):
            if d is None:
                phys.append(None)
                continue
            if not isinstance(leaf, Tensor):
                raise ValueError(f"{who}: in_dim {d} was given for argument leaf {k}, which is a "
                                 f"{type(leaf).__name__}, not a tensor; use None for it")
            d = _normalize_dim(d, leaf._data.ndim, who)
            size = leaf._data.shape[d]
            if B is None:
                B = size
            elif size != B:
                raise ValueError(f"{who}: the batched inputs have different batch sizes ({B} and "
                                 f"{size}, input leaf {k}); they must all have the same size along "
                                 "their in_dim")
            phys.append(_move_to_front(leaf, d))
        if B is None:
            raise ValueError(f"{who}: at least one input must be batched (in_dims are all None)")
        if B == 0:
            raise ValueError(f"{who}: the batch is empty (size 0)")

        trace = _Trace()
        examples = []
        input_vars = {}
        for leaf, p in zip(leaves, phys):
            if p is None:
                examples.append(leaf)
                continue
            ex = apply(REGISTRY["getitem"], p, index=(0,), in_shape=p._data.shape, basic=True)
            input_vars[trace.new_var(ex)] = p
            examples.append(ex)
        from ..ops.creation import RANDOMNESS
        prev_random = RANDOMNESS.error
        RANDOMNESS.error = randomness == "error"
        try:
            with _Tracing(trace):
                out = func(*tree_unflatten(examples, spec), **kwargs)
        finally:
            RANDOMNESS.error = prev_random

        out_leaves, out_spec = tree_flatten(out)
        for k, o in enumerate(out_leaves):
            if not isinstance(o, Tensor):
                raise ValueError(f"{who}: the function must return tensors (or nested tuples, lists "
                                 f"and dicts of them); output leaf {k} is a {type(o).__name__}")
        out_vars = [trace.var(o) for o in out_leaves]
        env = dict(input_vars)
        for prim, inputs, arg_vars, params, out_var in trace.live(out_vars):
            values = [env[v] if v is not None else trace.constant(x)
                      for x, v in zip(inputs, arg_vars)]
            env[out_var] = batch_primitive(prim, values, [v is not None for v in arg_vars], params, B)

        o_dims = [out_dims] * len(out_leaves) if isinstance(out_dims, int) else list(
            tree_flatten(out_dims)[0])
        if len(o_dims) != len(out_leaves):
            raise ValueError(f"{who}: out_dims has {len(o_dims)} entries for {len(out_leaves)} outputs")
        results = []
        for o, v, d in zip(out_leaves, out_vars, o_dims):
            r = env[v] if v is not None else _broadcast_batch(o, B)
            results.append(_move_from_front(r, _normalize_dim(d, r._data.ndim, who)))
        return tree_unflatten(results, out_spec)

    return batched


def _broadcast_batch(x: Tensor, B: int) -> Tensor:
    """An output that does not depend on the batched inputs: the same for every example."""
    from .batching import _materialize
    return apply(REGISTRY["clone"], _materialize(x, False, B))
