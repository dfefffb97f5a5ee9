"""chainrule: automatic differentiation and neural networks on NumPy, with PyTorch's API.

``import chainrule as torch`` and ordinary tensor code runs: tensors record the
operations run on them, ``loss.backward()`` fills ``.grad`` of the leaves.
"""
import warnings as _warnings

# NumPy warns on log(0), 0/0, overflow...; PyTorch returns inf/nan silently (use
# autograd anomaly detection to find where they come from). Only warnings raised from
# chainrule's own frames are silenced; NumPy code outside chainrule is unaffected.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"chainrule\.")

from . import dtypes as _dtypes
from .dtypes import (dtype, float16, half, float32, float64, double, uint8, int8, int16,  # noqa: F401
                     short, int32, int64, long, bool, get_default_dtype, set_default_dtype,
                     promote_types)
from .dtypes import float, int  # noqa: F401,A004  (PyTorch's names)
from .tensor import Tensor, Size  # noqa: F401
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401
                                 is_grad_enabled, is_inference_mode_enabled)
from . import ops  # noqa: F401
from .ops import *  # noqa: F401,F403
from . import _tensor_methods  # noqa: F401  (attaches x.exp(), x.sum(), x.add_() ...)
from . import autograd  # noqa: F401
from . import nn  # noqa: F401
from . import func  # noqa: F401  (grad, vjp, jvp, jacrev, jacfwd, hessian, ...)
from . import optim  # noqa: F401  (SGD, Adam, ..., lr_scheduler)
from . import viz  # noqa: F401  (draw: the recorded graph as a graphviz picture)
from ._printing import set_printoptions, get_printoptions  # noqa: F401

__version__ = "0.1.0"


def is_tensor(obj) -> "bool":
    """True if ``obj`` is a chainrule Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> "int":
    return input.numel()


def result_type(tensor1, tensor2) -> dtype:
    """The dtype an elementwise op on the two operands gives (PyTorch's promotion)."""
    return _dtypes.result_type(tensor1, tensor2)


def is_floating_point(input: Tensor) -> "bool":
    return input.is_floating_point()

from . import data  # noqa: E402,F401  (Dataset, DataLoader, ...; also as chainrule.utils.data)
from . import utils  # noqa: E402,F401
from .io import save, load  # noqa: E402,F401  (safetensors checkpoints; never pickle)
