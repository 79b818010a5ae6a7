"""Loss modules: each holds its settings (``reduction``, ``weight``, ...) and calls the function of
tinygen.ops.loss with them, as PyTorch's ``nn.MSELoss()(input, target)`` calls ``F.mse_loss``.

    criterion = nn.CrossEntropyLoss()
    loss = criterion(logits, labels)     # (N, C) logits, (N,) class indices -> a 0-d tensor

``reduction`` is "mean" (the default), "sum" or "none" (the per-element losses). PyTorch's
deprecated ``size_average`` / ``reduce`` arguments are refused with the ``reduction`` to use.
"""

from ..ops import loss as L
from .module import Module


def _reduction(name, size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        raise TypeError(f"{name}: size_average and reduce are deprecated in PyTorch and not offered in tinygen; "
                        "pass reduction='mean', 'sum' or 'none' instead")
    return reduction


class _Loss(Module):
    """Shared by the loss modules: the ``reduction`` setting."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = _reduction(type(self).__name__, size_average, reduce, reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """(x - y)^2 per element, reduced: input and target of one shape -> 0-d (or that shape with 'none')."""

    def forward(self, input, target):
        return L.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """|x - y| per element, reduced: input and target of one shape -> 0-d (or that shape with 'none')."""

    def forward(self, input, target):
        return L.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, reduced: one shape -> 0-d."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return L.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), reduced: one shape -> 0-d."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return L.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1]: one shape -> 0-d."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return L.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits (sigmoid inside, stable for any logit): one shape -> 0-d."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return L.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class NLLLoss(_Loss):
    """-log-probability of the target class: (N, C) log-probabilities, (N,) class indices -> 0-d."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return L.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits: (N, C) logits, (N,) class indices or (N, C) probabilities -> 0-d."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return L.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class KLDivLoss(_Loss):
    """KL(target || q) from log q = ``input``: pointwise target (log target - input); "batchmean" is the true KL per example."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return L.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
