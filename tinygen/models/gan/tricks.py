"""Three fixes for mode collapse, each a small module the discriminator can switch on.

Mode collapse: G puts all its samples on a few modes. A discriminator that judges one sample
at a time cannot see it (each sample looks real); the first two fixes let D look at several
samples at once, the third keeps D smooth so G's gradient points toward the missing modes.

* ``Pack(m)``          PacGAN (Lin et al., 2018): D judges m samples concatenated into one
                       input. m samples from a collapsed G are suspiciously alike; m real
                       samples are not. D's input grows by a factor m; nothing else changes.
* ``MinibatchStd()``   (Karras et al., 2018): append one feature, the standard deviation of
                       each feature over the batch averaged into a number: a collapsed batch
                       has a small one, and D can tell.
* ``SpectralNorm(layer)``  (Miyato et al., 2018): divide a layer's weight by its largest
                       singular value, estimated by one power-iteration step per call, so each
                       layer is 1-Lipschitz and D cannot grow arbitrarily sharp.
"""

from ...grad_mode import no_grad
from ...creation import randn
from ...nn import Conv2d, Linear, Module
from ...nn.functional import conv2d, linear
from ...ops.shape import cat


class Pack(Module):
    """(B, *shape) -> (B / m, m * shape[0], *shape[1:]): m consecutive samples become one D input."""

    def __init__(self, m):
        super().__init__()
        self.m = int(m)

    def forward(self, x):
        if x.shape[0] % self.m:
            raise ValueError(f"Pack: batch size {x.shape[0]} is not a multiple of the packing degree {self.m}")
        return x.reshape(x.shape[0] // self.m, self.m * x.shape[1], *x.shape[2:])

    def extra_repr(self):
        return f"m={self.m}"


class MinibatchStd(Module):
    """Append std over the batch (averaged over features) as one more feature (or channel).

    (B, F) -> (B, F + 1), or (B, C, H, W) -> (B, C + 1, H, W).
    """

    def __init__(self, eps=1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x):  # x: (B, F) or (B, C, H, W)
        centred = x - x.mean(0, keepdim=True)
        std = ((centred * centred).mean(0) + self.eps).sqrt()  # (F,) or (C, H, W); eps keeps sqrt'(0) finite
        s = std.mean()  # one number for the whole batch
        extra = s.reshape((1,) * x.ndim).expand(x.shape[0], 1, *x.shape[2:])  # (B, 1) or (B, 1, H, W)
        return cat([x, extra], dim=1)


class SpectralNorm(Module):
    """Wrap a Linear or Conv2d so it uses W / sigma(W), sigma the largest singular value.

    sigma = u^T W v, with u and v the singular vectors kept between calls and refined by one
    power-iteration step each training call (v <- W^T u / |.|, u <- W v / |.|). u and v are
    constants to autograd (as in the paper and PyTorch), so the gradient flows through W / sigma.
    Inputs and outputs are shaped as for the wrapped layer.
    """

    def __init__(self, layer, eps=1e-12):
        super().__init__()
        if not isinstance(layer, (Linear, Conv2d)):
            raise TypeError(f"SpectralNorm: expected a Linear or Conv2d layer, got {type(layer).__name__}")
        self.layer, self.eps = layer, eps
        w = layer.weight
        u = randn(w.shape[0], dtype=w.dtype, device=w.device)
        self.register_buffer("u", u / (u * u).sum().sqrt())

    def normalized_weight(self):
        """W / sigma(W), shaped like the layer's weight; in training mode the stored u is refined first."""
        w = self.layer.weight
        matrix = w.reshape(w.shape[0], -1)  # (out, in * kh * kw)
        with no_grad():
            u = self.u
            v = matrix.T @ u
            v = v / ((v * v).sum().sqrt() + self.eps)
            if self.training:
                u = matrix @ v
                u = u / ((u * u).sum().sqrt() + self.eps)
                self.u.copy_(u)
        sigma = u @ (matrix @ v)  # u, v constants: the gradient reaches W through matrix only
        return w / sigma

    def forward(self, x):
        w, layer = self.normalized_weight(), self.layer
        if isinstance(layer, Linear):
            return linear(x, w, layer.bias)
        return conv2d(x, w, layer.bias, layer.stride, layer.padding, layer.dilation)
