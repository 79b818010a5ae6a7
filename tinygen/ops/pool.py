"""Pooling and nearest-neighbour upsampling, on the window views of ops/conv.py (NCHW).

Each pooling op is linear in what flows backward, so it comes as a pair of Functions that are
each other's backward (the gradient of a gather is a scatter and the other way round):

    MaxPool2d(x)            picks each window's largest value; remembers where (argmax)
    ScatterToArgmax(g)      sends g[window] to that argmax (ties: the first one)  <-> GatherAtArgmax
    AvgPool2d(x)            window sum / divisor                                 <-> SpreadOverWindows
"""

from .. import backend, kernels
from ..autograd import Function
from ..tensor import Tensor
from .conv import Geometry, add_windows, check_image, pad_image, pair, windows


def _flat_windows(x, geom, fill):
    """(B, C, OH, OW, kh*kw): every window of the padded image, kernel offsets on the last axis (a copy)."""
    win = windows(pad_image(x, geom.padding, fill), geom).transpose(0, 3, 1, 2, 4, 5)  # (B, C, OH, OW, kh, kw)
    return win.reshape(win.shape[:4] + (-1,))


class MaxPool2d(Function):
    """Each window's largest value, (B, C, H, W) -> (B, C, OH, OW)."""

    uses_inputs = False

    def forward(self, x):
        flat = _flat_windows(x, self.geom, float("-inf"))
        self.argmax = flat.argmax(axis=4)  # (B, C, OH, OW): kernel offset u*kw + v of each max
        return flat.max(axis=4)

    def backward(self, g):
        return ScatterToArgmax.apply(g, geom=self.geom, argmax=self.argmax)


class ScatterToArgmax(Function):
    """g (B, C, OH, OW) -> image (B, C, H, W): each window's g added at its argmax."""

    uses_inputs = False

    def forward(self, g):
        xp, kw = backend.array_module(g), self.geom.kernel[1]
        return add_windows(lambda u, v: xp.where(self.argmax == u * kw + v, g, 0.0),
                           self.geom, g.shape[0], g.shape[1], g.dtype, xp)

    def backward(self, gg):
        return GatherAtArgmax.apply(gg, geom=self.geom, argmax=self.argmax)


class GatherAtArgmax(Function):
    """image (B, C, H, W) -> (B, C, OH, OW): the value at each window's argmax."""

    uses_inputs = False

    def forward(self, x):
        xp = backend.array_module(x)
        flat = _flat_windows(x, self.geom, 0.0)
        return xp.take_along_axis(flat, self.argmax[..., None], axis=4)[..., 0]

    def backward(self, g):
        return ScatterToArgmax.apply(g, geom=self.geom, argmax=self.argmax)


class AvgPool2d(Function):
    """Window sum / divisor; divisor is kh*kw, or the count of real pixels (count_include_pad=False)."""

    uses_inputs = False

    def forward(self, x):
        win = windows(pad_image(x, self.geom.padding), self.geom)  # (B, OH, OW, C, kh, kw)
        return win.sum(axis=(4, 5)).transpose(0, 3, 1, 2) / self.divisor

    def backward(self, g):
        return SpreadOverWindows.apply(g, geom=self.geom, divisor=self.divisor)


class SpreadOverWindows(Function):
    """g (B, C, OH, OW) -> image: g / divisor added at every pixel of its window."""

    uses_inputs = False

    def forward(self, g):
        share = g / self.divisor
        return add_windows(lambda u, v: share, self.geom, g.shape[0], g.shape[1], g.dtype, backend.array_module(g))

    def backward(self, gg):
        return AvgPool2d.apply(gg, geom=self.geom, divisor=self.divisor)


# ---------------------------------------------------------------- the functions
def _pool_geometry(op, x, kernel_size, stride, padding, dilation):
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == () else pair(stride, "stride", op)
    padding, dilation = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding should be at most half the kernel size, got padding {padding} "
                         f"and kernel_size {kernel}")
    geom = Geometry(kernel, stride, padding, dilation, x.shape[2:])
    if min(geom.out) < 1:
        raise ValueError(f"{op}: input of shape {x.shape} is smaller than the kernel {kernel}")
    return geom


