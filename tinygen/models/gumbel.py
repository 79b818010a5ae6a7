"""A VAE with discrete latents: N categorical variables of K classes, via Gumbel-Softmax.

A categorical sample has no reparameterization (argmax has no useful gradient). Gumbel-Softmax
(Jang et al., 2017; Maddison et al., 2017) relaxes it: softmax((logits + g) / tau) with Gumbel
noise g is a differentiable "soft one-hot" that becomes an exact categorical draw as tau -> 0.
Training starts warm (tau = 1) and anneals tau down; ``hard=True`` feeds the decoder exact
one-hots with the soft gradient (straight-through).

    -ELBO = E_q[-log p(x|z)] + sum_n KL(q(z_n|x) || Uniform(K))
"""

import math

from .. import grad_mode, nn
from ..creation import randint
from ..distributions import Bernoulli, Categorical, gumbel_softmax, one_hot
from .ae import make_encoder_decoder
from .vae import ELBO


def temperature(step, tau0=1.0, tau_min=0.5, rate=3e-4):
    """The annealing schedule of Jang et al.: tau = max(tau_min, tau0 * exp(-rate * step))."""
    return max(tau_min, tau0 * math.exp(-rate * step))


class GumbelVAE(nn.Module):
    """Encoder -> logits (B, N, K); z = gumbel_softmax(logits) flattened (B, N*K) -> Bernoulli decoder.

    A VAE whose code is N categorical variables of K classes each (``num_vars``, ``num_classes``)
    with a uniform prior. Images x (B, C, H, W) in [0, 1] -> loss ``model(x, tau)``, the negative
    ELBO in nats per example at temperature tau (anneal it with ``temperature(step)``);
    ``sample(n)`` decodes uniformly drawn one-hot codes to (n, C, H, W).
    """

    def __init__(self, encoder, decoder, num_vars, num_classes, hard=False):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.num_vars, self.num_classes, self.hard = num_vars, num_classes, hard

    @classmethod
    def mlp(cls, image_shape, num_vars=20, num_classes=10, hidden=(400,), hard=False):
        """An MLP Gumbel VAE for images ``image_shape`` (C, H, W): num_vars variables of num_classes classes."""
        enc, dec = make_encoder_decoder("mlp", image_shape, num_vars * num_classes, num_vars * num_classes, hidden)
        return cls(enc, dec, num_vars, num_classes, hard)

    def encode(self, x):
        """q(z|x): N independent categoricals, logits (B, N, K)."""
        return Categorical(self.encoder(x).reshape(-1, self.num_vars, self.num_classes))

    def decode(self, z):
        """Mean image in [0, 1] from codes z (B, N, K) (one-hot or relaxed)."""
        return self.decoder(z.reshape(z.shape[0], -1)).sigmoid()

    def neg_elbo(self, x, tau=1.0, hard=None):
        """ELBO(loss, recon, kl) at temperature tau, 0-d Tensors in nats per example, one relaxed z per example."""
        hard = self.hard if hard is None else hard
        q = self.encode(x)
        z = gumbel_softmax(q.logits, tau, hard)                           # (B, N, K)
        logits = self.decoder(z.reshape(z.shape[0], -1))                  # (B, C, H, W)
        recon = -Bernoulli(logits).log_prob(x).flatten(1).sum(1).mean()
        kl = q.kl_uniform().sum(1).mean()                                 # the prior is uniform per variable
        return ELBO(recon + kl, recon, kl)

    def forward(self, x, tau=1.0):
        """The training loss, -ELBO at temperature tau: x (B, C, H, W) -> a 0-d Tensor."""
        return self.neg_elbo(x, tau).loss

    def sample(self, n):
        """n images from the prior: each variable's class drawn uniformly, decoded as exact one-hots."""
        p = next(iter(self.parameters()))
        classes = randint(0, self.num_classes, (n, self.num_vars), device=p.device)
        with grad_mode.no_grad():
            return self.decode(one_hot(classes, self.num_classes, p.dtype))

    def reconstruct(self, x):
        """Decode each variable's most likely class."""
        with grad_mode.no_grad():
            q = self.encode(x)
            return self.decode(one_hot(q.logits.argmax(-1), self.num_classes, q.logits.dtype))
