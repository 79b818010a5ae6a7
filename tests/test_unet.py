"""The denoisers: the UNet for images and the MLP for 2-D points."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.models.denoisers import MLPDenoiser
from tinygen.models.unet import UNet


@pytest.mark.parametrize("size, mults", [(8, (1, 2)), (28, (1, 2, 2))])
def test_unet_keeps_the_image_shape_and_dtype(size, mults):
    net = UNet(size, channels=8, channel_mults=mults, groups=4, num_classes=10)
    x, t, y = tg.randn(3, 1, size, size), tg.tensor([0, 500, 999]), tg.tensor([1, 10, 4])
    out = net(x, t, y)
    assert out.shape == (3, 1, size, size) and out.dtype == tg.float32
    assert net(x, t).shape == (3, 1, size, size)  # labels are optional


def test_unet_output_depends_on_time_and_label():
    net = UNet(8, channels=8, channel_mults=(1, 2), groups=4, num_classes=10)
    with tg.no_grad():
        x = tg.randn(2, 1, 8, 8)
        base = net(x, tg.tensor([10, 10]), tg.tensor([3, 3])).numpy()
        later = net(x, tg.tensor([900, 900]), tg.tensor([3, 3])).numpy()
        other = net(x, tg.tensor([10, 10]), tg.tensor([7, 7])).numpy()
    assert np.abs(base - later).max() > 1e-4
    assert np.abs(base - other).max() > 1e-4


def test_unet_gradients_match_finite_differences():
    net = UNet(4, channels=4, channel_mults=(1, 2), groups=2, num_classes=3).double()
    t, y = tg.tensor([3, 40]), tg.tensor([0, 3])
    x = tg.randn(2, 1, 4, 4, dtype=tg.float64, requires_grad=True)
    assert tg.gradcheck(lambda x: net(x, t, y), (x,))
    # and every parameter gets a gradient: each block is on the path from input to output
    net(x, t, y).sum().backward()
    missing = [name for name, p in net.named_parameters() if p.grad is None]
    assert missing == []


def test_mlp_denoiser_gradients_and_shapes():
    net = MLPDenoiser(dim=2, hidden=8, depth=2, time_dim=4, num_classes=2).double()
    t, y = tg.tensor([0, 5, 9]), tg.tensor([0, 1, 2])
    x = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    assert net(x, t, y).shape == (3, 2)
    assert tg.gradcheck(lambda x: net(x, t, y), (x,))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="UNet: image_size"):
        UNet(6, channel_mults=(1, 2, 2))
    net = UNet(8, channels=8, channel_mults=(1, 2), groups=4)
    with pytest.raises(ValueError, match=r"UNet: expected images of shape \(B, 1, 8, 8\)"):
        net(tg.randn(2, 1, 7, 7), tg.tensor([1, 2]))
    with pytest.raises(ValueError, match="without num_classes"):
        net(tg.randn(2, 1, 8, 8), tg.tensor([1, 2]), tg.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"MLPDenoiser: expected points of shape \(B, 2\)"):
        MLPDenoiser()(tg.randn(4, 3), tg.tensor([0, 1, 2, 3]))


def test_a_conditional_unet_training_step_stays_float32_and_lowers_the_loss():
    from tinygen import optim
    from tinygen.models.ddpm import GaussianDiffusion

    d = GaussianDiffusion(100)
    net = UNet(8, channels=8, channel_mults=(1, 2), groups=4, num_classes=10)
    opt = optim.Adam(net.parameters(), lr=3e-3)
    x0, y = tg.rand(16, 1, 8, 8) * 2.0 - 1.0, tg.randint(0, 10, (16,))
    t, noise = tg.randint(0, 100, (16,)), tg.randn(16, 1, 8, 8)
    before = d.p_losses(net, x0, y, t=t, noise=noise)
    opt.zero_grad()
    before.backward()
    assert before.dtype == tg.float32 and all(p.grad.dtype == tg.float32 for p in net.parameters())
    opt.step()
    assert float(d.p_losses(net, x0, y, t=t, noise=noise)) < float(before)
