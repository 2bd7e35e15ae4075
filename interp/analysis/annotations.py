"""Window boxes drawn on generated samples: one :class:`Box` type, read and written as CSV or COCO JSON.

    boxes = read_boxes("boxes.csv")                  # or a COCO-style .json
    write_boxes("boxes.json", boxes)                 # the format follows the suffix
    per_image = boxes_per_image(boxes, n_images=150, image_size=64)   # [(k, 4) float arrays]

**Coordinates** are image pixels of the generated sample (0 … image_size), ``x`` to the right and
``y`` down; ``(x0, y0)`` is the top-left corner and ``(x1, y1)`` the bottom-right corner,
EXCLUSIVE (so a box of one pixel at (3, 5) is ``3, 5, 4, 6``; the same convention as
:func:`interp.instruments.window_boxes`). Values may be fractional. ``image`` is the index of the
sample in the annotated set (``sample_z(n, cfg, seed)``: sample 0, 1, …; the numbered sheet of
:mod:`interp.analysis.sample_sheet` prints these numbers).

**CSV** — a header line ``image,x0,y0,x1,y1`` (an optional sixth column ``label``; rows whose label
is not the one asked for are skipped), then one box per line. Blank lines and lines starting with
``#`` are ignored.

**COCO JSON** — the usual ``{"images": [...], "annotations": [...], "categories": [...]}``.
``annotations[k].bbox`` is ``[x, y, width, height]`` in pixels (COCO's convention) and
``annotations[k].image_id`` refers to ``images[j].id``. The sample index of an image is the number
in its ``file_name`` (``sample_0007.png`` → 7, the names the sheet exports), else its ``id``.
Only annotations whose category is named ``window`` (``label=``) are read, when categories exist.
Given ``image_size`` (the model's), an image entry that declares a different ``width`` / ``height``
(samples exported enlarged for drawing, see :func:`interp.analysis.sample_sheet.export_samples`)
has its boxes scaled to ``image_size`` pixels.

A malformed file raises :class:`AnnotationError`, whose message names the file and the line (CSV)
or the field (JSON, e.g. ``annotations[3].bbox``) at fault.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interp.io.atomic import atomic_write_text

CSV_COLUMNS: tuple[str, ...] = ("image", "x0", "y0", "x1", "y1")
DEFAULT_LABEL = "window"

__all__ = [
    "CSV_COLUMNS",
    "AnnotationError",
    "Box",
    "boxes_from_arrays",
    "boxes_per_image",
    "read_boxes",
    "read_boxes_coco",
    "read_boxes_csv",
    "sample_file_name",
    "write_boxes",
    "write_boxes_coco",
    "write_boxes_csv",
]


class AnnotationError(ValueError):
    """A box file that cannot be used; the message names the file and the line or field at fault."""

    def __init__(self, path: str | Path | None, where: str | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.where = where
        self.problem = problem
        loc = f"{self.path}" if self.path is not None else "<boxes>"
        super().__init__(f"{loc}{', ' + where if where else ''}: {problem}")


@dataclass(frozen=True)
class Box:
    """One box on sample ``image``: pixels [x0, x1) × [y0, y1) (x1/y1 exclusive, may be fractional).

    ``source`` (e.g. ``"line 12"``) says where the box was read from; it is not compared.
    """

    image: int
    x0: float
    y0: float
    x1: float
    y1: float
    label: str = DEFAULT_LABEL
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.image, bool) or int(self.image) != self.image or self.image < 0:
            raise ValueError(f"box image index must be an integer >= 0, got {self.image!r}")
        for name in ("x0", "y0", "x1", "y1"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(float(v)):
                raise ValueError(f"box {name} must be a finite number, got {v!r}")
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(f"box needs x1 > x0 and y1 > y0, got ({self.x0}, {self.y0}, {self.x1}, {self.y1})")

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (float(self.x0), float(self.y0), float(self.x1), float(self.y1))


def sample_file_name(index: int) -> str:
    """The file name the sample sheet exports sample ``index`` under (``sample_0007.png``)."""
    return f"sample_{index:04d}.png"


# ----------------------------------------------------------------------------------------------- CSV


def _number(text: str, path: Path | None, where: str, column: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise AnnotationError(path, where, f"column {column!r} is not a number: {text!r}") from None
    if not math.isfinite(v):
        raise AnnotationError(path, where, f"column {column!r} is not finite: {text!r}")
    return v


def parse_boxes_csv(text: str, path: str | Path | None = None, label: str | None = DEFAULT_LABEL) -> list[Box]:
    """Boxes from CSV text (see the module docstring); ``path`` only names the file in errors."""
    p = None if path is None else Path(path)
    rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise AnnotationError(p, None, f"empty file; expected a header line {','.join(CSV_COLUMNS)}")
    head_no, head_line = rows[0]
    header = [h.strip().lower() for h in next(csv.reader([head_line]))]
    if tuple(header[:5]) != CSV_COLUMNS or len(header) > 6 or (len(header) == 6 and header[5] != "label"):
        raise AnnotationError(p, f"line {head_no}", f"header must be {','.join(CSV_COLUMNS)}[,label], got "
                                                    f"{head_line.strip()!r}")
    has_label = len(header) == 6
    boxes = []
    for n, line in rows[1:]:
        where = f"line {n}"
        cells = [c.strip() for c in next(csv.reader([line]))]
        if len(cells) != len(header):
            raise AnnotationError(p, where, f"expected {len(header)} columns ({','.join(header)}), got {len(cells)}: "
                                            f"{line.strip()!r}")
        img = _number(cells[0], p, where, "image")
        if img != int(img) or img < 0:
            raise AnnotationError(p, where, f"column 'image' must be a sample index >= 0, got {cells[0]!r}")
        x0, y0, x1, y1 = (_number(c, p, where, name) for c, name in zip(cells[1:5], CSV_COLUMNS[1:], strict=True))
        if not (x1 > x0 and y1 > y0):
            raise AnnotationError(p, where, f"box needs x1 > x0 and y1 > y0, got {x0:g},{y0:g},{x1:g},{y1:g}")
        lab = cells[5] if has_label and cells[5] else DEFAULT_LABEL
        if label is not None and lab != label:
            continue
        boxes.append(Box(int(img), x0, y0, x1, y1, lab, source=where))
    return boxes


def read_boxes_csv(path: str | Path, label: str | None = DEFAULT_LABEL) -> list[Box]:
    """Boxes from a CSV file ``image,x0,y0,x1,y1[,label]`` (image pixels, x1/y1 exclusive)."""
    path = Path(path)
    try:
        text = path.read_text()
    except UnicodeDecodeError as exc:
        raise AnnotationError(path, None, f"not a text file ({exc})") from None
    return parse_boxes_csv(text, path, label)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{float(v):.6g}"


def boxes_to_csv(boxes: Iterable[Box], with_label: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_COLUMNS, *(["label"] if with_label else [])])
    for b in boxes:
        w.writerow([b.image, *(_fmt(v) for v in b.xyxy), *([b.label] if with_label else [])])
    return buf.getvalue()


def write_boxes_csv(path: str | Path, boxes: Iterable[Box]) -> Path:
    """Write ``boxes`` as CSV (a ``label`` column only when some label is not ``window``); atomic."""
    boxes = list(boxes)
    path = Path(path)
    atomic_write_text(path, boxes_to_csv(boxes, with_label=any(b.label != DEFAULT_LABEL for b in boxes)))
    return path


# ---------------------------------------------------------------------------------------------- COCO

_TRAILING_NUMBER = re.compile(r"(\d+)(?=\.[A-Za-z0-9]+$|$)")


def _field(obj: Any, key: str, where: str, path: Path | None, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise AnnotationError(path, where, f"expected an object, got {type(obj).__name__}")
    if key not in obj:
        raise AnnotationError(path, f"{where}.{key}", "missing")
    v = obj[key]
    if not isinstance(v, kind) or isinstance(v, bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise AnnotationError(path, f"{where}.{key}", f"expected {names}, got {v!r}")
    return v


def _image_index(img: dict[str, Any], where: str, path: Path | None) -> int:
    name = img.get("file_name")
    if name is not None:
        if not isinstance(name, str):
            raise AnnotationError(path, f"{where}.file_name", f"expected a string, got {name!r}")
        m = _TRAILING_NUMBER.search(Path(name).name)
        if m:
            return int(m.group(1))
    i = _field(img, "id", where, path, int)
    if i < 0:
        raise AnnotationError(path, f"{where}.id", f"a sample index must be >= 0, got {i}")
    return i


def _image_scale(img: dict[str, Any], where: str, path: Path | None, image_size: int | None) -> tuple[float, float]:
    if image_size is None:
        return 1.0, 1.0
    scale = []
    for key in ("width", "height"):
        v = img.get(key)
        if v is None:
            scale.append(1.0)
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
            raise AnnotationError(path, f"{where}.{key}", f"expected a positive number of pixels, got {v!r}")
        scale.append(float(image_size) / float(v))
    return scale[0], scale[1]


def parse_boxes_coco(data: Any, path: str | Path | None = None, label: str | None = DEFAULT_LABEL,
                     image_size: int | None = None) -> list[Box]:
    """Boxes from a parsed COCO-style object (see the module docstring)."""
    p = None if path is None else Path(path)
    if not isinstance(data, dict):
        raise AnnotationError(p, None, f"expected a JSON object with 'images' and 'annotations', got "
                                       f"{type(data).__name__}")
    images = _field(data, "images", "top level", p, list)
    anns = _field(data, "annotations", "top level", p, list)
    cats = data.get("categories", [])
    if not isinstance(cats, list):
        raise AnnotationError(p, "categories", f"expected a list, got {type(cats).__name__}")
    cat_names: dict[int, str] = {}
    for k, c in enumerate(cats):
        cid = _field(c, "id", f"categories[{k}]", p, int)
        cat_names[cid] = _field(c, "name", f"categories[{k}]", p, str)
    index_of: dict[int, int] = {}
    scale_of: dict[int, tuple[float, float]] = {}
    for k, img in enumerate(images):
        iid = _field(img, "id", f"images[{k}]", p, int)
        if iid in index_of:
            raise AnnotationError(p, f"images[{k}].id", f"duplicate image id {iid}")
        index_of[iid] = _image_index(img, f"images[{k}]", p)
        scale_of[iid] = _image_scale(img, f"images[{k}]", p, image_size)
    boxes = []
    for k, a in enumerate(anns):
        where = f"annotations[{k}]"
        iid = _field(a, "image_id", where, p, int)
        if iid not in index_of:
            raise AnnotationError(p, f"{where}.image_id", f"no image with id {iid} in 'images'")
        bbox = _field(a, "bbox", where, p, list)
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox):
            raise AnnotationError(p, f"{where}.bbox", f"expected [x, y, width, height] numbers, got {bbox!r}")
        x, y, w, h = (float(v) for v in bbox)
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            raise AnnotationError(p, f"{where}.bbox", f"width and height must be > 0 and all values finite, got "
                                                     f"{bbox!r}")
        lab = DEFAULT_LABEL
        if "category_id" in a and cat_names:
            cid = _field(a, "category_id", where, p, int)
            if cid not in cat_names:
                raise AnnotationError(p, f"{where}.category_id", f"no category with id {cid} in 'categories'")
            lab = cat_names[cid]
        if label is not None and lab != label:
            continue
        sx, sy = scale_of[iid]
        boxes.append(Box(index_of[iid], x * sx, y * sy, (x + w) * sx, (y + h) * sy, lab, source=where))
    return boxes


def read_boxes_coco(path: str | Path, label: str | None = DEFAULT_LABEL, image_size: int | None = None) -> list[Box]:
    """Boxes from a COCO-style JSON file; JSON syntax errors name the line and column."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise AnnotationError(path, f"line {exc.lineno} column {exc.colno}", f"invalid JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise AnnotationError(path, None, f"not a text file ({exc})") from None
    return parse_boxes_coco(data, path, label, image_size)


