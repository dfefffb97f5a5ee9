"""``explain``: print the chain rule as the backward pass applies it, node by node.

For each recorded operation, from the output back to the inputs, it prints the gradient
that reached the operation's output, each local derivative, and their product: the
gradient sent on to that input. Where one value feeds several operations, the gradients
arriving along the different paths are shown being added. Scalars are printed as numbers;
tensors as their shape, norm and first few values, so that real models stay readable.

Names come from the variables of the calling code (``y1 = w1 * x + b1`` is printed as
``y1``), from the ``inputs`` dict, or from ``names``; unnamed intermediate values are
called ``t1, t2, ...``.  The pass runs on a retained graph and leaves ``.grad`` alone.
"""
from __future__ import annotations

import inspect
import sys
from typing import Mapping, Optional, Sequence, TextIO, Union

import numpy as np

from ..tensor import Tensor, _wrap
from . import engine
from .graph import Node

__all__ = ["explain"]

# How each primitive's output is written in terms of its operands ({0}, {1}: operand names).
_FORWARD = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "pow": "{0} ** {1}", "matmul": "{0} @ {1}", "neg": "-{0}",
}
# The local derivative d out / d operand_i, written with the operand names ({out}: the output).
_LOCAL = {
    "add": ("1", "1"), "sub": ("1", "-1"), "mul": ("{1}", "{0}"),
    "div": ("1/{1}", "-{0}/{1}²"), "pow": ("{1}·{0}^({1}-1)", "{out}·ln({0})"),
    "neg": ("-1",), "exp": ("exp({0})",), "log": ("1/{0}",), "sqrt": ("1/(2·sqrt({0}))",),
    "rsqrt": ("-1/(2·{0}^1.5)",), "sin": ("cos({0})",), "cos": ("-sin({0})",),
    "tanh": ("1 - tanh²({0})",), "sigmoid": ("σ({0})·(1 - σ({0}))",),
    "relu": ("1 where {0} > 0, else 0",), "abs": ("sign({0})",), "log1p": ("1/(1 + {0})",),
    "expm1": ("exp({0})",), "sum": ("1",),
}
# Gradient rules that are not an elementwise product, written out (g: the incoming gradient).
_VJP = {"matmul": ("{g} @ {1}ᵀ", "{0}ᵀ @ {g}")}


def _fmt(value, max_values: int) -> str:
    """A number as such; a tensor as its shape, norm and first values."""
    arr = np.asarray(getattr(value, "_data", value))
    if arr.size == 1:
        v = arr.reshape(()).item()
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    flat = arr.reshape(-1)
    shown = ", ".join(f"{float(v):.4g}" for v in flat[:max_values])
    more = ", …" if flat.size > max_values else ""
    norm = float(np.linalg.norm(flat.astype(np.float64))) if arr.dtype.kind in "fc" else None
    norm_s = f" norm {norm:.4g}" if norm is not None else ""
    return f"tensor{list(arr.shape)}{norm_s} [{shown}{more}]"


def _caller_names(frame) -> tuple:
    """({id(tensor): variable name}, [those tensors]) for the tensors the caller names."""
    found: dict = {}
    tensors: list = []
    if frame is None:
        return found, tensors
    for scope in (frame.f_globals, frame.f_locals):  # locals win
        for name, value in list(scope.items()):
            if isinstance(value, Tensor) and not name.startswith("_"):
                found[id(value)] = name
                tensors.append(value)
    return found, tensors


class _Namer:
    """Names for leaves, constants and the outputs of nodes."""

    def __init__(self, tensor_names: dict, tensors: Sequence[Tensor]) -> None:
        self.tensor_names = tensor_names
        self.node_names: dict = {}
        self.node_values: dict = {}
        for t in tensors:  # every tensor we know about says which node made it
            if t._grad_fn is not None:
                self.node_values.setdefault(t._grad_fn, t)
                if id(t) in tensor_names:
                    self.node_names.setdefault(t._grad_fn, tensor_names[id(t)])
        self.counter = 0

    def of(self, edge) -> str:
        if type(edge) is Node:
            if edge not in self.node_names:
                self.counter += 1
                self.node_names[edge] = f"t{self.counter}"
            return self.node_names[edge]
        return self.tensor_names.get(id(edge), "(a leaf)")

    def constant(self, value, max_values: int) -> str:
        if isinstance(value, Tensor):
            return self.tensor_names.get(id(value), _fmt(value, max_values))
        if value is None:
            return "(a constant)"
        return _fmt(value, max_values)

    def value_of(self, node: Node):
        t = self.node_values.get(node)
        if t is not None:
            return t._data
        if node.out_data is not None:
            return node.out_data
        inputs = node.saved_data
        if inputs is not None and all(x is not None for x in inputs) and "ctx" not in node.params:
            try:  # recompute it from the saved inputs (cheap: only shown for explanation)
                return node.prim.forward(*inputs, **node.params)
            except Exception:  # noqa: BLE001 - a value we cannot show is simply left out
                return None
        return None


