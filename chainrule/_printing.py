"""PyTorch-style ``repr`` for tensors stored as NumPy arrays.

The output matches ``repr(torch.tensor(...))`` character for character, for the
dtypes chainrule supports (float16/32/64, int8/16/32/64, uint8, bool).  The rules
follow ``torch/_tensor_str.py``:

* One formatter is chosen for the whole tensor (only the printed elements when
  it is summarized), so every element has the same width and columns line up.
* Floats print in one of three styles: integer style (``4.``) when every
  nonzero finite value is a whole number, fixed point (``33.2000``), or
  scientific (``1.0000e+05``) when the magnitudes span more than a factor
  of 1000 or leave the range [1e-4, 1e8].  Zeros, nan and inf take no part in
  that choice or in the width.
* Rows are nested with ``[``, continuation lines are indented to sit under the
  first element, and dimensions of rank ``d`` are separated by ``d - 1`` newlines.
* Tensors with more than ``threshold`` elements show only ``edgeitems`` items at
  each end of every dimension, with ``...`` in between.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np

__all__ = ["tensor_repr", "set_printoptions", "get_printoptions"]

_PREFIX = "tensor("


@dataclasses.dataclass
class _PrintOptions:
    """The options torch keeps in ``torch._tensor_str.PRINT_OPTS``."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


_OPTIONS = _PrintOptions()

# precision, threshold, edgeitems, linewidth for each named profile, as in torch.
_PROFILES: dict[str, tuple[int, float, int, int]] = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the options used by :func:`tensor_repr`, with ``torch.set_printoptions`` semantics.

    ``profile`` ("default", "short" or "full") is applied first and the explicit
    arguments override it.  Like torch, ``sci_mode`` is always assigned, so any
    call that leaves it out switches back to the automatic choice.
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}; expected one of {sorted(_PROFILES)}")
        (_OPTIONS.precision, _OPTIONS.threshold,
         _OPTIONS.edgeitems, _OPTIONS.linewidth) = _PROFILES[profile]
    if precision is not None:
        _OPTIONS.precision = precision
    if threshold is not None:
        _OPTIONS.threshold = threshold
    if edgeitems is not None:
        _OPTIONS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTIONS.linewidth = linewidth
    _OPTIONS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current options as a dict that can be passed back to :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTIONS)


# --------------------------------------------------------------------------- formatting


@dataclasses.dataclass(frozen=True)
class _Formatter:
    """Turns one element into a right-aligned string of a common ``width``.

    ``style`` is "plain" (integers and bools: ``str(value)``), "int" (whole-valued
    floats: ``4.``), "fixed" (``33.2000``) or "sci" (``1.0000e+05``).
    """

    style: str
    width: int
    precision: int

    def format(self, value: Any) -> str:
        """Format a Python scalar (from ``ndarray.tolist()``/``.item()``)."""
        if self.style == "sci":
            text = f"{value:.{self.precision}e}"
        elif self.style == "int":
            text = f"{value:.0f}"
            # The trailing dot marks the tensor as floating; nan/inf don't need it.
            if math.isfinite(value):
                text += "."
        elif self.style == "fixed":
            text = f"{value:.{self.precision}f}"
        else:
            text = f"{value}"
        return text.rjust(self.width)


def _make_formatter(values: np.ndarray, opts: _PrintOptions) -> _Formatter:
    """Choose style and width from ``values``, the flat array of the elements to print."""
    if not np.issubdtype(values.dtype, np.floating):
        width = max((len(f"{v}") for v in values.tolist()), default=1)
        return _Formatter("plain", max(width, 1), opts.precision)

    nonzero_finite = values[np.isfinite(values) & (values != 0)]
    if nonzero_finite.size == 0:
        # Nothing to measure: torch falls back to integer style (even if sci_mode
        # is forced) with width 1, so zeros print as "0." and nan as "nan".
        return _Formatter("int", 1, opts.precision)

    floats = nonzero_finite.astype(np.float64).tolist()  # exact: widening is lossless
    int_valued = all(v == math.ceil(v) for v in floats)
    if opts.sci_mode is None:
        sci = _wants_scientific(floats)
    else:
        sci = opts.sci_mode

    if sci:
        style, widths = "sci", (len(f"{v:.{opts.precision}e}") for v in floats)
    elif int_valued:
        style, widths = "int", (len(f"{v:.0f}") + 1 for v in floats)  # +1 for the dot
    else:
        style, widths = "fixed", (len(f"{v:.{opts.precision}f}") for v in floats)
    return _Formatter(style, max(1, max(widths)), opts.precision)


def _wants_scientific(nonzero_finite: list[float]) -> bool:
    """torch's automatic rule: a wide dynamic range, or very large or small magnitudes."""
    magnitudes = [abs(v) for v in nonzero_finite]
    largest, smallest = max(magnitudes), min(magnitudes)
    # Python float division gives inf instead of warning when the ratio overflows.
    return largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4


