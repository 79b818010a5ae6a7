"""PyTorch's ``torch.utils.data``: the dataset and loader names, from ``tinygen/data/loader.py``.

    from tinygen.utils.data import DataLoader, Dataset, TensorDataset, random_split

    class Squares(Dataset):                   # any map-style dataset: __getitem__ and __len__
        def __len__(self):
            return 100
        def __getitem__(self, i):
            return tg.tensor([float(i)]), i * i

    for x, y in DataLoader(Squares(), batch_size=10, shuffle=True):   # x (10, 1) float32, y (10,) int64
        ...

``num_workers``, ``pin_memory`` and ``persistent_workers`` are accepted and have no effect:
batches are made in the training process.
"""

from ..data.loader import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "random_split"]
