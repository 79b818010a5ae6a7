"""Denoising diffusion (DDPM, Ho et al. 2020): demolish the data with noise, learn to rebuild it.

The forward process adds a little Gaussian noise at each of T steps,

    q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I),

and because Gaussians compose, any step is reachable from the data in closed form:

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),   abar_t = prod_{s<=t} (1 - beta_s).

A network eps(x_t, t) learns to predict the noise that was added (``p_losses``: a plain MSE).
Sampling runs the chain backwards (``p_sample_loop``), each step a small Gaussian VAE decoder:
predict x_0 from x_t, then draw x_{t-1} from the posterior q(x_{t-1} | x_t, x_0). DDIM
(``ddim_sample``) takes the same network along a deterministic path with far fewer steps.

The network is passed to every method, not owned by the diffusion: the same schedule serves the
training model and its EMA copy. It is called as ``model(x_t, t)`` or ``model(x_t, t, y)`` with
t an int64 tensor (B,) and y class labels, where label ``num_classes`` means "no label" (the
label dropped out, for classifier-free guidance).
"""

import math

from .. import backend
from ..grad_mode import no_grad
from ..creation import full, rand, randint, randn, randn_like
from ..ops.loss import mse_loss
from ..ops.shape import cat
from ..tensor import Tensor

_np = backend.xp_for("cpu")  # schedules are computed on the host in float64, then stored


# ---------------------------------------------------------------- beta schedules (float64)
def linear_beta_schedule(timesteps):
    """Ho et al.'s betas, linear from 1e-4 to 0.02 at T = 1000; rescaled by 1000 / T for other T,
    so the total noise added (sum of betas) stays about the same; clipped at 0.999 for T < 21."""
    scale = 1000.0 / timesteps
    return _np.minimum(_np.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype="float64"), 0.999)


def cosine_alphas_cumprod(timesteps, s=0.008):
    """Nichol & Dhariwal's abar_t = f(t) / f(0), f(t) = cos((t/T + s) / (1 + s) * pi/2)^2, t = 0..T."""
    t = _np.arange(timesteps + 1, dtype="float64")
    f = _np.cos((t / timesteps + s) / (1 + s) * math.pi / 2) ** 2
    return f / f[0]


def cosine_beta_schedule(timesteps, s=0.008):
    """beta_t = 1 - abar_t / abar_{t-1}, clipped at 0.999 so the last step is not pure noise-division."""
    abar = cosine_alphas_cumprod(timesteps, s)
    return _np.clip(1.0 - abar[1:] / abar[:-1], 0.0, 0.999)


SCHEDULES = {"linear": linear_beta_schedule, "cosine": cosine_beta_schedule}


