"""GAN losses against hand computations, the gradient penalty by gradcheck, the tricks' shapes."""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.models.gan import (
    LOSSES,
    DCDiscriminator,
    DCGenerator,
    GANTrainer,
    MinibatchStd,
    MLPDiscriminator,
    MLPGenerator,
    Pack,
    SpectralNorm,
    averaged_generator,
    discriminator_loss,
    generator_loss,
    dcgan_init_,
    gradient_penalty,
)

D_REAL = [1.0, -0.5]
D_FAKE = [0.3, -2.0]


def _logits():
    return (tg.tensor(D_REAL, dtype=tg.float64, requires_grad=True),
            tg.tensor(D_FAKE, dtype=tg.float64, requires_grad=True))


def _softplus(x):
    return math.log1p(math.exp(x))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# (D loss by hand, dD/d_real, dD/d_fake, G loss by hand, dG/d_fake), batch of 2 -> mean = / 2
HAND = {
    "minimax": (
        sum(_softplus(-r) for r in D_REAL) / 2 + sum(_softplus(f) for f in D_FAKE) / 2,
        [-(1 - _sigmoid(r)) / 2 for r in D_REAL], [_sigmoid(f) / 2 for f in D_FAKE],
        -sum(_softplus(f) for f in D_FAKE) / 2, [-_sigmoid(f) / 2 for f in D_FAKE],
    ),
    "nonsaturating": (
        sum(_softplus(-r) for r in D_REAL) / 2 + sum(_softplus(f) for f in D_FAKE) / 2,
        [-(1 - _sigmoid(r)) / 2 for r in D_REAL], [_sigmoid(f) / 2 for f in D_FAKE],
        sum(_softplus(-f) for f in D_FAKE) / 2, [-(1 - _sigmoid(f)) / 2 for f in D_FAKE],
    ),
    "lsgan": (
        sum((r - 1) ** 2 for r in D_REAL) / 4 + sum(f**2 for f in D_FAKE) / 4,
        [(r - 1) / 2 for r in D_REAL], [f / 2 for f in D_FAKE],
        sum((f - 1) ** 2 for f in D_FAKE) / 4, [(f - 1) / 2 for f in D_FAKE],
    ),
    "wgan-gp": (
        sum(D_FAKE) / 2 - sum(D_REAL) / 2, [-0.5, -0.5], [0.5, 0.5],
        -sum(D_FAKE) / 2, [-0.5, -0.5],
    ),
}


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_match_hand_computation(loss):
    d_value, d_grad_real, d_grad_fake, g_value, g_grad_fake = HAND[loss]
    real, fake = _logits()
    d = discriminator_loss(loss, real, fake)
    d.backward()
    assert d.item() == pytest.approx(d_value, rel=1e-12)
    np.testing.assert_allclose(real.grad.numpy(), d_grad_real, rtol=1e-12)
    np.testing.assert_allclose(fake.grad.numpy(), d_grad_fake, rtol=1e-12)

    _, fake = _logits()
    g = generator_loss(loss, fake)
    g.backward()
    assert g.item() == pytest.approx(g_value, rel=1e-12)
    np.testing.assert_allclose(fake.grad.numpy(), g_grad_fake, rtol=1e-12)


def test_minimax_generator_gradient_saturates_where_nonsaturating_does_not():
    # when D confidently rejects the fakes (logit -10) minimax gives G almost no gradient
    fake = tg.tensor([-10.0], dtype=tg.float64, requires_grad=True)
    generator_loss("minimax", fake).backward()
    minimax = abs(fake.grad.item())
    fake.grad = None
    generator_loss("nonsaturating", fake).backward()
    assert minimax < 1e-4 < 0.99 < abs(fake.grad.item())


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="hinge"):
        discriminator_loss("hinge", tg.zeros(2), tg.zeros(2))


def test_gradient_penalty_of_a_linear_critic_is_known():
    # D(x) = w.x + b has grad_x D = w everywhere: the penalty is (|w| - 1)^2, whatever the points
    critic = nn.Linear(2, 1).to(tg.float64)
    with tg.no_grad():
        critic.weight.copy_(tg.tensor([[3.0, 4.0]], dtype=tg.float64))
    real, fake = tg.randn(5, 2, dtype=tg.float64), tg.randn(5, 2, dtype=tg.float64)
    gp = gradient_penalty(critic, real, fake)
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2, rel=1e-9)
    gp.backward()  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    np.testing.assert_allclose(critic.weight.grad.numpy(), [[2 * 4 * 3 / 5, 2 * 4 * 4 / 5]], rtol=1e-9)
    assert critic.bias.grad is None or np.all(critic.bias.grad.numpy() == 0)


