"""The variational autoencoder (Kingma & Welling, 2014) and its conditional form.

The encoder maps x to a Gaussian q(z|x) = N(mu, diag(exp(logvar))) instead of a point; a code
is drawn with the reparameterization trick z = mu + exp(0.5 logvar) * eps, and the KL term
pulls every q(z|x) toward the prior N(0, I). The loss is the negative ELBO, in nats per example:

    -ELBO(x) = E_q[-log p(x|z)]  +  beta * KL(q(z|x) || N(0, I))
                 reconstruction        the price of the code

For evaluation, the importance-weighted bound (Burda et al., 2016) tightens the ELBO toward
log p(x) as the number of samples K grows:

    log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),   z_k ~ q(z|x)
"""

import collections
import math

from .. import grad_mode, nn
from ..creation import randn, zeros
from ..distributions import Bernoulli, Normal, one_hot
from ..ops.shape import cat
from .ae import make_encoder_decoder

ELBO = collections.namedtuple("ELBO", ["loss", "recon", "kl"])  # each a 0-d Tensor, nats per example


class VAE(nn.Module):
    """A VAE around an ``encoder`` with 2 * latent_dim outputs (mu, logvar) and a ``decoder``.

    Images x (B, C, H, W) -> q(z|x) with mu, logvar (B, latent_dim) -> z -> p(x|z) over
    (B, C, H, W). Training minimises ``model(x)``, the negative ELBO in nats per example
    (``neg_elbo`` gives its two parts); ``sample(n)`` decodes prior draws to (n, C, H, W);
    ``iwae_bound`` estimates log p(x) for evaluation. ``mlp`` and ``conv`` build the networks.
    ``likelihood``: "bernoulli" (decoder gives logits; binarised or [0, 1] pixels) or "gaussian"
    (decoder mean = sigmoid(output), one learned noise level for all pixels).
    ``num_classes`` > 0 makes it conditional: a one-hot label joins the encoder's and decoder's input.
    """

    def __init__(self, encoder, decoder, latent_dim, likelihood="bernoulli", beta=1.0, num_classes=0):
        super().__init__()
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAE: likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.likelihood, self.beta, self.num_classes = latent_dim, likelihood, beta, num_classes
        if likelihood == "gaussian":
            self.log_sigma = nn.Parameter(zeros(1) - 1.0)  # the pixel noise std, exp(-1) ~ 0.37 to start

    @classmethod
    def mlp(cls, image_shape, latent_dim=20, hidden=(400,), **kwargs):
        """An MLP VAE for images ``image_shape`` (C, H, W); other keywords (likelihood, beta, num_classes) go to VAE."""
        enc, dec = make_encoder_decoder("mlp", image_shape, latent_dim, 2 * latent_dim, hidden,
                                        cond_dim=kwargs.get("num_classes", 0))
        return cls(enc, dec, latent_dim, **kwargs)

    @classmethod
    def conv(cls, image_shape, latent_dim=20, **kwargs):
        """A convolutional VAE (ConvEncoder / ConvDecoder; H and W multiples of 4; not conditional)."""
        enc, dec = make_encoder_decoder("conv", image_shape, latent_dim, 2 * latent_dim)
        return cls(enc, dec, latent_dim, **kwargs)

    # ------------------------------------------------------------ the two halves
    def _condition(self, y, batch):
        if not self.num_classes:
            return None
        if y is None:
            raise ValueError(f"{type(self).__name__}: this model is conditional; pass labels y of shape ({batch},)")
        return one_hot(y, self.num_classes, self.decoder_dtype())

    def decoder_dtype(self):
        """The dtype of the model's first parameter (the encoder's): the dtype of the one-hot labels."""
        return next(iter(self.parameters())).dtype

    def encode(self, x, y=None):
        """q(z|x) as a Normal with mean mu and log-variance logvar, each (B, latent_dim)."""
        h = self.encoder(x, self._condition(y, x.shape[0]))  # (B, 2 * latent_dim)
        return Normal(h[:, : self.latent_dim], logvar=h[:, self.latent_dim :])

    def decode_dist(self, z, y=None):
        """p(x|z): a Bernoulli over pixels (logits) or a Gaussian (mean, shared log-variance)."""
        out = self.decoder(z, self._condition(y, z.shape[0]))  # (B, C, H, W)
        if self.likelihood == "bernoulli":
            return Bernoulli(logits=out)
        return Normal(out.sigmoid(), logvar=self.log_sigma * 2.0)

    def decode(self, z, y=None):
        """The mean image of p(x|z), in [0, 1]."""
        return self.decode_dist(z, y).mean

    def log_likelihood(self, x, z, y=None):
        """log p(x|z) summed over pixels: (B,) for z (B, D)."""
        return self.decode_dist(z, y).log_prob(x).flatten(1).sum(1)

    # ------------------------------------------------------------ training
    def neg_elbo(self, x, y=None, beta=None):
        """The loss and its two parts (nats per example, averaged over the batch), one z per example."""
        beta = self.beta if beta is None else beta
        q = self.encode(x, y)
        z = q.rsample()                                        # (B, D)
        recon = -self.log_likelihood(x, z, y).mean()
        kl = q.kl_standard_normal().sum(1).mean()              # closed form: no sampling noise
        return ELBO(recon + kl * beta, recon, kl)

    def forward(self, x, y=None):
        """The training loss, -ELBO: x (B, C, H, W) [, labels y (B,)] -> a 0-d Tensor, nats per example."""
        return self.neg_elbo(x, y).loss

    # ------------------------------------------------------------ evaluation and sampling
    def log_importance_weights(self, x, y=None, k=1):
        """log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x) for k samples per example: (k, B).

        All k samples go through the decoder as one batch of k * B codes: no loop over samples.
        """
        b = x.shape[0]
        q = self.encode(x, y)
        z = q.rsample(k)                                                   # (k, B, D)
        log_q = q.log_prob(z).sum(-1)                                      # (k, B)
        log_prior = ((z * z + math.log(2.0 * math.pi)) * -0.5).sum(-1)     # log N(z; 0, I), (k, B)
        x_k = x.unsqueeze(0).expand(k, *x.shape).reshape(k * b, *x.shape[1:])
        y_k = None if y is None else y.unsqueeze(0).expand(k, b).reshape(k * b)
        log_px = self.log_likelihood(x_k, z.reshape(k * b, self.latent_dim), y_k).reshape(k, b)
        return log_px + log_prior - log_q

    def iwae_bound(self, x, y=None, k=100, chunk=None):
        """log p(x) >= logsumexp_k(log w_k) - log k, per example (B,), without gradients.

        ``chunk`` samples are decoded at a time (default: about 2**22 pixel values per chunk), so
        k = 5000 fits in memory; the chunks' weights are joined before the one logsumexp.
        """
        pixels = x.numel() // x.shape[0]
        chunk = chunk or max(1, min(k, (1 << 22) // max(1, x.shape[0] * pixels)))
        with grad_mode.no_grad():
            parts = [self.log_importance_weights(x, y, min(chunk, k - start)) for start in range(0, k, chunk)]
            log_w = parts[0] if len(parts) == 1 else cat(parts, dim=0)   # (k, B)
            return log_w.logsumexp(0) - math.log(k)

    def sample(self, n, y=None):
        """n images from the prior: z ~ N(0, I), shown as the mean of p(x|z) in [0, 1]."""
        p = next(iter(self.parameters()))
        z = randn(n, self.latent_dim, dtype=p.dtype, device=p.device)
        with grad_mode.no_grad():
            return self.decode(z, y)

    def reconstruct(self, x, y=None):
        """Decode each image's posterior mean: what the model keeps of x."""
        with grad_mode.no_grad():
            return self.decode(self.encode(x, y).mean, y)


class CVAE(VAE):
    """A conditional VAE: every call takes the labels ``y``; ``sample(n, y)`` draws the digits asked for.

    The same model as VAE with ``num_classes`` > 0: a one-hot label (B, num_classes) is appended
    to the encoder's pixels and to the decoder's code, so q(z|x, y) need not encode the class and
    z is left with the style. Labels y are int64 (B,) in 0..num_classes-1.
    """

    @classmethod
    def mlp(cls, image_shape, latent_dim=20, hidden=(400,), num_classes=10, **kwargs):
        """A conditional MLP VAE for images ``image_shape`` (C, H, W) and ``num_classes`` labels."""
        return super().mlp(image_shape, latent_dim, hidden, num_classes=num_classes, **kwargs)
