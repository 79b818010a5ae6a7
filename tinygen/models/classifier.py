"""A small convolutional classifier for 1-channel digit images (8x8 digits, 28x28 MNIST).

Two conv blocks halve the image twice, then two dense layers. Besides classifying, it is
the feature extractor behind the image-quality metrics (tinygen/metrics.py): ``features(x)``
returns the penultimate activations that a Frechet distance compares. The metric's classifier
is trained here once per dataset (``train_classifier``) and cached outside the data folder
(``load_classifier``): in $TINYGEN_CACHE, by default ~/.cache/tinygen/classifiers/.
"""

import os
import pathlib
import sys

from .. import backend, nn, optim
from ..data import DataLoader, load_dataset
from ..grad_mode import no_grad
from ..ops.loss import cross_entropy
from ..progress import progress
from ..serialization import load, save

# the recipe of demos/classifier.py: Adam at 1e-3, batches of 128, this many epochs per dataset
EPOCHS = {"digits": 30, "mnist": 3, "fashion-mnist": 5}


class ConvClassifier(nn.Module):
    """Images (B, C, H, W) -> class logits (B, num_classes): two conv-ReLU-maxpool blocks, then two dense layers.

    ``features(x)`` stops one layer short, at the (B, hidden) activations the image metrics compare.
    """

    def __init__(self, image_size=28, in_channels=1, num_classes=10, width=32, hidden=128, dropout=0.25):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"ConvClassifier: image_size must be a multiple of 4 (two 2x poolings), got {image_size}")
        self.image_size, self.in_channels = image_size, in_channels
        s = image_size // 4
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, w, H/2, W/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # (B, 2w, H/4, W/4)
            nn.Flatten(),                                                              # (B, 2w * H/4 * W/4)
        )
        self.hidden = nn.Sequential(nn.Linear(2 * width * s * s, hidden), nn.ReLU())   # (B, hidden)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes)) # (B, classes)

    def features(self, x):
        """Penultimate activations (B, hidden): what the Frechet distance compares."""
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"ConvClassifier: expected images of shape (B, {', '.join(map(str, expected))}), got {x.shape}")
        return self.hidden(self.conv(x))

    def forward(self, x):
        """Class logits (B, num_classes) of images (B, C, H, W)."""
        return self.head(self.features(x))


# ---------------------------------------------------------------- the metric's classifier: trained once, cached
def train_classifier(dataset, root=None, epochs=None, batch_size=128, lr=1e-3, seed=0, device="cpu",
                     quiet=None, limit=None):
    """Train a ConvClassifier on ``dataset`` with the recipe of demos/classifier.py: (model, test accuracy).

    ``root`` is the data folder (default: $TINYGEN_DATA); ``epochs`` defaults to EPOCHS[dataset];
    ``limit`` keeps only that many training images (a quick smoke run). The global RNG state is
    saved and restored, so a demo that calls this mid-run stays reproducible.
    """
    rng_state = backend.get_rng_state()
    backend.manual_seed(seed)
    train_x, train_y = load_dataset(dataset, "train", root=root)
    test_x, test_y = load_dataset(dataset, "test", root=root)
    if limit:
        train_x, train_y = train_x[:limit], train_y[:limit]
    model = ConvClassifier(image_size=train_x.shape[-1]).to(device)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader((train_x, train_y), batch_size=batch_size, shuffle=True, seed=seed, device=device)
    epochs = epochs or EPOCHS[dataset]
    for _ in progress(range(epochs), desc=f"training the {dataset} classifier for the metrics", quiet=quiet):
        for x, y in loader:
            loss = cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    correct = 0
    with no_grad():
        for x, y in DataLoader((test_x, test_y), batch_size=1000, device=device):
            correct = correct + (model(x).argmax(dim=1) == y).sum()
    backend.set_rng_state(rng_state)
    return model, int(correct) / len(test_y)


def cache_root(cache=None):
    """The folder tinygen caches trained things in: ``cache``, else $TINYGEN_CACHE, else ~/.cache/tinygen."""
    if cache is None:
        cache = os.environ.get("TINYGEN_CACHE") or pathlib.Path.home() / ".cache" / "tinygen"
    return pathlib.Path(cache).expanduser()


def classifier_path(dataset, cache=None):
    """Where the metric classifier of ``dataset`` is cached: <cache_root(cache)>/classifiers/<dataset>.npz."""
    return cache_root(cache) / "classifiers" / f"{dataset}.npz"


def load_classifier(dataset, root=None, device="cpu", quiet=None, cache=None):
    """The metric classifier of ``dataset`` and its test accuracy: (model in eval mode, float).

    Read from ``classifier_path(dataset, cache)`` when it is there; otherwise trained once with
    ``train_classifier`` on the data in ``root`` and saved there for next time (never into the
    data folder, which may be a read-only shared mount).
    """
    path = classifier_path(dataset, cache)
    if path.exists():
        state = load(path, device=device)
        model = ConvClassifier(image_size=int(state["image_size"])).to(device)
        model.load_state_dict(state["model"])
        model.eval()
        return model, float(state["test_accuracy"])
    model, accuracy = train_classifier(dataset, root=root, device=device, quiet=quiet)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save({"model": model.state_dict(), "test_accuracy": accuracy, "image_size": model.image_size}, path)
    except OSError as error:  # a read-only home: the model is still good for this run
        print(f"load_classifier: could not cache the {dataset} classifier at {path} ({error})", file=sys.stderr)
    return model, accuracy
