"""Generative adversarial networks: the players, the games (losses) and the mode-collapse fixes.

    G, D = MLPGenerator(), MLPDiscriminator(pack=4)
    fake = G(tg.randn(B, G.latent_dim))
    d_loss = discriminator_loss("nonsaturating", D(real), D(fake.detach()))
    g_loss = generator_loss("nonsaturating", D(fake))
"""

from .averaging import averaged_generator
from .losses import LOSSES, discriminator_loss, generator_loss, gradient_penalty
from .networks import DCDiscriminator, DCGenerator, MLPDiscriminator, MLPGenerator, dcgan_init_
from .tricks import MinibatchStd, Pack, SpectralNorm
from .trainer import GANTrainer
