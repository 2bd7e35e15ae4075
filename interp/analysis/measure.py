"""Measure what a generator draws, with the instruments trained on the worlds' ground truth.

    interp measure --checkpoint runs/rooms-default --n 500

For a rooms generator: the segmenter's class fractions on generated samples, the share of samples
with a window (a window component of at least ``MIN_WINDOW_PIXELS``) and with a bed (at least
``MIN_BED_FRACTION`` of the image); for a faces generator: the share the attribute classifier calls
smiling / eyeglasses / male and the spread of measured yaw (looking left: yaw < -0.25, right:
> 0.25). Every number is given for real held-out renders beside it, plus the Fréchet distance of
the samples and the real-vs-real floor (in the features of the world's Fréchet feature net, see
:func:`interp.instruments.registry.frechet_instrument`), and whether the samples lie in the domain of
the measuring instrument (``in_domain``, ``domain_distance``: :mod:`interp.instruments.domain`), and how
often the generator repeats itself (``diversity``: the share of samples with a near-duplicate among the
others, against the real renders' 5 % by construction: :func:`interp.instruments.frechet.sample_diversity`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from interp.core.generation import sample_images
from interp.data import open_dataset
from interp.data.base import to_uint8_image
from interp.instruments import (
    FaceAttributeNet,
    class_fractions,
    fd_with_floor,
    get_instrument,
    predict_attributes,
    segment,
    window_boxes,
)
from interp.instruments.domain import check_domain
from interp.instruments.registry import WORLD_INSTRUMENTS, frechet_instrument, get_domain
from interp.io.checkpoint import LoadedGAN
from interp.worlds import world_of

MIN_WINDOW_PIXELS = 8
MIN_BED_FRACTION = 0.02
YAW_SIDE = 0.25


@torch.no_grad()
def rooms_numbers(images: torch.Tensor | np.ndarray, segmenter: torch.nn.Module, class_names: tuple[str, ...]) -> dict[str, Any]:
    """Class fractions and window/bed presence of room images (N, 3, S, S)."""
    maps = segment(segmenter, images)
    window, bed = class_names.index("window"), class_names.index("bed")
    boxes = window_boxes(maps, window_class=window, min_pixels=MIN_WINDOW_PIXELS)
    bed_frac = (maps == bed).mean(axis=(1, 2))
    return {
        "class_fractions": {k: round(v, 4) for k, v in class_fractions(maps, class_names).items()},
        "share_with_window": round(float(np.mean([len(b) > 0 for b in boxes])), 4),
        "share_with_bed": round(float(np.mean(bed_frac >= MIN_BED_FRACTION)), 4),
        "windows_per_image": round(float(np.mean([len(b) for b in boxes])), 3),
    }


def faces_numbers(images: torch.Tensor | np.ndarray, attribute_net: FaceAttributeNet) -> dict[str, Any]:
    """Shares of smiling / eyeglasses / male and the measured yaw spread of face images (N, 3, S, S)."""
    pred = predict_attributes(attribute_net, images)
    yaw = pred["yaw"]
    out: dict[str, Any] = {f"share_{k}": round(float(np.mean(v > 0.5)), 4) for k, v in pred.items() if k != "yaw"}
    out.update({
        "share_looking_left": round(float(np.mean(yaw < -YAW_SIDE)), 4),
        "share_looking_right": round(float(np.mean(yaw > YAW_SIDE)), 4),
        "yaw_quantiles_5_50_95": [round(float(q), 3) for q in np.quantile(yaw, [0.05, 0.5, 0.95])],
    })
    return out


def measure_generator(gan: LoadedGAN, n: int = 500, seed: int = 0, progress: bool = True,
                      quick_instruments: bool = False) -> dict[str, Any]:
    """Numbers for ``n`` generated samples and ``n`` real held-out renders, plus FD and its floor.

    ``quick_instruments`` uses the small test-size instruments (for tests and CI only)."""
    world = world_of(gan.meta, required=True, what=str(gan.path))
    size = gan.config.image_size
    fake = sample_images(gan.generator, n, seed)
    real_a = open_dataset(world, split="test", n=max(n, 1000), image_size=size).uint8_images()
    real_b = open_dataset(world, split="val", n=n, image_size=size).uint8_images()
    if world == "rooms":
        seg = get_instrument("room_segmenter", quick=quick_instruments, progress=progress)
        from interp.worlds.rooms import CLASS_NAMES

        gen, real = rooms_numbers(fake, seg, tuple(CLASS_NAMES)), rooms_numbers(np.asarray(real_b), seg, tuple(CLASS_NAMES))
        measuring: torch.nn.Module = seg
    else:
        att = measuring = get_instrument("face_attributes", quick=quick_instruments, progress=progress)
        gen, real = faces_numbers(fake, att), faces_numbers(np.asarray(real_b), att)
    features = frechet_instrument(world, quick_instruments)
    net = get_instrument(features, quick=quick_instruments, progress=progress)
    fd = fd_with_floor(net, np.asarray(real_a), np.asarray(real_b), fake)
    diversity = {k: round(fd[k], 4) for k in ("near_duplicate_share", "near_duplicate_share_real", "nn_distance_ratio")}
    domain = check_domain(get_domain(WORLD_INSTRUMENTS[world][0], image_size=size, quick=quick_instruments,
                                     progress=progress), measuring, fake)
    return {
        "checkpoint": str(gan.path), "world": world, "step": gan.meta.get("step"), "epoch": gan.meta.get("epoch"),
        "n": n, "seed": seed, "generated": gen, "real": real,
        "fd": round(fd["fd"], 4), "fd_floor": round(fd["fd_floor"], 4), "fd_features": features,
        "diversity": diversity,
        **domain.as_metrics(),
    }


def sample_sheet(gan: LoadedGAN, n: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 (n, 3, S, S) samples, for looking at."""
    return to_uint8_image(sample_images(gan.generator, n, seed)).numpy()
