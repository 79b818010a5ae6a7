"""Each loss: value and gradient on small cases worked by hand, every reduction, gradcheck."""

import math

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F


def t64(values, requires_grad=False):
    return tg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def value(t):
    return t.detach().numpy()


X = [[0.5, -1.0], [2.0, 0.0]]
Y = [[1.0, 1.0], [0.0, -2.0]]  # differences x - y: -0.5, -2, 2, 2


@pytest.mark.parametrize("reduction, expected", [("mean", 12.25 / 4), ("sum", 12.25), ("none", [[0.25, 4.0], [4.0, 4.0]])])
def test_mse_loss_values(reduction, expected):
    np.testing.assert_allclose(value(F.mse_loss(t64(X), t64(Y), reduction=reduction)), expected)


@pytest.mark.parametrize("reduction, expected", [("mean", 6.5 / 4), ("sum", 6.5), ("none", [[0.5, 2.0], [2.0, 2.0]])])
def test_l1_loss_values(reduction, expected):
    np.testing.assert_allclose(value(F.l1_loss(t64(X), t64(Y), reduction=reduction)), expected)


def test_mse_and_l1_gradients():
    x = t64(X, True)
    F.mse_loss(x, t64(Y)).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.array(X) - np.array(Y)) / 4)  # d/dx mean (x-y)^2
    x.grad = None
    F.l1_loss(x, t64(Y), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), np.sign(np.array(X) - np.array(Y)))
    assert tg.gradcheck(lambda a, b: F.mse_loss(a, b), (t64(X, True), t64(Y, True)))
    assert tg.gradcheck(lambda a, b: F.l1_loss(a, b, reduction="none"), (t64(X, True), t64(Y, True)))


def test_losses_refuse_mismatched_shapes_and_bad_reduction():
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(3, 1\) but target has shape \(3,\)"):
        F.mse_loss(tg.zeros(3, 1), tg.zeros(3))
    with pytest.raises(ValueError, match="l1_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.l1_loss(tg.zeros(2), tg.zeros(2), reduction="avg")


# ---------------------------------------------------------------- binary cross-entropy
P = [0.9, 0.2, 0.5]
T = [1.0, 0.0, 0.3]


def bce_by_hand(p, t):
    p, t = np.array(p), np.array(t)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_values(reduction):
    per = bce_by_hand(P, T)
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(value(F.binary_cross_entropy(t64(P), t64(T), reduction=reduction)), expected, rtol=1e-12)
    weight = t64([1.0, 2.0, 0.5])
    np.testing.assert_allclose(value(F.binary_cross_entropy(t64(P), t64(T), weight=weight, reduction="sum")),
                               (per * [1.0, 2.0, 0.5]).sum(), rtol=1e-12)


def test_binary_cross_entropy_gradient_and_clamp():
    p = t64(P, True)
    F.binary_cross_entropy(p, t64(T), reduction="sum").backward()
    pa, ta = np.array(P), np.array(T)
    np.testing.assert_allclose(p.grad.numpy(), (pa - ta) / (pa * (1 - pa)), rtol=1e-12)
    assert tg.gradcheck(lambda a, b: F.binary_cross_entropy(a, b), (t64(P, True), t64(T, True)))
    assert tg.gradgradcheck(lambda a: F.binary_cross_entropy(a, t64(T)), (t64(P, True),))

    # at p = 0 or 1 the log is clamped at -100 (PyTorch's rule) and the gradient stays finite
    edge = tg.tensor([0.0, 1.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(edge, tg.tensor([1.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(value(loss), [100.0, 100.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(edge.grad.numpy()).all() and edge.grad.numpy()[0] < -1e10
    if tg.get_default_device() == "cpu":
        with pytest.raises(ValueError, match="binary_cross_entropy: input must be probabilities"):
            F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0]))
    else:  # on a GPU the check would wait for the device: the loss is NaN instead (see its docstring)
        assert np.isnan(F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0])).item())


def test_binary_cross_entropy_with_logits():
    logits = [2.0, -1.5, 0.0]
    sig = 1 / (1 + np.exp(-np.array(logits)))
    np.testing.assert_allclose(value(F.binary_cross_entropy_with_logits(t64(logits), t64(T), reduction="none")),
                               bce_by_hand(sig, T), rtol=1e-12)
    x = t64(logits, True)
    F.binary_cross_entropy_with_logits(x, t64(T)).backward()
    np.testing.assert_allclose(x.grad.numpy(), (sig - np.array(T)) / 3, rtol=1e-12)  # d/dx = sigmoid(x) - y
    # pos_weight scales the positive term: -[w y log s + (1 - y) log(1 - s)]
    pw = t64([3.0, 3.0, 3.0])
    expected = -(3.0 * np.array(T) * np.log(sig) + (1 - np.array(T)) * np.log(1 - sig))
    np.testing.assert_allclose(value(F.binary_cross_entropy_with_logits(t64(logits), t64(T), pos_weight=pw, reduction="none")),
                               expected, rtol=1e-12)
    big = F.binary_cross_entropy_with_logits(tg.tensor([1e4, -1e4]), tg.tensor([0.0, 1.0]), reduction="sum")
    assert value(big) == pytest.approx(2e4)
    assert tg.gradgradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw),
                            (t64(logits, True), t64(T, True)))


