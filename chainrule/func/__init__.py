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

# (imported here, not lazily: importing the submodule .vmap on first use would also bind the
# name ``vmap`` in this package to that module, shadowing the function)
from .vmap import vmap  # noqa: E402,F401

__all__ = ["grad", "value_and_grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian", "linearize", "jacobian", "vmap", "tree_flatten", "tree_unflatten", "tree_map"]
