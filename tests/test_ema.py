"""EMA of parameters: the running average by hand, the weight swap, warm-up and state_dict."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import nn
from tinygen.optim import EMA, SGD, update_bn


def params_np(model):
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


def train_steps(model, opt, ema, steps):
    x = tg.randn(4, 3)
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        ema.update()


def test_update_is_the_running_average_by_hand():
    model = nn.Linear(3, 2)
    opt = SGD(model.parameters(), lr=0.1)
    ema = EMA(model, decay=0.9)
    shadow = params_np(model)
    x = tg.randn(4, 3)
    for _ in range(4):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        ema.update()
        now = params_np(model)
        shadow = {k: 0.9 * shadow[k] + 0.1 * now[k] for k in shadow}
    for name, value in shadow.items():
        np.testing.assert_allclose(ema.shadow[name].numpy(), value, rtol=1e-6)
        assert ema.shadow[name].dtype == tg.float32 and not ema.shadow[name].requires_grad
    assert ema.num_updates == 4


def test_warmup_decay_follows_the_model_early():
    model = nn.Linear(2, 2)
    ema = EMA(model, decay=0.999, warmup=True)
    start = ema.shadow["weight"].numpy().copy()
    assert ema.current_decay() == pytest.approx(2 / 11)  # (1 + n) / (10 + n) at n = 1
    with tg.no_grad():
        model.weight.add_(1.0)
    ema.update()
    np.testing.assert_allclose(ema.shadow["weight"].numpy(), 2 / 11 * start + 9 / 11 * (start + 1.0), rtol=1e-6)
    ema.num_updates = 10_000
    assert ema.current_decay() == 0.999  # (1 + n) / (10 + n) passed 0.999 at n = 8991


def test_average_parameters_swaps_in_and_back():
    model = nn.Linear(3, 2)
    opt = SGD(model.parameters(), lr=0.5)
    ema = EMA(model, decay=0.5)
    train_steps(model, opt, ema, 3)
    own = params_np(model)
    with ema.average_parameters() as m:
        assert m is model
        for name, p in model.named_parameters():
            np.testing.assert_array_equal(p.detach().numpy(), ema.shadow[name].numpy())
        assert any(not np.array_equal(own[k], ema.shadow[k].numpy()) for k in own)
    for name, value in params_np(model).items():
        np.testing.assert_array_equal(value, own[name])


def test_copy_to_another_model():
    model, other = nn.Linear(3, 2), nn.Linear(3, 2)
    ema = EMA(model, decay=0.0)  # decay 0: the shadow is just the latest weights
    with tg.no_grad():
        model.weight.add_(1.0)
    ema.update()
    ema.copy_to(other)
    np.testing.assert_array_equal(other.weight.detach().numpy(), model.weight.detach().numpy())


def test_state_dict_round_trip(tmp_path):
    model = nn.Linear(3, 2)
    opt = SGD(model.parameters(), lr=0.5)
    ema = EMA(model, decay=0.8, warmup=True)
    train_steps(model, opt, ema, 3)
    tg.save(ema.state_dict(), tmp_path / "ema.npz")

    fresh = EMA(nn.Linear(3, 2), decay=0.1)
    fresh.load_state_dict(tg.load(tmp_path / "ema.npz"))
    assert (fresh.decay, fresh.warmup, fresh.num_updates) == (0.8, True, 3)
    for name, t in ema.shadow.items():
        np.testing.assert_array_equal(fresh.shadow[name].numpy(), t.numpy())
    with pytest.raises(ValueError, match="EMA.load_state_dict"):
        EMA(nn.Linear(3, 2, bias=False)).load_state_dict(ema.state_dict())


def test_update_bn_recomputes_the_statistics_as_an_equal_average_over_the_batches():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2), nn.BatchNorm1d(2, momentum=0.3))
    model.eval()
    batches = [tg.randn(8, 3) * (k + 1) + k for k in range(3)]  # batches of unlike statistics
    update_bn(batches, model)
    first = model[0]
    with tg.no_grad():
        h = [first(x).numpy() for x in batches]
    bn = model[1]
    # each batch weighs 1/3: the mean of the batch means, the mean of the unbiased batch variances
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in h], 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([b.var(0, ddof=1) for b in h], 0), rtol=1e-5, atol=1e-6)
    assert model.training is False and (bn.momentum, model[4].momentum) == (0.1, 0.3)  # mode and momenta kept
    assert all(p.grad is None for p in model.parameters())  # no graph, no gradient
