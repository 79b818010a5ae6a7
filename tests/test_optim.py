"""Optimisers: the first steps on a fixed quadratic match the update rules computed by hand."""

import math

import numpy as np
import pytest

import tinygen as tg
from tinygen.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters
from tinygen.optim import SGD, Adam, AdamW

A = np.array([1.0, 2.0, 0.5, 3.0])  # loss(x) = sum(A x^2 / 2 - B x), so grad = A x - B
B = np.array([0.3, -1.0, 2.0, 0.1])
X0 = np.array([1.0, -2.0, 0.5, 4.0])


def loss_fn(x):
    a, b = tg.tensor(A.astype(x.dtype)), tg.tensor(B.astype(x.dtype))
    return (a * x * x * 0.5 - b * x).sum()


def run(make_opt, steps=3, dtype=np.float64):
    x = tg.tensor(X0.astype(dtype), requires_grad=True)
    opt = make_opt([x])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
        trajectory.append(x.detach().numpy().copy())
    return trajectory


def sgd_by_hand(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, steps=3):
    x, buf, out = X0.copy(), None, []
    for _ in range(steps):
        g = A * x - B + weight_decay * x
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        x = x - lr * g
        out.append(x)
    return out


def adam_by_hand(lr, b1, b2, eps, weight_decay=0.0, decoupled=False, amsgrad=False, steps=3):
    x, m, v, vmax, out = X0.copy(), 0 * X0, 0 * X0, 0 * X0, []
    for t in range(1, steps + 1):
        g = A * x - B
        if decoupled:
            x = x * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * x
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(x)
    return out


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.1, momentum=0.8, nesterov=True),
    dict(lr=0.1, momentum=0.9, weight_decay=0.1),
    dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05),
]


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_first_steps_match_hand_rule(kw):
    got = run(lambda p: SGD(p, **kw))
    for g, e in zip(got, sgd_by_hand(**kw)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [
    dict(lr=0.1),
    dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.1, amsgrad=True),
])
def test_adam_first_steps_match_hand_rule(kw):
    got = run(lambda p: Adam(p, **kw))
    b1, b2 = kw.get("betas", (0.9, 0.999))
    expected = adam_by_hand(kw["lr"], b1, b2, kw.get("eps", 1e-8), kw.get("weight_decay", 0.0),
                            amsgrad=kw.get("amsgrad", False))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_coordinate_by_lr():
    # with bias correction, step 1 is lr * g / (|g| + eps): a signed step of size ~lr
    (x1,) = run(lambda p: Adam(p, lr=0.01), steps=1)
    np.testing.assert_allclose(x1 - X0, -0.01 * np.sign(A * X0 - B), rtol=1e-6)


@pytest.mark.parametrize("wd", [0.0, 0.1, 0.5])
def test_adamw_first_steps_match_hand_rule(wd):
    got = run(lambda p: AdamW(p, lr=0.1, weight_decay=wd))
    for g, e in zip(got, adam_by_hand(0.1, 0.9, 0.999, 1e-8, wd, decoupled=True)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_adamw_decay_differs_from_adam_l2():
    adamw = run(lambda p: AdamW(p, lr=0.1, weight_decay=0.5))[-1]
    adam = run(lambda p: Adam(p, lr=0.1, weight_decay=0.5))[-1]
    assert np.abs(adamw - adam).max() > 1e-3


def test_maximize_climbs():
    up = run(lambda p: SGD(p, lr=0.1, maximize=True), steps=1)[0]
    np.testing.assert_allclose(up, X0 + 0.1 * (A * X0 - B))


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda p: Adam(p, lr=0.1, weight_decay=0.01, amsgrad=True),
    lambda p: AdamW(p, lr=0.1),
])
def test_float32_step_stays_float32(make):
    x = tg.tensor(X0.astype(np.float32), requires_grad=True)
    opt = make([x])
    for _ in range(2):
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
    assert x.dtype == tg.float32
    for value in opt.state[x].values():
        if isinstance(value, tg.Tensor):
            assert value.dtype == tg.float32
    np.testing.assert_allclose(x.detach().numpy(), run(make, steps=2)[-1], rtol=1e-5)


def test_param_groups_have_their_own_lr():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a * 2.0 + b * 2.0).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(1.0 - 0.1 * 2.0)
    assert b.item() == pytest.approx(1.0 - 0.5 * 2.0)
    assert opt.param_groups[1]["momentum"] == 0.0  # filled from the defaults


def test_params_without_grad_are_skipped_and_zero_grad_forgets():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.item() == 3.0 and b not in opt.state
    opt.zero_grad()
    assert a.grad is None
    (a * a).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])


