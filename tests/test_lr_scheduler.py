"""Learning-rate schedules: the sequences of rates, by hand and (optionally) against PyTorch."""

import math

import pytest

import tinygen as tg
from tinygen.optim import SGD, lr_scheduler as S


def make_opt(lr=1.0, groups=1):
    params = [{"params": [tg.zeros(1, requires_grad=True)], "lr": lr * (i + 1)} for i in range(groups)]
    return SGD(params, lr=lr)


def rates(make_sched, steps=12, lr=1.0, groups=1):
    """The lr used by each of the first ``steps`` optimiser steps (per group)."""
    opt = make_opt(lr, groups)
    sched = make_sched(opt)
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return out


def first_group(seq):
    return [r[0] for r in seq]


def test_step_lr():
    got = first_group(rates(lambda o: S.StepLR(o, step_size=3, gamma=0.5), lr=0.8))
    assert got == pytest.approx([0.8 * 0.5 ** (t // 3) for t in range(12)])


def test_multistep_and_exponential():
    got = first_group(rates(lambda o: S.MultiStepLR(o, milestones=[5, 2], gamma=0.1)))
    assert got == pytest.approx([1.0] * 2 + [0.1] * 3 + [0.01] * 7)
    got = first_group(rates(lambda o: S.ExponentialLR(o, gamma=0.9)))
    assert got == pytest.approx([0.9**t for t in range(12)])


def test_cosine_annealing():
    got = first_group(rates(lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.1), steps=11, lr=2.0))
    expected = [0.1 + (2.0 - 0.1) * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    assert got == pytest.approx(expected)
    assert got[0] == 2.0 and got[10] == pytest.approx(0.1)


def test_linear_warmup_then_holds():
    got = first_group(rates(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=3), steps=6))
    assert got == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_lambda_lr_scales_every_group():
    got = rates(lambda o: S.LambdaLR(o, lambda t: 1.0 / (t + 1)), steps=4, lr=0.5, groups=2)
    flat = [lr for step in got for lr in step]
    assert flat == pytest.approx([lr / (t + 1) for t in range(4) for lr in (0.5, 1.0)])


def test_warmup_then_cosine():
    def make(o):
        warm = S.LinearLR(o, start_factor=0.1, total_iters=4)
        cos = S.CosineAnnealingLR(o, T_max=6)
        return S.SequentialLR(o, [warm, cos], milestones=[4])

    got = first_group(rates(make, steps=10))
    expected = [0.1 + 0.9 * t / 4 for t in range(4)] + [(1 + math.cos(math.pi * t / 6)) / 2 for t in range(6)]
    assert got == pytest.approx(expected)


def test_get_last_lr_and_state_dict_resume():
    opt = make_opt(1.0)
    sched = S.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(5):
        sched.step()
    assert sched.get_last_lr() == [0.25]  # t = 5: 0.5 ** (5 // 2)
    sd = sched.state_dict()
    assert sd["last_epoch"] == 5

    opt2 = make_opt(1.0)
    sched2 = S.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(sd)
    sched.step()
    sched2.step()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.125


def test_sequential_state_dict_resume():
    def build():
        o = make_opt(1.0)
        return o, S.SequentialLR(o, [S.LinearLR(o, 0.5, total_iters=2), S.ExponentialLR(o, 0.5)], [2])

    opt, sched = build()
    for _ in range(3):
        sched.step()
    opt2, sched2 = build()
    sched2.load_state_dict(sched.state_dict())
    for _ in range(3):
        sched.step()
        sched2.step()
        assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]
    assert opt.param_groups[0]["lr"] == 0.5**4


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="StepLR"):
        S.StepLR(make_opt(), step_size=0)
    with pytest.raises(ValueError, match="LinearLR"):
        S.LinearLR(make_opt(), start_factor=0.0)
    with pytest.raises(ValueError, match="SequentialLR: expected 1 milestones"):
        o = make_opt()
        S.SequentialLR(o, [S.StepLR(o, 1), S.StepLR(o, 1)], milestones=[])


# ---------------------------------------------------------------- against PyTorch
def torch_rates(make_sched, steps=12, lr=1.0):
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_sched(torch.optim.lr_scheduler, opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


TORCH_CASES = {
    "step": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[2, 7], gamma=0.3),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.8),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.05),
    "linear": lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=5),
    "lambda": lambda m, o: m.LambdaLR(o, lambda t: 0.9**t + 0.1),
    "warmup_cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=3), m.CosineAnnealingLR(o, T_max=8)], milestones=[3]
    ),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=2.0, total_steps=12),
    "onecycle_three_phase_linear": lambda m, o: m.OneCycleLR(o, max_lr=[1.5], epochs=3, steps_per_epoch=4,
                                                             pct_start=0.25, anneal_strategy="linear",
                                                             three_phase=True, div_factor=10.0),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's SequentialLR warns about step(epoch)
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_matches_torch(name):
    expected = torch_rates(TORCH_CASES[name], lr=0.7)
    got = first_group(rates(lambda o: TORCH_CASES[name](S, o), lr=0.7))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_one_cycle_cycles_momentum_like_torch():
    torch = pytest.importorskip("torch")
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    ours_opt = SGD([tg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    theirs = torch.optim.lr_scheduler.OneCycleLR(theirs_opt, max_lr=1.0, total_steps=10)
    ours = S.OneCycleLR(ours_opt, max_lr=1.0, total_steps=10)
    for _ in range(10):
        assert ours_opt.param_groups[0]["momentum"] == pytest.approx(theirs_opt.param_groups[0]["momentum"], rel=1e-12)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
        theirs_opt.step(), ours_opt.step(), theirs.step(), ours.step()
    with pytest.raises(ValueError, match="total_steps=10"):
        ours.step()


@pytest.mark.parametrize("kw", [dict(), dict(mode="max", factor=0.5, patience=1, cooldown=1, threshold_mode="abs",
                                             threshold=0.01, min_lr=0.05)])
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.9, 0.9, 0.9, 0.91, 0.92, 0.93, 0.93, 0.93, 0.93] * 2
    kw = {"patience": 2, **kw}
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    ours_opt = SGD([tg.zeros(1, requires_grad=True)], lr=1.0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kw)
    ours = S.ReduceLROnPlateau(ours_opt, **kw)
    for m in metrics:
        theirs.step(m)
        ours.step(tg.tensor(m))
        assert ours_opt.param_groups[0]["lr"] == pytest.approx(theirs_opt.param_groups[0]["lr"], rel=1e-12)
    assert ours_opt.param_groups[0]["lr"] < 1.0
    resumed = S.ReduceLROnPlateau(ours_opt, **kw)
    resumed.load_state_dict(ours.state_dict())
    assert resumed.num_bad_epochs == ours.num_bad_epochs and resumed.best == ours.best
