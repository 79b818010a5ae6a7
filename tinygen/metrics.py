"""Honest quality numbers for generative models, each computed here from samples.

Every metric is printed next to its floor (the same number for two sets of real data), so
a reader can tell a good score from a lucky one.
"""

from . import backend
from .data.transforms import dynamic_binarize
from .grad_mode import no_grad
from .ops.shape import cat
from .tensor import Tensor

# ---------------------------------------------------------------- image metrics (classifier-based)
# A Frechet distance on the penultimate features of a small digit classifier (tinygen's own
# ConvClassifier; tinygen/models/classifier.py trains and caches it), in the spirit of FID: it
# compares the mean and covariance of two feature sets. It is only meaningful beside its floor,
# the distance between two sets of real images (test vs train), which finite samples keep above zero.


def _f64(features):
    """Features (array or Tensor) as float64 on their own device: the covariances need the digits."""
    return _array(features).astype(backend.float64)


def _array(x):
    """The array inside a Tensor, or x itself (a NumPy/CuPy array)."""
    return x.array if isinstance(x, Tensor) else x


def _covariance(x):
    centred = x - x.mean(axis=0, keepdims=True)
    return centred.T @ centred / max(len(x) - 1, 1)  # (D, D), unbiased like numpy.cov


def sqrtm_psd(matrix):
    """The symmetric square root of a symmetric PSD matrix: V diag(sqrt(w)) V^T from its eigenpairs.

    Rounding can leave tiny negative eigenvalues; they are set to 0 (a PSD matrix has none).
    """
    xp = backend.array_module(matrix)
    w, v = xp.linalg.eigh((matrix + matrix.T) * 0.5)
    return (v * xp.sqrt(xp.clip(w, 0.0, None))) @ v.T


