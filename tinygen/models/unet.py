"""A small UNet that predicts the noise in images: the DDPM denoiser for 8x8 and 28x28 digits.

    eps_hat = UNet(image_size=28)(x_t, t)        # x_t (B, 1, 28, 28), t int64 (B,) -> (B, 1, 28, 28)

Down path: a residual block per resolution, halving the image between them (stride-2 conv);
a middle block at the coarsest resolution; up path: the mirror image, each block fed the
matching down-path activation through a skip connection (concatenated channels), doubling the
image between them (nearest upsampling + conv). Every residual block gets the sinusoidal time
embedding (and the label embedding, if class-conditional) added to its channels.

    28x28, channel_mults (1, 2, 2):  28 -> 14 -> 7 -> middle at 7 -> 14 -> 28
    8x8,   channel_mults (1, 2):      8 -> 4 -> middle at 4 -> 8
"""

from .. import nn
from ..ops.activation import silu
from ..ops.pool import interpolate
from ..ops.shape import cat
from .ddpm import timestep_embedding


class ResBlock(nn.Module):
    """x + conv(silu(GN(conv(silu(GN x))) + W_t emb)), with a 1x1 conv on the skip if channels change.

    x (B, C_in, H, W) and embedding (B, emb_dim) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels, out_channels, emb_dim, groups=8):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(emb_dim, out_channels)
        self.norm2 = nn.GroupNorm(min(groups, out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x, emb):                                        # x (B, Cin, H, W), emb (B, E)
        h = self.conv1(silu(self.norm1(x)))                           # (B, Cout, H, W)
        h = h + self.time(silu(emb)).reshape(h.shape[0], h.shape[1], 1, 1)  # the noise level, per channel
        h = self.conv2(silu(self.norm2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """eps(x_t, t[, y]) for (B, C, H, W) images; H must be divisible by 2^(len(channel_mults) - 1).

    The denoising network of GaussianDiffusion for square images of side ``image_size``:
    ``model(x_t, t)`` with noisy images x_t (B, in_channels, S, S) and int64 timesteps t (B,)
    returns the predicted noise, shaped like x_t. Level i of ``channel_mults`` works at
    ``channels * channel_mults[i]`` channels and side S / 2^i (the module docstring draws it).
    With ``num_classes`` it also takes labels y (B,); label ``num_classes`` is the null label
    of classifier-free guidance.
    """

    def __init__(self, image_size=28, in_channels=1, channels=32, channel_mults=(1, 2, 2), groups=8,
                 num_classes=None):
        super().__init__()
        levels = len(channel_mults)
        if image_size % 2 ** (levels - 1):
            raise ValueError(f"UNet: image_size {image_size} must be divisible by 2^{levels - 1} "
                             f"for channel_mults {channel_mults}")
        self.image_size, self.in_channels, self.channels, self.num_classes = image_size, in_channels, channels, num_classes
        widths = [channels * m for m in channel_mults]
        emb_dim = 4 * channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.conv_in = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        previous = channels
        for i, w in enumerate(widths):
            self.down.append(ResBlock(previous, w, emb_dim, groups))
            if i < levels - 1:
                self.downsample.append(nn.Conv2d(w, w, 3, stride=2, padding=1))  # H -> H/2
            previous = w
        self.middle = ResBlock(previous, previous, emb_dim, groups)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(levels)):
            self.up.append(ResBlock(previous + widths[i], widths[i], emb_dim, groups))  # + the skip's channels
            if i > 0:
                self.upsample.append(nn.Conv2d(widths[i], widths[i - 1], 3, padding=1))  # after 2x nearest
                previous = widths[i - 1]
        self.norm_out = nn.GroupNorm(min(groups, channels), channels)
        self.conv_out = nn.Conv2d(channels, in_channels, 3, padding=1)

    def forward(self, x, t, y=None):
        """x_t (B, C, S, S), t int64 (B,) [, y int64 (B,)] -> predicted noise (B, C, S, S)."""
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"UNet: expected images of shape (B, {', '.join(map(str, expected))}), got {x.shape}")
        emb = self.time_mlp(timestep_embedding(t, self.channels, x.dtype))  # (B, 4c)
        if y is not None:
            if self.label is None:
                raise ValueError("UNet: got labels y, but the model was built without num_classes")
            emb = emb + self.label(y)
        h = self.conv_in(x)                                                  # (B, c, H, W)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)                                                # (B, w_i, H/2^i, W/2^i)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)                                    # (B, w_i, H/2^(i+1), ...)
        h = self.middle(h, emb)
        for k, block in enumerate(self.up):
            h = block(cat([h, skips.pop()], dim=1), emb)                     # (B, w_i, H/2^i, W/2^i)
            if k < len(self.upsample):
                h = self.upsample[k](interpolate(h, scale_factor=2))         # (B, w_{i-1}, H/2^(i-1), ...)
        return self.conv_out(silu(self.norm_out(h)))                         # (B, C, H, W)
