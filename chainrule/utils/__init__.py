"""PyTorch's ``torch.utils`` path: ``chainrule.utils.data`` is :mod:`chainrule.data`."""
from . import data  # noqa: F401
