"""Image grids as arrays and PNG files (no matplotlib needed for plain sample sheets)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from interp.io.atomic import atomic_write_bytes


def image_grid(images: np.ndarray | torch.Tensor, nrow: int | None = None, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 images (N, C, S, S) into one uint8 (H, W, C) array, ``nrow`` images per row."""
    images = images.cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"image_grid expects uint8 (N, C, S, S), got {images.dtype} {images.shape}")
    n, c, h, w = images.shape
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    ncol_rows = int(math.ceil(n / nrow))
    grid = np.full((ncol_rows * (h + padding) + padding, nrow * (w + padding) + padding, c), pad_value, np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + q * (w + padding)
        grid[y : y + h, x : x + w] = images[i].transpose(1, 2, 0)
    return grid


def save_png(path: str | Path, array: np.ndarray, scale: int = 1) -> Path:
    """Write a uint8 (H, W, C) array (C = 1 or 3) as PNG atomically, upscaled ``scale``× with nearest pixels."""
    if scale > 1:
        array = array.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(np.ascontiguousarray(array.squeeze(-1) if array.shape[-1] == 1 else array))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
