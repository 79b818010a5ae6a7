"""Batches from arrays: TensorDataset (aligned arrays) and DataLoader (shuffled batches as Tensors).

    loader = DataLoader(TensorDataset(images, labels), batch_size=128, shuffle=True, seed=0)
    for x, y in loader:          # x: Tensor (128, 1, 28, 28) float32, y: Tensor (128,) int64
        ...

The loader shuffles with its own NumPy generator, seeded by ``seed`` and the epoch number, so
the order of batches is the same on every run and does not depend on how many random numbers
the model drew in between (nor on the epochs iterated before: epoch 3 is always epoch 3).
"""

import math

from .. import backend
from ..tensor import Tensor


def _as_array(data):
    """A Tensor, a NumPy/CuPy array or a nested list, as an array (Tensors are detached)."""
    if isinstance(data, Tensor):
        return data.array
    if backend.is_array(data):
        return data
    return backend.as_array(data)


class TensorDataset:
    """Several arrays that share their first dimension; item ``i`` is the tuple of their rows ``i``."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: expected at least one array, got none")
        self.arrays = tuple(_as_array(a) for a in arrays)
        for k, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {k} is 0-d; expected a first (sample) dimension")
            if len(a) != len(self.arrays[0]):
                raise ValueError(
                    f"TensorDataset: arrays must have the same length, but array 0 has {len(self.arrays[0])} "
                    f"rows and array {k} has {len(a)}"
                )

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class DataLoader:
    """Iterate over a dataset in batches of Tensors on ``device``.

    ``dataset`` is a TensorDataset, a tuple of aligned arrays (yields tuples of Tensors) or a
    single array / Tensor (yields single Tensors, as PyTorch does). ``seed=None`` takes the seed
    last given to ``tg.manual_seed``. ``len(loader)`` is the number of batches per epoch.

    Each batch holds ``batch_size`` rows of every array, (batch_size, *row_shape), in the array's
    dtype; the last batch of an epoch is smaller unless ``drop_last``. The whole dataset moves to
    the device once, and each epoch's order comes from (seed, epoch) alone, so ``set_epoch``
    replays any epoch of a run exactly.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, device=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.single = not isinstance(dataset, (TensorDataset, tuple, list))
        if self.single:
            dataset = TensorDataset(dataset)
        elif not isinstance(dataset, TensorDataset):
            dataset = TensorDataset(*dataset)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = backend.get_rng_state()["seed"] if seed is None else int(seed)
        self.device = backend.check_device(device)
        self.epoch = 0  # how many epochs have started; picks the shuffle of the next one
        self._arrays = None  # the dataset's arrays on self.device, moved there once

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def order(self, epoch):
        """The sample indices of one epoch, a NumPy int64 array (the same for the same seed and epoch)."""
        np = backend.xp_for("cpu")
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        return backend.host_rng([self.seed, epoch]).permutation(n).astype(np.int64)

    def set_epoch(self, epoch):
        """Make the next iteration use the shuffle of ``epoch`` (e.g. when resuming a run)."""
        self.epoch = int(epoch)

    def _device_arrays(self):
        # Move the whole dataset once (one copy to the GPU), then index it there batch by batch.
        if self._arrays is None:
            self._arrays = tuple(backend.as_array(a, device=self.device) for a in self.dataset.arrays)
        return self._arrays

    def __iter__(self):
        arrays = self._device_arrays()
        order = self.order(self.epoch)
        self.epoch += 1
        order = backend.as_array(order, device=self.device)  # once per epoch, not once per batch
        for b in range(len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            # Integer indexing copies, so a model that edits its batch in place leaves the data alone.
            batch = tuple(Tensor.wrap(a[index]) for a in arrays)
            yield batch[0] if self.single else batch