def _graph_nodes(roots) -> list:
    nodes, seen, stack = [], set(), [r for r in roots if r is not None]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        nodes.append(n)
        stack.extend(e for e in n.next_edges if type(e) is Node)
    return nodes


def _operands(node: Node, namer: _Namer, max_values: int) -> list:
    names = []
    for i, edge in enumerate(node.next_edges):
        if edge is not None:
            names.append(namer.of(edge))
        else:
            saved = node.saved[i] if node.saved is not None and i < len(node.saved) else None
            if saved is None:
                saved = _recover_constant(node, i, namer)
            names.append(namer.constant(saved, max_values))
    return names


def _recover_constant(node: Node, index: int, namer: _Namer):
    """add and sub keep no inputs; their constant operand follows from the output and the
    other operand (e.g. t = y - c gives c = y - t), when both values are known."""
    op = node.prim.name
    if op not in ("add", "sub") or len(node.next_edges) != 2:
        return None
    other = node.next_edges[1 - index]
    out_value = namer.value_of(node)
    if other is None or out_value is None:
        return None
    other_value = namer.value_of(other) if type(other) is Node else other._data
    if other_value is None or np.shape(other_value) != np.shape(out_value):
        return None  # broadcasting: the constant's own shape cannot be told
    if op == "add":
        return out_value - other_value
    return other_value - out_value if index == 1 else out_value + other_value


def _local(node: Node, index: int, F):
    """d out / d input ``index`` as the rule computes it for an incoming gradient of ones."""
    ones = np.ones(node.out_shape, node.out_dtype)
    inputs = node.saved_data if node.saved_data is not None else (None,) * len(node.next_edges)
    rules = node.prim.vjp
    if node.prim.variadic:
        r = rules[0](F, ones, node.out_data, *inputs, index=index, **node.params)
    else:
        r = rules[index](F, ones, node.out_data, *inputs, **node.params)
    return r


