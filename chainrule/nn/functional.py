"""``chainrule.nn.functional``: the functions behind the layers, with PyTorch's names.

Each family lives in its own module; this one gathers them (``import
chainrule.nn.functional as F``)."""
from ._functional.activations import *  # noqa: F401,F403  (softmax, log_softmax with torch's args)
from ._functional.linear import linear, bilinear  # noqa: F401
from ._functional.losses import *  # noqa: F401,F403
from ._functional.normalization import (batch_norm, instance_norm, layer_norm,  # noqa: F401
                                        group_norm, rms_norm, normalize)
from ._functional.dropout import (dropout, dropout1d, dropout2d, dropout3d,  # noqa: F401
                                  alpha_dropout, feature_alpha_dropout)
from ._functional.sparse import embedding, one_hot  # noqa: F401
from ..ops.conv import (conv1d, conv2d, conv_transpose1d, conv_transpose2d,  # noqa: F401
                        max_pool1d, max_pool2d, avg_pool1d, avg_pool2d, adaptive_avg_pool1d,
                        adaptive_avg_pool2d, adaptive_max_pool1d, adaptive_max_pool2d)
from ..ops.shape import pad  # noqa: F401
from .attention import scaled_dot_product_attention  # noqa: F401
