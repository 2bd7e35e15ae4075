"""Paper-style figure helpers on matplotlib's object-oriented API (no pyplot, no global state).

Every figure is a :class:`matplotlib.figure.Figure` with its own ``FigureCanvasAgg``, so figures
can be built from several threads or inside a test without touching pyplot's current figure.

    fig = new_figure(8, 8)
    ax = fig.add_axes((0, 0, 1, 0.95))
    show_image_table(ax, images, row_labels=[...], col_labels=[...])   # images uint8 (R, C, 3, S, S)
    save_figure(fig, "figures/fig2_samples_epoch1.png")                # atomic, >= 150 dpi, white
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from interp.io.atomic import atomic_write_bytes
from interp.io.images import image_grid

DPI = 150
PAD = 2          # pixels of white between tiles
FONT = 9         # label font size (points)
TITLE_FONT = 11


def new_figure(width: float, height: float) -> Figure:
    """A white Figure (inches) with its own Agg canvas."""
    fig = Figure(figsize=(width, height), facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def tile(images: np.ndarray | torch.Tensor, pad: int = PAD, pad_value: int = 255) -> np.ndarray:
    """uint8 (R, C, 3, S, S) -> one uint8 (R·(S+pad)+pad, C·(S+pad)+pad, 3) array."""
    images = images.cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    if images.ndim == 4:  # one row
        images = images[None]
    if images.ndim != 5:
        raise ValueError(f"tile expects uint8 (R, C, 3, S, S) or (C, 3, S, S), got shape {images.shape}")
    r, c, ch, h, w = images.shape
    return image_grid(images.reshape(r * c, ch, h, w), nrow=c, padding=pad, pad_value=pad_value)


def show_image_table(ax: Axes, images: np.ndarray | torch.Tensor, row_labels: Sequence[str] | None = None,
                     col_labels: Sequence[str] | None = None, cell_notes: Sequence[Sequence[str]] | None = None,
                     pad: int = PAD, fontsize: float = FONT, col_label_every: int = 1) -> None:
    """Draw uint8 images (R, C, 3, S, S) as one tiled image in ``ax`` (axis off) with row labels on the
    left, column labels on top and optional per-cell notes under each tile (small text)."""
    arr = np.asarray(images.cpu() if torch.is_tensor(images) else images)
    if arr.ndim == 4:
        arr = arr[None]
    h, w = arr.shape[-2:]
    ax.imshow(tile(arr, pad), interpolation="nearest")
    ax.set_axis_off()
    ax.set_facecolor("white")
    step_x, step_y = w + pad, h + pad
    for i, label in enumerate(row_labels or []):
        ax.text(-pad * 2, pad + i * step_y + h / 2, label, ha="right", va="center", fontsize=fontsize)
    for j, label in enumerate(col_labels or []):
        if label and j % col_label_every == 0:
            ax.text(pad + j * step_x + w / 2, -pad, label, ha="center", va="bottom", fontsize=fontsize)
    for i, row in enumerate(cell_notes or []):
        for j, note in enumerate(row):
            if note:
                ax.text(pad + j * step_x + w / 2, pad + i * step_y + h - 1, note, ha="center", va="bottom",
                        fontsize=fontsize * 0.75, color="white",
                        bbox={"facecolor": "black", "alpha": 0.55, "pad": 0.5, "linewidth": 0})


def image_table_figure(images: np.ndarray | torch.Tensor, title: str | None = None,
                       row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                       cell_notes: Sequence[Sequence[str]] | None = None, inch_per_image: float = 0.75,
                       caption: str | None = None) -> Figure:
    """A whole figure holding one labelled image table (see :func:`show_image_table`)."""
    arr = np.asarray(images.cpu() if torch.is_tensor(images) else images)
    if arr.ndim == 4:
        arr = arr[None]
    r, c = arr.shape[:2]
    left = 1.1 if row_labels else 0.15
    top = (0.3 if col_labels else 0.08) + (0.1 + 0.24 * (1 + title.count("\n")) if title else 0)
    bottom = 0.12 + 0.2 * (1 + caption.count("\n")) if caption else 0.08
    w, h = c * inch_per_image, r * inch_per_image
    W, H = w + left + 0.15, h + top + bottom
    fig = new_figure(W, H)
    ax = fig.add_axes((left / W, bottom / H, w / W, h / H))
    show_image_table(ax, arr, row_labels, col_labels, cell_notes)
    if title:
        fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.08 / H, va="top")
    if caption:
        fig.text(0.5, 0.06 / H, caption, ha="center", va="bottom", fontsize=FONT - 1, color="0.25")
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Render ``fig`` to PNG (white background, >= 150 dpi) and write it atomically; returns the path."""
    if dpi < 150:
        raise ValueError(f"figures are saved at >= 150 dpi, got {dpi}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.05)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


__all__ = ["DPI", "image_table_figure", "new_figure", "save_figure", "show_image_table", "tile"]
