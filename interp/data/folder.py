"""A folder of image files (recursive), optionally a class-folder tree ``<split>/<class>/*.jpg``.

Also the shared machinery of every file-list loader (``FileImageDataset``): header checks at open
time, skip counting, decode via ``imageio.decode_image``, uint8 cache via ``cache.cached_uint8``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from interp.data.base import DatasetError, ImageDataset
from interp.data.cache import cached_uint8, unpack_archive
from interp.data.imageio import check_header, decode_image, is_image_file, log_skips
from interp.data.registry import register_dataset

#: Subfolder names recognised as splits.
SPLIT_NAMES: tuple[str, ...] = ("train", "test", "val", "valid", "validation", "extra")
ARCHIVE_SUFFIXES: tuple[str, ...] = (".tar.gz", ".tgz", ".tar")


def is_archive(path: Path) -> bool:
    """True for ``.tar``, ``.tar.gz`` and ``.tgz`` files."""
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def list_images(root: Path) -> list[Path]:
    """Image files under ``root``, recursive, sorted by path; hidden files/folders are ignored."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in filenames if not f.startswith(".") and is_image_file(f))
    return sorted(found)


def select_split(root: Path, split: str | None) -> Path:
    """``root/split`` if it exists; ``root`` if it has no split subfolders (or split is None/"all");
    DatasetError if other splits exist but not this one."""
    if split in (None, "all"):
        return root
    if (root / split).is_dir():
        return root / split
    present = sorted(s for s in SPLIT_NAMES if (root / s).is_dir())
    if present:
        raise DatasetError(f"no split {split!r} under {root}: found {', '.join(present)}")
    return root


def subset_indices(n: int, limit: int | None) -> np.ndarray:
    """Evenly spaced indices taking ``limit`` of ``n`` items (all when limit is None or >= n)."""
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 1:
        raise DatasetError(f"limit must be >= 1, got {limit}")
    return (np.arange(limit) * n) // limit


class FileImageDataset(ImageDataset):
    """Images stored one per file. Subclasses call ``_set_files`` from ``__init__``."""

    root: Path
    files: list[Path]
    crop: int | None
    skipped: list[str]

    def __init__(self, image_size: int, cache_dir: str | os.PathLike | None, crop: int | None) -> None:
        if image_size < 1:
            raise DatasetError(f"image_size must be positive, got {image_size}")
        self.image_size = int(image_size)
        self.cache_dir = cache_dir
        self.crop = crop
        self.skipped = []
        self._labels: dict[str, np.ndarray] = {}
        self._u8: np.ndarray | None = None
        self._identity: dict[str, Any] = {}

    def _set_files(self, files: Sequence[Path], labels: dict[str, np.ndarray], check: bool,
                   options: dict[str, Any]) -> None:
        """Store the file list (dropping files whose header is unreadable) and the cache identity."""
        sig = hashlib.sha256()
        for f in files:
            st = f.stat()
            sig.update(f"{f.relative_to(self.root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        self._identity = {"root": str(self.root.resolve()), "files": len(files), "sig": sig.hexdigest(),
                          "image_size": self.image_size, "crop": self.crop, **options}
        keep = np.arange(len(files))
        if check:
            bad = [(i, r) for i, f in enumerate(files) if (r := check_header(f)) is not None]
            if bad:
                badset = {i for i, _ in bad}
                keep = np.array([i for i in range(len(files)) if i not in badset], np.int64)
                self.skipped += [f"{files[i]} ({r})" for i, r in bad]
        log_skips(self.name, self.root, self.skipped)
        self.files = [files[i] for i in keep.tolist()]
        self._labels = {k: v[keep] for k, v in labels.items()}
        if not self.files:
            raise DatasetError(f"{self.name}: no readable images under {self.root}")

    def __len__(self) -> int:
        return len(self.files)

    def _decode(self, index: int) -> np.ndarray:
        return decode_image(self.files[index], self.image_size, self.crop)

    @property
    def labels(self) -> dict[str, np.ndarray]:
        return self._labels

    def cache_identity(self) -> dict[str, Any]:
        return self._identity

    def drop_failed(self, keep: np.ndarray, failed: list[str]) -> None:
        self.files = [self.files[i] for i in keep]
        self._labels = {k: v[keep] for k, v in self._labels.items()}
        self.skipped += list(failed)
        log_skips(self.name, self.root, list(failed), stage="decoding")

    def uint8_images(self) -> np.ndarray:
        """uint8 (N, 3, S, S), memory-mapped from the cache (decoded on first use)."""
        if self._u8 is None:
            self._u8 = cached_uint8(self, self.cache_dir)
        return self._u8

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "root": str(self.root), "crop": self.crop,
                "skipped": len(self.skipped), "skipped_examples": self.skipped[:5]}


