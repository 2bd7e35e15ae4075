"""A numbered sheet of generated samples to draw window boxes on, and the way back to sample pixels.

    rgb, layout = render_sheet(images, cols=10, scale=2)      # images uint8 (N, 3, S, S)
    save_png("sheet.png", rgb)                                # draw on it (e.g. jupyter-bbox-widget)
    boxes = boxes_from_sheet(widget.bboxes, layout)           # [Box] in SAMPLE pixels

Sheet geometry (all in sheet pixels): sample ``i`` sits in row ``i // cols``, column ``i % cols``;
its tile is ``S·scale`` pixels square, with a ``label_h``-pixel band above it holding its number
and ``pad`` pixels between cells. A box drawn on the sheet belongs to the sample whose tile holds
the box's centre; it is clipped to that tile and divided by ``scale``.

:func:`write_annotation_kit` writes everything someone needs to annotate samples outside Python:
the sheet, each sample enlarged as ``samples/sample_0000.png`` (for CVAT, labelme, … exporting COCO),
a COCO template listing those images, an empty ``boxes.csv`` and ``sheet.json`` (checkpoint, n,
seed, layout).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from interp.analysis.annotations import (
    DEFAULT_LABEL,
    Box,
    boxes_to_csv,
    sample_file_name,
    write_boxes_coco,
)
from interp.io.atomic import atomic_write_bytes, atomic_write_text
from interp.io.images import save_png

__all__ = ["SheetLayout", "boxes_from_sheet", "render_sheet", "write_annotation_kit"]


@dataclass(frozen=True)
class SheetLayout:
    """Where each sample lies on the sheet (sheet pixels)."""

    n: int
    cols: int
    image_size: int
    scale: int = 2
    pad: int = 4
    label_h: int = 14

    @property
    def tile(self) -> int:
        return self.image_size * self.scale

    @property
    def rows(self) -> int:
        return -(-self.n // self.cols)

    @property
    def width(self) -> int:
        return self.pad + self.cols * (self.tile + self.pad)

    @property
    def height(self) -> int:
        return self.pad + self.rows * (self.label_h + self.tile + self.pad)

    def origin(self, index: int) -> tuple[int, int]:
        """(x, y) of the top-left pixel of sample ``index``'s tile."""
        if not 0 <= index < self.n:
            raise IndexError(f"sample {index} is not on the sheet (0..{self.n - 1})")
        r, c = divmod(index, self.cols)
        return self.pad + c * (self.tile + self.pad), self.pad + r * (self.label_h + self.tile + self.pad) + self.label_h

    def to_sheet(self, box: Box) -> dict[str, Any]:
        """A :class:`Box` in sample pixels as a jupyter-bbox-widget box (sheet pixels): the inverse of
        :meth:`to_sample` for boxes inside their tile."""
        ox, oy = self.origin(box.image)
        s = float(self.scale)
        return {"x": ox + box.x0 * s, "y": oy + box.y0 * s, "width": (box.x1 - box.x0) * s,
                "height": (box.y1 - box.y0) * s, "label": box.label}

    def sample_at(self, x: float, y: float) -> int | None:
        """The sample whose tile holds sheet point (x, y), or None (padding, number band, outside)."""
        c = int((x - self.pad) // (self.tile + self.pad))
        r = int((y - self.pad) // (self.label_h + self.tile + self.pad))
        if not (0 <= c < self.cols and 0 <= r < self.rows):
            return None
        i = r * self.cols + c
        if i >= self.n:
            return None
        ox, oy = self.origin(i)
        return i if (ox <= x < ox + self.tile and oy <= y < oy + self.tile) else None

    def to_sample(self, x: float, y: float, width: float, height: float,
                  label: str = DEFAULT_LABEL, source: str | None = None) -> Box:
        """A sheet box (x, y, width, height) as a :class:`Box` in sample pixels (clipped to its tile)."""
        cx, cy = x + width / 2, y + height / 2
        i = self.sample_at(cx, cy)
        if i is None:
            raise ValueError(f"{source or 'box'} at sheet ({x:g}, {y:g}, {width:g}x{height:g}): its centre is not on "
                             f"any sample (drawn on a number or the gap between samples?)")
        ox, oy = self.origin(i)
        x0, y0 = max(x, ox), max(y, oy)
        x1, y1 = min(x + width, ox + self.tile), min(y + height, oy + self.tile)
        s = float(self.scale)
        return Box(i, (x0 - ox) / s, (y0 - oy) / s, (x1 - ox) / s, (y1 - oy) / s, label, source=source)


def render_sheet(images: np.ndarray, cols: int = 10, scale: int = 2, pad: int = 4, label_h: int = 14,
                 first_number: int = 0) -> tuple[np.ndarray, SheetLayout]:
    """uint8 RGB sheet (H, W, 3) of ``images`` uint8 (N, 3, S, S), each enlarged ``scale``× (nearest)
    under its number, and its :class:`SheetLayout`. Numbers are drawn with matplotlib's Agg canvas at
    exactly one figure pixel per sheet pixel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, 3, S, S), got {images.dtype} {images.shape}")
    n, _, s, _ = images.shape
    layout = SheetLayout(n, min(cols, max(n, 1)), s, scale, pad, label_h)
    sheet = np.full((layout.height, layout.width, 3), 255, np.uint8)
    for i in range(n):
        ox, oy = layout.origin(i)
        tile = images[i].transpose(1, 2, 0).repeat(scale, 0).repeat(scale, 1)
        sheet[oy : oy + layout.tile, ox : ox + layout.tile] = tile if tile.shape[2] == 3 else tile.repeat(3, 2)
    dpi = 100
    fig = Figure(figsize=(layout.width / dpi, layout.height / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(sheet, interpolation="nearest", extent=(0, layout.width, layout.height, 0))
    ax.set_xlim(0, layout.width)
    ax.set_ylim(layout.height, 0)
    ax.set_axis_off()
    for i in range(n):
        ox, oy = layout.origin(i)
        ax.text(ox + 1, oy - label_h / 2, str(first_number + i), ha="left", va="center",
                fontsize=label_h * 0.7 * 72 / dpi, color="black", family="DejaVu Sans")
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    if rgb.shape[:2] != (layout.height, layout.width):  # never expected; keep the geometry exact
        raise RuntimeError(f"sheet rendered at {rgb.shape[:2]}, expected {(layout.height, layout.width)}")
    return rgb, layout


def boxes_from_sheet(bboxes: Iterable[Mapping[str, Any]], layout: SheetLayout,
                     label: str | None = DEFAULT_LABEL) -> list[Box]:
    """Sheet boxes as jupyter-bbox-widget gives them (``{"x", "y", "width", "height", "label"}``, sheet
    pixels) → :class:`Box` list in sample pixels; boxes of another label are skipped (``label=None``:
    keep all). Raises ValueError naming the box (``widget box 3``) that lies on no sample."""
    out = []
    for k, b in enumerate(bboxes):
        where = f"widget box {k}"
        try:
            x, y, w, h = (float(b[key]) for key in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where}: expected x, y, width, height numbers, got {dict(b)!r}") from None
        lab = str(b.get("label") or DEFAULT_LABEL)
        if label is not None and lab != label:
            continue
        if w <= 0 or h <= 0:
            raise ValueError(f"{where}: width and height must be > 0, got {w:g}x{h:g}")
        out.append(layout.to_sample(x, y, w, h, lab, source=where))
    return out


def write_annotation_kit(out: str | Path, images: np.ndarray, info: Mapping[str, Any], cols: int = 10,
                         scale: int = 4, sheet_scale: int = 2) -> dict[str, Path]:
    """Write ``out/sheet.png`` (numbered), ``out/samples/sample_NNNN.png`` (``scale``× enlarged),
    ``out/boxes_template.json`` (COCO images at the enlarged size, no annotations),
    ``out/boxes.csv`` (header only, coordinates in the model's image pixels) and ``out/sheet.json``."""
    from PIL import Image

    out = Path(out)
    images = np.asarray(images)
    n, _, s, _ = images.shape
    rgb, layout = render_sheet(images, cols=cols, scale=sheet_scale)
    paths = {"sheet": save_png(out / "sheet.png", rgb)}
    for i in range(n):
        big = images[i].transpose(1, 2, 0).repeat(scale, 0).repeat(scale, 1)
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(big)).save(buf, format="PNG")
        atomic_write_bytes(out / "samples" / sample_file_name(i), buf.getvalue())
    paths["samples"] = out / "samples"
    paths["coco_template"] = write_boxes_coco(out / "boxes_template.json", [], n_images=n, image_size=s,
                                              info=dict(info), scale=scale)
    csv_path = out / "boxes.csv"
    if not csv_path.exists():  # never overwrite someone's boxes
        atomic_write_text(csv_path, boxes_to_csv([]))
    paths["csv"] = csv_path
    meta = {**dict(info), "layout": asdict(layout), "export_scale": scale}
    atomic_write_text(out / "sheet.json", json.dumps(meta, indent=2) + "\n")
    paths["meta"] = out / "sheet.json"
    return paths
