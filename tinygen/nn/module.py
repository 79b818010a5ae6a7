"""Module, Parameter and the containers: how layers hold their weights and find each other.

A Module is a tree. Assigning a :class:`Parameter` or another Module to an attribute
(``self.fc = Linear(2, 3)``) registers it, in insertion order, so ``parameters()`` can walk
the tree and ``state_dict()`` can name every weight with a dotted path (``fc.weight``).
Buffers (``register_buffer``) are tensors that belong to the model but are not trained,
like BatchNorm's running statistics: they move with ``to()`` and are saved in the state dict.
"""

import collections

from .. import backend
from ..grad_mode import no_grad
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a weight: it requires grad unless told otherwise.

    ``Parameter(tensor)`` shares the tensor's memory, as in PyTorch; other data is copied.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = backend.xp_for(backend.default_device()).zeros((0,), dtype=backend.float32)
        super().__init__(data, requires_grad=False)
        if isinstance(data, Tensor):  # an alias, not a copy: same memory, same version counter
            self.array, self.version_counter = data.array, data.version_counter
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` unregisters it."""

    def __init__(self, registry, key):
        self.registry, self.key = registry, key

    def remove(self):
        """Unregister the hook (again is harmless)."""
        self.registry.pop(self.key, None)


class Module:
    """Base class of every layer and model: a tree of parameters, buffers and submodules.

    Subclass it, call ``super().__init__()`` first, assign Parameters and Modules as attributes
    in ``__init__`` (each registers itself, in order) and write ``forward``; ``layer(x)`` runs
    ``forward(x)``. The registry gives the rest: ``parameters()`` for the optimiser,
    ``state_dict()`` / ``load_state_dict()`` for checkpoints, ``to()`` for devices and dtypes,
    and ``train()`` / ``eval()``, which set the ``training`` flag that Dropout and BatchNorm
    read. A Module holds no graph of its own: the tensor ops that ``forward`` calls build it.
    """

    def __init__(self):
        # object.__setattr__ because our own __setattr__ needs these dicts to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})

    def forward(self, *args, **kwargs):
        """The computation: input Tensors -> output Tensor(s); each layer's docstring gives the shapes.

        Call the module (``layer(x)``) rather than ``forward`` itself.
        """
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define it in the subclass")

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_hooks")  # only a module that registered a hook has this dict
        if hooks is None:
            return self.forward(*args, **kwargs)
        for hook in list(hooks["pre"].values()):  # hook(module, args) may return new args
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(hooks["post"].values()):  # hook(module, args, output) may return a new output
            result = hook(self, args, output)
            output = output if result is None else result
        return output

    # ------------------------------------------------------------ hooks
    def _add_hook(self, kind, hook):
        if "_hooks" not in self.__dict__:
            object.__setattr__(self, "_hooks", {"pre": {}, "post": {}})
        key = max([0, *self._hooks["pre"], *self._hooks["post"]]) + 1
        self._hooks[kind][key] = hook
        return RemovableHandle(self._hooks[kind], key)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before each forward (it may return new args); ``handle.remove()`` undoes it."""
        return self._add_hook("pre", hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after each forward (it may return a new output); returns a handle."""
        return self._add_hook("post", hook)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} on {type(self).__name__} before Module.__init__() was called; "
                "call super().__init__() first in your __init__"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to {name!r}, a parameter of "
                    f"{type(self).__name__}; expected a Parameter (or None)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r}; expected a Module or None")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r}; expected a Tensor or None")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for registry in (self.__dict__, self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)

    def __getattr__(self, name):  # only called when normal lookup fails
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one) as ``name``: ``self.name = param``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not trained (running statistics); saved unless persistent=False."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register a submodule (or None) as ``name``: ``self.name = module``, for a name made at run time."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------ walking the tree
    def named_modules(self, prefix="", memo=None):
        """(dotted name, module) for this module and every descendant, each once, parents first."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        """This module and every descendant, each once, parents first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """(name, module) for each direct submodule, in registration order."""
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        """The direct submodules, in registration order."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry, prefix, recurse):
        seen = set()  # a tensor shared by two layers (tied weights) is listed once
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, t in getattr(module, registry).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{module_prefix}.{name}" if module_prefix else name), t

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) pairs: ``encoder.0.weight``."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        """Every Parameter in the tree, each once (tied weights too): what an optimiser is given."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        """(dotted name, buffer) pairs, like named_parameters: ``bn.running_mean``."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        """Every buffer in the tree: state that is saved and moved but not trained."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every child (deepest first) and then on self, like PyTorch."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ modes and gradients
    def train(self, mode=True):
        """Training mode for this module and all its children (Dropout drops, BatchNorm uses the batch)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode, ``train(False)``: Dropout passes x through, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking on or off for every parameter (to freeze part of a model); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of the last backward (they accumulate otherwise)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor.wrap(backend.array_module(p.grad.array).zeros_like(p.grad.array))

    # ------------------------------------------------------------ device and dtype
    def to(self, device=None, dtype=None):
        """Move parameters and buffers to a device and/or cast floating ones to a dtype, in place.

        The Parameter objects stay the same (only their ``.array`` is replaced), so an
        optimizer built before the move still holds the right tensors.
        """
        if device is not None and not isinstance(device, str):  # model.to(tg.float64)
            device, dtype = None, device
        device = backend.check_device(device) if device is not None else None
        dtype = backend.dtype(dtype) if dtype is not None else None

        def convert(array):
            if dtype is not None and backend.is_floating(array.dtype) and array.dtype != dtype:
                array = array.astype(dtype)
            if device is not None and backend.device_of(array) != device:
                array = backend.as_array(array, device=device)
            return array

        for m in self.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is None:
                    continue
                t.array = convert(t.array)
                if t.grad is not None:
                    t.grad = Tensor.wrap(convert(t.grad.array))
        return self

    def cpu(self):
        """``to("cpu")``: parameters and buffers into host memory (NumPy)."""
        return self.to("cpu")

    def cuda(self):
        """``to("cuda")``: parameters and buffers onto the GPU (CuPy)."""
        return self.to("cuda")

    def float(self):
        """Cast floating parameters and buffers to float32, the default working dtype."""
        return self.to(dtype=backend.float32)

    def double(self):
        """Cast floating parameters and buffers to float64 (what gradcheck needs)."""
        return self.to(dtype=backend.float64)

    def half(self):
        """Cast floating parameters and buffers to float16."""
        return self.to(dtype=backend.float16)

    # ------------------------------------------------------------ saving and loading
    def state_dict(self, prefix="", keep_vars=False):
        """An ordered dict of dotted name -> tensor: every parameter and persistent buffer."""
        out = collections.OrderedDict()
        for module_prefix, module in self.named_modules(prefix.rstrip(".")):
            dot = f"{module_prefix}." if module_prefix else ""
            for name, p in module._parameters.items():
                if p is not None:
                    out[dot + name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[dot + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into this model's tensors, in place.

        Every problem is reported in one error: keys the model has but the dict lacks
        (missing), keys the dict has but the model lacks (unexpected; both only when
        ``strict``), and keys whose shapes differ (always). Returns the missing and
        unexpected keys, as PyTorch does.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = [
            f"{k}: the model has shape {tuple(own[k].shape)}, the state dict has {tuple(state_dict[k].shape)}"
            for k in own
            if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)
        ]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"load_state_dict into {type(self).__name__}: " + "\n  ".join([""] + problems).lstrip("\n "))
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    t.copy_(state_dict[k])
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing
    def extra_repr(self):
        """The text inside the parentheses of this module's line (its settings)."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + _indent(repr(child)) for name, child in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


def _indent(text):
    return text.replace("\n", "\n  ")


# ---------------------------------------------------------------- containers
class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):  # Sequential(OrderedDict(name=module))
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        """x -> m_n(... m_2(m_1(x))): each module's output is the next one's input."""
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module):
        """Add ``module`` at the end, named by its position; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(dict(list(self._modules.items())[index]))  # keeps the original names
        return list(self._modules.values())[_check_index(index, len(self), "Sequential")]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list would hide them)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module):
        """Add ``module`` at the end, named by its position; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append each module of an iterable, in order; returns self."""
        for m in modules:
            self.append(m)
        return self

    def __iadd__(self, modules):
        return self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(_check_index(index, len(self), "ModuleList"))]

    def __setitem__(self, index, module):
        self.add_module(str(_check_index(index, len(self), "ModuleList")), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, *args):
        """Not defined: a ModuleList only holds modules; loop over it in the owner's forward."""
        raise NotImplementedError("ModuleList has no forward(); iterate over it in your own forward")


class ModuleDict(Module):
    """A dict of named modules whose parameters are registered, in insertion order."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules):
        """Add (name, module) pairs from a dict or an iterable of pairs, in their order."""
        items = modules.items() if isinstance(modules, dict) else modules
        for name, m in items:
            self[name] = m

    def __getitem__(self, name):
        return self._modules[name]

    def __setitem__(self, name, module):
        self.add_module(name, module)

    def __delitem__(self, name):
        del self._modules[name]

    def __contains__(self, name):
        return name in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        """The names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def forward(self, *args):
        """Not defined: a ModuleDict only holds modules; pick them by name in the owner's forward."""
        raise NotImplementedError("ModuleDict has no forward(); pick modules by name in your own forward")


class ParameterList(Module):
    """A list of Parameters registered as "0", "1", ... (a plain Python list would hide them from parameters())."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def append(self, value):
        """Add a Parameter (a Tensor is wrapped in one) at the end; returns self."""
        self.register_parameter(str(len(self)), value if isinstance(value, Parameter) else Parameter(value))
        return self

    def extend(self, values):
        """Append each of an iterable of Parameters, in order; returns self."""
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, index):
        return self._parameters[str(_check_index(index, len(self), "ParameterList"))]

    def __setitem__(self, index, value):
        self.register_parameter(str(_check_index(index, len(self), "ParameterList")),
                                value if isinstance(value, Parameter) else Parameter(value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def forward(self, *args):
        """Not defined: a ParameterList only holds parameters; use them in the owner's forward."""
        raise NotImplementedError("ParameterList has no forward(); use its parameters in your own forward")


class ParameterDict(Module):
    """A dict of named Parameters, registered in insertion order."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def update(self, parameters):
        """Add (name, Parameter) pairs from a dict or an iterable of pairs."""
        for name, p in (parameters.items() if isinstance(parameters, dict) else parameters):
            self[name] = p

    def __getitem__(self, name):
        return self._parameters[name]

    def __setitem__(self, name, value):
        self.register_parameter(name, value if isinstance(value, Parameter) else Parameter(value))

    def __contains__(self, name):
        return name in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        """The names, in insertion order."""
        return self._parameters.keys()

    def values(self):
        """The Parameters, in insertion order."""
        return self._parameters.values()

    def items(self):
        """(name, Parameter) pairs, in insertion order."""
        return self._parameters.items()

    def forward(self, *args):
        """Not defined: a ParameterDict only holds parameters; use them in the owner's forward."""
        raise NotImplementedError("ParameterDict has no forward(); use its parameters in your own forward")


def _check_index(index, length, container):
    if not -length <= index < length:
        raise IndexError(f"{container}: index {index} is out of range for {length} modules")
    return index % length
