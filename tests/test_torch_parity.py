"""Forward values and gradients against PyTorch, in float64 (skipped when torch is missing).

Each case runs the same function in both engines on the same random inputs, backpropagates
the same random upstream gradient, and compares outputs and every input's gradient.
"""

import numpy as np
import pytest

import tinygen as tg
import tinygen.nn.functional as F
from tinygen.ops import shape as shape_ops

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def compare(tg_fn, torch_fn, *arrays, rtol=1e-10, atol=1e-12):
    """Run both functions on leaves holding ``arrays``; compare outputs and gradients."""
    ours = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = tg_fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    v = np.random.default_rng(1).standard_normal(out.shape)
    (out * tg.tensor(v, dtype=tg.float64)).sum().backward()
    (ref * torch.tensor(v)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"gradient {i}")


def randn(*shape):
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape)


def positive(*shape):
    return np.abs(randn(*shape)) + 0.5


CASES = {
    "add broadcast": (lambda a, b: a + b, lambda a, b: a + b, randn(2, 1, 3), randn(4, 3)),
    "mul broadcast": (lambda a, b: a * b, lambda a, b: a * b, randn(3, 1), randn(1, 4)),
    "div broadcast": (lambda a, b: a / b, lambda a, b: a / b, randn(2, 3), positive(3)),
    "pow tensor": (lambda a, b: a**b, lambda a, b: a**b, positive(2, 3), randn(3)),
    "pow scalar": (lambda a: a**-1.5, lambda a: a**-1.5, positive(4)),
    "maximum": (tg.maximum, torch.maximum, randn(3, 4), randn(4)),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), randn(5, 3)),
    "sum dims keepdim": (lambda x: x.sum((0, 2), keepdim=True), lambda x: x.sum((0, 2), keepdim=True), randn(2, 3, 4)),
    "mean dim": (lambda x: x.mean(-1), lambda x: x.mean(-1), randn(2, 3, 4)),
    "var correction=1": (lambda x: x.var(1, correction=1), lambda x: x.var(1, correction=1), randn(3, 5)),
    "var correction=0 all": (lambda x: x.var(correction=0), lambda x: x.var(correction=0), randn(3, 5)),
    "std": (lambda x: x.std(0), lambda x: x.std(0), randn(4, 3)),
    "amax dims": (lambda x: x.amax((0, 1)), lambda x: x.amax((0, 1)), randn(2, 3, 4)),
    "max dim values": (lambda x: x.max(1).values, lambda x: x.max(1).values, randn(3, 4)),
    "logsumexp": (lambda x: tg.logsumexp(x, 1, True), lambda x: torch.logsumexp(x, 1, keepdim=True), randn(3, 4)),
    "index repeats": (lambda x: x[[0, 0, 2, -1]], lambda x: x[[0, 0, 2, -1]], randn(4, 3)),
    "index pairs with repeats": (lambda x: x[[1, 1, 0], [2, 2, 0]], lambda x: x[[1, 1, 0], [2, 2, 0]], randn(2, 3)),
    "index slices": (lambda x: x[::-1, 1:, None], lambda x: x.flip(0)[:, 1:, None], randn(3, 4)),
    "permute + reshape": (lambda x: x.permute(2, 0, 1).reshape(4, -1), lambda x: x.permute(2, 0, 1).reshape(4, -1),
                          randn(2, 3, 4)),
    "expand": (lambda x: x.expand(2, -1, 4), lambda x: x.expand(2, -1, 4), randn(3, 1)),
    "cat": (lambda a, b: tg.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), randn(2, 3), randn(2, 1)),
    "stack": (lambda a, b: tg.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1), randn(2, 3), randn(2, 3)),
    "F.pad": (lambda x: F.pad(x, (1, 2, 0, 1)), lambda x: TF.pad(x, (1, 2, 0, 1)), randn(2, 3, 2)),
    "pad numpy-style": (lambda x: shape_ops.pad(x, ((1, 0), (2, 2)), 1.5), lambda x: TF.pad(x, (2, 2, 1, 0), value=1.5),
                        randn(2, 3)),
    "softmax": (lambda x: tg.softmax(x, 1), lambda x: torch.softmax(x, 1), randn(2, 5, 3)),
    "log_softmax": (lambda x: F.log_softmax(x, 0), lambda x: torch.log_softmax(x, 0), randn(4, 3)),
    "matmul (B,m,k)@(k,n)": (lambda a, b: a @ b, lambda a, b: a @ b, randn(3, 2, 4), randn(4, 5)),
    "matmul broadcast batches": (lambda a, b: a @ b, lambda a, b: a @ b, randn(2, 1, 2, 3), randn(3, 3, 2)),
    "matmul (k,)@(B,k,n)": (lambda a, b: a @ b, lambda a, b: a @ b, randn(3), randn(2, 3, 4)),
    "matmul (k,)@(k,)": (lambda a, b: a @ b, lambda a, b: a @ b, randn(5), randn(5)),
    "gelu tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), randn(3, 4)),
    "silu": (F.silu, TF.silu, randn(6)),
    "softplus beta=2": (lambda x: F.softplus(x, beta=2.0), lambda x: TF.softplus(x, beta=2.0), randn(6)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), randn(6)),
    "sigmoid": (tg.sigmoid, torch.sigmoid, randn(6)),
    "tanh": (tg.tanh, torch.tanh, randn(6)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, 4 * randn(6)),
    "bce with logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y),
                        lambda x, y: TF.binary_cross_entropy_with_logits(x, y), 3 * randn(4, 2),
                        np.random.default_rng(5).random((4, 2))),
    # issue 18: the rest of the PyTorch surface a ported script reaches for
    "gelu exact": (F.gelu, TF.gelu, 2 * randn(3, 4)),
    "sin cos": (lambda x: x.sin() * x.cos(), lambda x: x.sin() * x.cos(), randn(5)),
    "log1p expm1": (lambda x: tg.log1p(x) + tg.expm1(x), lambda x: torch.log1p(x) + torch.expm1(x), positive(5)),
    "erf": (tg.erf, torch.erf, 2 * randn(7)),
    "cumsum": (lambda x: tg.cumsum(x, 1), lambda x: torch.cumsum(x, 1), randn(3, 4)),
    "cumprod": (lambda x: x.cumprod(0), lambda x: x.cumprod(0), positive(4, 3)),
    "prod": (lambda x: tg.prod(x, 1), lambda x: torch.prod(x, 1), positive(2, 3)),
    "norm p=2 dim": (lambda x: x.norm(2, dim=1), lambda x: x.norm(2, dim=1), randn(3, 4)),
    "norm all": (lambda x: x.norm(), lambda x: x.norm(), randn(3, 4)),
    "norm p=1 keepdim": (lambda x: x.norm(1, 0, True), lambda x: x.norm(1, 0, True), randn(3, 4)),
    "norm p=3": (lambda x: x.norm(3, 1), lambda x: x.norm(3, 1), randn(3, 4)),
    "norm p=inf": (lambda x: x.norm(float("inf"), 1), lambda x: x.norm(float("inf"), 1), randn(3, 4)),
    "dist": (lambda a, b: tg.dist(a, b), lambda a, b: torch.dist(a, b), randn(3, 4), randn(4)),
    "F.normalize": (lambda x: F.normalize(x, dim=1), lambda x: TF.normalize(x, dim=1), randn(3, 4)),
    "F.cosine_similarity": (lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b),
                            randn(3, 4), randn(3, 4) + 0.1),
    "F.smooth_l1_loss": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), lambda a, b: TF.smooth_l1_loss(a, b, beta=0.7),
                         randn(3, 4), randn(3, 4) * 0.3),
    "F.huber_loss": (lambda a, b: F.huber_loss(a, b, delta=0.7), lambda a, b: TF.huber_loss(a, b, delta=0.7),
                     randn(3, 4), randn(3, 4) * 0.3),
    "F.l1_loss sum": (lambda a, b: F.l1_loss(a, b, reduction="sum"), lambda a, b: TF.l1_loss(a, b, reduction="sum"),
                      randn(3, 4), randn(3, 4) * 0.5),
    "F.kl_div batchmean": (lambda q, p: F.kl_div(q, p, reduction="batchmean"),
                           lambda q, p: TF.kl_div(q, p, reduction="batchmean"), randn(3, 4),
                           np.random.default_rng(6).random((3, 4))),
    "F.kl_div log_target": (lambda q, p: F.kl_div(q, p, reduction="sum", log_target=True),
                            lambda q, p: TF.kl_div(q, p, reduction="sum", log_target=True), randn(3, 4), randn(3, 4)),
    "gather": (lambda x: x.gather(1, tg.tensor([[0, 0], [2, 1]])), lambda x: x.gather(1, torch.tensor([[0, 0], [2, 1]])),
               randn(2, 3)),
    "scatter_add": (lambda x, s: x.scatter_add(0, tg.tensor([[1, 0, 1]]), s),
                    lambda x, s: x.scatter_add(0, torch.tensor([[1, 0, 1]]), s), randn(2, 3), randn(1, 3)),
    "index_select": (lambda x: x.index_select(0, tg.tensor([2, 0, 2])),
                     lambda x: x.index_select(0, torch.tensor([2, 0, 2])), randn(3, 2)),
    "flip roll": (lambda x: x.flip(0).roll(1, 1), lambda x: x.flip(0).roll(1, 1), randn(3, 4)),
    "roll flat": (lambda x: tg.roll(x, -2), lambda x: torch.roll(x, -2), randn(3, 4)),
    "narrow": (lambda x: x.narrow(1, 1, 2), lambda x: x.narrow(1, 1, 2), randn(3, 4)),
    "repeat": (lambda x: x.repeat(2, 1, 3), lambda x: x.repeat(2, 1, 3), randn(2, 3)),
    "chunk split cat": (lambda x: tg.cat(x.chunk(3, 1)[::-1] + x.split([1, 3], 1), 1),
                        lambda x: torch.cat(x.chunk(3, 1)[::-1] + x.split([1, 3], 1), 1), randn(2, 4)),
    "t mm": (lambda a, b: a.t().mm(b), lambda a, b: a.t().mm(b), randn(3, 2), randn(3, 4)),
    "bmm": (tg.bmm, torch.bmm, randn(2, 3, 4), randn(2, 4, 2)),
    "outer": (tg.outer, torch.outer, randn(3), randn(4)),
    "einsum attention": (lambda q, k: tg.einsum("bhid,bhjd->bhij", q, k),
                         lambda q, k: torch.einsum("bhid,bhjd->bhij", q, k), randn(2, 2, 3, 4), randn(2, 2, 5, 4)),
    "einsum ellipsis": (lambda a, b: tg.einsum("...ij,jk", a, b), lambda a, b: torch.einsum("...ij,jk", a, b),
                        randn(2, 3, 4), randn(4, 5)),
    "masked_fill": (lambda x: x.masked_fill(tg.tensor([True, False, True]), -1.0),
                    lambda x: x.masked_fill(torch.tensor([True, False, True]), -1.0), randn(2, 3)),
    "max(a, b)": (lambda a, b: tg.max(a, b) + tg.min(a, b) * 2.0, lambda a, b: torch.max(a, b) + torch.min(a, b) * 2.0,
                  randn(3, 4), randn(3, 4) + 0.05),
    "conv2d groups": (lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
                      lambda x, w, b: TF.conv2d(x, w, b, padding=1, groups=2), randn(2, 4, 5, 5), randn(6, 2, 3, 3),
                      randn(6)),
    "conv_transpose2d groups": (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, groups=2),
                                lambda x, w: TF.conv_transpose2d(x, w, stride=2, padding=1, groups=2),
                                randn(2, 4, 3, 3), randn(4, 3, 3, 3)),
    "depthwise conv2d": (lambda x, w: F.conv2d(x, w, groups=3), lambda x, w: TF.conv2d(x, w, groups=3),
                         randn(1, 3, 4, 4), randn(3, 1, 2, 2)),
    "interpolate bilinear": (lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"),
                             lambda x: TF.interpolate(x, size=(5, 7), mode="bilinear"), randn(2, 3, 3, 4)),
    "interpolate bilinear align_corners": (
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
        lambda x: TF.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True), randn(1, 2, 4, 4)),
    "interpolate nearest any size": (lambda x: F.interpolate(x, size=(7, 3)), lambda x: TF.interpolate(x, size=(7, 3)),
                                     randn(1, 2, 4, 5)),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_torch(name):
    tg_fn, torch_fn, *arrays = CASES[name]
    compare(tg_fn, torch_fn, *arrays)


