"""Convolution and pooling layers (the functions are in chainrule.ops.conv)."""
from __future__ import annotations

import math
from typing import Optional, Tuple, Union

from .. import dtypes as _dt
from ..ops import conv as _conv
from ..ops.creation import empty
from ..ops.shape import pad as _pad
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
           "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]

IntOrTuple = Union[int, Tuple[int, ...]]


def _ntuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


_PADDING_MODES = {"zeros", "reflect", "replicate", "circular"}


class _ConvNd(Module):
    """Shared by the convolutions: weight/bias with PyTorch's shapes and default init."""

    _n = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: Union[str, IntOrTuple] = 0,
                 dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None,
                 output_padding: IntOrTuple = 0) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode='{padding_mode}'")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        n = self._n
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        self.groups = groups
        self.padding_mode = padding_mode
        # for the other modes: F.pad's widths (last dimension first), then a padding-0 conv
        if isinstance(self.padding, str):
            total = [d * (k - 1) if self.padding == "same" else 0
                     for d, k in zip(self.dilation, self.kernel_size)]
            self._reversed_padding_repeated_twice = tuple(
                w for t in reversed(total) for w in (t // 2, t - t // 2))
        else:
            self._reversed_padding_repeated_twice = tuple(
                p for p in reversed(self.padding) for _ in range(2))
        dt = _dt.as_dtype(dtype) if dtype is not None else None
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(*shape, dtype=dt))
        self.register_parameter("bias", Parameter(empty(out_channels, dtype=dt)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) weight, uniform(+-1/sqrt(fan_in)) bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self._n
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _padded(self, input: Tensor) -> tuple:
        """(input, padding) for the convolution: padded here for the non-zero modes."""
        if self.padding_mode == "zeros":
            return input, self.padding
        return (_pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                (0,) * self._n)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) (or (C, H, W)) inputs."""

    _n = 2

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded(input)
        return _conv.conv2d(input, self.weight, self.bias, self.stride, padding,
                            self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) (or (C, L)) inputs."""

    _n = 1

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded(input)
        return _conv.conv1d(input, self.weight, self.bias, self.stride, padding,
                            self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose (gradient) of Conv2d, used to upsample."""

    _n = 2
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                 groups: int = 1, bias: bool = True, dilation: IntOrTuple = 1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype, output_padding=output_padding)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return _conv.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                      self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(ConvTranspose2d):
    """The transpose of Conv1d."""

    _n = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return _conv.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                      self.output_padding, self.groups, self.dilation)


class _MaxPoolNd(Module):
    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, dilation: IntOrTuple = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """The largest value of each window (the gradient goes to it)."""

    def forward(self, input: Tensor):
        return _conv.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    def forward(self, input: Tensor):
        return _conv.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """The mean of each window."""

    def forward(self, input: Tensor) -> Tensor:
        return _conv.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)


class AvgPool1d(_AvgPoolNd):
    def __init__(self, kernel_size: IntOrTuple, stride: Optional[IntOrTuple] = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        # PyTorch keeps AvgPool1d's sizes as 1-tuples (MaxPool1d's as given)
        super().__init__(_ntuple(kernel_size, 1), _ntuple(stride if stride is not None
                                                           else kernel_size, 1),
                         _ntuple(padding, 1), ceil_mode, count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return _conv.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size."""

    def __init__(self, output_size: IntOrTuple) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return _conv.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    def forward(self, input: Tensor) -> Tensor:
        return _conv.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (``return_indices`` also gives where each max is)."""

    def __init__(self, output_size: IntOrTuple, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return _conv.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    def forward(self, input: Tensor):
        return _conv.adaptive_max_pool1d(input, self.output_size, self.return_indices)