def boxes_to_coco(boxes: Iterable[Box], n_images: int | None = None, image_size: int | None = None,
                  info: dict[str, Any] | None = None, scale: float = 1.0) -> dict[str, Any]:
    """A COCO-style object: one image per sample (``id`` = sample index, ``file_name`` =
    :func:`sample_file_name`), one category per label (``window`` first, id 1). ``scale`` > 1 writes
    the boxes and the images' width/height for samples exported enlarged by that factor."""
    boxes = list(boxes)
    n = n_images if n_images is not None else (max((b.image for b in boxes), default=-1) + 1)
    labels = [DEFAULT_LABEL] + sorted({b.label for b in boxes} - {DEFAULT_LABEL})
    cat_id = {name: k + 1 for k, name in enumerate(labels)}
    images = []
    for i in range(n):
        img: dict[str, Any] = {"id": i, "file_name": sample_file_name(i)}
        if image_size is not None:
            img.update(width=int(round(image_size * scale)), height=int(round(image_size * scale)))
        images.append(img)
    anns = [{"id": k + 1, "image_id": b.image, "category_id": cat_id[b.label],
             "bbox": [b.x0 * scale, b.y0 * scale, (b.x1 - b.x0) * scale, (b.y1 - b.y0) * scale],
             "area": (b.x1 - b.x0) * (b.y1 - b.y0) * scale**2, "iscrowd": 0}
            for k, b in enumerate(boxes)]
    out: dict[str, Any] = {"images": images, "annotations": anns,
                           "categories": [{"id": cat_id[n_], "name": n_} for n_ in labels]}
    if info:
        out["info"] = info
    return out


