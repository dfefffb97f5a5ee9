"""The ``Optimizer`` base class: parameter groups, per-parameter state, ``zero_grad``
and ``state_dict``/``load_state_dict`` in PyTorch's layout.

Subclasses implement ``step``. Their arithmetic is written with chainrule's in-place
tensor methods (``add_``, ``mul_``, ``addcmul_``, ...) run under ``no_grad``: NumPy
stays inside ``chainrule.ops``, every update writes into the parameter's own array (so
views, ``from_numpy`` arrays and ``param.data`` keep seeing the live values) and bumps
its version counter, as PyTorch's optimizers do.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar, Union

from .. import dtypes as _dt
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.graph import RemovableHandle
from ..tensor import ChainruleHint, Tensor

__all__ = ["Optimizer", "required", "ParamsT", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]]]
_F = TypeVar("_F", bound=Callable[..., Any])

#: ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``; ``args`` starts
#: with the optimizer itself, as in PyTorch.
OptimizerPreHook = Callable[["Optimizer", Tuple[Any, ...], Dict[str, Any]],
                            Optional[Tuple[Tuple[Any, ...], Dict[str, Any]]]]
#: ``hook(optimizer, args, kwargs) -> None``.
OptimizerPostHook = Callable[["Optimizer", Tuple[Any, ...], Dict[str, Any]], None]

# hooks run around the step of every optimizer, keyed by their handle's id (registration order)
_global_optimizer_pre_hooks: "OrderedDict[int, OptimizerPreHook]" = OrderedDict()
_global_optimizer_post_hooks: "OrderedDict[int, OptimizerPostHook]" = OrderedDict()
_hook_ids = itertools.count()


class _HookHandle(RemovableHandle):
    """Removes a hook from an ordered hook table (PyTorch's ``RemovableHandle``: it has
    an ``id``, ``remove()`` and works as a context manager)."""

    __slots__ = ()

    def __init__(self, table: "OrderedDict[int, Any]") -> None:
        super().__init__(table, next(_hook_ids))  # type: ignore[arg-type]

    @property
    def id(self) -> int:
        """The key of the hook in its table."""
        return self._hook

    def remove(self) -> None:
        """Take the hook off (again: a no-op)."""
        self._hooks.pop(self._hook, None)


def _add_hook(table: "OrderedDict[int, Any]", hook: Callable[..., Any],
              prepend: bool = False) -> _HookHandle:
    handle = _HookHandle(table)
    table[handle.id] = hook
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle


def register_optimizer_step_pre_hook(hook: OptimizerPreHook) -> RemovableHandle:
    """Register a hook called before the ``step`` of every optimizer.

    It is called as ``hook(optimizer, args, kwargs)``, where ``args`` are the positional
    arguments of the step call, the optimizer first (``(optimizer, closure)`` for
    ``opt.step(closure)``). It returns None, or a tuple ``(new_args, new_kwargs)`` that
    the step (and the hooks after it) then get instead. Global pre-hooks run before the
    optimizer's own.

    Args:
        hook: the function to call.

    Returns:
        a handle whose ``remove()`` unregisters the hook.
    """
    return _add_hook(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook: OptimizerPostHook) -> RemovableHandle:
    """Register a hook called after the ``step`` of every optimizer, as
    ``hook(optimizer, args, kwargs)`` (its return value is ignored). Global post-hooks
    run after the optimizer's own.

    Args:
        hook: the function to call.

    Returns:
        a handle whose ``remove()`` unregisters the hook.
    """
    return _add_hook(_global_optimizer_post_hooks, hook)


def _run_step_pre_hooks(opt: "Optimizer", step: Callable[..., Any], args: Tuple[Any, ...],
                        kwargs: Dict[str, Any]) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
    """Call the global, then the optimizer's own step pre-hooks; each may replace the
    arguments the next one and the step get."""
    for hook in chain(list(_global_optimizer_pre_hooks.values()),
                      list(opt.__dict__.get("_optimizer_step_pre_hooks", {}).values())):
        result = hook(opt, args, kwargs)
        if result is not None:
            if isinstance(result, tuple) and len(result) == 2:
                args, kwargs = result
            else:
                raise RuntimeError(
                    f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                    f"{result}.")
    return args, kwargs


def _run_step_post_hooks(opt: "Optimizer", args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
    """Call the optimizer's own, then the global step post-hooks."""
    for hook in chain(list(opt.__dict__.get("_optimizer_step_post_hooks", {}).values()),
                      list(_global_optimizer_post_hooks.values())):
        hook(opt, args, kwargs)


