"""A normalizing flow (RealNVP, Dinh et al. 2017): an invertible network with an exact likelihood.

A flow f maps data x to a code z = f(x) that should look like N(0, I). Because f is a bijection,
the change-of-variables formula gives the density of x exactly:

    log p(x) = log N(f(x); 0, I) + log |det df/dx|

and f is a stack of layers, so the log-determinant is the sum of the layers' log-determinants.
Each layer is chosen so that its inverse and its determinant are cheap:

    ActNorm                     y = (x + b) * exp(s), per feature           log det = sum(s)
    AffineCoupling              y_a = x_a, y_b = x_b * exp(s(x_a)) + t(x_a)  log det = sum(s(x_a))
    RationalQuadraticCoupling   y_a = x_a, y_b = g(x_b; theta(x_a))          log det = sum log g'(x_b)
    LogitTransform              y = logit(a + (1 - 2a) x), for data in [0, 1]

A coupling layer's Jacobian is triangular (y_a does not depend on x_b), so its determinant is
the product of the diagonal, exp(s) (or g') for the changed half and 1 for the kept half: no
D x D determinant is ever formed. The networks computing s, t or theta can be anything; they are
never inverted. The affine coupling moves and stretches each free feature; the spline coupling
(Durkan et al. 2019) bends it by a monotone piecewise rational-quadratic g with K bins, which can
carve several sharp peaks into one feature in one layer. Sampling runs the layers backwards from
z ~ N(0, I).

Every layer maps (B, D) -> ((B, D), log det (B,)) in ``forward`` and (B, D) -> (B, D) in
``inverse``; images are flattened to vectors first.
"""

import math

from .. import nn
from ..creation import ones, randn, tensor, zeros
from ..grad_mode import no_grad
from ..nn import functional as F
from ..ops.elementwise import where
from ..ops.indexing import gather
from ..ops.scan import cumsum

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


def coupling_net(dim, hidden, depth, outputs):
    """The MLP of a coupling layer: dim -> ``depth`` x (Linear(hidden), ReLU) -> ``outputs``. Its last layer
    starts at zero, so at the start it outputs zeros for every input (each coupling picks what zeros mean)."""
    layers, width = [], dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    last = nn.Linear(width, outputs)
    with no_grad():
        last.weight.zero_()
        last.bias.zero_()
    return nn.Sequential(*layers, last)


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
        self.net = coupling_net(dim, hidden, depth, 2 * dim)                 # (B, D) -> (B, 2D)
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


# ---------------------------------------------------------------- the rational-quadratic spline
# One monotone map g of [-bound, bound] onto itself per free feature (Durkan, Bekasov, Murray and
# Papamakarios 2019, "Neural Spline Flows"), given by K bins: knots x_0 < ... < x_K (the inputs),
# y_0 < ... < y_K (the outputs), both from -bound to bound, and the slopes d_0, ..., d_K > 0 at the
# knots. In bin k, with w = x_{k+1} - x_k, h = y_{k+1} - y_k, s = h / w (the bin's mean slope),
# xi = (x - x_k) / w in [0, 1] and t = xi (1 - xi):
#
#     g(x) = y_k + h (s xi^2 + d_k t) / (s + (d_k + d_{k+1} - 2 s) t)
#
# It runs from y_k (xi = 0) to y_{k+1} (xi = 1) with the slopes d_k and d_{k+1} there, so the bins
# join smoothly, and it increases whenever s and the d's are positive (the paper's Lemma).


def bin_of(v, knots):
    """Each value's bin (B, D), an integer in 0..K-1: how many of the K-1 inner knots (B, D, K+1) lie at
    or below it. A comparison, so no gradient flows through the choice (the map is continuous at the knots)."""
    return (v.unsqueeze(-1) >= knots[..., 1:-1]).sum(-1)


def in_bin(values, k):
    """values (B, D, K) at each feature's bin k (B, D): (B, D). A gather, differentiable in ``values``."""
    return gather(values, -1, k.unsqueeze(-1)).squeeze(-1)


def bin_numbers(k, xs, ys, d):
    """Each feature's bin k (B, D) described by six (B, D) tensors: its left knot x_k and width w, its
    bottom knot y_k and height h, and the slopes d_k, d_{k+1} at its two ends."""
    x_k, w = in_bin(xs[..., :-1], k), in_bin(xs[..., 1:] - xs[..., :-1], k)
    y_k, h = in_bin(ys[..., :-1], k), in_bin(ys[..., 1:] - ys[..., :-1], k)
    return x_k, w, y_k, h, in_bin(d[..., :-1], k), in_bin(d[..., 1:], k)


