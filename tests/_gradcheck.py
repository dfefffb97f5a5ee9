"""Finite differences shared by the gradient-check tests."""
import numpy as np


def finite_difference(fun, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d fun / d x for a scalar ``fun()`` that reads ``x``: central differences, element by
    element (``x`` is changed in place and restored)."""
    grad = np.zeros_like(x)
    for j in np.ndindex(*x.shape):
        old = x[j]
        x[j] = old + eps
        hi = fun()
        x[j] = old - eps
        lo = fun()
        x[j] = old
        grad[j] = (hi - lo) / (2 * eps)
    return grad
