"""Guided backpropagation of D's filters (paper Fig. 5), measured: how much falls on objects.

For the trained D and a random D of the same architecture: the most active last-conv filters, the
images of their maximal responses, their guided-backprop images, and the share of gradient energy
on labelled object pixels (:func:`object_energy`) with each filter's preferred class
(:func:`class_lift`). The figure is :mod:`interp.figures.discriminator_filters`, which documents the
choices in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from interp.analysis.guided_backprop import guided_backprop, max_responses
from interp.core.models import Discriminator
from interp.data.base import to_float_image
from interp.io.checkpoint import LoadedGAN

LAYER = "last_conv"


N_FILTERS = 6


TOP_K = 4


BACKGROUND_CLASSES = ("wall", "floor", "ceiling")


MIN_CLASS_SHARE = 0.01


BATCH = 250


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

    def object_measures(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(object_energy, object_pixel_share), both (F, k), once :func:`measure_filter_set` ran; else None."""
        if self.object_energy is None or self.object_pixel_share is None:
            return None
        return self.object_energy, self.object_pixel_share


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


def measure_filter_set(fs: FilterSet, maps: np.ndarray,
                       class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Fill ``fs``'s object energy, object-pixel share and preferred classes from per-pixel class maps;
    returns (object_energy, object_pixel_share), both (F, k)."""
    names = list(class_names)
    obj_ids = [i for i, c in enumerate(names) if c not in BACKGROUND_CLASSES]
    F_, k = fs.index.shape
    energies, pixel_shares = np.zeros((F_, k)), np.zeros((F_, k))
    fs.object_energy, fs.object_pixel_share = energies, pixel_shares
    fs.preferred, fs.lift = [], []
    for f in range(F_):
        m = np.asarray(maps[fs.index[f]])
        mask = np.isin(m, obj_ids)
        energies[f] = object_energy(fs.grads[f], mask)
        pixel_shares[f] = mask.reshape(k, -1).mean(1)
        energy, pixel = class_lift(fs.grads[f], m, len(names))
        lift = np.where(pixel >= MIN_CLASS_SHARE, energy / np.maximum(pixel, 1e-12), -np.inf)
        best = int(np.argmax(lift))
        ok = np.isfinite(lift[best])
        fs.preferred.append(names[best] if ok else None)
        fs.lift.append(float(lift[best]) if ok else None)
    return energies, pixel_shares


def compute_fig5(gan: LoadedGAN, images: np.ndarray, maps: np.ndarray | None, class_names: Sequence[str] | None = None,
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
    if class_names is None:
        raise ValueError("compute_fig5: class maps were given without their class_names")
    for fs in (trained, random):
        energy, pixel_share = measure_filter_set(fs, maps, class_names)
        key = fs.label
        numbers[f"object_energy_{key}"] = round(float(np.nanmean(energy)), 4)
        numbers[f"object_pixel_share_{key}"] = round(float(pixel_share.mean()), 4)
        numbers[f"object_energy_per_filter_{key}"] = [round(float(v), 4) for v in np.nanmean(energy, 1)]
        numbers[f"preferred_class_{key}"] = fs.preferred
        numbers[f"preferred_lift_{key}"] = [None if v is None else round(v, 3) for v in fs.lift]
    numbers["object_classes"] = [c for c in class_names if c not in BACKGROUND_CLASSES]
    return Fig5Data(images, [trained, random], LAYER, len(images), trained.index.shape[1], numbers)
