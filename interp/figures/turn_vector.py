"""Fig. 8: a "turn" vector — mean z of 4 left-looking faces minus mean z of 4 right-looking ones —
added in steps to random samples; the pose is measured on every frame.

* Pool: ``pool`` = 1,000 (quick: 200) seeded samples (seed ``ctx.seed``, numbered as on
  ``fig8_sample_sheet.png``). On the faces world the yaw regressor picks the 4 most left-looking
  (lowest yaw) and 4 most right-looking samples; they should reach |yaw| >= 0.2 — when a
  generator (partly mode-collapsed) has fewer such samples, the 4 most extreme are still used and the
  metrics ``note`` says so. Or by hand: ``--option fig8.left=3,17,42,8 --option fig8.right=5,6,7,9``.
* Walks: the first ``rows`` = 32 (quick: 8) pool samples that are not exemplars, moved by t·v for
  ``steps`` = 9 values of t evenly in [−``max_step``, +``max_step``] (max_step 1: from "z − v" to
  "z + v"); the first ``show`` = 8 (quick: 6) are drawn. Every one of these is a ``--option fig8.KEY=VALUE``
  (``pool``, ``rows``, ``show``, ``steps``, ``max_step``, ``threshold``, ``sheet``).

Number: ``spearman`` = Spearman's ρ between the step t and the measured yaw over all walked frames
(pooled across samples). v points from right- to left-looking and yaw < 0 is looking left, so a
working turn vector gives ρ near −1 (the aim for the reference models is |ρ| >= 0.9); ``spearman_per_row`` /
``spearman_per_row_mean`` measure each walk alone; ``spearman_random_direction`` is the control: the
same walks along 4 random directions of the same length (mean ρ; should be near 0);
``yaw_largest_step_share`` says whether the face turns smoothly or snaps (ρ cannot tell). Without a yaw regressor
for the data (a foreign generator), exemplars must be hand-picked and the numbers are null.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from interp.analysis.exemplars import parse_indices
from interp.analysis.robustness import claim_verdicts
from interp.analysis.turn import LOOK_THRESHOLD, MAX_STEP, N_STEPS, TurnResult, compute_fig8
from interp.data.base import to_uint8_image
from interp.figures.context import FigureContext, aims_title, domain_title
from interp.figures.plotting import FONT, PAD, TITLE_FONT, new_figure, save_figure, tile
from interp.figures.registry import FigureResult, register_figure
from interp.figures.sample_sheet import attribute_notes, plot_sample_sheet

N_POOL = {False: 1000, True: 200}
N_ROWS = {False: 32, True: 8}
N_SHOW = {False: 8, True: 6}
N_SHEET = {False: 100, True: 40}
OPTIONS = ("left", "right", "pool", "rows", "show", "sheet", "max_step", "steps", "threshold")


# ------------------------------------------------------------------------------------------ plot


def _ax(fig: Figure, W: float, H: float, x: float, top: float, w: float, h: float, off: bool = True):
    ax = fig.add_axes((x / W, (H - top - h) / H, w / W, h / H))
    if off:
        ax.set_axis_off()
    return ax


def _note(ax, r: int, c: int, step: int, S: int, text: str, where: str = "br", colour: str = "black") -> None:
    x = PAD + c * step + (S - 1 if where.endswith("r") else 1)
    y = PAD + r * step + (S - 1 if where.startswith("b") else 1)
    ax.text(x, y, text, ha="right" if where.endswith("r") else "left", va="bottom" if where.startswith("b") else "top",
            fontsize=FONT - 3.5, color="white", bbox={"facecolor": colour, "alpha": 0.6, "pad": 0.4, "linewidth": 0})


def _yaw(v: float) -> str:
    return f"{v:+.2f}".replace("-", "−")


def plot_turn(res: TurnResult, title: str, n_show: int = 8, s: float = 0.58) -> Figure:
    """Exemplars on top (left-looking, right-looking, each with G(mean z)); below, one walked sample per
    row along t; at the right the measured yaw against t for every walked sample."""
    R, T = min(n_show, len(res.rows)), len(res.steps)
    k = len(res.selection.left)
    left, plot_w, gap = 0.85, 2.3, 0.55
    head = 0.2 + 0.28 * (1 + title.count("\n"))
    ex_head, ex_gap, grid_head = 0.22, 0.2, 0.45
    W = left + max(T * s, 2 * (k + 1) * s + 0.6) + (gap + plot_w + 0.2 if res.yaw is not None else 0.2)
    caption = ("#: sample numbers on fig8_sample_sheet.png. Under each frame: measured yaw (−1 … +1 = −45° … +45°; "
               "negative = looking to the viewer's left)." if res.yaw is not None else
               "#: sample numbers on fig8_sample_sheet.png (pose not measured: no yaw regressor for this data).")
    caption = "\n".join(textwrap.wrap(caption, int((left + T * s) * 20)))
    foot = max(0.15 + 0.12 * (1 + caption.count("\n")), 0.95 if res.yaw is not None else 0)
    H = head + ex_head + s + ex_gap + grid_head + R * s + foot
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.08 / H, va="top")
    S = res.images.shape[-1]
    y_ex = head + ex_head
    for side, (label, idx, yaws) in enumerate((("left-looking", res.selection.left, res.selection.yaw_left),
                                               ("right-looking", res.selection.right, res.selection.yaw_right))):
        x = left + side * ((k + 1) * s + 0.6)
        images = torch.cat([res.exemplar_images[side], res.mean_images[side][None]])
        ax = _ax(fig, W, H, x, y_ex, (k + 1) * s, s)
        arr = to_uint8_image(images).numpy()[None]
        ax.imshow(tile(arr if arr.shape[2] == 3 else arr.repeat(3, 2)), interpolation="nearest")
        step = S + PAD
        for j, i in enumerate(idx):
            _note(ax, 0, j, step, S, f"#{i}", "tl")
            if yaws is not None:
                _note(ax, 0, j, step, S, _yaw(yaws[j]))
        fig.text((x + k * s / 2) / W, 1 - (y_ex - 0.03) / H, f"{k} {label} exemplars", ha="center", va="bottom",
                 fontsize=FONT - 1)
        fig.text((x + (k + 0.5) * s) / W, 1 - (y_ex - 0.03) / H, "G(mean z)", ha="center", va="bottom",
                 fontsize=FONT - 2)
    y_grid = y_ex + s + ex_gap + grid_head
    ax = _ax(fig, W, H, left, y_grid, T * s, R * s)
    frames = to_uint8_image(res.images[:R]).numpy()
    ax.imshow(tile(frames if frames.shape[2] == 3 else frames.repeat(3, 2)), interpolation="nearest")
    step = S + PAD
    for c, t in enumerate(res.steps):
        ax.text(PAD + c * step + S / 2, -PAD, f"t = {t:+.2f}".replace("-", "−"), ha="center", va="bottom",
                fontsize=FONT - 2.5)
    fig.text((left + T * s / 2) / W, 1 - (y_grid - 0.22) / H,
             "z + t · (mean z left − mean z right)      ← toward right-looking  |  toward left-looking →",
             ha="center", va="bottom", fontsize=FONT - 1)
    per_row = res.spearman_per_row
    for r in range(R):
        label = f"#{res.rows[r]}"
        if per_row is not None and per_row[r] is not None:
            label += f"\nρ {per_row[r]:+.2f}".replace("-", "−")
        fig.text((left - 0.06) / W, 1 - (y_grid + (r + 0.5) * s) / H, label, ha="right", va="center",
                 fontsize=FONT - 2.5)
        if res.yaw is not None:
            for c in range(T):
                _note(ax, r, c, step, S, _yaw(res.yaw[r, c]))
    if res.yaw is not None:
        yaw_random = res.yaw_random
        if yaw_random is None:
            raise ValueError("plot_turn: the yaw was measured without its random-direction control (yaw_random)")
        x_plot = left + T * s + gap
        pax = _ax(fig, W, H, x_plot, y_grid + 0.1, plot_w, R * s - 0.15, off=False)
        for row in res.yaw:
            pax.plot(res.steps, row, color="0.75", lw=0.7, zorder=1)
        pax.plot(res.steps, res.yaw.mean(0), color="black", lw=1.8, marker="o", ms=3, zorder=3,
                 label=f"turn vector (mean of {len(res.yaw)})")
        pax.plot(res.steps, yaw_random.mean((0, 1)), color="tab:orange", lw=1.4, ls="--", zorder=2,
                 label=f"{len(yaw_random)} random directions, same length")
        pax.axhline(0, color="0.85", lw=0.6, zorder=0)
        pax.set_xlabel("step t", fontsize=FONT - 1, labelpad=1)
        pax.set_ylabel("measured yaw  (− looks left)", fontsize=FONT - 1.5, labelpad=1)
        pax.tick_params(labelsize=FONT - 2.5, length=2, pad=1)
        for spine in ("top", "right"):
            pax.spines[spine].set_visible(False)
        rho, rho_r = res.spearman, res.spearman_random

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:+.2f}".replace("-", "−")

        pax.set_title(f"Spearman ρ(t, yaw) = {fmt(rho)}\nrandom directions: {fmt(rho_r)}", fontsize=FONT - 1, pad=3)
        pax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=FONT - 2.5, frameon=False)
    fig.text(0.12 / W, 0.1 / H, caption, ha="left", va="bottom", fontsize=FONT - 2.5, color="0.3")
    return fig


# ------------------------------------------------------------------------------------------ figure


def _smoothness_title(values: dict[str, Any]) -> str:
    share, even = values.get("yaw_largest_step_share"), values.get("yaw_largest_step_share_even")
    if share is None or even is None:
        return ""
    return f"\nthe largest of a walk's steps carries {share:.0%} of its yaw change (an even turn: {even:.0%}; a snap: 100%)"


@register_figure("fig8", world="faces", title="A turn vector (paper Fig. 8)")
def fig8(ctx: FigureContext) -> FigureResult:
    """Random samples moved along mean z(left) − mean z(right); Spearman ρ between step and measured yaw."""
    ctx.check_options("fig8", OPTIONS)
    gan = ctx.generator("faces")
    n_pool = int(ctx.option("fig8", "pool", N_POOL[ctx.quick]))
    n_rows = int(ctx.option("fig8", "rows", N_ROWS[ctx.quick]))
    n_show = int(ctx.option("fig8", "show", N_SHOW[ctx.quick]))
    n_sheet = min(int(ctx.option("fig8", "sheet", N_SHEET[ctx.quick])), n_pool)
    max_step = float(ctx.option("fig8", "max_step", MAX_STEP))
    n_steps = int(ctx.option("fig8", "steps", N_STEPS))
    threshold = float(ctx.option("fig8", "threshold", LOOK_THRESHOLD))
    left, right = ctx.option("fig8", "left"), ctx.option("fig8", "right")
    left = parse_indices(left, "fig8.left") if left is not None else None
    right = parse_indices(right, "fig8.right") if right is not None else None
    predict, instrument = ctx.face_predictor(gan)
    steps = np.linspace(-max_step, max_step, n_steps)
    data = compute_fig8(gan.generator, gan.config, predict, seed=ctx.seed, n_pool=n_pool, n_rows=n_rows, steps=steps,
                        left=left, right=right, threshold=threshold)
    name = ctx.data_name(gan) or "model"
    res = data.result
    highlights = {"left-looking exemplars": res.selection.left, "right-looking exemplars": res.selection.right,
                  "walked samples": res.rows[:n_show]} if res is not None else None
    sheet = plot_sample_sheet(
        to_uint8_image(data.pool.images[:n_sheet]).numpy(),
        title=f"Fig. 8 sample sheet — {name}, seed {ctx.seed}: samples 0–{n_sheet - 1} (numbers = exemplar indices)",
        notes=attribute_notes({k: v[:n_sheet] for k, v in data.pool_pred.items()}) if data.pool_pred else None,
        highlights=highlights,
        caption="pick exemplars by number: --option fig8.left=a,b,c,d --option fig8.right=e,f,g,h"
                + ("; verdict per tile: M/F, S smiling, G glasses, yaw (− = looking left)" if data.pool_pred else ""))
    pngs = [save_figure(sheet, ctx.png("fig8_sample_sheet.png"))]
    values: dict[str, Any] = {"spearman": None, "n_pool": n_pool, "epoch": gan.meta.get("epoch"),
                              "z_distribution": gan.config.z_distribution, "max_step": max_step,
                              "instrument": instrument,
                              "spearman_definition": "Spearman rho between step t along mean z(left) - mean z(right) "
                                                     "and measured yaw, pooled over all walked samples; yaw < 0 looks "
                                                     "left, so a working vector gives rho near -1"}
    notes = [data.note] if data.note else []
    domain = ctx.domain_check(gan, faces=True) if predict is not None else {}
    values.update(domain)
    if res is not None:
        values.update(res.summary())
        rho = res.spearman
        title = (f"Fig. 8 — a turn vector ({ctx.model_label(gan)})"
                 + (f": Spearman ρ(step, measured yaw) = {rho:+.2f}".replace("-", "−") if rho is not None else "")
                 + _smoothness_title(values)
                 + aims_title(claim_verdicts("fig8", values)) + domain_title(domain))
        pngs.insert(0, save_figure(plot_turn(res, title, n_show), ctx.png("fig8_turn_vector.png")))
        if predict is not None and rho is None:
            notes.append("the measured yaw does not vary along the walks: Spearman undefined")
    if predict is None:
        notes.insert(0, f"no yaw regressor fits this data ({ctx.data_name(gan) or 'unknown; pass --data faces if it is the faces world'}"
                        "; only the faces world has one; --instruments gives your own): spearman not measured")
    if notes:
        values["note"] = "; ".join(notes)
    return FigureResult(pngs, ctx.record("fig8", gan, values))


__all__ = ["compute_fig8", "fig8", "plot_turn"]