def frechet_distance(features_a, features_b):
    """The Frechet distance between Gaussians fitted to two feature sets (N, D) and (M, D).

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2).
    tr((S_a S_b)^1/2) is computed as tr((S_a^1/2 S_b S_a^1/2)^1/2): the same eigenvalues, but of a
    symmetric PSD matrix, so eigh suffices (no general matrix square root, no scipy).
    """
    a, b = _f64(features_a), backend.same_device("frechet_distance", _array(features_a), _f64(features_b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: expected features (N, D) and (M, D), got {a.shape} and {b.shape}")
    xp = backend.array_module(a)
    cov_a, cov_b = _covariance(a), _covariance(b)
    root_a = sqrtm_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = xp.sqrt(xp.clip(xp.linalg.eigvalsh((middle + middle.T) * 0.5), 0.0, None)).sum()
    diff = a.mean(axis=0) - b.mean(axis=0)
    d2 = float((diff * diff).sum() + xp.trace(cov_a) + xp.trace(cov_b) - 2.0 * trace_root)
    return max(d2, 0.0)  # rounding can make identical sets a hair negative


def _eval_batches(classifier, fn, images, batch_size):
    """``fn`` (a method of ``classifier``) on images (N, C, H, W), batch by batch in eval mode: one array."""
    data = _array(images)
    device = next(iter(classifier.parameters())).device
    was_training = classifier.training
    classifier.eval()
    with no_grad():
        parts = [fn(Tensor(data[i : i + batch_size], dtype=backend.float32, device=device))
                 for i in range(0, len(data), batch_size)]
    classifier.train(was_training)
    return cat(parts).array


def classifier_features(classifier, images, batch_size=500):
    """``classifier.features`` of images (N, C, H, W) in [0, 1], batch by batch: an (N, D) array."""
    return _eval_batches(classifier, classifier.features, images, batch_size)


def classifier_logits(classifier, images, batch_size=500):
    """The class logits ``classifier(images)`` of images (N, C, H, W) in [0, 1]: an (N, num_classes) array."""
    return _eval_batches(classifier, classifier, images, batch_size)


def max_softmax(logits):
    """Each row's largest softmax probability, (N,) float64 on the host, from logits (N, K).

    max_k softmax(l)_k = 1 / sum_j exp(l_j - max l): between 1/K (no idea) and 1 (certain).
    """
    np = backend.xp_for("cpu")
    l = backend.to_host(_array(logits)).astype("float64")
    return 1.0 / np.exp(l - l.max(axis=1, keepdims=True)).sum(axis=1)


def classifier_confidence(classifier, images):
    """The mean max-softmax probability of the classifier on images (N, C, H, W) in [0, 1].

    How sure the classifier is, on average, of the class it picks: close to its figure on real
    test images for samples that look like real digits, near 1/num_classes for noise it cannot
    place. A confident classifier is not a correct one, and a generator can score above the real
    figure by drawing only the easiest digits: read it beside the real figure and the class counts.
    """
    return float(max_softmax(classifier_logits(classifier, images)).mean())


def image_frechet(classifier, generated, test_images, train_images):
    """{"fd": generated vs test, "fd_floor": train vs test, "fd_ratio"} on the classifier's features.

    The floor uses as many train images as there are generated ones, so both figures carry the
    same finite-sample bias; a perfect generator scores the floor, not 0.
    """
    n = min(len(generated), len(train_images))
    test = classifier_features(classifier, test_images)
    fd = frechet_distance(classifier_features(classifier, generated[:n]), test)
    floor = frechet_distance(classifier_features(classifier, train_images[:n]), test)
    return {"fd": fd, "fd_floor": floor, "fd_ratio": fd / floor if floor > 0 else float("inf")}


def class_histogram(classifier, images, num_classes=10):
    """How the classifier labels the samples: {"counts": [...], "kl_uniform": KL(p || uniform)}.

    A sampler that covers every class evenly scores kl_uniform near 0; one stuck on a single
    class scores log(num_classes).
    """
    return _histogram(classifier_logits(classifier, images), num_classes)


def _histogram(logits, num_classes):
    np = backend.xp_for("cpu")
    counts = np.bincount(backend.to_host(_array(logits).argmax(axis=1)), minlength=num_classes)
    p = counts / max(counts.sum(), 1)
    seen = p > 0
    return {"counts": counts.tolist(), "kl_uniform": float((p[seen] * np.log(num_classes * p[seen])).sum())}


def image_quality(classifier, samples, test_images, train_images, num_classes=10):
    """All the classifier-based numbers of image samples (N, C, H, W) in [0, 1], in one flat dict.

    ``image_frechet`` (fd, fd_floor, fd_ratio); what ``class_histogram`` sees: class_counts,
    classes_seen, min_class_fraction (a sampler that covers every class evenly scores
    1 / num_classes) and class_kl_uniform; and ``classifier_confidence``: ``confidence``, the mean
    max-softmax probability on the samples, beside ``confidence_real``, the same on the real test
    images (what samples as good as real digits score).
    """
    images = _array(samples)
    logits = classifier_logits(classifier, images)
    hist = _histogram(logits, num_classes)
    counts = hist["counts"]
    return {**image_frechet(classifier, images, test_images, train_images), "class_counts": counts,
            "classes_seen": sum(c > 0 for c in counts), "min_class_fraction": min(counts) / max(1, sum(counts)),
            "class_kl_uniform": hist["kl_uniform"],
            "confidence": float(max_softmax(logits).mean()),
            "confidence_real": classifier_confidence(classifier, test_images)}


def iwae_nll(model, images, k=5000, batch_size=100, labels=None, binarize_seed=0, chunk=None):
    """Test negative log-likelihood in nats per image, from the importance-weighted bound with k samples.

    The IWAE protocol: each image in [0, 1] is binarised once (pixel p -> 1 with probability p,
    a fixed seed, so the test set is the same every call), then -log p(x) is estimated with k
    importance samples. Larger k tightens the bound: the estimate falls toward the true NLL.
    """
    data = _array(images)
    if binarize_seed is not None:
        data = dynamic_binarize(backend.to_host(data), generator=backend.host_rng(binarize_seed))
    p = next(iter(model.parameters()))
    total = None
    with no_grad():
        for i in range(0, len(data), batch_size):
            x = Tensor(data[i : i + batch_size], dtype=p.dtype, device=p.device)
            y = None if labels is None else Tensor(_array(labels)[i : i + batch_size], device=p.device)
            part = -model.iwae_bound(x, y, k=k, chunk=chunk).sum()  # stays on the device
            total = part if total is None else total + part
    return float(total) / len(data)


# ---------------------------------------------------------------- 2-D mixtures: mode coverage
def mode_coverage(samples, modes, std, threshold=3.0):
    """The PacGAN / VEEGAN protocol for a mixture of Gaussians with centres ``modes`` (K, 2).

    Each sample is assigned to its nearest centre; it is *high quality* when it lies within
    ``threshold * std`` of it. A mode is *captured* when at least one high-quality sample is
    assigned to it. ``reverse_kl`` is KL(p || uniform) = sum_k p_k log(K p_k) of the histogram p
    of nearest modes (all samples), 0 for a perfectly balanced sampler and log K for a single
    mode. Returns ``{"modes": K, "modes_captured", "high_quality", "reverse_kl"}``; a perfect
    sampler of 2,500 points scores all modes, ~98.9% (chi-square, 2 dof: 1 - e^-4.5) and
    ~0.005 (finite-sample noise).
    """
    np = backend.xp_for("cpu")
    points = backend.to_host(samples.array if isinstance(samples, Tensor) else samples).astype("float64")
    centres = backend.to_host(modes.array if isinstance(modes, Tensor) else modes).astype("float64")
    if points.ndim != 2 or centres.ndim != 2 or points.shape[1] != centres.shape[1]:
        raise ValueError(f"mode_coverage: expected samples (N, D) and modes (K, D), got {points.shape} and {centres.shape}")
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)  # (N, K)
    nearest = d2.argmin(axis=1)
    good = np.sqrt(d2[np.arange(len(points)), nearest]) <= threshold * std
    k = len(centres)
    p = np.bincount(nearest, minlength=k) / max(len(points), 1)
    seen = p > 0
    return {
        "modes": int(k),
        "modes_captured": int(len(np.unique(nearest[good]))),
        "high_quality": float(good.mean()) if len(points) else 0.0,
        "reverse_kl": float((p[seen] * np.log(k * p[seen])).sum()),
    }


# ---------------------------------------------------------------- distances between sample sets
def _points_f64(name, points):
    """(N, D) samples (array, list or Tensor, on any device) as a float64 NumPy array."""
    data = _array(points)
    data = backend.to_host(data if backend.is_array(data) else backend.as_array(data)).astype("float64")  # no float32 rounding
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"{name}: expected a non-empty (N, D) set of points, got shape {tuple(data.shape)}")
    return data


