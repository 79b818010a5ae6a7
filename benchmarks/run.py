"""tinygen against PyTorch (CPU) on whole training steps: the issue-7 benchmark.

    python benchmarks/run.py                      # every workload, 7 rounds x 3 reps, at 1 thread and all cores
    python benchmarks/run.py --threads 1          # one thread only
    python benchmarks/run.py --only 1,3           # the VAE and the DDPM UNet only
    python benchmarks/run.py --quick              # 1 round x 1 rep, memory over 3 steps: a smoke run
    python benchmarks/run.py --json runs/bench.json
    python benchmarks/run.py --kernels reading    # tinygen's reading path only: what the fast tier buys
    python benchmarks/run.py --split-cores        # tinygen shares its work out over threads of its own

Workloads, float32, the same inputs and the same initial weights in both frameworks (the PyTorch
twin of each model gets tinygen's weights copied in, after checking every shape):

    1  VAE training step: MLP 784-400-(20+20), decoder 20-400-784, Bernoulli logits, Adam, batch 128
    2  DCGAN iteration, 28x28x1, batch 64: one D step on real + fake, one G step, Adam
    3  the DDPM UNet training step of `demos/ddpm.py --dataset mnist` (p_losses + Adam), batch 64
    4  WGAN-GP discriminator step on the DCGAN D: gradient penalty with create_graph, Adam
    5  per-op overhead: 1,000 small elementwise ops on a (4,) tensor, forward + backward
    6  peak resident memory over 50 steps of workloads 1 and 3, each in a fresh process

Each framework runs in its own worker process (benchmarks/_timing.py says why), with the same
number of BLAS/OpenMP threads; the parent alternates A B A B, and reports the median time of each
and the median of the per-round ratios tinygen / PyTorch (< 1: tinygen is faster).

Threads: both frameworks always get the same count. The default, --threads 1,all, measures every
workload twice, at one thread and at all the machine's cores, and ends with a table of both
columns and each framework's speed-up from 1 to all (a user runs with the defaults, on all cores).
On a busy shared machine the all-cores column fights the other jobs: read it on an idle one, or
give --threads 1. With --split-cores, tinygen's worker at more than one thread calls
tinygen.fast.split_over_cores (BLAS at one thread, the fast kernels split over its own threads);
PyTorch's is unchanged.
"""

import argparse
import datetime
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys

import _timing  # benchmarks/_timing.py: `python benchmarks/x.py` puts benchmarks/ on the path

# number: (name, unit, target ratio tinygen / PyTorch)
WORKLOADS = {
    1: ("vae", "ms", 1.0),
    2: ("dcgan", "ms", 1.5),
    3: ("ddpm-unet", "ms", 2.0),
    4: ("wgan-gp", "ms", 2.5),
    5: ("per-op", "us/op", 3.0),
}
MEMORY_WORKLOADS = (1, 3)  # workload 6 measures these
MEMORY_TARGET = 1.0
CHAIN_OPS = 1000
MATMUL_N = 1024
VAE_BATCH, VAE_SIZES = 128, ((784, 400), (400, 40), (20, 400), (400, 784))  # (in, out) of each Linear
GAN_BATCH, LATENT = 64, 100
DDPM_BATCH, NUM_CLASSES, TIMESTEPS = 64, 10, 1000


def vae_flops():
    """Multiply-adds x 2 of the step's matrix products: forward, and twice that in backward."""
    return 3 * 2 * VAE_BATCH * sum(a * b for a, b in VAE_SIZES)


