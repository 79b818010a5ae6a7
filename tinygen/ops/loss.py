"""The training losses, with PyTorch's definitions and reductions.

Each loss computes one value per element (or per sample) and then reduces:
``reduction="mean"`` (the default), ``"sum"``, or ``"none"`` (the per-element losses).
Most are short compositions of primitives; binary cross-entropy on probabilities is its own
op because its derivative must stay finite where log(0) is clamped.
"""

from .. import backend
from ..autograd import Function
from .activation import log_softmax, softplus
from .elementwise import clamp, log, where
from ..tensor import Tensor


def reduce_loss(loss, reduction, op):
    """The per-element losses reduced: their mean, their sum, or as they are ('none')."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(op, input, target):
    # PyTorch broadcasts here with a warning; (N, 1) against (N,) silently becomes (N, N), so refuse
    if input.shape != target.shape:
        raise ValueError(f"{op}: input has shape {input.shape} but target has shape {target.shape}; they must match")


def mse_loss(input, target, reduction="mean"):
    """(x - y)^2 per element."""
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return reduce_loss(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """|x - y| per element."""
    _check_same_shape("l1_loss", input, target)
    return reduce_loss((input - target).abs(), reduction, "l1_loss")


# ---------------------------------------------------------------- binary cross-entropy
class BinaryCrossEntropy(Function):
    """-[y log x + (1 - y) log(1 - x)] on probabilities x, each log clamped at -100 as in PyTorch."""

    def forward(self, x, y):
        xp = backend.array_module(x)
        with backend.errstate(divide="ignore"):  # log(0) = -inf is expected; the clamp catches it
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        return -(y * log_x + (1.0 - y) * log_1mx)

    def backward(self, g):
        # d/dx = (x - y) / (x (1 - x)), the denominator kept >= 1e-12 as PyTorch does, so x = 0 or 1 stays finite
        # d/dy = log(1 - x) - log(x), with the same clamps as the forward
        x, y = self.inputs
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = g * (x - y) / clamp(x * (1.0 - x), min=1e-12)
        if self.needs_input_grad[1]:
            with backend.errstate(divide="ignore"):
                gy = g * (clamp(log(1.0 - x), min=-100.0) - clamp(log(x), min=-100.0))
        return gx, gy


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Cross-entropy of probabilities ``input`` against targets in [0, 1]; an input outside: ValueError on a CPU, NaN on a GPU."""
    _check_same_shape("binary_cross_entropy", input, target)
    if input.device == "cpu" and bool(((input.array < 0) | (input.array > 1)).any()):  # GPU: skipped, log() gives NaN
        raise ValueError("binary_cross_entropy: input must be probabilities in [0, 1]; for logits use "
                         "binary_cross_entropy_with_logits")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits, target, weight=None, reduction="mean", pos_weight=None):
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from the logit x.

    Since log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x), the loss is
    softplus(x) - y x: no sigmoid is ever rounded to 0 or 1, so it is finite for any x.
    With ``pos_weight`` p the positive term is scaled: p y softplus(-x) + (1 - y) softplus(x).
    """
    if logits.shape != target.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: logits have shape {logits.shape} but target has "
            f"shape {target.shape}; they must match"
        )
    if pos_weight is None:
        loss = softplus(logits) - logits * target
    else:
        loss = pos_weight * target * softplus(-logits) + (1.0 - target) * softplus(logits)
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction, "binary_cross_entropy_with_logits")


# ---------------------------------------------------------------- class targets
def _classes_last(x):
    """(N, C, d1, ...) -> (N * d1 * ..., C): one row of class scores per prediction."""
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1)
    return x.reshape(-1, x.shape[-1])


def _check_class_target(op, input, target):
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer class indices as target, got dtype {target.dtype}")
    expected = input.shape[:1] + input.shape[2:] if input.ndim != 1 else ()
    if target.shape != expected:
        raise ValueError(
            f"{op}: input of shape {input.shape} (N, C, ...) needs a target of shape {expected}, "
            f"got {target.shape}"
        )


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """-w[y] * input[n, y]: the negative log-likelihood of class y, given log-probabilities.

    ``input`` is (N, C) or (N, C, d1, ...) or (C,); ``target`` holds class indices, shape
    (N,) or (N, d1, ...) or (). The mean divides by the summed weights of the counted targets,
    as PyTorch does; targets equal to ``ignore_index`` count nothing. A class index outside
    [0, C) is an IndexError on the CPU; on a GPU, where raising would make every step wait for
    the device (and CuPy would silently wrap the index), it makes the loss NaN instead.
    """
    _check_class_target("nll_loss", input, target)
    xp = backend.array_module(input.array)
    t = backend.as_array(target.array, device=input.device).reshape(-1)
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    counted = t != ignore_index
    bad = counted & ((t < 0) | (t >= classes))
    if input.device == "cpu" and bool(bad.any()):
        raise IndexError(f"nll_loss: target holds a class index outside [0, {classes}) (and not ignore_index={ignore_index})")
    safe_t = xp.where(counted & ~bad, t, 0)  # ignored positions pick class 0, then get weight 0
    w = counted.astype(input.dtype) if weight is None else weight.array[safe_t] * counted
    if input.device != "cpu":
        w = xp.where(bad, xp.nan, w)  # the range check on the device: a bad label's loss is NaN
    scores = _classes_last(input.reshape(1, -1) if input.ndim == 1 else input)
    picked = scores[xp.arange(scores.shape[0]), safe_t]  # integer-array indexing: backward scatter-adds
    loss = -picked * Tensor.wrap(w)
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "mean":
        return loss.sum() / Tensor.wrap(w.sum())
    return reduce_loss(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits ``input`` (N, C, ...): log_softmax over axis 1, then nll_loss.

    ``target`` is either class indices (integers, shape (N, ...)) or class probabilities
    (floats, the shape of ``input``). ``label_smoothing`` e mixes the target with the uniform
    distribution: (1 - e) * target + e / C.
    """
    class_dim = 0 if input.ndim == 1 else 1
    log_p = log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    w_shape = (classes,) + (1,) * (input.ndim - class_dim - 1)  # weight broadcast along the class axis
    if backend.is_floating(target.dtype):  # probability targets
        _check_same_shape("cross_entropy", input, target)
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / classes
        per_class = log_p * target if weight is None else log_p * target * weight.reshape(w_shape)
        loss = -per_class.sum(class_dim)
        if reduction == "mean":  # PyTorch divides by the number of predictions, N * d1 * ...
            return loss.sum() / float(input.numel() // classes)
        return reduce_loss(loss, reduction, "cross_entropy")

    nll = nll_loss(log_p, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    # the uniform part: -sum_c w_c log p_c per prediction, with PyTorch's masking and mean
    _check_class_target("cross_entropy", input, target)
    counted = Tensor.wrap((target.array != ignore_index).astype(input.dtype))
    per_class = log_p if weight is None else log_p * weight.reshape(w_shape)
    smooth = -per_class.sum(class_dim) * counted
    if reduction == "mean":
        t = backend.as_array(target.array, device=input.device)
        denominator = counted.array.sum() if weight is None else (weight.array[(t * (t != ignore_index))] * counted.array).sum()
        smooth = smooth.sum() / Tensor.wrap(denominator)
    else:
        smooth = reduce_loss(smooth, reduction, "cross_entropy")
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


# ---------------------------------------------------------------- more regression and distribution losses
def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = x - y: L2 near 0, L1 far away."""
    _check_same_shape("smooth_l1_loss", input, target)
    diff = input - target
    if beta == 0.0:
        return reduce_loss(diff.abs(), reduction, "smooth_l1_loss")
    near = diff.abs().array < beta
    return reduce_loss(where(near, diff * diff * (0.5 / beta), diff.abs() - 0.5 * beta), reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): ``delta`` times smooth_l1_loss with beta = delta."""
    return smooth_l1_loss(input, target, reduction, beta=delta) * float(delta)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL(target || q) summed pointwise: target * (log target - input), with ``input`` = log q.

    As in PyTorch, ``input`` holds log-probabilities; ``target`` probabilities (log-probabilities
    with ``log_target=True``); a 0 target contributes 0. ``reduction="batchmean"`` divides the
    sum by the batch size, which is the true KL divergence per example; "mean" divides by the
    number of elements.
    """
    _check_same_shape("kl_div", input, target)
    if log_target:
        pointwise = target.exp() * (target - input)
    else:
        positive = target.array > 0
        safe = where(positive, target, 1.0)  # log 1 = 0 where the target is 0: 0 log 0 is taken as 0
        pointwise = where(positive, target * (log(safe) - input), 0.0)
    if reduction == "batchmean":
        return pointwise.sum() / float(input.shape[0] if input.ndim else 1)
    return reduce_loss(pointwise, reduction, "kl_div")
