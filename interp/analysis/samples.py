"""Samples after epochs 1 and 5 (paper Figs. 2-3), measured: FD against the real-vs-real floor.

:func:`compute_samples` draws ``n`` samples and computes the Fréchet distance to real ``test`` renders
in the feature space of the world's instrument, beside the floor FD(real ``val``, real ``test``);
:func:`reference_sets` gives the training and held-out images of the memorisation check. The figures
are ``fig2`` / ``fig3`` in :mod:`interp.figures.samples`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from interp.core.generation import sample_images
from interp.data import open_dataset
from interp.data.base import to_uint8_image
from interp.instruments import fd_with_floor
from interp.io.checkpoint import LoadedGAN

N_SHOW = 64


@dataclass
class SampleData:
    images: np.ndarray                 # uint8 (n_show, 3, S, S)
    epoch: int | None
    fd: float | None = None
    fd_floor: float | None = None
    n: int = 0
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def compute_samples(gan: LoadedGAN, world: str | None, instrument: torch.nn.Module | None, n: int, seed: int = 0,
                    n_show: int = N_SHOW, n_real_a: int = 1000) -> SampleData:
    """Samples to show (the first ``n_show`` of seed ``seed``), FD / floor over ``n`` of them and how often they
    repeat each other (:func:`interp.instruments.sample_diversity`, against the ``val`` renders)."""
    n_gen = max(n, n_show)
    fake = sample_images(gan.generator, n_gen, seed)
    images = to_uint8_image(fake[:n_show]).numpy()
    data = SampleData(images=images, epoch=gan.meta.get("epoch"), n=n)
    if world is None or instrument is None:
        data.note = "the model was not trained on an embedded world: no ground truth, FD not measured"
        return data
    size = gan.config.image_size
    real_a = open_dataset(world, split="test", n=max(n_real_a, n), image_size=size).uint8_images()
    real_b = open_dataset(world, split="val", n=n, image_size=size).uint8_images()
    fd = fd_with_floor(instrument, np.asarray(real_a), np.asarray(real_b), fake[:n])
    data.fd, data.fd_floor = round(fd["fd"], 4), round(fd["fd_floor"], 4)
    data.extra = {"n_generated": n, "n_real_reference": len(real_a), "n_real_floor": n,
                  "reference_split": "test", "floor_split": "val",
                  "near_duplicate_share": round(fd["near_duplicate_share"], 4),
                  "nn_distance_ratio": round(fd["nn_distance_ratio"], 4)}
    return data


def reference_sets(world: str, gan: LoadedGAN, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(first M training renders the model saw, M held-out ``test`` renders), M = min(used, n_max)."""
    ds_meta = gan.meta.get("dataset") or {}
    used = int(ds_meta.get("num_images_used") or ds_meta.get("num_images") or n_max)
    m = min(used, n_max)
    size = gan.config.image_size
    seed = int(ds_meta.get("seed") or 0)
    train = open_dataset(world, split="train", n=m, image_size=size, seed=seed).uint8_images()
    held = open_dataset(world, split="test", n=m, image_size=size, seed=seed).uint8_images()
    return np.asarray(train), np.asarray(held)


