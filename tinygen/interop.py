"""Trained weights both ways between tinygen and PyTorch (which is optional: imported only when used).

tinygen's layers keep PyTorch's parameter names and layouts: Linear's weight is (out, in),
Conv2d's (out, in / groups, kh, kw), ConvTranspose2d's (in, out / groups, kh, kw), BatchNorm has
``running_mean``, ``running_var`` and ``num_batches_tracked``, and containers name their children
"0", "1", ... So the same architecture written in either library has the same state_dict keys
and shapes, and moving weights is only a change of array type:

    torch_model.load_state_dict(interop.to_torch(model.state_dict()))     # tinygen -> PyTorch
    model.load_state_dict(interop.from_torch(torch_model.state_dict()))   # PyTorch -> tinygen

Files: ``torch.save`` writes pickles and ``tg.save`` writes ``.npz``; neither reads the other.
Convert in a process that has both: ``tg.save(interop.from_torch(torch.load(path)), new_path)``.
"""

import collections
import importlib

from . import backend
from .tensor import Tensor


def _torch():
    try:
        return importlib.import_module("torch")
    except ImportError as e:
        raise ImportError("tinygen.interop needs PyTorch, which is not installed: pip install torch") from e


def to_torch(state_dict):
    """A tinygen state_dict (name -> Tensor or array) as an OrderedDict of CPU torch tensors (copies, same dtypes)."""
    torch = _torch()
    out = collections.OrderedDict()
    for name, value in state_dict.items():
        array = backend.to_host(value.array if isinstance(value, Tensor) else value)
        out[name] = torch.from_numpy(array.copy())  # a copy: writable, and not shared with tinygen's memory
    return out


def from_torch(state_dict, device=None):
    """A PyTorch state_dict as an OrderedDict of tinygen Tensors on ``device`` (copies, same dtypes; bfloat16 -> float32)."""
    torch = _torch()
    out = collections.OrderedDict()
    for name, value in state_dict.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            value = (value.float() if value.dtype == torch.bfloat16 else value).numpy()
        out[name] = Tensor(value, device=device)
    return out


def load_into_torch(torch_module, module, strict=True):
    """Copy a tinygen module's weights into its PyTorch twin (same architecture); returns the twin."""
    torch_module.load_state_dict(to_torch(module.state_dict()), strict=strict)
    return torch_module


def load_from_torch(module, torch_module, strict=True):
    """Copy a PyTorch module's weights into its tinygen twin (same architecture); returns the tinygen module."""
    device = next(iter(module.state_dict().values())).device if module.state_dict() else None
    module.load_state_dict(from_torch(torch_module.state_dict(), device=device), strict=strict)
    return module
