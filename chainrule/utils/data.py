"""``chainrule.utils.data``: the same classes and functions as :mod:`chainrule.data`
(PyTorch's ``torch.utils.data`` path, so ported code imports unchanged)."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
from ..data import dataset, sampler, dataloader  # noqa: F401
