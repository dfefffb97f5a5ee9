"""Neural network building blocks with PyTorch's names: Module, Parameter, layers, losses,
``nn.functional``, ``nn.init`` and ``nn.utils``."""
from .parameter import Parameter, Buffer  # noqa: F401
from .module import Module  # noqa: F401
from .container import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                        ParameterDict)
from .flatten import Identity, Flatten, Unflatten  # noqa: F401