def rational_quadratic_spline(x, xs, ys, d):
    """g(x) and log g'(x), each (B, D), for x (B, D) in [xs_0, xs_K]; knots xs, ys and slopes d: (B, D, K+1)."""
    x_k, w, y_k, h, d_k, d_next = bin_numbers(bin_of(x, xs), xs, ys, d)
    s = h / w
    xi = (x - x_k) / w
    t = xi * (1.0 - xi)
    denominator = s + (d_k + d_next - 2.0 * s) * t
    y = y_k + h * (s * xi * xi + d_k * t) / denominator
    # the quotient rule, simplified (the paper's eq. 5):
    #     g'(x) = s^2 (d_{k+1} xi^2 + 2 s t + d_k (1 - xi)^2) / denominator^2
    # every factor is positive, so log g' = 2 log s + log(...) - 2 log denominator
    slope_mix = d_next * xi * xi + 2.0 * s * t + d_k * (1.0 - xi) * (1.0 - xi)
    log_slope = 2.0 * s.log() + slope_mix.log() - 2.0 * denominator.log()
    return y, log_slope


def rational_quadratic_inverse(y, xs, ys, d):
    """g^-1(y) (B, D) for y (B, D) in [ys_0, ys_K]: the root in y's bin of a quadratic in xi.

    Multiply g(x) = y out, with v = y - y_k and delta = d_k + d_{k+1} - 2 s:
        v (s + delta xi (1 - xi)) = h (s xi^2 + d_k xi (1 - xi))
        a xi^2 + b xi + c = 0,  a = h (s - d_k) + v delta,  b = h d_k - v delta,  c = -s v.
    The root in [0, 1] is (-b + sqrt(b^2 - 4ac)) / 2a, written as 2c / (-b - sqrt(b^2 - 4ac)) (multiply
    above and below by -b - sqrt(...)): no 0 / 0 where a = 0 (a bin that is a straight line), and no
    cancellation of two nearly equal numbers where 4ac is small (c <= 0 and b > 0 near xi = 0).
    """
    # the output knots tell which bin y came out of (g increases)
    x_k, w, y_k, h, d_k, d_next = bin_numbers(bin_of(y, ys), xs, ys, d)
    s = h / w
    v = y - y_k
    delta = d_k + d_next - 2.0 * s
    a = h * (s - d_k) + v * delta
    b = h * d_k - v * delta
    c = -s * v
    root = (b * b - 4.0 * a * c).clamp(min=0.0).sqrt()  # >= 0 in exact arithmetic; the clamp takes rounding
    xi = 2.0 * c / (-b - root)
    return x_k + xi * w


