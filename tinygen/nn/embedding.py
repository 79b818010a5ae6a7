"""Embedding: a learned lookup table, row i is the vector of token (or class) i."""

from ..grad_mode import no_grad
from ..creation import empty
from ..ops.elementwise import where
from . import init
from .module import Module, Parameter


def embedding(indices, weight, padding_idx=None):
    """weight[indices]: integer indices of any shape -> vectors, shape indices.shape + (dim,).

    The backward of this integer-array indexing scatters with add, so a token that appears
    twice gets both gradients. Rows at ``padding_idx`` receive no gradient (PyTorch's rule).
    """
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected integer indices, got dtype {indices.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: expected a weight of shape (num_embeddings, dim), got {weight.shape}")
    rows = weight[indices]
    if padding_idx is None:
        return rows
    keep = (indices.array != padding_idx % weight.shape[0])[..., None]
    return where(keep, rows, rows.detach())  # same values, but no gradient flows to the padding row


class Embedding(Module):
    """num_embeddings vectors of size embedding_dim, initialised N(0, 1) as in PyTorch.

    Integer indices of any shape (...) -> vectors (..., embedding_dim); weight (num_embeddings,
    embedding_dim). The row at ``padding_idx`` starts at zero and gets no gradient.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        """Redraw the table from N(0, 1), with the ``padding_idx`` row set to zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
