"""Measure what a generator draws, with the instruments trained on the worlds' ground truth.

    python -m interp.measure --checkpoint runs/rooms-default --n 500

For a rooms generator: the segmenter's class fractions on generated samples, the share of samples
with a window (a window component of at least ``MIN_WINDOW_PIXELS``) and with a bed (at least
``MIN_BED_FRACTION`` of the image); for a faces generator: the share the attribute classifier calls
smiling / eyeglasses / male and the spread of measured yaw (looking left: yaw < -0.25, right:
> 0.25). Every number is given for real held-out renders beside it, plus the Fréchet distance of
the samples and the real-vs-real floor.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np
import torch

from .checkpoint import LoadedGAN, load_gan
from .data import open_dataset
from .data.base import to_uint8_image
from .instruments import class_fractions, fd_with_floor, get_instrument, predict_attributes, segment, window_boxes
from .latent import sample_z

MIN_WINDOW_PIXELS = 8
MIN_BED_FRACTION = 0.02
YAW_SIDE = 0.25
WORLDS = ("rooms", "faces")


@torch.no_grad()
def generate(G: torch.nn.Module, n: int, seed: int = 0, batch_size: int = 250) -> torch.Tensor:
    """``n`` samples float (n, 3, S, S) in [-1, 1] from z drawn with ``seed`` (eval mode)."""
    z = sample_z(n, G.cfg, seed=seed)
    was_training = G.training
    G.eval()
    try:
        return torch.cat([G(z[i : i + batch_size]) for i in range(0, n, batch_size)])
    finally:
        G.train(was_training)


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


def faces_numbers(images: torch.Tensor | np.ndarray, attribute_net: torch.nn.Module) -> dict[str, Any]:
    """Shares of smiling / eyeglasses / male and the measured yaw spread of face images (N, 3, S, S)."""
    pred = predict_attributes(attribute_net, images)
    yaw = pred["yaw"]
    out = {f"share_{k}": round(float(np.mean(v > 0.5)), 4) for k, v in pred.items() if k != "yaw"}
    out.update({
        "share_looking_left": round(float(np.mean(yaw < -YAW_SIDE)), 4),
        "share_looking_right": round(float(np.mean(yaw > YAW_SIDE)), 4),
        "yaw_quantiles_5_50_95": [round(float(q), 3) for q in np.quantile(yaw, [0.05, 0.5, 0.95])],
    })
    return out


def world_of(gan: LoadedGAN) -> str:
    """The embedded world a checkpoint was trained on (from its metadata)."""
    name = gan.meta.get("dataset", {}).get("name") or gan.meta.get("train", {}).get("data")
    if name not in WORLDS:
        raise ValueError(f"{gan.path}: trained on {name!r}, not on an embedded world {WORLDS}; "
                         "instrument measurements need ground truth")
    return name


def measure_generator(gan: LoadedGAN, n: int = 500, seed: int = 0, progress: bool = True,
                      quick_instruments: bool = False) -> dict[str, Any]:
    """Numbers for ``n`` generated samples and ``n`` real held-out renders, plus FD and its floor.

    ``quick_instruments`` uses the small test-size instruments (for tests and CI only)."""
    world = world_of(gan)
    size = gan.config.image_size
    fake = generate(gan.G, n, seed)
    real_a = open_dataset(world, split="test", n=max(n, 1000), image_size=size).uint8_images()
    real_b = open_dataset(world, split="val", n=n, image_size=size).uint8_images()
    if world == "rooms":
        net = get_instrument("room_segmenter", quick=quick_instruments, progress=progress)
        from .worlds.rooms import CLASS_NAMES

        gen, real = rooms_numbers(fake, net, tuple(CLASS_NAMES)), rooms_numbers(np.asarray(real_b), net, tuple(CLASS_NAMES))
    else:
        net = get_instrument("face_attributes", quick=quick_instruments, progress=progress)
        gen, real = faces_numbers(fake, net), faces_numbers(np.asarray(real_b), net)
    fd = fd_with_floor(net, np.asarray(real_a), np.asarray(real_b), fake)
    return {
        "checkpoint": str(gan.path), "world": world, "step": gan.meta.get("step"), "epoch": gan.meta.get("epoch"),
        "n": n, "seed": seed, "generated": gen, "real": real,
        "fd": round(fd["fd"], 4), "fd_floor": round(fd["fd_floor"], 4),
    }


def sample_sheet(gan: LoadedGAN, n: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 (n, 3, S, S) samples, for looking at."""
    return to_uint8_image(generate(gan.G, n, seed)).numpy()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m interp.measure", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="run directory or checkpoint trained on rooms or faces")
    p.add_argument("--n", type=int, default=500, help="generated (and real) samples to measure (default 500)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent vectors (default 0)")
    args = p.parse_args(argv)
    try:
        result = measure_generator(load_gan(args.checkpoint), n=args.n, seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