def _smooth_critic(w1, b1, w2, b2):
    return lambda x: tg.tanh(x @ w1.T + b1) @ w2.T + b2


def test_gradient_penalty_gradcheck_and_gradgradcheck():
    # the penalty as a function of the critic's weights; its gradient needs D's second derivative
    real, fake = tg.randn(3, 2, dtype=tg.float64), tg.randn(3, 2, dtype=tg.float64)
    eps = tg.rand(3, 1, dtype=tg.float64)
    weights = tuple(tg.randn(*shape, dtype=tg.float64, requires_grad=True) for shape in [(4, 2), (4,), (1, 4), (1,)])

    def penalty(*w):
        return gradient_penalty(_smooth_critic(*w), real, fake, eps=eps)

    assert tg.gradcheck(penalty, weights)
    assert tg.gradgradcheck(penalty, weights)


def _parameters_gradcheck(D, real, fake):
    """gradcheck the penalty against D's own Parameters (gradcheck nudges them in place)."""
    D.eval()  # spectral norm: no power-iteration update between the finite-difference calls
    eps = tg.rand(real.shape[0], *([1] * (real.ndim - 1)), dtype=tg.float64)
    params = tuple(D.parameters())
    return tg.gradcheck(lambda *_: gradient_penalty(D, real, fake, eps=eps, pack=D.pack), params, atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"pack": 2}, {"spectral_norm": True}, {"minibatch_std": True}])
def test_gradient_penalty_gradcheck_through_mlp_discriminator(options):
    D = MLPDiscriminator(in_dim=2, hidden=4, depth=2, **options).to(tg.float64)
    assert _parameters_gradcheck(D, tg.randn(4, 2, dtype=tg.float64), tg.randn(4, 2, dtype=tg.float64))


def test_gradient_penalty_gradcheck_through_conv_discriminator():
    D = DCDiscriminator(image_size=4, width=2, pack=2, spectral_norm=True).to(tg.float64)
    real, fake = tg.randn(4, 1, 4, 4, dtype=tg.float64), tg.randn(4, 1, 4, 4, dtype=tg.float64)
    assert _parameters_gradcheck(D, real, fake)


# ---------------------------------------------------------------- the tricks
def test_pack_groups_consecutive_samples():
    x = tg.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(Pack(3)(x).numpy(), np.arange(12.0).reshape(2, 6))
    with pytest.raises(ValueError, match="multiple of the packing degree 4"):
        Pack(4)(x)


def test_minibatch_std_feature():
    x = tg.tensor([[0.0, 1.0], [2.0, 5.0]])  # per-feature std (biased): 1 and 2 -> mean 1.5
    out = MinibatchStd()(x).numpy()
    np.testing.assert_allclose(out, [[0.0, 1.0, 1.5], [2.0, 5.0, 1.5]], rtol=1e-6)
    collapsed = MinibatchStd()(tg.ones(4, 1, 2, 2)).numpy()
    assert collapsed.shape == (4, 2, 2, 2) and np.allclose(collapsed[:, 1], 1e-4)  # sqrt(eps)


def test_spectral_norm_makes_the_largest_singular_value_one():
    # seeded: the power iteration's speed depends on the gap between the weight's top two singular
    # values, so a weight drawn from wherever earlier tests left the stream could need more calls
    tg.manual_seed(0)
    layer = nn.Linear(5, 3)
    sn = SpectralNorm(layer)
    for _ in range(30):  # power iteration converges over calls
        sn(tg.randn(2, 5))
    w = sn.normalized_weight().detach().numpy()
    assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(TypeError, match="Linear or Conv2d"):
        SpectralNorm(nn.ReLU())


# ---------------------------------------------------------------- networks and one round of the game
def test_network_shapes():
    G, D = MLPGenerator(latent_dim=3, hidden=8), MLPDiscriminator(hidden=8, pack=4, minibatch_std=True)
    x = G(tg.randn(8, 3))
    assert x.shape == (8, 2) and D(x).shape == (2, 1)
    G, D = DCGenerator(latent_dim=4, image_size=8, width=4), DCDiscriminator(image_size=8, width=4, pack=2)
    images = G(tg.randn(6, 4))
    assert images.shape == (6, 1, 8, 8) and images.detach().numpy().min() >= -1 and D(images).shape == (3, 1)


