"""Weights both ways: models trained in tinygen load into their PyTorch twins and give the same outputs,
and the reverse (tinygen.interop; skipped without torch).

The twins are written here in plain PyTorch, layer for layer as tinygen.models builds them, so
the state_dict keys must match exactly (load_state_dict is strict).
"""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import interop
from tinygen.models import VAE
from tinygen.models.gan.networks import DCDiscriminator, DCGenerator

torch = pytest.importorskip("torch")
tnn = torch.nn

IMAGE = (1, 8, 8)
LATENT = 4


def images(n=16, seed=0):
    return np.random.default_rng(seed).random((n,) + IMAGE).astype(np.float32)


# ---------------------------------------------------------------- the PyTorch twins
class Net(tnn.Module):
    """A module whose forward is its ``net``, as tinygen's DCGenerator and DCDiscriminator are."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


def torch_conv_vae(width=32, hidden=256):
    """VAE.conv's encoder and decoder (tinygen/models/ae.py), in PyTorch."""
    c, h, w = IMAGE
    m = tnn.Module()
    m.encoder, m.decoder = tnn.Module(), tnn.Module()
    m.encoder.net = tnn.Sequential(
        tnn.Conv2d(c, width, 4, stride=2, padding=1), tnn.ReLU(),
        tnn.Conv2d(width, 2 * width, 4, stride=2, padding=1), tnn.ReLU(), tnn.Flatten(),
        tnn.Linear(2 * width * (h // 4) * (w // 4), hidden), tnn.ReLU(), tnn.Linear(hidden, 2 * LATENT))
    m.decoder.net = tnn.Sequential(
        tnn.Linear(LATENT, hidden), tnn.ReLU(), tnn.Linear(hidden, 2 * width * (h // 4) * (w // 4)), tnn.ReLU(),
        tnn.Unflatten(1, (2 * width, h // 4, w // 4)),
        tnn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), tnn.ReLU(),
        tnn.ConvTranspose2d(width, c, 4, stride=2, padding=1))
    return m


def torch_dcgan(latent=8, width=8):
    """DCGenerator and DCDiscriminator (tinygen/models/gan/networks.py, pack=1), in PyTorch."""
    c, s = IMAGE[0], IMAGE[1] // 4
    g = Net(tnn.Sequential(
        tnn.Linear(latent, 2 * width * s * s), tnn.BatchNorm1d(2 * width * s * s), tnn.ReLU(),
        tnn.Unflatten(1, (2 * width, s, s)),
        tnn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), tnn.BatchNorm2d(width), tnn.ReLU(),
        tnn.ConvTranspose2d(width, c, 4, stride=2, padding=1), tnn.Tanh()))
    d = Net(tnn.Sequential(
        tnn.Identity(),  # tinygen's Pack(1): no weights
        tnn.Conv2d(c, width, 4, stride=2, padding=1), tnn.LeakyReLU(0.2),
        tnn.Conv2d(width, 2 * width, 4, stride=2, padding=1), tnn.LeakyReLU(0.2),
        tnn.Flatten(), tnn.Linear(2 * width * s * s, 1)))
    return g, d


def close(ours, theirs, rtol=2e-4, atol=2e-5):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)


# ---------------------------------------------------------------- training, a few steps each
def train_tinygen_vae(steps=5):
    tg.manual_seed(0)
    model = VAE.conv(IMAGE, latent_dim=LATENT)
    opt = tg.optim.Adam(model.parameters(), lr=1e-3)
    x = tg.tensor(images())
    for _ in range(steps):
        opt.zero_grad()
        model(x).backward()
        opt.step()
    return model


def train_torch_vae(steps=5):
    torch.manual_seed(0)
    model = torch_conv_vae()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.tensor(images())
    for _ in range(steps):
        opt.zero_grad()
        h = model.encoder.net(x)
        mu, logvar = h[:, :LATENT], h[:, LATENT:]
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = model.decoder.net(z)
        recon = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
        (recon + kl).backward()
        opt.step()
    return model


def gan_steps(lib, G, D, steps=3, latent=8):
    """Non-saturating GAN steps, written once for both libraries (``lib`` is tinygen or torch)."""
    lib.manual_seed(0)
    softplus = lib.nn.functional.softplus
    opt_g = lib.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = lib.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real = lib.tensor(images() * 2 - 1)
    for _ in range(steps):
        fake = G(lib.randn(16, latent))
        opt_d.zero_grad()
        (softplus(-D(real)).mean() + softplus(D(fake.detach())).mean()).backward()
        opt_d.step()
        opt_g.zero_grad()
        softplus(-D(fake)).mean().backward()
        opt_g.step()


# ---------------------------------------------------------------- the tests
def test_state_dict_conversion_keeps_names_shapes_dtypes():
    model = DCGenerator(latent_dim=8, image_size=8, width=8)
    sd = model.state_dict()
    theirs = interop.to_torch(sd)
    assert list(theirs) == list(sd)
    for k in sd:
        assert tuple(theirs[k].shape) == sd[k].shape and str(theirs[k].dtype) == f"torch.{sd[k].dtype}"
    back = interop.from_torch(theirs)
    for k in sd:
        np.testing.assert_array_equal(back[k].numpy(), sd[k].numpy())
        assert back[k].dtype == sd[k].dtype
    theirs["net.0.weight"].zero_()  # copies: changing one side leaves the other alone
    assert np.abs(model.net[0].weight.detach().numpy()).sum() > 0


def test_vae_trained_here_runs_the_same_in_pytorch():
    model = train_tinygen_vae().eval()
    twin = interop.load_into_torch(torch_conv_vae(), model).eval()
    x = images(6, seed=1)
    z = np.random.default_rng(2).standard_normal((6, LATENT)).astype(np.float32)
    with tg.no_grad(), torch.no_grad():
        close(model.encoder(tg.tensor(x)), twin.encoder.net(torch.tensor(x)))
        close(model.decoder(tg.tensor(z)), twin.decoder.net(torch.tensor(z)))


def test_vae_trained_in_pytorch_runs_the_same_here():
    twin = train_torch_vae().eval()
    model = interop.load_from_torch(VAE.conv(IMAGE, latent_dim=LATENT), twin).eval()
    x = images(6, seed=3)
    with tg.no_grad(), torch.no_grad():
        h_ours, h_theirs = model.encoder(tg.tensor(x)), twin.encoder.net(torch.tensor(x))
        close(h_ours, h_theirs)
        mu = h_ours[:, :LATENT]  # decode the posterior means in both
        close(model.decoder(mu), twin.decoder.net(torch.tensor(mu.numpy())))
        assert float(model(tg.tensor(x))) > 0  # the tinygen model's own loss runs on the loaded weights


@pytest.mark.parametrize("train_here", [True, False], ids=["tinygen->torch", "torch->tinygen"])
def test_dcgan_both_ways(train_here):
    G, D = DCGenerator(latent_dim=8, image_size=8, width=8), DCDiscriminator(image_size=8, width=8)
    tG, tD = torch_dcgan()
    if train_here:
        gan_steps(tg, G, D)
        interop.load_into_torch(tG, G), interop.load_into_torch(tD, D)
    else:
        gan_steps(torch, tG, tD)
        interop.load_from_torch(G, tG), interop.load_from_torch(D, tD)
    assert int(G.net[1].num_batches_tracked) == 3 == int(tG.net[1].num_batches_tracked)  # BatchNorm state came too
    z = np.random.default_rng(4).standard_normal((5, 8)).astype(np.float32)
    for mode in ("eval", "train"):  # running statistics, then batch statistics
        for m in (G, D, tG, tD):
            getattr(m, mode)()
        with tg.no_grad(), torch.no_grad():
            fake, t_fake = G(tg.tensor(z)), tG(torch.tensor(z))
            close(fake, t_fake)
            close(D(fake), tD(t_fake))


def test_loading_the_wrong_architecture_names_the_keys():
    with pytest.raises(RuntimeError, match="(?i)unexpected key"):  # PyTorch's own message
        interop.load_into_torch(torch_dcgan()[1], DCGenerator(latent_dim=8, image_size=8, width=8))
    with pytest.raises(RuntimeError, match="missing keys"):
        interop.load_from_torch(DCGenerator(latent_dim=8, image_size=8, width=8), torch_dcgan()[1])


def test_functional_surface_agrees_after_loading():
    """A layer-by-layer check that needs no model code: a conv + BatchNorm + GELU stack in both."""
    ours = tg.nn.Sequential(tg.nn.Conv2d(3, 4, 3, padding=1, groups=1), tg.nn.BatchNorm2d(4), tg.nn.GELU())
    theirs = tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.GELU())
    interop.load_from_torch(ours, theirs)
    x = np.random.default_rng(5).standard_normal((2, 3, 5, 5)).astype(np.float32)
    close(ours(tg.tensor(x)), theirs(torch.tensor(x)))
    close(F.gelu(tg.tensor(x)), torch.nn.functional.gelu(torch.tensor(x)))
