"""A recording context for people who think in tapes, like TensorFlow's ``GradientTape``::

    x = chainrule.arange(4.0)
    with chainrule.autograd.GradientTape() as tape:
        tape.watch(x)
        y = 2 * chainrule.dot(x, x)
    tape.gradient(y, x)            # tensor([ 0.,  4.,  8., 12.])

chainrule records the graph as the program runs whenever an input requires grad, so the
tape is a thin layer over the reverse engine:

- ``watch(x)`` makes a tensor that does not require grad be recorded *while the tape is
  active* (inside the ``with`` block): it requires grad there, and gets its old flag back
  when the block ends (operations on it after the block are not recorded, as in
  TensorFlow).  Tensors that already require grad (parameters, TensorFlow's trainable
  variables) are watched automatically when ``watch_accessed_variables`` is True.
- ``gradient(target, sources)`` returns the gradients of ``target`` (summed over its
  elements if it is not a scalar, or weighted by ``output_gradients``) with respect to
  ``sources`` (a tensor, or a nested list/tuple/dict of them, giving the same structure);
  a source the target does not depend on gets None (``unconnected_gradients="zero"``
  gives zeros).  ``.grad`` fields are not touched.
- A non-persistent tape allows one ``gradient()`` call, after which its graph is freed;
  ``GradientTape(persistent=True)`` allows many.
- Tapes nest: a ``gradient()`` computed while another tape is recording is itself
  recorded (``create_graph=True``), so the outer tape can differentiate it again.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional

import numpy as np

from . import grad_mode as _gm
from ..tensor import Tensor, _wrap

__all__ = ["GradientTape"]


class _Active(threading.local):
    def __init__(self) -> None:
        self.tapes: List["GradientTape"] = []


_ACTIVE = _Active()


class GradientTape:
    """Record operations for automatic differentiation (TensorFlow's ``GradientTape``)."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._watched: List[Tensor] = []
        self._flipped: List[Tensor] = []   # tensors made to require grad by watch()
        self._recording = False
        self._used = False
        self._prev_grad_mode = True

    # ------------------------------------------------------------------ context
    def __enter__(self) -> "GradientTape":
        if self._recording:
            raise RuntimeError("GradientTape: this tape is already recording; a tape cannot be "
                               "entered twice at once")
        self._recording = True
        self._prev_grad_mode = _gm.STATE.enabled
        _gm.STATE.enabled = True
        for t in self._flipped:  # re-entering a tape: watched tensors are recorded again
            t._requires_grad = True
        _ACTIVE.tapes.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._recording = False
        _gm.STATE.enabled = self._prev_grad_mode
        if self in _ACTIVE.tapes:
            _ACTIVE.tapes.remove(self)
        for t in self._flipped:  # after the block, watched tensors are no longer recorded
            if t._grad_fn is None:
                t._requires_grad = False

    @contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Inside, operations are not recorded (``no_grad``)."""
        if not self._recording:
            raise RuntimeError("GradientTape.stop_recording: the tape is not recording; use it "
                               "inside the tape's `with` block")
        with _gm.no_grad():
            yield

    def reset(self) -> None:
        """Forget everything watched so far (the tape may be used again)."""
        self._restore()
        self._watched = []
        self._used = False

    # ------------------------------------------------------------------ watching
    def watch(self, tensor: Any) -> None:
        """Record operations on ``tensor`` (or on each tensor of a nested list/tuple/dict)
        from now until the end of the tape's ``with`` block."""
        from ..func._pytree import tree_flatten
        leaves, _ = tree_flatten(tensor)
        for t in leaves:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch: expected a Tensor (or a nested "
                                f"list/tuple/dict of Tensors), got {type(t).__name__}")
            if t._data.dtype.kind != "f":
                raise TypeError(f"GradientTape.watch: only floating point tensors can be "
                                f"watched; this one has dtype {t.dtype} (convert it with "
                                ".float() or .double() first)")
            if not any(w is t for w in self._watched):
                self._watched.append(t)
            if not t._requires_grad:
                if self._recording:
                    t._requires_grad = True
                if not any(w is t for w in self._flipped):
                    self._flipped.append(t)

    def watched_variables(self) -> tuple:
        """The tensors watched explicitly with :meth:`watch`."""
        return tuple(self._watched)

    def _restore(self) -> None:
        for t in self._flipped:
            if t._grad_fn is None:
                t._requires_grad = False
        self._flipped = []

    # ------------------------------------------------------------------ gradients
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """The gradient of ``target`` (a tensor or a list of them, summed) with respect to
        ``sources``, in the structure of ``sources``.

        ``output_gradients`` weights each target's elements (default: ones).  Sources that
        the target does not depend on get None, or zeros with
        ``unconnected_gradients="zero"``.  A non-persistent tape allows one call.
        """
        from ..func._pytree import tree_flatten, tree_unflatten
        from .engine import grad as _engine_grad
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError("GradientTape.gradient: unconnected_gradients must be 'none' or "
                             f"'zero', got {unconnected_gradients!r}")
        if self._used and not self.persistent:
            raise RuntimeError(
                "GradientTape.gradient can only be called once on non-persistent tapes: the "
                "first call freed the recorded graph. Create the tape with "
                "GradientTape(persistent=True) to call gradient() several times.")
        targets, _ = tree_flatten(target)
        src_leaves, src_spec = tree_flatten(sources)
        for i, t in enumerate(targets):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.gradient: target {i} must be a Tensor, got "
                                f"{type(t).__name__}")
        for i, s in enumerate(src_leaves):
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient: source {i} must be a Tensor, got "
                                f"{type(s).__name__}")
        if output_gradients is None:
            weights = [None] * len(targets)
        else:
            weights, _ = tree_flatten(output_gradients)
            if len(weights) != len(targets):
                raise ValueError(f"GradientTape.gradient: got {len(targets)} targets and "
                                 f"{len(weights)} output_gradients; pass one per target")
        self._used = True
        # gradients are only taken where the tape could have recorded something
        flipped_ids = {id(t) for t in self._flipped}
        live = [s for s in src_leaves if s._requires_grad or id(s) in flipped_ids]
        roots, cts = [], []
        for t, w in zip(targets, weights):
            if t._requires_grad:
                roots.append(t)
                if w is None:
                    cts.append(_wrap(np.ones_like(t._data)))
                else:
                    wt = w if isinstance(w, Tensor) else _wrap(np.asarray(w, t._data.dtype))
                    if wt._data.shape != t._data.shape:
                        raise RuntimeError(
                            f"GradientTape.gradient: output_gradients has shape {list(wt.shape)} "
                            f"but its target has shape {list(t.shape)}; they must match")
                    cts.append(wt)
        found: dict = {}
        if roots and live:
            restore = [s for s in live if not s._requires_grad]
            for s in restore:  # watched tensors, after the block: flip back for the call
                s._requires_grad = True
            create = bool(_ACTIVE.tapes) and _gm.STATE.enabled
            try:
                with _gm.enable_grad():
                    grads = _engine_grad(roots, live, cts, retain_graph=self.persistent or create,
                                         create_graph=create, allow_unused=True)
            finally:
                for s in restore:
                    if s._grad_fn is None:
                        s._requires_grad = False
            found = {id(s): g for s, g in zip(live, grads)}
        out: List[Optional[Tensor]] = []
        for s in src_leaves:
            g = found.get(id(s))
            if g is None and unconnected_gradients == "zero":
                g = _wrap(np.zeros_like(s._data))
            out.append(g)
        if not self.persistent:
            self._restore()
        return tree_unflatten(out, src_spec)

    def jacobian(self, target: Tensor, sources: Any,
                 unconnected_gradients: str = "none") -> Any:
        """The Jacobian of ``target`` with respect to ``sources``: for each source a tensor
        of shape ``target.shape + source.shape`` (one gradient per target element).
        Needs a persistent tape only if called more than once."""
        from ..func._pytree import tree_flatten, tree_unflatten
        from ..ops.shape import stack
        if not isinstance(target, Tensor):
            raise TypeError(f"GradientTape.jacobian: target must be a Tensor, got "
                            f"{type(target).__name__}")
        if self._used and not self.persistent:
            raise RuntimeError(
                "GradientTape.jacobian can only be called once on non-persistent tapes. Create "
                "the tape with GradientTape(persistent=True) to call it several times.")
        src_leaves, spec = tree_flatten(sources)
        persistent, self.persistent = self.persistent, True  # one gradient per row
        try:
            with _gm.enable_grad():
                flat = target.reshape(-1)
            rows = [self.gradient(flat[k], src_leaves) for k in range(target._data.size)]
        finally:
            self.persistent = persistent
        self._used = True
        out = []
        for i, s in enumerate(src_leaves):
            shape = tuple(target._data.shape) + tuple(s._data.shape)
            col = [r[i] for r in rows]
            if all(g is None for g in col):  # not connected (or an empty target)
                j = None if unconnected_gradients == "none" and col else \
                    _wrap(np.zeros(shape, s._data.dtype))
            else:
                j = stack([_wrap(np.zeros_like(s._data)) if g is None else g
                           for g in col]).reshape(shape)
            out.append(j)
        if not self.persistent:
            self._restore()
        return tree_unflatten(out, spec)
