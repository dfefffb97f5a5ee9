"""Reverse-mode differentiation: ``backward``, ``grad``, grad-mode switches and ``Function``.

The engine and Function are loaded on first use: ``chainrule.tensor`` imports the
grad-mode switches from this package before the engine (which needs Tensor) can load.
"""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401
                        is_grad_enabled, is_inference_mode_enabled)
from .graph import Node  # noqa: F401

__all__ = ["forward_ad", "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "Node",
           "GradientTape", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled", "record_gradients", "explain"]

_LAZY = {"forward_ad": None, "backward": "engine", "grad": "engine", "Function": "function",
         "FunctionCtx": "function", "once_differentiable": "function", "GradientTape": "tape",
         "detect_anomaly": "anomaly_mode", "set_detect_anomaly": "anomaly_mode",
         "is_anomaly_enabled": "anomaly_mode", "is_anomaly_check_nan_enabled": "anomaly_mode",
         "record_gradients": "recording", "explain": "explanation"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        if _LAZY[name] is None:  # a submodule
            value = importlib.import_module(f"{__name__}.{name}")
        else:
            value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
