"""Fig. 4: walking the latent space.

Each row chains ``n_points`` = 9 random latent points (seeded, :func:`interp.core.latent.sample_z`) with
linear interpolation (``method="slerp"``: spherical interpolation of the direction with the norm
interpolated linearly, so every point's norm lies between its endpoints' — an option for normal z).
The walk is MEASURED on a fine grid (``measure_steps`` = 16 frames per segment) and SHOWN at
``steps`` = 4 frames per segment (3 intermediate frames between anchors), so a row of
8 segments × 4 + 1 = 33 frames fits a page; every shown frame is also a measured frame, and the
anchors (labelled z1 … z9) are exactly G(z_i).

Number: ``max_step_ratio`` = the largest single-step change (pixel L2 between consecutive measured
frames, images in [-1, 1]) over the mean step of the same walk, for the worst walk. A smooth walk
stays near 1–3; a sharp jump (a memorised "switch") stands out far above.

On rooms, the segmenter's window and bed fractions along each walk are drawn as a curve under the
row ("a window slowly appears" becomes a visible ramp); on faces, the attribute net's smiling and
eyeglasses probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from interp.analysis.walks import WalkData, compute_latent_walks, faces_curves, rooms_curves
from interp.figures.context import FigureContext, domain_title
from interp.figures.plotting import FONT, PAD, TITLE_FONT, new_figure, save_figure, tile
from interp.figures.registry import FigureResult, register_figure

CURVE_COLOURS = {"window": "tab:blue", "bed": "tab:red", "smiling": "tab:orange", "eyeglasses": "tab:green"}


def plot_latent_walks(data: WalkData, title: str | None = None, inch_per_frame: float = 0.5,
                      curve_label: str = "fraction") -> Figure:
    """One image row per walk (anchors labelled z1 … zP) with its curves in a strip underneath."""
    R, n_show = data.frames.shape[:2]
    S = data.frames.shape[-1]
    has_curves = bool(data.curves)
    img_h, curve_h, gap = inch_per_frame, (0.55 if has_curves else 0.0), 0.12
    left, right = 0.85, 0.95 if has_curves else 0.15
    head = 0.35 + (0.25 * (1 + title.count("\n")) if title else 0)
    w = n_show * inch_per_frame
    row_h = img_h + curve_h + gap
    W, H = left + w + right, head + R * row_h + 0.35
    fig = new_figure(W, H)
    tile_w = n_show * (S + PAD) + PAD

    def pos(u: float | np.ndarray) -> np.ndarray:
        """Frame index (scalar or array) -> x coordinate of that frame's centre in the tiled row (same shape)."""
        return PAD + np.asarray(u) * (S + PAD) + S / 2

    per_show = data.measure_steps // data.steps
    for r in range(R):
        top = H - head - r * row_h
        ax = fig.add_axes((left / W, (top - img_h) / H, w / W, img_h / H))
        ax.imshow(tile(data.frames[r][None]), interpolation="nearest", extent=(0, tile_w, S + 2 * PAD, 0))
        ax.set_xlim(0, tile_w)
        ax.set_axis_off()
        ax.text(-2 * PAD, (S + 2 * PAD) / 2, f"walk {r + 1}\nmax/mean\nstep {data.step_ratio[r]:.2f}",
                ha="right", va="center", fontsize=FONT - 2)
        if r == 0:
            for k in range(data.n_points):
                ax.text(float(pos(k * data.steps)), -PAD, f"z{k + 1}", ha="center", va="bottom", fontsize=FONT - 1)
        if has_curves:
            cax = fig.add_axes((left / W, (top - img_h - curve_h) / H, w / W, curve_h * 0.92 / H))
            u = np.arange(data.step_l2.shape[1] + 1) / per_show
            for name, values in data.curves.items():
                cax.plot(pos(u), values[r], lw=1.0, color=CURVE_COLOURS.get(name), label=name)
            for k in range(data.n_points):
                cax.axvline(float(pos(k * data.steps)), color="0.85", lw=0.6, zorder=0)
            cax.set_xlim(0, tile_w)
            top_v = max(float(max(v.max() for v in data.curves.values())), 0.05)
            cax.set_ylim(0, top_v * 1.15)
            cax.set_xticks([])
            cax.tick_params(axis="y", labelsize=FONT - 3, length=2, pad=1)
            cax.yaxis.set_major_locator(_max_n_locator(2))
            for side in ("top", "right"):
                cax.spines[side].set_visible(False)
            if r == 0:
                cax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.25), fontsize=FONT - 2, frameon=False,
                           title=curve_label, title_fontsize=FONT - 2)
    if title:
        fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.08 / H, va="top")
    fig.text(left / W, 0.08 / H,
             f"{data.method} interpolation through {data.n_points} random points; {data.steps} frames per segment "
             f"shown ({data.measure_steps} measured); curves under each row are measured on every measured frame",
             ha="left", va="bottom", fontsize=FONT - 2, color="0.3")
    return fig


def _max_n_locator(n: int):
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


@register_figure("fig4", world="rooms", title="Walking the latent space (paper Fig. 4)")
def fig4(ctx: FigureContext, method: str = "linear", n_rows: int = 6, steps: int = 4,
         measure_steps: int = 16) -> FigureResult:
    """Rows of latent walks through 9 random points; max_step_ratio; window/bed curves on rooms."""
    gan = ctx.gan("rooms")
    world = ctx.world_of(gan)
    curve_fn, label = None, "fraction"
    if world == "rooms":
        from interp.worlds.rooms import CLASS_NAMES

        curve_fn, label = rooms_curves(ctx.instrument("rooms"), tuple(CLASS_NAMES)), "pixel share"
    elif world == "faces":
        curve_fn, label = faces_curves(ctx.instrument("faces")), "probability"
    data = compute_latent_walks(gan.generator, gan.config, n_rows=n_rows, steps=steps, measure_steps=measure_steps,
                                method=method, seed=ctx.seed, curve_fn=curve_fn)
    worst = int(np.argmax(data.step_ratio))
    domain = ctx.domain_check(gan) if curve_fn is not None else {}
    title = (f"Fig. 4 — latent walks ({ctx.model_label(gan)}): "
             f"largest step / mean step = {data.max_step_ratio:.2f} (worst walk: {worst + 1})" + domain_title(domain))
    png = save_figure(plot_latent_walks(data, title, curve_label=label), ctx.png("fig4_latent_walk.png"))
    values: dict[str, Any] = {
        "max_step_ratio": round(data.max_step_ratio, 4),
        "step_ratio_per_walk": [round(float(v), 4) for v in data.step_ratio],
        "worst_walk": worst + 1,
        "method": method, "n_walks": n_rows, "n_points": data.n_points, "steps_shown_per_segment": steps,
        "steps_measured_per_segment": measure_steps, "step_distance": "pixel L2 of consecutive frames in [-1, 1]",
        "epoch": gan.meta.get("epoch"), **domain,
    }
    for name, v in data.curves.items():
        values[f"{name}_range_per_walk"] = [round(float(x), 4) for x in (v.max(1) - v.min(1))]
    if world is None:
        values["note"] = "no instrument curves: the model was not trained on an embedded world"
    return FigureResult([png], ctx.record("fig4", gan, values))


__all__ = [
    "WalkData",
    "compute_latent_walks",
    "faces_curves",
    "fig4",
    "plot_latent_walks",
    "rooms_curves",
]
