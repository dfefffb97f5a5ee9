"""State of the transforms that every operation must see: forward-mode dual levels and
vmap tracing. While ``SPECIAL.active`` is zero, the operations' fast paths skip all of it.

It sits in a module of its own because both ``tensor.py`` and ``ops/`` need it."""
from __future__ import annotations


class _Special:
    active = 0            # how many transforms are in effect
    forward_hook = None   # forward_ad: (prim, inputs, params, result) -> None; sets tangents
    trace_hook = None     # vmap: (prim, inputs, params, result) -> None; records the op
    is_traced = None      # vmap: (tensor) -> bool; True for values that depend on batched inputs
    inplace_hook = None   # vmap: (target, result) -> None; target was overwritten in place
    leaf_hook = None      # vmap: (tensor) -> None; a leaf was made to require grad while tracing


SPECIAL = _Special()
