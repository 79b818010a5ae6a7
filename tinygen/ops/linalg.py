"""Matrix products, with NumPy's batch broadcasting over leading dimensions, and the dense layer."""

from .. import kernels
from ..autograd import Function


class MatMul(Function):
    """a @ b for a, b with at least two dimensions; leading (batch) dimensions broadcast."""

    def forward(self, a, b):
        return a @ b

    def backward(self, g):  # dL/da = g b^T,  dL/db = a^T g  (summed over broadcast batches by the engine)
        a, b = self.inputs
        ga = g @ b.transpose(-1, -2) if self.needs_input_grad[0] else None
        gb = a.transpose(-1, -2) @ g if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    """PyTorch's matmul: a 1-D operand is a row (left) or a column (right) vector, then squeezed."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:  # (k,) @ (k,): the dot product, a 0-d tensor
        return matmul(a.unsqueeze(0), b).squeeze(0)
    if a.ndim == 1:
        return matmul(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return matmul(a, b.unsqueeze(-1)).squeeze(-1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not fit: "
            f"{a.shape[-1]} columns against {b.shape[-2]} rows"
        )
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    for x, y in zip(reversed(batch_a), reversed(batch_b)):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not broadcast")
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """x @ weight.T + bias over the last axis of x; leading axes are flattened and restored."""
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: expected input whose last dimension is in_features={weight.shape[-1]} "
            f"(weight of shape {weight.shape}), got input of shape {x.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: expected bias of shape ({weight.shape[0]},), got {bias.shape}")
    return affine(x, weight, bias)


@kernels.replaceable
def affine(x, weight, bias=None):
    """x @ weight.T + bias, unchecked: the dense layer written as the two ops it is."""
    y = x @ weight.transpose(0, 1)
    return y if bias is None else y + bias
