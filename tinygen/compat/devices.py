"""PyTorch's device objects: ``tg.device("cuda")``, ``x.device.type``, ``x.is_cuda``.

tinygen names a device with a plain string, "cpu" or "cuda". PyTorch code builds
``torch.device`` objects and reads ``.type`` from them. ``device`` here is a *string* that also
has ``.type`` and ``.index``: it equals "cpu" or "cuda", so it goes anywhere a device string
goes (``x.to(device)``, ``tg.zeros(3, device=device)``) and every ``x.device == "cuda"`` test
keeps working. ``Tensor.device`` returns one of these.
"""

from .. import backend
from ..tensor import Tensor


class device(str):
    """A device name, "cpu" or "cuda", that reads like torch.device: ``.type``, ``.index``, repr device(type='cuda').

    ``device("cuda")``, ``device("cuda:0")`` and ``device("cuda", 0)`` all equal "cuda": tinygen
    uses one GPU, so an index other than 0 is refused. Building one never touches the GPU
    (as in PyTorch); using it does. ``with tg.device("cuda"):`` makes it the default device.
    """

    def __new__(cls, type, index=None):
        if isinstance(type, device) and index is None:
            return type
        kind, _, number = str(type).partition(":")
        if number:
            index = int(number)
        if kind not in backend.DEVICES:
            raise backend.DeviceError(f"tinygen does not offer device {kind!r}: it runs on 'cpu' (NumPy) or "
                                      "'cuda' (CuPy); use device('cpu') where PyTorch code picks mps or xpu")
        if index not in (None, 0):
            raise backend.DeviceError(f"tinygen uses one GPU, {kind}:0; got index {index}")
        obj = super().__new__(cls, kind)
        obj.index = index
        return obj

    @property
    def type(self):
        """The kind of device, "cpu" or "cuda" (a plain string)."""
        return str.__str__(self)

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __enter__(self):
        _previous_defaults.append(backend.default_device())
        backend.set_default_device(self.type)
        return self

    def __exit__(self, *exc):
        backend.set_default_device(_previous_defaults.pop())


_previous_defaults = []  # the default devices that ``with device(...)`` blocks replaced, innermost last
CPU, CUDA = device("cpu"), device("cuda")
_BY_NAME = {"cpu": CPU, "cuda": CUDA}


def tensor_device(self):
    """Where the values live: device("cpu") or device("cuda"), which equal the strings "cpu" and "cuda"."""
    return _BY_NAME[backend.device_of(self.array)]


def is_cuda(self):
    """True when the tensor lives on the GPU."""
    return backend.device_of(self.array) == "cuda"


def get_device(self):
    """-1 for a CPU tensor, 0 (the one GPU) for a CUDA tensor, as in PyTorch."""
    return 0 if is_cuda(self) else -1


Tensor.device = property(tensor_device, doc=tensor_device.__doc__)
Tensor.is_cuda = property(is_cuda, doc=is_cuda.__doc__)
Tensor.get_device = get_device


# ---------------------------------------------------------------- tg.cuda and tg.accelerator
def cuda_is_available():
    """True when CuPy imports and sees a GPU (never raises)."""
    return backend.cuda_is_available()


def cuda_device_count():
    """How many GPUs tinygen can use: 1 when one is available (tinygen uses one), else 0."""
    return 1 if backend.cuda_is_available() else 0


def synchronize(device=None):
    """Wait until the GPU has finished all queued work (nothing to wait for on the CPU)."""
    backend.synchronize()


def empty_cache():
    """Accepted and does nothing: CuPy keeps freed GPU blocks in its pool for reuse, and tinygen leaves them there."""


def current_accelerator(check_available=False):
    """device("cuda") when a GPU is available, else None: PyTorch's ``torch.accelerator.current_accelerator()``."""
    return CUDA if backend.cuda_is_available() else None


def seed_all(seed):
    """Seed every device's generator (tinygen's generators are all seeded together)."""
    backend.manual_seed(seed)
