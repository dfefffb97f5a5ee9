"""Anomaly detection: find the forward operation whose backward produced NaN or Inf.

In this mode every recorded operation keeps the stack of the Python call that made it
(at no cost otherwise), and the backward pass checks each gradient it computes. The first
NaN or Inf raises a RuntimeError that names the operation's grad_fn, the input whose
gradient it was, and shows where in your code that operation was called::

    with chainrule.autograd.detect_anomaly():
        loss = model(x).log().sum()
        loss.backward()          # RuntimeError: Function 'LogBackward0' returned nan ...
"""
from __future__ import annotations

import threading
import traceback
from pathlib import Path

import numpy as np

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
_LOCK = threading.Lock()


def _forward_stack() -> list:
    """The caller's stack, without chainrule's own frames after the first one entered
    (the user sees their line and the chainrule function they called, not its insides)."""
    frames = traceback.extract_stack()[:-1]
    cut = len(frames)
    while cut > 0 and frames[cut - 1].filename.startswith(_PACKAGE_DIR):
        cut -= 1
    keep = frames[:min(cut + 1, len(frames))]
    return traceback.format_list(keep)


class _State:
    enabled = False
    check_nan = True


_STATE = _State()


def _check(node, grad, contributions) -> None:
    """The engine observer: raise on the first NaN/Inf gradient a node sends to an input."""
    if not _STATE.check_nan:
        return
    for index, _edge, g in contributions:
        data = getattr(g, "_data", g)
        arr = np.asarray(data)
        if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
            continue
        what = "nan" if np.isnan(arr).any() else "inf"
        name = node.name()
        trace = node.trace
        where = ("\nThe forward call that created it (most recent call last):\n" + "".join(trace)
                 if trace else
                 "\n(No forward stack: this operation was recorded before anomaly detection "
                 "was switched on; run the forward pass inside detect_anomaly() too.)")
        grad_note = ""
        g_arr = np.asarray(getattr(grad, "_data", grad))
        if g_arr.dtype.kind in "fc" and not np.isfinite(g_arr).all():
            grad_note = " (the gradient it received was already not finite)"
        raise RuntimeError(
            f"Function '{name}' returned {what} values in its {index}th output{grad_note}: the "
            f"gradient for input {index} of this {node.prim.name} (output shape "
            f"{list(node.out_shape)}) contains {what.upper() if what == 'nan' else 'Inf'}. "
            "Hint: look for log/sqrt/div of zero or negative values, or overflow, in that "
            f"operation's inputs (e.g. clamp them, or add a small epsilon).{where}")


def _switch(mode: bool, check_nan: bool) -> None:
    from ..ops.primitive import _ANOMALY
    from . import engine
    with _LOCK:
        _STATE.enabled = bool(mode)
        _STATE.check_nan = bool(check_nan)
        _ANOMALY.enabled = _STATE.enabled
        if _STATE.enabled and _check not in engine.OBSERVERS:
            engine.OBSERVERS.append(_check)
        elif not _STATE.enabled and _check in engine.OBSERVERS:
            engine.OBSERVERS.remove(_check)


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on.

    Forward operations keep the stack that created them; a NaN or Inf computed in
    backward raises a RuntimeError naming the operation and showing that stack. Slows
    everything down: use it to debug, not to train. ``check_nan=False`` keeps the stacks
    but skips the checks.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev = (False, True)

    def __enter__(self) -> "detect_anomaly":
        self.prev = (_STATE.enabled, _STATE.check_nan)
        _switch(True, self.check_nan)
        return self

    def __exit__(self, *exc) -> None:
        _switch(*self.prev)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Switch anomaly detection on or off: as a plain call, or as a context manager that
    restores the previous setting on exit (as in PyTorch)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (_STATE.enabled, _STATE.check_nan)
        _switch(mode, check_nan)

    def __enter__(self) -> "set_detect_anomaly":
        return self

    def __exit__(self, *exc) -> None:
        _switch(*self.prev)


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return _STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection checks gradients for NaN/Inf."""
    return _STATE.enabled and _STATE.check_nan