def _hooks_wanted(opt: "Optimizer") -> bool:
    """Whether this call of ``step`` runs the step hooks: not when it is nested in a
    step of the same optimizer (a subclass's ``step`` calling ``super().step()``), so
    that each hook runs once per step."""
    return not opt.__dict__.get("_in_step", False)


@contextlib.contextmanager
def _stepping(opt: "Optimizer") -> Iterator[None]:
    """Mark ``opt`` as inside its step (restoring the previous mark: steps can nest)."""
    before = opt.__dict__.get("_in_step", False)
    opt._in_step = True
    try:
        yield
    finally:
        opt._in_step = before


def _hooked_step(step: _F) -> _F:
    """Wrap the ``step`` of an ``Optimizer`` subclass written outside chainrule so that
    it runs the step hooks too (PyTorch patches every optimizer class on first use)."""
    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        self = args[0]
        if not _hooks_wanted(self):
            return step(*args, **kwargs)
        args, kwargs = _run_step_pre_hooks(self, step, args, kwargs)
        with _stepping(args[0]):
            result = step(*args, **kwargs)
        _run_step_post_hooks(self, args, kwargs)
        return result
    wrapper._runs_step_hooks = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


class _RequiredParameter:
    """Marks an option that every parameter group must give (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _step_without_grad(step: _F) -> _F:
    """Run an optimizer's ``step`` under ``no_grad``: the update must not be recorded
    (the parameters are leaves that require grad, and in-place changes to them are
    refused while recording). Around it, the one-time hints about classic mistakes, and
    outside those the step pre- and post-hooks (in the caller's grad mode, as in
    PyTorch, where the hooks wrap the already no-grad step)."""
    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        self = args[0]
        hooked = _hooks_wanted(self)
        if hooked:
            args, kwargs = _run_step_pre_hooks(self, step, args, kwargs)
        opt = args[0]  # a pre-hook may hand over new arguments, in principle even a new self
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if opt.hints and closure is None:
            _hint_before_step(opt)
        with _stepping(opt), no_grad():
            result = step(*args, **kwargs)
        if opt.hints:
            _mark_stepped(opt)
        if hooked:
            _run_step_post_hooks(self, args, kwargs)
        return result
    wrapper._runs_step_hooks = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _param_label(group: Dict[str, Any], index: int, p: Tensor) -> str:
    names = group.get("param_names")
    return f"{names[index]} {list(p.shape)}" if names else f"shape {list(p.shape)}"


_OPTIM_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by this function's caller point at
    the first frame outside ``chainrule.optim``: the user's ``opt.step()`` line, also when
    a scheduler's wrapper of ``optimizer.step`` sits in between."""
    level, frame = 2, sys._getframe(2)  # 1 would be the issuer itself, 2 its caller
    while frame is not None and \
            os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _OPTIM_DIR:
        level, frame = level + 1, frame.f_back
    return level


