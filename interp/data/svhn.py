"""SVHN cropped digits: ``train_32x32.mat`` / ``test_32x32.mat`` / ``extra_32x32.mat``.

Each .mat holds ``X`` uint8 (32, 32, 3, N) and ``y`` (N, 1) with digit 0 stored as label 10.
``root`` is the .mat file itself or a folder holding ``<split>_32x32.mat``.
Labels: ``"class"`` int64 (N,) = the digit 0..9. Native size 32; other sizes are resized.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from interp.data.arrays import NativeArrayDataset
from interp.data.base import DatasetError
from interp.data.cache import file_signature
from interp.data.registry import register_dataset


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """-> (uint8 (N, 3, 32, 32), int64 (N,) digits with 10 mapped to 0)."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path), variable_names=["X", "y"])
    except (OSError, ValueError, NotImplementedError, scipy.io.matlab.MatReadError) as err:
        raise DatasetError(f"svhn: {path} is not a readable MATLAB .mat file ({err})") from err
    if "X" not in mat or "y" not in mat:
        raise DatasetError(f"svhn: {path} lacks the variables 'X' and 'y'")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[2] != 3 or x.shape[3] != len(y):
        raise DatasetError(f"svhn: {path}: X must be (H, W, 3, N) with N = len(y), got {x.shape}, {len(y)}")
    if len(y) and (y.min() < 0 or y.max() > 10):
        raise DatasetError(f"svhn: {path}: labels outside 0..10")
    y[y == 10] = 0
    return np.ascontiguousarray(x.astype(np.uint8, copy=False).transpose(3, 2, 0, 1)), y


@register_dataset("svhn")
class SVHN(NativeArrayDataset):
    """SVHN from a .mat file held in memory (train: 73,257 x 3 KB = 225 MB)."""

    name = "svhn"

    def __init__(self, root: str | os.PathLike | None, *, image_size: int = 32, split: str = "train",
                 cache_dir: str | os.PathLike | None = None, limit: int | None = None) -> None:
        if root is None:
            raise DatasetError("svhn: a root (.mat file or folder of them) is required")
        path = Path(root).expanduser()
        if path.is_dir():
            path = path / f"{split}_32x32.mat"
        if not path.is_file():
            raise DatasetError(f"svhn: {path} does not exist")
        self.path, self.split, self.image_size, self.cache_dir = path, split, int(image_size), cache_dir
        self.native, cls = read_svhn_mat(path)
        if limit is not None:
            self.native, cls = self.native[:limit], cls[:limit]
        self._labels = {"class": cls}
        self.class_names = [str(d) for d in range(10)]
        self._identity = {"mat": file_signature(path), "limit": limit, "image_size": self.image_size}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "root": str(self.path), "split": self.split,
                "class_names": list(self.class_names)}