# ---------------------------------------------------------------- class targets
LOGP = np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_values_weights_and_ignore_index(reduction):
    target = tg.tensor([0, 2])
    per = -np.array([LOGP[0, 0], LOGP[1, 2]])
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(value(F.nll_loss(t64(LOGP), target, reduction=reduction)), expected, rtol=1e-12)

    w = t64([2.0, 1.0, 0.5])
    weighted = per * [2.0, 0.5]
    expected = {"mean": weighted.sum() / 2.5, "sum": weighted.sum(), "none": weighted}[reduction]  # mean: / sum of w[y]
    np.testing.assert_allclose(value(F.nll_loss(t64(LOGP), target, weight=w, reduction=reduction)), expected, rtol=1e-12)

    ignored = F.nll_loss(t64(LOGP), tg.tensor([0, -100]), reduction=reduction)
    expected = {"mean": per[0], "sum": per[0], "none": [per[0], 0.0]}[reduction]
    np.testing.assert_allclose(value(ignored), expected, rtol=1e-12)


def test_nll_loss_gradient_scatters_into_the_picked_entries():
    x = t64(LOGP, True)
    F.nll_loss(x, tg.tensor([1, 1]), weight=t64([1.0, 3.0, 1.0])).backward()
    expected = np.zeros((2, 3))
    expected[:, 1] = -3.0 / 6.0  # -w[y] / sum of w[y]
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_nll_loss_spatial_and_unbatched_shapes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    target = rng.integers(0, 3, (2, 4))
    expected = -np.take_along_axis(x, target[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(value(F.nll_loss(t64(x), tg.tensor(target), reduction="none")), expected)
    assert tg.gradcheck(lambda a: F.nll_loss(a, tg.tensor(target)), (t64(x, True),))
    np.testing.assert_allclose(value(F.nll_loss(t64(LOGP[0]), tg.tensor(1))), -LOGP[0, 1])


def test_nll_loss_errors_name_the_loss_and_shapes():
    with pytest.raises(ValueError, match=r"nll_loss: input of shape \(2, 3\) .* needs a target of shape \(2,\), got \(3,\)"):
        F.nll_loss(t64(LOGP), tg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="nll_loss: expected integer class indices"):
        F.nll_loss(t64(LOGP), tg.tensor([0.0, 1.0]))
    if tg.get_default_device() == "cpu":
        with pytest.raises(IndexError, match=r"nll_loss: target holds a class index outside \[0, 3\)"):
            F.nll_loss(t64(LOGP), tg.tensor([0, 3]))
    else:  # on a GPU: NaN, checked on the device (CuPy would wrap the index silently)
        assert np.isnan(F.nll_loss(t64(LOGP), tg.tensor([0, 3])).item())


def np_log_softmax(x, axis=1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


LOGITS = np.array([[1.0, 2.0, -0.5], [0.3, -1.0, 2.5], [0.0, 0.0, 0.0]])
TARGET = np.array([1, 2, 0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_class_targets(reduction):
    per = -np_log_softmax(LOGITS)[np.arange(3), TARGET]
    expected = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(value(F.cross_entropy(t64(LOGITS), tg.tensor(TARGET), reduction=reduction)), expected, rtol=1e-12)
    np.testing.assert_allclose(value(F.cross_entropy(t64(LOGITS[2:]), tg.tensor([0]))), math.log(3), rtol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = t64(LOGITS, True)
    F.cross_entropy(x, tg.tensor(TARGET), reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np_log_softmax(LOGITS)) - np.eye(3)[TARGET], rtol=1e-10, atol=1e-12)
    assert tg.gradgradcheck(lambda a: F.cross_entropy(a, tg.tensor(TARGET)), (t64(LOGITS, True),))


def test_cross_entropy_with_probability_targets_and_label_smoothing():
    probs = np.array([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    logp = np_log_softmax(LOGITS)
    np.testing.assert_allclose(value(F.cross_entropy(t64(LOGITS), t64(probs))), -(probs * logp).sum(1).mean(), rtol=1e-12)
    assert tg.gradcheck(lambda a, b: F.cross_entropy(a, b), (t64(LOGITS, True), t64(probs, True)))

    eps = 0.1  # smoothing: the target becomes (1 - eps) one_hot + eps / C
    smoothed = (1 - eps) * np.eye(3)[TARGET] + eps / 3
    expected = -(smoothed * logp).sum(1).mean()
    got = F.cross_entropy(t64(LOGITS), tg.tensor(TARGET), label_smoothing=eps)
    np.testing.assert_allclose(value(got), expected, rtol=1e-12)
    np.testing.assert_allclose(value(F.cross_entropy(t64(LOGITS), t64(np.eye(3)[TARGET]), label_smoothing=eps)), expected, rtol=1e-12)
    assert tg.gradcheck(lambda a: F.cross_entropy(a, tg.tensor(TARGET), label_smoothing=eps, reduction="none"),
                        (t64(LOGITS, True),))


def test_float32_losses_stay_float32():
    x = tg.randn(4, 3, requires_grad=True)
    for loss in [F.cross_entropy(x, tg.tensor([0, 1, 2, 0])), F.mse_loss(x, tg.zeros(4, 3)),
                 F.binary_cross_entropy(x.sigmoid(), tg.ones(4, 3)), F.binary_cross_entropy_with_logits(x, tg.ones(4, 3)),
                 F.cross_entropy(x, tg.tensor([0, 1, 2, 0]), weight=tg.ones(3), label_smoothing=0.1)]:
        assert loss.dtype == tg.float32
        x.grad = None
        loss.backward()
        assert x.grad.dtype == tg.float32
