"""Batches from arrays: TensorDataset (aligned arrays) and DataLoader (shuffled batches as Tensors).

    loader = DataLoader(TensorDataset(images, labels), batch_size=128, shuffle=True, seed=0)
    for x, y in loader:          # x: Tensor (128, 1, 28, 28) float32, y: Tensor (128,) int64
        ...

The loader shuffles with its own NumPy generator, seeded by ``seed`` and the epoch number, so
the order of batches is the same on every run and does not depend on how many random numbers
the model drew in between (nor on the epochs iterated before: epoch 3 is always epoch 3).

Arrays take a fast path: one integer index per batch. Any other *map-style* dataset, as in
PyTorch (an object with ``__getitem__(i)`` and ``__len__``, such as a :class:`Dataset`
subclass or a :class:`Subset`), is read sample by sample and the samples are joined by
``collate_fn``, :func:`default_collate` unless given, PyTorch's rules. These are also
``tinygen.utils.data``, PyTorch's ``torch.utils.data``.
"""

import collections
import math
import numbers

from .. import backend
from ..ops.shape import stack
from ..tensor import Tensor


class Dataset:
    """Base class of map-style datasets: a subclass writes ``__getitem__(i)`` -> one sample and ``__len__``.

    A sample is anything ``collate_fn`` can join: by default a Tensor, an array, a number, or a
    tuple / list / dict of those (an image and its label: ``(Tensor (1, 28, 28), 7)``).
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__()")


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``Subset(data, range(100))``."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths (or fractions summing to 1).

    The permutation comes from tinygen's CPU generator (set by ``tg.manual_seed``) unless a
    ``seed`` is given; PyTorch's ``generator=`` is accepted, and its seed used when it has one.
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(math.fsum(lengths), 1.0) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # the remainder, one each, round-robin (PyTorch's rule)
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} do not add up to the dataset's {n} samples")
    seed = getattr(generator, "seed", None) if seed is None else seed
    rng = backend.generator("cpu") if seed is None else backend.host_rng(seed)
    order = rng.permutation(n).tolist()
    starts = [sum(lengths[:k]) for k in range(len(lengths))]
    return [Subset(dataset, order[s : s + k]) for s, k in zip(starts, lengths)]


def default_collate(samples):
    """Join a list of samples into one batch, by PyTorch's rules: Tensors and arrays are stacked along a new
    first axis, Python floats become a float64 tensor, ints int64, bools bool; tuples, lists and dicts are
    joined field by field (a list of (image, label) pairs -> [images (B, ...), labels (B,)]); strings stay a list."""
    first = samples[0]
    if isinstance(first, Tensor):
        return stack(samples, 0)
    if backend.is_array(first):
        return Tensor.wrap(backend.array_module(first).stack(samples))
    if isinstance(first, bool):
        return Tensor.wrap(backend.as_array(samples, dtype=backend.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor.wrap(backend.as_array(samples, dtype=backend.int64))
    if isinstance(first, numbers.Real):
        return Tensor.wrap(backend.as_array(samples, dtype=backend.float64))
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple keeps its type
        return type(first)(*(default_collate(list(field)) for field in zip(*samples)))
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: every sample in a batch must have the same number of fields")
        return [default_collate(list(field)) for field in zip(*samples)]
    raise TypeError(f"default_collate: cannot join samples of type {type(first).__name__}; "
                    "pass collate_fn= to the DataLoader")


def _is_aligned_arrays(dataset):
    """Whether ``dataset`` is what the fast path takes: a TensorDataset, an array, or a tuple/list of arrays."""
    if isinstance(dataset, (TensorDataset, Tensor)) or backend.is_array(dataset):
        return True
    return isinstance(dataset, (tuple, list)) and len(dataset) > 0 and all(
        isinstance(a, Tensor) or backend.is_array(a) for a in dataset)


def _as_array(data):
    """A Tensor, a NumPy/CuPy array or a nested list, as an array (Tensors are detached)."""
    if isinstance(data, Tensor):
        return data.array
    if backend.is_array(data):
        return data
    return backend.as_array(data)


class TensorDataset(Dataset):
    """Several arrays (or Tensors) that share their first dimension; item ``i`` is the tuple of their rows ``i``,
    as Tensors sharing the data's memory (PyTorch's ``dataset[i]``)."""

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
        return tuple(Tensor.wrap(a[index]) for a in self.arrays)

    @property
    def tensors(self):
        """The data as a tuple of Tensors (sharing memory), as PyTorch's TensorDataset.tensors."""
        return tuple(Tensor.wrap(a) for a in self.arrays)


