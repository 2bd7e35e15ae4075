"""Fig. 6: forgetting to draw windows.

The procedure is :mod:`interp.analysis.forget` (the paper's, step by step). Here:

* **Boxes.** On the rooms model, ``n_annotated`` = 150 samples ``G(sample_z(150, seed))`` get window
  boxes AUTOMATICALLY from the rooms segmenter (tight boxes of its window connected components,
  :func:`interp.instruments.window_boxes`). ``fig6(ctx, boxes="my_boxes.csv")`` uses boxes drawn
  by hand or imported instead (``notebooks/fig6_annotate_by_hand.ipynb``); on a model of other data
  (no segmenter) that is the only way, and the window shares are then not measured (null + note).
* **Drop.** Every map of the generator's second-highest conv layer (``up2.act`` at 64 px; see
  :mod:`interp.analysis.forget` for why) with regression weight > 0 is dropped
  (set to 0) at every location; the control drops as many random maps (``n_random`` seeded draws).
* **Measured** with the segmenter on ``n_eval`` = 500 FRESH samples (the latents after the
  annotated ones: ``sample_z(150 + 500, seed)[150:]``), the same z with and without each drop:
  ``window_frac_before`` / ``_after`` / ``_random_control`` (window pixel share; the control is
  the mean over its draws); ``other_classes_abs_change`` = mean over bed, wall and floor of
  |share after − share before| (``other_classes_change`` has the signed per-class changes);
  ``maps_dropped`` and the classifier's held-out ``auc``.
* **Curve.** Window pixels removed (% of before) against the number of maps dropped, maps ranked
  by regression weight vs random maps (GAN Dissection's unit-ablation plot), on the first
  ``n_curve`` = 200 of the fresh samples; the random value is the mean of ``curve_draws`` = 2 draws
  (at the drop's own count: the control's draws).

The figure shows the first ``n_show`` fresh samples (no selection) in three rows — as generated,
with the window maps dropped, with as many random maps dropped — each tile noted with its window
pixel share, then the curve and a panel of the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from interp.analysis.annotations import boxes_per_image, read_boxes
from interp.analysis.forget import (
    OTHER_CLASSES,
    WINDOW,
    ClassMeter,
    CurveData,
    Fig6Data,
    ForgetConfig,
    ForgetError,
    compute_fig6,
)
from interp.analysis.robustness import claim_verdicts
from interp.core.latent import sample_z
from interp.figures.context import FigureContext, aims_title, domain_title
from interp.figures.plotting import FONT, TITLE_FONT, new_figure, save_figure, show_image_table
from interp.figures.registry import FigureResult, register_figure

SIZES = {  # quick / full
    False: {"n_annotated": 150, "n_eval": 500, "n_curve": 200, "curve_points": 5, "curve_draws": 2, "n_random": 3,
            "n_show": 10},
    True: {"n_annotated": 150, "n_eval": 96, "n_curve": 48, "curve_points": 4, "curve_draws": 1, "n_random": 2,
           "n_show": 8},
}


# ------------------------------------------------------------------------------------------ measure


# ------------------------------------------------------------------------------------------ compute


# --------------------------------------------------------------------------------------------- plot


def _removed(frac: float) -> str:
    return f"{100 * frac:.0f}% removed" if frac >= 0 else f"{-100 * frac:.0f}% more"


def fig6_title(data: Fig6Data, model: str) -> str:
    r = data.result
    head = (f"Fig. 6 — forgetting to draw windows ({model})\n{r.maps_dropped} of {r.n_channels} maps of "
            f"'{r.layer}' dropped (weight > {r.config.threshold:g}), window classifier AUC {r.classifier.auc:.3f}")
    n = data.numbers
    if data.shares is not None:
        head += (f"\nwindow pixel share {n['window_frac_before']:.3f} → {n['window_frac_after']:.3f} "
                 f"({_removed(n['window_removed'])}); {r.maps_dropped} random maps: "
                 f"{n['window_frac_random_control']:.3f} ({_removed(n['window_removed_random_control'])})")
    elif n.get("heldout_box_change_ratio") is not None:
        rr = n.get("heldout_box_change_ratio_random_control")
        head += (f"\nno segmenter: on {n['n_heldout_annotated']} held-out hand-annotated samples, pixels inside the "
                 f"window boxes change {n['heldout_box_change_ratio']:.1f}× as much as outside them"
                 + (f" ({rr:.1f}× with random maps)" if rr is not None else ""))
        if n.get("heldout_classifier_window_prob_before") is not None:
            head += (f"\nwindow classifier on '{n['heldout_classifier_layer']}' (downstream), mean window probability "
                     f"in those boxes: {n['heldout_classifier_window_prob_before']:.2f} → "
                     f"{n['heldout_classifier_window_prob_after']:.2f} "
                     f"({n['heldout_classifier_window_prob_random_control']:.2f} with random maps)")
    return head


def _numbers_panel(ax: Axes, data: Fig6Data, height: float) -> None:
    """The numbers as text (+ a table of class shares when measured); ``height`` = the axes' inches."""
    r, n = data.result, data.numbers
    step = 0.22 / height
    ax.set_axis_off()
    ax.set_title("measured", fontsize=FONT + 1, loc="left")
    lines = [("maps dropped", f"{r.maps_dropped} of {r.n_channels} in '{r.layer}'"),
             ("classifier AUC", f"{r.classifier.auc:.3f} (held-out images)"),
             ("window boxes", f"{r.n_boxes} on {r.n_images_with_boxes} of {r.n_annotated} samples"),
             ("box source", data.box_source)]
    y = 0.98
    for k, v in lines:
        ax.text(0.0, y, k, fontsize=FONT - 1, va="top", transform=ax.transAxes, color="0.3")
        ax.text(0.3, y, v, fontsize=FONT - 1, va="top", transform=ax.transAxes)
        y -= step
    if data.shares is None:
        ax.text(0.0, y - step / 2, "window pixel shares not measured (no window segmenter\nfor this model's data, "
                "or none asked for) — judge the rows\nabove by eye", fontsize=FONT - 1, va="top", transform=ax.transAxes, color="0.3",
                linespacing=1.4)
        return
    names = data.class_names
    if names is None:
        raise ValueError("Fig6Data: pixel shares without the segmenter's class names")
    classes = [WINDOW, *OTHER_CLASSES]
    cells = [[f"{data.shares[k][names.index(c)]:.3f}" for k in ("before", "after", "random")] for c in classes]
    cells.append(["", f"{n['other_classes_abs_change']:.3f}", f"{n['other_classes_abs_change_random_control']:.3f}"])
    rows = [f"{c} share" for c in classes] + ["mean |change| of\nbed, wall, floor"]
    foot = 0.13
    tab = ax.table(cellText=cells, rowLabels=rows,
                   colLabels=["samples", "window maps\ndropped", f"{r.maps_dropped} random\nmaps dropped"],
                   bbox=Bbox.from_bounds(0.3, foot + 0.02, 0.7, y - 0.03 - foot), cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(FONT - 1)
    for (i, j), cell in tab.get_celld().items():
        if i == 0 or i == len(cells):  # two-line header and last row: taller (the bbox keeps proportions)
            cell.set_height(cell.get_height() * 1.8)
        cell.set_edgecolor("0.8")
        if i == 0 or j == -1:
            cell.set_text_props(color="0.25")
        if j == -1:
            cell.set_text_props(ha="right")
        if i == 1 and j >= 0:
            cell.set_text_props(weight="bold")
    draws = f"; control: mean of {len(data.random_shares)} random draws" if data.random_shares else ""
    ax.text(0.0, 0.0, f"pixel shares by the rooms segmenter on {n['n_eval_samples']} fresh samples{draws}",
            fontsize=FONT - 2, va="bottom", transform=ax.transAxes, color="0.35")


def _curve_panel(ax: Axes, data: Fig6Data, c: CurveData) -> None:
    """Window pixels removed (% of before) vs maps dropped (``c``, i.e. ``data.curve``): ranked by weight and random."""
    r = data.result
    base = max(c.base, 1e-12)
    ax.plot(c.counts, 100 * (1 - c.ranked / base), "o-", color="tab:blue", lw=1.4, ms=3.5,
            label="maps ranked by regression weight")
    ax.plot(c.counts, 100 * (1 - c.random / base), "s--", color="0.5", lw=1.1, ms=3,
            label="as many random maps (mean over draws)")
    if r.maps_dropped:
        ax.axvline(r.maps_dropped, color="tab:red", lw=0.8, ls=":",
                   label=f"weight > {r.config.threshold:g}: the {r.maps_dropped} maps dropped above")
    ax.axhline(0, color="0.8", lw=0.6)
    ax.axhline(50, color="0.85", lw=0.6, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_xticks(c.counts)
    ax.set_xticklabels([str(k) for k in c.counts])
    ax.minorticks_off()
    ax.set_xlabel(f"maps of '{r.layer}' dropped", fontsize=FONT)
    ax.set_ylabel("window pixels removed (%)", fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    lo = min(0.0, float(np.min(100 * (1 - c.random / base))), float(np.min(100 * (1 - c.ranked / base))))
    ax.set_ylim(lo - 5, 105)
    ax.legend(fontsize=FONT - 2, frameon=False, loc="upper left")
    ax.set_title(f"how many maps do windows need? ({data.numbers['curve']['n_samples']} samples)",
                 fontsize=FONT + 1, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def plot_fig6(data: Fig6Data, title: str, inch: float = 0.82) -> Figure:
    """Three labelled image rows (samples / window maps dropped / random maps dropped) over the
    ranked-ablation curve and the numbers panel."""
    r = data.result
    n_show = data.rows.shape[1]
    left, right = 1.45, 0.15
    W = left + n_show * inch + right
    W = max(W, 9.0)
    head = 0.22 + 0.2 * (1 + title.count("\n"))
    img_h = 3 * inch
    panel_h = 2.7 if (data.curve is not None or data.shares is not None) else 1.6
    H = head + 0.05 + img_h + 0.35 + panel_h + 0.1
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT - 1, y=1 - 0.06 / H, va="top")
    ax = fig.add_axes((left / W, (H - head - img_h) / H, n_show * inch / W, img_h / H))
    labels = ["samples", f"window maps\ndropped ({r.maps_dropped})", f"{r.maps_dropped} random\nmaps dropped"]
    notes = None
    if data.row_shares is not None:
        notes = [[f"win {100 * v:.0f}%" for v in row] for row in data.row_shares]
    show_image_table(ax, data.rows, row_labels=labels, cell_notes=notes)
    bottom = 0.45
    if data.curve is not None:
        cax = fig.add_axes((0.75 / W, bottom / H, (W / 2 - 1.2) / W, (panel_h - 0.75) / H))
        _curve_panel(cax, data, data.curve)
        nh = panel_h - 0.4
        nax = fig.add_axes(((W / 2 + 0.15) / W, (bottom - 0.3) / H, (W / 2 - 0.35) / W, nh / H))
    else:
        nh = panel_h - 0.2
        nax = fig.add_axes((left / W, 0.1 / H, min(5.5, W - left - 0.2) / W, nh / H))
    _numbers_panel(nax, data, nh)
    return fig


# --------------------------------------------------------------------------------------------- figure


def _boxes_from_file(path: str | Path, n: int, size: int) -> list[np.ndarray]:
    return boxes_per_image(read_boxes(path, image_size=size), n, size, path=path)


@register_figure("fig6", world="rooms", title="Forgetting to draw windows (paper Fig. 6)")
def fig6(ctx: FigureContext, boxes: str | Path | Sequence[np.ndarray] | None = None,
         config: ForgetConfig | None = None, n_annotated: int | None = None,
         box_source: str | None = None) -> FigureResult:
    """Drop the generator's window maps (logistic regression on window boxes); window pixels before,
    after and after a random-maps control, the ranked-ablation curve.

    ``boxes``: a box file (CSV / COCO JSON) or per-sample (k, 4) arrays on the ``n_annotated``
    samples ``sample_z(n_annotated, seed=ctx.seed)`` (default 150); None: the segmenter's boxes.
    ``box_source`` describes given boxes in the figure and metrics (default: the file name / "given")."""
    gan = ctx.gan("rooms")
    world = ctx.world_of(gan)
    sizes = SIZES[ctx.quick]
    cfg = config or ForgetConfig(seed=ctx.seed, n_random=sizes["n_random"])
    n_annot, n_eval = int(n_annotated or sizes["n_annotated"]), sizes["n_eval"]
    size = gan.config.image_size
    meter = None
    if world == "rooms":
        from interp.worlds.rooms import CLASS_NAMES

        meter = ClassMeter(ctx.instrument("rooms"), CLASS_NAMES)
    per_image = None
    if boxes is not None:
        per_image = _boxes_from_file(boxes, n_annot, size) if isinstance(boxes, (str, Path)) else list(boxes)
    z_all = sample_z(n_annot + n_eval, gan.config, seed=ctx.seed)
    z_annot, z_eval = z_all[:n_annot], z_all[n_annot:]
    values: dict[str, Any]
    if per_image is None and meter is None:
        values = {"note": "no window boxes for a model of this data (no segmenter): draw or import boxes "
                          "(notebooks/fig6_annotate_by_hand.ipynb, or interp forget)"}
        return FigureResult([], ctx.record("fig6", gan, values))
    try:
        data = compute_fig6(gan.generator, z_annot, per_image, z_eval if meter else z_eval[: sizes["n_show"]], cfg, meter,
                            n_show=sizes["n_show"], n_curve=sizes["n_curve"], curve_points=sizes["curve_points"],
                            curve_draws=sizes["curve_draws"],
                            progress=(lambda s: print(f"  fig6 {s}", flush=True)) if ctx.progress else None,
                            box_source=box_source or (f"imported from {Path(boxes).name}"
                                                      if isinstance(boxes, (str, Path)) else "given"))
    except ForgetError as exc:
        where = "the given boxes" if per_image is not None else "the segmenter's automatic boxes"
        values = {"note": f"{exc} ({where} on the {n_annot} annotated samples)",
                  "n_annotated": n_annot, "boxes": str(boxes) if isinstance(boxes, (str, Path)) else where}
        return FigureResult([], ctx.record("fig6", gan, values))
    model = ctx.model_label(gan)
    domain = ctx.domain_check(gan) if meter is not None else {}
    title = fig6_title(data, model) + aims_title(claim_verdicts("fig6", {**data.numbers, **domain})) + domain_title(domain)
    png = save_figure(plot_fig6(data, title), ctx.png("fig6_forget_windows.png"))
    values = {**data.numbers, "annotated_latents": f"sample_z({n_annot}, seed={ctx.seed})",
              "eval_latents": f"sample_z({n_annot + n_eval}, seed={ctx.seed})[{n_annot}:]",
              "epoch": gan.meta.get("epoch"), **domain}
    values["boxes"] = str(boxes) if isinstance(boxes, (str, Path)) else data.box_source
    if meter is None:
        values["note"] = ("no window segmenter for this model's data: window pixel shares not measured "
                          "(maps_dropped and auc are; the heldout_* keys measure the drop on held-out hand-annotated "
                          "samples by pixel change inside vs outside their boxes)")
    return FigureResult([png], ctx.record("fig6", gan, values))


__all__ = ["ClassMeter", "Fig6Data", "compute_fig6", "fig6", "fig6_title", "plot_fig6"]