# ---------------------------------------------------------------- the diffusion process
class GaussianDiffusion:
    """The fixed forward process and the sampling rules, for any epsilon-predicting network.

    The reverse-step variance (``variance=`` of the samplers) is ``"posterior"``, beta~_t (exact
    when the data is one point), or ``"beta"``, beta_t (exact for N(0, I) data); Ho et al. found
    both give similar samples. ``clip`` = (lo, hi) clamps each predicted x_0 to the data
    range (images in [-1, 1]); None leaves it free (2-D data).

    Build it once with the number of steps T and the beta schedule; it stores every
    coefficient of the process as a (T,) tensor in ``dtype`` on ``device`` (betas,
    alphas_cumprod, posterior_variance, ...), computed in float64 first. Training calls
    ``p_losses(model, x0)``; sampling calls ``p_sample_loop`` or ``ddim_sample``.
    """

    def __init__(self, timesteps=1000, schedule="linear", dtype="float32", device=None, clip=None):
        if schedule not in SCHEDULES:
            raise ValueError(f"GaussianDiffusion: unknown schedule {schedule!r}; expected one of {sorted(SCHEDULES)}")
        if timesteps < 2:
            raise ValueError(f"GaussianDiffusion: expected timesteps >= 2, got {timesteps}")
        self.timesteps, self.schedule, self.clip = int(timesteps), schedule, clip
        self.dtype, self.device = backend.dtype(dtype), backend.check_device(device)
        betas = SCHEDULES[schedule](self.timesteps)                       # (T,) float64
        alphas = 1.0 - betas
        abar = _np.cumprod(alphas)                                        # abar_t
        abar_prev = _np.append(1.0, abar[:-1])                            # abar_{t-1}, abar_{-1} = 1
        posterior_variance = betas * (1.0 - abar_prev) / (1.0 - abar)    # beta~_t; 0 at t = 0
        table = {
            "betas": betas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            "sqrt_alphas_cumprod": _np.sqrt(abar),
            "sqrt_one_minus_alphas_cumprod": _np.sqrt(1.0 - abar),
            "sqrt_recip_alphas_cumprod": _np.sqrt(1.0 / abar),            # x0 = x_t / sqrt(abar) - ...
            "sqrt_recipm1_alphas_cumprod": _np.sqrt(1.0 / abar - 1.0),    #      ... sqrt(1/abar - 1) eps
            "posterior_variance": posterior_variance,
            # mu~(x_t, x_0) = c0 x_0 + ct x_t
            "posterior_mean_coef0": betas * _np.sqrt(abar_prev) / (1.0 - abar),
            "posterior_mean_coeft": (1.0 - abar_prev) * _np.sqrt(alphas) / (1.0 - abar),
            # the "beta" variance, with beta~_1 at t = 0 as Ho et al.'s code (beta_0 would add a
            # last grain of noise the network cannot remove)
            "beta_variance": _np.append(posterior_variance[1], betas[1:]),
        }
        for name, values in table.items():  # stored once, in the working dtype, on the device
            setattr(self, name, Tensor(values.astype(self.dtype), device=self.device))

    # ------------------------------------------------------------ helpers
    def _at(self, coef, t, ndim):
        """coef[t] shaped to broadcast against a batch: t an int (a 0-d tensor) or (B,) int tensor."""
        if not isinstance(t, Tensor):
            return coef[int(t)]
        return coef[t.array].reshape((t.shape[0],) + (1,) * (ndim - 1))

    def _timesteps_like(self, x, t):
        return full((x.shape[0],), int(t), dtype=backend.int64, device=x.device)

    def _clip(self, x0):
        return x0 if self.clip is None else x0.clamp(*self.clip)

    # ------------------------------------------------------------ forward process and loss
    def q_sample(self, x0, t, noise=None):
        """x_t ~ q(x_t | x_0) in closed form: sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps."""
        noise = randn_like(x0) if noise is None else noise
        return self._at(self.sqrt_alphas_cumprod, t, x0.ndim) * x0 + self._at(self.sqrt_one_minus_alphas_cumprod, t, x0.ndim) * noise

    def q_posterior(self, x0, xt, t):
        """Mean and variance of q(x_{t-1} | x_t, x_0): the target each reverse step imitates."""
        mean = self._at(self.posterior_mean_coef0, t, xt.ndim) * x0 + self._at(self.posterior_mean_coeft, t, xt.ndim) * xt
        return mean, self._at(self.posterior_variance, t, xt.ndim)

    def predict_x0(self, xt, t, eps):
        """Invert q_sample for x_0 given the noise: x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
        return self._at(self.sqrt_recip_alphas_cumprod, t, xt.ndim) * xt - self._at(self.sqrt_recipm1_alphas_cumprod, t, xt.ndim) * eps

    def p_losses(self, model, x0, y=None, t=None, noise=None, p_uncond=0.0, num_classes=None):
        """The simple objective: || eps - model(x_t, t) ||^2 averaged, with t uniform on 0..T-1.

        For a class-conditional model, each label is replaced by the null label ``num_classes``
        with probability ``p_uncond`` (label dropout): the same network then also learns the
        unconditional score that classifier-free guidance needs.
        """
        B = x0.shape[0]
        t = randint(0, self.timesteps, (B,), device=x0.device) if t is None else t
        noise = randn_like(x0) if noise is None else noise
        xt = self.q_sample(x0, t, noise)
        if y is None:
            return mse_loss(model(xt, t), noise)
        if p_uncond > 0.0:
            if num_classes is None:
                raise ValueError("p_losses: label dropout (p_uncond > 0) needs num_classes, the index of the null label")
            dropped = rand(B, device=x0.device) < p_uncond
            y = Tensor.wrap(backend.array_module(y.array).where(dropped.array, num_classes, y.array))
        return mse_loss(model(xt, t, y), noise)

    # ------------------------------------------------------------ reverse process
    def predict_eps(self, model, xt, t, y=None, guidance=1.0, num_classes=None):
        """The network's noise estimate; with labels and guidance != 1, classifier-free guidance:

            eps = eps(x, null) + guidance * (eps(x, y) - eps(x, null))

        guidance = 1 is the plain conditional model, 0 the unconditional one, > 1 sharper classes.
        """
        tt = t if isinstance(t, Tensor) else self._timesteps_like(xt, t)
        if y is None:
            return model(xt, tt)
        if guidance == 1.0:
            return model(xt, tt, y)
        if num_classes is None:
            raise ValueError("predict_eps: guidance needs num_classes, the index of the null label")
        null = full(y.shape, num_classes, dtype=backend.int64, device=y.device)
        both = model(cat([xt, xt]), cat([tt, tt]), cat([y, null]))  # one batch of 2B: both passes at once
        cond, uncond = both[: xt.shape[0]], both[xt.shape[0] :]
        return uncond + (cond - uncond) * guidance

    def p_mean_variance(self, model, xt, t, y=None, guidance=1.0, num_classes=None, variance="posterior"):
        """Mean and variance of p(x_{t-1} | x_t), and the predicted x_0 (shown by the denoising strip)."""
        eps = self.predict_eps(model, xt, t, y, guidance, num_classes)
        x0 = self._clip(self.predict_x0(xt, t, eps))
        mean, posterior_var = self.q_posterior(x0, xt, t)
        if variance == "posterior":
            return mean, posterior_var, x0
        if variance == "beta":
            return mean, self._at(self.beta_variance, t, xt.ndim), x0
        raise ValueError(f"p_sample: unknown variance {variance!r}; expected 'posterior' (beta~_t) or 'beta' (beta_t)")

    @no_grad()
    def p_sample(self, model, xt, t, y=None, guidance=1.0, num_classes=None, variance="posterior"):
        """One ancestral step x_t -> x_{t-1} ~ N(mean, var) at the integer step t (no noise at t = 0)."""
        mean, var, _ = self.p_mean_variance(model, xt, t, y, guidance, num_classes, variance)
        if t == 0:
            return mean
        return mean + var.sqrt() * randn_like(xt)

    @no_grad()
    def p_sample_loop(self, model, shape, y=None, guidance=1.0, num_classes=None, variance="posterior",
                      noise=None, keep=(), progress=None):
        """Draw samples by running all T reverse steps from x_{T-1} ~ N(0, I) down to data.

        ``keep``: noise levels t whose state x_t (the input of step t; q_sample(x0, t) is the
        same level) to return too, as ``(samples, {t: x_t})``; ``progress(iterable)`` may wrap
        the loop in a bar.
        """
        x = randn(*shape, dtype=self.dtype, device=self.device) if noise is None else noise
        frames = {}
        steps = range(self.timesteps - 1, -1, -1)
        for t in (progress(steps) if progress else steps):
            if t in keep:
                frames[t] = x
            x = self.p_sample(model, x, t, y, guidance, num_classes, variance)
        return (x, frames) if keep else x

    def ddim_timesteps(self, steps):
        """``steps`` timesteps evenly spread over 0..T-1, from T-1 down to 0."""
        if not 1 <= steps <= self.timesteps:
            raise ValueError(f"ddim_sample: expected 1 <= steps <= {self.timesteps}, got {steps}")
        return [int(round(v)) for v in _np.linspace(self.timesteps - 1, 0, steps)]

    @no_grad()
    def ddim_sample(self, model, shape, steps=50, eta=0.0, y=None, guidance=1.0, num_classes=None,
                    noise=None, keep=(), progress=None):
        """DDIM (Song et al. 2021): jump from t to s < t along the predicted x_0 and eps,

            x_s = sqrt(abar_s) x0_hat + sqrt(1 - abar_s - sigma^2) eps_hat + sigma z,
            sigma = eta sqrt((1 - abar_s) / (1 - abar_t)) sqrt(1 - abar_t / abar_s).

        eta = 0 is deterministic: the same start gives the same sample. ``keep`` as in
        p_sample_loop (only levels among the DDIM timesteps are seen).
        """
        if not 0.0 <= eta <= 1.0:  # sigma^2 grows with eta^2 and must stay below 1 - abar_s
            raise ValueError(f"ddim_sample: expected 0 <= eta <= 1, got {eta}")
        x = randn(*shape, dtype=self.dtype, device=self.device) if noise is None else noise
        ts = self.ddim_timesteps(steps)
        frames = {}
        pairs = list(zip(ts, ts[1:] + [-1]))  # jump t -> s; s = -1: to the data
        for t, s in (progress(pairs) if progress else pairs):
            if t in keep:
                frames[t] = x
            eps = self.predict_eps(model, x, t, y, guidance, num_classes)
            x0 = self._clip(self.predict_x0(x, t, eps))
            if s < 0:  # the last jump lands on the predicted data itself
                x = x0
                continue
            if self.clip is not None:  # keep eps consistent with the clipped x_0
                eps = (x - self.sqrt_alphas_cumprod[t] * x0) / self.sqrt_one_minus_alphas_cumprod[t]
            abar_t, abar_s = self.alphas_cumprod[t], self.alphas_cumprod[s]
            sigma2 = (1.0 - abar_s) / (1.0 - abar_t) * (1.0 - abar_t / abar_s) * (eta * eta)
            x = abar_s.sqrt() * x0 + (1.0 - abar_s - sigma2).sqrt() * eps
            if eta > 0.0:
                x = x + sigma2.sqrt() * randn_like(x)
        return (x, frames) if keep else x


# ---------------------------------------------------------------- time embedding
def timestep_embedding(t, dim, dtype="float32", max_period=10000.0):
    """Sinusoidal embedding of integer timesteps (B,) -> (B, dim), as in the Transformer:

        emb[:, i] = sin(t * w_i), emb[:, dim/2 + i] = cos(t * w_i),  w_i = max_period^(-i / (dim/2)).

    Nothing upstream needs a gradient (t is an integer), so it is computed on the arrays.
    """
    if dim % 2:
        raise ValueError(f"timestep_embedding: expected an even dim, got {dim}")
    xp = backend.array_module(t.array)
    half = dim // 2
    freqs = xp.exp(xp.arange(half, dtype=dtype) * (-math.log(max_period) / half))  # (half,)
    args = t.array.astype(dtype)[:, None] * freqs[None, :]                         # (B, half)
    return Tensor.wrap(xp.concatenate([xp.sin(args), xp.cos(args)], axis=1))  # (B, dim)

