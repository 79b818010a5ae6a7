"""Optional: 5-step trajectories of our optimisers against PyTorch's on the same problem."""

import numpy as np
import pytest

import tinygen as tg
from tinygen.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 2))
W0, B0 = RNG.standard_normal((3, 2)), RNG.standard_normal(2)


def trajectory(lib, opt_name, kw, steps=5, dtype=np.float64, clip=None):
    """Parameters after each step of a least-squares fit, with tinygen (lib=tg) or torch."""
    t = (lambda a, **k: torch.tensor(a.astype(dtype), **k)) if lib is torch else \
        (lambda a, **k: tg.tensor(a.astype(dtype), **k))
    w, b = t(W0, requires_grad=True), t(B0, requires_grad=True)
    x, y = t(X), t(Y)
    opt = getattr(lib.optim, opt_name)([w, b], **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = (((x @ w + b) - y) ** 2).mean() + (w**4).sum() * 0.01
        loss.backward()
        if clip is not None:
            norm = (torch.nn.utils.clip_grad_norm_ if lib is torch else clip_grad_norm_)([w, b], clip)
            out.append(float(norm))
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return out


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-4, weight_decay=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.8, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_five_steps_match_torch(name, kw):
    for ours, theirs in zip(trajectory(tg, name, kw), trajectory(torch, name, kw)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("AdamW", dict(lr=0.05))])
def test_float32_matches_torch_to_float32_precision(name, kw):
    ours = trajectory(tg, name, kw, dtype=np.float32)
    theirs = trajectory(torch, name, kw, dtype=np.float32)
    assert ours[-1].dtype == np.float32
    np.testing.assert_allclose(ours[-1], theirs[-1], rtol=1e-5, atol=1e-6)


def test_clipped_training_matches_torch():
    # max_norm below the gradient norm, so the clipping really scales
    ours = trajectory(tg, "SGD", dict(lr=0.1, momentum=0.9), clip=0.5)
    theirs = trajectory(torch, "SGD", dict(lr=0.1, momentum=0.9), clip=0.5)
    assert ours[0] > 0.5
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type):
    grads = [RNG.standard_normal((3, 4)), RNG.standard_normal(5)]
    ours = [tg.zeros(g.shape, dtype=tg.float64, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = tg.tensor(g), torch.tensor(g)
    norm = clip_grad_norm_(ours, 0.7, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type=norm_type)
    assert norm.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_parameters_to_vector_match_torch():
    g = RNG.standard_normal((4, 3))
    p, q = tg.zeros(4, 3, dtype=tg.float64, requires_grad=True), torch.zeros(4, 3, dtype=torch.float64, requires_grad=True)
    p.grad, q.grad = tg.tensor(g), torch.tensor(g)
    clip_grad_value_([p], 0.5)
    torch.nn.utils.clip_grad_value_([q], 0.5)
    np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    a, b = tg.tensor(W0), tg.tensor(B0)
    expected = torch.nn.utils.parameters_to_vector([torch.tensor(W0), torch.tensor(B0)])
    np.testing.assert_array_equal(parameters_to_vector([a, b]).numpy(), expected.numpy())