def explain(output: Tensor, inputs: Union[Tensor, Sequence[Tensor], Mapping[str, Tensor], None] = None,
            *, gradient: Optional[Tensor] = None, names: Optional[Mapping[str, Tensor]] = None,
            file: Optional[TextIO] = None, max_values: int = 4) -> tuple:
    r"""Print how the chain rule computes the gradient of ``output``, node by node.

    Args:
        output: the tensor to differentiate (a scalar, or pass ``gradient`` as for
            ``backward``).
        inputs: the tensors to differentiate with respect to: one, a sequence, or a dict
            ``{name: tensor}`` (the names are used in the printout). Default: every leaf
            that requires grad.
        gradient: the starting gradient for a non-scalar ``output``.
        names: extra ``{name: tensor}`` for intermediate values; by default the variable
            names of the calling code are used.
        file: where to print (default ``sys.stdout``).
        max_values: how many values of a tensor to show.

    Returns:
        The gradients of ``output`` with respect to ``inputs`` (a tuple of tensors), as
        ``autograd.grad`` would return them. ``.grad`` attributes are not changed, and the
        graph is kept, so ``backward()`` can still be called afterwards.

    Example::

        >>> w = chainrule.tensor(3., requires_grad=True)
        >>> y = w * w
        >>> chainrule.autograd.explain(y, w)   # prints dy/dw = 3 + 3 = 6 (two paths)
    """
    out = sys.stdout if file is None else file
    if not isinstance(output, Tensor):
        raise TypeError(f"explain: output must be a Tensor, got {type(output).__name__}")
    if not output.requires_grad:
        raise RuntimeError("explain: the output does not require grad, so nothing was recorded. "
                           "Make the inputs with requires_grad=True and compute it outside no_grad().")
    frame = inspect.currentframe().f_back
    tensor_names, caller_tensors = _caller_names(frame)
    del frame
    if isinstance(inputs, Mapping):
        for name, t in inputs.items():
            tensor_names[id(t)] = name
        input_list = list(inputs.values())
    elif isinstance(inputs, Tensor):
        input_list = [inputs]
    elif inputs is None:
        input_list = None
    else:
        input_list = list(inputs)
    for name, t in (names or {}).items():
        tensor_names[id(t)] = name

    roots = [output._grad_fn]
    nodes = _graph_nodes(roots)
    if any(n.freed for n in nodes):
        raise RuntimeError(
            "explain: this graph was already freed by a backward() call, so the values the chain "
            "rule needs are gone. Call explain() before backward(), or call "
            "backward(retain_graph=True) first.")
    if input_list is None:  # every leaf that requires grad, in the order met
        input_list, seen = [], set()
        if output._grad_fn is None:
            input_list = [output]
        for n in reversed(nodes):
            for e in n.next_edges:
                if e is not None and type(e) is not Node and id(e) not in seen:
                    seen.add(id(e))
                    input_list.append(e)
    for i, t in enumerate(input_list):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"explain: input {i} is not a tensor that requires grad")

    known = [output] + list(input_list)
    for n in nodes:
        known.extend(x for x in (n.saved or ()) if isinstance(x, Tensor))
    known.extend(caller_tensors)
    known.extend((names or {}).values())
    namer = _Namer(tensor_names, known)
    out_name = tensor_names.get(id(output), "output")
    if output._grad_fn is not None:
        namer.node_names.setdefault(output._grad_fn, out_name)
    for t in input_list:  # name the inputs first, so t1, t2... go to unnamed values only
        namer.of(t._grad_fn if t._grad_fn is not None else t)

    events = []

    def observer(node, g, contributions):
        events.append((node, g, contributions))

    roots_g = engine._root_grads([output], None if gradient is None else [gradient], False, "explain")
    engine.OBSERVERS.append(observer)
    try:
        captured = engine._run(roots_g, True, False, input_list, accumulate=False)
    finally:
        engine.OBSERVERS.remove(observer)

    F, _ = engine._namespaces()
    d = "∂"
    top = f"{d}{out_name}"
    wrt = ", ".join(namer.of(t._grad_fn if t._grad_fn is not None else t) for t in input_list)
    print(f"The chain rule for {out_name}, from the output back to {wrt}:", file=out)
    print(f"  start: {top}/{top} = {_fmt(roots_g[0][1], max_values)}", file=out)
    arrivals: dict = {}  # edge -> [(from name, gradient)]
    for node, g, contributions in events:
        if type(node) is not Node:
            continue
        me = namer.of(node)
        ops = _operands(node, namer, max_values)
        form = _FORWARD.get(node.prim.name)
        expr = form.format(*ops) if form and len(ops) >= form.count("{") else \
            f"{node.prim.name}({', '.join(ops)})"
        value = namer.value_of(node)
        value_s = f" = {_fmt(value, max_values)}" if value is not None else ""
        print(f"\n{me} = {expr}{value_s}    ({node.name()})", file=out)
        got = arrivals.get(node, [])
        if len(got) > 1:
            parts = " + ".join(f"{_fmt(gi, max_values)} (via {src})" for src, gi in got)
            print(f"    {top}/{d}{me} = {parts} = {_fmt(g, max_values)}"
                  f"    [{me} is used {len(got)} times: the gradients from each path add]", file=out)
        scalar_out = int(np.prod(node.out_shape)) == 1
        for index, edge, gi in contributions:
            target = namer.of(edge)
            arrivals.setdefault(edge, []).append((me, gi))
            formula = _LOCAL.get(node.prim.name)
            formula = formula[index] if formula and index < len(formula) else None
            named = formula.format(*ops, out=me) if formula else None
            lhs = f"    {top}/{d}{target} = {top}/{d}{me} · {d}{me}/{d}{target}"
            vjp_form = _VJP.get(node.prim.name)
            if node.prim.name in _LOCAL or (scalar_out and np.size(gi) == 1):
                local = np.asarray(_local(node, index, F))
                flat = local.reshape(-1)
                if flat.size and np.all(flat == flat[0]):  # one number: show it as such
                    local_s = _fmt(flat[0], max_values)
                else:
                    local_s = _fmt(local, max_values)
                shown = f"({named} = {local_s})" if named and named != local_s else local_s
                summed = ", summed over the broadcast dimensions," if np.shape(gi) != local.shape \
                    and local.size != 1 else ""
                print(f"{lhs} = {_fmt(g, max_values)} · {shown}{summed} = {_fmt(gi, max_values)}",
                      file=out)
            elif vjp_form:
                rule = vjp_form[index].format(*ops, g=f"{top}/{d}{me}")
                print(f"    {top}/{d}{target} = {rule} = {_fmt(gi, max_values)}", file=out)
            else:
                how = f" [{d}{me}/{d}{target} = {named}]" if named else ""
                print(f"    {top}/{d}{target} = the {node.name()} rule applied to {top}/{d}{me}"
                      f" = {_fmt(gi, max_values)}{how}", file=out)

    results = []
    print("", file=out)
    lines = []
    for i, t in enumerate(input_list):
        g = captured.get(i)
        name = namer.of(t._grad_fn if t._grad_fn is not None else t)
        got = arrivals.get(t._grad_fn if t._grad_fn is not None else t, [])
        if g is None:
            lines.append(f"{name}.grad = None ({out_name} does not depend on {name})")
            results.append(None)
            continue
        g_arr = np.array(getattr(g, "_data", g), dtype=t._data.dtype)
        results.append(_wrap(g_arr))
        if len(got) > 1 and t._grad_fn is None:
            parts = " + ".join(f"{_fmt(gi, max_values)} (via {src})" for src, gi in got)
            lines.append(f"{name}.grad = {parts} = {_fmt(g_arr, max_values)}")
        else:
            lines.append(f"{name}.grad = {_fmt(g_arr, max_values)}")
    print(", ".join(lines) if all(r._data.size == 1 for r in results if r is not None)
          else "\n".join(lines), file=out)
    return tuple(results)

