"""Same weights and inputs in tinygen and PyTorch -> same outputs and gradients (skipped without torch)."""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen import nn

torch = pytest.importorskip("torch")


def copy_into_torch(ours, theirs):
    """Load our state dict into the PyTorch module: same names, same shapes."""
    state = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)


def run_both(ours, theirs, x, steps=1):
    """Forward and backward of sum(out * v) in both; return outputs and all gradients."""
    for _ in range(steps):
        xa = tg.tensor(x, requires_grad=True)
        xb = torch.tensor(x, requires_grad=True)
        ya, yb = ours(xa), theirs(xb)
        v = np.random.default_rng(99).standard_normal(ya.shape).astype(np.float32)
        (ya * tg.tensor(v)).sum().backward()
        (yb * torch.tensor(v)).sum().backward()
    grads_a = [xa.grad.numpy()] + [p.grad.numpy() for p in ours.parameters()]
    grads_b = [xb.grad.numpy()] + [p.grad.numpy() for p in theirs.parameters()]
    return ya.detach().numpy(), yb.detach().numpy(), grads_a, grads_b


LAYERS = [
    (lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), (4, 5)),
    (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (6, 3)),
    (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (4, 3, 5)),
    (lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3), (2, 3, 4, 4)),
    (lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4), (2, 4, 3, 3)),
    (lambda: nn.LayerNorm((3, 4)), lambda: torch.nn.LayerNorm((3, 4)), (2, 3, 4)),
    (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh"), (3, 4)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU(), (3, 4)),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU(), (3, 4)),
    (lambda: nn.Softplus(beta=2.0), lambda: torch.nn.Softplus(beta=2.0), (3, 4)),
]


@pytest.mark.parametrize("make_ours, make_theirs, shape", LAYERS)
def test_layer_parity(make_ours, make_theirs, shape):
    ours, theirs = make_ours(), make_theirs()
    with tg.no_grad():  # non-trivial affine parameters for the norms
        for p in ours.parameters():
            p.copy_(np.random.default_rng(p.numel()).uniform(0.5, 1.5, p.shape).astype(np.float32))
    copy_into_torch(ours, theirs)
    x = (np.random.default_rng(0).standard_normal(shape) * 2 + 0.5).astype(np.float32)
    ya, yb, grads_a, grads_b = run_both(ours, theirs, x, steps=3)
    np.testing.assert_allclose(ya, yb, rtol=1e-4, atol=1e-5)
    for ga, gb in zip(grads_a, grads_b):
        np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-4)
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):  # running stats too
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_state_dict_keys_match_pytorch():
    ours = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.LayerNorm(4), nn.Embedding(3, 4))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.LayerNorm(4), torch.nn.Embedding(3, 4))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours).splitlines()[1] == repr(theirs).splitlines()[1]  # the Linear line (other reprs vary by version)


def test_init_distributions_match_pytorch():
    torch.manual_seed(0)  # 300 bias draws: the std bound is loose enough for a fixed seed, not for every seed
    ours, theirs = nn.Linear(400, 300), torch.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)  # both U(-bound, bound): std bound / sqrt(3)
    for a, b, tol in [(ours.weight, theirs.weight, 0.01), (ours.bias, theirs.bias, 0.12)]:  # 120000 and 300 draws
        for w in (a.detach().numpy(), b.detach().numpy()):
            assert abs(w.std() - bound / np.sqrt(3)) < tol * bound and bound * 0.95 < np.abs(w).max() <= bound


def both(name, *arrays, target_grad=True, **kwargs):
    """The loss `name` in both frameworks on the same arrays; compares values and input gradients."""
    wants_grad = [a.dtype.kind == "f" and (i == 0 or target_grad) for i, a in enumerate(arrays)]
    ours = [tg.tensor(a, requires_grad=g) for a, g in zip(arrays, wants_grad)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, wants_grad)]
    kw_ours = {k: tg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    kw_theirs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    la = getattr(F, name)(*ours, **kw_ours)
    lb = getattr(torch.nn.functional, name)(*theirs, **kw_theirs)
    la.sum().backward()
    lb.sum().backward()
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours, theirs):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-6)


rng = np.random.default_rng(5)
X = rng.standard_normal((4, 3)).astype(np.float32)
Y = rng.standard_normal((4, 3)).astype(np.float32)
PROB = rng.uniform(0.02, 0.98, (4, 3)).astype(np.float32)
TGT = rng.uniform(0, 1, (4, 3)).astype(np.float32)
LOGITS = rng.standard_normal((4, 5, 2)).astype(np.float32) * 3
CLASSES = np.array([[0, 4], [2, -100], [1, 1], [3, 0]])
WEIGHT = np.array([1.0, 0.5, 2.0, 1.5, 0.3], np.float32)
SOFT = rng.dirichlet(np.ones(5), (4, 2)).transpose(0, 2, 1).astype(np.float32)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_parity(reduction):
    both("mse_loss", X, Y, reduction=reduction)
    both("l1_loss", X, Y, reduction=reduction)
    both("binary_cross_entropy", PROB, TGT, reduction=reduction)
    both("binary_cross_entropy", PROB, TGT, weight=WEIGHT[:3], reduction=reduction)
    # at p = 0 or 1 PyTorch's target gradient is inf; ours is the derivative of the clamped loss (+-100)
    both("binary_cross_entropy", np.array([0.0, 1.0, 1.0, 0.5], np.float32), np.array([1.0, 0.0, 1.0, 0.5], np.float32),
         target_grad=False, reduction=reduction)
    both("binary_cross_entropy_with_logits", X * 10, TGT, reduction=reduction)
    both("binary_cross_entropy_with_logits", X, TGT, pos_weight=np.array([2.0, 1.0, 0.5], np.float32), reduction=reduction)
    both("nll_loss", LOGITS, CLASSES, weight=WEIGHT, reduction=reduction)
    for smoothing in (0.0, 0.2):
        both("cross_entropy", LOGITS, CLASSES, reduction=reduction, label_smoothing=smoothing)
        both("cross_entropy", LOGITS, CLASSES, weight=WEIGHT, reduction=reduction, label_smoothing=smoothing)
        both("cross_entropy", LOGITS, SOFT, reduction=reduction, label_smoothing=smoothing)
        both("cross_entropy", LOGITS[:, :, 0], CLASSES[:, 0], reduction=reduction, label_smoothing=smoothing)