def make_arrays(name):
    """The same float32 inputs for both frameworks (NumPy, fixed seed)."""
    import numpy as np

    rng = np.random.default_rng(0)
    images = lambda n, lo: rng.uniform(lo, 1.0, (n, 1, 28, 28)).astype(np.float32)  # noqa: E731
    if name == "vae":
        return {"x": images(VAE_BATCH, 0.0)}                                   # pixels in [0, 1]
    if name in ("dcgan", "wgan-gp"):
        return {"real": images(GAN_BATCH, -1.0), "fake": images(GAN_BATCH, -1.0)}  # tanh range
    if name == "ddpm-unet":
        return {"x0": images(DDPM_BATCH, -1.0), "y": rng.integers(0, NUM_CLASSES, DDPM_BATCH)}
    if name == "per-op":
        return {"x": rng.uniform(0.5, 1.0, 4).astype(np.float32)}
    raise ValueError(f"make_arrays: unknown workload {name!r}")


# ================================================================ tinygen
def tg_models(name, seed=0):
    """The tinygen model(s) of a workload, built as the demos and the issue describe them."""
    import tinygen as tg
    from tinygen import nn

    tg.manual_seed(seed)
    if name == "vae":
        from tinygen.models.vae import VAE

        return {"model": VAE.mlp((1, 28, 28), latent_dim=20, hidden=(400,))}
    if name in ("dcgan", "wgan-gp"):
        D = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),      # (B, 64, 14, 14)
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.2),    # (B, 128, 7, 7)
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1),                          # (B, 1)
        )
        if name == "wgan-gp":
            return {"D": D}
        G = nn.Sequential(
            nn.Linear(LATENT, 128 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),  # (B, 128, 7, 7)
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(),           # (B, 64, 14, 14)
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),             # (B, 1, 28, 28)
        )
        return {"D": D, "G": G}
    if name == "ddpm-unet":
        from tinygen.models.unet import UNet

        # what demos/ddpm.py's model_config gives for 28x28 images
        return {"model": UNet(28, channels=32, channel_mults=(1, 2, 2), num_classes=NUM_CLASSES)}
    raise ValueError(f"tg_models: unknown workload {name!r}")


def tg_loss(name, models, arrays, eps=None):
    """One forward loss of a workload (``eps``: fixed noise, for comparing with the twin)."""
    import tinygen as tg
    from tinygen.models.gan.losses import discriminator_loss, generator_loss, gradient_penalty

    if name == "vae":
        return models["model"].neg_elbo(arrays["x"]).loss
    if name == "wgan-gp":
        D, real, fake = models["D"], arrays["real"], arrays["fake"]
        return discriminator_loss("wgan-gp", D(real), D(fake)) + gradient_penalty(D, real, fake, eps) * 10.0
    if name == "dcgan":
        D, G = models["D"], models["G"]
        z = tg.randn(GAN_BATCH, LATENT) if eps is None else eps
        fake = G(z)  # G's loss D(fake) is taken after D's step, as the pytorch/examples DCGAN does
        return discriminator_loss("nonsaturating", D(arrays["real"]), D(fake.detach())), fake
    raise ValueError(f"tg_loss: unknown workload {name!r}")


