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

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from ..analysis.guided_backprop import guided_backprop, max_responses
from ..checkpoint import LoadedGAN
from ..data import open_dataset
from ..data.base import to_float_image
from ..models import Discriminator
from .context import FigureContext
from .plotting import FONT, PAD, TITLE_FONT, new_figure, save_figure, tile
from .registry import FigureResult, register_figure

LAYER = "last_conv"
N_IMAGES = {False: 2000, True: 200}
N_FILTERS = 6
TOP_K = 4
BACKGROUND_CLASSES = ("wall", "floor", "ceiling")
MIN_CLASS_SHARE = 0.01
BATCH = 250


# ------------------------------------------------------------------------------------------ measure


def object_energy(grads: np.ndarray | torch.Tensor, object_mask: np.ndarray | torch.Tensor) -> np.ndarray:
    """Per image, share of guided-backprop energy (squared gradient summed over channels) on object
    pixels. ``grads`` (N, C, H, W), ``object_mask`` bool (N, H, W); NaN where an image has no energy."""
    g = torch.as_tensor(np.asarray(grads) if not torch.is_tensor(grads) else grads).double()
    e = (g**2).sum(1)
    m = torch.as_tensor(np.asarray(object_mask)).bool()
    total = e.flatten(1).sum(1)
    on = (e * m).flatten(1).sum(1)
    out = torch.where(total > 0, on / total.clamp_min(1e-300), torch.full_like(total, float("nan")))
    return out.numpy()


