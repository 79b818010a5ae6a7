"""One round of the game: n_critic discriminator steps, then one generator step.

Three separate graphs, as DESIGN.md's traps say: D's loss on real and fake samples made under
no_grad (no gradient may reach G), the gradient penalty (its own double-backward graph), and G's
loss through a frozen-in-effect D (D's gradients from that step are discarded by zero_grad).

With ``reuse_fakes`` the round draws its fakes once, as the pytorch/examples DCGAN does: the last
critic step scores ``fake.detach()`` (still no gradient to G), and G's step scores the same ``fake``
through the updated D. One forward of G a round instead of two (on the MNIST DCGAN, 14.5 of the
104 ms round, profiled on one thread).
"""

from ...creation import randn
from ...grad_mode import no_grad
from .losses import discriminator_loss, generator_loss, gradient_penalty


class GANTrainer:
    """One GAN training round at a time: generator G, discriminator D and their two optimisers.

    ``step(next_real)`` makes ``n_critic`` discriminator steps, each on a fresh real batch, then one
    generator step with the same batch size. ``loss`` names the game (losses.LOSSES); with
    "wgan-gp" the gradient penalty, times ``gp_weight``, joins D's loss. G needs a
    ``latent_dim``; a packing D's ``pack`` is used by the penalty. ``reuse_fakes=True``: G's step
    takes the fakes of the last critic step instead of drawing its own (see the module docstring).
    """

    def __init__(self, generator, discriminator, opt_g, opt_d, loss="nonsaturating", n_critic=1, gp_weight=10.0,
                 reuse_fakes=False):
        self.G, self.D, self.opt_g, self.opt_d = generator, discriminator, opt_g, opt_d
        self.loss, self.n_critic, self.gp_weight, self.reuse_fakes = loss, n_critic, gp_weight, reuse_fakes
        self.pack = getattr(discriminator, "pack", 1)

    def noise(self, n, device=None):
        """z ~ N(0, I) of shape (n, G.latent_dim), float32, on ``device``."""
        return randn(n, self.G.latent_dim, device=device)

    def discriminator_step(self, real, fake=None):
        """One D update on a real batch (B, ...) and B fakes, detached here; returns D's loss (0-d, detached).

        Without ``fake`` it draws its own, under no_grad: no graph is recorded that would be thrown away.
        """
        if fake is None:
            with no_grad():
                fake = self.G(self.noise(real.shape[0], real.device))
        fake = fake.detach()  # D's step must not reach G
        d_loss = discriminator_loss(self.loss, self.D(real), self.D(fake))
        if self.loss == "wgan-gp":
            d_loss = d_loss + gradient_penalty(self.D, real, fake, pack=self.pack) * self.gp_weight
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        return d_loss.detach()

    def generator_step(self, batch_size, device=None, fake=None):
        """One G update on ``batch_size`` fresh fakes (or on ``fake``, made by G with its graph) scored
        by D; returns G's loss (0-d, detached)."""
        if fake is None:
            fake = self.G(self.noise(batch_size, device))
        g_loss = generator_loss(self.loss, self.D(fake))
        self.opt_g.zero_grad()
        g_loss.backward()  # also fills D's .grad, which the next discriminator_step zeroes first
        self.opt_g.step()
        return g_loss.detach()

    def step(self, next_real):
        """``next_real()`` gives a real batch; returns (D loss, G loss) as device tensors (no sync)."""
        fake = None
        for critic in range(self.n_critic):
            real = next_real()
            if self.reuse_fakes and critic == self.n_critic - 1:  # G's graph is kept for G's step
                fake = self.G(self.noise(real.shape[0], real.device))
            d_loss = self.discriminator_step(real, fake)
        return d_loss, self.generator_step(real.shape[0], real.device, fake)