def _no_ceil(op, ceil_mode):
    if ceil_mode:
        raise NotImplementedError(f"{op}: ceil_mode=True is not implemented")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """PyTorch's F.max_pool2d: the largest value of each window; its gradient goes to that element."""
    _no_ceil("max_pool2d", ceil_mode)
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not implemented")
    x, unbatched = check_image("max_pool2d", input)
    geom = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation)
    y = MaxPool2d.apply(x, geom=geom)
    return y.squeeze(0) if unbatched else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """PyTorch's F.avg_pool2d: the mean of each window (padding counts as zeros unless told not to)."""
    _no_ceil("avg_pool2d", ceil_mode)
    x, unbatched = check_image("avg_pool2d", input)
    geom = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1)
    if count_include_pad:
        divisor = float(geom.kernel[0] * geom.kernel[1])
    else:  # how many real (unpadded) pixels each window covers, (1, OH, OW, 1)
        ones = backend.array_module(x.array).ones((1, 1) + x.shape[2:], dtype=x.dtype)
        divisor = windows(pad_image(ones, geom.padding), geom).sum(axis=(4, 5)).transpose(0, 3, 1, 2)
    y = AvgPool2d.apply(x, geom=geom, divisor=divisor)
    return y.squeeze(0) if unbatched else y


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """PyTorch's F.interpolate for (B, C, H, W) images: mode 'nearest' or 'bilinear', any output size.

    Output (B, C, OH, OW) with (OH, OW) = ``size``, or floor(H * scale_factor) and alike. Each
    output pixel reads the input at a source position ``src`` (PyTorch's convention, below):
    'nearest' takes pixel floor(src), 'bilinear' mixes the two pixels around src along each axis.
    Both are integer indexing plus weights, so gradients of any order come from indexing's.
    A whole-number scale with 'nearest' is a reshape -> expand -> reshape instead (no gather).
    """
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not offered in tinygen; use 'nearest' or 'bilinear'")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to mode='bilinear'")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not offered in tinygen")
    x, unbatched = check_image("interpolate", input)
    B, C, H, W = x.shape
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = pair(tuple(size) if isinstance(size, list) else size, "size", "interpolate")
        scales = (H / out[0], W / out[1])
    else:
        factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
        if len(factors) != 2 or any(f <= 0 for f in factors):
            raise ValueError(f"interpolate: scale_factor must be one or two positive numbers, got {scale_factor!r}")
        out = (int(H * factors[0]), int(W * factors[1]))
        scales = (H / out[0], W / out[1]) if recompute_scale_factor else (1.0 / factors[0], 1.0 / factors[1])
    if min(out) < 1:
        raise ValueError(f"interpolate: the output size {out} is empty")
    if mode == "nearest" and out[0] % H == 0 and out[1] % W == 0 and scales == (H / out[0], W / out[1]):
        y = repeat_pixels(x, out[0] // H, out[1] // W)
    else:
        xp = backend.array_module(x.array)
        y = x
        for axis, n_in, n_out, scale in ((2, H, out[0], scales[0]), (3, W, out[1], scales[1])):
            y = _resample(y, axis, n_in, n_out, scale, mode, align_corners, xp)
    return y.squeeze(0) if unbatched else y


@kernels.replaceable
def repeat_pixels(x, sh, sw):
    """Each pixel of x (B, C, H, W) repeated into an sh x sw block: (B, C, H*sh, W*sw), nearest
    upsampling by whole factors. A view that repeats each pixel, then one copy; backward sums each block."""
    B, C, H, W = x.shape
    return x.reshape(B, C, H, 1, W, 1).expand(B, C, H, sh, W, sw).reshape(B, C, H * sh, W * sw)


def _resample(x, axis, n_in, n_out, scale, mode, align_corners, xp):
    """x resampled along one axis from n_in to n_out pixels (PyTorch's source positions)."""
    i = xp.arange(n_out, dtype=backend.float64)
    lead = (slice(None),) * axis
    if mode == "nearest":  # src = floor(i * scale)
        return x[lead + (xp.minimum(xp.floor(i * scale).astype(backend.int64), n_in - 1),)]
    if align_corners:      # the corner pixels of input and output line up: src = i (n_in - 1) / (n_out - 1)
        src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:                  # pixel centres line up: src = (i + 0.5) scale - 0.5, at least 0
        src = xp.maximum((i + 0.5) * scale - 0.5, 0.0)
    i0 = xp.minimum(xp.floor(src).astype(backend.int64), n_in - 1)
    i1 = xp.minimum(i0 + 1, n_in - 1)
    w1 = (src - i0).astype(x.dtype).reshape((n_out,) + (1,) * (x.ndim - axis - 1))  # weight of the right pixel
    w1 = Tensor.wrap(w1)
    return x[lead + (i0,)] * (1.0 - w1) + x[lead + (i1,)] * w1
