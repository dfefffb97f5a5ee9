"""Recurrent layers with PyTorch's names, parameters and defaults: RNN (tanh or relu), LSTM,
GRU and their single-step cells.

A layer computes the input projections of every time step with one matmul
(``x @ W_ih^T + b``), then runs the recurrence as one primitive per layer and direction
(``chainrule.ops.recurrent``): the time loop and backpropagation through time run in
NumPy without a graph node per gate and step.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

from ..ops.primitive import apply
from ..ops import recurrent as _rec
from ..ops.shape import cat, reshape, stack, transpose, unsqueeze, squeeze
from ..ops.elementwise import relu, sigmoid, tanh
from ..tensor import Tensor
from .module import Module
from .parameter import Parameter
from . import init as _init

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _new_param(*shape: int) -> Parameter:
    from ..ops.creation import empty
    return Parameter(empty(*shape))


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: parameters named as PyTorch names them
    (``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``),
    all initialised from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if proj_size:
            raise NotImplementedError("proj_size > 0 (LSTM with projections) is not supported")
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"{mode}: chainrule runs on the CPU only; got device {device!r}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if dropout > 0 and num_layers == 1:
            import warnings
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        gate = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names: List[str] = []
        for layer in range(num_layers):
            for d in range(dirs):
                in_size = input_size if layer == 0 else hidden_size * dirs
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], _new_param(gate, in_size))
                setattr(self, names[1], _new_param(gate, hidden_size))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], _new_param(gate))
                    setattr(self, names[3], _new_param(gate))
                self._flat_weights_names.extend(names)
        if dtype is not None:
            self.to(dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            _init.uniform_(p, -stdv, stdv)

    @property
    def all_weights(self) -> List[List[Parameter]]:
        """The parameters grouped per layer and direction, as PyTorch's ``all_weights``."""
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[k:k + per]] for k in range(0, len(names), per)]

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch packs weights for cuDNN here)."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward
    def _check_input(self, input: Tensor) -> bool:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got "
                            f"{type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D tensor instead (shape {list(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: input.size(-1) must be equal to "
                               f"input_size. Expected {self.input_size}, got {input.shape[-1]}")
        return input.dim() == 3

    def _check_hidden(self, h: Tensor, batch: int, what: str) -> None:
        want = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if tuple(h.shape) != want:
            raise RuntimeError(f"{type(self).__name__}: Expected {what} size {want}, got "
                               f"{tuple(h.shape)}")

    def _run(self, input: Tensor, states: List[Tensor]) -> Tuple[Tensor, List[Tensor]]:
        """Run all layers on a (T, B, I) input. ``states`` holds one (L*D, B, H) tensor per
        kind of state (h, and c for LSTM); returns the output and the final states."""
        T, B = input.shape[0], input.shape[1]
        H = self.hidden_size
        dirs = 2 if self.bidirectional else 1
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        finals: List[List[Tensor]] = [[] for _ in states]
        x = input
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                ws = [getattr(self, n) for n in names[k * per:(k + 1) * per]]
                w_ih, w_hh = ws[0], ws[1]
                # one matmul for the input projections of all steps
                xp = reshape(x, (T * B, x.shape[2])) @ w_ih.t()
                if self.bias and self.mode != "LSTM":
                    xp = xp + (ws[2] if self.mode == "GRU" else ws[2] + ws[3])
                xp = reshape(xp, (T, B, xp.shape[1]))
                init = [s[k] for s in states]
                rev = d == 1
                if self.mode == "LSTM":  # the biases are added inside, step by step
                    b = ws[2] + ws[3] if self.bias else None
                    packed = apply(_rec._lstm_layer, xp, w_hh, b, init[0], init[1], reverse=rev)
                    y = packed[:T]
                    finals[0].append(packed[0] if rev else packed[T - 1])
                    finals[1].append(packed[T] if rev else packed[2 * T - 1])
                elif self.mode == "GRU":
                    if self.bias:
                        b_hh = ws[3]
                    else:
                        from ..ops.creation import zeros
                        b_hh = zeros(3 * H, dtype=xp.dtype)
                    y = apply(_rec._gru_layer, xp, w_hh, b_hh, init[0], reverse=rev)
                    finals[0].append(y[0] if rev else y[T - 1])
                else:
                    nl = "tanh" if self.mode == "RNN_TANH" else "relu"
                    y = apply(_rec._rnn_layer, xp, w_hh, init[0], reverse=rev, nonlinearity=nl)
                    finals[0].append(y[0] if rev else y[T - 1])
                outs.append(y)
            x = outs[0] if dirs == 1 else cat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                from ._functional.dropout import dropout as _dropout
                x = _dropout(x, self.dropout, True)
        return x, [stack(f, 0) for f in finals]

    def _forward(self, input: Tensor, hx, n_states: int):
        batched = self._check_input(input)
        if not batched:
            input = unsqueeze(input, 1)
        elif self.batch_first:
            input = transpose(input, 0, 1)
        B = input.shape[1]
        dirs = 2 if self.bidirectional else 1
        if hx is None:
            from ..ops.creation import zeros
            hx = [zeros(self.num_layers * dirs, B, self.hidden_size, dtype=input.dtype)
                  for _ in range(n_states)]
        else:
            hx = list(hx) if n_states > 1 else [hx]
            if len(hx) != n_states:
                raise RuntimeError(f"{type(self).__name__}: expected hx to be a tuple of "
                                   f"{n_states} tensors (h_0, c_0)")
            for i, h in enumerate(hx):
                if not batched:
                    if h.dim() != 2:
                        raise RuntimeError(f"{type(self).__name__}: For unbatched 2-D input, hx "
                                           f"should also be 2-D but got {h.dim()}-D tensor")
                    hx[i] = unsqueeze(h, 1)
                elif h.dim() != 3:
                    raise RuntimeError(f"{type(self).__name__}: For batched 3-D input, hx should "
                                       f"also be 3-D but got {h.dim()}-D tensor")
                self._check_hidden(hx[i], B, "hidden" if i == 0 else "cell")
        out, finals = self._run(input, hx)
        if not batched:
            out = squeeze(out, 1)
            finals = [squeeze(f, 1) for f in finals]
        elif self.batch_first:
            out = transpose(out, 0, 1)
        return out, finals


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, hx=None)``
    returns ``(output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """``input`` (L, N, H_in) (or (N, L, H_in) with batch_first, or unbatched (L, H_in));
        ``hx`` (D*num_layers, N, H_out). Returns (output, h_n)."""
        out, (h,) = self._forward(input, hx, 1)
        return out, h


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's gate order (input, forget, cell, output).

    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None
                ) -> Tuple[Tensor, Tuple[Tensor, Tensor]]:
        """Returns ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)`` or None for zeros."""
        out, (h, c) = self._forward(input, hx, 2)
        return out, (h, c)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's gate order (reset, update, new) with
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.

    ``forward(input, hx=None)`` returns ``(output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Returns ``(output, h_n)``."""
        out, (h,) = self._forward(input, hx, 1)
        return out, h


# ----------------------------------------------------------------------------- cells

class RNNCellBase(Module):
    """Parameters of a single-step cell: weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = _new_param(num_chunks * hidden_size, input_size)
        self.weight_hh = _new_param(num_chunks * hidden_size, hidden_size)
        if bias:
            self.bias_ih = _new_param(num_chunks * hidden_size)
            self.bias_hh = _new_param(num_chunks * hidden_size)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        if dtype is not None:
            self.to(dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            _init.uniform_(p, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor], bool]:
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size}")
        batched = input.dim() == 2
        if not batched:
            input = unsqueeze(input, 0)
            if hx is not None:
                hx = unsqueeze(hx, 0)
        if hx is not None and tuple(hx.shape) != (input.shape[0], self.hidden_size):
            raise RuntimeError(f"{type(self).__name__}: hidden state has shape "
                               f"{tuple(hx.shape)}, expected {(input.shape[0], self.hidden_size)}")
        return input, hx, batched

    def _gates(self, x: Tensor, h: Tensor) -> Tuple[Tensor, Tensor]:
        gi = x @ self.weight_ih.t()
        gh = h @ self.weight_hh.t()
        if self.bias:
            gi = gi + self.bias_ih
            gh = gh + self.bias_hh
        return gi, gh

    def _zeros(self, input: Tensor) -> Tensor:
        from ..ops.creation import zeros
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        """``input`` (N, H_in) or (H_in,), ``hx`` (N, H) or None; returns h' (N, H)."""
        x, h, batched = self._prepare(input, hx)
        if h is None:
            h = self._zeros(x)
        gi, gh = self._gates(x, h)
        a = gi + gh
        out = tanh(a) if self.nonlinearity == "tanh" else relu(a)
        return out if batched else squeeze(out, 0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c)=None)`` returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None
                ) -> Tuple[Tensor, Tensor]:
        """``input`` (N, H_in) or (H_in,); ``hx`` = (h, c) each (N, H), or None for zeros."""
        h0, c0 = (None, None) if hx is None else hx
        x, h, batched = self._prepare(input, h0)
        if h is None:
            h = self._zeros(x)
            c = self._zeros(x)
        else:
            c = c0 if batched else unsqueeze(c0, 0)
        gi, gh = self._gates(x, h)
        g = gi + gh
        H = self.hidden_size
        i = sigmoid(g[:, :H])
        f = sigmoid(g[:, H:2 * H])
        gg = tanh(g[:, 2 * H:3 * H])
        o = sigmoid(g[:, 3 * H:])
        c2 = f * c + i * gg
        h2 = o * tanh(c2)
        if not batched:
            return squeeze(h2, 0), squeeze(c2, 0)
        return h2, c2


class GRUCell(RNNCellBase):
    """One GRU step: r, z gates and ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        """``input`` (N, H_in) or (H_in,), ``hx`` (N, H) or None; returns h' (N, H)."""
        x, h, batched = self._prepare(input, hx)
        if h is None:
            h = self._zeros(x)
        gi, gh = self._gates(x, h)
        H = self.hidden_size
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        out = (1 - z) * n + z * h
        return out if batched else squeeze(out, 0)
