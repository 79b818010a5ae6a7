"""A small convolutional classifier for 1-channel digit images (8x8 digits, 28x28 MNIST).

Two conv blocks halve the image twice, then two dense layers. Besides classifying, it is
the feature extractor behind the image-quality metrics (tinygen/metrics.py): ``features(x)``
returns the penultimate activations that a Frechet distance compares. The metric's classifier
is trained here once per dataset (``train_classifier``) and cached outside the data folder
(``load_classifier``): in $TINYGEN_CACHE, by default ~/.cache/tinygen/classifiers/.
"""

import math
import os
import pathlib
import sys

from .. import backend, nn, optim
from ..data import DataLoader, load_dataset
from ..grad_mode import no_grad
from ..ops.loss import cross_entropy
from ..progress import progress
from ..serialization import load, save
from ..tensor import Tensor

# The recipe of demos/classifier.py and of the metric classifier, per dataset: Adam at ``lr`` on batches
# of 128 for ``epochs``, the rate falling along a half cosine to 0 over the recipe's epochs
# (``cosine``), each training image moved by up to ``shift`` pixels (``random_shift``). ``version``
# names the recipe in the cached metric classifier: a cache made by another recipe is trained again.
# The 8x8 digits' test set is the last 297 of scikit-learn's 1,797, from writers the first 1,500 do
# not share: without shifts the network learns the training writers by heart (100% train, ~93% test).
RECIPES = {
    "digits": {"epochs": 60, "lr": 3e-3, "cosine": True, "shift": 1, "version": 2},
    "mnist": {"epochs": 3, "lr": 1e-3, "cosine": False, "shift": 0, "version": 1},
    "fashion-mnist": {"epochs": 5, "lr": 1e-3, "cosine": False, "shift": 0, "version": 1},
}
EPOCHS = {name: recipe["epochs"] for name, recipe in RECIPES.items()}
LRS = {name: recipe["lr"] for name, recipe in RECIPES.items()}


def random_shift(x, max_shift=1):
    """Each image (B, C, H, W) moved by its own random offset of up to ``max_shift`` pixels in each
    direction, the uncovered border filled with 0 (background): a new writer's digit sits a pixel off.

    Draws from tinygen's generator for x's device (``tg.manual_seed``), so a resumed run draws the same.
    """
    data = x.array if isinstance(x, Tensor) else x
    if not max_shift:
        return x
    xp, k = backend.array_module(data), max_shift
    b, h, w = len(data), *data.shape[-2:]
    dy, dx = backend.generator(backend.device_of(data)).integers(0, 2 * k + 1, size=(2, b))  # each image's, 0..2k
    padded = xp.pad(data, ((0, 0), (0, 0), (k, k), (k, k))).transpose(0, 2, 3, 1)  # (B, H + 2k, W + 2k, C)
    rows = (dy[:, None] + xp.arange(h))[:, :, None]  # (B, H, 1): the rows image b reads, from its own offset
    cols = (dx[:, None] + xp.arange(w))[:, None, :]  # (B, 1, W)
    out = padded[xp.arange(b)[:, None, None], rows, cols]  # (B, H, W, C): one gather, on the data's device
    out = xp.ascontiguousarray(out.transpose(0, 3, 1, 2))
    return Tensor.wrap(out) if isinstance(x, Tensor) else out


def recipe_lr(dataset, lr, step, steps_per_epoch):
    """The learning rate of ``dataset``'s recipe at optimiser step ``step``: ``lr``, or with a cosine,
    lr * (1 + cos(pi t)) / 2 at t = step / (the recipe's epochs * steps_per_epoch), 0 past the end.

    The schedule's length is the recipe's, not the run's: a run stopped early and resumed follows
    the very rates of one long run.
    """
    recipe = RECIPES[dataset]
    if not recipe["cosine"]:
        return lr
    t = min(step / (recipe["epochs"] * steps_per_epoch), 1.0)
    return lr * 0.5 * (1.0 + math.cos(math.pi * t))


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
def train_classifier(dataset, root=None, epochs=None, batch_size=128, lr=None, seed=0, device="cpu",
                     quiet=None, limit=None):
    """Train a ConvClassifier on ``dataset`` with its recipe (RECIPES, as demos/classifier.py): (model, test accuracy).

    ``root`` is the data folder (default: $TINYGEN_DATA); ``epochs`` and ``lr`` default to the
    recipe's; ``limit`` keeps only that many training images (a quick smoke run). The global RNG
    state is saved and restored, so a demo that calls this mid-run stays reproducible.
    """
    rng_state = backend.get_rng_state()
    backend.manual_seed(seed)
    recipe = RECIPES[dataset]
    train_x, train_y = load_dataset(dataset, "train", root=root)
    test_x, test_y = load_dataset(dataset, "test", root=root)
    if limit:
        train_x, train_y = train_x[:limit], train_y[:limit]
    model = ConvClassifier(image_size=train_x.shape[-1]).to(device)
    lr = lr or recipe["lr"]
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader((train_x, train_y), batch_size=batch_size, shuffle=True, seed=seed, device=device)
    epochs, step = epochs or recipe["epochs"], 0
    for _ in progress(range(epochs), desc=f"training the {dataset} classifier for the metrics", quiet=quiet):
        for x, y in loader:
            for group in optimizer.param_groups:
                group["lr"] = recipe_lr(dataset, lr, step, len(loader))
            loss = cross_entropy(model(random_shift(x, recipe["shift"])), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
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

    Read from ``classifier_path(dataset, cache)`` when it is there and was trained by today's recipe
    (its ``version`` in RECIPES; a file without one is version 1); otherwise trained once with
    ``train_classifier`` on the data in ``root`` and saved there for next time (never into the
    data folder, which may be a read-only shared mount).
    """
    path, version = classifier_path(dataset, cache), RECIPES[dataset]["version"]
    if path.exists():
        state = load(path, device=device)
        if int(state.get("recipe_version", 1)) == version:
            model = ConvClassifier(image_size=int(state["image_size"])).to(device)
            model.load_state_dict(state["model"])
            model.eval()
            return model, float(state["test_accuracy"])
        print(f"load_classifier: {path} was trained by an older recipe (version {int(state.get('recipe_version', 1))}, "
              f"now {version}); training it again", file=sys.stderr)
    model, accuracy = train_classifier(dataset, root=root, device=device, quiet=quiet)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save({"model": model.state_dict(), "test_accuracy": accuracy, "image_size": model.image_size,
              "recipe_version": version}, path)
    except OSError as error:  # a read-only home: the model is still good for this run
        print(f"load_classifier: could not cache the {dataset} classifier at {path} ({error})", file=sys.stderr)
    return model, accuracy
