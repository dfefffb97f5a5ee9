"""Parameter: a tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and that ``Module`` collects.

    ``Parameter(t)`` shares ``t``'s memory (as in PyTorch); ``Parameter()`` is empty.
    """

    def __init__(self, data: Optional[Tensor] = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.empty((0,), np.float32)
            vbox = [0]
        elif isinstance(data, Tensor):
            arr, vbox = data._data, data._vbox
        else:
            arr, vbox = np.asarray(data), [0]
        self._data = arr
        self._grad_fn = None
        self._vbox = vbox
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("chainrule does not pickle parameters; use chainrule.save(module.state_dict(), "
                        "path), which writes safetensors")


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute."""

    def __init__(self, data: Tensor, *, persistent: bool = True) -> None:
        self._data = data._data
        self._grad_fn = None
        self._vbox = data._vbox
        self._requires_grad = False
        self.persistent = persistent


Parameter.__str__ = Parameter.__repr__  # print(param) shows "Parameter containing:" too
