"""PyTorch's ``torch.utils`` names: ``tinygen.utils.data`` (Dataset, DataLoader, random_split, ...)."""

from . import data

__all__ = ["data"]
