"""Convolution layers: Conv2d and ConvTranspose2d, with PyTorch's arguments and initialisation."""

import math

from ..creation import empty
from ..ops.conv import conv2d, conv_transpose2d, pair
from . import init
from .module import Module, Parameter


class _ConvNd(Module):
    """Shared by both layers: the weight, the bias, PyTorch's default initialisation, checks."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, weight_shape, device, dtype):
        super().__init__()
        name = type(self).__name__
        if not isinstance(groups, int) or groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups!r} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: only padding_mode='zeros' is implemented, got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride, self.dilation = pair(stride, "stride", name), pair(dilation, "dilation", name)
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding", name)
        self.groups = groups
        self.weight = Parameter(empty(*weight_shape, *self.kernel_size, device=device, dtype=dtype))
        self.bias = Parameter(empty(out_channels, device=device, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in from
        # weight.shape[1] * kh * kw (for ConvTranspose2d that is out_channels * kh * kw); bias alike.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, x):
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape (batch, {self.in_channels}, height, width) "
                f"or ({self.in_channels}, height, width), got {x.shape}"
            )

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            text += f", output_padding={self.output_padding}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution (a cross-correlation, as in PyTorch): (B, C, H, W) -> (B, O, OH, OW).

    OH = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1, and alike for OW; weight
    (O, C, kh, kw), bias (O,). An unbatched (C, H, W) input gives (O, OH, OW).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, (out_channels, in_channels // groups), device, dtype)

    def forward(self, x):
        self._check_input(x)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose (gradient) of a convolution: upsamples by ``stride``; weight (in, out, kh, kw).

    (B, C_in, H, W) -> (B, C_out, OH, OW), with
    OH = (H - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, (in_channels, out_channels // groups), device, dtype)
        self.output_padding = pair(output_padding, "output_padding", "ConvTranspose2d")

    def forward(self, x):
        self._check_input(x)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation)
