"""Convolution as one matrix product: im2col, then matmul.

Images are NCHW (batch, channels, height, width) and weights (out, in, kh, kw), as in PyTorch.

    y[b, o, i, j] = sum_{c,u,v} w[o, c, u, v] * x_pad[b, c, i*s + u*d, j*s + v*d]

Every output pixel reads one window of the padded image. ``unfold`` (im2col) lays each window
out as a row, so the whole convolution becomes one matrix product of those rows with the
weights seen as a matrix:

    x (B, C, H, W) --pad, every window as a strided view--> (B, OH, OW, C, kh, kw)
                   --one copy--> cols (B*OH*OW, C*kh*kw)      @ w (O, C*kh*kw)^T -> (B*OH*OW, O)

``Unfold``'s backward is ``Fold`` (col2im: add each row back onto the window it came from,
overlaps adding up) and ``Fold``'s backward is ``Unfold``: the two are each other's adjoint,
like Sum and BroadcastTo. The rest is matmul, reshape and permute, so every derivative of a
convolution, to any order, comes from ops that already have one. A transposed convolution
is the same two steps the other way round: a matrix product, then ``fold``.
"""

from .. import backend, kernels
from ..autograd import Function
from .shape import cat


class Geometry:
    """Kernel, stride, padding, dilation (each (h, w)) and the size (H, W) of the conv's input."""

    __slots__ = ("kernel", "stride", "padding", "dilation", "size", "out")

    def __init__(self, kernel, stride, padding, dilation, size):
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.size = tuple(size)
        # OH = floor((H + 2p - d(k-1) - 1) / s) + 1
        self.out = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)
        )


def windows(x_pad, geom):
    """Every window of a padded NCHW array at once: a (B, OH, OW, C, kh, kw) strided view, no copy."""
    B, C = x_pad.shape[:2]
    sb, sc, sh, sw = x_pad.strides
    (kh, kw), (th, tw), (dh, dw) = geom.kernel, geom.stride, geom.dilation
    OH, OW = geom.out
    return backend.as_strided(x_pad, (B, OH, OW, C, kh, kw), (sb, sh * th, sw * tw, sc, sh * dh, sw * dw))


def pad_image(x, padding, value=0.0):
    """An NCHW array with ``padding`` (ph, pw) rows and columns of ``value`` around each image."""
    (ph, pw), xp = padding, backend.array_module(x)
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def add_windows(piece, geom, batch, channels, dtype, xp):
    """An NCHW image with each window's values added back where the window was read.

    ``piece(u, v)`` gives the (B, C, OH, OW) values that kernel offset (u, v) read: one strided
    add per kernel offset, never a loop over batch or pixels.
    """
    (kh, kw), (th, tw), (ph, pw), (dh, dw) = geom.kernel, geom.stride, geom.padding, geom.dilation
    (H, W), (OH, OW) = geom.size, geom.out
    img = xp.zeros((batch, channels, H + 2 * ph, W + 2 * pw), dtype=dtype)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + th * (OH - 1) + 1, th)
            cols = slice(v * dw, v * dw + tw * (OW - 1) + 1, tw)
            img[:, :, rows, cols] += piece(u, v)
    return img[:, :, ph : ph + H, pw : pw + W]


class Unfold(Function):
    """im2col: x (B, C, H, W) -> cols (B*OH*OW, C*kh*kw), one row per output pixel."""

    uses_inputs = False

    def forward(self, x):
        win = windows(pad_image(x, self.geom.padding), self.geom)  # a view: (B, OH, OW, C, kh, kw)
        return win.reshape(-1, win.shape[3] * win.shape[4] * win.shape[5])  # the one copy

    def backward(self, g):
        return Fold.apply(g, geom=self.geom, channels=self.channels)


class Fold(Function):
    """col2im: cols (B*OH*OW, C*kh*kw) -> x (B, C, H, W), each row added onto its window."""

    uses_inputs = False

    def forward(self, cols):
        (kh, kw), (OH, OW), C = self.geom.kernel, self.geom.out, self.channels
        per_window = cols.reshape(-1, OH, OW, C, kh, kw).transpose(0, 3, 1, 2, 4, 5)  # (B, C, OH, OW, kh, kw)
        return add_windows(lambda u, v: per_window[..., u, v], self.geom, per_window.shape[0], C,
                           cols.dtype, backend.array_module(cols))

    def backward(self, g):
        return Unfold.apply(g, geom=self.geom, channels=self.channels)


def unfold(x, geom):
    """im2col as an op: (B, C, H, W) -> (B*OH*OW, C*kh*kw)."""
    return Unfold.apply(x, geom=geom, channels=x.shape[1])


def fold(cols, geom, channels):
    """col2im as an op: (B*OH*OW, channels*kh*kw) -> (B, channels, H, W), overlaps added."""
    return Fold.apply(cols, geom=geom, channels=channels)


@kernels.replaceable
def convolve(x, weight, bias, geom):
    """conv2d on checked arguments: im2col, one matrix product, the bias, back to NCHW."""
    B, O = x.shape[0], weight.shape[0]
    y = unfold(x, geom) @ weight.reshape(O, -1).transpose(0, 1)  # (B*OH*OW, O)
    if bias is not None:
        y = y + bias
    return y.reshape(B, geom.out[0], geom.out[1], O).permute(0, 3, 1, 2)  # (B, O, OH, OW)


