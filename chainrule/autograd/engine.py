"""The reverse pass: order the graph, call each node's vjp rules, add up the gradients.

The walk uses explicit stacks, never recursion, so a chain of a million operations works.
A node runs once all the nodes that consume its output have sent it their share of the
gradient (their number is counted first); shares that reach a node along several paths
are added.  Leaves add their total into ``.grad``.

In an ordinary backward pass the rules run on NumPy arrays with grad mode off; with
``create_graph=True`` they run on tensors with grad mode on, so the pass is recorded.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from . import grad_mode as _gm
from .graph import Node
from .._special import SPECIAL
from ..tensor import Tensor, _wrap

__all__ = ["backward", "grad"]

_STATE = _gm.STATE

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


def _as_sequence(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


_NP = _TN = None

# Callables told about each step of a backward pass, as ``observer(node, grad, contributions)``
# with ``contributions`` = [(input index, next edge, gradient sent to it), ...] (for a leaf
# tensor: ``observer(leaf, total_grad, ())``). explain(), detect_anomaly() and
# record_gradients() install one; with none installed the engine skips this bookkeeping.
OBSERVERS: list = []


def _namespaces():
    """The NumPy and tensor rule namespaces (imported on first use: ops imports this module)."""
    global _NP, _TN
    if _NP is None:
        from ..ops.primitive import NP, TN
        _NP, _TN = NP, TN
    return _NP, _TN


def _root_grads(tensors: Sequence[Tensor], grad_tensors, create_graph: bool, who: str) -> list:
    """Check the outputs and build their starting gradients (``ones`` for scalars)."""
    grads = list(_as_sequence(grad_tensors)) if grad_tensors is not None else [None] * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"{who}: got {len(tensors)} tensors and {len(grads)} gradients; "
                           "pass one gradient per tensor (None for scalars)")
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: expected tensors, got {type(t).__name__} at position {i}")
        if not t._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn. "
                "Hint: it was computed without any input that requires grad (make the inputs "
                "with requires_grad=True, or call x.requires_grad_()), or inside no_grad(), or "
                "from a detached tensor.")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this output has shape "
                    f"{list(t.shape)}. Reduce it to a scalar first (e.g. loss.sum() or loss.mean()), "
                    "or pass gradient=<tensor of the same shape> to weight each element "
                    "(backward(gradient) is the backward of (output * gradient).sum()).")
            garr = np.empty(t._data.shape, t._data.dtype)
            garr.fill(1)
        else:
            garr = g._data if isinstance(g, Tensor) else np.asarray(g, dtype=t._data.dtype)
            if garr.shape != t._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {list(garr.shape)} and "
                    f"output[{i}] has a shape of {list(t.shape)}; the gradient must have the "
                    "output's shape.")
            if garr.dtype != t._data.dtype:
                garr = garr.astype(t._data.dtype)
            else:
                garr = garr.copy()  # never let .grad alias the caller's array
        if create_graph or SPECIAL.active:
            # a gradient given as a tensor stays one (recorded, carrying tangents, traced by
            # vmap); the copy keeps .grad from aliasing the caller's tensor
            if isinstance(g, Tensor):
                from ..ops.elementwise import clone, to_dtype
                roots.append((t, clone(to_dtype(g, t.dtype))))
            else:
                roots.append((t, _wrap(garr)))
        else:
            roots.append((t, garr))
    return roots


def backward(tensors, grad_tensors=None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate into ``.grad`` of the leaves the gradient of ``sum(t * g)`` over the outputs.

    Same as ``torch.autograd.backward``; ``Tensor.backward`` calls this.
    """
    if (grad_tensors is None and inputs is None and not create_graph and not SPECIAL.active
            and not OBSERVERS and type(tensors) is tuple and len(tensors) == 1):
        t = tensors[0]  # the everyday loss.backward(): skip the general bookkeeping
        if isinstance(t, Tensor) and t._requires_grad and t._data.size == 1:
            g = np.empty(t._data.shape, t._data.dtype)
            g.fill(1)
            _run_plain(t, g, bool(retain_graph))
            return
    tensors = _as_sequence(tensors)
    if not tensors:
        raise RuntimeError("backward: no tensors given")
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(tensors, grad_tensors, create_graph, "backward")
    targets = None
    if inputs is not None:
        targets = _as_sequence(inputs)
        if not targets:
            raise RuntimeError("backward: 'inputs' argument to backward() cannot be empty")
        for t in targets:
            if not t._requires_grad:
                raise RuntimeError("backward: one of the 'inputs' does not require grad")
    _run(roots, retain_graph, create_graph, targets, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, allow_unused: Optional[bool] = None,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than stored.

    ``.grad`` is left untouched.  With ``create_graph=True`` the results are themselves
    differentiable (for second derivatives).
    """
    outputs = _as_sequence(outputs)
    single = isinstance(inputs, Tensor)
    inputs_t = _as_sequence(inputs)
    if not inputs_t:
        raise RuntimeError("grad requires at least one input tensor")
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, t in enumerate(inputs_t):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: inputs must be tensors, got {type(t).__name__} at position {i}")
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}, shape "
                               f"{list(t.shape)}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outputs, grad_outputs, create_graph, "grad")
    captured = _run(roots, retain_graph, create_graph, inputs_t, accumulate=False)
    results = []
    for i, t in enumerate(inputs_t):
        g = captured.get(i)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}, shape {list(t.shape)}) appears "
                    "to not have been used in the graph. Set allow_unused=True if this is the "
                    "desired behavior.")
            results.append(_wrap(np.zeros_like(t._data)) if materialize_grads else None)
        else:
            results.append(g if isinstance(g, Tensor) else _wrap(_own(g)))
    return tuple(results) if not single else (results[0],)


def _own(g) -> np.ndarray:
    """A writable array that belongs to nobody else."""
    if type(g) is not np.ndarray:
        return np.array(g)
    if g.base is not None or not g.flags.writeable:
        return g.copy()
    return g


def _edge_of(t: Tensor):
    return t._grad_fn if t._grad_fn is not None else t


def _needed_set(root_edges, targets: set) -> set:
    """The nodes (and leaves) from which some target can be reached (iterative post-order DFS)."""
    needed = set()
    done = set()
    for root in root_edges:
        if root in done:
            continue
        stack = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if expanded:
                done.add(e)
                if e in targets or (type(e) is Node and any(
                        n is not None and n in needed for n in e.next_edges)):
                    needed.add(e)
                continue
            if e in done:
                continue
            stack.append((e, True))
            if type(e) is Node:
                for n in e.next_edges:
                    if n is not None and n not in done:
                        stack.append((n, False))
    return needed


def _run(roots, retain_graph: bool, create_graph: bool, targets, accumulate: bool) -> dict:
    NP, TN = _namespaces()
    # rules run on tensors when the pass is recorded, and also while forward-mode or vmap
    # is active, so that tangents and batching flow through the backward pass too
    tensor_mode = create_graph or SPECIAL.active > 0
    F = TN if tensor_mode else NP

    root_edges = [_edge_of(t) for t, _ in roots]
    # How many consumers will send each node its gradient. Nodes and leaf tensors are the
    # dict keys themselves (identity hashing, done in C).
    deps: dict = {}
    stack = [e for e in root_edges if type(e) is Node]
    seen = set(stack)
    while stack:
        for nxt in stack.pop().next_edges:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                if type(nxt) is Node and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)

    needed = None
    capture_pos: dict = {}
    if targets is not None:
        for i, t in enumerate(targets):
            capture_pos.setdefault(_edge_of(t), []).append(i)
        needed = _needed_set(root_edges, set(capture_pos))
    captured: dict = {}

    buffers: dict = {}
    for (t, g), e in zip(roots, root_edges):
        if tensor_mode and not isinstance(g, Tensor):
            g = _wrap(g)
        buffers[e] = buffers[e] + g if e in buffers else g
    ready = []
    for e in root_edges:
        if e not in deps and e not in ready:
            ready.append(e)

    stored = set()  # ids of arrays already given to some .grad in this pass
    observers = tuple(OBSERVERS)
    contributions = None
    prev_mode = _STATE.enabled
    _STATE.enabled = create_graph
    numpy_mode = not tensor_mode
    ready_pop = ready.pop
    ready_append = ready.append
    buffers_pop = buffers.pop
    try:
        while ready:
            node = ready_pop()
            g = buffers_pop(node)
            if type(node) is not Node:  # a leaf tensor
                g = _leaf(node, g, capture_pos, captured, accumulate, targets, tensor_mode, stored)
                for observer in observers:
                    observer(node, g, ())
                continue
            if node.pre_hooks is not None:
                g = _run_hooks(node.pre_hooks, g, tensor_mode)
            if node.retained is not None:
                owner = node.retained()
                if owner is not None and owner._grad_fn is node:
                    _accumulate(owner, g, tensor_mode, stored)
            if capture_pos and node in capture_pos:
                for i in capture_pos[node]:
                    captured[i] = g
                if accumulate:
                    for i in capture_pos[node]:
                        _accumulate(targets[i], g, tensor_mode, stored)

            # --- call the vjp rule of each input that wants a gradient (inlined: hot loop)
            prim = node.prim
            edges = node.next_edges
            saved = node.saved
            if saved is not None:
                for box, v in node.saved_versions:
                    if box[0] != v:
                        _check_versions(node)
                inputs = node.saved_data if numpy_mode else saved
            elif node.freed:
                raise RuntimeError(f"{node.name()}: {_FREED_MESSAGE}")
            else:
                inputs = (None,) * len(edges)
            out = node.out_data
            if out is not None:
                if node.out_vbox[0]:  # the output was created at version 0
                    _raise_modified(node, None, out.shape, out.dtype, node.out_vbox[0], 0)
                if not numpy_mode:
                    out = _wrap(out, True, node)
                    if node._tangent is not None:  # forward-over-reverse: the output's tangent
                        out._tangent = node._tangent
            rules = prim.vjp
            params = node.params
            shapes = node.shapes
            variadic = prim.variadic
            if observers:
                contributions = []
            i = -1
            for nxt in edges:
                i += 1
                if nxt is None or (needed is not None and nxt not in needed):
                    continue
                if variadic:
                    gi = rules[0](F, g, out, *inputs, index=i, **params)
                else:
                    gi = rules[i](F, g, out, *inputs, **params)
                if shapes is not None and gi.shape != shapes[i]:
                    gi = F.sum_to(gi, shapes[i])
                if observers:
                    contributions.append((i, nxt, gi))
                if nxt in buffers:
                    buffers[nxt] = buffers[nxt] + gi
                else:
                    buffers[nxt] = gi
                left = deps[nxt] - 1
                deps[nxt] = left
                if not left:
                    ready_append(nxt)
            for observer in observers:
                observer(node, g, contributions)
            if not retain_graph:
                if saved is not None or out is not None:
                    node.saved = None
                    node.saved_data = None
                    node.out_data = None
                    node.freed = True
                if params:
                    _free(node)
    finally:
        _STATE.enabled = prev_mode
    return captured


def _run_plain(root: Tensor, g, retain_graph: bool) -> None:
    """``_run`` for the everyday ``loss.backward()``: one root, NumPy rules, every leaf
    accumulates. Same semantics as the general loop, minus the bookkeeping it does not need."""
    node0 = root._grad_fn
    if node0 is None:  # backward on a leaf
        _leaf(root, g, {}, {}, True, None, False, set())
        return
    F = _NP if _NP is not None else _namespaces()[0]
    deps: dict = {}
    stack = [node0]
    while stack:
        for nxt in stack.pop().next_edges:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                if type(nxt) is Node:
                    stack.append(nxt)
    buffers = {node0: g}
    ready = [node0]
    stored = set()
    prev_mode = _STATE.enabled
    _STATE.enabled = False
    ready_pop = ready.pop
    ready_append = ready.append
    buffers_pop = buffers.pop
    try:
        while ready:
            node = ready_pop()
            g = buffers_pop(node)
            if type(node) is not Node:
                if node._hooks:
                    g = _run_hooks(node._hooks, g, False)
                _accumulate(node, g, False, stored)
                continue
            if node.pre_hooks is not None:
                g = _run_hooks(node.pre_hooks, g, False)
            if node.retained is not None:
                owner = node.retained()
                if owner is not None and owner._grad_fn is node:
                    _accumulate(owner, g, False, stored)
            prim = node.prim
            edges = node.next_edges
            if node.saved is not None:
                for box, v in node.saved_versions:
                    if box[0] != v:
                        _check_versions(node)
                inputs = node.saved_data
            elif node.freed:
                raise RuntimeError(f"{node.name()}: {_FREED_MESSAGE}")
            else:
                inputs = (None,) * len(edges)
            out = node.out_data
            if out is not None and node.out_vbox[0]:
                _raise_modified(node, None, out.shape, out.dtype, node.out_vbox[0], 0)
            rules = prim.vjp
            params = node.params
            shapes = node.shapes
            variadic = prim.variadic
            i = -1
            for nxt in edges:
                i += 1
                if nxt is None:
                    continue
                if variadic:
                    gi = rules[0](F, g, out, *inputs, index=i, **params)
                else:
                    gi = rules[i](F, g, out, *inputs, **params)
                if shapes is not None and gi.shape != shapes[i]:
                    gi = F.sum_to(gi, shapes[i])
                if nxt in buffers:
                    buffers[nxt] = buffers[nxt] + gi
                else:
                    buffers[nxt] = gi
                left = deps[nxt] - 1
                deps[nxt] = left
                if not left:
                    ready_append(nxt)
            if not retain_graph:
                if node.saved is not None or out is not None:
                    node.saved = node.saved_data = node.out_data = None
                    node.freed = True
                if params and "ctx" in params:
                    _free(node)
    finally:
        _STATE.enabled = prev_mode


def _leaf(leaf: Tensor, g, capture_pos, captured, accumulate, targets, tensor_mode, stored):
    if leaf._hooks:
        g = _run_hooks(leaf._hooks, g, tensor_mode)
    if leaf in capture_pos:
        for i in capture_pos[leaf]:
            captured[i] = g
    if accumulate and (targets is None or leaf in capture_pos):
        _accumulate(leaf, g, tensor_mode, stored)
    return g


def _check_versions(node: Node) -> None:
    """Raise if a tensor the node saved was changed in place after it was saved."""
    tensors = [x for x in node.saved if isinstance(x, Tensor)]
    for x, (box, v) in zip(tensors, node.saved_versions):
        if box[0] != v:
            _raise_modified(node, x, x._data.shape, x._data.dtype, box[0], v)


def _raise_modified(node: Node, tensor, shape, dtype, now: int, expected: int) -> None:
    what = "the output" if tensor is None else "an input"
    made_by = ""
    if tensor is not None and tensor._grad_fn is not None:
        made_by = f", which is output 0 of {tensor._grad_fn.name()}"
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what} of {node.name()} (a tensor of shape {list(shape)} and dtype "
        f"{np.dtype(dtype).name}{made_by}) is at version {now}; expected version {expected} "
        f"instead. {node.name()} saved it in the forward pass and needs its old value. Hint: "
        "replace the in-place operation (x += 1, x.add_(1), x[i] = v) by an out-of-place one "
        "(x = x + 1), or modify a clone (x = x.clone()) instead.")


def _free(node: Node) -> None:
    """Drop what the node saved; a later backward through it raises a clear error."""
    if node.saved is not None or node.out_data is not None:
        node.saved = None
        node.out_data = None
        node.freed = True
    if node.params:
        ctx = node.params.get("ctx")
        if ctx is not None:  # a user Function: drop what it saved with save_for_backward
            ctx._free()
            node.freed = True


def _run_hooks(hooks, g, tensor_mode: bool):
    for hook in list(hooks):
        gt = g if tensor_mode else _wrap(np.asarray(g))
        r = hook(gt)
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(f"a gradient hook must return a Tensor or None, got {type(r).__name__}")
            if r._data.shape != np.shape(g):
                raise RuntimeError(f"hook changed the gradient's shape from {list(np.shape(g))} "
                                   f"to {list(r.shape)}; hooks must keep it")
            g = r if tensor_mode else r._data
    return g


def _accumulate(t: Tensor, g, tensor_mode: bool, stored: set) -> None:
    """Add ``g`` into ``t.grad`` (in place when the pass is not recorded, as PyTorch does)."""
    if tensor_mode:
        t._grad = g if t._grad is None else t._grad + g
        return
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    if t._grad is None:
        if g.base is not None or not g.flags.writeable or id(g) in stored:
            g = g.copy()
        stored.add(id(g))
        t._grad = _wrap(g)
    else:
        acc = t._grad
        if acc._grad_fn is None and acc._data.flags.writeable:
            if acc._step_version == acc._vbox[0]:  # adding onto a gradient already stepped with
                acc._stale_sum = True              # (no zero_grad since): the optimizer hints
            np.add(acc._data, g, out=acc._data)
            acc._vbox[0] += 1
        else:
            t._grad = _wrap(acc._data + g)
