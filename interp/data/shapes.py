"""``shapes``: a tiny built-in synthetic dataset for tests and smoke runs.

Item ``i`` is generated from ``np.random.default_rng([seed, split_id, i])`` alone (train 0, test 1,
val 2), so any item can be rebuilt independently at any resolution: one circle / square / triangle
of a random colour, size, position and rotation on a solid or linear-gradient background whose
colour differs clearly from the shape's. Edges are antialiased (2 x 2 supersampling up to 128 px).

Labels: ``"class"`` int64 (N,) 0 circle, 1 square, 2 triangle (``class_names``); ``"center"``
float32 (N, 2) (x, y) in [0, 1]; ``"size"`` float32 (N,) circumradius as a fraction of the side;
``"color"`` float32 (N, 3) shape RGB in [0, 1].
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from interp.data.base import DatasetError, ImageDataset
from interp.data.registry import register_dataset

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle")
_SPLITS = {"train": 0, "test": 1, "val": 2}


def shape_params(seed: int, split_id: int, index: int) -> dict[str, Any]:
    """The random draws of one item (class, colours, geometry)."""
    rng = np.random.default_rng([seed, split_id, index])
    cls = int(rng.integers(3))
    bg0, bg1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    if rng.uniform() < 0.5:
        bg1 = bg0
    color = rng.uniform(0, 1, 3)
    for _ in range(20):  # keep the shape visible against the mean background
        if np.abs(color - (bg0 + bg1) / 2).sum() > 0.6:
            break
        color = rng.uniform(0, 1, 3)
    r = rng.uniform(0.15, 0.32)
    center = rng.uniform(r, 1 - r, 2)
    return dict(cls=cls, bg0=bg0, bg1=bg1, grad_angle=rng.uniform(0, 2 * np.pi), color=color,
                r=r, center=center, theta=rng.uniform(0, 2 * np.pi))


def render(p: dict[str, Any], size: int) -> np.ndarray:
    """One item's parameters -> uint8 (3, size, size)."""
    ss = 2 if size <= 128 else 1
    u = (np.arange(size * ss) + 0.5) / (size * ss)
    x, y = u[None, :], u[:, None]
    ga = p["grad_angle"]
    t = np.clip((x - 0.5) * np.cos(ga) + (y - 0.5) * np.sin(ga) + 0.5, 0, 1)
    dx, dy = x - p["center"][0], y - p["center"][1]
    r, th, cls = p["r"], p["theta"], p["cls"]
    if cls == 0:
        mask = dx**2 + dy**2 <= r**2
    elif cls == 1:
        a = np.abs(np.cos(th) * dx + np.sin(th) * dy)
        b = np.abs(-np.sin(th) * dx + np.cos(th) * dy)
        mask = np.maximum(a, b) <= r / np.sqrt(2)
    else:
        mask = np.ones((size * ss, size * ss), bool)
        for k in range(3):
            ang = th + np.pi + 2 * np.pi * k / 3
            mask &= dx * np.cos(ang) + dy * np.sin(ang) <= r / 2
    cov = mask.reshape(size, ss, size, ss).mean(axis=(1, 3))[None]
    tt = t if t.shape == (size * ss, size * ss) else np.broadcast_to(t, (size * ss, size * ss))
    tt = tt.reshape(size, ss, size, ss).mean(axis=(1, 3))[None]
    bg = p["bg0"][:, None, None] * (1 - tt) + p["bg1"][:, None, None] * tt
    img = bg * (1 - cov) + p["color"][:, None, None] * cov
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


@register_dataset("shapes")
class Shapes(ImageDataset):
    """``n`` synthetic shape images (default 2048), generated in memory on first use."""

    name = "shapes"

    def __init__(self, root: str | os.PathLike | None = None, *, image_size: int = 64,
                 split: str = "train", cache_dir: str | os.PathLike | None = None,
                 n: int = 2048, seed: int = 0) -> None:
        if split not in _SPLITS:
            raise DatasetError(f"shapes: unknown split {split!r} ({', '.join(_SPLITS)})")
        if n < 1 or image_size < 4:
            raise DatasetError(f"shapes: need n >= 1 and image_size >= 4, got n={n}, image_size={image_size}")
        self.image_size, self.n, self.seed, self.split = int(image_size), int(n), int(seed), split
        self.class_names = list(CLASS_NAMES)
        self._params = [shape_params(self.seed, _SPLITS[split], i) for i in range(self.n)]
        self._labels: dict[str, np.ndarray] = {
            "class": np.array([p["cls"] for p in self._params], np.int64),
            "center": np.array([p["center"] for p in self._params], np.float32),
            "size": np.array([p["r"] for p in self._params], np.float32),
            "color": np.array([p["color"] for p in self._params], np.float32),
        }
        self._u8: np.ndarray | None = None

    def __len__(self) -> int:
        return self.n

    def _decode(self, index: int) -> np.ndarray:
        if self._u8 is not None:
            return self._u8[index]
        return render(self._params[index], self.image_size)

    def uint8_images(self) -> np.ndarray:
        """uint8 (N, 3, S, S), rendered once and kept in memory."""
        if self._u8 is None:
            self._u8 = np.stack([render(p, self.image_size) for p in self._params])
        return self._u8

    @property
    def labels(self) -> dict[str, np.ndarray]:
        return self._labels

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "split": self.split, "seed": self.seed,
                "class_names": list(self.class_names)}
