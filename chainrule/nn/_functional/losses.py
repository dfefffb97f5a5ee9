"""Loss functions with PyTorch's signatures and reductions, composed from chainrule's
primitives (no derivative code of their own).

Stability comes from the pieces: ``cross_entropy`` goes through ``log_softmax``, which is
``x - logsumexp(x)`` with the stable ``logsumexp`` primitive; ``binary_cross_entropy_with_logits``
goes through the stable ``logsigmoid``; ``binary_cross_entropy`` clamps its logarithms at
-100 as PyTorch does. Logits of +-1e4 give finite losses and gradients.

Class indices are picked out with integer indexing (``logp[arange(N), target]``), which
also works under ``vmap`` with batched targets.
"""
from __future__ import annotations

import functools
import warnings
from typing import Optional

import numpy as np

from ... import ops
from ..._special import SPECIAL
from ...autograd.graph import show_as
from ...ops.activation import log_softmax
from ...tensor import Tensor
from .activations import logsigmoid

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

_LOG_FLOOR = -100.0
_TINY = 1e-45  # log(max(x, 1e-45)) < -100 (also in float32, as a subnormal): log never sees 0


# ----------------------------------------------------------------------------- reductions

def _legacy_reduction(size_average: Optional[bool], reduce: Optional[bool]) -> str:
    """The ``reduction`` string for the deprecated ``size_average``/``reduce`` arguments."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                  + ("mean" if size_average and reduce else "sum" if reduce else "none")
                  + "' instead.", stacklevel=3)
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _resolve(size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    return reduction


def _shown_as(node_name: str):
    """The loss's grad_fn prints under PyTorch's name (``MseLossBackward0``) although the
    loss is composed of several primitives."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(input, target, *args, **kwargs):
            return show_as(fn(input, target, *args, **kwargs), node_name, input, target)
        return wrapper
    return decorate


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; use 'none', "
                     "'mean' or 'sum'")


def _traced(*tensors) -> bool:
    """True under vmap for values that depend on the batched inputs (their data is not one
    example's, so data-dependent checks are skipped)."""
    return SPECIAL.is_traced is not None and any(
        isinstance(t, Tensor) and SPECIAL.is_traced(t) for t in tensors)


def _check_same_size(op: str, input: Tensor, target: Tensor) -> None:
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{op}: using a target size ({list(target.shape)}) that is different to the "
                      f"input size ({list(input.shape)}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      stacklevel=3)


def _weighted(op: str, loss: Tensor, input: Tensor, weight: Optional[Tensor], reduction: str,
              mean_by_weight: bool) -> Tensor:
    """PyTorch's elementwise ``weight`` for mse/l1/huber: ``mean`` divides by ``weight.sum()``
    (mse, l1) or by the number of elements (huber)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean":
        return ops.sum(loss) / ops.sum(weight) if mean_by_weight else ops.mean(loss)
    return _reduce(loss, reduction, op)


# ----------------------------------------------------------------------------- regression

@_shown_as("MseLossBackward0")
def mse_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
             reduce: Optional[bool] = None, reduction: str = "mean",
             weight: Optional[Tensor] = None) -> Tensor:
    """Squared error ``(input - target)**2``, reduced by ``reduction``."""
    _check_same_size("mse_loss", input, target)
    reduction = _resolve(size_average, reduce, reduction)
    d = input - target
    loss = d * d
    if weight is not None:
        return _weighted("mse_loss", loss, input, weight, reduction, True)
    return _reduce(loss, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
            reduce: Optional[bool] = None, reduction: str = "mean",
            weight: Optional[Tensor] = None) -> Tensor:
    """Absolute error ``|input - target|``, reduced by ``reduction``."""
    _check_same_size("l1_loss", input, target)
    reduction = _resolve(size_average, reduce, reduction)
    loss = ops.abs(input - target)
    if weight is not None:
        return _weighted("l1_loss", loss, input, weight, reduction, True)
    return _reduce(loss, reduction, "l1_loss")


@_shown_as("SmoothL1LossBackward0")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
                   reduce: Optional[bool] = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``);
    ``beta = 0`` is the L1 loss."""
    _check_same_size("smooth_l1_loss", input, target)
    reduction = _resolve(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    ad = ops.abs(d)
    if beta == 0:
        loss = ad
    else:
        loss = ops.where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


@_shown_as("HuberLossBackward0")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Optional[Tensor] = None) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``."""
    _check_same_size("huber_loss", input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = input - target
    ad = ops.abs(d)
    loss = ops.where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        return _weighted("huber_loss", loss, input, weight, reduction, False)
    return _reduce(loss, reduction, "huber_loss")


# ----------------------------------------------------------------------------- classification

def _check_weight(op: str, weight: Optional[Tensor], n_classes: int) -> None:
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_classes):
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")


def _pick(input: Tensor, target: Tensor) -> Tensor:
    """``input`` at the class ``target`` along dim 1 (dim 0 for a 1-D input): the result has
    the target's shape. Integer indexing, so the backward adds into the picked entries."""
    if input.ndim == 1:
        return input[target]
    shape = tuple(target.shape)
    nd = len(shape)
    index = []
    for d in range(input.ndim):
        if d == 1:
            index.append(target)
            continue
        td = d if d == 0 else d - 1
        s = [1] * nd
        s[td] = shape[td]
        index.append(np.arange(shape[td]).reshape(s))
    return input[tuple(index)]


