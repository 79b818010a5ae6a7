"""Pooling and upsampling layers: MaxPool2d, AvgPool2d, Upsample (nearest or bilinear)."""

from ..ops.pool import avg_pool2d, interpolate, max_pool2d
from .module import Module


class MaxPool2d(Module):
    """The largest value of each kernel_size window (stride defaults to kernel_size).

    (B, C, H, W) -> (B, C, OH, OW). ``return_indices`` and ``ceil_mode`` are accepted for PyTorch
    code but not implemented (True raises).
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each kernel_size window (stride defaults to kernel_size): (B, C, H, W) -> (B, C, OH, OW)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Upsample(Module):
    """Resize images with F.interpolate: mode 'nearest' or 'bilinear' (with ``align_corners``), any size or scale.

    (B, C, H, W) -> (B, C, OH, OW), (OH, OW) = ``size`` or (floor(H s), floor(W s)) for scale_factor s.
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        if mode not in ("nearest", "bilinear"):
            raise NotImplementedError(f"Upsample: mode {mode!r} is not offered in tinygen; use 'nearest' or 'bilinear'")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode='{self.mode}'" + (f", align_corners={self.align_corners}" if self.align_corners else "")
