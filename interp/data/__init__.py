"""Datasets: one ``ImageDataset`` interface, loaders for the paper's data, a registry, a uint8 cache.

    from interp.data import open_dataset
    ds = open_dataset("cifar10", "~/data/cifar-10-batches-py", image_size=32)
    x = ds.uint8_images()          # uint8 (N, 3, 32, 32), memory-mapped
    ds[0]["image"], ds[0]["class"]  # float (3, 32, 32) in [-1, 1], int64

See docs/DATA.md for formats, labels, skip counting and the cache location.
"""

from interp.data.base import DatasetError, ImageDataset, to_float_image, to_uint8_image
from interp.data.cache import cached_uint8, default_cache_dir, unpack_archive
from interp.data.registry import DATASETS, available_datasets, detect_format, open_dataset, register_dataset

__all__ = [
    "DATASETS",
    "DatasetError",
    "ImageDataset",
    "available_datasets",
    "cached_uint8",
    "default_cache_dir",
    "detect_format",
    "open_dataset",
    "register_dataset",
    "to_float_image",
    "to_uint8_image",
    "unpack_archive",
]
