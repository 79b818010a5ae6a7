"""The autoencoder and the shared MLP / conv encoders and decoders."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.data import load_dataset
from tinygen.models import Autoencoder, ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


@pytest.fixture(scope="module")
def images():
    return load_dataset("digits", "train")[0][:128]


def test_shapes_of_the_building_blocks():
    x = tg.rand(5, 1, 8, 8)
    assert MLPEncoder((1, 8, 8), 6, hidden=(10,))(x).shape == (5, 6)
    assert MLPEncoder((1, 8, 8), 6, hidden=(10,), cond_dim=3)(x, tg.zeros(5, 3)).shape == (5, 6)
    assert MLPDecoder(6, (1, 8, 8), hidden=(10,))(tg.zeros(5, 6)).shape == (5, 1, 8, 8)
    assert ConvEncoder((1, 28, 28), 6, width=4, hidden=8)(tg.rand(2, 1, 28, 28)).shape == (2, 6)
    assert ConvDecoder(6, (1, 28, 28), width=4, hidden=8)(tg.zeros(2, 6)).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="multiples of 4"):
        ConvEncoder((1, 10, 10), 6)
    with pytest.raises(ValueError, match="MLP encoder only"):
        ConvEncoder((1, 8, 8), 6)(x, tg.zeros(5, 3))


@pytest.mark.parametrize("loss", ["bernoulli", "mse"])
def test_loss_is_summed_over_pixels_and_averaged_over_images(loss, images):
    model = Autoencoder.mlp((1, 8, 8), latent_dim=2, hidden=(16,), loss=loss)
    x = tg.tensor(images[:10])
    logits = model.decoder(model.encode(x)).detach().numpy().reshape(10, -1)
    target = images[:10].reshape(10, -1)
    if loss == "bernoulli":
        expected = (np.logaddexp(0, logits) - target * logits).sum(1).mean()
    else:
        expected = ((1 / (1 + np.exp(-logits)) - target) ** 2).sum(1).mean()
    assert float(model.loss(x)) == pytest.approx(expected, rel=1e-5)
    out = model(x).detach().numpy()
    assert out.shape == (10, 1, 8, 8) and out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_training_reduces_the_reconstruction_loss(kind, images):
    if kind == "mlp":
        model = Autoencoder.mlp((1, 8, 8), 4, hidden=(64,))
    else:
        model = Autoencoder(ConvEncoder((1, 8, 8), 4, width=8, hidden=32), ConvDecoder(4, (1, 8, 8), width=8, hidden=32))
    x = tg.tensor(images[:64])
    opt = tg.optim.Adam(model.parameters(), lr=1e-2)
    first = float(model.loss(x))
    for _ in range(30):
        loss = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first - 5.0
    assert all(p.grad.dtype == tg.float32 for p in model.parameters())


def test_bad_loss_name_is_refused():
    with pytest.raises(ValueError, match="'bernoulli' or 'mse'"):
        Autoencoder.mlp((1, 8, 8), 2, loss="l1")
