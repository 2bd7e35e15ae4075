"""``interp probe``: the paper's Tables 1-2 protocol (D as a feature extractor) on a labelled dataset (:mod:`interp.analysis.probe`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from interp.analysis.probe import DEFAULT_C_PATIENCE, DEFAULT_CS, ProbeError, run_probe
from interp.cli.options import parse_option

_DESCRIPTION = """\
Tables 1-2 of the DCGAN paper: the discriminator as a feature extractor.

Every conv block of D (after its LeakyReLU) is max-pooled to a 4x4 grid, flattened and
concatenated (F = 16*(ndf+2ndf+...); 16*15*ndf at 64 px, 16*7*ndf at 32 px; the paper's 28672 =
16*(256+512+1024)). A linear L2-SVM (sklearn LinearSVC, squared hinge, standardised features) is
trained on the train split and scored on the test split. C is chosen from a log grid on a
validation split disjoint from the labelled examples. With --labels-per-class N, each of --draws
draws samples N labelled images per class (the paper's SVHN protocol: N=100, 10,000 validation
images); without it all train images are used (C chosen on a 20% split, then refit on all).
Accuracy is the mean (std) over draws.

Paper: CIFAR-10 82.8% accuracy (D trained on ImageNet-1k); SVHN, 1000 labels: 22.48% error.
--random-d gives the control: a freshly initialised D of the same architecture.
"""


_EPILOG = """\
examples:
  interp probe --checkpoint runs/faces-default --data faces --label attribute:smiling \\
      --limit-train 4000 --limit-test 2000 --draws 3
  interp probe --checkpoint runs/svhn/checkpoints/final.safetensors --data svhn \\
      --data-root ~/data/svhn --labels-per-class 100 --draws 10 --out svhn_probe.json
  interp probe --random-d --image-size 32 --data shapes --dataset-arg n=2000

The JSON result (printed, and written to --out) holds accuracy, accuracy_std, dataset, ... ;
bad input exits with status 2.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="interp probe",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", help="interp checkpoint / run directory / foreign checkpoint "
                   "(optional with --random-d: then --preset/--image-size/--ndf give the architecture)")
    p.add_argument("--data", required=True, help="dataset name (cifar10, svhn, shapes, faces, rooms, folder ...) or path")
    p.add_argument("--data-root", help="where the dataset lives (not needed for shapes/faces/rooms)")
    p.add_argument("--data-option", "--dataset-arg", dest="dataset_arg", action="append", type=parse_option, default=[], metavar="KEY=VALUE",
                   help="extra open_dataset keyword (JSON value), e.g. n=600 or seed=1; repeatable")
    p.add_argument("--train-split", default="train")
    p.add_argument("--test-split", default="test")
    p.add_argument("--image-size", type=int, help="default: the checkpoint's (must match it)")
    p.add_argument("--label", default="class",
                   help="'class', another integer label (e.g. has_bed, window_count), or "
                        "'attribute:<name>' for faces (male, smiling, eyeglasses; yaw thresholded at 0)")
    p.add_argument("--labels-per-class", type=int, help="labelled examples per class per draw (paper SVHN: 100); default all")
    p.add_argument("--draws", type=int, default=5, help="label draws to average over (default 5)")
    p.add_argument("--val-size", type=float,
                   help="validation examples for choosing C (>=1: a count, <1: a fraction); "
                        "default min(10000, rest) with --labels-per-class, else 20%% up to 10000")
    p.add_argument("--Cs", type=float, nargs="+", default=list(DEFAULT_CS), metavar="C",
                   help=f"the C grid (default {' '.join(f'{c:g}' for c in DEFAULT_CS)})")
    p.add_argument("--max-iter", type=int, default=1000, help="LinearSVC / LBFGS max_iter (default 1000)")
    p.add_argument("--solver", choices=("liblinear", "torch"), default="liblinear",
                   help="liblinear: sklearn's LinearSVC, one fit per C (the reference); torch: the same L2-SVM "
                        "objective solved by preconditioned LBFGS in torch, warm-started along the C path (fast on "
                        "large problems)")
    p.add_argument("--c-patience", type=int, default=DEFAULT_C_PATIENCE, metavar="N",
                   help="stop the ascending C sweep after N Cs in a row no better than the best validation accuracy "
                        f"(default {DEFAULT_C_PATIENCE}; 0: try the whole grid)")
    p.add_argument("--device", help="device for --solver torch (default cpu; e.g. cuda)")
    p.add_argument("--limit-train", type=int, help="use the first N train images")
    p.add_argument("--limit-test", type=int, help="use the first N test images")
    p.add_argument("--seed", type=int, default=0, help="label draws and --random-d initialisation")
    p.add_argument("--random-d", action="store_true", help="control: a freshly initialised D (seeded) instead of the trained one")
    p.add_argument("--preset", default="examples", help="architecture for --random-d without --checkpoint")
    p.add_argument("--ndf", type=int, help="D width for --random-d without --checkpoint")
    p.add_argument("--batch-size", type=int, default=256, help="feature-extraction batch size")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--jobs", type=int, default=1, help="SVM classes fitted in parallel (one-vs-rest; -1: all cores; default 1)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    p.add_argument("--out", help="also write the JSON result here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from interp.core.config import ConfigError
    from interp.data import DatasetError
    from interp.io.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    val_size: int | float | None = args.val_size
    if val_size is not None and val_size >= 1:
        val_size = int(val_size)
    try:
        if args.checkpoint is None and not args.random_d:
            raise ProbeError("--checkpoint is required (or pass --random-d for a random-D control)")
        if args.c_patience < 0:
            raise ProbeError(f"--c-patience must be >= 0, got {args.c_patience}")
        for name in ("draws", "labels_per_class", "limit_train", "limit_test", "batch_size", "max_iter"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise ProbeError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        result = run_probe(
            args.checkpoint, args.data, data_root=args.data_root, train_split=args.train_split,
            test_split=args.test_split, image_size=args.image_size, label=args.label,
            labels_per_class=args.labels_per_class, draws=args.draws, limit_train=args.limit_train,
            limit_test=args.limit_test, seed=args.seed, val_size=val_size, Cs=args.Cs,
            random_d=args.random_d, preset=args.preset, ndf=args.ndf, batch_size=args.batch_size,
            max_iter=args.max_iter, n_jobs=args.jobs, solver=args.solver, device=args.device,
            c_patience=args.c_patience or None,
            dataset_kwargs=dict(args.dataset_arg), progress=not args.no_progress,
        )
    except (ProbeError, DatasetError, CheckpointError, ConfigError, FileNotFoundError, KeyError) as exc:
        print(f"interp.analysis.probe: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from interp.io.atomic import atomic_write_text

        atomic_write_text(Path(args.out), text + "\n")
    return 0
