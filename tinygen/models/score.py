"""Score matching with annealed Langevin sampling (NCSN, Song & Ermon 2019 and 2020).

The score of a density is the gradient of its log, s(x) = grad_x log p(x): a vector field that
points uphill towards the data. Knowing it is enough to sample, by Langevin dynamics,

    x <- x + (alpha / 2) s(x) + sqrt(alpha) z,   z ~ N(0, I),

which for small steps alpha and many of them draws from p. The score of the data is unknown, but
the score of the data blurred by Gaussian noise of std sigma can be learned by *denoising score
matching*: for x~ = x + sigma z, regress the network onto the score of the noising kernel,

    grad_x~ log q(x~ | x) = -(x~ - x) / sigma^2 = -z / sigma      (the DSM target)

which equals the (intractable) explicit score-matching loss up to a constant (docs/math/score.md).
One network s(x, sigma_i) learns the blurred scores at L noise levels sigma_1 > ... > sigma_L:
at large sigma the modes merge and the field is simple everywhere, at small sigma it is sharp
near the data. ``annealed_langevin`` runs Langevin at each level in turn, from the largest.

The network is passed in, as for GaussianDiffusion, and predicts the noise: it is called as
``model(x~ * c_in, i)`` with the level index i an int64 tensor (B,) and c_in = 1 / sqrt(1 + sigma^2)
(so its input keeps about unit size at every level), and s(x~, sigma) = -model(...) / sigma.
That is DDPM's epsilon-prediction: eps = -sigma * score, and the DSM loss weighted by sigma^2
is exactly 0.5 * ||eps - z||^2 (the same MLPDenoiser and UNet serve both models).
"""

import math

from .. import backend
from ..creation import full, randint, randn, randn_like
from ..grad_mode import no_grad
from ..tensor import Tensor

_np = backend.xp_for("cpu")  # the noise levels are computed on the host in float64, then stored


def geometric_sigmas(sigma_max, sigma_min, levels):
    """``levels`` noise levels from sigma_max down to sigma_min in a geometric sequence (float64, (L,)):
    each level is a fixed ratio of the next, so neighbouring blurred densities overlap alike."""
    if not sigma_max > sigma_min > 0 or levels < 2:
        raise ValueError(f"geometric_sigmas: expected sigma_max > sigma_min > 0 and levels >= 2, "
                         f"got {sigma_max}, {sigma_min}, {levels}")
    return _np.exp(_np.linspace(math.log(sigma_max), math.log(sigma_min), levels, dtype="float64"))


