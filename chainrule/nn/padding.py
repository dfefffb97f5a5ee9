"""Padding layers: ``ZeroPad``/``ConstantPad``/``ReflectionPad``/``ReplicationPad``/
``CircularPad`` in 1, 2 and 3 dimensions, each ``F.pad`` with a fixed padding and mode."""
from __future__ import annotations

from typing import Sequence, Tuple, Union

from ..ops.shape import pad as _pad
from ..tensor import Tensor
from .module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
           for n in (1, 2, 3)]


class _PadNd(Module):
    """Shared by the padding layers: ``padding`` is an int (every side) or 2·n ints
    (left, right, top, bottom, front, back), as in PyTorch."""

    _n = 1
    _mode = "constant"

    def __init__(self, padding: Union[int, Sequence[int]], value: float = 0.0) -> None:
        super().__init__()
        n = self._n
        if isinstance(padding, int):
            padding = (padding,) * (2 * n)
        padding = tuple(int(p) for p in padding)
        if len(padding) != 2 * n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {2 * n} "
                             f"ints, got {padding}")
        self.padding: Tuple[int, ...] = padding
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if self._mode == "constant":
            return _pad(input, self.padding, "constant", self.value)
        return _pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        if type(self).__name__.startswith("ConstantPad"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _layer(kind: str, n: int, mode: str, doc: str, with_value: bool) -> type:
    if with_value:
        def __init__(self, padding: Union[int, Sequence[int]], value: float) -> None:
            _PadNd.__init__(self, padding, value)
    else:
        def __init__(self, padding: Union[int, Sequence[int]]) -> None:
            _PadNd.__init__(self, padding)
    attrs = {"_n": n, "_mode": mode, "__doc__": doc, "__module__": __name__,
             "__init__": __init__}
    return type(f"{kind}Pad{n}d", (_PadNd,), attrs)


_DOCS = {
    "Zero": ("constant", "Pads the last {n} dimension(s) with zeros.", False),
    "Constant": ("constant", "Pads the last {n} dimension(s) with ``value``.", True),
    "Reflection": ("reflect", "Pads the last {n} dimension(s) with their reflection about the "
                   "edge (the edge itself not repeated).", False),
    "Replication": ("replicate", "Pads the last {n} dimension(s) by repeating the edge values.",
                    False),
    "Circular": ("circular", "Pads the last {n} dimension(s) by wrapping around (periodic).",
                 False),
}

for _kind, (_mode, _doc, _with_value) in _DOCS.items():
    for _n in (1, 2, 3):
        globals()[f"{_kind}Pad{_n}d"] = _layer(_kind, _n, _mode, _doc.format(n=_n), _with_value)
