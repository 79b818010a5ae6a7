"""The two players: MLPs for 2-D points, DCGAN-style conv nets for digit images.

Generators map noise z ~ N(0, I) to data; discriminators map data to one logit per input
(per *pack* of inputs when packing). The discriminators take the mode-collapse fixes of
``tricks.py`` as switches: ``pack``, ``minibatch_std``, ``spectral_norm``. BatchNorm in a
discriminator is a switch too (``DCDiscriminator(batch_norm=True)``, DCGAN's recipe): it mixes the
samples of a batch, which breaks the per-sample gradient penalty, so a WGAN-GP critic goes without.
"""

from ... import nn
from .tricks import MinibatchStd, Pack, SpectralNorm


def _maybe_sn(layer, spectral_norm):
    return SpectralNorm(layer) if spectral_norm else layer


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> x (B, out_dim): ``depth`` hidden ReLU layers of ``hidden`` units.

    The network makes points of unit size and multiplies them by ``scale`` (the data's size, e.g.
    4 for grid25 on [-4, 4]), so its layers work with O(1) numbers, the regime default init is for.
    """

    def __init__(self, latent_dim=2, hidden=256, depth=3, out_dim=2, batch_norm=False, scale=1.0):
        super().__init__()
        self.latent_dim, self.scale = latent_dim, float(scale)
        layers, width = [], latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden)] + ([nn.BatchNorm1d(hidden)] if batch_norm else []) + [nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, out_dim))  # no squashing: the 2-D targets span [-4, 4]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z) * self.scale


class MLPDiscriminator(nn.Module):
    """x (B, in_dim) -> logits (B / pack, 1), LeakyReLU(0.2) between ``depth`` hidden layers.

    The input is divided by ``scale`` first, so the layers see O(1) numbers (see MLPGenerator).
    The switches add the fixes of tricks.py: ``pack`` samples judged together (B must be a
    multiple of it), a ``minibatch_std`` feature before the last layer, ``spectral_norm`` on
    every Linear. The logit is unbounded; the losses read it through softplus (log-sigmoid).
    """

    def __init__(self, in_dim=2, hidden=256, depth=3, pack=1, minibatch_std=False, spectral_norm=False, scale=1.0):
        super().__init__()
        self.pack, self.scale = pack, float(scale)
        layers, width = [Pack(pack)], in_dim * pack  # (B, d) -> (B/m, m d)
        for _ in range(depth):
            layers += [_maybe_sn(nn.Linear(width, hidden), spectral_norm), nn.LeakyReLU(0.2)]
            width = hidden
        if minibatch_std:  # just before the last layer, where D has features worth comparing
            layers.append(MinibatchStd())
            width += 1
        layers.append(_maybe_sn(nn.Linear(width, 1), spectral_norm))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x * (1.0 / self.scale))


class DCGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, channels, S, S) in [-1, 1], S = 8 or 28 (any multiple of 4).

    A dense layer makes a (2w, S/4, S/4) map; two stride-2 transposed convolutions double it twice.
    BatchNorm after each hidden layer (DCGAN's recipe; safe here, as the gradient penalty only
    differentiates D) and a tanh at the end, matching data scaled to [-1, 1].

    ``refine=True`` adds a 3x3 stride-1 convolution (BatchNorm, ReLU) at S/4 and at S/2, before
    each upsampling, as TensorFlow's DCGAN tutorial has at 7x7: every pixel of the next map then
    sees a wider neighbourhood, where strokes are joined. On MNIST it lowered the Frechet distance
    at 3,000 steps from 116 to 95 and evened the classes (docs/results.md).
    """

    def __init__(self, latent_dim=32, image_size=28, channels=1, width=32, refine=False):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"DCGenerator: image_size must be a multiple of 4, got {image_size}")
        self.latent_dim, s = latent_dim, image_size // 4

        def refining(c):  # (B, c, H, W) -> (B, c, H, W)
            return [nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()] if refine else []

        self.net = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * s * s), nn.BatchNorm1d(2 * width * s * s), nn.ReLU(),
            nn.Unflatten(1, (2 * width, s, s)),                                     # (B, 2w, S/4, S/4)
            *refining(2 * width),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),           # (B, w, S/2, S/2)
            nn.BatchNorm2d(width), nn.ReLU(),
            *refining(width),
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1), nn.Tanh(),  # (B, C, S, S)
        )

    def forward(self, z):
        return self.net(z)


class DCDiscriminator(nn.Module):
    """images (B, C, S, S) -> logits (B / pack, 1): two stride-2 convolutions, then a dense layer.

    LeakyReLU(0.2) after each convolution; ``batch_norm=True`` puts a BatchNorm after the second
    (DCGAN's recipe: every layer but the first; never with a gradient penalty, see the module
    docstring). S must be a multiple of 4. ``pack``, ``minibatch_std`` and ``spectral_norm``
    switch on the mode-collapse fixes of tricks.py, as in MLPDiscriminator.
    """

    def __init__(self, image_size=28, channels=1, width=32, pack=1, minibatch_std=False, spectral_norm=False,
                 batch_norm=False):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"DCDiscriminator: image_size must be a multiple of 4, got {image_size}")
        s = image_size // 4
        self.pack = pack
        layers = [
            Pack(pack),                                                                     # (B/m, m C, S, S)
            _maybe_sn(nn.Conv2d(channels * pack, width, 4, stride=2, padding=1), spectral_norm),
            nn.LeakyReLU(0.2),                                                              # (B/m, w, S/2, S/2)
            _maybe_sn(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), spectral_norm),
            *([nn.BatchNorm2d(2 * width)] if batch_norm else []),
            nn.LeakyReLU(0.2),                                                              # (B/m, 2w, S/4, S/4)
        ]
        features = 2 * width
        if minibatch_std:
            layers.append(MinibatchStd())                                                  # (B/m, 2w + 1, S/4, S/4)
            features += 1
        layers += [nn.Flatten(), _maybe_sn(nn.Linear(features * s * s, 1), spectral_norm)]  # (B/m, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def dcgan_init_(module):
    """DCGAN's initialisation (Radford et al., 2016), for ``model.apply(dcgan_init_)``: conv and dense
    weights from N(0, 0.02), biases 0, BatchNorm scales from N(1, 0.02) and shifts 0.

    Smaller than the default (Kaiming-uniform, fan-in scaled) init for these layers: the nets start
    close to linear and the two players start evenly matched.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
