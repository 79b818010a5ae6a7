"""The GAN games, by name: what the discriminator D and the generator G each minimise.

D outputs a logit ``d`` (any real number); for the two cross-entropy games sigmoid(d) is the
probability "real". With log sigmoid(d) = -softplus(-d) and log(1 - sigmoid(d)) = -softplus(d):

    name            D minimises                              G minimises
    minimax         softplus(-d_real) + softplus(d_fake)     -softplus(d_fake)  = log(1 - D(G(z)))
    nonsaturating   softplus(-d_real) + softplus(d_fake)     softplus(-d_fake)  = -log D(G(z))
    lsgan           ((d_real - 1)^2 + d_fake^2) / 2          (d_fake - 1)^2 / 2
    wgan-gp         d_fake - d_real + lambda * penalty       -d_fake

each averaged over the batch. Minimax is Goodfellow's original game: when D wins early its
generator gradient vanishes (log(1 - D) is flat where D(G(z)) ~ 0), which non-saturating fixes
by flipping the target instead of the sign. The WGAN-GP penalty is in ``gradient_penalty``.
"""

from ...autograd import grad
from ...ops.activation import softplus
from ...creation import rand

LOSSES = ("minimax", "nonsaturating", "lsgan", "wgan-gp")


def _check(loss):
    if loss not in LOSSES:
        raise ValueError(f"gan loss: expected one of {LOSSES}, got {loss!r}")


def discriminator_loss(loss, d_real, d_fake):
    """D's loss from its logits on a real and a (detached) fake batch; without the WGAN penalty."""
    _check(loss)
    if loss in ("minimax", "nonsaturating"):
        return softplus(-d_real).mean() + softplus(d_fake).mean()
    if loss == "lsgan":
        return ((d_real - 1.0) ** 2).mean() * 0.5 + (d_fake**2).mean() * 0.5
    return d_fake.mean() - d_real.mean()  # wgan-gp: the critic estimates E[D(real)] - E[D(fake)]


def generator_loss(loss, d_fake):
    """G's loss from D's logits on a fake batch that was NOT detached (the gradient flows into G)."""
    _check(loss)
    if loss == "minimax":
        return -softplus(d_fake).mean()
    if loss == "nonsaturating":
        return softplus(-d_fake).mean()
    if loss == "lsgan":
        return ((d_fake - 1.0) ** 2).mean() * 0.5
    return -d_fake.mean()


def gradient_penalty(discriminator, real, fake, eps=None, pack=1):
    """WGAN-GP's ``mean((||grad_x D(x_hat)||_2 - 1)^2)`` on interpolates x_hat = e real + (1 - e) fake.

    The gradient of D with respect to its *input* is taken with ``create_graph=True``, so the
    penalty is itself a function of D's weights and ``backward`` on it differentiates twice
    (through every layer's backward, conv layers included). ``eps`` (one per sample, shape
    (B, 1, ...)) is drawn uniformly when not given. With packing, D sees ``pack`` consecutive
    samples as one input, so the norm is taken over each group of ``pack`` rows.
    """
    fake = fake.detach()
    if eps is None:
        eps = rand(real.shape[0], *([1] * (real.ndim - 1)), dtype=real.dtype, device=real.device)
    x_hat = (real.detach() * eps + fake * (1.0 - eps)).detach().requires_grad_()
    (g,) = grad(discriminator(x_hat).sum(), x_hat, create_graph=True)  # (B, ...) like x_hat
    squared = (g * g).reshape(g.shape[0] // pack, -1).sum(1)  # one norm per D input
    norm = (squared + 1e-12).sqrt()  # the 1e-12 keeps sqrt'(0) finite
    return ((norm - 1.0) ** 2).mean()
