"""2-D toy distributions: small enough to see whole, the standard test bed for generative models.

Each one is a sampler object: ``ring8(n, seed)`` gives an (n, 2) float32 NumPy array,
``ring8.sample(n, seed, device)`` the same as a Tensor. ``seed`` is an int, a NumPy Generator,
or None (tinygen's CPU generator, so ``tg.manual_seed`` makes it reproducible). Where the
distribution has them, ``modes`` (K, 2), ``std`` and ``density(points)`` are there for metrics:

    ring8      8 Gaussians at (cos 2pi k/8, sin 2pi k/8), std 0.01   } the GAN mode-collapse
    grid25     25 Gaussians on {-4, -2, 0, 2, 4}^2, std 0.05         } protocol
    checkerboard  uniform on the 8 dark squares of a 4x4 board on [-4, 4]^2 (density known)
    moons, swissroll, spiral   curves with Gaussian noise (no modes, no closed-form density)
"""

import math

from .. import backend
from ..tensor import Tensor


def _np():
    return backend.xp_for("cpu")  # toy data is drawn on the host, then moved as a batch


def _rng(seed):
    if seed is None:
        return backend.generator("cpu")
    if hasattr(seed, "standard_normal"):  # already a Generator
        return seed
    return backend.host_rng(seed)


def _points(points):
    points = points.detach().numpy() if isinstance(points, Tensor) else backend.to_host(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"toy2d: expected points of shape (N, 2), got {points.shape}")
    return points.astype("float64")  # densities of a std-0.01 Gaussian underflow float32


class Toy2D:
    """A 2-D distribution to draw from; subclasses define ``_draw(rng, n)`` (float64 (n, 2)).

    ``dist(n, seed)`` -> (n, 2) float32 NumPy array; ``dist.sample(n, seed, device)`` -> Tensor.
    """

    name = "toy2d"
    modes = None
    std = None

    def __call__(self, n, seed=None):
        return self._draw(_rng(seed), int(n)).astype(backend.float32)

    def sample(self, n, seed=None, device=None):
        """n fresh samples as a float32 Tensor on ``device``."""
        return Tensor(self(n, seed), device=device)

    def log_density(self, points):
        """log p at each of the (N, 2) points (array or Tensor): float64 NumPy (N,), -inf off the support."""
        raise NotImplementedError(f"{self.name}: has no closed-form density")

    def density(self, points):
        """The probability density at each of the (N, 2) points, a float64 NumPy array."""
        return _np().exp(self.log_density(points))

    def __repr__(self):
        return f"<toy2d {self.name}>"


class GaussianMixture2D(Toy2D):
    """Equal-weight mixture of isotropic Gaussians N(mode_k, std^2 I)."""

    def __init__(self, name, modes, std):
        self.name = name
        self.modes = _np().asarray(modes, dtype=backend.float32)
        self.std = float(std)

    def _draw(self, rng, n):
        k = rng.integers(0, len(self.modes), n)
        return self.modes[k].astype("float64") + self.std * rng.standard_normal((n, 2))

    def log_density(self, points):
        # log p(x) = logsumexp_k( -|x - mu_k|^2 / (2 s^2) ) - log(K) - log(2 pi s^2)
        np = _np()
        d2 = self.squared_distances(points)
        z = -d2 / (2 * self.std**2)
        top = z.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
        return lse - math.log(len(self.modes)) - math.log(2 * math.pi * self.std**2)

    def squared_distances(self, points):
        """(N, K) squared distances from each point to each mode centre."""
        diff = _points(points)[:, None, :] - self.modes[None, :, :].astype("float64")
        return (diff**2).sum(axis=2)

    def nearest_mode(self, points):
        """(index of the nearest mode, distance to it) for each point: the basis of mode coverage."""
        np = _np()
        d2 = self.squared_distances(points)
        index = d2.argmin(axis=1)
        return index, np.sqrt(d2[np.arange(len(index)), index])


def _ring8_modes():
    np = _np()
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid25_modes():
    np = _np()
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


class Checkerboard(Toy2D):
    """Uniform on the 8 dark squares (side 2) of a 4x4 board covering [-4, 4]^2."""

    name = "checkerboard"

    def _draw(self, rng, n):
        np = _np()
        x = rng.uniform(-4, 4, n)
        column = np.floor(x / 2)  # -2, -1, 0, 1
        row = 2 * rng.integers(0, 2, n) + (column % 2)  # rows of the same colour in that column
        y = (row - 2 + rng.random(n)) * 2
        return np.stack([x, y], axis=1)

    def log_density(self, points):
        np = _np()
        p = _points(points)
        inside = (np.abs(p) < 4).all(axis=1)
        dark = (np.floor(p[:, 0] / 2) + np.floor(p[:, 1] / 2)) % 2 == 0
        # 8 squares of area 4: density 1/32 on them, 0 elsewhere (log 0 = -inf, without a warning)
        return np.where(inside & dark, -math.log(32.0), -np.inf)


class Moons(Toy2D):
    """Two interleaving half circles (scikit-learn's make_moons), centred at the origin."""

    name = "moons"

    def __init__(self, noise=0.05):
        self.noise = noise

    def _draw(self, rng, n):
        np = _np()
        t = rng.uniform(0, np.pi, n)
        upper = rng.random(n) < 0.5
        x = np.where(upper, np.cos(t), 1 - np.cos(t)) - 0.5
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t)) - 0.25
        return np.stack([x, y], axis=1) + self.noise * rng.standard_normal((n, 2))


class SwissRoll(Toy2D):
    """The 2-D swiss roll of FFJORD: (t cos t, t sin t) / 5 for t in [1.5 pi, 4.5 pi]."""

    name = "swissroll"

    def __init__(self, noise=0.2):
        self.noise = noise

    def _draw(self, rng, n):
        np = _np()
        t = 1.5 * np.pi * (1 + 2 * rng.random(n))
        curve = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 5
        return curve + self.noise * rng.standard_normal((n, 2))


class Spiral(Toy2D):
    """Two interleaved spiral arms, each 1.5 turns (FFJORD's 2spirals with Gaussian noise)."""

    name = "spiral"

    def __init__(self, noise=0.1):
        self.noise = noise

    def _draw(self, rng, n):
        np = _np()
        t = np.sqrt(rng.random(n)) * 3 * np.pi  # sqrt: even density along the arm's length
        arm = np.stack([-np.cos(t) * t, np.sin(t) * t], axis=1) / 3
        sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]  # the second arm is the first turned by pi
        return sign * arm + self.noise * rng.standard_normal((n, 2))


ring8 = GaussianMixture2D("ring8", _ring8_modes(), std=0.01)
grid25 = GaussianMixture2D("grid25", _grid25_modes(), std=0.05)
checkerboard = Checkerboard()
moons = Moons()
swissroll = SwissRoll()
spiral = Spiral()

TOY2D = {d.name: d for d in (ring8, grid25, moons, swissroll, checkerboard, spiral)}


def get_toy2d(name):
    """The sampler called ``name`` (one of TOY2D's keys)."""
    if name not in TOY2D:
        raise ValueError(f"get_toy2d: unknown distribution {name!r}; expected one of {sorted(TOY2D)}")
    return TOY2D[name]