def class_lift(grads: np.ndarray | torch.Tensor, maps: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(energy share, pixel share) per class (n_classes,) over a set of images; each image's energy is
    normalised to sum 1 first, so every image counts equally."""
    g = torch.as_tensor(np.asarray(grads) if not torch.is_tensor(grads) else grads).double()
    e = (g**2).sum(1).numpy()
    tot = e.reshape(len(e), -1).sum(1)
    e = e[tot > 0] / tot[tot > 0, None, None]
    maps = np.asarray(maps)
    counts = np.bincount(maps.ravel(), minlength=n_classes)[:n_classes].astype(np.float64)
    pixel = counts / max(counts.sum(), 1)
    if len(e) == 0:
        return np.full(n_classes, np.nan), pixel
    energy = np.bincount(maps[tot > 0].ravel(), weights=e.ravel(), minlength=n_classes)[:n_classes] / len(e)
    return energy, pixel


# ------------------------------------------------------------------------------------------ compute


@dataclass
class FilterSet:
    """One D's chosen filters and their top images."""

    label: str                      # "trained" / "random"
    filters: list[int]              # (F,) channel indices
    mean_response: list[float]      # (F,) mean max-response over the n images
    index: np.ndarray               # int (F, k) image indices into the n images
    response: np.ndarray            # (F, k) the maximal responses
    grads: np.ndarray               # float32 (F, k, C, S, S) guided-backprop images
    object_energy: np.ndarray | None = None     # (F, k)
    object_pixel_share: np.ndarray | None = None  # (F, k)
    preferred: list[str | None] = field(default_factory=list)  # (F,)
    lift: list[float | None] = field(default_factory=list)      # (F,)


@dataclass
class Fig5Data:
    images: np.ndarray              # uint8 (n, 3, S, S) the images searched
    sets: list[FilterSet]           # [trained, random]
    layer: str
    n: int
    k: int
    numbers: dict[str, Any]
    note: str | None = None


def random_discriminator(gan: LoadedGAN, seed: int) -> Discriminator:
    """A DCGAN-initialised D of ``gan``'s architecture, seeded (global RNG state left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Discriminator(gan.config).eval()


def _as_input(images: np.ndarray, nc: int) -> torch.Tensor:
    x = to_float_image(torch.from_numpy(np.array(images, copy=True)))
    if nc == 1 and x.shape[1] == 3:
        x = x.mean(1, keepdim=True)
    return x


def _all_max_responses(D: torch.nn.Module, images: np.ndarray, nc: int) -> torch.Tensor:
    vals = [max_responses(D, _as_input(images[s : s + BATCH], nc), LAYER)[0] for s in range(0, len(images), BATCH)]
    return torch.cat(vals)


def compute_filter_set(D: torch.nn.Module, images: np.ndarray, label: str, n_filters: int = N_FILTERS,
                       k: int = TOP_K, nc: int = 3) -> FilterSet:
    """The ``n_filters`` most active (mean max-response) filters of ``D``'s last conv layer, each with
    its top-``k`` images and their guided-backprop images."""
    D.eval()
    values = _all_max_responses(D, images, nc)                  # (n, C)
    mean = values.mean(0)
    filters = mean.topk(min(n_filters, values.shape[1])).indices.tolist()
    kk = min(k, len(images))
    idx, resp, grads = [], [], []
    for c in filters:
        top = values[:, c].topk(kk)
        order = top.indices.numpy()
        x = _as_input(images[order], nc)
        grads.append(guided_backprop(D, x, LAYER, c, location="argmax").float().numpy())
        idx.append(order)
        resp.append(top.values.numpy())
    return FilterSet(label, filters, [float(mean[c]) for c in filters], np.stack(idx), np.stack(resp),
                     np.stack(grads))


def measure_filter_set(fs: FilterSet, maps: np.ndarray, class_names: tuple[str, ...] | list[str]) -> None:
    """Fill ``fs``'s object energy, object-pixel share and preferred classes from per-pixel class maps."""
    names = list(class_names)
    obj_ids = [i for i, c in enumerate(names) if c not in BACKGROUND_CLASSES]
    F_, k = fs.index.shape
    fs.object_energy = np.zeros((F_, k))
    fs.object_pixel_share = np.zeros((F_, k))
    fs.preferred, fs.lift = [], []
    for f in range(F_):
        m = np.asarray(maps[fs.index[f]])
        mask = np.isin(m, obj_ids)
        fs.object_energy[f] = object_energy(fs.grads[f], mask)
        fs.object_pixel_share[f] = mask.reshape(k, -1).mean(1)
        energy, pixel = class_lift(fs.grads[f], m, len(names))
        lift = np.where(pixel >= MIN_CLASS_SHARE, energy / np.maximum(pixel, 1e-12), -np.inf)
        best = int(np.argmax(lift))
        ok = np.isfinite(lift[best])
        fs.preferred.append(names[best] if ok else None)
        fs.lift.append(float(lift[best]) if ok else None)


def compute_fig5(gan: LoadedGAN, images: np.ndarray, maps: np.ndarray | None, class_names: Any = None,
                 seed: int = 0, n_filters: int = N_FILTERS, k: int = TOP_K) -> Fig5Data:
    """Guided backprop of the top filters of the trained and a random D; object energies if ``maps``."""
    if gan.D is None:
        raise ValueError("Fig. 5 needs a discriminator; the checkpoint has none")
    nc = gan.config.nc
    trained = compute_filter_set(gan.D.eval(), images, "trained", n_filters, k, nc)
    random = compute_filter_set(random_discriminator(gan, seed), images, "random", n_filters, k, nc)
    numbers: dict[str, Any] = {"layer": LAYER, "n_images": len(images), "k": trained.index.shape[1],
                               "filters_trained": trained.filters, "filters_random": random.filters,
                               "filter_choice": "top-6 by mean max-response over the n images (per D)",
                               "random_init_seed": seed}
    if maps is None:
        return Fig5Data(images, [trained, random], LAYER, len(images), trained.index.shape[1], numbers,
                        note="no per-pixel object labels for this model's data: object energy not measured")
    for fs in (trained, random):
        measure_filter_set(fs, maps, class_names)
        key = fs.label
        numbers[f"object_energy_{key}"] = round(float(np.nanmean(fs.object_energy)), 4)
        numbers[f"object_pixel_share_{key}"] = round(float(fs.object_pixel_share.mean()), 4)
        numbers[f"object_energy_per_filter_{key}"] = [round(float(v), 4) for v in np.nanmean(fs.object_energy, 1)]
        numbers[f"preferred_class_{key}"] = fs.preferred
        numbers[f"preferred_lift_{key}"] = [None if v is None else round(v, 3) for v in fs.lift]
    numbers["object_classes"] = [c for c in class_names if c not in BACKGROUND_CLASSES]
    return Fig5Data(images, [trained, random], LAYER, len(images), trained.index.shape[1], numbers)


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
        if fs.object_energy is not None:
            head = (f"{fs.label} D — object energy {np.nanmean(fs.object_energy):.3f} "
                    f"(chance = object-pixel share {fs.object_pixel_share.mean():.3f})")
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
            if fs.preferred:
                pref = fs.preferred[f] or "—"
                lift = f" ×{fs.lift[f]:.1f}" if fs.lift[f] is not None else ""
                oe = np.nanmean(fs.object_energy[f])
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
             f"top {data.k} of {data.n} images each\n{sub}")
    png = save_figure(plot_fig5(data, title), ctx.png("fig5_guided_backprop.png"))
    return FigureResult([png], ctx.record("fig5", gan, values))


__all__ = [
    "Fig5Data",
    "FilterSet",
    "class_lift",
    "compute_fig5",
    "compute_filter_set",
    "fig5",
    "gbp_to_uint8",
    "measure_filter_set",
    "object_energy",
    "plot_fig5",
    "random_discriminator",
]
