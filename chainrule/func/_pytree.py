"""A small pytree utility: nested tuples, lists and dicts (and None) of tensors.

``tree_flatten`` turns a nested structure into a flat list of leaves and a ``TreeSpec``
that remembers the shape of the nesting; ``tree_unflatten`` puts leaves back into that
shape.  Containers are tuples (named tuples included), lists and dicts (keys in sorted
order when they sort, else insertion order, as ``torch.utils._pytree`` does for dicts);
``None`` is an empty subtree with no leaves; anything else is a leaf.

The transforms in :mod:`chainrule.func` use it so that arguments and results may be
nested structures of tensors::

    leaves, spec = tree_flatten({"w": w, "b": (b1, b2)})
    tree_unflatten([l * 2 for l in leaves], spec)   # same structure, doubled leaves
"""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

__all__ = ["TreeSpec", "LEAF", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves",
           "tree_structure"]


class TreeSpec:
    """The structure of a pytree: a container kind, its keys/length and child specs."""

    __slots__ = ("kind", "context", "children", "num_leaves")

    def __init__(self, kind: str, context: Any, children: Tuple["TreeSpec", ...]) -> None:
        self.kind = kind            # "leaf", "none", "tuple", "namedtuple", "list", "dict"
        self.context = context      # dict keys, or the namedtuple class
        self.children = children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def is_leaf(self) -> bool:
        return self.kind == "leaf"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TreeSpec) and self.kind == other.kind
                and self.context == other.context and self.children == other.children)

    def __hash__(self) -> int:
        return hash((self.kind, self.children))

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.context, self.children))
            return "{" + inner + "}"
        if self.kind == "list":
            return "[" + inner + "]"
        if self.kind == "namedtuple":
            return f"{self.context.__name__}({inner})"
        return "(" + inner + ("," if len(self.children) == 1 else "") + ")"


LEAF = TreeSpec("leaf", None, ())
_NONE = TreeSpec("none", None, ())


def _dict_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:  # keys of mixed types: keep the insertion order
        return list(d)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree: Any) -> Tuple[List[Any], TreeSpec]:
    """``(leaves, spec)``: the leaves of ``tree`` left to right, and its structure."""
    leaves: List[Any] = []
    spec = _flatten(tree, leaves)
    return leaves, spec


def _flatten(tree: Any, leaves: list) -> TreeSpec:
    if tree is None:
        return _NONE
    if isinstance(tree, (tuple, list)):
        children = tuple(_flatten(c, leaves) for c in tree)
        if isinstance(tree, list):
            return TreeSpec("list", None, children)
        if _is_namedtuple(tree):
            return TreeSpec("namedtuple", type(tree), children)
        return TreeSpec("tuple", None, children)
    if isinstance(tree, dict):
        keys = _dict_keys(tree)
        children = tuple(_flatten(tree[k], leaves) for k in keys)
        return TreeSpec("dict", tuple(keys), children)
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves: List[Any], spec: TreeSpec) -> Any:
    """The structure ``spec`` filled with ``leaves`` (the inverse of :func:`tree_flatten`)."""
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree_unflatten: the structure {spec!r} has {spec.num_leaves} leaves, "
                         f"but {len(leaves)} were given")
    it = iter(leaves)
    return _unflatten(it, spec)


def _unflatten(it, spec: TreeSpec) -> Any:
    kind = spec.kind
    if kind == "leaf":
        return next(it)
    if kind == "none":
        return None
    children = [_unflatten(it, c) for c in spec.children]
    if kind == "list":
        return children
    if kind == "tuple":
        return tuple(children)
    if kind == "namedtuple":
        return spec.context(*children)
    return dict(zip(spec.context, children))


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``tree`` with every leaf ``x`` replaced by ``fn(x)``."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def tree_leaves(tree: Any) -> List[Any]:
    """The leaves of ``tree``, left to right."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> TreeSpec:
    """The structure of ``tree`` (its :class:`TreeSpec`)."""
    return tree_flatten(tree)[1]