def test_refining_generator_adds_a_same_size_convolution_before_each_upsampling():
    plain = DCGenerator(latent_dim=4, image_size=28, width=4)
    refined = DCGenerator(latent_dim=4, image_size=28, width=4, refine=True)
    convs = [m for m in refined.net if type(m).__name__ == "Conv2d"]
    assert [(c.weight.shape, c.stride, c.padding) for c in convs] == [((8, 8, 3, 3), (1, 1), (1, 1)),
                                                                         ((4, 4, 3, 3), (1, 1), (1, 1))]
    extra = sum(p.numel() for p in refined.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == (8 * 8 * 9 + 8) + 2 * 8 + (4 * 4 * 9 + 4) + 2 * 4  # two convs and their BatchNorms
    assert refined(tg.randn(3, 4)).shape == (3, 1, 28, 28)


def test_mlp_scale_works_in_units_of_the_data():
    # G makes unit-sized points times `scale`; D divides its input by `scale`: same weights, same logits
    tg.manual_seed(0)
    G1, D1 = MLPGenerator(hidden=8, depth=2), MLPDiscriminator(hidden=8, depth=2, pack=2)
    G4, D4 = MLPGenerator(hidden=8, depth=2, scale=4.0), MLPDiscriminator(hidden=8, depth=2, pack=2, scale=4.0)
    G4.load_state_dict(G1.state_dict())
    D4.load_state_dict(D1.state_dict())
    z = tg.randn(4, 2)
    x1, x4 = G1(z), G4(z)
    np.testing.assert_allclose(x4.detach().numpy(), 4.0 * x1.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(D4(x4).detach().numpy(), D1(x1).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert x4.dtype == D4(x4).dtype == tg.float32


@pytest.mark.parametrize("loss", LOSSES)
def test_trainer_steps_change_both_players_and_stay_float32(loss):
    G, D = MLPGenerator(hidden=8, depth=1), MLPDiscriminator(hidden=8, depth=1, pack=2)
    trainer = GANTrainer(G, D, tg.optim.Adam(G.parameters(), lr=1e-2), tg.optim.Adam(D.parameters(), lr=1e-2),
                         loss=loss, n_critic=2)
    g0, d0 = [p.detach().numpy().copy() for p in G.parameters()], [p.detach().numpy().copy() for p in D.parameters()]
    d_loss, g_loss = trainer.step(lambda: tg.randn(8, 2))
    assert d_loss.dtype == g_loss.dtype == tg.float32 and np.isfinite(d_loss.item()) and np.isfinite(g_loss.item())
    assert all(p.dtype == tg.float32 for p in list(G.parameters()) + list(D.parameters()))
    assert any(not np.array_equal(a, p.detach().numpy()) for a, p in zip(g0, G.parameters()))
    assert any(not np.array_equal(a, p.detach().numpy()) for a, p in zip(d0, D.parameters()))


def test_discriminator_step_does_not_touch_the_generator():
    G, D = MLPGenerator(hidden=8, depth=1), MLPDiscriminator(hidden=8, depth=1)
    trainer = GANTrainer(G, D, tg.optim.SGD(G.parameters(), lr=0.1), tg.optim.SGD(D.parameters(), lr=0.1),
                         loss="wgan-gp")
    trainer.discriminator_step(tg.randn(4, 2))
    assert all(p.grad is None for p in G.parameters())


class CountingGenerator(MLPGenerator):
    """An MLP generator that counts its forward passes."""

    calls = 0

    def forward(self, z):
        self.calls += 1
        return super().forward(z)


@pytest.mark.parametrize("n_critic", [1, 3])
def test_reusing_fakes_saves_one_generator_forward_a_round(n_critic):
    calls = {}
    for reuse in (False, True):
        G, D = CountingGenerator(hidden=8, depth=1), MLPDiscriminator(hidden=8, depth=1)
        trainer = GANTrainer(G, D, tg.optim.SGD(G.parameters(), lr=0.1), tg.optim.SGD(D.parameters(), lr=0.1),
                             n_critic=n_critic, reuse_fakes=reuse)
        trainer.step(lambda: tg.randn(8, 2))
        calls[reuse] = G.calls
    assert calls == {False: n_critic + 1, True: n_critic}


def test_a_round_that_reuses_fakes_is_the_pytorch_examples_dcgan_round():
    # D on real and fake.detach(), D's update; then G's loss on D(fake) through the updated D, the same fake
    def players():
        tg.manual_seed(0)
        G, D = MLPGenerator(hidden=8, depth=1), MLPDiscriminator(hidden=8, depth=1)
        return G, D, tg.optim.SGD(G.parameters(), lr=0.1), tg.optim.SGD(D.parameters(), lr=0.1)

    G, D, opt_g, opt_d = players()
    real = tg.randn(8, 2)
    tg.manual_seed(1)
    d_loss, g_loss = GANTrainer(G, D, opt_g, opt_d, reuse_fakes=True).step(lambda: real)

    G2, D2, opt_g2, opt_d2 = players()
    tg.manual_seed(1)
    fake = G2(tg.randn(8, G2.latent_dim))
    d_loss2 = discriminator_loss("nonsaturating", D2(real), D2(fake.detach()))
    opt_d2.zero_grad()
    d_loss2.backward()
    assert all(p.grad is None for p in G2.parameters())  # the detached fakes kept D's loss away from G
    opt_d2.step()
    g_loss2 = generator_loss("nonsaturating", D2(fake))
    opt_g2.zero_grad()
    g_loss2.backward()
    opt_g2.step()
    assert (d_loss.item(), g_loss.item()) == (d_loss2.item(), g_loss2.item())
    for p, q in zip(list(G.parameters()) + list(D.parameters()), list(G2.parameters()) + list(D2.parameters())):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


# ---------------------------------------------------------------- DCGAN's recipe: BatchNorm in D, N(0, 0.02) init
def test_dc_discriminator_batch_norm_sits_after_the_second_convolution_only():
    plain, normed = DCDiscriminator(image_size=8, width=4), DCDiscriminator(image_size=8, width=4, batch_norm=True)
    kinds = [type(m).__name__ for m in normed.net]
    assert "BatchNorm2d" not in [type(m).__name__ for m in plain.net]
    assert kinds.index("BatchNorm2d") == [i for i, k in enumerate(kinds) if k == "Conv2d"][1] + 1
    assert normed(tg.randn(6, 1, 8, 8)).shape == (6, 1)
    with pytest.raises(ValueError, match="multiple of 4"):
        DCDiscriminator(image_size=10)


def test_dcgan_init_draws_small_weights_zero_biases_and_unit_scales():
    tg.manual_seed(0)
    G = DCGenerator(latent_dim=16, image_size=28, width=32).apply(dcgan_init_)
    D = DCDiscriminator(image_size=28, width=32, batch_norm=True).apply(dcgan_init_)
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = m.weight.detach().numpy()
            assert abs(w.std() - 0.02) < 0.004 and abs(w.mean()) < 0.004, type(m).__name__
            assert not m.bias.detach().numpy().any()
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            scale = m.weight.detach().numpy()
            assert abs(scale.mean() - 1.0) < 0.01 and 0.01 < scale.std() < 0.03
            assert not m.bias.detach().numpy().any()



def test_the_averaged_generator_holds_the_average_with_its_own_batchnorm_statistics():
    tg.manual_seed(0)
    G = DCGenerator(latent_dim=4, image_size=8, width=4)
    ema = tg.optim.EMA(G, decay=0.5)
    opt = tg.optim.SGD(G.parameters(), lr=0.5)
    for _ in range(3):  # move G away from its average
        opt.zero_grad()
        (G(tg.randn(8, 4)) ** 2).mean().backward()
        opt.step()
        ema.update()
    before = {k: v.detach().numpy().copy() for k, v in G.state_dict().items()}
    stream = tg.backend.get_rng_state()

    averaged = averaged_generator(G, ema, num_samples=256, batch_size=32)
    assert tg.backend.get_rng_state() == stream  # the caller's random stream did not move
    for k, v in G.state_dict().items():  # G itself is untouched
        np.testing.assert_array_equal(v.detach().numpy(), before[k])
    for name, p in averaged.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), ema.shadow[name].numpy())
    assert averaged.training is False and G.training is True
    bn, own = averaged.net[1], G.net[1]  # the first BatchNorm: statistics recomputed for the average
    assert int(bn.num_batches_tracked.numpy()) == 256 // 32
    assert not np.allclose(bn.running_mean.numpy(), own.running_mean.numpy())
    again = averaged_generator(G, ema, num_samples=256, batch_size=32)  # noise of a fixed seed: the same each time
    z = tg.randn(5, 4)
    with tg.no_grad():
        np.testing.assert_array_equal(averaged(z).numpy(), again(z).numpy())