def _summarized_values(data: np.ndarray, edgeitems: int) -> np.ndarray:
    """Flat array of the elements a summarized print shows (torch's get_summarized_data)."""
    if data.ndim == 0:
        return data.reshape(-1)
    if not edgeitems:
        return data[:0].reshape(-1)  # only "..." is printed, so there is nothing to measure
    if data.ndim == 1:
        if data.shape[0] > 2 * edgeitems:
            return np.concatenate((data[:edgeitems], data[-edgeitems:]))
        return data
    rows = _shown_rows(data.shape[0], edgeitems, summarize=True)
    return np.concatenate([_summarized_values(data[i], edgeitems) for i in rows if i is not None])


def _shown_rows(length: int, edgeitems: int, summarize: bool) -> list[int | None]:
    """Indices of the sub-tensors to print along one dimension; ``None`` marks the '...' gap."""
    if summarize and length > 2 * edgeitems:
        return [*range(edgeitems), None, *range(length - edgeitems, length)]
    return list(range(length))


# --------------------------------------------------------------------------- layout


def _vector_str(data: np.ndarray, indent: int, summarize: bool,
                fmt: _Formatter, opts: _PrintOptions) -> str:
    """Lay out a 1-d array, wrapping so no line passes ``linewidth``."""
    if summarize and not opts.edgeitems:
        items = ["..."]
    elif summarize and data.shape[0] > 2 * opts.edgeitems:
        edge = opts.edgeitems
        items = ([fmt.format(v) for v in data[:edge].tolist()] + [" ..."]
                 + [fmt.format(v) for v in data[-edge:].tolist()])
    else:
        items = [fmt.format(v) for v in data.tolist()]

    # Each element takes its width plus ", "; the gap " ..." counts as one element.
    per_line = max(1, math.floor((opts.linewidth - indent) / (fmt.width + 2)))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(data: np.ndarray, indent: int, summarize: bool,
                fmt: _Formatter, opts: _PrintOptions) -> str:
    """Lay out an array of any rank; ``indent`` is the column of its opening bracket."""
    if data.ndim == 0:
        return fmt.format(data.item())
    if data.ndim == 1:
        return _vector_str(data, indent, summarize, fmt, opts)

    parts = ["..." if i is None else _nested_str(data[i], indent + 1, summarize, fmt, opts)
             for i in _shown_rows(data.shape[0], opts.edgeitems, summarize)]
    # Blank lines separate blocks: one fewer newline than the rank of this level.
    separator = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(parts) + "]"


def _contents_str(data: np.ndarray, indent: int, opts: _PrintOptions) -> str:
    """The bracketed contents of a non-empty array."""
    summarize = data.size > opts.threshold
    shown = _summarized_values(data, opts.edgeitems) if summarize else data.reshape(-1)
    return _nested_str(data, indent, summarize, _make_formatter(shown, opts), opts)


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int, linewidth: int) -> str:
    """Append ``, suffix`` items and the closing parenthesis, wrapping long lines."""
    pieces = [text]
    # torch measures the last line as its length + 2 (an off-by-two in its rfind
    # arithmetic); we keep the same measure so lines break where torch breaks them.
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            line_len += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def tensor_repr(data: np.ndarray, *, dtype_label: str | None = None,
                extras: Sequence[str] = ()) -> str:
    """Return the PyTorch-style repr of ``data``.

    Examples: ``'tensor([ 0.,  4.,  8., 12.])'``, ``'tensor(28., grad_fn=<MulBackward0>)'``.

    dtype_label: e.g. ``'chainrule.float64'``, appended as ``', dtype=chainrule.float64'``
        when not None.  The caller decides when to pass it, as torch does: omit it for
        the default float dtype, int64 and bool -- except for *empty* tensors, where
        torch shows every dtype other than the default float dtype (int64 and bool too).
    extras: already formatted suffixes appended in order after the dtype, e.g.
        ``['requires_grad=True']`` or ``['grad_fn=<MulBackward0>']``.

    An empty array of rank other than 1, and any array while ``edgeitems`` is 0,
    also gets a ``size=(...)`` suffix before the dtype, as in torch.
    """
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor_repr supports bool, integer and float arrays, not {array.dtype}")
    opts = dataclasses.replace(_OPTIONS)  # a snapshot, so one repr uses one set of options
    indent = len(_PREFIX)

    suffixes: list[str] = []
    if array.size == 0:
        contents = "[]"
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
    else:
        contents = _contents_str(array, indent, opts)
        if not opts.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
    if dtype_label is not None:
        suffixes.append(f"dtype={dtype_label}")
    suffixes.extend(extras)
    return _add_suffixes(_PREFIX + contents, suffixes, indent, opts.linewidth)