@register_dataset("folder")
class FolderDataset(FileImageDataset):
    """A folder of .jpg/.jpeg/.png/.webp/.bmp images, searched recursively.

    Labels: ``"class"`` int64 (N,) when the (split) folder's immediate subfolders are classes
    (``class_names`` = sorted subfolder names); otherwise none. ``root`` may be a .tar(.gz)
    archive, unpacked once into the cache dir. ``limit`` keeps an evenly spaced subset.
    """

    name = "folder"

    def __init__(
        self,
        root: str | os.PathLike | None,
        *,
        image_size: int = 64,
        split: str | None = "train",
        cache_dir: str | os.PathLike | None = None,
        limit: int | None = None,
        class_labels: bool | None = None,
        crop: int | None = None,
        check: bool = True,
    ) -> None:
        super().__init__(image_size, cache_dir, crop)
        if root is None:
            raise DatasetError(f"{self.name}: a root folder is required")
        path = Path(root).expanduser()
        if not path.exists():
            raise DatasetError(f"{self.name}: root {path} does not exist")
        self.source = path
        if is_archive(path):
            path = unpack_archive(path, cache_dir, split)
        if not path.is_dir():
            raise DatasetError(f"{self.name}: root {path} is not a folder or .tar(.gz) archive")
        self.root = select_split(path, split)
        self.split = split
        self.limit = limit
        files, labels = self._scan(class_labels)
        if not files:
            raise DatasetError(f"{self.name}: no image files (.jpg/.jpeg/.png/.webp/.bmp) under {self.root}")
        idx = subset_indices(len(files), limit)
        files = [files[i] for i in idx]
        labels = {k: v[idx] for k, v in labels.items()}
        self._set_files(files, labels, check, {"limit": limit, "split": split})

    def _scan(self, class_labels: bool | None) -> tuple[list[Path], dict[str, np.ndarray]]:
        entries = sorted(p for p in self.root.iterdir() if not p.name.startswith("."))
        direct = [p for p in entries if p.is_file() and is_image_file(p.name)]
        subdirs = [p for p in entries if p.is_dir()]
        per_class = {d.name: list_images(d) for d in subdirs} if not direct else {}
        per_class = {k: v for k, v in per_class.items() if v}
        use_classes = len(per_class) >= 2 if class_labels is None else class_labels
        self.class_names: list[str] | None = None
        if not use_classes:
            return list_images(self.root), {}
        if not per_class:
            raise DatasetError(f"{self.name}: class_labels=True but {self.root} has no class subfolders")
        self.class_names = sorted(per_class)
        files = [f for c in self.class_names for f in per_class[c]]
        cls = np.concatenate([np.full(len(per_class[c]), k, np.int64)
                              for k, c in enumerate(self.class_names)])
        return files, {"class": cls}

    def describe(self) -> dict[str, Any]:
        d = {**super().describe(), "source": str(self.source), "split": self.split, "limit": self.limit}
        if self.class_names is not None:
            d["class_names"] = list(self.class_names)
        return d
