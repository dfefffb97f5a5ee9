"""Keep the gradient that flows through each node of a backward pass, for pictures and
explanations (``chainrule.viz.draw`` shows it in each box)::

    with chainrule.autograd.record_gradients():
        loss.backward()
    loss.grad_fn.grad_output      # the gradient that reached the loss's node (1.0)

Off by default: keeping every node's gradient alive costs memory for as long as the graph
lives (in a training loop, into the next step).
"""
from __future__ import annotations

from .graph import Node

__all__ = ["record_gradients"]


def _keep(node, grad, contributions) -> None:
    if type(node) is Node:
        node.grad_output = grad


class record_gradients:
    """Context manager: each backward pass run inside it stores on every node it visits the
    gradient that reached the node's output, as ``node.grad_output`` (a NumPy array, or a
    tensor with ``create_graph=True``)."""

    def __enter__(self) -> "record_gradients":
        from . import engine
        engine.OBSERVERS.append(_keep)
        return self

    def __exit__(self, *exc) -> None:
        from . import engine
        engine.OBSERVERS.remove(_keep)
