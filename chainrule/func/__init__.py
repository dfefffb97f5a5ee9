"""Transforms of functions, with JAX's names as ``torch.func`` has them.

``grad``, ``value_and_grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``,
``hessian``, ``linearize``, ``jacobian(f, x, mode="auto")`` and ``vmap``; they compose
(``grad(grad(f))``, ``jacfwd(jacrev(f))``, ...) and take nested tuples, lists and dicts of
tensors as arguments and results.  See :mod:`chainrule.func.transforms` for how they
work on chainrule's engine.
"""
from ._pytree import tree_flatten, tree_unflatten, tree_map  # noqa: F401
from .transforms import (grad, value_and_grad, grad_and_value, vjp, jvp, jacrev,  # noqa: F401
                         jacfwd, hessian, linearize, jacobian)

__all__ = ["grad", "value_and_grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian", "linearize", "jacobian", "tree_flatten", "tree_unflatten", "tree_map"]

import importlib.util as _ilu  # noqa: E402
if _ilu.find_spec(f"{__name__}.vmap") is not None:
    __all__.append("vmap")


def __getattr__(name: str):
    if name == "vmap":  # written in .vmap; loaded on first use
        from .vmap import vmap
        globals()["vmap"] = vmap
        return vmap
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
