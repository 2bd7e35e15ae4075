"""The embedded worlds as datasets: ``open_dataset("rooms")``, ``open_dataset("faces")``.

Images, ground-truth maps and labels are rendered once per (world, seed, split, n, size) and kept
in a memory-mapped cache (``$INTERP_CACHE_DIR``, default ``~/.cache/interp``), written atomically.
Splits are disjoint index ranges of the same generator: ``train`` uses indices [0, n),
``test`` indices [10**8, 10**8 + n), ``val`` [2·10**8, ...).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from interp.data.base import DatasetError, ImageDataset
from interp.data.cache import resolve_cache_dir
from interp.data.registry import register_dataset
from interp.io.atomic import atomic_open, atomic_write_text, remove_stale_temps, temp_path
from interp.worlds import ATTRIBUTE_NAMES, render

SPLIT_OFFSETS = {"train": 0, "test": 10**8, "val": 2 * 10**8}
CACHE_VERSION = 1
_CHUNK = 1024


class WorldDataset(ImageDataset):
    """``n`` renders of one world. Labels: rooms ``window_count``, ``has_bed``; faces ``attributes``.

    ``maps()`` gives the per-pixel class/part map of every image, uint8 (N, S, S); ``item_labels(i)``
    adds ``"map"`` and (rooms) ``"boxes"`` (k, 4) int window boxes (x0, y0, x1, y1), x1/y1 exclusive.
    """

    world: str = ""
    default_n: int = 10_000

    def __init__(self, root: str | os.PathLike | None = None, *, image_size: int = 64, split: str = "train",
                 cache_dir: str | os.PathLike | None = None, n: int | None = None, seed: int = 0) -> None:
        if root is not None:
            raise DatasetError(f"{self.world}: the embedded world takes no data root (got {root!r})")
        if split not in SPLIT_OFFSETS:
            raise DatasetError(f"{self.world}: unknown split {split!r}; choose from {sorted(SPLIT_OFFSETS)}")
        for key, value in (("n", n), ("seed", seed)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
                raise DatasetError(f"{self.world}: option {key} must be a whole number, got {value!r}")
        n = self.default_n if n is None else int(n)
        if n < 1 or image_size not in (32, 64):
            raise DatasetError(f"{self.world}: need n >= 1 and image_size 32 or 64, got n={n}, image_size={image_size}")
        self.name = self.world
        self.image_size, self.n, self.seed, self.split = int(image_size), n, int(seed), split
        self.cache_dir = resolve_cache_dir(cache_dir)
        self._arrays: dict[str, np.ndarray] | None = None

    # -------------------------------------------------------------- cache

    @property
    def indices(self) -> np.ndarray:
        """The generator indices of this split, int64 (N,)."""
        return np.arange(self.n, dtype=np.int64) + SPLIT_OFFSETS[self.split]

    def _stem(self) -> Path:
        key = f"{self.world}-s{self.seed}-{self.split}-n{self.n}-{self.image_size}px-v{CACHE_VERSION}"
        return self.cache_dir / "worlds" / key

    def _load(self) -> dict[str, np.ndarray]:
        if self._arrays is not None:
            return self._arrays
        stem = self._stem()
        done = stem.with_suffix(".done.json")
        if not done.is_file():
            self._build(stem)
            atomic_write_text(done, json.dumps(self.describe(), indent=2))
        self._arrays = {
            "images": np.load(f"{stem}.images.npy", mmap_mode="r"),
            "maps": np.load(f"{stem}.maps.npy", mmap_mode="r"),
            **dict(np.load(f"{stem}.labels.npz")),
        }
        return self._arrays

    def _build(self, stem: Path) -> None:
        stem.parent.mkdir(parents=True, exist_ok=True)
        S, N = self.image_size, self.n
        finals = {k: Path(f"{stem}.{k}.npy") for k in ("images", "maps")}
        for final in finals.values():
            remove_stale_temps(final)
        tmp = {k: temp_path(final) for k, final in finals.items()}
        try:
            images = np.lib.format.open_memmap(tmp["images"], "w+", np.uint8, (N, 3, S, S))
            maps = np.lib.format.open_memmap(tmp["maps"], "w+", np.uint8, (N, S, S))
            extra: list[Any] = []
            with tqdm(total=N, desc=f"render {self.world}", unit="img", disable=N < 5000) as bar:
                for start in range(0, N, _CHUNK):
                    batch = render(self.world, self.indices[start : start + _CHUNK], seed=self.seed, size=S)
                    images[start : start + len(batch)] = batch.images.transpose(0, 3, 1, 2)
                    maps[start : start + len(batch)] = batch.maps
                    if batch.boxes is not None:
                        extra.extend(batch.boxes)
                    elif batch.attributes is not None:
                        extra.extend(batch.attributes)
                    else:
                        raise DatasetError(f"{self.world}: the renderer gave neither boxes nor attributes")
                    bar.update(len(batch))
            images.flush()
            maps.flush()
            del images, maps
            labels = self._labels_from(extra)
            for key, path in tmp.items():
                os.replace(path, finals[key])
            with atomic_open(f"{stem}.labels.npz", "wb") as fh:
                np.savez(fh, **labels)  # type: ignore[arg-type]  # numpy stubs: **labels could fill allow_pickle (numpy>=2.1)
        finally:
            for path in tmp.values():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)

    def _labels_from(self, extra: list[Any]) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of the ids in :meth:`maps` (rooms: classes, faces: parts); defined by each world."""
        raise NotImplementedError

    # -------------------------------------------------------------- ImageDataset

    def __len__(self) -> int:
        return self.n

    def _decode(self, index: int) -> np.ndarray:
        return np.array(self._load()["images"][index])  # a writable copy

    def uint8_images(self) -> np.ndarray:
        """uint8 (N, 3, S, S), memory-mapped."""
        return self._load()["images"]

    def maps(self) -> np.ndarray:
        """Per-pixel class (rooms) or part (faces) ids, uint8 (N, S, S), memory-mapped."""
        return self._load()["maps"]

    def item_labels(self, index: int) -> dict[str, Any]:
        return {**super().item_labels(index), "map": np.asarray(self.maps()[index])}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "world": self.world, "split": self.split, "seed": self.seed,
                "class_names": list(self.class_names)}