def _check_targets(op: str, input: Tensor, target: Tensor, ignore_index: int) -> None:
    """Shapes and (outside vmap) class ranges of an index target, with PyTorch's messages."""
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected scalar type Long for the class-index target but found "
                           f"{target.dtype}; pass class indices as an integer tensor (or class "
                           "probabilities with the input's shape)")
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have at least 1 dimension (classes), got a scalar")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: for a 1-D input (C,) the target must be a 0-D class index, got "
                             f"shape {list(target.shape)}")
    else:
        if target.ndim == 0 or target.shape[0] != input.shape[0]:
            n_t = target.shape[0] if target.ndim else "a scalar"
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({n_t}).")
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            raise RuntimeError(f"{op}: expected target size {list(expected)}, got "
                               f"{list(target.shape)} (input {list(input.shape)} is (N, C, d1, ...), "
                               "target must be (N, d1, ...))")
    if not _traced(target):
        t = target._data
        n_classes = input.shape[0 if input.ndim == 1 else 1]
        bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
        if bad.any():
            raise IndexError(f"Target {int(t[bad].flat[0])} is out of bounds.")


@_shown_as("NllLossBackward0")
def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average: Optional[bool] = None, ignore_index: int = -100,
             reduce: Optional[bool] = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d1, ...) or (C,) at the
    class indices ``target`` (N, d1, ...) or ().

    ``loss_i = -weight[t_i] * input[i, t_i]`` (0 where ``t_i == ignore_index``); ``mean`` divides
    the sum by the total weight of the non-ignored targets, as PyTorch does."""
    reduction = _resolve(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"nll_loss: {reduction!r} is not a valid value for reduction")
    _check_targets("nll_loss", input, target, ignore_index)
    n_classes = input.shape[0 if input.ndim == 1 else 1]
    _check_weight("nll_loss", weight, n_classes)
    loss, w = _nll_parts(input, target, weight, ignore_index)
    if reduction == "none":
        return loss
    total = ops.sum(loss)
    if reduction == "sum":
        return total
    return total / (ops.sum(w) if w is not None else float(target.numel()))


def _nll_parts(input: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int):
    """(per-target loss, per-target weight or None when every weight is 1)."""
    maybe_ignored = _traced(target) or bool((target._data == ignore_index).any())
    if not maybe_ignored:
        picked = _pick(input, target)
        if weight is None:
            return -picked, None
        w = weight[target]
        return -(picked * w), w
    valid = target != ignore_index
    safe = ops.where(valid, target, 0)
    picked = _pick(input, safe)
    if weight is None:
        w = valid.to(input.dtype)
        loss = ops.where(valid, -picked, 0.0)
    else:
        w_safe = weight[safe]
        w = ops.where(valid, w_safe, 0.0)
        loss = ops.where(valid, -(picked * w_safe), 0.0)
    # where(), not a product with the mask: when every target is ignored, 'mean' is 0/0 and
    # its infinite cotangent must not reach the ignored entries (PyTorch's gradient is 0 there)
    return loss, w


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average: Optional[bool] = None, ignore_index: int = -100,
                  reduce: Optional[bool] = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` (N, C, d1, ...) or (C,) and a target of class
    indices (N, d1, ...) or of class probabilities (the input's shape).

    With indices it is ``nll_loss(log_softmax(input, 1), target, ...)`` plus, for
    ``label_smoothing = e``, ``e / C`` times the (weighted) sum of ``-log_softmax`` over the
    classes in place of ``e`` of the nll term, normalised the way PyTorch normalises it.
    With probabilities ``mean`` divides by the number of examples (weights do not enter)."""
    reduction = _resolve(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: {reduction!r} is not a valid value for reduction")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension (classes), got a "
                         "scalar")
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    _check_weight("cross_entropy", weight, n_classes)
    logp = log_softmax(input, class_dim)
    bshape = [1] * input.ndim
    bshape[class_dim] = n_classes

    if tuple(target.shape) == tuple(input.shape) and target._data.dtype.kind in "iu":
        raise RuntimeError("cross_entropy: expected floating point type for target with class "
                           "probabilities, got " + str(target.dtype))
    if tuple(target.shape) == tuple(input.shape):  # class probabilities
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if label_smoothing > 0:
            target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(bshape)
        loss = -ops.sum(prod, class_dim)
        if reduction == "mean":
            return ops.sum(loss) / (input.numel() / n_classes)
        return _reduce(loss, reduction, "cross_entropy")

    _check_targets("cross_entropy", input, target, ignore_index)
    loss, w = _nll_parts(logp, target, weight, ignore_index)
    if reduction == "mean":
        denom = ops.sum(w) if w is not None else float(target.numel())
        nll = ops.sum(loss) / denom
    elif reduction == "sum":
        nll = ops.sum(loss)
    else:
        nll = loss
    if label_smoothing <= 0:
        return show_as(nll, "NllLossBackward0", input, target)  # PyTorch's name here
    smooth = -ops.sum(logp * weight.reshape(bshape) if weight is not None else logp, class_dim)
    if _traced(target) or bool((target._data == ignore_index).any()):
        smooth = ops.where(target != ignore_index, smooth, 0.0)
    if reduction == "mean":  # normalised like the nll term: by the non-ignored targets' weight
        smooth = ops.sum(smooth) / (ops.sum(w) if w is not None else float(target.numel()))
    elif reduction == "sum":
        smooth = ops.sum(smooth)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / n_classes)


