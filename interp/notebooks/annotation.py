"""Drawing window boxes by hand in JupyterLab, and the notebook that does it.

    session = AnnotationSession.create(gan, n=150, seed=0, work="runs/fig6_hand")
    widget = session.widget()        # jupyter-bbox-widget over the numbered sheet; draw, then ...
    boxes = session.collect()        # ... the drawn boxes (sample pixels), saved to work/boxes.csv

``collect`` falls back, in order, when nothing was drawn (e.g. the notebook runs headless in CI):
a box file given to it, the ``boxes.csv`` already in ``work`` (boxes drawn earlier), and — for a
model of the rooms world — the rooms segmenter's automatic boxes. It always says which it used.

The notebook ``notebooks/fig6_annotate_by_hand.ipynb`` uses it; it is generated from its spec in
:mod:`interp.notebooks.specs` like every other notebook (``python -m interp.notebooks run --only
fig6_annotate_by_hand``).

jupyter-bbox-widget (``pip install jupyter-bbox-widget``) is only needed to draw; without it the
notebook still runs, on the fallbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interp.analysis.annotations import Box, boxes_per_image, read_boxes, write_boxes
from interp.analysis.sample_sheet import SheetLayout, boxes_from_sheet, render_sheet
from interp.io.images import save_png
from interp.io.atomic import atomic_write_bytes

WIDGET_HINT = "pip install jupyter-bbox-widget  (then reload JupyterLab)"

__all__ = ["AnnotationSession"]


@dataclass
class AnnotationSession:
    """``n`` samples ``G(sample_z(n, cfg, seed))`` on a numbered sheet in ``work``, and their boxes."""

    images: np.ndarray                 # uint8 (n, 3, S, S)
    seed: int
    work: Path
    layout: SheetLayout
    sheet_path: Path
    automatic: Callable[[], list[np.ndarray]] | None = None   # the segmenter's boxes, if any
    _widget: Any = field(default=None, repr=False)
    source: str | None = None

    @classmethod
    def create(cls, G: torch.nn.Module, cfg: Any, n: int = 150, seed: int = 0, work: str | Path = "runs/fig6_hand",
               segmenter: torch.nn.Module | None = None, class_names: Sequence[str] | None = None,
               cols: int = 10, scale: int = 2) -> AnnotationSession:
        """Generate the samples (eval mode) and write the sheet ``work/sheet.png``."""
        from interp.data.base import to_uint8_image
        from interp.core.latent import sample_z
        from interp.analysis.forget import generate

        x = generate(G, sample_z(n, cfg, seed=seed))
        images = to_uint8_image(x).numpy()
        work = Path(work)
        rgb, layout = render_sheet(images, cols=cols, scale=scale)
        sheet = save_png(work / "sheet.png", rgb)
        auto = None
        if segmenter is not None:
            if class_names is None:
                raise ValueError("AnnotationSession.create: a segmenter needs its class_names")
            from interp.analysis.forget import ClassMeter
            from interp.analysis.forget import automatic_boxes

            meter = ClassMeter(segmenter, class_names)
            auto = lambda: automatic_boxes(meter, x)
        return cls(images, seed, work, layout, sheet, auto)

    @property
    def n(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def boxes_path(self) -> Path:
        return self.work / "boxes.csv"

    def saved(self) -> list[Box]:
        """The boxes already in ``work/boxes.csv`` (drawn in an earlier kernel, or by hand), or []."""
        return read_boxes(self.boxes_path, image_size=self.image_size) if self.boxes_path.is_file() else []

    def widget(self) -> Any:
        """A ``BBoxWidget`` over the sheet (class ``window``) that already shows the saved boxes, or None
        (with a hint) if the package is missing. Boxes drawn on it are read by :meth:`collect`."""
        try:
            from jupyter_bbox_widget import BBoxWidget
        except ImportError:
            print(f"jupyter-bbox-widget is not installed, so boxes cannot be drawn here: {WIDGET_HINT}")
            return None
        saved = [self.layout.to_sheet(b) for b in self.saved() if b.image < self.n]
        self._widget = BBoxWidget(image=str(self.sheet_path), classes=["window"], hide_buttons=True, bboxes=saved)
        if saved:
            print(f"{len(saved)} boxes saved earlier in {self.boxes_path} are shown; draw more, then run the next cell")
        return self._widget

    def clear(self) -> Path | None:
        """Forget the saved boxes on purpose: ``work/boxes.csv`` is moved to a numbered backup (returned)
        and the widget is emptied. Nothing else ever removes saved boxes."""
        backup = self._backup()
        if backup is not None:
            self.boxes_path.unlink()
        if self._widget is not None:
            self._widget.bboxes = []
        print(f"cleared the saved boxes (backup: {backup})" if backup else "there were no saved boxes")
        return backup

    def _backup(self) -> Path | None:
        """Copy ``work/boxes.csv`` to the next free ``work/boxes.bak<N>.csv`` (atomically; readable as a box
        file, e.g. ``BOXES = "runs/fig6_hand/boxes.bak1.csv"``); None if there is no file."""
        if not self.boxes_path.is_file():
            return None
        p = self.boxes_path
        k = 1
        while p.with_name(f"{p.stem}.bak{k}{p.suffix}").exists():
            k += 1
        backup = p.with_name(f"{p.stem}.bak{k}{p.suffix}")
        atomic_write_bytes(backup, self.boxes_path.read_bytes())
        return backup

    def drawn(self) -> list[Box]:
        """The boxes drawn on the widget so far, in sample pixels."""
        if self._widget is None:
            return []
        return boxes_from_sheet(list(self._widget.bboxes), self.layout)

    def collect(self, boxes_file: str | Path | None = None, save: bool = True) -> list[np.ndarray]:
        """Per-sample (k, 4) boxes: drawn on the widget, else from ``boxes_file``, else from
        ``work/boxes.csv``, else automatic (segmenter). Drawn or imported boxes are saved to
        ``work/boxes.csv`` (and COCO ``work/boxes.json``); ``self.source`` says which was used."""
        drawn = self.drawn()
        existing = self.boxes_path if self.boxes_path.is_file() else None
        if drawn:  # merged with the saved ones: a new box never loses an earlier one
            saved = self.saved()
            known = {_key(b) for b in saved}
            new = [b for b in drawn if _key(b) not in known]
            boxes = saved + new
            save = save and bool(new)  # nothing new: the file stays as it is
            self.source = (f"drawn on the widget ({len(new)} new, {len(saved)} saved earlier)" if saved
                           else f"drawn on the widget ({len(drawn)} boxes)")
        elif boxes_file is not None:
            boxes, self.source = read_boxes(boxes_file, image_size=self.image_size), f"imported from {boxes_file}"
        elif existing is not None and read_boxes(existing):
            boxes, self.source = read_boxes(existing), f"read from {existing} (drawn earlier)"
            save = False
        elif self.automatic is not None:
            per = self.automatic()
            self.source = "automatic: the rooms segmenter's window boxes (nothing was drawn or imported)"
            print(f"boxes: {self.source}")
            return per
        else:
            raise ValueError("no window boxes: draw some on the widget, pass a box file (BOXES = 'my.csv'), or "
                             f"put them in {self.boxes_path} (image,x0,y0,x1,y1 in sample pixels)")
        path = boxes_file if boxes_file is not None and not drawn else self.boxes_path
        per = boxes_per_image(boxes, self.n, self.image_size, path=path)
        save = save and bool(drawn)  # only drawn boxes are stored; an imported file stays where it is
        if save:
            self._backup()
            write_boxes(self.boxes_path, boxes)
            write_boxes(self.work / "boxes.json", boxes, n_images=self.n, image_size=self.image_size)
        print(f"boxes: {self.source}: {sum(len(b) for b in per)} boxes on {sum(len(b) > 0 for b in per)} of "
              f"{self.n} samples" + (f"; saved to {self.boxes_path}" if save else ""))
        return per


def _key(box: Box) -> tuple[int, float, float, float, float, str]:
    """A box's identity up to float noise (a saved box shown on the widget and read back)."""
    return (box.image, round(box.x0, 3), round(box.y0, 3), round(box.x1, 3), round(box.y1, 3), box.label)
