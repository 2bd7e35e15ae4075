"""A numbered sample sheet: pick exemplars by hand, the paper's way (Figs. 7 and 8).

Tile ``i`` shows sample ``i`` of seed ``seed`` (:func:`interp.core.latent.sample_z`, counted from 0 and
prefix-stable), so the numbers on the sheet are the indices to pass back, e.g.
``--option fig7.exemplars=smiling_man:3,17,42/5,8,60/11,12,90`` or ``--option fig8.left=1,2,3,4``.
Where an attribute classifier fits the data, each tile also carries its verdict (M/F, S = smiling,
G = glasses, yaw), and exemplars in use can be outlined per group.

    fig = plot_sample_sheet(images_u8, title="...", notes=attribute_notes(pred), highlights={"left": [1, 5]})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from interp.figures.plotting import FONT, PAD, TITLE_FONT, new_figure, tile

HIGHLIGHT_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan", "tab:olive",
                     "tab:pink", "tab:brown")


def attribute_notes(pred: Mapping[str, np.ndarray]) -> list[str]:
    """One short verdict per sample: "M"/"F", "S" if smiling, "G" if glasses (p > 0.5), then yaw."""
    n = len(next(iter(pred.values())))
    notes = []
    for i in range(n):
        s = ""
        if "male" in pred:
            s += "M" if pred["male"][i] > 0.5 else "F"
        if "smiling" in pred and pred["smiling"][i] > 0.5:
            s += "S"
        if "eyeglasses" in pred and pred["eyeglasses"][i] > 0.5:
            s += "G"
        if "yaw" in pred:
            s += f" {pred['yaw'][i]:+.2f}".replace("-", "−")
        notes.append(s.strip())
    return notes


def plot_sample_sheet(images: np.ndarray, cols: int = 10, start: int = 0, title: str | None = None,
                      notes: Sequence[str] | None = None, highlights: Mapping[str, Sequence[int]] | None = None,
                      inch_per_image: float = 0.62, caption: str | None = None) -> Figure:
    """uint8 images (N, C, S, S) -> a sheet with the sample number (``start + i``) on each tile, an
    optional note under it, and coloured outlines around the samples named in ``highlights``
    ({group label: sample numbers}; numbers not on the sheet are ignored)."""
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise ValueError(f"expected uint8 images (N, C, S, S), got shape {arr.shape}")
    if arr.shape[1] == 1:
        arr = arr.repeat(3, 1)
    n, S = len(arr), arr.shape[-1]
    rows = -(-n // cols)
    grid = np.full((rows * cols, *arr.shape[1:]), 255, np.uint8)
    grid[:n] = arr
    grid = grid.reshape(rows, cols, *arr.shape[1:])
    head = 0.15 + (0.3 * (1 + title.count("\n")) if title else 0)
    ncol = 2 if highlights and max(map(len, highlights)) > 20 else 4
    legend_h = 0.12 + 0.2 * -(-len(highlights) // ncol) if highlights else 0
    foot = 0.1 + legend_h + (0.18 * (1 + caption.count("\n")) if caption else 0)
    w, h = cols * inch_per_image, rows * inch_per_image
    W, H = w + 0.2, h + head + foot
    fig = new_figure(W, H)
    ax = fig.add_axes((0.1 / W, foot / H, w / W, h / H))
    ax.imshow(tile(grid), interpolation="nearest")  # cells after the last sample stay white
    ax.set_axis_off()
    step = S + PAD
    for i in range(n):
        r, c = divmod(i, cols)
        x, y = PAD + c * step, PAD + r * step
        ax.text(x + 1, y + 1, str(start + i), ha="left", va="top", fontsize=FONT - 3.5, color="white",
                bbox={"facecolor": "black", "alpha": 0.6, "pad": 0.4, "linewidth": 0})
        if notes is not None and notes[i]:
            ax.text(x + S - 1, y + S - 1, notes[i], ha="right", va="bottom", fontsize=FONT - 4.5, color="white",
                    bbox={"facecolor": "black", "alpha": 0.5, "pad": 0.3, "linewidth": 0})
    handles = []
    for g, (label, idx) in enumerate((highlights or {}).items()):
        colour = HIGHLIGHT_COLOURS[g % len(HIGHLIGHT_COLOURS)]
        shown = [int(i) - start for i in idx if 0 <= int(i) - start < n]
        for i in shown:
            r, c = divmod(i, cols)
            ax.add_patch(Rectangle((PAD + c * step - 1.5, PAD + r * step - 1.5), S + 2, S + 2, fill=False,
                                   edgecolor=colour, linewidth=1.8))
        off = len(idx) - len(shown)
        handles.append(Patch(facecolor="none", edgecolor=colour, linewidth=1.8,
                             label=f"{label}" + (f" (+{off} beyond this sheet)" if off else "")))
    if handles:
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, (foot - 0.06) / H),
                   ncol=min(len(handles), ncol), fontsize=FONT - 2, frameon=False, handlelength=1.2,
                   borderaxespad=0, borderpad=0.2)
    if title:
        fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.08 / H, va="top")
    if caption:
        fig.text(0.5, 0.05 / H, caption, ha="center", va="bottom", fontsize=FONT - 2, color="0.3")
    return fig


__all__ = ["attribute_notes", "plot_sample_sheet"]
