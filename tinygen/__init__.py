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

# ---------------------------------------------------------------- PyTorch's other names (tinygen/compat/)
from . import accelerator, backends, cuda, interop, nn, utils
from .compat.devices import device
from .compat.creation import (BoolTensor, ByteTensor, DoubleTensor, FloatTensor, Generator, HalfTensor, IntTensor,
                              LongTensor, as_tensor, is_floating_point, is_tensor, numel)
from .compat.methods import (all, allclose, any, bmm, ceil, chunk, dot, eq, equal, floor, ge, gt, isclose, isfinite,
                             isinf, isnan, le, logical_and, logical_not, logical_or, lt, masked_fill, mm, ne, outer,
                             prod, reciprocal, round, rsqrt, select, split, square, std, t, unbind)
from .ops.einsum import einsum
from .ops.functions import cos, erf, expm1, log1p, sin
from .ops.indexing import flip, gather, index_select, narrow, roll, scatter_add
from .ops.norms import dist, norm
from .ops.reduce import argmax, argmin
from .ops.scan import cumprod, cumsum

inference_mode = no_grad  # PyTorch's faster no_grad; here they are the same switch
float, double, half, long, int, bool = float32, float64, float16, int64, int32, bool_  # noqa: A001 (torch.float, ...)

__version__ = "0.1.0"
