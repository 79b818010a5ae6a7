"""tinygen: a small deep-learning engine to read, and four generative models built on it.

    import tinygen as tg
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad          # tensor([[2., 4.]])
"""

from . import backend, compat, tensor_methods
from .compat import amax, amin, broadcast_to, clip, concatenate, get_default_device, logsumexp, max, mean, min, neg, pow, sum, var
from .anomaly import AnomalyError, detect_anomaly
from .autograd import grad
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

__version__ = "0.1.0"
