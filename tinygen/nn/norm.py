"""Normalisation layers: BatchNorm, GroupNorm, LayerNorm.

All three compute x_hat = (x - mean) / sqrt(var + eps) over some axes (the biased variance,
dividing by n) and then y = x_hat * weight + bias per channel or feature. They differ only in
which axes the statistics are taken over:

    BatchNorm   over the batch and spatial axes, one mean per channel   (N, C, *)
    GroupNorm   over each sample's channels in a group and spatial axes
    LayerNorm   over the last few axes of each sample

All three are built from differentiable ops (mean, sqrt, ...), so their backward and second
derivatives come from those ops. (The fast tier has GroupNorm, the UNet's layer, and BatchNorm
while training, the DCGAN's, each as one op that keeps only its statistics for backward, not
every intermediate array: tinygen/fast/norm.py.)
"""

from .. import backend, kernels
from ..creation import ones, tensor, zeros
from ..grad_mode import no_grad
from .module import Module, Parameter


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes``; also returns the mean and biased var (kept dims)."""
    mean = x.mean(axes, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(axes, keepdim=True)  # biased: divide by n
    return centred / (var + eps).sqrt(), mean, var


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _update_running(running, batch_value, momentum):
    """running <- (1 - momentum) * running + momentum * batch, with no graph."""
    backend.same_device("batch_norm (its running statistics)", running.array, batch_value)
    with no_grad():
        running.mul_(1.0 - momentum).add_(batch_value.reshape(running.shape), alpha=momentum)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) of x (N, C, *) with the batch's statistics while training,
    updating the running ones (unbiased variance, as PyTorch), or with the running ones in eval."""
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    channels = x.shape[1]
    shape = (1, channels) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // channels
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape {x.shape}")
        y, mean, var = normalize_batch(x, weight, bias, eps)
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * (n / (n - 1)), momentum)  # unbiased for the running estimate
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    x_hat = (x - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    return _affine(x_hat, weight, bias, shape)


@kernels.replaceable
def normalize_batch(x, weight, bias, eps):
    """batch_norm while training, on checked arguments: (y, and the batch's mean and biased variance
    per channel as (C,) arrays, from which the running statistics are updated)."""
    axes = (0,) + tuple(range(2, x.ndim))  # all but the channels
    x_hat, mean, var = _normalize(x, axes, eps)
    y = _affine(x_hat, weight, bias, (1, x.shape[1]) + (1,) * (x.ndim - 2))
    return y, mean.array.reshape(-1), var.array.reshape(-1)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels of x (N, C, *) into groups; normalise each sample's group on its own."""
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, got {x.shape}")
    return normalize_groups(x, num_groups, weight, bias, eps)


@kernels.replaceable
def normalize_groups(x, num_groups, weight, bias, eps):
    """group_norm on checked arguments: each sample's group of channels as one row, normalised."""
    grouped = x.reshape(x.shape[0], num_groups, -1)  # (N, G, C/G * spatial)
    x_hat = _normalize(grouped, 2, eps)[0].reshape(x.shape)
    return _affine(x_hat, weight, bias, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) axes of x, which must have that shape."""
    normalized_shape = _as_shape(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k :] != normalized_shape:
        raise ValueError(f"layer_norm: expected input ending in shape {normalized_shape}, got {x.shape}")
    x_hat = _normalize(x, tuple(range(x.ndim - k, x.ndim)), eps)[0]
    return _affine(x_hat, weight, bias, normalized_shape)


def _as_shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


# ---------------------------------------------------------------- the layers
class _BatchNorm(Module):
    """BatchNorm over channel axis 1; weight 1, bias 0, running mean 0 and var 1 at the start."""

    expected_ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, device=device, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=backend.int64, device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def forward(self, x):
        if x.ndim not in self.expected_ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}): expected input with {' or '.join(map(str, self.expected_ndims))} "
                f"dimensions and {self.num_features} channels on axis 1, got shape {x.shape}"
            )
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # cumulative average: weight 1/k for the k-th batch (kept on the device)
                momentum = 1.0 / self.num_batches_tracked.array.astype(self.running_mean.dtype)
        use_batch = self.training or not self.track_running_stats  # without running stats, always the batch's
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """BatchNorm for (N, C) or (N, C, L) inputs (one mean per channel C); output of the same shape."""

    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """BatchNorm for (N, C, H, W) inputs (one mean per channel C); output of the same shape."""

    expected_ndims = (4,)


class GroupNorm(Module):
    """Normalise each sample's groups of channels, then a per-channel weight and bias: (N, C, *) -> same.

    The C channels are split into ``num_groups`` groups of C / num_groups; each sample's group
    gets its own mean and variance over its channels and pixels. Nothing is shared across the
    batch, so it acts the same in training and evaluation and at batch size 1 (why the UNet uses it).
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(ones(num_channels, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, device=device, dtype=dtype)) if affine else None

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input (N, {self.num_channels}, *), got shape {x.shape}")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LayerNorm(Module):
    """Normalise each sample over its last axes, of shape ``normalized_shape``: (*, *normalized_shape) -> same.

    Then an elementwise weight and bias of shape ``normalized_shape`` (no bias if ``bias=False``).
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape, self.eps = _as_shape(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        affine = elementwise_affine
        self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(self.normalized_shape, device=device, dtype=dtype)) if affine and bias else None

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
