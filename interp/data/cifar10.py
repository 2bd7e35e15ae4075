"""CIFAR-10: the official python pickle batches, or a class-folder tree of image files.

(a) ``cifar-10-batches-py/`` (or that folder itself, or the official ``cifar-10-python.tar.gz``):
    ``data_batch_1..5`` (split "train") / ``test_batch`` (split "test"), each a pickled dict
    ``{b"data": uint8 (n, 3072) row-major CHW, b"labels": [int], b"batch_label", b"filenames"}``;
    ``batches.meta`` gives ``b"label_names"``. Unpickled with a restricted unpickler that allows no
    globals except the three numpy array constructors; anything else is refused (DatasetError).
(b) ``train/<class>/*.jpg``, ``test/<class>/*.jpg`` (a folder or a .tar.gz): the folder loader.

Labels: ``"class"`` int64 (N,), ``class_names``. Native size 32; other sizes are resized (Lanczos).
"""

from __future__ import annotations

import importlib
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from interp.data.arrays import NativeArrayDataset
from interp.data.base import DatasetError, ImageDataset
from interp.data.cache import file_signature, unpack_archive
from interp.data.folder import FolderDataset, is_archive
from interp.data.registry import register_dataset

CLASS_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES: tuple[str, ...] = ("test_batch",)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        _reconstruct = importlib.import_module("numpy._core.multiarray")._reconstruct
    except (ImportError, AttributeError):  # numpy < 2
        _reconstruct = importlib.import_module("numpy.core.multiarray")._reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # numpy >= 2 spelling
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy's ndarray/dtype/_reconstruct; any other global raises."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _numpy_globals()
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def load_pickle(path: Path) -> Any:
    """Restricted unpickle (``encoding="bytes"``); DatasetError naming the file on any failure."""
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as err:
        raise DatasetError(f"cifar10: cannot unpickle {path}: {err}") from err


def find_batches_dir(root: Path) -> Path | None:
    """The folder holding ``data_batch_*``/``test_batch`` (root or root/cifar-10-batches-py)."""
    for d in (root, root / "cifar-10-batches-py"):
        if (d / "data_batch_1").is_file() or (d / "test_batch").is_file():
            return d
    return None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (uint8 (n, 3, 32, 32), int64 (n,) labels)."""
    d = load_pickle(path)
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise DatasetError(f"cifar10: {path} is not a CIFAR batch (needs b'data' and b'labels')")
    data = np.asarray(d[b"data"])
    labels = np.asarray(d[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DatasetError(f"cifar10: {path}: b'data' must be uint8 (n, 3072) matching b'labels', "
                           f"got {data.dtype} {data.shape} and {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"cifar10: {path}: labels outside 0..9")
    return data.reshape(-1, 3, 32, 32), labels


class CIFAR10Pickle(NativeArrayDataset):
    """The official python batches; images held in memory (60,000 x 3 KB = 180 MB at most)."""

    name = "cifar10"

    def __init__(self, batches_dir: Path, *, image_size: int = 32, split: str = "train",
                 cache_dir: str | os.PathLike | None = None, limit: int | None = None) -> None:
        if split not in ("train", "test"):
            raise DatasetError(f"cifar10: unknown split {split!r} (train, test)")
        self.root, self.split, self.cache_dir = batches_dir, split, cache_dir
        self.image_size = int(image_size)
        names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
        paths = [batches_dir / n for n in names]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise DatasetError(f"cifar10: missing batch file(s) {', '.join(missing)}")
        parts = [read_batch(p) for p in paths]
        self.native = np.concatenate([x for x, _ in parts])
        cls = np.concatenate([y for _, y in parts])
        if limit is not None:
            self.native, cls = self.native[:limit], cls[:limit]
        self._labels = {"class": cls}
        self.class_names = list(CLASS_NAMES)
        meta = batches_dir / "batches.meta"
        if meta.is_file():
            m = load_pickle(meta)
            if isinstance(m, dict) and b"label_names" in m:
                self.class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in m[b"label_names"]]
        self._identity = {"batches": [file_signature(p) for p in paths], "limit": limit,
                          "image_size": self.image_size}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "root": str(self.root), "split": self.split, "format": "pickle",
                "class_names": list(self.class_names)}


class CIFAR10Folder(FolderDataset):
    """CIFAR-10 as ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (folder loader, named cifar10)."""

    name = "cifar10"


@register_dataset("cifar10")
def open_cifar10(root: str | os.PathLike | None, *, image_size: int = 32, split: str = "train",
                 cache_dir: str | os.PathLike | None = None, **kwargs: Any) -> ImageDataset:
    """CIFAR-10 from pickle batches or an image tree (folder or .tar.gz), whichever ``root`` holds."""
    if root is None:
        raise DatasetError("cifar10: a root is required (cifar-10-batches-py folder, image tree or .tar.gz)")
    path = Path(root).expanduser()
    if not path.exists():
        raise DatasetError(f"cifar10: root {path} does not exist")
    if is_archive(path):
        path = unpack_archive(path, cache_dir, split)
    batches = find_batches_dir(path) if path.is_dir() else None
    if batches is not None:
        return CIFAR10Pickle(batches, image_size=image_size, split=split, cache_dir=cache_dir, **kwargs)
    return CIFAR10Folder(path, image_size=image_size, split=split, cache_dir=cache_dir,
                         class_labels=True, **kwargs)