def make_tinygen_case(name):
    """A function running one step of the workload in tinygen."""
    import tinygen as tg
    from tinygen import optim
    from tinygen.models.gan.losses import generator_loss

    if name == "matmul":  # NumPy's own rate: the ceiling of every dense workload here
        import numpy as np

        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32) for _ in range(2))
        return lambda: a @ b
    arrays = {k: tg.tensor(v) for k, v in make_arrays(name).items()}
    if name == "per-op":
        x = arrays["x"].requires_grad_()

        def run():
            x.grad = None
            y = x
            for _ in range(CHAIN_OPS // 4):
                y = (y * 0.9 + 0.1).tanh() * x
            y.sum().backward()

        return run
    models = tg_models(name)
    if name == "vae":
        model = models["model"]
        opt = optim.Adam(model.parameters(), lr=1e-3)
        return lambda: _tg_step(opt, tg_loss(name, models, arrays))
    if name == "dcgan":
        opt_d = optim.Adam(models["D"].parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_g = optim.Adam(models["G"].parameters(), lr=2e-4, betas=(0.5, 0.999))

        def run():  # the order of pytorch/examples' DCGAN: D on real and G(z).detach(), then G
            d_loss, fake = tg_loss(name, models, arrays)
            _tg_step(opt_d, d_loss)
            _tg_step(opt_g, generator_loss("nonsaturating", models["D"](fake)))

        return run
    if name == "wgan-gp":
        opt = optim.Adam(models["D"].parameters(), lr=1e-4, betas=(0.5, 0.9))
        return lambda: _tg_step(opt, tg_loss(name, models, arrays))
    if name == "ddpm-unet":
        from tinygen.models.ddpm import GaussianDiffusion

        model = models["model"]
        diffusion = GaussianDiffusion(TIMESTEPS, "linear", clip=(-1.0, 1.0))
        opt = optim.Adam(model.parameters(), lr=2e-4)
        x0, y = arrays["x0"], tg.tensor(make_arrays(name)["y"], dtype=tg.int64)
        return lambda: _tg_step(opt, diffusion.p_losses(model, x0, y, p_uncond=0.1, num_classes=NUM_CLASSES))
    raise ValueError(f"make_tinygen_case: unknown workload {name!r}")


def _tg_step(opt, loss):
    opt.zero_grad()
    loss.backward()
    opt.step()


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


# ================================================================ the PyTorch twins
def torch_models(name, seed=0):
    """The PyTorch twin of each tinygen model, with tinygen's initial weights copied in."""
    import torch
    from torch import nn

    if name == "vae":
        twin = TorchVAE()
    elif name in ("dcgan", "wgan-gp"):
        twin = {"D": nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
        )}
        if name == "dcgan":
            twin["G"] = nn.Sequential(
                nn.Linear(LATENT, 128 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (128, 7, 7)),
                nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(),
                nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),
            )
    elif name == "ddpm-unet":
        twin = TorchUNet(28, channels=32, channel_mults=(1, 2, 2), num_classes=NUM_CLASSES)
    else:
        raise ValueError(f"torch_models: unknown workload {name!r}")
    twins = twin if isinstance(twin, dict) else {"model": twin}
    originals = tg_models(name, seed)
    for key, module in twins.items():
        copy_weights(originals[key], module, f"{name}.{key}")
    del originals
    torch.manual_seed(seed)
    return twins


def copy_weights(tg_module, torch_module, what):
    """Copy tinygen's parameters into the twin, in registration order; every shape must agree."""
    import torch

    ours, theirs = list(tg_module.parameters()), list(torch_module.parameters())
    if len(ours) != len(theirs):
        raise AssertionError(f"{what}: tinygen has {len(ours)} parameter tensors, the PyTorch twin {len(theirs)}")
    with torch.no_grad():
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if tuple(a.shape) != tuple(b.shape):
                raise AssertionError(f"{what}: parameter {i} is {tuple(a.shape)} in tinygen, {tuple(b.shape)} in PyTorch")
            b.copy_(torch.from_numpy(a.detach().numpy().copy()))
    count = sum(p.numel() for p in theirs)
    if count != parameter_count(tg_module):
        raise AssertionError(f"{what}: {parameter_count(tg_module)} parameters in tinygen, {count} in PyTorch")
    print(f"  {what}: {count:,} parameters in both", file=sys.stderr)