@_shown_as("BinaryCrossEntropyBackward0")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         size_average: Optional[bool] = None, reduce: Optional[bool] = None,
                         reduction: str = "mean") -> Tensor:
    """``-weight * (t log(x) + (1 - t) log(1 - x))`` for probabilities ``x``; each logarithm is
    clamped at -100 as in PyTorch, so ``x`` of exactly 0 or 1 gives a finite loss."""
    reduction = _resolve(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to the input "
                         f"size ({list(input.shape)}) is deprecated. Please ensure they have the "
                         "same size.")
    if not _traced(input):
        x = input._data
        if x.size and ((x < 0) | (x > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
    # log never sees 0, so its gradient stays finite (0, from the clamp) where x is 0 or 1
    log_x = ops.clamp(ops.log(ops.clamp(input, min=_TINY)), min=_LOG_FLOOR)
    log_1mx = ops.clamp(ops.log(ops.clamp(1.0 - input, min=_TINY)), min=_LOG_FLOOR)
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


@_shown_as("BinaryCrossEntropyWithLogitsBackward0")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                     size_average: Optional[bool] = None,
                                     reduce: Optional[bool] = None, reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """Binary cross entropy of ``sigmoid(input)``, computed as
    ``(1 - t) x - (1 + (pos_weight - 1) t) logsigmoid(x)``: finite for any logit."""
    reduction = _resolve(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({list(target.shape)}) must be the same as input size "
                         f"({list(input.shape)})")
    ls = logsigmoid(input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input - log_weight * ls
    else:
        loss = (1.0 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _xlogx(t: Tensor) -> Tensor:
    """``t * log(t)``, 0 at ``t = 0`` (with a finite gradient there)."""
    zero = t == 0
    return ops.where(zero, 0.0, t * ops.log(ops.where(zero, 1.0, t)))


def kl_div(input: Tensor, target: Tensor, size_average: Optional[bool] = None,
           reduce: Optional[bool] = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``target * (log(target) - input)`` with ``input`` a
    log-probability (and ``target`` one too when ``log_target``).

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically correct
    KL); ``'mean'`` divides by the number of elements, as PyTorch does."""
    reduction = _resolve(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        total = ops.sum(loss)
        return total / input.shape[0] if input.ndim != 0 else total
    return _reduce(loss, reduction, "kl_div")
