"""``tg.accelerator``: current PyTorch's device-agnostic questions; tinygen's one accelerator is a CUDA GPU.

    device = tg.accelerator.current_accelerator() if tg.accelerator.is_available() else tg.device("cpu")
"""

from .compat.devices import cuda_device_count as device_count
from .compat.devices import cuda_is_available as is_available
from .compat.devices import current_accelerator, synchronize

__all__ = ["current_accelerator", "device_count", "is_available", "synchronize"]
