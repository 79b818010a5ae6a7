"""Optimizer: the base class every optimiser shares, shaped like PyTorch's.

Parameters live in ``param_groups``: a list of dicts, each with its ``params`` and its own
hyper-parameters (``lr``, ``weight_decay``, ...), so one model can train parts at different
rates and a learning-rate scheduler can change ``group["lr"]`` between steps. Per-parameter
state (momentum buffers, Adam's moments) lives in ``state[param]``, on the parameter's device
and in its dtype.

A subclass writes one method, ``_update(p, grad, state, group)``: the update rule for one
parameter. ``grad`` is the gradient's raw array: an update needs no graph, and array
arithmetic skips the per-op bookkeeping of Tensor ops (3x faster for Adam). The parameter
itself changes only through the Tensor in-place methods (``p.add_``), which bump its version
counter, so a graph that saved the old values refuses to backward.
"""

import math
import numbers

from .. import backend, grad_mode
from ..tensor import Tensor


class Optimizer:
    """Base class of the optimisers: parameters in groups, one update rule, state per parameter.

    ``params`` is an iterable of leaf, floating-point Tensors, or of dicts ``{"params": [...],
    "lr": ...}`` (param groups); ``defaults`` fills each group's missing hyper-parameters. Each
    training step is ``loss.backward(); opt.step(); opt.zero_grad()``: ``step()`` applies the
    subclass's ``_update`` to every parameter that has a gradient, in place and with no graph,
    and ``zero_grad()`` clears the gradients, which would otherwise add up across backwards.
    ``state_dict()`` / ``load_state_dict()`` save and restore the hyper-parameters and
    per-parameter state (Adam's moments, SGD's momentum), so a resumed run continues exactly.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}  # parameter -> dict of its state (tensors are dict keys by identity)
        self.param_groups = []
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add ``{"params": [...], "lr": ...}``; missing hyper-parameters come from the defaults."""
        name = type(self).__name__
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: expected parameters to be Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can only optimise leaf tensors, got one made by {type(p.creator).__name__}")
            if not backend.is_floating(p.dtype):
                raise TypeError(f"{name}: expected floating-point parameters, got dtype {p.dtype}")
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter of shape {p.shape} appears in more than one group")
            seen.add(id(p))
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        _check_lr(name, group["lr"])
        self.param_groups.append(group)

    # ------------------------------------------------------------ training loop
    def zero_grad(self, set_to_none=True):
        """Forget the gradients; ``set_to_none=False`` fills them with zeros instead."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # a fresh array rather than zero_(): safe even if the old one is shared
                    p.grad = Tensor.wrap(backend.array_module(p.grad.array).zeros_like(p.grad.array))

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` re-computes and returns the loss."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        with grad_mode.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, p.grad.array, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, p, grad, state, group):
        raise NotImplementedError(f"{type(self).__name__}._update")

    # ------------------------------------------------------------ checkpoints
    def state_dict(self):
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``, as in PyTorch.

        Parameters are named by their position across the groups, so the dict can be saved
        and loaded into a fresh optimiser built over the same parameters in the same order.
        """
        index, groups = {}, []
        for group in self.param_groups:
            for p in group["params"]:
                index[id(p)] = len(index)
            groups.append({**group, "params": [index[id(p)] for p in group["params"]]})
        state = {index[id(p)]: dict(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved into an optimiser over the same parameters, in order.

        Group hyper-parameters (``lr`` included) are replaced; state tensors are copied onto each
        parameter's device and, if floating, into its dtype.
        """
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(groups)} parameter groups, "
                f"this optimiser has {len(self.param_groups)}"
            )
        params = []
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: a saved parameter group has {len(saved['params'])} "
                    f"parameters, the matching group here has {len(group['params'])}"
                )
            _check_lr(name, saved.get("lr", group["lr"]))
            params.extend(group["params"])
        for i, saved in state_dict["state"].items():  # all checked before anything changes
            for key, value in saved.items():
                shape = tuple(getattr(value, "shape", ()))
                if shape and shape != params[int(i)].shape:
                    raise ValueError(f"{name}.load_state_dict: the saved {key!r} of parameter {i} has shape {shape}, "
                                     f"but that parameter has shape {params[int(i)].shape}")
        for saved, group in zip(groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, saved in state_dict["state"].items():
            p = params[int(i)]
            self.state[p] = {key: _like_param(value, p) for key, value in saved.items()}


def _check_lr(name, lr):
    """A learning rate must be a finite number >= 0: a NaN or an infinity would silently ruin every weight."""
    if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr >= 0):
        raise ValueError(f"{name}: expected a finite learning rate >= 0, got lr={lr!r}")


def _like_param(value, p):
    """A saved state entry as a fresh Tensor on ``p``'s device and, if floating, in ``p``'s dtype."""
    if isinstance(value, Tensor):
        value = value.array
    if not backend.is_array(value):
        return value  # a step count or another plain number
    dtype = p.dtype if backend.is_floating(value.dtype) else value.dtype
    return Tensor.wrap(backend.as_array(value, dtype=dtype, device=p.device).copy())
