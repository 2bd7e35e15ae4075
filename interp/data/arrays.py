"""Datasets whose images arrive as one in-memory uint8 array (CIFAR-10 batches, SVHN .mat)."""

from __future__ import annotations

from typing import Any

import numpy as np

from interp.data.base import ImageDataset
from interp.data.cache import cached_uint8
from interp.data.imageio import chw_resized


class NativeArrayDataset(ImageDataset):
    """Subclasses set ``native`` uint8 (N, 3, h, w), ``_labels``, ``_identity``, ``cache_dir``,
    ``image_size``; images are served as they are at the native size, else resized once into
    the memory-mapped cache."""

    native: np.ndarray
    _labels: dict[str, np.ndarray]
    _identity: dict[str, Any]
    cache_dir: Any = None
    _u8: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.native)

    def _decode(self, index: int) -> np.ndarray:
        return chw_resized(self.native[index], self.image_size)

    @property
    def labels(self) -> dict[str, np.ndarray]:
        return self._labels

    def cache_identity(self) -> dict[str, Any]:
        return self._identity

    def uint8_images(self) -> np.ndarray:
        """uint8 (N, 3, S, S): the array itself at its native size, else a memory-mapped resized cache."""
        if self.image_size == self.native.shape[-1] == self.native.shape[-2]:
            return self.native
        if self._u8 is None:
            self._u8 = cached_uint8(self, self.cache_dir)
        return self._u8
