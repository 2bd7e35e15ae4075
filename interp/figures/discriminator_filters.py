"""Fig. 5: guided backpropagation of the discriminator's last-conv features, trained vs random D.

On ``n`` = 2,000 (quick: 200) held-out ``test`` renders of the world, for the trained D and for a
randomly initialised D of the same architecture (DCGAN init, seeded from ``ctx.seed``; both in eval
mode), at the last convolution layer (``"last_conv"``, after its LeakyReLU):

* **Which filters.** The paper shows "the first 6 learned features"; filter order is arbitrary, so
  we take, for each D separately, the 6 filters with the largest MEAN max-response over the ``n``
  images (the most active features, a deterministic and reproducible choice).
* **Which images.** Per filter, the ``k`` = 4 images with the largest maximal (axis-aligned, i.e.
  per feature-map) response (:func:`~interp.analysis.guided_backprop.max_responses`), and the
  guided-backprop image of that maximal response (``location="argmax"``).

Number: ``object_energy`` = the share of guided-backprop energy (squared gradient summed over RGB)
that falls on labelled OBJECT pixels — every rooms class except ``wall``, ``floor``, ``ceiling``
(i.e. window, bed, picture, door, furniture, curtain, mirror, tv) — per image, averaged over the
6 filters × k images; ``object_energy_trained`` / ``object_energy_random``. The chance level
(``object_pixel_share_*``) is the mean object-pixel share of the same images: energy spread
uniformly would give exactly that. Each filter's *preferred class* (label under its column) is the
class with the largest lift = energy share / pixel share over its k images (classes covering at
least 1 % of those pixels).

Where the model was not trained on rooms (no object masks) the energy keys are null with a note and
only the picture is drawn (on rooms renders resized to the model's size).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from interp.analysis.filters import LAYER, N_FILTERS, Fig5Data, compute_fig5
from interp.analysis.robustness import claim_verdicts
from interp.data import open_dataset
from interp.figures.context import FigureContext, aims_title
from interp.figures.plotting import FONT, PAD, TITLE_FONT, new_figure, save_figure, tile
from interp.figures.registry import FigureResult, register_figure

N_IMAGES = {False: 2000, True: 200}


# ------------------------------------------------------------------------------------------ measure


# ------------------------------------------------------------------------------------------ compute


# --------------------------------------------------------------------------------------------- plot


def gbp_to_uint8(grads: np.ndarray, pct: float = 99.5) -> np.ndarray:
    """Guided-backprop images (..., C, H, W) -> uint8 (..., 3, H, W): per image, the RGB gradient scaled
    by its ``pct``-th percentile |value| into [0, 1] around 0.5 (grey = no gradient)."""
    g = np.asarray(grads, np.float64)
    flat = np.abs(g).reshape(*g.shape[:-3], -1)
    s = np.percentile(flat, pct, axis=-1)[..., None, None, None]
    x = np.clip(0.5 + 0.5 * g / np.where(s > 0, s, 1.0), 0, 1)
    if x.shape[-3] == 1:
        x = np.repeat(x, 3, axis=-3)
    return (x * 255 + 0.5).astype(np.uint8)


def plot_fig5(data: Fig5Data, title: str) -> Figure:
    """Two panels (trained D, random D): 6 filter columns × k rows, each cell the source image
    (small, left) and its guided-backprop image (right); the preferred class under each column."""
    k, F_ = data.k, len(data.sets[0].filters)
    S = data.images.shape[-1]
    inch = 0.62  # per image
    pair_w = 2 * inch
    gap = 0.18
    panel_h = k * inch + 0.75
    W = F_ * pair_w + (F_ - 1) * gap + 0.6
    H = 2 * panel_h + 0.15 + 0.22 * (1 + title.count("\n"))
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.05 / H, va="top")
    for p, fs in enumerate(data.sets):
        top = H - 0.15 - 0.22 * (1 + title.count("\n")) - p * panel_h
        measured = fs.object_measures()
        if measured is not None:
            energy, pixel_share = measured
            head = (f"{fs.label} D — object energy {np.nanmean(energy):.3f} "
                    f"(chance = object-pixel share {pixel_share.mean():.3f})")
        else:
            head = f"{fs.label} D"
        fig.text(0.5, (top - 0.02) / H, head, ha="center", va="top", fontsize=FONT + 1, weight="bold")
        gbp = gbp_to_uint8(fs.grads)                       # (F, k, 3, S, S)
        for f in range(F_):
            left = 0.3 + f * (pair_w + gap)
            bottom = top - 0.28 - k * inch
            ax = fig.add_axes((left / W, bottom / H, pair_w / W, k * inch / H))
            cells = np.stack([data.images[fs.index[f]], gbp[f]], axis=1)  # (k, 2, 3, S, S)
            ax.imshow(tile(cells, PAD), interpolation="nearest")
            ax.set_axis_off()
            ax.text((2 * (S + PAD) + PAD) / 2, -PAD, f"filter {fs.filters[f]}", ha="center", va="bottom",
                    fontsize=FONT - 1)
            if fs.preferred and measured is not None:  # preferred classes come with the object energies
                pref = fs.preferred[f] or "—"
                lift_f = fs.lift[f]
                lift = f" ×{lift_f:.1f}" if lift_f is not None else ""
                oe = np.nanmean(measured[0][f])
                ax.text((2 * (S + PAD) + PAD) / 2, k * (S + PAD) + 2 * PAD, f"{pref}{lift}\nobj {oe:.2f}",
                        ha="center", va="top", fontsize=FONT - 1)
    fig.text(0.5, 0.02 / H, "each cell: source image | guided backprop of the filter's maximal response "
             "(RGB gradient, grey = 0); under each column: preferred class (energy share / pixel share)",
             ha="center", va="bottom", fontsize=FONT - 2, color="0.3")
    return fig


# --------------------------------------------------------------------------------------------- figure


def fig5_images(ctx: FigureContext, gan: Any, n: int) -> tuple[Any, str]:
    """(dataset, description) of the images D is probed on: the test renders of the model's world;
    for a model of real data, that data's test split when ``ctx.data`` and ``ctx.data_root`` (or the
    run's own stored ``data_root``) name it (e.g. the authors' SVHN D with ``--data svhn --data-root svhn/``); else rooms renders."""
    size = gan.config.image_size
    world = ctx.world_of(gan)
    if world is not None:
        return open_dataset(world, split="test", n=n, image_size=size), f"{world} test renders"
    data = ctx.data_name(gan)
    root = ctx.data_root or ((gan.meta or {}).get("train") or {}).get("data_root")  # our own runs store it
    if data and root is not None:
        ds = open_dataset(data, root, split="test", image_size=size)
        return ds, f"{data} test images ({root})"
    return open_dataset("rooms", split="test", n=n, image_size=size), "rooms test renders (the model's own data was not given)"


@register_figure("fig5", world="rooms", title="Guided backprop of discriminator features (paper Fig. 5)")
def fig5(ctx: FigureContext) -> FigureResult:
    """Guided backprop of the trained vs a random D's most active last-conv features; object energy."""
    gan = ctx.gan("rooms")
    world = ctx.world_of(gan)
    n = N_IMAGES[ctx.quick]
    ds, source = fig5_images(ctx, gan, n)
    images = np.asarray(ds.uint8_images())
    if len(images) > n:  # a real dataset: a seeded random n of its test split
        images = images[np.sort(np.random.default_rng(ctx.seed).choice(len(images), n, replace=False))]
    maps = np.asarray(ds.maps()) if world == "rooms" else None
    data = compute_fig5(gan, images, maps, getattr(ds, "class_names", None), seed=ctx.seed)
    values: dict[str, Any] = {**data.numbers, "images": source}
    if data.note:
        values["note"] = data.note
        sub = "object energy not measured (no object labels for this model's data)"
    else:
        sub = (f"share of guided-backprop energy on object pixels: trained {values['object_energy_trained']:.3f}, "
               f"random {values['object_energy_random']:.3f} (chance ≈ {values['object_pixel_share_trained']:.3f})")
    title = (f"Fig. 5 — guided backprop of the {N_FILTERS} most active '{LAYER}' features of D, "
             f"top {data.k} of {data.n} images each\n{sub}" + aims_title(claim_verdicts("fig5", values)))
    png = save_figure(plot_fig5(data, title), ctx.png("fig5_guided_backprop.png"))
    return FigureResult([png], ctx.record("fig5", gan, values))


__all__ = [
    "Fig5Data",
    "compute_fig5",
    "fig5",
    "gbp_to_uint8",
    "plot_fig5",
]