def write_boxes_coco(path: str | Path, boxes: Iterable[Box], n_images: int | None = None,
                     image_size: int | None = None, info: dict[str, Any] | None = None, scale: float = 1.0) -> Path:
    """Write ``boxes`` as COCO-style JSON (see :func:`boxes_to_coco`); atomic."""
    path = Path(path)
    atomic_write_text(path, json.dumps(boxes_to_coco(boxes, n_images, image_size, info, scale), indent=1) + "\n")
    return path


# ------------------------------------------------------------------------------------------- generic


def read_boxes(path: str | Path, label: str | None = DEFAULT_LABEL, image_size: int | None = None) -> list[Box]:
    """Boxes from ``path``: ``.csv`` or ``.json`` (COCO-style), by suffix; ``image_size`` rescales COCO
    images that declare another width/height (CSV coordinates are always the model's image pixels)."""
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, None, "no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_boxes_csv(path, label)
    if suffix == ".json":
        return read_boxes_coco(path, label, image_size)
    raise AnnotationError(path, None, f"unknown box format {suffix!r}; use .csv (image,x0,y0,x1,y1) or .json (COCO)")


def write_boxes(path: str | Path, boxes: Iterable[Box], n_images: int | None = None,
                image_size: int | None = None) -> Path:
    """Write ``boxes`` as ``.csv`` or ``.json`` (COCO-style), by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_boxes_csv(path, boxes)
    if suffix == ".json":
        return write_boxes_coco(path, boxes, n_images, image_size)
    raise ValueError(f"{path}: unknown box format {suffix!r}; use .csv or .json")


def boxes_from_arrays(per_image: Sequence[np.ndarray], label: str = DEFAULT_LABEL) -> list[Box]:
    """:class:`Box` list from per-image (k, 4) arrays x0, y0, x1, y1 (e.g. :func:`window_boxes`)."""
    return [Box(i, float(x0), float(y0), float(x1), float(y1), label=label) for i, arr in enumerate(per_image)
            for x0, y0, x1, y1 in np.asarray(arr).reshape(-1, 4)]


def boxes_per_image(boxes: Iterable[Box], n_images: int, image_size: int | None = None,
                    path: str | Path | None = None) -> list[np.ndarray]:
    """Per sample 0 … n_images − 1, a float64 (k, 4) array of its boxes x0, y0, x1, y1.

    Raises :class:`AnnotationError` (naming ``path`` and the box's line / field) for a box on a
    sample index ≥ ``n_images`` or, given ``image_size``, a box lying entirely outside the image.
    Boxes reaching past the border are clipped to it.
    """
    out: list[list[tuple[float, ...]]] = [[] for _ in range(n_images)]
    for b in boxes:
        if b.image >= n_images:
            raise AnnotationError(path, b.source, f"box on sample {b.image}, but only samples 0..{n_images - 1} "
                                                  f"were annotated (is --n / the seed the same as the sheet's?)")
        x0, y0, x1, y1 = b.xyxy
        if image_size is not None:
            x0, y0 = max(x0, 0.0), max(y0, 0.0)
            x1, y1 = min(x1, float(image_size)), min(y1, float(image_size))
            if not (x1 > x0 and y1 > y0):
                raise AnnotationError(path, b.source, f"box {b.xyxy} lies outside the {image_size}x{image_size} "
                                                      f"image (coordinates are image pixels)")
        out[b.image].append((x0, y0, x1, y1))
    return [np.array(v, np.float64).reshape(-1, 4) for v in out]
