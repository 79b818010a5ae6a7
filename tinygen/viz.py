"""PNG figures for generative models: image grids, 2-D scatter and density plots, loss curves,
and strips of frames (a trajectory shown side by side instead of as an animation).

Every function takes arrays or Tensors, writes one PNG and returns its path. Matplotlib is imported
inside the functions (``import tinygen`` stays light), and figures are drawn on a bare
``matplotlib.figure.Figure`` rendered by Agg: no window, no display needed, and no change to the
pyplot backend of whoever calls us (a notebook keeps its own).
"""

import math
import os

from . import backend
from .tensor import Tensor


def _host(x):
    """A NumPy array from an array, a list or a Tensor (detached: a picture needs no gradient)."""
    return backend.to_host(x.array if isinstance(x, Tensor) else x)


def _figure(width, height):
    from matplotlib.figure import Figure  # lazily: matplotlib costs ~0.3 s to import

    return Figure(figsize=(width, height), dpi=100)


def _save(fig, path):
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, format="png", bbox_inches="tight")  # a bare Figure renders with Agg
    return path


# ---------------------------------------------------------------- images
def make_grid(images, nrow=None, padding=2, pad_value=1.0, value_range=(0.0, 1.0)):
    """Tile (N, C, H, W) or (N, H, W) images into one (H', W') or (H', W', 3) array in [0, 1].

    ``nrow`` images per row (default: a square-ish grid); values are mapped from ``value_range``
    (use (-1, 1) for tanh outputs) and clipped.
    """
    np = backend.xp_for("cpu")
    x = _host(images).astype("float32")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"make_grid: expected images (N, 1 or 3, H, W) or (N, H, W), got shape {x.shape}")
    lo, hi = value_range
    x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    n, c, h, w = x.shape
    ncol = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / ncol))
    grid = np.full((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, dtype="float32")
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top : top + h, left : left + w] = x[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def save_image_grid(images, path, nrow=None, padding=2, value_range=(0.0, 1.0), min_size=256):
    """Save a grid of images as a PNG, pixel for pixel (each pixel repeated to reach ``min_size``)."""
    from matplotlib.image import imsave

    np = backend.xp_for("cpu")
    grid = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    scale = max(1, math.ceil(min_size / max(grid.shape[:2])))  # 8x8 digits would be a speck
    grid = np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    imsave(path, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return path


# ---------------------------------------------------------------- the plane
def _limits(ax, lim):
    if lim is not None:
        lo, hi = (-lim, lim) if isinstance(lim, (int, float)) else lim
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_aspect("equal")


def _scatter(ax, points, modes=None, reference=None, lim=None, title=None, size=2.0):
    if reference is not None:  # real data in grey behind the samples
        r = _host(reference)
        ax.scatter(r[:, 0], r[:, 1], s=size, c="0.75", linewidths=0, label="data")
    p = _host(points)
    ax.scatter(p[:, 0], p[:, 1], s=size, c="tab:blue", linewidths=0, label="samples")
    if modes is not None:
        m = _host(modes)
        ax.scatter(m[:, 0], m[:, 1], s=40, c="tab:red", marker="x", label="modes")
    _limits(ax, lim)
    if title:
        ax.set_title(title)


def scatter_2d(points, path, modes=None, reference=None, lim=None, title=None):
    """Scatter (N, 2) points; mode centres (K, 2) marked with red crosses, reference data in grey."""
    _check_points("scatter_2d", points)
    fig = _figure(5, 5)
    ax = fig.add_subplot()
    _scatter(ax, points, modes, reference, lim, title)
    if modes is not None or reference is not None:
        legend = ax.legend(loc="upper right", fontsize="small")
        handles = legend.legend_handles if hasattr(legend, "legend_handles") else legend.legendHandles  # 3.7 rename
        for handle in handles:
            handle.set_sizes([20.0])  # legend markers of one readable size, whatever the plot's
    return _save(fig, path)


def density_2d(density_or_points, path, lim=4.5, resolution=200, title=None, log=False):
    """A heatmap over the square [-lim, lim]^2 (or lim=(lo, hi)).

    Given a function (M, 2) points -> (M,) densities (e.g. ``ring8.density``) it is evaluated on a
    grid; given (N, 2) samples their 2-D histogram is shown. ``log=True`` shows log(1 + value).
    """
    np = backend.xp_for("cpu")
    lo, hi = (-lim, lim) if isinstance(lim, (int, float)) else lim
    edges = np.linspace(lo, hi, resolution + 1)
    if callable(density_or_points):
        centres = (edges[:-1] + edges[1:]) / 2
        xs, ys = np.meshgrid(centres, centres)
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype("float32")
        values = _host(density_or_points(grid)).reshape(resolution, resolution)  # rows: y
    else:
        p = _check_points("density_2d", density_or_points)
        hist, _, _ = np.histogram2d(p[:, 0], p[:, 1], bins=[edges, edges])
        values = hist.T  # histogram2d puts x on the first axis; imshow wants rows = y
    if log:
        values = np.log1p(values)
    fig = _figure(5, 5)
    ax = fig.add_subplot()
    ax.imshow(values, origin="lower", extent=(lo, hi, lo, hi), cmap="viridis", interpolation="nearest")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def _check_points(name, points):
    p = _host(points)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{name}: expected points of shape (N, 2), got {p.shape}")
    return p


# ---------------------------------------------------------------- curves
def _save_curves(fig, ax, path, xlabel, title):
    """The finish every line plot shares: axis label, legend, light grid, title, PNG."""
    ax.set_xlabel(xlabel)
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def loss_curves(curves, path, smooth=0, log_y=False, xlabel="step", title=None):
    """Plot named curves ({"loss": [...], "kl": [...]} or a single list); ``smooth``: moving-average window."""
    np = backend.xp_for("cpu")
    if not isinstance(curves, dict):
        curves = {"loss": curves}
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    for name, values in curves.items():
        y = np.asarray([float(v) for v in values], dtype="float64")
        x = np.arange(len(y))
        if smooth and smooth > 1 and len(y) >= smooth:
            ax.plot(x, y, alpha=0.25)  # the raw curve, faint, under its moving average
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            x = x[smooth - 1 :]
        ax.plot(x, y, label=name)
    if log_y:
        ax.set_yscale("log")
    return _save_curves(fig, ax, path, xlabel, title)


# ---------------------------------------------------------------- strips of frames
def frame_strip(frames, path, titles=None, lim=None, modes=None, value_range=(0.0, 1.0)):
    """Frames side by side: (N, 2) point sets as scatter plots, (H, W) images, or image batches as grids.

    For trajectories: the samples of a diffusion model at t = T..0, or a GAN's output over training.
    """
    frames = [_host(f) for f in frames]
    if not frames:
        raise ValueError("frame_strip: expected at least one frame, got none")
    if titles is not None and len(titles) != len(frames):
        raise ValueError(f"frame_strip: {len(frames)} frames but {len(titles)} titles")
    fig = _figure(2.5 * len(frames), 2.7)
    for k, frame in enumerate(frames):
        ax = fig.add_subplot(1, len(frames), k + 1)
        title = titles[k] if titles is not None else None
        if frame.ndim == 2 and frame.shape[1] == 2:
            _scatter(ax, frame, modes=modes, lim=lim, title=title, size=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        else:
            single = frame.ndim == 2  # one (H, W) image, else a batch shown as a grid
            image = make_grid(frame[None] if single else frame, padding=0 if single else 2, value_range=value_range)
            ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_axis_off()
            if title:
                ax.set_title(title)
    return _save(fig, path)


# ---------------------------------------------------------------- latent spaces (VAE family)
def latent_scatter(panels, path, title=None, lim=None):
    """Side-by-side scatter plots of 2-D codes coloured by label: {"autoencoder": (codes (N, 2), labels (N,)), ...}."""
    fig = _figure(5 * len(panels), 5)
    for k, (name, (codes, labels)) in enumerate(panels.items()):
        ax = fig.add_subplot(1, len(panels), k + 1)
        c, y = _check_points("latent_scatter", codes), _host(labels)
        points = ax.scatter(c[:, 0], c[:, 1], c=y, cmap="tab10", vmin=-0.5, vmax=9.5, s=4, linewidths=0)
        if lim is not None:
            _limits(ax, lim)
        ax.set_title(name)
        fig.colorbar(points, ax=ax, ticks=range(10), fraction=0.046)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_functions(x, curves, path, xlabel="x", title=None, vline=None):
    """Curves y(x) on a shared x axis: {"name": values, ...}; ``vline`` marks one x (a minimum)."""
    fig = _figure(6, 4)
    ax = fig.add_subplot()
    xs = _host(x)
    for name, values in curves.items():
        ax.plot(xs, _host(values), label=name)
    if vline is not None:
        ax.axvline(vline, color="0.5", linestyle="--", linewidth=1)
    return _save_curves(fig, ax, path, xlabel, title)


def frame_rows(rows, path, row_titles=None, titles=None, lim=None, modes=None):
    """Several strips of (N, 2) point sets, one above the other: e.g. two GANs over training, side by side."""
    rows = [[_check_points("frame_rows", f) for f in row] for row in rows]
    if not rows or not rows[0]:
        raise ValueError("frame_rows: expected at least one row of frames")
    ncol = max(len(r) for r in rows)
    fig = _figure(2.5 * ncol, 2.6 * len(rows))
    for i, row in enumerate(rows):
        for k, frame in enumerate(row):
            ax = fig.add_subplot(len(rows), ncol, i * ncol + k + 1)
            title = titles[i][k] if titles is not None else None
            _scatter(ax, frame, modes=modes, lim=lim, title=title, size=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0 and row_titles is not None:
                ax.set_ylabel(row_titles[i])
    return _save(fig, path)


# ---------------------------------------------------------------- vector fields (score models)
def vector_fields(panels, path, lim=None, reference=None, titles=None):
    """Side-by-side arrow plots of 2-D vector fields, e.g. a learned score at several noise levels.

    ``panels``: a list of dicts with ``points`` (M, 2) and ``vectors`` (M, 2), and optionally
    ``paths`` (S, K, 2): K trajectories of S steps drawn as lines from a dot (start) to a cross
    (end). Arrows show direction only (unit length), coloured by log10 |vector|: a score's size
    spans orders of magnitude across noise levels. ``reference`` (N, 2) data in grey behind.
    """
    np = backend.xp_for("cpu")
    if titles is not None and len(titles) != len(panels):
        raise ValueError(f"vector_fields: {len(panels)} panels but {len(titles)} titles")
    fig = _figure(4.2 * len(panels), 4.4)
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        p, v = _check_points("vector_fields", panel["points"]), _check_points("vector_fields", panel["vectors"])
        if reference is not None:
            r = _check_points("vector_fields", reference)
            ax.scatter(r[:, 0], r[:, 1], s=1.0, c="0.7", linewidths=0)
        size = np.sqrt((v**2).sum(axis=1)) + 1e-12
        ax.quiver(p[:, 0], p[:, 1], v[:, 0] / size, v[:, 1] / size, np.log10(size), cmap="viridis",
                  angles="xy", pivot="mid", width=0.004)
        if panel.get("paths") is not None:
            tracks = _host(panel["paths"])  # (S, K, 2)
            for j in range(tracks.shape[1]):
                ax.plot(tracks[:, j, 0], tracks[:, j, 1], color="tab:red", linewidth=0.7, alpha=0.8)
            ax.scatter(tracks[0, :, 0], tracks[0, :, 1], s=8, c="tab:red")
            ax.scatter(tracks[-1, :, 0], tracks[-1, :, 1], s=18, c="black", marker="x")
        _limits(ax, lim)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[k])
    return _save(fig, path)