class DataLoader:
    """Iterate over a dataset in batches of Tensors on ``device``.

    ``dataset`` is a TensorDataset, a tuple of aligned arrays (yields tuples of Tensors) or a
    single array / Tensor (yields single Tensors, as PyTorch does), or any map-style dataset
    (``__getitem__`` and ``__len__``: yields ``collate_fn`` of each batch's samples, by default
    :func:`default_collate`). ``seed=None`` takes the seed last given to ``tg.manual_seed``.
    ``len(loader)`` is the number of batches per epoch.

    Each batch holds ``batch_size`` samples, (batch_size, *sample_shape), in the data's dtype;
    the last batch of an epoch is smaller unless ``drop_last``. Arrays move to the device once,
    and each epoch's order comes from (seed, epoch) alone, so ``set_epoch`` replays any epoch of
    a run exactly. PyTorch's ``num_workers``, ``pin_memory``, ``persistent_workers``,
    ``prefetch_factor``, ``worker_init_fn`` and ``timeout`` are accepted and have no effect:
    tinygen loads batches in the training process. ``generator=`` lends its seed.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None, device=None, *,
                 collate_fn=None, num_workers=0, pin_memory=False, persistent_workers=False, prefetch_factor=None,
                 worker_init_fn=None, timeout=0, generator=None, sampler=None, batch_sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None or batch_sampler is not None:
            raise NotImplementedError("DataLoader: sampler and batch_sampler are not offered in tinygen; pass "
                                      "shuffle=True, or wrap the dataset in tinygen.utils.data.Subset")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        self.collate_fn = collate_fn
        self.generic = collate_fn is not None or not _is_aligned_arrays(dataset)
        if self.generic and not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: expected arrays or a map-style dataset (with __getitem__ and __len__), "
                            f"got {type(dataset).__name__}")
        self.single = not self.generic and not isinstance(dataset, (TensorDataset, tuple, list))
        if self.single:
            dataset = TensorDataset(dataset)
        elif not self.generic and not isinstance(dataset, TensorDataset):
            dataset = TensorDataset(*dataset)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        seed = getattr(generator, "seed", None) if seed is None else seed
        self.seed = backend.get_rng_state()["seed"] if seed is None else int(seed)
        self.device = backend.check_device(device)
        self.move = device is not None  # a generic dataset's batches move only when a device is asked for
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

    def _generic_batches(self, order):
        collate = self.collate_fn or default_collate
        for b in range(len(self)):
            samples = [self.dataset[int(i)] for i in order[b * self.batch_size : (b + 1) * self.batch_size]]
            batch = collate(samples)
            yield _to_device(batch, self.device) if self.move else batch

    def __iter__(self):
        if self.generic:
            order = self.order(self.epoch)
            self.epoch += 1
            yield from self._generic_batches(order)
            return
        arrays = self._device_arrays()
        order = self.order(self.epoch)
        self.epoch += 1
        order = backend.as_array(order, device=self.device)  # once per epoch, not once per batch
        for b in range(len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            # Integer indexing copies, so a model that edits its batch in place leaves the data alone.
            batch = tuple(Tensor.wrap(a[index]) for a in arrays)
            yield batch[0] if self.single else batch


def _to_device(batch, device):
    """Every Tensor in a collated batch (nested in lists, tuples, dicts) moved to ``device``."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)) and not isinstance(batch, str):
        moved = [_to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch
