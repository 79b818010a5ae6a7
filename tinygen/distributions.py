"""Probability distributions for latent-variable models, every formula written out.

    q = Normal(mu, logvar=logvar)      # the VAE's posterior q(z|x), diagonal
    z = q.rsample()                    # mu + exp(0.5 logvar) * eps: differentiable in mu, logvar
    kl = q.kl_standard_normal()        # KL(q || N(0, I)) per dimension, in closed form
    p = Bernoulli(logits=decoder(z))   # p(x|z) for (binarised) pixels
    p.log_prob(x)                      # per pixel; sum over pixels for log p(x|z)

All ``log_prob`` results are elementwise (no sum over event dimensions): the model decides
which axes form one example and sums them. Values are in nats.
"""

import math

from . import backend, kernels
from .creation import rand, randn, zeros
from .ops.activation import log_softmax, softmax, softplus
from .ops.elementwise import as_tensor_like, check_broadcast
from .tensor import Tensor

LOG_2PI = math.log(2.0 * math.pi)


def _shape(sample_shape):
    return (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)


# ---------------------------------------------------------------- Gaussian
def kl_standard_normal(mu, logvar):
    """KL( N(mu, sigma^2) || N(0, 1) ) per dimension, with logvar = log sigma^2.

    Derivation, for one dimension with q = N(mu, s^2) and p = N(0, 1):
      log q(z) = -0.5 log(2 pi) - 0.5 log s^2 - (z - mu)^2 / (2 s^2)
      log p(z) = -0.5 log(2 pi) - z^2 / 2
      KL = E_q[log q - log p] = -0.5 log s^2 - 0.5 E[(z - mu)^2] / s^2 + 0.5 E[z^2]
         = -0.5 log s^2 - 0.5 + 0.5 (s^2 + mu^2)          (E[(z-mu)^2] = s^2, E[z^2] = s^2 + mu^2)
         = 0.5 (mu^2 + s^2 - log s^2 - 1)
    It is zero exactly when mu = 0 and s^2 = 1; sum it over latent dimensions.
    """
    return (mu * mu + logvar.exp() - logvar - 1.0) * 0.5


class Normal:
    """A diagonal Gaussian N(loc, scale^2), made from ``scale`` or from ``logvar`` = log scale^2.

    Give ``logvar`` when the network predicts it (a VAE encoder): the KL then uses it directly,
    with no log of a tiny scale.
    """

    def __init__(self, loc, scale=None, logvar=None):
        if (scale is None) == (logvar is None):
            raise ValueError("Normal: give exactly one of scale and logvar")
        self.loc = loc
        if logvar is not None:
            self.logvar = logvar
            self.scale = (logvar * 0.5).exp()  # sigma = exp(log sigma^2 / 2)
        else:
            self.scale = scale if isinstance(scale, Tensor) else as_tensor_like(scale, loc)
            self.logvar = self.scale.log() * 2.0
        if self.loc.shape != self.scale.shape:
            self.loc, self.scale = _broadcast_pair(self.loc, self.scale)
            self.logvar = self.logvar.broadcast_to(self.loc.shape)

    @classmethod
    def standard(cls, shape, dtype=None, device=None):
        """N(0, I) of a given shape: the VAE's prior p(z)."""
        zero = zeros(shape, dtype=dtype, device=device)
        return cls(zero, logvar=zero)

    @property
    def mean(self):
        """The mean, ``loc`` itself."""
        return self.loc

    @property
    def variance(self):
        """sigma^2 = exp(logvar), elementwise, shaped like loc."""
        return self.logvar.exp()

    def rsample(self, sample_shape=()):
        """The reparameterization trick: z = mu + sigma * eps, eps ~ N(0, I).

        The randomness sits in eps, which needs no gradient; z is a differentiable function of
        mu and sigma, so the gradient of E[f(z)] flows back into the encoder.
        """
        shape = _shape(sample_shape) + tuple(self.loc.shape)
        eps = randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + self.scale * eps

    def sample(self, sample_shape=()):
        """A draw with no gradient path: ``rsample`` detached, shape sample_shape + loc.shape."""
        return self.rsample(sample_shape).detach()

    def log_prob(self, x):
        """log N(x; mu, sigma^2) = -0.5 (log 2 pi + log sigma^2 + (x - mu)^2 / sigma^2), elementwise."""
        z = (x - self.loc) / self.scale
        return (z * z + self.logvar + LOG_2PI) * -0.5

    def entropy(self):
        """0.5 (log 2 pi e sigma^2) per dimension."""
        return (self.logvar + (LOG_2PI + 1.0)) * 0.5

    def kl_standard_normal(self):
        """KL(self || N(0, I)) per dimension; see :func:`kl_standard_normal` for the derivation."""
        return kl_standard_normal(self.loc, self.logvar)


def _broadcast_pair(a, b):
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    shape = tuple(x if y == 1 else y for x, y in zip(sa, sb))
    return a.broadcast_to(shape), b.broadcast_to(shape)


# ---------------------------------------------------------------- Bernoulli
class Bernoulli:
    """Pixels that are 1 with probability sigmoid(logits): the decoder of binarised images."""

    def __init__(self, logits):
        self.logits = logits

    @property
    def probs(self):
        """p = sigmoid(logits), the probability of a 1, shaped like logits; also the ``mean``."""
        return self.logits.sigmoid()

    mean = probs

    def log_prob(self, x):
        """x log p + (1 - x) log(1 - p) per pixel, with p = sigmoid(logits); see bernoulli_log_prob."""
        x = as_tensor_like(x, self.logits)
        logits = self.logits
        if x.shape != logits.shape:
            check_broadcast("Bernoulli.log_prob", logits, x)
            logits, x = _broadcast_pair(logits, x)
        return bernoulli_log_prob(logits, x)

    def sample(self, sample_shape=()):
        """0/1 draws in the logits' dtype, 1 with probability p: shape sample_shape + logits.shape, no gradient."""
        shape = _shape(sample_shape) + tuple(self.logits.shape)
        u = rand(shape, dtype=self.logits.dtype, device=self.logits.device)
        return Tensor.wrap((u.array < self.probs.array).astype(self.logits.dtype))


@kernels.replaceable
def bernoulli_log_prob(logits, x):
    """x log p + (1 - x) log(1 - p) = x l - softplus(l), with p = sigmoid(l); finite for any l.

    (log sigmoid(l) = -softplus(-l) = l - softplus(l), and log(1 - sigmoid(l)) = -softplus(l).)
    ``logits`` and ``x``: tensors of one shape. Its derivative in l is x - sigmoid(l).
    """
    return logits * x - softplus(logits)


# ---------------------------------------------------------------- categorical
class Categorical:
    """One of K classes along the last axis, with probabilities softmax(logits)."""

    def __init__(self, logits):
        self.logits = logits
        self.log_probs = log_softmax(logits, -1)

    @property
    def probs(self):
        """softmax(logits) over the last axis: (..., K), each row summing to 1."""
        return softmax(self.logits, -1)

    def log_prob(self, index):
        """log p[index]; ``index`` holds integer classes, shape logits.shape[:-1]."""
        xp = backend.array_module(self.logits.array)
        k = self.logits.shape[-1]
        index = index.array if isinstance(index, Tensor) else backend.as_array(index, device=self.logits.device)
        index = backend.same_device("Categorical.log_prob", self.logits.array, index)  # DeviceError, not CuPy's
        onehot = Tensor.wrap(xp.eye(k, dtype=self.logits.dtype)[index])
        return (self.log_probs * onehot).sum(-1)

    def sample(self, sample_shape=()):
        """Class indices via the Gumbel-max trick: argmax(logits + Gumbel noise) ~ Categorical(logits)."""
        shape = _shape(sample_shape) + tuple(self.logits.shape)
        g = gumbel_noise(shape, self.logits.dtype, self.logits.device)
        return (self.logits.detach() + g).argmax(-1)

    def entropy(self):
        """H = -sum_k p_k log p_k over the last axis, in nats: (...,)."""
        return -(self.probs * self.log_probs).sum(-1)

    def kl_uniform(self):
        """KL(q || Uniform(K)) = sum_k q_k (log q_k - log(1/K)) = sum_k q_k log q_k + log K."""
        return (self.probs * self.log_probs).sum(-1) + math.log(self.logits.shape[-1])


def gumbel_noise(shape, dtype=None, device=None):
    """g = -log(-log u), u ~ U(0, 1): standard Gumbel samples (u kept inside (0, 1))."""
    u = rand(shape, dtype=dtype, device=device)
    xp = backend.array_module(u.array)
    tiny = float(xp.finfo(u.dtype).tiny)
    u = u.clamp(tiny, 1.0 - float(xp.finfo(u.dtype).eps))
    return -((-(u.log())).log())


def one_hot(index, num_classes, dtype=None):
    """Integer classes (...) -> (..., num_classes) float rows with a single 1 (no gradient)."""
    data = index.array if isinstance(index, Tensor) else index
    xp = backend.array_module(data)
    return Tensor.wrap(xp.eye(num_classes, dtype=dtype or backend.float32)[data])


def gumbel_softmax(logits, tau=1.0, hard=False):
    """A differentiable sample of a one-hot vector: softmax((logits + g) / tau), g ~ Gumbel.

    As tau -> 0 the sample tends to the one-hot argmax(logits + g), an exact Categorical draw
    (the Gumbel-max trick), but its gradient grows noisy; large tau gives smooth, uniform-ish
    vectors. ``hard=True`` is the straight-through estimator: the forward value is the exact
    one-hot, the gradient is that of the soft sample (y_hard - y.detach() + y).
    """
    g = gumbel_noise(logits.shape, logits.dtype, logits.device)
    y = softmax((logits + g) / float(tau), -1)
    if not hard:
        return y
    y_hard = one_hot(y.array.argmax(-1), logits.shape[-1], logits.dtype)
    return y_hard - y.detach() + y


class RelaxedOneHotCategorical:
    """The Gumbel-Softmax (Concrete) distribution: ``rsample`` is :func:`gumbel_softmax`."""

    def __init__(self, temperature, logits):
        self.temperature, self.logits = float(temperature), logits

    def rsample(self, hard=False):
        """A relaxed one-hot sample (..., K), differentiable in the logits; ``hard=True``: straight-through."""
        return gumbel_softmax(self.logits, self.temperature, hard)