class NoiseConditionalScore:
    """The noise levels, the denoising score-matching loss and annealed Langevin sampling, for any
    noise-predicting network (a noise-conditional score network, NCSN).

    ``sigmas`` (L,) is stored as a Tensor in ``dtype`` on ``device``, largest first. Training calls
    ``dsm_loss(model, x)``; ``score(model, x, i)`` is the learned score at level i;
    ``annealed_langevin(model, shape)`` draws samples. ``clip`` = (lo, hi) clamps the final samples
    to the data range (images); None leaves them free (2-D data).
    """

    def __init__(self, sigma_max=5.0, sigma_min=0.01, levels=16, dtype="float32", device=None, clip=None):
        self.sigma_max, self.sigma_min, self.levels, self.clip = float(sigma_max), float(sigma_min), int(levels), clip
        self.dtype, self.device = backend.dtype(dtype), backend.check_device(device)
        values = geometric_sigmas(sigma_max, sigma_min, levels)
        self.sigma_values = [float(v) for v in values]  # on the host: a level's sigma without a device read
        self.sigmas = Tensor(values.astype(self.dtype), device=self.device)

    # ------------------------------------------------------------ helpers
    def sigma_at(self, i, ndim):
        """sigma_i shaped to broadcast against a batch of ``ndim`` dimensions: a Python float for an int i,
        a Tensor (B, 1, ...) for a (B,) int tensor i."""
        if not isinstance(i, Tensor):
            return self.sigma_values[int(i)]
        return self.sigmas[i.array].reshape((i.shape[0],) + (1,) * (ndim - 1))

    def levels_like(self, x, i):
        """The level index i as an int64 tensor (B,) for a batch x: what the network is told."""
        return i if isinstance(i, Tensor) else full((x.shape[0],), int(i), dtype=backend.int64, device=x.device)

    # ------------------------------------------------------------ the score and its loss
    def score(self, model, x, i):
        """s(x, sigma_i) = -eps(x c_in, i) / sigma_i for a batch x (B, ...) at level i (int or (B,)): like x."""
        sigma = self.sigma_at(i, x.ndim)
        c_in = 1.0 / (sigma * sigma + 1.0).sqrt() if isinstance(i, Tensor) else 1.0 / math.sqrt(1.0 + sigma * sigma)
        return -model(x * c_in, self.levels_like(x, i)) / sigma

    def dsm_target(self, x_noisy, x, i):
        """The denoising score-matching target, the score of q(x~ | x) = N(x, sigma_i^2 I) at x~:
        -(x~ - x) / sigma_i^2, shaped like x."""
        sigma = self.sigma_at(i, x.ndim)
        return -(x_noisy - x) / (sigma * sigma)

    def dsm_loss(self, model, x, i=None, noise=None):
        """Denoising score matching over the levels, weighted by lambda(sigma) = sigma^2:

            L = E_i E_x E_z  0.5 * sigma_i^2 || s(x + sigma_i z, sigma_i) + z / sigma_i ||^2

        summed over each example's dimensions and averaged over the batch (a 0-d Tensor). The
        levels i are uniform over 0..L-1 unless given ((B,) int64). The weight sigma^2 makes every
        level's term about the same size (the target's norm is ~1 / sigma).
        """
        i = randint(0, self.levels, (x.shape[0],), device=x.device) if i is None else i
        noise = randn_like(x) if noise is None else noise
        sigma = self.sigma_at(i, x.ndim)
        x_noisy = x + sigma * noise
        error = self.score(model, x_noisy, i) - self.dsm_target(x_noisy, x, i)
        return (sigma * sigma * error * error).flatten(1).sum(1).mean() * 0.5

    # ------------------------------------------------------------ sampling
    def denoise(self, model, x, i=None):
        """Tweedie's formula, E[x | x~] = x~ + sigma^2 s(x~, sigma): the noise of level i (default: the
        smallest) taken out in one step. (B, ...) -> (B, ...)."""
        i = self.levels - 1 if i is None else int(i)
        return x + self.score(model, x, i) * self.sigma_values[i] ** 2

    @no_grad()
    def annealed_langevin(self, model, shape, steps=100, step_ratio=0.1, denoise=True, noise=None, keep=(),
                          progress=None):
        """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): start from N(0, sigma_1^2 I),
        and at each level i, largest first, take ``steps`` steps

            x <- x + (alpha_i / 2) s(x, sigma_i) + sqrt(alpha_i) z,   alpha_i = step_ratio * sigma_i^2,

        so every level's step is the same fraction of its noise (the paper's epsilon is
        step_ratio * sigma_L^2). ``denoise``: finish with Tweedie's step at the smallest level,
        which removes the sigma_L of noise Langevin leaves (Song & Ermon 2020; Jolicoeur-Martineau
        et al. 2021). Returns x of ``shape``; with ``keep`` (level indices) also {i: x at the end
        of level i} as ``(x, frames)``; ``noise``: the start (default N(0, sigma_1^2 I));
        ``progress(iterable)`` may wrap the loop over the levels.
        """
        x = randn(*shape, dtype=self.dtype, device=self.device) * self.sigma_max if noise is None else noise
        frames = {}
        levels = range(self.levels)
        for i in (progress(levels) if progress else levels):
            alpha = step_ratio * self.sigma_values[i] ** 2
            for _ in range(steps):
                x = x + self.score(model, x, i) * (alpha / 2.0) + randn_like(x) * math.sqrt(alpha)
            if i in keep:
                frames[i] = x
        if denoise:
            x = self.denoise(model, x)
        if self.clip is not None:
            x = x.clamp(*self.clip)
        return (x, frames) if keep else x
