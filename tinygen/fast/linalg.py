"""Fast dense layer: x W^T + b as one op, in place of the reading path's matmul and add."""

from .. import grad_mode, kernels
from ..autograd import Function
from ..ops import linalg as reading
from ..tensor import Tensor
from . import parallel


class Linear(Function):
    """y = x W^T + b for x (N, in), W (out, in), b (out,): a dense layer as one op.

    The same as ``x @ W.T + b`` (a test proves it), but its backward writes dW = g^T x
    straight into a fresh (out, in) array instead of transposing a (in, out) product, and
    adds the bias in place: one matrix product per gradient and no extra copies.
    """

    def forward(self, x, w, b=None):
        """Arrays x (N, in), w (out, in) [, b (out,)] -> y (N, out)."""
        y = parallel.matmul(x, w.T)  # x @ w.T, over the cores after split_over_cores() (parallel.py)
        if b is not None:
            y += b  # y is fresh: adding in place saves an (N, out) temporary
        return y

    def backward(self, g):  # dx = g W,  dW = g^T x,  db = sum_n g
        """g (N, out) -> dx (N, in), dW (out, in) [, db (out,)], None for an input that needs none."""
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        if grad_mode.is_grad_enabled():  # create_graph: differentiable ops
            gx = g @ w if need[0] else None
            gw = g.transpose(0, 1) @ x if need[1] else None
        else:  # the same products on arrays (over the cores, with split_over_cores)
            gx = Tensor.wrap(parallel.matmul(g.array, w.array)) if need[0] else None
            gw = Tensor.wrap(parallel.matmul(g.array.T, x.array)) if need[1] else None
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (g.sum(0) if need[2] else None)


@kernels.fast_kernel(reading.affine)
def affine(x, weight, bias=None):
    """x @ weight.T + bias as one op; leading axes of x are flattened and restored."""
    lead = x.shape[:-1]
    rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    y = Linear.apply(*((rows, weight) if bias is None else (rows, weight, bias)))
    return y if x.ndim == 2 else y.reshape(lead + (weight.shape[0],))
