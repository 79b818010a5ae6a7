"""A normalizing flow (RealNVP, Dinh et al. 2017): an invertible network with an exact likelihood.

A flow f maps data x to a code z = f(x) that should look like N(0, I). Because f is a bijection,
the change-of-variables formula gives the density of x exactly:

    log p(x) = log N(f(x); 0, I) + log |det df/dx|

and f is a stack of layers, so the log-determinant is the sum of the layers' log-determinants.
Each layer is chosen so that its inverse and its determinant are cheap:

    ActNorm          y = (x + b) * exp(s), per feature           log det = sum(s)
    AffineCoupling   y_a = x_a, y_b = x_b * exp(s(x_a)) + t(x_a)  log det = sum(s(x_a))
    LogitTransform   y = logit(a + (1 - 2a) x), for data in [0, 1]

The coupling layer's Jacobian is triangular (y_a does not depend on x_b), so its determinant is
the product of the diagonal, exp(s) for the changed half and 1 for the kept half: no D x D
determinant is ever formed. The networks s and t can be anything; they are never inverted.
Sampling runs the layers backwards from z ~ N(0, I).

Every layer maps (B, D) -> ((B, D), log det (B,)) in ``forward`` and (B, D) -> (B, D) in
``inverse``; images are flattened to vectors first.
"""

import math

from .. import nn
from ..creation import ones, randn, tensor, zeros
from ..grad_mode import no_grad

LOG_2PI = math.log(2.0 * math.pi)


# ---------------------------------------------------------------- masks
def alternating_masks(dim, count):
    """``count`` 0/1 masks over ``dim`` features, (j + k) % 2 for the k-th: every other feature is
    kept, and the next layer keeps the others. For dim = 2: [1, 0], [0, 1], [1, 0], ..."""
    return [[float((j + k) % 2 == 0) for j in range(dim)] for k in range(count)]


def checkerboard_masks(height, width, count):
    """``count`` checkerboard masks over a flattened (height, width) image, alternating in parity,
    so each pixel's kept neighbours are its four closest (RealNVP's spatial masks)."""
    return [[float((r + c + k) % 2 == 0) for r in range(height) for c in range(width)] for k in range(count)]


# ---------------------------------------------------------------- the layers
class ActNorm(nn.Module):
    """y = (x + bias) * exp(log_scale) per feature (Glow's normalisation, with no batch statistics).

    x (B, D) -> y (B, D), log det (B,) = sum(log_scale) for every example. The first training
    batch sets bias and log_scale so that it comes out with zero mean and unit variance per
    feature (a data-dependent start); after that both are ordinary trained parameters, so the
    layer is the same function in training and evaluation (unlike batch norm).
    """

    def __init__(self, dim):
        super().__init__()
        self.log_scale = nn.Parameter(zeros(dim))
        self.bias = nn.Parameter(zeros(dim))
        self.register_buffer("initialized", zeros(1))  # 1 once the first batch has set the start; saved
        self.checked = False  # the buffer has been read (one read, not one per step)

    def initialize(self, x):
        """Set bias = -mean and log_scale = -log std of the batch x (B, D), per feature."""
        with no_grad():
            mean = x.mean(0)
            std = ((x - mean) ** 2).mean(0).sqrt() + 1e-6
            self.bias.copy_(-mean)
            self.log_scale.copy_(-std.log())
            self.initialized.fill_(1.0)

    def forward(self, x):
        """x (B, D) -> (y (B, D), log det (B,))."""
        if self.training and not self.checked:
            if float(self.initialized.numpy()[0]) == 0.0:
                self.initialize(x)
            self.checked = True
        y = (x + self.bias) * self.log_scale.exp()
        logdet = self.log_scale.sum() + zeros(x.shape[0], dtype=x.dtype, device=x.device)  # the same for every x
        return y, logdet

    def inverse(self, y):
        """y (B, D) -> x = y * exp(-log_scale) - bias."""
        return y * (-self.log_scale).exp() - self.bias


class AffineCoupling(nn.Module):
    """One RealNVP coupling layer: keep the features where ``mask`` is 1, scale and shift the rest.

        y = x * exp(s) + t,   s = (1 - mask) * scale * tanh(S(mask * x)),  t = (1 - mask) * T(mask * x)

    x (B, D) -> y (B, D), log det (B,) = sum_j s_j. S and T are the two halves of one MLP's
    output (``hidden`` units, ``depth`` hidden layers, ReLU); its last layer starts at zero, so a
    new layer is the identity. tanh bounds the log-scale by the learned ``scale`` (per feature):
    an early step cannot blow a feature up by exp(huge). The kept features see only themselves,
    so the inverse can recompute s and t from y: x = (y - t) * exp(-s).
    """

    def __init__(self, mask, hidden=64, depth=2):
        super().__init__()
        dim = len(mask)
        self.register_buffer("mask", tensor(mask))                          # (D,) 1 = kept
        layers, width = [], dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        last = nn.Linear(width, 2 * dim)
        with no_grad():
            last.weight.zero_()
            last.bias.zero_()
        self.net = nn.Sequential(*layers, last)                              # (B, D) -> (B, 2D)
        self.scale = nn.Parameter(ones(dim))

    def shift_and_log_scale(self, x):
        """s and t (each (B, D), zero on the kept features) from the kept features of x (B, D)."""
        free = 1.0 - self.mask
        h = self.net(x * self.mask)                                          # (B, 2D)
        dim = self.mask.shape[0]
        s = h[:, :dim].tanh() * self.scale * free
        t = h[:, dim:] * free
        return s, t

    def forward(self, x):
        """x (B, D) -> (y (B, D), log det (B,))."""
        s, t = self.shift_and_log_scale(x)
        y = x * s.exp() + t               # the kept features: s = t = 0, so y = x there
        # dy/dx is triangular once the kept features come first: dy_kept/dx = [I, 0], and
        # dy_free/dx_free = diag(exp(s)). det = prod exp(s), so log |det| = sum s.
        return y, s.sum(1)

    def inverse(self, y):
        """y (B, D) -> x: the kept features are y's own, so s and t are recomputed exactly."""
        s, t = self.shift_and_log_scale(y)
        return (y - t) * (-s).exp()


