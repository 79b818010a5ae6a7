"""``tg.cuda``: PyTorch's ``torch.cuda`` questions, answered for tinygen's one GPU (used through CuPy).

    device = tg.device("cuda" if tg.cuda.is_available() else "cpu")

Seeding goes through ``tg.manual_seed``, which seeds every device at once; ``manual_seed`` and
``manual_seed_all`` here do the same, for scripts that call them.
"""

from .compat.devices import cuda_device_count as device_count
from .compat.devices import cuda_is_available as is_available
from .compat.devices import empty_cache, synchronize
from .compat.devices import seed_all as manual_seed
from .compat.devices import seed_all as manual_seed_all

__all__ = ["current_device", "device_count", "empty_cache", "is_available", "manual_seed", "manual_seed_all",
           "synchronize"]


def current_device():
    """The index of the GPU in use: always 0 (tinygen uses one)."""
    return 0
