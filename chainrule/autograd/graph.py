"""The recorded graph: a Node is what ``tensor.grad_fn`` returns.

Every recorded operation makes one Node. It knows

- which primitive made it (``prim``: its vjp rules and its name, e.g. ``MulBackward0``),
- where the gradient goes next (``next_edges``: one entry per input, either the input's
  own Node, the input tensor itself when it is a leaf that requires grad, or None),
- what the vjp needs (``saved``: the inputs, if the primitive asked for them, and the
  output's array), with the version each saved tensor had, so that an in-place change
  made after saving is caught when the gradient is computed.

Nodes have exactly one output, which keeps the engine simple: operations with several
results (``split``, ``max(dim)``) are composed of single-output primitives.
"""
from __future__ import annotations

__all__ = ["Node", "AccumulateGrad", "show_as"]


class Node:
    """A recorded operation (``grad_fn``)."""

    # Set for every node (see ops.primitive._record); the rarely used fields below are
    # class-level defaults, overridden in the instance __dict__ when set.
    __slots__ = ("prim", "next_edges", "params", "saved", "saved_data", "saved_versions",
                 "out_data", "out_vbox", "shapes", "out_shape", "out_dtype", "__dict__",
                 "__weakref__")
    pre_hooks = None   # hooks registered on the output tensor (non-leaf register_hook)
    retained = None    # weakref to the output tensor after retain_grad()
    freed = False      # saved values were released by a backward without retain_graph
    trace = None       # forward stack, recorded in anomaly-detection mode
    _tangent = None    # forward mode: the output's tangent, when the vjp reads the output
    display_name = None  # PyTorch's name for the composite op this node ends (see show_as)
    grad_output = None  # the gradient that reached this node, kept under record_gradients()

    def __init__(self, prim, next_edges, params, saved=None, saved_versions=None,
                 out_data=None, out_vbox=None, shapes=None, out_shape=(), out_dtype=None) -> None:
        self.prim = prim
        self.next_edges = next_edges
        self.params = params
        self.saved = saved  # the inputs the rules need (tensors), else None
        self.saved_data = None if saved is None else tuple(  # the same as arrays
            getattr(x, "_data", x) for x in saved)
        # ((version counter, version when saved), ...) for each saved tensor
        self.saved_versions = saved_versions
        self.out_data = out_data
        self.out_vbox = out_vbox
        self.shapes = shapes
        self.out_shape = out_shape
        self.out_dtype = out_dtype

    # --- PyTorch's public face of a grad_fn -------------------------------------
    def name(self) -> str:
        """The grad_fn's name as PyTorch prints it, e.g. ``MulBackward0``."""
        return self.display_name or self.prim.node_name

    @property
    def next_functions(self) -> tuple:
        """((node_or_AccumulateGrad_or_None, 0), ...) for each input, as in PyTorch."""
        out = []
        for e in self.next_edges:
            if e is None or isinstance(e, Node):
                out.append((e, 0))
            else:
                out.append((AccumulateGrad(e), 0))
        return tuple(out)

    def register_prehook(self, hook) -> "RemovableHandle":
        """Call ``hook(grad_output)`` when the gradient of this node's output is ready;
        a non-None return value replaces that gradient."""
        if self.pre_hooks is None:
            self.pre_hooks = []
        self.pre_hooks.append(hook)
        return RemovableHandle(self.pre_hooks, hook)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


def show_as(out, name: str, *inputs):
    """Name the node that made ``out`` as PyTorch names the op (``MeanBackward0`` for a mean
    composed of sum and div), so that printed tensors read as they do in PyTorch. Only a
    node this call created is renamed (not one of its ``inputs``' nodes). Returns ``out``."""
    fn = getattr(out, "_grad_fn", None)
    if fn is not None and all(getattr(x, "_grad_fn", None) is not fn for x in inputs):
        fn.display_name = name
    return out


class AccumulateGrad:
    """The gradient sink of a leaf tensor, shown in ``next_functions``."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` takes the hook off again."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if any(h is self._hook for h in self._hooks):
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
