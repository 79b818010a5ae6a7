"""One round of the game: n_critic discriminator steps, then one generator step.

Three separate graphs, as DESIGN.md's traps say: D's loss on real and fake samples made under
no_grad (no gradient may reach G), the gradient penalty (its own double-backward graph), and G's
loss through a frozen-in-effect D (D's gradients from that step are discarded by zero_grad).
"""

from ...creation import randn
from ...grad_mode import no_grad
from .losses import discriminator_loss, generator_loss, gradient_penalty


class GANTrainer:
    """One GAN training round at a time: generator G, discriminator D and their two optimisers.

    ``step(next_real)`` makes ``n_critic`` discriminator steps, each on a fresh real batch, then one
    generator step with the same batch size. ``loss`` names the game (losses.LOSSES); with
    "wgan-gp" the gradient penalty, times ``gp_weight``, joins D's loss. G needs a
    ``latent_dim``; a packing D's ``pack`` is used by the penalty.
    """

    def __init__(self, generator, discriminator, opt_g, opt_d, loss="nonsaturating", n_critic=1, gp_weight=10.0):
        self.G, self.D, self.opt_g, self.opt_d = generator, discriminator, opt_g, opt_d
        self.loss, self.n_critic, self.gp_weight = loss, n_critic, gp_weight
        self.pack = getattr(discriminator, "pack", 1)

    def noise(self, n, device=None):
        """z ~ N(0, I) of shape (n, G.latent_dim), float32, on ``device``."""
        return randn(n, self.G.latent_dim, device=device)

    def discriminator_step(self, real):
        """One D update on a real batch (B, ...) and B detached fakes; returns D's loss (0-d, detached)."""
        with no_grad():  # D's step must not reach G, so G's forward records no graph to throw away
            fake = self.G(self.noise(real.shape[0], real.device))
        d_loss = discriminator_loss(self.loss, self.D(real), self.D(fake))
        if self.loss == "wgan-gp":
            d_loss = d_loss + gradient_penalty(self.D, real, fake, pack=self.pack) * self.gp_weight
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        return d_loss.detach()

    def generator_step(self, batch_size, device=None):
        """One G update on ``batch_size`` fresh fakes scored by D; returns G's loss (0-d, detached)."""
        g_loss = generator_loss(self.loss, self.D(self.G(self.noise(batch_size, device))))
        self.opt_g.zero_grad()
        g_loss.backward()  # also fills D's .grad, which the next discriminator_step zeroes first
        self.opt_g.step()
        return g_loss.detach()

    def step(self, next_real):
        """``next_real()`` gives a real batch; returns (D loss, G loss) as device tensors (no sync)."""
        for _ in range(self.n_critic):
            real = next_real()
            d_loss = self.discriminator_step(real)
        return d_loss, self.generator_step(real.shape[0], real.device)
