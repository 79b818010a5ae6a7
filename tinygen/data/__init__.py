"""tinygen.data: batches (DataLoader), 2-D toy distributions, image datasets, pixel transforms.

    from tinygen.data import DataLoader, TensorDataset, load_dataset, ring8
"""

from .download import ChecksumError, DatasetNotFoundError, data_root, dataset_dir, fetch, md5sum
from .idx import IDXError, read_idx, write_idx
from .images import FASHION_CLASSES, IMAGE_DATASETS, digits, fashion_mnist, load_dataset, mnist
from .loader import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from .toy2d import TOY2D, Toy2D, checkerboard, get_toy2d, grid25, moons, ring8, spiral, swissroll
from .transforms import binarize, dynamic_binarize, from_symmetric, to_symmetric, to_unit
