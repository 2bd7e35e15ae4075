"""Beyond the paper: GAN Dissection of the rooms generator — which units draw which class, and Fig. 6
generalised to every class (:mod:`interp.analysis.dissection`).

* **Units per class.** Every unit of ``layer`` (default: the paper's Fig. 6 layer, the second-highest conv
  block) is scored against every segmenter class on ``fit`` = 300 samples (``sample_z(fit + eval,
  seed)[:fit]``): its activation map, upsampled and thresholded at its 99th percentile, against the class
  mask; IoU summed over the set (gandissect's way). ``classes.<class>.top_units`` / ``top_iou``.
* **Forgetting each class.** For every class but wall, floor and ceiling that covers at least 0.5 % of
  the pixels: its top-k units by IoU are dropped (set to zero everywhere) for k = 1, 2, 4, … (up to a
  quarter of the units), and, as the control, k random units (2 seeded draws per k, shared by all
  classes); the class's pixel share is measured on ``eval`` = 160 fresh samples (the latents after the
  fit ones). ``removed_ranked`` / ``removed_random``: fraction of the class's pixels removed;
  ``removed_ranked_ci`` / ``removed_random_ci``: their 95 % bootstrap intervals over the eval samples
  (1,000 resamples; the random control's leaves out the spread between random unit sets).
* **Windows, three ways.** Units ranked by IoU, by the paper's logistic regression (Fig. 6's procedure on
  the segmenter's window boxes of the fit samples) and by causal effect (each unit dropped alone on the
  first ``causal`` = 64 fit samples, ranked by the window share it removes); each ranking's top k dropped
  on the same fresh samples. ``windows.removed`` (and ``removed_ci``) per ranking and ``windows.best_ranking``
  per k.

Writes ``dissection_units.png`` (per class: samples with the most of it, its top unit's region, and the
samples with its top units dropped) and ``dissection_curves.png`` (best IoU per class, removal curves per
class, the window comparison); the ``dissection`` section of ``metrics.json``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from interp.analysis.dissection import WINDOW_RANKINGS, Dissection, class_examples, dissect
from interp.analysis.forget import ClassMeter, resolve_forget_layer
from interp.core.latent import sample_z
from interp.figures.context import FigureContext, domain_title
from interp.figures.plotting import FONT, TITLE_FONT, new_figure, save_figure, show_image_table
from interp.figures.registry import FigureResult, register_figure

SIZES = {False: {"fit": 300, "eval": 160, "causal": 64, "random": 2, "show": 3},
         True: {"fit": 60, "eval": 32, "causal": 24, "random": 1, "show": 2}}
OPTIONS = ("layer", "fit", "eval", "causal", "random", "classes", "counts", "show")
RANKING_STYLE = {"iou": ("tab:blue", "by IoU (GAN Dissection)"),
                 "regression": ("black", "by logistic regression (the paper)"),
                 "causal": ("tab:red", "by causal effect (each unit alone)"),
                 "random": ("0.55", "random units")}


# --------------------------------------------------------------------------------------------- plot


def plot_units(data: Dissection, examples: dict[str, dict[str, Any]], title: str, inch: float = 0.62) -> Figure:
    """One row per ablated class: the samples with the most of it, its top unit's region, the samples with
    its top units dropped; class shares under each tile."""
    classes = list(examples)
    n = len(next(iter(examples.values()))["index"]) if examples else 0
    left, top, bottom, gap = 1.5, 0.75 + 0.2 * title.count("\n"), 0.5, 0.15
    W = left + 3 * (n * inch + gap) + 0.1
    H = top + len(classes) * (inch + 0.08) + bottom
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.06 / H, va="top")
    iou = data.iou
    for r, cls in enumerate(classes):
        ex = examples[cls]
        y0 = top + r * (inch + 0.08)
        u = ex["unit"]
        c = data.class_names.index(cls)
        fig.text((left - 0.08) / W, 1 - (y0 + inch / 2) / H,
                 f"{cls}\nunit {u}, IoU {float(iou[u, c]):.2f}\nbefore {data.share_before[c]:.1%}",
                 ha="right", va="center", fontsize=FONT - 2)
        for g, (key, head) in enumerate((("generated", "samples with the most of it"),
                                         ("region", "its top unit's region (IoU)"),
                                         ("dropped", f"its top {ex['k']} units dropped"))):
            x0 = left + g * (n * inch + gap)
            ax = fig.add_axes((x0 / W, 1 - (y0 + inch) / H, n * inch / W, inch / H))
            share = ex["share_dropped"] if key == "dropped" else ex["share"]
            show_image_table(ax, ex[key][None], cell_notes=[[f"{v:.0%}" for v in share]] if key != "region" else None,
                             fontsize=FONT - 2)
            if r == 0:
                fig.text((x0 + n * inch / 2) / W, 1 - (top - 0.05) / H, head, ha="center", va="bottom",
                         fontsize=FONT - 1.5)
    caption = ("Rows: classes the segmenter finds in the samples (wall, floor and ceiling left out). Under the tiles: "
               "the class's pixel share. Regions: pixels outside the unit's thresholded activation dimmed.")
    fig.text(0.1 / W, 0.08 / H, "\n".join(textwrap.wrap(caption, int(W * 17))), ha="left", va="bottom",
             fontsize=FONT - 2.5, color="0.3")
    return fig


def _curve_axis(ax: Any, counts: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(counts), [str(k) for k in counts])
    ax.tick_params(labelsize=FONT - 3, length=2, pad=1)
    ax.axhline(0, color="0.85", lw=0.6)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def _band(ax: Any, counts: Sequence[int], interval: Sequence[Sequence[float]] | None, colour: str) -> None:
    """Shade a curve's 95 % interval (``interval``: [low, high] fractions per count), if there is one."""
    if interval:
        low, high = np.asarray(interval, np.float64).T * 100
        ax.fill_between(counts, low, high, color=colour, alpha=0.15, lw=0)


