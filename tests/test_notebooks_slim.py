"""Notebook slimming: image previews, stripped widget state, and the size of the committed notebooks."""

from __future__ import annotations

import base64
import copy
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from interp.notebooks.slim import PREVIEW_MAX_SIDE, WIDGET_VIEW_MIME, preview_image, slim_notebook

nbformat = pytest.importorskip("nbformat")
from nbformat import NotebookNode  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
COMMITTED_LIMIT = 4 * 1024 * 1024  # bytes, all committed notebooks together


def png_bytes(width: int, height: int, mode: str = "RGBA", seed: int = 0) -> bytes:
    """A noisy PNG (noise so that it does not compress to nothing)."""
    rng = np.random.default_rng(seed)
    channels = len(mode)
    pixels = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, mode).save(buf, format="PNG")
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    """The decoded image, with ``format`` ("PNG", "JPEG") kept."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        out = im.copy()
        out.format = im.format
        return out


# ------------------------------------------------------------------------------------ preview_image


@pytest.mark.parametrize(("size", "max_side"), [((2656, 1186), 1000), ((975, 1062), 500), ((300, 1200), 400)])
def test_preview_caps_longest_side_and_keeps_aspect(size: tuple[int, int], max_side: int) -> None:
    raw = png_bytes(*size)
    data, fmt = preview_image(raw, max_side)
    assert fmt in ("png", "jpeg")
    im = decode(data)
    assert im.format == fmt.upper()
    assert im.mode == "RGB"
    assert max(im.size) == max_side
    w, h = size
    assert abs(im.size[0] / im.size[1] - w / h) < 0.01
    # the short side is the rounded scaled length (within a pixel)
    short = min(w, h) * max_side / max(w, h)
    assert abs(min(im.size) - short) <= 1


def test_preview_of_small_image_keeps_its_size() -> None:
    raw = png_bytes(120, 80, "RGB")
    data, fmt = preview_image(raw, 1000)
    assert decode(data).size == (120, 80)
    assert len(data) <= len(raw)


def test_preview_picks_the_smaller_encoding() -> None:
    flat = Image.new("RGB", (1600, 800), (255, 255, 255))  # flat colour: PNG beats JPEG
    buf = io.BytesIO()
    flat.save(buf, format="PNG")
    data, fmt = preview_image(buf.getvalue(), 800)
    assert fmt == "png" and decode(data).size == (800, 400)
    noisy, fmt_noisy = preview_image(png_bytes(1600, 800, "RGB"), 800)  # noise: JPEG beats PNG
    assert fmt_noisy == "jpeg" and decode(noisy).size == (800, 400)


def test_preview_flattens_transparency_onto_white() -> None:
    im = Image.new("RGBA", (1200, 600), (0, 0, 0, 0))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    data, _ = preview_image(buf.getvalue(), 600)
    pixel = decode(data).convert("RGB").getpixel((10, 10))
    assert isinstance(pixel, tuple) and min(pixel) > 245


def test_preview_rejects_bad_max_side() -> None:
    with pytest.raises(ValueError):
        preview_image(png_bytes(10, 10), 0)


# ------------------------------------------------------------------------------------ slim_notebook


def image_output(raw: bytes, mime: str = "image/png") -> NotebookNode:
    return new_output("display_data", data={mime: base64.b64encode(raw).decode("ascii"),
                                            "text/plain": "<IPython.core.display.Image object>"})


def sample_notebook() -> NotebookNode:
    big = png_bytes(2400, 1200, seed=1)
    small = png_bytes(64, 48, seed=2)
    widget_view = new_output("execute_result", execution_count=2, data={
        WIDGET_VIEW_MIME: {"model_id": "abc123", "version_major": 2, "version_minor": 0},
        "text/plain": "BBoxWidget(classes=['window'], image='runs/fig6_hand/sheet.png')"})
    cells = [
        new_markdown_cell("# Title\n\ntext", id="title"),
        new_code_cell("x = 1", id="parameters", metadata={"tags": ["parameters"]}, execution_count=1),
        new_code_cell("widget", id="draw", execution_count=2, outputs=[widget_view]),
        new_code_cell("show_result(result)", id="run", execution_count=3, outputs=[
            new_output("display_data", data={"text/markdown": "`runs/figures/big.png`", "text/plain": "<Markdown>"}),
            image_output(big),
            image_output(small),
            new_output("stream", name="stdout", text="done\n"),
        ]),
    ]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {
            "state": {"abc123": {"model_name": "AnyModel", "state": {"image_bytes": "x" * 10_000}}},
            "version_major": 2, "version_minor": 0}},
    })
    nbformat.validate(nb)
    return nb


def test_slim_notebook_strips_widgets_and_shrinks_big_images() -> None:
    nb = sample_notebook()
    before = copy.deepcopy(nb)
    slim = slim_notebook(nb)
    nbformat.validate(slim)
    assert nb == before  # the input is not modified
    assert "widgets" not in slim.metadata
    assert slim.metadata.kernelspec == nb.metadata.kernelspec

    # sources, ids, cell metadata, execution counts unchanged
    for a, b in zip(nb.cells, slim.cells, strict=True):
        assert (a.id, a.cell_type, a.source, a.metadata) == (b.id, b.cell_type, b.source, b.metadata)
        if a.cell_type == "code":
            assert a.execution_count == b.execution_count
            assert len(a.outputs) == len(b.outputs)

    # the widget view and its text/plain fallback stay
    assert slim.cells[2].outputs == nb.cells[2].outputs

    md, big, small, stream = slim.cells[3].outputs
    assert md == nb.cells[3].outputs[0] and stream == nb.cells[3].outputs[3]
    assert small == nb.cells[3].outputs[2]  # already small: untouched, still PNG
    (mime,) = [m for m in big.data if m.startswith("image/")]
    shrunk = base64.b64decode(big.data[mime])
    assert max(decode(shrunk).size) == PREVIEW_MAX_SIDE
    assert decode(shrunk).size == (PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE // 2)
    assert len(shrunk) < len(base64.b64decode(nb.cells[3].outputs[1].data["image/png"]))
    assert big.data["text/plain"] == "<IPython.core.display.Image object>"

    assert len(nbformat.writes(slim)) < len(nbformat.writes(nb)) / 2


def test_slim_notebook_is_idempotent() -> None:
    once = slim_notebook(sample_notebook())
    twice = slim_notebook(once)
    assert twice == once
    assert nbformat.writes(twice) == nbformat.writes(once)


def test_slim_notebook_moves_per_mime_metadata_and_handles_jpeg() -> None:
    big_rgb = png_bytes(1500, 1500, "RGB", seed=3)
    jpeg = io.BytesIO()
    decode(big_rgb).save(jpeg, format="JPEG", quality=95)
    out_png = image_output(big_rgb)
    out_png.metadata = {"image/png": {"width": 600}}
    out_jpeg = image_output(jpeg.getvalue(), "image/jpeg")
    nb = new_notebook(cells=[new_code_cell("show()", id="c", execution_count=1, outputs=[out_png, out_jpeg])])
    slim = slim_notebook(nb, max_side=300)
    nbformat.validate(slim)
    for out in slim.cells[0].outputs:
        (mime,) = [m for m in out.data if m.startswith("image/")]
        assert max(decode(base64.b64decode(out.data[mime])).size) == 300
    first = slim.cells[0].outputs[0]
    (mime,) = [m for m in first.data if m.startswith("image/")]
    assert first.metadata == {mime: {"width": 600}}


def test_write_notebook_slims(tmp_path: Path) -> None:
    from interp.notebooks.build import write_notebook

    nb = sample_notebook()
    path = write_notebook(nb, tmp_path / "nb.ipynb")
    back = nbformat.read(path, as_version=4)
    assert "widgets" not in back.metadata
    assert back == slim_notebook(nb)
    assert "widgets" in nb.metadata  # the caller's notebook is left as it was


def test_show_result_links_full_png_and_embeds_preview(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("IPython")
    from interp.figures.registry import FigureResult
    from interp.notebooks.kit import show_result

    monkeypatch.chdir(tmp_path)
    png = Path("runs/figures/wide.png")
    png.parent.mkdir(parents=True)
    png.write_bytes(png_bytes(2656, 1186, seed=4))
    shown: list[object] = []
    show_result(FigureResult([png], {"score": 0.5}), display=shown.append)
    link, image, table = shown
    assert link.data.startswith("[`runs/figures/wide.png`](runs/figures/wide.png)")  # type: ignore[attr-defined]
    assert "2656×1186" in link.data  # type: ignore[attr-defined]
    assert image.format in ("jpeg", "png")  # type: ignore[attr-defined]
    assert decode(image.data).size == (PREVIEW_MAX_SIDE, 447)  # type: ignore[attr-defined]
    assert "| `score` | 0.5 |" in table.data  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- committed notebooks


def committed_notebooks() -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert paths, f"no notebooks in {NOTEBOOKS}"
    return paths


def test_committed_notebooks_are_small() -> None:
    sizes = {p.name: p.stat().st_size for p in committed_notebooks()}
    assert sum(sizes.values()) <= COMMITTED_LIMIT, sizes


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_is_slim(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata
    assert slim_notebook(nb) == nb  # nothing left to slim: no oversized image either
