"""Pictures of the recorded autograd graph: ``chainrule.viz.draw(loss)`` returns a
``graphviz.Digraph`` (the optional ``graphviz`` package: ``pip install 'chainrule[viz]'``).
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

import numpy as np

from .autograd.graph import Node
from .tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["draw"]

_INSTALL_HINT = ("chainrule.viz.draw needs the optional 'graphviz' package: "
                 "pip install 'chainrule[viz]' (or: pip install graphviz). Rendering to "
                 "SVG/PNG also needs Graphviz's 'dot' program (e.g. apt-get install graphviz); "
                 "without it, draw(...).source still gives the DOT text.")

# torchviz's palette: outputs green, leaves blue, operations grey, saved values orange
_OUTPUT_COLOR = "darkolivegreen1"
_LEAF_COLOR = "lightblue"
_OP_COLOR = "lightgrey"
_SAVED_COLOR = "orange"
_FREED_NOTE = "graph freed by backward() without retain_graph=True: saved values are gone"


def draw(tensor_or_tensors: Union[Tensor, Node, Iterable[Union[Tensor, Node]]],
         params: Optional[Mapping[str, Tensor]] = None, *, show_saved: bool = True,
         show_grads: bool = True, max_values: int = 4) -> "graphviz.Digraph":
    r"""Draw the autograd graph recorded behind ``tensor_or_tensors`` as a Graphviz graph.

    Boxes:

    - each recorded operation (a ``grad_fn`` Node) shows its name (``MulBackward0``), the
      shape and dtype of its output and, after a backward pass run inside
      :class:`chainrule.autograd.record_gradients`, the gradient that reached it;
    - each leaf that requires grad (blue) shows its name, shape, dtype and ``.grad`` if set;
    - each output tensor (green) shows its name, shape and dtype;
    - with ``show_saved``, a note (orange, dashed link) lists what an operation saved for its
      backward: the shape of each saved tensor, or the Python scalar
      (``saved: self [3], other 2.0``), or that a backward without ``retain_graph=True``
      already freed it (the graph also gets a caption saying so).

    Edges follow the gradient: from each output to its ``grad_fn``, and from each operation
    to the operations and leaves its gradient flows into (its ``next_edges``). The outputs
    are at the top, the leaves at the bottom, and a leaf used ``n`` times has ``n`` edges
    coming in (``x * x`` gives two edges from ``MulBackward0`` to ``x``).

    Names come from ``params`` (name -> tensor, matched by identity), then from the variables
    of the caller (its locals, then its globals) bound to that very tensor object. A named
    non-leaf tensor also names the operation that made it (``j: [3] float32``).

    A gradient is summarised: a 0-d one by its value, a bigger one by its shape, norm and
    its first ``max_values`` values.

    Args:
        tensor_or_tensors: the output tensor (usually a loss), a ``grad_fn`` Node, or a list
            or tuple of them.
        params: optional names for tensors, e.g. ``dict(model.named_parameters())``.
        show_saved: draw a note with what each operation saved for its backward.
        show_grads: show the gradients kept by ``record_gradients`` and the leaves' ``.grad``.
        max_values: how many values of a gradient tensor to show.

    Returns:
        graphviz.Digraph: ``.source`` is the DOT text; ``.render(format="svg")`` (or
        ``"png"``) writes a picture when Graphviz's ``dot`` program is installed; in a
        notebook the graph displays itself.

    Raises:
        ImportError: the ``graphviz`` package is not installed.

    Example::

        >>> import chainrule
        >>> from chainrule.viz import draw
        >>> i = chainrule.tensor(2., requires_grad=True)
        >>> h = chainrule.tensor(3., requires_grad=True)
        >>> k = (i + h) * i
        >>> with chainrule.autograd.record_gradients():
        ...     k.backward()
        >>> dot = draw(k)
        >>> "MulBackward0" in dot.source and "grad: 7" in dot.source
        True
        >>> dot.render("graph", format="svg")  # doctest: +SKIP
    """
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    if max_values < 0:
        raise ValueError(f"max_values must be >= 0, got {max_values}")

    roots = _as_roots(tensor_or_tensors)
    names = _Names(params, inspect.currentframe())

    dot = graphviz.Digraph(
        name="autograd",
        graph_attr={"rankdir": "TB", "ranksep": "0.35", "nodesep": "0.3"},
        node_attr={"shape": "box", "style": "filled", "fontname": "monospace",
                   "fontsize": "10", "height": "0.2"},
        edge_attr={"arrowsize": "0.7"})

    ids: dict = {}     # id(node or leaf) -> DOT node id
    keep: list = []    # the objects behind ids, alive for the duration (ids stay unique)
    output_nodes = set()  # ids of the nodes whose output is drawn as an output box
    for r in roots:
        if isinstance(r, Tensor) and r._grad_fn is not None:
            output_nodes.add(id(r._grad_fn))

    def dot_id(obj, prefix: str) -> str:
        key = id(obj)
        if key not in ids:
            ids[key] = f"{prefix}{len(ids)}"
            keep.append(obj)
        return ids[key]

    any_freed = False
    stack: list = []
    drawn: set = set()

    # outputs
    for k, r in enumerate(roots):
        if isinstance(r, Node):
            stack.append(r)
            continue
        if r._grad_fn is None and r._requires_grad:  # a leaf as output: just its leaf box
            stack.append(r)
            continue
        oid = f"out{k}"
        name = names.get(r)
        lines = [name or "output", _shape_dtype(r._data.shape, r._data.dtype)]
        if r._grad_fn is None:
            lines.append("does not require grad")
        if show_grads and r._grad is not None:
            lines += _grad_lines("grad", r._grad._data, max_values)
        dot.node(oid, _label(lines), fillcolor=_OUTPUT_COLOR)
        if r._grad_fn is not None:
            dot.edge(oid, dot_id(r._grad_fn, "op"))
            stack.append(r._grad_fn)
    stack.reverse()

    # depth-first over the graph, without recursion (graphs can be deep)
    while stack:
        obj = stack.pop()
        if id(obj) in drawn:
            continue
        drawn.add(id(obj))
        if isinstance(obj, Tensor):  # a leaf that requires grad
            lid = dot_id(obj, "leaf")
            lines = [names.get(obj) or ("Parameter" if type(obj).__name__ == "Parameter"
                                        else "leaf"),
                     _shape_dtype(obj._data.shape, obj._data.dtype)]
            if show_grads and obj._grad is not None:
                lines += _grad_lines("grad", obj._grad._data, max_values)
            dot.node(lid, _label(lines), fillcolor=_LEAF_COLOR)
            continue
        node: Node = obj
        nid = dot_id(node, "op")
        lines = [node.name()]
        var = None if id(node) in output_nodes else names.get_node(node)
        shape = getattr(node, "out_shape", None)
        if shape is not None:
            lines.append((f"{var}: " if var else "")
                         + _shape_dtype(shape, getattr(node, "out_dtype", None)))
        elif var:
            lines.append(f"{var}:")
        if show_grads and node.grad_output is not None:
            lines += _grad_lines("grad", node.grad_output, max_values)
        dot.node(nid, _label(lines), fillcolor=_OP_COLOR)
        any_freed = any_freed or bool(node.freed)
        if show_saved:
            saved = _saved_lines(node, names)
            if saved:
                sid = f"saved_{nid}"
                dot.node(sid, _label(saved), shape="note", fillcolor=_SAVED_COLOR)
                dot.edge(nid, sid, style="dashed", arrowhead="none")
        children = []
        for e in node.next_edges:
            if e is None:
                continue
            prefix = "leaf" if isinstance(e, Tensor) else "op"
            dot.edge(nid, dot_id(e, prefix))
            children.append(e)
        stack.extend(reversed(children))  # first input first

    if any_freed:
        dot.attr(label=_escape(_FREED_NOTE), labelloc="b", fontname="monospace", fontsize="10")
    return dot


# ----------------------------------------------------------------------------- helpers

def _as_roots(x) -> list:
    if isinstance(x, (Tensor, Node)):
        return [x]
    try:
        roots = list(x)
    except TypeError:
        raise TypeError("draw expects a Tensor, a grad_fn Node, or a list/tuple of them, "
                        f"got {type(x).__name__}") from None
    for r in roots:
        if not isinstance(r, (Tensor, Node)):
            raise TypeError("draw expects a Tensor, a grad_fn Node, or a list/tuple of them; "
                            f"got an element of type {type(r).__name__}")
    if not roots:
        raise ValueError("draw got no tensors to draw")
    return roots


class _Names:
    """Names for tensors: from ``params`` first, then from the caller's variables."""

    def __init__(self, params: Optional[Mapping[str, Any]], frame) -> None:
        self.by_id: dict = {}
        self.by_node: dict = {}
        keep = []
        if params is not None:
            for name, t in params.items():
                if isinstance(t, Tensor):
                    self._add(str(name), t)
                    keep.append(t)
        caller = frame.f_back if frame is not None else None
        if caller is not None:
            try:
                # plain variable names first, then ones starting with '_' (REPL history)
                for scope in (caller.f_locals, caller.f_globals):
                    items = [(k, v) for k, v in list(scope.items()) if isinstance(v, Tensor)]
                    items.sort(key=lambda kv: kv[0].startswith("_"))
                    for name, t in items:
                        self._add(name, t)
                        keep.append(t)
            finally:
                del caller
        self._keep = keep  # the ids above stay valid while this object lives

    def _add(self, name: str, t: Tensor) -> None:
        self.by_id.setdefault(id(t), name)
        if t._grad_fn is not None:
            self.by_node.setdefault(id(t._grad_fn), name)

    def get(self, t) -> Optional[str]:
        return self.by_id.get(id(t))

    def get_node(self, node: Node) -> Optional[str]:
        return self.by_node.get(id(node))


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _label(lines) -> str:
    # DOT's \l ends a left-justified line
    return "".join(_escape(line) + "\\l" for line in lines)


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _dtype_name(dtype) -> str:
    if dtype is None:
        return ""
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype)


