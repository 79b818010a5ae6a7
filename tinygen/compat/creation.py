"""PyTorch's other ways to make and convert tensors: Tensor(2, 3), FloatTensor, new_zeros, x.int(), tg.long.

tinygen makes tensors with ``tg.tensor(data)`` (a copy; floats float32, ints int64) and the
creators of ``tinygen/creation.py``. PyTorch code also uses its legacy constructor, which this
module adds to ``Tensor``:

    tg.Tensor(2, 3)          zeros of shape (2, 3), float32 (PyTorch leaves them uninitialised)
    tg.Tensor([1, 2])        float32 data, whatever the Python numbers (tg.tensor keeps ints int64)
    tg.Tensor(5)             the number 5 as a 0-d tensor: tinygen's own meaning (PyTorch: shape (5,))
    tg.FloatTensor([1, 2])   float32; LongTensor int64, DoubleTensor float64, ...
"""

from .. import backend
from ..creation import full, tensor, zeros
from ..tensor import Tensor
from ..tensor_methods import to

# ---------------------------------------------------------------- the legacy constructor
_core_init = Tensor.__init__


def _is_sizes(args):
    return len(args) > 1 and all(isinstance(a, int) and not isinstance(a, bool) for a in args)


def legacy_init(self, *args, dtype=None, device=None, requires_grad=False):
    """Tensor(data) as in tensor.py, plus PyTorch's legacy forms Tensor(2, 3) (float32 zeros) and Tensor([..]) (float32)."""
    if _is_sizes(args):
        args = (backend.xp_for(backend.check_device(device)).zeros(args, dtype=dtype or backend.float32),)
    elif len(args) == 1 and isinstance(args[0], (list, tuple)) and dtype is None and type(self) is Tensor:
        dtype = backend.float32  # torch.Tensor([1, 2]) is float32, unlike torch.tensor([1, 2])
    _core_init(self, *args, dtype=dtype, device=device, requires_grad=requires_grad)


legacy_init.__wrapped__ = _core_init
Tensor.__init__ = legacy_init


class TensorType(type):
    """The type of tg.FloatTensor and friends: ``isinstance(x, tg.FloatTensor)`` checks x's dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype


def _typed(name, dt):
    def make(cls, *args, device=None):
        if not args:
            return zeros(0, dtype=dt, device=device)
        if _is_sizes(args) or (len(args) == 1 and isinstance(args[0], int)):
            return zeros(*args, dtype=dt, device=device)  # sizes, zero-filled
        return tensor(args[0], dtype=dt, device=device)

    doc = f"PyTorch's {name}: {name}(data) copies data as {dt}; {name}(2, 3) gives {dt} zeros of shape (2, 3)."
    return TensorType(name, (), {"__new__": make, "__doc__": doc, "dtype": dt, "__module__": __name__})


FloatTensor = _typed("FloatTensor", backend.float32)
DoubleTensor = _typed("DoubleTensor", backend.float64)
HalfTensor = _typed("HalfTensor", backend.float16)
LongTensor = _typed("LongTensor", backend.int64)
IntTensor = _typed("IntTensor", backend.int32)
ByteTensor = _typed("ByteTensor", backend.uint8)
BoolTensor = _typed("BoolTensor", backend.bool_)
_TYPES = {t.dtype: t for t in (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ByteTensor, BoolTensor)}


# ---------------------------------------------------------------- questions and conversions
def is_tensor(obj):
    """True for a tinygen Tensor (Parameters included)."""
    return isinstance(obj, Tensor)


def is_floating_point(x):
    """True for a float16, float32 or float64 tensor."""
    return backend.is_floating(x.dtype)


def numel(x):
    """The number of elements of x."""
    return x.numel()


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is one (or a NumPy array) of that dtype and device."""
    if isinstance(data, Tensor):
        return to(data, device, dtype) if (device is not None or dtype is not None) else data
    if backend.is_array(data) and (dtype is None or backend.dtype(dtype) == data.dtype) and \
            (device is None or backend.check_device(device) == backend.device_of(data)):
        return Tensor.wrap(data)
    return tensor(data, dtype=dtype, device=device)


def tensor_type(self, dtype=None, non_blocking=False):
    """``x.type()``: the PyTorch-style type name ("tinygen.FloatTensor"); ``x.type(tg.float64)`` /
    ``x.type(tg.DoubleTensor)`` / ``x.type("torch.cuda.FloatTensor")``: x converted."""
    if dtype is None:
        cuda = "cuda." if self.device == "cuda" else ""
        return f"tinygen.{cuda}{_TYPES[self.dtype].__name__}" if self.dtype in _TYPES else f"tinygen.{self.dtype}"
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        name = dtype.rsplit(".", 1)[-1]
        matches = [t for t in _TYPES.values() if t.__name__ == name]
        if not matches:
            raise TypeError(f"type: tinygen has no tensor type {dtype!r}")
        return to(self, "cuda" if ".cuda." in dtype else self.device, matches[0].dtype)
    return to(self, None, getattr(dtype, "dtype", dtype))


def type_as(self, other):
    """x in ``other``'s dtype."""
    return to(self, None, other.dtype)


def _new(self, dtype, device):
    return (dtype if dtype is not None else self.dtype), (device if device is not None else self.device)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with x's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    """Ones of ``size`` with x's dtype and device unless given."""
    return new_zeros(self, *size, dtype=dtype, device=device).add_(1).requires_grad_(requires_grad)


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere, of ``size``, with x's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    return full(size, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with x's dtype and device unless given."""
    dtype, device = _new(self, dtype, device)
    return tensor(data.array if isinstance(data, Tensor) else data, dtype=dtype, device=device,
                  requires_grad=requires_grad)


def ndimension(self):
    """The number of dimensions (``ndim``)."""
    return self.ndim


def element_size(self):
    """Bytes per element (4 for float32)."""
    return self.array.itemsize


def _cast(dt, doc):
    def convert(self):
        return to(self, None, dt)

    convert.__doc__ = doc
    return convert


Tensor.type = tensor_type
Tensor.type_as = type_as
Tensor.new_zeros = new_zeros
Tensor.new_ones = new_ones
Tensor.new_empty = new_zeros
Tensor.new_full = new_full
Tensor.new_tensor = new_tensor
Tensor.int = _cast(backend.int32, "x as int32.")
Tensor.bool = _cast(backend.bool_, "x as bool.")
Tensor.half = _cast(backend.float16, "x as float16.")
Tensor.byte = _cast(backend.uint8, "x as uint8.")
Tensor.is_floating_point = is_floating_point
Tensor.nelement = Tensor.numel
Tensor.ndimension = ndimension
Tensor.element_size = element_size


class Generator:
    """PyTorch's torch.Generator, as far as random_split and DataLoader use it: a seed to lend them.

    ``random_split(data, [0.8, 0.2], generator=tg.Generator().manual_seed(42))`` splits the same
    way every time. tinygen's own draws (randn, dropout, ...) come from one generator per device,
    seeded by ``tg.manual_seed``; passing a Generator to them is not offered.
    """

    def __init__(self, device="cpu"):
        self.device, self.seed = device, None

    def manual_seed(self, seed):
        """Remember ``seed``; returns the generator (so it chains, as in PyTorch)."""
        self.seed = int(seed)
        return self

    def initial_seed(self):
        """The seed given to manual_seed (None before)."""
        return self.seed
