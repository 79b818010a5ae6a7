"""Optional: conv, conv-transpose, pools and interpolate against PyTorch in float64 (forward + every gradient)."""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn as nn
import tinygen.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _pair(rng, *shapes):
    """The same float64 values as tinygen and torch leaf tensors."""
    arrays = [rng.standard_normal(s) for s in shapes]
    return ([tg.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _compare(ours_fn, theirs_fn, shapes, seed=0):
    rng = np.random.default_rng(seed)
    ours, theirs = _pair(rng, *shapes)
    y, ty = ours_fn(*ours), theirs_fn(*theirs)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(tuple(ty.shape))
    y.backward(tg.tensor(g))
    ty.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (1, 0), (1, 2))])
def test_conv2d(stride, padding, dilation):
    _compare(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation),
             lambda x, w, b: TF.conv2d(x, w, b, stride, padding, dilation),
             [(3, 4, 9, 8), (5, 4, 3, 3), (5,)])


@pytest.mark.parametrize("stride, padding, output_padding, dilation", [(1, 0, 0, 1), (2, 1, 0, 1), (2, 1, 1, 1),
                                                                       (3, 2, 2, 2)])
def test_conv_transpose2d(stride, padding, output_padding, dilation):
    _compare(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation),
             lambda x, w, b: TF.conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation),
             [(2, 4, 5, 6), (4, 3, 4, 4), (3,)])


@pytest.mark.parametrize("kernel, stride, padding, dilation", [(2, None, 0, 1), (3, 2, 1, 1), (3, 1, 1, 2)])
def test_max_pool2d(kernel, stride, padding, dilation):
    _compare(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation),
             lambda x: TF.max_pool2d(x, kernel, stride, padding, dilation), [(2, 3, 9, 8)])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), ((3, 2), 1, (1, 0))])
def test_avg_pool2d(kernel, stride, padding, count_include_pad):
    _compare(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad),
             lambda x: TF.avg_pool2d(x, kernel, stride, padding, count_include_pad=count_include_pad),
             [(2, 3, 9, 8)])


def test_interpolate_nearest():
    _compare(lambda x: F.interpolate(x, scale_factor=2), lambda x: TF.interpolate(x, scale_factor=2),
             [(2, 3, 4, 5)])


def test_max_pool_ties_pick_the_same_element_as_torch():
    x = np.round(np.random.default_rng(1).standard_normal((2, 2, 6, 6)))  # many equal values
    ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    F.max_pool2d(ours, 2).sum().backward()
    TF.max_pool2d(theirs, 2).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_gradient_penalty_matches_torch():
    """Double backward through two convs and a conv-transpose, as a WGAN-GP critic does."""

    def penalty(lib, x, w1, w2, w3):
        conv, convt, act = (F.conv2d, F.conv_transpose2d, F.leaky_relu) if lib is tg else (
            TF.conv2d, TF.conv_transpose2d, TF.leaky_relu)
        h = act(conv(x, w1, stride=2, padding=1), 0.2).tanh()
        h = act(convt(h, w2, stride=2, padding=1, output_padding=1), 0.2)
        score = conv(h.tanh(), w3, stride=2).sum()
        grad = tg.grad if lib is tg else torch.autograd.grad
        (gx,) = grad(score, [x], create_graph=True)
        return ((gx * gx).sum() - 1.0) ** 2

    rng = np.random.default_rng(0)
    ours, theirs = _pair(rng, (2, 2, 8, 8), (3, 2, 3, 3), (3, 2, 3, 3), (1, 2, 3, 3))
    p, tp = penalty(tg, *ours), penalty(torch, *theirs)
    np.testing.assert_allclose(p.item(), tp.item(), rtol=1e-10)
    p.backward()
    tp.backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layers_match_torch_given_the_same_weights():
    conv, tconv = nn.Conv2d(3, 4, 3, stride=2, padding=1).double(), torch.nn.Conv2d(3, 4, 3, 2, 1).double()
    up, tup = nn.ConvTranspose2d(4, 2, 4, 2, 1).double(), torch.nn.ConvTranspose2d(4, 2, 4, 2, 1).double()
    with torch.no_grad():
        for ours, theirs in ((conv, tconv), (up, tup)):
            theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy()))
            theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8))
    y = nn.MaxPool2d(2)(nn.Upsample(scale_factor=2)(up(conv(tg.tensor(x)))))
    ty = torch.nn.MaxPool2d(2)(torch.nn.Upsample(scale_factor=2)(tup(tconv(torch.tensor(x)))))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