def _torch_classes():
    """The twin modules, defined only where torch is importable."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class VAE(nn.Module):
        """tinygen's VAE.mlp((1, 28, 28), 20, (400,)) with the loss a PyTorch user would write."""

        def __init__(self, latent=20):
            super().__init__()
            self.latent = latent
            self.encoder = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 2 * latent))
            self.decoder = nn.Sequential(nn.Linear(latent, 400), nn.ReLU(), nn.Linear(400, 784))

        def loss(self, x, eps=None):
            h = self.encoder(x.flatten(1))
            mu, logvar = h[:, : self.latent], h[:, self.latent :]
            eps = torch.randn_like(mu) if eps is None else eps
            z = mu + torch.exp(0.5 * logvar) * eps
            logits = self.decoder(z).reshape(x.shape)
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            kl = 0.5 * (mu * mu + logvar.exp() - logvar - 1.0).sum(1).mean()
            return recon + kl

    def timestep_embedding(t, dim, max_period=10000.0):
        half = dim // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (-math.log(max_period) / half))
        args = t.float()[:, None] * freqs[None, :]
        return torch.cat([torch.sin(args), torch.cos(args)], dim=1)

    class ResBlock(nn.Module):
        """tinygen.models.unet.ResBlock, layer for layer (the same registration order)."""

        def __init__(self, cin, cout, emb_dim, groups=8):
            super().__init__()
            self.norm1 = nn.GroupNorm(min(groups, cin), cin)
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
            self.time = nn.Linear(emb_dim, cout)
            self.norm2 = nn.GroupNorm(min(groups, cout), cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x, emb):
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.time(F.silu(emb))[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return self.skip(x) + h

    class UNet(nn.Module):
        """tinygen.models.unet.UNet, layer for layer."""

        def __init__(self, image_size=28, in_channels=1, channels=32, channel_mults=(1, 2, 2), groups=8,
                     num_classes=None):
            super().__init__()
            levels, widths, emb_dim = len(channel_mults), [channels * m for m in channel_mults], 4 * channels
            self.channels = channels
            self.time_mlp = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
            self.label = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
            self.conv_in = nn.Conv2d(in_channels, channels, 3, padding=1)
            self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
            previous = channels
            for i, w in enumerate(widths):
                self.down.append(ResBlock(previous, w, emb_dim, groups))
                if i < levels - 1:
                    self.downsample.append(nn.Conv2d(w, w, 3, stride=2, padding=1))
                previous = w
            self.middle = ResBlock(previous, previous, emb_dim, groups)
            self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
            for i in reversed(range(levels)):
                self.up.append(ResBlock(previous + widths[i], widths[i], emb_dim, groups))
                if i > 0:
                    self.upsample.append(nn.Conv2d(widths[i], widths[i - 1], 3, padding=1))
                    previous = widths[i - 1]
            self.norm_out = nn.GroupNorm(min(groups, channels), channels)
            self.conv_out = nn.Conv2d(channels, in_channels, 3, padding=1)

        def forward(self, x, t, y=None):
            emb = self.time_mlp(timestep_embedding(t, self.channels))
            if y is not None:
                emb = emb + self.label(y)
            h = self.conv_in(x)
            skips = []
            for i, block in enumerate(self.down):
                h = block(h, emb)
                skips.append(h)
                if i < len(self.downsample):
                    h = self.downsample[i](h)
            h = self.middle(h, emb)
            for k, block in enumerate(self.up):
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
                if k < len(self.upsample):
                    h = self.upsample[k](F.interpolate(h, scale_factor=2, mode="nearest"))
            return self.conv_out(F.silu(self.norm_out(h)))

    return VAE, UNet


def TorchVAE(*args, **kwargs):
    return _torch_classes()[0](*args, **kwargs)


def TorchUNet(*args, **kwargs):
    return _torch_classes()[1](*args, **kwargs)


class TorchDiffusion:
    """The p_losses of tinygen.models.ddpm.GaussianDiffusion: the same linear schedule and label dropout."""

    def __init__(self, timesteps=TIMESTEPS):
        import numpy as np
        import torch

        from tinygen.models.ddpm import linear_beta_schedule

        abar = np.cumprod(1.0 - linear_beta_schedule(timesteps))  # float64, then stored as float32
        self.timesteps = timesteps
        self.sqrt_abar = torch.from_numpy(np.sqrt(abar).astype(np.float32))
        self.sqrt_one_minus_abar = torch.from_numpy(np.sqrt(1.0 - abar).astype(np.float32))

    def p_losses(self, model, x0, y, t=None, noise=None, p_uncond=0.1, num_classes=NUM_CLASSES):
        import torch
        import torch.nn.functional as F

        b = x0.shape[0]
        t = torch.randint(0, self.timesteps, (b,)) if t is None else t
        noise = torch.randn_like(x0) if noise is None else noise
        xt = self.sqrt_abar[t].view(b, 1, 1, 1) * x0 + self.sqrt_one_minus_abar[t].view(b, 1, 1, 1) * noise
        if p_uncond > 0.0:
            y = torch.where(torch.rand(b) < p_uncond, torch.full_like(y, num_classes), y)
        return F.mse_loss(model(xt, t, y), noise)


def torch_loss(name, models, arrays, eps=None):
    """The twin of :func:`tg_loss`."""
    import torch
    import torch.nn.functional as F

    if name == "vae":
        return models["model"].loss(arrays["x"], eps)
    if name == "wgan-gp":
        D, real, fake = models["D"], arrays["real"], arrays["fake"]
        eps = torch.rand(real.shape[0], 1, 1, 1) if eps is None else eps
        x_hat = (real * eps + fake * (1.0 - eps)).requires_grad_()
        (g,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        norm = ((g * g).flatten(1).sum(1) + 1e-12).sqrt()
        penalty = ((norm - 1.0) ** 2).mean()
        return D(fake).mean() - D(real).mean() + 10.0 * penalty
    if name == "dcgan":
        D, G = models["D"], models["G"]
        z = torch.randn(GAN_BATCH, LATENT) if eps is None else eps
        fake = G(z)
        return F.softplus(-D(arrays["real"])).mean() + F.softplus(D(fake.detach())).mean(), fake
    raise ValueError(f"torch_loss: unknown workload {name!r}")


def make_torch_case(name):
    """A function running one step of the workload in PyTorch (the twin of make_tinygen_case)."""
    import torch
    import torch.nn.functional as F

    arrays = {k: torch.from_numpy(v) for k, v in make_arrays(name).items()}
    if name == "per-op":
        x = arrays["x"].requires_grad_()

        def run():
            x.grad = None
            y = x
            for _ in range(CHAIN_OPS // 4):
                y = (y * 0.9 + 0.1).tanh() * x
            y.sum().backward()

        return run
    models = torch_models(name)
    adam = torch.optim.Adam
    if name == "vae":
        opt = adam(models["model"].parameters(), lr=1e-3)
        return lambda: _torch_step(opt, torch_loss(name, models, arrays))
    if name == "dcgan":
        opt_d = adam(models["D"].parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_g = adam(models["G"].parameters(), lr=2e-4, betas=(0.5, 0.999))

        def run():
            d_loss, fake = torch_loss(name, models, arrays)
            _torch_step(opt_d, d_loss)
            _torch_step(opt_g, F.softplus(-models["D"](fake)).mean())

        return run
    if name == "wgan-gp":
        opt = adam(models["D"].parameters(), lr=1e-4, betas=(0.5, 0.9))
        return lambda: _torch_step(opt, torch_loss(name, models, arrays))
    if name == "ddpm-unet":
        model, diffusion = models["model"], TorchDiffusion()
        opt = adam(model.parameters(), lr=2e-4)
        x0, y = arrays["x0"], arrays["y"].long()
        return lambda: _torch_step(opt, diffusion.p_losses(model, x0, y))
    raise ValueError(f"make_torch_case: unknown workload {name!r}")


def _torch_step(opt, loss):
    opt.zero_grad()
    loss.backward()
    opt.step()


# ================================================================ worker processes
def rss_mb():
    """The resident set size now (Linux: /proc/self/status), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("rss_mb: no VmRSS line in /proc/self/status (not Linux?)")


def worker_setup(framework, threads):
    """Process settings shared by both frameworks' workers, so neither gets an advantage.

    With ``--kernels fast`` (tinygen's default tier) the workers opt in to the fast tier's malloc
    setting (tinygen/fast/memory.py); it is a property of the whole process, and it speeds
    PyTorch too, so both frameworks get it. With ``--kernels reading`` neither does.
    With ``--split-cores`` tinygen's worker, at more than one thread, splits its convolutions and
    large products over threads of its own, BLAS at one thread (tinygen/fast/parallel.py).
    """
    if os.environ.get("TINYGEN_FAST_KERNELS", "1") != "0":
        import tinygen

        tinygen.fast.keep_freed_memory()
        if framework == "tinygen" and threads > 1 and os.environ.get("TINYGEN_BENCH_SPLIT_CORES") == "1":
            tinygen.fast.split_over_cores(threads)


def memory_worker(framework, name, steps, threads):
    """Run ``steps`` steps in this fresh process; print the RSS after set-up and the peak, in MiB."""
    worker_setup(framework, threads)
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        run = make_torch_case(name)
    else:
        run = make_tinygen_case(name)
    gc.collect()
    baseline = rss_mb()  # after the imports, the models, the optimizer and the inputs
    for _ in range(steps):
        run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "increase_mb": peak - baseline}))


def measure_memory(framework, name, steps, threads):
    script = os.path.abspath(__file__)
    out = subprocess.run(
        [sys.executable, script, "--memory-of", name, "--worker", framework, "--steps", str(steps),
         "--threads", str(threads)],
        stdout=subprocess.PIPE, text=True, env=_timing.thread_env(threads), check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ================================================================ the parent
def machine_info():
    import numpy

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": numpy.__version__,
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "load_average": os.getloadavg()}
    if _timing.torch_available():
        from importlib.metadata import version

        info["torch"] = version("torch")
    return info


def parse_only(text):
    if not text:
        return [1, 2, 3, 4, 5, 6]
    chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    bad = [n for n in chosen if n not in (1, 2, 3, 4, 5, 6)]
    if bad:
        raise SystemExit(f"run.py: --only takes workload numbers 1-6, got {bad}")
    return chosen


def row(number, label, ours, theirs, ratio, target, unit):
    met = "-" if ratio is None else ("yes" if ratio <= target else "NO")
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return (f"{number:>2} {label:24s} {fmt(ours):>10s} {fmt(theirs):>10s} {unit:>5s} "
            f"{fmt(ratio):>6s} {'<= ' + format(target, 'g'):>7s} {met:>4s}")


def thread_counts(text):
    """--threads: a comma-separated list of counts, 'all' meaning every core of this machine."""
    counts = []
    for part in text.split(","):
        part = part.strip()
        count = (os.cpu_count() or 1) if part == "all" else (int(part) if part.isdigit() else 0)
        if count < 1:
            raise argparse.ArgumentTypeError(f"thread counts are whole numbers >= 1 or 'all', got {part!r}")
        if count not in counts:
            counts.append(count)
    return counts


def measure(args, threads, chosen, with_torch):
    """Every chosen workload at ``threads`` threads per framework: prints its table, returns its figures."""
    report = {"workloads": {}, "memory": {}}
    script = os.path.abspath(__file__)
    workers = [_timing.Worker(script, "tinygen", threads)]
    if with_torch:
        workers.append(_timing.Worker(script, "torch", threads))
    split = ", split over its own threads" if args.split_cores and threads > 1 else ""
    print(f"\nfloat32, tinygen's {args.kernels} tier{split}, {threads} thread(s) each, {args.rounds} rounds x {args.reps} reps "
          f"after 2 warm-up steps; ratio = median over rounds of tinygen / PyTorch in the same round")
    header = (f"{'#':>2} {'workload':24s} {'tinygen':>10s} {'torch':>10s} {'unit':>5s} "
              f"{'ratio':>6s} {'target':>7s} {'met?':>4s}")
    try:
        for w in workers:  # PyTorch's worker takes seconds to import: it must not share the cores with the matmul
            w.wait_ready()
        matmul = workers[0].time("matmul", 5)
        best = min(matmul)
        report["matmul"] = {"n": MATMUL_N, "ms": best, "gflops": 2 * MATMUL_N**3 / best / 1e6}
        print(f"numpy float32 matmul {MATMUL_N}x{MATMUL_N}: {report['matmul']['gflops']:.1f} GFLOP/s "
              f"(best of 5, {'BLAS at one thread: split over cores' if split else f'{threads} thread(s)'})")
        print(header)
        print("-" * len(header))
        for number in chosen:
            if number not in WORKLOADS:
                continue
            name, unit, target = WORKLOADS[number]
            times = _timing.paired_rounds(workers, name, args.rounds, args.reps)
            scale = 1e3 / CHAIN_OPS if unit == "us/op" else 1.0  # ms per chain -> us per op
            entry = {"number": number, "unit": unit, "target": target,
                     "tinygen_rounds": [t * scale for t in times["tinygen"]]}
            entry["tinygen"] = statistics.median(entry["tinygen_rounds"])
            if with_torch:
                entry["torch_rounds"] = [t * scale for t in times["torch"]]
                entry["torch"] = statistics.median(entry["torch_rounds"])
                entry["ratio"] = statistics.median(a / b for a, b in zip(times["tinygen"], times["torch"]))
                entry["met"] = entry["ratio"] <= target
            report["workloads"][name] = entry
            print(row(number, name, entry["tinygen"], entry.get("torch"), entry.get("ratio"), target, unit))
    finally:
        for w in workers:
            w.close()

    if 6 in chosen:
        for number in [n for n in MEMORY_WORKLOADS if n in chosen] or list(MEMORY_WORKLOADS):
            name = WORKLOADS[number][0]
            entry = {"steps": args.memory_steps, "target": MEMORY_TARGET,
                     "tinygen": measure_memory("tinygen", name, args.memory_steps, threads)}
            if with_torch:
                entry["torch"] = measure_memory("torch", name, args.memory_steps, threads)
                entry["ratio"] = entry["tinygen"]["increase_mb"] / max(entry["torch"]["increase_mb"], 1e-9)
                entry["met"] = entry["ratio"] <= MEMORY_TARGET
            report["memory"][name] = entry
            theirs = entry.get("torch", {}).get("increase_mb")
            print(row(6, f"peak RSS +, {name}", entry["tinygen"]["increase_mb"], theirs, entry.get("ratio"),
                      MEMORY_TARGET, "MiB"))
        for name, entry in report["memory"].items():
            parts = [f"{fw} {entry[fw]['peak_mb']:.0f} MiB peak ({entry[fw]['baseline_mb']:.0f} after set-up)"
                     for fw in ("tinygen", "torch") if fw in entry]
            print(f"   {name}: {', '.join(parts)}")
        print(f"   memory: peak RSS over {args.memory_steps} steps in a fresh process, minus the RSS after imports, "
              "model and inputs; the ratio is taken on that increase, the fair figure (importing PyTorch alone "
              "costs a few hundred MiB)")

    if "vae" in report["workloads"]:
        entry = report["workloads"]["vae"]
        flops = vae_flops()
        report["vae_matmul"] = {"flops_per_step": flops, "tinygen_gflops": flops / entry["tinygen"] / 1e6,
                                "fraction_of_numpy_matmul": flops / entry["tinygen"] / 1e6 / report["matmul"]["gflops"]}
        if "torch" in entry:
            report["vae_matmul"]["torch_gflops"] = flops / entry["torch"] / 1e6
        print(f"VAE step: {flops / 1e6:.0f} MFLOP in matrix products (3 x forward) -> "
              f"{report['vae_matmul']['tinygen_gflops']:.1f} GFLOP/s in tinygen = "
              f"{100 * report['vae_matmul']['fraction_of_numpy_matmul']:.0f}% of numpy's matmul rate")
    return report


def both_columns(runs):
    """The closing table: each workload's ratio at every thread count, and each framework's speed-up
    from the fewest threads to the most (time at the fewest / time at the most)."""
    counts = sorted(runs)
    if len(counts) < 2:
        return {}
    low, high = counts[0], counts[-1]
    print(f"\nratios tinygen / PyTorch by threads per framework, and speed-up from {low} to {high} thread(s)")
    print(f"{'workload':24s} " + " ".join(f"{f'{t} thr':>8s}" for t in counts) + f" {'tinygen x':>10s} {'torch x':>8s}")
    scaling = {}
    for name in runs[low]["workloads"]:
        entries = [runs[t]["workloads"].get(name, {}) for t in counts]
        ratios = " ".join(f"{e['ratio']:8.2f}" if "ratio" in e else f"{'-':>8s}" for e in entries)
        first, last = entries[0], entries[-1]
        scaling[name] = {fw: first[fw] / last[fw] for fw in ("tinygen", "torch") if fw in first and fw in last}
        speed = " ".join(f"{scaling[name][fw]:{w}.2f}" if fw in scaling[name] else f"{'-':>{w}s}"
                         for fw, w in (("tinygen", 10), ("torch", 8)))
        print(f"{name:24s} {ratios} {speed}")
    return {"from": low, "to": high, "speedup": scaling}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="A B rounds per workload (after 2 warm-up steps)")
    parser.add_argument("--reps", type=int, default=3, help="steps timed per round (their median is the round's)")
    parser.add_argument("--threads", type=thread_counts, default="1,all",
                        help="BLAS/OpenMP threads for both frameworks, a comma-separated list; 'all' is every core "
                             f"(here {os.cpu_count()}); default 1,all: both columns")
    parser.add_argument("--only", default="", help="comma-separated workload numbers, e.g. 1,3 (default: all)")
    parser.add_argument("--memory-steps", type=int, default=50, help="training steps for the peak-memory runs")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 rep, memory over 3 steps: a smoke run")
    parser.add_argument("--no-torch", action="store_true", help="time tinygen alone even if PyTorch is installed")
    parser.add_argument("--json", metavar="PATH", help="also write every figure, the config and the machine as JSON")
    parser.add_argument("--kernels", choices=["fast", "reading"], default="fast",
                        help="tinygen's tier: the fast kernels (the default) or the reading path alone")
    parser.add_argument("--split-cores", action="store_true",
                        help="tinygen splits its convolutions and large products over threads of its own, BLAS at "
                             "one thread (tinygen.fast.split_over_cores; more than one thread only)")
    parser.add_argument("--worker", choices=["tinygen", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=50, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:  # a worker process gets exactly one count
        if args.memory_of:
            return memory_worker(args.worker, args.memory_of, args.steps, args.threads[0])
        worker_setup(args.worker, args.threads[0])
        return _timing.serve_framework(args.worker, args.threads[0], make_tinygen_case, make_torch_case)
    os.environ["TINYGEN_FAST_KERNELS"] = "1" if args.kernels == "fast" else "0"  # the workers inherit it
    os.environ["TINYGEN_BENCH_SPLIT_CORES"] = "1" if args.split_cores else "0"
    if args.quick:
        args.rounds, args.reps, args.memory_steps = 1, 1, 3
    chosen = parse_only(args.only)
    with_torch = _timing.torch_available() and not args.no_torch
    report = {"config": {"kernels": args.kernels, "threads": args.threads, "rounds": args.rounds, "reps": args.reps,
                         "quick": args.quick, "split_cores": args.split_cores, "memory_steps": args.memory_steps, "workloads": chosen,
                         "torch": with_torch},
              "machine": machine_info(), "runs": {}}
    if not with_torch:
        print("note: PyTorch is not " + ("used (--no-torch)" if args.no_torch else "installed (pip install torch)")
              + "; timing tinygen alone, no ratios")
    for threads in args.threads:
        report["runs"][str(threads)] = measure(args, threads, chosen, with_torch)
    report["scaling"] = both_columns({int(t): run for t, run in report["runs"].items()})
    report["machine"]["load_average_end"] = os.getloadavg()
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
