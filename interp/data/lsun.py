"""LSUN scene categories as distributed: an lmdb directory (e.g. ``bedroom_train_lmdb/``) whose keys
are image ids and whose values are encoded images (webp or jpeg).

Geometry: centred square crop + Lanczos resize (same as resizing the short side and centre
cropping, the DCGAN recipe). ``limit`` keeps the first ``limit`` keys in lmdb order (LSUN bedrooms
has 3,033,042 images). Values that fail to decode are skipped and counted when the cache is built.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from interp.data.base import DatasetError, ImageDataset
from interp.data.cache import cached_uint8, file_signature
from interp.data.imageio import decode_image, log_skips
from interp.data.registry import register_dataset


def _open_env(path: Path) -> Any:
    """A read-only ``lmdb.Environment`` (py-lmdb ships no type information)."""
    import lmdb

    try:
        return lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False,
                         max_readers=1024)
    except lmdb.Error as err:
        raise DatasetError(f"lsun: cannot open lmdb at {path}: {err}") from err


@register_dataset("lsun")
class LSUN(ImageDataset):
    """No labels (``category`` — the lmdb folder name minus ``_train_lmdb`` etc. — is in describe)."""

    name = "lsun"

    def __init__(
        self,
        root: str | os.PathLike | None,
        *,
        image_size: int = 64,
        split: str = "train",
        cache_dir: str | os.PathLike | None = None,
        limit: int | None = None,
        crop: int | None = None,
    ) -> None:
        if root is None:
            raise DatasetError("lsun: a root (the *_lmdb folder) is required")
        self.root = Path(root).expanduser()
        if not (self.root / "data.mdb").is_file():
            raise DatasetError(f"lsun: {self.root} is not an lmdb directory (no data.mdb)")
        self.image_size, self.cache_dir, self.limit, self.crop = int(image_size), cache_dir, limit, crop
        self.split = split
        self.skipped: list[str] = []
        self._env: Any = None  # an lmdb.Environment, held open only while uint8_images() decodes
        self._pid = -1
        self._lock = threading.Lock()
        keys: list[bytes] = []
        env = _open_env(self.root)
        try:
            with env.begin() as txn:
                for key in txn.cursor().iternext(keys=True, values=False):
                    if limit is not None and len(keys) >= limit:
                        break
                    keys.append(bytes(key))
        finally:
            env.close()
        if not keys:
            raise DatasetError(f"lsun: the lmdb at {self.root} holds no entries")
        self.keys = np.array(keys, dtype=object if any(k.endswith(b"\0") for k in keys) else bytes)
        self._identity = {"data.mdb": file_signature(self.root / "data.mdb"), "limit": limit,
                          "image_size": self.image_size, "crop": crop, "entries": len(keys)}
        self._u8: np.ndarray | None = None

    def _read(self, key: bytes) -> bytes | None:
        """The value of ``key``; opens the environment for this one read unless it is held open
        (py-lmdb allows one open handle per environment per process, so none is kept idle)."""
        with self._lock:
            if self._env is not None and self._pid == os.getpid():
                with self._env.begin(buffers=False) as txn:
                    return txn.get(key)
            env = _open_env(self.root)
            try:
                with env.begin(buffers=False) as txn:
                    return txn.get(key)
            finally:
                env.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_env"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.keys)

    def _decode(self, index: int) -> np.ndarray:
        if self._u8 is not None:  # already decoded: serve from the cache
            return np.asarray(self._u8[index])
        key = bytes(self.keys[index])
        value = self._read(key)
        if value is None:
            raise DatasetError(f"lsun: key {key!r} vanished from {self.root}")
        return decode_image(value, self.image_size, self.crop, what=f"{self.root} key {key!r}")

    def cache_identity(self) -> dict[str, Any]:
        return self._identity

    def drop_failed(self, keep: np.ndarray, failed: list[str]) -> None:
        self.keys = self.keys[keep]
        self.skipped += list(failed)
        log_skips(self.name, self.root, list(failed), stage="decoding")

    def uint8_images(self) -> np.ndarray:
        """uint8 (N, 3, S, S), memory-mapped from the cache (decoded on first use)."""
        if self._u8 is None:
            with self._lock:
                env = self._env = _open_env(self.root)
                self._pid = os.getpid()
            try:
                self._u8 = cached_uint8(self, self.cache_dir)
            finally:
                with self._lock:
                    self._env = None
                env.close()
        return self._u8

    def describe(self) -> dict[str, Any]:
        category = self.root.name
        for suffix in ("_train_lmdb", "_val_lmdb", "_lmdb"):
            category = category.removesuffix(suffix)
        return {**super().describe(), "root": str(self.root), "category": category, "limit": self.limit,
                "crop": self.crop, "skipped": len(self.skipped), "skipped_examples": self.skipped[:5]}
