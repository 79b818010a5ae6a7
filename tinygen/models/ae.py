"""The autoencoder, and the encoders and decoders that the VAE family shares.

An autoencoder squeezes an image through a small code z and rebuilds it. Nothing asks the
codes to fill the latent space evenly, so points between (or away from) the training codes
decode to rubbish: the "holes" that the VAE (vae.py) closes.

    ae = Autoencoder.mlp(image_shape=(1, 8, 8), latent_dim=2)
    loss = ae.loss(x)                    # reconstruction, nats (or squared error) per example
"""

from .. import nn
from ..ops.loss import binary_cross_entropy_with_logits
from ..ops.shape import cat


def mlp(sizes, activation=nn.ReLU, final_activation=False):
    """Linear layers of the given widths with ``activation`` between them (and after the last one if asked)."""
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if k < len(sizes) - 2 or final_activation:
            layers.append(activation())
    return nn.Sequential(*layers)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


class MLPEncoder(nn.Module):
    """Image (B, C, H, W) -> (B, out_dim); a condition vector (B, c) is appended to the pixels."""

    def __init__(self, image_shape, out_dim, hidden=(400,), cond_dim=0, activation=nn.ReLU):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = mlp([_numel(image_shape) + cond_dim, *hidden, out_dim], activation)

    def forward(self, x, cond=None):
        h = x.flatten(1)  # (B, C*H*W)
        if cond is not None:
            h = cat([h, cond], dim=1)  # (B, C*H*W + c)
        return self.net(h)


class MLPDecoder(nn.Module):
    """Code (B, latent_dim) [+ condition (B, c)] -> per-pixel outputs (B, C, H, W), e.g. Bernoulli logits."""

    def __init__(self, latent_dim, image_shape, hidden=(400,), cond_dim=0, activation=nn.ReLU):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = mlp([latent_dim + cond_dim, *reversed(hidden), _numel(image_shape)], activation)

    def forward(self, z, cond=None):
        if cond is not None:
            z = cat([z, cond], dim=1)
        return self.net(z).reshape(-1, *self.image_shape)


class ConvEncoder(nn.Module):
    """Image (B, C, H, W) -> (B, out_dim): two stride-2 convolutions (H -> H/2 -> H/4), then dense layers.

    H and W must be multiples of 4; no conditioning (``cond`` must be None).
    """

    def __init__(self, image_shape, out_dim, width=32, hidden=256):
        super().__init__()
        c, h, w = image_shape
        if h % 4 or w % 4:
            raise ValueError(f"ConvEncoder: image height and width must be multiples of 4, got {image_shape}")
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Conv2d(c, width, 4, stride=2, padding=1), nn.ReLU(),              # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.ReLU(),      # (B, 2w, H/4, W/4)
            nn.Flatten(),                                                        # (B, 2w * H/4 * W/4)
            nn.Linear(2 * width * (h // 4) * (w // 4), hidden), nn.ReLU(),       # (B, hidden)
            nn.Linear(hidden, out_dim),                                          # (B, out_dim)
        )

    def forward(self, x, cond=None):
        if cond is not None:
            raise ValueError("ConvEncoder: conditioning is implemented for the MLP encoder only")
        return self.net(x)


class ConvDecoder(nn.Module):
    """Code (B, latent_dim) -> (B, C, H, W), the mirror of ConvEncoder.

    Dense layers to a (2w, H/4, W/4) map, then two stride-2 transposed convolutions.
    """

    def __init__(self, latent_dim, image_shape, width=32, hidden=256):
        super().__init__()
        c, h, w = image_shape
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(),                                   # (B, hidden)
            nn.Linear(hidden, 2 * width * (h // 4) * (w // 4)), nn.ReLU(),              # (B, 2w * H/4 * W/4)
            nn.Unflatten(1, (2 * width, h // 4, w // 4)),                               # (B, 2w, H/4, W/4)
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(),    # (B, w, H/2, W/2)
            nn.ConvTranspose2d(width, c, 4, stride=2, padding=1),                       # (B, C, H, W)
        )

    def forward(self, z, cond=None):
        if cond is not None:
            raise ValueError("ConvDecoder: conditioning is implemented for the MLP decoder only")
        return self.net(z)


def make_encoder_decoder(kind, image_shape, latent_dim, enc_out, hidden=(400,), cond_dim=0):
    """The ("mlp" or "conv") encoder with ``enc_out`` outputs and the decoder from ``latent_dim``."""
    if kind == "mlp":
        return (MLPEncoder(image_shape, enc_out, hidden, cond_dim),
                MLPDecoder(latent_dim, image_shape, hidden, cond_dim))
    if kind == "conv":
        if cond_dim:
            raise ValueError("make_encoder_decoder: a conditional model needs kind='mlp'")
        return ConvEncoder(image_shape, enc_out), ConvDecoder(latent_dim, image_shape)
    raise ValueError(f"make_encoder_decoder: kind must be 'mlp' or 'conv', got {kind!r}")


class Autoencoder(nn.Module):
    """x -> z = encoder(x) -> decoder(z): a deterministic code, trained to reconstruct.

    Images (B, C, H, W) in [0, 1] -> codes (B, latent_dim) -> reconstructions (B, C, H, W).
    ``encoder`` and ``decoder`` are any modules with those shapes (``mlp`` and ``conv`` build
    them); the loss is reconstruction only, so nothing shapes the code space.
    ``loss="bernoulli"``: the decoder gives logits and the loss is the binary cross-entropy
    summed over pixels (nats per example; the pixels in [0, 1] are the targets).
    ``loss="mse"``: the decoder output passes a sigmoid and the loss is the summed squared error.
    """

    def __init__(self, encoder, decoder, loss="bernoulli"):
        super().__init__()
        if loss not in ("bernoulli", "mse"):
            raise ValueError(f"Autoencoder: loss must be 'bernoulli' or 'mse', got {loss!r}")
        self.encoder, self.decoder, self.loss_kind = encoder, decoder, loss

    @classmethod
    def mlp(cls, image_shape, latent_dim, hidden=(400,), loss="bernoulli"):
        """An MLP autoencoder for images of ``image_shape`` (C, H, W) with hidden widths ``hidden``."""
        return cls(*make_encoder_decoder("mlp", image_shape, latent_dim, latent_dim, hidden), loss=loss)

    @classmethod
    def conv(cls, image_shape, latent_dim, loss="bernoulli"):
        """A convolutional autoencoder (ConvEncoder / ConvDecoder; H and W multiples of 4)."""
        return cls(*make_encoder_decoder("conv", image_shape, latent_dim, latent_dim), loss=loss)

    def encode(self, x):
        """Images (B, C, H, W) -> codes (B, latent_dim)."""
        return self.encoder(x)  # (B, latent_dim)

    def decode(self, z):
        """Images in [0, 1] (B, C, H, W)."""
        return self.decoder(z).sigmoid()

    def forward(self, x):
        """Reconstructions in [0, 1]: (B, C, H, W) -> (B, C, H, W)."""
        return self.decode(self.encode(x))

    def loss(self, x):
        """Reconstruction loss summed over pixels, averaged over the batch."""
        out = self.decoder(self.encode(x))
        if self.loss_kind == "bernoulli":
            per_pixel = binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            diff = out.sigmoid() - x
            per_pixel = diff * diff
        return per_pixel.flatten(1).sum(1).mean()