class LogitTransform(nn.Module):
    """y = logit(alpha + (1 - 2 alpha) x): data in [0, 1] onto the whole line (RealNVP's first step).

    x (B, D) -> y (B, D), log det (B,) = sum_j log(1 - 2 alpha) - log p_j - log(1 - p_j),
    p = alpha + (1 - 2 alpha) x. alpha keeps p off 0 and 1, where the logit is infinite.
    No parameters.
    """

    def __init__(self, alpha=0.05):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        """x (B, D) in [0, 1] -> (y (B, D), log det (B,))."""
        p = x * (1.0 - 2.0 * self.alpha) + self.alpha
        y = p.log() - (1.0 - p).log()
        # d logit(p) / dp = 1 / (p (1 - p)), and dp/dx = 1 - 2 alpha
        logdet = (math.log(1.0 - 2.0 * self.alpha) - p.log() - (1.0 - p).log()).sum(1)
        return y, logdet

    def inverse(self, y):
        """y (B, D) -> x = (sigmoid(y) - alpha) / (1 - 2 alpha)."""
        return (y.sigmoid() - self.alpha) / (1.0 - 2.0 * self.alpha)


# ---------------------------------------------------------------- the flow
class RealNVP(nn.Module):
    """A stack of (ActNorm, AffineCoupling) pairs over vectors of ``dim`` features, one per mask.

    ``masks``: 0/1 lists of length dim (default: ``alternating_masks(dim, layers)``);
    ``logit``: alpha of a first LogitTransform for data in [0, 1] (None: no transform);
    ``actnorm``: an ActNorm before each coupling. x (B, dim) <-> z (B, dim).
    ``log_prob(x)`` is exact, in nats per example (B,); ``nll(x)`` the training loss (its mean,
    negated); ``sample(n)`` inverts the stack from z ~ N(0, I); ``trajectory(x)`` the data after
    each layer.
    """

    def __init__(self, dim, layers=8, hidden=64, depth=2, masks=None, actnorm=True, logit=None):
        super().__init__()
        masks = alternating_masks(dim, layers) if masks is None else masks
        if any(len(m) != dim for m in masks):
            raise ValueError(f"RealNVP: every mask needs {dim} entries, got lengths {[len(m) for m in masks]}")
        self.dim = dim
        steps = [] if logit is None else [LogitTransform(logit)]
        for mask in masks:
            steps += ([ActNorm(dim)] if actnorm else []) + [AffineCoupling(mask, hidden, depth)]
        self.steps = nn.ModuleList(steps)

    def forward(self, x):
        """x (B, dim) -> (z (B, dim), log |det dz/dx| (B,)): the sum of the layers' log-determinants."""
        logdet = 0.0
        for step in self.steps:
            x, ld = step(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, z):
        """z (B, dim) -> x (B, dim): each layer's inverse, last layer first."""
        for step in reversed(list(self.steps)):
            z = step.inverse(z)
        return z

    def log_prob(self, x):
        """log p(x) = log N(f(x); 0, I) + log |det df/dx|, in nats per example: (B,)."""
        z, logdet = self(x)
        return (z * z + LOG_2PI).sum(1) * -0.5 + logdet

    def nll(self, x):
        """The training loss: -log p(x) averaged over the batch, nats per example (a 0-d Tensor)."""
        return -self.log_prob(x).mean()

    def sample(self, n, temperature=1.0):
        """n draws (n, dim): z ~ N(0, temperature^2 I) pushed back through the inverse, no gradients."""
        p = next(iter(self.parameters()))
        with no_grad():
            return self.inverse(randn(n, self.dim, dtype=p.dtype, device=p.device) * temperature)

    def trajectory(self, x):
        """[x, x after the first layer, ..., z]: the data pushed through the flow layer by layer."""
        frames = [x]
        with no_grad():
            for step in self.steps:
                x, _ = step(x)
                frames.append(x)
        return frames


def bits_per_dim(nll_nats, dim, levels):
    """Turn -log p of dequantised data in [0, 1]^dim (nats per example) into bits per dimension of
    the discrete data with ``levels`` values per dimension: (nll + dim log levels) / (dim log 2).

    Uniform dequantisation x = (k + u) / levels puts each discrete value k on a cell of side
    1 / levels, so -log P(k) <= E_u[-log p(x)] + dim log(levels) (Jensen): an upper bound.
    """
    return (nll_nats + dim * math.log(levels)) / (dim * math.log(2.0))

