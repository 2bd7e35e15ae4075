"""Keep executed notebooks small: downscaled image previews, no saved widget state.

    data, fmt = preview_image(Path("runs/figures/fig4_latent_walk.png").read_bytes())  # (bytes, "jpeg"|"png")
    nb = slim_notebook(nb)   # a slimmed copy; write_notebook applies it to every notebook it writes

An executed notebook embeds its figures as base64 (a full-size figure is ~1 MB) and, once a widget
was shown, the state of every widget model (``metadata.widgets``, megabytes for an annotation
widget holding its image). Both are rewritten on every run, so both are cut here: images wider or
taller than :data:`PREVIEW_MAX_SIDE` are replaced by a downscaled preview (the full-resolution PNG
stays on disk, linked above the preview by :func:`interp.notebooks.kit.show_result`), and the
widget state is dropped (the widget-view outputs stay; without the state a viewer shows their
``text/plain`` fallback, a live kernel redraws them on re-run).
"""

from __future__ import annotations

import base64
import copy
import io
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image

if TYPE_CHECKING:
    from nbformat import NotebookNode

PREVIEW_MAX_SIDE = 1000  # px: longest side of an embedded image
PREVIEW_JPEG_QUALITY = 80
IMAGE_MIMES = {"png": "image/png", "jpeg": "image/jpeg"}
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGETS_KEY = "widgets"

PreviewFormat = Literal["png", "jpeg"]


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white (JPEG has no alpha; figures are opaque anyway)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def preview_image(data: bytes, max_side: int = PREVIEW_MAX_SIDE, *,
                  quality: int = PREVIEW_JPEG_QUALITY) -> tuple[bytes, PreviewFormat]:
    """A preview of the encoded image ``data`` (any format Pillow reads) for embedding in a notebook.

    The image (``W × H`` pixels, any mode) is flattened onto white to RGB and, if
    ``max(W, H) > max_side``, shrunk with LANCZOS to fit in ``max_side × max_side`` keeping its aspect
    ratio (``thumbnail``: the longest side becomes ``max_side``, the other rounds). Returns the smaller
    encoding of that image — JPEG at ``quality`` or optimised PNG — as ``(bytes, "jpeg" | "png")``;
    an image already within ``max_side`` that came as PNG or JPEG is returned as it was when that is
    smaller still. E.g. a 2656×1186 RGBA figure PNG of 2.3 MB becomes a 1000×447 JPEG of ~0.1 MB.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    with Image.open(io.BytesIO(data)) as src:
        src_format = (src.format or "").lower()
        src.load()
        image = _flatten(src)
    resized = max(image.size) > max_side
    if resized:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    candidates: list[tuple[bytes, PreviewFormat]] = []
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=int(quality), optimize=True, progressive=True)
    candidates.append((buf.getvalue(), "jpeg"))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    candidates.append((buf.getvalue(), "png"))
    if not resized and src_format in IMAGE_MIMES:
        candidates.append((bytes(data), "png" if src_format == "png" else "jpeg"))
    return min(candidates, key=lambda c: len(c[0]))


def image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of the encoded image ``data`` (reads the header only)."""
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def _b64(value: Any) -> bytes:
    """Decode a notebook's base64 image field (a string, or a list of lines in an unnormalised file)."""
    text = "".join(value) if isinstance(value, list) else str(value)
    return base64.b64decode(text)


def slim_output(output: Any, max_side: int = PREVIEW_MAX_SIDE) -> bool:
    """Downscale, in place, the ``image/png`` / ``image/jpeg`` entries of one output whose longest
    side exceeds ``max_side`` (see :func:`preview_image`); everything else in the output (text,
    markdown, widget views and their ``text/plain`` fallback) is kept. True if anything changed."""
    data = output.get("data") if isinstance(output, dict) else None
    if not data:
        return False
    changed = False
    for mime in [m for m in IMAGE_MIMES.values() if m in data]:
        try:
            raw = _b64(data[mime])
            if max(image_size(raw)) <= max_side:
                continue
            small, fmt = preview_image(raw, max_side)
        except Exception:  # noqa: BLE001 - an undecodable image is left as it is
            continue
        new_mime = IMAGE_MIMES[fmt]
        del data[mime]
        meta = output.get("metadata")
        mime_meta = meta.pop(mime, None) if isinstance(meta, dict) else None
        if new_mime not in data:  # a bundle that already has the other format keeps that one
            data[new_mime] = base64.b64encode(small).decode("ascii")
            if mime_meta is not None:
                meta[new_mime] = mime_meta
        changed = True
    return changed


def slim_notebook(nb: NotebookNode, max_side: int = PREVIEW_MAX_SIDE) -> NotebookNode:
    """A copy of ``nb`` fit to commit: ``metadata.widgets`` (saved widget state) removed and every
    embedded PNG/JPEG larger than ``max_side`` replaced by its preview (:func:`slim_output`).

    Cell sources, ids, metadata, execution counts and all other outputs are kept as they are; widget
    view outputs (``application/vnd.jupyter.widget-view+json``) stay, with their ``text/plain``.
    Idempotent: a slimmed notebook comes back equal. ``nb`` itself is not modified."""
    out = copy.deepcopy(nb)
    out.get("metadata", {}).pop(WIDGETS_KEY, None)
    for cell in out.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            slim_output(output, max_side)
    return out


__all__ = ["IMAGE_MIMES", "PREVIEW_JPEG_QUALITY", "PREVIEW_MAX_SIDE", "WIDGETS_KEY", "WIDGET_VIEW_MIME", "image_size",
           "preview_image", "slim_notebook", "slim_output"]
