"""An MLP that predicts the noise in 2-D points: the DDPM denoiser for the toy distributions.

    eps_hat = MLPDenoiser()(x_t, t)          # x_t (B, 2), t int64 (B,) -> (B, 2)

The timestep enters every residual block (added after the block's first layer), so each layer
can behave differently at high noise (move points towards the bulk) and low noise (sharpen them).
"""

from .. import nn
from ..ops.activation import silu
from .ddpm import timestep_embedding


class TimeResidualBlock(nn.Module):
    """h + W2 silu(W1 silu(LN h) + W_t emb): a pre-norm residual block told the noise level.

    h (B, hidden) and embedding (B, emb_dim) -> (B, hidden).
    """

    def __init__(self, hidden, emb_dim):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, hidden)
        self.time = nn.Linear(emb_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)

    def forward(self, h, emb):                                     # h (B, hidden), emb (B, emb_dim)
        z = self.fc1(silu(self.norm(h))) + self.time(emb)
        return h + self.fc2(silu(z))


class MLPDenoiser(nn.Module):
    """eps(x_t, t[, y]) for vectors: input layer, ``depth`` residual blocks, output layer.

    The denoising network of GaussianDiffusion for points: ``model(x_t, t)`` with noisy points
    x_t (B, dim) and int64 timesteps t (B,) returns the predicted noise (B, dim). The timestep
    is a sinusoidal embedding of ``time_dim`` features passed through a small MLP.
    With ``num_classes`` it is class-conditional: a label embedding (row ``num_classes`` is the
    null label of classifier-free guidance) is added to the time embedding.
    """

    def __init__(self, dim=2, hidden=128, depth=3, time_dim=64, num_classes=None):
        super().__init__()
        self.dim, self.time_dim, self.num_classes = dim, time_dim, num_classes
        emb_dim = hidden
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.inp = nn.Linear(dim, hidden)
        self.blocks = nn.ModuleList([TimeResidualBlock(hidden, emb_dim) for _ in range(depth)])
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x, t, y=None):
        """x_t (B, dim), t int64 (B,) [, y int64 (B,)] -> predicted noise (B, dim)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"MLPDenoiser: expected points of shape (B, {self.dim}), got {x.shape}")
        emb = self.time_mlp(timestep_embedding(t, self.time_dim, x.dtype))  # (B, emb_dim)
        if y is not None:
            if self.label is None:
                raise ValueError("MLPDenoiser: got labels y, but the model was built without num_classes")
            emb = emb + self.label(y)
        h = self.inp(x)                                                      # (B, hidden)
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)                                                   # (B, dim)