def _hint_before_step(opt: "Optimizer") -> None:
    """Warn (once per optimizer) about gradients summed across steps and unused parameters."""
    stale, missing, with_grad = [], [], 0
    for group in opt.param_groups:
        for i, p in enumerate(group["params"]):
            g = p._grad
            if g is None:
                if p._requires_grad:
                    missing.append(_param_label(group, i, p))
                continue
            with_grad += 1
            if g._stale_sum:
                stale.append(_param_label(group, i, p))
    if stale and "stale" not in opt._hinted:
        opt._hinted.add("stale")
        warnings.warn(
            f"{type(opt).__name__}.step(): the gradients of {len(stale)} parameter(s) ("
            f"{', '.join(stale[:3])}{', ...' if len(stale) > 3 else ''}) were added to by a "
            "backward pass after the previous step() without zero_grad() in between: backward() "
            "accumulates into .grad, so this step uses the old and the new gradient summed. Call "
            "optimizer.zero_grad() before each loss.backward(). If you accumulate gradients on "
            "purpose, turn this hint off with optimizer.hints = False (or "
            "chainrule.optim.Optimizer.hints = False for all).", ChainruleHint,
            stacklevel=_user_stacklevel())
    if missing and with_grad and "unused" not in opt._hinted:
        opt._hinted.add("unused")
        warnings.warn(
            f"{type(opt).__name__}.step(): {len(missing)} of {len(missing) + with_grad} parameters "
            f"that require grad got no gradient ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}): the loss does not depend on them, so this "
            "step leaves them unchanged. If that is intended (a branch not used this time, a frozen "
            "part), ignore this; otherwise check that the forward pass uses them (autograd.grad("
            "loss, params) would raise for them unless allow_unused=True). Turn this hint off with "
            "optimizer.hints = False.", ChainruleHint, stacklevel=_user_stacklevel())


def _mark_stepped(opt: "Optimizer") -> None:
    """Remember each gradient's version: a backward that adds to it later is noticed."""
    for group in opt.param_groups:
        for p in group["params"]:
            g = p._grad
            if g is not None:
                g._step_version = g._vbox[0]
                g._stale_sum = False


def _eval_closure(closure: Optional[Callable[[], Any]]) -> Any:
    """Evaluate a step's closure with grad mode on (the step itself runs under no_grad,
    and the closure must build a graph to call ``backward`` on)."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


def _check_options(optimizer: str, lr: Any, non_negative: Dict[str, float],
                   differentiable: bool = False) -> None:
    """PyTorch's constructor checks, in its order and words: a one-element tensor ``lr``,
    ``lr >= 0``, each ``{"epsilon value": eps, ...}`` entry >= 0, no ``differentiable``."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    for label, value in non_negative.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {label}: {value}")
    if differentiable:
        raise NotImplementedError(f"{optimizer}(differentiable=True) is not supported by chainrule")


def _to_scalar(x: Any) -> Any:
    """A one-element tensor option (``lr=chainrule.tensor(0.1)``) as a Python number."""
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise ValueError(f"a tensor option must have one element, got shape {list(x.shape)}")
        return x.item()
    return x


def _scalar_dtype() -> _dt.dtype:
    """The dtype of ``state['step']``: float64 when that is the default, else float32
    (PyTorch's ``_get_scalar_dtype``)."""
    return _dt.float64 if _dt.get_default_dtype() == _dt.float64 else _dt.float32