class RationalQuadraticCoupling(nn.Module):
    """A coupling layer that bends each free feature by a monotone rational-quadratic spline.

        y_kept = x_kept,   y_free = g(x_free; theta(x_kept))   on [-bound, bound], the identity outside

    x (B, D) -> y (B, D), log det (B,) = sum over the free features inside [-bound, bound] of log g'(x_j)
    (the Jacobian is triangular, as for AffineCoupling, and g' = 1 outside, log 1 = 0). An MLP of the
    kept features (``hidden`` units, ``depth`` hidden layers) gives, per feature, 3K - 1 numbers:
    K for the bin widths, K for the heights (each a softmax, with a floor ``min_bin`` of the range)
    and K - 1 for the slopes at the inner knots (softplus, plus ``min_derivative``). The slopes at
    -bound and bound are 1, so the spline joins the identity outside without a kink.

    The MLP's last layer starts at zero: equal bins (widths = heights, so every bin's slope s is 1)
    and, with the shift below, inner slopes of 1, so a new layer is the identity map.
    """

    def __init__(self, mask, bins=8, bound=3.0, hidden=64, depth=2, min_bin=1e-3, min_derivative=1e-3):
        super().__init__()
        dim = len(mask)
        if bins * min_bin >= 1.0:
            raise ValueError(f"RationalQuadraticCoupling: {bins} bins of at least {min_bin} cannot fit in 1")
        self.register_buffer("mask", tensor(mask))                          # (D,) 1 = kept
        self.net = coupling_net(dim, hidden, depth, dim * (3 * bins - 1))     # (B, D) -> (B, D (3K - 1))
        self.bins, self.bound, self.min_bin, self.min_derivative = bins, float(bound), min_bin, min_derivative
        # A zero logit would give the slope min_derivative + softplus(0) = min_derivative + log 2 ~ 0.69:
        # not the identity. Shifting the logit by log(e^(1 - min_derivative) - 1) makes softplus(shift)
        # = 1 - min_derivative, so a zero logit is a slope of exactly 1.
        self.shift = math.log(math.expm1(1.0 - min_derivative))

    def knots(self, logits):
        """K + 1 knots (B, D, K+1) from -bound to bound, the K bins' sizes a softmax of ``logits`` (B, D, K),
        each at least min_bin of the range (a bin of width 0 would divide by 0)."""
        sizes = self.min_bin + (1.0 - self.bins * self.min_bin) * logits.softmax(-1)  # (B, D, K), sum 1
        edges = F.pad(cumsum(sizes[..., :-1], -1), (1, 0), value=0.0)                # (B, D, K): 0, ...
        edges = F.pad(edges, (0, 1), value=1.0)                  # the last exactly 1, not a rounded sum
        return edges * (2.0 * self.bound) - self.bound

    def spline(self, x):
        """The splines' knots xs, ys and slopes d, each (B, D, K+1), from the kept features of x (B, D)."""
        k = self.bins
        theta = self.net(x * self.mask).reshape(x.shape[0], x.shape[1], 3 * k - 1)  # (B, D, 3K - 1)
        inner = F.softplus(theta[..., 2 * k:] + self.shift) + self.min_derivative   # (B, D, K - 1)
        d = F.pad(inner, (1, 1), value=1.0)                                          # slope 1 at both ends
        return self.knots(theta[..., :k]), self.knots(theta[..., k:2 * k]), d

    def changed(self, v):
        """Where the spline acts (B, D), a boolean: on the free features, inside [-bound, bound]."""
        return (v >= -self.bound) & (v <= self.bound) & (self.mask == 0.0)

    def forward(self, x):
        """x (B, D) -> (y (B, D), log det (B,))."""
        xs, ys, d = self.spline(x)
        # the spline is evaluated everywhere, at x clamped into its interval, and kept only where it
        # acts: a value outside would fall off the bins (and where's other branch would get nan gradients)
        y, log_slope = rational_quadratic_spline(x.clamp(-self.bound, self.bound), xs, ys, d)
        changed = self.changed(x)
        return where(changed, y, x), where(changed, log_slope, 0.0).sum(1)

    def inverse(self, y):
        """y (B, D) -> x: the kept features are y's own, so the splines are recomputed exactly."""
        xs, ys, d = self.spline(y)
        x = rational_quadratic_inverse(y.clamp(-self.bound, self.bound), xs, ys, d)
        return where(self.changed(y), x, y)


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
    """A stack of (ActNorm, coupling) pairs over vectors of ``dim`` features, one per mask.

    ``masks``: 0/1 lists of length dim (default: ``alternating_masks(dim, layers)``);
    ``coupling``: "affine" (AffineCoupling) or "spline" (RationalQuadraticCoupling with ``bins`` bins
    on [-bound, bound]); ``logit``: alpha of a first LogitTransform for data in [0, 1] (None: no
    transform); ``actnorm``: an ActNorm before each coupling. x (B, dim) <-> z (B, dim).
    ``log_prob(x)`` is exact, in nats per example (B,); ``nll(x)`` the training loss (its mean,
    negated); ``sample(n)`` inverts the stack from z ~ N(0, I); ``trajectory(x)`` the data after
    each layer.
    """

    def __init__(self, dim, layers=8, hidden=64, depth=2, masks=None, actnorm=True, logit=None,
                 coupling="affine", bins=8, bound=3.0):
        super().__init__()
        masks = alternating_masks(dim, layers) if masks is None else masks
        if any(len(m) != dim for m in masks):
            raise ValueError(f"RealNVP: every mask needs {dim} entries, got lengths {[len(m) for m in masks]}")
        if coupling not in ("affine", "spline"):
            raise ValueError(f"RealNVP: coupling must be 'affine' or 'spline', got {coupling!r}")
        self.dim = dim
        steps = [] if logit is None else [LogitTransform(logit)]
        for mask in masks:
            layer = AffineCoupling(mask, hidden, depth) if coupling == "affine" else \
                RationalQuadraticCoupling(mask, bins, bound, hidden, depth)
            steps += ([ActNorm(dim)] if actnorm else []) + [layer]
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