# ---------------------------------------------------------------- ties in max: the rules differ
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])


def tie_gradients(reduce_tg, reduce_torch):
    ours = tg.tensor(TIES, dtype=tg.float64, requires_grad=True)
    theirs = torch.tensor(TIES, requires_grad=True)
    reduce_tg(ours).sum().backward()
    reduce_torch(theirs).sum().backward()
    return ours.grad.numpy(), theirs.grad.numpy()


def test_ties_full_max_and_amax_split_evenly_in_both():
    for reduce in [lambda x: x.max(), lambda x: x.amax(1)]:
        ours, theirs = tie_gradients(reduce, reduce)
        np.testing.assert_allclose(ours, theirs)
    ours, _ = tie_gradients(lambda x: x.amax(1), lambda x: x.amax(1))
    np.testing.assert_allclose(ours, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_ties_max_with_dim_differs_from_torch():
    """Documented difference: with a dim, tinygen splits the gradient evenly among tied maxima
    (as amax does), while PyTorch sends all of it to the one element named by ``indices``.
    Both are valid subgradients; the indices agree (the first maximum)."""
    ours, theirs = tie_gradients(lambda x: x.max(1).values, lambda x: x.max(1).values)
    np.testing.assert_allclose(ours, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(theirs.sum(axis=1), [1.0, 1.0])
    assert set(np.unique(theirs)) <= {0.0, 1.0}, "PyTorch gives one winner all of it"
    t = tg.tensor(TIES, dtype=tg.float64)
    np.testing.assert_array_equal(t.max(1).indices.numpy(), torch.tensor(TIES).max(1).indices.numpy())