@kernels.replaceable
def convolve_transpose(x, weight, bias, geom):
    """conv_transpose2d on checked arguments: the adjoint of ``convolve``.

    ``geom`` is the geometry of the convolution that maps the output back to x. Each input
    pixel's C values times the weight (C, O*kh*kw) give one row of window values; fold adds
    them up in place.
    """
    B, C, H, W = x.shape
    O = weight.shape[1]
    rows = x.permute(0, 2, 3, 1).reshape(B * H * W, C)  # one row per input pixel
    y = fold(rows @ weight.reshape(C, -1), geom, O)    # (B, O, OH, OW)
    return y if bias is None else y + bias.reshape(1, O, 1, 1)


# ---------------------------------------------------------------- argument checks
def pair(value, name, op):
    """2 -> (2, 2); (1, 2) stays; anything else is refused, naming the op."""
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(n, int) for n in value):
        return tuple(value)
    raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def check_image(op, x):
    """x must be 4-D NCHW (or 3-D CHW); returns it 4-D and whether it was unbatched."""
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 4-D input (batch, channels, height, width) or 3-D (channels, "
                         f"height, width), got shape {x.shape}")
    return (x.unsqueeze(0), True) if x.ndim == 3 else (x, False)


def _check_weight(op, x, w, groups, channel_axis):
    """w must be 4-D, of x's dtype, with x's channel count on ``channel_axis`` (times ``groups`` for conv2d)."""
    if not isinstance(groups, int) or groups < 1 or x.shape[1] % groups or w.shape[0] % groups:
        raise ValueError(f"{op}: groups={groups!r} must be a positive int dividing the input's {x.shape[1]} "
                         f"channels and the weight's first dimension {w.shape[0]}")
    if w.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {w.shape}")
    if w.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but weight is {w.dtype}; cast one of them")
    expected = w.shape[channel_axis] * (groups if channel_axis == 1 else 1)
    if x.shape[1] != expected:
        raise ValueError(f"{op}: weight of shape {w.shape} (groups={groups}) expects an input with {expected} "
                         f"channels, got input of shape {x.shape}")


def _grouped(fn, x, weight, bias, geom, groups, out_axis):
    """fn on each of ``groups`` slices of the channels, joined: group g sees input channels g*C/groups.. only.

    The weight is cut along its first axis (out channels for conv2d, in channels for the
    transpose); the output channels of the groups are concatenated in order.
    """
    if groups == 1:
        return fn(x, weight, bias, geom)
    cin, wn = x.shape[1] // groups, weight.shape[0] // groups
    outs = []
    for g in range(groups):
        w = weight[g * wn : (g + 1) * wn]
        n_out = w.shape[out_axis]
        b = None if bias is None else bias[g * n_out : (g + 1) * n_out]
        outs.append(fn(x[:, g * cin : (g + 1) * cin], w, b, geom))
    return cat(outs, 1)


def _check_bias(op, x, bias, out_channels):
    """b must be None or of shape (out_channels,) and x's dtype."""
    if bias is not None and (bias.shape != (out_channels,) or bias.dtype != x.dtype):
        raise ValueError(f"{op}: expected a bias of shape ({out_channels},) and dtype {x.dtype}, "
                         f"got shape {bias.shape} and dtype {bias.dtype}")


# ---------------------------------------------------------------- the functions
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's F.conv2d: input (B, C, H, W), weight (O, C, kh, kw), bias (O,) or None."""
    x, unbatched = check_image("conv2d", input)
    _check_weight("conv2d", x, weight, groups, channel_axis=1)
    kernel = weight.shape[2:]
    stride, dilation = pair(stride, "stride", "conv2d"), pair(dilation, "dilation", "conv2d")
    padding = _padding(padding, kernel, stride, dilation)
    geom = Geometry(kernel, stride, padding, dilation, x.shape[2:])
    if min(geom.out) < 1:
        raise ValueError(f"conv2d: input of shape {tuple(input.shape)} is smaller than the dilated kernel "
                         f"{tuple(kernel)} (padding {padding}, dilation {dilation})")
    _check_bias("conv2d", x, bias, weight.shape[0])
    y = _grouped(convolve, x, weight, bias, geom, groups, 0)
    return y.squeeze(0) if unbatched else y


def _padding(padding, kernel, stride, dilation):
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if stride != (1, 1) or any(d * (k - 1) % 2 for k, d in zip(kernel, dilation)):
            raise ValueError(f"conv2d: padding='same' needs stride 1 and an odd dilated kernel, "
                             f"got kernel {tuple(kernel)}, stride {stride}, dilation {dilation}")
        return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
    return pair(padding, "padding", "conv2d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """PyTorch's F.conv_transpose2d: input (B, C_in, H, W), weight (C_in, C_out, kh, kw).

    Output size: (H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
    """
    op = "conv_transpose2d"
    x, unbatched = check_image(op, input)
    _check_weight(op, x, weight, groups, channel_axis=0)
    kernel = weight.shape[2:]
    stride, padding = pair(stride, "stride", op), pair(padding, "padding", op)
    dilation, output_padding = pair(dilation, "dilation", op), pair(output_padding, "output_padding", op)
    if any(q >= s for q, s in zip(output_padding, stride)):
        raise ValueError(f"{op}: output_padding must be smaller than stride, got output_padding "
                         f"{output_padding} and stride {stride}")
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + q + 1
                 for n, k, s, p, d, q in zip(x.shape[2:], kernel, stride, padding, dilation, output_padding))
    if min(size) < 1:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} with padding {padding} "
                         f"gives an empty output {size}")
    geom = Geometry(kernel, stride, padding, dilation, size)
    _check_bias(op, x, bias, weight.shape[1] * groups)
    y = _grouped(convolve_transpose, x, weight, bias, geom, groups, 1)
    return y.squeeze(0) if unbatched else y
