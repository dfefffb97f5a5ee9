"""The operations. Primitives (forward, vjp, jvp) live in one family per module and are
listed in :data:`REGISTRY`; everything else is composed from them."""
from .primitive import REGISTRY, Primitive, apply  # noqa: F401
from .elementwise import *  # noqa: F401,F403
from .elementwise import __all__ as _ew_all
from .reduce import *  # noqa: F401,F403
from .reduce import __all__ as _rd_all
from .shape import *  # noqa: F401,F403
from .shape import __all__ as _sh_all
from .index import *  # noqa: F401,F403
from .index import __all__ as _ix_all
from .linalg import *  # noqa: F401,F403
from .linalg import __all__ as _la_all
from .creation import *  # noqa: F401,F403
from .creation import __all__ as _cr_all
from .activation import *  # noqa: F401,F403
from .activation import __all__ as _ac_all
from .math_extra import *  # noqa: F401,F403
from .math_extra import __all__ as _mx_all
from . import conv  # noqa: F401  (chainrule.ops.conv: used by nn.functional, not star-exported)
from . import recurrent  # noqa: F401  (RNN/LSTM/GRU layer primitives, used by nn.rnn)
from .primitive import _fill_tensor_rules

_fill_tensor_rules()


def _bind_operators() -> None:
    """``a + b``, ``a - b``, ``a * b`` call the op functions directly (no wrapper frame).
    Addition and multiplication commute, so their reflected forms keep the tensor first."""
    from ..tensor import Tensor
    from .elementwise import _add_op, _sub_op, mul
    Tensor.__add__ = Tensor.__radd__ = _add_op
    Tensor.__sub__ = _sub_op
    Tensor.__mul__ = Tensor.__rmul__ = mul


_bind_operators()

# Helpers the Tensor methods use that are not part of PyTorch's top-level namespace
_INTERNAL = {"as_tensor_operand", "logical_op", "getitem", "setitem", "to_dtype", "sum_to"}

__all__ = [n for n in (list(_ew_all) + list(_rd_all) + list(_sh_all) + list(_ix_all)
                       + list(_la_all) + list(_cr_all) + list(_ac_all) + list(_mx_all)) if n not in _INTERNAL]