@register_dataset("rooms")
class RoomsDataset(WorldDataset):
    """Bedroom-like scenes with class maps and window boxes (stand-in for LSUN bedrooms)."""

    world = "rooms"

    @property
    def class_names(self) -> tuple[str, ...]:
        from interp.worlds.rooms import CLASS_NAMES

        return tuple(CLASS_NAMES)

    def _labels_from(self, extra: list[np.ndarray]) -> dict[str, np.ndarray]:
        counts = np.array([len(b) for b in extra], np.int64)
        boxes = np.concatenate([np.asarray(b, np.int64).reshape(-1, 4) for b in extra]) if extra else np.zeros((0, 4), np.int64)
        return {"window_count": counts, "box_offsets": np.concatenate([[0], np.cumsum(counts)]), "boxes": boxes}

    @property
    def labels(self) -> dict[str, np.ndarray]:
        arrays = self._load()
        bed = self.class_names.index("bed")
        has_bed = (np.asarray(self.maps()) == bed).any(axis=(1, 2))
        return {"window_count": arrays["window_count"], "has_bed": has_bed}

    def boxes(self, index: int) -> np.ndarray:
        """Window boxes of image ``index``, int64 (k, 4): x0, y0, x1, y1 (x1/y1 exclusive)."""
        arrays = self._load()
        lo, hi = arrays["box_offsets"][index], arrays["box_offsets"][index + 1]
        return arrays["boxes"][lo:hi]

    def item_labels(self, index: int) -> dict[str, Any]:
        return {**super().item_labels(index), "boxes": self.boxes(index)}


@register_dataset("faces")
class FacesDataset(WorldDataset):
    """Faces with independent attributes (male, smiling, eyeglasses, yaw) and part maps."""

    world = "faces"
    attribute_names: tuple[str, ...] = tuple(ATTRIBUTE_NAMES)

    @property
    def class_names(self) -> tuple[str, ...]:
        from interp.worlds.faces import PART_NAMES

        return tuple(PART_NAMES)

    def _labels_from(self, extra: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {"attributes": np.asarray(extra, np.float32).reshape(-1, len(ATTRIBUTE_NAMES))}

    @property
    def labels(self) -> dict[str, np.ndarray]:
        return {"attributes": self._load()["attributes"]}


