"""The one dataset interface every loader implements.

A dataset is a fixed, indexable set of RGB images at one square resolution, plus whatever labels
the data has. Images are served three ways:

* ``ds[i]`` -> ``{"image": FloatTensor (3, S, S) in [-1, 1], <label name>: value, ...}``
* ``ds.uint8_images()`` -> ``np.ndarray`` uint8 (N, 3, S, S), decoded once and cached (for training)
* ``ds.labels`` -> ``dict[str, np.ndarray]`` whole-dataset label arrays, first axis N
  (e.g. ``"class"`` (N,) int64, ``"attributes"`` (N, A) float32). Per-item structured labels
  (masks, boxes) come from ``ds.item_labels(i)``.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np
import torch


class DatasetError(ValueError):
    """Bad dataset input (missing/empty root, unreadable file); the message names the path."""


def to_float_image(img_u8: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (…, 3, S, S) -> float32 in [-1, 1] (same shape)."""
    t = torch.as_tensor(img_u8)
    return t.float().div_(127.5).sub_(1.0)


def to_uint8_image(img: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] (…, 3, S, S) -> uint8 (same shape), rounding and clamping."""
    return ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class ImageDataset(abc.ABC):
    """Base class. Subclasses implement ``__len__``, ``_decode(i)`` and optionally labels."""

    #: short name used in checkpoints and logs, e.g. "cifar10", "folder", "rooms"
    name: str = "dataset"
    image_size: int

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def _decode(self, index: int) -> np.ndarray:
        """uint8 (3, S, S) image ``index`` at ``self.image_size``."""

    def uint8_images(self) -> np.ndarray:
        """All images, uint8 (N, 3, S, S). Loaders override this with a memory-mapped cache."""
        return np.stack([self._decode(i) for i in range(len(self))])

    @property
    def labels(self) -> dict[str, np.ndarray]:
        """Whole-dataset label arrays keyed by name, each with first axis N (may be empty)."""
        return {}

    def item_labels(self, index: int) -> dict[str, Any]:
        """Labels of one item: by default one row of each array in ``labels``."""
        return {k: v[index] for k, v in self.labels.items()}

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{self.name}: index {index} out of range for {len(self)} images")
        index = index % len(self)
        return {"image": to_float_image(self._decode(index)), **self.item_labels(index)}

    def cache_identity(self) -> dict[str, Any]:
        """JSON-able facts that pin down the decoded pixels (source path, sizes, mtimes, options),
        used to key the uint8 cache. Empty (the default) means "key on ``describe()``"."""
        return {}

    def drop_failed(self, keep: np.ndarray, failed: list[str]) -> None:
        """Forget items that failed to decode while caching; ``keep``: int64 indices of survivors.

        Loaders that read many files (folder, celeba, lsun) implement this and count the skips;
        the default refuses, so a decode failure is an error.
        """
        raise DatasetError(f"{self.name}: {len(failed)} image(s) failed to decode: {failed[:3]}")

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable description, stored in checkpoints (name, size, count, source)."""
        return {"name": self.name, "image_size": self.image_size, "num_images": len(self)}
