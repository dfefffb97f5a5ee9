"""Neural network building blocks with PyTorch's names: Module, Parameter, layers, losses,
``nn.functional``, ``nn.init`` and ``nn.utils``."""
from .parameter import Parameter, Buffer  # noqa: F401
from .module import Module  # noqa: F401
from .container import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                        ParameterDict)
from .flatten import Identity, Flatten, Unflatten  # noqa: F401
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,  # noqa: F401
                            InstanceNorm2d, InstanceNorm3d, LayerNorm, GroupNorm, RMSNorm)
from .dropout import (Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout,  # noqa: F401
                      FeatureAlphaDropout)
from .sparse import Embedding  # noqa: F401
from .conv import (Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, MaxPool1d,  # noqa: F401
                   MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d,
                   AdaptiveMaxPool1d, AdaptiveMaxPool2d)
from .linear import Linear, Bilinear  # noqa: F401
from .padding import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell  # noqa: F401
from .attention import MultiheadAttention  # noqa: F401
from .transformer import TransformerEncoderLayer, TransformerEncoder  # noqa: F401
from . import init  # noqa: F401
from . import utils  # noqa: F401
from . import functional  # noqa: F401,E402
