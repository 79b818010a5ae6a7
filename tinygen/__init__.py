"""tinygen: a small deep-learning engine to read, and four generative models built on it.

    import tinygen as tg
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad          # tensor([[2., 4.]])
"""

from . import backend, tensor_methods
from .autograd import AnomalyError, detect_anomaly, grad
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .kernels import fast_kernels_enabled, use_fast_kernels
from .backend import (
    DeviceError,
    bool_,
    cuda_is_available,
    float16,
    float32,
    float64,
    int32,
    int64,
    set_default_device,
    uint8,
)
from .creation import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops.activation import log_softmax, relu, sigmoid, softmax, tanh
from .ops.elementwise import abs, clamp, exp, log, maximum, minimum, sqrt, where
from .ops.linalg import matmul
from .ops.shape import cat, flatten, permute, reshape, squeeze, stack, transpose, unsqueeze
from .tensor import Tensor
from .serialization import CheckpointError, load, save
from . import optim
from . import fast  # registers the fast kernels (tg.use_fast_kernels(False) sets them aside)

clip = clamp
concatenate = cat


def broadcast_to(x, shape):
    return x.broadcast_to(shape)


def get_default_device():
    return backend.default_device()


def pow(x, exponent):
    return x**exponent


def neg(x):
    return -x


# Reductions with PyTorch's spelling (dim, keepdim); the Tensor methods also take NumPy's.
def sum(x, dim=None, keepdim=False):
    return x.sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return x.mean(dim, keepdim)


def var(x, dim=None, keepdim=False, correction=1):
    return x.var(dim, keepdim, correction)


def logsumexp(x, dim=None, keepdim=False):
    return x.logsumexp(dim, keepdim)


def amax(x, dim=None, keepdim=False):
    return x.amax(dim, keepdim)


def amin(x, dim=None, keepdim=False):
    return x.amin(dim, keepdim)


def max(x, dim=None, keepdim=False):
    return x.max(dim, keepdim)


def min(x, dim=None, keepdim=False):
    return x.min(dim, keepdim)


__version__ = "0.1.0"
