"""Exact resume: train k steps, checkpoint, rebuild everything, load, train on; the final
weights are bit-for-bit those of a run that never stopped."""

import numpy as np
import pytest

import tinygen as tg
from tinygen import backend, nn
from tinygen.nn.utils import clip_grad_norm_
from tinygen.optim import EMA, AdamW, lr_scheduler

TOTAL, STOP = 12, 5


def build():
    """Model, optimiser, schedule and EMA, built the same way every time (as a script would)."""
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    opt = AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=TOTAL - 3)
    sched = lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[3])
    return model, opt, sched, EMA(model, decay=0.9)


def train(model, opt, sched, ema, start, stop):
    for _ in range(start, stop):
        x = tg.randn(8, 3)  # fresh data and dropout masks: both come from the RNG
        y = x.sum(dim=1, keepdim=True)
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update()


def weights(model, ema):
    out = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    out.update({"ema." + k: v.numpy().copy() for k, v in ema.shadow.items()})
    return out


def save_checkpoint(path, model, opt, sched, ema, step):
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "ema": ema.state_dict(), "step": step, "rng": backend.get_rng_state()}, path)


def resume(path, restore_rng=True):
    model, opt, sched, ema = build()
    ckpt = tg.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    ema.load_state_dict(ckpt["ema"])
    if restore_rng:
        backend.set_rng_state(ckpt["rng"])
    return model, opt, sched, ema, ckpt["step"]


@pytest.fixture(scope="module")
def straight():
    model, opt, sched, ema = build()
    train(model, opt, sched, ema, 0, TOTAL)
    return weights(model, ema), opt.param_groups[0]["lr"]


def test_resumed_run_is_bit_identical(tmp_path, straight):
    expected, expected_lr = straight
    model, opt, sched, ema = build()
    train(model, opt, sched, ema, 0, STOP)
    save_checkpoint(tmp_path / "ckpt.npz", model, opt, sched, ema, STOP)
    del model, opt, sched, ema
    tg.manual_seed(12345)  # whatever happened to the RNG in between must not matter

    model, opt, sched, ema, step = resume(tmp_path / "ckpt.npz")
    assert step == STOP
    train(model, opt, sched, ema, step, TOTAL)
    got = weights(model, ema)
    assert got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
        assert got[name].dtype == np.float32
    assert opt.param_groups[0]["lr"] == expected_lr


def test_without_the_rng_state_the_run_differs(tmp_path, straight):
    # the control: data and dropout really draw from the RNG, so the test above can fail
    expected, _ = straight
    model, opt, sched, ema = build()
    train(model, opt, sched, ema, 0, STOP)
    save_checkpoint(tmp_path / "ckpt.npz", model, opt, sched, ema, STOP)
    model, opt, sched, ema, step = resume(tmp_path / "ckpt.npz", restore_rng=False)
    train(model, opt, sched, ema, step, TOTAL)
    assert not np.array_equal(weights(model, ema)["0.weight"], expected["0.weight"])