def plot_curves(data: Dissection, metrics: dict[str, Any], title: str) -> Figure:
    """Best-unit IoU per class; per ablated class the % of its pixels removed against the units dropped
    (top by IoU vs random, shaded: 95 % bootstrap intervals over the evaluation images); the window
    comparison of the three rankings."""
    panels = ["iou", *data.classes] + (["windows"] if data.windows is not None else [])
    cols = 4
    rows = -(-len(panels) // cols)
    W, H = 12.0, 0.9 + 0.2 * title.count("\n") + 2.35 * rows
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.06 / H, va="top")
    top = 0.75 + 0.2 * title.count("\n")
    counts = data.counts
    for p, name in enumerate(panels):
        r, c = divmod(p, cols)
        ax = fig.add_axes(((0.06 + c * 0.245), 1 - (top + r * 2.35 + 1.75) / H, 0.19, 1.6 / H))
        if name == "iou":
            best = data.iou.max(0).values.numpy()
            ax.barh(np.arange(len(best)), best, color=["tab:blue" if n in data.classes else "0.6"
                                                       for n in data.class_names])
            ax.set_yticks(np.arange(len(best)), data.class_names, fontsize=FONT - 3)
            ax.invert_yaxis()
            ax.set_title("best unit's IoU per class", fontsize=FONT - 1)
            ax.tick_params(labelsize=FONT - 3, length=2, pad=1)
            for spine in ("top", "right"):
                ax.spines[spine].set_visible(False)
            continue
        if name == "windows":
            removed = metrics["windows"]["removed"]
            for m in (*WINDOW_RANKINGS, "random"):
                if m in removed:
                    colour, label = RANKING_STYLE[m]
                    ax.plot(counts, [100 * v for v in removed[m]], color=colour, marker="o", ms=3,
                            ls="--" if m == "random" else "-", lw=1.2, label=label)
                    _band(ax, counts, metrics["windows"].get("removed_ci", {}).get(m), colour)
            ax.set_title("windows: which units to drop?", fontsize=FONT - 1)
            ax.legend(fontsize=FONT - 3.5, frameon=False, loc="upper left")
        else:
            e = metrics["classes"][name]
            ax.plot(counts, [100 * v for v in e["removed_ranked"]], color="tab:blue", marker="o", ms=3,
                    label="top units by IoU")
            ax.plot(counts, [100 * v for v in e["removed_random"]], color="0.55", marker="o", ms=3, ls="--",
                    label="random units")
            _band(ax, counts, e.get("removed_ranked_ci"), "tab:blue")
            _band(ax, counts, e.get("removed_random_ci"), "0.55")
            ax.set_title(f"{name} ({e['share_before']:.1%} of pixels)", fontsize=FONT - 1)
            if p == 1:
                ax.legend(fontsize=FONT - 3, frameon=False, loc="upper left")
        _curve_axis(ax, counts)
        ax.set_xlabel("units dropped", fontsize=FONT - 2.5, labelpad=1)
        ax.set_ylabel("% of its pixels removed", fontsize=FONT - 2.5, labelpad=1)
    return fig


