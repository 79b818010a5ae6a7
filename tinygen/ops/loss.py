"""Losses that need care to stay finite: written here as stable compositions of primitives."""

from .activation import softplus


def reduce_loss(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from the logit x.

    Since log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x), the loss is
    softplus(x) - y x: no sigmoid is ever rounded to 0 or 1, so it is finite for any x.
    """
    if logits.shape != target.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: logits have shape {logits.shape} but target has "
            f"shape {target.shape}; they must match"
        )
    return reduce_loss(softplus(logits) - logits * target, reduction, "binary_cross_entropy_with_logits")
