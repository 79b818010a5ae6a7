"""Pooling and nearest-neighbour upsampling, on the window views of ops/conv.py (NCHW).

Each pooling op is linear in what flows backward, so it comes as a pair of Functions that are
each other's backward (the gradient of a gather is a scatter and the other way round):

    MaxPool2d(x)            picks each window's largest value; remembers where (argmax)
    ScatterToArgmax(g)      sends g[window] to that argmax (ties: the first one)  <-> GatherAtArgmax
    AvgPool2d(x)            window sum / divisor                                 <-> SpreadOverWindows
"""

from .. import backend
from ..autograd import Function
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


def interpolate(input, size=None, scale_factor=None, mode="nearest"):
    """PyTorch's F.interpolate for mode='nearest' and whole-number scale factors.

    Each pixel is repeated s times along each axis, written as reshape -> expand -> reshape,
    so the backward (a sum over each s x s block) and its own backward come from those ops.
    """
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: only mode='nearest' is implemented, got {mode!r}")
    x, unbatched = check_image("interpolate", input)
    B, C, H, W = x.shape
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        size = pair(size, "size", "interpolate")
        if size[0] % H or size[1] % W:
            raise NotImplementedError(f"interpolate: size must be a whole multiple of the input size {(H, W)}, "
                                      f"got {size}")
        scale = (size[0] // H, size[1] // W)
    else:
        factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor, scale_factor)
        if len(factors) != 2 or any(float(f) != int(f) or f < 1 for f in factors):
            raise NotImplementedError(f"interpolate: scale_factor must be a whole number >= 1, got {scale_factor!r}")
        scale = (int(factors[0]), int(factors[1]))
    sh, sw = scale
    y = x.reshape(B, C, H, 1, W, 1).expand(B, C, H, sh, W, sw).reshape(B, C, H * sh, W * sw)
    return y.squeeze(0) if unbatched else y