def dissection_title(data: Dissection, metrics: dict[str, Any], model: str) -> str:
    head = (f"Dissecting the generator ({model}): {data.n_units} units of '{data.layer}' against "
            f"{len(data.class_names)} segmenter classes")
    if metrics.get("windows") is None:
        return head
    k = max(data.counts)
    removed = metrics["windows"]["removed"]
    parts = [f"{RANKING_STYLE[m][1].split(' (')[0]} {100 * removed[m][-1]:.0f}%" for m in (*WINDOW_RANKINGS, "random")
             if m in removed]
    return head + f"\nwindows removed by dropping {k} units — " + ", ".join(parts)


# ------------------------------------------------------------------------------------------ figure


def _ints(raw: Any, flag: str) -> list[int]:
    try:
        return [int(v) for v in str(raw).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--option {flag}={raw}: expected comma-separated integers") from None


@register_figure("dissection", world="rooms", title="Dissecting the generator: units per class (beyond the paper)")
def dissection(ctx: FigureContext) -> FigureResult:
    """Unit × class IoU of a generator layer, each object class forgotten by dropping its top units, and
    three ways of choosing the window units compared."""
    ctx.check_options("dissection", OPTIONS)
    gan = ctx.generator("rooms")
    sizes = SIZES[ctx.quick]
    if ctx.world_of(gan) != "rooms":
        values = {"note": "no segmenter for this model's data: dissection needs class masks (rooms world only)",
                  "epoch": gan.meta.get("epoch")}
        return FigureResult([], ctx.record("dissection", gan, values))
    from interp.worlds.rooms import CLASS_NAMES

    G = gan.generator
    meter = ClassMeter(ctx.instrument("rooms"), CLASS_NAMES)
    layer = resolve_forget_layer(G, str(ctx.option("dissection", "layer", "second_highest")))
    n_fit = int(ctx.option("dissection", "fit", sizes["fit"]))
    n_eval = int(ctx.option("dissection", "eval", sizes["eval"]))
    classes = ctx.option("dissection", "classes")
    counts = ctx.option("dissection", "counts")
    z = sample_z(n_fit + n_eval, gan.config, seed=ctx.seed)
    z_fit, z_eval = z[:n_fit], z[n_fit:]
    data = dissect(G, layer, z_fit, z_eval, meter,
                   classes=[c.strip() for c in str(classes).split(",")] if classes is not None else None,
                   counts=_ints(counts, "dissection.counts") if counts is not None else None,
                   n_random=int(ctx.option("dissection", "random", sizes["random"])),
                   n_causal=int(ctx.option("dissection", "causal", sizes["causal"])), seed=ctx.seed,
                   progress=(lambda s: print(f"  dissection {s}", flush=True)) if ctx.progress else None)
    metrics = data.metrics()
    domain = ctx.domain_check(gan)
    title = dissection_title(data, metrics, ctx.model_label(gan)) + domain_title(domain)
    pngs = [save_figure(plot_curves(data, metrics, title), ctx.png("dissection_curves.png"))]
    if data.classes:
        examples = class_examples(G, data, meter, z_eval, int(ctx.option("dissection", "show", sizes["show"])))
        pngs.insert(0, save_figure(plot_units(data, examples, title), ctx.png("dissection_units.png")))
    values = {**metrics, **domain, "epoch": gan.meta.get("epoch"), "instrument": "room_segmenter",
              "fit_latents": f"sample_z({n_fit + n_eval}, seed={ctx.seed})[:{n_fit}]",
              "eval_latents": f"sample_z({n_fit + n_eval}, seed={ctx.seed})[{n_fit}:]",
              "definition": "IoU: unit activation upsampled (bilinear) and thresholded at its 0.99 quantile vs the "
                            "segmenter's class mask, intersections and unions summed over the fit samples; removed: "
                            "1 - class share after dropping / before, on the eval samples; *_ci: 95 % bootstrap "
                            "interval over the eval samples (1,000 resamples of the images, paired)"}
    return FigureResult(pngs, ctx.record("dissection", gan, values))


__all__ = ["dissection", "dissection_title", "plot_curves", "plot_units"]
