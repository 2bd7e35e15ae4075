"""``interp measure``: what a rooms/faces generator draws, measured by the instruments, beside real renders.

    interp measure --checkpoint runs/rooms-default --n 500

Rooms: the segmenter's class fractions, the share of samples with a window and with a bed; faces:
the share called smiling / eyeglasses / male and the spread of measured yaw; both: the Fréchet
distance of the samples and its real-vs-real floor (:mod:`interp.analysis.measure`).
"""

from __future__ import annotations

import argparse
import json
import sys

from interp.analysis.measure import measure_generator
from interp.io.checkpoint import load_gan


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="interp measure", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""examples:
  interp measure --checkpoint runs/rooms-default --n 500
  interp measure --checkpoint runs/faces-default/checkpoints/epoch_005.safetensors --seed 1
""")
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