def _shape_dtype(shape, dtype) -> str:
    d = _dtype_name(dtype)
    return f"{_shape_str(shape)} {d}" if d else _shape_str(shape)


def _num(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    return f"{v:.4g}"


def _grad_lines(what: str, g, max_values: int) -> list:
    """``grad: 7`` for a 0-d gradient, else its shape, norm and first values."""
    a = np.asarray(getattr(g, "_data", g))
    if a.ndim == 0:
        return [f"{what}: {_num(a.item())}"]
    kind = np.complex128 if np.iscomplexobj(a) else np.float64
    try:
        norm = float(np.linalg.norm(a.astype(kind).ravel()))
        head = f"{what}: {_shape_str(a.shape)} norm={_num(norm)}"
    except (TypeError, ValueError):
        head = f"{what}: {_shape_str(a.shape)}"
    lines = [head]
    if max_values > 0 and a.size:
        flat = a.ravel()[:max_values]
        vals = ", ".join(_num(v.item()) for v in flat)
        more = ", ..." if a.size > max_values else ""
        lines.append(f"  [{vals}{more}]")
    return lines


_ARG_NAMES = ("self", "other")


def _saved_item(i: int, x, names: _Names) -> Optional[str]:
    arg = _ARG_NAMES[i] if i < len(_ARG_NAMES) else f"arg{i}"
    if x is None:
        return None
    if isinstance(x, Tensor):
        n = names.get(x)
        return f"{arg}{'=' + n if n else ''} {_shape_str(x._data.shape)}"
    if isinstance(x, np.ndarray):
        return f"{arg} {_shape_str(x.shape)}"
    r = repr(x)
    return f"{arg} {r if len(r) <= 24 else r[:21] + '...'}"


def _simple(v) -> bool:
    if isinstance(v, (bool, int, float, str)):
        return True
    return isinstance(v, tuple) and len(v) <= 8 and all(isinstance(x, (bool, int, float)) for x in v)


def _saved_lines(node: Node, names: _Names) -> list:
    """What the node keeps for its backward, as lines of text (empty: nothing to say)."""
    params = node.params if isinstance(node.params, dict) else {}
    ctx = params.get("ctx")
    attrs = [] if ctx is not None else [
        f"{k}={v!r}" for k, v in params.items() if v is not None and _simple(v)]
    attrs = ["attrs: " + ", ".join(attrs)] if attrs else []
    if node.freed:
        return ["saved: freed by backward()", "  (retain_graph=True keeps them)"] + attrs
    items = []
    if ctx is not None:  # a user-defined Function: what it passed to save_for_backward
        for i, t in enumerate(getattr(ctx, "_saved", ()) or ()):
            if isinstance(t, Tensor):
                n = names.get(t)
                items.append(f"saved_tensors[{i}]{'=' + n if n else ''} "
                             f"{_shape_str(t._data.shape)}")
    elif node.saved is not None:
        for i, x in enumerate(node.saved):
            s = _saved_item(i, x, names)
            if s is not None:
                items.append(s)
    if getattr(node, "out_data", None) is not None:
        items.append(f"result {_shape_str(node.out_data.shape)}")
    return (["saved: " + ", ".join(items)] if items else []) + attrs