def test_step_bumps_version_so_stale_graph_refuses_backward():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([x], lr=0.1)
    y = (x * x).sum()
    z = (x * x).sum()
    y.backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_closure_returns_loss():
    x = tg.tensor([2.0], requires_grad=True)
    opt = SGD([x], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0 and x.item() == pytest.approx(2.0 - 0.25 * 4.0)


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: Adam(p, lr=0.1, amsgrad=True),
    lambda p: AdamW(p, lr=0.1, weight_decay=0.1),
])
def test_state_dict_resumes_in_a_fresh_optimizer(make, tmp_path):
    straight = run(make, steps=5)[-1]

    x = tg.tensor(X0, requires_grad=True)
    opt = make([x])
    for _ in range(2):
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
    tg.save({"x": x.detach(), "opt": opt.state_dict()}, tmp_path / "ckpt.npz")

    ckpt = tg.load(tmp_path / "ckpt.npz")
    x2 = tg.tensor(ckpt["x"].numpy(), requires_grad=True)
    opt2 = make([x2])
    opt2.load_state_dict(ckpt["opt"])
    for _ in range(3):
        opt2.zero_grad()
        loss_fn(x2).backward()
        opt2.step()
    np.testing.assert_array_equal(x2.detach().numpy(), straight)


def test_state_dict_layout_is_pytorchs():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}])
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert set(sd["state"]) == {0, 1} and sd["state"][1]["step"] == 1
    assert sd["state"][1]["exp_avg"].shape == (2,)


def test_load_state_dict_rejects_a_different_layout():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([1.0], requires_grad=True)
    sd = SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="2 parameters"):
        SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter groups"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_bad_arguments_are_named():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: nesterov"):
        SGD([x], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: expected betas"):
        Adam([x], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one group"):
        SGD([{"params": [x]}, {"params": [x]}], lr=0.1)
    with pytest.raises(ValueError, match="leaf"):
        SGD([x * 2.0], lr=0.1)
    assert math.isclose(AdamW([x]).param_groups[0]["weight_decay"], 1e-2)


# ---------------------------------------------------------------- tinygen.nn.utils
def test_clip_grad_norm_returns_total_norm_and_scales():
    a = tg.zeros(2, requires_grad=True)
    b = tg.zeros(1, requires_grad=True)
    a.grad, b.grad = tg.tensor([3.0, 0.0]), tg.tensor([4.0])  # joint norm 5
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert norm.item() == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3.0 * scale, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [4.0 * scale], rtol=1e-6)
    assert a.grad.dtype == tg.float32 and norm.dtype == tg.float32

    norm = clip_grad_norm_([a, b], max_norm=10.0)  # already small: left alone
    assert norm.item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [4.0 * scale], rtol=1e-6)


def test_clip_grad_norm_with_gradients_from_one_sum():
    a = tg.ones(3, requires_grad=True)
    b = tg.ones(3, requires_grad=True)
    (a + b).sum().backward()  # both gradients are ones: the norm is sqrt(6)
    assert clip_grad_norm_([a, b], 1.0).item() == pytest.approx(6**0.5)
    for p in (a, b):  # each scaled once
        np.testing.assert_allclose(p.grad.numpy(), np.full(3, 1 / 6**0.5), rtol=1e-5)


def test_clip_grad_norm_inf_and_nonfinite():
    a = tg.zeros(3, requires_grad=True)
    a.grad = tg.tensor([1.0, -4.0, 2.0])
    assert clip_grad_norm_(a, 2.0, norm_type="inf").item() == 4.0
    np.testing.assert_allclose(a.grad.numpy(), [0.5, -2.0, 1.0], rtol=1e-5)
    a.grad = tg.tensor([1.0, float("nan"), 2.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm"):
        clip_grad_norm_(a, 2.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vector_round_trip():
    a = tg.zeros(2, 2, requires_grad=True)
    b = tg.zeros(3, requires_grad=True)
    a.grad = tg.tensor([[0.5, -3.0], [2.0, -0.1]])
    clip_grad_value_([a, b], 1.0)  # b has no gradient: skipped
    np.testing.assert_array_equal(a.grad.numpy(), np.float32([[0.5, -1.0], [1.0, -0.1]]))
    vector_to_parameters(tg.arange(7.0), [a, b])
    np.testing.assert_array_equal(a.detach().numpy(), [[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(parameters_to_vector([a, b]).detach().numpy(), np.arange(7.0))
    with pytest.raises(ValueError, match="vector_to_parameters: expected a 1-d vector of 7"):
        vector_to_parameters(tg.zeros(6), [a, b])


@pytest.mark.gpu
@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: AdamW(p, lr=0.1)])
def test_step_on_gpu_matches_cpu(make):
    results = []
    for device in ("cpu", "cuda"):
        x = tg.tensor(X0.astype(np.float32), device=device, requires_grad=True)
        opt = make([x])
        for _ in range(3):
            opt.zero_grad()
            (x * x * 0.5).sum().backward()
            clip_grad_norm_([x], 1.0)
            opt.step()
        assert x.device == device and x.dtype == tg.float32
        assert all(v.device == device for v in opt.state[x].values() if isinstance(v, tg.Tensor))
        results.append(x.detach().cpu().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5)
