"""``chainrule.nn.functional``: the functions behind the layers, with PyTorch's names.

Each family lives in its own module; this one gathers them (``import
chainrule.nn.functional as F``)."""
from ..ops.activation import softmax, log_softmax  # noqa: F401
