"""Image decoding helpers: any PIL-readable image -> uint8 (3, S, S) RGB, centre-cropped and resized.

Conventions (shared by every file-based loader):

* Mode conversion: grayscale, palette, CMYK, 16-bit -> RGB. Images with transparency (RGBA, LA,
  palette with a transparent index) are composited on **black** (i.e. RGB multiplied by alpha).
* EXIF orientation is applied (photos from cameras come out upright).
* Geometry: a centred square crop (side ``min(w, h)``, or ``crop`` pixels when given and it fits),
  then a Lanczos (antialiased) resize to ``size`` x ``size``. An image already at the target size
  is not resampled, so its pixels are kept exactly.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from os import PathLike

import numpy as np
from PIL import Image, ImageOps

from interp.data.base import DatasetError

#: Recognised image file extensions (lower case; matching is case-insensitive).
IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})

#: Exceptions PIL raises for unreadable / corrupt / truncated data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)

log = logging.getLogger("interp.data")


def is_image_file(name: str) -> bool:
    """True if ``name`` has a recognised image extension (case-insensitive)."""
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> "RGB"; transparency is composited on black, 16-bit scaled to 8-bit."""
    if img.mode == "RGB":
        return img
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).round().astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return img.convert("RGB")


def center_crop_box(width: int, height: int, crop: int | None = None) -> tuple[int, int, int, int]:
    """(left, upper, right, lower) of the centred square of side ``crop`` (or ``min(w, h)``)."""
    side = min(width, height) if crop is None else min(crop, width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def crop_resize(img: Image.Image, size: int, crop: int | None = None) -> Image.Image:
    """Centre square crop then antialiased (Lanczos) resize to ``size`` x ``size``."""
    box = center_crop_box(img.width, img.height, crop)
    if box != (0, 0, img.width, img.height):
        img = img.crop(box)
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return img


def pil_to_chw(img: Image.Image) -> np.ndarray:
    """RGB PIL image -> uint8 (3, H, W)."""
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))


def decode_image(
    source: str | PathLike | bytes, size: int, crop: int | None = None, *, what: str | None = None
) -> np.ndarray:
    """Decode a file path or encoded bytes -> uint8 (3, size, size).

    Raises DatasetError naming ``what`` (default: the path) when the data is unreadable/corrupt.
    """
    name = what if what is not None else str(source) if not isinstance(source, bytes) else "<bytes>"
    try:
        fp = io.BytesIO(source) if isinstance(source, bytes) else source
        with Image.open(fp) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            return pil_to_chw(crop_resize(to_rgb(img), size, crop))
    except _DECODE_ERRORS as err:
        raise DatasetError(f"cannot decode image {name}: {err}") from err


def check_header(path: str | PathLike) -> str | None:
    """Cheap readability check (opens and parses the header only). None if fine, else the reason."""
    try:
        with Image.open(path) as img:
            img.size  # noqa: B018 - parsed with the header
        return None
    except _DECODE_ERRORS as err:
        return f"{type(err).__name__}: {err}"


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, 3, H, W) -> uint8 (N, 3, size, size) via ``crop_resize`` (copy; same if H=W=size)."""
    if images.shape[-2:] == (size, size):
        return images
    out = np.empty((len(images), 3, size, size), np.uint8)
    for i, img in enumerate(images):
        out[i] = pil_to_chw(crop_resize(Image.fromarray(img.transpose(1, 2, 0)), size))
    return out


def chw_resized(img: np.ndarray, size: int) -> np.ndarray:
    """One uint8 (3, H, W) -> uint8 (3, size, size) (centre crop + Lanczos; no-op at size)."""
    if img.shape[-2:] == (size, size):
        return img
    return pil_to_chw(crop_resize(Image.fromarray(np.ascontiguousarray(img.transpose(1, 2, 0))), size))


def log_skips(dataset: str, where: object, failed: Sequence[str], stage: str = "opening") -> None:
    """Warn once about skipped unreadable images: the count and up to 5 of them."""
    if not failed:
        return
    shown = "; ".join(failed[:5]) + (" ..." if len(failed) > 5 else "")
    log.warning("%s: skipped %d unreadable image(s) under %s while %s: %s",
                dataset, len(failed), where, stage, shown)