def sliced_wasserstein(x, y, num_projections=256, seed=0):
    """Sliced 2-Wasserstein distance between two sample sets (N, D) and (M, D), in data units.

    Project both sets on ``num_projections`` random unit directions (the same ones for a given
    ``seed``). In 1-D optimal transport pairs sorted with sorted, so W2^2 along a direction is
    the mean squared gap between the two quantile functions; the result is
    sqrt(mean over directions of W2^2).
    """
    a, b = _points_f64("sliced_wasserstein", x), _points_f64("sliced_wasserstein", y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"sliced_wasserstein: expected point sets of one dimension, got shapes {a.shape} and {b.shape}")
    xp = backend.xp_for("cpu")
    directions = backend.host_rng(seed).standard_normal((a.shape[1], num_projections))
    directions /= (directions**2).sum(axis=0, keepdims=True) ** 0.5  # unit columns
    pa, pb = xp.sort(a @ directions, axis=0), xp.sort(b @ directions, axis=0)  # (N, L), (M, L)
    # both quantile functions at k common levels; with N == M this is sorted minus sorted
    k = max(len(pa), len(pb))
    levels = (xp.arange(k, dtype="float64") + 0.5) / k
    gaps = pa[(levels * len(pa)).astype("int64")] - pb[(levels * len(pb)).astype("int64")]
    return float(xp.sqrt((gaps**2).mean()))


def sliced_wasserstein_with_floor(samples, draw_real, n=1000, repeats=5, num_projections=256, seed=0):
    """SWD of ``n`` samples to fresh real sets, beside its floor (the SWD between two real sets).

    ``draw_real(n, seed)`` returns n fresh real points (a toy2d sampler fits). One set of 1,000
    points is itself noisy, so both figures are means over ``repeats`` fresh real sets. A perfect
    model scores the floor on average; ``ratio`` = swd / floor.
    """
    samples = _points_f64("sliced_wasserstein_with_floor", samples)[:n]
    swd = floor = 0.0
    for r in range(repeats):
        base = 10_000 + 1_000 * seed + 2 * r
        real_a, real_b = draw_real(n, seed=base), draw_real(n, seed=base + 1)
        swd += sliced_wasserstein(samples, real_a, num_projections, seed=r) / repeats
        floor += sliced_wasserstein(real_b, real_a, num_projections, seed=r) / repeats
    return {"swd": swd, "floor": floor, "ratio": swd / floor}