def _typename(obj: Any) -> str:
    if isinstance(obj, Tensor):
        return f"chainrule.{type(obj).__name__}"
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of tensors, or of dicts (parameter groups) each with a
            ``"params"`` entry and any per-group options that override ``defaults``.
            Give them in a deterministic order (a list, not a set): ``state_dict``
            refers to parameters by their position.
        defaults: the options a group gets when it does not name them.

    Attributes:
        param_groups: list of dicts, one per group, each with ``"params"`` (a list of
            tensors) and every option.
        state: per-parameter state, a dict keyed by the parameter tensor.
        defaults: the default options.
    """

    #: one-time hints about classic mistakes (gradients summed across steps because
    #: zero_grad() was not called; parameters the loss does not depend on). Set to False
    #: on an optimizer, or on the class for all of them, to turn them off.
    hints: bool = True

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]) -> None:
        self._hinted: set = set()
        self.defaults = defaults
        self._init_hook_tables()
        self._patch_step_function()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {_typename(params)}; wrap a single tensor in a list: [param]")
        # Tensor.__hash__ is identity, so tensors can key a dict (PyTorch's layout)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def _init_hook_tables(self) -> None:
        """Empty hook tables (kept if already there: ``__setstate__`` calls this too)."""
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())

    def _patch_step_function(self) -> None:
        """Make the step hooks run for a subclass whose ``step`` does not already run them
        (one written outside chainrule, decorated with ``no_grad``, say). As in PyTorch,
        the class's ``step`` is wrapped, once."""
        cls = type(self)
        step = cls.step
        if step is not Optimizer.step and not getattr(step, "_runs_step_hooks", False):
            cls.step = _hooked_step(step)  # type: ignore[method-assign]

    # ------------------------------------------------------------------- hooks
    def register_step_pre_hook(self, hook: OptimizerPreHook) -> RemovableHandle:
        """Register a hook called before each :meth:`step` of this optimizer.

        It is called as ``hook(optimizer, args, kwargs)``, where ``args`` are the step's
        positional arguments with the optimizer first (``(optimizer, closure)`` for
        ``opt.step(closure)``), and returns None or ``(new_args, new_kwargs)``, which the
        later hooks and the step itself then get. Global pre-hooks
        (:func:`register_optimizer_step_pre_hook`) run first. The hooks run once per
        step, in the caller's grad mode (the update itself runs under ``no_grad``).

        Args:
            hook: the function to call.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return _add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: OptimizerPostHook) -> RemovableHandle:
        """Register a hook called after each :meth:`step` of this optimizer, as
        ``hook(optimizer, args, kwargs)`` with the arguments the step got (after any
        pre-hook replaced them); its return value is ignored. Runs before the global
        post-hooks (:func:`register_optimizer_step_post_hook`).

        Args:
            hook: the function to call.

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return _add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable[["Optimizer"], None],
                                     prepend: bool = False) -> RemovableHandle:
        """Register a hook called as ``hook(optimizer)`` at the start of :meth:`state_dict`.

        Args:
            hook: the function to call.
            prepend: run it before the pre-hooks already registered, rather than after
                them (default False).

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(
            self, hook: Callable[["Optimizer", Dict[str, Any]], Optional[Dict[str, Any]]],
            prepend: bool = False) -> RemovableHandle:
        """Register a hook called as ``hook(optimizer, state_dict)`` at the end of
        :meth:`state_dict`. It may change ``state_dict`` in place, or return a new dict,
        which is then what the later hooks get and ``state_dict()`` returns.

        Args:
            hook: the function to call.
            prepend: run it before the post-hooks already registered, rather than after
                them (default False).

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(
            self, hook: Callable[["Optimizer", Dict[str, Any]], Optional[Dict[str, Any]]],
            prepend: bool = False) -> RemovableHandle:
        """Register a hook called as ``hook(optimizer, state_dict)`` at the start of
        :meth:`load_state_dict`. ``state_dict`` is a shallow copy of the dict given to
        ``load_state_dict``; the hook may change it in place or return a new dict, which
        is then what is loaded (a way to adapt checkpoints, by ``param_names`` say).

        Args:
            hook: the function to call.
            prepend: run it before the pre-hooks already registered, rather than after
                them (default False).

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable[["Optimizer"], None],
                                           prepend: bool = False) -> RemovableHandle:
        """Register a hook called as ``hook(optimizer)`` once :meth:`load_state_dict` has
        loaded the state.

        Args:
            hook: the function to call.
            prepend: run it before the post-hooks already registered, rather than after
                them (default False).

        Returns:
            a handle whose ``remove()`` unregisters the hook.
        """
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters, with its own options, to ``param_groups``.

        Useful when fine-tuning: layers that were frozen can be added as training goes.
        Options missing from ``param_group`` take the optimizer's defaults.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry (the tensors to optimize)")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)

        # (name, tensor) pairs, as given by named_parameters(), keep their names
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = tensors

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {_typename(param)}")
            if not (param.is_leaf or param.retains_grad):
                raise ValueError(
                    "can't optimize a non-leaf Tensor: it was made by "
                    f"{param.grad_fn.name()}. Optimize the leaf tensors it was computed from, or "
                    "make a new leaf with x.detach().requires_grad_()")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        # PyTorch only warns for a repeated parameter inside one group; a repeat would be
        # stepped twice per step, which is never what is meant, so it is an error here.
        seen_ids: Dict[int, int] = {}
        for i, p in enumerate(tensors):
            if id(p) in seen_ids:
                raise ValueError(
                    f"optimizer got the same parameter twice in one parameter group (positions "
                    f"{seen_ids[id(p)]} and {i}, shape {list(p.shape)}); give each parameter once")
            seen_ids[id(p)] = i
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer")
            if any(id(p) in seen_ids for p in group["params"]):
                raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # ---------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none: set ``.grad`` to None (the default, less memory) instead of
                filling it with zeros. The two differ: optimizers skip parameters whose
                gradient is None, but step those with a zero gradient (momentum and
                weight decay still move them).
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    # a gradient made with create_graph=True has history: cut it first,
                    # or zeroing it in place would be recorded
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Optional[Any]:
        """Perform a single optimization step (update the parameters in place).

        Args:
            closure: a function that re-evaluates the model, calls ``backward`` and
                returns the loss. Optional for most optimizers; LBFGS needs it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _params_with_grad(self, group: Dict[str, Any]) -> List[Tensor]:
        """The parameters of ``group`` that have a gradient (the others are skipped)."""
        return [p for p in group["params"] if p.grad is not None]

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> Dict[str, Any]:
        """The optimizer's state as a dict, in PyTorch's layout::

            {'state': {0: {'momentum_buffer': tensor(...)}, ...},
             'param_groups': [{'lr': 0.01, ..., 'params': [0, 1]}, ...]}

        Parameters are referred to by their position across all groups (the tensors
        themselves are not saved). As in PyTorch, the state tensors are the live ones,
        not copies: save or ``copy.deepcopy`` the dict before stepping on.

        The hooks of :meth:`register_state_dict_pre_hook` run first, those of
        :meth:`register_state_dict_post_hook` on the finished dict.
        """
        for pre_hook in list(self._optimizer_state_dict_pre_hooks.values()):
            pre_hook(self)

        param_mappings: Dict[int, int] = {}
        start_index = 0

        def pack_group(group: Dict[str, Any]) -> Dict[str, Any]:
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start_index):
                param_mappings.setdefault(id(p), i)
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in list(self._optimizer_state_dict_post_hooks.values()):
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load state saved by :meth:`state_dict` (of an optimizer of the same kind, over
        parameters with the same group sizes and order).

        Floating-point state tensors are converted to their parameter's dtype, except
        ``'step'``; tensors are copied, so the loaded optimizer never shares buffers with
        ``state_dict``. Group options (``lr``, ...) are taken from ``state_dict``.

        The hooks of :meth:`register_load_state_dict_pre_hook` get (and may replace) a
        shallow copy of ``state_dict`` first; those of
        :meth:`register_load_state_dict_post_hook` run once it is loaded.
        """
        if isinstance(state_dict, dict):
            state_dict = state_dict.copy()  # shallow: the hooks must not change the caller's
        for pre_hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError(
                "load_state_dict: expected a dict with 'state' and 'param_groups' entries, as "
                "returned by Optimizer.state_dict()")
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: it has "
                f"{len(saved_groups)}, this optimizer has {len(groups)}")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: group {i} has {len(sg['params'])} parameters in the state "
                    f"dict and {len(g['params'])} in this optimizer")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param: Tensor, value: Any, key: Any = None) -> Any:
            if isinstance(value, Tensor):
                # 'step' keeps its own dtype (PyTorch issue 74424): a float32 count must not
                # become a float16 one with a half-precision parameter
                if key != "step" and param.is_floating_point() and value.is_floating_point():
                    value = value.to(param.dtype)
                return value.detach().clone()
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:  # state not tied to a parameter is kept as is
                state[k] = v

        new_groups = []
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
            new_groups.append(sg)
        self.state = state
        self.param_groups = new_groups
        self._restore_defaults()
        for post_hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            post_hook(self)

    def _restore_defaults(self) -> None:
        """Give loaded groups any option they lack (a state dict from an older version)."""
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)

    def __getstate__(self) -> Dict[str, Any]:
        # hooks are not saved (PyTorch's choice: they are often closures or lambdas)
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_hinted", set())
        self._init_hook_tables()
        self._patch_step_function()

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group.keys()):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
